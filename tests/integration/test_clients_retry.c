/* Retries inside a request (clients/http), against a real bin/vibn-sim: idempotent requests
 * (GET, PUT, PATCH, DELETE) that fail transiently (5xx, a dropped connection, a timeout) are
 * sent again a few times and succeed; a POST is never sent again once it may have reached
 * the upstream (a 5xx, a dropped connection: the reconciler adopts by name), only when the
 * connection could not be made at all; retries stop at the deadline and after the last
 * attempt; each one is counted for the metrics. Only lower bounds on time are asserted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "clients/coolify.h"
#include "clients/gitea.h"
#include "common/util.h"
#include "tests/support/simproc.h"

#define GTOKEN "gitea-token"
#define CTOKEN "coolify-token"

static struct simproc *sim;

/* What the retry observer saw. */
static struct {
	int n;
	char reason[8][16];
	char method[8][8];
} retries;

static void
on_retry(const char *upstream, const char *method, const char *reason)
{
	if (retries.n < 8) {
		snprintf(retries.reason[retries.n], sizeof retries.reason[0], "%s", reason);
		snprintf(retries.method[retries.n], sizeof retries.method[0], "%s", method);
	}
	retries.n++;
}

static struct gitea *
gitea_client(long timeout_ms)
{
	struct gitea_config cfg = {.api_url = sim->gitea_api,
	                           .token = GTOKEN,
	                           .admin_user = "vibn-admin",
	                           .timeout_ms = timeout_ms};

	return gitea_new(&cfg);
}

static struct coolify *
coolify_client(long timeout_ms)
{
	struct coolify_config cfg = {
	    .url = sim->coolify_url, .token = CTOKEN, .timeout_ms = timeout_ms};

	return coolify_new(&cfg);
}

static void
rule(const char *upstream, const char *method, const char *path, int count, const char *action,
     int status)
{
	char text[512];

	snprintf(text, sizeof text,
	         "{\"upstream\":\"%s\",\"method\":\"%s\",\"path\":\"%s\",\"count\":%d,"
	         "\"action\":\"%s\",\"status\":%d}",
	         upstream, method, path, count, action, status);
	simproc_rule(sim, text);
}

static int
group_setup(void **state)
{
	sim = simproc_start(NULL);
	http_set_retry_observer(on_retry);
	return 0;
}

static int
group_teardown(void **state)
{
	http_set_retry_observer(NULL);
	return simproc_stop(sim) == 0 ? 0 : -1;
}

static int
setup(void **state)
{
	simproc_reset(sim);
	memset(&retries, 0, sizeof retries);
	return 0;
}

static void
make_org(const char *name)
{
	char body[128];
	long status;
	json_t *r;

	snprintf(body, sizeof body, "{\"username\":\"%s\"}", name);
	r = simproc_api(sim, "gitea", GTOKEN, "POST", "/admin/users/vibn-admin/orgs", body,
	                &status);
	json_decref(r);
	assert_int_equal(status, 201);
}

static void
test_get_retried_through_5xx_drops_and_timeouts(void **state)
{
	struct gitea *g = gitea_client(300);
	struct gitea_org org = {0};
	struct http_status st;

	make_org("vibn-r");
	/* A dropped connection (the first request: on a fresh connection, which libcurl does
	 * not re-send by itself), a 500, a proxy's 502: three retries, then the answer. */
	rule("gitea", "GET", "/api/v1/orgs/{org}", 1, "drop", 0);
	rule("gitea", "GET", "/api/v1/orgs/{org}", 1, "status", 500);
	rule("gitea", "GET", "/api/v1/orgs/{org}", 1, "status", 502);
	assert_int_equal(gitea_org_get(g, "vibn-r", &org, &st), HTTP_OK);
	assert_string_equal(org.name, "vibn-r");
	gitea_org_free(&org);
	assert_int_equal(simproc_counter(sim, "gitea", "GET /api/v1/orgs/{org}"), 4);
	assert_int_equal(retries.n, 3);
	assert_string_equal(retries.reason[0], "connection");
	assert_string_equal(retries.reason[1], "5xx");
	assert_string_equal(retries.reason[2], "5xx");
	assert_string_equal(retries.method[0], "GET");

	/* A request held until the client's timeout: sent again, and answered. */
	memset(&retries, 0, sizeof retries);
	rule("gitea", "GET", "/api/v1/orgs/{org}", 1, "timeout", 0);
	assert_int_equal(gitea_org_get(g, "vibn-r", &org, &st), HTTP_OK);
	gitea_org_free(&org);
	assert_int_equal(retries.n, 1);
	assert_string_equal(retries.reason[0], "timeout");
	gitea_free(g);
}

static void
test_gives_up_after_the_last_attempt(void **state)
{
	struct coolify *c = coolify_client(0);
	struct coolify_projects list = {0};
	struct http_status st;
	int64_t start = util_now_ms();

	rule("coolify", "GET", "/api/v1/projects", 10, "status", 503);
	assert_int_equal(coolify_project_list(c, &list, &st), HTTP_TRANSIENT);
	assert_int_equal(st.status, 503);
	/* Four attempts (three retries), each after a pause of at least half its base. */
	assert_int_equal(simproc_counter(sim, "coolify", "GET /api/v1/projects"), 4);
	assert_int_equal(retries.n, 3);
	assert_true(util_now_ms() - start >= 50 + 100 + 200);
	coolify_free(c);
}

static void
test_idempotent_writes_retried(void **state)
{
	struct gitea *g = gitea_client(0);
	struct coolify *c = coolify_client(0);
	struct gitea_org_spec patch = {.description = "again"};
	struct http_status st;
	char *uuid = NULL;

	make_org("vibn-w");
	rule("gitea", "PATCH", "/api/v1/orgs/{org}", 1, "status", 500);
	assert_int_equal(gitea_org_edit(g, "vibn-w", &patch, NULL, &st), HTTP_OK);
	assert_int_equal(simproc_counter(sim, "gitea", "PATCH /api/v1/orgs/{org}"), 2);

	assert_int_equal(coolify_project_create(c, "vibn-ws-w", NULL, &uuid, &st), HTTP_OK);
	rule("coolify", "DELETE", "/api/v1/projects/{uuid}", 1, "status", 502);
	assert_int_equal(coolify_project_delete(c, uuid, &st), HTTP_OK);
	assert_int_equal(simproc_counter(sim, "coolify", "DELETE /api/v1/projects/{uuid}"), 2);
	assert_int_equal(retries.n, 2);
	assert_string_equal(retries.method[0], "PATCH");
	assert_string_equal(retries.method[1], "DELETE");
	free(uuid);
	coolify_free(c);
	gitea_free(g);
}

static void
test_post_never_sent_twice_once_it_may_have_arrived(void **state)
{
	struct coolify *c = coolify_client(300);
	struct coolify_projects list = {0};
	struct http_status st;
	char *uuid = NULL;

	/* A 500, a dropped connection, a lost answer, a timeout: one attempt each. */
	rule("coolify", "POST", "/api/v1/projects", 1, "status", 500);
	assert_int_equal(coolify_project_create(c, "vibn-ws-p", NULL, &uuid, &st), HTTP_TRANSIENT);
	rule("coolify", "POST", "/api/v1/projects", 1, "drop", 0);
	assert_int_equal(coolify_project_create(c, "vibn-ws-p", NULL, &uuid, &st), HTTP_TRANSIENT);
	rule("coolify", "POST", "/api/v1/projects", 1, "drop_after", 0);
	assert_int_equal(coolify_project_create(c, "vibn-ws-p", NULL, &uuid, &st), HTTP_TRANSIENT);
	rule("coolify", "POST", "/api/v1/projects", 1, "timeout", 0);
	assert_int_equal(coolify_project_create(c, "vibn-ws-p", NULL, &uuid, &st), HTTP_TRANSIENT);
	assert_null(uuid);
	assert_int_equal(simproc_counter(sim, "coolify", "POST /api/v1/projects"), 4);
	assert_int_equal(retries.n, 0);
	/* Only the one whose answer was lost made a project: no duplicate from a retry. */
	assert_int_equal(coolify_project_list(c, &list, &st), HTTP_OK);
	assert_int_equal(list.n, 1);
	coolify_projects_free(&list);
	coolify_free(c);
}

static void
test_post_retried_when_it_never_left(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct coolify_config cfg = {.token = CTOKEN};
	struct http_status st;
	struct coolify *c;
	char url[64], *uuid = NULL;

	/* A port that was just free and has no listener: the connection is refused, so the
	 * create never reached anyone and may be tried again. */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(sa.sin_port));
	cfg.url = url;
	c = coolify_new(&cfg);
	assert_int_equal(coolify_project_create(c, "vibn-ws-x", NULL, &uuid, &st), HTTP_TRANSIENT);
	assert_int_equal(retries.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(retries.method[i], "POST");
		assert_string_equal(retries.reason[i], "connection");
	}
	coolify_free(c);
}

static void
test_retries_stop_at_the_deadline(void **state)
{
	struct gitea *g = gitea_client(0);
	struct gitea_org org = {0};
	struct http_status st;

	make_org("vibn-d");
	rule("gitea", "GET", "/api/v1/orgs/{org}", 10, "status", 503);
	/* 60 ms left: the first attempt fits, its retry's pause (at least 50 ms) may, the
	 * next (at least 100 ms) cannot. */
	http_client_set_deadline(gitea_http(g), util_now_ms() + 60);
	assert_int_equal(gitea_org_get(g, "vibn-d", &org, &st), HTTP_TRANSIENT);
	assert_true(simproc_counter(sim, "gitea", "GET /api/v1/orgs/{org}") <= 2);
	assert_true(retries.n <= 1);
	gitea_free(g);
}

static void
test_4xx_and_long_429_not_retried(void **state)
{
	struct gitea *g = gitea_client(0);
	struct gitea_org org = {0};
	struct http_status st;

	assert_int_equal(gitea_org_get(g, "vibn-none", &org, &st), HTTP_NOT_FOUND);
	/* A Retry-After longer than a pass should wait inside one request: the queue's. */
	simproc_rule(sim,
	             "{\"upstream\":\"gitea\",\"method\":\"GET\",\"path\":\"/api/v1/orgs/{org}\","
	             "\"count\":1,\"action\":\"status\",\"status\":429,\"retry_after\":\"30\"}");
	assert_int_equal(gitea_org_get(g, "vibn-none", &org, &st), HTTP_RATE_LIMITED);
	assert_int_equal(simproc_counter(sim, "gitea", "GET /api/v1/orgs/{org}"), 2);
	assert_int_equal(retries.n, 0);
	gitea_free(g);
}

/* A 429 is a refusal before anything was done: after a short Retry-After even a create is
 * sent again, once. */
static void
test_short_429_retried_even_for_a_create(void **state)
{
	struct gitea *g = gitea_client(0);
	struct gitea_org_spec spec = {.visibility = "private"};
	struct gitea_org org = {0};
	struct http_status st;

	simproc_rule(sim, "{\"upstream\":\"gitea\",\"method\":\"POST\","
	                  "\"path\":\"/api/v1/admin/users/{username}/orgs\",\"count\":1,"
	                  "\"action\":\"status\",\"status\":429,\"retry_after\":\"1\"}");
	assert_int_equal(gitea_org_create(g, "vibn-late", &spec, NULL, &st), HTTP_OK);
	assert_int_equal(simproc_counter(sim, "gitea", "POST /api/v1/admin/users/{username}/orgs"),
	                 2);
	assert_int_equal(retries.n, 1);
	assert_int_equal(gitea_org_get(g, "vibn-late", &org, &st), HTTP_OK);
	gitea_org_free(&org);
	gitea_free(g);
}

/* A hung request costs about the upstream's usual answer time, not the configured timeout:
 * after quick answers a held GET gives up at the reads' floor (1 s), the next one after
 * twice that, and an answer brings the floor back. (Checked on the timeout each attempt
 * had, which the message names: not on the clock.) */
static void
test_timeouts_follow_the_answer_times(void **state)
{
	struct http_budget *b = gitea_budget_new(1000);
	struct gitea_config cfg = {.api_url = sim->gitea_api,
	                           .token = GTOKEN,
	                           .admin_user = "vibn-admin",
	                           .timeout_ms = 20000,
	                           .max_retries = -1,
	                           .budget = b};
	struct gitea *g = gitea_new(&cfg);
	struct gitea_org org = {0};
	struct http_status st;

	make_org("vibn-t");
	for (int i = 0; i < 5; i++) {
		assert_int_equal(gitea_org_get(g, "vibn-t", &org, &st), HTTP_OK);
		gitea_org_free(&org);
	}
	rule("gitea", "GET", "/api/v1/orgs/{org}", 2, "timeout", 0);
	assert_int_equal(gitea_org_get(g, "vibn-t", &org, &st), HTTP_TRANSIENT);
	assert_non_null(strstr(st.message, "timed out after 1000 ms"));
	assert_int_equal(gitea_org_get(g, "vibn-t", &org, &st), HTTP_TRANSIENT);
	assert_non_null(strstr(st.message, "timed out after 2000 ms"));
	assert_int_equal(gitea_org_get(g, "vibn-t", &org, &st), HTTP_OK);
	gitea_org_free(&org);
	rule("gitea", "GET", "/api/v1/orgs/{org}", 1, "timeout", 0);
	assert_int_equal(gitea_org_get(g, "vibn-t", &org, &st), HTTP_TRANSIENT);
	assert_non_null(strstr(st.message, "timed out after 1000 ms"));
	gitea_free(g);
	http_budget_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_get_retried_through_5xx_drops_and_timeouts, setup),
	    cmocka_unit_test_setup(test_gives_up_after_the_last_attempt, setup),
	    cmocka_unit_test_setup(test_idempotent_writes_retried, setup),
	    cmocka_unit_test_setup(test_post_never_sent_twice_once_it_may_have_arrived, setup),
	    cmocka_unit_test_setup(test_post_retried_when_it_never_left, setup),
	    cmocka_unit_test_setup(test_retries_stop_at_the_deadline, setup),
	    cmocka_unit_test_setup(test_4xx_and_long_429_not_retried, setup),
	    cmocka_unit_test_setup(test_short_429_retried_even_for_a_create, setup),
	    cmocka_unit_test_setup(test_timeouts_follow_the_answer_times, setup),
	};
	int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);

	curl_global_cleanup();
	return rc;
}
