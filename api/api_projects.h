/* The projects routes of the tenant API (DESIGN 4), beside api.c's and with its rules: a
 * bearer key pinned to its workspace or the admin secret, the one tenancy gate (another
 * workspace's slug, existing or not, is 404 not_found), JSON errors {"error", "code"} (with
 * "field" naming the field at fault when there is one).
 *
 *   GET    /api/workspaces/{slug}/projects        ?limit=1..1000 (100), ?after=<project id>
 *                                                 -> {"workspace", "projects", "next"}
 *   POST   /api/workspaces/{slug}/projects        {"name", "description", "private", "app"}
 *                                                 -> 201 the project; 400 not JSON; 415;
 *                                                 422 invalid_field (+ "field");
 *                                                 409 conflict; 422 quota_exceeded
 *   GET    /api/workspaces/{slug}/projects/{id}   the project (404 when not of the workspace)
 *   DELETE /api/workspaces/{slug}/projects/{id}   ?deleteRepo=true|false -> 202 what the
 *                                                 reconciler will do (api/projects.h)
 *
 * The shapes are in api/projects.h. */
#ifndef VIBN_API_PROJECTS_H
#define VIBN_API_PROJECTS_H

/* Registers the routes (dbpool must be started). admin_secret (copied) may be NULL. */
void api_projects_register(const char *admin_secret);
/* Forgets the admin secret. */
void api_projects_stop(void);

#endif
