/* challenge_alpn.c - tls-alpn-01 solver (RFC 8737): our own TLS listener */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "acme_solver.h"
#include "acceptguard.h"
#include "challenge_alpn.h"
#include "crypto.h"
#include "log.h"
#include "validate.h"
#include "xmalloc.h"

/*
 * The certificates themselves come from the crypto layer
 * (crypto_alpn_cert); this file holds only the TLS side. Every handshake
 * is decided in the ClientHello callback: an ALPN list that offers
 * "acme-tls/1" and an SNI name that is published, else a fatal alert, so
 * nothing but a challenge certificate is ever presented. After the
 * handshake the connection is closed: RFC 8737 section 3 wants nothing
 * more.
 */

#define ALPN_ACME	"acme-tls/1"

struct alpn_conn;
TAILQ_HEAD(alpn_conns, alpn_conn);

struct alpn_name {
	char		*name;		/* lower case */
	X509		*cert;
	unsigned	 refs;
};

struct chall_alpn {
	struct event_base	*base;
	SSL_CTX			*ctx;
	EVP_PKEY		*pkey;		/* one key for every certificate */
	struct crypto_key	*key;
	struct evconnlistener	**lsns;
	char			**addrs;	/* per listener, as spelt */
	int			*ports;		/* per listener, bound */
	size_t			 nlsns;
	struct alpn_name	*names;
	size_t			 nnames;
	struct alpn_conns	 conns;
	size_t			 nconns;
	struct accept_guard	*guard;		/* accept failures */
};

/* One accepted connection, until its handshake ends. */
struct alpn_conn {
	TAILQ_ENTRY(alpn_conn)	 entry;
	struct chall_alpn	*a;
	struct bufferevent	*bev;
};

static struct alpn_name *
name_find(const struct chall_alpn *a, const char *name)
{
	size_t	i;

	for (i = 0; i < a->nnames; i++)
		if (strcmp(a->names[i].name, name) == 0)
			return &a->names[i];
	return NULL;
}

/* Returns the extension's 2-byte-length-prefixed body, or NULL. */
static const unsigned char *
ext_body(SSL *ssl, int type, size_t *len)
{
	const unsigned char	*p;
	size_t			 n;

	if (SSL_client_hello_get0_ext(ssl, (unsigned)type, &p, &n) != 1 ||
	    n < 2 || (size_t)(p[0] << 8 | p[1]) != n - 2)
		return NULL;
	*len = n - 2;
	return p + 2;
}

/* Returns 1 if the ClientHello offers acme-tls/1 (RFC 7301 section 3.1). */
static int
offers_acme(SSL *ssl)
{
	const unsigned char	*p;
	size_t			 n, l;

	if ((p = ext_body(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation,
	    &n)) == NULL)
		return 0;
	for (; n > 0; p += l, n -= l) {
		l = *p++;
		n--;
		if (l > n)
			return 0;
		if (l == strlen(ALPN_ACME) && memcmp(p, ALPN_ACME, l) == 0)
			return 1;
	}
	return 0;
}

/* Copies the SNI host name (RFC 6066 section 3) into buf, lower case; 0 or -1. */
static int
sni_name(SSL *ssl, char *buf, size_t sz)
{
	const unsigned char	*p;
	size_t			 n, l, i;

	if ((p = ext_body(ssl, TLSEXT_TYPE_server_name, &n)) == NULL || n < 3 ||
	    p[0] != TLSEXT_NAMETYPE_host_name)
		return -1;
	l = (size_t)(p[1] << 8 | p[2]);
	if (l == 0 || l > n - 3 || l >= sz)
		return -1;
	for (i = 0; i < l; i++) {
		if (p[3 + i] == '\0')
			return -1;
		buf[i] = (char)tolower(p[3 + i]);
	}
	buf[l] = '\0';
	return 0;
}

/* SSL_CTX_set_client_hello_cb: the one place a handshake is decided. */
static int
hello_cb(SSL *ssl, int *alert, void *arg)
{
	struct chall_alpn	*a = arg;
	struct alpn_name	*n;
	char			 name[256], q[80];

	if (!offers_acme(ssl)) {
		*alert = SSL_AD_NO_APPLICATION_PROTOCOL;
		log_debug("tls-alpn-01: refused a handshake without ALPN "
		    ALPN_ACME);
		return SSL_CLIENT_HELLO_ERROR;
	}
	if (sni_name(ssl, name, sizeof(name)) == -1 ||
	    (n = name_find(a, name)) == NULL) {
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		log_debug("tls-alpn-01: refused a handshake for %s",
		    sni_name(ssl, name, sizeof(name)) == -1 ? "no name" :
		    valid_quote(name, strlen(name), q, sizeof(q)));
		return SSL_CLIENT_HELLO_ERROR;
	}
	if (SSL_use_certificate(ssl, n->cert) != 1 ||
	    SSL_use_PrivateKey(ssl, a->pkey) != 1) {
		*alert = SSL_AD_INTERNAL_ERROR;
		ERR_clear_error();
		return SSL_CLIENT_HELLO_ERROR;
	}
	log_debug("tls-alpn-01: presenting the certificate for %s", name);
	return SSL_CLIENT_HELLO_SUCCESS;
}

/* SSL_CTX_set_alpn_select_cb: hello_cb made sure acme-tls/1 is offered. */
static int
alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char want[] = "\x0a" ALPN_ACME;

	if (SSL_select_next_proto((unsigned char **)out, outlen, want,
	    sizeof(want) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

static void
conn_free(struct alpn_conn *c)
{
	TAILQ_REMOVE(&c->a->conns, c, entry);
	c->a->nconns--;
	bufferevent_free(c->bev);	/* frees the SSL and closes the socket */
	free(c);
}

/* The handshake ended, either way: nothing more to say. */
static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct alpn_conn *c = arg;

	if (what & BEV_EVENT_ERROR)
		ERR_clear_error();
	conn_free(c);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct chall_alpn	*a = arg;
	struct alpn_conn	*c;
	struct timeval		 tv = { CHALL_ALPN_TIMEOUT, 0 };
	SSL			*ssl;

	if (a->nconns >= CHALL_ALPN_MAX_CONN || (ssl = SSL_new(a->ctx)) ==
	    NULL) {
		evutil_closesocket(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->a = a;
	c->bev = bufferevent_openssl_socket_new(a->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		log_warn("tls-alpn-01: cannot set up a TLS connection");
		SSL_free(ssl);
		evutil_closesocket(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&a->conns, c, entry);
	a->nconns++;
	bufferevent_setcb(c->bev, NULL, NULL, conn_event_cb, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ);
}

/* The TLS settings every connection shares. Returns NULL (logged) on failure. */
static SSL_CTX *
ctx_new(struct chall_alpn *a)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		log_err("tls-alpn-01: SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_client_hello_cb(ctx, hello_cb, a);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, a);
	return ctx;
}

/* The key every certificate carries: P-256 is quick to make and to use. */
static int
key_new(struct chall_alpn *a)
{
	char	*pem;
	BIO	*bio;

	if ((a->key = crypto_key_generate(KEY_EC_P256)) == NULL ||
	    (pem = crypto_key_to_pem(a->key, NULL)) == NULL)
		return -1;
	bio = BIO_new_mem_buf(pem, -1);
	a->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(pem);
	return a->pkey != NULL ? 0 : -1;
}

/* accept_guard's pause: every listener off or on. */
static void
guard_pause(void *arg, int on)
{
	struct chall_alpn *a = arg;

	accept_guard_listeners(a->lsns, a->nlsns, on);
}

/* accept() failed: acceptguard.c bounds the logging and the retries. */
static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct chall_alpn *a = arg;

	accept_guard_failed(a->guard, evconnlistener_get_fd(l),
	    EVUTIL_SOCKET_ERROR());
}

/*
 * Binds one address. Returns the listener with the port bound in *port,
 * or NULL with the reason in err.
 */
static struct evconnlistener *
bind_one(struct chall_alpn *a, const char *addr, int *port, char *err,
    size_t errlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	const char		*why;
	struct evconnlistener	*l;

	if ((why = valid_listen(addr, 1, &ss, &sslen)) != NULL) {
		snprintf(err, errlen, "tls-alpn-01: listen %s: %s", addr, why);
		return NULL;
	}
	l = evconnlistener_new_bind(a->base, accept_cb, a, LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, 128,
	    (struct sockaddr *)&ss, (int)sslen);
	if (l == NULL) {
		snprintf(err, errlen, "tls-alpn-01: cannot listen on %s: %s",
		    addr, strerror(errno));
		return NULL;
	}
	evconnlistener_set_error_cb(l, accept_error_cb);
	sslen = sizeof(ss);
	*port = 0;
	if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss,
	    &sslen) == 0)
		*port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	log_info("tls-alpn-01: listening on %s (port %d)", addr, *port);
	return l;
}

/* Frees listeners lsns[0..n-1] that are not NULL, and the arrays. */
static void
lsns_free(struct evconnlistener **lsns, char **addrs, int *ports, size_t n,
    int say)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (lsns[i] == NULL)
			continue;
		evconnlistener_free(lsns[i]);
		if (say)
			log_info("tls-alpn-01: stopped listening on %s",
			    addrs[i]);
	}
	for (i = 0; i < n; i++)
		free(addrs[i]);
	free(lsns);
	free(addrs);
	free(ports);
}

struct chall_alpn *
chall_alpn_new(struct event_base *base, char *const *listen, size_t nlisten,
    char *err, size_t errlen)
{
	struct chall_alpn	*a;

	a = xcalloc(1, sizeof(*a));
	a->base = base;
	TAILQ_INIT(&a->conns);
	a->guard = accept_guard_new(base, "tls-alpn-01", guard_pause, a);
	if (key_new(a) == -1 || (a->ctx = ctx_new(a)) == NULL) {
		snprintf(err, errlen, "tls-alpn-01: cannot set up TLS");
		goto fail;
	}
	if (chall_alpn_rebind(a, listen, nlisten, err, errlen) == -1)
		goto fail;
	return a;
fail:
	chall_alpn_free(a);
	return NULL;
}

int
chall_alpn_rebind(struct chall_alpn *a, char *const *listen, size_t nlisten,
    char *err, size_t errlen)
{
	struct evconnlistener	**lsns;
	char			**addrs;
	int			 *ports;
	long			 *keep;
	size_t			  i;
	int			  rc = -1;

	keep = xcalloc(nlisten, sizeof(*keep));
	if (accept_rebind_plan(a->addrs, a->nlsns, listen, nlisten, keep)) {
		free(keep);
		return 0;
	}
	lsns = xcalloc(nlisten, sizeof(*lsns));
	addrs = xcalloc(nlisten, sizeof(*addrs));
	ports = xcalloc(nlisten, sizeof(*ports));
	/* every new socket first: if one cannot bind, nothing changes */
	for (i = 0; i < nlisten; i++) {
		addrs[i] = xstrdup(listen[i]);
		if (keep[i] == -1 && (lsns[i] = bind_one(a, listen[i],
		    &ports[i], err, errlen)) == NULL)
			goto out;
	}
	for (i = 0; i < nlisten; i++) {
		if (keep[i] == -1)
			continue;
		lsns[i] = a->lsns[keep[i]];
		ports[i] = a->ports[keep[i]];
		a->lsns[keep[i]] = NULL;
	}
	/* then the old ones go; handshakes they accepted go on */
	lsns_free(a->lsns, a->addrs, a->ports, a->nlsns, 1);
	a->lsns = lsns;
	a->addrs = addrs;
	a->ports = ports;
	a->nlsns = nlisten;
	lsns = NULL;
	addrs = NULL;
	ports = NULL;
	rc = 0;
out:
	if (lsns != NULL)	/* the ones it bound close again */
		lsns_free(lsns, addrs, ports, nlisten, 1);
	free(keep);
	return rc;
}

void
chall_alpn_free(struct chall_alpn *a)
{
	size_t	i;

	if (a == NULL)
		return;
	lsns_free(a->lsns, a->addrs, a->ports, a->nlsns, 0);
	accept_guard_free(a->guard);
	while (!TAILQ_EMPTY(&a->conns))
		conn_free(TAILQ_FIRST(&a->conns));
	for (i = 0; i < a->nnames; i++) {
		free(a->names[i].name);
		X509_free(a->names[i].cert);
	}
	free(a->names);
	SSL_CTX_free(a->ctx);
	EVP_PKEY_free(a->pkey);
	crypto_key_free(a->key);
	free(a);
}

int
chall_alpn_publish(struct chall_alpn *a, const char *name, const char *keyauth)
{
	struct alpn_name *n;
	char		*pem, norm[256];
	const char	*why;
	BIO		*bio;
	X509		*x;

	if ((why = valid_domain_norm(name, norm, sizeof(norm))) != NULL ||
	    strncmp(norm, "*.", 2) == 0) {
		log_err("tls-alpn-01: cannot answer for %s: %s", name,
		    why != NULL ? why : "a wildcard");
		return -1;
	}
	if ((pem = crypto_alpn_cert(a->key, norm, keyauth)) == NULL)
		return -1;
	bio = BIO_new_mem_buf(pem, -1);
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(pem);
	if (x == NULL) {
		log_err("tls-alpn-01: cannot read back the certificate for %s",
		    norm);
		return -1;
	}
	if ((n = name_find(a, norm)) == NULL) {
		a->names = xreallocarray(a->names, a->nnames + 1,
		    sizeof(*a->names));
		n = &a->names[a->nnames++];
		n->name = xstrdup(norm);
		n->refs = 0;
		n->cert = NULL;
	}
	X509_free(n->cert);	/* the newest key authorization wins */
	n->cert = x;
	n->refs++;
	log_debug("tls-alpn-01: published %s", norm);
	return 0;
}

void
chall_alpn_withdraw(struct chall_alpn *a, const char *name)
{
	struct alpn_name *n;
	char		 norm[256];

	if (a == NULL || valid_domain_norm(name, norm, sizeof(norm)) != NULL ||
	    (n = name_find(a, norm)) == NULL || --n->refs > 0)
		return;
	free(n->name);
	X509_free(n->cert);
	*n = a->names[--a->nnames];
	log_debug("tls-alpn-01: withdrew %s", norm);
}

size_t
chall_alpn_count(const struct chall_alpn *a)
{
	return a == NULL ? 0 : a->nnames;
}

int
chall_alpn_port(const struct chall_alpn *a, size_t i)
{
	if (a == NULL || i >= a->nlsns)
		return -1;
	return a->ports[i];
}

/* ------------------------------------------------------- solver contract */

/* A name it can put in a SAN and find by SNI; not addresses (RFC 8738) yet. */
static int
solver_can(void *arg, const char *id_type, const char *id_value)
{
	char norm[256];

	return strcmp(id_type, "dns") == 0 &&
	    valid_domain_norm(id_value, norm, sizeof(norm)) == NULL;
}

static int
solver_publish(void *arg, const struct acme_challenge *c,
    acme_solver_done done, void *ctx)
{
	return chall_alpn_publish(arg, c->id_value, c->keyauth);
}

static void
solver_withdraw(void *arg, const struct acme_challenge *c)
{
	chall_alpn_withdraw(arg, c->id_value);
}

void
chall_alpn_solver(struct chall_alpn *a, struct acme_solver *s)
{
	*s = (struct acme_solver){ "tls-alpn-01", solver_can, solver_publish,
	    solver_withdraw, a };
}
