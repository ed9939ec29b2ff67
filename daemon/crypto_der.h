/* crypto_der.h - hand-written DER for the EC keys renewd makes; private to the crypto layer */
#ifndef RENEWD_CRYPTO_DER_H
#define RENEWD_CRYPTO_DER_H

#include <stddef.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/*
 * Shortcuts past OpenSSL 3.0's encoder for the two encodings renewd makes
 * on every issuance (crypto_der.c says what they save). Each one declines
 * (returns 0 or NULL) for anything but a P-256 or P-384 key encoded the
 * default way (named curve, public key included), and the caller then
 * takes OpenSSL's generic path: the bytes are OpenSSL's either way, which
 * test_crypto_der checks for every key type.
 */

/*
 * Returns the DER RFC 5915 ECPrivateKey of pkey without parameters and
 * with the public key, as OpenSSL puts it inside PKCS#8 (allocated with
 * OPENSSL_malloc; free it with OPENSSL_clear_free), length in *len; NULL
 * to decline.
 */
unsigned char	*crypto_der_ec_private(EVP_PKEY *pkey, size_t *len);
/* Writes pkey as a PKCS#8 PEM ("BEGIN PRIVATE KEY") to bio. Returns 1, or 0 to decline (bio reset). */
int		 crypto_der_ec_pkcs8(BIO *bio, EVP_PKEY *pkey);
/* Sets spki to pkey's SubjectPublicKeyInfo. Returns 1, or 0 to decline (spki untouched). */
int		 crypto_der_ec_spki(X509_PUBKEY *spki, EVP_PKEY *pkey);
/* Returns the NID of an EC key's named curve (NID_undef if none): for crypto.c too. */
int		 crypto_der_curve_nid(EVP_PKEY *pkey);

#endif
