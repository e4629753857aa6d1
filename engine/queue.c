#include "queue.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/db.h"
#include "common/buf.h"
#include "common/xmalloc.h"

/* An interval parameter from milliseconds, e.g. "1500 milliseconds". */
static void
queue_interval(char *out, size_t len, int64_t ms)
{
	snprintf(out, len, "%lld milliseconds", (long long)ms);
}

/* The claimed item in columns col.. of row 0 (vibn_claim's, in its order). */
static void
queue_item_read(const PGresult *res, int col, struct queue_item *item)
{
	memset(item, 0, sizeof *item);
	snprintf(item->workspace_id, sizeof item->workspace_id, "%s", PQgetvalue(res, 0, col));
	item->priority = atoi(PQgetvalue(res, 0, col + 1));
	item->attempts = atoi(PQgetvalue(res, 0, col + 2));
	snprintf(item->reason, sizeof item->reason, "%s", PQgetvalue(res, 0, col + 3));
	item->waited = atof(PQgetvalue(res, 0, col + 4));
	snprintf(item->prev_owner, sizeof item->prev_owner, "%s", PQgetvalue(res, 0, col + 5));
}

int
queue_claim(PGconn *db, const char *owner, int64_t lease_ms, struct queue_item *item, char **cause)
{
	char lease[48];
	const char *params[2] = {owner, lease};
	PGresult *res;

	queue_interval(lease, sizeof lease, lease_ms);
	res = db_exec_cached(db, "SELECT * FROM vibn_claim($1, $2::interval)", 2, params, cause);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	queue_item_read(res, 0, item);
	PQclear(res);
	return 1;
}

int
queue_next_due(PGconn *db, int64_t *ms, char **cause)
{
	PGresult *res = db_exec_cached(db, "SELECT vibn_next_due()", 0, NULL, cause);

	if (res == NULL)
		return -1;
	if (PQgetisnull(res, 0, 0))
		*ms = -1;
	else
		*ms = (int64_t)fmax(0, ceil(atof(PQgetvalue(res, 0, 0)) * 1000.0));
	PQclear(res);
	return 0;
}

/* Maps the SQL functions' answers onto static strings. */
static const char *
queue_how(const char *s)
{
	static const char *const known[] = {"done", "followup", "requeued", "retry", "lost"};

	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcmp(s, known[i]) == 0)
			return known[i];
	return "unknown";
}

int
queue_finish(PGconn *db, const struct queue_outcome *o, const char *next_owner, int64_t lease_ms,
             const char **how, struct queue_item *next, char **cause)
{
	char requeue[48], delay[48], nb[48], lease[48];
	const char *params[9] = {o->ws,
	                         o->owner,
	                         o->failed ? "t" : "f",
	                         !o->failed && o->requeue_ms >= 0 ? requeue : NULL,
	                         delay,
	                         o->failed && o->not_before_ms > 0 ? nb : NULL,
	                         o->failed ? o->err : NULL,
	                         next_owner,
	                         lease};
	PGresult *res;
	int claimed;

	queue_interval(requeue, sizeof requeue, o->requeue_ms);
	queue_interval(delay, sizeof delay, o->failed ? o->delay_ms : 0);
	queue_interval(nb, sizeof nb, o->not_before_ms);
	queue_interval(lease, sizeof lease, lease_ms);
	res = db_exec_cached(
	    db,
	    "SELECT * FROM vibn_finish($1, $2, $3::boolean, $4::interval, $5::interval,"
	    " now() + $6::interval, $7, $8, $9::interval)",
	    9, params, cause);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		*cause = xstrdup("vibn_finish returned no row");
		PQclear(res);
		return -1;
	}
	*how = queue_how(PQgetvalue(res, 0, 0));
	claimed = next != NULL && !PQgetisnull(res, 0, 1);
	if (claimed)
		queue_item_read(res, 1, next);
	PQclear(res);
	return claimed;
}

int
queue_complete(PGconn *db, const char *ws, const char *owner, int64_t requeue_ms, const char **how,
               char **cause)
{
	struct queue_outcome o = {.ws = ws, .owner = owner, .requeue_ms = requeue_ms};

	return queue_finish(db, &o, NULL, 0, how, NULL, cause) < 0 ? -1 : 0;
}

int
queue_fail(PGconn *db, const char *ws, const char *owner, int64_t delay_ms, int64_t not_before_ms,
           const char *err, const char **how, char **cause)
{
	struct queue_outcome o = {.ws = ws,
	                          .owner = owner,
	                          .failed = 1,
	                          .delay_ms = delay_ms,
	                          .not_before_ms = not_before_ms,
	                          .err = err};

	return queue_finish(db, &o, NULL, 0, how, NULL, cause) < 0 ? -1 : 0;
}

/* Appends a Postgres array literal of plain tokens (uuids and owner strings hold no
 * quotes, commas or braces; owners are quoted anyway, with escapes). */
static void
queue_array(struct buf *b, const char *const *v, int n)
{
	buf_putc(b, '{');
	for (int i = 0; i < n; i++) {
		buf_puts(b, i ? ",\"" : "\"");
		for (const char *p = v[i]; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				buf_putc(b, '\\');
			buf_putc(b, *p);
		}
		buf_putc(b, '"');
	}
	buf_putc(b, '}');
}

int
queue_renew(PGconn *db, const char *const *ws, const char *const *owners, int n, int64_t lease_ms,
            long *count, char **cause)
{
	struct buf a, o;
	char lease[48];
	const char *params[3];
	PGresult *res;

	*count = 0;
	if (n == 0)
		return 0;
	buf_init(&a);
	buf_init(&o);
	queue_array(&a, ws, n);
	queue_array(&o, owners, n);
	queue_interval(lease, sizeof lease, lease_ms);
	params[0] = buf_str(&a);
	params[1] = buf_str(&o);
	params[2] = lease;
	if (lease_ms < 0)
		res = db_exec(db, "SELECT vibn_release($1::uuid[], $2::text[])", 2, params, cause);
	else
		res = db_exec(db, "SELECT vibn_renew($1::uuid[], $2::text[], $3::interval)", 3,
		              params, cause);
	buf_free(&a);
	buf_free(&o);
	if (res == NULL)
		return -1;
	*count = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int
queue_depth(PGconn *db, long *interactive, long *background, char **cause)
{
	PGresult *res = db_exec(db,
	                        "SELECT count(*) FILTER (WHERE priority = 0),"
	                        " count(*) FILTER (WHERE priority = 1)"
	                        " FROM vibn_reconcile_queue WHERE run_at <= now()"
	                        " AND (lease_owner IS NULL OR lease_expires_at < now())",
	                        0, NULL, cause);

	if (res == NULL)
		return -1;
	*interactive = atol(PQgetvalue(res, 0, 0));
	*background = atol(PQgetvalue(res, 0, 1));
	PQclear(res);
	return 0;
}

int64_t
queue_backoff_ms(int attempts, int64_t base_ms, int64_t cap_ms, double unit)
{
	int64_t d = base_ms;

	if (attempts < 1)
		attempts = 1;
	/* Doubling with an early stop: no overflow however many attempts. */
	for (int i = 1; i < attempts && d < cap_ms; i++)
		d *= 2;
	if (d > cap_ms)
		d = cap_ms;
	if (unit < 0)
		unit = 0;
	if (unit >= 1)
		unit = 0.999999;
	return (int64_t)llround((double)d * (1.0 - 0.2 * unit));
}
