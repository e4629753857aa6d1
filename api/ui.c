/* The settings page and its sign-in. See ui.h. */
#include "ui.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "api/api.h"
#include "api/api_parse.h"
#include "api/mcp.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "httpd/dbpool.h"
#include "httpd/httpd.h"
#include "tenancy/auth.h"
#include "tenancy/connect.h"
#include "tenancy/session.h"
#include "tenancy/tenancy.h"

/* Sign-in bodies are one token or one secret. */
#define UI_MAX_BODY (16 * 1024)

static struct {
	char *admin_secret; /* read by database threads; set before, freed after them */
	char *public_url;
	char *gitea_web; /* Gitea's web address: GITEA_API_URL without /api/v1 */
	long session_ttl;
	int secure; /* the public URL is https: cookies get Secure */
} ui;

/* What a database thread needs of one request (copies). */
struct ui_call {
	char *authorization;
	char *admin;
	char *cookie;
	char *csrf;
	char *link;         /* POST /ui/session: the login link's token */
	char *given_secret; /* POST /ui/session: the admin secret typed in */
	char *slug;
	char *base; /* login-links: the page's address */
	long ttl;
};

static void
ui_wipe_free(char *s)
{
	if (s != NULL)
		explicit_bzero(s, strlen(s));
	free(s);
}

static void
ui_call_free(void *arg)
{
	struct ui_call *c = arg;

	ui_wipe_free(c->authorization);
	ui_wipe_free(c->admin);
	ui_wipe_free(c->cookie);
	ui_wipe_free(c->csrf);
	ui_wipe_free(c->link);
	ui_wipe_free(c->given_secret);
	free(c->slug);
	free(c->base);
	free(c);
}

static struct ui_call *
ui_call_new(struct httpd_req *req)
{
	struct ui_call *c = xcalloc(1, sizeof *c);

	c->cookie = xstrdup(httpd_header(req, "Cookie"));
	c->csrf = xstrdup(httpd_header(req, "X-CSRF-Token"));
	return c;
}

/* The page's security headers, on every /ui/ answer. */
static void
ui_headers(struct httpd_req *req)
{
	httpd_set_header(req, "Content-Security-Policy", UI_CSP);
	/* For browsers older than frame-ancestors. */
	httpd_set_header(req, "X-Frame-Options", "DENY");
	httpd_set_header(req, "X-Content-Type-Options", "nosniff");
	httpd_set_header(req, "Referrer-Policy", "no-referrer");
	httpd_set_header(req, "Cross-Origin-Opener-Policy", "same-origin");
}

/* Replies a jansson document (stolen) from a database thread. */
static void
ui_reply_doc(struct dbpool_reply *out, int status, json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT);

	if (s == NULL)
		fatalx("ui: out of memory");
	dbpool_reply_json(out, status, s);
	buf_putc(&out->body, '\n');
	explicit_bzero(s, strlen(s));
	free(s);
	json_decref(doc);
}

/* Set-Cookie for a session token (NULL: clear the cookie). */
static void
ui_cookie(struct dbpool_reply *out, const char *token)
{
	char *v;

	if (token != NULL)
		v = xasprintf("%s=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Strict%s",
		              SESSION_COOKIE, token, ui.session_ttl, ui.secure ? "; Secure" : "");
	else
		v = xasprintf("%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s", SESSION_COOKIE,
		              ui.secure ? "; Secure" : "");
	dbpool_reply_header(out, "Set-Cookie", v);
	explicit_bzero(v, strlen(v));
	free(v);
}

static json_t *
ui_str_or_null(const char *s)
{
	return s != NULL && *s != '\0' ? json_string(s) : json_null();
}

/* A signed-in answer: who, and the session's CSRF token (the page's only way to learn it). */
static json_t *
ui_session_doc(const char *token, int admin, const char *slug, const char *expires_at)
{
	char csrf[65];
	json_t *doc;

	session_csrf(token, csrf);
	doc = json_pack("{s:b, s:b, s:o, s:s, s:o, s:o}", "signedIn", 1, "admin", admin,
	                "workspace", ui_str_or_null(admin ? NULL : slug), "csrf", csrf, "giteaUrl",
	                ui_str_or_null(ui.gitea_web), "expiresAt", ui_str_or_null(expires_at));
	explicit_bzero(csrf, sizeof csrf);
	if (doc == NULL)
		fatalx("ui: out of memory");
	return doc;
}

/* GET /: to the page. */
static void
ui_redirect(struct httpd_req *req, void *arg)
{
	static const char body[] = "<!doctype html><title>vibn</title>"
	                           "<a href=\"/ui/\">Workspace settings</a>\n";

	ui_headers(req);
	httpd_set_header(req, "Location", "/ui/");
	httpd_reply(req, 302, "text/html; charset=utf-8", body, sizeof body - 1);
}

const struct ui_asset *
ui_asset_find(const char *name)
{
	for (int i = 0; i < ui_assets_count; i++)
		if (strcmp(ui_assets[i].name, name) == 0)
			return &ui_assets[i];
	return NULL;
}

/* GET /ui/ and GET /ui/{file}. */
static void
ui_static(struct httpd_req *req, void *arg)
{
	const char *file = httpd_param(req, "file"), *inm = httpd_header(req, "If-None-Match");
	const struct ui_asset *a;

	/* /ui and /ui/ are the page (it names its files by absolute path). */
	if (file == NULL)
		file = "index.html";
	a = ui_asset_find(file);
	if (a == NULL) {
		httpd_error(req, 404, "not_found", "no such file");
		return;
	}
	ui_headers(req);
	httpd_set_header(req, "ETag", a->etag);
	/* Revalidate every time: a new vibnd serves new files at once, and 304s are cheap. */
	httpd_set_header(req, "Cache-Control", "no-cache");
	if (inm != NULL && strstr(inm, a->etag) != NULL) {
		httpd_reply(req, 304, NULL, NULL, 0);
		return;
	}
	httpd_reply(req, 200, a->content_type, a->data, a->len);
}

/* GET /ui/session (database thread). */
static void
ui_session_get_work(PGconn *db, void *arg, struct dbpool_reply *out)
{
	struct ui_call *c = arg;
	struct auth_creds creds = {NULL, NULL, c->cookie, NULL, 0};
	char token[SESSION_TOKEN_HEX + 1], *cause = NULL;
	struct auth_principal p;
	struct tenancy_ws ws;
	int rc;

	dbpool_reply_header(out, "Cache-Control", "no-store");
	switch (auth_check_creds(db, &creds, ui.admin_secret, &p)) {
	case AUTH_OK:
		break;
	case AUTH_DB_ERROR:
		dbpool_reply_error(out, 503, "db_error", "database error");
		return;
	case AUTH_INVALID:
		/* An expired or revoked session: forget the cookie too. */
		ui_cookie(out, NULL);
		/* FALLTHROUGH */
	default:
		ui_reply_doc(out, 200, json_pack("{s:b}", "signedIn", 0));
		return;
	}
	memset(&ws, 0, sizeof ws);
	if (!p.admin) {
		/* Through the one gate, like every API route: the session's own workspace. */
		rc = tenancy_workspace(db, &p, NULL, &ws, &cause);
		if (rc < 0) {
			dbpool_reply_db_error(out, "ui session", cause);
			free(cause);
			return;
		}
		if (rc > 0) {
			ui_reply_doc(out, 200, json_pack("{s:b}", "signedIn", 0));
			return;
		}
	}
	(void)session_from_cookie(c->cookie, token);
	ui_reply_doc(out, 200, ui_session_doc(token, p.admin, ws.slug, NULL));
	explicit_bzero(token, sizeof token);
}

/* POST /ui/session (database thread): a login link, or the admin secret. */
static void
ui_session_post_work(PGconn *db, void *arg, struct dbpool_reply *out)
{
	struct ui_call *c = arg;
	enum session_login_result result = SESSION_LOGIN_UNKNOWN;
	struct auth_principal p;
	struct session_info s;
	char *cause = NULL;

	dbpool_reply_header(out, "Cache-Control", "no-store");
	if (c->given_secret != NULL) {
		if (auth_check(db, NULL, c->given_secret, ui.admin_secret, &p) != AUTH_OK ||
		    !p.admin) {
			log_info("ui: admin sign-in refused");
			dbpool_reply_error(out, 401, "invalid_credentials",
			                   "that is not the admin secret");
			return;
		}
		if (session_admin_login(db, ui.session_ttl, &s, &cause) != 0)
			goto db_fail;
		log_info("ui: admin signed in");
		ui_cookie(out, s.token);
		ui_reply_doc(out, 201, ui_session_doc(s.token, 1, NULL, s.expires_at));
		explicit_bzero(&s, sizeof s);
		return;
	}
	if (session_login(db, c->link, ui.session_ttl, &result, &s, &cause) != 0)
		goto db_fail;
	switch (result) {
	case SESSION_LOGIN_OK:
		log_info("ui: signed in to workspace %s with a login link", s.slug);
		ui_cookie(out, s.token);
		ui_reply_doc(out, 201, ui_session_doc(s.token, 0, s.slug, s.expires_at));
		explicit_bzero(&s, sizeof s);
		return;
	case SESSION_LOGIN_USED:
		log_info("ui: a login link was used again: refused");
		dbpool_reply_error(out, 401, "link_used",
		                   "this sign-in link was already used: each link works once");
		return;
	case SESSION_LOGIN_EXPIRED:
		log_info("ui: an expired login link: refused");
		dbpool_reply_error(out, 401, "link_expired", "this sign-in link has expired");
		return;
	case SESSION_LOGIN_UNKNOWN:
		break;
	}
	log_info("ui: an unknown login link: refused");
	dbpool_reply_error(out, 401, "link_invalid",
	                   "this sign-in link is not valid (mistyped, or cut short?)");
	return;
db_fail:
	dbpool_reply_db_error(out, "ui sign-in", cause);
	free(cause);
}

/* DELETE /ui/session (database thread): sign out. */
static void
ui_session_delete_work(PGconn *db, void *arg, struct dbpool_reply *out)
{
	struct ui_call *c = arg;
	struct auth_creds creds = {NULL, NULL, c->cookie, c->csrf, 1};
	char token[SESSION_TOKEN_HEX + 1], *cause = NULL;
	struct auth_principal p;

	switch (auth_check_creds(db, &creds, ui.admin_secret, &p)) {
	case AUTH_OK:
		(void)session_from_cookie(c->cookie, token);
		if (session_revoke(db, token, &cause) != 0) {
			explicit_bzero(token, sizeof token);
			dbpool_reply_db_error(out, "ui sign-out", cause);
			free(cause);
			return;
		}
		explicit_bzero(token, sizeof token);
		log_info("ui: signed out");
		break;
	case AUTH_CSRF:
		dbpool_reply_error(out, 403, "csrf",
		                   "missing or wrong X-CSRF-Token for this session");
		return;
	case AUTH_DB_ERROR:
		dbpool_reply_error(out, 503, "db_error", "database error");
		return;
	default:
		break;
	}
	ui_cookie(out, NULL);
	out->status = 204;
}

/* Whether a sign-in POST comes from our own page: no Origin (not a browser's cross-site
 * request), the public URL's origin, or the very host it was sent to. A cross-site form
 * cannot send JSON, and this refuses a cross-site fetch that would sign a visitor in to
 * someone else's workspace (login CSRF). */
static int
ui_origin_ok(struct httpd_req *req)
{
	const char *origin = httpd_header(req, "Origin"), *host = httpd_header(req, "Host");
	const char *rest;

	if (origin == NULL || mcp_origin_allowed(origin, ui.public_url))
		return 1;
	if (host == NULL)
		return 0;
	if (strncasecmp(origin, "http://", 7) == 0)
		rest = origin + 7;
	else if (strncasecmp(origin, "https://", 8) == 0)
		rest = origin + 8;
	else
		return 0;
	return strcasecmp(rest, host) == 0;
}

/* Parses {"token": "..."} or {"adminSecret": "..."} into c. Returns 0, or -1 with *cause. */
static int
ui_parse_signin(const unsigned char *body, size_t len, struct ui_call *c, char **cause)
{
	json_t *doc = body != NULL ? json_loadb((const char *)body, len, 0, NULL) : NULL;
	json_t *token, *secret;
	int rc = -1;

	*cause = NULL;
	if (!json_is_object(doc)) {
		*cause = xstrdup("the body must be a JSON object: {\"token\": \"...\"}");
		goto fail;
	}
	token = json_object_get(doc, "token");
	secret = json_object_get(doc, "adminSecret");
	if ((token == NULL) == (secret == NULL) || json_object_size(doc) != 1 ||
	    !json_is_string(token ? token : secret)) {
		*cause =
		    xstrdup("give one string: \"token\" (a sign-in link's) or \"adminSecret\"");
		goto fail;
	}
	if (token != NULL)
		c->link = xstrdup(json_string_value(token));
	else
		c->given_secret = xstrdup(json_string_value(secret));
	rc = 0;
fail:
	json_decref(doc);
	return rc;
}

static int
ui_body_checks(struct httpd_req *req, const unsigned char **body, size_t *len)
{
	*body = httpd_body(req, len);
	if (*len > UI_MAX_BODY) {
		httpd_error(req, 413, "too_large", "the body is over %d bytes", UI_MAX_BODY);
		return -1;
	}
	if (*len > 0 && !api_parse_is_json(httpd_header(req, "Content-Type"))) {
		httpd_error(req, 415, "unsupported_media_type",
		            "the body must be application/json");
		return -1;
	}
	return 0;
}

/* The route's method, for the one handler of /ui/session. */
enum ui_session_op { UI_SESSION_GET, UI_SESSION_POST, UI_SESSION_DELETE };

static void
ui_session(struct httpd_req *req, void *arg)
{
	enum ui_session_op op = (enum ui_session_op)(intptr_t)arg;
	const unsigned char *body;
	struct ui_call *c;
	char *cause = NULL;
	size_t len;

	ui_headers(req);
	if (op == UI_SESSION_POST) {
		if (ui_body_checks(req, &body, &len) != 0)
			return;
		if (len == 0 || !ui_origin_ok(req)) {
			httpd_error(req, len == 0 ? 415 : 403,
			            len == 0 ? "unsupported_media_type" : "forbidden",
			            len == 0 ? "the body must be application/json"
			                     : "origin not allowed");
			return;
		}
		c = ui_call_new(req);
		if (ui_parse_signin(body, len, c, &cause) != 0) {
			httpd_error(req, 400, "bad_request", "%s", cause);
			free(cause);
			ui_call_free(c);
			return;
		}
		(void)dbpool_submit(req, ui_session_post_work, c, ui_call_free);
		return;
	}
	c = ui_call_new(req);
	if (op == UI_SESSION_DELETE)
		(void)dbpool_submit(req, ui_session_delete_work, c, ui_call_free);
	else
		(void)dbpool_submit(req, ui_session_get_work, c, ui_call_free);
}

/* POST /api/workspaces/{slug}/login-links (database thread). */
static void
ui_links_work(PGconn *db, void *arg, struct dbpool_reply *out)
{
	struct ui_call *c = arg;
	struct auth_creds creds = {c->authorization, c->admin, c->cookie, c->csrf, 1};
	char *token = NULL, *expires = NULL, *cause = NULL, *url;
	struct auth_principal p;
	struct tenancy_ws ws;
	int rc;

	if (api_authenticate_creds(db, &creds, ui.admin_secret, &p, out) != 0)
		return;
	/* A sign-in link is a credential for someone else: only the operator's secret makes
	 * one, never a key or a page session (which could then mint itself new ones). */
	if (!p.admin || p.session) {
		dbpool_reply_error(out, 403, "forbidden", "admin only: call with the admin secret");
		return;
	}
	rc = tenancy_workspace(db, &p, c->slug, &ws, &cause);
	if (rc == 0)
		rc = session_link_mint(db, ws.id, c->ttl, &token, &expires, &cause);
	if (rc < 0) {
		dbpool_reply_db_error(out, "login link", cause);
		free(cause);
		return;
	}
	if (rc > 0) {
		dbpool_reply_error(out, 404, "not_found", "no such workspace");
		return;
	}
	url = session_link_url(c->base, token);
	dbpool_reply_header(out, "Cache-Control", "no-store");
	ui_reply_doc(out, 201, json_pack("{s:s, s:s}", "url", url, "expiresAt", expires));
	log_info("ui: login link minted for workspace %s, expires %s", ws.slug, expires);
	ui_wipe_free(url);
	ui_wipe_free(token);
	free(expires);
}

/* Parses the optional body of login-links: {"ttl": "10m"} or {"ttl": 600}. */
static int
ui_parse_ttl(const unsigned char *body, size_t len, long *ttl, char **cause)
{
	json_t *doc, *v;
	int rc = -1;

	*cause = NULL;
	*ttl = SESSION_LINK_TTL;
	if (body == NULL || len == 0)
		return 0;
	doc = json_loadb((const char *)body, len, 0, NULL);
	if (!json_is_object(doc)) {
		*cause = xstrdup("the body must be a JSON object: {\"ttl\": \"10m\"}");
		goto fail;
	}
	v = json_object_get(doc, "ttl");
	if (json_object_size(doc) != (v != NULL ? 1u : 0u)) {
		*cause = xstrdup("the only field is \"ttl\" (e.g. \"10m\")");
		goto fail;
	}
	if (v == NULL)
		rc = 0;
	else if (json_is_integer(v) && json_integer_value(v) >= 1 &&
	         json_integer_value(v) <= SESSION_LINK_TTL_MAX) {
		*ttl = (long)json_integer_value(v);
		rc = 0;
	} else if (json_is_string(v)) {
		rc = session_parse_duration(json_string_value(v), SESSION_LINK_TTL_MAX, ttl, cause);
	} else {
		*cause = xasprintf("ttl: a duration such as \"10m\", or seconds from 1 to %d",
		                   SESSION_LINK_TTL_MAX);
	}
fail:
	json_decref(doc);
	return rc;
}

static void
ui_links(struct httpd_req *req, void *arg)
{
	const char *host = httpd_header(req, "Host");
	const unsigned char *body;
	struct ui_call *c;
	char *cause = NULL, *base = NULL;
	long ttl;
	size_t len;

	if (ui_body_checks(req, &body, &len) != 0)
		return;
	if (ui_parse_ttl(body, len, &ttl, &cause) != 0) {
		api_parse_oneline(cause);
		httpd_error(req, 400, "bad_request", "%s", cause);
		free(cause);
		return;
	}
	if (ui.public_url != NULL)
		base = xstrdup(ui.public_url);
	else if (host != NULL)
		base = xasprintf("http://%s", host);
	if (base == NULL || !connect_valid_url(base)) {
		free(base);
		httpd_error(req, 400, "bad_request",
		            "set VIBN_PUBLIC_URL: no usable URL for the link");
		return;
	}
	c = ui_call_new(req);
	c->authorization = xstrdup(httpd_header(req, "Authorization"));
	c->admin = xstrdup(httpd_header(req, "x-admin-secret"));
	c->slug = xstrdup(httpd_param(req, "slug"));
	c->base = base;
	c->ttl = ttl;
	(void)dbpool_submit(req, ui_links_work, c, ui_call_free);
}

void
ui_register(const struct ui_config *cfg)
{
	const char *g = cfg->gitea_url;

	ui.admin_secret = xstrdup(cfg->admin_secret);
	ui.public_url = xstrdup(cfg->public_url);
	ui.session_ttl = cfg->session_ttl;
	ui.secure = cfg->public_url != NULL && strncasecmp(cfg->public_url, "https://", 8) == 0;
	if (g != NULL) {
		size_t n = strlen(g);

		while (n > 0 && g[n - 1] == '/')
			n--;
		if (n >= 7 && strncmp(g + n - 7, "/api/v1", 7) == 0)
			n -= 7;
		ui.gitea_web = xstrndup(g, n);
	}
	httpd_route("GET", "/", ui_redirect, NULL);
	httpd_route("GET", "/ui", ui_static, NULL);
	httpd_route("GET", "/ui/session", ui_session, (void *)(intptr_t)UI_SESSION_GET);
	httpd_route("POST", "/ui/session", ui_session, (void *)(intptr_t)UI_SESSION_POST);
	httpd_route("DELETE", "/ui/session", ui_session, (void *)(intptr_t)UI_SESSION_DELETE);
	httpd_route("GET", "/ui/{file}", ui_static, NULL);
	httpd_route("POST", "/api/workspaces/{slug}/login-links", ui_links, NULL);
}

void
ui_stop(void)
{
	ui_wipe_free(ui.admin_secret);
	free(ui.public_url);
	free(ui.gitea_web);
	memset(&ui, 0, sizeof ui);
}
