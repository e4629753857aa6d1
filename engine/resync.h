/* Drift repair runs: a loop timer that fires every VIBN_RESYNC_INTERVAL (+-10% jitter, so
 * replicas and restarts drift apart) and asks for a run, and the run itself: one SQL
 * statement (vibn_resync) that enqueues every workspace at background priority with due
 * times spread across the interval. */
#ifndef VIBN_RESYNC_H
#define VIBN_RESYNC_H

#include <stdint.h>

#include <libpq-fe.h>

#include "controller/loop.h"

struct resync;

/* Arms the timer on the loop; fire(arg) runs on the loop thread at each tick and must not
 * block (it hands the run to the keeper). Returns the timer (owned; resync_free). */
struct resync *resync_start(int64_t interval_ms, loop_fn fire, void *arg);
void resync_free(struct resync *r);

/* The delay before the next tick: interval scaled by a factor in [0.9, 1.1) from unit
 * (a random number in [0, 1)). Pure: unit-tested. */
int64_t resync_jitter_ms(int64_t interval_ms, double unit);

/* Runs vibn_resync on db (blocking; a worker-side connection). *enqueued is how many
 * workspaces were added, or -1 when another replica ran one within min_gap_ms. Returns
 * 0, or -1 with a one-line *cause. */
int resync_run(PGconn *db, int64_t spread_ms, int64_t min_gap_ms, long *enqueued, char **cause);

#endif
