/* Probes and metrics routes: GET /healthz (the process answers), GET /readyz (200, or 503
 * with the reason as {"error","code":"not_ready"}), GET /metrics (Prometheus text). */
#ifndef VIBN_HEALTH_H
#define VIBN_HEALTH_H

#include <stddef.h>

/* Writes why the daemon is not ready into reason (len bytes) and returns 0, or returns 1
 * when it is ready. Runs on the loop thread; must not block. */
typedef int (*health_ready_fn)(char *reason, size_t len, void *arg);

/* Registers the three routes with httpd. */
void health_register(health_ready_fn ready, void *arg);

#endif
