#include "api_events.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "api/api.h"
#include "api/api_parse.h"
#include "api/api_parse_project.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "controller/loop.h"
#include "httpd/dbpool.h"
#include "httpd/httpd.h"
#include "tenancy/keys.h"
#include "tenancy/tenancy.h"

/* How often every workspace's events are pruned (each new event prunes its own). */
#define API_EVENTS_PRUNE_MS (10 * 60 * 1000)

static struct {
	char *admin_secret; /* read by database threads; set before, freed after them */
	struct events_settings settings;
	struct event *prune;
} api_events;

struct api_events_call {
	char *authorization;
	char *admin;
	char *cookie; /* the settings page's session */
	char *slug;
	long limit;
	long long after;
};

static void
api_events_call_free(void *arg)
{
	struct api_events_call *c = arg;

	util_free_secret(c->authorization);
	util_free_secret(c->admin);
	util_free_secret(c->cookie);
	free(c->slug);
	free(c);
}

static void
api_events_work(PGconn *db, void *arg, struct dbpool_reply *out)
{
	struct api_events_call *c = arg;
	struct events_query q = {NULL, c->limit, c->after, 0};
	struct auth_principal p;
	struct tenancy_ws ws;
	char *cause = NULL, *text;
	json_t *events = NULL, *next = json_null(), *doc;

	struct auth_creds creds = {c->authorization, c->admin, c->cookie, NULL, 0};

	if (api_authenticate_creds(db, &creds, api_events.admin_secret, &p, out) != 0)
		return;
	switch (tenancy_workspace(db, &p, c->slug, &ws, &cause)) {
	case 0:
		break;
	case 1:
		dbpool_reply_error(out, 404, "not_found", "no such workspace");
		return;
	default:
		dbpool_reply_db_error(out, "workspace", cause);
		free(cause);
		return;
	}
	if (api_scope(&p, KEYS_SCOPE_READ, out) != 0)
		return;
	q.ws_id = ws.id;
	if (events_list(db, &q, &events, &cause) != 0) {
		dbpool_reply_db_error(out, "list events", cause);
		free(cause);
		return;
	}
	if ((long)json_array_size(events) == c->limit)
		next = json_incref(
		    json_object_get(json_array_get(events, json_array_size(events) - 1), "seq"));
	doc = json_pack("{s:s, s:o, s:o}", "workspace", ws.slug, "events", events, "next", next);
	if (doc == NULL || (text = json_dumps(doc, JSON_COMPACT)) == NULL)
		fatal("out of memory");
	dbpool_reply_json(out, 200, text);
	buf_putc(&out->body, '\n');
	free(text);
	json_decref(doc);
}

static void
api_events_handle(struct httpd_req *req, void *arg)
{
	struct api_events_call *c;
	char *cause = NULL;
	long limit = API_PARSE_PAGE_DEFAULT;
	long long after = 0;

	(void)arg;
	if (api_parse_limit(httpd_query(req, "limit"), &limit, &cause) != 0 ||
	    api_parse_project_seq(httpd_query(req, "after"), &after, &cause) != 0) {
		httpd_error(req, 400, "bad_request", "%s", cause);
		free(cause);
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->authorization = xstrdup_null(httpd_header(req, "Authorization"));
	c->admin = xstrdup_null(httpd_header(req, "x-admin-secret"));
	c->cookie = xstrdup_null(httpd_header(req, "Cookie"));
	c->slug = xstrdup_null(httpd_param(req, "slug"));
	c->limit = limit;
	c->after = after;
	(void)dbpool_submit(req, api_events_work, c, api_events_call_free);
}

static void
api_events_prune_work(PGconn *db, void *arg, struct dbpool_reply *out)
{
	char *cause = NULL;
	long long n = 0;

	(void)arg;
	(void)out;
	if (events_prune(db, &api_events.settings, &n, &cause) != 0) {
		log_warn("events: pruning: %s", cause);
		free(cause);
		return;
	}
	if (n > 0)
		log_info("events: pruned %lld old workspace events", n);
}

static void
api_events_prune_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)dbpool_submit(NULL, api_events_prune_work, NULL, NULL);
}

void
api_events_register(const char *admin_secret, const struct events_settings *s)
{
	struct timeval tv = {API_EVENTS_PRUNE_MS / 1000, 0};

	api_events.admin_secret = xstrdup_null(admin_secret);
	api_events.settings = *s;
	httpd_route("GET", "/api/workspaces/{slug}/events", api_events_handle, NULL);
	api_events.prune = event_new(loop_base(), -1, EV_PERSIST, api_events_prune_tick, NULL);
	if (api_events.prune == NULL || event_add(api_events.prune, &tv) != 0)
		fatalx("events: cannot arm the prune timer");
	api_events_prune_tick(-1, 0, NULL);
}

void
api_events_stop(void)
{
	if (api_events.prune != NULL)
		event_free(api_events.prune);
	api_events.prune = NULL;
	util_free_secret(api_events.admin_secret);
	api_events.admin_secret = NULL;
}
