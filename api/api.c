#include "api.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "clients/db.h"
#include "tenancy/keys.h"
#include "schema/migrate.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "tenancy/auth.h"
#include "tenancy/tenancy.h"
#include "common/names.h"
#include "api/api_parse.h"
#include "httpd/dbpool.h"
#include "httpd/httpd.h"

/* Request bodies of the API are small: a key name. */
#define API_MAX_BODY   (16 * 1024)
#define API_MIGRATE_MS (10 * 60 * 1000)

enum api_op {
	API_LIST,
	API_GET,
	API_PROVISION,
	API_KEYS_LIST,
	API_KEYS_MINT,
	API_KEYS_REVOKE,
	API_MIGRATE
};

static struct {
	char *admin_secret; /* read by database threads; set before, freed after them */
} api;

struct api_call {
	enum api_op op;
	char *authorization;
	char *admin;
	char *cookie; /* the settings page's session */
	char *csrf;
	int unsafe;
	char *if_none_match;
	char *slug;
	char *key_id;
	char *after;
	long limit;
	char *body;
	size_t len;
};

static void
api_call_free(void *p)
{
	struct api_call *c = p;

	util_free_secret(c->authorization);
	util_free_secret(c->admin);
	util_free_secret(c->cookie);
	free(c->csrf);
	free(c->if_none_match);
	free(c->slug);
	free(c->key_id);
	free(c->after);
	free(c->body);
	free(c);
}

static void
api_not_found(struct dbpool_reply *out)
{
	dbpool_reply_error(out, 404, "not_found", "no such workspace");
}

/* Replies with a jansson document (stolen). */
static void
api_reply_doc(struct dbpool_reply *out, int status, json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT);

	dbpool_reply_json(out, status, s);
	buf_putc(&out->body, '\n');
	free(s);
	json_decref(doc);
}

/* The gate, for a route on c->slug: 0 with ws filled, or -1 having answered (404 or 503). */
static int
api_workspace(PGconn *db, const struct api_call *c, const struct auth_principal *p,
              struct tenancy_ws *ws, struct dbpool_reply *out)
{
	char *cause = NULL;

	switch (tenancy_workspace(db, p, c->slug, ws, &cause)) {
	case 0:
		return 0;
	case 1:
		api_not_found(out);
		return -1;
	default:
		dbpool_reply_db_error(out, "workspace", cause);
		free(cause);
		return -1;
	}
}

int
api_scope(const struct auth_principal *p, unsigned want, struct dbpool_reply *out)
{
	char names[KEYS_SCOPES_MAX];

	if (auth_has_scope(p, want))
		return 0;
	keys_scopes_format(want, names);
	dbpool_reply_error(out, 403, "insufficient_scope", "this key lacks the %s scope", names);
	return -1;
}

int
api_authenticate(PGconn *db, const char *authorization, const char *x_admin_secret,
                 const char *admin_secret, struct auth_principal *p, struct dbpool_reply *out)
{
	struct auth_creds creds = {authorization, x_admin_secret, NULL, NULL, 0};

	return api_authenticate_creds(db, &creds, admin_secret, p, out);
}

int
api_authenticate_creds(PGconn *db, const struct auth_creds *creds, const char *admin_secret,
                       struct auth_principal *p, struct dbpool_reply *out)
{
	switch (auth_check_creds(db, creds, admin_secret, p)) {
	case AUTH_OK:
		return 0;
	case AUTH_MISSING:
		dbpool_reply_header(out, "WWW-Authenticate", "Bearer");
		dbpool_reply_error(out, 401, "unauthorized", "missing credentials");
		return -1;
	case AUTH_INVALID:
		dbpool_reply_header(out, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
		dbpool_reply_error(out, 401, "unauthorized", "invalid credentials");
		return -1;
	case AUTH_CSRF:
		dbpool_reply_error(
		    out, 403, "csrf",
		    "missing or wrong X-CSRF-Token for this session (reload the page)");
		return -1;
	case AUTH_DB_ERROR:
		break;
	}
	dbpool_reply_error(out, 503, "db_error", "database error");
	return -1;
}

static void
api_list(PGconn *db, const struct api_call *c, const struct auth_principal *p,
         struct dbpool_reply *out)
{
	char limit[24];
	const char *params[3] = {p->admin ? NULL : p->workspace_id, c->after, limit};
	char *cause = NULL;
	PGresult *res;
	json_t *page;

	if (api_scope(p, KEYS_SCOPE_READ, out) != 0)
		return;
	snprintf(limit, sizeof limit, "%ld", c->limit);
	res = db_exec(db,
	              "WITH page AS (SELECT w.id, w.slug, w.name, w.owner, w.provision_status, "
	              "  w.gitea_org, w.coolify_project_uuid, w.created_at "
	              "  FROM vibn_workspaces w "
	              "  WHERE w.deleted_at IS NULL AND ($1::uuid IS NULL OR w.id = $1::uuid) "
	              "    AND ($2::text IS NULL OR w.slug > $2) "
	              "  ORDER BY w.slug LIMIT $3::int) "
	              "SELECT coalesce(json_agg(page ORDER BY slug), '[]')::text, count(*), "
	              "  max(slug) FROM page",
	              3, params, &cause);
	if (res == NULL) {
		dbpool_reply_db_error(out, "list workspaces", cause);
		free(cause);
		return;
	}
	/* Postgres built the rows' JSON; a full page names the slug to continue after. */
	page = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	if (page == NULL) {
		dbpool_reply_db_error(out, "list workspaces", "unreadable json_agg result");
	} else {
		api_reply_doc(
		    out, 200,
		    json_pack("{s:o, s:s?}", "workspaces", page, "next",
		              atol(PQgetvalue(res, 0, 1)) == c->limit ? db_text(res, 0, 2) : NULL));
	}
	PQclear(res);
}

static void
api_get(PGconn *db, const struct api_call *c, const struct auth_principal *p,
        struct dbpool_reply *out)
{
	struct tenancy_ws ws;
	const char *params[1] = {ws.id};
	char *cause = NULL;
	PGresult *res;

	if (api_workspace(db, c, p, &ws, out) != 0 || api_scope(p, KEYS_SCOPE_READ, out) != 0)
		return;
	res = db_exec(
	    db,
	    "SELECT json_build_object('id', w.id, 'slug', w.slug, 'name', w.name, 'owner', w.owner, "
	    "  'provision_status', w.provision_status, 'paused', w.paused, "
	    "  'generation', w.generation, 'observed_generation', w.observed_generation, "
	    "  'gitea_org', w.gitea_org, 'coolify_project_uuid', w.coolify_project_uuid, "
	    "  'repos', coalesce((SELECT json_agg(json_build_object('name', r.name, "
	    "      'gitea_repo_id', r.gitea_repo_id) ORDER BY lower(r.name)) "
	    "    FROM vibn_workspace_repos r WHERE r.workspace_id = w.id), '[]'), "
	    "  'apps', coalesce((SELECT json_agg(json_build_object('name', a.name, "
	    "      'coolify_app_uuid', a.coolify_app_uuid) ORDER BY lower(a.name)) "
	    "    FROM vibn_workspace_apps a WHERE a.workspace_id = w.id), '[]'), "
	    "  'conditions', w.conditions, 'last_error', w.last_error, "
	    "  'created_at', w.created_at, 'updated_at', w.updated_at)::text "
	    "FROM vibn_workspaces w WHERE w.id = $1",
	    1, params, &cause);
	if (res == NULL) {
		dbpool_reply_db_error(out, "get workspace", cause);
		free(cause);
		return;
	}
	if (PQntuples(res) != 1) {
		api_not_found(out);
	} else {
		dbpool_reply_json(out, 200, PQgetvalue(res, 0, 0));
		buf_putc(&out->body, '\n');
	}
	PQclear(res);
}

static void
api_provision(PGconn *db, const struct api_call *c, const struct auth_principal *p,
              struct dbpool_reply *out)
{
	struct tenancy_ws ws;
	const char *params[1] = {ws.id};
	char *cause = NULL;
	PGresult *res;
	json_t *doc;

	if (api_workspace(db, c, p, &ws, out) != 0 || api_scope(p, KEYS_SCOPE_WRITE, out) != 0)
		return;
	res = db_exec(db, "SELECT vibn_enqueue($1::uuid, 0::smallint, 'api')", 1, params, &cause);
	if (res == NULL) {
		dbpool_reply_db_error(out, "provision", cause);
		free(cause);
		return;
	}
	if (PQntuples(res) != 1) {
		api_not_found(out);
	} else {
		doc = json_pack("{s:s, s:b}", "workspace", c->slug, "enqueued", 1);
		api_reply_doc(out, 202, doc);
	}
	PQclear(res);
}

/* "read,write" as ["read", "write"]; a new reference. */
static json_t *
api_scopes_json(const char *list)
{
	json_t *a = json_array();

	while (list != NULL && *list != '\0') {
		size_t n = strcspn(list, ",");

		json_array_append_new(a, json_stringn(list, n));
		list += n + (list[n] == ',');
	}
	return a;
}

static void
api_keys_list(PGconn *db, const struct api_call *c, const struct auth_principal *p,
              struct dbpool_reply *out)
{
	struct keys_info *keys = NULL;
	struct tenancy_ws ws;
	size_t n = 0;
	char *cause = NULL;
	json_t *arr;

	if (api_workspace(db, c, p, &ws, out) != 0 || api_scope(p, KEYS_SCOPE_KEYS, out) != 0)
		return;
	if (keys_list(db, ws.id, &keys, &n, &cause) != 0) {
		dbpool_reply_db_error(out, "list keys", cause);
		free(cause);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(
		    arr, json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:o, s:s?, s:b}", "id",
		                   keys[i].id, "name", keys[i].name, "prefix", keys[i].prefix,
		                   "created_at", keys[i].created_at, "last_used_at",
		                   keys[i].last_used_at, "revoked_at", keys[i].revoked_at, "scopes",
		                   api_scopes_json(keys[i].scopes), "expires_at",
		                   keys[i].expires_at, "expired", keys[i].expired));
	keys_list_free(keys, n);
	api_reply_doc(out, 200, json_pack("{s:s, s:o}", "workspace", c->slug, "keys", arr));
}

static void
api_keys_mint(PGconn *db, const struct api_call *c, const struct auth_principal *p,
              struct dbpool_reply *out)
{
	char prefix[KEYS_DISPLAY_LEN + 1], names[KEYS_SCOPES_MAX], *cause = NULL;
	char *token = NULL, *key_id = NULL;
	struct api_key_request r;
	struct keys_mint_opts o;
	struct tenancy_ws ws;

	/* Authenticated, then the workspace, then the scope, then the body: strangers learn
	 * nothing, and a key without the keys scope learns nothing of the body's rules. */
	if (api_workspace(db, c, p, &ws, out) != 0 || api_scope(p, KEYS_SCOPE_KEYS, out) != 0)
		return;
	if (api_parse_key_mint(c->body, c->len, time(NULL), &r, &cause) != 0) {
		dbpool_reply_error(out, 400, "bad_request", "%s", cause);
		free(cause);
		return;
	}
	memset(&o, 0, sizeof o);
	o.workspace_id = ws.id;
	o.name = r.name;
	/* A key mints nothing stronger than itself: its scopes at most (by default the agent
	 * scopes it holds), and no later expiry than its own. */
	o.scopes = r.scopes != 0 ? r.scopes : KEYS_SCOPE_DEFAULT & p->scopes;
	if (o.scopes == 0)
		o.scopes = p->scopes;
	o.expires_at = r.expires_at[0] != '\0' ? r.expires_at : NULL;
	/* A person signed in to the page is not a key: nothing to inherit from. */
	if (!p->admin && !p->session) {
		o.minted_by = p->key_id;
		if ((o.scopes & ~p->scopes) != 0) {
			keys_scopes_format(p->scopes, names);
			dbpool_reply_error(out, 403, "insufficient_scope",
			                   "a key mints only keys within its own scopes (%s)",
			                   names);
			goto out;
		}
		if (p->expires_at[0] != '\0') {
			/* Same fixed format: the strings compare as the times do. */
			if (o.expires_at != NULL && strcmp(o.expires_at, p->expires_at) > 0) {
				dbpool_reply_error(out, 403, "insufficient_scope",
				                   "a key cannot mint a key that outlives it (%s)",
				                   p->expires_at);
				goto out;
			}
			if (o.expires_at == NULL)
				o.expires_at = p->expires_at;
		}
	}
	if (keys_mint_opts(db, &o, &token, &key_id, &cause) != 0) {
		dbpool_reply_db_error(out, "mint key", cause);
		goto out;
	}
	memcpy(prefix, token, KEYS_DISPLAY_LEN);
	prefix[KEYS_DISPLAY_LEN] = '\0';
	keys_scopes_format(o.scopes, names);
	dbpool_reply_header(out, "Cache-Control", "no-store");
	api_reply_doc(out, 201,
	              json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s?}", "id", key_id, "workspace",
	                        c->slug, "name", r.name, "prefix", prefix, "token", token, "scopes",
	                        api_scopes_json(names), "expires_at", o.expires_at));
	log_info("api: key %s (%s) minted for workspace %s%s%s", key_id, names, c->slug,
	         p->admin     ? ""
	         : p->session ? " from the settings page"
	                      : " by key ",
	         p->admin || p->session ? "" : p->key_id);
	explicit_bzero(token, strlen(token));
out:
	free(cause);
	free(token);
	free(key_id);
	free(r.name);
}

static void
api_keys_revoke(PGconn *db, const struct api_call *c, const struct auth_principal *p,
                struct dbpool_reply *out)
{
	struct tenancy_ws ws;
	char *cause = NULL;
	int result = 2;

	if (api_workspace(db, c, p, &ws, out) != 0 || api_scope(p, KEYS_SCOPE_KEYS, out) != 0)
		return;
	if (names_valid_uuid(c->key_id) &&
	    keys_revoke(db, c->key_id, ws.id, &result, &cause) != 0) {
		dbpool_reply_db_error(out, "revoke key", cause);
		free(cause);
		return;
	}
	if (result == 2) {
		dbpool_reply_error(out, 404, "not_found", "no such key");
	} else {
		if (result == 0)
			log_info("api: key %s of workspace %s revoked", c->key_id, c->slug);
		out->status = 204;
	}
}

static void
api_migrate_report(const struct migration *m, void *arg)
{
	json_array_append_new(arg, json_string(m->name));
}

static void
api_migrate(PGconn *db, const struct api_call *c, const struct auth_principal *p,
            struct dbpool_reply *out)
{
	json_t *applied;
	char *cause = NULL;
	int n = 0;

	if (!p->admin) {
		dbpool_reply_error(out, 403, "forbidden", "admin only");
		return;
	}
	applied = json_array();
	if (migrate_apply(db, api_migrate_report, applied, &n, &cause) != 0) {
		log_error("api: migrate: %s", cause);
		/* The admin may see which migration failed and why. */
		dbpool_reply_error(out, 500, "migration_failed", "%s", cause);
		free(cause);
		json_decref(applied);
		return;
	}
	log_info("api: migrate applied %d migration%s", n, n == 1 ? "" : "s");
	api_reply_doc(out, 200, json_pack("{s:o, s:i}", "applied", applied, "count", n));
}

/* A GET's 200 carries an ETag (a hash of its body); a client that sends it back in
 * If-None-Match gets 304 without the body: the settings page polls this way, and an
 * unchanged workspace costs it no rendering. */
static void
api_etag(const struct api_call *c, struct dbpool_reply *out)
{
	char hex[65], etag[40];

	if (out->status != 200)
		return;
	util_sha256_hex(out->body.data != NULL ? out->body.data : "", out->body.len, hex);
	snprintf(etag, sizeof etag, "\"%.32s\"", hex);
	dbpool_reply_header(out, "ETag", etag);
	if (c->if_none_match != NULL && strstr(c->if_none_match, etag) != NULL) {
		out->status = 304;
		buf_reset(&out->body);
	}
}

/* Database thread: authenticate, then the operation. */
static void
api_work(PGconn *db, void *arg, struct dbpool_reply *out)
{
	struct api_call *c = arg;
	struct auth_creds creds = {c->authorization, c->admin, c->cookie, c->csrf, c->unsafe};
	struct auth_principal p;

	if (api_authenticate_creds(db, &creds, api.admin_secret, &p, out) != 0)
		return;
	switch (c->op) {
	case API_LIST:
		api_list(db, c, &p, out);
		break;
	case API_GET:
		api_get(db, c, &p, out);
		break;
	case API_PROVISION:
		api_provision(db, c, &p, out);
		break;
	case API_KEYS_LIST:
		api_keys_list(db, c, &p, out);
		break;
	case API_KEYS_MINT:
		api_keys_mint(db, c, &p, out);
		break;
	case API_KEYS_REVOKE:
		api_keys_revoke(db, c, &p, out);
		break;
	case API_MIGRATE:
		api_migrate(db, c, &p, out);
		break;
	}
	if (!c->unsafe)
		api_etag(c, out);
}

/* Whether the operation changes state (its route is not a GET): a session's request for it
 * must carry the CSRF token. No default: a new operation must say. */
static int
api_op_unsafe(enum api_op op)
{
	switch (op) {
	case API_LIST:
	case API_GET:
	case API_KEYS_LIST:
		return 0;
	case API_PROVISION:
	case API_KEYS_MINT:
	case API_KEYS_REVOKE:
	case API_MIGRATE:
		return 1;
	}
	return 1;
}

/* Loop thread: checks what needs no database, copies the request, hands it over. */
static void
api_handle(struct httpd_req *req, void *arg)
{
	enum api_op op = (enum api_op)(intptr_t)arg;
	struct api_call *c;
	const unsigned char *body;
	char *cause = NULL;
	long limit = API_PARSE_PAGE_DEFAULT;
	size_t len;

	body = httpd_body(req, &len);
	if (len > API_MAX_BODY) {
		httpd_error(req, 413, "too_large", "the body is over %d bytes", API_MAX_BODY);
		return;
	}
	if (op == API_KEYS_MINT && !api_parse_is_json(httpd_header(req, "Content-Type"))) {
		httpd_error(req, 415, "unsupported_media_type",
		            "the body must be application/json");
		return;
	}
	if (op == API_LIST && api_parse_limit(httpd_query(req, "limit"), &limit, &cause) != 0) {
		httpd_error(req, 400, "bad_request", "%s", cause);
		free(cause);
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->op = op;
	c->authorization = xstrdup(httpd_header(req, "Authorization"));
	c->admin = xstrdup(httpd_header(req, "x-admin-secret"));
	c->slug = xstrdup(httpd_param(req, "slug"));
	c->key_id = xstrdup(httpd_param(req, "keyId"));
	c->limit = limit;
	if (op == API_LIST)
		c->after = xstrdup(httpd_query(req, "after"));
	if (op == API_KEYS_MINT && body != NULL) {
		c->body = xmalloc(len);
		memcpy(c->body, body, len);
		c->len = len;
	}
	/* The settings page's session (tenancy/session.h), and its polling (api_etag). */
	c->cookie = xstrdup(httpd_header(req, "Cookie"));
	c->csrf = xstrdup(httpd_header(req, "X-CSRF-Token"));
	c->unsafe = api_op_unsafe(op);
	c->if_none_match = xstrdup(httpd_header(req, "If-None-Match"));
	if (op == API_MIGRATE)
		(void)dbpool_submit_timeout(req, api_work, c, api_call_free, API_MIGRATE_MS);
	else if (op == API_PROVISION || op == API_KEYS_MINT || op == API_KEYS_REVOKE)
		(void)dbpool_submit_tx(req, api_work, c, api_call_free); /* no lying "timeout" */
	else
		(void)dbpool_submit(req, api_work, c, api_call_free);
}

void
api_register(const char *admin_secret)
{
	api.admin_secret = xstrdup(admin_secret);
	httpd_route("GET", "/api/workspaces", api_handle, (void *)(intptr_t)API_LIST);
	httpd_route("GET", "/api/workspaces/{slug}", api_handle, (void *)(intptr_t)API_GET);
	httpd_route("POST", "/api/workspaces/{slug}/provision", api_handle,
	            (void *)(intptr_t)API_PROVISION);
	httpd_route("GET", "/api/workspaces/{slug}/keys", api_handle,
	            (void *)(intptr_t)API_KEYS_LIST);
	httpd_route("POST", "/api/workspaces/{slug}/keys", api_handle,
	            (void *)(intptr_t)API_KEYS_MINT);
	httpd_route("DELETE", "/api/workspaces/{slug}/keys/{keyId}", api_handle,
	            (void *)(intptr_t)API_KEYS_REVOKE);
	httpd_route("POST", "/api/admin/migrate", api_handle, (void *)(intptr_t)API_MIGRATE);
}

void
api_stop(void)
{
	util_free_secret(api.admin_secret);
	api.admin_secret = NULL;
}
