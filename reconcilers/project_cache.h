/* project_cache: a snapshot of Coolify's project list shared by every worker of a process.
 * GET /projects returns every project in one call, so one list serves the adoption
 * lookups and drift sweeps of many reconciles (DESIGN 2). The list is read as it arrives
 * (coolify_project_each: Coolify does not paginate, and 100,000 projects make a body of tens
 * of megabytes) and kept compact: per project its id, uuid and two keyed digests
 * (snapshot.h), of its name and of its name and description, about 60 bytes: 100,000
 * projects take 6 MB (twice that while a new list is read: the old one serves until the new
 * one is complete, and after a list that failed). Thread-safe: concurrent workers that find
 * it stale wait for one fetch. */
#ifndef VIBN_PROJECT_CACHE_H
#define VIBN_PROJECT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "clients/coolify.h"

struct project_cache;

/* Returns a new, empty cache; for adoption lookups, snapshots older than ttl_ms are fetched
 * again. */
struct project_cache *project_cache_new(int64_t ttl_ms);
void project_cache_free(struct project_cache *pc);

/* A drift repair run began: snapshots taken before now serve none of its sweeps (they
 * still serve adoption lookups). Never blocks; pc may be NULL. */
void project_cache_sweep_started(struct project_cache *pc);

/* The uuids of the projects named name, oldest (lowest id) first, as a new array of new
 * strings in *uuids (free each and the array). With fresh_after_ms set (util_now_ms()
 * clock), from a list that began at or after it (after a create whose answer was lost,
 * after a recorded project answered 404): one list serves every lookup that waited for it.
 * Without, from a snapshot younger than the TTL, or when a new list fails, from the last one
 * taken at all. With pc NULL, always lists (with c). Returns the class of the list call,
 * HTTP_OK when none was needed. */
enum http_class project_cache_find(struct project_cache *pc, struct coolify *c, const char *name,
                                   int64_t fresh_after_ms, char ***uuids, size_t *n,
                                   struct http_status *st);

/* For a drift sweep: 1 when the snapshot (listed now with c when none was taken since the
 * run began) holds the project uuid with exactly this name and description (NULL and ""
 * alike, as util_str_eq_empty); 0 when it lacks it, holds other values, or cannot be
 * listed: then read the project itself. pc NULL: always 0. */
int project_cache_in_step(struct project_cache *pc, struct coolify *c, const char *uuid,
                          const char *name, const char *desc);

/* Adds a project just created, so the next lookups see it before the next fetch. */
void project_cache_add(struct project_cache *pc, const char *uuid, const char *name,
                       const char *desc);

#endif
