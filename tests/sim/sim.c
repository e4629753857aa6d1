/* vibn-sim: start-up, request dispatch, fault injection, rules, counters and the request log.
 *
 * Every upstream request goes through sim_http_cb: route match, counters, then (first that
 * applies) a matching rule, the standing faults, the auth check, the per-minute limit, and
 * finally the route's handler. The handler runs at once (state changes are immediate); the
 * answer is then sent, delayed on a timer (latency, delay rules), or dropped. Nothing here
 * ever blocks the loop. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "tests/sim/sim.h"

#define SIM_LOG_RING       4096
#define SIM_HOLD_MAX_MS    (300 * 1000) /* a held ("timeout") request is dropped after this */
#define SIM_IDLE_TIMEOUT_S 120

struct sim_config sim_cfg;
struct sim_knobs sim_knobs;
struct event_base *sim_base;

static struct evhttp *sim_http[SIM_NUP];
static char sim_url[SIM_NUP][64];
static struct sim_faults sim_faults_now[SIM_NUP];

/* The per-minute limit: a fixed window, like Laravel's throttle (see sim_ratelimit). The
 * window opens at its first counted request, in wall-clock milliseconds. */
static int64_t sim_rl_window_ms[SIM_NUP];
static int sim_rl_count[SIM_NUP];

static uint64_t sim_rng;

/* ---- counters and the request log ---- */

enum sim_method { M_GET, M_HEAD, M_POST, M_PUT, M_PATCH, M_DELETE, M_OPTIONS, M_OTHER, M_N };
static const char *const sim_method_names[M_N] = {"GET",   "HEAD",   "POST",    "PUT",
                                                  "PATCH", "DELETE", "OPTIONS", "OTHER"};

struct sim_counts {
	uint64_t read, mutating;
	uint64_t unmatched[M_N];
};
static struct sim_counts sim_counts[SIM_NUP];
static uint64_t sim_drift_count;

struct sim_logent {
	enum sim_up up;
	const char *method;
	char path[192];
	int status; /* 0: no answer (dropped, held, client gone) */
	double ms;
};
static struct sim_logent sim_log[SIM_LOG_RING];
static uint64_t sim_log_next; /* total ever logged */

/* ---- rules ---- */

enum sim_action { A_STATUS, A_DELAY, A_DROP, A_DROP_AFTER, A_TIMEOUT };
static const char *const sim_action_names[] = {"status", "delay", "drop", "drop_after", "timeout"};

struct sim_rule {
	TAILQ_ENTRY(sim_rule) entry;
	int upmask;   /* 1 << SIM_GITEA | 1 << SIM_COOLIFY */
	char *method; /* NULL = any */
	char *path;
	char *segbuf;
	char *segs[SIM_MAX_SEGS];
	int nsegs;
	long count;
	enum sim_action action;
	int status;
	int delay_ms;
	char *retry_after;
	json_t *body;
	int64_t expires_ms; /* sim_wall_ms() after which it no longer applies; 0: never */
};
static TAILQ_HEAD(, sim_rule) sim_rules = TAILQ_HEAD_INITIALIZER(sim_rules);

/* ---- answers waiting on a timer ---- */

enum sim_pend_kind { P_REPLY, P_DROP, P_HOLD };

struct sim_pending {
	TAILQ_ENTRY(sim_pending) entry;
	struct event *ev;
	struct sim_req *r;
	struct evhttp_connection *evcon; /* NULL once the client is gone */
	struct event *watch;             /* notices the client closing the connection */
	enum sim_pend_kind kind;
};
static TAILQ_HEAD(, sim_pending) sim_pendings = TAILQ_HEAD_INITIALIZER(sim_pendings);

static struct sim_route *sim_routes[SIM_NUP];
static size_t sim_nroutes[SIM_NUP];

/* ------------------------------------------------------------------------------------------ */

const char *
sim_up_name(enum sim_up up)
{
	return up == SIM_GITEA ? "gitea" : "coolify";
}

const char *
sim_base_url(enum sim_up up)
{
	return sim_url[up];
}

static uint64_t
sim_rng_next(void)
{
	/* splitmix64: tiny, seedable, good enough for fault dice */
	uint64_t z = (sim_rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

double
sim_rand(void)
{
	return (double)(sim_rng_next() >> 11) / (double)(1ull << 53);
}

char *
sim_rand_id(size_t len)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	char *s = xmalloc(len + 1);

	for (size_t i = 0; i < len; i++)
		s[i] = alphabet[sim_rng_next() % (sizeof(alphabet) - 1)];
	s[len] = '\0';
	return s;
}

void
sim_now_iso(char buf[32])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static enum sim_method
sim_method_of(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
		return M_GET;
	case EVHTTP_REQ_HEAD:
		return M_HEAD;
	case EVHTTP_REQ_POST:
		return M_POST;
	case EVHTTP_REQ_PUT:
		return M_PUT;
	case EVHTTP_REQ_PATCH:
		return M_PATCH;
	case EVHTTP_REQ_DELETE:
		return M_DELETE;
	case EVHTTP_REQ_OPTIONS:
		return M_OPTIONS;
	default:
		return M_OTHER;
	}
}

static const char *
sim_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 301:
		return "Moved Permanently";
	case 307:
		return "Temporary Redirect";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 422:
		return "Unprocessable Entity";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Status";
	}
}

/* ---- request parsing helpers ---- */

/* Decodes %XX escapes in place (a path segment; '+' stays '+'). */
static void
sim_unescape(char *s)
{
	char *w = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '%' && s[1] != '\0' && s[2] != '\0') {
			char hex[3] = {s[1], s[2], '\0'};
			char *end;
			long v = strtol(hex, &end, 16);

			if (*end == '\0' && v > 0) {
				*w++ = (char)v;
				s += 2;
				continue;
			}
		}
		*w++ = *s;
	}
	*w = '\0';
}

/* Splits path (after any prefix) into decoded segments; -1 when there are too many. */
static int
sim_split(const char *path, char **segbuf, char **segs, int *nsegs)
{
	char *p, *save = NULL, *tok;
	int n = 0;

	*segbuf = p = xstrdup(path);
	for (tok = strtok_r(p, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save)) {
		if (n == SIM_MAX_SEGS)
			return -1;
		if (strchr(tok, '%') != NULL)
			sim_unescape(tok);
		segs[n++] = tok;
	}
	*nsegs = n;
	return 0;
}

static int
sim_tmpl_match(const char *const *tsegs, int ntsegs, char *const *segs, int nsegs,
               const char **params, int *nparams)
{
	int np = 0;

	if (ntsegs != nsegs)
		return 0;
	for (int i = 0; i < nsegs; i++) {
		if (tsegs[i][0] == '{') {
			if (np < SIM_MAX_PARAMS && params != NULL)
				params[np] = segs[i];
			np++;
		} else if (strcmp(tsegs[i], segs[i]) != 0) {
			return 0;
		}
	}
	if (nparams != NULL)
		*nparams = np;
	return 1;
}

static void
sim_routes_prepare(enum sim_up up)
{
	struct sim_route *rt = up == SIM_GITEA ? simgitea_routes(&sim_nroutes[up])
	                                       : simcoolify_routes(&sim_nroutes[up]);

	sim_routes[up] = rt;
	for (size_t i = 0; i < sim_nroutes[up]; i++) {
		char *save = NULL, *tok;

		rt[i].key = xasprintf("%s /api/v1%s", rt[i].method, rt[i].tmpl);
		rt[i].segbuf = xstrdup(rt[i].tmpl);
		rt[i].nsegs = 0;
		for (tok = strtok_r(rt[i].segbuf, "/", &save); tok != NULL;
		     tok = strtok_r(NULL, "/", &save)) {
			if (rt[i].nsegs == SIM_MAX_SEGS)
				fatalx("route %s has too many segments", rt[i].tmpl);
			rt[i].segs[rt[i].nsegs++] = tok;
		}
	}
}

static void
sim_routes_free(void)
{
	for (int up = 0; up < SIM_NUP; up++) {
		for (size_t i = 0; i < sim_nroutes[up]; i++) {
			free(sim_routes[up][i].key);
			free(sim_routes[up][i].segbuf);
		}
	}
}

/* Finds the route of r (segments already split); also fills the params. */
static struct sim_route *
sim_route_find(struct sim_req *r)
{
	enum sim_up up = r->up;

	for (size_t i = 0; i < sim_nroutes[up]; i++) {
		struct sim_route *rt = &sim_routes[up][i];

		if (strcmp(rt->method, r->method) != 0)
			continue;
		if (sim_tmpl_match(rt->segs, rt->nsegs, r->segs, r->nsegs, r->param, &r->nparam))
			return rt;
	}
	return NULL;
}

const char *
sim_query(struct sim_req *r, const char *key)
{
	if (r->query == NULL)
		return NULL;
	if (!r->qparsed) {
		TAILQ_INIT(&r->qargs);
		if (evhttp_parse_query_str(r->query, &r->qargs) != 0)
			evhttp_clear_headers(&r->qargs);
		r->qparsed = 1;
	}
	return evhttp_find_header(&r->qargs, key);
}

json_t *
sim_body(struct sim_req *r)
{
	struct evbuffer *in;
	size_t len;

	if (r->body_state != 0)
		return r->body;
	in = evhttp_request_get_input_buffer(r->req);
	len = evbuffer_get_length(in);
	if (len == 0) {
		r->body_state = -1;
		return NULL;
	}
	r->body = json_loadb((const char *)evbuffer_pullup(in, -1), len, JSON_DECODE_ANY, NULL);
	r->body_state = r->body != NULL ? 1 : -2;
	return r->body;
}

int
sim_body_is_json(struct sim_req *r)
{
	const char *ct =
	    evhttp_find_header(evhttp_request_get_input_headers(r->req), "Content-Type");

	return ct != NULL && strncasecmp(ct, "application/json", 16) == 0 &&
	       (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
}

/* ---- replies ---- */

void
sim_header(struct sim_req *r, const char *name, const char *value)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

	evhttp_remove_header(h, name);
	evhttp_add_header(h, name, value);
}

void
sim_reply_raw(struct sim_req *r, int status, const char *ctype, const char *data, size_t len)
{
	r->status = status;
	if (r->out == NULL)
		r->out = evbuffer_new();
	evbuffer_drain(r->out, evbuffer_get_length(r->out));
	if (ctype != NULL)
		sim_header(r, "Content-Type", ctype);
	if (len > 0)
		evbuffer_add(r->out, data, len);
}

void
sim_reply_json(struct sim_req *r, int status, json_t *body)
{
	char *s;

	if (body == NULL) {
		sim_reply_raw(r, status, NULL, NULL, 0);
		return;
	}
	s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
	json_decref(body);
	if (s == NULL)
		fatalx("%s: json_dumps failed", __func__);
	sim_reply_raw(r, status, "application/json;charset=utf-8", s, strlen(s));
	free(s);
}

void
sim_error(struct sim_req *r, int status, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	json_t *body;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (r->up == SIM_GITEA) {
		char *url = xasprintf("%s/api/swagger", sim_url[SIM_GITEA]);

		body = json_pack("{s:s, s:s}", "message", msg, "url", url);
		free(url);
	} else {
		body = json_pack("{s:s}", "message", msg);
	}
	free(msg);
	sim_reply_json(r, status, body);
}

static void
sim_req_free(struct sim_req *r)
{
	if (r->qparsed)
		evhttp_clear_headers(&r->qargs);
	if (r->out != NULL)
		evbuffer_free(r->out);
	json_decref(r->body);
	free(r->path);
	free(r->query);
	free(r->segbuf);
	free(r);
}

static void
sim_log_add(struct sim_req *r, int status)
{
	struct sim_logent *e = &sim_log[sim_log_next++ % SIM_LOG_RING];
	double ms = (double)(util_now_us() - r->start_us) / 1000.0;

	e->up = r->up;
	e->method = r->method;
	snprintf(e->path, sizeof(e->path), "%s", r->path);
	e->status = status;
	e->ms = ms;
	if (sim_cfg.verbose)
		log_debug("%s %s %s -> %d (%.1f ms)", sim_up_name(r->up), r->method, r->path,
		          status, ms);
}

/* Sends r's answer and frees r. */
static void
sim_send(struct sim_req *r)
{
	int status = r->status != 0 ? r->status : 500;

	if (!r->control)
		sim_log_add(r, status);
	evhttp_send_reply(r->req, status, sim_reason(status), r->out);
	sim_req_free(r);
}

static void
sim_pending_done(struct sim_pending *p)
{
	TAILQ_REMOVE(&sim_pendings, p, entry);
	if (p->evcon != NULL)
		evhttp_connection_set_closecb(p->evcon, NULL, NULL);
	event_free(p->ev);
	if (p->watch != NULL)
		event_free(p->watch);
	if (p->r != NULL)
		sim_req_free(p->r);
	free(p);
}

/* The client closed a connection whose request we still hold. libevent has detached the
 * request from the connection (it is ours to free) unless the connection is going away
 * for another reason, in which case libevent frees it. */
static void
sim_pending_closed(struct evhttp_connection *evcon, void *arg)
{
	struct sim_pending *p = arg;

	if (p->r != NULL) {
		sim_log_add(p->r, 0);
		if (evhttp_request_get_connection(p->r->req) == NULL)
			evhttp_request_free(p->r->req);
	}
	p->evcon = NULL;
	sim_pending_done(p);
}

static void
sim_pending_fire(evutil_socket_t fd, short what, void *arg)
{
	struct sim_pending *p = arg;
	struct sim_req *r = p->r;
	struct evhttp_connection *evcon = p->evcon;

	if (evcon != NULL)
		evhttp_connection_set_closecb(evcon, NULL, NULL);
	p->evcon = NULL;
	if (p->kind == P_REPLY) {
		p->r = NULL;
		sim_send(r);
	} else {
		/* Close without answering: freeing the connection frees the request too. */
		sim_log_add(r, 0);
		p->r = NULL;
		sim_req_free(r);
		if (evcon != NULL)
			evhttp_connection_free(evcon);
	}
	sim_pending_done(p);
}

/* The socket of a held request became readable. libevent does not read while the server
 * owes an answer, so this is how a client giving up (EOF) is noticed: then the connection and
 * the request are freed at once. Pipelined data just ends the watch. */
static void
sim_pending_watch(evutil_socket_t fd, short what, void *arg)
{
	struct sim_pending *p = arg;
	struct evhttp_connection *evcon = p->evcon;
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_PEEK);

	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)))
		return;
	if (evcon == NULL)
		return;
	evhttp_connection_set_closecb(evcon, NULL, NULL);
	p->evcon = NULL;
	sim_log_add(p->r, 0);
	sim_req_free(p->r);
	p->r = NULL;
	sim_pending_done(p);
	evhttp_connection_free(evcon); /* frees the request too */
}

static void
sim_pending_add(struct sim_req *r, enum sim_pend_kind kind, int delay_ms)
{
	struct sim_pending *p = xcalloc(1, sizeof(*p));
	struct timeval tv = {delay_ms / 1000, (delay_ms % 1000) * 1000};

	p->r = r;
	p->kind = kind;
	p->evcon = evhttp_request_get_connection(r->req);
	p->ev = evtimer_new(sim_base, sim_pending_fire, p);
	TAILQ_INSERT_TAIL(&sim_pendings, p, entry);
	if (p->evcon != NULL) {
		struct bufferevent *bev = evhttp_connection_get_bufferevent(p->evcon);

		evhttp_connection_set_closecb(p->evcon, sim_pending_closed, p);
		if (bev != NULL && bufferevent_getfd(bev) >= 0) {
			p->watch = event_new(sim_base, bufferevent_getfd(bev), EV_READ,
			                     sim_pending_watch, p);
			event_add(p->watch, NULL);
		}
	}
	evtimer_add(p->ev, &tv);
}

static void
sim_pending_free_all(void)
{
	struct sim_pending *p;

	while ((p = TAILQ_FIRST(&sim_pendings)) != NULL) {
		/* the connection (and its request) is freed with the evhttp */
		if (p->r != NULL) {
			p->r->req = NULL;
			sim_req_free(p->r);
			p->r = NULL;
		}
		sim_pending_done(p);
	}
}

/* ---- faults ---- */

static int
sim_latency_ms(enum sim_up up)
{
	const struct sim_faults *f = &sim_faults_now[up];
	int ms = f->latency_ms;

	if (f->jitter_ms > 0)
		ms += (int)(sim_rand() * (f->jitter_ms + 1));
	return ms;
}

static void
sim_finish(struct sim_req *r, int delay_ms)
{
	if (delay_ms > 0)
		sim_pending_add(r, P_REPLY, delay_ms);
	else
		sim_send(r);
}

/* A simulated failure: code 500 is the application's own error (JSON), 502 and 503 a
 * proxy's HTML page; code 0 draws one of the two proxy pages. */
static void
sim_fault_error(struct sim_req *r, int code)
{
	if (code == 0)
		code = sim_rng_next() % 2 == 0 ? 502 : 503;
	if (code == 500) {
		sim_error(r, 500, "simulated internal error");
	} else {
		char *html = xasprintf("<html><head><title>%d %s</title></head><body><center>"
		                       "<h1>%d %s</h1></center></body></html>\n",
		                       code, sim_reason(code), code, sim_reason(code));

		sim_reply_raw(r, code, "text/html", html, strlen(html));
		free(html);
	}
}

void
sim_faults_set(enum sim_up up, json_t *o)
{
	struct sim_faults *f = &sim_faults_now[up];
	json_t *v;

	if ((v = json_object_get(o, "latency_ms")) != NULL)
		f->latency_ms = (int)json_number_value(v);
	if ((v = json_object_get(o, "jitter_ms")) != NULL)
		f->jitter_ms = (int)json_number_value(v);
	if ((v = json_object_get(o, "error_rate")) != NULL)
		f->error_rate = json_number_value(v);
	if ((v = json_object_get(o, "timeout_rate")) != NULL)
		f->timeout_rate = json_number_value(v);
	if ((v = json_object_get(o, "drop_rate")) != NULL)
		f->drop_rate = json_number_value(v);
	if ((v = json_object_get(o, "rate_limit_per_minute")) != NULL) {
		f->rpm = (int)json_number_value(v);
		sim_rl_window_ms[up] = 0;
		sim_rl_count[up] = 0;
	}
	if ((v = json_object_get(o, "app_delete_ms")) != NULL)
		sim_knobs.app_delete_ms = (int)json_number_value(v);
}

json_t *
sim_faults_json(enum sim_up up)
{
	const struct sim_faults *f = &sim_faults_now[up];

	return json_pack("{s:i, s:i, s:f, s:f, s:f, s:i}", "latency_ms", f->latency_ms, "jitter_ms",
	                 f->jitter_ms, "error_rate", f->error_rate, "timeout_rate", f->timeout_rate,
	                 "drop_rate", f->drop_rate, "rate_limit_per_minute", f->rpm);
}

/* Replaces *dst with a copy of src (the root URL is owned). */
static void
sim_knobs_copy(struct sim_knobs *dst, const struct sim_knobs *src)
{
	char *root = xstrdup(src->gitea_root_url);

	free(dst->gitea_root_url);
	*dst = *src;
	dst->gitea_root_url = root;
}

/* A ROOT_URL as Gitea keeps it: http(s)://host[:port][/path]/, always ending in '/'. A new
 * string, or NULL when url is not one. */
static char *
sim_root_url(const char *url)
{
	size_t n = strlen(url);
	const char *host;

	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return NULL;
	if (*host == '\0' || *host == '/' || strpbrk(url, " ?#") != NULL)
		return NULL;
	return url[n - 1] == '/' ? xstrdup(url) : xasprintf("%s/", url);
}

int
sim_knobs_set(json_t *o, char **cause)
{
	struct sim_knobs k = {0};
	const char *key;
	json_t *v;

	sim_knobs_copy(&k, &sim_knobs);
	json_object_foreach(o, key, v)
	{
		long n = json_is_integer(v) ? (long)json_integer_value(v) : -1;

		if (strcmp(key, "gitea_root_url") == 0) {
			char *root = json_is_string(v) ? sim_root_url(json_string_value(v)) : NULL;

			if (root == NULL) {
				*cause = xstrdup("gitea_root_url must be an http(s) URL");
				goto fail;
			}
			free(k.gitea_root_url);
			k.gitea_root_url = root;
		} else if (strcmp(key, "gitea_max_items") == 0 && n >= 1 && n <= 100000) {
			k.gitea_max_items = (int)n;
		} else if (strcmp(key, "gitea_ssh_port") == 0 && n >= 1 && n <= 65535) {
			k.gitea_ssh_port = (int)n;
		} else if (strcmp(key, "coolify_destinations") == 0 && n >= 0 && n <= 99) {
			k.coolify_destinations = (int)n;
		} else if (strcmp(key, "app_delete_ms") == 0 && n >= 0 && n <= 3600000) {
			k.app_delete_ms = (int)n;
		} else if (strcmp(key, "coolify_create_domains") == 0 && json_is_boolean(v)) {
			k.coolify_create_domains = json_is_true(v);
		} else {
			*cause = xasprintf("%s: unknown, or out of its range", key);
			goto fail;
		}
	}
	sim_knobs_copy(&sim_knobs, &k);
	free(k.gitea_root_url);
	return 0;
fail:
	free(k.gitea_root_url);
	return -1;
}

json_t *
sim_knobs_json(void)
{
	return json_pack("{s:i, s:s, s:i, s:i, s:i, s:b}", "gitea_max_items",
	                 sim_knobs.gitea_max_items, "gitea_root_url", sim_knobs.gitea_root_url,
	                 "gitea_ssh_port", sim_knobs.gitea_ssh_port, "coolify_destinations",
	                 sim_knobs.coolify_destinations, "app_delete_ms", sim_knobs.app_delete_ms,
	                 "coolify_create_domains", sim_knobs.coolify_create_domains);
}

/* Counts one request against the per-minute limit; 0 when allowed, else the seconds until
 * the window resets (the Retry-After). */
static int64_t
sim_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Laravel's fixed window (laravel/framework src/Illuminate/Cache/RateLimiter.php hit() and
 * tooManyAttempts(); src/Illuminate/Routing/Middleware/ThrottleRequests.php handleRequest(),
 * addHeaders(), getHeaders(); Coolify app/Providers/RouteServiceProvider.php:
 * Limit::perMinute(config('api.rate_limit')) by user): the first counted request opens a
 * 60 s window (the cache keys live 60 s from that moment); each request within it counts
 * until the limit, after which every request is refused without being counted, until the
 * window ends. Counted answers carry X-RateLimit-Limit and X-RateLimit-Remaining (no reset
 * time); a refusal carries Retry-After and X-RateLimit-Reset computed in whole seconds from
 * the window's timer (first hit's second + 60, availableIn() = max(0, timer - now)): so
 * Retry-After may be 0, or up to a second short of the real end of the window, as it is
 * upstream. Returns 1 when r was refused (the caller answers 429), 0 when it was counted
 * (or there is no limit). */
static int
sim_ratelimit(struct sim_req *r)
{
	enum sim_up up = r->up;
	int limit = sim_faults_now[up].rpm;
	int64_t now = sim_wall_ms(), secs;
	char num[32];

	if (limit <= 0)
		return 0;
	if (sim_rl_window_ms[up] == 0 || now >= sim_rl_window_ms[up] + 60000) {
		sim_rl_window_ms[up] = now;
		sim_rl_count[up] = 0;
	}
	snprintf(num, sizeof(num), "%d", limit);
	sim_header(r, "X-RateLimit-Limit", num);
	if (sim_rl_count[up] >= limit) {
		secs = sim_rl_window_ms[up] / 1000 + 60 - now / 1000;
		if (secs < 0)
			secs = 0;
		snprintf(num, sizeof(num), "%lld", (long long)secs);
		sim_header(r, "Retry-After", num);
		sim_header(r, "X-RateLimit-Remaining", "0");
		snprintf(num, sizeof(num), "%lld", (long long)(now / 1000 + secs));
		sim_header(r, "X-RateLimit-Reset", num);
		return 1;
	}
	sim_rl_count[up]++;
	snprintf(num, sizeof(num), "%d", limit - sim_rl_count[up]);
	sim_header(r, "X-RateLimit-Remaining", num);
	return 0;
}

/* Whether the client asked for JSON, as Laravel decides how to render an exception
 * (laravel/framework src/Illuminate/Foundation/Exceptions/Handler.php render() ->
 * shouldReturnJson() -> $request->expectsJson(); src/Illuminate/Http/Concerns/
 * InteractsWithContentTypes.php): wantsJson() (the first type in Accept contains "/json" or
 * "+json"), or an XMLHttpRequest that accepts any type. */
static int
sim_expects_json(struct sim_req *r)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(r->req);
	const char *accept = evhttp_find_header(h, "Accept");
	const char *xrw = evhttp_find_header(h, "X-Requested-With");
	char first[128];
	size_t n;

	if (accept != NULL) {
		while (*accept == ' ')
			accept++;
		n = strcspn(accept, ",;");
		if (n >= sizeof(first))
			n = sizeof(first) - 1;
		memcpy(first, accept, n);
		first[n] = '\0';
		for (char *c = first; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
		if (strstr(first, "/json") != NULL || strstr(first, "+json") != NULL)
			return 1;
	}
	if (xrw == NULL || strcasecmp(xrw, "XMLHttpRequest") != 0)
		return 0;
	return accept == NULL || strcmp(first, "*/*") == 0 || strcmp(first, "*") == 0;
}

/* Coolify's 429 from the throttle: {"message": "Too Many Attempts."} to a client that asked
 * for JSON, and otherwise Laravel's HTML error page, which Coolify renders from its own view
 * (resources/views/errors/429.blade.php). Gitea has no limiter of its own: a proxy in front
 * of it answers plain text. */
static void
sim_too_many(struct sim_req *r)
{
	static const char page[] =
	    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Coolify"
	    "</title></head><body><div class=\"flex flex-col items-center justify-center h-full\">"
	    "<div><p class=\"font-mono font-semibold text-7xl dark:text-warning\">429</p><h1 class="
	    "\"mt-4 font-bold tracking-tight dark:text-white\">Woah, slow down there!</h1><p>You're"
	    " making too many requests. Please wait a few seconds before trying again.</p></div>"
	    "</div></body></html>\n";

	if (r->up != SIM_COOLIFY)
		sim_reply_raw(r, 429, "text/plain", "Too Many Requests\n", 18);
	else if (sim_expects_json(r))
		sim_error(r, 429, "Too Many Attempts.");
	else
		sim_reply_raw(r, 429, "text/html; charset=UTF-8", page, sizeof(page) - 1);
}

/* ---- auth ---- */

/* 0 when r carries the upstream's token; otherwise answers 401 and returns -1. */
static int
sim_auth(struct sim_req *r)
{
	const char *h =
	    evhttp_find_header(evhttp_request_get_input_headers(r->req), "Authorization");
	const char *want = sim_cfg.token[r->up];
	const char *tok = NULL;

	if (h != NULL) {
		if (r->up == SIM_GITEA && strncasecmp(h, "token ", 6) == 0)
			tok = h + 6;
		else if (strncasecmp(h, "bearer ", 7) == 0)
			tok = h + 7;
		while (tok != NULL && *tok == ' ')
			tok++;
	}
	if (tok != NULL && util_ct_equal(tok, strlen(tok), want, strlen(want)))
		return 0;
	if (r->up == SIM_GITEA) {
		if (h == NULL && r->route != NULL && r->route->noauth)
			return 0;
		sim_error(r, 401,
		          h == NULL ? "token is required" : "invalid username, password or token");
	} else {
		sim_error(r, 401, "Unauthenticated.");
	}
	return -1;
}

/* ---- rules ---- */

static void sim_rule_free(struct sim_rule *rule);
static int64_t sim_wall_ms(void);

static struct sim_rule *
sim_rule_match(struct sim_req *r)
{
	struct sim_rule *rule, *next;
	int64_t now = sim_wall_ms();

	for (rule = TAILQ_FIRST(&sim_rules); rule != NULL; rule = next) {
		next = TAILQ_NEXT(rule, entry);
		if (rule->expires_ms > 0 && now >= rule->expires_ms) {
			TAILQ_REMOVE(&sim_rules, rule, entry);
			sim_rule_free(rule);
			continue;
		}
		if (!(rule->upmask & (1 << r->up)))
			continue;
		if (rule->method != NULL && strcasecmp(rule->method, r->method) != 0)
			continue;
		if (rule->nsegs != r->nsegs + 2)
			continue;
		if (strcmp(rule->segs[0], "api") != 0 || strcmp(rule->segs[1], "v1") != 0)
			continue;
		if (!sim_tmpl_match((const char *const *)rule->segs + 2, rule->nsegs - 2, r->segs,
		                    r->nsegs, NULL, NULL))
			continue;
		return rule;
	}
	return NULL;
}

static void
sim_rule_free(struct sim_rule *rule)
{
	free(rule->method);
	free(rule->path);
	free(rule->segbuf);
	free(rule->retry_after);
	json_decref(rule->body);
	free(rule);
}

static int
sim_upmask(json_t *v, char **cause)
{
	const char *s = json_string_value(v);

	if (v == NULL || (s != NULL && strcmp(s, "both") == 0))
		return 3;
	if (s != NULL && strcmp(s, "gitea") == 0)
		return 1 << SIM_GITEA;
	if (s != NULL && strcmp(s, "coolify") == 0)
		return 1 << SIM_COOLIFY;
	*cause = xstrdup("upstream must be gitea, coolify or both");
	return -1;
}

int
sim_rule_add(json_t *spec, char **cause)
{
	struct sim_rule *rule = xcalloc(1, sizeof(*rule));
	const char *path = json_string_value(json_object_get(spec, "path"));
	const char *method = json_string_value(json_object_get(spec, "method"));
	const char *action = json_string_value(json_object_get(spec, "action"));
	json_t *v;
	size_t i;

	if (!json_is_object(spec)) {
		*cause = xstrdup("a rule is a JSON object");
		goto fail;
	}
	if ((rule->upmask = sim_upmask(json_object_get(spec, "upstream"), cause)) < 0)
		goto fail;
	if (path == NULL || path[0] != '/') {
		*cause = xstrdup("path must be an absolute path such as /api/v1/projects");
		goto fail;
	}
	rule->path = xstrdup(path);
	if (sim_split(path, &rule->segbuf, rule->segs, &rule->nsegs) != 0) {
		*cause = xstrdup("path has too many segments");
		goto fail;
	}
	if (method != NULL && strcmp(method, "*") != 0)
		rule->method = xstrdup(method);
	rule->action = A_STATUS;
	if (action != NULL) {
		for (i = 0; i < nitems(sim_action_names); i++) {
			if (strcmp(action, sim_action_names[i]) == 0)
				break;
		}
		if (i == nitems(sim_action_names)) {
			*cause =
			    xstrdup("action must be status, delay, drop, drop_after or timeout");
			goto fail;
		}
		rule->action = (enum sim_action)i;
	}
	v = json_object_get(spec, "count");
	rule->count = v != NULL ? (long)json_number_value(v) : 1;
	if (rule->count <= 0) {
		*cause = xstrdup("count must be at least 1");
		goto fail;
	}
	v = json_object_get(spec, "status");
	rule->status = v != NULL ? (int)json_number_value(v) : 503;
	if (rule->action == A_STATUS && (rule->status < 100 || rule->status > 599)) {
		*cause = xstrdup("status must be an HTTP status code");
		goto fail;
	}
	rule->delay_ms = (int)json_number_value(json_object_get(spec, "delay_ms"));
	if (rule->action == A_DELAY && rule->delay_ms <= 0) {
		*cause = xstrdup("delay needs delay_ms > 0");
		goto fail;
	}
	v = json_object_get(spec, "retry_after");
	if (json_is_string(v))
		rule->retry_after = xstrdup(json_string_value(v));
	else if (json_is_number(v))
		rule->retry_after = xasprintf("%lld", (long long)json_number_value(v));
	v = json_object_get(spec, "body");
	if (v != NULL && !json_is_null(v))
		rule->body = json_incref(v);
	/* A limiter's refusals end with time, whoever asks: for_ms bounds the rule's life as
	 * count bounds its uses. */
	v = json_object_get(spec, "for_ms");
	if (v != NULL) {
		if (json_number_value(v) <= 0) {
			*cause = xstrdup("for_ms must be positive");
			goto fail;
		}
		rule->expires_ms = sim_wall_ms() + (int64_t)json_number_value(v);
	}
	TAILQ_INSERT_TAIL(&sim_rules, rule, entry);
	return 0;
fail:
	sim_rule_free(rule);
	return -1;
}

void
sim_rules_clear(void)
{
	struct sim_rule *rule;

	while ((rule = TAILQ_FIRST(&sim_rules)) != NULL) {
		TAILQ_REMOVE(&sim_rules, rule, entry);
		sim_rule_free(rule);
	}
}

json_t *
sim_rules_json(void)
{
	json_t *a = json_array();
	struct sim_rule *rule;

	TAILQ_FOREACH(rule, &sim_rules, entry)
	{
		const char *ups = rule->upmask == 3                  ? "both"
		                  : rule->upmask == (1 << SIM_GITEA) ? "gitea"
		                                                     : "coolify";

		json_array_append_new(
		    a, json_pack("{s:s, s:s?, s:s, s:I, s:s, s:i, s:i, s:s?, s:O?}", "upstream",
		                 ups, "method", rule->method, "path", rule->path, "count",
		                 (json_int_t)rule->count, "action", sim_action_names[rule->action],
		                 "status", rule->status, "delay_ms", rule->delay_ms, "retry_after",
		                 rule->retry_after, "body", rule->body));
	}
	return a;
}

/* Applies rule to r; returns 1 when r is fully dealt with, 0 to carry on normally with
 * *delay_ms / *drop_after set. */
static int
sim_rule_apply(struct sim_req *r, struct sim_rule *rule, int *delay_ms, int *drop_after)
{
	enum sim_action action = rule->action;

	if (--rule->count == 0)
		TAILQ_REMOVE(&sim_rules, rule, entry);
	switch (action) {
	case A_STATUS:
		if (rule->body != NULL)
			sim_reply_json(r, rule->status, json_incref(rule->body));
		else if (rule->status == 429 && r->up == SIM_COOLIFY)
			sim_too_many(r);
		else
			sim_error(r, rule->status, "simulated %d", rule->status);
		if (rule->status == 429 || rule->retry_after != NULL)
			sim_header(r, "Retry-After",
			           rule->retry_after != NULL ? rule->retry_after : "1");
		sim_finish(r, 0);
		break;
	case A_DELAY:
		*delay_ms = rule->delay_ms;
		break;
	case A_DROP:
		sim_pending_add(r, P_DROP, 0);
		break;
	case A_DROP_AFTER:
		*drop_after = 1;
		break;
	case A_TIMEOUT:
		sim_pending_add(r, P_HOLD, SIM_HOLD_MAX_MS);
		break;
	}
	if (rule->count == 0)
		sim_rule_free(rule);
	return action == A_STATUS || action == A_DROP || action == A_TIMEOUT;
}

/* ---- counters, log ---- */

void
sim_counters_reset(void)
{
	memset(sim_counts, 0, sizeof(sim_counts));
	sim_drift_count = 0;
	for (int up = 0; up < SIM_NUP; up++) {
		for (size_t i = 0; i < sim_nroutes[up]; i++)
			sim_routes[up][i].count = 0;
	}
}

void
sim_drift_counted(void)
{
	sim_drift_count++;
}

json_t *
sim_counters_json(void)
{
	json_t *all = json_object();

	for (int up = 0; up < SIM_NUP; up++) {
		json_t *routes = json_object();

		for (size_t i = 0; i < sim_nroutes[up]; i++) {
			if (sim_routes[up][i].count > 0)
				json_object_set_new(
				    routes, sim_routes[up][i].key,
				    json_integer((json_int_t)sim_routes[up][i].count));
		}
		for (int m = 0; m < M_N; m++) {
			if (sim_counts[up].unmatched[m] > 0) {
				char key[64];

				snprintf(key, sizeof(key), "%s (unmatched)", sim_method_names[m]);
				json_object_set_new(
				    routes, key,
				    json_integer((json_int_t)sim_counts[up].unmatched[m]));
			}
		}
		json_object_set_new(
		    all, sim_up_name(up),
		    json_pack("{s:I, s:I, s:o}", "read", (json_int_t)sim_counts[up].read,
		              "mutating", (json_int_t)sim_counts[up].mutating, "routes", routes));
	}
	json_object_set_new(all, "drift", json_integer((json_int_t)sim_drift_count));
	return all;
}

json_t *
sim_requests_json(size_t limit)
{
	json_t *a = json_array();
	uint64_t n = sim_log_next < SIM_LOG_RING ? sim_log_next : SIM_LOG_RING;

	if (limit < n)
		n = limit;
	for (uint64_t i = sim_log_next - n; i < sim_log_next; i++) {
		const struct sim_logent *e = &sim_log[i % SIM_LOG_RING];

		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:i, s:f}", "upstream",
		                                   sim_up_name(e->up), "method", e->method, "path",
		                                   e->path, "status", e->status, "ms", e->ms));
	}
	return a;
}

void
sim_reset_all(void)
{
	sim_rules_clear();
	sim_counters_reset();
	sim_log_next = 0;
	for (int up = 0; up < SIM_NUP; up++) {
		sim_faults_now[up] = sim_cfg.faults[up];
		sim_rl_window_ms[up] = 0;
		sim_rl_count[up] = 0;
	}
	sim_knobs_copy(&sim_knobs, &sim_cfg.knobs);
	simgitea_reset();
	simcoolify_reset();
	simhook_reset();
}

/* ---- dispatch ---- */

/* The standing faults a request drew (sim_upstream_request). */
struct sim_drawn {
	int drop;     /* the connection is closed before anything is read: nothing counts */
	int gateway;  /* a proxy's 502 or 503 page: the application never saw it */
	int hold;     /* held until the client gives up: the application is slow, and counted it */
	int internal; /* the application's own 500: counted by the throttle, with its headers */
};

static void
sim_draw_faults(struct sim_req *r, struct sim_drawn *d)
{
	const struct sim_faults *f = &sim_faults_now[r->up];

	memset(d, 0, sizeof(*d));
	if (f->drop_rate > 0 && sim_rand() < f->drop_rate) {
		d->drop = 1;
		return;
	}
	if (f->timeout_rate > 0 && sim_rand() < f->timeout_rate) {
		d->hold = 1;
		return;
	}
	if (f->error_rate > 0 && sim_rand() < f->error_rate) {
		if (sim_rng_next() % 3 == 0)
			d->internal = 1;
		else
			d->gateway = 1;
	}
}

static void
sim_upstream_request(struct sim_req *r)
{
	enum sim_method m = sim_method_of(evhttp_request_get_command(r->req));
	struct sim_rule *rule;
	struct sim_drawn drawn = {0};
	int delay_ms = 0, drop_after = 0;

	/* /api/v1/... only; anything else is an unknown route */
	if (r->nsegs >= 2 && strcmp(r->segs[0], "api") == 0 && strcmp(r->segs[1], "v1") == 0) {
		memmove(r->segs, r->segs + 2, sizeof(r->segs[0]) * (size_t)(r->nsegs - 2));
		r->nsegs -= 2;
		r->route = sim_route_find(r);
	} else {
		r->nsegs = -1; /* matches no rule either */
	}
	if (m == M_GET || m == M_HEAD)
		sim_counts[r->up].read++;
	else
		sim_counts[r->up].mutating++;
	if (r->route != NULL)
		r->route->count++;
	else
		sim_counts[r->up].unmatched[m]++;

	if (!TAILQ_EMPTY(&sim_rules) && r->nsegs >= 0 && (rule = sim_rule_match(r)) != NULL) {
		if (sim_rule_apply(r, rule, &delay_ms, &drop_after))
			return;
	} else {
		sim_draw_faults(r, &drawn);
	}
	/* Faults in front of the application (the network, a proxy) come first and count
	 * against no limit. */
	if (drawn.drop) {
		sim_pending_add(r, P_DROP, 0);
		return;
	}
	if (drawn.gateway) {
		sim_fault_error(r, 0);
		sim_finish(r, sim_latency_ms(r->up));
		return;
	}
	if (delay_ms == 0)
		delay_ms = sim_latency_ms(r->up);

	/* Then the application's middleware in Laravel's order: auth:sanctum, then the
	 * throttle (a request it refuses is not counted), then the controller. A slow or
	 * failing controller was counted already. */
	if (sim_auth(r) != 0) {
		/* answered 401 */
	} else if (sim_ratelimit(r)) {
		sim_too_many(r);
	} else if (drawn.hold) {
		sim_pending_add(r, P_HOLD, SIM_HOLD_MAX_MS);
		return;
	} else if (drawn.internal) {
		sim_fault_error(r, 500);
	} else if (r->route == NULL) {
		if (r->up == SIM_COOLIFY)
			sim_reply_json(r, 404,
			               json_pack("{s:s, s:s}", "message", "Not found.", "docs",
			                         "https://coolify.io/docs"));
		else
			sim_error(r, 404, "not found");
	} else {
		r->route->fn(r);
	}
	if (drop_after) {
		sim_pending_add(r, P_DROP, 0);
		return;
	}
	sim_finish(r, delay_ms);
}

static void
sim_http_cb(struct evhttp_request *req, void *arg)
{
	struct sim_req *r = xcalloc(1, sizeof(*r));
	const char *uri = evhttp_request_get_uri(req);
	const char *q = strchr(uri, '?');

	r->req = req;
	r->up = (enum sim_up)(intptr_t)arg;
	r->start_us = util_now_us();
	r->method = sim_method_names[sim_method_of(evhttp_request_get_command(req))];
	r->path = q != NULL ? xstrndup(uri, (size_t)(q - uri)) : xstrdup(uri);
	r->query = q != NULL ? xstrdup(q + 1) : NULL;
	if (sim_split(r->path, &r->segbuf, r->segs, &r->nsegs) != 0) {
		sim_error(r, 404, "not found");
		sim_send(r);
		return;
	}
	if (r->nsegs >= 1 && strcmp(r->segs[0], "_sim") == 0) {
		r->control = 1;
		simctl_handle(r);
		sim_send(r);
		return;
	}
	sim_upstream_request(r);
}

/* ---- start-up ---- */

static void
sim_usage(FILE *f)
{
	fputs(
	    "usage: vibn-sim [options]\n"
	    "\n"
	    "An in-memory simulator of the Gitea and Coolify APIs on two loopback ports, for\n"
	    "tests, benchmarks and the demo. When ready it prints one line:\n"
	    "  vibn-sim ready gitea=http://127.0.0.1:PORT coolify=http://127.0.0.1:PORT\n"
	    "SIGTERM or SIGINT stops it (exit 0).\n"
	    "\n"
	    "Options:\n"
	    "  --gitea-port N          Gitea API port (default 0 = ephemeral)\n"
	    "  --coolify-port N        Coolify API port (default 0 = ephemeral)\n"
	    "  --gitea-token T         token Gitea accepts as 'Authorization: token T' or\n"
	    "                          'Bearer T' (default gitea-token)\n"
	    "  --coolify-token T       token Coolify accepts as 'Authorization: Bearer T'\n"
	    "                          (default coolify-token)\n"
	    "  --gitea-admin USER      the site-admin user that exists at start (default vibn-admin)\n"
	    "  --webhook-timeout-ms N  webhook delivery timeout (default 5000, like Gitea)\n"
	    "  --app-delete-ms N       how long a Coolify application stays visible after\n"
	    "                          DELETE before it is gone (default 300; the real deletion\n"
	    "                          is an asynchronous job)\n"
	    "  --latency-ms N          fixed delay before every upstream answer (default 0)\n"
	    "  --jitter-ms N           plus a uniform random delay in [0, N] ms (default 0)\n"
	    "  --error-rate F          fraction of requests answered 500, 502 or 503 (default 0)\n"
	    "  --timeout-rate F        fraction of requests held unanswered until the client\n"
	    "                          gives up (at most 300 s) (default 0)\n"
	    "  --drop-rate F           fraction of connections closed without an answer (default 0)\n"
	    "  --coolify-rpm N         Coolify requests per minute before 429 + Retry-After\n"
	    "                          (default 0 = unlimited; the real default is 200)\n"
	    "  --gitea-max-items N     Gitea's [api] MAX_RESPONSE_ITEMS: every list page holds at\n"
	    "                          most N items whatever limit asks (default 50)\n"
	    "  --gitea-root-url URL    Gitea's ROOT_URL: repos' clone_url and html_url start with\n"
	    "                          it, ssh_url uses its host (default\n"
	    "                          https://git.vibn-sim.test/)\n"
	    "  --gitea-ssh-port N      Gitea's SSH_PORT: 22 gives ssh_url git@HOST:o/r.git, any\n"
	    "                          other ssh://git@HOST:N/o/r.git (default 22)\n"
	    "  --coolify-destinations N  Docker destinations of the Coolify server; with more\n"
	    "                          than one an application create must name one (default 1)\n"
	    "  --seed N                seed of the fault dice and generated uuids (default: random)\n"
	    "  --routes                print the served routes ('UPSTREAM METHOD /api/v1/...')\n"
	    "                          and exit\n"
	    "  -v                      log every request to stderr\n"
	    "  --help                  this text\n"
	    "The rate and latency flags apply to both upstreams; POST /_sim/faults changes them\n"
	    "per upstream at run time. Faults and rules never apply to /_sim/ routes.\n"
	    "\n"
	    "Control API (both ports, no auth, JSON):\n"
	    "  POST /_sim/reset              forget state, rules, counters, log; faults back to\n"
	    "                                the flags (keeps the admin user, server, tokens)\n"
	    "  POST /_sim/users              {username, email[, full_name]}: seed a Gitea user\n"
	    "  GET  /_sim/state              all Gitea and Coolify state as JSON\n"
	    "  GET  /_sim/counters           {gitea|coolify: {read, mutating, routes{\"GET /api/v1/..\"}},\n"
	    "                                drift}\n"
	    "  POST /_sim/counters/reset\n"
	    "  GET  /_sim/requests?limit=N   the last N requests {upstream,method,path,status,ms};\n"
	    "                                status 0 = no answer was sent\n"
	    "  GET  /_sim/faults             the standing knobs per upstream\n"
	    "  POST /_sim/faults             {upstream: gitea|coolify|both, latency_ms, jitter_ms,\n"
	    "                                error_rate, timeout_rate, drop_rate,\n"
	    "                                rate_limit_per_minute, app_delete_ms} (any subset)\n"
	    "  GET  /_sim/config             the server settings in force\n"
	    "  POST /_sim/config             {gitea_max_items, gitea_root_url, gitea_ssh_port,\n"
	    "                                coolify_destinations, app_delete_ms,\n"
	    "                                coolify_create_domains} (any subset): as the flags,\n"
	    "                                until the next reset\n"
	    "  POST /_sim/rules              {upstream, method (or *), path (exact or with {x}\n"
	    "                                segments), count, action, status, delay_ms,\n"
	    "                                retry_after, body, for_ms}: the next count matching\n"
	    "                                requests (within for_ms, when given) get the action:\n"
	    "                                  status      answer status (429 adds Retry-After)\n"
	    "                                  delay       handle normally, answer after delay_ms\n"
	    "                                  drop        close the connection, nothing handled\n"
	    "                                  drop_after  handle (state changes), then close\n"
	    "                                              without answering\n"
	    "                                  timeout     hold without answering\n"
	    "  GET  /_sim/rules, DELETE /_sim/rules\n"
	    "  POST /_sim/seed               {start, count, org: {name, full_name, description,\n"
	    "                                visibility, hook: {url, secret, events}}, project: {name,\n"
	    "                                description}}: count orgs (Owners team, hook) and projects\n"
	    "                                (production environment) at once, \"{i}\" in a string\n"
	    "                                replaced by the number; answers {hooks, projects}\n"
	    "  POST /_sim/drift              {action, ...}: a person's change in the web UI (no\n"
	    "                                webhook unless Gitea sends one; not in the upstream\n"
	    "                                counters): delete_repo {org, repo}, create_repo {org,\n"
	    "                                repo}, remove_member {org, user}, add_member {org, user,\n"
	    "                                team}, delete_org {org}, delete_hook {org},\n"
	    "                                deactivate_hook {org}, edit_org {org, full_name,\n"
	    "                                description, visibility}, edit_repo {org, repo,\n"
	    "                                private, description, default_branch (an existing\n"
	    "                                branch)}, push {org, repo, branch} (a new branch; the\n"
	    "                                first one makes the repo non-empty and its default\n"
	    "                                branch; no push event), rename_org {org, new_name}\n"
	    "                                (then 307), rename_repo {org, repo, new_name} (then\n"
	    "                                301), delete_project {uuid}, delete_app {uuid},\n"
	    "                                edit_project {uuid, name, description}, edit_app\n"
	    "                                {uuid, name, description, git_repository, git_branch,\n"
	    "                                build_pack, ports_exposes} (any subset; Coolify's\n"
	    "                                validation, 422 with errors),\n"
	    "                                rename_environment {project, environment,\n"
	    "                                new_name}, delete_environment {project,\n"
	    "                                environment}\n"
	    "  GET  /_sim/deliveries         webhook deliveries {id, hook_url, event, action,\n"
	    "                                status, ms, error}\n"
	    "\n"
	    "Behaviour follows ../shared/reference/gitea.md and coolify.md: Gitea clamps limit to\n"
	    "--gitea-max-items (an absent one is 30), with X-Total-Count and Link; Coolify lists are\n"
	    "unpaginated, its application DELETE is asynchronous (GET still answers 200 until\n"
	    "the job is done) and git URLs follow ValidGitRepositoryUrl. Coolify's server is\n"
	    "" SIM_COOLIFY_SERVER_UUID ", its destinations " SIM_COOLIFY_DEST_PREFIX "000001...,\n"
	    "and the private key " SIM_COOLIFY_KEY_UUID " exists from the start.\n",
	    f);
}

static long
sim_opt_long(const char *name, const char *v, long min, long max)
{
	long n;

	if (util_parse_long(v, min, max, &n) != 0)
		fatalx("--%s: expected an integer in [%ld, %ld], got '%s'", name, min, max, v);
	return n;
}

static double
sim_opt_rate(const char *name, const char *v)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno != 0 || *end != '\0' || end == v || d < 0 || d > 1)
		fatalx("--%s: expected a fraction in [0, 1], got '%s'", name, v);
	return d;
}

enum {
	O_GPORT = 256,
	O_CPORT,
	O_GTOKEN,
	O_CTOKEN,
	O_GADMIN,
	O_WHTIMEOUT,
	O_APPDEL,
	O_LATENCY,
	O_JITTER,
	O_ERROR,
	O_TIMEOUT,
	O_DROP,
	O_RPM,
	O_MAXITEMS,
	O_ROOTURL,
	O_SSHPORT,
	O_DESTS,
	O_SEED,
	O_ROUTES,
	O_HELP,
};

static const struct option sim_options[] = {
    {"gitea-port", required_argument, NULL, O_GPORT},
    {"coolify-port", required_argument, NULL, O_CPORT},
    {"gitea-token", required_argument, NULL, O_GTOKEN},
    {"coolify-token", required_argument, NULL, O_CTOKEN},
    {"gitea-admin", required_argument, NULL, O_GADMIN},
    {"webhook-timeout-ms", required_argument, NULL, O_WHTIMEOUT},
    {"app-delete-ms", required_argument, NULL, O_APPDEL},
    {"latency-ms", required_argument, NULL, O_LATENCY},
    {"jitter-ms", required_argument, NULL, O_JITTER},
    {"error-rate", required_argument, NULL, O_ERROR},
    {"timeout-rate", required_argument, NULL, O_TIMEOUT},
    {"drop-rate", required_argument, NULL, O_DROP},
    {"coolify-rpm", required_argument, NULL, O_RPM},
    {"gitea-max-items", required_argument, NULL, O_MAXITEMS},
    {"gitea-root-url", required_argument, NULL, O_ROOTURL},
    {"gitea-ssh-port", required_argument, NULL, O_SSHPORT},
    {"coolify-destinations", required_argument, NULL, O_DESTS},
    {"seed", required_argument, NULL, O_SEED},
    {"routes", no_argument, NULL, O_ROUTES},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

/* Parses argv into sim_cfg; returns 1 when --routes was asked for. */
static int
sim_parse_args(int argc, char **argv)
{
	int c, routes = 0, seeded = 0;
	struct sim_faults both = {0};

	sim_cfg.token[SIM_GITEA] = xstrdup("gitea-token");
	sim_cfg.token[SIM_COOLIFY] = xstrdup("coolify-token");
	sim_cfg.gitea_admin = xstrdup("vibn-admin");
	sim_cfg.webhook_timeout_ms = 5000;
	sim_cfg.knobs.app_delete_ms = 300;
	sim_cfg.knobs.coolify_create_domains = 1;
	sim_cfg.knobs.gitea_max_items = 50;
	/* A public-looking ROOT_URL (RFC 2606 .test): Coolify refuses clone URLs of IP or
	 * internal hosts, so a loopback one is a choice a test makes (--gitea-root-url). */
	sim_cfg.knobs.gitea_root_url = xstrdup("https://git.vibn-sim.test/");
	sim_cfg.knobs.gitea_ssh_port = 22;
	sim_cfg.knobs.coolify_destinations = 1;
	while ((c = getopt_long(argc, argv, "vh", sim_options, NULL)) != -1) {
		switch (c) {
		case O_GPORT:
			sim_cfg.port[SIM_GITEA] = (int)sim_opt_long("gitea-port", optarg, 0, 65535);
			break;
		case O_CPORT:
			sim_cfg.port[SIM_COOLIFY] =
			    (int)sim_opt_long("coolify-port", optarg, 0, 65535);
			break;
		case O_GTOKEN:
			free(sim_cfg.token[SIM_GITEA]);
			sim_cfg.token[SIM_GITEA] = xstrdup(optarg);
			break;
		case O_CTOKEN:
			free(sim_cfg.token[SIM_COOLIFY]);
			sim_cfg.token[SIM_COOLIFY] = xstrdup(optarg);
			break;
		case O_GADMIN:
			free(sim_cfg.gitea_admin);
			sim_cfg.gitea_admin = xstrdup(optarg);
			break;
		case O_WHTIMEOUT:
			sim_cfg.webhook_timeout_ms =
			    (int)sim_opt_long("webhook-timeout-ms", optarg, 1, 3600000);
			break;
		case O_APPDEL:
			sim_cfg.knobs.app_delete_ms =
			    (int)sim_opt_long("app-delete-ms", optarg, 0, 3600000);
			break;
		case O_LATENCY:
			both.latency_ms = (int)sim_opt_long("latency-ms", optarg, 0, 3600000);
			break;
		case O_JITTER:
			both.jitter_ms = (int)sim_opt_long("jitter-ms", optarg, 0, 3600000);
			break;
		case O_ERROR:
			both.error_rate = sim_opt_rate("error-rate", optarg);
			break;
		case O_TIMEOUT:
			both.timeout_rate = sim_opt_rate("timeout-rate", optarg);
			break;
		case O_DROP:
			both.drop_rate = sim_opt_rate("drop-rate", optarg);
			break;
		case O_RPM:
			sim_cfg.faults[SIM_COOLIFY].rpm =
			    (int)sim_opt_long("coolify-rpm", optarg, 0, 100000000);
			break;
		case O_MAXITEMS:
			sim_cfg.knobs.gitea_max_items =
			    (int)sim_opt_long("gitea-max-items", optarg, 1, 100000);
			break;
		case O_ROOTURL: {
			char *root = sim_root_url(optarg);

			if (root == NULL)
				fatalx("--gitea-root-url: expected an http(s) URL, got '%s'",
				       optarg);
			free(sim_cfg.knobs.gitea_root_url);
			sim_cfg.knobs.gitea_root_url = root;
			break;
		}
		case O_SSHPORT:
			sim_cfg.knobs.gitea_ssh_port =
			    (int)sim_opt_long("gitea-ssh-port", optarg, 1, 65535);
			break;
		case O_DESTS:
			sim_cfg.knobs.coolify_destinations =
			    (int)sim_opt_long("coolify-destinations", optarg, 0, 99);
			break;
		case O_SEED:
			sim_cfg.seed = (uint64_t)sim_opt_long("seed", optarg, 0, LONG_MAX);
			seeded = 1;
			break;
		case O_ROUTES:
			routes = 1;
			break;
		case 'v':
			sim_cfg.verbose++;
			break;
		case 'h':
		case O_HELP:
			sim_usage(stdout);
			exit(0);
		default:
			sim_usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		sim_usage(stderr);
		exit(2);
	}
	for (int up = 0; up < SIM_NUP; up++) {
		int rpm = sim_cfg.faults[up].rpm;

		sim_cfg.faults[up] = both;
		sim_cfg.faults[up].rpm = rpm;
	}
	if (!seeded)
		util_random_bytes(&sim_cfg.seed, sizeof(sim_cfg.seed));
	return routes;
}

static void
sim_listen(enum sim_up up)
{
	struct evhttp *http = evhttp_new(sim_base);
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (http == NULL)
		fatalx("evhttp_new failed");
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                     EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
	                                     EVHTTP_REQ_OPTIONS);
	evhttp_set_max_body_size(http, SIM_MAX_BODY);
	evhttp_set_max_headers_size(http, 64 * 1024);
	evhttp_set_timeout(http, SIM_IDLE_TIMEOUT_S);
	evhttp_set_gencb(http, sim_http_cb, (void *)(intptr_t)up);
	bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", (ev_uint16_t)sim_cfg.port[up]);
	if (bs == NULL)
		fatal("%s: cannot listen on 127.0.0.1:%d", sim_up_name(up), sim_cfg.port[up]);
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &len) != 0)
		fatal("getsockname");
	sim_cfg.port[up] = ntohs(sin.sin_port);
	snprintf(sim_url[up], sizeof(sim_url[up]), "http://127.0.0.1:%d", sim_cfg.port[up]);
	sim_http[up] = http;
}

static void
sim_on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopexit(sim_base, NULL);
}

static void
sim_print_routes(void)
{
	for (int up = 0; up < SIM_NUP; up++) {
		for (size_t i = 0; i < sim_nroutes[up]; i++)
			printf("%s %s /api/v1%s\n", sim_up_name(up), sim_routes[up][i].method,
			       sim_routes[up][i].tmpl);
	}
}

int
main(int argc, char **argv)
{
	struct event *sigterm, *sigint;
	int routes;

	log_init("vibn-sim", LOG_LVL_INFO);
	routes = sim_parse_args(argc, argv);
	if (sim_cfg.verbose)
		log_init("vibn-sim", LOG_LVL_DEBUG);
	sim_rng = sim_cfg.seed;
	sim_knobs_copy(&sim_knobs, &sim_cfg.knobs);
	sim_routes_prepare(SIM_GITEA);
	sim_routes_prepare(SIM_COOLIFY);
	if (routes) {
		sim_print_routes();
		sim_routes_free();
		goto out_cfg;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((sim_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	sim_listen(SIM_GITEA);
	sim_listen(SIM_COOLIFY);
	for (int up = 0; up < SIM_NUP; up++)
		sim_faults_now[up] = sim_cfg.faults[up];
	simgitea_init();
	simcoolify_init();
	sigterm = evsignal_new(sim_base, SIGTERM, sim_on_signal, NULL);
	sigint = evsignal_new(sim_base, SIGINT, sim_on_signal, NULL);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);

	printf("vibn-sim ready gitea=%s coolify=%s\n", sim_url[SIM_GITEA], sim_url[SIM_COOLIFY]);
	fflush(stdout);
	event_base_dispatch(sim_base);

	/* Orderly teardown, so valgrind and ASan see nothing left behind. */
	sim_pending_free_all();
	simhook_free();
	for (int up = 0; up < SIM_NUP; up++)
		evhttp_free(sim_http[up]);
	sim_rules_clear();
	simgitea_free();
	simcoolify_free();
	event_free(sigterm);
	event_free(sigint);
	sim_routes_free();
	event_base_free(sim_base);
	libevent_global_shutdown();
out_cfg:
	free(sim_cfg.token[SIM_GITEA]);
	free(sim_cfg.token[SIM_COOLIFY]);
	free(sim_cfg.gitea_admin);
	free(sim_cfg.knobs.gitea_root_url);
	free(sim_knobs.gitea_root_url);
	return 0;
}
