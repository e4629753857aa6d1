/* Parsing of project requests (POST /api/workspaces/{slug}/projects, MCP create_project)
 * and of the projects' and events' query values: defaults, every rule, the field named in
 * each refusal, 400 versus 422. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/api_parse_project.h"

/* Parses body; on refusal checks the message is one printable line and returns the field
 * (a new string or NULL) through *field. */
static int
parse(const char *body, struct api_project_req *r, char **field)
{
	char *cause = NULL;
	int rc = api_parse_project(body, body ? strlen(body) : 0, r, field, &cause);

	if (rc == 0) {
		assert_null(cause);
		assert_null(*field);
	} else {
		assert_non_null(cause);
		for (const char *c = cause; *c != '\0'; c++)
			assert_true((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f);
		assert_null(r->name);
	}
	free(cause);
	return rc;
}

static void
test_full_body_and_defaults(void **state)
{
	struct api_project_req r;
	char *field = NULL;

	assert_int_equal(parse("{\"name\": \"shop\", \"description\": \"The shop\", \"private\": "
	                       "false, \"app\": {\"buildPack\": \"dockerfile\", \"ports\": "
	                       "\"3000,8080\", \"branch\": \"trunk\"}}",
	                       &r, &field),
	                 0);
	assert_string_equal(r.name, "shop");
	assert_string_equal(r.description, "The shop");
	assert_int_equal(r.private, 0);
	assert_int_equal(r.has_app, 1);
	assert_string_equal(r.build_pack, "dockerfile");
	assert_string_equal(r.ports, "3000,8080");
	assert_string_equal(r.branch, "trunk");
	api_parse_project_free(&r);

	assert_int_equal(parse("{\"name\": \"My_site.v2\", \"app\": {}}", &r, &field), 0);
	assert_string_equal(r.description, "");
	assert_int_equal(r.private, 1);
	assert_int_equal(r.has_app, 1);
	assert_string_equal(r.build_pack, "nixpacks");
	assert_string_equal(r.ports, "3000");
	assert_string_equal(r.branch, "main");
	api_parse_project_free(&r);

	/* app null or absent: a repo only. */
	assert_int_equal(parse("{\"name\": \"docs\", \"app\": null}", &r, &field), 0);
	assert_int_equal(r.has_app, 0);
	assert_null(r.build_pack);
	api_parse_project_free(&r);
	assert_int_equal(parse("{\"name\": \"docs\"}", &r, &field), 0);
	assert_int_equal(r.has_app, 0);
	api_parse_project_free(&r);
}

static void
expect_field(const char *body, int rc, const char *want_field)
{
	struct api_project_req r;
	char *field = NULL;

	assert_int_equal(parse(body, &r, &field), rc);
	if (want_field == NULL)
		assert_null(field);
	else
		assert_string_equal(field, want_field);
	free(field);
}

static void
test_refusals_name_the_field(void **state)
{
	/* Not an object at all: 400. */
	expect_field(NULL, API_PARSE_BAD, NULL);
	expect_field("", API_PARSE_BAD, NULL);
	expect_field("not json", API_PARSE_BAD, NULL);
	expect_field("[1]", API_PARSE_BAD, NULL);
	expect_field("{\"name\": \"a\", \"name\": \"b\"}", API_PARSE_BAD, NULL);
	/* An object with a bad field: 422, naming it. */
	expect_field("{}", API_PARSE_INVALID, "name");
	expect_field("{\"name\": null}", API_PARSE_INVALID, "name");
	expect_field("{\"name\": 7}", API_PARSE_INVALID, "name");
	expect_field("{\"name\": \"..\"}", API_PARSE_INVALID, "name");
	expect_field("{\"name\": \"-\"}", API_PARSE_INVALID, "name");
	expect_field("{\"name\": \"site.git\"}", API_PARSE_INVALID, "name");
	expect_field("{\"name\": \"a b\"}", API_PARSE_INVALID, "name");
	expect_field("{\"name\": \"a\\u0000b\"}", API_PARSE_BAD, NULL); /* jansson: no NUL */
	expect_field("{\"name\": \"x\", \"private\": \"yes\"}", API_PARSE_INVALID, "private");
	expect_field("{\"name\": \"x\", \"description\": 1}", API_PARSE_INVALID, "description");
	expect_field("{\"name\": \"x\", \"description\": \"a\\u0001\"}", API_PARSE_INVALID,
	             "description");
	expect_field("{\"name\": \"x\", \"admin\": true}", API_PARSE_INVALID, "admin");
	expect_field("{\"name\": \"x\", \"\\u00e9\": true}", API_PARSE_INVALID, NULL);
	expect_field("{\"name\": \"x\", \"app\": []}", API_PARSE_INVALID, "app");
	expect_field("{\"name\": \"x\", \"app\": {\"buildPack\": \"heroku\"}}", API_PARSE_INVALID,
	             "app.buildPack");
	expect_field("{\"name\": \"x\", \"app\": {\"ports\": \"0\"}}", API_PARSE_INVALID,
	             "app.ports");
	expect_field("{\"name\": \"x\", \"app\": {\"ports\": 3000}}", API_PARSE_INVALID,
	             "app.ports");
	expect_field("{\"name\": \"x\", \"app\": {\"branch\": \"a..b\"}}", API_PARSE_INVALID,
	             "app.branch");
	expect_field("{\"name\": \"x\", \"app\": {\"domain\": \"x.io\"}}", API_PARSE_INVALID,
	             "app.domain");
}

static void
test_description_limit(void **state)
{
	struct api_project_req r;
	char *field = NULL, *body = malloc(5000);

	/* 2048 characters (two bytes each) are allowed; one more is not. */
	strcpy(body, "{\"name\": \"x\", \"description\": \"");
	for (int i = 0; i < 2048; i++)
		strcat(body, "\xc3\xa9");
	strcat(body, "\"}");
	assert_int_equal(parse(body, &r, &field), 0);
	api_parse_project_free(&r);
	body[strlen(body) - 2] = '\0';
	strcat(body, "e\"}");
	assert_int_equal(parse(body, &r, &field), API_PARSE_INVALID);
	assert_string_equal(field, "description");
	free(field);
	free(body);
}

static void
test_json_arguments_skip_workspace(void **state)
{
	json_t *args = json_pack("{s:s, s:s}", "workspace", "acme", "name", "shop");
	struct api_project_req r;
	char *field = NULL, *cause = NULL;

	assert_int_equal(api_parse_project_json(args, "workspace", &r, &field, &cause), 0);
	assert_string_equal(r.name, "shop");
	api_parse_project_free(&r);
	assert_int_equal(api_parse_project_json(args, NULL, &r, &field, &cause), API_PARSE_INVALID);
	assert_string_equal(field, "workspace");
	free(field);
	free(cause);
	json_decref(args);
}

static void
test_query_values(void **state)
{
	char *cause = NULL;
	long long seq = -1;
	int b = -1;

	assert_int_equal(api_parse_project_seq(NULL, &seq, &cause), 0);
	assert_int_equal(seq, 0);
	assert_int_equal(api_parse_project_seq("42", &seq, &cause), 0);
	assert_int_equal(seq, 42);
	assert_int_equal(api_parse_project_seq("999999999999999999", &seq, &cause), 0);
	for (size_t i = 0; i < 6; i++) {
		static const char *const bad[] = {"", "0", "-1", "+1", "1x", "9999999999999999999"};

		assert_int_equal(api_parse_project_seq(bad[i], &seq, &cause), -1);
		assert_non_null(cause);
		free(cause);
		cause = NULL;
	}
	assert_int_equal(api_parse_project_bool("deleteRepo", NULL, &b, &cause), 0);
	assert_int_equal(b, 0);
	assert_int_equal(api_parse_project_bool("deleteRepo", "true", &b, &cause), 0);
	assert_int_equal(b, 1);
	assert_int_equal(api_parse_project_bool("deleteRepo", "FALSE", &b, &cause), 0);
	assert_int_equal(b, 0);
	assert_int_equal(api_parse_project_bool("deleteRepo", "yes", &b, &cause), -1);
	assert_non_null(strstr(cause, "deleteRepo"));
	free(cause);
	assert_true(api_parse_project_id("8d0f6a2e-7d40-4a7e-9e63-0c5e7b7d8a11"));
	assert_true(api_parse_project_id("p1"));
	assert_false(api_parse_project_id(""));
	assert_false(api_parse_project_id(NULL));
	assert_false(api_parse_project_id("a b"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_body_and_defaults),
	    cmocka_unit_test(test_refusals_name_the_field),
	    cmocka_unit_test(test_description_limit),
	    cmocka_unit_test(test_json_arguments_skip_workspace),
	    cmocka_unit_test(test_query_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
