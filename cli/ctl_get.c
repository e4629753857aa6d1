/* vibnctl get workspaces and describe workspace: what is declared and what is observed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/names.h"
#include "ctl.h"
#include "clients/db.h"
#include "common/xmalloc.h"
#include "manifests/mf_spec.h"

static void
ctl_get_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: vibnctl get workspaces [SLUG]... [-o table|json|yaml]\n"
	    "\n"
	    "Lists workspaces (all, or the slugs given), sorted by slug, with their state:\n"
	    "  SLUG  READY (the Ready condition: True, False or Unknown)  STATUS (provision\n"
	    "  status; deleting once soft-deleted)  GITEA ORG  COOLIFY PROJECT  AGE\n"
	    "\n"
	    "  -o, --output FORMAT  table (default), json or yaml (every field, conditions too)\n"
	    "  -h, --help           this help\n"
	    "\n"
	    "Also: get workspace, get ws. Exit status: 0 listed; 1 a slug given is not found or a\n"
	    "database failure; 2 usage error.\n");
}

static void
ctl_describe_usage(FILE *out)
{
	fprintf(out,
	        "usage: vibnctl describe workspace SLUG\n"
	        "\n"
	        "Shows one workspace: its desired spec (members, repos, apps, each repo and app\n"
	        "with its owner: the manifest or the API), its status conditions with reason,\n"
	        "message and age, the last error, its reconcile queue entry, how many API keys it\n"
	        "has, and its newest events (what happened to it; all of them: vibnctl events).\n"
	        "\n"
	        "  -h, --help  this help\n"
	        "\n"
	        "Exit status: 0 shown; 1 not found or a database failure; 2 usage error.\n");
}

static int
ctl_get_is_workspace(const char *kind)
{
	return strcmp(kind, "workspaces") == 0 || strcmp(kind, "workspace") == 0 ||
	       strcmp(kind, "ws") == 0;
}

#define CTL_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const char ctl_get_sql[] =
    "SELECT slug, name, owner, source, "
    "CASE WHEN deleted_at IS NOT NULL THEN 'deleting' ELSE provision_status END, "
    "gitea_org, coolify_project_uuid, generation, observed_generation, paused, "
    "deletion_policy, conditions::text, last_error, "
    "extract(epoch FROM now() - created_at)::float8, " CTL_TS("created_at") ", " CTL_TS(
        "deleted_at") ", "
                      "coalesce((SELECT c->>'status' FROM jsonb_array_elements(conditions) c "
                      "          WHERE c->>'type' = 'Ready' LIMIT 1), 'Unknown') "
                      "FROM vibn_workspaces WHERE $1::text[] IS NULL OR slug = ANY($1::text[]) "
                      "ORDER BY slug";

enum {
	G_SLUG,
	G_NAME,
	G_OWNER,
	G_SOURCE,
	G_STATUS,
	G_ORG,
	G_PROJECT,
	G_GEN,
	G_OBSGEN,
	G_PAUSED,
	G_POLICY,
	G_CONDITIONS,
	G_LAST_ERROR,
	G_AGE,
	G_CREATED,
	G_DELETED,
	G_READY
};

static json_t *
ctl_get_json_row(const PGresult *res, int r)
{
	json_t *o = json_object(), *conds;

	json_object_set_new(o, "slug", db_json_text(res, r, G_SLUG));
	json_object_set_new(o, "displayName", db_json_text(res, r, G_NAME));
	json_object_set_new(o, "owner", db_json_text(res, r, G_OWNER));
	json_object_set_new(o, "source", db_json_text(res, r, G_SOURCE));
	json_object_set_new(o, "ready", db_json_text(res, r, G_READY));
	json_object_set_new(o, "status", db_json_text(res, r, G_STATUS));
	json_object_set_new(o, "giteaOrg", db_json_text(res, r, G_ORG));
	json_object_set_new(o, "coolifyProjectUuid", db_json_text(res, r, G_PROJECT));
	json_object_set_new(o, "generation", json_integer(atoll(PQgetvalue(res, r, G_GEN))));
	json_object_set_new(o, "observedGeneration",
	                    json_integer(atoll(PQgetvalue(res, r, G_OBSGEN))));
	json_object_set_new(o, "paused", json_boolean(db_bool(res, r, G_PAUSED)));
	json_object_set_new(o, "deletionPolicy", db_json_text(res, r, G_POLICY));
	conds = json_loads(PQgetvalue(res, r, G_CONDITIONS), 0, NULL);
	json_object_set_new(o, "conditions", conds ? conds : json_array());
	json_object_set_new(o, "lastError", db_json_text(res, r, G_LAST_ERROR));
	json_object_set_new(o, "createdAt", db_json_text(res, r, G_CREATED));
	json_object_set_new(o, "deletedAt", db_json_text(res, r, G_DELETED));
	return o;
}

/* The slugs as a text[] literal, or NULL for all. Slugs are checked first: only
 * [a-z0-9-] reaches the literal. */
static char *
ctl_get_slug_array(char **slugs, int n)
{
	size_t len = 3;
	char *out;

	if (n == 0)
		return NULL;
	for (int i = 0; i < n; i++)
		len += strlen(slugs[i]) + 1;
	out = xcalloc(1, len);
	strcat(out, "{");
	for (int i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, ",");
		strcat(out, slugs[i]);
	}
	strcat(out, "}");
	return out;
}

int
ctl_get(int argc, char **argv)
{
	static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	enum ctl_output format = CTL_OUT_TABLE;
	PGconn *conn;
	PGresult *res;
	char *cause = NULL, *slugs;
	const char *p[1];
	int c, nslugs, rc = CTL_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (ctl_fmt_output(optarg, &format) != 0) {
				ctl_error("get: unknown output format \"%s\" (table, json or yaml)",
				          optarg);
				return CTL_USAGE;
			}
			break;
		case 'h':
			ctl_get_usage(stdout);
			return CTL_OK;
		default:
			ctl_get_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind >= argc || !ctl_get_is_workspace(argv[optind])) {
		ctl_error("get: expected \"workspaces\"%s%s%s", optind < argc ? ", not \"" : "",
		          optind < argc ? argv[optind] : "", optind < argc ? "\"" : "");
		return CTL_USAGE;
	}
	nslugs = argc - optind - 1;
	for (int i = 0; i < nslugs; i++) {
		if (!names_valid_slug(argv[optind + 1 + i])) {
			ctl_error("get: workspace \"%s\" not found (not a valid slug)",
			          argv[optind + 1 + i]);
			return CTL_FAIL;
		}
	}
	if ((conn = ctl_connect()) == NULL)
		return CTL_FAIL;
	slugs = ctl_get_slug_array(argv + optind + 1, nslugs);
	p[0] = slugs;
	res = db_exec(conn, ctl_get_sql, 1, p, &cause);
	free(slugs);
	if (res == NULL) {
		ctl_error("get: %s", cause);
		free(cause);
		goto out;
	}
	if (format == CTL_OUT_TABLE) {
		struct ctl_table t;
		const char *head[6] = {"SLUG",      "READY",           "STATUS",
		                       "GITEA ORG", "COOLIFY PROJECT", "AGE"};

		ctl_fmt_table_init(&t, 6);
		ctl_fmt_table_add(&t, head);
		for (int r = 0; r < PQntuples(res); r++) {
			char age[32];
			const char *row[6] = {db_text(res, r, G_SLUG),    db_text(res, r, G_READY),
			                      db_text(res, r, G_STATUS),  db_text(res, r, G_ORG),
			                      db_text(res, r, G_PROJECT), age};

			ctl_fmt_age(atof(PQgetvalue(res, r, G_AGE)), age, sizeof age);
			ctl_fmt_table_add(&t, row);
		}
		if (PQntuples(res) > 0)
			ctl_fmt_table_print(&t, stdout, NULL);
		else if (nslugs == 0)
			fprintf(stderr, "No workspaces found.\n");
		ctl_fmt_table_free(&t);
	} else {
		json_t *items = json_array(), *doc = json_object();

		for (int r = 0; r < PQntuples(res); r++)
			json_array_append_new(items, ctl_get_json_row(res, r));
		json_object_set_new(doc, "apiVersion", json_string("vibn/v1"));
		json_object_set_new(doc, "kind", json_string("WorkspaceList"));
		json_object_set_new(doc, "items", items);
		if (ctl_fmt_print(doc, format) != 0)
			ctl_error("get: cannot write the output");
		json_decref(doc);
	}
	rc = CTL_OK;
	if (PQntuples(res) < nslugs) {
		for (int i = 0; i < nslugs; i++) {
			int found = 0;

			for (int r = 0; r < PQntuples(res); r++)
				found |=
				    strcmp(PQgetvalue(res, r, G_SLUG), argv[optind + 1 + i]) == 0;
			if (!found)
				ctl_error("get: workspace \"%s\" not found", argv[optind + 1 + i]);
		}
		rc = CTL_FAIL;
	}
	PQclear(res);
out:
	PQfinish(conn);
	return rc;
}

/* Runs a describe query for workspace id; prints its rows as a table under title. */
static int
ctl_describe_section(PGconn *conn, const char *id, const char *title, const char *sql,
                     const char *const *head, size_t ncols, const char *empty)
{
	const char *p[1] = {id};
	char *cause = NULL;
	PGresult *res = db_exec(conn, sql, 1, p, &cause);
	struct ctl_table t;

	if (res == NULL) {
		ctl_error("describe: %s", cause);
		free(cause);
		return -1;
	}
	printf("%s:\n", title);
	if (PQntuples(res) == 0) {
		printf("  %s\n", empty);
		PQclear(res);
		return 0;
	}
	ctl_fmt_table_init(&t, ncols);
	ctl_fmt_table_add(&t, head);
	for (int r = 0; r < PQntuples(res); r++) {
		const char *row[8];

		for (size_t c = 0; c < ncols && c < 8; c++)
			row[c] = db_text(res, r, (int)c);
		ctl_fmt_table_add(&t, row);
	}
	ctl_fmt_table_print(&t, stdout, "  ");
	ctl_fmt_table_free(&t);
	PQclear(res);
	return 0;
}

static const char ctl_describe_ws_sql[] =
    "SELECT id, slug, name, owner, source, visibility, "
    "CASE WHEN deleted_at IS NOT NULL THEN 'deleting' ELSE provision_status END, "
    "gitea_org, coolify_project_uuid, generation, observed_generation, paused, "
    "deletion_policy, prune_members, last_error, " CTL_TS(
        "created_at") ", "
                      "extract(epoch FROM now() - created_at)::float8, " CTL_TS(
                          "deleted_at") ", "
                                        "(SELECT count(*) FROM vibn_workspace_api_keys k WHERE k.workspace_id = w.id "
                                        " AND k.revoked_at IS NULL), "
                                        "(SELECT count(*) FROM vibn_workspace_api_keys k WHERE k.workspace_id = w.id "
                                        " AND k.revoked_at IS NOT NULL), "
                                        "(SELECT string_agg(key || '=' || value, ', ' ORDER BY key) "
                                        " FROM jsonb_each_text(w.manifest_labels)), apply_set, "
                                        "concat_ws(', ', 'repos ' || coalesce(quota_repos::text, 'default'), "
                                        " 'apps ' || coalesce(quota_apps::text, 'default'), "
                                        " 'projects ' || coalesce(quota_projects::text, 'default')) "
                                        "FROM vibn_workspaces w WHERE slug = $1";

static void
ctl_describe_field(const char *label, const char *value)
{
	printf("%-20s%s\n", label, value && *value ? value : "<none>");
}

static int
ctl_describe_conditions(PGconn *conn, const char *id)
{
	const char *p[1] = {id};
	char *cause = NULL;
	PGresult *res;
	struct ctl_table t;
	const char *head[5] = {"TYPE", "STATUS", "REASON", "AGE", "MESSAGE"};

	/* A malformed timestamp shows no age rather than failing the whole describe. */
	res =
	    db_exec(conn,
	            "SELECT c->>'type', c->>'status', c->>'reason', "
	            "CASE WHEN c->>'lastTransitionTime' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}' THEN "
	            "extract(epoch FROM now() - (c->>'lastTransitionTime')::timestamptz)::float8 "
	            "END, c->>'message' "
	            "FROM vibn_workspaces w, jsonb_array_elements(w.conditions) c WHERE w.id = $1",
	            1, p, &cause);
	if (res == NULL) {
		ctl_error("describe: %s", cause);
		free(cause);
		return -1;
	}
	printf("Conditions:\n");
	if (PQntuples(res) == 0) {
		printf("  <none> (not reconciled yet)\n");
		PQclear(res);
		return 0;
	}
	ctl_fmt_table_init(&t, 5);
	ctl_fmt_table_add(&t, head);
	for (int r = 0; r < PQntuples(res); r++) {
		char age[32] = "<unknown>";
		const char *row[5] = {db_text(res, r, 0), db_text(res, r, 1), db_text(res, r, 2),
		                      age, db_text(res, r, 4)};

		if (!PQgetisnull(res, r, 3))
			ctl_fmt_age(atof(PQgetvalue(res, r, 3)), age, sizeof age);
		ctl_fmt_table_add(&t, row);
	}
	ctl_fmt_table_print(&t, stdout, "  ");
	ctl_fmt_table_free(&t);
	PQclear(res);
	return 0;
}

static int
ctl_describe_queue(PGconn *conn, const char *id)
{
	const char *p[1] = {id};
	char *cause = NULL, when[32];
	PGresult *res;
	double due;

	res = db_exec(conn,
	              "SELECT priority, reason, attempts, dirty, lease_owner, "
	              "extract(epoch FROM run_at - now())::float8, "
	              "extract(epoch FROM lease_expires_at - now())::float8, last_error, "
	              "extract(epoch FROM now() - enqueued_at)::float8 "
	              "FROM vibn_reconcile_queue WHERE workspace_id = $1",
	              1, p, &cause);
	if (res == NULL) {
		ctl_error("describe: %s", cause);
		free(cause);
		return -1;
	}
	printf("Queue:\n");
	if (PQntuples(res) == 0) {
		printf("  not queued (nothing pending)\n");
		PQclear(res);
		return 0;
	}
	if (!PQgetisnull(res, 0, 4)) {
		ctl_fmt_age(PQgetisnull(res, 0, 6) ? 0 : atof(PQgetvalue(res, 0, 6)), when,
		            sizeof when);
		printf("  %-18s%s (lease expires in %s)%s\n", "State:", "reconciling", when,
		       db_bool(res, 0, 3) ? ", will run again after" : "");
		printf("  %-18s%s\n", "Worker:", PQgetvalue(res, 0, 4));
	} else {
		due = atof(PQgetvalue(res, 0, 5));
		ctl_fmt_age(due < 0 ? -due : due, when, sizeof when);
		printf("  %-18squeued, due %s%s\n", "State:", due <= 0 ? "now, for " : "in ", when);
	}
	printf("  %-18s%s\n", "Priority:",
	       strcmp(PQgetvalue(res, 0, 0), "0") == 0 ? "0 (interactive)" : "1 (background)");
	printf("  %-18s%s\n", "Reason:", PQgetvalue(res, 0, 1));
	printf("  %-18s%s\n", "Attempts:", PQgetvalue(res, 0, 2));
	ctl_fmt_age(atof(PQgetvalue(res, 0, 8)), when, sizeof when);
	printf("  %-18s%s ago\n", "Enqueued:", when);
	printf("  %-18s%s\n",
	       "Last Error:", PQgetisnull(res, 0, 7) ? "<none>" : PQgetvalue(res, 0, 7));
	PQclear(res);
	return 0;
}

int
ctl_describe(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	static const char *const mhead[3] = {"USER", "GITEA USER", "ROLE"};
	static const char *const rhead[6] = {"NAME",     "PRIVATE",    "DEFAULT BRANCH",
	                                     "GITEA ID", "MANAGED BY", "DESCRIPTION"};
	static const char *const ahead[7] = {"NAME",  "REPO",         "BRANCH",    "BUILD PACK",
	                                     "PORTS", "COOLIFY UUID", "MANAGED BY"};
	PGconn *conn;
	PGresult *res;
	const char *p[1];
	char *cause = NULL, *id = NULL, age[32], buf[256];
	int c, rc = CTL_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			ctl_describe_usage(stdout);
			return CTL_OK;
		default:
			ctl_describe_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (argc - optind != 2 || !ctl_get_is_workspace(argv[optind])) {
		ctl_error("describe: expected \"workspace SLUG\"");
		return CTL_USAGE;
	}
	p[0] = argv[optind + 1];
	if ((conn = ctl_connect()) == NULL)
		return CTL_FAIL;
	if ((res = db_exec(conn, ctl_describe_ws_sql, 1, p, &cause)) == NULL) {
		ctl_error("describe: %s", cause);
		free(cause);
		goto out;
	}
	if (PQntuples(res) == 0) {
		ctl_error("describe: workspace \"%s\" not found", p[0]);
		PQclear(res);
		goto out;
	}
	id = xstrdup(PQgetvalue(res, 0, 0));
	ctl_describe_field("Name:", PQgetvalue(res, 0, 1));
	ctl_describe_field("Display Name:", PQgetvalue(res, 0, 2));
	ctl_describe_field("Owner:", PQgetvalue(res, 0, 3));
	ctl_describe_field("Source:", PQgetvalue(res, 0, 4));
	ctl_describe_field("Visibility:", PQgetvalue(res, 0, 5));
	ctl_describe_field("Status:", PQgetvalue(res, 0, 6));
	ctl_describe_field("Gitea Org:", db_text(res, 0, 7));
	ctl_describe_field("Coolify Project:", db_text(res, 0, 8));
	snprintf(buf, sizeof buf, "%s (observed %s)", PQgetvalue(res, 0, 9),
	         PQgetvalue(res, 0, 10));
	ctl_describe_field("Generation:", buf);
	ctl_describe_field("Paused:", db_bool(res, 0, 11) ? "true" : "false");
	ctl_describe_field("Deletion Policy:", PQgetvalue(res, 0, 12));
	ctl_describe_field("Prune Members:", db_bool(res, 0, 13) ? "true" : "false");
	ctl_describe_field("Labels:", db_text(res, 0, 20));
	ctl_describe_field("Apply Set:", db_text(res, 0, 21));
	ctl_describe_field("Quotas:", db_text(res, 0, 22));
	ctl_fmt_age(atof(PQgetvalue(res, 0, 16)), age, sizeof age);
	snprintf(buf, sizeof buf, "%s (%s ago)", PQgetvalue(res, 0, 15), age);
	ctl_describe_field("Created:", buf);
	ctl_describe_field("Deleted:", db_text(res, 0, 17));
	snprintf(buf, sizeof buf, "%s active, %s revoked", PQgetvalue(res, 0, 18),
	         PQgetvalue(res, 0, 19));
	ctl_describe_field("API Keys:", buf);
	ctl_describe_field("Last Error:", db_text(res, 0, 14));
	PQclear(res);
	if (ctl_describe_section(conn, id, "Members",
	                         "SELECT user_id, gitea_username, role FROM vibn_workspace_members "
	                         "WHERE workspace_id = $1 ORDER BY role <> 'owner', lower(user_id)",
	                         mhead, 3, "<none>") != 0 ||
	    ctl_describe_section(
	        conn, id, "Repos",
	        "SELECT name, CASE WHEN private THEN 'true' ELSE 'false' END, "
	        "default_branch, gitea_repo_id::text, managed_by, description "
	        "FROM vibn_workspace_repos WHERE workspace_id = $1 ORDER BY lower(name)",
	        rhead, 6, "<none>") != 0 ||
	    ctl_describe_section(
	        conn, id, "Apps",
	        "SELECT name, repo, branch, build_pack, ports, coolify_app_uuid, managed_by "
	        "FROM vibn_workspace_apps WHERE workspace_id = $1 ORDER BY lower(name)",
	        ahead, 7, "<none>") != 0 ||
	    ctl_describe_conditions(conn, id) != 0 || ctl_describe_queue(conn, id) != 0 ||
	    ctl_events_describe(conn, id) != 0)
		goto out;
	rc = CTL_OK;
out:
	free(id);
	PQfinish(conn);
	return rc;
}
