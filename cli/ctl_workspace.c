/* vibnctl delete and reconcile: a workspace's lifecycle, with waits that end at a
 * deadline. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "clients/db.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define CTL_WAIT_DEFAULT_S 300
#define CTL_POLL_MS        200

static void
ctl_delete_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: vibnctl delete workspace SLUG [--wait] [--timeout SECONDS]\n"
	    "\n"
	    "Deletes a workspace softly: it is marked deleted, and the daemon cleans up upstream\n"
	    "as its deletionPolicy says (Orphan: leaves the Gitea org and Coolify project; Delete:\n"
	    "removes apps, repos, org and project), then removes the row.\n"
	    "\n"
	    "  -w, --wait             wait until the row is gone (upstream cleanup done)\n"
	    "  -t, --timeout SECONDS  how long --wait waits (default %d)\n"
	    "  -h, --help             this help\n"
	    "\n"
	    "Exit status: 0 deleted (or already being deleted); 1 not found, a database failure or\n"
	    "the wait timed out; 2 usage error.\n",
	    CTL_WAIT_DEFAULT_S);
}

static void
ctl_reconcile_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: vibnctl reconcile SLUG [--wait] [--timeout SECONDS]\n"
	    "\n"
	    "Queues the workspace for a reconcile now, at interactive priority (ahead of drift\n"
	    "sweeps).\n"
	    "\n"
	    "  -w, --wait             wait for the outcome: the queue entry done (then the Ready\n"
	    "                         condition is printed) or a failed attempt (its error)\n"
	    "  -t, --timeout SECONDS  how long --wait waits (default %d)\n"
	    "  -h, --help             this help\n"
	    "\n"
	    "Exit status: 0 queued (with --wait: reconciled and Ready); 1 not found, a database\n"
	    "failure, a failed or not Ready outcome, or the wait timed out; 2 usage error.\n",
	    CTL_WAIT_DEFAULT_S);
}

/* Parses --wait/--timeout style options shared by delete and reconcile. */
struct ctl_wait_opts {
	int wait;
	long timeout_s;
};

static int
ctl_wait_args(int argc, char **argv, void (*usage)(FILE *), struct ctl_wait_opts *o)
{
	static const struct option opts[] = {{"wait", no_argument, NULL, 'w'},
	                                     {"timeout", required_argument, NULL, 't'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	int c;

	o->wait = 0;
	o->timeout_s = CTL_WAIT_DEFAULT_S;
	optind = 1;
	while ((c = getopt_long(argc, argv, "wt:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			o->wait = 1;
			break;
		case 't':
			if (util_parse_long(optarg, 1, 86400, &o->timeout_s) != 0) {
				ctl_error("%s: --timeout takes whole seconds from 1 to 86400",
				          argv[0]);
				return CTL_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return CTL_USAGE;
		}
	}
	return CTL_OK;
}

static void
ctl_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Runs sql with slug; returns its result (caller PQclears) or NULL after printing. */
static PGresult *
ctl_workspace_query(PGconn *conn, const char *cmd, const char *sql, const char *slug)
{
	const char *p[1] = {slug};
	char *cause = NULL;
	PGresult *res = db_exec(conn, sql, 1, p, &cause);

	if (res == NULL) {
		ctl_error("%s: %s", cmd, cause);
		free(cause);
	}
	return res;
}

static int
ctl_delete_wait(PGconn *conn, const char *slug, long timeout_s)
{
	int64_t deadline = util_now_ms() + timeout_s * 1000;
	PGresult *res;

	for (;;) {
		res =
		    ctl_workspace_query(conn, "delete",
		                        "SELECT provision_status, last_error FROM vibn_workspaces "
		                        "WHERE slug = $1",
		                        slug);
		if (res == NULL)
			return CTL_FAIL;
		if (PQntuples(res) == 0) {
			PQclear(res);
			printf("workspace/%s gone\n", slug);
			return CTL_OK;
		}
		if (util_now_ms() >= deadline) {
			ctl_error(
			    "delete: timed out after %lds waiting for workspace/%s to be cleaned "
			    "up (status %s, last error: %s)",
			    timeout_s, slug, PQgetvalue(res, 0, 0),
			    PQgetisnull(res, 0, 1) ? "none" : PQgetvalue(res, 0, 1));
			PQclear(res);
			return CTL_FAIL;
		}
		PQclear(res);
		ctl_sleep_ms(CTL_POLL_MS);
	}
}

int
ctl_delete(int argc, char **argv)
{
	struct ctl_wait_opts o;
	PGconn *conn;
	PGresult *res;
	const char *slug;
	int rc;

	if ((rc = ctl_wait_args(argc, argv, ctl_delete_usage, &o)) != CTL_OK)
		return rc < 0 ? CTL_OK : rc;
	if (argc - optind != 2 ||
	    (strcmp(argv[optind], "workspace") != 0 && strcmp(argv[optind], "workspaces") != 0 &&
	     strcmp(argv[optind], "ws") != 0)) {
		ctl_error("delete: expected \"workspace SLUG\"");
		return CTL_USAGE;
	}
	slug = argv[optind + 1];
	if ((conn = ctl_connect()) == NULL)
		return CTL_FAIL;
	rc = CTL_FAIL;
	/* The first delete marks it; later ones find it marked and say so. */
	res = ctl_workspace_query(conn, "delete",
	                          "WITH d AS (UPDATE vibn_workspaces SET deleted_at = now() "
	                          "  WHERE slug = $1 AND deleted_at IS NULL RETURNING id) "
	                          "SELECT (SELECT count(*) FROM d), "
	                          "  (SELECT count(*) FROM vibn_workspaces WHERE slug = $1)",
	                          slug);
	if (res == NULL)
		goto out;
	if (strcmp(PQgetvalue(res, 0, 0), "1") == 0) {
		printf("workspace/%s deleted\n", slug);
	} else if (strcmp(PQgetvalue(res, 0, 1), "0") != 0) {
		printf("workspace/%s already being deleted\n", slug);
	} else {
		ctl_error("delete: workspace \"%s\" not found", slug);
		PQclear(res);
		goto out;
	}
	PQclear(res);
	rc = o.wait ? ctl_delete_wait(conn, slug, o.timeout_s) : CTL_OK;
out:
	PQfinish(conn);
	return rc;
}

/* Polls the queue entry of workspace id until it is done or an attempt has failed. */
static int
ctl_reconcile_wait(PGconn *conn, const char *id, const char *slug, long attempts0, long timeout_s)
{
	int64_t deadline = util_now_ms() + timeout_s * 1000;
	PGresult *res;
	int rc;

	for (;;) {
		res = ctl_workspace_query(
		    conn, "reconcile",
		    "SELECT q.workspace_id IS NOT NULL, q.attempts, q.lease_owner IS NOT NULL, "
		    "q.last_error, coalesce((SELECT c->>'status' FROM "
		    "jsonb_array_elements(w.conditions) c WHERE c->>'type' = 'Ready' LIMIT 1), "
		    "'Unknown'), w.last_error, w.observed_generation, w.generation "
		    "FROM vibn_workspaces w LEFT JOIN vibn_reconcile_queue q "
		    "ON q.workspace_id = w.id WHERE w.id = $1::uuid",
		    id);
		if (res == NULL)
			return CTL_FAIL;
		if (PQntuples(res) == 0) {
			PQclear(res);
			printf("workspace/%s is gone (deleted)\n", slug);
			return CTL_OK;
		}
		if (*PQgetvalue(res, 0, 0) == 'f') {
			/* Done: the queue entry is removed when a reconcile finishes. */
			rc = strcmp(PQgetvalue(res, 0, 4), "True") == 0 ? CTL_OK : CTL_FAIL;
			printf("workspace/%s reconciled: Ready=%s (generation %s, observed %s)\n",
			       slug, PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 7),
			       PQgetvalue(res, 0, 6));
			if (rc != CTL_OK)
				ctl_error("reconcile: workspace/%s is not Ready: %s", slug,
				          PQgetisnull(res, 0, 5) ? "see vibnctl describe workspace"
				                                 : PQgetvalue(res, 0, 5));
			PQclear(res);
			return rc;
		}
		if (*PQgetvalue(res, 0, 2) == 'f' && atol(PQgetvalue(res, 0, 1)) > attempts0) {
			ctl_error(
			    "reconcile: workspace/%s failed (attempt %s, retrying with backoff): "
			    "%s",
			    slug, PQgetvalue(res, 0, 1),
			    PQgetisnull(res, 0, 3) ? "no error recorded" : PQgetvalue(res, 0, 3));
			PQclear(res);
			return CTL_FAIL;
		}
		PQclear(res);
		if (util_now_ms() >= deadline) {
			ctl_error(
			    "reconcile: timed out after %lds waiting for workspace/%s (is vibnd "
			    "running?)",
			    timeout_s, slug);
			return CTL_FAIL;
		}
		ctl_sleep_ms(CTL_POLL_MS);
	}
}

int
ctl_reconcile(int argc, char **argv)
{
	struct ctl_wait_opts o;
	PGconn *conn;
	PGresult *res;
	const char *slug;
	char *id = NULL;
	long attempts0;
	int rc;

	if ((rc = ctl_wait_args(argc, argv, ctl_reconcile_usage, &o)) != CTL_OK)
		return rc < 0 ? CTL_OK : rc;
	if (argc - optind != 1) {
		ctl_error("reconcile: expected one SLUG");
		return CTL_USAGE;
	}
	slug = argv[optind];
	if ((conn = ctl_connect()) == NULL)
		return CTL_FAIL;
	rc = CTL_FAIL;
	res = ctl_workspace_query(conn, "reconcile",
	                          "SELECT w.id, vibn_enqueue(w.id, 0::smallint, 'manual') IS NULL, "
	                          "(SELECT attempts FROM vibn_reconcile_queue q "
	                          " WHERE q.workspace_id = w.id) "
	                          "FROM vibn_workspaces w WHERE w.slug = $1",
	                          slug);
	if (res == NULL)
		goto out;
	if (PQntuples(res) == 0) {
		ctl_error("reconcile: workspace \"%s\" not found", slug);
		PQclear(res);
		goto out;
	}
	id = xstrdup(PQgetvalue(res, 0, 0));
	attempts0 = atol(PQgetvalue(res, 0, 2));
	PQclear(res);
	printf("workspace/%s queued\n", slug);
	rc = o.wait ? ctl_reconcile_wait(conn, id, slug, attempts0, o.timeout_s) : CTL_OK;
out:
	free(id);
	PQfinish(conn);
	return rc;
}
