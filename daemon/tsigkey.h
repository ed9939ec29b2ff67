/* tsigkey.h - TSIG keys from the files tsig-keygen and knot's keymgr write */
#ifndef RENEWD_TSIGKEY_H
#define RENEWD_TSIGKEY_H

#include <stddef.h>

/* Longest key file read, in bytes. */
#define TSIGKEY_FILE_MAX	4096

/* One TSIG key. The secret is never logged; tsigkey_clear wipes it. */
struct tsig_key {
	char	*name;		/* "renewd-key", no trailing dot */
	char	*algorithm;	/* "hmac-sha256" */
	char	*secret;	/* base64 (RFC 4648 section 4), as in the file */
};

/*
 * Parses the one key of a file in BIND's form (key "NAME" { algorithm
 * hmac-sha256; secret "BASE64"; };) or knot's (key: - id: NAME
 * algorithm: ... secret: ...). Only hmac-sha256 is accepted. Returns 0
 * and fills k, or -1 with "line N: what is wrong" in err (never the
 * secret).
 */
int	 tsigkey_parse(const char *text, size_t len, struct tsig_key *k,
	    char *err, size_t errlen);
/* Frees and wipes k's fields; k itself stays. NULL fields are fine. */
void	 tsigkey_clear(struct tsig_key *k);
/* Copies src into dst (fields duplicated). */
void	 tsigkey_copy(struct tsig_key *dst, const struct tsig_key *src);

#endif
