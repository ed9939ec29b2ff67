/* livecheck.h - is a certificate version in the state directory whole? */
#ifndef RENEWD_LIVECHECK_H
#define RENEWD_LIVECHECK_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "crypto.h"

/*
 * One judge for renewd (at each check, every live_check_interval, on
 * SIGHUP) and renewctl (status), so the two never disagree about a
 * version: live names a version directory beside it, whose privkey.pem,
 * cert.pem, chain.pem and fullchain.pem are regular files; the key parses,
 * cert.pem's certificate parses and is for that key, chain.pem is empty or
 * certificates only, and fullchain.pem is exactly cert.pem then chain.pem
 * (as store.c writes it). Validity dates and names are not judged here:
 * an expired or narrow certificate is whole, just due.
 */

#define LIVECHECK_FILES	4

struct livecheck {
	char		version[NAME_MAX + 1];	/* the directory judged */
	struct crypto_cert_info info;		/* cert.pem's, when whole */
	int		key_type;		/* privkey.pem's (enum key_type) */
	uint64_t	stamp;			/* the files' identity, see below */
};

enum livecheck_verdict {
	LIVECHECK_WHOLE,	/* all of the above holds */
	LIVECHECK_ABSENT,	/* no live link (or no certificate directory) */
	LIVECHECK_BROKEN	/* why says what is wrong, naming the file */
};

/* The last chain.pem that parsed, so 100,000 certificates of one CA parse it once. */
struct livecheck_cache;
struct livecheck_cache *livecheck_cache_new(void);
void		 livecheck_cache_free(struct livecheck_cache *);

/*
 * Judges version (NULL: the one live names) of certificate name beneath
 * state_dir, never following a symlink. Fills *lc (overwritten, not
 * freed: pass a zeroed or cleared one; free with livecheck_clear) and
 * returns the verdict; for BROKEN (and for
 * ABSENT when something odd stands where live belongs) why says what, with
 * the path. cache may be NULL.
 */
enum livecheck_verdict livecheck_judge(const char *state_dir,
		    const char *name, const char *version,
		    struct livecheck_cache *cache, struct livecheck *lc,
		    char *why, size_t whylen);
/*
 * Returns 1 if live still names the version judged and its four files are
 * the ones judged: the same stamp, a hash of the version's name and each
 * file's device, inode, size, modification and change times (a readlink
 * and four stats; 8 bytes to keep per certificate). Returns 0 if anything
 * differs or is gone.
 */
int		 livecheck_unchanged(const char *state_dir, const char *name,
		    uint64_t stamp);
/*
 * Puts the stamp livecheck_unchanged compares into *stamp: that of the
 * version live names now, unjudged (for files renewd has just written
 * from a certificate it checked). Returns 0, or -1 if live or one of
 * the four files is missing or not what it should be.
 */
int		 livecheck_stamp(const char *state_dir, const char *name,
		    uint64_t *stamp);
/*
 * Finds the whole version of name with the latest notAfter that is not
 * skip (may be NULL) and is still valid at now. Returns 1 with its
 * directory name in out, 0 if there is none.
 */
int		 livecheck_newest_whole(const char *state_dir, const char *name,
		    const char *skip, time_t now, struct livecheck_cache *cache,
		    char *out, size_t outlen);
/*
 * Writes the serial of the live cert.pem of name (hex, as crypto_cert_info
 * has it) into out: for status, so that 100,000 serials need not stay in
 * memory. Returns 0, or -1 if there is none or it does not parse.
 */
int		 livecheck_serial(const char *state_dir, const char *name,
		    char *out, size_t outlen);
/*
 * Returns the live cert.pem of name (malloc'd, *len its length), or NULL
 * if there is none or it cannot be read.
 */
char		*livecheck_cert_pem(const char *state_dir, const char *name,
		    size_t *len);
/* Frees what lc holds and zeroes it. */
void		 livecheck_clear(struct livecheck *lc);

#endif
