/* Built-in reconcilers for tests and benchmarks.
 *
 * "test" records every run in vibn_test_runs (start, end, worker, result) and behaves as
 * vibn_test_behaviour says for the workspace: sleep, fail with a class (a number of
 * times or always), or ask for a requeue. Tests use it to see overlaps, backoff and
 * follow-up runs. "noop" returns done at once: the queue's own cost, for benchmarks. */
#include "testrec.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clients/db.h"
#include "common/log.h"
#include "common/xmalloc.h"

struct testrec_behaviour {
	long sleep_ms;
	char fail[16]; /* "" or the class name */
	long not_before_ms;
	long requeue_after_ms; /* -1: none */
};

/* Sleeps ms milliseconds, resuming after signals. */
static void
testrec_sleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Reads the behaviour and, in the same statement, spends one of its limited failures or
 * requeues, so "fail N times" counts runs exactly. */
static int
testrec_behaviour(PGconn *db, const char *ws, struct testrec_behaviour *b, char **cause)
{
	static const char sql[] =
	    "WITH d AS (SELECT workspace_id, fail, requeue_after_ms,"
	    "   fail IS NOT NULL AND (fail_times < 0 OR failures < fail_times) AS failing,"
	    "   requeue_after_ms IS NOT NULL AND requeues < requeue_times AS requeuing"
	    "  FROM vibn_test_behaviour WHERE workspace_id = $1)"
	    " UPDATE vibn_test_behaviour t SET failures = t.failures + d.failing::int,"
	    "  requeues = t.requeues + (NOT d.failing AND d.requeuing)::int"
	    " FROM d WHERE t.workspace_id = d.workspace_id"
	    " RETURNING t.sleep_ms, CASE WHEN d.failing THEN d.fail ELSE '' END,"
	    "  t.not_before_ms,"
	    "  CASE WHEN NOT d.failing AND d.requeuing THEN d.requeue_after_ms ELSE -1 END";
	const char *params[1] = {ws};
	PGresult *res;

	memset(b, 0, sizeof *b);
	b->requeue_after_ms = -1;
	res = db_exec(db, sql, 1, params, cause);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1) {
		b->sleep_ms = atol(PQgetvalue(res, 0, 0));
		snprintf(b->fail, sizeof b->fail, "%s", PQgetvalue(res, 0, 1));
		b->not_before_ms = atol(PQgetvalue(res, 0, 2));
		b->requeue_after_ms = atol(PQgetvalue(res, 0, 3));
	}
	PQclear(res);
	return 0;
}

/* The test reconciler: records its run, does what the workspace's behaviour row says
 * (sleeping first when told, with no database connection held, as a pass waits on an
 * upstream), and records how it ended. */
static void
testrec_reconcile(const struct rec_ctx *ctx, void *state, struct rec_result *out)
{
	char prio[8], attempts[16], waited[32];
	const char *params[6] = {
	    ctx->workspace_id, ctx->lease_owner, ctx->reconcile_id, prio, attempts, waited};
	struct testrec_behaviour b;
	const char *result = "done";
	char *cause = NULL, *id = NULL;
	PGresult *res = NULL;
	PGconn *db;

	snprintf(prio, sizeof prio, "%d", ctx->priority);
	snprintf(attempts, sizeof attempts, "%d", ctx->attempts);
	snprintf(waited, sizeof waited, "%.6f", ctx->queue_seconds);
	db = rec_db_take(ctx->db, &cause);
	if (db == NULL)
		goto fail;
	res = db_exec(db,
	              "INSERT INTO vibn_test_runs (workspace_id, worker, reconcile_id, priority,"
	              " attempts, queue_seconds) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
	              6, params, &cause);
	if (res != NULL) {
		id = xstrdup(PQgetvalue(res, 0, 0));
		PQclear(res);
		if (testrec_behaviour(db, ctx->workspace_id, &b, &cause) != 0) {
			free(id);
			id = NULL;
		}
	}
	rec_db_give(ctx->db, db);
	if (id == NULL)
		goto fail;
	if (b.sleep_ms > 0)
		testrec_sleep(b.sleep_ms);
	if (strcmp(b.fail, "transient") == 0) {
		rec_error(out, REC_TRANSIENT, 0, "test: transient failure");
		result = "transient";
	} else if (strcmp(b.fail, "rate_limited") == 0) {
		rec_error(out, REC_RATE_LIMITED, b.not_before_ms, "test: rate limited");
		result = "rate_limited";
	} else if (strcmp(b.fail, "permanent") == 0) {
		rec_error(out, REC_PERMANENT, 0, "test: permanent failure");
		result = "permanent";
	} else if (b.requeue_after_ms >= 0) {
		rec_requeue_after(out, b.requeue_after_ms);
		result = "requeue_after";
	}
	{
		const char *p2[2] = {id, result};

		if (rec_db_command(
		        ctx->db,
		        "UPDATE vibn_test_runs SET finished_at = clock_timestamp(), result = $2"
		        " WHERE id = $1",
		        2, p2, &cause) != 0)
			goto fail;
	}
	free(id);
	return;
fail:
	log_warn_kv(ctx->log_fields, "test reconciler: %s", cause);
	rec_error(out, REC_TRANSIENT, 0, "test reconciler: %s", cause);
	free(cause);
	free(id);
}

static void
testrec_noop_reconcile(const struct rec_ctx *ctx, void *state, struct rec_result *out)
{
	rec_done(out);
}

const struct reconciler testrec_reconciler = {
    .name = "test",
    .reconcile = testrec_reconcile,
};

const struct reconciler testrec_noop = {
    .name = "noop",
    .reconcile = testrec_noop_reconcile,
};
