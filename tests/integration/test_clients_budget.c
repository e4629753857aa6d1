/* The per-upstream budget across worker threads, against a real bin/vibn-sim: one bucket
 * shared by every worker's client, waiting for tokens within the deadline, a 429 pausing
 * the upstream for every worker until Retry-After, and the simulator's own per-minute limit.
 * Only lower bounds on time are asserted: a slow machine cannot make them fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "clients/coolify.h"
#include "common/util.h"
#include "tests/support/simproc.h"

#define ROUTE "GET /api/v1/projects"

static struct simproc *sim;

struct worker {
	pthread_t thread;
	struct http_budget *budget;
	long budget_wait_ms;
	int requests;
	int ok, limited, unsent, other;
	int64_t done_ms;
	int64_t not_before_ms;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct coolify_config cfg = {.url = sim->coolify_url,
	                             .token = "coolify-token",
	                             .budget_wait_ms = w->budget_wait_ms,
	                             .budget = w->budget};
	struct coolify *c = coolify_new(&cfg);

	for (int i = 0; i < w->requests; i++) {
		struct coolify_projects list = {0};
		struct http_status st;
		enum http_class cls = coolify_project_list(c, &list, &st);

		coolify_projects_free(&list);
		if (cls == HTTP_OK) {
			w->ok++;
		} else if (cls == HTTP_RATE_LIMITED) {
			w->limited++;
			w->unsent += st.status == 0;
			w->not_before_ms = st.not_before_ms;
		} else {
			w->other++;
		}
	}
	w->done_ms = util_now_ms();
	coolify_free(c);
	return NULL;
}

static void
run_workers(struct worker *w, int n)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(pthread_create(&w[i].thread, NULL, worker_main, &w[i]), 0);
	for (int i = 0; i < n; i++)
		pthread_join(w[i].thread, NULL);
}

static int
group_setup(void **state)
{
	sim = simproc_start(NULL);
	return 0;
}

static int
group_teardown(void **state)
{
	return simproc_stop(sim) == 0 ? 0 : -1;
}

static int
setup(void **state)
{
	simproc_reset(sim);
	return 0;
}

static void
test_bucket_shared_by_workers(void **state)
{
	/* Five tokens, practically no refill, four workers with three requests each. */
	struct http_budget *b = http_budget_new("coolify", 0.001, 5);
	struct worker w[4];
	int ok = 0, limited = 0, unsent = 0;

	for (int i = 0; i < 4; i++)
		w[i] = (struct worker){.budget = b, .budget_wait_ms = 1, .requests = 3};
	run_workers(w, 4);
	for (int i = 0; i < 4; i++) {
		ok += w[i].ok;
		limited += w[i].limited;
		unsent += w[i].unsent;
		assert_int_equal(w[i].other, 0);
	}
	assert_int_equal(ok, 5);
	assert_int_equal(limited, 7);
	assert_int_equal(unsent, 7);
	/* Exactly five requests reached the upstream. */
	assert_int_equal(simproc_counter(sim, "coolify", ROUTE), 5);
	http_budget_free(b);
}

static void
test_workers_wait_for_tokens(void **state)
{
	/* 20 per second, burst 1: twelve requests need at least 11/20 s. */
	struct http_budget *b = http_budget_new("coolify", 20, 1);
	struct worker w[3];
	int64_t start = util_now_ms(), last = 0;

	for (int i = 0; i < 3; i++)
		w[i] = (struct worker){.budget = b, .budget_wait_ms = 10000, .requests = 4};
	run_workers(w, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(w[i].ok, 4);
		if (w[i].done_ms > last)
			last = w[i].done_ms;
	}
	assert_true(last - start >= 550);
	assert_int_equal(simproc_counter(sim, "coolify", ROUTE), 12);
	http_budget_free(b);
}

static void
test_retry_after_pauses_every_worker(void **state)
{
	struct http_budget *b = http_budget_new("coolify", 1000, 100);
	struct worker first = {.budget = b, .budget_wait_ms = 100, .requests = 1};
	struct worker impatient = {.budget = b, .budget_wait_ms = 100, .requests = 1};
	struct worker patient = {.budget = b, .budget_wait_ms = 10000, .requests = 1};

	simproc_rule(sim,
	             "{\"upstream\":\"coolify\",\"method\":\"GET\",\"path\":\"/api/v1/projects\","
	             "\"count\":1,\"action\":\"status\",\"status\":429,\"retry_after\":\"1\"}");
	run_workers(&first, 1);
	assert_int_equal(first.limited, 1);
	assert_int_equal(first.unsent, 0);
	assert_true(http_budget_paused_until(b) >= first.not_before_ms);

	/* Other workers: one gives up without sending, one waits out the pause. */
	assert_int_equal(pthread_create(&impatient.thread, NULL, worker_main, &impatient), 0);
	assert_int_equal(pthread_create(&patient.thread, NULL, worker_main, &patient), 0);
	pthread_join(impatient.thread, NULL);
	pthread_join(patient.thread, NULL);
	assert_int_equal(impatient.limited, 1);
	assert_int_equal(impatient.unsent, 1);
	assert_true(impatient.not_before_ms >= first.not_before_ms);
	assert_int_equal(patient.ok, 1);
	assert_true(patient.done_ms >= first.not_before_ms);
	/* The 429 and the patient worker's request: nothing during the pause. */
	assert_int_equal(simproc_counter(sim, "coolify", ROUTE), 2);
	http_budget_free(b);
}

static void
test_simulator_limit_is_honoured(void **state)
{
	struct worker w = {.budget = NULL, .budget_wait_ms = 100, .requests = 5};

	/* Without our budget, the simulator's own 3/min limit answers 429 with Retry-After. */
	w.budget = http_budget_new("coolify", 1000, 100);
	simproc_must(sim, "POST", "/_sim/faults",
	             "{\"upstream\":\"coolify\",\"rate_limit_per_minute\":3}");
	run_workers(&w, 1);
	assert_int_equal(w.ok, 3);
	/* The fourth got the 429 and paused the budget; the fifth was never sent. */
	assert_int_equal(w.limited, 2);
	assert_int_equal(w.unsent, 1);
	assert_true(http_budget_paused_until(w.budget) > util_now_ms());
	assert_int_equal(simproc_counter(sim, "coolify", ROUTE), 4);
	simproc_must(sim, "POST", "/_sim/faults",
	             "{\"upstream\":\"coolify\",\"rate_limit_per_minute\":0}");
	http_budget_free(w.budget);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_bucket_shared_by_workers, setup),
	    cmocka_unit_test_setup(test_workers_wait_for_tokens, setup),
	    cmocka_unit_test_setup(test_retry_after_pauses_every_worker, setup),
	    cmocka_unit_test_setup(test_simulator_limit_is_honoured, setup),
	};
	int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);

	curl_global_cleanup();
	return rc;
}
