/* htab.c - open addressing, linear probing, tombstones; O(1) lookups by name */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "xmalloc.h"

#define HTAB_MIN	16

struct slot {
	const char	*key;		/* NULL: empty; tombstone: removed */
	void		*val;
	uint32_t	 hash;
};

struct htab {
	struct slot	*s;
	size_t		 cap;		/* a power of two */
	size_t		 n;		/* live keys */
	size_t		 used;		/* live keys and tombstones */
};

/* A tombstone keeps probe chains intact after a removal. */
static const char tombstone[] = "";

/* FNV-1a: short keys, no adversary (the inventory is the operator's). */
static uint32_t
hash_str(const char *k)
{
	uint32_t h = 2166136261u;

	for (; *k != '\0'; k++)
		h = (h ^ (unsigned char)*k) * 16777619u;
	return h;
}

struct htab *
htab_new(void)
{
	struct htab *t = xcalloc(1, sizeof(*t));

	t->cap = HTAB_MIN;
	t->s = xcalloc(t->cap, sizeof(*t->s));
	return t;
}

void
htab_free(struct htab *t)
{
	if (t == NULL)
		return;
	free(t->s);
	free(t);
}

/* The slot holding key, or NULL. */
static struct slot *
find(const struct htab *t, const char *key, uint32_t h)
{
	size_t		 i, mask = t->cap - 1;
	struct slot	*s;

	for (i = h & mask;; i = (i + 1) & mask) {
		s = &t->s[i];
		if (s->key == NULL)
			return NULL;
		if (s->key != tombstone && s->hash == h &&
		    strcmp(s->key, key) == 0)
			return s;
	}
}

/* Puts a key known to be absent into the first free or dead slot. */
static void
insert(struct htab *t, const char *key, uint32_t h, void *val)
{
	size_t		 i, mask = t->cap - 1;
	struct slot	*s;

	for (i = h & mask;; i = (i + 1) & mask) {
		s = &t->s[i];
		if (s->key == NULL || s->key == tombstone)
			break;
	}
	if (s->key == NULL)
		t->used++;
	s->key = key;
	s->hash = h;
	s->val = val;
	t->n++;
}

/* Rebuilds into a table sized for the live keys, dropping tombstones. */
static void
rehash(struct htab *t)
{
	struct slot	*old = t->s;
	size_t		 i, oldcap = t->cap;

	while (t->cap < 4 * (t->n + 1))
		t->cap *= 2;
	while (t->cap > HTAB_MIN && t->cap > 8 * (t->n + 1))
		t->cap /= 2;
	t->s = xcalloc(t->cap, sizeof(*t->s));
	t->n = t->used = 0;
	for (i = 0; i < oldcap; i++)
		if (old[i].key != NULL && old[i].key != tombstone)
			insert(t, old[i].key, old[i].hash, old[i].val);
	free(old);
}

void *
htab_get(const struct htab *t, const char *key)
{
	struct slot *s = find(t, key, hash_str(key));

	return s == NULL ? NULL : s->val;
}

void
htab_put(struct htab *t, const char *key, void *val)
{
	uint32_t	 h = hash_str(key);
	struct slot	*s;

	if ((s = find(t, key, h)) != NULL) {
		s->key = key;
		s->val = val;
		return;
	}
	/* at most half full, counting tombstones: probes stay short */
	if (2 * (t->used + 1) > t->cap)
		rehash(t);
	insert(t, key, h, val);
}

void *
htab_del(struct htab *t, const char *key)
{
	struct slot	*s = find(t, key, hash_str(key));
	void		*val;

	if (s == NULL)
		return NULL;
	val = s->val;
	s->key = tombstone;
	s->val = NULL;
	t->n--;
	return val;
}

size_t
htab_count(const struct htab *t)
{
	return t->n;
}
