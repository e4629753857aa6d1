/* Readable differences between the live and the declared desired state of a workspace:
 * both are rendered to the same canonical YAML (members with the owner first, then by name;
 * repos and apps by name), and compared line by line into a unified diff. */
#ifndef VIBN_MF_DIFF_H
#define VIBN_MF_DIFF_H

#include "manifests/mf_spec.h"

/* Canonical YAML of w (a new string), lists in the order given (see mf_diff_sort). A member
 * with a gitea_user (live state that disagrees with itself) gets a giteaUser line. */
char *mf_diff_render(const struct mf_workspace *w);

/* Sorts w's members (owner first, then case-insensitively by user), repos and apps (by
 * name) into canonical order. */
void mf_diff_sort(struct mf_workspace *w);

/* A unified diff (3 lines of context) from a to b, labelled; a may be NULL (a new object).
 * Returns a new string, or NULL when a and b are equal. */
char *mf_diff_unified(const char *label_a, const char *a, const char *label_b, const char *b);

#endif
