/* acme_solver.h - the contract between the ACME client and challenge solvers */
#ifndef RENEWD_ACME_SOLVER_H
#define RENEWD_ACME_SOLVER_H

/*
 * uacme's hook contract, in C: acme knows challenges (RFC 8555 section 8),
 * solvers know how to make an answer visible (a listener, webroot files,
 * later DNS records or a TLS responder). renew.c hands acme a list of
 * solvers; acme never includes a solver's header, and a new challenge
 * type is a new solver, not an edit of the protocol files.
 */

/* Longest challenge token acme passes to a solver, in characters. */
#define ACME_TOKEN_MAX	256

/*
 * One challenge to answer. acme has checked token (base64url of 1 to
 * ACME_TOKEN_MAX characters) before a solver sees it. The strings live
 * only during the call; withdraw gets the same values as publish.
 */
struct acme_challenge {
	const char	*type;		/* "http-01", "dns-01", "tls-alpn-01" */
	const char	*id_type;	/* "dns" or "ip" */
	const char	*id_value;	/* "www.example.org" ("*." already cut off), "192.0.2.1" */
	const char	*token;
	const char	*keyauth;	/* token "." account key thumbprint (8.1) */
	const char	*digest;	/* base64url(SHA-256(keyauth)): the dns-01
					   TXT value (8.4); NULL for other types */
	const char	*cert;		/* the certificate's name, for logs and hooks */
};

/* How an asynchronous publish ends: error is NULL once the answer is visible. */
typedef void (*acme_solver_done)(void *ctx, const char *error);

/*
 * A challenge solver. acme walks the list in order and uses the first
 * solver whose type the certificate allows and the CA offers and whose
 * can() accepts the identifier; a solver that declines costs nothing.
 * An entry whose type is NULL is an empty slot, skipped: renewd keeps one
 * slot per challenge type and fills it when a reload first needs it.
 */
struct acme_solver {
	const char	*type;		/* the challenge type it answers */
	/* Returns 1 if it can answer for this identifier, 0 to decline. NULL: always 1. */
	int		(*can)(void *arg, const char *id_type, const char *id_value);
	/*
	 * Makes the answer visible. Returns 0 if it is visible now; 1 if
	 * done(ctx, error) will say so later, from the loop (never from inside
	 * publish); -1 if it cannot (logged; the order fails). acme triggers
	 * no challenge of an order before every answer of it is visible.
	 */
	int		(*publish)(void *arg, const struct acme_challenge *,
			    acme_solver_done done, void *ctx);
	/*
	 * Takes the answer down: once for every publish that returned 0 or 1.
	 * A publish still in progress is abandoned; its done is not called.
	 */
	void		(*withdraw)(void *arg, const struct acme_challenge *);
	void		*arg;
};

#endif
