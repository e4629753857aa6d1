/* Conformance of every request the Gitea and Coolify clients can send (their route tables:
 * method, path template, query parameters, body fields) with the upstream specs vendored in
 * tests/specs, read with jansson at test time. The integration tests check, through the
 * HTTP tracer, that every request the clients really send matches a table entry and that
 * every entry is exercised, so table, code and spec cannot drift apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "clients/coolify.h"
#include "clients/gitea.h"
#include "tests/support/routes.h"

/* The spec (vendored in tests/specs), or: in CI a failure; elsewhere (a tree someone pruned)
 * a skip with its reason on one line (tests/run.sh shows it). */
static json_t *
load_or_skip(const char *file)
{
	char *why = NULL;
	json_t *spec = routes_load_spec(file, &why);

	if (spec == NULL) {
		const char *ci = getenv("CI");

		if (ci != NULL && *ci != '\0') {
			print_error("%s\n", why);
			free(why);
			fail_msg("cannot check conformance without the spec");
		}
		print_message("skipped: %s\n", why);
		free(why);
		skip();
	}
	return spec;
}

static void
check_table(const char *file, const struct http_route *table, size_t n)
{
	json_t *spec = load_or_skip(file);
	int failures = 0;

	for (size_t i = 0; i < n; i++) {
		char *why = NULL;

		if (routes_check_spec(spec, &table[i], &why) != 0) {
			print_error("%s: %s\n", file, why);
			free(why);
			failures++;
		}
	}
	json_decref(spec);
	assert_int_equal(failures, 0);
}

static void
test_gitea_routes_match_spec(void **state)
{
	size_t n;
	const struct http_route *t = gitea_routes(&n);

	assert_true(n >= 20);
	check_table("gitea-swagger.v1.json", t, n);
}

static void
test_gitea_routes_match_stable_spec(void **state)
{
	size_t n;
	const struct http_route *t = gitea_routes(&n);

	/* Also the latest stable release, the likelier target. */
	check_table("gitea-swagger.v1.26.4.json", t, n);
}

static void
test_coolify_routes_match_spec(void **state)
{
	size_t n;
	const struct http_route *t = coolify_routes(&n);

	assert_true(n >= 15);
	check_table("coolify-openapi.json", t, n);
}

/* The checker must be able to fail: unknown operations, fields, query parameters, and
 * required fields left out are each caught. */
static void
test_checker_catches_mistakes(void **state)
{
	static const struct http_route bad[] = {
	    {"GET", "/orgs/{org}/nonsense", NULL, NULL, NULL, NULL},
	    {"POST", "/projects", NULL, "name,uuid", NULL, NULL},
	    {"GET", "/applications", "page", NULL, NULL, NULL},
	    {"POST", "/applications/public", NULL, "project_uuid,server_uuid", NULL,
	     "environment_name,environment_uuid"},
	    {"POST", "/orgs/{org}/hooks", NULL, "type,config,config.url", NULL, NULL},
	};
	json_t *gitea = load_or_skip("gitea-swagger.v1.json");
	json_t *coolify = load_or_skip("coolify-openapi.json");
	char *why = NULL;

	assert_int_equal(routes_check_spec(gitea, &bad[0], &why), -1);
	free(why);
	assert_int_equal(routes_check_spec(coolify, &bad[1], &why), -1);
	assert_non_null(strstr(why, "uuid is not a property"));
	free(why);
	assert_int_equal(routes_check_spec(coolify, &bad[2], &why), -1);
	assert_non_null(strstr(why, "query parameter page"));
	free(why);
	assert_int_equal(routes_check_spec(coolify, &bad[3], &why), -1);
	assert_non_null(strstr(why, "git_repository"));
	free(why);
	/* config.url is fine (a map), but the hook sends no body for a GET-like mistake: check
	 * a good one passes. */
	assert_int_equal(routes_check_spec(gitea, &bad[4], &why), 0);
	json_decref(gitea);
	json_decref(coolify);
}

static void
test_match_requests_against_tables(void **state)
{
	size_t gn, cn;
	const struct http_route *g = gitea_routes(&gn), *c = coolify_routes(&cn);
	json_t *body = json_pack("{s:s, s:b}", "name", "web", "private", 1);
	json_t *bad = json_pack("{s:s, s:s}", "name", "web", "owner", "x");
	json_t *app =
	    json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "project_uuid", "p", "server_uuid", "s",
	              "environment_name", "production", "git_repository", "r", "git_branch", "main",
	              "build_pack", "nixpacks", "ports_exposes", "3000");
	char *why = NULL;
	int i;

	i = routes_match(g, gn, "POST", "/orgs/vibn-acme/repos", body, &why);
	assert_true(i >= 0);
	assert_string_equal(g[i].path, "/orgs/{org}/repos");
	assert_int_equal(routes_match(g, gn, "POST", "/orgs/vibn-acme/repos", bad, &why), -1);
	assert_non_null(strstr(why, "unexpected body field owner"));
	free(why);
	assert_true(routes_match(g, gn, "GET", "/orgs/a/repos?page=2&limit=50", NULL, &why) >= 0);
	assert_int_equal(routes_match(g, gn, "GET", "/orgs/a/repos?sort=x", NULL, &why), -1);
	free(why);
	assert_true(routes_match(c, cn, "POST", "/applications/public", app, &why) >= 0);
	json_object_set_new(app, "environment_uuid", json_string("e"));
	assert_int_equal(routes_match(c, cn, "POST", "/applications/public", app, &why), -1);
	assert_non_null(strstr(why, "want exactly one"));
	free(why);
	json_decref(body);
	json_decref(bad);
	json_decref(app);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gitea_routes_match_spec),
	    cmocka_unit_test(test_gitea_routes_match_stable_spec),
	    cmocka_unit_test(test_coolify_routes_match_spec),
	    cmocka_unit_test(test_checker_catches_mistakes),
	    cmocka_unit_test(test_match_requests_against_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
