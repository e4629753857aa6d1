/* Declared repos in the org: created with their privacy, description and default branch,
 * drifted settings edited back, a repo deleted by hand created again (empty). Repos nobody
 * declared are never touched. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "common/xmalloc.h"
#include "reconcilers/conditions.h"
#include "reconcilers/pass.h"

/* The observed repo named name (case-insensitive, as Gitea's are), or NULL. */
static struct gitea_repo *
repos_find(struct gitea_repos *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

/* Takes ownership of *r's fields into the observed list. */
static void
repos_remember(struct pass *ctx, struct gitea_repo *r)
{
	ctx->repos.v = xreallocarray(ctx->repos.v, ctx->repos.n + 1, sizeof *ctx->repos.v);
	ctx->repos.v[ctx->repos.n++] = *r;
	memset(r, 0, sizeof *r);
}

/* What one repo's step did. REPO_WOULD: paused, a change was reported and not made. */
enum repo_action {
	REPO_NONE,
	REPO_CREATED,
	REPO_RECREATED,
	REPO_UPDATED,
	REPO_WOULD,
	REPO_FAILED,
};

static enum repo_action
repos_create(struct pass *ctx, const struct desired_repo *d)
{
	struct gitea_repo_spec spec = {0};
	struct gitea_repo made = {0};
	struct http_status st;
	enum http_class cls;
	char what[160];

	if (ctx->dry) {
		pass_would(ctx, COND_REPOS, "create repo %s/%s", ctx->org, d->name);
		return REPO_WOULD;
	}
	spec.description = d->description;
	spec.default_branch = d->default_branch;
	spec.private = d->private;
	for (int tries = 1;; tries++) {
		cls = gitea_repo_create(ctx->env->gitea, ctx->org, d->name, &spec, &made, &st);
		if (cls == HTTP_CONFLICT) { /* created meanwhile: adopt it */
			cls = gitea_repo_get(ctx->env->gitea, ctx->org, d->name, &made, &st);
			break;
		}
		if (cls != HTTP_TRANSIENT)
			break;
		/* Its answer may be what was lost: look before creating again. */
		if (gitea_repo_get(ctx->env->gitea, ctx->org, d->name, &made, NULL) == HTTP_OK) {
			cls = HTTP_OK;
			break;
		}
		gitea_repo_free(&made);
		if (tries == PASS_CREATE_TRIES)
			break;
	}
	if (cls != HTTP_OK) {
		snprintf(what, sizeof what, "creating repo %s", d->name);
		pass_fail_call(ctx, COND_REPOS, what, &st);
		gitea_repo_free(&made);
		return REPO_FAILED;
	}
	pass_record_repo(ctx, d, &made);
	repos_remember(ctx, &made);
	return d->gitea_repo_id != 0 ? REPO_RECREATED : REPO_CREATED;
}

/* The declared default branch cannot be set: Gitea ignores a default_branch that does not
 * exist on a non-empty repo, and still answers 200 (routers/api/v1/repo/repo.go
 * updateBasicProperties). Reported, never patched in vain. */
static enum repo_action
repos_branch_missing(struct pass *ctx, const struct desired_repo *d, const char *have)
{
	pass_fail_msg(ctx, COND_REPOS, "BranchMissing", REC_PERMANENT,
	              "repo %s/%s: its default branch should be %s, which does not exist"
	              " (the default is %s); push %s, or declare the branch that exists",
	              ctx->org, d->name, d->default_branch, have ? have : "unset",
	              d->default_branch);
	return REPO_FAILED;
}

/* Whether the declared default branch can be made the default: an empty repo takes any name;
 * a non-empty one only a branch it has. 1 yes, 0 no (reported), -1 the read failed
 * (recorded). */
static int
repos_branch_settable(struct pass *ctx, const struct desired_repo *d, const struct gitea_repo *r)
{
	struct http_status st;
	char what[160];

	if (r->empty)
		return 1;
	switch (gitea_branch_get(ctx->env->gitea, ctx->org, r->name, d->default_branch, &st)) {
	case HTTP_OK:
		return 1;
	case HTTP_NOT_FOUND:
		repos_branch_missing(ctx, d, r->default_branch);
		return 0;
	default:
		snprintf(what, sizeof what, "reading branch %s of repo %s", d->default_branch,
		         d->name);
		pass_fail_call(ctx, COND_REPOS, what, &st);
		return -1;
	}
}

static enum repo_action
repos_update(struct pass *ctx, const struct desired_repo *d, struct gitea_repo *r)
{
	struct gitea_repo_spec patch = {0};
	struct gitea_repo after = {0};
	struct http_status st;
	int drift = 0, branch = 0;
	enum repo_action act = REPO_UPDATED;
	char what[160];

	if (r->private != d->private) {
		patch.private = d->private;
		patch.set_private = 1;
		drift = 1;
	}
	if (!util_str_eq_empty(r->description, d->description)) {
		patch.description = d->description;
		drift = 1;
	}
	pass_record_repo(ctx, d, r);
	if (!util_str_eq_empty(r->default_branch, d->default_branch)) {
		/* Asked only when it differs: a steady state reads no branch. */
		switch (repos_branch_settable(ctx, d, r)) {
		case 1:
			patch.default_branch = d->default_branch;
			branch = 1;
			break;
		case 0:
			act = REPO_FAILED; /* reported; the other fields may still be edited */
			break;
		default:
			return REPO_FAILED;
		}
	}
	if (!drift && !branch)
		return act == REPO_FAILED ? REPO_FAILED : REPO_NONE;
	if (ctx->dry) {
		pass_would(ctx, COND_REPOS, "edit repo %s/%s back to its spec", ctx->org, d->name);
		return REPO_WOULD;
	}
	if (gitea_repo_edit(ctx->env->gitea, ctx->org, r->name, &patch, &after, &st) != HTTP_OK) {
		snprintf(what, sizeof what, "editing repo %s", d->name);
		pass_fail_call(ctx, COND_REPOS, what, &st);
		return REPO_FAILED;
	}
	/* Read back: a branch gone between the check and the edit is ignored with a 200. */
	if (branch && !util_str_eq_empty(after.default_branch, d->default_branch))
		act = repos_branch_missing(ctx, d, after.default_branch);
	/* Later steps (apps: how to clone it) see the repo as it is now. */
	if (after.name != NULL) {
		gitea_repo_free(r);
		*r = after;
	}
	return act;
}

void
gitea_repos_reconcile(struct pass *ctx)
{
	const struct desired_ws *ws = ctx->ws;
	struct http_status st;
	size_t created = 0, recreated = 0, updated = 0, would = 0, failed = 0;
	char recreated_names[256] = "";

	if (!ctx->org_ready) {
		pass_cond(ctx, COND_REPOS, 0, "OrgNotReady", "waiting for the Gitea org %s",
		          ctx->org);
		return;
	}
	if (ws->nrepos == 0) {
		ctx->repos_known = 1;
		pass_cond(ctx, COND_REPOS, 1, "UpToDate", "no repos declared");
		return;
	}
	if (!ctx->org_fresh &&
	    gitea_repo_list(ctx->env->gitea, ctx->org, &ctx->repos, &st) != HTTP_OK) {
		pass_fail_call(ctx, COND_REPOS, "listing the org's repos", &st);
		return;
	}
	ctx->repos_known = 1;
	for (size_t i = 0; i < ws->nrepos; i++) {
		struct gitea_repo *r = repos_find(&ctx->repos, ws->repos[i].name);
		enum repo_action a;

		pass_object(ctx, "repo", "%s/%s", ctx->org, ws->repos[i].name);
		a = r ? repos_update(ctx, &ws->repos[i], r) : repos_create(ctx, &ws->repos[i]);
		switch (a) {
		case REPO_CREATED:
			created++;
			pass_event(ctx, EVENTS_NORMAL, "Created", "repo", ctx->obj_name,
			           "created (%s)", ws->repos[i].private ? "private" : "public");
			break;
		case REPO_RECREATED:
			recreated++;
			pass_event(ctx, EVENTS_NORMAL, "Recreated", "repo", ctx->obj_name,
			           "had been deleted upstream; created again (empty)");
			snprintf(recreated_names + strlen(recreated_names),
			         sizeof recreated_names - strlen(recreated_names), "%s%s",
			         recreated_names[0] ? ", " : "", ws->repos[i].name);
			break;
		case REPO_UPDATED:
			updated++;
			pass_event(ctx, EVENTS_NORMAL, "Updated", "repo", ctx->obj_name,
			           "settings edited back to the spec");
			break;
		case REPO_WOULD:
			would++;
			break;
		case REPO_FAILED:
			failed++;
			break;
		case REPO_NONE:
			break;
		}
	}
	pass_object_clear(ctx);
	/* The condition already says what failed, or what a paused workspace would do. */
	if (failed > 0 || would > 0)
		return;
	if (recreated > 0)
		pass_cond(ctx, COND_REPOS, 1, "Recreated",
		          "%zu repo%s in sync; deleted upstream and created again (empty): %s",
		          ws->nrepos, ws->nrepos == 1 ? "" : "s", recreated_names);
	else
		pass_cond(ctx, COND_REPOS, 1,
		          created   ? "Created"
		          : updated ? "Updated"
		                    : "UpToDate",
		          "%zu repo%s in sync", ws->nrepos, ws->nrepos == 1 ? "" : "s");
}

int
gitea_repos_delete(struct pass *ctx)
{
	int done = 1;

	for (size_t i = 0; i < ctx->ws->nrepos; i++) {
		struct http_status st;
		char what[160];

		pass_object(ctx, "repo", "%s/%s", ctx->org, ctx->ws->repos[i].name);
		switch (gitea_repo_delete(ctx->env->gitea, ctx->org, ctx->ws->repos[i].name, &st)) {
		case HTTP_OK:
			pass_event(ctx, EVENTS_NORMAL, "Deleted", "repo", ctx->obj_name,
			           "deleted (deletionPolicy Delete)");
			break;
		case HTTP_NOT_FOUND:
			break;
		default:
			snprintf(what, sizeof what, "deleting repo %s", ctx->ws->repos[i].name);
			pass_fail_call(ctx, COND_REPOS, what, &st);
			done = 0;
		}
	}
	pass_object_clear(ctx);
	return done;
}
