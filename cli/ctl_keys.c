/* vibnctl keys mint|list|revoke: workspace API keys (clients/keys.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ctl.h"
#include "clients/db.h"
#include "tenancy/keys.h"
#include "common/xmalloc.h"

static void
ctl_keys_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: vibnctl keys mint --workspace SLUG --name NAME [--scopes LIST] "
	    "[--expires WHEN]\n"
	    "       vibnctl keys list [--workspace SLUG] [-o table|json|yaml]\n"
	    "       vibnctl keys revoke KEYID [--workspace SLUG]\n"
	    "\n"
	    "Workspace API keys: bearer tokens vibn_sk_... pinned to one workspace.\n"
	    "  mint    creates a key and prints its token on stdout, once: only its sha256 and\n"
	    "          a short display prefix are stored, so it cannot be shown again\n"
	    "  list    lists keys (ID, WORKSPACE, NAME, PREFIX, SCOPES, CREATED, LAST USED,\n"
	    "          EXPIRES, STATUS), newest first; never tokens\n"
	    "  revoke  revokes a key by its id; with --workspace, only a key of that workspace\n"
	    "\n"
	    "  -w, --workspace SLUG  the workspace\n"
	    "  -n, --name NAME       a name for the key (1-%d characters)\n"
	    "  -s, --scopes LIST     what the key may do, comma-separated: read (see the\n"
	    "                        workspace), write (change it), keys (manage keys);\n"
	    "                        default read,write (an agent's key: no key management)\n"
	    "  -e, --expires WHEN    expire after a duration (90m, 12h, 30d, 2w) or at a time\n"
	    "                        YYYY-MM-DDTHH:MM:SSZ (UTC); default never\n"
	    "  -o, --output FORMAT   table (default), json or yaml\n"
	    "  -h, --help            this help\n"
	    "\n"
	    "Exit status: 0 done (revoking a revoked key too); 1 not found or a database\n"
	    "failure; 2 usage error.\n",
	    KEYS_NAME_MAX);
}

static int
ctl_keys_mint(PGconn *conn, const char *slug, const char *name, unsigned scopes,
              const char *expires_at)
{
	char *id, *token = NULL, *key_id = NULL, *cause = NULL, names[KEYS_SCOPES_MAX];
	struct keys_mint_opts o;
	int rc = CTL_FAIL;

	if ((id = ctl_workspace_id(conn, "keys", slug)) == NULL)
		return CTL_FAIL;
	memset(&o, 0, sizeof o);
	o.workspace_id = id;
	o.name = name;
	o.scopes = scopes;
	o.expires_at = expires_at;
	keys_scopes_format(scopes, names);
	if (keys_mint_opts(conn, &o, &token, &key_id, &cause) != 0) {
		ctl_error("keys mint: %s", cause);
		free(cause);
		goto out;
	}
	/* The token alone on stdout (for scripts); the rest on stderr. */
	printf("%s\n", token);
	fflush(stdout);
	fprintf(stderr,
	        "key %s \"%s\" (%s%s%s) minted for workspace/%s; the token above is shown only "
	        "now\n",
	        key_id, name, names, expires_at ? ", expires " : "", expires_at ? expires_at : "",
	        slug);
	rc = CTL_OK;
out:
	if (token != NULL)
		memset(token, 0, strlen(token));
	free(token);
	free(key_id);
	free(id);
	return rc;
}

static json_t *
ctl_keys_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

static int
ctl_keys_list(PGconn *conn, const char *slug, enum ctl_output format)
{
	struct keys_info *keys;
	size_t n;
	char *id = NULL, *cause = NULL;
	int rc = CTL_FAIL;

	if (slug != NULL && (id = ctl_workspace_id(conn, "keys", slug)) == NULL)
		return CTL_FAIL;
	if (keys_list(conn, id, &keys, &n, &cause) != 0) {
		ctl_error("keys list: %s", cause);
		free(cause);
		goto out;
	}
	if (format == CTL_OUT_TABLE) {
		struct ctl_table t;
		const char *head[9] = {"ID",      "WORKSPACE", "NAME",    "PREFIX", "SCOPES",
		                       "CREATED", "LAST USED", "EXPIRES", "STATUS"};

		ctl_fmt_table_init(&t, 9);
		ctl_fmt_table_add(&t, head);
		for (size_t i = 0; i < n; i++) {
			const char *row[9] = {keys[i].id,
			                      keys[i].workspace,
			                      keys[i].name,
			                      keys[i].prefix,
			                      keys[i].scopes,
			                      keys[i].created_at,
			                      keys[i].last_used_at,
			                      keys[i].expires_at ? keys[i].expires_at : "never",
			                      keys[i].revoked_at ? "revoked"
			                      : keys[i].expired  ? "expired"
			                                         : "active"};

			ctl_fmt_table_add(&t, row);
		}
		if (n > 0)
			ctl_fmt_table_print(&t, stdout, NULL);
		else
			fprintf(stderr, "No keys found.\n");
		ctl_fmt_table_free(&t);
	} else {
		json_t *items = json_array();

		for (size_t i = 0; i < n; i++) {
			json_t *o = json_object();

			json_object_set_new(o, "id", ctl_keys_str(keys[i].id));
			json_object_set_new(o, "workspace", ctl_keys_str(keys[i].workspace));
			json_object_set_new(o, "name", ctl_keys_str(keys[i].name));
			json_object_set_new(o, "prefix", ctl_keys_str(keys[i].prefix));
			json_object_set_new(o, "createdAt", ctl_keys_str(keys[i].created_at));
			json_object_set_new(o, "lastUsedAt", ctl_keys_str(keys[i].last_used_at));
			json_object_set_new(o, "revokedAt", ctl_keys_str(keys[i].revoked_at));
			json_object_set_new(o, "scopes", ctl_keys_str(keys[i].scopes));
			json_object_set_new(o, "expiresAt", ctl_keys_str(keys[i].expires_at));
			json_object_set_new(o, "expired", json_boolean(keys[i].expired));
			json_array_append_new(items, o);
		}
		if (ctl_fmt_print(items, format) != 0)
			ctl_error("keys list: cannot write the output");
		json_decref(items);
	}
	keys_list_free(keys, n);
	rc = CTL_OK;
out:
	free(id);
	return rc;
}

static int
ctl_keys_revoke(PGconn *conn, const char *key_id, const char *slug)
{
	char *id = NULL, *cause = NULL;
	int result, rc = CTL_FAIL;

	if (slug != NULL && (id = ctl_workspace_id(conn, "keys", slug)) == NULL)
		return CTL_FAIL;
	if (keys_revoke(conn, key_id, id, &result, &cause) != 0) {
		ctl_error("keys revoke: %s", cause);
		free(cause);
	} else if (result == 2) {
		ctl_error("keys revoke: key \"%s\" not found%s%s", key_id,
		          slug ? " in workspace/" : "", slug ? slug : "");
	} else {
		printf("key %s %s\n", key_id, result == 0 ? "revoked" : "already revoked");
		rc = CTL_OK;
	}
	free(id);
	return rc;
}

int
ctl_keys(int argc, char **argv)
{
	static const struct option opts[] = {{"workspace", required_argument, NULL, 'w'},
	                                     {"name", required_argument, NULL, 'n'},
	                                     {"scopes", required_argument, NULL, 's'},
	                                     {"expires", required_argument, NULL, 'e'},
	                                     {"output", required_argument, NULL, 'o'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	enum ctl_output format = CTL_OUT_TABLE;
	const char *sub, *slug = NULL, *name = NULL, *scopes_arg = NULL, *expires_arg = NULL;
	char expires_at[KEYS_TIME_LEN + 1], *cause = NULL;
	unsigned scopes = KEYS_SCOPE_DEFAULT;
	PGconn *conn;
	int c, rc;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		ctl_keys_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CTL_USAGE : CTL_OK;
	}
	sub = argv[1];
	if (strcmp(sub, "mint") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "revoke") != 0) {
		ctl_error("keys: unknown subcommand \"%s\" (mint, list or revoke)", sub);
		return CTL_USAGE;
	}
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "w:n:s:e:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			slug = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 's':
			scopes_arg = optarg;
			break;
		case 'e':
			expires_arg = optarg;
			break;
		case 'o':
			if (ctl_fmt_output(optarg, &format) != 0) {
				ctl_error(
				    "keys: unknown output format \"%s\" (table, json or yaml)",
				    optarg);
				return CTL_USAGE;
			}
			break;
		case 'h':
			ctl_keys_usage(stdout);
			return CTL_OK;
		default:
			ctl_keys_usage(stderr);
			return CTL_USAGE;
		}
	}
	argc--;
	argv++;
	if (strcmp(sub, "mint") == 0 && (slug == NULL || name == NULL || optind != argc)) {
		ctl_error("keys mint: --workspace SLUG and --name NAME are required");
		return CTL_USAGE;
	}
	if (strcmp(sub, "mint") == 0 && !keys_valid_name(name)) {
		ctl_error("keys mint: invalid --name: 1 to %d characters, no control characters",
		          KEYS_NAME_MAX);
		return CTL_USAGE;
	}
	if ((scopes_arg != NULL || expires_arg != NULL) && strcmp(sub, "mint") != 0) {
		ctl_error("keys %s: --scopes and --expires are for mint", sub);
		return CTL_USAGE;
	}
	if (scopes_arg != NULL && keys_scopes_parse(scopes_arg, &scopes, &cause) != 0) {
		ctl_error("keys mint: --%s", cause);
		free(cause);
		return CTL_USAGE;
	}
	if (expires_arg != NULL &&
	    keys_expiry_parse(expires_arg, time(NULL), expires_at, &cause) != 0) {
		ctl_error("keys mint: --expires: %s", cause);
		free(cause);
		return CTL_USAGE;
	}
	if (strcmp(sub, "list") == 0 && (optind != argc || name != NULL)) {
		ctl_error("keys list: takes only --workspace and -o");
		return CTL_USAGE;
	}
	if (strcmp(sub, "revoke") == 0 && (argc - optind != 1 || name != NULL)) {
		ctl_error("keys revoke: expected one KEYID");
		return CTL_USAGE;
	}
	if ((conn = ctl_connect()) == NULL)
		return CTL_FAIL;
	if (strcmp(sub, "mint") == 0)
		rc = ctl_keys_mint(conn, slug, name, scopes, expires_arg ? expires_at : NULL);
	else if (strcmp(sub, "list") == 0)
		rc = ctl_keys_list(conn, slug, format);
	else
		rc = ctl_keys_revoke(conn, argv[optind], slug);
	PQfinish(conn);
	return rc;
}
