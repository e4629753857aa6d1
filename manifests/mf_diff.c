#include "mf_diff.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "manifests/mf_yaml.h"

#define MF_DIFF_CONTEXT   3
#define MF_DIFF_MAX_CELLS (4u << 20) /* beyond this, a changed middle is shown whole */

/* Whether s can be written as a plain YAML scalar and read back as the same string: not
 * something a reader would type (mf_yaml_needs_quotes), and, as there is no emitter here to
 * choose a style, only characters that are plain anywhere. */
static int
mf_diff_plain_ok(const char *s)
{
	if (mf_yaml_needs_quotes(s) || s[0] == ' ' || s[strlen(s) - 1] == ' ' || s[0] == '@')
		return 0;
	for (const char *p = s; *p != '\0'; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr(" _./@+-", c) != NULL))
			return 0;
	}
	return 1;
}

static void
mf_diff_scalar(struct buf *b, const char *s)
{
	if (mf_diff_plain_ok(s)) {
		buf_puts(b, s);
		return;
	}
	buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			buf_puts(b, "\\n");
		else if (*p == '\t')
			buf_puts(b, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			buf_printf(b, "\\x%02x", *p);
		else
			buf_putc(b, (char)*p);
	}
	buf_putc(b, '"');
}

static void
mf_diff_field(struct buf *b, const char *indent, const char *key, const char *value)
{
	buf_printf(b, "%s%s: ", indent, key);
	mf_diff_scalar(b, value);
	buf_putc(b, '\n');
}

char *
mf_diff_render(const struct mf_workspace *w)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "metadata:\n");
	mf_diff_field(&b, "  ", "name", w->slug);
	if (w->nlabels > 0)
		buf_puts(&b, "  labels:\n");
	for (size_t i = 0; i < w->nlabels; i++)
		mf_diff_field(&b, "    ", w->labels[i].key, w->labels[i].value);
	buf_puts(&b, "spec:\n");
	mf_diff_field(&b, "  ", "displayName", w->display_name);
	mf_diff_field(&b, "  ", "owner", w->owner);
	buf_puts(&b, w->nmembers ? "  members:\n" : "  members: []\n");
	for (size_t i = 0; i < w->nmembers; i++) {
		mf_diff_field(&b, "  - ", "user", w->members[i].user);
		if (w->members[i].gitea_user != NULL)
			mf_diff_field(&b, "    ", "giteaUser", w->members[i].gitea_user);
		mf_diff_field(&b, "    ", "role", w->members[i].role);
	}
	buf_puts(&b, w->nrepos ? "  repos:\n" : "  repos: []\n");
	for (size_t i = 0; i < w->nrepos; i++) {
		const struct mf_repo *r = &w->repos[i];

		mf_diff_field(&b, "  - ", "name", r->name);
		buf_printf(&b, "    private: %s\n", r->private ? "true" : "false");
		mf_diff_field(&b, "    ", "description", r->description);
		mf_diff_field(&b, "    ", "defaultBranch", r->default_branch);
	}
	buf_puts(&b, w->napps ? "  apps:\n" : "  apps: []\n");
	for (size_t i = 0; i < w->napps; i++) {
		const struct mf_app *a = &w->apps[i];

		mf_diff_field(&b, "  - ", "name", a->name);
		mf_diff_field(&b, "    ", "repo", a->repo);
		mf_diff_field(&b, "    ", "branch", a->branch);
		mf_diff_field(&b, "    ", "buildPack", a->build_pack);
		mf_diff_field(&b, "    ", "ports", a->ports);
	}
	if (w->napi_repos + w->napi_apps > 0)
		buf_puts(
		    &b,
		    "  # owned by the API (made through the API or MCP): apply and --prune leave\n"
		    "  # them alone; declaring one here with --force-conflicts takes it over\n");
	for (size_t i = 0; i < w->napi_repos; i++)
		buf_printf(&b, "  #   repo %s%s%s%s\n", w->api_repos[i].name,
		           w->api_repos[i].project ? " (project " : "",
		           w->api_repos[i].project ? w->api_repos[i].project : "",
		           w->api_repos[i].project ? ")" : "");
	for (size_t i = 0; i < w->napi_apps; i++)
		buf_printf(&b, "  #   app %s (from repo %s)%s%s%s\n", w->api_apps[i].name,
		           w->api_apps[i].repo, w->api_apps[i].project ? " (project " : "",
		           w->api_apps[i].project ? w->api_apps[i].project : "",
		           w->api_apps[i].project ? ")" : "");
	for (int k = 0, any = 0; k < QUOTA_KINDS; k++) {
		if (w->quota[k] < 0)
			continue;
		if (!any++)
			buf_puts(&b, "  quotas:\n");
		buf_printf(&b, "    %s: %ld\n", quota_name(k), w->quota[k]);
	}
	buf_printf(&b, "  pruneMembers: %s\n", w->prune_members ? "true" : "false");
	mf_diff_field(&b, "  ", "deletionPolicy", w->deletion_policy);
	buf_printf(&b, "  paused: %s\n", w->paused ? "true" : "false");
	return buf_release(&b);
}

/* qsort has no context argument: the owner being sorted around is kept here. The CLI is
 * single-threaded; the daemon does not sort manifests. */
static const char *mf_diff_sort_owner;

static int
mf_diff_member_cmp(const void *pa, const void *pb)
{
	const struct mf_member *a = pa, *b = pb;
	int ao = mf_diff_sort_owner && strcasecmp(a->user, mf_diff_sort_owner) == 0;
	int bo = mf_diff_sort_owner && strcasecmp(b->user, mf_diff_sort_owner) == 0;
	int c;

	if (ao != bo)
		return bo - ao;
	if ((c = strcasecmp(a->user, b->user)) != 0)
		return c;
	return strcmp(a->user, b->user);
}

static int
mf_diff_repo_cmp(const void *pa, const void *pb)
{
	const struct mf_repo *a = pa, *b = pb;
	int c = strcasecmp(a->name, b->name);

	return c ? c : strcmp(a->name, b->name);
}

static int
mf_diff_app_cmp(const void *pa, const void *pb)
{
	const struct mf_app *a = pa, *b = pb;
	int c = strcasecmp(a->name, b->name);

	return c ? c : strcmp(a->name, b->name);
}

static int
mf_diff_api_cmp(const void *pa, const void *pb)
{
	const struct mf_api_owned *a = pa, *b = pb;
	int c = strcasecmp(a->name, b->name);

	return c ? c : strcmp(a->name, b->name);
}

void
mf_diff_sort(struct mf_workspace *w)
{
	mf_diff_sort_owner = w->owner;
	if (w->nmembers > 1)
		qsort(w->members, w->nmembers, sizeof *w->members, mf_diff_member_cmp);
	mf_diff_sort_owner = NULL;
	if (w->nrepos > 1)
		qsort(w->repos, w->nrepos, sizeof *w->repos, mf_diff_repo_cmp);
	if (w->napps > 1)
		qsort(w->apps, w->napps, sizeof *w->apps, mf_diff_app_cmp);
	if (w->napi_repos > 1)
		qsort(w->api_repos, w->napi_repos, sizeof *w->api_repos, mf_diff_api_cmp);
	if (w->napi_apps > 1)
		qsort(w->api_apps, w->napi_apps, sizeof *w->api_apps, mf_diff_api_cmp);
}

struct mf_lines {
	const char **v; /* borrowed from the split copy */
	size_t n;
	char *copy;
};

static void
mf_diff_split(const char *text, struct mf_lines *l)
{
	char *p;

	l->v = NULL;
	l->n = 0;
	l->copy = xstrdup(text ? text : "");
	p = l->copy;
	while (*p != '\0') {
		char *nl = strchr(p, '\n');

		l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
		l->v[l->n++] = p;
		if (nl == NULL)
			break;
		*nl = '\0';
		p = nl + 1;
	}
}

/* One edit script entry: ' ' keep, '-' delete a line of a, '+' insert a line of b. */
struct mf_op {
	char kind;
	const char *line;
	size_t ai; /* line number in a (0-based) this op is at */
	size_t bi;
};

/* The edit script from a to b: common prefix and suffix, and an LCS of what is between
 * (or, when that is too large to tabulate, all of it replaced). */
static struct mf_op *
mf_diff_script(const struct mf_lines *a, const struct mf_lines *b, size_t *nops)
{
	size_t pre = 0, suf = 0, n, m, k = 0;
	struct mf_op *ops = xcalloc(a->n + b->n + 1, sizeof *ops);
	unsigned *t = NULL;

	while (pre < a->n && pre < b->n && strcmp(a->v[pre], b->v[pre]) == 0)
		pre++;
	while (suf < a->n - pre && suf < b->n - pre &&
	       strcmp(a->v[a->n - 1 - suf], b->v[b->n - 1 - suf]) == 0)
		suf++;
	n = a->n - pre - suf;
	m = b->n - pre - suf;
	for (size_t i = 0; i < pre; i++)
		ops[k++] = (struct mf_op){' ', a->v[i], i, i};
	if (n > 0 && m > 0 && (n + 1) * (m + 1) <= MF_DIFF_MAX_CELLS) {
		/* t[i][j] = LCS length of a[pre+i..] and b[pre+j..]. */
		t = xcalloc((n + 1) * (m + 1), sizeof *t);
		for (size_t i = n; i-- > 0;)
			for (size_t j = m; j-- > 0;)
				t[i * (m + 1) + j] =
				    strcmp(a->v[pre + i], b->v[pre + j]) == 0
				        ? t[(i + 1) * (m + 1) + j + 1] + 1
				    : t[(i + 1) * (m + 1) + j] > t[i * (m + 1) + j + 1]
				        ? t[(i + 1) * (m + 1) + j]
				        : t[i * (m + 1) + j + 1];
	}
	{
		size_t i = 0, j = 0;

		while (i < n || j < m) {
			if (t && i < n && j < m && strcmp(a->v[pre + i], b->v[pre + j]) == 0) {
				ops[k++] = (struct mf_op){' ', a->v[pre + i], pre + i, pre + j};
				i++;
				j++;
			} else if (i < n && (j == m || !t ||
			                     t[(i + 1) * (m + 1) + j] >= t[i * (m + 1) + j + 1])) {
				ops[k++] = (struct mf_op){'-', a->v[pre + i], pre + i, pre + j};
				i++;
			} else {
				ops[k++] = (struct mf_op){'+', b->v[pre + j], pre + i, pre + j};
				j++;
			}
		}
	}
	for (size_t i = 0; i < suf; i++)
		ops[k++] =
		    (struct mf_op){' ', a->v[a->n - suf + i], a->n - suf + i, b->n - suf + i};
	free(t);
	*nops = k;
	return ops;
}

static void
mf_diff_hunk(struct buf *out, const struct mf_op *ops, size_t from, size_t to)
{
	size_t na = 0, nb = 0;

	for (size_t i = from; i < to; i++) {
		na += ops[i].kind != '+';
		nb += ops[i].kind != '-';
	}
	/* Unified diff numbers lines from 1, and a range of 0 lines names the line before. */
	buf_printf(out, "@@ -%zu,%zu +%zu,%zu @@\n", na ? ops[from].ai + 1 : ops[from].ai, na,
	           nb ? ops[from].bi + 1 : ops[from].bi, nb);
	for (size_t i = from; i < to; i++)
		buf_printf(out, "%c%s\n", ops[i].kind, ops[i].line);
}

char *
mf_diff_unified(const char *label_a, const char *a, const char *label_b, const char *b)
{
	struct mf_lines la, lb;
	struct mf_op *ops;
	struct buf out;
	size_t nops, i = 0;
	int changed = 0;

	mf_diff_split(a, &la);
	mf_diff_split(b, &lb);
	ops = mf_diff_script(&la, &lb, &nops);
	buf_init(&out);
	buf_printf(&out, "--- %s\n+++ %s\n", label_a, label_b);
	while (i < nops) {
		size_t start, end, last;

		while (i < nops && ops[i].kind == ' ')
			i++;
		if (i == nops)
			break;
		changed = 1;
		/* Grow the hunk while the next change is within twice the context. */
		start = i > MF_DIFF_CONTEXT ? i - MF_DIFF_CONTEXT : 0;
		last = i;
		for (end = i; end < nops; end++) {
			if (ops[end].kind != ' ')
				last = end;
			else if (end - last > 2 * MF_DIFF_CONTEXT)
				break;
		}
		end = last + 1 + MF_DIFF_CONTEXT < nops ? last + 1 + MF_DIFF_CONTEXT : nops;
		mf_diff_hunk(&out, ops, start, end);
		i = end;
	}
	free(ops);
	free(la.v);
	free(la.copy);
	free(lb.v);
	free(lb.copy);
	if (!changed) {
		buf_free(&out);
		return NULL;
	}
	return buf_release(&out);
}
