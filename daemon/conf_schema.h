/* conf_schema.h - private to conf*.c: walking a YAML tree against a schema */
#ifndef RENEWD_CONF_SCHEMA_H
#define RENEWD_CONF_SCHEMA_H

#include <stddef.h>

#include "conf.h"
#include "yamltree.h"

/*
 * The pieces every section of the inventory is read with: problems
 * collected with their file:line:col and reported in file order, getters
 * that check a node's type and value and say what is wrong, and the sorting
 * of a mapping's keys into a section's fields ("<<" merges, unknown keys
 * with a "did you mean", duplicates, required keys).  A getter that finds
 * a problem records it and returns failure; the caller just moves on, so
 * one pass reports everything.
 */

#define CS_QLEN		96	/* buffer for quoted user text in messages */
#define CS_MAX_ERRORS	100
#define CS_MAX_FIELDS	16

struct cs_err;

/* One walk over one file: the problems found so far. */
struct cs {
	const char	*name;		/* the file, for messages */
	int		 fileno;	/* its place among the files read (include) */
	struct cs_err	*err;
	size_t		 nerr, caperr, seq;
	int		 stop;		/* too many errors: walk no further */
	int		 check_files;	/* conf_load: files named must be there */
};

/* Starts a walk over the file called name. */
void		 cs_init(struct cs *, const char *name);
/* Makes name (kept until cs_report) the file of the problems recorded next. */
void		 cs_set_file(struct cs *, const char *name, int fileno);
/* Records a problem at line:col (once, however many aliases reach it). */
void		 cs_error_at(struct cs *, int line, int col, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));
/* Records a problem at node n. */
void		 cs_error(struct cs *, const struct ynode *n, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
/* Appends every problem, in file order, to errs; returns how many. */
size_t		 cs_report(struct cs *, struct conf_errors *errs);
/* Frees the problems recorded. */
void		 cs_clear(struct cs *);
/* Appends one formatted message to errs (NULL: discarded). */
void		 cs_errs_add(struct conf_errors *errs, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* Returns buf holding n's text quoted and cut for a message (CS_QLEN). */
const char	*cs_quote(const struct ynode *n, char *buf, size_t sz);

/* Returns n's text if it is a non-empty string, else NULL after an error. */
const char	*cs_scalar(struct cs *, const char *what, const struct ynode *n);
/* Returns 0 if n is a non-empty list, else -1 after an error. */
int		 cs_seq(struct cs *, const char *what, const struct ynode *n);
/*
 * Returns how many items n holds where one string may stand for a list of
 * one: 0 after an error (an empty list is one).  cs_item() gets item i.
 */
size_t		 cs_items(struct cs *, const char *what, const struct ynode *n);
/* Returns item i of n, or n itself if it is a lone string. */
const struct ynode *cs_item(const struct ynode *n, size_t i);
/* Returns how many items list n holds: 0 if null, empty, or after an error. */
size_t		 cs_optlist(struct cs *, const char *what, const struct ynode *n);
/* Returns 0 if n is a mapping, else -1 after an error. */
int		 cs_map(struct cs *, const char *what, const struct ynode *n);
/* Returns 0 and sets *dst to a copy of the string, or -1 after an error. */
int		 cs_str(struct cs *, const char *what, const struct ynode *n,
		    char **dst);
/* The same for an absolute path. */
int		 cs_abspath(struct cs *, const char *what, const struct ynode *n,
		    char **dst);
/* The same for a certificate or CA name (valid_name). */
int		 cs_name(struct cs *, const struct ynode *n, char **dst);
/* Returns the index of n's text in names, or -1 after an error. */
int		 cs_enum(struct cs *, const char *what, const char *kind,
		    const struct ynode *n, const char *const *names, size_t nnames);
/* Returns 0 and sets *out to n's integer in [min, max], or -1 after an error. */
int		 cs_uint(struct cs *, const char *what, const struct ynode *n,
		    unsigned long min, unsigned long max, unsigned long *out);
/* Returns 0 and sets *out to n's duration in seconds, or -1 after an error. */
int		 cs_duration(struct cs *, const char *what, const struct ynode *n,
		    long *out);

/* A section's known keys, and where each was found. */
struct cs_fields {
	const char *const *names;
	size_t		   n;
	const struct ynode *key[CS_MAX_FIELDS];
	const struct ynode *val[CS_MAX_FIELDS];
};

/* Empties f for the n keys in names. */
void		 cs_fields_init(struct cs_fields *f, const char *const *names,
		    size_t n);
/* Returns 0 with f holding mapping n's keys of names, or -1 after an error. */
int		 cs_section(struct cs *, const char *what, const struct ynode *n,
		    struct cs_fields *f, const char *const *names, size_t nnames);
/*
 * Sorts mapping m's pairs into f, following "<<" merges, reporting unknown
 * and duplicate keys; allow_x leaves "x-" keys alone (a place for anchors).
 */
void		 cs_collect(struct cs *, const struct ynode *m,
		    struct cs_fields *f, int allow_x);
/* Reports key idx of f missing from mapping m. */
void		 cs_require(struct cs *, const struct ynode *m,
		    const struct cs_fields *f, size_t idx);

/* One entry of a list whose names must be unique. */
struct cs_named {
	const char	   *name;	/* NULL: the entry's name was bad */
	const struct ynode *node;	/* where the name is written */
	int		    line;	/* where the entry starts */
	const char	   *file;	/* the file it is in; NULL: one file */
	int		    fileno;
};

/* Reports the second and later uses of each name in named[0..n). */
void		 cs_dup_names(struct cs *, const char *what,
		    const struct cs_named *named, size_t n);

#endif
