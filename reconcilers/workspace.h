/* The workspace reconciler: loads one workspace's desired state, converges the Gitea side
 * (org, members, repos, hook) and the Coolify side (project, apps) independently, writes
 * the conditions and the one-word provision_status back (only when they changed), and says
 * how the queue should retry. A soft-deleted workspace is cleaned up per its
 * deletionPolicy and then removed. Never exits the process: every failure is an outcome. */
#ifndef VIBN_WORKSPACE_H
#define VIBN_WORKSPACE_H

#include "reconcilers/pass.h"

/* Reconciles workspace ws_id with the worker's env. Fills *out; returns 0, or -1 when the
 * database failed before anything could be observed (out says transient). */
int workspace_reconcile(struct pass_env *env, const char *ws_id, struct rec_result *out);

#endif
