/* Coolify project vibn-ws-{slug}. Coolify accepts duplicate names, so: with no recorded uuid,
 * look the name up and adopt (the oldest, when a crash left several), else create and record
 * the uuid at once. A durable "create pending" marker, set before the POST, makes the next
 * reconcile list afresh after a crash or a lost response. A recorded uuid answering 404 is
 * drift: create again, record, say so. A drift sweep finds the recorded project in the
 * shared project list (one GET /projects per TTL for the whole sweep) and reads it only
 * when the list lacks it. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "common/xmalloc.h"
#include "reconcilers/conditions.h"
#include "reconcilers/wsr.h"

struct wsr_shared {
	pthread_mutex_t lock;
	int64_t ttl_ms;
	int64_t fetched_ms; /* 0: never */
	struct coolify_projects projects;
};

struct wsr_shared *
wsr_shared_new(int64_t ttl_ms)
{
	struct wsr_shared *sh = xcalloc(1, sizeof *sh);

	pthread_mutex_init(&sh->lock, NULL);
	sh->ttl_ms = ttl_ms;
	return sh;
}

void
wsr_shared_free(struct wsr_shared *sh)
{
	if (sh == NULL)
		return;
	coolify_projects_free(&sh->projects);
	pthread_mutex_destroy(&sh->lock);
	free(sh);
}

/* Brings the snapshot up to date: lists afresh when fresh is set, or when it is older than
 * its TTL. Called with sh->lock held (across the list call: concurrent workers wait for
 * one fetch). Returns the class of the list call, HTTP_OK when none was needed. */
static enum http_class
project_snapshot(struct wsr_ctx *ctx, struct wsr_shared *sh, int fresh, struct http_status *st)
{
	struct coolify_projects got = {0};
	enum http_class cls;

	if (!fresh && sh->fetched_ms != 0 && util_now_ms() - sh->fetched_ms <= sh->ttl_ms)
		return HTTP_OK;
	cls = coolify_project_list(ctx->env->coolify, &got, st);
	if (cls == HTTP_OK) {
		coolify_projects_free(&sh->projects);
		sh->projects = got;
		sh->fetched_ms = util_now_ms();
	}
	return cls;
}

/* Projects named name, oldest (lowest id) first: a new array of borrowed-then-copied
 * uuids in *uuids (free each and the array). Lists afresh when fresh is set, or when the
 * snapshot is older than its TTL. Returns the class of the list call. */
static enum http_class
project_find(struct wsr_ctx *ctx, const char *name, int fresh, char ***uuids, size_t *n,
             struct http_status *st)
{
	struct wsr_shared *sh = ctx->env->shared;
	struct coolify_projects own = {0}, *l = &own;
	enum http_class cls = HTTP_OK;

	*uuids = NULL;
	*n = 0;
	if (sh != NULL) {
		pthread_mutex_lock(&sh->lock);
		cls = project_snapshot(ctx, sh, fresh, st);
		l = &sh->projects;
	} else {
		cls = coolify_project_list(ctx->env->coolify, &own, st);
	}
	if (cls == HTTP_OK) {
		int64_t *ids = NULL;

		for (size_t i = 0; i < l->n; i++) {
			size_t at;

			if (l->v[i].name == NULL || strcmp(l->v[i].name, name) != 0)
				continue;
			*uuids = xreallocarray(*uuids, *n + 1, sizeof **uuids);
			ids = xreallocarray(ids, *n + 1, sizeof *ids);
			/* Insertion sort by id: there are one or two. */
			for (at = *n; at > 0 && ids[at - 1] > l->v[i].id; at--) {
				ids[at] = ids[at - 1];
				(*uuids)[at] = (*uuids)[at - 1];
			}
			ids[at] = l->v[i].id;
			(*uuids)[at] = xstrdup(l->v[i].uuid);
			(*n)++;
		}
		free(ids);
	}
	if (sh != NULL)
		pthread_mutex_unlock(&sh->lock);
	coolify_projects_free(&own);
	return cls;
}

/* A sweep's look at the recorded project: 1 with *out filled (a copy of the snapshot's
 * uuid, name and description; no environments) when the snapshot holds it, 0 when it does
 * not or cannot be listed (then read the project itself: it may be gone, or newer). */
static int
project_cached(struct wsr_ctx *ctx, const char *uuid, struct coolify_project *out)
{
	struct wsr_shared *sh = ctx->env->shared;
	struct http_status st;
	int found = 0;

	if (sh == NULL)
		return 0;
	pthread_mutex_lock(&sh->lock);
	if (project_snapshot(ctx, sh, 0, &st) == HTTP_OK) {
		for (size_t i = 0; i < sh->projects.n && !found; i++) {
			const struct coolify_project *p = &sh->projects.v[i];

			if (p->uuid == NULL || strcmp(p->uuid, uuid) != 0)
				continue;
			out->id = p->id;
			out->uuid = xstrdup(p->uuid);
			out->name = p->name ? xstrdup(p->name) : NULL;
			out->description = p->description ? xstrdup(p->description) : NULL;
			found = 1;
		}
	}
	pthread_mutex_unlock(&sh->lock);
	return found;
}

/* Adds a project we just created to the snapshot, so the next lookups see it. */
static void
project_remember(struct wsr_ctx *ctx, const char *uuid, const char *name, const char *desc)
{
	struct wsr_shared *sh = ctx->env->shared;
	struct coolify_project *p;

	if (sh == NULL)
		return;
	pthread_mutex_lock(&sh->lock);
	if (sh->fetched_ms != 0) {
		sh->projects.v =
		    xreallocarray(sh->projects.v, sh->projects.n + 1, sizeof *sh->projects.v);
		p = &sh->projects.v[sh->projects.n++];
		memset(p, 0, sizeof *p);
		p->id = INT64_MAX; /* newest */
		p->uuid = xstrdup(uuid);
		p->name = xstrdup(name);
		p->description = xstrdup(desc);
	}
	pthread_mutex_unlock(&sh->lock);
}

static void
project_set(struct wsr_ctx *ctx, const char *uuid)
{
	free(ctx->project_uuid);
	ctx->project_uuid = xstrdup(uuid);
}

/* The recorded project exists: keep its name and description in step. */
static void
project_update(struct wsr_ctx *ctx, const struct coolify_project *p, const char *desc)
{
	struct http_status st;
	int name_drift = strcmp(p->name ? p->name : "", ctx->project_name) != 0;
	int desc_drift = strcmp(p->description ? p->description : "", desc) != 0;

	project_set(ctx, p->uuid);
	for (size_t i = 0; i < p->envs.n; i++)
		if (p->envs.v[i].name != NULL && strcmp(p->envs.v[i].name, "production") == 0)
			ctx->prod_env_id = p->envs.v[i].id;
	if (!name_drift && !desc_drift) {
		wsr_cond(ctx, COND_COOLIFY_PROJECT, 1, "UpToDate", "project %s (%s)",
		         ctx->project_name, p->uuid);
		return;
	}
	if (ctx->dry) {
		wsr_would(ctx, COND_COOLIFY_PROJECT, "rename or describe project %s", p->uuid);
		return;
	}
	if (coolify_project_update(ctx->env->coolify, p->uuid,
	                           name_drift ? ctx->project_name : NULL, desc_drift ? desc : NULL,
	                           &st) != HTTP_OK) {
		wsr_fail_call(ctx, COND_COOLIFY_PROJECT, "updating the Coolify project", &st);
		return;
	}
	wsr_cond(ctx, COND_COOLIFY_PROJECT, 1, "Updated", "project %s (%s)", ctx->project_name,
	         p->uuid);
}

/* No usable recorded project: adopt one by name, or create it. */
static void
project_adopt_or_create(struct wsr_ctx *ctx, const char *desc, int recreate)
{
	struct http_status st;
	char **uuids = NULL, *uuid = NULL;
	size_t n = 0;

	if (project_find(ctx, ctx->project_name, ctx->ws->project_pending || recreate, &uuids, &n,
	                 &st) != HTTP_OK) {
		wsr_fail_call(ctx, COND_COOLIFY_PROJECT, "listing Coolify projects", &st);
		return;
	}
	if (n > 0) {
		char others[300] = "";

		for (size_t i = 1; i < n; i++)
			snprintf(others + strlen(others), sizeof others - strlen(others), "%s%s",
			         i > 1 ? ", " : "", uuids[i]);
		if (ctx->dry) {
			wsr_would(ctx, COND_COOLIFY_PROJECT, "adopt project %s", uuids[0]);
		} else if (wsr_record_project(ctx, uuids[0], 0) == 0) {
			project_set(ctx, uuids[0]);
			if (n > 1)
				wsr_cond(ctx, COND_COOLIFY_PROJECT, 1, "Adopted",
				         "adopted project %s, the oldest named %s; left alone: %s",
				         uuids[0], ctx->project_name, others);
			else
				wsr_cond(ctx, COND_COOLIFY_PROJECT, 1, "Adopted",
				         "adopted project %s named %s", uuids[0],
				         ctx->project_name);
		}
		goto out;
	}
	if (ctx->dry) {
		wsr_would(ctx, COND_COOLIFY_PROJECT, "create project %s", ctx->project_name);
		goto out;
	}
	/* Durable before the call: a crash after Coolify creates it is found next time. */
	if (wsr_record_project(ctx, NULL, 1) != 0)
		goto out;
	if (coolify_project_create(ctx->env->coolify, ctx->project_name, desc, &uuid, &st) !=
	    HTTP_OK) {
		wsr_fail_call(ctx, COND_COOLIFY_PROJECT, "creating the Coolify project", &st);
		goto out;
	}
	if (wsr_record_project(ctx, uuid, 0) != 0)
		goto out;
	project_remember(ctx, uuid, ctx->project_name, desc);
	project_set(ctx, uuid);
	ctx->project_fresh = 1;
	if (recreate)
		wsr_cond(ctx, COND_COOLIFY_PROJECT, 1, "Recreated",
		         "project %s had been deleted upstream; created %s", ctx->project_name,
		         uuid);
	else
		wsr_cond(ctx, COND_COOLIFY_PROJECT, 1, "Created", "project %s (%s)",
		         ctx->project_name, uuid);
out:
	for (size_t i = 0; i < n; i++)
		free(uuids[i]);
	free(uuids);
	free(uuid);
}

void
coolify_project_reconcile(struct wsr_ctx *ctx)
{
	const char *recorded = ctx->ws->coolify_project_uuid;
	struct coolify_project p = {0};
	struct http_status st;
	char *desc = xasprintf("Vibn workspace %s", ctx->ws->slug);
	int recreate = 0;

	if (recorded != NULL && !ctx->ws->project_pending) {
		if (ctx->env->sweep && project_cached(ctx, recorded, &p)) {
			project_update(ctx, &p, desc);
			goto out;
		}
		switch (coolify_project_get(ctx->env->coolify, recorded, &p, &st)) {
		case HTTP_OK:
			project_update(ctx, &p, desc);
			goto out;
		case HTTP_NOT_FOUND:
			recreate = 1;
			break;
		default:
			wsr_fail_call(ctx, COND_COOLIFY_PROJECT, "reading the Coolify project",
			              &st);
			goto out;
		}
	}
	project_adopt_or_create(ctx, desc, recreate);
out:
	coolify_project_free(&p);
	free(desc);
}

int
coolify_project_delete_all(struct wsr_ctx *ctx)
{
	struct http_status st;

	if (ctx->project_uuid == NULL)
		return 1;
	switch (coolify_project_delete(ctx->env->coolify, ctx->project_uuid, &st)) {
	case HTTP_OK:
	case HTTP_NOT_FOUND:
		return 1;
	case HTTP_INVALID:
		/* "Project has resources": an app is still being deleted. Retry soon. */
		wsr_fail_msg(ctx, COND_COOLIFY_PROJECT, "Deleting", WSR_FAIL_TRANSIENT,
		             "project %s still has resources: %s", ctx->project_uuid, st.message);
		return 0;
	default:
		wsr_fail_call(ctx, COND_COOLIFY_PROJECT, "deleting the Coolify project", &st);
		return 0;
	}
}
