/* POST /api/mcp and GET /api/workspaces/{slug}/connect. See mcp_http.h. */
#include "api/mcp_http.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tenancy/connect.h"
#include "tenancy/keys.h"
#include "clients/db.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "api/api.h"
#include "tenancy/auth.h"
#include "tenancy/tenancy.h"
#include "httpd/dbpool.h"
#include "httpd/httpd.h"
#include "api/mcp.h"

static struct {
	char *admin_secret;
	char *public_url;
} mcp_http;

/* What a database thread needs of one request (copies: the request stays on the loop). */
struct mcp_http_call {
	char *authorization;
	char *admin;
	char *version;
	char *slug;
	char *base; /* connect: the public URL to embed */
	char *body;
	size_t len;
};

static void
mcp_http_call_free(void *arg)
{
	struct mcp_http_call *c = arg;

	util_free_secret(c->authorization);
	util_free_secret(c->admin);
	free(c->version);
	free(c->slug);
	free(c->base);
	free(c->body);
	free(c);
}

static struct mcp_http_call *
mcp_http_call_new(struct httpd_req *req)
{
	struct mcp_http_call *c = xcalloc(1, sizeof *c);

	c->authorization = xstrdup(httpd_header(req, "Authorization"));
	c->admin = xstrdup(httpd_header(req, "x-admin-secret"));
	return c;
}

/* Authenticates on the database thread; answers 401/503 itself. Returns 0 when p is set. */
static int
mcp_http_auth(PGconn *db, const struct mcp_http_call *c, struct auth_principal *p,
              struct dbpool_reply *out)
{
	return api_authenticate(db, c->authorization, c->admin, mcp_http.admin_secret, p, out);
}

static void
mcp_http_work(PGconn *db, void *arg, struct dbpool_reply *out)
{
	struct mcp_http_call *c = arg;
	struct auth_principal p;
	struct mcp_reply r;

	if (mcp_http_auth(db, c, &p, out) != 0)
		return;
	mcp_handle(db, &p, c->version, c->body, c->len, &r);
	if (dbpool_cancelled(out)) {
		mcp_reply_free(&r);
		return; /* answered 503 already: rolled back */
	}
	out->status = r.status;
	if (r.body != NULL)
		dbpool_reply_json(out, r.status, r.body);
	mcp_reply_free(&r);
}

static void
mcp_http_post(struct httpd_req *req, void *arg)
{
	const unsigned char *body;
	struct mcp_http_call *c;
	size_t len;

	(void)arg;
	/* The transport requires refusing other browser origins (DNS rebinding). */
	if (!mcp_origin_allowed(httpd_header(req, "Origin"), mcp_http.public_url)) {
		httpd_error(req, 403, "forbidden", "origin not allowed");
		return;
	}
	body = httpd_body(req, &len);
	c = mcp_http_call_new(req);
	c->version = xstrdup(httpd_header(req, "MCP-Protocol-Version"));
	c->len = len;
	c->body = xmalloc(len + 1);
	if (len > 0)
		memcpy(c->body, body, len);
	c->body[len] = '\0';
	/* In a transaction: a batch is applied whole or, when its request was answered 503
	 * first, not at all (so "timeout" is true, and a retry does not meet "already
	 * exists"). */
	(void)dbpool_submit_tx(req, mcp_http_work, c, mcp_http_call_free);
}

static void
mcp_http_connect_work(PGconn *db, void *arg, struct dbpool_reply *out)
{
	struct mcp_http_call *c = arg;
	struct auth_principal p;
	struct connect_files f;
	struct tenancy_ws ws;
	const char *token;
	char *cause = NULL, *text;
	json_t *doc;
	int rc;

	if (mcp_http_auth(db, c, &p, out) != 0)
		return;
	rc = tenancy_workspace(db, &p, c->slug, &ws, &cause);
	if (rc < 0) {
		dbpool_reply_db_error(out, "connect", cause);
		free(cause);
		return;
	}
	if (rc > 0) {
		dbpool_reply_error(out, 404, "not_found", "workspace not found");
		return;
	}
	if (!auth_has_scope(&p, KEYS_SCOPE_READ)) {
		dbpool_reply_error(out, 403, "insufficient_scope", "this key lacks the read scope");
		return;
	}
	/* Only a key the caller holds goes into the files: never the admin secret. */
	if (p.admin) {
		dbpool_reply_error(out, 400, "key_required",
		                   "the connect files embed a workspace key: call with one");
		return;
	}
	/* "Bearer <token>": auth_check accepted it as a key, so it has that shape. */
	token = c->authorization + strcspn(c->authorization, " ");
	token += strspn(token, " ");
	rc = connect_build(db, ws.id, c->base, token, &f, &cause);
	if (rc != 0) {
		if (rc > 0)
			dbpool_reply_error(out, 404, "not_found", "workspace not found");
		else
			dbpool_reply_error(out, 400, "bad_request", "%s", cause);
		free(cause);
		return;
	}
	doc = connect_files_json(c->slug, &f);
	if (doc == NULL || (text = json_dumps(doc, JSON_INDENT(2))) == NULL)
		fatal("out of memory");
	/* The body holds the key: no cache may keep it. */
	dbpool_reply_header(out, "Cache-Control", "no-store");
	dbpool_reply_json(out, 200, text);
	explicit_bzero(text, strlen(text));
	free(text);
	json_decref(doc);
	connect_files_free(&f);
}

static void
mcp_http_connect(struct httpd_req *req, void *arg)
{
	const char *host = httpd_header(req, "Host");
	struct mcp_http_call *c;
	char *base = NULL;

	(void)arg;
	if (mcp_http.public_url != NULL)
		base = xstrdup(mcp_http.public_url);
	else if (host != NULL)
		base = xasprintf("http://%s", host);
	if (base == NULL || !connect_valid_url(base)) {
		free(base);
		httpd_error(req, 400, "bad_request", "set VIBN_PUBLIC_URL: no usable URL to embed");
		return;
	}
	c = mcp_http_call_new(req);
	c->slug = xstrdup(httpd_param(req, "slug"));
	c->base = base;
	(void)dbpool_submit(req, mcp_http_connect_work, c, mcp_http_call_free);
}

void
mcp_http_register(const char *admin_secret, const char *public_url)
{
	mcp_http.admin_secret = xstrdup(admin_secret);
	mcp_http.public_url = xstrdup(public_url);
	httpd_route("POST", "/api/mcp", mcp_http_post, NULL);
	httpd_route_body_max("POST", "/api/mcp", MCP_MAX_BODY);
	httpd_route("GET", "/api/workspaces/{slug}/connect", mcp_http_connect, NULL);
}

void
mcp_http_stop(void)
{
	util_free_secret(mcp_http.admin_secret);
	free(mcp_http.public_url);
	memset(&mcp_http, 0, sizeof mcp_http);
}
