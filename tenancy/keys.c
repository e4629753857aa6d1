#include "keys.h"

#include <stdlib.h>
#include <string.h>

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

int
keys_mint(PGconn *conn, const char *workspace_id, const char *name, char **token, char **key_id,
          char **cause)
{
	char tok[KEYS_TOKEN_LEN + 1], hash[65], prefix[KEYS_DISPLAY_LEN + 1];
	const char *p[4] = {workspace_id, name, prefix, hash};
	PGresult *res;

	*token = NULL;
	*key_id = NULL;
	if (!keys_valid_name(name)) {
		*cause = xasprintf("invalid key name: 1 to %d characters, no control characters",
		                   KEYS_NAME_MAX);
		return -1;
	}
	keys_generate(tok);
	keys_hash(tok, hash);
	memcpy(prefix, tok, KEYS_DISPLAY_LEN);
	prefix[KEYS_DISPLAY_LEN] = '\0';
	res = db_exec(
	    conn,
	    "INSERT INTO vibn_workspace_api_keys (workspace_id, name, key_prefix, key_hash) "
	    "SELECT id, $2, $3, $4 FROM vibn_workspaces "
	    "WHERE id = $1::uuid AND deleted_at IS NULL RETURNING id",
	    4, p, cause);
	if (res == NULL) {
		memset(tok, 0, sizeof tok);
		return -1;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		memset(tok, 0, sizeof tok);
		*cause = xstrdup("no such workspace (or it is being deleted)");
		return -1;
	}
	*key_id = xstrdup(PQgetvalue(res, 0, 0));
	*token = xstrdup(tok);
	PQclear(res);
	memset(tok, 0, sizeof tok);
	return 0;
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
	    "to_char(k.revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
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
	              "WITH k AS (SELECT id, revoked_at FROM vibn_workspace_api_keys "
	              "  WHERE id = $1::uuid AND ($2::uuid IS NULL OR workspace_id = $2::uuid) "
	              "  FOR UPDATE), "
	              "u AS (UPDATE vibn_workspace_api_keys SET revoked_at = now() "
	              "  WHERE id IN (SELECT id FROM k WHERE revoked_at IS NULL) RETURNING id) "
	              "SELECT (SELECT count(*) FROM k), (SELECT count(*) FROM u)",
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
keys_lookup(PGconn *conn, const char *token, char **workspace_id, char **key_id, char **cause)
{
	char hash[65];
	const char *p[1] = {hash};
	PGresult *res;

	*workspace_id = NULL;
	*key_id = NULL;
	if (!keys_well_formed(token))
		return 1;
	keys_hash(token, hash);
	/* The hash is what is indexed and compared: the token itself never reaches SQL. */
	res = db_exec(
	    conn,
	    "WITH k AS (SELECT k.id, k.workspace_id, k.last_used_at "
	    "  FROM vibn_workspace_api_keys k JOIN vibn_workspaces w ON w.id = k.workspace_id "
	    "  WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND w.deleted_at IS NULL), "
	    "u AS (UPDATE vibn_workspace_api_keys SET last_used_at = now() "
	    "  WHERE id IN (SELECT id FROM k WHERE last_used_at IS NULL "
	    "    OR last_used_at < now() - interval '1 minute') RETURNING id) "
	    "SELECT id, workspace_id FROM k",
	    1, p, cause);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 1;
	}
	*key_id = xstrdup(PQgetvalue(res, 0, 0));
	*workspace_id = xstrdup(PQgetvalue(res, 0, 1));
	PQclear(res);
	return 0;
}
