/* test_jws.c - JWK, RFC 7638 thumbprints, JWS signing and EAB */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "crypto.h"
#include "crypto_int.h"
#include "jws.h"

/* A fixed P-256 key and its JWK, computed independently (openssl + python). */
static const char fixed_p256_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgl/TNBUiBN5ftCdNE\n"
    "n9qf+KzeOyos89lQSDDxgErUkOqhRANCAAQTPYVELP1W4wBvOLe6frdQ+dkUzIDk\n"
    "wXH4VUlQAR1LW7APADIur7HWYc9a+AwU4enkVgTW+clOpbhVltK5hqSo\n"
    "-----END PRIVATE KEY-----\n";
static const char fixed_p256_jwk[] =
    "{\"crv\":\"P-256\",\"kty\":\"EC\","
    "\"x\":\"Ez2FRCz9VuMAbzi3un63UPnZFMyA5MFx-FVJUAEdS1s\","
    "\"y\":\"sA8AMi6vsdZhz1r4DBTh6eRWBNb5yU6luFWW0rmGpKg\"}";
static const char fixed_p256_thumb[] =
    "hUdacMUtidW_QlttxGJzcdkmwAsts9gcsq63iOg_HjA";

/* RFC 7638 section 3.1 */
static const char rfc7638_n[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxu"
    "hDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN"
    "5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5"
    "hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBni"
    "Iqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
static const char rfc7638_thumb[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

struct keys {
	struct crypto_key *p256, *p384, *rsa;
};

static int
setup_keys(void **state)
{
	struct keys	*k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return -1;
	k->p256 = crypto_key_from_pem(fixed_p256_pem, strlen(fixed_p256_pem));
	k->p384 = crypto_key_generate(KEY_EC_P384);
	k->rsa = crypto_key_generate(KEY_RSA_2048);
	*state = k;
	return k->p256 && k->p384 && k->rsa ? 0 : -1;
}

static int
teardown_keys(void **state)
{
	struct keys	*k = *state;

	crypto_key_free(k->p256);
	crypto_key_free(k->p384);
	crypto_key_free(k->rsa);
	free(k);
	return 0;
}

/* Decodes base64url JSON into a jansson value; fails the test if it is not. */
static json_t *
b64_json(const char *b64)
{
	unsigned char	*raw;
	size_t		 len;
	json_t		*j;

	raw = b64url_decode(b64, &len);
	assert_non_null(raw);
	j = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(j);
	free(raw);
	return j;
}

/* Converts JWS r||s back to DER ECDSA-Sig-Value; returns its length. */
static int
raw_to_der(const unsigned char *raw, size_t rawlen, unsigned char **der)
{
	ECDSA_SIG	*sig;
	BIGNUM		*r, *s;
	int		 len;

	sig = ECDSA_SIG_new();
	r = BN_bin2bn(raw, (int)(rawlen / 2), NULL);
	s = BN_bin2bn(raw + rawlen / 2, (int)(rawlen / 2), NULL);
	assert_true(sig && r && s);
	assert_true(ECDSA_SIG_set0(sig, r, s));
	*der = NULL;
	len = i2d_ECDSA_SIG(sig, der);
	assert_true(len > 0);
	ECDSA_SIG_free(sig);
	return len;
}

/* Verifies a JWS signature over input as alg says, with OpenSSL directly. */
static int
verify(const struct crypto_key *key, const char *alg, const char *input,
    const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX	*ctx;
	unsigned char	*der = NULL;
	const char	*md;
	int		 ok, derlen;

	md = strcmp(alg, "ES384") == 0 ? "SHA384" : "SHA256";
	ctx = EVP_MD_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL,
	    crypto_key_evp(key), NULL), 1);
	if (alg[0] == 'E') {
		derlen = raw_to_der(sig, siglen, &der);
		ok = EVP_DigestVerify(ctx, der, (size_t)derlen,
		    (const unsigned char *)input, strlen(input));
	} else
		ok = EVP_DigestVerify(ctx, sig, siglen,
		    (const unsigned char *)input, strlen(input));
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return ok == 1;
}

/*
 * Signs with jws_sign and checks everything a CA would: the three members,
 * the protected header, the payload, the signature's length and validity.
 */
static void
check_jws(const struct crypto_key *key, const char *kid, const char *payload,
    const char *alg, size_t want_siglen)
{
	const char	*url = "https://ca.test/acme/new-order";
	const char	*nonce = "n0nce-_AZ";
	char		*jws, *jwk, *input, *dumped;
	json_t		*o, *hdr;
	const char	*prot, *pay, *sigb;
	unsigned char	*sig, *p;
	size_t		 siglen, plen;

	jws = jws_sign(key, kid, nonce, url, payload);
	assert_non_null(jws);
	assert_null(strchr(jws, ' '));
	o = json_loads(jws, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(o);
	assert_int_equal(json_object_size(o), 3);
	assert_int_equal(json_unpack(o, "{s:s, s:s, s:s}", "protected", &prot,
	    "payload", &pay, "signature", &sigb), 0);

	hdr = b64_json(prot);
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")), alg);
	assert_string_equal(json_string_value(json_object_get(hdr, "nonce")),
	    nonce);
	assert_string_equal(json_string_value(json_object_get(hdr, "url")), url);
	if (kid != NULL) {
		assert_int_equal(json_object_size(hdr), 4);
		assert_string_equal(json_string_value(json_object_get(hdr,
		    "kid")), kid);
		assert_null(json_object_get(hdr, "jwk"));
	} else {
		assert_int_equal(json_object_size(hdr), 4);
		assert_null(json_object_get(hdr, "kid"));
		assert_true(json_is_object(json_object_get(hdr, "jwk")));
		/* the embedded JWK is the key's JWK, member for member */
		dumped = json_dumps(json_object_get(hdr, "jwk"),
		    JSON_COMPACT | JSON_SORT_KEYS);
		jwk = jws_jwk(key);
		assert_non_null(dumped);
		assert_non_null(jwk);
		assert_string_equal(dumped, jwk);
		free(dumped);
		free(jwk);
	}
	json_decref(hdr);

	if (payload == NULL)
		assert_string_equal(pay, "");
	else {
		p = b64url_decode(pay, &plen);
		assert_non_null(p);
		assert_int_equal(plen, strlen(payload));
		assert_memory_equal(p, payload, plen);
		free(p);
	}

	sig = b64url_decode(sigb, &siglen);
	assert_non_null(sig);
	assert_int_equal(siglen, want_siglen);
	assert_int_not_equal(asprintf(&input, "%s.%s", prot, pay), -1);
	assert_true(verify(key, alg, input, sig, siglen));
	/* and a tampered input does not verify */
	input[0] ^= 1;
	assert_false(verify(key, alg, input, sig, siglen));
	free(input);
	free(sig);
	json_decref(o);
	free(jws);
}

static void
test_jwk_p256_exact_string_and_thumbprint(void **state)
{
	struct keys	*k = *state;
	char		*s;

	s = jws_jwk(k->p256);
	assert_non_null(s);
	assert_string_equal(s, fixed_p256_jwk);
	free(s);
	s = jws_thumbprint(k->p256);
	assert_non_null(s);
	assert_string_equal(s, fixed_p256_thumb);
	free(s);
}

/* Builds the RFC 7638 example's public key through OpenSSL, as PEM. */
static struct crypto_key *
rfc7638_key(void)
{
	OSSL_PARAM_BLD	*bld;
	OSSL_PARAM	*params;
	EVP_PKEY_CTX	*ctx;
	EVP_PKEY	*pkey = NULL;
	BIGNUM		*n, *e;
	unsigned char	*raw;
	size_t		 len;
	BIO		*bio;
	char		*data;
	long		 dlen;
	struct crypto_key *key;

	raw = b64url_decode(rfc7638_n, &len);
	assert_non_null(raw);
	assert_int_equal(len, 256);
	n = BN_bin2bn(raw, (int)len, NULL);
	free(raw);
	e = BN_new();
	assert_true(n && e && BN_set_word(e, 65537));
	bld = OSSL_PARAM_BLD_new();
	assert_non_null(bld);
	assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n));
	assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e));
	params = OSSL_PARAM_BLD_to_param(bld);
	assert_non_null(params);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY,
	    params), 1);
	bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_PUBKEY(bio, pkey));
	dlen = BIO_get_mem_data(bio, &data);
	key = crypto_key_from_public_pem(data, (size_t)dlen);
	assert_non_null(key);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return key;
}

static void
test_jwk_rfc7638_rsa_example_thumbprint(void **state)
{
	struct crypto_key *key;
	char		*s, *want;

	(void)state;
	key = rfc7638_key();
	assert_int_equal(crypto_key_type(key), KEY_RSA_2048);
	assert_string_equal(jws_alg(key), "RS256");
	s = jws_jwk(key);
	assert_non_null(s);
	assert_int_not_equal(asprintf(&want,
	    "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"%s\"}", rfc7638_n), -1);
	assert_string_equal(s, want);
	free(want);
	free(s);
	s = jws_thumbprint(key);
	assert_non_null(s);
	assert_string_equal(s, rfc7638_thumb);
	free(s);
	/* public-only: cannot sign */
	assert_null(jws_sign(key, NULL, "n", "https://ca.test/x", "{}"));
	crypto_key_free(key);
}

/* x and y are always full-length: check many keys against the raw point. */
static void
test_jwk_ec_coordinates_are_zero_padded(void **state)
{
	struct crypto_key *key;
	unsigned char	 pt[133], *x, *y;
	size_t		 ptlen, xlen, ylen;
	char		*jwk;
	json_t		*o;
	int		 i, round;
	size_t		 flen;

	(void)state;
	for (round = 0; round < 2; round++) {
		flen = round == 0 ? 32 : 48;
		/* 1 in 128 P-256 keys has a coordinate with a leading 0 byte */
		for (i = 0; i < (round == 0 ? 400 : 20); i++) {
			key = crypto_key_generate(round == 0 ? KEY_EC_P256 :
			    KEY_EC_P384);
			assert_non_null(key);
			assert_int_equal(EVP_PKEY_get_octet_string_param(
			    crypto_key_evp(key), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
			    pt, sizeof(pt), &ptlen), 1);
			assert_int_equal(ptlen, 1 + 2 * flen);
			jwk = jws_jwk(key);
			assert_non_null(jwk);
			assert_true(strncmp(jwk, round == 0 ?
			    "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" :
			    "{\"crv\":\"P-384\",\"kty\":\"EC\",\"x\":\"", 30) == 0);
			o = json_loads(jwk, 0, NULL);
			assert_non_null(o);
			x = b64url_decode(json_string_value(json_object_get(o,
			    "x")), &xlen);
			y = b64url_decode(json_string_value(json_object_get(o,
			    "y")), &ylen);
			assert_true(x && y);
			assert_int_equal(xlen, flen);
			assert_int_equal(ylen, flen);
			assert_memory_equal(x, pt + 1, flen);
			assert_memory_equal(y, pt + 1 + flen, flen);
			free(x);
			free(y);
			json_decref(o);
			free(jwk);
			crypto_key_free(key);
		}
	}
}

static void
test_jws_alg_per_key_type(void **state)
{
	struct keys	*k = *state;
	struct crypto_key *p521;
	EVP_PKEY	*p;
	BIO		*bio;
	char		*data;
	long		 n;

	assert_string_equal(jws_alg(k->p256), "ES256");
	assert_string_equal(jws_alg(k->p384), "ES384");
	assert_string_equal(jws_alg(k->rsa), "RS256");
	assert_null(jws_alg(NULL));

	p = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	assert_non_null(p);
	bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_PrivateKey(bio, p, NULL, NULL, 0, NULL, NULL));
	n = BIO_get_mem_data(bio, &data);
	p521 = crypto_key_from_pem(data, (size_t)n);
	assert_non_null(p521);
	assert_null(jws_alg(p521));
	assert_null(jws_jwk(p521));
	assert_null(jws_sign(p521, NULL, "n", "https://ca.test/x", "{}"));
	crypto_key_free(p521);
	BIO_free(bio);
	EVP_PKEY_free(p);
}

static void
test_jws_es256_with_jwk_header_verifies_64_byte_sig(void **state)
{
	struct keys	*k = *state;

	check_jws(k->p256, NULL, "{\"termsOfServiceAgreed\":true}", "ES256", 64);
	check_jws(k->p256, "https://ca.test/acct/1", "{}", "ES256", 64);
}

static void
test_jws_es384_with_kid_header_verifies_96_byte_sig(void **state)
{
	struct keys	*k = *state;

	check_jws(k->p384, "https://ca.test/acct/7", "{\"identifiers\":[]}",
	    "ES384", 96);
	check_jws(k->p384, NULL, "{}", "ES384", 96);
}

static void
test_jws_rs256_verifies_256_byte_sig(void **state)
{
	struct keys	*k = *state;

	check_jws(k->rsa, NULL, "{\"contact\":[\"mailto:a@b.test\"]}", "RS256",
	    256);
	check_jws(k->rsa, "https://ca.test/acct/2", "{}", "RS256", 256);
}

static void
test_jws_post_as_get_has_empty_payload_and_verifies(void **state)
{
	struct keys	*k = *state;

	check_jws(k->p256, "https://ca.test/acct/1", NULL, "ES256", 64);
	check_jws(k->p384, "https://ca.test/acct/1", NULL, "ES384", 96);
	check_jws(k->rsa, "https://ca.test/acct/1", NULL, "RS256", 256);
}

static void
test_jws_many_es256_signatures_all_verify(void **state)
{
	struct keys	*k = *state;
	int		 i;

	/* 1 in 128 has r or s below 2^248: 1000 runs exercise the zero padding */
	for (i = 0; i < 1000; i++)
		check_jws(k->p256, "https://ca.test/acct/1", "{}", "ES256", 64);
}

static void
test_jws_without_nonce_or_url(void **state)
{
	struct keys	*k = *state;
	char		*jws;
	json_t		*o, *hdr;

	/* nonce NULL: the header simply lacks it */
	jws = jws_sign(k->p256, NULL, NULL, "https://ca.test/x", "{}");
	assert_non_null(jws);
	o = json_loads(jws, 0, NULL);
	assert_non_null(o);
	hdr = b64_json(json_string_value(json_object_get(o, "protected")));
	assert_null(json_object_get(hdr, "nonce"));
	assert_int_equal(json_object_size(hdr), 3);
	json_decref(hdr);
	json_decref(o);
	free(jws);
	/* url is mandatory (RFC 8555 6.4) */
	assert_null(jws_sign(k->p256, NULL, "n", NULL, "{}"));
	assert_null(jws_sign(NULL, NULL, "n", "https://ca.test/x", "{}"));
}

/* jws_sign and jws_eab print their JSON directly: it must be what jansson would. */
static void
check_canonical_json(const char *js)
{
	json_t		*o;
	char		*again;

	o = json_loads(js, 0, NULL);
	assert_non_null(o);
	assert_int_equal(json_object_size(o), 3);
	again = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(again);
	assert_string_equal(js, again);
	free(again);
	json_decref(o);
}

static void
test_jws_and_eab_print_compact_sorted_json(void **state)
{
	struct keys	*k = *state;
	char		*js;

	js = jws_sign(k->p256, NULL, "n0", "https://ca.test/x", "{\"a\":1}");
	assert_non_null(js);
	check_canonical_json(js);
	free(js);
	js = jws_sign(k->p384, "https://ca.test/acct/1", "n1",
	    "https://ca.test/y", NULL);
	assert_non_null(js);
	check_canonical_json(js);
	free(js);
	js = jws_eab(k->p256, "kid", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
	    "https://ca.test/new-acct");
	assert_non_null(js);
	check_canonical_json(js);
	free(js);
}

static void
test_eab_structure_and_hmac_verifies(void **state)
{
	struct keys	*k = *state;
	/* 32 bytes 0x00..0x1f */
	const char	*hkey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
	unsigned char	 rawkey[32], mac[32], *sig, *pay;
	size_t		 maclen, siglen, paylen;
	char		*eab, *jwk, *input;
	const char	*prot, *payb, *sigb;
	json_t		*o, *hdr;
	int		 i;

	for (i = 0; i < 32; i++)
		rawkey[i] = (unsigned char)i;
	eab = jws_eab(k->p256, "kid-123", hkey, "https://ca.test/acme/new-acct");
	assert_non_null(eab);
	o = json_loads(eab, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(o);
	assert_int_equal(json_object_size(o), 3);
	assert_int_equal(json_unpack(o, "{s:s, s:s, s:s}", "protected", &prot,
	    "payload", &payb, "signature", &sigb), 0);

	hdr = b64_json(prot);
	assert_int_equal(json_object_size(hdr), 3);
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")),
	    "HS256");
	assert_string_equal(json_string_value(json_object_get(hdr, "kid")),
	    "kid-123");
	assert_string_equal(json_string_value(json_object_get(hdr, "url")),
	    "https://ca.test/acme/new-acct");
	json_decref(hdr);

	/* the payload is the account key's JWK, byte for byte */
	pay = b64url_decode(payb, &paylen);
	assert_non_null(pay);
	jwk = jws_jwk(k->p256);
	assert_string_equal((char *)pay, jwk);
	assert_string_equal(jwk, fixed_p256_jwk);
	free(pay);
	free(jwk);

	assert_int_not_equal(asprintf(&input, "%s.%s", prot, payb), -1);
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, rawkey,
	    sizeof(rawkey), (unsigned char *)input, strlen(input), mac,
	    sizeof(mac), &maclen));
	sig = b64url_decode(sigb, &siglen);
	assert_non_null(sig);
	assert_int_equal(siglen, 32);
	assert_memory_equal(sig, mac, 32);
	free(sig);
	free(input);
	json_decref(o);
	free(eab);
}

static void
test_eab_rejects_undecodable_hmac_key(void **state)
{
	struct keys	*k = *state;

	assert_null(jws_eab(k->p256, "kid", "not base64!", "https://ca.test/a"));
	assert_null(jws_eab(k->p256, "kid", "AAEC+w==", "https://ca.test/a"));
	assert_null(jws_eab(k->p256, "kid", "", "https://ca.test/a"));
	assert_null(jws_eab(k->p256, "kid", NULL, "https://ca.test/a"));
}

/* Member name of pkey as base64url, set in o. */
static void
jwk_set(json_t *o, const char *member, EVP_PKEY *pkey, const char *param)
{
	BIGNUM		*bn = NULL;
	unsigned char	 buf[1024];
	char		*b64;
	int		 n;

	assert_true(EVP_PKEY_get_bn_param(pkey, param, &bn));
	n = BN_bn2bin(bn, buf);
	b64 = b64url_encode(buf, (size_t)n);
	json_object_set_new(o, member, json_string(b64));
	free(b64);
	BN_clear_free(bn);
}

/* Returns jws_key_from_jwk of o's text; err gets why not. */
static struct crypto_key *
from_jwk(json_t *o, char *err, size_t errlen)
{
	char			*text = json_dumps(o, 0);
	struct crypto_key	*k;

	err[0] = '\0';
	k = jws_key_from_jwk(text, strlen(text), err, errlen);
	free(text);
	return k;
}

/* certbot's private_key.json: an RSA JWK with every private member. */
static void
test_key_from_jwk(void **state)
{
	static const char *const members[] = { "n", "e", "d", "p", "q", "dp",
	    "dq", "qi" };
	static const char *const params[] = { OSSL_PKEY_PARAM_RSA_N,
	    OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
	    OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
	    OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
	    OSSL_PKEY_PARAM_RSA_COEFFICIENT1 };
	struct crypto_key *orig = crypto_key_generate(KEY_RSA_2048), *k;
	json_t		*o = json_object(), *other;
	char		*t1, *t2, err[256];
	size_t		 i;

	(void)state;
	assert_non_null(orig);
	json_object_set_new(o, "kty", json_string("RSA"));
	for (i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		jwk_set(o, members[i], crypto_key_evp(orig), params[i]);
	k = from_jwk(o, err, sizeof(err));
	assert_non_null(k);
	t1 = jws_thumbprint(orig);
	t2 = jws_thumbprint(k);
	assert_string_equal(t1, t2);
	assert_string_equal(jws_alg(k), "RS256");
	free(t1);
	free(t2);
	crypto_key_free(k);

	/* a private exponent of another key: no consistent key */
	other = json_deep_copy(o);
	json_object_set(other, "d", json_object_get(o, "p"));
	assert_null(from_jwk(other, err, sizeof(err)));
	assert_non_null(strstr(err, "consistent RSA private key"));
	json_decref(other);
	/* a member missing, or not base64url */
	other = json_deep_copy(o);
	json_object_del(other, "qi");
	assert_null(from_jwk(other, err, sizeof(err)));
	json_object_set_new(other, "qi", json_string("not+base64url"));
	assert_null(from_jwk(other, err, sizeof(err)));
	json_decref(other);
	/* only RSA is read */
	json_object_set_new(o, "kty", json_string("EC"));
	assert_null(from_jwk(o, err, sizeof(err)));
	assert_string_equal(err, "key type \"EC\" (only RSA is read)");
	assert_null(jws_key_from_jwk("[1]", 3, err, sizeof(err)));
	assert_string_equal(err, "not a JSON object");
	json_decref(o);
	crypto_key_free(orig);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jwk_p256_exact_string_and_thumbprint),
		cmocka_unit_test(test_jwk_rfc7638_rsa_example_thumbprint),
		cmocka_unit_test(test_jwk_ec_coordinates_are_zero_padded),
		cmocka_unit_test(test_jws_alg_per_key_type),
		cmocka_unit_test(test_jws_es256_with_jwk_header_verifies_64_byte_sig),
		cmocka_unit_test(test_jws_es384_with_kid_header_verifies_96_byte_sig),
		cmocka_unit_test(test_jws_rs256_verifies_256_byte_sig),
		cmocka_unit_test(test_jws_post_as_get_has_empty_payload_and_verifies),
		cmocka_unit_test(test_jws_many_es256_signatures_all_verify),
		cmocka_unit_test(test_jws_without_nonce_or_url),
		cmocka_unit_test(test_jws_and_eab_print_compact_sorted_json),
		cmocka_unit_test(test_eab_structure_and_hmac_verifies),
		cmocka_unit_test(test_eab_rejects_undecodable_hmac_key),
		cmocka_unit_test(test_key_from_jwk),
	};

	crypto_init();
	return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
