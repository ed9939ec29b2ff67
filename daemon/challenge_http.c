/* challenge_http.c - http-01 responder (evhttp listener or webroot files) */
#include "config.h"

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
#include <event2/event.h>
#include <event2/http.h>

#include "challenge_http.h"
#include "conf.h"
#include "log.h"
#include "store.h"

#define CHALL_PREFIX		"/.well-known/acme-challenge/"
/* A validation request is one short line and a few headers. */
#define CHALL_MAX_HEADERS	8192
#define CHALL_MAX_BODY		1024
#define CHALL_TIMEOUT_SEC	10
#define CHALL_BACKLOG		128

struct token {
	char		*token;
	char		*keyauth;
	unsigned	 refs;
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
	if (store_mkdir(wk, 0755) == -1) {
		snprintf(err, errlen, "http-01: cannot create %s: %s", wk,
		    strerror(errno));
		goto out;
	}
	if (store_mkdir(ch->dir, 0755) == -1) {
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
	for (i = 0; i < cfg->listen.n; i++) {
		if ((fd = listen_one(cfg->listen.v[i], &port, err, errlen)) == -1)
			goto fail;
		/*
		 * From here on evhttp owns fd and closes it in evhttp_free. On
		 * failure (out of memory) it may or may not have closed it
		 * already; leaking beats a double close of someone else's fd.
		 */
		if (evhttp_accept_socket_with_handle(ch->http, fd) == NULL) {
			snprintf(err, errlen, "http-01: cannot serve on %s: "
			    "out of memory", cfg->listen.v[i]);
			goto fail;
		}
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
	else if ((rc = store_write_atomic(path, data, strlen(data), 0644)) == -1)
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
	if (unlink(p) == -1 && errno != ENOENT)
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
	while (ch->ntoks > 0)
		tok_remove(ch, ch->ntoks - 1);
	free(ch->toks);
	free(ch->ports);
	free(ch->dir);
	free(ch);
}
