/* vibnctl backfill: legacy fs_projects rows without a workspace go to their owner's
 * workspace, which the signup function creates when needed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "clients/db.h"
#include "common/xmalloc.h"

static void
ctl_backfill_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: vibnctl backfill [--dry-run]\n"
	    "\n"
	    "Assigns every fs_projects row without a workspace (vibn_workspace_id NULL) to the\n"
	    "signup workspace of its owner (fs_projects.user_id), creating the workspace with\n"
	    "vibn_ensure_workspace_for_user when the owner has none, all in one transaction.\n"
	    "Idempotent: a second run finds nothing to do. Rows without a user_id are skipped.\n"
	    "\n"
	    "The slug of a created workspace comes from the owner's email when the database has\n"
	    "a users table with id and email columns (users.id = fs_projects.user_id), and from\n"
	    "the user id itself otherwise (or when that email is empty).\n"
	    "\n"
	    "  -n, --dry-run  do all of it, print the counts, then roll back\n"
	    "  -h, --help     this help\n"
	    "\n"
	    "Prints: projects assigned, workspaces created, workspaces reused, projects skipped.\n"
	    "Exit status: 0 done; 1 a database failure; 2 usage error.\n");
}

/* The owner's email: from users(id, email) when that table exists, else the user id. */
static int
ctl_backfill_email_sql(PGconn *conn, const char **expr, char **cause)
{
	PGresult *res =
	    db_exec(conn,
	            "SELECT count(DISTINCT column_name) = 2 FROM information_schema.columns "
	            "WHERE table_schema = current_schema() AND table_name = 'users' "
	            "AND column_name IN ('id', 'email')",
	            0, NULL, cause);

	if (res == NULL)
		return -1;
	*expr = db_bool(res, 0, 0) ? "coalesce(nullif((SELECT u.email::text FROM users u "
	                             "WHERE u.id::text = o.uid LIMIT 1), ''), o.uid)"
	                           : "o.uid";
	PQclear(res);
	return 0;
}

static int
ctl_backfill_run(PGconn *conn, int dry_run, char **cause)
{
	const char *email;
	char *sql, *err = NULL;
	PGresult *res;
	long created, reused, assigned, skipped;

	if (db_command(conn, "BEGIN", 0, NULL, cause) != 0)
		return -1;
	if (ctl_backfill_email_sql(conn, &email, cause) != 0)
		goto fail;
	/* One statement: "had" is read from the statement's snapshot, before any of the
	 * function's inserts, so it says whether the owner's workspace existed already. */
	sql = xasprintf(
	    "CREATE TEMP TABLE vibn_backfill ON COMMIT DROP AS "
	    "WITH owners AS (SELECT DISTINCT p.user_id::text AS uid FROM fs_projects p "
	    "  WHERE p.vibn_workspace_id IS NULL AND p.user_id IS NOT NULL "
	    "  AND p.user_id::text <> ''), "
	    "pre AS (SELECT o.uid, EXISTS (SELECT 1 FROM vibn_workspaces w WHERE w.owner = o.uid "
	    "  AND w.source = 'signup' AND w.deleted_at IS NULL) AS had, %s AS email "
	    "  FROM owners o) "
	    "SELECT uid, had, vibn_ensure_workspace_for_user(uid, email) AS slug FROM pre",
	    email);
	if (db_command(conn, sql, 0, NULL, cause) != 0) {
		free(sql);
		goto fail;
	}
	free(sql);
	res = db_exec(conn,
	              "SELECT count(*) FILTER (WHERE NOT had), count(*) FILTER (WHERE had) "
	              "FROM vibn_backfill",
	              0, NULL, cause);
	if (res == NULL)
		goto fail;
	created = atol(PQgetvalue(res, 0, 0));
	reused = atol(PQgetvalue(res, 0, 1));
	PQclear(res);
	res = db_exec(conn,
	              "UPDATE fs_projects p SET vibn_workspace_id = w.id "
	              "FROM vibn_backfill b JOIN vibn_workspaces w ON w.slug = b.slug "
	              "WHERE p.vibn_workspace_id IS NULL AND p.user_id::text = b.uid",
	              0, NULL, cause);
	if (res == NULL)
		goto fail;
	assigned = atol(PQcmdTuples(res));
	PQclear(res);
	res = db_exec(conn, "SELECT count(*) FROM fs_projects WHERE vibn_workspace_id IS NULL", 0,
	              NULL, cause);
	if (res == NULL)
		goto fail;
	skipped = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (db_command(conn, dry_run ? "ROLLBACK" : "COMMIT", 0, NULL, cause) != 0)
		return -1;
	printf("projects assigned:   %ld\n"
	       "workspaces created:  %ld\n"
	       "workspaces reused:   %ld\n"
	       "projects skipped:    %ld (no owner user id)\n",
	       assigned, created, reused, skipped);
	if (dry_run)
		printf("dry run: nothing was written\n");
	return 0;
fail:
	if (db_command(conn, "ROLLBACK", 0, NULL, &err) != 0)
		free(err);
	return -1;
}

int
ctl_backfill(int argc, char **argv)
{
	static const struct option opts[] = {{"dry-run", no_argument, NULL, 'n'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	PGconn *conn;
	char *cause = NULL;
	int c, dry_run = 0, rc = CTL_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			dry_run = 1;
			break;
		case 'h':
			ctl_backfill_usage(stdout);
			return CTL_OK;
		default:
			ctl_backfill_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind != argc) {
		ctl_error("backfill: unexpected argument \"%s\"", argv[optind]);
		return CTL_USAGE;
	}
	if ((conn = ctl_connect()) == NULL)
		return CTL_FAIL;
	if (ctl_backfill_run(conn, dry_run, &cause) != 0) {
		ctl_error("backfill: %s", cause);
		free(cause);
		rc = CTL_FAIL;
	}
	PQfinish(conn);
	return rc;
}
