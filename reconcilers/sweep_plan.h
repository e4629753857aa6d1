/* sweep_plan: what one drift repair run costs upstream, computed from the desired state in
 * the database by the rules the reconcilers follow when they sweep a converged workspace.
 *
 * Gitea: the admin org list, one page per GITEA_PAGE_LIMIT orgs (gitea_org.c, org_cache.c);
 * the org's hooks (gitea_hook.c); its teams, unless their ids are recorded, and the members
 * of each managed team when a member has a Gitea account or pruning is on, and the org's
 * members when pruning (gitea_members.c); its repos when it declares any (gitea_repos.c);
 * each requested repo deletion (gitea_reap.c).
 *
 * Coolify: one project list per run (project_cache.c); the production environment of each
 * workspace that has apps (coolify_apps.c).
 *
 * Lists assume fewer than a page of teams, members or repos per workspace, and as many orgs
 * on Gitea as workspaces. vibnd paces its drift repair runs by it (the keeper) and
 * `vibnctl resync --plan` prints it. */
#ifndef VIBN_SWEEP_PLAN_H
#define VIBN_SWEEP_PLAN_H

#include <stdint.h>

#include <libpq-fe.h>

/* A run may take at most this share of each upstream budget: the rest stays for signups,
 * webhooks and spec changes, which are claimed first but share the budgets. */
#define SWEEP_PLAN_SHARE 0.5

struct sweep_plan {
	long workspaces;
	long gitea_reads;   /* per-workspace reads, summed */
	long gitea_lists;   /* admin org list pages */
	long coolify_reads; /* environment reads, summed */
	long coolify_lists; /* GET /projects */
};

/* Computes the plan of the workspaces in db (one query). 0, or -1 with a new *cause. */
int sweep_plan_load(PGconn *db, struct sweep_plan *out, char **cause);
/* Seconds the run's calls take at these budgets (VIBN_GITEA_RPS, VIBN_COOLIFY_RPM) when the
 * run has them to itself. */
double sweep_plan_gitea_seconds(const struct sweep_plan *p, int rps);
double sweep_plan_coolify_seconds(const struct sweep_plan *p, int rpm);
/* The spread for a run: interval_ms, or longer when the run would take more than
 * SWEEP_PLAN_SHARE of either budget over it. */
int64_t sweep_plan_spread_ms(const struct sweep_plan *p, int rps, int rpm, int64_t interval_ms);

#endif
