/* dbconns: the worker pool's Postgres connections (VIBN_DB_CONNECTIONS), lent to the
 * reconciles in flight (VIBN_WORKERS, usually more) one statement or one short unit at a
 * time, like a pgbouncer in transaction mode inside the process. A pass spends most of its
 * time waiting on Gitea and Coolify; holding a connection through those waits would make
 * the database's connection limit the reconcile limit.
 *
 * Connections are opened when first needed and kept; one given back in a transaction is
 * rolled back, a broken one is closed and its slot opened again by the next taker. A
 * failed connect is logged once per episode (a warning), and its end (info). */
#ifndef VIBN_DBCONNS_H
#define VIBN_DBCONNS_H

#include <stdint.h>

#include <libpq-fe.h>

#include "reconcilers/reconciler.h"

struct dbconns;

/* Told of every change: connections lent and idle now, and whether a take had to wait. */
typedef void (*dbconns_observer_fn)(int lent, int idle, int waited);

/* A pool of up to size connections to conninfo (copied), application_name app (copied);
 * observe may be NULL. Returns it (owned; dbconns_free). */
struct dbconns *dbconns_new(const char *conninfo, const char *app, int size,
                            dbconns_observer_fn observe);

/* Takes an idle connection, opening one when a slot is free, waiting while all are lent
 * until deadline_ms (util_now_ms() clock). Returns 0 with *conn, 1 when none was free by
 * the deadline, or -1 with a one-line *cause when the connect failed. */
int dbconns_take(struct dbconns *p, int64_t deadline_ms, PGconn **conn, char **cause);

/* Gives back a taken connection (see above for one not left idle). */
void dbconns_give(struct dbconns *p, PGconn *conn);

/* The lender the reconcilers get (struct rec_db, borrowed from p, valid while p is): a take
 * waits up to 10 s for a connection while all are lent. */
struct rec_db *dbconns_lender(struct dbconns *p);

/* Closes every connection; all must have been given back. */
void dbconns_free(struct dbconns *p);

#endif
