/* The durable reconcile queue in Postgres (vibn_reconcile_queue; the SQL functions are in
 * deploy/migrations/0002_queue.sql). Blocking calls on a connection the caller owns (a
 * worker's or the keeper's), never on the event loop. Each call is one round trip. */
#ifndef VIBN_QUEUE_H
#define VIBN_QUEUE_H

#include <stdint.h>

#include <libpq-fe.h>

struct queue_item {
	char workspace_id[40];
	int priority;
	int attempts;
	char reason[64];
	double waited;        /* seconds from enqueue (or due time) to the claim */
	char prev_owner[128]; /* "" unless we took over an expired lease */
};

/* Claims the next due item for owner, leased for lease_ms. Returns 1 with *item, 0 when
 * nothing is due, -1 with a one-line *cause. */
int queue_claim(PGconn *db, const char *owner, int64_t lease_ms, struct queue_item *item,
                char **cause);

/* Sets *ms to the time until the next item becomes claimable (<= 0: now), or -1 when the
 * queue is empty. Returns 0, or -1 with *cause. */
int queue_next_due(PGconn *db, int64_t *ms, char **cause);

/* How a run ended: failed (retry after delay_ms, not before not_before_ms from now (0:
 * none), err stored as last_error), or not (requeue_ms < 0: done, else run again after
 * requeue_ms). Borrowed strings. */
struct queue_outcome {
	const char *ws;
	const char *owner;
	int failed;
	int64_t requeue_ms;
	int64_t delay_ms;
	int64_t not_before_ms;
	const char *err;
};

/* Ends a run as queue_complete or queue_fail do (*how as theirs) and, with next_owner
 * (NULL: none), claims the next due item for next_owner, leased for lease_ms, in the same
 * round trip and transaction. Returns 1 with *next claimed, 0 when nothing was, -1 with a
 * one-line *cause (nothing recorded, nothing claimed; after a lost reply, a claim may have
 * been made that only its lease's expiry frees). */
int queue_finish(PGconn *db, const struct queue_outcome *o, const char *next_owner,
                 int64_t lease_ms, const char **how, struct queue_item *next, char **cause);

/* Ends a successful run: requeue_ms < 0 means done, else run again after requeue_ms. An
 * event during the run turns either into one follow-up run at once. *how is set to
 * "done", "followup", "requeued" or "lost" (the lease was no longer ours; a static
 * string). Returns 0, or -1 with *cause. */
int queue_complete(PGconn *db, const char *ws, const char *owner, int64_t requeue_ms,
                   const char **how, char **cause);

/* Ends a failed run: retry after delay_ms, and not before not_before_ms from now (0:
 * none); attempts + 1; err is stored as last_error. *how is "retry", "followup" or
 * "lost". Returns 0, or -1 with *cause. */
int queue_fail(PGconn *db, const char *ws, const char *owner, int64_t delay_ms,
               int64_t not_before_ms, const char *err, const char **how, char **cause);

/* Renews (or releases, when lease_ms < 0) the n leases given as parallel arrays of
 * workspace ids and owners. *count is how many were still ours. Returns 0, or -1. */
int queue_renew(PGconn *db, const char *const *ws, const char *const *owners, int n,
                int64_t lease_ms, long *count, char **cause);

/* Due, unclaimed items by priority (for workqueue_depth). Returns 0, or -1 with *cause. */
int queue_depth(PGconn *db, long *interactive, long *background, char **cause);

/* The retry delay after the attempts-th consecutive failure (1 = first): base * 2^(n-1),
 * capped at cap, then scaled by a factor in (0.8, 1.0] from unit (a random number in
 * [0, 1)) so retries spread out yet never exceed cap and still grow strictly until the
 * cap. Pure: unit-tested. */
int64_t queue_backoff_ms(int attempts, int64_t base_ms, int64_t cap_ms, double unit);

#endif
