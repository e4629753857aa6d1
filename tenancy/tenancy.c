#include "tenancy.h"

#include <stdio.h>
#include <stdlib.h>

#include "clients/db.h"
#include "common/names.h"

int
tenancy_workspace(PGconn *db, const struct auth_principal *p, const char *slug,
                  struct tenancy_ws *ws, char **cause)
{
	const char *params[2] = {slug, p->admin ? NULL : p->workspace_id};
	PGresult *res;
	int rc = 1;

	*cause = NULL;
	if (slug != NULL && !names_valid_slug(slug))
		return 1;
	if (slug == NULL && p->admin)
		return 1;
	res =
	    db_exec(db,
	            "SELECT id, slug FROM vibn_workspaces WHERE deleted_at IS NULL"
	            " AND ($1::text IS NULL OR slug = $1) AND ($2::uuid IS NULL OR id = $2::uuid)",
	            2, params, cause);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1 && auth_allows(p, PQgetvalue(res, 0, 0))) {
		snprintf(ws->id, sizeof ws->id, "%s", PQgetvalue(res, 0, 0));
		snprintf(ws->slug, sizeof ws->slug, "%s", PQgetvalue(res, 0, 1));
		rc = 0;
	}
	PQclear(res);
	return rc;
}
