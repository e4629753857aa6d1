#include "conditions.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/xmalloc.h"

static const char *const cond_status_names[] = {"True", "False", "Unknown"};

json_t *
conditions_find(const json_t *conds, const char *type)
{
	size_t i;
	json_t *c;

	if (!json_is_array(conds))
		return NULL;
	json_array_foreach(conds, i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));

		if (t != NULL && strcmp(t, type) == 0)
			return c;
	}
	return NULL;
}

int
conditions_is_true(const json_t *conds, const char *type)
{
	json_t *c = conditions_find(conds, type);
	const char *st = c ? json_string_value(json_object_get(c, "status")) : NULL;

	return st != NULL && strcmp(st, "True") == 0;
}

static int
cond_field_equal(json_t *c, const char *key, const char *want)
{
	const char *have = json_string_value(json_object_get(c, key));

	return have != NULL && strcmp(have, want) == 0;
}

int
conditions_set(json_t *conds, const char *type, enum cond_status st, const char *reason,
               const char *message, long long generation, const char *now_rfc3339)
{
	const char *status = cond_status_names[st];
	json_t *c = conditions_find(conds, type);
	const char *ltt = now_rfc3339;

	if (message == NULL)
		message = "";
	if (c != NULL) {
		json_t *gen = json_object_get(c, "observedGeneration");

		if (cond_field_equal(c, "status", status) &&
		    cond_field_equal(c, "reason", reason) &&
		    cond_field_equal(c, "message", message) && json_is_integer(gen) &&
		    json_integer_value(gen) == generation)
			return 0;
		/* Same status: keep when it last transitioned. */
		if (cond_field_equal(c, "status", status) &&
		    json_string_value(json_object_get(c, "lastTransitionTime")) != NULL)
			ltt = json_string_value(json_object_get(c, "lastTransitionTime"));
	}
	json_t *n = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "type", type, "status", status,
	                      "reason", reason, "message", message, "lastTransitionTime", ltt,
	                      "observedGeneration", (json_int_t)generation);
	if (c != NULL) {
		/* Replace in place, keeping the array's order stable across writes. */
		size_t i;
		json_t *v;

		json_array_foreach(conds, i, v)
		{
			if (v == c) {
				json_array_set_new(conds, i, n);
				break;
			}
		}
	} else {
		json_array_append_new(conds, n);
	}
	return 1;
}

void
conditions_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *
conditions_parse(const char *text)
{
	json_t *v = text ? json_loads(text, 0, NULL) : NULL;

	if (!json_is_array(v)) {
		json_decref(v);
		return json_array();
	}
	return v;
}

char *
conditions_dump(const json_t *conds)
{
	char *s = json_dumps(conds, JSON_COMPACT | JSON_SORT_KEYS);

	if (s == NULL)
		return xstrdup("[]");
	return s;
}
