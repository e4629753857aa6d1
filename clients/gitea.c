#include "gitea.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "common/xmalloc.h"

/* Gitea gives up paging at this many pages; a guard against a server that never ends. */
#define GITEA_MAX_PAGES 100000

struct gitea {
	struct http_client *http;
	char *admin_user;
};

/* Every request below, for the conformance test. Bodies list top-level keys, and nested
 * keys as "config.url". */
static const struct http_route gitea_route_table[] = {
    {"GET", "/version", NULL, NULL, NULL, NULL},
    {"GET", "/users/{username}", NULL, NULL, NULL, NULL},
    {"GET", "/admin/orgs", "page,limit", NULL, NULL, NULL},
    {"POST", "/admin/users/{username}/orgs", NULL, "username", "full_name,description,visibility",
     NULL},
    {"GET", "/orgs/{org}", NULL, NULL, NULL, NULL},
    {"PATCH", "/orgs/{org}", NULL, NULL, "full_name,description,visibility", NULL},
    {"DELETE", "/orgs/{org}", NULL, NULL, NULL, NULL},
    {"GET", "/orgs/{org}/teams", "page,limit", NULL, NULL, NULL},
    {"POST", "/orgs/{org}/teams", NULL,
     "name,permission,includes_all_repositories,can_create_org_repo,units_map", "description",
     NULL},
    {"GET", "/teams/{id}/members", "page,limit", NULL, NULL, NULL},
    {"PUT", "/teams/{id}/members/{username}", NULL, NULL, NULL, NULL},
    {"DELETE", "/teams/{id}/members/{username}", NULL, NULL, NULL, NULL},
    {"GET", "/orgs/{org}/members", "page,limit", NULL, NULL, NULL},
    {"DELETE", "/orgs/{org}/members/{username}", NULL, NULL, NULL, NULL},
    {"GET", "/repos/{owner}/{repo}", NULL, NULL, NULL, NULL},
    {"POST", "/orgs/{org}/repos", NULL, "name,private", "description,default_branch,auto_init",
     NULL},
    {"PATCH", "/repos/{owner}/{repo}", NULL, NULL, "description,default_branch,private", NULL},
    {"DELETE", "/repos/{owner}/{repo}", NULL, NULL, NULL, NULL},
    {"GET", "/orgs/{org}/repos", "page,limit", NULL, NULL, NULL},
    {"GET", "/repos/{owner}/{repo}/branches/{branch}", NULL, NULL, NULL, NULL},
    {"GET", "/orgs/{org}/hooks", "page,limit", NULL, NULL, NULL},
    {"POST", "/orgs/{org}/hooks", NULL, "type,config,config.url,config.content_type,events,active",
     "config.secret", NULL},
    {"PATCH", "/orgs/{org}/hooks/{id}", NULL, "config,config.url,config.content_type,events,active",
     "config.secret", NULL},
    {"DELETE", "/orgs/{org}/hooks/{id}", NULL, NULL, NULL, NULL},
};

const struct http_route *
gitea_routes(size_t *n)
{
	*n = nitems(gitea_route_table);
	return gitea_route_table;
}

struct http_budget *
gitea_budget_new(int rps)
{
	if (rps <= 0)
		rps = GITEA_DEFAULT_RPS;
	return http_budget_new("gitea", rps, rps);
}

struct gitea *
gitea_new(const struct gitea_config *cfg)
{
	struct gitea *g = xcalloc(1, sizeof *g);
	struct http_client_config hc = {
	    .upstream = "gitea",
	    .base_url = cfg->api_url,
	    .ca_file = cfg->ca_file,
	    .connect_timeout_ms = cfg->connect_timeout_ms,
	    .timeout_ms = cfg->timeout_ms,
	    .budget_wait_ms = cfg->budget_wait_ms,
	    .max_retries = cfg->max_retries,
	    .budget = cfg->budget,
	};
	char *auth = xasprintf("Authorization: token %s", cfg->token ? cfg->token : "");

	hc.auth_header = auth;
	g->http = http_client_new(&hc);
	/* The copy in the client is the only one left. */
	memset(auth, 0, strlen(auth));
	free(auth);
	g->admin_user = xstrdup(cfg->admin_user ? cfg->admin_user : "");
	return g;
}

void
gitea_free(struct gitea *g)
{
	if (g == NULL)
		return;
	http_client_free(g->http);
	free(g->admin_user);
	free(g);
}

struct http_client *
gitea_http(struct gitea *g)
{
	return g->http;
}

static int
gitea_parse_org(const json_t *o, void *out)
{
	struct gitea_org *org = out;

	if (!json_is_object(o))
		return -1;
	if (!json_is_string(json_object_get(o, "name")) &&
	    !json_is_string(json_object_get(o, "username")))
		return -1;
	org->id = jsonx_int(o, "id");
	org->name = jsonx_str(o, "name");
	if (org->name == NULL)
		org->name = jsonx_str(o, "username");
	org->full_name = jsonx_str(o, "full_name");
	org->description = jsonx_str(o, "description");
	org->visibility = jsonx_str(o, "visibility");
	return 0;
}

static int
gitea_parse_team(const json_t *o, void *out)
{
	struct gitea_team *t = out;

	if (!json_is_object(o) || !json_is_string(json_object_get(o, "name")))
		return -1;
	t->id = jsonx_int(o, "id");
	t->name = jsonx_str(o, "name");
	t->description = jsonx_str(o, "description");
	t->permission = jsonx_str(o, "permission");
	t->includes_all_repositories = jsonx_bool(o, "includes_all_repositories");
	return 0;
}

static int
gitea_parse_user(const json_t *o, void *out)
{
	struct gitea_user *u = out;

	if (!json_is_object(o))
		return -1;
	u->login = jsonx_str(o, "login");
	if (u->login == NULL)
		u->login = jsonx_str(o, "username");
	if (u->login == NULL)
		return -1;
	u->id = jsonx_int(o, "id");
	u->full_name = jsonx_str(o, "full_name");
	u->email = jsonx_str(o, "email");
	return 0;
}

static int
gitea_parse_repo(const json_t *o, void *out)
{
	struct gitea_repo *r = out;
	const json_t *owner;

	if (!json_is_object(o) || !json_is_string(json_object_get(o, "name")))
		return -1;
	r->id = jsonx_int(o, "id");
	r->name = jsonx_str(o, "name");
	r->full_name = jsonx_str(o, "full_name");
	owner = json_object_get(o, "owner");
	r->owner = jsonx_str(owner, "login");
	if (r->owner == NULL)
		r->owner = jsonx_str(owner, "username");
	r->description = jsonx_str(o, "description");
	r->default_branch = jsonx_str(o, "default_branch");
	r->clone_url = jsonx_str(o, "clone_url");
	r->ssh_url = jsonx_str(o, "ssh_url");
	r->private = jsonx_bool(o, "private");
	r->empty = jsonx_bool(o, "empty");
	r->archived = jsonx_bool(o, "archived");
	return 0;
}

static int
gitea_parse_hook(const json_t *o, void *out)
{
	struct gitea_hook *h = out;
	const json_t *config, *events, *ev;
	size_t i;

	if (!json_is_object(o))
		return -1;
	h->id = jsonx_int(o, "id");
	h->type = jsonx_str(o, "type");
	config = json_object_get(o, "config");
	h->url = jsonx_str(config, "url");
	h->content_type = jsonx_str(config, "content_type");
	h->active = jsonx_bool(o, "active");
	events = json_object_get(o, "events");
	if (json_is_array(events) && json_array_size(events) > 0) {
		h->events = xcalloc(json_array_size(events), sizeof *h->events);
		json_array_foreach(events, i, ev)
		{
			if (json_is_string(ev))
				h->events[h->nevents++] = xstrdup(json_string_value(ev));
		}
	}
	return 0;
}

void
gitea_org_free(struct gitea_org *o)
{
	free(o->name);
	free(o->full_name);
	free(o->description);
	free(o->visibility);
	memset(o, 0, sizeof *o);
}

void
gitea_team_free(struct gitea_team *t)
{
	free(t->name);
	free(t->description);
	free(t->permission);
	memset(t, 0, sizeof *t);
}

void
gitea_user_free(struct gitea_user *u)
{
	free(u->login);
	free(u->full_name);
	free(u->email);
	memset(u, 0, sizeof *u);
}

void
gitea_repo_free(struct gitea_repo *r)
{
	free(r->name);
	free(r->full_name);
	free(r->owner);
	free(r->description);
	free(r->default_branch);
	free(r->clone_url);
	free(r->ssh_url);
	memset(r, 0, sizeof *r);
}

void
gitea_hook_free(struct gitea_hook *h)
{
	free(h->type);
	free(h->url);
	free(h->content_type);
	for (size_t i = 0; i < h->nevents; i++)
		free(h->events[i]);
	free(h->events);
	memset(h, 0, sizeof *h);
}

JSONX_LIST_FREE(gitea_orgs_free, gitea_orgs, gitea_org_free)
JSONX_LIST_FREE(gitea_teams_free, gitea_teams, gitea_team_free)
JSONX_LIST_FREE(gitea_users_free, gitea_users, gitea_user_free)
JSONX_LIST_FREE(gitea_repos_free, gitea_repos, gitea_repo_free)
JSONX_LIST_FREE(gitea_hooks_free, gitea_hooks, gitea_hook_free)

/* Hands one page (a JSON array, borrowed) to the caller: 0, or -1 to stop (HTTP_TRANSIENT,
 * "unexpected item in list"). */
typedef int (*gitea_page_fn)(const json_t *page, void *arg);

/* GETs every page of path, handing each to fn as it comes: only one page is held at a time,
 * so the admin org list of a large Gitea (2,000 pages for 100,000 orgs) is read in the
 * memory of one page.
 *
 * Gitea clamps limit to its [api] MAX_RESPONSE_ITEMS, 50 by default and often set lower, so
 * a page shorter than the limit asked for is not the last one: read until X-Total-Count items
 * have come, or a page comes back empty (services/convert/utils.go ToCorrectPageSize). */
static enum http_class
gitea_pages(struct gitea *g, const char *path, gitea_page_fn fn, void *arg, struct http_status *st)
{
	struct http_response r;
	json_int_t first_id = -1;
	size_t seen = 0;
	char *url;
	int page;

	http_response_init(&r);
	for (page = 1; page <= GITEA_MAX_PAGES; page++) {
		size_t n;
		json_t *item0;

		url = xasprintf("%s%cpage=%d&limit=%d", path, strchr(path, '?') ? '&' : '?', page,
		                GITEA_PAGE_LIMIT);
		http_request(g->http, "GET", url, NULL, &r);
		free(url);
		if (r.st.cls != HTTP_OK)
			break;
		if (!json_is_array(r.body)) {
			http_fail_unexpected(&r);
			break;
		}
		n = json_array_size(r.body);
		item0 = json_array_get(r.body, 0);
		/* A server that ignores page (hooks on some versions) repeats page 1. */
		if (page == 1)
			first_id = json_integer_value(json_object_get(item0, "id"));
		else if (n > 0 && first_id > 0 &&
		         json_integer_value(json_object_get(item0, "id")) == first_id)
			break;
		if (n == 0)
			break;
		if (fn(r.body, arg) != 0) {
			r.st.cls = HTTP_TRANSIENT;
			snprintf(r.st.message, sizeof r.st.message, "unexpected item in list %s",
			         path);
			break;
		}
		seen += n;
		if (r.total_count >= 0 && (long)seen >= r.total_count)
			break;
	}
	return http_finish(&r, st);
}

static int
gitea_list_page(const json_t *page, void *arg)
{
	const json_t *item;
	size_t i;

	json_array_foreach(page, i, item)
	{
		if (jsonx_collect_item(item, arg) != 0)
			return -1;
	}
	return 0;
}

/* Lists path into a typed array of elemsize-byte items parsed by fn. */
static enum http_class
gitea_list(struct gitea *g, const char *path, size_t elemsize, jsonx_parse_fn fn, void **v,
           size_t *count, void (*itemfree)(void *), struct http_status *st)
{
	struct jsonx_collect a = {elemsize, fn, itemfree, NULL, 0, 0};
	enum http_class cls = gitea_pages(g, path, gitea_list_page, &a, st);

	jsonx_collect_finish(&a, cls == HTTP_OK, v, count);
	return cls;
}

static void
gitea_org_free_v(void *p)
{
	gitea_org_free(p);
}
static void
gitea_team_free_v(void *p)
{
	gitea_team_free(p);
}
static void
gitea_user_free_v(void *p)
{
	gitea_user_free(p);
}
static void
gitea_repo_free_v(void *p)
{
	gitea_repo_free(p);
}
static void
gitea_hook_free_v(void *p)
{
	gitea_hook_free(p);
}

/* ---- orgs ---- */

enum http_class
gitea_org_get(struct gitea *g, const char *org, struct gitea_org *out, struct http_status *st)
{
	char *path = http_path("/orgs/%s", org, NULL, NULL);
	enum http_class cls =
	    http_call_object(g->http, "GET", path, NULL, gitea_parse_org, out, st);

	free(path);
	return cls;
}

static json_t *
gitea_org_body(const struct gitea_org_spec *spec)
{
	json_t *body = json_object();

	if (spec != NULL) {
		jsonx_set_str(body, "full_name", spec->full_name);
		jsonx_set_str(body, "description", spec->description);
		jsonx_set_str(body, "visibility", spec->visibility);
	}
	return body;
}

enum http_class
gitea_org_create(struct gitea *g, const char *org, const struct gitea_org_spec *spec,
                 struct gitea_org *out, struct http_status *st)
{
	char *path = http_path("/admin/users/%s/orgs", g->admin_user, NULL, NULL);
	json_t *body = gitea_org_body(spec);
	enum http_class cls;

	json_object_set_new(body, "username", json_string(org));
	cls = http_call_object(g->http, "POST", path, body, gitea_parse_org, out, st);
	json_decref(body);
	free(path);
	return cls;
}

enum http_class
gitea_org_edit(struct gitea *g, const char *org, const struct gitea_org_spec *spec,
               struct gitea_org *out, struct http_status *st)
{
	char *path = http_path("/orgs/%s", org, NULL, NULL);
	json_t *body = gitea_org_body(spec);
	enum http_class cls =
	    http_call_object(g->http, "PATCH", path, body, gitea_parse_org, out, st);

	json_decref(body);
	free(path);
	return cls;
}

enum http_class
gitea_org_delete(struct gitea *g, const char *org, struct http_status *st)
{
	char *path = http_path("/orgs/%s", org, NULL, NULL);
	enum http_class cls = http_call_object(g->http, "DELETE", path, NULL, NULL, NULL, st);

	free(path);
	return cls;
}

enum http_class
gitea_org_list(struct gitea *g, struct gitea_orgs *out, struct http_status *st)
{
	return gitea_list(g, "/admin/orgs", sizeof *out->v, gitea_parse_org, (void **)&out->v,
	                  &out->n, gitea_org_free_v, st);
}

struct gitea_org_each {
	gitea_org_fn fn;
	void *arg;
};

static int
gitea_org_page(const json_t *page, void *arg)
{
	struct gitea_org_each *e = arg;
	const json_t *item;
	size_t i;

	json_array_foreach(page, i, item)
	{
		struct gitea_org org = {0};
		int rc = gitea_parse_org(item, &org) == 0 ? e->fn(&org, e->arg) : -1;

		gitea_org_free(&org);
		if (rc != 0)
			return -1;
	}
	return 0;
}

enum http_class
gitea_org_each(struct gitea *g, gitea_org_fn fn, void *arg, struct http_status *st)
{
	struct gitea_org_each e = {fn, arg};

	return gitea_pages(g, "/admin/orgs", gitea_org_page, &e, st);
}

/* One client's pages of gitea_org_each_at_once: first, first + step, ... up to last. */
struct gitea_org_share {
	struct gitea *g;
	int first, step, last;
	struct gitea_org_each *each; /* called under lock */
	pthread_mutex_t *lock;
	json_int_t first_id; /* page 1's first org: a server that ignores page repeats it */
	enum http_class cls;
	struct http_status st;
	pthread_t thread;
	int started;
};

static void *
gitea_org_share_run(void *arg)
{
	struct gitea_org_share *s = arg;
	struct http_response r;

	http_response_init(&r);
	for (int page = s->first; page <= s->last; page += s->step) {
		char *url = xasprintf("/admin/orgs?page=%d&limit=%d", page, GITEA_PAGE_LIMIT);
		json_t *item0;
		int rc;

		http_request(s->g->http, "GET", url, NULL, &r);
		free(url);
		if (r.st.cls != HTTP_OK)
			break;
		if (!json_is_array(r.body)) {
			http_fail_unexpected(&r);
			break;
		}
		item0 = json_array_get(r.body, 0);
		if (item0 == NULL || (s->first_id > 0 && json_integer_value(json_object_get(
		                                             item0, "id")) == s->first_id))
			break; /* past the end, or page ignored: what page 1 held */
		pthread_mutex_lock(s->lock);
		rc = gitea_org_page(r.body, s->each);
		pthread_mutex_unlock(s->lock);
		if (rc != 0) {
			r.st.cls = HTTP_TRANSIENT;
			snprintf(r.st.message, sizeof r.st.message,
			         "unexpected item in list /admin/orgs");
			break;
		}
	}
	s->cls = http_finish(&r, &s->st);
	return NULL;
}

enum http_class
gitea_org_each_at_once(struct gitea *const *gs, size_t n, gitea_org_fn fn, void *arg,
                       struct http_status *st)
{
	struct gitea_org_each e = {fn, arg};
	struct gitea_org_share share[GITEA_AT_ONCE_MAX];
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct http_response r;
	enum http_class cls = HTTP_OK;
	json_int_t first_id;
	size_t per, m;
	long total, pages;
	char *url;

	if (n <= 1)
		return gitea_org_each(gs[0], fn, arg, st);
	if (n > GITEA_AT_ONCE_MAX)
		n = GITEA_AT_ONCE_MAX;
	/* Page 1 says how many orgs there are, and how many a page holds (Gitea's
	 * MAX_RESPONSE_ITEMS, which may be below the limit asked for). */
	http_response_init(&r);
	url = xasprintf("/admin/orgs?page=1&limit=%d", GITEA_PAGE_LIMIT);
	http_request(gs[0]->http, "GET", url, NULL, &r);
	free(url);
	if (r.st.cls == HTTP_OK && !json_is_array(r.body))
		http_fail_unexpected(&r);
	if (r.st.cls != HTTP_OK)
		return http_finish(&r, st);
	per = json_array_size(r.body);
	total = r.total_count;
	if (gitea_org_page(r.body, &e) != 0) {
		r.st.cls = HTTP_TRANSIENT;
		snprintf(r.st.message, sizeof r.st.message, "unexpected item in list /admin/orgs");
		return http_finish(&r, st);
	}
	first_id = json_integer_value(json_object_get(json_array_get(r.body, 0), "id"));
	cls = http_finish(&r, st);
	if (per == 0 || (total >= 0 && (long)per >= total))
		return cls;
	/* Without a total (not Gitea's way for this list), page after page to an empty one. */
	pages = total >= 0 ? (total + (long)per - 1) / (long)per : GITEA_MAX_PAGES;
	m = total >= 0 && (size_t)(pages - 1) < n ? (size_t)(pages - 1) : n;
	if (total < 0)
		m = 1;
	for (size_t k = 0; k < m; k++) {
		share[k] = (struct gitea_org_share){.g = gs[k],
		                                    .first = 2 + (int)k,
		                                    .step = (int)m,
		                                    .last = (int)pages,
		                                    .each = &e,
		                                    .lock = &lock,
		                                    .first_id = first_id};
		if (k > 0)
			share[k].started = pthread_create(&share[k].thread, NULL,
			                                  gitea_org_share_run, &share[k]) == 0;
	}
	for (size_t k = 1; k < m; k++)
		if (!share[k].started)
			gitea_org_share_run(&share[k]); /* no thread: after the others */
	gitea_org_share_run(&share[0]);
	for (size_t k = 0; k < m; k++) {
		if (k > 0 && share[k].started)
			pthread_join(share[k].thread, NULL);
		if (share[k].cls != HTTP_OK && cls == HTTP_OK) {
			cls = share[k].cls;
			*st = share[k].st;
		}
	}
	pthread_mutex_destroy(&lock);
	return cls;
}

/* ---- teams and members ---- */

enum http_class
gitea_team_list(struct gitea *g, const char *org, struct gitea_teams *out, struct http_status *st)
{
	char *path = http_path("/orgs/%s/teams", org, NULL, NULL);
	enum http_class cls = gitea_list(g, path, sizeof *out->v, gitea_parse_team,
	                                 (void **)&out->v, &out->n, gitea_team_free_v, st);

	free(path);
	return cls;
}

enum http_class
gitea_team_create(struct gitea *g, const char *org, const char *name, const char *description,
                  const char *permission, int includes_all_repositories, struct gitea_team *out,
                  struct http_status *st)
{
	/* Gitea refuses a team without units ("units permission should not be empty"). */
	static const char *const units[] = {"repo.code",     "repo.issues", "repo.pulls",
	                                    "repo.releases", "repo.wiki",   "repo.projects",
	                                    "repo.packages", "repo.actions"};
	char *path = http_path("/orgs/%s/teams", org, NULL, NULL);
	json_t *body = json_object(), *map = json_object();
	enum http_class cls;

	for (size_t i = 0; i < nitems(units); i++)
		json_object_set_new(map, units[i], json_string(permission));
	json_object_set_new(body, "name", json_string(name));
	jsonx_set_str(body, "description", description);
	json_object_set_new(body, "permission", json_string(permission));
	json_object_set_new(body, "includes_all_repositories",
	                    json_boolean(includes_all_repositories));
	json_object_set_new(body, "can_create_org_repo", json_false());
	json_object_set_new(body, "units_map", map);
	cls = http_call_object(g->http, "POST", path, body, gitea_parse_team, out, st);
	json_decref(body);
	free(path);
	return cls;
}

enum http_class
gitea_team_members(struct gitea *g, int64_t team_id, struct gitea_users *out,
                   struct http_status *st)
{
	char *path = xasprintf("/teams/%lld/members", (long long)team_id);
	enum http_class cls = gitea_list(g, path, sizeof *out->v, gitea_parse_user,
	                                 (void **)&out->v, &out->n, gitea_user_free_v, st);

	free(path);
	return cls;
}

static enum http_class
gitea_team_member_call(struct gitea *g, const char *method, int64_t team_id, const char *user,
                       struct http_status *st)
{
	char *eu = http_escape(user);
	char *path = xasprintf("/teams/%lld/members/%s", (long long)team_id, eu);
	enum http_class cls = http_call_object(g->http, method, path, NULL, NULL, NULL, st);

	free(path);
	free(eu);
	return cls;
}

enum http_class
gitea_team_add_member(struct gitea *g, int64_t team_id, const char *user, struct http_status *st)
{
	return gitea_team_member_call(g, "PUT", team_id, user, st);
}

enum http_class
gitea_team_remove_member(struct gitea *g, int64_t team_id, const char *user, struct http_status *st)
{
	return gitea_team_member_call(g, "DELETE", team_id, user, st);
}

enum http_class
gitea_org_members(struct gitea *g, const char *org, struct gitea_users *out, struct http_status *st)
{
	char *path = http_path("/orgs/%s/members", org, NULL, NULL);
	enum http_class cls = gitea_list(g, path, sizeof *out->v, gitea_parse_user,
	                                 (void **)&out->v, &out->n, gitea_user_free_v, st);

	free(path);
	return cls;
}

enum http_class
gitea_org_remove_member(struct gitea *g, const char *org, const char *user, struct http_status *st)
{
	char *path = http_path("/orgs/%s/members/%s", org, user, NULL);
	enum http_class cls = http_call_object(g->http, "DELETE", path, NULL, NULL, NULL, st);

	free(path);
	return cls;
}

/* ---- repos ---- */

enum http_class
gitea_repo_get(struct gitea *g, const char *org, const char *repo, struct gitea_repo *out,
               struct http_status *st)
{
	char *path = http_path("/repos/%s/%s", org, repo, NULL);
	enum http_class cls =
	    http_call_object(g->http, "GET", path, NULL, gitea_parse_repo, out, st);

	free(path);
	return cls;
}

enum http_class
gitea_repo_create(struct gitea *g, const char *org, const char *repo,
                  const struct gitea_repo_spec *spec, struct gitea_repo *out,
                  struct http_status *st)
{
	char *path = http_path("/orgs/%s/repos", org, NULL, NULL);
	json_t *body = json_object();
	enum http_class cls;

	json_object_set_new(body, "name", json_string(repo));
	json_object_set_new(body, "private", json_boolean(spec != NULL && spec->private));
	if (spec != NULL) {
		jsonx_set_str(body, "description", spec->description);
		jsonx_set_str(body, "default_branch", spec->default_branch);
		if (spec->auto_init)
			json_object_set_new(body, "auto_init", json_true());
	}
	cls = http_call_object(g->http, "POST", path, body, gitea_parse_repo, out, st);
	json_decref(body);
	free(path);
	return cls;
}

enum http_class
gitea_repo_edit(struct gitea *g, const char *org, const char *repo,
                const struct gitea_repo_spec *spec, struct gitea_repo *out, struct http_status *st)
{
	char *path = http_path("/repos/%s/%s", org, repo, NULL);
	json_t *body = json_object();
	enum http_class cls;

	jsonx_set_str(body, "description", spec->description);
	jsonx_set_str(body, "default_branch", spec->default_branch);
	if (spec->set_private)
		json_object_set_new(body, "private", json_boolean(spec->private));
	cls = http_call_object(g->http, "PATCH", path, body, gitea_parse_repo, out, st);
	json_decref(body);
	free(path);
	return cls;
}

enum http_class
gitea_repo_delete(struct gitea *g, const char *org, const char *repo, struct http_status *st)
{
	char *path = http_path("/repos/%s/%s", org, repo, NULL);
	enum http_class cls = http_call_object(g->http, "DELETE", path, NULL, NULL, NULL, st);

	free(path);
	return cls;
}

enum http_class
gitea_branch_get(struct gitea *g, const char *org, const char *repo, const char *branch,
                 struct http_status *st)
{
	char *path = http_path("/repos/%s/%s/branches/%s", org, repo, branch);
	enum http_class cls = http_call_object(g->http, "GET", path, NULL, NULL, NULL, st);

	free(path);
	return cls;
}

enum http_class
gitea_repo_list(struct gitea *g, const char *org, struct gitea_repos *out, struct http_status *st)
{
	char *path = http_path("/orgs/%s/repos", org, NULL, NULL);
	enum http_class cls = gitea_list(g, path, sizeof *out->v, gitea_parse_repo,
	                                 (void **)&out->v, &out->n, gitea_repo_free_v, st);

	free(path);
	return cls;
}

/* ---- hooks ---- */

static json_t *
gitea_hook_body(const struct gitea_hook_spec *spec, int create)
{
	json_t *body = json_object(), *config = json_object(), *events = json_array();

	json_object_set_new(config, "url", json_string(spec->url));
	json_object_set_new(config, "content_type", json_string("json"));
	if (spec->secret != NULL)
		json_object_set_new(config, "secret", json_string(spec->secret));
	for (const char *const *e = spec->events; e != NULL && *e != NULL; e++)
		json_array_append_new(events, json_string(*e));
	if (create)
		json_object_set_new(body, "type", json_string("gitea"));
	json_object_set_new(body, "config", config);
	json_object_set_new(body, "events", events);
	/* Gitea's default is inactive: a hook that never fires. */
	json_object_set_new(body, "active", json_true());
	return body;
}

enum http_class
gitea_hook_list(struct gitea *g, const char *org, struct gitea_hooks *out, struct http_status *st)
{
	char *path = http_path("/orgs/%s/hooks", org, NULL, NULL);
	enum http_class cls = gitea_list(g, path, sizeof *out->v, gitea_parse_hook,
	                                 (void **)&out->v, &out->n, gitea_hook_free_v, st);

	free(path);
	return cls;
}

enum http_class
gitea_hook_create(struct gitea *g, const char *org, const struct gitea_hook_spec *spec,
                  struct gitea_hook *out, struct http_status *st)
{
	char *path = http_path("/orgs/%s/hooks", org, NULL, NULL);
	json_t *body = gitea_hook_body(spec, 1);
	enum http_class cls =
	    http_call_object(g->http, "POST", path, body, gitea_parse_hook, out, st);

	json_decref(body);
	free(path);
	return cls;
}

enum http_class
gitea_hook_edit(struct gitea *g, const char *org, int64_t id, const struct gitea_hook_spec *spec,
                struct gitea_hook *out, struct http_status *st)
{
	char *eo = http_escape(org);
	char *path = xasprintf("/orgs/%s/hooks/%lld", eo, (long long)id);
	json_t *body = gitea_hook_body(spec, 0);
	enum http_class cls =
	    http_call_object(g->http, "PATCH", path, body, gitea_parse_hook, out, st);

	json_decref(body);
	free(path);
	free(eo);
	return cls;
}

enum http_class
gitea_hook_delete(struct gitea *g, const char *org, int64_t id, struct http_status *st)
{
	char *eo = http_escape(org);
	char *path = xasprintf("/orgs/%s/hooks/%lld", eo, (long long)id);
	enum http_class cls = http_call_object(g->http, "DELETE", path, NULL, NULL, NULL, st);

	free(path);
	free(eo);
	return cls;
}

/* ---- users, version ---- */

enum http_class
gitea_user_get(struct gitea *g, const char *user, struct gitea_user *out, struct http_status *st)
{
	char *path = http_path("/users/%s", user, NULL, NULL);
	enum http_class cls =
	    http_call_object(g->http, "GET", path, NULL, gitea_parse_user, out, st);

	free(path);
	return cls;
}

static int
gitea_parse_version(const json_t *o, void *out)
{
	char **version = out;

	*version = jsonx_str(o, "version");
	return *version ? 0 : -1;
}

enum http_class
gitea_version(struct gitea *g, char **version, struct http_status *st)
{
	*version = NULL;
	return http_call_object(g->http, "GET", "/version", NULL, gitea_parse_version, version, st);
}
