#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define HTTP_DEFAULT_CONNECT_MS 5000
#define HTTP_DEFAULT_TIMEOUT_MS 30000
#define HTTP_DEFAULT_WAIT_MS    10000
/* A 429 without a usable Retry-After still pauses the upstream this long. */
#define HTTP_DEFAULT_RETRY_MS 2000
#define HTTP_MAX_RETRY_MS     3600000L
/* Retries of a transient failure inside one request (idempotent methods): at most this many,
 * after a jittered pause of base x 2^n (0.5x..1.5x), never past the deadline, and never
 * waiting longer than the cap (a longer Retry-After is the queue's business). */
#define HTTP_DEFAULT_RETRIES   3
#define HTTP_RETRY_BASE_MS     100
#define HTTP_RETRY_MAX_WAIT_MS 2000
/* An upstream's announced window is followed while announcements keep coming; one not heard
 * of for this long no longer counts, and the token bucket applies again. */
#define HTTP_WINDOW_STALE_MS 120000
/* Limiters count in whole seconds (Laravel's window timer, Retry-After): a reset can come up
 * to a second later than announced, so the budget waits that much more. */
#define HTTP_WINDOW_SLACK_MS 1000
/* Background requests leave this share (percent) of an announced window to interactive
 * ones. */
#define HTTP_WINDOW_RESERVE_PCT 10
/* Adaptive timeouts: a request may take HTTP_RTO_FACTOR x (smoothed answer time + 4 x its
 * variation), never less than the floor (reads, and writes, which do more) and never more
 * than the configured timeout. A hung upstream then costs about a second, not the whole
 * configured timeout, while one that is slow for everyone soon gets all the time it needs. */
#define HTTP_RTO_FACTOR      4
#define HTTP_RTO_FLOOR_READ  1000
#define HTTP_RTO_FLOOR_WRITE 3000
#define HTTP_RTO_BACKOFF_MAX 6 /* a timeout doubles the next one's, up to 2^6 */

struct http_budget {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a window announcement or a granted request: waiters look again */
	char *name;
	double per_ms;     /* refill rate */
	double burst;      /* capacity */
	double tokens;     /* may go negative: reserved by sleeping workers */
	int64_t refill_us; /* time of the last refill */
	int64_t paused_until_ms;
	int waiting_interactive; /* interactive requests waiting: background ones wait behind */
	uint64_t sent;           /* tickets handed out: one per request let through */

	/* The upstream's own fixed window, as its answers announce it (X-RateLimit-Limit and
	 * -Remaining on every answer, Retry-After on a 429): http_budget_follow_window. */
	int64_t window_ms;    /* its length; 0: not followed */
	long win_limit;       /* the last announced limit; 0: none yet */
	int64_t win_seen_ms;  /* when the last announcement came */
	uint64_t win_first;   /* the first ticket counted in the current window */
	long win_remaining;   /* the lowest Remaining its answers announced */
	long inflight;        /* tickets handed out whose answers are not in yet */
	int64_t win_reset_ms; /* when the window ends: exact, or an upper bound; 0: unknown */
	int win_reset_exact;  /* the end is known (a 429 said so, or we opened the window) */
	uint64_t probe;       /* the ticket of a request sent to learn a spent window's end */

	/* How long the upstream takes to answer, reads [0] and writes [1] (http_rtt_*). */
	struct http_rtt {
		double srtt, rttvar; /* ms, smoothed as TCP does (RFC 6298) */
		int samples;
		int backoff; /* timeouts since the last answer: each doubles the timeout */
	} rtt[2];
};

struct http_client {
	CURL *easy;
	char *upstream;
	char *base_url;
	char *ca_file;
	struct curl_slist *headers; /* Accept, Content-Type, Authorization, Expect */
	long connect_timeout_ms;
	long timeout_ms;
	long budget_wait_ms;
	int64_t deadline_ms;
	const _Atomic int64_t *fence_ms; /* http_client_set_fence; NULL: none */
	int max_retries;
	enum http_priority priority;
	struct http_budget *budget;
	const struct http_sink *sink; /* set by http_get_sink for its one request */
	char errbuf[CURL_ERROR_SIZE];
};

/* What the header and write callbacks collect during one transfer. */
struct http_xfer {
	struct http_response *out;
	const struct http_sink *sink; /* NULL: the body goes to out->text */
	long status;                  /* of the response whose headers came last */
	size_t streamed;              /* bytes handed to sink */
	size_t cap;                   /* the cap that was exceeded, when too_big */
	int too_big;
	int sink_failed;
	char retry_after[128];
	long rl_limit;     /* X-RateLimit-Limit, -1 absent */
	long rl_remaining; /* X-RateLimit-Remaining, -1 absent */
};

static _Atomic(http_observer_fn) http_observer;
static _Atomic(http_retry_observer_fn) http_retry_observer;
static http_tracer_fn http_tracer;
static void *http_tracer_arg;
static pthread_once_t http_once = PTHREAD_ONCE_INIT;

static void
http_global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		fatalx("curl_global_init failed");
}

const char *
http_class_name(enum http_class cls)
{
	switch (cls) {
	case HTTP_OK:
		return "ok";
	case HTTP_NOT_FOUND:
		return "not_found";
	case HTTP_CONFLICT:
		return "conflict";
	case HTTP_INVALID:
		return "invalid";
	case HTTP_UNAUTHORIZED:
		return "unauthorized";
	case HTTP_RATE_LIMITED:
		return "rate_limited";
	case HTTP_TRANSIENT:
		return "transient";
	case HTTP_REDIRECTED:
		return "redirected";
	}
	return "unknown";
}

void
http_set_observer(http_observer_fn fn)
{
	atomic_store(&http_observer, fn);
}

void
http_set_retry_observer(http_retry_observer_fn fn)
{
	atomic_store(&http_retry_observer, fn);
}

void
http_set_tracer(http_tracer_fn fn, void *arg)
{
	http_tracer = fn;
	http_tracer_arg = arg;
}

/* ---- responses ---- */

void
http_response_init(struct http_response *r)
{
	memset(r, 0, sizeof *r);
	buf_init(&r->text);
	r->total_count = -1;
}

void
http_response_free(struct http_response *r)
{
	json_decref(r->body);
	buf_free(&r->text);
	http_response_init(r);
}

static void http_set_message(struct http_status *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
http_set_message(struct http_status *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->message, sizeof st->message, fmt, ap);
	va_end(ap);
}

/* ---- classification ---- */

enum http_class
http_classify(long status, const char *message)
{
	if (status >= 200 && status < 300)
		return HTTP_OK;
	switch (status) {
	case 301:
	case 302:
	case 303:
	case 307:
	case 308:
		return HTTP_REDIRECTED;
	case 400:
		/* Coolify answers a token whose team is gone with 400 "Invalid token."
		 * (bootstrap/helpers/api.php invalidTokenResponse), the status it also gives
		 * "Project has resources": the message tells them apart. */
		if (message != NULL && strncmp(message, "Invalid token.", 14) == 0)
			return HTTP_UNAUTHORIZED;
		return HTTP_INVALID;
	case 401:
	case 403:
		return HTTP_UNAUTHORIZED;
	case 404:
	case 410:
		return HTTP_NOT_FOUND;
	case 408:
		return HTTP_TRANSIENT;
	case 409:
		return HTTP_CONFLICT;
	case 422:
		/* Gitea reports a taken org name as 422 "user already exists [name: x]". */
		if (message != NULL && strcasestr(message, "already exists") != NULL)
			return HTTP_CONFLICT;
		return HTTP_INVALID;
	case 429:
		return HTTP_RATE_LIMITED;
	default:
		break;
	}
	if (status >= 400 && status < 500)
		return HTTP_INVALID;
	return HTTP_TRANSIENT;
}

long
http_parse_retry_after(const char *value)
{
	long secs;
	time_t when;

	if (value == NULL)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	if (isdigit((unsigned char)*value)) {
		char tmp[32];
		size_t n = strcspn(value, " \t\r\n");

		if (n >= sizeof tmp)
			return HTTP_MAX_RETRY_MS;
		memcpy(tmp, value, n);
		tmp[n] = '\0';
		if (util_parse_long(tmp, 0, HTTP_MAX_RETRY_MS / 1000, &secs) != 0)
			return HTTP_MAX_RETRY_MS;
		return secs * 1000;
	}
	when = curl_getdate(value, NULL);
	if (when == (time_t)-1)
		return -1;
	secs = (long)(when - time(NULL));
	if (secs <= 0)
		return 0;
	if (secs > HTTP_MAX_RETRY_MS / 1000)
		return HTTP_MAX_RETRY_MS;
	return secs * 1000;
}

/* Appends Coolify's {"errors": {"field": ["msg", ...] | "msg"}} to the message. */
static void
http_append_errors(struct buf *b, json_t *errors)
{
	const char *field;
	json_t *v, *item;
	size_t i;
	int first = 1;

	if (!json_is_object(errors) || json_object_size(errors) == 0)
		return;
	buf_puts(b, " (");
	json_object_foreach(errors, field, v)
	{
		if (!first)
			buf_puts(b, "; ");
		first = 0;
		buf_printf(b, "%s: ", field);
		if (json_is_string(v)) {
			buf_puts(b, json_string_value(v));
		} else if (json_is_array(v)) {
			json_array_foreach(v, i, item)
			{
				if (json_is_string(item))
					buf_printf(b, "%s%s", i ? ", " : "",
					           json_string_value(item));
			}
		}
	}
	buf_putc(b, ')');
}

/* Fills st->message from an error body: Gitea {"message","url"}, Coolify {"message",
 * "errors"} or {"message","error"}, or the first line of a non-JSON body. */
static void
http_extract_message(struct http_response *r)
{
	struct buf b;
	json_t *msg;

	buf_init(&b);
	if (json_is_object(r->body)) {
		msg = json_object_get(r->body, "message");
		if (json_is_string(msg))
			buf_puts(&b, json_string_value(msg));
		msg = json_object_get(r->body, "error");
		if (json_is_string(msg))
			buf_printf(&b, "%s%s", b.len ? ": " : "", json_string_value(msg));
		http_append_errors(&b, json_object_get(r->body, "errors"));
	} else if (r->text.len > 0) {
		const char *t = buf_str(&r->text);
		size_t n = strcspn(t, "\r\n");

		buf_append(&b, t, n < 200 ? n : 200);
	}
	snprintf(r->st.message, sizeof r->st.message, "%s", buf_str(&b));
	buf_free(&b);
}

static void
http_sleep_until_ms(int64_t until_ms)
{
	struct timespec ts = {.tv_sec = until_ms / 1000, .tv_nsec = (until_ms % 1000) * 1000000};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* ---- budgets ---- */

struct http_budget *
http_budget_new(const char *name, double per_second, double burst)
{
	struct http_budget *b = xcalloc(1, sizeof *b);
	pthread_condattr_t ca;

	if (per_second <= 0)
		fatalx("http_budget_new: %s: rate must be positive", name);
	pthread_mutex_init(&b->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cv, &ca);
	pthread_condattr_destroy(&ca);
	b->name = xstrdup(name);
	b->per_ms = per_second / 1000.0;
	b->burst = burst < 1 ? 1 : burst;
	b->tokens = b->burst;
	b->refill_us = util_now_us();
	return b;
}

void
http_budget_follow_window(struct http_budget *b, int64_t window_ms)
{
	pthread_mutex_lock(&b->mu);
	b->window_ms = window_ms > 0 ? window_ms : 0;
	pthread_mutex_unlock(&b->mu);
}

void
http_budget_free(struct http_budget *b)
{
	if (b == NULL)
		return;
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	free(b->name);
	free(b);
}

static void
http_budget_refill(struct http_budget *b, int64_t now_us)
{
	double add = (double)(now_us - b->refill_us) / 1000.0 * b->per_ms;

	b->refill_us = now_us;
	b->tokens += add;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
}

/* Waits on the budget's condition until until_ms (util_now_ms() clock) or a signal. Called
 * with the mutex held. */
static void
http_budget_wait(struct http_budget *b, int64_t until_ms)
{
	struct timespec ts = {.tv_sec = until_ms / 1000, .tv_nsec = (until_ms % 1000) * 1000000};

	pthread_cond_timedwait(&b->cv, &b->mu, &ts);
}

/* The announced window counts (followed, announced, and heard of lately). Mutex held. */
static int
http_window_on(const struct http_budget *b, int64_t now)
{
	return b->window_ms > 0 && b->win_limit > 0 && now - b->win_seen_ms < HTTP_WINDOW_STALE_MS;
}

/* What the window has left for new requests: the lowest count its answers announced
 * (answers overtake each other on the way, and within one window the count only falls),
 * less the requests still on their way. Mutex held. */
static long
http_window_available(const struct http_budget *b)
{
	return b->win_remaining - b->inflight;
}

/* One request under the announced window. 0 when it may go now; -1 with *until set to when
 * to look again (0: when an answer announces something). Mutex held. */
static int
http_window_take(struct http_budget *b, enum http_priority prio, int64_t now, int *probe,
                 int64_t *until)
{
	long avail, reserve = 0;

	if (b->win_reset_ms > 0 && now >= b->win_reset_ms) {
		/* A new window: everything sent before counted against the old one. When it
		 * ends is known from its first answer. */
		b->win_remaining = b->win_limit;
		b->win_first = b->sent + 1;
		b->win_reset_ms = 0;
		b->win_reset_exact = 0;
	}
	avail = http_window_available(b);
	if (prio == HTTP_PRIO_BACKGROUND) {
		reserve = b->win_limit * HTTP_WINDOW_RESERVE_PCT / 100;
		if (reserve < 1)
			reserve = 1;
	}
	if (avail > reserve)
		return 0;
	/* Spent, with only an upper bound on its end (a window someone else opened): one
	 * interactive request finds out, at the cost of at most one 429 that says exactly. */
	if (avail <= 0 && prio == HTTP_PRIO_INTERACTIVE && b->win_reset_ms > 0 &&
	    !b->win_reset_exact && b->probe == 0) {
		*probe = 1;
		return 0;
	}
	*until = b->win_reset_ms;
	return -1;
}

/* One request under the token bucket. 0 when it may go (now, or after sleeping until
 * *until: a token was reserved for it); -1 with *until set to when a token comes. Only
 * interactive requests reserve a token to sleep for it, in arrival order; background ones
 * look again when it is there, after any interactive one that reserved it meanwhile. Mutex
 * held. */
static int
http_bucket_take(struct http_budget *b, enum http_priority prio, int64_t now_us,
                 int64_t deadline_ms, int64_t *until)
{
	http_budget_refill(b, now_us);
	if (b->tokens >= 1) {
		b->tokens -= 1;
		*until = 0;
		return 0;
	}
	*until = now_us / 1000 + (int64_t)ceil((1 - b->tokens) / b->per_ms);
	if (*until > deadline_ms || prio == HTTP_PRIO_BACKGROUND)
		return -1;
	b->tokens -= 1;
	return 0;
}

int
http_budget_acquire(struct http_budget *b, enum http_priority prio, int64_t deadline_ms,
                    uint64_t *ticket, int64_t *not_before_ms)
{
	int waiting = 0, probe = 0, rc = -1;
	int64_t until = 0, sleep_until = 0;

	pthread_mutex_lock(&b->mu);
	for (;;) {
		int64_t now_us = util_now_us(), now = now_us / 1000;

		until = 0;
		if (b->paused_until_ms > now) {
			until = b->paused_until_ms;
		} else if (prio == HTTP_PRIO_BACKGROUND && b->waiting_interactive > 0) {
			/* Interactive work (a signup, a webhook) goes first: look again when it
			 * got through. */
			until = 0;
		} else if (http_window_on(b, now)) {
			if (http_window_take(b, prio, now, &probe, &until) == 0)
				break;
		} else if (http_bucket_take(b, prio, now_us, deadline_ms, &until) == 0) {
			sleep_until = until;
			break;
		}
		if (until > deadline_ms || (until == 0 && now >= deadline_ms)) {
			*not_before_ms = until > 0 ? until : now + HTTP_WINDOW_SLACK_MS;
			goto out;
		}
		if (!waiting && prio == HTTP_PRIO_INTERACTIVE) {
			waiting = 1;
			b->waiting_interactive++;
		}
		http_budget_wait(b, until > 0 ? until : deadline_ms);
	}
	*ticket = ++b->sent;
	b->inflight++;
	if (probe)
		b->probe = *ticket;
	rc = 0;
out:
	if (waiting) {
		b->waiting_interactive--;
		pthread_cond_broadcast(&b->cv);
	}
	pthread_mutex_unlock(&b->mu);
	if (rc == 0 && sleep_until > 0)
		http_sleep_until_ms(sleep_until);
	return rc;
}

int
http_budget_take(struct http_budget *b, int64_t deadline_ms, int64_t *not_before_ms)
{
	uint64_t ticket;

	if (http_budget_acquire(b, HTTP_PRIO_INTERACTIVE, deadline_ms, &ticket, not_before_ms) != 0)
		return -1;
	/* No answer will be reported for it: it is not on its way. */
	pthread_mutex_lock(&b->mu);
	b->inflight--;
	pthread_mutex_unlock(&b->mu);
	return 0;
}

void
http_budget_report(struct http_budget *b, uint64_t ticket, const struct http_window_note *n)
{
	int64_t now = util_now_ms();
	int opened;

	pthread_mutex_lock(&b->mu);
	if (ticket != 0 && b->inflight > 0)
		b->inflight--;
	if (ticket != 0 && ticket == b->probe)
		b->probe = 0;
	if (b->window_ms > 0 && n->limit < 0 && n->status >= 200 && n->status < 300) {
		/* The application answered without announcing a window (its limit was turned
		 * off, or a proxy strips the headers): the bucket is the budget again. Errors
		 * say nothing: a proxy's 502 or a refused token never carries the headers. */
		b->win_limit = 0;
		b->win_reset_ms = 0;
		b->win_reset_exact = 0;
		goto out;
	}
	if (b->window_ms == 0 || n->limit <= 0 || n->remaining < 0)
		goto out;
	b->win_limit = n->limit;
	b->win_seen_ms = now;
	if (n->limited) {
		/* Spent: until Retry-After (whole seconds, so up to one more), and everything
		 * sent so far counted against it. */
		b->win_reset_ms = now + (n->retry_ms >= 0 ? n->retry_ms : HTTP_DEFAULT_RETRY_MS) +
		                  HTTP_WINDOW_SLACK_MS;
		b->win_reset_exact = 1;
		b->win_remaining = 0;
		b->win_first = b->sent + 1;
		goto out;
	}
	opened = n->remaining == n->limit - 1;
	if (opened && !(b->win_reset_exact && now < b->win_reset_ms)) {
		/* This request opened a window: it ends a window's length from now. (Inside a
		 * window whose end is known, such an answer only overtook later ones.) */
		b->win_reset_ms = now + b->window_ms + HTTP_WINDOW_SLACK_MS;
		b->win_reset_exact = 1;
		b->win_remaining = n->remaining;
		b->win_first = ticket;
		goto out;
	}
	if (ticket < b->win_first)
		goto out; /* sent before the window turned: it counted against the old one */
	if (!opened &&
	    (b->win_reset_ms == 0 || (n->remaining > b->win_remaining && !b->win_reset_exact))) {
		/* A window someone else opened (another replica sharing the token, or one
		 * found at start): it began before this answer, so it ends within a window's
		 * length from now. */
		b->win_reset_ms = now + b->window_ms + HTTP_WINDOW_SLACK_MS;
		b->win_reset_exact = 0;
		b->win_remaining = n->remaining;
		b->win_first = ticket;
	}
	if (n->remaining < b->win_remaining)
		b->win_remaining = n->remaining;
out:
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

void
http_budget_window(struct http_budget *b, struct http_window_state *st)
{
	int64_t now = util_now_ms();

	pthread_mutex_lock(&b->mu);
	memset(st, 0, sizeof *st);
	st->following = http_window_on(b, now);
	st->limit = b->win_limit;
	st->available = http_window_available(b);
	st->reset_in_ms = b->win_reset_ms > 0 ? b->win_reset_ms - now : -1;
	st->reset_exact = b->win_reset_exact;
	pthread_mutex_unlock(&b->mu);
}

/* ---- adaptive timeouts (kept in the budget: one per upstream, shared by every worker) ---- */

static int
http_rtt_kind(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

/* The timeout of the next request of this kind: at most ceiling_ms. */
static long
http_rtt_timeout(struct http_budget *b, const char *method, long ceiling_ms)
{
	int w = http_rtt_kind(method);
	double t;
	long ms;

	if (b == NULL)
		return ceiling_ms;
	pthread_mutex_lock(&b->mu);
	if (b->rtt[w].samples == 0) {
		pthread_mutex_unlock(&b->mu);
		return ceiling_ms; /* nothing known yet: the configured timeout */
	}
	t = HTTP_RTO_FACTOR * (b->rtt[w].srtt + 4 * b->rtt[w].rttvar);
	if (t < (w ? HTTP_RTO_FLOOR_WRITE : HTTP_RTO_FLOOR_READ))
		t = w ? HTTP_RTO_FLOOR_WRITE : HTTP_RTO_FLOOR_READ;
	t *= (double)(1 << b->rtt[w].backoff);
	pthread_mutex_unlock(&b->mu);
	ms = t < (double)ceiling_ms ? (long)t : ceiling_ms;
	return ms;
}

/* One request's outcome: an answer of ms (any status), or a timeout (ms < 0). */
static void
http_rtt_note(struct http_budget *b, const char *method, double ms)
{
	struct http_rtt *r;

	if (b == NULL)
		return;
	pthread_mutex_lock(&b->mu);
	r = &b->rtt[http_rtt_kind(method)];
	if (ms < 0) {
		if (r->backoff < HTTP_RTO_BACKOFF_MAX)
			r->backoff++;
	} else if (r->samples++ == 0) {
		r->srtt = ms;
		r->rttvar = ms / 2;
		r->backoff = 0;
	} else {
		r->rttvar = 0.75 * r->rttvar + 0.25 * (r->srtt > ms ? r->srtt - ms : ms - r->srtt);
		r->srtt = 0.875 * r->srtt + 0.125 * ms;
		r->backoff = 0;
	}
	pthread_mutex_unlock(&b->mu);
}

void
http_budget_pause(struct http_budget *b, int64_t until_ms)
{
	pthread_mutex_lock(&b->mu);
	if (until_ms > b->paused_until_ms)
		b->paused_until_ms = until_ms;
	pthread_mutex_unlock(&b->mu);
}

int64_t
http_budget_paused_until(struct http_budget *b)
{
	int64_t v;

	pthread_mutex_lock(&b->mu);
	v = b->paused_until_ms > util_now_ms() ? b->paused_until_ms : 0;
	pthread_mutex_unlock(&b->mu);
	return v;
}

/* ---- clients ---- */

struct http_client *
http_client_new(const struct http_client_config *cfg)
{
	struct http_client *c = xcalloc(1, sizeof *c);
	size_t n;

	pthread_once(&http_once, http_global_init);
	/* The easy handle (several KB, and its connection) is made by the first request: a
	 * worker's client for a step its workspaces never need (the repos of signups) costs
	 * only this struct. */
	c->upstream = xstrdup(cfg->upstream ? cfg->upstream : "upstream");
	c->base_url = xstrdup(cfg->base_url ? cfg->base_url : "");
	n = strlen(c->base_url);
	while (n > 0 && c->base_url[n - 1] == '/')
		c->base_url[--n] = '\0';
	c->ca_file = xstrdup(cfg->ca_file);
	c->connect_timeout_ms =
	    cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : HTTP_DEFAULT_CONNECT_MS;
	c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
	c->budget_wait_ms = cfg->budget_wait_ms > 0 ? cfg->budget_wait_ms : HTTP_DEFAULT_WAIT_MS;
	c->max_retries = cfg->max_retries > 0   ? cfg->max_retries
	                 : cfg->max_retries < 0 ? 0
	                                        : HTTP_DEFAULT_RETRIES;
	c->budget = cfg->budget;
	c->headers = curl_slist_append(NULL, "Accept: application/json");
	c->headers = curl_slist_append(c->headers, "Expect:");
	if (cfg->auth_header != NULL)
		c->headers = curl_slist_append(c->headers, cfg->auth_header);
	if (c->headers == NULL)
		fatalx("curl_slist_append failed");
	return c;
}

void
http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->headers);
	free(c->upstream);
	free(c->base_url);
	free(c->ca_file);
	free(c);
}

void
http_client_set_deadline(struct http_client *c, int64_t deadline_ms)
{
	c->deadline_ms = deadline_ms;
}

void
http_client_set_fence(struct http_client *c, const _Atomic int64_t *until_ms)
{
	c->fence_ms = until_ms;
}

int64_t
http_client_deadline(const struct http_client *c)
{
	int64_t fence = c->fence_ms != NULL ? atomic_load(c->fence_ms) : 0;

	if (fence > 0 && (c->deadline_ms == 0 || fence < c->deadline_ms))
		return fence;
	return c->deadline_ms;
}

void
http_client_set_priority(struct http_client *c, enum http_priority prio)
{
	c->priority = prio;
}

void
http_client_curl_opts(const struct http_client *c, struct http_curl_opts *o)
{
	o->ssl_verify_peer = 1;
	o->ssl_verify_host = 2;
	o->follow_location = 0;
	o->no_signal = 1;
	o->protocols = "http,https";
	o->ca_file = c->ca_file;
	o->connect_timeout_ms = c->connect_timeout_ms;
	o->timeout_ms = c->timeout_ms;
}

char *
http_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b;

	buf_init(&b);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			buf_putc(&b, (char)ch);
		} else {
			buf_putc(&b, '%');
			buf_putc(&b, hex[ch >> 4]);
			buf_putc(&b, hex[ch & 15]);
		}
	}
	return buf_release(&b);
}

char *
http_path(const char *fmt, const char *a, const char *b, const char *c)
{
	char *ea = a ? http_escape(a) : NULL, *eb = b ? http_escape(b) : NULL;
	char *ec = c ? http_escape(c) : NULL, *p;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	p = xasprintf(fmt, ea, eb, ec);
#pragma GCC diagnostic pop
	free(ea);
	free(eb);
	free(ec);
	return p;
}

static size_t
http_on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_xfer *x = arg;
	size_t n = size * nmemb;

	/* A streamed 2xx body is handed on, never kept: only its own cap applies. */
	if (x->sink != NULL && x->status >= 200 && x->status < 300) {
		if (x->streamed + n > x->sink->max_bytes) {
			x->too_big = 1;
			x->cap = x->sink->max_bytes;
			return 0;
		}
		x->streamed += n;
		if (x->sink->write(x->sink->arg, ptr, n) != 0) {
			x->sink_failed = 1;
			return 0;
		}
		return n;
	}
	if (x->out->text.len + n > HTTP_MAX_BODY) {
		x->too_big = 1;
		x->cap = HTTP_MAX_BODY;
		return 0;
	}
	buf_append(&x->out->text, ptr, n);
	return n;
}

/* Copies the value of "Name: value\r\n" into out when the name matches. */
static int
http_header_value(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name), end;

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return 0;
	line += nl + 1;
	len -= nl + 1;
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	end = len;
	while (end > 0 && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' '))
		end--;
	if (end >= outlen)
		end = outlen - 1;
	memcpy(out, line, end);
	out[end] = '\0';
	return 1;
}

/* A POST's body, handed to libcurl by a read callback that cannot rewind. libcurl sends a
 * request again, on a new connection, when a reused connection closed before any answer
 * came (a keep-alive the server had just closed, or a server that died mid-request). For a
 * POST whose body had left that could be a second create (Coolify names are not unique),
 * and the repeat needs the body rewound: the rewind fails (CURLE_SEND_FAIL_REWIND), so the
 * lost answer is reported as transient and the reconciler settles it by looking the object
 * up by name. A POST that died before its body left was never applied, and libcurl's repeat
 * of it is safe. So a POST rides the kept-alive connection like any request, which saves a
 * TCP connect (and the upstream's accept) per create. */
struct http_upload {
	const char *data;
	size_t len, off;
};

static size_t
http_on_upload(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct http_upload *u = arg;
	size_t n = size * nmemb;

	if (n > u->len - u->off)
		n = u->len - u->off;
	memcpy(dst, u->data + u->off, n);
	u->off += n;
	return n;
}

static int
http_no_rewind(void *arg, curl_off_t offset, int origin)
{
	(void)arg;
	(void)offset;
	(void)origin;
	return CURL_SEEKFUNC_CANTSEEK;
}

/* The body of a POST, sent without a way back (above). A connection idle longer than a
 * second is not reused for it: proxies close idle keep-alives after a few seconds (HAProxy's
 * timeout http-keep-alive), and a POST caught in that close is reported lost for nothing. A
 * POST without a body has nothing to rewind, so libcurl could send it twice: it gets a
 * connection of its own. */
static void
http_post_body(CURL *e, const char *payload, struct http_upload *u)
{
	if (payload == NULL) {
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
		return;
	}
	*u = (struct http_upload){payload, strlen(payload), 0};
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)u->len);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, http_on_upload);
	curl_easy_setopt(e, CURLOPT_READDATA, u);
	curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, http_no_rewind);
	curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, 1L);
}

static size_t
http_on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_xfer *x = arg;
	size_t n = size * nmemb;
	char tmp[32];
	long v;

	/* A new status line (e.g. after a 100 Continue) starts the headers over. */
	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		const char *sp = memchr(ptr, ' ', n);

		x->retry_after[0] = '\0';
		x->out->st.location[0] = '\0';
		x->out->total_count = -1;
		x->rl_limit = x->rl_remaining = -1;
		x->status = sp != NULL ? strtol(sp + 1, NULL, 10) : 0;
		x->streamed = 0;
		if (x->sink != NULL && x->sink->reset != NULL)
			x->sink->reset(x->sink->arg);
		return n;
	}
	http_header_value(ptr, n, "Retry-After", x->retry_after, sizeof x->retry_after);
	if (http_header_value(ptr, n, "X-RateLimit-Limit", tmp, sizeof tmp) &&
	    util_parse_long(tmp, 1, 1L << 30, &v) == 0)
		x->rl_limit = v;
	if (http_header_value(ptr, n, "X-RateLimit-Remaining", tmp, sizeof tmp) &&
	    util_parse_long(tmp, 0, 1L << 30, &v) == 0)
		x->rl_remaining = v;
	http_header_value(ptr, n, "Location", x->out->st.location, sizeof x->out->st.location);
	if (http_header_value(ptr, n, "X-Total-Count", tmp, sizeof tmp) &&
	    util_parse_long(tmp, 0, 1L << 40, &v) == 0)
		x->out->total_count = v;
	return n;
}

/* libcurl's progress callback: a transfer under way is cut as soon as the fence passes
 * (a lease given up at shutdown, or one that could not be renewed), not at its timeout. */
static int
http_on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                 curl_off_t ulnow)
{
	const struct http_client *c = arg;
	int64_t fence = c->fence_ms != NULL ? atomic_load(c->fence_ms) : 0;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return fence > 0 && util_now_ms() >= fence;
}

static void
http_apply_opts(struct http_client *c, const struct http_curl_opts *o, long timeout_ms)
{
	CURL *e = c->easy;

	if (c->fence_ms != NULL) {
		curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, http_on_progress);
		curl_easy_setopt(e, CURLOPT_XFERINFODATA, c);
		curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	}

	curl_easy_setopt(e, CURLOPT_NOSIGNAL, o->no_signal);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, o->follow_location);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o->ssl_verify_peer);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, o->ssl_verify_host);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, o->protocols);
	if (o->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "vibnd/" VIBN_VERSION);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
}

/* Maps a failed transfer to a class and a message. */
static void
http_transport_error(struct http_client *c, CURLcode rc, const struct http_xfer *x, long timeout_ms,
                     struct http_status *st)
{
	const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);

	st->cls = HTTP_TRANSIENT;
	if (x->too_big) {
		st->cls = HTTP_INVALID;
		http_set_message(st, "response body over %zu MiB", x->cap >> 20);
		return;
	}
	if (x->sink_failed) {
		http_set_message(st, "unexpected response body");
		return;
	}
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		http_set_message(st, "timed out after %ld ms: %s", timeout_ms, detail);
		return;
	case CURLE_SEND_FAIL_REWIND:
		/* libcurl wanted to send the POST again (http_upload, above). */
		http_set_message(st, "the connection closed before an answer came; the request may"
		                     " have been applied, so it was not sent again");
		return;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		/* Configuration problems: retrying soon will not help. */
		st->cls = HTTP_INVALID;
		break;
	default:
		break;
	}
	http_set_message(st, "%s", detail);
}

static void
http_log_request(struct http_client *c, const char *method, const char *path,
                 const struct http_status *st, double seconds)
{
	char fields[1024];

	if (!log_enabled(LOG_LVL_DEBUG))
		return;
	/* path was escaped by the callers, so it holds no spaces or quotes. */
	snprintf(fields, sizeof fields, "upstream=%s method=%s path=%s status=%ld class=%s ms=%.1f",
	         c->upstream, method, path, st->status, http_class_name(st->cls), seconds * 1000);
	log_debug_kv(fields, "upstream request");
}

/* Waits for the budget; 0 when a request may go (*ticket names it for the window's
 * report), -1 with out filled otherwise. */
static int
http_wait_budget(struct http_client *c, int64_t deadline, uint64_t *ticket,
                 struct http_response *out)
{
	int64_t not_before = 0;

	*ticket = 0;
	if (c->budget == NULL)
		return 0;
	if (http_budget_acquire(c->budget, c->priority, deadline, ticket, &not_before) == 0)
		return 0;
	out->st.cls = HTTP_RATE_LIMITED;
	out->st.not_before_ms = not_before;
	http_set_message(&out->st, "%s request budget: next request in %lld ms", c->upstream,
	                 (long long)(not_before - util_now_ms()));
	return -1;
}

/* How one attempt ended, besides its response: what decides whether to try again. */
struct http_try {
	int sent;     /* it reached the wire (the budget let it go, the deadline allowed it) */
	CURLcode rc;  /* the transfer's result */
	long timeout; /* the timeout it had, ms */
};

/* One attempt: the budget, the transfer, the classification, the window's report. */
static void
http_attempt(struct http_client *c, const char *method, const char *path, const json_t *body,
             struct http_response *out, struct http_try *t)
{
	struct http_curl_opts o;
	struct http_xfer x = {.out = out, .sink = c->sink, .rl_limit = -1, .rl_remaining = -1};
	struct http_upload upload;
	int post = strcmp(method, "POST") == 0;
	struct curl_slist *hdrs = c->headers, *ct = NULL;
	char *url = NULL, *payload = NULL;
	int64_t start_us, now = util_now_ms(), deadline, end_ms;
	uint64_t ticket = 0;
	long timeout_ms, ra;
	http_observer_fn obs;
	double seconds;

	memset(t, 0, sizeof *t);
	http_response_free(out);
	if (c->easy == NULL && (c->easy = curl_easy_init()) == NULL) {
		out->st.cls = HTTP_TRANSIENT;
		http_set_message(&out->st, "no memory for a libcurl handle");
		goto done_unsent;
	}
	end_ms = http_client_deadline(c);
	deadline = now + c->budget_wait_ms;
	if (end_ms > 0 && end_ms < deadline)
		deadline = end_ms;
	if (http_wait_budget(c, deadline, &ticket, out) != 0)
		goto done_unsent;

	http_client_curl_opts(c, &o);
	timeout_ms = http_rtt_timeout(c->budget, method, o.timeout_ms);
	now = util_now_ms();
	end_ms = http_client_deadline(c);
	if (end_ms > 0) {
		if (end_ms <= now) {
			out->st.cls = HTTP_TRANSIENT;
			http_set_message(&out->st, "the deadline (or the lease on this work) passed"
			                           " before the request was sent");
			if (c->budget != NULL)
				http_budget_report(c->budget, ticket,
				                   &(struct http_window_note){-1, -1, 0, -1, 0});
			goto done_unsent;
		}
		if (end_ms - now < timeout_ms)
			timeout_ms = (long)(end_ms - now);
	}
	t->sent = 1;
	t->timeout = timeout_ms;

	curl_easy_reset(c->easy); /* keeps the connection cache: keep-alive survives */
	c->errbuf[0] = '\0';
	http_apply_opts(c, &o, timeout_ms);
	url = xasprintf("%s%s", c->base_url, path);
	curl_easy_setopt(c->easy, CURLOPT_URL, url);
	curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c->easy, CURLOPT_NOBODY, 1L);
	if (body != NULL) {
		payload = json_dumps(body, JSON_COMPACT);
		if (payload == NULL)
			fatalx("http_request: json_dumps failed");
		ct = curl_slist_append(NULL, "Content-Type: application/json");
		for (struct curl_slist *h = c->headers; h != NULL; h = h->next)
			ct = curl_slist_append(ct, h->data);
		hdrs = ct;
	}
	if (post) {
		http_post_body(c->easy, payload, &upload);
	} else if (payload != NULL) {
		/* Not a create: libcurl's repeat on a dead reused connection is harmless. */
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, payload);
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
	}
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, http_on_body);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, http_on_header);
	curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, &x);
	if (http_tracer != NULL)
		http_tracer(c->upstream, method, path, body, http_tracer_arg);

	start_us = util_now_us();
	t->rc = curl_easy_perform(c->easy);
	seconds = (double)(util_now_us() - start_us) / 1e6;
	if (t->rc == CURLE_OK)
		http_rtt_note(c->budget, method, seconds * 1000);
	else if (t->rc == CURLE_OPERATION_TIMEDOUT)
		http_rtt_note(c->budget, method, -1);
	if (t->rc != CURLE_OK) {
		http_transport_error(c, t->rc, &x, timeout_ms, &out->st);
		buf_reset(&out->text);
	} else {
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &out->st.status);
		if (out->text.len > 0)
			out->body = json_loadb(out->text.data, out->text.len, 0, NULL);
		if (out->st.status < 200 || out->st.status >= 300)
			http_extract_message(out);
		out->st.cls = http_classify(out->st.status, out->st.message);
	}
	if (out->st.cls != HTTP_REDIRECTED)
		out->st.location[0] = '\0';

	ra = http_parse_retry_after(x.retry_after[0] ? x.retry_after : NULL);
	if (out->st.cls == HTTP_RATE_LIMITED) {
		if (ra < 0)
			ra = HTTP_DEFAULT_RETRY_MS;
		out->st.not_before_ms = util_now_ms() + ra;
		if (c->budget != NULL)
			http_budget_pause(c->budget, out->st.not_before_ms);
	} else if (out->st.cls == HTTP_TRANSIENT && ra >= 0) {
		out->st.not_before_ms = util_now_ms() + ra;
	}
	if (c->budget != NULL) {
		struct http_window_note note = {x.rl_limit, x.rl_remaining, out->st.status == 429,
		                                ra, out->st.status};

		http_budget_report(c->budget, ticket, &note);
	}

	http_log_request(c, method, path, &out->st, seconds);
	obs = atomic_load(&http_observer);
	if (obs != NULL)
		obs(c->upstream, method, (int)out->st.status, seconds);
	curl_slist_free_all(ct);
	free(payload);
	free(url);
	return;

done_unsent:
	http_log_request(c, method, path, &out->st, 0);
}

/* Why a failed attempt may be tried again inside this request ("5xx", "timeout",
 * "connection", "429"), or NULL. Only transient failures of requests that can be sent twice:
 * GET, HEAD, PUT, PATCH and DELETE set a state (or read one), so a repeat after a lost
 * answer changes nothing more; a POST creates, and is tried again only when it provably
 * never left (the connection could not be made) or was refused before anything was done (a
 * 429: Laravel's throttle and proxies' limiters answer before the application runs): a lost
 * create answer is the reconciler's to resolve, by looking the object up by name. A 429 is
 * tried again only when its Retry-After is short (the caller checks the wait). */
static const char *
http_retry_reason(const char *method, const struct http_response *out, const struct http_try *t)
{
	int post = strcmp(method, "POST") == 0;

	if (t->sent && out->st.cls == HTTP_RATE_LIMITED)
		return "429";
	if (!t->sent || out->st.cls != HTTP_TRANSIENT)
		return NULL;
	if (t->rc == CURLE_OK)
		return post ? NULL : "5xx";
	switch (t->rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return "connection";
	case CURLE_OPERATION_TIMEDOUT:
		return post ? NULL : "timeout";
	default:
		return post ? NULL : "connection";
	}
}

enum http_class
http_request(struct http_client *c, const char *method, const char *path, const json_t *body,
             struct http_response *out)
{
	struct http_try t;
	http_retry_observer_fn obs;
	const char *why;

	for (int attempt = 0;; attempt++) {
		int64_t wait, now;

		http_attempt(c, method, path, body, out, &t);
		why = http_retry_reason(method, out, &t);
		if (why == NULL || attempt >= c->max_retries)
			break;
		/* Jittered exponential pause, or the upstream's Retry-After when longer. */
		wait =
		    (int64_t)((double)(HTTP_RETRY_BASE_MS << attempt) * (0.5 + util_random_unit()));
		now = util_now_ms();
		if (out->st.not_before_ms > now + wait)
			wait = out->st.not_before_ms - now;
		if (wait > HTTP_RETRY_MAX_WAIT_MS ||
		    (http_client_deadline(c) > 0 && now + wait >= http_client_deadline(c)))
			break;
		obs = atomic_load(&http_retry_observer);
		if (obs != NULL)
			obs(c->upstream, method, why);
		if (log_enabled(LOG_LVL_DEBUG))
			log_debug("%s %s %s: %s (%s); trying again in %lld ms", c->upstream, method,
			          path, out->st.message, why, (long long)wait);
		http_sleep_until_ms(now + wait);
	}
	return out->st.cls;
}

void
http_fail_unexpected(struct http_response *r)
{
	r->st.cls = HTTP_TRANSIENT;
	snprintf(r->st.message, sizeof r->st.message, "unexpected response body (status %ld)",
	         r->st.status);
}

enum http_class
http_finish(struct http_response *r, struct http_status *st)
{
	enum http_class cls = r->st.cls;

	if (st != NULL)
		*st = r->st;
	http_response_free(r);
	return cls;
}

enum http_class
http_call_object(struct http_client *c, const char *method, const char *path, const json_t *body,
                 jsonx_parse_fn fn, void *out, struct http_status *st)
{
	struct http_response r;

	http_response_init(&r);
	if (http_request(c, method, path, body, &r) == HTTP_OK && out != NULL &&
	    fn(r.body, out) != 0)
		http_fail_unexpected(&r);
	return http_finish(&r, st);
}

enum http_class
http_get_sink(struct http_client *c, const char *path, const struct http_sink *sink,
              struct http_response *out)
{
	enum http_class cls;

	c->sink = sink;
	cls = http_request(c, "GET", path, NULL, out);
	c->sink = NULL;
	return cls;
}

static int
http_each_write(void *arg, const char *data, size_t n)
{
	return jsonx_stream_feed(arg, data, n);
}

/* A response that starts over after elements were handed over (a retry of a transfer cut
 * short) would hand them over twice: fail instead, the caller reads the list again. */
static void
http_each_reset(void *arg)
{
	struct jsonx_stream *js = arg;

	if (js->count > 0)
		jsonx_stream_abort(js, "the response started over after elements were read");
	else
		jsonx_stream_reset(js);
}

enum http_class
http_each(struct http_client *c, const char *path, jsonx_item_fn fn, void *arg,
          struct http_status *st)
{
	struct jsonx_stream js;
	struct http_sink sink = {http_each_write, http_each_reset, &js, HTTP_MAX_LIST_BODY};
	struct http_response r;

	jsonx_stream_init(&js, fn, arg, HTTP_MAX_LIST_ITEM);
	http_response_init(&r);
	if (http_get_sink(c, path, &sink, &r) == HTTP_OK && jsonx_stream_end(&js) != 0)
		http_fail_unexpected(&r);
	/* Only a 2xx body reaches the stream: its error says what was wrong with it. */
	if (r.st.cls == HTTP_TRANSIENT && js.error[0] != '\0')
		snprintf(r.st.message, sizeof r.st.message, "unexpected response body: %s",
		         js.error);
	jsonx_stream_free(&js);
	return http_finish(&r, st);
}

enum http_class
http_call_array(struct http_client *c, const char *path, size_t elemsize, jsonx_parse_fn fn,
                void (*itemfree)(void *), void **v, size_t *count, struct http_status *st)
{
	struct jsonx_collect a = {elemsize, fn, itemfree, NULL, 0, 0};
	enum http_class cls = http_each(c, path, jsonx_collect_item, &a, st);

	jsonx_collect_finish(&a, cls == HTTP_OK, v, count);
	return cls;
}
