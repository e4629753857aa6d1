/* quota: how many repos, apps and projects one workspace may hold, so that one request
 * cannot make a tenant declare (and the reconciler create upstream) thousands of objects.
 *
 * The defaults are settings, VIBN_QUOTA_REPOS, VIBN_QUOTA_APPS and VIBN_QUOTA_PROJECTS:
 * vibnd reads them from its configuration (quota_set_defaults at start-up), vibnctl from
 * its environment (quota_defaults_from_env). A workspace's manifest may set its own limits
 * (spec.quotas, stored in vibn_workspaces.quota_*); only ops apply manifests, so only ops
 * can raise a workspace's limits. The API and MCP check with quota_check inside the
 * transaction that adds the objects, after locking the workspace row, so two concurrent
 * requests cannot pass a limit together; vibnctl apply checks the whole declared set. */
#ifndef VIBN_QUOTA_H
#define VIBN_QUOTA_H

#include <libpq-fe.h>

#define QUOTA_DEFAULT_REPOS    100
#define QUOTA_DEFAULT_APPS     25
#define QUOTA_DEFAULT_PROJECTS 50
#define QUOTA_MAX              100000 /* the highest limit a setting or manifest may give */

/* A number as a string literal, for tables of defaults: QUOTA_STR(QUOTA_DEFAULT_APPS). */
#define QUOTA_XSTR(x) #x
#define QUOTA_STR(x)  QUOTA_XSTR(x)

enum quota_kind { QUOTA_REPOS, QUOTA_APPS, QUOTA_PROJECTS, QUOTA_KINDS };

struct quota_limits {
	long v[QUOTA_KINDS];
};

/* "repos", "apps", "projects" (also the spec.quotas field names). */
const char *quota_name(enum quota_kind k);

/* The built-in defaults. */
void quota_builtin(struct quota_limits *q);
/* Sets this process's defaults. Call once at start-up, before any thread reads them. */
void quota_set_defaults(const struct quota_limits *q);
/* Reads VIBN_QUOTA_* from the environment over the built-in defaults (vibnctl). Returns 0,
 * or -1 with a one-line *cause naming the variable. */
int quota_defaults_from_env(struct quota_limits *q, char **cause)
    __attribute__((warn_unused_result));

/* The message of an exceeded limit: a new one-line string naming it and how to raise it.
 * slug: the workspace; want: how many it would hold; limit; workspace_set: 1 when the limit
 * is the workspace's own (spec.quotas), 0 when it is the default. */
char *quota_message(enum quota_kind k, const char *slug, long want, long limit, int workspace_set);

/* Checks that workspace ws_id (slug, for the message) may hold `adding` more objects of
 * kind k. Call inside a transaction: it locks the workspace row (FOR UPDATE) before
 * counting. Returns 0 within the limit, 1 with *msg (a new string: quota_message), or -1
 * with a one-line *cause (database). */
int quota_check(PGconn *db, const char *ws_id, const char *slug, enum quota_kind k, long adding,
                char **msg, char **cause) __attribute__((warn_unused_result));

#endif
