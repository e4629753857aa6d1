/* The org's webhook: one hook pointing at VIBN_PUBLIC_URL/webhooks/gitea, json, active,
 * repository events, signed with GITEA_WEBHOOK_SECRET; found by its URL and kept active.
 *
 * Gitea never returns a hook's secret (services/webhook/general.go ToHook), so the hook's id
 * and a SHA-256 of the secret it was given are recorded (vibn_workspaces.gitea_hook_id,
 * gitea_hook_secret_sha256): a hook whose recorded hash is not the current secret's (a
 * rotated GITEA_WEBHOOK_SECRET, or a hook nobody recorded) is edited with the whole wanted
 * state, since an edit without events resets them (routers/api/v1/utils/hook.go editHook). */
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "common/xmalloc.h"
#include "reconcilers/conditions.h"
#include "reconcilers/pass.h"

static const char *const hook_events[] = {"repository", NULL};

/* Returns a new string: the hook URL for this daemon. */
static char *
hook_url(const struct pass_settings *set)
{
	size_t n = strlen(set->public_url);

	while (n > 0 && set->public_url[n - 1] == '/')
		n--;
	return xasprintf("%.*s/webhooks/gitea", (int)n, set->public_url);
}

static int
hook_in_step(const struct gitea_hook *h)
{
	int repo = 0;

	for (size_t i = 0; i < h->nevents; i++)
		if (strcmp(h->events[i], "repository") == 0)
			repo = 1;
	return h->active && h->content_type != NULL && strcmp(h->content_type, "json") == 0 && repo;
}

/* The recorded hook is found and was given this secret. */
static int
hook_secret_known(const struct pass *ctx, const struct gitea_hook *h, const char *sha)
{
	return ctx->ws->gitea_hook_id == h->id && ctx->ws->gitea_hook_secret_sha256 != NULL &&
	       strcmp(ctx->ws->gitea_hook_secret_sha256, sha) == 0;
}

/* Creates the org hook. A create that failed transiently may have happened with its answer
 * lost, and Gitea allows two hooks with one URL: the hooks are listed first, and one
 * delivering to url is given the whole wanted state (so its secret is ours) instead of
 * creating another; a create is made again only when none is there. Returns the class of
 * the last call, with *id set on HTTP_OK. */
static enum http_class
hook_create(struct pass *ctx, const struct gitea_hook_spec *spec, const char *url, int64_t *id,
            struct http_status *st)
{
	struct gitea *g = ctx->env->gitea;
	enum http_class cls;

	for (int tries = 1;; tries++) {
		struct gitea_hook made = {0};
		struct gitea_hooks hooks = {0};
		int64_t found = 0;

		cls = gitea_hook_create(g, ctx->org, spec, &made, st);
		*id = made.id;
		gitea_hook_free(&made);
		if (cls != HTTP_TRANSIENT || tries == PASS_CREATE_TRIES)
			return cls;
		if (gitea_hook_list(g, ctx->org, &hooks, NULL) != HTTP_OK) {
			gitea_hooks_free(&hooks);
			continue;
		}
		for (size_t i = 0; i < hooks.n && found == 0; i++)
			if (hooks.v[i].url != NULL && strcmp(hooks.v[i].url, url) == 0)
				found = hooks.v[i].id;
		gitea_hooks_free(&hooks);
		if (found != 0) {
			*id = found;
			return gitea_hook_edit(g, ctx->org, found, spec, NULL, st);
		}
	}
}

void
gitea_hook_reconcile(struct pass *ctx)
{
	struct gitea_hooks hooks = {0};
	struct gitea_hook *found = NULL;
	struct gitea_hook_spec spec;
	struct http_status st;
	char *url, sha[65];
	const char *secret = ctx->env->set->webhook_secret;

	if (!ctx->org_ready) {
		pass_cond(ctx, COND_WEBHOOK, 0, "OrgNotReady", "waiting for the Gitea org %s",
		          ctx->org);
		return;
	}
	url = hook_url(ctx->env->set);
	spec.url = url;
	spec.secret = secret;
	spec.events = hook_events;
	util_sha256_hex(secret ? secret : "", secret ? strlen(secret) : 0, sha);
	if (!ctx->org_fresh) {
		if (gitea_hook_list(ctx->env->gitea, ctx->org, &hooks, &st) != HTTP_OK) {
			pass_fail_call(ctx, COND_WEBHOOK, "listing the org's hooks", &st);
			goto out;
		}
		for (size_t i = 0; i < hooks.n && found == NULL; i++)
			if (hooks.v[i].url != NULL && strcmp(hooks.v[i].url, url) == 0)
				found = &hooks.v[i];
	}
	if (found != NULL && hook_in_step(found) && hook_secret_known(ctx, found, sha)) {
		pass_cond(ctx, COND_WEBHOOK, 1, "UpToDate", "hook %lld delivers to %s",
		          (long long)found->id, url);
	} else if (ctx->dry) {
		pass_would(ctx, COND_WEBHOOK, "%s the org hook to %s",
		           found == NULL          ? "create"
		           : !hook_in_step(found) ? "re-activate"
		                                  : "give the current secret to",
		           url);
	} else if (found != NULL) {
		int rotate = hook_in_step(found);

		if (gitea_hook_edit(ctx->env->gitea, ctx->org, found->id, &spec, NULL, &st) !=
		    HTTP_OK) {
			pass_fail_call(ctx, COND_WEBHOOK,
			               rotate ? "giving the org hook the current secret"
			                      : "re-activating the org hook",
			               &st);
		} else {
			pass_note_hook(ctx, found->id, sha);
			pass_cond(ctx, COND_WEBHOOK, 1, "Updated",
			          rotate ? "hook %lld was given the current webhook secret"
			                 : "hook %lld was inactive or changed; restored",
			          (long long)found->id);
			pass_event(ctx, EVENTS_NORMAL, "Updated", "hook", ctx->org,
			           rotate ? "hook %lld was given the current webhook secret"
			                  : "hook %lld was inactive or changed; restored",
			           (long long)found->id);
		}
	} else {
		const char *reason =
		    ctx->org_fresh || ctx->ws->observed_generation == 0 ? "Created" : "Recreated";

		int64_t id = 0;

		if (hook_create(ctx, &spec, url, &id, &st) != HTTP_OK) {
			pass_fail_call(ctx, COND_WEBHOOK, "creating the org hook", &st);
		} else {
			pass_note_hook(ctx, id, sha);
			pass_cond(ctx, COND_WEBHOOK, 1, reason, "hook delivers to %s", url);
			pass_event(ctx, EVENTS_NORMAL, reason, "hook", ctx->org, "delivers to %s",
			           url);
		}
	}
out:
	gitea_hooks_free(&hooks);
	free(url);
}
