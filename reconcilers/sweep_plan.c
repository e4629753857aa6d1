#include "sweep_plan.h"

#include <math.h>
#include <stdlib.h>

#include "clients/coolify.h"
#include "clients/db.h"
#include "clients/gitea.h"

int
sweep_plan_load(PGconn *db, struct sweep_plan *out, char **cause)
{
	PGresult *res;

	/* Per workspace, in the order of the reconcile: hooks (1), then teams when a step is
	 * possible (the list unless their ids are recorded, Owners, Admins and Members when they
	 * have linked people, the org's members when pruning), repos, requested deletions, and
	 * the apps' environment. */
	res = db_exec(
	    db,
	    "SELECT count(*),"
	    " coalesce(sum(1 + CASE WHEN m.linked > 0 OR w.prune_members"
	    "   THEN 1 + (NOT coalesce(w.gitea_team_ids ? 'Owners', false))::int"
	    "     + m.admins + m.members + w.prune_members::int ELSE 0 END"
	    "   + CASE WHEN r.n > 0 THEN 1 ELSE 0 END + d.n), 0),"
	    " coalesce(sum(CASE WHEN a.n > 0 OR cardinality(w.coolify_app_names) > 0"
	    "   THEN 1 ELSE 0 END), 0)"
	    " FROM vibn_workspaces w"
	    " CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE x.gitea_username <> '') AS linked,"
	    "   (count(*) FILTER (WHERE x.gitea_username <> '' AND x.role = 'admin') > 0)::int"
	    "     AS admins,"
	    "   (count(*) FILTER (WHERE x.gitea_username <> '' AND x.role = 'member') > 0)::int"
	    "     AS members"
	    "   FROM vibn_workspace_members x WHERE x.workspace_id = w.id) m"
	    " CROSS JOIN LATERAL (SELECT count(*) AS n FROM vibn_workspace_repos x"
	    "   WHERE x.workspace_id = w.id) r"
	    " CROSS JOIN LATERAL (SELECT count(*) AS n FROM vibn_workspace_repo_deletions x"
	    "   WHERE x.workspace_id = w.id AND x.gitea_repo_id IS NOT NULL) d"
	    " CROSS JOIN LATERAL (SELECT count(*) AS n FROM vibn_workspace_apps x"
	    "   WHERE x.workspace_id = w.id) a"
	    " WHERE w.deleted_at IS NULL",
	    0, NULL, cause);
	if (res == NULL)
		return -1;
	out->workspaces = atol(PQgetvalue(res, 0, 0));
	out->gitea_reads = atol(PQgetvalue(res, 0, 1));
	out->coolify_reads = atol(PQgetvalue(res, 0, 2));
	out->gitea_lists = (out->workspaces + GITEA_PAGE_LIMIT - 1) / GITEA_PAGE_LIMIT;
	out->coolify_lists = out->workspaces > 0;
	PQclear(res);
	return 0;
}

double
sweep_plan_gitea_seconds(const struct sweep_plan *p, int rps)
{
	return (double)(p->gitea_reads + p->gitea_lists) / (rps > 0 ? rps : GITEA_DEFAULT_RPS);
}

double
sweep_plan_coolify_seconds(const struct sweep_plan *p, int rpm)
{
	return (double)(p->coolify_reads + p->coolify_lists) * 60.0 /
	       (rpm > 0 ? rpm : COOLIFY_DEFAULT_RPM);
}

int64_t
sweep_plan_spread_ms(const struct sweep_plan *p, int rps, int rpm, int64_t interval_ms)
{
	double g = sweep_plan_gitea_seconds(p, rps), c = sweep_plan_coolify_seconds(p, rpm);
	double need_ms = ceil((g > c ? g : c) / SWEEP_PLAN_SHARE * 1000.0);

	return need_ms > (double)interval_ms ? (int64_t)need_ms : interval_ms;
}
