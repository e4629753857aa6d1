/* The "Connect Cursor" files of a workspace: what an editor's agent needs to work inside it,
 * written so that only one of them holds the key and the others can be committed.
 *
 *   .cursor/rules/vibn-workspace.mdc   a Cursor rule (YAML front matter + Markdown): the API,
 *                                      the workspace's identity, the house rules; no secret
 *   .cursor/mcp.json                   the project's MCP server for Cursor:
 *                                      PUBLIC_URL/api/mcp, Authorization from
 *                                      ${env:VIBN_API_KEY} (Cursor's interpolation); no secret
 *   .mcp.json                          the same for Claude Code ("type": "http", ${VIBN_API_KEY});
 *                                      no secret
 *   .env.local                         the secret: VIBN_API_KEY, VIBN_API_URL, VIBN_WORKSPACE
 *                                      and a smoke-test curl line that works as printed
 *
 * plus the `claude mcp add --transport http ...` line for those who register Claude Code's
 * server by hand. Shared by `vibnctl connect-cursor` (which also adds .env.local to the
 * directory's .gitignore) and GET /api/workspaces/{slug}/connect, which embed only a key the
 * caller already holds (a freshly minted one, or the request's own). */
#ifndef VIBN_CONNECT_H
#define VIBN_CONNECT_H

#include <jansson.h>
#include <libpq-fe.h>

#define CONNECT_RULE_PATH   ".cursor/rules/vibn-workspace.mdc"
#define CONNECT_CURSOR_PATH ".cursor/mcp.json"
#define CONNECT_CLAUDE_PATH ".mcp.json"
#define CONNECT_ENV_PATH    ".env.local"

enum connect_file_id { CONNECT_RULE, CONNECT_CURSOR, CONNECT_CLAUDE, CONNECT_ENV, CONNECT_NFILES };

struct connect_file {
	const char *path; /* static: one of the CONNECT_*_PATH above */
	char *content;    /* owned */
	int secret;       /* holds the key: mode 0600, never committed (.gitignore) */
};

struct connect_files {
	struct connect_file v[CONNECT_NFILES]; /* indexed by enum connect_file_id */
	char *claude_command; /* owned: `claude mcp add ...`, run where .env.local is loaded */
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

/* The files as GET /api/workspaces/{slug}/connect answers them (a new reference):
 * {"workspace", "files": [{"path", "content", "secret"}...], "claude": "claude mcp add ..."}. */
json_t *connect_files_json(const char *slug, const struct connect_files *f);

#endif
