/* jws.c - JSON Web Key, RFC 7638 thumbprint, and JWS (RFC 7515) for ACME */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto.h"
#include "jws.h"
#include "log.h"
#include "xmalloc.h"

/*
 * JOSE's JSON and its assembly live here; every key operation (the
 * algorithm, the signature in JWS form, the JWK's numbers, the HMAC) is
 * crypto.h's, so this file never sees OpenSSL.
 */

/* Sorted and compact: RFC 7638 member order, and no whitespace anywhere. */
#define JWS_JSON_FLAGS	(JSON_COMPACT | JSON_SORT_KEYS)

/* A JWS being made: its base64url parts and signing input (RFC 7515 5.1). */
struct jws_parts {
	char	*prot;		/* BASE64URL(UTF8(JWS Protected Header)) */
	char	*pay;		/* BASE64URL(JWS Payload) */
	char	*input;		/* prot "." pay: what is signed */
	size_t	 inputlen;
};

/* The most pieces concat() joins: the flattened JWS has seven. */
#define CONCAT_MAX	7

/*
 * Returns the malloc'd concatenation of parts[0..n), n <= CONCAT_MAX, and
 * its length in *lenp (may be NULL). Every request is signed, and its
 * kilobyte-long parts are joined twice: printf's formatting pass (two, in
 * xasprintf) costs more than the copying.
 */
static char *
concat(const char *const *parts, size_t n, size_t *lenp)
{
	size_t	 len[CONCAT_MAX], total = 0, i;
	char	*s, *p;

	for (i = 0; i < n; i++)
		total += len[i] = strlen(parts[i]);
	p = s = xmalloc(total + 1);
	for (i = 0; i < n; i++) {
		memcpy(p, parts[i], len[i]);
		p += len[i];
	}
	*p = '\0';
	if (lenp != NULL)
		*lenp = total;
	return s;
}

const char *
jws_alg(const struct crypto_key *key)
{
	return crypto_sign_alg(key);
}

/* Returns the public JWK as a jansson object; NULL (logged) if unsupported. */
static json_t *
jwk_object(const struct crypto_key *key)
{
	struct crypto_jwk p;
	json_t		*o;

	if (crypto_jwk_params(key, &p) == -1)
		return NULL;
	if (p.crv != NULL)
		o = json_pack("{s:s, s:s, s:s, s:s}", "crv", p.crv,
		    "kty", p.kty, "x", p.x, "y", p.y);
	else
		o = json_pack("{s:s, s:s, s:s}", "e", p.e, "kty", p.kty,
		    "n", p.n);
	crypto_jwk_clear(&p);
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

/* Encodes the protected header hdr and the payload into p. */
static void
parts_make(struct jws_parts *p, json_t *hdr, const char *payload, size_t len)
{
	char	*js;

	js = json_dumps(hdr, JWS_JSON_FLAGS);
	p->prot = b64url_encode(js, strlen(js));
	free(js);
	p->pay = b64url_encode(payload, len);
	p->input = concat((const char *[]){ p->prot, ".", p->pay }, 3,
	    &p->inputlen);
}

/*
 * Returns the flattened JWS serialization of p with signature sig (NULL:
 * signing failed, returns NULL), and frees p's parts. All three parts are
 * base64url, which JSON never escapes, so this prints what json_dumps with
 * sorted keys would, without building a jansson object per request.
 */
static char *
parts_finish(struct jws_parts *p, const unsigned char *sig, size_t siglen)
{
	char	*b64, *s = NULL;

	if (sig != NULL) {
		b64 = b64url_encode(sig, siglen);
		s = concat((const char *[]){ "{\"payload\":\"", p->pay,
		    "\",\"protected\":\"", p->prot, "\",\"signature\":\"", b64,
		    "\"}" }, 7, NULL);
		free(b64);
	}
	free(p->prot);
	free(p->pay);
	free(p->input);
	memset(p, 0, sizeof(*p));
	return s;
}

/* Returns jws_sign's protected header; NULL if a member is no JSON string. */
static json_t *
sign_header(const struct crypto_key *key, const char *alg, const char *kid,
    const char *nonce, const char *url)
{
	json_t		*hdr, *jwk;

	if ((hdr = json_pack("{s:s, s:s}", "alg", alg, "url", url)) == NULL)
		return NULL;
	if (nonce != NULL && json_object_set_new(hdr, "nonce",
	    json_string(nonce)) == -1)
		goto fail;
	if (kid != NULL) {
		if (json_object_set_new(hdr, "kid", json_string(kid)) == -1)
			goto fail;
	} else if ((jwk = jwk_object(key)) == NULL ||
	    json_object_set_new(hdr, "jwk", jwk) == -1)
		goto fail;	/* set_new consumed jwk even on failure */
	return hdr;
fail:
	json_decref(hdr);
	return NULL;
}

char *
jws_sign(const struct crypto_key *key, const char *kid, const char *nonce,
    const char *url, const char *payload)
{
	struct jws_parts p;
	const char	*alg;
	json_t		*hdr;
	unsigned char	*sig = NULL;
	size_t		 siglen = 0;
	char		*s = NULL;

	if (url == NULL) {
		log_err("jws: sign: no url");
		return NULL;
	}
	if ((alg = crypto_sign_alg(key)) == NULL) {
		log_err("jws: sign %s: unsupported key", url);
		return NULL;
	}
	if ((hdr = sign_header(key, alg, kid, nonce, url)) != NULL) {
		/* POST-as-GET (RFC 8555 6.3) signs an empty payload */
		parts_make(&p, hdr, payload != NULL ? payload : "",
		    payload != NULL ? strlen(payload) : 0);
		json_decref(hdr);
		sig = crypto_sign(key, p.input, p.inputlen, &siglen);
		s = parts_finish(&p, sig, siglen);
	}
	if (s == NULL)
		log_err("jws: signing request for %s failed", url);
	free(sig);
	return s;
}

char *
jws_eab(const struct crypto_key *account_key, const char *kid,
    const char *hmac_key_b64url, const char *url)
{
	struct jws_parts p;
	unsigned char	*hkey = NULL, mac[CRYPTO_HMAC_SHA256_LEN];
	size_t		 hkeylen = 0;
	json_t		*hdr = NULL;
	char		*jwk = NULL, *s = NULL;
	int		 ok;

	if (kid == NULL || url == NULL || hmac_key_b64url == NULL)
		return NULL;
	if ((hkey = b64url_decode(hmac_key_b64url, &hkeylen)) == NULL ||
	    hkeylen == 0) {
		log_err("jws: EAB: HMAC key for kid %s is not base64url", kid);
		goto out;
	}
	if ((jwk = jws_jwk(account_key)) == NULL ||
	    (hdr = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", kid,
	    "url", url)) == NULL)
		goto out;
	/* the payload is the account key's JWK (RFC 8555 7.3.4) */
	parts_make(&p, hdr, jwk, strlen(jwk));
	ok = crypto_hmac_sha256(hkey, hkeylen, p.input, p.inputlen, mac) == 0;
	s = parts_finish(&p, ok ? mac : NULL, sizeof(mac));
out:
	if (hkey != NULL)
		xfree_secret(hkey, hkeylen);
	explicit_bzero(mac, sizeof(mac));
	json_decref(hdr);
	free(jwk);
	return s;
}

/* Returns member name of JWK o if it is a string, else NULL. */
static const char *
jwk_member(json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

struct crypto_key *
jws_key_from_jwk(const char *json, size_t len, char *err, size_t errlen)
{
	struct crypto_jwk_rsa	 r;
	struct crypto_key	*key = NULL;
	json_t			*o;
	const char		*kty;

	if ((o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(o))
		snprintf(err, errlen, "not a JSON object");
	else if ((kty = jwk_member(o, "kty")) == NULL || strcmp(kty, "RSA") != 0)
		snprintf(err, errlen, "key type \"%s\" (only RSA is read)",
		    kty != NULL ? kty : "(none)");
	else {
		r.n = jwk_member(o, "n");
		r.e = jwk_member(o, "e");
		r.d = jwk_member(o, "d");
		r.p = jwk_member(o, "p");
		r.q = jwk_member(o, "q");
		r.dp = jwk_member(o, "dp");
		r.dq = jwk_member(o, "dq");
		r.qi = jwk_member(o, "qi");
		if ((key = crypto_key_from_jwk_rsa(&r)) == NULL)
			snprintf(err, errlen, "not a whole, consistent RSA "
			    "private key of 2048 bits or more");
	}
	json_decref(o);
	return key;
}
