/* auth_check (tenancy/auth): keys pinned to their workspace, revoked keys refused, the admin secret
 * in both header forms, malformed input refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "clients/db.h"
#include "tenancy/keys.h"
#include "tenancy/auth.h"
#include "tests/support/testdb.h"

static void
test_keys_admin_and_refusals(void **state)
{
	char *url = testdb_create(), *cause = NULL, *token = NULL, *key_id = NULL, *ws = NULL;
	PGconn *db = db_connect(url, "test", &cause);
	struct auth_principal p;
	PGresult *res;
	char header[160];
	int revoked = -1;

	assert_non_null(db);
	assert_int_equal(db_command(db,
	                            "INSERT INTO vibn_workspaces (slug, owner) VALUES"
	                            " ('acme', 'u1'), ('other', 'u2')",
	                            0, NULL, &cause),
	                 0);
	res = db_exec(db, "SELECT id FROM vibn_workspaces WHERE slug = 'acme'", 0, NULL, &cause);
	ws = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	assert_int_equal(keys_mint(db, ws, "agent", &token, &key_id, &cause), 0);

	snprintf(header, sizeof header, "Bearer %s", token);
	assert_int_equal(auth_check(db, header, NULL, "adm1n", &p), AUTH_OK);
	assert_false(p.admin);
	assert_string_equal(p.workspace_id, ws);
	assert_string_equal(p.key_id, key_id);
	assert_true(auth_allows(&p, ws));
	assert_false(auth_allows(&p, "00000000-0000-0000-0000-000000000000"));
	snprintf(header, sizeof header, "bearer %s", token); /* scheme is case-insensitive */
	assert_int_equal(auth_check(db, header, NULL, "adm1n", &p), AUTH_OK);

	/* The admin, both ways; a wrong secret either way is refused. */
	assert_int_equal(auth_check(db, NULL, "adm1n", "adm1n", &p), AUTH_OK);
	assert_true(p.admin);
	assert_true(auth_allows(&p, ws));
	assert_int_equal(auth_check(db, "Bearer adm1n", NULL, "adm1n", &p), AUTH_OK);
	assert_true(p.admin);
	assert_int_equal(auth_check(db, NULL, "wrong", "adm1n", &p), AUTH_INVALID);
	assert_int_equal(auth_check(db, "Bearer wrong", NULL, "adm1n", &p), AUTH_INVALID);
	/* No admin secret configured: no admin access at all. */
	assert_int_equal(auth_check(db, NULL, "", NULL, &p), AUTH_MISSING);
	assert_int_equal(auth_check(db, "Bearer anything", NULL, "", &p), AUTH_INVALID);

	assert_int_equal(auth_check(db, NULL, NULL, "adm1n", &p), AUTH_MISSING);
	assert_int_equal(auth_check(db, "Basic Zm9vOmJhcg==", NULL, "adm1n", &p), AUTH_INVALID);
	assert_int_equal(auth_check(db,
	                            "Bearer vibn_sk_0000000000000000000000000000000000000000000",
	                            NULL, "x", &p),
	                 AUTH_INVALID);

	assert_int_equal(keys_revoke(db, key_id, NULL, &revoked, &cause), 0);
	snprintf(header, sizeof header, "Bearer %s", token);
	assert_int_equal(auth_check(db, header, NULL, "adm1n", &p), AUTH_INVALID);

	free(token);
	free(key_id);
	free(ws);
	PQfinish(db);
	testdb_drop(url);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys_admin_and_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
