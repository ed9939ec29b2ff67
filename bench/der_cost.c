/*
 * bench/der_cost.c - what crypto_der.c's hand-written DER saves per call,
 * against the OpenSSL encoder path it replaces, for P-256 and P-384.
 *
 * Build against a configured tree (no sanitizers, as bench/README.md says):
 *
 *   cc -O2 -I. -Idaemon -Ibuild-bench bench/der_cost.c daemon/crypto_der.c \
 *       -lcrypto -o der_cost
 *
 * then count instructions per call with callgrind, one path at a time:
 *
 *   for f in der_pkcs8 ossl_pkcs8 der_spki ossl_spki; do
 *     valgrind --tool=callgrind --callgrind-out-file=/dev/null \
 *       --toggle-collect=$f ./der_cost P-256 2>&1 | grep refs
 *   done
 *
 * (refs / (ROUNDS + 1) per call), or just run ./der_cost for wall-clock
 * nanoseconds per call on both curves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto_der.h"

#define ROUNDS	200

/* The path crypto_key_to_pem takes for an EC key: hand-written. */
__attribute__((noinline)) static void
der_pkcs8(EVP_PKEY *pkey)
{
	BIO	*bio = BIO_new(BIO_s_mem());

	if (!crypto_der_ec_pkcs8(bio, pkey))
		abort();
	BIO_free(bio);
}

/* The path it replaces: OpenSSL 3's encoder. */
__attribute__((noinline)) static void
ossl_pkcs8(EVP_PKEY *pkey)
{
	BIO	*bio = BIO_new(BIO_s_mem());

	if (!PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL))
		abort();
	BIO_free(bio);
}

/* The path crypto_csr takes to set the CSR's public key: hand-written. */
__attribute__((noinline)) static void
der_spki(EVP_PKEY *pkey)
{
	X509_PUBKEY	*pub = X509_PUBKEY_new();

	if (!crypto_der_ec_spki(pub, pkey))
		abort();
	X509_PUBKEY_free(pub);
}

/* The path it replaces: X509_REQ_set_pubkey's X509_PUBKEY_set. */
__attribute__((noinline)) static void
ossl_spki(EVP_PKEY *pkey)
{
	X509_PUBKEY	*pub = NULL;

	if (!X509_PUBKEY_set(&pub, pkey))
		abort();
	X509_PUBKEY_free(pub);
}

static double
ns_per_call(void (*fn)(EVP_PKEY *), EVP_PKEY *pkey)
{
	struct timespec	 a, b;
	int		 i;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < ROUNDS; i++)
		fn(pkey);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / ROUNDS;
}

int
main(int argc, char **argv)
{
	static const char *const curves[] = { "P-256", "P-384" };
	EVP_PKEY	*pkey;
	int		 c;

	for (c = 0; c < 2; c++) {
		/* "./der_cost P-256" measures that curve only */
		if (argc > 1 && strcmp(argv[1], curves[c]) != 0)
			continue;
		if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curves[c])) ==
		    NULL)
			abort();
		/* one call each first: OpenSSL fetches its encoders lazily */
		der_pkcs8(pkey);
		ossl_pkcs8(pkey);
		der_spki(pkey);
		ossl_spki(pkey);
		printf("%s PKCS#8 PEM: hand-written %.0f ns, OpenSSL %.0f ns\n",
		    curves[c], ns_per_call(der_pkcs8, pkey),
		    ns_per_call(ossl_pkcs8, pkey));
		printf("%s CSR SPKI:   hand-written %.0f ns, OpenSSL %.0f ns\n",
		    curves[c], ns_per_call(der_spki, pkey),
		    ns_per_call(ossl_spki, pkey));
		EVP_PKEY_free(pkey);
	}
	return 0;
}
