/* acme.c - RFC 8555 client: directory, nonce pool, account, order state machine */
#include "config.h"

#include <sys/queue.h>

#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "acme.h"
#include "challenge_http.h"
#include "crypto.h"
#include "http.h"
#include "jws.h"
#include "log.h"
#include "store.h"

#define ACME_ERR(x)		"urn:ietf:params:acme:error:" x
#define NONCE_POOL_MAX		64	/* oldest dropped beyond this */
#define NONCE_RETRIES		10	/* badNonce retries per request */
#define REQUEST_TIMEOUT_MS	30000
#define POLL_FIRST_MS		25	/* Pebble with NOSLEEP validates in ms */
#define POLL_MAX_MS		5000
#define RETRY_AFTER_MAX		3600	/* longer than this fails the order */
#ifndef ORDER_DEADLINE_MS	/* overridable so the timeout path can be exercised */
#define ORDER_DEADLINE_MS	(10L * 60 * 1000)
#endif
#define PROBLEM_MAX_LEN		65536
#define PROBLEM_MAX_SUB		64
#define AUTHZ_MAX		1000

enum ca_state {
	CA_IDLE,	/* no account yet (or setup failed: next order retries) */
	CA_DIR,		/* fetching the directory */
	CA_ACCOUNT,	/* newAccount in flight */
	CA_READY,
};

enum order_state {
	O_QUEUED,
	O_NEW,		/* newOrder in flight */
	O_AUTHZ,	/* authorizations being satisfied */
	O_WAIT_READY,	/* polling the order until "ready" */
	O_FINALIZE,	/* finalize in flight */
	O_WAIT_VALID,	/* polling the order until "valid" */
	O_CERT,		/* downloading the certificate */
	O_DONE,		/* result stored; callback pending */
};

enum order_list_id { L_QUEUE, L_ACTIVE, L_DONE };

enum authz_state {
	A_FETCH,	/* first POST-as-GET */
	A_TRIGGER,	/* challenge POST in flight */
	A_POLL,		/* waiting for the CA's validation */
	A_VALID,
};

/*
 * Completion of a signed request. err is NULL on a 2xx response; otherwise
 * it is the full error text and prob the CA's problem document, if any.
 */
typedef void (*call_cb)(void *arg, const struct http_response *resp,
    const struct acme_problem *prob, const char *err);

/* One JWS-signed POST, with its nonce fetch and badNonce retries. */
struct acme_call {
	struct acme_ca		*ca;
	struct acme_call	**slot;		/* owner's pointer, cleared when done */
	const char		*cert;		/* for logs; owned by the order */
	char			*url;
	char			*payload;	/* NULL: POST-as-GET */
	int			 jwk;		/* sign with the JWK, not the kid */
	int			 heading;	/* HEAD newNonce in flight */
	int			 retries;
	char			*kid;		/* account the last send was signed for */
	struct http_req		*hreq;
	call_cb			 cb;
	void			*arg;
};

struct acme_authz {
	struct acme_order	*order;
	char			*url;
	char			*ident;		/* identifier value, for messages */
	char			*chall_url;
	char			*token;		/* published http-01 token, or NULL */
	enum authz_state	 state;
	struct acme_call	*call;
	struct event		*timer;
	long			 delay;
};

struct acme_order {
	struct acme_ca		*ca;
	TAILQ_ENTRY(acme_order)	 entry;
	enum order_list_id	 list;
	enum order_state	 state;
	int			 requeued;	/* once, after accountDoesNotExist */
	char			*cert;
	char			**domains;
	size_t			 ndomains;
	const struct crypto_key	*key;
	enum challenge_type	 challenge;
	acme_order_cb		 cb;
	void			*arg;
	char			*url;		/* from newOrder's Location */
	char			*finalize;
	int			 finalize_early_failed;	/* orderNotReady seen once */
	char			*certificate;
	struct acme_authz	*authz;
	size_t			 nauthz;
	size_t			 nvalid;
	struct acme_call	*call;
	struct event		*timer;		/* polls, and the final callback */
	long			 delay;
	long long		 deadline;	/* monotonic ms */
	char			*error;		/* result, once O_DONE */
	char			*pem;
	size_t			 pemlen;
};

TAILQ_HEAD(order_list, acme_order);

struct acme_ca {
	struct acme_env		 env;
	char			*name;
	char			*directory;
	char			**contact;
	size_t			 ncontact;
	char			*eab_kid;
	char			*eab_hmac_key;
	char			*ca_bundle;
	unsigned		 max_orders;
	struct http_opts	 get_opts;
	struct http_opts	 post_opts;

	enum ca_state		 state;
	struct http_req		*dir_req;
	int			 have_dir;
	char			*new_nonce;
	char			*new_account;
	char			*new_order;
	char			*revoke_cert;
	char			*key_change;
	char			*tos;
	int			 eab_required;

	char			*nonces[NONCE_POOL_MAX];
	size_t			 nnonces;

	struct crypto_key	*key;
	char			*thumbprint;
	char			*kid;
	int			 key_existed;	/* key found without a URL */
	struct acme_call	*acct_call;

	struct order_list	 queue;
	struct order_list	 active;
	struct order_list	 done;
	size_t			 nqueued;
	size_t			 nactive;
	struct event		*kick;		/* deferred ca_pump */
};

static void	ca_pump(struct acme_ca *);
static void	ca_account(struct acme_ca *);
static void	call_http_done(const struct http_response *, void *);
static void	order_fail(struct acme_order *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	order_update(struct acme_order *, json_t *,
		    const struct http_response *);
static void	authz_fetch(struct acme_authz *);

/* ---------------------------------------------------------------- utils */

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = NULL;
	va_end(ap);
	return s;
}

static const char *
jstr(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static char *
json_compact(json_t *j)
{
	char *s;

	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

/* ------------------------------------------------------ problem documents */

static void
problem_fill(json_t *obj, struct acme_problem *p, int sub)
{
	json_t	*v, *arr;
	size_t	 i, n;

	if ((v = json_object_get(obj, "detail")) != NULL && json_is_string(v))
		p->detail = strdup(json_string_value(v));
	v = json_object_get(obj, "status");
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= 999)
		p->status = (int)json_integer_value(v);
	v = json_object_get(obj, "identifier");
	if (json_is_object(v) && json_is_string(json_object_get(v, "value")))
		p->identifier = strdup(jstr(v, "value"));
	/* RFC 8555 6.7.1: subproblems are one level deep */
	if (sub)
		return;
	arr = json_object_get(obj, "subproblems");
	if (!json_is_array(arr) || (n = json_array_size(arr)) == 0)
		return;
	if (n > PROBLEM_MAX_SUB)
		n = PROBLEM_MAX_SUB;
	if ((p->sub = calloc(n, sizeof(*p->sub))) == NULL)
		return;
	for (i = 0; i < n; i++) {
		struct acme_problem *s = &p->sub[p->nsub];

		v = json_array_get(arr, i);
		if (!json_is_object(v) || !json_is_string(json_object_get(v, "type")))
			continue;
		if ((s->type = strdup(jstr(v, "type"))) == NULL)
			continue;
		problem_fill(v, s, 1);
		p->nsub++;
	}
}

static int
problem_from_json(json_t *obj, struct acme_problem *p)
{
	memset(p, 0, sizeof(*p));
	if (!json_is_object(obj) || !json_is_string(json_object_get(obj, "type")))
		return -1;
	if ((p->type = strdup(jstr(obj, "type"))) == NULL)
		return -1;
	problem_fill(obj, p, 0);
	return 0;
}

int
acme_problem_parse(const char *body, size_t len, struct acme_problem *p)
{
	json_t		*root;
	json_error_t	 jerr;
	int		 rc;

	memset(p, 0, sizeof(*p));
	if (body == NULL || len == 0 || len > PROBLEM_MAX_LEN)
		return -1;
	if ((root = json_loadb(body, len, 0, &jerr)) == NULL)
		return -1;
	rc = problem_from_json(root, p);
	json_decref(root);
	return rc;
}

void
acme_problem_clear(struct acme_problem *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nsub; i++)
		acme_problem_clear(&p->sub[i]);
	free(p->sub);
	free(p->type);
	free(p->detail);
	free(p->identifier);
	memset(p, 0, sizeof(*p));
}

/* CA text goes into one-line logs: no control characters. */
static void
put_clean(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		fputc(iscntrl((unsigned char)*s) ? ' ' : *s, f);
}

static void
put_problem(FILE *f, const struct acme_problem *p)
{
	put_clean(f, p->type != NULL ? p->type : "(no type)");
	if (p->detail != NULL && p->detail[0] != '\0') {
		fputs(": ", f);
		put_clean(f, p->detail);
	}
}

char *
acme_problem_str(const struct acme_problem *p)
{
	FILE	*f;
	char	*s = NULL;
	size_t	 len, i;

	if ((f = open_memstream(&s, &len)) == NULL)
		return NULL;
	put_problem(f, p);
	if (p->nsub > 0) {
		fputs(" [", f);
		for (i = 0; i < p->nsub; i++) {
			if (i > 0)
				fputs("; ", f);
			if (p->sub[i].identifier != NULL) {
				put_clean(f, p->sub[i].identifier);
				fputs(": ", f);
			}
			put_problem(f, &p->sub[i]);
		}
		fputc(']', f);
	}
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* ----------------------------------------------------------- Retry-After */

static int
parse_2d(const char *s, int *v)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
		return -1;
	*v = (s[0] - '0') * 10 + (s[1] - '0');
	return 0;
}

/* IMF-fixdate (RFC 7231 7.1.1.1): "Sun, 06 Nov 1994 08:49:37 GMT". */
static int
parse_imf_fixdate(const char *s, size_t len, time_t *out)
{
	static const char *days[] = {
	    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm	 tm;
	int		 i, ok = 0, yh, yl;
	time_t		 t;

	if (len != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
	    s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
	    s[25] != ' ' || strncmp(s + 26, "GMT", 3) != 0)
		return -1;
	for (i = 0; i < 7; i++)
		if (strncmp(s, days[i], 3) == 0)
			ok = 1;
	if (!ok)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_mon = -1;
	for (i = 0; i < 12; i++)
		if (strncmp(s + 8, months[i], 3) == 0)
			tm.tm_mon = i;
	if (tm.tm_mon == -1 ||
	    parse_2d(s + 5, &tm.tm_mday) == -1 ||
	    parse_2d(s + 12, &yh) == -1 || parse_2d(s + 14, &yl) == -1 ||
	    parse_2d(s + 17, &tm.tm_hour) == -1 ||
	    parse_2d(s + 20, &tm.tm_min) == -1 ||
	    parse_2d(s + 23, &tm.tm_sec) == -1)
		return -1;
	if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year = yh * 100 + yl - 1900;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*out = t;
	return 0;
}

long
acme_retry_after(const char *value)
{
	const char	*s, *e;
	long		 v = 0;
	time_t		 t, now;

	if (value == NULL)
		return -1;
	for (s = value; *s == ' ' || *s == '\t'; s++)
		;
	for (e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	if (s == e)
		return -1;
	if (isdigit((unsigned char)*s)) {
		/* delta-seconds: 1*DIGIT; absurdly large values saturate */
		for (; s < e; s++) {
			if (!isdigit((unsigned char)*s))
				return -1;
			if (v > (LONG_MAX - (*s - '0')) / 10)
				v = LONG_MAX;
			else
				v = v * 10 + (*s - '0');
		}
		return v;
	}
	if (parse_imf_fixdate(s, (size_t)(e - s), &t) == -1)
		return -1;
	now = time(NULL);
	if (t <= now)
		return 0;
	if ((unsigned long long)(t - now) > (unsigned long long)LONG_MAX)
		return LONG_MAX;
	return (long)(t - now);
}

/* ------------------------------------------------------------ nonce pool */

static void
nonce_push(struct acme_ca *ca, const char *nonce)
{
	char *n;

	if (nonce == NULL || *nonce == '\0' || (n = strdup(nonce)) == NULL)
		return;
	if (ca->nnonces == NONCE_POOL_MAX) {
		/* the oldest is the likeliest to have expired */
		free(ca->nonces[0]);
		memmove(ca->nonces, ca->nonces + 1,
		    (NONCE_POOL_MAX - 1) * sizeof(ca->nonces[0]));
		ca->nnonces--;
	}
	ca->nonces[ca->nnonces++] = n;
}

static char *
nonce_pop(struct acme_ca *ca)
{
	if (ca->nnonces == 0)
		return NULL;
	return ca->nonces[--ca->nnonces];
}

/* --------------------------------------------------------- signed calls */

/* Error text for a failed response: "acme: URL: problem" or the HTTP status. */
static char *
error_text(const char *url, const struct http_response *resp,
    const struct acme_problem *prob)
{
	char	*ps = NULL, *s;
	long	 ra = resp->retry_after != NULL ?
		    acme_retry_after(resp->retry_after) : -1;
	char	 rabuf[64] = "";

	if (resp->error != NULL)
		return xasprintf("acme: %s: %s", url, resp->error);
	if (ra >= 0)
		snprintf(rabuf, sizeof(rabuf), " (retry after %ld s)", ra);
	if (prob != NULL && (ps = acme_problem_str(prob)) != NULL)
		s = xasprintf("acme: %s: %s%s", url, ps, rabuf);
	else
		s = xasprintf("acme: %s: HTTP %ld%s%s%s", url, resp->status,
		    resp->content_type != NULL ? " (" : "",
		    resp->content_type != NULL ? resp->content_type : "",
		    resp->content_type != NULL ? ")" : "");
	free(ps);
	return s;
}

static void
call_free(struct acme_call *c)
{
	if (c == NULL)
		return;
	free(c->url);
	free(c->payload);
	free(c->kid);
	free(c);
}

/* Cancels the call in *slot, if any, without its callback. */
static void
call_cancel(struct acme_call **slot)
{
	struct acme_call *c = *slot;

	if (c == NULL)
		return;
	if (c->hreq != NULL)
		http_cancel(c->hreq);
	*slot = NULL;
	call_free(c);
}

static void
call_finish(struct acme_call *c, const struct http_response *resp,
    const struct acme_problem *prob, const char *err)
{
	call_cb	 cb = c->cb;
	void	*arg = c->arg;

	*c->slot = NULL;
	call_free(c);
	cb(arg, resp, prob, err);
}

/* Signs and sends c with nonce, or with a pooled one, or fetches one first. */
static int
call_send(struct acme_call *c, const char *nonce, char *err, size_t errlen)
{
	struct acme_ca	*ca = c->ca;
	char		*pooled = NULL, *jws = NULL;
	int		 rc = -1;

	if (nonce == NULL && (nonce = pooled = nonce_pop(ca)) == NULL) {
		c->heading = 1;
		c->hreq = http_request(ca->env.http, "HEAD", ca->new_nonce,
		    NULL, 0, &ca->get_opts, call_http_done, c);
		if (c->hreq == NULL) {
			snprintf(err, errlen, "acme: %s: cannot start request",
			    ca->new_nonce);
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (!c->jwk && ca->kid == NULL) {
		snprintf(err, errlen, "acme: %s: the account of CA %s is gone",
		    c->url, ca->name);
		goto out;
	}
	jws = jws_sign(ca->key, c->jwk ? NULL : ca->kid, nonce, c->url,
	    c->payload);
	if (jws == NULL) {
		snprintf(err, errlen, "acme: %s: cannot sign the request", c->url);
		goto out;
	}
	free(c->kid);
	c->kid = NULL;
	if (!c->jwk && (c->kid = strdup(ca->kid)) == NULL) {
		snprintf(err, errlen, "acme: %s: out of memory", c->url);
		goto out;
	}
	c->heading = 0;
	c->hreq = http_request(ca->env.http, "POST", c->url, jws, strlen(jws),
	    &ca->post_opts, call_http_done, c);
	if (c->hreq == NULL) {
		snprintf(err, errlen, "acme: %s: cannot start request", c->url);
		goto out;
	}
	rc = 0;
out:
	free(pooled);
	free(jws);
	return rc;
}

/*
 * The account kid names no longer exists (the CA forgot it): register again.
 * Only if kid is still the current one: late answers to requests signed
 * before a re-registration must not forget the new account.
 */
static void
account_forget(struct acme_ca *ca, const char *kid)
{
	if (ca->kid == NULL || kid == NULL || strcmp(ca->kid, kid) != 0)
		return;
	log_warn("acme: %s: account %s does not exist any more; registering again",
	    ca->name, ca->kid);
	free(ca->kid);
	ca->kid = NULL;
	ca->key_existed = 1;
	if (ca->state == CA_READY)
		ca->state = CA_IDLE;
}

static void
call_http_done(const struct http_response *resp, void *arg)
{
	struct acme_call	*c = arg;
	struct acme_ca		*ca = c->ca;
	struct acme_problem	 prob;
	int			 parsed = 0;
	char			 err[1024];
	char			*msg = NULL;

	memset(&prob, 0, sizeof(prob));
	c->hreq = NULL;
	log_msg(LOG_LVL_DEBUG, c->cert, "%s %s -> %ld%s%s",
	    c->heading ? "HEAD" : "POST", resp->url, resp->status,
	    resp->error != NULL ? ": " : "",
	    resp->error != NULL ? resp->error : "");
	if (c->heading) {
		if (resp->error != NULL)
			msg = xasprintf("acme: %s: %s", ca->new_nonce, resp->error);
		else if (resp->replay_nonce == NULL)
			msg = xasprintf("acme: %s: HTTP %ld without a Replay-Nonce",
			    ca->new_nonce, resp->status);
		else if (call_send(c, resp->replay_nonce, err, sizeof(err)) == 0)
			goto out;
		else
			msg = strdup(err);
		call_finish(c, resp, NULL, msg != NULL ? msg : "acme: out of memory");
		goto out;
	}
	if (resp->error == NULL && resp->status >= 200 && resp->status < 300) {
		nonce_push(ca, resp->replay_nonce);
		call_finish(c, resp, NULL, NULL);
		goto out;
	}
	if (resp->error == NULL)
		parsed = acme_problem_parse(resp->body, resp->body_len, &prob) == 0;
	if (parsed && strcmp(prob.type, ACME_ERR("badNonce")) == 0 &&
	    c->retries < NONCE_RETRIES) {
		/* the rejection carries a fresh nonce: spend it on the retry */
		c->retries++;
		log_msg(LOG_LVL_DEBUG, c->cert, "%s: badNonce, retry %d of %d",
		    c->url, c->retries, NONCE_RETRIES);
		if (call_send(c, resp->replay_nonce, err, sizeof(err)) == -1)
			call_finish(c, resp, NULL, err);
		goto out;
	}
	nonce_push(ca, resp->replay_nonce);
	if (parsed && !c->jwk &&
	    strcmp(prob.type, ACME_ERR("accountDoesNotExist")) == 0)
		account_forget(ca, c->kid);
	msg = error_text(c->url, resp, parsed ? &prob : NULL);
	call_finish(c, resp, parsed ? &prob : NULL,
	    msg != NULL ? msg : "acme: out of memory");
out:
	acme_problem_clear(&prob);
	free(msg);
}

/*
 * Starts a signed POST of payload (NULL: POST-as-GET) to url; *slot holds
 * the call until cb runs. Returns -1 with err filled if it cannot start.
 */
static int
call_start(struct acme_ca *ca, struct acme_call **slot, const char *cert,
    const char *url, const char *payload, int jwk, call_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct acme_call *c;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->url = strdup(url)) == NULL ||
	    (payload != NULL && (c->payload = strdup(payload)) == NULL)) {
		call_free(c);
		snprintf(err, errlen, "acme: %s: out of memory", url);
		return -1;
	}
	c->ca = ca;
	c->slot = slot;
	c->cert = cert;
	c->jwk = jwk;
	c->cb = cb;
	c->arg = arg;
	*slot = c;
	if (call_send(c, NULL, err, errlen) == -1) {
		call_cancel(slot);
		return -1;
	}
	return 0;
}

/* --------------------------------------------------------------- orders */

/* Stops everything the order has in flight and withdraws its tokens. */
static void
order_stop(struct acme_order *o)
{
	size_t i;

	call_cancel(&o->call);
	if (o->timer != NULL)
		evtimer_del(o->timer);
	for (i = 0; i < o->nauthz; i++) {
		struct acme_authz *a = &o->authz[i];

		call_cancel(&a->call);
		if (a->timer != NULL)
			evtimer_del(a->timer);
		if (a->token != NULL) {
			chall_http_withdraw(o->ca->env.http01, a->token);
			free(a->token);
			a->token = NULL;
		}
	}
}

static void
order_free(struct acme_order *o)
{
	size_t i;

	if (o == NULL)
		return;
	order_stop(o);
	for (i = 0; i < o->nauthz; i++) {
		struct acme_authz *a = &o->authz[i];

		if (a->timer != NULL)
			event_free(a->timer);
		free(a->url);
		free(a->ident);
		free(a->chall_url);
	}
	free(o->authz);
	if (o->timer != NULL)
		event_free(o->timer);
	for (i = 0; i < o->ndomains; i++)
		free(o->domains[i]);
	free(o->domains);
	free(o->cert);
	free(o->url);
	free(o->finalize);
	free(o->certificate);
	free(o->error);
	free(o->pem);
	free(o);
}

static void
order_unlink(struct acme_order *o)
{
	struct acme_ca *ca = o->ca;

	switch (o->list) {
	case L_QUEUE:
		TAILQ_REMOVE(&ca->queue, o, entry);
		ca->nqueued--;
		break;
	case L_ACTIVE:
		TAILQ_REMOVE(&ca->active, o, entry);
		ca->nactive--;
		/* a slot is free: let the next queued order in, later */
		event_active(ca->kick, EV_TIMEOUT, 0);
		break;
	case L_DONE:
		TAILQ_REMOVE(&ca->done, o, entry);
		break;
	}
}

/*
 * Ends the order with error (taken) or pem. The callback runs from the
 * order's own timer, never from inside this call, so no caller up the
 * stack can see the order or the CA freed underneath it.
 */
static void
order_end(struct acme_order *o, char *error, const char *pem, size_t len)
{
	static const struct timeval now = { 0, 0 };

	if (o->state == O_DONE) {
		free(error);
		return;
	}
	order_stop(o);
	order_unlink(o);
	TAILQ_INSERT_TAIL(&o->ca->done, o, entry);
	o->list = L_DONE;
	o->state = O_DONE;
	if (error == NULL && pem != NULL) {
		if ((o->pem = malloc(len + 1)) == NULL)
			error = strdup("acme: out of memory");
		else {
			memcpy(o->pem, pem, len);
			o->pem[len] = '\0';
			o->pemlen = len;
		}
	}
	if (error == NULL && o->pem == NULL)
		error = strdup("acme: order failed");
	o->error = error;
	if (o->error != NULL)
		log_msg(LOG_LVL_DEBUG, o->cert, "order failed: %s", o->error);
	evtimer_add(o->timer, &now);
}

static void
order_fail(struct acme_order *o, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = strdup("acme: out of memory");
	va_end(ap);
	order_end(o, s, NULL, 0);
}

static void
order_deliver(struct acme_order *o)
{
	acme_order_cb	 cb = o->cb;
	void		*arg = o->arg;
	char		*error = o->error, *pem = o->pem;
	size_t		 len = o->pemlen;

	order_unlink(o);
	o->error = NULL;
	o->pem = NULL;
	order_free(o);
	cb(arg, error == NULL ? pem : NULL, error == NULL ? len : 0, error);
	free(error);
	if (pem != NULL) {
		explicit_bzero(pem, len);
		free(pem);
	}
}

/* Signed POST on behalf of o; a failure to start fails the order. */
static int
order_post(struct acme_order *o, struct acme_call **slot, const char *url,
    const char *payload, call_cb cb, void *arg)
{
	char err[1024];

	if (call_start(o->ca, slot, o->cert, url, payload, 0, cb, arg, err,
	    sizeof(err)) == -1) {
		order_fail(o, "%s", err);
		return -1;
	}
	return 0;
}

/* Parses a response body as a JSON object; fails the order if it is not. */
static json_t *
order_json(struct acme_order *o, const struct http_response *resp,
    const char *url)
{
	json_t		*j;
	json_error_t	 jerr;

	if ((j = json_loadb(resp->body, resp->body_len, 0, &jerr)) == NULL) {
		order_fail(o, "acme: %s: malformed JSON response: %s", url,
		    jerr.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		order_fail(o, "acme: %s: response is not a JSON object", url);
		return NULL;
	}
	return j;
}

/*
 * Schedules the next poll of url on ev: the doubling delay, no sooner than
 * Retry-After, no later than the deadline. Returns -1 if the order failed.
 */
static int
poll_schedule(struct acme_order *o, struct event *ev, long *delay,
    const struct http_response *resp, const char *url, const char *status)
{
	struct timeval	 tv;
	long long	 ms = *delay, left;
	long		 ra;

	if (resp != NULL && resp->retry_after != NULL &&
	    (ra = acme_retry_after(resp->retry_after)) >= 0) {
		if (ra > RETRY_AFTER_MAX) {
			order_fail(o, "acme: %s: CA asks to retry after %ld s "
			    "(status %s)", url, ra, status);
			return -1;
		}
		if (ra * 1000LL > ms)
			ms = ra * 1000LL;
	}
	if ((left = o->deadline - now_ms()) <= 0) {
		order_fail(o, "acme: timed out waiting for %s (status %s)", url,
		    status);
		return -1;
	}
	if (ms > left)
		ms = left;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(ev, &tv);
	*delay = *delay * 2 > POLL_MAX_MS ? POLL_MAX_MS : *delay * 2;
	return 0;
}

static void
cert_done(void *arg, const struct http_response *resp,
    const struct acme_problem *prob, const char *err)
{
	struct acme_order *o = arg;

	if (err != NULL) {
		order_fail(o, "%s", err);
		return;
	}
	if (resp->body_len == 0 ||
	    strstr(resp->body, "-----BEGIN CERTIFICATE-----") == NULL) {
		order_fail(o, "acme: %s: response is not a PEM certificate chain",
		    o->certificate);
		return;
	}
	log_msg(LOG_LVL_INFO, o->cert, "certificate downloaded from %s",
	    o->certificate);
	order_end(o, NULL, resp->body, resp->body_len);
}

static void
order_poll_done(void *arg, const struct http_response *resp,
    const struct acme_problem *prob, const char *err)
{
	struct acme_order	*o = arg;
	json_t			*j;

	if (err != NULL && o->state == O_FINALIZE && prob != NULL &&
	    prob->type != NULL &&
	    strcmp(prob->type, "urn:ietf:params:acme:error:orderNotReady") == 0 &&
	    !o->finalize_early_failed) {
		/* finalized before the CA marked the order ready: wait for it */
		o->finalize_early_failed = 1;
		o->state = O_WAIT_READY;
		o->delay = POLL_FIRST_MS;
		poll_schedule(o, o->timer, &o->delay, resp, o->url, "pending");
		return;
	}
	if (err != NULL) {
		order_fail(o, "%s", err);
		return;
	}
	if ((j = order_json(o, resp, o->url)) == NULL)
		return;
	order_update(o, j, resp);
	json_decref(j);
}

static void
order_poll(struct acme_order *o)
{
	order_post(o, &o->call, o->url, NULL, order_poll_done, o);
}

static void
order_finalize(struct acme_order *o)
{
	char	*csr = NULL, *payload = NULL;

	o->state = O_FINALIZE;
	if (o->finalize == NULL) {
		order_fail(o, "acme: %s: order has no finalize URL", o->url);
		goto out;
	}
	if ((csr = crypto_csr(o->key, o->domains, o->ndomains)) == NULL) {
		order_fail(o, "acme: cannot make a CSR for the order %s", o->url);
		goto out;
	}
	if ((payload = json_compact(json_pack("{s:s}", "csr", csr))) == NULL) {
		order_fail(o, "acme: %s: out of memory", o->finalize);
		goto out;
	}
	order_post(o, &o->call, o->finalize, payload, order_poll_done, o);
out:
	free(csr);
	free(payload);
}

/* Reports an order whose status is "invalid", with its error if it has one. */
static void
order_invalid(struct acme_order *o, json_t *j)
{
	struct acme_problem	 p;
	char			*ps = NULL;

	if (problem_from_json(json_object_get(j, "error"), &p) == 0)
		ps = acme_problem_str(&p);
	order_fail(o, "acme: %s: order is invalid%s%s", o->url,
	    ps != NULL ? ": " : "", ps != NULL ? ps : "");
	free(ps);
	acme_problem_clear(&p);
}

static void authz_begin(struct acme_order *, json_t *);

/* Acts on an order object from newOrder, a poll or finalize. */
static void
order_update(struct acme_order *o, json_t *j, const struct http_response *resp)
{
	const char *status = jstr(j, "status"), *s;

	if (status == NULL) {
		order_fail(o, "acme: %s: order object lacks \"status\"", o->url);
		return;
	}
	if (o->finalize == NULL && (s = jstr(j, "finalize")) != NULL &&
	    (o->finalize = strdup(s)) == NULL) {
		order_fail(o, "acme: out of memory");
		return;
	}
	if (strcmp(status, "invalid") == 0) {
		order_invalid(o, j);
		return;
	}
	if (strcmp(status, "valid") == 0) {
		if ((s = jstr(j, "certificate")) == NULL) {
			order_fail(o, "acme: %s: valid order lacks \"certificate\"",
			    o->url);
			return;
		}
		if ((o->certificate = strdup(s)) == NULL) {
			order_fail(o, "acme: out of memory");
			return;
		}
		o->state = O_CERT;
		order_post(o, &o->call, o->certificate, NULL, cert_done, o);
		return;
	}
	if (strcmp(status, "pending") != 0 && strcmp(status, "ready") != 0 &&
	    strcmp(status, "processing") != 0) {
		order_fail(o, "acme: %s: order has unknown status \"%s\"", o->url,
		    status);
		return;
	}
	switch (o->state) {
	case O_NEW:
		if (strcmp(status, "pending") == 0)
			authz_begin(o, j);
		else if (strcmp(status, "ready") == 0)
			order_finalize(o);
		else {
			o->state = O_WAIT_VALID;
			o->delay = POLL_FIRST_MS;
			poll_schedule(o, o->timer, &o->delay, resp, o->url, status);
		}
		break;
	case O_WAIT_READY:
		if (strcmp(status, "ready") == 0)
			order_finalize(o);
		else
			poll_schedule(o, o->timer, &o->delay, resp, o->url, status);
		break;
	case O_FINALIZE:
		o->state = O_WAIT_VALID;
		o->delay = POLL_FIRST_MS;
		/* FALLTHROUGH */
	case O_WAIT_VALID:
		/* "processing" is the expected one; anything else: wait and see */
		poll_schedule(o, o->timer, &o->delay, resp, o->url, status);
		break;
	default:
		order_fail(o, "acme: %s: unexpected order update (status %s)",
		    o->url, status);
		break;
	}
}

static void
order_new_done(void *arg, const struct http_response *resp,
    const struct acme_problem *prob, const char *err)
{
	struct acme_order	*o = arg;
	json_t			*j;

	if (err != NULL && !o->requeued && (o->ca->kid == NULL ||
	    (prob != NULL && prob->type != NULL &&
	    strcmp(prob->type, ACME_ERR("accountDoesNotExist")) == 0))) {
		/* the account is being registered again: wait for it, once */
		o->requeued = 1;
		order_unlink(o);
		TAILQ_INSERT_HEAD(&o->ca->queue, o, entry);
		o->list = L_QUEUE;
		o->state = O_QUEUED;
		o->ca->nqueued++;
		return;
	}
	if (err != NULL) {
		order_fail(o, "%s", err);
		return;
	}
	if ((j = order_json(o, resp, o->ca->new_order)) == NULL)
		return;
	/* Pebble sends no Location when the order is polled: keep this one */
	if (resp->location == NULL) {
		order_fail(o, "acme: %s: newOrder response lacks a Location header",
		    o->ca->new_order);
		goto out;
	}
	if ((o->url = strdup(resp->location)) == NULL) {
		order_fail(o, "acme: out of memory");
		goto out;
	}
	log_msg(LOG_LVL_INFO, o->cert, "order created %s", o->url);
	order_update(o, j, resp);
out:
	json_decref(j);
}

static void
order_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct acme_order *o = arg;

	if (o->state == O_DONE)
		order_deliver(o);
	else
		order_poll(o);
}

static int
is_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static void
order_begin(struct acme_order *o)
{
	json_t	*ids, *body;
	char	*payload = NULL;
	size_t	 i;

	o->state = O_NEW;
	o->deadline = now_ms() + ORDER_DEADLINE_MS;
	if ((ids = json_array()) == NULL)
		goto fail;
	for (i = 0; i < o->ndomains; i++)
		if (json_array_append_new(ids, json_pack("{s:s,s:s}", "type",
		    is_ip(o->domains[i]) ? "ip" : "dns", "value",
		    o->domains[i])) == -1) {
			json_decref(ids);
			goto fail;
		}
	body = json_pack("{s:o}", "identifiers", ids);
	if ((payload = json_compact(body)) == NULL)
		goto fail;
	order_post(o, &o->call, o->ca->new_order, payload, order_new_done, o);
	free(payload);
	return;
fail:
	order_fail(o, "acme: %s: out of memory", o->ca->new_order);
}

/* ------------------------------------------------------- authorizations */

static void
authz_valid(struct acme_authz *a)
{
	struct acme_order *o = a->order;

	if (a->state == A_VALID)
		return;
	a->state = A_VALID;
	if (a->token != NULL) {
		/* no longer needed; withdrawals are counted, so reuse is safe */
		chall_http_withdraw(o->ca->env.http01, a->token);
		free(a->token);
		a->token = NULL;
	}
	if (++o->nvalid < o->nauthz)
		return;
	log_msg(LOG_LVL_INFO, o->cert, "all authorizations valid for %s", o->url);
	/*
	 * The order is ready once every authorization is valid (RFC 8555
	 * 7.1.6): finalize at once rather than poll for "ready"; a CA that
	 * lags answers orderNotReady and the order is polled after all.
	 */
	order_finalize(o);
}

/* Reports an invalid authorization with the error of its failed challenge. */
static void
authz_invalid(struct acme_authz *a, json_t *j)
{
	struct acme_order	*o = a->order;
	json_t			*chs = json_object_get(j, "challenges");
	json_t			*ch, *best = NULL;
	struct acme_problem	 p;
	char			*ps = NULL;
	size_t			 i;

	memset(&p, 0, sizeof(p));
	json_array_foreach(chs, i, ch) {
		if (!json_is_object(json_object_get(ch, "error")))
			continue;
		/* prefer the error of the type we tried */
		if (best == NULL || (jstr(ch, "type") != NULL &&
		    strcmp(jstr(ch, "type"), "http-01") == 0))
			best = ch;
	}
	if (best != NULL &&
	    problem_from_json(json_object_get(best, "error"), &p) == 0 &&
	    (ps = acme_problem_str(&p)) != NULL)
		order_fail(o, "acme: %s: %s", jstr(best, "url") != NULL ?
		    jstr(best, "url") : a->url, ps);
	else
		order_fail(o, "acme: %s: authorization for %s is invalid", a->url,
		    a->ident != NULL ? a->ident : "?");
	free(ps);
	acme_problem_clear(&p);
}

static void
chall_done(void *arg, const struct http_response *resp,
    const struct acme_problem *prob, const char *err)
{
	struct acme_authz	*a = arg;
	struct acme_order	*o = a->order;
	json_t			*j;
	const char		*status;
	struct acme_problem	 p;
	char			*ps = NULL;

	if (err != NULL) {
		order_fail(o, "%s", err);
		return;
	}
	if ((j = order_json(o, resp, a->chall_url)) == NULL)
		return;
	status = jstr(j, "status");
	if (status != NULL && strcmp(status, "invalid") == 0) {
		if (problem_from_json(json_object_get(j, "error"), &p) == 0) {
			ps = acme_problem_str(&p);
			acme_problem_clear(&p);
		}
		order_fail(o, "acme: %s: %s", a->chall_url,
		    ps != NULL ? ps : "challenge is invalid");
		free(ps);
	} else {
		a->state = A_POLL;
		a->delay = POLL_FIRST_MS;
		poll_schedule(o, a->timer, &a->delay, resp, a->url,
		    status != NULL ? status : "?");
	}
	json_decref(j);
}

/* A pending authorization: publish the http-01 answer and trigger it. */
static void
authz_pending(struct acme_authz *a, json_t *j, const struct http_response *resp)
{
	struct acme_order	*o = a->order;
	struct acme_ca		*ca = o->ca;
	json_t			*ch, *found = NULL;
	const char		*url, *token, *status;
	char			*keyauth = NULL;
	size_t			 i;

	if (a->state == A_POLL) {
		poll_schedule(o, a->timer, &a->delay, resp, a->url, "pending");
		return;
	}
	if (o->challenge != CHALLENGE_HTTP01) {
		order_fail(o, "acme: challenge type %s is not implemented "
		    "(only http-01)", o->challenge == CHALLENGE_DNS01 ? "dns-01" :
		    o->challenge == CHALLENGE_TLSALPN01 ? "tls-alpn-01" : "?");
		return;
	}
	if (ca->env.http01 == NULL) {
		order_fail(o, "acme: %s needs http-01 for %s, but no http01 "
		    "listener or webroot is configured", a->url,
		    a->ident != NULL ? a->ident : "?");
		return;
	}
	json_array_foreach(json_object_get(j, "challenges"), i, ch)
		if (jstr(ch, "type") != NULL &&
		    strcmp(jstr(ch, "type"), "http-01") == 0) {
			found = ch;
			break;
		}
	if (found == NULL) {
		order_fail(o, "acme: %s: CA offers no http-01 challenge for %s",
		    a->url, a->ident != NULL ? a->ident : "?");
		return;
	}
	url = jstr(found, "url");
	token = jstr(found, "token");
	status = jstr(found, "status");
	if (url == NULL || token == NULL || status == NULL) {
		order_fail(o, "acme: %s: http-01 challenge lacks url, token or "
		    "status", a->url);
		return;
	}
	if (!chall_http_token_ok(token)) {
		order_fail(o, "acme: %s: unusable http-01 token", url);
		return;
	}
	free(a->chall_url);
	if ((a->chall_url = strdup(url)) == NULL) {
		order_fail(o, "acme: out of memory");
		return;
	}
	if (strcmp(status, "invalid") == 0) {
		authz_invalid(a, j);
		return;
	}
	if (a->token == NULL) {
		if ((keyauth = xasprintf("%s.%s", token, ca->thumbprint)) == NULL ||
		    (a->token = strdup(token)) == NULL) {
			order_fail(o, "acme: out of memory");
			goto out;
		}
		if (chall_http_publish(ca->env.http01, token, keyauth) == -1) {
			free(a->token);
			a->token = NULL;
			order_fail(o, "acme: %s: cannot publish the http-01 token "
			    "for %s", url, a->ident != NULL ? a->ident : "?");
			goto out;
		}
	}
	if (strcmp(status, "pending") == 0) {
		a->state = A_TRIGGER;
		order_post(o, &a->call, a->chall_url, "{}", chall_done, a);
	} else {
		/* "processing"/"valid": triggered already (a reused authorization) */
		a->state = A_POLL;
		a->delay = POLL_FIRST_MS;
		poll_schedule(o, a->timer, &a->delay, resp, a->url, status);
	}
out:
	free(keyauth);
}

static void
authz_done(void *arg, const struct http_response *resp,
    const struct acme_problem *prob, const char *err)
{
	struct acme_authz	*a = arg;
	struct acme_order	*o = a->order;
	json_t			*j, *id;
	const char		*status;

	if (err != NULL) {
		order_fail(o, "%s", err);
		return;
	}
	if ((j = order_json(o, resp, a->url)) == NULL)
		return;
	id = json_object_get(j, "identifier");
	if (a->ident == NULL && json_is_string(json_object_get(id, "value")))
		a->ident = strdup(jstr(id, "value"));
	if ((status = jstr(j, "status")) == NULL)
		order_fail(o, "acme: %s: authorization lacks \"status\"", a->url);
	else if (strcmp(status, "valid") == 0)
		authz_valid(a);
	else if (strcmp(status, "pending") == 0)
		authz_pending(a, j, resp);
	else if (strcmp(status, "invalid") == 0)
		authz_invalid(a, j);
	else
		order_fail(o, "acme: %s: authorization for %s is %s", a->url,
		    a->ident != NULL ? a->ident : "?", status);
	json_decref(j);
}

static void
authz_fetch(struct acme_authz *a)
{
	order_post(a->order, &a->call, a->url, NULL, authz_done, a);
}

static void
authz_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	authz_fetch(arg);
}

/* Fetches every authorization of the order at once. */
static void
authz_begin(struct acme_order *o, json_t *j)
{
	json_t	*arr = json_object_get(j, "authorizations"), *v;
	size_t	 i, n;

	if (!json_is_array(arr) || (n = json_array_size(arr)) == 0 ||
	    n > AUTHZ_MAX) {
		order_fail(o, "acme: %s: order lacks \"authorizations\"", o->url);
		return;
	}
	if ((o->authz = calloc(n, sizeof(*o->authz))) == NULL) {
		order_fail(o, "acme: out of memory");
		return;
	}
	json_array_foreach(arr, i, v) {
		struct acme_authz *a = &o->authz[i];

		if (!json_is_string(v)) {
			order_fail(o, "acme: %s: authorization URL is not a string",
			    o->url);
			return;
		}
		a->order = o;
		a->delay = POLL_FIRST_MS;
		if ((a->url = strdup(json_string_value(v))) == NULL ||
		    (a->timer = evtimer_new(o->ca->env.base, authz_timer_cb,
		    a)) == NULL) {
			free(a->url);
			order_fail(o, "acme: out of memory");
			return;
		}
		o->nauthz++;
	}
	o->state = O_AUTHZ;
	for (i = 0; i < o->nauthz && o->state == O_AUTHZ; i++)
		authz_fetch(&o->authz[i]);
}

/* ------------------------------------------------------ CA and account */

/* Account or directory setup failed: every order waiting for it fails. */
static void
ca_setup_fail(struct acme_ca *ca, const char *err)
{
	struct acme_order *o;

	ca->state = CA_IDLE;
	log_warn("CA %s: account setup failed: %s", ca->name, err);
	while ((o = TAILQ_FIRST(&ca->queue)) != NULL)
		order_fail(o, "%s", err);
}

static void
acct_ready(struct acme_ca *ca, const char *url)
{
	free(ca->kid);
	if ((ca->kid = strdup(url)) == NULL) {
		ca_setup_fail(ca, "acme: out of memory");
		return;
	}
	ca->key_existed = 0;
	if (ca->env.store != NULL &&
	    store_account_save_url(ca->env.store, ca->name, url) == -1)
		log_warn("acme: CA %s: cannot save the account URL; it will be "
		    "looked up again next time", ca->name);
	log_info("acme: CA %s: account %s", ca->name, url);
	ca->state = CA_READY;
	ca_pump(ca);
}

static void
acct_done(void *arg, const struct http_response *resp,
    const struct acme_problem *prob, const char *err)
{
	struct acme_ca *ca = arg;

	if (err != NULL) {
		ca_setup_fail(ca, err);
		return;
	}
	if (resp->location == NULL) {
		char *msg = xasprintf("acme: %s: newAccount response lacks a "
		    "Location header", ca->new_account);

		ca_setup_fail(ca, msg != NULL ? msg : "acme: out of memory");
		free(msg);
		return;
	}
	acct_ready(ca, resp->location);
}

static void
acct_create(struct acme_ca *ca)
{
	json_t	*body = NULL, *contact, *eab = NULL;
	char	*payload = NULL, *eabs = NULL, *msg = NULL;
	char	 err[1024];
	size_t	 i;

	if (ca->eab_required && ca->eab_kid == NULL) {
		msg = xasprintf("acme: %s: CA requires external account binding, "
		    "but CA %s has no eab configured", ca->directory, ca->name);
		goto fail;
	}
	if ((body = json_pack("{s:b}", "termsOfServiceAgreed", 1)) == NULL ||
	    (contact = json_array()) == NULL)
		goto nomem;
	for (i = 0; i < ca->ncontact; i++)
		json_array_append_new(contact, json_string(ca->contact[i]));
	if (ca->ncontact > 0)
		json_object_set_new(body, "contact", contact);
	else
		json_decref(contact);
	if (ca->eab_kid != NULL && ca->eab_hmac_key != NULL) {
		eabs = jws_eab(ca->key, ca->eab_kid, ca->eab_hmac_key,
		    ca->new_account);
		if (eabs == NULL || (eab = json_loads(eabs, 0, NULL)) == NULL) {
			msg = xasprintf("acme: CA %s: cannot make the external "
			    "account binding (is eab hmac_key base64url?)", ca->name);
			goto fail;
		}
		json_object_set_new(body, "externalAccountBinding", eab);
	}
	if ((payload = json_dumps(body, JSON_COMPACT)) == NULL)
		goto nomem;
	if (call_start(ca, &ca->acct_call, NULL, ca->new_account, payload, 1,
	    acct_done, ca, err, sizeof(err)) == -1)
		ca_setup_fail(ca, err);
	goto out;
nomem:
	msg = xasprintf("acme: %s: out of memory", ca->new_account);
fail:
	ca_setup_fail(ca, msg != NULL ? msg : "acme: out of memory");
out:
	json_decref(body);
	free(payload);
	free(eabs);
	free(msg);
}

static void
acct_lookup_done(void *arg, const struct http_response *resp,
    const struct acme_problem *prob, const char *err)
{
	struct acme_ca *ca = arg;

	if (err != NULL && prob != NULL && prob->type != NULL &&
	    strcmp(prob->type, ACME_ERR("accountDoesNotExist")) == 0) {
		log_info("acme: CA %s: no account for the stored key yet; "
		    "creating one", ca->name);
		acct_create(ca);
		return;
	}
	acct_done(arg, resp, prob, err);
}

/* Returns 1 if a and b share scheme, host and port. */
static int
same_origin(const char *a, const char *b)
{
	const char	*ea = strstr(a, "://"), *eb = strstr(b, "://");
	size_t		 la, lb;

	if (ea == NULL || eb == NULL)
		return 0;
	la = (size_t)(ea - a) + 3 + strcspn(ea + 3, "/?#");
	lb = (size_t)(eb - b) + 3 + strcspn(eb + 3, "/?#");
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* Loads or makes the account key. Returns 0, or -1 with msg set. */
static int
acct_load_key(struct acme_ca *ca, char **msg)
{
	char	*pem = NULL, *url = NULL;
	size_t	 len = 0;
	int	 rc = -1, r = 0;

	if (ca->env.store != NULL &&
	    (r = store_account_load(ca->env.store, ca->name, &pem, &url)) == -1) {
		*msg = xasprintf("acme: CA %s: cannot load the account from the "
		    "state directory", ca->name);
		goto out;
	}
	if (r == 1 && pem == NULL) {
		*msg = xasprintf("acme: CA %s: the stored account has no key",
		    ca->name);
		goto out;
	}
	if (r == 1) {
		len = strlen(pem);
		if ((ca->key = crypto_key_from_pem(pem, len)) == NULL) {
			*msg = xasprintf("acme: CA %s: the stored account key "
			    "%s/accounts/%s/account.key is unreadable (move it "
			    "away to register a new account)", ca->name,
			    ca->env.store != NULL ? store_path(ca->env.store) : "",
			    ca->name);
			goto out;
		}
		if (url != NULL && !same_origin(url, ca->directory)) {
			/* registered with another CA address: look it up here */
			log_info("acme: CA %s: stored account %s is not at %s; "
			    "looking the key up again", ca->name, url, ca->directory);
			free(url);
			url = NULL;
		}
		ca->kid = url;
		url = NULL;
		ca->key_existed = ca->kid == NULL;
	} else {
		/* P-256 is quick enough to make on the loop */
		if ((ca->key = crypto_key_generate(KEY_EC_P256)) == NULL ||
		    (pem = crypto_key_to_pem(ca->key, &len)) == NULL) {
			*msg = xasprintf("acme: CA %s: cannot make an account key",
			    ca->name);
			goto out;
		}
		/* saved before registering, so a crash cannot orphan an account */
		if (ca->env.store != NULL &&
		    store_account_save_key(ca->env.store, ca->name, pem, len) == -1) {
			*msg = xasprintf("acme: CA %s: cannot save the account key",
			    ca->name);
			goto out;
		}
		ca->key_existed = 0;
	}
	if ((ca->thumbprint = jws_thumbprint(ca->key)) == NULL) {
		*msg = xasprintf("acme: CA %s: cannot compute the account key "
		    "thumbprint", ca->name);
		goto out;
	}
	rc = 0;
out:
	if (rc == -1) {
		crypto_key_free(ca->key);
		ca->key = NULL;
		free(ca->kid);
		ca->kid = NULL;
	}
	if (pem != NULL) {
		explicit_bzero(pem, len != 0 ? len : strlen(pem));
		free(pem);
	}
	free(url);
	return rc;
}

static void
ca_account(struct acme_ca *ca)
{
	char	*msg = NULL;
	char	 err[1024];

	if (ca->key == NULL && acct_load_key(ca, &msg) == -1) {
		ca_setup_fail(ca, msg != NULL ? msg : "acme: out of memory");
		free(msg);
		return;
	}
	if (ca->kid != NULL) {
		ca->state = CA_READY;
		ca_pump(ca);
		return;
	}
	ca->state = CA_ACCOUNT;
	if (!ca->key_existed) {
		acct_create(ca);
		return;
	}
	if (call_start(ca, &ca->acct_call, NULL, ca->new_account,
	    "{\"onlyReturnExisting\":true}", 1, acct_lookup_done, ca, err,
	    sizeof(err)) == -1)
		ca_setup_fail(ca, err);
}

static int
dir_url(struct acme_ca *ca, json_t *j, const char *key, char **out,
    int required, char **msg)
{
	const char *s = jstr(j, key);

	if (s == NULL) {
		if (required)
			*msg = xasprintf("acme: %s: directory lacks \"%s\"",
			    ca->directory, key);
		return required ? -1 : 0;
	}
	free(*out);
	if ((*out = strdup(s)) == NULL) {
		*msg = xasprintf("acme: out of memory");
		return -1;
	}
	return 0;
}

static void
dir_done(const struct http_response *resp, void *arg)
{
	struct acme_ca		*ca = arg;
	struct acme_problem	 prob;
	json_t			*j = NULL, *meta;
	json_error_t		 jerr;
	char			*msg = NULL;

	memset(&prob, 0, sizeof(prob));
	ca->dir_req = NULL;
	log_debug("GET %s -> %ld", resp->url, resp->status);
	nonce_push(ca, resp->replay_nonce);
	if (resp->error != NULL || resp->status != 200) {
		int parsed = resp->error == NULL &&
		    acme_problem_parse(resp->body, resp->body_len, &prob) == 0;

		msg = error_text(ca->directory, resp, parsed ? &prob : NULL);
		goto fail;
	}
	if ((j = json_loadb(resp->body, resp->body_len, 0, &jerr)) == NULL) {
		msg = xasprintf("acme: %s: malformed directory: %s",
		    ca->directory, jerr.text);
		goto fail;
	}
	if (!json_is_object(j)) {
		msg = xasprintf("acme: %s: directory is not a JSON object",
		    ca->directory);
		goto fail;
	}
	if (dir_url(ca, j, "newNonce", &ca->new_nonce, 1, &msg) == -1 ||
	    dir_url(ca, j, "newAccount", &ca->new_account, 1, &msg) == -1 ||
	    dir_url(ca, j, "newOrder", &ca->new_order, 1, &msg) == -1 ||
	    dir_url(ca, j, "revokeCert", &ca->revoke_cert, 0, &msg) == -1 ||
	    dir_url(ca, j, "keyChange", &ca->key_change, 0, &msg) == -1)
		goto fail;
	if (json_is_object(meta = json_object_get(j, "meta"))) {
		if (dir_url(ca, meta, "termsOfService", &ca->tos, 0, &msg) == -1)
			goto fail;
		ca->eab_required = json_is_true(json_object_get(meta,
		    "externalAccountRequired"));
	}
	ca->have_dir = 1;
	json_decref(j);
	ca_account(ca);
	return;
fail:
	json_decref(j);
	acme_problem_clear(&prob);
	ca_setup_fail(ca, msg != NULL ? msg : "acme: out of memory");
	free(msg);
}

static void
ca_setup(struct acme_ca *ca)
{
	char *msg;

	if (ca->have_dir) {
		ca_account(ca);
		return;
	}
	ca->state = CA_DIR;
	ca->dir_req = http_request(ca->env.http, "GET", ca->directory, NULL, 0,
	    &ca->get_opts, dir_done, ca);
	if (ca->dir_req == NULL) {
		msg = xasprintf("acme: %s: cannot start request", ca->directory);
		ca_setup_fail(ca, msg != NULL ? msg : "acme: out of memory");
		free(msg);
	}
}

/* Moves queued orders in flight as far as the account and the limit allow. */
static void
ca_pump(struct acme_ca *ca)
{
	struct acme_order *o;

	if (TAILQ_EMPTY(&ca->queue))
		return;
	if (ca->state != CA_READY) {
		if (ca->state == CA_IDLE)
			ca_setup(ca);
		return;
	}
	while (ca->nactive < ca->max_orders &&
	    (o = TAILQ_FIRST(&ca->queue)) != NULL) {
		TAILQ_REMOVE(&ca->queue, o, entry);
		ca->nqueued--;
		TAILQ_INSERT_TAIL(&ca->active, o, entry);
		o->list = L_ACTIVE;
		ca->nactive++;
		order_begin(o);
	}
}

static void
ca_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	ca_pump(arg);
}

/* ------------------------------------------------------------ public API */

struct acme_ca *
acme_ca_new(const struct acme_env *env, const struct conf_ca *cfg)
{
	struct acme_ca	*ca;
	size_t		 i;
	int		 rc = -1;

	if ((ca = calloc(1, sizeof(*ca))) == NULL)
		return NULL;
	TAILQ_INIT(&ca->queue);
	TAILQ_INIT(&ca->active);
	TAILQ_INIT(&ca->done);
	ca->env = *env;
	ca->max_orders = cfg->max_concurrent_orders > 0 ?
	    cfg->max_concurrent_orders : 8;
	if ((ca->name = strdup(cfg->name)) == NULL ||
	    (ca->directory = strdup(cfg->directory)) == NULL)
		goto out;
	if ((cfg->eab_kid != NULL && (ca->eab_kid = strdup(cfg->eab_kid)) == NULL) ||
	    (cfg->eab_hmac_key != NULL &&
	    (ca->eab_hmac_key = strdup(cfg->eab_hmac_key)) == NULL) ||
	    (cfg->ca_bundle != NULL &&
	    (ca->ca_bundle = strdup(cfg->ca_bundle)) == NULL))
		goto out;
	if (cfg->contact.n > 0 &&
	    (ca->contact = calloc(cfg->contact.n, sizeof(char *))) == NULL)
		goto out;
	for (i = 0; i < cfg->contact.n; i++) {
		if ((ca->contact[i] = strdup(cfg->contact.v[i])) == NULL)
			goto out;
		ca->ncontact++;
	}
	if ((ca->kick = event_new(env->base, -1, 0, ca_kick_cb, ca)) == NULL)
		goto out;
	ca->get_opts.ca_bundle = ca->ca_bundle;
	ca->get_opts.timeout_ms = REQUEST_TIMEOUT_MS;
	ca->post_opts = ca->get_opts;
	ca->post_opts.content_type = "application/jose+json";
	rc = 0;
out:
	if (rc == -1) {
		acme_ca_free(ca);
		ca = NULL;
	}
	return ca;
}

void
acme_ca_free(struct acme_ca *ca)
{
	struct acme_order	*o;
	size_t			 i;

	if (ca == NULL)
		return;
	while ((o = TAILQ_FIRST(&ca->queue)) != NULL ||
	    (o = TAILQ_FIRST(&ca->active)) != NULL ||
	    (o = TAILQ_FIRST(&ca->done)) != NULL) {
		order_unlink(o);
		order_free(o);
	}
	call_cancel(&ca->acct_call);
	if (ca->dir_req != NULL)
		http_cancel(ca->dir_req);
	if (ca->kick != NULL)
		event_free(ca->kick);
	for (i = 0; i < ca->nnonces; i++)
		free(ca->nonces[i]);
	for (i = 0; i < ca->ncontact; i++)
		free(ca->contact[i]);
	free(ca->contact);
	crypto_key_free(ca->key);
	free(ca->thumbprint);
	free(ca->kid);
	free(ca->name);
	free(ca->directory);
	free(ca->eab_kid);
	if (ca->eab_hmac_key != NULL) {
		explicit_bzero(ca->eab_hmac_key, strlen(ca->eab_hmac_key));
		free(ca->eab_hmac_key);
	}
	free(ca->ca_bundle);
	free(ca->new_nonce);
	free(ca->new_account);
	free(ca->new_order);
	free(ca->revoke_cert);
	free(ca->key_change);
	free(ca->tos);
	free(ca);
}

const char *
acme_ca_name(const struct acme_ca *ca)
{
	return ca->name;
}

struct acme_order *
acme_order_start(struct acme_ca *ca, const struct acme_order_req *req,
    acme_order_cb cb, void *arg)
{
	struct acme_order	*o;
	size_t			 i;

	if (req->ndomains == 0 || req->domains == NULL || req->key == NULL ||
	    cb == NULL)
		return NULL;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->ca = ca;
	o->key = req->key;
	o->challenge = req->challenge;
	o->cb = cb;
	o->arg = arg;
	o->state = O_QUEUED;
	if ((o->cert = strdup(req->cert_name != NULL ? req->cert_name :
	    req->domains[0])) == NULL ||
	    (o->domains = calloc(req->ndomains, sizeof(char *))) == NULL ||
	    (o->timer = evtimer_new(ca->env.base, order_timer_cb, o)) == NULL)
		goto fail;
	for (i = 0; i < req->ndomains; i++) {
		if ((o->domains[i] = strdup(req->domains[i])) == NULL)
			goto fail;
		o->ndomains++;
	}
	TAILQ_INSERT_TAIL(&ca->queue, o, entry);
	o->list = L_QUEUE;
	ca->nqueued++;
	/* never call back from inside this call: start from the loop */
	event_active(ca->kick, EV_TIMEOUT, 0);
	return o;
fail:
	order_free(o);
	return NULL;
}

void
acme_order_cancel(struct acme_order *o)
{
	if (o == NULL)
		return;
	order_unlink(o);
	order_free(o);
}

size_t
acme_ca_orders(const struct acme_ca *ca)
{
	return ca->nqueued + ca->nactive;
}
