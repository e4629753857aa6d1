/* Parsing of tenant API requests and webhook headers: content types, the POST keys body,
 * page limits, slugs, uuids and delivery ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/names.h"
#include "api/api_parse.h"

static void
test_is_json(void **state)
{
	assert_true(api_parse_is_json("application/json"));
	assert_true(api_parse_is_json("Application/JSON; charset=utf-8"));
	assert_true(api_parse_is_json(" application/json ;charset=utf-8"));
	assert_false(api_parse_is_json(NULL));
	assert_false(api_parse_is_json(""));
	assert_false(api_parse_is_json("application/jsonp"));
	assert_false(api_parse_is_json("application/x-www-form-urlencoded"));
	assert_false(api_parse_is_json("text/json"));
}

static int
key(const char *body, char **name)
{
	char *cause = NULL;
	int rc = api_parse_key_request(body, body ? strlen(body) : 0, name, &cause);

	if (rc == 0)
		assert_null(cause);
	else
		assert_true(cause != NULL && strchr(cause, '\n') == NULL);
	free(cause);
	return rc;
}

static void
test_key_request(void **state)
{
	char *name = NULL;
	char long_name[140];

	assert_int_equal(key("{\"name\": \"laptop\"}", &name), 0);
	assert_string_equal(name, "laptop");
	free(name);
	assert_int_equal(key("{\"name\": \"caf\\u00e9 CI\"}", &name), 0);
	assert_string_equal(name, "caf\xc3\xa9 CI");
	free(name);
	assert_int_equal(key(NULL, &name), -1);
	assert_null(name);
	assert_int_equal(key("", &name), -1);
	assert_int_equal(key("{}", &name), -1);
	assert_int_equal(key("[]", &name), -1);
	assert_int_equal(key("{\"name\": 7}", &name), -1);
	assert_int_equal(key("{\"name\": \"\"}", &name), -1);
	assert_int_equal(key("{\"name\": \"a\\nb\"}", &name), -1);
	assert_int_equal(key("{\"name\": \"a\\u0000b\"}", &name), -1);
	assert_int_equal(key("{\"name\": \"x\", \"workspace\": \"other\"}", &name), -1);
	assert_int_equal(key("{\"name\": \"x\", \"name\": \"y\"}", &name), -1);
	assert_int_equal(key("{\"name\": \"x\"", &name), -1);
	snprintf(long_name, sizeof long_name, "{\"name\": \"%0101d\"}", 0);
	assert_int_equal(key(long_name, &name), -1);
	assert_null(name);
}

static void
test_limit(void **state)
{
	char *cause = NULL;
	long n = 0;

	assert_int_equal(api_parse_limit(NULL, &n, &cause), 0);
	assert_int_equal(n, API_PARSE_PAGE_DEFAULT);
	assert_int_equal(api_parse_limit("1000", &n, &cause), 0);
	assert_int_equal(n, 1000);
	for (const char *const *bad =
	         (const char *const[]){"0", "1001", "-1", "", "5x", " 5", NULL};
	     *bad != NULL; bad++) {
		assert_int_equal(api_parse_limit(*bad, &n, &cause), -1);
		assert_non_null(cause);
		free(cause);
		cause = NULL;
	}
}

static void
test_slug_uuid_delivery(void **state)
{
	assert_true(names_valid_slug("acme"));
	assert_true(names_valid_slug("a-b-9"));
	assert_true(names_valid_slug("abcdefghijabcdefghijabcdefghij12")); /* 32 */
	assert_false(names_valid_slug("abcdefghijabcdefghijabcdefghij123"));
	assert_false(names_valid_slug(""));
	assert_false(names_valid_slug("-a"));
	assert_false(names_valid_slug("a-"));
	assert_false(names_valid_slug("a--b"));
	assert_false(names_valid_slug("Acme"));
	assert_false(names_valid_slug("a/b"));
	assert_false(names_valid_slug(NULL));
	assert_true(names_valid_uuid("0b7e5b9a-3c1d-4e2f-8a9b-0c1d2e3f4a5b"));
	assert_false(names_valid_uuid("0b7e5b9a-3c1d-4e2f-8a9b-0c1d2e3f4a5"));
	assert_false(names_valid_uuid("0b7e5b9a03c1d-4e2f-8a9b-0c1d2e3f4a5b"));
	assert_false(names_valid_uuid("zb7e5b9a-3c1d-4e2f-8a9b-0c1d2e3f4a5b"));
	assert_true(api_parse_delivery("0b7e5b9a-3c1d-4e2f-8a9b-0c1d2e3f4a5b"));
	assert_false(api_parse_delivery(""));
	assert_false(api_parse_delivery("a b"));
	assert_false(api_parse_delivery("caf\xc3\xa9"));
	char big[130];
	memset(big, 'a', 129);
	big[129] = '\0';
	assert_false(api_parse_delivery(big));
	big[128] = '\0';
	assert_true(api_parse_delivery(big));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_is_json),
	    cmocka_unit_test(test_key_request),
	    cmocka_unit_test(test_limit),
	    cmocka_unit_test(test_slug_uuid_delivery),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
