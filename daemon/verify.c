/* verify.c - is the new certificate being served? one TLS handshake */
#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "validate.h"
#include "verify.h"
#include "xmalloc.h"

/*
 * The check compares, it does not trust: the handshake accepts any
 * certificate and the caller asks whether the leaf is the one just
 * installed (its SHA-256 fingerprint). One SSL_CTX serves every handshake;
 * the resolver exists only once a host name needs it.
 */

struct verify_req {
	struct verifier	*v;
	char		*addr;
	struct bufferevent *bev;
	struct event	*timer;		/* the timeout, or a deferred failure */
	char		*fail;
	verify_cb	 cb;
	void		*arg;
	TAILQ_ENTRY(verify_req) entry;
};

struct verifier {
	struct event_base *base;
	struct evdns_base *dns;
	SSL_CTX		*ctx;
	TAILQ_HEAD(, verify_req) reqs;
};

static void
req_free(struct verify_req *r)
{
	TAILQ_REMOVE(&r->v->reqs, r, entry);
	if (r->bev != NULL)
		bufferevent_free(r->bev);
	event_free(r->timer);
	free(r->addr);
	free(r->fail);
	free(r);
}

static void
req_done(struct verify_req *r, const char *fp, const char *serial,
    const char *error)
{
	r->cb(r->arg, fp, serial, error);
	req_free(r);
}

/* Fails with "verify ADDR: why". */
static void
req_fail(struct verify_req *r, const char *why)
{
	char	msg[512];

	snprintf(msg, sizeof(msg), "verify %s: %s", r->addr, why);
	req_done(r, NULL, NULL, msg);
}

static void
hexify(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t	i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static void
cert_fp(X509 *x, char fp[VERIFY_FP_LEN])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;

	X509_digest(x, EVP_sha256(), md, &mdlen);
	hexify(md, mdlen, fp);
}

/* Lower-case hex serial without leading zeros, as crypto.c writes it. */
static char *
cert_serial(X509 *x)
{
	BIGNUM	*bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char	*hex = bn != NULL ? BN_bn2hex(bn) : NULL, *s, *p;

	p = hex != NULL ? hex : "?";
	/* BN_bn2hex pads to whole bytes: "04b3..." is "4b3..." to crypto.c */
	while (p[0] == '0' && p[1] != '\0')
		p++;
	s = xstrdup(p);
	for (p = s; *p != '\0'; p++)
		*p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
	OPENSSL_free(hex);
	BN_free(bn);
	return s;
}

static void
handshake_done(struct verify_req *r)
{
	SSL	*ssl = bufferevent_openssl_get_ssl(r->bev);
	X509	*x = SSL_get1_peer_certificate(ssl);
	char	 fp[VERIFY_FP_LEN], *serial;

	if (x == NULL) {
		req_fail(r, "the server sent no certificate");
		return;
	}
	cert_fp(x, fp);
	serial = cert_serial(x);
	X509_free(x);
	req_done(r, fp, serial, NULL);
	free(serial);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct verify_req *r = arg;
	unsigned long	 e;
	char		 why[256];
	int		 dnserr;

	if (what & BEV_EVENT_CONNECTED) {
		handshake_done(r);
		return;
	}
	e = bufferevent_get_openssl_error(bev);
	if ((dnserr = bufferevent_socket_get_dns_error(bev)) != 0)
		snprintf(why, sizeof(why), "cannot resolve: %s",
		    evutil_gai_strerror(dnserr));
	else if (e != 0 && ERR_GET_LIB(e) != 0)
		snprintf(why, sizeof(why), "TLS handshake failed: %s",
		    ERR_reason_error_string(e) != NULL ?
		    ERR_reason_error_string(e) : "unknown reason");
	else if (EVUTIL_SOCKET_ERROR() != 0)
		/* libevent reports a failed connect(2) with errno */
		snprintf(why, sizeof(why), "%s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	else
		snprintf(why, sizeof(why), "connection closed during the "
		    "TLS handshake");
	req_fail(r, why);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct verify_req *r = arg;
	char		 why[256];

	(void)fd;
	(void)what;
	snprintf(why, sizeof(why), "%s", r->fail != NULL ? r->fail :
	    "no TLS handshake in time");
	req_fail(r, why);
}

struct verifier *
verifier_new(struct event_base *base)
{
	struct verifier	*v = xcalloc(1, sizeof(*v));

	v->base = base;
	v->ctx = SSL_CTX_new(TLS_client_method());
	/* comparing, not trusting: see the file comment */
	SSL_CTX_set_verify(v->ctx, SSL_VERIFY_NONE, NULL);
	TAILQ_INIT(&v->reqs);
	return v;
}

void
verifier_free(struct verifier *v)
{
	struct verify_req *r;

	if (v == NULL)
		return;
	while ((r = TAILQ_FIRST(&v->reqs)) != NULL)
		req_free(r);
	if (v->dns != NULL)
		evdns_base_free(v->dns, 0);
	SSL_CTX_free(v->ctx);
	free(v);
}

/* Splits "host:port" / "[v6]:port"; returns 0 or -1. */
static int
split_addr(const char *addr, char *host, size_t hostlen, int *port)
{
	const char	*colon, *h = addr;
	size_t		 hl;
	char		*end;
	long		 p;

	if (addr[0] == '[') {
		if ((colon = strchr(addr, ']')) == NULL || colon[1] != ':')
			return -1;
		h = addr + 1;
		hl = (size_t)(colon - h);
		colon++;
	} else {
		if ((colon = strrchr(addr, ':')) == NULL)
			return -1;
		hl = (size_t)(colon - addr);
	}
	if (hl == 0 || hl >= hostlen)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || colon[1] == '\0' || p < 1 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

/* Starts the TCP connect and TLS handshake; returns 0 or -1 (why in err). */
static int
req_connect(struct verify_req *r, const char *servername, char *err,
    size_t errlen)
{
	struct verifier	*v = r->v;
	char		 host[256];
	SSL		*ssl;
	int		 port;

	if (split_addr(r->addr, host, sizeof(host), &port) == -1) {
		snprintf(err, errlen, "expected host:port or [address]:port");
		return -1;
	}
	ssl = SSL_new(v->ctx);
	if (servername != NULL && !valid_ip_literal(servername))
		SSL_set_tlsext_host_name(ssl, servername);
	r->bev = bufferevent_openssl_socket_new(v->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(r->bev, NULL, NULL, event_cb, r);
	if (!valid_ip_literal(host) && v->dns == NULL)
		v->dns = evdns_base_new(v->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (bufferevent_socket_connect_hostname(r->bev,
	    valid_ip_literal(host) ? NULL : v->dns, AF_UNSPEC, host, port) == -1) {
		snprintf(err, errlen, "cannot connect: %s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return -1;
	}
	return 0;
}

struct verify_req *
verify_start(struct verifier *v, const char *addr, const char *servername,
    long timeout_ms, verify_cb cb, void *arg)
{
	struct verify_req *r = xcalloc(1, sizeof(*r));
	struct timeval	 tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	char		 err[256];

	r->v = v;
	r->addr = xstrdup(addr);
	r->cb = cb;
	r->arg = arg;
	r->timer = evtimer_new(v->base, timer_cb, r);
	TAILQ_INSERT_TAIL(&v->reqs, r, entry);
	if (req_connect(r, servername, err, sizeof(err)) == -1) {
		/* reported on the loop, like every other outcome */
		if (r->bev != NULL)
			bufferevent_free(r->bev);
		r->bev = NULL;
		r->fail = xstrdup(err);
		tv.tv_sec = tv.tv_usec = 0;
	}
	evtimer_add(r->timer, &tv);
	return r;
}

void
verify_cancel(struct verify_req *r)
{
	if (r != NULL)
		req_free(r);
}

int
verify_fingerprint_pem(const char *pem, size_t len, char fp[VERIFY_FP_LEN])
{
	BIO	*bio = BIO_new_mem_buf(pem, (int)len);
	X509	*x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

	BIO_free(bio);
	ERR_clear_error();
	if (x == NULL)
		return -1;
	cert_fp(x, fp);
	X509_free(x);
	return 0;
}
