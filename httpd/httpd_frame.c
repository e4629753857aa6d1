#include "httpd_frame.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const httpd_frame_methods[] = {"GET",     "POST",  "HEAD",    "PUT",  "DELETE",
                                                  "OPTIONS", "TRACE", "CONNECT", "PATCH"};

int
httpd_frame_known_method(const char *method)
{
	for (size_t i = 0; i < sizeof httpd_frame_methods / sizeof httpd_frame_methods[0]; i++)
		if (strcmp(method, httpd_frame_methods[i]) == 0)
			return 1;
	return 0;
}

/* RFC 9110 tchar. */
static int
httpd_frame_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The next line of head from *pos (without CR LF); -1 when no line end is left. A CR
 * anywhere but before the LF, or a NUL, makes the line invalid (*bad). */
static int
httpd_frame_line(const char *head, size_t len, size_t *pos, const char **line, size_t *n, int *bad)
{
	const char *s = head + *pos, *lf = memchr(s, '\n', len - *pos);
	size_t l;

	if (lf == NULL)
		return -1;
	l = (size_t)(lf - s);
	*pos += l + 1;
	if (l > 0 && s[l - 1] == '\r')
		l--;
	*line = s;
	*n = l;
	*bad = memchr(s, '\r', l) != NULL || memchr(s, '\0', l) != NULL;
	return 0;
}

static void
httpd_frame_trim(const char **v, size_t *n)
{
	while (*n > 0 && (**v == ' ' || **v == '\t')) {
		(*v)++;
		(*n)--;
	}
	while (*n > 0 && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
		(*n)--;
}

static int
httpd_frame_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/* Content-Length: a list of equal decimal values (RFC 9110 8.6), equal to *cl if set. */
static int
httpd_frame_content_length(const char *v, size_t n, int64_t *cl)
{
	while (n > 0) {
		size_t k = 0, m;
		const char *item = v;
		int64_t x = 0;

		while (k < n && v[k] != ',')
			k++;
		m = k;
		httpd_frame_trim(&item, &m);
		if (m == 0 || m > 15)
			return -1;
		for (size_t i = 0; i < m; i++) {
			if (item[i] < '0' || item[i] > '9')
				return -1;
			x = x * 10 + (item[i] - '0');
		}
		if (*cl >= 0 && x != *cl)
			return -1;
		*cl = x;
		v += k < n ? k + 1 : k;
		n -= k < n ? k + 1 : k;
	}
	return *cl >= 0 ? 0 : -1;
}

int
httpd_frame_head(const char *head, size_t len, struct httpd_frame *f, const char **cause)
{
	const char *line, *sp1, *sp2, *name, *v;
	size_t pos = 0, n, nv, nheaders = 0;
	int bad, te = 0, hosts = 0;

	memset(f, 0, sizeof *f);
	f->content_length = -1;
	*cause = "malformed request line";
	if (httpd_frame_line(head, len, &pos, &line, &n, &bad) != 0 || bad)
		return 400;
	sp1 = memchr(line, ' ', n);
	if (sp1 == NULL || sp1 == line || (size_t)(sp1 - line) >= sizeof f->method)
		return 400;
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - line));
	if (sp2 == NULL || sp2 == sp1 + 1 || (size_t)(sp2 - sp1 - 1) > HTTPD_FRAME_MAX_TARGET)
		return 400;
	for (const char *c = line; c < sp1; c++)
		if (!httpd_frame_tchar((unsigned char)*c))
			return 400;
	memcpy(f->method, line, (size_t)(sp1 - line));
	/* The target: printable ASCII (anything else must be percent-encoded), origin-form. */
	for (const char *c = sp1 + 1; c < sp2; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f) {
			*cause =
			    "the request target must be printable ASCII (percent-encode the rest)";
			return 400;
		}
	memcpy(f->target, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	if (f->target[0] != '/' && strcmp(f->target, "*") != 0) {
		*cause = "the request target must be a path";
		return 400;
	}
	v = sp2 + 1;
	nv = n - (size_t)(v - line);
	if (httpd_frame_is(v, nv, "HTTP/1.0"))
		f->http10 = 1;
	else if (!(nv == 8 && memcmp(v, "HTTP/1.1", 8) == 0))
		return 400;

	for (;;) {
		const char *colon;

		*cause = "malformed header line";
		if (httpd_frame_line(head, len, &pos, &line, &n, &bad) != 0) {
			*cause = "incomplete request head";
			return 400;
		}
		if (n == 0 && !bad)
			break;
		if (bad)
			return 400;
		if (++nheaders > HTTPD_FRAME_MAX_HEADERS) {
			*cause = "too many header lines";
			return 431;
		}
		/* Folded lines (obs-fold) and space before the colon: each parser reads them
		 * its own way. */
		colon = memchr(line, ':', n);
		if (colon == NULL || colon == line)
			return 400;
		for (const char *c = line; c < colon; c++)
			if (!httpd_frame_tchar((unsigned char)*c))
				return 400;
		name = line;
		v = colon + 1;
		nv = n - (size_t)(v - line);
		for (size_t i = 0; i < nv; i++)
			if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f) {
				*cause = "control character in a header value";
				return 400;
			}
		httpd_frame_trim(&v, &nv);
		if (httpd_frame_is(name, (size_t)(colon - name), "Content-Length")) {
			if (httpd_frame_content_length(v, nv, &f->content_length) != 0) {
				*cause =
				    "Content-Length must be one decimal length (two different ones "
				    "were sent, or a malformed one)";
				return 400;
			}
		} else if (httpd_frame_is(name, (size_t)(colon - name), "Transfer-Encoding")) {
			if (te++ > 0 || !httpd_frame_is(v, nv, "chunked")) {
				*cause = "only Transfer-Encoding: chunked is supported";
				return te > 1 ? 400 : 501;
			}
			f->chunked = 1;
		} else if (httpd_frame_is(name, (size_t)(colon - name), "Host")) {
			if (hosts++ > 0) {
				*cause = "more than one Host header";
				return 400;
			}
		} else if (httpd_frame_is(name, (size_t)(colon - name), "Expect")) {
			if (!httpd_frame_is(v, nv, "100-continue")) {
				*cause = "only Expect: 100-continue is supported";
				return 417;
			}
			f->expect_continue = 1;
		}
	}
	if (f->chunked && (f->content_length >= 0 || f->http10)) {
		*cause = f->http10 ? "HTTP/1.0 has no chunked bodies"
		                   : "Content-Length and Transfer-Encoding together";
		return 400;
	}
	*cause = NULL;
	return 0;
}

int
httpd_frame_chunk_size(const char *line, size_t len, uint64_t *size)
{
	size_t i = 0;

	*size = 0;
	for (; i < len; i++) {
		char c = line[i];
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		if (i >= 15)
			return -1; /* no body of ours comes near 2^60 */
		*size = *size * 16 + (uint64_t)d;
	}
	if (i == 0)
		return -1;
	/* Chunk extensions: ";name[=value]", ignored; anything else is malformed. */
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i < len && line[i] != ';')
		return -1;
	for (; i < len; i++)
		if (((unsigned char)line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f)
			return -1;
	return 0;
}

int
httpd_frame_text_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		unsigned c = *p;
		size_t n;
		uint32_t cp, min;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 0;
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return 0;
		}
		if ((size_t)(end - p) <= n)
			return 0;
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += n + 1;
	}
	return 1;
}
