/* How an HTTP/1.x request is framed: its head (request line and headers) and the chunk
 * size lines of a chunked body, checked the way a proxy in front of us reads them, before
 * libevent's parser sees a byte (httpd_conn.c). Anything two parsers could read two ways
 * is refused: two different Content-Length values, Content-Length with Transfer-Encoding,
 * a Transfer-Encoding other than chunked, folded or malformed header lines, control
 * characters. Pure functions of the bytes: unit-tested and fuzzed (tests/fuzz/fuzz_api.c). */
#ifndef VIBN_HTTPD_FRAME_H
#define VIBN_HTTPD_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define HTTPD_FRAME_MAX_HEADERS 100 /* header lines in a head (more: 431) */
#define HTTPD_FRAME_MAX_TARGET  8192

/* A parsed request head. */
struct httpd_frame {
	char method[16];                         /* the method token as sent */
	char target[HTTPD_FRAME_MAX_TARGET + 1]; /* the request target (origin-form or "*") */
	int http10;                              /* HTTP/1.0 */
	int64_t content_length;                  /* -1: none */
	int chunked;                             /* Transfer-Encoding: chunked */
	int expect_continue;                     /* Expect: 100-continue */
};

/* Parses a request head of len bytes: the request line and the header lines, each ending
 * in CRLF (or LF), then the empty line; head may hold bytes after it, which are ignored.
 * Returns 0 with *f filled, or the HTTP status to answer (400, 431, 501) with *cause, a
 * static one-line message. */
int httpd_frame_head(const char *head, size_t len, struct httpd_frame *f, const char **cause);

/* Parses a chunk size line (without its CRLF): hex digits, optionally followed by
 * ";extension". Returns 0 with *size, or -1. */
int httpd_frame_chunk_size(const char *line, size_t len, uint64_t *size);

/* 1 when s (len bytes, a decoded path segment or query value) is valid UTF-8 (no overlong
 * forms, no surrogates) without control characters (U+0000-U+001F, U+007F): what a
 * workspace slug, a key id or a cursor may hold on their way to Postgres (which refuses
 * NUL and invalid UTF-8) and into logs. */
int httpd_frame_text_ok(const char *s, size_t len);

/* 1 when the method is one libevent's parser knows (GET, POST, HEAD, PUT, DELETE,
 * OPTIONS, TRACE, CONNECT, PATCH); others never reach it. */
int httpd_frame_known_method(const char *method);

#endif
