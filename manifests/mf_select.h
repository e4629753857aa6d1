/* Labels and label selectors, in Kubernetes' syntax: the labels a manifest gives its
 * workspace (metadata.labels, recorded on the workspace) and the selector of
 * `vibnctl apply --prune -l`, which limits both what is applied and what may be pruned to
 * the workspaces whose labels match, as kubectl's does.
 *
 *   key:      [prefix/]name; name 1..63 characters, [A-Za-z0-9] at both ends and
 *             [-_.A-Za-z0-9] between; prefix a DNS subdomain (lower case, at most 253)
 *   value:    empty, or like a name (at most 63 characters)
 *   selector: requirements separated by commas, all of which must hold:
 *             key=value (also key==value), key!=value, key (present), !key (absent) */
#ifndef VIBN_MF_SELECT_H
#define VIBN_MF_SELECT_H

#include <stddef.h>

struct mf_label {
	char *key;
	char *value;
};

enum mf_select_op { MF_SELECT_EQ, MF_SELECT_NE, MF_SELECT_EXISTS, MF_SELECT_ABSENT };

struct mf_select_req {
	char *key;
	enum mf_select_op op;
	char *value; /* EQ and NE only */
};

struct mf_selector {
	struct mf_select_req *v;
	size_t n;
	char *text; /* as given, for messages */
};

/* 1 when s is a valid label key / label value. */
int mf_select_valid_key(const char *s);
int mf_select_valid_value(const char *s);

/* Parses a selector. Returns 0 with *sel filled (free it with mf_select_free), or -1 with a
 * one-line *cause (a new string). An empty selector is an error: it would select all. */
int mf_select_parse(const char *text, struct mf_selector *sel, char **cause)
    __attribute__((warn_unused_result));
void mf_select_free(struct mf_selector *sel);

/* 1 when n labels satisfy every requirement of sel. */
int mf_select_matches(const struct mf_selector *sel, const struct mf_label *labels, size_t n);

#endif
