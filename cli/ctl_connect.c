/* vibnctl connect-cursor: writes a workspace's "Connect Cursor" files (clients/connect.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "tenancy/connect.h"
#include "clients/db.h"
#include "tenancy/keys.h"
#include "common/xmalloc.h"

static void
ctl_connect_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: vibnctl connect-cursor --workspace SLUG (--key TOKEN | --mint NAME)\n"
	    "                              --out DIR [--url URL]\n"
	    "\n"
	    "Writes the files that connect Cursor (or any MCP client) to one workspace:\n"
	    "  DIR/" CONNECT_RULE_PATH "  the Cursor rule: API, identity, house rules\n"
	    "  DIR/" CONNECT_MCP_PATH "                          MCP server registration (copy to "
	    "~/.cursor/mcp.json)\n"
	    "  DIR/" CONNECT_ENV_PATH "                        VIBN_API_KEY, VIBN_API_URL and a "
	    "smoke-test curl line\n"
	    "The files holding the key are written with mode 0600.\n"
	    "\n"
	    "  -w, --workspace SLUG  the workspace\n"
	    "  -k, --key TOKEN       embed this existing key (it must belong to the workspace)\n"
	    "  -m, --mint NAME       mint a new key named NAME and embed it\n"
	    "  -o, --out DIR         where to write (created if missing)\n"
	    "  -u, --url URL         the daemon's public URL (default: $VIBN_PUBLIC_URL)\n"
	    "  -h, --help            this help\n"
	    "\n"
	    "Environment: DATABASE_URL, VIBN_PUBLIC_URL.\n"
	    "Exit status: 0 written; 1 not found, bad key or a failure; 2 usage error.\n");
}

/* mkdir -p for the directories of path (relative to dir, or dir itself). */
static int
ctl_connect_mkdirs(const char *path)
{
	char *p = xstrdup(path);

	for (char *s = strchr(p + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST) {
			ctl_error("connect-cursor: mkdir %s: %s", p, strerror(errno));
			free(p);
			return -1;
		}
		*s = '/';
	}
	free(p);
	return 0;
}

static int
ctl_connect_write(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *path = xasprintf("%s/%s", dir, name);
	size_t len = strlen(text);
	int fd, rc = -1;

	if (ctl_connect_mkdirs(path) != 0)
		goto out;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		ctl_error("connect-cursor: %s: %s", path, strerror(errno));
		goto out;
	}
	/* An existing file keeps its mode through O_CREAT: tighten it. */
	if (fchmod(fd, mode) != 0 || write(fd, text, len) != (ssize_t)len || close(fd) != 0) {
		ctl_error("connect-cursor: writing %s: %s", path, strerror(errno));
		goto out;
	}
	printf("wrote %s\n", path);
	rc = 0;
out:
	free(path);
	return rc;
}

/* The token to embed (a new string): key checked against the workspace, or a new one. */
static char *
ctl_connect_token(PGconn *conn, const char *ws_id, const char *slug, const char *key,
                  const char *mint)
{
	char *token = NULL, *key_ws = NULL, *key_id = NULL, *cause = NULL;
	int found;

	if (mint != NULL) {
		if (keys_mint(conn, ws_id, mint, &token, &key_id, &cause) != 0) {
			ctl_error("connect-cursor: minting a key: %s", cause);
			free(cause);
			return NULL;
		}
		fprintf(stderr, "key %s \"%s\" minted for workspace/%s\n", key_id, mint, slug);
		free(key_id);
		return token;
	}
	found = keys_lookup(conn, key, &key_ws, &key_id, &cause);
	if (found < 0) {
		ctl_error("connect-cursor: checking the key: %s", cause);
		free(cause);
		return NULL;
	}
	if (found == 0 && strcmp(key_ws, ws_id) == 0)
		token = xstrdup(key);
	else
		ctl_error("connect-cursor: the key is not a live key of workspace \"%s\"", slug);
	free(key_ws);
	free(key_id);
	return token;
}

int
ctl_connect_cursor(int argc, char **argv)
{
	static const struct option opts[] = {{"workspace", required_argument, NULL, 'w'},
	                                     {"key", required_argument, NULL, 'k'},
	                                     {"mint", required_argument, NULL, 'm'},
	                                     {"out", required_argument, NULL, 'o'},
	                                     {"url", required_argument, NULL, 'u'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *slug = NULL, *key = NULL, *mint = NULL, *dir = NULL, *url = NULL;
	struct connect_files files = {0};
	char *ws_id = NULL, *token = NULL, *cause = NULL;
	PGconn *conn = NULL;
	int c, rc = CTL_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "w:k:m:o:u:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			slug = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'm':
			mint = optarg;
			break;
		case 'o':
			dir = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		case 'h':
			ctl_connect_usage(stdout);
			return CTL_OK;
		default:
			ctl_connect_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (url == NULL)
		url = getenv("VIBN_PUBLIC_URL");
	if (optind != argc || slug == NULL || dir == NULL || (key == NULL) == (mint == NULL)) {
		ctl_error("connect-cursor: need --workspace, --out and one of --key or --mint");
		return CTL_USAGE;
	}
	if (url == NULL || !connect_valid_url(url)) {
		ctl_error("connect-cursor: %s", url == NULL
		                                    ? "set VIBN_PUBLIC_URL or pass --url"
		                                    : "--url: need http(s)://host[:port][/path]");
		return CTL_USAGE;
	}
	if (mint != NULL && !keys_valid_name(mint)) {
		ctl_error("connect-cursor: --mint: a key name is 1-%d printable characters",
		          KEYS_NAME_MAX);
		return CTL_USAGE;
	}
	if (key != NULL && !keys_well_formed(key)) {
		ctl_error("connect-cursor: --key: not a vibn_sk_ key");
		return CTL_FAIL;
	}
	if ((conn = ctl_connect()) == NULL)
		return CTL_FAIL;
	if ((ws_id = ctl_workspace_id(conn, "connect-cursor", slug)) == NULL ||
	    (token = ctl_connect_token(conn, ws_id, slug, key, mint)) == NULL)
		goto out;
	c = connect_build(conn, ws_id, url, token, &files, &cause);
	if (c != 0) {
		ctl_error("connect-cursor: %s", c > 0 ? "the workspace was just deleted" : cause);
		goto out;
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		ctl_error("connect-cursor: mkdir %s: %s", dir, strerror(errno));
		goto out;
	}
	if (ctl_connect_write(dir, CONNECT_RULE_PATH, files.rule, 0644) != 0 ||
	    ctl_connect_write(dir, CONNECT_MCP_PATH, files.mcp_json, 0600) != 0 ||
	    ctl_connect_write(dir, CONNECT_ENV_PATH, files.env, 0600) != 0)
		goto out;
	rc = CTL_OK;
out:
	if (token != NULL)
		memset(token, 0, strlen(token));
	free(token);
	free(ws_id);
	free(cause);
	connect_files_free(&files);
	if (conn != NULL)
		PQfinish(conn);
	return rc;
}
