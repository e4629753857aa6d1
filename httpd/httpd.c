#include "httpd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "controller/loop.h"
#include "httpd/httpd_conn.h"
#include "httpd/httpd_frame.h"

#define HTTPD_MAX_SEGMENTS 32

struct httpd_route {
	char *method;
	char *pattern;
	char **seg; /* pattern segments */
	int nseg;
	int prefix; /* last segment was "*" */
	size_t max_body;
	httpd_handler fn;
	void *arg;
};

struct httpd_req {
	struct evhttp_request *ev;
	const char *method;
	char *path;
	char *pnames[HTTPD_MAX_PARAMS];
	char *pvalues[HTTPD_MAX_PARAMS];
	int nparams;
	struct evkeyvalq query;
	int query_parsed;
	int replied, deferred, in_handler;
	unsigned long conn_id; /* httpd_conn's connection; 0: unknown */
};

static struct {
	struct evhttp *http;
	struct httpd_route *routes;
	int nroutes;
	int64_t request_timeout_ms;
	int max_connections;
} httpd = {.request_timeout_ms = HTTPD_DEFAULT_REQUEST_TIMEOUT_MS,
           .max_connections = HTTPD_DEFAULT_MAX_CONNECTIONS};

/* Splits a path into its segments (copies into segs, at most max). */
static int
httpd_split(const char *path, char **segs, int max)
{
	int n = 0;

	while (*path == '/')
		path++;
	while (*path != '\0' && n < max) {
		const char *end = strchr(path, '/');
		size_t len = end ? (size_t)(end - path) : strlen(path);

		segs[n++] = xstrndup(path, len);
		path += len;
		if (*path == '/')
			path++;
	}
	return *path == '\0' ? n : -1;
}

void
httpd_route(const char *method, const char *pattern, httpd_handler fn, void *arg)
{
	struct httpd_route *r;
	char *segs[HTTPD_MAX_SEGMENTS];
	int n = httpd_split(pattern, segs, HTTPD_MAX_SEGMENTS);

	if (n < 0)
		fatalx("httpd: pattern %s has too many segments", pattern);
	httpd.routes = xreallocarray(httpd.routes, (size_t)httpd.nroutes + 1, sizeof *httpd.routes);
	r = &httpd.routes[httpd.nroutes++];
	memset(r, 0, sizeof *r);
	r->method = xstrdup(method);
	r->pattern = xstrdup(pattern);
	r->fn = fn;
	r->arg = arg;
	r->max_body = HTTPD_DEFAULT_BODY;
	if (n > 0 && strcmp(segs[n - 1], "*") == 0) {
		r->prefix = 1;
		free(segs[--n]);
	}
	r->seg = xcalloc((size_t)n + 1, sizeof *r->seg);
	for (int i = 0; i < n; i++)
		r->seg[i] = segs[i];
	r->nseg = n;
}

void
httpd_route_body_max(const char *method, const char *pattern, size_t max)
{
	for (int i = 0; i < httpd.nroutes; i++)
		if (strcmp(httpd.routes[i].method, method) == 0 &&
		    strcmp(httpd.routes[i].pattern, pattern) == 0)
			httpd.routes[i].max_body = max < HTTPD_MAX_BODY ? max : HTTPD_MAX_BODY;
}

static void
httpd_req_clear_params(struct httpd_req *req)
{
	for (int i = 0; i < req->nparams; i++) {
		free(req->pnames[i]);
		free(req->pvalues[i]);
	}
	req->nparams = 0;
}

/* Whether the path segments match the route; fills the request's params if so. A
 * parameter that decodes to a control character or invalid UTF-8 matches nothing: the
 * dispatcher has refused such paths already (400). */
static int
httpd_match(const struct httpd_route *r, char **segs, int n, struct httpd_req *req)
{
	if (r->prefix ? n < r->nseg : n != r->nseg)
		return 0;
	httpd_req_clear_params(req);
	for (int i = 0; i < r->nseg; i++) {
		const char *p = r->seg[i];
		size_t plen = strlen(p);

		if (plen > 2 && p[0] == '{' && p[plen - 1] == '}') {
			char *v;

			if (segs[i][0] == '\0' || req->nparams == HTTPD_MAX_PARAMS)
				return 0;
			size_t vlen = 0;

			v = evhttp_uridecode(segs[i], 0, &vlen);
			if (v == NULL)
				return 0;
			if (!httpd_frame_text_ok(v, vlen)) {
				free(v);
				return 0;
			}
			req->pnames[req->nparams] = xstrndup(p + 1, plen - 2);
			req->pvalues[req->nparams] = xstrdup(v);
			free(v);
			req->nparams++;
		} else if (strcmp(p, segs[i]) != 0) {
			return 0;
		}
	}
	return 1;
}

static const char *
httpd_method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_TRACE:
		return "TRACE";
	case EVHTTP_REQ_CONNECT:
		return "CONNECT";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	}
	return "UNKNOWN";
}

static int
httpd_method_matches(const char *route, const char *method)
{
	return strcmp(route, method) == 0 ||
	       (strcmp(route, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

static void
httpd_req_free(struct httpd_req *req)
{
	if (req->conn_id != 0)
		httpd_conn_done(req->conn_id);
	httpd_req_clear_params(req);
	if (req->query_parsed)
		evhttp_clear_headers(&req->query);
	free(req->path);
	free(req);
}

/* Collects the Allow header value of the routes matching the path. */
static void
httpd_allow(struct buf *allow, char **segs, int n, struct httpd_req *scratch)
{
	for (int i = 0; i < httpd.nroutes; i++) {
		const struct httpd_route *r = &httpd.routes[i];

		if (!httpd_match(r, segs, n, scratch))
			continue;
		if (allow->len > 0 && strstr(buf_str(allow), r->method) != NULL)
			continue;
		buf_printf(allow, "%s%s", allow->len ? ", " : "", r->method);
		if (strcmp(r->method, "GET") == 0 && strstr(buf_str(allow), "HEAD") == NULL)
			buf_puts(allow, ", HEAD");
	}
}

/* httpd_conn's view of the table, from a request head (path without the query). */
static enum httpd_route_match
httpd_route_match(const char *method, const char *path, struct buf *allow, size_t *max_body)
{
	struct httpd_req scratch;
	char *segs[HTTPD_MAX_SEGMENTS];
	enum httpd_route_match m = HTTPD_ROUTE_NONE;
	int n = httpd_split(path, segs, HTTPD_MAX_SEGMENTS);

	if (n < 0)
		return HTTPD_ROUTE_NONE;
	memset(&scratch, 0, sizeof scratch);
	for (int i = 0; i < httpd.nroutes && m != HTTPD_ROUTE_OK; i++) {
		const struct httpd_route *r = &httpd.routes[i];

		if (!httpd_match(r, segs, n, &scratch))
			continue;
		m = HTTPD_ROUTE_NO_METHOD;
		if (httpd_method_matches(r->method, method)) {
			m = HTTPD_ROUTE_OK;
			*max_body = r->max_body;
		}
	}
	if (m == HTTPD_ROUTE_NO_METHOD)
		httpd_allow(allow, segs, n, &scratch);
	httpd_req_clear_params(&scratch);
	for (int i = 0; i < n; i++)
		free(segs[i]);
	return m;
}

/* 1 when every decoded key and value of the query string is acceptable text. */
static int
httpd_query_ok(const char *q)
{
	while (q != NULL && *q != '\0') {
		size_t n = strcspn(q, "&"), len = 0;
		char *part = xstrndup(q, n);
		char *d = evhttp_uridecode(part, 1, &len);
		int ok = d != NULL && httpd_frame_text_ok(d, len);

		free(d);
		free(part);
		if (!ok)
			return 0;
		q += n + (q[n] == '&');
	}
	return 1;
}

/* A refusal of httpd_conn's (a request that never reached libevent's parser): answered
 * here, as every other error, in JSON. */
static int
httpd_refused(struct httpd_req *req)
{
	const char *code = NULL, *msg = NULL, *allow = NULL;
	int status = httpd_conn_refusal(req->ev, &req->conn_id, &code, &msg, &allow);

	if (status == 0)
		return 0;
	if (allow != NULL)
		httpd_set_header(req, "Allow", allow);
	httpd_error(req, status, code, "%s", msg);
	return 1;
}

static void
httpd_dispatch(struct evhttp_request *ev, void *unused)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
	const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
	struct httpd_req *req = xcalloc(1, sizeof *req);
	char *segs[HTTPD_MAX_SEGMENTS];
	int n, path_matched = 0;

	size_t plen = 0;

	req->ev = ev;
	req->method = httpd_method_name(evhttp_request_get_command(ev));
	if (httpd_refused(req)) {
		httpd_req_free(req);
		return;
	}
	if (raw == NULL || *raw == '\0')
		raw = "/";
	req->path = evhttp_uridecode(raw, 0, &plen);
	if (req->path == NULL)
		req->path = xstrdup(raw);
	/* %00 would cut a parameter short, %0a would split a log line, and invalid UTF-8
	 * would reach Postgres as a 503: all three are the client's error. */
	else if (!httpd_frame_text_ok(req->path, plen)) {
		httpd_error(req, 400, "bad_request",
		            "the path holds a control character or invalid UTF-8");
		httpd_req_free(req);
		return;
	}
	if (!httpd_query_ok(uri ? evhttp_uri_get_query(uri) : NULL)) {
		httpd_error(req, 400, "bad_request",
		            "the query string holds a control character or invalid UTF-8");
		httpd_req_free(req);
		return;
	}
	n = httpd_split(raw, segs, HTTPD_MAX_SEGMENTS);
	if (n < 0) {
		httpd_error(req, 404, "not_found", "no such route");
		httpd_req_free(req);
		return;
	}
	for (int i = 0; i < httpd.nroutes; i++) {
		const struct httpd_route *r = &httpd.routes[i];

		if (!httpd_match(r, segs, n, req))
			continue;
		path_matched = 1;
		if (!httpd_method_matches(r->method, req->method))
			continue;
		req->in_handler = 1;
		r->fn(req, r->arg);
		req->in_handler = 0;
		if (req->deferred && !req->replied) {
			req = NULL; /* httpd_reply frees it later */
			goto out;
		}
		if (!req->replied) {
			log_error("httpd: %s %s: handler returned without a reply", req->method,
			          req->path);
			httpd_error(req, 500, "internal", "internal error");
		}
		goto out;
	}
	if (path_matched) {
		struct buf allow;

		buf_init(&allow);
		httpd_allow(&allow, segs, n, req);
		httpd_set_header(req, "Allow", buf_str(&allow));
		buf_free(&allow);
		httpd_error(req, 405, "method_not_allowed", "method %s not allowed", req->method);
	} else {
		httpd_error(req, 404, "not_found", "no such route");
	}
out:
	if (req != NULL)
		httpd_req_free(req);
	for (int i = 0; i < n; i++)
		free(segs[i]);
}

void
httpd_configure(int64_t request_timeout_ms, int max_connections)
{
	httpd.request_timeout_ms =
	    request_timeout_ms > 0 ? request_timeout_ms : HTTPD_DEFAULT_REQUEST_TIMEOUT_MS;
	httpd.max_connections =
	    max_connections > 0 ? max_connections : HTTPD_DEFAULT_MAX_CONNECTIONS;
}

int
httpd_start(const char *addr, char **cause)
{
	struct httpd_conn_config cc;
	struct evhttp_bound_socket *bound;
	int idle_s;
	char *host = xstrdup(addr), *colon = strrchr(host, ':');
	long port = 0;
	int rc = -1;

	*cause = NULL;
	if (colon == NULL || util_parse_long(colon + 1, 1, 65535, &port) != 0) {
		*cause = xasprintf("VIBN_LISTEN: bad address %s (want host:port)", addr);
		goto out;
	}
	*colon = '\0';
	if (host[0] == '[' && colon > host && colon[-1] == ']') {
		colon[-1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	httpd.http = evhttp_new(loop_base());
	if (httpd.http == NULL) {
		*cause = xstrdup("httpd: cannot create the server");
		goto out;
	}
	/* httpd_conn enforces the real limits first; libevent's are a backstop above them,
	 * so that its own (HTML) errors never answer. */
	evhttp_set_max_body_size(httpd.http, 2 * HTTPD_MAX_BODY);
	evhttp_set_max_headers_size(httpd.http, 2 * HTTPD_MAX_HEADERS);
	/* libevent's timeout counts idle time only (httpd_conn has the request deadline):
	 * idle keep-alive connections close after it. */
	idle_s = (int)(httpd.request_timeout_ms / 1000) + 5;
	evhttp_set_timeout(httpd.http, idle_s > 30 ? idle_s : 30);
	/* Let every method through so unknown ones get our 405 with Allow. */
	evhttp_set_allowed_methods(httpd.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                           EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                           EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	                                           EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	/* Every answer with a body names its type; an empty one (a 202, a 204) claims none,
	 * where libevent would call it text/html. */
	evhttp_set_default_content_type(httpd.http, NULL);
	evhttp_set_gencb(httpd.http, httpd_dispatch, NULL);
	bound = evhttp_bind_socket_with_handle(httpd.http, host, (unsigned short)port);
	if (bound == NULL) {
		*cause = xasprintf("cannot listen on %s (VIBN_LISTEN): %s", addr,
		                   evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		evhttp_free(httpd.http);
		httpd.http = NULL;
		goto out;
	}
	memset(&cc, 0, sizeof cc);
	cc.request_timeout_ms = httpd.request_timeout_ms;
	cc.max_connections = httpd.max_connections;
	cc.route = httpd_route_match;
	httpd_conn_start(httpd.http, evhttp_bound_socket_get_listener(bound), &cc);
	rc = 0;
out:
	free(host);
	return rc;
}

void
httpd_stop(void)
{
	httpd_conn_stop();
	if (httpd.http != NULL)
		evhttp_free(httpd.http);
	httpd.http = NULL;
	for (int i = 0; i < httpd.nroutes; i++) {
		struct httpd_route *r = &httpd.routes[i];

		for (int j = 0; j < r->nseg; j++)
			free(r->seg[j]);
		free(r->seg);
		free(r->method);
		free(r->pattern);
	}
	free(httpd.routes);
	httpd.routes = NULL;
	httpd.nroutes = 0;
}

const char *
httpd_param(const struct httpd_req *req, const char *name)
{
	for (int i = 0; i < req->nparams; i++)
		if (strcmp(req->pnames[i], name) == 0)
			return req->pvalues[i];
	return NULL;
}

const char *
httpd_query(struct httpd_req *req, const char *name)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req->ev);
	const char *q = uri ? evhttp_uri_get_query(uri) : NULL;

	if (!req->query_parsed) {
		req->query.tqh_first = NULL;
		req->query.tqh_last = &req->query.tqh_first;
		req->query_parsed = 1;
		if (q != NULL)
			evhttp_parse_query_str(q, &req->query);
	}
	return evhttp_find_header(&req->query, name);
}

const char *
httpd_header(const struct httpd_req *req, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(req->ev), name);
}

const unsigned char *
httpd_body(struct httpd_req *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req->ev);

	*len = evbuffer_get_length(in);
	if (*len == 0)
		return NULL;
	return evbuffer_pullup(in, -1);
}

void
httpd_set_header(struct httpd_req *req, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(req->ev), name, value);
}

void
httpd_reply(struct httpd_req *req, int status, const char *content_type, const void *body,
            size_t len)
{
	struct evbuffer *out = evbuffer_new();
	struct evhttp_connection *evcon;

	if (out == NULL)
		fatalx("httpd: out of memory");
	if (content_type != NULL)
		httpd_set_header(req, "Content-Type", content_type);
	if (strcmp(req->method, "HEAD") == 0) {
		/* Headers only (libevent would send the body and drop the length): the length
		 * is the one GET would have. */
		char n[24];

		snprintf(n, sizeof n, "%zu", len);
		httpd_set_header(req, "Content-Length", n);
	} else if (len > 0) {
		evbuffer_add(out, body, len);
	}
	evcon = evhttp_request_get_connection(req->ev);
	evhttp_send_reply(req->ev, status, NULL, out);
	/* libevent adds the response before it enables writing, which a filtering
	 * bufferevent (httpd_conn) notices only when told: tell it. */
	if (evcon != NULL)
		bufferevent_flush(evhttp_connection_get_bufferevent(evcon), EV_WRITE, BEV_NORMAL);
	evbuffer_free(out);
	req->replied = 1;
	/* A deferred reply ends the request here; otherwise the dispatcher frees it. */
	if (req->deferred && !req->in_handler)
		httpd_req_free(req);
}

void
httpd_reply_json(struct httpd_req *req, int status, const char *json)
{
	httpd_reply(req, status, "application/json", json, strlen(json));
}

char *
httpd_json_text(json_t *doc)
{
	char *s = doc != NULL ? json_dumps(doc, 0) : NULL, *text;

	if (s == NULL)
		fatalx("httpd_json_text: cannot serialize the reply");
	json_decref(doc);
	text = xasprintf("%s\n", s);
	free(s);
	return text;
}

char *
httpd_error_body(const char *code, const char *fmt, va_list ap)
{
	char *msg = xvasprintf(fmt, ap);
	json_t *m = json_string(msg);

	if (m == NULL) {
		for (char *p = msg; *p != '\0'; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		m = json_string(msg);
	}
	free(msg);
	return httpd_json_text(json_pack("{s:o, s:s}", "error", m, "code", code));
}

void
httpd_error(struct httpd_req *req, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	char *body;

	va_start(ap, fmt);
	body = httpd_error_body(code, fmt, ap);
	va_end(ap);
	httpd_reply_json(req, status, body);
	free(body);
}

void
httpd_defer(struct httpd_req *req)
{
	req->deferred = 1;
}
