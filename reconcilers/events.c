#include "events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/db.h"
#include "common/xmalloc.h"

void
events_params(const struct events_settings *s, struct events_params *p)
{
	int64_t win = s && s->window_ms > 0 ? s->window_ms : EVENTS_DEFAULT_WINDOW_S * 1000LL;
	int64_t ret =
	    s && s->retention_ms > 0 ? s->retention_ms : EVENTS_DEFAULT_RETENTION_S * 1000LL;
	int keep = s && s->keep > 0 ? s->keep : EVENTS_DEFAULT_KEEP;

	memset(p, 0, sizeof *p);
	snprintf(p->window, sizeof p->window, "%lld milliseconds", (long long)win);
	snprintf(p->retention, sizeof p->retention, "%lld milliseconds", (long long)ret);
	snprintf(p->keep, sizeof p->keep, "%d", keep);
}

json_t *
events_entry(const char *type, const char *reason, const char *kind, const char *name,
             const char *message)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", type, "reason", reason, "kind", kind,
	                 "name", name, "message", message);
}

int
events_record(PGconn *db, const char *ws_id, const char *type, const char *reason, const char *kind,
              const char *name, const char *message, const char *reconcile_id,
              const struct events_settings *s, char **cause)
{
	json_t *e = events_entry(type, reason, kind, name, message), *one;
	char *text;
	int rc;

	if (e == NULL) {
		*cause = xstrdup("the event is not UTF-8 text");
		return -1;
	}
	one = json_array();
	json_array_append_new(one, e);
	text = json_dumps(one, JSON_COMPACT);
	json_decref(one);
	rc = events_record_batch(db, ws_id, text, reconcile_id, s, cause);
	free(text);
	return rc;
}

int
events_record_batch(PGconn *db, const char *ws_id, const char *events_json,
                    const char *reconcile_id, const struct events_settings *s, char **cause)
{
	struct events_params p;
	const char *params[6];

	events_params(s, &p);
	params[0] = ws_id;
	params[1] = events_json;
	params[2] = reconcile_id;
	params[3] = p.window;
	params[4] = p.keep;
	params[5] = p.retention;
	return db_command(db,
	                  "SELECT vibn_events_record($1::uuid, $2::jsonb, $3, $4::interval, "
	                  "$5::integer, $6::interval)",
	                  6, params, cause);
}

int
events_prune(PGconn *db, const struct events_settings *s, long long *n, char **cause)
{
	struct events_params p;
	const char *params[2];
	PGresult *res;

	events_params(s, &p);
	params[0] = p.keep;
	params[1] = p.retention;
	res = db_exec(db, "SELECT vibn_events_prune($1::integer, $2::interval)", 2, params, cause);
	if (res == NULL)
		return -1;
	if (n != NULL)
		*n = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

#define EVENTS_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

int
events_list(PGconn *db, const struct events_query *q, json_t **out, char **cause)
{
	char limit[24], before[24], since[24];
	const char *params[4] = {q->ws_id, limit, before, since};
	json_error_t jerr;
	PGresult *res;

	*out = NULL;
	snprintf(limit, sizeof limit, "%ld", q->limit);
	snprintf(before, sizeof before, "%lld", q->before);
	snprintf(since, sizeof since, "%lld", q->since);
	/* Following (since) reads oldest first, so that a reader can print in order and stop
	 * at the limit without losing any; a page (before) reads newest first. */
	res = db_exec(
	    db,
	    "WITH page AS (SELECT e.*, w.slug FROM vibn_workspace_events e "
	    "  JOIN vibn_workspaces w ON w.id = e.workspace_id "
	    "  WHERE ($1::uuid IS NULL OR e.workspace_id = $1::uuid) "
	    "    AND ($3::bigint <= 0 OR e.seq < $3::bigint) "
	    "    AND ($4::bigint <= 0 OR e.seq > $4::bigint) "
	    "  ORDER BY CASE WHEN $4::bigint > 0 THEN e.seq END, e.seq DESC "
	    "  LIMIT $2::integer) "
	    "SELECT coalesce(json_agg(json_build_object('seq', p.seq, 'workspace', p.slug, "
	    "  'type', p.type, 'reason', p.reason, "
	    "  'object', json_build_object('kind', p.object_kind, 'name', p.object_name), "
	    "  'message', p.message, 'count', p.count, "
	    "  'firstTimestamp', " EVENTS_TS(
	        "p.first_seen") ", "
	                        "  'lastTimestamp', " EVENTS_TS(
	                            "p.last_seen") ", 'reconcileId', p.reconcile_id) "
	                                           "  ORDER BY CASE WHEN $4::bigint > 0 THEN p.seq END, p.seq DESC), '[]')::text "
	                                           "FROM page p",
	    4, params, cause);
	if (res == NULL)
		return -1;
	*out = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
	PQclear(res);
	if (*out == NULL) {
		*cause = xasprintf("events: unreadable list: %s", jerr.text);
		return -1;
	}
	return 0;
}
