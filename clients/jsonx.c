#include "jsonx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

enum { JSONX_STREAM_BEFORE, JSONX_STREAM_IN, JSONX_STREAM_AFTER, JSONX_STREAM_FAILED };

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

void
jsonx_stream_init(struct jsonx_stream *s, jsonx_item_fn fn, void *arg, size_t max_item)
{
	memset(s, 0, sizeof *s);
	s->fn = fn;
	s->arg = arg;
	s->max_item = max_item;
	buf_init(&s->item);
}

void
jsonx_stream_reset(struct jsonx_stream *s)
{
	buf_reset(&s->item);
	s->state = JSONX_STREAM_BEFORE;
	s->depth = s->in_str = s->esc = 0;
	s->error[0] = '\0';
}

void
jsonx_stream_free(struct jsonx_stream *s)
{
	buf_free(&s->item);
}

static int jsonx_stream_fail(struct jsonx_stream *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
jsonx_stream_fail(struct jsonx_stream *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->error, sizeof s->error, fmt, ap);
	va_end(ap);
	s->state = JSONX_STREAM_FAILED;
	return -1;
}

/* The element read so far is complete (a ',' or the closing ']' followed it): parse it and
 * hand it over. jansson checks the element itself (its brackets, strings, numbers); this
 * reader only finds where elements end. */
static int
jsonx_stream_element(struct jsonx_stream *s)
{
	json_error_t err;
	json_t *v;
	int rc;

	if (s->item.len == 0)
		return jsonx_stream_fail(s, "empty element at index %zu", s->count);
	v = json_loadb(s->item.data, s->item.len, JSON_DECODE_ANY, &err);
	if (v == NULL)
		return jsonx_stream_fail(s, "element %zu: %s", s->count, err.text);
	rc = s->fn(v, s->arg);
	json_decref(v);
	buf_reset(&s->item);
	if (rc != 0)
		return jsonx_stream_fail(s, "element %zu refused", s->count);
	s->count++;
	return 0;
}

static int
jsonx_stream_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int
jsonx_stream_feed(struct jsonx_stream *s, const char *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = data[i];

		switch (s->state) {
		case JSONX_STREAM_FAILED:
			return -1;
		case JSONX_STREAM_BEFORE:
			if (jsonx_stream_space(c))
				continue;
			if (c != '[')
				return jsonx_stream_fail(s, "not a JSON array");
			s->state = JSONX_STREAM_IN;
			s->depth = 1;
			continue;
		case JSONX_STREAM_AFTER:
			if (!jsonx_stream_space(c))
				return jsonx_stream_fail(s, "text after the array");
			continue;
		default:
			break;
		}
		/* Inside the array: find where each element ends, minding strings. */
		if (s->in_str) {
			if (s->esc)
				s->esc = 0;
			else if (c == '\\')
				s->esc = 1;
			else if (c == '"')
				s->in_str = 0;
		} else if (c == '"') {
			s->in_str = 1;
		} else if (c == '{' || c == '[') {
			s->depth++;
		} else if (c == '}' || c == ']') {
			if (s->depth == 1) {
				/* The array's own ']': "[]" holds nothing, "[1,]" lacks an element.
				 */
				if ((s->item.len > 0 || s->count > 0) &&
				    jsonx_stream_element(s) != 0)
					return -1;
				s->state = JSONX_STREAM_AFTER;
				continue;
			}
			s->depth--;
		} else if (c == ',' && s->depth == 1) {
			if (jsonx_stream_element(s) != 0)
				return -1;
			continue;
		} else if (s->depth == 1 && s->item.len == 0 && jsonx_stream_space(c)) {
			continue;
		}
		if (s->item.len >= s->max_item)
			return jsonx_stream_fail(s, "element %zu longer than %zu bytes", s->count,
			                         s->max_item);
		buf_putc(&s->item, c);
	}
	return s->state == JSONX_STREAM_FAILED ? -1 : 0;
}

void
jsonx_stream_abort(struct jsonx_stream *s, const char *why)
{
	jsonx_stream_fail(s, "%s", why);
}

int
jsonx_stream_end(struct jsonx_stream *s)
{
	if (s->state == JSONX_STREAM_AFTER)
		return 0;
	if (s->state != JSONX_STREAM_FAILED)
		jsonx_stream_fail(s, s->state == JSONX_STREAM_BEFORE ? "no JSON array"
		                                                     : "the array is not closed");
	return -1;
}
