#include "quota.h"

#include <stdio.h>
#include <stdlib.h>

#include "clients/db.h"
#include "common/util.h"
#include "common/xmalloc.h"

static const char *const quota_names[QUOTA_KINDS] = {"repos", "apps", "projects"};
static const char *const quota_settings[QUOTA_KINDS] = {"VIBN_QUOTA_REPOS", "VIBN_QUOTA_APPS",
                                                        "VIBN_QUOTA_PROJECTS"};

/* Written once at start-up (quota_set_defaults), before the threads that read it start. */
static struct quota_limits quota_process = {
    {QUOTA_DEFAULT_REPOS, QUOTA_DEFAULT_APPS, QUOTA_DEFAULT_PROJECTS}};

const char *
quota_name(enum quota_kind k)
{
	return quota_names[k];
}

void
quota_builtin(struct quota_limits *q)
{
	q->v[QUOTA_REPOS] = QUOTA_DEFAULT_REPOS;
	q->v[QUOTA_APPS] = QUOTA_DEFAULT_APPS;
	q->v[QUOTA_PROJECTS] = QUOTA_DEFAULT_PROJECTS;
}

void
quota_set_defaults(const struct quota_limits *q)
{
	quota_process = *q;
}

int
quota_defaults_from_env(struct quota_limits *q, char **cause)
{
	*cause = NULL;
	quota_builtin(q);
	for (int k = 0; k < QUOTA_KINDS; k++) {
		const char *text = getenv(quota_settings[k]);

		if (text == NULL || *text == '\0')
			continue;
		if (util_parse_long(text, 0, QUOTA_MAX, &q->v[k]) != 0) {
			*cause = xasprintf("%s must be an integer from 0 to %d (got \"%s\")",
			                   quota_settings[k], QUOTA_MAX, text);
			return -1;
		}
	}
	return 0;
}

char *
quota_message(enum quota_kind k, const char *slug, long want, long limit, int workspace_set)
{
	if (workspace_set)
		return xasprintf(
		    "quota exceeded: workspace %s would hold %ld %s, over its limit of "
		    "%ld (spec.quotas.%s in its manifest)",
		    slug, want, quota_names[k], limit, quota_names[k]);
	return xasprintf("quota exceeded: workspace %s would hold %ld %s, over the limit of %ld "
	                 "(%s; ops can raise it for this workspace with spec.quotas.%s in its "
	                 "manifest)",
	                 slug, want, quota_names[k], limit, quota_settings[k], quota_names[k]);
}

int
quota_check(PGconn *db, const char *ws_id, const char *slug, enum quota_kind k, long adding,
            char **msg, char **cause)
{
	static const char *const sql[QUOTA_KINDS] = {
	    "SELECT w.quota_repos, (SELECT count(*) FROM vibn_workspace_repos r"
	    " WHERE r.workspace_id = w.id) FROM vibn_workspaces w WHERE w.id = $1 FOR UPDATE",
	    "SELECT w.quota_apps, (SELECT count(*) FROM vibn_workspace_apps a"
	    " WHERE a.workspace_id = w.id) FROM vibn_workspaces w WHERE w.id = $1 FOR UPDATE",
	    "SELECT w.quota_projects, (SELECT count(*) FROM fs_projects p"
	    " WHERE p.vibn_workspace_id = w.id) FROM vibn_workspaces w WHERE w.id = $1 FOR UPDATE",
	};
	const char *params[1] = {ws_id};
	PGresult *res;
	long limit, have;
	int own, rc = 0;

	*msg = NULL;
	/* The row lock comes first: the count below then sees every committed addition, and
	 * a concurrent request waits for ours. */
	res = db_exec(db, sql[k], 1, params, cause);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		*cause = xstrdup("quota: no such workspace");
		return -1;
	}
	own = !PQgetisnull(res, 0, 0);
	limit = own ? atol(PQgetvalue(res, 0, 0)) : quota_process.v[k];
	have = atol(PQgetvalue(res, 0, 1));
	if (have + adding > limit) {
		*msg = quota_message(k, slug, have + adding, limit, own);
		rc = 1;
	}
	PQclear(res);
	return rc;
}
