/* projects: the web app's project flow, for the REST API (api_projects.c) and MCP. A
 * project is an fs_projects row of the web app (its name; user_id the workspace owner;
 * vibn_workspace_id the workspace) with the desired repo of the same name in the
 * workspace's Gitea org and, optionally, the Coolify application built from it
 * ({slug}-{name}), both owned by the API (managed_by 'api', so vibnctl apply leaves them
 * alone) and linked by project_id. Everything is written in one transaction; the reconciler
 * does the upstream work.
 *
 * A project as JSON (what GET, POST and MCP answer):
 *   {"id", "name", "workspace", "createdAt",
 *    "repo": {"name", "fullName": "vibn-acme/shop", "private", "description",
 *             "defaultBranch", "managedBy", "giteaRepoId", "cloneUrl", "sshUrl"} | null,
 *    "app": {"name": "acme-shop", "repo", "branch", "buildPack", "ports", "managedBy",
 *            "coolifyUuid", "domains": [...]} | null,
 *    "status": {"ready", "reason", "message",
 *               "repo": {"ready", "reason", "message"} | null, "app": ... | null}}
 * (ids and URLs are null until the reconciler has made the object). Legacy projects (rows
 * `vibnctl backfill` assigned) have no repo or app.
 *
 * Deleting a project undeclares its app (the reconciler deletes it in Coolify) and its repo,
 * which stays in Gitea (repos hold people's code) unless delete_repo: then the reconciler
 * deletes that one repo upstream (vibn_workspace_repo_deletions), and only if the repo found
 * there is the one the workspace created. Objects a manifest took over are never touched.
 *
 * Run on a database thread (autocommit connection; left idle). */
#ifndef VIBN_PROJECTS_H
#define VIBN_PROJECTS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "api/api_parse_project.h"
#include "tenancy/tenancy.h"

/* A refusal the caller answers: HTTP status, error code, the field at fault or the
 * existing project (both may be NULL) and a one-line message (owned strings). */
struct projects_err {
	int status;
	const char *code; /* static: not_found, conflict, quota_exceeded */
	char *field;
	char *existing; /* a conflicting project's id */
	char *message;
};

void projects_err_free(struct projects_err *e);

/* Creates a project. Returns 0 with *out (the project, a new reference), 1 with *err
 * (409 conflict naming what holds the name, 422 quota_exceeded naming the limit), or -1
 * with a one-line *cause (database). Nothing is written unless it returns 0. */
int projects_create(PGconn *db, const struct tenancy_ws *ws, const struct api_project_req *req,
                    json_t **out, struct projects_err *err, char **cause)
    __attribute__((warn_unused_result));

/* The project id of the workspace: 0 with *out, 1 with *err (404), -1 with *cause. */
int projects_get(PGconn *db, const struct tenancy_ws *ws, const char *id, json_t **out,
                 struct projects_err *err, char **cause) __attribute__((warn_unused_result));

/* A page of the workspace's projects by name, after the project id after (NULL: from the
 * start; callers check it with api_parse_project_id; an id that names no project of the
 * workspace gives an empty page): *out is {"workspace", "projects": [...], "next": id |
 * null}. 0 or -1. */
int projects_list(PGconn *db, const struct tenancy_ws *ws, long limit, const char *after,
                  json_t **out, char **cause) __attribute__((warn_unused_result));

/* Deletes project id (see above). Returns 0 with *out ({"id", "name", "workspace", "app":
 * {"name", "action"} | null, "repo": {"fullName", "action"} | null}: what the reconciler
 * will do), 1 with *err (404; 409 when deleteRepo names a repo a manifest manages or
 * another app still builds from the repo), or -1 with *cause. */
int projects_delete(PGconn *db, const struct tenancy_ws *ws, const char *id, int delete_repo,
                    json_t **out, struct projects_err *err, char **cause)
    __attribute__((warn_unused_result));

#endif
