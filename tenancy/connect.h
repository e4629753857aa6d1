/* The "Connect Cursor" files of a workspace: what an editor's agent needs to work inside it.
 *
 *   .cursor/rules/vibn-workspace.mdc   a Cursor rule (YAML front matter + Markdown): the API,
 *                                      the workspace's identity, the house rules; no secret
 *   mcp.json                           the MCP server registration for ~/.cursor/mcp.json:
 *                                      PUBLIC_URL/api/mcp with the key in Authorization
 *   .env.local                         VIBN_API_KEY, VIBN_API_URL, VIBN_WORKSPACE and a
 *                                      smoke-test curl line that works as printed
 *
 * Shared by `vibnctl connect-cursor` and GET /api/workspaces/{slug}/connect, which embed
 * only a key the caller already holds (a freshly minted one, or the request's own). */
#ifndef VIBN_CONNECT_H
#define VIBN_CONNECT_H

#include <libpq-fe.h>

#define CONNECT_RULE_PATH ".cursor/rules/vibn-workspace.mdc"
#define CONNECT_MCP_PATH  "mcp.json"
#define CONNECT_ENV_PATH  ".env.local"

struct connect_files {
	char *rule;     /* owned: CONNECT_RULE_PATH's content */
	char *mcp_json; /* owned: CONNECT_MCP_PATH's content */
	char *env;      /* owned: CONNECT_ENV_PATH's content */
};

/* 1 when url can go into the files as it is: http:// or https://, a host, and only
 * characters that need no quoting in a shell, YAML or .env (letters, digits, . - _ ~ : / %). */
int connect_valid_url(const char *url);

/* Builds the files for the live workspace with id workspace_id. public_url is the daemon's
 * base URL (a trailing '/' is dropped); token a workspace key (checked for shape, borrowed).
 * Returns 0 with *out filled (free with connect_files_free), 1 when there is no such live
 * workspace, or -1 with a one-line *cause. */
int connect_build(PGconn *db, const char *workspace_id, const char *public_url, const char *token,
                  struct connect_files *out, char **cause) __attribute__((warn_unused_result));
void connect_files_free(struct connect_files *f);

#endif
