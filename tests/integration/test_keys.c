/* clients/keys against a real database: mint, lookup by token (what the tenant API does),
 * last-used bookkeeping, revoke with and without a workspace scope. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "clients/db.h"
#include "tenancy/keys.h"
#include "common/xmalloc.h"
#include "tests/support/testdb.h"

struct fixture {
	char *url;
	PGconn *conn;
	char *ws_a;
	char *ws_b;
};

static char *
one(PGconn *conn, const char *sql, const char *arg)
{
	const char *p[1] = {arg};
	char *cause = NULL, *v;
	PGresult *res = db_exec(conn, sql, arg ? 1 : 0, arg ? p : NULL, &cause);

	if (res == NULL)
		fail_msg("%s: %s", sql, cause);
	v = PQgetisnull(res, 0, 0) ? NULL : xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	char *cause = NULL;

	f->url = testdb_create();
	f->conn = db_connect(f->url, "test_keys", &cause);
	assert_non_null(f->conn);
	f->ws_a = one(f->conn,
	              "INSERT INTO vibn_workspaces (slug, owner) VALUES ('a', 'u1') "
	              "RETURNING id",
	              NULL);
	f->ws_b = one(f->conn,
	              "INSERT INTO vibn_workspaces (slug, owner) VALUES ('b', 'u2') "
	              "RETURNING id",
	              NULL);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	PQfinish(f->conn);
	testdb_drop(f->url);
	free(f->ws_a);
	free(f->ws_b);
	free(f);
	return 0;
}

static void
test_mint_and_lookup(void **state)
{
	struct fixture *f = *state;
	char *token, *id, *ws = NULL, *kid = NULL, *cause = NULL, *used1, *used2;

	assert_int_equal(keys_mint(f->conn, f->ws_a, "agent", &token, &id, &cause), 0);
	assert_true(keys_well_formed(token));
	assert_int_equal(keys_lookup(f->conn, token, &ws, &kid, &cause), 0);
	assert_string_equal(ws, f->ws_a);
	assert_string_equal(kid, id);
	used1 = one(f->conn, "SELECT last_used_at::text FROM vibn_workspace_api_keys WHERE id = $1",
	            id);
	assert_non_null(used1);
	free(ws);
	free(kid);
	/* A second use within the minute does not write. */
	assert_int_equal(keys_lookup(f->conn, token, &ws, &kid, &cause), 0);
	used2 = one(f->conn, "SELECT last_used_at::text FROM vibn_workspace_api_keys WHERE id = $1",
	            id);
	assert_string_equal(used1, used2);
	free(ws);
	free(kid);
	/* A token one character off, or of the wrong shape, is unknown. */
	token[strlen(token) - 1] = token[strlen(token) - 1] == 'a' ? 'b' : 'a';
	assert_int_equal(keys_lookup(f->conn, token, &ws, &kid, &cause), 1);
	assert_null(ws);
	assert_int_equal(keys_lookup(f->conn, "vibn_sk_x", &ws, &kid, &cause), 1);
	assert_int_equal(keys_lookup(f->conn, "' OR 1=1 --", &ws, &kid, &cause), 1);
	free(used1);
	free(used2);
	free(token);
	free(id);
}

static void
test_revoke_scoped_and_lookup_fails(void **state)
{
	struct fixture *f = *state;
	char *token, *id, *ws = NULL, *kid = NULL, *cause = NULL;
	int result;

	assert_int_equal(keys_mint(f->conn, f->ws_a, "agent", &token, &id, &cause), 0);
	/* Workspace b cannot see (or revoke) workspace a's key. */
	assert_int_equal(keys_revoke(f->conn, id, f->ws_b, &result, &cause), 0);
	assert_int_equal(result, 2);
	assert_int_equal(keys_lookup(f->conn, token, &ws, &kid, &cause), 0);
	free(ws);
	free(kid);
	assert_int_equal(keys_revoke(f->conn, id, f->ws_a, &result, &cause), 0);
	assert_int_equal(result, 0);
	assert_int_equal(keys_revoke(f->conn, id, NULL, &result, &cause), 0);
	assert_int_equal(result, 1);
	assert_int_equal(keys_lookup(f->conn, token, &ws, &kid, &cause), 1);
	assert_int_equal(keys_revoke(f->conn, "nope", NULL, &result, &cause), 0);
	assert_int_equal(result, 2);
	free(token);
	free(id);
}

static void
test_deleted_workspace_keys_stop_working(void **state)
{
	struct fixture *f = *state;
	char *token, *id, *ws = NULL, *kid = NULL, *cause = NULL;
	struct keys_info *list;
	size_t n;

	assert_int_equal(keys_mint(f->conn, f->ws_b, "agent", &token, &id, &cause), 0);
	free(one(f->conn,
	         "UPDATE vibn_workspaces SET deleted_at = now() WHERE id = $1 "
	         "RETURNING id",
	         f->ws_b));
	assert_int_equal(keys_lookup(f->conn, token, &ws, &kid, &cause), 1);
	/* And no new key can be minted for it. */
	free(token);
	free(id);
	assert_int_equal(keys_mint(f->conn, f->ws_b, "again", &token, &id, &cause), -1);
	assert_non_null(strstr(cause, "no such workspace"));
	free(cause);
	assert_int_equal(keys_list(f->conn, f->ws_b, &list, &n, &cause), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].workspace, "b");
	assert_string_equal(list[0].name, "agent");
	assert_int_equal(strlen(list[0].prefix), KEYS_DISPLAY_LEN);
	keys_list_free(list, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_mint_and_lookup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revoke_scoped_and_lookup_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deleted_workspace_keys_stop_working, setup,
	                                    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
