/* The "workspace" reconciler as vibnd runs it: per-worker Gitea and Coolify clients (each
 * one keep-alive connection), the shared per-upstream budgets and list snapshots (Coolify's
 * projects, Gitea's orgs),
 * and the mapping of a workspace reconcile's outcome onto the queue's retry classes. */
#include <stdlib.h>
#include <string.h>

#include "clients/coolify.h"
#include "clients/gitea.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "reconcilers/branch.h"
#include "reconcilers/clone_url.h"
#include "reconcilers/reconciler.h"
#include "reconcilers/workspace.h"

/* One reconcile's deadline for its upstream calls. */
#define WSD_TIMEOUT_MS 60000
/* A Coolify app still listed this long after its DELETE gets another: the first job was
 * lost (a worker restart), not merely slow (a busy queue takes minutes). */
#define WSD_APP_DELETE_RESEND_MS (15 * 60 * 1000)
/* How stale the shared Coolify project list may be for adoption lookups (sweeps take one
 * listed since their run began). */
#define WSD_PROJECT_LIST_TTL_MS 30000

struct wsd_worker {
	struct gitea *gitea;
	struct gitea *gitea_more[PASS_GITEA_MORE]; /* pass_env.gitea_more */
	struct coolify *coolify;
};

struct wsd_state {
	struct pass_settings set;
	struct project_cache *projects;
	struct org_cache *orgs;
	struct http_budget *gitea_budget;
	struct http_budget *coolify_budget;
	struct wsd_worker *workers;
	int nworkers;
};

static const char *const wsd_required[] = {
    "GITEA_API_URL",        "GITEA_API_TOKEN", "GITEA_ADMIN_USER",
    "GITEA_WEBHOOK_SECRET", "COOLIFY_URL",     "COOLIFY_API_TOKEN",
    "COOLIFY_SERVER_UUID",  "VIBN_PUBLIC_URL", NULL,
};

/* A number of seconds the daemon checked against its bounds, in milliseconds. */
static long
wsd_ms(const struct rec_host *host, const char *name)
{
	const char *v = host->setting(host, name);

	return v != NULL ? (long)(atof(v) * 1000.0 + 0.5) : 0;
}

/* A setting the daemon checked against its bounds: a number. */
static int
wsd_int(const struct rec_host *host, const char *name)
{
	const char *v = host->setting(host, name);

	return v != NULL ? atoi(v) : 0;
}

static int
wsd_init(const struct rec_host *host, void **state, char **cause)
{
	struct wsd_state *s = xcalloc(1, sizeof *s);
	struct gitea_config gc = {0};
	struct coolify_config cc = {0};

	s->set.gitea_admin_user = host->setting(host, "GITEA_ADMIN_USER");
	s->set.public_url = host->setting(host, "VIBN_PUBLIC_URL");
	s->set.webhook_secret = host->setting(host, "GITEA_WEBHOOK_SECRET");
	s->set.coolify_server_uuid = host->setting(host, "COOLIFY_SERVER_UUID");
	s->set.coolify_deploy_key_uuid = host->setting(host, "VIBN_COOLIFY_DEPLOY_KEY_UUID");
	s->set.coolify_destination_uuid = host->setting(host, "COOLIFY_DESTINATION_UUID");
	s->set.gitea_clone_host = host->setting(host, "VIBN_GITEA_CLONE_HOST");
	s->set.timeout_ms = WSD_TIMEOUT_MS;
	s->set.app_delete_resend_ms = WSD_APP_DELETE_RESEND_MS;
	s->set.events.window_ms = (int64_t)wsd_int(host, "VIBN_EVENT_WINDOW") * 1000;
	s->set.events.retention_ms = (int64_t)wsd_int(host, "VIBN_EVENT_RETENTION") * 1000;
	s->set.events.keep = wsd_int(host, "VIBN_EVENT_KEEP");
	if (s->set.gitea_clone_host != NULL &&
	    clone_url_check_host(s->set.gitea_clone_host, cause) != 0) {
		free(s);
		return -1;
	}
	s->projects = project_cache_new(WSD_PROJECT_LIST_TTL_MS);
	s->orgs = org_cache_new();
	s->gitea_budget = gitea_budget_new(wsd_int(host, "VIBN_GITEA_RPS"));
	s->coolify_budget = coolify_budget_new(wsd_int(host, "VIBN_COOLIFY_RPM"));
	s->nworkers = host->workers;
	s->workers = xcalloc((size_t)s->nworkers, sizeof *s->workers);
	gc.api_url = host->setting(host, "GITEA_API_URL");
	gc.token = host->setting(host, "GITEA_API_TOKEN");
	gc.admin_user = s->set.gitea_admin_user;
	gc.budget = s->gitea_budget;
	/* Each request ends well within the reconcile's deadline: one that hangs costs its
	 * timeout (and a retry), not the whole pass. */
	gc.timeout_ms = wsd_ms(host, "VIBN_UPSTREAM_TIMEOUT");
	cc.url = host->setting(host, "COOLIFY_URL");
	cc.token = host->setting(host, "COOLIFY_API_TOKEN");
	cc.budget = s->coolify_budget;
	cc.timeout_ms = gc.timeout_ms;
	for (int i = 0; i < s->nworkers; i++) {
		s->workers[i].gitea = gitea_new(&gc);
		for (int k = 0; k < PASS_GITEA_MORE; k++)
			s->workers[i].gitea_more[k] = gitea_new(&gc);
		s->workers[i].coolify = coolify_new(&cc);
	}
	http_set_observer(host->observer);
	http_set_retry_observer(host->retry_observer);
	*state = s;
	*cause = NULL;
	return 0;
}

static void
wsd_reconcile(const struct rec_ctx *ctx, void *state, struct rec_result *out)
{
	struct wsd_state *s = state;
	struct wsd_worker *w = &s->workers[ctx->worker];
	struct pass_env env = {
	    .db = ctx->db,
	    .gitea = w->gitea,
	    .coolify = w->coolify,
	    .set = &s->set,
	    .projects = s->projects,
	    .sweep = ctx->priority > 0,
	    .reconcile_id = ctx->reconcile_id,
	    .orgs = s->orgs,
	    .lease_until_ms = ctx->lease_until_ms,
	    .gitea_more = {w->gitea_more[0], w->gitea_more[1], w->gitea_more[2]},
	};

	workspace_reconcile(&env, ctx->workspace_id, out);
}

/* A drift repair run began: its sweeps list orgs and projects afresh, once. */
static void
wsd_sweep_started(void *state)
{
	struct wsd_state *s = state;

	org_cache_sweep_started(s->orgs);
	project_cache_sweep_started(s->projects);
}

static void
wsd_fini(void *state)
{
	struct wsd_state *s = state;

	if (s == NULL)
		return;
	http_set_observer(NULL);
	http_set_retry_observer(NULL);
	branch_pool_close(); /* no pass runs any more */
	for (int i = 0; i < s->nworkers; i++) {
		gitea_free(s->workers[i].gitea);
		for (int k = 0; k < PASS_GITEA_MORE; k++)
			gitea_free(s->workers[i].gitea_more[k]);
		coolify_free(s->workers[i].coolify);
	}
	free(s->workers);
	http_budget_free(s->gitea_budget);
	http_budget_free(s->coolify_budget);
	project_cache_free(s->projects);
	org_cache_free(s->orgs);
	free(s);
}

const struct reconciler workspace_reconciler = {
    .name = "workspace",
    .required_settings = wsd_required,
    .init = wsd_init,
    .reconcile = wsd_reconcile,
    .sweep_started = wsd_sweep_started,
    .fini = wsd_fini,
};
