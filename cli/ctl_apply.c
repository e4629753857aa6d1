/* vibnctl apply and diff: workspace manifests against the desired-state tables. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "common/xmalloc.h"
#include "manifests/mf_apply.h"
#include "manifests/mf_load.h"

static void
ctl_apply_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: vibnctl apply -f PATH [-f PATH]... [--dry-run] [--prune]\n"
	    "\n"
	    "Applies workspace manifests (apiVersion: vibn/v1, kind: Workspace) to DATABASE_URL\n"
	    "in one transaction: each declared workspace is created, configured or left\n"
	    "unchanged, or, on any error, nothing is written at all.\n"
	    "\n"
	    "  -f, --filename PATH  a file, a directory (recursively: *.yaml and *.yml, sorted by\n"
	    "                       path; dot-entries skipped) or - for stdin; repeatable\n"
	    "      --dry-run        print what would be done; write nothing\n"
	    "      --prune          also delete the workspaces that earlier applies created from\n"
	    "                       manifests and that PATH no longer declares (a soft delete: the\n"
	    "                       daemon cleans up upstream as their deletionPolicy says);\n"
	    "                       signup workspaces are never pruned\n"
	    "  -h, --help           this help\n"
	    "\n"
	    "Prints one line per workspace: workspace/SLUG created|configured|unchanged|pruned.\n"
	    "An unchanged workspace is not written to (no generation bump, no reconcile).\n"
	    "Exit status: 0 applied; 1 invalid manifests (each error printed as\n"
	    "file:line:column: message) or a database failure; 2 usage error.\n");
}

static void
ctl_diff_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: vibnctl diff -f PATH [-f PATH]...\n"
	    "\n"
	    "Shows, per workspace, how applying PATH would change the desired state in\n"
	    "DATABASE_URL, as a unified diff of the canonical manifest (live, then declared).\n"
	    "Writes nothing.\n"
	    "\n"
	    "  -f, --filename PATH  as for apply: a file, a directory or - for stdin; repeatable\n"
	    "  -h, --help           this help\n"
	    "\n"
	    "Exit status (kubectl's): 0 no differences; 1 differences; 2 invalid manifests, a\n"
	    "database failure or a usage error.\n");
}

struct ctl_apply_opts {
	const char **paths;
	size_t npaths;
	int dry_run;
	int prune;
};

/* Parses apply's or diff's flags. Returns CTL_OK, or the exit code to return. */
static int
ctl_apply_args(int argc, char **argv, int is_diff, struct ctl_apply_opts *o)
{
	static const struct option opts[] = {{"filename", required_argument, NULL, 'f'},
	                                     {"dry-run", no_argument, NULL, 'n'},
	                                     {"prune", no_argument, NULL, 'p'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	void (*usage)(FILE *) = is_diff ? ctl_diff_usage : ctl_apply_usage;
	int c;

	memset(o, 0, sizeof *o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->paths = xreallocarray(o->paths, o->npaths + 1, sizeof *o->paths);
			o->paths[o->npaths++] = optarg;
			break;
		case 'n':
		case 'p':
			if (is_diff) {
				ctl_error("diff: --%s is an apply option",
				          c == 'n' ? "dry-run" : "prune");
				return CTL_USAGE;
			}
			if (c == 'n')
				o->dry_run = 1;
			else
				o->prune = 1;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind != argc) {
		ctl_error("%s: unexpected argument \"%s\" (manifests are given with -f)", argv[0],
		          argv[optind]);
		return CTL_USAGE;
	}
	if (o->npaths == 0) {
		ctl_error("%s: -f PATH is required%s", argv[0],
		          o->prune ? " (--prune deletes what PATH does not declare)" : "");
		return CTL_USAGE;
	}
	return CTL_OK;
}

/* Loads and validates; prints every error. Returns 0 with set filled, or -1. */
static int
ctl_apply_load(const struct ctl_apply_opts *o, struct mf_set *set)
{
	struct mf_diags d;
	int rc;

	mf_spec_set_init(set);
	mf_diag_init(&d);
	rc = mf_load_paths(o->paths, o->npaths, set, &d);
	if (rc != 0) {
		mf_diag_print(&d, stderr);
		ctl_error("%zu error%s in the manifests; nothing was written", mf_diag_count(&d),
		          mf_diag_count(&d) == 1 ? "" : "s");
	}
	mf_diag_free(&d);
	return rc;
}

static void
ctl_apply_print_errors(const struct mf_plan *plan, const char *cause)
{
	for (size_t i = 0; i < plan->n; i++)
		if (plan->v[i].error != NULL)
			ctl_error("%s", plan->v[i].error);
	ctl_error("%s", cause);
}

int
ctl_apply(int argc, char **argv)
{
	struct ctl_apply_opts o;
	struct mf_set set;
	struct mf_plan plan;
	PGconn *conn = NULL;
	char *cause = NULL;
	const char *suffix;
	int rc = CTL_FAIL, flags;

	if ((rc = ctl_apply_args(argc, argv, 0, &o)) != CTL_OK) {
		free(o.paths);
		return rc < 0 ? CTL_OK : rc;
	}
	rc = CTL_FAIL;
	if (ctl_apply_load(&o, &set) != 0)
		goto out;
	if ((conn = ctl_connect()) == NULL)
		goto out;
	flags = (o.dry_run ? 0 : MF_APPLY_WRITE) | (o.prune ? MF_APPLY_PRUNE : 0);
	if (mf_apply_run(conn, &set, flags, &plan, &cause) != 0) {
		ctl_apply_print_errors(&plan, cause);
		free(cause);
		mf_apply_plan_free(&plan);
		goto out;
	}
	suffix = o.dry_run ? " (dry run)" : "";
	for (size_t i = 0; i < plan.n; i++)
		printf("workspace/%s %s%s\n", plan.v[i].want->slug,
		       mf_apply_action_name(plan.v[i].action), suffix);
	for (size_t i = 0; i < plan.npruned; i++)
		printf("workspace/%s pruned%s\n", plan.pruned[i], suffix);
	mf_apply_plan_free(&plan);
	rc = CTL_OK;
out:
	if (conn != NULL)
		PQfinish(conn);
	mf_spec_set_free(&set);
	free(o.paths);
	return rc;
}

int
ctl_diff(int argc, char **argv)
{
	struct ctl_apply_opts o;
	struct mf_set set;
	struct mf_plan plan;
	PGconn *conn = NULL;
	char *cause = NULL;
	int rc, changed = 0;

	if ((rc = ctl_apply_args(argc, argv, 1, &o)) != CTL_OK) {
		free(o.paths);
		return rc < 0 ? CTL_OK : rc;
	}
	/* Errors exit 2 here: 1 means "there are differences". */
	rc = CTL_USAGE;
	if (ctl_apply_load(&o, &set) != 0)
		goto out;
	if ((conn = ctl_connect()) == NULL)
		goto out;
	if (mf_apply_run(conn, &set, 0, &plan, &cause) != 0) {
		ctl_apply_print_errors(&plan, cause);
		free(cause);
		mf_apply_plan_free(&plan);
		goto out;
	}
	for (size_t i = 0; i < plan.n; i++) {
		if (plan.v[i].action == MF_ACTION_UNCHANGED)
			continue;
		changed = 1;
		fputs(plan.v[i].diff ? plan.v[i].diff : "", stdout);
	}
	mf_apply_plan_free(&plan);
	rc = changed ? CTL_FAIL : CTL_OK;
out:
	if (conn != NULL)
		PQfinish(conn);
	mf_spec_set_free(&set);
	free(o.paths);
	return rc;
}
