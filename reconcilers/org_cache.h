/* org_cache: a snapshot of Gitea's admin org list shared by every worker of a process, for
 * drift sweeps. GET /admin/orgs pages by 50 (Gitea's MAX_RESPONSE_ITEMS, often set lower:
 * the pages follow X-Total-Count), so a sweep learns every org's settings with one request
 * per 50 orgs instead of one GET /orgs/{org} per workspace (DESIGN 2). Per org it keeps two
 * keyed digests (snapshot.h): its name, case-folded as Gitea compares names, and its full
 * name, description and visibility. 16 bytes an org: 100,000 orgs take 1.6 MB.
 *
 * A sweep trusts the snapshot only when it was taken since its drift repair run began
 * (org_cache_sweep_started): one list per run and process. One worker fetches it; the others
 * wait for it at most ORG_CACHE_WAIT_MS and read their org directly meanwhile, so a long
 * list (2,000 pages for 100,000 orgs, over a minute within Gitea's budget) never holds the
 * workers. Thread-safe. */
#ifndef VIBN_ORG_CACHE_H
#define VIBN_ORG_CACHE_H

#include "clients/gitea.h"

/* How long a sweep waits for another worker's list before reading its org itself. */
#define ORG_CACHE_WAIT_MS 2000
/* The longest one list may take, whatever the reconcile's own deadline: pages are paced by
 * the shared Gitea budget, and a run's first list can be thousands of pages. */
#define ORG_CACHE_FETCH_MS (15 * 60 * 1000)

struct org_cache;

/* Returns a new, empty cache. */
struct org_cache *org_cache_new(void);
void org_cache_free(struct org_cache *oc);

/* A drift repair run began: the snapshots taken before now serve none of its sweeps.
 * Never blocks (the daemon calls it on its event loop). oc may be NULL. */
void org_cache_sweep_started(struct org_cache *oc);

/* 1 when the snapshot (listed now with the n clients gs at once, pages spread over them, when
 * none was taken since the run began and no other worker is listing) holds org with exactly
 * want's full name, description and visibility (NULL and "" alike, as util_str_eq_empty).
 * 0 when it lacks the org, holds other settings, or cannot say (the list failed, or another
 * worker's takes longer than ORG_CACHE_WAIT_MS): then read the org itself. oc NULL: always
 * 0. */
int org_cache_in_step(struct org_cache *oc, struct gitea *const *gs, size_t n, const char *org,
                      const struct gitea_org_spec *want);

#endif
