/* The worker pool: VIBN_WORKERS threads claiming queue items and running the reconciler on
 * them, sharing VIBN_DB_CONNECTIONS Postgres connections (engine/dbconns.h): a thread holds
 * one only for a statement, so many more reconciles wait on upstreams at once than there
 * are connections. The loop never blocks on them: it wakes them (worker_wake, after a
 * NOTIFY or a reconnect) and hears of their exit through loop_call. The idle workers also
 * look at the queue when the next known item falls due, and between them about twice per
 * poll interval (not each on its own), so a lost notification only costs latency; work
 * found that way wakes the next worker. */
#ifndef VIBN_WORKER_H
#define VIBN_WORKER_H

#include <stdint.h>

#include "controller/loop.h"
#include "reconcilers/reconciler.h"

struct worker_config {
	const char *conninfo; /* copied */
	int workers;
	int db_connections; /* shared by the workers' statements */
	int64_t lease_ms;
	int64_t backoff_base_ms;
	int64_t backoff_cap_ms;
	int64_t poll_ms;
	const struct reconciler *rec; /* borrowed, static */
	void *rec_state;              /* borrowed; the reconciler's init state */
};

struct worker_pool;

/* Starts the threads. on_exit(arg) runs on the loop thread each time a worker thread
 * ends (after worker_stop). Returns the pool (owned; worker_free). */
struct worker_pool *worker_start(const struct worker_config *cfg, loop_fn on_exit, void *arg);

/* The instance id that prefixes every lease owner of this process (borrowed). */
const char *worker_instance(const struct worker_pool *p);

/* Wakes n idle workers to look at the queue; n < 0 wakes all (after a reconnect). */
void worker_wake(struct worker_pool *p, int n);

/* Whether the schema is current: workers claim nothing until it is. Setting it wakes all. */
void worker_set_ready(struct worker_pool *p, int ready);

/* Stops claiming: idle workers exit at once, busy ones after their current run. */
void worker_stop(struct worker_pool *p);

/* Busy workers stop retrying the write of their outcome (shutdown deadline passed). */
void worker_abandon(struct worker_pool *p);
/* Ends every running reconcile's upstream calls now (those under way are cut, none more is
 * sent) and stops extending leases: before leases are given up, so that no reconcile of
 * this process can still act when another replica takes its workspace over. */
void worker_fence(struct worker_pool *p);

/* Threads still running. */
int worker_running(struct worker_pool *p);

/* Snapshot of the leases held by running reconciles: parallel arrays of *n new strings
 * (free with worker_inflight_free). */
void worker_inflight(struct worker_pool *p, char ***ws, char ***owners, int *n);
void worker_inflight_free(char **ws, char **owners, int n);
/* The keeper renewed the leases of these owners with a request sent at sent_ms
 * (util_now_ms() clock): their reconciles may go on calling upstreams for another lease. */
void worker_leases_renewed(struct worker_pool *p, char *const *owners, int n, int64_t sent_ms);

/* Joins every thread (call once worker_running is 0) and frees the pool. */
void worker_free(struct worker_pool *p);

#endif
