/* crypto.h - keys, signatures, CSRs, certificates and base64url; OpenSSL stays behind it */
#ifndef RENEWD_CRYPTO_H
#define RENEWD_CRYPTO_H

#include <stddef.h>
#include <time.h>

/* The key types renewd makes; conf.c maps the inventory's names onto them. */
enum key_type {
	KEY_EC_P256 = 0,	/* default */
	KEY_EC_P384,
	KEY_RSA_2048,
	KEY_RSA_3072,
	KEY_RSA_4096,
};

/*
 * Points OpenSSL's allocator at the x-family (xmalloc.h), so that a NULL
 * from OpenSSL never means "out of memory". Call it in main() before
 * anything uses OpenSSL, libcurl's TLS included; harmless to call again,
 * or (tests) not at all.
 */
void		 crypto_init(void);

struct crypto_key;	/* opaque: a private key (or a public one, see below) */

/* Returns a fresh key; slow for RSA: never call it on the event loop for RSA. */
struct crypto_key *crypto_key_generate(enum key_type);
/* Parses a PEM private key (PKCS#8 or traditional); NULL if unreadable. */
struct crypto_key *crypto_key_from_pem(const char *pem, size_t len);
/*
 * Parses a PEM public key (SubjectPublicKeyInfo); NULL if unreadable. The
 * result is public-only: crypto_jwk_params works, crypto_sign and
 * crypto_key_to_pem fail.
 */
struct crypto_key *crypto_key_from_public_pem(const char *pem, size_t len);
/* An RSA private key as a JWK spells it (RFC 7518 6.3.2): base64url members. */
struct crypto_jwk_rsa {
	const char	*n, *e, *d, *p, *q, *dp, *dq, *qi;
};
/*
 * Makes the key j describes (certbot keeps its account key so). Returns
 * NULL if a member is missing or not base64url, the parts do not make one
 * consistent key, or it has fewer than 2048 bits.
 */
struct crypto_key *crypto_key_from_jwk_rsa(const struct crypto_jwk_rsa *j);
/* Returns a malloc'd PKCS#8 PEM, NUL-terminated, length in *len (may be NULL); NULL if it cannot. */
char		*crypto_key_to_pem(const struct crypto_key *, size_t *len);
/* Returns the key's enum key_type, or -1 if it is none renewd makes. */
int		 crypto_key_type(const struct crypto_key *);
/* Frees; NULL is a no-op. The memory is cleansed. */
void		 crypto_key_free(struct crypto_key *);

/* Signatures in JWS form (RFC 7515, RFC 7518 section 3) */

/*
 * Returns the JWS algorithm key signs with: "ES256" (P-256), "ES384"
 * (P-384) or "RS256" (RSA of 2048 bits or more); NULL for any other key.
 */
const char	*crypto_sign_alg(const struct crypto_key *);
/*
 * Signs data[0..len) with crypto_sign_alg's algorithm. Returns the
 * malloc'd signature as JWS carries it (ECDSA: r || s, each as long as the
 * curve's field; RSA: PKCS#1 v1.5) and its length in *siglen, or NULL
 * (logged) for a key that cannot sign.
 */
unsigned char	*crypto_sign(const struct crypto_key *, const void *data,
		    size_t len, size_t *siglen);

/* A public key's parameters as its JWK spells them (RFC 7518 6.2.1, 6.3.1). */
struct crypto_jwk {
	const char	*kty;		/* "EC" or "RSA" */
	const char	*crv;		/* "P-256" or "P-384"; NULL for RSA */
	char		*x, *y;		/* EC: base64url coordinates, full length */
	char		*n, *e;		/* RSA: base64url modulus and exponent, minimal */
};
/* Fills jwk for a key crypto_sign_alg knows. Returns 0, or -1 (logged; jwk zeroed). */
int		 crypto_jwk_params(const struct crypto_key *,
		    struct crypto_jwk *jwk);
/* Frees what crypto_jwk_params filled in and zeroes it. */
void		 crypto_jwk_clear(struct crypto_jwk *);

#define CRYPTO_HMAC_SHA256_LEN	32
/* Computes HMAC-SHA256 (RFC 2104) of data under key into mac. Returns 0 or -1 (logged). */
int		 crypto_hmac_sha256(const void *key, size_t keylen,
		    const void *data, size_t len,
		    unsigned char mac[CRYPTO_HMAC_SHA256_LEN]);

/*
 * Authenticated encryption for cluster mode: AES-256-GCM under a 32-byte
 * key, a fresh random 96-bit nonce per seal, ad (the etcd key name) bound
 * in. A sealed value is "RS1" || nonce (12) || ciphertext || tag (16).
 */
#define CRYPTO_SEAL_KEY_LEN	32
#define CRYPTO_SEAL_OVERHEAD	(3 + 12 + 16)
/* Returns malloc'd sealed bytes (their length in *outlen); never NULL. */
unsigned char	*crypto_seal(const unsigned char key[CRYPTO_SEAL_KEY_LEN],
		    const void *ad, size_t adlen, const void *pt, size_t ptlen,
		    size_t *outlen);
/*
 * Opens what crypto_seal made under the same key and ad. Returns malloc'd
 * plaintext (NUL-terminated too; its length in *outlen), or NULL if the
 * value is not sealed, or not under this key and ad (nothing logged).
 */
unsigned char	*crypto_unseal(const unsigned char key[CRYPTO_SEAL_KEY_LEN],
		    const void *ad, size_t adlen, const void *sealed,
		    size_t len, size_t *outlen);

/* Returns malloc'd unpadded base64url of data; never NULL. */
char		*b64url_encode(const void *data, size_t len);
/* Returns malloc'd bytes (NUL-terminated for convenience), or NULL if s is not base64url. */
unsigned char	*b64url_decode(const char *s, size_t *outlen);
/* Returns malloc'd base64url(SHA-256(data)), or NULL (logged). */
char		*crypto_sha256_b64url(const void *data, size_t len);

/* Returns malloc'd base64url(DER) of a CSR for domains[0..n) signed by key; NULL (logged) if it cannot. */
char		*crypto_csr(const struct crypto_key *key, char *const *domains, size_t n);

/*
 * Returns a malloc'd PEM self-signed certificate for tls-alpn-01 (RFC
 * 8737): key's public key, name as its only SAN, and the critical
 * acmeIdentifier extension holding SHA-256(keyauth); NULL (logged) if it
 * cannot.
 */
char		*crypto_alpn_cert(const struct crypto_key *key, const char *name,
		    const char *keyauth);

/*
 * A parsed certificate, so that callers that check one several ways parse
 * it once: OpenSSL 3.0 spends ~1.5 M instructions decoding each
 * certificate's public key.
 */
struct crypto_cert;
struct crypto_chain_cache;	/* opaque */

struct crypto_cert_info {
	time_t		  not_before;
	time_t		  not_after;
	char		**sans;		/* DNS and IP SANs, lower case */
	size_t		  nsans;
	char		 *serial;	/* lower-case hex, no leading zeros; "-"
					   first if negative (RFC 5280 forbids
					   it, a parser need not) */
	char		 *issuer;	/* one-line RFC 2253 form */
	char		 *ari_id;	/* RFC 9773 certID: base64url(AKI keyIdentifier)
					   "." base64url(serial's DER content octets);
					   NULL without an AKI keyIdentifier */
};

/* Parses the first certificate of a PEM chain; NULL (reason in err) if unreadable. */
struct crypto_cert *crypto_cert_from_pem(const char *pem, size_t len,
		    char *err, size_t errlen);
/* Frees; NULL is a no-op. */
void		 crypto_cert_free(struct crypto_cert *);
/*
 * Writes the serial of the first certificate of a PEM chain into out, as
 * crypto_cert_info has it, from the DER alone (a fraction of a full parse:
 * for status lines of 100,000 certificates). Returns 0, or -1 if it is
 * unreadable or does not fit.
 */
int		 crypto_pem_serial(const char *pem, size_t len, char *out,
		    size_t outlen);
/*
 * Returns the DER of the first certificate of a PEM chain as base64url
 * (malloc'd; revokeCert's "certificate"), or NULL if it is unreadable.
 */
char		*crypto_pem_der_b64url(const char *pem, size_t len);
/* Fills out from a parsed certificate: returns 0, or -1 with a reason in err (out zeroed). */
int		 crypto_cert_get_info(const struct crypto_cert *,
		    struct crypto_cert_info *out, char *err, size_t errlen);
/* Frees what crypto_cert_get_info filled in and zeroes it. */
void		 crypto_cert_info_clear(struct crypto_cert_info *);
/* Returns 1 if cert carries key's public key, else 0 (also for NULL). */
int		 crypto_cert_has_key(const struct crypto_cert *,
		    const struct crypto_key *);
/*
 * Splits a PEM chain into the leaf and the rest (malloc'd, NUL-terminated;
 * *chain is "" if there is only a leaf), the text kept exactly, and hands
 * back the parsed leaf in *cert (free it with crypto_cert_free; cert may
 * be NULL). Returns 0, or -1 (all NULL) if the first block is no
 * certificate.
 */
int		 crypto_chain_split(const char *pem, size_t len, char **leaf,
		    char **chain, struct crypto_cert **cert);
/* Returns 1 if every name in domains is covered by a SAN of info. */
int		 crypto_cert_covers(const struct crypto_cert_info *info,
		    char *const *domains, size_t n);
/*
 * Returns 1 if info's SANs are exactly domains (as sets: every name has an
 * equal SAN and every SAN an equal name; a wildcard only equals itself).
 */
int		 crypto_cert_names_exact(const struct crypto_cert_info *info,
		    char *const *domains, size_t n);

#define CRYPTO_CHAIN_MAX_CERTS	10		/* leaf included */
#define CRYPTO_CHAIN_MAX_BYTES	(64 * 1024)
#define CRYPTO_CHAIN_SKEW	300		/* s a leaf may start in the future */
/*
 * Checks a PEM chain as a CA issued it (leaf first) before it may go live:
 * at most CRYPTO_CHAIN_MAX_BYTES of strict PEM (RFC 8555 section 9.1:
 * certificate blocks and whitespace, nothing else), 2 to
 * CRYPTO_CHAIN_MAX_CERTS certificates that all parse, a leaf that is not
 * self-signed and is valid at now (not_before up to CRYPTO_CHAIN_SKEW s
 * later), and each certificate issued and signed by the next. With
 * roots_pem (a PEM file's text of trusted roots, not NULL), the chain must
 * also verify to one of them for a TLS server at now (X509_verify_cert).
 * leaf (may be NULL) is pem's first certificate already parsed, and cache
 * (may be NULL) remembers the last issuer parsed: each parse costs OpenSSL
 * 3.0 about 1.6 M instructions, and a CA's issuer rarely changes.
 * Returns 0, or -1 with what is wrong in err.
 */
int		 crypto_chain_check(const char *pem, size_t len,
		    const struct crypto_cert *leaf, struct crypto_chain_cache *cache,
		    const char *roots_pem, size_t roots_len, time_t now,
		    char *err, size_t errlen);
/*
 * Returns the common name of the issuer of pem's last certificate (the
 * chain's top, which preferred_chain names; malloc'd), or NULL if pem holds
 * no certificate or that issuer has no common name.
 */
char		*crypto_chain_top_issuer(const char *pem, size_t len);
/* Returns an empty cache of one parsed issuer for crypto_chain_check. */
struct crypto_chain_cache *crypto_chain_cache_new(void);
/* Frees; NULL is a no-op. */
void		 crypto_chain_cache_free(struct crypto_chain_cache *);
/*
 * Checks a PEM file's text of roots for crypto_chain_check: one or more
 * certificates and nothing else. Returns 0, or -1 with why in err.
 */
int		 crypto_roots_check(const char *pem, size_t len, char *err,
		    size_t errlen);
/* The same for any PEM text of certificates; what names it in err. */
int		 crypto_certs_check(const char *pem, size_t len, const char *what,
		    char *err, size_t errlen);

#endif
