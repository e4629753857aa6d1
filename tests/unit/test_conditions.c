/* Conditions: lastTransitionTime moves only with status; a steady state changes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "reconcilers/conditions.h"

static const char *
field(json_t *conds, const char *type, const char *key)
{
	return json_string_value(json_object_get(conditions_find(conds, type), key));
}

static void
test_new_condition_is_a_change(void **state)
{
	json_t *c = json_array();

	assert_int_equal(conditions_set(c, COND_GITEA_ORG, COND_TRUE, "Created", "org vibn-acme", 3,
	                                "2026-01-01T00:00:00Z"),
	                 1);
	assert_string_equal(field(c, COND_GITEA_ORG, "status"), "True");
	assert_string_equal(field(c, COND_GITEA_ORG, "reason"), "Created");
	assert_string_equal(field(c, COND_GITEA_ORG, "lastTransitionTime"), "2026-01-01T00:00:00Z");
	assert_int_equal(json_integer_value(json_object_get(conditions_find(c, COND_GITEA_ORG),
	                                                    "observedGeneration")),
	                 3);
	assert_true(conditions_is_true(c, COND_GITEA_ORG));
	json_decref(c);
}

static void
test_same_values_change_nothing(void **state)
{
	json_t *c = json_array();

	conditions_set(c, COND_READY, COND_TRUE, "Ready", "", 1, "2026-01-01T00:00:00Z");
	assert_int_equal(
	    conditions_set(c, COND_READY, COND_TRUE, "Ready", "", 1, "2026-02-02T00:00:00Z"), 0);
	assert_string_equal(field(c, COND_READY, "lastTransitionTime"), "2026-01-01T00:00:00Z");
	json_decref(c);
}

static void
test_reason_change_keeps_transition_time(void **state)
{
	json_t *c = json_array();

	conditions_set(c, COND_REPOS, COND_TRUE, "Created", "", 1, "2026-01-01T00:00:00Z");
	assert_int_equal(
	    conditions_set(c, COND_REPOS, COND_TRUE, "UpToDate", "", 2, "2026-02-02T00:00:00Z"), 1);
	assert_string_equal(field(c, COND_REPOS, "reason"), "UpToDate");
	assert_string_equal(field(c, COND_REPOS, "lastTransitionTime"), "2026-01-01T00:00:00Z");
	json_decref(c);
}

static void
test_status_change_moves_transition_time(void **state)
{
	json_t *c = json_array();

	conditions_set(c, COND_COOLIFY_PROJECT, COND_TRUE, "Created", "", 1,
	               "2026-01-01T00:00:00Z");
	assert_int_equal(conditions_set(c, COND_COOLIFY_PROJECT, COND_FALSE, "Unauthorized",
	                                "Unauthenticated.", 1, "2026-02-02T00:00:00Z"),
	                 1);
	assert_string_equal(field(c, COND_COOLIFY_PROJECT, "lastTransitionTime"),
	                    "2026-02-02T00:00:00Z");
	assert_string_equal(field(c, COND_COOLIFY_PROJECT, "message"), "Unauthenticated.");
	assert_false(conditions_is_true(c, COND_COOLIFY_PROJECT));
	assert_int_equal(json_array_size(c), 1);
	json_decref(c);
}

static void
test_parse_and_dump_round_trip(void **state)
{
	json_t *c = conditions_parse("not json");
	char *s;

	assert_true(json_is_array(c));
	assert_int_equal(json_array_size(c), 0);
	conditions_set(c, COND_APPS, COND_UNKNOWN, "Pending", "", 1, "2026-01-01T00:00:00Z");
	s = conditions_dump(c);
	json_decref(c);
	c = conditions_parse(s);
	assert_string_equal(field(c, COND_APPS, "status"), "Unknown");
	free(s);
	json_decref(c);
	c = conditions_parse(NULL);
	assert_int_equal(json_array_size(c), 0);
	json_decref(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_condition_is_a_change),
	    cmocka_unit_test(test_same_values_change_nothing),
	    cmocka_unit_test(test_reason_change_keeps_transition_time),
	    cmocka_unit_test(test_status_change_moves_transition_time),
	    cmocka_unit_test(test_parse_and_dump_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
