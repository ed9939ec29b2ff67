/* test_fsutil.c - atomic writes, modes past the umask, capped reads, symlink swaps, the lock */
#include "config.h"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"
#include "log.h"

#define BIG	(256 * 1024)

struct fx {
	char	tmp[PATH_MAX];
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

	assert_non_null(fx);
	snprintf(fx->tmp, sizeof(fx->tmp), "%s/renewd-fsutil-XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	assert_non_null(mkdtemp(fx->tmp));
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;

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

static mode_t
mode_of(const char *path)
{
	struct stat	st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode;
}

/* Counts the entries of dir other than . and .. */
static int
count_entries(const char *dir)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	int		 n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Returns 1 if buf is len bytes of c. */
static int
all_of(const char *buf, size_t len, char c)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (buf[i] != c)
			return 0;
	return 1;
}

static void
test_write_atomic_modes_are_exact_past_any_umask(void **state)
{
	struct fx	*fx = *state;
	char		*a = join(fx->tmp, "a"), *b = join(fx->tmp, "b");
	mode_t		 old = umask(0777);

	assert_int_equal(fsutil_write_atomic(a, "x", 1, 0644), 0);
	umask(0);
	assert_int_equal(fsutil_write_atomic(b, "y", 1, 0600), 0);
	umask(old);
	assert_int_equal(mode_of(a) & 07777, 0644);
	assert_int_equal(mode_of(b) & 07777, 0600);
	/* a rewrite takes the new mode too */
	assert_int_equal(fsutil_write_atomic(a, "z", 1, 0640), 0);
	assert_int_equal(mode_of(a) & 07777, 0640);
	/* rename(2) over a directory fails: reported, and nothing is left */
	assert_int_equal(fsutil_write_atomic(fx->tmp, "x", 1, 0600), -1);
	assert_true(S_ISDIR(mode_of(fx->tmp)));
	assert_int_equal(count_entries(fx->tmp), 2);
	errno = 0;
	assert_int_equal(fsutil_write_atomic("dir/", "x", 1, 0600), -1);
	assert_int_equal(errno, EINVAL);
	free(a);
	free(b);
}

/*
 * A writer killed at a random instant leaves the old contents or the new,
 * whole, never a mix; what it leaves beside them is a temp file that
 * fsutil_sweep_temp recognises.
 */
/* ---- the fsync seam: which descriptors are synced, and when ----------- */

#define SYNCS_MAX	16

/* One fsync(2) as the seam saw it: what fd was, and what the watched path held. */
struct sync_call {
	dev_t	dev;
	ino_t	ino;
	int	is_dir;
	char	seen[16];	/* the watched path's content at that moment */
};

static struct sync_call	syncs[SYNCS_MAX];
static size_t		nsyncs;
static const char	*sync_watch;	/* a path to read at each call, or NULL */

static int
record_fsync(int fd)
{
	struct sync_call *c;
	struct stat	 st;
	FILE		*f;
	size_t		 n;

	assert_true(nsyncs < SYNCS_MAX);
	c = &syncs[nsyncs++];
	memset(c, 0, sizeof(*c));
	assert_int_equal(fstat(fd, &st), 0);
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->is_dir = S_ISDIR(st.st_mode);
	if (sync_watch != NULL && (f = fopen(sync_watch, "r")) != NULL) {
		n = fread(c->seen, 1, sizeof(c->seen) - 1, f);
		c->seen[n] = '\0';
		fclose(f);
	}
	return fsync(fd);
}

/* Is call i an fsync of the directory at path? */
static int
synced_dir(size_t i, const char *path)
{
	struct stat	st;

	assert_int_equal(stat(path, &st), 0);
	return syncs[i].is_dir && syncs[i].dev == st.st_dev &&
	    syncs[i].ino == st.st_ino;
}

/*
 * Crash safety as fsutil.h promises it, seen through the seam (a power cut
 * cannot be made here): the temp file's data is synced while the name
 * still shows the old file, and the directory is synced after the rename,
 * last, so the new name is on disk when the call returns.
 */
static void
test_write_atomic_syncs_data_before_rename_and_dir_after(void **state)
{
	struct fx	*fx = *state;
	char		*path = join(fx->tmp, "f");
	struct stat	 st;

	assert_int_equal(fsutil_write_atomic(path, "old", 3, 0644), 0);
	nsyncs = 0;
	sync_watch = path;
	fsutil_set_fsync(record_fsync);
	assert_int_equal(fsutil_write_atomic(path, "new", 3, 0644), 0);
	fsutil_set_fsync(NULL);
	sync_watch = NULL;
	assert_int_equal(nsyncs, 2);
	assert_false(syncs[0].is_dir);
	assert_string_equal(syncs[0].seen, "old");
	assert_int_equal(stat(path, &st), 0);
	assert_true(syncs[0].ino == st.st_ino);	/* the temp file that became path */
	assert_true(synced_dir(1, fx->tmp));
	assert_string_equal(syncs[1].seen, "new");

	/* the owned and dirfd variants are the same code path: once more through _at */
	nsyncs = 0;
	fsutil_set_fsync(record_fsync);
	assert_int_equal(fsutil_write_atomic_owned(path, "v3", 2, 0600,
	    (uid_t)-1, (gid_t)-1), 0);
	fsutil_set_fsync(NULL);
	assert_int_equal(nsyncs, 2);
	assert_true(synced_dir(1, fx->tmp));

	/* fsutil_fsync_dir syncs that directory, once */
	nsyncs = 0;
	fsutil_set_fsync(record_fsync);
	assert_int_equal(fsutil_fsync_dir(fx->tmp), 0);
	fsutil_set_fsync(NULL);
	assert_int_equal(nsyncs, 1);
	assert_true(synced_dir(0, fx->tmp));
	free(path);
}

/* A new file's data is synced before fsutil_write_new returns. */
static void
test_write_new_syncs_its_data(void **state)
{
	struct fx	*fx = *state;
	char		*path = join(fx->tmp, "n");
	struct stat	 st;

	nsyncs = 0;
	fsutil_set_fsync(record_fsync);
	assert_int_equal(fsutil_write_new(path, "data", 4, 0600), 0);
	fsutil_set_fsync(NULL);
	assert_int_equal(nsyncs, 1);
	assert_int_equal(stat(path, &st), 0);
	assert_false(syncs[0].is_dir);
	assert_true(syncs[0].ino == st.st_ino);
	free(path);
}

static void
test_write_atomic_killed_leaves_old_or_new_and_sweepable_temp(void **state)
{
	struct fx	*fx = *state;
	char		*dir = join(fx->tmp, "crash"), *p, *buf, *data;
	size_t		 len;
	pid_t		 pid;
	int		 round, status;

	assert_int_equal(mkdir(dir, 0700), 0);
	p = join(dir, "f");
	data = malloc(BIG);
	assert_non_null(data);
	memset(data, 'a', BIG);
	assert_int_equal(fsutil_write_atomic(p, data, BIG, 0600), 0);
	for (round = 0; round < 20; round++) {
		if ((pid = fork()) == 0) {
			for (;;) {
				memset(data, 'b', BIG);
				fsutil_write_atomic(p, data, BIG, 0600);
				memset(data, 'a', BIG);
				fsutil_write_atomic(p, data, BIG, 0600);
			}
		}
		assert_true(pid > 0);
		usleep((useconds_t)(1000 + 997 * round));
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		buf = fsutil_read_file(p, BIG, 0, &len);
		assert_non_null(buf);
		assert_int_equal(len, BIG);
		assert_true(all_of(buf, len, 'a') || all_of(buf, len, 'b'));
		free(buf);
		fsutil_sweep_temp(dir);
		assert_int_equal(count_entries(dir), 1);
	}
	free(data);
	free(p);
	free(dir);
}

static void
test_write_new_refuses_existing_and_sets_mode(void **state)
{
	struct fx	*fx = *state;
	char		*p = join(fx->tmp, "new"), *buf;
	mode_t		 old = umask(0777);

	assert_int_equal(fsutil_write_new(p, "first", 5, 0644), 0);
	umask(old);
	assert_int_equal(mode_of(p) & 07777, 0644);
	errno = 0;
	assert_int_equal(fsutil_write_new(p, "second", 6, 0600), -1);
	assert_int_equal(errno, EEXIST);
	buf = fsutil_read_file(p, 100, 0, NULL);
	assert_non_null(buf);
	assert_string_equal(buf, "first");
	assert_int_equal(mode_of(p) & 07777, 0644);
	free(buf);
	free(p);
	/* a failed write leaves nothing behind */
	p = join(fx->tmp, "nodir/new");
	assert_int_equal(fsutil_write_new(p, "x", 1, 0600), -1);
	assert_int_equal(count_entries(fx->tmp), 1);
	free(p);
}

static void
test_mkdir_modes_past_umask_and_existing_dirs(void **state)
{
	struct fx	*fx = *state;
	char		*a = join(fx->tmp, "a"), *deep = join(fx->tmp, "p/q/r");
	char		*file = join(fx->tmp, "file"), *mid = join(fx->tmp, "p/q");
	mode_t		 old = umask(0777);

	assert_int_equal(fsutil_mkdir(a, 0755), 0);
	assert_int_equal(fsutil_mkdir_p(deep, 0750), 0);
	umask(old);
	assert_true(S_ISDIR(mode_of(a)));
	assert_int_equal(mode_of(a) & 07777, 0755);
	assert_int_equal(mode_of(mid) & 07777, 0750);
	assert_int_equal(mode_of(deep) & 07777, 0750);
	/* an existing directory is accepted as it is */
	assert_int_equal(chmod(a, 0700), 0);
	assert_int_equal(fsutil_mkdir(a, 0755), 0);
	assert_int_equal(mode_of(a) & 07777, 0700);
	assert_int_equal(fsutil_mkdir_p(deep, 0700), 0);
	assert_int_equal(mode_of(deep) & 07777, 0750);
	/* but a new one must be new */
	errno = 0;
	assert_int_equal(fsutil_mkdir_new(a, 0700), -1);
	assert_int_equal(errno, EEXIST);
	/* a file in the way is no directory */
	assert_int_equal(fsutil_write_atomic(file, "x", 1, 0600), 0);
	errno = 0;
	assert_int_equal(fsutil_mkdir(file, 0700), -1);
	assert_int_equal(errno, ENOTDIR);
	free(a);
	free(deep);
	free(file);
	free(mid);
}

static void
test_read_file_caps_size_and_terminates(void **state)
{
	struct fx	*fx = *state;
	char		*p = join(fx->tmp, "f"), *empty = join(fx->tmp, "e");
	char		*buf, data[10000];
	size_t		 len = 99;

	memset(data, 'd', sizeof(data));
	assert_int_equal(fsutil_write_atomic(p, data, sizeof(data), 0600), 0);
	/* exactly max bytes is fine, one more is refused */
	buf = fsutil_read_file(p, sizeof(data), 0, &len);
	assert_non_null(buf);
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(buf, data, sizeof(data));
	assert_int_equal(buf[len], '\0');
	free(buf);
	errno = 0;
	assert_null(fsutil_read_file(p, sizeof(data) - 1, 0, &len));
	assert_int_equal(errno, EFBIG);
	errno = 0;
	assert_null(fsutil_read_file(p, 10, 0, &len));
	assert_int_equal(errno, EFBIG);
	/* an empty file is an empty string */
	assert_int_equal(fsutil_write_atomic(empty, "", 0, 0600), 0);
	buf = fsutil_read_file(empty, 0, 0, &len);
	assert_non_null(buf);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);
	/* files whose size stat(2) does not tell are read whole, capped too */
	buf = fsutil_read_file("/proc/self/status", 1 << 20, 0, &len);
	assert_non_null(buf);
	assert_true(len > 0 && strlen(buf) == len);
	free(buf);
	errno = 0;
	assert_null(fsutil_read_file("/proc/self/status", 8, 0, NULL));
	assert_int_equal(errno, EFBIG);
	free(p);
	free(empty);
}

static void
test_read_file_nofollow_refuses_symlink_and_missing_is_enoent(void **state)
{
	struct fx	*fx = *state;
	char		*p = join(fx->tmp, "real"), *l = join(fx->tmp, "link");
	char		*buf;

	assert_int_equal(fsutil_write_atomic(p, "R", 1, 0600), 0);
	assert_int_equal(symlink(p, l), 0);
	buf = fsutil_read_file(l, 10, 0, NULL);
	assert_non_null(buf);
	assert_string_equal(buf, "R");
	free(buf);
	errno = 0;
	assert_null(fsutil_read_file(l, 10, FSUTIL_NOFOLLOW, NULL));
	assert_int_equal(errno, ELOOP);
	assert_int_equal(fsutil_unlink(p), 0);
	errno = 0;
	assert_null(fsutil_read_file(p, 10, 0, NULL));
	assert_int_equal(errno, ENOENT);
	/* removing what is already gone is no error */
	assert_int_equal(fsutil_unlink(p), 0);
	assert_int_equal(fsutil_unlink(fx->tmp), -1);
	free(p);
	free(l);
}

static volatile sig_atomic_t alarms;

static void
on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* A pipe read slowly, a 1 ms timer without SA_RESTART: short writes, EINTR. */
static void
test_write_all_survives_short_writes_and_eintr(void **state)
{
	struct sigaction sa, oldsa;
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } }, off = { 0 };
	char		*data, buf[4096];
	size_t		 got = 0, len = 4 << 20, i;
	ssize_t		 n;
	pid_t		 pid;
	int		 fds[2], status, ok = 1;

	(void)state;
	data = malloc(len);
	assert_non_null(data);
	for (i = 0; i < len; i++)
		data[i] = (char)(i * 7);
	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[1]);
		while ((n = read(fds[0], buf, sizeof(buf))) > 0) {
			if (memcmp(buf, data + got, (size_t)n) != 0)
				ok = 0;
			got += (size_t)n;
			if (got % (256 * 1024) < sizeof(buf))
				usleep(2000);
		}
		_exit(ok && got == len ? 0 : 1);
	}
	close(fds[0]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART: write(2) returns early */
	assert_int_equal(sigaction(SIGALRM, &sa, &oldsa), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(fsutil_write_all(fds[1], data, len), 0);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &oldsa, NULL);
	close(fds[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(alarms > 0);
	free(data);
}

static void
test_sweep_removes_only_temp_files(void **state)
{
	struct fx	*fx = *state;
	static const char *temps[] = { ".renewd-tmp.account.key.Ab12Cd",
	    ".renewd-tmp.x.zzzzzz" };
	/* dot files that merely look like temp files are the user's */
	static const char *keep[] = { ".keepme", "notes.Ab12Cd", ".a.b.tmp",
	    "plain", ".settings.backup", ".account.key.Ab12Cd",
	    ".renewd-tmp.x.Ab12C" };
	char		*p;
	size_t		 i;

	for (i = 0; i < 2; i++) {
		p = join(fx->tmp, temps[i]);
		assert_int_equal(fsutil_write_new(p, "t", 1, 0600), 0);
		free(p);
	}
	for (i = 0; i < 7; i++) {
		p = join(fx->tmp, keep[i]);
		assert_int_equal(fsutil_write_new(p, "k", 1, 0600), 0);
		free(p);
	}
	/* a symlink or directory with a temp name is not ours to remove */
	p = join(fx->tmp, ".renewd-tmp.link.Ab12Cd");
	assert_int_equal(symlink("plain", p), 0);
	free(p);
	p = join(fx->tmp, ".renewd-tmp.dir.Ab12Cd");
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	fsutil_sweep_temp(fx->tmp);
	assert_int_equal(count_entries(fx->tmp), 9);
	for (i = 0; i < 2; i++) {
		p = join(fx->tmp, temps[i]);
		assert_int_equal(access(p, F_OK), -1);
		free(p);
	}
	fsutil_sweep_temp("/nonexistent/renewd");	/* harmless */
}

/* Returns the target of link p (static buffer). */
static const char *
target_of(const char *p)
{
	static char	 buf[PATH_MAX];
	ssize_t		 n;

	n = readlink(p, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	return buf;
}

static void
test_symlink_swap_creates_replaces_and_clears_stale_temp(void **state)
{
	struct fx	*fx = *state;
	char		*live = join(fx->tmp, "live"), *tmp = join(fx->tmp, ".live.tmp");
	char		*aside = join(fx->tmp, "aside"), msg[512];

	assert_int_equal(fsutil_symlink_swap("v1", live, aside, msg,
	    sizeof(msg)), FSUTIL_SWAP_DONE);
	assert_string_equal(msg, "");
	assert_string_equal(target_of(live), "v1");
	/* a crash between symlink() and rename() left a temp link */
	assert_int_equal(symlink("junk", tmp), 0);
	assert_int_equal(fsutil_symlink_swap("v2", live, aside, msg,
	    sizeof(msg)), FSUTIL_SWAP_DONE);
	assert_string_equal(target_of(live), "v2");
	assert_int_equal(count_entries(fx->tmp), 1);
	/* a temp name that cannot be removed: the swap fails, live stays */
	assert_int_equal(mkdir(tmp, 0700), 0);
	assert_int_equal(fsutil_symlink_swap("v3", live, aside, msg,
	    sizeof(msg)), FSUTIL_SWAP_FAILED);
	assert_non_null(strstr(msg, "cannot remove"));
	assert_non_null(strstr(msg, tmp));
	assert_string_equal(target_of(live), "v2");
	assert_int_equal(rmdir(tmp), 0);
	free(live);
	free(tmp);
	free(aside);
}

static void
test_symlink_swap_moves_a_real_directory_or_file_aside(void **state)
{
	struct fx	*fx = *state;
	char		*live = join(fx->tmp, "live"), *aside = join(fx->tmp, "old");
	char		*p, *buf, msg[512];

	assert_int_equal(mkdir(live, 0755), 0);
	p = join(live, "theirs");
	assert_int_equal(fsutil_write_atomic(p, "THEIRS", 6, 0644), 0);
	free(p);
	assert_int_equal(fsutil_symlink_swap("v1", live, aside, msg,
	    sizeof(msg)), FSUTIL_SWAP_MOVED);
	assert_non_null(strstr(msg, "moved it to"));
	assert_string_equal(target_of(live), "v1");
	p = join(aside, "theirs");
	buf = fsutil_read_file(p, 100, 0, NULL);
	assert_non_null(buf);
	assert_string_equal(buf, "THEIRS");
	free(buf);
	free(p);
	/* aside taken by a non-empty directory: the old file stays at the temp name */
	assert_int_equal(unlink(live), 0);
	assert_int_equal(fsutil_write_atomic(live, "NOTES", 5, 0600), 0);
	assert_int_equal(fsutil_symlink_swap("v2", live, aside, msg,
	    sizeof(msg)), FSUTIL_SWAP_KEPT);
	assert_non_null(strstr(msg, "cannot rename it to"));
	assert_string_equal(target_of(live), "v2");
	p = join(fx->tmp, ".live.tmp");
	assert_true(S_ISREG(mode_of(p)));
	free(p);
	free(live);
	free(aside);
}

static void
test_lock_pidfile_writes_pid_and_names_holder(void **state)
{
	struct fx	*fx = *state;
	char		*p = join(fx->tmp, "x.lock"), *buf, err[512], want[64];
	int		 fd, fd2;

	fd = fsutil_lock_pidfile(p, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(mode_of(p) & 07777, 0600);
	buf = fsutil_read_file(p, 100, 0, NULL);
	assert_non_null(buf);
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	assert_string_equal(buf, want);
	free(buf);
	/* flock(2) locks belong to the open file: a second open conflicts */
	errno = 0;
	assert_int_equal(fsutil_lock_pidfile(p, err, sizeof(err)), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	snprintf(want, sizeof(want), "is held by pid %ld", (long)getpid());
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, p));
	close(fd);
	fd2 = fsutil_lock_pidfile(p, err, sizeof(err));
	assert_true(fd2 >= 0);
	close(fd2);
	/* never through a planted symlink */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("elsewhere", p), 0);
	assert_int_equal(fsutil_lock_pidfile(p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot open lock"));
	free(p);
}

static void
test_remove_dir_removes_named_files_and_dir(void **state)
{
	struct fx	*fx = *state;
	static const char *const names[] = { "a", "b", "missing" };
	char		*d = join(fx->tmp, "v"), *p;

	assert_int_equal(fsutil_mkdir_new(d, 0700), 0);
	p = join(d, "a");
	assert_int_equal(fsutil_write_new(p, "1", 1, 0600), 0);
	free(p);
	p = join(d, "b");
	assert_int_equal(fsutil_write_new(p, "2", 1, 0600), 0);
	free(p);
	fsutil_remove_dir(d, names, 3);
	assert_int_equal(access(d, F_OK), -1);
	assert_int_equal(fsutil_fsync_dir(fx->tmp), 0);
	assert_int_equal(fsutil_fsync_dir(d), -1);
	free(d);
}

/* Opens dir of fx->tmp for the *at functions. */
static int
open_tmp(struct fx *fx)
{
	int	fd;

	assert_true((fd = open(fx->tmp, O_RDONLY | O_DIRECTORY)) != -1);
	return fd;
}

/* Makes fx->tmp/evil (0777) holding file "f", and links "lnk" to it. */
static char *
planted_link(struct fx *fx)
{
	char	*evil = join(fx->tmp, "evil"), *p;

	assert_int_equal(mkdir(evil, 0777), 0);
	p = join(evil, "f");
	assert_int_equal(fsutil_write_atomic(p, "EVIL\n", 5, 0644), 0);
	free(p);
	p = join(fx->tmp, "lnk");
	assert_int_equal(symlink(evil, p), 0);
	free(p);
	return evil;
}

static void
test_openat_follows_no_symlink_on_the_way_or_at_the_end(void **state)
{
	struct fx	*fx = *state;
	char		*evil = planted_link(fx), *p, *s;
	int		 dfd = open_tmp(fx), fd;

	p = join(fx->tmp, "d");
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	p = join(fx->tmp, "d/ok");
	assert_int_equal(fsutil_write_atomic(p, "OK\n", 3, 0600), 0);
	free(p);
	assert_non_null(s = fsutil_read_file_at(dfd, "d/ok", 64, NULL));
	assert_string_equal(s, "OK\n");
	free(s);
	/* through a directory link, at a directory link, at a file link */
	errno = 0;
	assert_null(fsutil_read_file_at(dfd, "lnk/f", 64, NULL));
	assert_int_equal(errno, ELOOP);
	assert_int_equal(fsutil_bad_component(dfd, "lnk/f"), 3);
	assert_int_equal(fsutil_openat(dfd, "lnk", O_RDONLY | O_DIRECTORY, 0),
	    -1);
	assert_int_equal(errno, ELOOP);
	p = join(fx->tmp, "d/flnk");
	assert_int_equal(symlink("ok", p), 0);
	free(p);
	assert_int_equal(fsutil_openat(dfd, "d/flnk", O_RDONLY, 0), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(fsutil_bad_component(dfd, "d/flnk"), 6);
	/* never above dfd, nor by an absolute path */
	assert_int_equal(fsutil_openat(dfd, "../x", O_RDONLY, 0), -1);
	assert_int_equal(fsutil_openat(dfd, "/etc/passwd", O_RDONLY, 0), -1);
	/* a missing component is ENOENT, as callers take it for "none yet" */
	assert_int_equal(fsutil_openat(dfd, "nope/f", O_RDONLY, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_true((fd = fsutil_openat(dfd, "d", O_RDONLY | O_DIRECTORY, 0)) !=
	    -1);
	close(fd);
	close(dfd);
	free(evil);
}

/*
 * Which implementation this binary runs: openat2 lets "d/../d" stay
 * beneath, the walk refuses every "..". The fallback is built as its own
 * test binary (test_fsutil_walk, -DRENEWD_NO_OPENAT2).
 */
static void
test_openat_uses_openat2_where_the_kernel_has_it(void **state)
{
	struct fx	*fx = *state;
	char		*p = join(fx->tmp, "d");
	int		 dfd = open_tmp(fx), fd, have;

	assert_int_equal(mkdir(p, 0700), 0);
	errno = 0;
	have = syscall(SYS_openat2, -1, "", NULL, 0) == -1 && errno != ENOSYS &&
	    errno != EPERM;
	fd = fsutil_openat(dfd, "d/../d", O_RDONLY | O_DIRECTORY, 0);
#ifdef RENEWD_NO_OPENAT2
	(void)have;
	assert_int_equal(fd, -1);
	assert_int_equal(errno, EXDEV);
#else
	if (!have)
		skip();
	assert_true(fd != -1);
	close(fd);
#endif
	close(dfd);
	free(p);
}

static void
test_mkdirat_refuses_a_symlink_and_forces_mode(void **state)
{
	struct fx	*fx = *state;
	char		*evil = planted_link(fx), *p;
	int		 dfd = open_tmp(fx), fd;
	mode_t		 old;

	errno = 0;
	assert_int_equal(fsutil_mkdirat(dfd, "lnk", 0700, 0), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(count_entries(evil), 1);
	old = umask(077);
	assert_true((fd = fsutil_mkdirat(dfd, "web", 0755, 0)) != -1);
	umask(old);
	close(fd);
	p = join(fx->tmp, "web");
	assert_int_equal(mode_of(p) & 07777, 0755);
	free(p);
	/* an existing directory is taken, unless it must be new */
	assert_true((fd = fsutil_mkdirat(dfd, "web", 0700, 0)) != -1);
	close(fd);
	assert_int_equal(fsutil_mkdirat(dfd, "web", 0700, FSUTIL_NEW), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(fsutil_mkdirat(dfd, "lnk", 0700, FSUTIL_NEW), -1);
	assert_int_equal(errno, EEXIST);
	close(dfd);
	free(evil);
}

static void
test_write_at_replaces_a_planted_link_never_its_target(void **state)
{
	struct fx	*fx = *state;
	char		*evil = planted_link(fx), *f, *p, *s;
	int		 dfd = open_tmp(fx);

	f = join(evil, "f");
	p = join(fx->tmp, "flnk");
	assert_int_equal(symlink(f, p), 0);
	assert_int_equal(fsutil_write_atomic_at(dfd, "flnk", "NEW\n", 4, 0600,
	    (uid_t)-1, (gid_t)-1), 0);
	assert_true(S_ISREG(mode_of(p)));
	assert_non_null(s = fsutil_read_file(f, 64, 0, NULL));
	assert_string_equal(s, "EVIL\n");
	free(s);
	/* one component only: no writing through "lnk/" */
	assert_int_equal(fsutil_write_atomic_at(dfd, "lnk/f", "X", 1, 0600,
	    (uid_t)-1, (gid_t)-1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(fsutil_write_new_at(dfd, "lnk", "X", 1, 0600), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(count_entries(evil), 1);
	close(dfd);
	free(f);
	free(p);
	free(evil);
}

static void
test_check_parents_refuses_world_writable_unless_sticky_root(void **state)
{
	struct fx	*fx = *state;
	char		*pub = join(fx->tmp, "pub"), *sd, *real = NULL, *lnk;
	char		 err[512];

	assert_int_equal(mkdir(pub, 0700), 0);
	assert_int_equal(chmod(pub, 0777), 0);
	sd = join(pub, "state");
	assert_int_equal(mkdir(sd, 0700), 0);
	assert_int_equal(fsutil_check_parents(sd, "state directory", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, pub));
	assert_non_null(strstr(err, "not sticky"));
	/* a state directory not made yet is judged by what exists above it */
	free(real);
	real = join(pub, "not/yet/state");
	assert_int_equal(fsutil_check_parents(real, "x", err, sizeof(err)), -1);
	assert_non_null(strstr(err, pub));
	free(real);
	/* the link's directory counts as well as the target's */
	real = join(fx->tmp, "real");
	lnk = join(pub, "lnk");
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, lnk), 0);
	assert_int_equal(fsutil_check_parents(real, "x", err, sizeof(err)), 0);
	assert_int_equal(fsutil_check_parents(lnk, "x", err, sizeof(err)), -1);
	assert_non_null(strstr(err, pub));
	assert_int_equal(chmod(pub, 01777), 0);
	assert_int_equal(fsutil_check_parents(sd, "x", err, sizeof(err)),
	    geteuid() == 0 ? 0 : -1);
	assert_int_equal(chmod(pub, 0755), 0);
	assert_int_equal(fsutil_check_parents(sd, "x", err, sizeof(err)), 0);
	free(sd);
	free(real);
	free(lnk);
	free(pub);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_atomic_modes_are_exact_past_any_umask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic_killed_leaves_old_or_new_and_sweepable_temp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic_syncs_data_before_rename_and_dir_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_new_syncs_its_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_new_refuses_existing_and_sets_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mkdir_modes_past_umask_and_existing_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_file_caps_size_and_terminates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_file_nofollow_refuses_symlink_and_missing_is_enoent, setup, teardown),
		cmocka_unit_test(test_write_all_survives_short_writes_and_eintr),
		cmocka_unit_test_setup_teardown(test_sweep_removes_only_temp_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_swap_creates_replaces_and_clears_stale_temp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_swap_moves_a_real_directory_or_file_aside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_pidfile_writes_pid_and_names_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_dir_removes_named_files_and_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_openat_follows_no_symlink_on_the_way_or_at_the_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_openat_uses_openat2_where_the_kernel_has_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mkdirat_refuses_a_symlink_and_forces_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_at_replaces_a_planted_link_never_its_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_parents_refuses_world_writable_unless_sticky_root, setup, teardown),
	};

	/* the sweep logs what it removes; keep the TAP output clean */
	log_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
