/* The manifest fields that scope an apply: metadata.labels (Kubernetes' label syntax),
 * spec.quotas, label selectors (vibnctl apply -l), apply set names, and how diff shows
 * the repos and apps the API owns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "manifests/mf_apply.h"
#include "manifests/mf_diff.h"
#include "manifests/mf_load.h"
#include "manifests/mf_select.h"

#define HEAD "apiVersion: vibn/v1\nkind: Workspace\nmetadata:\n  name: acme\n"

/* Loads text; returns the diagnostics joined (a new string, "" when valid) and, when valid,
 * the workspace in *set. */
static char *
load(const char *text, struct mf_set *set)
{
	struct mf_diags d;
	struct buf out;

	mf_spec_set_init(set);
	mf_diag_init(&d);
	buf_init(&out);
	if (mf_load_buffer("t.yaml", text, strlen(text), set, &d) != 0)
		assert_true(d.n > 0);
	for (size_t i = 0; i < d.n; i++) {
		char *s = mf_diag_format(&d.v[i]);

		buf_printf(&out, "%s\n", s);
		free(s);
	}
	mf_diag_free(&d);
	return buf_release(&out);
}

static void
test_labels_and_quotas_parse(void **state)
{
	struct mf_set set;
	char *errs = load(HEAD "  labels: {team: a, example.com/tier: prod, empty: }\n"
	                       "spec:\n  owner: al\n  quotas: {repos: 200, apps: 0}\n",
	                  &set);

	assert_string_equal(errs, "");
	assert_int_equal(set.n, 1);
	assert_int_equal(set.v[0].nlabels, 3);
	/* Sorted by key. */
	assert_string_equal(set.v[0].labels[0].key, "empty");
	assert_string_equal(set.v[0].labels[0].value, "");
	assert_string_equal(set.v[0].labels[1].key, "example.com/tier");
	assert_string_equal(set.v[0].labels[2].value, "a");
	assert_int_equal(set.v[0].quota[QUOTA_REPOS], 200);
	assert_int_equal(set.v[0].quota[QUOTA_APPS], 0);
	assert_int_equal(set.v[0].quota[QUOTA_PROJECTS], -1);
	free(errs);
	mf_spec_set_free(&set);
}

static void
test_labels_and_quotas_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {HEAD "  labels: {-bad: x}\nspec: {owner: al}\n",
	     "t.yaml:5:12: metadata.labels: invalid label key \"-bad\""},
	    {HEAD "  labels: {team: \"a b\"}\nspec: {owner: al}\n",
	     "t.yaml:5:18: metadata.labels.team: invalid label value \"a b\""},
	    {HEAD "  labels: [a]\nspec: {owner: al}\n",
	     "t.yaml:5:11: metadata.labels: expected a mapping, got a sequence"},
	    {HEAD "spec:\n  owner: al\n  quotas: {repos: -1}\n",
	     "t.yaml:7:19: spec.quotas.repos: expected an integer from 0 to 100000"},
	    {HEAD "spec:\n  owner: al\n  quotas: {repos: \"5\"}\n",
	     "t.yaml:7:19: spec.quotas.repos: expected an integer from 0 to 100000"},
	    {HEAD "spec:\n  owner: al\n  quotas: {apps: 100001}\n",
	     "t.yaml:7:18: spec.quotas.apps: expected an integer from 0 to 100000"},
	    {HEAD "spec:\n  owner: al\n  quotas: {repo: 1}\n",
	     "t.yaml:7:12: spec.quotas: unknown field \"repo\" (did you mean \"repos\"?)"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mf_set set;
		char *errs = load(cases[i].text, &set);

		if (strstr(errs, cases[i].want) == NULL)
			fail_msg("for:\n%s\nwant:\n%s\ngot:\n%s", cases[i].text, cases[i].want,
			         errs);
		assert_int_equal(set.n, 0);
		free(errs);
		mf_spec_set_free(&set);
	}
}

static int
matches(const char *sel_text, const struct mf_label *labels, size_t n)
{
	struct mf_selector sel;
	char *cause = NULL;
	int m;

	if (mf_select_parse(sel_text, &sel, &cause) != 0)
		fail_msg("%s: %s", sel_text, cause);
	m = mf_select_matches(&sel, labels, n);
	mf_select_free(&sel);
	return m;
}

static void
test_selectors(void **state)
{
	char k1[] = "team", v1[] = "a", k2[] = "example.com/tier", v2[] = "prod";
	struct mf_label l[2] = {{k1, v1}, {k2, v2}};
	struct mf_selector sel;
	char *cause = NULL;

	assert_true(matches("team=a", l, 2));
	assert_true(matches("team==a", l, 2));
	assert_true(matches(" team = a , example.com/tier=prod", l, 2));
	assert_false(matches("team=b", l, 2));
	assert_false(matches("team=a,example.com/tier=dev", l, 2));
	assert_true(matches("team!=b", l, 2));
	assert_false(matches("team!=a", l, 2));
	assert_true(matches("owner!=x", l, 2));
	assert_true(matches("team", l, 2));
	assert_false(matches("owner", l, 2));
	assert_true(matches("!owner", l, 2));
	assert_false(matches("!team", l, 2));
	assert_false(matches("team=a", l, 0));
	for (size_t i = 0; i < 5; i++) {
		static const char *const bad[] = {"", ",", "team=a,", "=a", "team=a b"};

		assert_int_equal(mf_select_parse(bad[i], &sel, &cause), -1);
		assert_non_null(cause);
		free(cause);
		cause = NULL;
	}
	assert_true(mf_select_valid_key("a.b-c_d"));
	assert_true(mf_select_valid_key("example.com/x"));
	assert_false(mf_select_valid_key("Example.com/x"));
	assert_false(mf_select_valid_key("/x"));
	assert_false(mf_select_valid_key(
	    "a234567890123456789012345678901234567890123456789012345678901234"));
	assert_true(mf_select_valid_value(""));
	assert_false(mf_select_valid_value("x-"));
}

static void
test_applyset_names(void **state)
{
	assert_true(mf_apply_valid_applyset("prod"));
	assert_true(mf_apply_valid_applyset("team-a.prod"));
	assert_false(mf_apply_valid_applyset(""));
	assert_false(mf_apply_valid_applyset("Prod"));
	assert_false(mf_apply_valid_applyset("-prod"));
	assert_false(mf_apply_valid_applyset("a/b"));
}

static void
test_diff_shows_api_owned_objects(void **state)
{
	struct mf_set set;
	char shop[] = "shop", p1[] = "p-1";
	struct mf_api_owned repo = {shop, NULL, p1, 7}, app = {shop, shop, p1, 8};
	char *errs = load(HEAD "  labels: {team: a}\nspec:\n  owner: al\n  quotas: {apps: 3}\n"
	                       "  repos: [{name: web}]\n",
	                  &set),
	     *text;

	assert_string_equal(errs, "");
	set.v[0].api_repos = &repo;
	set.v[0].napi_repos = 1;
	set.v[0].api_apps = &app;
	set.v[0].napi_apps = 1;
	text = mf_diff_render(&set.v[0]);
	assert_non_null(strstr(text, "metadata:\n  name: acme\n  labels:\n    team: a\n"));
	assert_non_null(strstr(text, "  # owned by the API"));
	assert_non_null(strstr(text, "  #   repo shop (project p-1)\n"));
	assert_non_null(strstr(text, "  #   app shop (from repo shop) (project p-1)\n"));
	assert_non_null(strstr(text, "  quotas:\n    apps: 3\n"));
	set.v[0].api_repos = NULL;
	set.v[0].napi_repos = 0;
	set.v[0].api_apps = NULL;
	set.v[0].napi_apps = 0;
	free(text);
	free(errs);
	mf_spec_set_free(&set);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_labels_and_quotas_parse),
	    cmocka_unit_test(test_labels_and_quotas_errors),
	    cmocka_unit_test(test_selectors),
	    cmocka_unit_test(test_applyset_names),
	    cmocka_unit_test(test_diff_shows_api_owned_objects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
