/* The connections of vibnd's HTTP server, between the socket and libevent's parser.
 *
 * Each connection's bytes pass through a filter that frames every request itself
 * (httpd_frame.h) and hands libevent only whole, well-formed requests:
 *   - a head that two parsers could read two ways (two different Content-Length values,
 *     Content-Length with Transfer-Encoding, ...) is 400; a malformed chunk size is 400;
 *     a head over HTTPD_MAX_HEADERS is 431; a body over its route's cap is 413 (from the
 *     Content-Length, before the body is read); a method libevent does not know is 405
 *     with Allow (404 when no route has the path);
 *   - each request's head and body must arrive within the request deadline, counted from
 *     its first byte: a client that trickles bytes is answered 408 and disconnected;
 *   - such refusals are answered by our JSON errors, through libevent (which then closes
 *     the connection), never by libevent's HTML pages: the filter hands libevent a
 *     stand-in request, and the dispatcher answers it with the refusal (httpd_conn_refusal).
 * The number of connections is capped below the descriptor limit: at the cap, the oldest
 * connection with no request in progress is answered 503 and closed to make room (so a
 * flood of idle or slow connections cannot lock out /healthz); when every connection has
 * a request in progress, accepting pauses until one closes. When accept() fails for want
 * of descriptors (EMFILE, ENFILE), accepting pauses for a moment instead of spinning, one
 * pending connection is shed with a spare descriptor, and the failure is logged once per
 * interval. */
#ifndef VIBN_HTTPD_CONN_H
#define VIBN_HTTPD_CONN_H

#include <stddef.h>
#include <stdint.h>

struct evhttp;
struct evconnlistener;
struct evhttp_request;
struct buf;

/* What the route table says of a method and path: HTTPD_ROUTE_OK (with the body cap),
 * HTTPD_ROUTE_NO_METHOD (allow filled: the methods it has) or HTTPD_ROUTE_NONE. */
enum httpd_route_match { HTTPD_ROUTE_OK, HTTPD_ROUTE_NO_METHOD, HTTPD_ROUTE_NONE };
typedef enum httpd_route_match (*httpd_conn_route_fn)(const char *method, const char *path,
                                                      struct buf *allow, size_t *max_body);

struct httpd_conn_config {
	int64_t request_timeout_ms; /* head and body of one request, from its first byte */
	int max_connections;        /* the cap (lowered to fit the descriptor limit) */
	httpd_conn_route_fn route;
};

/* Installs the filter on http and watches listener. Call once, after binding. */
void httpd_conn_start(struct evhttp *http, struct evconnlistener *listener,
                      const struct httpd_conn_config *cfg);
/* Forgets the listener and the timers (the connections go with evhttp_free). */
void httpd_conn_stop(void);

/* The refusal a dispatched request stands for: 0 for a real request (*conn_id set, for
 * httpd_conn_done), or its status with the code, the message and (405) the Allow value
 * (static or owned by the connection; valid during the call). */
int httpd_conn_refusal(struct evhttp_request *req, unsigned long *conn_id, const char **code,
                       const char **message, const char **allow);
/* A real request of connection conn_id was answered (or dropped). */
void httpd_conn_done(unsigned long conn_id);

/* Counters for /metrics and tests. */
struct httpd_conn_stats {
	long open; /* connections now */
	int cap;   /* the connection cap in force */
	unsigned long long refused, timeouts, evicted, accept_errors;
};
void httpd_conn_stats(struct httpd_conn_stats *st);

#endif
