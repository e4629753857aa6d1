/* Every Coolify client call against a real bin/vibn-sim: projects, environments,
 * applications (public and deploy-key, the asynchronous delete), servers, version; every
 * error class; and every request sent checked against the route table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "clients/coolify.h"
#include "common/util.h"
#include "tests/support/routes.h"
#include "tests/support/simproc.h"

#define TOKEN "coolify-tok-8c1a44-secret"

static struct simproc *sim;

/* One attempt per call (no retries inside a request): these tests look at how each answer
 * is classified; test_clients_retry covers the retries. */
static struct coolify *
client(const char *token, long timeout_ms)
{
	struct coolify_config cfg = {
	    .url = sim->coolify_url, .token = token, .timeout_ms = timeout_ms, .max_retries = -1};

	return coolify_new(&cfg);
}

static int
group_setup(void **state)
{
	static const char *const args[] = {"--coolify-token", TOKEN, NULL};

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
	coolify_free(*state);
	return 0;
}

static char *
make_project(struct coolify *c, const char *name)
{
	struct http_status st;
	char *uuid = NULL;

	if (coolify_project_create(c, name, NULL, &uuid, &st) != HTTP_OK)
		fail_msg("creating project %s: %s %ld %s", name, http_class_name(st.cls), st.status,
		         st.message);
	return uuid;
}

static void
test_projects(void **state)
{
	struct coolify *c = *state;
	struct coolify_project p = {0};
	struct coolify_projects list = {0};
	struct http_status st;
	char *a = NULL, *b = NULL;
	int same_name = 0;

	assert_int_equal(coolify_project_create(c, "vibn-ws-acme", "Acme workspace", &a, &st),
	                 HTTP_OK);
	assert_int_equal(st.status, 201);
	assert_non_null(a);
	/* Names are not unique upstream: a second project, another uuid. */
	assert_int_equal(coolify_project_create(c, "vibn-ws-acme", NULL, &b, &st), HTTP_OK);
	assert_string_not_equal(a, b);
	free(b);

	assert_int_equal(coolify_project_list(c, &list, &st), HTTP_OK);
	for (size_t i = 0; i < list.n; i++)
		same_name += strcmp(list.v[i].name, "vibn-ws-acme") == 0;
	assert_int_equal(same_name, 2);
	coolify_projects_free(&list);

	assert_int_equal(coolify_project_get(c, a, &p, &st), HTTP_OK);
	assert_string_equal(p.uuid, a);
	assert_string_equal(p.name, "vibn-ws-acme");
	assert_string_equal(p.description, "Acme workspace");
	/* Coolify creates "production" with every project. */
	assert_int_equal(p.envs.n, 1);
	assert_string_equal(p.envs.v[0].name, "production");
	coolify_project_free(&p);

	assert_int_equal(coolify_project_update(c, a, "vibn-ws-acme2", "Renamed", &st), HTTP_OK);
	assert_int_equal(st.status, 201);
	assert_int_equal(coolify_project_get(c, a, &p, &st), HTTP_OK);
	assert_string_equal(p.name, "vibn-ws-acme2");
	assert_string_equal(p.description, "Renamed");
	coolify_project_free(&p);
	/* Nothing to change is refused before it costs a request. */
	assert_int_equal(coolify_project_update(c, a, NULL, NULL, &st), HTTP_INVALID);
	assert_int_equal(st.status, 0);

	/* Coolify's validation: 422 with per-field errors. */
	assert_int_equal(coolify_project_create(c, "ab", NULL, &b, &st), HTTP_INVALID);
	assert_int_equal(st.status, 422);
	assert_non_null(strstr(st.message, "name"));
	assert_null(b);

	assert_int_equal(coolify_project_delete(c, a, &st), HTTP_OK);
	assert_int_equal(coolify_project_get(c, a, &p, &st), HTTP_NOT_FOUND);
	assert_int_equal(st.status, 404);
	assert_int_equal(coolify_project_delete(c, a, &st), HTTP_NOT_FOUND);
	free(a);
}

static void
test_environments(void **state)
{
	struct coolify *c = *state;
	struct coolify_envs envs = {0};
	struct coolify_env env = {0};
	struct http_status st;
	char *p = make_project(c, "vibn-ws-env"), *uuid = NULL;

	assert_int_equal(coolify_env_list(c, p, &envs, &st), HTTP_OK);
	assert_int_equal(envs.n, 1);
	assert_string_equal(envs.v[0].name, "production");
	coolify_envs_free(&envs);

	assert_int_equal(coolify_env_create(c, p, "staging", &uuid, &st), HTTP_OK);
	assert_int_equal(st.status, 201);
	assert_non_null(uuid);
	assert_int_equal(coolify_env_create(c, p, "staging", NULL, &st), HTTP_CONFLICT);
	assert_int_equal(st.status, 409);

	assert_int_equal(coolify_env_get(c, p, "staging", &env, &st), HTTP_OK);
	assert_string_equal(env.uuid, uuid);
	assert_string_equal(env.name, "staging");
	coolify_env_free(&env);
	assert_int_equal(coolify_env_get(c, p, uuid, &env, &st), HTTP_OK);
	assert_string_equal(env.name, "staging");
	coolify_env_free(&env);
	assert_int_equal(coolify_env_get(c, p, "nope", &env, &st), HTTP_NOT_FOUND);
	assert_int_equal(coolify_env_list(c, "no-such-project", &envs, &st), HTTP_NOT_FOUND);
	free(uuid);
	free(p);
}

static void
test_applications(void **state)
{
	struct coolify *c = *state;
	struct coolify_servers servers = {0};
	struct coolify_apps apps = {0};
	struct coolify_app app = {0};
	struct coolify_env env = {0};
	struct http_status st;
	char *p = make_project(c, "vibn-ws-apps"), *a = NULL, *b = NULL, *domains = NULL;
	char *other = NULL;
	struct coolify_app_spec spec = {.project_uuid = p,
	                                .server_uuid = "vibnsimlocalhostserver01",
	                                .environment_name = "production",
	                                .git_repository = "http://127.0.0.1:1/vibn-apps/web.git",
	                                .git_branch = "main",
	                                .build_pack = "nixpacks",
	                                .ports_exposes = "3000",
	                                .name = "apps-web",
	                                .description = "Web"};
	struct coolify_app_patch patch = {.git_branch = "develop", .ports_exposes = "8080"};
	const char *key_uuid;
	long key_status = 0;
	json_t *key;

	assert_int_equal(coolify_server_list(c, &servers, &st), HTTP_OK);
	assert_true(servers.n >= 1);
	assert_string_equal(servers.v[0].uuid, "vibnsimlocalhostserver01");
	coolify_servers_free(&servers);

	/* Coolify refuses clone URLs of IP hosts (ValidGitRepositoryUrl). */
	assert_int_equal(coolify_app_create_public(c, &spec, &a, &domains, &st), HTTP_INVALID);
	assert_int_equal(st.status, 422);
	assert_non_null(strstr(st.message, "git_repository"));
	assert_null(a);
	spec.git_repository = "https://git.example.com/vibn-apps/web.git";
	assert_int_equal(coolify_app_create_public(c, &spec, &a, &domains, &st), HTTP_OK);
	assert_int_equal(st.status, 201);
	assert_non_null(a);
	assert_non_null(domains); /* the answer has them: no read needed */

	/* A private repo through a deploy key (stored in Coolify first, as an operator
	 * would), addressed by environment uuid. */
	key = simproc_api(sim, "coolify", TOKEN, "POST", "/security/keys",
	                  "{\"name\":\"deploy\",\"private_key\":\"-----BEGIN OPENSSH PRIVATE "
	                  "KEY-----\\nx\\n-----END OPENSSH PRIVATE KEY-----\\n\"}",
	                  &key_status);
	assert_int_equal(key_status, 201);
	key_uuid = json_string_value(json_object_get(key, "uuid"));
	assert_non_null(key_uuid);
	assert_int_equal(coolify_env_get(c, p, "production", &env, &st), HTTP_OK);
	spec.environment_name = NULL;
	spec.environment_uuid = env.uuid;
	spec.name = "apps-api";
	spec.git_repository = "git@git.example.com:2222/vibn-apps/api.git";
	/* Older Coolify answered the domains null. */
	simproc_must(sim, "POST", "/_sim/config", "{\"coolify_create_domains\":false}");
	assert_int_equal(coolify_app_create_deploy_key(c, &spec, key_uuid, &b, &other, &st),
	                 HTTP_OK);
	simproc_must(sim, "POST", "/_sim/config", "{\"coolify_create_domains\":true}");
	assert_non_null(b);
	assert_null(other);
	coolify_env_free(&env);
	json_decref(key);

	assert_int_equal(coolify_app_get(c, a, &app, &st), HTTP_OK);
	assert_string_equal(app.uuid, a);
	assert_string_equal(app.fqdn, domains);
	assert_string_equal(app.name, "apps-web");
	assert_string_equal(app.git_branch, "main");
	assert_string_equal(app.build_pack, "nixpacks");
	assert_string_equal(app.ports_exposes, "3000");
	coolify_app_free(&app);

	assert_int_equal(coolify_app_list(c, NULL, &apps, &st), HTTP_OK);
	assert_int_equal(apps.n, 2);
	coolify_apps_free(&apps);
	assert_int_equal(coolify_app_list(c, "vibn-ws-apps", &apps, &st), HTTP_OK);
	coolify_apps_free(&apps);

	assert_int_equal(coolify_app_update(c, a, &patch, &st), HTTP_OK);
	assert_int_equal(coolify_app_get(c, a, &app, &st), HTTP_OK);
	assert_string_equal(app.git_branch, "develop");
	assert_string_equal(app.ports_exposes, "8080");
	coolify_app_free(&app);
	assert_int_equal(coolify_app_update(c, a, &(struct coolify_app_patch){0}, &st),
	                 HTTP_INVALID);

	/* A project with resources cannot go. */
	assert_int_equal(coolify_project_delete(c, p, &st), HTTP_INVALID);
	assert_int_equal(st.status, 400);
	assert_non_null(strstr(st.message, "resources"));

	/* Still present right after the delete is queued; gone after the wait. */
	assert_int_equal(coolify_app_wait_gone(c, a, util_now_ms() - 1, &st), HTTP_TRANSIENT);
	assert_non_null(strstr(st.message, "still present"));
	assert_int_equal(coolify_app_delete(c, a, &st), HTTP_OK);
	assert_int_equal(coolify_app_delete(c, b, &st), HTTP_OK);
	assert_int_equal(coolify_app_wait_gone(c, a, util_now_ms() + 20000, &st), HTTP_OK);
	assert_int_equal(coolify_app_wait_gone(c, b, util_now_ms() + 20000, &st), HTTP_OK);
	assert_int_equal(coolify_app_get(c, a, &app, &st), HTTP_NOT_FOUND);
	assert_int_equal(coolify_project_delete(c, p, &st), HTTP_OK);

	free(a);
	free(b);
	free(domains);
	/* Incomplete specs are refused locally. */
	spec.ports_exposes = NULL;
	assert_int_equal(coolify_app_create_public(c, &spec, &a, &domains, &st), HTTP_INVALID);
	assert_non_null(strstr(st.message, "ports_exposes"));
	assert_null(a);
	assert_null(domains);
	assert_int_equal(coolify_app_create_deploy_key(c, &spec, NULL, &b, NULL, &st),
	                 HTTP_INVALID);
	assert_null(b);
	free(p);
}

static void
test_version(void **state)
{
	struct coolify *c = *state;
	struct http_status st;
	char *v = NULL;

	assert_int_equal(coolify_version(c, &v, &st), HTTP_OK);
	assert_non_null(v);
	assert_true(v[0] != '\0' && v[0] != '"');
	assert_null(strchr(v, '\n'));
	free(v);
}

static void
test_error_classes(void **state)
{
	struct coolify *c = *state, *bad = client("wrong", 0), *quick = client(TOKEN, 300);
	struct coolify_projects list = {0};
	struct http_status st;
	char *uuid = NULL;
	int64_t now;

	assert_int_equal(coolify_project_list(bad, &list, &st), HTTP_UNAUTHORIZED);
	assert_int_equal(st.status, 401);
	assert_true(st.message[0] != '\0');

	simproc_rule(sim,
	             "{\"upstream\":\"coolify\",\"method\":\"GET\",\"path\":\"/api/v1/projects\","
	             "\"count\":1,\"action\":\"status\",\"status\":429,\"retry_after\":\"2\"}");
	now = util_now_ms();
	assert_int_equal(coolify_project_list(c, &list, &st), HTTP_RATE_LIMITED);
	assert_int_equal(st.status, 429);
	assert_in_range(st.not_before_ms, now + 1000, now + 3000);

	simproc_rule(sim,
	             "{\"upstream\":\"coolify\",\"method\":\"GET\",\"path\":\"/api/v1/projects\","
	             "\"count\":1,\"action\":\"status\",\"status\":502}");
	assert_int_equal(coolify_project_list(c, &list, &st), HTTP_TRANSIENT);
	assert_int_equal(st.status, 502);

	/* libcurl re-sends a GET once when a reused connection dies unanswered (what a stale
	 * keep-alive looks like); a drop on the fresh connection is reported. */
	simproc_rule(sim,
	             "{\"upstream\":\"coolify\",\"method\":\"GET\",\"path\":\"/api/v1/projects\","
	             "\"count\":2,\"action\":\"drop\"}");
	assert_int_equal(coolify_project_list(c, &list, &st), HTTP_TRANSIENT);
	assert_int_equal(st.status, 0);

	simproc_rule(sim,
	             "{\"upstream\":\"coolify\",\"method\":\"GET\",\"path\":\"/api/v1/projects\","
	             "\"count\":1,\"action\":\"timeout\"}");
	assert_int_equal(coolify_project_list(quick, &list, &st), HTTP_TRANSIENT);
	assert_non_null(strstr(st.message, "timed out"));

	/* The create happened, the answer was lost: transient, and the project is there. */
	simproc_rule(sim,
	             "{\"upstream\":\"coolify\",\"method\":\"POST\",\"path\":\"/api/v1/projects\","
	             "\"count\":1,\"action\":\"drop_after\"}");
	assert_int_equal(coolify_project_create(c, "vibn-ws-lost", NULL, &uuid, &st),
	                 HTTP_TRANSIENT);
	assert_null(uuid);
	assert_int_equal(coolify_project_list(c, &list, &st), HTTP_OK);
	assert_int_equal(list.n, 1);
	assert_string_equal(list.v[0].name, "vibn-ws-lost");
	coolify_projects_free(&list);
	coolify_free(quick);
	coolify_free(bad);
}

/* Runs last: every request sent above matched the route table, and every entry was used. */
static void
test_every_request_conforms(void **state)
{
	assert_int_equal(routes_trace_report("coolify", 1), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_projects, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_environments, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_applications, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_error_classes, setup, teardown),
	    cmocka_unit_test(test_every_request_conforms),
	};
	int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);

	curl_global_cleanup();
	return rc;
}
