/*
 * fuzz_http01.c - libFuzzer target: bytes as a request to the http-01
 * listener (challenge_http.c), over a real loopback connection on the
 * real listener, answered by the real handler.
 *
 * The first byte picks the shape. Even: the rest is sent raw, and the
 * client half-closes. Odd: the rest (up to a line end) is the path of a
 * well-formed GET (or HEAD, with bit 1), and the client waits for the
 * answer. Either way, an answer must be one HTTP response; a key
 * authorization only for a request that names its token; and in the
 * well-formed shape a published token's exact path must get it. A
 * connection the listener neither answers nor closes within WAIT_SEC
 * (longer than its own timeout) is a failure too.
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "challenge_http.h"
#include "xmalloc.h"
#include "fuzz.h"


#define PREFIX		"/.well-known/acme-challenge/"
#define RESP_MAX	65536
#define WAIT_SEC	(15)	/* longer than the listener's own timeout */

static const char *const tokens[] = { "tok-A_1", "x",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaa" };
#define NTOKENS		(sizeof(tokens) / sizeof(tokens[0]))

static struct event_base *base;
static struct chall_http *ch;
static int		 port;
static char		*keyauths[NTOKENS];

/* One client connection: what it sends, what comes back. */
struct client {
	int		 fd;
	const char	*req;
	size_t		 reqlen, sent;
	int		 half_close;
	char		 resp[RESP_MAX + 1];
	size_t		 resplen;
	struct event	*ev;
	int		 timed_out;
};

static void
setup(void)
{
	char	*listen[] = { "127.0.0.1:0" }, err[256];
	size_t	 i;

	base = event_base_new();
	if ((ch = chall_http_new(base, listen, 1, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_http01: %s\n", err);
		abort();
	}
	port = chall_http_port(ch, 0);
	for (i = 0; i < NTOKENS; i++) {
		keyauths[i] = xasprintf("%s.thumbprint", tokens[i]);
		if (chall_http_publish(ch, tokens[i], keyauths[i]) != 0)
			abort();
	}
}

static void
client_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;
	ssize_t		 n;

	if (what & EV_TIMEOUT) {
		c->timed_out = 1;
		event_base_loopbreak(base);
		return;
	}
	if ((what & EV_WRITE) && c->sent < c->reqlen) {
		n = send(fd, c->req + c->sent, c->reqlen - c->sent,
		    MSG_NOSIGNAL);
		if (n > 0)
			c->sent += (size_t)n;
		else if (n == -1 && errno != EAGAIN)
			c->sent = c->reqlen;	/* the server has closed */
		if (c->sent == c->reqlen && c->half_close)
			shutdown(fd, SHUT_WR);
	}
	if (what & EV_READ) {
		n = recv(fd, c->resp + c->resplen, RESP_MAX - c->resplen, 0);
		if (n > 0)
			c->resplen += (size_t)n;
		if (n == 0 || (n == -1 && errno != EAGAIN) ||
		    c->resplen == RESP_MAX) {
			event_base_loopbreak(base);
			return;
		}
	}
	if (c->sent == c->reqlen) {
		/* only reading from now on */
		struct timeval tv = { WAIT_SEC, 0 };

		event_del(c->ev);
		event_assign(c->ev, base, fd, EV_READ | EV_PERSIST, client_cb,
		    c);
		event_add(c->ev, &tv);
	}
}

/* Sends req on a new connection and reads the answer into c. */
static void
exchange(struct client *c)
{
	struct sockaddr_in	sin;
	struct linger		lg = { 1, 0 };
	struct timeval		tv = { WAIT_SEC, 0 };

	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		abort();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
	    errno != EINPROGRESS)
		abort();
	/* no TIME_WAIT pile-up over millions of runs */
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	c->ev = event_new(base, c->fd, EV_READ | EV_WRITE | EV_PERSIST,
	    client_cb, c);
	event_add(c->ev, &tv);
	event_base_dispatch(base);
	event_free(c->ev);
	close(c->fd);
	c->resp[c->resplen] = '\0';
}

/* Returns 1 if req names token i's path (exact: is exactly it). */
static int
names_token_how(const char *req, size_t len, size_t i, int exact)
{
	char	 path[512];
	size_t	 n;

	n = (size_t)snprintf(path, sizeof(path), "%s%s", PREFIX, tokens[i]);
	return exact ? len == n && memcmp(req, path, n) == 0 :
	    memmem(req, len, path, n) != NULL;
}

static int
names_token(const char *req, size_t len, size_t i)
{
	return names_token_how(req, len, i, 0);
}

/* Returns the index of a token whose path req names, or -1. */
static int
named_token(const char *req, size_t len, int exact)
{
	size_t	 i;

	for (i = 0; i < NTOKENS; i++)
		if (names_token_how(req, len, i, exact))
			return (int)i;
	return -1;
}

/* The invariants of one answer to req. */
static void
check(const struct client *c, const char *req, size_t reqlen, int head,
    int exact_token)
{
	const char	*body, *p;
	int		 status, tok;
	size_t		 i;

	if (c->timed_out)	/* the listener neither answered nor closed */
		TRAP();
	if (c->resplen == 0) {
		/* a well-formed request is always answered */
		if (exact_token >= 0)
			TRAP();
		return;
	}
	/* evhttp answers in the request's version: "HTTP/0.1 404" happens */
	if (c->resplen < 12 || strncmp(c->resp, "HTTP/", 5) != 0 ||
	    sscanf(c->resp + 9, "%3d", &status) != 1)
		TRAP();
	/* one response per connection */
	if ((p = memmem(c->resp, c->resplen, "\nHTTP/", 6)) != NULL)
		TRAP();
	body = strstr(c->resp, "\r\n\r\n");
	body = body != NULL ? body + 4 : c->resp + c->resplen;
	for (i = 0; i < NTOKENS; i++)
		if (strstr(c->resp, keyauths[i]) != NULL &&
		    !names_token(req, reqlen, i))
			TRAP();
	if (status == 200) {
		/* a raw request may be a HEAD (head -1): no body then */
		if (head == 1 || (head == -1 && *body == '\0'))
			tok = named_token(req, reqlen, 0);
		else
			for (tok = (int)NTOKENS - 1; tok >= 0 &&
			    strcmp(body, keyauths[tok]) != 0; tok--)
				;
		if (tok == -1)
			TRAP();
	}
	if (exact_token >= 0 && (status != 200 ||
	    strcmp(body, head ? "" : keyauths[exact_token]) != 0))
		TRAP();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct client c;
	const char	*path;
	char		*req;
	size_t		 len, plen;
	int		 head = -1, exact = -1;

	if (size < 1)
		return 0;
	if (base == NULL)
		setup();
	memset(&c, 0, sizeof(c));
	if ((data[0] & 1) == 0) {
		/*
		 * A connection that sends nothing but line ends and closes is
		 * held by evhttp until its timeout (CHALL_TIMEOUT_SEC): libevent's
		 * way, bounded by the connection limit (test_challenge_http).
		 * Ten seconds a run would stall the fuzzer: not sent.
		 */
		for (len = 1; len < size && memchr(" \t\r\n", data[len], 4) !=
		    NULL; len++)
			;
		if (len == size)
			return 0;
		len = size - 1;
		req = xmalloc(len + 1);
		memcpy(req, data + 1, len);
		c.half_close = 1;
	} else {
		path = (const char *)data + 1;
		for (plen = 0; plen < size - 1 && path[plen] != '\n' &&
		    path[plen] != '\r'; plen++)
			;
		head = (data[0] & 2) != 0;	/* else unknown: -1 */
		exact = named_token(path, plen, 1);
		req = xasprintf("%s %.*s HTTP/1.1\r\nHost: fuzz\r\n\r\n",
		    head ? "HEAD" : "GET", (int)plen, path);
		len = strlen(req);
		/* a NUL in the path cuts it short: then it names no token */
		if (memchr(path, '\0', plen) != NULL)
			exact = -1;
	}
	c.req = req;
	c.reqlen = len;
	exchange(&c);
	check(&c, req, len, head, exact);
	free(req);
	return 0;
}
