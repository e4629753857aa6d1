/* Who is calling the tenant API (and the MCP server): a workspace key, the admin, or the
 * settings page's session.
 *
 *   Authorization: Bearer vibn_sk_...       a key, pinned to its one workspace
 *   Authorization: Bearer <ADMIN_MIGRATE_SECRET>, or x-admin-secret: <secret>   the admin
 *   Cookie: vibn_session=...                 a settings-page session (tenancy/session.h):
 *                                            pinned to one workspace, or the admin's; only
 *                                            where the route takes auth_creds, and only
 *                                            when no header above is present
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
	int session;           /* 1: authenticated by a settings-page session cookie */
};

/* A request's credentials, for routes that the settings page calls as well. */
struct auth_creds {
	const char *authorization;  /* the Authorization header, or NULL */
	const char *x_admin_secret; /* the x-admin-secret header, or NULL */
	const char *cookie;         /* the Cookie header, or NULL */
	const char *csrf;           /* the X-CSRF-Token header, or NULL */
	int unsafe;                 /* a state-changing method (anything but GET and HEAD) */
};

enum auth_result {
	AUTH_OK,
	AUTH_MISSING,  /* no credentials: 401 */
	AUTH_INVALID,  /* unknown, revoked or malformed credentials: 401 */
	AUTH_DB_ERROR, /* could not check: 503 */
	AUTH_CSRF,     /* a session's state-changing request without its CSRF token: 403 */
};

/* Authenticates from the two headers (either may be NULL). admin_secret is the configured
 * ADMIN_MIGRATE_SECRET (NULL or "": no admin access). Fills *p on AUTH_OK. */
enum auth_result auth_check(PGconn *db, const char *authorization, const char *x_admin_secret,
                            const char *admin_secret, struct auth_principal *p);

/* 1 when p holds every scope in want (KEYS_SCOPE_* bits). Check it after the tenancy
 * gate, so that another workspace's resources answer 404 whatever the scope; answer 403
 * "insufficient_scope" when it fails. */
int auth_has_scope(const struct auth_principal *p, unsigned want);
/* auth_check, and else the session cookie: a request carrying Authorization or
 * x-admin-secret is judged by those alone (a bearer request needs no CSRF token: a browser
 * never adds that header by itself); one carrying only the cookie is the session's, and a
 * state-changing one must carry the session's CSRF token too. An admin session counts only
 * while an admin secret is configured. */
enum auth_result auth_check_creds(PGconn *db, const struct auth_creds *c, const char *admin_secret,
                                  struct auth_principal *p);

/* 1 when p may see the workspace with this id: the admin, or a key of that workspace.
 * Callers answer 404 otherwise, exactly as for a workspace that does not exist. */
int auth_allows(const struct auth_principal *p, const char *workspace_id);

#endif
