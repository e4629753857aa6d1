#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clients/db.h"
#include "common/names.h"
#include "common/util.h"
#include "common/xmalloc.h"

static const char keys_alphabet[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

void
keys_generate(char out[KEYS_TOKEN_LEN + 1])
{
	size_t plen = sizeof KEYS_TOKEN_PREFIX - 1, k = 0;
	unsigned char rnd[64];

	memcpy(out, KEYS_TOKEN_PREFIX, plen);
	/* Rejection sampling keeps every character uniform: bytes 248..255 would favour the
	 * first eight letters under "% 62". */
	while (k < KEYS_TOKEN_RANDOM_LEN) {
		util_random_bytes(rnd, sizeof rnd);
		for (size_t i = 0; i < sizeof rnd && k < KEYS_TOKEN_RANDOM_LEN; i++)
			if (rnd[i] < 248)
				out[plen + k++] = keys_alphabet[rnd[i] % 62];
	}
	out[plen + k] = '\0';
	memset(rnd, 0, sizeof rnd);
}

void
keys_hash(const char *token, char hex[65])
{
	util_sha256_hex(token, strlen(token), hex);
}

int
keys_well_formed(const char *token)
{
	size_t plen = sizeof KEYS_TOKEN_PREFIX - 1;

	if (token == NULL || strlen(token) != KEYS_TOKEN_LEN ||
	    strncmp(token, KEYS_TOKEN_PREFIX, plen) != 0)
		return 0;
	for (const char *p = token + plen; *p != '\0'; p++)
		if (strchr(keys_alphabet, *p) == NULL)
			return 0;
	return 1;
}

int
keys_valid_name(const char *name)
{
	size_t chars = 0;

	if (name == NULL || *name == '\0')
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		chars += (*p & 0xC0) != 0x80;
	}
	return chars <= KEYS_NAME_MAX;
}

static const char *const keys_scope_names[] = {"read", "write", "keys"};

int
keys_scopes_parse(const char *text, unsigned *scopes, char **cause)
{
	*scopes = 0;
	*cause = NULL;
	if (text == NULL || *text == '\0')
		goto fail;
	for (;;) {
		size_t n = strcspn(text, ","), i;

		for (i = 0; i < nitems(keys_scope_names); i++)
			if (strlen(keys_scope_names[i]) == n &&
			    strncmp(text, keys_scope_names[i], n) == 0)
				break;
		if (i == nitems(keys_scope_names) || (*scopes & (1u << i)))
			goto fail;
		*scopes |= 1u << i;
		if (text[n] == '\0')
			return 0;
		text += n + 1;
	}
fail:
	*scopes = 0;
	*cause = xstrdup("scopes: a comma-separated list of read, write and keys, each once");
	return -1;
}

void
keys_scopes_format(unsigned scopes, char out[KEYS_SCOPES_MAX])
{
	out[0] = '\0';
	for (size_t i = 0; i < nitems(keys_scope_names); i++) {
		if (!(scopes & (1u << i)))
			continue;
		if (out[0] != '\0')
			strcat(out, ",");
		strcat(out, keys_scope_names[i]);
	}
}

/* Parses "YYYY-MM-DDTHH:MM:SSZ" exactly (UTC). Returns 0 with *t, or -1. */
static int
keys_time_parse(const char *text, time_t *t)
{
	struct tm tm;
	const char *end;

	if (strlen(text) != KEYS_TIME_LEN)
		return -1;
	memset(&tm, 0, sizeof tm);
	end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	*t = timegm(&tm);
	return *t == (time_t)-1 ? -1 : 0;
}

static void
keys_time_format(time_t t, char out[KEYS_TIME_LEN + 1])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, KEYS_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
keys_expiry_parse(const char *text, time_t now, char out[KEYS_TIME_LEN + 1], char **cause)
{
	static const struct {
		char unit;
		long seconds;
	} units[] = {{'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
	size_t n = text != NULL ? strlen(text) : 0;
	time_t t = 0;
	long v;

	*cause = NULL;
	out[0] = '\0';
	for (size_t i = 0; n >= 2 && i < nitems(units); i++) {
		char digits[16];

		if (text[n - 1] != units[i].unit || n - 1 >= sizeof digits)
			continue;
		memcpy(digits, text, n - 1);
		digits[n - 1] = '\0';
		/* Digits only, at most ten years. */
		if (strspn(digits, "0123456789") != n - 1 ||
		    util_parse_long(digits, 1, 3650L * 86400 / units[i].seconds, &v) != 0)
			goto fail;
		t = now + (time_t)(v * units[i].seconds);
		break;
	}
	if (t == 0 && (n != KEYS_TIME_LEN || keys_time_parse(text, &t) != 0))
		goto fail;
	if (t <= now) {
		*cause = xstrdup("the expiry must be in the future");
		return -1;
	}
	keys_time_format(t, out);
	return 0;
fail:
	*cause = xstrdup("expiry: a duration (90m, 12h, 30d, 2w) or a time YYYY-MM-DDTHH:MM:SSZ");
	return -1;
}

int
keys_mint_opts(PGconn *conn, const struct keys_mint_opts *o, char **token, char **key_id,
               char **cause)
{
	char tok[KEYS_TOKEN_LEN + 1], hash[65], prefix[KEYS_DISPLAY_LEN + 1];
	char scopes[KEYS_SCOPES_MAX + 2], names[KEYS_SCOPES_MAX];
	const char *p[7] = {o->workspace_id, o->name,       prefix,      hash,
	                    scopes,          o->expires_at, o->minted_by};
	unsigned want = o->scopes != 0 ? o->scopes : KEYS_SCOPE_DEFAULT;
	PGresult *res;

	*token = NULL;
	*key_id = NULL;
	if (!keys_valid_name(o->name)) {
		*cause = xasprintf("invalid key name: 1 to %d characters, no control characters",
		                   KEYS_NAME_MAX);
		return -1;
	}
	if ((want & ~KEYS_SCOPE_ALL) != 0) {
		*cause = xstrdup("unknown scope");
		return -1;
	}
	keys_scopes_format(want, names);
	snprintf(scopes, sizeof scopes, "{%s}", names);
	keys_generate(tok);
	keys_hash(tok, hash);
	memcpy(prefix, tok, KEYS_DISPLAY_LEN);
	prefix[KEYS_DISPLAY_LEN] = '\0';
	res = db_exec(conn,
	              "INSERT INTO vibn_workspace_api_keys "
	              "  (workspace_id, name, key_prefix, key_hash, scopes, expires_at, minted_by) "
	              "SELECT id, $2, $3, $4, $5::text[], $6::timestamptz, $7::uuid "
	              "FROM vibn_workspaces "
	              "WHERE id = $1::uuid AND deleted_at IS NULL "
	              "  AND ($6::timestamptz IS NULL OR $6::timestamptz > now()) RETURNING id",
	              7, p, cause);
	if (res == NULL) {
		memset(tok, 0, sizeof tok);
		return -1;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		memset(tok, 0, sizeof tok);
		*cause = xstrdup(o->expires_at != NULL
		                     ? "no such workspace (or it is being deleted), or the expiry "
		                       "has passed"
		                     : "no such workspace (or it is being deleted)");
		return -1;
	}
	*key_id = xstrdup(PQgetvalue(res, 0, 0));
	*token = xstrdup(tok);
	PQclear(res);
	memset(tok, 0, sizeof tok);
	return 0;
}

int
keys_mint(PGconn *conn, const char *workspace_id, const char *name, char **token, char **key_id,
          char **cause)
{
	struct keys_mint_opts o = {workspace_id, name, KEYS_SCOPE_DEFAULT, NULL, NULL};

	return keys_mint_opts(conn, &o, token, key_id, cause);
}

int
keys_list(PGconn *conn, const char *workspace_id, struct keys_info **keys, size_t *n, char **cause)
{
	const char *p[1] = {workspace_id};
	PGresult *res;

	*keys = NULL;
	*n = 0;
	res = db_exec(
	    conn,
	    "SELECT k.id, k.workspace_id, w.slug, k.name, k.key_prefix, "
	    "to_char(k.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	    "to_char(k.last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	    "to_char(k.revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	    "to_char(k.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	    "array_to_string(k.scopes, ','), coalesce(k.expires_at <= now(), false) "
	    "FROM vibn_workspace_api_keys k JOIN vibn_workspaces w ON w.id = k.workspace_id "
	    "WHERE $1::uuid IS NULL OR k.workspace_id = $1::uuid "
	    "ORDER BY k.created_at DESC, k.id",
	    1, p, cause);
	if (res == NULL)
		return -1;
	*n = (size_t)PQntuples(res);
	*keys = xcalloc(*n + 1, sizeof **keys);
	for (int r = 0; r < PQntuples(res); r++) {
		struct keys_info *k = &(*keys)[r];

		k->id = db_text_dup(res, r, 0);
		k->workspace_id = db_text_dup(res, r, 1);
		k->workspace = db_text_dup(res, r, 2);
		k->name = db_text_dup(res, r, 3);
		k->prefix = db_text_dup(res, r, 4);
		k->created_at = db_text_dup(res, r, 5);
		k->last_used_at = db_text_dup(res, r, 6);
		k->revoked_at = db_text_dup(res, r, 7);
		k->expires_at = db_text_dup(res, r, 8);
		k->scopes = db_text_dup(res, r, 9);
		k->expired = db_bool(res, r, 10);
	}
	PQclear(res);
	return 0;
}

void
keys_list_free(struct keys_info *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(keys[i].id);
		free(keys[i].workspace_id);
		free(keys[i].workspace);
		free(keys[i].name);
		free(keys[i].prefix);
		free(keys[i].created_at);
		free(keys[i].last_used_at);
		free(keys[i].revoked_at);
		free(keys[i].expires_at);
		free(keys[i].scopes);
	}
	free(keys);
}

int
keys_revoke(PGconn *conn, const char *key_id, const char *workspace_id, int *result, char **cause)
{
	const char *p[2] = {key_id, workspace_id};
	PGresult *res;

	*result = 2;
	if (!names_valid_uuid(key_id) || (workspace_id != NULL && !names_valid_uuid(workspace_id)))
		return 0;
	/* One statement: the row as it was, and the revocation if it was live. */
	res = db_exec(conn,
	              "WITH RECURSIVE k AS (SELECT id, revoked_at FROM vibn_workspace_api_keys "
	              "  WHERE id = $1::uuid AND ($2::uuid IS NULL OR workspace_id = $2::uuid) "
	              "  FOR UPDATE), "
	              /* The keys it minted, and theirs: a key that leaked must not live on
	               * in the keys its holder made with it. */
	              "tree AS (SELECT id FROM k UNION "
	              "  SELECT c.id FROM vibn_workspace_api_keys c JOIN tree t "
	              "    ON c.minted_by = t.id), "
	              "u AS (UPDATE vibn_workspace_api_keys SET revoked_at = now() "
	              "  WHERE id IN (SELECT id FROM tree) AND revoked_at IS NULL RETURNING id) "
	              "SELECT (SELECT count(*) FROM k), "
	              "  (SELECT count(*) FROM u WHERE id IN (SELECT id FROM k))",
	              2, p, cause);
	if (res == NULL)
		return -1;
	if (strcmp(PQgetvalue(res, 0, 0), "0") == 0)
		*result = 2;
	else if (strcmp(PQgetvalue(res, 0, 1), "0") == 0)
		*result = 1;
	else
		*result = 0;
	PQclear(res);
	return 0;
}

int
keys_lookup_key(PGconn *conn, const char *token, struct keys_found *out, char **cause)
{
	char hash[65];
	const char *p[1] = {hash};
	PGresult *res;

	memset(out, 0, sizeof *out);
	if (!keys_well_formed(token))
		return 1;
	keys_hash(token, hash);
	/* The hash is what is indexed and compared: the token itself never reaches SQL. */
	res = db_exec(
	    conn,
	    "WITH k AS (SELECT k.id, k.workspace_id, k.last_used_at, k.scopes, k.expires_at "
	    "  FROM vibn_workspace_api_keys k JOIN vibn_workspaces w ON w.id = k.workspace_id "
	    "  WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND w.deleted_at IS NULL "
	    "    AND (k.expires_at IS NULL OR k.expires_at > now())), "
	    "u AS (UPDATE vibn_workspace_api_keys SET last_used_at = now() "
	    "  WHERE id IN (SELECT id FROM k WHERE last_used_at IS NULL "
	    "    OR last_used_at < now() - interval '1 minute') RETURNING id) "
	    "SELECT id, workspace_id, array_to_string(scopes, ','), "
	    "  to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM k",
	    1, p, cause);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 1;
	}
	snprintf(out->key_id, sizeof out->key_id, "%s", PQgetvalue(res, 0, 0));
	snprintf(out->workspace_id, sizeof out->workspace_id, "%s", PQgetvalue(res, 0, 1));
	if (keys_scopes_parse(PQgetvalue(res, 0, 2), &out->scopes, cause) != 0) {
		/* The CHECK constraint makes this impossible; grant nothing if it happens. */
		free(*cause);
		*cause = NULL;
		out->scopes = 0;
	}
	snprintf(out->expires_at, sizeof out->expires_at, "%s", PQgetvalue(res, 0, 3));
	PQclear(res);
	return 0;
}

int
keys_lookup(PGconn *conn, const char *token, char **workspace_id, char **key_id, char **cause)
{
	struct keys_found f;
	int rc = keys_lookup_key(conn, token, &f, cause);

	*workspace_id = rc == 0 ? xstrdup(f.workspace_id) : NULL;
	*key_id = rc == 0 ? xstrdup(f.key_id) : NULL;
	return rc;
}
