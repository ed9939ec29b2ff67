/* dns_prop.c - waits until resolvers answer a TXT value (the propagation check) */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "dns.h"
#include "dns_msg.h"
#include "dns_prop.h"
#include "log.h"
#include "xmalloc.h"

/*
 * One check per published record.
 *
 *   state   event                         next    action
 *   FIND    (no resolvers configured)     FIND    SOA of the name, NS of the
 *                                                 zone, A and AAAA of each NS,
 *                                                 one query at a time, through
 *                                                 the system resolver
 *   FIND    addresses known               POLL
 *   FIND    a step failed                 FIND    again at the next tick
 *   POLL    tick                          POLL    a TXT query to each resolver
 *                                                 that lacks the value and has
 *                                                 none in flight
 *   POLL    every resolver has the value  -       done(NULL)
 *   any     deadline                      -       done("... not visible at R
 *                                                 after Ns")
 */

#define QUERY_MS	1500

enum prop_state { P_FIND, P_POLL };
enum find_step { F_SOA, F_NS, F_ADDR };

struct target {
	struct dns_prop	*p;
	char		*addr;
	int		 seen;
	struct dns_xfer	*x;
};

struct dns_prop {
	struct event_base *base;
	enum prop_state	 state;
	long		 timeout_ms;
	char		*cert, *name, *value;
	struct target	*t;
	size_t		 nt;
	/* FIND */
	enum find_step	 step;
	char		*sysres, *zone, *why;
	char		**ns;
	size_t		 nns, ins;	/* ins: next (NS, family) to ask, 2 per NS */
	struct dns_xfer	*fx;
	struct event	*tick, *deadline;
	unsigned	 ns_port;
	dns_prop_done	 done;
	void		*arg;
};

static void
prop_free(struct dns_prop *p)
{
	size_t	i;

	for (i = 0; i < p->nt; i++) {
		dns_xfer_cancel(p->t[i].x);
		free(p->t[i].addr);
	}
	free(p->t);
	dns_xfer_cancel(p->fx);
	dns_msg_strv_free(p->ns, p->nns);
	event_free(p->tick);
	event_free(p->deadline);
	free(p->cert);
	free(p->name);
	free(p->value);
	free(p->sysres);
	free(p->zone);
	free(p->why);
	free(p);
}

static void
finish(struct dns_prop *p, const char *error)
{
	p->done(p->arg, error);
	prop_free(p);
}

static void
add_target(struct dns_prop *p, const char *addr)
{
	p->t = xreallocarray(p->t, p->nt + 1, sizeof(*p->t));
	p->t[p->nt] = (struct target){ p, xstrdup(addr), 0, NULL };
	p->nt++;
}

/* ---- POLL */

static void
poll_done(void *arg, const uint8_t *reply, size_t len, const char *error)
{
	struct target	*t = arg;
	struct dns_prop	*p = t->p;
	size_t		 i;
	int		 has = 0, rcode = -2;

	t->x = NULL;
	if (reply != NULL)
		rcode = dns_msg_txt_has(reply, len, p->name, p->value, &has);
	if (!has) {
		log_msg(LOG_LVL_DEBUG, p->cert, "dns-01: %s: TXT not yet at %s "
		    "(%s)", p->name, t->addr, error != NULL ? error : rcode >= 0 ?
		    dns_msg_rcode_name(rcode) : "unparsable answer");
		return;
	}
	t->seen = 1;
	log_msg(LOG_LVL_DEBUG, p->cert, "dns-01: %s: TXT visible at %s",
	    p->name, t->addr);
	for (i = 0; i < p->nt; i++)
		if (!p->t[i].seen)
			return;
	log_msg(LOG_LVL_INFO, p->cert, "dns-01: %s: TXT visible at %zu "
	    "resolver%s", p->name, p->nt, p->nt == 1 ? "" : "s");
	finish(p, NULL);
}

static void
poll_all(struct dns_prop *p)
{
	uint8_t	*q;
	size_t	 i, qlen;
	char	 err[256];

	for (i = 0; i < p->nt; i++) {
		struct target *t = &p->t[i];

		if (t->seen || t->x != NULL)
			continue;
		if ((q = dns_msg_query(p->name, DNS_TYPE_TXT, 1, &qlen)) ==
		    NULL)
			continue;
		if ((t->x = dns_xfer_start(p->base, t->addr, q, qlen, QUERY_MS,
		    0, poll_done, t, err, sizeof(err))) == NULL)
			log_msg(LOG_LVL_DEBUG, p->cert, "dns-01: %s", err);
		free(q);
	}
}

/* ---- FIND */

static void	find_next(struct dns_prop *);

static void
find_fail(struct dns_prop *p, const char *why)
{
	free(p->why);
	p->why = xasprintf("cannot find the authoritative servers of %s "
	    "through %s: %s", p->zone != NULL ? p->zone : p->name,
	    p->sysres != NULL ? p->sysres : "the system resolver", why);
	log_msg(LOG_LVL_DEBUG, p->cert, "dns-01: %s", p->why);
	p->step = F_SOA;
	free(p->zone);
	p->zone = NULL;
	dns_msg_strv_free(p->ns, p->nns);
	p->ns = NULL;
	p->nns = p->ins = 0;
}

static void
find_done(void *arg, const uint8_t *reply, size_t len, const char *error)
{
	struct dns_prop	*p = arg;
	char		**v;
	size_t		 n, i;

	p->fx = NULL;
	if (reply == NULL) {
		find_fail(p, error);
		return;
	}
	if (p->step == F_SOA) {
		if ((p->zone = dns_msg_soa_zone(reply, len)) == NULL) {
			find_fail(p, "no SOA in the answer");
			return;
		}
		p->step = F_NS;
	} else if (p->step == F_NS) {
		if ((p->ns = dns_msg_answers(reply, len, DNS_TYPE_NS,
		    &p->nns)) == NULL) {
			find_fail(p, "no NS records");
			return;
		}
		p->step = F_ADDR;
	} else {
		v = dns_msg_answers(reply, len, p->ins % 2 ? DNS_TYPE_AAAA :
		    DNS_TYPE_A, &n);
		for (i = 0; i < n; i++) {
			char *a = xasprintf(p->ins % 2 ? "[%s]:%u" : "%s:%u",
			    v[i], p->ns_port);

			add_target(p, a);
			free(a);
		}
		dns_msg_strv_free(v, n);
		p->ins++;
	}
	find_next(p);
}

/* Asks the system resolver the next question, or starts polling. */
static void
find_next(struct dns_prop *p)
{
	uint8_t	*q = NULL;
	size_t	 qlen;
	char	 err[256];

	if (p->step == F_ADDR && p->ins == 2 * p->nns) {
		if (p->nt == 0) {
			find_fail(p, "no address for any NS");
			return;
		}
		log_msg(LOG_LVL_DEBUG, p->cert, "dns-01: %s: asking the %zu "
		    "servers of zone %s", p->name, p->nt, p->zone);
		p->state = P_POLL;
		poll_all(p);
		return;
	}
	if (p->step == F_SOA)
		q = dns_msg_query(p->name, DNS_TYPE_SOA, 1, &qlen);
	else if (p->step == F_NS)
		q = dns_msg_query(p->zone, DNS_TYPE_NS, 1, &qlen);
	else
		q = dns_msg_query(p->ns[p->ins / 2], p->ins % 2 ?
		    DNS_TYPE_AAAA : DNS_TYPE_A, 1, &qlen);
	if (q == NULL)
		find_fail(p, "a name ldns cannot encode");
	else if ((p->fx = dns_xfer_start(p->base, p->sysres, q, qlen,
	    QUERY_MS, 0, find_done, p, err, sizeof(err))) == NULL)
		find_fail(p, err);
	free(q);
}

/* ---- both */

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_prop	*p = arg;
	struct timeval	 tv = { DNS_PROP_POLL_MS / 1000,
	    (DNS_PROP_POLL_MS % 1000) * 1000 };

	evtimer_add(p->tick, &tv);
	if (p->state == P_POLL)
		poll_all(p);
	else if (p->fx == NULL) {
		if (p->sysres == NULL)
			p->sysres = dns_msg_system_resolver();
		if (p->sysres == NULL)
			find_fail(p, "no nameserver in /etc/resolv.conf");
		else
			find_next(p);
	}
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_prop	*p = arg;
	char		*e;
	size_t		 i;

	for (i = 0; i < p->nt && p->t[i].seen; i++)
		;
	if (p->state == P_FIND)
		e = xasprintf("cert %s: %s: TXT not checked after %lds: %s",
		    p->cert, p->name, p->timeout_ms / 1000, p->why != NULL ?
		    p->why : "no answer");
	else
		e = xasprintf("cert %s: %s: TXT not visible at %s after %lds",
		    p->cert, p->name, i < p->nt ? p->t[i].addr : "?",
		    p->timeout_ms / 1000);
	log_msg(LOG_LVL_ERR, p->cert, "%s", e);
	finish(p, e);
	free(e);
}

/* The check is off: done from the loop all the same. */
static void
skip_cb(evutil_socket_t fd, short what, void *arg)
{
	finish(arg, NULL);
}

struct dns_prop *
dns_prop_start(struct event_base *base, const struct dns_prop_opts *o,
    const char *cert, const char *name, const char *value, dns_prop_done done,
    void *arg)
{
	struct dns_prop	*p = xcalloc(1, sizeof(*p));
	struct timeval	 tv = { o->timeout_ms / 1000,
	    (o->timeout_ms % 1000) * 1000 };
	size_t		 i;

	p->base = base;
	p->cert = xstrdup(cert);
	p->name = xstrdup(name);
	p->value = xstrdup(value);
	p->timeout_ms = o->timeout_ms;
	p->done = done;
	p->arg = arg;
	p->state = o->nresolvers > 0 ? P_POLL : P_FIND;
	p->ns_port = o->ns_port != 0 ? o->ns_port : 53;
	if (o->system_resolver != NULL)
		p->sysres = xstrdup(o->system_resolver);
	for (i = 0; i < o->nresolvers; i++)
		add_target(p, o->resolvers[i]);
	p->tick = evtimer_new(base, o->check ? tick_cb : skip_cb, p);
	p->deadline = evtimer_new(base, deadline_cb, p);
	event_active(p->tick, EV_TIMEOUT, 0);
	if (o->check)
		evtimer_add(p->deadline, &tv);
	return p;
}

void
dns_prop_cancel(struct dns_prop *p)
{
	if (p != NULL)
		prop_free(p);
}
