/* challenge_dns_update.c - dns-01 solver: RFC 2136 dynamic updates signed with TSIG */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "acme_solver.h"
#include "challenge_dns.h"
#include "challenge_dns_update.h"
#include "dns.h"
#include "dns_msg.h"
#include "dns_prop.h"
#include "log.h"
#include "tsigkey.h"
#include "xmalloc.h"

/*
 * One record per publish. Records of one name do not wait for each
 * other: each UPDATE adds or deletes exactly its own RR.
 *
 *   state     event                      next      action
 *   ZONE      SOA answer                 ADDING    UPDATE add (zone not configured)
 *   ZONE      failed                     FAILED    done(error)
 *   ADDING    NOERROR, TSIG verified     PROP      propagation check
 *   ADDING    anything else              FAILED    done(error)
 *   PROP      visible (or check off)     UP        done(NULL)
 *   PROP      timeout                    FAILED    done(error)
 *   ZONE      withdrawn                  (freed)   nothing was added
 *   ADDING    withdrawn                  ADDING    delete once the add is answered
 *   PROP/UP/FAILED withdrawn             DELETING  UPDATE delete (FAILED with no
 *                                                  zone: freed)
 *   DELETING  answered, or failed        (freed)   a failure is logged
 *
 * done is the last thing a callback does with its record: acme may
 * withdraw any record from inside it.
 */

enum rec_state { R_ZONE, R_ADDING, R_PROP, R_UP, R_FAILED, R_DELETING };

struct rec {
	TAILQ_ENTRY(rec)	 entry;
	struct chall_dns_update	*u;
	enum rec_state		 state;
	int			 withdrawn;
	char			*cert, *name, *value, *zone;
	struct dns_update_msg	 msg;
	struct dns_xfer		*x;
	struct dns_prop		*prop;
	struct event		*kick;		/* the first step, from the loop */
	acme_solver_done	 done;
	void			*ctx;
};
TAILQ_HEAD(rec_list, rec);

struct chall_dns_update {
	struct event_base	*base;
	char			*server, *zone;
	struct tsig_key		 key;
	long			 timeout_ms;
	struct dns_prop_opts	 prop;
	char			**resolvers;
	struct rec_list		 recs;
};

static void
rec_free(struct rec *r)
{
	TAILQ_REMOVE(&r->u->recs, r, entry);
	dns_xfer_cancel(r->x);
	dns_prop_cancel(r->prop);
	event_free(r->kick);
	dns_msg_update_clear(&r->msg);
	free(r->cert);
	free(r->name);
	free(r->value);
	free(r->zone);
	free(r);
}

/* Ends a publish: error NULL if visible. r may be freed by done. */
static void
answer(struct rec *r, const char *error)
{
	acme_solver_done	 done = r->done;
	void			*ctx = r->ctx;

	r->state = error != NULL ? R_FAILED : R_UP;
	r->done = NULL;
	r->ctx = NULL;
	if (error != NULL)
		log_msg(LOG_LVL_ERR, r->cert, "%s", error);
	if (done != NULL && !r->withdrawn)
		done(ctx, error);
}

static void	send_update(struct rec *, int del);
static void	withdraw_rec(struct rec *);

static void
prop_done(void *arg, const char *error)
{
	struct rec *r = arg;

	r->prop = NULL;
	if (error == NULL)
		log_msg(LOG_LVL_INFO, r->cert, "dns-01: added %s", r->name);
	answer(r, error);
}

static void
update_done(void *arg, const uint8_t *reply, size_t len, const char *error)
{
	struct rec	*r = arg;
	char		 why[256], *e = NULL;
	int		 del = r->state == R_DELETING;

	r->x = NULL;
	if (reply == NULL)
		snprintf(why, sizeof(why), "%s", error);
	else if (dns_msg_update_result(&r->msg, &r->u->key, reply, len, why,
	    sizeof(why)) == 0)
		why[0] = '\0';
	dns_msg_update_clear(&r->msg);
	if (del) {
		if (why[0] != '\0')
			log_msg(LOG_LVL_WARNING, r->cert, "dns-01: rfc2136 "
			    "delete of %s at %s: %s; the record may stay in "
			    "DNS", r->name, r->u->server, why);
		else
			log_msg(LOG_LVL_DEBUG, r->cert, "dns-01: deleted %s",
			    r->name);
		rec_free(r);
		return;
	}
	if (r->withdrawn) {		/* the add may have been applied */
		send_update(r, 1);
		return;
	}
	if (why[0] != '\0') {
		e = xasprintf("cert %s: rfc2136 update of %s at %s (zone %s, "
		    "key %s): %s", r->cert, r->name, r->u->server, r->zone,
		    r->u->key.name, why);
		answer(r, e);
		free(e);
		return;
	}
	r->state = R_PROP;
	r->prop = dns_prop_start(r->u->base, &r->u->prop, r->cert, r->name,
	    r->value, prop_done, r);
}

/* Sends the UPDATE that adds (del 0) or deletes r's record. */
static void
send_update(struct rec *r, int del)
{
	char	err[256], *e;

	r->state = del ? R_DELETING : R_ADDING;
	if (dns_msg_update(r->zone, r->name, r->value, CHALL_DNS_UPDATE_TTL,
	    del, &r->u->key, &r->msg, err, sizeof(err)) == 0 &&
	    (r->x = dns_xfer_start(r->u->base, r->u->server, r->msg.wire,
	    r->msg.len, r->u->timeout_ms, 0, update_done, r, err,
	    sizeof(err))) != NULL) {
		log_msg(LOG_LVL_DEBUG, r->cert, "dns-01: rfc2136 %s %s TXT %s "
		    "in zone %s at %s", del ? "delete" : "add", r->name,
		    r->value, r->zone, r->u->server);
		return;
	}
	if (del) {
		log_msg(LOG_LVL_WARNING, r->cert, "dns-01: rfc2136 delete of "
		    "%s: %s; the record may stay in DNS", r->name, err);
		rec_free(r);
		return;
	}
	/* from publish's kick or a callback: never inside publish */
	e = xasprintf("cert %s: rfc2136 update of %s at %s: %s", r->cert,
	    r->name, r->u->server, err);
	answer(r, e);
	free(e);
}

static void
zone_done(void *arg, const uint8_t *reply, size_t len, const char *error)
{
	struct rec	*r = arg;
	char		*e;

	r->x = NULL;
	if (reply != NULL && (r->zone = dns_msg_soa_zone(reply, len)) != NULL) {
		log_msg(LOG_LVL_DEBUG, r->cert, "dns-01: %s is in zone %s",
		    r->name, r->zone);
		send_update(r, 0);
		return;
	}
	e = xasprintf("cert %s: rfc2136: cannot find the zone of %s at %s: "
	    "%s (set dns01.rfc2136.zone)", r->cert, r->name, r->u->server,
	    error != NULL ? error : "no SOA in the answer");
	answer(r, e);
	free(e);
}

/* The first step of a publish, from the loop. */
static void
start_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rec	*r = arg;
	uint8_t		*q;
	size_t		 qlen;
	char		 err[256], *e;

	if (r->zone != NULL) {
		send_update(r, 0);
		return;
	}
	r->state = R_ZONE;
	if ((q = dns_msg_query(r->name, DNS_TYPE_SOA, 0, &qlen)) != NULL &&
	    (r->x = dns_xfer_start(r->u->base, r->u->server, q, qlen,
	    r->u->timeout_ms, 0, zone_done, r, err, sizeof(err))) != NULL) {
		free(q);
		return;
	}
	free(q);
	e = xasprintf("cert %s: rfc2136: cannot ask %s for the zone of %s",
	    r->cert, r->u->server, r->name);
	answer(r, e);
	free(e);
}

/* ------------------------------------------------------- solver contract */

static int
solver_publish(void *arg, const struct acme_challenge *c,
    acme_solver_done done, void *ctx)
{
	struct chall_dns_update	*u = arg;
	struct rec		*r;
	char			*name;

	if ((name = chall_dns_record(c)) == NULL)
		return -1;
	r = xcalloc(1, sizeof(*r));
	r->u = u;
	r->state = R_ZONE;
	r->cert = xstrdup(c->cert != NULL ? c->cert : "-");
	r->name = name;
	r->value = xstrdup(c->digest);
	r->zone = u->zone != NULL ? xstrdup(u->zone) : NULL;
	r->done = done;
	r->ctx = ctx;
	TAILQ_INSERT_TAIL(&u->recs, r, entry);
	r->kick = evtimer_new(u->base, start_cb, r);
	event_active(r->kick, EV_TIMEOUT, 0);
	return 1;
}

static void
withdraw_rec(struct rec *r)
{
	r->withdrawn = 1;
	r->done = NULL;
	r->ctx = NULL;
	switch (r->state) {
	case R_ZONE:
		rec_free(r);
		break;
	case R_ADDING:
	case R_DELETING:
		break;		/* update_done goes on */
	case R_PROP:
		dns_prop_cancel(r->prop);
		r->prop = NULL;
		send_update(r, 1);
		break;
	case R_UP:
	case R_FAILED:
		if (r->zone == NULL)
			rec_free(r);
		else
			send_update(r, 1);
		break;
	}
}

static void
solver_withdraw(void *arg, const struct acme_challenge *c)
{
	struct chall_dns_update	*u = arg;
	struct rec		*r;
	char			*name;

	if (c->digest == NULL)
		return;
	name = xasprintf("_acme-challenge.%s", c->id_value);
	TAILQ_FOREACH(r, &u->recs, entry)
		if (!r->withdrawn && strcmp(r->name, name) == 0 &&
		    strcmp(r->value, c->digest) == 0)
			break;
	free(name);
	if (r != NULL)
		withdraw_rec(r);
}

void
chall_dns_update_solver(struct chall_dns_update *u, struct acme_solver *s)
{
	*s = (struct acme_solver){ "dns-01", chall_dns_can, solver_publish,
	    solver_withdraw, u };
}

/* ------------------------------------------------------------ lifecycle */

struct chall_dns_update *
chall_dns_update_new(struct event_base *base,
    const struct chall_dns_update_opts *o)
{
	struct chall_dns_update	*u = xcalloc(1, sizeof(*u));
	size_t			 i;

	u->base = base;
	u->server = xstrdup(o->server);
	u->zone = o->zone != NULL ? xstrdup(o->zone) : NULL;
	tsigkey_copy(&u->key, o->key);
	u->timeout_ms = o->timeout_ms;
	u->prop = o->prop;
	u->resolvers = xcalloc(o->prop.nresolvers + 1, sizeof(char *));
	for (i = 0; i < o->prop.nresolvers; i++)
		u->resolvers[i] = xstrdup(o->prop.resolvers[i]);
	u->prop.resolvers = u->resolvers;
	TAILQ_INIT(&u->recs);
	return u;
}

size_t
chall_dns_update_count(const struct chall_dns_update *u)
{
	const struct rec *r;
	size_t		  n = 0;

	if (u == NULL)
		return 0;
	TAILQ_FOREACH(r, &u->recs, entry)
		n++;
	return n;
}

/* Returns how many records still owe a delete. */
static size_t
dels_owed(const void *arg)
{
	const struct chall_dns_update *u = arg;
	const struct rec *r;
	size_t		  n = 0;

	TAILQ_FOREACH(r, &u->recs, entry)
		n += r->withdrawn;
	return n;
}

size_t
chall_dns_update_drain(struct chall_dns_update *u)
{
	if (u == NULL)
		return 0;
	return chall_dns_drain(u->base, dels_owed, u, u->timeout_ms + 500,
	    "rfc2136 delete");
}

void
chall_dns_update_free(struct chall_dns_update *u)
{
	struct rec	*r;
	size_t		 i;

	if (u == NULL)
		return;
	while ((r = TAILQ_FIRST(&u->recs)) != NULL) {
		if (r->state != R_ZONE)
			log_msg(LOG_LVL_WARNING, r->cert, "dns-01: shutting "
			    "down before the delete of %s was answered; the "
			    "record may stay in DNS", r->name);
		rec_free(r);
	}
	for (i = 0; i < u->prop.nresolvers; i++)
		free(u->resolvers[i]);
	free(u->resolvers);
	tsigkey_clear(&u->key);
	free(u->server);
	free(u->zone);
	free(u);
}
