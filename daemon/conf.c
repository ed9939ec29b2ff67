/* conf.c - the YAML inventory: parse, validate, report every problem */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "conf.h"
#include "validate.h"

#define CONF_MAX_FILE		(4 * 1024 * 1024)
#define CONF_MAX_DEPTH		64	/* nesting of the YAML itself */
#define CONF_MAX_NODES		1000000	/* nodes written in the file */
#define CONF_MAX_ALIAS_NODES	100000	/* nodes reached through aliases */
#define CONF_MAX_ANCHORS	1000
#define CONF_MAX_MERGE_DEPTH	16	/* "<<" of a "<<" of a ... */
#define CONF_MAX_ERRORS		100
#define CONF_MAX_ORDERS		64
#define CONF_DEF_ORDERS		8
#define CONF_DEF_STATE_DIR	"/var/lib/renewd"
#define CONF_DEF_LISTEN		"[::]:80"
#define CONF_DEF_MODE		0600
#define QLEN			96	/* quoted user text in messages */

/*
 * The file is first loaded into this small tree from libyaml events, so
 * that anchors, depth and alias expansion are under our control; then the
 * tree is walked against the schema.  An alias is just a second pointer to
 * the anchored node, which is why nodes are owned by ctx, not by parents.
 */
enum ytype { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
	enum ytype	  type;
	int		  line, col;	/* 1-based */
	int		  plain;	/* untagged plain scalar: may mean null or merge */
	int		  alias;	/* str and kid belong to the anchored node */
	char		 *str;		/* scalar value */
	size_t		  len;
	struct ynode	**kid;		/* seq: items; map: key, value, key, value... */
	size_t		  nkid, capkid;
	size_t		  esize;	/* nodes it stands for with aliases expanded */
};

struct anchor {
	char		*name;
	struct ynode	*node;
};

struct cerr {
	int		 line, col;
	size_t		 seq;
	int		 last;		/* "too many errors" stays at the end */
	char		*msg;
};

/* where each domain was seen, to find one domain in two certificates */
struct dref {
	const char	*dom;
	size_t		 cert;
	size_t		 seq;
	const struct ynode *node;
};

struct ctx {
	const char	 *name;
	struct ynode	**nodes;
	size_t		  nnodes, capnodes;
	struct anchor	 *anchors;
	size_t		  nanchors;
	size_t		  alias_nodes;
	struct ynode	 *root;
	struct cerr	 *err;
	size_t		  nerr, caperr, errseq;
	int		  stop;		/* too many errors, bomb, or out of memory */
	int		  oom;
};

#define MAXFIELDS	12
struct fields {
	const char *const *names;
	size_t		  n;
	const struct ynode *key[MAXFIELDS];
	const struct ynode *val[MAXFIELDS];
};

static const char *const key_names[] = {
	"ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096"
};
static const char *const challenge_names[] = {
	"http-01", "dns-01", "tls-alpn-01"
};
static const char *const content_names[] = {
	"fullchain", "cert", "chain", "key", "fullchain+key"
};
static const struct {
	const char	*name;
	int		 signo;
} signals[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
	{ "TERM", SIGTERM }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
	{ "WINCH", SIGWINCH }, { "ALRM", SIGALRM }, { "CONT", SIGCONT },
	{ "KILL", SIGKILL },
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- diagnostics ------------------------------------------------------ */

static void verror(struct ctx *, int, int, const char *, va_list)
	    __attribute__((format(printf, 4, 0)));

static void
verror(struct ctx *c, int line, int col, const char *fmt, va_list ap)
{
	struct cerr	*ne;
	char		*msg = NULL;
	size_t		 i;

	if (c->stop)
		return;
	if (vasprintf(&msg, fmt, ap) == -1) {
		c->oom = c->stop = 1;
		return;
	}
	/* a node shared through aliases would otherwise repeat its errors */
	for (i = 0; i < c->nerr; i++) {
		if (c->err[i].line == line && c->err[i].col == col &&
		    strcmp(c->err[i].msg, msg) == 0) {
			free(msg);
			return;
		}
	}
	if (c->nerr == CONF_MAX_ERRORS) {
		free(msg);
		if ((msg = strdup("too many errors; not checking further")) == NULL) {
			c->oom = c->stop = 1;
			return;
		}
		c->stop = 1;
	}
	if (c->nerr == c->caperr) {
		ne = reallocarray(c->err, c->caperr ? c->caperr * 2 : 16,
		    sizeof(*ne));
		if (ne == NULL) {
			free(msg);
			c->oom = c->stop = 1;
			return;
		}
		c->err = ne;
		c->caperr = c->caperr ? c->caperr * 2 : 16;
	}
	c->err[c->nerr].line = line;
	c->err[c->nerr].col = col;
	c->err[c->nerr].seq = c->errseq++;
	c->err[c->nerr].last = c->stop;
	c->err[c->nerr].msg = msg;
	c->nerr++;
}

static void cerror(struct ctx *, int, int, const char *, ...)
	    __attribute__((format(printf, 4, 5)));
static void nerror(struct ctx *, const struct ynode *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

static void
cerror(struct ctx *c, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(c, line, col, fmt, ap);
	va_end(ap);
}

static void
nerror(struct ctx *c, const struct ynode *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(c, n->line, n->col, fmt, ap);
	va_end(ap);
}

static void errs_add(struct conf_errors *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* Appends one finished message; on allocation failure the message is lost. */
static void
errs_add(struct conf_errors *errs, const char *fmt, ...)
{
	va_list	  ap;
	char	 *msg = NULL, **nv;
	int	  r;

	if (errs == NULL)
		return;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r == -1)
		return;
	if ((nv = reallocarray(errs->msg, errs->n + 1, sizeof(*nv))) == NULL) {
		free(msg);
		return;
	}
	errs->msg = nv;
	errs->msg[errs->n++] = msg;
}

static const char *
nquote(const struct ynode *n, char *buf, size_t sz)
{
	/* user text: quoted, escaped and cut short, see valid_quote() */
	return valid_quote(n->str, n->len, buf, sz);
}

/* ---- loading the tree from libyaml events ----------------------------- */

static struct ynode *
node_new(struct ctx *c, enum ytype t, const yaml_mark_t *m)
{
	struct ynode	**nn, *n;

	if (c->nnodes == CONF_MAX_NODES) {
		cerror(c, (int)m->line + 1, (int)m->column + 1,
		    "more than %d YAML nodes; refusing", CONF_MAX_NODES);
		c->stop = 1;
		return NULL;
	}
	if (c->nnodes == c->capnodes) {
		nn = reallocarray(c->nodes, c->capnodes ? c->capnodes * 2 : 64,
		    sizeof(*nn));
		if (nn == NULL)
			goto oom;
		c->nodes = nn;
		c->capnodes = c->capnodes ? c->capnodes * 2 : 64;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL)
		goto oom;
	n->type = t;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	n->esize = 1;
	c->nodes[c->nnodes++] = n;
	return n;
oom:
	c->oom = c->stop = 1;
	return NULL;
}

static int
node_add(struct ctx *c, struct ynode *parent, struct ynode *kid)
{
	struct ynode	**nk;

	if (parent->nkid == parent->capkid) {
		nk = reallocarray(parent->kid,
		    parent->capkid ? parent->capkid * 2 : 4, sizeof(*nk));
		if (nk == NULL) {
			c->oom = c->stop = 1;
			return -1;
		}
		parent->kid = nk;
		parent->capkid = parent->capkid ? parent->capkid * 2 : 4;
	}
	parent->kid[parent->nkid++] = kid;
	return 0;
}

static int
anchor_add(struct ctx *c, const char *name, struct ynode *n, int line, int col)
{
	struct anchor	*na;
	char		*d;

	if (c->nanchors == CONF_MAX_ANCHORS) {
		cerror(c, line, col, "more than %d anchors; refusing",
		    CONF_MAX_ANCHORS);
		c->stop = 1;
		return -1;
	}
	if ((d = strdup(name)) == NULL)
		goto oom;
	if ((na = reallocarray(c->anchors, c->nanchors + 1,
	    sizeof(*na))) == NULL) {
		free(d);
		goto oom;
	}
	c->anchors = na;
	c->anchors[c->nanchors].name = d;
	c->anchors[c->nanchors].node = n;
	c->nanchors++;
	return 0;
oom:
	c->oom = c->stop = 1;
	return -1;
}

static struct ynode *
anchor_find(const struct ctx *c, const char *name)
{
	size_t	i;

	/* YAML lets an anchor be redefined; the latest one wins */
	for (i = c->nanchors; i > 0; i--)
		if (strcmp(c->anchors[i - 1].name, name) == 0)
			return c->anchors[i - 1].node;
	return NULL;
}

static void
syntax_error(struct ctx *c, const yaml_parser_t *p, const char *buf, size_t len)
{
	size_t	i, line = 1, col = 1;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		c->oom = c->stop = 1;
		break;
	case YAML_READER_ERROR:
		/* reader errors carry a byte offset, not a mark */
		for (i = 0; i < p->problem_offset && i < len; i++) {
			if (buf[i] == '\n') {
				line++;
				col = 1;
			} else
				col++;
		}
		cerror(c, (int)line, (int)col, "invalid input: %s",
		    p->problem ? p->problem : "unreadable");
		break;
	default:
		if (p->context != NULL)
			cerror(c, (int)p->problem_mark.line + 1,
			    (int)p->problem_mark.column + 1,
			    "syntax error: %s (%s at %zu:%zu)",
			    p->problem ? p->problem : "unknown",
			    p->context, p->context_mark.line + 1,
			    p->context_mark.column + 1);
		else
			cerror(c, (int)p->problem_mark.line + 1,
			    (int)p->problem_mark.column + 1, "syntax error: %s",
			    p->problem ? p->problem : "unknown");
		break;
	}
}

struct frame {
	struct ynode	*node;
	char		*anchor;
};

/* Puts n under the innermost open collection, or makes it the root. */
static int
attach(struct ctx *c, struct frame *stack, size_t depth, struct ynode *n)
{
	if (depth == 0) {
		c->root = n;
		return 0;
	}
	return node_add(c, stack[depth - 1].node, n);
}

/* Builds c->root from buf; returns 0, or -1 with the problem recorded. */
static int
load_tree(struct ctx *c, const char *buf, size_t len)
{
	yaml_parser_t	 p;
	yaml_event_t	 ev;
	struct frame	 stack[CONF_MAX_DEPTH];
	struct ynode	*n, *alias;
	const char	*anchor;
	size_t		 depth = 0, i;
	int		 rc = -1, have_ev = 0, ndocs = 0, done = 0;
	int		 line, col;

	if (!yaml_parser_initialize(&p)) {
		c->oom = c->stop = 1;
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			syntax_error(c, &p, buf, len);
			goto out;
		}
		have_ev = 1;
		line = (int)ev.start_mark.line + 1;
		col = (int)ev.start_mark.column + 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (ndocs++ > 0) {
				cerror(c, line, col,
				    "more than one YAML document in the file");
				goto out;
			}
			break;
		case YAML_SCALAR_EVENT:
			if ((n = node_new(c, Y_SCALAR, &ev.start_mark)) == NULL)
				goto out;
			if ((n->str = malloc(ev.data.scalar.length + 1)) == NULL) {
				c->oom = c->stop = 1;
				goto out;
			}
			memcpy(n->str, ev.data.scalar.value, ev.data.scalar.length);
			n->str[ev.data.scalar.length] = '\0';
			n->len = ev.data.scalar.length;
			n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
			    ev.data.scalar.tag == NULL;
			if (attach(c, stack, depth, n) == -1)
				goto out;
			if (depth > 0)
				stack[depth - 1].node->esize++;
			anchor = (const char *)ev.data.scalar.anchor;
			if (anchor != NULL &&
			    anchor_add(c, anchor, n, line, col) == -1)
				goto out;
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (depth == CONF_MAX_DEPTH) {
				cerror(c, line, col,
				    "nested deeper than %d levels; refusing",
				    CONF_MAX_DEPTH);
				goto out;
			}
			n = node_new(c, ev.type == YAML_SEQUENCE_START_EVENT ?
			    Y_SEQ : Y_MAP, &ev.start_mark);
			if (n == NULL || attach(c, stack, depth, n) == -1)
				goto out;
			anchor = ev.type == YAML_SEQUENCE_START_EVENT ?
			    (const char *)ev.data.sequence_start.anchor :
			    (const char *)ev.data.mapping_start.anchor;
			stack[depth].node = n;
			stack[depth].anchor = NULL;
			if (anchor != NULL &&
			    (stack[depth].anchor = strdup(anchor)) == NULL) {
				c->oom = c->stop = 1;
				goto out;
			}
			depth++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			/*
			 * The anchor is registered only now, so an alias can
			 * never point into its own unfinished collection: the
			 * tree stays acyclic.
			 */
			depth--;
			n = stack[depth].node;
			if (depth > 0)
				stack[depth - 1].node->esize += n->esize;
			if (stack[depth].anchor != NULL) {
				if (anchor_add(c, stack[depth].anchor, n,
				    n->line, n->col) == -1) {
					depth++;
					goto out;
				}
				free(stack[depth].anchor);
				stack[depth].anchor = NULL;
			}
			break;
		case YAML_ALIAS_EVENT:
			anchor = (const char *)ev.data.alias.anchor;
			if ((n = anchor_find(c, anchor)) == NULL) {
				char q[QLEN];

				cerror(c, line, col, "undefined alias %s (an "
				    "anchor must be complete before its alias)",
				    valid_quote(anchor, strlen(anchor), q, sizeof(q)));
				goto out;
			}
			/* what a naive expansion would cost: the bomb check */
			c->alias_nodes += n->esize;
			if (c->alias_nodes > CONF_MAX_ALIAS_NODES) {
				cerror(c, line, col, "aliases expand to more "
				    "than %d nodes (alias bomb?); refusing",
				    CONF_MAX_ALIAS_NODES);
				goto out;
			}
			if ((alias = node_new(c, n->type, &ev.start_mark)) ==
			    NULL)
				goto out;
			/*
			 * A shallow copy: the content stays shared, but a
			 * misuse of the alias is reported where it is used.
			 */
			alias->alias = 1;
			alias->plain = n->plain;
			alias->str = n->str;
			alias->len = n->len;
			alias->kid = n->kid;
			alias->nkid = n->nkid;
			alias->esize = n->esize;
			if (attach(c, stack, depth, alias) == -1)
				goto out;
			if (depth > 0)
				stack[depth - 1].node->esize += alias->esize;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		have_ev = 0;
	}
	rc = 0;
out:
	if (have_ev)
		yaml_event_delete(&ev);
	for (i = 0; i < depth; i++)
		free(stack[i].anchor);
	yaml_parser_delete(&p);
	return rc;
}

static void
tree_free(struct ctx *c)
{
	size_t	i;

	for (i = 0; i < c->nnodes; i++) {
		if (!c->nodes[i]->alias) {
			free(c->nodes[i]->str);
			free(c->nodes[i]->kid);
		}
		free(c->nodes[i]);
	}
	free(c->nodes);
	for (i = 0; i < c->nanchors; i++)
		free(c->anchors[i].name);
	free(c->anchors);
}

/* ---- typed access ----------------------------------------------------- */

static int
is_null(const struct ynode *n)
{
	if (n->type != Y_SCALAR || !n->plain)
		return 0;
	return n->len == 0 || strcmp(n->str, "~") == 0 ||
	    strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
	    strcmp(n->str, "NULL") == 0;
}

static const char *
tname(const struct ynode *n)
{
	if (n->type == Y_MAP)
		return "a mapping";
	if (n->type == Y_SEQ)
		return "a list";
	if (is_null(n))
		return "null";
	return "a string";
}

/* Returns the non-empty string value of n, or NULL after an error. */
static const char *
scalar(struct ctx *c, const char *what, const struct ynode *n)
{
	if (n->type != Y_SCALAR || is_null(n)) {
		nerror(c, n, "%s: expected a string, got %s", what, tname(n));
		return NULL;
	}
	if (n->len == 0) {
		nerror(c, n, "%s: empty string", what);
		return NULL;
	}
	if (strlen(n->str) != n->len) {
		nerror(c, n, "%s: contains a NUL byte", what);
		return NULL;
	}
	return n->str;
}

/* Returns 0 if n is a non-empty list, -1 after an error. */
static int
seq(struct ctx *c, const char *what, const struct ynode *n)
{
	if (n->type != Y_SEQ) {
		nerror(c, n, "%s: expected a list, got %s", what, tname(n));
		return -1;
	}
	if (n->nkid == 0) {
		nerror(c, n, "%s: empty list", what);
		return -1;
	}
	return 0;
}

static int
map(struct ctx *c, const char *what, const struct ynode *n)
{
	if (n->type != Y_MAP) {
		nerror(c, n, "%s: expected a mapping, got %s", what, tname(n));
		return -1;
	}
	return 0;
}

static char *
xstrdup(struct ctx *c, const char *s)
{
	char	*d;

	if ((d = strdup(s)) == NULL)
		c->oom = c->stop = 1;
	return d;
}

/* Sets *dst to a copy of the string value; 0 or -1. */
static int
get_str(struct ctx *c, const char *what, const struct ynode *n, char **dst)
{
	const char	*s;

	if ((s = scalar(c, what, n)) == NULL)
		return -1;
	free(*dst);
	if ((*dst = xstrdup(c, s)) == NULL)
		return -1;
	return 0;
}

static int
get_abspath(struct ctx *c, const char *what, const struct ynode *n, char **dst)
{
	const char	*s;
	char		 q[QLEN];

	if ((s = scalar(c, what, n)) == NULL)
		return -1;
	if (s[0] != '/') {
		nerror(c, n, "%s: not an absolute path: %s", what,
		    nquote(n, q, sizeof(q)));
		return -1;
	}
	free(*dst);
	if ((*dst = xstrdup(c, s)) == NULL)
		return -1;
	return 0;
}

static int
strv_alloc(struct ctx *c, struct conf_strv *v, size_t n)
{
	if (n == 0)
		return 0;
	if ((v->v = calloc(n, sizeof(*v->v))) == NULL) {
		c->oom = c->stop = 1;
		return -1;
	}
	return 0;
}

static void
strv_clear(struct conf_strv *v)
{
	size_t	i;

	for (i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

static int
strv_copy(struct conf_strv *dst, const struct conf_strv *src)
{
	size_t	i;

	dst->v = NULL;
	dst->n = 0;
	if (src->n == 0)
		return 0;
	if ((dst->v = calloc(src->n, sizeof(*dst->v))) == NULL)
		return -1;
	for (i = 0; i < src->n; i++) {
		if ((dst->v[i] = strdup(src->v[i])) == NULL) {
			strv_clear(dst);
			return -1;
		}
		dst->n++;
	}
	return 0;
}

/*
 * Edit distance counting a swap of neighbours as one edit ("domian" is
 * two from "domains"), bounded to short keys; used for "did you mean".
 */
static size_t
edit_distance(const char *a, const char *b)
{
	unsigned short	d[65][65];
	size_t		la = strlen(a), lb = strlen(b), i, j, best, cost;

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = (unsigned short)i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (unsigned short)j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			cost = a[i - 1] != b[j - 1];
			best = d[i - 1][j - 1] + cost;
			if (d[i - 1][j] + 1U < best)
				best = d[i - 1][j] + 1U;
			if (d[i][j - 1] + 1U < best)
				best = d[i][j - 1] + 1U;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1U < best)
				best = d[i - 2][j - 2] + 1U;
			d[i][j] = (unsigned short)best;
		}
	}
	return d[la][lb];
}

static void
unknown_key(struct ctx *c, const struct ynode *k, const struct fields *f)
{
	size_t	 i, d, best = SIZE_MAX;
	const char *hint = NULL;
	char	 q[QLEN];

	for (i = 0; i < f->n; i++) {
		d = edit_distance(k->str, f->names[i]);
		if (d < best) {
			best = d;
			hint = f->names[i];
		}
	}
	if (best <= 2)
		nerror(c, k, "unknown key %s; did you mean \"%s\"?",
		    nquote(k, q, sizeof(q)), hint);
	else
		nerror(c, k, "unknown key %s", nquote(k, q, sizeof(q)));
}

static void collect(struct ctx *, const struct ynode *, struct fields *, int,
		    int);

static void
merge_one(struct ctx *c, const struct ynode *src, struct fields *f,
    int allow_x, int depth)
{
	struct fields	sub;
	size_t		i;

	memset(&sub, 0, sizeof(sub));
	sub.names = f->names;
	sub.n = f->n;
	collect(c, src, &sub, allow_x, depth + 1);
	/* keys written in the mapping itself, or merged earlier, win */
	for (i = 0; i < f->n; i++) {
		if (f->key[i] == NULL && sub.key[i] != NULL) {
			f->key[i] = sub.key[i];
			f->val[i] = sub.val[i];
		}
	}
}

/*
 * Sorts the pairs of mapping m into f by the names f knows, reporting
 * unknown and duplicate keys; "<<" merges (YAML 1.1) are honoured so an
 * anchored mapping can be shared.  Top-level "x-" keys are left alone: a
 * place to keep anchors.
 */
static void
collect(struct ctx *c, const struct ynode *m, struct fields *f, int allow_x,
    int depth)
{
	const struct ynode *k, *v, *mkey = NULL, *mval = NULL;
	size_t		    i, j;

	for (i = 0; i + 1 < m->nkid && !c->stop; i += 2) {
		k = m->kid[i];
		v = m->kid[i + 1];
		if (k->type != Y_SCALAR) {
			nerror(c, k, "expected a string as key, got %s",
			    tname(k));
			continue;
		}
		if (k->plain && strcmp(k->str, "<<") == 0) {
			if (mkey != NULL)
				nerror(c, k, "duplicate key \"<<\" (first at "
				    "line %d)", mkey->line);
			else {
				mkey = k;
				mval = v;
			}
			continue;
		}
		if (allow_x && strncmp(k->str, "x-", 2) == 0)
			continue;
		for (j = 0; j < f->n; j++)
			if (strlen(k->str) == k->len &&
			    strcmp(k->str, f->names[j]) == 0)
				break;
		if (j == f->n) {
			unknown_key(c, k, f);
			continue;
		}
		if (f->key[j] != NULL) {
			nerror(c, k, "duplicate key \"%s\" (first at line %d)",
			    f->names[j], f->key[j]->line);
			continue;
		}
		f->key[j] = k;
		f->val[j] = v;
	}
	if (mkey == NULL || c->stop)
		return;
	if (depth >= CONF_MAX_MERGE_DEPTH) {
		nerror(c, mkey, "\"<<\" merges nested deeper than %d levels",
		    CONF_MAX_MERGE_DEPTH);
		return;
	}
	if (mval->type == Y_MAP) {
		merge_one(c, mval, f, allow_x, depth);
		return;
	}
	if (mval->type == Y_SEQ) {
		for (i = 0; i < mval->nkid && !c->stop; i++) {
			if (mval->kid[i]->type == Y_MAP)
				merge_one(c, mval->kid[i], f, allow_x, depth);
			else
				nerror(c, mval->kid[i], "<<: expected a "
				    "mapping, got %s", tname(mval->kid[i]));
		}
		return;
	}
	nerror(c, mval, "<<: expected a mapping or a list of mappings, got %s",
	    tname(mval));
}

static void
fields_init(struct fields *f, const char *const *names, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->names = names;
	f->n = n;
}

static void
require(struct ctx *c, const struct ynode *m, const struct fields *f,
    size_t idx)
{
	if (f->val[idx] == NULL)
		nerror(c, m, "missing required key \"%s\"", f->names[idx]);
}

/* ---- value checks ----------------------------------------------------- */

static int
get_name(struct ctx *c, const struct ynode *n, char **dst)
{
	const char	*s;
	char		 q[QLEN];

	if ((s = scalar(c, "name", n)) == NULL)
		return -1;
	if (!valid_name(s)) {
		nerror(c, n, "name: invalid name %s (use up to %d letters, "
		    "digits, \".\", \"_\" or \"-\"; not \".\" or \"..\")",
		    nquote(n, q, sizeof(q)), VALID_NAME_MAX);
		return -1;
	}
	return get_str(c, "name", n, dst);
}

static int
get_duration(struct ctx *c, const struct ynode *n, long *out)
{
	const char	*s;
	char		 q[QLEN];

	if ((s = scalar(c, "renew_before", n)) == NULL)
		return -1;
	if (valid_duration(s, out) == -1) {
		nerror(c, n, "renew_before: unparsable duration %s (expected "
		    "\"auto\" or e.g. \"30d\", \"1d12h\")",
		    nquote(n, q, sizeof(q)));
		return -1;
	}
	return 0;
}

/* Matches n against names; returns the index or -1 after an error. */
static int
get_enum(struct ctx *c, const char *what, const char *kind,
    const struct ynode *n, const char *const *names, size_t nnames)
{
	const char	*s;
	char		 q[QLEN], list[128];
	size_t		 i, o = 0;

	if ((s = scalar(c, what, n)) == NULL)
		return -1;
	for (i = 0; i < nnames; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	list[0] = '\0';
	for (i = 0; i < nnames && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
		    i == 0 ? "" : (i + 1 == nnames ? " or " : ", "), names[i]);
	nerror(c, n, "%s: unknown %s %s (expected %s)", what, kind,
	    nquote(n, q, sizeof(q)), list);
	return -1;
}

/* ---- sections --------------------------------------------------------- */

static const char *const http01_keys[] = { "listen", "webroot" };
enum { H_LISTEN, H_WEBROOT };

static void
parse_http01(struct ctx *c, const struct ynode *n, struct conf_http01 *h)
{
	struct fields	 f;
	const struct ynode *l, *it;
	const char	*s;
	char		 q[QLEN];
	size_t		 i;

	if (is_null(n) || map(c, "http01", n) == -1)
		return;
	fields_init(&f, http01_keys, NELEM(http01_keys));
	collect(c, n, &f, 0, 0);
	if (f.val[H_LISTEN] != NULL && f.val[H_WEBROOT] != NULL)
		nerror(c, f.key[H_WEBROOT], "webroot: \"listen\" and "
		    "\"webroot\" are mutually exclusive");
	if (f.val[H_WEBROOT] != NULL)
		get_abspath(c, "webroot", f.val[H_WEBROOT], &h->webroot);
	l = f.val[H_LISTEN];
	if (l == NULL)
		return;
	if (l->type == Y_SCALAR && !is_null(l)) {
		/* one address needs no brackets around it */
		if ((s = scalar(c, "listen", l)) == NULL)
			return;
		if (valid_listen(s, 0, NULL, NULL) != NULL) {
			nerror(c, l, "listen: bad address %s (expected "
			    "\"ipv4:port\" or \"[ipv6]:port\")",
			    nquote(l, q, sizeof(q)));
			return;
		}
		if (strv_alloc(c, &h->listen, 1) == 0 &&
		    (h->listen.v[0] = xstrdup(c, s)) != NULL)
			h->listen.n = 1;
		return;
	}
	if (seq(c, "listen", l) == -1 || strv_alloc(c, &h->listen, l->nkid))
		return;
	for (i = 0; i < l->nkid && !c->stop; i++) {
		it = l->kid[i];
		if ((s = scalar(c, "listen", it)) == NULL)
			continue;
		if (valid_listen(s, 0, NULL, NULL) != NULL) {
			nerror(c, it, "listen: bad address %s (expected "
			    "\"ipv4:port\" or \"[ipv6]:port\")",
			    nquote(it, q, sizeof(q)));
			continue;
		}
		if ((h->listen.v[h->listen.n] = xstrdup(c, s)) != NULL)
			h->listen.n++;
	}
}

static const char *const eab_keys[] = { "kid", "hmac_key" };
enum { E_KID, E_HMAC };
static const char *const ca_keys[] = {
	"name", "directory", "contact", "eab", "ca_bundle",
	"max_concurrent_orders"
};
enum { C_NAME, C_DIRECTORY, C_CONTACT, C_EAB, C_BUNDLE, C_MAXORD };

static void
parse_contact(struct ctx *c, const struct ynode *n, struct conf_ca *ca)
{
	const struct ynode *it;
	const char	*s;
	char		 q[QLEN];
	size_t		 i, cnt = 1;
	int		 single = n->type == Y_SCALAR && !is_null(n);

	if (!single) {
		if (seq(c, "contact", n) == -1)
			return;
		cnt = n->nkid;
	}
	if (strv_alloc(c, &ca->contact, cnt) == -1)
		return;
	for (i = 0; i < cnt && !c->stop; i++) {
		it = single ? n : n->kid[i];
		if ((s = scalar(c, "contact", it)) == NULL)
			continue;
		if (strncmp(s, "mailto:", 7) != 0 || s[7] == '\0') {
			nerror(c, it, "contact: expected a \"mailto:\" URL, "
			    "got %s", nquote(it, q, sizeof(q)));
			continue;
		}
		if ((ca->contact.v[ca->contact.n] = xstrdup(c, s)) != NULL)
			ca->contact.n++;
	}
}

static void
parse_eab(struct ctx *c, const struct ynode *n, struct conf_ca *ca)
{
	struct fields	 f;
	const char	*s;

	if (map(c, "eab", n) == -1)
		return;
	fields_init(&f, eab_keys, NELEM(eab_keys));
	collect(c, n, &f, 0, 0);
	require(c, n, &f, E_KID);
	require(c, n, &f, E_HMAC);
	if (f.val[E_KID] != NULL)
		get_str(c, "kid", f.val[E_KID], &ca->eab_kid);
	if (f.val[E_HMAC] != NULL &&
	    (s = scalar(c, "hmac_key", f.val[E_HMAC])) != NULL) {
		if (!valid_base64url(s, SIZE_MAX,
		    VALID_B64_PAD | VALID_B64_WHOLE))
			nerror(c, f.val[E_HMAC], "hmac_key: not base64url");
		else
			get_str(c, "hmac_key", f.val[E_HMAC],
			    &ca->eab_hmac_key);
	}
}

static void
parse_ca(struct ctx *c, const struct ynode *n, struct conf_ca *ca,
    const struct ynode **namenode)
{
	struct fields	 f;
	const struct ynode *v;
	const char	*s;
	char		 q[QLEN];
	unsigned long	 u;
	char		*end;

	ca->max_concurrent_orders = CONF_DEF_ORDERS;
	ca->line = n->line;
	if (map(c, "cas entry", n) == -1)
		return;
	fields_init(&f, ca_keys, NELEM(ca_keys));
	collect(c, n, &f, 0, 0);
	require(c, n, &f, C_NAME);
	require(c, n, &f, C_DIRECTORY);
	if ((v = f.val[C_NAME]) != NULL && get_name(c, v, &ca->name) == 0)
		*namenode = v;
	if ((v = f.val[C_DIRECTORY]) != NULL &&
	    (s = scalar(c, "directory", v)) != NULL) {
		if (!valid_https_url(s))
			nerror(c, v, "directory: not an https:// URL: %s",
			    nquote(v, q, sizeof(q)));
		else
			get_str(c, "directory", v, &ca->directory);
	}
	if ((v = f.val[C_CONTACT]) != NULL)
		parse_contact(c, v, ca);
	if ((v = f.val[C_EAB]) != NULL)
		parse_eab(c, v, ca);
	if ((v = f.val[C_BUNDLE]) != NULL)
		get_abspath(c, "ca_bundle", v, &ca->ca_bundle);
	if ((v = f.val[C_MAXORD]) != NULL &&
	    (s = scalar(c, "max_concurrent_orders", v)) != NULL) {
		errno = 0;
		u = strtoul(s, &end, 10);
		if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
		    u < 1 || u > CONF_MAX_ORDERS)
			nerror(c, v, "max_concurrent_orders: expected an "
			    "integer from 1 to %d, got %s", CONF_MAX_ORDERS,
			    nquote(v, q, sizeof(q)));
		else
			ca->max_concurrent_orders = (unsigned)u;
	}
}

static int
cmp_name_idx(const void *a, const void *b, void *arg)
{
	const char *const *names = arg;
	size_t		  i = *(const size_t *)a, j = *(const size_t *)b;
	int		  r = strcmp(names[i], names[j]);

	if (r != 0)
		return r;
	return i < j ? -1 : i > j;
}

/*
 * Reports the second and later uses of a name; names[i] may be NULL
 * (an entry whose name was bad).  Sorting keeps large inventories fast.
 */
static void
dup_names(struct ctx *c, const char *what, const char **names,
    const struct ynode **nodes, const int *lines, size_t n)
{
	size_t	*idx, i, k = 0, first = 0;
	char	 q[QLEN];

	if (n < 2)
		return;
	if ((idx = calloc(n, sizeof(*idx))) == NULL) {
		c->oom = c->stop = 1;
		return;
	}
	for (i = 0; i < n; i++)
		if (names[i] != NULL)
			idx[k++] = i;
	qsort_r(idx, k, sizeof(*idx), cmp_name_idx, names);
	for (i = 0; i < k; i++) {
		if (i == 0 || strcmp(names[idx[i]], names[idx[first]]) != 0) {
			first = i;
			continue;
		}
		nerror(c, nodes[idx[i]], "duplicate %s name %s (first at line "
		    "%d)", what, valid_quote(names[idx[i]], strlen(names[idx[i]]),
		    q, sizeof(q)), lines[idx[first]]);
	}
	free(idx);
}

static void
parse_cas(struct ctx *c, const struct ynode *n, struct conf *conf)
{
	const struct ynode **nn = NULL;
	const char	**names = NULL;
	int		 *lines = NULL;
	size_t		  i;

	if (is_null(n))
		return;
	if (n->type != Y_SEQ) {
		nerror(c, n, "cas: expected a list, got %s", tname(n));
		return;
	}
	if (n->nkid == 0)
		return;
	conf->cas = calloc(n->nkid, sizeof(*conf->cas));
	nn = calloc(n->nkid, sizeof(*nn));
	names = calloc(n->nkid, sizeof(*names));
	lines = calloc(n->nkid, sizeof(*lines));
	if (conf->cas == NULL || nn == NULL || names == NULL || lines == NULL) {
		c->oom = c->stop = 1;
		goto out;
	}
	conf->ncas = n->nkid;
	for (i = 0; i < n->nkid && !c->stop; i++) {
		parse_ca(c, n->kid[i], &conf->cas[i], &nn[i]);
		names[i] = conf->cas[i].name;
		lines[i] = conf->cas[i].line;
	}
	dup_names(c, "CA", names, nn, lines, conf->ncas);
out:
	free(nn);
	free(names);
	free(lines);
}

/* Resolves "ca:" (one name or a list) against conf->cas into out. */
static void
parse_ca_refs(struct ctx *c, const struct ynode *n, const struct conf *conf,
    struct conf_strv *out)
{
	const struct ynode *it;
	const char	*s;
	char		 q[QLEN];
	size_t		 i, j, cnt = 1;
	int		 single = n->type == Y_SCALAR && !is_null(n);

	if (!single) {
		if (seq(c, "ca", n) == -1)
			return;
		cnt = n->nkid;
	}
	strv_clear(out);
	if (strv_alloc(c, out, cnt) == -1)
		return;
	for (i = 0; i < cnt && !c->stop; i++) {
		it = single ? n : n->kid[i];
		if ((s = scalar(c, "ca", it)) == NULL)
			continue;
		if (conf_ca_find(conf, s) == NULL) {
			nerror(c, it, "ca: unknown CA %s",
			    nquote(it, q, sizeof(q)));
			continue;
		}
		for (j = 0; j < out->n; j++)
			if (strcmp(out->v[j], s) == 0)
				break;
		if (j < out->n) {
			nerror(c, it, "ca: CA %s listed twice",
			    nquote(it, q, sizeof(q)));
			continue;
		}
		if ((out->v[out->n] = xstrdup(c, s)) != NULL)
			out->n++;
	}
}

static const char *const defaults_keys[] = {
	"ca", "key", "challenge", "renew_before"
};
enum { D_CA, D_KEY, D_CHALLENGE, D_RENEW };

static void
parse_defaults(struct ctx *c, const struct ynode *n, struct conf *conf)
{
	struct fields	 f;
	int		 e;

	if (n == NULL || is_null(n) || map(c, "defaults", n) == -1)
		goto implicit;
	fields_init(&f, defaults_keys, NELEM(defaults_keys));
	collect(c, n, &f, 0, 0);
	if (f.val[D_CA] != NULL)
		parse_ca_refs(c, f.val[D_CA], conf, &conf->defaults.ca);
	if (f.val[D_KEY] != NULL && (e = get_enum(c, "key", "key type",
	    f.val[D_KEY], key_names, NELEM(key_names))) >= 0)
		conf->defaults.key = (enum key_type)e;
	if (f.val[D_CHALLENGE] != NULL && (e = get_enum(c, "challenge",
	    "challenge type", f.val[D_CHALLENGE], challenge_names,
	    NELEM(challenge_names))) >= 0)
		conf->defaults.challenge = (enum challenge_type)e;
	if (f.val[D_RENEW] != NULL)
		get_duration(c, f.val[D_RENEW], &conf->defaults.renew_before);
	if (f.val[D_CA] != NULL)
		return;
implicit:
	/* a lone CA needs no naming */
	if (conf->ncas == 1 && conf->cas[0].name != NULL &&
	    strv_alloc(c, &conf->defaults.ca, 1) == 0 &&
	    (conf->defaults.ca.v[0] = xstrdup(c, conf->cas[0].name)) != NULL)
		conf->defaults.ca.n = 1;
}

static const char *const deploy_keys[] = {
	"path", "content", "mode", "owner", "group"
};
enum { P_PATH, P_CONTENT, P_MODE, P_OWNER, P_GROUP };

static void
parse_deploy(struct ctx *c, const struct ynode *n, struct conf_deploy *d)
{
	struct fields	 f;
	const struct ynode *v;
	const char	*s;
	char		 q[QLEN];
	int		 e;

	d->mode = CONF_DEF_MODE;
	d->content = DEPLOY_FULLCHAIN;
	if (map(c, "deploy entry", n) == -1)
		return;
	fields_init(&f, deploy_keys, NELEM(deploy_keys));
	collect(c, n, &f, 0, 0);
	require(c, n, &f, P_PATH);
	if (f.val[P_PATH] != NULL)
		get_abspath(c, "path", f.val[P_PATH], &d->path);
	if (f.val[P_CONTENT] != NULL && (e = get_enum(c, "content", "content",
	    f.val[P_CONTENT], content_names, NELEM(content_names))) >= 0)
		d->content = (enum deploy_content)e;
	if ((v = f.val[P_MODE]) != NULL &&
	    (s = scalar(c, "mode", v)) != NULL &&
	    valid_octal_mode(s, &d->mode) == -1)
		nerror(c, v, "mode: bad file mode %s (expected an octal "
		    "string from \"0000\" to \"07777\", e.g. \"0640\")",
		    nquote(v, q, sizeof(q)));
	if (f.val[P_OWNER] != NULL)
		get_str(c, "owner", f.val[P_OWNER], &d->owner);
	if (f.val[P_GROUP] != NULL)
		get_str(c, "group", f.val[P_GROUP], &d->group);
}

static const char *const reload_keys[] = {
	"unit", "exec", "signal", "pidfile"
};
enum { R_UNIT, R_EXEC, R_SIGNAL, R_PIDFILE };

static void
parse_exec(struct ctx *c, const struct ynode *n, struct conf_reload *r)
{
	const char	*s;
	char		 q[QLEN];
	size_t		 i;

	if (seq(c, "exec", n) == -1 || strv_alloc(c, &r->argv, n->nkid) == -1)
		return;
	for (i = 0; i < n->nkid && !c->stop; i++) {
		if ((s = scalar(c, "exec", n->kid[i])) == NULL)
			continue;
		if (i == 0 && s[0] != '/') {
			nerror(c, n->kid[i], "exec: not an absolute path: %s",
			    nquote(n->kid[i], q, sizeof(q)));
			continue;
		}
		if ((r->argv.v[r->argv.n] = xstrdup(c, s)) != NULL)
			r->argv.n++;
	}
}

static void
parse_reload(struct ctx *c, const struct ynode *n, struct conf_reload *r)
{
	struct fields	 f;
	const struct ynode *v;
	const char	*s, *name;
	char		 q[QLEN];
	size_t		 i;
	int		 kinds;

	if (map(c, "reload entry", n) == -1)
		return;
	fields_init(&f, reload_keys, NELEM(reload_keys));
	collect(c, n, &f, 0, 0);
	kinds = (f.val[R_UNIT] != NULL) + (f.val[R_EXEC] != NULL) +
	    (f.val[R_SIGNAL] != NULL);
	if (kinds != 1) {
		nerror(c, n, "reload entry: expected exactly one of \"unit\", "
		    "\"exec\" or \"signal\"");
		return;
	}
	if ((v = f.val[R_UNIT]) != NULL) {
		r->kind = RELOAD_UNIT;
		if ((s = scalar(c, "unit", v)) == NULL)
			return;
		if (strpbrk(s, "/ \t\n") != NULL) {
			nerror(c, v, "unit: bad unit name %s",
			    nquote(v, q, sizeof(q)));
			return;
		}
		get_str(c, "unit", v, &r->unit);
	} else if ((v = f.val[R_EXEC]) != NULL) {
		r->kind = RELOAD_EXEC;
		parse_exec(c, v, r);
	} else {
		v = f.val[R_SIGNAL];
		r->kind = RELOAD_SIGNAL;
		require(c, n, &f, R_PIDFILE);
		if ((s = scalar(c, "signal", v)) != NULL) {
			name = strncmp(s, "SIG", 3) == 0 ? s + 3 : s;
			for (i = 0; i < NELEM(signals); i++)
				if (strcmp(name, signals[i].name) == 0)
					break;
			if (i == NELEM(signals))
				nerror(c, v, "signal: unknown signal %s "
				    "(expected HUP, INT, QUIT, TERM, USR1, "
				    "USR2, WINCH, ALRM, CONT or KILL)",
				    nquote(v, q, sizeof(q)));
			else
				r->signo = signals[i].signo;
		}
	}
	if (f.val[R_PIDFILE] != NULL) {
		if (r->kind != RELOAD_SIGNAL)
			nerror(c, f.key[R_PIDFILE], "pidfile: only valid "
			    "with \"signal\"");
		else
			get_abspath(c, "pidfile", f.val[R_PIDFILE],
			    &r->pidfile);
	}
}

static const char *const cert_keys[] = {
	"name", "domains", "key", "ca", "challenge", "renew_before",
	"deploy", "reload"
};
enum { K_NAME, K_DOMAINS, K_KEY, K_CA, K_CHALLENGE, K_RENEW, K_DEPLOY,
	K_RELOAD };

struct certs_state {
	struct dref	 *drefs;
	size_t		  ndrefs, capdrefs;
};

static void
parse_domains(struct ctx *c, const struct ynode *n, struct conf_cert *cert,
    size_t ci, struct certs_state *st)
{
	const struct ynode *it;
	struct dref	*nd;
	const char	*s, *why;
	char		 norm[256], q[QLEN];
	size_t		 i;

	if (seq(c, "domains", n) == -1 ||
	    strv_alloc(c, &cert->domains, n->nkid) == -1)
		return;
	for (i = 0; i < n->nkid && !c->stop; i++) {
		it = n->kid[i];
		if ((s = scalar(c, "domains", it)) == NULL)
			continue;
		if ((why = valid_domain_norm(s, norm, sizeof(norm))) != NULL) {
			nerror(c, it, "domains: bad domain name %s: %s",
			    nquote(it, q, sizeof(q)), why);
			continue;
		}
		if ((cert->domains.v[cert->domains.n] = xstrdup(c, norm)) ==
		    NULL)
			return;
		if (st->ndrefs == st->capdrefs) {
			nd = reallocarray(st->drefs, st->capdrefs ?
			    st->capdrefs * 2 : 64, sizeof(*nd));
			if (nd == NULL) {
				c->oom = c->stop = 1;
				return;
			}
			st->drefs = nd;
			st->capdrefs = st->capdrefs ? st->capdrefs * 2 : 64;
		}
		st->drefs[st->ndrefs].dom = cert->domains.v[cert->domains.n];
		st->drefs[st->ndrefs].cert = ci;
		st->drefs[st->ndrefs].seq = st->ndrefs;
		st->drefs[st->ndrefs].node = it;
		st->ndrefs++;
		cert->domains.n++;
	}
}

static void
parse_cert(struct ctx *c, const struct ynode *n, struct conf *conf,
    size_t ci, const struct ynode **namenode, struct certs_state *st)
{
	struct conf_cert *cert = &conf->certs[ci];
	struct fields	  f;
	const struct ynode *v;
	char		  q[QLEN];
	size_t		  i, first;
	int		  e;

	cert->line = n->line;
	cert->key = conf->defaults.key;
	cert->challenge = conf->defaults.challenge;
	cert->renew_before = conf->defaults.renew_before;
	if (map(c, "certificate", n) == -1)
		return;
	fields_init(&f, cert_keys, NELEM(cert_keys));
	collect(c, n, &f, 0, 0);
	require(c, n, &f, K_NAME);
	require(c, n, &f, K_DOMAINS);
	if ((v = f.val[K_NAME]) != NULL && get_name(c, v, &cert->name) == 0)
		*namenode = v;
	first = st->ndrefs;
	if ((v = f.val[K_DOMAINS]) != NULL)
		parse_domains(c, v, cert, ci, st);
	if ((v = f.val[K_KEY]) != NULL && (e = get_enum(c, "key", "key type",
	    v, key_names, NELEM(key_names))) >= 0)
		cert->key = (enum key_type)e;
	if ((v = f.val[K_CHALLENGE]) != NULL && (e = get_enum(c, "challenge",
	    "challenge type", v, challenge_names,
	    NELEM(challenge_names))) >= 0)
		cert->challenge = (enum challenge_type)e;
	if ((v = f.val[K_RENEW]) != NULL)
		get_duration(c, v, &cert->renew_before);
	/* CAs validate wildcards only through DNS (RFC 8555 section 7.1.3) */
	for (i = first; i < st->ndrefs && cert->challenge != CHALLENGE_DNS01;
	    i++)
		if (strncmp(st->drefs[i].dom, "*.", 2) == 0)
			nerror(c, st->drefs[i].node, "domains: wildcard %s "
			    "needs \"challenge: dns-01\"",
			    nquote(st->drefs[i].node, q, sizeof(q)));
	if ((v = f.val[K_CA]) != NULL)
		parse_ca_refs(c, v, conf, &cert->ca);
	else if (conf->defaults.ca.n > 0) {
		if (strv_copy(&cert->ca, &conf->defaults.ca) == -1)
			c->oom = c->stop = 1;
	} else if (conf->ncas > 1 && conf->defaults.ca.v == NULL)
		nerror(c, n, "no CA for this certificate: set \"ca\" here or "
		    "in \"defaults\" (there are %zu CAs)", conf->ncas);
	if ((v = f.val[K_DEPLOY]) != NULL && seq(c, "deploy", v) == 0) {
		if ((cert->deploy = calloc(v->nkid, sizeof(*cert->deploy))) ==
		    NULL) {
			c->oom = c->stop = 1;
			return;
		}
		cert->ndeploy = v->nkid;
		for (i = 0; i < v->nkid && !c->stop; i++)
			parse_deploy(c, v->kid[i], &cert->deploy[i]);
	}
	if ((v = f.val[K_RELOAD]) != NULL && seq(c, "reload", v) == 0) {
		if ((cert->reload = calloc(v->nkid, sizeof(*cert->reload))) ==
		    NULL) {
			c->oom = c->stop = 1;
			return;
		}
		cert->nreload = v->nkid;
		for (i = 0; i < v->nkid && !c->stop; i++)
			parse_reload(c, v->kid[i], &cert->reload[i]);
	}
}

static int
cmp_dref(const void *a, const void *b)
{
	const struct dref *x = a, *y = b;
	int		   r = strcmp(x->dom, y->dom);

	if (r != 0)
		return r;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
dup_domains(struct ctx *c, const struct conf *conf, struct certs_state *st)
{
	const struct dref *d, *first = NULL;
	const struct conf_cert *other;
	char		 q[QLEN], qn[QLEN];
	size_t		 i;

	if (st->ndrefs < 2)
		return;
	qsort(st->drefs, st->ndrefs, sizeof(*st->drefs), cmp_dref);
	for (i = 0; i < st->ndrefs && !c->stop; i++) {
		d = &st->drefs[i];
		if (first == NULL || strcmp(d->dom, first->dom) != 0) {
			first = d;
			continue;
		}
		valid_quote(d->dom, strlen(d->dom), q, sizeof(q));
		if (d->cert == first->cert) {
			nerror(c, d->node, "domains: domain %s is listed "
			    "twice", q);
			continue;
		}
		other = &conf->certs[first->cert];
		nerror(c, d->node, "domains: domain %s is already in "
		    "certificate %s (line %d)", q, other->name == NULL ?
		    "(unnamed)" : valid_quote(other->name, strlen(other->name), qn,
		    sizeof(qn)), other->line);
	}
}

static void
parse_certs(struct ctx *c, const struct ynode *key, const struct ynode *n,
    struct conf *conf)
{
	struct certs_state st;
	const struct ynode **nn = NULL;
	const char	**names = NULL;
	int		 *lines = NULL;
	size_t		  i;

	memset(&st, 0, sizeof(st));
	if (is_null(n))
		return;
	if (n->type != Y_SEQ) {
		nerror(c, n, "certificates: expected a list, got %s",
		    tname(n));
		return;
	}
	if (n->nkid == 0)
		return;
	if (conf->ncas == 0)
		nerror(c, key, "certificates: no CA to issue them; add one "
		    "under \"cas\"");
	conf->certs = calloc(n->nkid, sizeof(*conf->certs));
	nn = calloc(n->nkid, sizeof(*nn));
	names = calloc(n->nkid, sizeof(*names));
	lines = calloc(n->nkid, sizeof(*lines));
	if (conf->certs == NULL || nn == NULL || names == NULL ||
	    lines == NULL) {
		c->oom = c->stop = 1;
		goto out;
	}
	conf->ncerts = n->nkid;
	for (i = 0; i < n->nkid && !c->stop; i++) {
		parse_cert(c, n->kid[i], conf, i, &nn[i], &st);
		names[i] = conf->certs[i].name;
		lines[i] = conf->certs[i].line;
	}
	dup_names(c, "certificate", names, nn, lines, conf->ncerts);
	dup_domains(c, conf, &st);
out:
	free(st.drefs);
	free(nn);
	free(names);
	free(lines);
}

static const char *const top_keys[] = {
	"state_dir", "http01", "cas", "defaults", "certificates"
};
enum { T_STATE_DIR, T_HTTP01, T_CAS, T_DEFAULTS, T_CERTS };

static void
parse_top(struct ctx *c, struct conf *conf)
{
	struct fields	 f;
	const struct ynode *root = c->root;

	fields_init(&f, top_keys, NELEM(top_keys));
	if (root != NULL && !is_null(root)) {
		if (root->type != Y_MAP)
			nerror(c, root, "expected a mapping at the top level, "
			    "got %s", tname(root));
		else
			collect(c, root, &f, 1, 0);
	}
	/* fixed order: certificates need defaults, which need cas */
	if (f.val[T_STATE_DIR] != NULL)
		get_abspath(c, "state_dir", f.val[T_STATE_DIR],
		    &conf->state_dir);
	if (f.val[T_HTTP01] != NULL)
		parse_http01(c, f.val[T_HTTP01], &conf->http01);
	if (f.val[T_CAS] != NULL)
		parse_cas(c, f.val[T_CAS], conf);
	parse_defaults(c, f.val[T_DEFAULTS], conf);
	if (f.val[T_CERTS] != NULL)
		parse_certs(c, f.key[T_CERTS], f.val[T_CERTS], conf);
	if (conf->state_dir == NULL && !c->stop)
		conf->state_dir = xstrdup(c, CONF_DEF_STATE_DIR);
	if (conf->http01.webroot == NULL && conf->http01.listen.n == 0 &&
	    !c->stop)
		strv_clear(&conf->http01.listen);	/* given, all bad */
	if (conf->http01.webroot == NULL && conf->http01.listen.v == NULL &&
	    !c->stop && strv_alloc(c, &conf->http01.listen, 1) == 0 &&
	    (conf->http01.listen.v[0] = xstrdup(c, CONF_DEF_LISTEN)) != NULL)
		conf->http01.listen.n = 1;
}

static int
cmp_cerr(const void *a, const void *b)
{
	const struct cerr *x = a, *y = b;

	if (x->last != y->last)
		return x->last - y->last;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ---- public ----------------------------------------------------------- */

struct conf *
conf_parse(const char *name, const char *buf, size_t len,
    struct conf_errors *errs)
{
	struct ctx	 c;
	struct conf	*conf = NULL, *ret = NULL;
	size_t		 i;

	memset(&c, 0, sizeof(c));
	c.name = name != NULL ? name : "(inventory)";
	if (len > CONF_MAX_FILE) {
		errs_add(errs, "%s: larger than %d bytes; refusing", c.name,
		    CONF_MAX_FILE);
		goto out;
	}
	if ((conf = calloc(1, sizeof(*conf))) == NULL ||
	    (conf->path = strdup(c.name)) == NULL) {
		c.oom = 1;
		goto report;
	}
	if (load_tree(&c, buf == NULL ? "" : buf, buf == NULL ? 0 : len) == 0)
		parse_top(&c, conf);
report:
	/* the walk follows schema order; readers want file order */
	if (c.nerr > 1)
		qsort(c.err, c.nerr, sizeof(*c.err), cmp_cerr);
	for (i = 0; i < c.nerr; i++)
		errs_add(errs, "%s:%d:%d: %s", c.name, c.err[i].line,
		    c.err[i].col, c.err[i].msg);
	if (c.oom)
		errs_add(errs, "%s: out of memory", c.name);
	if (c.nerr == 0 && !c.oom) {
		ret = conf;
		conf = NULL;
	}
out:
	for (i = 0; i < c.nerr; i++)
		free(c.err[i].msg);
	free(c.err);
	tree_free(&c);
	conf_free(conf);
	return ret;
}

struct conf *
conf_load(const char *path, struct conf_errors *errs)
{
	struct conf	*conf = NULL;
	struct stat	 st;
	char		*buf = NULL, *nb;
	size_t		 len = 0, cap;
	ssize_t		 r;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		errs_add(errs, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		errs_add(errs, "%s: fstat: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISREG(st.st_mode) && st.st_size > CONF_MAX_FILE) {
		errs_add(errs, "%s: larger than %d bytes; refusing", path,
		    CONF_MAX_FILE);
		goto out;
	}
	/* the size is only a hint: the file may change, or be a pipe */
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
	if ((buf = malloc(cap)) == NULL) {
		errs_add(errs, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		if (len == cap) {
			if (cap > CONF_MAX_FILE) {
				errs_add(errs, "%s: larger than %d bytes; "
				    "refusing", path, CONF_MAX_FILE);
				goto out;
			}
			cap = cap * 2 > CONF_MAX_FILE + 1 ?
			    CONF_MAX_FILE + 1 : cap * 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				errs_add(errs, "%s: out of memory", path);
				goto out;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			errs_add(errs, "%s: read: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > CONF_MAX_FILE) {
		errs_add(errs, "%s: larger than %d bytes; refusing", path,
		    CONF_MAX_FILE);
		goto out;
	}
	conf = conf_parse(path, buf, len, errs);
out:
	free(buf);
	close(fd);
	return conf;
}

static void
cert_clear(struct conf_cert *cert)
{
	size_t	i;

	free(cert->name);
	strv_clear(&cert->domains);
	strv_clear(&cert->ca);
	for (i = 0; i < cert->ndeploy; i++) {
		free(cert->deploy[i].path);
		free(cert->deploy[i].owner);
		free(cert->deploy[i].group);
	}
	free(cert->deploy);
	for (i = 0; i < cert->nreload; i++) {
		free(cert->reload[i].unit);
		strv_clear(&cert->reload[i].argv);
		free(cert->reload[i].pidfile);
	}
	free(cert->reload);
	memset(cert, 0, sizeof(*cert));
}

void
conf_free(struct conf *conf)
{
	size_t	i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->ncas; i++) {
		free(conf->cas[i].name);
		free(conf->cas[i].directory);
		strv_clear(&conf->cas[i].contact);
		free(conf->cas[i].eab_kid);
		free(conf->cas[i].eab_hmac_key);
		free(conf->cas[i].ca_bundle);
	}
	free(conf->cas);
	for (i = 0; i < conf->ncerts; i++)
		cert_clear(&conf->certs[i]);
	free(conf->certs);
	strv_clear(&conf->defaults.ca);
	strv_clear(&conf->http01.listen);
	free(conf->http01.webroot);
	free(conf->state_dir);
	free(conf->path);
	free(conf);
}

void
conf_errors_clear(struct conf_errors *errs)
{
	size_t	i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++)
		free(errs->msg[i]);
	free(errs->msg);
	errs->msg = NULL;
	errs->n = 0;
}

const struct conf_ca *
conf_ca_find(const struct conf *conf, const char *name)
{
	size_t	i;

	if (conf == NULL || name == NULL)
		return NULL;
	for (i = 0; i < conf->ncas; i++)
		if (conf->cas[i].name != NULL &&
		    strcmp(conf->cas[i].name, name) == 0)
			return &conf->cas[i];
	return NULL;
}

const struct conf_cert *
conf_cert_find(const struct conf *conf, const char *name)
{
	size_t	i;

	if (conf == NULL || name == NULL)
		return NULL;
	for (i = 0; i < conf->ncerts; i++)
		if (conf->certs[i].name != NULL &&
		    strcmp(conf->certs[i].name, name) == 0)
			return &conf->certs[i];
	return NULL;
}

static int
dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	return (*dst = strdup(src)) == NULL ? -1 : 0;
}

struct conf_cert *
conf_cert_dup(const struct conf_cert *src)
{
	struct conf_cert *d = NULL, *ret = NULL;
	size_t		  i;

	if (src == NULL || (d = calloc(1, sizeof(*d))) == NULL)
		goto out;
	d->key = src->key;
	d->challenge = src->challenge;
	d->renew_before = src->renew_before;
	d->line = src->line;
	if (dup_str(&d->name, src->name) == -1 ||
	    strv_copy(&d->domains, &src->domains) == -1 ||
	    strv_copy(&d->ca, &src->ca) == -1)
		goto out;
	if (src->ndeploy > 0) {
		if ((d->deploy = calloc(src->ndeploy, sizeof(*d->deploy))) ==
		    NULL)
			goto out;
		for (i = 0; i < src->ndeploy; i++) {
			d->ndeploy++;
			d->deploy[i].content = src->deploy[i].content;
			d->deploy[i].mode = src->deploy[i].mode;
			if (dup_str(&d->deploy[i].path, src->deploy[i].path) ||
			    dup_str(&d->deploy[i].owner,
			    src->deploy[i].owner) ||
			    dup_str(&d->deploy[i].group, src->deploy[i].group))
				goto out;
		}
	}
	if (src->nreload > 0) {
		if ((d->reload = calloc(src->nreload, sizeof(*d->reload))) ==
		    NULL)
			goto out;
		for (i = 0; i < src->nreload; i++) {
			d->nreload++;
			d->reload[i].kind = src->reload[i].kind;
			d->reload[i].signo = src->reload[i].signo;
			if (dup_str(&d->reload[i].unit, src->reload[i].unit) ||
			    strv_copy(&d->reload[i].argv,
			    &src->reload[i].argv) ||
			    dup_str(&d->reload[i].pidfile,
			    src->reload[i].pidfile))
				goto out;
		}
	}
	ret = d;
	d = NULL;
out:
	conf_cert_free(d);
	return ret;
}

void
conf_cert_free(struct conf_cert *cert)
{
	if (cert == NULL)
		return;
	cert_clear(cert);
	free(cert);
}

static int
strv_equal(const struct conf_strv *a, const struct conf_strv *b)
{
	size_t	i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return 0;
	return 1;
}

/* Same set of names; within one certificate names are unique. */
static int
strv_same_set(const struct conf_strv *a, const struct conf_strv *b)
{
	size_t	i, j;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++) {
		for (j = 0; j < b->n; j++)
			if (strcmp(a->v[i], b->v[j]) == 0)
				break;
		if (j == b->n)
			return 0;
	}
	return 1;
}

int
conf_cert_same_order(const struct conf_cert *a, const struct conf_cert *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	/* SAN order does not change what is issued; CA order does */
	return a->key == b->key && a->challenge == b->challenge &&
	    strv_same_set(&a->domains, &b->domains) && strv_equal(&a->ca, &b->ca);
}

const char *
conf_key_type_name(enum key_type t)
{
	if ((size_t)t >= NELEM(key_names))
		return "unknown";
	return key_names[t];
}

const char *
conf_challenge_name(enum challenge_type t)
{
	if ((size_t)t >= NELEM(challenge_names))
		return "unknown";
	return challenge_names[t];
}
