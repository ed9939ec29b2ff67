/* acme_order.c - orders and authorizations: the two state machines */
#include "config.h"

#include <arpa/inet.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "acme_int.h"
#include "acme_solver.h"
#include "crypto.h"
#include "log.h"
#include "validate.h"
#include "xmalloc.h"

/*
 * An order (RFC 8555 7.1.3) moves only in order_step(). Each state waits
 * for exactly one thing, and that thing comes back to order_step(): QUEUED
 * for acme_ca_pump (OE_ADMIT) or the account setup to fail (OE_FAIL), AUTHZ
 * for its authorizations (OE_AUTHZ_VALID, or OE_FAIL from the first that
 * fails), every other state for its one request (o->call, OE_REPLY) or its
 * timer (OE_TIMER). Every failure leads to DONE, and DONE's timer runs the
 * callback: the only place it runs, once. So "does every path end in
 * exactly one callback?" is answered by order_step's switch. An order
 * begins at QUEUED either way: new, or one to resume (placed before a
 * restart; its URL is known, newOrder is never sent for it).
 *
 *   state       event                              next        entry action
 *   QUEUED      admitted (account ready, a slot)   NEW         POST newOrder
 *   QUEUED      ... with an order to resume        RESUME      POST-as-GET that order
 *   NEW         account gone (first time)          QUEUED      back to the queue's head
 *   NEW         "replaces" refused (first time)    NEW         POST newOrder without it
 *   NEW         order pending                      AUTHZ       fetch every authorization
 *   NEW         order ready                        FINALIZE    POST finalize with the CSR
 *   NEW         order processing                   WAIT_VALID  poll later
 *   RESUME      order pending                      AUTHZ       fetch every authorization
 *   RESUME      order ready                        FINALIZE    POST finalize with the CSR
 *   RESUME      order processing                   WAIT_VALID  poll later
 *   RESUME      no answer, 5xx, rate limited       DONE        keep the error
 *   RESUME      any other error; invalid, expired  DONE        "cannot resume" (fail.gone)
 *               or another status; other names
 *   AUTHZ       every authorization valid          FINALIZE    POST finalize
 *   WAIT_READY  timer                              WAIT_READY  poll now
 *   WAIT_READY  order ready                        FINALIZE    POST finalize
 *   WAIT_READY  order pending, processing          WAIT_READY  poll later
 *   FINALIZE    released (held by acme_order_hold) FINALIZE    POST finalize
 *   FINALIZE    orderNotReady (first time)         WAIT_READY  poll later
 *   FINALIZE    order pending, ready, processing   WAIT_VALID  poll later
 *   WAIT_VALID  timer                              WAIT_VALID  poll now
 *   WAIT_VALID  order pending, ready, processing   WAIT_VALID  poll later
 *   (replies)   order valid                        CERT        POST-as-GET the certificate
 *   CERT        a PEM chain                        DONE        keep it
 *   CERT        ... not by preferred_chain's issuer,  ALT         POST-as-GET the first
 *               with Link rel="alternate" URLs                 alternate
 *   ALT         the preferred issuer's chain          DONE        keep it instead
 *   ALT         another, or an error (logged)         ALT         the next alternate
 *   ALT         none left                             DONE        keep the default
 *   any         error, invalid, any other status   DONE        keep the error
 *   DONE        timer                              (freed)     the callback
 *
 * Entering DONE stops what is in flight and withdraws every published
 * answer; the callback runs from the timer, so no caller up the stack
 * sees the order freed. An order's list follows from its state
 * (order_list): QUEUED on the CA's queue, DONE on its done list, the rest
 * active, counted against max_concurrent_orders.
 *
 * An authorization (7.1.4) moves only in authz_step():
 *
 *   state    event                                next     entry action
 *   FETCH    authz valid (reused authorization)   VALID
 *   FETCH    authz pending: a solver published    WAIT
 *   FETCH    ... the solver publishes later       PUBLISH  (the solver calls back)
 *   FETCH    ... challenge no longer pending      POLL     poll later (reused)
 *   PUBLISH  the solver is done                   WAIT
 *   WAIT     no authz of the order in FETCH or    TRIGGER  POST {} to the challenge
 *            PUBLISH any more (authz_release)
 *   TRIGGER  challenge valid                      VALID    (RFC 8555 7.1.6: no poll)
 *   TRIGGER  challenge pending, processing        POLL     poll later
 *   POLL     timer                                POLL     poll now
 *   POLL     authz pending                        POLL     poll later
 *   POLL     the solver is done (reused)          POLL     nothing: no trigger needed
 *   POLL     authz valid                          VALID
 *   any      error, invalid, any other status     -        the order fails (OE_FAIL)
 *
 * WAIT is the order's barrier: no challenge is triggered before every
 * answer of the order is visible, so a CA that validates one name cannot
 * cache a DNS answer that lacks another's record (a wildcard and its base
 * name share one _acme-challenge name).
 * Entering VALID withdraws the answer; the last authorization to enter it
 * moves the order on (OE_AUTHZ_VALID). The challenge is picked by
 * acme_challenge_pick from the solvers renew.c supplies (acme_solver.h).
 */

#define POLL_STEP_MS		20	/* never sooner: Pebble validates in ms */
#define POLL_FAST_MS		200	/* 20 ms steps this long, then growing */
#define POLL_SLOW_MS		1000	/* after this, seconds apart */
#define POLL_MAX_MS		5000
#define POLL_ORDER_RATE		50	/* polls per second per order, at most */
#define RETRY_AFTER_MAX		3600	/* longer than this fails the order */
#ifndef ORDER_DEADLINE_MS	/* overridable so the timeout path can be exercised */
#define ORDER_DEADLINE_MS	(10L * 60 * 1000)
#endif
#define AUTHZ_MAX		1000

enum order_event {
	OE_ADMIT,	/* the account is ready and a slot free */
	OE_REPLY,	/* the order's request came back */
	OE_TIMER,	/* the order's timer fired; FINALIZE: released */
	OE_AUTHZ_VALID,	/* the last authorization became valid */
	OE_FAIL,	/* the account setup or an authorization failed */
};

enum authz_event {
	AE_REPLY,	/* the authorization's request came back */
	AE_TIMER,	/* its poll timer fired */
	AE_PUBLISHED,	/* its solver finished publishing */
};

static void	order_step(struct acme_order *, enum order_event,
		    const struct acme_reply *);
static void	authz_step(struct acme_authz *, enum authz_event,
		    const struct acme_reply *);
static int	order_same_names(struct acme_order *, json_t *);

/* --------------------------------------------------------------- status */

static const char *const status_names[] = {
	[ACME_PENDING] = "pending",
	[ACME_READY] = "ready",
	[ACME_PROCESSING] = "processing",
	[ACME_VALID] = "valid",
	[ACME_INVALID] = "invalid",
	[ACME_DEACTIVATED] = "deactivated",
	[ACME_EXPIRED] = "expired",
	[ACME_REVOKED] = "revoked",
};

enum acme_status
acme_status_parse(const char *s)
{
	size_t i;

	if (s == NULL)
		return ACME_NO_STATUS;
	for (i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (strcmp(s, status_names[i]) == 0)
			return (enum acme_status)i;
	return ACME_UNKNOWN;
}

/* ---------------------------------------------------------------- utils */

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
jstr(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Returns the malloc'd text of the problem document obj, or NULL if it is none. */
static char *
problem_of(json_t *obj)
{
	struct acme_problem	 p;
	char			*s;

	if (acme_problem_from_json(obj, &p) == -1)
		return NULL;
	s = acme_problem_str(&p);
	acme_problem_clear(&p);
	return s;
}

/* ------------------------------------------------------------ failures */

/*
 * Keeps what the first failure of o means (later ones are its echoes):
 * class cls of problem at url (endpoint), HTTP status, deadline until;
 * and holds the account's new orders or the endpoint when that is the
 * deadline's scope. prob, if any, is the problem document, for the scope.
 */
static void
order_note(struct acme_order *o, enum acme_fail_class cls,
    const struct acme_problem *prob, long status, const char *url,
    const char *endpoint, time_t until)
{
	struct acme_failure	*f = &o->fail;
	struct acme_ca		*ca = o->ca;

	if (f->cls != ACME_FAIL_NONE)
		return;
	f->cls = cls;
	f->status = status;
	f->endpoint = endpoint;
	f->until = until;
	f->scope = acme_fail_scope(cls, prob, status, strcmp(endpoint,
	    "newOrder") == 0, until != 0, o->domains, o->ndomains);
	f->problem = o->fail_problem = prob != NULL && prob->type != NULL ?
	    xstrdup(prob->type) : NULL;
	f->url = o->fail_url = url != NULL ? xstrdup(url) : NULL;
	if (f->scope == ACME_SCOPE_ACCOUNT)
		acme_hold_orders(ca, until);
	else if (f->scope == ACME_SCOPE_ENDPOINT && url != NULL)
		f->until = acme_hold_url(ca, url, until);
}

/* Notes a failed answer r of the CA to url (endpoint). */
static void
order_note_reply(struct acme_order *o, const struct acme_reply *r,
    const char *url, const char *endpoint)
{
	long status = r->resp != NULL && r->resp->error == NULL ?
	    r->resp->status : 0;

	order_note(o, r->cls != ACME_FAIL_NONE ? r->cls : ACME_FAIL_CA,
	    r->problem != NULL ? &r->prob : NULL, status, url, endpoint,
	    r->until);
}

/* Notes the problem document obj (an order's or a challenge's "error"). */
static void
order_note_problem(struct acme_order *o, json_t *obj, const char *url,
    const char *endpoint, int validation)
{
	struct acme_problem p;

	if (acme_problem_from_json(obj, &p) == -1)
		return;
	/* the CA did answer: a document without "status" is no lost answer */
	order_note(o, acme_fail_classify(p.type, p.status != 0 ? p.status :
	    400, validation), &p, p.status, url, endpoint, 0);
	acme_problem_clear(&p);
}

/*
 * The poll schedule: fast while a CA that validates in milliseconds would
 * answer, polite after. elapsed ms since the object was first polled:
 * 20 ms steps for the first 200 ms (an authorization valid at 30 ms is
 * seen by 40 ms), then a quarter of the time waited (50 -> 250 ms), then
 * half of it, at least 1 s and at most 5 s. npolling objects of one order
 * polled at once share POLL_ORDER_RATE polls a second; Retry-After
 * (ra s, -1: none) is never undercut.
 */
long
acme_poll_delay(long long elapsed, size_t npolling, long ra)
{
	long long	ms;

	if (elapsed < POLL_FAST_MS)
		ms = POLL_STEP_MS;
	else if (elapsed < POLL_SLOW_MS)
		ms = elapsed / 4;
	else
		ms = elapsed / 2 < POLL_SLOW_MS ? POLL_SLOW_MS :
		    elapsed / 2 > POLL_MAX_MS ? POLL_MAX_MS : elapsed / 2;
	if (npolling > POLL_ORDER_RATE * POLL_MAX_MS / 1000)
		npolling = POLL_ORDER_RATE * POLL_MAX_MS / 1000;
	if ((long long)npolling * 1000 / POLL_ORDER_RATE > ms)
		ms = (long long)npolling * 1000 / POLL_ORDER_RATE;
	if (ra >= 0 && ra <= RETRY_AFTER_MAX && ra * 1000LL > ms)
		ms = ra * 1000LL;
	return (long)ms;
}

/*
 * Arms ev for the next poll of url, polled since *since (monotonic ms; 0:
 * from now on) with npolling objects of o: acme_poll_delay after the
 * object's last answer (at answered), or after now with a Retry-After,
 * no later than the order's deadline. Returns NULL, or why the order has
 * to end instead.
 */
static char *
poll_later(struct acme_order *o, struct event *ev, long long *since,
    long long answered, size_t npolling, const struct http_response *resp,
    const char *url, const char *status)
{
	struct timeval	 tv;
	long long	 ms, left, now = now_ms();
	long		 ra = -1;

	if (resp != NULL && resp->retry_after != NULL &&
	    (ra = acme_retry_after(resp->retry_after)) > RETRY_AFTER_MAX)
		return acme_oneline(xasprintf("acme: %s: CA asks to "
		    "retry after %ld s (status %s)", url, ra, status));
	if (*since == 0)
		*since = now;
	ms = acme_poll_delay(now - *since, npolling, ra);
	/* e.g. the authorization's fetch while its challenge was triggered */
	if (ra < 0 && answered > 0 && answered <= now)
		ms = ms > now - answered ? ms - (now - answered) : 0;
	if ((left = o->deadline - now) <= 0)
		return acme_oneline(xasprintf("acme: timed out waiting for %s "
		    "(status %s)", url, status));
	if (ms > left)
		ms = left;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(ev, &tv);
	return NULL;
}

/* Returns how many authorizations of a's order are polled, a included. */
static size_t
authz_polling(const struct acme_authz *a)
{
	const struct acme_order	*o = a->order;
	size_t			 i, n = 0;

	for (i = 0; i < o->nauthz; i++)
		n += o->authz[i].state == A_POLL || &o->authz[i] == a;
	return n;
}

/* ------------------------------------------------------ challenge choice */

/* Returns malloc'd "http-01, dns-01": the types of the solvers, once each. */
static char *
solver_types(const struct acme_solver *solvers, size_t n)
{
	char	*s = xstrdup(""), *t;
	size_t	 i, j;

	for (i = 0; i < n; i++) {
		if (solvers[i].type == NULL)
			continue;
		for (j = 0; j < i && (solvers[j].type == NULL ||
		    strcmp(solvers[j].type, solvers[i].type)); j++)
			;
		if (j < i)
			continue;
		t = xasprintf("%s%s%s", s, *s != '\0' ? ", " : "",
		    solvers[i].type);
		free(s);
		s = t;
	}
	return s;
}

/*
 * Returns the first object of array arr whose string member key is value
 * (ignoring case with nocase), or NULL.
 */
static json_t *
find_by(json_t *arr, const char *key, const char *value, int nocase)
{
	json_t		*el;
	const char	*v;
	size_t		 i;

	json_array_foreach(arr, i, el)
		if ((v = jstr(el, key)) != NULL && (nocase ?
		    strcasecmp(v, value) : strcmp(v, value)) == 0)
			return el;
	return NULL;
}

json_t *
acme_challenge_pick(const struct acme_solver *solvers, size_t nsolvers,
    const char *want, json_t *offer, const char *authz_url,
    const char *id_type, const char *id_value,
    const struct acme_solver **solver, char **error)
{
	const struct acme_solver *s;
	json_t		*ch;
	char		*types;
	size_t		 i, nsolving = 0, nwanted = 0, noffered = 0;

	*solver = NULL;
	for (i = 0; i < nsolvers; i++) {
		s = &solvers[i];
		if (s->type == NULL)	/* an empty slot (acme_solver.h) */
			continue;
		nsolving++;
		if (want != NULL && strcmp(s->type, want) != 0)
			continue;
		nwanted++;
		if ((ch = find_by(offer, "type", s->type, 0)) == NULL)
			continue;
		noffered++;
		if (s->can == NULL || s->can(s->arg, id_type, id_value)) {
			*solver = s;
			return ch;
		}
	}
	types = want != NULL ? xstrdup(want) : solver_types(solvers, nsolvers);
	if (nsolving == 0)
		*error = xasprintf("acme: %s needs %s for %s, but no challenge "
		    "solver is configured", authz_url, want != NULL ? want :
		    "a challenge", id_value);
	else if (nwanted == 0) {
		free(types);
		types = solver_types(solvers, nsolvers);
		*error = xasprintf("acme: no %s solver is configured (only "
		    "%s)", want, types);
	} else if (noffered == 0)
		*error = xasprintf("acme: %s: CA offers no %s challenge for %s",
		    authz_url, types, id_value);
	else
		*error = xasprintf("acme: %s: no %s solver can answer for %s %s",
		    authz_url, types, id_type, id_value);
	acme_oneline(*error);	/* the identifier is the CA's text */
	free(types);
	return NULL;
}

/* ------------------------------------------------------- authorizations */

static const char *
authz_name(const struct acme_authz *a)
{
	return a->id_value != NULL ? a->id_value : "?";
}

static void
authz_challenge(const struct acme_authz *a, struct acme_challenge *ch)
{
	*ch = (struct acme_challenge){ .type = a->chall_type,
	    .id_type = a->id_type, .id_value = a->id_value, .token = a->token,
	    .keyauth = a->keyauth, .digest = a->digest,
	    .cert = a->order->cert_name };
}

static void
authz_forget_answer(struct acme_authz *a)
{
	free(a->token);
	free(a->keyauth);
	free(a->digest);
	a->token = a->keyauth = a->digest = NULL;
}

/* Takes the published answer down, if there is one. */
static void
authz_withdraw(struct acme_authz *a)
{
	struct acme_challenge	 ch;
	const struct acme_solver *s = a->solver;

	if (s == NULL)
		return;
	authz_challenge(a, &ch);
	a->solver = NULL;
	s->withdraw(s->arg, &ch);
	authz_forget_answer(a);
}

/* acme_solver_done: an asynchronous publish ended. */
static void
authz_published(void *ctx, const char *error)
{
	struct acme_reply r;

	memset(&r, 0, sizeof(r));
	r.err = error;
	authz_step(ctx, AE_PUBLISHED, &r);
}

/*
 * Publishes the answer to token through s. Returns 0 if it is visible now,
 * 1 if authz_published will say so, -1 with *error set.
 */
static int
authz_publish(struct acme_authz *a, const struct acme_solver *s,
    const char *token, char **error)
{
	struct acme_challenge	ch;
	int			rc;

	a->token = xstrdup(token);
	a->keyauth = xasprintf("%s.%s", token, a->order->ca->thumbprint);
	/* RFC 8555 8.4: the TXT record holds the key authorization's digest */
	if (strcmp(s->type, "dns-01") == 0 && (a->digest =
	    crypto_sha256_b64url(a->keyauth, strlen(a->keyauth))) == NULL) {
		*error = xasprintf("acme: %s: cannot hash the key "
		    "authorization", a->chall_url);
		authz_forget_answer(a);
		return -1;
	}
	authz_challenge(a, &ch);
	if ((rc = s->publish(s->arg, &ch, authz_published, a)) == -1) {
		order_note(a->order, ACME_FAIL_LOCAL, NULL, 0, NULL, "challenge", 0);
		*error = acme_oneline(xasprintf("acme: %s: cannot publish the "
		    "%s token for %s", a->chall_url, s->type, authz_name(a)));
		authz_forget_answer(a);
		return -1;
	}
	a->solver = s;		/* withdrawn when valid or when the order ends */
	return rc == 0 ? 0 : 1;
}

void
acme_authz_identify(struct acme_authz *a, json_t *j)
{
	json_t		*id;
	const char	*type, *value;

	if (a->id_value != NULL)
		return;
	id = json_object_get(j, "identifier");
	if ((value = jstr(id, "value")) == NULL)
		return;
	type = jstr(id, "type");
	a->id_value = xstrdup(value);
	if (type != NULL && strcmp(type, "dns") == 0)
		a->id_type = "dns";
	else if (type != NULL && strcmp(type, "ip") == 0)
		a->id_type = "ip";
}

/* Returns 1 if a and b are IP literals of the same address. */
static int
same_ip(const char *a, const char *b)
{
	unsigned char	 x[16], y[16];
	int		 af = valid_ip_literal(a);

	return af != 0 && af == valid_ip_literal(b) && inet_pton(af, a, x) == 1 &&
	    inet_pton(af, b, y) == 1 &&
	    memcmp(x, y, af == AF_INET ? 4 : 16) == 0;
}

/*
 * Returns 1 if the identifier (type, value, wildcard flag) of an
 * authorization is for d, a name of the order: an IP address as an "ip"
 * identifier, a wildcard as its base name with "wildcard": true.
 */
static int
id_is(const char *d, const char *type, const char *value, int wild)
{
	if (valid_ip_literal(d))
		return strcmp(type, "ip") == 0 && !wild && same_ip(d, value);
	if (strcmp(type, "dns") != 0 || strncmp(value, "*.", 2) == 0)
		return 0;
	if (wild)
		return strncmp(d, "*.", 2) == 0 && strcasecmp(d + 2, value) == 0;
	return strcasecmp(d, value) == 0;
}

/*
 * Returns NULL if authorization object j is for an identifier a's order
 * asked for, else why not: a solver would publish for, and a hook be run
 * with, a name the CA chose.
 */
static char *
authz_foreign(struct acme_authz *a, json_t *j)
{
	struct acme_order *o = a->order;
	json_t		*id = json_object_get(j, "identifier");
	const char	*type = jstr(id, "type"), *value = jstr(id, "value");
	int		 wild = json_is_true(json_object_get(j, "wildcard"));
	size_t		 i;

	for (i = 0; type != NULL && value != NULL && i < o->ndomains; i++)
		if (id_is(o->domains[i], type, value, wild))
			return NULL;
	return acme_oneline(xasprintf("acme: CA %s: %s: the authorization is "
	    "for %s%s \"%s\", which the order for %s did not ask for", o->ca->name,
	    a->url, wild ? "wildcard " : "", type != NULL ? type : "(no type)",
	    value != NULL ? value : "(none)", o->cert_name));
}

/* Returns the error of an invalid authorization: its failed challenge's, if any. */
static char *
authz_invalid_error(struct acme_authz *a, json_t *j)
{
	json_t		*ch, *best = NULL;
	const char	*type, *want = a->chall_type != NULL ? a->chall_type :
			    a->order->challenge;
	char		*ps, *err;
	size_t		 i;

	json_array_foreach(json_object_get(j, "challenges"), i, ch) {
		if (!json_is_object(json_object_get(ch, "error")))
			continue;
		/* prefer the error of the type we tried */
		if (best == NULL || ((type = jstr(ch, "type")) != NULL &&
		    want != NULL && strcmp(type, want) == 0))
			best = ch;
	}
	if (best != NULL)
		order_note_problem(a->order, json_object_get(best, "error"),
		    jstr(best, "url") != NULL ? jstr(best, "url") : a->url,
		    "challenge", 1);
	else	/* invalid with no word why: as if validation failed */
		order_note(a->order, ACME_FAIL_DOMAIN, NULL, 0, a->url, "authz", 0);
	if (best != NULL &&
	    (ps = problem_of(json_object_get(best, "error"))) != NULL) {
		err = xasprintf("acme: %s: %s", jstr(best, "url") != NULL ?
		    jstr(best, "url") : a->url, ps);
		free(ps);
		return acme_oneline(err);
	}
	return acme_oneline(xasprintf("acme: %s: authorization for %s is "
	    "invalid", a->url, authz_name(a)));
}

/* Returns the error of an invalid challenge object. */
static char *
authz_challenge_error(struct acme_authz *a, json_t *j)
{
	char	*ps = problem_of(json_object_get(j, "error")), *err;

	order_note_problem(a->order, json_object_get(j, "error"), a->chall_url,
	    "challenge", 1);
	err = xasprintf("acme: %s: %s", a->chall_url, ps != NULL ? ps :
	    "challenge is invalid");
	free(ps);
	return acme_oneline(err);
}

enum authz_state
acme_authz_object(struct acme_authz *a, const struct acme_reply *r,
    char **error)
{
	switch (r->status) {
	case ACME_VALID:
		return A_VALID;
	case ACME_INVALID:
		*error = authz_invalid_error(a, r->json);
		break;
	case ACME_NO_STATUS:
		*error = xasprintf("acme: %s: authorization lacks \"status\"",
		    a->url);
		break;
	default:
		*error = acme_oneline(xasprintf("acme: %s: authorization for "
		    "%s is %s", a->url, authz_name(a), r->status_text));
		break;
	}
	return a->state;
}

const char *
acme_authz_choose(struct acme_authz *a, const struct acme_reply *r,
    const struct acme_solver **solver, enum acme_status *st, char **error)
{
	const struct acme_env	*env = &a->order->ca->env;
	const struct acme_solver *s;
	json_t			*ch;
	const char		*url, *token;

	if (a->id_type == NULL) {
		*error = xasprintf("acme: %s: authorization lacks a dns or ip "
		    "\"identifier\"", a->url);
		return NULL;
	}
	if ((ch = acme_challenge_pick(env->solvers, env->nsolvers,
	    a->order->challenge, json_object_get(r->json, "challenges"),
	    a->url, a->id_type, a->id_value, &s, error)) == NULL)
		return NULL;
	url = jstr(ch, "url");
	token = jstr(ch, "token");
	if (url == NULL || token == NULL ||
	    (*st = acme_status_parse(jstr(ch, "status"))) == ACME_NO_STATUS) {
		*error = xasprintf("acme: %s: %s challenge lacks url, token or "
		    "status", a->url, s->type);
		return NULL;
	}
	if (!valid_base64url(token, ACME_TOKEN_MAX, 0)) {
		*error = acme_oneline(xasprintf("acme: %s: unusable %s token",
		    url, s->type));
		return NULL;
	}
	free(a->chall_url);
	a->chall_url = xstrdup(url);
	a->chall_type = s->type;
	*solver = s;
	return token;
}

/* A pending authorization: picks a challenge, publishes its answer, says what next. */
static enum authz_state
authz_answer(struct acme_authz *a, const struct acme_reply *r, char **error)
{
	const struct acme_solver *s;
	const char		*token;
	enum acme_status	 st;
	int			 rc;

	if ((token = acme_authz_choose(a, r, &s, &st, error)) == NULL)
		return a->state;
	if (st == ACME_INVALID)
		*error = authz_invalid_error(a, r->json);
	else if ((rc = authz_publish(a, s, token, error)) == -1)
		;
	else if (st != ACME_PENDING)
		return A_POLL;	/* triggered already: a reused authorization */
	else
		return rc == 0 ? A_WAIT : A_PUBLISH;
	return a->state;
}

/* Signed request for a; its answer comes back to authz_step. */
static void
authz_reply(void *arg, const struct acme_reply *r)
{
	authz_step(arg, AE_REPLY, r);
}

static char *
authz_send(struct acme_authz *a, const char *url, const char *payload)
{
	return acme_call_start(a->order->ca, &a->call, a->order->cert_name, url,
	    url == a->chall_url ? "challenge" : "authz", payload, CALL_JSON,
	    authz_reply, a);
}

/* Starts what state next of a waits for. Returns NULL, or why it cannot. */
static char *
authz_enter(struct acme_authz *a, enum authz_state next, enum authz_event ev,
    const struct acme_reply *r)
{
	switch (next) {
	case A_FETCH:
	case A_PUBLISH:		/* the solver calls authz_published */
	case A_WAIT:		/* authz_release triggers it */
		return NULL;
	case A_TRIGGER:
		return authz_send(a, a->chall_url, "{}");
	case A_POLL:
		if (ev == AE_TIMER)
			return authz_send(a, a->url, NULL);
		if (a->state != A_POLL)
			a->poll_since = 0;
		return poll_later(a->order, a->timer, &a->poll_since,
		    a->answered, authz_polling(a), r->resp, a->url,
		    r->status_text != NULL ? r->status_text : "?");
	case A_VALID:
		/* no longer needed; withdrawals are counted, so reuse is safe */
		authz_withdraw(a);
		return NULL;
	}
	return NULL;
}

/*
 * The barrier: once no authorization of o is fetched or published any
 * more, triggers every one that waits, and counts those already valid.
 */
static void
authz_release(struct acme_order *o)
{
	struct acme_authz	*a;
	char			*error = NULL;
	size_t			 i;

	for (i = 0; i < o->nauthz; i++)
		if (o->authz[i].state == A_FETCH ||
		    o->authz[i].state == A_PUBLISH)
			return;
	for (i = 0; i < o->nauthz && error == NULL; i++) {
		a = &o->authz[i];
		if (a->state != A_WAIT)
			continue;
		if ((error = authz_enter(a, A_TRIGGER, AE_PUBLISHED, NULL)) ==
		    NULL)
			a->state = A_TRIGGER;
	}
	if (error != NULL) {
		acme_order_fail(o, error, ACME_FAIL_CA);
		free(error);
		return;
	}
	o->nvalid = 0;
	for (i = 0; i < o->nauthz; i++)
		o->nvalid += o->authz[i].state == A_VALID;
	if (o->nvalid == o->nauthz) {
		log_msg(LOG_LVL_INFO, o->cert_name, "all authorizations valid "
		    "for %s", o->url);
		order_step(o, OE_AUTHZ_VALID, NULL);
	}
}

/* The authorization state machine: the table at the top of this file. */
static void
authz_step(struct acme_authz *a, enum authz_event ev,
    const struct acme_reply *r)
{
	struct acme_order	*o = a->order;
	enum authz_state	 next = a->state, prev;
	char			*error = NULL;

	if (ev == AE_REPLY && r->err != NULL) {
		order_note_reply(o, r, a->state == A_TRIGGER ? a->chall_url :
		    a->url, a->state == A_TRIGGER ? "challenge" : "authz");
		acme_order_fail(o, r->err, r->cls);
		return;
	}
	if (ev == AE_REPLY && a->state != A_TRIGGER) {
		a->answered = now_ms();
		acme_authz_identify(a, r->json);
	}
	switch (a->state) {
	case A_FETCH:		/* the authorization, first seen */
		if ((error = authz_foreign(a, r->json)) != NULL)
			break;
		if (r->status == ACME_PENDING)
			next = authz_answer(a, r, &error);
		else
			next = acme_authz_object(a, r, &error);
		break;
	case A_PUBLISH:		/* the solver is done */
		if (r->err != NULL)
			order_note(o, ACME_FAIL_LOCAL, NULL, 0, NULL, "challenge", 0);
		if (r->err != NULL)
			error = acme_oneline(xasprintf("acme: %s: cannot "
			    "publish the %s answer for %s: %s", a->chall_url,
			    a->chall_type, authz_name(a), r->err));
		else
			next = A_WAIT;
		break;
	case A_WAIT:		/* nothing comes back while waiting */
		return;
	case A_TRIGGER:		/* the challenge POST came back */
		if (r->status == ACME_INVALID)
			error = authz_challenge_error(a, r->json);
		else if (r->status == ACME_VALID)
			next = A_VALID;	/* RFC 8555 7.1.6: so is the authz */
		else
			next = A_POLL;
		break;
	case A_POLL:		/* the timer, the poll's answer, or a late solver */
		if (ev == AE_PUBLISHED)
			return;	/* a reused authorization needs no trigger */
		if (ev == AE_REPLY && r->status != ACME_PENDING)
			next = acme_authz_object(a, r, &error);
		break;
	case A_VALID:
		return;
	}
	if (error == NULL)
		error = authz_enter(a, next, ev, r);
	if (error != NULL) {
		acme_order_fail(o, error, ACME_FAIL_CA);
		free(error);
		return;
	}
	prev = a->state;
	a->state = next;
	if ((prev == A_FETCH || prev == A_PUBLISH) && next != prev) {
		authz_release(o);
		return;
	}
	if (next == A_VALID && ++o->nvalid == o->nauthz) {
		log_msg(LOG_LVL_INFO, o->cert_name, "all authorizations valid "
		    "for %s", o->url);
		order_step(o, OE_AUTHZ_VALID, NULL);
	}
}

static void
authz_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	authz_step(arg, AE_TIMER, NULL);
}

/* Makes an authorization for every URL of the order and fetches each. */
static char *
authz_begin(struct acme_order *o, json_t *j)
{
	json_t	*arr = json_object_get(j, "authorizations"), *v;
	char	*err = NULL;
	size_t	 i, n;

	if (!json_is_array(arr) || (n = json_array_size(arr)) == 0 ||
	    n > AUTHZ_MAX)
		return xasprintf("acme: %s: order lacks \"authorizations\"",
		    o->url);
	o->authz = xcalloc(n, sizeof(*o->authz));
	json_array_foreach(arr, i, v) {
		struct acme_authz *a = &o->authz[i];

		if (!json_is_string(v))
			return xasprintf("acme: %s: authorization URL is not a "
			    "string", o->url);
		a->order = o;
		a->url = xstrdup(json_string_value(v));
		a->timer = evtimer_new(o->ca->env.base, authz_timer_cb, a);
		o->nauthz++;
	}
	for (i = 0; i < o->nauthz && err == NULL; i++)
		err = authz_send(&o->authz[i], o->authz[i].url, NULL);
	return err;
}

/* --------------------------------------------------------------- orders */

/* Which of the CA's lists an order in state s is on. */
static enum order_list_id
order_list(enum order_state s)
{
	switch (s) {
	case O_QUEUED:
		return L_QUEUE;
	case O_DONE:
		return L_DONE;
	default:
		return L_ACTIVE;
	}
}

static void
order_unlink(struct acme_order *o)
{
	struct acme_ca		*ca = o->ca;
	enum order_list_id	 l = order_list(o->state);

	TAILQ_REMOVE(&ca->lists[l], o, entry);
	ca->counts[l]--;
	/* a slot is free: let the next queued order in, later */
	if (l == L_ACTIVE)
		event_active(ca->kick, EV_TIMEOUT, 0);
}

/* The one assignment of o->state (from order_step): the list follows. */
static void
order_move(struct acme_order *o, enum order_state next)
{
	struct acme_ca		*ca = o->ca;
	enum order_list_id	 l = order_list(next);

	if (l == order_list(o->state)) {
		o->state = next;
		return;
	}
	order_unlink(o);
	o->state = next;
	/* back in the queue after accountDoesNotExist: it has waited already */
	if (l == L_QUEUE)
		TAILQ_INSERT_HEAD(&ca->lists[l], o, entry);
	else
		TAILQ_INSERT_TAIL(&ca->lists[l], o, entry);
	ca->counts[l]++;
}

/* Stops everything the order has in flight and withdraws its answers. */
static void
order_stop(struct acme_order *o)
{
	size_t i;

	acme_call_cancel(&o->call);
	evtimer_del(o->timer);
	for (i = 0; i < o->nauthz; i++) {
		acme_call_cancel(&o->authz[i].call);
		evtimer_del(o->authz[i].timer);
		authz_withdraw(&o->authz[i]);
	}
}

void
acme_order_free(struct acme_order *o)
{
	size_t i;

	if (o == NULL)
		return;
	order_unlink(o);
	order_stop(o);
	for (i = 0; i < o->nauthz; i++) {
		event_free(o->authz[i].timer);
		free(o->authz[i].url);
		free(o->authz[i].id_value);
		free(o->authz[i].chall_url);
	}
	free(o->authz);
	event_free(o->timer);
	for (i = 0; i < o->ndomains; i++)
		free(o->domains[i]);
	free(o->domains);
	free(o->cert_name);
	free(o->challenge);
	free(o->profile);
	free(o->replaces);
	free(o->url);
	free(o->finalize_url);
	free(o->cert_url);
	free(o->error);
	free(o->fail_problem);
	free(o->fail_url);
	free(o->pem);
	free(o->preferred);
	for (i = 0; i < o->nalts; i++)
		free(o->alts[i]);
	free(o->alts);
	free(o);
}

/* DONE's timer: the one callback of the order, which is freed first. */
static void
order_deliver(struct acme_order *o)
{
	acme_order_cb	 cb = o->cb;
	void		*arg = o->arg;
	char		*error = o->error, *pem = o->pem;
	size_t		 len = o->pemlen;

	struct acme_failure fail = o->fail;
	char		*problem = o->fail_problem, *url = o->fail_url;

	o->error = NULL;
	o->pem = NULL;
	o->fail_problem = o->fail_url = NULL;
	acme_order_free(o);
	cb(arg, error == NULL ? pem : NULL, error == NULL ? len : 0, error,
	    error != NULL ? &fail : NULL);
	free(error);
	free(problem);
	free(url);
	if (pem != NULL)
		xfree_secret(pem, len);
}

/* Entering DONE: stops the rest, keeps the result, arms the callback. */
static void
order_finish(struct acme_order *o, const char *why, char *error)
{
	static const struct timeval now = { 0, 0 };

	order_stop(o);
	if (error == NULL && why != NULL)
		error = xstrdup(why);
	if (error == NULL && o->pem == NULL)
		error = xstrdup("acme: order failed");
	/* an answer we cannot use is the CA's failure: another may do better */
	if (error != NULL && o->fail.cls == ACME_FAIL_NONE)
		order_note(o, ACME_FAIL_CA, NULL, 0, o->url, "order", 0);
	if ((o->error = error) != NULL)
		log_msg(LOG_LVL_DEBUG, o->cert_name, "order failed (%s): %s",
		    acme_fail_class_name(o->fail.cls), error);
	evtimer_add(o->timer, &now);
}

static void
order_reply(void *arg, const struct acme_reply *r)
{
	struct acme_order *o = arg;

	o->answered = now_ms();	/* the poll delay counts from here */
	order_step(o, OE_REPLY, r);
}

/* Signed request for o; its answer comes back to order_step. */
static char *
order_send(struct acme_order *o, const char *url, const char *payload,
    unsigned flags)
{
	const char	*endpoint = "order";

	/* callers pass the URL fields themselves: the pointer says which */
	if (url == o->ca->new_order)
		endpoint = "newOrder";
	else if (url == o->finalize_url)
		endpoint = "finalize";
	else if (url == o->cert_url || (o->alt < o->nalts &&
	    url == o->alts[o->alt]))
		endpoint = "certificate";
	return acme_call_start(o->ca, &o->call, o->cert_name, url, endpoint,
	    payload, flags, order_reply, o);
}

static char *
order_send_new(struct acme_order *o)
{
	json_t		*ids, *id;
	const char	*profile;
	char		*payload, *err;
	size_t		 i;

	/* an unknown profile is this certificate's at this CA: the next may offer it */
	if ((err = acme_profile_for_order(o->ca, o->cert_name, o->profile,
	    &profile)) != NULL)
		return err;
	ids = json_array();
	for (i = 0; i < o->ndomains; i++) {
		id = json_pack("{s:s,s:s}", "type",
		    valid_ip_literal(o->domains[i]) ? "ip" : "dns", "value",
		    o->domains[i]);
		if (id == NULL) {	/* not UTF-8: conf lets no such name in */
			json_decref(ids);
			return xasprintf("acme: %s: cannot encode %s",
			    o->ca->new_order, o->domains[i]);
		}
		json_array_append_new(ids, id);
	}
	id = json_pack("{s:o}", "identifiers", ids);
	if (o->replaces != NULL)
		json_object_set_new(id, "replaces", json_string(o->replaces));
	if (profile != NULL)
		json_object_set_new(id, "profile", json_string(profile));
	payload = json_dumps(id, JSON_COMPACT);
	json_decref(id);
	err = order_send(o, o->ca->new_order, payload, CALL_JSON);
	free(payload);
	return err;
}

static char *
order_send_finalize(struct acme_order *o)
{
	json_t	*body;
	char	*csr, *payload, *err;

	if (o->finalize_url == NULL)
		return xasprintf("acme: %s: order has no finalize URL", o->url);
	if ((csr = crypto_csr(o->cert_key, o->domains, o->ndomains)) == NULL)
		return xasprintf("acme: cannot make a CSR for the order %s",
		    o->url);
	body = json_pack("{s:s}", "csr", csr);
	payload = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	err = order_send(o, o->finalize_url, payload, CALL_JSON);
	free(csr);
	free(payload);
	return err;
}

/* An account-wide rate limit holds new orders: fail fast with its deadline. */
static char *
order_held(struct acme_order *o)
{
	struct acme_ca	*ca = o->ca;
	char		 when[32];

	o->fail.cls = ACME_FAIL_RATE_LIMITED;
	o->fail.scope = ACME_SCOPE_ACCOUNT;
	o->fail.until = ca->held.orders_until;
	o->fail.endpoint = "newOrder";
	o->fail.url = o->fail_url = xstrdup(ca->new_order);
	return xasprintf("acme: %s: rate limited: account %s of CA %s holds "
	    "new orders until %s", ca->new_order, ca->account_url != NULL ?
	    ca->account_url : "?", ca->name, log_fmt_time(ca->held.orders_until,
	    when, sizeof(when)));
}

/* The endpoint a request of an order in state s goes to. */
static const char *
order_endpoint(enum order_state s)
{
	switch (s) {
	case O_NEW:
		return "newOrder";
	case O_FINALIZE:
		return "finalize";
	case O_CERT:
	case O_ALT:
		return "certificate";
	case O_QUEUED:
		return "account";
	default:
		return "order";
	}
}

/* Starts what state next waits for (the table's last column). */
static char *
order_enter(struct acme_order *o, enum order_state next, enum order_event ev,
    const struct acme_reply *r)
{
	char	*err;

	switch (next) {
	case O_QUEUED:		/* acme_ca_pump admits it again */
	case O_DONE:		/* order_finish */
		return NULL;
	case O_NEW:
		o->deadline = now_ms() + ORDER_DEADLINE_MS;
		if (acme_held_orders(o->ca) != 0)
			return order_held(o);
		return order_send_new(o);
	case O_RESUME:		/* no newOrder: the account hold does not apply */
		o->deadline = now_ms() + ORDER_DEADLINE_MS;
		if ((err = acme_url_refused(o->ca, "order to resume",
		    o->url)) != NULL) {
			o->fail.gone = 1;	/* a damaged schedule.json */
			return err;
		}
		return order_send(o, o->url, NULL, CALL_JSON);
	case O_AUTHZ:
		return authz_begin(o, r->json);
	case O_FINALIZE:	/* held: the caller's write first */
		if (o->held) {
			o->finalize_held = 1;
			return NULL;
		}
		o->finalize_held = 0;
		return order_send_finalize(o);
	case O_WAIT_READY:
	case O_WAIT_VALID:
		if (ev == OE_TIMER)
			return order_send(o, o->url, NULL, CALL_JSON);
		if (o->state != next)
			o->poll_since = 0;
		return poll_later(o, o->timer, &o->poll_since, o->answered, 1,
		    r->resp, o->url,
		    r->status_text != NULL ? r->status_text : "pending");
	case O_CERT:
		return order_send(o, o->cert_url, NULL, 0);
	case O_ALT:
		return order_send(o, o->alts[o->alt], NULL, 0);
	}
	return NULL;
}

/* The state an order object takes o to in the pending/ready/processing cases. */
static const enum order_state after_object[][3] = {
	/*		   pending	 ready		processing */
	[O_NEW] =	 { O_AUTHZ,	 O_FINALIZE,	O_WAIT_VALID },
	[O_RESUME] =	 { O_AUTHZ,	 O_FINALIZE,	O_WAIT_VALID },
	[O_WAIT_READY] = { O_WAIT_READY, O_FINALIZE,	O_WAIT_READY },
	[O_FINALIZE] =	 { O_WAIT_VALID, O_WAIT_VALID,	O_WAIT_VALID },
	[O_WAIT_VALID] = { O_WAIT_VALID, O_WAIT_VALID,	O_WAIT_VALID },
};

enum order_state
acme_order_object(struct acme_order *o, const struct acme_reply *r,
    char **error)
{
	const char	*s;
	char		*ps;

	if (o->finalize_url == NULL && (s = jstr(r->json, "finalize")) != NULL)
		o->finalize_url = xstrdup(s);
	switch (r->status) {
	case ACME_PENDING:
	case ACME_READY:
	case ACME_PROCESSING:
		return after_object[o->state][r->status];
	case ACME_VALID:
		if ((s = jstr(r->json, "certificate")) == NULL) {
			*error = xasprintf("acme: %s: valid order lacks "
			    "\"certificate\"", o->url);
			break;
		}
		free(o->cert_url);
		o->cert_url = xstrdup(s);
		return O_CERT;
	case ACME_INVALID:
		order_note_problem(o, json_object_get(r->json, "error"), o->url,
		    "order", 0);
		ps = problem_of(json_object_get(r->json, "error"));
		*error = xasprintf("acme: %s: order is invalid%s%s", o->url,
		    ps != NULL ? ": " : "", ps != NULL ? ps : "");
		free(ps);
		break;
	case ACME_NO_STATUS:
		*error = xasprintf("acme: %s: order object lacks \"status\"",
		    o->url);
		break;
	default:
		*error = acme_oneline(xasprintf("acme: %s: order has unknown "
		    "status \"%s\"", o->url, r->status_text));
		break;
	}
	return O_DONE;
}

/* newOrder's answer: keeps the order URL. Returns NULL, or why it cannot. */
static char *
order_created(struct acme_order *o, const struct acme_reply *r)
{
	char	*err;

	/* Pebble sends no Location when the order is polled: keep this one */
	if (r->resp->location == NULL)
		return xasprintf("acme: %s: newOrder response lacks a Location "
		    "header", o->ca->new_order);
	if ((err = acme_url_refused(o->ca, "order Location",
	    r->resp->location)) != NULL)
		return err;
	/* the order is where newOrder was: not a host the answer names */
	if (!acme_same_origin(r->resp->location, o->ca->new_order))
		return acme_oneline(xasprintf("acme: CA %s: %s: order Location "
		    "%s is not on the origin of newOrder; nothing is sent to "
		    "it", o->ca->name, o->ca->new_order, r->resp->location));
	/* names echoed must be ours; a CA that echoes none is taken at its word */
	if (json_object_get(r->json, "identifiers") != NULL &&
	    !order_same_names(o, r->json))
		return xasprintf("acme: CA %s: %s: the new order is not for "
		    "exactly the %zu name(s) of %s", o->ca->name,
		    r->resp->location, o->ndomains, o->cert_name);
	o->url = xstrdup(r->resp->location);
	log_msg(LOG_LVL_INFO, o->cert_name, "order created %s", o->url);
	if (o->on_url != NULL)	/* before finalize: a restart can resume it */
		o->on_url(o->arg, o->url);
	return NULL;
}

/* Returns 1 if order object j is for o's names, no more and no fewer. */
static int
order_same_names(struct acme_order *o, json_t *j)
{
	json_t		*ids = json_object_get(j, "identifiers"), *id;
	const char	*v;
	size_t		 i, k;

	if (!json_is_array(ids))
		return 0;
	for (i = 0; i < o->ndomains; i++)
		if (find_by(ids, "value", o->domains[i], 1) == NULL)
			return 0;
	json_array_foreach(ids, i, id) {
		if ((v = jstr(id, "value")) == NULL)
			return 0;
		for (k = 0; k < o->ndomains && strcasecmp(v, o->domains[k]);
		    k++)
			;
		if (k == o->ndomains)
			return 0;
	}
	return 1;
}

/*
 * The order to resume came back (RESUME): where it takes o. A CA that
 * did not answer keeps why (the order may be resumed later); one that
 * answered with an order we cannot go on with sets fail.gone and *error.
 */
static enum order_state
order_resumed(struct acme_order *o, const struct acme_reply *r,
    const char *why, char **error)
{
	enum order_state next = O_DONE;
	char		*e = NULL;

	if (why != NULL) {
		order_note_reply(o, r, o->url, "order");
		if (o->fail.cls == ACME_FAIL_UNAVAILABLE ||
		    o->fail.cls == ACME_FAIL_RATE_LIMITED)
			return O_DONE;
		e = xstrdup(why);
	} else if (!order_same_names(o, r->json))
		e = xasprintf("the order is not for exactly the %zu name(s) "
		    "of %s", o->ndomains, o->cert_name);
	else if (r->status != ACME_PENDING && r->status != ACME_READY &&
	    r->status != ACME_PROCESSING && r->status != ACME_VALID &&
	    r->status != ACME_INVALID && r->status != ACME_NO_STATUS)
		e = acme_oneline(xasprintf("the order is %s", r->status_text));
	else if ((next = acme_order_object(o, r, &e)) != O_DONE)
		return next;
	o->fail.gone = 1;
	*error = acme_oneline(xasprintf("acme: cannot resume order %s at CA "
	    "%s: %s", o->url, o->ca->name, e));
	free(e);
	return O_DONE;
}

/* The certificate download: a PEM chain? Returns NULL, or why not. */
static char *
order_check_pem(struct acme_order *o, const struct acme_reply *r)
{
	if (r->resp->body_len == 0 ||
	    strstr(r->resp->body, "-----BEGIN CERTIFICATE-----") == NULL)
		return xasprintf("acme: %s: response is not a PEM certificate "
		    "chain", o->cert_url);
	log_msg(LOG_LVL_INFO, o->cert_name, "certificate downloaded from %s",
	    o->cert_url);
	return NULL;
}

/* ------------------------------------------------------ alternate chains */

#define ALTS_MAX	8	/* Link rel="alternate" URLs followed per order */

/* Returns 1 if the Link parameters p[0..len) have rel="alternate" (RFC 8288). */
static int
link_is_alternate(const char *p, size_t len)
{
	char	*s = xstrndup(p, len), *r, *tok, *save = NULL;
	int	 found = 0;
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	for (r = s; !found && (r = strstr(r, "rel")) != NULL; r += 3) {
		tok = r + 3 + strspn(r + 3, " \t");
		if ((r != s && strchr("; \t", r[-1]) == NULL) || *tok != '=')
			continue;
		tok += 1 + strspn(tok + 1, " \t\"");
		tok[strcspn(tok, "\";")] = '\0';
		for (tok = strtok_r(tok, " \t", &save); tok != NULL && !found;
		    tok = strtok_r(NULL, " \t", &save))
			found = strcmp(tok, "alternate") == 0;
		break;
	}
	free(s);
	return found;
}

/* Collects the alternate chain URLs of the certificate download resp. */
static void
chain_links_collect(struct acme_order *o, const struct http_response *resp)
{
	const char	*p, *e, *end;
	char		*u, *err;
	size_t		 i;

	for (i = 0; i < resp->nlinks; i++)
		for (p = resp->links[i]; (p = strchr(p, '<')) != NULL &&
		    (e = strchr(p, '>')) != NULL; p = end) {
			end = e + 1 + strcspn(e + 1, ",");
			if (!link_is_alternate(e + 1, (size_t)(end - e - 1)))
				continue;
			u = xstrndup(p + 1, (size_t)(e - p - 1));
			if ((err = acme_url_refused(o->ca, "alternate chain",
			    u)) != NULL || o->nalts == ALTS_MAX) {
				log_msg(LOG_LVL_WARNING, o->cert_name,
				    "%s%s", err != NULL ? err : "more than 8 "
				    "alternate chains; ignoring ", err != NULL ?
				    "" : u);
				free(err);
				free(u);
				continue;
			}
			o->alts = xreallocarray(o->alts, o->nalts + 1,
			    sizeof(*o->alts));
			o->alts[o->nalts++] = u;
		}
}

/*
 * The default chain came back (CERT): keeps it, and goes on to the
 * alternates (ALT) when preferred_chain names another issuer.
 */
static enum order_state
chain_default(struct acme_order *o, const struct acme_reply *r)
{
	char	*top;
	enum order_state next = O_DONE;

	o->pem = xstrndup(r->resp->body, r->resp->body_len);
	o->pemlen = r->resp->body_len;
	if (o->preferred == NULL)
		return O_DONE;
	top = crypto_chain_top_issuer(o->pem, o->pemlen);
	if (top != NULL && strcmp(top, o->preferred) == 0)
		log_msg(LOG_LVL_INFO, o->cert_name, "using the default chain: "
		    "its top issuer is the preferred \"%s\"", o->preferred);
	else {
		chain_links_collect(o, r->resp);
		if (o->nalts > 0)
			next = O_ALT;
		else
			log_msg(LOG_LVL_NOTICE, o->cert_name, "preferred chain "
			    "\"%s\" not offered (no alternate chains): using "
			    "the default chain (top issuer \"%s\")",
			    o->preferred, top != NULL ? top : "?");
	}
	free(top);
	return next;
}

/*
 * An alternate came back (ALT), or failed (why): takes it if its top
 * issuer is the preferred one and it passes the chain checks that need no
 * trust anchor (renew.c checks the chosen chain as it checks any: leaf,
 * names, issuer_roots); else the next, else the default chain stays.
 */
static enum order_state
chain_alternate(struct acme_order *o, const struct acme_reply *r,
    const char *why)
{
	const char	*url = o->alts[o->alt], *body;
	char		 err[256], *top = NULL;
	size_t		 len;

	if (why != NULL)
		log_msg(LOG_LVL_WARNING, o->cert_name, "alternate chain %s "
		    "skipped: %s", url, why);
	else if (body = r->resp->body, len = r->resp->body_len,
	    crypto_chain_check(body, len, NULL, NULL, NULL, 0, time(NULL),
	    err, sizeof(err)) == -1)
		log_msg(LOG_LVL_WARNING, o->cert_name, "alternate chain %s "
		    "refused: %s", url, err);
	else if ((top = crypto_chain_top_issuer(body, len)) != NULL &&
	    strcmp(top, o->preferred) == 0) {
		log_msg(LOG_LVL_INFO, o->cert_name, "using the alternate chain "
		    "%s: its top issuer is the preferred \"%s\"", url,
		    o->preferred);
		xfree_secret(o->pem, o->pemlen);
		o->pem = xstrndup(body, len);
		o->pemlen = len;
		free(top);
		return O_DONE;
	}
	free(top);
	if (++o->alt < o->nalts)
		return O_ALT;
	top = crypto_chain_top_issuer(o->pem, o->pemlen);
	log_msg(LOG_LVL_NOTICE, o->cert_name, "preferred chain \"%s\" not "
	    "offered (none of %zu alternate chain(s) has that top issuer): "
	    "using the default chain (top issuer \"%s\")", o->preferred,
	    o->nalts, top != NULL ? top : "?");
	free(top);
	return O_DONE;
}

/* Returns 1 if newOrder failed because the account is being registered again. */
static int
order_account_gone(struct acme_order *o, const struct acme_reply *r)
{
	return !o->requeued && (o->ca->account_url == NULL ||
	    acme_reply_problem(r, "accountDoesNotExist"));
}

/*
 * Returns 1 if newOrder failed because the CA refuses its "replaces"
 * (RFC 9773 section 5): alreadyReplaced, or a malformed or unauthorized
 * problem that names replaces (issued to another account or by another
 * CA). The order then goes once more without it.
 */
static int
order_replaces_refused(struct acme_order *o, const struct acme_reply *r)
{
	if (o->replaces == NULL)
		return 0;
	if (acme_reply_problem(r, "alreadyReplaced"))
		return 1;
	return (acme_reply_problem(r, "malformed") ||
	    acme_reply_problem(r, "unauthorized")) && r->prob.detail != NULL &&
	    strstr(r->prob.detail, "replaces") != NULL;
}

/* The order state machine: the table at the top of this file. */
static void
order_step(struct acme_order *o, enum order_event ev,
    const struct acme_reply *r)
{
	enum order_state	 next = O_DONE;
	const char		*why = NULL;	/* a failure reported to us */
	char			*error = NULL;	/* a failure found here */

	if (ev == OE_FAIL || (ev == OE_REPLY && r->err != NULL))
		why = r->err;
	switch (o->state) {
	case O_QUEUED:		/* admitted, or the account setup failed */
		if (ev == OE_ADMIT)	/* a URL already: an order to resume */
			next = o->url != NULL ? O_RESUME : O_NEW;
		break;
	case O_RESUME:		/* the order to resume came back */
		next = order_resumed(o, r, why, &error);
		break;
	case O_NEW:		/* newOrder came back */
		if (why != NULL && order_account_gone(o, r)) {
			/* the account is being registered again: wait, once */
			o->requeued = 1;
			why = NULL;
			next = O_QUEUED;
		} else if (why != NULL && order_replaces_refused(o, r)) {
			log_msg(LOG_LVL_NOTICE, o->cert_name, "the CA refused "
			    "to mark %s replaced (%s): ordering without "
			    "\"replaces\"", o->replaces, why);
			free(o->replaces);
			o->replaces = NULL;
			why = NULL;
			next = O_NEW;
		} else if (why == NULL && (error = order_created(o, r)) == NULL)
			next = acme_order_object(o, r, &error);
		break;
	case O_AUTHZ:		/* every authorization valid, or one failed */
		if (ev == OE_AUTHZ_VALID)
			next = O_FINALIZE;
		break;
	case O_FINALIZE:	/* finalize came back, or released (OE_TIMER) */
		if (why != NULL && !o->finalize_retried &&
		    acme_reply_problem(r, "orderNotReady")) {
			/* finalized before the CA marked it ready: wait for it */
			o->finalize_retried = 1;
			why = NULL;
			next = O_WAIT_READY;
			break;
		}
		/* FALLTHROUGH */
	case O_WAIT_READY:	/* the poll timer, or the poll came back */
	case O_WAIT_VALID:
		if (ev == OE_TIMER)
			next = o->state;
		else if (why == NULL)
			next = acme_order_object(o, r, &error);
		break;
	case O_CERT:		/* the certificate came back */
		if (why == NULL && (error = order_check_pem(o, r)) == NULL)
			next = chain_default(o, r);
		break;
	case O_ALT:		/* an alternate chain came back, or failed */
		next = chain_alternate(o, r, why);
		why = NULL;
		break;
	case O_DONE:		/* the timer: the one callback */
		if (ev == OE_TIMER)
			order_deliver(o);
		return;
	}
	if (why == NULL && error == NULL && next != O_DONE)
		error = order_enter(o, next, ev, r);
	if (why != NULL || error != NULL)
		next = O_DONE;
	if (next == O_DONE && why != NULL && ev == OE_REPLY)
		order_note_reply(o, r, o->state == O_NEW ? o->ca->new_order :
		    o->state == O_FINALIZE ? o->finalize_url : o->state ==
		    O_CERT ? o->cert_url : o->url, order_endpoint(o->state));
	if (next == O_DONE)
		order_finish(o, why, error);
	order_move(o, next);
}

/* ------------------------------------------------------- from outside */

static void
order_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	order_step(arg, OE_TIMER, NULL);
}

struct acme_order *
acme_order_new(struct acme_ca *ca, const struct acme_order_req *req,
    acme_order_cb cb, void *arg)
{
	struct acme_order	*o;
	size_t			 i;

	o = xcalloc(1, sizeof(*o));
	o->ca = ca;
	o->cert_key = req->key;
	o->challenge = req->challenge != NULL ? xstrdup(req->challenge) : NULL;
	o->profile = req->profile != NULL ? xstrdup(req->profile) : NULL;
	o->replaces = req->replaces != NULL ? xstrdup(req->replaces) : NULL;
	o->cb = cb;
	o->on_url = req->on_url;
	o->arg = arg;
	o->url = req->resume != NULL ? xstrdup(req->resume) : NULL;
	o->cert_name = xstrdup(req->cert_name != NULL ? req->cert_name :
	    req->domains[0]);
	o->domains = xcalloc(req->ndomains, sizeof(char *));
	for (i = 0; i < req->ndomains; i++)
		o->domains[i] = xstrdup(req->domains[i]);
	o->ndomains = req->ndomains;
	o->timer = evtimer_new(ca->env.base, order_timer_cb, o);
	/* the first state, O_QUEUED (calloc's zero): at the queue's tail */
	TAILQ_INSERT_TAIL(&ca->lists[L_QUEUE], o, entry);
	ca->counts[L_QUEUE]++;
	return o;
}

void
acme_order_hold(struct acme_order *o)
{
	o->held = 1;
}

void
acme_order_release(struct acme_order *o)
{
	o->held = 0;
	/* FINALIZE takes its timer as the release */
	if (o->state == O_FINALIZE && o->finalize_held)
		order_step(o, OE_TIMER, NULL);
}

void
acme_order_prefer_chain(struct acme_order *o, const char *issuer)
{
	free(o->preferred);
	o->preferred = issuer != NULL ? xstrdup(issuer) : NULL;
}

void
acme_order_admit(struct acme_order *o)
{
	order_step(o, OE_ADMIT, NULL);
}

void
acme_order_fail(struct acme_order *o, const char *error,
    enum acme_fail_class cls)
{
	struct acme_reply r;

	order_note(o, cls != ACME_FAIL_NONE ? cls : ACME_FAIL_CA, NULL, 0, NULL,
	    order_endpoint(o->state), 0);
	memset(&r, 0, sizeof(r));
	r.err = error;
	order_step(o, OE_FAIL, &r);
}
