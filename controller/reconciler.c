#include "reconciler.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "common/xmalloc.h"

/* The registry: one line per reconciler. A static table rather than constructors, since
 * objects in libvibn.a are only linked when something references them. */
static const struct reconciler *const reconciler_table[] = {
    &workspace_reconciler,
    &testrec_reconciler,
    &testrec_noop,
};

const struct reconciler *
reconciler_find(const char *name)
{
	for (size_t i = 0; i < nitems(reconciler_table); i++)
		if (strcmp(reconciler_table[i]->name, name) == 0)
			return reconciler_table[i];
	return NULL;
}

void
reconciler_names(char *buf, size_t len)
{
	size_t off = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < nitems(reconciler_table) && off < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
		                 reconciler_table[i]->name);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

void
rec_done(struct rec_result *out)
{
	rec_result_clear(out);
}

void
rec_requeue_after(struct rec_result *out, int64_t ms)
{
	rec_result_clear(out);
	out->outcome = REC_REQUEUE_AFTER;
	out->after_ms = ms < 0 ? 0 : ms;
}

void
rec_error(struct rec_result *out, enum rec_error_class cls, int64_t not_before_ms, const char *fmt,
          ...)
{
	va_list ap;

	rec_result_clear(out);
	out->outcome = REC_ERROR;
	out->err_class = cls;
	out->not_before_ms = not_before_ms < 0 ? 0 : not_before_ms;
	va_start(ap, fmt);
	out->message = xvasprintf(fmt, ap);
	va_end(ap);
}

void
rec_result_clear(struct rec_result *out)
{
	free(out->message);
	memset(out, 0, sizeof *out);
	out->outcome = REC_DONE;
}

const char *
rec_error_class_name(enum rec_error_class cls)
{
	switch (cls) {
	case REC_ERR_TRANSIENT:
		return "transient";
	case REC_ERR_RATE_LIMITED:
		return "rate_limited";
	case REC_ERR_PERMANENT:
		return "permanent";
	}
	return "unknown";
}
