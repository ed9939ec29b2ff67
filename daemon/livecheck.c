/* livecheck.c - is a certificate version in the state directory whole? */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "fsutil.h"
#include "livecheck.h"
#include "store.h"
#include "validate.h"
#include "xmalloc.h"

/* In the order store.c writes them; the indexes name them below. */
static const char *const files[LIVECHECK_FILES] = {
	"privkey.pem", "cert.pem", "chain.pem", "fullchain.pem"
};
enum { F_KEY, F_CERT, F_CHAIN, F_FULL };

struct livecheck_cache {
	char	*chain;		/* the last chain.pem text that parsed */
	size_t	 len;
};

/* What one judgement reads, and frees at the end. */
struct judging {
	int		 sdfd;		/* the state directory */
	const char	*state_dir;
	const char	*name;
	char		*text[LIVECHECK_FILES];
	size_t		 len[LIVECHECK_FILES];
	struct crypto_key *key;
	struct crypto_cert *cert;
};

struct livecheck_cache *
livecheck_cache_new(void)
{
	return xcalloc(1, sizeof(struct livecheck_cache));
}

void
livecheck_cache_free(struct livecheck_cache *c)
{
	if (c == NULL)
		return;
	free(c->chain);
	free(c);
}

void
livecheck_clear(struct livecheck *lc)
{
	crypto_cert_info_clear(&lc->info);
	memset(lc, 0, sizeof(*lc));
}

/*
 * Reads certs/<name>/live, renewd's own symlink: read, never followed.
 * Returns 1 with the version in target, 0 if there is none, -1 with why.
 */
static int
read_live(int sdfd, const char *state_dir, const char *name, char *target,
    size_t size, char *why, size_t whylen)
{
	char	*rel = xasprintf("certs/%s", name);
	ssize_t	 n = -1;
	int	 cfd, rc = -1;

	if ((cfd = fsutil_openat(sdfd, rel, O_RDONLY | O_DIRECTORY, 0)) != -1)
		n = readlinkat(cfd, "live", target, size - 1);
	if (cfd == -1 && errno != ENOENT)
		store_why_beneath(sdfd, state_dir, rel, errno, why, whylen);
	else if (n == -1 && errno == ENOENT)
		rc = 0;
	else if (n == -1 && errno == EINVAL)
		snprintf(why, whylen, "%s/%s/live is not a symbolic link",
		    state_dir, rel);
	else if (n == -1)
		snprintf(why, whylen, "%s/%s/live: %s", state_dir, rel,
		    strerror(errno));
	else {
		target[n] = '\0';
		if (valid_name(target) && strcmp(target, "live") != 0)
			rc = 1;
		else
			snprintf(why, whylen, "%s/%s/live points to \"%s\", "
			    "not a version directory beside it", state_dir,
			    rel, target);
	}
	if (cfd != -1)
		close(cfd);
	free(rel);
	return rc;
}

/* FNV-1a over len bytes of p, continuing from h. */
static uint64_t
fnv(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;

	while (len-- > 0) {
		h ^= *b++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define STAMP_SEED	0xcbf29ce484222325ULL

/*
 * Stirs the identity of regular file rel beneath sdfd into *h. Returns 0,
 * or -1 (errno set; EINVAL: not a regular file).
 */
static int
stamp_file(int sdfd, const char *rel, uint64_t *h)
{
	struct stat	st;
	int64_t		v[7];

	if (fstatat(sdfd, rel, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISLNK(st.st_mode) ? ELOOP : EINVAL;
		return -1;
	}
	v[0] = (int64_t)st.st_dev;
	v[1] = (int64_t)st.st_ino;
	v[2] = (int64_t)st.st_size;
	v[3] = (int64_t)st.st_mtim.tv_sec;
	v[4] = (int64_t)st.st_mtim.tv_nsec;
	v[5] = (int64_t)st.st_ctim.tv_sec;
	v[6] = (int64_t)st.st_ctim.tv_nsec;
	*h = fnv(*h, v, sizeof(v));
	return 0;
}

/* Takes the identity, then reads each file of the version: 0, or -1 with why. */
static int
read_files(struct judging *j, struct livecheck *lc, char *why, size_t whylen)
{
	char	*rel;
	int	 i, rc = 0;

	lc->stamp = fnv(STAMP_SEED, lc->version, strlen(lc->version) + 1);
	for (i = 0; i < LIVECHECK_FILES && rc == 0; i++) {
		rel = xasprintf("certs/%s/%s/%s", j->name, lc->version, files[i]);
		/* identity first: a change after it shows at the next look */
		if (stamp_file(j->sdfd, rel, &lc->stamp) == -1 ||
		    (j->text[i] = fsutil_read_file_at(j->sdfd, rel,
		    STORE_FILE_MAX, &j->len[i])) == NULL) {
			if (errno == EINVAL)
				snprintf(why, whylen, "%s/%s: not a regular "
				    "file", j->state_dir, rel);
			else if (errno == ENOENT)
				snprintf(why, whylen, "%s/%s: missing",
				    j->state_dir, rel);
			else
				store_why_beneath(j->sdfd, j->state_dir, rel,
				    errno, why, whylen);
			rc = -1;
		}
		free(rel);
	}
	return rc;
}

/* chain.pem: empty, or certificates only; the last one that parsed is cached. */
static int
chain_ok(struct judging *j, struct livecheck_cache *cache, char *err,
    size_t errlen)
{
	const char	*pem = j->text[F_CHAIN];
	size_t		 len = j->len[F_CHAIN];

	if (len == 0)
		return 0;
	if (cache != NULL && cache->chain != NULL && cache->len == len &&
	    memcmp(cache->chain, pem, len) == 0)
		return 0;
	if (crypto_certs_check(pem, len, "chain.pem", err, errlen) == -1)
		return -1;
	if (cache != NULL) {
		free(cache->chain);
		cache->chain = xmalloc(len);
		memcpy(cache->chain, pem, len);
		cache->len = len;
	}
	return 0;
}

/* The checks on what read_files read: 0, or -1 with why. */
static int
judge_files(struct judging *j, struct livecheck_cache *cache,
    struct livecheck *lc, char *why, size_t whylen)
{
	char	 err[256], *full, *dir;
	int	 rc = -1;

	dir = xasprintf("%s/certs/%s/%s", j->state_dir, j->name, lc->version);
	if ((j->key = crypto_key_from_pem(j->text[F_KEY], j->len[F_KEY])) ==
	    NULL)
		snprintf(why, whylen, "%s/privkey.pem: not a private key", dir);
	else if ((j->cert = crypto_cert_from_pem(j->text[F_CERT],
	    j->len[F_CERT], err, sizeof(err))) == NULL ||
	    crypto_cert_get_info(j->cert, &lc->info, err, sizeof(err)) == -1)
		snprintf(why, whylen, "%s/cert.pem: %s", dir, err);
	else if (!crypto_cert_has_key(j->cert, j->key))
		snprintf(why, whylen, "%s/cert.pem is not for the key in "
		    "privkey.pem", dir);
	else if (chain_ok(j, cache, err, sizeof(err)) == -1)
		snprintf(why, whylen, "%s/%s", dir, err);
	else {
		full = store_fullchain(j->text[F_CERT], j->text[F_CHAIN]);
		if (strlen(full) != j->len[F_FULL] ||
		    memcmp(full, j->text[F_FULL], j->len[F_FULL]) != 0)
			snprintf(why, whylen, "%s/fullchain.pem is not "
			    "cert.pem followed by chain.pem", dir);
		else
			rc = 0;
		free(full);
	}
	lc->key_type = j->key != NULL ? crypto_key_type(j->key) : 0;
	free(dir);
	return rc;
}

enum livecheck_verdict
livecheck_judge(const char *state_dir, const char *name, const char *version,
    struct livecheck_cache *cache, struct livecheck *lc, char *why,
    size_t whylen)
{
	struct judging		 j = { .state_dir = state_dir, .name = name };
	enum livecheck_verdict	 v = LIVECHECK_BROKEN;
	int			 i, r;

	memset(lc, 0, sizeof(*lc));	/* it may hold garbage: not cleared */
	why[0] = '\0';
	if (!valid_name(name)) {
		snprintf(why, whylen, "\"%s\": not a certificate name", name);
		return LIVECHECK_BROKEN;
	}
	if ((j.sdfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		snprintf(why, whylen, "%s: %s", state_dir, strerror(errno));
		return errno == ENOENT ? LIVECHECK_ABSENT : LIVECHECK_BROKEN;
	}
	if (version != NULL)
		r = snprintf(lc->version, sizeof(lc->version), "%s",
		    version) < (int)sizeof(lc->version) && valid_name(version);
	else
		r = read_live(j.sdfd, state_dir, name, lc->version,
		    sizeof(lc->version), why, whylen);
	if (r == 0 && version == NULL)
		v = why[0] == '\0' ? LIVECHECK_ABSENT : LIVECHECK_BROKEN;
	else if (r == 0)
		snprintf(why, whylen, "\"%s\": not a version name", version);
	else if (r == 1 && read_files(&j, lc, why, whylen) == 0 &&
	    judge_files(&j, cache, lc, why, whylen) == 0)
		v = LIVECHECK_WHOLE;
	if (v != LIVECHECK_WHOLE)
		crypto_cert_info_clear(&lc->info);
	crypto_key_free(j.key);
	crypto_cert_free(j.cert);
	for (i = 0; i < LIVECHECK_FILES; i++)
		free(j.text[i]);
	close(j.sdfd);
	return v;
}

int
livecheck_stamp(const char *state_dir, const char *name, uint64_t *stamp)
{
	char		 target[NAME_MAX + 1], why[64], *rel;
	uint64_t	 h;
	int		 sdfd, i, ok;

	if ((sdfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	ok = read_live(sdfd, state_dir, name, target, sizeof(target), why,
	    sizeof(why)) == 1;
	h = ok ? fnv(STAMP_SEED, target, strlen(target) + 1) : 0;
	for (i = 0; ok && i < LIVECHECK_FILES; i++) {
		rel = xasprintf("certs/%s/%s/%s", name, target, files[i]);
		ok = stamp_file(sdfd, rel, &h) == 0;
		free(rel);
	}
	close(sdfd);
	if (!ok)
		return -1;
	*stamp = h;
	return 0;
}

int
livecheck_unchanged(const char *state_dir, const char *name, uint64_t stamp)
{
	uint64_t	h;

	return livecheck_stamp(state_dir, name, &h) == 0 && h == stamp;
}

int
livecheck_newest_whole(const char *state_dir, const char *name,
    const char *skip, time_t now, struct livecheck_cache *cache, char *out,
    size_t outlen)
{
	struct livecheck lc = { 0 };
	struct dirent	*de;
	DIR		*d;
	char		*rel, why[512];
	time_t		 best = 0;
	int		 sdfd, cfd = -1;

	if (!valid_name(name) ||
	    (sdfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return 0;
	rel = xasprintf("certs/%s", name);
	cfd = fsutil_openat(sdfd, rel, O_RDONLY | O_DIRECTORY, 0);
	free(rel);
	close(sdfd);
	if (cfd == -1 || (d = fdopendir(cfd)) == NULL) {
		if (cfd != -1)
			close(cfd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "live") == 0 ||
		    (skip != NULL && strcmp(de->d_name, skip) == 0) ||
		    (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		if (livecheck_judge(state_dir, name, de->d_name, cache, &lc,
		    why, sizeof(why)) == LIVECHECK_WHOLE &&
		    lc.info.not_before <= now + CRYPTO_CHAIN_SKEW &&
		    lc.info.not_after > now && lc.info.not_after > best) {
			best = lc.info.not_after;
			snprintf(out, outlen, "%s", de->d_name);
		}
		livecheck_clear(&lc);
	}
	closedir(d);
	return best != 0;
}

char *
livecheck_cert_pem(const char *state_dir, const char *name, size_t *len)
{
	char	 target[NAME_MAX + 1], why[64], *rel = NULL, *pem = NULL;
	int	 sdfd;

	if (!valid_name(name) || (sdfd = open(state_dir, O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) == -1)
		return NULL;
	if (read_live(sdfd, state_dir, name, target, sizeof(target), why,
	    sizeof(why)) == 1) {
		rel = xasprintf("certs/%s/%s/cert.pem", name, target);
		pem = fsutil_read_file_at(sdfd, rel, STORE_FILE_MAX, len);
	}
	free(rel);
	close(sdfd);
	return pem;
}

int
livecheck_serial(const char *state_dir, const char *name, char *out,
    size_t outlen)
{
	char	*pem;
	size_t	 len;
	int	 rc = -1;

	if ((pem = livecheck_cert_pem(state_dir, name, &len)) != NULL)
		rc = crypto_pem_serial(pem, len, out, outlen);
	free(pem);
	return rc;
}
