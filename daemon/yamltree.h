/* yamltree.h - one YAML document as a small tree, within input limits */
#ifndef RENEWD_YAMLTREE_H
#define RENEWD_YAMLTREE_H

#include <stddef.h>
#include <stdint.h>

/*
 * libyaml's events are loaded into this tree so that anchors, depth and
 * alias expansion stay under our control; a schema walks the tree after.
 * An alias is a node of its own (so a misuse is reported where the alias
 * stands) that shares the anchored node's content.  An anchor is only
 * registered once its node is complete, so the tree is acyclic, and every
 * alias is charged the size of what it stands for, so an alias bomb is
 * refused while loading, before anything expands it.
 */

#define YTREE_MAX_DEPTH		64	/* nesting of the YAML itself */
#define YTREE_MAX_NODES		1000000	/* nodes written in the file */
#define YTREE_MAX_ALIAS_NODES	100000	/* nodes reached through aliases */
#define YTREE_MAX_ANCHORS	1000

enum ytype { Y_SCALAR, Y_SEQ, Y_MAP };

/*
 * 40 bytes, carved with its strings and kid arrays from the tree's own
 * blocks: 100,000 certificates are 600,000 nodes, and a reload holds the
 * tree beside the running inventory.
 */
struct ynode {
	enum ytype	  type:8;
	unsigned	  plain:1;	/* untagged plain scalar: may mean null or merge */
	unsigned	  alias:1;	/* str and kid belong to the anchored node */
	int		  line, col;	/* 1-based */
	uint32_t	  len;		/* < the inventory's size limit */
	uint32_t	  nkid;		/* <= YTREE_MAX_NODES */
	uint32_t	  esize;	/* nodes it stands for with aliases expanded */
	char		 *str;		/* scalar value, NUL-terminated (may hold NULs) */
	struct ynode	**kid;		/* seq: items; map: key, value, key, value... */
};

/* Why a document was refused: the first problem and where it is. */
struct yerror {
	int		  line, col;	/* 1-based */
	char		  msg[256];
};

struct ytree;

/* Loads buf (one YAML document); returns the tree, or NULL and fills err. */
struct ytree	*ytree_load(const char *buf, size_t len, struct yerror *err);
/* Returns the document's root node, or NULL for an empty document. */
const struct ynode *ytree_root(const struct ytree *);
/* Returns how many nodes the tree holds, aliases included. */
size_t		 ytree_nodes(const struct ytree *);
/* Frees the tree and all its nodes; NULL is a no-op. */
void		 ytree_free(struct ytree *);

/* Returns 1 if n is a plain null scalar: "", "~", "null", "Null", "NULL". */
int		 ynode_is_null(const struct ynode *);
/* Returns 1 if k is the YAML 1.1 merge key: a plain, untagged "<<". */
int		 ynode_is_merge(const struct ynode *);
/* Returns "a mapping", "a list", "null" or "a string", for messages. */
const char	*ynode_type_name(const struct ynode *);

#endif
