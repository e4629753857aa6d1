/* Membership planning: adds before removes, role moves, admin kept, hand-added users kept
 * unless pruning, unlinked members counted, case-insensitive names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "reconcilers/members_plan.h"

/* Mutable copies of literals, as desired_member holds owned strings. */
#define S(x) ((char[]){x})
#define M(u, g, r)                                                                                 \
	{                                                                                          \
		S(u), g, (r)                                                                       \
	}

static void
plan(const struct desired_member *m, size_t n, const char *const *owners, size_t no,
     const char *const *admins, size_t na, const char *const *mem, size_t nm,
     const char *const *org, size_t norg, int prune, struct members_plan *p)
{
	struct members_observed obs = {{owners, admins, mem}, {no, na, nm}, org, norg};

	members_plan_make(m, n, &obs, "vibn-admin", prune, p);
}

static int
has(const struct members_plan *p, enum members_op op, enum members_team t, const char *user)
{
	for (size_t i = 0; i < p->nsteps; i++)
		if (p->steps[i].op == op &&
		    (op == MEMBERS_REMOVE_FROM_ORG || p->steps[i].team == t) &&
		    strcmp(p->steps[i].user, user) == 0)
			return 1;
	return 0;
}

static void
test_fresh_org_adds_everyone_once(void **state)
{
	const struct desired_member m[] = {M("alice", S("alice"), ROLE_OWNER),
	                                   M("bob", S("bob"), ROLE_ADMIN),
	                                   M("carol", S("carol"), ROLE_MEMBER)};
	const char *owners[] = {"vibn-admin"};
	struct members_plan p;

	plan(m, 3, owners, 1, NULL, 0, NULL, 0, owners, 1, 0, &p);
	assert_int_equal(p.nsteps, 3);
	assert_true(has(&p, MEMBERS_ADD, TEAM_OWNERS, "alice"));
	assert_true(has(&p, MEMBERS_ADD, TEAM_ADMINS, "bob"));
	assert_true(has(&p, MEMBERS_ADD, TEAM_MEMBERS, "carol"));
	members_plan_free(&p);
}

static void
test_converged_plans_nothing(void **state)
{
	const struct desired_member m[] = {M("alice", S("Alice"), ROLE_OWNER),
	                                   M("bob", S("bob"), ROLE_ADMIN)};
	const char *owners[] = {"vibn-admin", "alice"}, *admins[] = {"BOB"};
	const char *org[] = {"vibn-admin", "alice", "BOB", "handadded"};
	struct members_plan p;

	plan(m, 2, owners, 2, admins, 1, NULL, 0, org, 4, 0, &p);
	assert_int_equal(p.nsteps, 0);
	members_plan_free(&p);
}

static void
test_role_change_adds_then_removes(void **state)
{
	const struct desired_member m[] = {M("bob", S("bob"), ROLE_MEMBER)};
	const char *owners[] = {"vibn-admin"}, *admins[] = {"bob"};
	struct members_plan p;

	plan(m, 1, owners, 1, admins, 1, NULL, 0, NULL, 0, 0, &p);
	assert_int_equal(p.nsteps, 2);
	assert_int_equal(p.steps[0].op, MEMBERS_ADD);
	assert_int_equal(p.steps[0].team, TEAM_MEMBERS);
	assert_int_equal(p.steps[1].op, MEMBERS_REMOVE);
	assert_int_equal(p.steps[1].team, TEAM_ADMINS);
	members_plan_free(&p);
}

static void
test_demoted_owner_leaves_owners_after_new_owner_joins(void **state)
{
	const struct desired_member m[] = {M("alice", S("alice"), ROLE_MEMBER),
	                                   M("dave", S("dave"), ROLE_OWNER)};
	const char *owners[] = {"alice"};
	struct members_plan p;

	plan(m, 2, owners, 1, NULL, 0, NULL, 0, NULL, 0, 0, &p);
	/* Every add precedes every removal: the org is never ownerless. */
	for (size_t i = 0; i < p.nsteps; i++)
		if (p.steps[i].op != MEMBERS_ADD)
			for (size_t j = i; j < p.nsteps; j++)
				assert_int_not_equal(p.steps[j].op, MEMBERS_ADD);
	assert_true(has(&p, MEMBERS_ADD, TEAM_OWNERS, "dave"));
	assert_true(has(&p, MEMBERS_REMOVE, TEAM_OWNERS, "alice"));
	members_plan_free(&p);
}

static void
test_hand_added_kept_unless_prune(void **state)
{
	const struct desired_member m[] = {M("alice", S("alice"), ROLE_OWNER)};
	const char *owners[] = {"vibn-admin", "alice", "mallory"};
	const char *org[] = {"vibn-admin", "alice", "mallory", "eve"};
	struct members_plan p;

	plan(m, 1, owners, 3, NULL, 0, NULL, 0, org, 4, 0, &p);
	assert_int_equal(p.nsteps, 0);
	members_plan_free(&p);
	plan(m, 1, owners, 3, NULL, 0, NULL, 0, org, 4, 1, &p);
	assert_int_equal(p.nsteps, 2);
	assert_true(has(&p, MEMBERS_REMOVE_FROM_ORG, TEAM_OWNERS, "mallory"));
	assert_true(has(&p, MEMBERS_REMOVE_FROM_ORG, TEAM_OWNERS, "eve"));
	assert_false(has(&p, MEMBERS_REMOVE_FROM_ORG, TEAM_OWNERS, "vibn-admin"));
	members_plan_free(&p);
}

static void
test_unlinked_members_counted_not_added(void **state)
{
	const struct desired_member m[] = {M("u-123", NULL, ROLE_OWNER),
	                                   M("u-456", S(""), ROLE_MEMBER)};
	const char *owners[] = {"vibn-admin"};
	struct members_plan p;

	plan(m, 2, owners, 1, NULL, 0, NULL, 0, owners, 1, 1, &p);
	assert_int_equal(p.nsteps, 0);
	assert_int_equal(p.unlinked, 2);
	members_plan_free(&p);
}

static void
test_admin_user_never_removed(void **state)
{
	const struct desired_member m[] = {M("vibn-admin", S("vibn-admin"), ROLE_MEMBER)};
	const char *owners[] = {"vibn-admin"};
	struct members_plan p;

	plan(m, 1, owners, 1, NULL, 0, NULL, 0, owners, 1, 1, &p);
	assert_false(has(&p, MEMBERS_REMOVE, TEAM_OWNERS, "vibn-admin"));
	assert_false(has(&p, MEMBERS_REMOVE_FROM_ORG, TEAM_OWNERS, "vibn-admin"));
	members_plan_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fresh_org_adds_everyone_once),
	    cmocka_unit_test(test_converged_plans_nothing),
	    cmocka_unit_test(test_role_change_adds_then_removes),
	    cmocka_unit_test(test_demoted_owner_leaves_owners_after_new_owner_joins),
	    cmocka_unit_test(test_hand_added_kept_unless_prune),
	    cmocka_unit_test(test_unlinked_members_counted_not_added),
	    cmocka_unit_test(test_admin_user_never_removed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
