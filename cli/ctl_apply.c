/* vibnctl apply and diff: workspace manifests against the desired-state tables. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "common/xmalloc.h"
#include "manifests/mf_apply.h"
#include "manifests/mf_load.h"
#include "manifests/mf_select.h"
#include "tenancy/quota.h"

static void
ctl_apply_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: vibnctl apply -f PATH [-f PATH]... [--dry-run] [-l SELECTOR] [--applyset NAME]\n"
	    "                     [--prune (--all | -l SELECTOR | --applyset NAME)]\n"
	    "                     [--force-conflicts]\n"
	    "\n"
	    "Applies workspace manifests (apiVersion: vibn/v1, kind: Workspace) to DATABASE_URL\n"
	    "in one transaction: each declared workspace is created, configured or left\n"
	    "unchanged, or, on any error, nothing is written at all.\n"
	    "\n"
	    "Manifests manage only what manifests declared. The repos and apps an API key or an\n"
	    "MCP agent made in a workspace (owned by the API) are left alone: apply neither\n"
	    "changes nor removes them, and a manifest declaring one of their names is refused\n"
	    "unless --force-conflicts takes it over (it is then the manifest's: leaving the\n"
	    "manifest removes it, as for any declared repo or app).\n"
	    "\n"
	    "  -f, --filename PATH    a file, a directory (recursively: *.yaml and *.yml, sorted\n"
	    "                         by path; dot-entries skipped) or - for stdin; repeatable\n"
	    "      --dry-run          print what would be done (prunes too); write nothing\n"
	    "  -l, --selector SEL     apply only the manifests whose metadata.labels match SEL\n"
	    "                         (k=v, k!=v, k, !k; comma-separated, all must hold); the\n"
	    "                         others are skipped; with --prune, prune only matching\n"
	    "                         workspaces\n"
	    "      --applyset NAME    record the applied workspaces as members of apply set NAME;\n"
	    "                         with --prune, prune only members of NAME\n"
	    "      --prune            also delete (soft: the daemon cleans up upstream as their\n"
	    "                         deletionPolicy says) the workspaces that earlier applies\n"
	    "                         created from manifests and that PATH no longer declares,\n"
	    "                         within a scope, which is required: --all, -l or --applyset;\n"
	    "                         signup and API workspaces are never pruned\n"
	    "      --all              with --prune: every manifest-created workspace not declared\n"
	    "      --force-conflicts  take over the API-owned repos and apps the manifests\n"
	    "                         declare, and move workspaces between apply sets\n"
	    "  -h, --help             this help\n"
	    "\n"
	    "Prints one line per workspace: workspace/SLUG created|configured|unchanged|skipped|\n"
	    "pruned. An unchanged workspace is not written to (no generation bump, no reconcile).\n"
	    "Quotas: the repos and apps a workspace ends up with must fit spec.quotas, else the\n"
	    "defaults VIBN_QUOTA_REPOS and VIBN_QUOTA_APPS (read from the environment).\n"
	    "Exit status: 0 applied; 1 invalid manifests (each error printed as\n"
	    "file:line:column: message), a refused workspace or a database failure; 2 usage\n"
	    "error.\n");
}

static void
ctl_diff_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: vibnctl diff -f PATH [-f PATH]... [-l SELECTOR] [--force-conflicts]\n"
	    "\n"
	    "Shows, per workspace, how applying PATH would change the desired state in\n"
	    "DATABASE_URL, as a unified diff of the canonical manifest (live, then declared).\n"
	    "The repos and apps the API owns are shown as such (comment lines): apply leaves\n"
	    "them alone. Writes nothing.\n"
	    "\n"
	    "  -f, --filename PATH    as for apply: a file, a directory or - for stdin; repeatable\n"
	    "  -l, --selector SEL     only the manifests whose labels match (as for apply)\n"
	    "      --force-conflicts  show the take-over of API-owned repos and apps (as apply)\n"
	    "  -h, --help             this help\n"
	    "\n"
	    "Exit status (kubectl's): 0 no differences; 1 differences; 2 invalid manifests, a\n"
	    "database failure or a usage error.\n");
}

struct ctl_apply_opts {
	const char **paths;
	size_t npaths;
	int dry_run;
	int prune;
	int all;
	int force;
	const char *selector;
	const char *applyset;
	struct mf_selector sel;
};

static void
ctl_apply_opts_free(struct ctl_apply_opts *o)
{
	free(o->paths);
	mf_select_free(&o->sel);
}

/* Parses apply's or diff's flags. Returns CTL_OK, -1 (help shown), or the exit code. */
static int
ctl_apply_args(int argc, char **argv, int is_diff, struct ctl_apply_opts *o)
{
	static const struct option opts[] = {{"filename", required_argument, NULL, 'f'},
	                                     {"dry-run", no_argument, NULL, 'n'},
	                                     {"prune", no_argument, NULL, 'p'},
	                                     {"all", no_argument, NULL, 'a'},
	                                     {"selector", required_argument, NULL, 'l'},
	                                     {"applyset", required_argument, NULL, 's'},
	                                     {"force-conflicts", no_argument, NULL, 'F'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	void (*usage)(FILE *) = is_diff ? ctl_diff_usage : ctl_apply_usage;
	char *cause = NULL;
	int c;

	memset(o, 0, sizeof *o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->paths = xreallocarray(o->paths, o->npaths + 1, sizeof *o->paths);
			o->paths[o->npaths++] = optarg;
			break;
		case 'n':
		case 'p':
		case 'a':
		case 's':
			if (is_diff) {
				ctl_error("diff: --%s is an apply option", c == 'n'   ? "dry-run"
				                                           : c == 'p' ? "prune"
				                                           : c == 'a' ? "all"
				                                                      : "applyset");
				return CTL_USAGE;
			}
			if (c == 'n')
				o->dry_run = 1;
			else if (c == 'p')
				o->prune = 1;
			else if (c == 'a')
				o->all = 1;
			else
				o->applyset = optarg;
			break;
		case 'l':
			o->selector = optarg;
			break;
		case 'F':
			o->force = 1;
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
	if (o->prune && !o->all && o->selector == NULL && o->applyset == NULL) {
		ctl_error(
		    "%s: --prune needs a scope: --all (every workspace manifests created that "
		    "PATH does not declare), -l SELECTOR (those whose labels match) or "
		    "--applyset NAME (the members of that apply set)",
		    argv[0]);
		return CTL_USAGE;
	}
	if (o->all && !o->prune) {
		ctl_error("%s: --all is a --prune scope", argv[0]);
		return CTL_USAGE;
	}
	if (o->all && (o->selector != NULL || o->applyset != NULL)) {
		ctl_error(
		    "%s: --all prunes everything undeclared: it cannot be combined with -l or "
		    "--applyset",
		    argv[0]);
		return CTL_USAGE;
	}
	if (o->applyset != NULL && !mf_apply_valid_applyset(o->applyset)) {
		ctl_error("%s: invalid apply set name \"%s\" (1 to 63 of a-z, 0-9, '-' and '.', a "
		          "letter or digit at both ends)",
		          argv[0], o->applyset);
		return CTL_USAGE;
	}
	if (o->selector != NULL && mf_select_parse(o->selector, &o->sel, &cause) != 0) {
		ctl_error("%s: -l %s: %s", argv[0], o->selector, cause);
		free(cause);
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

/* The run's scope from the flags; quota defaults from the environment. */
static int
ctl_apply_run_opts(const struct ctl_apply_opts *o, int write, struct quota_limits *q,
                   struct mf_apply_opts *ro)
{
	char *cause = NULL;

	if (quota_defaults_from_env(q, &cause) != 0) {
		ctl_error("%s", cause);
		free(cause);
		return -1;
	}
	memset(ro, 0, sizeof *ro);
	ro->flags = (write ? MF_APPLY_WRITE : 0) | (o->prune ? MF_APPLY_PRUNE : 0) |
	            (o->force ? MF_APPLY_FORCE : 0);
	ro->prune_all = o->all;
	ro->selector = o->selector != NULL ? &o->sel : NULL;
	ro->applyset = o->applyset;
	ro->quota = q;
	return 0;
}

int
ctl_apply(int argc, char **argv)
{
	struct ctl_apply_opts o;
	struct mf_apply_opts ro;
	struct quota_limits q;
	struct mf_set set;
	struct mf_plan plan;
	PGconn *conn = NULL;
	char *cause = NULL;
	const char *suffix;
	int rc = CTL_FAIL;

	mf_spec_set_init(&set);
	if ((rc = ctl_apply_args(argc, argv, 0, &o)) != CTL_OK) {
		ctl_apply_opts_free(&o);
		return rc < 0 ? CTL_OK : rc;
	}
	rc = CTL_FAIL;
	if (ctl_apply_run_opts(&o, !o.dry_run, &q, &ro) != 0 || ctl_apply_load(&o, &set) != 0)
		goto out;
	if ((conn = ctl_connect()) == NULL)
		goto out;
	if (mf_apply_run(conn, &set, &ro, &plan, &cause) != 0) {
		ctl_apply_print_errors(&plan, cause);
		free(cause);
		mf_apply_plan_free(&plan);
		goto out;
	}
	suffix = o.dry_run ? " (dry run)" : "";
	for (size_t i = 0; i < plan.n; i++)
		printf("workspace/%s %s%s%s%s%s\n", plan.v[i].want->slug,
		       mf_apply_action_name(plan.v[i].action), plan.v[i].note ? " (" : "",
		       plan.v[i].note ? plan.v[i].note : "", plan.v[i].note ? ")" : "", suffix);
	for (size_t i = 0; i < plan.npruned; i++)
		printf("workspace/%s pruned%s\n", plan.pruned[i], suffix);
	mf_apply_plan_free(&plan);
	rc = CTL_OK;
out:
	if (conn != NULL)
		PQfinish(conn);
	mf_spec_set_free(&set);
	ctl_apply_opts_free(&o);
	return rc;
}

int
ctl_diff(int argc, char **argv)
{
	struct ctl_apply_opts o;
	struct mf_apply_opts ro;
	struct quota_limits q;
	struct mf_set set;
	struct mf_plan plan;
	PGconn *conn = NULL;
	char *cause = NULL;
	int rc, changed = 0;

	mf_spec_set_init(&set);
	if ((rc = ctl_apply_args(argc, argv, 1, &o)) != CTL_OK) {
		ctl_apply_opts_free(&o);
		return rc < 0 ? CTL_OK : rc;
	}
	/* Errors exit 2 here: 1 means "there are differences". */
	rc = CTL_USAGE;
	if (ctl_apply_run_opts(&o, 0, &q, &ro) != 0 || ctl_apply_load(&o, &set) != 0)
		goto out;
	if ((conn = ctl_connect()) == NULL)
		goto out;
	if (mf_apply_run(conn, &set, &ro, &plan, &cause) != 0) {
		ctl_apply_print_errors(&plan, cause);
		free(cause);
		mf_apply_plan_free(&plan);
		goto out;
	}
	for (size_t i = 0; i < plan.n; i++) {
		if (plan.v[i].action == MF_ACTION_UNCHANGED ||
		    plan.v[i].action == MF_ACTION_SKIPPED)
			continue;
		changed = 1;
		fputs(plan.v[i].diff ? plan.v[i].diff : "", stdout);
		/* Whatever the hunks show: the objects apply leaves alone. */
		if (plan.v[i].api_owned != NULL)
			printf("# workspace/%s: owned by the API, left alone by apply: %s\n",
			       plan.v[i].want->slug, plan.v[i].api_owned);
	}
	mf_apply_plan_free(&plan);
	rc = changed ? CTL_FAIL : CTL_OK;
out:
	if (conn != NULL)
		PQfinish(conn);
	mf_spec_set_free(&set);
	ctl_apply_opts_free(&o);
	return rc;
}
