#include "testdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "clients/db.h"
#include "common/xmalloc.h"

static void
testdb_admin(const char *sql)
{
	const char *admin = getenv("VIBN_TEST_ADMIN_URL");
	char *cause = NULL;
	PGconn *conn;

	if (admin == NULL) {
		fprintf(stderr,
		        "testdb: VIBN_TEST_ADMIN_URL is not set; run through tests/run.sh\n");
		exit(1);
	}
	conn = db_connect(admin, "vibn-test", &cause);
	if (conn == NULL || db_command(conn, sql, 0, NULL, &cause) != 0) {
		fprintf(stderr, "testdb: %s: %s\n", sql, cause);
		exit(1);
	}
	PQfinish(conn);
}

char *
testdb_create(void)
{
	static int seq;
	const char *admin = getenv("VIBN_TEST_ADMIN_URL");
	const char *template = getenv("VIBN_TEST_TEMPLATE");
	char name[64], *sql, *url, *slash;

	snprintf(name, sizeof name, "t_c_%d_%d", (int)getpid(), ++seq);
	sql = xasprintf("CREATE DATABASE %s TEMPLATE %s", name,
	                template ? template : "vibn_template");
	testdb_admin(sql);
	free(sql);
	url = xstrdup(admin);
	slash = strrchr(url, '/');
	*slash = '\0';
	sql = xasprintf("%s/%s", url, name);
	free(url);
	return sql;
}

void
testdb_drop(char *url)
{
	char *sql = xasprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", strrchr(url, '/') + 1);

	testdb_admin(sql);
	free(sql);
	free(url);
}
