#include "branch.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* A branch thread's stack. A step's deepest path (libcurl, jansson, a log line) needs a few
 * tens of KB. */
#define BRANCH_STACK (512 * 1024)

/* The threads that run branches. One that has run a branch waits for the next instead of
 * ending: a full workspace's pass starts four branches, and a thread made and ended for
 * each (its stack mapped and unmapped, a TLB shootdown on every core, its malloc cache
 * emptied) cost vibnd about a tenth of its CPU. They are as many as the most branches ever
 * run at once (at most four per worker), and end with branch_pool_close. */
struct branch_thread {
	pthread_t thread;
	pthread_cond_t wake; /* work given, or the pool closing */
	struct branch *work; /* under the pool's lock; NULL: idle */
	struct branch_thread *next_idle;
	struct branch_thread *next_all;
};

static struct {
	pthread_mutex_t lock;
	pthread_attr_t attr;
	int attr_ready;
	int closing;
	struct branch_thread *idle; /* a stack */
	struct branch_thread *all;
} branch_pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void
branch_run(struct branch *b)
{
	b->step(&b->ctx, b->arg);
	if (b->after != NULL) {
		branch_join(&b->ctx, b->wait);
		b->after(&b->ctx);
	}
}

static void *
branch_thread_main(void *arg)
{
	struct branch_thread *t = arg;

	pthread_mutex_lock(&branch_pool.lock);
	for (;;) {
		struct branch *b;

		while (t->work == NULL && !branch_pool.closing)
			pthread_cond_wait(&t->wake, &branch_pool.lock);
		if (t->work == NULL)
			break;
		b = t->work;
		pthread_mutex_unlock(&branch_pool.lock);
		branch_run(b);
		pthread_mutex_lock(&branch_pool.lock);
		t->work = NULL;
		/* The joiner owns b again once the lock is let go: nothing of it is touched
		 * after. */
		b->finished = 1;
		pthread_cond_signal(&b->done);
		if (!branch_pool.closing) {
			t->next_idle = branch_pool.idle;
			branch_pool.idle = t;
		}
	}
	pthread_mutex_unlock(&branch_pool.lock);
	return NULL;
}

/* Gives b to an idle thread, or to a new one. 0, or -1 when no thread could be made (the
 * lock held). */
static int
branch_dispatch(struct branch *b)
{
	struct branch_thread *t = branch_pool.idle;

	if (t != NULL) {
		branch_pool.idle = t->next_idle;
		t->work = b;
		pthread_cond_signal(&t->wake);
		return 0;
	}
	if (branch_pool.closing)
		return -1;
	if (!branch_pool.attr_ready) {
		pthread_attr_init(&branch_pool.attr);
		pthread_attr_setstacksize(&branch_pool.attr, BRANCH_STACK);
		branch_pool.attr_ready = 1;
	}
	t = calloc(1, sizeof *t);
	if (t == NULL)
		return -1;
	pthread_cond_init(&t->wake, NULL);
	t->work = b;
	if (pthread_create(&t->thread, &branch_pool.attr, branch_thread_main, t) != 0) {
		pthread_cond_destroy(&t->wake);
		free(t);
		return -1;
	}
	t->next_all = branch_pool.all;
	branch_pool.all = t;
	return 0;
}

void
branch_start_then(struct pass *ctx, struct branch *b, void (*step)(struct pass *, void *),
                  void *arg, struct gitea *gitea, struct branch *wait, void (*after)(struct pass *))
{
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
	b->ctx.apps = NULL;
	rec_done(&b->ctx.out);
	b->finished = 0;
	pthread_cond_init(&b->done, NULL);
	pthread_mutex_lock(&branch_pool.lock);
	b->started = branch_dispatch(b) == 0;
	pthread_mutex_unlock(&branch_pool.lock);
	if (!b->started) {
		log_warn("workspace %s: no thread for a step that could run beside the others; it"
		         " runs now",
		         ctx->ws->slug);
		branch_run(b);
	}
}

void
branch_pool_close(void)
{
	struct branch_thread *t, *next;

	pthread_mutex_lock(&branch_pool.lock);
	branch_pool.closing = 1;
	for (t = branch_pool.all; t != NULL; t = t->next_all)
		pthread_cond_signal(&t->wake);
	t = branch_pool.all;
	branch_pool.all = branch_pool.idle = NULL;
	pthread_mutex_unlock(&branch_pool.lock);
	for (; t != NULL; t = next) {
		next = t->next_all;
		pthread_join(t->thread, NULL);
		pthread_cond_destroy(&t->wake);
		free(t);
	}
	pthread_mutex_lock(&branch_pool.lock);
	branch_pool.idle = NULL;
	branch_pool.closing = 0;
	pthread_mutex_unlock(&branch_pool.lock);
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
	if (b->started) {
		pthread_mutex_lock(&branch_pool.lock);
		while (!b->finished)
			pthread_cond_wait(&b->done, &branch_pool.lock);
		pthread_mutex_unlock(&branch_pool.lock);
	}
	pthread_cond_destroy(&b->done);
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
	if (b->ctx.apps != NULL) {
		coolify_apps_pass_free(ctx);
		ctx->apps = b->ctx.apps;
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
