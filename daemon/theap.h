/* theap.h - a binary min-heap of wall-clock deadlines */
#ifndef RENEWD_THEAP_H
#define RENEWD_THEAP_H

#include <stdint.h>
#include <time.h>

/*
 * One timer for 100,000 certificates: each embeds a theap_node, the heap
 * orders them by when, and the owner arms a single event for the top. A
 * libevent timer per certificate costs about 150 bytes; a node costs 16
 * and a slot of the heap's array 8.
 */
struct theap_node {
	time_t		 when;		/* the deadline; kept after theap_del */
	uint32_t	 idx;		/* 1 + position in the heap; 0: not in it */
};

struct theap {
	struct theap_node **v;
	uint32_t	 n, cap;
};

/* Frees the array; the nodes belong to their owners. */
void	theap_free(struct theap *);
/* Puts node in the heap at when, or moves it there if it is in already. */
void	theap_set(struct theap *, struct theap_node *, time_t when);
/* Takes node out if it is in; a no-op otherwise. */
void	theap_del(struct theap *, struct theap_node *);
/* Returns the earliest node, or NULL when the heap is empty. */
struct theap_node *theap_top(const struct theap *);

/* Returns 1 if node is in a heap. */
static inline int
theap_queued(const struct theap_node *node)
{
	return node->idx != 0;
}

#endif
