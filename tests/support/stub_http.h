/* A tiny HTTP/1.1 server on a thread, answering every request with one canned response:
 * for the shapes vibn-sim does not produce (redirects with Location, Retry-After as an
 * HTTP date, oversized or non-JSON bodies, silence). Keep-alive is honoured and counted. */
#ifndef VIBN_TEST_STUB_HTTP_H
#define VIBN_TEST_STUB_HTTP_H

#include <stddef.h>

struct stub_http;

/* Starts the server on 127.0.0.1 with an ephemeral port; answers 200 {} until told
 * otherwise. Exits the program when it cannot listen. */
struct stub_http *stub_http_start(void);
void stub_http_stop(struct stub_http *s);
/* "http://127.0.0.1:PORT" (borrowed). */
const char *stub_http_url(struct stub_http *s);
/* Every following request gets status, the extra header lines (each ending in "\r\n", or
 * NULL) and body (Content-Length is added). */
void stub_http_set(struct stub_http *s, int status, const char *headers, const char *body);
/* Every following request gets a 200 whose body is n bytes of 'x'. */
void stub_http_set_big(struct stub_http *s, size_t n);
/* Every following request is read and never answered (until the client hangs up). */
void stub_http_set_silent(struct stub_http *s);
/* The next n requests are read whole and answered by closing their connection. */
void stub_http_drop_next(struct stub_http *s, int n);
/* Requests and connections seen so far. */
int stub_http_requests(struct stub_http *s);
int stub_http_connections(struct stub_http *s);
/* 1 when the last request came on a connection that had carried an earlier one. */
int stub_http_last_reused(struct stub_http *s);
/* A copy of the last request's head (request line and headers), as a new string. */
char *stub_http_last_head(struct stub_http *s);

#endif
