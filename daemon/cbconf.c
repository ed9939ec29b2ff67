/*
 * cbconf.c - certbot's renewal/<name>.conf as ConfigObj writes it, parsed
 * strictly (cbconf.h says which subset). Pure: text in, entries out.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbconf.h"
#include "xmalloc.h"

#define CBCONF_MAX_ITEMS	256

/* One parse: where it is, and the section it is in. */
struct cbparse {
	const char	*file;
	int		 line;
	char		*sect1;		/* current [section], NULL at the top */
	char		*sect2;		/* current [[subsection]], or NULL */
	char		*err;
	size_t		 errlen;
};

static int
fail(struct cbparse *p, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	n = snprintf(p->err, p->errlen, "%s:%d: ", p->file, p->line);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static char *
trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* "[a]" or "[[b]]" (already trimmed, comment allowed after). Returns 0 or -1. */
static int
section(struct cbparse *p, char *s)
{
	size_t	open = strspn(s, "["), close;
	char	*name, *end;

	name = s + open;
	if ((end = strchr(name, ']')) == NULL)
		return fail(p, "section header without \"]\"");
	close = strspn(end, "]");
	*end = '\0';
	end = trim(end + close);
	if (*end != '\0' && *end != '#')
		return fail(p, "text after the section header");
	name = trim(name);
	if (open != close)
		return fail(p, "unbalanced brackets in section header");
	if (*name == '\0' || strpbrk(name, "[]\"'#") != NULL)
		return fail(p, "bad section name");
	if (open > 2)
		return fail(p, "sections nested deeper than [[...]]");
	if (open == 2 && p->sect1 == NULL)
		return fail(p, "[[%s]] outside any [section]", name);
	free(p->sect2);
	p->sect2 = NULL;
	if (open == 1) {
		free(p->sect1);
		p->sect1 = xstrdup(name);
	} else
		p->sect2 = xstrdup(name);
	return 0;
}

/*
 * One value item at *sp: quoted (no escapes, as ConfigObj) or bare up to
 * "," or "#". Returns it malloc'd and moves *sp past it, or NULL (error set).
 */
static char *
item(struct cbparse *p, char **sp)
{
	char	*s = *sp, *e, q;

	if (*s == '"' || *s == '\'') {
		q = *s;
		if (s[1] == q && s[2] == q) {
			fail(p, "triple-quoted values are not supported");
			return NULL;
		}
		if ((e = strchr(s + 1, q)) == NULL) {
			fail(p, "unterminated %c quote", q);
			return NULL;
		}
		*sp = e + 1;
		return xstrndup(s + 1, (size_t)(e - s - 1));
	}
	e = s + strcspn(s, ",#");
	*sp = e;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return xstrndup(s, (size_t)(e - s));
}

/* Parses the value text s into ent. Returns 0 or -1. */
static int
value(struct cbparse *p, char *s, struct cbconf_entry *ent)
{
	char	*it;

	for (;;) {
		s = trim(s);
		if (*s == '\0' || *s == '#')
			break;
		if (*s == ',') {
			fail(p, "empty item in a list");
			return -1;
		}
		if (ent->nitems == CBCONF_MAX_ITEMS)
			return fail(p, "more than %d items", CBCONF_MAX_ITEMS);
		if ((it = item(p, &s)) == NULL)
			return -1;
		ent->items = xreallocarray(ent->items, ent->nitems + 1,
		    sizeof(*ent->items));
		ent->items[ent->nitems++] = it;
		s = trim(s);
		if (*s == ',') {
			ent->list = 1;
			s++;
		} else if (*s != '\0' && *s != '#')
			return fail(p, "text after a quoted value");
		else
			break;
	}
	if (ent->nitems == 0 && !ent->list) {	/* "key =" is an empty string */
		ent->items = xcalloc(1, sizeof(*ent->items));
		ent->items[ent->nitems++] = xstrdup("");
	}
	return 0;
}

static void
entry_clear(struct cbconf_entry *e)
{
	size_t	i;

	for (i = 0; i < e->nitems; i++)
		free(e->items[i]);
	free(e->items);
	free(e->section);
	free(e->key);
}

/* "key = value". Returns 0 or -1. */
static int
keyval(struct cbparse *p, struct cbconf *c, char *s)
{
	struct cbconf_entry	 ent = { 0 };
	char			*eq, *key, *end;

	if (*s == '"' || *s == '\'') {		/* ConfigObj quotes odd keys */
		if ((end = strchr(s + 1, *s)) == NULL)
			return fail(p, "unterminated %c quote", *s);
		*end = '\0';
		key = s + 1;
		eq = trim(end + 1);
		if (*eq != '=')
			return fail(p, "no \"=\" after the quoted key");
	} else if ((eq = strchr(s, '=')) == NULL)
		return fail(p, "neither \"key = value\" nor a [section]");
	else {
		*eq = '\0';
		key = trim(s);
	}
	if (*key == '\0')
		return fail(p, "empty key");
	ent.line = p->line;
	ent.key = xstrdup(key);
	ent.section = p->sect1 == NULL ? xstrdup("") : p->sect2 == NULL ?
	    xstrdup(p->sect1) : xasprintf("%s/%s", p->sect1, p->sect2);
	if (cbconf_find(c, ent.section, ent.key) != NULL) {
		fail(p, "\"%s\" given twice in [%s]", ent.key, ent.section);
		entry_clear(&ent);
		return -1;
	}
	if (value(p, eq + 1, &ent) == -1) {
		entry_clear(&ent);
		return -1;
	}
	c->v = xreallocarray(c->v, c->n + 1, sizeof(*c->v));
	c->v[c->n++] = ent;
	return 0;
}

/* One line (NUL-terminated, no newline). Returns 0 or -1. */
static int
parse_line(struct cbparse *p, struct cbconf *c, char *line)
{
	char	*s = trim(line);

	if (*s == '\0' || *s == '#')
		return 0;
	if (*s == '[')
		return section(p, s);
	return keyval(p, c, s);
}

struct cbconf *
cbconf_parse(const char *file, const char *text, size_t len, char *err,
    size_t errlen)
{
	struct cbparse	 p = { file, 0, NULL, NULL, err, errlen };
	struct cbconf	*c = xcalloc(1, sizeof(*c));
	const char	*s = text, *end = text + len, *nl;
	char		*line;
	int		 rc = 0;

	while (s < end && rc == 0) {
		p.line++;
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		line = xstrndup(s, (size_t)(nl - s));
		if (strlen(line) != (size_t)(nl - s))
			rc = fail(&p, "NUL byte in the file");
		else
			rc = parse_line(&p, c, line);
		free(line);
		s = nl + 1;
	}
	free(p.sect1);
	free(p.sect2);
	if (rc == -1) {
		cbconf_free(c);
		return NULL;
	}
	return c;
}

void
cbconf_free(struct cbconf *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		entry_clear(&c->v[i]);
	free(c->v);
	free(c);
}

const struct cbconf_entry *
cbconf_find(const struct cbconf *c, const char *section, const char *key)
{
	size_t	i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i].section, section) == 0 &&
		    strcmp(c->v[i].key, key) == 0)
			return &c->v[i];
	return NULL;
}

const char *
cbconf_str(const struct cbconf *c, const char *section, const char *key)
{
	const struct cbconf_entry *e = cbconf_find(c, section, key);

	if (e == NULL || e->nitems != 1 || e->items[0][0] == '\0')
		return NULL;
	return e->items[0];
}
