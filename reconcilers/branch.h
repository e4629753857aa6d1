/* branch: a step of a pass run on a thread of its own, beside the thread that started it,
 * so that upstream calls that do not depend on each other wait at the same time. A branch
 * works on a copy of the pass: its own current object, outcome and observations, with the
 * conditions, events, records and database pool shared under the pass's lock (pass.h); its
 * pass_env is a copy too, with the Gitea client it was given (a client serves one thread at
 * a time: the branch uses only that one, and the Coolify client only when no other step uses
 * it meanwhile). Joining a branch takes over what it found. */
#ifndef VIBN_BRANCH_H
#define VIBN_BRANCH_H

#include <pthread.h>

#include "clients/gitea.h"
#include "reconcilers/pass.h"

struct branch {
	struct pass ctx;
	struct pass_env env;
	void (*step)(struct pass *ctx, void *arg);
	void *arg; /* borrowed, for step */
	/* Then, when set: take over branch wait (join it) and run after. */
	struct branch *wait;
	void (*after)(struct pass *ctx);
	int started;         /* on a thread of the pool (else it ran at its start) */
	int finished;        /* under the pool's lock */
	pthread_cond_t done; /* signalled when finished is set */
};

/* Starts step(copy of ctx, arg) on a thread (one kept from an earlier branch, or a new one);
 * gitea, when not NULL, is the branch's Gitea client (else the pass's). Without a thread
 * (none could be made), it all runs now, on this one. Every branch started is joined. */
void branch_start(struct pass *ctx, struct branch *b, void (*step)(struct pass *, void *),
                  void *arg, struct gitea *gitea);
/* branch_start, then, on the branch's thread, joins branch wait and runs after. */
void branch_start_then(struct pass *ctx, struct branch *b, void (*step)(struct pass *, void *),
                       void *arg, struct gitea *gitea, struct branch *wait,
                       void (*after)(struct pass *));
/* Waits for branch b and takes over what it found (the project in use, the repos observed,
 * the apps read, the hook made) and its outcome (folded into ctx->out). */
void branch_join(struct pass *ctx, struct branch *b);
/* Ends the threads kept for branches (at shutdown, when no pass runs); later branches make
 * new ones. */
void branch_pool_close(void);

#endif
