/* Blocking HTTP for reconcile worker threads, on one reused libcurl easy handle per client
 * (keep-alive), with JSON through jansson, a shared per-upstream budget, and every
 * response folded into one small class the reconcilers branch on.
 *
 * Transient failures (5xx, 408, timeouts, dropped or refused connections) of requests that
 * can be sent twice (GET, HEAD, PUT, PATCH, DELETE) are tried again inside the request, a
 * few times with short jittered pauses, within the deadline and the budget; a POST only
 * when its connection could not even be made. What still fails is the caller's.
 *
 * The budget is a token bucket, and, for an upstream that announces its own fixed window
 * (X-RateLimit-Limit / X-RateLimit-Remaining on every answer, Retry-After on a 429, as
 * Laravel's throttle does for Coolify), that window: while announcements come, what the
 * window has left may all go at once, and when it is spent every client waits for its end.
 *
 * Threads: a struct http_client belongs to one worker at a time; a struct http_budget is shared
 * by all workers of an upstream. Redirects are never followed (Gitea answers a renamed org
 * with 307 and a renamed repo with 301: that is news for the reconciler, not a detour).
 * Tokens never reach a log: a debug line per request carries upstream, method, path, status,
 * class and duration only. Handles use CURLOPT_NOSIGNAL (threads), so the program must
 * ignore SIGPIPE itself. */
#ifndef VIBN_HTTP_H
#define VIBN_HTTP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/buf.h"

/* Response bodies above this size are refused (HTTP_INVALID, "response body over 8 MiB"). */
#define HTTP_MAX_BODY (8u * 1024 * 1024)
/* A list read as it arrives (http_each) keeps one element at a time, so its cap bounds how
 * long one read may run rather than memory: Coolify's lists are not paginated, and 100,000
 * projects already make a body of tens of megabytes. One element may be up to
 * HTTP_MAX_LIST_ITEM. */
#define HTTP_MAX_LIST_BODY (1024u * 1024 * 1024)
#define HTTP_MAX_LIST_ITEM (1024u * 1024)

enum http_class {
	HTTP_OK,           /* 2xx */
	HTTP_NOT_FOUND,    /* 404, 410 */
	HTTP_CONFLICT,     /* 409, and 422 whose message says "already exists" (Gitea orgs) */
	HTTP_INVALID,      /* other 4xx, 422 validation, bad TLS peer, oversized body */
	HTTP_UNAUTHORIZED, /* 401, 403, and 400 "Invalid token." (Coolify) */
	HTTP_RATE_LIMITED, /* 429 from upstream, or our own budget cannot serve before the deadline
	                    */
	HTTP_TRANSIENT,    /* 5xx, 408, timeouts, connection errors, unexpected bodies */
	HTTP_REDIRECTED,   /* 301, 302, 303, 307, 308: location holds the target */
};

/* "ok", "not_found", "conflict", "invalid", "unauthorized", "rate_limited", "transient",
 * "redirected". */
const char *http_class_name(enum http_class cls);

/* What a call came to, in fixed buffers so callers can keep it on the stack. */
struct http_status {
	enum http_class cls;
	long status;           /* HTTP status; 0 when no response arrived (or none was sent) */
	int64_t not_before_ms; /* util_now_ms() time before which a retry is pointless; 0 = none */
	char message[512];     /* the upstream's message (Gitea "message", Coolify "message" plus
	                        * "errors"), or the transport error; "" when there is none */
	char location[1024];   /* Location of a redirect; "" otherwise */
};

/* A whole response. */
struct http_response {
	struct http_status st;
	json_t *body;     /* owned: the parsed JSON body, NULL when empty or not JSON */
	struct buf text;  /* owned: the raw body (Coolify's /version is plain text) */
	long total_count; /* X-Total-Count, -1 when absent */
};

void http_response_init(struct http_response *r);
/* Releases what r owns and re-initializes it. */
void http_response_free(struct http_response *r);

/* A budget shared by every worker talking to one upstream: a token bucket, the upstream's
 * announced window when it is followed, and the 429 pause. */
struct http_budget;

/* Who is asking: interactive work (a signup, an explicit provision, a webhook) goes before
 * background work (drift sweeps), which also leaves a tenth of an announced window to it. */
enum http_priority {
	HTTP_PRIO_INTERACTIVE,
	HTTP_PRIO_BACKGROUND,
};

/* Returns a new budget refilling per_second tokens per second, holding at most burst
 * (>= 1). name (copied) appears in messages. */
struct http_budget *http_budget_new(const char *name, double per_second, double burst);
/* Follows the upstream's own fixed window of window_ms (Coolify: a minute) whenever its
 * answers announce it; the token bucket then applies only while they do not (a server that
 * sends no X-RateLimit headers, or none for two minutes). */
void http_budget_follow_window(struct http_budget *b, int64_t window_ms);
void http_budget_free(struct http_budget *b);
/* Lets one request go, sleeping while it is worth it. Returns 0 with *ticket naming it (for
 * http_budget_report); -1 when it could go only after deadline_ms (util_now_ms() clock),
 * with *not_before_ms set to when it may. Thread-safe. */
int http_budget_acquire(struct http_budget *b, enum http_priority prio, int64_t deadline_ms,
                        uint64_t *ticket, int64_t *not_before_ms)
    __attribute__((warn_unused_result));
/* http_budget_acquire for an interactive request, ticket unused. */
int http_budget_take(struct http_budget *b, int64_t deadline_ms, int64_t *not_before_ms)
    __attribute__((warn_unused_result));

/* What one answer said of the upstream's window. */
struct http_window_note {
	long limit;     /* X-RateLimit-Limit, -1 when absent */
	long remaining; /* X-RateLimit-Remaining, -1 when absent */
	int limited;    /* the answer was a 429 */
	long retry_ms;  /* Retry-After in ms, -1 when absent */
	long status;    /* the answer's status; 0: none came */
};
/* Tells the budget what the answer to request ticket announced (every answer, and also a
 * request that was let through and never sent: limit -1). Thread-safe. */
void http_budget_report(struct http_budget *b, uint64_t ticket, const struct http_window_note *n);

/* The followed window as the budget sees it now (for tests and logs). */
struct http_window_state {
	int following;       /* an announced window is in force (else the bucket is) */
	long limit;          /* the last announced limit, 0: none */
	long available;      /* what may still be sent in it */
	int64_t reset_in_ms; /* when it ends, from now; -1 unknown */
	int reset_exact;     /* known exactly (a 429, or opened by us) rather than bounded */
};
void http_budget_window(struct http_budget *b, struct http_window_state *st);
/* Pauses the upstream for every worker until until_ms (util_now_ms() clock); a shorter
 * pause never shortens a longer one. */
void http_budget_pause(struct http_budget *b, int64_t until_ms);
/* The end of the current pause, or 0. */
int64_t http_budget_paused_until(struct http_budget *b);

struct http_client_config {
	const char *upstream;       /* "gitea" or "coolify": names log lines and metrics */
	const char *base_url;       /* prefix of every path, without a trailing slash */
	const char *auth_header;    /* e.g. "Authorization: token T"; copied, never logged */
	const char *ca_file;        /* PEM bundle to trust instead of the system's; NULL = system */
	long connect_timeout_ms;    /* 0 = 5000 */
	long timeout_ms;            /* whole request; 0 = 30000 */
	long budget_wait_ms;        /* longest wait for a budget token; 0 = 10000 */
	int max_retries;            /* retries of a transient failure in one request; 0 = 3,
	                             * -1 = none */
	struct http_budget *budget; /* borrowed, shared; NULL = unlimited */
};

struct http_client;

/* Returns a new client (one per worker thread and upstream). Copies every string in cfg. */
struct http_client *http_client_new(const struct http_client_config *cfg);
void http_client_free(struct http_client *c);
/* Sets an absolute deadline (util_now_ms() clock) for every following request: the budget
 * wait and the request itself end by then. 0 removes it. */
void http_client_set_deadline(struct http_client *c, int64_t deadline_ms);
/* A second, moving deadline (util_now_ms() clock, 0: none), read before every attempt: how
 * long the caller's lease on its work is known to last (the worker's, renewed by the
 * keeper). Past it nothing more is sent: another replica may have taken the work over.
 * until_ms is borrowed and outlives the client's use of it; NULL removes it. */
void http_client_set_fence(struct http_client *c, const _Atomic int64_t *until_ms);
/* The earlier of the deadline and the fence, or 0 when neither is set. */
int64_t http_client_deadline(const struct http_client *c);
/* Whose work the following requests are, for the budget (default interactive). */
void http_client_set_priority(struct http_client *c, enum http_priority prio);

/* Sends method base_url+path (path starts with '/', may carry a query string already
 * escaped; libcurl never sends a POST twice by itself: see http_upload in http.c) with
 * body (borrowed; NULL sends none) as JSON, and fills out (which the caller initialized; previous
 * contents are freed) with the last attempt's outcome (see the retries above). Returns
 * out->st.cls. */
enum http_class http_request(struct http_client *c, const char *method, const char *path,
                             const json_t *body, struct http_response *out);

/* Request helpers for the typed clients (gitea.c, coolify.c). */
#include "clients/jsonx.h"

/* Where a streamed 2xx body goes instead of struct http_response.text (error bodies are
 * kept as usual, for their message). */
struct http_sink {
	int (*write)(void *arg, const char *data, size_t n); /* 0, or -1 to abort the transfer */
	void (*reset)(void *arg); /* a response starts (again): forget what was written */
	void *arg;
	size_t max_bytes; /* a longer body fails HTTP_INVALID ("response body over N MiB") */
};

/* GET path, handing a 2xx body to sink as it arrives. A sink that aborts makes the call
 * HTTP_TRANSIENT ("unexpected response body"). Returns out->st.cls. */
enum http_class http_get_sink(struct http_client *c, const char *path, const struct http_sink *sink,
                              struct http_response *out);
/* One GET whose 2xx body is a JSON array, read as it arrives (jsonx_stream): fn sees each
 * element (borrowed) in order, and nothing else is kept, so a list of any length costs the
 * memory of one element. A body that is not one array, an element fn refuses, or a response
 * that starts over after elements were handed over fails HTTP_TRANSIENT; fn may then have
 * seen some elements, which the caller discards. */
enum http_class http_each(struct http_client *c, const char *path, jsonx_item_fn fn, void *arg,
                          struct http_status *st);

/* Marks a 2xx response whose body had an unexpected shape: HTTP_TRANSIENT, with a message. */
void http_fail_unexpected(struct http_response *r);
/* Copies r's outcome to st (when not NULL), frees r, and returns the class. */
enum http_class http_finish(struct http_response *r, struct http_status *st);
/* One request whose 2xx body (when out is not NULL) is an object parsed by fn into out. */
enum http_class http_call_object(struct http_client *c, const char *method, const char *path,
                                 const json_t *body, jsonx_parse_fn fn, void *out,
                                 struct http_status *st);
/* One GET whose body is a JSON array parsed into a new typed array (*v, *count), element by
 * element as it arrives (http_each): the typed array is all that is kept. */
enum http_class http_call_array(struct http_client *c, const char *path, size_t elemsize,
                                jsonx_parse_fn fn, void (*itemfree)(void *), void **v,
                                size_t *count, struct http_status *st);

/* Returns a new string: s percent-encoded for use as one path segment or query value
 * (everything but ALPHA, DIGIT, "-", ".", "_", "~" is escaped). */
char *http_escape(const char *s);
/* Returns a new path: fmt with its %s conversions (up to three) filled by a, b and c, each
 * escaped with http_escape first (NULL for those fmt does not use): how the Gitea and
 * Coolify clients put names and uuids into their paths. */
char *http_path(const char *fmt, const char *a, const char *b, const char *c);

/* Counts requests for metrics: called once per request that reached the wire (status 0 when
 * no response arrived), from the worker's thread. Set it once at start-up. */
typedef void (*http_observer_fn)(const char *upstream, const char *method, int status,
                                 double seconds);
void http_set_observer(http_observer_fn fn);
/* Counts retries inside requests for metrics: called once per retry, reason "5xx",
 * "timeout", "connection" or "429", from the worker's thread. */
typedef void (*http_retry_observer_fn)(const char *upstream, const char *method,
                                       const char *reason);
void http_set_retry_observer(http_retry_observer_fn fn);

/* Sees every request as it is sent, body included (which may hold secrets such as a hook's:
 * never log it). For conformance tests; NULL removes it. */
typedef void (*http_tracer_fn)(const char *upstream, const char *method, const char *path,
                               const json_t *body, void *arg);
void http_set_tracer(http_tracer_fn fn, void *arg);

/* The transport options a client applies to its easy handle before every request; exposed
 * so tests can check the security-relevant ones. */
struct http_curl_opts {
	long ssl_verify_peer;  /* 1 */
	long ssl_verify_host;  /* 2 */
	long follow_location;  /* 0 */
	long no_signal;        /* 1: worker threads */
	const char *protocols; /* "http,https" */
	const char *ca_file;   /* borrowed; NULL = system */
	long connect_timeout_ms;
	long timeout_ms;
};
void http_client_curl_opts(const struct http_client *c, struct http_curl_opts *o);

/* A request the clients can send, for the conformance test against the upstream specs. */
struct http_route {
	const char *method;
	const char *path;      /* template relative to the API base, e.g. "/orgs/{org}" */
	const char *query;     /* comma-separated query parameters it may carry, or NULL */
	const char *always;    /* comma-separated body fields always sent, or NULL */
	const char *sometimes; /* body fields sent when set, or NULL */
	const char *one_of;    /* body fields of which exactly one is sent, or NULL */
};

/* Parses Retry-After (delta seconds or an HTTP date) into milliseconds from now (>= 0,
 * capped at an hour); -1 when it cannot be parsed. */
long http_parse_retry_after(const char *value);

/* Classifies a status and upstream message (NULL allowed). */
enum http_class http_classify(long status, const char *message);

#endif
