/*
 * fuzz_pem_chain.c - libFuzzer target: bytes as the PEM chain a CA sends,
 * through what renew.c does with it before it may go live
 * (crypto_chain_split, crypto_cert_get_info, the name checks and
 * crypto_chain_check), with one issuer cache kept across inputs as the
 * daemon keeps one.
 */
#include "config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "validate.h"
#include "xmalloc.h"
#include "fuzz.h"


static struct crypto_chain_cache *cache;

/* What crypto_cert_get_info promises about what it fills in. */
static void
check_info(const struct crypto_cert_info *info)
{
	const char	*p;
	size_t		 i;

	if (info->serial == NULL || info->serial[0] == '\0' ||
	    info->issuer == NULL || (info->nsans > 0 && info->sans == NULL))
		TRAP();
	/* lower-case hex without leading zeros, "-" first if negative */
	p = info->serial + (info->serial[0] == '-');
	if (*p == '\0' || (p[0] == '0' && p[1] != '\0'))
		TRAP();
	for (; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p) && (*p < 'a' || *p > 'f'))
			TRAP();
	for (i = 0; i < info->nsans; i++)
		for (p = info->sans[i]; *p != '\0'; p++)
			if (isupper((unsigned char)*p))
				TRAP();
	/* the certificate's own names are its names, and cover themselves */
	if (!crypto_cert_names_exact(info, info->sans, info->nsans) ||
	    !crypto_cert_covers(info, info->sans, info->nsans))
		TRAP();
	/* one name too many is not exact */
	if (info->nsans > 0) {
		char	*more[65];
		size_t	 n = info->nsans < 64 ? info->nsans : 64;

		memcpy(more, info->sans, n * sizeof(char *));
		more[n] = "not-a-san.fuzz.invalid";
		if (n == info->nsans && crypto_cert_names_exact(info, more,
		    n + 1))
			TRAP();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crypto_cert	*cert = NULL;
	struct crypto_cert_info	 info;
	char			*pem, *leaf = NULL, *chain = NULL, err[256];
	int			 rc;
	time_t			 now;

	if (cache == NULL)
		cache = crypto_chain_cache_new();
	/* the downloaded body is NUL-terminated (http.c) */
	pem = xmalloc(size + 1);
	memcpy(pem, data, size);
	pem[size] = '\0';
	memset(&info, 0, sizeof(info));

	rc = crypto_chain_split(pem, size, &leaf, &chain, &cert);
	if (rc == -1) {
		if (leaf != NULL || chain != NULL || cert != NULL)
			TRAP();
	} else {
		/* the text is kept exactly: the leaf, then the rest */
		if (leaf == NULL || chain == NULL || cert == NULL ||
		    strlen(leaf) + strlen(chain) > size ||
		    memmem(pem, size, leaf, strlen(leaf)) == NULL ||
		    (*chain != '\0' &&
		    memmem(pem, size, chain, strlen(chain)) == NULL))
			TRAP();
		err[0] = '\0';
		if (crypto_cert_get_info(cert, &info, err, sizeof(err)) == 0)
			check_info(&info);
		else
			one_line(err);
	}
	/* at a time the leaf is valid, if it parsed; else at a fixed one */
	now = info.serial != NULL ? info.not_before + 1 : (time_t)1700000000;
	err[0] = '\0';
	if (crypto_chain_check(pem, size, cert, cache, NULL, 0, now, err,
	    sizeof(err)) == -1)
		one_line(err);
	else if (rc == -1)	/* a chain that passes has a leaf */
		TRAP();
	/* and as its own trust anchor, as a ca_bundle would be */
	err[0] = '\0';
	if (crypto_chain_check(pem, size, NULL, NULL, pem, size, now, err,
	    sizeof(err)) == -1)
		one_line(err);
	crypto_cert_info_clear(&info);
	crypto_cert_free(cert);
	free(leaf);
	free(chain);
	free(pem);
	return 0;
}
