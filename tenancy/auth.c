#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tenancy/keys.h"
#include "tenancy/session.h"
#include "common/log.h"
#include "common/util.h"

/* The credential after "Bearer " (any case, as RFC 6750 allows), or NULL. */
static const char *
auth_bearer(const char *authorization)
{
	if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
		return NULL;
	authorization += 7;
	while (*authorization == ' ')
		authorization++;
	return *authorization ? authorization : NULL;
}

static int
auth_is_admin(const char *given, const char *admin_secret)
{
	if (given == NULL || admin_secret == NULL || *admin_secret == '\0')
		return 0;
	/* Hash both first: a constant-time compare of equal-length digests. */
	unsigned char a[32], b[32];

	util_sha256(given, strlen(given), a);
	util_sha256(admin_secret, strlen(admin_secret), b);
	return util_ct_equal(a, sizeof a, b, sizeof b);
}

enum auth_result
auth_check(PGconn *db, const char *authorization, const char *x_admin_secret,
           const char *admin_secret, struct auth_principal *p)
{
	const char *bearer = auth_bearer(authorization);
	struct keys_found f;
	char *cause = NULL;
	int rc;

	memset(p, 0, sizeof *p);
	if (x_admin_secret != NULL && *x_admin_secret != '\0') {
		if (!auth_is_admin(x_admin_secret, admin_secret))
			return AUTH_INVALID;
		p->admin = 1;
		p->scopes = KEYS_SCOPE_ALL;
		return AUTH_OK;
	}
	if (bearer == NULL)
		return authorization != NULL && *authorization ? AUTH_INVALID : AUTH_MISSING;
	if (!keys_well_formed(bearer)) {
		if (!auth_is_admin(bearer, admin_secret))
			return AUTH_INVALID;
		p->admin = 1;
		p->scopes = KEYS_SCOPE_ALL;
		return AUTH_OK;
	}
	rc = keys_lookup_key(db, bearer, &f, &cause);
	if (rc < 0) {
		log_warn("api auth: %s", cause);
		free(cause);
		return AUTH_DB_ERROR;
	}
	if (rc == 1)
		return AUTH_INVALID;
	snprintf(p->workspace_id, sizeof p->workspace_id, "%s", f.workspace_id);
	snprintf(p->key_id, sizeof p->key_id, "%s", f.key_id);
	snprintf(p->expires_at, sizeof p->expires_at, "%s", f.expires_at);
	p->scopes = f.scopes;
	return AUTH_OK;
}

enum auth_result
auth_check_creds(PGconn *db, const struct auth_creds *c, const char *admin_secret,
                 struct auth_principal *p)
{
	char token[SESSION_TOKEN_HEX + 1], sid[40], *cause = NULL;
	enum auth_result r = AUTH_INVALID;
	int admin, rc;

	if ((c->authorization != NULL && *c->authorization != '\0') ||
	    (c->x_admin_secret != NULL && *c->x_admin_secret != '\0'))
		return auth_check(db, c->authorization, c->x_admin_secret, admin_secret, p);
	memset(p, 0, sizeof *p);
	if (c->cookie == NULL || strstr(c->cookie, SESSION_COOKIE "=") == NULL)
		return AUTH_MISSING;
	if (!session_from_cookie(c->cookie, token))
		return AUTH_INVALID;
	rc = session_lookup(db, token, &admin, p->workspace_id, sid, &cause);
	if (rc < 0) {
		log_warn("api auth: session: %s", cause);
		free(cause);
		r = AUTH_DB_ERROR;
		goto out;
	}
	if (rc == 1 || (admin && (admin_secret == NULL || *admin_secret == '\0')))
		goto out;
	/* The cookie rides along with any request the browser makes, cross-site forms
	 * included; only our page can read the CSRF token (same-origin JSON). */
	if (c->unsafe && !session_csrf_ok(token, c->csrf)) {
		r = AUTH_CSRF;
		goto out;
	}
	p->admin = admin;
	p->session = 1;
	/* A signed-in person manages the workspace's keys on the page: every scope. */
	p->scopes = KEYS_SCOPE_ALL;
	r = AUTH_OK;
out:
	explicit_bzero(token, sizeof token);
	if (r != AUTH_OK)
		memset(p, 0, sizeof *p);
	return r;
}

int
auth_has_scope(const struct auth_principal *p, unsigned want)
{
	return (p->scopes & want) == want;
}

int
auth_allows(const struct auth_principal *p, const char *workspace_id)
{
	return p->admin || (workspace_id != NULL && strcmp(p->workspace_id, workspace_id) == 0);
}
