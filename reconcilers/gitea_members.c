/* Org membership: owners in Gitea's Owners team, admins and members in the Admins and
 * Members teams this reconciler creates (admin and write permission over every repo).
 * The plan (reconcilers/members_plan.c) adds before it removes and keeps the admin user. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/xmalloc.h"
#include "reconcilers/branch.h"
#include "reconcilers/conditions.h"
#include "reconcilers/members_plan.h"
#include "reconcilers/pass.h"

static const char *const team_permission[TEAM_COUNT] = {"owner", "admin", "write"};

struct members_state {
	int64_t team_id[TEAM_COUNT]; /* 0: the team does not exist (yet) */
	struct gitea_users users[TEAM_COUNT];
	const char **logins[TEAM_COUNT]; /* borrowed from users */
	struct gitea_users org_users;
	const char **org_logins;
	/* An org this pass made: its teams are known without a read (Owners, holding the
	 * admin user), but for the Owners team's id, which the adds to Owners look up first
	 * while the other teams are made and filled beside them. */
	int owners_id_unread;
};

static const char **
members_logins(const struct gitea_users *u)
{
	const char **v = xcalloc(u->n + 1, sizeof *v);

	for (size_t i = 0; i < u->n; i++)
		v[i] = u->v[i].login;
	return v;
}

static void
members_state_free(struct members_state *ms)
{
	for (int t = 0; t < TEAM_COUNT; t++) {
		gitea_users_free(&ms->users[t]);
		free(ms->logins[t]);
	}
	gitea_users_free(&ms->org_users);
	free(ms->org_logins);
}

/* Can the plan have any step at all: a linked member to place, or pruning? Without either
 * it is empty whatever the org holds (members added by hand stay), so nothing is read: a
 * sweep over signup workspaces (owner not linked yet) costs no team reads. */
static int
members_need_team_ids(const struct desired_ws *ws)
{
	for (size_t i = 0; i < ws->nmembers; i++)
		if (ws->members[i].gitea_username != NULL && ws->members[i].gitea_username[0])
			return 1;
	return ws->prune_members;
}

/* The teams of a lane (bit t: team t): Owners, which Gitea makes with the org, or those this
 * reconciler makes. Lanes touch disjoint entries of a members_state, so they run at once. */
#define MEMBERS_OWNERS_LANE (1u << TEAM_OWNERS)
#define MEMBERS_MADE_LANE   ((1u << TEAM_ADMINS) | (1u << TEAM_MEMBERS))

/* Reads of the recorded teams of a lane, by id. */
struct members_reads {
	struct members_state *ms; /* shared: only the lane's teams are written */
	unsigned teams;
	int rc; /* 0: every team answered; 1: one is gone (404); -1: another failure (recorded) */
};

static int
members_recorded(const struct pass *ctx, unsigned teams)
{
	for (int t = 0; t < TEAM_COUNT; t++)
		if ((teams & (1u << t)) &&
		    json_object_get(ctx->ws->gitea_team_ids, members_team_names[t]) != NULL)
			return 1;
	return 0;
}

static void
members_read_lane(struct pass *ctx, void *arg)
{
	struct members_reads *r = arg;
	struct http_status st;

	r->rc = 0;
	for (int t = 0; t < TEAM_COUNT; t++) {
		json_t *id = json_object_get(ctx->ws->gitea_team_ids, members_team_names[t]);

		if (id == NULL || !(r->teams & (1u << t)))
			continue;
		r->ms->team_id[t] = json_integer_value(id);
		switch (
		    gitea_team_members(ctx->env->gitea, r->ms->team_id[t], &r->ms->users[t], &st)) {
		case HTTP_OK:
			break;
		case HTTP_NOT_FOUND:
			r->rc = 1;
			return;
		default:
			pass_fail_call(ctx, COND_MEMBERS, "listing team members", &st);
			r->rc = -1;
			return;
		}
	}
}

/* The members of the teams whose ids the last pass recorded, read by id: a sweep does not
 * list the org's teams to learn them again. Owners is read beside the teams this reconciler
 * made (on a branch, with the pass's third extra Gitea client), as nothing of one read
 * depends on the other. 0 when every recorded team answered; 1 when one is gone (404:
 * deleted, or the org made again; nothing is kept, the caller lists the teams); -1 after
 * another failure (recorded). */
static int
members_read_recorded(struct pass *ctx, struct members_state *ms)
{
	struct members_reads owners = {ms, MEMBERS_OWNERS_LANE, 0};
	struct members_reads made = {ms, MEMBERS_MADE_LANE, 0};
	struct gitea *beside = ctx->env->gitea_more[2];
	struct branch b;

	if (beside != NULL && members_recorded(ctx, made.teams)) {
		branch_start(ctx, &b, members_read_lane, &made, beside);
		members_read_lane(ctx, &owners);
		branch_join(ctx, &b);
	} else {
		members_read_lane(ctx, &owners);
		if (owners.rc == 0)
			members_read_lane(ctx, &made);
	}
	if (owners.rc < 0 || made.rc < 0)
		return -1;
	if (owners.rc == 0 && made.rc == 0)
		return 0;
	for (int t = 0; t < TEAM_COUNT; t++) {
		ms->team_id[t] = 0;
		gitea_users_free(&ms->users[t]);
	}
	return 1;
}

/* Lists the org's teams for the managed ones' ids, then reads their members. 0 or -1
 * (recorded). */
static int
members_list_teams(struct pass *ctx, struct members_state *ms)
{
	struct gitea *g = ctx->env->gitea;
	struct gitea_teams teams = {0};
	struct http_status st;

	if (gitea_team_list(g, ctx->org, &teams, &st) != HTTP_OK) {
		pass_fail_call(ctx, COND_MEMBERS, "listing the org's teams", &st);
		return -1;
	}
	for (size_t i = 0; i < teams.n; i++)
		for (int t = 0; t < TEAM_COUNT; t++)
			if (strcasecmp(teams.v[i].name, members_team_names[t]) == 0)
				ms->team_id[t] = teams.v[i].id;
	gitea_teams_free(&teams);
	for (int t = 0; t < TEAM_COUNT; t++) {
		if (ms->team_id[t] == 0)
			continue;
		if (gitea_team_members(g, ms->team_id[t], &ms->users[t], &st) != HTTP_OK) {
			pass_fail_call(ctx, COND_MEMBERS, "listing team members", &st);
			return -1;
		}
	}
	return 0;
}

/* A fresh org, known without a read: Owners holds the admin user, nothing else exists. */
static void
members_fresh(struct pass *ctx, struct members_state *ms)
{
	struct gitea_users *owners = &ms->users[TEAM_OWNERS];

	owners->v = xcalloc(1, sizeof *owners->v);
	owners->v[0].login = xstrdup(ctx->env->set->gitea_admin_user);
	owners->n = 1;
	ms->owners_id_unread = 1;
}

/* The id of a fresh org's Owners team, from the list of its teams (only that id is taken: the
 * other teams are the other lane's). 0, with the id 0 when there is no Owners team, or -1
 * (recorded). */
static int
members_find_owners(struct pass *ctx, struct members_state *ms)
{
	struct gitea_teams teams = {0};
	struct http_status st;

	if (gitea_team_list(ctx->env->gitea, ctx->org, &teams, &st) != HTTP_OK) {
		pass_fail_call(ctx, COND_MEMBERS, "listing the org's teams", &st);
		return -1;
	}
	for (size_t i = 0; i < teams.n; i++)
		if (strcasecmp(teams.v[i].name, members_team_names[TEAM_OWNERS]) == 0)
			ms->team_id[TEAM_OWNERS] = teams.v[i].id;
	gitea_teams_free(&teams);
	return 0;
}

/* Observes the managed teams and their members (and the whole org when pruning), when the
 * plan can need them. A fresh org is known without a read. A sweep reads the teams whose
 * ids are recorded by id (the teams are listed when none is, or when one is gone); every
 * other pass lists them, as a change of spec or a signup should see the org as it is. */
static int
members_observe(struct pass *ctx, struct members_state *ms)
{
	struct http_status st;
	int rc = 1;

	if (!members_need_team_ids(ctx->ws))
		return 0;
	if (ctx->org_fresh) {
		members_fresh(ctx, ms);
	} else {
		if (ctx->env->sweep && json_object_get(ctx->ws->gitea_team_ids,
		                                       members_team_names[TEAM_OWNERS]) != NULL)
			rc = members_read_recorded(ctx, ms);
		if (rc < 0 || (rc == 1 && members_list_teams(ctx, ms) != 0))
			return -1;
		if (ctx->ws->prune_members &&
		    gitea_org_members(ctx->env->gitea, ctx->org, &ms->org_users, &st) != HTTP_OK) {
			pass_fail_call(ctx, COND_MEMBERS, "listing org members", &st);
			return -1;
		}
	}
	for (int t = 0; t < TEAM_COUNT; t++)
		ms->logins[t] = members_logins(&ms->users[t]);
	ms->org_logins = members_logins(&ms->org_users);
	return 0;
}

/* Keeps the ids of the managed teams known now (listed, read or made), for the next sweep. */
static void
members_record_ids(struct pass *ctx, const struct members_state *ms)
{
	json_t *ids = json_object();

	for (int t = 0; t < TEAM_COUNT; t++)
		if (ms->team_id[t] > 0)
			json_object_set_new(ids, members_team_names[t],
			                    json_integer(ms->team_id[t]));
	pass_record_team_ids(ctx, ids);
}

/* Lists the org's teams again for the id of team t, after a create that lost a race (another
 * replica, or a person, made it meanwhile; conflict: its answer), or whose answer was lost
 * (conflict NULL). 0 with ms->team_id[t] set, or -1 (recorded when conflict is set). */
static int
members_adopt_team(struct pass *ctx, struct members_state *ms, enum members_team t,
                   const struct http_status *conflict)
{
	struct gitea_teams teams = {0};
	struct http_status st;

	if (gitea_team_list(ctx->env->gitea, ctx->org, &teams, &st) != HTTP_OK) {
		if (conflict != NULL)
			pass_fail_call(ctx, COND_MEMBERS, "listing the org's teams again", &st);
		return -1;
	}
	for (size_t i = 0; i < teams.n && ms->team_id[t] == 0; i++)
		if (strcasecmp(teams.v[i].name, members_team_names[t]) == 0)
			ms->team_id[t] = teams.v[i].id;
	gitea_teams_free(&teams);
	if (ms->team_id[t] != 0)
		return 0;
	if (conflict != NULL)
		pass_fail_call(ctx, COND_MEMBERS, "creating a team", conflict);
	return -1;
}

/* Creates a managed team the plan needs. 0 or -1 (recorded). */
static int
members_ensure_team(struct pass *ctx, struct members_state *ms, enum members_team t)
{
	struct gitea_team team = {0};
	struct http_status st;
	enum http_class cls;
	char desc[96];

	if (ms->team_id[t] != 0)
		return 0;
	if (t == TEAM_OWNERS) {
		pass_fail_msg(ctx, COND_MEMBERS, "OwnersTeamMissing", REC_PERMANENT,
		              "org %s has no Owners team", ctx->org);
		return -1;
	}
	snprintf(desc, sizeof desc, "Vibn workspace %ss",
	         desired_role_name(t == TEAM_ADMINS ? ROLE_ADMIN : ROLE_MEMBER));
	pass_object(ctx, "team", "%s/%s", ctx->org, members_team_names[t]);
	for (int tries = 1;; tries++) {
		cls = gitea_team_create(ctx->env->gitea, ctx->org, members_team_names[t], desc,
		                        team_permission[t], 1, &team, &st);
		/* 422 "team already exists" (routers/api/v1/org/team.go CreateTeam): made
		 * meanwhile. */
		if (cls == HTTP_CONFLICT)
			return members_adopt_team(ctx, ms, t, &st);
		if (cls != HTTP_TRANSIENT || tries == PASS_CREATE_TRIES)
			break;
		/* Its answer may be what was lost: look before creating again. */
		if (members_adopt_team(ctx, ms, t, NULL) == 0) {
			pass_object_clear(ctx);
			return 0;
		}
	}
	if (cls != HTTP_OK) {
		pass_fail_call(ctx, COND_MEMBERS, "creating a team", &st);
		pass_object_clear(ctx);
		return -1;
	}
	pass_event(ctx, EVENTS_NORMAL, "Created", "team", ctx->obj_name,
	           "created with %s permission", team_permission[t]);
	pass_object_clear(ctx);
	ms->team_id[t] = team.id;
	gitea_team_free(&team);
	return 0;
}

/* Runs step s of the plan. A failure is recorded (its condition names it, its event too);
 * an add to a team that could not be made is not sent (team_failed: per team, of the lane).
 * Returns 1 when the step failed, else 0. */
static size_t
members_step_run(struct pass *ctx, struct members_state *ms, const struct members_step *s,
                 int *team_failed)
{
	struct gitea *g = ctx->env->gitea;
	struct http_status st;
	enum http_class cls;
	char what[160];

	if (s->op == MEMBERS_ADD) {
		if (team_failed[s->team])
			return 1;
		if (members_ensure_team(ctx, ms, s->team) != 0) {
			team_failed[s->team] = 1;
			return 1;
		}
	}
	pass_object(ctx, "member", "%s", s->user);
	switch (s->op) {
	case MEMBERS_ADD:
		cls = gitea_team_add_member(g, ms->team_id[s->team], s->user, &st);
		snprintf(what, sizeof what, "adding %s to %s", s->user,
		         members_team_names[s->team]);
		break;
	case MEMBERS_REMOVE:
		cls = gitea_team_remove_member(g, ms->team_id[s->team], s->user, &st);
		snprintf(what, sizeof what, "removing %s from %s", s->user,
		         members_team_names[s->team]);
		break;
	default:
		cls = gitea_org_remove_member(g, ctx->org, s->user, &st);
		snprintf(what, sizeof what, "removing %s from the org", s->user);
		break;
	}
	if (cls == HTTP_OK) {
		pass_event(ctx, EVENTS_NORMAL, "Synced", "member", s->user, "%s %s",
		           s->op == MEMBERS_ADD ? "added to" : "removed from",
		           s->op == MEMBERS_REMOVE_FROM_ORG ? "the org"
		                                            : members_team_names[s->team]);
		pass_object_clear(ctx);
		return 0;
	}
	/* An unknown Gitea user (404 on an add) is said so. */
	if (cls == HTTP_NOT_FOUND && s->op == MEMBERS_ADD)
		snprintf(what, sizeof what, "adding %s to %s (no such Gitea user?)", s->user,
		         members_team_names[s->team]);
	pass_fail_call(ctx, COND_MEMBERS, what, &st);
	pass_object_clear(ctx);
	return 1;
}

/* The adds to some of the teams, in the plan's order: a lane. The adds to Owners and those
 * to the teams this reconciler makes (Admins, Members) depend on nothing of each other, so
 * they run in two lanes at once; each lane first learns or makes its teams. */
struct members_lane {
	struct members_state *ms;        /* shared: a lane writes only its teams' entries */
	const struct members_plan *plan; /* borrowed */
	unsigned teams;                  /* bit t: team t is this lane's */
	size_t failed;                   /* steps that failed */
};

static int
members_lane_busy(const struct members_lane *l)
{
	if ((l->teams & (1u << TEAM_OWNERS)) && l->ms->owners_id_unread)
		return 1;
	for (size_t i = 0; i < l->plan->nsteps; i++)
		if (l->plan->steps[i].op == MEMBERS_ADD &&
		    (l->teams & (1u << l->plan->steps[i].team)))
			return 1;
	return 0;
}

static void
members_lane_run(struct pass *ctx, void *arg)
{
	struct members_lane *l = arg;
	int team_failed[TEAM_COUNT] = {0};

	/* A fresh org's Owners id is looked up even with no add to make: the sweeps read the
	 * team by the id recorded. */
	if ((l->teams & (1u << TEAM_OWNERS)) && l->ms->owners_id_unread &&
	    members_find_owners(ctx, l->ms) != 0)
		team_failed[TEAM_OWNERS] = 1;
	for (size_t i = 0; i < l->plan->nsteps; i++) {
		const struct members_step *s = &l->plan->steps[i];

		if (s->op == MEMBERS_ADD && (l->teams & (1u << s->team)))
			l->failed += members_step_run(ctx, l->ms, s, team_failed);
	}
}

/* Applies the plan: the adds in two lanes at once (the second on a branch with a client of
 * its own, when the pass has one), then the removals one after another, as the plan puts
 * adds before removals. Every step is independent of the others but for its team, so a
 * failed one is recorded and the rest go on. Returns the number of failed steps. */
static size_t
members_apply(struct pass *ctx, struct members_state *ms, const struct members_plan *plan)
{
	struct members_lane owners = {ms, plan, MEMBERS_OWNERS_LANE, 0};
	struct members_lane made = {ms, plan, MEMBERS_MADE_LANE, 0};
	struct gitea *beside = ctx->env->gitea_more[2];
	int team_failed[TEAM_COUNT] = {0};
	struct branch b;
	size_t failed;

	if (beside != NULL && members_lane_busy(&owners) && members_lane_busy(&made)) {
		branch_start(ctx, &b, members_lane_run, &made, beside);
		members_lane_run(ctx, &owners);
		branch_join(ctx, &b);
	} else {
		members_lane_run(ctx, &owners);
		members_lane_run(ctx, &made);
	}
	failed = owners.failed + made.failed;
	for (size_t i = 0; i < plan->nsteps; i++)
		if (plan->steps[i].op != MEMBERS_ADD)
			failed += members_step_run(ctx, ms, &plan->steps[i], team_failed);
	return failed;
}

void
gitea_members_reconcile(struct pass *ctx)
{
	struct members_state ms = {0};
	struct members_observed obs;
	struct members_plan plan = {0};
	size_t linked;

	if (!ctx->org_ready) {
		pass_cond(ctx, COND_MEMBERS, 0, "OrgNotReady", "waiting for the Gitea org %s",
		          ctx->org);
		return;
	}
	if (members_observe(ctx, &ms) != 0)
		goto out;
	for (int t = 0; t < TEAM_COUNT; t++) {
		obs.team[t] = ms.logins[t];
		obs.nteam[t] = ms.users[t].n;
	}
	obs.org = ms.org_logins;
	obs.norg = ms.org_users.n;
	if (ms.logins[TEAM_OWNERS] == NULL) {
		/* Nothing observed, because no step is possible: the org is as planned. */
		members_plan_make(ctx->ws->members, ctx->ws->nmembers, &obs,
		                  ctx->env->set->gitea_admin_user, 0, &plan);
		plan.nsteps = 0;
	} else {
		members_plan_make(ctx->ws->members, ctx->ws->nmembers, &obs,
		                  ctx->env->set->gitea_admin_user, ctx->ws->prune_members, &plan);
	}
	linked = ctx->ws->nmembers - plan.unlinked;
	if (plan.nsteps > 0 && ctx->dry) {
		pass_would(ctx, COND_MEMBERS, "make %zu membership change%s", plan.nsteps,
		           plan.nsteps == 1 ? "" : "s");
		goto out;
	}
	/* The condition already names what failed. */
	if (members_apply(ctx, &ms, &plan) > 0)
		goto out;
	if (plan.unlinked > 0)
		pass_cond(ctx, COND_MEMBERS, 1, plan.nsteps ? "Synced" : "UpToDate",
		          "%zu member%s in sync; %zu wait%s for a linked Gitea account", linked,
		          linked == 1 ? "" : "s", plan.unlinked, plan.unlinked == 1 ? "s" : "");
	else
		pass_cond(ctx, COND_MEMBERS, 1, plan.nsteps ? "Synced" : "UpToDate",
		          "%zu member%s in sync", linked, linked == 1 ? "" : "s");
out:
	members_record_ids(ctx, &ms);
	members_plan_free(&plan);
	members_state_free(&ms);
}
