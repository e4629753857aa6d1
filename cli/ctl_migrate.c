#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "schema/migrate.h"

static void
ctl_migrate_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: vibnctl migrate\n"
	    "\n"
	    "Applies the pending schema migrations to DATABASE_URL, in order, each in its own\n"
	    "transaction. Concurrent runs wait for each other; a current schema is left as it is.\n");
}

static void
ctl_migrate_report(const struct migration *m, void *arg)
{
	printf("applied %s\n", m->name);
}

int
ctl_migrate(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	PGconn *conn;
	char *cause = NULL;
	int c, n, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			ctl_migrate_usage(stdout);
			return CTL_OK;
		default:
			ctl_migrate_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind != argc) {
		ctl_error("migrate: unexpected argument \"%s\"", argv[optind]);
		return CTL_USAGE;
	}
	if ((conn = ctl_connect()) == NULL)
		return CTL_FAIL;
	rc = migrate_apply(conn, ctl_migrate_report, NULL, &n, &cause);
	if (rc != 0) {
		ctl_error("migrate: %s", cause);
		free(cause);
	} else if (n == 0) {
		printf("schema is up to date\n");
	} else {
		printf("%d migration%s applied\n", n, n == 1 ? "" : "s");
	}
	PQfinish(conn);
	return rc == 0 ? CTL_OK : CTL_FAIL;
}
