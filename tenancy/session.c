#include "session.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/db.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define SESSION_ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The label the CSRF token is derived under: a different label gives an unrelated token. */
static const char session_csrf_label[] = "vibn settings page csrf v1";

int
session_parse_duration(const char *text, long max, long *seconds, char **cause)
{
	static const struct {
		char unit;
		long mult;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
	char num[24];
	size_t len = text != NULL ? strlen(text) : 0;
	long mult = 1, v;

	*cause = NULL;
	if (len > 0 && !isdigit((unsigned char)text[len - 1])) {
		mult = 0;
		for (size_t i = 0; i < nitems(units); i++)
			if (text[len - 1] == units[i].unit)
				mult = units[i].mult;
		len--;
	}
	if (len == 0 || len >= sizeof num || mult == 0)
		goto fail;
	memcpy(num, text, len);
	num[len] = '\0';
	/* Digits only: strtol would take a sign or leading blanks. */
	if (strspn(num, "0123456789") != len)
		goto fail;
	if (util_parse_long(num, 1, max / mult, &v) != 0 || v * mult > max)
		goto fail;
	*seconds = v * mult;
	return 0;
fail:
	*cause = xasprintf("bad duration \"%s\": want e.g. 90s, 10m, 2h or 1d, at most %lds",
	                   text != NULL ? text : "", max);
	return -1;
}

/* A fresh random token: prefix + 64 hex characters, into out. */
static void
session_random(const char *prefix, char *out, size_t outlen)
{
	unsigned char rnd[SESSION_TOKEN_HEX / 2];
	char hex[SESSION_TOKEN_HEX + 1];

	util_random_bytes(rnd, sizeof rnd);
	util_hex(rnd, sizeof rnd, hex);
	snprintf(out, outlen, "%s%s", prefix, hex);
	explicit_bzero(rnd, sizeof rnd);
	explicit_bzero(hex, sizeof hex);
}

int
session_link_mint(PGconn *db, const char *workspace_id, long ttl, char **token, char **expires_at,
                  char **cause)
{
	char tok[SESSION_LINK_LEN + 1], hash[65], secs[24];
	const char *p[3] = {workspace_id, hash, secs};
	PGresult *res;
	int rc = -1;

	*token = NULL;
	*expires_at = NULL;
	*cause = NULL;
	session_random(SESSION_LINK_PREFIX, tok, sizeof tok);
	util_sha256_hex(tok, strlen(tok), hash);
	snprintf(secs, sizeof secs, "%ld", ttl);
	res = db_exec(db,
	              "INSERT INTO vibn_login_links (workspace_id, token_hash, expires_at) "
	              "SELECT id, $2, now() + make_interval(secs => $3::int) FROM vibn_workspaces "
	              "WHERE id = $1::uuid AND deleted_at IS NULL "
	              "RETURNING " SESSION_ISO("expires_at"),
	              3, p, cause);
	if (res == NULL)
		goto fail;
	if (PQntuples(res) == 1) {
		*token = xstrdup(tok);
		*expires_at = xstrdup(PQgetvalue(res, 0, 0));
		rc = 0;
	} else {
		rc = 1;
	}
	PQclear(res);
fail:
	explicit_bzero(tok, sizeof tok);
	return rc;
}

char *
session_link_url(const char *base, const char *token)
{
	size_t len = strlen(base);

	while (len > 0 && base[len - 1] == '/')
		len--;
	return xasprintf("%.*s%s%s", (int)len, base, SESSION_LINK_URL_MARKER, token);
}

int
session_login(PGconn *db, const char *link_token, long ttl, enum session_login_result *result,
              struct session_info *out, char **cause)
{
	char link_hash[65], session_hash[65], secs[24];
	const char *p[3] = {link_hash, session_hash, secs};
	const char *r;
	PGresult *res;

	*cause = NULL;
	*result = SESSION_LOGIN_UNKNOWN;
	memset(out, 0, sizeof *out);
	/* A link of the wrong shape cannot be one of ours: no need to ask the database. */
	if (link_token == NULL || strlen(link_token) != SESSION_LINK_LEN ||
	    strncmp(link_token, SESSION_LINK_PREFIX, sizeof SESSION_LINK_PREFIX - 1) != 0 ||
	    !session_well_formed(link_token + sizeof SESSION_LINK_PREFIX - 1))
		return 0;
	util_sha256_hex(link_token, strlen(link_token), link_hash);
	session_random("", out->token, sizeof out->token);
	util_sha256_hex(out->token, strlen(out->token), session_hash);
	snprintf(secs, sizeof secs, "%ld seconds", ttl);
	res = db_exec(db,
	              "SELECT out_result, out_slug, " SESSION_ISO(
	                  "out_expires") " "
	                                 "FROM vibn_ui_login($1, $2, $3::interval)",
	              3, p, cause);
	if (res == NULL) {
		explicit_bzero(out, sizeof *out);
		return -1;
	}
	r = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "unknown";
	if (strcmp(r, "ok") == 0) {
		*result = SESSION_LOGIN_OK;
		snprintf(out->slug, sizeof out->slug, "%s", PQgetvalue(res, 0, 1));
		snprintf(out->expires_at, sizeof out->expires_at, "%s", PQgetvalue(res, 0, 2));
	} else {
		*result = strcmp(r, "used") == 0      ? SESSION_LOGIN_USED
		          : strcmp(r, "expired") == 0 ? SESSION_LOGIN_EXPIRED
		                                      : SESSION_LOGIN_UNKNOWN;
		explicit_bzero(out, sizeof *out);
	}
	PQclear(res);
	return 0;
}

int
session_admin_login(PGconn *db, long ttl, struct session_info *out, char **cause)
{
	char hash[65], secs[24];
	const char *p[2] = {hash, secs};
	PGresult *res;

	*cause = NULL;
	memset(out, 0, sizeof *out);
	session_random("", out->token, sizeof out->token);
	util_sha256_hex(out->token, strlen(out->token), hash);
	snprintf(secs, sizeof secs, "%ld seconds", ttl);
	res = db_exec(db,
	              "INSERT INTO vibn_ui_sessions (token_hash, admin, expires_at) "
	              "VALUES ($1, true, now() + $2::interval) "
	              "RETURNING " SESSION_ISO("expires_at"),
	              2, p, cause);
	if (res == NULL) {
		explicit_bzero(out, sizeof *out);
		return -1;
	}
	snprintf(out->expires_at, sizeof out->expires_at, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int
session_lookup(PGconn *db, const char *token, int *admin, char workspace_id[40],
               char session_id[40], char **cause)
{
	char hash[65];
	const char *p[1] = {hash};
	PGresult *res;
	int rc = 1;

	*cause = NULL;
	*admin = 0;
	workspace_id[0] = session_id[0] = '\0';
	if (!session_well_formed(token))
		return 1;
	util_sha256_hex(token, strlen(token), hash);
	res =
	    db_exec(db,
	            "SELECT s.id, s.admin, coalesce(s.workspace_id::text, '') "
	            "FROM vibn_ui_sessions s LEFT JOIN vibn_workspaces w ON w.id = s.workspace_id "
	            "WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now() "
	            "  AND (s.admin OR w.deleted_at IS NULL)",
	            1, p, cause);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1) {
		snprintf(session_id, 40, "%s", PQgetvalue(res, 0, 0));
		*admin = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
		snprintf(workspace_id, 40, "%s", PQgetvalue(res, 0, 2));
		rc = 0;
	}
	PQclear(res);
	return rc;
}

int
session_revoke(PGconn *db, const char *token, char **cause)
{
	char hash[65];
	const char *p[1] = {hash};

	*cause = NULL;
	if (!session_well_formed(token))
		return 0;
	util_sha256_hex(token, strlen(token), hash);
	return db_command(db,
	                  "UPDATE vibn_ui_sessions SET revoked_at = now() "
	                  "WHERE token_hash = $1 AND revoked_at IS NULL",
	                  1, p, cause);
}

int
session_well_formed(const char *token)
{
	if (token == NULL || strlen(token) != SESSION_TOKEN_HEX)
		return 0;
	for (const char *c = token; *c != '\0'; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
			return 0;
	return 1;
}

int
session_from_cookie(const char *cookie, char out[SESSION_TOKEN_HEX + 1])
{
	size_t nlen = sizeof SESSION_COOKIE - 1;
	const char *c = cookie;

	out[0] = '\0';
	/* Cookie: a=1; vibn_session=...; b=2 (RFC 6265 5.4): match the whole name. */
	while (c != NULL && *c != '\0') {
		size_t vlen;

		c += strspn(c, " \t;");
		vlen = strcspn(c, ";");
		if (vlen > nlen && strncmp(c, SESSION_COOKIE, nlen) == 0 && c[nlen] == '=') {
			const char *v = c + nlen + 1;
			size_t len = vlen - nlen - 1;

			while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
				len--;
			if (len == SESSION_TOKEN_HEX) {
				memcpy(out, v, len);
				out[len] = '\0';
				if (session_well_formed(out))
					return 1;
			}
			out[0] = '\0';
		}
		c += vlen;
	}
	return 0;
}

void
session_csrf(const char *token, char out[65])
{
	util_hmac_sha256_hex(token, strlen(token), session_csrf_label,
	                     sizeof session_csrf_label - 1, out);
}

int
session_csrf_ok(const char *token, const char *presented)
{
	char want[65];
	int ok;

	if (presented == NULL)
		return 0;
	session_csrf(token, want);
	ok = util_ct_equal(want, strlen(want), presented, strlen(presented));
	explicit_bzero(want, sizeof want);
	return ok;
}
