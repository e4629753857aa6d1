/* Gitea API client for reconcile workers: orgs, teams, members, repos, org hooks, users.
 *
 * One struct gitea per worker thread (it owns a struct http_client: one keep-alive
 * connection); the struct http_budget is shared by all of them. Every call is synchronous,
 * returns the class of the outcome and, when st is not NULL, fills *st (status, upstream
 * message, Retry-After as not_before_ms, Location of a 301/307 rename redirect). Output
 * structs are filled only on HTTP_OK; free them with their *_free function (safe on a zeroed
 * struct, and after a failed call). Lists follow Gitea's pages (limit=50, which the server
 * may clamp lower) to X-Total-Count or an empty page.
 *
 * Names passed in (org, repo, user) are escaped here; callers pass them raw. */
#ifndef VIBN_GITEA_H
#define VIBN_GITEA_H

#include <stddef.h>
#include <stdint.h>

#include "clients/http.h"

#define GITEA_DEFAULT_RPS 50
#define GITEA_PAGE_LIMIT  50

struct gitea_config {
	const char *api_url;        /* GITEA_API_URL, e.g. https://git.example.com/api/v1 */
	const char *token;          /* GITEA_API_TOKEN; sent as "Authorization: token T" */
	const char *admin_user;     /* GITEA_ADMIN_USER: creates orgs */
	const char *ca_file;        /* NULL = system CAs */
	long connect_timeout_ms;    /* 0 = default (5 s) */
	long timeout_ms;            /* 0 = default (30 s) */
	long budget_wait_ms;        /* 0 = default (10 s) */
	int max_retries;            /* transient retries inside a request; 0 = default, -1 none */
	struct http_budget *budget; /* borrowed; from gitea_budget_new; NULL = unlimited */
};

struct gitea;

/* Returns a new budget for VIBN_GITEA_RPS requests per second (burst: one second's worth). */
struct http_budget *gitea_budget_new(int rps);
/* Returns a new client; copies cfg's strings. */
struct gitea *gitea_new(const struct gitea_config *cfg);
void gitea_free(struct gitea *g);
/* The underlying HTTP client (borrowed), e.g. to set a per-reconcile deadline. */
struct http_client *gitea_http(struct gitea *g);

struct gitea_org {
	int64_t id;
	char *name;
	char *full_name;
	char *description;
	char *visibility; /* "public", "limited" or "private" */
};

struct gitea_orgs {
	struct gitea_org *v;
	size_t n;
};

struct gitea_team {
	int64_t id;
	char *name;
	char *description;
	char *permission; /* "owner", "admin", "write", "read", "none" */
	int includes_all_repositories;
};

struct gitea_teams {
	struct gitea_team *v;
	size_t n;
};

struct gitea_user {
	int64_t id;
	char *login;
	char *full_name;
	char *email;
};

struct gitea_users {
	struct gitea_user *v;
	size_t n;
};

struct gitea_repo {
	int64_t id;
	char *name;
	char *full_name; /* owner/name */
	char *owner;     /* owner login */
	char *description;
	char *default_branch;
	char *clone_url;
	char *ssh_url;
	int private;
	int empty;
	int archived;
};

struct gitea_repos {
	struct gitea_repo *v;
	size_t n;
};

struct gitea_hook {
	int64_t id;
	char *type; /* "gitea" */
	char *url;
	char *content_type;
	char **events;
	size_t nevents;
	int active;
};

struct gitea_hooks {
	struct gitea_hook *v;
	size_t n;
};

void gitea_org_free(struct gitea_org *o);
void gitea_orgs_free(struct gitea_orgs *l);
void gitea_team_free(struct gitea_team *t);
void gitea_teams_free(struct gitea_teams *l);
void gitea_user_free(struct gitea_user *u);
void gitea_users_free(struct gitea_users *l);
void gitea_repo_free(struct gitea_repo *r);
void gitea_repos_free(struct gitea_repos *l);
void gitea_hook_free(struct gitea_hook *h);
void gitea_hooks_free(struct gitea_hooks *l);

/* ---- orgs ---- */

/* What to set on an org; NULL fields are left out (create) or unchanged (edit). */
struct gitea_org_spec {
	const char *full_name;
	const char *description;
	const char *visibility;
};

/* GET /orgs/{org}. A renamed org answers HTTP_REDIRECTED (307), not HTTP_OK. */
enum http_class gitea_org_get(struct gitea *g, const char *org, struct gitea_org *out,
                              struct http_status *st);
/* POST /admin/users/{admin_user}/orgs: the admin user becomes the only Owners member. A taken
 * name (also a user's, case-insensitively) is HTTP_CONFLICT. out may be NULL. */
enum http_class gitea_org_create(struct gitea *g, const char *org,
                                 const struct gitea_org_spec *spec, struct gitea_org *out,
                                 struct http_status *st);
/* PATCH /orgs/{org}. out may be NULL. */
enum http_class gitea_org_edit(struct gitea *g, const char *org, const struct gitea_org_spec *spec,
                               struct gitea_org *out, struct http_status *st);
/* DELETE /orgs/{org}. Gitea answers 500 (HTTP_TRANSIENT) while the org still owns repos. */
enum http_class gitea_org_delete(struct gitea *g, const char *org, struct http_status *st);
/* GET /admin/orgs, every page. */
enum http_class gitea_org_list(struct gitea *g, struct gitea_orgs *out, struct http_status *st);
/* One org of a list: borrowed, valid during the call. 0, or -1 to stop. */
typedef int (*gitea_org_fn)(const struct gitea_org *org, void *arg);
/* GET /admin/orgs, every page (every org of every visibility, for the site admin: routers/
 * api/v1/admin/org.go GetAllOrgs), handing each org to fn as its page arrives and keeping
 * nothing: one page's memory whatever the number of orgs. fn stopping fails HTTP_TRANSIENT
 * (fn may have seen some orgs). */
enum http_class gitea_org_each(struct gitea *g, gitea_org_fn fn, void *arg, struct http_status *st);
/* The clients gitea_org_each_at_once uses at most. */
#define GITEA_AT_ONCE_MAX 4
/* gitea_org_each with up to GITEA_AT_ONCE_MAX clients at once (each serving only this call
 * meanwhile): page 1 with gs[0], then, as its X-Total-Count and its size say, the other
 * pages spread over the clients (client k: pages 2 + k, 2 + k + n, ...), so a list of P
 * pages waits for 1 + (P - 1) / n round trips instead of P. fn is called one org at a time,
 * but from the clients' threads and in no particular page order. The first failure is the
 * answer (fn may have seen some orgs). */
enum http_class gitea_org_each_at_once(struct gitea *const *gs, size_t n, gitea_org_fn fn,
                                       void *arg, struct http_status *st);

/* ---- teams and members ---- */

/* GET /orgs/{org}/teams, every page. */
enum http_class gitea_team_list(struct gitea *g, const char *org, struct gitea_teams *out,
                                struct http_status *st);
/* POST /orgs/{org}/teams with every repo unit at permission ("read", "write" or "admin").
 * description may be NULL. out may be NULL. */
enum http_class gitea_team_create(struct gitea *g, const char *org, const char *name,
                                  const char *description, const char *permission,
                                  int includes_all_repositories, struct gitea_team *out,
                                  struct http_status *st);
/* GET /teams/{id}/members, every page. */
enum http_class gitea_team_members(struct gitea *g, int64_t team_id, struct gitea_users *out,
                                   struct http_status *st);
/* PUT /teams/{id}/members/{user}: idempotent; also makes the user an org member. */
enum http_class gitea_team_add_member(struct gitea *g, int64_t team_id, const char *user,
                                      struct http_status *st);
/* DELETE /teams/{id}/members/{user}: idempotent; the last owner gives 500 (HTTP_TRANSIENT). */
enum http_class gitea_team_remove_member(struct gitea *g, int64_t team_id, const char *user,
                                         struct http_status *st);
/* GET /orgs/{org}/members, every page. */
enum http_class gitea_org_members(struct gitea *g, const char *org, struct gitea_users *out,
                                  struct http_status *st);
/* DELETE /orgs/{org}/members/{user}: removes the user from every team of the org. */
enum http_class gitea_org_remove_member(struct gitea *g, const char *org, const char *user,
                                        struct http_status *st);

/* ---- repos ---- */

/* What to set on a repo. Create sends name, private and the non-NULL strings; edit sends
 * the non-NULL strings and private when set_private. */
struct gitea_repo_spec {
	const char *description;
	const char *default_branch;
	int private;
	int set_private; /* edit only */
	int auto_init;   /* create only */
};

/* GET /repos/{org}/{repo}. A renamed repo answers HTTP_REDIRECTED (301). */
enum http_class gitea_repo_get(struct gitea *g, const char *org, const char *repo,
                               struct gitea_repo *out, struct http_status *st);
/* POST /orgs/{org}/repos. A taken name is HTTP_CONFLICT (409). out may be NULL. */
enum http_class gitea_repo_create(struct gitea *g, const char *org, const char *repo,
                                  const struct gitea_repo_spec *spec, struct gitea_repo *out,
                                  struct http_status *st);
/* PATCH /repos/{org}/{repo}. out may be NULL. */
enum http_class gitea_repo_edit(struct gitea *g, const char *org, const char *repo,
                                const struct gitea_repo_spec *spec, struct gitea_repo *out,
                                struct http_status *st);
/* DELETE /repos/{org}/{repo}. */
enum http_class gitea_repo_delete(struct gitea *g, const char *org, const char *repo,
                                  struct http_status *st);
/* GET /repos/{org}/{repo}/branches/{branch}: HTTP_OK when the branch exists, HTTP_NOT_FOUND
 * when it does not (or the repo is empty). */
enum http_class gitea_branch_get(struct gitea *g, const char *org, const char *repo,
                                 const char *branch, struct http_status *st);
/* GET /orgs/{org}/repos, every page. */
enum http_class gitea_repo_list(struct gitea *g, const char *org, struct gitea_repos *out,
                                struct http_status *st);

/* ---- org hooks ---- */

/* A "gitea" hook, always active with content_type json. events: NULL-terminated list. */
struct gitea_hook_spec {
	const char *url;
	const char *secret; /* may be NULL; never returned by Gitea, so it cannot be compared */
	const char *const *events;
};

/* GET /orgs/{org}/hooks. */
enum http_class gitea_hook_list(struct gitea *g, const char *org, struct gitea_hooks *out,
                                struct http_status *st);
/* POST /orgs/{org}/hooks. out may be NULL. */
enum http_class gitea_hook_create(struct gitea *g, const char *org,
                                  const struct gitea_hook_spec *spec, struct gitea_hook *out,
                                  struct http_status *st);
/* PATCH /orgs/{org}/hooks/{id}: sets url, content_type json, secret, events, active. */
enum http_class gitea_hook_edit(struct gitea *g, const char *org, int64_t id,
                                const struct gitea_hook_spec *spec, struct gitea_hook *out,
                                struct http_status *st);
/* DELETE /orgs/{org}/hooks/{id}. */
enum http_class gitea_hook_delete(struct gitea *g, const char *org, int64_t id,
                                  struct http_status *st);

/* ---- users, version ---- */

/* GET /users/{user}. */
enum http_class gitea_user_get(struct gitea *g, const char *user, struct gitea_user *out,
                               struct http_status *st);
/* GET /version: *version is a new string on HTTP_OK. */
enum http_class gitea_version(struct gitea *g, char **version, struct http_status *st);

/* Every request this client can send (for the conformance test). */
const struct http_route *gitea_routes(size_t *n);

#endif
