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
#include "api/webhook.h"

/* Delivery ids are kept twice the promised 24 hours; pruned every 10 minutes. */
#define API_WEBHOOK_KEEP     "48 hours"
#define API_WEBHOOK_PRUNE_MS (10 * 60 * 1000)

static struct {
	char *secret;
	char *previous; /* GITEA_WEBHOOK_SECRET_PREVIOUS while hooks are rotated, or NULL */
	struct event *prune;
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
api_webhook_reply(struct dbpool_reply *out, const char *result, const char *slug)
{
	json_t *doc = json_pack("{s:s}", "result", result);
	char *text;

	metrics_webhook_delivery(result);
	if (slug != NULL && strcmp(result, "accepted") == 0)
		json_object_set_new(doc, "workspace", json_string(slug));
	text = httpd_json_text(doc);
	dbpool_reply_json(out, 202, text);
	free(text);
}

/* Database thread: the deliveries queued together, in one round trip and one transaction
 * (group commit); each answer is matched back by its position. */
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
		for (i = 0; i < n; i++) {
			metrics_webhook_delivery("error");
			dbpool_reply_error(outs[i], 503, "db_error", "database error");
		}
		log_warn("webhook: accepting %d deliveries: %s", n, cause ? cause : "short result");
		free(cause);
		if (res != NULL)
			PQclear(res);
		return;
	}
	for (int row = 0; row < n; row++) {
		long k = atol(PQgetvalue(res, row, 0)) - 1;

		if (k >= 0 && k < n)
			api_webhook_reply(outs[k], PQgetvalue(res, row, 1), db_text(res, row, 2));
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
api_webhook_handle(struct httpd_req *req, void *unused)
{
	const char *delivery = api_webhook_header(req, "X-Gitea-Delivery", "X-GitHub-Delivery");
	const char *event = api_webhook_header(req, "X-Gitea-Event", "X-GitHub-Event");
	struct webhook_event ev;
	struct api_webhook_job *j;
	const unsigned char *body;
	char *cause = NULL;
	size_t len;

	if (!api_parse_is_json(httpd_header(req, "Content-Type"))) {
		metrics_webhook_delivery("unsupported_media_type");
		httpd_error(
		    req, 415, "unsupported_media_type",
		    "deliveries must be application/json (set the hook's content type to json)");
		return;
	}
	body = httpd_body(req, &len);
	if (len > WEBHOOK_MAX_BODY) {
		httpd_error(req, 413, "too_large", "the body is over %d bytes", WEBHOOK_MAX_BODY);
		return;
	}
	if (!api_webhook_verified(body ? (const void *)body : "", len,
	                          httpd_header(req, "X-Gitea-Signature"),
	                          httpd_header(req, "X-Hub-Signature-256"))) {
		metrics_webhook_delivery("bad_signature");
		httpd_error(req, 401, "bad_signature", "missing or wrong signature");
		return;
	}
	if (delivery != NULL && !api_parse_delivery(delivery)) {
		metrics_webhook_delivery("bad_payload");
		httpd_error(req, 400, "bad_delivery",
		            "X-Gitea-Delivery must be 1 to 128 characters");
		return;
	}
	if (webhook_parse(event, body ? (const void *)body : "", len, &ev, &cause) != 0) {
		metrics_webhook_delivery("bad_payload");
		api_parse_oneline(cause);
		httpd_error(req, 400, "bad_payload", "%s", cause);
		free(cause);
		return;
	}
	/* Only repository events (created, deleted) say something about desired state. */
	if (ev.event == NULL || strcmp(ev.event, "repository") != 0) {
		api_webhook_ignored(req, "event");
	} else if (ev.org == NULL) {
		api_webhook_ignored(req, "no organization in the payload");
	} else {
		j = xcalloc(1, sizeof *j);
		j->delivery = xstrdup(delivery);
		j->org = xstrdup(ev.org);
		j->event = xstrdup(ev.event);
		log_debug("webhook: %s %s org=%s repo=%s delivery=%s", ev.event,
		          ev.action ? ev.action : "-", ev.org, ev.repo ? ev.repo : "-",
		          delivery ? delivery : "-");
		(void)dbpool_submit_batch(req, api_webhook_accept, j, api_webhook_job_free);
	}
	webhook_event_free(&ev);
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
api_webhook_register(const char *secret, const char *previous)
{
	struct timeval tv = {API_WEBHOOK_PRUNE_MS / 1000, 0};

	api_webhook.secret = xstrdup(secret);
	api_webhook.previous = previous != NULL && previous[0] != '\0' ? xstrdup(previous) : NULL;
	httpd_route("POST", "/webhooks/gitea", api_webhook_handle, NULL);
	httpd_route_body_max("POST", "/webhooks/gitea", WEBHOOK_MAX_BODY);
	api_webhook.prune = event_new(loop_base(), -1, EV_PERSIST, api_webhook_prune_tick, NULL);
	if (api_webhook.prune == NULL || event_add(api_webhook.prune, &tv) != 0)
		fatalx("webhook: cannot arm the prune timer");
	api_webhook_prune_tick(-1, 0, NULL);
}

void
api_webhook_stop(void)
{
	if (api_webhook.prune != NULL)
		event_free(api_webhook.prune);
	api_webhook.prune = NULL;
	api_webhook_forget(&api_webhook.secret);
	api_webhook_forget(&api_webhook.previous);
}
