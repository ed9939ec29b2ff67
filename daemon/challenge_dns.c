/* challenge_dns.c - what both dns-01 solvers (hook, RFC 2136) share */
#include "config.h"

#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "acme_solver.h"
#include "challenge_dns.h"
#include "log.h"
#include "xmalloc.h"

int
chall_dns_can(void *arg, const char *id_type, const char *id_value)
{
	return strcmp(id_type, "dns") == 0;
}

char *
chall_dns_record(const struct acme_challenge *c)
{
	if (c->digest == NULL || strcmp(c->id_type, "dns") != 0) {
		log_err("dns-01: nothing to publish for %s", c->id_value);
		return NULL;
	}
	return xasprintf("_acme-challenge.%s", c->id_value);
}

size_t
chall_dns_drain(struct event_base *base, size_t (*owed)(const void *),
    const void *arg, long max_ms, const char *what)
{
	struct timeval	 tv = { 0, 50000 };
	struct timespec	 t0, t;
	size_t		 n;

	if ((n = owed(arg)) == 0)
		return 0;
	log_info("dns-01: waiting up to %ld ms for %zu %s%s", max_ms, n, what,
	    n == 1 ? "" : "s");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((n = owed(arg)) > 0 && (t.tv_sec - t0.tv_sec) * 1000 +
	    (t.tv_nsec - t0.tv_nsec) / 1000000 < max_ms);
	return n;
}
