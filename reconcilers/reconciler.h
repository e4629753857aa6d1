/* The reconciler interface: what the daemon's workers run for one claimed queue item.
 *
 * A reconciler is a plain sequential function, called on a worker thread with the
 * workspace id and a lender of Postgres connections (struct rec_db). It reads the full desired and
 * observed state itself (the queue item carries no payload: level-triggered) and says
 * how the run ended in one struct rec_result:
 *
 *   rec_done(out)                                  converged; the item leaves the queue
 *   rec_requeue_after(out, ms)                     fine, but look again after ms (polling
 *                                                  a slow upstream); backoff is reset
 *   rec_error(out, REC_TRANSIENT, 0, fmt, ...)     retry with exponential backoff
 *   rec_error(out, REC_RATE_LIMITED, ms, ...)      retry, never sooner than ms from now
 *   rec_error(out, REC_PERMANENT, 0, ...)          retry only after the backoff cap
 *   rec_fold(out, class, not_before, msg)          one more failure of a pass that goes on
 *
 * An event for the workspace that arrives during the run makes exactly one follow-up
 * run after it (sooner than a requeue-after or a backoff, never sooner than a not-before).
 * Nothing a reconciler returns stops the daemon.
 *
 * This layer knows nothing of the daemon: settings come through struct rec_host, by the
 * names of DESIGN's contract. The daemon lists the reconcilers it offers (VIBN_RECONCILER
 * selects one); required_settings names the variables a reconciler needs (DATABASE_URL is
 * always required), and the daemon refuses to start when one is unset. */
#ifndef VIBN_RECONCILER_H
#define VIBN_RECONCILER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "clients/http.h"

/* How a run failed, worst last: when several steps fail, the worst class decides the
 * retry. REC_OK is success (with requeue_after_ms > 0: look again after that long). */
enum rec_class {
	REC_OK,
	REC_PERMANENT,    /* 401/403/422...: a clear condition, a long backoff */
	REC_TRANSIENT,    /* 5xx, timeouts, connection errors: backoff with jitter */
	REC_RATE_LIMITED, /* 429 or our budget: not before not_before_ms */
};

/* A run's result for the queue. */
struct rec_result {
	enum rec_class cls;
	int64_t not_before_ms;    /* earliest retry on the util_now_ms() clock; 0: none */
	int64_t requeue_after_ms; /* > 0 with REC_OK: run again after this long */
	char message[512];        /* the first failure, one line; stored as last_error */
};

/* Lends Postgres connections. The reconciles in flight outnumber the daemon's database
 * connections (VIBN_WORKERS passes share VIBN_DB_CONNECTIONS): a reconcile takes one for
 * the statements it runs and gives it back before it waits on an upstream, never holding
 * two at once (a taker holding one while waiting for another could wait forever). */
struct rec_db {
	/* An idle autocommit connection, after waiting while all are lent (up to the lender's
	 * own deadline); NULL with a one-line *cause (a new string) when none came in time or
	 * Postgres cannot be reached. */
	PGconn *(*take)(struct rec_db *db, char **cause);
	/* Gives conn back. Leave it idle: a transaction left open is rolled back and a broken
	 * connection replaced, at a cost. */
	void (*give)(struct rec_db *db, PGconn *conn);
	void *arg; /* the lender's */
};

PGconn *rec_db_take(struct rec_db *db, char **cause);
void rec_db_give(struct rec_db *db, PGconn *conn);
/* Runs one statement whose rows are not needed on a connection taken for it (db_command):
 * 0, or -1 with *cause. */
int rec_db_command(struct rec_db *db, const char *sql, int n, const char *const *params,
                   char **cause);

/* A lender of one connection that is always there (tests, tools): takers on several
 * threads wait for each other. */
struct rec_db_one {
	struct rec_db db;
	PGconn *conn; /* borrowed */
	pthread_mutex_t lock;
};

void rec_db_one_init(struct rec_db_one *one, PGconn *conn);
void rec_db_one_fini(struct rec_db_one *one);

/* What a reconciler gets for one run. Everything is borrowed and valid during the call. */
struct rec_ctx {
	const char *workspace_id;     /* uuid text */
	struct rec_db *db;            /* the worker pool's connections, lent per statement */
	int worker;                   /* worker index, 0-based */
	const char *reconcile_id;     /* unique per run, for logs */
	const char *lease_owner;      /* the claim's owner string */
	int attempts;                 /* failures since the last success */
	int priority;                 /* 0 interactive, 1 background */
	const char *reason;           /* what enqueued it: created, spec, webhook, resync, ... */
	double queue_seconds;         /* from enqueue (or due time) to claim */
	const char *log_fields;       /* "workspace=<id> reconcile=<id>" for log_*_kv */
	const volatile int *stopping; /* non-zero once shutdown began: finish soon */
	/* Until when the lease is known to be ours (util_now_ms() clock; the keeper moves it
	 * on each renewal): upstream calls must end by then, since past it another replica
	 * may be reconciling the same workspace. */
	const _Atomic int64_t *lease_until_ms;
};

/* What the daemon offers a reconciler at start-up. Borrowed; valid until fini. */
struct rec_host {
	/* A setting by its variable name ("GITEA_API_URL"): its value (or default) as text,
	 * NULL when unset. Numbers were checked against their bounds already. */
	const char *(*setting)(const struct rec_host *host, const char *name);
	int workers;                           /* VIBN_WORKERS: rec_ctx.worker is below it */
	http_observer_fn observer;             /* the daemon's upstream-request metrics, or NULL */
	void *arg;                             /* the daemon's, for setting() */
	http_retry_observer_fn retry_observer; /* the daemon's retry metrics, or NULL */
};

struct reconciler {
	const char *name;
	/* NULL-terminated variable names this reconciler needs set, or NULL. */
	const char *const *required_settings;
	/* Called once on the main thread before the workers start; *state is passed to
	 * every reconcile call (from several threads at once). NULL: no state. Returns 0,
	 * or -1 with a one-line *cause; vibnd then exits 1. */
	int (*init)(const struct rec_host *host, void **state, char **cause);
	/* Runs one reconcile; must fill *out (it starts as rec_done). */
	void (*reconcile)(const struct rec_ctx *ctx, void *state, struct rec_result *out);
	/* A drift repair run began (this replica's, another's or vibnctl's: the queue's
	 * "resync" notification), or the notifications may have been missed (the LISTEN
	 * connection came back): whatever the reconciler remembers of upstream lists for its
	 * background runs is stale. Called on the event loop: must not block. May be NULL. */
	void (*sweep_started)(void *state);
	/* Called once at exit after the workers stopped; may be NULL. */
	void (*fini)(void *state);
};

/* Finds name in a NULL-terminated table of reconcilers (borrowed), or NULL. */
const struct reconciler *reconciler_find(const struct reconciler *const *table, const char *name);
/* Writes the table's names, comma separated, into buf. */
void reconciler_names(const struct reconciler *const *table, char *buf, size_t len);

void rec_done(struct rec_result *out);
void rec_requeue_after(struct rec_result *out, int64_t ms);
/* Sets a failure of class cls; not_before_ms counts from now (0: none). */
void rec_error(struct rec_result *out, enum rec_class cls, int64_t not_before_ms, const char *fmt,
               ...) __attribute__((format(printf, 4, 5)));
/* Folds one more failure into out: the worst class wins, the latest not-before (on the
 * util_now_ms() clock) wins, and the first message is kept (usually the cause of the
 * rest). */
void rec_fold(struct rec_result *out, enum rec_class cls, int64_t not_before_ms, const char *msg);
const char *rec_class_name(enum rec_class cls);

/* The product's reconciler ("workspace": reconcilers/workspace_daemon.c). */
extern const struct reconciler workspace_reconciler;

#endif
