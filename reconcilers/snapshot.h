/* snapshot: what the shared list snapshots of the drift sweeps (org_cache, project_cache)
 * have in common.
 *
 * Keyed digests. A snapshot of 100,000 upstream objects must fit in a daemon that stays
 * under 32 MB, so it keeps per object only 64-bit digests of what a sweep compares (a name,
 * a set of settings), never the strings. The digests are keyed with a secret drawn at
 * start-up: a person who can edit an org or a project cannot choose a value whose digest
 * matches the wanted one, and two different values match by accident once in 2^64
 * comparisons. A match means "in step"; anything else sends the sweep to read the object
 * itself, so a digest never decides a change on its own.
 *
 * Run freshness. A drift repair run (DESIGN 2) trusts a snapshot only when it was taken
 * since the run began: one list per run and process, whatever the run's spread. */
#ifndef VIBN_SNAPSHOT_H
#define VIBN_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

/* The keyed digest of n strings (NULL counts as "", as upstreams show an unset string),
 * with ASCII letters folded to lower case when fold is set (Gitea's names). Thread-safe. */
uint64_t snapshot_digest(const char *const *fields, size_t n, int fold);

#endif
