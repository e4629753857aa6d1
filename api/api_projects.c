#include "api_projects.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/api.h"
#include "api/api_parse.h"
#include "api/api_parse_project.h"
#include "api/projects.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "httpd/dbpool.h"
#include "httpd/httpd.h"
#include "tenancy/keys.h"
#include "tenancy/tenancy.h"

/* A project body is a name, a description (at most 2048 characters) and an app. */
#define API_PROJECTS_MAX_BODY (32 * 1024)

enum api_projects_op {
	API_PROJECTS_LIST,
	API_PROJECTS_CREATE,
	API_PROJECTS_GET,
	API_PROJECTS_DELETE
};

static struct {
	char *admin_secret; /* read by database threads; set before, freed after them */
} api_projects;

struct api_projects_call {
	enum api_projects_op op;
	char *authorization;
	char *admin;
	char *cookie; /* the settings page's session */
	char *csrf;
	char *slug;
	char *id;
	char *after;
	long limit;
	int delete_repo;
	char *body;
	size_t len;
};

static void
api_projects_call_free(void *arg)
{
	struct api_projects_call *c = arg;

	util_free_secret(c->authorization);
	util_free_secret(c->admin);
	util_free_secret(c->cookie);
	free(c->csrf);
	free(c->slug);
	free(c->id);
	free(c->after);
	free(c->body);
	free(c);
}

/* Replies with a jansson document (stolen). */
static void
api_projects_reply(struct dbpool_reply *out, int status, json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT);

	if (s == NULL)
		fatal("out of memory");
	dbpool_reply_json(out, status, s);
	buf_putc(&out->body, '\n');
	free(s);
	json_decref(doc);
}

/* {"error", "code"} plus "field" and "existing" when known. */
static void
api_projects_refused(struct dbpool_reply *out, const struct projects_err *e)
{
	json_t *doc = json_pack("{s:s, s:s}", "error", e->message, "code", e->code);

	if (e->field != NULL)
		json_object_set_new(doc, "field", json_string(e->field));
	if (e->existing != NULL)
		json_object_set_new(doc, "existing", json_string(e->existing));
	api_projects_reply(out, e->status, doc);
}

static void
api_projects_create(PGconn *db, const struct api_projects_call *c, const struct tenancy_ws *ws,
                    struct dbpool_reply *out)
{
	struct api_project_req req;
	struct projects_err e;
	char *field = NULL, *cause = NULL;
	json_t *doc = NULL;
	int rc;

	memset(&e, 0, sizeof e);
	/* The body is read only once the caller may see the workspace: strangers learn
	 * nothing, not even what a valid body is. */
	rc = api_parse_project(c->body, c->len, &req, &field, &cause);
	if (rc != 0) {
		e.status = rc == API_PARSE_BAD ? 400 : 422;
		e.code = rc == API_PARSE_BAD ? "bad_request" : "invalid_field";
		e.field = field;
		e.message = cause;
		api_projects_refused(out, &e);
		projects_err_free(&e);
		return;
	}
	switch (projects_create(db, ws, &req, &doc, &e, &cause)) {
	case 0:
		api_projects_reply(out, 201, doc);
		break;
	case 1:
		api_projects_refused(out, &e);
		break;
	default:
		dbpool_reply_db_error(out, "create project", cause);
	}
	projects_err_free(&e);
	api_parse_project_free(&req);
	free(cause);
}

/* Database thread: authenticate, the gate, then the operation. */
static void
api_projects_work(PGconn *db, void *arg, struct dbpool_reply *out)
{
	struct api_projects_call *c = arg;
	struct auth_principal p;
	struct tenancy_ws ws;
	struct projects_err e;
	char *cause = NULL;
	json_t *doc = NULL;
	int rc;

	struct auth_creds creds = {c->authorization, c->admin, c->cookie, c->csrf,
	                           c->op == API_PROJECTS_CREATE || c->op == API_PROJECTS_DELETE};

	if (api_authenticate_creds(db, &creds, api_projects.admin_secret, &p, out) != 0)
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
	if (api_scope(&p,
	              c->op == API_PROJECTS_CREATE || c->op == API_PROJECTS_DELETE
	                  ? KEYS_SCOPE_WRITE
	                  : KEYS_SCOPE_READ,
	              out) != 0)
		return;
	memset(&e, 0, sizeof e);
	switch (c->op) {
	case API_PROJECTS_CREATE:
		api_projects_create(db, c, &ws, out);
		return;
	case API_PROJECTS_LIST:
		rc = projects_list(db, &ws, c->limit, c->after, &doc, &cause);
		break;
	case API_PROJECTS_GET:
		rc = projects_get(db, &ws, c->id, &doc, &e, &cause);
		break;
	case API_PROJECTS_DELETE:
		rc = projects_delete(db, &ws, c->id, c->delete_repo, &doc, &e, &cause);
		break;
	default:
		rc = -1;
		cause = xstrdup("unknown operation");
	}
	if (rc == 0)
		api_projects_reply(out, c->op == API_PROJECTS_DELETE ? 202 : 200, doc);
	else if (rc == 1)
		api_projects_refused(out, &e);
	else
		dbpool_reply_db_error(out, "projects", cause);
	projects_err_free(&e);
	free(cause);
}

/* Loop thread: checks what needs no database, copies the request, hands it over. */
static void
api_projects_handle(struct httpd_req *req, void *arg)
{
	enum api_projects_op op = (enum api_projects_op)(intptr_t)arg;
	struct api_projects_call *c;
	const unsigned char *body;
	char *cause = NULL;
	long limit = API_PARSE_PAGE_DEFAULT;
	int delete_repo = 0;
	size_t len;

	body = httpd_body(req, &len);
	if (len > API_PROJECTS_MAX_BODY) {
		httpd_error(req, 413, "too_large", "the body is over %d bytes",
		            API_PROJECTS_MAX_BODY);
		return;
	}
	if (op == API_PROJECTS_CREATE && !api_parse_is_json(httpd_header(req, "Content-Type"))) {
		httpd_error(req, 415, "unsupported_media_type",
		            "the body must be application/json");
		return;
	}
	if (op == API_PROJECTS_LIST && httpd_query(req, "after") != NULL &&
	    !api_parse_project_id(httpd_query(req, "after"))) {
		httpd_error(req, 400, "bad_request", "after must be a project id");
		return;
	}
	if ((op == API_PROJECTS_LIST &&
	     api_parse_limit(httpd_query(req, "limit"), &limit, &cause) != 0) ||
	    (op == API_PROJECTS_DELETE &&
	     api_parse_project_bool("deleteRepo", httpd_query(req, "deleteRepo"), &delete_repo,
	                            &cause) != 0)) {
		httpd_error(req, 400, "bad_request", "%s", cause);
		free(cause);
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->op = op;
	c->authorization = xstrdup_null(httpd_header(req, "Authorization"));
	c->admin = xstrdup_null(httpd_header(req, "x-admin-secret"));
	c->cookie = xstrdup_null(httpd_header(req, "Cookie"));
	c->csrf = xstrdup_null(httpd_header(req, "X-CSRF-Token"));
	c->slug = xstrdup_null(httpd_param(req, "slug"));
	c->id = xstrdup_null(httpd_param(req, "id"));
	c->limit = limit;
	c->delete_repo = delete_repo;
	if (op == API_PROJECTS_LIST)
		c->after = xstrdup_null(httpd_query(req, "after"));
	if (op == API_PROJECTS_CREATE && body != NULL && len > 0) {
		c->body = xmalloc(len);
		memcpy(c->body, body, len);
		c->len = len;
	}
	/* Writes commit only if their request is still owed an answer: never a 503 "timeout"
	 * for a project that was made. */
	if (op == API_PROJECTS_CREATE || op == API_PROJECTS_DELETE)
		(void)dbpool_submit_tx(req, api_projects_work, c, api_projects_call_free);
	else
		(void)dbpool_submit(req, api_projects_work, c, api_projects_call_free);
}

void
api_projects_register(const char *admin_secret)
{
	api_projects.admin_secret = xstrdup_null(admin_secret);
	httpd_route("GET", "/api/workspaces/{slug}/projects", api_projects_handle,
	            (void *)(intptr_t)API_PROJECTS_LIST);
	httpd_route("POST", "/api/workspaces/{slug}/projects", api_projects_handle,
	            (void *)(intptr_t)API_PROJECTS_CREATE);
	httpd_route("GET", "/api/workspaces/{slug}/projects/{id}", api_projects_handle,
	            (void *)(intptr_t)API_PROJECTS_GET);
	httpd_route("DELETE", "/api/workspaces/{slug}/projects/{id}", api_projects_handle,
	            (void *)(intptr_t)API_PROJECTS_DELETE);
}

void
api_projects_stop(void)
{
	util_free_secret(api_projects.admin_secret);
	api_projects.admin_secret = NULL;
}
