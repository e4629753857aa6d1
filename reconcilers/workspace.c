#include "workspace.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "clients/db.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "reconcilers/branch.h"
#include "reconcilers/conditions.h"
#include "reconcilers/events.h"

static const char *const workspace_parts[] = {COND_COOLIFY_PROJECT, COND_GITEA_ORG, COND_MEMBERS,
                                              COND_REPOS,           COND_WEBHOOK,   COND_APPS};

/* Ready summarizes the six: True when all are, else the first that is not. */
static void
workspace_ready(struct pass *ctx)
{
	for (size_t i = 0; i < sizeof workspace_parts / sizeof workspace_parts[0]; i++) {
		json_t *c = conditions_find(ctx->conds, workspace_parts[i]);
		const char *reason, *msg;

		if (conditions_is_true(ctx->conds, workspace_parts[i]))
			continue;
		reason = c ? json_string_value(json_object_get(c, "reason")) : "Pending";
		msg = c ? json_string_value(json_object_get(c, "message")) : "";
		pass_cond(ctx, COND_READY, 0, reason ? reason : "Pending", "%s: %s",
		          workspace_parts[i], msg ? msg : "");
		return;
	}
	pass_cond(ctx, COND_READY, 1, "Ready", "workspace %s is ready", ctx->ws->slug);
}

static const char *
workspace_provision_status(struct pass *ctx)
{
	if (ctx->ws->deleted)
		return "deleting";
	if (conditions_is_true(ctx->conds, COND_READY))
		return "ready";
	if (ctx->out.cls != REC_OK)
		return "error";
	return "provisioning";
}

/* Whether the status this pass computed is the one loaded. */
static int
workspace_status_same(struct pass *ctx, const char *status, const char *last_error, const char *org)
{
	const struct desired_ws *ws = ctx->ws;
	int hook_same = ctx->hook_id == 0 ||
	                (ctx->hook_id == ws->gitea_hook_id &&
	                 util_str_eq_null(ctx->hook_secret_sha, ws->gitea_hook_secret_sha256));

	return json_equal(ctx->conds, ws->conditions) &&
	       ws->observed_generation == ws->generation &&
	       util_str_eq_null(status, ws->provision_status) &&
	       util_str_eq_null(last_error, ws->last_error) &&
	       util_str_eq_null(org, ws->gitea_org) && hook_same;
}

/* The end of a pass: its status when it differs from what was loaded, what it found of the
 * resources it made (pass_records_take) and its events, in one statement (one round trip,
 * one commit); a steady state writes nothing. */
static void
workspace_write_status(struct pass *ctx)
{
	const struct desired_ws *ws = ctx->ws;
	const char *status = workspace_provision_status(ctx);
	const char *last_error = ctx->out.message[0] ? ctx->out.message : NULL;
	const char *org = ctx->gitea_org ? ctx->gitea_org : ws->gitea_org;
	int write = !workspace_status_same(ctx, status, last_error, org);
	char *records = pass_records_take(ctx), *events = pass_events_take(ctx);
	char gen[32], hook[32], *conds = NULL, *cause = NULL;
	struct events_params ep;
	const char *params[15];

	if (!write && records == NULL && events == NULL)
		return;
	snprintf(gen, sizeof gen, "%lld", ws->generation);
	snprintf(hook, sizeof hook, "%lld", (long long)ctx->hook_id);
	if (write)
		conds = conditions_dump(ctx->conds);
	events_params(&ctx->env->set->events, &ep);
	params[0] = ws->id;
	params[1] = write ? "t" : "f";
	params[2] = conds;
	params[3] = gen;
	params[4] = status;
	params[5] = last_error;
	params[6] = org;
	/* The hook's record changes only when this pass gave a hook its secret. */
	params[7] = write && ctx->hook_id != 0 ? hook : NULL;
	params[8] = write && ctx->hook_id != 0 ? ctx->hook_secret_sha : NULL;
	params[9] = records;
	params[10] = events;
	params[11] = ctx->env->reconcile_id;
	params[12] = ep.window;
	params[13] = ep.keep;
	params[14] = ep.retention;
	if (rec_db_command(ctx->env->db,
	                   "SELECT vibn_workspace_finish($1::uuid, $2::boolean, $3::jsonb,"
	                   " $4::bigint, $5, $6, $7, $8::bigint, $9, $10::jsonb, $11::jsonb, $12,"
	                   " $13::interval, $14::integer, $15::interval)",
	                   15, params, &cause) != 0) {
		log_warn("writing the status of workspace %s%s: %s", ws->slug,
		         events ? " and the pass's events" : "", cause);
		if (ctx->out.cls < REC_TRANSIENT)
			ctx->out.cls = REC_TRANSIENT;
		free(cause);
	}
	free(records);
	free(events);
	free(conds);
}

static void
workspace_remove_row(struct pass *ctx)
{
	const char *params[1] = {ctx->ws->id};
	char *cause = NULL;

	pass_events_flush(ctx); /* kept while the row is: they go with it */
	if (rec_db_command(ctx->env->db,
	                   "DELETE FROM vibn_workspaces WHERE id = $1 AND deleted_at IS NOT NULL",
	                   1, params, &cause) != 0) {
		pass_fail_msg(ctx, COND_READY, "Deleting", REC_TRANSIENT,
		              "removing the workspace row: %s", cause);
		free(cause);
	}
}

/* deletionPolicy Delete: apps (waiting for Coolify), declared repos, the org, the project,
 * in an order the upstreams accept; then the row. Orphan: the row only. */
static int
workspace_delete(struct pass *ctx)
{
	int apps, repos, org = 0, project = 0;

	if (strcmp(ctx->ws->deletion_policy, "Delete") != 0) {
		workspace_remove_row(ctx);
		return 1;
	}
	if (ctx->dry) {
		pass_cond(ctx, COND_READY, 0, "Paused",
		          "deletion waits while the workspace is paused");
		return 0;
	}
	free(ctx->project_uuid);
	ctx->project_uuid = xstrdup(ctx->ws->coolify_project_uuid);
	apps = coolify_apps_delete(ctx);
	repos = gitea_repos_delete(ctx);
	/* Repos the API asked to delete go first too: Gitea deletes no org that owns repos. */
	repos = gitea_reap_reconcile(ctx) && repos;
	if (repos)
		org = gitea_org_delete_all(ctx);
	if (apps)
		project = coolify_project_delete_all(ctx);
	if (apps && repos && org && project) {
		workspace_remove_row(ctx);
		return 1;
	}
	pass_cond(ctx, COND_READY, 0, "Deleting",
	          "deleting upstream resources (deletionPolicy Delete)");
	if (ctx->out.cls == REC_OK && ctx->out.requeue_after_ms == 0)
		ctx->out.requeue_after_ms = 2000;
	return 0;
}

/* Every upstream call of the pass ends by deadline_ms (0: none) and while the lease is
 * ours, and is interactive or background work for the budgets: a drift sweep yields to
 * signups and webhooks. */
/* Deadline, lease fence and priority of one client's requests. */
static void
workspace_client_set(struct http_client *c, int64_t deadline_ms, const _Atomic int64_t *fence,
                     enum http_priority prio)
{
	http_client_set_deadline(c, deadline_ms);
	http_client_set_fence(c, fence);
	http_client_set_priority(c, prio);
}

static void
workspace_set_deadline(struct pass_env *env, int64_t deadline_ms)
{
	enum http_priority prio = env->sweep ? HTTP_PRIO_BACKGROUND : HTTP_PRIO_INTERACTIVE;
	const _Atomic int64_t *fence = deadline_ms > 0 ? env->lease_until_ms : NULL;

	workspace_client_set(gitea_http(env->gitea), deadline_ms, fence, prio);
	workspace_client_set(coolify_http(env->coolify), deadline_ms, fence, prio);
	for (int i = 0; i < 2; i++)
		if (env->gitea_more[i] != NULL)
			workspace_client_set(gitea_http(env->gitea_more[i]), deadline_ms, fence,
			                     prio);
}

/* Independent steps run at once, each on a branch (branch.h) with its own client: the
 * Coolify side beside the Gitea side, and on the Gitea side, once the org is there, the
 * repos and the hook beside the members. A request hanging on one (until its timeout, and
 * its retry) costs the others nothing, and the apps step, which needs the repos and the
 * project, starts when they are done. The Coolify branch uses only the Coolify client, which
 * no other step uses meanwhile. */
/* The project, then its apps read: their read waits beside the Gitea side (the apps step,
 * which needs the repos as well, uses it). */
static void
workspace_project_step(struct pass *ctx, void *arg)
{
	(void)arg;
	coolify_project_reconcile(ctx);
	coolify_apps_observe(ctx);
}

static void
workspace_hook_step(struct pass *ctx, void *arg)
{
	(void)arg;
	gitea_hook_reconcile(ctx);
}

/* The repos, then the undeclared ones reaped (it reads what the repos step observed). */
static void
workspace_repos_step(struct pass *ctx, void *arg)
{
	(void)arg;
	gitea_repos_reconcile(ctx);
	(void)gitea_reap_reconcile(ctx);
}

/* Whether the repos and apps steps have nothing to call upstream: none declared, none
 * owned, no deletion asked for. */
static int
workspace_repos_idle(const struct desired_ws *ws)
{
	return ws->nrepos == 0 && ws->nrepo_deletions == 0 && ws->napps == 0 && ws->napp_names == 0;
}

/* The desired state, on a connection taken for the one query. */
static int
workspace_load(struct pass_env *env, const char *ws_id, struct desired_ws **ws, char **cause)
{
	PGconn *db = rec_db_take(env->db, cause);
	int rc;

	if (db == NULL)
		return -1;
	rc = desired_load_for_pass(db, ws_id, ws, cause);
	rec_db_give(env->db, db);
	return rc;
}

static void
workspace_ctx_free(struct pass *ctx)
{
	json_decref(ctx->failures);
	json_decref(ctx->events);
	json_decref(ctx->records);
	json_decref(ctx->conds);
	free(ctx->org);
	free(ctx->project_name);
	free(ctx->project_uuid);
	free(ctx->gitea_org);
	free(ctx->obj_kind);
	free(ctx->obj_name);
	gitea_repos_free(&ctx->repos);
	coolify_apps_pass_free(ctx);
}

int
workspace_reconcile(struct pass_env *env, const char *ws_id, struct rec_result *out)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct desired_ws *ws = NULL;
	struct branch coolify, repos, hook;
	struct pass ctx;
	char *cause = NULL;
	int64_t started_ms = util_now_ms();
	int beside, repos_beside;

	memset(out, 0, sizeof *out);
	if (workspace_load(env, ws_id, &ws, &cause) != 0) {
		out->cls = REC_TRANSIENT;
		snprintf(out->message, sizeof out->message, "loading the workspace: %s", cause);
		free(cause);
		return -1;
	}
	if (ws == NULL)
		return 0; /* removed meanwhile: nothing to converge */
	memset(&ctx, 0, sizeof ctx);
	ctx.env = env;
	ctx.ws = ws;
	ctx.started_ms = started_ms;
	ctx.conds = json_deep_copy(ws->conditions);
	ctx.failures = json_object();
	ctx.events = json_array();
	ctx.records = json_object();
	ctx.lock = &lock;
	ctx.dry = ws->paused;
	ctx.org = desired_gitea_org_name(ws->slug);
	ctx.project_name = desired_coolify_project_name(ws->slug);
	conditions_now(ctx.now);
	workspace_set_deadline(env, util_now_ms() + env->set->timeout_ms);

	if (ws->deleted) {
		if (workspace_delete(&ctx)) {
			*out = ctx.out;
			goto done;
		}
	} else {
		/* Two independent sides at once: a failure (or a hang) of one never stops the
		 * other. Within the Gitea side, members, repos and the hook need only the org:
		 * once it is there they run at once (each goes on when another fails). The
		 * critical path of a full workspace: the org, then the slower of the members
		 * and the repos followed by the apps (the project beside the org). */
		branch_start(&ctx, &coolify, workspace_project_step, NULL, NULL);
		gitea_org_reconcile(&ctx);
		/* The hook beside the members once the org is there; the repos and then the
		 * apps (which need the repos' clone URLs and the project) on a branch of their
		 * own too, once the Coolify side is done, unless they have nothing to call (a
		 * signup's workspace). Without the extra clients, one after another. */
		beside = ctx.org_ready && env->gitea_more[1] != NULL;
		repos_beside = beside && env->gitea_more[0] != NULL && !workspace_repos_idle(ws);

		if (repos_beside)
			branch_start_then(&ctx, &repos, workspace_repos_step, NULL,
			                  env->gitea_more[0], &coolify, coolify_apps_reconcile);
		if (beside)
			branch_start(&ctx, &hook, workspace_hook_step, NULL, env->gitea_more[1]);
		gitea_members_reconcile(&ctx);
		if (repos_beside)
			branch_join(&ctx, &repos);
		else
			workspace_repos_step(&ctx, NULL);
		if (beside)
			branch_join(&ctx, &hook);
		else
			gitea_hook_reconcile(&ctx);
		if (!repos_beside) {
			branch_join(&ctx, &coolify);
			coolify_apps_reconcile(&ctx);
		}
		workspace_ready(&ctx);
	}
	workspace_write_status(&ctx);
	*out = ctx.out;
done:
	workspace_set_deadline(env, 0);
	workspace_ctx_free(&ctx);
	pthread_mutex_destroy(&lock);
	desired_free(ws);
	return 0;
}
