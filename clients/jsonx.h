/* jansson helpers shared by the upstream clients: typed field getters that tolerate
 * missing or mistyped members, and parsing a JSON array into a C array of structs. */
#ifndef VIBN_JSONX_H
#define VIBN_JSONX_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

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
