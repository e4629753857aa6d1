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

static char *
testdb_new(const char *template)
{
	static int seq;
	const char *admin = getenv("VIBN_TEST_ADMIN_URL");
	char name[64], *sql, *url, *slash;

	snprintf(name, sizeof name, "t_c_%d_%d", (int)getpid(), ++seq);
	sql = template ? xasprintf("CREATE DATABASE %s TEMPLATE %s", name, template)
	               : xasprintf("CREATE DATABASE %s", name);
	testdb_admin(sql);
	free(sql);
	url = xstrdup(admin);
	slash = strrchr(url, '/');
	*slash = '\0';
	sql = xasprintf("%s/%s", url, name);
	free(url);
	return sql;
}

char *
testdb_create(void)
{
	const char *template = getenv("VIBN_TEST_TEMPLATE");

	return testdb_new(template ? template : "vibn_template");
}

char *
testdb_create_empty(void)
{
	return testdb_new(NULL);
}

void
testdb_drop(char *url)
{
	char *sql = xasprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", strrchr(url, '/') + 1);

	testdb_admin(sql);
	free(sql);
	free(url);
}
