/*
 * store_import.c - another client's account and certificate into the
 * state directory, never over what is there (store_import.h)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "jws.h"
#include "store.h"
#include "store_import.h"
#include "xmalloc.h"

const char *
store_import_name(enum store_import r)
{
	switch (r) {
	case STORE_IMPORTED:
		return "imported";
	case STORE_ALREADY:
		return "already imported";
	case STORE_KEPT:
		return "kept";
	default:
		return "error";
	}
}

/* Returns 1 if PEM keys a and b are the same key (by JWK thumbprint). */
static int
same_key(const char *a, const char *b)
{
	struct crypto_key	*ka = crypto_key_from_pem(a, strlen(a));
	struct crypto_key	*kb = crypto_key_from_pem(b, strlen(b));
	char			*ta = NULL, *tb = NULL;
	int			 same;

	if (ka != NULL && kb != NULL) {
		ta = jws_thumbprint(ka);
		tb = jws_thumbprint(kb);
	}
	same = ta != NULL && tb != NULL && strcmp(ta, tb) == 0;
	free(ta);
	free(tb);
	crypto_key_free(ka);
	crypto_key_free(kb);
	return same;
}

enum store_import
store_import_account(struct store *st, const char *ca, const char *key_pem,
    const char *url, char *err, size_t errlen)
{
	struct crypto_key	*k;
	char			*pem = NULL, *have = NULL;
	enum store_import	 rc = STORE_IMPORT_ERROR;
	int			 r;

	if ((k = crypto_key_from_pem(key_pem, strlen(key_pem))) == NULL) {
		snprintf(err, errlen, "CA %s: the account key is no private "
		    "key in PEM", ca);
		return rc;
	}
	crypto_key_free(k);
	if ((r = store_account_load(st, ca, &pem, &have)) == -1)
		snprintf(err, errlen, "CA %s: the account in the state "
		    "directory is unreadable", ca);
	else if (r == 1)
		rc = same_key(pem, key_pem) && have != NULL &&
		    strcmp(have, url) == 0 ? STORE_ALREADY : STORE_KEPT;
	else if (store_account_save_key(st, ca, key_pem, strlen(key_pem)) ==
	    0 && store_account_save_url(st, ca, url) == 0)
		rc = STORE_IMPORTED;
	else
		snprintf(err, errlen, "CA %s: cannot write the account (see "
		    "renewd's log)", ca);
	xfree_secret_str(pem);
	free(have);
	return rc;
}

/* Checks that key_pem is cert_pem's key; fills serial. Returns 0 or -1 (err). */
static int
cert_check(const char *name, const char *key_pem, const char *cert_pem,
    char *serial, size_t seriallen, char *err, size_t errlen)
{
	struct crypto_key	*k = crypto_key_from_pem(key_pem,
				    strlen(key_pem));
	struct crypto_cert	*c;
	char			 why[256];
	int			 rc = -1;

	if ((c = crypto_cert_from_pem(cert_pem, strlen(cert_pem), why,
	    sizeof(why))) == NULL)
		snprintf(err, errlen, "%s: the certificate is unreadable: %s",
		    name, why);
	else if (k == NULL)
		snprintf(err, errlen, "%s: the key is no private key in PEM",
		    name);
	else if (!crypto_cert_has_key(c, k))
		snprintf(err, errlen, "%s: the key is not the certificate's",
		    name);
	else if (crypto_pem_serial(cert_pem, strlen(cert_pem), serial,
	    seriallen) == -1)
		snprintf(err, errlen, "%s: the certificate's serial is "
		    "unreadable", name);
	else
		rc = 0;
	crypto_cert_free(c);
	crypto_key_free(k);
	return rc;
}

enum store_import
store_import_cert(struct store *st, const char *name, const char *key_pem,
    const char *cert_pem, const char *chain_pem, char *serial,
    size_t seriallen, char *err, size_t errlen)
{
	char			*key = NULL, *full = NULL, have[128];
	enum store_import	 rc = STORE_IMPORT_ERROR;
	int			 r;

	if (cert_check(name, key_pem, cert_pem, serial, seriallen, err,
	    errlen) == -1)
		return rc;
	if ((r = store_cert_load(st, name, &key, &full)) == -1)
		snprintf(err, errlen, "%s: the live certificate in the state "
		    "directory is unreadable", name);
	else if (r == 1)
		rc = crypto_pem_serial(full, strlen(full), have,
		    sizeof(have)) == 0 && strcmp(have, serial) == 0 ?
		    STORE_ALREADY : STORE_KEPT;
	else if (store_cert_install(st, name, serial, key_pem, cert_pem,
	    chain_pem) == 0)
		rc = STORE_IMPORTED;
	else
		snprintf(err, errlen, "%s: cannot install the certificate "
		    "(see the log)", name);
	xfree_secret_str(key);
	free(full);
	return rc;
}
