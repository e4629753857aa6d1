/* The workspace settings page, served by vibnd: static HTML, CSS and JavaScript compiled into
 * the binary from ui/ (scripts/embed-ui.sh), and the sign-in routes around it. The page
 * itself calls the tenant API (api/api.h) with its session cookie and CSRF token.
 *
 *   GET    /                      302 to /ui/
 *   GET    /ui, /ui/, /ui/{asset}  the page (ETag; If-None-Match answers 304)
 *   GET    /ui/session             {"signedIn": false} or {"signedIn": true, "admin",
 *                                  "workspace", "csrf", "giteaUrl"}
 *   POST   /ui/session             {"token": "vibn_ll_..."} (a login link, exchanged once) or
 *                                  {"adminSecret": "..."} -> 201, Set-Cookie vibn_session
 *                                  (HttpOnly, SameSite=Strict, Path=/, Max-Age, Secure when
 *                                  VIBN_PUBLIC_URL is https); 401 link_used, link_expired,
 *                                  link_invalid or invalid_credentials
 *   DELETE /ui/session             sign out: revokes the session (X-CSRF-Token), clears the
 *                                  cookie; 204
 *   POST   /api/workspaces/{slug}/login-links   the admin secret only (not a key, not a
 *                                  session): {"ttl": "10m"} optional -> 201 {"url",
 *                                  "expiresAt"}
 *
 * Every /ui/ answer carries the page's Content-Security-Policy (no inline script or style,
 * frame-ancestors 'none'), X-Frame-Options DENY, nosniff and no-referrer; answers holding a
 * secret carry Cache-Control: no-store. Tokens are never logged. */
#ifndef VIBN_UI_H
#define VIBN_UI_H

#include <stddef.h>

/* One embedded file of ui/ (the generated table, in build/.../gen/ui_assets.c). */
struct ui_asset {
	const char *name; /* e.g. "app.js" */
	const char *content_type;
	const unsigned char *data;
	size_t len;
	const char *etag; /* quoted: a hash of the content */
};
extern const struct ui_asset ui_assets[];
extern const int ui_assets_count;

#define UI_CSP                                                                                     \
	"default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; "        \
	"base-uri 'none'; form-action 'self'"

struct ui_config {
	const char *admin_secret; /* ADMIN_MIGRATE_SECRET or NULL (copied) */
	const char *public_url;   /* VIBN_PUBLIC_URL or NULL: links name the request's Host */
	const char *gitea_url;    /* GITEA_API_URL or NULL: the page links the org in Gitea */
	long session_ttl;         /* seconds a session lasts (VIBN_SESSION_TTL) */
};

/* Registers the routes (dbpool must be started). Call on the loop thread. */
void ui_register(const struct ui_config *cfg);
/* Forgets the configuration (secrets wiped). */
void ui_stop(void);

/* The asset called name, or NULL. */
const struct ui_asset *ui_asset_find(const char *name);

#endif
