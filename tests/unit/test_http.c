/* Unit tests for clients/http: response classes, Retry-After parsing, path escaping, the
 * transport options (TLS verification on, redirects off), and the token bucket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "clients/coolify.h"
#include "clients/gitea.h"
#include "clients/http.h"
#include "common/util.h"

static void
test_classify(void **state)
{
	assert_int_equal(http_classify(200, NULL), HTTP_OK);
	assert_int_equal(http_classify(201, NULL), HTTP_OK);
	assert_int_equal(http_classify(204, NULL), HTTP_OK);
	assert_int_equal(http_classify(301, NULL), HTTP_REDIRECTED);
	assert_int_equal(http_classify(307, NULL), HTTP_REDIRECTED);
	assert_int_equal(http_classify(400, "Project has resources"), HTTP_INVALID);
	/* Coolify's 400 for a token whose team is gone. */
	assert_int_equal(http_classify(400, "Invalid token."), HTTP_UNAUTHORIZED);
	assert_int_equal(http_classify(400, NULL), HTTP_INVALID);
	assert_int_equal(http_classify(401, NULL), HTTP_UNAUTHORIZED);
	assert_int_equal(http_classify(403, NULL), HTTP_UNAUTHORIZED);
	assert_int_equal(http_classify(404, NULL), HTTP_NOT_FOUND);
	assert_int_equal(http_classify(408, NULL), HTTP_TRANSIENT);
	assert_int_equal(http_classify(409, NULL), HTTP_CONFLICT);
	assert_int_equal(http_classify(422, "user already exists [name: acme]"), HTTP_CONFLICT);
	assert_int_equal(http_classify(422, "name is invalid [a--b]"), HTTP_INVALID);
	assert_int_equal(http_classify(422, NULL), HTTP_INVALID);
	assert_int_equal(http_classify(429, NULL), HTTP_RATE_LIMITED);
	assert_int_equal(http_classify(500, NULL), HTTP_TRANSIENT);
	assert_int_equal(http_classify(502, NULL), HTTP_TRANSIENT);
	assert_int_equal(http_classify(503, NULL), HTTP_TRANSIENT);
	assert_string_equal(http_class_name(HTTP_RATE_LIMITED), "rate_limited");
	assert_string_equal(http_class_name(HTTP_REDIRECTED), "redirected");
}

static void
test_retry_after(void **state)
{
	char date[64];
	time_t t = time(NULL) + 120;
	struct tm tm;
	long ms;

	assert_int_equal(http_parse_retry_after("2"), 2000);
	assert_int_equal(http_parse_retry_after(" 0"), 0);
	assert_int_equal(http_parse_retry_after("60"), 60000);
	/* Absurd values are capped at an hour. */
	assert_int_equal(http_parse_retry_after("999999999999"), 3600000);
	assert_int_equal(http_parse_retry_after("soon"), -1);
	assert_int_equal(http_parse_retry_after(NULL), -1);
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	ms = http_parse_retry_after(date);
	assert_in_range(ms, 115000, 120000);
	/* A date in the past means "now". */
	assert_int_equal(http_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), 0);
}

static void
test_escape(void **state)
{
	char *e = http_escape("a b/c?d&e=f%g");

	assert_string_equal(e, "a%20b%2Fc%3Fd%26e%3Df%25g");
	free(e);
	e = http_escape("vibn-acme_1.x~");
	assert_string_equal(e, "vibn-acme_1.x~");
	free(e);
}

static void
test_curl_opts_secure_by_default(void **state)
{
	struct http_client_config cfg = {.upstream = "gitea", .base_url = "https://x/api/v1"};
	struct http_client *c = http_client_new(&cfg);
	struct http_curl_opts o;

	http_client_curl_opts(c, &o);
	assert_int_equal(o.ssl_verify_peer, 1);
	assert_int_equal(o.ssl_verify_host, 2);
	assert_int_equal(o.follow_location, 0);
	assert_int_equal(o.no_signal, 1);
	assert_string_equal(o.protocols, "http,https");
	assert_null(o.ca_file);
	assert_int_equal(o.connect_timeout_ms, 5000);
	assert_int_equal(o.timeout_ms, 30000);
	http_client_free(c);

	cfg.ca_file = "/etc/vibn/ca.pem";
	cfg.connect_timeout_ms = 100;
	cfg.timeout_ms = 900;
	c = http_client_new(&cfg);
	http_client_curl_opts(c, &o);
	assert_string_equal(o.ca_file, "/etc/vibn/ca.pem");
	assert_int_equal(o.ssl_verify_peer, 1);
	assert_int_equal(o.connect_timeout_ms, 100);
	assert_int_equal(o.timeout_ms, 900);
	http_client_free(c);
}

static void
test_budget_burst_then_deadline(void **state)
{
	/* Practically no refill: exactly the burst is available. */
	struct http_budget *b = http_budget_new("t", 0.001, 3);
	int64_t nb = 0, now = util_now_ms();

	for (int i = 0; i < 3; i++)
		assert_int_equal(http_budget_take(b, now, &nb), 0);
	assert_int_equal(http_budget_take(b, util_now_ms() + 10, &nb), -1);
	/* The next token is ~1000 s away. */
	assert_true(nb > util_now_ms() + 900000);
	http_budget_free(b);
}

static void
test_budget_waits_for_refill(void **state)
{
	struct http_budget *b = http_budget_new("t", 100, 1);
	int64_t nb = 0, start = util_now_ms();

	assert_int_equal(http_budget_take(b, start, &nb), 0);
	/* The second token comes after ~10 ms: within a 5 s deadline, so it waits. */
	assert_int_equal(http_budget_take(b, start + 5000, &nb), 0);
	assert_int_equal(http_budget_take(b, start + 5000, &nb), 0);
	assert_true(util_now_ms() - start >= 19);
	http_budget_free(b);
}

static void
test_budget_pause(void **state)
{
	struct http_budget *b = http_budget_new("t", 1000, 10);
	int64_t nb = 0, now = util_now_ms();

	http_budget_pause(b, now + 200);
	/* A shorter pause never shortens the longer one. */
	http_budget_pause(b, now + 50);
	assert_true(http_budget_paused_until(b) >= now + 200);
	assert_int_equal(http_budget_take(b, now + 20, &nb), -1);
	assert_true(nb >= now + 200);
	assert_int_equal(http_budget_take(b, now + 5000, &nb), 0);
	assert_true(util_now_ms() >= now + 200);
	assert_int_equal(http_budget_paused_until(b), 0);
	http_budget_free(b);
}

static void
test_budget_constructors(void **state)
{
	/* Coolify: 180/min with a burst of 18, so the 19th immediate take must wait. */
	struct http_budget *b = coolify_budget_new(0);
	int64_t nb = 0, now = util_now_ms();
	int taken = 0;

	while (http_budget_take(b, now, &nb) == 0 && taken < 1000)
		taken++;
	assert_int_equal(taken, COOLIFY_DEFAULT_RPM / 10);
	http_budget_free(b);
	b = gitea_budget_new(0);
	taken = 0;
	while (http_budget_take(b, now, &nb) == 0 && taken < 1000)
		taken++;
	assert_int_equal(taken, GITEA_DEFAULT_RPS);
	http_budget_free(b);
}

static void
test_budget_refused_request_is_rate_limited(void **state)
{
	struct http_budget *b = http_budget_new("t", 0.001, 1);
	struct http_client_config cfg = {.upstream = "coolify",
	                                 .base_url = "http://127.0.0.1:9",
	                                 .budget_wait_ms = 5,
	                                 .budget = b};
	struct http_client *c = http_client_new(&cfg);
	struct http_response r;
	int64_t nb = 0;

	assert_int_equal(http_budget_take(b, util_now_ms(), &nb), 0);
	http_response_init(&r);
	/* Nothing is sent: the budget refuses first. */
	assert_int_equal(http_request(c, "GET", "/projects", NULL, &r), HTTP_RATE_LIMITED);
	assert_int_equal(r.st.status, 0);
	assert_true(r.st.not_before_ms > util_now_ms());
	assert_non_null(strstr(r.st.message, "coolify request budget"));
	http_response_free(&r);
	http_client_free(c);
	http_budget_free(b);
}

/* Answers overtake each other: within one window Remaining only falls, so the lowest one
 * announced stands whatever order the answers come in, less what is still on its way. */
static void
test_window_counts_answers_in_any_order(void **state)
{
	struct http_budget *b = http_budget_new("t", 1000, 1000);
	struct http_window_state ws;
	uint64_t t[4];
	int64_t nb;

	http_budget_follow_window(b, 60000);
	for (int i = 0; i < 4; i++)
		assert_int_equal(
		    http_budget_acquire(b, HTTP_PRIO_INTERACTIVE, util_now_ms() + 1000, &t[i], &nb),
		    0);
	/* The server saw t[0], t[1], t[3], t[2]; their answers come t[1], t[0], t[2]. */
	http_budget_report(b, t[1], &(struct http_window_note){10, 8, 0, -1, 200});
	http_budget_report(b, t[0], &(struct http_window_note){10, 9, 0, -1, 200});
	http_budget_report(b, t[2], &(struct http_window_note){10, 6, 0, -1, 200});
	http_budget_window(b, &ws);
	assert_true(ws.following);
	assert_true(ws.reset_exact);
	assert_int_equal(ws.available, 6 - 1); /* t[3] is still on its way */
	http_budget_report(b, t[3], &(struct http_window_note){10, 7, 0, -1, 200});
	http_budget_window(b, &ws);
	assert_int_equal(ws.available, 6);
	http_budget_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classify),
	    cmocka_unit_test(test_retry_after),
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_curl_opts_secure_by_default),
	    cmocka_unit_test(test_budget_burst_then_deadline),
	    cmocka_unit_test(test_budget_waits_for_refill),
	    cmocka_unit_test(test_budget_pause),
	    cmocka_unit_test(test_budget_constructors),
	    cmocka_unit_test(test_budget_refused_request_is_rate_limited),
	    cmocka_unit_test(test_window_counts_answers_in_any_order),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	curl_global_cleanup();
	return rc;
}
