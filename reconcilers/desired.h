/* The desired state of one workspace, read from Postgres in a single query: the workspace
 * row (spec and recorded status) with its members, repos and apps. */
#ifndef VIBN_DESIRED_H
#define VIBN_DESIRED_H

#include <jansson.h>
#include <libpq-fe.h>

enum desired_role { ROLE_OWNER, ROLE_ADMIN, ROLE_MEMBER };

struct desired_member {
	char *user_id;
	char *gitea_username; /* NULL until the user links a Gitea account */
	enum desired_role role;
};

struct desired_repo {
	char *name;
	int private;
	char *description;
	char *default_branch;
	long long gitea_repo_id; /* 0 when not recorded */
	char *clone_url;         /* recorded clone URLs, NULL when not recorded */
	char *ssh_url;
};

/* A repo the API undeclared and asked to delete upstream (vibn_workspace_repo_deletions). */
struct desired_deletion {
	long long id;            /* the request's row */
	char *name;              /* the repo's name in the org */
	long long gitea_repo_id; /* the repo recorded when it was undeclared; 0: never created */
};

struct desired_app {
	char *name;
	char *repo;
	char *branch;
	char *build_pack;
	char *ports;
	char *coolify_app_uuid; /* NULL when not recorded */
	char *domains;          /* recorded domains (Coolify's fqdn), NULL when not recorded */
};

struct desired_ws {
	char *id;
	char *slug;
	char *name;
	char *owner;
	char *visibility;
	char *deletion_policy; /* "Orphan" or "Delete" */
	char *source;
	int prune_members;
	int paused;
	int deleted; /* soft-deleted: clean up per deletion_policy, then remove the row */
	long long generation;
	long long observed_generation;
	/* Recorded status (NULL when absent). */
	char *coolify_project_uuid;
	int project_pending; /* a project create was started and its uuid not yet recorded */
	int project_marked;  /* this read marked a create pending (desired_load_for_pass) */
	char **app_names;    /* Coolify apps we created or adopted (upstream names) */
	size_t napp_names;
	char *gitea_org;
	json_t *app_deletes;     /* owned: Coolify app uuid -> {age_ms since its DELETE, name} */
	long long gitea_hook_id; /* the org hook vibnd registered; 0 when not recorded */
	char *gitea_hook_secret_sha256; /* hex SHA-256 of the secret it was given, or NULL */
	/* The managed teams' ids as the last pass found them (owned object: team name -> id,
	 * the teams that existed), or NULL when none were recorded. */
	json_t *gitea_team_ids;
	char *provision_status;
	char *last_error;
	json_t *conditions; /* owned array */

	struct desired_member *members;
	size_t nmembers;
	struct desired_repo *repos;
	size_t nrepos;
	struct desired_app *apps;
	size_t napps;
	struct desired_deletion *repo_deletions;
	size_t nrepo_deletions;
};

/* Loads workspace ws_id. On success returns 0 and sets *out to a new desired_ws, or to
 * NULL when no such workspace exists (it was removed). -1 with *cause on a database error. */
int desired_load(PGconn *conn, const char *ws_id, struct desired_ws **out, char **cause)
    __attribute__((warn_unused_result));
/* desired_load for a reconcile pass: where the pass may create the Coolify project (none
 * recorded or pending, not paused, not deleted), the same statement marks a create pending
 * (coolify_project_pending_at) and sets project_marked; project_pending still says whether
 * one was pending before. The pass clears the mark at its end when it sent no create. */
int desired_load_for_pass(PGconn *conn, const char *ws_id, struct desired_ws **out, char **cause)
    __attribute__((warn_unused_result));
void desired_free(struct desired_ws *ws);

const char *desired_role_name(enum desired_role role);

/* Upstream names (DESIGN 4). Each returns a new string. */
char *desired_gitea_org_name(const char *slug);                    /* vibn-{slug} */
char *desired_coolify_project_name(const char *slug);              /* vibn-ws-{slug} */
char *desired_coolify_app_name(const char *slug, const char *app); /* {slug}-{app} */

#endif
