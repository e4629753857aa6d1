/* Membership planning: from the desired members and the observed members of the org's
 * three managed teams, the minimal list of team additions and removals. Pure: no I/O.
 *
 * Roles map to teams: owner -> "Owners" (Gitea's own), admin -> "Admins" (permission admin),
 * member -> "Members" (permission write). Rules:
 *  - every declared member with a Gitea username is in exactly its role's team among the
 *    three; a declared member found in another managed team is removed from it (a role
 *    change), after the addition;
 *  - the daemon's admin user stays in Owners and is never removed;
 *  - users nobody declared are left alone, unless prune is set: then they are removed from
 *    the org (every team);
 *  - all additions come before any removal, so an org never loses its last owner;
 *  - names compare case-insensitively, as Gitea's do. */
#ifndef VIBN_MEMBERS_PLAN_H
#define VIBN_MEMBERS_PLAN_H

#include <stddef.h>

#include "reconcilers/desired.h"

enum members_team { TEAM_OWNERS, TEAM_ADMINS, TEAM_MEMBERS, TEAM_COUNT };

extern const char *const members_team_names[TEAM_COUNT];

/* Observed logins of each managed team (borrowed arrays of borrowed strings), and of the
 * whole org (needed only for prune: it also finds users in unmanaged teams). */
struct members_observed {
	const char *const *team[TEAM_COUNT];
	size_t nteam[TEAM_COUNT];
	const char *const *org;
	size_t norg;
};

enum members_op { MEMBERS_ADD, MEMBERS_REMOVE, MEMBERS_REMOVE_FROM_ORG };

struct members_step {
	enum members_op op;
	enum members_team team; /* unused for MEMBERS_REMOVE_FROM_ORG */
	const char *user;       /* borrowed from the inputs */
};

struct members_plan {
	struct members_step *steps; /* adds first, then removals */
	size_t nsteps;
	size_t unlinked; /* declared members with no Gitea username yet (not added upstream) */
};

/* Computes the plan into *plan (free with members_plan_free). admin_user may be NULL. */
void members_plan_make(const struct desired_member *members, size_t nmembers,
                       const struct members_observed *obs, const char *admin_user, int prune,
                       struct members_plan *plan);
void members_plan_free(struct members_plan *plan);

/* The team a role belongs in. */
enum members_team members_team_for_role(enum desired_role role);

#endif
