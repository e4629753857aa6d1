/* Applying validated manifests to the desired-state tables, in one transaction: each
 * workspace is created, configured (only the rows that differ are written, so an unchanged
 * document bumps no generation and enqueues nothing) or left unchanged; with prune, the
 * workspaces created from manifests that the set no longer declares are soft-deleted
 * (signup and API workspaces never are). Dry runs and diffs compute the same plan and roll
 * back. */
#ifndef VIBN_MF_APPLY_H
#define VIBN_MF_APPLY_H

#include <stddef.h>

#include <libpq-fe.h>

#include "manifests/mf_spec.h"

#define MF_APPLY_WRITE 0x1 /* write the plan (otherwise roll back: dry run, diff) */
#define MF_APPLY_PRUNE 0x2 /* plan (and write) prunes */

enum mf_action { MF_ACTION_CREATE, MF_ACTION_CONFIGURE, MF_ACTION_UNCHANGED };

struct mf_change {
	const struct mf_workspace *want; /* borrowed from the set */
	enum mf_action action;
	char *diff;  /* unified diff from live to declared; NULL when unchanged */
	char *error; /* why this workspace cannot be applied, or NULL */
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
int mf_apply_run(PGconn *conn, const struct mf_set *set, int flags, struct mf_plan *plan,
                 char **cause) __attribute__((warn_unused_result));
void mf_apply_plan_free(struct mf_plan *plan);
/* "created", "configured", "unchanged". */
const char *mf_apply_action_name(enum mf_action a);

#endif
