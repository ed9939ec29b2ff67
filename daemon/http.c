/* http.c - asynchronous HTTP client: libcurl multi driven by libevent */
#include "config.h"

#include <sys/queue.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "http.h"
#include "log.h"
#include "xmalloc.h"

/*
 * The wiring is curl's hiperfifo/multi-event: one multi handle per client
 * (so its connection cache gives keep-alive and HTTP/2 reuse across
 * requests), one libevent timer for curl's timeouts, one event per socket
 * bound to curl with curl_multi_assign.  After every socket_action we drain
 * curl_multi_info_read and complete finished requests one by one.
 */

#define HTTP_MAX_HEADER_BYTES	(64 * 1024)	/* all response headers together */
#define HTTP_MAX_HOST_CONNS	8L

/*
 * One event per direction: a change of what curl wants then costs one
 * epoll_ctl(MOD) instead of a DEL and an ADD, and a repeat costs nothing.
 */
struct http_sock {
	struct http_client	*client;
	curl_socket_t		 fd;
	struct event		*rev;	/* pending while curl wants to read */
	struct event		*wev;	/* pending while curl wants to write */
	LIST_ENTRY(http_sock)	 entry;
};

struct http_req {
	struct http_client	*client;
	TAILQ_ENTRY(http_req)	 entry;
	CURL			*easy;
	struct curl_slist	*hdrs;
	char			*method;
	char			*url;
	char			*reqbody;
	http_cb			 cb;
	int			(*on_data)(const char *, size_t, void *);
	void			*arg;
	long			 timeout_ms;
	size_t			 max_body;
	int			 in_cb;		/* its callback is running */
	int			 overflow;	/* body went over max_body */
	int			 hdr_overflow;	/* headers went over the limit */
	struct timespec		 start;

	char			*buf;		/* response body, NUL-terminated */
	size_t			 len;
	size_t			 cap;
	size_t			 hdr_bytes;

	char			*location;
	char			*replay_nonce;
	char			*retry_after;
	char			*content_type;
	char			**links;
	size_t			 nlinks;

	char			 errbuf[CURL_ERROR_SIZE];
};

struct http_client {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	char			*user_agent;
	TAILQ_HEAD(, http_req)	 reqs;
	LIST_HEAD(, http_sock)	 socks;
	size_t			 npending;
	int			 busy;		/* inside check_done */
	int			 dying;		/* http_client_free called while busy */
};

/*
 * curl_global_init is not thread-safe in libcurl < 7.84, so it must run
 * before any thread starts: main() creates its http client (or calls
 * http_client_new once) before spawning workers.  pthread_once keeps the
 * call single even with several clients.  These two are process-wide
 * (docs/DESIGN.md lists renewd's globals).
 */
static pthread_once_t	 http_once = PTHREAD_ONCE_INIT;
static CURLcode		 http_global_rc = CURLE_FAILED_INIT;

/* curl allocates through xmalloc.h too: its out of memory aborts like ours. */
static void
http_global_init(void)
{
	http_global_rc = curl_global_init_mem(CURL_GLOBAL_DEFAULT, xmalloc_hook,
	    free, xrealloc_hook, xstrdup_hook, xcalloc_hook);
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

static void
req_clear_headers(struct http_req *r)
{
	size_t i;

	free(r->location);
	free(r->replay_nonce);
	free(r->retry_after);
	free(r->content_type);
	for (i = 0; i < r->nlinks; i++)
		free(r->links[i]);
	free(r->links);
	r->location = r->replay_nonce = r->retry_after = r->content_type = NULL;
	r->links = NULL;
	r->nlinks = 0;
}

static void
req_free(struct http_req *r)
{
	if (r == NULL)
		return;
	if (r->easy != NULL)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	req_clear_headers(r);
	free(r->buf);
	free(r->reqbody);
	free(r->url);
	free(r->method);
	free(r);
}

/* Detaches r from its client: off the multi handle and off the list. */
static void
req_detach(struct http_req *r)
{
	struct http_client *c = r->client;

	curl_multi_remove_handle(c->multi, r->easy);
	TAILQ_REMOVE(&c->reqs, r, entry);
	c->npending--;
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_req	*r = arg;
	size_t		 n = size * nmemb, ncap;

	if (r->on_data != NULL)
		return r->on_data(data, n, r->arg) == 0 ? n : 0;
	if (n > r->max_body - r->len) {
		/* a short count makes curl abort this transfer only */
		r->overflow = 1;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		ncap = r->cap < 4096 ? 4096 : r->cap;
		while (ncap < r->len + n + 1)
			ncap *= 2;
		if (ncap > r->max_body + 1)
			ncap = r->max_body + 1;
		r->buf = xreallocarray(r->buf, 1, ncap);
		r->cap = ncap;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	r->buf[r->len] = '\0';
	return n;
}

/* Stores a copy of the trimmed value into *slot, replacing what was there. */
static void
set_header(char **slot, const char *v, size_t vlen)
{
	free(*slot);
	*slot = xstrndup(v, vlen);
}

static void
add_link(struct http_req *r, const char *v, size_t vlen)
{
	r->links = xreallocarray(r->links, r->nlinks + 1, sizeof(*r->links));
	r->links[r->nlinks++] = xstrndup(v, vlen);
}

static size_t
header_cb(char *data, size_t size, size_t nitems, void *arg)
{
	struct http_req	*r = arg;
	size_t		 n = size * nitems, namelen, vlen;
	const char	*colon, *v;

	r->hdr_bytes += n;
	if (r->hdr_bytes > HTTP_MAX_HEADER_BYTES) {
		r->hdr_overflow = 1;
		return 0;
	}
	/* A status line starts a new response (after 1xx): forget the old one. */
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		req_clear_headers(r);
		return n;
	}
	if ((colon = memchr(data, ':', n)) == NULL)
		return n;
	namelen = (size_t)(colon - data);
	v = colon + 1;
	vlen = n - namelen - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
	    v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;

	/*
	 * "Replay-Nonce:" with nothing after it is no nonce: passing "" on
	 * would have the caller send an empty nonce, or follow an empty
	 * Location, instead of seeing that the CA gave none.
	 */
	if (vlen == 0)
		return n;

#define IS(name) (namelen == sizeof(name) - 1 && \
	strncasecmp(data, name, namelen) == 0)
	if (IS("Replay-Nonce"))
		set_header(&r->replay_nonce, v, vlen);
	else if (IS("Location"))
		set_header(&r->location, v, vlen);
	else if (IS("Retry-After"))
		set_header(&r->retry_after, v, vlen);
	else if (IS("Content-Type"))
		set_header(&r->content_type, v, vlen);
	else if (IS("Link"))
		add_link(r, v, vlen);
#undef IS
	return n;
}

/* Runs r's callback with what curl gave us, then frees r. */
static void
req_complete(struct http_req *r, CURLcode result)
{
	struct http_response	 resp;
	char			 err[CURL_ERROR_SIZE + 64];
	long			 status = 0;

	req_detach(r);
	memset(&resp, 0, sizeof(resp));
	resp.url = r->url;
	if (r->overflow || result == CURLE_FILESIZE_EXCEEDED) {
		snprintf(err, sizeof(err), "response body exceeds %zu bytes",
		    r->max_body);
		resp.error = err;
	} else if (r->hdr_overflow) {
		snprintf(err, sizeof(err), "response headers exceed %d bytes",
		    HTTP_MAX_HEADER_BYTES);
		resp.error = err;
	} else if (result == CURLE_OPERATION_TIMEDOUT) {
		snprintf(err, sizeof(err), "timed out after %ld ms",
		    r->timeout_ms);
		resp.error = err;
	} else if (result == CURLE_OUT_OF_MEMORY && r->errbuf[0] == '\0') {
		/*
		 * What curl < 8.6 says, without a message, when one header
		 * line outgrows its 100 KiB buffer: our limit only sees whole
		 * lines. Real exhaustion aborts in xmalloc.c instead.
		 */
		snprintf(err, sizeof(err), "response header line too long");
		resp.error = err;
	} else if (result != CURLE_OK) {
		snprintf(err, sizeof(err), "%s", r->errbuf[0] != '\0' ?
		    r->errbuf : curl_easy_strerror(result));
		resp.error = err;
	} else
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	resp.status = resp.error == NULL ? status : 0;
	if (result != CURLE_OK) {
		long sent = 0;

		/* counts the request bytes written, on a reused connection too */
		curl_easy_getinfo(r->easy, CURLINFO_REQUEST_SIZE, &sent);
		resp.not_sent = sent == 0;
	}
	/* a failed transfer has no body worth reading, only a partial one */
	if (resp.error != NULL)
		r->len = 0;
	resp.body = r->buf != NULL ? r->buf : "";
	if (r->buf != NULL)
		r->buf[r->len] = '\0';
	resp.body_len = r->len;
	resp.location = r->location;
	resp.replay_nonce = r->replay_nonce;
	resp.retry_after = r->retry_after;
	resp.content_type = r->content_type;
	resp.links = (const char **)r->links;
	resp.nlinks = r->nlinks;

	if (log_enabled(LOG_LVL_DEBUG))
		log_debug("http: %s %s: %ld, %zu bytes, %.0f ms%s%s", r->method,
		    r->url, resp.status, r->len, ms_since(&r->start),
		    resp.error != NULL ? ": " : "",
		    resp.error != NULL ? resp.error : "");

	/* r is off the multi and the list: the callback may do anything. */
	r->in_cb = 1;
	r->cb(&resp, r->arg);
	req_free(r);
}

static void	client_destroy(struct http_client *);

static void
check_done(struct http_client *c)
{
	CURLMsg		*msg;
	struct http_req	*r;
	char		*priv;
	int		 left;

	c->busy++;
	while (!c->dying && (msg = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		if ((r = (struct http_req *)priv) == NULL)
			continue;
		req_complete(r, msg->data.result);
	}
	c->busy--;
	if (c->dying && c->busy == 0)
		client_destroy(c);
}

static void
sock_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_sock	*s = arg;
	struct http_client	*c = s->client;	/* s may be gone after the action */
	int			 flags = 0, running;
	CURLMcode		 mc;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	mc = curl_multi_socket_action(c->multi, fd, flags, &running);
	if (mc != CURLM_OK)
		log_err("http: curl_multi_socket_action: %s",
		    curl_multi_strerror(mc));
	check_done(c);
}

static void
timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_client	*c = arg;
	int			 running;
	CURLMcode		 mc;

	(void)fd;
	(void)what;
	mc = curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	if (mc != CURLM_OK)
		log_err("http: curl_multi_socket_action (timeout): %s",
		    curl_multi_strerror(mc));
	check_done(c);
}

static void
sock_free(struct http_sock *s)
{
	if (s == NULL)
		return;
	LIST_REMOVE(s, entry);
	event_free(s->rev);
	event_free(s->wev);
	free(s);
}

/* Adds or deletes ev so that it is pending exactly when want says. */
static int
sock_watch(struct event *ev, int want)
{
	int		 have;

	have = event_pending(ev, EV_READ | EV_WRITE, NULL) != 0;
	if (want && !have)
		return event_add(ev, NULL);
	if (!want && have)
		return event_del(ev);
	return 0;
}

/*
 * CURLMOPT_SOCKETFUNCTION: keep the socket's events in step. curl calls it
 * again with unchanged wishes, e.g. for each transfer on a multiplexed
 * connection; only real changes reach epoll.
 */
static int
multi_sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
    void *socketp)
{
	struct http_client	*c = userp;
	struct http_sock	*s = socketp;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		sock_free(s);
		return 0;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->client = c;
		s->fd = fd;
		s->rev = event_new(c->base, fd, EV_READ | EV_PERSIST,
		    sock_event_cb, s);
		s->wev = event_new(c->base, fd, EV_WRITE | EV_PERSIST,
		    sock_event_cb, s);
		LIST_INSERT_HEAD(&c->socks, s, entry);
		curl_multi_assign(c->multi, fd, s);
	}
	if (sock_watch(s->rev, what & CURL_POLL_IN) == -1 ||
	    sock_watch(s->wev, what & CURL_POLL_OUT) == -1) {
		log_err("http: socket %d: cannot watch it with libevent", (int)fd);
		return -1;
	}
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: only arm the timer; never act from in here. */
static int
multi_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client	*c = userp;
	struct timeval		 tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(c->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(c->timer, &tv) == 0 ? 0 : -1;
}

struct http_client *
http_client_new(struct event_base *base, const char *user_agent)
{
	struct http_client	*c = NULL, *ret = NULL;
	CURLMcode		 mc = CURLM_OK;

	pthread_once(&http_once, http_global_init);
	if (http_global_rc != CURLE_OK) {
		log_err("http: curl_global_init: %s",
		    curl_easy_strerror(http_global_rc));
		goto out;
	}
	c = xcalloc(1, sizeof(*c));
	c->base = base;
	TAILQ_INIT(&c->reqs);
	LIST_INIT(&c->socks);
	c->user_agent = xstrdup(user_agent != NULL ? user_agent :
	    PACKAGE_NAME "/" PACKAGE_VERSION);
	c->timer = evtimer_new(base, timer_event_cb, c);
	if ((c->multi = curl_multi_init()) == NULL) {
		log_err("http: curl_multi_init failed");
		goto out;
	}
#define MSET(opt, val) do { if (mc == CURLM_OK) \
	mc = curl_multi_setopt(c->multi, opt, val); } while (0)
	MSET(CURLMOPT_SOCKETFUNCTION, multi_sock_cb);
	MSET(CURLMOPT_SOCKETDATA, c);
	MSET(CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	MSET(CURLMOPT_TIMERDATA, c);
	MSET(CURLMOPT_MAX_HOST_CONNECTIONS, HTTP_MAX_HOST_CONNS);
	MSET(CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
#undef MSET
	if (mc != CURLM_OK) {
		log_err("http: curl_multi_setopt: %s", curl_multi_strerror(mc));
		goto out;
	}
	ret = c;
	c = NULL;
 out:
	if (c != NULL)
		client_destroy(c);
	return ret;
}

static void
client_destroy(struct http_client *c)
{
	struct http_req	*r;

	while ((r = TAILQ_FIRST(&c->reqs)) != NULL) {
		req_detach(r);
		req_free(r);
	}
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	/* sockets curl did not report removed before cleanup */
	while (!LIST_EMPTY(&c->socks))
		sock_free(LIST_FIRST(&c->socks));
	event_free(c->timer);
	free(c->user_agent);
	free(c);
}

void
http_client_free(struct http_client *c)
{
	struct http_req *r;

	if (c == NULL)
		return;
	if (c->busy) {
		/* called from a callback: cancel now, free when check_done unwinds */
		while ((r = TAILQ_FIRST(&c->reqs)) != NULL) {
			req_detach(r);
			req_free(r);
		}
		c->dying = 1;
		return;
	}
	client_destroy(c);
}

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_POST };

/* Returns the method named m, or -1 if it is none we speak. */
static int
method_parse(const char *m)
{
	if (strcmp(m, "GET") == 0)
		return HTTP_GET;
	if (strcmp(m, "HEAD") == 0)
		return HTTP_HEAD;
	if (strcmp(m, "POST") == 0)
		return HTTP_POST;
	return -1;
}

/* Returns a request owning copies of all curl reads after http_request returns. */
static struct http_req *
req_new(struct http_client *c, enum http_method m, const char *method,
    const char *url, const char *body, size_t body_len,
    const struct http_opts *opts)
{
	struct http_req	*r;

	r = xcalloc(1, sizeof(*r));
	r->client = c;
	r->url = xstrdup(url);
	r->method = xstrdup(method);
	r->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms :
	    opts->on_data != NULL ? 0 : HTTP_DEFAULT_TIMEOUT_MS;
	r->on_data = opts->on_data;
	r->max_body = opts->max_body > 0 ? opts->max_body : HTTP_DEFAULT_MAX_BODY;
	if (r->max_body > SIZE_MAX / 4)		/* keeps buffer arithmetic safe */
		r->max_body = SIZE_MAX / 4;
	if (m == HTTP_POST) {
		/* our own copy: the caller's buffer may go away before curl sends */
		r->reqbody = xmalloc(body_len + 1);
		if (body_len > 0)
			memcpy(r->reqbody, body, body_len);
		r->reqbody[body_len] = '\0';
	}
	return r;
}

/* Builds CURLOPT_HTTPHEADER's list. Returns 0, or -1 (logged). */
static int
req_headers(struct http_req *r, const char *content_type)
{
	char	ct[512];

	/* curl would wait up to 1 s for "100 Continue" on large bodies */
	r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	if (content_type == NULL)
		return 0;
	if ((size_t)snprintf(ct, sizeof(ct), "Content-Type: %s",
	    content_type) >= sizeof(ct)) {
		log_err("http: %s: content type too long", r->url);
		return -1;
	}
	r->hdrs = curl_slist_append(r->hdrs, ct);
	return 0;
}

/* Makes r's easy handle and sets its options. Returns 0, or -1 (logged). */
static int
req_setopts(struct http_req *r, enum http_method m, size_t body_len,
    const struct http_opts *o)
{
	const char	*protos = o->https_only ? "https" : "http,https";
	long		 pbits = o->https_only ? CURLPROTO_HTTPS :
			    (CURLPROTO_HTTP | CURLPROTO_HTTPS);

	CURLcode	ce = CURLE_OK;

	if ((r->easy = curl_easy_init()) == NULL) {
		log_err("http: %s: curl_easy_init failed", r->url);
		return -1;
	}
#define SET(opt, val) do { if (ce == CURLE_OK) \
	ce = curl_easy_setopt(r->easy, opt, val); } while (0)
	SET(CURLOPT_ERRORBUFFER, r->errbuf);
	SET(CURLOPT_URL, r->url);
	SET(CURLOPT_PRIVATE, (char *)r);
	SET(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500	/* 7.85.0 */
	SET(CURLOPT_PROTOCOLS_STR, protos);
	SET(CURLOPT_REDIR_PROTOCOLS_STR, protos);
	(void)pbits;
#else
	SET(CURLOPT_PROTOCOLS, pbits);
	SET(CURLOPT_REDIR_PROTOCOLS, pbits);
	(void)protos;
#endif
	/* ACME says where to go next in Location; the caller decides. */
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_bundle != NULL)
		SET(CURLOPT_CAINFO, o->ca_bundle);
	if (o->client_cert != NULL)
		SET(CURLOPT_SSLCERT, o->client_cert);
	if (o->client_key != NULL)
		SET(CURLOPT_SSLKEY, o->client_key);
	if (o->connect_timeout_ms > 0)
		SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
	SET(CURLOPT_USERAGENT, r->client->user_agent);
	SET(CURLOPT_TIMEOUT_MS, r->timeout_ms);
	/* refuses early when Content-Length already says it is too big */
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_body);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, r);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, r);
	SET(CURLOPT_HTTPHEADER, r->hdrs);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	if (m == HTTP_POST) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		SET(CURLOPT_POSTFIELDS, r->reqbody);
	} else if (m == HTTP_HEAD)
		SET(CURLOPT_NOBODY, 1L);
	else
		SET(CURLOPT_HTTPGET, 1L);
#undef SET
	if (ce != CURLE_OK) {
		log_err("http: %s: curl_easy_setopt: %s", r->url,
		    curl_easy_strerror(ce));
		return -1;
	}
	return 0;
}

struct http_req *
http_request(struct http_client *c, const char *method, const char *url,
    const char *body, size_t body_len, const struct http_opts *opts,
    http_cb cb, void *arg)
{
	static const struct http_opts defaults;
	struct http_req		*r = NULL, *ret = NULL;
	CURLMcode		 mc;
	int			 m;

	if (opts == NULL)
		opts = &defaults;
	if (c == NULL || c->dying || url == NULL || cb == NULL || method == NULL)
		goto out;
	if ((m = method_parse(method)) == -1) {
		log_err("http: %s: unsupported method %s", url, method);
		goto out;
	}
	r = req_new(c, m, method, url, body, body_len, opts);
	r->cb = cb;
	r->arg = arg;
	if (req_headers(r, opts->content_type) == -1 ||
	    req_setopts(r, m, body_len, opts) == -1)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	/* arms our timer at 0 through multi_timer_cb; the loop starts it */
	if ((mc = curl_multi_add_handle(c->multi, r->easy)) != CURLM_OK) {
		log_err("http: %s: curl_multi_add_handle: %s", url,
		    curl_multi_strerror(mc));
		goto out;
	}
	TAILQ_INSERT_TAIL(&c->reqs, r, entry);
	c->npending++;
	ret = r;
	r = NULL;
 out:
	req_free(r);
	return ret;
}

void
http_cancel(struct http_req *r)
{
	if (r == NULL)
		return;
	/* from inside its own callback: it is freed when the callback returns */
	if (r->in_cb)
		return;
	log_debug("http: %s %s: cancelled after %.0f ms", r->method, r->url,
	    ms_since(&r->start));
	req_detach(r);
	req_free(r);
}

size_t
http_pending(const struct http_client *c)
{
	return c != NULL ? c->npending : 0;
}
