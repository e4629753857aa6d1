/* Webhook signatures (both header forms, constant-time) and payload parsing as Gitea sends it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/util.h"
#include "api/webhook.h"

static const char body[] =
    "{\"action\":\"deleted\",\"repository\":{\"id\":7,\"name\":\"web\",\"full_name\":"
    "\"vibn-acme/web\",\"owner\":{\"id\":3,\"login\":\"vibn-acme\",\"username\":"
    "\"vibn-acme\"},\"private\":true},\"organization\":{\"id\":3,\"login\":\"vibn-acme\","
    "\"username\":\"vibn-acme\"},\"sender\":{\"id\":1,\"login\":\"alice\"}}";

static void
test_verify_gitea_and_hub_headers(void **state)
{
	char sig[65], hub[80], upper[65];

	util_hmac_sha256_hex("s3cret", 6, body, strlen(body), sig);
	assert_true(webhook_verify("s3cret", body, strlen(body), sig, NULL));
	snprintf(hub, sizeof hub, "sha256=%s", sig);
	assert_true(webhook_verify("s3cret", body, strlen(body), NULL, hub));
	/* Hex case does not matter. */
	for (int i = 0; i < 65; i++)
		upper[i] = (char)(sig[i] >= 'a' && sig[i] <= 'f' ? sig[i] - 32 : sig[i]);
	assert_true(webhook_verify("s3cret", body, strlen(body), upper, NULL));
}

static void
test_verify_rejects(void **state)
{
	char sig[65];

	util_hmac_sha256_hex("s3cret", 6, body, strlen(body), sig);
	assert_false(webhook_verify("other", body, strlen(body), sig, NULL));
	assert_false(webhook_verify("s3cret", body, strlen(body) - 1, sig, NULL));
	assert_false(webhook_verify("s3cret", body, strlen(body), NULL, NULL));
	assert_false(webhook_verify("s3cret", body, strlen(body), "", "sha256="));
	assert_false(webhook_verify("s3cret", body, strlen(body), "abc", NULL));
	assert_false(webhook_verify("s3cret", body, strlen(body), NULL, sig)); /* no sha256= */
	assert_false(webhook_verify("", body, strlen(body), sig, NULL));
	sig[10] = sig[10] == '0' ? '1' : '0';
	assert_false(webhook_verify("s3cret", body, strlen(body), sig, NULL));
}

static void
test_parse_repository_deleted(void **state)
{
	struct webhook_event ev;
	char *cause = NULL;

	assert_int_equal(webhook_parse("repository", body, strlen(body), &ev, &cause), 0);
	assert_string_equal(ev.event, "repository");
	assert_string_equal(ev.action, "deleted");
	assert_string_equal(ev.org, "vibn-acme");
	assert_string_equal(ev.repo, "web");
	webhook_event_free(&ev);
}

static void
test_parse_falls_back_to_repository_owner(void **state)
{
	const char b[] = "{\"action\":\"created\",\"repository\":{\"name\":\"api\",\"owner\":"
	                 "{\"login\":\"vibn-x\"}}}";
	struct webhook_event ev;
	char *cause = NULL;

	assert_int_equal(webhook_parse(NULL, b, strlen(b), &ev, &cause), 0);
	assert_null(ev.event);
	assert_string_equal(ev.org, "vibn-x");
	webhook_event_free(&ev);
}

static void
test_parse_errors(void **state)
{
	struct webhook_event ev;
	char *cause = NULL;

	assert_int_equal(webhook_parse("push", "{", 1, &ev, &cause), -1);
	assert_non_null(strstr(cause, "invalid JSON"));
	free(cause);
	assert_int_equal(webhook_parse("push", "[1]", 3, &ev, &cause), -1);
	assert_string_equal(cause, "the payload is not a JSON object");
	free(cause);
	assert_int_equal(webhook_parse("push", "{\"a\":1,\"a\":2}", 13, &ev, &cause), -1);
	free(cause);
	/* Unknown fields are fine: nothing to map, no error. */
	assert_int_equal(webhook_parse("push", "{\"sender\":5}", 12, &ev, &cause), 0);
	assert_null(ev.org);
	webhook_event_free(&ev);
}

/* A field we read with the wrong JSON type is a bad payload, not an event to ignore. */
static void
test_parse_wrong_types(void **state)
{
	static const char *const bad[] = {
	    "{\"organization\":5}",
	    "{\"organization\":{\"login\":5}}",
	    "{\"organization\":{\"login\":[\"vibn-acme\"]}}",
	    "{\"organization\":{\"login\":\"vibn-acme\"},\"repository\":{\"name\":true}}",
	    "{\"repository\":\"web\"}",
	    "{\"repository\":{\"owner\":{\"login\":{}}}}",
	    "{\"repository\":{\"owner\":\"x\"}}",
	    "{\"action\":1,\"organization\":{\"login\":\"vibn-acme\"}}",
	    "{\"organization\":{\"login\":\"vibn\\u0000acme\"}}",
	};
	struct webhook_event ev;
	char *cause = NULL;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(webhook_parse("repository", bad[i], strlen(bad[i]), &ev, &cause),
		                 -1);
		assert_non_null(cause);
		assert_null(ev.org);
		free(cause);
		cause = NULL;
	}
	/* null stands for absent, as Gitea sends it for an org-less repository. */
	const char *ok = "{\"organization\":null,\"repository\":{\"owner\":"
	                 "{\"login\":\"vibn-acme\"},\"name\":\"web\"}}";

	assert_int_equal(webhook_parse("repository", ok, strlen(ok), &ev, &cause), 0);
	assert_string_equal(ev.org, "vibn-acme");
	assert_string_equal(ev.repo, "web");
	webhook_event_free(&ev);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_verify_gitea_and_hub_headers),
	    cmocka_unit_test(test_verify_rejects),
	    cmocka_unit_test(test_parse_repository_deleted),
	    cmocka_unit_test(test_parse_falls_back_to_repository_owner),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_parse_wrong_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
