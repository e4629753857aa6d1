/* Webhook delivery like Gitea's (services/webhook/deliver.go): one POST per hook and event,
 * signed with HMAC-SHA256 (and SHA-1) of the JSON payload, no retry, a deadline
 * (--webhook-timeout-ms, Gitea's DELIVER_TIMEOUT of 5 s). Sent from the event loop through
 * an evhttp client connection per delivery, so nothing ever blocks; each outcome is kept
 * for GET /_sim/deliveries. */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "tests/sim/sim.h"

/* Finished deliveries remembered: enough for the soak to check every one of its own. */
#define SIMHOOK_KEEP 20000

struct simhook {
	TAILQ_ENTRY(simhook) entry;
	char uuid[37];
	char *url;
	char *event;
	char *action;
	int64_t start_us;
	int done;
	int hidden; /* forgotten by a reset while in flight: freed when it finishes */
	int status;
	double ms;
	char *error;
	struct evhttp_connection *evcon; /* until reaped after the answer */
	struct event *reap;              /* frees evcon outside libevent's callbacks */
};

static TAILQ_HEAD(, simhook) simhook_all = TAILQ_HEAD_INITIALIZER(simhook_all);
static size_t simhook_ndone;

static void
simhook_free_one(struct simhook *d)
{
	TAILQ_REMOVE(&simhook_all, d, entry);
	if (d->done)
		simhook_ndone--;
	free(d->url);
	free(d->event);
	free(d->action);
	free(d->error);
	free(d);
}

static void
simhook_uuid(char out[37])
{
	unsigned char b[16];
	char hex[33];

	util_random_bytes(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	util_hex(b, sizeof(b), hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* Forgets finished deliveries past the cap, oldest first. */
static void
simhook_trim(void)
{
	struct simhook *d, *next;

	for (d = TAILQ_FIRST(&simhook_all); d != NULL && simhook_ndone > SIMHOOK_KEEP; d = next) {
		next = TAILQ_NEXT(d, entry);
		if (d->done && d->evcon == NULL)
			simhook_free_one(d);
	}
}

static void
simhook_reap(evutil_socket_t fd, short what, void *arg)
{
	struct simhook *d = arg;

	evhttp_connection_free(d->evcon);
	d->evcon = NULL;
	event_free(d->reap);
	d->reap = NULL;
	if (d->hidden)
		simhook_free_one(d);
	else
		simhook_trim();
}

static void
simhook_finish(struct simhook *d, int status, const char *error)
{
	struct timeval now = {0, 0};

	d->done = 1;
	simhook_ndone++;
	d->status = status;
	d->ms = (double)(util_now_us() - d->start_us) / 1000.0;
	if (error != NULL && d->error == NULL)
		d->error = xstrdup(error);
	if (d->evcon != NULL) {
		/* called from inside the connection's callbacks: free it on the next turn */
		d->reap = evtimer_new(sim_base, simhook_reap, d);
		evtimer_add(d->reap, &now);
		return;
	}
	if (d->hidden)
		simhook_free_one(d);
	else
		simhook_trim();
}

static void
simhook_error_cb(enum evhttp_request_error err, void *arg)
{
	struct simhook *d = arg;
	const char *what;

	switch (err) {
	case EVREQ_HTTP_TIMEOUT:
		what = "timeout";
		break;
	case EVREQ_HTTP_EOF:
		what = "connection closed";
		break;
	case EVREQ_HTTP_INVALID_HEADER:
		what = "invalid response header";
		break;
	case EVREQ_HTTP_BUFFER_ERROR:
		what = "connection error";
		break;
	case EVREQ_HTTP_DATA_TOO_LONG:
		what = "response too long";
		break;
	default:
		what = "request failed";
		break;
	}
	if (d->error == NULL)
		d->error = xstrdup(what);
}

static void
simhook_done_cb(struct evhttp_request *req, void *arg)
{
	struct simhook *d = arg;
	int status = req != NULL ? evhttp_request_get_response_code(req) : 0;

	if (status == 0)
		simhook_finish(d, 0, "connection failed");
	else
		simhook_finish(d, status, status >= 200 && status < 300 ? NULL : "non-2xx status");
}

static void
simhook_hmac_sha1_hex(const char *key, const char *data, char out[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	HMAC(EVP_sha1(), key, (int)strlen(key), (const unsigned char *)data, strlen(data), md,
	     &len);
	util_hex(md, len, out);
}

static void
simhook_headers(struct evkeyvalq *h, const struct simhook_target *t, const struct simhook *d,
                const char *host, const char *payload)
{
	char sig256[65] = "", sig1[41] = "", *v;

	if (t->secret != NULL && *t->secret != '\0') {
		util_hmac_sha256_hex(t->secret, strlen(t->secret), payload, strlen(payload),
		                     sig256);
		simhook_hmac_sha1_hex(t->secret, payload, sig1);
	}
	evhttp_add_header(h, "Host", host);
	evhttp_add_header(h, "User-Agent", "Go-http-client/1.1");
	evhttp_add_header(h, "Connection", "close");
	evhttp_add_header(h, "Content-Type",
	                  strcmp(t->content_type, "form") == 0 ? "application/x-www-form-urlencoded"
	                                                       : "application/json");
	evhttp_add_header(h, "X-Gitea-Delivery", d->uuid);
	evhttp_add_header(h, "X-Gitea-Event", d->event);
	evhttp_add_header(h, "X-Gitea-Event-Type", d->event);
	evhttp_add_header(h, "X-Gitea-Signature", sig256);
	evhttp_add_header(h, "X-Gitea-Hook-Installation-Target-Type", "organization");
	evhttp_add_header(h, "X-Gogs-Delivery", d->uuid);
	evhttp_add_header(h, "X-Gogs-Event", d->event);
	evhttp_add_header(h, "X-Gogs-Event-Type", d->event);
	evhttp_add_header(h, "X-Gogs-Signature", sig256);
	v = xasprintf("sha1=%s", sig1);
	evhttp_add_header(h, "X-Hub-Signature", v);
	free(v);
	v = xasprintf("sha256=%s", sig256);
	evhttp_add_header(h, "X-Hub-Signature-256", v);
	free(v);
	evhttp_add_header(h, "X-GitHub-Delivery", d->uuid);
	evhttp_add_header(h, "X-GitHub-Event", d->event);
	evhttp_add_header(h, "X-GitHub-Event-Type", d->event);
	evhttp_add_header(h, "X-GitHub-Hook-Installation-Target-Type", "organization");
	if (t->auth_header != NULL && *t->auth_header != '\0')
		evhttp_add_header(h, "Authorization", t->auth_header);
}

void
simhook_deliver(const struct simhook_target *t, const char *event, const char *action,
                const char *payload)
{
	struct simhook *d = xcalloc(1, sizeof(*d));
	struct evhttp_uri *uri = evhttp_uri_parse(t->url);
	struct evhttp_request *req;
	struct timeval tv = {sim_cfg.webhook_timeout_ms / 1000,
	                     (sim_cfg.webhook_timeout_ms % 1000) * 1000};
	const char *host, *path, *query, *scheme;
	char *target = NULL, *hosthdr = NULL;
	int port;

	simhook_uuid(d->uuid);
	d->url = xstrdup(t->url);
	d->event = xstrdup(event);
	d->action = xstrdup(action);
	d->start_us = util_now_us();
	TAILQ_INSERT_TAIL(&simhook_all, d, entry);
	scheme = uri != NULL ? evhttp_uri_get_scheme(uri) : NULL;
	host = uri != NULL ? evhttp_uri_get_host(uri) : NULL;
	if (scheme == NULL || strcmp(scheme, "http") != 0 || host == NULL) {
		simhook_finish(d, 0, "only http:// hook URLs can be delivered by the simulator");
		goto out;
	}
	port = evhttp_uri_get_port(uri) > 0 ? evhttp_uri_get_port(uri) : 80;
	path = evhttp_uri_get_path(uri);
	query = evhttp_uri_get_query(uri);
	target = xasprintf("%s%s%s", path != NULL && *path != '\0' ? path : "/",
	                   query != NULL ? "?" : "", query != NULL ? query : "");
	hosthdr = xasprintf("%s:%d", host, port);
	d->evcon = evhttp_connection_base_new(sim_base, NULL, host, (unsigned short)port);
	if (d->evcon == NULL) {
		simhook_finish(d, 0, "cannot create a connection");
		goto out;
	}
	evhttp_connection_set_timeout_tv(d->evcon, &tv);
	evhttp_connection_set_retries(d->evcon, 0);
	req = evhttp_request_new(simhook_done_cb, d);
	evhttp_request_set_error_cb(req, simhook_error_cb);
	simhook_headers(evhttp_request_get_output_headers(req), t, d, hosthdr, payload);
	if (strcmp(t->content_type, "form") == 0) {
		char *enc = evhttp_uriencode(payload, -1, 1);

		evbuffer_add_printf(evhttp_request_get_output_buffer(req), "payload=%s", enc);
		free(enc);
	} else {
		evbuffer_add(evhttp_request_get_output_buffer(req), payload, strlen(payload));
	}
	if (evhttp_make_request(d->evcon, req, EVHTTP_REQ_POST, target) != 0) {
		/* evhttp_make_request has freed req */
		evhttp_connection_free(d->evcon);
		d->evcon = NULL;
		simhook_finish(d, 0, "cannot send the request");
		goto out;
	}
out:
	free(target);
	free(hosthdr);
	if (uri != NULL)
		evhttp_uri_free(uri);
}

json_t *
simhook_list(void)
{
	json_t *a = json_array();
	struct simhook *d;

	TAILQ_FOREACH(d, &simhook_all, entry)
	{
		if (d->hidden)
			continue;
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s?}", "id", d->uuid, "hook_url",
		                 d->url, "event", d->event, "action", d->action, "status",
		                 d->done ? json_integer(d->status) : json_null(), "ms",
		                 d->done ? json_real(d->ms) : json_null(), "error", d->error));
	}
	return a;
}

void
simhook_reset(void)
{
	struct simhook *d, *next;

	for (d = TAILQ_FIRST(&simhook_all); d != NULL; d = next) {
		next = TAILQ_NEXT(d, entry);
		if (d->done && d->evcon == NULL)
			simhook_free_one(d);
		else
			d->hidden = 1;
	}
}

void
simhook_free(void)
{
	struct simhook *d;

	while ((d = TAILQ_FIRST(&simhook_all)) != NULL) {
		if (d->reap != NULL)
			event_free(d->reap);
		if (d->evcon != NULL)
			evhttp_connection_free(d->evcon); /* frees its request, no callback */
		simhook_free_one(d);
	}
}
