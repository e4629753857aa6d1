#include "mf_apply.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clients/db.h"
#include "manifests/mf_diff.h"
#include "common/buf.h"
#include "common/xmalloc.h"

/* Serializes applies with each other: "vibnaply" as an int64. */
#define MF_APPLY_LOCK_KEY "8532475893596316025"

/* What is stored for one slug. */
struct mf_live {
	int exists;
	int deleting;
	char *id;
	char *source;
	struct mf_workspace w;
};

const char *
mf_apply_action_name(enum mf_action a)
{
	switch (a) {
	case MF_ACTION_CREATE:
		return "created";
	case MF_ACTION_CONFIGURE:
		return "configured";
	case MF_ACTION_UNCHANGED:
		break;
	}
	return "unchanged";
}

void
mf_apply_plan_free(struct mf_plan *plan)
{
	for (size_t i = 0; i < plan->n; i++) {
		free(plan->v[i].diff);
		free(plan->v[i].error);
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
	mf_spec_workspace_free(&l->w);
	memset(l, 0, sizeof *l);
}

/* Reads the stored desired state of slug into *l (l->exists 0 when there is none). */
static int
mf_apply_load(PGconn *conn, const char *slug, struct mf_live *l, char **cause)
{
	const char *p[1] = {slug};
	PGresult *res;
	struct mf_workspace *w = &l->w;

	memset(l, 0, sizeof *l);
	res = db_exec(conn,
	              "SELECT id, name, owner, prune_members, deletion_policy, paused, source, "
	              "deleted_at IS NOT NULL FROM vibn_workspaces WHERE slug = $1 FOR UPDATE",
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

	res = db_exec(conn,
	              "SELECT id, name, private, description, default_branch "
	              "FROM vibn_workspace_repos WHERE workspace_id = $1",
	              1, p, cause);
	if (res == NULL)
		return -1;
	w->repos = xcalloc((size_t)PQntuples(res) + 1, sizeof *w->repos);
	for (int r = 0; r < PQntuples(res); r++) {
		struct mf_repo *rp = &w->repos[w->nrepos++];

		rp->id = atoll(PQgetvalue(res, r, 0));
		rp->name = db_text_dup(res, r, 1);
		rp->private = db_bool(res, r, 2);
		rp->description = db_text_dup(res, r, 3);
		rp->default_branch = db_text_dup(res, r, 4);
	}
	PQclear(res);

	res = db_exec(conn,
	              "SELECT id, name, repo, branch, build_pack, ports "
	              "FROM vibn_workspace_apps WHERE workspace_id = $1",
	              1, p, cause);
	if (res == NULL)
		return -1;
	w->apps = xcalloc((size_t)PQntuples(res) + 1, sizeof *w->apps);
	for (int r = 0; r < PQntuples(res); r++) {
		struct mf_app *a = &w->apps[w->napps++];

		a->id = atoll(PQgetvalue(res, r, 0));
		a->name = db_text_dup(res, r, 1);
		a->repo = db_text_dup(res, r, 2);
		a->branch = db_text_dup(res, r, 3);
		a->build_pack = db_text_dup(res, r, 4);
		a->ports = db_text_dup(res, r, 5);
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
mf_apply_workspace_row(struct mf_writer *wr, const struct mf_live *l, const struct mf_workspace *d)
{
	const struct mf_workspace *h = &l->w;
	const char *p[6] = {
	    l->id,           d->display_name, d->owner, mf_tf(d->prune_members), d->deletion_policy,
	    mf_tf(d->paused)};

	if (strcmp(h->display_name, d->display_name) == 0 && strcmp(h->owner, d->owner) == 0 &&
	    h->prune_members == d->prune_members &&
	    strcmp(h->deletion_policy, d->deletion_policy) == 0 && h->paused == d->paused)
		return 0;
	return mf_apply_exec(
	    wr,
	    "UPDATE vibn_workspaces SET name = $2, owner = $3, prune_members = $4, "
	    "deletion_policy = $5, paused = $6 WHERE id = $1",
	    6, p);
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

static int
mf_apply_repos(struct mf_writer *wr, const struct mf_live *l, const struct mf_workspace *d)
{
	const struct mf_workspace *h = &l->w;
	char *matched = xcalloc(h->nrepos + 1, 1);
	long *match = xcalloc(d->nrepos + 1, sizeof *match);
	struct mf_rows hrows, drows;
	char id[32];
	int rc = -1;

	hrows = MF_ROWS(h->repos, h->nrepos, struct mf_repo, name);
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
			hr = &h->repos[match[i]];
			if (strcmp(hr->name, dr->name) == 0 && hr->private == dr->private &&
			    strcmp(hr->description, dr->description) == 0 &&
			    strcmp(hr->default_branch, dr->default_branch) == 0)
				continue;
			snprintf(id, sizeof id, "%lld", hr->id);
			if (mf_apply_exec(
			        wr,
			        "UPDATE vibn_workspace_repos SET name = $2, private = $3, "
			        "description = $4, default_branch = $5, updated_at = now() "
			        "WHERE id = $1",
			        5, p) != 0)
				goto fail;
		} else {
			p[0] = l->id;
			if (mf_apply_exec(wr,
			                  "INSERT INTO vibn_workspace_repos (workspace_id, name, "
			                  "private, description, default_branch) "
			                  "VALUES ($1, $2, $3, $4, $5)",
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

static int
mf_apply_apps(struct mf_writer *wr, const struct mf_live *l, const struct mf_workspace *d)
{
	const struct mf_workspace *h = &l->w;
	char *matched = xcalloc(h->napps + 1, 1);
	long *match = xcalloc(d->napps + 1, sizeof *match);
	struct mf_rows hrows, drows;
	char id[32];
	int rc = -1;

	hrows = MF_ROWS(h->apps, h->napps, struct mf_app, name);
	drows = MF_ROWS(d->apps, d->napps, struct mf_app, name);
	mf_apply_pair(&hrows, &drows, matched, match);
	if (mf_apply_delete_unpaired(wr, "DELETE FROM vibn_workspace_apps WHERE id = $1", &hrows,
	                             matched) != 0)
		goto fail;
	for (size_t i = 0; i < d->napps; i++) {
		const struct mf_app *da = &d->apps[i], *ha;
		const char *p[6] = {id, da->name, da->repo, da->branch, da->build_pack, da->ports};

		if (match[i] >= 0) {
			ha = &h->apps[match[i]];
			if (strcmp(ha->name, da->name) == 0 && strcmp(ha->repo, da->repo) == 0 &&
			    strcmp(ha->branch, da->branch) == 0 &&
			    strcmp(ha->build_pack, da->build_pack) == 0 &&
			    strcmp(ha->ports, da->ports) == 0)
				continue;
			snprintf(id, sizeof id, "%lld", ha->id);
			if (mf_apply_exec(wr,
			                  "UPDATE vibn_workspace_apps SET name = $2, repo = $3, "
			                  "branch = $4, build_pack = $5, ports = $6, "
			                  "updated_at = now() WHERE id = $1",
			                  6, p) != 0)
				goto fail;
		} else {
			p[0] = l->id;
			if (mf_apply_exec(
			        wr,
			        "INSERT INTO vibn_workspace_apps (workspace_id, name, repo, "
			        "branch, build_pack, ports) VALUES ($1, $2, $3, $4, $5, $6)",
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
mf_apply_create(struct mf_writer *wr, const struct mf_workspace *d, struct mf_live *l)
{
	const char *p[6] = {
	    d->slug,         d->display_name, d->owner, mf_tf(d->prune_members), d->deletion_policy,
	    mf_tf(d->paused)};
	PGresult *res;

	wr->count++;
	if (!wr->write) {
		l->id = xstrdup("00000000-0000-0000-0000-000000000000");
		return 0;
	}
	res =
	    db_exec(wr->conn,
	            "INSERT INTO vibn_workspaces (slug, name, owner, prune_members, "
	            "deletion_policy, paused, source) VALUES ($1, $2, $3, $4, $5, $6, 'manifest') "
	            "RETURNING id",
	            6, p, wr->cause);
	if (res == NULL)
		return -1;
	l->id = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* Plans (and with write, applies) one workspace. */
static int
mf_apply_one(PGconn *conn, const struct mf_workspace *want, int write, struct mf_change *ch,
             char **cause)
{
	struct mf_live live;
	struct mf_workspace d;
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
	mf_apply_desired(want, &d);
	if (!live.exists) {
		ch->action = MF_ACTION_CREATE;
		if (mf_apply_create(&wr, &d, &live) != 0)
			goto fail;
	} else if (mf_apply_workspace_row(&wr, &live, &d) != 0) {
		goto fail;
	}
	if (mf_apply_members(&wr, &live, &d) != 0 || mf_apply_repos(&wr, &live, &d) != 0 ||
	    mf_apply_apps(&wr, &live, &d) != 0)
		goto fail;
	if (live.exists)
		ch->action = wr.count > 0 ? MF_ACTION_CONFIGURE : MF_ACTION_UNCHANGED;
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

static int
mf_apply_prune(PGconn *conn, const struct mf_set *set, int write, struct mf_plan *plan,
               char **cause)
{
	char *slugs = mf_apply_slug_array(set);
	const char *p[1] = {slugs};
	PGresult *res;

	/* Only what earlier applies created, and only what is not already going away. */
	res = db_exec(conn,
	              write ? "UPDATE vibn_workspaces SET deleted_at = now() WHERE source = "
	                      "'manifest' AND deleted_at IS NULL AND slug <> ALL($1::text[]) "
	                      "RETURNING slug"
	                    : "SELECT slug FROM vibn_workspaces WHERE source = 'manifest' AND "
	                      "deleted_at IS NULL AND slug <> ALL($1::text[])",
	              1, p, cause);
	free(slugs);
	if (res == NULL)
		return -1;
	plan->npruned = (size_t)PQntuples(res);
	plan->pruned = xcalloc(plan->npruned + 1, sizeof *plan->pruned);
	for (int r = 0; r < PQntuples(res); r++)
		plan->pruned[r] = xstrdup(PQgetvalue(res, r, 0));
	PQclear(res);
	qsort(plan->pruned, plan->npruned, sizeof *plan->pruned, mf_apply_strcmp);
	return 0;
}

int
mf_apply_run(PGconn *conn, const struct mf_set *set, int flags, struct mf_plan *plan, char **cause)
{
	int write = (flags & MF_APPLY_WRITE) != 0;
	char *err = NULL;

	memset(plan, 0, sizeof *plan);
	*cause = NULL;
	plan->v = xcalloc(set->n + 1, sizeof *plan->v);
	if (db_command(conn, "BEGIN", 0, NULL, cause) != 0)
		return -1;
	if (db_command(conn, "SELECT pg_advisory_xact_lock(" MF_APPLY_LOCK_KEY ")", 0, NULL,
	               cause) != 0)
		goto fail;
	for (size_t i = 0; i < set->n; i++) {
		/* Every workspace is planned, so that every conflict is reported at once. */
		if (mf_apply_one(conn, &set->v[i], write, &plan->v[i], cause) != 0)
			goto fail;
		plan->n++;
		if (plan->v[i].error != NULL)
			plan->errors++;
	}
	if ((flags & MF_APPLY_PRUNE) && mf_apply_prune(conn, set, write, plan, cause) != 0)
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
