/* Gitea org vibn-{slug}: created through the admin user, adopted when it exists, its full
 * name, description and visibility kept in step. A renamed org (307) is drift to report,
 * never a redirect to follow. */
#include <string.h>

#include "common/util.h"
#include "common/xmalloc.h"
#include "reconcilers/conditions.h"
#include "reconcilers/pass.h"

/* The settings an observed org has, as a spec (borrowing its strings). */
static struct gitea_org_spec
gitea_org_have(const struct gitea_org *o)
{
	return (struct gitea_org_spec){o->full_name, o->description, o->visibility};
}

static void
gitea_org_spec(struct pass *ctx, struct gitea_org_spec *spec, char **desc)
{
	*desc = xasprintf("Vibn workspace %s", ctx->ws->slug);
	spec->full_name = ctx->ws->name[0] != '\0' ? ctx->ws->name : ctx->ws->slug;
	spec->description = *desc;
	spec->visibility = ctx->ws->visibility;
}

/* Anonymous readers may clone the repos of an org with this visibility. */
static int
gitea_org_is_public(const char *visibility)
{
	return visibility != NULL && strcmp(visibility, "public") == 0;
}

/* The org exists with the settings have: bring them in step. Returns the condition reason
 * to use. */
static const char *
gitea_org_update(struct pass *ctx, const struct gitea_org_spec *have,
                 const struct gitea_org_spec *want)
{
	struct gitea_org_spec patch = {0};
	struct http_status st;

	if (!util_str_eq_empty(have->full_name, want->full_name))
		patch.full_name = want->full_name;
	if (!util_str_eq_empty(have->description, want->description))
		patch.description = want->description;
	if (!util_str_eq_empty(have->visibility, want->visibility))
		patch.visibility = want->visibility;
	/* As it is until an edit succeeds: what decides how its repos can be cloned. */
	ctx->org_public = gitea_org_is_public(have->visibility);
	if (patch.full_name == NULL && patch.description == NULL && patch.visibility == NULL)
		return ctx->ws->gitea_org == NULL ? "Adopted" : "UpToDate";
	if (ctx->dry) {
		pass_would(ctx, COND_GITEA_ORG, "edit org %s back to its spec", ctx->org);
		return NULL;
	}
	if (gitea_org_edit(ctx->env->gitea, ctx->org, &patch, NULL, &st) != HTTP_OK) {
		pass_fail_call(ctx, COND_GITEA_ORG, "editing the Gitea org", &st);
		return NULL;
	}
	ctx->org_public = gitea_org_is_public(want->visibility);
	return "Updated";
}

/* The org is missing: create it (the admin user becomes its first owner). */
static const char *
gitea_org_make(struct pass *ctx, const struct gitea_org_spec *want)
{
	struct gitea_org org = {0};
	struct http_status st;
	enum http_class cls;
	const char *reason;

	if (ctx->dry) {
		pass_would(ctx, COND_GITEA_ORG, "create the Gitea org %s", ctx->org);
		return NULL;
	}
	for (int tries = 1;; tries++) {
		cls = gitea_org_create(ctx->env->gitea, ctx->org, want, NULL, &st);
		if (cls != HTTP_TRANSIENT || tries == PASS_CREATE_TRIES)
			break;
		/* Its answer may be what was lost: look before creating again. */
		if (gitea_org_get(ctx->env->gitea, ctx->org, &org, NULL) == HTTP_OK) {
			struct gitea_org_spec have = gitea_org_have(&org);

			ctx->org_ready = 1;
			reason = gitea_org_update(ctx, &have, want);
			gitea_org_free(&org);
			return reason;
		}
	}
	if (cls == HTTP_OK) {
		ctx->org_ready = 1;
		ctx->org_fresh = 1;
		/* Gitea's default, when none is sent, is public. */
		ctx->org_public =
		    want->visibility == NULL || strcmp(want->visibility, "public") == 0;
		return ctx->ws->gitea_org != NULL ? "Recreated" : "Created";
	}
	if (cls != HTTP_CONFLICT) {
		pass_fail_call(ctx, COND_GITEA_ORG, "creating the Gitea org", &st);
		return NULL;
	}
	/* Taken: by an org of the same name (one made before, or by a concurrent create: adopt
	 * it) or by a user (give up). */
	switch (gitea_org_get(ctx->env->gitea, ctx->org, &org, &st)) {
	case HTTP_OK: {
		struct gitea_org_spec have = gitea_org_have(&org);

		ctx->org_ready = 1;
		reason = gitea_org_update(ctx, &have, want);
		gitea_org_free(&org);
		return reason;
	}
	case HTTP_NOT_FOUND:
		pass_fail_msg(ctx, COND_GITEA_ORG, "NameTaken", REC_PERMANENT,
		              "the name %s is taken by a Gitea user or organization we cannot see",
		              ctx->org);
		return NULL;
	default:
		pass_fail_call(ctx, COND_GITEA_ORG, "reading the Gitea org whose name is taken",
		               &st);
		return NULL;
	}
}

/* Reads the org and brings it in step, or creates it. Returns the condition reason to use,
 * NULL after a failure (recorded). */
static const char *
gitea_org_read(struct pass *ctx, const struct gitea_org_spec *want)
{
	struct gitea_org org = {0};
	struct gitea_org_spec have;
	struct http_status st;
	const char *reason = NULL;

	/* A workspace that never recorded an org almost always meets none: create it straight
	 * away, and read it only when the name turns out to be taken (gitea_org_make adopts an
	 * org then). One call on the pass's critical path instead of a 404 and a create. */
	if (ctx->ws->gitea_org == NULL && !ctx->dry)
		return gitea_org_make(ctx, want);
	switch (gitea_org_get(ctx->env->gitea, ctx->org, &org, &st)) {
	case HTTP_OK:
		have = gitea_org_have(&org);
		ctx->org_ready = 1;
		reason = gitea_org_update(ctx, &have, want);
		break;
	case HTTP_NOT_FOUND:
		reason = gitea_org_make(ctx, want);
		break;
	default:
		/* Deferred by a rate limit after it was verified at this generation: the org
		 * stands, as it was made, for the steps that need it. */
		if (pass_fail_call(ctx, COND_GITEA_ORG, "reading the Gitea org", &st)) {
			ctx->org_ready = 1;
			ctx->org_public = gitea_org_is_public(want->visibility);
		}
		break;
	}
	gitea_org_free(&org);
	return reason;
}

/* Whether the run's shared org list shows the org as wanted (org_cache_in_step). */
static int
gitea_org_in_list(struct pass *ctx, const struct gitea_org_spec *want)
{
	struct gitea *gs[1 + PASS_GITEA_MORE];
	size_t n = 0;

	gs[n++] = ctx->env->gitea;
	for (int k = 0; k < PASS_GITEA_MORE; k++)
		if (ctx->env->gitea_more[k] != NULL)
			gs[n++] = ctx->env->gitea_more[k];
	return org_cache_in_step(ctx->env->orgs, gs, n, ctx->org, want);
}

void
gitea_org_reconcile(struct pass *ctx)
{
	struct gitea_org_spec want = {0};
	const char *reason;
	char *desc;

	gitea_org_spec(ctx, &want, &desc);
	/* A sweep finds the org in the shared admin org list (one page per 50 orgs) and reads
	 * it only when the list does not show it in step: missing (made since, renamed,
	 * deleted) or drifted. The list's pages are read with the pass's extra Gitea clients
	 * too, idle until the org is known. */
	if (ctx->env->sweep && gitea_org_in_list(ctx, &want)) {
		ctx->org_ready = 1;
		reason = gitea_org_update(ctx, &want, &want);
	} else {
		reason = gitea_org_read(ctx, &want);
	}
	free(desc);
	if (ctx->org_ready) {
		free(ctx->gitea_org);
		ctx->gitea_org = xstrdup(ctx->org);
	}
	if (reason == NULL)
		return;
	if (strcmp(reason, "UpToDate") != 0)
		pass_event(
		    ctx, EVENTS_NORMAL, reason, "org", ctx->org, "%s",
		    strcmp(reason, "Recreated") == 0 ? "had been deleted upstream; created again"
		    : strcmp(reason, "Adopted") == 0 ? "an org with this name existed; adopted"
		    : strcmp(reason, "Updated") == 0 ? "settings edited back to the spec"
		                                     : "created");
	if (strcmp(reason, "Recreated") == 0)
		pass_cond(ctx, COND_GITEA_ORG, 1, reason,
		          "org %s had been deleted upstream; created it again", ctx->org);
	else
		pass_cond(ctx, COND_GITEA_ORG, 1, reason, "org %s", ctx->org);
}

int
gitea_org_delete_all(struct pass *ctx)
{
	struct http_status st;

	switch (gitea_org_delete(ctx->env->gitea, ctx->org, &st)) {
	case HTTP_OK:
		pass_event(ctx, EVENTS_NORMAL, "Deleted", "org", ctx->org,
		           "deleted (deletionPolicy Delete)");
		return 1;
	case HTTP_NOT_FOUND:
		return 1;
	case HTTP_TRANSIENT:
		/* Gitea refuses while the org owns repos (ones nobody declared) or packages, with
		 * a 500 it also answers for any internal error: the message tells them apart
		 * (models/user/error.go ErrUserOwnRepos, ErrUserOwnPackages). */
		if (st.status == 500 && strstr(st.message, "still has ownership of repositories")) {
			pass_fail_msg(
			    ctx, COND_GITEA_ORG, "OrgNotEmpty", REC_PERMANENT,
			    "org %s still owns repositories the manifest does not declare;"
			    " delete or move them, then it is deleted: %s",
			    ctx->org, st.message);
			return 0;
		}
		if (st.status == 500 && strstr(st.message, "still has ownership of packages")) {
			pass_fail_msg(
			    ctx, COND_GITEA_ORG, "OrgNotEmpty", REC_PERMANENT,
			    "org %s still owns packages; delete them, then it is deleted: %s",
			    ctx->org, st.message);
			return 0;
		}
		/* fall through */
	default:
		pass_fail_call(ctx, COND_GITEA_ORG, "deleting the Gitea org", &st);
		return 0;
	}
}
