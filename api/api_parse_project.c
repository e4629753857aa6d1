#include "common/names.h"
#include "api_parse_project.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_parse.h"
#include "common/xmalloc.h"
#include "manifests/mf_spec.h"

static const char *const api_parse_project_fields[] = {"name", "description", "private", "app"};
static const char *const api_parse_project_app_fields[] = {"buildPack", "ports", "branch"};

void
api_parse_project_free(struct api_project_req *r)
{
	free(r->name);
	free(r->description);
	free(r->build_pack);
	free(r->ports);
	free(r->branch);
	memset(r, 0, sizeof *r);
}

static int
api_parse_project_known(const char *key, const char *const *known, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(key, known[i]) == 0)
			return 1;
	return 0;
}

/* 1 when a client's key is safe to quote back: short, and only [A-Za-z0-9_.-]. */
static int
api_parse_project_safe_key(const char *key)
{
	size_t n = 0;

	for (; key[n] != '\0'; n++)
		if (n >= 64 || !(isalnum((unsigned char)key[n]) || strchr("_.-", key[n]) != NULL))
			return 0;
	return n > 0;
}

/* Sets the error. */
static int
api_parse_project_fail(char **field, char **cause, const char *path, char *msg)
{
	*field = xstrdup_null(path);
	*cause = msg;
	api_parse_oneline(*cause);
	return API_PARSE_INVALID;
}

/* A string member: 0 with *out (a new string, or a copy of def when absent or null), or -1
 * when it is not a string or holds a NUL (Postgres text cannot). */
static int
api_parse_project_str(const json_t *obj, const char *key, const char *def, char **out)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		*out = xstrdup_null(def);
		return 0;
	}
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* A description: at most MF_DESCRIPTION_MAX characters, no control characters but newlines
 * and tabs (as manifests allow). */
static int
api_parse_project_description_ok(const char *s)
{
	size_t chars = 0;

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f)
			return 0;
		chars += (ch & 0xC0) != 0x80;
	}
	return chars <= MF_DESCRIPTION_MAX;
}

static int
api_parse_project_app(json_t *app, struct api_project_req *r, char **field, char **cause)
{
	const char *key;
	json_t *v;
	int rc;

	if (!json_is_object(app))
		return api_parse_project_fail(
		    field, cause, "app",
		    xstrdup("\"app\" must be an object {\"buildPack\", \"ports\", \"branch\"} or "
		            "null"));
	json_object_foreach(app, key, v)
	{
		if (!api_parse_project_known(key, api_parse_project_app_fields,
		                             sizeof api_parse_project_app_fields /
		                                 sizeof api_parse_project_app_fields[0])) {
			int safe = api_parse_project_safe_key(key);
			char *path = safe ? xasprintf("app.%s", key) : xstrdup("app");

			rc = api_parse_project_fail(
			    field, cause, path,
			    xasprintf(
			        "unknown field%s%s%s in \"app\" (known: buildPack, ports, branch)",
			        safe ? " \"" : "", safe ? key : "", safe ? "\"" : ""));
			free(path);
			return rc;
		}
	}
	r->has_app = 1;
	if (api_parse_project_str(app, "buildPack", "nixpacks", &r->build_pack) != 0 ||
	    !mf_spec_valid_build_pack(r->build_pack))
		return api_parse_project_fail(
		    field, cause, "app.buildPack",
		    xstrdup("\"app.buildPack\" must be one of nixpacks, "
		            "railpack, static, dockerfile, dockercompose"));
	if (api_parse_project_str(app, "ports", "3000", &r->ports) != 0 ||
	    !mf_spec_valid_ports(r->ports))
		return api_parse_project_fail(
		    field, cause, "app.ports",
		    xstrdup("\"app.ports\" must be comma-separated port numbers 1-65535, each "
		            "once, like \"3000\" or \"3000,8080\""));
	if (api_parse_project_str(app, "branch", "main", &r->branch) != 0 ||
	    !mf_spec_valid_branch(r->branch))
		return api_parse_project_fail(field, cause, "app.branch",
		                              xstrdup("\"app.branch\" must be a valid git branch "
		                                      "name"));
	return 0;
}

int
api_parse_project_json(json_t *obj, const char *skip, struct api_project_req *r, char **field,
                       char **cause)
{
	json_t *v;
	const char *key;
	int rc;

	memset(r, 0, sizeof *r);
	*field = NULL;
	*cause = NULL;
	if (!json_is_object(obj)) {
		*cause = xstrdup("the body must be a JSON object {\"name\": \"...\", ...}");
		return API_PARSE_BAD;
	}
	json_object_foreach(obj, key, v)
	{
		if (skip != NULL && strcmp(key, skip) == 0)
			continue;
		if (!api_parse_project_known(key, api_parse_project_fields,
		                             sizeof api_parse_project_fields /
		                                 sizeof api_parse_project_fields[0])) {
			/* The key is client text: quoted back only when it is plainly a name. */
			int safe = api_parse_project_safe_key(key);

			rc = api_parse_project_fail(
			    field, cause, safe ? key : NULL,
			    xasprintf(
			        "unknown field%s%s%s (known: name, description, private, app)",
			        safe ? " \"" : "", safe ? key : "", safe ? "\"" : ""));
			goto fail;
		}
	}
	if (json_object_get(obj, "name") == NULL || json_is_null(json_object_get(obj, "name"))) {
		rc =
		    api_parse_project_fail(field, cause, "name", xstrdup("missing field \"name\""));
		goto fail;
	}
	if (api_parse_project_str(obj, "name", NULL, &r->name) != 0 ||
	    !names_valid_repo_name(r->name)) {
		rc = api_parse_project_fail(
		    field, cause, "name",
		    xasprintf("\"name\" must follow the repo name rule: letters, digits, '-', '_' "
		              "and '.' (no \"..\"), at most %d characters, not \".\" or \"-\", not "
		              "ending in .git, .wiki, .rss or .atom",
		              NAMES_REPO_MAX));
		goto fail;
	}
	if (api_parse_project_str(obj, "description", "", &r->description) != 0 ||
	    !api_parse_project_description_ok(r->description)) {
		rc = api_parse_project_fail(
		    field, cause, "description",
		    xasprintf("\"description\" must be a string of at most %d characters without "
		              "control characters",
		              MF_DESCRIPTION_MAX));
		goto fail;
	}
	r->private = 1;
	v = json_object_get(obj, "private");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_boolean(v)) {
			rc = api_parse_project_fail(field, cause, "private",
			                            xstrdup("\"private\" must be true or false"));
			goto fail;
		}
		r->private = json_is_true(v);
	}
	v = json_object_get(obj, "app");
	if (v != NULL && !json_is_null(v) && (rc = api_parse_project_app(v, r, field, cause)) != 0)
		goto fail;
	return 0;
fail:
	api_parse_project_free(r);
	return rc;
}

int
api_parse_project(const void *body, size_t len, struct api_project_req *r, char **field,
                  char **cause)
{
	json_error_t err;
	json_t *root;
	int rc;

	memset(r, 0, sizeof *r);
	*field = NULL;
	*cause = NULL;
	if (body == NULL || len == 0) {
		*cause = xstrdup("the body must be a JSON object {\"name\": \"...\", ...}");
		return API_PARSE_BAD;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		*cause = xasprintf("invalid JSON at line %d column %d: %s", err.line, err.column,
		                   err.text);
		api_parse_oneline(*cause);
		return API_PARSE_BAD;
	}
	rc = api_parse_project_json(root, NULL, r, field, cause);
	json_decref(root);
	return rc;
}

int
api_parse_project_bool(const char *name, const char *text, int *out, char **cause)
{
	*cause = NULL;
	*out = 0;
	if (text == NULL || strcasecmp(text, "false") == 0 || strcmp(text, "0") == 0)
		return 0;
	if (strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0) {
		*out = 1;
		return 0;
	}
	*cause = xasprintf("%s must be true or false", name);
	return -1;
}

int
api_parse_project_seq(const char *text, long long *out, char **cause)
{
	long long v = 0;
	size_t i;

	*cause = NULL;
	*out = 0;
	if (text == NULL)
		return 0;
	/* Digits only, and few enough that the value cannot overflow. */
	for (i = 0; text[i] != '\0'; i++) {
		if (!isdigit((unsigned char)text[i]) || i >= 18)
			break;
		v = v * 10 + (text[i] - '0');
	}
	if (i == 0 || text[i] != '\0' || v <= 0) {
		*cause = xstrdup("after must be the seq of an event (a positive integer)");
		return -1;
	}
	*out = v;
	return 0;
}

int
api_parse_project_id(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++)
		if (s[n] < 0x21 || s[n] > 0x7e || n >= 128)
			return 0;
	return n > 0;
}
