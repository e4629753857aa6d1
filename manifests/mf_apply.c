#include "mf_apply.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "clients/db.h"
#include "manifests/mf_diff.h"
#include "common/buf.h"
#include "common/xmalloc.h"

/* Serializes applies with each other: "vibnaply" as an int64. */
#define MF_APPLY_LOCK_KEY "8532475893596316025"

/* What is stored for one slug. w holds the manifest's rows and, as names, the API's (what
 * diff shows); api_repos and api_apps hold the API's rows whole (what a take-over pairs). */
struct mf_live {
	int exists;
	int deleting;
	char *id;
	char *source;
	char *apply_set;
	struct mf_workspace w;
	struct mf_repo *api_repos;
	size_t napi_repos;
	struct mf_app *api_apps;
	size_t napi_apps;
};

const char *
mf_apply_action_name(enum mf_action a)
{
	switch (a) {
	case MF_ACTION_CREATE:
		return "created";
	case MF_ACTION_CONFIGURE:
		return "configured";
	case MF_ACTION_SKIPPED:
		return "skipped";
	case MF_ACTION_UNCHANGED:
		break;
	}
	return "unchanged";
}

int
mf_apply_valid_applyset(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' ||
		      s[i] == '.'))
			return 0;
	return 1;
}

void
mf_apply_plan_free(struct mf_plan *plan)
{
	for (size_t i = 0; i < plan->n; i++) {
		free(plan->v[i].diff);
		free(plan->v[i].error);
		free(plan->v[i].note);
		free(plan->v[i].api_owned);
	}
	free(plan->v);
	for (size_t i = 0; i < plan->npruned; i++)
		free(plan->pruned[i]);
	free(plan->pruned);
	memset(plan, 0, sizeof *plan);
}

static void
mf_live_free(struct mf_live *l)
{
	free(l->id);
	free(l->source);
	free(l->apply_set);
	mf_spec_workspace_free(&l->w);
	for (size_t i = 0; i < l->napi_repos; i++) {
		free(l->api_repos[i].name);
		free(l->api_repos[i].description);
		free(l->api_repos[i].default_branch);
	}
	for (size_t i = 0; i < l->napi_apps; i++) {
		free(l->api_apps[i].name);
		free(l->api_apps[i].repo);
		free(l->api_apps[i].branch);
		free(l->api_apps[i].build_pack);
		free(l->api_apps[i].ports);
	}
	free(l->api_repos);
	free(l->api_apps);
	memset(l, 0, sizeof *l);
}

static int
mf_apply_label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mf_label *)a)->key, ((const struct mf_label *)b)->key);
}

static void
mf_apply_sort_labels(struct mf_workspace *w)
{
	if (w->nlabels > 1)
		qsort(w->labels, w->nlabels, sizeof *w->labels, mf_apply_label_cmp);
}

/* Labels from their stored JSON object, sorted by key. */
static void
mf_apply_labels(const char *text, struct mf_workspace *w)
{
	json_t *obj = json_loads(text, 0, NULL), *v;
	const char *key;

	w->labels = xcalloc(json_object_size(obj) + 1, sizeof *w->labels);
	json_object_foreach(obj, key, v)
	{
		if (!json_is_string(v))
			continue;
		w->labels[w->nlabels].key = xstrdup(key);
		w->labels[w->nlabels].value = xstrdup(json_string_value(v));
		w->nlabels++;
	}
	json_decref(obj);
	mf_apply_sort_labels(w);
}

/* The labels as a JSON object text (a new string). */
static char *
mf_apply_labels_json(const struct mf_workspace *w)
{
	json_t *obj = json_object();
	char *s;

	for (size_t i = 0; i < w->nlabels; i++)
		json_object_set_new(obj, w->labels[i].key, json_string(w->labels[i].value));
	s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(obj);
	if (s == NULL)
		abort();
	return s;
}

/* Reads the stored desired state of slug into *l (l->exists 0 when there is none). */
static int
mf_apply_load(PGconn *conn, const char *slug, struct mf_live *l, char **cause)
{
	const char *p[1] = {slug};
	PGresult *res;
	struct mf_workspace *w = &l->w;

	memset(l, 0, sizeof *l);
	for (int k = 0; k < QUOTA_KINDS; k++)
		w->quota[k] = -1;
	res = db_exec(conn,
	              "SELECT id, name, owner, prune_members, deletion_policy, paused, source, "
	              "deleted_at IS NOT NULL, manifest_labels::text, quota_repos, quota_apps, "
	              "quota_projects, apply_set FROM vibn_workspaces WHERE slug = $1 FOR UPDATE",
	              1, p, cause);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	l->exists = 1;
	l->id = db_text_dup(res, 0, 0);
	w->slug = xstrdup(slug);
	w->display_name = db_text_dup(res, 0, 1);
	w->owner = db_text_dup(res, 0, 2);
	w->prune_members = db_bool(res, 0, 3);
	w->deletion_policy = db_text_dup(res, 0, 4);
	w->paused = db_bool(res, 0, 5);
	l->source = db_text_dup(res, 0, 6);
	l->deleting = db_bool(res, 0, 7);
	mf_apply_labels(PQgetvalue(res, 0, 8), w);
	for (int k = 0; k < QUOTA_KINDS; k++)
		if (!PQgetisnull(res, 0, 9 + k))
			w->quota[k] = atol(PQgetvalue(res, 0, 9 + k));
	l->apply_set = db_text_dup(res, 0, 12);
	PQclear(res);

	p[0] = l->id;
	res = db_exec(conn,
	              "SELECT id, user_id, gitea_username, role FROM vibn_workspace_members "
	              "WHERE workspace_id = $1",
	              1, p, cause);
	if (res == NULL)
		return -1;
	w->members = xcalloc((size_t)PQntuples(res) + 1, sizeof *w->members);
	for (int r = 0; r < PQntuples(res); r++) {
		struct mf_member *m = &w->members[w->nmembers++];
		const char *gitea_user = db_text(res, r, 2);

		m->id = atoll(PQgetvalue(res, r, 0));
		m->user = db_text_dup(res, r, 1);
		m->role = db_text_dup(res, r, 3);
		/* Manifest members are Gitea users: the username should be the user id. */
		if (gitea_user == NULL || strcmp(gitea_user, m->user) != 0)
			m->gitea_user = xstrdup(gitea_user != NULL ? gitea_user : "(none)");
	}
	PQclear(res);

	/* Repos and apps: the manifest's rows go to w, the API's to l->api_* (and their names,
	 * with the project they belong to, to w's api lists for diff). */
	res = db_exec(conn,
	              "SELECT id, name, private, description, default_branch, "
	              "managed_by = 'manifest', project_id FROM vibn_workspace_repos "
	              "WHERE workspace_id = $1",
	              1, p, cause);
	if (res == NULL)
		return -1;
	w->repos = xcalloc((size_t)PQntuples(res) + 1, sizeof *w->repos);
	l->api_repos = xcalloc((size_t)PQntuples(res) + 1, sizeof *l->api_repos);
	w->api_repos = xcalloc((size_t)PQntuples(res) + 1, sizeof *w->api_repos);
	for (int r = 0; r < PQntuples(res); r++) {
		int manifest = db_bool(res, r, 5);
		struct mf_repo *rp =
		    manifest ? &w->repos[w->nrepos++] : &l->api_repos[l->napi_repos++];

		rp->id = atoll(PQgetvalue(res, r, 0));
		rp->name = db_text_dup(res, r, 1);
		rp->private = db_bool(res, r, 2);
		rp->description = db_text_dup(res, r, 3);
		rp->default_branch = db_text_dup(res, r, 4);
		if (!manifest) {
			struct mf_api_owned *a = &w->api_repos[w->napi_repos++];

			a->id = rp->id;
			a->name = xstrdup(rp->name);
			a->project = db_text_dup(res, r, 6);
		}
	}
	PQclear(res);

	res = db_exec(conn,
	              "SELECT id, name, repo, branch, build_pack, ports, managed_by = 'manifest', "
	              "project_id FROM vibn_workspace_apps WHERE workspace_id = $1",
	              1, p, cause);
	if (res == NULL)
		return -1;
	w->apps = xcalloc((size_t)PQntuples(res) + 1, sizeof *w->apps);
	l->api_apps = xcalloc((size_t)PQntuples(res) + 1, sizeof *l->api_apps);
	w->api_apps = xcalloc((size_t)PQntuples(res) + 1, sizeof *w->api_apps);
	for (int r = 0; r < PQntuples(res); r++) {
		int manifest = db_bool(res, r, 6);
		struct mf_app *a = manifest ? &w->apps[w->napps++] : &l->api_apps[l->napi_apps++];

		a->id = atoll(PQgetvalue(res, r, 0));
		a->name = db_text_dup(res, r, 1);
		a->repo = db_text_dup(res, r, 2);
		a->branch = db_text_dup(res, r, 3);
		a->build_pack = db_text_dup(res, r, 4);
		a->ports = db_text_dup(res, r, 5);
		if (!manifest) {
			struct mf_api_owned *o = &w->api_apps[w->napi_apps++];

			o->id = a->id;
			o->name = xstrdup(a->name);
			o->repo = xstrdup(a->repo);
			o->project = db_text_dup(res, r, 7);
		}
	}
	PQclear(res);
	mf_diff_sort(w);
	return 0;
}

/* The desired state as stored: a deep copy of in with the owner as a member (role owner),
 * in canonical order. */
static void
mf_apply_desired(const struct mf_workspace *in, struct mf_workspace *out)
{
	memset(out, 0, sizeof *out);
	out->slug = xstrdup(in->slug);
	out->display_name = xstrdup(in->display_name);
	out->owner = xstrdup(in->owner);
	out->deletion_policy = xstrdup(in->deletion_policy);
	out->prune_members = in->prune_members;
	out->paused = in->paused;
	out->labels = xcalloc(in->nlabels + 1, sizeof *out->labels);
	for (size_t i = 0; i < in->nlabels; i++) {
		out->labels[i].key = xstrdup(in->labels[i].key);
		out->labels[i].value = xstrdup(in->labels[i].value);
	}
	out->nlabels = in->nlabels;
	for (int k = 0; k < QUOTA_KINDS; k++)
		out->quota[k] = in->quota[k];
	out->members = xcalloc(in->nmembers + 1, sizeof *out->members);
	out->members[0].user = xstrdup(in->owner);
	out->members[0].role = xstrdup("owner");
	out->nmembers = 1;
	for (size_t i = 0; i < in->nmembers; i++) {
		if (strcasecmp(in->members[i].user, in->owner) == 0)
			continue; /* validation allows the owner only with role owner */
		out->members[out->nmembers].user = xstrdup(in->members[i].user);
		out->members[out->nmembers].role = xstrdup(in->members[i].role);
		out->nmembers++;
	}
	out->repos = xcalloc(in->nrepos + 1, sizeof *out->repos);
	for (size_t i = 0; i < in->nrepos; i++) {
		out->repos[i].name = xstrdup(in->repos[i].name);
		out->repos[i].private = in->repos[i].private;
		out->repos[i].description = xstrdup(in->repos[i].description);
		out->repos[i].default_branch = xstrdup(in->repos[i].default_branch);
	}
	out->nrepos = in->nrepos;
	out->apps = xcalloc(in->napps + 1, sizeof *out->apps);
	for (size_t i = 0; i < in->napps; i++) {
		out->apps[i].name = xstrdup(in->apps[i].name);
		out->apps[i].repo = xstrdup(in->apps[i].repo);
		out->apps[i].branch = xstrdup(in->apps[i].branch);
		out->apps[i].build_pack = xstrdup(in->apps[i].build_pack);
		out->apps[i].ports = xstrdup(in->apps[i].ports);
	}
	out->napps = in->napps;
	mf_diff_sort(out);
}

/* Collects writes: each statement runs only when write is set; count says whether any was
 * needed at all. */
struct mf_writer {
	PGconn *conn;
	int write;
	int count;
	char **cause;
};

static int
mf_apply_exec(struct mf_writer *wr, const char *sql, int n, const char *const *params)
{
	wr->count++;
	if (!wr->write)
		return 0;
	return db_command(wr->conn, sql, n, params, wr->cause);
}

static const char *
mf_tf(int b)
{
	return b ? "t" : "f";
}

static int
mf_apply_labels_equal(const struct mf_workspace *a, const struct mf_workspace *b)
{
	if (a->nlabels != b->nlabels)
		return 0;
	for (size_t i = 0; i < a->nlabels; i++)
		if (strcmp(a->labels[i].key, b->labels[i].key) != 0 ||
		    strcmp(a->labels[i].value, b->labels[i].value) != 0)
			return 0;
	return 1;
}

/* A quota as a parameter: its decimal text in buf, or NULL (not set: the default). */
static const char *
mf_apply_quota_param(long q, char *buf, size_t len)
{
	if (q < 0)
		return NULL;
	snprintf(buf, len, "%ld", q);
	return buf;
}

/* The workspace row: its spec (which bumps the generation), and what the reconciler does not
 * act on (labels, quotas, apply set: no bump). applyset NULL keeps the recorded one. */
static int
mf_apply_workspace_row(struct mf_writer *wr, const struct mf_live *l, const struct mf_workspace *d,
                       const char *applyset)
{
	const struct mf_workspace *h = &l->w;
	const char *p[6] = {
	    l->id,           d->display_name, d->owner, mf_tf(d->prune_members), d->deletion_policy,
	    mf_tf(d->paused)};
	char q[QUOTA_KINDS][24], *labels;
	const char *meta[6];
	int same_quota = 1, rc;

	if (!(strcmp(h->display_name, d->display_name) == 0 && strcmp(h->owner, d->owner) == 0 &&
	      h->prune_members == d->prune_members &&
	      strcmp(h->deletion_policy, d->deletion_policy) == 0 && h->paused == d->paused) &&
	    mf_apply_exec(wr,
	                  "UPDATE vibn_workspaces SET name = $2, owner = $3, prune_members = $4, "
	                  "deletion_policy = $5, paused = $6 WHERE id = $1",
	                  6, p) != 0)
		return -1;
	for (int k = 0; k < QUOTA_KINDS; k++)
		same_quota &= h->quota[k] == d->quota[k];
	if (same_quota && mf_apply_labels_equal(h, d) &&
	    (applyset == NULL || (l->apply_set != NULL && strcmp(l->apply_set, applyset) == 0)))
		return 0;
	labels = mf_apply_labels_json(d);
	meta[0] = l->id;
	meta[1] = labels;
	for (int k = 0; k < QUOTA_KINDS; k++)
		meta[2 + k] = mf_apply_quota_param(d->quota[k], q[k], sizeof q[k]);
	meta[5] = applyset;
	rc = mf_apply_exec(
	    wr,
	    "UPDATE vibn_workspaces SET manifest_labels = $2::jsonb, quota_repos = $3, "
	    "quota_apps = $4, quota_projects = $5, "
	    "apply_set = coalesce($6, apply_set) WHERE id = $1",
	    6, meta);
	free(labels);
	return rc;
}

/* An array of member, repo or app structs, seen through its name and row id fields. */
struct mf_rows {
	const void *v;
	size_t n, size, name_off, id_off;
};

#define MF_ROWS(arr, count, type, name_field)                                                      \
	((struct mf_rows){(arr), (count), sizeof(type), offsetof(type, name_field),                \
	                  offsetof(type, id)})

static const char *
mf_rows_name(const struct mf_rows *r, size_t k)
{
	return *(char *const *)((const char *)r->v + k * r->size + r->name_off);
}

static long long
mf_rows_id(const struct mf_rows *r, size_t k)
{
	return *(const long long *)((const char *)r->v + k * r->size + r->id_off);
}

/* Pairs each desired item with an unpaired stored row of the same name, ignoring case (as
 * Gitea does): match[i] is the row's index or -1, matched[j] marks the rows paired. */
static void
mf_apply_pair(const struct mf_rows *have, const struct mf_rows *want, char *matched, long *match)
{
	for (size_t i = 0; i < want->n; i++) {
		match[i] = -1;
		for (size_t j = 0; j < have->n; j++) {
			if (!matched[j] &&
			    strcasecmp(mf_rows_name(have, j), mf_rows_name(want, i)) == 0) {
				matched[j] = 1;
				match[i] = (long)j;
				break;
			}
		}
	}
}

/* Deletes the stored rows of table that no desired item paired with. */
static int
mf_apply_delete_unpaired(struct mf_writer *wr, const char *delete_sql, const struct mf_rows *have,
                         const char *matched)
{
	char id[32];
	const char *p[1] = {id};

	for (size_t j = 0; j < have->n; j++) {
		if (matched[j])
			continue;
		snprintf(id, sizeof id, "%lld", mf_rows_id(have, j));
		if (mf_apply_exec(wr, delete_sql, 1, p) != 0)
			return -1;
	}
	return 0;
}

static int
mf_apply_members(struct mf_writer *wr, const struct mf_live *l, const struct mf_workspace *d)
{
	const struct mf_workspace *h = &l->w;
	char *matched = xcalloc(h->nmembers + 1, 1);
	long *match = xcalloc(d->nmembers + 1, sizeof *match);
	struct mf_rows hr, dr;
	char id[32];
	int rc = -1;

	hr = MF_ROWS(h->members, h->nmembers, struct mf_member, user);
	dr = MF_ROWS(d->members, d->nmembers, struct mf_member, user);
	mf_apply_pair(&hr, &dr, matched, match);
	if (mf_apply_delete_unpaired(wr, "DELETE FROM vibn_workspace_members WHERE id = $1", &hr,
	                             matched) != 0)
		goto fail;
	for (size_t i = 0; i < d->nmembers; i++) {
		const struct mf_member *dm = &d->members[i], *hm;
		const char *p[3] = {id, dm->user, dm->role};

		if (match[i] < 0)
			continue;
		hm = &h->members[match[i]];
		if (strcmp(hm->user, dm->user) == 0 && hm->gitea_user == NULL &&
		    strcmp(hm->role, dm->role) == 0)
			continue;
		snprintf(id, sizeof id, "%lld", hm->id);
		if (mf_apply_exec(
		        wr,
		        "UPDATE vibn_workspace_members SET user_id = $2, gitea_username = $2, "
		        "role = $3, updated_at = now() WHERE id = $1",
		        3, p) != 0)
			goto fail;
	}
	for (size_t i = 0; i < d->nmembers; i++) {
		const char *p[3] = {l->id, d->members[i].user, d->members[i].role};

		if (match[i] >= 0)
			continue;
		if (mf_apply_exec(wr,
		                  "INSERT INTO vibn_workspace_members (workspace_id, user_id, "
		                  "gitea_username, role) VALUES ($1, $2, $2, $3)",
		                  3, p) != 0)
			goto fail;
	}
	rc = 0;
fail:
	free(matched);
	free(match);
	return rc;
}

/* Repos: have are the rows the manifest owns (or takes over), d what it declares. */
static int
mf_apply_repos(struct mf_writer *wr, const struct mf_live *l, const struct mf_repo *have,
               size_t nhave, const struct mf_workspace *d)
{
	char *matched = xcalloc(nhave + 1, 1);
	long *match = xcalloc(d->nrepos + 1, sizeof *match);
	struct mf_rows hrows, drows;
	char id[32];
	int rc = -1;

	hrows = MF_ROWS(have, nhave, struct mf_repo, name);
	drows = MF_ROWS(d->repos, d->nrepos, struct mf_repo, name);
	mf_apply_pair(&hrows, &drows, matched, match);
	if (mf_apply_delete_unpaired(wr, "DELETE FROM vibn_workspace_repos WHERE id = $1", &hrows,
	                             matched) != 0)
		goto fail;
	for (size_t i = 0; i < d->nrepos; i++) {
		const struct mf_repo *dr = &d->repos[i], *hr;
		const char *p[5] = {id, dr->name, mf_tf(dr->private), dr->description,
		                    dr->default_branch};

		if (match[i] >= 0) {
			hr = &have[match[i]];
			if (!hr->take_over && strcmp(hr->name, dr->name) == 0 &&
			    hr->private == dr->private &&
			    strcmp(hr->description, dr->description) == 0 &&
			    strcmp(hr->default_branch, dr->default_branch) == 0)
				continue;
			snprintf(id, sizeof id, "%lld", hr->id);
			if (mf_apply_exec(
			        wr,
			        "UPDATE vibn_workspace_repos SET name = $2, private = $3, "
			        "description = $4, default_branch = $5, managed_by = 'manifest', "
			        "updated_at = now() WHERE id = $1",
			        5, p) != 0)
				goto fail;
		} else {
			p[0] = l->id;
			if (mf_apply_exec(wr,
			                  "INSERT INTO vibn_workspace_repos (workspace_id, name, "
			                  "private, description, default_branch, managed_by) "
			                  "VALUES ($1, $2, $3, $4, $5, 'manifest')",
			                  5, p) != 0)
				goto fail;
		}
	}
	rc = 0;
fail:
	free(matched);
	free(match);
	return rc;
}

/* Apps: have are the rows the manifest owns (or takes over), d what it declares. */
static int
mf_apply_apps(struct mf_writer *wr, const struct mf_live *l, const struct mf_app *have,
              size_t nhave, const struct mf_workspace *d)
{
	char *matched = xcalloc(nhave + 1, 1);
	long *match = xcalloc(d->napps + 1, sizeof *match);
	struct mf_rows hrows, drows;
	char id[32];
	int rc = -1;

	hrows = MF_ROWS(have, nhave, struct mf_app, name);
	drows = MF_ROWS(d->apps, d->napps, struct mf_app, name);
	mf_apply_pair(&hrows, &drows, matched, match);
	if (mf_apply_delete_unpaired(wr, "DELETE FROM vibn_workspace_apps WHERE id = $1", &hrows,
	                             matched) != 0)
		goto fail;
	for (size_t i = 0; i < d->napps; i++) {
		const struct mf_app *da = &d->apps[i], *ha;
		const char *p[6] = {id, da->name, da->repo, da->branch, da->build_pack, da->ports};

		if (match[i] >= 0) {
			ha = &have[match[i]];
			if (!ha->take_over && strcmp(ha->name, da->name) == 0 &&
			    strcmp(ha->repo, da->repo) == 0 &&
			    strcmp(ha->branch, da->branch) == 0 &&
			    strcmp(ha->build_pack, da->build_pack) == 0 &&
			    strcmp(ha->ports, da->ports) == 0)
				continue;
			snprintf(id, sizeof id, "%lld", ha->id);
			if (mf_apply_exec(
			        wr,
			        "UPDATE vibn_workspace_apps SET name = $2, repo = $3, "
			        "branch = $4, build_pack = $5, ports = $6, "
			        "managed_by = 'manifest', updated_at = now() WHERE id = $1",
			        6, p) != 0)
				goto fail;
		} else {
			p[0] = l->id;
			if (mf_apply_exec(
			        wr,
			        "INSERT INTO vibn_workspace_apps (workspace_id, name, repo, "
			        "branch, build_pack, ports, managed_by) "
			        "VALUES ($1, $2, $3, $4, $5, $6, 'manifest')",
			        6, p) != 0)
				goto fail;
		}
	}
	rc = 0;
fail:
	free(matched);
	free(match);
	return rc;
}

/* Inserts a new workspace row and records its id in l (which describes nothing stored:
 * every child then counts as an insert). */
static int
mf_apply_create(struct mf_writer *wr, const struct mf_workspace *d, const char *applyset,
                struct mf_live *l)
{
	char q[QUOTA_KINDS][24], *labels = mf_apply_labels_json(d);
	const char *p[11] = {d->slug,
	                     d->display_name,
	                     d->owner,
	                     mf_tf(d->prune_members),
	                     d->deletion_policy,
	                     mf_tf(d->paused),
	                     labels};
	PGresult *res;

	for (int k = 0; k < QUOTA_KINDS; k++)
		p[7 + k] = mf_apply_quota_param(d->quota[k], q[k], sizeof q[k]);
	p[10] = applyset;
	wr->count++;
	if (!wr->write) {
		free(labels);
		l->id = xstrdup("00000000-0000-0000-0000-000000000000");
		return 0;
	}
	res = db_exec(wr->conn,
	              "INSERT INTO vibn_workspaces (slug, name, owner, prune_members, "
	              "deletion_policy, paused, source, manifest_labels, quota_repos, quota_apps, "
	              "quota_projects, apply_set) VALUES ($1, $2, $3, $4, $5, $6, 'manifest', "
	              "$7::jsonb, $8, $9, $10, $11) RETURNING id",
	              11, p, wr->cause);
	free(labels);
	if (res == NULL)
		return -1;
	l->id = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* Appends "kind name" to a comma list. */
static void
mf_apply_list_add(struct buf *b, const char *kind, const char *name)
{
	buf_printf(b, "%s%s %s", b->len > 0 ? ", " : "", kind, name);
}

static const struct mf_repo *
mf_apply_find_repo(const struct mf_repo *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

static const struct mf_app *
mf_apply_find_app(const struct mf_app *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* What one workspace's apply pairs against: the manifest's own rows plus the API's rows it
 * takes over (shallow views: the strings stay live's), and the API's rows it leaves. */
struct mf_owned {
	struct mf_repo *repos; /* manifest-owned and taken over */
	size_t nrepos;
	struct mf_app *apps;
	size_t napps;
	size_t ntaken;
	struct buf taken;     /* "repo shop, app shop": taken over */
	struct buf conflicts; /* declared, owned by the API, not taken over */
};

static void
mf_owned_free(struct mf_owned *o)
{
	free(o->repos);
	free(o->apps);
	buf_free(&o->taken);
	buf_free(&o->conflicts);
}

/* Splits live's API-owned rows between those d declares (taken over with force, conflicts
 * otherwise) and the rest (left alone, and listed in d as API-owned for diff). */
static void
mf_apply_owners(const struct mf_live *l, struct mf_workspace *d, int force, struct mf_owned *o)
{
	const struct mf_workspace *h = &l->w;

	memset(o, 0, sizeof *o);
	buf_init(&o->taken);
	buf_init(&o->conflicts);
	o->repos = xcalloc(h->nrepos + l->napi_repos + 1, sizeof *o->repos);
	if (h->nrepos > 0) /* a new workspace has no arrays at all */
		memcpy(o->repos, h->repos, h->nrepos * sizeof *h->repos);
	o->nrepos = h->nrepos;
	o->apps = xcalloc(h->napps + l->napi_apps + 1, sizeof *o->apps);
	if (h->napps > 0)
		memcpy(o->apps, h->apps, h->napps * sizeof *h->apps);
	o->napps = h->napps;
	d->api_repos = xcalloc(l->napi_repos + 1, sizeof *d->api_repos);
	d->api_apps = xcalloc(l->napi_apps + 1, sizeof *d->api_apps);
	for (size_t i = 0; i < h->napi_repos; i++) {
		const struct mf_api_owned *a = &h->api_repos[i];
		const struct mf_repo *row =
		    mf_apply_find_repo(l->api_repos, l->napi_repos, a->name);
		struct mf_api_owned *keep;

		if (mf_apply_find_repo(d->repos, d->nrepos, a->name) != NULL) {
			mf_apply_list_add(force ? &o->taken : &o->conflicts, "repo", a->name);
			if (force && row != NULL) {
				o->repos[o->nrepos] = *row;
				o->repos[o->nrepos++].take_over = 1;
				o->ntaken++;
			}
			continue;
		}
		keep = &d->api_repos[d->napi_repos++];
		keep->name = xstrdup(a->name);
		keep->project = a->project ? xstrdup(a->project) : NULL;
	}
	for (size_t i = 0; i < h->napi_apps; i++) {
		const struct mf_api_owned *a = &h->api_apps[i];
		const struct mf_app *row = mf_apply_find_app(l->api_apps, l->napi_apps, a->name);
		struct mf_api_owned *keep;

		if (mf_apply_find_app(d->apps, d->napps, a->name) != NULL) {
			mf_apply_list_add(force ? &o->taken : &o->conflicts, "app", a->name);
			if (force && row != NULL) {
				o->apps[o->napps] = *row;
				o->apps[o->napps++].take_over = 1;
				o->ntaken++;
			}
			continue;
		}
		keep = &d->api_apps[d->napi_apps++];
		keep->name = xstrdup(a->name);
		keep->repo = xstrdup(a->repo);
		keep->project = a->project ? xstrdup(a->project) : NULL;
	}
}

/* An app the API keeps must keep its repo: refuses undeclaring a repo of the manifest's
 * that one builds from. Returns a new error message, or NULL. */
static char *
mf_apply_repo_users(const struct mf_owned *o, const struct mf_workspace *d)
{
	for (size_t i = 0; i < d->napi_apps; i++) {
		const char *repo = d->api_apps[i].repo;

		if (mf_apply_find_repo(o->repos, o->nrepos, repo) != NULL &&
		    mf_apply_find_repo(d->repos, d->nrepos, repo) == NULL)
			return xasprintf(
			    "workspace/%s: repo %s is used by app %s, which the API "
			    "owns; keep the repo in the manifest, or delete the app first",
			    d->slug, repo, d->api_apps[i].name);
	}
	return NULL;
}

/* The repos and apps the workspace ends up with must fit its quotas (spec.quotas, else the
 * defaults), unless it has as many already: a lowered limit refuses growth, not the rest.
 * Returns a new error message, or NULL. */
static char *
mf_apply_quotas(const struct mf_live *l, const struct mf_workspace *d,
                const struct quota_limits *def)
{
	long want[2] = {(long)(d->nrepos + d->napi_repos), (long)(d->napps + d->napi_apps)};
	long have[2] = {(long)(l->w.nrepos + l->napi_repos), (long)(l->w.napps + l->napi_apps)};
	enum quota_kind kinds[2] = {QUOTA_REPOS, QUOTA_APPS};

	for (int i = 0; i < 2; i++) {
		long limit = d->quota[kinds[i]] >= 0 ? d->quota[kinds[i]] : def->v[kinds[i]];

		if (want[i] > limit && want[i] > have[i])
			return quota_message(kinds[i], d->slug, want[i], limit,
			                     d->quota[kinds[i]] >= 0);
	}
	return NULL;
}

/* Plans (and with write, applies) one workspace. */
static int
mf_apply_one(PGconn *conn, const struct mf_workspace *want, const struct mf_apply_opts *opts,
             struct mf_change *ch, char **cause)
{
	int write = (opts->flags & MF_APPLY_WRITE) != 0,
	    force = (opts->flags & MF_APPLY_FORCE) != 0;
	struct quota_limits builtin;
	struct mf_live live;
	struct mf_workspace d;
	struct mf_owned own;
	struct mf_writer wr = {conn, write, 0, cause};
	char *have_text = NULL, *want_text = NULL, *label_a, *label_b;
	int rc = -1;

	ch->want = want;
	if (mf_apply_load(conn, want->slug, &live, cause) != 0) {
		mf_live_free(&live);
		return -1;
	}
	if (live.exists && live.deleting) {
		ch->error = xasprintf("workspace/%s is being deleted; apply it again once it is "
		                      "gone (vibnctl get workspaces)",
		                      want->slug);
		mf_live_free(&live);
		return 0;
	}
	if (live.exists && strcmp(live.source, "manifest") != 0) {
		ch->error = xasprintf("workspace/%s exists and was created by %s; manifests "
		                      "manage only the workspaces they created",
		                      want->slug, live.source);
		mf_live_free(&live);
		return 0;
	}
	if (live.exists && opts->applyset != NULL && live.apply_set != NULL &&
	    strcmp(live.apply_set, opts->applyset) != 0 && !force) {
		ch->error = xasprintf("workspace/%s belongs to apply set %s, not %s: apply it with "
		                      "--applyset %s, or move it with --force-conflicts",
		                      want->slug, live.apply_set, opts->applyset, live.apply_set);
		mf_live_free(&live);
		return 0;
	}
	mf_apply_desired(want, &d);
	mf_apply_owners(&live, &d, force, &own);
	if (own.conflicts.len > 0) {
		ch->error =
		    xasprintf("workspace/%s: %s %s owned by the API (made through the API or "
		              "MCP) and apply leaves %s alone: remove %s from the manifest, "
		              "or take %s over with --force-conflicts",
		              want->slug, buf_str(&own.conflicts),
		              strchr(buf_str(&own.conflicts), ',') ? "are" : "is",
		              strchr(buf_str(&own.conflicts), ',') ? "them" : "it",
		              strchr(buf_str(&own.conflicts), ',') ? "them" : "it",
		              strchr(buf_str(&own.conflicts), ',') ? "them" : "it");
		rc = 0;
		goto fail;
	}
	quota_builtin(&builtin);
	if ((ch->error = mf_apply_repo_users(&own, &d)) != NULL ||
	    (ch->error = mf_apply_quotas(&live, &d, opts->quota ? opts->quota : &builtin)) !=
	        NULL) {
		rc = 0;
		goto fail;
	}
	if (own.ntaken > 0)
		ch->note = xasprintf("took over from the API: %s", buf_str(&own.taken));
	if (d.napi_repos + d.napi_apps > 0) {
		struct buf b;

		buf_init(&b);
		for (size_t i = 0; i < d.napi_repos; i++)
			mf_apply_list_add(&b, "repo", d.api_repos[i].name);
		for (size_t i = 0; i < d.napi_apps; i++)
			mf_apply_list_add(&b, "app", d.api_apps[i].name);
		ch->api_owned = buf_release(&b);
	}
	if (!live.exists) {
		ch->action = MF_ACTION_CREATE;
		if (mf_apply_create(&wr, &d, opts->applyset, &live) != 0)
			goto fail;
	} else if (mf_apply_workspace_row(&wr, &live, &d, opts->applyset) != 0) {
		goto fail;
	}
	if (mf_apply_members(&wr, &live, &d) != 0 ||
	    mf_apply_repos(&wr, &live, own.repos, own.nrepos, &d) != 0 ||
	    mf_apply_apps(&wr, &live, own.apps, own.napps, &d) != 0)
		goto fail;
	if (live.exists)
		ch->action = wr.count > 0 ? MF_ACTION_CONFIGURE : MF_ACTION_UNCHANGED;
	mf_diff_sort(&d);
	want_text = mf_diff_render(&d);
	if (live.exists)
		have_text = mf_diff_render(&live.w);
	label_a = xasprintf("workspace/%s (live)", want->slug);
	label_b = xasprintf("workspace/%s (manifest %s)", want->slug, want->file);
	ch->diff =
	    mf_diff_unified(live.exists ? label_a : "/dev/null", have_text, label_b, want_text);
	free(label_a);
	free(label_b);
	rc = 0;
fail:
	free(have_text);
	free(want_text);
	mf_owned_free(&own);
	mf_spec_workspace_free(&d);
	mf_live_free(&live);
	return rc;
}

/* The set's slugs as a Postgres text[] literal (slugs need no quoting: [a-z0-9-]). */
static char *
mf_apply_slug_array(const struct mf_set *set)
{
	struct buf b;

	buf_init(&b);
	buf_putc(&b, '{');
	for (size_t i = 0; i < set->n; i++) {
		if (i > 0)
			buf_putc(&b, ',');
		buf_puts(&b, set->v[i].slug);
	}
	buf_putc(&b, '}');
	return buf_release(&b);
}

static int
mf_apply_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prunes within the scope of opts: what earlier applies created (never signup or API
 * workspaces), not already going away, not declared now, and in the apply set or matching
 * the selector when one is given. */
static int
mf_apply_prune(PGconn *conn, const struct mf_set *set, const struct mf_apply_opts *opts,
               struct mf_plan *plan, char **cause)
{
	char *slugs = mf_apply_slug_array(set);
	const char *p[2] = {slugs, opts->applyset};
	struct buf chosen;
	PGresult *res;
	int rc = -1;

	res = db_exec(conn,
	              "SELECT slug, manifest_labels::text FROM vibn_workspaces WHERE source = "
	              "'manifest' AND deleted_at IS NULL AND slug <> ALL($1::text[]) "
	              "AND ($2::text IS NULL OR apply_set = $2) ORDER BY slug",
	              2, p, cause);
	free(slugs);
	if (res == NULL)
		return -1;
	buf_init(&chosen);
	buf_putc(&chosen, '{');
	plan->pruned = xcalloc((size_t)PQntuples(res) + 1, sizeof *plan->pruned);
	for (int r = 0; r < PQntuples(res); r++) {
		struct mf_workspace w;

		memset(&w, 0, sizeof w);
		mf_apply_labels(PQgetvalue(res, r, 1), &w);
		if (opts->selector == NULL ||
		    mf_select_matches(opts->selector, w.labels, w.nlabels)) {
			plan->pruned[plan->npruned++] = xstrdup(PQgetvalue(res, r, 0));
			buf_printf(&chosen, "%s%s", plan->npruned > 1 ? "," : "",
			           PQgetvalue(res, r, 0));
		}
		mf_spec_workspace_free(&w);
	}
	PQclear(res);
	buf_putc(&chosen, '}');
	p[0] = buf_str(&chosen);
	if ((opts->flags & MF_APPLY_WRITE) && plan->npruned > 0 &&
	    db_command(conn,
	               "UPDATE vibn_workspaces SET deleted_at = now() WHERE slug = "
	               "ANY($1::text[]) AND deleted_at IS NULL",
	               1, p, cause) != 0)
		goto out;
	qsort(plan->pruned, plan->npruned, sizeof *plan->pruned, mf_apply_strcmp);
	rc = 0;
out:
	buf_free(&chosen);
	return rc;
}

int
mf_apply_run(PGconn *conn, const struct mf_set *set, const struct mf_apply_opts *opts,
             struct mf_plan *plan, char **cause)
{
	int write = (opts->flags & MF_APPLY_WRITE) != 0;
	char *err = NULL;

	memset(plan, 0, sizeof *plan);
	*cause = NULL;
	plan->v = xcalloc(set->n + 1, sizeof *plan->v);
	if ((opts->flags & MF_APPLY_PRUNE) && !opts->prune_all && opts->selector == NULL &&
	    opts->applyset == NULL) {
		*cause = xstrdup("prune needs a scope: all, a label selector or an apply set");
		return -1;
	}
	if (db_command(conn, "BEGIN", 0, NULL, cause) != 0)
		return -1;
	if (db_command(conn, "SELECT pg_advisory_xact_lock(" MF_APPLY_LOCK_KEY ")", 0, NULL,
	               cause) != 0)
		goto fail;
	for (size_t i = 0; i < set->n; i++) {
		const struct mf_workspace *w = &set->v[i];

		/* A selector scopes what is applied too (kubectl's -l). */
		if (opts->selector != NULL &&
		    !mf_select_matches(opts->selector, w->labels, w->nlabels)) {
			plan->v[i].want = w;
			plan->v[i].action = MF_ACTION_SKIPPED;
			plan->n++;
			continue;
		}
		/* Every workspace is planned, so that every conflict is reported at once. */
		if (mf_apply_one(conn, w, opts, &plan->v[i], cause) != 0)
			goto fail;
		plan->n++;
		if (plan->v[i].error != NULL)
			plan->errors++;
	}
	if ((opts->flags & MF_APPLY_PRUNE) && mf_apply_prune(conn, set, opts, plan, cause) != 0)
		goto fail;
	if (plan->errors > 0) {
		*cause = xasprintf("%zu workspace%s cannot be applied; nothing was written",
		                   plan->errors, plan->errors == 1 ? "" : "s");
		goto fail;
	}
	if (db_command(conn, write ? "COMMIT" : "ROLLBACK", 0, NULL, cause) != 0)
		return -1;
	return 0;
fail:
	if (db_command(conn, "ROLLBACK", 0, NULL, &err) != 0)
		free(err);
	return -1;
}
