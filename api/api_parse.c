#include "api_parse.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "tenancy/keys.h"
#include "common/util.h"
#include "common/xmalloc.h"

void
api_parse_oneline(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

int
api_parse_is_json(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof want - 1;

	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* "scopes": a non-empty array of distinct scope names. */
static int
api_parse_scopes(json_t *v, unsigned *scopes, char **cause)
{
	char names[64] = "";
	size_t i;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 3)
		goto fail;
	json_array_foreach(v, i, e)
	{
		const char *s = json_string_value(e);

		if (s == NULL || strlen(s) != json_string_length(e) || strlen(s) > 8 ||
		    strchr(s, ',') != NULL)
			goto fail;
		if (names[0] != '\0')
			strcat(names, ",");
		strcat(names, s);
	}
	if (keys_scopes_parse(names, scopes, cause) != 0) {
		free(*cause);
		goto fail;
	}
	return 0;
fail:
	*cause = xstrdup("\"scopes\" must be a non-empty array of distinct scopes: \"read\", "
	                 "\"write\", \"keys\"");
	return -1;
}

int
api_parse_key_mint(const void *body, size_t len, time_t now, struct api_key_request *req,
                   char **cause)
{
	json_error_t err;
	json_t *root, *v;
	const char *key;

	memset(req, 0, sizeof *req);
	*cause = NULL;
	if (body == NULL || len == 0) {
		*cause = xstrdup("the body must be a JSON object {\"name\": \"...\"}");
		return -1;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		*cause = xasprintf("invalid JSON at line %d column %d: %s", err.line, err.column,
		                   err.text);
		api_parse_oneline(*cause);
		return -1;
	}
	if (!json_is_object(root)) {
		*cause = xstrdup("the body must be a JSON object {\"name\": \"...\"}");
		goto fail;
	}
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "name") != 0 && strcmp(key, "scopes") != 0 &&
		    strcmp(key, "expires") != 0) {
			/* The key is client text: quote only a safe, short rendering of it. */
			*cause =
			    xstrdup("unknown field (accepted: \"name\", \"scopes\", \"expires\")");
			goto fail;
		}
	}
	v = json_object_get(root, "name");
	if (v == NULL) {
		*cause = xstrdup("missing field \"name\"");
		goto fail;
	}
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
	    !keys_valid_name(json_string_value(v))) {
		*cause =
		    xasprintf("\"name\" must be a string of 1 to %d characters without control "
		              "characters",
		              KEYS_NAME_MAX);
		goto fail;
	}
	if ((v = json_object_get(root, "scopes")) != NULL &&
	    api_parse_scopes(v, &req->scopes, cause) != 0)
		goto fail;
	if ((v = json_object_get(root, "expires")) != NULL) {
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
		    keys_expiry_parse(json_string_value(v), now, req->expires_at, cause) != 0) {
			free(*cause);
			*cause = xstrdup("\"expires\" must be a duration (90m, 12h, 30d, 2w) or a "
			                 "future time YYYY-MM-DDTHH:MM:SSZ");
			req->expires_at[0] = '\0';
			goto fail;
		}
	}
	req->name = xstrdup(json_string_value(json_object_get(root, "name")));
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	req->scopes = 0;
	return -1;
}

int
api_parse_key_request(const void *body, size_t len, char **name, char **cause)
{
	struct api_key_request req;

	*name = NULL;
	if (api_parse_key_mint(body, len, time(NULL), &req, cause) != 0)
		return -1;
	*name = req.name;
	return 0;
}

int
api_parse_limit(const char *text, long *limit, char **cause)
{
	*cause = NULL;
	*limit = API_PARSE_PAGE_DEFAULT;
	if (text == NULL)
		return 0;
	/* Digits only: strtol would also take spaces and a sign. */
	if (!isdigit((unsigned char)text[0]) ||
	    util_parse_long(text, 1, API_PARSE_PAGE_MAX, limit) != 0) {
		*limit = API_PARSE_PAGE_DEFAULT;
		*cause = xasprintf("limit must be an integer from 1 to %d", API_PARSE_PAGE_MAX);
		return -1;
	}
	return 0;
}

int
api_parse_delivery(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++)
		if (s[n] < 0x21 || s[n] > 0x7e || n >= 128)
			return 0;
	return n > 0;
}
