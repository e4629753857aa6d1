/* The per-upstream budget across worker threads, against a real bin/vibn-sim: one bucket
 * shared by every worker's client, waiting for tokens within the deadline, a 429 pausing
 * the upstream for every worker until Retry-After, and the simulator's own per-minute limit;
 * Coolify's announced window followed (a burst spends the whole window without a 429, a
 * spent window makes every worker wait for its end, two processes sharing one token stop
 * together, background work leaves a tenth of it to interactive work). Only lower bounds
 * on time are asserted: a slow machine cannot make them fail. */
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
	int max_retries; /* 0: the client's default */
	enum http_priority prio;
	int requests;
	int ok, limited, unsent, too_many, other;
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
	                             .max_retries = w->max_retries,
	                             .budget = w->budget};
	struct coolify *c = coolify_new(&cfg);

	http_client_set_priority(coolify_http(c), w->prio);
	for (int i = 0; i < w->requests; i++) {
		struct coolify_projects list = {0};
		struct http_status st;
		enum http_class cls = coolify_project_list(c, &list, &st);

		coolify_projects_free(&list);
		if (cls == HTTP_OK) {
			w->ok++;
		} else if (cls == HTTP_RATE_LIMITED) {
			w->too_many += st.status == 429;
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
	/* The first is not retried (a 429 with a short Retry-After would be), to see the 429. */
	struct worker first = {
	    .budget = b, .budget_wait_ms = 100, .max_retries = -1, .requests = 1};
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

static void
set_window(int per_minute)
{
	char body[96];

	snprintf(body, sizeof body, "{\"upstream\":\"coolify\",\"rate_limit_per_minute\":%d}",
	         per_minute);
	simproc_must(sim, "POST", "/_sim/faults", body);
}

static void
test_window_burst_spends_the_whole_window(void **state)
{
	/* Coolify's default 200/min: 120 requests at once from 8 workers all go, none is
	 * refused; the budget's own bucket (180/min: a burst of 18, then 3/s) would have
	 * taken 34 s. */
	struct http_budget *b = coolify_budget_new(180);
	struct http_window_state ws;
	struct worker w[8];
	int ok = 0, too_many = 0;

	set_window(200);
	for (int i = 0; i < 8; i++)
		w[i] = (struct worker){.budget = b, .budget_wait_ms = 10000, .requests = 15};
	run_workers(w, 8);
	for (int i = 0; i < 8; i++) {
		ok += w[i].ok;
		too_many += w[i].too_many;
		assert_int_equal(w[i].other, 0);
	}
	assert_int_equal(ok, 120);
	assert_int_equal(too_many, 0);
	http_budget_window(b, &ws);
	assert_true(ws.following);
	assert_int_equal(ws.limit, 200);
	assert_int_equal(ws.available, 80);
	/* The first request opened the window: its end is known, about a minute away. */
	assert_true(ws.reset_exact);
	assert_in_range(ws.reset_in_ms, 50000, 61000);
	http_budget_free(b);
}

static void
test_window_spent_waits_for_its_end(void **state)
{
	struct http_budget *b = coolify_budget_new(180);
	struct worker first = {.budget = b, .budget_wait_ms = 10000, .requests = 30};
	struct worker more = {.budget = b, .budget_wait_ms = 100, .requests = 2};
	int64_t now;

	set_window(30);
	run_workers(&first, 1);
	assert_int_equal(first.ok, 30);
	/* Spent: nothing more is sent, the budget says when the window ends. */
	now = util_now_ms();
	run_workers(&more, 1);
	assert_int_equal(more.limited, 2);
	assert_int_equal(more.unsent, 2);
	assert_int_equal(more.too_many, 0);
	assert_in_range(more.not_before_ms, now + 50000, now + 62000);
	assert_int_equal(simproc_counter(sim, "coolify", ROUTE), 30);
	http_budget_free(b);
}

static void
test_window_no_longer_announced_hands_back_to_the_bucket(void **state)
{
	/* The operator turns the limit off: the next answer carries no window, and the bucket
	 * (here 6000/min) is the budget again at once, not when the announcement goes stale. */
	struct http_budget *b = coolify_budget_new(6000);
	struct worker first = {.budget = b, .budget_wait_ms = 100, .requests = 10};
	struct worker after = {.budget = b, .budget_wait_ms = 100, .requests = 60};
	struct http_window_state ws;

	set_window(50);
	run_workers(&first, 1);
	assert_int_equal(first.ok, 10);
	http_budget_window(b, &ws);
	assert_true(ws.following);
	assert_int_equal(ws.available, 40);
	set_window(0);
	run_workers(&after, 1);
	assert_int_equal(after.ok, 60);
	assert_int_equal(after.limited, 0);
	http_budget_window(b, &ws);
	assert_false(ws.following);
	http_budget_free(b);
}

static void
test_replicas_sharing_a_token_stop_together(void **state)
{
	/* Two processes, each with its budget, one Coolify user: what one spends the other
	 * sees in Remaining. Together they send exactly the window; at most one 429 each
	 * tells them when it ends, and then both wait. */
	struct http_budget *a = coolify_budget_new(180), *b = coolify_budget_new(180);
	struct worker wa = {.budget = a, .budget_wait_ms = 200, .requests = 25};
	struct worker wb = {.budget = b, .budget_wait_ms = 200, .requests = 25};
	struct worker again = {.budget = a, .budget_wait_ms = 200, .requests = 5};
	int64_t now = util_now_ms();

	set_window(40);
	run_workers(&wa, 1);
	run_workers(&wb, 1);
	run_workers(&again, 1);
	assert_int_equal(wa.ok + wb.ok + again.ok, 40);
	assert_true(wa.too_many + wb.too_many + again.too_many <= 2);
	assert_true(http_budget_paused_until(a) > now || again.unsent == again.limited);
	assert_int_equal(simproc_counter(sim, "coolify", ROUTE),
	                 40 + wa.too_many + wb.too_many + again.too_many);
	http_budget_free(a);
	http_budget_free(b);
}

static void
test_background_leaves_a_tenth_to_interactive(void **state)
{
	struct http_budget *b = coolify_budget_new(180);
	struct worker sweep = {
	    .budget = b, .budget_wait_ms = 100, .prio = HTTP_PRIO_BACKGROUND, .requests = 60};
	struct worker signup = {.budget = b, .budget_wait_ms = 100, .requests = 10};

	set_window(50);
	run_workers(&sweep, 1);
	assert_int_equal(sweep.ok, 45);
	assert_int_equal(sweep.unsent, 15);
	run_workers(&signup, 1);
	assert_int_equal(signup.ok, 5);
	assert_int_equal(signup.unsent, 5);
	assert_int_equal(sweep.too_many + signup.too_many, 0);
	assert_int_equal(simproc_counter(sim, "coolify", ROUTE), 50);
	http_budget_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_bucket_shared_by_workers, setup),
	    cmocka_unit_test_setup(test_workers_wait_for_tokens, setup),
	    cmocka_unit_test_setup(test_retry_after_pauses_every_worker, setup),
	    cmocka_unit_test_setup(test_simulator_limit_is_honoured, setup),
	    cmocka_unit_test_setup(test_window_burst_spends_the_whole_window, setup),
	    cmocka_unit_test_setup(test_window_spent_waits_for_its_end, setup),
	    cmocka_unit_test_setup(test_window_no_longer_announced_hands_back_to_the_bucket, setup),
	    cmocka_unit_test_setup(test_replicas_sharing_a_token_stop_together, setup),
	    cmocka_unit_test_setup(test_background_leaves_a_tenth_to_interactive, setup),
	};
	int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);

	curl_global_cleanup();
	return rc;
}
