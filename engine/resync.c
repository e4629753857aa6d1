#include "resync.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "clients/db.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

struct resync {
	struct event *timer;
	int64_t interval_ms;
	loop_fn fire;
	void *arg;
};

int64_t
resync_jitter_ms(int64_t interval_ms, double unit)
{
	if (unit < 0)
		unit = 0;
	if (unit >= 1)
		unit = 0.999999;
	return (int64_t)llround((double)interval_ms * (0.9 + 0.2 * unit));
}

static void
resync_arm(struct resync *r)
{
	int64_t ms = resync_jitter_ms(r->interval_ms, util_random_unit());
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};

	evtimer_add(r->timer, &tv);
}

static void
resync_tick(evutil_socket_t fd, short what, void *arg)
{
	struct resync *r = arg;

	r->fire(r->arg);
	resync_arm(r);
}

struct resync *
resync_start(int64_t interval_ms, loop_fn fire, void *arg)
{
	struct resync *r = xcalloc(1, sizeof *r);

	r->interval_ms = interval_ms;
	r->fire = fire;
	r->arg = arg;
	r->timer = evtimer_new(loop_base(), resync_tick, r);
	if (r->timer == NULL)
		fatalx("resync: cannot create the timer");
	resync_arm(r);
	return r;
}

void
resync_free(struct resync *r)
{
	if (r == NULL)
		return;
	event_free(r->timer);
	free(r);
}

int
resync_run(PGconn *db, int64_t spread_ms, int64_t min_gap_ms, long *enqueued, char **cause)
{
	char spread[48], gap[48];
	const char *params[2] = {spread, gap};
	PGresult *res;

	snprintf(spread, sizeof spread, "%lld milliseconds", (long long)spread_ms);
	snprintf(gap, sizeof gap, "%lld milliseconds", (long long)min_gap_ms);
	res = db_exec(db, "SELECT vibn_resync($1::interval, $2::interval)", 2, params, cause);
	if (res == NULL)
		return -1;
	*enqueued = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}
