/* acme_policy.c - what a failure means: which class, how far its deadline reaches */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "acme.h"

#define ERR_PREFIX	"urn:ietf:params:acme:error:"

/*
 * The problem types RFC 8555 6.7 names (and RFC 9773's alreadyReplaced),
 * by what they say about where the fault lies. A type not listed is the
 * CA's: another CA may well take what this one would not.
 */
static const struct {
	const char		*type;
	enum acme_fail_class	 cls;
} classes[] = {
	{ "serverInternal",		ACME_FAIL_UNAVAILABLE },
	{ "badNonce",			ACME_FAIL_UNAVAILABLE },	/* after its retries */
	{ "rateLimited",		ACME_FAIL_RATE_LIMITED },
	/* the domain failed validation: another CA would see the same */
	{ "unauthorized",		ACME_FAIL_DOMAIN },
	{ "dns",			ACME_FAIL_DOMAIN },
	{ "connection",			ACME_FAIL_DOMAIN },
	{ "incorrectResponse",		ACME_FAIL_DOMAIN },
	{ "tls",			ACME_FAIL_DOMAIN },
	/* the CA's policy, or our account there */
	{ "caa",			ACME_FAIL_CA },
	{ "rejectedIdentifier",		ACME_FAIL_CA },
	{ "unsupportedIdentifier",	ACME_FAIL_CA },
	{ "badCSR",			ACME_FAIL_CA },
	{ "badPublicKey",		ACME_FAIL_CA },
	{ "badSignatureAlgorithm",	ACME_FAIL_CA },
	{ "accountDoesNotExist",	ACME_FAIL_CA },
	{ "externalAccountRequired",	ACME_FAIL_CA },
	{ "userActionRequired",		ACME_FAIL_CA },
	{ "invalidContact",		ACME_FAIL_CA },
	{ "unsupportedContact",		ACME_FAIL_CA },
};

/* Returns the short name of an ACME problem type, or NULL for another URN. */
static const char *
short_type(const char *problem)
{
	size_t n = sizeof(ERR_PREFIX) - 1;

	if (problem == NULL || strncmp(problem, ERR_PREFIX, n) != 0)
		return NULL;
	return problem + n;
}

enum acme_fail_class
acme_fail_classify(const char *problem, long status, int validation)
{
	const char	*t = short_type(problem);
	size_t		 i;

	if (!validation && status == 0)
		return ACME_FAIL_UNAVAILABLE;	/* no answer at all */
	for (i = 0; t != NULL && i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strcmp(t, classes[i].type) == 0)
			return classes[i].cls;
	if (validation)		/* a challenge's own error: the domain's */
		return ACME_FAIL_DOMAIN;
	if (status == 429)
		return ACME_FAIL_RATE_LIMITED;
	if (status >= 500)
		return ACME_FAIL_UNAVAILABLE;
	return ACME_FAIL_CA;
}

/* Returns 1 if text names id as a whole name, not as part of a longer one. */
static int
text_names(const char *text, const char *id)
{
	const char	*p;
	size_t		 n = strlen(id);

#define NAMECHAR(c) (isalnum((unsigned char)(c)) || (c) == '.' || (c) == '-' || \
	    (c) == '*' || (c) == '_')
	for (p = text; n > 0 && p != NULL && (p = strstr(p, id)) != NULL; p++)
		if ((p == text || !NAMECHAR(p[-1])) && !NAMECHAR(p[n]))
			return 1;
#undef NAMECHAR
	return 0;
}

/* Returns 1 if the problem names one of ids: identifier, subproblems, detail. */
static int
problem_names(const struct acme_problem *p, char *const *ids, size_t nids)
{
	size_t i, j;

	for (i = 0; i < nids; i++) {
		if (p->identifier != NULL && strcmp(p->identifier, ids[i]) == 0)
			return 1;
		if (p->detail != NULL && text_names(p->detail, ids[i]))
			return 1;
		for (j = 0; j < p->nsub; j++)
			if (problem_names(&p->sub[j], ids + i, 1))
				return 1;
	}
	return 0;
}

enum acme_fail_scope
acme_fail_scope(enum acme_fail_class cls, const struct acme_problem *prob,
    long status, int new_order, int has_until, char *const *ids, size_t nids)
{
	const char *t = prob != NULL ? short_type(prob->type) : NULL;

	if (!has_until)
		return ACME_SCOPE_NONE;
	if (cls == ACME_FAIL_RATE_LIMITED && t != NULL &&
	    strcmp(t, "rateLimited") == 0) {
		/* a limit on these names (duplicate certificates, failed
		   validations) says so; one on newOrder that names none is
		   the account's (new orders per account) */
		if (problem_names(prob, ids, nids))
			return ACME_SCOPE_CERT;
		return new_order ? ACME_SCOPE_ACCOUNT : ACME_SCOPE_CERT;
	}
	/* 503 (or a bare 429) with Retry-After: that endpoint is busy */
	if (status == 503 || status == 429 || cls == ACME_FAIL_UNAVAILABLE)
		return ACME_SCOPE_ENDPOINT;
	return ACME_SCOPE_CERT;
}

const char *
acme_fail_class_name(enum acme_fail_class cls)
{
	switch (cls) {
	case ACME_FAIL_UNAVAILABLE:	return "unavailable";
	case ACME_FAIL_RATE_LIMITED:	return "rate limited";
	case ACME_FAIL_CA:		return "CA";
	case ACME_FAIL_DOMAIN:		return "domain";
	case ACME_FAIL_LOCAL:		return "local";
	case ACME_FAIL_NONE:		break;
	}
	return "none";
}

const char *
acme_fail_scope_name(enum acme_fail_scope scope)
{
	switch (scope) {
	case ACME_SCOPE_CERT:		return "certificate";
	case ACME_SCOPE_ACCOUNT:	return "account";
	case ACME_SCOPE_ENDPOINT:	return "endpoint";
	case ACME_SCOPE_NONE:		break;
	}
	return "none";
}
