#include "dbpool.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "clients/db.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "httpd/httpd.h"
#include "httpd/metrics.h"
#include "controller/loop.h"

#define DBPOOL_QUEUE_DEFAULT   1024
#define DBPOOL_TIMER_MARGIN_MS 200

enum dbpool_state { DBPOOL_QUEUED, DBPOOL_RUNNING, DBPOOL_DONE };

/* Lanes: webhooks (batched jobs) have their own queue and a thread that takes nothing
 * else, so that no flood of API work can make Gitea's one delivery attempt time out. */
enum dbpool_lane { DBPOOL_LANE_API, DBPOOL_LANE_WEBHOOK, DBPOOL_LANES };

#define DBPOOL_OWNERS 256 /* credential buckets of the in-flight bound */

struct dbpool_owner {
	unsigned char id[32]; /* sha256 of the credential headers; never the credential */
	int inflight;
};

struct dbpool_job {
	TAILQ_ENTRY(dbpool_job) entry;
	struct httpd_req *req; /* NULL: background, or already answered (timeout) */
	dbpool_work fn;        /* or: */
	dbpool_batch_work batch_fn;
	dbpool_fallback fallback; /* or NULL: 503 */
	void *arg;
	void (*free_arg)(void *);
	int64_t timeout_ms;
	struct event *timer;
	enum dbpool_lane lane;
	int tx;                     /* run inside a transaction with a commit point */
	struct dbpool_owner *owner; /* the credential's bucket, or NULL */
	enum dbpool_state state;    /* under dbpool.mu */
	int cancelled;              /* under dbpool.mu: answered 503, roll back */
	int committing;             /* under dbpool.mu: past the commit point */
	int grace;                  /* the deadline passed during the commit */
	int unavailable;            /* the database could not be reached: fn never ran */
	struct dbpool_reply reply;
};

TAILQ_HEAD(dbpool_list, dbpool_job);

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct dbpool_list pending[DBPOOL_LANES], done;
	long npending[DBPOOL_LANES];
	int queue_max;
	int reserved; /* the first threads take webhook jobs only */
	int owner_max;
	struct dbpool_owner owners[DBPOOL_OWNERS]; /* loop thread only */
	int stopping;
	int started;
	int nthreads;
	pthread_t *threads;
	char *conninfo;
	char *appname;
	int64_t timeout_ms;
	struct event *done_ev;
} dbpool = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void
dbpool_reply_clear(struct dbpool_reply *r)
{
	buf_free(&r->body);
	for (int i = 0; i < r->nheaders; i++) {
		free(r->hname[i]);
		free(r->hvalue[i]);
	}
	r->nheaders = 0;
}

/* The job of a reply (a work function's out). */
static struct dbpool_job *
dbpool_job_of(struct dbpool_reply *out)
{
	return (struct dbpool_job *)(void *)((char *)out - offsetof(struct dbpool_job, reply));
}

static void
dbpool_job_free(struct dbpool_job *job)
{
	/* The credential's work is over only now: a job answered 503 still counted while
	 * it ran. */
	if (job->owner != NULL && job->owner->inflight > 0)
		job->owner->inflight--;
	if (job->timer != NULL)
		event_free(job->timer);
	if (job->free_arg != NULL)
		job->free_arg(job->arg);
	dbpool_reply_clear(&job->reply);
	free(job);
}

/* Hands the request to the job's fallback instead of a 503 answer (loop thread). Returns
 * 1 when it did (the request is answered), 0 when the job has none. */
static int
dbpool_fall_back(struct dbpool_job *job, const char *why)
{
	struct httpd_req *req = job->req;

	if (job->fallback == NULL || req == NULL)
		return 0;
	job->req = NULL;
	job->fallback(req, job->arg, why);
	return 1;
}

/* Sends the job's reply (loop thread). */
static void
dbpool_send(struct dbpool_job *job)
{
	struct dbpool_reply *r = &job->reply;

	if (job->req == NULL)
		return;
	if ((job->unavailable || r->status == 503) &&
	    dbpool_fall_back(job, job->unavailable ? "db_unavailable" : "db_error"))
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
dbpool_deliver(evutil_socket_t fd, short what, void *unused)
{
	struct dbpool_list ready = TAILQ_HEAD_INITIALIZER(ready);
	struct dbpool_job *job;

	pthread_mutex_lock(&dbpool.mu);
	TAILQ_CONCAT(&ready, &dbpool.done, entry);
	pthread_mutex_unlock(&dbpool.mu);
	while ((job = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, job, entry);
		dbpool_send(job);
		dbpool_job_free(job);
	}
}

/* The deadline passed (loop thread): answer 503 now. A queued job is dropped unrun; a
 * running one is freed when its thread finishes with it. */
static void
dbpool_timeout(evutil_socket_t fd, short what, void *p)
{
	struct dbpool_job *job = p;
	int queued, committing;

	pthread_mutex_lock(&dbpool.mu);
	queued = job->state == DBPOOL_QUEUED;
	if (queued) {
		TAILQ_REMOVE(&dbpool.pending[job->lane], job, entry);
		dbpool.npending[job->lane]--;
	}
	committing = job->committing && job->state == DBPOOL_RUNNING;
	if (!committing)
		job->cancelled = 1; /* the work rolls back at its commit point */
	pthread_mutex_unlock(&dbpool.mu);
	metrics_api_db_jobs("timeout", 1);
	if (committing && !job->grace) {
		/* Past its commit point: its answer is the truth, and "did not answer in
		 * time" would be a lie if the commit lands. Wait once more. */
		struct timeval tv = {(time_t)(job->timeout_ms / 1000),
		                     (suseconds_t)(job->timeout_ms % 1000) * 1000};

		job->grace = 1;
		evtimer_add(job->timer, &tv);
		return;
	}
	if (job->req != NULL && !committing)
		(void)dbpool_fall_back(job, "timeout");
	if (job->req != NULL) {
		if (committing)
			httpd_error(job->req, 503, "commit_unknown",
			            "the database did not confirm the commit in time: the change "
			            "may or may not have been applied");
		else
			httpd_error(job->req, 503, "timeout",
			            "the database did not answer in time");
	}
	job->req = NULL;
	if (queued)
		dbpool_job_free(job);
}

int
dbpool_cancelled(struct dbpool_reply *out)
{
	struct dbpool_job *job = dbpool_job_of(out);
	int c;

	pthread_mutex_lock(&dbpool.mu);
	c = job->cancelled;
	pthread_mutex_unlock(&dbpool.mu);
	return c;
}

/* The job this database thread is running (NULL elsewhere), for dbpool_stop_requested. */
static _Thread_local struct dbpool_job *dbpool_running;

int
dbpool_stop_requested(void)
{
	return dbpool_running != NULL && dbpool_cancelled(&dbpool_running->reply);
}

/* The commit point of a job's transaction: 0 (commit; the deadline no longer answers
 * "timeout") or -1 (the request was answered 503 already: roll back). */
static int
dbpool_commit_point(struct dbpool_job *job)
{
	int rc;

	pthread_mutex_lock(&dbpool.mu);
	rc = job->cancelled ? -1 : 0;
	if (rc == 0)
		job->committing = 1;
	pthread_mutex_unlock(&dbpool.mu);
	return rc;
}

/* Makes sure *db is a live connection with statement_timeout = timeout_ms. */
static int
dbpool_connection(PGconn **db, int64_t *cur_timeout, int64_t timeout_ms)
{
	char *cause = NULL, t[32];
	const char *p[1] = {t};

	if (*db != NULL && PQstatus(*db) != CONNECTION_OK) {
		PQfinish(*db);
		*db = NULL;
	}
	if (*db == NULL) {
		*db = db_connect(dbpool.conninfo, dbpool.appname, &cause);
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
	               "set_config('TimeZone', 'UTC', false), "
	               "set_config('plan_cache_mode', 'force_generic_plan', false)",
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

/* The lane a thread takes from next: webhooks first; a reserved thread takes nothing
 * else. -1: nothing for it. Called with dbpool.mu held. */
static int
dbpool_lane_for(int reserved)
{
	if (!TAILQ_EMPTY(&dbpool.pending[DBPOOL_LANE_WEBHOOK]))
		return DBPOOL_LANE_WEBHOOK;
	if (!reserved && !TAILQ_EMPTY(&dbpool.pending[DBPOOL_LANE_API]))
		return DBPOOL_LANE_API;
	return -1;
}

/* Takes the first queued job of the lane and, when it is batched, the queued jobs of the
 * same batch function after it. Called with dbpool.mu held. */
static int
dbpool_take(int lane, struct dbpool_job **batch)
{
	struct dbpool_job *job = TAILQ_FIRST(&dbpool.pending[lane]), *next;
	int n = 0;

	for (; job != NULL && n < DBPOOL_BATCH_MAX; job = next) {
		next = TAILQ_NEXT(job, entry);
		if (n > 0 && (batch[0]->batch_fn == NULL || job->batch_fn != batch[0]->batch_fn))
			continue;
		TAILQ_REMOVE(&dbpool.pending[lane], job, entry);
		dbpool.npending[lane]--;
		job->state = DBPOOL_RUNNING;
		batch[n++] = job;
		if (job->batch_fn == NULL)
			break;
	}
	return n;
}

static void
dbpool_stat_cancelled(int n)
{
	metrics_api_db_jobs("rolled_back", (unsigned long)n);
}

static int
dbpool_begin(PGconn *db)
{
	char *cause = NULL;

	if (db_command(db, "BEGIN", 0, NULL, &cause) != 0) {
		log_warn("api database: BEGIN: %s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* Ends a transactional job: COMMIT when it succeeded and every request of it is still
 * owed an answer (its commit point), otherwise ROLLBACK; a failed COMMIT becomes the
 * answer. A batch commits if any of its requests is still owed one (each request of a
 * batch is a delivery acknowledged on its own). */
static void
dbpool_finish_tx(PGconn *db, struct dbpool_job **batch, int n)
{
	char *cause = NULL;
	int commit = PQtransactionStatus(db) == PQTRANS_INTRANS, any = 0;

	for (int i = 0; commit && i < n; i++)
		any |= dbpool_commit_point(batch[i]) == 0;
	if (!commit || !any) {
		/* A failed ROLLBACK leaves the connection busy: dbpool_run drops it. */
		if (PQtransactionStatus(db) != PQTRANS_IDLE &&
		    db_command(db, "ROLLBACK", 0, NULL, &cause) != 0)
			log_warn("api database: ROLLBACK: %s", cause);
		free(cause);
		if (!any && commit)
			dbpool_stat_cancelled(n);
		return;
	}
	if (db_command(db, "COMMIT", 0, NULL, &cause) != 0) {
		for (int i = 0; i < n; i++)
			dbpool_reply_db_error(&batch[i]->reply, "commit", cause);
		free(cause);
	}
}

static void
dbpool_run(PGconn **db, int64_t *cur_timeout, struct dbpool_job **batch, int n)
{
	void *args[DBPOOL_BATCH_MAX];
	struct dbpool_reply *outs[DBPOOL_BATCH_MAX];
	int64_t timeout_ms = batch[0]->timeout_ms;

	for (int i = 1; i < n; i++)
		if (batch[i]->timeout_ms < timeout_ms)
			timeout_ms = batch[i]->timeout_ms;
	if (dbpool_connection(db, cur_timeout, timeout_ms) != 0) {
		for (int i = 0; i < n; i++)
			batch[i]->unavailable = 1;
		return;
	}
	if (batch[0]->tx && dbpool_begin(*db) != 0) {
		for (int i = 0; i < n; i++)
			batch[i]->unavailable = 1;
		goto out;
	}
	if (batch[0]->batch_fn != NULL) {
		for (int i = 0; i < n; i++) {
			args[i] = batch[i]->arg;
			outs[i] = &batch[i]->reply;
		}
		batch[0]->batch_fn(*db, args, outs, n);
	} else {
		dbpool_running = batch[0];
		batch[0]->fn(*db, batch[0]->arg, &batch[0]->reply);
		dbpool_running = NULL;
	}
	if (batch[0]->tx)
		dbpool_finish_tx(*db, batch, n);
out:
	/* A failed or busy connection is not reused. */
	if (PQstatus(*db) != CONNECTION_OK || PQtransactionStatus(*db) != PQTRANS_IDLE) {
		PQfinish(*db);
		*db = NULL;
	}
}

static void *
dbpool_thread(void *p)
{
	struct dbpool_job *batch[DBPOOL_BATCH_MAX];
	int reserved = (int)(intptr_t)p;
	PGconn *db = NULL;
	int64_t cur_timeout = -1;
	int n, lane;

	for (;;) {
		pthread_mutex_lock(&dbpool.mu);
		while (!dbpool.stopping && (lane = dbpool_lane_for(reserved)) < 0)
			pthread_cond_wait(&dbpool.cv, &dbpool.mu);
		if (dbpool.stopping) {
			pthread_mutex_unlock(&dbpool.mu);
			break;
		}
		n = dbpool_take(lane, batch);
		pthread_mutex_unlock(&dbpool.mu);

		dbpool_run(&db, &cur_timeout, batch, n);

		pthread_mutex_lock(&dbpool.mu);
		for (int i = 0; i < n; i++) {
			batch[i]->state = DBPOOL_DONE;
			metrics_api_db_jobs(batch[i]->unavailable ? "db_unavailable" : "done", 1);
			TAILQ_INSERT_TAIL(&dbpool.done, batch[i], entry);
		}
		pthread_mutex_unlock(&dbpool.mu);
		event_active(dbpool.done_ev, EV_READ, 0);
	}
	if (db != NULL)
		PQfinish(db);
	return NULL;
}

void
dbpool_start(const struct dbpool_config *cfg)
{
	if (dbpool.started)
		fatalx("dbpool: started twice");
	for (int l = 0; l < DBPOOL_LANES; l++) {
		TAILQ_INIT(&dbpool.pending[l]);
		dbpool.npending[l] = 0;
	}
	TAILQ_INIT(&dbpool.done);
	dbpool.stopping = 0;
	dbpool.queue_max = cfg->queue_max > 0 ? cfg->queue_max : DBPOOL_QUEUE_DEFAULT;
	dbpool.reserved = cfg->webhook_threads > 0 ? cfg->webhook_threads : 0;
	dbpool.owner_max = cfg->per_owner > 0 ? cfg->per_owner : 0;
	memset(dbpool.owners, 0, sizeof dbpool.owners);
	dbpool.conninfo = xstrdup(cfg->conninfo);
	dbpool.appname = xstrdup(cfg->appname ? cfg->appname : "vibnd-api");
	dbpool.timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 2000;
	dbpool.nthreads = (cfg->threads > 0 ? cfg->threads : 1) + dbpool.reserved;
	dbpool.done_ev = event_new(loop_base(), -1, 0, dbpool_deliver, NULL);
	if (dbpool.done_ev == NULL)
		fatalx("dbpool: cannot create the completion event");
	dbpool.threads = xcalloc((size_t)dbpool.nthreads, sizeof *dbpool.threads);
	for (int i = 0; i < dbpool.nthreads; i++)
		if (pthread_create(&dbpool.threads[i], NULL, dbpool_thread,
		                   (void *)(intptr_t)(i < dbpool.reserved)) != 0)
			fatalx("dbpool: cannot start a database thread");
	dbpool.started = 1;
}

void
dbpool_stop(void)
{
	struct dbpool_job *job;

	if (!dbpool.started)
		return;
	pthread_mutex_lock(&dbpool.mu);
	dbpool.stopping = 1;
	pthread_cond_broadcast(&dbpool.cv);
	pthread_mutex_unlock(&dbpool.mu);
	for (int i = 0; i < dbpool.nthreads; i++)
		pthread_join(dbpool.threads[i], NULL);
	free(dbpool.threads);
	dbpool.threads = NULL;
	/* The threads are gone: the lists are ours alone. */
	for (int l = 0; l < DBPOOL_LANES; l++) {
		while ((job = TAILQ_FIRST(&dbpool.pending[l])) != NULL) {
			TAILQ_REMOVE(&dbpool.pending[l], job, entry);
			if (job->req != NULL && !dbpool_fall_back(job, "shutting_down"))
				httpd_error(job->req, 503, "shutting_down", "shutting down");
			job->req = NULL;
			dbpool_job_free(job);
		}
		dbpool.npending[l] = 0;
	}
	dbpool_deliver(-1, 0, NULL);
	event_free(dbpool.done_ev);
	dbpool.done_ev = NULL;
	free(dbpool.conninfo);
	free(dbpool.appname);
	dbpool.conninfo = dbpool.appname = NULL;
	dbpool.started = 0;
}

/* The bucket of the request's credential (a key or the admin secret; none is a bucket
 * too), found by the sha256 of its headers so that nothing secret is kept. Buckets are
 * reused once idle; when all are busy, a bucket is shared (a colliding credential is
 * bounded with another's: a bound either way). Loop thread only. */
static struct dbpool_owner *
dbpool_owner_of(struct httpd_req *req)
{
	const char *a = httpd_header(req, "Authorization"),
	           *x = httpd_header(req, "x-admin-secret");
	struct dbpool_owner *free_slot = NULL;
	unsigned char id[32];
	struct buf b;
	size_t h;

	buf_init(&b);
	buf_printf(&b, "%s\n%s", a ? a : "", x ? x : "");
	util_sha256(b.data, b.len, id);
	explicit_bzero(b.data, b.len);
	buf_free(&b);
	h = ((size_t)id[0] << 8 | id[1]) % DBPOOL_OWNERS;
	for (size_t i = 0; i < DBPOOL_OWNERS; i++) {
		struct dbpool_owner *o = &dbpool.owners[(h + i) % DBPOOL_OWNERS];

		if (o->inflight > 0 && memcmp(o->id, id, sizeof id) == 0)
			return o;
		if (o->inflight == 0 && free_slot == NULL)
			free_slot = o;
	}
	if (free_slot == NULL)
		return &dbpool.owners[h];
	memcpy(free_slot->id, id, sizeof id);
	return free_slot;
}

static int
dbpool_enqueue(struct httpd_req *req, dbpool_work fn, dbpool_batch_work batch_fn, void *arg,
               void (*free_arg)(void *), int64_t timeout_ms, int tx, dbpool_fallback fallback)
{
	enum dbpool_lane lane = batch_fn != NULL ? DBPOOL_LANE_WEBHOOK : DBPOOL_LANE_API;
	struct dbpool_owner *owner = NULL;
	struct dbpool_job *job;
	int refused = 0;

	if (timeout_ms <= 0)
		timeout_ms = dbpool.timeout_ms;
	/* One credential's requests wait for or use the database a few at a time: a tenant
	 * with a script cannot take every thread from the others. */
	if (req != NULL && lane == DBPOOL_LANE_API && dbpool.owner_max > 0 && dbpool.started) {
		owner = dbpool_owner_of(req);
		if (owner->inflight >= dbpool.owner_max) {
			metrics_api_db_jobs("throttled", 1);
			httpd_set_header(req, "Retry-After", "1");
			httpd_error(req, 429, "too_many_requests",
			            "too many requests of this key at once (at most %d)",
			            dbpool.owner_max);
			if (free_arg != NULL)
				free_arg(arg);
			return -1;
		}
		owner->inflight++;
	}
	job = xcalloc(1, sizeof *job);
	job->req = req;
	job->fn = fn;
	job->batch_fn = batch_fn;
	job->fallback = fallback;
	job->arg = arg;
	job->free_arg = free_arg;
	job->timeout_ms = timeout_ms;
	job->lane = lane;
	job->tx = tx;
	job->owner = owner;
	buf_init(&job->reply.body);

	pthread_mutex_lock(&dbpool.mu);
	if (!dbpool.started || dbpool.stopping || dbpool.npending[lane] >= dbpool.queue_max) {
		refused = 1;
	}
	pthread_mutex_unlock(&dbpool.mu);
	if (refused)
		metrics_api_db_jobs("overloaded", 1);
	if (refused) {
		if (req != NULL && !dbpool_fall_back(job, "overloaded")) {
			httpd_set_header(req, "Retry-After", "1");
			httpd_error(req, 503, "overloaded",
			            "too many requests waiting for the database");
		}
		job->req = NULL;
		dbpool_job_free(job);
		return -1;
	}
	if (req != NULL) {
		/* A margin over statement_timeout, so that the database's own error (more
		 * precise) normally wins; the timer is for a database that does not answer. */
		int64_t ms = timeout_ms + DBPOOL_TIMER_MARGIN_MS;
		struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

		httpd_defer(req);
		job->timer = evtimer_new(loop_base(), dbpool_timeout, job);
		if (job->timer == NULL || evtimer_add(job->timer, &tv) != 0)
			fatalx("dbpool: cannot arm a request deadline");
	}
	pthread_mutex_lock(&dbpool.mu);
	job->state = DBPOOL_QUEUED;
	TAILQ_INSERT_TAIL(&dbpool.pending[lane], job, entry);
	dbpool.npending[lane]++;
	/* Every thread may be the one that can take it (a reserved one, or not). */
	pthread_cond_broadcast(&dbpool.cv);
	pthread_mutex_unlock(&dbpool.mu);
	return 0;
}

int
dbpool_submit_timeout(struct httpd_req *req, dbpool_work fn, void *arg, void (*free_arg)(void *),
                      int64_t timeout_ms)
{
	return dbpool_enqueue(req, fn, NULL, arg, free_arg, timeout_ms, 0, NULL);
}

int
dbpool_submit(struct httpd_req *req, dbpool_work fn, void *arg, void (*free_arg)(void *))
{
	return dbpool_enqueue(req, fn, NULL, arg, free_arg, 0, 0, NULL);
}

int
dbpool_submit_tx(struct httpd_req *req, dbpool_work fn, void *arg, void (*free_arg)(void *))
{
	return dbpool_enqueue(req, fn, NULL, arg, free_arg, 0, 1, NULL);
}

int
dbpool_submit_batch_fallback(struct httpd_req *req, dbpool_batch_work fn, void *arg,
                             void (*free_arg)(void *), dbpool_fallback fallback)
{
	/* Not in a transaction of ours: a batch is one statement (atomic by itself), and
	 * dbpool_exec's first prepare must not fail inside one. */
	return dbpool_enqueue(req, NULL, fn, arg, free_arg, 0, 0, fallback);
}

static PGresult *
dbpool_exec_prepared(PGconn *db, const char *name, int nparams, const char *const *params,
                     char **cause)
{
	PGresult *res = PQexecPrepared(db, name, nparams, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	*cause = db_oneline(res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(db));
	PQclear(res);
	return NULL;
}

PGresult *
dbpool_exec(PGconn *db, const char *name, const char *sql, int nparams, const char *const *params,
            char **cause)
{
	PGresult *res;

	*cause = NULL;
	res = PQexecPrepared(db, name, nparams, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK)
		return res;
	/* Not prepared on this connection yet (26000): prepare, then run. */
	if (res == NULL || strcmp(db_sqlstate(res), "26000") != 0) {
		*cause = db_oneline(res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(db));
		PQclear(res);
		return NULL;
	}
	PQclear(res);
	res = PQprepare(db, name, sql, nparams, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*cause = db_oneline(res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(db));
		PQclear(res);
		return NULL;
	}
	PQclear(res);
	return dbpool_exec_prepared(db, name, nparams, params, cause);
}

void
dbpool_reply_json(struct dbpool_reply *out, int status, const char *json)
{
	out->status = status;
	out->content_type = "application/json";
	buf_reset(&out->body);
	buf_puts(&out->body, json);
}

void
dbpool_reply_error(struct dbpool_reply *out, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	char *body;

	va_start(ap, fmt);
	body = httpd_error_body(code, fmt, ap);
	va_end(ap);
	dbpool_reply_json(out, status, body);
	free(body);
}

void
dbpool_reply_header(struct dbpool_reply *out, const char *name, const char *value)
{
	if (out->nheaders == DBPOOL_MAX_HEADERS)
		return;
	out->hname[out->nheaders] = xstrdup(name);
	out->hvalue[out->nheaders] = xstrdup(value);
	out->nheaders++;
}

void
dbpool_reply_db_error(struct dbpool_reply *out, const char *what, const char *cause)
{
	log_warn("api database: %s: %s", what, cause ? cause : "error");
	dbpool_reply_error(out, 503, "db_error", "database error");
}
