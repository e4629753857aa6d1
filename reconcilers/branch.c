#include "branch.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* A branch thread's stack. glibc keeps the stacks of ended threads for reuse up to 40 MB in
 * all; at the default 8 MB that is five, and the other branches of 64 passes in flight each
 * map a stack and unmap it (a TLB shootdown on every core) when they end. A step's deepest
 * path (libcurl, jansson, a log line) needs a few tens of KB. */
#define BRANCH_STACK (512 * 1024)

static pthread_attr_t branch_attr;
static pthread_once_t branch_once = PTHREAD_ONCE_INIT;

static void
branch_attr_init(void)
{
	pthread_attr_init(&branch_attr);
	pthread_attr_setstacksize(&branch_attr, BRANCH_STACK);
}

static void *
branch_main(void *arg)
{
	struct branch *b = arg;

	b->step(&b->ctx, b->arg);
	if (b->after != NULL) {
		branch_join(&b->ctx, b->wait);
		b->after(&b->ctx);
	}
	return NULL;
}

void
branch_start_then(struct pass *ctx, struct branch *b, void (*step)(struct pass *, void *),
                  void *arg, struct gitea *gitea, struct branch *wait, void (*after)(struct pass *))
{
	pthread_once(&branch_once, branch_attr_init);
	b->env = *ctx->env;
	if (gitea != NULL)
		b->env.gitea = gitea;
	b->ctx = *ctx;
	b->ctx.env = &b->env;
	b->step = step;
	b->arg = arg;
	b->wait = wait;
	b->after = after;
	/* What the branch owns: nothing of the pass's that started it. */
	b->ctx.obj_kind = b->ctx.obj_name = NULL;
	b->ctx.gitea_org = NULL;
	b->ctx.project_uuid = NULL;
	b->ctx.hook_id = 0;
	memset(&b->ctx.repos, 0, sizeof b->ctx.repos);
	b->ctx.repos_known = 0;
	rec_done(&b->ctx.out);
	b->started = pthread_create(&b->thread, &branch_attr, branch_main, b) == 0;
	if (!b->started) {
		log_warn("workspace %s: no thread for a step that could run beside the others; it"
		         " runs now",
		         ctx->ws->slug);
		branch_main(b);
	}
}

void
branch_start(struct pass *ctx, struct branch *b, void (*step)(struct pass *, void *), void *arg,
             struct gitea *gitea)
{
	branch_start_then(ctx, b, step, arg, gitea, NULL, NULL);
}

void
branch_join(struct pass *ctx, struct branch *b)
{
	if (b->started)
		pthread_join(b->thread, NULL);
	if (b->ctx.project_uuid != NULL) {
		free(ctx->project_uuid);
		ctx->project_uuid = b->ctx.project_uuid;
		ctx->project_fresh = b->ctx.project_fresh;
	}
	if (b->ctx.repos_known) {
		gitea_repos_free(&ctx->repos);
		ctx->repos = b->ctx.repos;
		ctx->repos_known = 1;
	} else {
		gitea_repos_free(&b->ctx.repos);
	}
	if (b->ctx.hook_id != 0) {
		ctx->hook_id = b->ctx.hook_id;
		memcpy(ctx->hook_secret_sha, b->ctx.hook_secret_sha, sizeof ctx->hook_secret_sha);
	}
	if (b->ctx.out.cls != REC_OK || b->ctx.out.message[0] != '\0')
		rec_fold(&ctx->out, b->ctx.out.cls, b->ctx.out.not_before_ms, b->ctx.out.message);
	if (b->ctx.out.requeue_after_ms > 0 &&
	    (ctx->out.requeue_after_ms == 0 ||
	     b->ctx.out.requeue_after_ms < ctx->out.requeue_after_ms))
		ctx->out.requeue_after_ms = b->ctx.out.requeue_after_ms;
	free(b->ctx.obj_kind);
	free(b->ctx.obj_name);
}
