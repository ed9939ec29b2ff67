/* test_challenge_alpn.c - tls-alpn-01: the certificate, read back with OpenSSL, and the listener */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme_solver.h"
#include "challenge_alpn.h"
#include "crypto.h"
#include "log.h"

#define KEYAUTH	"token-1.thumbprint-1"

static X509 *
pem_x509(const char *pem)
{
	BIO	*bio = BIO_new_mem_buf(pem, -1);
	X509	*x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

	BIO_free(bio);
	return x;
}

/* Checks x is RFC 8737's answer for name and keyauth. */
static void
check_alpn_cert(X509 *x, const char *name, const char *keyauth)
{
	ASN1_OBJECT	*oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	X509_EXTENSION	*ext;
	const ASN1_OCTET_STRING *val;
	GENERAL_NAMES	*sans;
	const GENERAL_NAME *gn;
	unsigned char	 want[34];
	int		 idx;

	assert_non_null(oid);
	/* the acmeIdentifier extension: present once, critical */
	assert_true((idx = X509_get_ext_by_OBJ(x, oid, -1)) >= 0);
	assert_int_equal(X509_get_ext_by_OBJ(x, oid, idx), -1);
	ext = X509_get_ext(x, idx);
	assert_int_equal(X509_EXTENSION_get_critical(ext), 1);
	/* its value: the DER of an OCTET STRING of SHA-256(keyauth) */
	want[0] = 0x04;
	want[1] = 32;
	assert_int_equal(EVP_Digest(keyauth, strlen(keyauth), want + 2, NULL,
	    EVP_sha256(), NULL), 1);
	val = X509_EXTENSION_get_data(ext);
	assert_int_equal(ASN1_STRING_length(val), 34);
	assert_memory_equal(ASN1_STRING_get0_data(val), want, 34);
	/* the only SAN is the name being validated */
	assert_non_null(sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL));
	assert_int_equal(sk_GENERAL_NAME_num(sans), 1);
	gn = sk_GENERAL_NAME_value(sans, 0);
	assert_int_equal(gn->type, GEN_DNS);
	assert_string_equal(ASN1_STRING_get0_data(gn->d.dNSName), name);
	GENERAL_NAMES_free(sans);
	ASN1_OBJECT_free(oid);
}

static void
test_certificate_carries_the_critical_acme_identifier(void **state)
{
	struct crypto_key	*key = crypto_key_generate(KEY_EC_P256);
	char			*pem;
	X509			*x;
	EVP_PKEY		*pub;

	assert_non_null(key);
	assert_non_null(pem = crypto_alpn_cert(key, "www.example.org", KEYAUTH));
	assert_non_null(x = pem_x509(pem));
	check_alpn_cert(x, "www.example.org", KEYAUTH);
	/* self-signed with the key given */
	assert_non_null(pub = X509_get0_pubkey(x));
	assert_int_equal(X509_verify(x, pub), 1);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x),
	    X509_get_issuer_name(x)), 0);
	assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
	assert_true(X509_cmp_current_time(X509_get0_notAfter(x)) > 0);
	X509_free(x);
	free(pem);
	assert_null(crypto_alpn_cert(NULL, "x.example", KEYAUTH));
	crypto_key_free(key);
}

/* ---- the listener, against a blocking client in a thread ---- */

struct client {
	int		 port;
	const char	*sni;		/* NULL: none */
	const char	*alpn;		/* wire form; NULL: none */
	size_t		 alpn_len;
	int		 ok;		/* the handshake succeeded */
	X509		*peer;
	char		 proto[32];
	volatile int	 finished;
};

static void *
client_run(void *arg)
{
	struct client		*c = arg;
	struct sockaddr_in	 sin;
	SSL_CTX			*ctx = SSL_CTX_new(TLS_client_method());
	SSL			*ssl = SSL_new(ctx);
	const unsigned char	*p;
	unsigned		 plen;
	int			 fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)c->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
		SSL_set_fd(ssl, fd);
		if (c->sni != NULL)
			SSL_set_tlsext_host_name(ssl, c->sni);
		if (c->alpn != NULL)
			SSL_set_alpn_protos(ssl, (const unsigned char *)c->alpn,
			    (unsigned)c->alpn_len);
		c->ok = SSL_connect(ssl) == 1;
		c->peer = SSL_get1_peer_certificate(ssl);
		SSL_get0_alpn_selected(ssl, &p, &plen);
		if (plen > 0 && plen < sizeof(c->proto))
			memcpy(c->proto, p, plen);
	}
	close(fd);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	c->finished = 1;
	return NULL;
}

/* Runs one handshake against port while the loop serves it. */
static void
handshake(struct event_base *base, struct client *c)
{
	pthread_t	th;
	struct timeval	tv = { 0, 10000 };
	int		i;

	assert_int_equal(pthread_create(&th, NULL, client_run, c), 0);
	for (i = 0; i < 1000 && !c->finished; i++) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	pthread_join(th, NULL);
	assert_true(c->finished);
}

#define ACME_TLS_1	"\x0a" "acme-tls/1"
#define H2		"\x02" "h2"

static void
test_listener_answers_only_acme_tls_1_for_published_names(void **state)
{
	struct event_base	*base = event_base_new();
	char			*listen[] = { "127.0.0.1:0" }, err[256];
	struct chall_alpn	*a;
	struct acme_solver	 s;
	struct acme_challenge	 ch = { "tls-alpn-01", "dns", "a.example",
	    "token-1", KEYAUTH, NULL, "www" };
	struct client		 c;
	int			 port;

	log_init(getenv("TEST_DEBUG") != NULL ? LOG_LVL_DEBUG : 0);
	assert_non_null(a = chall_alpn_new(base, listen, 1, err, sizeof(err)));
	assert_true((port = chall_alpn_port(a, 0)) > 0);
	chall_alpn_solver(a, &s);
	assert_string_equal(s.type, "tls-alpn-01");
	assert_int_equal(s.can(s.arg, "dns", "a.example"), 1);
	assert_int_equal(s.can(s.arg, "ip", "192.0.2.1"), 0);
	assert_int_equal(s.publish(s.arg, &ch, NULL, NULL), 0);
	assert_int_equal(chall_alpn_count(a), 1);

	/* acme-tls/1 and the published name: the challenge certificate */
	c = (struct client){ port, "A.example", ACME_TLS_1, 11, 0, NULL, "", 0 };
	handshake(base, &c);
	assert_true(c.ok);
	assert_string_equal(c.proto, "acme-tls/1");
	assert_non_null(c.peer);
	check_alpn_cert(c.peer, "a.example", KEYAUTH);
	X509_free(c.peer);
	/* another protocol, or none: no certificate at all */
	c = (struct client){ port, "a.example", H2, 3, 0, NULL, "", 0 };
	handshake(base, &c);
	assert_false(c.ok);
	assert_null(c.peer);
	c = (struct client){ port, "a.example", NULL, 0, 0, NULL, "", 0 };
	handshake(base, &c);
	assert_false(c.ok);
	assert_null(c.peer);
	/* a name not published, no name, a name withdrawn */
	c = (struct client){ port, "b.example", ACME_TLS_1, 11, 0, NULL, "", 0 };
	handshake(base, &c);
	assert_false(c.ok);
	assert_null(c.peer);
	c = (struct client){ port, NULL, ACME_TLS_1, 11, 0, NULL, "", 0 };
	handshake(base, &c);
	assert_false(c.ok);
	s.withdraw(s.arg, &ch);
	assert_int_equal(chall_alpn_count(a), 0);
	c = (struct client){ port, "a.example", ACME_TLS_1, 11, 0, NULL, "", 0 };
	handshake(base, &c);
	assert_false(c.ok);
	assert_null(c.peer);
	/* wildcards are for dns-01 only */
	assert_int_equal(chall_alpn_publish(a, "*.a.example", KEYAUTH), -1);
	chall_alpn_free(a);
	event_base_free(base);
}

/* A handshake for a.example with acme-tls/1 on port; returns 1 if it worked. */
static int
answers(struct event_base *base, int port)
{
	struct client	c = { port, "a.example", ACME_TLS_1, 11, 0, NULL, "", 0 };

	handshake(base, &c);
	X509_free(c.peer);
	return c.ok;
}

static void
test_rebind_moves_in_place_or_not_at_all(void **state)
{
	struct event_base	*base = event_base_new();
	char			*listen[] = { "127.0.0.1:0" }, err[256];
	char			 freed[64], taken[64];
	char			*bad[] = { freed, taken }, *good[] = { freed };
	struct chall_alpn	*a, *blocker, *gone;
	int			 old, fport;

	assert_non_null(a = chall_alpn_new(base, listen, 1, err, sizeof(err)));
	assert_non_null(blocker = chall_alpn_new(base, listen, 1, err,
	    sizeof(err)));
	old = chall_alpn_port(a, 0);
	assert_int_equal(chall_alpn_publish(a, "a.example", KEYAUTH), 0);
	snprintf(taken, sizeof(taken), "127.0.0.1:%d",
	    chall_alpn_port(blocker, 0));
	/* a port free a moment ago: bound and released by a third listener */
	assert_non_null(gone = chall_alpn_new(base, listen, 1, err,
	    sizeof(err)));
	fport = chall_alpn_port(gone, 0);
	chall_alpn_free(gone);
	snprintf(freed, sizeof(freed), "127.0.0.1:%d", fport);
	/* one address cannot be bound: nothing moves, the error names it */
	assert_int_equal(chall_alpn_rebind(a, bad, 2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, taken));
	assert_int_equal(chall_alpn_port(a, 0), old);
	assert_int_equal(chall_alpn_port(a, 1), -1);
	assert_false(answers(base, fport));
	assert_true(answers(base, old));
	/* it moves: the name published before is answered on the new port */
	assert_int_equal(chall_alpn_rebind(a, good, 1, err, sizeof(err)), 0);
	assert_int_equal(chall_alpn_port(a, 0), fport);
	assert_true(answers(base, fport));
	assert_false(answers(base, old));
	/* the same list again: nothing to do */
	assert_int_equal(chall_alpn_rebind(a, good, 1, err, sizeof(err)), 0);
	assert_true(answers(base, fport));
	chall_alpn_free(blocker);
	chall_alpn_free(a);
	event_base_free(base);
}

static void
test_bad_listen_address_is_reported(void **state)
{
	struct event_base	*base = event_base_new();
	char			*listen[] = { "localhost:443" }, err[256];

	assert_null(chall_alpn_new(base, listen, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "tls-alpn-01: listen localhost:443: "));
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_certificate_carries_the_critical_acme_identifier),
		cmocka_unit_test(test_listener_answers_only_acme_tls_1_for_published_names),
		cmocka_unit_test(test_rebind_moves_in_place_or_not_at_all),
		cmocka_unit_test(test_bad_listen_address_is_reported),
	};

	crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
