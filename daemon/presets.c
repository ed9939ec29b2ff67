/* presets.c - the table of well-known ACME CAs (see presets.h) */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "presets.h"

#define LE_PROD		"https://acme-v02.api.letsencrypt.org/directory"
#define LE_STAGING	"https://acme-staging-v02.api.letsencrypt.org/directory"
#define GTS_PROD	"https://dv.acme-v02.api.pki.goog/directory"
#define GTS_STAGING	"https://dv.acme-v02.test-api.pki.goog/directory"

/*
 * Each row was compared on the date in its last column with the CA's
 * published ACME documentation and the CA tables of widely used clients. A staging twin is where a dry run orders; a
 * staging CA is its own twin. Google's staging needs EAB credentials of
 * its own, made in the same console as the production ones.
 */
static const struct preset presets[] = {
	{ "letsencrypt", "Let's Encrypt", LE_PROD, LE_STAGING, 0,
	    "no EAB; IP address identifiers only with the shortlived "
	    "profile; profiles classic, tlsserver, shortlived",
	    "2026-11-30" },
	{ "letsencrypt-staging", "Let's Encrypt (staging)", LE_STAGING,
	    LE_STAGING, 0,
	    "untrusted certificates, high rate limits; same profiles as "
	    "letsencrypt", "2026-11-30" },
	{ "google", "Google Trust Services", GTS_PROD, GTS_STAGING, 1,
	    "EAB from the Google Cloud console (publicca); no IP identifiers",
	    "2026-11-30" },
	{ "google-staging", "Google Trust Services (staging)", GTS_STAGING,
	    GTS_STAGING, 1,
	    "EAB of its own, from the staging environment of the console",
	    "2026-11-30" },
	{ "zerossl", "ZeroSSL", "https://acme.zerossl.com/v2/DV90", NULL, 1,
	    "EAB from the ZeroSSL dashboard (developer section); no staging "
	    "directory; no IP identifiers", "2026-11-30" },
	{ "sslcom", "SSL.com", "https://acme.ssl.com/sslcom-dv-ecc", NULL, 1,
	    "EAB from the SSL.com account's API credentials; the ECDSA "
	    "directory (an RSA one is at .../sslcom-dv-rsa); no staging",
	    "2026-11-30" },
	{ "actalis", "Actalis", "https://acme-api.actalis.com/acme/directory",
	    NULL, 1,
	    "EAB from the Actalis customer area after buying an ACME-enabled "
	    "DV certificate; no staging", "2026-11-30" },
};

#define NPRESETS	(sizeof(presets) / sizeof(presets[0]))

const struct preset *
preset_find(const char *name)
{
	size_t	i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < NPRESETS; i++)
		if (strcmp(presets[i].name, name) == 0)
			return &presets[i];
	return NULL;
}

const struct preset *
preset_at(unsigned i)
{
	return i < NPRESETS ? &presets[i] : NULL;
}

char *
preset_names(char *buf, size_t len)
{
	size_t	i, at = 0;

	if (len > 0)
		buf[0] = '\0';
	for (i = 0; i < NPRESETS && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", i > 0 ?
		    ", " : "", presets[i].name);
	return buf;
}

/* a and b equal but for one trailing slash on either */
static int
url_same(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '/')
		la--;
	if (lb > 0 && b[lb - 1] == '/')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

const struct preset *
preset_by_directory(const char *url)
{
	size_t	i;

	if (url == NULL)
		return NULL;
	for (i = 0; i < NPRESETS; i++)
		if (url_same(presets[i].directory, url))
			return &presets[i];
	return NULL;
}

const char *
preset_retired(const char *name)
{
	if (name != NULL && (strcmp(name, "buypass") == 0 ||
	    strcmp(name, "buypass-staging") == 0))
		return "Buypass ended its ACME service in 2025 (no new "
		    "certificates are issued): choose another CA, e.g. preset: "
		    "letsencrypt";
	return NULL;
}
