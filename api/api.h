/* The tenant API (DESIGN section 4), served by vibnd. Every route authenticates on a
 * database thread (a workspace-pinned key, or the admin secret) and answers JSON; errors
 * are {"error", "code"}. Every workspace route resolves its slug through the one tenancy
 * gate (tenancy/tenancy.h): a key sees its own workspace only, nobody sees a soft-deleted
 * one, and any other slug, existing or not, is 404 not_found, the same answer every time.
 *
 *   GET    /api/workspaces                      the key's workspace; the admin: all, paged
 *                                               (?limit=1..1000, default 100; ?after=<slug>)
 *   GET    /api/workspaces/{slug}               identity, upstream ids, status, conditions
 *   POST   /api/workspaces/{slug}/provision     enqueue now (interactive): 202
 *   GET    /api/workspaces/{slug}/keys          key metadata (never a token or a hash)
 *   POST   /api/workspaces/{slug}/keys          {"name": "..."} -> 201 with the token, once
 *   DELETE /api/workspaces/{slug}/keys/{keyId}  revoke: 204 (again: 204; unknown: 404)
 *   POST   /api/admin/migrate                   the admin only: applies pending migrations
 *
 * The settings page (/ui/) calls these same routes with its session cookie instead of a
 * key: a session is a principal like a key (pinned to one workspace, or the admin's), and
 * its state-changing requests (POST, DELETE) need the session's X-CSRF-Token header
 * (403 csrf without it); requests with a bearer key or the admin secret need none. A GET's
 * 200 carries an ETag, and If-None-Match with it answers 304 (the page polls that way).
 *
 * 401 unauthorized: no credentials, or unknown/revoked key, or a wrong admin secret.
 * 403 forbidden: a key on an admin route. 503: the database did not answer in time. */
#ifndef VIBN_API_H
#define VIBN_API_H

#include <libpq-fe.h>

#include "httpd/dbpool.h"
#include "tenancy/auth.h"

/* Authenticates a request's credentials (either header may be NULL) on a database thread.
 * Returns 0 with *p set, or -1 having answered 401 (with WWW-Authenticate) or 503. */
int api_authenticate(PGconn *db, const char *authorization, const char *x_admin_secret,
                     const char *admin_secret, struct auth_principal *p, struct dbpool_reply *out);

/* api_authenticate with every credential a request may carry, the settings page's session
 * cookie included (tenancy/auth.h auth_check_creds); also answers 403 csrf. */
int api_authenticate_creds(PGconn *db, const struct auth_creds *creds, const char *admin_secret,
                           struct auth_principal *p, struct dbpool_reply *out);

/* Registers the routes (dbpool must be started). admin_secret (ADMIN_MIGRATE_SECRET, copied)
 * may be NULL: no admin access. Call on the loop thread. */
void api_register(const char *admin_secret);
/* Forgets the admin secret. */
void api_stop(void);

/* The scope a route needs (KEYS_SCOPE_*), checked after the tenancy gate (another
 * workspace stays 404): 0, or -1 having answered 403 insufficient_scope. */
int api_scope(const struct auth_principal *p, unsigned want, struct dbpool_reply *out);

#endif
