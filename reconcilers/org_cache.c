#include "org_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "reconcilers/snapshot.h"

/* After a failed list, sweeps read their orgs directly this long before listing again: a
 * Gitea that fails lists is not asked for one by every sweep. */
#define ORG_CACHE_RETRY_MS 10000

struct org_entry {
	uint64_t name;     /* the org's name, case-folded */
	uint64_t settings; /* full name, description, visibility */
};

struct org_cache {
	pthread_mutex_t lock;
	pthread_cond_t listed; /* a list ended */
	struct org_entry *v;   /* sorted by name */
	size_t n;
	int64_t taken_ms;  /* when the snapshot's list began; 0: none */
	int64_t failed_ms; /* when the last list failed; 0: it did not */
	int listing;       /* a worker is listing */
	_Atomic int64_t run_ms;
};

struct org_cache *
org_cache_new(void)
{
	struct org_cache *oc = xcalloc(1, sizeof *oc);
	pthread_condattr_t ca;

	pthread_mutex_init(&oc->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&oc->listed, &ca);
	pthread_condattr_destroy(&ca);
	return oc;
}

void
org_cache_free(struct org_cache *oc)
{
	if (oc == NULL)
		return;
	free(oc->v);
	pthread_cond_destroy(&oc->listed);
	pthread_mutex_destroy(&oc->lock);
	free(oc);
}

void
org_cache_sweep_started(struct org_cache *oc)
{
	if (oc != NULL)
		atomic_store(&oc->run_ms, util_now_ms());
}

static int
org_cache_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct org_entry *)a)->name, y = ((const struct org_entry *)b)->name;

	return x < y ? -1 : x > y;
}

static uint64_t
org_cache_name(const char *org)
{
	const char *f[1] = {org};

	return snapshot_digest(f, 1, 1);
}

static uint64_t
org_cache_settings(const char *full_name, const char *description, const char *visibility)
{
	const char *f[3] = {full_name, description, visibility};

	return snapshot_digest(f, 3, 0);
}

/* A list being built. */
struct org_build {
	struct org_entry *v;
	size_t n, cap;
};

static int
org_cache_add(const struct gitea_org *o, void *arg)
{
	struct org_build *b = arg;

	if (o->name == NULL)
		return 0; /* nothing to find it by */
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 1024;
		b->v = xreallocarray(b->v, b->cap, sizeof *b->v);
	}
	b->v[b->n].name = org_cache_name(o->name);
	b->v[b->n].settings = org_cache_settings(o->full_name, o->description, o->visibility);
	b->n++;
	return 0;
}

/* Lists every org with the n clients gs at once, on a deadline of their own (restored
 * after, moved on by the time the list took, so the reconcile that listed keeps its own
 * time). Returns 0 with the new snapshot in *b (sorted), or -1. Called without the lock. */
static int
org_cache_list(struct gitea *const *gs, size_t n, struct org_build *b)
{
	int64_t saved[GITEA_AT_ONCE_MAX], start = util_now_ms();
	struct http_status st;
	enum http_class cls;

	if (n > GITEA_AT_ONCE_MAX)
		n = GITEA_AT_ONCE_MAX;
	for (size_t k = 0; k < n; k++) {
		saved[k] = http_client_deadline(gitea_http(gs[k]));
		http_client_set_deadline(gitea_http(gs[k]), start + ORG_CACHE_FETCH_MS);
	}
	cls = gitea_org_each_at_once(gs, n, org_cache_add, b, &st);
	for (size_t k = 0; k < n; k++)
		http_client_set_deadline(gitea_http(gs[k]),
		                         saved[k] != 0 ? saved[k] + (util_now_ms() - start) : 0);
	if (cls != HTTP_OK) {
		log_warn("listing Gitea's orgs for the drift sweep: %s (HTTP %ld); sweeps read"
		         " each org meanwhile",
		         st.message, st.status);
		free(b->v);
		return -1;
	}
	/* Only what the run needs stays. */
	if (b->n > 0 && b->n < b->cap)
		b->v = xreallocarray(b->v, b->n, sizeof *b->v);
	if (b->n > 0) /* qsort's array may not be NULL, even for none */
		qsort(b->v, b->n, sizeof *b->v, org_cache_cmp);
	return 0;
}

/* Whether the snapshot serves the current run: taken since the run began. Lock held. */
static int
org_cache_fresh(struct org_cache *oc)
{
	return oc->taken_ms != 0 && oc->taken_ms >= atomic_load(&oc->run_ms);
}

/* The answer from the snapshot in force. Lock held. */
static int
org_cache_find(struct org_cache *oc, const char *org, const struct gitea_org_spec *want)
{
	struct org_entry key = {org_cache_name(org), 0}, *e;

	e = oc->n > 0 ? bsearch(&key, oc->v, oc->n, sizeof *oc->v, org_cache_cmp) : NULL;
	return e != NULL && e->settings == org_cache_settings(want->full_name, want->description,
	                                                      want->visibility);
}

int
org_cache_in_step(struct org_cache *oc, struct gitea *const *gs, size_t n, const char *org,
                  const struct gitea_org_spec *want)
{
	struct org_build b = {0};
	int64_t start, deadline;
	int found;

	if (oc == NULL)
		return 0;
	deadline = util_now_ms() + ORG_CACHE_WAIT_MS;
	pthread_mutex_lock(&oc->lock);
	while (!org_cache_fresh(oc) && oc->listing) {
		struct timespec ts = {.tv_sec = deadline / 1000,
		                      .tv_nsec = (long)(deadline % 1000) * 1000000};

		if (pthread_cond_timedwait(&oc->listed, &oc->lock, &ts) != 0)
			break; /* timed out: read the org itself */
	}
	if (org_cache_fresh(oc) || oc->listing ||
	    (oc->failed_ms != 0 && util_now_ms() - oc->failed_ms < ORG_CACHE_RETRY_MS)) {
		found = org_cache_fresh(oc) && org_cache_find(oc, org, want);
		pthread_mutex_unlock(&oc->lock);
		return found;
	}
	/* A stale snapshot serves nobody: its memory goes before the new one is built, and the
	 * new one starts at the old one's size (no doubling from nothing for 100,000 orgs). */
	b.cap = oc->n + oc->n / 16;
	b.v = b.cap > 0 ? xreallocarray(NULL, b.cap, sizeof *b.v) : NULL;
	free(oc->v);
	oc->v = NULL;
	oc->n = 0;
	oc->taken_ms = 0;
	oc->listing = 1;
	pthread_mutex_unlock(&oc->lock);

	start = util_now_ms();
	found = org_cache_list(gs, n, &b);
	pthread_mutex_lock(&oc->lock);
	oc->listing = 0;
	if (found == 0) {
		oc->v = b.v;
		oc->n = b.n;
		oc->taken_ms = start;
		oc->failed_ms = 0;
	} else {
		oc->failed_ms = util_now_ms();
	}
	pthread_cond_broadcast(&oc->listed);
	found = org_cache_fresh(oc) && org_cache_find(oc, org, want);
	pthread_mutex_unlock(&oc->lock);
	return found;
}
