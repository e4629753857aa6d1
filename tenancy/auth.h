/* Who is calling the tenant API (and the MCP server): a workspace key or the admin.
 *
 *   Authorization: Bearer vibn_sk_...       a key, pinned to its one workspace
 *   Authorization: Bearer <ADMIN_MIGRATE_SECRET>, or x-admin-secret: <secret>   the admin
 *
 * Keys are looked up by their sha256 (clients/keys.c); the admin secret is compared in
 * constant time. Runs a query, so call it from a database thread, never the loop. */
#ifndef VIBN_TENANCY_AUTH_H
#define VIBN_TENANCY_AUTH_H

#include <libpq-fe.h>

struct auth_principal {
	int admin;             /* 1: sees every workspace */
	char workspace_id[40]; /* a key's workspace (uuid); "" for the admin */
	char key_id[40];       /* the key's id; "" for the admin */
	unsigned scopes;       /* KEYS_SCOPE_* the caller holds; all of them for the admin */
	char expires_at[24];   /* a key's expiry (UTC, "YYYY-MM-DDTHH:MM:SSZ"); "" for none */
};

enum auth_result {
	AUTH_OK,
	AUTH_MISSING,  /* no credentials: 401 */
	AUTH_INVALID,  /* unknown, revoked or malformed credentials: 401 */
	AUTH_DB_ERROR, /* could not check: 503 */
};

/* Authenticates from the two headers (either may be NULL). admin_secret is the configured
 * ADMIN_MIGRATE_SECRET (NULL or "": no admin access). Fills *p on AUTH_OK. */
enum auth_result auth_check(PGconn *db, const char *authorization, const char *x_admin_secret,
                            const char *admin_secret, struct auth_principal *p);

/* 1 when p holds every scope in want (KEYS_SCOPE_* bits). Check it after the tenancy
 * gate, so that another workspace's resources answer 404 whatever the scope; answer 403
 * "insufficient_scope" when it fails. */
int auth_has_scope(const struct auth_principal *p, unsigned want);

/* 1 when p may see the workspace with this id: the admin, or a key of that workspace.
 * Callers answer 404 otherwise, exactly as for a workspace that does not exist. */
int auth_allows(const struct auth_principal *p, const char *workspace_id);

#endif
