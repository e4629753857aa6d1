#include "mf_diag.h"

#include <stdarg.h>
#include <stdlib.h>

#include "common/buf.h"
#include "common/xmalloc.h"

void
mf_diag_init(struct mf_diags *d)
{
	d->v = NULL;
	d->n = 0;
	d->cap = 0;
	d->dropped = 0;
}

void
mf_diag_free(struct mf_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	mf_diag_init(d);
}

void
mf_diag_add(struct mf_diags *d, const char *file, int line, int col, const char *fmt, ...)
{
	struct mf_diag *e;
	va_list ap;

	if (d->n >= MF_DIAG_MAX) {
		d->dropped++;
		return;
	}
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->v = xreallocarray(d->v, d->cap, sizeof *d->v);
	}
	e = &d->v[d->n++];
	e->file = xstrdup(file ? file : "-");
	e->line = line;
	e->col = col;
	va_start(ap, fmt);
	e->msg = xvasprintf(fmt, ap);
	va_end(ap);
}

void
mf_diag_sort_from(struct mf_diags *d, size_t start)
{
	/* Insertion sort: stable, and lists are short (MF_DIAG_MAX). */
	for (size_t i = start + 1; i < d->n; i++) {
		struct mf_diag e = d->v[i];
		size_t j = i;

		while (j > start && (d->v[j - 1].line > e.line ||
		                     (d->v[j - 1].line == e.line && d->v[j - 1].col > e.col))) {
			d->v[j] = d->v[j - 1];
			j--;
		}
		d->v[j] = e;
	}
}

size_t
mf_diag_count(const struct mf_diags *d)
{
	return d->n + d->dropped;
}

char *
mf_diag_format(const struct mf_diag *e)
{
	if (e->line <= 0)
		return xasprintf("%s: %s", e->file, e->msg);
	return xasprintf("%s:%d:%d: %s", e->file, e->line, e->col, e->msg);
}

void
mf_diag_print(const struct mf_diags *d, FILE *out)
{
	for (size_t i = 0; i < d->n; i++) {
		char *s = mf_diag_format(&d->v[i]);

		fprintf(out, "%s\n", s);
		free(s);
	}
	if (d->dropped > 0)
		fprintf(out, "... and %zu more errors\n", d->dropped);
}

char *
mf_diag_quote(const char *s, size_t len)
{
	struct buf b;
	size_t shown = 0;

	buf_init(&b);
	buf_putc(&b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (shown == 64) {
			buf_puts(&b, "...");
			break;
		}
		if (ch == '"' || ch == '\\')
			buf_printf(&b, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			buf_printf(&b, "\\x%02x", ch);
		else
			buf_putc(&b, (char)ch);
		if ((ch & 0xC0) != 0x80)
			shown++;
	}
	buf_putc(&b, '"');
	return buf_release(&b);
}
