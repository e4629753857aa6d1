/* Chained hash table with FNV-1a hashing; doubles when the load passes 1. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xmalloc.h"
#include "tests/sim/simtab.h"

struct simtab_ent {
	struct simtab_ent *next;
	uint32_t hash;
	char *key;
	void *val;
};

struct simtab {
	struct simtab_ent **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
	int nocase;
};

static uint32_t
simtab_hash(const struct simtab *t, const char *key)
{
	uint32_t h = 2166136261u;
	unsigned char c;

	while ((c = (unsigned char)*key++) != '\0') {
		if (t->nocase && c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h ^= c;
		h *= 16777619u;
	}
	return h;
}

static int
simtab_eq(const struct simtab *t, const char *a, const char *b)
{
	return t->nocase ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

struct simtab *
simtab_new(int nocase)
{
	struct simtab *t = xcalloc(1, sizeof(*t));

	t->nbuckets = 64;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	t->nocase = nocase;
	return t;
}

void
simtab_clear(struct simtab *t)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct simtab_ent *e = t->buckets[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			free(e->key);
			free(e);
		}
		t->buckets[i] = NULL;
	}
	t->count = 0;
}

void
simtab_free(struct simtab *t)
{
	if (t == NULL)
		return;
	simtab_clear(t);
	free(t->buckets);
	free(t);
}

static struct simtab_ent **
simtab_slot(const struct simtab *t, const char *key, uint32_t h)
{
	struct simtab_ent **pp = &t->buckets[h & (t->nbuckets - 1)];

	for (; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->hash == h && simtab_eq(t, (*pp)->key, key))
			break;
	}
	return pp;
}

void *
simtab_get(const struct simtab *t, const char *key)
{
	struct simtab_ent **pp = simtab_slot(t, key, simtab_hash(t, key));

	return *pp != NULL ? (*pp)->val : NULL;
}

static void
simtab_grow(struct simtab *t)
{
	size_t n = t->nbuckets * 2;
	struct simtab_ent **nb = xcalloc(n, sizeof(*nb));

	for (size_t i = 0; i < t->nbuckets; i++) {
		struct simtab_ent *e = t->buckets[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->nbuckets = n;
}

void *
simtab_put(struct simtab *t, const char *key, void *val)
{
	uint32_t h = simtab_hash(t, key);
	struct simtab_ent **pp = simtab_slot(t, key, h), *e;
	void *old;

	if (*pp != NULL) {
		old = (*pp)->val;
		(*pp)->val = val;
		return old;
	}
	e = xmalloc(sizeof(*e));
	e->next = NULL;
	e->hash = h;
	e->key = xstrdup(key);
	e->val = val;
	*pp = e;
	if (++t->count > t->nbuckets)
		simtab_grow(t);
	return NULL;
}

void *
simtab_del(struct simtab *t, const char *key)
{
	struct simtab_ent **pp = simtab_slot(t, key, simtab_hash(t, key)), *e = *pp;
	void *val;

	if (e == NULL)
		return NULL;
	*pp = e->next;
	val = e->val;
	free(e->key);
	free(e);
	t->count--;
	return val;
}

size_t
simtab_count(const struct simtab *t)
{
	return t->count;
}

void
simtab_foreach(const struct simtab *t, simtab_visit_fn *fn, void *arg)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		for (struct simtab_ent *e = t->buckets[i]; e != NULL; e = e->next)
			fn(e->key, e->val, arg);
	}
}
