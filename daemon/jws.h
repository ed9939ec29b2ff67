/* jws.h - JSON Web Key, RFC 7638 thumbprint, and JWS (RFC 7515) for ACME */
#ifndef RENEWD_JWS_H
#define RENEWD_JWS_H

#include <stddef.h>

struct crypto_key;

/* Returns the JWS alg for key: "ES256", "ES384" or "RS256"; NULL if unsupported. */
const char	*jws_alg(const struct crypto_key *);
/* Returns malloc'd canonical public JWK JSON (RFC 7638 member set and order, no spaces). */
char		*jws_jwk(const struct crypto_key *);
/* Returns malloc'd base64url SHA-256 thumbprint of the JWK (RFC 7638). */
char		*jws_thumbprint(const struct crypto_key *);
/*
 * Returns malloc'd flattened JWS JSON {"protected","payload","signature"}.
 * Protected header: alg, nonce, url, and kid if kid != NULL else jwk.
 * payload NULL means POST-as-GET (empty payload). nonce may be NULL (EAB).
 */
char		*jws_sign(const struct crypto_key *key, const char *kid,
		    const char *nonce, const char *url, const char *payload);
/*
 * Returns malloc'd external account binding JWS (RFC 8555 7.3.4): HS256 over
 * the account key's JWK, with kid and url, keyed by base64url hmac_key.
 * NULL if hmac_key does not decode.
 */
char		*jws_eab(const struct crypto_key *account_key, const char *kid,
		    const char *hmac_key_b64url, const char *url);
/*
 * Returns the private key a JWK's JSON text holds (an RSA key, as certbot
 * keeps its account key in private_key.json), or NULL with why in err.
 */
struct crypto_key *jws_key_from_jwk(const char *json, size_t len, char *err,
		    size_t errlen);

#endif
