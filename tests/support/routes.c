#include "routes.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clients/coolify.h"
#include "clients/gitea.h"
#include "common/buf.h"
#include "common/xmalloc.h"

json_t *
routes_load_spec(const char *file, char **why)
{
	const char *dir = getenv("VIBN_SPECS"), *root = getenv("VIBN_ROOT");
	char *path;
	json_error_t err;
	json_t *spec;

	if (dir != NULL)
		path = xasprintf("%s/%s", dir, file);
	else if (root != NULL)
		path = xasprintf("%s/tests/specs/%s", root, file);
	else
		path = xasprintf("tests/specs/%s", file);
	if (access(path, R_OK) != 0) {
		*why = xasprintf("spec %s is missing (looked for %s; the repo vendors them in "
		                 "tests/specs, or set VIBN_SPECS)",
		                 file, path);
		free(path);
		return NULL;
	}
	spec = json_load_file(path, 0, &err);
	if (spec == NULL)
		*why = xasprintf("%s: line %d: %s", path, err.line, err.text);
	free(path);
	return spec;
}

/* Does a comma-separated list hold name? */
static int
routes_list_has(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, ",");

		if (len == n && strncmp(p, name, n) == 0)
			return 1;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* Splits a comma-separated list into a NULL-terminated array of new strings. */
static char **
routes_split(const char *list)
{
	size_t cap = 1;
	char **v;
	size_t n = 0;

	for (const char *p = list; p != NULL && *p; p++)
		cap += *p == ',';
	v = xcalloc(cap + 1, sizeof *v);
	for (const char *p = list; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, ",");

		v[n++] = xstrndup(p, len);
		p += len;
		if (*p == ',')
			p++;
	}
	return v;
}

static void
routes_free_split(char **v)
{
	for (char **p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

/* Segment-wise template match: "{x}" matches any one non-empty segment (or any "{y}"). */
static int
routes_path_match(const char *tmpl, const char *path, size_t pathlen)
{
	const char *t = tmpl, *p = path, *pend = path + pathlen;

	while (*t != '\0' && p < pend) {
		size_t tl = strcspn(t, "/"), pl = 0;

		while (p + pl < pend && p[pl] != '/')
			pl++;
		if (t[0] == '{') {
			if (pl == 0)
				return 0;
		} else if (tl != pl || strncmp(t, p, tl) != 0) {
			return 0;
		}
		t += tl;
		p += pl;
		if ((*t == '/') != (p < pend && *p == '/'))
			return 0;
		if (*t == '/') {
			t++;
			p++;
		}
	}
	return *t == '\0' && p == pend;
}

/* Resolves a local "$ref" ("#/definitions/X", "#/components/schemas/X"); borrowed. */
static const json_t *
routes_deref(const json_t *spec, const json_t *node)
{
	for (int depth = 0; depth < 8 && json_is_object(node); depth++) {
		const char *ref = json_string_value(json_object_get(node, "$ref"));
		char *copy, *tok, *save = NULL;
		const json_t *cur = spec;

		if (ref == NULL || strncmp(ref, "#/", 2) != 0)
			return node;
		copy = xstrdup(ref + 2);
		for (tok = strtok_r(copy, "/", &save); tok != NULL && cur != NULL;
		     tok = strtok_r(NULL, "/", &save))
			cur = json_object_get(cur, tok);
		free(copy);
		node = cur;
	}
	return node;
}

/* The operation object of method + template, comparing templates segment by segment. */
static const json_t *
routes_find_op(const json_t *spec, const struct http_route *r)
{
	json_t *paths = json_object_get(spec, "paths"), *ops;
	const char *key;
	char method[16];
	size_t i;

	for (i = 0; i < sizeof method - 1 && r->method[i] != '\0'; i++)
		method[i] = (char)(r->method[i] | 0x20);
	method[i] = '\0';
	json_object_foreach(paths, key, ops)
	{
		/* Both are templates: a parameter matches a parameter only. */
		const char *a = key, *b = r->path;
		int same = 1;

		while (*a != '\0' && *b != '\0' && same) {
			size_t al = strcspn(a, "/"), bl = strcspn(b, "/");

			if (a[0] == '{' || b[0] == '{')
				same = a[0] == '{' && b[0] == '{';
			else
				same = al == bl && strncmp(a, b, al) == 0;
			a += al;
			b += bl;
			if (*a != *b)
				same = 0;
			else if (*a == '/') {
				a++;
				b++;
			}
		}
		if (same && *a == '\0' && *b == '\0')
			return json_object_get(ops, method);
	}
	return NULL;
}

/* The body schema of an operation (Swagger "in: body" or OpenAPI requestBody); borrowed. */
static const json_t *
routes_body_schema(const json_t *spec, const json_t *op)
{
	const json_t *params = json_object_get(op, "parameters"), *p, *rb;
	size_t i;

	json_array_foreach(params, i, p)
	{
		p = routes_deref(spec, p);
		if (json_is_string(json_object_get(p, "in")) &&
		    strcmp(json_string_value(json_object_get(p, "in")), "body") == 0)
			return routes_deref(spec, json_object_get(p, "schema"));
	}
	rb = routes_deref(spec, json_object_get(op, "requestBody"));
	rb = json_object_get(json_object_get(json_object_get(rb, "content"), "application/json"),
	                     "schema");
	return rb ? routes_deref(spec, rb) : NULL;
}

static int
routes_has_query(const json_t *spec, const json_t *op, const char *name)
{
	const json_t *params = json_object_get(op, "parameters"), *p;
	size_t i;

	json_array_foreach(params, i, p)
	{
		p = routes_deref(spec, p);
		if (json_is_string(json_object_get(p, "in")) &&
		    strcmp(json_string_value(json_object_get(p, "in")), "query") == 0 &&
		    json_is_string(json_object_get(p, "name")) &&
		    strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
			return 1;
	}
	return 0;
}

/* Is the (possibly dotted) field a property of schema? A map schema (additionalProperties)
 * accepts any key. */
static int
routes_has_property(const json_t *spec, const json_t *schema, const char *field)
{
	const char *dot = strchr(field, '.');
	char *head = dot ? xstrndup(field, (size_t)(dot - field)) : xstrdup(field);
	const json_t *props = json_object_get(schema, "properties"), *sub;
	int ok;

	sub = props ? json_object_get(props, head) : NULL;
	if (sub == NULL && json_is_object(json_object_get(schema, "additionalProperties")))
		ok = dot == NULL;
	else if (sub == NULL)
		ok = 0;
	else if (dot == NULL)
		ok = 1;
	else {
		sub = routes_deref(spec, sub);
		ok = json_object_get(sub, "additionalProperties") != NULL &&
		             json_object_get(sub, "properties") == NULL
		         ? 1
		         : routes_has_property(spec, sub, dot + 1);
	}
	free(head);
	return ok;
}

int
routes_check_spec(const json_t *spec, const struct http_route *r, char **why)
{
	const json_t *op = routes_find_op(spec, r), *schema, *req, *v;
	const char *lists[3] = {r->always, r->sometimes, r->one_of};
	struct buf err;
	size_t i;

	buf_init(&err);
	if (op == NULL) {
		*why = xasprintf("%s %s: no such operation in the spec", r->method, r->path);
		return -1;
	}
	if (r->query != NULL) {
		char **q = routes_split(r->query);

		for (char **p = q; *p != NULL; p++)
			if (!routes_has_query(spec, op, *p))
				buf_printf(&err, " query parameter %s not declared;", *p);
		routes_free_split(q);
	}
	schema = routes_body_schema(spec, op);
	if (schema == NULL && (r->always || r->sometimes || r->one_of))
		buf_printf(&err, " sends a body the operation does not take;");
	for (int l = 0; l < 3 && schema != NULL; l++) {
		char **f = routes_split(lists[l]);

		for (char **p = f; *p != NULL; p++)
			if (!routes_has_property(spec, schema, *p))
				buf_printf(&err, " body field %s is not a property;", *p);
		routes_free_split(f);
	}
	req = json_object_get(schema, "required");
	json_array_foreach(req, i, v)
	{
		const char *name = json_string_value(v);

		/* Coolify's spec lists environment_name AND environment_uuid as required; the
		 * server wants one of them (../shared/reference/coolify.md section 7). */
		if (name != NULL && !routes_list_has(r->always, name) &&
		    !routes_list_has(r->one_of, name))
			buf_printf(&err, " required body field %s is not always sent;", name);
	}
	if (err.len > 0) {
		*why = xasprintf("%s %s:%s", r->method, r->path, buf_str(&err));
		buf_free(&err);
		return -1;
	}
	buf_free(&err);
	return 0;
}

/* Checks body keys (and config.* one level down) against the route. */
static int
routes_body_fits(const struct http_route *r, const json_t *sent, struct buf *err)
{
	/* A copy: jansson iterates non-const objects only. */
	json_t *body = sent ? json_deep_copy(sent) : NULL;
	const char *key;
	json_t *v;
	char **always = routes_split(r->always), **one = routes_split(r->one_of);
	int ones = 0, ok = 1;

	if (body == NULL) {
		ok = r->always == NULL && r->one_of == NULL;
		if (!ok)
			buf_printf(err, "no body");
		goto out;
	}
	json_object_foreach(body, key, v)
	{
		if (!routes_list_has(r->always, key) && !routes_list_has(r->sometimes, key) &&
		    !routes_list_has(r->one_of, key)) {
			buf_printf(err, "unexpected body field %s; ", key);
			ok = 0;
		}
		if (routes_list_has(r->one_of, key))
			ones++;
		if (json_is_object(v)) {
			const char *sub;
			json_t *sv;

			json_object_foreach(v, sub, sv)
			{
				char *dotted = xasprintf("%s.%s", key, sub);

				if (!routes_list_has(r->always, dotted) &&
				    !routes_list_has(r->sometimes, dotted) &&
				    strcmp(key, "units_map") != 0) {
					buf_printf(err, "unexpected body field %s; ", dotted);
					ok = 0;
				}
				free(dotted);
			}
		}
	}
	for (char **p = always; *p != NULL; p++) {
		const char *dot = strchr(*p, '.');
		const json_t *got;

		if (dot != NULL) {
			char *head = xstrndup(*p, (size_t)(dot - *p));

			got = json_object_get(json_object_get(body, head), dot + 1);
			free(head);
		} else {
			got = json_object_get(body, *p);
		}
		if (got == NULL) {
			buf_printf(err, "missing body field %s; ", *p);
			ok = 0;
		}
	}
	if (one[0] != NULL && ones != 1) {
		buf_printf(err, "%d of %s sent (want exactly one); ", ones, r->one_of);
		ok = 0;
	}
out:
	json_decref(body);
	routes_free_split(always);
	routes_free_split(one);
	return ok;
}

int
routes_match(const struct http_route *table, size_t n, const char *method, const char *path,
             const json_t *body, char **why)
{
	size_t pathlen = strcspn(path, "?");
	struct buf err;

	buf_init(&err);
	for (size_t i = 0; i < n; i++) {
		const struct http_route *r = &table[i];
		const char *q = path[pathlen] == '?' ? path + pathlen + 1 : NULL;
		int ok = 1;

		if (strcmp(r->method, method) != 0 || !routes_path_match(r->path, path, pathlen))
			continue;
		while (q != NULL && *q != '\0') {
			size_t kl = strcspn(q, "=&");
			char *k = xstrndup(q, kl);

			if (!routes_list_has(r->query, k)) {
				buf_printf(&err, "query %s not in the table; ", k);
				ok = 0;
			}
			free(k);
			q += strcspn(q, "&");
			if (*q == '&')
				q++;
		}
		if (ok && routes_body_fits(r, body, &err)) {
			buf_free(&err);
			return (int)i;
		}
	}
	*why = xasprintf("%s %s: %s", method, path, err.len ? buf_str(&err) : "no route");
	buf_free(&err);
	return -1;
}

/* ---- tracing what the clients send ---- */

struct routes_seen {
	const char *upstream;
	const struct http_route *table;
	size_t n;
	int used[64];
	struct buf errors;
	int nerrors;
};

static pthread_mutex_t routes_mu = PTHREAD_MUTEX_INITIALIZER;
static struct routes_seen routes_seen[2];

static void
routes_tracer(const char *upstream, const char *method, const char *path, const json_t *body,
              void *arg)
{
	struct routes_seen *rs = NULL;
	char *why = NULL;
	int i;

	for (int k = 0; k < 2; k++)
		if (strcmp(routes_seen[k].upstream, upstream) == 0)
			rs = &routes_seen[k];
	if (rs == NULL)
		return;
	i = routes_match(rs->table, rs->n, method, path, body, &why);
	pthread_mutex_lock(&routes_mu);
	if (i >= 0 && i < 64) {
		rs->used[i]++;
	} else {
		buf_printf(&rs->errors, "%s: %s\n", upstream, why);
		rs->nerrors++;
	}
	pthread_mutex_unlock(&routes_mu);
	free(why);
}

void
routes_trace_start(void)
{
	routes_seen[0] = (struct routes_seen){.upstream = "gitea"};
	routes_seen[0].table = gitea_routes(&routes_seen[0].n);
	routes_seen[1] = (struct routes_seen){.upstream = "coolify"};
	routes_seen[1].table = coolify_routes(&routes_seen[1].n);
	buf_init(&routes_seen[0].errors);
	buf_init(&routes_seen[1].errors);
	http_set_tracer(routes_tracer, NULL);
}

int
routes_trace_report(const char *upstream, int require_all)
{
	int problems = 0;

	pthread_mutex_lock(&routes_mu);
	for (int k = 0; k < 2; k++) {
		struct routes_seen *rs = &routes_seen[k];

		if (rs->upstream == NULL || strcmp(rs->upstream, upstream) != 0)
			continue;
		if (rs->nerrors > 0)
			fprintf(stderr, "%s", buf_str(&rs->errors));
		problems += rs->nerrors;
		for (size_t i = 0; require_all && i < rs->n; i++) {
			if (rs->used[i] == 0) {
				fprintf(stderr, "%s: %s %s was never sent by the tests\n", upstream,
				        rs->table[i].method, rs->table[i].path);
				problems++;
			}
		}
	}
	pthread_mutex_unlock(&routes_mu);
	return problems;
}

void
routes_trace_stop(void)
{
	http_set_tracer(NULL, NULL);
	for (int k = 0; k < 2; k++) {
		buf_free(&routes_seen[k].errors);
		memset(&routes_seen[k], 0, sizeof routes_seen[k]);
	}
}
