/* The MCP tools of projects and events (the table is in mcp.c): list_projects and
 * create_project behave as GET and POST /api/workspaces/{slug}/projects do (api/projects.h),
 * workspace_events as GET /api/workspaces/{slug}/events. Each is an mcp.c tool function:
 * 0 with *result (a new object), 1 with *err (a tool error the agent sees), or -1 with *err
 * (a database failure, logged, never shown). */
#ifndef VIBN_MCP_PROJECTS_H
#define VIBN_MCP_PROJECTS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "tenancy/tenancy.h"

/* {"limit": 1..1000, "after": "<project id>"} */
int mcp_projects_list(PGconn *db, const struct tenancy_ws *ws, json_t *args, json_t **result,
                      char **err);
/* {"name", "description", "private", "app": {"buildPack", "ports", "branch"} | null} */
int mcp_projects_create(PGconn *db, const struct tenancy_ws *ws, json_t *args, json_t **result,
                        char **err);
/* {"limit": 1..1000, "after": <seq>}: newest first. */
int mcp_projects_events(PGconn *db, const struct tenancy_ws *ws, json_t *args, json_t **result,
                        char **err);

#endif
