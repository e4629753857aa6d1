#include "httpd_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "controller/loop.h"
#include "httpd/httpd.h"
#include "httpd/httpd_frame.h"

/* Descriptors kept for everything but client connections: database connections (workers,
 * API threads, keeper, LISTEN), upstream HTTP, logs, the spare. */
#define HTTPD_CONN_FD_RESERVE  64
#define HTTPD_CONN_MIN_CAP     8
#define HTTPD_CONN_PAUSE_MS    100   /* accepting pauses this long after EMFILE */
#define HTTPD_CONN_LOG_MS      10000 /* accept failures are logged at most this often */
#define HTTPD_CONN_LINE_MAX    256
#define HTTPD_CONN_TRAILER_MAX 8192

/* What the stand-in request for a refusal looks like to libevent: a request it parses
 * without a body, whose Connection: close makes it close after our answer. */
static const char httpd_conn_standin[] =
    "GET / HTTP/1.1\r\nHost: vibnd\r\nConnection: close\r\n\r\n";

enum httpd_conn_state {
	HTTPD_CONN_HEAD,       /* reading a head; len: bytes searched for its end */
	HTTPD_CONN_BODY,       /* Content-Length body; end: the request's length */
	HTTPD_CONN_CHUNK_LINE, /* chunked: a chunk size line at len */
	HTTPD_CONN_CHUNK_DATA, /* chunked: chunk bytes at len, then CRLF */
	HTTPD_CONN_TRAILER,    /* chunked: trailer lines at len, up to an empty one */
	HTTPD_CONN_CLOSING,    /* refused: what arrives is dropped */
};

struct httpd_conn {
	TAILQ_ENTRY(httpd_conn) entry;
	unsigned long id;
	struct bufferevent *bev; /* the filter libevent reads */
	enum httpd_conn_state state;
	size_t len, end, head_len, trailer;
	uint64_t body, chunk;
	size_t max_body;
	int expect_continue;
	int timing;   /* the deadline of the current request runs */
	int inflight; /* requests handed over and not yet answered */
	unsigned long released, dispatched, refusal_at;
	int refusal_status;
	const char *refusal_code;
	char refusal_msg[160];
	char *allow;
	struct event *timer;
};

TAILQ_HEAD(httpd_conn_list, httpd_conn);

static struct {
	struct httpd_conn_config cfg;
	struct evhttp *http;
	struct evconnlistener *listener;
	struct httpd_conn_list conns; /* oldest first */
	unsigned long next_id;
	int paused; /* accepting paused at the cap */
	int spare;  /* a descriptor to give up when accept() has none */
	struct event *resume;
	int64_t last_log;
	unsigned long unlogged;
	struct httpd_conn_stats st;
} hc = {.spare = -1};

static struct httpd_conn *
httpd_conn_by_bev(struct bufferevent *bev)
{
	struct httpd_conn *c;

	TAILQ_FOREACH(c, &hc.conns, entry)
	if (c->bev == bev)
		return c;
	return NULL;
}

static void
httpd_conn_stop_timer(struct httpd_conn *c)
{
	if (c->timing)
		evtimer_del(c->timer);
	c->timing = 0;
}

/* Refuses the request being read: libevent gets the stand-in, which the dispatcher
 * answers with status; everything after it on this connection is dropped. dst is the
 * buffer libevent reads (the filter's input). */
static void
httpd_conn_refuse(struct httpd_conn *c, struct evbuffer *dst, int status, const char *code,
                  const char *msg, const char *allow)
{
	if (c->state == HTTPD_CONN_CLOSING)
		return;
	httpd_conn_stop_timer(c);
	c->state = HTTPD_CONN_CLOSING;
	c->refusal_status = status;
	c->refusal_code = code;
	snprintf(c->refusal_msg, sizeof c->refusal_msg, "%s", msg);
	free(c->allow);
	c->allow = allow != NULL ? xstrdup(allow) : NULL;
	c->refusal_at = ++c->released;
	c->inflight++;
	hc.st.refused++;
	evbuffer_add(dst, httpd_conn_standin, sizeof httpd_conn_standin - 1);
}

/* Refusal from outside the filter (deadline, eviction): the stand-in goes straight into
 * the buffer libevent reads, and libevent is told. */
static void
httpd_conn_refuse_now(struct httpd_conn *c, int status, const char *code, const char *msg)
{
	httpd_conn_refuse(c, bufferevent_get_input(c->bev), status, code, msg, NULL);
	bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

static void
httpd_conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_conn *c = arg;

	c->timing = 0;
	hc.st.timeouts++;
	httpd_conn_refuse_now(c, 408, "request_timeout",
	                      "the request did not arrive in time (headers and body)");
}

/* Sends 100 Continue for a head that asked for it, unless an earlier request's answer
 * may still be on its way (a pipelining client does not wait for it anyway). */
static void
httpd_conn_continue(struct httpd_conn *c)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

	if (c->inflight == 0)
		bufferevent_write(bufferevent_get_underlying(c->bev), cont, sizeof cont - 1);
}

/* The head is complete at src[0..head_len): checks it and sets up the body. Returns 1
 * (whole request framed), 0 (a body to wait for) or -1 (refused). */
static int
httpd_conn_head(struct httpd_conn *c, struct evbuffer *src, struct evbuffer *dst, const char *head,
                size_t head_len)
{
	struct httpd_frame *f = xcalloc(1, sizeof *f);
	enum httpd_route_match m;
	const char *cause;
	struct buf allow;
	char *path;
	int status, rc = -1;

	buf_init(&allow);
	status = httpd_frame_head(head, head_len, f, &cause);
	if (status != 0) {
		httpd_conn_refuse(c, dst, status,
		                  status == 431   ? "headers_too_large"
		                  : status == 417 ? "expectation_failed"
		                  : status == 501 ? "not_implemented"
		                                  : "bad_request",
		                  cause, NULL);
		goto out;
	}
	path = xstrndup(f->target, strcspn(f->target, "?"));
	c->max_body = HTTPD_DEFAULT_BODY;
	m = hc.cfg.route(f->method, path, &allow, &c->max_body);
	free(path);
	if (!httpd_frame_known_method(f->method)) {
		/* libevent would answer 501 in HTML: ours is the route table's answer. */
		if (m == HTTPD_ROUTE_NO_METHOD)
			httpd_conn_refuse(c, dst, 405, "method_not_allowed", "method not allowed",
			                  buf_str(&allow));
		else
			httpd_conn_refuse(c, dst, 404, "not_found", "no such route", NULL);
		goto out;
	}
	if (m != HTTPD_ROUTE_OK)
		c->max_body = HTTPD_DEFAULT_BODY; /* 404 or 405 follow; a body is only read */
	if (f->content_length > 0 && (uint64_t)f->content_length > c->max_body) {
		httpd_conn_refuse(c, dst, 413, "too_large", "the body is over this route's limit",
		                  NULL);
		goto out;
	}
	c->head_len = head_len;
	c->len = head_len;
	c->body = 0;
	c->trailer = 0;
	if (f->chunked) {
		c->state = HTTPD_CONN_CHUNK_LINE;
		rc = 0;
	} else if (f->content_length > 0) {
		c->state = HTTPD_CONN_BODY;
		c->end = head_len + (size_t)f->content_length;
		rc = evbuffer_get_length(src) >= c->end;
		if (rc)
			c->len = c->end;
	} else {
		rc = 1;
	}
	if (rc == 0 && f->expect_continue)
		httpd_conn_continue(c);
out:
	buf_free(&allow);
	free(f);
	return rc;
}

/* The end of the line starting at offset off of src: 0 with *lf (the LF's offset), or -1
 * when no LF is there yet. */
static int
httpd_conn_find_lf(struct evbuffer *src, size_t off, size_t *lf)
{
	struct evbuffer_ptr p;

	if (evbuffer_ptr_set(src, &p, off, EVBUFFER_PTR_SET) != 0)
		return -1;
	p = evbuffer_search(src, "\n", 1, &p);
	if (p.pos < 0)
		return -1;
	*lf = (size_t)p.pos;
	return 0;
}

/* Copies n bytes at offset off of src into out. */
static void
httpd_conn_peek(struct evbuffer *src, size_t off, char *out, size_t n)
{
	struct evbuffer_ptr p;

	evbuffer_ptr_set(src, &p, off, EVBUFFER_PTR_SET);
	evbuffer_copyout_from(src, &p, out, n);
}

/* Frames the request at the front of src. Returns 1 when c->len bytes make a whole
 * request, 0 when more must arrive, -1 when it was refused. */
static int
httpd_conn_scan(struct httpd_conn *c, struct evbuffer *src, struct evbuffer *dst)
{
	size_t have = evbuffer_get_length(src), lf;
	char line[HTTPD_CONN_LINE_MAX + 2];
	uint64_t size;

	for (;;) {
		switch (c->state) {
		case HTTPD_CONN_HEAD: {
			size_t n = have < HTTPD_MAX_HEADERS + 4 ? have : HTTPD_MAX_HEADERS + 4;
			const char *p = (const char *)evbuffer_pullup(src, (ev_ssize_t)n);
			size_t from = c->len > 2 ? c->len - 2 : 0, end = 0;

			for (size_t i = from; i < n && end == 0; i++)
				if (p[i] == '\n' && i + 1 < n &&
				    (p[i + 1] == '\n' ||
				     (p[i + 1] == '\r' && i + 2 < n && p[i + 2] == '\n')))
					end = i + (p[i + 1] == '\n' ? 2 : 3);
			if (end == 0) {
				c->len = n;
				if (n > HTTPD_MAX_HEADERS) {
					httpd_conn_refuse(c, dst, 431, "headers_too_large",
					                  "the request head is too large", NULL);
					return -1;
				}
				return 0;
			}
			if (end > HTTPD_MAX_HEADERS) {
				httpd_conn_refuse(c, dst, 431, "headers_too_large",
				                  "the request head is too large", NULL);
				return -1;
			}
			switch (httpd_conn_head(c, src, dst, p, end)) {
			case 0:
				break; /* on to the body, which may be here already */
			case 1:
				return 1;
			default:
				return -1;
			}
			break;
		}
		case HTTPD_CONN_BODY:
			if (have < c->end)
				return 0;
			c->len = c->end;
			return 1;
		case HTTPD_CONN_CHUNK_LINE:
			if (httpd_conn_find_lf(src, c->len, &lf) != 0) {
				if (have - c->len > HTTPD_CONN_LINE_MAX)
					goto bad_chunk;
				return 0;
			}
			if (lf - c->len > HTTPD_CONN_LINE_MAX)
				goto bad_chunk;
			httpd_conn_peek(src, c->len, line, lf - c->len);
			size = lf - c->len;
			if (size > 0 && line[size - 1] == '\r')
				size--;
			if (httpd_frame_chunk_size(line, (size_t)size, &size) != 0)
				goto bad_chunk;
			c->len = lf + 1;
			if (size == 0) {
				c->state = HTTPD_CONN_TRAILER;
				break;
			}
			if (size > c->max_body || c->body + size > c->max_body) {
				httpd_conn_refuse(c, dst, 413, "too_large",
				                  "the body is over this route's limit", NULL);
				return -1;
			}
			c->body += size;
			c->chunk = size;
			c->state = HTTPD_CONN_CHUNK_DATA;
			break;
		case HTTPD_CONN_CHUNK_DATA:
			if (have < c->len + c->chunk + 1)
				return 0;
			httpd_conn_peek(src, c->len + (size_t)c->chunk, line, 1);
			if (line[0] == '\r') {
				if (have < c->len + c->chunk + 2)
					return 0;
				httpd_conn_peek(src, c->len + (size_t)c->chunk + 1, line, 1);
				if (line[0] != '\n')
					goto bad_chunk;
				c->len += (size_t)c->chunk + 2;
			} else if (line[0] == '\n') {
				c->len += (size_t)c->chunk + 1;
			} else {
				goto bad_chunk;
			}
			c->state = HTTPD_CONN_CHUNK_LINE;
			break;
		case HTTPD_CONN_TRAILER:
			if (httpd_conn_find_lf(src, c->len, &lf) != 0) {
				if (have - c->len > HTTPD_CONN_TRAILER_MAX)
					goto bad_chunk;
				return 0;
			}
			c->trailer += lf + 1 - c->len;
			if (c->trailer > HTTPD_CONN_TRAILER_MAX)
				goto bad_chunk;
			size = lf - c->len;
			if (size == 1) {
				httpd_conn_peek(src, c->len, line, 1);
				size = line[0] == '\r' ? 0 : 1;
			}
			c->len = lf + 1;
			if (size == 0)
				return 1;
			break;
		case HTTPD_CONN_CLOSING:
			return -1;
		}
	}
bad_chunk:
	httpd_conn_refuse(c, dst, 400, "bad_request", "malformed chunked body", NULL);
	return -1;
}

/* The filter between the socket (src) and libevent (dst): whole requests only. */
static enum bufferevent_filter_result
httpd_conn_input(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
                 enum bufferevent_flush_mode mode, void *arg)
{
	struct httpd_conn *c = arg;
	int moved = 0;

	for (;;) {
		if (c->state == HTTPD_CONN_CLOSING) {
			evbuffer_drain(src, evbuffer_get_length(src));
			break;
		}
		if (evbuffer_get_length(src) == 0)
			break;
		if (!c->timing) {
			/* The first byte of a request starts its deadline. */
			struct timeval tv = {(time_t)(hc.cfg.request_timeout_ms / 1000),
			                     (suseconds_t)(hc.cfg.request_timeout_ms % 1000) *
			                         1000};

			evtimer_add(c->timer, &tv);
			c->timing = 1;
		}
		switch (httpd_conn_scan(c, src, dst)) {
		case 0:
			return moved ? BEV_OK : BEV_NEED_MORE;
		case -1:
			moved = 1;
			continue;
		default:
			break;
		}
		evbuffer_remove_buffer(src, dst, c->len);
		httpd_conn_stop_timer(c);
		c->released++;
		c->inflight++;
		c->state = HTTPD_CONN_HEAD;
		c->len = 0;
		moved = 1;
	}
	return moved ? BEV_OK : BEV_NEED_MORE;
}

/* Moves all but the last byte of src to dst. */
static void
httpd_conn_move_most(struct evbuffer *src, struct evbuffer *dst)
{
	size_t n = evbuffer_get_length(src);

	if (n > 1)
		evbuffer_remove_buffer(src, dst, n - 1);
}

/* The filter between libevent (src: what it writes) and the socket's buffer (dst).
 * libevent takes a response as sent once src is empty, and after "Connection: close" it
 * then shuts the socket down at once: bytes still in dst would be lost. So the last byte
 * stays in src until dst has gone out, and then src goes straight to the socket. */
static enum bufferevent_filter_result
httpd_conn_output(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
                  enum bufferevent_flush_mode mode, void *arg)
{
	struct httpd_conn *c = arg;
	evutil_socket_t fd;

	if (evbuffer_get_length(src) == 0)
		return BEV_NEED_MORE;
	if (evbuffer_get_length(dst) > 0) {
		httpd_conn_move_most(src, dst);
		return BEV_OK;
	}
	fd = bufferevent_getfd(bufferevent_get_underlying(c->bev));
	while (fd >= 0 && evbuffer_get_length(src) > 0 && evbuffer_write(src, fd) > 0)
		;
	if (evbuffer_get_length(src) == 1)
		evbuffer_add_buffer(dst, src); /* the socket is full: nothing better to do */
	else
		httpd_conn_move_most(src, dst); /* the socket's writer calls us again */
	return BEV_OK;
}

static void
httpd_conn_resume_accepting(void)
{
	if (hc.listener != NULL && hc.paused) {
		evconnlistener_enable(hc.listener);
		hc.paused = 0;
	}
}

/* The filter is being freed: the connection is gone. */
static void
httpd_conn_free(void *arg)
{
	struct httpd_conn *c = arg;

	TAILQ_REMOVE(&hc.conns, c, entry);
	hc.st.open--;
	if (c->timer != NULL)
		event_free(c->timer);
	free(c->allow);
	free(c);
	if (hc.st.open < hc.st.cap && hc.resume == NULL)
		httpd_conn_resume_accepting();
}

/* Makes room at the cap: the oldest connection with nothing in progress is answered 503
 * and closed. Returns 0, or -1 when every connection has a request in progress. */
static int
httpd_conn_evict(void)
{
	for (struct httpd_conn *c = TAILQ_FIRST(&hc.conns); c != NULL; c = TAILQ_NEXT(c, entry)) {
		if (c->inflight == 0 && c->state != HTTPD_CONN_CLOSING) {
			hc.st.evicted++;
			httpd_conn_refuse_now(c, 503, "too_many_connections",
			                      "too many connections: this idle one was closed");
			return 0;
		}
	}
	return -1;
}

/* evhttp_set_bevcb: a new connection; its bufferevent is the filter over the socket's. */
static struct bufferevent *
httpd_conn_new(struct event_base *base, void *unused)
{
	struct httpd_conn *c = xcalloc(1, sizeof *c);
	struct bufferevent *sock = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);

	if (sock == NULL)
		fatalx("httpd: cannot create a connection's bufferevent");
	c->bev = bufferevent_filter_new(sock, httpd_conn_input, httpd_conn_output,
	                                BEV_OPT_CLOSE_ON_FREE, httpd_conn_free, c);
	c->timer = evtimer_new(base, httpd_conn_deadline, c);
	if (c->bev == NULL || c->timer == NULL)
		fatalx("httpd: cannot create a connection's filter");
	c->id = ++hc.next_id;
	TAILQ_INSERT_TAIL(&hc.conns, c, entry);
	if (++hc.st.open >= hc.st.cap && httpd_conn_evict() != 0 && !hc.paused) {
		evconnlistener_disable(hc.listener);
		hc.paused = 1;
	}
	return c->bev;
}

static void
httpd_conn_resume(evutil_socket_t fd, short what, void *unused)
{
	event_free(hc.resume);
	hc.resume = NULL;
	if (hc.st.open < hc.st.cap)
		httpd_conn_resume_accepting();
}

/* accept() failed. Out of descriptors, libevent would call again at once, for ever:
 * pause instead, shed one waiting client with the spare descriptor so it hears a reset
 * rather than waits, and say so once per interval. */
static void
httpd_conn_accept_error(struct evconnlistener *listener, void *unused)
{
	int err = EVUTIL_SOCKET_ERROR(), fd;
	int64_t now = util_now_ms();
	struct timeval tv = {0, HTTPD_CONN_PAUSE_MS * 1000};

	hc.st.accept_errors++;
	if (now - hc.last_log >= HTTPD_CONN_LOG_MS) {
		log_warn("httpd: accept: %s; pausing new connections for %dms (%lu more failures "
		         "not logged)",
		         strerror(err), HTTPD_CONN_PAUSE_MS, hc.unlogged);
		hc.last_log = now;
		hc.unlogged = 0;
	} else {
		hc.unlogged++;
	}
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return;
	if (hc.spare >= 0) {
		close(hc.spare);
		hc.spare = -1;
		fd = accept(evconnlistener_get_fd(listener), NULL, NULL);
		if (fd >= 0)
			close(fd);
		hc.spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (hc.resume != NULL)
		return;
	evconnlistener_disable(listener);
	hc.paused = 1;
	hc.resume = evtimer_new(loop_base(), httpd_conn_resume, NULL);
	if (hc.resume == NULL || evtimer_add(hc.resume, &tv) != 0)
		fatalx("httpd: cannot arm the accept pause");
}

void
httpd_conn_start(struct evhttp *http, struct evconnlistener *listener,
                 const struct httpd_conn_config *cfg)
{
	struct rlimit rl;
	int cap = cfg->max_connections;

	hc.cfg = *cfg;
	hc.http = http;
	hc.listener = listener;
	TAILQ_INIT(&hc.conns);
	/* Below the descriptor limit, or EMFILE hits everything else first. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)cap + HTTPD_CONN_FD_RESERVE > rl.rlim_cur) {
		cap = rl.rlim_cur > HTTPD_CONN_FD_RESERVE + HTTPD_CONN_MIN_CAP
		          ? (int)(rl.rlim_cur - HTTPD_CONN_FD_RESERVE)
		          : HTTPD_CONN_MIN_CAP;
		log_info("httpd: at most %d connections (the descriptor limit is %llu)", cap,
		         (unsigned long long)rl.rlim_cur);
	}
	hc.st.cap = cap;
	hc.spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	evhttp_set_bevcb(http, httpd_conn_new, NULL);
	evconnlistener_set_error_cb(listener, httpd_conn_accept_error);
}

void
httpd_conn_stop(void)
{
	if (hc.resume != NULL)
		event_free(hc.resume);
	hc.resume = NULL;
	if (hc.spare >= 0)
		close(hc.spare);
	hc.spare = -1;
	hc.listener = NULL;
	hc.http = NULL;
}

int
httpd_conn_refusal(struct evhttp_request *req, unsigned long *conn_id, const char **code,
                   const char **message, const char **allow)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct httpd_conn *c =
	    evcon ? httpd_conn_by_bev(evhttp_connection_get_bufferevent(evcon)) : NULL;

	*conn_id = 0;
	if (c == NULL)
		return 0;
	*conn_id = c->id;
	if (++c->dispatched != c->refusal_at)
		return 0;
	*code = c->refusal_code;
	*message = c->refusal_msg;
	*allow = c->allow;
	return c->refusal_status;
}

void
httpd_conn_done(unsigned long conn_id)
{
	struct httpd_conn *c;

	TAILQ_FOREACH(c, &hc.conns, entry)
	if (c->id == conn_id) {
		if (c->inflight > 0)
			c->inflight--;
		return;
	}
}

void
httpd_conn_stats(struct httpd_conn_stats *st)
{
	*st = hc.st;
}
