/* desired_load: one query returns the workspace with its members, repos and apps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "clients/db.h"
#include "reconcilers/desired.h"
#include "tests/support/testdb.h"

static void
exec_ok(PGconn *conn, const char *sql)
{
	char *cause = NULL;

	if (db_command(conn, sql, 0, NULL, &cause) != 0)
		fail_msg("%s: %s", sql, cause);
}

static void
test_load_full_workspace(void **state)
{
	char *url = testdb_create(), *cause = NULL;
	PGconn *conn = db_connect(url, "test", &cause);
	struct desired_ws *ws = NULL;
	PGresult *res;
	char id[64];

	assert_non_null(conn);
	exec_ok(conn,
	        "INSERT INTO vibn_workspaces (slug, name, owner, source, paused, deletion_policy)"
	        " VALUES ('acme', 'Acme Inc.', 'alice', 'manifest', true, 'Delete')");
	exec_ok(conn,
	        "INSERT INTO vibn_workspace_members (workspace_id, user_id, gitea_username, role)"
	        " SELECT id, 'alice', 'alice', 'owner' FROM vibn_workspaces UNION ALL"
	        " SELECT id, 'u-bob', NULL, 'admin' FROM vibn_workspaces");
	exec_ok(conn, "INSERT INTO vibn_workspace_repos (workspace_id, name, private, description)"
	              " SELECT id, 'web', false, 'Marketing' FROM vibn_workspaces");
	exec_ok(conn, "INSERT INTO vibn_workspace_apps (workspace_id, name, repo, ports)"
	              " SELECT id, 'site', 'web', '3000,8080' FROM vibn_workspaces");
	res = db_exec(conn, "SELECT id FROM vibn_workspaces", 0, NULL, &cause);
	assert_non_null(res);
	strcpy(id, PQgetvalue(res, 0, 0));
	PQclear(res);

	assert_int_equal(desired_load(conn, id, &ws, &cause), 0);
	assert_non_null(ws);
	assert_string_equal(ws->slug, "acme");
	assert_string_equal(ws->name, "Acme Inc.");
	assert_string_equal(ws->deletion_policy, "Delete");
	assert_true(ws->paused);
	assert_false(ws->deleted);
	assert_int_equal(ws->nmembers, 2);
	assert_int_equal(ws->members[0].role, ROLE_OWNER);
	assert_string_equal(ws->members[0].gitea_username, "alice");
	assert_null(ws->members[1].gitea_username);
	assert_int_equal(ws->members[1].role, ROLE_ADMIN);
	assert_int_equal(ws->nrepos, 1);
	assert_false(ws->repos[0].private);
	assert_string_equal(ws->repos[0].description, "Marketing");
	assert_string_equal(ws->repos[0].default_branch, "main");
	assert_int_equal(ws->napps, 1);
	assert_string_equal(ws->apps[0].ports, "3000,8080");
	assert_null(ws->apps[0].coolify_app_uuid);
	assert_null(ws->gitea_org);
	assert_true(json_is_array(ws->conditions));
	desired_free(ws);

	/* A removed workspace loads as NULL, not an error. */
	exec_ok(conn, "DELETE FROM vibn_workspaces");
	assert_int_equal(desired_load(conn, id, &ws, &cause), 0);
	assert_null(ws);
	PQfinish(conn);
	testdb_drop(url);
}

static void
test_upstream_names(void **state)
{
	char *s = desired_gitea_org_name("acme");

	assert_string_equal(s, "vibn-acme");
	free(s);
	s = desired_coolify_project_name("acme");
	assert_string_equal(s, "vibn-ws-acme");
	free(s);
	s = desired_coolify_app_name("acme", "web");
	assert_string_equal(s, "acme-web");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load_full_workspace),
	    cmocka_unit_test(test_upstream_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
