/* vibnctl events: what happened to workspaces (vibn_workspace_events), as kubectl get events
 * shows it, and following it (--watch); and the Events section of vibnctl describe. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include <jansson.h>

#include "clients/db.h"
#include "common/names.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "ctl.h"
#include "reconcilers/events.h"

#define CTL_EVENTS_LIMIT   100
#define CTL_EVENTS_POLL_MS 1000 /* --watch looks at least this often (NOTIFY wakes it sooner) */

static volatile sig_atomic_t ctl_events_stop;

static void
ctl_events_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: vibnctl events [SLUG] [-o table|json] [--watch] [--limit N]\n"
	    "\n"
	    "Lists what happened to a workspace (or to all of them), oldest first, as kubectl\n"
	    "get events does: the last time, type (Normal, Warning), reason, object, count and\n"
	    "message of each event. The reconciler records one for every upstream change and\n"
	    "every failure; a repeat within VIBN_EVENT_WINDOW counts on the same event.\n"
	    "\n"
	    "  -o, --output FORMAT  table (default) or json (with --watch: one object a line)\n"
	    "  -w, --watch          after the list, print events as they happen (a repeated\n"
	    "                       event again, with its new count) until interrupted\n"
	    "      --limit N        the newest N events (default %d, at most 1000)\n"
	    "  -h, --help           this help\n"
	    "\n"
	    "Exit status: 0 listed (or interrupted while watching); 1 the workspace is not\n"
	    "found or a database failure; 2 usage error.\n",
	    CTL_EVENTS_LIMIT);
}

static void
ctl_events_signal(int sig)
{
	(void)sig;
	ctl_events_stop = 1;
}

/* Rows for the table: seq, slug, type, reason, object, message, count, seconds since last,
 * seconds since first. The newest limit after seq `since`, oldest first. */
static const char ctl_events_sql[] =
    "SELECT * FROM (SELECT e.seq, w.slug, e.type, e.reason,"
    " e.object_kind || ' ' || e.object_name, e.message, e.count,"
    " extract(epoch FROM now() - e.last_seen)::float8,"
    " extract(epoch FROM now() - e.first_seen)::float8"
    " FROM vibn_workspace_events e JOIN vibn_workspaces w ON w.id = e.workspace_id"
    " WHERE ($1::uuid IS NULL OR e.workspace_id = $1::uuid) AND e.seq > $2::bigint"
    " ORDER BY e.seq DESC LIMIT $3::integer) page ORDER BY 1";

enum { E_SEQ, E_SLUG, E_TYPE, E_REASON, E_OBJECT, E_MESSAGE, E_COUNT, E_LAST, E_FIRST };

/* kubectl's event age: "5m", or "2m (x10 over 5m)" for a repeated event. */
static void
ctl_events_age(PGresult *res, int r, char *buf, size_t len)
{
	char last[32], first[32];
	long count = atol(PQgetvalue(res, r, E_COUNT));

	ctl_fmt_age(atof(PQgetvalue(res, r, E_LAST)), last, sizeof last);
	if (count <= 1) {
		snprintf(buf, len, "%s", last);
		return;
	}
	ctl_fmt_age(atof(PQgetvalue(res, r, E_FIRST)), first, sizeof first);
	snprintf(buf, len, "%s (x%ld over %s)", last, count, first);
}

/* Reads the events after *since (at most limit) and prints them; moves *since on. With
 * head, prints the table's header first (even with no rows: a watch shows its columns). */
static int
ctl_events_table(PGconn *conn, const char *ws_id, long long *since, long limit, int head, int all)
{
	char sbuf[24], lbuf[24], age[96];
	const char *p[3] = {ws_id, sbuf, lbuf};
	char *cause = NULL;
	struct ctl_table t;
	PGresult *res;

	snprintf(sbuf, sizeof sbuf, "%lld", *since);
	snprintf(lbuf, sizeof lbuf, "%ld", limit);
	if ((res = db_exec(conn, ctl_events_sql, 3, p, &cause)) == NULL) {
		ctl_error("events: %s", cause);
		free(cause);
		return -1;
	}
	ctl_fmt_table_init(&t, all ? 6 : 5);
	if (head == 2 || (head == 1 && PQntuples(res) > 0)) {
		const char *h[6] = {"WORKSPACE", "LAST SEEN", "TYPE",
		                    "REASON",    "OBJECT",    "MESSAGE"};

		ctl_fmt_table_add(&t, all ? h : h + 1);
	}
	for (int r = 0; r < PQntuples(res); r++) {
		const char *row[6] = {PQgetvalue(res, r, E_SLUG),   age,
		                      PQgetvalue(res, r, E_TYPE),   PQgetvalue(res, r, E_REASON),
		                      PQgetvalue(res, r, E_OBJECT), PQgetvalue(res, r, E_MESSAGE)};

		ctl_events_age(res, r, age, sizeof age);
		ctl_fmt_table_add(&t, all ? row : row + 1);
		*since = atoll(PQgetvalue(res, r, E_SEQ));
	}
	if (t.nrows > 0)
		ctl_fmt_table_print(&t, stdout, NULL);
	fflush(stdout);
	ctl_fmt_table_free(&t);
	PQclear(res);
	return 0;
}

/* JSON: a list (EventList, oldest first), or while watching one event per line. */
static int
ctl_events_json(PGconn *conn, const char *ws_id, long long *since, long limit, int lines)
{
	struct events_query q = {ws_id, limit, 0, 0};
	json_t *events = NULL, *doc, *v;
	char *cause = NULL;
	size_t i;

	if (*since > 0)
		q.since = *since;
	if (events_list(conn, &q, &events, &cause) != 0) {
		ctl_error("events: %s", cause);
		free(cause);
		return -1;
	}
	if (q.since == 0) {
		/* The newest page came newest first: oldest first reads like a log. */
		json_t *rev = json_array();

		for (i = json_array_size(events); i-- > 0;)
			json_array_append(rev, json_array_get(events, i));
		json_decref(events);
		events = rev;
	}
	json_array_foreach(events, i, v)
	{
		if (json_integer_value(json_object_get(v, "seq")) > *since)
			*since = json_integer_value(json_object_get(v, "seq"));
	}
	if (lines) {
		json_array_foreach(events, i, v)
		{
			char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);

			if (s != NULL)
				printf("%s\n", s);
			free(s);
		}
		json_decref(events);
		fflush(stdout);
		return 0;
	}
	doc = json_pack("{s:s, s:s, s:o}", "apiVersion", "vibn/v1", "kind", "EventList", "items",
	                events);
	if (ctl_fmt_print(doc, CTL_OUT_JSON) != 0)
		ctl_error("events: cannot write the output");
	json_decref(doc);
	return 0;
}

/* Waits for a NOTIFY vibn_events or the poll interval, whichever comes first. */
static int
ctl_events_wait(PGconn *conn)
{
	struct timeval tv = {CTL_EVENTS_POLL_MS / 1000, (CTL_EVENTS_POLL_MS % 1000) * 1000};
	int fd = PQsocket(conn);
	PGnotify *n;
	fd_set rd;

	if (fd < 0)
		return -1;
	FD_ZERO(&rd);
	FD_SET(fd, &rd);
	if (select(fd + 1, &rd, NULL, NULL, &tv) < 0 && errno != EINTR)
		return -1;
	if (!PQconsumeInput(conn))
		return -1;
	while ((n = PQnotifies(conn)) != NULL)
		PQfreemem(n);
	return 0;
}

int
ctl_events(int argc, char **argv)
{
	static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
	                                     {"watch", no_argument, NULL, 'w'},
	                                     {"limit", required_argument, NULL, 'n'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	enum ctl_output format = CTL_OUT_TABLE;
	const char *slug = NULL;
	char *id = NULL, *cause = NULL;
	long limit = CTL_EVENTS_LIMIT;
	long long since = 0;
	int c, watch = 0, rc = CTL_FAIL;
	PGconn *conn;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:wh", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (ctl_fmt_output(optarg, &format) != 0 || format == CTL_OUT_YAML) {
				ctl_error("events: unknown output format \"%s\" (table or json)",
				          optarg);
				return CTL_USAGE;
			}
			break;
		case 'w':
			watch = 1;
			break;
		case 'n':
			if (util_parse_long(optarg, 1, 1000, &limit) != 0) {
				ctl_error("events: --limit must be an integer from 1 to 1000");
				return CTL_USAGE;
			}
			break;
		case 'h':
			ctl_events_usage(stdout);
			return CTL_OK;
		default:
			ctl_events_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (argc - optind > 1) {
		ctl_error("events: expected at most one workspace, got \"%s\" too",
		          argv[optind + 1]);
		return CTL_USAGE;
	}
	if (optind < argc) {
		slug = argv[optind];
		if (!names_valid_slug(slug)) {
			ctl_error("events: workspace \"%s\" not found (not a valid slug)", slug);
			return CTL_FAIL;
		}
	}
	if ((conn = ctl_connect()) == NULL)
		return CTL_FAIL;
	if (slug != NULL && (id = ctl_workspace_id(conn, "events", slug)) == NULL)
		goto out;
	if (watch && db_command(conn, "LISTEN vibn_events", 0, NULL, &cause) != 0) {
		ctl_error("events: %s", cause);
		free(cause);
		goto out;
	}
	if ((format == CTL_OUT_TABLE
	         ? ctl_events_table(conn, id, &since, limit, watch ? 2 : 1, slug == NULL)
	         : ctl_events_json(conn, id, &since, limit, watch)) != 0)
		goto out;
	if (!watch) {
		if (format == CTL_OUT_TABLE && since == 0)
			fprintf(stderr, "No events found.\n");
		rc = CTL_OK;
		goto out;
	}
	signal(SIGINT, ctl_events_signal);
	signal(SIGTERM, ctl_events_signal);
	while (!ctl_events_stop) {
		if (ctl_events_wait(conn) != 0) {
			ctl_error("events: lost the database connection: %s", PQerrorMessage(conn));
			goto out;
		}
		if (ctl_events_stop)
			break;
		if ((format == CTL_OUT_TABLE
		         ? ctl_events_table(conn, id, &since, 1000, 0, slug == NULL)
		         : ctl_events_json(conn, id, &since, 1000, 1)) != 0)
			goto out;
	}
	rc = CTL_OK;
out:
	free(id);
	PQfinish(conn);
	return rc;
}

int
ctl_events_describe(PGconn *conn, const char *ws_id)
{
	static const int cols[] = {E_TYPE, E_REASON, -1, E_OBJECT, E_MESSAGE};
	char lbuf[24], age[96];
	const char *p[3] = {ws_id, "0", lbuf};
	char *cause = NULL;
	struct ctl_table t;
	PGresult *res;

	snprintf(lbuf, sizeof lbuf, "%d", CTL_EVENTS_DESCRIBE);
	if ((res = db_exec(conn, ctl_events_sql, 3, p, &cause)) == NULL) {
		ctl_error("describe: %s", cause);
		free(cause);
		return -1;
	}
	if (PQntuples(res) == 0) {
		printf("Events:  <none>\n");
		PQclear(res);
		return 0;
	}
	printf("Events:\n");
	ctl_fmt_table_init(&t, 5);
	{
		const char *h[5] = {"Type", "Reason", "Age", "Object", "Message"};
		const char *u[5] = {"----", "------", "---", "------", "-------"};

		ctl_fmt_table_add(&t, h);
		ctl_fmt_table_add(&t, u);
	}
	for (int r = 0; r < PQntuples(res); r++) {
		const char *row[5];

		ctl_events_age(res, r, age, sizeof age);
		for (int c = 0; c < 5; c++)
			row[c] = cols[c] < 0 ? age : PQgetvalue(res, r, cols[c]);
		ctl_fmt_table_add(&t, row);
	}
	ctl_fmt_table_print(&t, stdout, "  ");
	ctl_fmt_table_free(&t);
	PQclear(res);
	return 0;
}
