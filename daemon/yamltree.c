/* yamltree.c - one YAML document as a small tree, within input limits */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "log.h"
#include "validate.h"
#include "xmalloc.h"
#include "yamltree.h"

#define QLEN		96	/* quoted user text in messages */

struct anchor {
	char		*name;
	struct ynode	*node;
};

/* Nodes, strings and kid arrays are carved from blocks of this size. */
#define YBLOCK_SIZE	(256 * 1024)

struct yblock {
	struct yblock	*next;
	size_t		 used, size;
	char		 data[];
};

struct ytree {
	struct yblock	 *blocks;	/* owns every node, string and kid array */
	size_t		  nnodes;
	struct anchor	 *anchors;
	size_t		  nanchors;
	size_t		  alias_nodes;	/* the bomb check's running total */
	struct ynode	 *root;
};

/*
 * An open collection: its kids gather in the frame's own growing array
 * (kept for the next collection at this depth) and are copied into the
 * tree, exactly sized, when it ends.
 */
struct frame {
	struct ynode	*node;
	struct ynode	**kids;
	size_t		 nkids, cap;
	char		*anchor;	/* registered when the collection ends */
};

struct loader {
	struct ytree	*t;
	struct yerror	*err;
	struct frame	 stack[YTREE_MAX_DEPTH];
	size_t		 depth;
	int		 ndocs;
	int		 done;
};

static void load_fail(struct loader *, int, int, const char *, ...)
	    __attribute__((format(printf, 4, 5)));

/* Records the one problem that ends the load. */
static void
load_fail(struct loader *l, int line, int col, const char *fmt, ...)
{
	va_list	ap;

	l->err->line = line;
	l->err->col = col;
	va_start(ap, fmt);
	vsnprintf(l->err->msg, sizeof(l->err->msg), fmt, ap);
	va_end(ap);
}

/* libyaml's 0-based mark as our 1-based line, col arguments */
#define AT(m)	(int)(m)->line + 1, (int)(m)->column + 1

/* Returns len bytes, 8-aligned, that live as long as the tree. */
static void *
tree_alloc(struct ytree *t, size_t len)
{
	struct yblock	*b = t->blocks;
	size_t		 size;

	len = (len + 7) & ~(size_t)7;
	if (b == NULL || b->size - b->used < len) {
		size = len > YBLOCK_SIZE / 4 ? len : YBLOCK_SIZE;
		b = xmalloc(sizeof(*b) + size);
		b->used = 0;
		b->size = size;
		/* a large one-off goes behind the current block, which stays */
		if (size != YBLOCK_SIZE && t->blocks != NULL) {
			b->next = t->blocks->next;
			t->blocks->next = b;
		} else {
			b->next = t->blocks;
			t->blocks = b;
		}
	}
	b->used += len;
	return b->data + b->used - len;
}

/* Returns a new node, counted against the limit; NULL after load_fail(). */
static struct ynode *
node_new(struct loader *l, enum ytype type, const yaml_mark_t *m)
{
	struct ytree	*t = l->t;
	struct ynode	*n;

	if (t->nnodes == YTREE_MAX_NODES) {
		load_fail(l, AT(m),
		    "more than %d YAML nodes; refusing", YTREE_MAX_NODES);
		return NULL;
	}
	n = tree_alloc(t, sizeof(*n));
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	n->esize = 1;
	t->nnodes++;
	return n;
}

/* Puts n under the innermost open collection, or makes it the root. */
static void
attach(struct loader *l, struct ynode *n)
{
	struct frame	*f;

	if (l->depth == 0) {
		l->t->root = n;
		return;
	}
	f = &l->stack[l->depth - 1];
	if (f->nkids == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->kids = xreallocarray(f->kids, f->cap, sizeof(*f->kids));
	}
	f->kids[f->nkids++] = n;
	/* what a naive expansion of the parent would cost, aliases included */
	f->node->esize += n->esize;
}

static int
anchor_add(struct loader *l, const char *name, struct ynode *n)
{
	struct ytree	*t = l->t;

	if (t->nanchors == YTREE_MAX_ANCHORS) {
		load_fail(l, n->line, n->col, "more than %d anchors; refusing",
		    YTREE_MAX_ANCHORS);
		return -1;
	}
	t->anchors = xreallocarray(t->anchors, t->nanchors + 1,
	    sizeof(*t->anchors));
	t->anchors[t->nanchors].name = xstrdup(name);
	t->anchors[t->nanchors].node = n;
	t->nanchors++;
	return 0;
}

static struct ynode *
anchor_find(const struct ytree *t, const char *name)
{
	size_t	i;

	/* YAML lets an anchor be redefined; the latest one wins */
	for (i = t->nanchors; i > 0; i--)
		if (strcmp(t->anchors[i - 1].name, name) == 0)
			return t->anchors[i - 1].node;
	return NULL;
}

static void __attribute__((noreturn))
yaml_oom(void)
{
	/* libyaml has no allocator hook: the x-family's policy, by hand */
	log_err("libyaml: out of memory; aborting");
	abort();
}

static void
syntax_error(struct loader *l, const yaml_parser_t *p, const char *buf,
    size_t len)
{
	size_t	i, line = 1, col = 1;

	if (p->error == YAML_MEMORY_ERROR)
		yaml_oom();
	if (p->error == YAML_READER_ERROR) {
		/* reader errors carry a byte offset, not a mark */
		for (i = 0; i < p->problem_offset && i < len; i++) {
			if (buf[i] == '\n') {
				line++;
				col = 1;
			} else
				col++;
		}
		load_fail(l, (int)line, (int)col, "invalid input: %s",
		    p->problem ? p->problem : "unreadable");
	} else if (p->context != NULL)
		load_fail(l, AT(&p->problem_mark),
		    "syntax error: %s (%s at %zu:%zu)",
		    p->problem ? p->problem : "unknown", p->context,
		    p->context_mark.line + 1, p->context_mark.column + 1);
	else
		load_fail(l, AT(&p->problem_mark),
		    "syntax error: %s", p->problem ? p->problem : "unknown");
}

/* ---- one function per event kind ------------------------------------- */

static int
on_document_start(struct loader *l, const yaml_event_t *ev)
{
	if (l->ndocs++ > 0) {
		load_fail(l, AT(&ev->start_mark),
		    "more than one YAML document in the file");
		return -1;
	}
	return 0;
}

static int
on_scalar(struct loader *l, const yaml_event_t *ev)
{
	struct ynode	*n;
	const char	*anchor = (const char *)ev->data.scalar.anchor;

	if ((n = node_new(l, Y_SCALAR, &ev->start_mark)) == NULL)
		return -1;
	n->len = (uint32_t)ev->data.scalar.length;
	n->str = tree_alloc(l->t, n->len + 1);
	memcpy(n->str, ev->data.scalar.value, n->len);
	n->str[n->len] = '\0';
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    ev->data.scalar.tag == NULL;
	attach(l, n);
	return anchor == NULL ? 0 : anchor_add(l, anchor, n);
}

static int
on_collection_start(struct loader *l, const yaml_event_t *ev)
{
	struct ynode	*n;
	struct frame	*f;
	const char	*anchor;
	int		 isseq = ev->type == YAML_SEQUENCE_START_EVENT;

	if (l->depth == YTREE_MAX_DEPTH) {
		load_fail(l, AT(&ev->start_mark),
		    "nested deeper than %d levels; refusing", YTREE_MAX_DEPTH);
		return -1;
	}
	if ((n = node_new(l, isseq ? Y_SEQ : Y_MAP, &ev->start_mark)) == NULL)
		return -1;
	attach(l, n);
	anchor = isseq ? (const char *)ev->data.sequence_start.anchor :
	    (const char *)ev->data.mapping_start.anchor;
	f = &l->stack[l->depth++];
	f->node = n;
	f->nkids = 0;
	f->anchor = anchor != NULL ? xstrdup(anchor) : NULL;
	return 0;
}

static int
on_collection_end(struct loader *l)
{
	struct frame	*f = &l->stack[--l->depth];
	struct ynode	*n = f->node;
	char		*anchor = f->anchor;
	int		 rc = 0;

	f->anchor = NULL;
	if (f->nkids > 0) {
		n->kid = tree_alloc(l->t, f->nkids * sizeof(*n->kid));
		memcpy(n->kid, f->kids, f->nkids * sizeof(*n->kid));
		n->nkid = (uint32_t)f->nkids;
	}
	/* attach() charged the parent 1; now the collection's size is known */
	if (l->depth > 0)
		l->stack[l->depth - 1].node->esize += n->esize - 1;
	/*
	 * The anchor is registered only now, so an alias can never point
	 * into its own unfinished collection: the tree stays acyclic.
	 */
	if (anchor != NULL)
		rc = anchor_add(l, anchor, n);
	free(anchor);
	return rc;
}

static int
on_alias(struct loader *l, const yaml_event_t *ev)
{
	struct ynode	*n, *alias;
	const char	*anchor = (const char *)ev->data.alias.anchor;
	char		 q[QLEN];

	if ((n = anchor_find(l->t, anchor)) == NULL) {
		load_fail(l, AT(&ev->start_mark),
		    "undefined alias %s (an anchor must be complete before its "
		    "alias)", valid_quote(anchor, strlen(anchor), q, sizeof(q)));
		return -1;
	}
	/* what a naive expansion would cost: the bomb check */
	l->t->alias_nodes += n->esize;
	if (l->t->alias_nodes > YTREE_MAX_ALIAS_NODES) {
		load_fail(l, AT(&ev->start_mark),
		    "aliases expand to more than %d nodes (alias bomb?); "
		    "refusing", YTREE_MAX_ALIAS_NODES);
		return -1;
	}
	if ((alias = node_new(l, n->type, &ev->start_mark)) == NULL)
		return -1;
	/* a shallow copy: the content stays shared, the position is its own */
	alias->alias = 1;
	alias->plain = n->plain;
	alias->str = n->str;
	alias->len = n->len;
	alias->kid = n->kid;
	alias->nkid = n->nkid;
	alias->esize = n->esize;
	attach(l, alias);
	return 0;
}

static int
on_event(struct loader *l, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		l->done = 1;
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		return on_document_start(l, ev);
	case YAML_SCALAR_EVENT:
		return on_scalar(l, ev);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return on_collection_start(l, ev);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return on_collection_end(l);
	case YAML_ALIAS_EVENT:
		return on_alias(l, ev);
	default:
		return 0;
	}
}

/* ---- public ----------------------------------------------------------- */

struct ytree *
ytree_load(const char *buf, size_t len, struct yerror *err)
{
	struct loader	 l;
	struct ytree	*ret = NULL;
	yaml_parser_t	 p;
	yaml_event_t	 ev;
	int		 rc = 0;
	size_t		 i;

	memset(&l, 0, sizeof(l));
	memset(err, 0, sizeof(*err));
	l.t = xcalloc(1, sizeof(*l.t));
	l.err = err;
	if (!yaml_parser_initialize(&p))
		yaml_oom();
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!l.done && rc == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			syntax_error(&l, &p, buf, len);
			break;
		}
		rc = on_event(&l, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	while (l.depth > 0)
		free(l.stack[--l.depth].anchor);
	for (i = 0; i < YTREE_MAX_DEPTH; i++)
		free(l.stack[i].kids);
	if (l.done && rc == 0) {
		ret = l.t;
		l.t = NULL;
	}
	ytree_free(l.t);
	return ret;
}

const struct ynode *
ytree_root(const struct ytree *t)
{
	return t->root;
}

size_t
ytree_nodes(const struct ytree *t)
{
	return t->nnodes;
}

void
ytree_free(struct ytree *t)
{
	struct yblock	*b;
	size_t		 i;

	if (t == NULL)
		return;
	while ((b = t->blocks) != NULL) {
		t->blocks = b->next;
		free(b);
	}
	for (i = 0; i < t->nanchors; i++)
		free(t->anchors[i].name);
	free(t->anchors);
	free(t);
}

int
ynode_is_null(const struct ynode *n)
{
	if (n->type != Y_SCALAR || !n->plain)
		return 0;
	return n->len == 0 || strcmp(n->str, "~") == 0 ||
	    strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
	    strcmp(n->str, "NULL") == 0;
}

int
ynode_is_merge(const struct ynode *k)
{
	return k->type == Y_SCALAR && k->plain && strcmp(k->str, "<<") == 0;
}

const char *
ynode_type_name(const struct ynode *n)
{
	if (n->type == Y_MAP)
		return "a mapping";
	if (n->type == Y_SEQ)
		return "a list";
	if (ynode_is_null(n))
		return "null";
	return "a string";
}
