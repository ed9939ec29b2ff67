/* challenge_dns.h - what both dns-01 solvers (hook, RFC 2136) share */
#ifndef RENEWD_CHALLENGE_DNS_H
#define RENEWD_CHALLENGE_DNS_H

#include <stddef.h>

struct event_base;
struct acme_challenge;

/* The solvers' can(): 1 for a DNS name, 0 for an IP address. */
int		 chall_dns_can(void *arg, const char *id_type,
		    const char *id_value);
/*
 * Returns the malloc'd record name "_acme-challenge.<domain>" of c, or
 * NULL (logged) when c is not a dns-01 challenge for a DNS name.
 */
char		*chall_dns_record(const struct acme_challenge *c);
/*
 * For shutdown: runs base's loop until owed(arg) is 0, for at most
 * max_ms; what ("del hook", "rfc2136 delete") names them in the log line.
 * Returns what is still owed.
 */
size_t		 chall_dns_drain(struct event_base *base,
		    size_t (*owed)(const void *), const void *arg, long max_ms,
		    const char *what);

#endif
