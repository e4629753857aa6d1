/* The daemon core of vibnd. One libevent loop owns the HTTP server (httpd/, api/), the
 * LISTEN connection, signals and timers; a pool of worker threads (engine/) claims items
 * from the durable queue in Postgres and runs the selected reconciler (reconcilers/) on
 * them; a keeper thread renews leases and checks readiness. */
#ifndef VIBN_DAEMON_H
#define VIBN_DAEMON_H

#include "reconcilers/reconciler.h"

/* Runs vibnd with the reconcilers it offers (a NULL-terminated table; VIBN_RECONCILER
 * picks one by name). Returns the process's exit status. */
int daemon_main(int argc, char **argv, const struct reconciler *const *reconcilers);

#endif
