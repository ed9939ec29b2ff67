/* presets.h - well-known ACME CAs by name: one table, each fact dated */
#ifndef RENEWD_PRESETS_H
#define RENEWD_PRESETS_H

#include <stddef.h>

/*
 * What the inventory's "preset: NAME" (or a certificate's "ca: NAME"
 * with no such entry under "cas") stands for. The table in presets.c is
 * the only place these URLs and requirements are written down; checked
 * says when they were last compared with the CA's own documentation.
 */
struct preset {
	const char	*name;		/* "letsencrypt" */
	const char	*title;		/* "Let's Encrypt", for messages */
	const char	*directory;	/* production ACME directory URL */
	const char	*staging;	/* the staging twin's directory, or NULL */
	int		 eab_required;	/* newAccount needs eab: { kid, hmac } */
	const char	*notes;		/* IP identifiers, profiles, ...: for
					   renewctl init and the man page */
	const char	*checked;	/* YYYY-MM-DD the facts were checked */
};

/* Returns the preset called name, or NULL (also for a retired one). */
const struct preset *preset_find(const char *name);
/*
 * Returns the preset whose directory is url (compared without a trailing
 * slash and case), or NULL. A staging twin's URL finds
 * the staging preset (letsencrypt-staging, google-staging).
 */
const struct preset *preset_by_directory(const char *url);
/*
 * Returns why name cannot be a preset any more ("Buypass ended its ACME
 * service in 2025 ..."), or NULL if it is no retired CA.
 */
const char	*preset_retired(const char *name);
/* Writes the presets' names into buf as "a, b, c" (truncated to len); returns buf. */
char		*preset_names(char *buf, size_t len);
/* Returns the i-th preset of the table, or NULL past the end. */
const struct preset *preset_at(unsigned i);

#endif
