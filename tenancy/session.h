/* The settings page's sign-in: one-time login links and the sessions they open.
 *
 *   link     "vibn_ll_" + 64 hex characters (256 bits), valid once, for a short time; it
 *            travels in a URL fragment (PUBLIC_URL/ui/#login=TOKEN), which browsers never
 *            send to a server, and the page exchanges it (POST /ui/session) for
 *   session  64 hex characters (256 bits) in the HttpOnly, SameSite=Strict cookie
 *            SESSION_COOKIE: a principal pinned to the link's workspace, or the admin's
 *            (signed in with the admin secret), with a fixed lifetime; "sign out" revokes it.
 *
 * Both are stored only as their sha256, like API keys, and never logged. A session's CSRF
 * token is derived from it (HMAC-SHA256 keyed with the session token), so it needs no
 * storage and is bound to that one session: state-changing requests that a cookie
 * authenticates must carry it in X-CSRF-Token. Functions taking a PGconn run queries: call
 * them from a database thread or the CLI, never the loop. */
#ifndef VIBN_SESSION_H
#define VIBN_SESSION_H

#include <libpq-fe.h>

#define SESSION_COOKIE          "vibn_session"
#define SESSION_LINK_PREFIX     "vibn_ll_"
#define SESSION_TOKEN_HEX       64 /* hex characters of 32 random bytes */
#define SESSION_LINK_LEN        (sizeof SESSION_LINK_PREFIX - 1 + SESSION_TOKEN_HEX)
#define SESSION_LINK_TTL        600   /* default lifetime of a login link, seconds */
#define SESSION_LINK_TTL_MAX    86400 /* a link is for now, not for later */
#define SESSION_LINK_URL_MARKER "/ui/#login="

/* What a successful sign-in hands back. token is the secret: it goes into the cookie. */
struct session_info {
	char token[SESSION_TOKEN_HEX + 1];
	char slug[40];       /* the workspace; "" for the admin */
	char expires_at[32]; /* ISO 8601, UTC */
};

enum session_login_result {
	SESSION_LOGIN_OK,
	SESSION_LOGIN_UNKNOWN, /* forged, mistyped, or its workspace is gone */
	SESSION_LOGIN_USED,    /* already exchanged once */
	SESSION_LOGIN_EXPIRED,
};

/* Parses a duration typed by a person: "90s", "10m", "2h", "1d" or whole seconds, from 1
 * to max seconds. Returns 0 with *seconds, or -1 with a one-line *cause (a new string). */
int session_parse_duration(const char *text, long max, long *seconds, char **cause);

/* Mints a login link for the live workspace workspace_id, valid for ttl seconds. Returns 0
 * with *token (the plaintext: a new string, to hand over once and never log) and
 * *expires_at (ISO 8601 UTC, a new string); 1 when the workspace is not live; or -1 with
 * *cause. */
int session_link_mint(PGconn *db, const char *workspace_id, long ttl, char **token,
                      char **expires_at, char **cause) __attribute__((warn_unused_result));

/* The link a person opens: base (no trailing '/') + SESSION_LINK_URL_MARKER + token. A new
 * string. */
char *session_link_url(const char *base, const char *token);

/* Exchanges a login link for a session lasting ttl seconds. Returns 0 with *result and, for
 * SESSION_LOGIN_OK, *out filled; or -1 with *cause. */
int session_login(PGconn *db, const char *link_token, long ttl, enum session_login_result *result,
                  struct session_info *out, char **cause) __attribute__((warn_unused_result));

/* Opens an admin session lasting ttl seconds (the caller has checked the admin secret).
 * Returns 0 with *out filled, or -1 with *cause. */
int session_admin_login(PGconn *db, long ttl, struct session_info *out, char **cause)
    __attribute__((warn_unused_result));

/* Finds the live session (not expired, not revoked, its workspace not deleted) of token.
 * Returns 0 with *admin, workspace_id (the workspace's uuid; "" for the admin) and
 * session_id; 1 when there is none; or -1 with *cause. */
int session_lookup(PGconn *db, const char *token, int *admin, char workspace_id[40],
                   char session_id[40], char **cause) __attribute__((warn_unused_result));

/* Revokes the session of token (sign out). Returns 0 (also when there was none), or -1 with
 * *cause. */
int session_revoke(PGconn *db, const char *token, char **cause) __attribute__((warn_unused_result));

/* 1 when token has the shape of a session token (checked before any lookup). */
int session_well_formed(const char *token);
/* Copies the session token of a Cookie header into out; returns 1 when there is a
 * well-formed one, 0 otherwise (out is then ""). */
int session_from_cookie(const char *cookie, char out[SESSION_TOKEN_HEX + 1]);
/* The CSRF token of a session: 64 hex characters and a NUL. */
void session_csrf(const char *token, char out[65]);
/* 1 when presented is the CSRF token of the session token (constant time). */
int session_csrf_ok(const char *token, const char *presented);

#endif
