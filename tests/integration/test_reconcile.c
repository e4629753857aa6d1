/* The workspace reconciler against vibn-sim and a real Postgres, called directly (no daemon):
 * provision to Ready, zero-change repeats, every drift repaired by one reconcile, crash
 * safety, failure classes, deletion policies, pause, hand-made resources left alone.
 * Upstream state is asserted through the simulator's /_sim/state dump. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <dirent.h>

#include "clients/db.h"
#include "common/util.h"
#include "engine/dbconns.h"
#include "reconcilers/branch.h"
#include "reconcilers/conditions.h"
#include "reconcilers/sweep_plan.h"
#include "reconcilers/workspace.h"
#include "tests/support/simproc.h"
#include "tests/support/testdb.h"

static struct simproc *sim;

struct fixture {
	char *url;
	PGconn *db;            /* the test's own queries */
	struct dbconns *conns; /* what the passes take their statements' connections from */
	struct gitea *gitea;
	struct gitea *gitea_more[PASS_GITEA_MORE];
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

/* Returns a new string: the first column of the first row of q, or NULL. */
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
	simproc_seed_user(sim, "carol");
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
	/* The steps beside the members step, as in vibnd (test_events runs them one after
	 * another). */
	for (int k = 0; k < PASS_GITEA_MORE; k++)
		f->gitea_more[k] = gitea_new(&gc);
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
	/* Two connections, as vibnd lends them: fewer than the steps that may write at once. */
	f->conns = dbconns_new(f->url, "test-pass", 2, NULL);
	f->env =
	    (struct pass_env){.db = dbconns_lender(f->conns),
	                      .gitea = f->gitea,
	                      .coolify = f->coolify,
	                      .set = &f->set,
	                      .projects = f->projects,
	                      .reconcile_id = NULL,
	                      .gitea_more = {f->gitea_more[0], f->gitea_more[1], f->gitea_more[2]}};
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	PQfinish(f->db);
	dbconns_free(f->conns);
	testdb_drop(f->url);
	gitea_free(f->gitea);
	for (int k = 0; k < PASS_GITEA_MORE; k++)
		gitea_free(f->gitea_more[k]);
	coolify_free(f->coolify);
	project_cache_free(f->projects);
	free(f);
	return 0;
}

/* The team example of DESIGN 4: owner alice, admin bob, repo web, app web. */
static void
insert_acme(struct fixture *f)
{
	sql(f, "INSERT INTO vibn_workspaces (slug, name, owner, source)"
	       " VALUES ('acme', 'Acme Inc.', 'alice', 'manifest')");
	sql(f,
	    "INSERT INTO vibn_workspace_members (workspace_id, user_id, gitea_username, role)"
	    " SELECT id, 'alice', 'alice', 'owner' FROM vibn_workspaces WHERE slug = 'acme'"
	    " UNION ALL SELECT id, 'bob', 'bob', 'admin' FROM vibn_workspaces WHERE slug = 'acme'");
	sql(f,
	    "INSERT INTO vibn_workspace_repos (workspace_id, name, private, description)"
	    " SELECT id, 'web', true, 'Marketing site' FROM vibn_workspaces WHERE slug = 'acme'");
	sql(f,
	    "INSERT INTO vibn_workspace_apps (workspace_id, name, repo, branch, build_pack, ports)"
	    " SELECT id, 'web', 'web', 'main', 'nixpacks', '3000' FROM vibn_workspaces"
	    " WHERE slug = 'acme'");
}

/* A workspace whose org is public, with a public repo web and an app built from it: the one
 * case an anonymous (public source) clone works. */
static void
insert_public(struct fixture *f, const char *slug)
{
	char q[512];

	snprintf(q, sizeof q,
	         "INSERT INTO vibn_workspaces (slug, name, owner, source, visibility)"
	         " VALUES ('%s', '%s', 'alice', 'manifest', 'public')",
	         slug, slug);
	sql(f, q);
	snprintf(q, sizeof q,
	         "INSERT INTO vibn_workspace_repos (workspace_id, name, private)"
	         " SELECT id, 'web', false FROM vibn_workspaces WHERE slug = '%s'",
	         slug);
	sql(f, q);
	snprintf(q, sizeof q,
	         "INSERT INTO vibn_workspace_apps (workspace_id, name, repo, branch, build_pack,"
	         " ports) SELECT id, 'web', 'web', 'main', 'nixpacks', '3000' FROM vibn_workspaces"
	         " WHERE slug = '%s'",
	         slug);
	sql(f, q);
}

static struct rec_result
reconcile(struct fixture *f, const char *slug)
{
	char q[160];
	char *id;
	struct rec_result out;

	snprintf(q, sizeof q, "SELECT id FROM vibn_workspaces WHERE slug = '%s'", slug);
	id = sql_value(f, q);
	if (id == NULL)
		fail_msg("no workspace %s", slug);
	workspace_reconcile(&f->env, id, &out);
	free(id);
	return out;
}

/* The status of condition type of workspace slug ("True", "False", ...), a new string. */
static char *
cond(struct fixture *f, const char *slug, const char *type, const char *field)
{
	char q[320];

	snprintf(q, sizeof q,
	         "SELECT c->>'%s' FROM vibn_workspaces, jsonb_array_elements(conditions) c"
	         " WHERE slug = '%s' AND c->>'type' = '%s'",
	         field, slug, type);
	return sql_value(f, q);
}

static void
assert_cond(struct fixture *f, const char *slug, const char *type, const char *status,
            const char *reason)
{
	char *s = cond(f, slug, type, "status"), *r = cond(f, slug, type, "reason");
	char *m = cond(f, slug, type, "message");

	if (s == NULL || strcmp(s, status) != 0 || (reason && (!r || strcmp(r, reason) != 0)))
		fail_msg("%s %s: want %s/%s, have %s/%s (%s)", slug, type, status,
		         reason ? reason : "*", s ? s : "-", r ? r : "-", m ? m : "");
	free(s);
	free(r);
	free(m);
}

/* Reconciles until condition type has status and reason, or fails after deadline_ms (for
 * what the upstream finishes by itself, such as Coolify's asynchronous deletes). */
static void
reconcile_until(struct fixture *f, const char *slug, const char *type, const char *status,
                const char *reason, int64_t deadline_ms)
{
	int64_t deadline = util_now_ms() + deadline_ms;

	for (;;) {
		char *s, *r;
		int done;

		reconcile(f, slug);
		s = cond(f, slug, type, "status");
		r = cond(f, slug, type, "reason");
		done = s != NULL && r != NULL && strcmp(s, status) == 0 && strcmp(r, reason) == 0;
		free(s);
		free(r);
		if (done)
			return;
		if (util_now_ms() > deadline)
			break;
		usleep(20000); /* a poll interval, not a synchronization */
	}
	assert_cond(f, slug, type, status, reason);
}

/* ---- simulator state ---- */

static json_t *
state(void)
{
	json_t *st = simproc_call(sim, "GET", "/_sim/state", NULL, NULL);

	assert_non_null(st);
	return st;
}

static json_t *
find_named(json_t *arr, const char *key, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		const char *n = json_string_value(json_object_get(v, key));

		if (n && strcmp(n, name) == 0)
			return v;
	}
	return NULL;
}

static json_t *
sim_org(json_t *st, const char *name)
{
	return find_named(json_object_get(json_object_get(st, "gitea"), "orgs"), "name", name);
}

static size_t
count_named(json_t *arr, const char *key, const char *name)
{
	size_t i, n = 0;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		const char *s = json_string_value(json_object_get(v, key));

		n += s && strcmp(s, name) == 0;
	}
	return n;
}

static size_t
coolify_count(json_t *st, const char *what, const char *name)
{
	return count_named(json_object_get(json_object_get(st, "coolify"), what), "name", name);
}

static int
team_has(json_t *org, const char *team, const char *user)
{
	json_t *t = find_named(json_object_get(org, "teams"), "name", team);
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(t, "members"), i, v)
	{
		if (json_string_value(v) && strcmp(json_string_value(v), user) == 0)
			return 1;
	}
	return 0;
}

static void
drift(const char *body)
{
	simproc_must(sim, "POST", "/_sim/drift", body);
}

/* An upstream API call outside the clients under test (as a person or script would make it);
 * fails the test unless the answer is 2xx. Returns the answer (new reference, or NULL). */
static json_t *
upstream_must(const char *upstream, const char *method, const char *path, const char *body)
{
	long status = 0;
	json_t *res = simproc_api(sim, upstream,
	                          strcmp(upstream, "gitea") == 0 ? "gitea-token" : "coolify-token",
	                          method, path, body, &status);

	if (status < 200 || status >= 300)
		fail_msg("%s %s %s: HTTP %ld", upstream, method, path, status);
	return res;
}

static long
mutating(void)
{
	return simproc_counter(sim, "gitea", "mutating") +
	       simproc_counter(sim, "coolify", "mutating");
}

/* ---- tests ---- */

static void
test_fresh_provision_reaches_ready(void **state_)
{
	struct fixture *f = *state_;
	struct rec_result out;
	json_t *st, *org;

	insert_acme(f);
	out = reconcile(f, "acme");
	assert_int_equal(out.cls, REC_OK);
	assert_cond(f, "acme", COND_READY, "True", "Ready");
	assert_cond(f, "acme", COND_GITEA_ORG, "True", "Created");
	assert_cond(f, "acme", COND_COOLIFY_PROJECT, "True", "Created");
	assert_cond(f, "acme", COND_MEMBERS, "True", NULL);
	assert_cond(f, "acme", COND_REPOS, "True", "Created");
	assert_cond(f, "acme", COND_WEBHOOK, "True", "Created");
	assert_cond(f, "acme", COND_APPS, "True", "Created");
	assert_int_equal(sql_long(f, "SELECT count(*) FROM vibn_workspaces WHERE provision_status ="
	                             " 'ready' AND observed_generation = generation AND gitea_org ="
	                             " 'vibn-acme' AND coolify_project_uuid IS NOT NULL AND"
	                             " coolify_project_pending_at IS NULL"),
	                 1);
	st = state();
	org = sim_org(st, "vibn-acme");
	assert_non_null(org);
	assert_string_equal(json_string_value(json_object_get(org, "full_name")), "Acme Inc.");
	assert_string_equal(json_string_value(json_object_get(org, "visibility")), "private");
	assert_true(team_has(org, "Owners", "alice"));
	assert_true(team_has(org, "Owners", "vibn-admin"));
	assert_true(team_has(org, "Admins", "bob"));
	assert_non_null(find_named(json_object_get(org, "repos"), "name", "web"));
	assert_non_null(
	    find_named(json_object_get(org, "hooks"), "url", "http://127.0.0.1:9/webhooks/gitea"));
	assert_int_equal(coolify_count(st, "projects", "vibn-ws-acme"), 1);
	json_decref(st);
}

static void
test_second_reconcile_changes_nothing(void **state_)
{
	struct fixture *f = *state_;
	char *xmin1, *xmin2;

	insert_acme(f);
	reconcile(f, "acme");
	xmin1 = sql_value(f, "SELECT xmin::text FROM vibn_workspaces");
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_int_equal(mutating(), 0);
	xmin2 = sql_value(f, "SELECT xmin::text FROM vibn_workspaces");
	assert_string_equal(xmin1, xmin2); /* no row written */
	free(xmin1);
	free(xmin2);
}

static void
test_signup_without_gitea_account_is_ready(void **state_)
{
	struct fixture *f = *state_;
	char *msg;

	sql(f, "INSERT INTO vibn_workspaces (slug, name, owner) VALUES ('dave', 'dave', 'u-42')");
	sql(f, "INSERT INTO vibn_workspace_members (workspace_id, user_id, role)"
	       " SELECT id, 'u-42', 'owner' FROM vibn_workspaces");
	assert_int_equal(reconcile(f, "dave").cls, REC_OK);
	assert_cond(f, "dave", COND_READY, "True", "Ready");
	msg = cond(f, "dave", COND_MEMBERS, "message");
	assert_non_null(strstr(msg, "1 waits for a linked Gitea account"));
	free(msg);
}

/* A drift sweep (background run) of a converged signup workspace reads only what could
 * hold drift: the org and its hooks on Gitea (no teams: the owner has no Gitea account, so
 * no membership step is possible) and, on Coolify, the shared project list rather than one
 * GET per project. A project missing from a fresh list is read, found gone, recreated. */
static void
test_sweep_reads_lists(void **state_)
{
	struct fixture *f = *state_;
	char body[256], *uuid, *uuid2;

	sql(f, "INSERT INTO vibn_workspaces (slug, name, owner) VALUES ('dave', 'dave', 'u-42')");
	sql(f, "INSERT INTO vibn_workspace_members (workspace_id, user_id, role)"
	       " SELECT id, 'u-42', 'owner' FROM vibn_workspaces");
	assert_int_equal(reconcile(f, "dave").cls, REC_OK);
	assert_cond(f, "dave", COND_READY, "True", "Ready");

	f->env.sweep = 1;
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(reconcile(f, "dave").cls, REC_OK);
	assert_int_equal(mutating(), 0);
	assert_int_equal(simproc_counter(sim, "gitea", "read"), 2);
	assert_int_equal(simproc_counter(sim, "coolify", "read"), 0); /* the snapshot served it */
	assert_cond(f, "dave", COND_READY, "True", "Ready");

	/* A snapshot that is always stale: each sweep lists once, then reads the missing. */
	project_cache_free(f->projects);
	f->projects = project_cache_new(0);
	f->env.projects = f->projects;
	uuid = sql_value(f, "SELECT coolify_project_uuid FROM vibn_workspaces");
	snprintf(body, sizeof body, "{\"action\":\"delete_project\",\"uuid\":\"%s\"}", uuid);
	drift(body);
	assert_int_equal(reconcile(f, "dave").cls, REC_OK);
	assert_cond(f, "dave", COND_COOLIFY_PROJECT, "True", "Recreated");
	assert_cond(f, "dave", COND_READY, "True", "Ready");
	uuid2 = sql_value(f, "SELECT coolify_project_uuid FROM vibn_workspaces");
	assert_string_not_equal(uuid, uuid2);
	free(uuid);
	free(uuid2);
}

/* Gitea's page cap in force (MAX_RESPONSE_ITEMS: 50, or 5 in the second group). */
static long
page_cap(void)
{
	json_t *cfg = simproc_call(sim, "GET", "/_sim/config", NULL, NULL);
	long cap = (long)json_integer_value(json_object_get(cfg, "gitea_max_items"));

	json_decref(cfg);
	assert_true(cap > 0);
	return cap;
}

/* Declares the bare workspace slug (an owner not linked to Gitea yet), as a signup does. */
static void
insert_bare(struct fixture *f, const char *slug)
{
	char q[1024];

	snprintf(q, sizeof q,
	         "INSERT INTO vibn_workspaces (slug, name, owner) VALUES ('%s', '%s', 'u-%s')",
	         slug, slug, slug);
	sql(f, q);
}

/* A workspace that never recorded an org creates it without reading first (one call, not a
 * 404 and a create); when the name is taken by an org, the create's 422 leads to a read and
 * the org is adopted; a failed read then is a retry, not a name taken for good. */
static void
test_new_workspace_creates_its_org_unread(void **state_)
{
	struct fixture *f = *state_;

	insert_bare(f, "solo");
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(reconcile(f, "solo").cls, REC_OK);
	assert_cond(f, "solo", COND_GITEA_ORG, "True", "Created");
	assert_int_equal(simproc_counter(sim, "gitea", "GET /api/v1/orgs/{org}"), 0);
	assert_int_equal(simproc_counter(sim, "gitea", "POST /api/v1/admin/users/{username}/orgs"),
	                 1);

	/* Declared again after its row went (deletionPolicy Orphan): the org is there. */
	sql(f, "DELETE FROM vibn_workspaces WHERE slug = 'solo'");
	insert_bare(f, "solo");
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(reconcile(f, "solo").cls, REC_OK);
	assert_cond(f, "solo", COND_GITEA_ORG, "True", "Adopted");
	assert_int_equal(simproc_counter(sim, "gitea", "POST /api/v1/admin/users/{username}/orgs"),
	                 1);
	assert_int_equal(simproc_counter(sim, "gitea", "GET /api/v1/orgs/{org}"), 1);

	sql(f, "DELETE FROM vibn_workspaces WHERE slug = 'solo'");
	insert_bare(f, "solo");
	simproc_rule(sim, "{\"upstream\":\"gitea\",\"method\":\"GET\",\"path\":"
	                  "\"/api/v1/orgs/{org}\",\"count\":20,\"action\":\"status\","
	                  "\"status\":500}");
	assert_int_equal(reconcile(f, "solo").cls, REC_TRANSIENT);
	assert_cond(f, "solo", COND_GITEA_ORG, "False", "UpstreamUnavailable");
	simproc_must(sim, "DELETE", "/_sim/rules", NULL);
	assert_int_equal(reconcile(f, "solo").cls, REC_OK);
	assert_cond(f, "solo", COND_GITEA_ORG, "True", "Adopted");
}

/* Asserts that workspace slug's app web recorded the domains the simulator gave it. */
static void
assert_app_domains_recorded(struct fixture *f, const char *slug)
{
	char q[256], app[64];
	json_t *st = state(), *a;
	char *recorded;

	snprintf(app, sizeof app, "%s-web", slug);
	a = find_named(json_object_get(json_object_get(st, "coolify"), "applications"), "name",
	               app);
	assert_non_null(a);
	snprintf(q, sizeof q,
	         "SELECT a.domains FROM vibn_workspace_apps a JOIN vibn_workspaces w ON"
	         " w.id = a.workspace_id WHERE w.slug = '%s' AND a.name = 'web'",
	         slug);
	recorded = sql_value(f, q);
	assert_non_null(recorded);
	assert_non_null(json_string_value(json_object_get(a, "fqdn")));
	assert_string_equal(recorded, json_string_value(json_object_get(a, "fqdn")));
	free(recorded);
	json_decref(st);
}

/* An app's domains come with its create's answer, so the app is not read after it; an older
 * Coolify answers them null, and then the app is read once for them. */
static void
test_app_domains_from_the_create(void **state_)
{
	struct fixture *f = *state_;

	insert_acme(f);
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_int_equal(simproc_counter(sim, "coolify", "GET /api/v1/applications/{uuid}"), 0);
	assert_app_domains_recorded(f, "acme");

	simproc_must(sim, "POST", "/_sim/config", "{\"coolify_create_domains\":false}");
	insert_public(f, "beta");
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(reconcile(f, "beta").cls, REC_OK);
	simproc_must(sim, "POST", "/_sim/config", "{\"coolify_create_domains\":true}");
	assert_int_equal(simproc_counter(sim, "coolify", "GET /api/v1/applications/{uuid}"), 1);
	assert_app_domains_recorded(f, "beta");
}

/* A drift sweep over signup workspaces learns the orgs' settings from the admin org list,
 * one page per page cap of orgs (X-Total-Count followed), never one GET /orgs/{org} per
 * workspace; a drifted org (settings edited by hand) is read and patched; the snapshot
 * serves one drift repair run: the next run lists again. */
static void
test_sweep_reads_the_org_list(void **state_)
{
	struct fixture *f = *state_;
	const int nws = 7;
	long cap = page_cap(), pages = (nws + cap - 1) / cap;
	char q[256];

	for (int i = 0; i < nws; i++) {
		snprintf(q, sizeof q, "s%d", i);
		insert_bare(f, q);
		assert_int_equal(reconcile(f, q).cls, REC_OK);
		assert_cond(f, q, COND_READY, "True", "Ready");
	}
	f->env.orgs = org_cache_new();
	f->env.sweep = 1;
	org_cache_sweep_started(f->env.orgs);
	project_cache_sweep_started(f->env.projects);
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	for (int i = 0; i < nws; i++) {
		snprintf(q, sizeof q, "s%d", i);
		assert_int_equal(reconcile(f, q).cls, REC_OK);
		assert_cond(f, q, COND_READY, "True", "Ready");
	}
	assert_int_equal(mutating(), 0);
	assert_int_equal(simproc_counter(sim, "gitea", "GET /api/v1/admin/orgs"), pages);
	assert_int_equal(simproc_counter(sim, "gitea", "GET /api/v1/orgs/{org}"), 0);
	/* The org list and each org's hooks: nothing else could hold drift. */
	assert_int_equal(simproc_counter(sim, "gitea", "read"), pages + nws);
	assert_int_equal(simproc_counter(sim, "coolify", "read"), 1); /* one project list */

	/* Drift during the run is found by the next one, which lists again: only the drifted
	 * org is read (and patched back). */
	drift("{\"action\":\"edit_org\",\"org\":\"vibn-s3\",\"description\":\"by hand\"}");
	org_cache_sweep_started(f->env.orgs);
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	for (int i = 0; i < nws; i++) {
		snprintf(q, sizeof q, "s%d", i);
		assert_int_equal(reconcile(f, q).cls, REC_OK);
		assert_cond(f, q, COND_GITEA_ORG, "True", i == 3 ? "Updated" : "Created");
	}
	assert_int_equal(simproc_counter(sim, "gitea", "GET /api/v1/admin/orgs"), pages);
	assert_int_equal(simproc_counter(sim, "gitea", "GET /api/v1/orgs/{org}"), 1);
	assert_int_equal(simproc_counter(sim, "gitea", "PATCH /api/v1/orgs/{org}"), 1);
	assert_int_equal(mutating(), 1);

	/* Within the same run, the snapshot is not listed again. */
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(reconcile(f, "s0").cls, REC_OK);
	assert_int_equal(simproc_counter(sim, "gitea", "GET /api/v1/admin/orgs"), 0);
	org_cache_free(f->env.orgs);
	f->env.orgs = NULL;
}

/* Applies one drift, reconciles once, and checks the condition that reports the repair. */
static void
repair_once(struct fixture *f, const char *drift_json, const char *type, const char *reason)
{
	struct rec_result out;

	drift(drift_json);
	out = reconcile(f, "acme");
	assert_int_equal(out.cls, REC_OK);
	assert_cond(f, "acme", type, "True", reason);
	assert_cond(f, "acme", COND_READY, "True", "Ready");
}

static void
test_drift_repaired_by_one_reconcile(void **state_)
{
	struct fixture *f = *state_;
	char body[256], *uuid;
	json_t *st, *org;

	insert_acme(f);
	reconcile(f, "acme");

	repair_once(f, "{\"action\":\"remove_member\",\"org\":\"vibn-acme\",\"user\":\"bob\"}",
	            COND_MEMBERS, "Synced");
	repair_once(f, "{\"action\":\"delete_repo\",\"org\":\"vibn-acme\",\"repo\":\"web\"}",
	            COND_REPOS, "Recreated");
	repair_once(f, "{\"action\":\"delete_hook\",\"org\":\"vibn-acme\"}", COND_WEBHOOK,
	            "Recreated");
	repair_once(f, "{\"action\":\"deactivate_hook\",\"org\":\"vibn-acme\"}", COND_WEBHOOK,
	            "Updated");
	uuid = sql_value(f, "SELECT coolify_app_uuid FROM vibn_workspace_apps");
	snprintf(body, sizeof body, "{\"action\":\"delete_app\",\"uuid\":\"%s\"}", uuid);
	free(uuid);
	repair_once(f, body, COND_APPS, "Recreated");
	uuid = sql_value(f, "SELECT coolify_project_uuid FROM vibn_workspaces");
	snprintf(body, sizeof body, "{\"action\":\"delete_project\",\"uuid\":\"%s\"}", uuid);
	free(uuid);
	repair_once(f, body, COND_COOLIFY_PROJECT, "Recreated");
	repair_once(f, "{\"action\":\"delete_org\",\"org\":\"vibn-acme\"}", COND_GITEA_ORG,
	            "Recreated");

	st = state();
	org = sim_org(st, "vibn-acme");
	assert_true(team_has(org, "Admins", "bob"));
	assert_true(team_has(org, "Owners", "alice"));
	assert_int_equal(json_array_size(json_object_get(org, "repos")), 1);
	assert_int_equal(json_array_size(json_object_get(org, "hooks")), 1);
	assert_int_equal(coolify_count(st, "projects", "vibn-ws-acme"), 1);
	json_decref(st);
}

/* ---- settings edited by hand: each repair path, its upstream object read back ---- */

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_t *
sim_coolify(json_t *st, const char *what, const char *uuid)
{
	return find_named(json_object_get(json_object_get(st, "coolify"), what), "uuid", uuid);
}

/* Drift, then one reconcile that repairs it with exactly one call, the PATCH of route. */
static void
repair_with_one_patch(struct fixture *f, const char *drift_json, const char *type,
                      const char *upstream, const char *route)
{
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	repair_once(f, drift_json, type, "Updated");
	assert_int_equal(simproc_counter(sim, upstream, route), 1);
	assert_int_equal(mutating(), 1);
}

/* The pass after a repair is steady again: no call, no row written (the condition keeps
 * saying Updated, the last change). */
static void
assert_settled(struct fixture *f, const char *type)
{
	char *xmin1 = sql_value(f, "SELECT xmin::text FROM vibn_workspaces"), *xmin2;

	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_int_equal(mutating(), 0);
	assert_cond(f, "acme", type, "True", "Updated");
	xmin2 = sql_value(f, "SELECT xmin::text FROM vibn_workspaces");
	assert_string_equal(xmin1, xmin2);
	free(xmin1);
	free(xmin2);
}

/* Full name, description and visibility changed on the org's settings page. */
static void
test_org_settings_drift_repaired(void **state_)
{
	struct fixture *f = *state_;
	json_t *st, *org;

	insert_acme(f);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	repair_with_one_patch(f,
	                      "{\"action\":\"edit_org\",\"org\":\"vibn-acme\",\"full_name\":"
	                      "\"Hand Edited\",\"description\":\"changed by hand\","
	                      "\"visibility\":\"public\"}",
	                      COND_GITEA_ORG, "gitea", "PATCH /api/v1/orgs/{org}");
	st = state();
	org = sim_org(st, "vibn-acme");
	assert_string_equal(jstr(org, "full_name"), "Acme Inc.");
	assert_string_equal(jstr(org, "description"), "Vibn workspace acme");
	assert_string_equal(jstr(org, "visibility"), "private");
	json_decref(st);
	assert_settled(f, COND_GITEA_ORG);
}

/* Privacy, description and default branch changed on the repo's settings pages. The
 * default branch can only be set to an existing one there, so the repo gets pushes first:
 * main (the first push, so the default stays main), then dev. */
static void
test_repo_settings_drift_repaired(void **state_)
{
	struct fixture *f = *state_;
	json_t *st, *repo;

	insert_acme(f);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	drift("{\"action\":\"push\",\"org\":\"vibn-acme\",\"repo\":\"web\",\"branch\":\"main\"}");
	drift("{\"action\":\"push\",\"org\":\"vibn-acme\",\"repo\":\"web\",\"branch\":\"dev\"}");
	repair_with_one_patch(f,
	                      "{\"action\":\"edit_repo\",\"org\":\"vibn-acme\",\"repo\":\"web\","
	                      "\"private\":false,\"description\":\"changed by hand\","
	                      "\"default_branch\":\"dev\"}",
	                      COND_REPOS, "gitea", "PATCH /api/v1/repos/{owner}/{repo}");
	st = state();
	repo = find_named(json_object_get(sim_org(st, "vibn-acme"), "repos"), "name", "web");
	assert_non_null(repo);
	assert_true(json_is_true(json_object_get(repo, "private")));
	assert_string_equal(jstr(repo, "description"), "Marketing site");
	assert_string_equal(jstr(repo, "default_branch"), "main");
	json_decref(st);
	assert_settled(f, COND_REPOS);
}

/* The app's source and build settings changed in Coolify's UI: every field the app
 * reconciler manages at once. */
static void
test_app_settings_drift_repaired(void **state_)
{
	struct fixture *f = *state_;
	char body[512], *uuid;
	json_t *st, *app, *repo;

	insert_acme(f);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	uuid = sql_value(f, "SELECT coolify_app_uuid FROM vibn_workspace_apps");
	snprintf(body, sizeof body,
	         "{\"action\":\"edit_app\",\"uuid\":\"%s\",\"git_repository\":"
	         "\"git@git.example.com:someone/else.git\",\"git_branch\":\"dev\","
	         "\"build_pack\":\"dockerfile\",\"ports_exposes\":\"8080\"}",
	         uuid);
	repair_with_one_patch(f, body, COND_APPS, "coolify", "PATCH /api/v1/applications/{uuid}");
	st = state();
	app = sim_coolify(st, "applications", uuid);
	repo = find_named(json_object_get(sim_org(st, "vibn-acme"), "repos"), "name", "web");
	assert_non_null(app);
	assert_non_null(repo);
	assert_string_equal(jstr(app, "name"), "acme-web");
	/* The org is private: the app clones over SSH with the deploy key (an edit in the UI
	 * leaves its source type alone, so the URL stays an SSH one). */
	assert_string_equal(jstr(app, "git_repository"), jstr(repo, "ssh_url"));
	assert_string_equal(jstr(app, "git_branch"), "main");
	assert_string_equal(jstr(app, "build_pack"), "nixpacks");
	assert_string_equal(jstr(app, "ports_exposes"), "3000");
	json_decref(st);
	free(uuid);
	assert_settled(f, COND_APPS);
}

/* The project renamed and described anew in Coolify's UI: repaired by a reconcile that
 * reads the project, then by a drift sweep that finds it in the shared project list. */
static void
test_project_name_drift_repaired(void **state_)
{
	struct fixture *f = *state_;
	char body[512], *uuid;
	json_t *st, *p;

	insert_acme(f);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	uuid = sql_value(f, "SELECT coolify_project_uuid FROM vibn_workspaces");
	snprintf(body, sizeof body,
	         "{\"action\":\"edit_project\",\"uuid\":\"%s\",\"name\":\"Acme by hand\","
	         "\"description\":\"Edited in the UI\"}",
	         uuid);
	repair_with_one_patch(f, body, COND_COOLIFY_PROJECT, "coolify",
	                      "PATCH /api/v1/projects/{uuid}");
	st = state();
	p = sim_coolify(st, "projects", uuid);
	assert_non_null(p);
	assert_string_equal(jstr(p, "name"), "vibn-ws-acme");
	assert_string_equal(jstr(p, "description"), "Vibn workspace acme");
	json_decref(st);
	assert_settled(f, COND_COOLIFY_PROJECT);

	/* A sweep with a snapshot that is always stale lists the projects afresh. */
	project_cache_free(f->projects);
	f->projects = project_cache_new(0);
	f->env.projects = f->projects;
	f->env.sweep = 1;
	snprintf(body, sizeof body,
	         "{\"action\":\"edit_project\",\"uuid\":\"%s\",\"name\":\"vibn-ws-acme-old\","
	         "\"description\":null}",
	         uuid);
	repair_with_one_patch(f, body, COND_COOLIFY_PROJECT, "coolify",
	                      "PATCH /api/v1/projects/{uuid}");
	st = state();
	p = sim_coolify(st, "projects", uuid);
	assert_string_equal(jstr(p, "name"), "vibn-ws-acme");
	assert_string_equal(jstr(p, "description"), "Vibn workspace acme");
	json_decref(st);
	assert_settled(f, COND_COOLIFY_PROJECT);
	free(uuid);
}

/* A drift sweep of a full workspace (owner and admin with Gitea accounts, a repo, an app)
 * reads what it must and nothing twice: the org list, the hooks, each managed team's members
 * by the team ids the creating pass recorded (no team list), the repos; on Coolify the
 * project list and the app environment. As many reads as the sweep plan
 * (reconcilers/sweep_plan.c) counts, which vibnd paces runs by. */
static void
test_sweep_of_a_full_workspace_reads_the_plan(void **state_)
{
	struct fixture *f = *state_;
	struct sweep_plan plan;
	char *cause = NULL, path[64];
	json_t *log, *e;
	size_t i, j;

	insert_acme(f);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_cond(f, "acme", COND_READY, "True", "Ready");
	assert_int_equal(sweep_plan_load(f->db, &plan, &cause), 0);
	assert_int_equal(plan.workspaces, 1);

	f->env.orgs = org_cache_new();
	f->env.sweep = 1;
	org_cache_sweep_started(f->env.orgs);
	project_cache_sweep_started(f->env.projects);
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_int_equal(mutating(), 0);
	assert_int_equal(simproc_counter(sim, "gitea", "read"),
	                 plan.gitea_reads + plan.gitea_lists);
	assert_int_equal(simproc_counter(sim, "coolify", "read"),
	                 plan.coolify_reads + plan.coolify_lists);
	/* hooks, Owners' and Admins' members, repos; one org list page */
	assert_int_equal(plan.gitea_reads, 4);
	assert_int_equal(simproc_counter(sim, "gitea", "GET /api/v1/orgs/{org}/teams"), 0);
	assert_int_equal(plan.gitea_lists, 1);
	assert_int_equal(simproc_counter(sim, "gitea", "GET /api/v1/orgs/{org}"), 0);
	assert_int_equal(plan.coolify_reads, 1);
	assert_int_equal(simproc_counter(sim, "coolify", "GET /api/v1/projects/{uuid}"), 0);

	/* Nothing read twice in the pass (its requests are the log's last ones). */
	snprintf(path, sizeof path, "/_sim/requests?limit=%ld",
	         simproc_counter(sim, "gitea", "read") + simproc_counter(sim, "coolify", "read"));
	log = simproc_call(sim, "GET", path, NULL, NULL);
	assert_true(json_is_array(log));
	json_array_foreach(log, i, e)
	{
		for (j = i + 1; j < json_array_size(log); j++) {
			json_t *o = json_array_get(log, j);

			if (strcmp(jstr(e, "method"), "GET") == 0 &&
			    strcmp(jstr(e, "path"), jstr(o, "path")) == 0 &&
			    strcmp(jstr(e, "upstream"), jstr(o, "upstream")) == 0 &&
			    strcmp(jstr(o, "method"), "GET") == 0)
				fail_msg("read twice in one pass: GET %s", jstr(e, "path"));
		}
	}
	json_decref(log);
	org_cache_free(f->env.orgs);
	f->env.orgs = NULL;
}

/* A sweep reads the teams by their recorded ids; a recorded team that is gone (deleted by
 * hand) makes it list the org's teams: the team is made again, its member added back, and
 * the new id recorded for the next sweep, which lists nothing again. */
static void
test_sweep_relists_a_deleted_team(void **state_)
{
	struct fixture *f = *state_;
	char path[64];
	long admins;
	json_t *res;

	insert_acme(f);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	admins = sql_long(f, "SELECT (gitea_team_ids->>'Admins')::bigint FROM vibn_workspaces");
	assert_true(admins > 0);
	assert_int_equal(sql_long(f, "SELECT count(*) FROM vibn_workspaces"
	                             " WHERE (gitea_team_ids->>'Owners')::bigint > 0"),
	                 1);
	snprintf(path, sizeof path, "/teams/%ld", admins);
	res = upstream_must("gitea", "DELETE", path, NULL);
	json_decref(res);

	f->env.orgs = org_cache_new();
	f->env.sweep = 1;
	org_cache_sweep_started(f->env.orgs);
	project_cache_sweep_started(f->env.projects);
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_int_equal(simproc_counter(sim, "gitea", "GET /api/v1/orgs/{org}/teams"), 1);
	assert_int_equal(simproc_counter(sim, "gitea", "POST /api/v1/orgs/{org}/teams"), 1);
	assert_cond(f, "acme", COND_MEMBERS, "True", "Synced");
	assert_true(
	    sql_long(f, "SELECT (gitea_team_ids->>'Admins')::bigint FROM vibn_workspaces") !=
	    admins);

	org_cache_sweep_started(f->env.orgs);
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_int_equal(simproc_counter(sim, "gitea", "GET /api/v1/orgs/{org}/teams"), 0);
	assert_int_equal(mutating(), 0);
	assert_cond(f, "acme", COND_MEMBERS, "True", "Synced");
	org_cache_free(f->env.orgs);
	f->env.orgs = NULL;
}

/* How many workspaces have a Coolify project create pending. */
static long
projects_pending(struct fixture *f)
{
	return sql_long(f, "SELECT count(*) FROM vibn_workspaces WHERE"
	                   " coolify_project_pending_at IS NOT NULL");
}

static void
test_lost_create_response_leaves_one_project(void **state_)
{
	struct fixture *f = *state_;
	struct rec_result out;
	json_t *st;

	insert_acme(f);
	/* Coolify creates the project, then the response never arrives. */
	simproc_rule(sim,
	             "{\"upstream\":\"coolify\",\"method\":\"POST\",\"path\":\"/api/v1/projects\","
	             "\"count\":1,\"action\":\"drop_after\"}");
	out = reconcile(f, "acme");
	assert_int_equal(out.cls, REC_TRANSIENT);
	assert_int_equal(projects_pending(f), 1);
	out = reconcile(f, "acme");
	assert_int_equal(out.cls, REC_OK);
	assert_cond(f, "acme", COND_COOLIFY_PROJECT, "True", "Adopted");
	st = state();
	assert_int_equal(coolify_count(st, "projects", "vibn-ws-acme"), 1);
	json_decref(st);
}

/* A create refused before anything was made (a 429: Coolify throttles before it creates)
 * leaves no "create pending" marker, so the next pass needs no fresh list; a 500 may hide a
 * project and leaves it. */
static void
test_refused_create_leaves_nothing_pending(void **state_)
{
	struct fixture *f = *state_;

	insert_acme(f);
	simproc_rule(sim,
	             "{\"upstream\":\"coolify\",\"method\":\"POST\",\"path\":\"/api/v1/projects\","
	             "\"count\":1,\"action\":\"status\",\"status\":429,\"retry_after\":\"30\"}");
	assert_int_equal(reconcile(f, "acme").cls, REC_RATE_LIMITED);
	assert_cond(f, "acme", COND_COOLIFY_PROJECT, "False", "RateLimited");
	assert_int_equal(projects_pending(f), 0);
	simproc_rule(sim,
	             "{\"upstream\":\"coolify\",\"method\":\"POST\",\"path\":\"/api/v1/projects\","
	             "\"count\":1,\"action\":\"status\",\"status\":500}");
	assert_int_equal(reconcile(f, "acme").cls, REC_TRANSIENT);
	assert_int_equal(projects_pending(f), 1);
}

/* The pass's read marks a create pending where no project is recorded (no statement of
 * its own). A pass that then sends no create (its project list is refused) takes its mark
 * back at its end, so the next pass needs no fresh list; a paused workspace is never
 * marked; a created project's uuid, recorded at the end, clears the mark. */
static void
test_unsent_create_leaves_nothing_pending(void **state_)
{
	struct fixture *f = *state_;

	insert_acme(f);
	simproc_rule(sim,
	             "{\"upstream\":\"coolify\",\"method\":\"GET\",\"path\":\"/api/v1/projects\","
	             "\"count\":20,\"action\":\"status\",\"status\":500}");
	assert_int_equal(reconcile(f, "acme").cls, REC_TRANSIENT);
	assert_cond(f, "acme", COND_COOLIFY_PROJECT, "False", "UpstreamUnavailable");
	assert_int_equal(projects_pending(f), 0);
	simproc_must(sim, "DELETE", "/_sim/rules", NULL);
	sql(f, "UPDATE vibn_workspaces SET paused = true");
	(void)reconcile(f, "acme");
	assert_int_equal(projects_pending(f), 0);
	sql(f, "UPDATE vibn_workspaces SET paused = false");
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_int_equal(sql_long(f, "SELECT count(*) FROM vibn_workspaces WHERE"
	                             " coolify_project_pending_at IS NULL AND"
	                             " coolify_project_uuid IS NOT NULL"),
	                 1);
}

/* A rate limit observes nothing: a Ready workspace whose org and project reads are refused
 * with 429 stays Ready (what was verified at this generation stands; the repo and app steps
 * go on with the recorded org and project) and the pass comes back after the Retry-After.
 * After a spec change nothing is verified at the new generation: the same 429 is False. */
static void
test_rate_limited_reads_leave_verified_conditions(void **state_)
{
	struct fixture *f = *state_;
	struct rec_result out;
	int64_t before;

	insert_acme(f);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_cond(f, "acme", COND_READY, "True", "Ready");
	simproc_rule(sim, "{\"upstream\":\"coolify\",\"method\":\"GET\",\"path\":"
	                  "\"/api/v1/projects/{uuid}\",\"count\":1,\"action\":\"status\","
	                  "\"status\":429,\"retry_after\":\"30\"}");
	simproc_rule(sim, "{\"upstream\":\"gitea\",\"method\":\"GET\",\"path\":"
	                  "\"/api/v1/orgs/{org}\",\"count\":1,\"action\":\"status\","
	                  "\"status\":429,\"retry_after\":\"30\"}");
	before = util_now_ms();
	out = reconcile(f, "acme");
	assert_int_equal(out.cls, REC_RATE_LIMITED);
	assert_true(out.not_before_ms >= before + 29000);
	assert_cond(f, "acme", COND_GITEA_ORG, "True", NULL);
	assert_cond(f, "acme", COND_COOLIFY_PROJECT, "True", NULL);
	assert_cond(f, "acme", COND_APPS, "True", NULL);
	assert_cond(f, "acme", COND_READY, "True", "Ready");
	assert_int_equal(
	    sql_long(f, "SELECT count(*) FROM vibn_workspaces WHERE"
	                " provision_status = 'ready' AND observed_generation = generation"),
	    1);

	sql(f, "UPDATE vibn_workspaces SET name = 'Acme Corp.'");
	simproc_rule(sim, "{\"upstream\":\"coolify\",\"method\":\"GET\",\"path\":"
	                  "\"/api/v1/projects/{uuid}\",\"count\":1,\"action\":\"status\","
	                  "\"status\":429,\"retry_after\":\"30\"}");
	assert_int_equal(reconcile(f, "acme").cls, REC_RATE_LIMITED);
	assert_cond(f, "acme", COND_COOLIFY_PROJECT, "False", "RateLimited");
	assert_cond(f, "acme", COND_READY, "False", "RateLimited");
}

static void
test_coolify_unauthorized_gitea_still_converges(void **state_)
{
	struct fixture *f = *state_;
	struct rec_result out;

	struct coolify_config cc = {0};

	insert_acme(f);
	/* A revoked token: the real server answers 401 to everything. */
	cc.url = sim->coolify_url;
	cc.token = "revoked-token";
	coolify_free(f->coolify);
	f->coolify = coolify_new(&cc);
	f->env.coolify = f->coolify;
	out = reconcile(f, "acme");
	assert_int_equal(out.cls, REC_PERMANENT);
	assert_cond(f, "acme", COND_COOLIFY_PROJECT, "False", "Unauthorized");
	assert_cond(f, "acme", COND_GITEA_ORG, "True", "Created");
	assert_cond(f, "acme", COND_REPOS, "True", "Created");
	assert_cond(f, "acme", COND_WEBHOOK, "True", "Created");
	assert_cond(f, "acme", COND_APPS, "False", "ProjectNotReady");
	assert_cond(f, "acme", COND_READY, "False", "Unauthorized");
	assert_int_equal(sql_long(f, "SELECT count(*) FROM vibn_workspaces WHERE provision_status"
	                             " = 'error' AND last_error LIKE '%HTTP 401%'"),
	                 1);
}

static void
test_rate_limited_carries_retry_after(void **state_)
{
	struct fixture *f = *state_;
	struct rec_result out;
	int64_t before = util_now_ms();

	insert_acme(f);
	simproc_rule(sim,
	             "{\"upstream\":\"coolify\",\"method\":\"GET\",\"path\":\"/api/v1/projects\","
	             "\"count\":1,\"action\":\"status\",\"status\":429,\"retry_after\":\"30\"}");
	out = reconcile(f, "acme");
	assert_int_equal(out.cls, REC_RATE_LIMITED);
	assert_true(out.not_before_ms >= before + 29000);
	assert_cond(f, "acme", COND_COOLIFY_PROJECT, "False", "RateLimited");
}

static void
test_flaky_upstreams_converge_without_duplicates(void **state_)
{
	struct fixture *f = *state_;
	struct rec_result out;
	json_t *st, *org;
	int tries = 0;

	insert_acme(f);
	simproc_must(sim, "POST", "/_sim/faults", "{\"upstream\":\"both\",\"error_rate\":0.3}");
	/* A pass is clean only when its ~8 reads all succeed (0.7^8, about 6%); what is made
	 * stays made. 500 passes leave a chance of about 1e-13 of never seeing a clean one. */
	do {
		out = reconcile(f, "acme");
	} while (out.cls != REC_OK && ++tries < 500);
	simproc_must(sim, "POST", "/_sim/faults", "{\"upstream\":\"both\",\"error_rate\":0}");
	assert_int_equal(out.cls, REC_OK);
	assert_cond(f, "acme", COND_READY, "True", "Ready");
	st = state();
	org = sim_org(st, "vibn-acme");
	assert_int_equal(json_array_size(json_object_get(org, "repos")), 1);
	assert_int_equal(json_array_size(json_object_get(org, "hooks")), 1);
	assert_int_equal(coolify_count(st, "projects", "vibn-ws-acme"), 1);
	json_decref(st);
}

static void
test_delete_policy_delete_removes_everything(void **state_)
{
	struct fixture *f = *state_;
	struct rec_result out;
	int64_t deadline = util_now_ms() + 10000;
	json_t *st;

	insert_acme(f);
	reconcile(f, "acme");
	sql(f, "UPDATE vibn_workspaces SET deletion_policy = 'Delete', deleted_at = now()");
	/* Coolify's app delete job takes its time: the workspace goes once it has run. */
	do {
		out = reconcile(f, "acme");
		if (out.cls == REC_OK && out.requeue_after_ms > 0)
			usleep(20000); /* a poll interval, not a synchronization */
	} while (sql_long(f, "SELECT count(*) FROM vibn_workspaces") > 0 &&
	         util_now_ms() < deadline);
	assert_int_equal(out.cls, REC_OK);
	assert_int_equal(sql_long(f, "SELECT count(*) FROM vibn_workspaces"), 0);
	st = state();
	assert_null(sim_org(st, "vibn-acme"));
	assert_int_equal(coolify_count(st, "projects", "vibn-ws-acme"), 0);
	assert_int_equal(coolify_count(st, "applications", "acme-web"), 0);
	json_decref(st);
}

static void
test_delete_policy_orphan_keeps_upstream(void **state_)
{
	struct fixture *f = *state_;
	json_t *st;

	insert_acme(f);
	reconcile(f, "acme");
	sql(f, "UPDATE vibn_workspaces SET deleted_at = now()");
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	reconcile(f, "acme");
	assert_int_equal(sql_long(f, "SELECT count(*) FROM vibn_workspaces"), 0);
	assert_int_equal(mutating(), 0);
	st = state();
	assert_non_null(sim_org(st, "vibn-acme"));
	assert_int_equal(coolify_count(st, "projects", "vibn-ws-acme"), 1);
	json_decref(st);
}

static void
test_paused_reports_drift_and_changes_nothing(void **state_)
{
	struct fixture *f = *state_;
	json_t *st;

	insert_acme(f);
	reconcile(f, "acme");
	sql(f, "UPDATE vibn_workspaces SET paused = true");
	drift("{\"action\":\"delete_repo\",\"org\":\"vibn-acme\",\"repo\":\"web\"}");
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	reconcile(f, "acme");
	assert_int_equal(mutating(), 0);
	assert_cond(f, "acme", COND_REPOS, "False", "Paused");
	assert_cond(f, "acme", COND_READY, "False", "Paused");
	st = state();
	assert_int_equal(json_array_size(json_object_get(sim_org(st, "vibn-acme"), "repos")), 0);
	json_decref(st);
	/* Unpaused, it repairs. */
	sql(f, "UPDATE vibn_workspaces SET paused = false");
	reconcile(f, "acme");
	assert_cond(f, "acme", COND_REPOS, "True", "Recreated");
}

static void
test_hand_added_repo_and_member_left_alone(void **state_)
{
	struct fixture *f = *state_;
	json_t *st, *org;

	insert_acme(f);
	reconcile(f, "acme");
	drift("{\"action\":\"create_repo\",\"org\":\"vibn-acme\",\"repo\":\"scratch\"}");
	drift(
	    "{\"action\":\"add_member\",\"org\":\"vibn-acme\",\"user\":\"carol\",\"team\":\"Owners\"}");
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	reconcile(f, "acme");
	assert_int_equal(mutating(), 0);
	st = state();
	org = sim_org(st, "vibn-acme");
	assert_non_null(find_named(json_object_get(org, "repos"), "name", "scratch"));
	assert_true(team_has(org, "Owners", "carol"));
	json_decref(st);
	/* pruneMembers removes the hand-added member, never the admin user. */
	sql(f, "UPDATE vibn_workspaces SET prune_members = true");
	reconcile(f, "acme");
	st = state();
	org = sim_org(st, "vibn-acme");
	assert_false(team_has(org, "Owners", "carol"));
	assert_true(team_has(org, "Owners", "vibn-admin"));
	assert_non_null(find_named(json_object_get(org, "repos"), "name", "scratch"));
	json_decref(st);
}

static void
test_removed_app_is_deleted_upstream(void **state_)
{
	struct fixture *f = *state_;
	json_t *st;

	insert_acme(f);
	reconcile(f, "acme");
	sql(f, "DELETE FROM vibn_workspace_apps");
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_cond(f, "acme", COND_APPS, "False", "Deleting");
	reconcile_until(f, "acme", COND_APPS, "True", "Deleted", 10000);
	st = state();
	assert_int_equal(coolify_count(st, "applications", "acme-web"), 0);
	json_decref(st);
	assert_int_equal(sql_long(f, "SELECT cardinality(coolify_app_names) FROM vibn_workspaces"),
	                 0);
}

static void
test_private_repo_app_uses_the_deploy_key(void **state_)
{
	struct fixture *f = *state_;
	json_t *key, *st, *app, *repo;
	long status = 0;
	char *key_uuid;

	key = simproc_api(sim, "coolify", "coolify-token", "POST", "/security/keys",
	                  "{\"name\":\"vibn\",\"private_key\":\"-----BEGIN OPENSSH PRIVATE "
	                  "KEY-----\\nx\\n-----END OPENSSH PRIVATE KEY-----\\n\"}",
	                  &status);
	assert_int_equal(status, 201);
	key_uuid = strdup(json_string_value(json_object_get(key, "uuid")));
	json_decref(key);
	f->set.coolify_deploy_key_uuid = key_uuid;
	insert_acme(f); /* repo web is private */
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_cond(f, "acme", COND_APPS, "True", "Created");
	st = state();
	app = find_named(json_object_get(json_object_get(st, "coolify"), "applications"), "name",
	                 "acme-web");
	repo = find_named(json_object_get(sim_org(st, "vibn-acme"), "repos"), "name", "web");
	assert_non_null(app);
	assert_non_null(repo);
	/* Built over SSH from the repo's ssh_url, not its HTTP clone URL. */
	assert_string_equal(json_string_value(json_object_get(app, "git_repository")),
	                    "git@git.vibn-sim.test:vibn-acme/web.git");
	json_decref(st);
	free(key_uuid);
}

/* Lists longer than Gitea's page cap (MAX_RESPONSE_ITEMS, often below 50): seven members,
 * seven repos, and the org hook behind six hand-made ones. A converged workspace then costs
 * no mutating call, whatever the cap: every list is read to its X-Total-Count. */
static void
test_long_lists_read_to_the_end(void **state_)
{
	struct fixture *f = *state_;
	static const char *const extra[] = {"dave", "erin", "frank", "grace"};
	char body[256];
	json_t *st, *org;

	for (size_t i = 0; i < 4; i++)
		simproc_seed_user(sim, extra[i]);
	/* The org exists before the workspace (adopted), with six hooks of its own. */
	json_decref(upstream_must("gitea", "POST", "/admin/users/vibn-admin/orgs",
	                          "{\"username\":\"vibn-big\",\"visibility\":\"private\"}"));
	for (int i = 0; i < 6; i++) {
		snprintf(body, sizeof body,
		         "{\"type\":\"gitea\",\"active\":true,\"events\":[\"push\"],"
		         "\"config\":{\"url\":\"http://127.0.0.1:9/other-%d\","
		         "\"content_type\":\"json\"}}",
		         i);
		json_decref(upstream_must("gitea", "POST", "/orgs/vibn-big/hooks", body));
	}
	sql(f, "INSERT INTO vibn_workspaces (slug, name, owner, source)"
	       " VALUES ('big', 'Big', 'alice', 'manifest')");
	sql(f, "INSERT INTO vibn_workspace_members (workspace_id, user_id, gitea_username, role)"
	       " SELECT id, u, u, CASE u WHEN 'alice' THEN 'owner' WHEN 'bob' THEN 'admin'"
	       " ELSE 'member' END FROM vibn_workspaces, unnest(ARRAY['alice', 'bob', 'carol',"
	       " 'dave', 'erin', 'frank', 'grace']) u");
	sql(f, "INSERT INTO vibn_workspace_repos (workspace_id, name, private)"
	       " SELECT id, 'repo' || n, true FROM vibn_workspaces, generate_series(1, 7) n");
	assert_int_equal(reconcile(f, "big").cls, REC_OK);
	assert_cond(f, "big", COND_READY, "True", "Ready");

	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(reconcile(f, "big").cls, REC_OK);
	assert_int_equal(mutating(), 0);
	assert_cond(f, "big", COND_READY, "True", "Ready");
	st = state();
	org = sim_org(st, "vibn-big");
	assert_int_equal(json_array_size(json_object_get(org, "repos")), 7);
	assert_int_equal(json_array_size(json_object_get(org, "hooks")), 7);
	assert_true(team_has(org, "Members", "grace"));
	json_decref(st);
}

/* Another replica creates the Admins team between this reconcile's team list and its create:
 * Gitea answers 422 "team already exists"; the team is listed again and adopted. */
static void
test_racing_team_create_is_adopted(void **state_)
{
	struct fixture *f = *state_;
	json_t *teams, *owners, *rule;
	char *rule_text;
	json_t *st;

	json_decref(upstream_must("gitea", "POST", "/admin/users/vibn-admin/orgs",
	                          "{\"username\":\"vibn-acme\",\"visibility\":\"private\"}"));
	teams = upstream_must("gitea", "GET", "/orgs/vibn-acme/teams", NULL);
	owners = json_array_get(teams, 0);
	json_decref(upstream_must("gitea", "POST", "/orgs/vibn-acme/teams",
	                          "{\"name\":\"Admins\",\"permission\":\"admin\","
	                          "\"includes_all_repositories\":true}"));
	/* The reconcile's team list still shows the org as it was before that create. */
	rule = json_pack("{s:s, s:s, s:s, s:i, s:s, s:i, s:[O]}", "upstream", "gitea", "method",
	                 "GET", "path", "/api/v1/orgs/vibn-acme/teams", "count", 1, "action",
	                 "status", "status", 200, "body", owners);
	rule_text = json_dumps(rule, JSON_COMPACT);
	simproc_rule(sim, rule_text);
	free(rule_text);
	json_decref(rule);
	json_decref(teams);

	insert_acme(f);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_cond(f, "acme", COND_MEMBERS, "True", "Synced");
	st = state();
	assert_true(team_has(sim_org(st, "vibn-acme"), "Admins", "bob"));
	assert_int_equal(
	    count_named(json_object_get(sim_org(st, "vibn-acme"), "teams"), "name", "Admins"), 1);
	json_decref(st);
}

/* Gitea ignores a default_branch that does not exist on a non-empty repo and still answers
 * 200. After a first push of another branch (which Gitea makes the default), the declared
 * default is reported missing by name, once per pass, with no PATCH that cannot work; once
 * the branch is pushed, it is made the default. */
static void
test_missing_default_branch_is_reported_not_patched(void **state_)
{
	struct fixture *f = *state_;
	const char *patch = "PATCH /api/v1/repos/{owner}/{repo}";
	json_t *st, *repo;
	char *msg;

	insert_acme(f);
	sql(f, "INSERT INTO vibn_workspace_repos (workspace_id, name, private, default_branch)"
	       " SELECT id, 'api', true, 'trunk' FROM vibn_workspaces");
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_cond(f, "acme", COND_REPOS, "True", "Created");
	/* Someone pushes main first: Gitea makes it the default branch. */
	drift("{\"action\":\"push\",\"org\":\"vibn-acme\",\"repo\":\"api\","
	      "\"branch\":\"main\"}");
	for (int pass = 0; pass < 3; pass++) {
		simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
		assert_int_equal(reconcile(f, "acme").cls, REC_PERMANENT);
		assert_int_equal(simproc_counter(sim, "gitea", patch), 0);
		assert_cond(f, "acme", COND_REPOS, "False", "BranchMissing");
		msg = cond(f, "acme", COND_REPOS, "message");
		assert_non_null(strstr(msg, "trunk"));
		free(msg);
	}
	drift("{\"action\":\"push\",\"org\":\"vibn-acme\",\"repo\":\"api\","
	      "\"branch\":\"trunk\"}");
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_int_equal(simproc_counter(sim, "gitea", patch), 1);
	assert_cond(f, "acme", COND_REPOS, "True", "Updated");
	st = state();
	repo = find_named(json_object_get(sim_org(st, "vibn-acme"), "repos"), "name", "api");
	assert_string_equal(json_string_value(json_object_get(repo, "default_branch")), "trunk");
	json_decref(st);
}

static json_t *
sim_app(json_t *st, const char *name)
{
	return find_named(json_object_get(json_object_get(st, "coolify"), "applications"), "name",
	                  name);
}

static const char *
app_field(json_t *app, const char *key)
{
	return json_string_value(json_object_get(app, key));
}

/* Coolify refuses clone URLs of IP hosts: a Gitea whose ROOT_URL is internal is reported, and
 * VIBN_GITEA_CLONE_HOST gives the host Coolify reaches it at. */
static void
test_clone_url_on_an_ip_is_reported(void **state_)
{
	struct fixture *f = *state_;
	json_t *st;
	char *msg;

	simproc_must(sim, "POST", "/_sim/config",
	             "{\"gitea_root_url\":\"http://127.0.0.1:3000/\"}");
	insert_public(f, "pub");
	assert_int_equal(reconcile(f, "pub").cls, REC_PERMANENT);
	assert_cond(f, "pub", COND_APPS, "False", "CloneURLRejected");
	msg = cond(f, "pub", COND_APPS, "message");
	assert_non_null(strstr(msg, "http://127.0.0.1:3000/vibn-pub/web.git"));
	assert_non_null(strstr(msg, "VIBN_GITEA_CLONE_HOST"));
	free(msg);
	st = state();
	assert_null(sim_app(st, "pub-web"));
	json_decref(st);

	f->set.gitea_clone_host = "git.example.com";
	assert_int_equal(reconcile(f, "pub").cls, REC_OK);
	assert_cond(f, "pub", COND_APPS, "True", "Created");
	st = state();
	assert_string_equal(app_field(sim_app(st, "pub-web"), "git_repository"),
	                    "http://git.example.com:3000/vibn-pub/web.git");
	assert_null(app_field(sim_app(st, "pub-web"), "private_key_uuid"));
	json_decref(st);
}

/* Gitea gives ssh://git@host:PORT/owner/repo.git when its SSH port is not 22; Coolify takes
 * git@host:PORT/owner/repo.git. */
static void
test_ssh_clone_url_with_a_port_is_converted(void **state_)
{
	struct fixture *f = *state_;
	json_t *st;

	simproc_must(sim, "POST", "/_sim/config", "{\"gitea_ssh_port\":2222}");
	insert_acme(f);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_cond(f, "acme", COND_APPS, "True", "Created");
	st = state();
	assert_string_equal(app_field(sim_app(st, "acme-web"), "git_repository"),
	                    "git@git.vibn-sim.test:2222/vibn-acme/web.git");
	json_decref(st);
	/* Steady: nothing to change. */
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_int_equal(mutating(), 0);
}

/* A server with several Docker destinations: COOLIFY_DESTINATION_UUID says which. */
static void
test_several_destinations_need_the_setting(void **state_)
{
	struct fixture *f = *state_;
	json_t *st;
	char *msg;

	simproc_must(sim, "POST", "/_sim/config", "{\"coolify_destinations\":2}");
	insert_acme(f);
	assert_int_equal(reconcile(f, "acme").cls, REC_PERMANENT);
	assert_cond(f, "acme", COND_APPS, "False", "DestinationRequired");
	msg = cond(f, "acme", COND_APPS, "message");
	assert_non_null(strstr(msg, "COOLIFY_DESTINATION_UUID"));
	free(msg);

	f->set.coolify_destination_uuid = "vibnsimdestination000002";
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_cond(f, "acme", COND_APPS, "True", "Created");
	st = state();
	assert_non_null(sim_app(st, "acme-web"));
	json_decref(st);
}

/* Gitea refuses anonymous clones of every repo of a non-public org: a public repo of a
 * private org is built with the deploy key, and without one the condition says so. */
static void
test_private_org_public_repo_needs_the_deploy_key(void **state_)
{
	struct fixture *f = *state_;
	json_t *st;
	char *msg;

	insert_acme(f);
	sql(f, "UPDATE vibn_workspace_repos SET private = false"); /* the org stays private */
	f->set.coolify_deploy_key_uuid = NULL;
	assert_int_equal(reconcile(f, "acme").cls, REC_PERMANENT);
	assert_cond(f, "acme", COND_APPS, "False", "DeployKeyRequired");
	msg = cond(f, "acme", COND_APPS, "message");
	assert_non_null(strstr(msg, "VIBN_COOLIFY_DEPLOY_KEY_UUID"));
	free(msg);
	st = state();
	assert_null(sim_app(st, "acme-web"));
	json_decref(st);

	f->set.coolify_deploy_key_uuid = "vibnsimdeploykey00000001";
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_cond(f, "acme", COND_APPS, "True", "Created");
	st = state();
	assert_string_equal(app_field(sim_app(st, "acme-web"), "private_key_uuid"),
	                    "vibnsimdeploykey00000001");
	assert_string_equal(app_field(sim_app(st, "acme-web"), "git_repository"),
	                    "git@git.vibn-sim.test:vibn-acme/web.git");
	json_decref(st);
}

/* A repo made private after its app was built from the public source: Coolify's PATCH cannot
 * change the source. With deletionPolicy Orphan the condition says what to do and nothing is
 * destroyed; with Delete, the app is deleted and created again with the deploy key. */
static void
test_privacy_flip_needs_a_new_source(void **state_)
{
	struct fixture *f = *state_;
	char *uuid, *uuid2, *msg;
	json_t *st;

	insert_public(f, "pub");
	assert_int_equal(reconcile(f, "pub").cls, REC_OK);
	uuid = sql_value(f, "SELECT coolify_app_uuid FROM vibn_workspace_apps");
	sql(f, "UPDATE vibn_workspace_repos SET private = true");
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(reconcile(f, "pub").cls, REC_PERMANENT);
	assert_cond(f, "pub", COND_APPS, "False", "SourceChangeNeeded");
	msg = cond(f, "pub", COND_APPS, "message");
	assert_non_null(strstr(msg, "deletionPolicy"));
	free(msg);
	assert_int_equal(simproc_counter(sim, "coolify", "mutating"), 0);

	sql(f, "UPDATE vibn_workspaces SET deletion_policy = 'Delete'");
	reconcile_until(f, "pub", COND_APPS, "True", "Recreated", 10000);
	uuid2 = sql_value(f, "SELECT coolify_app_uuid FROM vibn_workspace_apps");
	assert_string_not_equal(uuid, uuid2);
	st = state();
	assert_int_equal(coolify_count(st, "applications", "pub-web"), 1);
	assert_string_equal(app_field(sim_app(st, "pub-web"), "private_key_uuid"),
	                    "vibnsimdeploykey00000001");
	json_decref(st);
	free(uuid);
	free(uuid2);
}

/* Coolify deletes applications asynchronously and shows no "deleting" status: one DELETE,
 * remembered with its time, and the app waited for; sent again only after a long while. */
static void
test_app_delete_is_sent_once(void **state_)
{
	struct fixture *f = *state_;
	const char *del = "DELETE /api/v1/applications/{uuid}";
	char body[256], *uuid;
	json_t *st;

	simproc_must(sim, "POST", "/_sim/config", "{\"app_delete_ms\":3600000}");
	insert_acme(f);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	uuid = sql_value(f, "SELECT coolify_app_uuid FROM vibn_workspace_apps");
	sql(f, "DELETE FROM vibn_workspace_apps");
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	for (int pass = 0; pass < 3; pass++) {
		struct rec_result out = reconcile(f, "acme");

		assert_int_equal(out.cls, REC_OK);
		assert_true(out.requeue_after_ms > 0);
		assert_cond(f, "acme", COND_APPS, "False", "Deleting");
	}
	assert_int_equal(simproc_counter(sim, "coolify", del), 1);
	st = state();
	assert_non_null(sim_app(st, "acme-web")); /* still listed, as upstream */
	json_decref(st);

	/* Long after the DELETE, still there: it is sent again. */
	sql(f, "UPDATE vibn_workspaces SET coolify_app_deletes = (SELECT jsonb_object_agg(key,"
	       " to_jsonb(now() - interval '1 day')) FROM jsonb_each(coolify_app_deletes))");
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_int_equal(simproc_counter(sim, "coolify", del), 2);

	/* The job ends. */
	snprintf(body, sizeof body, "{\"action\":\"delete_app\",\"uuid\":\"%s\"}", uuid);
	drift(body);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_cond(f, "acme", COND_APPS, "True", "Deleted");
	assert_int_equal(sql_long(f, "SELECT cardinality(coolify_app_names) FROM vibn_workspaces"),
	                 0);
	assert_int_equal(sql_long(f, "SELECT count(*) FROM vibn_workspaces, jsonb_object_keys("
	                             "coolify_app_deletes)"),
	                 0);
	free(uuid);
}

/* A reconcile reads its own environment's applications, not the whole team's list. */
static void
test_apps_read_from_the_environment(void **state_)
{
	struct fixture *f = *state_;

	insert_acme(f);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_int_equal(simproc_counter(sim, "coolify", "GET /api/v1/applications"), 0);
	assert_int_equal(simproc_counter(sim, "coolify",
	                                 "GET /api/v1/projects/{uuid}/{environment_name_or_uuid}"),
	                 1);
	assert_int_equal(mutating(), 0);
}

/* After an environment repair: project uuid has a production environment again, and the
 * workspace is Ready. */
static void
assert_production_again(struct fixture *f, const char *uuid)
{
	json_t *st = state();
	json_t *proj =
	    find_named(json_object_get(json_object_get(st, "coolify"), "projects"), "uuid", uuid);

	assert_non_null(find_named(json_object_get(proj, "environments"), "name", "production"));
	json_decref(st);
	assert_cond(f, "acme", COND_READY, "True", "Ready");
}

/* Someone renames (or deletes) the production environment: app creates would get 404
 * forever. It is created again, and the condition says so. */
static void
test_production_environment_recreated(void **state_)
{
	struct fixture *f = *state_;
	char body[256], *uuid, *msg, *app;

	insert_acme(f);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	uuid = sql_value(f, "SELECT coolify_project_uuid FROM vibn_workspaces");
	snprintf(body, sizeof body,
	         "{\"action\":\"rename_environment\",\"project\":\"%s\","
	         "\"environment\":\"production\",\"new_name\":\"old-production\"}",
	         uuid);
	drift(body);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_cond(f, "acme", COND_APPS, "True", "Recreated");
	msg = cond(f, "acme", COND_APPS, "message");
	assert_non_null(strstr(msg, "production"));
	free(msg);
	assert_production_again(f, uuid);

	/* Deleted rather than renamed (Coolify deletes only an empty environment: its app
	 * first): the same repair. */
	app = sql_value(f, "SELECT coolify_app_uuid FROM vibn_workspace_apps");
	snprintf(body, sizeof body, "{\"action\":\"delete_app\",\"uuid\":\"%s\"}", app);
	drift(body);
	free(app);
	snprintf(body, sizeof body,
	         "{\"action\":\"delete_environment\",\"project\":\"%s\","
	         "\"environment\":\"production\"}",
	         uuid);
	drift(body);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_cond(f, "acme", COND_APPS, "True", "Recreated");
	assert_production_again(f, uuid);
	free(uuid);
}

/* A project list refused for Coolify's rate limit is every pass's answer until its
 * Retry-After: the next workspace's pass does not list again (a storm of lists would only
 * spend the next window), and once the Retry-After is over one list serves again. */
static void
test_refused_project_list_shared_until_retry_after(void **state_)
{
	struct fixture *f = *state_;
	long lists;

	sql(f, "INSERT INTO vibn_workspaces (slug, owner) VALUES ('one', 'u1'), ('two', 'u2')");
	simproc_rule(sim,
	             "{\"upstream\":\"coolify\",\"method\":\"GET\",\"path\":\"/api/v1/projects\","
	             "\"count\":4,\"action\":\"status\",\"status\":429,\"retry_after\":\"30\"}");
	assert_int_equal(reconcile(f, "one").cls, REC_RATE_LIMITED);
	lists = simproc_counter(sim, "coolify", "GET /api/v1/projects");
	assert_int_equal(reconcile(f, "two").cls, REC_RATE_LIMITED);
	assert_int_equal(simproc_counter(sim, "coolify", "GET /api/v1/projects"), lists);
	assert_cond(f, "two", COND_COOLIFY_PROJECT, "False", "RateLimited");
}

/* A refused list does not stop a new workspace: a project it may adopt without a fresh
 * list existed before any create of ours for the name (none was sent: it would be recorded
 * or pending), so the last snapshot shows it as well as a new list would. Here an orphaned
 * vibn-ws-two is in that snapshot and is adopted while every list is refused. */
static void
test_refused_list_new_workspace_uses_the_last_snapshot(void **state_)
{
	struct fixture *f = *state_;
	struct http_status st;
	char *orphan = NULL, *uuid;
	long lists;

	project_cache_free(f->projects);
	f->projects = project_cache_new(0); /* always stale: every lookup wants a new list */
	f->env.projects = f->projects;
	assert_int_equal(
	    coolify_project_create(f->coolify, "vibn-ws-two", "left behind", &orphan, &st),
	    HTTP_OK);
	sql(f, "INSERT INTO vibn_workspaces (slug, owner) VALUES ('one', 'u1'), ('two', 'u2')");
	assert_int_equal(reconcile(f, "one").cls, REC_OK);
	simproc_rule(sim,
	             "{\"upstream\":\"coolify\",\"method\":\"GET\",\"path\":\"/api/v1/projects\","
	             "\"count\":10,\"action\":\"status\",\"status\":429,\"retry_after\":\"30\"}");
	lists = simproc_counter(sim, "coolify", "GET /api/v1/projects");
	assert_int_equal(reconcile(f, "two").cls, REC_OK);
	assert_cond(f, "two", COND_COOLIFY_PROJECT, "True", "Adopted");
	uuid = sql_value(f, "SELECT coolify_project_uuid FROM vibn_workspaces WHERE slug = 'two'");
	assert_string_equal(uuid, orphan);
	/* It tried one new list (refused), and did not insist. */
	assert_int_equal(simproc_counter(sim, "coolify", "GET /api/v1/projects"), lists + 1);
	free(uuid);
	free(orphan);
}

/* After a create whose answer may have been lost, a lookup needs a list that began after
 * that create: any list taken since its pass began is one, so the lookups of passes
 * running at once share one list instead of listing each. */
static void
test_lookups_after_a_lost_create_share_one_list(void **state_)
{
	struct fixture *f = *state_;
	struct http_status st;
	char **uuids = NULL;
	size_t n = 0;
	int64_t pass_a, pass_b, later;

	pass_a = util_now_ms();
	pass_b = pass_a;
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(
	    project_cache_find(f->projects, f->coolify, "vibn-ws-x", pass_a, &uuids, &n, &st),
	    HTTP_OK);
	assert_int_equal(n, 0);
	assert_int_equal(
	    project_cache_find(f->projects, f->coolify, "vibn-ws-y", pass_b, &uuids, &n, &st),
	    HTTP_OK);
	assert_int_equal(simproc_counter(sim, "coolify", "GET /api/v1/projects"), 1);
	/* A pass that began after that list needs its own; and a refused one is not replaced
	 * by the stale snapshot. */
	later = util_now_ms() + 1; /* after the list began */
	while (util_now_ms() < later)
		;
	simproc_rule(sim,
	             "{\"upstream\":\"coolify\",\"method\":\"GET\",\"path\":\"/api/v1/projects\","
	             "\"count\":1,\"action\":\"status\",\"status\":429,\"retry_after\":\"30\"}");
	assert_int_equal(
	    project_cache_find(f->projects, f->coolify, "vibn-ws-x", later, &uuids, &n, &st),
	    HTTP_RATE_LIMITED);
	assert_int_equal(simproc_counter(sim, "coolify", "GET /api/v1/projects"), 2);
}

/* The same status means different things: Coolify's 400 "Invalid token." is a bad token, not
 * a validation error; Gitea's 500 on an org delete is not always "owns repositories". */
static void
test_failures_classified_by_message(void **state_)
{
	struct fixture *f = *state_;
	struct rec_result out;

	insert_acme(f);
	simproc_rule(sim,
	             "{\"upstream\":\"coolify\",\"method\":\"GET\",\"path\":\"/api/v1/projects\","
	             "\"count\":1,\"action\":\"status\",\"status\":400,\"body\":{\"message\":"
	             "\"Invalid token.\",\"docs\":\"https://coolify.io/docs/api-reference/"
	             "authorization\"}}");
	out = reconcile(f, "acme");
	assert_int_equal(out.cls, REC_PERMANENT);
	assert_cond(f, "acme", COND_COOLIFY_PROJECT, "False", "Unauthorized");
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);

	sql(f, "UPDATE vibn_workspaces SET deletion_policy = 'Delete', deleted_at = now()");
	/* Every attempt of the DELETE (the first and its three retries) answers 500. */
	simproc_rule(sim,
	             "{\"upstream\":\"gitea\",\"method\":\"DELETE\",\"path\":"
	             "\"/api/v1/orgs/vibn-acme\",\"count\":4,\"action\":\"status\",\"status\":500,"
	             "\"body\":{\"message\":\"\",\"url\":\"http://x/api/swagger\"}}");
	simproc_rule(sim,
	             "{\"upstream\":\"coolify\",\"method\":\"DELETE\",\"path\":"
	             "\"/api/v1/projects/{uuid}\",\"count\":1,\"action\":\"status\",\"status\":400,"
	             "\"body\":{\"message\":\"Invalid token.\"}}");
	reconcile_until(f, "acme", COND_GITEA_ORG, "False", "UpstreamUnavailable", 10000);
	/* The project goes once its apps have: then the 400. */
	reconcile_until(f, "acme", COND_COOLIFY_PROJECT, "False", "Unauthorized", 10000);
}

/* Partial progress: a step that fails (bob's add, on every attempt) is named by its
 * condition; the steps that do not depend on it (alice's add, the repo, the hook, the
 * project, the app) are done in the same pass; the next pass does only what is left. */
static void
test_failed_step_leaves_the_others_going(void **state_)
{
	struct fixture *f = *state_;
	struct rec_result out;
	json_t *st, *org;
	char *msg;

	insert_acme(f);
	simproc_rule(sim, "{\"upstream\":\"gitea\",\"method\":\"PUT\",\"path\":"
	                  "\"/api/v1/teams/{id}/members/bob\",\"count\":4,\"action\":\"status\","
	                  "\"status\":500}");
	out = reconcile(f, "acme");
	assert_int_equal(out.cls, REC_TRANSIENT);
	assert_cond(f, "acme", COND_MEMBERS, "False", "UpstreamUnavailable");
	msg = cond(f, "acme", COND_MEMBERS, "message");
	assert_non_null(strstr(msg, "adding bob to Admins"));
	assert_null(strstr(msg, "more failure"));
	free(msg);
	assert_cond(f, "acme", COND_READY, "False", "UpstreamUnavailable");
	assert_cond(f, "acme", COND_GITEA_ORG, "True", "Created");
	assert_cond(f, "acme", COND_REPOS, "True", "Created");
	assert_cond(f, "acme", COND_WEBHOOK, "True", "Created");
	assert_cond(f, "acme", COND_COOLIFY_PROJECT, "True", "Created");
	assert_cond(f, "acme", COND_APPS, "True", "Created");
	st = state();
	org = sim_org(st, "vibn-acme");
	assert_true(team_has(org, "Owners", "alice"));
	assert_false(team_has(org, "Admins", "bob"));
	json_decref(st);

	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_cond(f, "acme", COND_READY, "True", "Ready");
	assert_int_equal(mutating(), 1); /* bob's add, nothing else */

	/* Two failures of one condition: the first is named, the other counted; each has its
	 * Warning event. */
	drift("{\"action\":\"remove_member\",\"org\":\"vibn-acme\",\"user\":\"alice\"}");
	drift("{\"action\":\"remove_member\",\"org\":\"vibn-acme\",\"user\":\"bob\"}");
	simproc_rule(sim, "{\"upstream\":\"gitea\",\"method\":\"PUT\",\"path\":"
	                  "\"/api/v1/teams/{id}/members/{username}\",\"count\":8,\"action\":"
	                  "\"status\",\"status\":502}");
	assert_int_equal(reconcile(f, "acme").cls, REC_TRANSIENT);
	msg = cond(f, "acme", COND_MEMBERS, "message");
	assert_non_null(strstr(msg, "adding alice to Owners"));
	assert_non_null(strstr(msg, "; and 1 more failure, see the events"));
	free(msg);
	assert_int_equal(sql_long(f, "SELECT count(*) FROM vibn_workspace_events WHERE type ="
	                             " 'Warning' AND object_kind = 'member' AND message LIKE"
	                             " '%HTTP 502%'"),
	                 2);
	assert_cond(f, "acme", COND_REPOS, "True", NULL);
}

struct background_pass {
	struct fixture *f;
	const char *id;
	struct rec_result out;
	atomic_int done;
};

static void *
background_pass_main(void *arg)
{
	struct background_pass *bp = arg;

	workspace_reconcile(&bp->f->env, bp->id, &bp->out);
	atomic_store(&bp->done, 1);
	return NULL;
}

/* Runs a pass of slug on a thread while one of its requests is held by the simulator
 * (rule) until the client's 5 s timeout; returns 1 when seen(state) became true while the
 * pass was still running. */
static int
seen_while_held(struct fixture *f, const char *slug, const char *rule,
                int (*seen)(json_t *st, const char *slug), struct rec_result *out)
{
	struct background_pass bp = {.f = f};
	char q[160], *id;
	pthread_t th;
	int got = 0;

	snprintf(q, sizeof q, "SELECT id FROM vibn_workspaces WHERE slug = '%s'", slug);
	id = sql_value(f, q);
	bp.id = id;
	simproc_rule(sim, rule);
	assert_int_equal(pthread_create(&th, NULL, background_pass_main, &bp), 0);
	while (!atomic_load(&bp.done) && !got) {
		json_t *st = state();

		got = seen(st, slug) && !atomic_load(&bp.done);
		json_decref(st);
		usleep(20000); /* a poll interval, not a synchronization */
	}
	pthread_join(th, NULL);
	*out = bp.out;
	free(id);
	return got;
}

static int
project_made(json_t *st, const char *slug)
{
	char name[64];

	snprintf(name, sizeof name, "vibn-ws-%s", slug);
	return coolify_count(st, "projects", name) == 1;
}

static int
repo_made(json_t *st, const char *slug)
{
	char name[64];

	snprintf(name, sizeof name, "vibn-%s", slug);
	return find_named(json_object_get(sim_org(st, name), "repos"), "name", "web") != NULL;
}

static int
all_but_members_made(json_t *st, const char *slug)
{
	char name[64];

	snprintf(name, sizeof name, "vibn-%s", slug);
	/* bob not yet added: his add is the step held; the app follows the repo and the
	 * project without waiting for it */
	return repo_made(st, slug) &&
	       json_array_size(json_object_get(sim_org(st, name), "hooks")) == 1 &&
	       coolify_count(st, "applications", "acme-web") == 1 &&
	       !team_has(sim_org(st, name), "Admins", "bob");
}

/* No workspace, and the simulator as new, with alice's and bob's Gitea accounts. */
static void
start_over(struct fixture *f)
{
	sql(f, "DELETE FROM vibn_workspaces");
	simproc_reset(sim);
	simproc_seed_user(sim, "alice");
	simproc_seed_user(sim, "bob");
	project_cache_free(f->projects); /* its snapshot shows the projects reset just removed */
	f->projects = project_cache_new(60000);
	f->env.projects = f->projects;
}

/* The two sides run at once: while the Gitea org's create hangs (until the client's timeout;
 * then the pass looks for the org, and makes or adopts it) the Coolify project is made, and
 * while the Coolify project's create hangs the Gitea org and its repo are. */
static void
test_sides_go_on_while_one_hangs(void **state_)
{
	struct fixture *f = *state_;
	struct rec_result out;

	insert_acme(f);
	assert_true(seen_while_held(f, "acme",
	                            "{\"upstream\":\"gitea\",\"method\":\"POST\",\"path\":"
	                            "\"/api/v1/admin/users/{username}/orgs\",\"count\":1,"
	                            "\"action\":\"timeout\"}",
	                            project_made, &out));
	assert_int_equal(out.cls, REC_OK);
	assert_cond(f, "acme", COND_READY, "True", "Ready");

	insert_public(f, "beta");
	assert_true(seen_while_held(f, "beta",
	                            "{\"upstream\":\"coolify\",\"method\":\"POST\",\"path\":"
	                            "\"/api/v1/projects\",\"count\":1,\"action\":\"timeout\"}",
	                            repo_made, &out));
	/* A create that timed out is not sent again blindly: the next pass looks first. */
	assert_int_equal(out.cls, REC_TRANSIENT);
	assert_cond(f, "beta", COND_REPOS, "True", "Created");
	assert_cond(f, "beta", COND_COOLIFY_PROJECT, "False", "UpstreamUnavailable");

	/* Within the Gitea side, once the org is there: while bob's add hangs, the repo, the
	 * hook and the app are made. */
	start_over(f);
	insert_acme(f);
	assert_true(seen_while_held(f, "acme",
	                            "{\"upstream\":\"gitea\",\"method\":\"PUT\",\"path\":"
	                            "\"/api/v1/teams/{id}/members/bob\",\"count\":1,\"action\":"
	                            "\"timeout\"}",
	                            all_but_members_made, &out));
	assert_int_equal(out.cls, REC_OK);
	assert_cond(f, "acme", COND_READY, "True", "Ready");
}

static int
admins_filled_owners_not(json_t *st, const char *slug)
{
	char name[64];

	snprintf(name, sizeof name, "vibn-%s", slug);
	return team_has(sim_org(st, name), "Admins", "bob") &&
	       !team_has(sim_org(st, name), "Owners", "alice");
}

static int
owners_filled_admins_not(json_t *st, const char *slug)
{
	char name[64];

	snprintf(name, sizeof name, "vibn-%s", slug);
	return team_has(sim_org(st, name), "Owners", "alice") &&
	       find_named(json_object_get(sim_org(st, name), "teams"), "name", "Admins") == NULL;
}

/* The members step's adds run in two lanes: Owners (its id looked up on a fresh org), and
 * the teams this reconciler makes (the Admins team made without a list first on a fresh
 * org). While alice's add to Owners hangs, Admins is made and bob added; while the Admins
 * team's create hangs, alice is added to Owners. A fresh org's teams cost one list. */
static void
test_members_adds_run_in_two_lanes(void **state_)
{
	struct fixture *f = *state_;
	struct rec_result out;

	insert_acme(f);
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_true(seen_while_held(f, "acme",
	                            "{\"upstream\":\"gitea\",\"method\":\"PUT\",\"path\":"
	                            "\"/api/v1/teams/{id}/members/alice\",\"count\":1,\"action\":"
	                            "\"timeout\"}",
	                            admins_filled_owners_not, &out));
	assert_int_equal(out.cls, REC_OK);
	assert_cond(f, "acme", COND_MEMBERS, "True", "Synced");
	assert_int_equal(simproc_counter(sim, "gitea", "GET /api/v1/orgs/{org}/teams"), 1);
	assert_int_equal(simproc_counter(sim, "gitea", "POST /api/v1/orgs/{org}/teams"), 1);
	/* Both teams' ids are recorded for the sweeps. */
	assert_int_equal(sql_long(f, "SELECT count(*) FROM vibn_workspaces, jsonb_object_keys("
	                             "gitea_team_ids) k WHERE slug = 'acme'"),
	                 2);

	start_over(f);
	insert_acme(f);
	assert_true(seen_while_held(f, "acme",
	                            "{\"upstream\":\"gitea\",\"method\":\"POST\",\"path\":"
	                            "\"/api/v1/orgs/{org}/teams\",\"count\":1,\"action\":"
	                            "\"timeout\"}",
	                            owners_filled_admins_not, &out));
	assert_int_equal(out.cls, REC_OK);
	assert_cond(f, "acme", COND_READY, "True", "Ready");
}

/* How many threads this process has. */
static size_t
thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* How many threads this process has once the count holds still for 50 ms (joined threads
 * may stay listed a moment after their join returned), within 5 s. */
static size_t
threads_settled(void)
{
	size_t n = thread_count();
	int64_t end = util_now_ms() + 5000, still = util_now_ms();

	while (util_now_ms() < end && util_now_ms() - still < 50) {
		size_t now;

		usleep(5000); /* a poll interval */
		if ((now = thread_count()) != n) {
			n = now;
			still = util_now_ms();
		}
	}
	return n;
}

/* The threads that ran a pass's branches are kept for the next passes' (made once, not per
 * branch: never more than the most branches a pass runs at once, four), and end when the
 * pool is closed (vibnd's shutdown). */
static void
test_branch_threads_are_kept_and_reused(void **state_)
{
	struct fixture *f = *state_;
	size_t before;

	branch_pool_close(); /* what earlier tests of this program left */
	before = threads_settled();
	insert_acme(f);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_cond(f, "acme", COND_READY, "True", "Ready");
	assert_true(thread_count() > before);
	for (int i = 0; i < 5; i++) {
		drift("{\"action\":\"remove_member\",\"org\":\"vibn-acme\",\"user\":\"bob\"}");
		assert_int_equal(reconcile(f, "acme").cls, REC_OK);
		assert_true(thread_count() <= before + 4);
	}
	branch_pool_close();
	/* A joined thread may stay listed a moment after its join returned (the kernel wakes
	 * the joiner before it has reaped the thread): polled, with a deadline. */
	for (int64_t end = util_now_ms() + 5000; thread_count() != before && util_now_ms() < end;)
		usleep(1000);
	assert_int_equal(thread_count(), before);
	/* A pass after the close makes them again. */
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_cond(f, "acme", COND_READY, "True", NULL);
	assert_true(thread_count() > before);
}

/* The paths of a workspace's two teams' member lists, for read_answered. */
static char owners_members[64], admins_members[64];

/* Whether the simulator answered a read (a GET with status 200) whose path holds `which`. */
static int
read_answered(const char *which)
{
	json_t *log = simproc_call(sim, "GET", "/_sim/requests?limit=50", NULL, NULL);
	size_t i;
	json_t *e;
	int got = 0;

	json_array_foreach(log, i, e)
	{
		const char *method = jstr(e, "method"), *path = jstr(e, "path");

		if (method != NULL && strcmp(method, "GET") == 0 && path != NULL &&
		    strstr(path, which) != NULL &&
		    json_integer_value(json_object_get(e, "status")) == 200)
			got = 1;
	}
	json_decref(log);
	return got;
}

static int
admins_read_while_owners_held(json_t *st, const char *slug)
{
	(void)st;
	(void)slug;
	return read_answered(admins_members) && !read_answered(owners_members);
}

/* A sweep reads the members of Owners and of Admins at once: while the read of Owners hangs,
 * Admins' is answered (one after another, it would wait for Owners' timeout and its retry). */
static void
test_sweep_reads_the_teams_at_once(void **state_)
{
	struct fixture *f = *state_;
	struct rec_result out;
	char rule[256];

	insert_acme(f);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	snprintf(owners_members, sizeof owners_members, "/teams/%ld/members",
	         sql_long(f, "SELECT (gitea_team_ids->>'Owners')::bigint FROM vibn_workspaces"));
	snprintf(admins_members, sizeof admins_members, "/teams/%ld/members",
	         sql_long(f, "SELECT (gitea_team_ids->>'Admins')::bigint FROM vibn_workspaces"));
	f->env.orgs = org_cache_new();
	f->env.sweep = 1;
	org_cache_sweep_started(f->env.orgs);
	project_cache_sweep_started(f->env.projects);
	snprintf(rule, sizeof rule,
	         "{\"upstream\":\"gitea\",\"method\":\"GET\",\"path\":\"/api/v1%s\","
	         "\"count\":1,\"action\":\"timeout\"}",
	         owners_members);
	assert_true(seen_while_held(f, "acme", rule, admins_read_while_owners_held, &out));
	assert_int_equal(out.cls, REC_OK);
	assert_cond(f, "acme", COND_MEMBERS, "True", NULL);
	org_cache_free(f->env.orgs);
	f->env.orgs = NULL;
}

static int
apps_read_while_repos_held(json_t *st, const char *slug)
{
	(void)st;
	(void)slug;
	return read_answered("/production") && !read_answered("/orgs/vibn-acme/repos");
}

/* A sweep reads the project's applications as soon as the project is known (from the run's
 * project list), beside the Gitea side: while the read of the repos hangs, the apps' is
 * answered; the apps step, which needs both, follows. */
static void
test_sweep_reads_the_apps_beside_the_repos(void **state_)
{
	struct fixture *f = *state_;
	struct rec_result out;

	insert_acme(f);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	f->env.orgs = org_cache_new();
	f->env.sweep = 1;
	org_cache_sweep_started(f->env.orgs);
	project_cache_sweep_started(f->env.projects);
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_true(seen_while_held(f, "acme",
	                            "{\"upstream\":\"gitea\",\"method\":\"GET\",\"path\":"
	                            "\"/api/v1/orgs/{org}/repos\",\"count\":1,\"action\":"
	                            "\"timeout\"}",
	                            apps_read_while_repos_held, &out));
	assert_int_equal(out.cls, REC_OK);
	assert_cond(f, "acme", COND_APPS, "True", NULL);
	assert_int_equal(mutating(), 0);
	/* read once, however early */
	assert_int_equal(simproc_counter(sim, "coolify",
	                                 "GET /api/v1/projects/{uuid}/{environment_name_or_uuid}"),
	                 1);
	org_cache_free(f->env.orgs);
	f->env.orgs = NULL;
}

static const char *
hook_secret(json_t *st, const char *org)
{
	return json_string_value(json_object_get(
	    json_array_get(json_object_get(sim_org(st, org), "hooks"), 0), "secret"));
}

/* Gitea never returns a hook's secret: a changed GITEA_WEBHOOK_SECRET is found by the hash
 * recorded when the hook got its secret, and the hook is edited once. */
static void
test_changed_webhook_secret_is_rotated(void **state_)
{
	struct fixture *f = *state_;
	const char *patch = "PATCH /api/v1/orgs/{org}/hooks/{id}";
	json_t *st;

	insert_acme(f);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	st = state();
	assert_string_equal(hook_secret(st, "vibn-acme"), "hook-secret");
	json_decref(st);

	f->set.webhook_secret = "rotated-secret";
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_int_equal(simproc_counter(sim, "gitea", patch), 1);
	assert_cond(f, "acme", COND_WEBHOOK, "True", "Updated");
	st = state();
	assert_string_equal(hook_secret(st, "vibn-acme"), "rotated-secret");
	assert_int_equal(json_array_size(json_object_get(sim_org(st, "vibn-acme"), "hooks")), 1);
	json_decref(st);

	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(reconcile(f, "acme").cls, REC_OK);
	assert_int_equal(mutating(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fresh_provision_reaches_ready, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_second_reconcile_changes_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_signup_without_gitea_account_is_ready, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_sweep_reads_lists, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_new_workspace_creates_its_org_unread, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_app_domains_from_the_create, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sweep_reads_the_org_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sweep_relists_a_deleted_team, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sweep_reads_the_teams_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sweep_reads_the_apps_beside_the_repos, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_sweep_of_a_full_workspace_reads_the_plan, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_drift_repaired_by_one_reconcile, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_org_settings_drift_repaired, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_repo_settings_drift_repaired, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_app_settings_drift_repaired, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_project_name_drift_repaired, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lost_create_response_leaves_one_project, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_coolify_unauthorized_gitea_still_converges, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_rate_limited_carries_retry_after, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flaky_upstreams_converge_without_duplicates, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_delete_policy_delete_removes_everything, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_delete_policy_orphan_keeps_upstream, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_paused_reports_drift_and_changes_nothing, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_hand_added_repo_and_member_left_alone, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_removed_app_is_deleted_upstream, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_private_repo_app_uses_the_deploy_key, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_long_lists_read_to_the_end, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_racing_team_create_is_adopted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_default_branch_is_reported_not_patched,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clone_url_on_an_ip_is_reported, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ssh_clone_url_with_a_port_is_converted, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_several_destinations_need_the_setting, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_private_org_public_repo_needs_the_deploy_key,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_privacy_flip_needs_a_new_source, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_app_delete_is_sent_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apps_read_from_the_environment, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_production_environment_recreated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failures_classified_by_message, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_project_list_shared_until_retry_after,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_limited_reads_leave_verified_conditions,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_create_leaves_nothing_pending, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_unsent_create_leaves_nothing_pending, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_refused_list_new_workspace_uses_the_last_snapshot,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lookups_after_a_lost_create_share_one_list, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_failed_step_leaves_the_others_going, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_sides_go_on_while_one_hangs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_members_adds_run_in_two_lanes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_branch_threads_are_kept_and_reused, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_changed_webhook_secret_is_rotated, setup,
	                                    teardown),
	};
	static const char *const cap5[] = {"--gitea-max-items", "5", NULL};
	int rc;

	/* Once as Gitea ships (50 items a page), once as operators often set it. */
	sim = simproc_start(NULL);
	rc = cmocka_run_group_tests_name("reconcile, Gitea page cap 50", tests, NULL, NULL);
	simproc_stop(sim);
	sim = simproc_start(cap5);
	rc += cmocka_run_group_tests_name("reconcile, Gitea page cap 5", tests, NULL, NULL);
	simproc_stop(sim);
	return rc;
}
