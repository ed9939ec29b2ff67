/* challenge_http.c - http-01 responder (evhttp listener or webroot files) */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "challenge_http.h"
#include "conf.h"
#include "fsutil.h"
#include "log.h"

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

struct token {
	char		*token;
	char		*keyauth;
	unsigned	 refs;
};

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
	struct evhttp	*http;		/* NULL in webroot mode */
	int		*ports;		/* bound port per listener */
	size_t		 nports;
	char		*dir;		/* webroot/.well-known/acme-challenge */
	struct token	*toks;		/* sorted by token, for bsearch */
	size_t		 ntoks;
	size_t		 captoks;
	struct chall_conn *conns;	/* in accept order, oldest first */
	size_t		 nconns;
	size_t		 capconns;
	size_t		 nfresh;	/* not adopted yet */
	size_t		 maxconns;	/* open connections at most */
	unsigned long	 nevicted;	/* since the limit was last reached */
	int		 at_limit;
	struct evconnlistener **lsns;	/* one per listen address */
	size_t		 nlsns;
	struct event	*adopt;		/* runs after a burst of accepts */
	int		 paused;
};

int
chall_http_token_ok(const char *token)
{
	size_t	n;

	if (token == NULL)
		return 0;
	for (n = 0; token[n] != '\0'; n++) {
		char	c = token[n];

		if (n >= CHALL_HTTP_TOKEN_MAX)
			return 0;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return n > 0;
}

/* Returns the index of token, or -(insertion point) - 1. */
static long
tok_find(const struct chall_http *ch, const char *token)
{
	size_t	lo = 0, hi = ch->ntoks, mid;
	int	cmp;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = strcmp(token, ch->toks[mid].token);
		if (cmp == 0)
			return (long)mid;
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -(long)lo - 1;
}

size_t
chall_http_count(const struct chall_http *ch)
{
	return ch == NULL ? 0 : ch->ntoks;
}

int
chall_http_port(const struct chall_http *ch, size_t i)
{
	if (ch == NULL || i >= ch->nports)
		return -1;
	return ch->ports[i];
}

/* Copies s for a log line: printable ASCII only, at most 80 characters. */
static void
log_safe(char *dst, size_t dstlen, const char *s)
{
	size_t	i;

	for (i = 0; s != NULL && s[i] != '\0' && i + 4 < dstlen && i < 80; i++)
		dst[i] = s[i] > 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (s != NULL && s[i] != '\0' && i + 4 <= dstlen) {
		memcpy(dst + i, "...", 3);
		i += 3;
	}
	dst[i] = '\0';
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
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD &&
	    (buf = evbuffer_new()) != NULL)
		evbuffer_add(buf, body, strlen(body));
	evhttp_send_reply(req, code, reason, buf);
	if (buf != NULL)	/* evbuffer_free(NULL) crashes */
		evbuffer_free(buf);
}

static void
chall_request_cb(struct evhttp_request *req, void *v)
{
	struct chall_http	*ch = v;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	const char		*path = NULL, *token, *method;
	char			*peer = NULL, safe[96];
	ev_uint16_t		 port = 0;
	long			 i = -1;
	int			 code;

	if (uri != NULL)
		path = evhttp_uri_get_path(uri);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		/* allowed_methods normally stops these before we see them */
		code = 405;
		chall_reply(req, code, "Method Not Allowed", "method not allowed\n");
	} else if (path != NULL &&
	    strncmp(path, CHALL_PREFIX, strlen(CHALL_PREFIX)) == 0 &&
	    chall_http_token_ok(token = path + strlen(CHALL_PREFIX)) &&
	    (i = tok_find(ch, token)) >= 0) {
		code = 200;
		chall_reply(req, code, "OK", ch->toks[i].keyauth);
	} else {
		code = 404;
		chall_reply(req, code, "Not Found", "not found\n");
	}
	if (log_enabled(LOG_LVL_DEBUG)) {
		if (conn != NULL)
			evhttp_connection_get_peer(conn, &peer, &port);
		method = cmd == EVHTTP_REQ_GET ? "GET" :
		    cmd == EVHTTP_REQ_HEAD ? "HEAD" : "other";
		log_safe(safe, sizeof(safe), path != NULL ? path :
		    evhttp_request_get_uri(req));
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
	size_t			 i;

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
	size_t	i;

	for (i = 0; i < ch->nlsns; i++) {
		if (on)
			evconnlistener_enable(ch->lsns[i]);
		else
			evconnlistener_disable(ch->lsns[i]);
	}
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
	struct chall_conn	*nc;
	struct bufferevent	*bev;
	size_t			 ncap;

	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL)
		return NULL;	/* evhttp then makes its own, uncounted */
	if (ch->nconns == ch->capconns) {
		ncap = ch->capconns == 0 ? 64 : ch->capconns * 2;
		if ((nc = reallocarray(ch->conns, ncap, sizeof(*nc))) == NULL)
			return bev;	/* served, merely uncounted */
		ch->conns = nc;
		ch->capconns = ncap;
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

/*
 * Parses "a.b.c.d:port" or "[v6]:port" (numeric hosts only) into ss.
 * Returns 0, or -1 with the reason in err.
 */
static int
parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sslen,
    char *err, size_t errlen)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	const char		*colon, *end;
	char			 host[INET6_ADDRSTRLEN + 1], *ep;
	size_t			 hlen;
	long			 port;
	int			 v6 = 0;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':') {
			snprintf(err, errlen, "http-01: listen %s: expected "
			    "[address]:port", s);
			return -1;
		}
		hlen = (size_t)(end - s - 1);
		colon = end + 1;
		s++;
		v6 = 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL) {
			snprintf(err, errlen, "http-01: listen %s: expected "
			    "address:port", s);
			return -1;
		}
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		snprintf(err, errlen, "http-01: listen %s%s: bad address",
		    v6 ? "[" : "", s);
		return -1;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtol(colon + 1, &ep, 10);
	if (colon[1] == '\0' || *ep != '\0' || errno != 0 || port < 0 ||
	    port > 65535) {
		snprintf(err, errlen, "http-01: listen %s%s: bad port",
		    v6 ? "[" : "", s);
		return -1;
	}
	if (v6 && inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*sin6);
	} else if (!v6 && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*sslen = sizeof(*sin);
	} else {
		snprintf(err, errlen, "http-01: listen %s%s: not a numeric "
		    "IPv%d address", v6 ? "[" : "", s, v6 ? 6 : 4);
		return -1;
	}
	return 0;
}

/* Creates, binds and listens on one address. Returns fd or -1. */
static int
listen_one(const char *addr, int *portp, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 fd = -1, one = 1, off = 0;

	if (parse_listen(addr, &ss, &sslen, err, errlen) == -1)
		goto fail;
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

static int
setup_webroot(struct chall_http *ch, const char *webroot, char *err,
    size_t errlen)
{
	char	*wk = NULL;
	int	 rc = -1;

	if (asprintf(&wk, "%s/.well-known", webroot) == -1) {
		wk = NULL;
		snprintf(err, errlen, "http-01: webroot %s: %s", webroot,
		    strerror(errno));
		goto out;
	}
	if (asprintf(&ch->dir, "%s/.well-known/acme-challenge", webroot) == -1) {
		ch->dir = NULL;
		snprintf(err, errlen, "http-01: webroot %s: %s", webroot,
		    strerror(errno));
		goto out;
	}
	/* the web server reads these as another user: 0755, whatever the umask */
	if (fsutil_mkdir(wk, 0755) == -1) {
		snprintf(err, errlen, "http-01: cannot create %s: %s", wk,
		    strerror(errno));
		goto out;
	}
	if (fsutil_mkdir(ch->dir, 0755) == -1) {
		snprintf(err, errlen, "http-01: cannot create %s: %s", ch->dir,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(wk);
	return rc;
}

struct chall_http *
chall_http_new(struct event_base *base, const struct conf_http01 *cfg,
    char *err, size_t errlen)
{
	struct chall_http	*ch;
	struct evhttp_bound_socket *bound;
	size_t			 i;
	int			 fd, port;

	if ((ch = calloc(1, sizeof(*ch))) == NULL) {
		snprintf(err, errlen, "http-01: %s", strerror(errno));
		return NULL;
	}
	ch->base = base;
	if (cfg->webroot != NULL) {
		if (setup_webroot(ch, cfg->webroot, err, errlen) == -1)
			goto fail;
		return ch;
	}
	if ((ch->http = evhttp_new(base)) == NULL ||
	    (cfg->listen.n > 0 && (ch->ports = calloc(cfg->listen.n,
	    sizeof(*ch->ports))) == NULL)) {
		snprintf(err, errlen, "http-01: cannot create HTTP server");
		goto fail;
	}
	evhttp_set_max_headers_size(ch->http, CHALL_MAX_HEADERS);
	evhttp_set_max_body_size(ch->http, CHALL_MAX_BODY);
	evhttp_set_timeout(ch->http, CHALL_TIMEOUT_SEC);
	evhttp_set_allowed_methods(ch->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(ch->http, chall_request_cb, ch);
	ch->maxconns = conns_limit();
	evhttp_set_bevcb(ch->http, chall_conn_cb, ch);
	if ((ch->adopt = event_new(base, -1, 0, adopt_cb, ch)) == NULL ||
	    (cfg->listen.n > 0 && (ch->lsns = calloc(cfg->listen.n,
	    sizeof(*ch->lsns))) == NULL)) {
		snprintf(err, errlen, "http-01: cannot create HTTP server");
		goto fail;
	}
	for (i = 0; i < cfg->listen.n; i++) {
		if ((fd = listen_one(cfg->listen.v[i], &port, err, errlen)) == -1)
			goto fail;
		/*
		 * From here on evhttp owns fd and closes it in evhttp_free. On
		 * failure (out of memory) it may or may not have closed it
		 * already; leaking beats a double close of someone else's fd.
		 */
		if ((bound = evhttp_accept_socket_with_handle(ch->http, fd)) ==
		    NULL) {
			snprintf(err, errlen, "http-01: cannot serve on %s: "
			    "out of memory", cfg->listen.v[i]);
			goto fail;
		}
		ch->lsns[ch->nlsns++] = evhttp_bound_socket_get_listener(bound);
		ch->ports[ch->nports++] = port;
		log_info("http-01: listening on %s (port %d)", cfg->listen.v[i],
		    port);
	}
	return ch;
fail:
	chall_http_free(ch);
	return NULL;
}

/* Webroot file path of token; malloc'd. */
static char *
token_path(const struct chall_http *ch, const char *token)
{
	char	*p;

	if (asprintf(&p, "%s/%s", ch->dir, token) == -1)
		return NULL;
	return p;
}

/* Writes a webroot file atomically, so the web server never serves half of it. */
static int
webroot_write(const struct chall_http *ch, const char *token,
    const char *data)
{
	char	*path;
	int	 rc = -1;

	if ((path = token_path(ch, token)) == NULL)
		log_err("http-01: %s", strerror(errno));
	else if ((rc = fsutil_write_atomic(path, data, strlen(data), 0644)) == -1)
		log_err("http-01: cannot write %s: %s", path, strerror(errno));
	free(path);
	return rc;
}

static void
webroot_remove(const struct chall_http *ch, const char *token)
{
	char	*p;

	if ((p = token_path(ch, token)) == NULL)
		return;
	if (fsutil_unlink(p) == -1)
		log_warn("http-01: cannot remove %s: %s", p, strerror(errno));
	free(p);
}

int
chall_http_publish(struct chall_http *ch, const char *token,
    const char *keyauth)
{
	struct token	*t, *nt;
	char		*tcopy = NULL, *kcopy = NULL;
	long		 i;
	size_t		 pos, ncap;
	int		 rc = -1;

	if (ch == NULL || keyauth == NULL || !chall_http_token_ok(token)) {
		log_err("http-01: refusing to publish a malformed token");
		goto out;
	}
	if ((kcopy = strdup(keyauth)) == NULL) {
		log_err("http-01: %s", strerror(errno));
		goto out;
	}
	if ((i = tok_find(ch, token)) >= 0) {
		t = &ch->toks[i];
		/* same token again: count it; the newest key authorization wins */
		if (ch->dir != NULL && strcmp(t->keyauth, keyauth) != 0 &&
		    webroot_write(ch, token, keyauth) == -1)
			goto out;
		free(t->keyauth);
		t->keyauth = kcopy;
		kcopy = NULL;
		t->refs++;
		rc = 0;
		goto out;
	}
	pos = (size_t)(-i - 1);
	if (ch->ntoks == ch->captoks) {
		ncap = ch->captoks == 0 ? 16 : ch->captoks * 2;
		if ((nt = reallocarray(ch->toks, ncap, sizeof(*nt))) == NULL) {
			log_err("http-01: %s", strerror(errno));
			goto out;
		}
		ch->toks = nt;
		ch->captoks = ncap;
	}
	if ((tcopy = strdup(token)) == NULL) {
		log_err("http-01: %s", strerror(errno));
		goto out;
	}
	if (ch->dir != NULL && webroot_write(ch, token, keyauth) == -1)
		goto out;
	memmove(&ch->toks[pos + 1], &ch->toks[pos],
	    (ch->ntoks - pos) * sizeof(*ch->toks));
	ch->toks[pos].token = tcopy;
	ch->toks[pos].keyauth = kcopy;
	ch->toks[pos].refs = 1;
	ch->ntoks++;
	tcopy = kcopy = NULL;
	log_debug("http-01: published token %s", token);
	rc = 0;
out:
	free(tcopy);
	free(kcopy);
	return rc;
}

static void
tok_remove(struct chall_http *ch, size_t i)
{
	if (ch->dir != NULL)
		webroot_remove(ch, ch->toks[i].token);
	free(ch->toks[i].token);
	free(ch->toks[i].keyauth);
	memmove(&ch->toks[i], &ch->toks[i + 1],
	    (ch->ntoks - i - 1) * sizeof(*ch->toks));
	ch->ntoks--;
}

void
chall_http_withdraw(struct chall_http *ch, const char *token)
{
	long	i;

	if (ch == NULL || !chall_http_token_ok(token) ||
	    (i = tok_find(ch, token)) < 0)
		return;
	if (--ch->toks[i].refs > 0)
		return;
	log_debug("http-01: withdrew token %s", token);
	tok_remove(ch, (size_t)i);
}

void
chall_http_free(struct chall_http *ch)
{
	if (ch == NULL)
		return;
	/* closes the listening sockets and any open connections */
	if (ch->http != NULL)
		evhttp_free(ch->http);
	/* evhttp freed every connection: drop the references still held */
	while (ch->nconns > 0) {
		if (ch->conns[--ch->nconns].bev != NULL)
			bufferevent_decref(ch->conns[ch->nconns].bev);
	}
	free(ch->conns);
	free(ch->lsns);
	if (ch->adopt != NULL)
		event_free(ch->adopt);
	while (ch->ntoks > 0)
		tok_remove(ch, ch->ntoks - 1);
	free(ch->toks);
	free(ch->ports);
	free(ch->dir);
	free(ch);
}
