/* fuzz_yamltree.c - libFuzzer target: any bytes through the YAML tree loader */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "yamltree.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct walk {
	size_t	nodes;		/* reached without going through an alias */
	size_t	alias_nodes;	/* what the aliases stand for */
};

/*
 * Checks what the schema relies on: positions are 1-based, mappings hold
 * pairs, scalars are terminated, sizes add up, nesting is bounded, and
 * every node is reached exactly once from the root when aliases are not
 * followed (so the tree is a tree).  Returns n's expanded size.
 */
static size_t
walk(const struct ynode *n, struct walk *w, size_t depth)
{
	size_t	i, esize = 1;

	if (n == NULL || n->line < 1 || n->col < 1 || depth > YTREE_MAX_DEPTH)
		__builtin_trap();
	w->nodes++;
	(void)ynode_is_null(n);
	(void)ynode_type_name(n);
	if (n->type == Y_SCALAR) {
		if (n->str == NULL || n->str[n->len] != '\0' || n->nkid != 0)
			__builtin_trap();
		(void)ynode_is_merge(n);
	} else if (n->type == Y_MAP && n->nkid % 2 != 0)
		__builtin_trap();
	if (n->alias) {
		w->alias_nodes += n->esize;
		return n->esize;
	}
	for (i = 0; i < n->nkid; i++)
		esize += walk(n->kid[i], w, depth + 1);
	if (esize != n->esize)
		__builtin_trap();
	return esize;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yerror	 err;
	struct ytree	*t;
	struct walk	 w = { 0, 0 };

	t = ytree_load((const char *)data, size, &err);
	if (t == NULL) {
		/* a refusal must say why, and where */
		if (err.line < 1 || err.col < 1 || err.msg[0] == '\0' ||
		    memchr(err.msg, '\0', sizeof(err.msg)) == NULL)
			__builtin_trap();
		return 0;
	}
	if (ytree_root(t) != NULL)
		walk(ytree_root(t), &w, 0);
	if (w.nodes != ytree_nodes(t) || w.nodes > YTREE_MAX_NODES ||
	    w.alias_nodes > YTREE_MAX_ALIAS_NODES)
		__builtin_trap();
	ytree_free(t);
	return 0;
}
