#include "project_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "reconcilers/snapshot.h"

struct project_entry {
	int64_t id;
	uint64_t name;  /* digest of the name */
	uint64_t state; /* digest of the name and description */
	uint32_t uuid;  /* offset of the uuid in the arena */
};

/* One snapshot: entries [0, sorted) by uuid, then projects added since, in order. */
struct project_snap {
	struct project_entry *v;
	size_t n, cap, sorted;
	struct buf uuids; /* the arena: NUL-terminated uuids */
};

/* A list refused for the rate limit without a Retry-After is the answer for this long. */
#define PROJECT_CACHE_LIMITED_MS 1000

struct project_cache {
	pthread_mutex_t lock;
	int64_t ttl_ms;
	int64_t taken_ms; /* when the snapshot's list began; 0: never */
	/* The last list call was refused for the rate limit: until its Retry-After every
	 * worker gets that answer without asking again (a storm of lists under a limit would
	 * only spend the next window). */
	int64_t failed_until_ms;
	struct http_status failed_st;
	struct project_snap snap;
	_Atomic int64_t run_ms;
};

static void
project_snap_free(struct project_snap *s)
{
	free(s->v);
	buf_free(&s->uuids);
	memset(s, 0, sizeof *s);
}

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
	project_snap_free(&pc->snap);
	pthread_mutex_destroy(&pc->lock);
	free(pc);
}

void
project_cache_sweep_started(struct project_cache *pc)
{
	if (pc != NULL)
		atomic_store(&pc->run_ms, util_now_ms());
}

static uint64_t
project_name_key(const char *name)
{
	const char *f[1] = {name};

	return snapshot_digest(f, 1, 0);
}

static uint64_t
project_state_key(const char *name, const char *desc)
{
	const char *f[2] = {name, desc};

	return snapshot_digest(f, 2, 0);
}

static const char *
project_uuid(const struct project_snap *s, const struct project_entry *e)
{
	return s->uuids.data + e->uuid;
}

static void
project_snap_add(struct project_snap *s, int64_t id, const char *uuid, const char *name,
                 const char *desc)
{
	struct project_entry *e;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->v = xreallocarray(s->v, s->cap, sizeof *s->v);
	}
	e = &s->v[s->n++];
	e->id = id;
	e->name = project_name_key(name);
	e->state = project_state_key(name, desc);
	e->uuid = (uint32_t)s->uuids.len;
	buf_append(&s->uuids, uuid, strlen(uuid) + 1);
}

static int
project_snap_item(const struct coolify_project *p, void *arg)
{
	if (p->uuid != NULL)
		project_snap_add(arg, p->id, p->uuid, p->name, p->description);
	return 0;
}

static int
project_entry_cmp(const void *a, const void *b, void *arg)
{
	const struct project_snap *s = arg;

	return strcmp(project_uuid(s, a), project_uuid(s, b));
}

/* Whether the snapshot serves a lookup: one taken since need_after_ms when that is set, for
 * a sweep one taken since its run began, else one younger than the TTL. Lock held. */
static int
project_cache_usable(const struct project_cache *pc, int64_t need_after_ms, int sweep, int64_t now)
{
	if (pc->taken_ms == 0)
		return 0;
	if (sweep)
		return pc->taken_ms >= atomic_load(&pc->run_ms);
	if (need_after_ms > 0)
		return pc->taken_ms >= need_after_ms;
	return now - pc->taken_ms <= pc->ttl_ms;
}

/* Brings the snapshot up to date (project_cache_usable) with one list call. Called with
 * pc->lock held across the call: concurrent workers wait for one fetch. The old snapshot
 * stays until the new one is complete, and stays when the list fails: a lookup that may use
 * a stale one still can. Returns the class of the list call, HTTP_OK when none was needed. */
static enum http_class
project_cache_refresh(struct project_cache *pc, struct coolify *c, int64_t need_after_ms, int sweep,
                      struct http_status *st)
{
	struct project_snap fresh = {0};
	int64_t start = util_now_ms();
	size_t expect = pc->snap.n + pc->snap.n / 16;
	enum http_class cls;

	if (project_cache_usable(pc, need_after_ms, sweep, start))
		return HTTP_OK;
	if (start < pc->failed_until_ms) {
		*st = pc->failed_st;
		return st->cls;
	}
	if (expect > 0) {
		fresh.cap = expect;
		fresh.v = xreallocarray(NULL, fresh.cap, sizeof *fresh.v);
	}
	cls = coolify_project_each(c, project_snap_item, &fresh, st);
	if (cls != HTTP_OK) {
		int64_t now = util_now_ms();

		project_snap_free(&fresh);
		if (cls == HTTP_RATE_LIMITED) {
			pc->failed_st = *st;
			pc->failed_until_ms = st->not_before_ms > now
			                          ? st->not_before_ms
			                          : now + PROJECT_CACHE_LIMITED_MS;
		}
		return cls;
	}
	pc->failed_until_ms = 0;
	if (fresh.n > 0 && fresh.n < fresh.cap) {
		fresh.v = xreallocarray(fresh.v, fresh.n, sizeof *fresh.v);
		fresh.cap = fresh.n;
	}
	if (fresh.n > 0) /* qsort_r's array may not be NULL, even for none */
		qsort_r(fresh.v, fresh.n, sizeof *fresh.v, project_entry_cmp, &fresh);
	fresh.sorted = fresh.n;
	project_snap_free(&pc->snap);
	pc->snap = fresh;
	pc->taken_ms = start;
	return HTTP_OK;
}

/* The entry of uuid, or NULL. */
static const struct project_entry *
project_snap_find(const struct project_snap *s, const char *uuid)
{
	size_t lo = 0, hi = s->sorted;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(project_uuid(s, &s->v[mid]), uuid);

		if (c == 0)
			return &s->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = s->sorted; i < s->n; i++)
		if (strcmp(project_uuid(s, &s->v[i]), uuid) == 0)
			return &s->v[i];
	return NULL;
}

/* Appends to uuids the uuids of s's projects named name, keeping them sorted by id. */
static void
project_snap_collect(const struct project_snap *s, const char *name, char ***uuids, size_t *n)
{
	uint64_t key = project_name_key(name);
	int64_t *ids = NULL;

	for (size_t i = 0; i < s->n; i++) {
		size_t at;

		if (s->v[i].name != key)
			continue;
		*uuids = xreallocarray(*uuids, *n + 1, sizeof **uuids);
		ids = xreallocarray(ids, *n + 1, sizeof *ids);
		/* Insertion sort by id: there are one or two. */
		for (at = *n; at > 0 && ids[at - 1] > s->v[i].id; at--) {
			ids[at] = ids[at - 1];
			(*uuids)[at] = (*uuids)[at - 1];
		}
		ids[at] = s->v[i].id;
		(*uuids)[at] = xstrdup(project_uuid(s, &s->v[i]));
		(*n)++;
	}
	free(ids);
}

enum http_class
project_cache_find(struct project_cache *pc, struct coolify *c, const char *name,
                   int64_t fresh_after_ms, char ***uuids, size_t *n, struct http_status *st)
{
	struct project_snap own = {0};
	enum http_class cls;

	*uuids = NULL;
	*n = 0;
	if (pc == NULL) {
		cls = coolify_project_each(c, project_snap_item, &own, st);
		if (cls == HTTP_OK)
			project_snap_collect(&own, name, uuids, n);
		project_snap_free(&own);
		return cls;
	}
	pthread_mutex_lock(&pc->lock);
	cls = project_cache_refresh(pc, c, fresh_after_ms, 0, st);
	/* A project this lookup may adopt without a fresh list existed before any create of
	 * ours for the name was sent (none was, or it would be recorded or pending): a stale
	 * snapshot shows it as well as a new one. */
	if (cls != HTTP_OK && fresh_after_ms == 0 && pc->taken_ms != 0)
		cls = HTTP_OK;
	if (cls == HTTP_OK)
		project_snap_collect(&pc->snap, name, uuids, n);
	pthread_mutex_unlock(&pc->lock);
	return cls;
}

int
project_cache_in_step(struct project_cache *pc, struct coolify *c, const char *uuid,
                      const char *name, const char *desc)
{
	const struct project_entry *e;
	struct http_status st;
	int same = 0;

	if (pc == NULL)
		return 0;
	pthread_mutex_lock(&pc->lock);
	if (project_cache_refresh(pc, c, 0, 1, &st) == HTTP_OK &&
	    (e = project_snap_find(&pc->snap, uuid)) != NULL)
		same = e->state == project_state_key(name, desc);
	pthread_mutex_unlock(&pc->lock);
	return same;
}

void
project_cache_add(struct project_cache *pc, const char *uuid, const char *name, const char *desc)
{
	if (pc == NULL)
		return;
	pthread_mutex_lock(&pc->lock);
	/* Before the first fetch there is nothing to add to: that fetch will list it. */
	if (pc->taken_ms != 0)
		project_snap_add(&pc->snap, INT64_MAX /* newest */, uuid, name, desc);
	pthread_mutex_unlock(&pc->lock);
}
