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
	const char *rule = cf.v[CONNECT_RULE].content, *env = cf.v[CONNECT_ENV].content;

	/* Only .env.local holds the key, and only it is marked secret. */
	for (int i = 0; i < CONNECT_NFILES; i++) {
		assert_non_null(cf.v[i].content);
		assert_int_equal(cf.v[i].secret, i == CONNECT_ENV);
		assert_int_equal(strstr(cf.v[i].content, f->token) != NULL, i == CONNECT_ENV);
	}
	assert_string_equal(cf.v[CONNECT_CURSOR].path, ".cursor/mcp.json");
	assert_string_equal(cf.v[CONNECT_CLAUDE].path, ".mcp.json");
	/* The rule: front matter, identity. */
	assert_memory_equal(rule, "---\n", 4);
	assert_non_null(strstr(rule, "\nalwaysApply: true\n---\n"));
	assert_non_null(strstr(rule, "`acme`"));
	assert_non_null(strstr(rule, "`vibn-acme`"));
	assert_non_null(strstr(rule, "`cp-123`"));
	assert_non_null(strstr(rule, "(Acme Inc.)")); /* the newline folded */
	assert_non_null(strstr(rule, "https://vibn.example.com/api/mcp"));
	/* Cursor's file: the server, its URL, the key by reference in Cursor's syntax. */
	mcp = json_loads(cf.v[CONNECT_CURSOR].content, 0, NULL);
	assert_non_null(mcp);
	server = json_object_get(json_object_get(mcp, "mcpServers"), "vibn-acme");
	assert_string_equal(json_string_value(json_object_get(server, "url")),
	                    "https://vibn.example.com/api/mcp");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(server, "headers"), "Authorization")),
	    "Bearer ${env:VIBN_API_KEY}");
	assert_null(json_object_get(server, "type"));
	json_decref(mcp);
	/* Claude Code's: type http, its own variable syntax. */
	mcp = json_loads(cf.v[CONNECT_CLAUDE].content, 0, NULL);
	server = json_object_get(json_object_get(mcp, "mcpServers"), "vibn-acme");
	assert_string_equal(json_string_value(json_object_get(server, "type")), "http");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(server, "headers"), "Authorization")),
	    "Bearer ${VIBN_API_KEY}");
	json_decref(mcp);
	assert_string_equal(cf.claude_command,
	                    "claude mcp add --transport http vibn-acme "
	                    "'https://vibn.example.com/api/mcp' --header \"Authorization: Bearer "
	                    "$VIBN_API_KEY\"");
	/* .env.local */
	assert_true(asprintf(&want, "\nVIBN_API_KEY=%s\nVIBN_API_URL=https://vibn.example.com\n",
	                     f->token) > 0);
	assert_non_null(strstr(env, want));
	assert_non_null(strstr(env, "\n# curl -fsS -X POST 'https://vibn.example.com/api/mcp'"));
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
	assert_null(cf.v[CONNECT_RULE].content);
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
