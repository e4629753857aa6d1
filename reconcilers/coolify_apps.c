/* Coolify applications {slug}-{app} in the workspace's project, "production" environment,
 * built from the declared repo's clone URL, branch, build pack and ports; adopted by name,
 * settings kept in step. Apps are owned: one removed from the spec is deleted upstream,
 * waiting for Coolify's asynchronous delete. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "common/xmalloc.h"
#include "reconcilers/conditions.h"
#include "reconcilers/pass.h"

#define APPS_ENV "production"

/* The apps of the project's production environment (a new list in *out). */
static int
apps_observe(struct pass *ctx, struct coolify_apps *out)
{
	struct coolify_apps all = {0};
	struct http_status st;

	memset(out, 0, sizeof *out);
	if (ctx->project_fresh)
		return 0;
	if (ctx->prod_env_id == 0) {
		struct coolify_project p = {0};

		if (coolify_project_get(ctx->env->coolify, ctx->project_uuid, &p, &st) != HTTP_OK) {
			pass_fail_call(ctx, COND_APPS, "reading the Coolify project", &st);
			return -1;
		}
		for (size_t i = 0; i < p.envs.n; i++)
			if (p.envs.v[i].name != NULL && strcmp(p.envs.v[i].name, APPS_ENV) == 0)
				ctx->prod_env_id = p.envs.v[i].id;
		coolify_project_free(&p);
		if (ctx->prod_env_id == 0)
			return 0; /* no environment yet: no apps either */
	}
	if (coolify_app_list(ctx->env->coolify, NULL, &all, &st) != HTTP_OK) {
		pass_fail_call(ctx, COND_APPS, "listing Coolify applications", &st);
		return -1;
	}
	out->v = xcalloc(all.n + 1, sizeof *out->v);
	for (size_t i = 0; i < all.n; i++) {
		if (all.v[i].environment_id != ctx->prod_env_id)
			continue;
		out->v[out->n++] = all.v[i];
		memset(&all.v[i], 0, sizeof all.v[i]);
	}
	coolify_apps_free(&all);
	return 0;
}

static struct coolify_app *
apps_find(struct coolify_apps *l, const char *uuid, const char *name)
{
	for (size_t i = 0; uuid != NULL && i < l->n; i++)
		if (l->v[i].uuid != NULL && strcmp(l->v[i].uuid, uuid) == 0)
			return &l->v[i];
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].name != NULL && strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

static const struct gitea_repo *
apps_repo(struct pass *ctx, const char *name)
{
	for (size_t i = 0; i < ctx->repos.n; i++)
		if (strcasecmp(ctx->repos.v[i].name, name) == 0)
			return &ctx->repos.v[i];
	return NULL;
}

/* The git URL Coolify builds from: SSH with the deploy key for private repos when one is
 * configured, the HTTP clone URL otherwise. */
static const char *
apps_git_url(struct pass *ctx, const struct gitea_repo *r, int *deploy_key)
{
	*deploy_key = r->private && ctx->env->set->coolify_deploy_key_uuid != NULL &&
	              ctx->env->set->coolify_deploy_key_uuid[0] != '\0' && r->ssh_url != NULL;
	return *deploy_key ? r->ssh_url : r->clone_url;
}

/* What one app's step did. APP_WOULD: paused, a change was reported and not made;
 * APP_DELETING: Coolify's delete job is still running. */
enum app_action {
	APP_NONE,
	APP_CREATED,
	APP_UPDATED,
	APP_DELETED,
	APP_DELETING,
	APP_WOULD,
	APP_FAILED,
};

static enum app_action
apps_converge_one(struct pass *ctx, const struct desired_app *d, struct coolify_apps *seen)
{
	const struct gitea_repo *repo = apps_repo(ctx, d->repo);
	char *name = desired_coolify_app_name(ctx->ws->slug, d->name);
	struct coolify_app *a = apps_find(seen, d->coolify_app_uuid, name);
	enum app_action act = APP_NONE;
	struct coolify_app made = {0};
	struct http_status st;
	char what[200], *uuid = NULL;
	const char *git;
	int deploy_key;

	if (repo == NULL) {
		pass_fail_msg(ctx, COND_APPS, "RepoMissing", REC_TRANSIENT,
		              "app %s: repo %s is not in the org yet", d->name, d->repo);
		act = APP_FAILED;
		goto out;
	}
	git = apps_git_url(ctx, repo, &deploy_key);
	if (a != NULL) {
		struct coolify_app_patch patch = {0};

		if (!util_str_eq_empty(a->git_repository, git))
			patch.git_repository = git;
		if (!util_str_eq_empty(a->git_branch, d->branch))
			patch.git_branch = d->branch;
		if (!util_str_eq_empty(a->build_pack, d->build_pack))
			patch.build_pack = d->build_pack;
		if (!util_str_eq_empty(a->ports_exposes, d->ports))
			patch.ports_exposes = d->ports;
		if (d->coolify_app_uuid == NULL || strcmp(d->coolify_app_uuid, a->uuid) != 0) {
			pass_record_app_uuid(ctx, d->name, a->uuid);
			pass_event(ctx, EVENTS_NORMAL, "Adopted", "app", name,
			           "an application with this name existed; adopted %s", a->uuid);
		}
		if (a->fqdn != NULL)
			pass_record_app_domains(ctx, d, a->fqdn);
		if (!patch.git_repository && !patch.git_branch && !patch.build_pack &&
		    !patch.ports_exposes)
			goto out;
		if (ctx->dry) {
			pass_would(ctx, COND_APPS, "update app %s", name);
			act = APP_WOULD;
		} else if (coolify_app_update(ctx->env->coolify, a->uuid, &patch, &st) != HTTP_OK) {
			snprintf(what, sizeof what, "updating app %s", name);
			pass_fail_call(ctx, COND_APPS, what, &st);
			act = APP_FAILED;
		} else {
			act = APP_UPDATED;
		}
		goto out;
	}
	if (ctx->dry) {
		pass_would(ctx, COND_APPS, "create app %s", name);
		act = APP_WOULD;
		goto out;
	}
	struct coolify_app_spec spec = {
	    .project_uuid = ctx->project_uuid,
	    .server_uuid = ctx->env->set->coolify_server_uuid,
	    .environment_name = APPS_ENV,
	    .git_repository = git,
	    .git_branch = d->branch,
	    .build_pack = d->build_pack,
	    .ports_exposes = d->ports,
	    .name = name,
	};
	enum http_class cls =
	    deploy_key
	        ? coolify_app_create_deploy_key(ctx->env->coolify, &spec,
	                                        ctx->env->set->coolify_deploy_key_uuid, &uuid, &st)
	        : coolify_app_create_public(ctx->env->coolify, &spec, &uuid, &st);
	if (cls != HTTP_OK) {
		snprintf(what, sizeof what, "creating app %s", name);
		pass_fail_call(ctx, COND_APPS, what, &st);
		act = APP_FAILED;
		goto out;
	}
	/* The domains Coolify generated, shown with the app (projects API); recorded before the
	 * uuid, so that an app with a uuid has its domains too. */
	if (coolify_app_get(ctx->env->coolify, uuid, &made, &st) == HTTP_OK && made.fqdn != NULL)
		pass_record_app_domains(ctx, d, made.fqdn);
	pass_record_app_uuid(ctx, d->name, uuid);
	act = APP_CREATED;
out:
	coolify_app_free(&made);
	free(uuid);
	free(name);
	return act;
}

static int
apps_declared(const struct desired_ws *ws, const char *upstream_name)
{
	for (size_t i = 0; i < ws->napps; i++) {
		char *n = desired_coolify_app_name(ws->slug, ws->apps[i].name);
		int same = strcmp(n, upstream_name) == 0;

		free(n);
		if (same)
			return 1;
	}
	return 0;
}

/* Deletes an app (if present) and waits a while for Coolify to finish: APP_DELETED (gone),
 * APP_DELETING (still going: requeue), APP_WOULD or APP_FAILED (recorded). */
static enum app_action
apps_delete_one(struct pass *ctx, struct coolify_apps *seen, const char *name)
{
	struct coolify_app *a = apps_find(seen, NULL, name);
	struct http_status st;
	char what[200];
	enum http_class cls;
	int issued = 0;

	if (a == NULL)
		return APP_DELETED;
	if (ctx->dry) {
		pass_would(ctx, COND_APPS, "delete app %s (removed from the spec)", name);
		return APP_WOULD;
	}
	if (a->status == NULL || strcmp(a->status, "deleting") != 0) {
		issued = 1;
		cls = coolify_app_delete(ctx->env->coolify, a->uuid, &st);
		if (cls != HTTP_OK && cls != HTTP_NOT_FOUND) {
			snprintf(what, sizeof what, "deleting app %s", name);
			pass_fail_call(ctx, COND_APPS, what, &st);
			return APP_FAILED;
		}
	}
	cls = coolify_app_wait_gone(ctx->env->coolify, a->uuid,
	                            util_now_ms() + ctx->env->set->app_delete_wait_ms, &st);
	if (cls == HTTP_OK) {
		pass_event(ctx, EVENTS_NORMAL, "Deleted", "app", name, "deleted %s", a->uuid);
		return APP_DELETED;
	}
	if (cls == HTTP_TRANSIENT && st.status == 200 && issued)
		pass_event(ctx, EVENTS_NORMAL, "Deleting", "app", name,
		           "deleting %s (Coolify deletes asynchronously)", a->uuid);
	if (cls == HTTP_TRANSIENT && st.status == 200)
		return APP_DELETING;
	snprintf(what, sizeof what, "waiting for app %s to go", name);
	pass_fail_call(ctx, COND_APPS, what, &st);
	return APP_FAILED;
}

void
coolify_apps_reconcile(struct pass *ctx)
{
	const struct desired_ws *ws = ctx->ws;
	struct coolify_apps seen = {0};
	size_t created = 0, updated = 0, would = 0, failed = 0, deleted = 0, pending = 0;
	char **owned;

	if (ws->napps == 0 && ws->napp_names == 0) {
		pass_cond(ctx, COND_APPS, 1, "UpToDate", "no apps declared");
		return;
	}
	if (ctx->project_uuid == NULL) {
		pass_cond(ctx, COND_APPS, 0, "ProjectNotReady", "waiting for the Coolify project");
		return;
	}
	if (ws->napps > 0 && !ctx->repos_known) {
		pass_cond(ctx, COND_APPS, 0, "WaitingForRepos", "waiting for the Gitea repos");
		return;
	}
	if (apps_observe(ctx, &seen) != 0)
		return;
	for (size_t i = 0; i < ws->napps + ws->napp_names; i++) {
		enum app_action act;

		if (i < ws->napps) {
			char *name = desired_coolify_app_name(ws->slug, ws->apps[i].name);

			pass_object(ctx, "app", "%s", name);
			free(name);
			act = apps_converge_one(ctx, &ws->apps[i], &seen);
		} else if (apps_declared(ws, ws->app_names[i - ws->napps])) {
			continue;
		} else {
			pass_object(ctx, "app", "%s", ws->app_names[i - ws->napps]);
			act = apps_delete_one(ctx, &seen, ws->app_names[i - ws->napps]);
		}
		switch (act) {
		case APP_CREATED:
			created++;
			pass_event(ctx, EVENTS_NORMAL, "Created", "app", ctx->obj_name,
			           "created from repo %s, branch %s", ws->apps[i].repo,
			           ws->apps[i].branch);
			break;
		case APP_UPDATED:
			updated++;
			pass_event(ctx, EVENTS_NORMAL, "Updated", "app", ctx->obj_name,
			           "settings edited back to the spec");
			break;
		case APP_DELETED:
			deleted++;
			break;
		case APP_DELETING:
			pending++;
			break;
		case APP_WOULD:
			would++;
			break;
		case APP_FAILED:
			failed++;
			break;
		case APP_NONE:
			break;
		}
	}
	pass_object_clear(ctx);
	coolify_apps_free(&seen);
	/* The condition already says what failed, or what a paused workspace would do. */
	if (failed > 0 || would > 0)
		return;
	if (pending > 0) {
		/* Keep owning what is still being deleted; look again soon. */
		pass_cond(ctx, COND_APPS, 0, "Deleting", "%zu removed app%s still being deleted",
		          pending, pending == 1 ? "" : "s");
		if (ctx->out.requeue_after_ms == 0 || ctx->out.requeue_after_ms > 2000)
			ctx->out.requeue_after_ms = 2000;
		return;
	}
	owned = xcalloc(ws->napps + 1, sizeof *owned);
	for (size_t i = 0; i < ws->napps; i++)
		owned[i] = desired_coolify_app_name(ws->slug, ws->apps[i].name);
	pass_record_app_names(ctx, owned, ws->napps);
	for (size_t i = 0; i < ws->napps; i++)
		free(owned[i]);
	free(owned);
	pass_cond(ctx, COND_APPS, 1,
	          created   ? "Created"
	          : updated ? "Updated"
	          : deleted ? "Deleted"
	                    : "UpToDate",
	          "%zu app%s in sync%s", ws->napps, ws->napps == 1 ? "" : "s",
	          deleted ? "; removed apps deleted" : "");
}

int
coolify_apps_delete(struct pass *ctx)
{
	const struct desired_ws *ws = ctx->ws;
	struct coolify_apps seen = {0};
	int done = 1;

	if (ctx->project_uuid == NULL || (ws->napps == 0 && ws->napp_names == 0))
		return 1;
	if (apps_observe(ctx, &seen) != 0)
		return 0;
	for (size_t i = 0; i < ws->napp_names + ws->napps; i++) {
		char *name =
		    i < ws->napp_names
		        ? xstrdup(ws->app_names[i])
		        : desired_coolify_app_name(ws->slug, ws->apps[i - ws->napp_names].name);

		pass_object(ctx, "app", "%s", name);
		if (apps_delete_one(ctx, &seen, name) != APP_DELETED)
			done = 0;
		free(name);
	}
	pass_object_clear(ctx);
	coolify_apps_free(&seen);
	return done;
}
