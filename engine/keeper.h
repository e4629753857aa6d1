/* The keeper: one housekeeping thread with its own Postgres connection, so the loop
 * never waits on the database. It renews the leases of running reconciles (every third
 * of the lease), checks readiness (database reachable, migrations current) every
 * second and gates the workers on it, refreshes the queue depth gauge, runs drift
 * repair when asked, and at shutdown releases the leases of unfinished reconciles. */
#ifndef VIBN_KEEPER_H
#define VIBN_KEEPER_H

#include <stdint.h>

#include "engine/worker.h"

struct keeper;

struct keeper_status {
	int db_ok;       /* the last check reached the database */
	int pending;     /* migrations not applied; -1: unknown */
	int64_t age_ms;  /* since the last completed check; -1: none yet */
	char error[256]; /* why the last check failed, "" if it did not */
};

/* Starts the thread. conninfo is copied; pool is borrowed and must outlive the keeper. */
struct keeper *keeper_start(const char *conninfo, struct worker_pool *pool, int64_t lease_ms);

/* Thread-safe snapshot of the readiness check. */
void keeper_status(struct keeper *k, struct keeper_status *st);

/* Asks for a drift repair run: every workspace enqueued at background priority, due
 * times spread over spread_ms, skipped if another replica ran one within min_gap_ms. With
 * gitea_rps and coolify_rpm (the budgets; 0: unpaced) the spread is stretched when the run's
 * calls (reconcilers/sweep_plan.h) would take more than half of either budget over it. */
void keeper_resync(struct keeper *k, int64_t spread_ms, int64_t min_gap_ms, int gitea_rps,
                   int coolify_rpm);

/* Stops the thread and frees the keeper. With release, first gives up the leases of
 * reconciles still running (shutdown deadline). Waits at most wait_ms for the thread;
 * a thread stuck in the database is left behind. */
void keeper_stop(struct keeper *k, int release, int64_t wait_ms);

#endif
