/* proc.h - run a hook (argv, no shell) off the loop: bounded output, timeout */
#ifndef RENEWD_PROC_H
#define RENEWD_PROC_H

#include <stddef.h>

struct event_base;
struct proc;

#define PROC_DEFAULT_MAX_OUTPUT	(16 * 1024)
#define PROC_DEFAULT_KILL_GRACE_MS 2000

struct proc_opts {
	char *const	*argv;		/* argv[0] an absolute path; NULL-terminated */
	char *const	*env;		/* "NAME=value" added to the scrubbed environment; NULL-terminated or NULL */
	long		 timeout_ms;	/* then SIGTERM to its process group; 0 = none */
	long		 kill_grace_ms;	/* SIGTERM -> SIGKILL; 0 = PROC_DEFAULT_KILL_GRACE_MS */
	size_t		 max_output;	/* tail of stdout+stderr kept; 0 = PROC_DEFAULT_MAX_OUTPUT */
};

struct proc_result {
	int		 exited;	/* 1: exited with status; 0: killed by signal */
	int		 status;	/* exit status, or the signal number */
	int		 timed_out;	/* the timeout fired and renewd signalled it */
	const char	*output;	/* last max_output bytes of stdout+stderr, NUL-terminated */
	size_t		 output_len;
	int		 truncated;	/* output lost its beginning */
};

/* Called once per process, on the loop; res lives until it returns. */
typedef void (*proc_done_cb)(const struct proc_result *res, void *arg);

/*
 * Starts argv in its own process group with stdin /dev/null, stdout and
 * stderr captured, no descriptor of renewd's beyond 0-2, signal dispositions
 * and mask reset, and an environment without NOTIFY_SOCKET, LISTEN_* and
 * WATCHDOG_* (opts->env added). The exit is seen through a pidfd on the
 * loop: nothing ever waits. Returns the handle, or NULL with the reason
 * (e.g. "execve /usr/sbin/x: No such file or directory") in err; cb is then
 * not called.
 */
struct proc	*proc_spawn(struct event_base *base, const struct proc_opts *opts,
		    proc_done_cb cb, void *arg, char *err, size_t errlen);
/* Kills the process group (SIGKILL), reaps it and frees; cb is not called. NULL is a no-op. */
void		 proc_kill(struct proc *);
/* Returns the child's pid. */
int		 proc_pid(const struct proc *);

#endif
