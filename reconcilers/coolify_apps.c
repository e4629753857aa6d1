/* Coolify applications {slug}-{app} in the workspace's project, "production" environment,
 * built from the declared repo, branch, build pack and ports; adopted by name, settings kept
 * in step. Apps are owned: one removed from the spec is deleted upstream.
 *
 * What the specs do not show (../shared/reference/coolify.md, gitea.md), and what is done:
 * - The environment's applications are read from GET /projects/{uuid}/production, one call
 *   per workspace, never the whole team's GET /applications. A production environment
 *   someone deleted or renamed is created again (creates naming it would get 404 forever).
 * - Source: Gitea refuses anonymous clones of every repo of a non-public org
 *   (HasOrgOrUserVisible), so an app is built from the public clone URL only when the org is
 *   public and the repo is not private; otherwise over SSH with the deploy key
 *   (VIBN_COOLIFY_DEPLOY_KEY_UUID), or not at all, saying the key is needed.
 * - Coolify's PATCH cannot change an application's source (private_key_uuid is not among
 *   the fields it takes): a repo whose privacy flips so that its public-source app can no
 *   longer clone needs a new application. vibnd deletes and creates it again only when the
 *   workspace's deletionPolicy is Delete; with Orphan (the default) it destroys nothing and
 *   the condition says what to do. A deploy-key app whose repo became public stays as it is:
 *   the key still clones.
 * - Clone URLs are converted to the forms Coolify takes (reconcilers/clone_url.h).
 * - A server with several Docker destinations needs COOLIFY_DESTINATION_UUID.
 * - DELETE is asynchronous and Coolify has no "deleting" status: one DELETE per app,
 *   remembered with its time (vibn_workspaces.coolify_app_deletes) and waited for across
 *   passes; sent again only when the app is still listed app_delete_resend_ms later. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "common/xmalloc.h"
#include "reconcilers/clone_url.h"
#include "reconcilers/conditions.h"
#include "reconcilers/pass.h"

#define APPS_ENV "production"
/* How soon to look again at apps being deleted: half the time since the DELETE, within these
 * bounds (Coolify's job takes seconds to minutes). */
#define APPS_POLL_MIN_MS 2000
#define APPS_POLL_MAX_MS 30000

/* What one app's step did. APP_WOULD: paused, a change was reported and not made;
 * APP_DELETING: Coolify's delete job is still running; APP_REPLACING: the same, for an app
 * that is then created again. */
enum app_action {
	APP_NONE,
	APP_CREATED,
	APP_RECREATED,
	APP_UPDATED,
	APP_DELETED,
	APP_DELETING,
	APP_REPLACING, /* deleted, to be created again with another source */
	APP_WOULD,
	APP_FAILED,
};

/* One apps pass: what was observed and what is still going on. */
struct apps_pass {
	int observed;             /* apps_observe ran */
	int observe_rc;           /* what it returned */
	struct coolify_apps seen; /* the production environment's applications */
	int env_recreated;        /* production was missing and was created again */
	int64_t poll_ms;          /* > 0: deletions are running; look again after this */
	char replacing[200];      /* apps being deleted to be created again, comma separated */
};

/* The applications of the project's production environment into ap->seen, creating the
 * environment again when it is missing and remake is set (a missing one holds no app
 * either). 0, or -1 (recorded on the condition). */
static int
apps_observe(struct pass *ctx, struct apps_pass *ap, int remake)
{
	struct http_status st;
	enum http_class cls;

	/* A project this pass created has its production environment (Project::booted) and
	 * nothing in it. */
	if (ctx->project_fresh)
		return 0;
	cls = coolify_env_apps(ctx->env->coolify, ctx->project_uuid, APPS_ENV, &ap->seen, &st);
	if (cls == HTTP_OK)
		return 0;
	/* Deleting: a project or environment already gone holds no app. */
	if (cls == HTTP_NOT_FOUND && !remake)
		return 0;
	/* 404 "Environment not found." (404 "Project not found." is another matter). */
	if (cls != HTTP_NOT_FOUND || strcasestr(st.message, "environment not found") == NULL) {
		pass_fail_call(ctx, COND_APPS, "reading the Coolify environment " APPS_ENV, &st);
		return -1;
	}
	/* Deleted or renamed by someone: every create naming it would get 404. */
	if (ctx->dry) {
		pass_would(ctx, COND_APPS,
		           "create the " APPS_ENV
		           " environment again (deleted or renamed in Coolify)");
		return -1;
	}
	cls = coolify_env_create(ctx->env->coolify, ctx->project_uuid, APPS_ENV, NULL, &st);
	if (cls != HTTP_OK && cls != HTTP_CONFLICT) {
		pass_fail_call(ctx, COND_APPS, "creating the " APPS_ENV " environment again", &st);
		return -1;
	}
	ap->env_recreated = 1;
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

static const char *
apps_setting(const char *v)
{
	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Can Coolify clone r without credentials? Gitea shows anonymous readers nothing of a
 * limited or private org (models/organization HasOrgOrUserVisible), whatever the repo's own
 * flag, and no private repo anywhere. */
static int
apps_anonymous(const struct pass *ctx, const struct gitea_repo *r)
{
	return ctx->org_public && !r->private;
}

/* The app was built with the deploy key: vibnd gives those the scp-like SSH URL, and public
 * ones an http(s) URL. */
static int
apps_uses_key(const struct coolify_app *a)
{
	return a->git_repository != NULL && strncmp(a->git_repository, "git@", 4) == 0;
}

/* The git URL to build r from, over SSH or HTTP: a new string, or NULL after recording why
 * Coolify cannot take it. */
static char *
apps_git_url(struct pass *ctx, const char *app, const struct gitea_repo *r, int ssh)
{
	char *cause = NULL;
	char *url = clone_url_for_coolify(ssh ? r->ssh_url : r->clone_url, ssh,
	                                  apps_setting(ctx->env->set->gitea_clone_host), &cause);

	if (url == NULL) {
		pass_fail_msg(ctx, COND_APPS, "CloneURLRejected", REC_PERMANENT, "app %s: %s", app,
		              cause);
		free(cause);
	}
	return url;
}

/* The DELETE of uuid was sent this many ms ago, or -1 when none was. */
static int64_t
apps_delete_age(const struct pass *ctx, const char *uuid)
{
	json_t *v = json_object_get(json_object_get(ctx->ws->app_deletes, uuid), "age_ms");

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static void
apps_poll(struct apps_pass *ap, int64_t age_ms)
{
	int64_t ms = age_ms / 2;

	if (ms < APPS_POLL_MIN_MS)
		ms = APPS_POLL_MIN_MS;
	if (ms > APPS_POLL_MAX_MS)
		ms = APPS_POLL_MAX_MS;
	if (ap->poll_ms == 0 || ms < ap->poll_ms)
		ap->poll_ms = ms;
}

/* Deletes the listed app a (named name) once: APP_DELETING while Coolify's job runs (one
 * DELETE, sent again only when a is still listed app_delete_resend_ms later), APP_DELETED
 * when Coolify no longer has it, APP_WOULD or APP_FAILED (recorded). */
static enum app_action
apps_delete_app(struct pass *ctx, struct apps_pass *ap, const struct coolify_app *a,
                const char *name, const char *why)
{
	int64_t age = apps_delete_age(ctx, a->uuid);
	struct http_status st;
	char what[200];

	if (age >= 0 && age < ctx->env->set->app_delete_resend_ms) {
		apps_poll(ap, age);
		return APP_DELETING;
	}
	if (ctx->dry) {
		pass_would(ctx, COND_APPS, "delete app %s (%s)", name, why);
		return APP_WOULD;
	}
	switch (coolify_app_delete(ctx->env->coolify, a->uuid, &st)) {
	case HTTP_OK:
		pass_record_app_delete(ctx, a->uuid, name);
		pass_event(ctx, EVENTS_NORMAL, "Deleting", "app", name,
		           "deleting %s (%s; Coolify deletes asynchronously)", a->uuid, why);
		apps_poll(ap, 0);
		return APP_DELETING;
	case HTTP_NOT_FOUND:
		return APP_DELETED;
	default:
		snprintf(what, sizeof what, "deleting app %s", name);
		pass_fail_call(ctx, COND_APPS, what, &st);
		return APP_FAILED;
	}
}

/* Forgets the recorded DELETEs of applications Coolify no longer lists: their jobs ran. */
static void
apps_forget_gone(struct pass *ctx, struct apps_pass *ap)
{
	const char **gone = xcalloc(json_object_size(ctx->ws->app_deletes) + 1, sizeof *gone);
	const char *uuid;
	size_t n = 0;
	json_t *v;

	json_object_foreach(ctx->ws->app_deletes, uuid, v)
	{
		if (apps_find(&ap->seen, uuid, "") == NULL)
			gone[n++] = uuid;
	}
	for (size_t i = 0; i < n && !ctx->dry; i++) {
		const char *name = json_string_value(
		    json_object_get(json_object_get(ctx->ws->app_deletes, gone[i]), "name"));

		pass_event(ctx, EVENTS_NORMAL, "Deleted", "app", name ? name : gone[i],
		           "deleted %s (Coolify's delete job ended)", gone[i]);
	}
	if (n > 0 && !ctx->dry)
		pass_forget_app_deletes(ctx, gone, n);
	free(gone);
}

/* r cannot be cloned anonymously and there is no deploy key: said, instead of an app Coolify
 * could create and never clone. */
static enum app_action
apps_key_missing(struct pass *ctx, const struct gitea_repo *r, const char *name)
{
	pass_fail_msg(ctx, COND_APPS, "DeployKeyRequired", REC_PERMANENT,
	              "app %s: repo %s/%s cannot be cloned anonymously (%s), and no deploy key is"
	              " set: set VIBN_COOLIFY_DEPLOY_KEY_UUID to a Coolify private key whose public"
	              " half is an SSH key of the Gitea admin user",
	              name, ctx->org, r->name,
	              ctx->org_public ? "the repo is private" : "the org is not public");
	return APP_FAILED;
}

/* Creates the app d from repo r. */
static enum app_action
apps_create(struct pass *ctx, const struct desired_app *d, const struct gitea_repo *r,
            const char *name)
{
	const struct pass_settings *set = ctx->env->set;
	const char *key = apps_setting(set->coolify_deploy_key_uuid);
	int ssh = !apps_anonymous(ctx, r);
	struct coolify_app made = {0};
	struct http_status st;
	enum http_class cls;
	char what[200], *uuid = NULL, *domains = NULL, *git;

	if (ssh && key == NULL)
		return apps_key_missing(ctx, r, name);
	if ((git = apps_git_url(ctx, name, r, ssh)) == NULL)
		return APP_FAILED;
	if (ctx->dry) {
		pass_would(ctx, COND_APPS, "create app %s", name);
		free(git);
		return APP_WOULD;
	}
	struct coolify_app_spec spec = {
	    .project_uuid = ctx->project_uuid,
	    .server_uuid = set->coolify_server_uuid,
	    .environment_name = APPS_ENV,
	    .destination_uuid = apps_setting(set->coolify_destination_uuid),
	    .git_repository = git,
	    .git_branch = d->branch,
	    .build_pack = d->build_pack,
	    .ports_exposes = d->ports,
	    .name = name,
	};
	cls =
	    ssh ? coolify_app_create_deploy_key(ctx->env->coolify, &spec, key, &uuid, &domains, &st)
	        : coolify_app_create_public(ctx->env->coolify, &spec, &uuid, &domains, &st);
	free(git);
	if (cls == HTTP_INVALID && st.status == 400 &&
	    strstr(st.message, "multiple destinations")) {
		pass_fail_msg(ctx, COND_APPS, "DestinationRequired", REC_PERMANENT,
		              "app %s: Coolify server %s has several Docker destinations: set"
		              " COOLIFY_DESTINATION_UUID to the one apps deploy to (Coolify: %s)",
		              name, set->coolify_server_uuid, st.message);
		return APP_FAILED;
	}
	if (cls != HTTP_OK) {
		snprintf(what, sizeof what, "creating app %s", name);
		pass_fail_call(ctx, COND_APPS, what, &st);
		return APP_FAILED;
	}
	/* The domains Coolify generated, shown with the app (projects API); recorded with the
	 * uuid in one statement, so that an app with a uuid has its domains too. The create's
	 * answer has them; older Coolify answered them null, and the app is read for them. */
	if (domains == NULL && coolify_app_get(ctx->env->coolify, uuid, &made, &st) == HTTP_OK) {
		domains = made.fqdn;
		made.fqdn = NULL;
	}
	pass_record_app(ctx, d, uuid, domains); /* none known: kept as recorded */
	coolify_app_free(&made);
	free(domains);
	free(uuid);
	/* A recorded app that is gone was deleted upstream: it is back. */
	return d->coolify_app_uuid != NULL ? APP_RECREATED : APP_CREATED;
}

/* The app a was built from the public source, and r can no longer be cloned anonymously:
 * with deletionPolicy Delete it is deleted (then created again with the deploy key by a
 * later pass, once Coolify has removed it); with Orphan the condition says what to do. */
static enum app_action
apps_change_source(struct pass *ctx, struct apps_pass *ap, const struct coolify_app *a,
                   const struct gitea_repo *r, const char *name)
{
	enum app_action act;
	size_t n = strlen(ap->replacing);

	if (apps_setting(ctx->env->set->coolify_deploy_key_uuid) == NULL)
		return apps_key_missing(ctx, r, name);
	if (strcmp(ctx->ws->deletion_policy, "Delete") != 0) {
		pass_fail_msg(
		    ctx, COND_APPS, "SourceChangeNeeded", REC_PERMANENT,
		    "app %s was built from the public source, and repo %s/%s can no longer"
		    " be cloned anonymously; Coolify cannot change an application's source,"
		    " so it needs a new application: delete %s (%s) in Coolify and it is"
		    " created again with the deploy key, or set deletionPolicy: Delete to"
		    " let vibnd do it",
		    name, ctx->org, r->name, name, a->uuid);
		return APP_FAILED;
	}
	act = apps_delete_app(ctx, ap, a, name, "its source must change to the deploy key");
	if (act != APP_DELETING)
		return act;
	snprintf(ap->replacing + n, sizeof ap->replacing - n, "%s%s", n ? ", " : "", name);
	return APP_REPLACING;
}

static enum app_action
apps_converge_one(struct pass *ctx, struct apps_pass *ap, const struct desired_app *d)
{
	const struct gitea_repo *repo = apps_repo(ctx, d->repo);
	char *name = desired_coolify_app_name(ctx->ws->slug, d->name);
	struct coolify_app *a = apps_find(&ap->seen, d->coolify_app_uuid, name);
	struct coolify_app_patch patch = {0};
	enum app_action act = APP_NONE;
	struct http_status st;
	char what[200], *git = NULL;

	if (repo == NULL) {
		pass_fail_msg(ctx, COND_APPS, "RepoMissing", REC_TRANSIENT,
		              "app %s: repo %s is not in the org yet", d->name, d->repo);
		act = APP_FAILED;
		goto out;
	}
	if (a == NULL) {
		act = apps_create(ctx, d, repo, name);
		goto out;
	}
	if (d->coolify_app_uuid == NULL || strcmp(d->coolify_app_uuid, a->uuid) != 0)
		pass_event(ctx, EVENTS_NORMAL, "Adopted", "app", name,
		           "an application with this name existed; adopted %s", a->uuid);
	pass_record_app(ctx, d, a->uuid, a->fqdn);
	if (!apps_uses_key(a) && !apps_anonymous(ctx, repo)) {
		act = apps_change_source(ctx, ap, a, repo, name);
		goto out;
	}
	/* Its source stays what it is: a deploy-key app of a repo now public still clones. */
	if ((git = apps_git_url(ctx, name, repo, apps_uses_key(a))) == NULL) {
		act = APP_FAILED;
		goto out;
	}
	if (!util_str_eq_empty(a->git_repository, git))
		patch.git_repository = git;
	if (!util_str_eq_empty(a->git_branch, d->branch))
		patch.git_branch = d->branch;
	if (!util_str_eq_empty(a->build_pack, d->build_pack))
		patch.build_pack = d->build_pack;
	if (!util_str_eq_empty(a->ports_exposes, d->ports))
		patch.ports_exposes = d->ports;
	if (!patch.git_repository && !patch.git_branch && !patch.build_pack && !patch.ports_exposes)
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
out:
	free(git);
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

/* Deletes the app named name if Coolify lists it. */
static enum app_action
apps_delete_one(struct pass *ctx, struct apps_pass *ap, const char *name, const char *why)
{
	struct coolify_app *a = apps_find(&ap->seen, NULL, name);

	return a == NULL ? APP_DELETED : apps_delete_app(ctx, ap, a, name, why);
}

/* Sets the requeue for running deletions: sooner than any other requeue. */
static void
apps_requeue(struct pass *ctx, const struct apps_pass *ap)
{
	if (ap->poll_ms > 0 &&
	    (ctx->out.requeue_after_ms == 0 || ctx->out.requeue_after_ms > ap->poll_ms))
		ctx->out.requeue_after_ms = ap->poll_ms;
}

struct apps_tally {
	size_t created, recreated, updated, deleted, pending, replacing, would, failed;
};

static void
apps_count(struct apps_tally *t, enum app_action act)
{
	switch (act) {
	case APP_CREATED:
		t->created++;
		break;
	case APP_RECREATED:
		t->recreated++;
		break;
	case APP_UPDATED:
		t->updated++;
		break;
	case APP_DELETED:
		t->deleted++;
		break;
	case APP_DELETING:
		t->pending++;
		break;
	case APP_REPLACING:
		t->replacing++;
		break;
	case APP_WOULD:
		t->would++;
		break;
	case APP_FAILED:
		t->failed++;
		break;
	case APP_NONE:
		break;
	}
}

/* The Normal event of a converged app's change (failures record their own Warning). */
static void
apps_event(struct pass *ctx, const struct desired_app *d, const char *name, enum app_action act)
{
	switch (act) {
	case APP_CREATED:
	case APP_RECREATED:
		pass_event(ctx, EVENTS_NORMAL, act == APP_CREATED ? "Created" : "Recreated", "app",
		           name, "%sfrom repo %s, branch %s",
		           act == APP_CREATED ? "created " : "deleted upstream; created again ",
		           d->repo, d->branch);
		break;
	case APP_UPDATED:
		pass_event(ctx, EVENTS_NORMAL, "Updated", "app", name,
		           "settings edited back to the spec");
		break;
	default:
		break;
	}
}

static void
apps_report(struct pass *ctx, const struct apps_pass *ap, const struct apps_tally *t)
{
	const struct desired_ws *ws = ctx->ws;
	char note[160] = "";

	if (ap->env_recreated)
		snprintf(note, sizeof note,
		         "; environment " APPS_ENV
		         " was missing (deleted or renamed in Coolify) and"
		         " was created again");
	else if (t->deleted)
		snprintf(note, sizeof note, "; removed apps deleted");
	pass_cond(ctx, COND_APPS, 1,
	          t->recreated || ap->env_recreated ? "Recreated"
	          : t->created                      ? "Created"
	          : t->updated                      ? "Updated"
	          : t->deleted                      ? "Deleted"
	                                            : "UpToDate",
	          "%zu app%s in sync%s", ws->napps, ws->napps == 1 ? "" : "s", note);
}

void
coolify_apps_observe(struct pass *ctx)
{
	const struct desired_ws *ws = ctx->ws;

	if ((ws->napps == 0 && ws->napp_names == 0) || ctx->project_uuid == NULL ||
	    ctx->apps != NULL)
		return;
	ctx->apps = xcalloc(1, sizeof *ctx->apps);
	ctx->apps->observe_rc = apps_observe(ctx, ctx->apps, 1);
	ctx->apps->observed = 1;
}

void
coolify_apps_pass_free(struct pass *ctx)
{
	if (ctx->apps == NULL)
		return;
	coolify_apps_free(&ctx->apps->seen);
	free(ctx->apps);
	ctx->apps = NULL;
}

/* The apps step. What coolify_apps_observe read (ctx->apps) is used when it was read for the
 * project in use; else the environment is read now. */
void
coolify_apps_reconcile(struct pass *ctx)
{
	const struct desired_ws *ws = ctx->ws;
	struct apps_pass *early = ctx->apps, ap = {0};
	struct apps_tally t = {0};
	char **owned;

	if (early != NULL) {
		ap = *early;
		free(early);
		ctx->apps = NULL;
	}

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
	if (!ap.observed)
		ap.observe_rc = apps_observe(ctx, &ap, 1);
	if (ap.observe_rc != 0)
		goto out;
	apps_forget_gone(ctx, &ap);
	for (size_t i = 0; i < ws->napps; i++) {
		char *name = desired_coolify_app_name(ws->slug, ws->apps[i].name);
		enum app_action act;

		pass_object(ctx, "app", "%s", name);
		act = apps_converge_one(ctx, &ap, &ws->apps[i]);
		apps_count(&t, act);
		apps_event(ctx, &ws->apps[i], name, act);
		free(name);
	}
	for (size_t i = 0; i < ws->napp_names; i++) {
		if (apps_declared(ws, ws->app_names[i]))
			continue;
		pass_object(ctx, "app", "%s", ws->app_names[i]);
		apps_count(&t,
		           apps_delete_one(ctx, &ap, ws->app_names[i], "removed from the spec"));
	}
	pass_object_clear(ctx);
	apps_requeue(ctx, &ap);
	/* The condition already says what failed, or what a paused workspace would do. */
	if (t.failed > 0 || t.would > 0)
		goto out;
	if (t.replacing > 0) {
		pass_cond(
		    ctx, COND_APPS, 0, "Deleting",
		    "deleting %s to create %s again with the deploy key (the repo can no longer"
		    " be cloned anonymously, and Coolify cannot change an application's source;"
		    " deletionPolicy Delete)",
		    ap.replacing, t.replacing == 1 ? "it" : "them");
		goto out;
	}
	if (t.pending > 0) {
		/* Keep owning what is still being deleted. */
		pass_cond(ctx, COND_APPS, 0, "Deleting",
		          "%zu removed app%s still being deleted by Coolify", t.pending,
		          t.pending == 1 ? "" : "s");
		goto out;
	}
	owned = xcalloc(ws->napps + 1, sizeof *owned);
	for (size_t i = 0; i < ws->napps; i++)
		owned[i] = desired_coolify_app_name(ws->slug, ws->apps[i].name);
	pass_record_app_names(ctx, owned, ws->napps);
	for (size_t i = 0; i < ws->napps; i++)
		free(owned[i]);
	free(owned);
	apps_report(ctx, &ap, &t);
out:
	coolify_apps_free(&ap.seen);
}

int
coolify_apps_delete(struct pass *ctx)
{
	const struct desired_ws *ws = ctx->ws;
	struct apps_pass ap = {0};
	int done = 1;

	if (ctx->project_uuid == NULL || (ws->napps == 0 && ws->napp_names == 0))
		return 1;
	if (apps_observe(ctx, &ap, 0) != 0)
		return 0;
	apps_forget_gone(ctx, &ap);
	for (size_t i = 0; i < ws->napp_names + ws->napps; i++) {
		char *name =
		    i < ws->napp_names
		        ? xstrdup(ws->app_names[i])
		        : desired_coolify_app_name(ws->slug, ws->apps[i - ws->napp_names].name);

		pass_object(ctx, "app", "%s", name);
		if (apps_delete_one(ctx, &ap, name, "the workspace is deleted") != APP_DELETED)
			done = 0;
		free(name);
	}
	pass_object_clear(ctx);
	apps_requeue(ctx, &ap);
	coolify_apps_free(&ap.seen);
	return done;
}
