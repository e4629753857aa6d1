/* pass: one reconcile pass over one workspace. The context the per-resource reconcilers
 * share (one file per upstream resource kind, each observe -> diff -> act) with the
 * workspace reconciler that orders them: what the worker brings, what has been observed
 * so far, the conditions being written; and the status writers that record what a step
 * found or changed. A pass runs on its worker's thread, with that worker's database
 * connection and upstream clients; independent steps may run on other threads at the
 * same time (branch.h), each with a struct pass of its own that shares the conditions:
 * the writers below take the pass's lock for them. Every database statement runs on a
 * connection taken from env->db for it alone, never across an upstream call. */
#ifndef VIBN_PASS_H
#define VIBN_PASS_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "clients/coolify.h"
#include "clients/gitea.h"
#include "reconcilers/desired.h"
#include "reconcilers/events.h"
#include "reconcilers/org_cache.h"
#include "reconcilers/project_cache.h"
#include "reconcilers/reconciler.h"

/* A create that failed transiently (a 5xx, a dropped connection, a timeout) may have
 * happened with its answer lost: the step looks the object up by its name first, adopts it
 * when it is there, and creates it again only when it is not, up to this many creates in a
 * pass (never blindly: Gitea refuses a second org, repo or team of one name anyway). Coolify
 * creates are not repeated in a pass: its names are not unique, so a create still under way
 * could be duplicated; the next pass lists first (coolify_project.c). */
#define PASS_CREATE_TRIES 3

/* The Gitea clients a pass has besides its own (pass_env.gitea_more). */
#define PASS_GITEA_MORE 3

struct apps_pass; /* coolify_apps.c */

/* Settings the reconcilers need (borrowed strings, from the daemon's configuration). */
struct pass_settings {
	const char *gitea_admin_user; /* GITEA_ADMIN_USER: creates orgs, stays an owner */
	const char *public_url;       /* VIBN_PUBLIC_URL: org hooks point to it + /webhooks/gitea */
	const char *webhook_secret;   /* GITEA_WEBHOOK_SECRET */
	const char *coolify_server_uuid;      /* COOLIFY_SERVER_UUID */
	const char *coolify_deploy_key_uuid;  /* optional: Coolify key for private repos' apps */
	const char *coolify_destination_uuid; /* optional: the server's Docker destination */
	const char *gitea_clone_host;         /* optional: the host Coolify reaches Gitea at */
	int64_t timeout_ms;                   /* one reconcile's deadline (upstream calls) */
	int64_t app_delete_resend_ms;         /* a DELETE still listed after this is sent again */
	struct events_settings events;        /* VIBN_EVENT_*: zero fields take the defaults */
};

/* What one worker brings to a reconcile (all borrowed). */
struct pass_env {
	struct rec_db *db; /* lends a connection per statement */
	struct gitea *gitea;
	struct coolify *coolify;
	const struct pass_settings *set;
	struct project_cache *projects; /* shared by the workers; NULL: list afresh each time */
	/* A background (drift sweep) run: the org's settings and the recorded Coolify project
	 * are looked up in the shared list snapshots (one list per run serves the whole sweep,
	 * DESIGN 2) and read directly only when a snapshot does not show them in step.
	 * Interactive runs always read them. */
	int sweep;
	const char *reconcile_id; /* this run's id, recorded on its events; may be NULL */
	const _Atomic int64_t *lease_until_ms; /* the run's lease (rec_ctx); may be NULL */
	struct org_cache *orgs; /* shared by the workers; NULL: sweeps read each org */
	/* Gitea clients of the steps that run beside the members step once the org is there
	 * (a client serves one thread at a time): [0] the repos, [1] the hook, [2] the members
	 * step's adds to its Admins and Members teams, beside its adds to Owners. NULL: those
	 * steps run one after another on the worker's thread with gitea. */
	struct gitea *gitea_more[PASS_GITEA_MORE];
};

struct pass {
	struct pass_env *env;
	struct desired_ws *ws; /* borrowed */
	json_t *conds;         /* owned working copy of the conditions */
	char now[32];          /* RFC 3339, for lastTransitionTime */
	int64_t started_ms;    /* util_now_ms() before the desired state was read */
	int dry;               /* paused: observe and report, change nothing */
	char *org;             /* vibn-{slug} (owned) */
	char *project_name;    /* vibn-ws-{slug} (owned) */

	/* Shared observations between steps. */
	int org_ready;      /* the org exists upstream and is ours */
	int org_fresh;      /* created by this reconcile: no teams but Owners, no repos, no hooks */
	int org_public;     /* its visibility is public: anonymous readers may clone its repos */
	char *project_uuid; /* the Coolify project in use (owned), NULL when none */
	int project_fresh;  /* created by this reconcile: no apps */
	struct gitea_repos repos; /* observed org repos (clone URLs for apps) */
	int repos_known;
	/* The project's applications, read as soon as the project was known (owned; NULL:
	 * not read yet): coolify_apps_observe, for coolify_apps_reconcile. */
	struct apps_pass *apps;

	/* The object a step is working on ("repo", "vibn-acme/web"), owned; NULL kind: the
	 * step's default (the org, the hook, the project). Failures are recorded against it. */
	char *obj_kind;
	char *obj_name;

	/* Status to record (written once, at the end, only when changed). */
	char *gitea_org;          /* owned; what vibn_workspaces.gitea_org should say */
	int64_t hook_id;          /* 0: keep what is recorded */
	char hook_secret_sha[65]; /* with hook_id */

	struct rec_result out;

	/* Shared by the copies of a pass that run at once (branch.h), under *lock: the
	 * conditions (conds above), how many failures each condition has met in this pass
	 * (type -> count), the events to record at the end (an array, pass_event) and the
	 * records (an object, pass_record_repo and the like). lock NULL: one thread. */
	pthread_mutex_t *lock;
	json_t *failures;
	json_t *events;
	json_t *records;
};

/* Records a failed upstream call on condition `type` (reason from the class: Unauthorized,
 * RateLimited, UpstreamUnavailable, UpstreamRejected, NameTaken, Renamed, NotFound) with
 * "what: upstream message (HTTP n)", and folds its retry class into the outcome. Both
 * failure writers also record a Warning event against the current object (pass_object).
 * When several steps of one condition fail in a pass, the condition names one and counts
 * the others ("...; and 2 more failures, see the events"): each has its event. The one named
 * is the one whose message sorts first, whichever of steps run at once failed first.
 * A rate limit observes nothing: a condition True at this generation when the pass began
 * (and not failed in it) stays True, the outcome still retries; returns 1 then, else 0. */
int pass_fail_call(struct pass *ctx, const char *type, const char *what,
                   const struct http_status *st);
/* Records a non-call failure (e.g. a database error) as transient on condition `type`. */
void pass_fail_msg(struct pass *ctx, const char *type, const char *reason, enum rec_class fail,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Sets condition `type` (generation and time from ctx). */
void pass_cond(struct pass *ctx, const char *type, int ok, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Paused: reports a change that would be made as condition `type` False, reason Paused,
 * message "paused; would <...>", and changes nothing. */
void pass_would(struct pass *ctx, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records an event of the workspace (type EVENTS_NORMAL or EVENTS_WARNING; reason
 * CamelCase; the object's kind and name). Call it for every upstream change made; the
 * failure writers above record their own Warning. The pass keeps its events and writes them
 * in one call at its end (pass_events_flush). A write that fails is logged: the trail never
 * stops convergence. */
void pass_event(struct pass *ctx, const char *type, const char *reason, const char *kind,
                const char *name, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Writes the events kept so far (before the row goes: events go with their workspace). */
void pass_events_flush(struct pass *ctx);
/* The events kept so far as JSON text for vibn_events_record (a new string), or NULL when
 * there are none; they are no longer kept (the status write records them with it). */
char *pass_events_take(struct pass *ctx);
/* Names the object the following failures are about. Per-object loops set it for each
 * object and clear it after (back to the step's default object). */
void pass_object(struct pass *ctx, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pass_object_clear(struct pass *ctx);

/* Per-resource reconcilers. Each sets its condition; failures go through pass_fail_*. */
void gitea_org_reconcile(struct pass *ctx);
void gitea_members_reconcile(struct pass *ctx);
void gitea_repos_reconcile(struct pass *ctx);
void gitea_hook_reconcile(struct pass *ctx);
void coolify_project_reconcile(struct pass *ctx);
void coolify_apps_reconcile(struct pass *ctx);
/* Reads the applications of the project in use for coolify_apps_reconcile, which needs the
 * repos as well: on the Coolify side, as soon as the project is known, the read waits beside
 * the Gitea side instead of after it. Nothing to do when no app is declared or owned, or no
 * project is known. */
void coolify_apps_observe(struct pass *ctx);
/* Frees what coolify_apps_observe read and no step used (a pass that stopped before its
 * apps step). */
void coolify_apps_pass_free(struct pass *ctx);
/* Repos the API asked to delete upstream (gitea_reap.c). Returns 1 when none is left. */
int gitea_reap_reconcile(struct pass *ctx);

/* Deletion (deletionPolicy Delete): each returns 1 when its resources are gone upstream. */
int coolify_apps_delete(struct pass *ctx);
int gitea_repos_delete(struct pass *ctx);
int gitea_org_delete_all(struct pass *ctx);
int coolify_project_delete_all(struct pass *ctx);

/* Status helpers (status columns only, so no generation bump). What the pass found of
 * resources it made or adopted is kept (ctx->records) and written with the status at its
 * end, in the same statement: a pass sends one write, however many things it made. A lost
 * record costs nothing but a later adoption by name, as after a crash. What must be durable
 * before an upstream call (the project's create-pending marker), and what is rare (deletion
 * bookkeeping), is written at once: 0 or -1 (recorded on the outcome as transient). */
/* Makes a project create pending, durable before the create is sent: nothing to do when
 * the pass's read marked it (desired_load_for_pass), else written at once. */
int pass_project_pending(struct pass *ctx);
/* Keeps the uuid of the project in use, for the end of the pass (which clears the create
 * pending marker). */
void pass_record_project(struct pass *ctx, const char *uuid);
/* No project create is in doubt any more (none was sent, or Coolify refused it before
 * making anything): the end of the pass clears the marker, when there is one. */
void pass_project_settled(struct pass *ctx);
/* Keeps what Gitea says of declared repo d (r: observed, or just created): its id and
 * clone URLs, when they differ from what d says is recorded. */
void pass_record_repo(struct pass *ctx, const struct desired_repo *d, const struct gitea_repo *r);
/* Keeps what Coolify says of declared app d: its uuid and domains (Coolify's fqdn:
 * comma-separated URLs; NULL: not known), only what differs from what d says is recorded. */
void pass_record_app(struct pass *ctx, const struct desired_app *d, const char *uuid,
                     const char *domains);
/* Keeps the managed teams' ids (ids: team name -> id; the reference is taken), when they are
 * not what is recorded and not empty. */
void pass_record_team_ids(struct pass *ctx, json_t *ids);
/* Keeps the set of upstream app names we own (n names), when it is not what is recorded. */
void pass_record_app_names(struct pass *ctx, char *const *names, size_t n);
/* What the pass kept for the end (the records above) as JSON text for
 * vibn_workspace_finish (a new string), or NULL when nothing; no longer kept after. */
char *pass_records_take(struct pass *ctx);
/* Forgets a settled repo deletion request (vibn_workspace_repo_deletions.id), at once. */
int pass_record_deletion_done(struct pass *ctx, long long id);
/* Records that a DELETE of Coolify application uuid was sent now. */
int pass_record_app_delete(struct pass *ctx, const char *uuid, const char *name);
/* Forgets the recorded DELETEs of these n application uuids (they are gone). */
int pass_forget_app_deletes(struct pass *ctx, const char *const *uuids, size_t n);
/* Notes the org hook's id and the hex SHA-256 of the secret it was given, for the status
 * write at the end of the pass (no write of its own: a lost note costs one more edit). */
void pass_note_hook(struct pass *ctx, int64_t id, const char *secret_sha256);

#endif
