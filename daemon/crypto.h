/* crypto.h - keys, CSRs, certificates and base64url; OpenSSL stays behind it */
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

struct crypto_key;	/* opaque: a private key */

/* Returns a fresh key; slow for RSA: never call it on the event loop for RSA. */
struct crypto_key *crypto_key_generate(enum key_type);
/* Parses a PEM private key (PKCS#8 or traditional); NULL if unreadable. */
struct crypto_key *crypto_key_from_pem(const char *pem, size_t len);
/* Returns a malloc'd PKCS#8 PEM, NUL-terminated, length in *len (may be NULL). */
char		*crypto_key_to_pem(const struct crypto_key *, size_t *len);
/* Returns the key's type, or -1 if it is none renewd makes. */
int		 crypto_key_type(const struct crypto_key *);
/* Frees; NULL is a no-op. The memory is cleansed. */
void		 crypto_key_free(struct crypto_key *);
/*
 * Parses a PEM public key (SubjectPublicKeyInfo); NULL if unreadable. The
 * result is public-only: jws_jwk/jws_thumbprint work, signing and
 * crypto_key_to_pem fail.
 */
struct crypto_key *crypto_key_from_public_pem(const char *pem, size_t len);
/*
 * Returns the key's OpenSSL EVP_PKEY (borrowed, lives as long as key), so
 * that jws.c can sign without crypto.h including OpenSSL headers. Only
 * crypto.c and jws.c may use it.
 */
struct evp_pkey_st *crypto_key_evp(const struct crypto_key *);

/* Returns malloc'd unpadded base64url of data. */
char		*b64url_encode(const void *data, size_t len);
/* Returns malloc'd bytes (NUL-terminated for convenience), or NULL if s is not base64url. */
unsigned char	*b64url_decode(const char *s, size_t *outlen);

/* Returns malloc'd base64url(DER) of a CSR for domains[0..n) signed by key. */
char		*crypto_csr(const struct crypto_key *key, char *const *domains, size_t n);

struct crypto_cert_info {
	time_t		  not_before;
	time_t		  not_after;
	char		**sans;		/* DNS and IP SANs, lower case */
	size_t		  nsans;
	char		 *serial;	/* lower-case hex, no leading zeros */
	char		 *issuer;	/* one-line RFC 2253 form */
};

/*
 * Parses the first certificate of a PEM chain. Returns 0, or -1 with a
 * reason in err.
 */
int		 crypto_cert_parse(const char *pem, size_t len,
		    struct crypto_cert_info *out, char *err, size_t errlen);
/* Frees what crypto_cert_parse filled in and zeroes it. */
void		 crypto_cert_info_clear(struct crypto_cert_info *);
/* Returns 1 if the first certificate of pem carries key's public key, else 0. */
int		 crypto_cert_matches_key(const char *pem, size_t len,
		    const struct crypto_key *key);
/*
 * Splits a PEM chain into the leaf and the rest (malloc'd, NUL-terminated;
 * *chain is "" if there is only a leaf). Returns 0, or -1 if no certificate.
 */
int		 crypto_chain_split(const char *pem, size_t len, char **leaf,
		    char **chain);
/*
 * A parsed certificate, so that callers that check one several ways parse
 * it once: OpenSSL 3.0 spends ~1.5 M instructions decoding each
 * certificate's public key.
 */
struct crypto_cert;	/* opaque */

/* Parses the first certificate of a PEM chain; NULL (reason in err) if unreadable. */
struct crypto_cert *crypto_cert_from_pem(const char *pem, size_t len,
		    char *err, size_t errlen);
/* Frees; NULL is a no-op. */
void		 crypto_cert_free(struct crypto_cert *);
/* crypto_cert_parse on a parsed certificate: returns 0, or -1 with a reason in err. */
int		 crypto_cert_get_info(const struct crypto_cert *,
		    struct crypto_cert_info *out, char *err, size_t errlen);
/* crypto_cert_matches_key on a parsed certificate: returns 1 or 0. */
int		 crypto_cert_has_key(const struct crypto_cert *,
		    const struct crypto_key *);
/*
 * crypto_chain_split that also hands back the parsed leaf in *cert (free
 * it with crypto_cert_free). Returns 0, or -1 (*cert NULL) if no certificate.
 */
int		 crypto_chain_split_cert(const char *pem, size_t len,
		    char **leaf, char **chain, struct crypto_cert **cert);

/* Returns 1 if every name in domains is covered by a SAN of info. */
int		 crypto_cert_covers(const struct crypto_cert_info *info,
		    char *const *domains, size_t n);

/*
 * Logs "module: what failed: <OpenSSL's first queued reason>" and empties
 * OpenSSL's error queue. For crypto.c and jws.c, the OpenSSL users.
 */
void		 crypto_log_ssl(const char *module, const char *what);

/* Returns malloc'd base64url(SHA-256(data)). */
char		*crypto_sha256_b64url(const void *data, size_t len);

#endif
