#include "desired.h"

#include <stdlib.h>
#include <string.h>

#include "clients/db.h"
#include "clients/jsonx.h"
#include "reconcilers/conditions.h"
#include "common/xmalloc.h"

/* One round trip: the children come back as JSON arrays next to the row. */
#define DESIRED_COLUMNS                                                                             \
	"SELECT w.id, w.slug, w.name, w.owner, w.visibility, w.deletion_policy, w.source,"          \
	" w.prune_members, w.paused, w.deleted_at IS NOT NULL, w.generation,"                       \
	" w.observed_generation, w.coolify_project_uuid, w.gitea_org, w.provision_status,"          \
	" w.last_error, w.conditions::text, w.coolify_project_pending_at IS NOT NULL,"              \
	" array_to_json(w.coolify_app_names)::text,"                                                \
	" (SELECT coalesce(json_agg(json_build_object('user_id', m.user_id, 'gitea_username',"      \
	"   m.gitea_username, 'role', m.role) ORDER BY m.id), '[]')"                                \
	"   FROM vibn_workspace_members m WHERE m.workspace_id = w.id)::text,"                      \
	" (SELECT coalesce(json_agg(json_build_object('name', r.name, 'private', r.private,"        \
	"   'description', r.description, 'default_branch', r.default_branch, 'gitea_repo_id',"     \
	"   r.gitea_repo_id, 'clone_url', r.clone_url, 'ssh_url', r.ssh_url) ORDER BY r.id), '[]')" \
	"   FROM vibn_workspace_repos r WHERE r.workspace_id = w.id)::text,"                        \
	" (SELECT coalesce(json_agg(json_build_object('name', a.name, 'repo', a.repo, 'branch',"    \
	"   a.branch, 'build_pack', a.build_pack, 'ports', a.ports, 'coolify_app_uuid',"            \
	"   a.coolify_app_uuid, 'domains', a.domains) ORDER BY a.id), '[]')"                        \
	"   FROM vibn_workspace_apps a WHERE a.workspace_id = w.id)::text,"                         \
	" (SELECT coalesce(json_agg(json_build_object('id', d.id, 'name', d.name, 'gitea_repo_id'," \
	"   d.gitea_repo_id) ORDER BY d.id), '[]')"                                                 \
	"   FROM vibn_workspace_repo_deletions d WHERE d.workspace_id = w.id)::text,"               \
	" (SELECT coalesce(json_object_agg(d.key, json_build_object('age_ms', (extract(epoch FROM"  \
	"   now() - coalesce(d.value ->> 'at', d.value #>> '{}')::timestamptz) * 1000)::bigint,"    \
	"   'name', d.value ->> 'name')), '{}') FROM jsonb_each(w.coolify_app_deletes) d)::text,"   \
	" w.gitea_hook_id, w.gitea_hook_secret_sha256, w.gitea_team_ids::text"
#define DESIRED_FROM " FROM vibn_workspaces w WHERE w.id = $1"

static const char desired_sql[] = DESIRED_COLUMNS ", false" DESIRED_FROM;

/* A pass's read also marks a project create as pending where the pass may send one (no
 * project recorded, none pending, neither paused nor deleted): the marker is durable before
 * the create as it must be, without a statement of its own. The row read is as it was before
 * the mark (a snapshot taken at the statement's start). */
static const char desired_pass_sql[] =
    "WITH mark AS (UPDATE vibn_workspaces SET coolify_project_pending_at = now()"
    " WHERE id = $1 AND coolify_project_uuid IS NULL AND coolify_project_pending_at IS NULL"
    " AND NOT paused AND deleted_at IS NULL RETURNING 1) " DESIRED_COLUMNS
    ", EXISTS (SELECT 1 FROM mark)" DESIRED_FROM;

const char *
desired_role_name(enum desired_role role)
{
	switch (role) {
	case ROLE_OWNER:
		return "owner";
	case ROLE_ADMIN:
		return "admin";
	case ROLE_MEMBER:
		return "member";
	}
	return "member";
}

static enum desired_role
desired_role_parse(const char *s)
{
	if (s != NULL && strcmp(s, "owner") == 0)
		return ROLE_OWNER;
	if (s != NULL && strcmp(s, "admin") == 0)
		return ROLE_ADMIN;
	return ROLE_MEMBER;
}

static void
desired_load_deletions(struct desired_ws *ws, const char *text)
{
	json_t *arr = json_loads(text, 0, NULL);
	size_t i;
	json_t *v;

	ws->repo_deletions = xcalloc(json_array_size(arr) + 1, sizeof *ws->repo_deletions);
	json_array_foreach(arr, i, v)
	{
		struct desired_deletion *d = &ws->repo_deletions[ws->nrepo_deletions++];

		d->id = json_integer_value(json_object_get(v, "id"));
		d->name = jsonx_str(v, "name");
		d->gitea_repo_id = json_integer_value(json_object_get(v, "gitea_repo_id"));
	}
	json_decref(arr);
}

static void
desired_load_children(struct desired_ws *ws, json_t *members, json_t *repos, json_t *apps)
{
	size_t i;
	json_t *v;

	ws->members = xcalloc(json_array_size(members) + 1, sizeof *ws->members);
	json_array_foreach(members, i, v)
	{
		struct desired_member *m = &ws->members[ws->nmembers++];

		m->user_id = jsonx_str(v, "user_id");
		m->gitea_username = jsonx_str(v, "gitea_username");
		m->role = desired_role_parse(json_string_value(json_object_get(v, "role")));
	}
	ws->repos = xcalloc(json_array_size(repos) + 1, sizeof *ws->repos);
	json_array_foreach(repos, i, v)
	{
		struct desired_repo *r = &ws->repos[ws->nrepos++];

		r->name = jsonx_str(v, "name");
		r->private = json_is_true(json_object_get(v, "private"));
		r->description = jsonx_str(v, "description");
		r->default_branch = jsonx_str(v, "default_branch");
		r->gitea_repo_id = json_integer_value(json_object_get(v, "gitea_repo_id"));
		r->clone_url = jsonx_str(v, "clone_url");
		r->ssh_url = jsonx_str(v, "ssh_url");
	}
	ws->apps = xcalloc(json_array_size(apps) + 1, sizeof *ws->apps);
	json_array_foreach(apps, i, v)
	{
		struct desired_app *a = &ws->apps[ws->napps++];

		a->name = jsonx_str(v, "name");
		a->repo = jsonx_str(v, "repo");
		a->branch = jsonx_str(v, "branch");
		a->build_pack = jsonx_str(v, "build_pack");
		a->ports = jsonx_str(v, "ports");
		a->coolify_app_uuid = jsonx_str(v, "coolify_app_uuid");
		a->domains = jsonx_str(v, "domains");
	}
}

/* The recorded team ids (text of a JSON object, or NULL): a new object holding only positive
 * integer ids, or NULL when there are none; anything else recorded is ignored (the teams are
 * listed then). */
static json_t *
desired_team_ids(const char *text)
{
	json_t *o = text != NULL ? json_loads(text, 0, NULL) : NULL, *ids = NULL, *v;
	const char *name;

	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	json_object_foreach(o, name, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			continue;
		if (ids == NULL)
			ids = json_object();
		json_object_set(ids, name, v);
	}
	json_decref(o);
	return ids;
}

static void
desired_load_names(struct desired_ws *ws, const char *text)
{
	json_t *arr = json_loads(text, 0, NULL);
	size_t i;
	json_t *v;

	ws->app_names = xcalloc(json_array_size(arr) + 1, sizeof *ws->app_names);
	json_array_foreach(arr, i, v)
	{
		if (json_is_string(v))
			ws->app_names[ws->napp_names++] = xstrdup(json_string_value(v));
	}
	json_decref(arr);
}

static int desired_load_sql(PGconn *conn, const char *sql, const char *ws_id,
                            struct desired_ws **out, char **cause);

int
desired_load(PGconn *conn, const char *ws_id, struct desired_ws **out, char **cause)
{
	return desired_load_sql(conn, desired_sql, ws_id, out, cause);
}

int
desired_load_for_pass(PGconn *conn, const char *ws_id, struct desired_ws **out, char **cause)
{
	return desired_load_sql(conn, desired_pass_sql, ws_id, out, cause);
}

static int
desired_load_sql(PGconn *conn, const char *sql, const char *ws_id, struct desired_ws **out,
                 char **cause)
{
	const char *params[1] = {ws_id};
	json_t *members = NULL, *repos = NULL, *apps = NULL;
	struct desired_ws *ws;
	PGresult *res;

	*out = NULL;
	res = db_exec_cached(conn, sql, 1, params, cause);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	ws = xcalloc(1, sizeof *ws);
	ws->id = db_text_dup(res, 0, 0);
	ws->slug = db_text_dup(res, 0, 1);
	ws->name = db_text_dup(res, 0, 2);
	ws->owner = db_text_dup(res, 0, 3);
	ws->visibility = db_text_dup(res, 0, 4);
	ws->deletion_policy = db_text_dup(res, 0, 5);
	ws->source = db_text_dup(res, 0, 6);
	ws->prune_members = db_bool(res, 0, 7);
	ws->paused = db_bool(res, 0, 8);
	ws->deleted = db_bool(res, 0, 9);
	ws->generation = strtoll(PQgetvalue(res, 0, 10), NULL, 10);
	ws->observed_generation = strtoll(PQgetvalue(res, 0, 11), NULL, 10);
	ws->coolify_project_uuid = db_text_dup(res, 0, 12);
	ws->gitea_org = db_text_dup(res, 0, 13);
	ws->provision_status = db_text_dup(res, 0, 14);
	ws->last_error = db_text_dup(res, 0, 15);
	ws->conditions = conditions_parse(PQgetvalue(res, 0, 16));
	ws->project_pending = db_bool(res, 0, 17);
	desired_load_names(ws, PQgetvalue(res, 0, 18));
	members = json_loads(PQgetvalue(res, 0, 19), 0, NULL);
	repos = json_loads(PQgetvalue(res, 0, 20), 0, NULL);
	apps = json_loads(PQgetvalue(res, 0, 21), 0, NULL);
	desired_load_deletions(ws, PQgetvalue(res, 0, 22));
	ws->app_deletes = json_loads(PQgetvalue(res, 0, 23), 0, NULL);
	if (!json_is_object(ws->app_deletes)) {
		json_decref(ws->app_deletes);
		ws->app_deletes = json_object();
	}
	ws->gitea_hook_id = PQgetisnull(res, 0, 24) ? 0 : strtoll(PQgetvalue(res, 0, 24), NULL, 10);
	ws->gitea_hook_secret_sha256 = db_text_dup(res, 0, 25);
	ws->gitea_team_ids = desired_team_ids(db_text(res, 0, 26));
	ws->project_marked = db_bool(res, 0, 27);
	PQclear(res);
	desired_load_children(ws, members, repos, apps);
	json_decref(members);
	json_decref(repos);
	json_decref(apps);
	*out = ws;
	return 0;
}

void
desired_free(struct desired_ws *ws)
{
	if (ws == NULL)
		return;
	for (size_t i = 0; i < ws->nmembers; i++) {
		free(ws->members[i].user_id);
		free(ws->members[i].gitea_username);
	}
	for (size_t i = 0; i < ws->nrepos; i++) {
		free(ws->repos[i].name);
		free(ws->repos[i].description);
		free(ws->repos[i].default_branch);
		free(ws->repos[i].clone_url);
		free(ws->repos[i].ssh_url);
	}
	for (size_t i = 0; i < ws->napps; i++) {
		free(ws->apps[i].name);
		free(ws->apps[i].repo);
		free(ws->apps[i].branch);
		free(ws->apps[i].build_pack);
		free(ws->apps[i].ports);
		free(ws->apps[i].coolify_app_uuid);
		free(ws->apps[i].domains);
	}
	for (size_t i = 0; i < ws->nrepo_deletions; i++)
		free(ws->repo_deletions[i].name);
	free(ws->repo_deletions);
	for (size_t i = 0; i < ws->napp_names; i++)
		free(ws->app_names[i]);
	free(ws->app_names);
	free(ws->members);
	free(ws->repos);
	free(ws->apps);
	free(ws->id);
	free(ws->slug);
	free(ws->name);
	free(ws->owner);
	free(ws->visibility);
	free(ws->deletion_policy);
	free(ws->source);
	free(ws->coolify_project_uuid);
	free(ws->gitea_org);
	free(ws->provision_status);
	free(ws->last_error);
	json_decref(ws->conditions);
	json_decref(ws->app_deletes);
	json_decref(ws->gitea_team_ids);
	free(ws->gitea_hook_secret_sha256);
	free(ws);
}

char *
desired_gitea_org_name(const char *slug)
{
	return xasprintf("vibn-%s", slug);
}

char *
desired_coolify_project_name(const char *slug)
{
	return xasprintf("vibn-ws-%s", slug);
}

char *
desired_coolify_app_name(const char *slug, const char *app)
{
	return xasprintf("%s-%s", slug, app);
}
