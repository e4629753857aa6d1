/* The simulated Gitea: users and orgs in one case-insensitive namespace, Owners teams,
 * members, org repos and org hooks, with the status codes, error bodies, pagination and
 * webhook deliveries of the real server (../shared/reference/gitea.md). The token is a site
 * admin's, so every visibility check passes, as it does for vibnd. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/names.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "tests/sim/sim.h"
#include "tests/sim/simtab.h"

#define GITEA_VERSION      "1.26.4"
#define GITEA_DEFAULT_PAGE 30
#define GITEA_JSON         "application/json;charset=utf-8"

struct guser {
	int64_t id;
	char *name;
	char *email;
	char *full_name;
	int is_admin;
	char created[32];
};

struct gteam {
	TAILQ_ENTRY(gteam) entry;
	int64_t id;
	struct gorg *org;
	char *name;
	char *description;
	char *permission;
	int includes_all;
	int can_create_repo;
	struct guser **members;
	size_t nmembers;
};

struct grepo {
	TAILQ_ENTRY(grepo) entry;
	int64_t id;
	struct gorg *org;
	char *name;
	char *description;
	char *website;
	char *default_branch;
	json_t *branches; /* owned array of branch names; empty until a first push */
	int private;
	int archived;
	int template;
	char created[32];
	char updated[32];
};

struct ghook {
	TAILQ_ENTRY(ghook) entry;
	int64_t id;
	char *type;
	char *url;
	char *content_type;
	char *secret;
	char *auth_header;
	char *branch_filter;
	json_t *events; /* owned array of strings */
	int active;
	char created[32];
	char updated[32];
};

struct gorg {
	TAILQ_ENTRY(gorg) entry;
	int64_t id;
	char *name;
	char *full_name;
	char *email;
	char *description;
	char *website;
	char *location;
	char *visibility;
	int racta; /* repo_admin_change_team_access */
	TAILQ_HEAD(, gteam) teams;
	struct simtab *repos;         /* name -> grepo */
	struct simtab *repo_redirect; /* old name -> grepo */
	TAILQ_HEAD(, grepo) repolist; /* by id */
	size_t nrepos;
	TAILQ_HEAD(, ghook) hooks;
	char *json; /* cached GET /orgs/{org} body; NULL when stale */
	size_t jsonlen;
};

static struct {
	struct simtab *users;        /* name -> guser */
	struct simtab *orgs;         /* name -> gorg */
	struct simtab *org_redirect; /* old name -> gorg */
	struct simtab *teams;        /* decimal id -> gteam */
	struct guser **userv;        /* by id */
	size_t nusers;
	TAILQ_HEAD(, gorg) orglist; /* by id */
	struct gorg **sorted;       /* by lower-case name: the /orgs listing order */
	size_t norgs, capsorted;
	int64_t next_uid, next_team, next_repo, next_hook;
	struct guser *admin;
} G;

/* ------------------------------------------------------------------------------------------ */
/* errors and small helpers */

static void
simgitea_notfound(struct sim_req *r, const char *what, const char *err)
{
	char *url = xasprintf("%s/api/swagger", sim_base_url(SIM_GITEA));

	sim_reply_json(r, 404,
	               json_pack("{s:s, s:s, s:[s]}", "message", what, "url", url, "errors", err));
	free(url);
}

static void
simgitea_json(struct sim_req *r, int status, json_t *body)
{
	sim_reply_json(r, status, body);
}

static void
simgitea_set(char **field, const char *v)
{
	free(*field);
	*field = xstrdup(v != NULL ? v : "");
}

/* An optional string field: 0 (and *out, borrowed, NULL when absent or null), or -1 after
 * answering 422 for another type. */
static int
simgitea_opt_str(struct sim_req *r, json_t *o, const char *key, const char *field, const char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		sim_error(r, 422, "[%s]: cannot unmarshal into a string", field);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* An optional bool: 0 with *out -1 (absent) or 0/1, or -1 after answering 422. */
static int
simgitea_opt_bool(struct sim_req *r, json_t *o, const char *key, int *out)
{
	json_t *v = json_object_get(o, key);

	*out = -1;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		sim_error(r, 422, "[%s]: cannot unmarshal into a bool", key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

/* The request body as a JSON object (borrowed), or NULL after answering 422. */
static json_t *
simgitea_body(struct sim_req *r)
{
	json_t *b = sim_body(r);

	if (!json_is_object(b)) {
		sim_error(r, 422, "%s",
		          r->body_state == -1 ? "[]: request body is empty"
		                              : "[]: invalid JSON body");
		return NULL;
	}
	return b;
}

/* Reserved user/org names and patterns (common/names.c: Gitea's lists); answers 422 and
 * returns -1 when name is one. */
static int
simgitea_usable_name(struct sim_req *r, const char *name)
{
	const char *pattern;

	if (!names_gitea_user_reserved(name, &pattern))
		return 0;
	if (pattern != NULL)
		sim_error(r, 422, "name pattern is not allowed [pattern: %s]", pattern);
	else
		sim_error(r, 422, "name is reserved [name: %s]", name);
	return -1;
}

static int
simgitea_name_taken(const char *name)
{
	return simtab_get(G.users, name) != NULL || simtab_get(G.orgs, name) != NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* JSON views */

static json_t *
simgitea_user_json(const struct guser *u)
{
	char *html = xasprintf("%s/%s", sim_base_url(SIM_GITEA), u->name);
	char *avatar = xasprintf("%s/avatars/%lld", sim_base_url(SIM_GITEA), (long long)u->id);
	json_t *o = json_pack(
	    "{s:I, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:b, s:b, s:b, "
	    "s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:s}",
	    "id", (json_int_t)u->id, "login", u->name, "login_name", "", "source_id", 0,
	    "full_name", u->full_name, "email", u->email, "avatar_url", avatar, "html_url", html,
	    "language", "", "is_admin", u->is_admin, "last_login", u->created, "created",
	    u->created, "restricted", 0, "active", 1, "prohibit_login", 0, "location", "",
	    "website", "", "description", "", "visibility", "public", "followers_count", 0,
	    "following_count", 0, "starred_repos_count", 0, "username", u->name);

	free(html);
	free(avatar);
	return o;
}

/* An org as a User object (repository owner, webhook organization, /users/{org}). */
static json_t *
simgitea_org_user_json(const struct gorg *o)
{
	char *html = xasprintf("%s/%s", sim_base_url(SIM_GITEA), o->name);
	char *avatar = xasprintf("%s/avatars/%lld", sim_base_url(SIM_GITEA), (long long)o->id);
	json_t *j = json_pack(
	    "{s:I, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:b, s:b, s:b, "
	    "s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:s}",
	    "id", (json_int_t)o->id, "login", o->name, "login_name", "", "source_id", 0,
	    "full_name", o->full_name, "email", o->email, "avatar_url", avatar, "html_url", html,
	    "language", "", "is_admin", 0, "last_login", "1970-01-01T00:00:00Z", "created",
	    "1970-01-01T00:00:00Z", "restricted", 0, "active", 0, "prohibit_login", 0, "location",
	    o->location, "website", o->website, "description", o->description, "visibility",
	    o->visibility, "followers_count", 0, "following_count", 0, "starred_repos_count", 0,
	    "username", o->name);

	free(html);
	free(avatar);
	return j;
}

static json_t *
simgitea_org_json(const struct gorg *o)
{
	char *avatar = xasprintf("%s/avatars/%lld", sim_base_url(SIM_GITEA), (long long)o->id);
	json_t *j =
	    json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "id",
	              (json_int_t)o->id, "name", o->name, "full_name", o->full_name, "email",
	              o->email, "avatar_url", avatar, "description", o->description, "website",
	              o->website, "location", o->location, "visibility", o->visibility,
	              "repo_admin_change_team_access", o->racta, "username", o->name);

	free(avatar);
	return j;
}

static void
simgitea_org_touch(struct gorg *o)
{
	free(o->json);
	o->json = NULL;
}

static json_t *
simgitea_team_json(const struct gteam *t)
{
	static const char *const units[] = {
	    "repo.actions",  "repo.code",     "repo.ext_issues", "repo.ext_wiki", "repo.issues",
	    "repo.packages", "repo.projects", "repo.pulls",      "repo.releases", "repo.wiki"};
	json_t *ul = json_array(), *um = json_object();

	for (size_t i = 0; i < nitems(units); i++) {
		json_array_append_new(ul, json_string(units[i]));
		json_object_set_new(um, units[i], json_string(t->permission));
	}
	/* Gitea leaves organization null here (Lerentis/terraform-provider-gitea#35). */
	return json_pack("{s:I, s:s, s:s, s:n, s:b, s:s, s:o, s:o, s:b}", "id", (json_int_t)t->id,
	                 "name", t->name, "description", t->description, "organization",
	                 "includes_all_repositories", t->includes_all, "permission", t->permission,
	                 "units", ul, "units_map", um, "can_create_org_repo", t->can_create_repo);
}

/* A repo's HTTP clone URL: ROOT_URL + owner/name.git (models/repo/repo.go
 * ComposeHTTPSCloneURL); a new string. */
static char *
simgitea_clone_url(const struct grepo *rp)
{
	return xasprintf("%s%s/%s.git", sim_knobs.gitea_root_url, rp->org->name, rp->name);
}

/* A repo's SSH clone URL, as ComposeSSHCloneURL (models/repo/repo.go) makes it: the short
 * scp-like form on port 22, else a full ssh:// URI with the port. SSH_DOMAIN defaults to
 * ROOT_URL's host. A new string. */
static char *
simgitea_ssh_url(const struct grepo *rp)
{
	const char *h = strstr(sim_knobs.gitea_root_url, "://") + 3;
	size_t n = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/");

	if (sim_knobs.gitea_ssh_port != 22)
		return xasprintf("ssh://git@%.*s:%d/%s/%s.git", (int)n, h, sim_knobs.gitea_ssh_port,
		                 rp->org->name, rp->name);
	return xasprintf("git@%.*s:%s/%s.git", (int)n, h, rp->org->name, rp->name);
}

static json_t *
simgitea_repo_json(const struct grepo *rp)
{
	const char *base = sim_knobs.gitea_root_url; /* ends in '/' */
	char *full = xasprintf("%s/%s", rp->org->name, rp->name);
	char *html = xasprintf("%s%s", base, full);
	char *url = xasprintf("%sapi/v1/repos/%s", base, full);
	char *clone = simgitea_clone_url(rp);
	char *ssh = simgitea_ssh_url(rp);
	char *langs = xasprintf("%s/languages", url);
	json_t *j = json_pack(
	    "{s:I, s:o, s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:n, s:b, s:i, "
	    "s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, "
	    "s:i, s:i, s:s, s:b, s:s, s:s, s:{s:b, s:b, s:b}, s:b, s:b, s:b, "
	    "s:b, s:b, s:s, s:[], s:b}",
	    "id", (json_int_t)rp->id, "owner", simgitea_org_user_json(rp->org), "name", rp->name,
	    "full_name", full, "description", rp->description, "empty",
	    json_array_size(rp->branches) == 0, "private", rp->private, "fork", 0, "template",
	    rp->template, "parent", "mirror", 0, "size", 0, "language", "", "languages_url", langs,
	    "html_url", html, "url", url, "link", "", "ssh_url", ssh, "clone_url", clone,
	    "original_url", "", "website", rp->website, "stars_count", 0, "forks_count", 0,
	    "watchers_count", 1, "open_issues_count", 0, "open_pr_counter", 0, "release_counter", 0,
	    "default_branch", rp->default_branch, "archived", rp->archived, "created_at",
	    rp->created, "updated_at", rp->updated, "permissions", "admin", 1, "push", 1, "pull", 1,
	    "has_issues", 1, "has_wiki", 1, "has_pull_requests", 1, "has_projects", 1, "internal",
	    0, "object_format_name", "sha1", "topics", "has_releases", 1);

	free(full);
	free(html);
	free(url);
	free(clone);
	free(ssh);
	free(langs);
	return j;
}

static json_t *
simgitea_hook_json(const struct ghook *h)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:{s:s, s:s}, s:O, s:s, s:b, s:s, s:s}", "id",
	                 (json_int_t)h->id, "type", h->type, "name", "", "branch_filter",
	                 h->branch_filter, "config", "url", h->url, "content_type", h->content_type,
	                 "events", h->events, "authorization_header", "", "active", h->active,
	                 "updated_at", h->updated, "created_at", h->created);
}

/* ------------------------------------------------------------------------------------------ */
/* pagination: page (1-based), limit clamped to [api] MAX_RESPONSE_ITEMS (the gitea_max_items
 * knob, 50 by default, often lower), X-Total-Count and Link like Gitea
 * (services/convert/utils.go ToCorrectPageSize, services/context/api.go SetLinkHeader) */

struct gpage {
	long page;  /* as asked, at least 1 */
	long limit; /* after clamping */
};

static void
simgitea_page_parse(struct sim_req *r, struct gpage *pg)
{
	const char *p = sim_query(r, "page"), *l = sim_query(r, "limit");

	if (p == NULL || util_parse_long(p, 1, 1000000000, &pg->page) != 0)
		pg->page = 1;
	if (l == NULL || util_parse_long(l, -1000000000, 1000000000, &pg->limit) != 0 ||
	    pg->limit <= 0)
		pg->limit = GITEA_DEFAULT_PAGE;
	if (pg->limit > sim_knobs.gitea_max_items)
		pg->limit = sim_knobs.gitea_max_items;
}

static void
simgitea_query_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			buf_putc(b, (char)c);
		} else if (c == ' ') {
			buf_putc(b, '+');
		} else {
			buf_putc(b, '%');
			buf_putc(b, hex[c >> 4]);
			buf_putc(b, hex[c & 15]);
		}
	}
}

static int
simgitea_kv_cmp(const void *a, const void *b)
{
	const struct evkeyval *const *x = a, *const *y = b;

	return strcmp((*x)->key, (*y)->key);
}

/* One Link entry: the current URL with page=N, query keys sorted (Go's url.Values.Encode). */
static void
simgitea_link(struct buf *b, struct sim_req *r, long page, const char *rel)
{
	const struct evkeyval *kvs[64];
	const struct evkeyval *kv;
	size_t n = 0;
	int page_done = 0;
	char num[32];

	sim_query(r, "page"); /* parses the query, if any */
	if (b->len > 0)
		buf_putc(b, ',');
	buf_printf(b, "<%s%s?", sim_base_url(SIM_GITEA), r->path);
	if (r->qparsed) {
		TAILQ_FOREACH(kv, &r->qargs, next)
		{
			if (n < nitems(kvs))
				kvs[n++] = kv;
		}
	}
	qsort(kvs, n, sizeof(kvs[0]), simgitea_kv_cmp);
	snprintf(num, sizeof(num), "%ld", page);
	for (size_t i = 0, first = 1; i <= n; i++) {
		const char *key, *val;

		if (i == n) {
			if (page_done)
				break;
			key = "page";
			val = num;
		} else if (strcmp(kvs[i]->key, "page") == 0) {
			if (page_done)
				continue;
			key = "page";
			val = num;
			page_done = 1;
		} else if (!page_done && strcmp(kvs[i]->key, "page") > 0) {
			/* insert page=N in sorted position */
			if (!first)
				buf_putc(b, '&');
			buf_printf(b, "page=%s", num);
			first = 0;
			page_done = 1;
			key = kvs[i]->key;
			val = kvs[i]->value;
		} else {
			key = kvs[i]->key;
			val = kvs[i]->value;
		}
		if (!first)
			buf_putc(b, '&');
		simgitea_query_escape(b, key);
		buf_putc(b, '=');
		simgitea_query_escape(b, val);
		first = 0;
	}
	buf_printf(b, ">; rel=\"%s\"", rel);
}

static void
simgitea_page_headers(struct sim_req *r, size_t total, const struct gpage *pg)
{
	long pages = total == 0 ? 1 : (long)((total + (size_t)pg->limit - 1) / (size_t)pg->limit);
	long cur = pg->page > pages ? pages : pg->page;
	int has_next = (long)total > cur * pg->limit;
	int is_last = total == 0 || ((long)total > (cur - 1) * pg->limit && !has_next);
	struct buf b;
	char num[32];

	snprintf(num, sizeof(num), "%zu", total);
	sim_header(r, "X-Total-Count", num);
	buf_init(&b);
	if (has_next)
		simgitea_link(&b, r, cur + 1, "next");
	if (!is_last)
		simgitea_link(&b, r, pages, "last");
	if (cur != 1)
		simgitea_link(&b, r, 1, "first");
	if (cur > 1)
		simgitea_link(&b, r, cur - 1, "prev");
	if (b.len > 0) {
		sim_header(r, "Link", buf_str(&b));
		sim_header(r, "Access-Control-Expose-Headers", "X-Total-Count, Link");
	} else {
		sim_header(r, "Access-Control-Expose-Headers", "X-Total-Count");
	}
	buf_free(&b);
}

/* The [start, end) indexes of the requested page of total items. */
static void
simgitea_page_range(const struct gpage *pg, size_t total, size_t *start, size_t *end)
{
	size_t s = (size_t)(pg->page - 1) * (size_t)pg->limit;

	*start = s < total ? s : total;
	*end = *start + (size_t)pg->limit < total ? *start + (size_t)pg->limit : total;
}

/* ------------------------------------------------------------------------------------------ */
/* state: users, orgs, teams, repos, hooks */

static struct guser *
simgitea_user_new(const char *name, const char *email, const char *full_name, int admin)
{
	struct guser *u = xcalloc(1, sizeof(*u));

	u->id = G.next_uid++;
	u->name = xstrdup(name);
	u->email = xstrdup(email != NULL ? email : "");
	u->full_name = xstrdup(full_name != NULL ? full_name : "");
	u->is_admin = admin;
	sim_now_iso(u->created);
	simtab_put(G.users, name, u);
	G.userv = xreallocarray(G.userv, G.nusers + 1, sizeof(*G.userv));
	G.userv[G.nusers++] = u;
	return u;
}

static void
simgitea_user_free(struct guser *u)
{
	free(u->name);
	free(u->email);
	free(u->full_name);
	free(u);
}

/* Binary search in the sorted org array: the index of name, or where it would go. */
static size_t
simgitea_sorted_pos(const char *name, int *found)
{
	size_t lo = 0, hi = G.norgs;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcasecmp(G.sorted[mid]->name, name);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
simgitea_sorted_insert(struct gorg *o)
{
	int found;
	size_t pos = simgitea_sorted_pos(o->name, &found);

	if (G.norgs == G.capsorted) {
		G.capsorted = G.capsorted ? G.capsorted * 2 : 256;
		G.sorted = xreallocarray(G.sorted, G.capsorted, sizeof(*G.sorted));
	}
	memmove(G.sorted + pos + 1, G.sorted + pos, (G.norgs - pos) * sizeof(*G.sorted));
	G.sorted[pos] = o;
	G.norgs++;
}

static void
simgitea_sorted_remove(struct gorg *o)
{
	int found;
	size_t pos = simgitea_sorted_pos(o->name, &found);

	if (!found)
		fatalx("%s: org %s not in the sorted index", __func__, o->name);
	memmove(G.sorted + pos, G.sorted + pos + 1, (G.norgs - pos - 1) * sizeof(*G.sorted));
	G.norgs--;
}

static struct gteam *
simgitea_team_new(struct gorg *o, const char *name, const char *permission)
{
	struct gteam *t = xcalloc(1, sizeof(*t));
	char key[32];

	t->id = G.next_team++;
	t->org = o;
	t->name = xstrdup(name);
	t->description = xstrdup("");
	t->permission = xstrdup(permission);
	TAILQ_INSERT_TAIL(&o->teams, t, entry);
	snprintf(key, sizeof(key), "%lld", (long long)t->id);
	simtab_put(G.teams, key, t);
	return t;
}

static void
simgitea_team_free(struct gteam *t)
{
	char key[32];

	snprintf(key, sizeof(key), "%lld", (long long)t->id);
	simtab_del(G.teams, key);
	free(t->name);
	free(t->description);
	free(t->permission);
	free(t->members);
	free(t);
}

static struct gteam *
simgitea_owners(struct gorg *o)
{
	struct gteam *t;

	TAILQ_FOREACH(t, &o->teams, entry)
	{
		if (strcmp(t->name, "Owners") == 0)
			return t;
	}
	return NULL;
}

static int
simgitea_team_has(const struct gteam *t, const struct guser *u)
{
	for (size_t i = 0; i < t->nmembers; i++) {
		if (t->members[i] == u)
			return 1;
	}
	return 0;
}

static void
simgitea_team_add(struct gteam *t, struct guser *u)
{
	if (simgitea_team_has(t, u))
		return;
	t->members = xreallocarray(t->members, t->nmembers + 1, sizeof(*t->members));
	t->members[t->nmembers++] = u;
}

static void
simgitea_team_remove(struct gteam *t, const struct guser *u)
{
	for (size_t i = 0; i < t->nmembers; i++) {
		if (t->members[i] == u) {
			memmove(t->members + i, t->members + i + 1,
			        (t->nmembers - i - 1) * sizeof(*t->members));
			t->nmembers--;
			return;
		}
	}
}

/* The user is the only member of the org's Owners team: Gitea refuses (ErrLastOrgOwner). */
static int
simgitea_last_owner(struct gorg *o, const struct guser *u)
{
	struct gteam *owners = simgitea_owners(o);

	return owners != NULL && owners->nmembers == 1 && simgitea_team_has(owners, u);
}

static struct gorg *
simgitea_org_new(const char *name)
{
	struct gorg *o = xcalloc(1, sizeof(*o));

	o->id = G.next_uid++;
	o->name = xstrdup(name);
	o->full_name = xstrdup("");
	o->email = xstrdup("");
	o->description = xstrdup("");
	o->website = xstrdup("");
	o->location = xstrdup("");
	o->visibility = xstrdup("public");
	TAILQ_INIT(&o->teams);
	TAILQ_INIT(&o->repolist);
	TAILQ_INIT(&o->hooks);
	o->repos = simtab_new(1);
	o->repo_redirect = simtab_new(1);
	TAILQ_INSERT_TAIL(&G.orglist, o, entry);
	simtab_put(G.orgs, name, o);
	simtab_del(G.org_redirect, name);
	simgitea_sorted_insert(o);
	return o;
}

static struct grepo *
simgitea_repo_new(struct gorg *o, const char *name)
{
	struct grepo *rp = xcalloc(1, sizeof(*rp));

	rp->id = G.next_repo++;
	rp->org = o;
	rp->name = xstrdup(name);
	rp->description = xstrdup("");
	rp->website = xstrdup("");
	rp->default_branch = xstrdup("main");
	rp->branches = json_array();
	sim_now_iso(rp->created);
	memcpy(rp->updated, rp->created, sizeof(rp->updated));
	TAILQ_INSERT_TAIL(&o->repolist, rp, entry);
	simtab_put(o->repos, name, rp);
	simtab_del(o->repo_redirect, name);
	o->nrepos++;
	return rp;
}

static int
simgitea_repo_has_branch(const struct grepo *rp, const char *branch)
{
	size_t i;
	json_t *b;

	json_array_foreach(rp->branches, i, b)
	{
		if (strcmp(json_string_value(b), branch) == 0)
			return 1;
	}
	return 0;
}

/* A pushed branch. The first one makes an empty repo non-empty and becomes its default
 * branch, whatever the default was (pushUpdates in services/repository/push.go). */
static void
simgitea_repo_push(struct grepo *rp, const char *branch)
{
	json_t *b;

	if (simgitea_repo_has_branch(rp, branch))
		return;
	/* A copy first: branch may be rp->default_branch itself, which the set frees. */
	b = json_string(branch);
	json_array_append_new(rp->branches, b);
	if (json_array_size(rp->branches) == 1)
		simgitea_set(&rp->default_branch, json_string_value(b));
	sim_now_iso(rp->updated);
}

struct gitea_purge {
	const void *target;
	const char **keys;
	size_t n;
};

static void
simgitea_purge_visit(const char *key, void *val, void *arg)
{
	struct gitea_purge *p = arg;

	if (val == p->target) {
		p->keys = xreallocarray(p->keys, p->n + 1, sizeof(*p->keys));
		p->keys[p->n++] = key;
	}
}

/* Removes every redirect of tab that points at target (rare: only after renames). */
static void
simgitea_purge_redirects(struct simtab *tab, const void *target)
{
	struct gitea_purge p = {target, NULL, 0};
	char **copies;

	if (simtab_count(tab) == 0)
		return;
	simtab_foreach(tab, simgitea_purge_visit, &p);
	copies = xcalloc(p.n + 1, sizeof(*copies));
	for (size_t i = 0; i < p.n; i++)
		copies[i] = xstrdup(p.keys[i]);
	for (size_t i = 0; i < p.n; i++) {
		simtab_del(tab, copies[i]);
		free(copies[i]);
	}
	free(copies);
	free(p.keys);
}

static void
simgitea_repo_free(struct gorg *o, struct grepo *rp)
{
	TAILQ_REMOVE(&o->repolist, rp, entry);
	simtab_del(o->repos, rp->name);
	simgitea_purge_redirects(o->repo_redirect, rp);
	o->nrepos--;
	free(rp->name);
	free(rp->description);
	free(rp->website);
	free(rp->default_branch);
	json_decref(rp->branches);
	free(rp);
}

static void
simgitea_hook_free(struct ghook *h)
{
	free(h->type);
	free(h->url);
	free(h->content_type);
	free(h->secret);
	free(h->auth_header);
	free(h->branch_filter);
	json_decref(h->events);
	free(h);
}

static void
simgitea_org_free(struct gorg *o)
{
	struct gteam *t;
	struct grepo *rp;
	struct ghook *h;

	TAILQ_REMOVE(&G.orglist, o, entry);
	simtab_del(G.orgs, o->name);
	simgitea_sorted_remove(o);
	simgitea_purge_redirects(G.org_redirect, o);
	while ((t = TAILQ_FIRST(&o->teams)) != NULL) {
		TAILQ_REMOVE(&o->teams, t, entry);
		simgitea_team_free(t);
	}
	while ((rp = TAILQ_FIRST(&o->repolist)) != NULL)
		simgitea_repo_free(o, rp);
	while ((h = TAILQ_FIRST(&o->hooks)) != NULL) {
		TAILQ_REMOVE(&o->hooks, h, entry);
		simgitea_hook_free(h);
	}
	simtab_free(o->repos);
	simtab_free(o->repo_redirect);
	free(o->name);
	free(o->full_name);
	free(o->email);
	free(o->description);
	free(o->website);
	free(o->location);
	free(o->visibility);
	free(o->json);
	free(o);
}

/* Sends the repository event of rp to every active hook of its org that wants it. */
static void
simgitea_fire_repo(struct grepo *rp, const char *action)
{
	struct gorg *o = rp->org;
	struct ghook *h;
	json_t *payload = NULL;
	char *s = NULL;

	TAILQ_FOREACH(h, &o->hooks, entry)
	{
		size_t i;
		json_t *ev;
		int wants = 0;

		if (!h->active)
			continue;
		json_array_foreach(h->events, i, ev)
		{
			const char *e = json_string_value(ev);

			if (e != NULL && (strcmp(e, "repository") == 0 || strcmp(e, "*") == 0))
				wants = 1;
		}
		if (!wants)
			continue;
		if (s == NULL) {
			payload = json_pack("{s:s, s:o, s:o, s:o}", "action", action, "repository",
			                    simgitea_repo_json(rp), "organization",
			                    simgitea_org_user_json(o), "sender",
			                    simgitea_user_json(G.admin));
			s = json_dumps(payload, JSON_COMPACT);
			json_decref(payload);
		}
		struct simhook_target t = {h->url, h->content_type, h->secret, h->auth_header};
		simhook_deliver(&t, "repository", action, s);
	}
	free(s);
}

/* ------------------------------------------------------------------------------------------ */
/* path parameters with Gitea's redirects */

/* Answers 307 to the same URL with the old name replaced (RedirectToUser / RedirectToRepo). */
static void
simgitea_redirect(struct sim_req *r, int status, int seg, const char *newname)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "/api/v1");
	for (int i = 0; i < r->nsegs; i++) {
		buf_putc(&b, '/');
		if (i == seg) {
			char *e = evhttp_uriencode(newname, -1, 0);

			buf_puts(&b, e);
			free(e);
		} else {
			char *e = evhttp_uriencode(r->segs[i], -1, 0);

			buf_puts(&b, e);
			free(e);
		}
	}
	if (r->query != NULL)
		buf_printf(&b, "?%s", r->query);
	sim_header(r, "Location", buf_str(&b));
	sim_reply_raw(r, status, NULL, NULL, 0);
	buf_free(&b);
}

/* The org named by segment seg, or NULL after answering 404 or 307. */
static struct gorg *
simgitea_org_at(struct sim_req *r, int seg)
{
	const char *name = r->segs[seg];
	struct gorg *o = simtab_get(G.orgs, name);
	char *err;

	if (o != NULL)
		return o;
	if ((o = simtab_get(G.org_redirect, name)) != NULL) {
		simgitea_redirect(r, 307, seg, o->name);
		return NULL;
	}
	err = xasprintf("org does not exist [id: 0, name: %s]", name);
	simgitea_notfound(r, "GetOrgByName", err);
	free(err);
	return NULL;
}

/* The repo of /repos/{owner}/{repo}, or NULL after answering 404, 307 or 301. */
static struct grepo *
simgitea_repo_at(struct sim_req *r)
{
	const char *owner = r->segs[1], *name = r->segs[2];
	struct gorg *o = simtab_get(G.orgs, owner);
	struct grepo *rp;
	char *err;

	if (o == NULL) {
		if ((o = simtab_get(G.org_redirect, owner)) != NULL) {
			simgitea_redirect(r, 307, 1, o->name);
			return NULL;
		}
		simgitea_notfound(r, "GetUserByName", "user redirect does not exist");
		return NULL;
	}
	if ((rp = simtab_get(o->repos, name)) != NULL)
		return rp;
	if ((rp = simtab_get(o->repo_redirect, name)) != NULL) {
		simgitea_redirect(r, 301, 2, rp->name);
		return NULL;
	}
	err = xasprintf("repository does not exist [id: 0, uid: %lld, owner_name: %s, name: %s]",
	                (long long)o->id, o->name, name);
	simgitea_notfound(r, "GetRepositoryByName", err);
	free(err);
	return NULL;
}

static struct gteam *
simgitea_team_at(struct sim_req *r, int seg)
{
	struct gteam *t = simtab_get(G.teams, r->segs[seg]);

	if (t == NULL)
		simgitea_notfound(r, "GetTeamById", "team does not exist");
	return t;
}

static struct guser *
simgitea_user_at(struct sim_req *r, int seg)
{
	struct guser *u = simtab_get(G.users, r->segs[seg]);
	char *err;

	if (u != NULL)
		return u;
	err = xasprintf("user does not exist [uid: 0, name: %s]", r->segs[seg]);
	simgitea_notfound(r, "GetUserByName", err);
	free(err);
	return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* handlers: misc, orgs */

static void
simgitea_version(struct sim_req *r)
{
	simgitea_json(r, 200, json_pack("{s:s}", "version", GITEA_VERSION));
}

static int
simgitea_visibility_ok(const char *v)
{
	return v == NULL || *v == '\0' || strcmp(v, "public") == 0 || strcmp(v, "limited") == 0 ||
	       strcmp(v, "private") == 0;
}

/* Applies the editable org fields of body to o; -1 after answering 422. */
static int
simgitea_org_apply(struct sim_req *r, struct gorg *o, json_t *body)
{
	const char *full_name, *email, *description, *website, *location, *visibility;
	int racta;

	if (simgitea_opt_str(r, body, "full_name", "FullName", &full_name) != 0 ||
	    simgitea_opt_str(r, body, "email", "Email", &email) != 0 ||
	    simgitea_opt_str(r, body, "description", "Description", &description) != 0 ||
	    simgitea_opt_str(r, body, "website", "Website", &website) != 0 ||
	    simgitea_opt_str(r, body, "location", "Location", &location) != 0 ||
	    simgitea_opt_str(r, body, "visibility", "Visibility", &visibility) != 0 ||
	    simgitea_opt_bool(r, body, "repo_admin_change_team_access", &racta) != 0)
		return -1;
	if (full_name != NULL && strlen(full_name) > 100) {
		sim_error(r, 422, "[FullName]: MaxSize");
		return -1;
	}
	if (description != NULL && strlen(description) > 255) {
		sim_error(r, 422, "[Description]: MaxSize");
		return -1;
	}
	if (website != NULL && strlen(website) > 255) {
		sim_error(r, 422, "[Website]: MaxSize");
		return -1;
	}
	if (location != NULL && strlen(location) > 50) {
		sim_error(r, 422, "[Location]: MaxSize");
		return -1;
	}
	if (!simgitea_visibility_ok(visibility)) {
		sim_error(r, 422, "[Visibility]: In");
		return -1;
	}
	if (email != NULL && *email != '\0' && strchr(email, '@') == NULL) {
		sim_error(r, 422, "e-mail invalid [email: %s]", email);
		return -1;
	}
	if (full_name != NULL)
		simgitea_set(&o->full_name, full_name);
	if (email != NULL)
		simgitea_set(&o->email, email);
	if (description != NULL)
		simgitea_set(&o->description, description);
	if (website != NULL)
		simgitea_set(&o->website, website);
	if (location != NULL)
		simgitea_set(&o->location, location);
	if (visibility != NULL && *visibility != '\0')
		simgitea_set(&o->visibility, visibility);
	if (racta >= 0)
		o->racta = racta;
	simgitea_org_touch(o);
	return 0;
}

/* Creates an org owned by creator from a CreateOrgOption body. */
static void
simgitea_org_create(struct sim_req *r, struct guser *creator)
{
	json_t *body = simgitea_body(r);
	const char *name;
	struct gorg *o;

	if (body == NULL)
		return;
	if (simgitea_opt_str(r, body, "username", "UserName", &name) != 0)
		return;
	if (name == NULL || *name == '\0') {
		sim_error(r, 422, "[UserName]: Required");
		return;
	}
	if (strlen(name) > NAMES_USER_MAX) {
		sim_error(r, 422, "[UserName]: MaxSize");
		return;
	}
	if (!names_gitea_username_chars(name)) {
		sim_error(r, 422, "[UserName]: invalid username");
		return;
	}
	if (simgitea_usable_name(r, name) != 0)
		return;
	if (simgitea_name_taken(name)) {
		sim_error(r, 422, "user already exists [name: %s]", name);
		return;
	}
	/* validate the rest before anything is created */
	{
		struct gorg probe = {0};

		probe.full_name = xstrdup("");
		probe.email = xstrdup("");
		probe.description = xstrdup("");
		probe.website = xstrdup("");
		probe.location = xstrdup("");
		probe.visibility = xstrdup("public");
		int rc = simgitea_org_apply(r, &probe, body);

		free(probe.full_name);
		free(probe.email);
		free(probe.description);
		free(probe.website);
		free(probe.location);
		free(probe.visibility);
		if (rc != 0)
			return;
	}
	o = simgitea_org_new(name);
	if (simgitea_org_apply(r, o, body) != 0)
		fatalx("%s: validated org fields failed", __func__);
	{
		struct gteam *owners = simgitea_team_new(o, "Owners", "owner");

		owners->includes_all = 1;
		owners->can_create_repo = 1;
		simgitea_team_add(owners, creator);
	}
	simgitea_json(r, 201, simgitea_org_json(o));
}

static void
simgitea_orgs_post(struct sim_req *r)
{
	simgitea_org_create(r, G.admin);
}

static void
simgitea_admin_org_create(struct sim_req *r)
{
	struct guser *u = simtab_get(G.users, r->segs[2]);

	if (u == NULL) {
		char *err = xasprintf("user does not exist [uid: 0, name: %s]", r->segs[2]);

		simgitea_notfound(r, "GetUserByName", err);
		free(err);
		return;
	}
	simgitea_org_create(r, u);
}

static void
simgitea_org_list(struct sim_req *r)
{
	struct gpage pg;
	size_t start, end;
	json_t *a = json_array();

	simgitea_page_parse(r, &pg);
	simgitea_page_range(&pg, G.norgs, &start, &end);
	for (size_t i = start; i < end; i++)
		json_array_append_new(a, simgitea_org_json(G.sorted[i]));
	simgitea_page_headers(r, G.norgs, &pg);
	simgitea_json(r, 200, a);
}

static void
simgitea_org_get(struct sim_req *r)
{
	struct gorg *o = simgitea_org_at(r, 1);

	if (o == NULL)
		return;
	/* the hot path of the benchmark: serve the cached body */
	if (o->json == NULL) {
		json_t *j = simgitea_org_json(o);

		o->json = json_dumps(j, JSON_COMPACT);
		o->jsonlen = strlen(o->json);
		json_decref(j);
	}
	sim_reply_raw(r, 200, GITEA_JSON, o->json, o->jsonlen);
}

static void
simgitea_org_patch(struct sim_req *r)
{
	struct gorg *o = simgitea_org_at(r, 1);
	json_t *body;

	if (o == NULL || (body = simgitea_body(r)) == NULL)
		return;
	if (simgitea_org_apply(r, o, body) != 0)
		return;
	simgitea_json(r, 200, simgitea_org_json(o));
}

static void
simgitea_org_delete(struct sim_req *r)
{
	struct gorg *o = simgitea_org_at(r, 1);

	if (o == NULL)
		return;
	if (o->nrepos > 0) {
		sim_error(r, 500, "user still has ownership of repositories [uid: %lld]",
		          (long long)o->id);
		return;
	}
	simgitea_org_free(o);
	sim_reply_raw(r, 204, NULL, NULL, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* teams and members */

static void
simgitea_teams_list(struct sim_req *r)
{
	struct gorg *o = simgitea_org_at(r, 1);
	struct gpage pg;
	struct gteam *t;
	size_t i = 0, n = 0, start, end;
	json_t *a;

	if (o == NULL)
		return;
	TAILQ_FOREACH(t, &o->teams, entry)
	n++;
	simgitea_page_parse(r, &pg);
	simgitea_page_range(&pg, n, &start, &end);
	a = json_array();
	TAILQ_FOREACH(t, &o->teams, entry)
	{
		if (i >= start && i < end)
			json_array_append_new(a, simgitea_team_json(t));
		i++;
	}
	simgitea_page_headers(r, n, &pg);
	simgitea_json(r, 200, a);
}

/* A non-empty JSON array or object. */
static int
simgitea_nonempty(const json_t *v)
{
	return (json_is_array(v) && json_array_size(v) > 0) ||
	       (json_is_object(v) && json_object_size(v) > 0);
}

static void
simgitea_team_create(struct sim_req *r)
{
	struct gorg *o = simgitea_org_at(r, 1);
	const char *name, *description, *permission;
	int all, can_create;
	json_t *body;
	struct gteam *t;

	if (o == NULL || (body = simgitea_body(r)) == NULL)
		return;
	if (simgitea_opt_str(r, body, "name", "Name", &name) != 0 ||
	    simgitea_opt_str(r, body, "description", "Description", &description) != 0 ||
	    simgitea_opt_str(r, body, "permission", "Permission", &permission) != 0 ||
	    simgitea_opt_bool(r, body, "includes_all_repositories", &all) != 0 ||
	    simgitea_opt_bool(r, body, "can_create_org_repo", &can_create) != 0)
		return;
	if (name == NULL || *name == '\0') {
		sim_error(r, 422, "[Name]: Required");
		return;
	}
	if (!names_alpha_dash_dot(name) || strlen(name) > 255) {
		sim_error(r, 422, "[Name]: AlphaDashDot");
		return;
	}
	if (description != NULL && strlen(description) > 255) {
		sim_error(r, 422, "[Description]: MaxSize");
		return;
	}
	if (permission != NULL && *permission != '\0' && strcmp(permission, "read") != 0 &&
	    strcmp(permission, "write") != 0 && strcmp(permission, "admin") != 0) {
		sim_error(r, 422, "[Permission]: In");
		return;
	}
	/* Below admin, a team needs unit permissions: without units or units_map Gitea answers
	 * 500 (routers/api/v1/org/team.go CreateTeam: "units permission should not be empty");
	 * an admin team gets every unit. */
	if ((permission == NULL || strcmp(permission, "admin") != 0) &&
	    !simgitea_nonempty(json_object_get(body, "units_map")) &&
	    !simgitea_nonempty(json_object_get(body, "units"))) {
		sim_error(r, 500, "units permission should not be empty");
		return;
	}
	TAILQ_FOREACH(t, &o->teams, entry)
	{
		if (strcasecmp(t->name, name) == 0) {
			sim_error(r, 422, "team already exists [org_id: %lld, name: %s]",
			          (long long)o->id, name);
			return;
		}
	}
	t = simgitea_team_new(o, name,
	                      permission != NULL && *permission != '\0' ? permission : "read");
	simgitea_set(&t->description, description);
	t->includes_all = all > 0;
	t->can_create_repo = can_create > 0;
	simgitea_json(r, 201, simgitea_team_json(t));
}

static void
simgitea_team_get(struct sim_req *r)
{
	struct gteam *t = simgitea_team_at(r, 1);

	if (t != NULL)
		simgitea_json(r, 200, simgitea_team_json(t));
}

static int
simgitea_user_cmp(const void *a, const void *b)
{
	const struct guser *const *x = a, *const *y = b;

	return strcasecmp((*x)->name, (*y)->name);
}

/* Answers one page of users (sorted by name) with the pagination headers. */
static void
simgitea_users_page(struct sim_req *r, struct guser **v, size_t n)
{
	struct gpage pg;
	size_t start, end;
	json_t *a = json_array();

	qsort(v, n, sizeof(*v), simgitea_user_cmp);
	simgitea_page_parse(r, &pg);
	simgitea_page_range(&pg, n, &start, &end);
	for (size_t i = start; i < end; i++)
		json_array_append_new(a, simgitea_user_json(v[i]));
	simgitea_page_headers(r, n, &pg);
	simgitea_json(r, 200, a);
}

static void
simgitea_team_members(struct sim_req *r)
{
	struct gteam *t = simgitea_team_at(r, 1);
	struct guser **v;

	if (t == NULL)
		return;
	v = xcalloc(t->nmembers + 1, sizeof(*v));
	if (t->nmembers > 0) /* an empty team has no array: memcpy from NULL is undefined */
		memcpy(v, t->members, t->nmembers * sizeof(*v));
	simgitea_users_page(r, v, t->nmembers);
	free(v);
}

static void
simgitea_team_member_get(struct sim_req *r)
{
	struct gteam *t = simgitea_team_at(r, 1);
	struct guser *u;

	if (t == NULL || (u = simgitea_user_at(r, 3)) == NULL)
		return;
	if (!simgitea_team_has(t, u)) {
		simgitea_notfound(r, "not found", "user is not a member of the team");
		return;
	}
	simgitea_json(r, 200, simgitea_user_json(u));
}

static void
simgitea_team_member_put(struct sim_req *r)
{
	struct gteam *t = simgitea_team_at(r, 1);
	struct guser *u;

	if (t == NULL || (u = simgitea_user_at(r, 3)) == NULL)
		return;
	simgitea_team_add(t, u); /* idempotent, like AddTeamMember */
	sim_reply_raw(r, 204, NULL, NULL, 0);
}

static void
simgitea_team_member_delete(struct sim_req *r)
{
	struct gteam *t = simgitea_team_at(r, 1);
	struct guser *u;

	if (t == NULL || (u = simgitea_user_at(r, 3)) == NULL)
		return;
	if (strcmp(t->name, "Owners") == 0 && t->nmembers == 1 && simgitea_team_has(t, u)) {
		sim_error(r, 500, "user is the last member of owner team [uid: %lld]",
		          (long long)u->id);
		return;
	}
	simgitea_team_remove(t, u);
	sim_reply_raw(r, 204, NULL, NULL, 0);
}

/* DELETE /teams/{id} (routers/api/v1/org/team.go DeleteTeam): 204. The Owners team is
 * refused, stricter than Gitea may be: an org without it cannot be managed. */
static void
simgitea_team_delete(struct sim_req *r)
{
	struct gteam *t = simgitea_team_at(r, 1);

	if (t == NULL)
		return;
	if (strcmp(t->name, "Owners") == 0) {
		sim_error(r, 500, "cannot delete the owner team [id: %lld]", (long long)t->id);
		return;
	}
	TAILQ_REMOVE(&t->org->teams, t, entry);
	simgitea_team_free(t);
	sim_reply_raw(r, 204, NULL, NULL, 0);
}

/* The org's members (the union of its teams), a new array of *n borrowed users. */
static struct guser **
simgitea_org_members(struct gorg *o, size_t *n)
{
	struct guser **v = NULL;
	struct gteam *t;
	size_t cnt = 0;

	TAILQ_FOREACH(t, &o->teams, entry)
	{
		for (size_t i = 0; i < t->nmembers; i++) {
			size_t j;

			for (j = 0; j < cnt; j++) {
				if (v[j] == t->members[i])
					break;
			}
			if (j < cnt)
				continue;
			v = xreallocarray(v, cnt + 1, sizeof(*v));
			v[cnt++] = t->members[i];
		}
	}
	*n = cnt;
	return v;
}

static int
simgitea_is_member(struct gorg *o, const struct guser *u)
{
	struct gteam *t;

	TAILQ_FOREACH(t, &o->teams, entry)
	{
		if (simgitea_team_has(t, u))
			return 1;
	}
	return 0;
}

static void
simgitea_org_members_list(struct sim_req *r)
{
	struct gorg *o = simgitea_org_at(r, 1);
	struct guser **v;
	size_t n;

	if (o == NULL)
		return;
	v = simgitea_org_members(o, &n);
	simgitea_users_page(r, v, n);
	free(v);
}

static void
simgitea_org_member_get(struct sim_req *r)
{
	struct gorg *o = simgitea_org_at(r, 1);
	struct guser *u;

	if (o == NULL || (u = simgitea_user_at(r, 3)) == NULL)
		return;
	if (simgitea_is_member(o, u))
		sim_reply_raw(r, 204, NULL, NULL, 0);
	else
		simgitea_notfound(r, "not found", "user is not a member");
}

static void
simgitea_org_member_delete(struct sim_req *r)
{
	struct gorg *o = simgitea_org_at(r, 1);
	struct guser *u;
	struct gteam *t;

	if (o == NULL || (u = simgitea_user_at(r, 3)) == NULL)
		return;
	if (simgitea_last_owner(o, u)) {
		sim_error(r, 500, "user is the last member of owner team [uid: %lld]",
		          (long long)u->id);
		return;
	}
	TAILQ_FOREACH(t, &o->teams, entry)
	simgitea_team_remove(t, u);
	sim_reply_raw(r, 204, NULL, NULL, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* repos */

/* Checks a repo name like the binding (AlphaDashDot, max 100) and IsUsableRepoName; -1
 * after answering 422. */
static int
simgitea_repo_name_ok(struct sim_req *r, const char *name)
{
	const char *pattern;

	if (name == NULL || *name == '\0') {
		sim_error(r, 422, "[Name]: Required");
		return -1;
	}
	if (!names_alpha_dash_dot(name) || strlen(name) > NAMES_REPO_MAX) {
		sim_error(r, 422, "[Name]: AlphaDashDot");
		return -1;
	}
	if (names_gitea_repo_reserved(name, &pattern)) {
		if (pattern != NULL)
			sim_error(r, 422, "name pattern is not allowed [pattern: %s]", pattern);
		else
			sim_error(r, 422, "name is reserved [name: %s]", name);
		return -1;
	}
	if (strstr(name, "..") != NULL) {
		sim_error(
		    r, 422,
		    "name is invalid [%s]: must be valid alpha or numeric or dash(-_) or dot characters",
		    name);
		return -1;
	}
	return 0;
}

static void
simgitea_repo_create(struct sim_req *r)
{
	struct gorg *o = simgitea_org_at(r, 1);
	const char *name, *description, *default_branch;
	int private, template, auto_init;
	json_t *body;
	struct grepo *rp;

	if (o == NULL || (body = simgitea_body(r)) == NULL)
		return;
	if (simgitea_opt_str(r, body, "name", "Name", &name) != 0 ||
	    simgitea_opt_str(r, body, "description", "Description", &description) != 0 ||
	    simgitea_opt_str(r, body, "default_branch", "DefaultBranch", &default_branch) != 0 ||
	    simgitea_opt_bool(r, body, "private", &private) != 0 ||
	    simgitea_opt_bool(r, body, "template", &template) != 0 ||
	    simgitea_opt_bool(r, body, "auto_init", &auto_init) != 0)
		return;
	if (simgitea_repo_name_ok(r, name) != 0)
		return;
	if (description != NULL && strlen(description) > 2048) {
		sim_error(r, 422, "[Description]: MaxSize");
		return;
	}
	if (simtab_get(o->repos, name) != NULL) {
		sim_error(r, 409, "The repository with the same name already exists.");
		return;
	}
	rp = simgitea_repo_new(o, name);
	simgitea_set(&rp->description, description);
	if (default_branch != NULL && *default_branch != '\0')
		simgitea_set(&rp->default_branch, default_branch);
	rp->private = private > 0;
	rp->template = template > 0;
	/* auto_init commits a README on the default branch: the repo is not empty */
	if (auto_init > 0)
		simgitea_repo_push(rp, rp->default_branch);
	simgitea_json(r, 201, simgitea_repo_json(rp));
	simgitea_fire_repo(rp, "created");
}

static void
simgitea_repo_list(struct sim_req *r)
{
	struct gorg *o = simgitea_org_at(r, 1);
	struct gpage pg;
	struct grepo *rp;
	size_t i = 0, start, end;
	json_t *a;

	if (o == NULL)
		return;
	simgitea_page_parse(r, &pg);
	simgitea_page_range(&pg, o->nrepos, &start, &end);
	a = json_array();
	TAILQ_FOREACH(rp, &o->repolist, entry)
	{
		if (i >= end)
			break;
		if (i >= start)
			json_array_append_new(a, simgitea_repo_json(rp));
		i++;
	}
	simgitea_page_headers(r, o->nrepos, &pg);
	simgitea_json(r, 200, a);
}

static void
simgitea_repo_get(struct sim_req *r)
{
	struct grepo *rp = simgitea_repo_at(r);

	if (rp != NULL)
		simgitea_json(r, 200, simgitea_repo_json(rp));
}

static void
simgitea_repo_rename(struct grepo *rp, const char *name)
{
	struct gorg *o = rp->org;

	simtab_del(o->repos, rp->name);
	simtab_put(o->repo_redirect, rp->name, rp);
	simgitea_set(&rp->name, name);
	simtab_put(o->repos, name, rp);
	simtab_del(o->repo_redirect, name);
}

static void
simgitea_repo_patch(struct sim_req *r)
{
	struct grepo *rp = simgitea_repo_at(r);
	const char *name, *description, *website, *default_branch;
	int private, archived, template;
	json_t *body;

	if (rp == NULL || (body = simgitea_body(r)) == NULL)
		return;
	if (simgitea_opt_str(r, body, "name", "Name", &name) != 0 ||
	    simgitea_opt_str(r, body, "description", "Description", &description) != 0 ||
	    simgitea_opt_str(r, body, "website", "Website", &website) != 0 ||
	    simgitea_opt_str(r, body, "default_branch", "DefaultBranch", &default_branch) != 0 ||
	    simgitea_opt_bool(r, body, "private", &private) != 0 ||
	    simgitea_opt_bool(r, body, "archived", &archived) != 0 ||
	    simgitea_opt_bool(r, body, "template", &template) != 0)
		return;
	if (name != NULL && simgitea_repo_name_ok(r, name) != 0)
		return;
	if (description != NULL && strlen(description) > 2048) {
		sim_error(r, 422, "[Description]: MaxSize");
		return;
	}
	if (name != NULL && strcasecmp(name, rp->name) != 0 &&
	    simtab_get(rp->org->repos, name) != NULL) {
		sim_error(r, 422, "repository already exists [uname: %s, name: %s]", rp->org->name,
		          name);
		return;
	}
	if (name != NULL && strcmp(name, rp->name) != 0)
		simgitea_repo_rename(rp, name);
	if (description != NULL)
		simgitea_set(&rp->description, description);
	if (website != NULL)
		simgitea_set(&rp->website, website);
	/* "Default branch only updated if changed and exist or the repository is empty": a
	 * missing branch of a non-empty repo is ignored, and the answer is still 200. */
	if (default_branch != NULL && *default_branch != '\0' &&
	    (json_array_size(rp->branches) == 0 || simgitea_repo_has_branch(rp, default_branch)))
		simgitea_set(&rp->default_branch, default_branch);
	if (private >= 0)
		rp->private = private;
	if (archived >= 0)
		rp->archived = archived;
	if (template >= 0)
		rp->template = template;
	sim_now_iso(rp->updated);
	simgitea_json(r, 200, simgitea_repo_json(rp));
}

static void
simgitea_repo_delete_now(struct grepo *rp)
{
	simgitea_fire_repo(rp, "deleted");
	simgitea_repo_free(rp->org, rp);
}

static void
simgitea_repo_delete(struct sim_req *r)
{
	struct grepo *rp = simgitea_repo_at(r);

	if (rp == NULL)
		return;
	simgitea_repo_delete_now(rp);
	sim_reply_raw(r, 204, NULL, NULL, 0);
}

static void
simgitea_branch_get(struct sim_req *r)
{
	struct grepo *rp = simgitea_repo_at(r);
	const char *name = r->segs[4];
	char *err, *sha;

	if (rp == NULL)
		return;
	if (!simgitea_repo_has_branch(rp, name)) {
		err = xasprintf("branch does not exist [name: %s]", name);
		simgitea_notfound(r, "not found", err);
		free(err);
		return;
	}
	sha = sim_rand_id(40);
	simgitea_json(r, 200,
	              json_pack("{s:s, s:{s:s, s:s, s:s}, s:b, s:b, s:b, s:b, s:s}", "name", name,
	                        "commit", "id", sha, "message", "update", "timestamp", rp->updated,
	                        "protected", 0, "enable_status_check", 0, "user_can_push", 1,
	                        "user_can_merge", 1, "effective_branch_protection_name", ""));
	free(sha);
}

/* ------------------------------------------------------------------------------------------ */
/* org hooks */

static int
simgitea_url_ok(const char *url)
{
	return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0
	           ? strlen(url) > (url[4] == 's' ? 8u : 7u)
	           : 0;
}

/* Checks and applies a hook's config map and the other fields; creating demands type and
 * the url/content_type keys. -1 after answering 422. */
static int
simgitea_hook_apply(struct sim_req *r, struct ghook *h, json_t *body, int creating)
{
	static const char *const types[] = {"gitea",    "gogs",       "slack",    "discord",
	                                    "dingtalk", "telegram",   "msteams",  "feishu",
	                                    "matrix",   "wechatwork", "packagist"};
	json_t *config = json_object_get(body, "config"), *events = json_object_get(body, "events");
	const char *type = NULL, *url = NULL, *ct = NULL, *secret = NULL, *bf, *auth;
	int active;

	if (simgitea_opt_str(r, body, "type", "Type", &type) != 0 ||
	    simgitea_opt_str(r, body, "branch_filter", "BranchFilter", &bf) != 0 ||
	    simgitea_opt_str(r, body, "authorization_header", "AuthorizationHeader", &auth) != 0 ||
	    simgitea_opt_bool(r, body, "active", &active) != 0)
		return -1;
	if (creating) {
		size_t i;

		if (type == NULL) {
			sim_error(r, 422, "[Type]: Required");
			return -1;
		}
		for (i = 0; i < nitems(types); i++) {
			if (strcmp(type, types[i]) == 0)
				break;
		}
		if (i == nitems(types)) {
			sim_error(r, 422, "Invalid hook type");
			return -1;
		}
		if (!json_is_object(config)) {
			sim_error(r, 422, "[Config]: Required");
			return -1;
		}
	}
	if (config != NULL && !json_is_null(config)) {
		if (!json_is_object(config)) {
			sim_error(r, 422, "[Config]: cannot unmarshal into a map");
			return -1;
		}
		url = json_string_value(json_object_get(config, "url"));
		ct = json_string_value(json_object_get(config, "content_type"));
		secret = json_string_value(json_object_get(config, "secret"));
		if (creating && url == NULL) {
			sim_error(r, 422, "Missing config option: url");
			return -1;
		}
		if (creating && ct == NULL) {
			sim_error(r, 422, "Missing config option: content_type");
			return -1;
		}
		if (url != NULL && !simgitea_url_ok(url)) {
			sim_error(r, 422, "Invalid url");
			return -1;
		}
		if (ct != NULL && strcmp(ct, "json") != 0 && strcmp(ct, "form") != 0) {
			sim_error(r, 422, "Invalid content type");
			return -1;
		}
	}
	if (events != NULL && !json_is_null(events)) {
		size_t i;
		json_t *e;

		if (!json_is_array(events)) {
			sim_error(r, 422, "[Events]: cannot unmarshal into a list");
			return -1;
		}
		json_array_foreach(events, i, e)
		{
			if (!json_is_string(e)) {
				sim_error(r, 422, "[Events]: cannot unmarshal into a string");
				return -1;
			}
		}
	}
	if (type != NULL && creating)
		simgitea_set(&h->type, type);
	if (url != NULL)
		simgitea_set(&h->url, url);
	if (ct != NULL)
		simgitea_set(&h->content_type, ct);
	if (secret != NULL)
		simgitea_set(&h->secret, secret);
	/* Create and edit alike (routers/api/v1/utils/hook.go addHook, editHook): the events,
	 * branch filter and authorization header are replaced by what the body says, so an edit
	 * that leaves them out resets the events to push and clears the other two. */
	simgitea_set(&h->branch_filter, bf);
	simgitea_set(&h->auth_header, auth);
	json_decref(h->events);
	if (events != NULL && json_is_array(events) && json_array_size(events) > 0)
		h->events = json_deep_copy(events);
	else
		h->events = json_pack("[s]", "push");
	if (active >= 0)
		h->active = active;
	sim_now_iso(h->updated);
	return 0;
}

static struct ghook *
simgitea_hook_at(struct sim_req *r, struct gorg *o)
{
	struct ghook *h;
	long id;

	if (util_parse_long(r->segs[3], 1, INT64_MAX, &id) == 0) {
		TAILQ_FOREACH(h, &o->hooks, entry)
		{
			if (h->id == id)
				return h;
		}
	}
	simgitea_notfound(r, "GetWebhookByOwnerID", "webhook does not exist");
	return NULL;
}

static void
simgitea_hooks_list(struct sim_req *r)
{
	struct gorg *o = simgitea_org_at(r, 1);
	struct ghook *h;
	struct gpage pg;
	size_t i = 0, n = 0, start, end;
	char num[32];
	json_t *a;

	if (o == NULL)
		return;
	/* Paginated like every list, with X-Total-Count but no Link header: ListOwnerHooks in
	 * routers/api/v1/utils/hook.go builds ListOptions from the request and calls
	 * SetTotalCountHeader only. */
	TAILQ_FOREACH(h, &o->hooks, entry)
	n++;
	simgitea_page_parse(r, &pg);
	simgitea_page_range(&pg, n, &start, &end);
	a = json_array();
	TAILQ_FOREACH(h, &o->hooks, entry)
	{
		if (i >= start && i < end)
			json_array_append_new(a, simgitea_hook_json(h));
		i++;
	}
	snprintf(num, sizeof(num), "%zu", n);
	sim_header(r, "X-Total-Count", num);
	simgitea_json(r, 200, a);
}

static void
simgitea_hook_create(struct sim_req *r)
{
	struct gorg *o = simgitea_org_at(r, 1);
	json_t *body;
	struct ghook *h;

	if (o == NULL || (body = simgitea_body(r)) == NULL)
		return;
	h = xcalloc(1, sizeof(*h));
	h->type = xstrdup("gitea");
	h->url = xstrdup("");
	h->content_type = xstrdup("json");
	h->secret = xstrdup("");
	h->auth_header = xstrdup("");
	h->branch_filter = xstrdup("");
	sim_now_iso(h->created);
	if (simgitea_hook_apply(r, h, body, 1) != 0) {
		simgitea_hook_free(h);
		return;
	}
	h->id = G.next_hook++;
	TAILQ_INSERT_TAIL(&o->hooks, h, entry);
	simgitea_json(r, 201, simgitea_hook_json(h));
}

static void
simgitea_hook_get(struct sim_req *r)
{
	struct gorg *o = simgitea_org_at(r, 1);
	struct ghook *h;

	if (o != NULL && (h = simgitea_hook_at(r, o)) != NULL)
		simgitea_json(r, 200, simgitea_hook_json(h));
}

static void
simgitea_hook_patch(struct sim_req *r)
{
	struct gorg *o = simgitea_org_at(r, 1);
	struct ghook *h;
	json_t *body;

	if (o == NULL || (h = simgitea_hook_at(r, o)) == NULL || (body = simgitea_body(r)) == NULL)
		return;
	if (simgitea_hook_apply(r, h, body, 0) != 0)
		return;
	simgitea_json(r, 200, simgitea_hook_json(h));
}

static void
simgitea_hook_delete(struct sim_req *r)
{
	struct gorg *o = simgitea_org_at(r, 1);
	struct ghook *h;

	if (o == NULL || (h = simgitea_hook_at(r, o)) == NULL)
		return;
	TAILQ_REMOVE(&o->hooks, h, entry);
	simgitea_hook_free(h);
	sim_reply_raw(r, 204, NULL, NULL, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* users */

static void
simgitea_user_get(struct sim_req *r)
{
	struct guser *u = simtab_get(G.users, r->segs[1]);
	struct gorg *o;

	if (u != NULL) {
		simgitea_json(r, 200, simgitea_user_json(u));
		return;
	}
	if ((o = simtab_get(G.orgs, r->segs[1])) != NULL) {
		simgitea_json(r, 200, simgitea_org_user_json(o));
		return;
	}
	if ((o = simtab_get(G.org_redirect, r->segs[1])) != NULL) {
		simgitea_redirect(r, 307, 1, o->name);
		return;
	}
	simgitea_user_at(r, 1); /* answers 404 */
}

/* ------------------------------------------------------------------------------------------ */
/* the route table: templates as in gitea-swagger.v1.json */

static struct sim_route gitea_routes[] = {
    SIM_ROUTE("GET", "/version", simgitea_version, 1),
    SIM_ROUTE("GET", "/orgs", simgitea_org_list, 0),
    SIM_ROUTE("POST", "/orgs", simgitea_orgs_post, 0),
    SIM_ROUTE("GET", "/admin/orgs", simgitea_org_list, 0),
    SIM_ROUTE("POST", "/admin/users/{username}/orgs", simgitea_admin_org_create, 0),
    SIM_ROUTE("GET", "/orgs/{org}", simgitea_org_get, 0),
    SIM_ROUTE("PATCH", "/orgs/{org}", simgitea_org_patch, 0),
    SIM_ROUTE("DELETE", "/orgs/{org}", simgitea_org_delete, 0),
    SIM_ROUTE("GET", "/orgs/{org}/teams", simgitea_teams_list, 0),
    SIM_ROUTE("POST", "/orgs/{org}/teams", simgitea_team_create, 0),
    SIM_ROUTE("GET", "/orgs/{org}/members", simgitea_org_members_list, 0),
    SIM_ROUTE("GET", "/orgs/{org}/members/{username}", simgitea_org_member_get, 0),
    SIM_ROUTE("DELETE", "/orgs/{org}/members/{username}", simgitea_org_member_delete, 0),
    SIM_ROUTE("GET", "/orgs/{org}/repos", simgitea_repo_list, 0),
    SIM_ROUTE("POST", "/orgs/{org}/repos", simgitea_repo_create, 0),
    SIM_ROUTE("GET", "/orgs/{org}/hooks", simgitea_hooks_list, 0),
    SIM_ROUTE("POST", "/orgs/{org}/hooks", simgitea_hook_create, 0),
    SIM_ROUTE("GET", "/orgs/{org}/hooks/{id}", simgitea_hook_get, 0),
    SIM_ROUTE("PATCH", "/orgs/{org}/hooks/{id}", simgitea_hook_patch, 0),
    SIM_ROUTE("DELETE", "/orgs/{org}/hooks/{id}", simgitea_hook_delete, 0),
    SIM_ROUTE("GET", "/teams/{id}", simgitea_team_get, 0),
    SIM_ROUTE("DELETE", "/teams/{id}", simgitea_team_delete, 0),
    SIM_ROUTE("GET", "/teams/{id}/members", simgitea_team_members, 0),
    SIM_ROUTE("GET", "/teams/{id}/members/{username}", simgitea_team_member_get, 0),
    SIM_ROUTE("PUT", "/teams/{id}/members/{username}", simgitea_team_member_put, 0),
    SIM_ROUTE("DELETE", "/teams/{id}/members/{username}", simgitea_team_member_delete, 0),
    SIM_ROUTE("GET", "/repos/{owner}/{repo}", simgitea_repo_get, 0),
    SIM_ROUTE("PATCH", "/repos/{owner}/{repo}", simgitea_repo_patch, 0),
    SIM_ROUTE("DELETE", "/repos/{owner}/{repo}", simgitea_repo_delete, 0),
    SIM_ROUTE("GET", "/repos/{owner}/{repo}/branches/{branch}", simgitea_branch_get, 0),
    SIM_ROUTE("GET", "/users/{username}", simgitea_user_get, 0),
};

struct sim_route *
simgitea_routes(size_t *n)
{
	*n = nitems(gitea_routes);
	return gitea_routes;
}

/* ------------------------------------------------------------------------------------------ */
/* life cycle, state dump, seeding, drift */

void
simgitea_init(void)
{
	G.users = simtab_new(1);
	G.orgs = simtab_new(1);
	G.org_redirect = simtab_new(1);
	G.teams = simtab_new(0);
	TAILQ_INIT(&G.orglist);
	G.next_uid = 1;
	G.next_team = 1;
	G.next_repo = 1;
	G.next_hook = 1;
	G.admin = simgitea_user_new(sim_cfg.gitea_admin, "admin@vibn.local", "", 1);
}

static void
simgitea_clear(int keep_admin)
{
	struct gorg *o;

	while ((o = TAILQ_FIRST(&G.orglist)) != NULL)
		simgitea_org_free(o);
	for (size_t i = 0; i < G.nusers; i++) {
		if (keep_admin && G.userv[i] == G.admin)
			continue;
		simtab_del(G.users, G.userv[i]->name);
		simgitea_user_free(G.userv[i]);
	}
	G.nusers = 0;
	simtab_clear(G.org_redirect);
	if (keep_admin) {
		G.userv[G.nusers++] = G.admin;
	} else {
		G.admin = NULL;
	}
}

void
simgitea_reset(void)
{
	simgitea_clear(1);
	G.next_uid = G.admin->id + 1;
	G.next_team = 1;
	G.next_repo = 1;
	G.next_hook = 1;
}

void
simgitea_free(void)
{
	simgitea_clear(0);
	simtab_free(G.users);
	simtab_free(G.orgs);
	simtab_free(G.org_redirect);
	simtab_free(G.teams);
	free(G.userv);
	free(G.sorted);
	memset(&G, 0, sizeof(G));
}

json_t *
simgitea_state(void)
{
	json_t *users = json_array(), *orgs = json_array();
	struct gorg *o;

	for (size_t i = 0; i < G.nusers; i++) {
		const struct guser *u = G.userv[i];

		json_array_append_new(users, json_pack("{s:I, s:s, s:s, s:s, s:b}", "id",
		                                       (json_int_t)u->id, "username", u->name,
		                                       "email", u->email, "full_name", u->full_name,
		                                       "is_admin", u->is_admin));
	}
	TAILQ_FOREACH(o, &G.orglist, entry)
	{
		json_t *teams = json_array(), *repos = json_array(), *hooks = json_array();
		json_t *members = json_array();
		struct gteam *t;
		struct grepo *rp;
		struct ghook *h;
		struct guser **mv;
		size_t nm;

		TAILQ_FOREACH(t, &o->teams, entry)
		{
			json_t *tm = json_array();

			for (size_t i = 0; i < t->nmembers; i++)
				json_array_append_new(tm, json_string(t->members[i]->name));
			json_array_append_new(teams, json_pack("{s:I, s:s, s:s, s:o}", "id",
			                                       (json_int_t)t->id, "name", t->name,
			                                       "permission", t->permission,
			                                       "members", tm));
		}
		mv = simgitea_org_members(o, &nm);
		qsort(mv, nm, sizeof(*mv), simgitea_user_cmp);
		for (size_t i = 0; i < nm; i++)
			json_array_append_new(members, json_string(mv[i]->name));
		free(mv);
		TAILQ_FOREACH(rp, &o->repolist, entry)
		{
			char *clone = simgitea_clone_url(rp), *ssh = simgitea_ssh_url(rp);

			json_array_append_new(
			    repos, json_pack("{s:I, s:s, s:b, s:s, s:s, s:s, s:s, s:O}", "id",
			                     (json_int_t)rp->id, "name", rp->name, "private",
			                     rp->private, "description", rp->description,
			                     "default_branch", rp->default_branch, "clone_url",
			                     clone, "ssh_url", ssh, "branches", rp->branches));
			free(clone);
			free(ssh);
		}
		TAILQ_FOREACH(h, &o->hooks, entry)
		{
			json_array_append_new(
			    hooks, json_pack("{s:I, s:s, s:b, s:s, s:O, s:s, s:s, s:s}", "id",
			                     (json_int_t)h->id, "url", h->url, "active", h->active,
			                     "content_type", h->content_type, "events", h->events,
			                     "secret", h->secret, "branch_filter", h->branch_filter,
			                     "authorization_header", h->auth_header));
		}
		json_array_append_new(
		    orgs,
		    json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:o}", "name", o->name,
		              "full_name", o->full_name, "description", o->description,
		              "visibility", o->visibility, "id", (json_int_t)o->id, "teams", teams,
		              "members", members, "repos", repos, "hooks", hooks));
	}
	return json_pack("{s:o, s:o}", "users", users, "orgs", orgs);
}

static int
simgitea_ctl_error(json_t **out, int status, const char *msg)
{
	*out = json_pack("{s:s}", "error", msg);
	return status;
}

int
simgitea_seed_user(json_t *args, json_t **out)
{
	const char *name = json_string_value(json_object_get(args, "username"));
	const char *email = json_string_value(json_object_get(args, "email"));
	const char *full = json_string_value(json_object_get(args, "full_name"));
	struct guser *u;

	if (name == NULL || !names_gitea_username_chars(name) || strlen(name) > NAMES_USER_MAX)
		return simgitea_ctl_error(out, 422, "username is missing or invalid");
	if (simgitea_name_taken(name))
		return simgitea_ctl_error(out, 422, "user already exists");
	if (email == NULL || strchr(email, '@') == NULL)
		return simgitea_ctl_error(out, 422, "email is missing or invalid");
	u = simgitea_user_new(name, email, full, json_is_true(json_object_get(args, "is_admin")));
	*out = simgitea_user_json(u);
	return 201;
}

/* Returns a new string: tmpl with every "{i}" replaced by i (a seeded object's number). */
char *
sim_seed_expand(const char *tmpl, long i)
{
	struct buf b;
	const char *p;

	buf_init(&b);
	while ((p = strstr(tmpl, "{i}")) != NULL) {
		buf_append(&b, tmpl, (size_t)(p - tmpl));
		buf_printf(&b, "%ld", i);
		tmpl = p + 3;
	}
	buf_puts(&b, tmpl);
	return buf_release(&b);
}

/* The seed's string field key of o, "{i}" expanded; def when absent. A new string. */
static char *
simgitea_seed_str(json_t *o, const char *key, const char *def, long i)
{
	const char *v = json_string_value(json_object_get(o, key));

	return sim_seed_expand(v != NULL ? v : def, i);
}

/* One seeded org: made as POST /admin/users/{admin}/orgs makes it (an Owners team holding
 * the admin user), with the settings and the hook given. Returns the hook's id (0: none),
 * or -1 with *out set. */
static int64_t
simgitea_seed_org(json_t *spec, long i, json_t **out)
{
	char *name = simgitea_seed_str(spec, "name", "", i);
	json_t *hook = json_object_get(spec, "hook");
	const char *vis = json_string_value(json_object_get(spec, "visibility"));
	struct gteam *owners;
	struct ghook *h;
	struct gorg *o;

	if (!names_gitea_username_chars(name) || strlen(name) > NAMES_USER_MAX ||
	    simgitea_name_taken(name) || (vis != NULL && !simgitea_visibility_ok(vis))) {
		simgitea_ctl_error(out, 422, "org name invalid or taken, or a bad visibility");
		free(name);
		return -1;
	}
	o = simgitea_org_new(name);
	free(name);
	free(o->full_name);
	o->full_name = simgitea_seed_str(spec, "full_name", "", i);
	free(o->description);
	o->description = simgitea_seed_str(spec, "description", "", i);
	simgitea_set(&o->visibility, vis != NULL ? vis : "public");
	owners = simgitea_team_new(o, "Owners", "owner");
	owners->includes_all = 1;
	owners->can_create_repo = 1;
	simgitea_team_add(owners, G.admin);
	if (!json_is_object(hook))
		return 0;
	h = xcalloc(1, sizeof(*h));
	h->id = G.next_hook++;
	h->type = xstrdup("gitea");
	h->url = simgitea_seed_str(hook, "url", "", i);
	h->content_type = xstrdup("json");
	h->secret = simgitea_seed_str(hook, "secret", "", i);
	h->auth_header = xstrdup("");
	h->branch_filter = xstrdup("");
	h->events = json_is_array(json_object_get(hook, "events"))
	                ? json_deep_copy(json_object_get(hook, "events"))
	                : json_pack("[s]", "push");
	h->active = 1;
	sim_now_iso(h->created);
	memcpy(h->updated, h->created, sizeof(h->updated));
	TAILQ_INSERT_TAIL(&o->hooks, h, entry);
	return h->id;
}

int
simgitea_seed(json_t *args, json_t **out)
{
	json_t *spec = json_object_get(args, "org"), *hooks;
	json_int_t start = json_integer_value(json_object_get(args, "start"));
	json_int_t count = json_integer_value(json_object_get(args, "count"));

	if (!json_is_object(spec)) {
		*out = json_object();
		return 200; /* nothing of Gitea's to seed */
	}
	hooks = json_array();
	for (json_int_t i = start; i < start + count; i++) {
		int64_t id = simgitea_seed_org(spec, (long)i, out);

		if (id < 0) {
			json_decref(hooks);
			return 422;
		}
		json_array_append_new(hooks, json_integer(id));
	}
	*out = json_pack("{s:o}", "hooks", hooks);
	return 200;
}

/* Arguments of a drift action: the org, and optionally a repo, both must exist. */
static int
simgitea_drift_target(json_t *args, int want_repo, struct gorg **o, struct grepo **rp, json_t **out)
{
	const char *org = json_string_value(json_object_get(args, "org"));
	const char *repo = json_string_value(json_object_get(args, "repo"));

	if (org == NULL)
		return simgitea_ctl_error(out, 400, "org is required");
	if ((*o = simtab_get(G.orgs, org)) == NULL)
		return simgitea_ctl_error(out, 404, "no such org");
	if (!want_repo)
		return 0;
	if (repo == NULL)
		return simgitea_ctl_error(out, 400, "repo is required");
	if ((*rp = simtab_get((*o)->repos, repo)) == NULL)
		return simgitea_ctl_error(out, 404, "no such repo");
	return 0;
}

static int
simgitea_drift_ok(json_t **out)
{
	*out = json_pack("{s:b}", "ok", 1);
	return 200;
}

static int
simgitea_drift_members(const char *action, json_t *args, struct gorg *o, json_t **out)
{
	const char *user = json_string_value(json_object_get(args, "user"));
	const char *team = json_string_value(json_object_get(args, "team"));
	struct guser *u;
	struct gteam *t;

	if (user == NULL)
		return simgitea_ctl_error(out, 400, "user is required");
	if ((u = simtab_get(G.users, user)) == NULL)
		return simgitea_ctl_error(out, 404, "no such user");
	if (strcmp(action, "remove_member") == 0) {
		/* the web UI refuses this too */
		if (simgitea_last_owner(o, u))
			return simgitea_ctl_error(out, 409, "cannot remove the last owner");
		TAILQ_FOREACH(t, &o->teams, entry)
		simgitea_team_remove(t, u);
		return simgitea_drift_ok(out);
	}
	if (team == NULL)
		team = "Owners";
	TAILQ_FOREACH(t, &o->teams, entry)
	{
		if (strcasecmp(t->name, team) == 0)
			break;
	}
	if (t == NULL)
		return simgitea_ctl_error(out, 404, "no such team");
	simgitea_team_add(t, u);
	return simgitea_drift_ok(out);
}

/* edit_org and edit_repo take only the fields they name; types are checked. */
static int
simgitea_drift_edit(const char *action, json_t *args, struct gorg *o, struct grepo *rp,
                    json_t **out)
{
	json_t *v;

	if (strcmp(action, "edit_org") == 0) {
		if ((v = json_object_get(args, "full_name")) != NULL && json_is_string(v))
			simgitea_set(&o->full_name, json_string_value(v));
		if ((v = json_object_get(args, "description")) != NULL && json_is_string(v))
			simgitea_set(&o->description, json_string_value(v));
		if ((v = json_object_get(args, "visibility")) != NULL) {
			if (!json_is_string(v) || !simgitea_visibility_ok(json_string_value(v)))
				return simgitea_ctl_error(out, 400, "bad visibility");
			simgitea_set(&o->visibility, json_string_value(v));
		}
		simgitea_org_touch(o);
		return simgitea_drift_ok(out);
	}
	/* The settings page offers only existing branches (SetRepoDefaultBranch answers 404
	 * otherwise), so an empty repo's default branch cannot be changed there. Checked
	 * before anything changes: a refused edit changes nothing. */
	if ((v = json_object_get(args, "default_branch")) != NULL &&
	    (!json_is_string(v) || !simgitea_repo_has_branch(rp, json_string_value(v))))
		return simgitea_ctl_error(out, 404, "no such branch");
	if ((v = json_object_get(args, "private")) != NULL && json_is_boolean(v))
		rp->private = json_is_true(v);
	if ((v = json_object_get(args, "description")) != NULL && json_is_string(v))
		simgitea_set(&rp->description, json_string_value(v));
	if ((v = json_object_get(args, "default_branch")) != NULL)
		simgitea_set(&rp->default_branch, json_string_value(v));
	sim_now_iso(rp->updated);
	return simgitea_drift_ok(out);
}

/* A branch name git accepts (the common subset of check-ref-format). */
static int
simgitea_branch_ok(const char *b)
{
	size_t n = strlen(b);

	if (n == 0 || n > 255 || b[0] == '-' || b[0] == '/' || b[0] == '.' || b[n - 1] == '/' ||
	    b[n - 1] == '.' || strstr(b, "..") != NULL || strstr(b, "//") != NULL ||
	    (n >= 5 && strcmp(b + n - 5, ".lock") == 0))
		return 0;
	for (; *b != '\0'; b++) {
		char c = *b;

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '-' || c == '_' || c == '.' || c == '/'))
			return 0;
	}
	return 1;
}

/* push: someone pushes a new branch (no push event is delivered: the simulated hooks send
 * repository events only). */
static int
simgitea_drift_push(json_t *args, struct grepo *rp, json_t **out)
{
	const char *branch = json_string_value(json_object_get(args, "branch"));

	if (branch == NULL || !simgitea_branch_ok(branch))
		return simgitea_ctl_error(out, 400, "branch is missing or invalid");
	simgitea_repo_push(rp, branch);
	return simgitea_drift_ok(out);
}

static int
simgitea_drift_rename(const char *action, json_t *args, struct gorg *o, struct grepo *rp,
                      json_t **out)
{
	const char *nn = json_string_value(json_object_get(args, "new_name"));

	if (nn == NULL || *nn == '\0')
		return simgitea_ctl_error(out, 400, "new_name is required");
	if (strcmp(action, "rename_repo") == 0) {
		if (!names_alpha_dash_dot(nn))
			return simgitea_ctl_error(out, 400, "invalid repo name");
		if (strcasecmp(nn, rp->name) != 0 && simtab_get(o->repos, nn) != NULL)
			return simgitea_ctl_error(out, 409, "repo name taken");
		simgitea_repo_rename(rp, nn);
		return simgitea_drift_ok(out);
	}
	if (!names_gitea_username_chars(nn))
		return simgitea_ctl_error(out, 400, "invalid org name");
	if (strcasecmp(nn, o->name) != 0 && simgitea_name_taken(nn))
		return simgitea_ctl_error(out, 409, "name taken");
	simgitea_sorted_remove(o);
	simtab_del(G.orgs, o->name);
	simtab_put(G.org_redirect, o->name, o);
	simgitea_set(&o->name, nn);
	simtab_put(G.orgs, nn, o);
	simtab_del(G.org_redirect, nn);
	simgitea_sorted_insert(o);
	simgitea_org_touch(o);
	return simgitea_drift_ok(out);
}

int
simgitea_drift(const char *action, json_t *args, json_t **out)
{
	struct gorg *o = NULL;
	struct grepo *rp = NULL;
	struct ghook *h;
	int rc;

	if (strcmp(action, "create_repo") == 0) {
		const char *name = json_string_value(json_object_get(args, "repo"));

		if ((rc = simgitea_drift_target(args, 0, &o, &rp, out)) != 0)
			return rc;
		if (name == NULL || !names_alpha_dash_dot(name))
			return simgitea_ctl_error(out, 400, "repo is required");
		if (simtab_get(o->repos, name) != NULL)
			return simgitea_ctl_error(out, 409, "repo exists");
		rp = simgitea_repo_new(o, name);
		simgitea_fire_repo(rp, "created");
		return simgitea_drift_ok(out);
	}
	if (strcmp(action, "delete_repo") == 0 || strcmp(action, "edit_repo") == 0 ||
	    strcmp(action, "rename_repo") == 0 || strcmp(action, "push") == 0) {
		if ((rc = simgitea_drift_target(args, 1, &o, &rp, out)) != 0)
			return rc;
		if (strcmp(action, "edit_repo") == 0)
			return simgitea_drift_edit(action, args, o, rp, out);
		if (strcmp(action, "push") == 0)
			return simgitea_drift_push(args, rp, out);
		if (strcmp(action, "rename_repo") == 0)
			return simgitea_drift_rename(action, args, o, rp, out);
		simgitea_repo_delete_now(rp);
		return simgitea_drift_ok(out);
	}
	if (strcmp(action, "remove_member") != 0 && strcmp(action, "add_member") != 0 &&
	    strcmp(action, "delete_org") != 0 && strcmp(action, "delete_hook") != 0 &&
	    strcmp(action, "deactivate_hook") != 0 && strcmp(action, "edit_org") != 0 &&
	    strcmp(action, "rename_org") != 0)
		return 0;
	if ((rc = simgitea_drift_target(args, 0, &o, &rp, out)) != 0)
		return rc;
	if (strcmp(action, "remove_member") == 0 || strcmp(action, "add_member") == 0)
		return simgitea_drift_members(action, args, o, out);
	if (strcmp(action, "edit_org") == 0)
		return simgitea_drift_edit(action, args, o, NULL, out);
	if (strcmp(action, "rename_org") == 0)
		return simgitea_drift_rename(action, args, o, NULL, out);
	if (strcmp(action, "delete_org") == 0) {
		simgitea_org_free(o); /* with its repos; Gitea's UI sends no webhook for this */
		return simgitea_drift_ok(out);
	}
	if (strcmp(action, "delete_hook") == 0) {
		while ((h = TAILQ_FIRST(&o->hooks)) != NULL) {
			TAILQ_REMOVE(&o->hooks, h, entry);
			simgitea_hook_free(h);
		}
		return simgitea_drift_ok(out);
	}
	TAILQ_FOREACH(h, &o->hooks, entry)
	h->active = 0;
	return simgitea_drift_ok(out);
}
