/* Applying validated manifests to the desired-state tables, in one transaction: each
 * workspace is created, configured (only the rows that differ are written, so an unchanged
 * document bumps no generation and enqueues nothing) or left unchanged. Dry runs and diffs
 * compute the same plan and roll back.
 *
 * Manifests are authoritative only for what manifests declared: the repos and apps the API
 * or MCP made in a workspace (managed_by 'api') are never changed or removed by apply; a
 * manifest that declares one of their names is refused, unless MF_APPLY_FORCE
 * (--force-conflicts) takes the object over (it is then the manifest's, and leaving the
 * manifest removes it). Quotas (spec.quotas, else the VIBN_QUOTA_* defaults) bound the
 * repos and apps a workspace ends up with.
 *
 * Prune, like kubectl's, needs a scope: all (every manifest workspace the set does not
 * declare), a label selector (then only documents whose labels match are applied, and only
 * matching workspaces can be pruned), or an apply set (recorded on each workspace applied
 * with it; only its members can be pruned). Signup and API workspaces are never pruned. */
#ifndef VIBN_MF_APPLY_H
#define VIBN_MF_APPLY_H

#include <stddef.h>

#include <libpq-fe.h>

#include "manifests/mf_spec.h"

#define MF_APPLY_WRITE 0x1 /* write the plan (otherwise roll back: dry run, diff) */
#define MF_APPLY_PRUNE 0x2 /* plan (and write) prunes: needs a scope (see mf_apply_opts) */
#define MF_APPLY_FORCE 0x4 /* take over what the API owns, or another apply set's workspace */

/* How a run is scoped. */
struct mf_apply_opts {
	int flags;                          /* MF_APPLY_* */
	int prune_all;                      /* prune every manifest workspace not declared */
	const struct mf_selector *selector; /* apply and prune only what matches; or NULL */
	const char *applyset;               /* record and prune within this apply set; or NULL */
	const struct quota_limits *quota;   /* defaults of spec.quotas; NULL: the built-in */
};

enum mf_action { MF_ACTION_CREATE, MF_ACTION_CONFIGURE, MF_ACTION_UNCHANGED, MF_ACTION_SKIPPED };

struct mf_change {
	const struct mf_workspace *want; /* borrowed from the set */
	enum mf_action action;
	char *diff;      /* unified diff from live to declared; NULL when unchanged */
	char *error;     /* why this workspace cannot be applied, or NULL */
	char *note;      /* what else to say (objects taken over from the API), or NULL */
	char *api_owned; /* "repo shop, app shop": what stays the API's, or NULL when nothing */
};

struct mf_plan {
	struct mf_change *v; /* in the set's order */
	size_t n;
	char **pruned; /* slugs soft-deleted (or that would be) by prune */
	size_t npruned;
	size_t errors; /* changes with an error: then nothing is written */
};

/* Plans set against the database and, with MF_APPLY_WRITE, writes it, all in one
 * transaction (serialized with other applies by an advisory lock). Returns 0 with plan
 * filled, or -1 with a one-line *cause (plan holds what was learnt: per-workspace errors). */
int mf_apply_run(PGconn *conn, const struct mf_set *set, const struct mf_apply_opts *opts,
                 struct mf_plan *plan, char **cause) __attribute__((warn_unused_result));
void mf_apply_plan_free(struct mf_plan *plan);
/* "created", "configured", "unchanged", "skipped". */
const char *mf_apply_action_name(enum mf_action a);
/* 1 when s can name an apply set: 1 to 63 of [a-z0-9.-], a letter or digit at both ends. */
int mf_apply_valid_applyset(const char *s);

#endif
