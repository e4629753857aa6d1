#include "keeper.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clients/db.h"
#include "schema/migrate.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "httpd/metrics.h"
#include "engine/queue.h"
#include "engine/resync.h"
#include "reconcilers/sweep_plan.h"

#define KEEPER_CHECK_MS 1000
#define KEEPER_DEPTH_MS 2000

struct keeper {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *conninfo;
	struct worker_pool *pool;
	int64_t lease_ms;
	PGconn *db; /* the thread's own */
	/* Guarded by lock. */
	int stop, release, done;
	int resync;
	int64_t resync_spread_ms, resync_gap_ms;
	int pace_rps, pace_rpm;
	struct keeper_status st;
	int64_t checked_at; /* monotonic ms, 0: never */
	int warned;
};

static void
keeper_set_status(struct keeper *k, int db_ok, int pending, const char *error)
{
	pthread_mutex_lock(&k->lock);
	k->st.db_ok = db_ok;
	k->st.pending = pending;
	snprintf(k->st.error, sizeof k->st.error, "%s", error ? error : "");
	k->checked_at = util_now_ms();
	pthread_mutex_unlock(&k->lock);
}

/* Drops a broken connection; the next round reconnects. */
static void
keeper_failed(struct keeper *k, const char *what, char *cause)
{
	if (!k->warned)
		log_warn("keeper: %s: %s", what, cause);
	k->warned = 1;
	if (k->db != NULL && PQstatus(k->db) != CONNECTION_OK) {
		PQfinish(k->db);
		k->db = NULL;
	}
}

static void
keeper_check(struct keeper *k)
{
	char *cause = NULL;
	int pending = -1;

	if (k->db == NULL) {
		k->db = db_connect(k->conninfo, "vibnd-keeper", &cause);
		if (k->db == NULL) {
			keeper_set_status(k, 0, -1, cause);
			keeper_failed(k, "connecting", cause);
			free(cause);
			worker_set_ready(k->pool, 0);
			return;
		}
	}
	if (migrate_pending(k->db, &pending, &cause) != 0) {
		keeper_set_status(k, PQstatus(k->db) == CONNECTION_OK, -1, cause);
		keeper_failed(k, "checking migrations", cause);
		free(cause);
		worker_set_ready(k->pool, 0);
		return;
	}
	if (k->warned)
		log_info("keeper: database reachable again");
	k->warned = 0;
	keeper_set_status(k, 1, pending, pending ? "migrations pending" : NULL);
	/* Workers claim only from a current schema. */
	worker_set_ready(k->pool, pending == 0);
}

/* Some leases of a batch were not renewed (run out, e.g. after a database outage longer
 * than a lease, or taken over): which ones, asked one by one, so that the others' runs go
 * on and those stop calling upstreams when their lease ends (worker_leases_renewed). */
static void
keeper_renew_each(struct keeper *k, char **ws, char **owners, int n, int64_t sent)
{
	char *cause = NULL;
	int lost = 0;

	for (int i = 0; i < n; i++) {
		long one = 0;

		if (queue_renew(k->db, (const char *const *)&ws[i], (const char *const *)&owners[i],
		                1, k->lease_ms, &one, &cause) != 0) {
			keeper_failed(k, "renewing leases", cause);
			free(cause);
			return;
		}
		if (one == 1)
			worker_leases_renewed(k->pool, &owners[i], 1, sent);
		else
			lost++;
	}
	log_warn("keeper: %d of %d leases could not be renewed (run out or taken over): their"
	         " reconciles stop calling upstreams",
	         lost, n);
}

/* Renews (release: gives up) the leases of running reconciles. */
static void
keeper_leases(struct keeper *k, int release)
{
	char **ws, **owners, *cause = NULL;
	long count = 0;
	int n;

	if (k->db == NULL)
		return;
	worker_inflight(k->pool, &ws, &owners, &n);
	if (n > 0) {
		int64_t sent = util_now_ms();

		if (queue_renew(k->db, (const char *const *)ws, (const char *const *)owners, n,
		                release ? -1 : k->lease_ms, &count, &cause) != 0) {
			keeper_failed(k, release ? "releasing leases" : "renewing leases", cause);
			free(cause);
		} else if (release) {
			log_info("released %ld lease%s of unfinished reconciles", count,
			         count == 1 ? "" : "s");
		} else if (count < n) {
			keeper_renew_each(k, ws, owners, n, sent);
		} else {
			worker_leases_renewed(k->pool, owners, n, sent);
		}
	}
	worker_inflight_free(ws, owners, n);
}

static void
keeper_depth(struct keeper *k)
{
	long a = 0, b = 0;
	char *cause = NULL;

	if (k->db == NULL)
		return;
	if (queue_depth(k->db, &a, &b, &cause) != 0) {
		keeper_failed(k, "reading the queue depth", cause);
		free(cause);
		return;
	}
	metrics_set_depth(a, b);
}

/* The spread of a run paced to the budgets: spread_ms, or longer when the fleet's calls
 * would take more than SWEEP_PLAN_SHARE of a budget over it (signups and webhooks share the
 * budgets; they are claimed first, but a run that saturated a budget would still make each
 * of their calls wait behind its own). */
static int64_t
keeper_paced_spread(struct keeper *k, int64_t spread_ms, int rps, int rpm)
{
	struct sweep_plan plan;
	char *cause = NULL;
	int64_t paced;

	if (rps <= 0 || rpm <= 0)
		return spread_ms;
	if (sweep_plan_load(k->db, &plan, &cause) != 0) {
		log_warn("drift repair run: no plan (%s); spread over the interval", cause);
		free(cause);
		return spread_ms;
	}
	paced = sweep_plan_spread_ms(&plan, rps, rpm, spread_ms);
	if (paced > spread_ms)
		log_warn("drift repair run: %ld workspaces need %ld Gitea and %ld Coolify calls,"
		         " %.0fs and %.0fs of the budgets (%d/s, %d/min); spread over %.0fs"
		         " instead of VIBN_RESYNC_INTERVAL's %.0fs, so that it takes at most half"
		         " of each (see README, Drift repair runs at scale)",
		         plan.workspaces, plan.gitea_reads + plan.gitea_lists,
		         plan.coolify_reads + plan.coolify_lists,
		         sweep_plan_gitea_seconds(&plan, rps),
		         sweep_plan_coolify_seconds(&plan, rpm), rps, rpm, (double)paced / 1000.0,
		         (double)spread_ms / 1000.0);
	return paced;
}

static void
keeper_do_resync(struct keeper *k, int64_t spread_ms, int64_t gap_ms, int rps, int rpm)
{
	char *cause = NULL;
	long n = 0;

	if (k->db == NULL) {
		log_warn("drift repair run skipped: no database connection");
		return;
	}
	spread_ms = keeper_paced_spread(k, spread_ms, rps, rpm);
	if (resync_run(k->db, spread_ms, gap_ms, &n, &cause) != 0) {
		log_warn("drift repair run failed: %s", cause);
		keeper_failed(k, "drift repair", cause);
		free(cause);
		return;
	}
	if (n < 0) {
		log_debug("drift repair run skipped: another replica ran one recently");
		return;
	}
	metrics_resync(n);
	log_info("drift repair run: %ld workspace%s enqueued over %.0fs", n, n == 1 ? "" : "s",
	         (double)spread_ms / 1000.0);
}

static void *
keeper_main(void *arg)
{
	struct keeper *k = arg;
	int64_t next_check = 0, next_renew = 0, next_depth = 0;
	int64_t renew_every = k->lease_ms / 3 > 0 ? k->lease_ms / 3 : 1;

	for (;;) {
		int64_t now = util_now_ms(), wake, spread = 0, gap = 0;
		int rps = 0, rpm = 0;
		int stop, release, resync;
		struct timespec ts;

		pthread_mutex_lock(&k->lock);
		wake = next_check < next_renew ? next_check : next_renew;
		if (next_depth < wake)
			wake = next_depth;
		while (!k->stop && !k->resync && util_now_ms() < wake) {
			ts.tv_sec = wake / 1000;
			ts.tv_nsec = (wake % 1000) * 1000000L;
			pthread_cond_timedwait(&k->cond, &k->lock, &ts);
		}
		stop = k->stop;
		release = k->release;
		resync = k->resync;
		if (resync) {
			spread = k->resync_spread_ms;
			gap = k->resync_gap_ms;
			rps = k->pace_rps;
			rpm = k->pace_rpm;
			k->resync = 0;
		}
		pthread_mutex_unlock(&k->lock);
		if (stop) {
			if (release)
				keeper_leases(k, 1);
			break;
		}
		now = util_now_ms();
		if (now >= next_check) {
			keeper_check(k);
			next_check = now + KEEPER_CHECK_MS;
		}
		if (now >= next_renew) {
			keeper_leases(k, 0);
			next_renew = now + renew_every;
		}
		if (now >= next_depth) {
			pthread_mutex_lock(&k->lock);
			int ready = k->st.db_ok && k->st.pending == 0;
			pthread_mutex_unlock(&k->lock);
			if (ready)
				keeper_depth(k);
			next_depth = now + KEEPER_DEPTH_MS;
		}
		if (resync)
			keeper_do_resync(k, spread, gap, rps, rpm);
	}
	if (k->db != NULL)
		PQfinish(k->db);
	k->db = NULL;
	pthread_mutex_lock(&k->lock);
	k->done = 1;
	pthread_cond_broadcast(&k->cond);
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

struct keeper *
keeper_start(const char *conninfo, struct worker_pool *pool, int64_t lease_ms)
{
	struct keeper *k = xcalloc(1, sizeof *k);
	pthread_condattr_t ca;

	k->conninfo = xstrdup(conninfo);
	k->pool = pool;
	k->lease_ms = lease_ms;
	k->st.pending = -1;
	snprintf(k->st.error, sizeof k->st.error, "not checked yet");
	pthread_mutex_init(&k->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&k->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&k->thread, NULL, keeper_main, k) != 0)
		fatal("starting the keeper thread");
	return k;
}

void
keeper_status(struct keeper *k, struct keeper_status *st)
{
	pthread_mutex_lock(&k->lock);
	*st = k->st;
	st->age_ms = k->checked_at ? util_now_ms() - k->checked_at : -1;
	pthread_mutex_unlock(&k->lock);
}

void
keeper_resync(struct keeper *k, int64_t spread_ms, int64_t min_gap_ms, int gitea_rps,
              int coolify_rpm)
{
	pthread_mutex_lock(&k->lock);
	k->resync = 1;
	k->resync_spread_ms = spread_ms;
	k->resync_gap_ms = min_gap_ms;
	k->pace_rps = gitea_rps;
	k->pace_rpm = coolify_rpm;
	pthread_cond_broadcast(&k->cond);
	pthread_mutex_unlock(&k->lock);
}

void
keeper_stop(struct keeper *k, int release, int64_t wait_ms)
{
	struct timespec ts;
	int done;

	if (k == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&k->lock);
	k->stop = 1;
	k->release = release;
	pthread_cond_broadcast(&k->cond);
	{
		int64_t deadline = util_now_ms() + wait_ms;

		ts.tv_sec = deadline / 1000;
		ts.tv_nsec = (deadline % 1000) * 1000000L;
		while (!k->done)
			if (pthread_cond_timedwait(&k->cond, &k->lock, &ts) == ETIMEDOUT)
				break;
	}
	done = k->done;
	pthread_mutex_unlock(&k->lock);
	if (!done) {
		/* Stuck in a database call: leave it; the process is about to exit. */
		log_warn("keeper: did not stop within %lldms", (long long)wait_ms);
		pthread_detach(k->thread);
		return;
	}
	pthread_join(k->thread, NULL);
	pthread_cond_destroy(&k->cond);
	pthread_mutex_destroy(&k->lock);
	free(k->conninfo);
	free(k);
}
