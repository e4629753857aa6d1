/* wsr: the workspace-reconcile context shared by the per-resource reconcilers (one file per
 * upstream resource kind, each observe -> diff -> act) and the workspace reconciler that
 * orders them. A reconcile runs on one worker thread, sequentially, with that worker's
 * database connection and upstream clients. */
#ifndef VIBN_WSR_H
#define VIBN_WSR_H

#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "clients/coolify.h"
#include "clients/gitea.h"
#include "reconcilers/desired.h"

/* Settings the reconcilers need (borrowed strings, from the daemon's configuration). */
struct wsr_settings {
	const char *gitea_admin_user; /* GITEA_ADMIN_USER: creates orgs, stays an owner */
	const char *public_url;       /* VIBN_PUBLIC_URL: org hooks point to it + /webhooks/gitea */
	const char *webhook_secret;   /* GITEA_WEBHOOK_SECRET */
	const char *coolify_server_uuid;     /* COOLIFY_SERVER_UUID */
	const char *coolify_deploy_key_uuid; /* optional: Coolify key for private repos' apps */
	int64_t timeout_ms;                  /* one reconcile's deadline (upstream calls) */
	int64_t app_delete_wait_ms;          /* how long to wait for Coolify's async app delete */
};

/* State shared by every worker of a process: the snapshot of Coolify's project list
 * (GET /projects returns them all; one call serves many reconciles). Thread-safe. */
struct wsr_shared;

/* Returns a new shared state; snapshots older than ttl_ms are fetched again. */
struct wsr_shared *wsr_shared_new(int64_t ttl_ms);
void wsr_shared_free(struct wsr_shared *sh);

/* What one worker brings to a reconcile (all borrowed). */
struct wsr_env {
	PGconn *db;
	struct gitea *gitea;
	struct coolify *coolify;
	const struct wsr_settings *set;
	struct wsr_shared *shared; /* NULL: list projects afresh each time */
	/* A background (drift sweep) run: the recorded Coolify project is looked up in the
	 * shared project-list snapshot (one list call serves the whole sweep, DESIGN 2) and
	 * read directly only when missing from it. Interactive runs always read it. */
	int sweep;
};

/* How a failure should be retried, worst last. */
enum wsr_fail {
	WSR_FAIL_NONE,
	WSR_FAIL_PERMANENT,    /* 401/403/422...: a clear condition, a long backoff */
	WSR_FAIL_TRANSIENT,    /* 5xx, timeouts, connection errors: backoff with jitter */
	WSR_FAIL_RATE_LIMITED, /* 429 or our budget: not before not_before_ms */
};

/* A reconcile's result for the queue. */
struct wsr_outcome {
	enum wsr_fail fail;       /* WSR_FAIL_NONE: done (or requeue_after_ms > 0) */
	int64_t not_before_ms;    /* util_now_ms() clock; 0 = none */
	int64_t requeue_after_ms; /* > 0: run again after this long even on success */
	char message[512];        /* first failure, for logs and last_error */
};

struct wsr_ctx {
	struct wsr_env *env;
	struct desired_ws *ws; /* borrowed */
	json_t *conds;         /* owned working copy of the conditions */
	char now[32];          /* RFC 3339, for lastTransitionTime */
	int dry;               /* paused: observe and report, change nothing */
	char *org;             /* vibn-{slug} (owned) */
	char *project_name;    /* vibn-ws-{slug} (owned) */

	/* Shared observations between steps. */
	int org_ready;      /* the org exists upstream and is ours */
	int org_fresh;      /* created by this reconcile: no teams but Owners, no repos, no hooks */
	char *project_uuid; /* the Coolify project in use (owned), NULL when none */
	int project_fresh;  /* created by this reconcile: no apps */
	int64_t prod_env_id;      /* the project's "production" environment, 0 when unknown */
	struct gitea_repos repos; /* observed org repos (clone URLs for apps) */
	int repos_known;

	/* Status to record (written once, at the end, only when changed). */
	char *gitea_org; /* owned; what vibn_workspaces.gitea_org should say */

	struct wsr_outcome out;
};

/* Records a failed upstream call on condition `type` (reason from the class: Unauthorized,
 * RateLimited, UpstreamUnavailable, UpstreamRejected, NameTaken, Renamed, NotFound) with
 * "what: upstream message (HTTP n)", and folds its retry class into the outcome. */
void wsr_fail_call(struct wsr_ctx *ctx, const char *type, const char *what,
                   const struct http_status *st);
/* Records a non-call failure (e.g. a database error) as transient on condition `type`. */
void wsr_fail_msg(struct wsr_ctx *ctx, const char *type, const char *reason, enum wsr_fail fail,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Sets condition `type` (generation and time from ctx). */
void wsr_cond(struct wsr_ctx *ctx, const char *type, int ok, const char *reason, const char *fmt,
              ...) __attribute__((format(printf, 5, 6)));
/* Paused: reports a change that would be made as condition `type` False, reason Paused,
 * message "paused; would <...>", and changes nothing. */
void wsr_would(struct wsr_ctx *ctx, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Per-resource reconcilers. Each sets its condition; failures go through wsr_fail_*. */
void gitea_org_reconcile(struct wsr_ctx *ctx);
void gitea_members_reconcile(struct wsr_ctx *ctx);
void gitea_repos_reconcile(struct wsr_ctx *ctx);
void gitea_hook_reconcile(struct wsr_ctx *ctx);
void coolify_project_reconcile(struct wsr_ctx *ctx);
void coolify_apps_reconcile(struct wsr_ctx *ctx);

/* Deletion (deletionPolicy Delete): each returns 1 when its resources are gone upstream. */
int coolify_apps_delete(struct wsr_ctx *ctx);
int gitea_repos_delete(struct wsr_ctx *ctx);
int gitea_org_delete_all(struct wsr_ctx *ctx);
int coolify_project_delete_all(struct wsr_ctx *ctx);

/* Status helpers writing to vibn_workspaces / child rows at once (status columns only, so
 * no generation bump). 0 or -1 (recorded on the outcome as transient). */
int wsr_record_project(struct wsr_ctx *ctx, const char *uuid, int pending);
int wsr_record_repo_id(struct wsr_ctx *ctx, const char *repo, int64_t id);
int wsr_record_app_uuid(struct wsr_ctx *ctx, const char *app, const char *uuid);
/* Records the set of upstream app names we own (n names). */
int wsr_record_app_names(struct wsr_ctx *ctx, char *const *names, size_t n);

#endif
