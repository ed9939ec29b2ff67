/* proc.c - run a hook (argv, no shell) off the loop: bounded output, timeout */
#include "config.h"

#include <sys/pidfd.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "proc.h"
#include "xmalloc.h"

/*
 * A hook is finished when its process has exited; whatever it wrote before
 * exiting is in the pipe by then, so the exit drains the pipe and completes.
 * A grandchild that keeps the pipe open (a daemon the hook started) cannot
 * hold the completion back. posix_spawn (clone + exec, no copy of renewd's
 * address space) starts it; a pidfd on the loop reports the exit, so no
 * SIGCHLD handler is shared between modules and the loop never waits.
 */

extern char **environ;

struct proc {
	struct event_base *base;
	pid_t		 pid;
	int		 pidfd;
	int		 out;		/* read end of the stdout+stderr pipe, or -1 */
	struct event	*ev_exit;	/* pidfd readable: exited */
	struct event	*ev_out;	/* pipe readable */
	struct event	*ev_timer;	/* timeout, then kill grace */
	long		 grace_ms;
	int		 timed_out;
	int		 termed;	/* SIGTERM sent, SIGKILL armed */
	char		*buf;		/* the tail of the output */
	size_t		 len, cap;
	int		 truncated;
	proc_done_cb	 cb;
	void		*arg;
};

/* Variables that belong to renewd's own supervision, never to a hook. */
static int
env_private(const char *kv)
{
	static const char *const names[] = {
		"NOTIFY_SOCKET=", "LISTEN_FDS=", "LISTEN_PID=",
		"LISTEN_FDNAMES=", "WATCHDOG_USEC=", "WATCHDOG_PID=",
	};
	size_t	i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strncmp(kv, names[i], strlen(names[i])) == 0)
			return 1;
	return 0;
}

/* Returns 1 if add redefines the variable kv. */
static int
env_overridden(const char *kv, char *const *add)
{
	const char	*eq = strchr(kv, '=');
	size_t		 n = eq != NULL ? (size_t)(eq - kv + 1) : strlen(kv);

	for (; add != NULL && *add != NULL; add++)
		if (strncmp(kv, *add, n) == 0)
			return 1;
	return 0;
}

/* Returns a NULL-terminated vector borrowing environ's and add's strings. */
static char **
env_build(char *const *add)
{
	size_t	 n = 0, o = 0, i;
	char	**v;

	for (i = 0; environ[i] != NULL; i++)
		n++;
	for (i = 0; add != NULL && add[i] != NULL; i++)
		n++;
	v = xcalloc(n + 1, sizeof(*v));
	for (i = 0; environ[i] != NULL; i++)
		if (!env_private(environ[i]) && !env_overridden(environ[i], add))
			v[o++] = environ[i];
	for (i = 0; add != NULL && add[i] != NULL; i++)
		v[o++] = add[i];
	v[o] = NULL;
	return v;
}

/* Keeps the last cap bytes that the hook wrote. */
static void
out_append(struct proc *p, const char *data, size_t n)
{
	if (n >= p->cap) {
		p->truncated |= p->len > 0 || n > p->cap;
		memcpy(p->buf, data + n - p->cap, p->cap);
		p->len = p->cap;
	} else {
		if (p->len + n > p->cap) {
			size_t	drop = p->len + n - p->cap;

			memmove(p->buf, p->buf + drop, p->len - drop);
			p->len -= drop;
			p->truncated = 1;
		}
		memcpy(p->buf + p->len, data, n);
		p->len += n;
	}
	p->buf[p->len] = '\0';
}

/* Reads what the pipe holds now; closes it at EOF. */
static void
out_drain(struct proc *p)
{
	char	chunk[4096];
	ssize_t	n;

	while (p->out != -1) {
		n = read(p->out, chunk, sizeof(chunk));
		if (n > 0) {
			out_append(p, chunk, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		event_del(p->ev_out);
		close(p->out);
		p->out = -1;
	}
}

static void
out_cb(evutil_socket_t fd, short what, void *v)
{
	(void)fd;
	(void)what;
	out_drain(v);
}

static void
proc_release(struct proc *p)
{
	if (p->ev_exit != NULL)
		event_free(p->ev_exit);
	if (p->ev_out != NULL)
		event_free(p->ev_out);
	if (p->ev_timer != NULL)
		event_free(p->ev_timer);
	if (p->out != -1)
		close(p->out);
	if (p->pidfd != -1)
		close(p->pidfd);
	free(p->buf);
	free(p);
}

/* pidfd readable: the child has exited (EV_PERSIST off: fires once). */
static void
exit_cb(evutil_socket_t fd, short what, void *v)
{
	struct proc		*p = v;
	struct proc_result	 res;
	int			 st = 0;
	pid_t			 r;

	(void)fd;
	(void)what;
	do
		r = waitpid(p->pid, &st, WNOHANG);
	while (r == -1 && errno == EINTR);
	if (r == 0) {		/* spurious: wait for the real exit */
		event_add(p->ev_exit, NULL);
		return;
	}
	out_drain(p);
	memset(&res, 0, sizeof(res));
	res.exited = r == p->pid && WIFEXITED(st);
	res.status = !res.exited && r == p->pid && WIFSIGNALED(st) ?
	    WTERMSIG(st) : WEXITSTATUS(st);
	res.timed_out = p->timed_out;
	res.output = p->buf;
	res.output_len = p->len;
	res.truncated = p->truncated;
	p->cb(&res, p->arg);
	proc_release(p);
}

static void
timer_cb(evutil_socket_t fd, short what, void *v)
{
	struct proc	*p = v;
	struct timeval	 tv;

	(void)fd;
	(void)what;
	if (!p->termed) {
		/* the whole group: a shell's children go too */
		p->timed_out = 1;
		p->termed = 1;
		kill(-p->pid, SIGTERM);
		tv.tv_sec = p->grace_ms / 1000;
		tv.tv_usec = (p->grace_ms % 1000) * 1000;
		evtimer_add(p->ev_timer, &tv);
	} else
		kill(-p->pid, SIGKILL);
}

/* Fills the spawn attributes: own process group, default signals, empty mask. */
static void
spawn_attr(posix_spawnattr_t *attr)
{
	sigset_t	all, none;

	sigfillset(&all);
	sigemptyset(&none);
	posix_spawnattr_init(attr);
	posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	posix_spawnattr_setpgroup(attr, 0);
	posix_spawnattr_setsigdefault(attr, &all);
	posix_spawnattr_setsigmask(attr, &none);
}

/* stdin /dev/null, stdout and stderr to the pipe, every other fd closed. */
static void
spawn_files(posix_spawn_file_actions_t *fa, int wr)
{
	posix_spawn_file_actions_init(fa);
	posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(fa, wr, 1);
	posix_spawn_file_actions_adddup2(fa, wr, 2);
	posix_spawn_file_actions_addclosefrom_np(fa, 3);
}

/* Starts the child; returns 0 or -1 with the reason in err. */
static int
proc_start(struct proc *p, const struct proc_opts *opts, char *err,
    size_t errlen)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t	 attr;
	char			**envp;
	int			 pfd[2], rc;

	if (pipe2(pfd, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	spawn_files(&fa, pfd[1]);
	spawn_attr(&attr);
	envp = env_build(opts->env);
	rc = posix_spawn(&p->pid, opts->argv[0], &fa, &attr, opts->argv, envp);
	free(envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(pfd[1]);
	p->out = pfd[0];
	if (rc != 0) {
		snprintf(err, errlen, "execve %s: %s", opts->argv[0],
		    strerror(rc));
		return -1;
	}
	if ((p->pidfd = pidfd_open(p->pid, 0)) == -1) {
		snprintf(err, errlen, "pidfd_open: %s", strerror(errno));
		kill(-p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		return -1;
	}
	fcntl(p->out, F_SETFL, O_NONBLOCK);
	return 0;
}

struct proc *
proc_spawn(struct event_base *base, const struct proc_opts *opts,
    proc_done_cb cb, void *arg, char *err, size_t errlen)
{
	struct proc	*p;
	struct timeval	 tv;

	if (opts->argv == NULL || opts->argv[0] == NULL ||
	    opts->argv[0][0] != '/') {
		snprintf(err, errlen, "hook: argv[0] must be an absolute path");
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->base = base;
	p->pidfd = p->out = -1;
	p->cb = cb;
	p->arg = arg;
	p->cap = opts->max_output != 0 ? opts->max_output :
	    PROC_DEFAULT_MAX_OUTPUT;
	p->buf = xmalloc(p->cap + 1);
	p->buf[0] = '\0';
	p->grace_ms = opts->kill_grace_ms > 0 ? opts->kill_grace_ms :
	    PROC_DEFAULT_KILL_GRACE_MS;
	if (proc_start(p, opts, err, errlen) == -1) {
		proc_release(p);
		return NULL;
	}
	p->ev_exit = event_new(base, p->pidfd, EV_READ, exit_cb, p);
	p->ev_out = event_new(base, p->out, EV_READ | EV_PERSIST, out_cb, p);
	p->ev_timer = evtimer_new(base, timer_cb, p);
	event_add(p->ev_exit, NULL);
	event_add(p->ev_out, NULL);
	if (opts->timeout_ms > 0) {
		tv.tv_sec = opts->timeout_ms / 1000;
		tv.tv_usec = (opts->timeout_ms % 1000) * 1000;
		evtimer_add(p->ev_timer, &tv);
	}
	return p;
}

void
proc_kill(struct proc *p)
{
	if (p == NULL)
		return;
	kill(-p->pid, SIGKILL);
	/* SIGKILL cannot be caught: this wait ends at once */
	while (waitpid(p->pid, NULL, 0) == -1 && errno == EINTR)
		;
	proc_release(p);
}

int
proc_pid(const struct proc *p)
{
	return (int)p->pid;
}
