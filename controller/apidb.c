#include "apidb.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "clients/db.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "controller/httpd.h"
#include "controller/loop.h"

#define APIDB_QUEUE_DEFAULT   1024
#define APIDB_TIMER_MARGIN_MS 200

enum apidb_state { APIDB_QUEUED, APIDB_RUNNING, APIDB_DONE };

struct apidb_job {
	TAILQ_ENTRY(apidb_job) entry;
	struct httpd_req *req; /* NULL: background, or already answered (timeout) */
	apidb_work fn;
	void *arg;
	void (*free_arg)(void *);
	int64_t timeout_ms;
	struct event *timer;
	enum apidb_state state; /* under apidb.mu */
	int unavailable;        /* the database could not be reached: fn never ran */
	struct apidb_reply reply;
};

TAILQ_HEAD(apidb_list, apidb_job);

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct apidb_list pending, done;
	long npending;
	int queue_max;
	int stopping;
	int started;
	int nthreads;
	pthread_t *threads;
	char *conninfo;
	char *appname;
	int64_t timeout_ms;
	struct event *done_ev;
	struct apidb_stats st;
} apidb = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void
apidb_reply_clear(struct apidb_reply *r)
{
	buf_free(&r->body);
	for (int i = 0; i < r->nheaders; i++) {
		free(r->hname[i]);
		free(r->hvalue[i]);
	}
	r->nheaders = 0;
}

static void
apidb_job_free(struct apidb_job *job)
{
	if (job->timer != NULL)
		event_free(job->timer);
	if (job->free_arg != NULL)
		job->free_arg(job->arg);
	apidb_reply_clear(&job->reply);
	free(job);
}

/* Sends the job's reply (loop thread). */
static void
apidb_send(struct apidb_job *job)
{
	struct apidb_reply *r = &job->reply;

	if (job->req == NULL)
		return;
	if (job->unavailable) {
		httpd_error(job->req, 503, "db_unavailable", "database unavailable");
	} else if (r->status == 0) {
		httpd_error(job->req, 500, "internal", "internal error");
	} else {
		for (int i = 0; i < r->nheaders; i++)
			httpd_set_header(job->req, r->hname[i], r->hvalue[i]);
		httpd_reply(job->req, r->status,
		            r->body.len == 0  ? NULL
		            : r->content_type ? r->content_type
		                              : "application/json",
		            r->body.len ? r->body.data : "", r->body.len);
	}
	job->req = NULL;
}

/* Delivers finished jobs: runs on the loop thread when a database thread signals. */
static void
apidb_deliver(evutil_socket_t fd, short what, void *unused)
{
	struct apidb_list ready = TAILQ_HEAD_INITIALIZER(ready);
	struct apidb_job *job;

	pthread_mutex_lock(&apidb.mu);
	TAILQ_CONCAT(&ready, &apidb.done, entry);
	pthread_mutex_unlock(&apidb.mu);
	while ((job = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, job, entry);
		apidb_send(job);
		apidb_job_free(job);
	}
}

/* The deadline passed (loop thread): answer 503 now. A queued job is dropped unrun; a
 * running one is freed when its thread finishes with it. */
static void
apidb_timeout(evutil_socket_t fd, short what, void *p)
{
	struct apidb_job *job = p;
	int queued;

	pthread_mutex_lock(&apidb.mu);
	queued = job->state == APIDB_QUEUED;
	if (queued) {
		TAILQ_REMOVE(&apidb.pending, job, entry);
		apidb.npending--;
	}
	apidb.st.timeouts++;
	pthread_mutex_unlock(&apidb.mu);
	if (job->req != NULL)
		httpd_error(job->req, 503, "timeout", "the database did not answer in time");
	job->req = NULL;
	if (queued)
		apidb_job_free(job);
}

/* Makes sure *db is a live connection with statement_timeout = timeout_ms. */
static int
apidb_connection(PGconn **db, int64_t *cur_timeout, int64_t timeout_ms)
{
	char *cause = NULL, t[32];
	const char *p[1] = {t};

	if (*db != NULL && PQstatus(*db) != CONNECTION_OK) {
		PQfinish(*db);
		*db = NULL;
	}
	if (*db == NULL) {
		*db = db_connect(apidb.conninfo, apidb.appname, &cause);
		if (*db == NULL) {
			log_warn("api database: %s", cause);
			free(cause);
			return -1;
		}
		*cur_timeout = -1;
	}
	if (*cur_timeout == timeout_ms)
		return 0;
	snprintf(t, sizeof t, "%lld", (long long)timeout_ms);
	/* lock_timeout too: a row lock held by a stuck transaction must not eat the deadline
	 * silently; idle-in-transaction can never be ours, but costs nothing to bound. */
	if (db_command(*db,
	               "SELECT set_config('statement_timeout', $1, false), "
	               "set_config('lock_timeout', $1, false), "
	               "set_config('idle_in_transaction_session_timeout', $1, false), "
	               "set_config('TimeZone', 'UTC', false)",
	               1, p, &cause) != 0) {
		log_warn("api database: %s", cause);
		free(cause);
		PQfinish(*db);
		*db = NULL;
		return -1;
	}
	*cur_timeout = timeout_ms;
	return 0;
}

static void *
apidb_thread(void *unused)
{
	PGconn *db = NULL;
	int64_t cur_timeout = -1;
	struct apidb_job *job;

	for (;;) {
		pthread_mutex_lock(&apidb.mu);
		while (!apidb.stopping && TAILQ_EMPTY(&apidb.pending))
			pthread_cond_wait(&apidb.cv, &apidb.mu);
		if (apidb.stopping) {
			pthread_mutex_unlock(&apidb.mu);
			break;
		}
		job = TAILQ_FIRST(&apidb.pending);
		TAILQ_REMOVE(&apidb.pending, job, entry);
		apidb.npending--;
		job->state = APIDB_RUNNING;
		pthread_mutex_unlock(&apidb.mu);

		if (apidb_connection(&db, &cur_timeout, job->timeout_ms) != 0) {
			job->unavailable = 1;
		} else {
			job->fn(db, job->arg, &job->reply);
			/* A failed or busy connection is not reused. */
			if (PQstatus(db) != CONNECTION_OK ||
			    PQtransactionStatus(db) != PQTRANS_IDLE) {
				PQfinish(db);
				db = NULL;
			}
		}
		pthread_mutex_lock(&apidb.mu);
		job->state = APIDB_DONE;
		apidb.st.done++;
		apidb.st.unavailable += (unsigned long long)job->unavailable;
		TAILQ_INSERT_TAIL(&apidb.done, job, entry);
		pthread_mutex_unlock(&apidb.mu);
		event_active(apidb.done_ev, EV_READ, 0);
	}
	if (db != NULL)
		PQfinish(db);
	return NULL;
}

void
apidb_start(const struct apidb_config *cfg)
{
	if (apidb.started)
		fatalx("apidb: started twice");
	TAILQ_INIT(&apidb.pending);
	TAILQ_INIT(&apidb.done);
	apidb.npending = 0;
	apidb.stopping = 0;
	apidb.queue_max = cfg->queue_max > 0 ? cfg->queue_max : APIDB_QUEUE_DEFAULT;
	apidb.conninfo = xstrdup(cfg->conninfo);
	apidb.appname = xstrdup(cfg->appname ? cfg->appname : "vibnd-api");
	apidb.timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 2000;
	apidb.nthreads = cfg->threads > 0 ? cfg->threads : 1;
	memset(&apidb.st, 0, sizeof apidb.st);
	apidb.done_ev = event_new(loop_base(), -1, 0, apidb_deliver, NULL);
	if (apidb.done_ev == NULL)
		fatalx("apidb: cannot create the completion event");
	apidb.threads = xcalloc((size_t)apidb.nthreads, sizeof *apidb.threads);
	for (int i = 0; i < apidb.nthreads; i++)
		if (pthread_create(&apidb.threads[i], NULL, apidb_thread, NULL) != 0)
			fatalx("apidb: cannot start a database thread");
	apidb.started = 1;
}

void
apidb_stop(void)
{
	struct apidb_job *job;

	if (!apidb.started)
		return;
	pthread_mutex_lock(&apidb.mu);
	apidb.stopping = 1;
	pthread_cond_broadcast(&apidb.cv);
	pthread_mutex_unlock(&apidb.mu);
	for (int i = 0; i < apidb.nthreads; i++)
		pthread_join(apidb.threads[i], NULL);
	free(apidb.threads);
	apidb.threads = NULL;
	/* The threads are gone: the lists are ours alone. */
	while ((job = TAILQ_FIRST(&apidb.pending)) != NULL) {
		TAILQ_REMOVE(&apidb.pending, job, entry);
		if (job->req != NULL)
			httpd_error(job->req, 503, "shutting_down", "shutting down");
		job->req = NULL;
		apidb_job_free(job);
	}
	apidb.npending = 0;
	apidb_deliver(-1, 0, NULL);
	event_free(apidb.done_ev);
	apidb.done_ev = NULL;
	free(apidb.conninfo);
	free(apidb.appname);
	apidb.conninfo = apidb.appname = NULL;
	apidb.started = 0;
}

int
apidb_submit_timeout(struct httpd_req *req, apidb_work fn, void *arg, void (*free_arg)(void *),
                     int64_t timeout_ms)
{
	struct apidb_job *job;
	int refused = 0;

	if (timeout_ms <= 0)
		timeout_ms = apidb.timeout_ms;
	job = xcalloc(1, sizeof *job);
	job->req = req;
	job->fn = fn;
	job->arg = arg;
	job->free_arg = free_arg;
	job->timeout_ms = timeout_ms;
	buf_init(&job->reply.body);

	pthread_mutex_lock(&apidb.mu);
	if (!apidb.started || apidb.stopping || apidb.npending >= apidb.queue_max) {
		refused = 1;
		apidb.st.overloaded++;
	}
	pthread_mutex_unlock(&apidb.mu);
	if (refused) {
		if (req != NULL) {
			httpd_set_header(req, "Retry-After", "1");
			httpd_error(req, 503, "overloaded",
			            "too many requests waiting for the database");
		}
		job->req = NULL;
		apidb_job_free(job);
		return -1;
	}
	if (req != NULL) {
		/* A margin over statement_timeout, so that the database's own error (more
		 * precise) normally wins; the timer is for a database that does not answer. */
		int64_t ms = timeout_ms + APIDB_TIMER_MARGIN_MS;
		struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

		httpd_defer(req);
		job->timer = evtimer_new(loop_base(), apidb_timeout, job);
		if (job->timer == NULL || evtimer_add(job->timer, &tv) != 0)
			fatalx("apidb: cannot arm a request deadline");
	}
	pthread_mutex_lock(&apidb.mu);
	job->state = APIDB_QUEUED;
	TAILQ_INSERT_TAIL(&apidb.pending, job, entry);
	apidb.npending++;
	pthread_cond_signal(&apidb.cv);
	pthread_mutex_unlock(&apidb.mu);
	return 0;
}

int
apidb_submit(struct httpd_req *req, apidb_work fn, void *arg, void (*free_arg)(void *))
{
	return apidb_submit_timeout(req, fn, arg, free_arg, 0);
}

void
apidb_reply_json(struct apidb_reply *out, int status, const char *json)
{
	out->status = status;
	out->content_type = "application/json";
	buf_reset(&out->body);
	buf_puts(&out->body, json);
}

void
apidb_reply_error(struct apidb_reply *out, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	out->status = status;
	out->content_type = "application/json";
	buf_reset(&out->body);
	buf_puts(&out->body, "{\"error\": ");
	httpd_json_string(&out->body, msg);
	buf_puts(&out->body, ", \"code\": ");
	httpd_json_string(&out->body, code);
	buf_puts(&out->body, "}\n");
	free(msg);
}

void
apidb_reply_header(struct apidb_reply *out, const char *name, const char *value)
{
	if (out->nheaders == APIDB_MAX_HEADERS)
		return;
	out->hname[out->nheaders] = xstrdup(name);
	out->hvalue[out->nheaders] = xstrdup(value);
	out->nheaders++;
}

void
apidb_reply_db_error(struct apidb_reply *out, const char *what, const char *cause)
{
	log_warn("api database: %s: %s", what, cause ? cause : "error");
	apidb_reply_error(out, 503, "db_error", "database error");
}

void
apidb_stats(struct apidb_stats *st)
{
	pthread_mutex_lock(&apidb.mu);
	*st = apidb.st;
	st->queued = apidb.npending;
	pthread_mutex_unlock(&apidb.mu);
}
