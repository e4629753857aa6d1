/* vibnd's HTTP server (libevent evhttp) and its route table. Modules register routes;
 * the server matches the path, then the method:
 *
 *   httpd_route("GET",  "/healthz", health_live, NULL);                 exact path
 *   httpd_route("POST", "/webhooks/gitea", webhook_gitea, ctx);
 *   httpd_route("GET",  "/api/workspaces/{slug}", api_ws_get, ctx);     {name}: one segment
 *   httpd_route("DELETE", "/api/workspaces/{slug}/keys/{keyId}", ...);
 *   httpd_route("GET",  "/files/" "*", serve, ctx);   a last segment "*" matches any rest
 *
 * No route matches the path: 404 {"error","code":"not_found"}. A route matches the path
 * but not the method: 405 with an Allow header. "GET" routes answer HEAD too (headers
 * only). Request bodies are capped per route (httpd_route_body_max; larger: 413) and
 * headers too (431). A path or query whose decoded text holds a control character (%00,
 * %0a, ...) or invalid UTF-8 is 400. How requests are framed, their deadline and the
 * connection cap: httpd_conn.h.
 *
 * Handlers run on the loop thread and must not block. A handler answers with one of the
 * httpd_reply* calls before returning, or calls httpd_defer and answers later, on the
 * loop thread (hand the work to a thread, come back with loop_call). */
#ifndef VIBN_HTTPD_H
#define VIBN_HTTPD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define HTTPD_MAX_BODY                   (1024 * 1024) /* no route takes more */
#define HTTPD_DEFAULT_BODY               (64 * 1024) /* a route's cap unless httpd_route_body_max */
#define HTTPD_MAX_HEADERS                (64 * 1024)
#define HTTPD_MAX_PARAMS                 8
#define HTTPD_DEFAULT_REQUEST_TIMEOUT_MS 10000
#define HTTPD_DEFAULT_MAX_CONNECTIONS    1024

struct httpd_req;

typedef void (*httpd_handler)(struct httpd_req *req, void *arg);

/* Sets, before httpd_start, the deadline of one request's head and body (counted from its
 * first byte; slower clients get 408) and the connection cap (lowered to fit the
 * descriptor limit). Both have defaults (HTTPD_DEFAULT_*). See httpd_conn.h. */
void httpd_configure(int64_t request_timeout_ms, int max_connections);
/* Starts listening on addr ("host:port"). Returns 0, or -1 with a one-line *cause. */
int httpd_start(const char *addr, char **cause);
/* Registers a route (method and pattern are copied). Routes match in registration order;
 * the first whose pattern and method both match wins. Call on the loop thread. */
void httpd_route(const char *method, const char *pattern, httpd_handler fn, void *arg);
/* Sets the body cap of the route registered with this method and pattern (at most
 * HTTPD_MAX_BODY; the default is HTTPD_DEFAULT_BODY). A larger body is answered 413 from
 * its Content-Length (or as its chunks arrive), before it is read. */
void httpd_route_body_max(const char *method, const char *pattern, size_t max);
/* Stops listening and forgets the routes; deferred requests still pending are dropped. */
void httpd_stop(void);

/* Request accessors (borrowed; valid until the reply). */
/* A {name} segment of the matched pattern, or NULL. */
const char *httpd_param(const struct httpd_req *req, const char *name);
/* A query-string value (decoded), or NULL. */
const char *httpd_query(struct httpd_req *req, const char *name);
const char *httpd_header(const struct httpd_req *req, const char *name);
/* The raw body (not NUL-terminated; *len set), or NULL when empty. */
const unsigned char *httpd_body(struct httpd_req *req, size_t *len);

/* Adds a response header (before the reply). */
void httpd_set_header(struct httpd_req *req, const char *name, const char *value);
/* Replies and ends the request: body of len bytes with this content type. */
void httpd_reply(struct httpd_req *req, int status, const char *content_type, const void *body,
                 size_t len);
/* Replies with a JSON document (text already serialized). */
void httpd_reply_json(struct httpd_req *req, int status, const char *json);
/* Replies {"error": "<message>", "code": "<code>"} with status; the message is escaped. */
void httpd_error(struct httpd_req *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Keeps the request open after the handler returns; reply later on the loop thread. */
void httpd_defer(struct httpd_req *req);

/* doc (stolen) serialized as one line, with ", " and ": " between items, and a newline: a
 * new string, for a reply body. */
char *httpd_json_text(json_t *doc);
/* The body of an error reply, {"error": <fmt formatted>, "code": code} and a newline: a new
 * string. Bytes of the message that are not UTF-8 become '?' (JSON cannot carry them), so a
 * reply always goes out. */
char *httpd_error_body(const char *code, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif
