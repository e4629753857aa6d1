/* Loading manifests from what -f names: files, directories (recursively, *.yaml and *.yml,
 * sorted by path, dot-entries skipped) and "-" for stdin. Every file is read and checked,
 * so that all errors are reported at once. */
#ifndef VIBN_MF_LOAD_H
#define VIBN_MF_LOAD_H

#include <stddef.h>

#include "manifests/mf_diag.h"
#include "manifests/mf_spec.h"

/* Parses and validates len bytes named name. Returns 0 with its workspaces appended to set,
 * or -1 with diagnostics in d. */
int mf_load_buffer(const char *name, const char *data, size_t len, struct mf_set *set,
                   struct mf_diags *d) __attribute__((warn_unused_result));

/* Loads every manifest under paths. Returns 0 with set filled (in path order, then document
 * order), or -1 with diagnostics in d and set emptied: a single error anywhere rejects all. */
int mf_load_paths(const char *const *paths, size_t npaths, struct mf_set *set, struct mf_diags *d)
    __attribute__((warn_unused_result));

#endif
