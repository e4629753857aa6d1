/* The workspace manifest (DESIGN section 4) as a model, checked strictly: apiVersion and
 * kind, unknown fields (with a "did you mean"), types, the slug rule, repo and app name rules,
 * member roles, duplicates, app repos naming declared repos, ports and deletionPolicy. Each
 * error is a diagnostic at the exact node; every one is reported. */
#ifndef VIBN_MF_SPEC_H
#define VIBN_MF_SPEC_H

#include <stddef.h>

#include "manifests/mf_diag.h"
#include "manifests/mf_select.h"
#include "manifests/mf_yaml.h"
#include "tenancy/quota.h"

#define MF_DISPLAY_NAME_MAX 100
#define MF_DESCRIPTION_MAX  2048
#define MF_BRANCH_MAX       255

struct mf_pos {
	int line;
	int col;
};

struct mf_member {
	char *user; /* Gitea username */
	char *role; /* owner | admin | member */
	/* Live state only (never from a manifest): the stored Gitea username when it is not
	 * the user itself. */
	char *gitea_user;
	long long id; /* live state only: the row's id */
	struct mf_pos pos;
};

struct mf_repo {
	char *name;
	int private;
	char *description;
	char *default_branch;
	long long id;  /* live state only: the row's id */
	int take_over; /* live state only: an API-owned row this apply takes over */
	struct mf_pos pos;
};

/* Live state only: a repo or app the API owns (created through the API or MCP), which
 * apply leaves alone; shown by diff as such. */
struct mf_api_owned {
	char *name;
	char *repo;    /* apps: the repo they build from; repos: NULL */
	char *project; /* the fs_projects id it belongs to, or NULL */
	long long id;  /* the row's id */
};

struct mf_app {
	char *name;
	char *repo;
	char *branch;
	char *build_pack;
	char *ports;   /* "3000" or "3000,8080" */
	long long id;  /* live state only: the row's id */
	int take_over; /* live state only: an API-owned row this apply takes over */
	struct mf_pos pos;
};

/* One Workspace document, with every default filled in. */
struct mf_workspace {
	char *file;        /* where it was declared */
	struct mf_pos pos; /* of its metadata.name */
	char *slug;
	struct mf_label *labels; /* metadata.labels, sorted by key */
	size_t nlabels;
	long quota[QUOTA_KINDS]; /* spec.quotas; -1: not set (the VIBN_QUOTA_* default) */
	char *display_name;      /* defaults to the slug */
	char *owner;             /* Gitea username */
	char *deletion_policy;
	int prune_members;
	int paused;
	struct mf_member *members; /* as declared; the owner is added by mf_spec_members */
	size_t nmembers;
	struct mf_repo *repos;
	size_t nrepos;
	struct mf_app *apps;
	size_t napps;
	/* Live state only: what the API owns in the workspace. */
	struct mf_api_owned *api_repos;
	size_t napi_repos;
	struct mf_api_owned *api_apps;
	size_t napi_apps;
};

struct mf_set {
	struct mf_workspace *v;
	size_t n;
};

/* Frees what w owns and zeroes it. */
void mf_spec_workspace_free(struct mf_workspace *w);
void mf_spec_set_init(struct mf_set *set);
void mf_spec_set_free(struct mf_set *set);

/* Checks one document and, when it is valid, appends its workspace to set. Returns 0, or -1
 * with diagnostics in d (set unchanged). */
int mf_spec_from_doc(const char *file, const struct mf_doc *doc, struct mf_set *set,
                     struct mf_diags *d) __attribute__((warn_unused_result));
/* Checks across documents: a slug declared twice. Returns 0, or -1 with diagnostics. */
int mf_spec_check_set(const struct mf_set *set, struct mf_diags *d)
    __attribute__((warn_unused_result));

int mf_spec_valid_branch(const char *s);
int mf_spec_valid_ports(const char *s);
int mf_spec_valid_build_pack(const char *s); /* nixpacks, railpack, static, ... */

/* The closest of n candidates to word (case-insensitive edit distance), or NULL when none is
 * close enough to suggest. Borrowed from candidates. */
const char *mf_spec_suggest(const char *word, const char *const *candidates, size_t n);

#endif
