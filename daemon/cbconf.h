/* cbconf.h - certbot's renewal files (ConfigObj syntax), read strictly */
#ifndef RENEWD_CBCONF_H
#define RENEWD_CBCONF_H

#include <stddef.h>

/*
 * The subset of ConfigObj that certbot writes: "key = value" lines,
 * [section] and [[subsection]] headers, "#" comments (whole line, or after
 * an unquoted value), values quoted with ' or " or bare, and comma lists
 * ("a, b," -- a trailing comma makes a one-item list). Anything else
 * (triple quotes, continuation lines, deeper sections, a key twice in one
 * section) is refused with "file:line: why", rather than guessed at.
 */

struct cbconf_entry {
	char	 *section;	/* "" at the top, "renewalparams", "renewalparams/webroot_map" */
	char	 *key;
	char	**items;	/* the value: one item, or a list's items */
	size_t	  nitems;
	int	  list;		/* 1 if written as a comma list */
	int	  line;
};

struct cbconf {
	struct cbconf_entry	*v;
	size_t			 n;
};

/*
 * Parses text[0..len) (named file in errors). Returns a malloc'd cbconf,
 * or NULL with "file:line: why" in err.
 */
struct cbconf	*cbconf_parse(const char *file, const char *text, size_t len,
		    char *err, size_t errlen);
/* Frees; NULL is a no-op. */
void		 cbconf_free(struct cbconf *);
/* Returns the entry key of section (as cbconf_entry names it), or NULL. */
const struct cbconf_entry *cbconf_find(const struct cbconf *,
		    const char *section, const char *key);
/*
 * Returns the single value of key in section, or NULL if it is missing,
 * a list of other than one item, or empty.
 */
const char	*cbconf_str(const struct cbconf *, const char *section,
		    const char *key);

#endif
