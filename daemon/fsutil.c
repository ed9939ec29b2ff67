/* fsutil.c - atomic write, mkdir with mode, capped read, fsync of a dir, access beneath a dir fd */
#include "config.h"

#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/openat2.h>
#endif

#include "fsutil.h"
#include "log.h"
#include "xmalloc.h"

/* How much fsutil_read_file reads at first when the size is unknown. */
#define FSUTIL_READ_CHUNK	4096

/* Every fsync(2) here goes through this, so a unit test can see the calls. */
static int	(*sync_fd)(int) = fsync;

void
fsutil_set_fsync(int (*fn)(int))
{
	sync_fd = fn != NULL ? fn : fsync;
}

int
fsutil_write_all(int fd, const void *data, size_t len)
{
	const char	*p = data;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fsutil_fsync_dir(const char *dir)
{
	int	fd, rc, saved;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = sync_fd(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
fsutil_mkdir_new(const char *path, mode_t mode)
{
	int	saved;

	if (mkdir(path, mode) == -1)
		return -1;
	if (chmod(path, mode) == 0)
		return 0;
	saved = errno;
	rmdir(path);
	errno = saved;
	return -1;
}

int
fsutil_mkdir(const char *path, mode_t mode)
{
	struct stat	st;

	if (fsutil_mkdir_new(path, mode) == 0)
		return 0;
	if (errno != EEXIST || stat(path, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int
fsutil_mkdir_p(const char *path, mode_t mode)
{
	char	*copy, *p;
	int	 rc = -1;

	copy = xstrdup(path);
	for (p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (fsutil_mkdir(copy, mode) == -1)
			goto out;
		*p = '/';
	}
	rc = fsutil_mkdir(copy, mode);
out:
	free(copy);
	return rc;
}

/* Returns the malloc'd directory part of path; *base points at the rest. */
static char *
split_path(const char *path, const char **base)
{
	const char	*slash;

	if ((slash = strrchr(path, '/')) == NULL) {
		*base = path;
		return xstrdup(".");
	}
	*base = slash + 1;
	return slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
}

/* A fresh file's mode, data and fsync: what both writers share. */
static int
fill_fd(int fd, const void *data, size_t len, mode_t mode)
{
	if (fchmod(fd, mode) == -1 || fsutil_write_all(fd, data, len) == -1)
		return -1;
	return sync_fd(fd);
}

/*
 * Closes fd and returns rc, or -1 if rc was 0 and close(2) failed; errno
 * tells the first failure.
 */
static int
close_rc(int fd, int rc)
{
	int	saved = errno;

	if (close(fd) == -1 && rc == 0)
		return -1;
	errno = saved;
	return rc;
}

int
fsutil_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	return fsutil_write_atomic_owned(path, data, len, mode, (uid_t)-1,
	    (gid_t)-1);
}

int
fsutil_write_atomic_owned(const char *path, const void *data, size_t len,
    mode_t mode, uid_t uid, gid_t gid)
{
	const char	*base;
	char		*dir;
	int		 dfd, rc = -1, saved;

	dir = split_path(path, &base);
	if (*base == '\0')
		errno = EINVAL;
	else if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		rc = fsutil_write_atomic_at(dfd, base, data, len, mode, uid,
		    gid);
		saved = errno;
		close(dfd);
		errno = saved;
	}
	free(dir);
	return rc;
}

/*
 * mkostemp(3) in directory dfd: tmp ends in "XXXXXX", replaced by random
 * letters and digits until a name is free. Never follows a symlink.
 */
static int
mkstemp_at(int dfd, char *tmp)
{
	static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char	 rnd[6];
	char		*x = tmp + strlen(tmp) - 6;
	int		 fd, i, tries;

	for (tries = 0; tries < 100; tries++) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return -1;
		for (i = 0; i < 6; i++)
			x[i] = chars[rnd[i] % (sizeof(chars) - 1)];
		/* 0600: the data is never readable by others, even briefly */
		if ((fd = openat(dfd, tmp, O_RDWR | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600)) != -1 || errno != EEXIST)
			return fd;
	}
	return -1;
}

int
fsutil_write_atomic_at(int dfd, const char *name, const void *data,
    size_t len, mode_t mode, uid_t uid, gid_t gid)
{
	char	*tmp = NULL;
	int	 fd, rc = -1, made = 0, saved;

	if (*name == '\0' || strchr(name, '/') != NULL) {
		errno = EINVAL;
		goto out;
	}
	tmp = xasprintf(FSUTIL_TEMP_PREFIX "%s.XXXXXX", name);
	if ((fd = mkstemp_at(dfd, tmp)) == -1)
		goto out;
	made = 1;
	/* owner before mode and data: the name never shows a looser file */
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		goto out;
	}
	if (close_rc(fd, fill_fd(fd, data, len, mode)) == -1 ||
	    renameat(dfd, tmp, dfd, name) == -1)
		goto out;
	made = 0;	/* renamed into place: nothing left to clean up */
	rc = sync_fd(dfd);
out:
	saved = errno;
	if (made)
		unlinkat(dfd, tmp, 0);
	free(tmp);
	errno = saved;
	return rc;
}

int
fsutil_write_new(const char *path, const void *data, size_t len, mode_t mode)
{
	int	fd, saved;

	/* created 0600 whatever the umask; widened afterwards if need be */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1)
		return -1;
	if (close_rc(fd, fill_fd(fd, data, len, mode)) == 0)
		return 0;
	saved = errno;
	unlink(path);
	errno = saved;
	return -1;
}

/* Returns the first buffer size for fd: its size + 1 if known and small. */
static size_t
first_cap(int fd, size_t limit)
{
	struct stat	sb;

	/* only a hint: the file may grow, and /proc files claim size 0 */
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
	    (unsigned long long)sb.st_size < limit)
		return (size_t)sb.st_size + 1;
	return limit < FSUTIL_READ_CHUNK ? limit : FSUTIL_READ_CHUNK;
}

/* fsutil_read_file's reading of the open fd, which it closes. */
static char *
read_fd(int fd, size_t max, size_t *lenp)
{
	char	*buf;
	size_t	 len = 0, cap, limit = max + 1;	/* one byte more shows the excess */
	ssize_t	 n;
	int	 saved;

	cap = first_cap(fd, limit);
	buf = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (cap == limit) {
				errno = EFBIG;
				goto fail;
			}
			cap = cap > limit / 2 ? limit : cap * 2;
			buf = xreallocarray(buf, cap + 1, 1);
		}
		if ((n = read(fd, buf + len, cap - len)) == -1) {
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
fsutil_read_file(const char *path, size_t max, unsigned flags, size_t *lenp)
{
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC |
	    ((flags & FSUTIL_NOFOLLOW) ? O_NOFOLLOW : 0))) == -1)
		return NULL;
	return read_fd(fd, max, lenp);
}

char *
fsutil_read_file_at(int dfd, const char *rel, size_t max, size_t *lenp)
{
	int	fd;

	if ((fd = fsutil_openat(dfd, rel, O_RDONLY, 0)) == -1)
		return NULL;
	return read_fd(fd, max, lenp);
}

int
fsutil_unlink(const char *path)
{
	if (unlink(path) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

void
fsutil_remove_dir(const char *dir, const char *const *names, size_t n)
{
	char	*p;
	size_t	 i;

	for (i = 0; i < n; i++) {
		p = xasprintf("%s/%s", dir, names[i]);
		unlink(p);
		free(p);
	}
	rmdir(dir);
}

/*
 * Returns 1 if name is what fsutil_write_atomic leaves behind when killed
 * before its rename: FSUTIL_TEMP_PREFIX + name + "." + six mkstemp
 * characters. Only renewd uses that prefix: a user's ".settings.backup"
 * looks like ".<name>.XXXXXX" but is not ours to delete. The
 * ".<name>.tmp" links of fsutil_symlink_swap never match.
 */
static int
is_temp_name(const char *name)
{
	size_t	n = strlen(name), p = strlen(FSUTIL_TEMP_PREFIX);

	return n >= p + 8 && strncmp(name, FSUTIL_TEMP_PREFIX, p) == 0 &&
	    name[n - 7] == '.' && strspn(name + n - 6,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") ==
	    6;
}

void
fsutil_sweep_temp(const char *dir)
{
	int	dfd;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return;
	fsutil_sweep_temp_at(dfd, dir);
	close(dfd);
}

void
fsutil_sweep_temp_at(int dirfd, const char *shown)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	int		 dfd;

	/* a copy: closedir closes the descriptor it is given */
	if ((dfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) == -1)
		return;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (!is_temp_name(de->d_name) ||
		    fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(sb.st_mode))
			continue;
		if (unlinkat(dfd, de->d_name, 0) == 0)
			log_notice("removed %s/%s, left by an interrupted write",
			    shown, de->d_name);
	}
	closedir(d);
}

/*
 * path is a real directory or file (left by another tool, or made by
 * hand): rename(2) would fail or delete it, and a careful admin wants
 * neither a link that can never be switched nor their files gone. So the
 * two are exchanged atomically and the old one is kept at aside.
 */
static enum fsutil_swap
swap_aside(int dfd, const char *shown, const char *tmp, const char *name,
    const char *aside, char *msg, size_t msglen)
{
	if (renameat2(dfd, tmp, dfd, name, RENAME_EXCHANGE) == -1) {
		snprintf(msg, msglen, "%s/%s is not a symbolic link and cannot "
		    "be swapped (%s): move it away", shown, name,
		    strerror(errno));
		return FSUTIL_SWAP_FAILED;
	}
	/* name is the link now; what was there sits at tmp */
	if (renameat(dfd, tmp, dfd, aside) == -1) {
		snprintf(msg, msglen, "%s/%s was not a symbolic link; it is now "
		    "%s/%s (cannot rename it to %s: %s)", shown, name, shown,
		    tmp, aside, strerror(errno));
		return FSUTIL_SWAP_KEPT;
	}
	snprintf(msg, msglen, "%s/%s was not a symbolic link: moved it to "
	    "%s/%s", shown, name, shown, aside);
	return FSUTIL_SWAP_MOVED;
}

enum fsutil_swap
fsutil_symlink_swap(const char *target, const char *path, const char *aside,
    char *msg, size_t msglen)
{
	const char	*base, *abase;
	char		*dir, *adir;
	int		 dfd;
	enum fsutil_swap rc = FSUTIL_SWAP_FAILED;

	msg[0] = '\0';
	dir = split_path(path, &base);
	adir = split_path(aside, &abase);
	if (strcmp(dir, adir) != 0)
		snprintf(msg, msglen, "%s: not in the directory of %s", aside,
		    path);
	else if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		snprintf(msg, msglen, "cannot open %s: %s", dir,
		    strerror(errno));
	else {
		rc = fsutil_symlink_swap_at(dfd, dir, target, base, abase, msg,
		    msglen);
		close(dfd);
	}
	free(dir);
	free(adir);
	return rc;
}

enum fsutil_swap
fsutil_symlink_swap_at(int dfd, const char *shown, const char *target,
    const char *name, const char *aside, char *msg, size_t msglen)
{
	struct stat	 sb;
	char		*tmp;
	enum fsutil_swap rc = FSUTIL_SWAP_FAILED;

	msg[0] = '\0';
	tmp = xasprintf(".%s.tmp", name);
	/* a link left by a crash between symlink() and rename() is replaced */
	if (unlinkat(dfd, tmp, 0) == -1 && errno != ENOENT) {
		snprintf(msg, msglen, "cannot remove %s/%s: %s", shown, tmp,
		    strerror(errno));
		goto out;
	}
	if (symlinkat(target, dfd, tmp) == -1) {
		snprintf(msg, msglen, "cannot create link %s/%s: %s", shown,
		    tmp, strerror(errno));
		goto out;
	}
	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
	    S_ISLNK(sb.st_mode)) {
		if (renameat(dfd, tmp, dfd, name) == 0)
			rc = FSUTIL_SWAP_DONE;
		else
			snprintf(msg, msglen, "cannot rename %s/%s to %s: %s",
			    shown, tmp, name, strerror(errno));
	} else
		rc = swap_aside(dfd, shown, tmp, name, aside, msg, msglen);
	if (rc == FSUTIL_SWAP_FAILED)
		unlinkat(dfd, tmp, 0);
out:
	free(tmp);
	return rc;
}

/* Fills err for a lock another process holds; errno stays EWOULDBLOCK. */
static void
lock_held(int fd, const char *path, char *err, size_t errlen)
{
	char	 buf[32];
	ssize_t	 n;
	long	 pid = 0;

	/* the holder may not have written its pid yet: say so */
	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		pid = strtol(buf, NULL, 10);
	}
	if (pid > 0)
		snprintf(err, errlen, "lock %s is held by pid %ld", path, pid);
	else
		snprintf(err, errlen, "lock %s is held by another process",
		    path);
	errno = EWOULDBLOCK;
}

int
fsutil_lock_pidfile(const char *path, char *err, size_t errlen)
{
	char	buf[32];
	int	fd, len, saved;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		snprintf(err, errlen, "cannot open lock %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			lock_held(fd, path, err, errlen);
		else
			snprintf(err, errlen, "cannot lock %s: %s", path,
			    strerror(errno));
		goto fail;
	}
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)len, 0) != len) {
		snprintf(err, errlen, "cannot write pid to %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* ------------------------------------------- access beneath a directory */

/*
 * The O_NOFOLLOW walk: each directory component opened with O_NOFOLLOW |
 * O_DIRECTORY relative to the one before, so no symlink is followed and
 * ".." never climbs out. For kernels (or seccomp filters) without openat2.
 */
static int
openat_walk(int dfd, const char *rel, int flags, mode_t mode)
{
	char	*copy, *p, *slash;
	int	 fd = dfd, nfd = -1, saved;

	copy = xstrdup(rel);
	for (p = copy; ; p = slash + 1) {
		if ((slash = strchr(p, '/')) != NULL)
			*slash = '\0';
		if (*p == '\0' || strcmp(p, "..") == 0) {
			errno = *p == '\0' ? ENOENT : EXDEV;
			nfd = -1;
		} else if (slash != NULL)
			nfd = openat(fd, p, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
		else
			nfd = openat(fd, p, flags | O_NOFOLLOW | O_CLOEXEC,
			    mode);
		saved = errno;
		if (fd != dfd)
			close(fd);
		errno = saved;
		if (nfd == -1 || slash == NULL)
			break;
		fd = nfd;
	}
	free(copy);
	return nfd;
}

/* fsutil_openat's open, errno as the kernel (or the walk) gives it. */
static int
openat_beneath(int dfd, const char *rel, int flags, mode_t mode)
{
#if defined(RESOLVE_NO_SYMLINKS) && defined(SYS_openat2) && \
    !defined(RENEWD_NO_OPENAT2)
	struct open_how	how;
	long		fd;

	memset(&how, 0, sizeof(how));
	how.flags = (unsigned long long)(flags | O_NOFOLLOW | O_CLOEXEC);
	how.mode = (flags & O_CREAT) ? mode : 0;
	how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH;
	fd = syscall(SYS_openat2, dfd, rel, &how, sizeof(how));
	/* ENOSYS: before Linux 5.6; EPERM: a seccomp filter that predates it */
	if (fd != -1 || (errno != ENOSYS && errno != EPERM))
		return (int)fd;
#endif
	return openat_walk(dfd, rel, flags, mode);
}

/*
 * O_NOFOLLOW | O_DIRECTORY fails with ENOTDIR on a symlink: tells it
 * apart (ELOOP) from a file where a directory belongs, for the caller.
 */
static int
openat_errno(int dfd, const char *rel)
{
	struct stat	 sb;
	char		*bad;
	int		 saved = errno;

	if (saved == ENOTDIR) {
		bad = xstrndup(rel, fsutil_bad_component(dfd, rel));
		if (fstatat(dfd, bad, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(sb.st_mode))
			saved = ELOOP;
		free(bad);
	}
	errno = saved;
	return -1;
}

int
fsutil_openat(int dfd, const char *rel, int flags, mode_t mode)
{
	int	fd;

	if ((fd = openat_beneath(dfd, rel, flags, mode)) == -1)
		return openat_errno(dfd, rel);
	return fd;
}

int
fsutil_mkdirat(int dfd, const char *name, mode_t mode, unsigned flags)
{
	int	fd, made, saved;

	made = mkdirat(dfd, name, mode) == 0;
	if (!made && (errno != EEXIST || (flags & FSUTIL_NEW)))
		return -1;
	if ((fd = fsutil_openat(dfd, name, O_RDONLY | O_DIRECTORY, 0)) == -1 ||
	    !made)
		return fd;
	/* mode forced past the umask on what we create */
	if (fchmod(fd, mode) == 0)
		return fd;
	saved = errno;
	close(fd);
	unlinkat(dfd, name, AT_REMOVEDIR);
	errno = saved;
	return -1;
}

int
fsutil_write_new_at(int dfd, const char *name, const void *data, size_t len,
    mode_t mode)
{
	int	fd, saved;

	/* created 0600 whatever the umask; widened afterwards if need be */
	if ((fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return -1;
	if (close_rc(fd, fill_fd(fd, data, len, mode)) == 0)
		return 0;
	saved = errno;
	unlinkat(dfd, name, 0);
	errno = saved;
	return -1;
}

int
fsutil_unlinkat(int dfd, const char *name)
{
	if (unlinkat(dfd, name, 0) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

int
fsutil_rename_at(int dfd, const char *from, const char *to)
{
	if (renameat(dfd, from, dfd, to) == -1)
		return -1;
	return fsync(dfd);
}

int
fsutil_remove_dir_at(int dfd, const char *dir, const char *const *names,
    size_t n)
{
	size_t	i;
	int	fd;

	if ((fd = fsutil_openat(dfd, dir, O_RDONLY | O_DIRECTORY, 0)) != -1) {
		for (i = 0; i < n; i++)
			unlinkat(fd, names[i], 0);
		close(fd);
	}
	return unlinkat(dfd, dir, AT_REMOVEDIR);
}

size_t
fsutil_bad_component(int dfd, const char *rel)
{
	struct stat	 sb;
	size_t		 len = 0;
	char		*prefix;
	int		 bad;

	while (rel[len] != '\0') {
		len += strcspn(rel + len, "/");
		prefix = xstrndup(rel, len);
		bad = fstatat(dfd, prefix, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISDIR(sb.st_mode);
		free(prefix);
		if (bad || rel[len] == '\0')
			break;
		len++;
	}
	return len;
}

/*
 * Returns 0 if dir is no danger as the parent of a state directory:
 * writable by everyone only if sticky and root's (as /tmp is). Else fills
 * err and returns -1.
 */
static int
parent_ok(const char *dir, const char *what, char *err, size_t errlen)
{
	struct stat	sb;

	if (stat(dir, &sb) == -1) {
		snprintf(err, errlen, "%s: %s: %s", what, dir, strerror(errno));
		return -1;
	}
	if ((sb.st_mode & S_IWOTH) == 0 ||
	    ((sb.st_mode & S_ISVTX) != 0 && sb.st_uid == 0))
		return 0;
	snprintf(err, errlen, "%s: parent directory %s is writable by everyone "
	    "(mode %04o%s): anyone could replace what is below it; refusing to "
	    "use it", what, dir, (unsigned)(sb.st_mode & 07777),
	    (sb.st_mode & S_ISVTX) != 0 ? ", sticky but not owned by root" :
	    ", not sticky");
	return -1;
}

/* parent_ok for every directory from dir (included) up to "/". */
static int
parents_ok(char *dir, const char *what, char *err, size_t errlen)
{
	char	*slash;

	for (;;) {
		if (parent_ok(dir, what, err, errlen) == -1)
			return -1;
		if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
			break;
		*slash = '\0';
	}
	return strcmp(dir, "/") == 0 || *dir != '/' ? 0 :
	    parent_ok("/", what, err, errlen);
}

/* parents_ok on where dir (malloc'd, freed here) really is. */
static int
dir_parents_ok(char *dir, const char *what, char *err, size_t errlen)
{
	char	real[PATH_MAX];
	int	rc = -1;

	if (realpath(dir, real) == NULL)
		snprintf(err, errlen, "%s: %s: %s", what, dir, strerror(errno));
	else
		rc = parents_ok(real, what, err, errlen);
	free(dir);
	return rc;
}

/*
 * parents_ok for a path not made yet: from its nearest existing ancestor
 * up, so that nothing is created below a directory that would be refused.
 */
static int
missing_parents_ok(const char *path, const char *what, char *err,
    size_t errlen)
{
	const char	*base;
	char		 real[PATH_MAX], *dir, *up;

	dir = split_path(path, &base);
	while (realpath(dir, real) == NULL && errno == ENOENT &&
	    strcmp(dir, "/") != 0 && strcmp(dir, ".") != 0) {
		up = split_path(dir, &base);
		free(dir);
		dir = up;
	}
	return dir_parents_ok(dir, what, err, errlen);
}

int
fsutil_check_parents(const char *path, const char *what, char *err,
    size_t errlen)
{
	struct stat	 sb;
	const char	*base;
	char		 real[PATH_MAX], *dir;

	/* the directory itself, where a symlink leads (DynamicUser's do) */
	if (realpath(path, real) == NULL) {
		if (errno == ENOENT)
			return missing_parents_ok(path, what, err, errlen);
		snprintf(err, errlen, "%s: %s: %s", what, path, strerror(errno));
		return -1;
	}
	if ((dir = strrchr(real, '/')) != NULL && dir[1] != '\0') {
		dir[dir == real ? 1 : 0] = '\0';
		if (parents_ok(real, what, err, errlen) == -1)
			return -1;
	}
	/* and, if path is a symlink, whoever could replace the link */
	if (lstat(path, &sb) == -1 || !S_ISLNK(sb.st_mode))
		return 0;
	return dir_parents_ok(split_path(path, &base), what, err, errlen);
}

int
fsutil_sock_clear(const char *path)
{
	struct stat	st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	return unlink(path) == -1 && errno != ENOENT ? -1 : 0;
}

int
fsutil_sock_mode(const char *path, mode_t mode)
{
	return fchmodat(AT_FDCWD, path, mode, 0);
}

void
fsutil_sock_remove(const char *path, dev_t dev, ino_t ino)
{
	struct stat	st;

	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == dev && st.st_ino == ino)
		unlink(path);
}
