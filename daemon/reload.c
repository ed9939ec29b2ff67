/* reload.c - reload targets shared by certificates: merged, debounced, one run at a time */
#include "config.h"

#include <sys/queue.h>
#include <sys/types.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "bus.h"
#include "conf.h"
#include "fsutil.h"
#include "log.h"
#include "proc.h"
#include "reload.h"
#include "validate.h"
#include "xmalloc.h"

/*
 * A target is one reload entry as the inventory spells it (a unit and its
 * mode, an argv, a signal and pid file), shared by every certificate whose
 * list has it. Requests wait in t->waiting; the target fires once for all
 * of them, reload_delay after the last but no later than reload_max_delay
 * after the first, and they move to t->running for the run. A target
 * never runs twice at once: requests that arrive while it runs wait for
 * the next run, which is armed when this one ends. A target with nothing
 * waiting after its run is freed.
 */

struct target {
	struct reloader	*rl;
	struct conf_reload key;
	struct reload_client **waiting, **running;
	size_t		 nwaiting, nrunning;
	int64_t		 latest;	/* ms: last request + its delay */
	int64_t		 cap;		/* ms: first request + its max delay */
	struct event	*timer;
	struct proc	*proc;
	struct bus_job	*job;
	int		 active;
	TAILQ_ENTRY(target) entry;
};

struct reloader {
	struct event_base *base;
	const char	*state_dir;
	struct bus	*bus;		/* connected at the first unit: reload */
	TAILQ_HEAD(, target) targets;
};

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
arm_ms(struct event *ev, int64_t ms)
{
	struct timeval	tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

/* "exec /usr/sbin/nginx -s reload", "signal HUP (/run/x.pid)", "unit x" */
void
reload_name(const struct conf_reload *r, char *buf, size_t len)
{
	size_t	i, o;

	switch (r->kind) {
	case RELOAD_UNIT:
		snprintf(buf, len, "unit %s", r->unit);
		break;
	case RELOAD_SIGNAL:
		snprintf(buf, len, "signal %s (%s)", sigabbrev_np(r->signo),
		    r->pidfile);
		break;
	case RELOAD_EXEC:
	default:
		o = (size_t)snprintf(buf, len, "exec");
		for (i = 0; i < r->argv.n && o < len; i++)
			o += (size_t)snprintf(buf + o, len - o, " %s",
			    r->argv.v[i]);
		break;
	}
}

static void
reload_copy(struct conf_reload *d, const struct conf_reload *s)
{
	size_t	i;

	*d = *s;
	d->unit = s->unit != NULL ? xstrdup(s->unit) : NULL;
	d->pidfile = s->pidfile != NULL ? xstrdup(s->pidfile) : NULL;
	d->argv.v = xcalloc(s->argv.n + 1, sizeof(*d->argv.v));
	for (i = 0; i < s->argv.n; i++)
		d->argv.v[i] = xstrdup(s->argv.v[i]);
}

static void	target_cb(evutil_socket_t, short, void *);

static struct target *
target_get(struct reloader *rl, const struct conf_reload *r)
{
	struct target	*t;

	TAILQ_FOREACH(t, &rl->targets, entry)
		if (conf_reload_equal(&t->key, r))
			return t;
	t = xcalloc(1, sizeof(*t));
	t->rl = rl;
	reload_copy(&t->key, r);
	t->timer = evtimer_new(rl->base, target_cb, t);
	TAILQ_INSERT_TAIL(&rl->targets, t, entry);
	return t;
}

static void
target_free(struct target *t)
{
	size_t	i;

	TAILQ_REMOVE(&t->rl->targets, t, entry);
	proc_kill(t->proc);
	bus_job_cancel(t->job);
	event_free(t->timer);
	free(t->key.unit);
	free(t->key.pidfile);
	for (i = 0; i < t->key.argv.n; i++)
		free(t->key.argv.v[i]);
	free(t->key.argv.v);
	free(t->waiting);
	free(t->running);
	free(t);
}

/* Fires the target when its waiting requests say so (not while it runs). */
static void
target_arm(struct target *t)
{
	int64_t	fire = t->latest < t->cap ? t->latest : t->cap;

	if (!t->active && t->nwaiting > 0)
		arm_ms(t->timer, fire - now_ms());
}

/* c asks for target t's next run: delay_s after now, at most max_s. */
static void
target_request(struct target *t, struct reload_client *c, long delay_s,
    long max_s)
{
	int64_t	now = now_ms();
	int64_t	latest = now + (int64_t)delay_s * 1000;
	int64_t	cap = now + (int64_t)max_s * 1000;

	if (t->nwaiting == 0) {
		t->latest = latest;
		t->cap = cap;
	} else {
		t->latest = latest > t->latest ? latest : t->latest;
		t->cap = cap < t->cap ? cap : t->cap;
	}
	t->waiting = xreallocarray(t->waiting, t->nwaiting + 1,
	    sizeof(*t->waiting));
	t->waiting[t->nwaiting++] = c;
	target_arm(t);
}

/*
 * A run ended: each client it ran for hears how. Requests that came
 * meanwhile get their own run.
 */
static void
target_done(struct target *t, int ok, const char *msg)
{
	struct reload_client **run = t->running;
	size_t		  i, n = t->nrunning;

	t->running = NULL;
	t->nrunning = 0;
	t->active = 0;
	t->proc = NULL;
	t->job = NULL;
	/* a client's done may ask for this target again: it waits */
	for (i = 0; i < n; i++)
		if (run[i] != NULL)	/* not cancelled meanwhile */
			run[i]->done(run[i], ok, msg);
	free(run);
	if (t->nwaiting > 0)
		target_arm(t);
	else
		target_free(t);
}

static void
exec_done(const struct proc_result *res, void *arg)
{
	struct target	*t = arg;
	char		 msg[1024], name[256], tail[600];
	size_t		 off;

	reload_name(&t->key, name, sizeof(name));
	/* the end of what it said is what explains a failure */
	off = res->output_len > 300 ? res->output_len - 300 : 0;
	valid_quote(res->output + off, res->output_len - off, tail,
	    sizeof(tail));
	if (res->exited && res->status == 0) {
		target_done(t, 1, "ok");
		return;
	}
	if (res->timed_out)
		snprintf(msg, sizeof(msg), "reload %s: killed after its timeout "
		    "of %ld s (signal %d); output %s", name, t->key.timeout,
		    res->status, tail);
	else if (res->exited)
		snprintf(msg, sizeof(msg), "reload %s: exited with status %d; "
		    "output %s", name, res->status, tail);
	else
		snprintf(msg, sizeof(msg), "reload %s: killed by signal %d; "
		    "output %s", name, res->status, tail);
	target_done(t, 0, msg);
}

/* RENEWD_* for a hook: the first certificate's files, every name. */
static char **
exec_env(const struct target *t)
{
	const struct reload_client *first = NULL;
	const char	*sd = t->rl->state_dir;
	char		**env, *doms, *names, *tmp;
	size_t		  i;

	names = xstrdup("");
	for (i = 0; i < t->nrunning; i++) {
		if (t->running[i] == NULL)
			continue;
		if (first == NULL)
			first = t->running[i];
		tmp = xasprintf("%s%s%s", names, *names != '\0' ? " " : "",
		    t->running[i]->cfg->name);
		free(names);
		names = tmp;
	}
	env = xcalloc(10, sizeof(*env));
	if (first == NULL) {
		free(names);
		return env;
	}
	doms = xstrdup("");
	for (i = 0; i < first->cfg->domains.n; i++) {
		tmp = xasprintf("%s%s%s", doms, i > 0 ? " " : "",
		    first->cfg->domains.v[i]);
		free(doms);
		doms = tmp;
	}
	i = 0;
	env[i++] = xasprintf("RENEWD_CERT_NAME=%s", first->cfg->name);
	env[i++] = xasprintf("RENEWD_CERT_NAMES=%s", names);
	env[i++] = xasprintf("RENEWD_DOMAINS=%s", doms);
	env[i++] = xasprintf("RENEWD_LIVE_DIR=%s/certs/%s/live", sd, first->cfg->name);
	env[i++] = xasprintf("RENEWD_CERT=%s/certs/%s/live/cert.pem", sd, first->cfg->name);
	env[i++] = xasprintf("RENEWD_CHAIN=%s/certs/%s/live/chain.pem", sd, first->cfg->name);
	env[i++] = xasprintf("RENEWD_FULLCHAIN=%s/certs/%s/live/fullchain.pem", sd, first->cfg->name);
	env[i++] = xasprintf("RENEWD_KEY=%s/certs/%s/live/privkey.pem", sd, first->cfg->name);
	free(doms);
	free(names);
	return env;
}

static void
run_exec(struct target *t)
{
	struct proc_opts o;
	char		**env = exec_env(t), err[512], msg[800], name[256];
	size_t		  i;

	memset(&o, 0, sizeof(o));
	o.argv = t->key.argv.v;
	o.env = env;
	o.timeout_ms = t->key.timeout * 1000;
	t->proc = proc_spawn(t->rl->base, &o, exec_done, t, err, sizeof(err));
	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
	if (t->proc == NULL) {
		reload_name(&t->key, name, sizeof(name));
		snprintf(msg, sizeof(msg), "reload %s: %s", name, err);
		target_done(t, 0, msg);
	}
}

/* Reads a pid file: one decimal pid > 1 of a process that exists. */
static pid_t
read_pid(const char *path, char *err, size_t errlen)
{
	char	*s, *end;
	long	 pid;

	if ((s = fsutil_read_file(path, 64, 0, NULL)) == NULL) {
		snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	errno = 0;
	pid = strtol(s, &end, 10);
	while (*end == '\n' || *end == ' ' || *end == '\t' || *end == '\r')
		end++;
	if (end == s || *end != '\0' || errno != 0 || pid <= 1 ||
	    pid > INT32_MAX) {
		snprintf(err, errlen, "pidfile %s: no valid pid in it (a pid "
		    "above 1 expected)", path);
		pid = -1;
	} else if (kill((pid_t)pid, 0) == -1 && errno == ESRCH) {
		snprintf(err, errlen, "pidfile %s: pid %ld: no such process",
		    path, pid);
		pid = -1;
	}
	free(s);
	return (pid_t)pid;
}

static void
run_signal(struct target *t)
{
	char	err[512], msg[800], ok[300];
	pid_t	pid;

	if ((pid = read_pid(t->key.pidfile, err, sizeof(err))) == -1) {
		snprintf(msg, sizeof(msg), "reload signal %s: %s",
		    sigabbrev_np(t->key.signo), err);
		target_done(t, 0, msg);
	} else if (kill(pid, t->key.signo) == -1) {
		snprintf(msg, sizeof(msg), "reload signal %s to pid %ld (%s): "
		    "%s%s", sigabbrev_np(t->key.signo), (long)pid,
		    t->key.pidfile, strerror(errno), errno == EPERM ?
		    " (needs CAP_KILL, or use a unit: reload)" : "");
		target_done(t, 0, msg);
	} else {
		snprintf(ok, sizeof(ok), "sent to pid %ld", (long)pid);
		target_done(t, 1, ok);
	}
}

static void
unit_done(void *arg, const char *result, const char *error)
{
	struct target	*t = arg;

	if (error != NULL)
		target_done(t, 0, error);
	else
		target_done(t, 1, result);
}

static void
run_unit(struct target *t)
{
	struct reloader *rl = t->rl;

	if (rl->bus == NULL)
		rl->bus = bus_new(rl->base);
	t->job = bus_reload_unit(rl->bus, t->key.unit,
	    t->key.mode == RELOAD_MODE_RESTART, t->key.timeout * 1000,
	    unit_done, t);
}

static void
target_cb(evutil_socket_t fd, short what, void *arg)
{
	struct target	*t = arg;
	size_t		 i;

	(void)fd;
	(void)what;
	t->running = t->waiting;
	t->nrunning = t->nwaiting;
	t->waiting = NULL;
	t->nwaiting = 0;
	t->active = 1;
	for (i = 0; i < t->nrunning && t->running[i] == NULL; i++)
		;
	if (i == t->nrunning) {
		/* every certificate that asked has gone: nothing to run */
		target_done(t, 1, "skipped");
		return;
	}
	switch (t->key.kind) {
	case RELOAD_EXEC:
		run_exec(t);
		break;
	case RELOAD_SIGNAL:
		run_signal(t);
		break;
	case RELOAD_UNIT:
		run_unit(t);
		break;
	}
}

struct reloader *
reloader_new(struct event_base *base, const char *state_dir)
{
	struct reloader	*rl = xcalloc(1, sizeof(*rl));

	rl->base = base;
	rl->state_dir = state_dir;
	TAILQ_INIT(&rl->targets);
	return rl;
}

void
reloader_free(struct reloader *rl)
{
	if (rl == NULL)
		return;
	while (!TAILQ_EMPTY(&rl->targets))
		target_free(TAILQ_FIRST(&rl->targets));
	bus_free(rl->bus);
	free(rl);
}

void
reload_request(struct reloader *rl, const struct conf_reload *r,
    struct reload_client *client, long delay_s, long max_s)
{
	target_request(target_get(rl, r), client, delay_s, max_s);
}

void
reload_cancel(struct reloader *rl, struct reload_client *client)
{
	struct target	*t;
	size_t		 i;

	TAILQ_FOREACH(t, &rl->targets, entry) {
		for (i = 0; i < t->nwaiting; i++)
			if (t->waiting[i] == client)
				t->waiting[i] = NULL;
		for (i = 0; i < t->nrunning; i++)
			if (t->running[i] == client)
				t->running[i] = NULL;
	}
}
