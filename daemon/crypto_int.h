/* crypto_int.h - the crypto layer's one seam for its unit tests */
#ifndef RENEWD_CRYPTO_INT_H
#define RENEWD_CRYPTO_INT_H

#include <openssl/evp.h>

#include "crypto.h"

/*
 * Returns key's OpenSSL key (borrowed, lives as long as key). Only the
 * unit tests use it, to check crypto.c against OpenSSL directly; no
 * module outside crypto*.c ever sees an OpenSSL type.
 */
EVP_PKEY	*crypto_key_evp(const struct crypto_key *key);

#endif
