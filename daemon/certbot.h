/* certbot.h - a certbot configuration directory, read (never written) for the import */
#ifndef RENEWD_CERTBOT_H
#define RENEWD_CERTBOT_H

#include <stddef.h>
#include <time.h>

/* What renewd cannot take over as certbot had it: one line each, for the report. */
struct certbot_notes {
	char	**v;
	size_t	  n;
};

/* One certbot account: accounts/<server host and path>/<id>/. */
struct certbot_account {
	char	*server;	/* the CA's directory URL */
	char	*id;
	char	*url;		/* regr.json's "uri": the account URL */
	char	*key_pem;	/* private_key.json as PKCS#8 PEM (secret);
				   NULL (and url too) if unreadable: noted */
};

/* One lineage: renewal/<name>.conf and its live/<name>/ files. */
struct certbot_lineage {
	char	 *name;
	char	 *server;		/* directory URL */
	char	 *account_id;
	char	 *authenticator;	/* standalone, webroot, nginx, dns-..., ... */
	char	**webroots;		/* distinct webroot paths (webroot_path, [[webroot_map]]) */
	size_t	  nwebroots;
	struct certbot_hook {
		const char	*kind;	/* "pre_hook", "renew_hook" (--deploy-hook) or "post_hook" */
		char		*cmd;	/* a shell command line */
	}	 *hooks;
	size_t	  nhooks;
	int	  reuse_key;
	char	 *preferred_chain;
	char	 *key_pem;		/* secret */
	char	 *cert_pem, *chain_pem;
	int	  key_type;		/* enum key_type, or -1: none renewd makes */
	char	**domains;		/* the certificate's SANs */
	size_t	  ndomains;
	char	 *serial;		/* lower-case hex, as renewd names versions */
	time_t	  not_after;
	size_t	  account;		/* index into struct certbot's accounts */
};

struct certbot {
	char			*dir;
	struct certbot_lineage	*lineages;
	size_t			 nlineages;
	struct certbot_account	*accounts;
	size_t			 naccounts;
	char			**hook_files;	/* renewal-hooks/{pre,deploy,post}/<file> */
	size_t			 nhook_files;
};

/*
 * Reads certbot's directory dir: every renewal/NAME.conf (sorted by name),
 * its live/ files and the accounts they use. Returns a malloc'd certbot,
 * or NULL with why in err (naming the file, and its line for a renewal
 * file). Lineages it cannot take (an invalid name for renewd) are left
 * out with a line in notes. Opens nothing for writing.
 */
struct certbot	*certbot_read(const char *dir, struct certbot_notes *notes,
		    char *err, size_t errlen);
/* Frees (keys cleansed); NULL is a no-op. */
void		 certbot_free(struct certbot *);
/* Appends a printf-formatted line to notes. */
void		 certbot_note(struct certbot_notes *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* Frees the lines and zeroes notes. */
void		 certbot_notes_clear(struct certbot_notes *);
/*
 * Returns the account directory certbot uses for server, relative to
 * accounts/ (host[:port] then the path, no trailing "/"), malloc'd, or
 * NULL if server is no https:// URL.
 */
char		*certbot_server_path(const char *server);

#endif
