/* Unit tests for the manifest parser and validator: every error class with its exact
 * file:line:column, the YAML hazards (tabs, duplicate keys, non-UTF-8, empty files, alias
 * bombs, size caps), defaults, several documents per file, and the diff renderer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/names.h"
#include "common/buf.h"
#include "common/xmalloc.h"
#include "manifests/mf_diff.h"
#include "manifests/mf_load.h"
#include "manifests/mf_yaml.h"

/* Parses text as t.yaml; returns every diagnostic joined by newlines (a new string, "" when
 * valid) and the number of workspaces in *nws. */
static char *
parse(const char *text, size_t len, size_t *nws)
{
	struct mf_set set;
	struct mf_diags d;
	struct buf out;

	mf_spec_set_init(&set);
	mf_diag_init(&d);
	buf_init(&out);
	if (mf_load_buffer("t.yaml", text, len, &set, &d) == 0 && mf_spec_check_set(&set, &d) == 0)
		assert_int_equal(d.n, 0);
	else
		assert_true(d.n > 0);
	for (size_t i = 0; i < d.n; i++) {
		char *s = mf_diag_format(&d.v[i]);

		buf_printf(&out, "%s\n", s);
		free(s);
	}
	if (nws != NULL)
		*nws = set.n;
	mf_spec_set_free(&set);
	mf_diag_free(&d);
	return buf_release(&out);
}

/* Asserts that text yields exactly one diagnostic, equal to want. */
static void
expect_one(const char *text, const char *want)
{
	char *got = parse(text, strlen(text), NULL);
	char *w = xasprintf("%s\n", want);

	if (strcmp(got, w) != 0)
		fail_msg("for:\n%s\nwant:\n%sgot:\n%s", text, w, got);
	free(w);
	free(got);
}

/* Asserts that want is one of the diagnostics of text. */
static void
expect_has(const char *text, const char *want)
{
	char *got = parse(text, strlen(text), NULL);
	char *w = xasprintf("%s\n", want);

	if (strstr(got, w) == NULL)
		fail_msg("for:\n%s\nwant among them:\n%sgot:\n%s", text, w, got);
	free(w);
	free(got);
}

#define HEAD "apiVersion: vibn/v1\nkind: Workspace\nmetadata:\n  name: acme\n"

static void
test_valid_minimal_and_defaults(void **state)
{
	const char *text = HEAD "spec:\n  owner: alice\n  repos:\n    - {name: web}\n"
	                        "  apps:\n    - {name: site, repo: web}\n";
	struct mf_set set;
	struct mf_diags d;

	mf_spec_set_init(&set);
	mf_diag_init(&d);
	assert_int_equal(mf_load_buffer("t.yaml", text, strlen(text), &set, &d), 0);
	assert_int_equal(set.n, 1);
	assert_string_equal(set.v[0].slug, "acme");
	assert_string_equal(set.v[0].display_name, "acme");
	assert_string_equal(set.v[0].deletion_policy, "Orphan");
	assert_int_equal(set.v[0].prune_members, 0);
	assert_int_equal(set.v[0].paused, 0);
	assert_int_equal(set.v[0].repos[0].private, 1);
	assert_string_equal(set.v[0].repos[0].default_branch, "main");
	assert_string_equal(set.v[0].repos[0].description, "");
	assert_string_equal(set.v[0].apps[0].branch, "main");
	assert_string_equal(set.v[0].apps[0].build_pack, "nixpacks");
	assert_string_equal(set.v[0].apps[0].ports, "3000");
	mf_spec_set_free(&set);
	mf_diag_free(&d);
}

static void
test_app_branch_defaults_to_repo_default_branch(void **state)
{
	const char *text = HEAD "spec:\n  owner: alice\n  repos:\n    - {name: api, defaultBranch: "
	                        "trunk}\n  apps:\n    - {name: api, repo: API, ports: 8080}\n";
	struct mf_set set;
	struct mf_diags d;

	mf_spec_set_init(&set);
	mf_diag_init(&d);
	assert_int_equal(mf_load_buffer("t.yaml", text, strlen(text), &set, &d), 0);
	assert_string_equal(set.v[0].apps[0].branch, "trunk");
	assert_string_equal(set.v[0].apps[0].ports, "8080"); /* a plain number is its text */
	mf_spec_set_free(&set);
	mf_diag_free(&d);
}

static void
test_api_version_and_kind(void **state)
{
	expect_one("apiVersion: v1\nkind: Workspace\nmetadata: {name: a}\nspec: {owner: al}\n",
	           "t.yaml:1:13: apiVersion: unsupported apiVersion \"v1\" (expected \"vibn/v1\")");
	expect_one("apiVersion: vibn/v1\nkind: Project\nmetadata: {name: a}\nspec: {owner: al}\n",
	           "t.yaml:2:7: kind: unsupported kind \"Project\" (expected \"Workspace\")");
}

static void
test_missing_required(void **state)
{
	expect_one("apiVersion: vibn/v1\nkind: Workspace\nspec:\n  owner: al\n",
	           "t.yaml:1:1: missing required field \"metadata\"");
	expect_one(HEAD "spec:\n  displayName: X\n",
	           "t.yaml:6:3: spec: missing required field \"owner\"");
	expect_one("apiVersion: vibn/v1\nkind: Workspace\nmetadata: {}\nspec: {owner: al}\n",
	           "t.yaml:3:11: metadata: missing required field \"name\"");
	expect_one(HEAD "spec: {owner: al, repos: [{private: false}]}\n",
	           "t.yaml:5:27: spec.repos[0]: missing required field \"name\"");
}

static void
test_unknown_fields_with_suggestion(void **state)
{
	expect_one(
	    HEAD "spec:\n  owner: al\n  displayname: X\n",
	    "t.yaml:7:3: spec: unknown field \"displayname\" (did you mean \"displayName\"?)");
	expect_one(HEAD "spec:\n  owner: al\n  member: []\n",
	           "t.yaml:7:3: spec: unknown field \"member\" (did you mean \"members\"?)");
	expect_one(HEAD "spec:\n  owner: al\n  repos: [{name: a, privat: true}]\n",
	           "t.yaml:7:21: spec.repos[0]: unknown field \"privat\" (did you mean "
	           "\"private\"?)");
	expect_one(HEAD "spec:\n  owner: al\n  zzz: 1\n",
	           "t.yaml:7:3: spec: unknown field \"zzz\" (known fields: displayName, owner, "
	           "members, repos, apps, quotas, pruneMembers, deletionPolicy, paused)");
	expect_one(HEAD "  annotations: {}\nspec: {owner: al}\n",
	           "t.yaml:5:3: metadata: unknown field \"annotations\" (known fields: name, "
	           "labels)");
	expect_one(HEAD "spec: {owner: al}\nstatus: {}\n",
	           "t.yaml:6:1: unknown field \"status\" (known fields: apiVersion, kind, "
	           "metadata, spec)");
}

static void
test_types(void **state)
{
	expect_one(HEAD "spec:\n  owner: {a: 1}\n",
	           "t.yaml:6:10: spec.owner: expected a string, got a mapping");
	expect_one(HEAD "spec:\n  owner: true\n",
	           "t.yaml:6:10: spec.owner: expected a string, got a boolean (quote it to make it "
	           "a string)");
	expect_one(HEAD "spec:\n  owner: al\n  paused: yes\n",
	           "t.yaml:7:11: spec.paused: expected a boolean (true or false), got a string");
	expect_one(HEAD "spec:\n  owner: al\n  pruneMembers: \"true\"\n",
	           "t.yaml:7:17: spec.pruneMembers: expected a boolean, got a quoted string (write "
	           "true without quotes)");
	expect_one(HEAD "spec:\n  owner: al\n  members: {user: bob}\n",
	           "t.yaml:7:12: spec.members: expected a sequence, got a mapping");
	expect_one(HEAD "spec:\n  owner: al\n  repos: [web]\n",
	           "t.yaml:7:11: spec.repos[0]: expected a mapping, got a string");
	expect_one("- a\n- b\n", "t.yaml:1:1: expected a mapping, got a sequence");
	expect_one(HEAD "spec: [1]\n", "t.yaml:5:7: spec: expected a mapping, got a sequence");
}

static void
test_slug_rule(void **state)
{
	static const char *const bad[] = {
	    "Acme", "-acme", "acme-", "a--b", "a_b", "\"\"", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *text = xasprintf("apiVersion: vibn/v1\nkind: Workspace\nmetadata:\n  name: "
		                       "%s\nspec: {owner: al}\n",
		                       bad[i]);
		char *got = parse(text, strlen(text), NULL);

		assert_non_null(strstr(got, "t.yaml:4:9: metadata.name: invalid workspace name"));
		assert_non_null(strstr(got, "at most 32 characters"));
		free(got);
		free(text);
	}
	assert_true(names_valid_slug("a"));
	assert_true(names_valid_slug("a-1-b"));
	assert_true(names_valid_slug("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void
test_repo_and_app_name_rules(void **state)
{
	static const char *const bad[] = {"web.git", "web.wiki", "x.rss", "x.ATOM", "a..b",
	                                  "-",       ".",        "a b",   "a/b",    "é"};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *text =
		    xasprintf(HEAD "spec:\n  owner: al\n  repos:\n    - name: \"%s\"\n", bad[i]);
		char *got = parse(text, strlen(text), NULL);

		if (strstr(got, "t.yaml:8:13: spec.repos[0].name: invalid repo name") == NULL)
			fail_msg("%s: %s", bad[i], got);
		free(got);
		free(text);
	}
	assert_false(names_valid_repo_name(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaa"));
	assert_true(names_valid_repo_name("My_repo.v2-x"));
	expect_has(
	    HEAD "spec:\n  owner: al\n  repos: [{name: web}]\n  apps: [{name: x.git, "
	         "repo: web}]\n",
	    "t.yaml:8:17: spec.apps[0].name: invalid app name \"x.git\": letters, digits, "
	    "'-', '_' and '.' (no \"..\"), at most 100 characters, not \".\" or \"-\", and not "
	    "ending in .git, .wiki, .rss or .atom");
}

static void
test_usernames(void **state)
{
	expect_has(HEAD "spec:\n  owner: -al\n",
	           "t.yaml:6:10: spec.owner: invalid owner \"-al\": "
	           "Gitea user names are letters, digits and single "
	           "'-', '_' or '.' between them, starting with a "
	           "letter or digit, at most 40 characters, and not a "
	           "reserved name");
	assert_false(names_valid_username("a..b"));
	assert_false(names_valid_username("ab_"));
	assert_false(names_valid_username("api"));
	assert_false(names_valid_username("bob.keys"));
	assert_true(names_valid_username("bob.smith-2"));
	assert_false(names_valid_username("OpenAPI3.v1.json"));
	assert_false(names_valid_username("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 41 */
}

/* One list for the manifests and vibn-sim: what matched is reported for the sim's message. */
static void
test_gitea_reserved_names(void **state)
{
	const char *pattern = "unset";

	assert_true(names_gitea_user_reserved("Ghost", &pattern));
	assert_null(pattern);
	assert_true(names_gitea_user_reserved("bob.PNG", &pattern));
	assert_string_equal(pattern, "*.png");
	assert_false(names_gitea_user_reserved("bob", &pattern));
	assert_null(pattern);
	assert_true(names_gitea_repo_reserved("-", &pattern));
	assert_null(pattern);
	assert_true(names_gitea_repo_reserved("site.Wiki", &pattern));
	assert_string_equal(pattern, "*.wiki");
	assert_false(names_gitea_repo_reserved("wiki", NULL));
	assert_true(names_gitea_username_chars("a.b-c_d"));
	assert_false(names_gitea_username_chars("_ab"));
}

static void
test_roles_and_duplicate_members(void **state)
{
	expect_one(
	    HEAD "spec:\n  owner: al\n  members:\n    - {user: bob, role: boss}\n",
	    "t.yaml:8:25: spec.members[0].role: invalid role \"boss\" (expected owner, admin "
	    "or member)");
	expect_one(HEAD "spec:\n  owner: al\n  members:\n    - {user: bob, role: Admin}\n",
	           "t.yaml:8:25: spec.members[0].role: invalid role \"Admin\" (expected owner, "
	           "admin or member); did you mean \"admin\"?");
	expect_one(HEAD "spec:\n  owner: al\n  members:\n    - {user: bob}\n    - {user: BOB, "
	                "role: admin}\n",
	           "t.yaml:9:14: spec.members[1].user: duplicate member \"BOB\" (first at line 8, "
	           "column 14)");
	expect_one(HEAD "spec:\n  owner: al\n  members:\n    - {user: al, role: admin}\n",
	           "t.yaml:8:24: spec.members[0].role: \"al\" is the workspace owner; list the "
	           "owner with role owner, or not at all");
	/* No role at all (it defaults to member): the error points at the user. */
	expect_one(HEAD "spec:\n  owner: al\n  members:\n    - {user: al}\n",
	           "t.yaml:8:14: spec.members[0].user: \"al\" is the workspace owner; list the "
	           "owner with role owner, or not at all");
}

static void
test_duplicate_repos_and_apps(void **state)
{
	expect_one(HEAD "spec:\n  owner: al\n  repos:\n    - {name: web}\n    - {name: Web}\n",
	           "t.yaml:9:14: spec.repos[1].name: duplicate repo \"Web\" (first at line 8, "
	           "column 14; repo names are unique regardless of case)");
	expect_one(HEAD "spec:\n  owner: al\n  repos: [{name: web}]\n  apps:\n    - {name: a, "
	                "repo: web}\n    - {name: A, repo: web}\n",
	           "t.yaml:10:14: spec.apps[1].name: duplicate app \"A\" (first at line 9, column "
	           "14; app names are unique regardless of case)");
}

static void
test_app_repo_must_be_declared(void **state)
{
	expect_one(HEAD "spec:\n  owner: al\n  repos: [{name: web}]\n  apps:\n    - {name: a, "
	                "repo: api}\n",
	           "t.yaml:9:23: spec.apps[0].repo: repo \"api\" is not declared in spec.repos");
}

static void
test_ports_and_build_pack(void **state)
{
	static const char *const bad[] = {
	    "\"\"",          "\"0\"",         "\"65536\"", "\"3000,\"",
	    "\"3000 8080\"", "\"3000,3000\"", "\"-1\"",    "abc"};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *text = xasprintf(HEAD "spec:\n  owner: al\n  repos: [{name: w}]\n  apps:\n"
		                            "    - name: a\n      repo: w\n      ports: %s\n",
		                       bad[i]);
		char *got = parse(text, strlen(text), NULL);

		if (strstr(got, "t.yaml:11:14: spec.apps[0].ports: invalid ports") == NULL)
			fail_msg("%s: %s", bad[i], got);
		free(got);
		free(text);
	}
	assert_true(mf_spec_valid_ports("3000"));
	assert_true(mf_spec_valid_ports("3000,8080"));
	assert_true(mf_spec_valid_ports("1,65535"));
	expect_one(HEAD "spec:\n  owner: al\n  repos: [{name: w}]\n  apps: [{name: a, repo: w, "
	                "buildPack: heroku}]\n",
	           "t.yaml:8:40: spec.apps[0].buildPack: unknown build pack \"heroku\" (one of "
	           "nixpacks, railpack, static, dockerfile, dockercompose)");
	expect_one(HEAD "spec:\n  owner: al\n  repos: [{name: w, defaultBranch: \"a..b\"}]\n",
	           "t.yaml:7:36: spec.repos[0].defaultBranch: \"a..b\" is not a valid git branch "
	           "name");
}

static void
test_deletion_policy(void **state)
{
	expect_one(HEAD "spec:\n  owner: al\n  deletionPolicy: delete\n",
	           "t.yaml:7:19: spec.deletionPolicy: invalid deletionPolicy \"delete\" (expected "
	           "Orphan or Delete); did you mean \"Delete\"?");
	expect_one(HEAD "spec:\n  owner: al\n  deletionPolicy: Retain\n",
	           "t.yaml:7:19: spec.deletionPolicy: invalid deletionPolicy \"Retain\" (expected "
	           "Orphan or Delete)");
}

static void
test_all_errors_reported_in_order(void **state)
{
	const char *text = HEAD "spec:\n  owner: al\n  paused: 2\n  members: [{user: b, role: x}]\n"
	                        "  deletionPolicy: never\n";
	char *got = parse(text, strlen(text), NULL);

	assert_string_equal(got,
	                    "t.yaml:7:11: spec.paused: expected a boolean (true or false), "
	                    "got a number\n"
	                    "t.yaml:8:29: spec.members[0].role: invalid role \"x\" (expected "
	                    "owner, admin or member)\n"
	                    "t.yaml:9:19: spec.deletionPolicy: invalid deletionPolicy \"never\" "
	                    "(expected Orphan or Delete)\n");
	free(got);
}

static void
test_several_documents(void **state)
{
	const char *text = HEAD "spec: {owner: al}\n---\n" HEAD "spec: {owner: bo}\n";
	const char *bad = HEAD "spec: {owner: al}\n---\napiVersion: vibn/v1\nkind: Workspace\n"
	                       "metadata: {name: b}\nspec: {owner: al, paused: 3}\n";
	size_t n;
	char *got;

	/* Two documents, one slug: the second is named at its metadata.name. */
	got = parse(text, strlen(text), &n);
	assert_string_equal(got, "t.yaml:10:9: workspace \"acme\" is declared twice (first at "
	                         "t.yaml:4:9)\n");
	free(got);
	got = parse(bad, strlen(bad), &n);
	assert_string_equal(got, "t.yaml:10:27: spec.paused: expected a boolean (true or false), "
	                         "got a number\n");
	free(got);
	/* Empty documents between separators are skipped. */
	{
		const char *text2 = HEAD "spec: {owner: al}\n---\n---\n# only a comment\n";

		got = parse(text2, strlen(text2), &n);
		assert_string_equal(got, "");
		assert_int_equal(n, 1);
		free(got);
	}
}

static void
test_empty_files(void **state)
{
	expect_one("", "t.yaml:1:1: empty file: no YAML document");
	expect_one("\n  \n", "t.yaml:1:1: empty file: no YAML document");
	expect_one("# nothing here\n---\n",
	           "t.yaml:1:1: empty file: no YAML document (only comments or \"---\")");
}

static void
test_tabs(void **state)
{
	expect_one(HEAD "spec:\n\towner: al\n",
	           "t.yaml:6:1: tab character in indentation (YAML indents with spaces only)");
	/* Each indented line is reported. */
	{
		const char *text = HEAD "spec:\n \towner: al\n\tpaused: true\n";
		char *got = parse(text, strlen(text), NULL);

		assert_string_equal(got, "t.yaml:6:2: tab character in indentation (YAML indents "
		                         "with spaces only)\n"
		                         "t.yaml:7:1: tab character in indentation (YAML indents "
		                         "with spaces only)\n");
		free(got);
	}
}

static void
test_duplicate_keys(void **state)
{
	expect_one(HEAD "spec:\n  owner: al\n  owner: bo\n",
	           "t.yaml:7:3: duplicate key \"owner\" (first at line 6, column 3)");
	expect_one(HEAD "spec: {owner: al, repos: [{name: a, name: b}]}\n",
	           "t.yaml:5:37: duplicate key \"name\" (first at line 5, column 28)");
}

static void
test_non_utf8_and_nul(void **state)
{
	const char latin1[] = "apiVersion: vibn/v1\nkind: Workspace\nmetadata:\n  name: caf\xe9\n";
	const char nul[] = "apiVersion: vibn/v1\nki\0nd: Workspace\n";
	const char overlong[] = "a: \xc0\xaf\n";
	char *got;

	got = parse(latin1, sizeof latin1 - 1, NULL);
	assert_string_equal(got, "t.yaml:4:12: not valid UTF-8 (byte 0xe9 at offset 57); "
	                         "manifests must be UTF-8 text\n");
	free(got);
	got = parse(nul, sizeof nul - 1, NULL);
	assert_string_equal(got, "t.yaml:2:3: NUL byte (byte 0x00 at offset 22); manifests must "
	                         "be UTF-8 text\n");
	free(got);
	got = parse(overlong, sizeof overlong - 1, NULL);
	assert_non_null(strstr(got, "t.yaml:1:4: not valid UTF-8 (byte 0xc0"));
	free(got);
	/* Multi-byte text is fine, and columns count characters. */
	expect_one(HEAD "spec:\n  displayName: \"Café ünïcode\"\n  owner: [x]\n",
	           "t.yaml:7:10: spec.owner: expected a string, got a sequence");
}

static void
test_alias_bomb(void **state)
{
	struct buf b;
	char *got;

	/* The billion laughs: ten levels of ten aliases each. */
	buf_init(&b);
	buf_puts(&b, "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (int i = 1; i < 10; i++)
		buf_printf(
		    &b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
		    i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	got = parse(b.data, b.len, NULL);
	assert_non_null(strstr(got, "document has more than 50000 nodes (aliases expanded); is an "
	                            "alias expanding without bound?"));
	assert_ptr_equal(strchr(got, '\n'), got + strlen(got) - 1); /* one error, not many */
	free(got);
	buf_free(&b);
	/* A few aliases are fine (and resolve to copies). */
	expect_one("apiVersion: vibn/v1\nkind: Workspace\nmetadata: {name: &n acme}\n"
	           "spec: {owner: *n, paused: *n}\n",
	           "t.yaml:4:27: spec.paused: expected a boolean (true or false), got a string");
	expect_one(HEAD "spec: {owner: *nope}\n", "t.yaml:5:15: unknown alias \"nope\"");
}

static void
test_caps(void **state)
{
	struct buf b;
	char *got;

	/* A document over the size cap. */
	buf_init(&b);
	buf_puts(&b, HEAD "spec:\n  owner: al\n  displayName: \"");
	for (size_t i = 0; i < MF_YAML_MAX_DOC; i += 8)
		buf_puts(&b, "xxxxxxxx");
	buf_puts(&b, "\"\n");
	got = parse(b.data, b.len, NULL);
	assert_non_null(strstr(got, "document is larger than 1048576 characters"));
	free(got);
	buf_free(&b);
	/* Nesting past the depth cap. */
	buf_init(&b);
	for (int i = 0; i < 100; i++)
		buf_putc(&b, '[');
	got = parse(b.data, b.len, NULL);
	assert_non_null(strstr(got, "t.yaml:1:65: nesting deeper than 64 levels"));
	free(got);
	buf_free(&b);
	/* Tags and merge keys are refused plainly. */
	expect_one(HEAD "spec: !!map {owner: al}\n",
	           "t.yaml:5:7: YAML tags (\"tag:yaml.org,2002:map\") are not supported");
	expect_has(HEAD "spec:\n  <<: {owner: al}\n", "t.yaml:6:3: spec: merge keys (<<) are not "
	                                              "supported");
}

static void
test_syntax_error(void **state)
{
	expect_one(HEAD "spec:\n  owner: al\n members: []\n",
	           "t.yaml:7:2: YAML syntax error: did not find expected key while parsing a block "
	           "mapping (line 1, column 1)");
}

static void
test_examples_are_valid(void **state)
{
	const char *paths[] = {"manifests/examples"};
	struct mf_set set;
	struct mf_diags d;
	int rc;

	mf_spec_set_init(&set);
	mf_diag_init(&d);
	rc = mf_load_paths(paths, 1, &set, &d);
	if (rc != 0)
		mf_diag_print(&d, stderr);
	assert_int_equal(rc, 0);
	/* prune/a.yaml (2 documents), prune/b.yaml, single.yaml, team.yaml: in path order. */
	assert_int_equal(set.n, 5);
	assert_string_equal(set.v[0].slug, "prune-a");
	assert_string_equal(set.v[2].slug, "prune-c");
	assert_string_equal(set.v[3].slug, "solo");
	assert_string_equal(set.v[4].slug, "acme");
	assert_int_equal(set.v[4].nmembers, 3);
	assert_string_equal(set.v[4].apps[1].branch, "trunk");
	mf_spec_set_free(&set);
	mf_diag_free(&d);
}

static void
test_missing_path_and_empty_dir(void **state)
{
	const char *paths[] = {"tests/unit/no-such-file.yaml", "tests/unit"};
	struct mf_set set;
	struct mf_diags d;
	char *a, *b;

	mf_spec_set_init(&set);
	mf_diag_init(&d);
	assert_int_equal(mf_load_paths(paths, 2, &set, &d), -1);
	assert_int_equal(d.n, 2);
	a = mf_diag_format(&d.v[0]);
	b = mf_diag_format(&d.v[1]);
	assert_string_equal(a, "tests/unit/no-such-file.yaml: No such file or directory");
	assert_string_equal(b, "tests/unit: no *.yaml or *.yml files in this directory");
	free(a);
	free(b);
	assert_int_equal(set.n, 0);
	mf_diag_free(&d);
}

static void
test_suggest(void **state)
{
	static const char *const c[] = {"displayName", "owner", "members"};

	assert_string_equal(mf_spec_suggest("DisplayName", c, 3), "displayName");
	assert_string_equal(mf_spec_suggest("ownr", c, 3), "owner");
	assert_null(mf_spec_suggest("xyz", c, 3));
	assert_null(mf_spec_suggest("a", c, 3));
}

static void
test_diff_unified(void **state)
{
	char *d = mf_diff_unified("a", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "b",
	                          "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n11\n");

	/* Changes within twice the context share a hunk. */
	assert_string_equal(d,
	                    "--- a\n+++ b\n"
	                    "@@ -2,9 +2,10 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n 9\n 10\n+11\n");
	free(d);
	d = mf_diff_unified("a", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "b",
	                    "1\nTWO\n3\n4\n5\n6\n7\n8\n9\n10\n11\n");
	assert_string_equal(d, "--- a\n+++ b\n"
	                       "@@ -1,5 +1,5 @@\n 1\n-2\n+TWO\n 3\n 4\n 5\n"
	                       "@@ -9,4 +9,3 @@\n 9\n 10\n 11\n-12\n");
	free(d);
	assert_null(mf_diff_unified("a", "x\n", "b", "x\n"));
	d = mf_diff_unified("/dev/null", NULL, "b", "x\ny\n");
	assert_string_equal(d, "--- /dev/null\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n");
	free(d);
}

static void
test_diff_render_quotes(void **state)
{
	char user[] = "al", role[] = "owner", web[] = "web", yes[] = "yes", main_[] = "main",
	     stat[] = "static", ports[] = "3000", slug[] = "acme", dn[] = "Acme: \"Inc\"",
	     orphan[] = "Orphan", inf[] = ".inf", hex[] = "0x1F";
	struct mf_member m = {.user = user, .role = role};
	struct mf_repo r = {.name = web, .private = 1, .description = yes, .default_branch = main_};
	struct mf_app a = {
	    .name = web, .repo = web, .branch = main_, .build_pack = stat, .ports = ports};
	struct mf_workspace w = {.slug = slug,
	                         .display_name = dn,
	                         .owner = user,
	                         .deletion_policy = orphan,
	                         .members = &m,
	                         .nmembers = 1,
	                         .repos = &r,
	                         .nrepos = 1,
	                         .apps = &a,
	                         .napps = 1};
	char *s = mf_diff_render(&w);

	assert_non_null(strstr(s, "  displayName: \"Acme: \\\"Inc\\\"\"\n"));
	assert_non_null(strstr(s, "    description: \"yes\"\n"));
	assert_non_null(strstr(s, "    ports: \"3000\"\n"));
	free(s);
	/* Read plain, these would come back as numbers. */
	r.description = inf;
	a.branch = hex;
	s = mf_diff_render(&w);
	assert_non_null(strstr(s, "    description: \".inf\"\n"));
	assert_non_null(strstr(s, "    branch: \"0x1F\"\n"));
	free(s);
	assert_true(mf_yaml_needs_quotes("0o17"));
	assert_true(mf_yaml_needs_quotes("NULL"));
	assert_true(mf_yaml_needs_quotes(""));
	assert_false(mf_yaml_needs_quotes("main"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_minimal_and_defaults),
	    cmocka_unit_test(test_app_branch_defaults_to_repo_default_branch),
	    cmocka_unit_test(test_api_version_and_kind),
	    cmocka_unit_test(test_missing_required),
	    cmocka_unit_test(test_unknown_fields_with_suggestion),
	    cmocka_unit_test(test_types),
	    cmocka_unit_test(test_slug_rule),
	    cmocka_unit_test(test_repo_and_app_name_rules),
	    cmocka_unit_test(test_usernames),
	    cmocka_unit_test(test_gitea_reserved_names),
	    cmocka_unit_test(test_roles_and_duplicate_members),
	    cmocka_unit_test(test_duplicate_repos_and_apps),
	    cmocka_unit_test(test_app_repo_must_be_declared),
	    cmocka_unit_test(test_ports_and_build_pack),
	    cmocka_unit_test(test_deletion_policy),
	    cmocka_unit_test(test_all_errors_reported_in_order),
	    cmocka_unit_test(test_several_documents),
	    cmocka_unit_test(test_empty_files),
	    cmocka_unit_test(test_tabs),
	    cmocka_unit_test(test_duplicate_keys),
	    cmocka_unit_test(test_non_utf8_and_nul),
	    cmocka_unit_test(test_alias_bomb),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_syntax_error),
	    cmocka_unit_test(test_examples_are_valid),
	    cmocka_unit_test(test_missing_path_and_empty_dir),
	    cmocka_unit_test(test_suggest),
	    cmocka_unit_test(test_diff_unified),
	    cmocka_unit_test(test_diff_render_quotes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
