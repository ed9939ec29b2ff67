/* test_http.c - daemon/http.c against a real evhttp server on 127.0.0.1 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>

#include "http.h"
#include "log.h"

#define NRES	32

struct srv {
	struct event_base	*base;
	struct evhttp		*http;
	SSL_CTX			*ssl;
	int			 port;
	int			 nconn;		/* connections accepted */
	int			 nreq;		/* requests seen */
};

struct fx;

struct result {
	struct fx	*fx;
	int		 done;
	long		 status;
	char		*error;
	char		*body;
	size_t		 body_len;
	char		*location;
	char		*nonce;
	char		*retry;
	char		*ctype;
	char		*links[4];
	size_t		 nlinks;
	double		 ms;		/* completion time since fx->t0 */
	int		 not_sent;
	size_t		 streamed;	/* bytes given to on_data */
	int		 abort_stream;	/* on_data refuses the first piece */
};

struct fx {
	struct event_base	*base;
	struct srv		 srv;
	struct http_client	*c;
	struct result		 res[NRES];
	int			 ndone;
	struct timespec		 t0;
	char			 tmpdir[64];	/* TLS material, when used */
	/* callback behaviour switches */
	struct http_req		*victim;	/* cancelled by cancel_other_cb */
	int			 chain;		/* requests still to start in chain_cb */
	int			 chain_failed;
};

static double
elapsed_ms(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

static char *
xstrdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* ---- the test server -------------------------------------------------- */

static struct bufferevent *
srv_bevcb(struct event_base *base, void *arg)
{
	struct srv *s = arg;

	s->nconn++;
	if (s->ssl != NULL)
		return bufferevent_openssl_socket_new(base, -1, SSL_new(s->ssl),
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

static long
query_long(struct evhttp_request *req, const char *key)
{
	struct evkeyvalq	 q;
	const char		*qs, *v;
	long			 n = 0;

	qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	if (qs == NULL || evhttp_parse_query_str(qs, &q) != 0)
		return 0;
	if ((v = evhttp_find_header(&q, key)) != NULL)
		n = strtol(v, NULL, 10);
	evhttp_clear_headers(&q);
	return n;
}

static void
slow_reply(evutil_socket_t fd, short what, void *arg)
{
	struct evhttp_request *req = arg;

	(void)fd;
	(void)what;
	evhttp_send_reply(req, 200, "OK", NULL);
}

static void
srv_handle(struct evhttp_request *req, void *arg)
{
	struct srv		*s = arg;
	struct evkeyvalq	*oh = evhttp_request_get_output_headers(req);
	struct evbuffer		*out = evhttp_request_get_output_buffer(req);
	const char		*path, *ct;
	long			 n, i;
	char			 chunk[1024];

	s->nreq++;
	path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (path == NULL)
		path = "/";
	if (strcmp(path, "/get") == 0) {
		evhttp_add_header(oh, "Content-Type", "application/json");
		evhttp_add_header(oh, "replay-nonce", "  nonce-abc  ");
		evhttp_add_header(oh, "Location", "http://example.test/order/1");
		evhttp_add_header(oh, "RETRY-AFTER", "120");
		evhttp_add_header(oh, "Link",
		    "<http://example.test/dir>;rel=\"index\"");
		evhttp_add_header(oh, "Link",
		    "<http://example.test/cert/1>;rel=\"alternate\"");
		evbuffer_add_printf(out, "hello world");
		evhttp_send_reply(req, 200, "OK", NULL);
	} else if (strcmp(path, "/echo") == 0) {
		/* "<method> <body>", with the request's Content-Type */
		ct = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "Content-Type");
		if (ct != NULL)
			evhttp_add_header(oh, "Content-Type", ct);
		evbuffer_add_printf(out, "%s ",
		    evhttp_request_get_command(req) == EVHTTP_REQ_POST ?
		    "POST" : "OTHER");
		evbuffer_add_buffer(out, evhttp_request_get_input_buffer(req));
		evhttp_send_reply(req, 200, "OK", NULL);
	} else if (strcmp(path, "/size") == 0) {
		n = query_long(req, "n");
		memset(chunk, 'x', sizeof(chunk));
		for (i = 0; i < n; i += (long)sizeof(chunk))
			evbuffer_add(out, chunk, (size_t)(n - i) < sizeof(chunk) ?
			    (size_t)(n - i) : sizeof(chunk));
		evhttp_send_reply(req, 200, "OK", NULL);
	} else if (strcmp(path, "/chunked") == 0) {
		/* no Content-Length: only the write callback can catch it */
		n = query_long(req, "n");
		memset(chunk, 'y', sizeof(chunk));
		evhttp_send_reply_start(req, 200, "OK");
		for (i = 0; i < n; i += (long)sizeof(chunk)) {
			struct evbuffer *b = evbuffer_new();

			evbuffer_add(b, chunk, (size_t)(n - i) < sizeof(chunk) ?
			    (size_t)(n - i) : sizeof(chunk));
			evhttp_send_reply_chunk(req, b);
			evbuffer_free(b);
		}
		evhttp_send_reply_end(req);
	} else if (strcmp(path, "/slow") == 0) {
		struct timeval tv;

		n = query_long(req, "ms");
		tv.tv_sec = n / 1000;
		tv.tv_usec = (n % 1000) * 1000;
		evbuffer_add_printf(out, "slow");
		event_base_once(s->base, -1, EV_TIMEOUT, slow_reply, req, &tv);
	} else if (strcmp(path, "/hang") == 0) {
		/* never answered; evhttp frees it when the client hangs up */
	} else if (strcmp(path, "/redirect") == 0) {
		evhttp_add_header(oh, "Location", "/get");
		evbuffer_add_printf(out, "moved");
		evhttp_send_reply(req, 302, "Found", NULL);
	} else
		evhttp_send_error(req, 404, NULL);
}

static int
srv_start(struct srv *s, struct event_base *base, SSL_CTX *ssl)
{
	struct evhttp_bound_socket	*h;
	struct sockaddr_in		 sin;
	socklen_t			 slen = sizeof(sin);

	memset(s, 0, sizeof(*s));
	s->base = base;
	s->ssl = ssl;
	if ((s->http = evhttp_new(base)) == NULL)
		return -1;
	evhttp_set_gencb(s->http, srv_handle, s);
	evhttp_set_bevcb(s->http, srv_bevcb, s);
	if ((h = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0)) == NULL)
		return -1;
	if (getsockname(evhttp_bound_socket_get_fd(h), (struct sockaddr *)&sin,
	    &slen) == -1)
		return -1;
	s->port = ntohs(sin.sin_port);
	return 0;
}

/* ---- fixture and helpers ---------------------------------------------- */

static int
setup(void **state)
{
	struct fx *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	if ((fx->base = event_base_new()) == NULL ||
	    srv_start(&fx->srv, fx->base, NULL) == -1 ||
	    (fx->c = http_client_new(fx->base, "renewd-test/1")) == NULL)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &fx->t0);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;
	size_t		 i, j;
	char		 p[128];

	http_client_free(fx->c);
	evhttp_free(fx->srv.http);
	SSL_CTX_free(fx->srv.ssl);
	event_base_free(fx->base);
	for (i = 0; i < NRES; i++) {
		struct result *r = &fx->res[i];

		free(r->error);
		free(r->body);
		free(r->location);
		free(r->nonce);
		free(r->retry);
		free(r->ctype);
		for (j = 0; j < r->nlinks; j++)
			free(r->links[j]);
	}
	if (fx->tmpdir[0] != '\0') {
		snprintf(p, sizeof(p), "%s/cert.pem", fx->tmpdir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/key.pem", fx->tmpdir);
		unlink(p);
		rmdir(fx->tmpdir);
	}
	free(fx);
	return 0;
}

static void
record(const struct http_response *resp, void *arg)
{
	struct result	*r = arg;
	size_t		 i;

	r->done++;
	r->status = resp->status;
	r->error = xstrdup(resp->error);
	assert_non_null(resp->body);
	assert_int_equal(resp->body[resp->body_len], '\0');
	r->body = malloc(resp->body_len + 1);
	memcpy(r->body, resp->body, resp->body_len + 1);
	r->body_len = resp->body_len;
	r->location = xstrdup(resp->location);
	r->nonce = xstrdup(resp->replay_nonce);
	r->retry = xstrdup(resp->retry_after);
	r->ctype = xstrdup(resp->content_type);
	for (i = 0; i < resp->nlinks && i < 4; i++)
		r->links[i] = xstrdup(resp->links[i]);
	r->nlinks = resp->nlinks;
	r->not_sent = resp->not_sent;
	r->ms = elapsed_ms(&r->fx->t0);
	r->fx->ndone++;
}

static void
expired_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Runs the loop until target callbacks have run or ms have passed. */
static void
run_until(struct fx *fx, int target, long ms)
{
	struct event	*ev;
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };
	int		 expired = 0;

	ev = evtimer_new(fx->base, expired_cb, &expired);
	assert_non_null(ev);
	evtimer_add(ev, &tv);
	while (fx->ndone < target && !expired)
		event_base_loop(fx->base, EVLOOP_ONCE);
	event_free(ev);
}

static struct http_req *
start(struct fx *fx, int i, const char *method, const char *path,
    const char *body, const struct http_opts *o)
{
	char url[256];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", fx->srv.port, path);
	fx->res[i].fx = fx;
	return http_request(fx->c, method, url, body, body ? strlen(body) : 0,
	    o, record, &fx->res[i]);
}

static void
assert_ok(const struct result *r, long status)
{
	if (r->error != NULL)
		fail_msg("unexpected error: %s", r->error);
	assert_int_equal(r->done, 1);
	assert_int_equal(r->status, status);
}

static void
assert_failed(const struct result *r, const char *needle)
{
	assert_int_equal(r->done, 1);
	assert_int_equal(r->status, 0);
	assert_non_null(r->error);
	if (strstr(r->error, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", r->error, needle);
}

/* ---- tests ------------------------------------------------------------ */

static void
get_returns_status_body_and_captured_headers(void **state)
{
	struct fx *fx = *state;

	assert_non_null(start(fx, 0, "GET", "/get", NULL, NULL));
	assert_int_equal(http_pending(fx->c), 1);
	run_until(fx, 1, 5000);
	assert_ok(&fx->res[0], 200);
	assert_string_equal(fx->res[0].body, "hello world");
	assert_int_equal(fx->res[0].body_len, 11);
	assert_string_equal(fx->res[0].nonce, "nonce-abc");
	assert_string_equal(fx->res[0].location, "http://example.test/order/1");
	assert_string_equal(fx->res[0].retry, "120");
	assert_string_equal(fx->res[0].ctype, "application/json");
	assert_int_equal(fx->res[0].nlinks, 2);
	assert_string_equal(fx->res[0].links[0],
	    "<http://example.test/dir>;rel=\"index\"");
	assert_string_equal(fx->res[0].links[1],
	    "<http://example.test/cert/1>;rel=\"alternate\"");
	assert_int_equal(http_pending(fx->c), 0);
}

static void
head_and_absent_headers_are_null(void **state)
{
	struct fx *fx = *state;

	assert_non_null(start(fx, 0, "HEAD", "/size?n=10", NULL, NULL));
	run_until(fx, 1, 5000);
	assert_ok(&fx->res[0], 200);
	assert_int_equal(fx->res[0].body_len, 0);
	assert_null(fx->res[0].nonce);
	assert_null(fx->res[0].location);
	assert_null(fx->res[0].retry);
	assert_int_equal(fx->res[0].nlinks, 0);
}

static void
redirect_is_reported_not_followed(void **state)
{
	struct fx *fx = *state;

	assert_non_null(start(fx, 0, "GET", "/redirect", NULL, NULL));
	run_until(fx, 1, 5000);
	assert_ok(&fx->res[0], 302);
	assert_string_equal(fx->res[0].location, "/get");
	assert_string_equal(fx->res[0].body, "moved");
	assert_int_equal(fx->srv.nreq, 1);
}

static void
post_sends_body_and_content_type(void **state)
{
	struct fx		*fx = *state;
	struct http_opts	 o = { .content_type = "application/jose+json" };
	char			*big;
	size_t			 n = 200 * 1024;

	assert_non_null(start(fx, 0, "POST", "/echo", "{\"a\":1}", &o));
	/* a big body must not stall on "Expect: 100-continue" */
	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'z', n);
	big[n] = '\0';
	assert_non_null(start(fx, 1, "POST", "/echo", big, &o));
	free(big);		/* the client must have its own copy */
	run_until(fx, 2, 5000);
	assert_ok(&fx->res[0], 200);
	assert_string_equal(fx->res[0].body, "POST {\"a\":1}");
	assert_string_equal(fx->res[0].ctype, "application/jose+json");
	assert_ok(&fx->res[1], 200);
	assert_int_equal(fx->res[1].body_len, n + 5);
	assert_true(fx->res[1].ms < 900);
}

static void
body_exactly_at_cap_succeeds(void **state)
{
	struct fx		*fx = *state;
	struct http_opts	 o = { .max_body = 1000 };

	assert_non_null(start(fx, 0, "GET", "/size?n=1000", NULL, &o));
	assert_non_null(start(fx, 1, "GET", "/chunked?n=1000", NULL, &o));
	run_until(fx, 2, 5000);
	assert_ok(&fx->res[0], 200);
	assert_int_equal(fx->res[0].body_len, 1000);
	assert_ok(&fx->res[1], 200);
	assert_int_equal(fx->res[1].body_len, 1000);
}

static void
body_over_cap_fails_that_request_and_client_goes_on(void **state)
{
	struct fx		*fx = *state;
	struct http_opts	 o = { .max_body = 1000 };

	/* with Content-Length, and chunked (caught in the write callback) */
	assert_non_null(start(fx, 0, "GET", "/size?n=5000", NULL, &o));
	assert_non_null(start(fx, 1, "GET", "/chunked?n=5000", NULL, &o));
	/* default cap, 2 MiB */
	assert_non_null(start(fx, 2, "GET", "/size?n=2097152", NULL, NULL));
	assert_non_null(start(fx, 3, "GET", "/chunked?n=2097152", NULL, NULL));
	run_until(fx, 4, 5000);
	assert_failed(&fx->res[0], "exceeds 1000 bytes");
	assert_failed(&fx->res[1], "exceeds 1000 bytes");
	assert_failed(&fx->res[2], "exceeds 1048576 bytes");
	assert_failed(&fx->res[3], "exceeds 1048576 bytes");
	assert_int_equal(fx->res[3].body_len, 0);

	assert_non_null(start(fx, 4, "GET", "/get", NULL, NULL));
	run_until(fx, 5, 5000);
	assert_ok(&fx->res[4], 200);
	assert_string_equal(fx->res[4].body, "hello world");
}

static void
timeout_fails_only_that_request(void **state)
{
	struct fx		*fx = *state;
	struct http_opts	 o = { .timeout_ms = 300 };
	int			 i;

	assert_non_null(start(fx, 0, "GET", "/hang", NULL, &o));
	for (i = 1; i <= 5; i++)
		assert_non_null(start(fx, i, "GET", "/slow?ms=150", NULL, NULL));
	run_until(fx, 6, 5000);
	assert_failed(&fx->res[0], "timed out after 300 ms");
	assert_true(fx->res[0].ms >= 280);
	assert_true(fx->res[0].ms < 1500);
	for (i = 1; i <= 5; i++) {
		assert_ok(&fx->res[i], 200);
		assert_string_equal(fx->res[i].body, "slow");
		/* they were in flight together with the hung one */
		assert_true(fx->res[i].ms < fx->res[0].ms);
	}
	assert_int_equal(http_pending(fx->c), 0);
}

static void
connection_refused_fails_only_that_request(void **state)
{
	struct fx		*fx = *state;
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof(sin);
	char			 url[128];
	int			 s, port;

	/* a port that was just free and is now closed */
	s = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &slen), 0);
	port = ntohs(sin.sin_port);
	close(s);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	fx->res[0].fx = fx;
	assert_non_null(http_request(fx->c, "GET", url, NULL, 0, NULL, record,
	    &fx->res[0]));
	assert_non_null(start(fx, 1, "GET", "/get", NULL, NULL));
	run_until(fx, 2, 5000);
	assert_failed(&fx->res[0], "onnect");
	assert_ok(&fx->res[1], 200);
}

/* http_opts.on_data: the body streams to the callback, none is kept. */
static int
stream_cb(const char *data, size_t len, void *arg)
{
	struct result *r = arg;

	(void)data;
	if (r->abort_stream)
		return -1;
	r->streamed += len;
	return 0;
}

static void
streamed_body_goes_to_on_data(void **state)
{
	struct fx		*fx = *state;
	struct http_opts	 o = { .on_data = stream_cb, .max_body = 1000 };

	assert_non_null(start(fx, 0, "GET", "/chunked?n=50000", NULL, &o));
	fx->res[1].abort_stream = 1;
	assert_non_null(start(fx, 1, "GET", "/chunked?n=5000", NULL, &o));
	run_until(fx, 2, 5000);
	assert_ok(&fx->res[0], 200);
	assert_int_equal(fx->res[0].streamed, 50000);	/* max_body is the caller's */
	assert_int_equal(fx->res[0].body_len, 0);
	assert_int_equal(fx->res[1].done, 1);
	assert_non_null(fx->res[1].error);
	assert_int_equal(fx->res[1].streamed, 0);
}

/* not_sent: refused (nothing written) versus timed out after sending. */
static void
not_sent_only_when_no_byte_was_written(void **state)
{
	struct fx		*fx = *state;
	struct http_opts	 o = { .timeout_ms = 300 };
	char			 url[64];

	assert_non_null(start(fx, 0, "GET", "/get", NULL, NULL));
	run_until(fx, 1, 5000);
	assert_ok(&fx->res[0], 200);
	assert_int_equal(fx->res[0].not_sent, 0);
	/* on the connection the first one left open: no new connect */
	assert_non_null(start(fx, 1, "POST", "/hang", "{}", &o));
	run_until(fx, 2, 5000);
	assert_failed(&fx->res[1], "timed out");
	assert_int_equal(fx->res[1].not_sent, 0);
	assert_int_equal(fx->srv.nconn, 1);
	/* port 1 on loopback: refused */
	snprintf(url, sizeof(url), "http://127.0.0.1:1/");
	fx->res[2].fx = fx;
	assert_non_null(http_request(fx->c, "POST", url, "{}", 2, NULL, record,
	    &fx->res[2]));
	run_until(fx, 3, 5000);
	assert_failed(&fx->res[2], "onnect");
	assert_int_equal(fx->res[2].not_sent, 1);
}

static void
non_http_protocols_are_refused(void **state)
{
	struct fx		*fx = *state;
	struct http_req		*r;

	fx->res[0].fx = fx;
	r = http_request(fx->c, "GET", "file:///etc/passwd", NULL, 0, NULL,
	    record, &fx->res[0]);
	if (r != NULL) {
		run_until(fx, 1, 5000);
		assert_int_equal(fx->res[0].done, 1);
		assert_int_equal(fx->res[0].status, 0);
		assert_non_null(fx->res[0].error);
		assert_int_equal(fx->res[0].body_len, 0);
	}
	assert_null(http_request(fx->c, "DELETE", "http://127.0.0.1:1/", NULL,
	    0, NULL, record, &fx->res[1]));
	assert_int_equal(fx->res[1].done, 0);
}

/* https_only: a plain-http URL fails in libcurl, before any connection. */
static void
https_only_refuses_plain_http(void **state)
{
	struct fx		*fx = *state;
	struct http_opts	 opts = { .https_only = 1 };
	char			 url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/get", fx->srv.port);
	fx->res[0].fx = fx;
	assert_non_null(http_request(fx->c, "GET", url, NULL, 0, &opts,
	    record, &fx->res[0]));
	run_until(fx, 1, 5000);
	assert_int_equal(fx->res[0].done, 1);
	assert_int_equal(fx->res[0].status, 0);
	assert_non_null(fx->res[0].error);
	assert_non_null(strstr(fx->res[0].error, "http"));
	assert_int_equal(fx->srv.nreq, 0);
}

static void
twenty_concurrent_requests_complete(void **state)
{
	struct fx	*fx = *state;
	char		 body[32], want[40];
	int		 i;

	for (i = 0; i < 20; i++) {
		snprintf(body, sizeof(body), "req-%d", i);
		assert_non_null(start(fx, i, "POST", "/echo", body, NULL));
	}
	assert_int_equal(http_pending(fx->c), 20);
	run_until(fx, 20, 5000);
	for (i = 0; i < 20; i++) {
		snprintf(want, sizeof(want), "POST req-%d", i);
		assert_ok(&fx->res[i], 200);
		assert_string_equal(fx->res[i].body, want);
	}
	/* CURLMOPT_MAX_HOST_CONNECTIONS keeps the fan-out bounded */
	assert_true(fx->srv.nconn <= 8);
	assert_int_equal(http_pending(fx->c), 0);
}

/* Starts the next request from inside the previous one's callback. */
static void
chain_cb(const struct http_response *resp, void *arg)
{
	struct result	*r = arg;
	struct fx	*fx = r->fx;
	int		 i = fx->ndone;	/* r is fx->res[i] */

	record(resp, arg);
	if (fx->chain > 0 && i + 1 < NRES) {
		fx->chain--;
		fx->res[i + 1].fx = fx;
		if (http_request(fx->c, "GET", resp->url, NULL, 0, NULL,
		    chain_cb, &fx->res[i + 1]) == NULL)
			fx->chain_failed = 1;
	}
}

/* Like chain_cb, for many requests: counts instead of recording. */
static void
bench_cb(const struct http_response *resp, void *arg)
{
	struct fx *fx = arg;

	if (resp->status != 200 || resp->body_len != 11)
		fx->chain_failed = 1;
	fx->ndone++;
	if (fx->chain > 0) {
		fx->chain--;
		if (http_request(fx->c, "GET", resp->url, NULL, 0, NULL,
		    bench_cb, fx) == NULL)
			fx->chain_failed = 1;
	}
}

static void
sequential_gets_reuse_one_connection(void **state)
{
	struct fx	*fx = *state;
	char		 url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/get", fx->srv.port);
	fx->chain = 1;
	fx->res[0].fx = fx;
	assert_non_null(http_request(fx->c, "GET", url, NULL, 0, NULL,
	    chain_cb, &fx->res[0]));
	run_until(fx, 2, 5000);
	assert_false(fx->chain_failed);
	assert_ok(&fx->res[0], 200);
	assert_ok(&fx->res[1], 200);
	assert_int_equal(fx->srv.nreq, 2);
	assert_int_equal(fx->srv.nconn, 1);
}

static void
cancel_never_calls_back(void **state)
{
	struct fx	*fx = *state;
	struct http_req	*a, *b;

	/* before it ever ran */
	a = start(fx, 0, "GET", "/get", NULL, NULL);
	assert_non_null(a);
	http_cancel(a);
	/* while it waits on the server */
	b = start(fx, 1, "GET", "/hang", NULL, NULL);
	assert_non_null(b);
	run_until(fx, 1, 150);
	assert_int_equal(fx->srv.nreq, 1);
	assert_int_equal(http_pending(fx->c), 1);
	http_cancel(b);
	assert_int_equal(http_pending(fx->c), 0);
	http_cancel(NULL);

	assert_non_null(start(fx, 2, "GET", "/get", NULL, NULL));
	run_until(fx, 1, 5000);
	run_until(fx, 2, 100);	/* give stray callbacks a chance */
	assert_int_equal(fx->res[0].done, 0);
	assert_int_equal(fx->res[1].done, 0);
	assert_ok(&fx->res[2], 200);
	assert_int_equal(fx->ndone, 1);
}

static void
cancel_other_cb(const struct http_response *resp, void *arg)
{
	struct result *r = arg;

	record(resp, arg);
	http_cancel(r->fx->victim);
	r->fx->victim = NULL;
	assert_int_equal(http_pending(r->fx->c), 0);
}

static void
callback_may_cancel_another_request(void **state)
{
	struct fx	*fx = *state;
	char		 url[128];

	fx->victim = start(fx, 1, "GET", "/hang", NULL, NULL);
	assert_non_null(fx->victim);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/get", fx->srv.port);
	fx->res[0].fx = fx;
	assert_non_null(http_request(fx->c, "GET", url, NULL, 0, NULL,
	    cancel_other_cb, &fx->res[0]));
	run_until(fx, 1, 5000);
	run_until(fx, 2, 100);
	assert_ok(&fx->res[0], 200);
	assert_int_equal(fx->res[1].done, 0);
}

static void
callback_may_cancel_its_own_request(void **state)
{
	struct fx	*fx = *state;
	char		 url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/get", fx->srv.port);
	fx->res[0].fx = fx;
	fx->victim = http_request(fx->c, "GET", url, NULL, 0, NULL,
	    cancel_other_cb, &fx->res[0]);
	assert_non_null(fx->victim);
	run_until(fx, 1, 5000);
	run_until(fx, 2, 100);
	assert_ok(&fx->res[0], 200);
	assert_int_equal(fx->ndone, 1);
}

static void
free_client_cb(const struct http_response *resp, void *arg)
{
	struct result *r = arg;

	record(resp, arg);
	http_client_free(r->fx->c);
	r->fx->c = NULL;
}

static void
callback_may_free_the_client(void **state)
{
	struct fx	*fx = *state;
	char		 url[128];
	int		 i;

	/* several finish in the same loop pass; the first frees everything */
	for (i = 0; i < 3; i++)
		assert_non_null(start(fx, i, "GET", "/hang", NULL, NULL));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/get", fx->srv.port);
	for (i = 3; i < 6; i++) {
		fx->res[i].fx = fx;
		assert_non_null(http_request(fx->c, "GET", url, NULL, 0, NULL,
		    free_client_cb, &fx->res[i]));
	}
	run_until(fx, 1, 5000);
	run_until(fx, 2, 200);
	assert_null(fx->c);
	assert_int_equal(fx->ndone, 1);
	http_client_free(NULL);
}

static int
make_cert(struct fx *fx)
{
	char cmd[512];

	snprintf(fx->tmpdir, sizeof(fx->tmpdir), "/tmp/test_http.XXXXXX");
	if (mkdtemp(fx->tmpdir) == NULL) {
		fx->tmpdir[0] = '\0';
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec "
	    "-pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
	    "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
	    "-keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1",
	    fx->tmpdir, fx->tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Swaps the plain server for a TLS one with a fresh self-signed cert. */
static void
start_tls_server(struct fx *fx)
{
	SSL_CTX	*ctx;
	char	 p[128];

	if (make_cert(fx) == -1)
		skip();		/* no openssl CLI */
	ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(ctx);
	snprintf(p, sizeof(p), "%s/cert.pem", fx->tmpdir);
	assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, p), 1);
	snprintf(p, sizeof(p), "%s/key.pem", fx->tmpdir);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, p, SSL_FILETYPE_PEM), 1);
	evhttp_free(fx->srv.http);
	assert_int_equal(srv_start(&fx->srv, fx->base, ctx), 0);
}

static void
https_verifies_against_ca_bundle(void **state)
{
	struct fx		*fx = *state;
	struct http_opts	 o = { 0 };
	char			 ca[128], url[128];

	start_tls_server(fx);
	snprintf(ca, sizeof(ca), "%s/cert.pem", fx->tmpdir);
	o.ca_bundle = ca;
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/get", fx->srv.port);
	fx->res[0].fx = fx;
	assert_non_null(http_request(fx->c, "GET", url, NULL, 0, &o, record,
	    &fx->res[0]));
	run_until(fx, 1, 5000);
	assert_ok(&fx->res[0], 200);
	assert_string_equal(fx->res[0].body, "hello world");
	assert_string_equal(fx->res[0].nonce, "nonce-abc");
}

static void
https_without_trusted_ca_fails_with_certificate_error(void **state)
{
	struct fx	*fx = *state;
	char		 url[128];

	start_tls_server(fx);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/get", fx->srv.port);
	fx->res[0].fx = fx;
	assert_non_null(http_request(fx->c, "GET", url, NULL, 0, NULL, record,
	    &fx->res[0]));
	run_until(fx, 1, 5000);
	assert_failed(&fx->res[0], "certificate");
	assert_int_equal(fx->srv.nreq, 0);
}

static void
many_sequential_requests_share_one_connection(void **state)
{
	struct fx	*fx = *state;
	struct rusage	 ru0, ru1;
	double		 cpu_us, wall;
	char		 url[128];
	int		 n = 300;

	/* a chain of n GETs, each started from the previous callback */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/get", fx->srv.port);
	fx->chain = n - 1;
	getrusage(RUSAGE_SELF, &ru0);
	clock_gettime(CLOCK_MONOTONIC, &fx->t0);
	assert_non_null(http_request(fx->c, "GET", url, NULL, 0, NULL,
	    bench_cb, fx));
	run_until(fx, n, 8000);
	wall = elapsed_ms(&fx->t0);
	getrusage(RUSAGE_SELF, &ru1);
	assert_false(fx->chain_failed);
	assert_int_equal(fx->ndone, n);
	assert_int_equal(fx->srv.nconn, 1);
	cpu_us = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec +
	    ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1e6 +
	    (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec +
	    ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec);
	printf("# %d requests: %.0f us CPU and %.0f us wall per request "
	    "(client and server together)\n", n, cpu_us / n, wall * 1e3 / n);
}

/* ---- a hostile CA: raw bytes from a thread ----------------------------- */

enum raw_mode {
	RAW_ENDLESS_HEADERS,	/* short header lines, forever */
	RAW_GIANT_HEADER,	/* one header line of megabytes */
	RAW_1XX_STORM,		/* "100 Continue" forever */
	RAW_TRICKLE_BODY,	/* one body byte every 20 ms */
	RAW_GZIP,		/* Content-Encoding: gzip on a non-gzip body */
	RAW_EMPTY_VALUES,	/* headers with no value */
	RAW_NO_COLON,		/* a header line that is only a name */
	RAW_NUL_VALUES,		/* header values with a NUL byte inside */
};

struct raw {
	enum raw_mode	 mode;
	int		 lfd;
	int		 port;
	pthread_t	 thr;
	size_t		 sent;		/* bytes written to the client */
};

#define RAW_SENDS(rs, fd, s)	raw_send(rs, fd, s, strlen(s))

/* Writes all of s; returns -1 once the client has gone. */
static int
raw_send(struct raw *rs, int fd, const char *s, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		if ((w = send(fd, s, n, MSG_NOSIGNAL)) <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
		rs->sent += (size_t)w;
	}
	return 0;
}

static void *
raw_main(void *v)
{
	struct raw	*rs = v;
	struct timeval	 tv = { 10, 0 };
	char		 buf[4096], line[4096];
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd, i;

	if ((fd = accept(rs->lfd, NULL, NULL)) == -1)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* the request: read up to its blank line */
	while (got < sizeof(buf) - 1 && (n = recv(fd, buf + got,
	    sizeof(buf) - 1 - got, 0)) > 0) {
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			break;
	}
	/* everything bounded, so a client that does not hang up still ends */
	switch (rs->mode) {
	case RAW_ENDLESS_HEADERS:
		if (raw_send(rs, fd, "HTTP/1.1 200 OK\r\n", 17) == -1)
			break;
		for (i = 0; i < 100000; i++) {
			n = snprintf(line, sizeof(line), "X-Pad-%d: aaaaaaaa\r\n", i);
			if (raw_send(rs, fd, line, (size_t)n) == -1)
				break;
		}
		break;
	case RAW_GIANT_HEADER:
		if (raw_send(rs, fd, "HTTP/1.1 200 OK\r\nX-Big: ", 24) == -1)
			break;
		memset(line, 'a', sizeof(line));
		for (i = 0; i < 4096; i++)
			if (raw_send(rs, fd, line, sizeof(line)) == -1)
				break;
		break;
	case RAW_1XX_STORM:
		for (i = 0; i < 200000; i++)
			if (raw_send(rs, fd, "HTTP/1.1 100 Continue\r\n\r\n",
			    25) == -1)
				break;
		break;
	case RAW_TRICKLE_BODY:
		if (raw_send(rs, fd, "HTTP/1.1 200 OK\r\nContent-Length: "
		    "100000\r\n\r\n", 43) == -1)
			break;
		for (i = 0; i < 500; i++) {
			if (raw_send(rs, fd, "x", 1) == -1)
				break;
			usleep(20000);
		}
		break;
	case RAW_GZIP:
		RAW_SENDS(rs, fd, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
		    "Content-Length: 5\r\nConnection: close\r\n\r\nabcde");
		break;
	case RAW_EMPTY_VALUES:
		RAW_SENDS(rs, fd, "HTTP/1.1 200 OK\r\nReplay-Nonce:\r\n"
		    "Location: \t \r\nRetry-After:   \r\nContent-Type:\r\n"
		    "Link:\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
		break;
	case RAW_NUL_VALUES: {
		static const char resp[] = "HTTP/1.1 200 OK\r\n"
		    "Location: https://ca.test/order/1\0/other\r\n"
		    "Replay-Nonce: \0nonce\r\nLink: <https://ca.test/x>\0\r\n"
		    "Content-Length: 2\r\nConnection: close\r\n\r\nok";

		raw_send(rs, fd, resp, sizeof(resp) - 1);
		break;
	}
	case RAW_NO_COLON:
		RAW_SENDS(rs, fd, "HTTP/1.1 200 OK\r\nReplay-Nonce\r\n"
		    "Content-Length: 2\r\nConnection: close\r\n\r\nok");
		break;
	}
	close(fd);
	return NULL;
}

static void
raw_start(struct raw *rs, enum raw_mode mode)
{
	struct sockaddr_in	sin;
	socklen_t		slen = sizeof(sin);

	memset(rs, 0, sizeof(*rs));
	rs->mode = mode;
	rs->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(rs->lfd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(rs->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(rs->lfd, 4), 0);
	assert_int_equal(getsockname(rs->lfd, (struct sockaddr *)&sin, &slen), 0);
	rs->port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&rs->thr, NULL, raw_main, rs), 0);
}

static void
raw_stop(struct raw *rs)
{
	pthread_join(rs->thr, NULL);
	close(rs->lfd);
}

/* Requests / from rs and runs the loop until the callback (or 8 s). */
static void
raw_get(struct fx *fx, struct raw *rs, const struct http_opts *o)
{
	char	url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", rs->port);
	fx->res[0].fx = fx;
	assert_non_null(http_request(fx->c, "GET", url, NULL, 0, o, record,
	    &fx->res[0]));
	run_until(fx, 1, 8000);
}

static void
endless_headers_fail_fast_with_header_limit(void **state)
{
	struct fx	*fx = *state;
	struct raw	 rs;

	raw_start(&rs, RAW_ENDLESS_HEADERS);
	raw_get(fx, &rs, NULL);
	assert_failed(&fx->res[0], "response headers exceed");
	assert_true(fx->res[0].ms < 3000);
	raw_stop(&rs);
	/* a few socket buffers' worth, not the 2 MB on offer */
	assert_true(rs.sent < 1024 * 1024);
}

static void
giant_header_line_fails_fast(void **state)
{
	struct fx	*fx = *state;
	struct raw	 rs;

	raw_start(&rs, RAW_GIANT_HEADER);
	raw_get(fx, &rs, NULL);
	/* curl 7.88 says only "Out of memory" here, which misleads */
	assert_failed(&fx->res[0], "header");
	assert_true(fx->res[0].ms < 3000);
	raw_stop(&rs);
}

static void
informational_storm_fails_with_header_limit(void **state)
{
	struct fx	*fx = *state;
	struct raw	 rs;

	raw_start(&rs, RAW_1XX_STORM);
	raw_get(fx, &rs, NULL);
	assert_failed(&fx->res[0], "response headers exceed");
	assert_true(fx->res[0].ms < 3000);
	raw_stop(&rs);
}

static void
trickled_body_fails_at_the_request_timeout(void **state)
{
	struct fx		*fx = *state;
	struct http_opts	 o = { .timeout_ms = 400 };
	struct raw		 rs;

	raw_start(&rs, RAW_TRICKLE_BODY);
	raw_get(fx, &rs, &o);
	/* every read is quick; the whole request is what times out */
	assert_failed(&fx->res[0], "timed out after 400 ms");
	assert_true(fx->res[0].ms < 1500);
	assert_int_equal(fx->res[0].body_len, 0);
	raw_stop(&rs);
}

static void
content_encoding_is_not_decoded(void **state)
{
	struct fx	*fx = *state;
	struct raw	 rs;

	/* no Accept-Encoding: a gzip bomb is just its compressed bytes */
	raw_start(&rs, RAW_GZIP);
	raw_get(fx, &rs, NULL);
	assert_ok(&fx->res[0], 200);
	assert_int_equal(fx->res[0].body_len, 5);
	assert_string_equal(fx->res[0].body, "abcde");
	raw_stop(&rs);
}

static void
headers_without_value_count_as_absent(void **state)
{
	struct fx	*fx = *state;
	struct raw	 rs;

	raw_start(&rs, RAW_EMPTY_VALUES);
	raw_get(fx, &rs, NULL);
	assert_ok(&fx->res[0], 200);
	assert_string_equal(fx->res[0].body, "ok");
	/* an empty nonce or Location is no nonce or Location at all */
	assert_null(fx->res[0].nonce);
	assert_null(fx->res[0].location);
	assert_null(fx->res[0].retry);
	assert_null(fx->res[0].ctype);
	assert_int_equal(fx->res[0].nlinks, 0);
	raw_stop(&rs);
}

/*
 * curl refuses a NUL in a header: header_cb never sees one, and
 * tests/fuzz/fuzz_headers feeds it none (a NUL would cut a value short).
 */
static void
header_with_a_nul_fails_that_request(void **state)
{
	struct fx	*fx = *state;
	struct raw	 rs;

	raw_start(&rs, RAW_NUL_VALUES);
	raw_get(fx, &rs, NULL);
	assert_failed(&fx->res[0], "header");
	assert_null(fx->res[0].location);
	raw_stop(&rs);
}

static void
header_without_colon_fails_that_request(void **state)
{
	struct fx	*fx = *state;
	struct raw	 rs;

	raw_start(&rs, RAW_NO_COLON);
	raw_get(fx, &rs, NULL);
	assert_failed(&fx->res[0], "colon");
	raw_stop(&rs);
	/* and the client goes on */
	assert_non_null(start(fx, 1, "GET", "/get", NULL, NULL));
	run_until(fx, 2, 5000);
	assert_ok(&fx->res[1], 200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(get_returns_status_body_and_captured_headers),
		T(head_and_absent_headers_are_null),
		T(redirect_is_reported_not_followed),
		T(post_sends_body_and_content_type),
		T(body_exactly_at_cap_succeeds),
		T(body_over_cap_fails_that_request_and_client_goes_on),
		T(timeout_fails_only_that_request),
		T(connection_refused_fails_only_that_request),
		T(non_http_protocols_are_refused),
		T(streamed_body_goes_to_on_data),
		T(not_sent_only_when_no_byte_was_written),
		T(https_only_refuses_plain_http),
		T(twenty_concurrent_requests_complete),
		T(sequential_gets_reuse_one_connection),
		T(cancel_never_calls_back),
		T(callback_may_cancel_another_request),
		T(callback_may_cancel_its_own_request),
		T(callback_may_free_the_client),
		T(https_verifies_against_ca_bundle),
		T(https_without_trusted_ca_fails_with_certificate_error),
		T(many_sequential_requests_share_one_connection),
		T(endless_headers_fail_fast_with_header_limit),
		T(giant_header_line_fails_fast),
		T(informational_storm_fails_with_header_limit),
		T(trickled_body_fails_at_the_request_timeout),
		T(content_encoding_is_not_decoded),
		T(headers_without_value_count_as_absent),
		T(header_with_a_nul_fails_that_request),
		T(header_without_colon_fails_that_request),
#undef T
	};

	if (getenv("TEST_HTTP_DEBUG") != NULL)
		log_init(LOG_LVL_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
