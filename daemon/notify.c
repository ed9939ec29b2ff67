/* notify.c - the notify hooks: one run per hook and event, bounded */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "notify.h"
#include "proc.h"
#include "validate.h"
#include "xmalloc.h"

/*
 * Every event becomes one job per hook. Jobs wait in a FIFO and at most
 * NOTIFY_MAX_RUNNING run; a job keeps its environment, and takes its argv
 * from the inventory in force when it starts (a reload may have removed
 * the hook: then it is dropped). Hooks are hygienic as reload hooks are
 * (proc.c: no shell, own process group, scrubbed environment, timeout,
 * bounded output); a failure is logged with the tail of what it said.
 */

struct job {
	TAILQ_ENTRY(job) entry;
	struct notifier	*n;
	size_t		 hook;		/* index into cfg->hooks */
	char		*cert;
	char		*event;
	char		**env;		/* RENEWD_*, NULL-terminated */
	struct proc	*proc;		/* running, or NULL */
};
TAILQ_HEAD(jobq, job);

struct notifier {
	struct event_base	*base;
	const struct conf_notify *cfg;
	struct conf_notify	 none;	/* until the first apply */
	struct jobq		 waiting, running;
	size_t			 nwaiting, nrunning;
	notify_idle_cb		 idle;
	void			*idle_arg;
};

static void	run_next(struct notifier *);

unsigned
notify_kind(const char *event)
{
	if (strcmp(event, NOTIFY_FAILURE) == 0)
		return CONF_NOTIFY_FAILURE;
	if (strcmp(event, NOTIFY_EXPIRING) == 0)
		return CONF_NOTIFY_EXPIRING;
	if (strcmp(event, NOTIFY_SUCCESS) == 0)
		return CONF_NOTIFY_SUCCESS;
	return 0;
}

static void
job_free(struct job *j)
{
	size_t	i;

	if (j == NULL)
		return;
	proc_kill(j->proc);
	for (i = 0; j->env[i] != NULL; i++)
		free(j->env[i]);
	free(j->env);
	free(j->cert);
	free(j->event);
	free(j);
}

/* proc_done_cb: the hook ended. */
static void
job_done(const struct proc_result *res, void *arg)
{
	struct job	*j = arg;
	struct notifier	*n = j->n;
	char		 tail[600];
	size_t		 off;

	off = res->output_len > 300 ? res->output_len - 300 : 0;
	valid_quote(res->output + off, res->output_len - off, tail,
	    sizeof(tail));
	if (res->exited && res->status == 0)
		log_msg(LOG_LVL_INFO, j->cert, "notify hook %zu: told of %s",
		    j->hook + 1, j->event);
	else if (res->timed_out)
		log_msg(LOG_LVL_WARNING, j->cert, "notify hook %zu (%s): killed "
		    "after its timeout; output %s", j->hook + 1, j->event, tail);
	else
		log_msg(LOG_LVL_WARNING, j->cert, "notify hook %zu (%s): %s %d; "
		    "output %s", j->hook + 1, j->event, res->exited ?
		    "exited with status" : "killed by signal", res->status, tail);
	j->proc = NULL;		/* proc.c frees it after this callback */
	TAILQ_REMOVE(&n->running, j, entry);
	n->nrunning--;
	job_free(j);
	run_next(n);
	if (n->nrunning + n->nwaiting == 0 && n->idle != NULL)
		n->idle(n->idle_arg);
}

static void
run_next(struct notifier *n)
{
	struct proc_opts o;
	struct job	*j;
	char		 err[512];

	while (n->nrunning < NOTIFY_MAX_RUNNING &&
	    (j = TAILQ_FIRST(&n->waiting)) != NULL) {
		TAILQ_REMOVE(&n->waiting, j, entry);
		n->nwaiting--;
		if (j->hook >= n->cfg->nhooks) {	/* reloaded away */
			job_free(j);
			continue;
		}
		memset(&o, 0, sizeof(o));
		o.argv = n->cfg->hooks[j->hook].argv.v;
		o.env = j->env;
		o.timeout_ms = n->cfg->hooks[j->hook].timeout * 1000;
		if ((j->proc = proc_spawn(n->base, &o, job_done, j, err,
		    sizeof(err))) == NULL) {
			log_msg(LOG_LVL_WARNING, j->cert, "notify hook %zu (%s): "
			    "%s", j->hook + 1, j->event, err);
			job_free(j);
			continue;
		}
		TAILQ_INSERT_TAIL(&n->running, j, entry);
		n->nrunning++;
	}
}

/* The environment of ev's hooks. */
static char **
event_env(const struct notify_event *ev)
{
	char	**env, na[32];
	size_t	  i = 0;

	env = xcalloc(8, sizeof(*env));
	env[i++] = xasprintf("RENEWD_EVENT=%s", ev->event);
	env[i++] = xasprintf("RENEWD_CERT=%s", ev->cert);
	env[i++] = xasprintf("RENEWD_DOMAINS=%s", ev->domains);
	env[i++] = xasprintf("RENEWD_CA=%s", ev->ca != NULL ? ev->ca : "");
	env[i++] = xasprintf("RENEWD_ERROR=%s", ev->error != NULL ?
	    ev->error : "");
	env[i++] = xasprintf("RENEWD_NOT_AFTER=%s", ev->not_after != 0 ?
	    log_fmt_time(ev->not_after, na, sizeof(na)) : "");
	env[i++] = xasprintf("RENEWD_FAILURES=%u", ev->failures);
	return env;
}

void
notify_post(struct notifier *n, const struct notify_event *ev)
{
	struct job	*j;
	char		**env;
	size_t		  h;

	if (n == NULL || n->cfg->nhooks == 0 ||
	    (n->cfg->on & notify_kind(ev->event)) == 0)
		return;
	if (n->nwaiting + n->cfg->nhooks > NOTIFY_MAX_QUEUED) {
		log_msg(LOG_LVL_WARNING, ev->cert, "notify: %zu events waiting; "
		    "not telling the hooks of %s", n->nwaiting, ev->event);
		return;
	}
	log_msg(LOG_LVL_NOTICE, ev->cert, "notify: %s (%u failed attempt(s))",
	    ev->event, ev->failures);
	for (h = 0; h < n->cfg->nhooks; h++) {
		env = event_env(ev);
		j = xcalloc(1, sizeof(*j));
		j->n = n;
		j->hook = h;
		j->cert = xstrdup(ev->cert);
		j->event = xstrdup(ev->event);
		j->env = env;
		TAILQ_INSERT_TAIL(&n->waiting, j, entry);
		n->nwaiting++;
	}
	run_next(n);
}

struct notifier *
notifier_new(struct event_base *base, notify_idle_cb idle, void *arg)
{
	struct notifier	*n;

	n = xcalloc(1, sizeof(*n));
	n->base = base;
	n->idle = idle;
	n->idle_arg = arg;
	n->cfg = &n->none;
	TAILQ_INIT(&n->waiting);
	TAILQ_INIT(&n->running);
	return n;
}

void
notifier_apply(struct notifier *n, const struct conf_notify *cfg)
{
	n->cfg = cfg != NULL ? cfg : &n->none;
}

size_t
notifier_busy(const struct notifier *n)
{
	return n->nrunning + n->nwaiting;
}

const struct conf_notify *
notifier_conf(const struct notifier *n)
{
	return n->cfg;
}

void
notifier_free(struct notifier *n)
{
	struct job	*j;

	if (n == NULL)
		return;
	while ((j = TAILQ_FIRST(&n->running)) != NULL) {
		TAILQ_REMOVE(&n->running, j, entry);
		job_free(j);
	}
	while ((j = TAILQ_FIRST(&n->waiting)) != NULL) {
		TAILQ_REMOVE(&n->waiting, j, entry);
		job_free(j);
	}
	free(n);
}
