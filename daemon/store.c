/* store.c - the state directory: layout, lock, accounts, cert versions */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "fsutil.h"
#include "log.h"
#include "sched.h"
#include "store.h"
#include "validate.h"
#include "xmalloc.h"

/*
 * What the files are, where they live and who may see them is decided
 * here; how a file reaches the disk safely is fsutil.c's. Names become
 * path components, so every one is checked with valid_name() whatever the
 * caller already checked: none can escape its directory.
 */

/* How many "<version>.N" suffixes install tries before giving up. */
#define STORE_VERSION_TRIES	1000

struct store {
	char	*dir;
	int	 dfd;			/* dir, opened once: all else is beneath */
	int	 lockfd;		/* holds the flock while open */
};

/* The files of a certificate version, in the order install writes them. */
static const char *const cert_files[] = {
	"privkey.pem", "cert.pem", "chain.pem", "fullchain.pem"
};

/*
 * The state directory may itself be a symlink (systemd's DynamicUser makes
 * one), but what it names must be ours and writable by us alone, and no
 * directory above it writable by everyone (unless sticky and root's, as
 * /tmp is): whoever else can write there can swap keys, or plant symlinks
 * that send our writes elsewhere. Access for others short of writing is
 * only warned about: the keys inside stay 0600 in 0700 directories.
 */
static int
check_state_dir(int dfd, const char *dir, char *err, size_t errlen)
{
	struct stat	sb;

	if (fstat(dfd, &sb) == -1) {
		snprintf(err, errlen, "state directory %s: %s", dir,
		    strerror(errno));
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
	return fsutil_check_parents(dir, "state directory", err, errlen);
}

void
store_why_beneath(int dfd, const char *dir, const char *rel, int err,
    char *out, size_t outlen)
{
	struct stat	sb;
	char		*bad;

	if (err != ELOOP && err != ENOTDIR && err != EXDEV) {
		snprintf(out, outlen, "cannot open %s/%s: %s", dir, rel,
		    strerror(err));
		return;
	}
	bad = xstrndup(rel, fsutil_bad_component(dfd, rel));
	if (fstatat(dfd, bad, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(sb.st_mode))
		snprintf(out, outlen, "%s/%s is a symbolic link: refusing to "
		    "follow it (renewd's state holds no symlinks but live)",
		    dir, bad);
	else
		snprintf(out, outlen, "%s/%s is not a directory: refusing to "
		    "use it", dir, bad);
	free(bad);
}

/* Logs store_why_beneath of rel (errno), which it keeps. */
static void
log_beneath(const struct store *st, const char *cert, const char *rel)
{
	char	msg[3 * PATH_MAX];
	int	saved = errno;

	store_why_beneath(st->dfd, st->dir, rel, saved, msg, sizeof(msg));
	log_msg(LOG_LVL_ERR, cert, "%s", msg);
	errno = saved;
}

/* Runs fsutil_sweep_temp on every directory directly below state_dir/sub. */
static void
sweep_subdirs(const struct store *st, const char *sub)
{
	DIR		*d;
	struct dirent	*de;
	char		*shown;
	int		 fd, sfd;

	if ((fd = fsutil_openat(st->dfd, sub, O_RDONLY | O_DIRECTORY, 0)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (!valid_name(de->d_name) || (sfd = fsutil_openat(fd,
		    de->d_name, O_RDONLY | O_DIRECTORY, 0)) == -1)
			continue;
		shown = xasprintf("%s/%s/%s", st->dir, sub, de->d_name);
		fsutil_sweep_temp_at(sfd, shown);
		free(shown);
		close(sfd);
	}
	closedir(d);
}

/*
 * A crash inside fsutil_write_atomic leaves its temp file (a key, maybe)
 * behind, and nothing else would ever remove it.
 */
static void
sweep_temp_files(const struct store *st)
{
	fsutil_sweep_temp_at(st->dfd, st->dir);
	sweep_subdirs(st, "accounts");
	sweep_subdirs(st, "certs");
}

struct store *
store_open(const char *state_dir, char *err, size_t errlen)
{
	struct store	*st;
	char		*lockpath, why[PATH_MAX + 64];

	if (state_dir == NULL || *state_dir == '\0') {
		snprintf(err, errlen, "state directory is not set");
		return NULL;
	}
	st = xcalloc(1, sizeof(*st));
	st->dir = xstrdup(state_dir);
	st->dfd = st->lockfd = -1;
	lockpath = xasprintf("%s/renewd.lock", state_dir);
	/* before creating anything: nothing is made below a refused parent */
	if (fsutil_check_parents(state_dir, "state directory", err, errlen) ==
	    -1)
		goto fail;
	if (fsutil_mkdir_p(state_dir, 0700) == -1) {
		snprintf(err, errlen, "cannot create state directory %s: %s",
		    state_dir, strerror(errno));
		goto fail;
	}
	if ((st->dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		snprintf(err, errlen, "state directory %s: %s", state_dir,
		    strerror(errno));
		goto fail;
	}
	if (check_state_dir(st->dfd, state_dir, err, errlen) == -1)
		goto fail;
	if ((st->lockfd = fsutil_lock_pidfile(lockpath, why, sizeof(why))) ==
	    -1) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen, "state directory %s is in use: %s",
			    state_dir, why);
		else
			snprintf(err, errlen, "%s", why);
		goto fail;
	}
	free(lockpath);
	/* under the lock: no other renewd is writing them */
	sweep_temp_files(st);
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
	if (st->dfd != -1)
		close(st->dfd);
	free(st->dir);
	free(st);
}

const char *
store_path(const struct store *st)
{
	return st->dir;
}

/*
 * Reads rel beneath the state directory. State files are ours: a symlink
 * in their place or on the way was planted, so it is refused (ELOOP)
 * rather than followed to whatever it names.
 */
static char *
read_state_file(const struct store *st, const char *rel)
{
	return fsutil_read_file_at(st->dfd, rel, STORE_FILE_MAX, NULL);
}

/*
 * Creates state_dir/<sub>/<name> (0700), or takes it as it is, never
 * through a symlink. Returns its descriptor, or -1 (logged).
 */
static int
store_subdir(struct store *st, const char *cert, const char *sub,
    const char *name)
{
	char	*rel;
	int	 top, fd = -1;

	rel = xasprintf("%s/%s", sub, name);
	if ((top = fsutil_mkdirat(st->dfd, sub, 0700, 0)) != -1) {
		fd = fsutil_mkdirat(top, name, 0700, 0);
		close(top);
	}
	if (fd == -1)
		log_beneath(st, cert, rel);
	free(rel);
	return fd;
}

/* Returns 1 if ca can name an account directory; logs and returns 0 if not. */
static int
ca_name_ok(const char *ca)
{
	if (valid_name(ca))
		return 1;
	log_err("account: invalid CA name \"%s\"", ca ? ca : "(null)");
	return 0;
}

/*
 * Sets *url to a malloc'd copy of the "url" member of account.json's text
 * (NULL if absent). Returns 0, or -1 (logged) if the text is no JSON object.
 */
static int
account_url(const char *path, const char *json, char **url)
{
	json_t		*root;
	json_error_t	 jerr;
	const char	*u;

	*url = NULL;
	if ((root = json_loads(json, 0, &jerr)) == NULL || !json_is_object(root)) {
		log_err("%s:%d:%d: %s", path, jerr.line, jerr.column,
		    root == NULL ? jerr.text : "not a JSON object");
		json_decref(root);
		return -1;
	}
	if ((u = json_string_value(json_object_get(root, "url"))) != NULL)
		*url = xstrdup(u);
	json_decref(root);
	return 0;
}

char *
store_account_key_path(const struct store *st, const char *ca)
{
	return xasprintf("%s/accounts/%s/account.key", st->dir, ca);
}

int
store_account_load(struct store *st, const char *ca, char **key_pem,
    char **url)
{
	char	*keypath = NULL, *jsonpath = NULL, *key = NULL, *json = NULL;
	int	 rc = -1;

	*key_pem = NULL;
	*url = NULL;
	if (!ca_name_ok(ca))
		return -1;
	keypath = xasprintf("accounts/%s/account.key", ca);
	jsonpath = xasprintf("accounts/%s/account.json", ca);
	if ((key = read_state_file(st, keypath)) == NULL) {
		if (errno == ENOENT)
			rc = 0;
		else
			log_beneath(st, NULL, keypath);
		goto out;
	}
	if ((json = read_state_file(st, jsonpath)) == NULL) {
		if (errno != ENOENT) {
			log_beneath(st, NULL, jsonpath);
			goto out;
		}
	} else if (account_url(jsonpath, json, url) == -1)
		goto out;
	*key_pem = key;
	key = NULL;
	rc = 1;
out:
	free(keypath);
	free(jsonpath);
	free(key);
	free(json);
	return rc;
}

/* Writes key_pem as file name (0600) of ca's account directory. */
static int
account_key_write(struct store *st, const char *ca, const char *name,
    const char *key_pem, size_t len)
{
	int	 dfd, rc = -1;

	if (!ca_name_ok(ca) ||
	    (dfd = store_subdir(st, NULL, "accounts", ca)) == -1)
		return -1;
	if (fsutil_write_atomic_at(dfd, name, key_pem, len, 0600,
	    (uid_t)-1, (gid_t)-1) == -1)
		log_err("cannot write %s/accounts/%s/%s: %s", st->dir, ca,
		    name, strerror(errno));
	else
		rc = 0;
	close(dfd);
	return rc;
}

int
store_account_save_key(struct store *st, const char *ca, const char *key_pem,
    size_t len)
{
	return account_key_write(st, ca, "account.key", key_pem, len);
}

/* Returns account.json's object as it is at path; a new one if unreadable. */
static json_t *
account_json(int dfd, const char *path)
{
	json_t		*root = NULL;
	json_error_t	 jerr;
	char		*old;

	if ((old = fsutil_read_file_at(dfd, "account.json", STORE_FILE_MAX,
	    NULL)) != NULL) {
		root = json_loads(old, 0, &jerr);
		if (root != NULL && !json_is_object(root)) {
			json_decref(root);
			root = NULL;
		}
		if (root == NULL)
			log_warn("%s: unreadable, rewriting it", path);
		free(old);
	}
	return root != NULL ? root : json_object();
}

/*
 * Sets the members of account.json named in keys[0..n) to vals (stolen;
 * NULL: removed), keeping the others. Returns 0 or -1 (logged).
 */
static int
account_json_set(struct store *st, const char *ca, const char *const *keys,
    json_t **vals, size_t n)
{
	json_t		*root = NULL;
	char		*path = NULL, *out_json = NULL;
	size_t		 i;
	int		 dfd = -1, rc = -1;

	if (!ca_name_ok(ca) ||
	    (dfd = store_subdir(st, NULL, "accounts", ca)) == -1)
		goto out;
	path = xasprintf("%s/accounts/%s/account.json", st->dir, ca);
	/* keep whatever else account.json holds (e.g. "directory") */
	root = account_json(dfd, path);
	for (i = 0; i < n; i++) {
		if (vals[i] == NULL)
			json_object_del(root, keys[i]);
		else if (json_object_set_new(root, keys[i], vals[i]) == -1) {
			log_err("account %s: cannot encode account.json", ca);
			goto out;
		}
		vals[i] = NULL;
	}
	out_json = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (fsutil_write_atomic_at(dfd, "account.json", out_json,
	    strlen(out_json), 0600, (uid_t)-1, (gid_t)-1) == -1) {
		log_err("cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		json_decref(vals[i]);
	if (dfd != -1)
		close(dfd);
	json_decref(root);
	free(path);
	free(out_json);
	return rc;
}

int
store_account_save_url(struct store *st, const char *ca, const char *url)
{
	static const char *const keys[] = { "url" };
	json_t	*v;

	if (url == NULL) {
		log_err("account %s: no URL to save", ca);
		return -1;
	}
	v = json_string(url);
	return account_json_set(st, ca, keys, &v, 1);
}

int
store_account_save_info(struct store *st, const char *ca, const char *status,
    char *const *contact, size_t ncontact, int set_contact)
{
	static const char *const keys[] = { "status", "contact" };
	json_t	*v[2];
	size_t	 i;

	v[0] = status != NULL ? json_string(status) : NULL;
	v[1] = json_array();
	for (i = 0; i < ncontact; i++)
		json_array_append_new(v[1], json_string(contact[i]));
	if (!set_contact) {
		json_decref(v[1]);
		return account_json_set(st, ca, keys, v, 1);
	}
	return account_json_set(st, ca, keys, v, 2);
}

int
store_account_info(struct store *st, const char *ca, char **status,
    char ***contact, size_t *ncontact)
{
	char		*rel, *json;
	json_t		*root = NULL, *a, *v;
	const char	*s;
	size_t		 i;
	int		 rc = 0;

	*status = NULL;
	*contact = NULL;
	*ncontact = 0;
	if (!valid_name(ca))
		return -1;
	rel = xasprintf("accounts/%s/account.json", ca);
	if ((json = read_state_file(st, rel)) != NULL)
		root = json_loads(json, 0, NULL);
	if ((s = json_string_value(json_object_get(root, "status"))) != NULL)
		*status = xstrdup(s);
	if (json_is_array(a = json_object_get(root, "contact"))) {
		*contact = xcalloc(json_array_size(a) + 1, sizeof(char *));
		json_array_foreach(a, i, v)
			if (json_is_string(v))
				(*contact)[(*ncontact)++] =
				    xstrdup(json_string_value(v));
		rc = 1;
	}
	json_decref(root);
	free(json);
	free(rel);
	return rc;
}

/* ---- rollover: account.key.next (RFC 8555 7.3.5) ----------------------- */

int
store_account_save_next(struct store *st, const char *ca, const char *key_pem,
    size_t len)
{
	return account_key_write(st, ca, "account.key.next", key_pem, len);
}

int
store_account_load_next(struct store *st, const char *ca, char **key_pem)
{
	char	*rel;
	int	 rc = 1;

	*key_pem = NULL;
	if (!ca_name_ok(ca))
		return -1;
	rel = xasprintf("accounts/%s/account.key.next", ca);
	if ((*key_pem = read_state_file(st, rel)) == NULL) {
		rc = errno == ENOENT ? 0 : -1;
		if (rc == -1)
			log_beneath(st, NULL, rel);
	}
	free(rel);
	return rc;
}

int
store_account_end_next(struct store *st, const char *ca, int commit)
{
	int	 dfd, rc;

	if (!ca_name_ok(ca) ||
	    (dfd = store_subdir(st, NULL, "accounts", ca)) == -1)
		return -1;
	/* the rename is the switch: account.key is one key or the other */
	rc = commit ? fsutil_rename_at(dfd, "account.key.next", "account.key") :
	    fsutil_unlinkat(dfd, "account.key.next");
	if (rc == -1)
		log_err("cannot %s %s/accounts/%s/account.key.next: %s",
		    commit ? "rename" : "remove", st->dir, ca, strerror(errno));
	else if (!commit)
		rc = fsync(dfd);
	close(dfd);
	return rc;
}

char *
store_cert_live_path(const char *state_dir, const char *name)
{
	if (!valid_name(name))
		return NULL;
	return xasprintf("%s/certs/%s/live", state_dir, name);
}

/*
 * Reads live in certificate directory cfd: renewd's own symlink, so it is
 * read, never followed, and must name a version directory beside it.
 * Returns 1 with the name in target, 0 if there is no live version, -1
 * (logged) if live is broken.
 */
static int
read_live(const struct store *st, const char *name, int cfd, char *target,
    size_t size)
{
	ssize_t	n;

	if ((n = readlinkat(cfd, "live", target, size - 1)) == -1) {
		if (errno == ENOENT)
			return 0;
		if (errno == EINVAL) {
			/* another tool's directory or file: none of ours is live */
			log_msg(LOG_LVL_WARNING, name, "%s/certs/%s/live is not "
			    "a symbolic link: treating the certificate as "
			    "missing; the next install moves it aside", st->dir,
			    name);
			return 0;
		}
		log_msg(LOG_LVL_ERR, name, "cannot read link %s/certs/%s/live: "
		    "%s", st->dir, name, strerror(errno));
		return -1;
	}
	target[n] = '\0';
	if (!valid_name(target) || strcmp(target, "live") == 0) {
		log_msg(LOG_LVL_ERR, name, "%s/certs/%s/live points to "
		    "unexpected \"%s\": not a version directory beside it",
		    st->dir, name, target);
		return -1;
	}
	return 1;
}

/* Reads file of version target of certificate name into *pem; 0 or -1 (logged). */
static int
read_version_file(const struct store *st, const char *name,
    const char *target, const char *file, char **pem)
{
	char	*rel;
	int	 rc = 0;

	rel = xasprintf("certs/%s/%s/%s", name, target, file);
	if ((*pem = read_state_file(st, rel)) == NULL) {
		log_beneath(st, name, rel);
		rc = -1;
	}
	free(rel);
	return rc;
}

int
store_cert_load(struct store *st, const char *name, char **key_pem,
    char **fullchain_pem)
{
	char	 target[NAME_MAX + 1];
	char	*rel = NULL, *key = NULL, *fc = NULL;
	int	 cfd = -1, rc = -1;

	*key_pem = NULL;
	*fullchain_pem = NULL;
	if (!valid_name(name)) {
		log_msg(LOG_LVL_ERR, name, "invalid certificate name");
		goto out;
	}
	rel = xasprintf("certs/%s", name);
	if ((cfd = fsutil_openat(st->dfd, rel, O_RDONLY | O_DIRECTORY, 0)) ==
	    -1) {
		if (errno == ENOENT)
			rc = 0;
		else
			log_beneath(st, name, rel);
		goto out;
	}
	/* resolve live once so key and chain come from the same version */
	if ((rc = read_live(st, name, cfd, target, sizeof(target))) != 1)
		goto out;
	rc = -1;
	if (read_version_file(st, name, target, "privkey.pem", &key) == -1 ||
	    read_version_file(st, name, target, "fullchain.pem", &fc) == -1)
		goto out;
	*key_pem = key;
	*fullchain_pem = fc;
	key = fc = NULL;
	rc = 1;
out:
	if (cfd != -1)
		close(cfd);
	free(rel);
	free(key);
	free(fc);
	return rc;
}

/* A version store_cert_install is making, and where. */
struct install {
	const char	*name;		/* the certificate, for the log */
	char		*cdir;		/* state_dir/certs/<name>, for the log */
	int		 cfd;		/* that directory */
	char		*vname;		/* the version directory's name */
	char		*vdir;		/* cdir/vname, for the log */
	int		 vfd;		/* that directory */
	int		 created;	/* vdir is ours to remove on failure */
};

/* Checks store_cert_install's arguments; logs and returns -1 if one is bad. */
static int
install_args(const char *name, const char *version, const char *key_pem,
    const char *cert_pem)
{
	if (!valid_name(name)) {
		log_err("install: invalid certificate name \"%s\"",
		    name ? name : "(null)");
		return -1;
	}
	if (!valid_name(version) || strcmp(version, "live") == 0) {
		log_msg(LOG_LVL_ERR, name, "install: invalid version \"%s\"",
		    version ? version : "(null)");
		return -1;
	}
	if (key_pem == NULL || cert_pem == NULL) {
		log_msg(LOG_LVL_ERR, name, "install: key or certificate missing");
		return -1;
	}
	return 0;
}

/*
 * Creates the version directory: version itself, else version.1,
 * version.2, ...; never an existing one, which may be live or deployed
 * from (or a symlink someone planted). Returns 0 or -1 (logged).
 */
static int
make_version_dir(struct install *in, const char *version)
{
	int	i;

	for (i = 0; i < STORE_VERSION_TRIES; i++) {
		in->vname = i == 0 ? xstrdup(version) :
		    xasprintf("%s.%d", version, i);
		if (!valid_name(in->vname)) {
			log_msg(LOG_LVL_ERR, in->name, "install: bad version %s",
			    version);
			return -1;
		}
		in->vdir = xasprintf("%s/%s", in->cdir, in->vname);
		if ((in->vfd = fsutil_mkdirat(in->cfd, in->vname, 0700,
		    FSUTIL_NEW)) != -1) {
			in->created = 1;
			return 0;
		}
		if (errno != EEXIST) {
			log_msg(LOG_LVL_ERR, in->name, "cannot create %s: %s",
			    in->vdir, strerror(errno));
			return -1;
		}
		free(in->vname);
		free(in->vdir);
		in->vname = in->vdir = NULL;
	}
	log_msg(LOG_LVL_ERR, in->name, "install: too many copies of version %s "
	    "in %s", version, in->cdir);
	return -1;
}

char *
store_fullchain(const char *cert_pem, const char *chain_pem)
{
	size_t	 certlen = strlen(cert_pem), chainlen = strlen(chain_pem);
	char	*fc;

	fc = xmalloc(certlen + 1 + chainlen + 1);
	memcpy(fc, cert_pem, certlen);
	/* a PEM block missing its final newline would glue onto the next */
	if (certlen > 0 && cert_pem[certlen - 1] != '\n' && chainlen > 0)
		fc[certlen++] = '\n';
	memcpy(fc + certlen, chain_pem, chainlen + 1);
	return fc;
}

/*
 * Writes the version's four files and fsyncs its directory. Nothing points
 * at the directory until live is switched, so each file is written in
 * place (fsutil_write_new), with no temp file and rename of its own.
 * Returns 0 or -1 (logged).
 */
static int
write_version(const struct install *in, const char *key_pem,
    const char *cert_pem, const char *chain_pem)
{
	static const mode_t modes[] = { 0600, 0644, 0644, 0644 };
	const char	*data[4];
	char		*fc, *p;
	size_t		 i;
	int		 rc = 0;

	fc = store_fullchain(cert_pem, chain_pem);
	data[0] = key_pem;
	data[1] = cert_pem;
	data[2] = chain_pem;
	data[3] = fc;
	for (i = 0; i < 4 && rc == 0; i++) {
		if ((rc = fsutil_write_new_at(in->vfd, cert_files[i], data[i],
		    strlen(data[i]), modes[i])) == -1) {
			p = xasprintf("%s/%s", in->vdir, cert_files[i]);
			log_msg(LOG_LVL_ERR, in->name, "cannot write %s: %s", p,
			    strerror(errno));
			free(p);
		}
	}
	if (rc == 0 && (rc = fsync(in->vfd)) == -1)
		log_msg(LOG_LVL_ERR, in->name, "cannot fsync %s: %s", in->vdir,
		    strerror(errno));
	free(fc);
	return rc;
}

/*
 * Points live at the new version with one rename(2) of a symlink, so key
 * and certificate change together. A live that is no symlink (another
 * tool's, or made by hand) is kept as live.moved-<time>, with a warning.
 * Returns 0 or -1 (logged; the old live stays).
 */
static int
switch_live(const struct install *in)
{
	enum fsutil_swap r;
	char		*aside, msg[3 * PATH_MAX];

	aside = xasprintf("live.moved-%lld", (long long)time(NULL));
	r = fsutil_symlink_swap_at(in->cfd, in->cdir, in->vname, "live", aside,
	    msg, sizeof(msg));
	if (r == FSUTIL_SWAP_FAILED)
		log_msg(LOG_LVL_ERR, in->name, "%s", msg);
	else if (r != FSUTIL_SWAP_DONE)
		log_msg(LOG_LVL_WARNING, in->name, "%s", msg);
	free(aside);
	return r == FSUTIL_SWAP_FAILED ? -1 : 0;
}

int
store_cert_install(struct store *st, const char *name, const char *version,
    const char *key_pem, const char *cert_pem, const char *chain_pem)
{
	struct install	 in = { .name = name, .cfd = -1, .vfd = -1 };
	int		 rc = -1;

	if (install_args(name, version, key_pem, cert_pem) == -1)
		return -1;
	in.cdir = xasprintf("%s/certs/%s", st->dir, name);
	if ((in.cfd = store_subdir(st, name, "certs", name)) == -1 ||
	    make_version_dir(&in, version) == -1 ||
	    write_version(&in, key_pem, cert_pem,
	    chain_pem != NULL ? chain_pem : "") == -1 ||
	    switch_live(&in) == -1)
		goto out;
	in.created = 0;	/* live now: never remove it */
	if (fsync(in.cfd) == -1) {
		log_msg(LOG_LVL_ERR, name, "cannot fsync %s: %s", in.cdir,
		    strerror(errno));
		goto out;
	}
	log_msg(LOG_LVL_INFO, name, "installed version %s", in.vname);
	rc = 0;
out:
	if (in.vfd != -1)
		close(in.vfd);
	if (in.created)
		fsutil_remove_dir_at(in.cfd, in.vname, cert_files,
		    sizeof(cert_files) / sizeof(cert_files[0]));
	if (in.cfd != -1)
		close(in.cfd);
	free(in.cdir);
	free(in.vname);
	free(in.vdir);
	return rc;
}

/* A version directory and when it was made, for store_cert_prune. */
struct version_age {
	char		*name;
	struct timespec	 made;
};

/* Newest first. */
static int
version_cmp(const void *a, const void *b)
{
	const struct version_age *x = a, *y = b;

	if (x->made.tv_sec != y->made.tv_sec)
		return x->made.tv_sec < y->made.tv_sec ? 1 : -1;
	if (x->made.tv_nsec != y->made.tv_nsec)
		return x->made.tv_nsec < y->made.tv_nsec ? 1 : -1;
	return strcmp(x->name, y->name);
}

/*
 * The version directories of certificate directory cfd but skip, newest
 * first: real directories whose names install could have made. Returns
 * how many, in *out (malloc'd).
 */
static size_t
versions_of(int cfd, const char *skip, struct version_age **out)
{
	struct version_age *v = NULL;
	struct dirent	*de;
	struct stat	 sb;
	size_t		 n = 0;
	DIR		*d;
	int		 fd;

	*out = NULL;
	if ((fd = dup(cfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		/* live, live.moved-*: ours or another tool's, never versions */
		if (!valid_name(de->d_name) || strncmp(de->d_name, "live", 4) ==
		    0 || strcmp(de->d_name, skip) == 0 ||
		    fstatat(cfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISDIR(sb.st_mode))
			continue;
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n].name = xstrdup(de->d_name);
		v[n++].made = sb.st_mtim;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), version_cmp);
	*out = v;
	return n;
}

int
store_cert_prune(struct store *st, const char *name, unsigned keep)
{
	struct version_age *v;
	char		 target[NAME_MAX + 1], *rel;
	size_t		 n, i, pruned = 0;
	int		 cfd;

	if (!valid_name(name))
		return -1;
	rel = xasprintf("certs/%s", name);
	cfd = fsutil_openat(st->dfd, rel, O_RDONLY | O_DIRECTORY, 0);
	free(rel);
	if (cfd == -1 || read_live(st, name, cfd, target, sizeof(target)) != 1) {
		if (cfd != -1)
			close(cfd);
		return -1;
	}
	n = versions_of(cfd, target, &v);
	/* the live one counts towards keep, and is never among v */
	for (i = 0; i < n; i++) {
		if (i + 1 >= keep && fsutil_remove_dir_at(cfd, v[i].name,
		    cert_files, sizeof(cert_files) / sizeof(cert_files[0])) == 0)
			pruned++;
		else if (i + 1 >= keep)
			log_msg(LOG_LVL_WARNING, name, "cannot prune old version "
			    "%s/certs/%s/%s: %s", st->dir, name, v[i].name,
			    errno == ENOTEMPTY ? "it holds files renewd did "
			    "not write" : strerror(errno));
		free(v[i].name);
	}
	free(v);
	if (pruned > 0) {
		fsync(cfd);
		log_msg(LOG_LVL_INFO, name, "pruned %zu old version(s), "
		    "keeping %u", pruned, keep);
	}
	close(cfd);
	return 0;
}

int
store_cert_relive(struct store *st, const char *name, const char *version)
{
	struct install	 in = { .name = name, .cfd = -1, .vfd = -1 };
	int		 rc = -1;

	if (!valid_name(name) || !valid_name(version) ||
	    strcmp(version, "live") == 0) {
		log_msg(LOG_LVL_ERR, name, "invalid version \"%s\"", version);
		return -1;
	}
	in.cdir = xasprintf("%s/certs/%s", st->dir, name);
	in.vname = xstrdup(version);
	if ((in.cfd = store_subdir(st, name, "certs", name)) != -1 &&
	    switch_live(&in) == 0) {
		if (fsync(in.cfd) == -1)
			log_msg(LOG_LVL_ERR, name, "cannot fsync %s: %s",
			    in.cdir, strerror(errno));
		else
			rc = 0;
	}
	if (in.cfd != -1)
		close(in.cfd);
	free(in.cdir);
	free(in.vname);
	return rc;
}

#define PENDING_KEY	"pending.key"

/*
 * Writes file (len bytes of data, 0600) into certificate name's directory,
 * atomically; with data NULL, removes it. Returns 0 or -1 (logged).
 */
static int
cert_file_put(struct store *st, const char *name, const char *file,
    const char *data, size_t len)
{
	int	dfd, rc;

	if (!valid_name(name) ||
	    (dfd = store_subdir(st, name, "certs", name)) == -1)
		return -1;
	rc = data != NULL ? fsutil_write_atomic_at(dfd, file, data, len, 0600,
	    (uid_t)-1, (gid_t)-1) : fsutil_unlinkat(dfd, file);
	if (rc == -1)
		log_msg(LOG_LVL_ERR, name, "cannot %s %s/certs/%s/%s: %s",
		    data != NULL ? "write" : "remove", st->dir, name, file,
		    strerror(errno));
	close(dfd);
	return rc == -1 ? -1 : 0;
}

int
store_pending_key_save(struct store *st, const char *name,
    const char *key_pem, size_t len)
{
	return cert_file_put(st, name, PENDING_KEY, key_pem, len);
}

char *
store_pending_key_load(struct store *st, const char *name)
{
	char	*rel, *pem;

	if (!valid_name(name)) {
		errno = EINVAL;
		return NULL;
	}
	rel = xasprintf("certs/%s/" PENDING_KEY, name);
	pem = read_state_file(st, rel);
	free(rel);
	return pem;
}

int
store_pending_key_remove(struct store *st, const char *name)
{
	return cert_file_put(st, name, PENDING_KEY, NULL, 0);
}

int
store_delivery_save(struct store *st, const char *name, const char *json)
{
	return cert_file_put(st, name, "delivery.json", json, strlen(json));
}

/* certs/<name>/delivery.json, malloc'd; NULL (errno set) if unreadable. */
static char *
delivery_load(const char *state_dir, const char *name)
{
	char	*rel, *s = NULL;
	int	 dfd, saved;

	if ((dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return NULL;
	rel = xasprintf("certs/%s/delivery.json", name);
	s = fsutil_read_file_at(dfd, rel, STORE_FILE_MAX, NULL);
	saved = errno;
	free(rel);
	close(dfd);
	errno = saved;
	return s;
}

int
store_delivery_state(const char *state_dir, const char *name,
    const char *serial, char *out, size_t outlen)
{
	json_t		*o = NULL;
	json_error_t	 jerr;
	const char	*s = NULL, *st = NULL;
	char		*text;
	int		 rc = -1, saved;

	if (!valid_name(name) || serial == NULL)
		return -1;
	text = delivery_load(state_dir, name);
	if (text != NULL && (o = json_loads(text, 0, &jerr)) != NULL &&
	    json_unpack(o, "{s:s, s:s}", "serial", &s, "state", &st) == 0 &&
	    strcmp(s, serial) == 0) {
		snprintf(out, outlen, "%s", st);
		rc = 0;
	}
	saved = errno;		/* why it could not be read, for the caller */
	json_decref(o);
	free(text);
	errno = saved;
	return rc;
}

/*
 * certs/<name>/schedule.json, version 1 (renewd(8) documents it):
 *   {"version": 1, "failures": N, "retry_at": T,
 *    "hold": {"until": T, "reason": S},
 *    "last_error": {"at": T, "ca": S, "url": S, "type": S, "detail": S},
 *    "ari": {"start": T, "end": T, "moment": T, "next_fetch": T, "cert": S},
 *    "order": {"ca": S, "url": S}, "notified": {"expiring": T}}
 * T are seconds since the epoch; members that are zero or NULL are left
 * out, and a reader takes a missing member as zero. Unknown members are
 * ignored, so a later version may add some without a new number.
 */
#define SCHED_FORMAT	1

static void
put_time(json_t *o, const char *k, time_t t)
{
	if (t != 0)
		json_object_set_new(o, k, json_integer((json_int_t)t));
}

static void
put_str(json_t *o, const char *k, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, k, json_string(v));
}

/* Adds sub to o as k unless it is empty; takes sub over. */
static void
put_obj(json_t *o, const char *k, json_t *sub)
{
	if (json_object_size(sub) > 0)
		json_object_set(o, k, sub);
	json_decref(sub);
}

int
store_sched_save(struct store *st, const char *name,
    const struct sched_state *s)
{
	char	*text = store_sched_text(s);
	int	 rc;

	rc = store_sched_put(st, name, text);
	free(text);
	return rc;
}

int
store_sched_put(struct store *st, const char *name, const char *text)
{
	return cert_file_put(st, name, "schedule.json", text, strlen(text));
}

char *
store_sched_text(const struct sched_state *s)
{
	json_t	*o, *sub;
	char	*text;

	/* jansson allocates through xmalloc's hooks: no NULL to check */
	o = json_pack("{s:i}", "version", SCHED_FORMAT);
	if (s->failures != 0)
		json_object_set_new(o, "failures", json_integer(s->failures));
	put_time(o, "retry_at", s->retry_at);
	sub = json_object();
	put_time(sub, "until", s->hold_until);
	put_str(sub, "reason", s->hold_reason);
	put_obj(o, "hold", sub);
	sub = json_object();
	put_time(sub, "at", s->err_at);
	put_str(sub, "ca", s->err_ca);
	put_str(sub, "url", s->err_url);
	put_str(sub, "type", s->err_type);
	put_str(sub, "detail", s->err_detail);
	put_obj(o, "last_error", sub);
	sub = json_object();
	put_time(sub, "start", s->ari_start);
	put_time(sub, "end", s->ari_end);
	put_time(sub, "moment", s->ari_moment);
	put_time(sub, "next_fetch", s->ari_next_fetch);
	put_str(sub, "cert", s->ari_cert);
	put_obj(o, "ari", sub);
	sub = json_object();
	put_str(sub, "ca", s->order_ca);
	put_str(sub, "url", s->order_url);
	put_obj(o, "order", sub);
	sub = json_object();
	put_time(sub, "expiring", s->notified_expiring);
	put_obj(o, "notified", sub);
	text = json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(1));
	json_decref(o);
	return text;
}

/* Reads member k of o as a time: absent is 0; else a non-negative integer. */
static int
get_time(json_t *o, const char *k, time_t *t, const char **bad)
{
	json_t *v = json_object_get(o, k);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		*bad = k;
		return -1;
	}
	*t = (time_t)json_integer_value(v);
	return 0;
}

/* Reads member k of o as a string: absent is NULL. */
static int
get_str(json_t *o, const char *k, char **out, const char **bad)
{
	json_t *v = json_object_get(o, k);

	if (v == NULL)
		return 0;
	if (!json_is_string(v)) {
		*bad = k;
		return -1;
	}
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* Returns member k of o if it is an object (or absent: an empty one). */
static json_t *
get_obj(json_t *o, const char *k, json_t *empty, const char **bad)
{
	json_t *v = json_object_get(o, k);

	if (v == NULL)
		return empty;
	if (!json_is_object(v)) {
		*bad = k;
		return NULL;
	}
	return v;
}

/* Fills out, a struct sched_state, from schedule.json's object o. */
static int
sched_parse(json_t *o, void *out, const char **bad)
{
	struct sched_state *s = out;
	json_t	*empty, *hold, *err, *ari, *order, *notified, *v;
	time_t	 failures = 0;
	int	 rc = -1;

	empty = json_object();
	if ((v = json_object_get(o, "version")) == NULL ||
	    !json_is_integer(v) || json_integer_value(v) != SCHED_FORMAT) {
		*bad = "version";
		goto out;
	}
	if ((hold = get_obj(o, "hold", empty, bad)) == NULL ||
	    (err = get_obj(o, "last_error", empty, bad)) == NULL ||
	    (ari = get_obj(o, "ari", empty, bad)) == NULL ||
	    (order = get_obj(o, "order", empty, bad)) == NULL ||
	    (notified = get_obj(o, "notified", empty, bad)) == NULL)
		goto out;
	if (get_time(o, "failures", &failures, bad) == -1 ||
	    get_time(o, "retry_at", &s->retry_at, bad) == -1 ||
	    get_time(hold, "until", &s->hold_until, bad) == -1 ||
	    get_str(hold, "reason", &s->hold_reason, bad) == -1 ||
	    get_time(err, "at", &s->err_at, bad) == -1 ||
	    get_str(err, "ca", &s->err_ca, bad) == -1 ||
	    get_str(err, "url", &s->err_url, bad) == -1 ||
	    get_str(err, "type", &s->err_type, bad) == -1 ||
	    get_str(err, "detail", &s->err_detail, bad) == -1 ||
	    get_time(ari, "start", &s->ari_start, bad) == -1 ||
	    get_time(ari, "end", &s->ari_end, bad) == -1 ||
	    get_time(ari, "moment", &s->ari_moment, bad) == -1 ||
	    get_time(ari, "next_fetch", &s->ari_next_fetch, bad) == -1 ||
	    get_str(ari, "cert", &s->ari_cert, bad) == -1 ||
	    get_str(order, "ca", &s->order_ca, bad) == -1 ||
	    get_str(order, "url", &s->order_url, bad) == -1 ||
	    get_time(notified, "expiring", &s->notified_expiring, bad) == -1)
		goto out;
	if (failures > 1000000) {
		*bad = "failures";
		goto out;
	}
	s->failures = (unsigned)failures;
	rc = 0;
out:
	json_decref(empty);
	return rc;
}

/* Fills out from a state file's object o; -1 with the bad member in *bad. */
typedef int (*state_parse)(json_t *o, void *out, const char **bad);

/*
 * Reads state file rel beneath state_dir (no lock needed) and fills out
 * from its object with parse. Returns 1, 0 if there is none, -1 with why
 * in err (naming the file) if it cannot be read, is no JSON object, or
 * parse refuses it.
 */
static int
load_state_json(const char *state_dir, const char *rel, state_parse parse,
    void *out, char *err, size_t errlen)
{
	json_t		*o = NULL;
	json_error_t	 jerr;
	const char	*bad = NULL;
	char		*text = NULL;
	int		 dfd, rc = -1;

	if ((dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", state_dir, strerror(errno));
		return -1;
	}
	text = fsutil_read_file_at(dfd, rel, STORE_FILE_MAX, NULL);
	if (text == NULL && errno == ENOENT)
		rc = 0;
	else if (text == NULL)
		snprintf(err, errlen, "%s/%s: %s", state_dir, rel,
		    strerror(errno));
	else if ((o = json_loads(text, 0, &jerr)) == NULL)
		snprintf(err, errlen, "%s/%s:%d:%d: %s", state_dir, rel,
		    jerr.line, jerr.column, jerr.text);
	else if (!json_is_object(o) || parse(o, out, &bad) == -1)
		snprintf(err, errlen, "%s/%s: %s%s", state_dir, rel,
		    bad != NULL ? "a bad member: " : "not a JSON object",
		    bad != NULL ? bad : "");
	else
		rc = 1;
	json_decref(o);
	free(text);
	close(dfd);
	return rc;
}

int
store_sched_load(const char *state_dir, const char *name,
    struct sched_state *s, char *err, size_t errlen)
{
	char	*rel;
	int	 rc;

	sched_state_clear(s);
	if (!valid_name(name))
		return 0;
	rel = xasprintf("certs/%s/schedule.json", name);
	if ((rc = load_state_json(state_dir, rel, sched_parse, s, err,
	    errlen)) == -1)
		sched_state_clear(s);
	free(rel);
	return rc;
}

/*
 * accounts/<ca>/holds.json, version 1 (renewd(8) documents it):
 *   {"version": 1, "new_orders_until": T, "endpoints": {"URL": T, ...}}
 * T are seconds since the epoch; holds already over are left out when
 * written and ignored when read; unknown members are ignored.
 */
#define HOLDS_FORMAT	1

int
store_holds_save(struct store *st, const char *ca, const struct sched_holds *h)
{
	json_t	*o, *urls;
	time_t	 now = time(NULL);
	char	*text;
	size_t	 i;
	int	 dfd, rc = -1;

	if (!ca_name_ok(ca))
		return -1;
	o = json_pack("{s:i}", "version", HOLDS_FORMAT);
	if (h->orders_until > now)
		put_time(o, "new_orders_until", h->orders_until);
	urls = json_object();
	for (i = 0; i < h->nurls; i++)
		if (h->urls[i].until > now)
			put_time(urls, h->urls[i].url, h->urls[i].until);
	put_obj(o, "endpoints", urls);
	text = json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(1));
	json_decref(o);
	if ((dfd = store_subdir(st, NULL, "accounts", ca)) != -1) {
		if (fsutil_write_atomic_at(dfd, "holds.json", text,
		    strlen(text), 0600, (uid_t)-1, (gid_t)-1) == -1)
			log_err("cannot write %s/accounts/%s/holds.json: %s",
			    st->dir, ca, strerror(errno));
		else
			rc = 0;
		close(dfd);
	}
	free(text);
	return rc;
}

/* Fills out, a struct sched_holds, from holds.json's object o (holds still ahead). */
static int
holds_parse(json_t *o, void *out, const char **bad)
{
	struct sched_holds *h = out;
	json_t		*empty, *urls, *v;
	const char	*url;
	time_t		 until = 0, now = time(NULL);
	int		 rc = -1;

	empty = json_object();
	if ((v = json_object_get(o, "version")) == NULL ||
	    !json_is_integer(v) || json_integer_value(v) != HOLDS_FORMAT) {
		*bad = "version";
		goto out;
	}
	if (get_time(o, "new_orders_until", &until, bad) == -1 ||
	    (urls = get_obj(o, "endpoints", empty, bad)) == NULL)
		goto out;
	h->orders_until = until > now ? until : 0;
	json_object_foreach(urls, url, v) {
		if (get_time(urls, url, &until, bad) == -1)
			goto out;
		if (until <= now || h->nurls == SCHED_URL_HOLDS_MAX)
			continue;
		h->urls[h->nurls].url = xstrdup(url);
		h->urls[h->nurls++].until = until;
	}
	rc = 0;
out:
	json_decref(empty);
	return rc;
}

int
store_holds_load(const char *state_dir, const char *ca,
    struct sched_holds *h, char *err, size_t errlen)
{
	char	*rel;
	int	 rc;

	sched_holds_clear(h);
	if (!valid_name(ca))
		return 0;
	rel = xasprintf("accounts/%s/holds.json", ca);
	if ((rc = load_state_json(state_dir, rel, holds_parse, h, err,
	    errlen)) == -1)
		sched_holds_clear(h);
	free(rel);
	return rc;
}
