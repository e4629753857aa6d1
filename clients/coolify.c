#include "coolify.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "common/xmalloc.h"

/* First and largest pause between polls of an application being deleted. */
#define COOLIFY_POLL_FIRST_MS 200
#define COOLIFY_POLL_MAX_MS   2000

struct coolify {
	struct http_client *http;
};

#define COOLIFY_APP_FIELDS "ports_exposes,destination_uuid,name,description,instant_deploy"

/* Every request below, for the conformance test. */
static const struct http_route coolify_route_table[] = {
    {"GET", "/version", NULL, NULL, NULL, NULL},
    {"GET", "/servers", NULL, NULL, NULL, NULL},
    {"GET", "/projects", NULL, NULL, NULL, NULL},
    {"POST", "/projects", NULL, "name", "description", NULL},
    {"GET", "/projects/{uuid}", NULL, NULL, NULL, NULL},
    {"PATCH", "/projects/{uuid}", NULL, NULL, "name,description", NULL},
    {"DELETE", "/projects/{uuid}", NULL, NULL, NULL, NULL},
    {"GET", "/projects/{uuid}/environments", NULL, NULL, NULL, NULL},
    {"POST", "/projects/{uuid}/environments", NULL, "name", NULL, NULL},
    {"GET", "/projects/{uuid}/{environment_name_or_uuid}", NULL, NULL, NULL, NULL},
    {"POST", "/applications/public", NULL,
     "project_uuid,server_uuid,git_repository,git_branch,build_pack,ports_exposes",
     COOLIFY_APP_FIELDS, "environment_name,environment_uuid"},
    {"POST", "/applications/private-deploy-key", NULL,
     "project_uuid,server_uuid,private_key_uuid,git_repository,git_branch,build_pack,"
     "ports_exposes",
     COOLIFY_APP_FIELDS, "environment_name,environment_uuid"},
    {"GET", "/applications", "tag", NULL, NULL, NULL},
    {"GET", "/applications/{uuid}", NULL, NULL, NULL, NULL},
    {"PATCH", "/applications/{uuid}", NULL, NULL,
     "name,description,git_repository,git_branch,build_pack,ports_exposes", NULL},
    {"DELETE", "/applications/{uuid}", NULL, NULL, NULL, NULL},
};

const struct http_route *
coolify_routes(size_t *n)
{
	*n = nitems(coolify_route_table);
	return coolify_route_table;
}

struct http_budget *
coolify_budget_new(int rpm)
{
	struct http_budget *b;
	double burst;

	if (rpm <= 0)
		rpm = COOLIFY_DEFAULT_RPM;
	burst = rpm / 10 > 1 ? rpm / 10 : 1;
	b = http_budget_new("coolify", rpm / 60.0, burst);
	/* Laravel's throttle, Limit::perMinute() (app/Providers/RouteServiceProvider.php),
	 * announces its window on every answer: follow it while it does. */
	http_budget_follow_window(b, COOLIFY_WINDOW_MS);
	return b;
}

struct coolify *
coolify_new(const struct coolify_config *cfg)
{
	struct coolify *c = xcalloc(1, sizeof *c);
	const char *url = cfg->url ? cfg->url : "";
	size_t n = strlen(url);
	char *base, *auth;
	struct http_client_config hc = {
	    .upstream = "coolify",
	    .ca_file = cfg->ca_file,
	    .connect_timeout_ms = cfg->connect_timeout_ms,
	    .timeout_ms = cfg->timeout_ms,
	    .budget_wait_ms = cfg->budget_wait_ms,
	    .max_retries = cfg->max_retries,
	    .budget = cfg->budget,
	};

	while (n > 0 && url[n - 1] == '/')
		n--;
	base = xasprintf("%.*s/api/v1", (int)n, url);
	auth = xasprintf("Authorization: Bearer %s", cfg->token ? cfg->token : "");
	hc.base_url = base;
	hc.auth_header = auth;
	c->http = http_client_new(&hc);
	memset(auth, 0, strlen(auth));
	free(auth);
	free(base);
	return c;
}

void
coolify_free(struct coolify *c)
{
	if (c == NULL)
		return;
	http_client_free(c->http);
	free(c);
}

struct http_client *
coolify_http(struct coolify *c)
{
	return c->http;
}

static int
coolify_parse_env(const json_t *o, void *out)
{
	struct coolify_env *e = out;

	if (!json_is_object(o) || !json_is_string(json_object_get(o, "uuid")))
		return -1;
	e->id = jsonx_int(o, "id");
	e->uuid = jsonx_str(o, "uuid");
	e->name = jsonx_str(o, "name");
	return 0;
}

static void
coolify_env_free_v(void *p)
{
	coolify_env_free(p);
}

static int
coolify_parse_project(const json_t *o, void *out)
{
	struct coolify_project *p = out;
	const json_t *envs;

	if (!json_is_object(o) || !json_is_string(json_object_get(o, "uuid")))
		return -1;
	p->id = jsonx_int(o, "id");
	p->uuid = jsonx_str(o, "uuid");
	p->name = jsonx_str(o, "name");
	p->description = jsonx_str(o, "description");
	envs = json_object_get(o, "environments");
	if (json_is_array(envs) &&
	    jsonx_parse_array(envs, sizeof *p->envs.v, coolify_parse_env, coolify_env_free_v,
	                      (void **)&p->envs.v, &p->envs.n) != 0) {
		coolify_project_free(p);
		return -1;
	}
	return 0;
}

static int
coolify_parse_app(const json_t *o, void *out)
{
	struct coolify_app *a = out;

	if (!json_is_object(o) || !json_is_string(json_object_get(o, "uuid")))
		return -1;
	a->uuid = jsonx_str(o, "uuid");
	a->name = jsonx_str(o, "name");
	a->description = jsonx_str(o, "description");
	a->git_repository = jsonx_str(o, "git_repository");
	a->git_branch = jsonx_str(o, "git_branch");
	a->build_pack = jsonx_str(o, "build_pack");
	a->ports_exposes = jsonx_str(o, "ports_exposes");
	a->status = jsonx_str(o, "status");
	a->fqdn = jsonx_str(o, "fqdn");
	a->environment_id = jsonx_int(o, "environment_id");
	return 0;
}

static int
coolify_parse_server(const json_t *o, void *out)
{
	struct coolify_server *s = out;

	if (!json_is_object(o) || !json_is_string(json_object_get(o, "uuid")))
		return -1;
	s->uuid = jsonx_str(o, "uuid");
	s->name = jsonx_str(o, "name");
	s->ip = jsonx_str(o, "ip");
	s->is_reachable = json_is_true(json_object_get(o, "is_reachable"));
	s->is_usable = json_is_true(json_object_get(o, "is_usable"));
	return 0;
}

static int
coolify_parse_uuid(const json_t *o, void *out)
{
	char **uuid = out;

	*uuid = jsonx_str(o, "uuid");
	return *uuid ? 0 : -1;
}

/* A create's answer: {"uuid": ..., "domains": ...}. */
struct coolify_made {
	char *uuid;
	char *domains;
};

static int
coolify_parse_made(const json_t *o, void *out)
{
	struct coolify_made *m = out;

	m->uuid = jsonx_str(o, "uuid");
	m->domains = jsonx_str(o, "domains");
	return m->uuid ? 0 : -1;
}

void
coolify_env_free(struct coolify_env *e)
{
	free(e->uuid);
	free(e->name);
	memset(e, 0, sizeof *e);
}

void
coolify_project_free(struct coolify_project *p)
{
	free(p->uuid);
	free(p->name);
	free(p->description);
	coolify_envs_free(&p->envs);
	memset(p, 0, sizeof *p);
}

void
coolify_app_free(struct coolify_app *a)
{
	free(a->uuid);
	free(a->name);
	free(a->description);
	free(a->git_repository);
	free(a->git_branch);
	free(a->build_pack);
	free(a->ports_exposes);
	free(a->status);
	free(a->fqdn);
	memset(a, 0, sizeof *a);
}

void
coolify_server_free(struct coolify_server *s)
{
	free(s->uuid);
	free(s->name);
	free(s->ip);
	memset(s, 0, sizeof *s);
}

JSONX_LIST_FREE(coolify_envs_free, coolify_envs, coolify_env_free)
JSONX_LIST_FREE(coolify_projects_free, coolify_projects, coolify_project_free)
JSONX_LIST_FREE(coolify_apps_free, coolify_apps, coolify_app_free)
JSONX_LIST_FREE(coolify_servers_free, coolify_servers, coolify_server_free)

static void
coolify_project_free_v(void *p)
{
	coolify_project_free(p);
}
static void
coolify_app_free_v(void *p)
{
	coolify_app_free(p);
}
static void
coolify_server_free_v(void *p)
{
	coolify_server_free(p);
}

/* Fails a call before sending it: the caller passed nothing to do. */
static enum http_class
coolify_refuse(struct http_status *st, const char *why)
{
	if (st != NULL) {
		memset(st, 0, sizeof *st);
		st->cls = HTTP_INVALID;
		snprintf(st->message, sizeof st->message, "%s", why);
	}
	return HTTP_INVALID;
}

/* ---- projects ---- */

enum http_class
coolify_project_list(struct coolify *c, struct coolify_projects *out, struct http_status *st)
{
	return http_call_array(c->http, "/projects", sizeof *out->v, coolify_parse_project,
	                       coolify_project_free_v, (void **)&out->v, &out->n, st);
}

struct coolify_each {
	coolify_project_fn fn;
	void *arg;
};

static int
coolify_project_item(const json_t *item, void *arg)
{
	struct coolify_each *e = arg;
	struct coolify_project p = {0};
	int rc = coolify_parse_project(item, &p) == 0 ? e->fn(&p, e->arg) : -1;

	coolify_project_free(&p);
	return rc;
}

enum http_class
coolify_project_each(struct coolify *c, coolify_project_fn fn, void *arg, struct http_status *st)
{
	struct coolify_each e = {fn, arg};

	return http_each(c->http, "/projects", coolify_project_item, &e, st);
}

enum http_class
coolify_project_get(struct coolify *c, const char *uuid, struct coolify_project *out,
                    struct http_status *st)
{
	char *path = http_path("/projects/%s", uuid, NULL, NULL);
	enum http_class cls =
	    http_call_object(c->http, "GET", path, NULL, coolify_parse_project, out, st);

	free(path);
	return cls;
}

enum http_class
coolify_project_create(struct coolify *c, const char *name, const char *description, char **uuid,
                       struct http_status *st)
{
	json_t *body = json_object();
	enum http_class cls;

	*uuid = NULL;
	json_object_set_new(body, "name", json_string(name));
	jsonx_set_str(body, "description", description);
	cls = http_call_object(c->http, "POST", "/projects", body, coolify_parse_uuid, uuid, st);
	json_decref(body);
	return cls;
}

enum http_class
coolify_project_update(struct coolify *c, const char *uuid, const char *name,
                       const char *description, struct http_status *st)
{
	char *path;
	json_t *body;
	enum http_class cls;

	/* Coolify answers an empty object with 400 "Empty JSON.". */
	if (name == NULL && description == NULL)
		return coolify_refuse(st, "coolify_project_update: nothing to change");
	path = http_path("/projects/%s", uuid, NULL, NULL);
	body = json_object();
	jsonx_set_str(body, "name", name);
	jsonx_set_str(body, "description", description);
	cls = http_call_object(c->http, "PATCH", path, body, NULL, NULL, st);
	json_decref(body);
	free(path);
	return cls;
}

enum http_class
coolify_project_delete(struct coolify *c, const char *uuid, struct http_status *st)
{
	char *path = http_path("/projects/%s", uuid, NULL, NULL);
	enum http_class cls = http_call_object(c->http, "DELETE", path, NULL, NULL, NULL, st);

	free(path);
	return cls;
}

/* ---- environments ---- */

enum http_class
coolify_env_list(struct coolify *c, const char *project_uuid, struct coolify_envs *out,
                 struct http_status *st)
{
	char *path = http_path("/projects/%s/environments", project_uuid, NULL, NULL);
	enum http_class cls = http_call_array(c->http, path, sizeof *out->v, coolify_parse_env,
	                                      coolify_env_free_v, (void **)&out->v, &out->n, st);

	free(path);
	return cls;
}

enum http_class
coolify_env_get(struct coolify *c, const char *project_uuid, const char *name_or_uuid,
                struct coolify_env *out, struct http_status *st)
{
	char *path = http_path("/projects/%s/%s", project_uuid, name_or_uuid, NULL);
	enum http_class cls =
	    http_call_object(c->http, "GET", path, NULL, coolify_parse_env, out, st);

	free(path);
	return cls;
}

static int
coolify_parse_env_apps(const json_t *o, void *out)
{
	struct coolify_apps *apps = out;
	const json_t *a = json_object_get(o, "applications");

	if (!json_is_object(o) || !json_is_array(a))
		return -1;
	return jsonx_parse_array(a, sizeof *apps->v, coolify_parse_app, coolify_app_free_v,
	                         (void **)&apps->v, &apps->n);
}

enum http_class
coolify_env_apps(struct coolify *c, const char *project_uuid, const char *name_or_uuid,
                 struct coolify_apps *apps, struct http_status *st)
{
	char *eu = http_escape(project_uuid), *ee = http_escape(name_or_uuid);
	char *path = xasprintf("/projects/%s/%s", eu, ee);
	enum http_class cls;

	memset(apps, 0, sizeof *apps);
	cls = http_call_object(c->http, "GET", path, NULL, coolify_parse_env_apps, apps, st);
	free(path);
	free(ee);
	free(eu);
	return cls;
}

enum http_class
coolify_env_create(struct coolify *c, const char *project_uuid, const char *name, char **uuid,
                   struct http_status *st)
{
	char *path = http_path("/projects/%s/environments", project_uuid, NULL, NULL);
	json_t *body = json_object();
	char *tmp = NULL;
	enum http_class cls;

	json_object_set_new(body, "name", json_string(name));
	cls = http_call_object(c->http, "POST", path, body, coolify_parse_uuid, &tmp, st);
	if (uuid != NULL)
		*uuid = tmp;
	else
		free(tmp);
	json_decref(body);
	free(path);
	return cls;
}

/* ---- applications ---- */

static json_t *
coolify_app_body(const struct coolify_app_spec *s)
{
	json_t *body = json_object();

	json_object_set_new(body, "project_uuid", json_string(s->project_uuid));
	json_object_set_new(body, "server_uuid", json_string(s->server_uuid));
	/* Coolify wants one of the two and tries the name first. */
	if (s->environment_name != NULL)
		json_object_set_new(body, "environment_name", json_string(s->environment_name));
	else
		json_object_set_new(body, "environment_uuid", json_string(s->environment_uuid));
	jsonx_set_str(body, "destination_uuid", s->destination_uuid);
	json_object_set_new(body, "git_repository", json_string(s->git_repository));
	json_object_set_new(body, "git_branch", json_string(s->git_branch));
	json_object_set_new(body, "build_pack", json_string(s->build_pack));
	json_object_set_new(body, "ports_exposes", json_string(s->ports_exposes));
	jsonx_set_str(body, "name", s->name);
	jsonx_set_str(body, "description", s->description);
	if (s->instant_deploy)
		json_object_set_new(body, "instant_deploy", json_true());
	return body;
}

/* Checks what Coolify would refuse with a 422, before spending a request on it. */
static const char *
coolify_app_spec_missing(const struct coolify_app_spec *s)
{
	if (s->project_uuid == NULL)
		return "project_uuid";
	if (s->server_uuid == NULL)
		return "server_uuid";
	if (s->environment_name == NULL && s->environment_uuid == NULL)
		return "environment_name or environment_uuid";
	if (s->git_repository == NULL)
		return "git_repository";
	if (s->git_branch == NULL)
		return "git_branch";
	if (s->build_pack == NULL)
		return "build_pack";
	if (s->ports_exposes == NULL)
		return "ports_exposes";
	return NULL;
}

static enum http_class
coolify_app_create(struct coolify *c, const char *path, const struct coolify_app_spec *spec,
                   const char *private_key_uuid, char **uuid, char **domains,
                   struct http_status *st)
{
	const char *missing = coolify_app_spec_missing(spec);
	struct coolify_made made = {0};
	json_t *body;
	enum http_class cls;
	char why[128];

	*uuid = NULL;
	if (domains != NULL)
		*domains = NULL;
	if (missing != NULL) {
		snprintf(why, sizeof why, "application spec lacks %s", missing);
		return coolify_refuse(st, why);
	}
	body = coolify_app_body(spec);
	if (private_key_uuid != NULL)
		json_object_set_new(body, "private_key_uuid", json_string(private_key_uuid));
	cls = http_call_object(c->http, "POST", path, body, coolify_parse_made, &made, st);
	json_decref(body);
	if (cls != HTTP_OK) {
		free(made.uuid);
		free(made.domains);
		return cls;
	}
	*uuid = made.uuid;
	if (domains != NULL)
		*domains = made.domains;
	else
		free(made.domains);
	return cls;
}

enum http_class
coolify_app_create_public(struct coolify *c, const struct coolify_app_spec *spec, char **uuid,
                          char **domains, struct http_status *st)
{
	return coolify_app_create(c, "/applications/public", spec, NULL, uuid, domains, st);
}

enum http_class
coolify_app_create_deploy_key(struct coolify *c, const struct coolify_app_spec *spec,
                              const char *private_key_uuid, char **uuid, char **domains,
                              struct http_status *st)
{
	if (private_key_uuid == NULL) {
		*uuid = NULL;
		if (domains != NULL)
			*domains = NULL;
		return coolify_refuse(st, "application spec lacks private_key_uuid");
	}
	return coolify_app_create(c, "/applications/private-deploy-key", spec, private_key_uuid,
	                          uuid, domains, st);
}

enum http_class
coolify_app_get(struct coolify *c, const char *uuid, struct coolify_app *out,
                struct http_status *st)
{
	char *path = http_path("/applications/%s", uuid, NULL, NULL);
	enum http_class cls =
	    http_call_object(c->http, "GET", path, NULL, coolify_parse_app, out, st);

	free(path);
	return cls;
}

enum http_class
coolify_app_list(struct coolify *c, const char *tag, struct coolify_apps *out,
                 struct http_status *st)
{
	char *path =
	    tag ? http_path("/applications?tag=%s", tag, NULL, NULL) : xstrdup("/applications");
	enum http_class cls = http_call_array(c->http, path, sizeof *out->v, coolify_parse_app,
	                                      coolify_app_free_v, (void **)&out->v, &out->n, st);

	free(path);
	return cls;
}

enum http_class
coolify_app_update(struct coolify *c, const char *uuid, const struct coolify_app_patch *p,
                   struct http_status *st)
{
	char *path;
	json_t *body = json_object();
	enum http_class cls;

	jsonx_set_str(body, "name", p->name);
	jsonx_set_str(body, "description", p->description);
	jsonx_set_str(body, "git_repository", p->git_repository);
	jsonx_set_str(body, "git_branch", p->git_branch);
	jsonx_set_str(body, "build_pack", p->build_pack);
	jsonx_set_str(body, "ports_exposes", p->ports_exposes);
	if (json_object_size(body) == 0) {
		json_decref(body);
		return coolify_refuse(st, "coolify_app_update: nothing to change");
	}
	path = http_path("/applications/%s", uuid, NULL, NULL);
	cls = http_call_object(c->http, "PATCH", path, body, NULL, NULL, st);
	json_decref(body);
	free(path);
	return cls;
}

enum http_class
coolify_app_delete(struct coolify *c, const char *uuid, struct http_status *st)
{
	char *path = http_path("/applications/%s", uuid, NULL, NULL);
	enum http_class cls = http_call_object(c->http, "DELETE", path, NULL, NULL, NULL, st);

	free(path);
	return cls;
}

static void
coolify_sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

enum http_class
coolify_app_wait_gone(struct coolify *c, const char *uuid, int64_t deadline_ms,
                      struct http_status *st)
{
	struct http_status local = {0};
	struct http_status *s = st ? st : &local;
	int64_t pause = COOLIFY_POLL_FIRST_MS, now, saved = http_client_deadline(c->http);
	enum http_class cls;

	/* Each poll, budget wait included, ends by the deadline too; the first is always sent. */
	if (deadline_ms > util_now_ms() && (saved == 0 || deadline_ms < saved))
		http_client_set_deadline(c->http, deadline_ms);
	for (;;) {
		cls = coolify_app_get(c, uuid, NULL, s);
		if (cls == HTTP_NOT_FOUND) {
			s->cls = HTTP_OK;
			break;
		}
		if (cls != HTTP_OK)
			break;
		now = util_now_ms();
		if (now >= deadline_ms) {
			cls = HTTP_TRANSIENT;
			s->cls = cls;
			snprintf(s->message, sizeof s->message,
			         "application %s still present at the deadline", uuid);
			break;
		}
		coolify_sleep_ms(pause < deadline_ms - now ? pause : deadline_ms - now);
		pause = pause * 3 / 2 < COOLIFY_POLL_MAX_MS ? pause * 3 / 2 : COOLIFY_POLL_MAX_MS;
	}
	http_client_set_deadline(c->http, saved);
	return cls == HTTP_NOT_FOUND ? HTTP_OK : cls;
}

/* ---- servers, version ---- */

enum http_class
coolify_server_list(struct coolify *c, struct coolify_servers *out, struct http_status *st)
{
	return http_call_array(c->http, "/servers", sizeof *out->v, coolify_parse_server,
	                       coolify_server_free_v, (void **)&out->v, &out->n, st);
}

enum http_class
coolify_version(struct coolify *c, char **version, struct http_status *st)
{
	struct http_response r;
	const char *t;
	size_t n;

	*version = NULL;
	http_response_init(&r);
	if (http_request(c->http, "GET", "/version", NULL, &r) == HTTP_OK) {
		/* Plain text, though a JSON string is tolerated. */
		if (json_is_string(r.body)) {
			*version = xstrdup(json_string_value(r.body));
		} else {
			t = buf_str(&r.text);
			while (isspace((unsigned char)*t))
				t++;
			n = strlen(t);
			while (n > 0 && isspace((unsigned char)t[n - 1]))
				n--;
			if (n == 0)
				http_fail_unexpected(&r);
			else
				*version = xstrndup(t, n);
		}
	}
	return http_finish(&r, st);
}
