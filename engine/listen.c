#include "listen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "clients/db.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "httpd/metrics.h"

#define LISTEN_RETRY_MIN_MS 100
#define LISTEN_RETRY_MAX_MS 5000
#define LISTEN_DEADLINE_MS  10000

enum listen_state { LISTEN_IDLE, LISTEN_CONNECTING, LISTEN_SUBSCRIBING, LISTEN_READY };

struct listen {
	char *conninfo;
	char *channel;
	PGconn *conn;
	enum listen_state state;
	struct event *io;    /* on PQsocket(conn); re-created whenever the socket or the
	                        interest changes */
	struct event *timer; /* retry backoff, or the deadline of a connect attempt */
	int64_t retry_ms;
	int ever_ready;
	int failing; /* a failure was logged and no success since */
	listen_notify_fn on_notify;
	loop_fn on_connect;
	void *arg;
};

static void listen_io(evutil_socket_t fd, short what, void *arg);
static void listen_begin(struct listen *l);

static const char *
listen_state_name(enum listen_state s)
{
	switch (s) {
	case LISTEN_IDLE:
		return "idle";
	case LISTEN_CONNECTING:
		return "connecting";
	case LISTEN_SUBSCRIBING:
		return "subscribing";
	case LISTEN_READY:
		return "ready";
	}
	return "unknown";
}

static void
listen_timer_ms(struct listen *l, int64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};

	evtimer_add(l->timer, &tv);
}

/* (Re)arms the socket event for what; the socket may change between polls. */
static void
listen_watch(struct listen *l, short what)
{
	if (l->io != NULL)
		event_free(l->io);
	l->io = event_new(loop_base(), PQsocket(l->conn), what | EV_PERSIST, listen_io, l);
	if (l->io == NULL || event_add(l->io, NULL) != 0)
		fatalx("listen: cannot watch the database socket");
}

static void
listen_close(struct listen *l)
{
	if (l->io != NULL)
		event_free(l->io);
	l->io = NULL;
	if (l->conn != NULL)
		PQfinish(l->conn);
	l->conn = NULL;
}

static void
listen_fail(struct listen *l, const char *what)
{
	char *msg = db_oneline(l->conn ? PQerrorMessage(l->conn) : "");
	int64_t d;

	if (!l->failing)
		log_warn("listen: %s (%s): %s", what, listen_state_name(l->state), msg);
	else
		log_debug("listen: %s (%s): %s", what, listen_state_name(l->state), msg);
	free(msg);
	l->failing = 1;
	listen_close(l);
	l->state = LISTEN_IDLE;
	metrics_listen_state(0);
	d = l->retry_ms == 0 ? LISTEN_RETRY_MIN_MS : l->retry_ms * 2;
	if (d > LISTEN_RETRY_MAX_MS)
		d = LISTEN_RETRY_MAX_MS;
	l->retry_ms = d;
	listen_timer_ms(l, (int64_t)((double)d * (0.5 + 0.5 * util_random_unit())));
}

static void
listen_notice(void *arg, const char *message)
{
	char *line = db_oneline(message);

	log_debug("listen: postgres: %s", line);
	free(line);
}

/* Connected: go non-blocking and send LISTEN. */
static void
listen_subscribe(struct listen *l)
{
	char *ident, *sql;

	PQsetNoticeProcessor(l->conn, listen_notice, NULL);
	if (PQsetnonblocking(l->conn, 1) != 0) {
		listen_fail(l, "setting non-blocking mode");
		return;
	}
	ident = PQescapeIdentifier(l->conn, l->channel, strlen(l->channel));
	if (ident == NULL) {
		listen_fail(l, "quoting the channel");
		return;
	}
	sql = xasprintf("LISTEN %s", ident);
	PQfreemem(ident);
	l->state = LISTEN_SUBSCRIBING;
	if (PQsendQuery(l->conn, sql) != 1) {
		free(sql);
		listen_fail(l, "sending LISTEN");
		return;
	}
	free(sql);
	/* Flush from the write callback; reads are watched too, as the server may talk. */
	listen_watch(l, EV_READ | EV_WRITE);
}

static void
listen_ready(struct listen *l)
{
	evtimer_del(l->timer);
	l->state = LISTEN_READY;
	l->retry_ms = 0;
	metrics_listen_state(1);
	if (l->ever_ready) {
		metrics_listen_reconnect();
		log_info("listen: LISTEN connection re-established; looking at the whole queue");
	} else {
		log_debug("listen: listening on %s", l->channel);
	}
	l->ever_ready = 1;
	l->failing = 0;
	if (l->on_connect != NULL)
		l->on_connect(l->arg);
}

static void
listen_poll_connect(struct listen *l)
{
	switch (PQconnectPoll(l->conn)) {
	case PGRES_POLLING_READING:
		listen_watch(l, EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		listen_watch(l, EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		listen_subscribe(l);
		break;
	case PGRES_POLLING_FAILED:
	default:
		listen_fail(l, "connecting");
		break;
	}
}

/* Reads what arrived: the LISTEN result while subscribing, notifications after. */
static void
listen_read(struct listen *l)
{
	PGnotify *n;
	PGresult *res;

	if (PQconsumeInput(l->conn) == 0) {
		listen_fail(l, "connection lost");
		return;
	}
	while (!PQisBusy(l->conn)) {
		res = PQgetResult(l->conn);
		if (res == NULL) {
			if (l->state == LISTEN_SUBSCRIBING) {
				listen_ready(l);
				listen_watch(l, EV_READ);
			}
			break;
		}
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			PQclear(res);
			listen_fail(l, "LISTEN failed");
			return;
		}
		PQclear(res);
	}
	while ((n = PQnotifies(l->conn)) != NULL) {
		metrics_notification();
		if (l->on_notify != NULL)
			l->on_notify(n->extra, l->arg);
		PQfreemem(n);
	}
	if (PQstatus(l->conn) == CONNECTION_BAD)
		listen_fail(l, "connection lost");
}

static void
listen_io(evutil_socket_t fd, short what, void *arg)
{
	struct listen *l = arg;
	int r;

	switch (l->state) {
	case LISTEN_CONNECTING:
		listen_poll_connect(l);
		return;
	case LISTEN_SUBSCRIBING:
	case LISTEN_READY:
		if (what & EV_WRITE) {
			r = PQflush(l->conn);
			if (r < 0) {
				listen_fail(l, "sending");
				return;
			}
			if (r == 0)
				listen_watch(l, EV_READ);
		}
		if (what & EV_READ)
			listen_read(l);
		return;
	case LISTEN_IDLE:
		return;
	}
	fatalx("listen: bad state %d", (int)l->state);
}

static void
listen_timer(evutil_socket_t fd, short what, void *arg)
{
	struct listen *l = arg;

	switch (l->state) {
	case LISTEN_IDLE:
		listen_begin(l);
		return;
	case LISTEN_CONNECTING:
	case LISTEN_SUBSCRIBING:
		listen_fail(l, "timed out");
		return;
	case LISTEN_READY:
		return;
	}
	fatalx("listen: bad state %d", (int)l->state);
}

static void
listen_begin(struct listen *l)
{
	/* Earlier keywords are defaults; the expanded conninfo (dbname) overrides them. */
	const char *keys[] = {"application_name",
	                      "keepalives",
	                      "keepalives_idle",
	                      "keepalives_interval",
	                      "keepalives_count",
	                      "dbname",
	                      NULL};
	const char *vals[] = {"vibnd-listen", "1", "30", "10", "3", l->conninfo, NULL};

	l->conn = PQconnectStartParams(keys, vals, 1);
	if (l->conn == NULL)
		fatalx("listen: out of memory");
	l->state = LISTEN_CONNECTING;
	if (PQstatus(l->conn) == CONNECTION_BAD) {
		listen_fail(l, "connecting");
		return;
	}
	/* PQconnectPoll ignores connect_timeout: our own deadline. */
	listen_timer_ms(l, LISTEN_DEADLINE_MS);
	listen_watch(l, EV_WRITE);
}

struct listen *
listen_start(const char *conninfo, const char *channel, listen_notify_fn on_notify,
             loop_fn on_connect, void *arg)
{
	struct listen *l = xcalloc(1, sizeof *l);

	l->conninfo = xstrdup(conninfo);
	l->channel = xstrdup(channel);
	l->on_notify = on_notify;
	l->on_connect = on_connect;
	l->arg = arg;
	l->timer = evtimer_new(loop_base(), listen_timer, l);
	if (l->timer == NULL)
		fatalx("listen: cannot create a timer");
	listen_begin(l);
	return l;
}

int
listen_connected(const struct listen *l)
{
	return l != NULL && l->state == LISTEN_READY;
}

void
listen_free(struct listen *l)
{
	if (l == NULL)
		return;
	listen_close(l);
	event_free(l->timer);
	free(l->conninfo);
	free(l->channel);
	free(l);
}
