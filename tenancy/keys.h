/* Workspace API keys: bearer tokens "vibn_sk_" + 43 base62 characters (256 bits from
 * getrandom), each pinned to one workspace. Only the sha256 of the whole token (lower-case
 * hex) and a short display prefix are stored; the token itself is returned once, at mint,
 * and never logged. The CLI (vibnctl keys) and the daemon's tenant API share this module. */
#ifndef VIBN_KEYS_H
#define VIBN_KEYS_H

#include <stddef.h>
#include <time.h>

#include <libpq-fe.h>

#define KEYS_TOKEN_PREFIX     "vibn_sk_"
#define KEYS_TOKEN_RANDOM_LEN 43 /* base62 characters: 43 * log2(62) > 256 bits */
#define KEYS_TOKEN_LEN        (sizeof KEYS_TOKEN_PREFIX - 1 + KEYS_TOKEN_RANDOM_LEN)
#define KEYS_DISPLAY_LEN      (sizeof KEYS_TOKEN_PREFIX - 1 + 4) /* "vibn_sk_AbC1" */
#define KEYS_NAME_MAX         100

/* Scopes: what a key may do (see schema/migrations/0010_hardening.sql and the README's
 * "Key scopes"). Independent flags; a key holds at least one. */
#define KEYS_SCOPE_READ    0x1u /* see the workspace, its repos and apps, the connect files */
#define KEYS_SCOPE_WRITE   0x2u /* change desired state, queue a reconcile */
#define KEYS_SCOPE_KEYS    0x4u /* list, mint and revoke the workspace's keys */
#define KEYS_SCOPE_ALL     (KEYS_SCOPE_READ | KEYS_SCOPE_WRITE | KEYS_SCOPE_KEYS)
#define KEYS_SCOPE_DEFAULT (KEYS_SCOPE_READ | KEYS_SCOPE_WRITE) /* an agent's key */
#define KEYS_SCOPES_MAX    sizeof "read,write,keys"
#define KEYS_TIME_LEN      20 /* "2026-11-28T20:00:00Z" */

struct keys_info {
	char *id;           /* uuid */
	char *workspace_id; /* uuid */
	char *workspace;    /* slug */
	char *name;
	char *prefix;       /* display prefix, e.g. vibn_sk_AbC1 */
	char *created_at;   /* ISO 8601, UTC */
	char *last_used_at; /* or NULL */
	char *revoked_at;   /* or NULL */
	char *expires_at;   /* ISO 8601, UTC, or NULL: never */
	char *scopes;       /* "read,write" */
	int expired;        /* expires_at has passed */
};

/* Parses a comma-separated list of scope names ("read,write,keys", any order, no
 * duplicates, no spaces). Returns 0 with *scopes, or -1 with a one-line *cause. */
int keys_scopes_parse(const char *text, unsigned *scopes, char **cause)
    __attribute__((warn_unused_result));
/* Writes the names of scopes ("read,write"; "" for none) into out. */
void keys_scopes_format(unsigned scopes, char out[KEYS_SCOPES_MAX]);

/* Parses an expiry: a duration from now ("90m", "12h", "30d", "2w": a positive whole number
 * and a unit), or a time "YYYY-MM-DDTHH:MM:SSZ" (UTC). Writes it as such a time into out.
 * Returns 0, or -1 with a one-line *cause (also when the time is not after now). */
int keys_expiry_parse(const char *text, time_t now, char out[KEYS_TIME_LEN + 1], char **cause)
    __attribute__((warn_unused_result));

/* What keys_mint_opts mints. */
struct keys_mint_opts {
	const char *workspace_id;
	const char *name;
	unsigned scopes;        /* 0: KEYS_SCOPE_DEFAULT */
	const char *expires_at; /* "YYYY-MM-DDTHH:MM:SSZ", or NULL: never */
	const char *minted_by;  /* the key that mints (revoking it revokes this one), or NULL */
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

/* keys_mint with scopes, an expiry and the minting key. Same contract as keys_mint. */
int keys_mint_opts(PGconn *conn, const struct keys_mint_opts *o, char **token, char **key_id,
                   char **cause) __attribute__((warn_unused_result));

/* Mints a key named name for the workspace with id workspace_id, with the default scopes
 * (read, write) and no expiry. Returns 0 with *token (the
 * plaintext, a new string: show it once, never store or log it) and *key_id (a new string),
 * or -1 with a one-line *cause. */
int keys_mint(PGconn *conn, const char *workspace_id, const char *name, char **token, char **key_id,
              char **cause) __attribute__((warn_unused_result));

/* Lists keys, newest first: all of them, or one workspace's (workspace_id not NULL).
 * Returns 0 with *keys (a new array of *n; free with keys_list_free), or -1 with *cause. */
int keys_list(PGconn *conn, const char *workspace_id, struct keys_info **keys, size_t *n,
              char **cause) __attribute__((warn_unused_result));
void keys_list_free(struct keys_info *keys, size_t n);

/* Revokes key_id, and the keys it minted (and theirs); when workspace_id is not NULL, only
 * a key of that workspace (so that a tenant cannot even learn that another workspace's key
 * exists). *result: 0 revoked now,
 * 1 already revoked (revoked_at kept), 2 no such key. Returns 0, or -1 with *cause. */
int keys_revoke(PGconn *conn, const char *key_id, const char *workspace_id, int *result,
                char **cause) __attribute__((warn_unused_result));

/* What keys_lookup_key finds. */
struct keys_found {
	char workspace_id[40];
	char key_id[40];
	unsigned scopes;
	char expires_at[KEYS_TIME_LEN + 1]; /* "" when it never expires */
};

/* keys_lookup that also tells the key's scopes and expiry. Same contract as keys_lookup. */
int keys_lookup_key(PGconn *conn, const char *token, struct keys_found *out, char **cause)
    __attribute__((warn_unused_result));

/* Finds the live key (not revoked, not expired, workspace not deleted) whose token this is. Returns
 * 0 with *workspace_id and *key_id (new strings) when found, 1 when not (malformed, unknown,
 * revoked), or -1 with *cause on a database error. Records last_used_at, at most once a
 * minute per key, so that busy keys do not write on every request. */
int keys_lookup(PGconn *conn, const char *token, char **workspace_id, char **key_id, char **cause)
    __attribute__((warn_unused_result));

#endif
