/* challenge_http.c - http-01 solver: our own evhttp listener */
#include "config.h"

#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "acme_solver.h"
#include "acceptguard.h"
#include "challenge_http.h"
#include "challenge_tokens.h"
#include "log.h"
#include "validate.h"
#include "xmalloc.h"

#define CHALL_PREFIX		"/.well-known/acme-challenge/"
/* A validation request is one short line and a few headers. */
#define CHALL_MAX_HEADERS	8192
#define CHALL_MAX_BODY		1024
#define CHALL_TIMEOUT_SEC	10
#define CHALL_BACKLOG		128
/*
 * Open connections at most (fewer if RLIMIT_NOFILE is low). A validator
 * needs one for a few milliseconds; only idle or trickling clients pile up.
 */
#define CHALL_MAX_CONNS		512
#define CHALL_MIN_CONNS		16
/* Connections one burst of accepts may add before we stop to evict. */
#define CHALL_BURST		64

/*
 * One accepted connection. evhttp 2.1 has no connection limit and tells
 * nobody about a connection before its first complete request, so we make
 * each connection's bufferevent ourselves (evhttp_set_bevcb). Once evhttp
 * has wired it up, the bufferevent's callback argument is its
 * evhttp_connection: then we ask for a close callback and let the
 * bufferevent go. Until then ("fresh") we hold a reference to it, so that
 * looking at it is safe even if evhttp has already dropped it.
 */
struct chall_conn {
	struct bufferevent *bev;	/* while fresh; NULL after */
	struct evhttp_connection *evcon; /* once adopted */
};

struct chall_http {
	struct event_base *base;
	struct evhttp	*http;
	struct chall_tokens tokens;
	struct chall_conn *conns;	/* in accept order, oldest first */
	size_t		 nconns;
	size_t		 capconns;
	size_t		 nfresh;	/* not adopted yet */
	size_t		 maxconns;	/* open connections at most */
	unsigned long	 nevicted;	/* since the limit was last reached */
	int		 at_limit;
	struct evconnlistener **lsns;	/* one per listen address */
	struct evhttp_bound_socket **bound; /* the same, as evhttp knows them */
	char		**addrs;	/* the same, as the inventory spells them */
	int		*ports;		/* the same, the port bound */
	size_t		 nlsns;
	struct event	*adopt;		/* runs after a burst of accepts */
	int		 paused;
	struct accept_guard *guard;	/* accept failures, see accept_error_cb */
	int		 adopted;	/* listeners passed by the service manager */
	struct event	*marker;	/* finds ch from accept_error_cb */
	chall_http_miss	 miss;		/* cluster mode: asks another store */
	void		(*miss_cancel)(void *handle);
	void		*miss_arg;
	TAILQ_HEAD(, chall_pending) pending;	/* requests waiting on miss */
	size_t		 npending;
};

/* A request for a token we lack, waiting on the cluster's answer. */
struct chall_pending {
	TAILQ_ENTRY(chall_pending) entry;
	struct chall_http	*ch;
	struct evhttp_request	*req;
	struct evhttp_connection *evcon;
	void			*handle;	/* miss's, for miss_cancel */
	char			 token[CHALL_TOKEN_MAX + 1];
};

/* Requests waiting on the cluster at most; beyond, a miss is a 404. */
#define CHALL_MAX_PENDING	64

size_t
chall_http_count(const struct chall_http *ch)
{
	return ch == NULL ? 0 : ch->tokens.n;
}

int
chall_http_port(const struct chall_http *ch, size_t i)
{
	if (ch == NULL || i >= ch->nlsns)
		return -1;
	return ch->ports[i];
}

static void
chall_reply(struct evhttp_request *req, int code, const char *reason,
    const char *body)
{
	struct evkeyvalq *hdrs = evhttp_request_get_output_headers(req);
	struct evbuffer	*buf = NULL;
	char		 clen[32];

	snprintf(clen, sizeof(clen), "%zu", strlen(body));
	evhttp_add_header(hdrs, "Content-Type", "text/plain");
	evhttp_add_header(hdrs, "Content-Length", clen);
	/* a one-shot validator gains nothing from keep-alive; free the slot */
	evhttp_add_header(hdrs, "Connection", "close");
	/* evhttp 2.1 would send a body even for HEAD: give it none */
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		buf = evbuffer_new();
		evbuffer_add(buf, body, strlen(body));
	}
	evhttp_send_reply(req, code, reason, buf);
	if (buf != NULL)	/* evbuffer_free(NULL) crashes */
		evbuffer_free(buf);
}

static void	conn_closed_cb(struct evhttp_connection *, void *);

static void
pending_free(struct chall_pending *p)
{
	TAILQ_REMOVE(&p->ch->pending, p, entry);
	p->ch->npending--;
	free(p);
}

/* The cluster's answer to a miss: the key authorization, or NULL. */
static void
miss_found(void *ctx, const char *keyauth)
{
	struct chall_pending *p = ctx;

	if (keyauth != NULL) {
		log_debug("http-01: token %s found in the cluster", p->token);
		chall_reply(p->req, 200, "OK", keyauth);
	} else
		chall_reply(p->req, 404, "Not Found", "not found\n");
	pending_free(p);
}

/*
 * A well-formed token we do not have: in cluster mode another node may
 * have published it a moment ago; ask (bounded) instead of a 404. Returns
 * 1 if the request waits for the answer.
 */
static int
miss_ask(struct chall_http *ch, struct evhttp_request *req, const char *token)
{
	struct chall_pending *p;

	if (ch->miss == NULL || ch->npending >= CHALL_MAX_PENDING ||
	    evhttp_request_get_connection(req) == NULL)
		return 0;
	p = xcalloc(1, sizeof(*p));
	p->ch = ch;
	p->req = req;
	p->evcon = evhttp_request_get_connection(req);
	snprintf(p->token, sizeof(p->token), "%s", token);
	TAILQ_INSERT_TAIL(&ch->pending, p, entry);
	ch->npending++;
	/* the connection may close first: conn_closed_cb cancels the ask */
	evhttp_connection_set_closecb(p->evcon, conn_closed_cb, ch);
	if ((p->handle = ch->miss(ch->miss_arg, p->token, miss_found, p)) ==
	    NULL) {
		pending_free(p);
		return 0;
	}
	return 1;
}

void
chall_http_set_miss(struct chall_http *ch, chall_http_miss miss,
    void (*cancel)(void *handle), void *arg)
{
	struct chall_pending *p;

	while ((p = TAILQ_FIRST(&ch->pending)) != NULL) {	/* asked of the old */
		ch->miss_cancel(p->handle);
		chall_reply(p->req, 404, "Not Found", "not found\n");
		pending_free(p);
	}
	ch->miss = miss;
	ch->miss_cancel = cancel;
	ch->miss_arg = arg;
}

static void
chall_request_cb(struct evhttp_request *req, void *v)
{
	struct chall_http	*ch = v;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	const char		*path = NULL, *keyauth = NULL, *method, *shown;
	char			*peer = NULL, safe[96];
	ev_uint16_t		 port = 0;
	int			 code;

	if (uri != NULL)
		path = evhttp_uri_get_path(uri);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		/* allowed_methods normally stops these before we see them */
		code = 405;
		chall_reply(req, code, "Method Not Allowed", "method not allowed\n");
	} else if (path != NULL &&
	    strncmp(path, CHALL_PREFIX, strlen(CHALL_PREFIX)) == 0 &&
	    chall_token_ok(path + strlen(CHALL_PREFIX)) &&
	    (keyauth = chall_tokens_get(&ch->tokens,
	    path + strlen(CHALL_PREFIX))) != NULL) {
		code = 200;
		chall_reply(req, code, "OK", keyauth);
	} else if (path != NULL &&
	    strncmp(path, CHALL_PREFIX, strlen(CHALL_PREFIX)) == 0 &&
	    chall_token_ok(path + strlen(CHALL_PREFIX)) &&
	    miss_ask(ch, req, path + strlen(CHALL_PREFIX))) {
		code = 0;	/* answered when the cluster says */
	} else {
		code = 404;
		chall_reply(req, code, "Not Found", "not found\n");
	}
	if (log_enabled(LOG_LVL_DEBUG)) {
		if (conn != NULL)
			evhttp_connection_get_peer(conn, &peer, &port);
		method = cmd == EVHTTP_REQ_GET ? "GET" :
		    cmd == EVHTTP_REQ_HEAD ? "HEAD" : "other";
		shown = path != NULL ? path : evhttp_request_get_uri(req);
		valid_quote(shown, strlen(shown), safe, sizeof(safe));
		log_debug("http-01: %s port %u: %s %s -> %d",
		    peer != NULL ? peer : "?", (unsigned)port, method, safe,
		    code);
	}
}

static void
conn_remove(struct chall_http *ch, size_t i)
{
	memmove(&ch->conns[i], &ch->conns[i + 1],
	    (ch->nconns - i - 1) * sizeof(*ch->conns));
	ch->nconns--;
}

/* evhttp's close callback: the connection is going away. */
static void
conn_closed_cb(struct evhttp_connection *evcon, void *v)
{
	struct chall_http	*ch = v;
	struct chall_pending	*p, *tmp;
	size_t			 i;

	for (p = TAILQ_FIRST(&ch->pending); p != NULL; p = tmp) {
		tmp = TAILQ_NEXT(p, entry);
		if (p->evcon == evcon) {	/* its request goes with it */
			ch->miss_cancel(p->handle);
			pending_free(p);
		}
	}
	/* may come twice (reset, then free): the second finds nothing */
	for (i = 0; i < ch->nconns; i++) {
		if (ch->conns[i].evcon == evcon) {
			conn_remove(ch, i);
			return;
		}
	}
}

static void
listeners_enable(struct chall_http *ch, int on)
{
	accept_guard_listeners(ch->lsns, ch->nlsns, on);
	ch->paused = !on;
}

/*
 * Runs once a burst of accepts is over: adopts the fresh connections, then
 * closes the oldest ones beyond the limit. The oldest rather than the
 * newest: slowloris clients are the old ones, while a validator sends its
 * request the moment it connects and is gone within milliseconds.
 */
static void
adopt_cb(evutil_socket_t fd, short what, void *v)
{
	struct chall_http	*ch = v;
	struct chall_conn	*c;
	struct evhttp_connection *evcon;
	bufferevent_event_cb	 ecb;
	void			*arg;
	size_t			 i;

	(void)fd;
	(void)what;
	for (i = 0; i < ch->nconns && ch->nfresh > 0; ) {
		c = &ch->conns[i];
		if (c->bev == NULL) {
			i++;
			continue;
		}
		ecb = NULL;
		arg = NULL;
		bufferevent_getcb(c->bev, NULL, NULL, &ecb, &arg);
		bufferevent_decref(c->bev);
		c->bev = NULL;
		ch->nfresh--;
		if (ecb == NULL || arg == NULL) {
			/* evhttp dropped it already (bufferevent_free clears cbs) */
			conn_remove(ch, i);
			continue;
		}
		c->evcon = arg;
		evhttp_connection_set_closecb(c->evcon, conn_closed_cb, ch);
		i++;
	}
	while (ch->nconns > ch->maxconns && (evcon = ch->conns[0].evcon) !=
	    NULL) {
		if (!ch->at_limit) {
			ch->at_limit = 1;
			log_warn("http-01: %zu connections open, the limit: "
			    "closing the oldest to admit new ones",
			    ch->maxconns);
		}
		ch->nevicted++;
		/* calls conn_closed_cb, which removes conns[0] */
		evhttp_connection_free(evcon);
		if (ch->nconns > 0 && ch->conns[0].evcon == evcon)
			conn_remove(ch, 0);
	}
	if (ch->at_limit && ch->nconns < ch->maxconns / 2) {
		log_info("http-01: below the connection limit again; %lu "
		    "idle connections were closed", ch->nevicted);
		ch->at_limit = 0;
		ch->nevicted = 0;
	}
	if (ch->paused)
		listeners_enable(ch, 1);
}

/* evhttp's bevcb: runs once per accepted connection, inside the accept. */
static struct bufferevent *
chall_conn_cb(struct event_base *base, void *v)
{
	struct chall_http	*ch = v;
	struct bufferevent	*bev;

	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (ch->nconns == ch->capconns) {
		ch->capconns = ch->capconns == 0 ? 64 : ch->capconns * 2;
		ch->conns = xreallocarray(ch->conns, ch->capconns,
		    sizeof(*ch->conns));
	}
	bufferevent_incref(bev);
	ch->conns[ch->nconns].bev = bev;
	ch->conns[ch->nconns].evcon = NULL;
	ch->nconns++;
	ch->nfresh++;
	event_active(ch->adopt, EV_TIMEOUT, 0);
	/*
	 * libevent accepts until the backlog is empty before adopt_cb can
	 * evict anything: a flood could outrun the limit in one burst. Past
	 * the limit plus a margin, stop (this ends the accept loop); adopt_cb
	 * resumes.
	 */
	if (ch->nconns >= ch->maxconns + CHALL_BURST && !ch->paused)
		listeners_enable(ch, 0);
	return bev;
}

/*
 * A quarter of the descriptor limit at most: curl, state files, and a
 * burst of accepts beyond the limit (CHALL_BURST) need the rest.
 */
static size_t
conns_limit(void)
{
	struct rlimit	rl;
	size_t		n = CHALL_MAX_CONNS;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 4 < n)
		n = (size_t)(rl.rlim_cur / 4);
	return n < CHALL_MIN_CONNS ? CHALL_MIN_CONNS : n;
}

/* accept_guard's pause; while the connection limit holds them, it resumes them. */
static void
guard_pause(void *arg, int on)
{
	struct chall_http *ch = arg;

	if (!(on && ch->paused))
		accept_guard_listeners(ch->lsns, ch->nlsns, on);
}

/*
 * libevent calls accept_error_cb with evhttp's argument, the evhttp, not
 * ours, and there is no getter and no global to keep a map in: ch keeps a
 * do-nothing timer always pending (marker) whose argument is ch, and
 * find_ch walks the loop's pending events for it. Only on errors.
 */
static void
marker_cb(evutil_socket_t fd, short what, void *arg)
{
}

struct ch_query {
	const struct evhttp	*http;
	struct chall_http	*found;
};

static int
find_ch(const struct event_base *base, const struct event *ev, void *arg)
{
	struct ch_query		*q = arg;
	struct chall_http	*ch;

	if (event_get_callback(ev) != marker_cb)
		return 0;
	ch = event_get_callback_arg(ev);
	if (ch->http != q->http)
		return 0;
	q->found = ch;
	return 1;
}

/* accept() failed: acceptguard.c bounds the logging and the retries. */
static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct ch_query	 q = { arg, NULL };
	int		 err = EVUTIL_SOCKET_ERROR();

	event_base_foreach_event(evconnlistener_get_base(l), find_ch, &q);
	if (q.found == NULL) {	/* cannot be: stop spinning anyway */
		evconnlistener_disable(l);
		return;
	}
	accept_guard_failed(q.found->guard, evconnlistener_get_fd(l), err);
}

/* Creates, binds and listens on one address. Returns fd or -1. */
static int
listen_one(const char *addr, int *portp, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	const char		*why;
	int			 fd = -1, one = 1, off = 0;

	if ((why = valid_listen(addr, 1, &ss, &sslen)) != NULL) {
		snprintf(err, errlen, "http-01: listen %s: %s", addr, why);
		goto fail;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "http-01: cannot create socket for %s: %s",
		    addr, strerror(errno));
		goto fail;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1) {
		snprintf(err, errlen, "http-01: SO_REUSEADDR on %s: %s", addr,
		    strerror(errno));
		goto fail;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		/* [::] serves IPv4 too where the system allows dual-stack */
		int any = IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);

		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
		    any ? &off : &one, sizeof(int)) == -1)
			log_debug("http-01: IPV6_V6ONLY on %s: %s", addr,
			    strerror(errno));
	}
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1) {
		snprintf(err, errlen, "http-01: cannot bind %s: %s", addr,
		    strerror(errno));
		goto fail;
	}
	if (listen(fd, CHALL_BACKLOG) == -1) {
		snprintf(err, errlen, "http-01: cannot listen on %s: %s", addr,
		    strerror(errno));
		goto fail;
	}
	sslen = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1) {
		snprintf(err, errlen, "http-01: getsockname %s: %s", addr,
		    strerror(errno));
		goto fail;
	}
	*portp = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
fail:
	if (fd != -1)
		close(fd);
	return -1;
}

/* Sizes ch's listener arrays for n listeners. */
static void
lsns_alloc(struct chall_http *ch, size_t n)
{
	ch->lsns = xcalloc(n, sizeof(*ch->lsns));
	ch->bound = xcalloc(n, sizeof(*ch->bound));
	ch->addrs = xcalloc(n, sizeof(*ch->addrs));
	ch->ports = xcalloc(n, sizeof(*ch->ports));
	ch->nlsns = 0;
}

static void
lsns_free(struct evconnlistener **lsns, struct evhttp_bound_socket **bound,
    char **addrs, int *ports, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(addrs[i]);
	free(lsns);
	free(bound);
	free(addrs);
	free(ports);
}

/*
 * Serves fd, bound to addr and port, as ch's next listener. evhttp owns
 * fd from here on, even on failure (it may or may not have closed it;
 * leaking beats a double close of someone else's fd). Returns 0, or -1
 * with the address in err.
 */
static int
serve_fd(struct chall_http *ch, int fd, const char *addr, int port,
    char *err, size_t errlen)
{
	struct evhttp_bound_socket *bound;
	size_t	i = ch->nlsns;

	if ((bound = evhttp_accept_socket_with_handle(ch->http, fd)) == NULL) {
		snprintf(err, errlen, "http-01: cannot serve on %s", addr);
		return -1;
	}
	ch->bound[i] = bound;
	ch->lsns[i] = evhttp_bound_socket_get_listener(bound);
	evconnlistener_set_error_cb(ch->lsns[i], accept_error_cb);
	ch->addrs[i] = xstrdup(addr);
	ch->ports[i] = port;
	ch->nlsns++;
	if (ch->paused)		/* at the connection limit: adopt_cb resumes */
		evconnlistener_disable(ch->lsns[i]);
	log_info("http-01: listening on %s (port %d)", addr, port);
	return 0;
}

/* Returns a solver with room for n listeners and none yet. */
static struct chall_http *
chall_http_alloc(struct event_base *base, size_t nlisten)
{
	struct chall_http	*ch;
	struct timeval		 marker_tv = { 86400 * 365, 0 };

	ch = xcalloc(1, sizeof(*ch));
	ch->base = base;
	TAILQ_INIT(&ch->pending);
	ch->http = evhttp_new(base);
	lsns_alloc(ch, nlisten);
	evhttp_set_max_headers_size(ch->http, CHALL_MAX_HEADERS);
	evhttp_set_max_body_size(ch->http, CHALL_MAX_BODY);
	evhttp_set_timeout(ch->http, CHALL_TIMEOUT_SEC);
	evhttp_set_allowed_methods(ch->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(ch->http, chall_request_cb, ch);
	ch->maxconns = conns_limit();
	evhttp_set_bevcb(ch->http, chall_conn_cb, ch);
	ch->adopt = event_new(base, -1, 0, adopt_cb, ch);
	ch->guard = accept_guard_new(base, "http-01", guard_pause, ch);
	ch->marker = event_new(base, -1, EV_PERSIST, marker_cb, ch);
	event_add(ch->marker, &marker_tv);
	return ch;
}

struct chall_http *
chall_http_new(struct event_base *base, char *const *listen, size_t nlisten,
    char *err, size_t errlen)
{
	struct chall_http	*ch;
	size_t			 i;
	int			 fd, port;

	ch = chall_http_alloc(base, nlisten);
	for (i = 0; i < nlisten; i++) {
		if ((fd = listen_one(listen[i], &port, err, errlen)) == -1 ||
		    serve_fd(ch, fd, listen[i], port, err, errlen) == -1)
			goto fail;
	}
	return ch;
fail:
	chall_http_free(ch);
	return NULL;
}

/* Names fd's local address ("a.b.c.d:port", "[v6]:port") in buf; returns its port or -1. */
static int
sock_name(int fd, char *buf, size_t len)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	char			 host[INET6_ADDRSTRLEN];
	int			 port = -1;

	snprintf(buf, len, "descriptor %d", fd);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		return -1;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
		snprintf(buf, len, "%s:%d", host, port);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		port = ntohs(sin6->sin6_port);
		snprintf(buf, len, "[%s]:%d", host, port);
	}
	return port;
}

struct chall_http *
chall_http_adopt(struct event_base *base, const int *fds, size_t nfds,
    char *err, size_t errlen)
{
	struct chall_http	*ch;
	char			 name[INET6_ADDRSTRLEN + 16];
	size_t			 i;
	int			 port, fl;

	ch = chall_http_alloc(base, nfds);
	ch->adopted = 1;
	for (i = 0; i < nfds;) {
		port = sock_name(fds[i], name, sizeof(name));
		/* systemd passes it blocking; libevent accepts until EAGAIN */
		if ((fl = fcntl(fds[i], F_GETFL)) == -1 ||
		    fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) == -1) {
			snprintf(err, errlen, "http-01: passed socket %s: "
			    "O_NONBLOCK: %s", name, strerror(errno));
			goto fail;
		}
		if (serve_fd(ch, fds[i++], name, port, err, errlen) == -1)
			goto fail;	/* evhttp has that one */
	}
	return ch;
fail:
	/* those not served yet are still ours to close */
	for (; i < nfds; i++)
		close(fds[i]);
	chall_http_free(ch);
	return NULL;
}

/* Binds every address keep[] marks new into fds[]; 0, or -1 with none left open. */
static int
rebind_open(char *const *listen, size_t n, const long *keep, int *fds,
    int *ports, char *err, size_t errlen)
{
	size_t	i;

	for (i = 0; i < n; i++)
		fds[i] = -1;
	for (i = 0; i < n; i++) {
		if (keep[i] == -1 && (fds[i] = listen_one(listen[i], &ports[i],
		    err, errlen)) == -1)
			break;
	}
	if (i == n)
		return 0;
	for (i = 0; i < n; i++)
		if (fds[i] != -1)
			close(fds[i]);
	return -1;
}

int
chall_http_rebind(struct chall_http *ch, char *const *listen, size_t nlisten,
    char *err, size_t errlen)
{
	struct evconnlistener	**olsns = ch->lsns;
	struct evhttp_bound_socket **obound = ch->bound;
	char			**oaddrs = ch->addrs;
	int			 *oports = ch->ports, *fds, *ports;
	long			 *keep;
	size_t			  i, on = ch->nlsns;
	int			  rc = -1;

	if (ch->adopted) {
		/* the manager's sockets outlive reloads: nothing to bind */
		log_info("http-01: keeping the socket-activated listener; "
		    "http01.listen is not used");
		return 0;
	}
	keep = xcalloc(nlisten, sizeof(*keep));
	fds = xcalloc(nlisten, sizeof(*fds));
	ports = xcalloc(nlisten, sizeof(*ports));
	if (accept_rebind_plan(oaddrs, on, listen, nlisten, keep)) {
		rc = 0;
		goto out;
	}
	/* every new socket first: if one cannot bind, nothing changes */
	if (rebind_open(listen, nlisten, keep, fds, ports, err, errlen) == -1)
		goto out;
	lsns_alloc(ch, nlisten);
	for (i = 0; i < nlisten; i++) {
		if (keep[i] == -1) {
			/* only allocation fails here, and that aborts */
			if (serve_fd(ch, fds[i], listen[i], ports[i], err,
			    errlen) == -1)
				log_err("%s", err);
			continue;
		}
		ch->lsns[ch->nlsns] = olsns[keep[i]];
		ch->bound[ch->nlsns] = obound[keep[i]];
		ch->ports[ch->nlsns] = oports[keep[i]];
		ch->addrs[ch->nlsns++] = oaddrs[keep[i]];
		oaddrs[keep[i]] = NULL;
	}
	/* then the old ones go; connections they accepted are answered */
	for (i = 0; i < on; i++) {
		if (oaddrs[i] == NULL)
			continue;
		evhttp_del_accept_socket(ch->http, obound[i]);
		log_info("http-01: stopped listening on %s", oaddrs[i]);
	}
	lsns_free(olsns, obound, oaddrs, oports, on);
	rc = 0;
out:
	free(keep);
	free(fds);
	free(ports);
	return rc;
}

int
chall_http_publish(struct chall_http *ch, const char *token,
    const char *keyauth)
{
	if (ch == NULL || keyauth == NULL || !chall_token_ok(token)) {
		log_err("http-01: refusing to publish a malformed token");
		return -1;
	}
	/* same token again: counted; the newest key authorization wins */
	if (chall_tokens_add(&ch->tokens, token, keyauth))
		log_debug("http-01: published token %s", token);
	return 0;
}

void
chall_http_withdraw(struct chall_http *ch, const char *token)
{
	if (ch == NULL || !chall_token_ok(token))
		return;
	if (chall_tokens_drop(&ch->tokens, token))
		log_debug("http-01: withdrew token %s", token);
}

void
chall_http_free(struct chall_http *ch)
{
	struct chall_pending *p;

	if (ch == NULL)
		return;
	while ((p = TAILQ_FIRST(&ch->pending)) != NULL) {
		ch->miss_cancel(p->handle);
		pending_free(p);
	}
	/* closes the listening sockets and any open connections */
	if (ch->http != NULL)
		evhttp_free(ch->http);
	/* evhttp freed every connection: drop the references still held */
	while (ch->nconns > 0) {
		if (ch->conns[--ch->nconns].bev != NULL)
			bufferevent_decref(ch->conns[ch->nconns].bev);
	}
	free(ch->conns);
	lsns_free(ch->lsns, ch->bound, ch->addrs, ch->ports, ch->nlsns);
	if (ch->adopt != NULL)
		event_free(ch->adopt);
	accept_guard_free(ch->guard);
	if (ch->marker != NULL)
		event_free(ch->marker);
	chall_tokens_clear(&ch->tokens, NULL, NULL);
	free(ch);
}

/* ------------------------------------------------------- solver contract */

static int
solver_publish(void *arg, const struct acme_challenge *c,
    acme_solver_done done, void *ctx)
{
	return chall_http_publish(arg, c->token, c->keyauth);
}

static void
solver_withdraw(void *arg, const struct acme_challenge *c)
{
	chall_http_withdraw(arg, c->token);
}

void
chall_http_solver(struct chall_http *ch, struct acme_solver *s)
{
	memset(s, 0, sizeof(*s));
	s->type = "http-01";
	s->can = NULL;		/* http-01 answers for names and addresses */
	s->publish = solver_publish;
	s->withdraw = solver_withdraw;
	s->arg = ch;
}
