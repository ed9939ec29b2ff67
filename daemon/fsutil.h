/* fsutil.h - the file primitives: atomic write, mkdir with mode, capped read, fsync of a directory */
#ifndef RENEWD_FSUTIL_H
#define RENEWD_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Every file renewd creates, renames or removes goes through here (the
 * architecture check holds the daemon to it), so the crash-safety rules
 * live in one file: data reaches the disk before the name that exposes it,
 * and a name change is fsynced with its directory. Modes are exact whatever
 * the umask. Nothing here knows renewd's layout; errors are errno, with the
 * caller naming what it was doing.
 */

/* Writes all of data to fd, through short writes and EINTR. Returns 0 or -1 (errno set). */
int		 fsutil_write_all(int fd, const void *data, size_t len);
/* fsync(2)s directory dir, so a create, rename or unlink in it survives a crash. Returns 0 or -1 (errno set). */
int		 fsutil_fsync_dir(const char *dir);
/*
 * A test seam: every fsync(2) of this module calls fn instead (NULL: fsync
 * again), so a unit test can see which descriptors are synced, and when.
 */
void		 fsutil_set_fsync(int (*fn)(int));

/*
 * mkdir(2) that accepts an existing directory and forces mode past the
 * umask on one it creates. Returns 0 or -1 (errno set; ENOTDIR if path
 * exists and is no directory).
 */
int		 fsutil_mkdir(const char *path, mode_t mode);
/* fsutil_mkdir of path and each missing parent; only what it creates gets mode. Returns 0 or -1 (errno set). */
int		 fsutil_mkdir_p(const char *path, mode_t mode);
/*
 * mkdir(2) of a directory that must be new, mode forced past the umask.
 * Returns 0, or -1 (errno set: EEXIST if anything is at path) leaving nothing.
 */
int		 fsutil_mkdir_new(const char *path, mode_t mode);

/* How the temp files of fsutil_write_atomic begin; no other program's do. */
#define FSUTIL_TEMP_PREFIX	".renewd-tmp."

/*
 * Writes data to path atomically: temp file in the same directory
 * (FSUTIL_TEMP_PREFIX "<name>.XXXXXX", created 0600, then given mode), fsync, rename, fsync
 * of the directory. Returns 0 or -1 (errno set); on failure the old file
 * is untouched and no temp file is left.
 */
int		 fsutil_write_atomic(const char *path, const void *data, size_t len,
		    mode_t mode);
/*
 * fsutil_write_atomic that also gives the temp file owner uid and group
 * gid ((uid_t)-1 / (gid_t)-1: unchanged) before its mode, data and rename,
 * so the name never shows the file with the wrong owner or a looser mode.
 * Returns 0 or -1 (errno set: EPERM from the owner change).
 */
int		 fsutil_write_atomic_owned(const char *path, const void *data,
		    size_t len, mode_t mode, uid_t uid, gid_t gid);
/*
 * fsutil_write_atomic_owned of name (one component) in directory dfd;
 * the temp file is made there without following any symlink.
 */
int		 fsutil_write_atomic_at(int dfd, const char *name,
		    const void *data, size_t len, mode_t mode, uid_t uid,
		    gid_t gid);
/*
 * Creates path, which must not exist, with mode, writes data and fsyncs
 * it; no temp file, so only for a directory nothing refers to yet (the
 * caller fsyncs that directory once). Returns 0 or -1 (errno set; EEXIST
 * if path exists); on failure the file is removed.
 */
int		 fsutil_write_new(const char *path, const void *data, size_t len,
		    mode_t mode);

#define FSUTIL_NOFOLLOW	0x1	/* a symlink at path is refused (ELOOP), not followed */
/*
 * Reads a whole file of at most max bytes (max < SIZE_MAX / 2). Returns it
 * malloc'd and NUL-terminated, its length in *len (len may be NULL), or
 * NULL with errno set (EFBIG if the file holds more than max bytes).
 */
char		*fsutil_read_file(const char *path, size_t max, unsigned flags,
		    size_t *len);

/*
 * fsutil_read_file of rel beneath directory dfd, no symlink followed on
 * the way or at the end (ELOOP).
 */
char		*fsutil_read_file_at(int dfd, const char *rel, size_t max,
		    size_t *len);

/* unlink(2) where a missing path counts as removed. Returns 0 or -1 (errno set). */
int		 fsutil_unlink(const char *path);
/*
 * Removes the files names[0..n) in dir, then dir itself, ignoring errors:
 * for a directory that never went into use.
 */
void		 fsutil_remove_dir(const char *dir, const char *const *names,
		    size_t n);
/*
 * Removes what fsutil_write_atomic leaves when killed before its rename:
 * regular files FSUTIL_TEMP_PREFIX "<name>.XXXXXX" directly in dir
 * (nothing is followed), and nothing else: other dot files are the user's.
 * Logs each removal. Only call it while no write can be running there.
 */
void		 fsutil_sweep_temp(const char *dir);
/* fsutil_sweep_temp of directory dirfd, named shown in the log. */
void		 fsutil_sweep_temp_at(int dirfd, const char *shown);

/* What fsutil_symlink_swap did. */
enum fsutil_swap {
	FSUTIL_SWAP_FAILED = -1,	/* path unchanged; msg says why */
	FSUTIL_SWAP_DONE = 0,		/* path is the new link (it was a link or absent) */
	FSUTIL_SWAP_MOVED,		/* path was no link: it now sits at aside (msg says so) */
	FSUTIL_SWAP_KEPT,		/* path was no link and could not go to aside: msg names where it is */
};
/*
 * Points the symlink path at target with one rename(2) of a link made
 * beside it (".<name>.tmp"; one a crash left behind is replaced), so
 * readers see the old target or the new, never neither. Something at path
 * that is no symlink is neither deleted nor followed: it is exchanged with
 * the new link atomically and then renamed to aside. The caller fsyncs
 * path's directory. Returns what it did; msg (msglen > 0) says what failed
 * or what was moved, and is "" after FSUTIL_SWAP_DONE.
 */
enum fsutil_swap fsutil_symlink_swap(const char *target, const char *path,
		    const char *aside, char *msg, size_t msglen);
/* fsutil_symlink_swap of name and aside in directory dfd, shown as dir in msg. */
enum fsutil_swap fsutil_symlink_swap_at(int dfd, const char *dir,
		    const char *target, const char *name, const char *aside,
		    char *msg, size_t msglen);

/*
 * Opens path (created 0600, never through a symlink), takes an exclusive
 * flock(2) without waiting and writes this process's pid into it. Returns
 * the descriptor holding the lock (close it to unlock), or -1 with a
 * reason in err; errno is EWOULDBLOCK if another process holds the lock,
 * and err then names its pid when the file tells it.
 */
int		 fsutil_lock_pidfile(const char *path, char *err, size_t errlen);

/*
 * Access beneath a directory descriptor. Nothing below dfd is reached
 * through a symlink or "..": openat2(2) with RESOLVE_NO_SYMLINKS |
 * RESOLVE_BENEATH where the kernel has it, else a walk opening each
 * component O_NOFOLLOW | O_DIRECTORY. A symlink on the way fails with
 * ELOOP (ENOTDIR for a file where a directory belongs); what is beneath
 * is ours, so a symlink there was planted by someone else.
 */

/* openat(2) of rel (components separated by '/') beneath dfd, O_CLOEXEC. Returns a descriptor or -1 (errno set). */
int		 fsutil_openat(int dfd, const char *rel, int flags, mode_t mode);
#define FSUTIL_NEW	0x2	/* fsutil_mkdirat: the directory must not exist (EEXIST) */
/*
 * Creates directory name (one component) in dfd with mode forced past the
 * umask, or takes the existing one (unless FSUTIL_NEW), and opens it
 * without following a symlink. Returns its descriptor or -1 (errno set).
 */
int		 fsutil_mkdirat(int dfd, const char *name, mode_t mode,
		    unsigned flags);
/* fsutil_write_new in directory dfd (name: one component, never followed). */
int		 fsutil_write_new_at(int dfd, const char *name, const void *data,
		    size_t len, mode_t mode);
/* fsutil_unlink of name in directory dfd. */
int		 fsutil_unlinkat(int dfd, const char *name);
/*
 * rename(2) of from over to (one component each) in directory dfd, then
 * fsync of dfd. Returns 0 or -1 (errno set).
 */
int		 fsutil_rename_at(int dfd, const char *from, const char *to);
/*
 * fsutil_remove_dir of dir (beneath dfd, not followed). Returns rmdir's
 * 0 or -1 (errno set: ENOTEMPTY when other files were there).
 */
int		 fsutil_remove_dir_at(int dfd, const char *dir,
		    const char *const *names, size_t n);
/*
 * After fsutil_openat(dfd, rel) failed: returns the length of rel's
 * prefix naming the first component that is no directory (a symlink, most
 * likely), or of the component that was missing, for the error message.
 */
size_t		 fsutil_bad_component(int dfd, const char *rel);
/*
 * Refuses a state directory an untrusted user could replace, as sshd does
 * for its files: every directory above path (after symlinks, and above
 * path itself if it is one) must not be writable by everyone unless it is
 * sticky and owned by root (as /tmp is). Returns 0, or -1 with err
 * naming the directory (what: how to name path, e.g. "state directory").
 */
int		 fsutil_check_parents(const char *path, const char *what,
		    char *err, size_t errlen);

/*
 * A unix socket's file, for the control socket: removes a socket left at
 * path by a process that is gone (the caller found nobody listening).
 * Returns 0 (also if nothing is there), or -1 (errno set; EEXIST if
 * something other than a socket is at path).
 */
int		 fsutil_sock_clear(const char *path);
/* Sets the mode of the socket just bound at path, past the umask. Returns 0 or -1 (errno set). */
int		 fsutil_sock_mode(const char *path, mode_t mode);
/* Removes the socket at path if it is still the file dev/ino (ours); else leaves it. */
void		 fsutil_sock_remove(const char *path, dev_t dev, ino_t ino);

#endif
