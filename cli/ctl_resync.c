#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "clients/coolify.h"
#include "clients/db.h"
#include "clients/gitea.h"
#include "common/util.h"
#include "reconcilers/sweep_plan.h"

static void
ctl_resync_usage(FILE *out)
{
	fprintf(out, "usage: vibnctl resync --all [--spread SECONDS]\n"
	             "       vibnctl resync SLUG\n"
	             "       vibnctl resync --plan\n"
	             "\n"
	             "Asks vibnd for a drift repair run now. --all enqueues every workspace at\n"
	             "background priority (workspaces already queued keep their place), with due\n"
	             "times spread over SECONDS (default 0: all due now). SLUG enqueues one\n"
	             "workspace at interactive priority. --plan enqueues nothing: it prints the\n"
	             "calls one run over the workspaces in the database needs per upstream, how\n"
	             "long they take at the budgets (VIBN_GITEA_RPS, VIBN_COOLIFY_RPM, and\n"
	             "Coolify's own 200/min) and the spread vibnd paces a run to at\n"
	             "VIBN_RESYNC_INTERVAL.\n");
}

static int
ctl_resync_all(PGconn *conn, long spread)
{
	char interval[32], *cause = NULL;
	const char *params[1] = {interval};
	PGresult *res;

	snprintf(interval, sizeof interval, "%ld seconds", spread);
	res = db_exec(conn, "SELECT vibn_resync($1::interval)", 1, params, &cause);
	if (res == NULL) {
		ctl_error("resync: %s", cause);
		free(cause);
		return CTL_FAIL;
	}
	printf("%s workspace(s) enqueued\n", PQgetvalue(res, 0, 0));
	PQclear(res);
	return CTL_OK;
}

static int
ctl_resync_one(PGconn *conn, const char *slug)
{
	const char *params[1] = {slug};
	char *cause = NULL;
	PGresult *res;
	int rc = CTL_OK;

	res = db_exec(conn,
	              "SELECT vibn_enqueue(id, 0::smallint, 'resync') FROM vibn_workspaces"
	              " WHERE slug = $1",
	              1, params, &cause);
	if (res == NULL) {
		ctl_error("resync: %s", cause);
		free(cause);
		return CTL_FAIL;
	}
	if (PQntuples(res) == 0) {
		ctl_error("resync: no workspace named \"%s\"", slug);
		rc = CTL_FAIL;
	} else {
		printf("workspace %s enqueued\n", slug);
	}
	PQclear(res);
	return rc;
}

/* A budget from the environment, as vibnd reads it, or its default. */
static long
ctl_resync_env(const char *name, long def)
{
	const char *v = getenv(name);
	long n;

	return v != NULL && util_parse_long(v, 1, 100000000, &n) == 0 ? n : def;
}

static int
ctl_resync_plan(PGconn *conn)
{
	long rps = ctl_resync_env("VIBN_GITEA_RPS", GITEA_DEFAULT_RPS);
	long rpm = ctl_resync_env("VIBN_COOLIFY_RPM", COOLIFY_DEFAULT_RPM);
	long interval = ctl_resync_env("VIBN_RESYNC_INTERVAL", 600);
	struct sweep_plan p;
	char *cause = NULL;
	double gs, cs;

	if (sweep_plan_load(conn, &p, &cause) != 0) {
		ctl_error("resync: %s", cause);
		free(cause);
		return CTL_FAIL;
	}
	gs = sweep_plan_gitea_seconds(&p, (int)rps);
	cs = sweep_plan_coolify_seconds(&p, (int)rpm);
	printf("drift repair run over %ld workspaces\n", p.workspaces);
	printf("  gitea    %9ld calls (%ld admin org list pages + %ld per workspace: hooks,"
	       " teams, repos)   %8.0f s at %ld/s\n",
	       p.gitea_reads + p.gitea_lists, p.gitea_lists, p.gitea_reads, gs, rps);
	printf("  coolify  %9ld calls (%ld project list + %ld environments of workspaces with"
	       " apps)   %8.0f s at %ld/min, %.0f s at Coolify's 200/min\n",
	       p.coolify_reads + p.coolify_lists, p.coolify_lists, p.coolify_reads, cs, rpm,
	       sweep_plan_coolify_seconds(&p, 200));
	printf("  spread at VIBN_RESYNC_INTERVAL=%ld: %.0f s (a run takes at most %.0f%% of each"
	       " budget)\n",
	       interval,
	       (double)sweep_plan_spread_ms(&p, (int)rps, (int)rpm, interval * 1000) / 1000,
	       SWEEP_PLAN_SHARE * 100);
	return CTL_OK;
}

int
ctl_resync(int argc, char **argv)
{
	static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
	                                     {"plan", no_argument, NULL, 'p'},
	                                     {"spread", required_argument, NULL, 's'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	PGconn *conn;
	long spread = 0;
	int c, all = 0, plan = 0, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = 1;
			break;
		case 'p':
			plan = 1;
			break;
		case 's':
			if (util_parse_long(optarg, 0, 86400 * 7, &spread) != 0) {
				ctl_error("resync: --spread wants whole seconds from 0 to 604800");
				return CTL_USAGE;
			}
			break;
		case 'h':
			ctl_resync_usage(stdout);
			return CTL_OK;
		default:
			ctl_resync_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (plan && !all && optind == argc) {
		if ((conn = ctl_connect()) == NULL)
			return CTL_FAIL;
		rc = ctl_resync_plan(conn);
		PQfinish(conn);
		return rc;
	}
	if (plan || all == (optind < argc) || argc - optind > 1) {
		ctl_error(
		    "resync: give either --all or one workspace SLUG (see vibnctl resync --help)");
		return CTL_USAGE;
	}
	if ((conn = ctl_connect()) == NULL)
		return CTL_FAIL;
	rc = all ? ctl_resync_all(conn, spread) : ctl_resync_one(conn, argv[optind]);
	PQfinish(conn);
	return rc;
}
