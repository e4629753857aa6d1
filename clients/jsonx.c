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
jsonx_collect_item(const json_t *item, void *arg)
{
	struct jsonx_collect *c = arg;
	char *slot;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->items = xreallocarray(c->items, c->cap, c->elemsize);
	}
	slot = c->items + c->n * c->elemsize;
	memset(slot, 0, c->elemsize);
	if (c->fn(item, slot) != 0) {
		c->itemfree(slot);
		return -1;
	}
	c->n++;
	return 0;
}

void
jsonx_collect_finish(struct jsonx_collect *c, int ok, void **v, size_t *count)
{
	if (!ok || c->n == 0) {
		for (size_t i = 0; i < c->n; i++)
			c->itemfree(c->items + i * c->elemsize);
		free(c->items);
		c->items = NULL;
		c->n = 0;
	}
	*v = c->items;
	*count = c->n;
}

int
jsonx_parse_array(const json_t *arr, size_t elemsize, jsonx_parse_fn fn, void (*itemfree)(void *),
                  void **v, size_t *count)
{
	struct jsonx_collect c = {elemsize, fn, itemfree, NULL, 0, 0};
	const json_t *item;
	size_t i;
	int ok = json_is_array(arr);

	json_array_foreach(arr, i, item)
	{
		if (ok && jsonx_collect_item(item, &c) != 0)
			ok = 0;
	}
	jsonx_collect_finish(&c, ok, v, count);
	return ok ? 0 : -1;
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
