/* conf_schema.c - walking a YAML tree against a schema, every problem found */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_schema.h"
#include "validate.h"
#include "xmalloc.h"

#define CS_MAX_MERGE_DEPTH	16	/* "<<" of a "<<" of a ... */

struct cs_err {
	const char	*file;		/* c->name when it was recorded */
	int		 fileno;	/* c->fileno then: files sort in read order */
	int		 line, col;
	size_t		 seq;
	int		 last;		/* "too many errors" stays at the end */
	char		*msg;
};

/* ---- problems --------------------------------------------------------- */

void
cs_init(struct cs *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
}

void
cs_set_file(struct cs *c, const char *name, int fileno)
{
	c->name = name;
	c->fileno = fileno;
}

static void cs_verror(struct cs *, int, int, const char *, va_list)
	    __attribute__((format(printf, 4, 0)));

static void
cs_verror(struct cs *c, int line, int col, const char *fmt, va_list ap)
{
	char	*msg;
	size_t	 i;

	if (c->stop)
		return;
	msg = xvasprintf(fmt, ap);
	/* a node shared through aliases would otherwise repeat its errors */
	for (i = 0; i < c->nerr; i++) {
		if (c->err[i].fileno == c->fileno &&
		    c->err[i].line == line && c->err[i].col == col &&
		    strcmp(c->err[i].msg, msg) == 0) {
			free(msg);
			return;
		}
	}
	if (c->nerr == CS_MAX_ERRORS) {
		free(msg);
		msg = xstrdup("too many errors; not checking further");
		c->stop = 1;
	}
	if (c->nerr == c->caperr) {
		c->caperr = c->caperr ? c->caperr * 2 : 16;
		c->err = xreallocarray(c->err, c->caperr, sizeof(*c->err));
	}
	c->err[c->nerr].file = c->name;
	c->err[c->nerr].fileno = c->fileno;
	c->err[c->nerr].line = line;
	c->err[c->nerr].col = col;
	c->err[c->nerr].seq = c->seq++;
	c->err[c->nerr].last = c->stop;
	c->err[c->nerr].msg = msg;
	c->nerr++;
}

void
cs_error_at(struct cs *c, int line, int col, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	cs_verror(c, line, col, fmt, ap);
	va_end(ap);
}

void
cs_error(struct cs *c, const struct ynode *n, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	cs_verror(c, n->line, n->col, fmt, ap);
	va_end(ap);
}

static int
cmp_err(const void *a, const void *b)
{
	const struct cs_err *x = a, *y = b;

	if (x->last != y->last)
		return x->last - y->last;
	if (x->fileno != y->fileno)
		return x->fileno < y->fileno ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

size_t
cs_report(struct cs *c, struct conf_errors *errs)
{
	size_t	i;

	/* the walk follows schema order; readers want file order */
	if (c->nerr > 1)
		qsort(c->err, c->nerr, sizeof(*c->err), cmp_err);
	for (i = 0; i < c->nerr; i++)
		cs_errs_add(errs, "%s:%d:%d: %s", c->err[i].file, c->err[i].line,
		    c->err[i].col, c->err[i].msg);
	return c->nerr;
}

void
cs_clear(struct cs *c)
{
	size_t	i;

	for (i = 0; i < c->nerr; i++)
		free(c->err[i].msg);
	free(c->err);
	c->err = NULL;
	c->nerr = c->caperr = 0;
}

void
cs_errs_add(struct conf_errors *errs, const char *fmt, ...)
{
	va_list	 ap;

	if (errs == NULL)
		return;
	errs->msg = xreallocarray(errs->msg, errs->n + 1, sizeof(*errs->msg));
	va_start(ap, fmt);
	errs->msg[errs->n++] = xvasprintf(fmt, ap);
	va_end(ap);
}

const char *
cs_quote(const struct ynode *n, char *buf, size_t sz)
{
	return valid_quote(n->str, n->len, buf, sz);
}

/* ---- typed getters ---------------------------------------------------- */

const char *
cs_scalar(struct cs *c, const char *what, const struct ynode *n)
{
	if (n->type != Y_SCALAR || ynode_is_null(n)) {
		cs_error(c, n, "%s: expected a string, got %s", what,
		    ynode_type_name(n));
		return NULL;
	}
	if (n->len == 0) {
		cs_error(c, n, "%s: empty string", what);
		return NULL;
	}
	if (strlen(n->str) != n->len) {
		cs_error(c, n, "%s: contains a NUL byte", what);
		return NULL;
	}
	return n->str;
}

/* Returns 0 if n is of type t (a list or a mapping), else -1 after an error. */
static int
want(struct cs *c, const char *what, const struct ynode *n, enum ytype t)
{
	if (n->type == t)
		return 0;
	cs_error(c, n, "%s: expected %s, got %s", what,
	    t == Y_SEQ ? "a list" : "a mapping", ynode_type_name(n));
	return -1;
}

int
cs_seq(struct cs *c, const char *what, const struct ynode *n)
{
	if (want(c, what, n, Y_SEQ) == -1)
		return -1;
	if (n->nkid == 0) {
		cs_error(c, n, "%s: empty list", what);
		return -1;
	}
	return 0;
}

int
cs_map(struct cs *c, const char *what, const struct ynode *n)
{
	return want(c, what, n, Y_MAP);
}

size_t
cs_items(struct cs *c, const char *what, const struct ynode *n)
{
	if (n->type == Y_SCALAR && !ynode_is_null(n))
		return 1;
	return cs_seq(c, what, n) == -1 ? 0 : n->nkid;
}

const struct ynode *
cs_item(const struct ynode *n, size_t i)
{
	return n->type == Y_SEQ ? n->kid[i] : n;
}

size_t
cs_optlist(struct cs *c, const char *what, const struct ynode *n)
{
	if (ynode_is_null(n) || want(c, what, n, Y_SEQ) == -1)
		return 0;
	return n->nkid;
}

int
cs_str(struct cs *c, const char *what, const struct ynode *n, char **dst)
{
	const char	*s;

	if ((s = cs_scalar(c, what, n)) == NULL)
		return -1;
	free(*dst);
	*dst = xstrdup(s);
	return 0;
}

int
cs_abspath(struct cs *c, const char *what, const struct ynode *n, char **dst)
{
	const char	*s;
	char		 q[CS_QLEN];

	if ((s = cs_scalar(c, what, n)) == NULL)
		return -1;
	if (s[0] != '/') {
		cs_error(c, n, "%s: not an absolute path: %s", what,
		    cs_quote(n, q, sizeof(q)));
		return -1;
	}
	return cs_str(c, what, n, dst);
}

int
cs_name(struct cs *c, const struct ynode *n, char **dst)
{
	const char	*s;
	char		 q[CS_QLEN];

	if ((s = cs_scalar(c, "name", n)) == NULL)
		return -1;
	if (!valid_name(s)) {
		cs_error(c, n, "name: invalid name %s (use up to %d letters, "
		    "digits, \".\", \"_\" or \"-\"; not \".\" or \"..\")",
		    cs_quote(n, q, sizeof(q)), VALID_NAME_MAX);
		return -1;
	}
	return cs_str(c, "name", n, dst);
}

int
cs_uint(struct cs *c, const char *what, const struct ynode *n,
    unsigned long min, unsigned long max, unsigned long *out)
{
	const char	*s;
	char		*end, q[CS_QLEN];
	unsigned long	 u;

	if ((s = cs_scalar(c, what, n)) == NULL)
		return -1;
	errno = 0;
	u = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    u < min || u > max) {
		cs_error(c, n, "%s: expected an integer from %lu to %lu, got %s",
		    what, min, max, cs_quote(n, q, sizeof(q)));
		return -1;
	}
	*out = u;
	return 0;
}

int
cs_enum(struct cs *c, const char *what, const char *kind,
    const struct ynode *n, const char *const *names, size_t nnames)
{
	const char	*s;
	char		 q[CS_QLEN], list[128];
	size_t		 i, o = 0;

	if ((s = cs_scalar(c, what, n)) == NULL)
		return -1;
	for (i = 0; i < nnames; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	list[0] = '\0';
	for (i = 0; i < nnames && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
		    i == 0 ? "" : (i + 1 == nnames ? " or " : ", "), names[i]);
	cs_error(c, n, "%s: unknown %s %s (expected %s)", what, kind,
	    cs_quote(n, q, sizeof(q)), list);
	return -1;
}

int
cs_duration(struct cs *c, const char *what, const struct ynode *n, long *out)
{
	const char	*s;
	char		 q[CS_QLEN];

	if ((s = cs_scalar(c, what, n)) == NULL)
		return -1;
	if (valid_duration(s, out) == -1) {
		cs_error(c, n, "%s: unparsable duration %s (expected "
		    "\"auto\" or e.g. \"30d\", \"1d12h\")", what,
		    cs_quote(n, q, sizeof(q)));
		return -1;
	}
	return 0;
}

/* ---- keys of a mapping ------------------------------------------------ */

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
unknown_key(struct cs *c, const struct ynode *k, const struct cs_fields *f)
{
	size_t		 i, d, best = SIZE_MAX;
	const char	*hint = NULL;
	char		 q[CS_QLEN];

	for (i = 0; i < f->n; i++) {
		d = edit_distance(k->str, f->names[i]);
		if (d < best) {
			best = d;
			hint = f->names[i];
		}
	}
	if (best <= 2)
		cs_error(c, k, "unknown key %s; did you mean \"%s\"?",
		    cs_quote(k, q, sizeof(q)), hint);
	else
		cs_error(c, k, "unknown key %s", cs_quote(k, q, sizeof(q)));
}

void
cs_fields_init(struct cs_fields *f, const char *const *names, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->names = names;
	f->n = n;
}

static void collect(struct cs *, const struct ynode *, struct cs_fields *,
		    int, int);

static void
merge_one(struct cs *c, const struct ynode *src, struct cs_fields *f,
    int allow_x, int depth)
{
	struct cs_fields sub;
	size_t		 i;

	cs_fields_init(&sub, f->names, f->n);
	collect(c, src, &sub, allow_x, depth + 1);
	/* keys written in the mapping itself, or merged earlier, win */
	for (i = 0; i < f->n; i++) {
		if (f->key[i] == NULL && sub.key[i] != NULL) {
			f->key[i] = sub.key[i];
			f->val[i] = sub.val[i];
		}
	}
}

/* Follows the "<<" of a mapping: one mapping or a list of them. */
static void
merge(struct cs *c, const struct ynode *mkey, const struct ynode *mval,
    struct cs_fields *f, int allow_x, int depth)
{
	size_t	i;

	if (depth >= CS_MAX_MERGE_DEPTH) {
		cs_error(c, mkey, "\"<<\" merges nested deeper than %d levels",
		    CS_MAX_MERGE_DEPTH);
		return;
	}
	if (mval->type == Y_MAP) {
		merge_one(c, mval, f, allow_x, depth);
		return;
	}
	if (mval->type != Y_SEQ) {
		cs_error(c, mval, "<<: expected a mapping or a list of "
		    "mappings, got %s", ynode_type_name(mval));
		return;
	}
	for (i = 0; i < mval->nkid && !c->stop; i++) {
		if (mval->kid[i]->type == Y_MAP)
			merge_one(c, mval->kid[i], f, allow_x, depth);
		else
			cs_error(c, mval->kid[i], "<<: expected a mapping, "
			    "got %s", ynode_type_name(mval->kid[i]));
	}
}

/* Returns the index of key k in f, or f->n. */
static size_t
field_index(const struct ynode *k, const struct cs_fields *f)
{
	size_t	j;

	if (strlen(k->str) != k->len)
		return f->n;
	for (j = 0; j < f->n; j++)
		if (strcmp(k->str, f->names[j]) == 0)
			break;
	return j;
}

static void
collect(struct cs *c, const struct ynode *m, struct cs_fields *f,
    int allow_x, int depth)
{
	const struct ynode *k, *v, *mkey = NULL, *mval = NULL;
	size_t		    i, j;

	for (i = 0; i + 1 < m->nkid && !c->stop; i += 2) {
		k = m->kid[i];
		v = m->kid[i + 1];
		if (k->type != Y_SCALAR) {
			cs_error(c, k, "expected a string as key, got %s",
			    ynode_type_name(k));
		} else if (ynode_is_merge(k)) {
			if (mkey != NULL)
				cs_error(c, k, "duplicate key \"<<\" (first at "
				    "line %d)", mkey->line);
			else {
				mkey = k;
				mval = v;
			}
		} else if (allow_x && strncmp(k->str, "x-", 2) == 0) {
			continue;
		} else if ((j = field_index(k, f)) == f->n) {
			unknown_key(c, k, f);
		} else if (f->key[j] != NULL) {
			cs_error(c, k, "duplicate key \"%s\" (first at line "
			    "%d)", f->names[j], f->key[j]->line);
		} else {
			f->key[j] = k;
			f->val[j] = v;
		}
	}
	if (mkey != NULL && !c->stop)
		merge(c, mkey, mval, f, allow_x, depth);
}

void
cs_collect(struct cs *c, const struct ynode *m, struct cs_fields *f,
    int allow_x)
{
	collect(c, m, f, allow_x, 0);
}

int
cs_section(struct cs *c, const char *what, const struct ynode *n,
    struct cs_fields *f, const char *const *names, size_t nnames)
{
	cs_fields_init(f, names, nnames);
	if (cs_map(c, what, n) == -1)
		return -1;
	collect(c, n, f, 0, 0);
	return 0;
}

void
cs_require(struct cs *c, const struct ynode *m, const struct cs_fields *f,
    size_t idx)
{
	if (f->val[idx] == NULL)
		cs_error(c, m, "missing required key \"%s\"", f->names[idx]);
}

/* ---- unique names ----------------------------------------------------- */

static int
cmp_named(const void *a, const void *b)
{
	const struct cs_named *const *x = a, *const *y = b;
	int		       r = strcmp((*x)->name, (*y)->name);

	/* equal names stay in file order: the array's own order */
	if (r != 0)
		return r;
	return *x < *y ? -1 : *x > *y;
}

void
cs_dup_names(struct cs *c, const char *what, const struct cs_named *named,
    size_t n)
{
	const struct cs_named **sorted;
	const char	*name = c->name;
	int		 fileno = c->fileno;
	size_t		 i, k = 0, first = 0;
	char		 q[CS_QLEN];

	/* sorting keeps large inventories fast; bad names are left out */
	sorted = xcalloc(n, sizeof(*sorted));
	for (i = 0; i < n; i++)
		if (named[i].name != NULL)
			sorted[k++] = &named[i];
	qsort(sorted, k, sizeof(*sorted), cmp_named);
	for (i = 1; i < k; i++) {
		if (strcmp(sorted[i]->name, sorted[first]->name) != 0) {
			first = i;
			continue;
		}
		valid_quote(sorted[i]->name, strlen(sorted[i]->name), q,
		    sizeof(q));
		if (sorted[i]->file == NULL ||
		    sorted[i]->fileno == sorted[first]->fileno) {
			cs_error(c, sorted[i]->node, "duplicate %s name %s "
			    "(first at line %d)", what, q, sorted[first]->line);
			continue;
		}
		/* conf.d: the other place is in another file; name both */
		cs_set_file(c, sorted[i]->file, sorted[i]->fileno);
		cs_error(c, sorted[i]->node, "%s %s already defined at %s:%d:%d",
		    what, q, sorted[first]->file, sorted[first]->node->line,
		    sorted[first]->node->col);
	}
	cs_set_file(c, name, fileno);
	free(sorted);
}
