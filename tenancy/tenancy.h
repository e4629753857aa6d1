/* The one tenancy gate: slug -> workspace -> may this principal see it. Every route of the
 * REST API, every MCP tool and the connect files resolve their workspace here, so there is
 * one rule:
 *
 *   - a key sees its own workspace only; the admin sees every workspace;
 *   - a soft-deleted workspace (being cleaned up by the reconciler) is gone for everyone,
 *     admin included: operators follow it with `vibnctl get`/`describe`;
 *   - anything else (no such slug, a malformed slug, another tenant's workspace, a
 *     deleted one) is the same answer, "not found", so nothing leaks.
 *
 * Runs a query: call it from a database thread, never the loop. */
#ifndef VIBN_TENANCY_H
#define VIBN_TENANCY_H

#include <libpq-fe.h>

#include "tenancy/auth.h"

struct tenancy_ws {
	char id[40];   /* uuid */
	char slug[40]; /* at most 32 characters */
};

/* Resolves slug (NULL: a key's own workspace; the admin must name one) for p. Returns 0
 * with *ws filled, 1 when there is none p may see, or -1 with *cause (database). */
int tenancy_workspace(PGconn *db, const struct auth_principal *p, const char *slug,
                      struct tenancy_ws *ws, char **cause);

#endif
