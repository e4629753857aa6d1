#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "clients/db.h"
#include "common/util.h"

static void
ctl_resync_usage(FILE *out)
{
	fprintf(out, "usage: vibnctl resync --all [--spread SECONDS]\n"
	             "       vibnctl resync SLUG\n"
	             "\n"
	             "Asks vibnd for a drift repair run now. --all enqueues every workspace at\n"
	             "background priority (workspaces already queued keep their place), with due\n"
	             "times spread over SECONDS (default 0: all due now). SLUG enqueues one\n"
	             "workspace at interactive priority.\n");
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

int
ctl_resync(int argc, char **argv)
{
	static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
	                                     {"spread", required_argument, NULL, 's'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	PGconn *conn;
	long spread = 0;
	int c, all = 0, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = 1;
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
	if (all == (optind < argc) || argc - optind > 1) {
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
