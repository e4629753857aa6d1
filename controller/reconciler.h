/* The reconciler interface: what the daemon core runs for one claimed queue item.
 *
 * A reconciler is a plain sequential function, called on a worker thread with the
 * workspace id and the worker's own Postgres connection. It reads the full desired and
 * observed state itself (the queue item carries no payload: level-triggered) and says
 * how the run ended:
 *
 *   rec_done(out)                          converged; the item leaves the queue
 *   rec_requeue_after(out, ms)             fine, but look again after ms (polling a
 *                                          slow upstream); backoff is reset
 *   rec_error(out, REC_ERR_TRANSIENT, 0, fmt, ...)    retry with exponential backoff
 *   rec_error(out, REC_ERR_RATE_LIMITED, ms, ...)     retry, never sooner than ms from now
 *   rec_error(out, REC_ERR_PERMANENT, 0, ...)         retry only after the backoff cap
 *
 * An event for the workspace that arrives during the run makes exactly one follow-up
 * run after it (sooner than a requeue-after or a backoff, never sooner than a not-before).
 * Nothing a reconciler returns stops the daemon.
 *
 * Registering: add the reconciler to the table in reconciler.c (one line); select it
 * with VIBN_RECONCILER / --reconciler. required_settings names the variables it needs
 * (DATABASE_URL is always required); vibnd refuses to start when one is unset. */
#ifndef VIBN_RECONCILER_H
#define VIBN_RECONCILER_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct config;

enum rec_outcome { REC_DONE, REC_REQUEUE_AFTER, REC_ERROR };

enum rec_error_class {
	REC_ERR_TRANSIENT,    /* 5xx, timeouts, connection errors */
	REC_ERR_RATE_LIMITED, /* 429: not_before_ms from Retry-After */
	REC_ERR_PERMANENT,    /* 401/403/422: needs a human; back off long */
};

struct rec_result {
	enum rec_outcome outcome;
	int64_t after_ms;               /* REC_REQUEUE_AFTER */
	enum rec_error_class err_class; /* REC_ERROR */
	int64_t not_before_ms;          /* REC_ERROR: earliest retry, from now; 0: none */
	char *message;                  /* REC_ERROR: owned, one line; stored as last_error */
};

/* What a reconciler gets for one run. Everything is borrowed and valid during the call. */
struct rec_ctx {
	const char *workspace_id;     /* uuid text */
	PGconn *db;                   /* the worker's connection: idle, autocommit; leave it so */
	int worker;                   /* worker index, 0-based */
	const char *reconcile_id;     /* unique per run, for logs */
	const char *lease_owner;      /* the claim's owner string */
	int attempts;                 /* failures since the last success */
	int priority;                 /* 0 interactive, 1 background */
	const char *reason;           /* what enqueued it: created, spec, webhook, resync, ... */
	double queue_seconds;         /* from enqueue (or due time) to claim */
	const char *log_fields;       /* "workspace=<id> reconcile=<id>" for log_*_kv */
	const volatile int *stopping; /* non-zero once shutdown began: finish soon */
};

struct reconciler {
	const char *name;
	/* NULL-terminated variable names this reconciler needs set, or NULL. */
	const char *const *required_settings;
	/* Called once on the main thread before the workers start; *state is passed to
	 * every reconcile call (from several threads at once). NULL: no state. Returns 0,
	 * or -1 with a one-line *cause; vibnd then exits 1. */
	int (*init)(const struct config *cfg, void **state, char **cause);
	/* Runs one reconcile; must fill *out (it starts as rec_done). */
	void (*reconcile)(const struct rec_ctx *ctx, void *state, struct rec_result *out);
	/* Called once at exit after the workers stopped; may be NULL. */
	void (*fini)(void *state);
};

/* Finds a registered reconciler by name (borrowed, static), or NULL. */
const struct reconciler *reconciler_find(const char *name);
/* Writes the registered names, comma separated, into buf. */
void reconciler_names(char *buf, size_t len);

void rec_done(struct rec_result *out);
void rec_requeue_after(struct rec_result *out, int64_t ms);
void rec_error(struct rec_result *out, enum rec_error_class cls, int64_t not_before_ms,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Frees out->message and resets to done. */
void rec_result_clear(struct rec_result *out);
const char *rec_error_class_name(enum rec_error_class cls);

/* Built-in reconcilers (testrec.c). */
extern const struct reconciler workspace_reconciler; /* "workspace": the product */
extern const struct reconciler testrec_reconciler; /* "test": see vibn_test_behaviour */
extern const struct reconciler testrec_noop;       /* "noop": done at once (benchmarks) */

#endif
