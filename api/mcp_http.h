/* The HTTP side of the MCP server and the connect files, on dbpool's database threads:
 *
 *   POST /api/mcp                          the MCP Streamable HTTP endpoint (controller/mcp.h);
 *                                          GET answers 405 (no server-initiated stream)
 *   GET  /api/workspaces/{slug}/connect    the "Connect Cursor" files as JSON
 *                                          (clients/connect.h), embedding the request's key
 *
 * Both authenticate like the tenant API (auth_check (tenancy/auth): a key, or the admin secret):
 * 401 with WWW-Authenticate without valid credentials; another workspace's slug is 404 not_found.
 */
#ifndef VIBN_MCP_HTTP_H
#define VIBN_MCP_HTTP_H

/* Registers the routes (dbpool must be started). admin_secret (ADMIN_MIGRATE_SECRET) and
 * public_url (VIBN_PUBLIC_URL) are copied; either may be NULL. Without a public URL the
 * connect files use http://<the request's Host>. Call on the loop thread. */
void mcp_http_register(const char *admin_secret, const char *public_url);
/* Forgets the copies. */
void mcp_http_stop(void);

#endif
