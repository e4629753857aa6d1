/* project_cache: a snapshot of Coolify's project list shared by every worker of a process.
 * GET /projects returns every project in one call, so one list serves the adoption
 * lookups and drift sweeps of many reconciles (DESIGN 2). Thread-safe: concurrent
 * workers that find it stale wait for one fetch. */
#ifndef VIBN_PROJECT_CACHE_H
#define VIBN_PROJECT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "clients/coolify.h"

struct project_cache;

/* Returns a new, empty cache; snapshots older than ttl_ms are fetched again. */
struct project_cache *project_cache_new(int64_t ttl_ms);
void project_cache_free(struct project_cache *pc);

/* The uuids of the projects named name, oldest (lowest id) first, as a new array of new
 * strings in *uuids (free each and the array). Lists afresh when fresh is set or the
 * snapshot is stale; with pc NULL, always lists (with c). Returns the class of the list
 * call, HTTP_OK when none was needed. */
enum http_class project_cache_find(struct project_cache *pc, struct coolify *c, const char *name,
                                   int fresh, char ***uuids, size_t *n, struct http_status *st);

/* Looks up the project with this uuid in the snapshot (fetched when stale). Returns 1 with
 * *out filled (new copies of uuid, name and description; no environments), 0 when the
 * snapshot lacks it or cannot be listed: then read the project itself. */
int project_cache_lookup(struct project_cache *pc, struct coolify *c, const char *uuid,
                         struct coolify_project *out);

/* Adds a project just created, so the next lookups see it before the next fetch. */
void project_cache_add(struct project_cache *pc, const char *uuid, const char *name,
                       const char *desc);

#endif
