/* Versioned schema migrations, compiled into every binary from deploy/migrations/.
 * Each pending migration runs in its own transaction and is recorded in
 * vibn_schema_migrations; a session advisory lock serializes concurrent runs. */
#ifndef VIBN_MIGRATE_H
#define VIBN_MIGRATE_H

#include <libpq-fe.h>

struct migration {
	int version;
	const char *name; /* e.g. "0001_init" */
	const char *sql;
};

/* Generated table, in version order. */
extern const struct migration migrate_embedded[];
extern const int migrate_embedded_count;

/* Called once for each migration as it is applied (borrowed pointer). */
typedef void (*migrate_report_cb)(const struct migration *m, void *arg);

/* Applies every pending migration in order. *napplied counts them (0: schema was up to
 * date, and nothing was written). Returns 0, or -1 with a one-line *cause naming the
 * migration that failed (it is rolled back; earlier ones stay). */
int migrate_apply(PGconn *conn, migrate_report_cb report, void *arg, int *napplied, char **cause)
    __attribute__((warn_unused_result));

/* Counts embedded migrations not yet applied (all of them on an empty database).
 * Returns 0, or -1 with *cause. Reads only: safe for readiness probes. */
int migrate_pending(PGconn *conn, int *npending, char **cause) __attribute__((warn_unused_result));

#endif
