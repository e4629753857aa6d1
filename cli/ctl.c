#include "ctl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "clients/db.h"
#include "common/xmalloc.h"

void
ctl_error(const char *fmt, ...)
{
	va_list ap;

	fputs("vibnctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

PGconn *
ctl_connect(void)
{
	const char *url = getenv("DATABASE_URL");
	char *cause = NULL;
	PGconn *conn;

	if (url == NULL || *url == '\0') {
		ctl_error("DATABASE_URL is not set (a libpq URI such as "
		          "postgresql://user@host:5432/vibn, or a key=value conninfo)");
		return NULL;
	}
	conn = db_connect(url, "vibnctl", &cause);
	if (conn == NULL) {
		ctl_error("%s", cause);
		free(cause);
	}
	return conn;
}

char *
ctl_workspace_id(PGconn *conn, const char *cmd, const char *slug)
{
	const char *p[1] = {slug};
	char *cause = NULL, *id;
	PGresult *res =
	    db_exec(conn, "SELECT id FROM vibn_workspaces WHERE slug = $1 AND deleted_at IS NULL",
	            1, p, &cause);

	if (res == NULL) {
		ctl_error("%s: %s", cmd, cause);
		free(cause);
		return NULL;
	}
	if (PQntuples(res) == 0) {
		ctl_error("%s: workspace \"%s\" not found", cmd, slug);
		PQclear(res);
		return NULL;
	}
	id = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return id;
}
