/* Load tool for bench_queue.sh.
 *   queue_bench latency URL COUNT   enqueue COUNT workspaces one at a time on an idle vibnd
 *                                   (test reconciler) and print enqueue-to-claim p50/p99 in ms,
 *                                   as measured by the claim itself (vibn_test_runs)
 *   queue_bench drain URL           enqueue every workspace at once, wait until vibnd has
 *                                   drained the queue, print items per second */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clients/db.h"
#include "common/util.h"

static PGconn *
bench_connect(const char *url)
{
	char *cause = NULL;
	PGconn *db = db_connect(url, "queue-bench", &cause);

	if (db == NULL) {
		fprintf(stderr, "queue_bench: %s\n", cause);
		exit(1);
	}
	return db;
}

static PGresult *
bench_exec(PGconn *db, const char *sql, int n, const char *const *params)
{
	char *cause = NULL;
	PGresult *res = db_exec(db, sql, n, params, &cause);

	if (res == NULL) {
		fprintf(stderr, "queue_bench: %s: %s\n", sql, cause);
		exit(1);
	}
	return res;
}

static void
bench_sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

	nanosleep(&ts, NULL);
}

static int
bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
bench_latency(const char *url, int count)
{
	PGconn *db = bench_connect(url);
	PGresult *ws = bench_exec(db, "SELECT id FROM vibn_workspaces ORDER BY id", 0, NULL);
	double *lat = calloc((size_t)count, sizeof *lat);
	int n = 0;

	if (PQntuples(ws) < count) {
		fprintf(stderr, "queue_bench: need %d workspaces\n", count);
		return 1;
	}
	for (int i = 0; i < count; i++) {
		const char *p[1] = {PQgetvalue(ws, i, 0)};
		PGresult *r =
		    bench_exec(db, "SELECT coalesce(max(id), 0) FROM vibn_test_runs", 0, NULL);
		char last[32];
		int64_t deadline;

		snprintf(last, sizeof last, "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
		PQclear(bench_exec(db, "SELECT vibn_enqueue($1, 0::smallint, 'bench')", 1, p));
		deadline = util_now_ms() + 5000;
		for (;;) {
			const char *q[1] = {last};

			r = bench_exec(db, "SELECT queue_seconds FROM vibn_test_runs WHERE id > $1",
			               1, q);
			if (PQntuples(r) > 0) {
				lat[n++] = atof(PQgetvalue(r, 0, 0)) * 1000.0;
				PQclear(r);
				break;
			}
			PQclear(r);
			if (util_now_ms() > deadline) {
				fprintf(stderr, "queue_bench: no claim within 5 s\n");
				return 1;
			}
			bench_sleep_us(1000);
		}
		/* Let the daemon go idle again before the next sample. */
		bench_sleep_us(10000);
	}
	qsort(lat, (size_t)n, sizeof *lat, bench_cmp);
	printf("%d %.3f %.3f %.3f\n", n, lat[n / 2], lat[(n * 99) / 100 - (n >= 100 ? 1 : 0)],
	       lat[n - 1]);
	free(lat);
	PQclear(ws);
	PQfinish(db);
	return 0;
}

static int
bench_drain(const char *url)
{
	PGconn *db = bench_connect(url);
	PGresult *r;
	long n;
	int64_t t0, t1;

	PQclear(bench_exec(db, "BEGIN", 0, NULL));
	r = bench_exec(db,
	               "INSERT INTO vibn_reconcile_queue (workspace_id, priority, run_at, reason)"
	               " SELECT id, 1, now(), 'bench' FROM vibn_workspaces",
	               0, NULL);
	n = atol(PQcmdTuples(r));
	PQclear(r);
	PQclear(bench_exec(db, "SELECT pg_notify('vibn_reconcile', 'bench')", 0, NULL));
	t0 = util_now_us();
	PQclear(bench_exec(db, "COMMIT", 0, NULL));
	for (;;) {
		r = bench_exec(db, "SELECT count(*) FROM vibn_reconcile_queue", 0, NULL);
		long left = atol(PQgetvalue(r, 0, 0));

		PQclear(r);
		if (left == 0)
			break;
		bench_sleep_us(5000);
	}
	t1 = util_now_us();
	printf("%ld %.3f %.1f\n", n, (double)(t1 - t0) / 1e6,
	       (double)n / ((double)(t1 - t0) / 1e6));
	PQfinish(db);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "latency") == 0)
		return bench_latency(argv[2], atoi(argv[3]));
	if (argc == 3 && strcmp(argv[1], "drain") == 0)
		return bench_drain(argv[2]);
	fprintf(stderr, "usage: queue_bench latency URL COUNT | drain URL\n");
	return 2;
}
