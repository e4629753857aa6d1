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

int
api_parse_key_request(const void *body, size_t len, char **name, char **cause)
{
	json_error_t err;
	json_t *root, *v;
	const char *key;

	*name = NULL;
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
		if (strcmp(key, "name") != 0) {
			/* The key is client text: quote only a safe, short rendering of it. */
			*cause = xstrdup("unknown field (only \"name\" is accepted)");
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
	*name = xstrdup(json_string_value(v));
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	return -1;
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
