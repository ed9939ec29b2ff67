/* store.c - the state directory: accounts, keys, versioned certificates */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "store.h"

/* State files are small; anything larger is damage, not data. */
#define STORE_READ_MAX		(16 * 1024 * 1024)
/* How many "<version>.N" suffixes install tries before giving up. */
#define STORE_VERSION_TRIES	1000

struct store {
	char	*dir;
	int	 lockfd;
};

static char *
path_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
path_fmt(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	return n == -1 ? NULL : p;
}

/*
 * conf.c already restricts names to [A-Za-z0-9._-]; checking again here
 * keeps a path component from ever escaping its directory whatever the caller.
 */
static int
name_ok(const char *s)
{
	const char	*p;

	if (s == NULL || *s == '\0' || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0 || strlen(s) > NAME_MAX)
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-'))
			return 0;
	}
	return 1;
}

int
store_mkdir(const char *path, mode_t mode)
{
	struct stat	st;

	if (mkdir(path, mode) == 0)
		return chmod(path, mode);
	if (errno != EEXIST)
		return -1;
	if (stat(path, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* mkdir -p; only directories created here get mode. */
static int
mkdir_p(const char *path, mode_t mode)
{
	char	*copy, *p;
	int	 rc = -1;

	if ((copy = strdup(path)) == NULL)
		return -1;
	for (p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (store_mkdir(copy, mode) == -1)
			goto out;
		*p = '/';
	}
	rc = store_mkdir(copy, mode);
out:
	free(copy);
	return rc;
}

/* fsync a directory so a rename or create in it survives a crash. */
static int
fsync_dir(const char *dir)
{
	int	fd, rc, saved;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/*
 * The state directory may itself be a symlink (systemd's DynamicUser makes
 * one), but what it names must be ours and writable by us alone: whoever
 * else can write there can swap keys, or plant symlinks that send our
 * writes elsewhere. Access for others short of writing is only warned
 * about: the keys inside stay 0600 in 0700 directories either way.
 */
static int
check_state_dir(const char *dir, char *err, size_t errlen)
{
	struct stat	sb;

	if (stat(dir, &sb) == -1) {
		snprintf(err, errlen, "state directory %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "state directory %s: not a directory", dir);
		return -1;
	}
	if (sb.st_uid != geteuid()) {
		snprintf(err, errlen, "state directory %s is owned by uid %lu, "
		    "not by this process (uid %lu): refusing to use it", dir,
		    (unsigned long)sb.st_uid, (unsigned long)geteuid());
		return -1;
	}
	if ((sb.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(err, errlen, "state directory %s is writable by "
		    "others (mode %04o): refusing to use it; chmod 700 it",
		    dir, (unsigned)(sb.st_mode & 07777));
		return -1;
	}
	if ((sb.st_mode & 077) != 0)
		log_warn("state directory %s has mode %04o; 0700 is expected",
		    dir, (unsigned)(sb.st_mode & 07777));
	return 0;
}

/*
 * Returns 1 if name is what store_write_atomic leaves behind when killed
 * before its rename: "." + basename + "." + six mkstemp characters.
 */
static int
is_temp_name(const char *name)
{
	size_t	n = strlen(name);

	return n >= 9 && name[0] == '.' && name[n - 7] == '.' &&
	    strcmp(name, ".live.tmp") != 0 &&
	    strspn(name + n - 6, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789") == 6;
}

/* Removes leftover temp files (regular files only) directly in dir. */
static void
sweep_dir(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	int		 dfd;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (!is_temp_name(de->d_name) ||
		    fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(sb.st_mode))
			continue;
		if (unlinkat(dfd, de->d_name, 0) == 0)
			log_notice("removed %s/%s, left by an interrupted write",
			    dir, de->d_name);
	}
	closedir(d);
}

/* Runs sweep_dir on every directory directly below state_dir/sub. */
static void
sweep_subdirs(const char *state_dir, const char *sub)
{
	DIR		*d;
	struct dirent	*de;
	char		*top, *p;

	if ((top = path_fmt("%s/%s", state_dir, sub)) == NULL)
		return;
	if ((d = opendir(top)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (!name_ok(de->d_name))
				continue;
			if ((p = path_fmt("%s/%s", top, de->d_name)) != NULL)
				sweep_dir(p);
			free(p);
		}
		closedir(d);
	}
	free(top);
}

/*
 * A crash inside store_write_atomic leaves its temp file (a key, maybe)
 * behind, and nothing else would ever remove it.
 */
static void
sweep_temp_files(const char *state_dir)
{
	sweep_dir(state_dir);
	sweep_subdirs(state_dir, "accounts");
	sweep_subdirs(state_dir, "certs");
}

struct store *
store_open(const char *state_dir, char *err, size_t errlen)
{
	struct store	*st = NULL;
	char		*lockpath = NULL;
	char		 buf[32];
	ssize_t		 n;
	int		 len;

	if (state_dir == NULL || *state_dir == '\0') {
		snprintf(err, errlen, "state directory is not set");
		goto fail;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->dir = strdup(state_dir)) == NULL ||
	    (lockpath = path_fmt("%s/renewd.lock", state_dir)) == NULL) {
		snprintf(err, errlen, "state directory %s: %s", state_dir,
		    strerror(errno));
		goto fail;
	}
	st->lockfd = -1;
	if (mkdir_p(state_dir, 0700) == -1) {
		snprintf(err, errlen, "cannot create state directory %s: %s",
		    state_dir, strerror(errno));
		goto fail;
	}
	if (check_state_dir(state_dir, err, errlen) == -1)
		goto fail;
	st->lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (st->lockfd == -1) {
		snprintf(err, errlen, "cannot open lock %s: %s", lockpath,
		    strerror(errno));
		goto fail;
	}
	if (flock(st->lockfd, LOCK_EX | LOCK_NB) == -1) {
		long	pid = 0;

		if (errno != EWOULDBLOCK) {
			snprintf(err, errlen, "cannot lock %s: %s", lockpath,
			    strerror(errno));
			goto fail;
		}
		/* the holder may not have written its pid yet: say so */
		n = pread(st->lockfd, buf, sizeof(buf) - 1, 0);
		if (n > 0) {
			buf[n] = '\0';
			pid = strtol(buf, NULL, 10);
		}
		if (pid > 0)
			snprintf(err, errlen, "state directory %s is in use: "
			    "lock %s is held by pid %ld", state_dir, lockpath,
			    pid);
		else
			snprintf(err, errlen, "state directory %s is in use: "
			    "lock %s is held by another process", state_dir,
			    lockpath);
		goto fail;
	}
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(st->lockfd, 0) == -1 ||
	    pwrite(st->lockfd, buf, (size_t)len, 0) != len) {
		snprintf(err, errlen, "cannot write pid to %s: %s", lockpath,
		    strerror(errno));
		goto fail;
	}
	free(lockpath);
	/* under the lock: no other renewd is writing them */
	sweep_temp_files(st->dir);
	return st;
fail:
	free(lockpath);
	store_close(st);
	return NULL;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	/* closing drops the flock; the stale pid in the file is harmless */
	if (st->lockfd != -1)
		close(st->lockfd);
	free(st->dir);
	free(st);
}

const char *
store_path(const struct store *st)
{
	return st->dir;
}

int
store_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	const char	*base, *slash;
	const char	*p = data;
	char		*dir = NULL, *tmp = NULL;
	ssize_t		 n;
	int		 fd = -1, rc = -1, made = 0, saved;

	if ((slash = strrchr(path, '/')) != NULL) {
		dir = slash == path ? strdup("/") :
		    strndup(path, (size_t)(slash - path));
		base = slash + 1;
	} else {
		dir = strdup(".");
		base = path;
	}
	if (dir == NULL)
		goto out;
	if (*base == '\0') {
		errno = EINVAL;
		goto out;
	}
	if ((tmp = path_fmt("%s/.%s.XXXXXX", dir, base)) == NULL)
		goto out;
	/* mkstemp creates 0600: the data is never readable by others, even briefly */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		goto out;
	made = 1;
	if (fchmod(fd, mode) == -1)
		goto out;
	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1)
		goto out;
	n = close(fd);
	fd = -1;
	if (n == -1 || rename(tmp, path) == -1)
		goto out;
	made = 0;	/* renamed into place: nothing left to clean up */
	if (fsync_dir(dir) == -1)
		goto out;
	rc = 0;
out:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (made)
		unlink(tmp);
	free(tmp);
	free(dir);
	errno = saved;
	return rc;
}

/* store_read_file with extra open(2) flags. */
static char *
read_file_flags(const char *path, size_t *lenp, int flags)
{
	char	*buf = NULL, *nbuf;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | flags)) == -1)
		return NULL;
	for (;;) {
		if (cap - len < 4096 + 1) {
			if (cap >= STORE_READ_MAX) {
				errno = EFBIG;
				goto fail;
			}
			cap = cap == 0 ? 8192 : cap * 2;
			if ((nbuf = realloc(buf, cap)) == NULL)
				goto fail;
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
fail:
	saved = errno;
	close(fd);
	free(buf);
	errno = saved;
	return NULL;
}

char *
store_read_file(const char *path, size_t *lenp)
{
	return read_file_flags(path, lenp, 0);
}

/*
 * State files are ours: a symlink in their place was planted, so it is
 * refused (ELOOP) rather than followed to whatever it names.
 */
static char *
read_state_file(const char *path)
{
	return read_file_flags(path, NULL, O_NOFOLLOW);
}

/* Creates state_dir/<sub>/<name> (0700) and returns its malloc'd path. */
static char *
store_subdir(struct store *st, const char *sub, const char *name)
{
	char	*top = NULL, *dir = NULL;

	if ((top = path_fmt("%s/%s", st->dir, sub)) == NULL ||
	    (dir = path_fmt("%s/%s", top, name)) == NULL)
		goto fail;
	if (store_mkdir(top, 0700) == -1 || store_mkdir(dir, 0700) == -1)
		goto fail;
	free(top);
	return dir;
fail:
	log_err("cannot create directory %s/%s/%s: %s", st->dir, sub, name,
	    strerror(errno));
	free(top);
	free(dir);
	return NULL;
}

int
store_account_load(struct store *st, const char *ca, char **key_pem,
    char **url)
{
	json_t		*root = NULL;
	json_error_t	 jerr;
	const char	*u;
	char		*keypath = NULL, *jsonpath = NULL, *key = NULL;
	char		*json = NULL, *urlcopy = NULL;
	int		 rc = -1;

	*key_pem = NULL;
	*url = NULL;
	if (!name_ok(ca)) {
		log_err("account: invalid CA name \"%s\"", ca ? ca : "(null)");
		goto out;
	}
	if ((keypath = path_fmt("%s/accounts/%s/account.key", st->dir, ca)) ==
	    NULL || (jsonpath = path_fmt("%s/accounts/%s/account.json",
	    st->dir, ca)) == NULL) {
		log_err("account %s: %s", ca, strerror(errno));
		goto out;
	}
	if ((key = read_state_file(keypath)) == NULL) {
		if (errno == ENOENT)
			rc = 0;
		else
			log_err("cannot read %s: %s", keypath, strerror(errno));
		goto out;
	}
	if ((json = read_state_file(jsonpath)) == NULL) {
		if (errno != ENOENT) {
			log_err("cannot read %s: %s", jsonpath, strerror(errno));
			goto out;
		}
	} else {
		if ((root = json_loads(json, 0, &jerr)) == NULL ||
		    !json_is_object(root)) {
			log_err("%s:%d:%d: %s", jsonpath, jerr.line,
			    jerr.column, root == NULL ? jerr.text :
			    "not a JSON object");
			goto out;
		}
		u = json_string_value(json_object_get(root, "url"));
		if (u != NULL && (urlcopy = strdup(u)) == NULL) {
			log_err("account %s: %s", ca, strerror(errno));
			goto out;
		}
	}
	*key_pem = key;
	*url = urlcopy;
	key = urlcopy = NULL;
	rc = 1;
out:
	json_decref(root);
	free(keypath);
	free(jsonpath);
	free(key);
	free(json);
	free(urlcopy);
	return rc;
}

int
store_account_save_key(struct store *st, const char *ca, const char *key_pem,
    size_t len)
{
	char	*dir = NULL, *path = NULL;
	int	 rc = -1;

	if (!name_ok(ca)) {
		log_err("account: invalid CA name \"%s\"", ca ? ca : "(null)");
		goto out;
	}
	if ((dir = store_subdir(st, "accounts", ca)) == NULL)
		goto out;
	if ((path = path_fmt("%s/account.key", dir)) == NULL ||
	    store_write_atomic(path, key_pem, len, 0600) == -1) {
		log_err("cannot write %s/account.key: %s", dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(dir);
	free(path);
	return rc;
}

int
store_account_save_url(struct store *st, const char *ca, const char *url)
{
	json_t		*root = NULL;
	json_error_t	 jerr;
	char		*dir = NULL, *path = NULL, *old = NULL, *out_json = NULL;
	int		 rc = -1;

	if (!name_ok(ca)) {
		log_err("account: invalid CA name \"%s\"", ca ? ca : "(null)");
		goto out;
	}
	if (url == NULL) {
		log_err("account %s: no URL to save", ca);
		goto out;
	}
	if ((dir = store_subdir(st, "accounts", ca)) == NULL)
		goto out;
	if ((path = path_fmt("%s/account.json", dir)) == NULL) {
		log_err("account %s: %s", ca, strerror(errno));
		goto out;
	}
	/* keep whatever else account.json holds (e.g. "directory") */
	if ((old = read_state_file(path)) != NULL) {
		root = json_loads(old, 0, &jerr);
		if (root != NULL && !json_is_object(root)) {
			json_decref(root);
			root = NULL;
		}
		if (root == NULL)
			log_warn("%s: unreadable, rewriting it", path);
	}
	if (root == NULL && (root = json_object()) == NULL) {
		log_err("account %s: out of memory", ca);
		goto out;
	}
	if (json_object_set_new(root, "url", json_string(url)) == -1 ||
	    (out_json = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS)) ==
	    NULL) {
		log_err("account %s: cannot encode account.json", ca);
		goto out;
	}
	if (store_write_atomic(path, out_json, strlen(out_json), 0600) == -1) {
		log_err("cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	free(dir);
	free(path);
	free(old);
	free(out_json);
	return rc;
}

char *
store_cert_live_path(const char *state_dir, const char *name)
{
	if (!name_ok(name))
		return NULL;
	return path_fmt("%s/certs/%s/live", state_dir, name);
}

int
store_cert_load(struct store *st, const char *name, char **key_pem,
    char **fullchain_pem)
{
	char	 target[NAME_MAX + 1];
	char	*live = NULL, *keypath = NULL, *fcpath = NULL;
	char	*key = NULL, *fc = NULL;
	ssize_t	 n;
	int	 rc = -1;

	*key_pem = NULL;
	*fullchain_pem = NULL;
	if ((live = store_cert_live_path(st->dir, name)) == NULL) {
		log_msg(LOG_LVL_ERR, name, "invalid certificate name");
		goto out;
	}
	/* resolve live once so key and chain come from the same version */
	if ((n = readlink(live, target, sizeof(target) - 1)) == -1) {
		if (errno == ENOENT)
			rc = 0;
		else if (errno == EINVAL) {
			/* another tool's directory or file: none of ours is live */
			log_msg(LOG_LVL_WARNING, name, "%s is not a symbolic "
			    "link: treating the certificate as missing; the "
			    "next install moves it aside", live);
			rc = 0;
		} else
			log_msg(LOG_LVL_ERR, name, "cannot read link %s: %s",
			    live, strerror(errno));
		goto out;
	}
	target[n] = '\0';
	if (!name_ok(target)) {
		log_msg(LOG_LVL_ERR, name, "%s points to unexpected \"%s\"",
		    live, target);
		goto out;
	}
	if ((keypath = path_fmt("%s/certs/%s/%s/privkey.pem", st->dir, name,
	    target)) == NULL || (fcpath = path_fmt("%s/certs/%s/%s/"
	    "fullchain.pem", st->dir, name, target)) == NULL) {
		log_msg(LOG_LVL_ERR, name, "%s", strerror(errno));
		goto out;
	}
	if ((key = read_state_file(keypath)) == NULL) {
		log_msg(LOG_LVL_ERR, name, "cannot read %s: %s", keypath,
		    strerror(errno));
		goto out;
	}
	if ((fc = read_state_file(fcpath)) == NULL) {
		log_msg(LOG_LVL_ERR, name, "cannot read %s: %s", fcpath,
		    strerror(errno));
		goto out;
	}
	*key_pem = key;
	*fullchain_pem = fc;
	key = fc = NULL;
	rc = 1;
out:
	free(live);
	free(keypath);
	free(fcpath);
	free(key);
	free(fc);
	return rc;
}

static const char *const cert_files[] = {
	"privkey.pem", "cert.pem", "chain.pem", "fullchain.pem"
};

/* Removes a version directory that never went live. */
static void
remove_version(const char *vdir)
{
	char	*p;
	size_t	 i;

	for (i = 0; i < sizeof(cert_files) / sizeof(cert_files[0]); i++) {
		if ((p = path_fmt("%s/%s", vdir, cert_files[i])) != NULL) {
			unlink(p);
			free(p);
		}
	}
	rmdir(vdir);
}

/*
 * Writes one file of a fresh version directory. Nothing points at the
 * directory until live is switched, so there is no need for a temp file
 * and rename per file: create, write, fsync; the caller fsyncs the
 * directory once for all four. name is the basename, for the log.
 */
static int
write_cert_file(const char *cert, const char *vdir, const char *file,
    const char *data, size_t len, mode_t mode)
{
	char	*p;
	ssize_t	 n;
	int	 fd = -1, rc = -1;

	if ((p = path_fmt("%s/%s", vdir, file)) == NULL) {
		log_msg(LOG_LVL_ERR, cert, "%s", strerror(errno));
		return -1;
	}
	/* created 0600 whatever the umask; widened afterwards if need be */
	if ((fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1 ||
	    fchmod(fd, mode) == -1)
		goto out;
	while (len > 0) {
		if ((n = write(fd, data, len)) == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		data += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1)
		goto out;
	rc = close(fd);
	fd = -1;
out:
	if (rc == -1)
		log_msg(LOG_LVL_ERR, cert, "cannot write %s: %s", p,
		    strerror(errno));
	if (fd != -1)
		close(fd);
	free(p);
	return rc;
}

/*
 * rename(2)s the new symlink tmplink over live. If live is a real
 * directory or file (left by another tool, or made by hand) rename would
 * fail or delete it; a careful admin wants neither a certificate that can
 * never renew nor their files gone, so the two are exchanged atomically
 * and the old one kept as live.moved-<time>, with a warning naming it.
 */
static int
switch_live(const char *name, const char *cdir, const char *tmplink,
    const char *live)
{
	struct stat	 sb;
	char		*aside = NULL;
	int		 rc = -1;

	if (lstat(live, &sb) == -1 || S_ISLNK(sb.st_mode)) {
		if (rename(tmplink, live) == 0)
			return 0;
		log_msg(LOG_LVL_ERR, name, "cannot rename %s to %s: %s",
		    tmplink, live, strerror(errno));
		return -1;
	}
	if ((aside = path_fmt("%s/live.moved-%lld", cdir,
	    (long long)time(NULL))) == NULL) {
		log_msg(LOG_LVL_ERR, name, "%s", strerror(errno));
		goto out;
	}
	if (renameat2(AT_FDCWD, tmplink, AT_FDCWD, live, RENAME_EXCHANGE) == -1) {
		log_msg(LOG_LVL_ERR, name, "%s is not a symbolic link and "
		    "cannot be swapped (%s): move it away", live,
		    strerror(errno));
		goto out;
	}
	/* live is ours now; what was there sits at tmplink */
	if (rename(tmplink, aside) == -1) {
		log_msg(LOG_LVL_WARNING, name, "%s was not a symbolic link; it "
		    "is now %s (cannot rename it to %s: %s)", live, tmplink,
		    aside, strerror(errno));
		rc = 0;
		goto out;
	}
	log_msg(LOG_LVL_WARNING, name, "%s was not a symbolic link: moved "
	    "it to %s", live, aside);
	rc = 0;
out:
	free(aside);
	return rc;
}

int
store_cert_install(struct store *st, const char *name, const char *version,
    const char *key_pem, const char *cert_pem, const char *chain_pem)
{
	char	*cdir = NULL, *vdir = NULL, *vname = NULL, *fullchain = NULL;
	char	*tmplink = NULL, *live = NULL;
	size_t	 certlen, chainlen;
	int	 i, rc = -1, created = 0;

	if (!name_ok(name)) {
		log_err("install: invalid certificate name \"%s\"",
		    name ? name : "(null)");
		goto out;
	}
	if (!name_ok(version) || strcmp(version, "live") == 0) {
		log_msg(LOG_LVL_ERR, name, "install: invalid version \"%s\"",
		    version ? version : "(null)");
		goto out;
	}
	if (key_pem == NULL || cert_pem == NULL) {
		log_msg(LOG_LVL_ERR, name, "install: key or certificate missing");
		goto out;
	}
	if (chain_pem == NULL)
		chain_pem = "";
	if ((cdir = store_subdir(st, "certs", name)) == NULL)
		goto out;

	/* never overwrite a version: it may be live or deployed from */
	for (i = 0; i < STORE_VERSION_TRIES; i++) {
		free(vname);
		free(vdir);
		vdir = NULL;
		vname = i == 0 ? strdup(version) : path_fmt("%s.%d", version, i);
		if (vname == NULL || strlen(vname) > NAME_MAX ||
		    (vdir = path_fmt("%s/%s", cdir, vname)) == NULL) {
			log_msg(LOG_LVL_ERR, name, "install: bad version %s",
			    version);
			goto out;
		}
		if (mkdir(vdir, 0700) == 0) {
			created = 1;
			break;
		}
		if (errno != EEXIST) {
			log_msg(LOG_LVL_ERR, name, "cannot create %s: %s",
			    vdir, strerror(errno));
			goto out;
		}
	}
	if (!created) {
		log_msg(LOG_LVL_ERR, name, "install: too many copies of "
		    "version %s in %s", version, cdir);
		goto out;
	}
	if (chmod(vdir, 0700) == -1) {
		log_msg(LOG_LVL_ERR, name, "cannot chmod %s: %s", vdir,
		    strerror(errno));
		goto out;
	}

	certlen = strlen(cert_pem);
	chainlen = strlen(chain_pem);
	if ((fullchain = malloc(certlen + 1 + chainlen + 1)) == NULL) {
		log_msg(LOG_LVL_ERR, name, "%s", strerror(errno));
		goto out;
	}
	memcpy(fullchain, cert_pem, certlen);
	/* a PEM block missing its final newline would glue onto the next */
	if (certlen > 0 && cert_pem[certlen - 1] != '\n' && chainlen > 0)
		fullchain[certlen++] = '\n';
	memcpy(fullchain + certlen, chain_pem, chainlen + 1);

	if (write_cert_file(name, vdir, "privkey.pem", key_pem,
	    strlen(key_pem), 0600) == -1 ||
	    write_cert_file(name, vdir, "cert.pem", cert_pem,
	    strlen(cert_pem), 0644) == -1 ||
	    write_cert_file(name, vdir, "chain.pem", chain_pem, chainlen,
	    0644) == -1 ||
	    write_cert_file(name, vdir, "fullchain.pem", fullchain,
	    strlen(fullchain), 0644) == -1)
		goto out;
	if (fsync_dir(vdir) == -1) {
		log_msg(LOG_LVL_ERR, name, "cannot fsync %s: %s", vdir,
		    strerror(errno));
		goto out;
	}

	/*
	 * Switch live with one rename(2) of a symlink: key and certificate
	 * change together. A .live.tmp left by a crash is simply replaced.
	 */
	if ((tmplink = path_fmt("%s/.live.tmp", cdir)) == NULL ||
	    (live = path_fmt("%s/live", cdir)) == NULL) {
		log_msg(LOG_LVL_ERR, name, "%s", strerror(errno));
		goto out;
	}
	if (unlink(tmplink) == -1 && errno != ENOENT) {
		log_msg(LOG_LVL_ERR, name, "cannot remove %s: %s", tmplink,
		    strerror(errno));
		goto out;
	}
	if (symlink(vname, tmplink) == -1) {
		log_msg(LOG_LVL_ERR, name, "cannot create link %s: %s",
		    tmplink, strerror(errno));
		goto out;
	}
	if (switch_live(name, cdir, tmplink, live) == -1) {
		unlink(tmplink);
		goto out;
	}
	created = 0;	/* live now: never remove it */
	if (fsync_dir(cdir) == -1) {
		log_msg(LOG_LVL_ERR, name, "cannot fsync %s: %s", cdir,
		    strerror(errno));
		goto out;
	}
	log_msg(LOG_LVL_INFO, name, "installed version %s", vname);
	rc = 0;
out:
	if (created)
		remove_version(vdir);
	free(cdir);
	free(vdir);
	free(vname);
	free(fullchain);
	free(tmplink);
	free(live);
	return rc;
}
