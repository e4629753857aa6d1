/* The dedicated LISTEN connection, on libpq's asynchronous API driven by the loop: it
 * connects without blocking (host names are resolved by libpq, which can block briefly;
 * give an address to avoid it), LISTENs, hands every notification to on_notify, and when
 * the connection is lost (server restart, pg_terminate_backend, network) reconnects with
 * jittered exponential backoff (100 ms to 5 s). After every (re)connect on_connect runs,
 * so the workers take a full look at the queue: notifications sent while we were away
 * are gone. */
#ifndef VIBN_LISTEN_H
#define VIBN_LISTEN_H

#include "controller/loop.h"

struct listen;

/* payload is borrowed for the call. */
typedef void (*listen_notify_fn)(const char *payload, void *arg);

/* Starts connecting (on the loop). conninfo and channel are copied. */
struct listen *listen_start(const char *conninfo, const char *channel, listen_notify_fn on_notify,
                            loop_fn on_connect, void *arg);
/* Whether LISTEN is in effect now. */
int listen_connected(const struct listen *l);
/* Closes the connection and frees everything (loop thread). */
void listen_free(struct listen *l);

#endif
