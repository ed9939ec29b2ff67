/* test_crypto.c - keys, base64url, CSRs and certificate parsing */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "crypto_int.h"

/* A fixed P-256 key, so CSR and certificate tests need no keygen. */
static const char fixed_p256_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgl/TNBUiBN5ftCdNE\n"
    "n9qf+KzeOyos89lQSDDxgErUkOqhRANCAAQTPYVELP1W4wBvOLe6frdQ+dkUzIDk\n"
    "wXH4VUlQAR1LW7APADIur7HWYc9a+AwU4enkVgTW+clOpbhVltK5hqSo\n"
    "-----END PRIVATE KEY-----\n";

static struct crypto_key *
fixed_key(void)
{
	struct crypto_key *k;

	k = crypto_key_from_pem(fixed_p256_pem, strlen(fixed_p256_pem));
	assert_non_null(k);
	return k;
}

/* Generates, checks type, round-trips through PKCS#8 PEM, compares keys. */
static void
check_keygen(enum key_type type)
{
	struct crypto_key *k, *k2;
	char		*pem;
	size_t		 len = 0;

	k = crypto_key_generate(type);
	assert_non_null(k);
	assert_int_equal(crypto_key_type(k), type);
	pem = crypto_key_to_pem(k, &len);
	assert_non_null(pem);
	assert_int_equal(strlen(pem), len);
	assert_true(strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
	k2 = crypto_key_from_pem(pem, len);
	assert_non_null(k2);
	assert_int_equal(crypto_key_type(k2), type);
	assert_int_equal(EVP_PKEY_eq(crypto_key_evp(k), crypto_key_evp(k2)), 1);
	free(pem);
	crypto_key_free(k);
	crypto_key_free(k2);
}

static void
test_keygen_ec_p256_p384_type_and_pem_round_trip(void **state)
{
	(void)state;
	check_keygen(KEY_EC_P256);
	check_keygen(KEY_EC_P384);
}

static void
test_keygen_rsa_2048_3072_4096_type_and_pem_round_trip(void **state)
{
	(void)state;
	check_keygen(KEY_RSA_2048);
	check_keygen(KEY_RSA_3072);
	check_keygen(KEY_RSA_4096);
}

/* main() called crypto_init(): OpenSSL allocates through the x-family. */
static void
test_crypto_init_installs_allocator_once(void **state)
{
	CRYPTO_malloc_fn m, m2;
	CRYPTO_realloc_fn r;
	CRYPTO_free_fn	 f;
	void		*p;

	(void)state;
	CRYPTO_get_mem_functions(&m, &r, &f);
	assert_ptr_not_equal(m, CRYPTO_malloc);
	assert_ptr_not_equal(r, CRYPTO_realloc);
	/* a second call changes nothing and says nothing */
	crypto_init();
	CRYPTO_get_mem_functions(&m2, &r, &f);
	assert_ptr_equal(m, m2);
	/* OpenSSL's own convention for 0 bytes is kept */
	assert_null(OPENSSL_malloc(0));
	p = OPENSSL_malloc(100);
	assert_non_null(p);
	p = OPENSSL_realloc(p, 1000);
	assert_non_null(p);
	OPENSSL_free(p);
}

static void
test_keygen_rejects_unknown_type(void **state)
{
	(void)state;
	assert_null(crypto_key_generate((enum key_type)99));
}

static void
test_key_from_pem_reads_traditional_and_rejects_garbage(void **state)
{
	struct crypto_key *k;
	EVP_PKEY	*p;
	BIO		*bio;
	char		*data;
	long		 n;
	static const char junk[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n"
	    "-----END PRIVATE KEY-----\n";

	(void)state;
	/* "BEGIN EC PRIVATE KEY", as older tools wrote */
	p = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	assert_non_null(p);
	bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_PrivateKey_traditional(bio, p, NULL, NULL, 0,
	    NULL, NULL));
	n = BIO_get_mem_data(bio, &data);
	assert_non_null(strstr(data, "BEGIN EC PRIVATE KEY"));
	k = crypto_key_from_pem(data, (size_t)n);
	assert_non_null(k);
	assert_int_equal(crypto_key_type(k), KEY_EC_P384);
	crypto_key_free(k);
	BIO_free(bio);
	EVP_PKEY_free(p);

	assert_null(crypto_key_from_pem(junk, strlen(junk)));
	assert_null(crypto_key_from_pem("hello", 5));
	assert_null(crypto_key_from_pem("", 0));
	crypto_key_free(NULL);
	assert_int_equal(crypto_key_type(NULL), -1);
	assert_null(crypto_key_to_pem(NULL, NULL));
}

static void
test_key_type_is_minus_one_for_keys_renewd_does_not_make(void **state)
{
	struct crypto_key *k;
	EVP_PKEY	*p;
	BIO		*bio;
	char		*data;
	long		 n;

	(void)state;
	p = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	assert_non_null(p);
	bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_PrivateKey(bio, p, NULL, NULL, 0, NULL, NULL));
	n = BIO_get_mem_data(bio, &data);
	k = crypto_key_from_pem(data, (size_t)n);
	assert_non_null(k);
	assert_int_equal(crypto_key_type(k), -1);
	crypto_key_free(k);
	BIO_free(bio);
	EVP_PKEY_free(p);
}

static void
test_public_pem_key_has_type_but_no_private_pem(void **state)
{
	struct crypto_key *k, *pub;
	BIO		*bio;
	char		*data;
	long		 n;

	(void)state;
	k = fixed_key();
	bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_PUBKEY(bio, crypto_key_evp(k)));
	n = BIO_get_mem_data(bio, &data);
	pub = crypto_key_from_public_pem(data, (size_t)n);
	assert_non_null(pub);
	assert_int_equal(crypto_key_type(pub), KEY_EC_P256);
	assert_null(crypto_key_to_pem(pub, NULL));
	/* a public key is not a private key */
	assert_null(crypto_key_from_pem(data, (size_t)n));
	crypto_key_free(pub);
	crypto_key_free(k);
	BIO_free(bio);
}

/* Returns what OpenSSL's own encoder makes of p: the reference PKCS#8 PEM. */
static char *
openssl_pkcs8(EVP_PKEY *p)
{
	BIO		*bio;
	char		*data, *s;
	long		 n;

	bio = BIO_new(BIO_s_mem());
	assert_non_null(bio);
	assert_true(PEM_write_bio_PrivateKey(bio, p, NULL, NULL, 0, NULL, NULL));
	n = BIO_get_mem_data(bio, &data);
	s = strndup(data, (size_t)n);
	assert_non_null(s);
	BIO_free(bio);
	return s;
}

/* crypto_key_to_pem(k) must equal OpenSSL's encoder, byte for byte. */
static void
check_pem_like_openssl(struct crypto_key *k)
{
	char		*want, *got;
	size_t		 len = 0;

	want = openssl_pkcs8(crypto_key_evp(k));
	got = crypto_key_to_pem(k, &len);
	assert_non_null(got);
	assert_int_equal(len, strlen(got));
	assert_string_equal(got, want);
	free(want);
	free(got);
}

/* Returns the byte length of k's private scalar (shorter: leading zeros). */
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

/* Checks a few keys of type, then one whose scalar has a leading zero byte. */
static void
check_ec_pem_type(enum key_type type, int full)
{
	struct crypto_key *k;
	int		 i, done = 0;

	for (i = 0; i < 4096 && !done; i++) {
		k = crypto_key_generate(type);
		assert_non_null(k);
		if (i < 4)
			check_pem_like_openssl(k);
		if (priv_bytes(k) < full) {
			check_pem_like_openssl(k);
			done = 1;
		}
		crypto_key_free(k);
	}
	assert_true(done);
}

static void
test_key_to_pem_ec_equals_openssl_encoder_byte_for_byte(void **state)
{
	struct crypto_key *k;
	char		*pem;

	(void)state;
	k = fixed_key();
	pem = crypto_key_to_pem(k, NULL);
	assert_non_null(pem);
	assert_string_equal(pem, fixed_p256_pem);
	free(pem);
	crypto_key_free(k);
	check_ec_pem_type(KEY_EC_P256, 32);
	check_ec_pem_type(KEY_EC_P384, 48);
}

/* Sets one EC encoding parameter on k's key. */
static void
set_ec_param(struct crypto_key *k, const char *name, const char *value)
{
	assert_true(EVP_PKEY_set_utf8_string_param(crypto_key_evp(k), name,
	    value));
}

static void
test_key_to_pem_ec_unusual_encodings_still_equal_openssl(void **state)
{
	struct crypto_key *k;

	(void)state;
	/* compressed public point */
	k = crypto_key_generate(KEY_EC_P256);
	assert_non_null(k);
	set_ec_param(k, "point-format", "compressed");
	check_pem_like_openssl(k);
	crypto_key_free(k);
	/* explicit curve parameters instead of a named curve */
	k = crypto_key_generate(KEY_EC_P384);
	assert_non_null(k);
	set_ec_param(k, "encoding", "explicit");
	check_pem_like_openssl(k);
	crypto_key_free(k);
	/* no public key inside the private key */
	k = crypto_key_generate(KEY_EC_P256);
	assert_non_null(k);
	assert_true(EVP_PKEY_set_int_param(crypto_key_evp(k), "include-public",
	    0));
	check_pem_like_openssl(k);
	crypto_key_free(k);
	/* RSA takes the generic path */
	k = crypto_key_generate(KEY_RSA_2048);
	assert_non_null(k);
	check_pem_like_openssl(k);
	crypto_key_free(k);
}

/* base64url */

static void
check_b64(const void *raw, size_t rawlen, const char *enc)
{
	char		*s;
	unsigned char	*d;
	size_t		 dlen = 99;

	s = b64url_encode(raw, rawlen);
	assert_non_null(s);
	assert_string_equal(s, enc);
	free(s);
	d = b64url_decode(enc, &dlen);
	assert_non_null(d);
	assert_int_equal(dlen, rawlen);
	assert_memory_equal(d, raw, rawlen);
	assert_int_equal(d[dlen], '\0');
	free(d);
}

static void
test_b64url_rfc4648_vectors_and_url_alphabet(void **state)
{
	static const unsigned char fbff[] = { 0xfb, 0xff };
	static const unsigned char all[] = { 0x00, 0x10, 0x83, 0x10, 0x51,
	    0x87, 0x20, 0x92, 0x8b, 0x30, 0xd3, 0x8f, 0x41, 0x14, 0x93, 0x51,
	    0x55, 0x97, 0x61, 0x96, 0x9b, 0x71, 0xd7, 0x9f, 0x82, 0x18, 0xa3,
	    0x92, 0x59, 0xa7, 0xa2, 0x9a, 0xab, 0xb2, 0xdb, 0xaf, 0xc3, 0x1c,
	    0xb3, 0xd3, 0x5d, 0xb7, 0xe3, 0x9e, 0xbb, 0xf3, 0xdf, 0xbf };

	(void)state;
	check_b64("", 0, "");
	check_b64("f", 1, "Zg");
	check_b64("fo", 2, "Zm8");
	check_b64("foo", 3, "Zm9v");
	check_b64("foob", 4, "Zm9vYg");
	check_b64("fooba", 5, "Zm9vYmE");
	check_b64("foobar", 6, "Zm9vYmFy");
	check_b64(fbff, sizeof(fbff), "-_8");
	/* every one of the 64 characters, in order */
	check_b64(all, sizeof(all),
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
}

static void
test_b64url_decode_rejects_padding_std_alphabet_and_bad_length(void **state)
{
	static const char *bad[] = {
		"Zg==", "Zm8=", "Zm9v+w", "Zm9v/w", "Zm 9v", "Zm9v\n", "Z",
		"Zm9vY", "Zm9v!", "\xc3\xa9", "Zm9v.",
	};
	size_t		 i, len = 7;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(b64url_decode(bad[i], &len));
	}
	assert_int_equal(len, 7);	/* untouched on failure */
	assert_null(b64url_decode(NULL, &len));
}

static void
test_sha256_b64url_known_vector(void **state)
{
	char		*s;

	(void)state;
	s = crypto_sha256_b64url("abc", 3);
	assert_non_null(s);
	assert_string_equal(s, "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
	free(s);
}

/* CSR */

static X509_REQ *
decode_csr(const char *b64)
{
	unsigned char	*der;
	const unsigned char *p;
	size_t		 len;
	X509_REQ	*req;

	der = b64url_decode(b64, &len);
	assert_non_null(der);
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)len);
	assert_non_null(req);
	assert_ptr_equal(p, der + len);
	free(der);
	return req;
}

/* Returns the CSR's SANs as "DNS:x" / "IP:x" strings, in order. */
static char **
csr_sans(X509_REQ *req, int *n)
{
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES	*gens;
	GENERAL_NAME	*gn;
	char		**out, buf[64];
	const unsigned char *d;
	int		 i, len;

	exts = X509_REQ_get_extensions(req);
	assert_non_null(exts);
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	assert_non_null(gens);
	*n = sk_GENERAL_NAME_num(gens);
	out = calloc((size_t)*n, sizeof(*out));
	assert_non_null(out);
	for (i = 0; i < *n; i++) {
		gn = sk_GENERAL_NAME_value(gens, i);
		if (gn->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(gn->d.dNSName);
			len = ASN1_STRING_length(gn->d.dNSName);
			assert_int_not_equal(asprintf(&out[i], "DNS:%.*s", len,
			    (const char *)d), -1);
		} else {
			assert_int_equal(gn->type, GEN_IPADD);
			d = ASN1_STRING_get0_data(gn->d.iPAddress);
			len = ASN1_STRING_length(gn->d.iPAddress);
			assert_non_null(inet_ntop(len == 4 ? AF_INET : AF_INET6,
			    d, buf, sizeof(buf)));
			assert_int_not_equal(asprintf(&out[i], "IP:%s", buf), -1);
		}
	}
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return out;
}

static void
free_strs(char **v, int n)
{
	int		 i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
test_csr_has_cn_every_san_and_verifies(void **state)
{
	char *const	 domains[] = { "example.com", "www.example.com",
	    "*.example.com", "192.0.2.1", "2001:db8::1" };
	const char	*want[] = { "DNS:example.com", "DNS:www.example.com",
	    "DNS:*.example.com", "IP:192.0.2.1", "IP:2001:db8::1" };
	struct crypto_key *k;
	X509_REQ	*req;
	X509_NAME	*subj;
	char		*csr, cn[128], **sans;
	int		 i, n;

	(void)state;
	k = fixed_key();
	csr = crypto_csr(k, domains, 5);
	assert_non_null(csr);
	assert_null(strpbrk(csr, "+/="));
	req = decode_csr(csr);
	assert_int_equal(X509_REQ_verify(req, crypto_key_evp(k)), 1);
	assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req),
	    crypto_key_evp(k)), 1);
	assert_int_equal(X509_REQ_get_signature_nid(req),
	    NID_ecdsa_with_SHA256);
	subj = X509_REQ_get_subject_name(req);
	assert_int_equal(X509_NAME_entry_count(subj), 1);
	assert_int_equal(X509_NAME_get_text_by_NID(subj, NID_commonName, cn,
	    sizeof(cn)), 11);
	assert_string_equal(cn, "example.com");
	sans = csr_sans(req, &n);
	assert_int_equal(n, 5);
	for (i = 0; i < n; i++)
		assert_string_equal(sans[i], want[i]);
	free_strs(sans, n);
	X509_REQ_free(req);
	free(csr);
	crypto_key_free(k);
}

static void
test_csr_long_first_name_or_ip_gets_empty_subject(void **state)
{
	char		 longname[80];
	char		*domains[2];
	struct crypto_key *k;
	X509_REQ	*req;
	char		*csr, **sans;
	int		 n;

	(void)state;
	/* 65 characters: one over the CN limit */
	memset(longname, 'a', 61);
	memcpy(longname + 61, ".com", 5);
	assert_int_equal(strlen(longname), 65);
	domains[0] = longname;
	domains[1] = "b.example.com";
	k = fixed_key();
	csr = crypto_csr(k, domains, 2);
	assert_non_null(csr);
	req = decode_csr(csr);
	assert_int_equal(X509_REQ_verify(req, crypto_key_evp(k)), 1);
	assert_int_equal(X509_NAME_entry_count(X509_REQ_get_subject_name(req)), 0);
	sans = csr_sans(req, &n);
	assert_int_equal(n, 2);
	assert_true(strncmp(sans[0], "DNS:aaaa", 8) == 0);
	assert_string_equal(sans[1], "DNS:b.example.com");
	free_strs(sans, n);
	X509_REQ_free(req);
	free(csr);

	domains[0] = "198.51.100.7";
	csr = crypto_csr(k, domains, 1);
	assert_non_null(csr);
	req = decode_csr(csr);
	assert_int_equal(X509_NAME_entry_count(X509_REQ_get_subject_name(req)), 0);
	X509_REQ_free(req);
	free(csr);

	assert_null(crypto_csr(k, domains, 0));
	crypto_key_free(k);
}

static void
test_csr_rsa_signed_sha256_and_verifies(void **state)
{
	char *const	 domains[] = { "rsa.example.org" };
	struct crypto_key *k;
	X509_REQ	*req;
	char		*csr;

	(void)state;
	k = crypto_key_generate(KEY_RSA_2048);
	assert_non_null(k);
	csr = crypto_csr(k, domains, 1);
	assert_non_null(csr);
	req = decode_csr(csr);
	assert_int_equal(X509_REQ_verify(req, crypto_key_evp(k)), 1);
	assert_int_equal(X509_REQ_get_signature_nid(req),
	    NID_sha256WithRSAEncryption);
	X509_REQ_free(req);
	free(csr);
	crypto_key_free(k);
}

/* The CSR's SubjectPublicKeyInfo must be exactly the key's, as OpenSSL encodes it. */
static void
check_csr_spki(struct crypto_key *k)
{
	char *const	 domains[] = { "spki.example.net" };
	unsigned char	*a = NULL, *b = NULL;
	X509_REQ	*req;
	char		*csr;
	int		 alen, blen;

	csr = crypto_csr(k, domains, 1);
	assert_non_null(csr);
	req = decode_csr(csr);
	assert_int_equal(X509_REQ_verify(req, crypto_key_evp(k)), 1);
	alen = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &a);
	blen = i2d_PUBKEY(crypto_key_evp(k), &b);
	assert_true(alen > 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, (size_t)alen);
	assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req),
	    crypto_key_evp(k)), 1);
	OPENSSL_free(a);
	OPENSSL_free(b);
	X509_REQ_free(req);
	free(csr);
}

static void
test_csr_public_key_info_equals_openssl_for_each_ec_form(void **state)
{
	struct crypto_key *k;

	(void)state;
	k = crypto_key_generate(KEY_EC_P256);
	assert_non_null(k);
	check_csr_spki(k);
	set_ec_param(k, "point-format", "compressed");
	check_csr_spki(k);
	crypto_key_free(k);
	k = crypto_key_generate(KEY_EC_P384);
	assert_non_null(k);
	check_csr_spki(k);
	set_ec_param(k, "encoding", "explicit");
	check_csr_spki(k);
	crypto_key_free(k);
}

/* Certificates */

/*
 * What crypto_cert_parse and crypto_cert_matches_key did before they were
 * merged into crypto_cert_get_info and crypto_cert_has_key: the tests of
 * the one-call forms keep asserting the same through these.
 */
static int
cert_parse(const char *pem, size_t len, struct crypto_cert_info *out,
    char *err, size_t errlen)
{
	struct crypto_cert *cert;
	int		 rc;

	if ((cert = crypto_cert_from_pem(pem, len, err, errlen)) == NULL) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	rc = crypto_cert_get_info(cert, out, err, errlen);
	crypto_cert_free(cert);
	return rc;
}

static int
cert_matches_key(const char *pem, size_t len, const struct crypto_key *key)
{
	struct crypto_cert *cert;
	int		 match;

	cert = crypto_cert_from_pem(pem, len, NULL, 0);
	match = crypto_cert_has_key(cert, key);
	crypto_cert_free(cert);
	return match;
}

#define NOT_BEFORE	((time_t)1700000000)	/* 2023-11-14T22:13:20Z */
#define NOT_AFTER	((time_t)1707776000)	/* 90 days later */

/* Makes a self-signed PEM certificate for key with the given SANs and serial. */
static char *
make_cert(EVP_PKEY *key, const char *serial_hex, const char *san,
    const char *cn)
{
	X509		*x;
	X509_NAME	*name;
	X509_EXTENSION	*ext;
	X509V3_CTX	 ctx;
	BIGNUM		*bn = NULL;
	BIO		*bio;
	char		*data, *s;
	long		 n;

	x = X509_new();
	assert_non_null(x);
	assert_true(X509_set_version(x, 2));
	assert_true(BN_hex2bn(&bn, serial_hex) > 0);
	assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
	BN_free(bn);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), NOT_BEFORE));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), NOT_AFTER));
	name = X509_get_subject_name(x);
	assert_true(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"Renewd Test", -1, -1, 0));
	assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0));
	assert_true(X509_set_issuer_name(x, name));
	assert_true(X509_set_pubkey(x, key));
	if (san != NULL) {
		X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
		assert_non_null(ext);
		assert_true(X509_add_ext(x, ext, -1));
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_X509(bio, x));
	n = BIO_get_mem_data(bio, &data);
	s = strndup(data, (size_t)n);
	assert_non_null(s);
	BIO_free(bio);
	X509_free(x);
	return s;
}

static void
test_cert_parse_validity_sans_serial_issuer(void **state)
{
	struct crypto_key *k;
	struct crypto_cert_info info;
	char		*pem, err[256];

	(void)state;
	k = fixed_key();
	pem = make_cert(crypto_key_evp(k), "00ABCDEF0123456789",
	    "DNS:WWW.Example.COM,DNS:*.example.com,IP:192.0.2.1,"
	    "IP:2001:db8:0:0::1,email:ops@example.com", "Test CA");
	assert_int_equal(cert_parse(pem, strlen(pem), &info, err,
	    sizeof(err)), 0);
	assert_int_equal(info.not_before, NOT_BEFORE);
	assert_int_equal(info.not_after, NOT_AFTER);
	assert_string_equal(info.serial, "abcdef0123456789");
	assert_string_equal(info.issuer, "CN=Test CA,O=Renewd Test");
	/* email SAN skipped; DNS lower-cased; IPv6 in canonical text */
	assert_int_equal(info.nsans, 4);
	assert_string_equal(info.sans[0], "www.example.com");
	assert_string_equal(info.sans[1], "*.example.com");
	assert_string_equal(info.sans[2], "192.0.2.1");
	assert_string_equal(info.sans[3], "2001:db8::1");
	crypto_cert_info_clear(&info);
	assert_null(info.sans);
	assert_int_equal(info.nsans, 0);
	crypto_cert_info_clear(&info);	/* twice is harmless */
	free(pem);
	crypto_key_free(k);
}

/*
 * A leaf made with openssl x509 -req -set_serial 0x87654321 and
 * authorityKeyIdentifier=keyid. Its certID was computed apart from
 * renewd, with python3-cryptography:
 *   aki = cert.extensions.get_extension_for_class(
 *       x509.AuthorityKeyIdentifier).value.key_identifier
 *   n = cert.serial_number; der = n.to_bytes((n.bit_length() + 8) // 8, "big")
 *   b64u(aki) + "." + b64u(der)      (urlsafe_b64encode, "=" stripped)
 * The serial's high bit is set, so its DER content octets begin with 00,
 * and the AKI's base64url holds both '-' and '_'.
 */
static const char ari_leaf_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBezCCASGgAwIBAgIFAIdlQyEwCgYIKoZIzj0EAwIwFjEUMBIGA1UEAwwLYXJp\n"
    "LXRlc3QtY2EwIBcNMjYxMTMwMDAyNTE4WhgPMjEyNjExMDYwMDI1MThaMBYxFDAS\n"
    "BgNVBAMMC2FyaS5leGFtcGxlMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE7FJr\n"
    "08MaWKqq3es+m0negR/W3d8A/mNDLw9FQo2iBTxIhb8unINLRbOMtEHH1ax1zNgx\n"
    "wf8rJ/v8gGLb9+DdiKNaMFgwFgYDVR0RBA8wDYILYXJpLmV4YW1wbGUwHwYDVR0j\n"
    "BBgwFoAUtyQnDUWwh+zqi2DZi2AI8oXR/8QwHQYDVR0OBBYEFL6om2dckLHsihyO\n"
    "FNpjmXPrn+H9MAoGCCqGSM49BAMCA0gAMEUCIC1GXnJeuXVgAgM8fHzNfLPOVUd7\n"
    "+WTL5Z0x739Qx0k2AiEAuCr3djB6JQVl4x9xqvGLJpy07F2YL6+ZIydLZ6FP1sg=\n"
    "-----END CERTIFICATE-----\n";

static void
test_cert_ari_id(void **state)
{
	struct crypto_key *k;
	struct crypto_cert_info info;
	char		*pem, err[256];

	(void)state;
	assert_int_equal(cert_parse(ari_leaf_pem, strlen(ari_leaf_pem), &info,
	    err, sizeof(err)), 0);
	assert_string_equal(info.serial, "87654321");
	assert_string_equal(info.ari_id, "tyQnDUWwh-zqi2DZi2AI8oXR_8Q.AIdlQyE");
	crypto_cert_info_clear(&info);
	assert_null(info.ari_id);
	/* no Authority Key Identifier: no certID, the rest is parsed */
	k = fixed_key();
	pem = make_cert(crypto_key_evp(k), "1", NULL, "no-aki");
	assert_int_equal(cert_parse(pem, strlen(pem), &info, err,
	    sizeof(err)), 0);
	assert_null(info.ari_id);
	assert_string_equal(info.serial, "1");
	crypto_cert_info_clear(&info);
	free(pem);
	crypto_key_free(k);
}

/*
 * A version 1 certificate (openssl x509 -req -signkey -set_serial 12345,
 * no extensions): no [0] version before its serial.
 */
static const char v1_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBATCBqQICMDkwCgYIKoZIzj0EAwIwDTELMAkGA1UEAwwCdjEwHhcNMjYxMTMw\n"
    "MDMyNjQzWhcNMjYxMjAyMDMyNjQzWjANMQswCQYDVQQDDAJ2MTBZMBMGByqGSM49\n"
    "AgEGCCqGSM49AwEHA0IABLBVWsb6ualGpW70ZwRlJKpI6iszrSt8mOTlHEJVN86g\n"
    "AwFT6d8gIhKQ3soYUxSytY1Dec0L31lI2vqOXa+qrNkwCgYIKoZIzj0EAwIDRwAw\n"
    "RAIgJuo6Il0aTVMHCwxbGlvj99N5ml0YQEiWF0KEcWFc9a8CIE6vUNV98Ue9l1f7\n"
    "ROTijPLmvhxrw6hJD+dR+fkaSvMB\n"
    "-----END CERTIFICATE-----\n";

/* The DER-only serial agrees with the full parse, whatever the serial. */
static void
test_pem_serial_equals_the_parsed_one(void **state)
{
	static const char *const serials[] = { "1", "00ABCDEF0123456789",
	    "87654321", "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "-5" };
	struct crypto_key *k;
	struct crypto_cert_info info;
	char		*pem, err[256], out[96], small[4];
	size_t		 i;

	(void)state;
	k = fixed_key();
	for (i = 0; i < sizeof(serials) / sizeof(serials[0]); i++) {
		pem = make_cert(crypto_key_evp(k), serials[i], NULL, "serial");
		assert_int_equal(cert_parse(pem, strlen(pem), &info, err,
		    sizeof(err)), 0);
		assert_int_equal(crypto_pem_serial(pem, strlen(pem), out,
		    sizeof(out)), 0);
		assert_string_equal(out, info.serial);
		crypto_cert_info_clear(&info);
		free(pem);
	}
	assert_int_equal(crypto_pem_serial(ari_leaf_pem, strlen(ari_leaf_pem),
	    out, sizeof(out)), 0);
	assert_string_equal(out, "87654321");
	assert_int_equal(crypto_pem_serial(ari_leaf_pem, strlen(ari_leaf_pem),
	    small, sizeof(small)), -1);
	assert_int_equal(crypto_pem_serial("nope", 4, out, sizeof(out)), -1);
	assert_int_equal(crypto_pem_serial(v1_pem, strlen(v1_pem), out,
	    sizeof(out)), 0);
	assert_string_equal(out, "3039");
	crypto_key_free(k);
}

static void
test_cert_parse_without_san_and_garbage(void **state)
{
	struct crypto_key *k;
	struct crypto_cert_info info;
	char		*pem, err[256];

	(void)state;
	k = fixed_key();
	pem = make_cert(crypto_key_evp(k), "1", NULL, "no-san");
	assert_int_equal(cert_parse(pem, strlen(pem), &info, err,
	    sizeof(err)), 0);
	assert_int_equal(info.nsans, 0);
	assert_string_equal(info.serial, "1");
	crypto_cert_info_clear(&info);
	free(pem);

	err[0] = '\0';
	assert_int_equal(cert_parse("nope", 4, &info, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "certificate"));
	assert_null(info.serial);
	crypto_key_free(k);
}

static void
test_cert_matches_key_true_for_own_key_false_for_other(void **state)
{
	struct crypto_key *k, *other;
	char		*pem;

	(void)state;
	k = fixed_key();
	other = crypto_key_generate(KEY_EC_P256);
	assert_non_null(other);
	pem = make_cert(crypto_key_evp(k), "02", "DNS:a.example", "x");
	assert_int_equal(cert_matches_key(pem, strlen(pem), k), 1);
	assert_int_equal(cert_matches_key(pem, strlen(pem), other), 0);
	assert_int_equal(cert_matches_key("junk", 4, k), 0);
	free(pem);
	crypto_key_free(k);
	crypto_key_free(other);
}

static void
test_chain_split_keeps_exact_pem_text(void **state)
{
	struct crypto_key *k;
	char		*leaf_pem, *ca_pem, *ca2_pem, *full, *leaf, *chain;

	(void)state;
	k = fixed_key();
	leaf_pem = make_cert(crypto_key_evp(k), "10", "DNS:leaf.example", "l");
	ca_pem = make_cert(crypto_key_evp(k), "11", NULL, "Intermediate");
	ca2_pem = make_cert(crypto_key_evp(k), "12", NULL, "Root");

	/* leaf + one intermediate */
	assert_int_not_equal(asprintf(&full, "%s%s", leaf_pem, ca_pem), -1);
	assert_int_equal(crypto_chain_split(full, strlen(full), &leaf, &chain,
	    NULL),
	    0);
	assert_string_equal(leaf, leaf_pem);
	assert_string_equal(chain, ca_pem);
	free(leaf);
	free(chain);
	free(full);

	/* leaf + two, with a blank line between, as some CAs send */
	assert_int_not_equal(asprintf(&full, "%s\n%s%s", leaf_pem, ca_pem,
	    ca2_pem), -1);
	assert_int_equal(crypto_chain_split(full, strlen(full), &leaf, &chain,
	    NULL),
	    0);
	assert_string_equal(leaf, leaf_pem);
	assert_int_equal(strlen(chain), strlen(ca_pem) + strlen(ca2_pem));
	assert_true(strncmp(chain, ca_pem, strlen(ca_pem)) == 0);
	assert_string_equal(chain + strlen(ca_pem), ca2_pem);
	free(leaf);
	free(chain);
	free(full);

	/* only a leaf */
	assert_int_equal(crypto_chain_split(leaf_pem, strlen(leaf_pem), &leaf,
	    &chain, NULL), 0);
	assert_string_equal(leaf, leaf_pem);
	assert_string_equal(chain, "");
	free(leaf);
	free(chain);

	/* no certificate at all, or a broken one */
	assert_int_equal(crypto_chain_split("junk", 4, &leaf, &chain, NULL), -1);
	assert_null(leaf);
	assert_null(chain);
	full = strdup("-----BEGIN CERTIFICATE-----\nAAAA\n"
	    "-----END CERTIFICATE-----\n");
	assert_int_equal(crypto_chain_split(full, strlen(full), &leaf, &chain,
	    NULL),
	    -1);
	free(full);

	free(leaf_pem);
	free(ca_pem);
	free(ca2_pem);
	crypto_key_free(k);
}

static void
test_parsed_cert_gives_info_key_match_and_split_leaf(void **state)
{
	struct crypto_key *k, *other;
	struct crypto_cert *cert;
	struct crypto_cert_info info, info2;
	char		*leaf_pem, *ca_pem, *full, *leaf, *chain, err[256];

	(void)state;
	k = fixed_key();
	other = crypto_key_generate(KEY_EC_P256);
	assert_non_null(other);
	leaf_pem = make_cert(crypto_key_evp(k), "0A1B", "DNS:p.example", "P CA");
	ca_pem = make_cert(crypto_key_evp(other), "0C", NULL, "Intermediate");

	cert = crypto_cert_from_pem(leaf_pem, strlen(leaf_pem), err,
	    sizeof(err));
	assert_non_null(cert);
	assert_int_equal(crypto_cert_get_info(cert, &info, err, sizeof(err)), 0);
	assert_int_equal(cert_parse(leaf_pem, strlen(leaf_pem), &info2,
	    err, sizeof(err)), 0);
	assert_int_equal(info.not_before, info2.not_before);
	assert_int_equal(info.not_after, info2.not_after);
	assert_string_equal(info.serial, "a1b");
	assert_string_equal(info.serial, info2.serial);
	assert_string_equal(info.issuer, info2.issuer);
	assert_int_equal(info.nsans, 1);
	assert_string_equal(info.sans[0], "p.example");
	crypto_cert_info_clear(&info);
	crypto_cert_info_clear(&info2);
	assert_int_equal(crypto_cert_has_key(cert, k), 1);
	assert_int_equal(crypto_cert_has_key(cert, other), 0);
	assert_int_equal(crypto_cert_has_key(cert, NULL), 0);
	assert_int_equal(crypto_cert_has_key(NULL, k), 0);
	crypto_cert_free(cert);
	crypto_cert_free(NULL);

	/* the split hands back the leaf, not the intermediate */
	assert_int_not_equal(asprintf(&full, "%s%s", leaf_pem, ca_pem), -1);
	assert_int_equal(crypto_chain_split(full, strlen(full), &leaf,
	    &chain, &cert), 0);
	assert_string_equal(leaf, leaf_pem);
	assert_string_equal(chain, ca_pem);
	assert_non_null(cert);
	assert_int_equal(crypto_cert_has_key(cert, k), 1);
	assert_int_equal(crypto_cert_get_info(cert, &info, err, sizeof(err)), 0);
	assert_string_equal(info.serial, "a1b");
	crypto_cert_info_clear(&info);
	crypto_cert_free(cert);
	free(leaf);
	free(chain);
	free(full);

	/* failures leave nothing behind */
	cert = (struct crypto_cert *)1;
	assert_int_equal(crypto_chain_split("junk", 4, &leaf, &chain,
	    &cert), -1);
	assert_null(cert);
	assert_null(leaf);
	assert_null(chain);
	full = strdup("-----BEGIN CERTIFICATE-----\nAAAA\n"
	    "-----END CERTIFICATE-----\n");
	assert_non_null(full);
	assert_int_equal(crypto_chain_split(full, strlen(full), &leaf,
	    &chain, &cert), -1);
	assert_null(cert);
	free(full);
	err[0] = '\0';
	assert_null(crypto_cert_from_pem("nope", 4, err, sizeof(err)));
	assert_non_null(strstr(err, "certificate"));
	assert_int_equal(crypto_cert_get_info(NULL, &info, err, sizeof(err)),
	    -1);
	assert_null(info.serial);

	free(leaf_pem);
	free(ca_pem);
	crypto_key_free(k);
	crypto_key_free(other);
}

static void
test_cert_covers_exact_wildcard_and_ip(void **state)
{
	char *sans[] = { "example.com", "*.example.com", "192.0.2.1",
	    "2001:db8::1" };
	struct crypto_cert_info info = { .sans = sans, .nsans = 4 };
	char *ok1[] = { "example.com", "WWW.example.com", "a.example.com" };
	char *ok2[] = { "*.example.com" };
	char *ok3[] = { "192.0.2.1", "2001:DB8:0::1" };
	char *deep[] = { "a.b.example.com" };
	char *other[] = { "example.org" };
	char *wild_other[] = { "*.example.org" };
	char *mixed[] = { "example.com", "missing.example.net" };
	char *ip_other[] = { "192.0.2.2" };
	char *dot_only[] = { ".example.com" };
	char *wsans[] = { "*.example.com" };
	struct crypto_cert_info winfo = { .sans = wsans, .nsans = 1 };
	char *apex[] = { "example.com" };
	char *sub_wild[] = { "*.a.example.com" };

	(void)state;
	assert_int_equal(crypto_cert_covers(&info, ok1, 3), 1);
	assert_int_equal(crypto_cert_covers(&info, ok2, 1), 1);
	assert_int_equal(crypto_cert_covers(&info, ok3, 2), 1);
	assert_int_equal(crypto_cert_covers(&info, NULL, 0), 1);
	assert_int_equal(crypto_cert_covers(&info, deep, 1), 0);
	assert_int_equal(crypto_cert_covers(&info, other, 1), 0);
	assert_int_equal(crypto_cert_covers(&info, wild_other, 1), 0);
	assert_int_equal(crypto_cert_covers(&info, mixed, 2), 0);
	assert_int_equal(crypto_cert_covers(&info, ip_other, 1), 0);
	assert_int_equal(crypto_cert_covers(&info, dot_only, 1), 0);
	/* a wildcard does not cover the apex, nor a deeper wildcard */
	assert_int_equal(crypto_cert_covers(&winfo, apex, 1), 0);
	assert_int_equal(crypto_cert_covers(&winfo, sub_wild, 1), 0);
	assert_int_equal(crypto_cert_covers(&winfo, ok2, 1), 1);
	/* a requested wildcard needs the wildcard SAN itself */
	assert_int_equal(crypto_cert_covers(&(struct crypto_cert_info){
	    .sans = ok1, .nsans = 3 }, ok2, 1), 0);
}

/* ---- crypto_chain_check: issued chains made here, with their defects ---- */

/* Returns a certificate for key named cn, signed by ikey as issuer (NULL: itself). */
static X509 *
chain_cert(EVP_PKEY *key, const char *cn, const char *san, EVP_PKEY *ikey,
    X509 *issuer, time_t nb, time_t na, int ca)
{
	static long	 serial = 100;
	X509		*x = X509_new();
	X509_EXTENSION	*ext;
	X509V3_CTX	 ctx;

	assert_non_null(x);
	assert_true(X509_set_version(x, 2));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++));
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), nb));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), na));
	assert_true(X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0));
	assert_true(X509_set_issuer_name(x, X509_get_subject_name(
	    issuer != NULL ? issuer : x)));
	assert_true(X509_set_pubkey(x, key));
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, ca ? NID_basic_constraints :
	    NID_subject_alt_name, ca ? "critical,CA:TRUE" : san);
	assert_non_null(ext);
	assert_true(X509_add_ext(x, ext, -1));
	X509_EXTENSION_free(ext);
	if (!ca) {
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_ext_key_usage,
		    "serverAuth");
		assert_non_null(ext);
		assert_true(X509_add_ext(x, ext, -1));
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, ikey != NULL ? ikey : key, EVP_sha256()) > 0);
	return x;
}

/* Appends x's PEM to the malloc'd string *s (NULL: start one). */
static void
pem_add(char **s, X509 *x)
{
	BIO	*bio = BIO_new(BIO_s_mem());
	char	*data, *t;
	long	 n;

	assert_true(PEM_write_bio_X509(bio, x));
	n = BIO_get_mem_data(bio, &data);
	assert_int_not_equal(asprintf(&t, "%s%.*s", *s != NULL ? *s : "",
	    (int)n, data), -1);
	free(*s);
	*s = t;
	BIO_free(bio);
}

struct pki {
	EVP_PKEY	*root_key, *int_key, *leaf_key, *other_key;
	X509		*root, *inter, *leaf, *other_root;
	time_t		 now;
};

static void
pki_make(struct pki *p)
{
	p->now = time(NULL);
	assert_non_null(p->root_key = EVP_EC_gen("P-256"));
	assert_non_null(p->int_key = EVP_EC_gen("P-256"));
	assert_non_null(p->leaf_key = EVP_EC_gen("P-256"));
	assert_non_null(p->other_key = EVP_EC_gen("P-256"));
	p->root = chain_cert(p->root_key, "root", NULL, NULL, NULL,
	    p->now - 86400, p->now + 3650 * 86400L, 1);
	p->inter = chain_cert(p->int_key, "inter", NULL, p->root_key, p->root,
	    p->now - 86400, p->now + 365 * 86400L, 1);
	p->leaf = chain_cert(p->leaf_key, "leaf", "DNS:a.example", p->int_key,
	    p->inter, p->now - 3600, p->now + 90 * 86400L, 0);
	p->other_root = chain_cert(p->other_key, "root", NULL, NULL, NULL,
	    p->now - 86400, p->now + 3650 * 86400L, 1);
}

static void
pki_free(struct pki *p)
{
	X509_free(p->root);
	X509_free(p->inter);
	X509_free(p->leaf);
	X509_free(p->other_root);
	EVP_PKEY_free(p->root_key);
	EVP_PKEY_free(p->int_key);
	EVP_PKEY_free(p->leaf_key);
	EVP_PKEY_free(p->other_key);
}

/* crypto_chain_check of pem (freed) with roots; returns its result, err filled. */
static int
chk(char *pem, const char *roots, time_t now, char *err, size_t errlen)
{
	int	rc;

	err[0] = '\0';
	rc = crypto_chain_check(pem, strlen(pem), NULL, NULL, roots, roots != NULL ?
	    strlen(roots) : 0, now, err, errlen);
	free(pem);
	return rc;
}

/* Returns the PEM of certificates a, b (either NULL: left out). */
static char *
pem2(X509 *a, X509 *b)
{
	char	*s = NULL;

	if (a != NULL)
		pem_add(&s, a);
	if (b != NULL)
		pem_add(&s, b);
	return s;
}

static void
test_chain_check_accepts_a_good_chain_with_and_without_roots(void **state)
{
	struct pki	 p;
	char		 err[256], *root = NULL, *other = NULL, *both;

	(void)state;
	pki_make(&p);
	pem_add(&root, p.root);
	pem_add(&other, p.other_root);
	assert_int_equal(chk(pem2(p.leaf, p.inter), NULL, p.now, err,
	    sizeof(err)), 0);
	assert_int_equal(chk(pem2(p.leaf, p.inter), root, p.now, err,
	    sizeof(err)), 0);
	/* roots with comments between, as bundles have them */
	assert_int_not_equal(asprintf(&both, "# ours\n%s\n# end\n", root), -1);
	assert_int_equal(chk(pem2(p.leaf, p.inter), both, p.now, err,
	    sizeof(err)), 0);
	/* another root with the same name: verification fails, and says so */
	assert_int_equal(chk(pem2(p.leaf, p.inter), other, p.now, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "does not verify to issuer_roots"));
	assert_int_equal(crypto_roots_check(root, strlen(root), err,
	    sizeof(err)), 0);
	assert_int_equal(crypto_roots_check("junk\n", 5, err, sizeof(err)), -1);
	assert_string_equal(err, "issuer_roots: no certificate");
	free(root);
	free(other);
	free(both);
	pki_free(&p);
}

/* The parsed leaf and the issuer cache change the cost, never the verdict. */
static void
test_chain_check_cache_never_changes_the_verdict(void **state)
{
	struct crypto_chain_cache *cache = crypto_chain_cache_new();
	struct crypto_cert *leaf;
	struct pki	 p, q;
	char		 err[256], *good, *bad;
	int		 i;

	(void)state;
	pki_make(&p);
	pki_make(&q);
	good = pem2(p.leaf, p.inter);
	/* p's leaf with q's intermediate: same names, another key */
	bad = pem2(p.leaf, q.inter);
	leaf = crypto_cert_from_pem(good, strlen(good), err, sizeof(err));
	assert_non_null(leaf);
	for (i = 0; i < 3; i++) {
		assert_int_equal(crypto_chain_check(good, strlen(good), leaf,
		    cache, NULL, 0, p.now, err, sizeof(err)), 0);
		assert_int_equal(crypto_chain_check(bad, strlen(bad), leaf,
		    cache, NULL, 0, p.now, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "not signed by"));
	}
	/* after the bad issuer was cached, the good one is checked anew */
	assert_int_equal(crypto_chain_check(good, strlen(good), NULL, cache,
	    NULL, 0, p.now, err, sizeof(err)), 0);
	crypto_cert_free(leaf);
	crypto_chain_cache_free(cache);
	crypto_chain_cache_free(NULL);
	free(good);
	free(bad);
	pki_free(&p);
	pki_free(&q);
}

static void
test_chain_check_refuses_the_leaf_out_of_its_validity(void **state)
{
	struct pki	 p;
	X509		*x;
	char		 err[256];

	(void)state;
	pki_make(&p);
	x = chain_cert(p.leaf_key, "leaf", "DNS:a.example", p.int_key, p.inter,
	    p.now - 30 * 86400L, p.now - 86400, 0);
	assert_int_equal(chk(pem2(x, p.inter), NULL, p.now, err, sizeof(err)), -1);
	assert_string_equal(err, "the leaf has expired");
	X509_free(x);
	x = chain_cert(p.leaf_key, "leaf", "DNS:a.example", p.int_key, p.inter,
	    p.now + 3600, p.now + 90 * 86400L, 0);
	assert_int_equal(chk(pem2(x, p.inter), NULL, p.now, err, sizeof(err)), -1);
	assert_string_equal(err, "the leaf is not valid yet");
	X509_free(x);
	/* a minute ahead is clock skew, not a defect */
	x = chain_cert(p.leaf_key, "leaf", "DNS:a.example", p.int_key, p.inter,
	    p.now + 60, p.now + 90 * 86400L, 0);
	assert_int_equal(chk(pem2(x, p.inter), NULL, p.now, err, sizeof(err)), 0);
	X509_free(x);
	pki_free(&p);
}

static void
test_chain_check_refuses_broken_links(void **state)
{
	struct pki	 p;
	X509		*self, *fake;
	char		 err[256];

	(void)state;
	pki_make(&p);
	self = chain_cert(p.leaf_key, "leaf", "DNS:a.example", NULL, NULL,
	    p.now - 3600, p.now + 86400, 0);
	assert_int_equal(chk(pem2(self, NULL), NULL, p.now, err, sizeof(err)), -1);
	assert_string_equal(err, "the leaf is self-signed");
	assert_int_equal(chk(pem2(p.leaf, NULL), NULL, p.now, err, sizeof(err)), -1);
	assert_string_equal(err, "no chain: the leaf's issuer is missing");
	/* the issuer's name with another key: the signature does not verify */
	fake = chain_cert(p.other_key, "inter", NULL, p.root_key, p.root,
	    p.now - 86400, p.now + 86400, 1);
	assert_int_equal(chk(pem2(p.leaf, fake), NULL, p.now, err, sizeof(err)), -1);
	assert_string_equal(err, "certificate 1 of the chain is not signed by "
	    "certificate 2");
	/* an unrelated issuer */
	assert_int_equal(chk(pem2(p.leaf, p.root), NULL, p.now, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "certificate 1 of the chain is not signed by "
	    "certificate 2");
	X509_free(self);
	X509_free(fake);
	pki_free(&p);
}

static void
test_chain_check_refuses_garbage_and_oversize(void **state)
{
	struct pki	 p;
	char		 err[256], *s, *big;
	int		 i;

	(void)state;
	pki_make(&p);
	s = pem2(p.leaf, p.inter);
	assert_int_not_equal(asprintf(&big, "%s-----BEGIN CERTIFICATE-----\n"
	    "AAAAAAAAAAAAAAAAAAAA\n-----END CERTIFICATE-----\n", s), -1);
	assert_int_equal(chk(big, NULL, p.now, err, sizeof(err)), -1);
	assert_string_equal(err, "chain: block 3 is no certificate");
	assert_int_not_equal(asprintf(&big, "%shello\n", s), -1);
	assert_int_equal(chk(big, NULL, p.now, err, sizeof(err)), -1);
	assert_string_equal(err, "chain: text that is no certificate block "
	    "after certificate 2");
	free(s);
	/* eleven certificates: one too many, however well linked */
	s = NULL;
	pem_add(&s, p.leaf);
	for (i = 0; i < 10; i++)
		pem_add(&s, p.inter);
	assert_int_equal(chk(s, NULL, p.now, err, sizeof(err)), -1);
	assert_string_equal(err, "chain: more than 10 certificates");
	big = calloc(1, CRYPTO_CHAIN_MAX_BYTES + 2);
	assert_non_null(big);
	memset(big, '\n', CRYPTO_CHAIN_MAX_BYTES + 1);
	assert_int_equal(chk(big, NULL, p.now, err, sizeof(err)), -1);
	assert_string_equal(err, "chain: 65537 bytes, more than 65536");
	pki_free(&p);
}

static void
test_cert_names_exact_is_set_equality(void **state)
{
	char	*sans[] = { "a.example", "*.b.example", "192.0.2.1" };
	char	*same[] = { "192.0.2.1", "A.example", "*.b.example" };
	char	*fewer[] = { "a.example", "*.b.example" };
	char	*covered[] = { "a.example", "x.b.example", "192.0.2.1" };
	struct crypto_cert_info info = { .sans = sans, .nsans = 3 };

	(void)state;
	assert_true(crypto_cert_names_exact(&info, same, 3));
	assert_false(crypto_cert_names_exact(&info, fewer, 2));
	assert_false(crypto_cert_names_exact(&info, covered, 3));
	assert_true(crypto_cert_covers(&info, covered, 3));
	info.nsans = 2;
	assert_false(crypto_cert_names_exact(&info, same, 3));
}

/* A sealed value opens under its key and ad only, and any flipped byte fails. */
static void
test_seal_opens_only_under_its_key_and_ad(void **state)
{
	unsigned char	 key[CRYPTO_SEAL_KEY_LEN], other[CRYPTO_SEAL_KEY_LEN];
	unsigned char	*s, *s2, *p;
	const char	*msg = "{\"key\":\"secret\"}";
	size_t		 n, n2, pn, i;

	(void)state;
	memset(key, 7, sizeof(key));
	memcpy(other, key, sizeof(key));
	other[31] ^= 1;
	s = crypto_seal(key, "/p/certs/a", 10, msg, strlen(msg), &n);
	assert_int_equal(n, strlen(msg) + CRYPTO_SEAL_OVERHEAD);
	assert_memory_equal(s, "RS1", 3);
	/* a fresh nonce each time: the same value seals differently */
	s2 = crypto_seal(key, "/p/certs/a", 10, msg, strlen(msg), &n2);
	assert_int_equal(n, n2);
	assert_memory_not_equal(s + 3, s2 + 3, 12);
	free(s2);
	p = crypto_unseal(key, "/p/certs/a", 10, s, n, &pn);
	assert_non_null(p);
	assert_int_equal(pn, strlen(msg));
	assert_string_equal((char *)p, msg);
	free(p);
	assert_null(crypto_unseal(other, "/p/certs/a", 10, s, n, &pn));
	assert_null(crypto_unseal(key, "/p/certs/b", 10, s, n, &pn));
	assert_null(crypto_unseal(key, "/p/certs/a", 10, s, n - 1, &pn));
	assert_null(crypto_unseal(key, "/p/certs/a", 10, s, 5, &pn));
	for (i = 0; i < n; i++) {
		s[i] ^= 0x40;
		assert_null(crypto_unseal(key, "/p/certs/a", 10, s, n, &pn));
		s[i] ^= 0x40;
	}
	free(s);
	/* an empty value seals and opens too */
	s = crypto_seal(key, "", 0, "", 0, &n);
	p = crypto_unseal(key, "", 0, s, n, &pn);
	assert_non_null(p);
	assert_int_equal(pn, 0);
	free(p);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keygen_ec_p256_p384_type_and_pem_round_trip),
		cmocka_unit_test(test_keygen_rsa_2048_3072_4096_type_and_pem_round_trip),
		cmocka_unit_test(test_crypto_init_installs_allocator_once),
		cmocka_unit_test(test_keygen_rejects_unknown_type),
		cmocka_unit_test(test_key_from_pem_reads_traditional_and_rejects_garbage),
		cmocka_unit_test(test_key_type_is_minus_one_for_keys_renewd_does_not_make),
		cmocka_unit_test(test_public_pem_key_has_type_but_no_private_pem),
		cmocka_unit_test(test_key_to_pem_ec_equals_openssl_encoder_byte_for_byte),
		cmocka_unit_test(test_key_to_pem_ec_unusual_encodings_still_equal_openssl),
		cmocka_unit_test(test_b64url_rfc4648_vectors_and_url_alphabet),
		cmocka_unit_test(test_b64url_decode_rejects_padding_std_alphabet_and_bad_length),
		cmocka_unit_test(test_sha256_b64url_known_vector),
		cmocka_unit_test(test_csr_has_cn_every_san_and_verifies),
		cmocka_unit_test(test_csr_long_first_name_or_ip_gets_empty_subject),
		cmocka_unit_test(test_csr_rsa_signed_sha256_and_verifies),
		cmocka_unit_test(test_csr_public_key_info_equals_openssl_for_each_ec_form),
		cmocka_unit_test(test_cert_parse_validity_sans_serial_issuer),
		cmocka_unit_test(test_pem_serial_equals_the_parsed_one),
		cmocka_unit_test(test_cert_ari_id),
		cmocka_unit_test(test_cert_parse_without_san_and_garbage),
		cmocka_unit_test(test_cert_matches_key_true_for_own_key_false_for_other),
		cmocka_unit_test(test_chain_split_keeps_exact_pem_text),
		cmocka_unit_test(test_parsed_cert_gives_info_key_match_and_split_leaf),
		cmocka_unit_test(test_cert_covers_exact_wildcard_and_ip),
		cmocka_unit_test(test_chain_check_accepts_a_good_chain_with_and_without_roots),
		cmocka_unit_test(test_chain_check_refuses_the_leaf_out_of_its_validity),
		cmocka_unit_test(test_chain_check_cache_never_changes_the_verdict),
		cmocka_unit_test(test_chain_check_refuses_broken_links),
		cmocka_unit_test(test_chain_check_refuses_garbage_and_oversize),
		cmocka_unit_test(test_cert_names_exact_is_set_equality),
		cmocka_unit_test(test_seal_opens_only_under_its_key_and_ad),
	};

	crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
