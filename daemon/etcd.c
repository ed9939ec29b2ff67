/* etcd.c - asynchronous etcd v3 client over the JSON gateway, on the loop */
#include "config.h"

#include <sys/queue.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "etcd.h"
#include "http.h"
#include "log.h"
#include "xmalloc.h"

/*
 * Every call is one POST to /v3/... on the current endpoint, ETCD_TIMEOUT_MS
 * at most. Failover: a call that reached no member, and a read whatever
 * failed, move the client to the next endpoint and go again, once per
 * endpoint. A write that may have reached a member and then timed out or met
 * a 503 is finished as ETCD_UNKNOWN: only the caller can tell, by re-reading,
 * whether it happened. Watches are long POSTs whose body streams one JSON
 * message per line; http.c hands us the bytes from inside curl, so lines are
 * parsed and delivered from a deferred event where callbacks may do anything.
 */

#define ETCD_CONNECT_MS		1000
#define ETCD_WATCH_MAX_LINE	(16 * 1024 * 1024)
#define ETCD_WATCH_RETRY_MS	100
#define ETCD_WATCH_RETRY_MAX_MS	2000

struct etcd_call {
	struct etcd		*e;
	TAILQ_ENTRY(etcd_call)	 entry;
	const char		*kind;	/* for etcd_parse_reply */
	const char		*path;
	char			*body;
	int			 write;
	size_t			 tries;
	struct http_req		*req;
	etcd_cb			 cb;
	void			*arg;
};

struct etcd_keeper {
	struct etcd		*e;
	LIST_ENTRY(etcd_keeper)	 entry;
	int64_t			 id;
	int64_t			 ttl;
	struct timespec		 last_ok;
	struct event		*timer;
	struct etcd_call	*call;
	int			 stopped;
	etcd_lost_cb		 lost;
	void			*arg;
};

struct etcd_watch {
	struct etcd		*e;
	LIST_ENTRY(etcd_watch)	 entry;
	char			*key;
	char			*end;		/* NULL = key alone */
	size_t			 at;		/* endpoint of the stream */
	int64_t			 next;		/* revision to resume from; 0 = now */
	struct http_req		*req;
	char			*buf;		/* bytes not yet parsed */
	size_t			 len, cap;
	int			 overflow;
	struct event		*deliver;	/* parses buf outside curl */
	struct event		*retry;
	long			 retry_ms;
	int			 stopped;	/* after a compaction */
	int			 in_cb;
	int			 dead;		/* cancelled from its callback */
	etcd_watch_cb		 cb;
	void			*arg;
};

struct etcd {
	struct event_base	*base;
	struct http_client	*http;
	char			**ep;
	size_t			 nep;
	size_t			 cur;
	char			*ca_bundle, *client_cert, *client_key;
	TAILQ_HEAD(, etcd_call)	 calls;
	LIST_HEAD(, etcd_watch)	 watches;
	LIST_HEAD(, etcd_keeper) keepers;
};

static char *
dupnull(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

struct etcd *
etcd_new(struct event_base *base, struct http_client *http,
    const char *const *endpoints, size_t n, const struct etcd_tls *tls)
{
	struct etcd	*e;
	size_t		 i;

	for (i = 0; i < n; i++)
		if (strncmp(endpoints[i], "http://", 7) != 0 &&
		    strncmp(endpoints[i], "https://", 8) != 0) {
			log_err("etcd: endpoint %s: not an http or https URL",
			    endpoints[i]);
			return NULL;
		}
	if (n == 0) {
		log_err("etcd: no endpoint");
		return NULL;
	}
	e = xcalloc(1, sizeof(*e));
	e->base = base;
	e->http = http;
	e->ep = xcalloc(n, sizeof(*e->ep));
	for (i = 0; i < n; i++) {
		e->ep[i] = xstrdup(endpoints[i]);
		/* "http://h:2379/" and "http://h:2379" are the same endpoint */
		if (e->ep[i][strlen(e->ep[i]) - 1] == '/')
			e->ep[i][strlen(e->ep[i]) - 1] = '\0';
	}
	e->nep = n;
	if (tls != NULL) {
		e->ca_bundle = dupnull(tls->ca_bundle);
		e->client_cert = dupnull(tls->client_cert);
		e->client_key = dupnull(tls->client_key);
	}
	TAILQ_INIT(&e->calls);
	LIST_INIT(&e->watches);
	LIST_INIT(&e->keepers);
	return e;
}

const char *
etcd_endpoint(const struct etcd *e)
{
	return e->ep[e->cur];
}

static void
http_opts_fill(const struct etcd *e, struct http_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ca_bundle = e->ca_bundle;
	o->client_cert = e->client_cert;
	o->client_key = e->client_key;
	o->content_type = "application/json";
	o->timeout_ms = ETCD_TIMEOUT_MS;
	o->connect_timeout_ms = ETCD_CONNECT_MS;
	o->max_body = 64 * 1024 * 1024;
}

/* Moves the client off endpoint i (unless another call already did). */
static void
endpoint_failed(struct etcd *e, size_t i)
{
	if (e->cur == i)
		e->cur = (i + 1) % e->nep;
}

static void	call_http_cb(const struct http_response *, void *);

static int
call_send(struct etcd_call *c)
{
	struct etcd	*e = c->e;
	struct http_opts o;
	char		 url[1024];

	http_opts_fill(e, &o);
	snprintf(url, sizeof(url), "%s%s", e->ep[e->cur], c->path);
	c->req = http_request(e->http, "POST", url, c->body, strlen(c->body),
	    &o, call_http_cb, c);
	return c->req != NULL ? 0 : -1;
}

static void
call_free(struct etcd_call *c)
{
	TAILQ_REMOVE(&c->e->calls, c, entry);
	free(c->body);
	free(c);
}

/* Runs c's callback with r and frees c. */
static void
call_finish(struct etcd_call *c, struct etcd_reply *r)
{
	etcd_cb	 cb = c->cb;
	void	*arg = c->arg;

	if (r->status != ETCD_OK)
		log_debug("etcd: %s: %s", c->path, r->error);
	call_free(c);
	cb(r, arg);
}

/*
 * Decides what a non-200 answer means: ETCD_COMPACTED, or a member that
 * cannot serve (503, gRPC Unavailable 14 or DeadlineExceeded 4) - returns 1
 * then - or a refusal (ETCD_ERROR, its message in msg).
 */
static int
error_reply(const struct http_response *resp, char *msg, size_t msz,
    enum etcd_status *st)
{
	int		 code = -1, rc = 0;

	etcd_error_fields(resp->body, resp->body_len, &code, msg, msz);
	if (code == 11 && strstr(msg, "compacted") != NULL)
		*st = ETCD_COMPACTED;
	else if (resp->status == 503 || code == 14 || code == 4)
		rc = 1;
	else
		*st = ETCD_ERROR;
	return rc;
}

/*
 * CURLOPT-level completion of one try: finish the call, or send it to the
 * next endpoint.
 */
static void
call_http_cb(const struct http_response *resp, void *arg)
{
	struct etcd_call	*c = arg;
	struct etcd		*e = c->e;
	struct etcd_reply	 r;
	const char		*why;
	char			 err[1024], msg[512];
	size_t			 at = e->cur;
	int			 unavailable = 0;

	c->req = NULL;
	memset(&r, 0, sizeof(r));
	r.status = ETCD_UNAVAILABLE;
	r.endpoint = e->ep[at];
	r.error = err;
	if (resp->error != NULL) {
		snprintf(err, sizeof(err), "etcd %s: %s", e->ep[at], resp->error);
		unavailable = 1;
		if (c->write && !resp->not_sent)
			r.status = ETCD_UNKNOWN;
	} else if (resp->status != 200) {
		unavailable = error_reply(resp, msg, sizeof(msg), &r.status);
		snprintf(err, sizeof(err), "etcd %s: %ld %s", e->ep[at],
		    resp->status, msg);
		if (unavailable && c->write)
			r.status = ETCD_UNKNOWN;
	} else if (etcd_parse_reply(c->kind, resp->body, resp->body_len, &r,
	    &why) == -1) {
		snprintf(err, sizeof(err), "etcd %s%s: %s", e->ep[at], c->path, why);
		r.status = ETCD_ERROR;
	} else {
		r.status = ETCD_OK;
		r.error = NULL;
	}
	if (unavailable)
		endpoint_failed(e, at);
	if (unavailable && r.status != ETCD_UNKNOWN) {
		if (++c->tries < e->nep && call_send(c) == 0)
			return;
		r.status = ETCD_UNAVAILABLE;
	}
	call_finish(c, &r);
	etcd_reply_clear(&r);
}

/* Starts a call; body is taken. Returns the handle, or NULL (logged). */
static struct etcd_call *
call_start(struct etcd *e, const char *kind, const char *path, char *body,
    int write, etcd_cb cb, void *arg)
{
	struct etcd_call *c;

	if (body == NULL) {
		log_err("etcd: %s: invalid request", path);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->e = e;
	c->kind = kind;
	c->path = path;
	c->body = body;
	c->write = write;
	c->cb = cb;
	c->arg = arg;
	TAILQ_INSERT_TAIL(&e->calls, c, entry);
	if (call_send(c) == -1) {
		log_err("etcd %s%s: cannot start the request", e->ep[e->cur], path);
		call_free(c);
		return NULL;
	}
	return c;
}

struct etcd_call *
etcd_range(struct etcd *e, const char *key, const char *end, int64_t rev,
    int serializable, etcd_cb cb, void *arg)
{
	return call_start(e, "range", "/v3/kv/range",
	    etcd_format_range(key, end, rev, serializable), 0, cb, arg);
}

struct etcd_call *
etcd_put(struct etcd *e, const char *key, const unsigned char *value,
    size_t len, int64_t lease, etcd_cb cb, void *arg)
{
	return call_start(e, "put", "/v3/kv/put",
	    etcd_format_put(key, value, len, lease), 1, cb, arg);
}

struct etcd_call *
etcd_delete(struct etcd *e, const char *key, const char *end, etcd_cb cb,
    void *arg)
{
	return call_start(e, "delete", "/v3/kv/deleterange",
	    etcd_format_delete(key, end), 1, cb, arg);
}

struct etcd_call *
etcd_txn(struct etcd *e, const struct etcd_cmp *cmps, size_t ncmps,
    const struct etcd_op *succ, size_t nsucc, const struct etcd_op *fail,
    size_t nfail, etcd_cb cb, void *arg)
{
	return call_start(e, "txn", "/v3/kv/txn", etcd_format_txn(cmps, ncmps,
	    succ, nsucc, fail, nfail), 1, cb, arg);
}

/* The lease calls: one int64 field each. */
static struct etcd_call *
lease_call(struct etcd *e, const char *kind, const char *field, int64_t v,
    int write, etcd_cb cb, void *arg)
{
	const char *path = strcmp(kind, "grant") == 0 ? "/v3/lease/grant" :
	    strcmp(kind, "revoke") == 0 ? "/v3/lease/revoke" :
	    "/v3/lease/keepalive";

	return call_start(e, kind, path, etcd_format_lease(field, v), write,
	    cb, arg);
}

struct etcd_call *
etcd_lease_grant(struct etcd *e, int64_t ttl, etcd_cb cb, void *arg)
{
	return lease_call(e, "grant", "TTL", ttl, 1, cb, arg);
}

struct etcd_call *
etcd_lease_revoke(struct etcd *e, int64_t id, etcd_cb cb, void *arg)
{
	return lease_call(e, "revoke", "ID", id, 1, cb, arg);
}

/* idempotent: failed over like a read */
struct etcd_call *
etcd_lease_keepalive(struct etcd *e, int64_t id, etcd_cb cb, void *arg)
{
	return lease_call(e, "keepalive", "ID", id, 0, cb, arg);
}

struct etcd_call *
etcd_compact(struct etcd *e, int64_t rev, etcd_cb cb, void *arg)
{
	return call_start(e, "compact", "/v3/kv/compaction",
	    etcd_format_compact(rev), 1, cb, arg);
}

void
etcd_cancel(struct etcd_call *c)
{
	if (c == NULL)
		return;
	http_cancel(c->req);
	call_free(c);
}

/* ---- lease keeper ---- */

double
etcd_secs_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
keeper_lose(struct etcd_keeper *k, const char *why)
{
	log_warn("etcd: lease %" PRId64 " lost: %s", k->id, why);
	k->stopped = 1;
	evtimer_del(k->timer);
	k->lost(k->id, why, k->arg);
}

static void
keeper_done(const struct etcd_reply *r, void *arg)
{
	struct etcd_keeper *k = arg;

	k->call = NULL;
	if (r->status == ETCD_OK && r->ttl > 0)
		clock_gettime(CLOCK_MONOTONIC, &k->last_ok);
	else if (r->status == ETCD_OK || r->status == ETCD_ERROR)
		keeper_lose(k, r->status == ETCD_OK ?
		    "etcd says it has expired" : r->error);
	else if (etcd_secs_since(&k->last_ok) >= (double)k->ttl)
		keeper_lose(k, "no renewal succeeded for its whole TTL");
}

static void
keeper_tick(evutil_socket_t fd, short what, void *arg)
{
	struct etcd_keeper *k = arg;

	(void)fd;
	(void)what;
	if (k->stopped)
		return;
	/* a renewal stuck on stalled members must not delay the verdict */
	if (k->call != NULL && etcd_secs_since(&k->last_ok) >= (double)k->ttl) {
		etcd_cancel(k->call);
		k->call = NULL;
		keeper_lose(k, "no renewal succeeded for its whole TTL");
		return;
	}
	if (k->call == NULL)
		k->call = etcd_lease_keepalive(k->e, k->id, keeper_done, k);
}

struct etcd_keeper *
etcd_keeper_start(struct etcd *e, int64_t id, int64_t ttl, etcd_lost_cb lost,
    void *arg)
{
	struct etcd_keeper	*k;
	struct timeval		 tv;
	long			 ms = ttl > 0 ? (long)(ttl * 1000 / 3) : 0;

	if (ms < 100)		/* a TTL etcd would not grant: renew often */
		ms = 100;
	k = xcalloc(1, sizeof(*k));
	k->e = e;
	k->id = id;
	k->ttl = ttl;
	k->lost = lost;
	k->arg = arg;
	clock_gettime(CLOCK_MONOTONIC, &k->last_ok);
	k->timer = event_new(e->base, -1, EV_PERSIST, keeper_tick, k);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(k->timer, &tv);
	LIST_INSERT_HEAD(&e->keepers, k, entry);
	return k;
}

void
etcd_keeper_stop(struct etcd_keeper *k)
{
	if (k == NULL)
		return;
	etcd_cancel(k->call);
	event_free(k->timer);
	LIST_REMOVE(k, entry);
	free(k);
}

/* ---- watch ---- */

static void	watch_connect(struct etcd_watch *);

static void
watch_free(struct etcd_watch *w)
{
	http_cancel(w->req);
	event_free(w->deliver);
	event_free(w->retry);
	LIST_REMOVE(w, entry);
	free(w->buf);
	free(w->key);
	free(w->end);
	free(w);
}

/* CURLOPT_WRITEFUNCTION of a watch, through http.c: keep, parse later. */
static int
watch_data(const char *data, size_t n, void *arg)
{
	struct etcd_watch	*w = arg;
	size_t			 ncap;

	if (n > ETCD_WATCH_MAX_LINE - w->len) {
		w->overflow = 1;
		return -1;
	}
	if (w->len + n + 1 > w->cap) {
		for (ncap = w->cap < 4096 ? 4096 : w->cap; ncap < w->len + n + 1;)
			ncap *= 2;
		w->buf = xreallocarray(w->buf, 1, ncap);
		w->cap = ncap;
	}
	memcpy(w->buf + w->len, data, n);
	w->len += n;
	event_active(w->deliver, EV_READ, 0);
	return 0;
}

static void
watch_schedule(struct etcd_watch *w)
{
	struct timeval tv;

	http_cancel(w->req);
	w->req = NULL;
	w->len = 0;
	tv.tv_sec = w->retry_ms / 1000;
	tv.tv_usec = (w->retry_ms % 1000) * 1000;
	evtimer_add(w->retry, &tv);
	w->retry_ms = w->retry_ms * 2 > ETCD_WATCH_RETRY_MAX_MS ?
	    ETCD_WATCH_RETRY_MAX_MS : w->retry_ms * 2;
}

/* Hands one event to the caller. Returns -1 if the watch is gone or stopped. */
static int
watch_emit(struct etcd_watch *w, const struct etcd_event *ev)
{
	w->in_cb++;
	w->cb(w, ev, w->arg);
	w->in_cb--;
	if (w->dead) {
		if (w->in_cb == 0)
			watch_free(w);
		return -1;
	}
	return w->stopped ? -1 : 0;
}

/* Acts on one message. Returns 0 to go on, 1 to reconnect, -1 to stop reading. */
static int
watch_message(struct etcd_watch *w, const struct etcd_watch_msg *m)
{
	struct etcd_event	 ev;
	int64_t			 start;
	size_t			 i;

	if (m->compact_revision > 0) {
		log_info("etcd: watch of %s: revision %" PRId64 " compacted "
		    "(oldest is %" PRId64 "): re-read", w->key, w->next,
		    m->compact_revision);
		w->stopped = 1;
		http_cancel(w->req);
		w->req = NULL;
		memset(&ev, 0, sizeof(ev));
		ev.type = ETCD_EV_COMPACTED;
		ev.compact_revision = m->compact_revision;
		watch_emit(w, &ev);
		return -1;
	}
	if (m->canceled)
		return 1;
	if (m->created) {
		w->retry_ms = ETCD_WATCH_RETRY_MS;
		if (w->next == 0)
			w->next = m->revision + 1;
	}
	/*
	 * One revision may hold many events (a transaction's writes, every
	 * key of an expired lease): all come in one message, so what was
	 * delivered before a reconnect is judged against where the message
	 * started, not against the event just delivered.
	 */
	start = w->next;
	for (i = 0; i < m->nevents; i++) {
		if (m->kvs[i].mod_revision < start)
			continue;	/* already delivered before a reconnect */
		w->next = m->kvs[i].mod_revision + 1;
		if (watch_emit(w, &m->events[i]) == -1)
			return -1;
	}
	return 0;
}

/*
 * Parses and delivers every whole line in buf. Returns -1 if the watch is
 * gone or stopped, 1 if it must reconnect, else 0.
 */
static int
watch_drain(struct etcd_watch *w)
{
	struct etcd_watch_msg	 m;
	const char		*why;
	char			*nl;
	size_t			 ll;
	int			 rc = 0;

	while (rc == 0 && (nl = memchr(w->buf, '\n', w->len)) != NULL) {
		ll = (size_t)(nl - w->buf);
		if (etcd_parse_watch(w->buf, ll, &m, &why) == -1) {
			log_warn("etcd %s: watch of %s: %s: %.*s",
			    w->e->ep[w->at], w->key, why,
			    (int)(ll > 200 ? 200 : ll), w->buf);
			rc = 1;
		} else
			rc = watch_message(w, &m);
		etcd_watch_msg_clear(&m);
		if (rc == -1)
			return -1;
		memmove(w->buf, nl + 1, w->len - ll - 1);
		w->len -= ll + 1;
	}
	return rc;
}

static void
watch_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct etcd_watch *w = arg;

	(void)fd;
	(void)what;
	if (watch_drain(w) == 1) {
		endpoint_failed(w->e, w->at);
		watch_schedule(w);
	}
}

/* The stream ended: deliver what came, then resume elsewhere. */
static void
watch_http_cb(const struct http_response *resp, void *arg)
{
	struct etcd_watch *w = arg;

	w->req = NULL;
	event_del(w->deliver);
	if (resp->error != NULL || resp->status != 200)
		log_info("etcd %s: watch of %s ended: %s%ld", w->e->ep[w->at],
		    w->key, resp->error != NULL ? resp->error : "HTTP ",
		    resp->status);
	if (!w->overflow && w->len > 0 && w->buf[w->len - 1] != '\n' &&
	    w->len < w->cap) {
		w->buf[w->len] = '\n';	/* a last line without its newline */
		w->len++;
	}
	if (watch_drain(w) == -1)
		return;
	endpoint_failed(w->e, w->at);
	watch_schedule(w);
}

static void
watch_connect(struct etcd_watch *w)
{
	struct http_opts	 o;
	char			 url[1024], *body;

	http_opts_fill(w->e, &o);
	o.timeout_ms = 0;
	o.on_data = watch_data;
	w->len = 0;
	w->overflow = 0;
	body = etcd_format_watch(w->key, w->end, w->next);
	w->at = w->e->cur;
	snprintf(url, sizeof(url), "%s/v3/watch", w->e->ep[w->at]);
	w->req = http_request(w->e->http, "POST", url, body, strlen(body), &o,
	    watch_http_cb, w);
	free(body);
	if (w->req == NULL)
		watch_schedule(w);
}

static void
watch_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	watch_connect(arg);
}

struct etcd_watch *
etcd_watch(struct etcd *e, const char *key, const char *end, int64_t start,
    etcd_watch_cb cb, void *arg)
{
	struct etcd_watch *w;

	w = xcalloc(1, sizeof(*w));
	w->e = e;
	w->key = xstrdup(key);
	w->end = end == NULL ? NULL : end[0] == '\0' ? xcalloc(1, 1) :
	    xstrdup(end);
	w->next = start;
	w->cb = cb;
	w->arg = arg;
	w->retry_ms = ETCD_WATCH_RETRY_MS;
	w->deliver = event_new(e->base, -1, 0, watch_deliver_cb, w);
	w->retry = evtimer_new(e->base, watch_retry_cb, w);
	LIST_INSERT_HEAD(&e->watches, w, entry);
	watch_connect(w);
	return w;
}

void
etcd_watch_restart(struct etcd_watch *w, int64_t start)
{
	http_cancel(w->req);
	w->req = NULL;
	event_del(w->deliver);
	evtimer_del(w->retry);
	w->stopped = 0;
	w->next = start;
	watch_connect(w);
}

const char *
etcd_watch_endpoint(const struct etcd_watch *w)
{
	return w->e->ep[w->at];
}

int64_t
etcd_watch_next(const struct etcd_watch *w)
{
	return w->next;
}

void
etcd_watch_cancel(struct etcd_watch *w)
{
	if (w == NULL)
		return;
	if (w->in_cb > 0) {
		w->dead = 1;
		return;
	}
	watch_free(w);
}

void
etcd_free(struct etcd *e)
{
	size_t i;

	if (e == NULL)
		return;
	while (!TAILQ_EMPTY(&e->calls))
		etcd_cancel(TAILQ_FIRST(&e->calls));
	while (!LIST_EMPTY(&e->watches))
		watch_free(LIST_FIRST(&e->watches));
	while (!LIST_EMPTY(&e->keepers))
		etcd_keeper_stop(LIST_FIRST(&e->keepers));
	for (i = 0; i < e->nep; i++)
		free(e->ep[i]);
	free(e->ep);
	free(e->ca_bundle);
	free(e->client_cert);
	free(e->client_key);
	free(e);
}
