/* vibnctl connect-cursor: writes a workspace's "Connect Cursor" files (tenancy/connect.h)
 * into a directory that may be a shared checkout: it never writes through a symbolic link
 * (a planted `.env.local -> tracked/file` or `.cursor -> ~` is refused, naming the path),
 * replaces each file atomically (a temporary file in the same directory, then rename), and
 * keeps the one secret file out of git by adding it to the directory's .gitignore. */
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
#include "common/buf.h"
#include "common/util.h"
#include "common/xmalloc.h"

static void
ctl_connect_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: vibnctl connect-cursor --workspace SLUG (--key TOKEN | --mint NAME)\n"
	    "                              --out DIR [--url URL]\n"
	    "\n"
	    "Writes the files that connect Cursor and Claude Code to one workspace:\n"
	    "  DIR/" CONNECT_RULE_PATH "  the Cursor rule: API, identity, house rules\n"
	    "  DIR/" CONNECT_CURSOR_PATH "                  Cursor's MCP server (key from "
	    "${env:VIBN_API_KEY})\n"
	    "  DIR/" CONNECT_CLAUDE_PATH "                         Claude Code's MCP server (key "
	    "from ${VIBN_API_KEY})\n"
	    "  DIR/" CONNECT_ENV_PATH "                        the key (mode 0600), VIBN_API_URL "
	    "and a smoke-test curl line\n"
	    "and adds " CONNECT_ENV_PATH " to DIR/.gitignore; only that file holds the key, the "
	    "others can be\ncommitted. Start the editor where .env.local is loaded "
	    "(set -a; . ./.env.local; set +a).\nSymbolic links inside DIR are never followed: "
	    "such a path is refused.\n"
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

/* Opens the directory holding rel (a relative path with '/' separators) below dirfd,
 * creating missing directories (when create is set) and never following a symbolic link.
 * Returns a new fd and *base pointing into rel at its last component; -2 when a directory
 * is missing (create unset); or -1 with a one-line *cause. */
static int
ctl_connect_opendirs(int dirfd, const char *dir, const char *rel, int create, const char **base,
                     char **cause)
{
	char *copy = xstrdup(rel), *comp = copy, *slash;
	int fd = dup(dirfd), next;

	if (fd < 0)
		goto fail;
	while ((slash = strchr(comp, '/')) != NULL) {
		*slash = '\0';
		if (create && mkdirat(fd, comp, 0755) != 0 && errno != EEXIST)
			goto fail;
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && !create) {
			close(fd);
			free(copy);
			return -2;
		}
		if (next < 0) {
			if (errno == ELOOP || errno == ENOTDIR)
				*cause = xasprintf("refusing %s/%.*s: a symbolic link or not a "
				                   "directory (not followed)",
				                   dir, (int)(slash - copy), rel);
			goto fail;
		}
		close(fd);
		fd = next;
		comp = slash + 1;
	}
	*base = rel + (comp - copy);
	free(copy);
	return fd;
fail:
	if (*cause == NULL)
		*cause = xasprintf("%s/%s: %s", dir, rel, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(copy);
	return -1;
}

/* 0 when dir/rel could be written without following a symbolic link (it, or a directory
 * on its way, is missing or a real file/directory), else -1 with a one-line *cause. */
static int
ctl_connect_check(int dirfd, const char *dir, const char *rel, char **cause)
{
	const char *base = NULL;
	struct stat st;
	int dfd, rc = 0;

	*cause = NULL;
	dfd = ctl_connect_opendirs(dirfd, dir, rel, 0, &base, cause);
	if (dfd == -2)
		return 0;
	if (dfd < 0)
		return -1;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
		*cause = xasprintf("refusing %s/%s: %s (not followed, not replaced)", dir, rel,
		                   S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file");
		rc = -1;
	}
	close(dfd);
	return rc;
}

/* Replaces dir/rel with text (mode), atomically, without following a symbolic link at rel
 * or in its directories. Returns 0, or -1 with a one-line *cause naming the path. */
static int
ctl_connect_put(int dirfd, const char *dir, const char *rel, const char *text, mode_t mode,
                char **cause)
{
	const char *base = NULL;
	size_t len = strlen(text);
	unsigned char rnd[6];
	char hex[13], *tmp = NULL;
	struct stat st;
	int dfd, fd = -1, rc = -1;

	*cause = NULL;
	if ((dfd = ctl_connect_opendirs(dirfd, dir, rel, 1, &base, cause)) < 0)
		return -1;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
		*cause = xasprintf("refusing %s/%s: %s (not followed, not replaced)", dir, rel,
		                   S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file");
		goto out;
	}
	util_random_bytes(rnd, sizeof rnd);
	util_hex(rnd, sizeof rnd, hex);
	tmp = xasprintf(".%s.%s.tmp", base, hex);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	/* The umask may have taken bits away; the mode is the point for the key's file. */
	if (fd < 0 || fchmod(fd, mode) != 0 || write(fd, text, len) != (ssize_t)len ||
	    fsync(fd) != 0) {
		*cause = xasprintf("writing %s/%s: %s", dir, rel, strerror(errno));
		goto out;
	}
	if (close(fd) != 0 || (fd = -1, renameat(dfd, tmp, dfd, base) != 0)) {
		*cause = xasprintf("writing %s/%s: %s", dir, rel, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0 && tmp != NULL)
		(void)unlinkat(dfd, tmp, 0);
	free(tmp);
	close(dfd);
	return rc;
}

/* 1 when a .gitignore text already ignores .env.local at the top (a line ".env.local" or
 * "/.env.local", surrounding blanks aside). */
static int
ctl_connect_ignored(const char *text)
{
	for (const char *line = text; line != NULL && *line != '\0';) {
		const char *end = strchr(line, '\n'), *p = line;
		size_t n = end ? (size_t)(end - line) : strlen(line);

		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
			n--;
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		if (n > 0 && *p == '/') {
			p++;
			n--;
		}
		if (n == strlen(CONNECT_ENV_PATH) && strncmp(p, CONNECT_ENV_PATH, n) == 0)
			return 1;
		line = end ? end + 1 : NULL;
	}
	return 0;
}

/* Adds .env.local to dir/.gitignore (creating it), unless it is there already. Reads and
 * replaces it without following a symbolic link. Returns 0, or -1 with *cause. */
static int
ctl_connect_gitignore(int dirfd, const char *dir, char **cause)
{
	struct buf b;
	struct stat st;
	char chunk[4096];
	mode_t mode = 0644;
	ssize_t n;
	int fd, rc;

	*cause = NULL;
	buf_init(&b);
	fd = openat(dirfd, ".gitignore", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT) {
		*cause = errno == ELOOP ? xasprintf("refusing %s/.gitignore: a symbolic link "
		                                    "(not followed)",
		                                    dir)
		                        : xasprintf("%s/.gitignore: %s", dir, strerror(errno));
		buf_free(&b);
		return -1;
	}
	if (fd >= 0) {
		if (fstat(fd, &st) == 0)
			mode = st.st_mode & 07777;
		while ((n = read(fd, chunk, sizeof chunk)) > 0)
			buf_append(&b, chunk, (size_t)n);
		close(fd);
		if (n < 0) {
			*cause = xasprintf("%s/.gitignore: %s", dir, strerror(errno));
			buf_free(&b);
			return -1;
		}
	}
	if (ctl_connect_ignored(buf_str(&b))) {
		buf_free(&b);
		return 0;
	}
	if (b.len > 0 && b.data[b.len - 1] != '\n')
		buf_putc(&b, '\n');
	buf_puts(&b, "# vibn: the workspace key (vibnctl connect-cursor)\n" CONNECT_ENV_PATH "\n");
	rc = ctl_connect_put(dirfd, dir, ".gitignore", buf_str(&b), mode, cause);
	if (rc == 0)
		printf("added %s to %s/.gitignore\n", CONNECT_ENV_PATH, dir);
	buf_free(&b);
	return rc;
}

/* Writes every file and the .gitignore line into dir (created if missing). */
static int
ctl_connect_write_all(const char *dir, const struct connect_files *files)
{
	char *cause = NULL;
	struct stat st;
	int dirfd, rc = -1;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		ctl_error("connect-cursor: mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	/* dir itself is the caller's choice (it may be a link to a checkout); inside it,
	 * nothing is followed. */
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		ctl_error("connect-cursor: %s: %s", dir, strerror(errno));
		return -1;
	}
	/* Everything is checked before anything is written: a refusal leaves no half set. */
	for (int i = 0; i <= CONNECT_NFILES; i++)
		if (ctl_connect_check(dirfd, dir,
		                      i < CONNECT_NFILES ? files->v[i].path : ".gitignore",
		                      &cause) != 0)
			goto out;
	for (int i = 0; i < CONNECT_NFILES; i++) {
		const struct connect_file *f = &files->v[i];

		if (ctl_connect_put(dirfd, dir, f->path, f->content, f->secret ? 0600 : 0644,
		                    &cause) != 0)
			goto out;
		printf("wrote %s/%s%s\n", dir, f->path, f->secret ? " (the key; mode 0600)" : "");
	}
	if (ctl_connect_gitignore(dirfd, dir, &cause) != 0)
		goto out;
	/* An earlier version wrote the key into DIR/mcp.json: say so, delete nothing. */
	if (fstatat(dirfd, "mcp.json", &st, AT_SYMLINK_NOFOLLOW) == 0)
		fprintf(
		    stderr,
		    "vibnctl: note: %s/mcp.json is from an earlier connect-cursor and may hold a "
		    "key in plain text; Cursor now reads %s: remove it\n",
		    dir, CONNECT_CURSOR_PATH);
	rc = 0;
out:
	if (cause != NULL)
		ctl_error("connect-cursor: %s", cause);
	free(cause);
	close(dirfd);
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
	if (ctl_connect_write_all(dir, &files) != 0)
		goto out;
	printf("Claude Code without .mcp.json (registers the server for your user):\n"
	       "  set -a; . '%s/%s'; set +a; %s\n",
	       dir, CONNECT_ENV_PATH, files.claude_command);
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
