/* challenge_dns_update.h - dns-01 solver: RFC 2136 dynamic updates signed with TSIG */
#ifndef RENEWD_CHALLENGE_DNS_UPDATE_H
#define RENEWD_CHALLENGE_DNS_UPDATE_H

#include <stddef.h>

#include "dns_prop.h"

struct event_base;
struct acme_solver;
struct tsig_key;
struct chall_dns_update;

/* TTL of the TXT records it adds, in seconds. */
#define CHALL_DNS_UPDATE_TTL	60

struct chall_dns_update_opts {
	const char		*server;	/* the primary, "addr:port" */
	const char		*zone;		/* NULL: the SOA the server names */
	const struct tsig_key	*key;		/* copied */
	long			 timeout_ms;	/* per DNS transaction */
	struct dns_prop_opts	 prop;		/* the propagation check (copied) */
};

/* Returns the solver's state (opts copied). */
struct chall_dns_update *chall_dns_update_new(struct event_base *base,
		    const struct chall_dns_update_opts *opts);
/* Fills s with the dns-01 solver that answers through u. */
void		 chall_dns_update_solver(struct chall_dns_update *u,
		    struct acme_solver *s);
/* Returns the number of records added or being added and not yet deleted. */
size_t		 chall_dns_update_count(const struct chall_dns_update *);
/*
 * Runs the loop until every withdrawn record's delete has been answered,
 * for at most one transaction timeout: for shutdown. Returns the number
 * still owed. NULL is a no-op.
 */
size_t		 chall_dns_update_drain(struct chall_dns_update *);
/* Frees; a delete not yet answered is logged (the record may stay). NULL: no-op. */
void		 chall_dns_update_free(struct chall_dns_update *);

#endif
