#include "loop.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "common/log.h"
#include "common/xmalloc.h"

static struct event_base *loop_evbase;

struct loop_call_arg {
	TAILQ_ENTRY(loop_call_arg) entry;
	loop_fn fn;
	void *arg;
};

/* Calls posted and not run yet: a thread may post one after the loop has stopped (a worker
 * saying it exited, at shutdown); loop_free frees what never ran. */
TAILQ_HEAD(loop_call_list, loop_call_arg);
static struct loop_call_list loop_calls = TAILQ_HEAD_INITIALIZER(loop_calls);
static pthread_mutex_t loop_calls_lock = PTHREAD_MUTEX_INITIALIZER;

/* Routes libevent's own warnings into our log. */
static void
loop_event_log(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_warn("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

void
loop_init(void)
{
	if (loop_evbase != NULL)
		return;
	if (evthread_use_pthreads() != 0)
		fatalx("libevent: no pthread support");
	event_set_log_callback(loop_event_log);
	if ((loop_evbase = event_base_new()) == NULL)
		fatalx("libevent: cannot create the event base");
}

struct event_base *
loop_base(void)
{
	return loop_evbase;
}

static void
loop_call_cb(evutil_socket_t fd, short what, void *p)
{
	struct loop_call_arg *c = p;
	loop_fn fn = c->fn;
	void *arg = c->arg;

	pthread_mutex_lock(&loop_calls_lock);
	TAILQ_REMOVE(&loop_calls, c, entry);
	pthread_mutex_unlock(&loop_calls_lock);
	free(c);
	fn(arg);
}

int
loop_call(loop_fn fn, void *arg)
{
	static const struct timeval now = {0, 0};
	struct loop_call_arg *c;

	if (loop_evbase == NULL)
		return -1;
	c = xmalloc(sizeof *c);
	c->fn = fn;
	c->arg = arg;
	/* Listed before it is posted: the loop may run it at once. */
	pthread_mutex_lock(&loop_calls_lock);
	TAILQ_INSERT_TAIL(&loop_calls, c, entry);
	pthread_mutex_unlock(&loop_calls_lock);
	/* With pthread support enabled, adding from another thread wakes the loop. */
	if (event_base_once(loop_evbase, -1, EV_TIMEOUT, loop_call_cb, c, &now) != 0) {
		pthread_mutex_lock(&loop_calls_lock);
		TAILQ_REMOVE(&loop_calls, c, entry);
		pthread_mutex_unlock(&loop_calls_lock);
		free(c);
		return -1;
	}
	return 0;
}

void
loop_free(void)
{
	struct loop_call_arg *c;

	if (loop_evbase != NULL)
		event_base_free(loop_evbase);
	loop_evbase = NULL;
	pthread_mutex_lock(&loop_calls_lock);
	while ((c = TAILQ_FIRST(&loop_calls)) != NULL) {
		TAILQ_REMOVE(&loop_calls, c, entry);
		free(c);
	}
	pthread_mutex_unlock(&loop_calls_lock);
	libevent_global_shutdown();
}
