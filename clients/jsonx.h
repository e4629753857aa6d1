/* jansson helpers shared by the upstream clients: typed field getters that tolerate
 * missing or mistyped members, parsing a JSON array into a C array of structs, and reading a
 * JSON array that arrives in pieces one element at a time (jsonx_stream). */
#ifndef VIBN_JSONX_H
#define VIBN_JSONX_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "common/buf.h"

/* Returns a new copy of obj[key] when it is a string, else NULL (obj may be NULL). */
char *jsonx_str(const json_t *obj, const char *key);
/* obj[key] when it is an integer, else 0. */
int64_t jsonx_int(const json_t *obj, const char *key);
/* 1 when obj[key] is true. */
int jsonx_bool(const json_t *obj, const char *key);
/* Sets obj[key] to the string value, unless value is NULL. */
void jsonx_set_str(json_t *obj, const char *key, const char *value);

/* Parses one JSON value into the struct at out: 0, or -1 when its shape is unexpected
 * (the struct may be partly filled; the caller frees it). */
typedef int (*jsonx_parse_fn)(const json_t *obj, void *out);

/* Parses arr into a new array of elemsize-byte structs (*v, *count; *v is NULL when
 * empty). itemfree releases one struct. Returns 0, or -1 when arr is not an array or an
 * item does not parse (nothing is kept then). */
int jsonx_parse_array(const json_t *arr, size_t elemsize, jsonx_parse_fn fn,
                      void (*itemfree)(void *), void **v, size_t *count);

/* Builds a typed array one element at a time (as list pages or streamed elements arrive):
 * each element is parsed by fn into the next elemsize-byte struct. */
struct jsonx_collect {
	size_t elemsize;
	jsonx_parse_fn fn;
	void (*itemfree)(void *);
	char *items;
	size_t n, cap;
};

/* Parses item into the next struct of the collect c (a struct jsonx_collect *): 0, or -1
 * when it does not parse (that struct is freed; the others stay until the finish). Has the
 * shape of a jsonx_item_fn. */
int jsonx_collect_item(const json_t *item, void *c);
/* Hands the array over in *v and *count when ok (NULL when empty); otherwise frees every
 * struct and gives nothing. */
void jsonx_collect_finish(struct jsonx_collect *c, int ok, void **v, size_t *count);

/* Reads a JSON array arriving in pieces (a streamed response body) and hands each element,
 * parsed, to a callback as soon as it is complete: only one element is held at a time, so a
 * list of any length is read in the memory of its largest element. Coolify's lists are not
 * paginated (../shared/reference/coolify.md section 4): 100,000 projects are one body of tens
 * of megabytes, which neither a body buffer nor a jansson tree of it should hold. */
struct jsonx_stream;
/* One element (borrowed, valid during the call); returns 0, or -1 to stop the stream. */
typedef int (*jsonx_item_fn)(const json_t *item, void *arg);

struct jsonx_stream {
	jsonx_item_fn fn;
	void *arg;
	size_t max_item; /* longest element accepted, in bytes */
	struct buf item; /* the element being read */
	int state;       /* JSONX_STREAM_* */
	int depth;       /* brackets open, the array's own included */
	int in_str, esc; /* inside a string; after its backslash */
	size_t count;    /* elements handed over */
	char error[128]; /* why the stream failed; "" while it has not */
};

/* Prepares s; max_item bounds one element's text. */
void jsonx_stream_init(struct jsonx_stream *s, jsonx_item_fn fn, void *arg, size_t max_item);
/* Feeds the next n bytes. Returns 0, or -1 once the text is not one JSON array (or an
 * element is too long, or fn stopped it): s->error says why, and later feeds fail too. */
int jsonx_stream_feed(struct jsonx_stream *s, const char *data, size_t n);
/* After the last byte: 0 when exactly one whole array was read, else -1 (s->error). */
int jsonx_stream_end(struct jsonx_stream *s);
/* Fails the stream from outside (why is copied into s->error); later feeds fail too. */
void jsonx_stream_abort(struct jsonx_stream *s, const char *why);
/* Forgets everything read (the elements already handed over stay handed over). */
void jsonx_stream_reset(struct jsonx_stream *s);
void jsonx_stream_free(struct jsonx_stream *s);

/* Defines void fn(struct listtype *l), which frees a list of the shape jsonx_parse_array
 * fills (v, n): itemfree on each item, then the array; l is left empty. */
#define JSONX_LIST_FREE(fn, listtype, itemfree)                                                    \
	void fn(struct listtype *l)                                                                \
	{                                                                                          \
		for (size_t i = 0; i < l->n; i++)                                                  \
			itemfree(&l->v[i]);                                                        \
		free(l->v);                                                                        \
		l->v = NULL;                                                                       \
		l->n = 0;                                                                          \
	}

#endif
