#include "daemon.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "clients/db.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "api/api.h"
#include "api/api_events.h"
#include "api/api_projects.h"
#include "api/api_webhook.h"
#include "api/spool.h"
#include "api/webhook.h"
#include "httpd/dbpool.h"
#include "controller/config.h"
#include "httpd/health.h"
#include "httpd/httpd.h"
#include "engine/keeper.h"
#include "engine/listen.h"
#include "controller/loop.h"
#include "api/mcp_http.h"
#include "api/ui.h"
#include "httpd/metrics.h"
#include "reconcilers/reconciler.h"
#include "engine/resync.h"
#include "engine/worker.h"
#include "tenancy/quota.h"

#define VIBND_CHANNEL "vibn_reconcile"
/* The keeper's check interval and some slack: readiness fails when the last check is older
 * than this plus VIBN_API_TIMEOUT. */
#define VIBND_READY_STALE_MS 1500

/* After the shutdown timeout, running reconciles are fenced (nothing more goes upstream)
 * and get this long to end before their leases are given up. */
#define VIBND_FENCE_GRACE_MS 2000

struct vibnd {
	struct config cfg;
	const struct reconciler *const *reconcilers;
	const struct reconciler *rec;
	void *rec_state;
	struct worker_pool *pool;
	struct keeper *keeper;
	struct listen *listen;
	struct resync *resync;
	struct event *sigterm, *sigint, *sighup, *drain_timer;
	struct spool *spool; /* opened before the loop; api_webhook owns it once registered */
	int shutting_down;
	int fenced; /* the shutdown timeout passed once: running reconciles were fenced */
	int abandoned;
	int finished;
};

static int
vibnd_ready(char *reason, size_t len, void *arg)
{
	struct vibnd *d = arg;
	struct keeper_status st;

	if (d->shutting_down) {
		snprintf(reason, len, "shutting down");
		return 0;
	}
	keeper_status(d->keeper, &st);
	if (st.age_ms < 0) {
		snprintf(reason, len, "database not checked yet");
		return 0;
	}
	if (!st.db_ok) {
		snprintf(reason, len, "database unreachable: %s", st.error);
		return 0;
	}
	/* The keeper checks every second; a check that has not come back within the API's
	 * deadline means a database that hangs (a frozen or partitioned server answers
	 * nothing, not even an error): not ready, as the API already fails. */
	if (st.age_ms > VIBND_READY_STALE_MS + config_ms(&d->cfg, CFG_API_TIMEOUT)) {
		snprintf(reason, len, "the database did not answer within %.1fs",
		         (double)(st.age_ms - VIBND_READY_STALE_MS) / 1000.0);
		return 0;
	}
	if (st.pending != 0) {
		if (st.pending > 0)
			snprintf(reason, len, "%d migration%s pending (run vibnctl migrate)",
			         st.pending, st.pending == 1 ? "" : "s");
		else
			snprintf(reason, len, "migrations unknown: %s", st.error);
		return 0;
	}
	if (!listen_connected(d->listen)) {
		snprintf(reason, len, "LISTEN connection down");
		return 0;
	}
	return 1;
}

static void
vibnd_on_notify(const char *payload, void *arg)
{
	struct vibnd *d = arg;

	log_debug("notification: %s", payload);
	/* vibn_resync announces a drift repair run (any replica's, or vibnctl's): the
	 * reconciler's list snapshots are stale for it, before any worker wakes to it. A run
	 * makes many items due at once (all of them with --spread 0): every idle worker looks,
	 * not one, or the others would wait for their next poll. */
	if (strcmp(payload, "resync") == 0) {
		if (d->rec->sweep_started != NULL)
			d->rec->sweep_started(d->rec_state);
		worker_wake(d->pool, -1);
		return;
	}
	/* A notification only wakes: the worker re-reads the queue. */
	worker_wake(d->pool, 1);
}

static void
vibnd_on_listen(void *arg)
{
	struct vibnd *d = arg;

	/* Notifications sent while the connection was down are lost, a run's among them. */
	if (d->rec->sweep_started != NULL)
		d->rec->sweep_started(d->rec_state);
	worker_wake(d->pool, -1);
	/* The database is back: spooled deliveries need not wait for the next retry. */
	if (config_int(&d->cfg, CFG_WEBHOOKS))
		api_webhook_kick();
}

static void
vibnd_resync_tick(void *arg)
{
	struct vibnd *d = arg;
	int64_t interval = config_ms(&d->cfg, CFG_RESYNC_INTERVAL);

	/* Half the interval as the gap: replicas whose timers fire close together run once.
	 * The run is paced to this replica's budgets. */
	keeper_resync(d->keeper, interval, interval / 2, (int)config_int(&d->cfg, CFG_GITEA_RPS),
	              (int)config_int(&d->cfg, CFG_COOLIFY_RPM));
}

/* Everything that needs the loop is closed here; the loop then ends. */
static void
vibnd_finish(struct vibnd *d)
{
	if (d->finished)
		return;
	d->finished = 1;
	keeper_stop(d->keeper, d->abandoned, 10000);
	d->keeper = NULL;
	listen_free(d->listen);
	d->listen = NULL;
	/* Owed API replies go out before the server closes. */
	api_webhook_stop();
	api_events_stop();
	dbpool_stop();
	api_webhook_close();
	api_stop();
	api_projects_stop();
	mcp_http_stop();
	ui_stop();
	httpd_stop();
	if (d->drain_timer != NULL)
		event_free(d->drain_timer);
	d->drain_timer = NULL;
	event_base_loopexit(loop_base(), NULL);
}

static void
vibnd_worker_exited(void *arg)
{
	struct vibnd *d = arg;

	if (d->shutting_down && !d->finished && worker_running(d->pool) == 0) {
		log_info("all reconciles finished");
		vibnd_finish(d);
	}
}

static void
vibnd_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct vibnd *d = arg;

	if (!d->fenced) {
		struct timeval tv = {VIBND_FENCE_GRACE_MS / 1000,
		                     (VIBND_FENCE_GRACE_MS % 1000) * 1000};

		/* Their leases are given up next, and another replica may take their workspaces
		 * at once: first stop what they send upstream, then give them a moment to end. */
		log_warn("%d reconcile%s still running after the shutdown timeout; stopping their"
		         " upstream calls",
		         worker_running(d->pool), worker_running(d->pool) == 1 ? "" : "s");
		d->fenced = 1;
		worker_fence(d->pool);
		evtimer_add(d->drain_timer, &tv);
		return;
	}
	log_warn("%d reconcile%s still running after the shutdown timeout; releasing their leases",
	         worker_running(d->pool), worker_running(d->pool) == 1 ? "" : "s");
	d->abandoned = 1;
	worker_abandon(d->pool);
	vibnd_finish(d);
}

static void
vibnd_signal(evutil_socket_t sig, short what, void *arg)
{
	struct vibnd *d = arg;
	int64_t ms = config_ms(&d->cfg, CFG_SHUTDOWN_TIMEOUT);
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};

	if (d->shutting_down) {
		log_warn("second signal (%s): exiting now", strsignal((int)sig));
		_exit(1);
	}
	d->shutting_down = 1;
	log_info("%s: shutting down; running reconciles get %.1fs", strsignal((int)sig),
	         (double)ms / 1000.0);
	resync_free(d->resync);
	d->resync = NULL;
	worker_stop(d->pool);
	d->drain_timer = evtimer_new(loop_base(), vibnd_drain_timeout, d);
	if (d->drain_timer == NULL)
		fatalx("cannot create the shutdown timer");
	evtimer_add(d->drain_timer, &tv);
	vibnd_worker_exited(d);
}

/* SIGHUP, as daemons take it: reopen the log file (after logrotate moved it), keep
 * serving. Settings come from the environment and flags, which a running process cannot
 * be given again: changing them takes a restart (SIGTERM drains, then start anew). */
static void
vibnd_hup(evutil_socket_t sig, short what, void *arg)
{
	struct vibnd *d = arg;
	const char *file = config_str(&d->cfg, CFG_LOG_FILE);
	char *cause = NULL;

	if (file != NULL && log_reopen(file, &cause) != 0) {
		log_error("SIGHUP: %s; still logging to the old file", cause);
		free(cause);
		return;
	}
	log_info("SIGHUP: %s; settings are unchanged (restart to change them)",
	         file != NULL ? "log file reopened" : "logging to stderr, nothing to reopen");
}

/* The webhook spool's folder: VIBN_WEBHOOK_SPOOL_DIR, else under systemd's StateDirectory=
 * (STATE_DIRECTORY, the first of a colon-separated list), else the FHS place of a
 * daemon's state. A new string. */
static char *
vibnd_spool_dir(const struct vibnd *d)
{
	const char *dir = config_str(&d->cfg, CFG_WEBHOOK_SPOOL_DIR),
	           *state = getenv("STATE_DIRECTORY");

	if (dir != NULL)
		return xstrdup(dir);
	if (state != NULL && *state != '\0' && *state != ':')
		return xasprintf("%.*s/webhook-spool", (int)strcspn(state, ":"), state);
	return xstrdup("/var/lib/vibnd/webhook-spool");
}

/* Opens the webhook spool before anything is served: a folder that cannot hold deliveries
 * stops the start, with its reason, instead of losing them at the first outage. */
static int
vibnd_open_spool(struct vibnd *d)
{
	char *dir, *cause = NULL;
	uint64_t bytes;
	long files;

	if (!config_int(&d->cfg, CFG_WEBHOOKS))
		return 0;
	dir = vibnd_spool_dir(d);
	if (spool_open(&d->spool, dir, (uint64_t)config_int(&d->cfg, CFG_WEBHOOK_SPOOL_MAX_BYTES),
	               WEBHOOK_MAX_BODY, &cause) != 0) {
		fprintf(stderr,
		        "vibnd: VIBN_WEBHOOK_SPOOL_DIR: %s (set it to a folder vibnd can write, or "
		        "VIBN_WEBHOOKS=off)\n",
		        cause);
		free(cause);
		free(dir);
		return -1;
	}
	spool_stats(d->spool, &bytes, &files);
	log_info("webhook spool: %s (%ld deliveries waiting, at most %lld bytes)", dir, files,
	         (long long)config_int(&d->cfg, CFG_WEBHOOK_SPOOL_MAX_BYTES));
	free(dir);
	return 0;
}

/* -n: the configuration is valid (checked already), the spool folder can be written and
 * the database answers. */
static int
vibnd_check(struct vibnd *d)
{
	char *cause = NULL, *dir;
	PGconn *db;

	if (config_int(&d->cfg, CFG_WEBHOOKS)) {
		dir = vibnd_spool_dir(d);
		if (spool_check(dir, &cause) != 0) {
			fprintf(stderr, "vibnd: VIBN_WEBHOOK_SPOOL_DIR: %s\n", cause);
			free(cause);
			free(dir);
			return 1;
		}
		free(dir);
	}
	db = db_connect(config_str(&d->cfg, CFG_DATABASE_URL), "vibnd-check", &cause);

	if (db == NULL) {
		fprintf(stderr, "vibnd: %s\n", cause);
		free(cause);
		return 1;
	}
	if (db_command(db, "SELECT 1", 0, NULL, &cause) != 0) {
		fprintf(stderr, "vibnd: database check failed: %s\n", cause);
		free(cause);
		PQfinish(db);
		return 1;
	}
	PQfinish(db);
	printf("configuration OK\n");
	return 0;
}

/* Selects the reconciler and checks the settings it needs. */
static int
vibnd_select(struct vibnd *d)
{
	const char *name = config_str(&d->cfg, CFG_RECONCILER);
	char names[256], who[128], *cause = NULL;

	if (config_require(&d->cfg, NULL, "vibnd", &cause) != 0) {
		fprintf(stderr, "vibnd: %s\n", cause);
		free(cause);
		return -1;
	}
	d->rec = reconciler_find(d->reconcilers, name);
	if (d->rec == NULL) {
		reconciler_names(d->reconcilers, names, sizeof names);
		fprintf(stderr,
		        "vibnd: VIBN_RECONCILER: no reconciler named \"%s\" (built in: %s)\n", name,
		        names);
		return -1;
	}
	if (config_int(&d->cfg, CFG_WEBHOOKS) &&
	    config_str(&d->cfg, CFG_GITEA_WEBHOOK_SECRET) == NULL) {
		fprintf(stderr, "vibnd: GITEA_WEBHOOK_SECRET is required to serve webhooks "
		                "(set VIBN_WEBHOOKS=off to run without them)\n");
		return -1;
	}
	snprintf(who, sizeof who, "the %s reconciler", d->rec->name);
	if (config_require(&d->cfg, d->rec->required_settings, who, &cause) != 0) {
		fprintf(stderr, "vibnd: %s\n", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* The database threads of webhooks and the tenant API, and their routes. */
static void
vibnd_api_start(struct vibnd *d)
{
	struct dbpool_config ac;
	struct quota_limits quota;
	struct events_settings events;
	struct ui_config uc;

	memset(&ac, 0, sizeof ac);
	ac.conninfo = config_str(&d->cfg, CFG_DATABASE_URL);
	ac.threads = (int)config_int(&d->cfg, CFG_API_CONNECTIONS);
	ac.timeout_ms = config_ms(&d->cfg, CFG_API_TIMEOUT);
	ac.appname = "vibnd-api";
	/* A thread of their own for webhooks: Gitea tries each delivery once. */
	ac.webhook_threads = config_int(&d->cfg, CFG_WEBHOOKS) ? 1 : 0;
	ac.per_owner = (int)config_int(&d->cfg, CFG_API_KEY_INFLIGHT);
	dbpool_start(&ac);
	quota.v[QUOTA_REPOS] = config_int(&d->cfg, CFG_QUOTA_REPOS);
	quota.v[QUOTA_APPS] = config_int(&d->cfg, CFG_QUOTA_APPS);
	quota.v[QUOTA_PROJECTS] = config_int(&d->cfg, CFG_QUOTA_PROJECTS);
	quota_set_defaults(&quota);
	if (config_int(&d->cfg, CFG_WEBHOOKS)) {
		api_webhook_register(config_str(&d->cfg, CFG_GITEA_WEBHOOK_SECRET),
		                     config_str(&d->cfg, CFG_GITEA_WEBHOOK_SECRET_PREVIOUS),
		                     d->spool);
		d->spool = NULL;
	} else {
		log_info(
		    "webhooks are off (VIBN_WEBHOOKS=off): POST /webhooks/gitea is not served");
	}
	api_register(config_str(&d->cfg, CFG_ADMIN_MIGRATE_SECRET));
	api_projects_register(config_str(&d->cfg, CFG_ADMIN_MIGRATE_SECRET));
	events.window_ms = config_int(&d->cfg, CFG_EVENT_WINDOW) * 1000;
	events.retention_ms = config_int(&d->cfg, CFG_EVENT_RETENTION) * 1000;
	events.keep = (int)config_int(&d->cfg, CFG_EVENT_KEEP);
	api_events_register(config_str(&d->cfg, CFG_ADMIN_MIGRATE_SECRET), &events);
	mcp_http_register(config_str(&d->cfg, CFG_ADMIN_MIGRATE_SECRET),
	                  config_str(&d->cfg, CFG_PUBLIC_URL));
	memset(&uc, 0, sizeof uc);
	uc.admin_secret = config_str(&d->cfg, CFG_ADMIN_MIGRATE_SECRET);
	uc.public_url = config_str(&d->cfg, CFG_PUBLIC_URL);
	uc.gitea_url = config_str(&d->cfg, CFG_GITEA_API_URL);
	uc.session_ttl = (long)(config_ms(&d->cfg, CFG_SESSION_TTL) / 1000);
	ui_register(&uc);
}

/* rec_host.setting: the daemon's configuration by variable name. */
static const char *
vibnd_setting(const struct rec_host *host, const char *name)
{
	return config_get(host->arg, name);
}

static void
vibnd_start(struct vibnd *d)
{
	struct worker_config wc;
	char *cause = NULL;

	struct rec_host host = {vibnd_setting, (int)config_int(&d->cfg, CFG_WORKERS),
	                        metrics_upstream_request, &d->cfg, metrics_upstream_retry};

	loop_init();
	if (d->rec->init != NULL && d->rec->init(&host, &d->rec_state, &cause) != 0)
		fatalx("reconciler %s: %s", d->rec->name, cause);
	metrics_init(d->rec->name, (int)config_int(&d->cfg, CFG_WORKERS));
	httpd_configure(config_ms(&d->cfg, CFG_HTTP_REQUEST_TIMEOUT),
	                (int)config_int(&d->cfg, CFG_HTTP_MAX_CONNECTIONS));
	if (httpd_start(config_str(&d->cfg, CFG_LISTEN), &cause) != 0)
		fatalx("%s", cause);
	health_register(vibnd_ready, d);
	vibnd_api_start(d);

	memset(&wc, 0, sizeof wc);
	wc.conninfo = config_str(&d->cfg, CFG_DATABASE_URL);
	wc.workers = (int)config_int(&d->cfg, CFG_WORKERS);
	wc.db_connections = (int)config_int(&d->cfg, CFG_DB_CONNECTIONS);
	wc.lease_ms = config_ms(&d->cfg, CFG_LEASE_DURATION);
	wc.backoff_base_ms = config_ms(&d->cfg, CFG_BACKOFF_BASE);
	wc.backoff_cap_ms = config_ms(&d->cfg, CFG_BACKOFF_CAP);
	wc.poll_ms = config_ms(&d->cfg, CFG_POLL_INTERVAL);
	wc.rec = d->rec;
	wc.rec_state = d->rec_state;
	d->pool = worker_start(&wc, vibnd_worker_exited, d);
	d->keeper = keeper_start(wc.conninfo, d->pool, wc.lease_ms);
	d->listen = listen_start(wc.conninfo, VIBND_CHANNEL, vibnd_on_notify, vibnd_on_listen, d);
	d->resync = resync_start(config_ms(&d->cfg, CFG_RESYNC_INTERVAL), vibnd_resync_tick, d);
	d->sigterm = evsignal_new(loop_base(), SIGTERM, vibnd_signal, d);
	d->sigint = evsignal_new(loop_base(), SIGINT, vibnd_signal, d);
	d->sighup = evsignal_new(loop_base(), SIGHUP, vibnd_hup, d);
	if (d->sigterm == NULL || d->sigint == NULL || d->sighup == NULL ||
	    evsignal_add(d->sigterm, NULL) != 0 || evsignal_add(d->sigint, NULL) != 0 ||
	    evsignal_add(d->sighup, NULL) != 0)
		fatalx("cannot install signal handlers");
	log_info("vibnd %s started: listen=%s workers=%d db-connections=%d reconciler=%s"
	         " instance=%s",
	         VIBN_VERSION, config_str(&d->cfg, CFG_LISTEN), wc.workers, wc.db_connections,
	         d->rec->name, worker_instance(d->pool));
}

int
daemon_main(int argc, char **argv, const struct reconciler *const *reconcilers)
{
	struct vibnd d;
	enum config_action act;

	memset(&d, 0, sizeof d);
	d.reconcilers = reconcilers;
	/* glibc gives threads up to 8 malloc arenas per core, each holding on to the memory
	 * its threads freed; with VIBN_WORKERS threads and their steps' threads that is
	 * megabytes held idle. The threads mostly wait on upstreams, so two arenas are not a
	 * point of contention. */
	mallopt(M_ARENA_MAX, 2);
	log_init("vibnd", LOG_LVL_INFO);
	act = config_load(&d.cfg, argc, argv);
	if (act != CONFIG_RUN) {
		config_free(&d.cfg);
		return act == CONFIG_EXIT_OK ? 0 : 1;
	}
	if (d.cfg.verbose)
		log_init("vibnd", LOG_LVL_DEBUG);
	if (vibnd_select(&d) != 0) {
		config_free(&d.cfg);
		return 1;
	}
	if (d.cfg.check_only) {
		int rc = vibnd_check(&d);

		config_free(&d.cfg);
		return rc;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Until its handler is in place, a SIGHUP (a logrotate racing the start) must not end
	 * the daemon. */
	signal(SIGHUP, SIG_IGN);
	if (config_str(&d.cfg, CFG_LOG_FILE) != NULL) {
		char *cause = NULL;

		if (log_reopen(config_str(&d.cfg, CFG_LOG_FILE), &cause) != 0) {
			fprintf(stderr, "vibnd: VIBN_LOG_FILE: %s\n", cause);
			free(cause);
			config_free(&d.cfg);
			return 1;
		}
	}
	if (vibnd_open_spool(&d) != 0) {
		config_free(&d.cfg);
		return 1;
	}
	vibnd_start(&d);
	event_base_dispatch(loop_base());

	if (d.abandoned) {
		/* Worker threads are still inside the reconciler; their leases are released.
		 * Leave without waiting for them. */
		log_info("vibnd stopped (reconciles abandoned)");
		_exit(0);
	}
	worker_free(d.pool);
	if (d.rec->fini != NULL)
		d.rec->fini(d.rec_state);
	event_free(d.sigterm);
	event_free(d.sigint);
	event_free(d.sighup);
	loop_free();
	log_info("vibnd stopped");
	config_free(&d.cfg);
	return 0;
}
