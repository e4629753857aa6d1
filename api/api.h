/* The tenant API (DESIGN section 4), served by vibnd. Every route authenticates on a
 * database thread (auth_check (tenancy/auth): a workspace-pinned key, or the admin secret) and
 * answers JSON; errors are {"error", "code"}. A key sees its own workspace only: any other slug,
 * existing or not, is 404 not_found, the same answer in every case.
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
 * 401 unauthorized: no credentials, or unknown/revoked key, or a wrong admin secret.
 * 403 forbidden: a key on an admin route. 503: the database did not answer in time. */
#ifndef VIBN_API_H
#define VIBN_API_H

/* Registers the routes (dbpool must be started). admin_secret (ADMIN_MIGRATE_SECRET, copied)
 * may be NULL: no admin access. Call on the loop thread. */
void api_register(const char *admin_secret);
/* Forgets the admin secret. */
void api_stop(void);

#endif
