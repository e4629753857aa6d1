#include "worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clients/db.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "httpd/metrics.h"
#include "engine/dbconns.h"
#include "engine/queue.h"

#define WORKER_RETRY_MIN_MS 100
#define WORKER_RETRY_MAX_MS 5000
/* How long a worker waits for one of the shared connections for its own statements before
 * it looks at the pool's state again (stop, readiness). */
#define WORKER_TAKE_WAIT_MS 250

struct worker {
	struct worker_pool *pool;
	int index;
	pthread_t thread;
	int started;
	uint64_t seq;
	int64_t retry_ms; /* current reconnect backoff */
	/* Until when the running reconcile's lease is known to be ours (util_now_ms() clock):
	 * set at the claim, moved by each renewal (worker_leases_renewed). */
	_Atomic int64_t lease_until_ms;
	/* Guarded by pool->lock. */
	int busy;
	char ws[40];
	char owner[160];
	/* The item claimed with the last run's outcome (worker_finish), run next; or none
	 * was due then (looked_none): the next round idles without a claim of its own. */
	int has_next;
	int looked_none;
	struct queue_item next;
	char next_owner[160];
};

struct worker_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct worker_config cfg;
	struct dbconns *conns; /* VIBN_DB_CONNECTIONS, lent to the workers' statements */
	char instance[96];
	struct worker *w;
	loop_fn on_exit;
	void *on_exit_arg;
	/* Guarded by lock (stopping is also read without it by reconcilers: a hint). */
	volatile int stopping;
	int abandoned;
	int fenced; /* worker_fence: leases are no longer extended */
	int ready;
	int tokens;
	int64_t next_due;  /* monotonic ms of the earliest known due item, INT64_MAX: none */
	int64_t looked_ms; /* when an idle worker last looked at the queue (worker_idle) */
	int running;
};

/* Until when a lease asked for at sent_ms is surely still ours: the database counts its
 * lease_ms from when it got the request, later than sent_ms; a tenth is left for the
 * requests in flight at the end and for clocks that drift. */
static int64_t
worker_lease_end(const struct worker_pool *p, int64_t sent_ms)
{
	return sent_ms + p->cfg.lease_ms - p->cfg.lease_ms / 10;
}

static void
worker_timespec(int64_t mono_ms, struct timespec *ts)
{
	ts->tv_sec = mono_ms / 1000;
	ts->tv_nsec = (mono_ms % 1000) * 1000000L;
}

/* How an idle worker's wait ended. */
enum worker_woken {
	WORKER_TIMED_OUT, /* the time ran out, or the pool is stopping */
	WORKER_DUE,       /* the pool's next due time arrived */
	WORKER_TOKEN,     /* worker_wake: a notification, a reconnect, a chained wake */
};

/* Waits until woken (a token), stopped, timeout_ms passed, or (use_due) the pool's next
 * due time arrived. Consumes one token or the due time. */
static enum worker_woken
worker_wait(struct worker *w, int64_t timeout_ms, int use_due)
{
	struct worker_pool *p = w->pool;
	int64_t deadline = util_now_ms() + timeout_ms;
	struct timespec ts;
	enum worker_woken why = WORKER_TIMED_OUT;

	pthread_mutex_lock(&p->lock);
	while (!p->stopping && p->tokens == 0) {
		int64_t now = util_now_ms(), until = deadline;

		if (use_due && p->next_due <= now) {
			p->next_due = INT64_MAX;
			why = WORKER_DUE;
			break;
		}
		if (now >= deadline)
			break;
		if (use_due && p->next_due < until)
			until = p->next_due;
		worker_timespec(until, &ts);
		pthread_cond_timedwait(&p->cond, &p->lock, &ts);
	}
	if (p->tokens > 0) {
		p->tokens--;
		why = WORKER_TOKEN;
	}
	pthread_mutex_unlock(&p->lock);
	return why;
}

/* Sleeps ms unless the pool is abandoned; tokens do not interrupt it. */
static void
worker_pause(struct worker *w, int64_t ms)
{
	struct worker_pool *p = w->pool;
	int64_t deadline = util_now_ms() + ms;
	struct timespec ts;

	worker_timespec(deadline, &ts);
	pthread_mutex_lock(&p->lock);
	while (!p->abandoned && util_now_ms() < deadline)
		pthread_cond_timedwait(&p->cond, &p->lock, &ts);
	pthread_mutex_unlock(&p->lock);
}

static int
worker_stopping(struct worker_pool *p)
{
	int s;

	pthread_mutex_lock(&p->lock);
	s = p->stopping;
	pthread_mutex_unlock(&p->lock);
	return s;
}

static int64_t
worker_next_retry(struct worker *w)
{
	int64_t d = w->retry_ms == 0 ? WORKER_RETRY_MIN_MS : w->retry_ms * 2;

	if (d > WORKER_RETRY_MAX_MS)
		d = WORKER_RETRY_MAX_MS;
	w->retry_ms = d;
	/* Jitter, so a restarted Postgres is not hit by every worker at once. */
	return (int64_t)((double)d * (0.5 + 0.5 * util_random_unit()));
}

/* Takes a connection for the worker's own statements (claim, due time, outcome), waiting
 * up to wait_ms while all are lent. Returns 0 with *conn, 1 when none came free (the
 * caller looks again), -1 when Postgres could not be reached (the pool logged it; the caller
 * waits and retries). */
static int
worker_take(struct worker *w, int64_t wait_ms, PGconn **conn)
{
	char *cause = NULL;
	int rc = dbconns_take(w->pool->conns, util_now_ms() + wait_ms, conn, &cause);

	free(cause);
	return rc;
}

/* After a failed statement: log it (the first of an episode), give the connection back
 * (the pool drops it when broken). */
static void
worker_db_failed(struct worker *w, PGconn *conn, const char *what, char *cause)
{
	if (w->retry_ms == 0)
		log_warn("worker %d: %s: %s", w->index, what, cause);
	free(cause);
	dbconns_give(w->pool->conns, conn);
}

/* A new lease owner string for the worker's next claim: unique per claim. */
static void
worker_owner(struct worker *w, char *out, size_t len)
{
	snprintf(out, len, "%s/w%d/%llu", w->pool->instance, w->index,
	         (unsigned long long)++w->seq);
}

/* A lease asked for at sent_ms is the worker's: its upstream calls may go on until it
 * ends, unless the pool was fenced meanwhile (nothing more is sent then). */
static void
worker_lease_start(struct worker *w, int64_t sent_ms)
{
	pthread_mutex_lock(&w->pool->lock);
	if (!w->pool->fenced)
		atomic_store(&w->lease_until_ms, worker_lease_end(w->pool, sent_ms));
	pthread_mutex_unlock(&w->pool->lock);
}

/* Whether the worker may take more work: the pool is ready, not stopping, not fenced. */
static int
worker_may_claim(struct worker_pool *p)
{
	int may;

	pthread_mutex_lock(&p->lock);
	may = p->ready && !p->stopping && !p->fenced && !p->abandoned;
	pthread_mutex_unlock(&p->lock);
	return may;
}

/* The run's outcome as the queue takes it. */
static void
worker_outcome(const struct worker *w, const struct queue_item *item, const char *owner,
               const struct rec_result *res, struct queue_outcome *o)
{
	const struct worker_config *cfg = &w->pool->cfg;

	memset(o, 0, sizeof *o);
	o->ws = item->workspace_id;
	o->owner = owner;
	o->requeue_ms = res->requeue_after_ms > 0 ? res->requeue_after_ms : -1;
	if (res->cls != REC_OK) {
		int64_t wait = res->not_before_ms > 0 ? res->not_before_ms - util_now_ms() : 0;

		o->failed = 1;
		o->delay_ms =
		    queue_backoff_ms(res->cls == REC_PERMANENT ? 64 : item->attempts + 1,
		                     cfg->backoff_base_ms, cfg->backoff_cap_ms, util_random_unit());
		o->not_before_ms = wait > 0 ? wait : 0;
		o->err = res->message[0] ? res->message : "error";
	}
}

/* Writes the run's outcome and, in the same round trip, claims the worker's next item
 * (w->next, when the pool may take more): a worker with work waiting goes from one run to
 * the next in one statement. Reconnects and retries through a database outage for as long
 * as the lease is known to be ours (lease_until_ms: past it, another replica may have taken
 * the workspace over, and the outcome is no longer ours to write), unless the shutdown
 * deadline passed. Returns the SQL function's answer, or NULL. */
static const char *
worker_finish(struct worker *w, const struct queue_item *item, const char *owner,
              const struct rec_result *res, const char *fields)
{
	struct worker_pool *p = w->pool;
	struct queue_outcome o;
	const char *how = NULL;
	char *cause = NULL;
	PGconn *db = NULL;
	int rc;

	worker_outcome(w, item, owner, res, &o);
	for (;;) {
		int lent;

		rc = worker_take(w, WORKER_TAKE_WAIT_MS, &db);
		lent = rc == 1;
		if (rc == 0) {
			int claim = worker_may_claim(p);
			int64_t sent_ms = util_now_ms();

			if (claim)
				worker_owner(w, w->next_owner, sizeof w->next_owner);
			rc = queue_finish(db, &o, claim ? w->next_owner : NULL, p->cfg.lease_ms,
			                  &how, &w->next, &cause);
			if (rc >= 0) {
				dbconns_give(p->conns, db);
				w->retry_ms = 0;
				w->has_next = rc == 1;
				w->looked_none = claim && rc == 0;
				if (w->has_next)
					worker_lease_start(w, sent_ms);
				return how;
			}
			if (PQstatus(db) == CONNECTION_OK) {
				log_error_kv(fields, "recording the outcome failed: %s", cause);
				free(cause);
				dbconns_give(p->conns, db);
				return NULL;
			}
			worker_db_failed(w, db, "recording the outcome", cause);
			cause = NULL;
		}
		pthread_mutex_lock(&p->lock);
		rc = p->abandoned;
		pthread_mutex_unlock(&p->lock);
		if (rc || util_now_ms() > atomic_load(&w->lease_until_ms)) {
			log_error_kv(fields,
			             "giving up recording the outcome; the lease will expire");
			return NULL;
		}
		/* Every connection lent: the take waited already; a failure backs off. */
		if (!lent)
			worker_pause(w, worker_next_retry(w));
	}
}

/* Gives back the item claimed for the next run when the worker will not run it (the pool
 * stops): its lease released, it is claimable at once again, by another replica too. */
static void
worker_release_next(struct worker *w)
{
	const char *ws = w->next.workspace_id, *owner = w->next_owner;
	char *cause = NULL;
	PGconn *db = NULL;
	long count = 0;

	w->has_next = 0;
	if (worker_take(w, WORKER_TAKE_WAIT_MS, &db) != 0)
		return; /* the lease runs out instead */
	if (queue_renew(db, &ws, &owner, 1, -1, &count, &cause) != 0) {
		worker_db_failed(w, db, "releasing an unstarted claim", cause);
		return;
	}
	dbconns_give(w->pool->conns, db);
}

static enum metrics_result
worker_metrics_result(const struct rec_result *res)
{
	if (res->cls != REC_OK)
		return METRICS_ERROR;
	return res->requeue_after_ms > 0 ? METRICS_REQUEUE_AFTER : METRICS_SUCCESS;
}

static void
worker_run(struct worker *w, const struct queue_item *item, const char *owner)
{
	struct worker_pool *p = w->pool;
	struct rec_result res;
	struct rec_ctx ctx;
	unsigned char rnd[8];
	char rid[17], fields[160];
	const char *how;
	int64_t t0;
	double secs;

	util_random_bytes(rnd, sizeof rnd);
	util_hex(rnd, sizeof rnd, rid);
	snprintf(fields, sizeof fields, "workspace=%s reconcile=%s", item->workspace_id, rid);
	pthread_mutex_lock(&p->lock);
	w->busy = 1;
	snprintf(w->ws, sizeof w->ws, "%s", item->workspace_id);
	snprintf(w->owner, sizeof w->owner, "%s", owner);
	pthread_mutex_unlock(&p->lock);
	metrics_queue_wait(item->waited);
	metrics_active_workers(1);
	if (item->prev_owner[0] != '\0')
		log_warn_kv(fields, "took over an expired lease from %s", item->prev_owner);
	log_debug_kv(fields, "reconcile start: priority %d, attempts %d, reason %s, waited %.3fs",
	             item->priority, item->attempts, item->reason, item->waited);

	memset(&ctx, 0, sizeof ctx);
	ctx.workspace_id = item->workspace_id;
	ctx.db = dbconns_lender(p->conns);
	ctx.worker = w->index;
	ctx.reconcile_id = rid;
	ctx.lease_owner = owner;
	ctx.attempts = item->attempts;
	ctx.priority = item->priority;
	ctx.reason = item->reason;
	ctx.queue_seconds = item->waited;
	ctx.log_fields = fields;
	ctx.stopping = &p->stopping;
	ctx.lease_until_ms = &w->lease_until_ms;
	rec_done(&res);
	t0 = util_now_us();
	p->cfg.rec->reconcile(&ctx, p->cfg.rec_state, &res);
	secs = (double)(util_now_us() - t0) / 1e6;

	how = worker_finish(w, item, owner, &res, fields);
	metrics_reconcile(worker_metrics_result(&res), res.cls == REC_PERMANENT, secs);
	if (res.cls != REC_OK) {
		if (how != NULL && strcmp(how, "lost") != 0)
			metrics_retry();
		log_warn_kv(fields, "reconcile failed (%s, attempt %d, %.3fs, next: %s): %s",
		            rec_class_name(res.cls), item->attempts + 1, secs,
		            how ? how : "unrecorded", res.message[0] ? res.message : "error");
	} else if (how != NULL && strcmp(how, "lost") == 0) {
		log_warn_kv(fields, "reconcile finished after its lease was lost (%.3fs)", secs);
	} else if (item->priority == 0 || log_enabled(LOG_LVL_DEBUG)) {
		log_info_kv(fields, "reconcile %s (%.3fs%s%s)",
		            res.requeue_after_ms > 0 ? "requeued" : "done", secs,
		            how && strcmp(how, "followup") == 0 ? ", follow-up run queued" : "",
		            item->priority ? ", background" : "");
	}
	pthread_mutex_lock(&p->lock);
	w->busy = 0;
	pthread_mutex_unlock(&p->lock);
	metrics_active_workers(-1);
}

/* An idle worker's wait: the poll interval, with jitter. */
static int64_t
worker_poll_ms(const struct worker_pool *p)
{
	return (int64_t)((double)p->cfg.poll_ms * (0.9 + 0.2 * util_random_unit()));
}

/* Whether an idle worker of the pool looked at the queue within the last half poll
 * interval: then another look now would learn nothing new (notifications and due times
 * wake workers anyway), and the pool's idle statements do not grow with VIBN_WORKERS. */
static int
worker_looked_lately(struct worker_pool *p)
{
	int lately;

	pthread_mutex_lock(&p->lock);
	lately = util_now_ms() - p->looked_ms < p->cfg.poll_ms / 2;
	pthread_mutex_unlock(&p->lock);
	return lately;
}

/* Nothing claimable: learn when something will be, tell the pool, and wait. Returns how
 * the wait ended. */
static enum worker_woken
worker_idle(struct worker *w)
{
	struct worker_pool *p = w->pool;
	char *cause = NULL;
	int64_t ms = -1;
	PGconn *db = NULL;

	pthread_mutex_lock(&p->lock);
	p->looked_ms = util_now_ms();
	pthread_mutex_unlock(&p->lock);
	if (worker_take(w, WORKER_TAKE_WAIT_MS, &db) != 0) {
		/* Busy or down: the poll below looks again. */
	} else if (queue_next_due(db, &ms, &cause) != 0) {
		worker_db_failed(w, db, "reading the next due time", cause);
	} else {
		dbconns_give(p->conns, db);
		if (ms >= 0) {
			int64_t due = util_now_ms() + (ms < 1 ? 1 : ms);

			pthread_mutex_lock(&p->lock);
			if (due < p->next_due)
				p->next_due = due;
			pthread_mutex_unlock(&p->lock);
		}
	}
	return worker_wait(w, worker_poll_ms(p), 1);
}

/* Runs the item claimed with the last outcome; else claims one and runs it, or idles when
 * there is none; woken: how this round's worker was last woken. Returns how the idle wait
 * ended (WORKER_TOKEN after a run or when every connection was lent: look again at once),
 * or -1 when the database failed (the caller waits and retries). */
static int
worker_round(struct worker *w, enum worker_woken woken)
{
	struct worker_pool *p = w->pool;
	struct queue_item item;
	char owner[160], *cause = NULL;
	PGconn *db = NULL;
	int rc;

	if (w->has_next) {
		w->has_next = 0;
		item = w->next;
		snprintf(owner, sizeof owner, "%s", w->next_owner);
		worker_run(w, &item, owner);
		return WORKER_TOKEN;
	}
	if (w->looked_none) {
		w->looked_none = 0;
		return (int)worker_idle(w);
	}
	rc = worker_take(w, WORKER_TAKE_WAIT_MS, &db);
	if (rc != 0)
		return rc < 0 ? -1 : WORKER_TOKEN; /* all lent: again (stop is checked between) */
	worker_owner(w, owner, sizeof owner);
	worker_lease_start(w, util_now_ms());
	rc = queue_claim(db, owner, p->cfg.lease_ms, &item, &cause);
	if (rc < 0) {
		worker_db_failed(w, db, "claiming", cause);
		return -1;
	}
	dbconns_give(p->conns, db);
	w->retry_ms = 0;
	if (rc == 0)
		return (int)worker_idle(w);
	/* Work that no notification announced (a due time, or a lost notification found by a
	 * poll): there may be more, and the other idle workers are not looking (one looks per
	 * half poll interval); wake one, which does the same, until a claim finds nothing. */
	if (woken != WORKER_TOKEN)
		worker_wake(p, 1);
	worker_run(w, &item, owner);
	return WORKER_TOKEN;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct worker_pool *p = w->pool;
	int ready, rc = WORKER_TOKEN;

	while (!worker_stopping(p)) {
		pthread_mutex_lock(&p->lock);
		ready = p->ready;
		pthread_mutex_unlock(&p->lock);
		if (w->has_next) {
			/* Claimed with the last outcome, under a lease already running; given
			 * back if the pool was fenced or stopped meanwhile. */
			if (worker_may_claim(p))
				rc = worker_round(w, WORKER_TOKEN);
			else
				worker_release_next(w);
			continue;
		}
		if (!ready) {
			worker_wait(w, 1000, 0);
			continue;
		}
		/* A poll ran out, but another idle worker just looked: wait again. */
		if (rc == WORKER_TIMED_OUT && worker_looked_lately(p)) {
			rc = (int)worker_wait(w, worker_poll_ms(p), 1);
			continue;
		}
		rc = worker_round(w, (enum worker_woken)rc);
		if (rc < 0) {
			worker_wait(w, worker_next_retry(w), 0);
			rc = WORKER_TOKEN;
		}
	}
	if (w->has_next)
		worker_release_next(w);
	pthread_mutex_lock(&p->lock);
	p->running--;
	pthread_mutex_unlock(&p->lock);
	log_debug("worker %d: stopped", w->index);
	if (p->on_exit != NULL)
		loop_call(p->on_exit, p->on_exit_arg);
	return NULL;
}

struct worker_pool *
worker_start(const struct worker_config *cfg, loop_fn on_exit, void *arg)
{
	struct worker_pool *p = xcalloc(1, sizeof *p);
	pthread_condattr_t ca;
	char host[64] = "";
	unsigned char rnd[3];
	char hex[7];

	p->cfg = *cfg;
	p->cfg.conninfo = NULL;
	p->conns =
	    dbconns_new(cfg->conninfo, "vibnd-worker", cfg->db_connections, metrics_worker_db);
	p->on_exit = on_exit;
	p->on_exit_arg = arg;
	p->next_due = INT64_MAX;
	gethostname(host, sizeof host - 1);
	util_random_bytes(rnd, sizeof rnd);
	util_hex(rnd, sizeof rnd, hex);
	snprintf(p->instance, sizeof p->instance, "%s:%d:%s", host[0] ? host : "vibnd",
	         (int)getpid(), hex);
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	p->w = xcalloc((size_t)cfg->workers, sizeof *p->w);
	for (int i = 0; i < cfg->workers; i++) {
		struct worker *w = &p->w[i];

		w->pool = p;
		w->index = i;
		pthread_mutex_lock(&p->lock);
		p->running++;
		pthread_mutex_unlock(&p->lock);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			fatal("starting worker %d", i);
		w->started = 1;
	}
	return p;
}

const char *
worker_instance(const struct worker_pool *p)
{
	return p->instance;
}

void
worker_wake(struct worker_pool *p, int n)
{
	int all = p->cfg.workers;

	pthread_mutex_lock(&p->lock);
	if (n < 0 || n >= all) {
		p->tokens = all;
		pthread_cond_broadcast(&p->cond);
	} else {
		p->tokens += n;
		if (p->tokens > all)
			p->tokens = all;
		/* Tokens are taken by whoever wakes; broadcast keeps it simple and, with
		 * few idle waiters, cheap. */
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
}

void
worker_set_ready(struct worker_pool *p, int ready)
{
	pthread_mutex_lock(&p->lock);
	if (ready && !p->ready) {
		p->tokens = p->cfg.workers;
		pthread_cond_broadcast(&p->cond);
	}
	p->ready = ready;
	pthread_mutex_unlock(&p->lock);
}

void
worker_stop(struct worker_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void
worker_fence(struct worker_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->fenced = 1;
	for (int i = 0; i < p->cfg.workers; i++)
		atomic_store(&p->w[i].lease_until_ms, 1); /* long past: nothing more is sent */
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void
worker_abandon(struct worker_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->abandoned = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

int
worker_running(struct worker_pool *p)
{
	int n;

	pthread_mutex_lock(&p->lock);
	n = p->running;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void
worker_inflight(struct worker_pool *p, char ***ws, char ***owners, int *n)
{
	int k = 0;

	*ws = xcalloc((size_t)p->cfg.workers + 1, sizeof **ws);
	*owners = xcalloc((size_t)p->cfg.workers + 1, sizeof **owners);
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->cfg.workers; i++) {
		if (!p->w[i].busy)
			continue;
		(*ws)[k] = xstrdup(p->w[i].ws);
		(*owners)[k] = xstrdup(p->w[i].owner);
		k++;
	}
	pthread_mutex_unlock(&p->lock);
	*n = k;
}

void
worker_leases_renewed(struct worker_pool *p, char *const *owners, int n, int64_t sent_ms)
{
	int64_t until = worker_lease_end(p, sent_ms);

	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->cfg.workers && !p->fenced; i++) {
		if (!p->w[i].busy)
			continue;
		for (int k = 0; k < n; k++)
			if (strcmp(p->w[i].owner, owners[k]) == 0)
				atomic_store(&p->w[i].lease_until_ms, until);
	}
	pthread_mutex_unlock(&p->lock);
}

void
worker_inflight_free(char **ws, char **owners, int n)
{
	for (int i = 0; i < n; i++) {
		free(ws[i]);
		free(owners[i]);
	}
	free(ws);
	free(owners);
}

void
worker_free(struct worker_pool *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < p->cfg.workers; i++)
		if (p->w[i].started)
			pthread_join(p->w[i].thread, NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->w);
	dbconns_free(p->conns);
	free(p);
}
