/* events: what happened to a workspace, in the shape of Kubernetes Events
 * (vibn_workspace_events): a type (Normal or Warning), a reason (the condition reasons:
 * Created, Adopted, Updated, Recreated, Synced, Deleted, Unauthorized, RateLimited, ...),
 * the object (kind and name: "repo" "vibn-acme/web", "app" "acme-web", "project"
 * "vibn-ws-acme", "member" "bob", ...), a message, a count, the first and last time, and
 * the id of the reconcile that saw it last.
 *
 * The reconciler writes one for every upstream change it makes and every failure; a steady
 * state writes none. The same event again within the window is counted on its row rather
 * than added (what kubectl shows as "x10 over 5m"); each workspace keeps its newest
 * events (keep) and nothing older than the retention. Every change of a row gives it a new
 * seq, so newest first is seq descending, and a reader that remembers the highest seq it
 * saw (vibnctl events --watch) finds exactly what is new.
 *
 * Runs queries on the caller's connection: call from a worker or a database thread. */
#ifndef VIBN_EVENTS_H
#define VIBN_EVENTS_H

#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

#define EVENTS_NORMAL  "Normal"
#define EVENTS_WARNING "Warning"

/* Defaults of VIBN_EVENT_WINDOW, VIBN_EVENT_RETENTION (seconds) and VIBN_EVENT_KEEP. */
#define EVENTS_DEFAULT_WINDOW_S    600
#define EVENTS_DEFAULT_RETENTION_S 604800
#define EVENTS_DEFAULT_KEEP        200

struct events_settings {
	int64_t window_ms;    /* repeats within it are counted; 0: the default */
	int64_t retention_ms; /* nothing older is kept; 0: the default */
	int keep;             /* newest events kept per workspace; 0: the default */
};

/* The settings with defaults filled in, as SQL texts: for a statement that records events
 * along with something else, vibn_events_record(ws, events, reconcile_id,
 * window::interval, keep::integer, retention::interval). */
struct events_params {
	char window[48];
	char retention[48];
	char keep[16];
};

void events_params(const struct events_settings *s, struct events_params *p);

/* Records one event of workspace ws_id (all strings borrowed; reconcile_id may be NULL).
 * Returns 0, or -1 with a one-line *cause. */
int events_record(PGconn *db, const char *ws_id, const char *type, const char *reason,
                  const char *kind, const char *name, const char *message, const char *reconcile_id,
                  const struct events_settings *s, char **cause)
    __attribute__((warn_unused_result));

/* One event as an element of a batch: a new JSON object {"type", "reason", "kind", "name",
 * "message"}, or NULL when a string is not UTF-8. */
json_t *events_entry(const char *type, const char *reason, const char *kind, const char *name,
                     const char *message);

/* Records events of workspace ws_id in one call, in order, each as events_record would (a
 * reconcile pass's, at its end): events_json is a JSON array of events_entry objects.
 * Returns 0, or -1 with a one-line *cause. */
int events_record_batch(PGconn *db, const char *ws_id, const char *events_json,
                        const char *reconcile_id, const struct events_settings *s, char **cause)
    __attribute__((warn_unused_result));

/* Prunes every workspace's events by s (what a quiet workspace never triggers itself).
 * Returns 0 with *n rows removed (n may be NULL), or -1 with *cause. */
int events_prune(PGconn *db, const struct events_settings *s, long long *n, char **cause)
    __attribute__((warn_unused_result));

/* A page of events. */
struct events_query {
	const char *ws_id; /* one workspace, or NULL for every one */
	long limit;        /* at most this many */
	long long before;  /* > 0: only events with seq below it (the next page, newest first) */
	long long since;   /* > 0: only events with seq above it, oldest first (following) */
};

/* Lists events as a new JSON array (newest first, or oldest first with q->since), each
 *   {"seq", "workspace", "type", "reason", "object": {"kind", "name"}, "message", "count",
 *    "firstTimestamp", "lastTimestamp", "reconcileId"}
 * (timestamps RFC 3339 UTC with milliseconds). Returns 0, or -1 with *cause. */
int events_list(PGconn *db, const struct events_query *q, json_t **out, char **cause)
    __attribute__((warn_unused_result));

#endif
