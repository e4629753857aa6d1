/* The daemon's one libevent loop: created once, thread-aware so worker threads can hand
 * work to it. Everything that touches libevent objects runs on the loop thread. */
#ifndef VIBN_LOOP_H
#define VIBN_LOOP_H

struct event_base;

typedef void (*loop_fn)(void *arg);

/* Enables libevent's pthread support and creates the base; fatal on failure. */
void loop_init(void);
/* The base (borrowed), or NULL before loop_init. */
struct event_base *loop_base(void);
/* Runs fn(arg) on the loop thread soon. Callable from any thread. Returns 0, or -1 when
 * libevent refused (then fn never runs). */
int loop_call(loop_fn fn, void *arg);
/* Frees the base (after the loop ended). */
void loop_free(void);

#endif
