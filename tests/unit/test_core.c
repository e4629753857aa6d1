/* Unit tests for the daemon core's pure parts: backoff and resync jitter math, the
 * settings table and its parsing, the reconciler registry and result helpers, and the
 * metrics exposition format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/buf.h"
#include "controller/config.h"
#include "controller/loop.h"
#include "httpd/metrics.h"
#include "engine/queue.h"
#include "reconcilers/reconciler.h"
#include "engine/resync.h"
#include "common/util.h"

static void
test_backoff_doubles_then_caps(void **state)
{
	/* No jitter (unit 0): exactly base * 2^(n-1), capped. */
	assert_int_equal(queue_backoff_ms(1, 1000, 300000, 0), 1000);
	assert_int_equal(queue_backoff_ms(2, 1000, 300000, 0), 2000);
	assert_int_equal(queue_backoff_ms(3, 1000, 300000, 0), 4000);
	assert_int_equal(queue_backoff_ms(9, 1000, 300000, 0), 256000);
	assert_int_equal(queue_backoff_ms(10, 1000, 300000, 0), 300000);
	assert_int_equal(queue_backoff_ms(1000000, 1000, 300000, 0), 300000);
	assert_int_equal(queue_backoff_ms(0, 1000, 300000, 0), 1000);
	assert_int_equal(queue_backoff_ms(-5, 1000, 300000, 0), 1000);
}

static void
test_backoff_jitter_bounds_and_growth(void **state)
{
	/* With any jitter the delay stays in (0.8 d, d] and still grows strictly until the
	 * cap: the worst case of one step is below the best case of the next. */
	for (int n = 1; n < 40; n++) {
		int64_t lo = queue_backoff_ms(n, 200, 60000, 0.999999);
		int64_t hi = queue_backoff_ms(n, 200, 60000, 0);
		int64_t next_lo = queue_backoff_ms(n + 1, 200, 60000, 0.999999);

		assert_true(lo > hi * 8 / 10 - 1);
		assert_true(lo <= hi);
		assert_true(hi <= 60000);
		if (2 * hi <= 60000) /* the next step is not capped */
			assert_true(next_lo > hi);
	}
	/* Out-of-range randoms are clamped, never past the cap. */
	assert_true(queue_backoff_ms(30, 200, 60000, 5.0) <= 60000);
	assert_true(queue_backoff_ms(30, 200, 60000, -1.0) <= 60000);
}

static void
test_resync_jitter_is_ten_percent(void **state)
{
	assert_int_equal(resync_jitter_ms(600000, 0), 540000);
	assert_int_equal(resync_jitter_ms(600000, 0.5), 600000);
	assert_true(resync_jitter_ms(600000, 0.999999) <= 660000);
	assert_true(resync_jitter_ms(600000, 0.999999) > 659000);
	assert_int_equal(resync_jitter_ms(600000, 7), resync_jitter_ms(600000, 0.999999));
}

static void
test_config_check_types_and_bounds(void **state)
{
	char *cause = NULL;
	int64_t v;

	assert_int_equal(config_check(CFG_WORKERS, "8", &v, &cause), 0);
	assert_int_equal(v, 8);
	assert_int_equal(config_check(CFG_WORKERS, "0", &v, &cause), -1);
	assert_non_null(strstr(cause, "VIBN_WORKERS"));
	assert_non_null(strstr(cause, "\"0\""));
	free(cause);
	assert_int_equal(config_check(CFG_WORKERS, "8x", &v, &cause), -1);
	free(cause);
	assert_int_equal(config_check(CFG_RESYNC_INTERVAL, "1.5", &v, &cause), 0);
	assert_int_equal(v, 1500);
	assert_int_equal(config_check(CFG_BACKOFF_BASE, "0.25", &v, &cause), 0);
	assert_int_equal(v, 250);
	assert_int_equal(config_check(CFG_RESYNC_INTERVAL, "0", &v, &cause), -1);
	assert_non_null(strstr(cause, "VIBN_RESYNC_INTERVAL"));
	free(cause);
	assert_int_equal(config_check(CFG_RESYNC_INTERVAL, "nan", &v, &cause), -1);
	free(cause);
	assert_int_equal(config_check(CFG_LISTEN, "127.0.0.1:8080", &v, &cause), 0);
	assert_int_equal(config_check(CFG_LISTEN, "[::1]:80", &v, &cause), 0);
	assert_int_equal(config_check(CFG_LISTEN, "127.0.0.1", &v, &cause), -1);
	free(cause);
	assert_int_equal(config_check(CFG_LISTEN, "h:70000", &v, &cause), -1);
	free(cause);
	assert_int_equal(config_check(CFG_GITEA_API_URL, "https://git/api/v1", &v, &cause), 0);
	assert_int_equal(config_check(CFG_GITEA_API_URL, "git/api", &v, &cause), -1);
	assert_non_null(strstr(cause, "GITEA_API_URL"));
	free(cause);
}

static void
test_config_errors_never_quote_secrets(void **state)
{
	const struct config_setting *t = config_settings();
	char *cause = NULL;
	int64_t v;

	assert_true(t[CFG_GITEA_API_TOKEN].flags & CONFIG_SECRET);
	assert_true(t[CFG_DATABASE_URL].flags & CONFIG_SECRET);
	assert_int_equal(config_check(CFG_GITEA_API_TOKEN, "", &v, &cause), -1);
	assert_non_null(strstr(cause, "GITEA_API_TOKEN"));
	free(cause);
}

static void
test_config_table_is_complete(void **state)
{
	static const char *const design[] = {
	    "DATABASE_URL",         "GITEA_API_URL",         "GITEA_API_TOKEN",
	    "GITEA_ADMIN_USER",     "GITEA_WEBHOOK_SECRET",  "COOLIFY_URL",
	    "COOLIFY_API_TOKEN",    "COOLIFY_SERVER_UUID",   "ADMIN_MIGRATE_SECRET",
	    "VIBN_LISTEN",          "VIBN_PUBLIC_URL",       "VIBN_WORKERS",
	    "VIBN_RESYNC_INTERVAL", "VIBN_SHUTDOWN_TIMEOUT", "VIBN_COOLIFY_RPM",
	    "VIBN_GITEA_RPS"};
	const struct config_setting *t = config_settings();

	for (size_t i = 0; i < sizeof design / sizeof design[0]; i++)
		assert_true(config_find(design[i]) >= 0);
	for (int i = 0; i < CFG_COUNT; i++) {
		int64_t v;
		char *cause = NULL;

		assert_non_null(t[i].env);
		assert_non_null(t[i].flag);
		assert_non_null(t[i].help);
		/* Every default passes its own check. */
		if (t[i].def != NULL) {
			assert_int_equal(config_check(i, t[i].def, &v, &cause), 0);
		}
	}
	/* Reconciles in flight, and the database connections they share (issue 17). */
	assert_string_equal(t[CFG_WORKERS].def, "64");
	assert_string_equal(t[CFG_DB_CONNECTIONS].def, "8");
	assert_string_equal(t[CFG_RESYNC_INTERVAL].def, "600");
	assert_string_equal(t[CFG_SHUTDOWN_TIMEOUT].def, "30");
	assert_string_equal(t[CFG_COOLIFY_RPM].def, "180");
	assert_string_equal(t[CFG_GITEA_RPS].def, "50");
}

/* A mutable argv from literals (getopt may permute it). */
#define ARGV(name, ...)                                                                            \
	char name##_s[][32] = {__VA_ARGS__};                                                       \
	char *name[sizeof name##_s / sizeof name##_s[0] + 1];                                      \
	for (size_t i_ = 0; i_ < sizeof name##_s / sizeof name##_s[0]; i_++)                       \
		name[i_] = name##_s[i_];                                                           \
	name[sizeof name##_s / sizeof name##_s[0]] = NULL

static void
test_config_load_env_then_flags(void **state)
{
	ARGV(argv, "vibnd", "--workers=3", "-v", "--backoff-cap", "2.5");
	struct config cfg;

	setenv("DATABASE_URL", "postgresql://x/y", 1);
	setenv("VIBN_WORKERS", "5", 1);
	setenv("VIBN_RESYNC_INTERVAL", "42", 1);
	setenv("VIBN_PUBLIC_URL", "", 1); /* empty is unset */
	assert_int_equal(config_load(&cfg, 5, argv), CONFIG_RUN);
	assert_int_equal(config_int(&cfg, CFG_WORKERS), 3);
	assert_int_equal(config_ms(&cfg, CFG_RESYNC_INTERVAL), 42000);
	assert_int_equal(config_ms(&cfg, CFG_BACKOFF_CAP), 2500);
	assert_int_equal(config_ms(&cfg, CFG_LEASE_DURATION), 30000);
	assert_string_equal(config_str(&cfg, CFG_LISTEN), "127.0.0.1:8080");
	assert_null(config_str(&cfg, CFG_PUBLIC_URL));
	assert_string_equal(config_get(&cfg, "DATABASE_URL"), "postgresql://x/y");
	assert_null(config_get(&cfg, "NOPE"));
	assert_int_equal(cfg.verbose, 1);
	config_free(&cfg);
	unsetenv("VIBN_WORKERS");
	unsetenv("VIBN_RESYNC_INTERVAL");
	unsetenv("VIBN_PUBLIC_URL");
}

static void
test_config_load_rejects(void **state)
{
	ARGV(bad_flag, "vibnd", "--bogus");
	ARGV(bad_value, "vibnd", "--workers=999");
	ARGV(stray, "vibnd", "extra");
	ARGV(inverted, "vibnd", "--backoff-base=10", "--backoff-cap=1");
	struct config cfg;

	assert_int_equal(config_load(&cfg, 2, bad_flag), CONFIG_EXIT_FAIL);
	config_free(&cfg);
	assert_int_equal(config_load(&cfg, 2, bad_value), CONFIG_EXIT_FAIL);
	config_free(&cfg);
	assert_int_equal(config_load(&cfg, 2, stray), CONFIG_EXIT_FAIL);
	config_free(&cfg);
	assert_int_equal(config_load(&cfg, 3, inverted), CONFIG_EXIT_FAIL);
	config_free(&cfg);
}

static void
test_config_require(void **state)
{
	static const char *const needs[] = {"GITEA_API_URL", NULL};
	static const char *const unknown[] = {"NOT_A_SETTING", NULL};
	ARGV(argv, "vibnd");
	struct config cfg;
	char *cause = NULL;

	unsetenv("GITEA_API_URL");
	setenv("DATABASE_URL", "postgresql://x/y", 1);
	assert_int_equal(config_load(&cfg, 1, argv), CONFIG_RUN);
	assert_int_equal(config_require(&cfg, NULL, "vibnd", &cause), 0);
	assert_int_equal(config_require(&cfg, needs, "the workspace reconciler", &cause), -1);
	assert_non_null(strstr(cause, "GITEA_API_URL is required by the workspace reconciler"));
	free(cause);
	assert_int_equal(config_require(&cfg, unknown, "x", &cause), -1);
	free(cause);
	config_free(&cfg);
	unsetenv("DATABASE_URL");
	assert_int_equal(config_load(&cfg, 1, argv), CONFIG_RUN);
	assert_int_equal(config_require(&cfg, NULL, "vibnd", &cause), -1);
	assert_non_null(strstr(cause, "DATABASE_URL is required"));
	free(cause);
	config_free(&cfg);
}

static void
test_reconciler_registry_and_results(void **state)
{
	static const struct reconciler *const table[] = {&workspace_reconciler, NULL};
	struct rec_result r;
	char names[128];
	int64_t now = util_now_ms();

	assert_ptr_equal(reconciler_find(table, "workspace"), &workspace_reconciler);
	assert_null(reconciler_find(table, "test")); /* only vibnd-test has the test ones */
	assert_null(reconciler_find(table, "nope"));
	reconciler_names(table, names, sizeof names);
	assert_string_equal(names, "workspace");
	rec_error(&r, REC_RATE_LIMITED, 1500, "429 from %s", "gitea");
	assert_int_equal(r.cls, REC_RATE_LIMITED);
	assert_true(r.not_before_ms >= now + 1500 && r.not_before_ms < now + 60000);
	assert_string_equal(r.message, "429 from gitea");
	/* Folding: the worst class and the latest not-before win, the first message stays. */
	rec_fold(&r, REC_TRANSIENT, 0, "a later 503");
	assert_int_equal(r.cls, REC_RATE_LIMITED);
	assert_string_equal(r.message, "429 from gitea");
	rec_done(&r);
	rec_fold(&r, REC_PERMANENT, 0, "401");
	rec_fold(&r, REC_TRANSIENT, now + 5, "503");
	assert_int_equal(r.cls, REC_TRANSIENT);
	assert_int_equal(r.not_before_ms, now + 5);
	assert_string_equal(r.message, "401");
	rec_requeue_after(&r, 250);
	assert_int_equal(r.cls, REC_OK);
	assert_int_equal(r.requeue_after_ms, 250);
	assert_string_equal(r.message, "");
	rec_requeue_after(&r, 0);
	assert_true(r.requeue_after_ms > 0); /* a requeue never reads as done */
	rec_done(&r);
	assert_int_equal(r.cls, REC_OK);
	assert_int_equal(r.requeue_after_ms, 0);
	assert_string_equal(rec_class_name(REC_PERMANENT), "permanent");
}

/* Every non-comment line is "name{labels} value" or "name value". */
static void
test_metrics_exposition_format(void **state)
{
	struct buf b;
	char *text, *line, *save = NULL;

	metrics_init("test", 4);
	metrics_reconcile(METRICS_SUCCESS, 0, 0.02);
	metrics_reconcile(METRICS_ERROR, 1, 3.0);
	metrics_queue_wait(0.003);
	metrics_upstream_request("gitea", "GET", 200, 0.01);
	metrics_upstream_request("gitea", "GET", 204, 0.01);
	metrics_upstream_request("coolify", "POST", 0, 1.0);
	metrics_upstream_request("odd\"name", "GET", 503, 0.5);
	metrics_webhook_delivery("accepted");
	buf_init(&b);
	metrics_render(&b);
	text = buf_release(&b);
	assert_non_null(strstr(
	    text,
	    "controller_runtime_reconcile_total{controller=\"test\",result=\"success\"} 1\n"));
	assert_non_null(strstr(
	    text,
	    "controller_runtime_reconcile_total{controller=\"test\",result=\"requeue_after\"} 0\n"));
	assert_non_null(strstr(
	    text, "controller_runtime_terminal_reconcile_errors_total{controller=\"test\"} 1\n"));
	assert_non_null(strstr(
	    text,
	    "controller_runtime_reconcile_time_seconds_bucket{controller=\"test\",le=\"0.025\"} 1\n"));
	assert_non_null(strstr(
	    text,
	    "controller_runtime_reconcile_time_seconds_bucket{controller=\"test\",le=\"+Inf\"} 2\n"));
	assert_non_null(strstr(
	    text,
	    "workqueue_queue_duration_seconds_bucket{name=\"test\",controller=\"test\",le=\"0.005\"} 1\n"));
	assert_non_null(strstr(
	    text,
	    "vibn_upstream_requests_total{upstream=\"gitea\",method=\"GET\",code=\"2xx\"} 2\n"));
	assert_non_null(strstr(
	    text,
	    "vibn_upstream_requests_total{upstream=\"coolify\",method=\"POST\",code=\"error\"} 1\n"));
	assert_non_null(strstr(text, "upstream=\"odd\\\"name\""));
	assert_non_null(strstr(text, "vibn_webhook_deliveries_total{result=\"accepted\"} 1\n"));
	assert_non_null(strstr(text, "vibn_build_info{version="));
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *sp;

		if (line[0] == '#') {
			assert_true(strncmp(line, "# HELP ", 7) == 0 ||
			            strncmp(line, "# TYPE ", 7) == 0);
			continue;
		}
		sp = strrchr(line, ' ');
		assert_non_null(sp);
		assert_true(sp[1] >= '0' && sp[1] <= '9');
	}
	free(text);
	metrics_reset();
}

static void
loop_call_count(void *arg)
{
	(*(int *)arg)++;
}

/* A call posted to the loop after it stopped (a worker saying it exited, at shutdown) is
 * never run, and loop_free frees it (the sanitizer build's leak check sees it otherwise). */
static void
test_loop_call_after_the_loop_stopped_is_freed(void **state)
{
	int ran = 0;

	loop_init();
	assert_int_equal(loop_call(loop_call_count, &ran), 0);
	assert_int_equal(loop_call(loop_call_count, &ran), 0);
	loop_free();
	assert_int_equal(ran, 0);
	assert_int_equal(loop_call(loop_call_count, &ran), -1); /* no loop: refused */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff_doubles_then_caps),
	    cmocka_unit_test(test_backoff_jitter_bounds_and_growth),
	    cmocka_unit_test(test_resync_jitter_is_ten_percent),
	    cmocka_unit_test(test_loop_call_after_the_loop_stopped_is_freed),
	    cmocka_unit_test(test_config_check_types_and_bounds),
	    cmocka_unit_test(test_config_errors_never_quote_secrets),
	    cmocka_unit_test(test_config_table_is_complete),
	    cmocka_unit_test(test_config_load_env_then_flags),
	    cmocka_unit_test(test_config_load_rejects),
	    cmocka_unit_test(test_config_require),
	    cmocka_unit_test(test_reconciler_registry_and_results),
	    cmocka_unit_test(test_metrics_exposition_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
