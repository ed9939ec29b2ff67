/* htab.h - a hash table of pointers keyed by NUL-terminated strings */
#ifndef RENEWD_HTAB_H
#define RENEWD_HTAB_H

#include <stddef.h>

struct htab;

/* Returns an empty table (aborts on out of memory, like xmalloc). */
struct htab	*htab_new(void);
/* Frees the table, not the keys or values; NULL is a no-op. */
void		 htab_free(struct htab *);
/* Returns the value stored under key, or NULL. */
void		*htab_get(const struct htab *, const char *key);
/*
 * Stores val under key, replacing any value there. The table keeps the key
 * pointer, not a copy: it must stay valid until removed (usually it is the
 * value's own name). val must not be NULL.
 */
void		 htab_put(struct htab *, const char *key, void *val);
/* Removes key; returns the value it had, or NULL. */
void		*htab_del(struct htab *, const char *key);
/* Returns how many keys the table holds. */
size_t		 htab_count(const struct htab *);

#endif
