/* Repos the API undeclared and asked to delete upstream (DELETE .../projects/{id}
 * ?deleteRepo=true records a request in vibn_workspace_repo_deletions). The reconciler never
 * deletes a repo just because it left the spec; these explicit requests are the only way,
 * and they are careful: a repo is deleted only when the one found in the workspace's org is
 * the one the workspace created (the Gitea id recorded when it was undeclared), never when a
 * repo of that name is declared again meanwhile, never one that was not created. Each request
 * is forgotten once settled; failures keep it for the next run. */
#include <strings.h>

#include "reconcilers/conditions.h"
#include "reconcilers/pass.h"

/* 1 when a repo named name is declared (again) in the workspace. */
static int
reap_declared(const struct desired_ws *ws, const char *name)
{
	for (size_t i = 0; i < ws->nrepos; i++)
		if (strcasecmp(ws->repos[i].name, name) == 0)
			return 1;
	return 0;
}

/* One request: 1 when settled (forget it), 0 when it must wait or failed (recorded). */
static int
reap_one(struct pass *ctx, const struct desired_deletion *d)
{
	struct gitea_repo r = {0};
	struct http_status st;
	int settled = 0;

	if (reap_declared(ctx->ws, d->name) || d->gitea_repo_id == 0)
		return 1; /* wanted again, or never created: nothing of ours to delete */
	switch (gitea_repo_get(ctx->env->gitea, ctx->org, d->name, &r, &st)) {
	case HTTP_OK:
		break;
	case HTTP_NOT_FOUND:
		return 1; /* gone already */
	default:
		pass_fail_call(ctx, COND_REPOS, "reading a repo to delete", &st);
		return 0;
	}
	if (r.id != d->gitea_repo_id) {
		pass_event(
		    ctx, EVENTS_WARNING, "NotOwned", "repo", ctx->obj_name,
		    "not deleted: the repo there now (id %lld) is not the one this workspace "
		    "created (id %lld)",
		    (long long)r.id, d->gitea_repo_id);
		settled = 1;
	} else if (ctx->dry) {
		pass_would(ctx, COND_REPOS, "delete repo %s (deleteRepo)", ctx->obj_name);
	} else {
		switch (gitea_repo_delete(ctx->env->gitea, ctx->org, r.name, &st)) {
		case HTTP_OK:
			pass_event(ctx, EVENTS_NORMAL, "Deleted", "repo", ctx->obj_name,
			           "deleted as requested (deleteRepo)");
			settled = 1;
			break;
		case HTTP_NOT_FOUND:
			settled = 1;
			break;
		default:
			pass_fail_call(ctx, COND_REPOS, "deleting a repo (deleteRepo)", &st);
		}
	}
	gitea_repo_free(&r);
	return settled;
}

int
gitea_reap_reconcile(struct pass *ctx)
{
	int done = 1;

	if (ctx->ws->nrepo_deletions == 0)
		return 1;
	if (!ctx->org_ready && !ctx->ws->deleted)
		return 0; /* the org's step reported why; the requests wait */
	for (size_t i = 0; i < ctx->ws->nrepo_deletions; i++) {
		const struct desired_deletion *d = &ctx->ws->repo_deletions[i];

		pass_object(ctx, "repo", "%s/%s", ctx->org, d->name);
		if (reap_one(ctx, d))
			pass_record_deletion_done(ctx, d->id);
		else
			done = 0;
	}
	pass_object_clear(ctx);
	return done;
}
