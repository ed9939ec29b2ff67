/* challenge_tokens.c - the tokens an http-01 back end answers for, counted */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "challenge_tokens.h"
#include "validate.h"
#include "xmalloc.h"

int
chall_token_ok(const char *token)
{
	return valid_base64url(token, CHALL_TOKEN_MAX, 0);
}

/* Returns the index of token, or -(insertion point) - 1. */
static long
tok_find(const struct chall_tokens *t, const char *token)
{
	size_t	lo = 0, hi = t->n, mid;
	int	cmp;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = strcmp(token, t->v[mid].token);
		if (cmp == 0)
			return (long)mid;
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -(long)lo - 1;
}

const char *
chall_tokens_get(const struct chall_tokens *t, const char *token)
{
	long i = tok_find(t, token);

	return i >= 0 ? t->v[i].keyauth : NULL;
}

int
chall_tokens_add(struct chall_tokens *t, const char *token,
    const char *keyauth)
{
	long	i = tok_find(t, token);
	size_t	pos;

	if (i >= 0) {
		free(t->v[i].keyauth);
		t->v[i].keyauth = xstrdup(keyauth);
		t->v[i].refs++;
		return 0;
	}
	pos = (size_t)(-i - 1);
	if (t->n == t->cap) {
		t->cap = t->cap == 0 ? 16 : t->cap * 2;
		t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
	}
	memmove(&t->v[pos + 1], &t->v[pos], (t->n - pos) * sizeof(*t->v));
	t->v[pos].token = xstrdup(token);
	t->v[pos].keyauth = xstrdup(keyauth);
	t->v[pos].refs = 1;
	t->n++;
	return 1;
}

static void
tok_remove(struct chall_tokens *t, size_t i)
{
	free(t->v[i].token);
	free(t->v[i].keyauth);
	memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(*t->v));
	t->n--;
}

int
chall_tokens_drop(struct chall_tokens *t, const char *token)
{
	long i = tok_find(t, token);

	if (i < 0 || --t->v[i].refs > 0)
		return 0;
	tok_remove(t, (size_t)i);
	return 1;
}

void
chall_tokens_clear(struct chall_tokens *t,
    void (*gone)(void *arg, const char *token), void *arg)
{
	while (t->n > 0) {
		if (gone != NULL)
			gone(arg, t->v[t->n - 1].token);
		tok_remove(t, t->n - 1);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}
