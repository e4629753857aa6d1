#include "dbconns.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clients/db.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

/* How long a reconcile waits for a connection before its step fails as transient: far
 * longer than any statement of a pass, shorter than a lease. */
#define DBCONNS_LEND_WAIT_MS 10000

struct dbconns {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *conninfo;
	char *app;
	int size;
	/* Guarded by lock. */
	PGconn **idle; /* size slots, the first nidle used */
	int nidle;
	int lent;    /* taken, or being opened for a taker */
	int failing; /* the last connect failed: an episode is under way */
	dbconns_observer_fn observe;
	struct rec_db lender;
};

/* Under lock. */
static void
dbconns_changed(struct dbconns *p, int waited)
{
	if (p->observe != NULL)
		p->observe(p->lent, p->nidle, waited);
}

static void
dbconns_timespec(int64_t mono_ms, struct timespec *ts)
{
	ts->tv_sec = mono_ms / 1000;
	ts->tv_nsec = (mono_ms % 1000) * 1000000L;
}

/* Opens a connection for a slot already counted as lent; gives the slot back on failure. */
static int
dbconns_open(struct dbconns *p, PGconn **conn, char **cause)
{
	int was_failing;

	*conn = db_connect(p->conninfo, p->app, cause);
	pthread_mutex_lock(&p->lock);
	was_failing = p->failing;
	p->failing = *conn == NULL;
	if (*conn == NULL) {
		p->lent--;
		dbconns_changed(p, 0);
		pthread_cond_signal(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	if (*conn == NULL) {
		/* The first failure of an episode is a warning, repeats are debug. */
		if (!was_failing)
			log_warn("database (%s): %s", p->app, *cause);
		else
			log_debug("database (%s): %s", p->app, *cause);
		return -1;
	}
	if (was_failing)
		log_info("database (%s): connection restored", p->app);
	return 0;
}

int
dbconns_take(struct dbconns *p, int64_t deadline_ms, PGconn **conn, char **cause)
{
	struct timespec ts;
	int waited = 0;

	*conn = NULL;
	dbconns_timespec(deadline_ms, &ts);
	pthread_mutex_lock(&p->lock);
	while (p->nidle == 0 && p->lent >= p->size) {
		waited = 1;
		if (util_now_ms() >= deadline_ms) {
			dbconns_changed(p, waited);
			pthread_mutex_unlock(&p->lock);
			return 1;
		}
		pthread_cond_timedwait(&p->cond, &p->lock, &ts);
	}
	p->lent++;
	if (p->nidle > 0)
		*conn = p->idle[--p->nidle];
	dbconns_changed(p, waited);
	pthread_mutex_unlock(&p->lock);
	if (*conn != NULL)
		return 0;
	return dbconns_open(p, conn, cause);
}

/* Whether conn can be lent again: idle, or made idle. */
static int
dbconns_reusable(struct dbconns *p, PGconn *conn)
{
	char *cause = NULL;

	if (PQstatus(conn) != CONNECTION_OK)
		return 0;
	switch (PQtransactionStatus(conn)) {
	case PQTRANS_IDLE:
		return 1;
	case PQTRANS_INTRANS:
	case PQTRANS_INERROR:
		log_warn("database (%s): a connection came back in a transaction; rolling back",
		         p->app);
		if (db_command(conn, "ROLLBACK", 0, NULL, &cause) == 0)
			return 1;
		free(cause);
		return 0;
	default:
		return 0; /* a query still under way, or unknown: start afresh */
	}
}

void
dbconns_give(struct dbconns *p, PGconn *conn)
{
	int keep = dbconns_reusable(p, conn);

	if (!keep)
		PQfinish(conn);
	pthread_mutex_lock(&p->lock);
	if (keep)
		p->idle[p->nidle++] = conn;
	p->lent--;
	dbconns_changed(p, 0);
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static PGconn *
dbconns_lend(struct rec_db *db, char **cause)
{
	struct dbconns *p = db->arg;
	PGconn *conn = NULL;

	switch (dbconns_take(p, util_now_ms() + DBCONNS_LEND_WAIT_MS, &conn, cause)) {
	case 0:
		return conn;
	case 1:
		*cause = xasprintf("no database connection came free within %d s (all %d lent)",
		                   DBCONNS_LEND_WAIT_MS / 1000, p->size);
		return NULL;
	default:
		return NULL;
	}
}

static void
dbconns_lend_back(struct rec_db *db, PGconn *conn)
{
	dbconns_give(db->arg, conn);
}

struct dbconns *
dbconns_new(const char *conninfo, const char *app, int size, dbconns_observer_fn observe)
{
	struct dbconns *p = xcalloc(1, sizeof *p);
	pthread_condattr_t ca;

	p->conninfo = xstrdup(conninfo);
	p->app = xstrdup(app);
	p->size = size > 0 ? size : 1;
	p->idle = xcalloc((size_t)p->size, sizeof *p->idle);
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	p->observe = observe;
	p->lender.take = dbconns_lend;
	p->lender.give = dbconns_lend_back;
	p->lender.arg = p;
	return p;
}

struct rec_db *
dbconns_lender(struct dbconns *p)
{
	return &p->lender;
}

void
dbconns_free(struct dbconns *p)
{
	if (p == NULL)
		return;
	if (p->lent != 0)
		log_warn("database (%s): %d connections still lent at exit", p->app, p->lent);
	for (int i = 0; i < p->nidle; i++)
		PQfinish(p->idle[i]);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->idle);
	free(p->conninfo);
	free(p->app);
	free(p);
}
