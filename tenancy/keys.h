/* Workspace API keys: bearer tokens "vibn_sk_" + 43 base62 characters (256 bits from
 * getrandom), each pinned to one workspace. Only the sha256 of the whole token (lower-case
 * hex) and a short display prefix are stored; the token itself is returned once, at mint,
 * and never logged. The CLI (vibnctl keys) and the daemon's tenant API share this module. */
#ifndef VIBN_KEYS_H
#define VIBN_KEYS_H

#include <stddef.h>

#include <libpq-fe.h>

#define KEYS_TOKEN_PREFIX     "vibn_sk_"
#define KEYS_TOKEN_RANDOM_LEN 43 /* base62 characters: 43 * log2(62) > 256 bits */
#define KEYS_TOKEN_LEN        (sizeof KEYS_TOKEN_PREFIX - 1 + KEYS_TOKEN_RANDOM_LEN)
#define KEYS_DISPLAY_LEN      (sizeof KEYS_TOKEN_PREFIX - 1 + 4) /* "vibn_sk_AbC1" */
#define KEYS_NAME_MAX         100

struct keys_info {
	char *id;           /* uuid */
	char *workspace_id; /* uuid */
	char *workspace;    /* slug */
	char *name;
	char *prefix;       /* display prefix, e.g. vibn_sk_AbC1 */
	char *created_at;   /* ISO 8601, UTC */
	char *last_used_at; /* or NULL */
	char *revoked_at;   /* or NULL */
};

/* Writes a fresh token (KEYS_TOKEN_LEN characters and a NUL) into out. */
void keys_generate(char out[KEYS_TOKEN_LEN + 1]);
/* The stored hash of a token: sha256 of the whole token as 64 hex characters and a NUL. */
void keys_hash(const char *token, char hex[65]);
/* 1 when token has the shape of one of ours (prefix, length, alphabet); checked before any
 * database lookup. */
int keys_well_formed(const char *token);
/* 1 when name is acceptable for a key: 1 to KEYS_NAME_MAX characters, no control chars. */
int keys_valid_name(const char *name);

/* Mints a key named name for the workspace with id workspace_id. Returns 0 with *token (the
 * plaintext, a new string: show it once, never store or log it) and *key_id (a new string),
 * or -1 with a one-line *cause. */
int keys_mint(PGconn *conn, const char *workspace_id, const char *name, char **token, char **key_id,
              char **cause) __attribute__((warn_unused_result));

/* Lists keys, newest first: all of them, or one workspace's (workspace_id not NULL).
 * Returns 0 with *keys (a new array of *n; free with keys_list_free), or -1 with *cause. */
int keys_list(PGconn *conn, const char *workspace_id, struct keys_info **keys, size_t *n,
              char **cause) __attribute__((warn_unused_result));
void keys_list_free(struct keys_info *keys, size_t n);

/* Revokes key_id; when workspace_id is not NULL, only a key of that workspace (so that a
 * tenant cannot even learn that another workspace's key exists). *result: 0 revoked now,
 * 1 already revoked (revoked_at kept), 2 no such key. Returns 0, or -1 with *cause. */
int keys_revoke(PGconn *conn, const char *key_id, const char *workspace_id, int *result,
                char **cause) __attribute__((warn_unused_result));

/* Finds the live key (not revoked, workspace not deleted) whose token this is. Returns 0
 * with *workspace_id and *key_id (new strings) when found, 1 when not (malformed, unknown,
 * revoked), or -1 with *cause on a database error. Records last_used_at, at most once a
 * minute per key, so that busy keys do not write on every request. */
int keys_lookup(PGconn *conn, const char *token, char **workspace_id, char **key_id, char **cause)
    __attribute__((warn_unused_result));

#endif
