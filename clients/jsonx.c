#include "jsonx.h"

#include <stdlib.h>

#include "common/xmalloc.h"

char *
jsonx_str(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

int64_t
jsonx_int(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

int
jsonx_bool(const json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

void
jsonx_set_str(json_t *obj, const char *key, const char *value)
{
	if (value != NULL)
		json_object_set_new(obj, key, json_string(value));
}

int
jsonx_parse_array(const json_t *arr, size_t elemsize, jsonx_parse_fn fn, void (*itemfree)(void *),
                  void **v, size_t *count)
{
	const json_t *item;
	char *items;
	size_t i, n = 0;

	*v = NULL;
	*count = 0;
	if (!json_is_array(arr))
		return -1;
	items = xcalloc(json_array_size(arr) + 1, elemsize);
	json_array_foreach(arr, i, item)
	{
		if (fn(item, items + n * elemsize) != 0) {
			for (size_t k = 0; k <= n; k++)
				itemfree(items + k * elemsize);
			free(items);
			return -1;
		}
		n++;
	}
	if (n == 0) {
		free(items);
		items = NULL;
	}
	*v = items;
	*count = n;
	return 0;
}
