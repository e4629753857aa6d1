#include "projects.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/db.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "reconcilers/conditions.h"
#include "tenancy/quota.h"

void
projects_err_free(struct projects_err *e)
{
	free(e->field);
	free(e->existing);
	free(e->message);
	memset(e, 0, sizeof *e);
}

static int projects_refuse(struct projects_err *e, int status, const char *code, const char *field,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Fills *e; returns 1 (the "refused" result). */
static int
projects_refuse(struct projects_err *e, int status, const char *code, const char *field,
                const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->code = code;
	e->field = xstrdup_null(field);
	va_start(ap, fmt);
	e->message = xvasprintf(fmt, ap);
	va_end(ap);
	return 1;
}

/* ---- reading ----------------------------------------------------------------------- */

/* The workspace as the projects show it: its slug, Gitea org and conditions. */
struct projects_ws {
	char *slug;
	char *org; /* recorded, else vibn-{slug} */
	json_t *conds;
};

static void
projects_ws_free(struct projects_ws *w)
{
	free(w->slug);
	free(w->org);
	json_decref(w->conds);
}

static int
projects_ws_load(PGconn *db, const struct tenancy_ws *ws, struct projects_ws *w, char **cause)
{
	const char *params[1] = {ws->id};
	PGresult *res;

	memset(w, 0, sizeof *w);
	res = db_exec(db,
	              "SELECT slug, coalesce(gitea_org, 'vibn-' || slug), conditions::text"
	              " FROM vibn_workspaces WHERE id = $1",
	              1, params, cause);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		*cause = xstrdup("projects: the workspace went away");
		return -1;
	}
	w->slug = xstrdup(PQgetvalue(res, 0, 0));
	w->org = xstrdup(PQgetvalue(res, 0, 1));
	w->conds = conditions_parse(PQgetvalue(res, 0, 2));
	PQclear(res);
	return 0;
}

/* Columns of projects_sql. */
enum {
	P_ID,
	P_NAME,
	P_CREATED,
	R_NAME,
	R_PRIVATE,
	R_DESCRIPTION,
	R_BRANCH,
	R_MANAGED,
	R_GITEA_ID,
	R_CLONE,
	R_SSH,
	A_NAME,
	A_REPO,
	A_BRANCH,
	A_PACK,
	A_PORTS,
	A_MANAGED,
	A_UUID,
	A_DOMAINS,
};

/* A project's repo and app are the rows linked to it; fs_projects is the web app's table,
 * so its optional columns are read through to_jsonb (a missing created_at is null). */
static const char projects_sql[] =
    "SELECT p.id::text, p.name, to_jsonb(p) ->> 'created_at',"
    " r.name, r.private, r.description, r.default_branch, r.managed_by, r.gitea_repo_id,"
    " r.clone_url, r.ssh_url,"
    " a.name, a.repo, a.branch, a.build_pack, a.ports, a.managed_by, a.coolify_app_uuid,"
    " a.domains"
    " FROM fs_projects p"
    " LEFT JOIN LATERAL (SELECT * FROM vibn_workspace_repos x WHERE x.workspace_id = $1"
    "   AND x.project_id = p.id::text ORDER BY x.id LIMIT 1) r ON true"
    " LEFT JOIN LATERAL (SELECT * FROM vibn_workspace_apps x WHERE x.workspace_id = $1"
    "   AND x.project_id = p.id::text ORDER BY x.id LIMIT 1) a ON true"
    " WHERE p.vibn_workspace_id = $1 AND ($2::text IS NULL OR p.id::text = $2)"
    "   AND ($3::text IS NULL OR (lower(coalesce(p.name, '')), p.id::text) >"
    "     (SELECT lower(coalesce(c.name, '')), c.id::text FROM fs_projects c"
    "       WHERE c.id::text = $3 AND c.vibn_workspace_id = $1))"
    " ORDER BY lower(coalesce(p.name, '')), p.id::text LIMIT $4::integer";

/* One part's status from its condition: ready when the object is made (made) and the
 * condition is True; otherwise why not. */
static json_t *
projects_part_status(const struct projects_ws *w, const char *type, int made, const char *what)
{
	json_t *c = conditions_find(w->conds, type);
	const char *reason = c ? json_string_value(json_object_get(c, "reason")) : NULL;
	const char *msg = c ? json_string_value(json_object_get(c, "message")) : NULL;

	if (made && conditions_is_true(w->conds, type))
		return json_pack("{s:b, s:s, s:s}", "ready", 1, "reason", reason ? reason : "Ready",
		                 "message", msg ? msg : "");
	if (c != NULL && !conditions_is_true(w->conds, type))
		return json_pack("{s:b, s:s, s:s}", "ready", 0, "reason",
		                 reason ? reason : "Unknown", "message", msg ? msg : "");
	return json_pack("{s:b, s:s, s:s}", "ready", 0, "reason", "Pending", "message", what);
}

static json_t *
projects_domains(const char *fqdn)
{
	json_t *arr = json_array();
	char *copy, *save = NULL;

	if (fqdn == NULL)
		return arr;
	copy = xstrdup(fqdn);
	for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
		if (*t != '\0')
			json_array_append_new(arr, json_string(t));
	free(copy);
	return arr;
}

static json_t *
projects_row(const struct projects_ws *w, PGresult *res, int r)
{
	json_t *p, *repo = json_null(), *app = json_null(), *st, *rs = json_null(),
	           *as = json_null();
	json_t *first = NULL;
	char *full, *upstream;

	if (!PQgetisnull(res, r, R_NAME)) {
		full = xasprintf("%s/%s", w->org, PQgetvalue(res, r, R_NAME));
		repo =
		    json_pack("{s:o, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o}", "name",
		              db_json_text(res, r, R_NAME), "fullName", full, "private",
		              *PQgetvalue(res, r, R_PRIVATE) == 't', "description",
		              db_json_text(res, r, R_DESCRIPTION), "defaultBranch",
		              db_json_text(res, r, R_BRANCH), "managedBy",
		              db_json_text(res, r, R_MANAGED), "giteaRepoId",
		              PQgetisnull(res, r, R_GITEA_ID)
		                  ? json_null()
		                  : json_integer(strtoll(PQgetvalue(res, r, R_GITEA_ID), NULL, 10)),
		              "cloneUrl", db_json_text(res, r, R_CLONE), "sshUrl",
		              db_json_text(res, r, R_SSH));
		free(full);
		rs = projects_part_status(w, COND_REPOS, !PQgetisnull(res, r, R_GITEA_ID),
		                          "waiting for the reconciler to create the repo");
	}
	if (!PQgetisnull(res, r, A_NAME)) {
		upstream = xasprintf("%s-%s", w->slug, PQgetvalue(res, r, A_NAME));
		app = json_pack(
		    "{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "name", upstream, "repo",
		    db_json_text(res, r, A_REPO), "branch", db_json_text(res, r, A_BRANCH),
		    "buildPack", db_json_text(res, r, A_PACK), "ports",
		    db_json_text(res, r, A_PORTS), "managedBy", db_json_text(res, r, A_MANAGED),
		    "coolifyUuid", db_json_text(res, r, A_UUID), "domains",
		    projects_domains(db_text(res, r, A_DOMAINS)));
		free(upstream);
		as = projects_part_status(w, COND_APPS, !PQgetisnull(res, r, A_UUID),
		                          "waiting for the reconciler to create the application");
	}
	/* The project is ready when its parts are; otherwise the first that is not says why. */
	if (!json_is_null(rs) && !json_is_true(json_object_get(rs, "ready")))
		first = rs;
	else if (!json_is_null(as) && !json_is_true(json_object_get(as, "ready")))
		first = as;
	if (json_is_null(rs) && json_is_null(as))
		st = json_pack("{s:b, s:s, s:s}", "ready", 0, "reason", "NoResources", "message",
		               "no repo or app is declared for this project");
	else if (first != NULL)
		st = json_pack("{s:b, s:O, s:O}", "ready", 0, "reason",
		               json_object_get(first, "reason"), "message",
		               json_object_get(first, "message"));
	else
		st = json_pack("{s:b, s:s, s:s}", "ready", 1, "reason", "Ready", "message",
		               app != NULL && !json_is_null(app) ? "the repo and the app are ready"
		                                                 : "the repo is ready");
	json_object_set_new(st, "repo", rs);
	json_object_set_new(st, "app", as);
	p = json_pack("{s:o, s:o, s:s, s:o, s:o, s:o, s:o}", "id", db_json_text(res, r, P_ID),
	              "name", db_json_text(res, r, P_NAME), "workspace", w->slug, "createdAt",
	              db_json_text(res, r, P_CREATED), "repo", repo, "app", app, "status", st);
	if (p == NULL)
		fatal("out of memory");
	return p;
}

/* Projects of ws as a new JSON array: the one named id, or a page after `after`. */
static int
projects_read(PGconn *db, const struct tenancy_ws *ws, const char *id, const char *after,
              long limit, json_t **out, char **cause)
{
	char lim[24];
	const char *params[4] = {ws->id, id, after, lim};
	struct projects_ws w;
	PGresult *res;

	*out = NULL;
	snprintf(lim, sizeof lim, "%ld", limit);
	if (projects_ws_load(db, ws, &w, cause) != 0)
		return -1;
	res = db_exec(db, projects_sql, 4, params, cause);
	if (res == NULL) {
		projects_ws_free(&w);
		return -1;
	}
	*out = json_array();
	for (int r = 0; r < PQntuples(res); r++)
		json_array_append_new(*out, projects_row(&w, res, r));
	PQclear(res);
	projects_ws_free(&w);
	return 0;
}

int
projects_get(PGconn *db, const struct tenancy_ws *ws, const char *id, json_t **out,
             struct projects_err *err, char **cause)
{
	json_t *arr;

	*out = NULL;
	if (!api_parse_project_id(id))
		return projects_refuse(err, 404, "not_found", NULL, "no such project");
	if (projects_read(db, ws, id, NULL, 1, &arr, cause) != 0)
		return -1;
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return projects_refuse(err, 404, "not_found", NULL, "no such project");
	}
	*out = json_incref(json_array_get(arr, 0));
	json_decref(arr);
	return 0;
}

int
projects_list(PGconn *db, const struct tenancy_ws *ws, long limit, const char *after, json_t **out,
              char **cause)
{
	json_t *arr, *next = json_null();

	*out = NULL;
	if (projects_read(db, ws, NULL, after, limit, &arr, cause) != 0)
		return -1;
	if ((long)json_array_size(arr) == limit && limit > 0)
		next = json_incref(
		    json_object_get(json_array_get(arr, json_array_size(arr) - 1), "id"));
	*out = json_pack("{s:s, s:o, s:o}", "workspace", ws->slug, "projects", arr, "next", next);
	return 0;
}

/* ---- writing ----------------------------------------------------------------------- */

/* The first row's first column of sql (a new string), NULL when no row; -1 on error. */
static int
projects_value(PGconn *db, const char *sql, int n, const char *const *params, char **value,
               char **cause)
{
	PGresult *res = db_exec(db, sql, n, params, cause);

	*value = NULL;
	if (res == NULL)
		return -1;
	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		*value = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* Inside the transaction, the workspace row locked: what already holds the name? Returns
 * 0 (free), 1 with *err (409), -1. */
static int
projects_name_free(PGconn *db, const struct tenancy_ws *ws, const struct api_project_req *req,
                   struct projects_err *err, char **cause)
{
	const char *params[2] = {ws->id, req->name};
	char *v = NULL;
	int rc;

	if (projects_value(db,
	                   "SELECT id::text FROM fs_projects WHERE vibn_workspace_id = $1"
	                   " AND lower(name) = lower($2) ORDER BY id::text LIMIT 1",
	                   2, params, &v, cause) != 0)
		return -1;
	if (v != NULL) {
		rc = projects_refuse(err, 409, "conflict", "name",
		                     "project \"%s\" already exists in workspace %s (id %s)",
		                     req->name, ws->slug, v);
		err->existing = v;
		return rc;
	}
	if (projects_value(db,
	                   "SELECT managed_by FROM vibn_workspace_repos WHERE workspace_id = $1"
	                   " AND lower(name) = lower($2)",
	                   2, params, &v, cause) != 0)
		return -1;
	if (v != NULL) {
		rc = projects_refuse(err, 409, "conflict", "name",
		                     "a repo named \"%s\" is already declared in workspace %s "
		                     "(managed by %s); names are unique regardless of case",
		                     req->name, ws->slug,
		                     strcmp(v, "manifest") == 0 ? "its manifest" : "the API");
		free(v);
		return rc;
	}
	if (!req->has_app)
		return 0;
	if (projects_value(db,
	                   "SELECT managed_by FROM vibn_workspace_apps WHERE workspace_id = $1"
	                   " AND lower(name) = lower($2)",
	                   2, params, &v, cause) != 0)
		return -1;
	if (v != NULL) {
		rc = projects_refuse(err, 409, "conflict", "name",
		                     "an app named \"%s\" is already declared in workspace %s "
		                     "(managed by %s)",
		                     req->name, ws->slug,
		                     strcmp(v, "manifest") == 0 ? "its manifest" : "the API");
		free(v);
		return rc;
	}
	return 0;
}

/* The quotas the project needs room in: one more project, repo and (maybe) app. */
static int
projects_quota(PGconn *db, const struct tenancy_ws *ws, const struct api_project_req *req,
               struct projects_err *err, char **cause)
{
	static const enum quota_kind kinds[] = {QUOTA_PROJECTS, QUOTA_REPOS, QUOTA_APPS};
	char *msg = NULL;

	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (kinds[i] == QUOTA_APPS && !req->has_app)
			continue;
		switch (quota_check(db, ws->id, ws->slug, kinds[i], 1, &msg, cause)) {
		case 0:
			break;
		case 1:
			projects_refuse(err, 422, "quota_exceeded", NULL, "%s", msg);
			free(msg);
			return 1;
		default:
			return -1;
		}
	}
	return 0;
}

int
projects_create(PGconn *db, const struct tenancy_ws *ws, const struct api_project_req *req,
                json_t **out, struct projects_err *err, char **cause)
{
	struct db_tx tx;
	const char *params[8];
	char *id = NULL;
	int rc;

	*out = NULL;
	memset(err, 0, sizeof *err);
	if (db_tx_begin(db, &tx, cause) != 0)
		return -1;
	/* One request at a time per workspace: the name checks and the quota counts below
	 * hold until COMMIT. */
	params[0] = ws->id;
	if (db_command(db, "SELECT 1 FROM vibn_workspaces WHERE id = $1 FOR UPDATE", 1, params,
	               cause) != 0)
		goto fail;
	if ((rc = projects_name_free(db, ws, req, err, cause)) != 0 ||
	    (rc = projects_quota(db, ws, req, err, cause)) != 0) {
		db_tx_end(db, &tx, 0, cause);
		return rc;
	}
	/* The id is made here and passed untyped, so fs_projects.id may be text or uuid. */
	if (projects_value(db, "SELECT gen_random_uuid()::text", 0, NULL, &id, cause) != 0)
		goto fail;
	params[0] = id;
	params[1] = req->name;
	params[2] = ws->id;
	if (db_command(
	        db,
	        "INSERT INTO fs_projects (id, name, user_id, vibn_workspace_id)"
	        " VALUES ($1, $2, (SELECT owner FROM vibn_workspaces WHERE id = $3::uuid), $3)",
	        3, params, cause) != 0)
		goto fail;
	params[0] = ws->id;
	params[1] = req->name;
	params[2] = req->private ? "t" : "f";
	params[3] = req->description;
	params[4] = id;
	/* The repos trigger bumps the workspace's generation: one reconcile does it all. */
	if (db_command(db,
	               "INSERT INTO vibn_workspace_repos (workspace_id, name, private, description,"
	               " default_branch, managed_by, project_id)"
	               " VALUES ($1, $2, $3, $4, 'main', 'api', $5)",
	               5, params, cause) != 0)
		goto fail;
	if (req->has_app) {
		params[2] = req->branch;
		params[3] = req->build_pack;
		params[4] = req->ports;
		params[5] = id;
		if (db_command(db,
		               "INSERT INTO vibn_workspace_apps (workspace_id, name, repo, branch,"
		               " build_pack, ports, managed_by, project_id)"
		               " VALUES ($1, $2, $2, $3, $4, $5, 'api', $6)",
		               6, params, cause) != 0)
			goto fail;
	}
	if (db_tx_end(db, &tx, 1, cause) != 0) {
		db_tx_end(db, &tx, 0, cause);
		free(id);
		return -1;
	}
	log_info("projects: project %s (%s) created in workspace %s", req->name, id, ws->slug);
	rc = projects_get(db, ws, id, out, err, cause);
	free(id);
	if (rc == 1) {
		/* Just committed: only a concurrent delete can have taken it. */
		projects_err_free(err);
		*cause = xstrdup("projects: the new project was deleted before it could be read");
		return -1;
	}
	return rc;
fail:
	db_tx_end(db, &tx, 0, cause);
	free(id);
	return -1;
}

/* The project's rows as delete needs them. */
struct projects_parts {
	char *name;
	char *repo, *repo_owner, *repo_id; /* NULL: no repo linked */
	char *app, *app_owner;             /* NULL: no app linked */
	char *org;                         /* the workspace's Gitea org */
};

static void
projects_parts_free(struct projects_parts *p)
{
	free(p->name);
	free(p->repo);
	free(p->repo_owner);
	free(p->repo_id);
	free(p->app);
	free(p->app_owner);
	free(p->org);
}

static int
projects_parts_load(PGconn *db, const struct tenancy_ws *ws, const char *id,
                    struct projects_parts *p, int *found, char **cause)
{
	const char *params[2] = {ws->id, id};
	PGresult *res;

	memset(p, 0, sizeof *p);
	res = db_exec(db,
	              "SELECT coalesce(p.name, ''), r.name, r.managed_by, r.gitea_repo_id::text,"
	              " a.name, a.managed_by, (SELECT coalesce(w.gitea_org, 'vibn-' || w.slug)"
	              " FROM vibn_workspaces w WHERE w.id = $1) FROM fs_projects p"
	              " LEFT JOIN LATERAL (SELECT * FROM vibn_workspace_repos x WHERE"
	              "   x.workspace_id = $1 AND x.project_id = p.id::text"
	              "   ORDER BY x.id LIMIT 1) r ON true"
	              " LEFT JOIN LATERAL (SELECT * FROM vibn_workspace_apps x WHERE"
	              "   x.workspace_id = $1 AND x.project_id = p.id::text"
	              "   ORDER BY x.id LIMIT 1) a ON true"
	              " WHERE p.vibn_workspace_id = $1 AND p.id::text = $2",
	              2, params, cause);
	if (res == NULL)
		return -1;
	*found = PQntuples(res) == 1;
	if (*found) {
		p->name = db_text_dup(res, 0, 0);
		p->repo = db_text_dup(res, 0, 1);
		p->repo_owner = db_text_dup(res, 0, 2);
		p->repo_id = db_text_dup(res, 0, 3);
		p->app = db_text_dup(res, 0, 4);
		p->app_owner = db_text_dup(res, 0, 5);
		p->org = db_text_dup(res, 0, 6);
	}
	PQclear(res);
	return 0;
}

/* Apps other than the project's own that build from its repo (a comma list, or NULL). */
static int
projects_repo_users(PGconn *db, const struct tenancy_ws *ws, const char *id, const char *repo,
                    char **users, char **cause)
{
	const char *params[3] = {ws->id, repo, id};

	return projects_value(db,
	                      "SELECT string_agg(name, ', ' ORDER BY lower(name))"
	                      " FROM vibn_workspace_apps WHERE workspace_id = $1"
	                      " AND lower(repo) = lower($2) AND project_id IS DISTINCT FROM $3",
	                      3, params, users, cause);
}

int
projects_delete(PGconn *db, const struct tenancy_ws *ws, const char *id, int delete_repo,
                json_t **out, struct projects_err *err, char **cause)
{
	struct db_tx tx;
	struct projects_parts p;
	const char *params[2];
	const char *app_action = NULL, *repo_action = NULL;
	char *users = NULL, *full = NULL, *upstream = NULL;
	int found = 0, rc = -1;
	json_t *app = json_null(), *repo = json_null();

	*out = NULL;
	memset(err, 0, sizeof *err);
	memset(&p, 0, sizeof p);
	if (!api_parse_project_id(id))
		return projects_refuse(err, 404, "not_found", NULL, "no such project");
	if (db_tx_begin(db, &tx, cause) != 0)
		return -1;
	params[0] = ws->id;
	if (db_command(db, "SELECT 1 FROM vibn_workspaces WHERE id = $1 FOR UPDATE", 1, params,
	               cause) != 0 ||
	    projects_parts_load(db, ws, id, &p, &found, cause) != 0)
		goto fail;
	if (!found) {
		rc = projects_refuse(err, 404, "not_found", NULL, "no such project");
		goto refuse;
	}
	if (p.repo != NULL && strcmp(p.repo_owner, "api") == 0) {
		if (projects_repo_users(db, ws, id, p.repo, &users, cause) != 0)
			goto fail;
		if (users != NULL) {
			rc = projects_refuse(err, 409, "conflict", NULL,
			                     "repo %s is still used by app(s) %s of workspace %s; "
			                     "delete them first",
			                     p.repo, users, ws->slug);
			goto refuse;
		}
	}
	if (delete_repo && p.repo != NULL && strcmp(p.repo_owner, "api") != 0) {
		rc = projects_refuse(
		    err, 409, "conflict", "deleteRepo",
		    "repo %s is managed by the workspace's manifest: remove it there "
		    "(nothing was deleted)",
		    p.repo);
		goto refuse;
	}
	params[0] = ws->id;
	params[1] = id;
	/* What a manifest took over stays declared; it only stops naming the project. */
	if (db_command(db,
	               "UPDATE vibn_workspace_repos SET project_id = NULL WHERE workspace_id = $1"
	               " AND project_id = $2 AND managed_by <> 'api'",
	               2, params, cause) != 0 ||
	    db_command(db,
	               "UPDATE vibn_workspace_apps SET project_id = NULL WHERE workspace_id = $1"
	               " AND project_id = $2 AND managed_by <> 'api'",
	               2, params, cause) != 0)
		goto fail;
	/* The app is undeclared: the reconciler deletes it in Coolify (it owns it). */
	if (p.app != NULL) {
		app_action = strcmp(p.app_owner, "api") == 0 ? "delete" : "keep";
		if (db_command(db,
		               "DELETE FROM vibn_workspace_apps WHERE workspace_id = $1"
		               " AND project_id = $2 AND managed_by = 'api'",
		               2, params, cause) != 0)
			goto fail;
	}
	/* The repo is undeclared too: left alone in Gitea, unless deleteRepo asks the
	 * reconciler to delete this one repo (the one recorded), and only it. */
	if (p.repo != NULL) {
		repo_action = strcmp(p.repo_owner, "api") != 0 ? "keep"
		              : delete_repo                    ? "delete"
		                                               : "orphan";
		if (strcmp(repo_action, "delete") == 0) {
			const char *del[3] = {ws->id, p.repo, p.repo_id};

			if (db_command(
			        db,
			        "INSERT INTO vibn_workspace_repo_deletions"
			        " (workspace_id, name, gitea_repo_id) VALUES ($1, $2, $3)"
			        " ON CONFLICT (workspace_id, lower(name)) DO UPDATE SET"
			        " gitea_repo_id = EXCLUDED.gitea_repo_id, requested_at = now()",
			        3, del, cause) != 0)
				goto fail;
		}
		if (db_command(db,
		               "DELETE FROM vibn_workspace_repos WHERE workspace_id = $1"
		               " AND project_id = $2 AND managed_by = 'api'",
		               2, params, cause) != 0)
			goto fail;
	}
	if (db_command(db, "DELETE FROM fs_projects WHERE vibn_workspace_id = $1 AND id::text = $2",
	               2, params, cause) != 0)
		goto fail;
	/* Nothing else changed desired state (a legacy project): no reconcile is needed. */
	if (db_tx_end(db, &tx, 1, cause) != 0)
		goto fail;
	log_info("projects: project %s (%s) deleted from workspace %s (app: %s, repo: %s)", p.name,
	         id, ws->slug, app_action ? app_action : "none",
	         repo_action ? repo_action : "none");
	if (p.app != NULL) {
		upstream = xasprintf("%s-%s", ws->slug, p.app);
		app = json_pack("{s:s, s:s}", "name", upstream, "action", app_action);
	}
	if (p.repo != NULL) {
		full = xasprintf("%s/%s", p.org, p.repo);
		repo = json_pack("{s:s, s:s}", "fullName", full, "action", repo_action);
	}
	*out = json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", id, "name", p.name, "workspace",
	                 ws->slug, "app", app, "repo", repo);
	rc = 0;
	goto out;
refuse:
	db_tx_end(db, &tx, 0, cause);
	goto out;
fail:
	db_tx_end(db, &tx, 0, cause);
	json_decref(app);
	json_decref(repo);
	rc = -1;
out:
	free(users);
	free(full);
	free(upstream);
	projects_parts_free(&p);
	return rc;
}
