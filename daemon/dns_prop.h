/* dns_prop.h - waits until resolvers answer a TXT value (the propagation check) */
#ifndef RENEWD_DNS_PROP_H
#define RENEWD_DNS_PROP_H

#include <stddef.h>

struct event_base;
struct dns_prop;

/* Between two polls of a resolver that has not the value yet, in ms. */
#define DNS_PROP_POLL_MS	2000

/* How the check runs; shared by both dns-01 solvers. */
struct dns_prop_opts {
	int		 check;		/* 0: skipped, done at once */
	long		 timeout_ms;	/* then it fails */
	char *const	*resolvers;	/* "addr:port"; none: the zone's NS */
	size_t		 nresolvers;
	/* for tests: where the zone's NS are looked up, and their port */
	const char	*system_resolver;	/* NULL: /etc/resolv.conf's first */
	unsigned	 ns_port;		/* 0: 53 */
};

/* The end of a check: error NULL once every resolver answers the value. */
typedef void	(*dns_prop_done)(void *arg, const char *error);

/*
 * Polls every resolver of o (or, without any, the authoritative servers
 * of name's zone found through the system resolver, /etc/resolv.conf)
 * with a TXT query for name until each answers value, about every
 * DNS_PROP_POLL_MS; fails at o->timeout_ms with "cert CERT: NAME: TXT not
 * visible at RESOLVER after Ns". done is called once, from the loop.
 */
struct dns_prop	*dns_prop_start(struct event_base *base,
		    const struct dns_prop_opts *o, const char *cert,
		    const char *name, const char *value, dns_prop_done done,
		    void *arg);
/* Stops a check whose done has not run; it never will. NULL is a no-op. */
void		 dns_prop_cancel(struct dns_prop *);

#endif
