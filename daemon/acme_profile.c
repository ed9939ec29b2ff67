/* acme_profile.c - ACME profiles (draft-ietf-acme-profiles) at one CA */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acme_int.h"
#include "log.h"
#include "validate.h"
#include "xmalloc.h"

/*
 * A CA lists its profiles in the directory's meta.profiles (name ->
 * description); a newOrder may name one in "profile". The inventory's
 * profile is sent only to a CA that lists it. A CA that lists others
 * only fails the order (another CA of the certificate's list may offer
 * it); a CA that lists none gets no profile and issues its default, which
 * is logged once per CA: a backup CA without profiles still renews.
 * renew.c names each certificate's profile to its CAs at start and on
 * reload (acme_ca_want_profile, then acme_ca_check_profiles), so a misspelt name is an error in the
 * log as soon as the directory is read, not at the first renewal.
 */

#define PROFILES_MAX	64	/* names kept from one directory */

struct acme_profile_want {
	char	*profile;
	char	*cert;		/* the first certificate that asks for it */
	size_t	 more;		/* how many others do */
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Frees the names only: the wants wait for a directory that lists them. */
static void
names_clear(struct acme_ca *ca)
{
	size_t i;

	for (i = 0; i < ca->nprofiles; i++)
		free(ca->profiles[i]);
	free(ca->profiles);
	ca->profiles = NULL;
	ca->nprofiles = 0;
}

static void
wants_clear(struct acme_ca *ca)
{
	size_t i;

	for (i = 0; i < ca->nwants; i++) {
		free(ca->wants[i].profile);
		free(ca->wants[i].cert);
	}
	free(ca->wants);
	ca->wants = NULL;
	ca->nwants = 0;
}

void
acme_profiles_clear(struct acme_ca *ca)
{
	names_clear(ca);
	wants_clear(ca);
}

char *
acme_profiles_parse(struct acme_ca *ca, json_t *meta)
{
	json_t		*obj = json_object_get(meta, "profiles"), *v;
	const char	*name;
	size_t		 skipped = 0;

	names_clear(ca);
	if (obj == NULL)
		return NULL;
	if (!json_is_object(obj))
		return xasprintf("acme: %s: directory meta.profiles is no "
		    "object", ca->directory);
	json_object_foreach(obj, name, v) {
		/* a name goes into logs and newOrder: the inventory's shape */
		if (!valid_name(name) || strlen(name) > CONF_PROFILE_MAX ||
		    ca->nprofiles == PROFILES_MAX) {
			skipped++;
			continue;
		}
		ca->profiles = xreallocarray(ca->profiles, ca->nprofiles + 1,
		    sizeof(*ca->profiles));
		ca->profiles[ca->nprofiles++] = xstrdup(name);
	}
	if (skipped > 0)
		log_warn("acme: %s: %zu profile name(s) in the directory's "
		    "meta.profiles ignored (not 1 to %d of A-Z a-z 0-9 . _ -, "
		    "or more than %d names)", ca->directory, skipped,
		    CONF_PROFILE_MAX, PROFILES_MAX);
	if (ca->nprofiles > 0)
		qsort(ca->profiles, ca->nprofiles, sizeof(*ca->profiles),
		    cmp_str);
	return NULL;
}

/* Returns malloc'd "a, b, c": the names the CA lists. */
static char *
names_list(const struct acme_ca *ca)
{
	char	*s = xstrdup(""), *t;
	size_t	 i;

	for (i = 0; i < ca->nprofiles; i++) {
		t = xasprintf("%s%s%s", s, i > 0 ? ", " : "", ca->profiles[i]);
		free(s);
		s = t;
	}
	return s;
}

char *
acme_profile_for_order(struct acme_ca *ca, const char *cert_name,
    const char *profile, const char **send)
{
	char	*names, *err;

	*send = NULL;
	if (profile == NULL)
		return NULL;
	if (ca->nprofiles == 0) {
		if (!ca->profile_ignored_told)
			log_warn("acme: CA %s (%s): the directory lists no "
			    "profiles: profile \"%s\" of %s (and any other) is "
			    "not sent to this CA, which issues its default",
			    ca->name, ca->directory, profile, cert_name);
		ca->profile_ignored_told = 1;
		return NULL;
	}
	if (bsearch(&profile, ca->profiles, ca->nprofiles,
	    sizeof(*ca->profiles), cmp_str) != NULL) {
		*send = profile;
		return NULL;
	}
	names = names_list(ca);
	err = xasprintf("acme: CA %s (%s): certificate %s asks for profile "
	    "\"%s\", which the directory does not list (it lists: %s)",
	    ca->name, ca->directory, cert_name, profile, names);
	free(names);
	return err;
}

void
acme_profile_check_wants(struct acme_ca *ca)
{
	struct acme_profile_want *w;
	const char	*send;
	char		*err;
	size_t		 i;

	for (i = 0; i < ca->nwants; i++) {
		w = &ca->wants[i];
		if ((err = acme_profile_for_order(ca, w->cert, w->profile,
		    &send)) == NULL)
			continue;
		if (w->more > 0)
			log_msg(LOG_LVL_ERR, w->cert, "%s (and %zu more "
			    "certificate(s) ask for it)", err, w->more);
		else
			log_msg(LOG_LVL_ERR, w->cert, "%s", err);
		free(err);
	}
	wants_clear(ca);
}

void
acme_ca_want_profile(struct acme_ca *ca, const char *cert_name,
    const char *profile)
{
	size_t	 i;

	if (profile == NULL)
		return;
	for (i = 0; i < ca->nwants; i++)
		if (strcmp(ca->wants[i].profile, profile) == 0)
			break;
	if (i < ca->nwants) {
		ca->wants[i].more++;
		return;
	}
	ca->wants = xreallocarray(ca->wants, ca->nwants + 1,
	    sizeof(*ca->wants));
	ca->wants[ca->nwants++] = (struct acme_profile_want){
	    .profile = xstrdup(profile), .cert = xstrdup(cert_name) };
}

void
acme_ca_check_profiles(struct acme_ca *ca)
{
	char	*err;

	if (ca->nwants == 0)
		return;
	if (ca->have_dir)
		acme_profile_check_wants(ca);
	else if ((err = acme_dir_fetch(ca)) != NULL) {
		log_warn("CA %s: %s; profiles are checked at the first order",
		    ca->name, err);
		free(err);
	}
}
