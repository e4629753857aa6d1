/* Coolify project vibn-ws-{slug}. Coolify accepts duplicate names, so: with no recorded uuid,
 * look the name up and adopt (the oldest, when a crash left several), else create and record
 * the uuid. A durable "create pending" marker, set before the POST (by the pass's read of
 * the desired state, where no project is recorded), makes the next reconcile list afresh
 * after a crash or a lost response. A recorded uuid answering 404 is
 * drift: create again, record, say so. A drift sweep finds the recorded project in the
 * shared project list (one GET /projects per run for the whole sweep) and reads it only
 * when the list does not show it in step. */
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "common/xmalloc.h"
#include "reconcilers/conditions.h"
#include "reconcilers/pass.h"

static void
project_set(struct pass *ctx, const char *uuid)
{
	free(ctx->project_uuid);
	ctx->project_uuid = xstrdup(uuid);
}

/* The recorded project uuid exists, named name and described have: keep its name and
 * description (desc) in step. */
static void
project_update(struct pass *ctx, const char *uuid, const char *name, const char *have,
               const char *desc)
{
	struct http_status st;
	int name_drift = !util_str_eq_empty(name, ctx->project_name);
	int desc_drift = !util_str_eq_empty(have, desc);

	project_set(ctx, uuid);
	if (!name_drift && !desc_drift) {
		pass_cond(ctx, COND_COOLIFY_PROJECT, 1, "UpToDate", "project %s (%s)",
		          ctx->project_name, uuid);
		return;
	}
	if (ctx->dry) {
		pass_would(ctx, COND_COOLIFY_PROJECT, "rename or describe project %s", uuid);
		return;
	}
	if (coolify_project_update(ctx->env->coolify, uuid, name_drift ? ctx->project_name : NULL,
	                           desc_drift ? desc : NULL, &st) != HTTP_OK) {
		pass_fail_call(ctx, COND_COOLIFY_PROJECT, "updating the Coolify project", &st);
		return;
	}
	pass_cond(ctx, COND_COOLIFY_PROJECT, 1, "Updated", "project %s (%s)", ctx->project_name,
	          uuid);
	pass_event(ctx, EVENTS_NORMAL, "Updated", "project", ctx->project_name,
	           "name or description edited back (%s)", uuid);
}

/* What a pass learned of a project create: */
enum project_doubt {
	PROJECT_UNSEEN,   /* nothing (no list, or paused): an earlier doubt stands */
	PROJECT_SETTLED,  /* no create is in doubt: adopted, created, or refused unmade */
	PROJECT_IN_DOUBT, /* a create was sent and its outcome is unknown (5xx, lost answer) */
};

/* No usable recorded project: adopt one by name, or create it. */
static enum project_doubt
project_adopt_or_create(struct pass *ctx, const char *desc, int recreate)
{
	enum project_doubt doubt = PROJECT_UNSEEN;
	struct http_status st;
	char **uuids = NULL, *uuid = NULL;
	size_t n = 0;

	/* After a create whose answer may have been lost (sent in an earlier pass), a list
	 * taken since this pass began shows its project; after a 404, one taken from now. */
	int64_t fresh_after = recreate                   ? util_now_ms()
	                      : ctx->ws->project_pending ? ctx->started_ms
	                                                 : 0;

	if (project_cache_find(ctx->env->projects, ctx->env->coolify, ctx->project_name,
	                       fresh_after, &uuids, &n, &st) != HTTP_OK) {
		pass_fail_call(ctx, COND_COOLIFY_PROJECT, "listing Coolify projects", &st);
		return PROJECT_UNSEEN;
	}
	if (n > 0) {
		char others[300] = "";

		for (size_t i = 1; i < n; i++)
			snprintf(others + strlen(others), sizeof others - strlen(others), "%s%s",
			         i > 1 ? ", " : "", uuids[i]);
		if (ctx->dry) {
			pass_would(ctx, COND_COOLIFY_PROJECT, "adopt project %s", uuids[0]);
		} else {
			pass_record_project(ctx, uuids[0]);
			doubt = PROJECT_SETTLED;
			project_set(ctx, uuids[0]);
			pass_event(ctx, EVENTS_NORMAL, "Adopted", "project", ctx->project_name,
			           "a project with this name existed; adopted %s%s%s", uuids[0],
			           n > 1 ? "; left alone: " : "", others);
			if (n > 1)
				pass_cond(ctx, COND_COOLIFY_PROJECT, 1, "Adopted",
				          "adopted project %s, the oldest named %s; left alone: %s",
				          uuids[0], ctx->project_name, others);
			else
				pass_cond(ctx, COND_COOLIFY_PROJECT, 1, "Adopted",
				          "adopted project %s named %s", uuids[0],
				          ctx->project_name);
		}
		goto out;
	}
	if (ctx->dry) {
		pass_would(ctx, COND_COOLIFY_PROJECT, "create project %s", ctx->project_name);
		goto out;
	}
	/* Durable before the call: a crash after Coolify creates it is found next time. */
	if (pass_project_pending(ctx) != 0)
		goto out;
	if (coolify_project_create(ctx->env->coolify, ctx->project_name, desc, &uuid, &st) !=
	    HTTP_OK) {
		pass_fail_call(ctx, COND_COOLIFY_PROJECT, "creating the Coolify project", &st);
		/* Refused before anything was made (never sent, or a 429, 4xx answer: Coolify
		 * throttles and validates before it creates): nothing to look for next time,
		 * so the next pass needs no new list. Only a 5xx or a lost answer may hide a
		 * project. */
		doubt = st.cls != HTTP_TRANSIENT ? PROJECT_SETTLED : PROJECT_IN_DOUBT;
		goto out;
	}
	pass_record_project(ctx, uuid);
	doubt = PROJECT_SETTLED;
	project_cache_add(ctx->env->projects, uuid, ctx->project_name, desc);
	project_set(ctx, uuid);
	ctx->project_fresh = 1;
	pass_event(ctx, EVENTS_NORMAL, recreate ? "Recreated" : "Created", "project",
	           ctx->project_name, "%s %s",
	           recreate ? "had been deleted upstream; created again:" : "created:", uuid);
	if (recreate)
		pass_cond(ctx, COND_COOLIFY_PROJECT, 1, "Recreated",
		          "project %s had been deleted upstream; created %s", ctx->project_name,
		          uuid);
	else
		pass_cond(ctx, COND_COOLIFY_PROJECT, 1, "Created", "project %s (%s)",
		          ctx->project_name, uuid);
out:
	for (size_t i = 0; i < n; i++)
		free(uuids[i]);
	free(uuids);
	free(uuid);
	return doubt;
}

void
coolify_project_reconcile(struct pass *ctx)
{
	const char *recorded = ctx->ws->coolify_project_uuid;
	struct coolify_project p = {0};
	struct http_status st;
	char *desc = xasprintf("Vibn workspace %s", ctx->ws->slug);
	enum project_doubt doubt;
	int recreate = 0;

	if (recorded != NULL && !ctx->ws->project_pending) {
		if (ctx->env->sweep && project_cache_in_step(ctx->env->projects, ctx->env->coolify,
		                                             recorded, ctx->project_name, desc)) {
			project_update(ctx, recorded, ctx->project_name, desc, desc);
			goto out;
		}
		switch (coolify_project_get(ctx->env->coolify, recorded, &p, &st)) {
		case HTTP_OK:
			project_update(ctx, p.uuid, p.name, p.description, desc);
			goto out;
		case HTTP_NOT_FOUND:
			recreate = 1;
			break;
		default:
			/* Deferred by a rate limit after it was verified at this generation: the
			 * recorded project stands for the steps after this one. */
			if (pass_fail_call(ctx, COND_COOLIFY_PROJECT, "reading the Coolify project",
			                   &st))
				project_set(ctx, recorded);
			goto out;
		}
	}
	doubt = project_adopt_or_create(ctx, desc, recreate);
	/* The marker this pass's read set goes when no create was sent after all; one set by
	 * an earlier pass only once a list has shown what that create did. */
	if (doubt == PROJECT_SETTLED || (doubt == PROJECT_UNSEEN && !ctx->ws->project_pending))
		pass_project_settled(ctx);
out:
	coolify_project_free(&p);
	free(desc);
}

int
coolify_project_delete_all(struct pass *ctx)
{
	struct http_status st;

	if (ctx->project_uuid == NULL)
		return 1;
	switch (coolify_project_delete(ctx->env->coolify, ctx->project_uuid, &st)) {
	case HTTP_OK:
		pass_event(ctx, EVENTS_NORMAL, "Deleted", "project", ctx->project_name,
		           "deleted %s (deletionPolicy Delete)", ctx->project_uuid);
		return 1;
	case HTTP_NOT_FOUND:
		return 1;
	case HTTP_INVALID:
		/* 400 "Project has resources, so it cannot be deleted.": an app is still being
		 * deleted. Retry soon. Any other 400 is what it says. */
		if (strstr(st.message, "has resources") == NULL)
			break;
		pass_fail_msg(ctx, COND_COOLIFY_PROJECT, "Deleting", REC_TRANSIENT,
		              "project %s still has resources: %s", ctx->project_uuid, st.message);
		return 0;
	default:
		break;
	}
	pass_fail_call(ctx, COND_COOLIFY_PROJECT, "deleting the Coolify project", &st);
	return 0;
}
