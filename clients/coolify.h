/* Coolify API client for reconcile workers: projects, environments, applications, servers.
 *
 * One struct coolify per worker thread (it owns a struct http_client); the struct
 * http_budget (Coolify's announced window; VIBN_COOLIFY_RPM when it announces none) is shared
 * by all of them, and a 429 pauses every worker until its Retry-After. Calls are synchronous,
 * return the outcome's class and, when st is not NULL, fill *st. Output structs are filled only on
 * HTTP_OK; free them with their *_free function (safe on a zeroed struct). Coolify has no
 * pagination: lists are whole.
 *
 * Coolify quirks callers must know (../shared/reference/coolify.md): project and application
 * names are not unique (look up by name before creating, keep uuids); PATCH answers 201;
 * deleting a project with resources is 400 (HTTP_INVALID, "Project has resources...");
 * deleting an application is asynchronous (coolify_app_wait_gone). */
#ifndef VIBN_COOLIFY_H
#define VIBN_COOLIFY_H

#include <stddef.h>
#include <stdint.h>

#include "clients/http.h"

#define COOLIFY_DEFAULT_RPM 180

struct coolify_config {
	const char *url;            /* COOLIFY_URL, the base; the client adds /api/v1 */
	const char *token;          /* COOLIFY_API_TOKEN; sent as "Authorization: Bearer T" */
	const char *ca_file;        /* NULL = system CAs */
	long connect_timeout_ms;    /* 0 = default (5 s) */
	long timeout_ms;            /* 0 = default (30 s) */
	long budget_wait_ms;        /* 0 = default (10 s) */
	int max_retries;            /* transient retries inside a request; 0 = default, -1 none */
	struct http_budget *budget; /* borrowed; from coolify_budget_new; NULL = unlimited */
};

struct coolify;

/* Coolify's limiter counts requests per user in fixed windows of a minute (Laravel's
 * Limit::perMinute, 200 by default: API_RATE_LIMIT in its .env). */
#define COOLIFY_WINDOW_MS 60000

/* Returns a new budget that follows Coolify's announced window (X-RateLimit-Limit and
 * -Remaining on every answer, Retry-After on a 429): what the window has left may go at once,
 * and when it is spent every worker sharing the budget waits for its end, as do other
 * replicas sharing the token (they see the same Remaining). For a server that announces
 * nothing, a token bucket of rpm requests per minute (VIBN_COOLIFY_RPM) with a burst of a
 * tenth of a minute's worth, so no 60 s window sees more than 1.1 x rpm (198 at the default
 * 180, under Coolify's 200). */
struct http_budget *coolify_budget_new(int rpm);
/* Returns a new client; copies cfg's strings. */
struct coolify *coolify_new(const struct coolify_config *cfg);
void coolify_free(struct coolify *c);
/* The underlying HTTP client (borrowed), e.g. to set a per-reconcile deadline. */
struct http_client *coolify_http(struct coolify *c);

struct coolify_env {
	int64_t id;
	char *uuid;
	char *name;
};

struct coolify_envs {
	struct coolify_env *v;
	size_t n;
};

struct coolify_project {
	int64_t id;
	char *uuid;
	char *name;
	char *description;
	struct coolify_envs envs; /* filled by coolify_project_get only (the list omits them) */
};

struct coolify_projects {
	struct coolify_project *v;
	size_t n;
};

/* Coolify hides an application's id (and private_key_id) from the API
 * (ApplicationsController::removeSensitiveData): the uuid is its identity. */
struct coolify_app {
	char *uuid;
	char *name;
	char *description;
	char *git_repository;
	char *git_branch;
	char *build_pack;
	char *ports_exposes;
	char *status;
	char *fqdn;
	int64_t environment_id; /* Coolify returns no project_uuid: match envs[].id */
};

struct coolify_apps {
	struct coolify_app *v;
	size_t n;
};

struct coolify_server {
	char *uuid;
	char *name;
	char *ip;
	int is_reachable;
	int is_usable;
};

struct coolify_servers {
	struct coolify_server *v;
	size_t n;
};

void coolify_env_free(struct coolify_env *e);
void coolify_envs_free(struct coolify_envs *l);
void coolify_project_free(struct coolify_project *p);
void coolify_projects_free(struct coolify_projects *l);
void coolify_app_free(struct coolify_app *a);
void coolify_apps_free(struct coolify_apps *l);
void coolify_server_free(struct coolify_server *s);
void coolify_servers_free(struct coolify_servers *l);

/* ---- projects ---- */

/* GET /projects: id, uuid, name, description of each (no environments). */
enum http_class coolify_project_list(struct coolify *c, struct coolify_projects *out,
                                     struct http_status *st);
/* One project of a streamed list: borrowed, valid during the call. 0, or -1 to stop. */
typedef int (*coolify_project_fn)(const struct coolify_project *p, void *arg);
/* GET /projects read as it arrives: fn sees each project in turn and nothing else is kept,
 * so a team with 100,000 projects (a body of tens of megabytes) costs the memory of one.
 * fn stopping, or a malformed body, fails HTTP_TRANSIENT (fn may have seen some projects). */
enum http_class coolify_project_each(struct coolify *c, coolify_project_fn fn, void *arg,
                                     struct http_status *st);
/* GET /projects/{uuid}, with its environments. */
enum http_class coolify_project_get(struct coolify *c, const char *uuid,
                                    struct coolify_project *out, struct http_status *st);
/* POST /projects {name, description?}: *uuid is a new string on HTTP_OK. Coolify also creates
 * the "production" environment. */
enum http_class coolify_project_create(struct coolify *c, const char *name, const char *description,
                                       char **uuid, struct http_status *st);
/* PATCH /projects/{uuid}: NULL fields unchanged (at least one must be set). */
enum http_class coolify_project_update(struct coolify *c, const char *uuid, const char *name,
                                       const char *description, struct http_status *st);
/* DELETE /projects/{uuid}: 400 (HTTP_INVALID) while resources remain. */
enum http_class coolify_project_delete(struct coolify *c, const char *uuid, struct http_status *st);

/* ---- environments ---- */

/* GET /projects/{uuid}/environments. */
enum http_class coolify_env_list(struct coolify *c, const char *project_uuid,
                                 struct coolify_envs *out, struct http_status *st);
/* GET /projects/{uuid}/{name_or_uuid}. */
enum http_class coolify_env_get(struct coolify *c, const char *project_uuid,
                                const char *name_or_uuid, struct coolify_env *out,
                                struct http_status *st);
/* GET /projects/{uuid}/{name_or_uuid}: the environment's applications (the answer embeds
 * them), in *apps. 404 is HTTP_NOT_FOUND for a missing project ("Project not found.") and a
 * missing environment ("Environment not found.") alike: st->message tells them apart. */
enum http_class coolify_env_apps(struct coolify *c, const char *project_uuid,
                                 const char *name_or_uuid, struct coolify_apps *apps,
                                 struct http_status *st);
/* POST /projects/{uuid}/environments {name}: a taken name is HTTP_CONFLICT (409). *uuid (may
 * be NULL) is a new string on HTTP_OK. */
enum http_class coolify_env_create(struct coolify *c, const char *project_uuid, const char *name,
                                   char **uuid, struct http_status *st);

/* ---- applications ---- */

/* An application built from a git repository. Required: project_uuid, server_uuid, one of
 * environment_name / environment_uuid (the name wins when both are set), git_repository,
 * git_branch, build_pack, ports_exposes (always sent: older Coolify requires it). */
struct coolify_app_spec {
	const char *project_uuid;
	const char *server_uuid;
	const char *environment_name;
	const char *environment_uuid;
	const char *destination_uuid; /* NULL unless the server has several destinations */
	const char *git_repository;
	const char *git_branch;
	const char *build_pack; /* nixpacks, railpack, static, dockerfile, dockercompose */
	const char *ports_exposes;
	const char *name;        /* NULL: Coolify makes one up */
	const char *description; /* NULL: none */
	int instant_deploy;
};

/* POST /applications/public: on HTTP_OK, *uuid (a new string) and, when domains is not NULL,
 * *domains: the app's domains as the answer gives them (a new string), or NULL when it gives
 * none (older Coolify v4 releases answered them null: ask GET /applications/{uuid} then). */
enum http_class coolify_app_create_public(struct coolify *c, const struct coolify_app_spec *spec,
                                          char **uuid, char **domains, struct http_status *st);
/* POST /applications/private-deploy-key with private_key_uuid (a key stored in Coolify); the
 * answer as above. */
enum http_class coolify_app_create_deploy_key(struct coolify *c,
                                              const struct coolify_app_spec *spec,
                                              const char *private_key_uuid, char **uuid,
                                              char **domains, struct http_status *st);
/* GET /applications/{uuid}. */
enum http_class coolify_app_get(struct coolify *c, const char *uuid, struct coolify_app *out,
                                struct http_status *st);
/* GET /applications, or GET /applications?tag=T when tag is not NULL. */
enum http_class coolify_app_list(struct coolify *c, const char *tag, struct coolify_apps *out,
                                 struct http_status *st);

/* What to change on an application; NULL fields are unchanged (at least one must be set). */
struct coolify_app_patch {
	const char *name;
	const char *description;
	const char *git_repository;
	const char *git_branch;
	const char *build_pack;
	const char *ports_exposes;
};

/* PATCH /applications/{uuid}. */
enum http_class coolify_app_update(struct coolify *c, const char *uuid,
                                   const struct coolify_app_patch *patch, struct http_status *st);
/* DELETE /applications/{uuid}: queues the deletion (Coolify's defaults: configurations,
 * volumes, networks and images go too). The app stays visible until the job has run. */
enum http_class coolify_app_delete(struct coolify *c, const char *uuid, struct http_status *st);
/* Polls GET /applications/{uuid} until 404 or deadline_ms (util_now_ms() clock). HTTP_OK
 * when gone; HTTP_TRANSIENT ("still present") at the deadline; any other failure as is. */
enum http_class coolify_app_wait_gone(struct coolify *c, const char *uuid, int64_t deadline_ms,
                                      struct http_status *st);

/* ---- servers, version ---- */

/* GET /servers. */
enum http_class coolify_server_list(struct coolify *c, struct coolify_servers *out,
                                    struct http_status *st);
/* GET /version (plain text): *version is a new string on HTTP_OK. */
enum http_class coolify_version(struct coolify *c, char **version, struct http_status *st);

/* Every request this client can send (for the conformance test). */
const struct http_route *coolify_routes(size_t *n);

#endif
