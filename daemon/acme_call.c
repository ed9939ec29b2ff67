/* acme_call.c - signed calls: the nonce pool, badNonce retries, the reply preamble */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "acme_int.h"
#include "jws.h"
#include "log.h"
#include "metrics.h"
#include "validate.h"
#include "xmalloc.h"

#define NONCE_RETRIES		10	/* badNonce retries per request */
#define NONCE_MAX		256	/* longer Replay-Nonce values are refused */
/*
 * A transport error, a timeout or a 5xx is retried inside the call, so a
 * blip does not fail the order: CALL_TRIES sends in all, the waits
 * doubling from CALL_RETRY_MS, or the CA's Retry-After when it asks for
 * at most CALL_RETRY_WAIT_MAX seconds. A longer Retry-After ends the call:
 * the order fails with that deadline and the endpoint is held till then.
 */
#define CALL_TRIES		3
#ifndef CALL_RETRY_MS		/* overridable so the unit tests need not wait */
#define CALL_RETRY_MS		1000
#endif
#define CALL_RETRY_WAIT_MAX	10

/* One JWS-signed POST, with its nonce fetch and badNonce retries. */
struct acme_call {
	struct acme_ca		*ca;
	struct acme_call	**slot;		/* owner's pointer, cleared when done */
	const char		*cert_name;	/* for logs; owned by the order */
	char			*url;
	const char		*endpoint;	/* "newOrder", ...: a constant */
	char			*payload;	/* NULL: POST-as-GET */
	unsigned		 flags;		/* CALL_* */
	const struct crypto_key	*key;		/* signs, with its JWK; NULL: the
						   account key */
	int			 fetching_nonce; /* HEAD newNonce in flight */
	int			 retries;
	int			 tries;		/* sends after transient failures */
	time_t			 held;		/* the URL is held: fail with this */
	struct event		*timer;		/* a retry's wait, or a held fail */
	unsigned		 account_gen;	/* account the last send was signed for */
	struct http_req		*hreq;
	acme_call_cb		 cb;
	void			*arg;
};

static void	call_http_done(const struct http_response *, void *);

/* ------------------------------------------------------------- replies */

/* Returns resp's Retry-After as a wall-clock deadline, or 0 if it has none. */
static time_t
reply_until(const struct http_response *resp)
{
	long	ra = resp->retry_after != NULL ?
		    acme_retry_after(resp->retry_after) : -1;
	time_t	now = time(NULL);

	if (ra < 0)
		return 0;
	/* a year is as good as forever, and cannot overflow */
	return now + (ra > 366L * 86400 ? 366L * 86400 : ra) + (ra == 0);
}

void
acme_reply_read(struct acme_reply *r, const struct http_response *resp,
    const char *url, int want_json)
{
	json_error_t	jerr;
	int		parsed;

	memset(r, 0, sizeof(*r));
	r->resp = resp;
	r->status = ACME_NO_STATUS;
	if (resp->error != NULL || resp->status < 200 || resp->status >= 300) {
		parsed = resp->error == NULL && acme_problem_parse(resp->body,
		    resp->body_len, &r->prob) == 0;
		r->problem = parsed ? r->prob.type : NULL;
		r->err = r->err_buf = acme_error_text(url, resp,
		    parsed ? &r->prob : NULL);
		r->cls = acme_fail_classify(r->problem, resp->error != NULL ?
		    0 : resp->status, 0);
		r->until = reply_until(resp);
		return;
	}
	if (!want_json)
		return;
	if ((r->json = json_loadb(resp->body, resp->body_len, 0, &jerr)) == NULL)
		/* jansson's text quotes the byte it stopped at */
		r->err = r->err_buf = acme_oneline(xasprintf("acme: %s: "
		    "malformed JSON response: %s", url, jerr.text));
	else if (!json_is_object(r->json)) {
		json_decref(r->json);
		r->json = NULL;
		r->err = r->err_buf = xasprintf("acme: %s: response is not a "
		    "JSON object", url);
	} else {
		r->status_text = json_string_value(json_object_get(r->json,
		    "status"));
		r->status = acme_status_parse(r->status_text);
	}
}

void
acme_reply_clear(struct acme_reply *r)
{
	json_decref(r->json);
	free(r->err_buf);
	acme_problem_clear(&r->prob);
	memset(r, 0, sizeof(*r));
}

int
acme_reply_problem(const struct acme_reply *r, const char *what)
{
	static const char prefix[] = ACME_ERR("");

	return r->problem != NULL &&
	    strncmp(r->problem, prefix, sizeof(prefix) - 1) == 0 &&
	    strcmp(r->problem + sizeof(prefix) - 1, what) == 0;
}

/* ------------------------------------------------------------ holds */

/* The holds changed: keep them for the next run. */
static void
holds_save(struct acme_ca *ca)
{
	if (ca->env.accounts.save_holds != NULL)
		ca->env.accounts.save_holds(ca->env.accounts.arg, ca->name,
		    &ca->held);
}

void
acme_holds_load(struct acme_ca *ca)
{
	char	when[32];
	size_t	i;

	if (ca->env.accounts.load_holds == NULL)
		return;
	ca->env.accounts.load_holds(ca->env.accounts.arg, ca->name, &ca->held);
	/* said again: the log of the run that set them may be gone */
	if (ca->held.orders_until != 0)
		log_notice("rate limited: CA %s holds new orders of its account "
		    "until %s (kept from an earlier run)", ca->name,
		    log_fmt_time(ca->held.orders_until, when, sizeof(when)));
	for (i = 0; i < ca->held.nurls; i++)
		log_notice("unavailable: CA %s holds requests to %s until %s "
		    "(kept from an earlier run)", ca->name, ca->held.urls[i].url,
		    log_fmt_time(ca->held.urls[i].until, when, sizeof(when)));
}

time_t
acme_held_orders(struct acme_ca *ca)
{
	if (ca->held.orders_until == 0)
		return 0;
	if (ca->held.orders_until > time(NULL))
		return ca->held.orders_until;
	ca->held.orders_until = 0;	/* over: forget it here and on disk */
	holds_save(ca);
	return 0;
}

void
acme_hold_orders(struct acme_ca *ca, time_t until)
{
	char	when[32];

	if (until <= ca->held.orders_until)
		return;
	ca->held.orders_until = until;
	log_notice("rate limited: account %s of CA %s holds new orders until %s",
	    ca->account_url != NULL ? ca->account_url : "?", ca->name,
	    log_fmt_time(until, when, sizeof(when)));
	holds_save(ca);
}

time_t
acme_held_url(struct acme_ca *ca, const char *url)
{
	struct sched_url_hold *h;
	time_t	until;
	size_t	i;

	for (i = 0; i < ca->held.nurls; i++) {
		h = &ca->held.urls[i];
		if (strcmp(h->url, url) != 0)
			continue;
		if ((until = h->until) > time(NULL))
			return until;
		/* over: forget it here and on disk */
		free(h->url);
		*h = ca->held.urls[--ca->held.nurls];
		holds_save(ca);
		return 0;
	}
	return 0;
}

time_t
acme_hold_url(struct acme_ca *ca, const char *url, time_t until)
{
	struct sched_url_hold *h = NULL;
	time_t	now = time(NULL);
	char	when[32];
	size_t	i;

	for (i = 0; i < ca->held.nurls && h == NULL; i++)
		if (strcmp(ca->held.urls[i].url, url) == 0 ||
		    ca->held.urls[i].until <= now)
			h = &ca->held.urls[i];
	if (h == NULL && ca->held.nurls < SCHED_URL_HOLDS_MAX)
		h = &ca->held.urls[ca->held.nurls++];
	if (h == NULL)		/* that many endpoints busy: the order backs off */
		return until;
	if (h->url != NULL && strcmp(h->url, url) == 0 && h->until >= until)
		return h->until;
	free(h->url);
	h->url = xstrdup(url);
	h->until = until;
	log_notice("unavailable: CA %s holds requests to %s until %s", ca->name,
	    url, log_fmt_time(until, when, sizeof(when)));
	holds_save(ca);
	return until;
}

/* ------------------------------------------------------------ nonce pool */

/*
 * Returns nonce if it is a nonce (RFC 8555 6.5.1: base64url, and not
 * absurdly long), else NULL: a CA's header value goes into every JWS.
 */
static const char *
nonce_ok(const char *nonce)
{
	return valid_base64url(nonce, NONCE_MAX, 0) ? nonce : NULL;
}

void
acme_nonce_push(struct acme_ca *ca, const char *nonce)
{
	if ((nonce = nonce_ok(nonce)) == NULL)
		return;
	if (ca->nnonces == NONCE_POOL_MAX) {
		/* the oldest is the likeliest to have expired */
		free(ca->nonces[0]);
		memmove(ca->nonces, ca->nonces + 1,
		    (NONCE_POOL_MAX - 1) * sizeof(ca->nonces[0]));
		ca->nnonces--;
	}
	ca->nonces[ca->nnonces++] = xstrdup(nonce);
}

static char *
nonce_pop(struct acme_ca *ca)
{
	if (ca->nnonces == 0)
		return NULL;
	return ca->nonces[--ca->nnonces];
}

/* --------------------------------------------------------- signed calls */

static void
call_free(struct acme_call *c)
{
	if (c == NULL)
		return;
	if (c->timer != NULL)
		event_free(c->timer);
	free(c->url);
	free(c->payload);
	free(c);
}

void
acme_call_cancel(struct acme_call **slot)
{
	struct acme_call *c = *slot;

	if (c == NULL)
		return;
	if (c->hreq != NULL)
		http_cancel(c->hreq);
	*slot = NULL;
	call_free(c);
}

/* Ends c: its owner's slot is cleared before the callback may start another. */
static void
call_finish(struct acme_call *c, const struct acme_reply *r)
{
	acme_call_cb	 cb = c->cb;
	void		*arg = c->arg;

	*c->slot = NULL;
	call_free(c);
	cb(arg, r);
}

/*
 * Fails c with err of class cls, as if the CA had answered so (resp: what
 * it did answer, or NULL).
 */
static void
call_fail(struct acme_call *c, const struct http_response *resp, char *err,
    enum acme_fail_class cls)
{
	struct acme_reply r;

	memset(&r, 0, sizeof(r));
	r.resp = resp;
	r.status = ACME_NO_STATUS;
	r.err = r.err_buf = err;
	r.cls = cls;
	if (c->held != 0) {
		r.until = c->held;
		r.cls = ACME_FAIL_UNAVAILABLE;
	}
	call_finish(c, &r);
	acme_reply_clear(&r);
}

char *
acme_url_refused(const struct acme_ca *ca, const char *what, const char *url)
{
	char	q[256];

	if (url != NULL && (valid_https_url(url) || (ca->env.allow_http &&
	    strncmp(url, "http://", 7) == 0)))
		return NULL;
	return xasprintf("acme: CA %s (%s): %s %s is not an https:// URL; "
	    "nothing is sent to it", ca->name, ca->directory, what,
	    url != NULL ? valid_quote(url, strlen(url), q, sizeof(q)) : "(none)");
}

int
acme_same_origin(const char *a, const char *b)
{
	const char	*ea = strstr(a, "://"), *eb = strstr(b, "://");
	size_t		 la, lb;

	if (ea == NULL || eb == NULL)
		return 0;
	la = (size_t)(ea - a) + 3 + strcspn(ea + 3, "/?#");
	lb = (size_t)(eb - b) + 3 + strcspn(eb + 3, "/?#");
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* The CA's answers name no scheme but https, not even in headers. */
char *
acme_reply_urls_refused(const struct acme_ca *ca, const struct http_response *resp)
{
	const char	*p, *e;
	char		*u, *err = NULL;
	size_t		 i;

	if (resp->location != NULL)
		err = acme_url_refused(ca, "Location", resp->location);
	for (i = 0; err == NULL && i < resp->nlinks; i++)
		for (p = resp->links[i]; err == NULL && (p = strchr(p, '<')) !=
		    NULL && (e = strchr(p, '>')) != NULL; p = e + 1) {
			u = xstrndup(p + 1, (size_t)(e - p - 1));
			err = acme_url_refused(ca, "Link", u);
			free(u);
		}
	return err;
}

/*
 * Signs and sends c with nonce, or with a pooled one, or fetches one first.
 * Returns NULL, or why it cannot (malloc'd).
 */
static char *
call_send(struct acme_call *c, const char *nonce, enum acme_fail_class *cls)
{
	struct acme_ca	*ca = c->ca;
	char		*pooled = NULL, *jws = NULL, *err = NULL;
	int		 by_jwk = (c->flags & CALL_JWK) != 0 || c->key != NULL;

	*cls = ACME_FAIL_CA;
	c->fetching_nonce = nonce == NULL &&
	    (nonce = pooled = nonce_pop(ca)) == NULL;
	if ((err = acme_url_refused(ca, c->fetching_nonce ? "newNonce" :
	    "request URL", c->fetching_nonce ? ca->new_nonce : c->url)) != NULL)
		;	/* signed requests never go out in cleartext */
	else if (c->fetching_nonce) {
		c->hreq = http_request(ca->env.http, "HEAD", ca->new_nonce,
		    NULL, 0, &ca->get_opts, call_http_done, c);
		if (c->hreq == NULL) {
			*cls = ACME_FAIL_LOCAL;
			err = xasprintf("acme: %s: cannot start request",
			    ca->new_nonce);
		}
	} else if (!by_jwk && ca->account_url == NULL)
		err = xasprintf("acme: %s: the account of CA %s is gone",
		    c->url, ca->name);
	else if ((jws = jws_sign(c->key != NULL ? c->key : ca->account_key,
	    by_jwk ? NULL :
	    ca->account_url, nonce, c->url, c->payload)) == NULL) {
		*cls = ACME_FAIL_LOCAL;
		err = xasprintf("acme: %s: cannot sign the request", c->url);
	} else {
		c->account_gen = ca->account_gen;
		c->hreq = http_request(ca->env.http, "POST", c->url, jws,
		    strlen(jws), &ca->post_opts, call_http_done, c);
		if (c->hreq == NULL) {
			*cls = ACME_FAIL_LOCAL;
			err = xasprintf("acme: %s: cannot start request", c->url);
		}
	}
	free(pooled);
	free(jws);
	return err;
}

/* Sends c again after a transient failure, or fails it if it is held. */
static void
call_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct acme_call	*c = arg;
	enum acme_fail_class	 cls;
	char			*err, when[32];

	if (c->held != 0)
		err = xasprintf("acme: %s: held after a 503 until %s", c->url,
		    log_fmt_time(c->held, when, sizeof(when)));
	else
		err = call_send(c, NULL, &cls);
	if (err != NULL)
		call_fail(c, NULL, err, c->held != 0 ? ACME_FAIL_UNAVAILABLE : cls);
}

/* Arms c's timer for ms milliseconds. */
static void
call_later(struct acme_call *c, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (c->timer == NULL)
		c->timer = evtimer_new(c->ca->env.base, call_timer_cb, c);
	evtimer_add(c->timer, &tv);
}

/*
 * A transport error, a timeout or a 5xx: returns 1 if c is sent again
 * later (the tries left, and a Retry-After we may wait for), else 0.
 */
static int
call_retry(struct acme_call *c, const struct http_response *resp)
{
	long	ra = resp->retry_after != NULL ?
		    acme_retry_after(resp->retry_after) : -1;
	long	ms = (long)CALL_RETRY_MS << c->tries;

	if (resp->error == NULL && resp->status < 500)
		return 0;
	if (c->tries + 1 >= CALL_TRIES || ra > CALL_RETRY_WAIT_MAX)
		return 0;
	if (ra >= 0)
		ms = ra * 1000;
	c->tries++;
	log_msg(LOG_LVL_INFO, c->cert_name, "%s %s: %s; try %d of %d in %ld "
	    "ms", c->fetching_nonce ? "HEAD" : "POST", resp->url, resp->error !=
	    NULL ? resp->error : "a server error", c->tries + 1, CALL_TRIES, ms);
	call_later(c, ms);
	return 1;
}

/* The HEAD newNonce of c came back: send c with its nonce. */
static void
call_nonce_done(struct acme_call *c, const struct http_response *resp)
{
	struct acme_ca		*ca = c->ca;
	enum acme_fail_class	 cls = ACME_FAIL_UNAVAILABLE;
	char			*err;

	if (call_retry(c, resp))
		return;
	if (resp->error != NULL)
		err = xasprintf("acme: %s: %s", ca->new_nonce, resp->error);
	else if (resp->replay_nonce == NULL)
		err = xasprintf("acme: %s: HTTP %ld without a Replay-Nonce",
		    ca->new_nonce, resp->status);
	else if (nonce_ok(resp->replay_nonce) == NULL) {
		cls = ACME_FAIL_CA;	/* an answer we cannot use */
		err = xasprintf("acme: CA %s: %s: the Replay-Nonce is not "
		    "base64url of at most %d characters", ca->name,
		    ca->new_nonce, NONCE_MAX);
	} else
		err = call_send(c, resp->replay_nonce, &cls);
	if (err != NULL)
		call_fail(c, resp, err, cls);
}

/* CURLOPT-level completion of c's request (http_cb). */
static void
call_http_done(const struct http_response *resp, void *arg)
{
	struct acme_call	*c = arg;
	struct acme_ca		*ca = c->ca;
	struct acme_reply	 r;
	enum acme_fail_class	 cls;
	char			*err;

	c->hreq = NULL;
	log_msg(LOG_LVL_DEBUG, c->cert_name, "%s %s -> %ld%s%s",
	    c->fetching_nonce ? "HEAD" : "POST", resp->url, resp->status,
	    resp->error != NULL ? ": " : "",
	    resp->error != NULL ? resp->error : "");
	metrics_acme_request(ca->env.metrics, ca->name, c->fetching_nonce ?
	    "newNonce" : c->endpoint, resp->error != NULL ? 0 : resp->status);
	if ((err = acme_reply_urls_refused(ca, resp)) != NULL) {
		call_fail(c, resp, err, ACME_FAIL_CA);
		return;
	}
	if (c->fetching_nonce) {
		call_nonce_done(c, resp);
		return;
	}
	acme_reply_read(&r, resp, c->url, (c->flags & CALL_JSON) != 0);
	if (acme_reply_problem(&r, "badNonce") && c->retries < NONCE_RETRIES) {
		/* the rejection carries a fresh nonce: spend it on the retry */
		c->retries++;
		log_msg(LOG_LVL_DEBUG, c->cert_name, "%s: badNonce, retry %d "
		    "of %d", c->url, c->retries, NONCE_RETRIES);
		acme_reply_clear(&r);
		if ((err = call_send(c, nonce_ok(resp->replay_nonce),
		    &cls)) != NULL)
			call_fail(c, resp, err, cls);
		return;
	}
	acme_nonce_push(ca, resp->replay_nonce);
	if (r.err != NULL && !acme_reply_problem(&r, "rateLimited") &&
	    call_retry(c, resp)) {
		acme_reply_clear(&r);
		return;
	}
	if (!(c->flags & CALL_JWK) && c->key == NULL && acme_reply_problem(&r,
	    "accountDoesNotExist"))
		acme_account_forget(ca, c->account_gen);
	call_finish(c, &r);
	acme_reply_clear(&r);
}

char *
acme_call_start(struct acme_ca *ca, struct acme_call **slot,
    const char *cert_name, const char *url, const char *endpoint,
    const char *payload, unsigned flags, acme_call_cb cb, void *arg)
{
	return acme_call_start_key(ca, slot, cert_name, url, endpoint, payload,
	    flags, NULL, cb, arg);
}

char *
acme_call_start_key(struct acme_ca *ca, struct acme_call **slot,
    const char *cert_name, const char *url, const char *endpoint,
    const char *payload, unsigned flags, const struct crypto_key *key,
    acme_call_cb cb, void *arg)
{
	struct acme_call	*c;
	enum acme_fail_class	 cls;
	char			*err;

	c = xcalloc(1, sizeof(*c));
	c->url = xstrdup(url);
	c->endpoint = endpoint;
	c->payload = payload != NULL ? xstrdup(payload) : NULL;
	c->ca = ca;
	c->slot = slot;
	c->cert_name = cert_name;
	c->flags = flags;
	c->key = key;
	c->cb = cb;
	c->arg = arg;
	*slot = c;
	/* a held endpoint fails the call from the loop, as an answer would */
	if ((c->held = acme_held_url(ca, url)) != 0) {
		call_later(c, 0);
		return NULL;
	}
	if ((err = call_send(c, NULL, &cls)) != NULL)
		acme_call_cancel(slot);
	return err;
}
