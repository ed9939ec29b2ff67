/*
 * store_import.h - puts another client's account and certificate into the
 * state directory (renewctl import-certbot; renewd for it, through the
 * control socket): the same rules on both routes.
 */
#ifndef RENEWD_STORE_IMPORT_H
#define RENEWD_STORE_IMPORT_H

#include <stddef.h>

struct store;

enum store_import {
	STORE_IMPORTED,		/* written */
	STORE_ALREADY,		/* the same one is there already */
	STORE_KEPT,		/* another one is there: left alone */
	STORE_IMPORT_ERROR	/* bad input or a write failed: err says */
};

/* Returns the word a reply uses for r: "imported", "already imported", ... */
const char	*store_import_name(enum store_import r);

/*
 * Saves the account key_pem registered at url as CA ca's, unless the
 * state directory has an account for ca already (never overwritten).
 */
enum store_import store_import_account(struct store *, const char *ca,
		    const char *key_pem, const char *url, char *err,
		    size_t errlen);

/*
 * Installs cert_pem (chain_pem after it) with key_pem as the live version
 * of name, its serial the version (written to serial), unless name has a
 * live certificate already. The key must be the certificate's.
 */
enum store_import store_import_cert(struct store *, const char *name,
		    const char *key_pem, const char *cert_pem,
		    const char *chain_pem, char *serial, size_t seriallen,
		    char *err, size_t errlen);

#endif
