#include "health.h"

#include <string.h>

#include "common/buf.h"
#include "httpd/httpd.h"
#include "httpd/metrics.h"

static health_ready_fn health_ready;
static void *health_ready_arg;

static void
health_live(struct httpd_req *req, void *arg)
{
	httpd_reply_json(req, 200, "{\"status\": \"ok\"}\n");
}

static void
health_readyz(struct httpd_req *req, void *arg)
{
	char reason[256] = "";

	if (health_ready == NULL || health_ready(reason, sizeof reason, health_ready_arg))
		httpd_reply_json(req, 200, "{\"status\": \"ready\"}\n");
	else
		httpd_error(req, 503, "not_ready", "not ready: %s", reason);
}

static void
health_metrics(struct httpd_req *req, void *arg)
{
	struct buf b;

	buf_init(&b);
	metrics_render(&b);
	httpd_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", buf_str(&b), b.len);
	buf_free(&b);
}

void
health_register(health_ready_fn ready, void *arg)
{
	health_ready = ready;
	health_ready_arg = arg;
	httpd_route("GET", "/healthz", health_live, NULL);
	httpd_route("GET", "/readyz", health_readyz, NULL);
	httpd_route("GET", "/metrics", health_metrics, NULL);
}
