#include "metrics.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "common/xmalloc.h"

/* One mutex for everything: a handful of updates per reconcile never contend enough to
 * matter, and rendering sees a consistent snapshot. */
static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;

#define METRICS_MAX_BUCKETS 48
#define METRICS_MAX_SERIES  256

struct metrics_hist {
	const double *bounds;
	int nbounds;
	uint64_t counts[METRICS_MAX_BUCKETS]; /* non-cumulative, last is +Inf */
	uint64_t total;
	double sum;
};

/* A labelled counter with labels chosen at run time (upstream, webhook results). */
struct metrics_series {
	char *labels; /* rendered: key="value",... */
	uint64_t count;
	struct metrics_hist *hist; /* optional */
};

struct metrics_family {
	struct metrics_series series[METRICS_MAX_SERIES];
	int n;
};

static const double metrics_reconcile_bounds[] = {
    0.005, 0.01, 0.025, 0.05, 0.1,  0.15, 0.2,  0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6,
    0.7,   0.8,  0.9,   1.0,  1.25, 1.5,  1.75, 2.0,  2.5, 3.0,  3.5, 4.0,  4.5, 5,
    6,     7,    8,     9,    10,   15,   20,   25,   30,  40,   50,  60};
static const double metrics_queue_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                              0.25,  0.5,    1,     2.5,  5,     10,   30,
                                              60,    300,    600,   1800, 3600};
static const double metrics_http_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                             1,     2.5,  5,     10,   30,  60};

static struct {
	char controller[64];
	int workers;
	int active;
	int db_lent, db_idle;
	uint64_t db_waits;
	uint64_t results[4];
	uint64_t errors, terminal, retries;
	struct metrics_hist reconcile_time, queue_wait;
	long depth[2];
	int listen_connected;
	uint64_t listen_reconnects, notifications, resync_runs, resync_enqueued;
	struct metrics_family upstream, upstream_time, upstream_retries, webhook, replayed, api_db;
	uint64_t spooled, spool_full, spool_corrupt, spool_bytes;
	long spool_files;
} m;

static const char *const metrics_result_names[] = {"success", "error", "requeue", "requeue_after"};

static void
metrics_hist_init(struct metrics_hist *h, const double *bounds, int n)
{
	memset(h, 0, sizeof *h);
	h->bounds = bounds;
	h->nbounds = n;
}

static void
metrics_hist_observe(struct metrics_hist *h, double v)
{
	int i = 0;

	while (i < h->nbounds && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->total++;
	h->sum += v;
}

static void
metrics_family_clear(struct metrics_family *f)
{
	for (int i = 0; i < f->n; i++) {
		free(f->series[i].labels);
		free(f->series[i].hist);
	}
	f->n = 0;
}

void
metrics_reset(void)
{
	pthread_mutex_lock(&metrics_lock);
	metrics_family_clear(&m.upstream);
	metrics_family_clear(&m.upstream_time);
	metrics_family_clear(&m.upstream_retries);
	metrics_family_clear(&m.webhook);
	metrics_family_clear(&m.replayed);
	metrics_family_clear(&m.api_db);
	memset(&m, 0, sizeof m);
	snprintf(m.controller, sizeof m.controller, "workspace");
	metrics_hist_init(&m.reconcile_time, metrics_reconcile_bounds,
	                  (int)nitems(metrics_reconcile_bounds));
	metrics_hist_init(&m.queue_wait, metrics_queue_bounds, (int)nitems(metrics_queue_bounds));
	pthread_mutex_unlock(&metrics_lock);
}

/* Escapes a label value per the exposition format (backslash, quote, newline), and
 * keeps it short: label values come from code, but never trust them to be tidy. */
static void
metrics_label_value(struct buf *b, const char *v)
{
	size_t n = 0;

	for (; v != NULL && *v != '\0' && n < 64; v++, n++) {
		if (*v == '\\' || *v == '"')
			buf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *v);
	}
}

void
metrics_init(const char *controller, int workers)
{
	metrics_reset();
	pthread_mutex_lock(&metrics_lock);
	snprintf(m.controller, sizeof m.controller, "%s", controller);
	m.workers = workers;
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_reconcile(enum metrics_result result, int terminal, double seconds)
{
	pthread_mutex_lock(&metrics_lock);
	m.results[result]++;
	if (result == METRICS_ERROR)
		m.errors++;
	if (terminal)
		m.terminal++;
	metrics_hist_observe(&m.reconcile_time, seconds);
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_queue_wait(double seconds)
{
	pthread_mutex_lock(&metrics_lock);
	metrics_hist_observe(&m.queue_wait, seconds < 0 ? 0 : seconds);
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_retry(void)
{
	pthread_mutex_lock(&metrics_lock);
	m.retries++;
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_active_workers(int delta)
{
	pthread_mutex_lock(&metrics_lock);
	m.active += delta;
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_worker_db(int lent, int idle, int waited)
{
	pthread_mutex_lock(&metrics_lock);
	m.db_lent = lent;
	m.db_idle = idle;
	if (waited)
		m.db_waits++;
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_set_depth(long interactive, long background)
{
	pthread_mutex_lock(&metrics_lock);
	m.depth[0] = interactive;
	m.depth[1] = background;
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_listen_state(int connected)
{
	pthread_mutex_lock(&metrics_lock);
	m.listen_connected = connected;
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_listen_reconnect(void)
{
	pthread_mutex_lock(&metrics_lock);
	m.listen_reconnects++;
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_notification(void)
{
	pthread_mutex_lock(&metrics_lock);
	m.notifications++;
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_resync(long enqueued)
{
	pthread_mutex_lock(&metrics_lock);
	m.resync_runs++;
	if (enqueued > 0)
		m.resync_enqueued += (uint64_t)enqueued;
	pthread_mutex_unlock(&metrics_lock);
}

/* Finds or adds the series with these rendered labels; NULL when the family is full
 * (a runaway label set must not eat memory). Called with the lock held. */
static struct metrics_series *
metrics_series(struct metrics_family *f, const char *labels, const double *bounds, int nbounds)
{
	struct metrics_series *s;

	for (int i = 0; i < f->n; i++)
		if (strcmp(f->series[i].labels, labels) == 0)
			return &f->series[i];
	if (f->n == METRICS_MAX_SERIES)
		return NULL;
	s = &f->series[f->n++];
	s->labels = xstrdup(labels);
	s->count = 0;
	s->hist = NULL;
	if (bounds != NULL) {
		s->hist = xmalloc(sizeof *s->hist);
		metrics_hist_init(s->hist, bounds, nbounds);
	}
	return s;
}

void
metrics_upstream_request(const char *upstream, const char *method, int status, double seconds)
{
	struct buf labels, tlabels;
	struct metrics_series *s;
	char code[8];

	if (status >= 100 && status <= 599)
		snprintf(code, sizeof code, "%dxx", status / 100);
	else
		snprintf(code, sizeof code, "error");
	buf_init(&labels);
	buf_init(&tlabels);
	buf_puts(&labels, "upstream=\"");
	metrics_label_value(&labels, upstream);
	buf_puts(&tlabels, buf_str(&labels));
	buf_puts(&tlabels, "\"");
	buf_puts(&labels, "\",method=\"");
	metrics_label_value(&labels, method);
	buf_printf(&labels, "\",code=\"%s\"", code);
	pthread_mutex_lock(&metrics_lock);
	if ((s = metrics_series(&m.upstream, buf_str(&labels), NULL, 0)) != NULL)
		s->count++;
	s = metrics_series(&m.upstream_time, buf_str(&tlabels), metrics_http_bounds,
	                   (int)nitems(metrics_http_bounds));
	if (s != NULL) {
		s->count++;
		metrics_hist_observe(s->hist, seconds < 0 ? 0 : seconds);
	}
	pthread_mutex_unlock(&metrics_lock);
	buf_free(&labels);
	buf_free(&tlabels);
}

void
metrics_upstream_retry(const char *upstream, const char *method, const char *reason)
{
	struct buf labels;
	struct metrics_series *s;

	buf_init(&labels);
	buf_puts(&labels, "upstream=\"");
	metrics_label_value(&labels, upstream);
	buf_puts(&labels, "\",reason=\"");
	metrics_label_value(&labels, reason);
	buf_puts(&labels, "\"");
	pthread_mutex_lock(&metrics_lock);
	if ((s = metrics_series(&m.upstream_retries, buf_str(&labels), NULL, 0)) != NULL)
		s->count++;
	pthread_mutex_unlock(&metrics_lock);
	buf_free(&labels);
}

static void
metrics_result_add(struct metrics_family *f, const char *result, unsigned long n)
{
	struct buf labels;
	struct metrics_series *s;

	buf_init(&labels);
	buf_puts(&labels, "result=\"");
	metrics_label_value(&labels, result);
	buf_puts(&labels, "\"");
	pthread_mutex_lock(&metrics_lock);
	if ((s = metrics_series(f, buf_str(&labels), NULL, 0)) != NULL)
		s->count += n;
	pthread_mutex_unlock(&metrics_lock);
	buf_free(&labels);
}

static void
metrics_result_count(struct metrics_family *f, const char *result)
{
	metrics_result_add(f, result, 1);
}

void
metrics_api_db_jobs(const char *result, unsigned long n)
{
	metrics_result_add(&m.api_db, result, n);
}

void
metrics_webhook_delivery(const char *result)
{
	metrics_result_count(&m.webhook, result);
}

void
metrics_webhook_spool_replayed(const char *result)
{
	metrics_result_count(&m.replayed, result);
}

void
metrics_webhook_spooled(void)
{
	pthread_mutex_lock(&metrics_lock);
	m.spooled++;
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_webhook_spool_full(void)
{
	pthread_mutex_lock(&metrics_lock);
	m.spool_full++;
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_webhook_spool_corrupt(void)
{
	pthread_mutex_lock(&metrics_lock);
	m.spool_corrupt++;
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_webhook_spool_size(unsigned long long bytes, long files)
{
	pthread_mutex_lock(&metrics_lock);
	m.spool_bytes = bytes;
	m.spool_files = files;
	pthread_mutex_unlock(&metrics_lock);
}

static void
metrics_head(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
metrics_hist_render(struct buf *out, const char *name, const char *labels,
                    const struct metrics_hist *h)
{
	uint64_t cum = 0;
	const char *sep = *labels ? "," : "";

	for (int i = 0; i < h->nbounds; i++) {
		cum += h->counts[i];
		buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, h->bounds[i],
		           (unsigned long long)cum);
	}
	buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
	           (unsigned long long)h->total);
	buf_printf(out, "%s_sum{%s} %.9g\n", name, labels, h->sum);
	buf_printf(out, "%s_count{%s} %llu\n", name, labels, (unsigned long long)h->total);
}

void
metrics_render(struct buf *out)
{
	struct buf ctl, q;

	buf_init(&ctl);
	buf_init(&q);
	pthread_mutex_lock(&metrics_lock);
	buf_puts(&ctl, "controller=\"");
	metrics_label_value(&ctl, m.controller);
	buf_puts(&ctl, "\"");
	buf_printf(&q, "name=\"%s\",controller=\"%s\"", m.controller, m.controller);

	metrics_head(out, "controller_runtime_reconcile_total", "counter",
	             "Total number of reconciliations per controller");
	for (int i = 0; i < 4; i++)
		buf_printf(out, "controller_runtime_reconcile_total{%s,result=\"%s\"} %llu\n",
		           buf_str(&ctl), metrics_result_names[i],
		           (unsigned long long)m.results[i]);
	metrics_head(out, "controller_runtime_reconcile_errors_total", "counter",
	             "Total number of reconciliation errors per controller");
	buf_printf(out, "controller_runtime_reconcile_errors_total{%s} %llu\n", buf_str(&ctl),
	           (unsigned long long)m.errors);
	metrics_head(out, "controller_runtime_terminal_reconcile_errors_total", "counter",
	             "Total number of terminal (permanent) reconciliation errors per controller");
	buf_printf(out, "controller_runtime_terminal_reconcile_errors_total{%s} %llu\n",
	           buf_str(&ctl), (unsigned long long)m.terminal);
	metrics_head(out, "controller_runtime_reconcile_time_seconds", "histogram",
	             "Length of time per reconciliation per controller");
	metrics_hist_render(out, "controller_runtime_reconcile_time_seconds", buf_str(&ctl),
	                    &m.reconcile_time);
	metrics_head(out, "controller_runtime_max_concurrent_reconciles", "gauge",
	             "Maximum number of concurrent reconciles per controller");
	buf_printf(out, "controller_runtime_max_concurrent_reconciles{%s} %d\n", buf_str(&ctl),
	           m.workers);
	metrics_head(out, "controller_runtime_active_workers", "gauge",
	             "Number of currently used workers per controller");
	buf_printf(out, "controller_runtime_active_workers{%s} %d\n", buf_str(&ctl), m.active);
	metrics_head(out, "vibn_worker_db_connections", "gauge",
	             "Database connections the reconcile workers share, by state");
	buf_printf(out, "vibn_worker_db_connections{state=\"lent\"} %d\n", m.db_lent);
	buf_printf(out, "vibn_worker_db_connections{state=\"idle\"} %d\n", m.db_idle);
	metrics_head(out, "vibn_worker_db_waits_total", "counter",
	             "Takes of a worker database connection that waited while all were lent");
	buf_printf(out, "vibn_worker_db_waits_total %llu\n", (unsigned long long)m.db_waits);

	metrics_head(out, "workqueue_depth", "gauge",
	             "Current depth of the workqueue: due, unclaimed items by priority");
	buf_printf(out, "workqueue_depth{%s,priority=\"interactive\"} %ld\n", buf_str(&q),
	           m.depth[0]);
	buf_printf(out, "workqueue_depth{%s,priority=\"background\"} %ld\n", buf_str(&q),
	           m.depth[1]);
	metrics_head(out, "workqueue_queue_duration_seconds", "histogram",
	             "How long in seconds an item stays in the workqueue before being claimed");
	metrics_hist_render(out, "workqueue_queue_duration_seconds", buf_str(&q), &m.queue_wait);
	metrics_head(out, "workqueue_retries_total", "counter",
	             "Total number of retries handled by the workqueue");
	buf_printf(out, "workqueue_retries_total{%s} %llu\n", buf_str(&q),
	           (unsigned long long)m.retries);

	metrics_head(out, "vibn_upstream_requests_total", "counter",
	             "Upstream HTTP requests by upstream, method and status class");
	for (int i = 0; i < m.upstream.n; i++)
		buf_printf(out, "vibn_upstream_requests_total{%s} %llu\n",
		           m.upstream.series[i].labels,
		           (unsigned long long)m.upstream.series[i].count);
	metrics_head(out, "vibn_upstream_request_duration_seconds", "histogram",
	             "Upstream HTTP request latency by upstream");
	for (int i = 0; i < m.upstream_time.n; i++)
		metrics_hist_render(out, "vibn_upstream_request_duration_seconds",
		                    m.upstream_time.series[i].labels,
		                    m.upstream_time.series[i].hist);
	metrics_head(out, "vibn_upstream_retries_total", "counter",
	             "Failed upstream requests sent again inside the same request, by upstream and"
	             " reason (5xx, timeout, connection)");
	for (int i = 0; i < m.upstream_retries.n; i++)
		buf_printf(out, "vibn_upstream_retries_total{%s} %llu\n",
		           m.upstream_retries.series[i].labels,
		           (unsigned long long)m.upstream_retries.series[i].count);
	metrics_head(out, "vibn_webhook_deliveries_total", "counter",
	             "Webhook deliveries received, by result");
	for (int i = 0; i < m.webhook.n; i++)
		buf_printf(out, "vibn_webhook_deliveries_total{%s} %llu\n",
		           m.webhook.series[i].labels,
		           (unsigned long long)m.webhook.series[i].count);
	metrics_head(
	    out, "vibn_api_db_jobs_total", "counter",
	    "Database jobs of the HTTP API by result: done, db_unavailable, overloaded (the "
	    "queue was full), throttled (429: a key over its in-flight bound), timeout "
	    "(answered 503 before the database did), rolled_back (undone: already "
	    "answered)");
	for (int i = 0; i < m.api_db.n; i++)
		buf_printf(out, "vibn_api_db_jobs_total{%s} %llu\n", m.api_db.series[i].labels,
		           (unsigned long long)m.api_db.series[i].count);
	metrics_head(out, "vibn_webhook_spooled_total", "counter",
	             "Webhook deliveries written to the disk spool while the database could not "
	             "take them");
	buf_printf(out, "vibn_webhook_spooled_total %llu\n", (unsigned long long)m.spooled);
	metrics_head(out, "vibn_webhook_spool_replayed_total", "counter",
	             "Spooled webhook deliveries replayed into the database, by result");
	for (int i = 0; i < m.replayed.n; i++)
		buf_printf(out, "vibn_webhook_spool_replayed_total{%s} %llu\n",
		           m.replayed.series[i].labels,
		           (unsigned long long)m.replayed.series[i].count);
	metrics_head(out, "vibn_webhook_spool_full_total", "counter",
	             "Webhook deliveries answered 503 because the database could not take them "
	             "and the spool was full");
	buf_printf(out, "vibn_webhook_spool_full_total %llu\n", (unsigned long long)m.spool_full);
	metrics_head(out, "vibn_webhook_spool_corrupt_total", "counter",
	             "Spool files that could not be replayed, moved aside into corrupt/");
	buf_printf(out, "vibn_webhook_spool_corrupt_total %llu\n",
	           (unsigned long long)m.spool_corrupt);
	metrics_head(out, "vibn_webhook_spool_bytes", "gauge",
	             "Bytes of webhook deliveries waiting in the disk spool");
	buf_printf(out, "vibn_webhook_spool_bytes %llu\n", (unsigned long long)m.spool_bytes);
	metrics_head(out, "vibn_webhook_spool_files", "gauge",
	             "Webhook deliveries waiting in the disk spool");
	buf_printf(out, "vibn_webhook_spool_files %ld\n", m.spool_files);

	metrics_head(out, "vibn_listen_connected", "gauge",
	             "Whether the LISTEN connection is up (1) or not (0)");
	buf_printf(out, "vibn_listen_connected %d\n", m.listen_connected);
	metrics_head(out, "vibn_listen_reconnects_total", "counter",
	             "Times the LISTEN connection was lost and re-established");
	buf_printf(out, "vibn_listen_reconnects_total %llu\n",
	           (unsigned long long)m.listen_reconnects);
	metrics_head(out, "vibn_notifications_total", "counter",
	             "Queue notifications received on the LISTEN connection");
	buf_printf(out, "vibn_notifications_total %llu\n", (unsigned long long)m.notifications);
	metrics_head(out, "vibn_resync_runs_total", "counter", "Drift repair runs started");
	buf_printf(out, "vibn_resync_runs_total %llu\n", (unsigned long long)m.resync_runs);
	metrics_head(out, "vibn_resync_enqueued_total", "counter",
	             "Workspaces enqueued by drift repair runs");
	buf_printf(out, "vibn_resync_enqueued_total %llu\n", (unsigned long long)m.resync_enqueued);
	metrics_head(out, "vibn_build_info", "gauge", "Build information; always 1");
	buf_printf(out, "vibn_build_info{version=\"%s\"} 1\n", VIBN_VERSION);
	pthread_mutex_unlock(&metrics_lock);
	buf_free(&ctl);
	buf_free(&q);
}
