/* A small string-keyed hash table for the simulator's in-memory state (orgs, users, projects,
 * teams by id, ...): O(1) lookups however many objects a benchmark creates. Keys are copied;
 * values are borrowed pointers the caller owns. A table made with nocase set compares and
 * hashes keys ASCII-case-insensitively (Gitea's user/org/repo namespaces). */
#ifndef VIBN_SIMTAB_H
#define VIBN_SIMTAB_H

#include <stddef.h>

struct simtab;

/* Returns a new empty table. */
struct simtab *simtab_new(int nocase);
/* Frees the table and its key copies, never the values. NULL is fine. */
void simtab_free(struct simtab *t);
/* Returns the value stored under key (borrowed), or NULL. */
void *simtab_get(const struct simtab *t, const char *key);
/* Stores val under key, replacing (and returning) any previous value; NULL when new. */
void *simtab_put(struct simtab *t, const char *key, void *val);
/* Removes key; returns its value, or NULL when absent. */
void *simtab_del(struct simtab *t, const char *key);
size_t simtab_count(const struct simtab *t);
/* Removes every entry (values untouched). */
void simtab_clear(struct simtab *t);

typedef void simtab_visit_fn(const char *key, void *val, void *arg);
/* Calls fn for every entry, in no particular order; fn must not change the table. */
void simtab_foreach(const struct simtab *t, simtab_visit_fn *fn, void *arg);

#endif
