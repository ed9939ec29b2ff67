/* jws.c - JSON Web Key, RFC 7638 thumbprint, and JWS (RFC 7515) for ACME */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "conf.h"
#include "crypto.h"
#include "jws.h"
#include "log.h"

/* Sorted and compact: RFC 7638 member order, and no whitespace anywhere. */
#define JWS_JSON_FLAGS	(JSON_COMPACT | JSON_SORT_KEYS)

static void
ssl_log(const char *what)
{
	crypto_log_ssl("jws", what);
}

/* How a key signs: its alg name, digest and, for ECDSA, the size of r and s. */
struct jws_kind {
	const char	*alg;
	const char	*md;
	size_t		 ec_len;	/* 0 for RSA */
};

static int
jws_kind(const struct crypto_key *key, struct jws_kind *k)
{
	EVP_PKEY	*pkey = crypto_key_evp(key);

	if (pkey == NULL)
		return -1;
	switch (crypto_key_type(key)) {
	case KEY_EC_P256:
		*k = (struct jws_kind){ "ES256", "SHA256", 32 };
		return 0;
	case KEY_EC_P384:
		*k = (struct jws_kind){ "ES384", "SHA384", 48 };
		return 0;
	default:
		break;
	}
	/* any RSA key of at least 2048 bits, not only those renewd makes */
	if (EVP_PKEY_is_a(pkey, "RSA") && EVP_PKEY_get_bits(pkey) >= 2048) {
		*k = (struct jws_kind){ "RS256", "SHA256", 0 };
		return 0;
	}
	return -1;
}

const char *
jws_alg(const struct crypto_key *key)
{
	struct jws_kind	 k;

	if (jws_kind(key, &k) == -1)
		return NULL;
	return k.alg;
}

/* Returns base64url of bn, left-padded with zeros to pad bytes (0: minimal). */
static char *
bn_b64url(const BIGNUM *bn, size_t pad)
{
	unsigned char	*buf;
	char		*s = NULL;
	size_t		 len;

	len = pad > 0 ? pad : (size_t)BN_num_bytes(bn);
	if (len == 0)
		len = 1;	/* zero is one 0x00 octet */
	if ((buf = calloc(1, len)) == NULL)
		return NULL;
	if (BN_bn2binpad(bn, buf, (int)len) >= 0)
		s = b64url_encode(buf, len);
	free(buf);
	return s;
}

/* Returns the public JWK as a jansson object; NULL on failure. */
static json_t *
jwk_object(const struct crypto_key *key)
{
	EVP_PKEY	*pkey = crypto_key_evp(key);
	struct jws_kind	 k;
	BIGNUM		*a = NULL, *b = NULL;
	char		*sa = NULL, *sb = NULL;
	json_t		*o = NULL;

	if (jws_kind(key, &k) == -1) {
		log_err("jws: JWK: unsupported key type");
		goto out;
	}
	if (k.ec_len > 0) {
		/* x and y are fixed-length field elements (RFC 7518 6.2.1.2) */
		if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &a) ||
		    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &b)) {
			ssl_log("JWK: EVP_PKEY_get_bn_param(x, y)");
			goto out;
		}
		if ((sa = bn_b64url(a, k.ec_len)) == NULL ||
		    (sb = bn_b64url(b, k.ec_len)) == NULL)
			goto out;
		o = json_pack("{s:s, s:s, s:s, s:s}",
		    "crv", k.ec_len == 32 ? "P-256" : "P-384", "kty", "EC",
		    "x", sa, "y", sb);
	} else {
		if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &a) ||
		    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &b)) {
			ssl_log("JWK: EVP_PKEY_get_bn_param(n, e)");
			goto out;
		}
		/* n and e are minimal big-endian (RFC 7518 6.3.1) */
		if ((sa = bn_b64url(a, 0)) == NULL ||
		    (sb = bn_b64url(b, 0)) == NULL)
			goto out;
		o = json_pack("{s:s, s:s, s:s}", "e", sb, "kty", "RSA",
		    "n", sa);
	}
	if (o == NULL)
		log_err("jws: JWK: json_pack failed");
 out:
	free(sa);
	free(sb);
	BN_free(a);
	BN_free(b);
	return o;
}

char *
jws_jwk(const struct crypto_key *key)
{
	json_t		*o;
	char		*s;

	if ((o = jwk_object(key)) == NULL)
		return NULL;
	s = json_dumps(o, JWS_JSON_FLAGS);
	json_decref(o);
	return s;
}

char *
jws_thumbprint(const struct crypto_key *key)
{
	char		*jwk, *s;

	if ((jwk = jws_jwk(key)) == NULL)
		return NULL;
	s = crypto_sha256_b64url(jwk, strlen(jwk));
	free(jwk);
	return s;
}

/*
 * Converts a DER ECDSA-Sig-Value into JWS form: r || s, each left-padded to
 * n bytes (RFC 7518 3.4). out holds 2 * n bytes.
 */
static int
ecdsa_der_to_raw(const unsigned char *der, size_t derlen, size_t n,
    unsigned char *out)
{
	ECDSA_SIG	*sig;
	const BIGNUM	*r, *s;
	const unsigned char *p = der;
	int		 rc = -1;

	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, out, (int)n) == (int)n &&
	    BN_bn2binpad(s, out + n, (int)n) == (int)n)
		rc = 0;
	ECDSA_SIG_free(sig);
	return rc;
}

/* Signs "protected.payload" the way alg says; returns base64url signature. */
static char *
sign_b64url(const struct crypto_key *key, const struct jws_kind *k,
    const char *input)
{
	EVP_PKEY	*pkey = crypto_key_evp(key);
	EVP_MD_CTX	*ctx = NULL;
	unsigned char	*sig = NULL, raw[2 * 66];
	size_t		 siglen = 0;
	int		 max;
	char		*s = NULL;

	/* the key's maximum size spares a second, sizing EVP_DigestSign */
	if ((max = EVP_PKEY_get_size(pkey)) <= 0 ||
	    (sig = malloc((size_t)max)) == NULL) {
		ssl_log("EVP_PKEY_get_size");
		goto out;
	}
	siglen = (size_t)max;
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		ssl_log("EVP_MD_CTX_new");
		goto out;
	}
	/* signed once: OpenSSL need not copy the context to finalise */
	EVP_MD_CTX_set_flags(ctx, EVP_MD_CTX_FLAG_FINALISE);
	/* RSA defaults to PKCS#1 v1.5 padding, which RS256 is */
	if (EVP_DigestSignInit_ex(ctx, NULL, k->md, NULL, NULL, pkey,
	    NULL) != 1) {
		ssl_log("EVP_DigestSignInit_ex");
		goto out;
	}
	if (EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)input,
	    strlen(input)) != 1) {
		ssl_log("EVP_DigestSign");
		goto out;
	}
	if (k->ec_len > 0) {
		if (ecdsa_der_to_raw(sig, siglen, k->ec_len, raw) == -1) {
			ssl_log("ECDSA signature conversion");
			goto out;
		}
		s = b64url_encode(raw, 2 * k->ec_len);
	} else
		s = b64url_encode(sig, siglen);
 out:
	free(sig);
	EVP_MD_CTX_free(ctx);
	return s;
}

/* Returns malloc'd base64url of o's compact JSON. */
static char *
json_b64url(json_t *o)
{
	char		*js, *s;

	if ((js = json_dumps(o, JWS_JSON_FLAGS)) == NULL)
		return NULL;
	s = b64url_encode(js, strlen(js));
	free(js);
	return s;
}

/*
 * Assembles the flattened JWS serialization. All three parts are base64url,
 * which JSON never escapes, so this prints what json_dumps with sorted keys
 * would, without building a jansson object per request.
 */
static char *
jws_flat(const char *prot, const char *payload, const char *sig)
{
	char		*s;

	if (asprintf(&s, "{\"payload\":\"%s\",\"protected\":\"%s\","
	    "\"signature\":\"%s\"}", payload, prot, sig) == -1)
		return NULL;
	return s;
}

char *
jws_sign(const struct crypto_key *key, const char *kid, const char *nonce,
    const char *url, const char *payload)
{
	struct jws_kind	 k;
	json_t		*hdr = NULL, *jwk = NULL;
	char		*prot = NULL, *pay = NULL, *input = NULL, *sig = NULL;
	char		*s = NULL;

	/* nothing allocated yet: plain returns */
	if (url == NULL) {
		log_err("jws: sign: no url");
		return NULL;
	}
	if (jws_kind(key, &k) == -1) {
		log_err("jws: sign %s: unsupported key", url);
		return NULL;
	}
	if ((hdr = json_pack("{s:s, s:s}", "alg", k.alg, "url", url)) == NULL)
		goto out;
	if (nonce != NULL && json_object_set_new(hdr, "nonce",
	    json_string(nonce)) == -1)
		goto out;
	if (kid != NULL) {
		if (json_object_set_new(hdr, "kid", json_string(kid)) == -1)
			goto out;
	} else {
		if ((jwk = jwk_object(key)) == NULL ||
		    json_object_set_new(hdr, "jwk", jwk) == -1) {
			jwk = NULL;	/* set_new consumed it even on failure */
			goto out;
		}
		jwk = NULL;
	}
	if ((prot = json_b64url(hdr)) == NULL)
		goto out;
	/* POST-as-GET (RFC 8555 6.3) signs an empty payload */
	pay = b64url_encode(payload != NULL ? payload : "",
	    payload != NULL ? strlen(payload) : 0);
	if (pay == NULL)
		goto out;
	if (asprintf(&input, "%s.%s", prot, pay) == -1) {
		input = NULL;
		goto out;
	}
	if ((sig = sign_b64url(key, &k, input)) == NULL)
		goto out;
	s = jws_flat(prot, pay, sig);
 out:
	if (s == NULL)
		log_err("jws: signing request for %s failed", url);
	json_decref(hdr);
	free(prot);
	free(pay);
	free(input);
	free(sig);
	return s;
}

char *
jws_eab(const struct crypto_key *account_key, const char *kid,
    const char *hmac_key_b64url, const char *url)
{
	unsigned char	*hkey = NULL, mac[EVP_MAX_MD_SIZE];
	size_t		 hkeylen = 0, maclen = 0;
	json_t		*hdr = NULL;
	char		*jwk = NULL, *prot = NULL, *pay = NULL, *input = NULL;
	char		*sig = NULL, *s = NULL;

	if (kid == NULL || url == NULL || hmac_key_b64url == NULL)
		goto out;
	if ((hkey = b64url_decode(hmac_key_b64url, &hkeylen)) == NULL ||
	    hkeylen == 0) {
		log_err("jws: EAB: HMAC key for kid %s is not base64url", kid);
		goto out;
	}
	if ((jwk = jws_jwk(account_key)) == NULL)
		goto out;
	hdr = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", kid,
	    "url", url);
	if (hdr == NULL || (prot = json_b64url(hdr)) == NULL)
		goto out;
	if ((pay = b64url_encode(jwk, strlen(jwk))) == NULL)
		goto out;
	if (asprintf(&input, "%s.%s", prot, pay) == -1) {
		input = NULL;
		goto out;
	}
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, hkey, hkeylen,
	    (const unsigned char *)input, strlen(input), mac, sizeof(mac),
	    &maclen) == NULL) {
		ssl_log("EAB: EVP_Q_mac(HMAC-SHA256)");
		goto out;
	}
	if ((sig = b64url_encode(mac, maclen)) == NULL)
		goto out;
	s = jws_flat(prot, pay, sig);
 out:
	if (hkey != NULL)
		OPENSSL_cleanse(hkey, hkeylen);
	free(hkey);
	OPENSSL_cleanse(mac, sizeof(mac));
	json_decref(hdr);
	free(jwk);
	free(prot);
	free(pay);
	free(input);
	free(sig);
	return s;
}
