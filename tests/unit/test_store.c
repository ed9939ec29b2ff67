/* test_store.c - state directory: lock, atomic writes, accounts, versioned certs */
#include "config.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"
#include "log.h"
#include "sched.h"
#include "store.h"

struct fx {
	char	 tmp[PATH_MAX];		/* mkdtemp'd, removed afterwards */
	char	 state[PATH_MAX + 16];	/* tmp/var/state (not created yet) */
	struct store *st;
};

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fx	*fx = calloc(1, sizeof(*fx));
	const char	*t = getenv("TMPDIR");
	char		 err[512];

	assert_non_null(fx);
	snprintf(fx->tmp, sizeof(fx->tmp), "%s/renewd-store-XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	assert_non_null(mkdtemp(fx->tmp));
	snprintf(fx->state, sizeof(fx->state), "%s/var/state", fx->tmp);
	fx->st = store_open(fx->state, err, sizeof(err));
	if (fx->st == NULL)
		fail_msg("store_open: %s", err);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;

	store_close(fx->st);
	nftw(fx->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static char *
join(const char *a, const char *b)
{
	char	*p;

	assert_true(asprintf(&p, "%s/%s", a, b) != -1);
	return p;
}

/* Reads a file as store.c does (capped), following links. */
static char *
read_file(const char *path, size_t *len)
{
	return fsutil_read_file(path, STORE_FILE_MAX, 0, len);
}

static mode_t
mode_of(const char *path)
{
	struct stat	st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode;
}

/* Counts directory entries other than . and .. whose names start with c. */
static int
count_prefixed(const char *dir, char c)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	int		 n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (c == 0 || de->d_name[0] == c)
			n++;
	}
	closedir(d);
	return n;
}

static void
test_open_creates_private_nested_dir(void **state)
{
	struct fx	*fx = *state;
	char		*lock = join(fx->state, "renewd.lock");
	char		*buf;
	char		 pid[32];

	assert_true(S_ISDIR(mode_of(fx->state)));
	assert_int_equal(mode_of(fx->state) & 07777, 0700);
	assert_string_equal(store_path(fx->st), fx->state);
	assert_int_equal(mode_of(lock) & 07777, 0600);
	buf = read_file(lock, NULL);
	assert_non_null(buf);
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	assert_string_equal(buf, pid);
	free(buf);
	free(lock);
}

static void
test_second_open_fails_naming_lock_and_pid_until_closed(void **state)
{
	struct fx	*fx = *state;
	struct store	*st2;
	char		 err[512], want[PATH_MAX + 128];

	err[0] = '\0';
	st2 = store_open(fx->state, err, sizeof(err));
	assert_null(st2);
	snprintf(want, sizeof(want), "lock %s/renewd.lock is held by pid %ld",
	    fx->state, (long)getpid());
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	assert_non_null(strstr(err, fx->state));

	store_close(fx->st);
	fx->st = store_open(fx->state, err, sizeof(err));
	if (fx->st == NULL)
		fail_msg("store_open after close: %s", err);
}

static void
test_open_reports_uncreatable_dir(void **state)
{
	struct fx	*fx = *state;
	char		*file = join(fx->tmp, "plainfile"), *sub;
	char		 err[512];

	assert_int_equal(fsutil_write_atomic(file, "x", 1, 0600), 0);
	sub = join(file, "state");
	assert_null(store_open(sub, err, sizeof(err)));
	assert_non_null(strstr(err, sub));
	free(sub);
	free(file);
}

static void
test_write_atomic_sets_exact_mode_despite_umask_0(void **state)
{
	struct fx	*fx = *state;
	char		*key = join(fx->tmp, "key.pem");
	char		*pub = join(fx->tmp, "pub.pem");
	char		*buf;
	size_t		 len;
	mode_t		 old = umask(0);

	assert_int_equal(fsutil_write_atomic(key, "secret", 6, 0600), 0);
	assert_int_equal(fsutil_write_atomic(pub, "public", 6, 0644), 0);
	umask(old);
	assert_true(S_ISREG(mode_of(key)));
	assert_int_equal(mode_of(key) & 07777, 0600);
	assert_int_equal(mode_of(pub) & 07777, 0644);
	buf = read_file(key, &len);
	assert_non_null(buf);
	assert_int_equal(len, 6);
	assert_string_equal(buf, "secret");
	free(buf);
	free(key);
	free(pub);
}

static void
test_write_atomic_replaces_and_leaves_no_temp_files(void **state)
{
	struct fx	*fx = *state;
	char		*dir = join(fx->tmp, "w");
	char		*p, *buf;
	size_t		 len;
	static char	 big[300000];

	assert_int_equal(mkdir(dir, 0700), 0);
	p = join(dir, "f");
	assert_int_equal(fsutil_write_atomic(p, "old contents", 12, 0600), 0);
	memset(big, 'A', sizeof(big));
	assert_int_equal(fsutil_write_atomic(p, big, sizeof(big), 0600), 0);
	buf = read_file(p, &len);
	assert_non_null(buf);
	assert_int_equal(len, sizeof(big));
	assert_memory_equal(buf, big, sizeof(big));
	assert_int_equal(count_prefixed(dir, 0), 1);
	free(buf);
	free(p);
	free(dir);
}

static void
test_write_atomic_failure_removes_temp_file(void **state)
{
	struct fx	*fx = *state;
	char		*dir = join(fx->tmp, "w2");
	char		*target;

	assert_int_equal(mkdir(dir, 0700), 0);
	/* rename(2) of a file over a non-empty directory must fail */
	target = join(dir, "isdir");
	assert_int_equal(mkdir(target, 0700), 0);
	free(target);
	target = join(dir, "isdir/inner");
	assert_int_equal(fsutil_write_atomic(target, "x", 1, 0600), 0);
	free(target);
	target = join(dir, "isdir");
	assert_int_equal(fsutil_write_atomic(target, "data", 4, 0600), -1);
	assert_true(errno != 0);
	assert_int_equal(count_prefixed(dir, '.'), 0);
	assert_int_equal(count_prefixed(dir, 0), 1);
	free(target);
	free(dir);
}

static void
test_read_file_missing_sets_enoent(void **state)
{
	struct fx	*fx = *state;
	char		*p = join(fx->tmp, "nope");

	errno = 0;
	assert_null(read_file(p, NULL));
	assert_int_equal(errno, ENOENT);
	free(p);
}

static void
test_account_key_and_url_round_trip(void **state)
{
	struct fx	*fx = *state;
	const char	*pem = "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n";
	char		*key = (char *)1, *url = (char *)1, *p, *q;

	assert_int_equal(store_account_load(fx->st, "le", &key, &url), 0);
	assert_null(key);
	assert_null(url);

	assert_int_equal(store_account_save_key(fx->st, "le", pem,
	    strlen(pem)), 0);
	assert_int_equal(store_account_load(fx->st, "le", &key, &url), 1);
	assert_string_equal(key, pem);
	assert_null(url);
	free(key);

	assert_int_equal(store_account_save_url(fx->st, "le",
	    "https://ca.test/acct/1"), 0);
	assert_int_equal(store_account_save_url(fx->st, "le",
	    "https://ca.test/acct/2"), 0);
	assert_int_equal(store_account_load(fx->st, "le", &key, &url), 1);
	assert_string_equal(key, pem);
	assert_string_equal(url, "https://ca.test/acct/2");
	free(key);
	free(url);

	p = join(fx->state, "accounts/le");
	assert_int_equal(mode_of(p) & 07777, 0700);
	q = join(p, "account.key");
	assert_int_equal(mode_of(q) & 07777, 0600);
	free(q);
	q = join(p, "account.json");
	assert_int_equal(mode_of(q) & 07777, 0600);
	free(q);
	assert_int_equal(count_prefixed(p, '.'), 0);
	free(p);
}

static void
test_account_url_save_keeps_other_fields(void **state)
{
	struct fx	*fx = *state;
	const char	*js = "{\"directory\": \"https://ca.test/dir\"}";
	char		*p, *buf;

	assert_int_equal(store_account_save_key(fx->st, "ca2", "k", 1), 0);
	p = join(fx->state, "accounts/ca2/account.json");
	assert_int_equal(fsutil_write_atomic(p, js, strlen(js), 0600), 0);
	assert_int_equal(store_account_save_url(fx->st, "ca2", "https://u"), 0);
	buf = read_file(p, NULL);
	assert_non_null(buf);
	assert_non_null(strstr(buf, "https://ca.test/dir"));
	assert_non_null(strstr(buf, "https://u"));
	free(buf);
	free(p);
}

/*
 * A rollover's new key: saved 0600 beside the old, then renamed over it
 * (commit) or removed; account.json keeps status and contacts beside the URL.
 */
static void
test_account_next_key_and_info(void **state)
{
	struct fx	*fx = *state;
	char		*key, *url, *p, *q, *st, **got;
	char		*contact[] = { "mailto:a@example.com" };
	size_t		 n;

	assert_int_equal(store_account_save_key(fx->st, "le", "OLD\n", 4), 0);
	assert_int_equal(store_account_load_next(fx->st, "le", &key), 0);
	assert_null(key);
	assert_int_equal(store_account_save_next(fx->st, "le", "NEW\n", 4), 0);
	p = join(fx->state, "accounts/le/account.key.next");
	assert_int_equal(mode_of(p) & 07777, 0600);
	assert_int_equal(store_account_load_next(fx->st, "le", &key), 1);
	assert_string_equal(key, "NEW\n");
	free(key);
	/* removed: the old key stays */
	assert_int_equal(store_account_end_next(fx->st, "le", 0), 0);
	assert_null(read_file(p, NULL));
	assert_int_equal(store_account_load(fx->st, "le", &key, &url), 1);
	assert_string_equal(key, "OLD\n");
	free(key);
	/* committed: account.key is the new key, no .next is left */
	assert_int_equal(store_account_save_next(fx->st, "le", "NEW\n", 4), 0);
	assert_int_equal(store_account_end_next(fx->st, "le", 1), 0);
	assert_null(read_file(p, NULL));
	assert_int_equal(store_account_load(fx->st, "le", &key, &url), 1);
	assert_string_equal(key, "NEW\n");
	free(key);
	q = join(fx->state, "accounts/le/account.key");
	assert_int_equal(mode_of(q) & 07777, 0600);
	free(q);
	free(p);
	/* status and contacts, the URL kept */
	assert_int_equal(store_account_info(fx->st, "le", &st, &got, &n), 0);
	assert_null(st);
	assert_int_equal(n, 0);
	assert_int_equal(store_account_save_url(fx->st, "le", "https://u/1"), 0);
	assert_int_equal(store_account_save_info(fx->st, "le", "deactivated",
	    contact, 1, 1), 0);
	assert_int_equal(store_account_info(fx->st, "le", &st, &got, &n), 1);
	assert_string_equal(st, "deactivated");
	assert_int_equal(n, 1);
	assert_string_equal(got[0], "mailto:a@example.com");
	free(got[0]);
	free(got);
	free(st);
	assert_int_equal(store_account_load(fx->st, "le", &key, &url), 1);
	assert_string_equal(url, "https://u/1");
	free(key);
	free(url);
	p = join(fx->state, "accounts/le/account.json");
	key = read_file(p, NULL);
	assert_non_null(strstr(key, "mailto:a@example.com"));
	free(key);
	free(p);
	assert_int_equal(store_account_save_next(fx->st, "../x", "K", 1), -1);
	assert_int_equal(store_account_end_next(fx->st, "../x", 1), -1);
}

static void
test_bad_names_are_rejected(void **state)
{
	struct fx	*fx = *state;
	static const char *bad[] = { "", ".", "..", "a/b", "../x", "/abs", "a b" };
	char		*k, *u;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(store_account_save_key(fx->st, bad[i], "k", 1), -1);
		assert_int_equal(store_account_save_url(fx->st, bad[i], "u"), -1);
		assert_int_equal(store_account_load(fx->st, bad[i], &k, &u), -1);
		assert_int_equal(store_cert_install(fx->st, bad[i], "01", "k",
		    "c", "ch"), -1);
		assert_int_equal(store_cert_install(fx->st, "ok", bad[i], "k",
		    "c", "ch"), -1);
		assert_int_equal(store_cert_load(fx->st, bad[i], &k, &u), -1);
		assert_null(store_cert_live_path(store_path(fx->st), bad[i]));
	}
	/* nothing was created, inside the state directory or out */
	assert_int_equal(count_prefixed(fx->tmp, 0), 1);
	assert_int_equal(count_prefixed(fx->state, 0), 1);
	assert_int_equal(store_cert_install(fx->st, "ok", "live", "k", "c",
	    "ch"), -1);
}

/* Checks file under certs/<name>/<dir>/ has content and mode. */
static void
check_file(struct fx *fx, const char *name, const char *dir,
    const char *file, const char *want, mode_t mode)
{
	char	*p, *buf;

	assert_true(asprintf(&p, "%s/certs/%s/%s/%s", fx->state, name, dir,
	    file) != -1);
	buf = read_file(p, NULL);
	if (buf == NULL)
		fail_msg("%s: %s", p, strerror(errno));
	assert_string_equal(buf, want);
	assert_int_equal(mode_of(p) & 07777, mode);
	free(buf);
	free(p);
}

static void
test_cert_load_without_live_returns_0(void **state)
{
	struct fx	*fx = *state;
	char		*k = (char *)1, *fc = (char *)1;

	assert_int_equal(store_cert_load(fx->st, "www", &k, &fc), 0);
	assert_null(k);
	assert_null(fc);
}

static void
test_cert_install_then_load_round_trip(void **state)
{
	struct fx	*fx = *state;
	char		*k, *fc, *live, target[64];
	ssize_t		 n;

	assert_int_equal(store_cert_install(fx->st, "www", "0a1b", "KEY1\n",
	    "CERT1\n", "CHAIN1\n"), 0);
	assert_int_equal(store_cert_load(fx->st, "www", &k, &fc), 1);
	assert_string_equal(k, "KEY1\n");
	assert_string_equal(fc, "CERT1\nCHAIN1\n");
	free(k);
	free(fc);

	check_file(fx, "www", "0a1b", "privkey.pem", "KEY1\n", 0600);
	check_file(fx, "www", "0a1b", "cert.pem", "CERT1\n", 0644);
	check_file(fx, "www", "0a1b", "chain.pem", "CHAIN1\n", 0644);
	check_file(fx, "www", "0a1b", "fullchain.pem", "CERT1\nCHAIN1\n", 0644);
	check_file(fx, "www", "live", "privkey.pem", "KEY1\n", 0600);

	live = store_cert_live_path(store_path(fx->st), "www");
	assert_non_null(live);
	assert_true(S_ISLNK(mode_of(live)));
	n = readlink(live, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "0a1b");
	free(live);
	live = join(fx->state, "certs/www/0a1b");
	assert_int_equal(mode_of(live) & 07777, 0700);
	free(live);
	/* no temp files or .live.tmp left over */
	live = join(fx->state, "certs/www");
	assert_int_equal(count_prefixed(live, '.'), 0);
	free(live);
	live = join(fx->state, "certs/www/0a1b");
	assert_int_equal(count_prefixed(live, '.'), 0);
	assert_int_equal(count_prefixed(live, 0), 4);
	free(live);
}

static void
test_fullchain_gets_newline_between_cert_and_chain(void **state)
{
	struct fx	*fx = *state;

	assert_int_equal(store_cert_install(fx->st, "nl", "01", "K", "CERT",
	    "CHAIN"), 0);
	check_file(fx, "nl", "01", "fullchain.pem", "CERT\nCHAIN", 0644);
	assert_int_equal(store_cert_install(fx->st, "nochain", "01", "K",
	    "CERT\n", NULL), 0);
	check_file(fx, "nochain", "01", "fullchain.pem", "CERT\n", 0644);
}

static void
test_second_install_switches_live_and_keeps_old(void **state)
{
	struct fx	*fx = *state;
	char		*k, *fc, *live, target[64];
	ssize_t		 n;

	assert_int_equal(store_cert_install(fx->st, "www", "01", "KEY1\n",
	    "CERT1\n", "CHAIN\n"), 0);
	assert_int_equal(store_cert_install(fx->st, "www", "02", "KEY2\n",
	    "CERT2\n", "CHAIN\n"), 0);
	live = store_cert_live_path(store_path(fx->st), "www");
	assert_true(S_ISLNK(mode_of(live)));
	n = readlink(live, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "02");
	free(live);

	assert_int_equal(store_cert_load(fx->st, "www", &k, &fc), 1);
	assert_string_equal(k, "KEY2\n");
	assert_string_equal(fc, "CERT2\nCHAIN\n");
	free(k);
	free(fc);
	/* the old version stays intact for rollback and pruning */
	check_file(fx, "www", "01", "privkey.pem", "KEY1\n", 0600);
	check_file(fx, "www", "01", "fullchain.pem", "CERT1\nCHAIN\n", 0644);
}

static void
test_reinstall_same_version_uses_suffix_not_overwrite(void **state)
{
	struct fx	*fx = *state;
	char		*live, target[64];
	ssize_t		 n;

	assert_int_equal(store_cert_install(fx->st, "www", "ab", "KEY1\n",
	    "CERT1\n", ""), 0);
	assert_int_equal(store_cert_install(fx->st, "www", "ab", "KEY2\n",
	    "CERT2\n", ""), 0);
	assert_int_equal(store_cert_install(fx->st, "www", "ab", "KEY3\n",
	    "CERT3\n", ""), 0);
	check_file(fx, "www", "ab", "privkey.pem", "KEY1\n", 0600);
	check_file(fx, "www", "ab.1", "privkey.pem", "KEY2\n", 0600);
	check_file(fx, "www", "ab.2", "privkey.pem", "KEY3\n", 0600);
	live = store_cert_live_path(store_path(fx->st), "www");
	n = readlink(live, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "ab.2");
	free(live);
}

static void
test_install_over_leftovers_from_a_crash(void **state)
{
	struct fx	*fx = *state;
	char		*cdir, *p, *k, *fc;

	assert_int_equal(store_cert_install(fx->st, "www", "01", "KEY1\n",
	    "CERT1\n", ""), 0);
	cdir = join(fx->state, "certs/www");
	/* a crash between symlink() and rename() leaves .live.tmp behind */
	p = join(cdir, ".live.tmp");
	assert_int_equal(symlink("01", p), 0);
	free(p);
	/* and a crash mid-write leaves a temp file */
	p = join(cdir, "01/.privkey.pem.Xy12ab");
	assert_int_equal(fsutil_write_atomic(p, "junk", 4, 0600), 0);
	free(p);
	/* a half-created version directory that never went live */
	p = join(cdir, "02");
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);

	assert_int_equal(store_cert_install(fx->st, "www", "02", "KEY2\n",
	    "CERT2\n", ""), 0);
	assert_int_equal(store_cert_load(fx->st, "www", &k, &fc), 1);
	assert_string_equal(k, "KEY2\n");
	assert_string_equal(fc, "CERT2\n");
	free(k);
	free(fc);
	p = join(cdir, ".live.tmp");
	errno = 0;
	assert_int_equal(lstat(p, &(struct stat){0}), -1);
	assert_int_equal(errno, ENOENT);
	free(p);
	check_file(fx, "www", "02.1", "privkey.pem", "KEY2\n", 0600);
	free(cdir);
}

static void
test_failed_install_keeps_old_live(void **state)
{
	struct fx	*fx = *state;
	char		*cdir, *p, *k, *fc;

	assert_int_equal(store_cert_install(fx->st, "www", "01", "KEY1\n",
	    "CERT1\n", ""), 0);
	cdir = join(fx->state, "certs/www");
	/* a directory named .live.tmp cannot be unlinked: the switch fails */
	p = join(cdir, ".live.tmp");
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(store_cert_install(fx->st, "www", "02", "KEY2\n",
	    "CERT2\n", ""), -1);
	assert_int_equal(rmdir(p), 0);
	free(p);
	assert_int_equal(store_cert_load(fx->st, "www", &k, &fc), 1);
	assert_string_equal(k, "KEY1\n");
	free(k);
	free(fc);
	/* the version that never went live was cleaned up */
	p = join(cdir, "02");
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	free(cdir);
}

/* store_open on dir must fail with an error containing needle. */
static void
expect_open_refused(const char *dir, const char *needle)
{
	struct store	*st;
	char		 err[512];

	err[0] = '\0';
	if ((st = store_open(dir, err, sizeof(err))) != NULL) {
		store_close(st);
		fail_msg("store_open %s succeeded", dir);
	}
	if (strstr(err, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
}

static void
test_open_refuses_state_dir_writable_by_others(void **state)
{
	struct fx	*fx = *state;
	char		*d = join(fx->tmp, "shared");

	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(chmod(d, 01777), 0);
	expect_open_refused(d, "writable by others");
	assert_int_equal(chmod(d, 0770), 0);
	expect_open_refused(d, "writable by others");
	/* refused, not "fixed": the mode is left for the admin to decide */
	assert_int_equal(mode_of(d) & 07777, 0770);
	free(d);
}

static void
test_open_accepts_readable_state_dir_and_leaves_its_mode(void **state)
{
	struct fx	*fx = *state;
	struct store	*st;
	char		*d = join(fx->tmp, "readable"), err[512];

	assert_int_equal(mkdir(d, 0755), 0);
	assert_int_equal(chmod(d, 0755), 0);
	st = store_open(d, err, sizeof(err));
	if (st == NULL)
		fail_msg("store_open: %s", err);
	assert_int_equal(mode_of(d) & 07777, 0755);
	store_close(st);
	free(d);
}

static void
test_open_follows_a_symlinked_state_dir_of_ours(void **state)
{
	struct fx	*fx = *state;
	struct store	*st;
	char		*real = join(fx->tmp, "private-state");
	char		*link = join(fx->tmp, "state-link"), err[512];

	/* what systemd's DynamicUser=/StateDirectory= set up */
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, link), 0);
	st = store_open(link, err, sizeof(err));
	if (st == NULL)
		fail_msg("store_open: %s", err);
	assert_int_equal(store_account_save_key(st, "le", "K\n", 2), 0);
	store_close(st);
	free(real);
	free(link);
}

static void
test_open_refuses_state_dir_owned_by_another_user(void **state)
{
	struct fx	*fx = *state;
	char		*d = join(fx->tmp, "theirs");
	char		*link = join(fx->tmp, "planted");

	if (geteuid() != 0) {
		free(d);
		free(link);
		skip();
	}
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(chown(d, 65534, 65534), 0);
	expect_open_refused(d, "owned by uid 65534");
	/* nor through a symlink pointing there */
	assert_int_equal(symlink(d, link), 0);
	expect_open_refused(link, "owned by uid 65534");
	free(d);
	free(link);
}

static void
test_state_file_symlinks_are_not_followed(void **state)
{
	struct fx	*fx = *state;
	char		*outside = join(fx->tmp, "secret");
	char		*p, *key = NULL, *url = NULL, *k = NULL, *fc = NULL;

	assert_int_equal(fsutil_write_atomic(outside, "SECRET\n", 7, 0600), 0);
	assert_int_equal(store_account_save_key(fx->st, "le", "K\n", 2), 0);
	p = join(fx->state, "accounts/le/account.key");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink(outside, p), 0);
	free(p);
	assert_int_equal(store_account_load(fx->st, "le", &key, &url), -1);
	assert_null(key);

	assert_int_equal(store_cert_install(fx->st, "www", "01", "KEY1\n",
	    "CERT1\n", ""), 0);
	p = join(fx->state, "certs/www/01/privkey.pem");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink(outside, p), 0);
	free(p);
	assert_int_equal(store_cert_load(fx->st, "www", &k, &fc), -1);
	assert_null(k);
	assert_null(fc);
	free(outside);
}

static void
test_live_directory_from_another_tool_is_moved_aside(void **state)
{
	struct fx	*fx = *state;
	char		*cdir, *live, *p, *k, *fc, target[64];
	glob_t		 g;
	ssize_t		 n;

	p = join(fx->state, "certs");
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	cdir = join(fx->state, "certs/www");
	assert_int_equal(mkdir(cdir, 0700), 0);
	live = join(cdir, "live");
	assert_int_equal(mkdir(live, 0755), 0);
	p = join(live, "fullchain.pem");
	assert_int_equal(fsutil_write_atomic(p, "THEIRS\n", 7, 0644), 0);
	free(p);

	/* not ours: nothing live, and no error that would stop a renewal */
	assert_int_equal(store_cert_load(fx->st, "www", &k, &fc), 0);
	assert_int_equal(store_cert_install(fx->st, "www", "01", "KEY1\n",
	    "CERT1\n", ""), 0);
	n = readlink(live, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "01");
	assert_int_equal(store_cert_load(fx->st, "www", &k, &fc), 1);
	assert_string_equal(fc, "CERT1\n");
	free(k);
	free(fc);
	/* their files are kept, beside it */
	p = join(cdir, "live.moved-*/fullchain.pem");
	assert_int_equal(glob(p, 0, NULL, &g), 0);
	assert_int_equal(g.gl_pathc, 1);
	globfree(&g);
	free(p);
	free(live);
	free(cdir);
}

static void
test_live_regular_file_is_moved_aside_not_deleted(void **state)
{
	struct fx	*fx = *state;
	char		*cdir, *live, *p;
	glob_t		 g;

	assert_int_equal(store_cert_install(fx->st, "www", "01", "KEY1\n",
	    "CERT1\n", ""), 0);
	cdir = join(fx->state, "certs/www");
	live = join(cdir, "live");
	assert_int_equal(unlink(live), 0);
	assert_int_equal(fsutil_write_atomic(live, "NOTES\n", 6, 0600), 0);
	assert_int_equal(store_cert_install(fx->st, "www", "02", "KEY2\n",
	    "CERT2\n", ""), 0);
	assert_true(S_ISLNK(mode_of(live)));
	p = join(cdir, "live.moved-*");
	assert_int_equal(glob(p, 0, NULL, &g), 0);
	assert_int_equal(g.gl_pathc, 1);
	assert_true(S_ISREG(mode_of(g.gl_pathv[0])));
	globfree(&g);
	free(p);
	free(live);
	free(cdir);
}

static void
test_open_removes_leftover_temp_files_only(void **state)
{
	struct fx	*fx = *state;
	char		*tmp1, *tmp2, *keep1, *keep2, *keep3, *p, err[512];

	assert_int_equal(store_account_save_key(fx->st, "le", "K\n", 2), 0);
	assert_int_equal(store_cert_install(fx->st, "www", "01", "KEY1\n",
	    "CERT1\n", ""), 0);
	/* what a kill -9 inside store_write_atomic leaves */
	tmp1 = join(fx->state, "accounts/le/.renewd-tmp.account.key.Ab12Cd");
	tmp2 = join(fx->state, "accounts/le/.renewd-tmp.account.json.zzzzzz");
	/* and what is not ours to remove, even if it looks like a temp file */
	keep1 = join(fx->state, "accounts/le/.settings.backup");
	keep2 = join(fx->state, "accounts/le/notes.Ab12Cd");
	keep3 = join(fx->state, "accounts/le/.link.Ab12Cd");
	assert_int_equal(fsutil_write_atomic(tmp1, "KEY", 3, 0600), 0);
	assert_int_equal(fsutil_write_atomic(tmp2, "{}", 2, 0600), 0);
	assert_int_equal(fsutil_write_atomic(keep1, "x", 1, 0600), 0);
	assert_int_equal(fsutil_write_atomic(keep2, "x", 1, 0600), 0);
	assert_int_equal(symlink("account.key", keep3), 0);

	store_close(fx->st);
	fx->st = store_open(fx->state, err, sizeof(err));
	if (fx->st == NULL)
		fail_msg("store_open: %s", err);
	assert_int_equal(access(tmp1, F_OK), -1);
	assert_int_equal(access(tmp2, F_OK), -1);
	assert_int_equal(access(keep1, F_OK), 0);
	assert_int_equal(access(keep2, F_OK), 0);
	assert_true(S_ISLNK(mode_of(keep3)));
	p = join(fx->state, "accounts/le/account.key");
	assert_int_equal(access(p, F_OK), 0);
	free(p);
	free(tmp1);
	free(tmp2);
	free(keep1);
	free(keep2);
	free(keep3);
}

/*
 * Runs in a child with its own mount namespace: a full tmpfs gives real
 * ENOSPC. Returns 0 if every check held, else the number of the failed one.
 */
static int
enospc_child(const char *mnt)
{
	struct store	*st;
	char		 err[512], path[PATH_MAX + 64], *k = NULL, *fc = NULL;
	char		*key = NULL, *url = NULL, fill[4096];
	int		 fd;

	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=256k,mode=0700") == -1)
		return 77;
	snprintf(path, sizeof(path), "%s/state", mnt);
	if ((st = store_open(path, err, sizeof(err))) == NULL)
		return 1;
	if (store_account_save_key(st, "le", "OLDKEY\n", 7) == -1 ||
	    store_cert_install(st, "www", "01", "KEY1\n", "CERT1\n", "") == -1)
		return 2;
	/* fill the file system to the last byte */
	snprintf(path, sizeof(path), "%s/fill", mnt);
	if ((fd = open(path, O_WRONLY | O_CREAT, 0600)) == -1)
		return 3;
	memset(fill, 'f', sizeof(fill));
	while (write(fd, fill, sizeof(fill)) > 0)
		;
	while (write(fd, fill, 1) > 0)
		;
	close(fd);
	memset(fill, 'k', sizeof(fill) - 1);
	fill[sizeof(fill) - 1] = '\0';
	if (store_account_save_key(st, "le", fill, strlen(fill)) != -1)
		return 4;
	if (store_cert_install(st, "www", "02", fill, fill, fill) != -1)
		return 5;
	/* the old state is whole, and nothing half-written is left */
	if (store_account_load(st, "le", &key, &url) != 1 ||
	    strcmp(key, "OLDKEY\n") != 0)
		return 6;
	if (store_cert_load(st, "www", &k, &fc) != 1 ||
	    strcmp(k, "KEY1\n") != 0 || strcmp(fc, "CERT1\n") != 0)
		return 7;
	snprintf(path, sizeof(path), "%s/state/certs/www/02", mnt);
	if (access(path, F_OK) == 0)
		return 8;
	snprintf(path, sizeof(path), "%s/state/accounts/le", mnt);
	{
		DIR		*d = opendir(path);
		struct dirent	*de;
		int		 n = 0;

		while (d != NULL && (de = readdir(d)) != NULL)
			if (de->d_name[0] == '.' && strcmp(de->d_name, ".") &&
			    strcmp(de->d_name, ".."))
				n++;
		if (d != NULL)
			closedir(d);
		if (n != 0)
			return 9;
	}
	/* and once there is room again, it works */
	snprintf(path, sizeof(path), "%s/fill", mnt);
	unlink(path);
	if (store_cert_install(st, "www", "02", "KEY2\n", "CERT2\n", "") == -1)
		return 10;
	free(key);
	free(url);
	free(k);
	free(fc);
	store_close(st);
	return 0;
}

static void
test_full_disk_fails_cleanly_and_keeps_old_state(void **state)
{
	struct fx	*fx = *state;
	char		*mnt = join(fx->tmp, "mnt");
	pid_t		 pid;
	int		 status;

	assert_int_equal(mkdir(mnt, 0700), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) == -1)
			_exit(77);
		_exit(enospc_child(mnt));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	free(mnt);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();		/* no mount namespace here (not root) */
	if (WEXITSTATUS(status) != 0)
		fail_msg("full disk: check %d failed", WEXITSTATUS(status));
}

/*
 * Captures what the store logs at error level while fn runs: stderr goes
 * to a file in fx->tmp. Returns the malloc'd text.
 */
static int
capture_start(struct fx *fx)
{
	char	*p = join(fx->tmp, "stderr.log");
	int	 fd, saved;

	fflush(stderr);
	saved = dup(2);
	assert_true((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
	free(p);
	log_init(LOG_LVL_ERR);
	return saved;
}

static char *
capture_end(struct fx *fx, int saved)
{
	char	*p = join(fx->tmp, "stderr.log"), *text;

	log_init(0);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	assert_non_null(text = read_file(p, NULL));
	unlink(p);
	free(p);
	return text;
}

/* Fails unless text holds needle. */
static void
expect_in(const char *text, const char *needle)
{
	if (strstr(text, needle) == NULL)
		fail_msg("log \"%s\" lacks \"%s\"", text, needle);
}

/* Makes fx->tmp/<name>, writable by everyone as an attacker's would be. */
static char *
evil_dir(struct fx *fx, const char *name)
{
	char	*d = join(fx->tmp, name);

	assert_int_equal(mkdir(d, 0777), 0);
	assert_int_equal(chmod(d, 0777), 0);
	return d;
}

static void
test_symlinked_certs_dir_is_refused_and_not_written_through(void **state)
{
	struct fx	*fx = *state;
	char		*evil = evil_dir(fx, "evil"), *certs, *msg, *k, *fc, *tmpf;
	char		 err[512], want[PATH_MAX + 64];
	int		 saved, fd;

	certs = join(fx->state, "certs");
	assert_int_equal(symlink(evil, certs), 0);
	snprintf(want, sizeof(want), "%s is a symbolic link: refusing", certs);
	saved = capture_start(fx);
	assert_int_equal(store_cert_install(fx->st, "www", "01", "KEY\n",
	    "CERT\n", ""), -1);
	assert_int_equal(store_delivery_save(fx->st, "www", "{}"), -1);
	assert_int_equal(store_cert_load(fx->st, "www", &k, &fc), -1);
	msg = capture_end(fx, saved);
	expect_in(msg, want);
	assert_int_equal(count_prefixed(evil, 0), 0);
	free(msg);
	/* start-up cleanup does not reach through it either */
	tmpf = join(evil, "www");
	assert_int_equal(mkdir(tmpf, 0700), 0);
	free(tmpf);
	tmpf = join(evil, "www/.privkey.pem.AbC123");
	assert_true((fd = open(tmpf, O_WRONLY | O_CREAT, 0600)) != -1);
	close(fd);
	store_close(fx->st);
	fx->st = store_open(fx->state, err, sizeof(err));
	assert_non_null(fx->st);
	assert_int_equal(access(tmpf, F_OK), 0);
	free(tmpf);
	free(certs);
	free(evil);
}

static void
test_symlinked_cert_dir_is_refused_and_not_written_through(void **state)
{
	struct fx	*fx = *state;
	char		*evil = evil_dir(fx, "evil"), *cdir, *top, *msg, *k, *fc;
	char		 want[PATH_MAX + 64];
	int		 saved;

	top = join(fx->state, "certs");
	assert_int_equal(mkdir(top, 0700), 0);
	cdir = join(top, "www");
	assert_int_equal(symlink(evil, cdir), 0);
	snprintf(want, sizeof(want), "%s is a symbolic link: refusing", cdir);
	saved = capture_start(fx);
	assert_int_equal(store_cert_install(fx->st, "www", "01", "KEY\n",
	    "CERT\n", ""), -1);
	assert_int_equal(store_delivery_save(fx->st, "www", "{}"), -1);
	assert_int_equal(store_cert_load(fx->st, "www", &k, &fc), -1);
	msg = capture_end(fx, saved);
	expect_in(msg, want);
	assert_int_equal(count_prefixed(evil, 0), 0);
	{
		char	st[32];

		assert_int_equal(store_delivery_state(fx->state, "www", "01",
		    st, sizeof(st)), -1);
		assert_int_equal(errno, ELOOP);
	}
	free(msg);
	free(top);
	free(cdir);
	free(evil);
}

static void
test_symlinked_account_dir_is_refused_and_not_written_through(void **state)
{
	struct fx	*fx = *state;
	char		*evil = evil_dir(fx, "evil"), *adir, *top, *msg;
	char		*key = NULL, *url = NULL, want[PATH_MAX + 64];
	int		 saved;

	top = join(fx->state, "accounts");
	assert_int_equal(mkdir(top, 0700), 0);
	adir = join(top, "le");
	assert_int_equal(symlink(evil, adir), 0);
	snprintf(want, sizeof(want), "%s is a symbolic link: refusing", adir);
	saved = capture_start(fx);
	assert_int_equal(store_account_save_key(fx->st, "le", "K\n", 2), -1);
	assert_int_equal(store_account_save_url(fx->st, "le", "https://x/1"),
	    -1);
	msg = capture_end(fx, saved);
	expect_in(msg, want);
	assert_int_equal(count_prefixed(evil, 0), 0);
	free(msg);
	/* a key planted there is not read through the link either */
	free(adir);
	adir = join(evil, "account.key");
	assert_int_equal(fsutil_write_atomic(adir, "EVIL\n", 5, 0600), 0);
	saved = capture_start(fx);
	assert_int_equal(store_account_load(fx->st, "le", &key, &url), -1);
	msg = capture_end(fx, saved);
	expect_in(msg, want);
	assert_null(key);
	free(msg);
	free(top);
	free(adir);
	free(evil);
}

static void
test_symlinked_version_dir_is_not_read_through(void **state)
{
	struct fx	*fx = *state;
	char		*evil = evil_dir(fx, "evil"), *v, *p, *msg;
	char		*k = NULL, *fc = NULL, want[PATH_MAX + 64];
	int		 saved;

	assert_int_equal(store_cert_install(fx->st, "www", "01", "KEY1\n",
	    "CERT1\n", ""), 0);
	p = join(evil, "privkey.pem");
	assert_int_equal(fsutil_write_atomic(p, "EVILKEY\n", 8, 0600), 0);
	free(p);
	p = join(evil, "fullchain.pem");
	assert_int_equal(fsutil_write_atomic(p, "EVILCERT\n", 9, 0644), 0);
	free(p);
	/* live still names 01; 01 is now someone else's link */
	v = join(fx->state, "certs/www/01");
	p = join(fx->state, "certs/www/01.real");
	assert_int_equal(rename(v, p), 0);
	assert_int_equal(symlink(evil, v), 0);
	snprintf(want, sizeof(want), "%s is a symbolic link: refusing", v);
	saved = capture_start(fx);
	assert_int_equal(store_cert_load(fx->st, "www", &k, &fc), -1);
	msg = capture_end(fx, saved);
	expect_in(msg, want);
	assert_null(k);
	assert_null(fc);
	free(msg);
	/* a version named like the link itself is refused too */
	free(p);
	p = join(fx->state, "certs/www/live");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("live", p), 0);
	saved = capture_start(fx);
	assert_int_equal(store_cert_load(fx->st, "www", &k, &fc), -1);
	msg = capture_end(fx, saved);
	expect_in(msg, "not a version directory");
	free(msg);
	free(p);
	free(v);
	free(evil);
}

static void
test_open_refuses_world_writable_parent_unless_sticky_root(void **state)
{
	struct fx	*fx = *state;
	char		*pub = evil_dir(fx, "pub"), *sd, *real, *link;
	char		 want[PATH_MAX + 64];
	struct store	*st;
	char		 err[512];

	sd = join(pub, "state");
	snprintf(want, sizeof(want), "parent directory %s is writable by "
	    "everyone (mode 0777, not sticky)", pub);
	expect_open_refused(sd, want);
	/* refused before anything is made there */
	assert_int_equal(access(sd, F_OK), -1);
	/* a state directory that is a symlink in such a directory, too */
	real = join(fx->tmp, "real");
	link = join(pub, "link");
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, link), 0);
	expect_open_refused(link, want);
	if (geteuid() == 0) {
		/* sticky and root's, as /tmp is: accepted */
		assert_int_equal(chmod(pub, 01777), 0);
		st = store_open(sd, err, sizeof(err));
		if (st == NULL)
			fail_msg("store_open %s: %s", sd, err);
		store_close(st);
	} else {
		/* sticky, but owned by a user who could still rename it */
		assert_int_equal(chmod(pub, 01777), 0);
		expect_open_refused(sd, "sticky but not owned by root");
	}
	free(sd);
	free(real);
	free(link);
	free(pub);
}

static void
test_open_accepts_state_dir_under_tmp(void **state)
{
	struct stat	 sb;
	struct store	*st;
	char		 base[] = "/tmp/renewd-store-XXXXXX", sd[64], err[512];
	char		*k = NULL, *fc = NULL;

	(void)state;
	if (stat("/tmp", &sb) == -1 || sb.st_uid != 0 ||
	    (sb.st_mode & 01777) != 01777)
		skip();
	assert_non_null(mkdtemp(base));
	snprintf(sd, sizeof(sd), "%s/state", base);
	st = store_open(sd, err, sizeof(err));
	if (st == NULL)
		fail_msg("store_open %s: %s", sd, err);
	assert_int_equal(store_cert_install(st, "www", "01", "KEY\n", "CERT\n",
	    ""), 0);
	assert_int_equal(store_cert_load(st, "www", &k, &fc), 1);
	assert_string_equal(k, "KEY\n");
	store_close(st);
	/* an existing state directory opens again */
	assert_non_null(st = store_open(sd, err, sizeof(err)));
	store_close(st);
	free(k);
	free(fc);
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- certs/<name>/schedule.json ---- */

static void
test_sched_round_trip(void **state)
{
	struct fx		*fx = *state;
	struct sched_state	 s = { 0 }, back = { 0 };
	char			 err[256];

	assert_int_equal(store_sched_load(fx->state, "www", &back, err,
	    sizeof(err)), 0);
	s.failures = 3;
	s.retry_at = 1700000100;
	s.hold_until = 1700000200;
	s.hold_reason = strdup("rateLimited: too many certificates");
	sched_state_set_error(&s, 1700000050, "le", "https://ca/order/1",
	    "urn:ietf:params:acme:error:serverInternal", "it broke \"here\"");
	s.ari_start = 1700001000;
	s.ari_end = 1700002000;
	s.ari_moment = 1700001500;
	s.ari_next_fetch = 1700000300;
	s.order_ca = strdup("le");
	s.order_url = strdup("https://ca/order/1");
	s.notified_expiring = 1700604800;
	assert_int_equal(store_sched_save(fx->st, "www", &s), 0);
	assert_int_equal(store_sched_load(fx->state, "www", &back, err,
	    sizeof(err)), 1);
	assert_int_equal(back.failures, 3);
	assert_int_equal(back.retry_at, 1700000100);
	assert_int_equal(back.hold_until, 1700000200);
	assert_string_equal(back.hold_reason, s.hold_reason);
	assert_int_equal(back.err_at, 1700000050);
	assert_string_equal(back.err_ca, "le");
	assert_string_equal(back.err_url, "https://ca/order/1");
	assert_string_equal(back.err_type, s.err_type);
	assert_string_equal(back.err_detail, "it broke \"here\"");
	assert_int_equal(back.ari_start, 1700001000);
	assert_int_equal(back.ari_end, 1700002000);
	assert_int_equal(back.ari_moment, 1700001500);
	assert_int_equal(back.ari_next_fetch, 1700000300);
	assert_string_equal(back.order_ca, "le");
	assert_string_equal(back.order_url, "https://ca/order/1");
	assert_int_equal(back.notified_expiring, 1700604800);
	/* an empty state is saved as such and loads empty */
	sched_state_clear(&s);
	assert_int_equal(store_sched_save(fx->st, "www", &s), 0);
	assert_int_equal(store_sched_load(fx->state, "www", &back, err,
	    sizeof(err)), 1);
	assert_true(sched_state_empty(&back));
	sched_state_clear(&back);
}

/* Writes text as certs/www/schedule.json and loads it. */
static int
sched_load_text(struct fx *fx, const char *text, struct sched_state *s,
    char *err, size_t errlen)
{
	char	*dir = join(fx->state, "certs/www"), *path;

	assert_int_equal(fsutil_mkdir_p(dir, 0700), 0);
	path = join(dir, "schedule.json");
	assert_int_equal(fsutil_write_atomic(path, text, strlen(text), 0600), 0);
	free(path);
	free(dir);
	return store_sched_load(fx->state, "www", s, err, errlen);
}

static void
test_sched_damage_is_reported_and_loads_nothing(void **state)
{
	struct fx		*fx = *state;
	struct sched_state	 s = { 0 };
	char			 err[512];
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "{\"version\": 1, \"failures\": 2,", "schedule.json:1:" },
		{ "[1, 2]", "not a JSON object" },
		{ "{\"version\": 2}", "a bad member: version" },
		{ "{\"failures\": 2}", "a bad member: version" },
		{ "{\"version\": 1, \"retry_at\": -5}", "a bad member: retry_at" },
		{ "{\"version\": 1, \"retry_at\": \"soon\"}",
		    "a bad member: retry_at" },
		{ "{\"version\": 1, \"hold\": 7}", "a bad member: hold" },
		{ "{\"version\": 1, \"order\": {\"url\": 7}}",
		    "a bad member: url" },
		{ "{\"version\": 1, \"failures\": 99999999999}",
		    "a bad member: failures" },
	};
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(sched_load_text(fx, cases[i].text, &s, err,
		    sizeof(err)), -1);
		if (strstr(err, cases[i].want) == NULL ||
		    strstr(err, "certs/www/schedule.json") == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err,
			    cases[i].want);
		assert_true(sched_state_empty(&s));
	}
	/* unknown members are a later version's additions: ignored */
	assert_int_equal(sched_load_text(fx, "{\"version\": 1, \"failures\": 1, "
	    "\"later\": {\"x\": 1}}", &s, err, sizeof(err)), 1);
	assert_int_equal(s.failures, 1);
	sched_state_clear(&s);
}

/* ---- pruning old versions ---- */

static void
test_prune_keeps_live_and_newest_and_foreign_files(void **state)
{
	struct fx	*fx = *state;
	char		*cdir = join(fx->state, "certs/www"), *p;
	struct timespec	 ts[2] = { { 0, 0 }, { 0, 0 } };
	char		 v[8];
	int		 i, cfd;

	for (i = 1; i <= 5; i++) {
		snprintf(v, sizeof(v), "0%d", i);
		assert_int_equal(store_cert_install(fx->st, "www", v, "KEY\n",
		    "CERT\n", ""), 0);
	}
	/* live goes back to 02 (a repair); 04 holds a file of someone else */
	assert_int_equal(store_cert_relive(fx->st, "www", "02"), 0);
	p = join(cdir, "04/notes.txt");
	assert_int_equal(fsutil_write_atomic(p, "x", 1, 0600), 0);
	free(p);
	/* made one second apart: 01 oldest, 05 newest */
	cfd = open(cdir, O_RDONLY | O_DIRECTORY);
	for (i = 1; i <= 5; i++) {
		snprintf(v, sizeof(v), "0%d", i);
		ts[0].tv_sec = ts[1].tv_sec = 1700000000 + i;
		assert_int_equal(utimensat(cfd, v, ts, 0), 0);
	}
	close(cfd);
	p = join(cdir, "live.moved-1");
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	assert_int_equal(store_cert_prune(fx->st, "www", 2), 0);
	/* kept: live 02, and 05 (the newest other); 04 could not go */
	p = join(cdir, "02");
	assert_int_equal(access(p, F_OK), 0);
	free(p);
	p = join(cdir, "05");
	assert_int_equal(access(p, F_OK), 0);
	free(p);
	p = join(cdir, "04/notes.txt");
	assert_int_equal(access(p, F_OK), 0);
	free(p);
	p = join(cdir, "03");
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	p = join(cdir, "01");
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	p = join(cdir, "live.moved-1");
	assert_int_equal(access(p, F_OK), 0);
	free(p);
	/* keep 1: the live one alone (and 04, which is not ours to empty) */
	assert_int_equal(store_cert_prune(fx->st, "www", 1), 0);
	p = join(cdir, "05");
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	p = join(cdir, "02/cert.pem");
	assert_int_equal(access(p, F_OK), 0);
	free(p);
	/* no live version: nothing to keep, nothing removed */
	assert_int_equal(store_cert_prune(fx->st, "nosuch", 1), -1);
	free(cdir);
}

static void
test_holds_round_trip_keeps_only_future_holds(void **state)
{
	struct fx		*fx = *state;
	struct sched_holds	 h = { 0 }, back = { 0 };
	time_t			 now = time(NULL);
	char			 err[256], *path, *text;

	assert_int_equal(store_holds_load(fx->state, "le", &back, err,
	    sizeof(err)), 0);
	h.orders_until = now + 600;
	h.urls[0].url = strdup("https://ca/new-order");
	h.urls[0].until = now + 300;
	h.urls[1].url = strdup("https://ca/over");
	h.urls[1].until = now - 1;
	h.nurls = 2;
	assert_int_equal(store_holds_save(fx->st, "le", &h), 0);
	path = join(fx->state, "accounts/le/holds.json");
	assert_non_null(text = read_file(path, NULL));
	assert_null(strstr(text, "/over"));	/* over: not written */
	free(text);
	assert_int_equal(store_holds_load(fx->state, "le", &back, err,
	    sizeof(err)), 1);
	assert_int_equal(back.orders_until, now + 600);
	assert_int_equal(back.nurls, 1);
	assert_string_equal(back.urls[0].url, "https://ca/new-order");
	assert_int_equal(back.urls[0].until, now + 300);
	/* holds over by the time they are read are not loaded */
	text = NULL;
	assert_true(asprintf(&text, "{\"version\": 1, \"new_orders_until\": "
	    "%lld, \"endpoints\": {\"https://ca/x\": %lld}}",
	    (long long)now - 5, (long long)now - 5) != -1);
	assert_int_equal(fsutil_write_atomic(path, text, strlen(text), 0600), 0);
	assert_int_equal(store_holds_load(fx->state, "le", &back, err,
	    sizeof(err)), 1);
	assert_int_equal(back.orders_until, 0);
	assert_int_equal(back.nurls, 0);
	free(text);
	free(path);
	sched_holds_clear(&h);
	sched_holds_clear(&back);
}

static void
test_holds_damage_is_reported_and_loads_nothing(void **state)
{
	struct fx		*fx = *state;
	struct sched_holds	 h = { 0 };
	char			 err[512], *dir, *path;
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "{\"version\": 1,", "holds.json:1:" },
		{ "[1]", "not a JSON object" },
		{ "{\"version\": 2}", "a bad member: version" },
		{ "{\"version\": 1, \"new_orders_until\": \"soon\"}",
		    "a bad member: new_orders_until" },
		{ "{\"version\": 1, \"endpoints\": []}",
		    "a bad member: endpoints" },
		{ "{\"version\": 1, \"endpoints\": {\"https://ca/x\": -1}}",
		    "a bad member: https://ca/x" },
	};
	size_t			 i;

	dir = join(fx->state, "accounts/le");
	assert_int_equal(fsutil_mkdir_p(dir, 0700), 0);
	path = join(dir, "holds.json");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(fsutil_write_atomic(path, cases[i].text,
		    strlen(cases[i].text), 0600), 0);
		err[0] = '\0';
		h.orders_until = 1;	/* cleared by the load */
		assert_int_equal(store_holds_load(fx->state, "le", &h, err,
		    sizeof(err)), -1);
		if (strstr(err, cases[i].want) == NULL ||
		    strstr(err, "accounts/le/holds.json") == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err,
			    cases[i].want);
		assert_int_equal(h.orders_until, 0);
		assert_int_equal(h.nurls, 0);
	}
	free(path);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_private_nested_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_open_fails_naming_lock_and_pid_until_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_reports_uncreatable_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic_sets_exact_mode_despite_umask_0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic_replaces_and_leaves_no_temp_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic_failure_removes_temp_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_file_missing_sets_enoent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_account_key_and_url_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_account_url_save_keeps_other_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_account_next_key_and_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names_are_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cert_load_without_live_returns_0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cert_install_then_load_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fullchain_gets_newline_between_cert_and_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_install_switches_live_and_keeps_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reinstall_same_version_uses_suffix_not_overwrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_over_leftovers_from_a_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_install_keeps_old_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_state_dir_writable_by_others, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_accepts_readable_state_dir_and_leaves_its_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_follows_a_symlinked_state_dir_of_ours, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_state_dir_owned_by_another_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_file_symlinks_are_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_directory_from_another_tool_is_moved_aside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_regular_file_is_moved_aside_not_deleted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_removes_leftover_temp_files_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_disk_fails_cleanly_and_keeps_old_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinked_certs_dir_is_refused_and_not_written_through, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_keeps_live_and_newest_and_foreign_files,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_sched_round_trip,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_sched_damage_is_reported_and_loads_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_holds_round_trip_keeps_only_future_holds,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_holds_damage_is_reported_and_loads_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinked_cert_dir_is_refused_and_not_written_through, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinked_account_dir_is_refused_and_not_written_through, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinked_version_dir_is_not_read_through, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_world_writable_parent_unless_sticky_root, setup, teardown),
		cmocka_unit_test(test_open_accepts_state_dir_under_tmp),
	};

	/* the rejection tests log errors on purpose; keep the TAP output clean */
	log_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
