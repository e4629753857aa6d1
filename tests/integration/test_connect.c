/* clients/connect against a real database: the three files for a workspace, its identity in
 * the rule, the key only where it belongs, and the refusals (unknown workspace, a URL that
 * would need quoting, a token that is not a workspace key). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "tenancy/connect.h"
#include "clients/db.h"
#include "tenancy/keys.h"
#include "common/xmalloc.h"
#include "tests/support/testdb.h"

struct fixture {
	char *url;
	PGconn *conn;
	char *ws;
	char token[KEYS_TOKEN_LEN + 1];
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	char *cause = NULL;
	PGresult *res;

	f->url = testdb_create();
	f->conn = db_connect(f->url, "test_connect", &cause);
	assert_non_null(f->conn);
	res = db_exec(f->conn,
	              "INSERT INTO vibn_workspaces (slug, name, owner, gitea_org, "
	              "coolify_project_uuid) VALUES ('acme', 'Acme\nInc.', 'u', 'vibn-acme', "
	              "'cp-123') RETURNING id",
	              0, NULL, &cause);
	assert_non_null(res);
	f->ws = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	keys_generate(f->token);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	PQfinish(f->conn);
	testdb_drop(f->url);
	free(f->ws);
	free(f);
	return 0;
}

static void
test_files(void **state)
{
	struct fixture *f = *state;
	struct connect_files cf;
	char *cause = NULL, *want = NULL;
	json_t *mcp, *server;

	assert_int_equal(
	    connect_build(f->conn, f->ws, "https://vibn.example.com/", f->token, &cf, &cause), 0);
	/* The rule: front matter, identity, no key. */
	assert_memory_equal(cf.rule, "---\n", 4);
	assert_non_null(strstr(cf.rule, "\nalwaysApply: true\n---\n"));
	assert_non_null(strstr(cf.rule, "`acme`"));
	assert_non_null(strstr(cf.rule, "`vibn-acme`"));
	assert_non_null(strstr(cf.rule, "`cp-123`"));
	assert_non_null(strstr(cf.rule, "(Acme Inc.)")); /* the newline folded */
	assert_non_null(strstr(cf.rule, "https://vibn.example.com/api/mcp"));
	assert_null(strstr(cf.rule, f->token));
	/* mcp.json: the server, its URL, the key in the header. */
	mcp = json_loads(cf.mcp_json, 0, NULL);
	assert_non_null(mcp);
	server = json_object_get(json_object_get(mcp, "mcpServers"), "vibn-acme");
	assert_string_equal(json_string_value(json_object_get(server, "url")),
	                    "https://vibn.example.com/api/mcp");
	assert_true(asprintf(&want, "Bearer %s", f->token) > 0);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(server, "headers"), "Authorization")),
	    want);
	json_decref(mcp);
	free(want);
	/* .env.local */
	assert_true(asprintf(&want, "\nVIBN_API_KEY=%s\nVIBN_API_URL=https://vibn.example.com\n",
	                     f->token) > 0);
	assert_non_null(strstr(cf.env, want));
	assert_non_null(strstr(cf.env, "\n# curl -fsS -X POST 'https://vibn.example.com/api/mcp'"));
	free(want);
	connect_files_free(&cf);
}

static void
test_refusals(void **state)
{
	struct fixture *f = *state;
	struct connect_files cf;
	char *cause = NULL;

	assert_int_equal(connect_build(f->conn, "00000000-0000-0000-0000-000000000000", "http://h",
	                               f->token, &cf, &cause),
	                 1);
	assert_null(cf.rule);
	assert_int_equal(
	    connect_build(f->conn, f->ws, "http://h/'; rm -rf /", f->token, &cf, &cause), -1);
	assert_non_null(cause);
	free(cause);
	cause = NULL;
	assert_int_equal(connect_build(f->conn, f->ws, "http://h", "the-admin-secret", &cf, &cause),
	                 -1);
	free(cause);
	assert_false(connect_valid_url("ftp://h"));
	assert_false(connect_valid_url("http://"));
	assert_false(connect_valid_url("http://h p"));
	assert_true(connect_valid_url("http://127.0.0.1:8080"));
	/* A deleted workspace has no files. */
	cause = NULL;
	PQclear(db_exec(f->conn, "UPDATE vibn_workspaces SET deleted_at = now()", 0, NULL, &cause));
	assert_int_equal(connect_build(f->conn, f->ws, "http://h", f->token, &cf, &cause), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
