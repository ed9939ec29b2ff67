/* test_challenge_http.c - http-01 responder over real loopback sockets */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "challenge_http.h"
#include "challenge_webroot.h"
#include "conf.h"
#include "log.h"

#define PREFIX	"/.well-known/acme-challenge/"

struct fx {
	struct event_base *base;
	struct chall_http *ch;
	int		 port;
	char		 tmp[PATH_MAX];	/* mkdtemp'd for webroot tests */
	struct rlimit	 nofile;	/* restored by teardown */
};

/* One client request, run on its own thread with blocking sockets. */
struct req {
	int		 port;
	int		 family;
	char		*raw;		/* request bytes */
	char		*resp;		/* everything read until EOF */
	size_t		 resplen;
	int		 notify;	/* pipe write end: one byte when finished */
	pthread_t	 thr;
};

struct loopwait {
	struct event_base *base;
	int		 want;
	int		 got;
	int		 timed_out;
};

static void *
client_main(void *v)
{
	struct req		*r = v;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct timeval		 tv = { 5, 0 };
	size_t			 off = 0, len = strlen(r->raw), cap = 0;
	ssize_t			 n;
	char			 c = 1;
	int			 fd;

	memset(&ss, 0, sizeof(ss));
	if (r->family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)r->port);
		sin6->sin6_addr = in6addr_loopback;
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)r->port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	if ((fd = socket(r->family == AF_INET6 ? AF_INET6 : AF_INET,
	    SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		goto done;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, r->family == AF_INET6 ?
	    sizeof(*sin6) : sizeof(*sin)) == -1)
		goto out;
	while (off < len) {
		/* the server may hang up on an oversized request mid-send */
		if ((n = send(fd, r->raw + off, len - off, MSG_NOSIGNAL)) <= 0)
			break;
		off += (size_t)n;
	}
	for (;;) {
		if (cap - r->resplen < 1025) {
			cap = cap == 0 ? 4096 : cap * 2;
			r->resp = realloc(r->resp, cap);
			if (r->resp == NULL)
				break;
		}
		n = recv(fd, r->resp + r->resplen, cap - r->resplen - 1, 0);
		if (n <= 0)
			break;
		r->resplen += (size_t)n;
	}
	if (r->resp != NULL)
		r->resp[r->resplen] = '\0';
out:
	close(fd);
done:
	if (write(r->notify, &c, 1) != 1)
		abort();
	return NULL;
}

static void
notify_cb(evutil_socket_t fd, short what, void *v)
{
	struct loopwait	*lw = v;
	char		 buf[64];
	ssize_t		 n;

	if ((n = read(fd, buf, sizeof(buf))) > 0)
		lw->got += (int)n;
	if (lw->got >= lw->want)
		event_base_loopbreak(lw->base);
}

static void
timeout_cb(evutil_socket_t fd, short what, void *v)
{
	struct loopwait	*lw = v;

	lw->timed_out = 1;
	event_base_loopbreak(lw->base);
}

/* Runs n requests concurrently while the loop serves them. */
static void
run_reqs(struct fx *fx, struct req *r, int n)
{
	struct loopwait	 lw = { fx->base, n, 0, 0 };
	struct event	*ev, *to;
	struct timeval	 tv = { 8, 0 };
	int		 p[2], i;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	ev = event_new(fx->base, p[0], EV_READ | EV_PERSIST, notify_cb, &lw);
	to = evtimer_new(fx->base, timeout_cb, &lw);
	assert_non_null(ev);
	assert_non_null(to);
	event_add(ev, NULL);
	evtimer_add(to, &tv);
	for (i = 0; i < n; i++) {
		r[i].notify = p[1];
		if (r[i].port == 0)
			r[i].port = fx->port;
		assert_int_equal(pthread_create(&r[i].thr, NULL, client_main,
		    &r[i]), 0);
	}
	event_base_dispatch(fx->base);
	for (i = 0; i < n; i++)
		pthread_join(r[i].thr, NULL);
	event_free(ev);
	event_free(to);
	close(p[0]);
	close(p[1]);
	assert_false(lw.timed_out);
	assert_int_equal(lw.got, n);
}

static int
status_of(const char *resp)
{
	int	code;

	if (resp == NULL || sscanf(resp, "HTTP/1.%*d %d", &code) != 1)
		return 0;
	return code;
}

static const char *
body_of(const char *resp)
{
	const char	*p = resp != NULL ? strstr(resp, "\r\n\r\n") : NULL;

	return p != NULL ? p + 4 : NULL;
}

/* One request; returns the response (malloc'd, maybe NULL) and its status. */
static char *
request(struct fx *fx, const char *method, const char *path, int *status)
{
	struct req	r;

	memset(&r, 0, sizeof(r));
	r.family = AF_INET;
	assert_true(asprintf(&r.raw, "%s %s HTTP/1.0\r\nHost: test\r\n\r\n",
	    method, path) != -1);
	run_reqs(fx, &r, 1);
	free(r.raw);
	*status = status_of(r.resp);
	return r.resp;
}

static void
expect_status(struct fx *fx, const char *method, const char *path, int want)
{
	char	*resp;
	int	 st;

	resp = request(fx, method, path, &st);
	if (st != want)
		fail_msg("%s %s: status %d, want %d", method, path, st, want);
	free(resp);
}

static int
setup(void **state)
{
	struct fx		*fx = calloc(1, sizeof(*fx));
	char			*listen[] = { "127.0.0.1:0" };
	struct conf_http01	 cfg = { { listen, 1 }, NULL };
	char			 err[256];

	assert_non_null(fx);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	fx->ch = chall_http_new(fx->base, cfg.listen.v, cfg.listen.n, err,
	    sizeof(err));
	if (fx->ch == NULL)
		fail_msg("chall_http_new: %s", err);
	fx->port = chall_http_port(fx->ch, 0);
	assert_true(fx->port > 0);
	assert_int_equal(chall_http_port(fx->ch, 1), -1);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &fx->nofile), 0);
	*state = fx;
	return 0;
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;

	chall_http_free(fx->ch);
	event_base_free(fx->base);
	setrlimit(RLIMIT_NOFILE, &fx->nofile);
	if (fx->tmp[0] != '\0')
		nftw(fx->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static void
test_token_syntax_is_base64url_1_to_max(void **state)
{
	char	long_ok[CHALL_HTTP_TOKEN_MAX + 2];

	assert_true(chall_token_ok("abcXYZ019-_"));
	assert_false(chall_token_ok(""));
	assert_false(chall_token_ok(NULL));
	assert_false(chall_token_ok("../x"));
	assert_false(chall_token_ok("a%2Fb"));
	assert_false(chall_token_ok("a/b"));
	assert_false(chall_token_ok("a=b"));
	assert_false(chall_token_ok("a.b"));
	assert_false(chall_token_ok("a b"));
	assert_false(chall_token_ok("a+b"));
	memset(long_ok, 'a', CHALL_HTTP_TOKEN_MAX);
	long_ok[CHALL_HTTP_TOKEN_MAX] = '\0';
	assert_true(chall_token_ok(long_ok));
	long_ok[CHALL_HTTP_TOKEN_MAX] = 'a';
	long_ok[CHALL_HTTP_TOKEN_MAX + 1] = '\0';
	assert_false(chall_token_ok(long_ok));
}

static void
test_published_token_served_200_text_plain_exact_body(void **state)
{
	struct fx	*fx = *state;
	char		*resp;
	int		 st;

	assert_int_equal(chall_http_publish(fx->ch, "tok_EN-1",
	    "tok_EN-1.thumbprint"), 0);
	assert_int_equal(chall_http_count(fx->ch), 1);
	resp = request(fx, "GET", PREFIX "tok_EN-1", &st);
	assert_int_equal(st, 200);
	assert_non_null(strcasestr(resp, "\r\nContent-Type: text/plain\r\n"));
	/* exactly one Content-Length, and the right one */
	assert_non_null(strcasestr(resp, "\r\nContent-Length: 19\r\n"));
	assert_null(strcasestr(strcasestr(resp, "Content-Length") + 1,
	    "Content-Length"));
	assert_string_equal(body_of(resp), "tok_EN-1.thumbprint");
	free(resp);
}

static void
test_head_gets_200_without_body(void **state)
{
	struct fx	*fx = *state;
	char		*resp;
	int		 st;

	assert_int_equal(chall_http_publish(fx->ch, "tok", "tok.tp"), 0);
	resp = request(fx, "HEAD", PREFIX "tok", &st);
	assert_int_equal(st, 200);
	/* the length a GET would return, but no body */
	assert_non_null(strcasestr(resp, "\r\nContent-Length: 6\r\n"));
	assert_non_null(body_of(resp));
	assert_string_equal(body_of(resp), "");
	free(resp);
}

static void
test_unknown_token_and_other_paths_get_404(void **state)
{
	struct fx	*fx = *state;
	char		 longpath[sizeof(PREFIX) + CHALL_HTTP_TOKEN_MAX + 8];

	assert_int_equal(chall_http_publish(fx->ch, "abc", "abc.tp"), 0);
	expect_status(fx, "GET", PREFIX "abd", 404);
	expect_status(fx, "GET", PREFIX "ABC", 404);
	expect_status(fx, "GET", PREFIX "abc/", 404);
	expect_status(fx, "GET", PREFIX "../x", 404);
	expect_status(fx, "GET", PREFIX "a%2Fb", 404);
	expect_status(fx, "GET", PREFIX "%61bc", 404);
	expect_status(fx, "GET", PREFIX, 404);
	expect_status(fx, "GET", "/", 404);
	expect_status(fx, "GET", "/abc", 404);
	expect_status(fx, "GET", "/.well-known/abc", 404);
	expect_status(fx, "GET", "/x" PREFIX "abc", 404);
	snprintf(longpath, sizeof(longpath), "%s", PREFIX);
	memset(longpath + strlen(PREFIX), 'a', CHALL_HTTP_TOKEN_MAX + 1);
	longpath[strlen(PREFIX) + CHALL_HTTP_TOKEN_MAX + 1] = '\0';
	expect_status(fx, "GET", longpath, 404);
	/* and the real one still works */
	expect_status(fx, "GET", PREFIX "abc", 200);
}

static void
test_post_and_other_methods_are_refused(void **state)
{
	struct fx	*fx = *state;
	const char	*methods[] = { "POST", "PUT", "DELETE", "OPTIONS" };
	char		*resp;
	size_t		 i;
	int		 st;

	assert_int_equal(chall_http_publish(fx->ch, "abc", "abc.tp"), 0);
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		resp = request(fx, methods[i], PREFIX "abc", &st);
		if (st != 405 && st != 404 && st != 501)
			fail_msg("%s: status %d", methods[i], st);
		assert_null(strstr(resp != NULL ? resp : "", "abc.tp"));
		free(resp);
	}
}

static void
test_withdraw_makes_token_404(void **state)
{
	struct fx	*fx = *state;

	assert_int_equal(chall_http_publish(fx->ch, "gone", "gone.tp"), 0);
	expect_status(fx, "GET", PREFIX "gone", 200);
	chall_http_withdraw(fx->ch, "gone");
	assert_int_equal(chall_http_count(fx->ch), 0);
	expect_status(fx, "GET", PREFIX "gone", 404);
	/* unknown and malformed tokens are ignored */
	chall_http_withdraw(fx->ch, "gone");
	chall_http_withdraw(fx->ch, "../x");
	chall_http_withdraw(fx->ch, NULL);
	chall_http_withdraw(NULL, "x");
}

static void
test_publish_twice_needs_two_withdraws(void **state)
{
	struct fx	*fx = *state;

	assert_int_equal(chall_http_publish(fx->ch, "rc", "rc.tp"), 0);
	assert_int_equal(chall_http_publish(fx->ch, "rc", "rc.tp"), 0);
	assert_int_equal(chall_http_count(fx->ch), 1);
	chall_http_withdraw(fx->ch, "rc");
	expect_status(fx, "GET", PREFIX "rc", 200);
	chall_http_withdraw(fx->ch, "rc");
	expect_status(fx, "GET", PREFIX "rc", 404);
	assert_int_equal(chall_http_count(fx->ch), 0);
}

static void
test_publish_rejects_malformed_tokens(void **state)
{
	struct fx	*fx = *state;

	assert_int_equal(chall_http_publish(fx->ch, "../x", "k"), -1);
	assert_int_equal(chall_http_publish(fx->ch, "", "k"), -1);
	assert_int_equal(chall_http_publish(fx->ch, "a%2Fb", "k"), -1);
	assert_int_equal(chall_http_publish(fx->ch, "ok", NULL), -1);
	assert_int_equal(chall_http_count(fx->ch), 0);
}

static void
test_oversized_headers_rejected_and_server_still_answers(void **state)
{
	struct fx	*fx = *state;
	struct req	 r;
	size_t		 big = 32 * 1024, off;
	int		 st;

	assert_int_equal(chall_http_publish(fx->ch, "abc", "abc.tp"), 0);
	memset(&r, 0, sizeof(r));
	r.family = AF_INET;
	r.raw = malloc(big + 256);
	assert_non_null(r.raw);
	off = (size_t)snprintf(r.raw, 256, "GET %sabc HTTP/1.0\r\nX-Big: ",
	    PREFIX);
	memset(r.raw + off, 'a', big);
	memcpy(r.raw + off + big, "\r\n\r\n", 5);
	run_reqs(fx, &r, 1);
	st = status_of(r.resp);
	if (st != 0 && (st < 400 || st > 499))
		fail_msg("oversized headers: status %d", st);
	assert_null(strstr(r.resp != NULL ? r.resp : "", "abc.tp"));
	free(r.resp);
	free(r.raw);
	expect_status(fx, "GET", PREFIX "abc", 200);
}

static void
test_50_tokens_50_concurrent_clients_all_answered(void **state)
{
	struct fx	*fx = *state;
	struct req	 r[50];
	char		 tok[32], ka[64];
	int		 i;

	memset(r, 0, sizeof(r));
	for (i = 0; i < 50; i++) {
		snprintf(tok, sizeof(tok), "token-%02d", i);
		snprintf(ka, sizeof(ka), "token-%02d.key-authorization", i);
		assert_int_equal(chall_http_publish(fx->ch, tok, ka), 0);
	}
	assert_int_equal(chall_http_count(fx->ch), 50);
	for (i = 0; i < 50; i++) {
		r[i].family = AF_INET;
		assert_true(asprintf(&r[i].raw, "GET %stoken-%02d HTTP/1.1\r\n"
		    "Host: test\r\nConnection: close\r\n\r\n", PREFIX,
		    49 - i) != -1);
	}
	run_reqs(fx, r, 50);
	for (i = 0; i < 50; i++) {
		snprintf(ka, sizeof(ka), "token-%02d.key-authorization", 49 - i);
		assert_int_equal(status_of(r[i].resp), 200);
		assert_string_equal(body_of(r[i].resp), ka);
		/* HTTP/1.1 must not get a second, evhttp-made Content-Length */
		snprintf(tok, sizeof(tok), "Content-Length: %zu\r\n", strlen(ka));
		assert_non_null(strcasestr(r[i].resp, tok));
		assert_null(strcasestr(strcasestr(r[i].resp, "Content-Length") + 1,
		    "Content-Length"));
		free(r[i].resp);
		free(r[i].raw);
	}
}

static void
test_bind_failure_names_the_address(void **state)
{
	struct fx		*fx = *state;
	char			 addr[64], want[128];
	char			*listen[] = { addr };
	struct conf_http01	 cfg = { { listen, 1 }, NULL };
	char			 err[256];

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", fx->port);
	err[0] = '\0';
	assert_null(chall_http_new(fx->base, cfg.listen.v, cfg.listen.n, err,
	    sizeof(err)));
	snprintf(want, sizeof(want), "%s: %s", addr, strerror(EADDRINUSE));
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	/* the failed second server did not disturb the first */
	assert_int_equal(chall_http_publish(fx->ch, "abc", "abc.tp"), 0);
	expect_status(fx, "GET", PREFIX "abc", 200);
}

/* Returns a listening socket on 127.0.0.1 and its port in *port. */
static int
blocker(int *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Returns 1 if something accepts connections on 127.0.0.1:port. */
static int
port_open(int port)
{
	struct sockaddr_in	sin;
	int			fd, rc;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return rc;
}

static void
test_rebind_moves_in_place_or_not_at_all(void **state)
{
	struct fx	*fx = *state;
	char		 taken[64], freed[64], err[256], want[128];
	char		*bad[] = { freed, taken }, *good[] = { freed };
	char		*same[] = { freed };
	int		 bfd, fd, bport, fport, old = fx->port;

	assert_int_equal(chall_http_publish(fx->ch, "mv", "mv.tp"), 0);
	bfd = blocker(&bport);
	fd = blocker(&fport);
	close(fd);		/* a port free a moment ago */
	snprintf(taken, sizeof(taken), "127.0.0.1:%d", bport);
	snprintf(freed, sizeof(freed), "127.0.0.1:%d", fport);
	/* one address cannot be bound: nothing moves, the error names it */
	err[0] = '\0';
	assert_int_equal(chall_http_rebind(fx->ch, bad, 2, err, sizeof(err)),
	    -1);
	snprintf(want, sizeof(want), "%s: %s", taken, strerror(EADDRINUSE));
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	assert_int_equal(chall_http_port(fx->ch, 0), old);
	assert_int_equal(chall_http_port(fx->ch, 1), -1);
	assert_false(port_open(fport));		/* the new one closed again */
	expect_status(fx, "GET", PREFIX "mv", 200);
	/* it moves: the token published before is served on the new port */
	assert_int_equal(chall_http_rebind(fx->ch, good, 1, err, sizeof(err)),
	    0);
	assert_int_equal(chall_http_port(fx->ch, 0), fport);
	assert_false(port_open(old));
	fx->port = fport;
	expect_status(fx, "GET", PREFIX "mv", 200);
	/* the same list again: the socket stays (a second could not bind) */
	assert_int_equal(chall_http_rebind(fx->ch, same, 1, err, sizeof(err)),
	    0);
	expect_status(fx, "GET", PREFIX "mv", 200);
	close(bfd);
}

static void
test_bad_listen_syntax_names_the_entry(void **state)
{
	struct fx		*fx = *state;
	const char		*bad[] = { "localhost:80", "127.0.0.1", "[::1]80",
	    "[::1:80", "127.0.0.1:99999", "127.0.0.1:", "[127.0.0.1]:80",
	    "::1:80", ":80" };
	char			*listen[1];
	struct conf_http01	 cfg = { { listen, 1 }, NULL };
	char			 err[256];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		listen[0] = (char *)bad[i];
		err[0] = '\0';
		if (chall_http_new(fx->base, cfg.listen.v, cfg.listen.n, err,
	    sizeof(err)) != NULL)
			fail_msg("accepted %s", bad[i]);
		if (strstr(err, bad[i]) == NULL)
			fail_msg("error \"%s\" does not name %s", err, bad[i]);
	}
}

static void
test_ipv6_loopback_listener_serves(void **state)
{
	struct chall_http	*ch;
	struct fx		 fx6;
	char			*listen[] = { "[::1]:0" };
	struct conf_http01	 cfg = { { listen, 1 }, NULL };
	struct req		 r;
	char			 err[256];
	int			 fd;

	/* some sandboxes have no IPv6 at all */
	if ((fd = socket(AF_INET6, SOCK_STREAM, 0)) == -1)
		skip();
	close(fd);
	memset(&fx6, 0, sizeof(fx6));
	fx6.base = event_base_new();
	assert_non_null(fx6.base);
	if ((ch = chall_http_new(fx6.base, cfg.listen.v, cfg.listen.n, err,
	    sizeof(err))) == NULL) {
		event_base_free(fx6.base);
		if (strstr(err, strerror(EADDRNOTAVAIL)) != NULL)
			skip();
		fail_msg("chall_http_new: %s", err);
	}
	fx6.ch = ch;
	fx6.port = chall_http_port(ch, 0);
	assert_int_equal(chall_http_publish(ch, "v6", "v6.tp"), 0);
	memset(&r, 0, sizeof(r));
	r.family = AF_INET6;
	r.raw = "GET " PREFIX "v6 HTTP/1.0\r\n\r\n";
	run_reqs(&fx6, &r, 1);
	assert_int_equal(status_of(r.resp), 200);
	assert_string_equal(body_of(r.resp), "v6.tp");
	free(r.resp);
	chall_http_free(ch);
	event_base_free(fx6.base);
}

/* A socket systemd passed: served as it is (blocking, already listening), kept by a rebind. */
static void
test_adopted_socket_serves_and_survives_rebind(void **state)
{
	struct fx	 fx2;
	struct req	 r;
	char		 other[64], err[256];
	char		*listen[] = { other };
	int		 fd, ofd, port, oport;

	fd = blocker(&port);
	ofd = blocker(&oport);
	close(ofd);		/* a port free a moment ago */
	snprintf(other, sizeof(other), "127.0.0.1:%d", oport);
	memset(&fx2, 0, sizeof(fx2));
	fx2.base = event_base_new();
	assert_non_null(fx2.base);
	fx2.ch = chall_http_adopt(fx2.base, &fd, 1, err, sizeof(err));
	if (fx2.ch == NULL)
		fail_msg("chall_http_adopt: %s", err);
	assert_int_equal(chall_http_port(fx2.ch, 0), port);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	fx2.port = port;
	assert_int_equal(chall_http_publish(fx2.ch, "sa", "sa.tp"), 0);
	memset(&r, 0, sizeof(r));
	r.raw = "GET " PREFIX "sa HTTP/1.0\r\n\r\n";
	run_reqs(&fx2, &r, 1);
	assert_int_equal(status_of(r.resp), 200);
	assert_string_equal(body_of(r.resp), "sa.tp");
	free(r.resp);
	/* the inventory's addresses do not replace it */
	assert_int_equal(chall_http_rebind(fx2.ch, listen, 1, err,
	    sizeof(err)), 0);
	assert_int_equal(chall_http_port(fx2.ch, 0), port);
	assert_false(port_open(oport));
	memset(&r, 0, sizeof(r));
	r.raw = "GET " PREFIX "sa HTTP/1.0\r\n\r\n";
	run_reqs(&fx2, &r, 1);
	assert_int_equal(status_of(r.resp), 200);
	free(r.resp);
	chall_http_free(fx2.ch);
	event_base_free(fx2.base);
}

static char *
path2(const char *a, const char *b)
{
	char	*p;

	assert_true(asprintf(&p, "%s/%s", a, b) != -1);
	return p;
}

static void
test_webroot_writes_and_removes_files(void **state)
{
	struct fx		*fx = *state;
	struct chall_webroot	*ch;
	struct stat		 st;
	char			 err[256], buf[64];
	char			*www, *dir, *f1, *f2;
	const char		*t = getenv("TMPDIR");
	mode_t			 old;
	ssize_t			 n;
	int			 fd;

	snprintf(fx->tmp, sizeof(fx->tmp), "%s/renewd-chall-XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	assert_non_null(mkdtemp(fx->tmp));
	www = path2(fx->tmp, "www");
	assert_int_equal(mkdir(www, 0755), 0);
	dir = path2(www, ".well-known/acme-challenge");
	f1 = path2(dir, "tok1");
	f2 = path2(dir, "tok2");

	/* main sets umask 077; the web server must still be able to read */
	old = umask(077);
	ch = chall_webroot_new(www, err, sizeof(err));
	if (ch == NULL) {
		umask(old);
		fail_msg("chall_webroot_new: %s", err);
	}
	/* (the listener's port -1 check is gone: a webroot solver has no socket) */
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(chall_webroot_publish(ch, "tok1", "tok1.tp"), 0);
	assert_int_equal(chall_webroot_publish(ch, "tok2", "tok2.tp"), 0);
	umask(old);

	assert_int_equal(stat(f1, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_true((fd = open(f1, O_RDONLY)) != -1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_int_equal(n, 7);
	buf[n] = '\0';
	assert_string_equal(buf, "tok1.tp");

	/* counted like the listener: the file stays until the last withdraw */
	assert_int_equal(chall_webroot_publish(ch, "tok1", "tok1.tp"), 0);
	chall_webroot_withdraw(ch, "tok1");
	assert_int_equal(access(f1, F_OK), 0);
	chall_webroot_withdraw(ch, "tok1");
	assert_int_equal(access(f1, F_OK), -1);
	assert_int_equal(access(f2, F_OK), 0);
	/* free removes what is still published and leaves no temp files */
	chall_webroot_free(ch);
	assert_int_equal(access(f2, F_OK), -1);
	assert_int_equal(rmdir(dir), 0);

	free(www);
	free(dir);
	free(f1);
	free(f2);
}

/*
 * The web server's owner can write in the webroot: a .well-known or
 * acme-challenge link of theirs must not make renewd (root) write where
 * it points.
 */
static void
test_webroot_symlinks_are_refused_nothing_written_through(void **state)
{
	struct fx	*fx = *state;
	char		 err[512], want[PATH_MAX + 64];
	char		*www, *evil, *wk, *ac;
	const char	*t = getenv("TMPDIR");
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	snprintf(fx->tmp, sizeof(fx->tmp), "%s/renewd-chall-XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	assert_non_null(mkdtemp(fx->tmp));
	www = path2(fx->tmp, "www");
	evil = path2(fx->tmp, "evil");
	wk = path2(www, ".well-known");
	ac = path2(wk, "acme-challenge");
	assert_int_equal(mkdir(www, 0755), 0);
	assert_int_equal(mkdir(evil, 0777), 0);
	assert_int_equal(symlink(evil, wk), 0);
	assert_null(chall_webroot_new(www, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s is a symbolic link: refusing", wk);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	/* acme-challenge a link inside a real .well-known */
	assert_int_equal(unlink(wk), 0);
	assert_int_equal(mkdir(wk, 0755), 0);
	assert_int_equal(symlink(evil, ac), 0);
	assert_null(chall_webroot_new(www, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s is a symbolic link: refusing", ac);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	assert_non_null(d = opendir(evil));
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(n, 0);
	assert_int_equal(unlink(ac), 0);
	assert_int_equal(rmdir(wk), 0);
	assert_int_equal(rmdir(www), 0);
	assert_int_equal(rmdir(evil), 0);
	free(www);
	free(evil);
	free(wk);
	free(ac);
}

static void
test_webroot_missing_is_reported(void **state)
{
	char			 err[256];

	assert_null(chall_webroot_new("/nonexistent/renewd-www", err,
	    sizeof(err)));
	assert_non_null(strstr(err, "webroot /nonexistent/renewd-www:"));
	chall_webroot_free(NULL);
}

/* Runs the loop for ms milliseconds. */
static void
spin_loop(struct event_base *base, int ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static void
ready_cb(evutil_socket_t fd, short what, void *v)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(v);
}

/*
 * Forks a client that opens n connections to port and sends each the
 * start of a request line, then holds them until *quitfd is closed.
 * Serves the loop until every connection is established (or 5 s), then
 * returns the client's pid.
 */
static pid_t
flood_start(struct event_base *base, int port, int n, int *quitfd)
{
	struct sockaddr_in	 sin;
	struct rlimit		 rl;
	struct timeval		 tv = { 5, 0 };
	struct event		*ev;
	int			 ready[2], quit[2], i, fd;
	pid_t			 pid;
	char			 c;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(quit), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		close(ready[0]);
		close(quit[1]);
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		for (i = 0; i < n; i++) {
			if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
				break;
			/* completes once the kernel queues it for accept */
			if (connect(fd, (struct sockaddr *)&sin,
			    sizeof(sin)) == 0)
				(void)send(fd, "G", 1, MSG_NOSIGNAL);
		}
		c = 'r';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		(void)read(quit[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	close(quit[0]);
	ev = event_new(base, ready[0], EV_READ, ready_cb, base);
	assert_non_null(ev);
	event_add(ev, &tv);
	event_base_dispatch(base);
	event_free(ev);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	*quitfd = quit[1];
	return pid;
}

static void
flood_stop(pid_t pid, int quitfd)
{
	int	status;

	close(quitfd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

/*
 * 320 idle connections against a descriptor limit of 256: without a
 * connection limit the server runs out of descriptors and the validator's
 * connection waits in the backlog until the idle ones time out.
 */
static void
test_idle_connection_flood_does_not_lock_out_validator(void **state)
{
	struct fx		*fx = *state;
	char			*listen[] = { "127.0.0.1:0" };
	struct conf_http01	 cfg = { { listen, 1 }, NULL };
	struct rlimit		 rl, low;
	struct chall_http	*ch;
	char			 err[256];
	int			 port, quitfd;
	pid_t			 pid;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 256)
		skip();
	low = rl;
	low.rlim_cur = 256;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	ch = chall_http_new(fx->base, cfg.listen.v, cfg.listen.n, err,
	    sizeof(err));
	if (ch == NULL)
		fail_msg("chall_http_new: %s", err);
	port = chall_http_port(ch, 0);
	assert_int_equal(chall_http_publish(ch, "valid", "valid.tp"), 0);

	pid = flood_start(fx->base, port, 320, &quitfd);
	{
		struct req	r;
		char		*raw;

		memset(&r, 0, sizeof(r));
		r.family = AF_INET;
		r.port = port;
		assert_true(asprintf(&raw, "GET %svalid HTTP/1.1\r\nHost: t\r\n"
		    "\r\n", PREFIX) != -1);
		r.raw = raw;
		run_reqs(fx, &r, 1);
		assert_int_equal(status_of(r.resp), 200);
		assert_string_equal(body_of(r.resp), "valid.tp");
		free(r.resp);
		free(raw);
	}
	flood_stop(pid, quitfd);
	spin_loop(fx->base, 100);
	chall_http_free(ch);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

/* Counts occurrences of needle in hay. */
static int
count_of(const char *hay, const char *needle)
{
	int	n = 0;

	while (hay != NULL && (hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/*
 * Hostile request shapes, all at once: each gets at most one response and
 * never a key authorization it did not ask for, and the server goes on.
 */
static void
test_hostile_requests_get_one_answer_at_most(void **state)
{
	struct fx	*fx = *state;
	struct req	 r[7];
	size_t		 big = 64 * 1024, i;
	char		*huge, *bin;

	assert_int_equal(chall_http_publish(fx->ch, "abc", "abc.tp"), 0);
	assert_int_equal(chall_http_publish(fx->ch, "secret", "secret.tp"), 0);
	memset(r, 0, sizeof(r));
	for (i = 0; i < 7; i++)
		r[i].family = AF_INET;
	/* 0: pipelined: only the first is answered, the connection closes */
	assert_true(asprintf(&r[0].raw, "GET %sabc HTTP/1.1\r\nHost: t\r\n\r\n"
	    "GET %ssecret HTTP/1.1\r\nHost: t\r\n\r\n", PREFIX, PREFIX) != -1);
	/* 1: smuggling shape: Content-Length and chunked, a request inside */
	assert_true(asprintf(&r[1].raw, "GET %sabc HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	    "GET %ssecret HTTP/1.1\r\nHost: t\r\n\r\n", PREFIX, PREFIX) != -1);
	/* 2: a 64 KiB URI */
	huge = malloc(big + 128);
	assert_non_null(huge);
	i = (size_t)snprintf(huge, 128, "GET %s", PREFIX);
	memset(huge + i, 'a', big);
	snprintf(huge + i + big, 128, " HTTP/1.1\r\nHost: t\r\n\r\n");
	r[2].raw = huge;
	/* 3: binary garbage */
	bin = malloc(4096 + 1);
	assert_non_null(bin);
	for (i = 0; i < 4096; i++)
		bin[i] = (char)(1 + (i * 7919) % 255);
	bin[4096] = '\0';
	r[3].raw = bin;
	/* 4: an unknown method, 5: a body too large, 6: HTTP/0.9 */
	assert_true(asprintf(&r[4].raw, "BREW %ssecret HTTP/1.1\r\nHost: t\r\n"
	    "\r\n", PREFIX) != -1);
	assert_true(asprintf(&r[5].raw, "GET %ssecret HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: 100000000\r\n\r\nxxxx", PREFIX) != -1);
	assert_true(asprintf(&r[6].raw, "GET %ssecret\r\n\r\n", PREFIX) != -1);
	run_reqs(fx, r, 7);
	assert_int_equal(status_of(r[0].resp), 200);
	assert_int_equal(count_of(r[0].resp, "HTTP/1."), 1);
	for (i = 1; i < 7; i++) {
		if (count_of(r[i].resp, "HTTP/1.") > 1)
			fail_msg("request %zu: more than one response", i);
		if (i > 1 && strstr(r[i].resp != NULL ? r[i].resp : "",
		    "secret.tp") != NULL)
			fail_msg("request %zu: key authorization served", i);
	}
	for (i = 0; i < 7; i++) {
		free(r[i].resp);
		free(r[i].raw);
	}
	expect_status(fx, "GET", PREFIX "secret", 200);
}

/* A client that sends a lot and reads nothing must not stall the loop. */
static void
test_client_that_never_reads_does_not_block(void **state)
{
	struct fx		*fx = *state;
	struct sockaddr_in	 sin;
	char			*blob;
	size_t			 len = 4 * 1024 * 1024, off = 0;
	ssize_t			 n;
	int			 fd, tries;

	assert_int_equal(chall_http_publish(fx->ch, "abc", "abc.tp"), 0);
	blob = malloc(len);
	assert_non_null(blob);
	for (off = 0; off + 64 <= len; off += 64)
		memcpy(blob + off, "GET /.well-known/acme-challenge/abc HTTP/1.1"
		    "\r\nHost: t\r\n\r\n\r\n\r\n\r\n", 64);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(fd != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)fx->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 ||
	    errno == EINPROGRESS);
	/* push what the kernel takes, never reading the replies */
	for (off = 0, tries = 0; off < len && tries < 50; tries++) {
		spin_loop(fx->base, 10);
		while (off < len && (n = send(fd, blob + off, len - off,
		    MSG_NOSIGNAL)) > 0)
			off += (size_t)n;
	}
	expect_status(fx, "GET", PREFIX "abc", 200);
	close(fd);
	free(blob);
}

static void
pipe_event_cb(evutil_socket_t fd, short what, void *v)
{
	char	c;

	if (what & EV_READ)
		(void)read(fd, &c, 1);
	(*(int *)v)++;
}

/*
 * The descriptors of finished connections are reused at once; events on
 * the new descriptors must fire (a registration the loop still holds for
 * the old connection would swallow them: the daemon's curl sockets hang).
 */
static void
test_descriptors_of_closed_connections_serve_other_events(void **state)
{
	struct fx	*fx = *state;
	struct event	*ev[16][2];
	int		 p[16][2], fired = 0, i;

	assert_int_equal(chall_http_publish(fx->ch, "abc", "abc.tp"), 0);
	for (i = 0; i < 4; i++) {
		struct req	r;

		/* HTTP/1.1 as validators send it: the server closes first */
		memset(&r, 0, sizeof(r));
		r.family = AF_INET;
		r.raw = "GET " PREFIX "abc HTTP/1.1\r\nHost: t\r\n"
		    "Accept: */*\r\n\r\n";
		run_reqs(fx, &r, 1);
		assert_int_equal(status_of(r.resp), 200);
		free(r.resp);
	}
	spin_loop(fx->base, 50);
	/* both ends watched: whichever reuses the old number gets checked */
	for (i = 0; i < 16; i++) {
		assert_int_equal(pipe2(p[i], O_CLOEXEC | O_NONBLOCK), 0);
		ev[i][0] = event_new(fx->base, p[i][0], EV_READ, pipe_event_cb,
		    &fired);
		ev[i][1] = event_new(fx->base, p[i][1], EV_WRITE, pipe_event_cb,
		    &fired);
		assert_non_null(ev[i][0]);
		assert_non_null(ev[i][1]);
		assert_int_equal(event_add(ev[i][0], NULL), 0);
		assert_int_equal(event_add(ev[i][1], NULL), 0);
		assert_int_equal(write(p[i][1], "x", 1), 1);
	}
	spin_loop(fx->base, 200);
	for (i = 0; i < 16; i++) {
		event_free(ev[i][0]);
		event_free(ev[i][1]);
		close(p[i][0]);
		close(p[i][1]);
	}
	assert_int_equal(fired, 32);
	expect_status(fx, "GET", PREFIX "abc", 200);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_syntax_is_base64url_1_to_max),
		T(test_published_token_served_200_text_plain_exact_body),
		T(test_head_gets_200_without_body),
		T(test_unknown_token_and_other_paths_get_404),
		T(test_post_and_other_methods_are_refused),
		T(test_withdraw_makes_token_404),
		T(test_publish_twice_needs_two_withdraws),
		T(test_publish_rejects_malformed_tokens),
		T(test_oversized_headers_rejected_and_server_still_answers),
		T(test_50_tokens_50_concurrent_clients_all_answered),
		T(test_idle_connection_flood_does_not_lock_out_validator),
		T(test_hostile_requests_get_one_answer_at_most),
		T(test_client_that_never_reads_does_not_block),
		T(test_descriptors_of_closed_connections_serve_other_events),
		T(test_bind_failure_names_the_address),
		T(test_rebind_moves_in_place_or_not_at_all),
		T(test_bad_listen_syntax_names_the_entry),
		cmocka_unit_test(test_ipv6_loopback_listener_serves),
		cmocka_unit_test(test_adopted_socket_serves_and_survives_rebind),
		T(test_webroot_writes_and_removes_files),
		T(test_webroot_symlinks_are_refused_nothing_written_through),
		T(test_webroot_missing_is_reported),
	};

	log_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
