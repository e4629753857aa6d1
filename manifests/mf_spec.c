#include "mf_spec.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/names.h"
#include "common/util.h"
#include "common/xmalloc.h"

/* Validation of one document: where diagnostics go, and whether any was added. */
struct mf_vctx {
	const char *file;
	struct mf_diags *d;
	int errors;
};

static const char *const mf_top_fields[] = {"apiVersion", "kind", "metadata", "spec"};
static const char *const mf_meta_fields[] = {"name", "labels"};
static const char *const mf_spec_fields[] = {"displayName",  "owner",          "members",
                                             "repos",        "apps",           "quotas",
                                             "pruneMembers", "deletionPolicy", "paused"};
static const char *const mf_quota_fields[] = {"repos", "apps", "projects"};
static const char *const mf_member_fields[] = {"user", "role"};
static const char *const mf_repo_fields[] = {"name", "private", "description", "defaultBranch"};
static const char *const mf_app_fields[] = {"name", "repo", "branch", "buildPack", "ports"};
static const char *const mf_roles[] = {"owner", "admin", "member"};
static const char *const mf_policies[] = {"Orphan", "Delete"};
static const char *const mf_build_packs[] = {"nixpacks", "railpack", "static", "dockerfile",
                                             "dockercompose"};

static void mf_verr(struct mf_vctx *v, const struct mf_node *at, const char *path, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

static void
mf_verr(struct mf_vctx *v, const struct mf_node *at, const char *path, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (path != NULL && *path != '\0')
		mf_diag_add(v->d, v->file, at->line, at->col, "%s: %s", path, msg);
	else
		mf_diag_add(v->d, v->file, at->line, at->col, "%s", msg);
	free(msg);
	v->errors++;
}

static int
mf_in(const char *s, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, set[i]) == 0)
			return 1;
	return 0;
}

/* Case-insensitive Levenshtein distance, for short field names only (capped at 64). */
static size_t
mf_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65];

	if (la > 64 || lb > 64)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t cost =
			    tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			size_t best = prev + cost;

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

const char *
mf_spec_suggest(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, len = strlen(word);
	/* Close enough: two edits, or a third for long names. */
	size_t limit = len >= 8 ? 3 : 2;

	for (size_t i = 0; i < n; i++) {
		size_t dist = mf_distance(word, candidates[i]);

		if (dist < best_d) {
			best_d = dist;
			best = candidates[i];
		}
	}
	if (best == NULL || best_d > limit || best_d >= len)
		return NULL;
	return best;
}

static char *
mf_list(const char *const *set, size_t n)
{
	size_t len = 1;
	char *out;

	for (size_t i = 0; i < n; i++)
		len += strlen(set[i]) + 2;
	out = xcalloc(1, len);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, ", ");
		strcat(out, set[i]);
	}
	return out;
}

/* Unknown keys of map, each an error at the key; merge keys get their own message. */
static void
mf_check_fields(struct mf_vctx *v, const struct mf_node *map, const char *path,
                const char *const *known, size_t n)
{
	for (size_t i = 0; i < map->n; i++) {
		const struct mf_node *k = map->keys[i];
		const char *hint;
		char *q, *all;

		if (mf_in(k->str, known, n))
			continue;
		q = mf_diag_quote(k->str, k->len);
		if (strcmp(k->str, "<<") == 0) {
			mf_verr(v, k, path, "merge keys (<<) are not supported");
		} else if ((hint = mf_spec_suggest(k->str, known, n)) != NULL) {
			mf_verr(v, k, path, "unknown field %s (did you mean \"%s\"?)", q, hint);
		} else {
			all = mf_list(known, n);
			mf_verr(v, k, path, "unknown field %s (known fields: %s)", q, all);
			free(all);
		}
		free(q);
	}
}

/* The value of key in map, or NULL when it is absent or null (null means "not set"). */
static const struct mf_node *
mf_field(const struct mf_node *map, const char *key)
{
	const struct mf_node *n = mf_yaml_get(map, key);

	if (n == NULL || mf_yaml_is_null(n))
		return NULL;
	return n;
}

static char *
mf_join(const char *path, const char *key)
{
	return *path ? xasprintf("%s.%s", path, key) : xstrdup(key);
}

/* A string field: any scalar but a boolean (numbers read as their text, so a repo may be
 * called 2048). Returns a new string, or NULL after an error. */
static char *
mf_string(struct mf_vctx *v, const struct mf_node *n, const char *path)
{
	if (n->kind != MF_NODE_SCALAR || mf_yaml_bool(n) >= 0) {
		mf_verr(v, n, path, "expected a string, got %s%s", mf_yaml_describe(n),
		        n->kind == MF_NODE_SCALAR ? " (quote it to make it a string)" : "");
		return NULL;
	}
	if (strlen(n->str) != n->len) {
		mf_verr(v, n, path, "contains a NUL character");
		return NULL;
	}
	return xstrdup(n->str);
}

/* Control characters have no place in names and one-line fields. */
static int
mf_has_control(const char *s, int allow_newline)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch < 0x20 && !(allow_newline && (ch == '\n' || ch == '\t'))) || ch == 0x7f)
			return 1;
	}
	return 0;
}

static size_t
mf_utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* Looks up key in map: returns a new string, the default (copied; may be NULL) when the
 * field is absent, or NULL after an error. *bad tells the two NULLs apart. */
static char *
mf_opt_string(struct mf_vctx *v, const struct mf_node *map, const char *key, const char *path,
              const char *def, int *bad)
{
	const struct mf_node *n = mf_field(map, key);
	char *p, *s;

	if (n == NULL)
		return def ? xstrdup(def) : NULL;
	p = mf_join(path, key);
	s = mf_string(v, n, p);
	free(p);
	if (s == NULL)
		*bad = 1;
	return s;
}

static int
mf_opt_bool(struct mf_vctx *v, const struct mf_node *map, const char *key, const char *path,
            int def)
{
	const struct mf_node *n = mf_field(map, key);
	int b;
	char *p;

	if (n == NULL)
		return def;
	if ((b = mf_yaml_bool(n)) >= 0)
		return b;
	p = mf_join(path, key);
	if (n->kind == MF_NODE_SCALAR && !n->plain &&
	    (strcmp(n->str, "true") == 0 || strcmp(n->str, "false") == 0))
		mf_verr(v, n, p,
		        "expected a boolean, got a quoted string (write %s without quotes)",
		        n->str);
	else
		mf_verr(v, n, p, "expected a boolean (true or false), got %s", mf_yaml_describe(n));
	free(p);
	return def;
}

static const struct mf_node *
mf_require(struct mf_vctx *v, const struct mf_node *map, const char *key, const char *path,
           const char *what)
{
	const struct mf_node *n = mf_field(map, key);

	if (n == NULL)
		mf_verr(v, map, path, "missing required field \"%s\"%s%s", key, what ? " in " : "",
		        what ? what : "");
	return n;
}

static int
mf_expect(struct mf_vctx *v, const struct mf_node *n, enum mf_node_kind kind, const char *path)
{
	if (n->kind == kind)
		return 0;
	mf_verr(v, n, path, "expected %s, got %s",
	        kind == MF_NODE_MAP   ? "a mapping"
	        : kind == MF_NODE_SEQ ? "a sequence"
	                              : "a string",
	        mf_yaml_describe(n));
	return -1;
}

static int
mf_ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcasecmp(s + ls - lx, suffix) == 0;
}

int
mf_spec_valid_branch(const char *s)
{
	size_t len = strlen(s);

	/* git check-ref-format, in short. */
	if (len == 0 || len > MF_BRANCH_MAX || s[0] == '-' || s[0] == '/' || s[len - 1] == '/' ||
	    s[len - 1] == '.' || mf_ends_with(s, ".lock") || strstr(s, "..") || strstr(s, "//") ||
	    strstr(s, "@{") || strstr(s, "/.") || s[0] == '.' || strcmp(s, "@") == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= 0x20 || ch == 0x7f || strchr("~^:?*[\\", ch) != NULL)
			return 0;
	}
	return 1;
}

int
mf_spec_valid_build_pack(const char *s)
{
	return mf_in(s, mf_build_packs, nitems(mf_build_packs));
}

int
mf_spec_valid_ports(const char *s)
{
	long seen[64] = {0};
	size_t nseen = 0;

	/* Coolify's ports_exposes: ^\d+(,\d+)*$; and each a real port, once. */
	while (1) {
		char digits[8];
		size_t n = 0;
		long port;

		while (*s >= '0' && *s <= '9') {
			if (n == sizeof digits - 1)
				return 0;
			digits[n++] = *s++;
		}
		digits[n] = '\0';
		if (n == 0 || util_parse_long(digits, 1, 65535, &port) != 0)
			return 0;
		for (size_t i = 0; i < nseen; i++)
			if (seen[i] == port)
				return 0;
		if (nseen == nitems(seen))
			return 0;
		seen[nseen++] = port;
		if (*s == '\0')
			return 1;
		if (*s++ != ',')
			return 0;
	}
}

void
mf_spec_workspace_free(struct mf_workspace *w)
{
	for (size_t i = 0; i < w->nmembers; i++) {
		free(w->members[i].user);
		free(w->members[i].role);
		free(w->members[i].gitea_user);
	}
	for (size_t i = 0; i < w->nrepos; i++) {
		free(w->repos[i].name);
		free(w->repos[i].description);
		free(w->repos[i].default_branch);
	}
	for (size_t i = 0; i < w->napps; i++) {
		free(w->apps[i].name);
		free(w->apps[i].repo);
		free(w->apps[i].branch);
		free(w->apps[i].build_pack);
		free(w->apps[i].ports);
	}
	for (size_t i = 0; i < w->nlabels; i++) {
		free(w->labels[i].key);
		free(w->labels[i].value);
	}
	for (size_t i = 0; i < w->napi_repos; i++) {
		free(w->api_repos[i].name);
		free(w->api_repos[i].repo);
		free(w->api_repos[i].project);
	}
	for (size_t i = 0; i < w->napi_apps; i++) {
		free(w->api_apps[i].name);
		free(w->api_apps[i].repo);
		free(w->api_apps[i].project);
	}
	free(w->labels);
	free(w->api_repos);
	free(w->api_apps);
	free(w->members);
	free(w->repos);
	free(w->apps);
	free(w->file);
	free(w->slug);
	free(w->display_name);
	free(w->owner);
	free(w->deletion_policy);
	memset(w, 0, sizeof *w);
}

void
mf_spec_set_init(struct mf_set *set)
{
	set->v = NULL;
	set->n = 0;
}

void
mf_spec_set_free(struct mf_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		mf_spec_workspace_free(&set->v[i]);
	free(set->v);
	mf_spec_set_init(set);
}

static struct mf_pos
mf_pos_of(const struct mf_node *n)
{
	struct mf_pos p = {n->line, n->col};

	return p;
}

/* A required string field checked by a rule; returns a new string or NULL after an error. */
static char *
mf_named(struct mf_vctx *v, const struct mf_node *map, const char *key, const char *path,
         const char *what, int (*valid)(const char *), const char *rule)
{
	const struct mf_node *n = mf_require(v, map, key, path, NULL);
	char *p, *s, *q;

	if (n == NULL)
		return NULL;
	p = mf_join(path, key);
	s = mf_string(v, n, p);
	if (s != NULL && !valid(s)) {
		q = mf_diag_quote(s, strlen(s));
		mf_verr(v, n, p, "invalid %s %s: %s", what, q, rule);
		free(q);
		free(s);
		s = NULL;
	}
	free(p);
	return s;
}

static const char mf_slug_rule[] = "lower-case letters, digits and single hyphens, starting and "
                                   "ending with a letter or digit (^[a-z0-9]+(-[a-z0-9]+)*$), "
                                   "at most 32 characters";
static const char mf_user_rule[] = "Gitea user names are letters, digits and single '-', '_' or "
                                   "'.' between them, starting with a letter or digit, at most "
                                   "40 characters, and not a reserved name";
static const char mf_repo_rule[] = "letters, digits, '-', '_' and '.' (no \"..\"), at most 100 "
                                   "characters, not \".\" or \"-\", and not ending in .git, "
                                   ".wiki, .rss or .atom";
static const char mf_branch_rule[] = "not a valid git branch name";

/* Finds a case-insensitive duplicate of name among the first n entries of a list. */
#define MF_FIND_DUP(arr, n, field, name, out)                                                      \
	do {                                                                                       \
		(out) = -1;                                                                        \
		for (size_t i_ = 0; i_ < (n); i_++)                                                \
			if (strcasecmp((arr)[i_].field, (name)) == 0) {                            \
				(out) = (long)i_;                                                  \
				break;                                                             \
			}                                                                          \
	} while (0)

static void
mf_members(struct mf_vctx *v, const struct mf_node *seq, struct mf_workspace *w)
{
	w->members = xcalloc(seq->n, sizeof *w->members);
	for (size_t i = 0; i < seq->n; i++) {
		const struct mf_node *item = seq->items[i];
		char *path = xasprintf("spec.members[%zu]", i), *user, *role, *rp;
		const struct mf_node *rn;
		int bad = 0;
		long dup;

		if (mf_expect(v, item, MF_NODE_MAP, path) != 0) {
			free(path);
			continue;
		}
		mf_check_fields(v, item, path, mf_member_fields, nitems(mf_member_fields));
		user = mf_named(v, item, "user", path, "user name", names_valid_username,
		                mf_user_rule);
		role = mf_opt_string(v, item, "role", path, "member", &bad);
		if (role != NULL && !mf_in(role, mf_roles, nitems(mf_roles))) {
			char *q = mf_diag_quote(role, strlen(role));
			const char *hint = mf_spec_suggest(role, mf_roles, nitems(mf_roles));

			rn = mf_field(item, "role");
			rp = mf_join(path, "role");
			mf_verr(
			    v, rn, rp, "invalid role %s (expected owner, admin or member)%s%s%s", q,
			    hint ? "; did you mean \"" : "", hint ? hint : "", hint ? "\"?" : "");
			free(rp);
			free(q);
			free(role);
			role = NULL;
		}
		if (user != NULL && role != NULL) {
			MF_FIND_DUP(w->members, w->nmembers, user, user, dup);
			if (dup >= 0) {
				char *q = mf_diag_quote(user, strlen(user));

				rp = mf_join(path, "user");
				mf_verr(v, mf_field(item, "user"), rp,
				        "duplicate member %s (first at line %d, column %d)", q,
				        w->members[dup].pos.line, w->members[dup].pos.col);
				free(rp);
				free(q);
			} else if (w->owner != NULL && strcasecmp(user, w->owner) == 0 &&
			           strcmp(role, "owner") != 0) {
				/* role may be absent (it defaults to member): point at the user. */
				rn = mf_field(item, "role");
				rp = mf_join(path, rn != NULL ? "role" : "user");
				mf_verr(v, rn != NULL ? rn : mf_field(item, "user"), rp,
				        "\"%s\" is the workspace owner; list the owner with role "
				        "owner, or not at all",
				        user);
				free(rp);
			} else {
				struct mf_member *m = &w->members[w->nmembers++];

				m->user = user;
				m->role = role;
				m->pos = mf_pos_of(mf_field(item, "user"));
				user = role = NULL;
			}
		}
		free(user);
		free(role);
		free(path);
	}
}

static void
mf_repos(struct mf_vctx *v, const struct mf_node *seq, struct mf_workspace *w)
{
	w->repos = xcalloc(seq->n, sizeof *w->repos);
	for (size_t i = 0; i < seq->n; i++) {
		const struct mf_node *item = seq->items[i];
		char *path = xasprintf("spec.repos[%zu]", i), *p;
		struct mf_repo r;
		int bad = 0, before = v->errors;
		long dup;

		if (mf_expect(v, item, MF_NODE_MAP, path) != 0) {
			free(path);
			continue;
		}
		memset(&r, 0, sizeof r);
		mf_check_fields(v, item, path, mf_repo_fields, nitems(mf_repo_fields));
		r.name = mf_named(v, item, "name", path, "repo name", names_valid_repo_name,
		                  mf_repo_rule);
		r.private = mf_opt_bool(v, item, "private", path, 1);
		r.description = mf_opt_string(v, item, "description", path, "", &bad);
		if (r.description != NULL && (mf_has_control(r.description, 1) ||
		                              mf_utf8_chars(r.description) > MF_DESCRIPTION_MAX)) {
			p = mf_join(path, "description");
			mf_verr(v, mf_field(item, "description"), p,
			        "must be at most %d characters, without control characters",
			        MF_DESCRIPTION_MAX);
			free(p);
		}
		r.default_branch = mf_opt_string(v, item, "defaultBranch", path, "main", &bad);
		if (r.default_branch != NULL && !mf_spec_valid_branch(r.default_branch)) {
			char *q = mf_diag_quote(r.default_branch, strlen(r.default_branch));

			p = mf_join(path, "defaultBranch");
			mf_verr(v, mf_field(item, "defaultBranch"), p, "%s is %s", q,
			        mf_branch_rule);
			free(p);
			free(q);
		}
		if (r.name != NULL) {
			MF_FIND_DUP(w->repos, w->nrepos, name, r.name, dup);
			if (dup >= 0) {
				char *q = mf_diag_quote(r.name, strlen(r.name));

				p = mf_join(path, "name");
				mf_verr(
				    v, mf_field(item, "name"), p,
				    "duplicate repo %s (first at line %d, column %d; repo names "
				    "are unique regardless of case)",
				    q, w->repos[dup].pos.line, w->repos[dup].pos.col);
				free(p);
				free(q);
			}
		}
		if (v->errors == before && !bad) {
			r.pos = mf_pos_of(mf_field(item, "name"));
			w->repos[w->nrepos++] = r;
		} else {
			free(r.name);
			free(r.description);
			free(r.default_branch);
		}
		free(path);
	}
}

static const struct mf_repo *
mf_find_repo(const struct mf_workspace *w, const char *name)
{
	for (size_t i = 0; i < w->nrepos; i++)
		if (strcasecmp(w->repos[i].name, name) == 0)
			return &w->repos[i];
	return NULL;
}

static void
mf_apps(struct mf_vctx *v, const struct mf_node *seq, struct mf_workspace *w, int repos_ok)
{
	w->apps = xcalloc(seq->n, sizeof *w->apps);
	for (size_t i = 0; i < seq->n; i++) {
		const struct mf_node *item = seq->items[i];
		char *path = xasprintf("spec.apps[%zu]", i), *p, *q;
		const struct mf_repo *repo = NULL;
		struct mf_app a;
		int bad = 0, before = v->errors;
		long dup;

		if (mf_expect(v, item, MF_NODE_MAP, path) != 0) {
			free(path);
			continue;
		}
		memset(&a, 0, sizeof a);
		mf_check_fields(v, item, path, mf_app_fields, nitems(mf_app_fields));
		a.name = mf_named(v, item, "name", path, "app name", names_valid_repo_name,
		                  mf_repo_rule);
		a.repo = mf_named(v, item, "repo", path, "repo name", names_valid_repo_name,
		                  mf_repo_rule);
		/* Only a valid repo list can say what is declared. */
		if (a.repo != NULL && repos_ok && (repo = mf_find_repo(w, a.repo)) == NULL) {
			q = mf_diag_quote(a.repo, strlen(a.repo));
			p = mf_join(path, "repo");
			mf_verr(v, mf_field(item, "repo"), p,
			        "repo %s is not declared in spec.repos", q);
			free(p);
			free(q);
		}
		a.branch = mf_opt_string(v, item, "branch", path, NULL, &bad);
		if (a.branch == NULL && !bad)
			a.branch = xstrdup(repo ? repo->default_branch : "main");
		if (a.branch != NULL && !mf_spec_valid_branch(a.branch)) {
			q = mf_diag_quote(a.branch, strlen(a.branch));
			p = mf_join(path, "branch");
			mf_verr(v, mf_field(item, "branch"), p, "%s is %s", q, mf_branch_rule);
			free(p);
			free(q);
		}
		a.build_pack = mf_opt_string(v, item, "buildPack", path, "nixpacks", &bad);
		if (a.build_pack != NULL &&
		    !mf_in(a.build_pack, mf_build_packs, nitems(mf_build_packs))) {
			char *all = mf_list(mf_build_packs, nitems(mf_build_packs));

			q = mf_diag_quote(a.build_pack, strlen(a.build_pack));
			p = mf_join(path, "buildPack");
			mf_verr(v, mf_field(item, "buildPack"), p,
			        "unknown build pack %s (one of %s)", q, all);
			free(all);
			free(p);
			free(q);
		}
		a.ports = mf_opt_string(v, item, "ports", path, "3000", &bad);
		if (a.ports != NULL && !mf_spec_valid_ports(a.ports)) {
			q = mf_diag_quote(a.ports, strlen(a.ports));
			p = mf_join(path, "ports");
			mf_verr(
			    v, mf_field(item, "ports"), p,
			    "invalid ports %s: comma-separated port numbers 1-65535, each once, "
			    "like \"3000\" or \"3000,8080\"",
			    q);
			free(p);
			free(q);
		}
		if (a.name != NULL) {
			MF_FIND_DUP(w->apps, w->napps, name, a.name, dup);
			if (dup >= 0) {
				q = mf_diag_quote(a.name, strlen(a.name));
				p = mf_join(path, "name");
				mf_verr(
				    v, mf_field(item, "name"), p,
				    "duplicate app %s (first at line %d, column %d; app names are "
				    "unique regardless of case)",
				    q, w->apps[dup].pos.line, w->apps[dup].pos.col);
				free(p);
				free(q);
			}
		}
		if (v->errors == before && !bad) {
			a.pos = mf_pos_of(mf_field(item, "name"));
			w->apps[w->napps++] = a;
		} else {
			free(a.name);
			free(a.repo);
			free(a.branch);
			free(a.build_pack);
			free(a.ports);
		}
		free(path);
	}
}

/* A list field: absent or null is empty; anything else must be a sequence. */
static const struct mf_node *
mf_list_field(struct mf_vctx *v, const struct mf_node *spec, const char *key)
{
	const struct mf_node *n = mf_field(spec, key);
	char *p;

	if (n == NULL)
		return NULL;
	p = mf_join("spec", key);
	if (mf_expect(v, n, MF_NODE_SEQ, p) != 0)
		n = NULL;
	free(p);
	return n;
}

/* spec.quotas: {repos, apps, projects}, each an integer from 0 to QUOTA_MAX. */
static void
mf_quotas(struct mf_vctx *v, const struct mf_node *map, struct mf_workspace *w)
{
	if (mf_expect(v, map, MF_NODE_MAP, "spec.quotas") != 0)
		return;
	mf_check_fields(v, map, "spec.quotas", mf_quota_fields, nitems(mf_quota_fields));
	for (int k = 0; k < QUOTA_KINDS; k++) {
		const struct mf_node *n = mf_field(map, quota_name(k));
		char *p;
		long val;

		if (n == NULL)
			continue;
		if (n->kind == MF_NODE_SCALAR && n->plain && strlen(n->str) == n->len &&
		    isdigit((unsigned char)n->str[0]) &&
		    util_parse_long(n->str, 0, QUOTA_MAX, &val) == 0) {
			w->quota[k] = val;
			continue;
		}
		p = mf_join("spec.quotas", quota_name(k));
		mf_verr(v, n, p, "expected an integer from 0 to %d, got %s", QUOTA_MAX,
		        mf_yaml_describe(n));
		free(p);
	}
}

static int
mf_label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mf_label *)a)->key, ((const struct mf_label *)b)->key);
}

/* metadata.labels: a mapping of label keys to string values (Kubernetes' syntax). */
static void
mf_labels(struct mf_vctx *v, const struct mf_node *map, struct mf_workspace *w)
{
	if (mf_expect(v, map, MF_NODE_MAP, "metadata.labels") != 0)
		return;
	w->labels = xcalloc(map->n + 1, sizeof *w->labels);
	for (size_t i = 0; i < map->n; i++) {
		const struct mf_node *k = map->keys[i], *val = map->items[i];
		char *p = xasprintf("metadata.labels.%s", k->str), *s = NULL, *q;

		if (strlen(k->str) != k->len || !mf_select_valid_key(k->str)) {
			q = mf_diag_quote(k->str, k->len);
			mf_verr(
			    v, k, "metadata.labels",
			    "invalid label key %s: [prefix/]name, the name 1 to 63 letters, digits, "
			    "'-', '_' or '.' starting and ending with a letter or digit",
			    q);
			free(q);
		} else if (mf_yaml_is_null(val)) {
			s = xstrdup("");
		} else if ((s = mf_string(v, val, p)) != NULL && !mf_select_valid_value(s)) {
			q = mf_diag_quote(s, strlen(s));
			mf_verr(
			    v, val, p,
			    "invalid label value %s: empty, or at most 63 letters, digits, '-', '_' "
			    "or '.' starting and ending with a letter or digit",
			    q);
			free(q);
			free(s);
			s = NULL;
		}
		if (s != NULL) {
			w->labels[w->nlabels].key = xstrdup(k->str);
			w->labels[w->nlabels].value = s;
			w->nlabels++;
		}
		free(p);
	}
	qsort(w->labels, w->nlabels, sizeof *w->labels, mf_label_cmp);
}

static void
mf_spec_body(struct mf_vctx *v, const struct mf_node *spec, struct mf_workspace *w)
{
	const struct mf_node *n;
	int bad = 0, before;

	mf_check_fields(v, spec, "spec", mf_spec_fields, nitems(mf_spec_fields));
	w->owner = mf_named(v, spec, "owner", "spec", "owner", names_valid_username, mf_user_rule);
	w->display_name = mf_opt_string(v, spec, "displayName", "spec", NULL, &bad);
	if (w->display_name != NULL && (mf_has_control(w->display_name, 0) ||
	                                mf_utf8_chars(w->display_name) > MF_DISPLAY_NAME_MAX))
		mf_verr(v, mf_field(spec, "displayName"), "spec.displayName",
		        "must be at most %d characters, without control characters",
		        MF_DISPLAY_NAME_MAX);
	if ((n = mf_field(spec, "quotas")) != NULL)
		mf_quotas(v, n, w);
	w->prune_members = mf_opt_bool(v, spec, "pruneMembers", "spec", 0);
	w->paused = mf_opt_bool(v, spec, "paused", "spec", 0);
	w->deletion_policy = mf_opt_string(v, spec, "deletionPolicy", "spec", "Orphan", &bad);
	if (w->deletion_policy != NULL &&
	    !mf_in(w->deletion_policy, mf_policies, nitems(mf_policies))) {
		const char *hint = mf_spec_suggest(w->deletion_policy, mf_policies, 2);
		char *q = mf_diag_quote(w->deletion_policy, strlen(w->deletion_policy));

		mf_verr(v, mf_field(spec, "deletionPolicy"), "spec.deletionPolicy",
		        "invalid deletionPolicy %s (expected Orphan or Delete)%s%s%s", q,
		        hint ? "; did you mean \"" : "", hint ? hint : "", hint ? "\"?" : "");
		free(q);
	}
	if ((n = mf_list_field(v, spec, "members")) != NULL)
		mf_members(v, n, w);
	before = v->errors;
	if ((n = mf_list_field(v, spec, "repos")) != NULL)
		mf_repos(v, n, w);
	if ((n = mf_list_field(v, spec, "apps")) != NULL)
		mf_apps(v, n, w, v->errors == before && !bad);
}

static void
mf_header(struct mf_vctx *v, const struct mf_node *root)
{
	const struct mf_node *n;
	char *s, *q;

	mf_check_fields(v, root, "", mf_top_fields, nitems(mf_top_fields));
	if ((n = mf_require(v, root, "apiVersion", "", NULL)) != NULL &&
	    (s = mf_string(v, n, "apiVersion")) != NULL) {
		if (strcmp(s, "vibn/v1") != 0) {
			q = mf_diag_quote(s, strlen(s));
			mf_verr(v, n, "apiVersion",
			        "unsupported apiVersion %s (expected \"vibn/v1\")", q);
			free(q);
		}
		free(s);
	}
	if ((n = mf_require(v, root, "kind", "", NULL)) != NULL &&
	    (s = mf_string(v, n, "kind")) != NULL) {
		if (strcmp(s, "Workspace") != 0) {
			q = mf_diag_quote(s, strlen(s));
			mf_verr(v, n, "kind", "unsupported kind %s (expected \"Workspace\")", q);
			free(q);
		}
		free(s);
	}
}

int
mf_spec_from_doc(const char *file, const struct mf_doc *doc, struct mf_set *set, struct mf_diags *d)
{
	struct mf_vctx v = {file, d, 0};
	const struct mf_node *root = doc->root, *meta, *spec;
	struct mf_workspace w;

	memset(&w, 0, sizeof w);
	for (int k = 0; k < QUOTA_KINDS; k++)
		w.quota[k] = -1;
	if (mf_expect(&v, root, MF_NODE_MAP, "") != 0)
		return -1;
	mf_header(&v, root);
	if ((meta = mf_require(&v, root, "metadata", "", NULL)) != NULL &&
	    mf_expect(&v, meta, MF_NODE_MAP, "metadata") == 0) {
		mf_check_fields(&v, meta, "metadata", mf_meta_fields, nitems(mf_meta_fields));
		w.slug = mf_named(&v, meta, "name", "metadata", "workspace name", names_valid_slug,
		                  mf_slug_rule);
		if (mf_field(meta, "labels") != NULL)
			mf_labels(&v, mf_field(meta, "labels"), &w);
	}
	if ((spec = mf_require(&v, root, "spec", "", NULL)) != NULL &&
	    mf_expect(&v, spec, MF_NODE_MAP, "spec") == 0)
		mf_spec_body(&v, spec, &w);
	if (v.errors > 0) {
		mf_spec_workspace_free(&w);
		return -1;
	}
	w.file = xstrdup(file);
	w.pos = mf_pos_of(mf_field(meta, "name"));
	if (w.display_name == NULL)
		w.display_name = xstrdup(w.slug);
	set->v = xreallocarray(set->v, set->n + 1, sizeof *set->v);
	set->v[set->n++] = w;
	return 0;
}

int
mf_spec_check_set(const struct mf_set *set, struct mf_diags *d)
{
	int errors = 0;

	/* Sets are small (one ops repo); quadratic is fine. */
	for (size_t i = 0; i < set->n; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(set->v[i].slug, set->v[j].slug) != 0)
				continue;
			mf_diag_add(d, set->v[i].file, set->v[i].pos.line, set->v[i].pos.col,
			            "workspace \"%s\" is declared twice (first at %s:%d:%d)",
			            set->v[i].slug, set->v[j].file, set->v[j].pos.line,
			            set->v[j].pos.col);
			errors++;
			break;
		}
	}
	return errors ? -1 : 0;
}
