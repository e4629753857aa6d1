#include "project_cache.h"

#include <pthread.h>
#include <string.h>

#include "common/util.h"
#include "common/xmalloc.h"

struct project_cache {
	pthread_mutex_t lock;
	int64_t ttl_ms;
	int64_t fetched_ms; /* 0: never */
	struct coolify_projects projects;
};

struct project_cache *
project_cache_new(int64_t ttl_ms)
{
	struct project_cache *pc = xcalloc(1, sizeof *pc);

	pthread_mutex_init(&pc->lock, NULL);
	pc->ttl_ms = ttl_ms;
	return pc;
}

void
project_cache_free(struct project_cache *pc)
{
	if (pc == NULL)
		return;
	coolify_projects_free(&pc->projects);
	pthread_mutex_destroy(&pc->lock);
	free(pc);
}

/* Brings the snapshot up to date: lists afresh when fresh is set, or when it is older than
 * its TTL. Called with pc->lock held (across the list call: concurrent workers wait for
 * one fetch). Returns the class of the list call, HTTP_OK when none was needed. */
static enum http_class
project_cache_refresh(struct project_cache *pc, struct coolify *c, int fresh,
                      struct http_status *st)
{
	struct coolify_projects got = {0};
	enum http_class cls;

	if (!fresh && pc->fetched_ms != 0 && util_now_ms() - pc->fetched_ms <= pc->ttl_ms)
		return HTTP_OK;
	cls = coolify_project_list(c, &got, st);
	if (cls == HTTP_OK) {
		coolify_projects_free(&pc->projects);
		pc->projects = got;
		pc->fetched_ms = util_now_ms();
	}
	return cls;
}

/* Appends to uuids the uuids of l's projects named name, keeping them sorted by id. */
static void
project_cache_collect(const struct coolify_projects *l, const char *name, char ***uuids, size_t *n)
{
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

enum http_class
project_cache_find(struct project_cache *pc, struct coolify *c, const char *name, int fresh,
                   char ***uuids, size_t *n, struct http_status *st)
{
	struct coolify_projects own = {0};
	enum http_class cls;

	*uuids = NULL;
	*n = 0;
	if (pc == NULL) {
		cls = coolify_project_list(c, &own, st);
		if (cls == HTTP_OK)
			project_cache_collect(&own, name, uuids, n);
		coolify_projects_free(&own);
		return cls;
	}
	pthread_mutex_lock(&pc->lock);
	cls = project_cache_refresh(pc, c, fresh, st);
	if (cls == HTTP_OK)
		project_cache_collect(&pc->projects, name, uuids, n);
	pthread_mutex_unlock(&pc->lock);
	return cls;
}

int
project_cache_lookup(struct project_cache *pc, struct coolify *c, const char *uuid,
                     struct coolify_project *out)
{
	struct http_status st;
	int found = 0;

	if (pc == NULL)
		return 0;
	pthread_mutex_lock(&pc->lock);
	if (project_cache_refresh(pc, c, 0, &st) == HTTP_OK) {
		for (size_t i = 0; i < pc->projects.n && !found; i++) {
			const struct coolify_project *p = &pc->projects.v[i];

			if (p->uuid == NULL || strcmp(p->uuid, uuid) != 0)
				continue;
			out->id = p->id;
			out->uuid = xstrdup(p->uuid);
			out->name = xstrdup(p->name);
			out->description = xstrdup(p->description);
			found = 1;
		}
	}
	pthread_mutex_unlock(&pc->lock);
	return found;
}

void
project_cache_add(struct project_cache *pc, const char *uuid, const char *name, const char *desc)
{
	struct coolify_project *p;

	if (pc == NULL)
		return;
	pthread_mutex_lock(&pc->lock);
	/* Before the first fetch there is nothing to add to: that fetch will list it. */
	if (pc->fetched_ms != 0) {
		pc->projects.v =
		    xreallocarray(pc->projects.v, pc->projects.n + 1, sizeof *pc->projects.v);
		p = &pc->projects.v[pc->projects.n++];
		memset(p, 0, sizeof *p);
		p->id = INT64_MAX; /* newest */
		p->uuid = xstrdup(uuid);
		p->name = xstrdup(name);
		p->description = xstrdup(desc);
	}
	pthread_mutex_unlock(&pc->lock);
}
