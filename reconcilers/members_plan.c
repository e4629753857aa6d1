#include "members_plan.h"

#include <stdlib.h>
#include <strings.h>

#include "common/xmalloc.h"

const char *const members_team_names[TEAM_COUNT] = {"Owners", "Admins", "Members"};

enum members_team
members_team_for_role(enum desired_role role)
{
	switch (role) {
	case ROLE_OWNER:
		return TEAM_OWNERS;
	case ROLE_ADMIN:
		return TEAM_ADMINS;
	case ROLE_MEMBER:
		return TEAM_MEMBERS;
	}
	return TEAM_MEMBERS;
}

static int
members_contains(const char *const *list, size_t n, const char *user)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(list[i], user) == 0)
			return 1;
	return 0;
}

/* The declared member with that login, or NULL. */
static const struct desired_member *
members_declared(const struct desired_member *members, size_t n, const char *user)
{
	for (size_t i = 0; i < n; i++)
		if (members[i].gitea_username != NULL &&
		    strcasecmp(members[i].gitea_username, user) == 0)
			return &members[i];
	return NULL;
}

static void
members_push(struct members_plan *plan, size_t *cap, enum members_op op, enum members_team team,
             const char *user)
{
	/* Never plan the same step twice (a login listed twice upstream, or declared twice). */
	for (size_t i = 0; i < plan->nsteps; i++)
		if (plan->steps[i].op == op && plan->steps[i].team == team &&
		    strcasecmp(plan->steps[i].user, user) == 0)
			return;
	if (plan->nsteps == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		plan->steps = xreallocarray(plan->steps, *cap, sizeof *plan->steps);
	}
	plan->steps[plan->nsteps++] = (struct members_step){op, team, user};
}

void
members_plan_make(const struct desired_member *members, size_t nmembers,
                  const struct members_observed *obs, const char *admin_user, int prune,
                  struct members_plan *plan)
{
	size_t cap = 0;

	plan->steps = NULL;
	plan->nsteps = 0;
	plan->unlinked = 0;

	/* 1. Additions: each linked member into its role's team. */
	for (size_t i = 0; i < nmembers; i++) {
		const struct desired_member *m = &members[i];
		enum members_team t = members_team_for_role(m->role);

		if (m->gitea_username == NULL || *m->gitea_username == '\0') {
			plan->unlinked++;
			continue;
		}
		if (!members_contains(obs->team[t], obs->nteam[t], m->gitea_username))
			members_push(plan, &cap, MEMBERS_ADD, t, m->gitea_username);
	}
	/* 2. Role moves: a declared member sitting in another managed team leaves it. */
	for (int t = 0; t < TEAM_COUNT; t++) {
		for (size_t j = 0; j < obs->nteam[t]; j++) {
			const char *user = obs->team[t][j];
			const struct desired_member *m = members_declared(members, nmembers, user);

			if (admin_user != NULL && strcasecmp(user, admin_user) == 0)
				continue;
			if (m != NULL && members_team_for_role(m->role) != (enum members_team)t)
				members_push(plan, &cap, MEMBERS_REMOVE, (enum members_team)t,
				             user);
		}
	}
	/* 3. Prune: users nobody declared leave the org altogether. */
	if (prune) {
		for (size_t j = 0; j < obs->norg; j++) {
			const char *user = obs->org[j];

			if (admin_user != NULL && strcasecmp(user, admin_user) == 0)
				continue;
			if (members_declared(members, nmembers, user) == NULL)
				members_push(plan, &cap, MEMBERS_REMOVE_FROM_ORG, TEAM_OWNERS,
				             user);
		}
	}
}

void
members_plan_free(struct members_plan *plan)
{
	free(plan->steps);
	plan->steps = NULL;
	plan->nsteps = 0;
}
