/* Every Gitea client call against a real bin/vibn-sim: orgs, teams, members, repos, hooks,
 * users, version; every error class; pagination across 0, 49, 50, 51 and 120 items; no
 * token in the logs; and every request sent checked against the route table (which the
 * conformance test checks against the spec). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "clients/gitea.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "tests/support/routes.h"
#include "tests/support/simproc.h"

#define TOKEN "gitea-tok-5b2f9d-secret"

static struct simproc *sim;

/* One attempt per call (no retries inside a request): these tests look at how each answer
 * is classified; test_clients_retry covers the retries. */
static struct gitea *
client(const char *token, long timeout_ms)
{
	struct gitea_config cfg = {.api_url = sim->gitea_api,
	                           .token = token,
	                           .admin_user = "vibn-admin",
	                           .timeout_ms = timeout_ms,
	                           .max_retries = -1};

	return gitea_new(&cfg);
}

static int
group_setup(void **state)
{
	static const char *const args[] = {"--gitea-token", TOKEN, NULL};

	sim = simproc_start(args);
	routes_trace_start();
	return 0;
}

static int
group_teardown(void **state)
{
	routes_trace_stop();
	return simproc_stop(sim) == 0 ? 0 : -1;
}

static int
setup(void **state)
{
	simproc_reset(sim);
	*state = client(TOKEN, 0);
	return 0;
}

static int
teardown(void **state)
{
	gitea_free(*state);
	return 0;
}

static void
make_org(struct gitea *g, const char *name)
{
	struct http_status st;

	if (gitea_org_create(g, name, NULL, NULL, &st) != HTTP_OK)
		fail_msg("creating org %s: %s %ld %s", name, http_class_name(st.cls), st.status,
		         st.message);
}

static void
test_org_lifecycle(void **state)
{
	struct gitea *g = *state;
	struct gitea_org_spec spec = {
	    .full_name = "Acme Inc.", .description = "Acme workspace", .visibility = "private"};
	struct gitea_org org = {0};
	struct gitea_orgs orgs = {0};
	struct http_status st;
	int found = 0;

	assert_int_equal(gitea_org_create(g, "vibn-acme", &spec, &org, &st), HTTP_OK);
	assert_int_equal(st.status, 201);
	assert_true(org.id > 0);
	assert_string_equal(org.name, "vibn-acme");
	assert_string_equal(org.full_name, "Acme Inc.");
	assert_string_equal(org.visibility, "private");
	gitea_org_free(&org);

	assert_int_equal(gitea_org_get(g, "vibn-acme", &org, &st), HTTP_OK);
	assert_string_equal(org.description, "Acme workspace");
	gitea_org_free(&org);

	spec = (struct gitea_org_spec){.description = "Edited"};
	assert_int_equal(gitea_org_edit(g, "vibn-acme", &spec, &org, &st), HTTP_OK);
	assert_string_equal(org.description, "Edited");
	assert_string_equal(org.full_name, "Acme Inc.");
	gitea_org_free(&org);

	assert_int_equal(gitea_org_list(g, &orgs, &st), HTTP_OK);
	for (size_t i = 0; i < orgs.n; i++)
		found += strcmp(orgs.v[i].name, "vibn-acme") == 0;
	assert_int_equal(found, 1);
	gitea_orgs_free(&orgs);

	/* Gitea's "already exists" is a 422, classed as a conflict; so is a user's name, in
	 * any case. */
	assert_int_equal(gitea_org_create(g, "vibn-acme", NULL, NULL, &st), HTTP_CONFLICT);
	assert_int_equal(st.status, 422);
	assert_non_null(strstr(st.message, "already exists"));
	assert_int_equal(gitea_org_create(g, "VIBN-Admin", NULL, NULL, &st), HTTP_CONFLICT);
	/* A bad name is invalid. */
	assert_int_equal(gitea_org_create(g, "bad--name", NULL, NULL, &st), HTTP_INVALID);
	assert_int_equal(st.status, 422);
	assert_true(st.message[0] != '\0');

	assert_int_equal(gitea_org_delete(g, "vibn-acme", &st), HTTP_OK);
	assert_int_equal(st.status, 204);
	assert_int_equal(gitea_org_get(g, "vibn-acme", &org, &st), HTTP_NOT_FOUND);
	assert_int_equal(st.status, 404);
	assert_null(org.name);
	assert_int_equal(gitea_org_delete(g, "vibn-acme", &st), HTTP_NOT_FOUND);
	assert_int_equal(gitea_org_edit(g, "vibn-acme", &spec, NULL, &st), HTTP_NOT_FOUND);
}

static void
test_org_delete_with_repos_fails(void **state)
{
	struct gitea *g = *state;
	struct http_status st;

	make_org(g, "vibn-full");
	assert_int_equal(gitea_repo_create(g, "vibn-full", "web", NULL, NULL, &st), HTTP_OK);
	/* Gitea answers 500 "user still has ownership of repositories". */
	assert_int_equal(gitea_org_delete(g, "vibn-full", &st), HTTP_TRANSIENT);
	assert_int_equal(st.status, 500);
	assert_int_equal(gitea_repo_delete(g, "vibn-full", "web", &st), HTTP_OK);
	assert_int_equal(gitea_org_delete(g, "vibn-full", &st), HTTP_OK);
}

static int
has_user(const struct gitea_users *l, const char *login)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].login, login) == 0)
			return 1;
	return 0;
}

/* A new org's only team, Gitea's Owners, moved into *out. */
static void
owners_team(struct gitea *g, const char *org, struct gitea_team *out)
{
	struct gitea_teams teams = {0};
	struct http_status st;

	assert_int_equal(gitea_team_list(g, org, &teams, &st), HTTP_OK);
	assert_int_equal(teams.n, 1);
	assert_string_equal(teams.v[0].name, "Owners");
	*out = teams.v[0];
	memset(&teams.v[0], 0, sizeof teams.v[0]);
	gitea_teams_free(&teams);
}

static void
test_teams_and_members(void **state)
{
	struct gitea *g = *state;
	struct gitea_team owners = {0}, dev = {0};
	struct gitea_teams teams = {0};
	struct gitea_users users = {0};
	struct http_status st;

	simproc_seed_user(sim, "bob");
	simproc_seed_user(sim, "alice");
	make_org(g, "vibn-team");

	owners_team(g, "vibn-team", &owners);
	assert_string_equal(owners.permission, "owner");
	assert_true(owners.id > 0);
	/* The creator is the only owner. */
	assert_int_equal(gitea_team_members(g, owners.id, &users, &st), HTTP_OK);
	assert_int_equal(users.n, 1);
	assert_string_equal(users.v[0].login, "vibn-admin");
	gitea_users_free(&users);

	assert_int_equal(gitea_team_add_member(g, owners.id, "bob", &st), HTTP_OK);
	assert_int_equal(st.status, 204);
	/* Idempotent. */
	assert_int_equal(gitea_team_add_member(g, owners.id, "bob", &st), HTTP_OK);
	assert_int_equal(gitea_team_members(g, owners.id, &users, &st), HTTP_OK);
	assert_int_equal(users.n, 2);
	assert_true(has_user(&users, "bob"));
	gitea_users_free(&users);
	assert_int_equal(gitea_team_add_member(g, owners.id, "nobody-here", &st), HTTP_NOT_FOUND);

	assert_int_equal(gitea_team_create(g, "vibn-team", "Developers", "Workspace members",
	                                   "write", 1, &dev, &st),
	                 HTTP_OK);
	assert_int_equal(st.status, 201);
	assert_string_equal(dev.name, "Developers");
	assert_true(dev.id > 0 && dev.id != owners.id);
	assert_int_equal(gitea_team_add_member(g, dev.id, "alice", &st), HTTP_OK);
	assert_int_equal(gitea_team_list(g, "vibn-team", &teams, &st), HTTP_OK);
	assert_int_equal(teams.n, 2);
	gitea_teams_free(&teams);

	assert_int_equal(gitea_org_members(g, "vibn-team", &users, &st), HTTP_OK);
	assert_int_equal(users.n, 3);
	assert_true(has_user(&users, "alice") && has_user(&users, "bob") &&
	            has_user(&users, "vibn-admin"));
	gitea_users_free(&users);

	assert_int_equal(gitea_team_remove_member(g, dev.id, "alice", &st), HTTP_OK);
	assert_int_equal(gitea_team_remove_member(g, dev.id, "alice", &st), HTTP_OK);
	assert_int_equal(gitea_org_remove_member(g, "vibn-team", "bob", &st), HTTP_OK);
	assert_int_equal(gitea_org_members(g, "vibn-team", &users, &st), HTTP_OK);
	assert_int_equal(users.n, 1);
	assert_string_equal(users.v[0].login, "vibn-admin");
	gitea_users_free(&users);

	/* The last owner cannot go: Gitea's unmapped ErrLastOrgOwner is a 500. */
	assert_int_equal(gitea_team_remove_member(g, owners.id, "vibn-admin", &st), HTTP_TRANSIENT);
	assert_int_equal(st.status, 500);
	assert_int_equal(gitea_team_list(g, "vibn-missing", &teams, &st), HTTP_NOT_FOUND);
	gitea_team_free(&owners);
	gitea_team_free(&dev);
}

static void
test_repos(void **state)
{
	struct gitea *g = *state;
	struct gitea_repo_spec spec = {.description = "Marketing site", .private = 1};
	struct gitea_repo repo = {0};
	struct gitea_repos repos = {0};
	struct http_status st;

	make_org(g, "vibn-repos");
	assert_int_equal(gitea_repo_create(g, "vibn-repos", "web", &spec, &repo, &st), HTTP_OK);
	assert_int_equal(st.status, 201);
	assert_true(repo.id > 0);
	assert_string_equal(repo.name, "web");
	assert_string_equal(repo.description, "Marketing site");
	assert_true(repo.private);
	assert_non_null(repo.clone_url);
	assert_non_null(strstr(repo.clone_url, "/vibn-repos/web.git"));
	gitea_repo_free(&repo);

	assert_int_equal(gitea_repo_create(g, "vibn-repos", "web", &spec, NULL, &st),
	                 HTTP_CONFLICT);
	assert_int_equal(st.status, 409);
	assert_int_equal(gitea_repo_create(g, "vibn-nope", "web", &spec, NULL, &st),
	                 HTTP_NOT_FOUND);

	assert_int_equal(gitea_repo_get(g, "vibn-repos", "web", &repo, &st), HTTP_OK);
	assert_string_equal(repo.full_name, "vibn-repos/web");
	assert_true(repo.empty);
	gitea_repo_free(&repo);

	/* Branches: none in an empty repo; auto_init commits the default branch. */
	assert_int_equal(gitea_branch_get(g, "vibn-repos", "web", "main", &st), HTTP_NOT_FOUND);
	spec = (struct gitea_repo_spec){.default_branch = "trunk", .auto_init = 1};
	assert_int_equal(gitea_repo_create(g, "vibn-repos", "api", &spec, &repo, &st), HTTP_OK);
	assert_false(repo.empty);
	assert_string_equal(repo.default_branch, "trunk");
	gitea_repo_free(&repo);
	assert_int_equal(gitea_branch_get(g, "vibn-repos", "api", "trunk", &st), HTTP_OK);
	assert_int_equal(gitea_branch_get(g, "vibn-repos", "api", "main", &st), HTTP_NOT_FOUND);
	assert_int_equal(gitea_repo_delete(g, "vibn-repos", "api", &st), HTTP_OK);

	spec = (struct gitea_repo_spec){.description = "Public now", .set_private = 1};
	assert_int_equal(gitea_repo_edit(g, "vibn-repos", "web", &spec, &repo, &st), HTTP_OK);
	assert_string_equal(repo.description, "Public now");
	assert_false(repo.private);
	gitea_repo_free(&repo);

	assert_int_equal(gitea_repo_list(g, "vibn-repos", &repos, &st), HTTP_OK);
	assert_int_equal(repos.n, 1);
	assert_string_equal(repos.v[0].name, "web");
	gitea_repos_free(&repos);

	assert_int_equal(gitea_repo_delete(g, "vibn-repos", "web", &st), HTTP_OK);
	assert_int_equal(gitea_repo_get(g, "vibn-repos", "web", &repo, &st), HTTP_NOT_FOUND);
	assert_int_equal(gitea_repo_delete(g, "vibn-repos", "web", &st), HTTP_NOT_FOUND);
}

static void
test_hooks(void **state)
{
	static const char *const events[] = {"repository", NULL};
	struct gitea *g = *state;
	struct gitea_hook_spec spec = {
	    .url = "http://127.0.0.1:9/webhooks/gitea", .secret = "hook-secret", .events = events};
	struct gitea_hook hook = {0};
	struct gitea_hooks hooks = {0};
	struct http_status st;
	json_t *state_json, *h;

	make_org(g, "vibn-hooks");
	assert_int_equal(gitea_hook_create(g, "vibn-hooks", &spec, &hook, &st), HTTP_OK);
	assert_int_equal(st.status, 201);
	assert_true(hook.id > 0);
	assert_true(hook.active);
	assert_string_equal(hook.url, spec.url);
	assert_string_equal(hook.content_type, "json");
	assert_int_equal(hook.nevents, 1);
	assert_string_equal(hook.events[0], "repository");

	/* What the simulator holds: active, json, with the secret. */
	state_json = simproc_call(sim, "GET", "/_sim/state", NULL, NULL);
	h = json_array_get(
	    json_object_get(
	        json_array_get(json_object_get(json_object_get(state_json, "gitea"), "orgs"), 0),
	        "hooks"),
	    0);
	assert_non_null(h);
	assert_true(json_is_true(json_object_get(h, "active")));
	assert_string_equal(json_string_value(json_object_get(h, "content_type")), "json");
	assert_string_equal(json_string_value(json_object_get(h, "secret")), "hook-secret");
	json_decref(state_json);

	assert_int_equal(gitea_hook_list(g, "vibn-hooks", &hooks, &st), HTTP_OK);
	assert_int_equal(hooks.n, 1);
	assert_int_equal(hooks.v[0].id, hook.id);
	gitea_hooks_free(&hooks);

	spec.url = "http://127.0.0.1:9/webhooks/gitea2";
	assert_int_equal(gitea_hook_edit(g, "vibn-hooks", hook.id, &spec, NULL, &st), HTTP_OK);
	assert_int_equal(gitea_hook_list(g, "vibn-hooks", &hooks, &st), HTTP_OK);
	assert_string_equal(hooks.v[0].url, "http://127.0.0.1:9/webhooks/gitea2");
	gitea_hooks_free(&hooks);

	assert_int_equal(gitea_hook_delete(g, "vibn-hooks", hook.id, &st), HTTP_OK);
	assert_int_equal(st.status, 204);
	assert_int_equal(gitea_hook_delete(g, "vibn-hooks", hook.id, &st), HTTP_NOT_FOUND);
	assert_int_equal(gitea_hook_list(g, "vibn-hooks", &hooks, &st), HTTP_OK);
	assert_int_equal(hooks.n, 0);
	assert_null(hooks.v);
	gitea_hook_free(&hook);
}

static void
test_users_and_version(void **state)
{
	struct gitea *g = *state;
	struct gitea_user u = {0};
	struct http_status st;
	char *version = NULL;

	simproc_seed_user(sim, "carol");
	assert_int_equal(gitea_user_get(g, "carol", &u, &st), HTTP_OK);
	assert_string_equal(u.login, "carol");
	assert_true(u.id > 0);
	gitea_user_free(&u);
	assert_int_equal(gitea_user_get(g, "vibn-admin", &u, &st), HTTP_OK);
	gitea_user_free(&u);
	assert_int_equal(gitea_user_get(g, "no-such-user", &u, &st), HTTP_NOT_FOUND);
	assert_int_equal(gitea_version(g, &version, &st), HTTP_OK);
	assert_non_null(version);
	assert_true(version[0] != '\0');
	free(version);
}

/* Lists an org holding n repos and checks the items and the number of pages fetched:
 * pages of 50 (or the server's cap) until X-Total-Count or an empty page. */
static void
check_repo_pages(struct gitea *g, int n, long want_pages, int cap)
{
	struct gitea_repos repos = {0};
	struct http_status st;
	char org[32], name[64];

	simproc_reset(sim);
	snprintf(name, sizeof name, "{\"gitea_max_items\":%d}", cap);
	simproc_must(sim, "POST", "/_sim/config", name);
	snprintf(org, sizeof org, "vibn-p%d", n);
	make_org(g, org);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "r%03d", i);
		assert_int_equal(gitea_repo_create(g, org, name, NULL, NULL, &st), HTTP_OK);
	}
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(gitea_repo_list(g, org, &repos, &st), HTTP_OK);
	assert_int_equal(repos.n, n);
	/* Every repo once. */
	for (int i = 0; i < n; i++) {
		int hits = 0;

		snprintf(name, sizeof name, "r%03d", i);
		for (size_t k = 0; k < repos.n; k++)
			hits += strcmp(repos.v[k].name, name) == 0;
		assert_int_equal(hits, 1);
	}
	gitea_repos_free(&repos);
	assert_int_equal(simproc_counter(sim, "gitea", "GET /api/v1/orgs/{org}/repos"), want_pages);
}

static void
test_pagination(void **state)
{
	struct gitea *g = *state;

	check_repo_pages(g, 0, 1, 50);
	check_repo_pages(g, 49, 1, 50);
	/* A full page and X-Total-Count 50: no second request. */
	check_repo_pages(g, 50, 1, 50);
	check_repo_pages(g, 51, 2, 50);
	check_repo_pages(g, 120, 3, 50);
}

/* A Gitea whose MAX_RESPONSE_ITEMS is 5 answers every page with at most 5 items, whatever
 * limit asks: a short page is not the end, X-Total-Count is. Org hooks page too. */
static void
test_pagination_below_the_asked_limit(void **state)
{
	struct gitea *g = *state;
	struct gitea_hooks hooks = {0};
	struct http_status st;
	char url[64];
	const char *const events[] = {"repository", NULL};

	simproc_reset(sim);
	check_repo_pages(g, 12, 3, 5);
	check_repo_pages(g, 10, 2, 5);
	check_repo_pages(g, 3, 1, 5);
	simproc_must(sim, "POST", "/_sim/config", "{\"gitea_max_items\":5}");
	make_org(g, "vibn-hooks");
	for (int i = 0; i < 7; i++) {
		struct gitea_hook_spec spec = {url, NULL, events};

		snprintf(url, sizeof url, "http://127.0.0.1:9/hook-%d", i);
		assert_int_equal(gitea_hook_create(g, "vibn-hooks", &spec, NULL, &st), HTTP_OK);
	}
	assert_int_equal(gitea_hook_list(g, "vibn-hooks", &hooks, &st), HTTP_OK);
	assert_int_equal(hooks.n, 7);
	assert_string_equal(hooks.v[6].url, "http://127.0.0.1:9/hook-6");
	gitea_hooks_free(&hooks);
	simproc_reset(sim);
}

/* The orgs an at-once list handed over: name -> times. */
static int
count_org(const struct gitea_org *o, void *arg)
{
	json_t *seen = arg;

	json_object_set_new(seen, o->name,
	                    json_integer(json_integer_value(json_object_get(seen, o->name)) + 1));
	return 0;
}

/* The admin org list read by three clients at once: every org once, each page once (page 1
 * first, then the others spread over the clients); one client reads page after page. */
static void
test_org_pages_at_once(void **state)
{
	struct gitea *gs[3] = {*state, client(TOKEN, 0), client(TOKEN, 0)};
	struct http_status st;
	json_t *seen = json_object(), *one = json_object();
	char name[32];
	const char *k;
	json_t *v;
	long orgs;

	simproc_reset(sim);
	simproc_must(sim, "POST", "/_sim/config", "{\"gitea_max_items\":5}");
	for (int i = 0; i < 23; i++) {
		snprintf(name, sizeof name, "vibn-at%02d", i);
		make_org(gs[0], name);
	}
	assert_int_equal(gitea_org_each_at_once(gs, 1, count_org, one, &st), HTTP_OK);
	orgs = (long)json_object_size(one);
	assert_true(orgs >= 23);
	simproc_must(sim, "POST", "/_sim/counters/reset", NULL);
	assert_int_equal(gitea_org_each_at_once(gs, 3, count_org, seen, &st), HTTP_OK);
	assert_int_equal(json_object_size(seen), orgs);
	json_object_foreach(seen, k, v) assert_int_equal(json_integer_value(v), 1);
	assert_int_equal(simproc_counter(sim, "gitea", "GET /api/v1/admin/orgs"), (orgs + 4) / 5);
	json_decref(seen);
	json_decref(one);
	gitea_free(gs[1]);
	gitea_free(gs[2]);
	simproc_reset(sim);
}

static void
test_pagination_other_lists(void **state)
{
	struct gitea *g = *state;
	struct gitea_orgs orgs = {0};
	struct gitea_users users = {0};
	struct gitea_team owners = {0};
	struct http_status st;
	char name[32];

	/* 51 orgs besides whatever the simulator starts with. */
	for (int i = 0; i < 51; i++) {
		snprintf(name, sizeof name, "vibn-o%02d", i);
		make_org(g, name);
	}
	assert_int_equal(gitea_org_list(g, &orgs, &st), HTTP_OK);
	assert_true(orgs.n >= 51);
	gitea_orgs_free(&orgs);

	owners_team(g, "vibn-o00", &owners);
	for (int i = 0; i < 55; i++) {
		snprintf(name, sizeof name, "user%02d", i);
		simproc_seed_user(sim, name);
		assert_int_equal(gitea_team_add_member(g, owners.id, name, &st), HTTP_OK);
	}
	assert_int_equal(gitea_team_members(g, owners.id, &users, &st), HTTP_OK);
	assert_int_equal(users.n, 56);
	gitea_users_free(&users);
	assert_int_equal(gitea_org_members(g, "vibn-o00", &users, &st), HTTP_OK);
	assert_int_equal(users.n, 56);
	gitea_users_free(&users);
	gitea_team_free(&owners);
}

static void
test_error_classes(void **state)
{
	struct gitea *g = *state, *bad = client("wrong-token", 0), *quick = client(TOKEN, 300);
	struct gitea_org org = {0};
	struct http_status st;
	int64_t now;

	make_org(g, "vibn-err");

	assert_int_equal(gitea_org_get(bad, "vibn-err", &org, &st), HTTP_UNAUTHORIZED);
	assert_int_equal(st.status, 401);
	assert_true(st.message[0] != '\0');

	simproc_rule(sim,
	             "{\"upstream\":\"gitea\",\"method\":\"GET\",\"path\":\"/api/v1/orgs/{org}\","
	             "\"count\":1,\"action\":\"status\",\"status\":429,\"retry_after\":\"3\"}");
	now = util_now_ms();
	assert_int_equal(gitea_org_get(g, "vibn-err", &org, &st), HTTP_RATE_LIMITED);
	assert_int_equal(st.status, 429);
	assert_in_range(st.not_before_ms, now + 2000, now + 4000);

	simproc_rule(
	    sim, "{\"upstream\":\"gitea\",\"method\":\"GET\",\"path\":\"/api/v1/orgs/vibn-err\","
	         "\"count\":1,\"action\":\"status\",\"status\":503}");
	assert_int_equal(gitea_org_get(g, "vibn-err", &org, &st), HTTP_TRANSIENT);
	assert_int_equal(st.status, 503);

	/* libcurl re-sends a GET once when a reused connection dies unanswered (what a stale
	 * keep-alive looks like); a drop on the fresh connection is reported. */
	simproc_rule(sim,
	             "{\"upstream\":\"gitea\",\"method\":\"GET\",\"path\":\"/api/v1/orgs/{org}\","
	             "\"count\":2,\"action\":\"drop\"}");
	assert_int_equal(gitea_org_get(g, "vibn-err", &org, &st), HTTP_TRANSIENT);
	assert_int_equal(st.status, 0);

	simproc_rule(sim,
	             "{\"upstream\":\"gitea\",\"method\":\"GET\",\"path\":\"/api/v1/orgs/{org}\","
	             "\"count\":1,\"action\":\"timeout\"}");
	assert_int_equal(gitea_org_get(quick, "vibn-err", &org, &st), HTTP_TRANSIENT);
	assert_non_null(strstr(st.message, "timed out"));

	/* A create whose answer is lost: transient, though the org now exists. */
	simproc_rule(sim, "{\"upstream\":\"gitea\",\"method\":\"POST\","
	                  "\"path\":\"/api/v1/admin/users/{username}/orgs\",\"count\":1,"
	                  "\"action\":\"drop_after\"}");
	assert_int_equal(gitea_org_create(g, "vibn-lost", NULL, NULL, &st), HTTP_TRANSIENT);
	assert_int_equal(gitea_org_get(g, "vibn-lost", &org, &st), HTTP_OK);
	gitea_org_free(&org);

	/* Standing 5xx faults, then none. */
	simproc_must(sim, "POST", "/_sim/faults", "{\"upstream\":\"gitea\",\"error_rate\":1.0}");
	assert_int_equal(gitea_org_get(g, "vibn-err", &org, &st), HTTP_TRANSIENT);
	assert_true(st.status >= 500);
	simproc_must(sim, "POST", "/_sim/faults", "{\"upstream\":\"gitea\",\"error_rate\":0}");
	assert_int_equal(gitea_org_get(g, "vibn-err", &org, &st), HTTP_OK);
	gitea_org_free(&org);
	gitea_free(quick);
	gitea_free(bad);
}

static void
test_no_token_in_logs(void **state)
{
	struct gitea *g = *state, *bad = client("wrong-" TOKEN, 0);
	struct http_status st;
	char path[] = "/tmp/vibn-log-XXXXXX";
	struct buf out;
	char chunk[4096];
	size_t n;
	int saved, fd;
	FILE *f;

	log_init("test", LOG_LVL_DEBUG);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
	make_org(g, "vibn-log");
	gitea_org_get(bad, "vibn-log", NULL, &st);
	gitea_repo_create(g, "vibn-log", "web", NULL, NULL, &st);
	gitea_org_delete(g, "vibn-log", &st);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	log_init("test", LOG_LVL_INFO);

	buf_init(&out);
	f = fopen(path, "r");
	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(&out, chunk, n);
	fclose(f);
	unlink(path);
	assert_non_null(strstr(buf_str(&out), "method=POST path=/admin/users/vibn-admin/orgs"));
	assert_non_null(strstr(buf_str(&out), "status=401 class=unauthorized"));
	assert_null(strstr(buf_str(&out), TOKEN));
	buf_free(&out);
	gitea_free(bad);
}

/* Runs last: every request sent above matched the route table, and every entry was used. */
static void
test_every_request_conforms(void **state)
{
	assert_int_equal(routes_trace_report("gitea", 1), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_org_lifecycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_org_delete_with_repos_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_teams_and_members, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_repos, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hooks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_users_and_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pagination, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_org_pages_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pagination_other_lists, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pagination_below_the_asked_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_error_classes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_token_in_logs, setup, teardown),
	    cmocka_unit_test(test_every_request_conforms),
	};
	int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);

	curl_global_cleanup();
	return rc;
}
