/* The workspace event trail (reconcilers/events.c, written through pass.c) with the
 * workspace reconciler against vibn-sim and a real Postgres, called directly: every upstream
 * change and every failure leaves an event naming its object, a steady state writes none,
 * repeats are counted on one row, old events are pruned; and the repo deletions the API
 * requests (reconcilers/gitea_reap.c) delete only the repo the workspace created. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "clients/db.h"
#include "common/util.h"
#include "reconcilers/conditions.h"
#include "reconcilers/events.h"
#include "reconcilers/workspace.h"
#include "tests/support/simproc.h"
#include "tests/support/testdb.h"

static struct simproc *sim;

struct fixture {
	char *url;
	PGconn *db;
	struct rec_db_one lender; /* the passes' statements run on db too */
	struct gitea *gitea;
	struct coolify *coolify;
	struct pass_settings set;
	struct project_cache *projects;
	struct pass_env env;
};

static void
sql(struct fixture *f, const char *q)
{
	char *cause = NULL;

	if (db_command(f->db, q, 0, NULL, &cause) != 0)
		fail_msg("%s: %s", q, cause);
}

/* The first column of the first row of q (a new string), or NULL. */
static char *
sql_value(struct fixture *f, const char *q)
{
	char *cause = NULL, *v = NULL;
	PGresult *res = db_exec(f->db, q, 0, NULL, &cause);

	if (res == NULL)
		fail_msg("%s: %s", q, cause);
	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		v = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static long
sql_long(struct fixture *f, const char *q)
{
	char *v = sql_value(f, q);
	long n = v ? atol(v) : -1;

	free(v);
	return n;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct gitea_config gc = {0};
	struct coolify_config cc = {0};
	char *cause = NULL;

	simproc_reset(sim);
	simproc_seed_user(sim, "alice");
	simproc_seed_user(sim, "bob");
	f->url = testdb_create();
	f->db = db_connect(f->url, "test", &cause);
	assert_non_null(f->db);
	gc.api_url = sim->gitea_api;
	gc.token = "gitea-token";
	gc.admin_user = "vibn-admin";
	gc.timeout_ms = 5000;
	cc.url = sim->coolify_url;
	cc.token = "coolify-token";
	cc.timeout_ms = 5000;
	f->gitea = gitea_new(&gc);
	f->coolify = coolify_new(&cc);
	f->set.gitea_admin_user = "vibn-admin";
	f->set.public_url = "http://127.0.0.1:9";
	f->set.webhook_secret = "hook-secret";
	f->set.coolify_server_uuid = "vibnsimlocalhostserver01";
	/* Orgs are private by default: their repos are cloned with Coolify's key. */
	f->set.coolify_deploy_key_uuid = "vibnsimdeploykey00000001";
	f->set.timeout_ms = 20000;
	f->set.app_delete_resend_ms = 600000;
	f->projects = project_cache_new(60000);
	rec_db_one_init(&f->lender, f->db);
	f->env = (struct pass_env){.db = &f->lender.db,
	                           .gitea = f->gitea,
	                           .coolify = f->coolify,
	                           .set = &f->set,
	                           .projects = f->projects,
	                           .reconcile_id = "rec-1"};
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	rec_db_one_fini(&f->lender);
	PQfinish(f->db);
	testdb_drop(f->url);
	gitea_free(f->gitea);
	coolify_free(f->coolify);
	project_cache_free(f->projects);
	free(f);
	return 0;
}

/* Owner alice, admin bob, repo web, app web (DESIGN 4's example). */
static void
insert_acme(struct fixture *f)
{
	sql(f, "INSERT INTO vibn_workspaces (slug, name, owner, source)"
	       " VALUES ('acme', 'Acme Inc.', 'alice', 'manifest')");
	sql(f,
	    "INSERT INTO vibn_workspace_members (workspace_id, user_id, gitea_username, role)"
	    " SELECT id, 'alice', 'alice', 'owner' FROM vibn_workspaces WHERE slug = 'acme'"
	    " UNION ALL SELECT id, 'bob', 'bob', 'admin' FROM vibn_workspaces WHERE slug = 'acme'");
	sql(f, "INSERT INTO vibn_workspace_repos (workspace_id, name, private)"
	       " SELECT id, 'web', true FROM vibn_workspaces WHERE slug = 'acme'");
	sql(f,
	    "INSERT INTO vibn_workspace_apps (workspace_id, name, repo, branch, build_pack, ports)"
	    " SELECT id, 'web', 'web', 'main', 'nixpacks', '3000' FROM vibn_workspaces"
	    " WHERE slug = 'acme'");
}

static struct rec_result
reconcile(struct fixture *f)
{
	char *id = sql_value(f, "SELECT id FROM vibn_workspaces WHERE slug = 'acme'");
	struct rec_result out;

	assert_non_null(id);
	workspace_reconcile(&f->env, id, &out);
	free(id);
	return out;
}

/* How many events of acme have this type, reason, object kind and name ("*": any). */
static long
events(struct fixture *f, const char *type, const char *reason, const char *kind, const char *name)
{
	const char *p[4] = {type, reason, kind, name};
	char *cause = NULL;
	PGresult *res;
	long n;

	res = db_exec(f->db,
	              "SELECT count(*) FROM vibn_workspace_events WHERE ($1 = '*' OR type = $1)"
	              " AND ($2 = '*' OR reason = $2) AND ($3 = '*' OR object_kind = $3)"
	              " AND ($4 = '*' OR object_name = $4)",
	              4, p, &cause);
	if (res == NULL)
		fail_msg("events: %s", cause);
	n = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

static void
drift(const char *body)
{
	simproc_must(sim, "POST", "/_sim/drift", body);
}

static json_t *
sim_state(void)
{
	json_t *st = simproc_call(sim, "GET", "/_sim/state", NULL, NULL);

	assert_non_null(st);
	return st;
}

/* The repos of org in the simulator's state: how many are named name. */
static size_t
sim_repos_named(const char *org, const char *name)
{
	json_t *st = sim_state(), *o, *r;
	size_t i, j, n = 0;

	json_array_foreach(json_object_get(json_object_get(st, "gitea"), "orgs"), i, o)
	{
		if (strcmp(json_string_value(json_object_get(o, "name")), org) != 0)
			continue;
		json_array_foreach(json_object_get(o, "repos"), j, r)
		{
			n += strcmp(json_string_value(json_object_get(r, "name")), name) == 0;
		}
	}
	json_decref(st);
	return n;
}

/* ---- tests ---- */

static void
test_provision_records_each_change_with_its_object(void **state)
{
	struct fixture *f = *state;

	insert_acme(f);
	assert_int_equal(reconcile(f).cls, REC_OK);
	assert_int_equal(events(f, "Normal", "Created", "org", "vibn-acme"), 1);
	assert_int_equal(events(f, "Normal", "Created", "team", "vibn-acme/Admins"), 1);
	assert_int_equal(events(f, "Normal", "Synced", "member", "bob"), 1);
	assert_int_equal(events(f, "Normal", "Synced", "member", "alice"), 1);
	assert_int_equal(events(f, "Normal", "Created", "repo", "vibn-acme/web"), 1);
	assert_int_equal(events(f, "Normal", "Created", "hook", "vibn-acme"), 1);
	assert_int_equal(events(f, "Normal", "Created", "project", "vibn-ws-acme"), 1);
	assert_int_equal(events(f, "Normal", "Created", "app", "acme-web"), 1);
	assert_int_equal(events(f, "Warning", "*", "*", "*"), 0);
	/* Every event carries the run that wrote it. */
	assert_int_equal(sql_long(f, "SELECT count(*) FROM vibn_workspace_events"
	                             " WHERE reconcile_id IS DISTINCT FROM 'rec-1'"),
	                 0);
	/* What was observed upstream is recorded for the projects API. */
	assert_int_equal(sql_long(f, "SELECT count(*) FROM vibn_workspace_repos WHERE clone_url"
	                             " LIKE '%/vibn-acme/web.git' AND ssh_url IS NOT NULL"),
	                 1);
	assert_int_equal(sql_long(f, "SELECT count(*) FROM vibn_workspace_apps"
	                             " WHERE domains LIKE 'http%'"),
	                 1);
}

static void
test_steady_resync_writes_no_event(void **state)
{
	struct fixture *f = *state;
	static const char rows_xmin[] =
	    "SELECT string_agg(xmin::text, ',' ORDER BY id) FROM (SELECT id, xmin FROM"
	    " vibn_workspace_repos UNION ALL SELECT id, xmin FROM vibn_workspace_apps) r";
	char *xmin1, *xmin2;
	long rows, seq;

	insert_acme(f);
	assert_int_equal(reconcile(f).cls, REC_OK);
	rows = sql_long(f, "SELECT count(*) FROM vibn_workspace_events");
	seq = sql_long(f, "SELECT max(seq) FROM vibn_workspace_events");
	xmin1 = sql_value(f, rows_xmin);
	assert_true(rows > 0);
	f->env.sweep = 1; /* a drift repair run */
	assert_int_equal(reconcile(f).cls, REC_OK);
	f->env.sweep = 0; /* and an interactive one */
	assert_int_equal(reconcile(f).cls, REC_OK);
	assert_int_equal(sql_long(f, "SELECT count(*) FROM vibn_workspace_events"), rows);
	assert_int_equal(sql_long(f, "SELECT max(seq) FROM vibn_workspace_events"), seq);
	/* Nor a status row: the recorded ids, URLs and domains are written once. */
	xmin2 = sql_value(f, rows_xmin);
	assert_string_equal(xmin1, xmin2);
	free(xmin1);
	free(xmin2);
}

static void
test_drift_repair_leaves_recreated_event(void **state)
{
	struct fixture *f = *state;
	char *msg;

	insert_acme(f);
	assert_int_equal(reconcile(f).cls, REC_OK);
	drift("{\"action\":\"delete_repo\",\"org\":\"vibn-acme\",\"repo\":\"web\"}");
	assert_int_equal(reconcile(f).cls, REC_OK);
	assert_int_equal(events(f, "Normal", "Recreated", "repo", "vibn-acme/web"), 1);
	msg = sql_value(f, "SELECT message FROM vibn_workspace_events WHERE reason = 'Recreated'");
	assert_non_null(strstr(msg, "deleted upstream"));
	free(msg);
	/* A member removed by hand is added back: Synced, naming the member. */
	drift("{\"action\":\"remove_member\",\"org\":\"vibn-acme\",\"user\":\"bob\"}");
	assert_int_equal(reconcile(f).cls, REC_OK);
	assert_int_equal(sql_long(f, "SELECT count FROM vibn_workspace_events WHERE reason ="
	                             " 'Synced' AND object_name = 'bob'"),
	                 2);
}

static void
test_ten_identical_failures_make_one_event(void **state)
{
	struct fixture *f = *state;
	struct gitea_config gc = {0};

	insert_acme(f);
	/* A revoked Gitea token: every run fails reading the org, the same way. */
	gc.api_url = sim->gitea_api;
	gc.token = "revoked";
	gc.admin_user = "vibn-admin";
	gc.timeout_ms = 5000;
	gitea_free(f->gitea);
	f->gitea = gitea_new(&gc);
	f->env.gitea = f->gitea;
	for (int i = 0; i < 10; i++)
		assert_int_equal(reconcile(f).cls, REC_PERMANENT);
	assert_int_equal(events(f, "Warning", "*", "*", "*"), 1);
	assert_int_equal(events(f, "Warning", "Unauthorized", "org", "vibn-acme"), 1);
	assert_int_equal(sql_long(f, "SELECT count FROM vibn_workspace_events WHERE type ="
	                             " 'Warning'"),
	                 10);
	assert_int_equal(sql_long(f, "SELECT count(*) FROM vibn_workspace_events WHERE type ="
	                             " 'Warning' AND last_seen >= first_seen AND message LIKE"
	                             " '%HTTP 401%'"),
	                 1);
	/* Outside the window, the same failure is a new row. */
	sql(f, "UPDATE vibn_workspace_events SET last_seen = last_seen - interval '1 hour',"
	       " first_seen = first_seen - interval '1 hour'");
	assert_int_equal(reconcile(f).cls, REC_PERMANENT);
	assert_int_equal(events(f, "Warning", "Unauthorized", "org", "vibn-acme"), 2);
}

static void
test_failure_names_its_object(void **state)
{
	struct fixture *f = *state;

	insert_acme(f);
	simproc_rule(sim, "{\"upstream\":\"coolify\",\"method\":\"POST\","
	                  "\"path\":\"/api/v1/applications/private-deploy-key\",\"count\":1,"
	                  "\"action\":\"status\",\"status\":422}");
	assert_int_equal(reconcile(f).cls, REC_PERMANENT);
	assert_int_equal(events(f, "Warning", "UpstreamRejected", "app", "acme-web"), 1);
	assert_int_equal(reconcile(f).cls, REC_OK);
	assert_int_equal(events(f, "Normal", "Created", "app", "acme-web"), 1);
}

/* Every failure kind leaves its Warning: a 429 (RateLimited) and a 500 (UpstreamUnavailable)
 * as well as the refusals above. */
static void
test_rate_limit_and_outage_leave_warnings(void **state)
{
	struct fixture *f = *state;

	insert_acme(f);
	simproc_rule(sim, "{\"upstream\":\"coolify\",\"method\":\"POST\","
	                  "\"path\":\"/api/v1/projects\",\"count\":1,"
	                  "\"action\":\"status\",\"status\":429,\"retry_after\":\"30\"}");
	assert_int_equal(reconcile(f).cls, REC_RATE_LIMITED);
	assert_int_equal(events(f, "Warning", "RateLimited", "project", "vibn-ws-acme"), 1);
	simproc_rule(sim, "{\"upstream\":\"coolify\",\"method\":\"POST\","
	                  "\"path\":\"/api/v1/applications/private-deploy-key\",\"count\":1,"
	                  "\"action\":\"status\",\"status\":500}");
	assert_int_equal(reconcile(f).cls, REC_TRANSIENT);
	assert_int_equal(events(f, "Warning", "UpstreamUnavailable", "app", "acme-web"), 1);
	assert_int_equal(reconcile(f).cls, REC_OK);
}

static void
test_retention_and_keep_prune(void **state)
{
	struct fixture *f = *state;
	struct events_settings s = {0, 0, 3};
	char *id, *cause = NULL, name[32];
	long long n = -1;

	sql(f, "INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u')");
	id = sql_value(f, "SELECT id FROM vibn_workspaces");
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof name, "vibn-acme/r%d", i);
		if (events_record(f->db, id, EVENTS_NORMAL, "Created", "repo", name, "created",
		                  NULL, &s, &cause) != 0)
			fail_msg("%s", cause);
	}
	/* The newest three stay. */
	assert_int_equal(sql_long(f, "SELECT count(*) FROM vibn_workspace_events"), 3);
	assert_int_equal(sql_long(f, "SELECT count(*) FROM vibn_workspace_events WHERE"
	                             " object_name IN ('vibn-acme/r2', 'vibn-acme/r3',"
	                             " 'vibn-acme/r4')"),
	                 3);
	/* Nothing older than the retention: on the next write, and by the periodic prune. */
	sql(f, "UPDATE vibn_workspace_events SET last_seen = now() - interval '2 hours'"
	       " WHERE object_name = 'vibn-acme/r2'");
	s.retention_ms = 3600 * 1000;
	if (events_record(f->db, id, EVENTS_WARNING, "Unauthorized", "org", "vibn-acme", "401",
	                  NULL, &s, &cause) != 0)
		fail_msg("%s", cause);
	assert_int_equal(sql_long(f, "SELECT count(*) FROM vibn_workspace_events WHERE"
	                             " object_name = 'vibn-acme/r2'"),
	                 0);
	sql(f, "UPDATE vibn_workspace_events SET last_seen = now() - interval '2 hours'"
	       " WHERE object_name = 'vibn-acme/r3'");
	if (events_prune(f->db, &s, &n, &cause) != 0)
		fail_msg("%s", cause);
	assert_int_equal(n, 1);
	assert_int_equal(sql_long(f, "SELECT count(*) FROM vibn_workspace_events"), 2);
	free(id);
}

static void
test_listing_pages_and_follows(void **state)
{
	struct fixture *f = *state;
	struct events_query q = {NULL, 2, 0, 0};
	char *id, *cause = NULL, name[32];
	json_t *page = NULL;
	long long top;

	sql(f, "INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u')");
	id = sql_value(f, "SELECT id FROM vibn_workspaces");
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof name, "r%d", i);
		assert_int_equal(events_record(f->db, id, EVENTS_NORMAL, "Created", "repo", name,
		                               "m", "rec-x", NULL, &cause),
		                 0);
	}
	q.ws_id = id;
	assert_int_equal(events_list(f->db, &q, &page, &cause), 0);
	assert_int_equal(json_array_size(page), 2);
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(json_array_get(page, 0), "object"), "name")),
	                    "r4");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(page, 0), "workspace")), "acme");
	top = json_integer_value(json_object_get(json_array_get(page, 0), "seq"));
	q.before = json_integer_value(json_object_get(json_array_get(page, 1), "seq"));
	json_decref(page);
	assert_int_equal(events_list(f->db, &q, &page, &cause), 0);
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(json_array_get(page, 0), "object"), "name")),
	                    "r2");
	json_decref(page);
	/* Following: a repeat moves an old event past everything seen. */
	assert_int_equal(events_record(f->db, id, EVENTS_NORMAL, "Created", "repo", "r0", "m",
	                               "rec-y", NULL, &cause),
	                 0);
	q.before = 0;
	q.since = top;
	q.limit = 10;
	assert_int_equal(events_list(f->db, &q, &page, &cause), 0);
	assert_int_equal(json_array_size(page), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(page, 0), "count")), 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(page, 0), "reconcileId")), "rec-y");
	json_decref(page);
	free(id);
}

/* The API's deleteRepo: the repo row is undeclared and a request recorded with its id. */
static void
request_delete(struct fixture *f, const char *name)
{
	char q[512];

	snprintf(q, sizeof q,
	         "WITH r AS (DELETE FROM vibn_workspace_repos WHERE name = '%s'"
	         " RETURNING workspace_id, name, gitea_repo_id)"
	         " INSERT INTO vibn_workspace_repo_deletions (workspace_id, name, gitea_repo_id)"
	         " SELECT * FROM r",
	         name);
	sql(f, q);
}

static void
test_requested_repo_deletion_deletes_only_what_it_created(void **state)
{
	struct fixture *f = *state;

	insert_acme(f);
	sql(f, "INSERT INTO vibn_workspace_repos (workspace_id, name)"
	       " SELECT id, 'shop' FROM vibn_workspaces");
	sql(f, "INSERT INTO vibn_workspace_repos (workspace_id, name)"
	       " SELECT id, 'docs' FROM vibn_workspaces");
	assert_int_equal(reconcile(f).cls, REC_OK);
	assert_int_equal(sim_repos_named("vibn-acme", "shop"), 1);

	request_delete(f, "shop");
	assert_int_equal(reconcile(f).cls, REC_OK);
	assert_int_equal(sim_repos_named("vibn-acme", "shop"), 0);
	assert_int_equal(events(f, "Normal", "Deleted", "repo", "vibn-acme/shop"), 1);
	assert_int_equal(sql_long(f, "SELECT count(*) FROM vibn_workspace_repo_deletions"), 0);

	/* docs deleted by hand and made again by someone else: not the repo we created. */
	drift("{\"action\":\"delete_repo\",\"org\":\"vibn-acme\",\"repo\":\"docs\"}");
	drift("{\"action\":\"create_repo\",\"org\":\"vibn-acme\",\"repo\":\"docs\"}");
	request_delete(f, "docs");
	assert_int_equal(reconcile(f).cls, REC_OK);
	assert_int_equal(sim_repos_named("vibn-acme", "docs"), 1);
	assert_int_equal(events(f, "Warning", "NotOwned", "repo", "vibn-acme/docs"), 1);
	assert_int_equal(sql_long(f, "SELECT count(*) FROM vibn_workspace_repo_deletions"), 0);

	/* Undeclared without a request: left alone, as ever. The app goes: one DELETE (a
	 * Deleting event), then, once Coolify's job has ended, Deleted. */
	sql(f, "DELETE FROM vibn_workspace_apps");
	sql(f, "DELETE FROM vibn_workspace_repos WHERE name = 'web'");
	assert_int_equal(reconcile(f).cls, REC_OK);
	assert_int_equal(sim_repos_named("vibn-acme", "web"), 1);
	assert_int_equal(events(f, "Normal", "Deleting", "app", "acme-web"), 1);
	for (int64_t deadline = util_now_ms() + 10000;
	     events(f, "Normal", "Deleted", "app", "acme-web") == 0 && util_now_ms() < deadline;)
		if (reconcile(f).cls == REC_OK)
			usleep(20000); /* a poll interval, not a synchronization */
	assert_int_equal(events(f, "Normal", "Deleted", "app", "acme-web"), 1);
	assert_int_equal(sim_repos_named("vibn-acme", "web"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_provision_records_each_change_with_its_object,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_steady_resync_writes_no_event, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_limit_and_outage_leave_warnings, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_drift_repair_leaves_recreated_event, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_ten_identical_failures_make_one_event, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_failure_names_its_object, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retention_and_keep_prune, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_listing_pages_and_follows, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_requested_repo_deletion_deletes_only_what_it_created, setup, teardown),
	};
	int rc;

	sim = simproc_start(NULL);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	simproc_stop(sim);
	return rc;
}
