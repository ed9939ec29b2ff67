/* challenge_dns_hook.h - dns-01 solver: an exec hook adds and deletes TXT records */
#ifndef RENEWD_CHALLENGE_DNS_HOOK_H
#define RENEWD_CHALLENGE_DNS_HOOK_H

#include <stddef.h>

#include "dns_prop.h"

struct event_base;
struct acme_solver;
struct chall_dns_hook;

/* Hook processes running at once; the rest wait their turn. */
#define CHALL_DNS_MAX_RUNNING	8

struct chall_dns_hook_opts {
	char *const	*argv;		/* the hook, argv[0] absolute */
	size_t		 argc;
	long		 timeout_ms;	/* per run; then it is killed */
	long		 propagation_ms; /* wait after a successful add; 0: none */
	long		 kill_grace_ms;	/* SIGTERM -> SIGKILL; 0: proc.h's default */
	struct dns_prop_opts prop;	/* after the delay; check 0: none */
};

/*
 * The hook contract (renewd.yaml(5)): "HOOK... add FQDN VALUE" and
 * "HOOK... del FQDN VALUE", FQDN "_acme-challenge.<domain>" without a
 * trailing dot, VALUE the base64url TXT digest; the same in RENEWD_DNS_ACTION,
 * RENEWD_DNS_NAME, RENEWD_DNS_VALUE, RENEWD_DOMAIN and RENEWD_CERT_NAME.
 * Exit 0 is success. Runs for one FQDN never overlap, and they start in
 * the order they were asked for. Returns the solver's state (opts copied).
 */
struct chall_dns_hook *chall_dns_hook_new(struct event_base *base,
		    const struct chall_dns_hook_opts *opts);
/*
 * Runs the loop until every withdrawn record's del has run, for at most
 * one hook timeout and its kill grace: for shutdown, once nothing
 * publishes any more. Returns the number of dels still owed. NULL is a
 * no-op.
 */
size_t		 chall_dns_hook_drain(struct chall_dns_hook *);
/*
 * Kills hooks still running and frees; a del not yet run is logged as
 * lost (the record stays in DNS). NULL is a no-op.
 */
void		 chall_dns_hook_free(struct chall_dns_hook *);
/* Fills s with the dns-01 solver that answers through h. */
void		 chall_dns_hook_solver(struct chall_dns_hook *h, struct acme_solver *s);
/* Returns the number of records added or being added and not yet deleted. */
size_t		 chall_dns_hook_count(const struct chall_dns_hook *);

#endif
