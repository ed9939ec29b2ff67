/* theap.c - a binary min-heap of wall-clock deadlines */
#include "config.h"

#include <stdlib.h>

#include "theap.h"
#include "xmalloc.h"

static void
place(struct theap *h, uint32_t i, struct theap_node *node)
{
	h->v[i] = node;
	node->idx = i + 1;
}

/* Moves the node at i towards the root while it is earlier than its parent. */
static void
sift_up(struct theap *h, uint32_t i)
{
	struct theap_node *node = h->v[i];

	while (i > 0 && node->when < h->v[(i - 1) / 2]->when) {
		place(h, i, h->v[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	place(h, i, node);
}

/* Moves the node at i towards the leaves while a child is earlier. */
static void
sift_down(struct theap *h, uint32_t i)
{
	struct theap_node *node = h->v[i];
	uint32_t	   c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1]->when < h->v[c]->when)
			c++;
		if (h->v[c]->when >= node->when)
			break;
		place(h, i, h->v[c]);
		i = c;
	}
	place(h, i, node);
}

void
theap_free(struct theap *h)
{
	uint32_t i;

	for (i = 0; i < h->n; i++)
		h->v[i]->idx = 0;
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

void
theap_set(struct theap *h, struct theap_node *node, time_t when)
{
	if (node->idx != 0) {
		node->when = when;
		sift_up(h, node->idx - 1);
		sift_down(h, node->idx - 1);
		return;
	}
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->v = xreallocarray(h->v, h->cap, sizeof(*h->v));
	}
	node->when = when;
	place(h, h->n++, node);
	sift_up(h, h->n - 1);
}

void
theap_del(struct theap *h, struct theap_node *node)
{
	struct theap_node *last;
	uint32_t	   i;

	if (node->idx == 0)
		return;
	i = node->idx - 1;
	node->idx = 0;
	if (i == --h->n)
		return;
	/* the last one fills the hole, then finds its place either way */
	last = h->v[h->n];
	place(h, i, last);
	sift_up(h, i);
	sift_down(h, last->idx - 1);
}

struct theap_node *
theap_top(const struct theap *h)
{
	return h->n > 0 ? h->v[0] : NULL;
}
