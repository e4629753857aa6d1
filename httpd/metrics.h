/* Prometheus metrics of the daemon, rendered in the text exposition format (0.0.4).
 * Names follow controller-runtime and client-go where the meaning is the same:
 *
 *   controller_runtime_reconcile_total{controller,result}      success|error|requeue|requeue_after
 *   controller_runtime_reconcile_errors_total{controller}
 *   controller_runtime_terminal_reconcile_errors_total{controller}   permanent errors
 *   controller_runtime_reconcile_time_seconds{controller}      histogram
 *   controller_runtime_max_concurrent_reconciles{controller}, controller_runtime_active_workers
 *   workqueue_depth{name,priority}                             due, unclaimed items
 *   workqueue_queue_duration_seconds{name}                     histogram: enqueue (or due) to claim
 *   workqueue_retries_total{name}                              failures rescheduled
 *   vibn_upstream_requests_total{upstream,method,code}         code: 2xx..5xx, or "error"
 *   vibn_upstream_request_duration_seconds{upstream}           histogram
 *   vibn_upstream_retries_total{upstream,reason}               retries inside a request
 *   vibn_webhook_deliveries_total{result}                       result "spooled": kept on disk
 *   vibn_webhook_spooled_total, vibn_webhook_spool_replayed_total{result},
 *   vibn_webhook_spool_full_total, vibn_webhook_spool_corrupt_total,
 *   vibn_webhook_spool_bytes, vibn_webhook_spool_files            (the webhook spool)
 *   vibn_listen_connected, vibn_listen_reconnects_total, vibn_notifications_total,
 *   vibn_resync_runs_total, vibn_resync_enqueued_total, vibn_build_info{version}
 *   vibn_worker_db_connections{state}                          lent|idle (VIBN_DB_CONNECTIONS)
 *   vibn_worker_db_waits_total                                 takes that found all lent
 *
 * Every function is thread-safe. */
#ifndef VIBN_METRICS_H
#define VIBN_METRICS_H

#include "common/buf.h"

enum metrics_result { METRICS_SUCCESS, METRICS_ERROR, METRICS_REQUEUE, METRICS_REQUEUE_AFTER };

/* controller: the reconciler's name (copied); workers: the pool size. */
void metrics_init(const char *controller, int workers);
void metrics_reconcile(enum metrics_result result, int terminal, double seconds);
void metrics_queue_wait(double seconds);
void metrics_retry(void);
void metrics_active_workers(int delta);
/* The workers' shared database connections: lent and idle now, and one more take that had
 * to wait (waited non-zero). */
void metrics_worker_db(int lent, int idle, int waited);
void metrics_set_depth(long interactive, long background);
void metrics_listen_state(int connected);
void metrics_listen_reconnect(void);
void metrics_notification(void);
void metrics_resync(long enqueued);

/* One upstream HTTP request (status 0: no response, counted as code="error"). Same
 * signature as the HTTP client's observer, so it can be passed to http_set_observer. */
void metrics_upstream_request(const char *upstream, const char *method, int status, double seconds);
/* One retry of a failed upstream request inside the request (reason "5xx", "timeout",
 * "connection" or "429"). Same signature as the HTTP client's retry observer. */
void metrics_upstream_retry(const char *upstream, const char *method, const char *reason);
/* One webhook delivery, by result (e.g. "accepted", "bad_signature", "ignored"). */
void metrics_webhook_delivery(const char *result);
/* The HTTP API's database jobs: n more ended as result ("done", "db_unavailable",
 * "overloaded", "throttled"); a job answered 503 before the database did ("timeout"), and
 * work rolled back because its request had been answered already ("rolled_back"). */
void metrics_api_db_jobs(const char *result, unsigned long n);
/* The webhook spool: a delivery written to disk, one replayed (by its result: accepted,
 * duplicate, unknown_org, ignored), one refused because the spool was full, a file moved
 * aside, and the spool's size now. */
void metrics_webhook_spooled(void);
void metrics_webhook_spool_replayed(const char *result);
void metrics_webhook_spool_full(void);
void metrics_webhook_spool_corrupt(void);
void metrics_webhook_spool_size(unsigned long long bytes, long files);

/* Appends the whole exposition to out. */
void metrics_render(struct buf *out);
/* Forgets everything (tests). */
void metrics_reset(void);

#endif
