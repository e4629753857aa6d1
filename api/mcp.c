/* The MCP JSON-RPC engine and its workspace tools. See mcp.h. */
#include "api/mcp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clients/db.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "manifests/mf_spec.h"
#include "common/names.h"
#include "api/mcp_projects.h"
#include "tenancy/quota.h"
#include "httpd/dbpool.h"
#include "tenancy/keys.h"
#include "tenancy/tenancy.h"

#ifndef VIBN_VERSION
#define VIBN_VERSION "dev"
#endif

static const char *const mcp_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

static const char mcp_instructions[] =
    "These tools act on one vibn workspace: the one your API key belongs to. Repos and apps "
    "you create here are desired state: the vibn reconciler creates them in Gitea and Coolify "
    "within seconds; call workspace_status to watch the conditions turn True. Create repos and "
    "apps through these tools, never by hand upstream.";

/* A tool: 0 with *result (a new object), 1 with *err (a new string: a tool error). */
typedef int (*mcp_tool_fn)(PGconn *db, const struct tenancy_ws *ws, json_t *args, json_t **result,
                           char **err);

struct mcp_tool {
	const char *name;
	const char *title;
	const char *description;
	const char *properties; /* JSON object text: the inputSchema's properties but "workspace" */
	const char *required;   /* JSON array text */
	int read_only;
	mcp_tool_fn fn;
};

int
mcp_version_supported(const char *v)
{
	for (size_t i = 0; v != NULL && i < nitems(mcp_versions); i++)
		if (strcmp(v, mcp_versions[i]) == 0)
			return 1;
	return 0;
}

/* Length of the scheme://host[:port] prefix of url. */
static size_t
mcp_origin_len(const char *url)
{
	const char *p = strstr(url, "://");

	if (p == NULL)
		return 0;
	p += 3;
	return (size_t)(p - url) + strcspn(p, "/?#");
}

int
mcp_origin_allowed(const char *origin, const char *public_url)
{
	size_t n;

	if (origin == NULL)
		return 1;
	if (public_url == NULL || (n = mcp_origin_len(public_url)) == 0)
		return 0;
	return strlen(origin) == n && strncasecmp(origin, public_url, n) == 0;
}

void
mcp_reply_free(struct mcp_reply *r)
{
	free(r->body);
	r->body = NULL;
}

/* ---- JSON-RPC messages ------------------------------------------------------------ */

/* A JSON-RPC error response; id is borrowed (NULL: null). Returns a new reference. */
static json_t *mcp_error(json_t *id, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_t *
mcp_error(json_t *id, int code, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	json_t *e;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	e = json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(),
	              "error", "code", code, "message", msg);
	free(msg);
	if (e == NULL)
		fatal("out of memory");
	return e;
}

/* A success response; result is stolen. */
static json_t *
mcp_result(json_t *id, json_t *result)
{
	json_t *r = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result);

	if (r == NULL)
		fatal("out of memory");
	return r;
}

/* MCP ids are strings or integers (never null). */
static int
mcp_valid_id(const json_t *id)
{
	return json_is_string(id) || json_is_integer(id);
}

/* ---- arguments -------------------------------------------------------------------- */

/* A string argument: 0 with *out (borrowed, or def when absent), 1 with *err. Strings
 * holding NUL are refused: Postgres text cannot store them. */
static int
mcp_arg_string(json_t *args, const char *key, const char *def, const char **out, char **err)
{
	json_t *v = json_object_get(args, key);

	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		*err = xasprintf("argument \"%s\" must be a string", key);
		return 1;
	}
	*out = json_string_value(v);
	return 0;
}

static int
mcp_arg_bool(json_t *args, const char *key, int def, int *out, char **err)
{
	json_t *v = json_object_get(args, key);

	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (!json_is_boolean(v)) {
		*err = xasprintf("argument \"%s\" must be true or false", key);
		return 1;
	}
	*out = json_is_true(v);
	return 0;
}

/* Refuses arguments the tool's schema does not name (additionalProperties: false). */
static int
mcp_args_known(json_t *args, const struct mcp_tool *t, char **err)
{
	json_t *props = json_loads(t->properties, 0, NULL);
	const char *key;
	json_t *v;
	int rc = 0;

	if (props == NULL)
		fatal("mcp: tool %s: bad schema", t->name);
	json_object_foreach(args, key, v)
	{
		if (strcmp(key, "workspace") != 0 && json_object_get(props, key) == NULL) {
			*err = xasprintf("%s: unknown argument \"%s\"", t->name, key);
			rc = 1;
			break;
		}
	}
	json_decref(props);
	return rc;
}

/* ---- workspace scope -------------------------------------------------------------- */

/* Resolves the workspace a call acts on. A key acts on its own workspace; naming another
 * (or one that does not exist) gets the same answer, so nothing leaks. Returns 0, 1 with
 * *err (a tool error), or -1 with *err (database). */
static int
mcp_scope(PGconn *db, const struct auth_principal *p, json_t *args, struct tenancy_ws *ws,
          char **err)
{
	const char *slug = NULL;
	char *cause = NULL;

	if (mcp_arg_string(args, "workspace", NULL, &slug, err) != 0)
		return 1;
	if (p->admin && slug == NULL) {
		*err = xstrdup("argument \"workspace\" (the workspace slug) is required");
		return 1;
	}
	switch (tenancy_workspace(db, p, slug, ws, &cause)) {
	case 0:
		return 0;
	case 1:
		break;
	default:
		*err = cause;
		return -1;
	}
	if (slug != NULL)
		*err = xasprintf("workspace \"%s\" not found", slug);
	else
		*err = xstrdup("this key's workspace no longer exists");
	return 1;
}

/* ---- tools ------------------------------------------------------------------------ */

static int
mcp_tool_status(PGconn *db, const struct tenancy_ws *ws, json_t *args, json_t **result, char **err)
{
	const char *param[1] = {ws->id};
	char *cause = NULL;
	PGresult *res;
	json_t *conds;

	(void)args;
	res = db_exec(
	    db,
	    "SELECT w.slug, w.name, w.provision_status, w.paused, w.generation, "
	    "       w.observed_generation, w.gitea_org, w.coolify_project_uuid, "
	    "       w.last_error, w.conditions::text, "
	    "       (SELECT count(*) FROM vibn_workspace_repos r WHERE r.workspace_id = w.id), "
	    "       (SELECT count(*) FROM vibn_workspace_apps a WHERE a.workspace_id = w.id), "
	    "       EXISTS (SELECT 1 FROM vibn_reconcile_queue q WHERE q.workspace_id = w.id) "
	    "  FROM vibn_workspaces w WHERE w.id = $1",
	    1, param, &cause);
	if (res == NULL) {
		*err = cause;
		return -1;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		*err = xstrdup("workspace not found");
		return 1;
	}
	conds = json_loads(PQgetvalue(res, 0, 9), 0, NULL);
	*result = json_pack(
	    "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "workspace",
	    db_json_text(res, 0, 0), "name", db_json_text(res, 0, 1), "provisionStatus",
	    db_json_text(res, 0, 2), "paused", json_boolean(db_bool(res, 0, 3)), "generation",
	    db_json_int(res, 0, 4), "observedGeneration", db_json_int(res, 0, 5), "giteaOrg",
	    db_json_text(res, 0, 6), "coolifyProjectUuid", db_json_text(res, 0, 7), "lastError",
	    db_json_text(res, 0, 8), "conditions", conds ? conds : json_array(), "repos",
	    db_json_int(res, 0, 10), "apps", db_json_int(res, 0, 11), "reconcilePending",
	    json_boolean(db_bool(res, 0, 12)));
	PQclear(res);
	return 0;
}

static json_t *
mcp_repo_json(PGresult *res, int row)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o}", "name", db_json_text(res, row, 0), "private",
	                 json_boolean(db_bool(res, row, 1)), "description",
	                 db_json_text(res, row, 2), "defaultBranch", db_json_text(res, row, 3),
	                 "giteaRepoId", db_json_int(res, row, 4));
}

static int
mcp_tool_list_repos(PGconn *db, const struct tenancy_ws *ws, json_t *args, json_t **result,
                    char **err)
{
	const char *param[1] = {ws->id};
	char *cause = NULL;
	PGresult *res;
	json_t *repos;

	(void)args;
	res = db_exec(db,
	              "SELECT name, private, description, default_branch, gitea_repo_id "
	              "  FROM vibn_workspace_repos WHERE workspace_id = $1 ORDER BY lower(name)",
	              1, param, &cause);
	if (res == NULL) {
		*err = cause;
		return -1;
	}
	repos = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(repos, mcp_repo_json(res, i));
	PQclear(res);
	*result = json_pack("{s:s, s:o}", "workspace", ws->slug, "repos", repos);
	return 0;
}

/* Opens a unit of work (a transaction, or a savepoint in the request's) holding the
 * workspace's quota of kind k for one more object: 0 (end it with db_tx_end), 1 with *err
 * (the quota is reached), -1 with *err (database); both after a rollback. */
static int
mcp_quota_begin(PGconn *db, const struct tenancy_ws *ws, enum quota_kind k, struct db_tx *tx,
                char **err)
{
	char *msg = NULL;
	int rc;

	if (db_tx_begin(db, tx, err) != 0)
		return -1;
	rc = quota_check(db, ws->id, ws->slug, k, 1, &msg, err);
	if (rc == 0)
		return 0;
	if (rc == 1)
		*err = msg;
	db_tx_end(db, tx, 0, NULL);
	return rc;
}

static int
mcp_tool_create_repo(PGconn *db, const struct tenancy_ws *ws, json_t *args, json_t **result,
                     char **err)
{
	struct db_tx tx;
	const char *name, *desc, *branch, *param[5];
	char *cause = NULL;
	PGresult *res;
	int priv, rc;

	if (mcp_arg_string(args, "name", NULL, &name, err) ||
	    mcp_arg_bool(args, "private", 1, &priv, err) ||
	    mcp_arg_string(args, "description", "", &desc, err) ||
	    mcp_arg_string(args, "defaultBranch", "main", &branch, err))
		return 1;
	if (name == NULL) {
		*err = xstrdup("argument \"name\" is required");
		return 1;
	}
	if (!names_valid_repo_name(name)) {
		*err =
		    xasprintf("invalid repo name \"%s\": use letters, digits, '-', '_' and '.', at "
		              "most %d characters, not ending in .git, .wiki, .rss or .atom",
		              name, NAMES_REPO_MAX);
		return 1;
	}
	if (strlen(desc) > MF_DESCRIPTION_MAX) {
		*err = xasprintf("description is longer than %d bytes", MF_DESCRIPTION_MAX);
		return 1;
	}
	if (!mf_spec_valid_branch(branch)) {
		*err = xasprintf("invalid branch name \"%s\"", branch);
		return 1;
	}
	param[0] = ws->id;
	param[1] = name;
	param[2] = priv ? "t" : "f";
	param[3] = desc;
	param[4] = branch;
	if ((rc = mcp_quota_begin(db, ws, QUOTA_REPOS, &tx, err)) != 0)
		return rc;
	/* The repos trigger bumps the workspace's generation, which enqueues it. */
	res = db_exec(db,
	              "INSERT INTO vibn_workspace_repos "
	              "       (workspace_id, name, private, description, default_branch) "
	              "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING "
	              "RETURNING name, private, description, default_branch, gitea_repo_id",
	              5, param, &cause);
	if (res == NULL || db_tx_end(db, &tx, PQntuples(res) == 1, &cause) != 0) {
		PQclear(res);
		db_tx_end(db, &tx, 0, NULL);
		*err = cause;
		return -1;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		*err = xasprintf("a repo named \"%s\" already exists in workspace %s (names are "
		                 "case-insensitive)",
		                 name, ws->slug);
		return 1;
	}
	*result = json_pack("{s:s, s:o, s:b, s:s}", "workspace", ws->slug, "repo",
	                    mcp_repo_json(res, 0), "created", 1, "message",
	                    "declared; the reconciler creates it in the workspace's Gitea org");
	PQclear(res);
	return 0;
}

static json_t *
mcp_app_json(PGresult *res, int row)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "name", db_json_text(res, row, 0),
	                 "repo", db_json_text(res, row, 1), "branch", db_json_text(res, row, 2),
	                 "buildPack", db_json_text(res, row, 3), "ports", db_json_text(res, row, 4),
	                 "coolifyAppUuid", db_json_text(res, row, 5));
}

static int
mcp_tool_list_apps(PGconn *db, const struct tenancy_ws *ws, json_t *args, json_t **result,
                   char **err)
{
	const char *param[1] = {ws->id};
	char *cause = NULL;
	PGresult *res;
	json_t *apps;

	(void)args;
	res = db_exec(db,
	              "SELECT name, repo, branch, build_pack, ports, coolify_app_uuid "
	              "  FROM vibn_workspace_apps WHERE workspace_id = $1 ORDER BY lower(name)",
	              1, param, &cause);
	if (res == NULL) {
		*err = cause;
		return -1;
	}
	apps = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(apps, mcp_app_json(res, i));
	PQclear(res);
	*result = json_pack("{s:s, s:o}", "workspace", ws->slug, "apps", apps);
	return 0;
}

/* Why an app insert wrote nothing: its repo is not declared, or the name is taken. */
static int
mcp_app_conflict(PGconn *db, const struct tenancy_ws *ws, const char *name, const char *repo,
                 char **err)
{
	const char *param[2] = {ws->id, repo};
	char *cause = NULL;
	PGresult *res;
	int have_repo;

	res = db_exec(db,
	              "SELECT 1 FROM vibn_workspace_repos "
	              " WHERE workspace_id = $1 AND lower(name) = lower($2)",
	              2, param, &cause);
	if (res == NULL) {
		*err = cause;
		return -1;
	}
	have_repo = PQntuples(res) > 0;
	PQclear(res);
	if (!have_repo)
		*err = xasprintf("repo \"%s\" is not declared in workspace %s: create it first "
		                 "(create_repo)",
		                 repo, ws->slug);
	else
		*err = xasprintf("an app named \"%s\" already exists in workspace %s (names are "
		                 "case-insensitive)",
		                 name, ws->slug);
	return 1;
}

static int
mcp_tool_create_app(PGconn *db, const struct tenancy_ws *ws, json_t *args, json_t **result,
                    char **err)
{
	struct db_tx tx;
	const char *name, *repo, *branch, *pack, *ports, *param[6];
	char *cause = NULL;
	PGresult *res;
	int rc;

	if (mcp_arg_string(args, "name", NULL, &name, err) ||
	    mcp_arg_string(args, "repo", NULL, &repo, err) ||
	    mcp_arg_string(args, "branch", "main", &branch, err) ||
	    mcp_arg_string(args, "buildPack", "nixpacks", &pack, err) ||
	    mcp_arg_string(args, "ports", "3000", &ports, err))
		return 1;
	if (name == NULL || repo == NULL) {
		*err = xstrdup("arguments \"name\" and \"repo\" are required");
		return 1;
	}
	if (!names_valid_repo_name(name)) {
		*err = xasprintf("invalid app name \"%s\": apps follow the repo name rule", name);
		return 1;
	}
	if (!names_valid_repo_name(repo)) {
		*err = xasprintf("invalid repo name \"%s\"", repo);
		return 1;
	}
	if (!mf_spec_valid_branch(branch)) {
		*err = xasprintf("invalid branch name \"%s\"", branch);
		return 1;
	}
	if (!mf_spec_valid_build_pack(pack)) {
		*err = xasprintf("invalid buildPack \"%s\": one of nixpacks, railpack, static, "
		                 "dockerfile, dockercompose",
		                 pack);
		return 1;
	}
	if (!mf_spec_valid_ports(ports)) {
		*err = xasprintf(
		    "invalid ports \"%s\": comma-separated port numbers, e.g. \"3000\"", ports);
		return 1;
	}
	param[0] = ws->id;
	param[1] = name;
	param[2] = repo;
	param[3] = branch;
	param[4] = pack;
	param[5] = ports;
	if ((rc = mcp_quota_begin(db, ws, QUOTA_APPS, &tx, err)) != 0)
		return rc;
	/* Only from a declared repo (its stored spelling): what manifests require too. */
	res = db_exec(db,
	              "INSERT INTO vibn_workspace_apps "
	              "       (workspace_id, name, repo, branch, build_pack, ports) "
	              "SELECT $1, $2, r.name, $4, $5, $6 FROM vibn_workspace_repos r "
	              " WHERE r.workspace_id = $1 AND lower(r.name) = lower($3) "
	              "ON CONFLICT DO NOTHING "
	              "RETURNING name, repo, branch, build_pack, ports, coolify_app_uuid",
	              6, param, &cause);
	if (res == NULL || db_tx_end(db, &tx, PQntuples(res) == 1, &cause) != 0) {
		PQclear(res);
		db_tx_end(db, &tx, 0, NULL);
		*err = cause;
		return -1;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		return mcp_app_conflict(db, ws, name, repo, err);
	}
	*result = json_pack(
	    "{s:s, s:o, s:b, s:s}", "workspace", ws->slug, "app", mcp_app_json(res, 0), "created",
	    1, "message", "declared; the reconciler creates it in the workspace's Coolify project");
	PQclear(res);
	return 0;
}

static int
mcp_tool_reconcile(PGconn *db, const struct tenancy_ws *ws, json_t *args, json_t **result,
                   char **err)
{
	const char *param[1] = {ws->id};

	(void)args;
	if (db_command(db, "SELECT vibn_enqueue($1, 0::smallint, 'mcp')", 1, param, err) != 0)
		return -1;
	*result = json_pack("{s:s, s:b, s:s}", "workspace", ws->slug, "queued", 1, "message",
	                    "queued at interactive priority; watch workspace_status");
	return 0;
}

#define MCP_NAME_SCHEMA                                                                            \
	"{\"type\": \"string\", \"minLength\": 1, \"maxLength\": 100, "                            \
	"\"pattern\": \"^[A-Za-z0-9_.-]+$\", "

static const struct mcp_tool mcp_tools[] = {
    {"workspace_status", "Workspace status",
     "The workspace's identity (slug, Gitea org, Coolify project uuid), its provision status, "
     "Kubernetes-style conditions (CoolifyProjectReady, GiteaOrgReady, MembersSynced, "
     "ReposSynced, WebhookReady, AppsReady, Ready) and whether a reconcile is pending.",
     "{}", "[]", 1, mcp_tool_status},
    {"list_repos", "List repos",
     "The workspace's declared git repos; giteaRepoId is null until the reconciler has created "
     "the repo in Gitea.",
     "{}", "[]", 1, mcp_tool_list_repos},
    {"create_repo", "Create a repo",
     "Declares a git repo in the workspace's Gitea org. The reconciler creates it upstream "
     "within seconds (list_repos shows giteaRepoId once it has).",
     "{\"name\": " MCP_NAME_SCHEMA "\"description\": \"repo name (Gitea's rule)\"}, "
     "\"private\": {\"type\": \"boolean\", \"default\": true}, "
     "\"description\": {\"type\": \"string\", \"maxLength\": 2048, \"default\": \"\"}, "
     "\"defaultBranch\": {\"type\": \"string\", \"maxLength\": 255, \"default\": \"main\"}}",
     "[\"name\"]", 0, mcp_tool_create_repo},
    {"list_apps", "List apps",
     "The workspace's declared Coolify applications; coolifyAppUuid is null until the "
     "reconciler has created the application.",
     "{}", "[]", 1, mcp_tool_list_apps},
    {"create_app", "Create an app",
     "Declares a Coolify application built from one of the workspace's repos (create the repo "
     "first). The reconciler creates it in the workspace's Coolify project.",
     "{\"name\": " MCP_NAME_SCHEMA "\"description\": \"app name (the repo name rule)\"}, "
     "\"repo\": " MCP_NAME_SCHEMA "\"description\": \"a repo of this workspace\"}, "
     "\"branch\": {\"type\": \"string\", \"maxLength\": 255, \"default\": \"main\"}, "
     "\"buildPack\": {\"type\": \"string\", \"enum\": [\"nixpacks\", \"railpack\", \"static\", "
     "\"dockerfile\", \"dockercompose\"], \"default\": \"nixpacks\"}, "
     "\"ports\": {\"type\": \"string\", \"pattern\": \"^[0-9]+(,[0-9]+)*$\", "
     "\"default\": \"3000\"}}",
     "[\"name\", \"repo\"]", 0, mcp_tool_create_app},
    {"reconcile_now", "Reconcile now",
     "Queues the workspace for reconciliation at interactive priority (repairs drift, retries "
     "after an error).",
     "{}", "[]", 0, mcp_tool_reconcile},
    {"list_projects", "List projects",
     "The workspace's projects (as the web app creates them: a repo in the workspace's Gitea "
     "org and optionally the Coolify application built from it), by name, with their repo, "
     "app and status (status.ready turns true once the reconciler has created both).",
     "{\"limit\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 1000, "
     "\"default\": 100}, \"after\": {\"type\": \"string\", \"description\": \"the id of the "
     "last project of the previous page\"}}",
     "[]", 1, mcp_projects_list},
    {"create_project", "Create a project",
     "Creates a project: the repo <name> in the workspace's Gitea org and, with app, the "
     "Coolify application {workspace}-<name> built from it, in one step (what the web app's "
     "project creation does). The reconciler creates both upstream within seconds.",
     "{\"name\": " MCP_NAME_SCHEMA "\"description\": \"project name: its repo's and app's "
     "(the repo name rule)\"}, "
     "\"description\": {\"type\": \"string\", \"maxLength\": 2048, \"default\": \"\"}, "
     "\"private\": {\"type\": \"boolean\", \"default\": true}, "
     "\"app\": {\"type\": [\"object\", \"null\"], \"description\": \"the application built "
     "from the repo; null or absent: a repo only\", \"additionalProperties\": false, "
     "\"properties\": {\"buildPack\": {\"type\": \"string\", \"enum\": [\"nixpacks\", "
     "\"railpack\", \"static\", \"dockerfile\", \"dockercompose\"], \"default\": "
     "\"nixpacks\"}, \"ports\": {\"type\": \"string\", \"pattern\": \"^[0-9]+(,[0-9]+)*$\", "
     "\"default\": \"3000\"}, \"branch\": {\"type\": \"string\", \"maxLength\": 255, "
     "\"default\": \"main\"}}}}",
     "[\"name\"]", 0, mcp_projects_create},
    {"workspace_events", "Workspace events",
     "What happened to the workspace, newest first, in the shape of Kubernetes Events: type "
     "(Normal or Warning), reason (Created, Recreated, Deleted, Unauthorized, ...), object "
     "(kind and name), message, count (repeats) and first/last time.",
     "{\"limit\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 1000, "
     "\"default\": 50}, \"after\": {\"type\": \"integer\", \"minimum\": 1, \"description\": "
     "\"the seq of the last event of the previous page: older ones follow\"}}",
     "[]", 1, mcp_projects_events},
};

static const struct mcp_tool *
mcp_tool_find(const char *name)
{
	for (size_t i = 0; i < nitems(mcp_tools); i++)
		if (strcmp(mcp_tools[i].name, name) == 0)
			return &mcp_tools[i];
	return NULL;
}

/* A tool's definition for tools/list. The admin must name the workspace, so for it
 * "workspace" is required; a key may name its own or leave it out. */
static json_t *
mcp_tool_def(const struct mcp_tool *t, const struct auth_principal *p)
{
	json_t *props = json_loads(t->properties, 0, NULL);
	json_t *req = json_loads(t->required, 0, NULL);
	json_t *def;

	if (props == NULL || req == NULL)
		fatal("mcp: tool %s: bad schema", t->name);
	json_object_set_new(props, "workspace",
	                    json_pack("{s:s, s:s, s:i}", "type", "string", "description",
	                              p->admin ? "workspace slug"
	                                       : "workspace slug (optional: your key's workspace)",
	                              "maxLength", NAMES_SLUG_MAX));
	if (p->admin)
		json_array_append_new(req, json_string("workspace"));
	def = json_pack("{s:s, s:s, s:s, s:{s:s, s:o, s:o, s:b}, s:{s:b, s:b, s:b, s:b}}", "name",
	                t->name, "title", t->title, "description", t->description, "inputSchema",
	                "type", "object", "properties", props, "required", req,
	                "additionalProperties", 0, "annotations", "readOnlyHint", t->read_only,
	                "destructiveHint", 0, "idempotentHint", 1, "openWorldHint", 0);
	if (def == NULL)
		fatal("out of memory");
	return def;
}

/* A tools/call result: structured content and the same as text; or a tool error. */
static json_t *
mcp_tool_result(json_t *structured, const char *err)
{
	json_t *r;
	char *text;

	if (structured == NULL)
		return json_pack("{s:[{s:s, s:s}], s:b}", "content", "type", "text", "text", err,
		                 "isError", 1);
	text = json_dumps(structured, JSON_COMPACT);
	r = json_pack("{s:[{s:s, s:s}], s:o, s:b}", "content", "type", "text", "text", text,
	              "structuredContent", structured, "isError", 0);
	free(text);
	return r;
}

/* ---- methods ---------------------------------------------------------------------- */

static json_t *
mcp_initialize(json_t *id, json_t *params)
{
	const char *asked = json_string_value(json_object_get(params, "protocolVersion"));
	const char *answer = mcp_version_supported(asked) ? asked : MCP_PROTOCOL_LATEST;

	if (asked == NULL)
		return mcp_error(id, MCP_INVALID_PARAMS,
		                 "initialize: params.protocolVersion (a string) is required");
	return mcp_result(id,
	                  json_pack("{s:s, s:{s:{s:b}}, s:{s:s, s:s, s:s}, s:s}", "protocolVersion",
	                            answer, "capabilities", "tools", "listChanged", 0, "serverInfo",
	                            "name", "vibnd", "title", "vibn workspace", "version",
	                            VIBN_VERSION, "instructions", mcp_instructions));
}

/* The scope a tool needs: read for the read-only ones, write for the others. */
static unsigned
mcp_tool_scope(const struct mcp_tool *t)
{
	return t->read_only ? KEYS_SCOPE_READ : KEYS_SCOPE_WRITE;
}

static json_t *
mcp_tools_list(json_t *id, const struct auth_principal *p)
{
	json_t *tools = json_array();

	/* Only the tools this key may call. */
	for (size_t i = 0; i < nitems(mcp_tools); i++)
		if (auth_has_scope(p, mcp_tool_scope(&mcp_tools[i])))
			json_array_append_new(tools, mcp_tool_def(&mcp_tools[i], p));
	return mcp_result(id, json_pack("{s:o}", "tools", tools));
}

/* Runs a tool. Inside a transaction (a request's batch), each call has a savepoint, so a
 * database error in one call does not abort the calls after it. */
static int
mcp_tool_run(PGconn *db, const struct mcp_tool *t, const struct tenancy_ws *ws, json_t *args,
             json_t **out, char **err)
{
	int tx = PQtransactionStatus(db) == PQTRANS_INTRANS, rc;
	char *cause = NULL;

	if (tx && db_command(db, "SAVEPOINT mcp_call", 0, NULL, err) != 0)
		return -1;
	rc = t->fn(db, ws, args, out, err);
	if (tx &&
	    db_command(db, rc < 0 ? "ROLLBACK TO SAVEPOINT mcp_call" : "RELEASE SAVEPOINT mcp_call",
	               0, NULL, &cause) != 0) {
		if (rc == 0) {
			json_decref(*out);
			*out = NULL;
			*err = cause;
			return -1;
		}
		free(cause);
	}
	return rc;
}

static json_t *
mcp_tools_call(PGconn *db, const struct auth_principal *p, json_t *id, json_t *params)
{
	const char *name = json_string_value(json_object_get(params, "name"));
	json_t *args = json_object_get(params, "arguments"), *out = NULL;
	const struct mcp_tool *t;
	struct tenancy_ws ws;
	char *err = NULL;
	int rc;

	if (name == NULL)
		return mcp_error(id, MCP_INVALID_PARAMS,
		                 "tools/call: params.name (a string) is required");
	if ((t = mcp_tool_find(name)) == NULL)
		return mcp_error(id, MCP_INVALID_PARAMS, "Unknown tool: %s", name);
	if (args != NULL && !json_is_object(args))
		return mcp_error(id, MCP_INVALID_PARAMS,
		                 "tools/call: params.arguments must be an object");
	args = args ? json_incref(args) : json_object();
	rc = mcp_args_known(args, t, &err);
	if (rc == 0)
		rc = mcp_scope(db, p, args, &ws, &err);
	/* After the workspace: another workspace's name answers "not found" whatever the
	 * key's scopes. */
	if (rc == 0 && !auth_has_scope(p, mcp_tool_scope(t))) {
		err = xasprintf("%s: this key lacks the %s scope", t->name,
		                t->read_only ? "read" : "write");
		rc = 1;
	}
	if (rc == 0)
		rc = mcp_tool_run(db, t, &ws, args, &out, &err);
	json_decref(args);
	if (rc < 0) {
		/* The cause may name tables; the caller learns only that it was ours. */
		log_error("mcp: tool %s failed: %s", name, err);
		free(err);
		err = xstrdup("internal error: the workspace database is unavailable; retry");
	}
	if (rc == 0 && out == NULL)
		fatal("out of memory");
	json_t *r = mcp_result(id, mcp_tool_result(rc == 0 ? out : NULL, err));
	free(err);
	return r;
}

/* Answers one message: a response (a new reference), or NULL for a notification or a
 * client's response, which get no answer. *bad is set when the message itself was
 * malformed (HTTP 400 when it came alone). */
static json_t *
mcp_message(PGconn *db, const struct auth_principal *p, json_t *msg, int in_batch, int *bad)
{
	json_t *id = json_object_get(msg, "id"), *params;
	const char *method;

	*bad = 0;
	if (!json_is_object(msg) || !json_is_string(json_object_get(msg, "jsonrpc")) ||
	    strcmp(json_string_value(json_object_get(msg, "jsonrpc")), "2.0") != 0) {
		*bad = 1;
		return mcp_error(mcp_valid_id(id) ? id : NULL, MCP_INVALID_REQUEST,
		                 "not a JSON-RPC 2.0 message");
	}
	method = json_string_value(json_object_get(msg, "method"));
	if (method == NULL) {
		/* A response to us (we never ask anything): accepted and dropped. */
		if (mcp_valid_id(id) && (json_object_get(msg, "result") != NULL ||
		                         json_object_get(msg, "error") != NULL))
			return NULL;
		*bad = 1;
		return mcp_error(mcp_valid_id(id) ? id : NULL, MCP_INVALID_REQUEST,
		                 "a request needs a string \"method\"");
	}
	if (id != NULL && !mcp_valid_id(id)) {
		*bad = 1;
		return mcp_error(NULL, MCP_INVALID_REQUEST,
		                 "\"id\" must be a string or an integer");
	}
	params = json_object_get(msg, "params");
	if (id == NULL)
		return NULL; /* notifications/initialized, cancelled, ...: nothing to answer */
	if (params != NULL && !json_is_object(params))
		return mcp_error(id, MCP_INVALID_PARAMS, "\"params\" must be an object");
	if (strcmp(method, "initialize") == 0) {
		if (in_batch)
			return mcp_error(id, MCP_INVALID_REQUEST,
			                 "initialize must not be part of a batch");
		return mcp_initialize(id, params);
	}
	if (strcmp(method, "ping") == 0)
		return mcp_result(id, json_object());
	if (strcmp(method, "tools/list") == 0)
		return mcp_tools_list(id, p);
	if (strcmp(method, "tools/call") == 0)
		return mcp_tools_call(db, p, id, params);
	return mcp_error(id, MCP_METHOD_NOT_FOUND, "Method not found: %s", method);
}

static void
mcp_set(struct mcp_reply *out, int status, json_t *doc)
{
	out->status = status;
	out->content_type = doc ? "application/json" : NULL;
	out->body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	if (doc != NULL && out->body == NULL)
		fatal("out of memory");
	json_decref(doc);
}

static void
mcp_batch(PGconn *db, const struct auth_principal *p, const char *version, json_t *batch,
          struct mcp_reply *out)
{
	json_t *answers, *msg;
	size_t i;
	int bad;

	if (strcmp(version, "2025-03-26") != 0) {
		mcp_set(out, 400,
		        mcp_error(NULL, MCP_INVALID_REQUEST,
		                  "JSON-RPC batches are not part of MCP protocol version %s",
		                  version));
		return;
	}
	if (json_array_size(batch) == 0) {
		mcp_set(out, 400, mcp_error(NULL, MCP_INVALID_REQUEST, "empty batch"));
		return;
	}
	if (json_array_size(batch) > MCP_BATCH_MAX) {
		mcp_set(out, 400,
		        mcp_error(NULL, MCP_INVALID_REQUEST,
		                  "a batch holds at most %d messages (this one %zu): send several",
		                  MCP_BATCH_MAX, json_array_size(batch)));
		return;
	}
	answers = json_array();
	json_array_foreach(batch, i, msg)
	{
		json_t *a;

		/* Answered 503 already (its deadline passed): the rest would be rolled back. */
		if (dbpool_stop_requested())
			break;
		a = mcp_message(db, p, msg, 1, &bad);

		if (a != NULL)
			json_array_append_new(answers, a);
	}
	if (json_array_size(answers) == 0) {
		json_decref(answers);
		mcp_set(out, 202, NULL);
	} else {
		mcp_set(out, 200, answers);
	}
}

void
mcp_handle(PGconn *db, const struct auth_principal *p, const char *version_header, const char *body,
           size_t len, struct mcp_reply *out)
{
	json_error_t jerr;
	json_t *doc, *answer;
	int bad;

	memset(out, 0, sizeof *out);
	if (version_header != NULL && !mcp_version_supported(version_header)) {
		mcp_set(out, 400,
		        mcp_error(NULL, MCP_INVALID_REQUEST,
		                  "unsupported MCP-Protocol-Version \"%s\" (supported: 2025-11-25, "
		                  "2025-06-18, 2025-03-26, 2024-11-05)",
		                  version_header));
		return;
	}
	doc = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (doc == NULL) {
		mcp_set(out, 400, mcp_error(NULL, MCP_PARSE_ERROR, "Parse error: %s", jerr.text));
		return;
	}
	if (json_is_array(doc)) {
		mcp_batch(db, p, version_header ? version_header : MCP_PROTOCOL_DEFAULT, doc, out);
		json_decref(doc);
		return;
	}
	answer = mcp_message(db, p, doc, 0, &bad);
	json_decref(doc);
	if (answer == NULL)
		mcp_set(out, 202, NULL);
	else
		mcp_set(out, bad ? 400 : 200, answer);
}
