/* tsigkey.c - TSIG keys from the files tsig-keygen and knot's keymgr write */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsigkey.h"
#include "validate.h"
#include "xmalloc.h"

/*
 * Two forms, told apart by their first token:
 *
 *   key "renewd-key" {			(tsig-keygen, BIND's named.conf)
 *	algorithm hmac-sha256;
 *	secret "base64==";
 *   };
 *
 *   key:				(keymgr -t NAME hmac-sha256, knot.conf)
 *     - id: renewd-key
 *	 algorithm: hmac-sha256
 *	 secret: base64==
 *
 * '#' starts a comment in both, "//" and C comments in BIND's. Whatever
 * went wrong is said with the line number, never with the secret.
 */

#define TOK_MAX		256

struct lex {
	const char	*p, *end;
	int		 line;
	char		*err;
	size_t		 errlen;
	int		 failed;
};

static void __attribute__((format(printf, 2, 3)))
lex_error(struct lex *l, const char *fmt, ...)
{
	char	msg[256];
	va_list	ap;

	if (l->failed)
		return;
	l->failed = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "line %d: %s", l->line, msg);
}

/* Skips white space and comments. */
static void
lex_space(struct lex *l)
{
	while (l->p < l->end) {
		if (*l->p == '\n') {
			l->line++;
			l->p++;
		} else if (isspace((unsigned char)*l->p))
			l->p++;
		else if (*l->p == '#' || (*l->p == '/' && l->p + 1 < l->end &&
		    l->p[1] == '/')) {
			while (l->p < l->end && *l->p != '\n')
				l->p++;
		} else if (*l->p == '/' && l->p + 1 < l->end && l->p[1] == '*') {
			for (l->p += 2; l->p < l->end && !(*l->p == '*' &&
			    l->p + 1 < l->end && l->p[1] == '/'); l->p++)
				if (*l->p == '\n')
					l->line++;
			if (l->p >= l->end) {
				lex_error(l, "unterminated comment");
				return;
			}
			l->p += 2;
		} else
			return;
	}
}

/*
 * The next BIND token into tok: a quoted string (quotes dropped), a word,
 * or one of "{};". Returns 0, or -1 at the end or on an error.
 */
static int
lex_next(struct lex *l, char *tok)
{
	size_t	n = 0;
	int	quoted;

	lex_space(l);
	if (l->failed || l->p >= l->end)
		return -1;
	if (strchr("{};", *l->p) != NULL) {
		tok[0] = *l->p++;
		tok[1] = '\0';
		return 0;
	}
	if ((quoted = *l->p == '"'))
		l->p++;
	while (l->p < l->end) {
		if (quoted ? *l->p == '"' : (isspace((unsigned char)*l->p) ||
		    strchr("{};\"", *l->p) != NULL))
			break;
		if (*l->p == '\n' || (unsigned char)*l->p < 0x20 ||
		    n + 1 >= TOK_MAX) {
			lex_error(l, n + 1 >= TOK_MAX ? "token too long" :
			    quoted && *l->p == '\n' ? "unterminated string" :
			    "control character in a token");
			return -1;
		}
		tok[n++] = *l->p++;
	}
	if (quoted) {
		if (l->p >= l->end) {
			lex_error(l, "unterminated string");
			return -1;
		}
		l->p++;
	}
	tok[n] = '\0';
	return 0;
}

/* Reads the next token and fails unless it is want. */
static int
lex_expect(struct lex *l, char *tok, const char *want)
{
	if (lex_next(l, tok) == -1) {
		lex_error(l, "expected \"%s\" before the end", want);
		return -1;
	}
	if (strcmp(tok, want) != 0) {
		lex_error(l, "expected \"%s\"", want);
		return -1;
	}
	return 0;
}

/* Returns 1 if s is standard base64 of whole bytes, with padding. */
static int
base64_ok(const char *s)
{
	size_t	n = strlen(s), i, pad = 0;

	if (n == 0 || n % 4 != 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '=' && i >= n - 2) {
			pad++;
			continue;
		}
		if (pad > 0 || !(isalnum((unsigned char)s[i]) || s[i] == '+' ||
		    s[i] == '/'))
			return 0;
	}
	return 1;
}

/* Returns 1 if s is a short word of [A-Za-z0-9_-], safe to repeat in an error. */
static int
plain_word(const char *s)
{
	size_t	n = strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

	return n > 0 && n < 32 && s[n] == '\0';
}

/* Stores one "field value" of the key, checked. */
static void
key_field(struct lex *l, struct tsig_key *k, const char *field, const char *v)
{
	char	norm[256];

	if (strcmp(field, "algorithm") == 0) {
		if (k->algorithm != NULL)
			lex_error(l, "algorithm given twice");
		else if (strcasecmp(v, "hmac-sha256") != 0)
			lex_error(l, "algorithm %s: only hmac-sha256 is "
			    "supported", plain_word(v) ? v : "(other)");
		else
			k->algorithm = xstrdup("hmac-sha256");
	} else if (strcmp(field, "secret") == 0) {
		if (k->secret != NULL)
			lex_error(l, "secret given twice");
		else if (!base64_ok(v))
			lex_error(l, "secret: not base64");
		else
			k->secret = xstrdup(v);
	} else if (strcmp(field, "id") == 0 || strcmp(field, "name") == 0) {
		if (k->name != NULL)
			lex_error(l, "a second key (one key per file)");
		else if (valid_domain_norm(v, norm, sizeof(norm)) != NULL ||
		    norm[0] == '*')
			lex_error(l, "key name: not a DNS name");
		else
			k->name = xstrdup(norm);
	} else
		lex_error(l, "unknown key field \"%s\"", plain_word(field) ?
		    field : "?");
}

/* key "NAME" { algorithm A; secret "S"; }; -- "key" already read. */
static void
parse_bind(struct lex *l, struct tsig_key *k)
{
	char	tok[TOK_MAX], field[TOK_MAX];

	if (lex_next(l, tok) == -1) {
		lex_error(l, "key without a name");
		return;
	}
	key_field(l, k, "name", tok);
	if (lex_expect(l, tok, "{") == -1)
		return;
	while (!l->failed) {
		if (lex_next(l, field) == -1) {
			lex_error(l, "expected \"}\" before the end");
			return;
		}
		if (strcmp(field, "}") == 0)
			break;
		if (lex_next(l, tok) == -1 || strchr("{};", tok[0]) != NULL) {
			lex_error(l, "%s without a value", strcmp(field,
			    "secret") == 0 ? "secret" : "field");
			return;
		}
		key_field(l, k, field, tok);
		if (!l->failed)
			lex_expect(l, tok, ";");
	}
	if (!l->failed)
		lex_expect(l, tok, ";");
	if (!l->failed && lex_next(l, tok) == 0)
		lex_error(l, "a second key (one key per file)");
}

/* knot's YAML subset: "key:" then "- id:", "algorithm:", "secret:" lines. */
static void
parse_knot(struct lex *l, struct tsig_key *k)
{
	const char	*eol, *s, *colon, *e;
	char		 field[TOK_MAX], val[TOK_MAX];

	for (; l->p < l->end && !l->failed; l->p = eol + (eol < l->end)) {
		l->line++;
		if ((eol = memchr(l->p, '\n', l->end - l->p)) == NULL)
			eol = l->end;
		for (s = l->p; s < eol && (*s == ' ' || *s == '\t'); s++)
			;
		if (s < eol && *s == '-')
			for (s++; s < eol && (*s == ' ' || *s == '\t'); s++)
				;
		if (s == eol || *s == '#' || *s == '\r')
			continue;
		if ((colon = memchr(s, ':', eol - s)) == NULL ||
		    colon - s >= TOK_MAX) {
			lex_error(l, "expected \"field: value\"");
			return;
		}
		memcpy(field, s, colon - s);
		field[colon - s] = '\0';
		for (s = colon + 1; s < eol && (*s == ' ' || *s == '\t'); s++)
			;
		for (e = eol; e > s && isspace((unsigned char)e[-1]); e--)
			;
		if (e - s >= 2 && (*s == '"' || *s == '\'') && e[-1] == *s) {
			s++;
			e--;
		}
		if (e - s >= TOK_MAX || memchr(s, '\0', e - s) != NULL) {
			lex_error(l, "value too long");
			return;
		}
		memcpy(val, s, e - s);
		val[e - s] = '\0';
		if (val[0] == '\0') {
			lex_error(l, "%s without a value", strcmp(field,
			    "secret") == 0 ? "secret" : "field");
			return;
		}
		key_field(l, k, field, val);
	}
}

int
tsigkey_parse(const char *text, size_t len, struct tsig_key *k, char *err,
    size_t errlen)
{
	struct lex	 l = { text, text + len, 1, err, errlen, 0 };
	char		 tok[TOK_MAX];
	int		 rc = -1;

	memset(k, 0, sizeof(*k));
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "a NUL byte: not a key file");
		return -1;
	}
	lex_space(&l);
	if (!l.failed && l.end - l.p >= 4 && memcmp(l.p, "key:", 4) == 0) {
		/* knot: from the line after "key:"; parse_knot counts on */
		l.p = memchr(l.p, '\n', l.end - l.p);
		l.p = l.p == NULL ? l.end : l.p + 1;
		parse_knot(&l, k);
	} else if (lex_next(&l, tok) == -1)
		lex_error(&l, "no key in the file");
	else if (strcmp(tok, "key") != 0)
		lex_error(&l, "expected \"key\" (a tsig-keygen or keymgr file)");
	else
		parse_bind(&l, k);
	if (!l.failed && k->name == NULL)
		lex_error(&l, "the key has no name");
	if (!l.failed && k->algorithm == NULL)
		lex_error(&l, "the key has no algorithm");
	if (!l.failed && k->secret == NULL)
		lex_error(&l, "the key has no secret");
	if (l.failed)
		tsigkey_clear(k);
	else
		rc = 0;
	return rc;
}

void
tsigkey_clear(struct tsig_key *k)
{
	if (k == NULL)
		return;
	free(k->name);
	free(k->algorithm);
	xfree_secret_str(k->secret);
	memset(k, 0, sizeof(*k));
}

void
tsigkey_copy(struct tsig_key *dst, const struct tsig_key *src)
{
	dst->name = src->name != NULL ? xstrdup(src->name) : NULL;
	dst->algorithm = src->algorithm != NULL ? xstrdup(src->algorithm) :
	    NULL;
	dst->secret = src->secret != NULL ? xstrdup(src->secret) : NULL;
}
