/* vibnctl signup: what the web app does at first sign-in (vibn_ensure_workspace_for_user). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "clients/db.h"

static void
ctl_signup_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: vibnctl signup --user ID --email EMAIL [--gitea-user NAME]\n"
	    "\n"
	    "Ensures the user has a workspace, as the web app does at first sign-in, and prints\n"
	    "its slug. No network call: the daemon provisions the Gitea org and Coolify project\n"
	    "once it sees the row. Idempotent per user: a user with a workspace gets it back\n"
	    "(and its owner member gets --gitea-user if none was recorded yet).\n"
	    "\n"
	    "The slug comes from the email's local part: lower-cased, every run of other\n"
	    "characters turned into one '-', trimmed, cut to fit 32 characters, and made unique\n"
	    "with -2, -3, ... ('ws' when nothing is left).\n"
	    "\n"
	    "  -u, --user ID          the web app's user id (the workspace owner)\n"
	    "  -e, --email EMAIL      the user's email\n"
	    "  -g, --gitea-user NAME  the user's Gitea username, when the account is linked;\n"
	    "                         without it the owner is not added upstream yet\n"
	    "  -h, --help             this help\n"
	    "\n"
	    "Exit status: 0 done; 1 a database failure (or an invalid Gitea username); 2 usage\n"
	    "error.\n");
}

int
ctl_signup(int argc, char **argv)
{
	static const struct option opts[] = {{"user", required_argument, NULL, 'u'},
	                                     {"email", required_argument, NULL, 'e'},
	                                     {"gitea-user", required_argument, NULL, 'g'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *p[3] = {NULL, NULL, NULL};
	PGconn *conn;
	PGresult *res;
	char *cause = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "u:e:g:h", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			p[0] = optarg;
			break;
		case 'e':
			p[1] = optarg;
			break;
		case 'g':
			p[2] = optarg;
			break;
		case 'h':
			ctl_signup_usage(stdout);
			return CTL_OK;
		default:
			ctl_signup_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind != argc || p[0] == NULL || *p[0] == '\0' || p[1] == NULL || *p[1] == '\0') {
		ctl_error("signup: --user ID and --email EMAIL are required");
		return CTL_USAGE;
	}
	if ((conn = ctl_connect()) == NULL)
		return CTL_FAIL;
	res = db_exec(conn, "SELECT vibn_ensure_workspace_for_user($1, $2, $3)", 3, p, &cause);
	if (res == NULL) {
		ctl_error("signup: %s", cause);
		free(cause);
		PQfinish(conn);
		return CTL_FAIL;
	}
	printf("%s\n", PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(conn);
	return CTL_OK;
}
