/* The "workspace" reconciler as vibnd runs it: per-worker Gitea and Coolify clients (each
 * one keep-alive connection), the shared per-upstream budgets and project-list snapshot,
 * and the mapping of a workspace reconcile's outcome onto the queue's retry classes. */
#include <stdlib.h>
#include <string.h>

#include "clients/coolify.h"
#include "clients/gitea.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "controller/config.h"
#include "controller/metrics.h"
#include "controller/reconciler.h"
#include "reconcilers/workspace.h"

/* One reconcile's deadline for its upstream calls, and Coolify's async app delete wait. */
#define WSD_TIMEOUT_MS         60000
#define WSD_APP_DELETE_WAIT_MS 10000
/* How stale the shared Coolify project list may be for adoption lookups. */
#define WSD_PROJECT_LIST_TTL_MS 30000

struct wsd_worker {
	struct gitea *gitea;
	struct coolify *coolify;
};

struct wsd_state {
	struct wsr_settings set;
	struct wsr_shared *shared;
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

static int
wsd_init(const struct config *cfg, void **state, char **cause)
{
	struct wsd_state *s = xcalloc(1, sizeof *s);
	struct gitea_config gc = {0};
	struct coolify_config cc = {0};

	s->set.gitea_admin_user = config_get(cfg, "GITEA_ADMIN_USER");
	s->set.public_url = config_get(cfg, "VIBN_PUBLIC_URL");
	s->set.webhook_secret = config_get(cfg, "GITEA_WEBHOOK_SECRET");
	s->set.coolify_server_uuid = config_get(cfg, "COOLIFY_SERVER_UUID");
	s->set.coolify_deploy_key_uuid = config_get(cfg, "VIBN_COOLIFY_DEPLOY_KEY_UUID");
	s->set.timeout_ms = WSD_TIMEOUT_MS;
	s->set.app_delete_wait_ms = WSD_APP_DELETE_WAIT_MS;
	s->shared = wsr_shared_new(WSD_PROJECT_LIST_TTL_MS);
	s->gitea_budget = gitea_budget_new((int)config_int(cfg, CFG_GITEA_RPS));
	s->coolify_budget = coolify_budget_new((int)config_int(cfg, CFG_COOLIFY_RPM));
	s->nworkers = (int)config_int(cfg, CFG_WORKERS);
	s->workers = xcalloc((size_t)s->nworkers, sizeof *s->workers);
	gc.api_url = config_get(cfg, "GITEA_API_URL");
	gc.token = config_get(cfg, "GITEA_API_TOKEN");
	gc.admin_user = s->set.gitea_admin_user;
	gc.budget = s->gitea_budget;
	cc.url = config_get(cfg, "COOLIFY_URL");
	cc.token = config_get(cfg, "COOLIFY_API_TOKEN");
	cc.budget = s->coolify_budget;
	for (int i = 0; i < s->nworkers; i++) {
		s->workers[i].gitea = gitea_new(&gc);
		s->workers[i].coolify = coolify_new(&cc);
	}
	http_set_observer(metrics_upstream_request);
	*state = s;
	*cause = NULL;
	return 0;
}

static void
wsd_reconcile(const struct rec_ctx *ctx, void *state, struct rec_result *out)
{
	struct wsd_state *s = state;
	struct wsd_worker *w = &s->workers[ctx->worker];
	struct wsr_env env = {ctx->db, w->gitea, w->coolify, &s->set, s->shared, ctx->priority > 0};
	struct wsr_outcome o;
	int64_t wait;

	workspace_reconcile(&env, ctx->workspace_id, &o);
	switch (o.fail) {
	case WSR_FAIL_NONE:
		if (o.requeue_after_ms > 0)
			rec_requeue_after(out, o.requeue_after_ms);
		else
			rec_done(out);
		break;
	case WSR_FAIL_RATE_LIMITED:
		wait = o.not_before_ms > 0 ? o.not_before_ms - util_now_ms() : 0;
		rec_error(out, REC_ERR_RATE_LIMITED, wait > 0 ? wait : 0, "%s", o.message);
		break;
	case WSR_FAIL_TRANSIENT:
		rec_error(out, REC_ERR_TRANSIENT, 0, "%s", o.message);
		break;
	case WSR_FAIL_PERMANENT:
		rec_error(out, REC_ERR_PERMANENT, 0, "%s", o.message);
		break;
	}
}

static void
wsd_fini(void *state)
{
	struct wsd_state *s = state;

	if (s == NULL)
		return;
	http_set_observer(NULL);
	for (int i = 0; i < s->nworkers; i++) {
		gitea_free(s->workers[i].gitea);
		coolify_free(s->workers[i].coolify);
	}
	free(s->workers);
	http_budget_free(s->gitea_budget);
	http_budget_free(s->coolify_budget);
	wsr_shared_free(s->shared);
	free(s);
}

const struct reconciler workspace_reconciler = {
    .name = "workspace",
    .required_settings = wsd_required,
    .init = wsd_init,
    .reconcile = wsd_reconcile,
    .fini = wsd_fini,
};
