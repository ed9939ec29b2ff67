/* test_crypto_der.c - the hand-written DER is OpenSSL's own encoding, for every key type */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "crypto_der.h"
#include "crypto_int.h"

static const enum key_type all_types[] = {
	KEY_EC_P256, KEY_EC_P384, KEY_RSA_2048, KEY_RSA_3072, KEY_RSA_4096
};
#define NTYPES	(sizeof(all_types) / sizeof(all_types[0]))

static int
is_ec(enum key_type t)
{
	return t == KEY_EC_P256 || t == KEY_EC_P384;
}

/* Returns OpenSSL's own PKCS#8 PEM of p, from its encoder. */
static char *
openssl_pem(EVP_PKEY *p)
{
	BIO		*bio;
	char		*data, *s;
	long		 n;

	bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_PrivateKey(bio, p, NULL, NULL, 0, NULL, NULL));
	n = BIO_get_mem_data(bio, &data);
	s = strndup(data, (size_t)n);
	assert_non_null(s);
	BIO_free(bio);
	return s;
}

/* crypto_key_to_pem: byte for byte OpenSSL's, and OpenSSL reads back the same key. */
static void
check_pem(struct crypto_key *k)
{
	EVP_PKEY	*back;
	BIO		*bio;
	char		*want, *got;
	size_t		 len;

	want = openssl_pem(crypto_key_evp(k));
	got = crypto_key_to_pem(k, &len);
	assert_non_null(got);
	assert_string_equal(got, want);
	bio = BIO_new_mem_buf(got, (int)len);
	back = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	assert_non_null(back);
	assert_int_equal(EVP_PKEY_eq(back, crypto_key_evp(k)), 1);
	EVP_PKEY_free(back);
	BIO_free(bio);
	free(want);
	free(got);
}

/*
 * crypto_der_ec_private: byte for byte the ECPrivateKey OpenSSL puts inside
 * its PKCS#8; NULL for RSA.
 */
static void
check_ec_private(struct crypto_key *k, int ec)
{
	PKCS8_PRIV_KEY_INFO *p8;
	const unsigned char *want;
	unsigned char	*got;
	size_t		 len = 0;
	int		 wantlen;

	got = crypto_der_ec_private(crypto_key_evp(k), &len);
	if (!ec) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	p8 = EVP_PKEY2PKCS8(crypto_key_evp(k));
	assert_non_null(p8);
	assert_true(PKCS8_pkey_get0(NULL, &want, &wantlen, NULL, p8));
	assert_int_equal(len, (size_t)wantlen);
	assert_memory_equal(got, want, len);
	PKCS8_PRIV_KEY_INFO_free(p8);
	OPENSSL_clear_free(got, len);
}

/* crypto_der_ec_spki: i2d_PUBKEY's bytes, and a key OpenSSL decodes back; declines RSA. */
static void
check_spki(struct crypto_key *k, int ec)
{
	X509_PUBKEY	*spki;
	EVP_PKEY	*back;
	unsigned char	*a = NULL, *b = NULL;
	const unsigned char *p;
	int		 alen, blen;

	spki = X509_PUBKEY_new();
	assert_non_null(spki);
	if (!ec) {
		assert_int_equal(crypto_der_ec_spki(spki, crypto_key_evp(k)), 0);
		X509_PUBKEY_free(spki);
		return;
	}
	assert_int_equal(crypto_der_ec_spki(spki, crypto_key_evp(k)), 1);
	alen = i2d_X509_PUBKEY(spki, &a);
	blen = i2d_PUBKEY(crypto_key_evp(k), &b);
	assert_true(alen > 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, (size_t)alen);
	/* set0_param caches no key: decode the bytes, as a CA would */
	p = a;
	back = d2i_PUBKEY(NULL, &p, alen);
	assert_non_null(back);
	assert_int_equal(EVP_PKEY_eq(back, crypto_key_evp(k)), 1);
	EVP_PKEY_free(back);
	OPENSSL_free(a);
	OPENSSL_free(b);
	X509_PUBKEY_free(spki);
}

/* The CSR carries exactly OpenSSL's SubjectPublicKeyInfo, whichever path set it. */
static void
check_csr_spki(struct crypto_key *k)
{
	char *const	 domains[] = { "der.example" };
	unsigned char	*raw, *a = NULL, *b = NULL;
	const unsigned char *p;
	X509_REQ	*req;
	char		*csr;
	size_t		 len;
	int		 alen, blen;

	csr = crypto_csr(k, domains, 1);
	assert_non_null(csr);
	raw = b64url_decode(csr, &len);
	assert_non_null(raw);
	p = raw;
	req = d2i_X509_REQ(NULL, &p, (long)len);
	assert_non_null(req);
	assert_int_equal(X509_REQ_verify(req, crypto_key_evp(k)), 1);
	alen = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &a);
	blen = i2d_PUBKEY(crypto_key_evp(k), &b);
	assert_true(alen > 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, (size_t)alen);
	OPENSSL_free(a);
	OPENSSL_free(b);
	X509_REQ_free(req);
	free(raw);
	free(csr);
}

static void
test_every_key_type_encodes_as_openssl_does(void **state)
{
	struct crypto_key *k;
	size_t		 i;

	(void)state;
	for (i = 0; i < NTYPES; i++) {
		k = crypto_key_generate(all_types[i]);
		assert_non_null(k);
		check_pem(k);
		check_ec_private(k, is_ec(all_types[i]));
		check_spki(k, is_ec(all_types[i]));
		check_csr_spki(k);
		crypto_key_free(k);
	}
}

/* Returns the byte length of k's private scalar. */
static int
priv_bytes(struct crypto_key *k)
{
	BIGNUM		*bn = NULL;
	int		 n;

	assert_true(EVP_PKEY_get_bn_param(crypto_key_evp(k), "priv", &bn));
	n = BN_num_bytes(bn);
	BN_clear_free(bn);
	return n;
}

static void
test_short_private_scalar_is_padded_as_openssl_pads_it(void **state)
{
	struct crypto_key *k;
	int		 i, done = 0;

	(void)state;
	/* 1 in 256 P-256 scalars has a leading zero byte */
	for (i = 0; i < 8192 && !done; i++) {
		k = crypto_key_generate(KEY_EC_P256);
		assert_non_null(k);
		if (priv_bytes(k) < 32) {
			check_ec_private(k, 1);
			check_pem(k);
			done = 1;
		}
		crypto_key_free(k);
	}
	assert_true(done);
}

static void
test_unusual_ec_encodings_are_declined_or_kept(void **state)
{
	struct crypto_key *k;
	size_t		 len;

	(void)state;
	/* a compressed point is still the default layout: kept, and equal */
	k = crypto_key_generate(KEY_EC_P256);
	assert_non_null(k);
	assert_true(EVP_PKEY_set_utf8_string_param(crypto_key_evp(k),
	    "point-format", "compressed"));
	check_ec_private(k, 1);
	check_spki(k, 1);
	check_pem(k);
	crypto_key_free(k);
	/* explicit curve parameters: declined, and OpenSSL's path is taken */
	k = crypto_key_generate(KEY_EC_P384);
	assert_non_null(k);
	assert_true(EVP_PKEY_set_utf8_string_param(crypto_key_evp(k),
	    "encoding", "explicit"));
	assert_null(crypto_der_ec_private(crypto_key_evp(k), &len));
	check_spki(k, 0);
	check_pem(k);
	check_csr_spki(k);
	crypto_key_free(k);
	/* no public key inside the private key: declined */
	k = crypto_key_generate(KEY_EC_P256);
	assert_non_null(k);
	assert_true(EVP_PKEY_set_int_param(crypto_key_evp(k), "include-public",
	    0));
	assert_null(crypto_der_ec_private(crypto_key_evp(k), &len));
	check_pem(k);
	crypto_key_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_key_type_encodes_as_openssl_does),
		cmocka_unit_test(test_short_private_scalar_is_padded_as_openssl_pads_it),
		cmocka_unit_test(test_unusual_ec_encodings_are_declined_or_kept),
	};

	crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
