#include "api_webhook.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "clients/db.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "api/api_parse.h"
#include "httpd/dbpool.h"
#include "httpd/httpd.h"
#include "controller/loop.h"
#include "httpd/metrics.h"
#include "api/spool.h"
#include "api/webhook.h"

/* Delivery ids are kept twice the promised 24 hours; pruned every 10 minutes. */
#define API_WEBHOOK_KEEP     "48 hours"
#define API_WEBHOOK_PRUNE_MS (10 * 60 * 1000)
/* Replay retries while the database stays away: from the first to the longest delay. A
 * LISTEN reconnect (api_webhook_kick) replays at once, so the cap only bounds how late a
 * replay can be when that signal is missed. */
#define API_WEBHOOK_REPLAY_FIRST_MS 250
#define API_WEBHOOK_REPLAY_CAP_MS   5000
/* "The spool is full" is logged at most this often (a flood of refusals is one line). */
#define API_WEBHOOK_FULL_LOG_MS (60 * 1000)

static struct {
	char *secret;
	char *previous; /* GITEA_WEBHOOK_SECRET_PREVIOUS while hooks are rotated, or NULL */
	struct event *prune;
	struct spool *spool;        /* owned; NULL: no spool, 503 as before */
	struct event *replay_timer; /* loop thread */
	int replaying;              /* a replay job is queued or running */
	int armed;                  /* replay_timer is pending */
	int64_t backoff_ms;
	int stopping;
	int64_t full_logged_ms;      /* when "full" was last logged */
	unsigned long full_unlogged; /* refusals since */
} api_webhook;

/* Signed with the secret, or with the previous one while hooks are being rotated to it. */
static int
api_webhook_verified(const void *body, size_t len, const char *gitea_sig, const char *hub_sig)
{
	if (webhook_verify(api_webhook.secret, body, len, gitea_sig, hub_sig))
		return 1;
	return api_webhook.previous != NULL &&
	       webhook_verify(api_webhook.previous, body, len, gitea_sig, hub_sig);
}

static void
api_webhook_forget(char **secret)
{
	if (*secret != NULL) {
		explicit_bzero(*secret, strlen(*secret));
		free(*secret);
	}
	*secret = NULL;
}

struct api_webhook_job {
	char *delivery; /* or NULL */
	char *org;
	char *event;
	int replay; /* from the spool: counted as replayed, not as a new delivery */
};

static void
api_webhook_job_free(void *p)
{
	struct api_webhook_job *j = p;

	free(j->delivery);
	free(j->org);
	free(j->event);
	free(j);
}

/* A delivery as the route reads it (borrowed): from a request, or from a spool file. */
struct api_webhook_in {
	const char *content_type, *delivery, *event, *signature, *hub_signature;
	const void *body;
	size_t len;
};

/* The route's answer to a delivery it does not accept: status 202 (ignored, message is the
 * reason) or an error (code, message). metric: the result counted, or NULL. */
struct api_webhook_verdict {
	int status;
	const char *metric;
	const char *code;
	char *message; /* owned */
};

/* The route's checks, shared by live deliveries and spool replay, so that a spooled
 * delivery is judged exactly as if it had just arrived (its signature included). Returns
 * the job to accept, or NULL with *v filled (free v->message). */
static struct api_webhook_job *
api_webhook_check(const struct api_webhook_in *in, struct api_webhook_verdict *v)
{
	const void *body = in->body != NULL ? in->body : "";
	struct api_webhook_job *j;
	struct webhook_event ev;
	char *cause = NULL;

	memset(v, 0, sizeof *v);
	v->status = 400;
	if (!api_parse_is_json(in->content_type)) {
		v->status = 415;
		v->metric = v->code = "unsupported_media_type";
		v->message = xstrdup("deliveries must be application/json (set the hook's content "
		                     "type to json)");
		return NULL;
	}
	if (in->len > WEBHOOK_MAX_BODY) {
		v->status = 413;
		v->code = "too_large";
		v->message = xasprintf("the body is over %d bytes", WEBHOOK_MAX_BODY);
		return NULL;
	}
	if (!api_webhook_verified(body, in->len, in->signature, in->hub_signature)) {
		v->status = 401;
		v->metric = v->code = "bad_signature";
		v->message = xstrdup("missing or wrong signature");
		return NULL;
	}
	if (in->delivery != NULL && !api_parse_delivery(in->delivery)) {
		v->metric = "bad_payload";
		v->code = "bad_delivery";
		v->message = xstrdup("X-Gitea-Delivery must be 1 to 128 characters");
		return NULL;
	}
	if (webhook_parse(in->event, body, in->len, &ev, &cause) != 0) {
		v->metric = v->code = "bad_payload";
		api_parse_oneline(cause);
		v->message = cause;
		return NULL;
	}
	/* Only repository events (created, deleted) say something about desired state. */
	if (ev.event == NULL || strcmp(ev.event, "repository") != 0 || ev.org == NULL) {
		v->status = 202;
		v->metric = "ignored";
		v->message = xstrdup(ev.event == NULL || strcmp(ev.event, "repository") != 0
		                         ? "event"
		                         : "no organization in the payload");
		webhook_event_free(&ev);
		return NULL;
	}
	j = xcalloc(1, sizeof *j);
	j->delivery = xstrdup_null(in->delivery);
	j->org = xstrdup(ev.org);
	j->event = xstrdup(ev.event);
	log_debug("webhook: %s %s org=%s repo=%s delivery=%s", ev.event,
	          ev.action ? ev.action : "-", ev.org, ev.repo ? ev.repo : "-",
	          in->delivery ? in->delivery : "-");
	webhook_event_free(&ev);
	return j;
}

/* Appends v as a Postgres array literal of text (NULL entries are NULL), quoting every
 * element, so that any text is safe inside it. */
static void
api_webhook_array(struct buf *b, char *const *v, int n)
{
	buf_putc(b, '{');
	for (int i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(b, ',');
		if (v[i] == NULL) {
			buf_puts(b, "NULL");
			continue;
		}
		buf_putc(b, '"');
		for (const char *c = v[i]; *c != '\0'; c++) {
			if (*c == '"' || *c == '\\')
				buf_putc(b, '\\');
			buf_putc(b, *c);
		}
		buf_putc(b, '"');
	}
	buf_putc(b, '}');
}

static void
api_webhook_reply(const struct api_webhook_job *j, struct dbpool_reply *out, const char *result,
                  const char *slug)
{
	json_t *doc = json_pack("{s:s}", "result", result);
	char *text;

	if (j->replay)
		metrics_webhook_spool_replayed(result);
	else
		metrics_webhook_delivery(result);
	if (slug != NULL && strcmp(result, "accepted") == 0)
		json_object_set_new(doc, "workspace", json_string(slug));
	text = httpd_json_text(doc);
	dbpool_reply_json(out, 202, text);
	free(text);
}

/* Database thread: the deliveries queued together, in one round trip and one transaction
 * (group commit); each answer is matched back by its position. A failure answers 503,
 * which the route's fallback turns into a spooled delivery. */
static void
api_webhook_accept(PGconn *db, void *const *args, struct dbpool_reply *const *outs, int n)
{
	char *delivery[DBPOOL_BATCH_MAX], *org[DBPOOL_BATCH_MAX], *event[DBPOOL_BATCH_MAX];
	struct buf a[3];
	const char *p[3];
	char *cause = NULL;
	PGresult *res;
	int i;

	for (i = 0; i < n; i++) {
		const struct api_webhook_job *j = args[i];

		delivery[i] = j->delivery;
		org[i] = j->org;
		event[i] = j->event;
	}
	for (i = 0; i < 3; i++)
		buf_init(&a[i]);
	api_webhook_array(&a[0], delivery, n);
	api_webhook_array(&a[1], org, n);
	api_webhook_array(&a[2], event, n);
	for (i = 0; i < 3; i++)
		p[i] = buf_str(&a[i]);
	res = dbpool_exec(db, "vibn_webhook_accept_batch",
	                  "SELECT out_idx, out_result, out_slug "
	                  "FROM vibn_webhook_accept_batch($1::text[], $2::text[], $3::text[])",
	                  3, p, &cause);
	for (i = 0; i < 3; i++)
		buf_free(&a[i]);
	if (res == NULL || PQntuples(res) != n) {
		for (i = 0; i < n; i++)
			dbpool_reply_error(outs[i], 503, "db_error", "database error");
		log_warn("webhook: accepting %d deliveries: %s", n, cause ? cause : "short result");
		free(cause);
		if (res != NULL)
			PQclear(res);
		return;
	}
	for (int row = 0; row < n; row++) {
		long k = atol(PQgetvalue(res, row, 0)) - 1;

		if (k >= 0 && k < n)
			api_webhook_reply(args[k], outs[k], PQgetvalue(res, row, 1),
			                  db_text(res, row, 2));
	}
	PQclear(res);
}

static void
api_webhook_ignored(struct httpd_req *req, const char *why)
{
	char *text = httpd_json_text(json_pack("{s:s, s:s}", "result", "ignored", "reason", why));

	metrics_webhook_delivery("ignored");
	httpd_reply_json(req, 202, text);
	free(text);
}

static const char *
api_webhook_header(struct httpd_req *req, const char *a, const char *b)
{
	const char *v = httpd_header(req, a);

	return v != NULL ? v : httpd_header(req, b);
}

static void
api_webhook_size_gauge(void)
{
	uint64_t bytes;
	long files;

	spool_stats(api_webhook.spool, &bytes, &files);
	metrics_webhook_spool_size((unsigned long long)bytes, files);
}

static void api_webhook_replay_arm(int64_t ms);

/* Logs the spool being full at most once per API_WEBHOOK_FULL_LOG_MS (loop thread). */
static void
api_webhook_full(void)
{
	int64_t now = util_now_ms();
	uint64_t bytes;
	long files;

	metrics_webhook_spool_full();
	api_webhook.full_unlogged++;
	if (api_webhook.full_logged_ms != 0 &&
	    now - api_webhook.full_logged_ms < API_WEBHOOK_FULL_LOG_MS)
		return;
	spool_stats(api_webhook.spool, &bytes, &files);
	log_error("webhook: the database cannot take deliveries and the spool %s is full (%ld "
	          "files, %llu bytes; VIBN_WEBHOOK_SPOOL_MAX_BYTES): %lu deliver%s answered 503 "
	          "and lost until the next drift repair run",
	          spool_dir(api_webhook.spool), files, (unsigned long long)bytes,
	          api_webhook.full_unlogged, api_webhook.full_unlogged == 1 ? "y" : "ies");
	api_webhook.full_logged_ms = now;
	api_webhook.full_unlogged = 0;
}

/* dbpool_fallback of a live delivery (loop thread): the database did not take it, so it
 * is written to the spool and answered 202; replayed once the database is back. Only
 * deliveries that passed every check of the route get here (their signature verified with
 * GITEA_WEBHOOK_SECRET, which is configuration, not database state): nothing unverified is
 * ever spooled. */
static void
api_webhook_fallback(struct httpd_req *req, void *arg, const char *why)
{
	const struct api_webhook_job *j = arg;
	struct spool_delivery d;
	char *cause = NULL, *text;
	uint64_t seq = 0;
	size_t len;
	int rc = -1;

	memset(&d, 0, sizeof d);
	d.delivery = api_webhook_header(req, "X-Gitea-Delivery", "X-GitHub-Delivery");
	d.event = api_webhook_header(req, "X-Gitea-Event", "X-GitHub-Event");
	d.signature = httpd_header(req, "X-Gitea-Signature");
	d.hub_signature = httpd_header(req, "X-Hub-Signature-256");
	d.body = httpd_body(req, &len);
	d.len = len;
	if (api_webhook.spool != NULL)
		rc = spool_put(api_webhook.spool, &d, &seq, &cause);
	if (rc == 0) {
		metrics_webhook_delivery("spooled");
		metrics_webhook_spooled();
		api_webhook_size_gauge();
		log_info("webhook: the database did not take delivery %s of %s (%s): spooled to "
		         "disk (number %llu), replayed once it is back",
		         j->delivery ? j->delivery : "-", j->org, why, (unsigned long long)seq);
		text = httpd_json_text(json_pack(
		    "{s:s, s:s}", "result", "spooled", "reason",
		    "the database is unavailable: the delivery is queued on disk and is replayed "
		    "when the database is back"));
		httpd_reply_json(req, 202, text);
		free(text);
		if (!api_webhook.stopping)
			api_webhook_replay_arm(api_webhook.backoff_ms);
		return;
	}
	if (rc == SPOOL_FULL)
		api_webhook_full();
	else if (api_webhook.spool != NULL)
		log_error("webhook: spooling delivery %s: %s", j->delivery ? j->delivery : "-",
		          cause);
	free(cause);
	metrics_webhook_delivery("error");
	httpd_set_header(req, "Retry-After", "1");
	httpd_error(req, 503, why,
	            "the database is unavailable (%s) and the delivery could not "
	            "be spooled",
	            why);
}

static void
api_webhook_handle(struct httpd_req *req, void *unused)
{
	struct api_webhook_verdict v;
	struct api_webhook_in in;
	struct api_webhook_job *j;
	size_t len;

	memset(&in, 0, sizeof in);
	in.content_type = httpd_header(req, "Content-Type");
	in.delivery = api_webhook_header(req, "X-Gitea-Delivery", "X-GitHub-Delivery");
	in.event = api_webhook_header(req, "X-Gitea-Event", "X-GitHub-Event");
	in.signature = httpd_header(req, "X-Gitea-Signature");
	in.hub_signature = httpd_header(req, "X-Hub-Signature-256");
	in.body = httpd_body(req, &len);
	in.len = len;
	j = api_webhook_check(&in, &v);
	if (j != NULL) {
		(void)dbpool_submit_batch_fallback(req, api_webhook_accept, j, api_webhook_job_free,
		                                   api_webhook_fallback);
		return;
	}
	if (v.status == 202) {
		api_webhook_ignored(req, v.message);
	} else {
		if (v.metric != NULL)
			metrics_webhook_delivery(v.metric);
		httpd_error(req, v.status, v.code, "%s", v.message);
	}
	free(v.message);
}

/* --- replay ----------------------------------------------------------------------------- */

/* One replay job: the oldest spooled deliveries (a batch at most), on a database thread. */
struct api_webhook_replay {
	int ran;    /* the work function ran (the database could be reached) */
	int failed; /* a delivery's database work failed: retry later */
};

/* Judges one spooled delivery; a job to accept, or NULL when it was dealt with (ignored:
 * removed; rejected or unreadable: moved aside). Database thread. */
static struct api_webhook_job *
api_webhook_replay_one(const char *name)
{
	struct spool *sp = api_webhook.spool;
	struct api_webhook_verdict v;
	struct api_webhook_in in;
	struct spool_delivery d;
	struct api_webhook_job *j;
	char *cause = NULL;

	if (spool_read(sp, name, &d, &cause) != 0) {
		log_error("webhook: spool file %s/%s cannot be replayed (%s): moved aside into "
		          "corrupt/",
		          spool_dir(sp), name, cause);
		goto aside;
	}
	memset(&in, 0, sizeof in);
	in.content_type = "application/json"; /* checked before it was spooled */
	in.delivery = d.delivery;
	in.event = d.event;
	in.signature = d.signature;
	in.hub_signature = d.hub_signature;
	in.body = d.body;
	in.len = d.len;
	j = api_webhook_check(&in, &v);
	spool_delivery_free(&d);
	if (j != NULL) {
		j->replay = 1;
		return j;
	}
	if (v.status == 202) {
		metrics_webhook_spool_replayed("ignored");
		if (spool_remove(sp, name, &cause) != 0) {
			log_error("webhook: spool: %s", cause);
			free(cause);
		}
		free(v.message);
		return NULL;
	}
	/* E.g. the secret was changed before the replay: a human decides. */
	log_error("webhook: spooled delivery %s/%s fails the route's checks now (%d %s: %s): "
	          "moved aside into corrupt/",
	          spool_dir(sp), name, v.status, v.code, v.message);
	free(v.message);
aside:
	free(cause);
	cause = NULL;
	metrics_webhook_spool_corrupt();
	if (spool_quarantine(sp, name, &cause) != 0) {
		log_error("webhook: spool: %s", cause);
		free(cause);
	}
	return NULL;
}

/* Database thread: replays the oldest spooled deliveries through the live route's checks
 * and its batch (deduplicated on X-Gitea-Delivery, so one that also reached the database
 * counts once); each file is deleted only after its batch committed (autocommit: the
 * statement returned). */
static void
api_webhook_replay_work(PGconn *db, void *arg, struct dbpool_reply *unused)
{
	struct api_webhook_replay *r = arg;
	struct dbpool_reply replies[DBPOOL_BATCH_MAX], *outs[DBPOOL_BATCH_MAX];
	void *jobs[DBPOOL_BATCH_MAX];
	const char *jnames[DBPOOL_BATCH_MAX];
	char **names = NULL, *cause = NULL;
	int n, k = 0;

	r->ran = 1;
	n = spool_list(api_webhook.spool, &names, DBPOOL_BATCH_MAX, &cause);
	if (n < 0) {
		log_error("webhook: spool: %s", cause);
		free(cause);
		r->failed = 1;
		return;
	}
	for (int i = 0; i < n; i++) {
		struct api_webhook_job *j = api_webhook_replay_one(names[i]);

		if (j == NULL)
			continue;
		memset(&replies[k], 0, sizeof replies[k]);
		buf_init(&replies[k].body);
		outs[k] = &replies[k];
		jnames[k] = names[i];
		jobs[k++] = j;
	}
	if (k > 0)
		api_webhook_accept(db, jobs, outs, k);
	for (int i = 0; i < k; i++) {
		const struct api_webhook_job *j = jobs[i];

		if (replies[i].status == 202) {
			log_info("webhook: replayed spooled delivery %s of %s",
			         j->delivery ? j->delivery : "-", j->org);
			if (spool_remove(api_webhook.spool, jnames[i], &cause) != 0) {
				log_error("webhook: spool: %s", cause);
				free(cause);
				cause = NULL;
			}
		} else {
			r->failed = 1;
		}
		buf_free(&replies[i].body);
		api_webhook_job_free(jobs[i]);
	}
	spool_names_free(names, n);
	api_webhook_size_gauge();
}

/* The replay job ended (loop thread): go on at once while it makes progress, back off
 * while the database stays away. */
static void
api_webhook_replay_done(void *arg)
{
	struct api_webhook_replay *r = arg;
	int ok = r->ran && !r->failed;
	uint64_t bytes;
	long files;

	api_webhook.replaying = 0;
	if (ok) {
		api_webhook.backoff_ms = API_WEBHOOK_REPLAY_FIRST_MS;
	} else {
		api_webhook.backoff_ms *= 2;
		if (api_webhook.backoff_ms > API_WEBHOOK_REPLAY_CAP_MS)
			api_webhook.backoff_ms = API_WEBHOOK_REPLAY_CAP_MS;
	}
	free(r);
	if (api_webhook.stopping)
		return;
	spool_stats(api_webhook.spool, &bytes, &files);
	if (files > 0)
		api_webhook_replay_arm(ok ? 0 : api_webhook.backoff_ms);
}

static void
api_webhook_replay_tick(evutil_socket_t fd, short what, void *unused)
{
	api_webhook.armed = 0;
	if (api_webhook.replaying || api_webhook.stopping)
		return;
	api_webhook.replaying = 1;
	/* On failure dbpool already ran api_webhook_replay_done, which re-armed. */
	(void)dbpool_submit(NULL, api_webhook_replay_work,
	                    xcalloc(1, sizeof(struct api_webhook_replay)), api_webhook_replay_done);
}

/* Replays after ms unless a replay is queued, running or armed already. */
static void
api_webhook_replay_arm(int64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

	if (api_webhook.replay_timer == NULL || api_webhook.replaying || api_webhook.armed)
		return;
	api_webhook.armed = 1;
	if (evtimer_add(api_webhook.replay_timer, &tv) != 0)
		fatalx("webhook: cannot arm the replay timer");
}

void
api_webhook_kick(void)
{
	uint64_t bytes;
	long files;

	if (api_webhook.spool == NULL || api_webhook.stopping)
		return;
	spool_stats(api_webhook.spool, &bytes, &files);
	if (files == 0)
		return;
	api_webhook.backoff_ms = API_WEBHOOK_REPLAY_FIRST_MS;
	if (api_webhook.armed) {
		evtimer_del(api_webhook.replay_timer);
		api_webhook.armed = 0;
	}
	api_webhook_replay_arm(0);
}

static void
api_webhook_prune_work(PGconn *db, void *arg, struct dbpool_reply *out)
{
	const char *p[1] = {API_WEBHOOK_KEEP};
	char *cause = NULL;
	PGresult *res = db_exec(db, "SELECT vibn_webhook_prune($1::interval)", 1, p, &cause);

	if (res == NULL) {
		log_warn("webhook: pruning delivery ids: %s", cause);
		free(cause);
		return;
	}
	if (atol(PQgetvalue(res, 0, 0)) > 0)
		log_info("webhook: forgot %s delivery ids older than %s", PQgetvalue(res, 0, 0),
		         API_WEBHOOK_KEEP);
	PQclear(res);
}

static void
api_webhook_prune_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)dbpool_submit(NULL, api_webhook_prune_work, NULL, NULL);
}

void
api_webhook_register(const char *secret, const char *previous, struct spool *spool)
{
	struct timeval tv = {API_WEBHOOK_PRUNE_MS / 1000, 0};
	uint64_t bytes;
	long files;

	api_webhook.secret = xstrdup(secret);
	api_webhook.previous = previous != NULL && previous[0] != '\0' ? xstrdup(previous) : NULL;
	api_webhook.stopping = 0;
	api_webhook.spool = spool;
	api_webhook.backoff_ms = API_WEBHOOK_REPLAY_FIRST_MS;
	httpd_route("POST", "/webhooks/gitea", api_webhook_handle, NULL);
	httpd_route_body_max("POST", "/webhooks/gitea", WEBHOOK_MAX_BODY);
	api_webhook.prune = event_new(loop_base(), -1, EV_PERSIST, api_webhook_prune_tick, NULL);
	if (api_webhook.prune == NULL || event_add(api_webhook.prune, &tv) != 0)
		fatalx("webhook: cannot arm the prune timer");
	api_webhook_prune_tick(-1, 0, NULL);
	if (spool == NULL)
		return;
	api_webhook.replay_timer = evtimer_new(loop_base(), api_webhook_replay_tick, NULL);
	if (api_webhook.replay_timer == NULL)
		fatalx("webhook: cannot create the replay timer");
	api_webhook_size_gauge();
	spool_stats(spool, &bytes, &files);
	/* Deliveries spooled before a restart are replayed now (or as soon as the database
	 * answers). */
	if (files > 0) {
		log_info("webhook: %ld spooled deliver%s (%llu bytes) in %s to replay", files,
		         files == 1 ? "y" : "ies", (unsigned long long)bytes, spool_dir(spool));
		api_webhook_replay_arm(0);
	}
}

void
api_webhook_stop(void)
{
	api_webhook.stopping = 1;
	if (api_webhook.prune != NULL)
		event_free(api_webhook.prune);
	api_webhook.prune = NULL;
	if (api_webhook.replay_timer != NULL)
		event_free(api_webhook.replay_timer);
	api_webhook.replay_timer = NULL;
	api_webhook.armed = 0;
}

void
api_webhook_close(void)
{
	uint64_t bytes = 0;
	long files = 0;

	if (api_webhook.spool != NULL)
		spool_stats(api_webhook.spool, &bytes, &files);
	if (files > 0)
		log_warn(
		    "webhook spool: %ld deliver%s still waiting for the database; a vibnd started"
		    " with the same VIBN_WEBHOOK_SPOOL_DIR replays them",
		    files, files == 1 ? "y is" : "ies are");
	spool_close(api_webhook.spool);
	api_webhook.spool = NULL;
	api_webhook_forget(&api_webhook.secret);
	api_webhook_forget(&api_webhook.previous);
}
