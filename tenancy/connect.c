/* The "Connect Cursor" files. See connect.h. */
#include "connect.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clients/db.h"
#include "keys.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"

int
connect_valid_url(const char *url)
{
	const char *host;

	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return 0;
	if (*host == '\0' || *host == '/' || *host == ':')
		return 0;
	for (const char *p = url; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr(".-_~:/%", *p) != NULL))
			return 0;
	return strlen(url) <= 2000;
}

void
connect_files_free(struct connect_files *f)
{
	for (int i = 0; i < CONNECT_NFILES; i++) {
		if (f->v[i].secret && f->v[i].content != NULL)
			explicit_bzero(f->v[i].content, strlen(f->v[i].content));
		free(f->v[i].content);
	}
	free(f->claude_command);
	memset(f, 0, sizeof *f);
}

json_t *
connect_files_json(const char *slug, const struct connect_files *f)
{
	json_t *files = json_array();

	for (int i = 0; i < CONNECT_NFILES; i++)
		json_array_append_new(files,
		                      json_pack("{s:s, s:s, s:b}", "path", f->v[i].path, "content",
		                                f->v[i].content, "secret", f->v[i].secret));
	return json_pack("{s:s, s:o, s:s}", "workspace", slug, "files", files, "claude",
	                 f->claude_command);
}

/* The display name as one printable Markdown line. */
static void
connect_put_line(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		buf_putc(b, (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
}

static char *
connect_rule(const char *slug, const char *name, const char *org, const char *project,
             const char *base)
{
	struct buf b;

	buf_init(&b);
	/* slug is [a-z0-9-]: safe inside a YAML double-quoted scalar. */
	buf_printf(&b,
	           "---\n"
	           "description: \"vibn workspace %s: its API, identity and house rules\"\n"
	           "globs: \"\"\n"
	           "alwaysApply: true\n"
	           "---\n\n",
	           slug);
	buf_printf(&b,
	           "# vibn workspace `%s`\n\nYou are working inside the vibn workspace **%s** (",
	           slug, slug);
	connect_put_line(&b, name != NULL && name[0] != '\0' ? name : slug);
	buf_puts(&b, "). A workspace is one Gitea organization (its git repos) and one Coolify "
	             "project (its deployed apps), kept in shape by the vibn reconciler.\n\n");
	buf_puts(&b, "## Identity\n\n");
	buf_printf(&b, "- Workspace slug: `%s`\n", slug);
	if (org != NULL)
		buf_printf(&b, "- Gitea organization: `%s`\n", org);
	else
		buf_printf(&b, "- Gitea organization: `vibn-%s` (not provisioned yet)\n", slug);
	if (project != NULL)
		buf_printf(&b, "- Coolify project uuid: `%s`\n", project);
	else
		buf_printf(&b, "- Coolify project: `vibn-ws-%s` (not provisioned yet)\n", slug);
	buf_printf(&b, "- API: `%s` (the key is `VIBN_API_KEY` in `.env.local`)\n\n", base);
	buf_printf(
	    &b,
	    "## API\n\n"
	    "Authenticate every request with `Authorization: Bearer $VIBN_API_KEY`.\n\n"
	    "- MCP server (Streamable HTTP): `POST %s/api/mcp`, registered as `vibn-%s` in "
	    "`.cursor/mcp.json` (Cursor) and `.mcp.json` (Claude Code). Tools: "
	    "`workspace_status`, `list_repos`, `create_repo`, `list_apps`, `create_app`, "
	    "`reconcile_now`, `list_projects`, `create_project`, `workspace_events`.\n"
	    "- `GET %s/api/workspaces/%s`: the workspace and its conditions.\n"
	    "- `GET|POST %s/api/workspaces/%s/projects`, `GET|DELETE .../projects/{id}`: "
	    "projects (a repo and optionally the app built from it).\n"
	    "- `GET %s/api/workspaces/%s/events`: what happened to the workspace, newest first.\n"
	    "- `POST %s/api/workspaces/%s/provision`: reconcile now.\n\n",
	    base, slug, base, slug, base, slug, base, slug, base, slug);
	buf_printf(
	    &b,
	    "## House rules\n\n"
	    "1. Work only in workspace `%s`. The key is pinned to it; do not try to reach other "
	    "workspaces.\n"
	    "2. Create repos and apps through the API (`create_repo`, `create_app`), never by "
	    "hand in Gitea or Coolify: the reconciler owns them, creates them upstream within "
	    "seconds and repairs what is changed behind its back.\n"
	    "3. Names of repos and apps: letters, digits, `-`, `_` and `.`, at most 100 "
	    "characters, not ending in `.git`; an app builds from a repo of this workspace.\n"
	    "4. After a change, call `workspace_status` until the `Ready` condition is `True`; "
	    "when a condition is `False`, read its message (and `workspace_events`), fix the "
	    "cause, then call `reconcile_now`.\n"
	    "5. Never print, log or commit the key: it lives only in `.env.local`, which git "
	    "ignores; the MCP files name it as `VIBN_API_KEY` and can be committed.\n",
	    slug);
	return buf_release(&b);
}

/* An MCP server registration naming the key by variable, never by value: Cursor reads
 * "${env:VIBN_API_KEY}", Claude Code "${VIBN_API_KEY}" (type "http"), each from the
 * environment it was started in. */
static char *
connect_mcp_json(const char *slug, const char *base, int claude)
{
	char *server = xasprintf("vibn-%s", slug), *url = xasprintf("%s/api/mcp", base), *text;
	json_t *entry = json_pack("{s:s, s:{s:s}}", "url", url, "headers", "Authorization",
	                          claude ? "Bearer ${VIBN_API_KEY}" : "Bearer ${env:VIBN_API_KEY}");
	json_t *doc;

	if (entry != NULL && claude)
		json_object_set_new(entry, "type", json_string("http"));
	doc = json_pack("{s:{s:o}}", "mcpServers", server, entry);
	if (doc == NULL || (text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL)
		fatal("out of memory");
	json_decref(doc);
	free(server);
	free(url);
	return text;
}

static char *
connect_env(const char *slug, const char *base, const char *token)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b,
	           "# vibn workspace %s: API access for agents and scripts. The only file that\n"
	           "# holds the key: keep it out of git (vibnctl connect-cursor adds it to\n"
	           "# .gitignore). Cursor (.cursor/mcp.json) and Claude Code (.mcp.json) read\n"
	           "# VIBN_API_KEY from their environment: start them where this file is loaded,\n"
	           "# e.g. set -a; . ./.env.local; set +a; cursor .\n"
	           "VIBN_API_KEY=%s\n"
	           "VIBN_API_URL=%s\n"
	           "VIBN_WORKSPACE=%s\n"
	           "# Smoke test (prints the workspace's status through the MCP server):\n"
	           "# curl -fsS -X POST '%s/api/mcp' -H 'Authorization: Bearer %s' "
	           "-H 'Content-Type: application/json' -H 'Accept: application/json, "
	           "text/event-stream' -d '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
	           "\"params\":{\"name\":\"workspace_status\",\"arguments\":{}}}'\n",
	           slug, token, base, slug, base, token);
	return buf_release(&b);
}

int
connect_build(PGconn *db, const char *workspace_id, const char *public_url, const char *token,
              struct connect_files *out, char **cause)
{
	const char *param[1] = {workspace_id};
	char *base = NULL;
	PGresult *res = NULL;
	size_t n;

	memset(out, 0, sizeof *out);
	if (!connect_valid_url(public_url)) {
		*cause =
		    xstrdup("the public URL must be http(s)://host[:port][/path] with no quotes "
		            "or spaces");
		return -1;
	}
	if (!keys_well_formed(token)) {
		*cause = xstrdup("the connect files embed a workspace key (vibn_sk_...)");
		return -1;
	}
	res = db_exec(db,
	              "SELECT slug, name, gitea_org, coolify_project_uuid FROM vibn_workspaces "
	              " WHERE id = $1 AND deleted_at IS NULL",
	              1, param, cause);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 1;
	}
	base = xstrdup(public_url);
	for (n = strlen(base); n > 0 && base[n - 1] == '/'; n--)
		base[n - 1] = '\0';
	/* slug and name are NOT NULL columns. */
	out->v[CONNECT_RULE] =
	    (struct connect_file){CONNECT_RULE_PATH,
	                          connect_rule(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
	                                       db_text(res, 0, 2), db_text(res, 0, 3), base),
	                          0};
	out->v[CONNECT_CURSOR] = (struct connect_file){
	    CONNECT_CURSOR_PATH, connect_mcp_json(PQgetvalue(res, 0, 0), base, 0), 0};
	out->v[CONNECT_CLAUDE] = (struct connect_file){
	    CONNECT_CLAUDE_PATH, connect_mcp_json(PQgetvalue(res, 0, 0), base, 1), 0};
	out->v[CONNECT_ENV] = (struct connect_file){
	    CONNECT_ENV_PATH, connect_env(PQgetvalue(res, 0, 0), base, token), 1};
	/* Single quotes keep the URL as it is; the key comes from the loaded .env.local. */
	out->claude_command = xasprintf("claude mcp add --transport http vibn-%s '%s/api/mcp' "
	                                "--header \"Authorization: Bearer $VIBN_API_KEY\"",
	                                PQgetvalue(res, 0, 0), base);
	free(base);
	PQclear(res);
	return 0;
}
