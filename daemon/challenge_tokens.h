/* challenge_tokens.h - the tokens an http-01 back end answers for, counted */
#ifndef RENEWD_CHALLENGE_TOKENS_H
#define RENEWD_CHALLENGE_TOKENS_H

#include <stddef.h>

#include "acme_solver.h"

/* Longest token accepted, in characters: what acme passes on. */
#define CHALL_TOKEN_MAX		ACME_TOKEN_MAX

struct chall_token {
	char		*token;
	char		*keyauth;
	unsigned	 refs;
};

/*
 * Sorted by token, for bsearch. Publishing a token twice is counted: it
 * stays until withdrawn as often, so two orders that get the same token
 * (a reused authorization) cannot pull it from under each other.
 */
struct chall_tokens {
	struct chall_token *v;
	size_t		 n;
	size_t		 cap;
};

/* Returns 1 if token is base64url of 1..CHALL_TOKEN_MAX characters, else 0. */
int		 chall_token_ok(const char *token);
/* Returns the key authorization published for token, or NULL. */
const char	*chall_tokens_get(const struct chall_tokens *, const char *token);
/*
 * Counts one more publication of token with keyauth (the newest keyauth
 * wins). Returns 1 if token is new, 0 if it was published already.
 */
int		 chall_tokens_add(struct chall_tokens *, const char *token,
		    const char *keyauth);
/* Counts one withdrawal. Returns 1 if it was the last (token gone), else 0. */
int		 chall_tokens_drop(struct chall_tokens *, const char *token);
/* Forgets every token, calling gone(arg, token) for each first (gone may be NULL). */
void		 chall_tokens_clear(struct chall_tokens *,
		    void (*gone)(void *arg, const char *token), void *arg);

#endif
