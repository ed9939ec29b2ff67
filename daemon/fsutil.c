/* fsutil.c - atomic write, mkdir with mode, capped read, fsync of a dir */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "xmalloc.h"

/* How much fsutil_read_file reads at first when the size is unknown. */
#define FSUTIL_READ_CHUNK	4096

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
	rc = fsync(fd);
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
	return fsync(fd);
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
	char		*dir, *tmp = NULL;
	int		 fd, rc = -1, made = 0, saved;

	dir = split_path(path, &base);
	if (*base == '\0') {
		errno = EINVAL;
		goto out;
	}
	tmp = xasprintf("%s/.%s.XXXXXX", dir, base);
	/* mkstemp creates 0600: the data is never readable by others, even briefly */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
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
	    rename(tmp, path) == -1)
		goto out;
	made = 0;	/* renamed into place: nothing left to clean up */
	rc = fsutil_fsync_dir(dir);
out:
	saved = errno;
	if (made)
		unlink(tmp);
	free(tmp);
	free(dir);
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

char *
fsutil_read_file(const char *path, size_t max, unsigned flags, size_t *lenp)
{
	char	*buf;
	size_t	 len = 0, cap, limit = max + 1;	/* one byte more shows the excess */
	ssize_t	 n;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC |
	    ((flags & FSUTIL_NOFOLLOW) ? O_NOFOLLOW : 0))) == -1)
		return NULL;
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
 * before its rename: "." + name + "." + six mkstemp characters. The
 * ".<name>.tmp" links of fsutil_symlink_swap never match.
 */
static int
is_temp_name(const char *name)
{
	size_t	n = strlen(name);

	return n >= 9 && name[0] == '.' && name[n - 7] == '.' &&
	    strspn(name + n - 6, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789") == 6;
}

void
fsutil_sweep_temp(const char *dir)
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

/*
 * path is a real directory or file (left by another tool, or made by
 * hand): rename(2) would fail or delete it, and a careful admin wants
 * neither a link that can never be switched nor their files gone. So the
 * two are exchanged atomically and the old one is kept at aside.
 */
static enum fsutil_swap
swap_aside(const char *tmp, const char *path, const char *aside, char *msg,
    size_t msglen)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == -1) {
		snprintf(msg, msglen, "%s is not a symbolic link and cannot be "
		    "swapped (%s): move it away", path, strerror(errno));
		return FSUTIL_SWAP_FAILED;
	}
	/* path is the link now; what was there sits at tmp */
	if (rename(tmp, aside) == -1) {
		snprintf(msg, msglen, "%s was not a symbolic link; it is now %s "
		    "(cannot rename it to %s: %s)", path, tmp, aside,
		    strerror(errno));
		return FSUTIL_SWAP_KEPT;
	}
	snprintf(msg, msglen, "%s was not a symbolic link: moved it to %s",
	    path, aside);
	return FSUTIL_SWAP_MOVED;
}

enum fsutil_swap
fsutil_symlink_swap(const char *target, const char *path, const char *aside,
    char *msg, size_t msglen)
{
	struct stat	 sb;
	const char	*base;
	char		*dir, *tmp;
	enum fsutil_swap rc = FSUTIL_SWAP_FAILED;

	msg[0] = '\0';
	dir = split_path(path, &base);
	tmp = xasprintf("%s/.%s.tmp", dir, base);
	/* a link left by a crash between symlink() and rename() is replaced */
	if (fsutil_unlink(tmp) == -1) {
		snprintf(msg, msglen, "cannot remove %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	if (symlink(target, tmp) == -1) {
		snprintf(msg, msglen, "cannot create link %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	if (lstat(path, &sb) == -1 || S_ISLNK(sb.st_mode)) {
		if (rename(tmp, path) == 0)
			rc = FSUTIL_SWAP_DONE;
		else
			snprintf(msg, msglen, "cannot rename %s to %s: %s", tmp,
			    path, strerror(errno));
	} else
		rc = swap_aside(tmp, path, aside, msg, msglen);
	if (rc == FSUTIL_SWAP_FAILED)
		unlink(tmp);
out:
	free(tmp);
	free(dir);
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
