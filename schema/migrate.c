#include "migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/db.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

/* Advisory lock key: "vibnmigr" as a big-endian int64, unlikely to collide. */
#define MIGRATE_LOCK_KEY "8532475893596318322"

static const char migrate_table_sql[] = "CREATE TABLE vibn_schema_migrations ("
                                        " version integer PRIMARY KEY,"
                                        " name text NOT NULL,"
                                        " checksum text NOT NULL,"
                                        " applied_at timestamptz NOT NULL DEFAULT now())";

/* Sets *exists to whether vibn_schema_migrations is there. */
static int
migrate_table_exists(PGconn *conn, int *exists, char **cause)
{
	PGresult *res = db_exec(conn, "SELECT to_regclass('vibn_schema_migrations') IS NOT NULL", 0,
	                        NULL, cause);

	if (res == NULL)
		return -1;
	*exists = db_bool(res, 0, 0);
	PQclear(res);
	return 0;
}

/* Returns a new array of migrate_embedded_count flags: 1 where the version is applied. */
static int
migrate_applied_flags(PGconn *conn, char **flags, char **cause)
{
	PGresult *res;
	char *f = xcalloc((size_t)migrate_embedded_count + 1, 1);
	int exists;

	*flags = NULL;
	if (migrate_table_exists(conn, &exists, cause) != 0)
		goto fail;
	if (exists) {
		res = db_exec(conn, "SELECT version FROM vibn_schema_migrations", 0, NULL, cause);
		if (res == NULL)
			goto fail;
		for (int r = 0; r < PQntuples(res); r++) {
			int v = atoi(PQgetvalue(res, r, 0));

			for (int i = 0; i < migrate_embedded_count; i++)
				if (migrate_embedded[i].version == v)
					f[i] = 1;
		}
		PQclear(res);
	}
	*flags = f;
	return 0;
fail:
	free(f);
	return -1;
}

int
migrate_pending(PGconn *conn, int *npending, char **cause)
{
	char *flags;

	if (migrate_applied_flags(conn, &flags, cause) != 0)
		return -1;
	*npending = 0;
	for (int i = 0; i < migrate_embedded_count; i++)
		*npending += !flags[i];
	free(flags);
	return 0;
}

/* Runs one migration and its record in a single transaction. */
static int
migrate_one(PGconn *conn, const struct migration *m, char **cause)
{
	char version[16], checksum[65];
	const char *params[3] = {version, m->name, checksum};
	PGresult *res;
	char *err = NULL;

	snprintf(version, sizeof version, "%d", m->version);
	util_sha256_hex(m->sql, strlen(m->sql), checksum);
	if (db_command(conn, "BEGIN", 0, NULL, cause) != 0)
		return -1;
	/* PQexec: a migration file holds several statements, and has no parameters. */
	res = PQexec(conn, m->sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		err = db_oneline(PQresultErrorMessage(res));
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	if (db_command(
	        conn,
	        "INSERT INTO vibn_schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
	        3, params, &err) != 0)
		goto fail;
	if (db_command(conn, "COMMIT", 0, NULL, &err) != 0)
		goto fail;
	return 0;
fail:
	*cause = xasprintf("migration %s failed: %s", m->name, err ? err : "unknown error");
	free(err);
	err = NULL;
	if (db_command(conn, "ROLLBACK", 0, NULL, &err) != 0)
		free(err);
	return -1;
}

int
migrate_apply(PGconn *conn, migrate_report_cb report, void *arg, int *napplied, char **cause)
{
	char *flags = NULL, *err = NULL;
	int exists, rc = -1;

	*napplied = 0;
	*cause = NULL;
	/* Serialize with any concurrent run; the second one then finds nothing to do. */
	if (db_command(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL, cause) != 0)
		return -1;
	if (migrate_table_exists(conn, &exists, cause) != 0)
		goto out;
	if (!exists && db_command(conn, migrate_table_sql, 0, NULL, cause) != 0)
		goto out;
	if (migrate_applied_flags(conn, &flags, cause) != 0)
		goto out;
	for (int i = 0; i < migrate_embedded_count; i++) {
		if (flags[i])
			continue;
		if (migrate_one(conn, &migrate_embedded[i], cause) != 0)
			goto out;
		(*napplied)++;
		log_debug("applied migration %s", migrate_embedded[i].name);
		if (report != NULL)
			report(&migrate_embedded[i], arg);
	}
	rc = 0;
out:
	free(flags);
	if (db_command(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", 0, NULL, &err) !=
	    0) {
		log_warn("releasing the migration lock: %s", err);
		free(err);
	}
	return rc;
}
