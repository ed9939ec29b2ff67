/* challenge_dns_hook.c - dns-01 solver: an exec hook adds and deletes TXT records */
#include "config.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "acme_solver.h"
#include "challenge_dns.h"
#include "challenge_dns_hook.h"
#include "log.h"
#include "proc.h"
#include "validate.h"
#include "xmalloc.h"

/*
 * One record per publish, on one FIFO list; its state says what it waits
 * for (tmux job.c's shape: a record is gone only when its del has run).
 *
 *   state     event                      next      action
 *   ADD_Q     a slot, the name is free   ADDING    run "add"
 *   ADD_Q     withdrawn                  (freed)   add never ran: no del
 *   ADDING    exit 0, delay > 0          SETTLE    propagation timer
 *   ADDING    exit 0, check on           PROP      poll the resolvers
 *   ADDING    exit 0                     UP        done(NULL)
 *   ADDING    failed, killed, no exec    FAILED    done(error)
 *   ADDING    withdrawn                  ADDING    del once the add ends
 *   SETTLE    timer                      PROP/UP   as after the add
 *   PROP      visible                    UP        done(NULL)
 *   PROP      timeout                    FAILED    done(error)
 *   UP/FAILED/SETTLE/PROP  withdrawn     DEL_Q
 *   DEL_Q     a slot, the name is free   DELETING  run "del"
 *   DELETING  exit (any)                 (freed)   a failure is logged
 *
 * done is never called from inside publish or withdraw, nor while the list
 * is walked: a record that owes its caller an answer is marked (report)
 * and answered by report_all, which starts over after every call, since
 * done may withdraw any record (acme fails the whole order).
 * withdraw matches a record by name and value among those not withdrawn:
 * a name belongs to one certificate, which has one order at a time, so
 * the match is unique.
 */

enum rec_state { ADD_Q, ADDING, SETTLE, PROP, UP, FAILED, DEL_Q, DELETING };

struct rec {
	TAILQ_ENTRY(rec)	 entry;
	struct chall_dns_hook	*h;
	enum rec_state		 state;
	int			 withdrawn;
	int			 report;	/* done(ctx, error) is owed */
	char			*cert, *domain, *name, *value, *error;
	acme_solver_done	 done;
	void			*ctx;
	struct proc		*proc;
	struct event		*timer;
	struct dns_prop		*prop;
};
TAILQ_HEAD(rec_list, rec);

struct chall_dns_hook {
	struct event_base	*base;
	char			**argv;		/* the hook's own, copied */
	size_t			 argc;
	long			 timeout_ms, propagation_ms, grace_ms;
	struct dns_prop_opts	 prop;
	char			**resolvers;	/* prop's, copied */
	struct rec_list		 recs;
	size_t			 running;
	struct event		*kick;		/* pump from the loop */
};

static void	pump(struct chall_dns_hook *);

static void
rec_free(struct rec *r)
{
	TAILQ_REMOVE(&r->h->recs, r, entry);
	proc_kill(r->proc);
	dns_prop_cancel(r->prop);
	if (r->timer != NULL)
		event_free(r->timer);
	free(r->cert);
	free(r->domain);
	free(r->name);
	free(r->value);
	free(r->error);
	free(r);
}

/* Answers every publish that is owed one; each done may change the list. */
static void
report_all(struct chall_dns_hook *h)
{
	struct rec		*r;
	acme_solver_done	 done;
	void			*ctx;

	for (;;) {
		TAILQ_FOREACH(r, &h->recs, entry)
			if (r->report)
				break;
		if (r == NULL)
			return;
		r->report = 0;
		done = r->done;
		ctx = r->ctx;
		r->done = NULL;
		r->ctx = NULL;
		done(ctx, r->state == FAILED ? r->error : NULL);
	}
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct chall_dns_hook *h = arg;

	pump(h);
	report_all(h);
}

/* The add has ended well, and the propagation delay too. */
static void
rec_up(struct rec *r)
{
	r->state = UP;
	r->report = 1;
	log_msg(LOG_LVL_INFO, r->cert, "dns-01: added %s", r->name);
}

static void
prop_done(void *arg, const char *error)
{
	struct rec		*r = arg;
	struct chall_dns_hook	*h = r->h;

	r->prop = NULL;
	if (error == NULL)
		rec_up(r);
	else {
		r->error = xstrdup(error);
		r->state = FAILED;
		r->report = 1;
	}
	report_all(h);
}

/* The add and its delay are over: the record is up once resolvers see it. */
static void
rec_added(struct rec *r)
{
	if (!r->h->prop.check) {
		rec_up(r);
		return;
	}
	r->state = PROP;
	r->prop = dns_prop_start(r->h->base, &r->h->prop, r->cert, r->name,
	    r->value, prop_done, r);
}

static void
settle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rec		*r = arg;
	struct chall_dns_hook	*h = r->h;

	rec_added(r);
	report_all(h);
}

/* Returns malloc'd "exited 1", "killed at its 30s timeout", ..., with the output's tail. */
static char *
describe(const struct rec *r, const struct proc_result *res)
{
	char		 q[256], *how;
	const char	*out = res->output;
	size_t		 len = res->output_len;

	while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
		len--;
	if (len > 200) {
		out += len - 200;
		len = 200;
	}
	if (res->timed_out && r->h->timeout_ms % 1000 != 0)
		how = xasprintf("killed at its %ldms timeout", r->h->timeout_ms);
	else if (res->timed_out)
		how = xasprintf("killed at its %lds timeout",
		    r->h->timeout_ms / 1000);
	else if (!res->exited)
		how = xasprintf("killed by signal %d", res->status);
	else
		how = xasprintf("exited %d", res->status);
	if (len > 0) {
		char *s = xasprintf("%s: %s", how, valid_quote(out, len, q,
		    sizeof(q)));

		free(how);
		how = s;
	}
	return how;
}

/* A run has ended: returns NULL if it succeeded, else malloc'd how it failed. */
static char *
rec_ran(struct rec *r, const struct proc_result *res)
{
	r->proc = NULL;
	r->h->running--;
	if (res->exited && res->status == 0 && !res->timed_out)
		return NULL;
	return describe(r, res);
}

static void
add_done(const struct proc_result *res, void *arg)
{
	struct rec		*r = arg;
	struct chall_dns_hook	*h = r->h;
	struct timeval		 tv;
	char			*how;

	if ((how = rec_ran(r, res)) != NULL) {
		r->error = xasprintf("dns-01 hook add %s for %s: %s", r->name,
		    r->cert, how);
		log_msg(LOG_LVL_ERR, r->cert, "%s", r->error);
		free(how);
		r->state = FAILED;
		r->report = !r->withdrawn;
	} else if (!r->withdrawn && h->propagation_ms > 0) {
		r->state = SETTLE;
		tv.tv_sec = h->propagation_ms / 1000;
		tv.tv_usec = (h->propagation_ms % 1000) * 1000;
		r->timer = evtimer_new(h->base, settle_cb, r);
		evtimer_add(r->timer, &tv);
	} else if (!r->withdrawn)
		rec_added(r);
	/* withdrawn while adding: del whatever the outcome */
	if (r->withdrawn)
		r->state = DEL_Q;
	pump(h);
	report_all(h);
}

static void
del_done(const struct proc_result *res, void *arg)
{
	struct rec		*r = arg;
	struct chall_dns_hook	*h = r->h;
	char			*how;

	if ((how = rec_ran(r, res)) != NULL)
		log_msg(LOG_LVL_WARNING, r->cert, "dns-01 hook del %s: %s; the "
		    "record may stay in DNS", r->name, how);
	else
		log_msg(LOG_LVL_DEBUG, r->cert, "dns-01: deleted %s", r->name);
	free(how);
	rec_free(r);
	pump(h);
	report_all(h);
}

/* Starts "HOOK... add|del NAME VALUE" for r. Returns 0, or -1 (r->error set). */
static int
run(struct rec *r, const char *action)
{
	struct chall_dns_hook	*h = r->h;
	struct proc_opts	 o;
	char			**argv, *env[6], err[512];
	size_t			 i;

	argv = xcalloc(h->argc + 4, sizeof(*argv));
	for (i = 0; i < h->argc; i++)
		argv[i] = h->argv[i];
	argv[i++] = (char *)action;
	argv[i++] = r->name;
	argv[i++] = r->value;
	env[0] = xasprintf("RENEWD_DNS_ACTION=%s", action);
	env[1] = xasprintf("RENEWD_DNS_NAME=%s", r->name);
	env[2] = xasprintf("RENEWD_DNS_VALUE=%s", r->value);
	env[3] = xasprintf("RENEWD_DOMAIN=%s", r->domain);
	env[4] = xasprintf("RENEWD_CERT_NAME=%s", r->cert);
	env[5] = NULL;
	memset(&o, 0, sizeof(o));
	o.argv = argv;
	o.env = env;
	o.timeout_ms = h->timeout_ms;
	o.kill_grace_ms = h->grace_ms;
	r->proc = proc_spawn(h->base, &o, strcmp(action, "add") == 0 ?
	    add_done : del_done, r, err, sizeof(err));
	for (i = 0; i < 5; i++)
		free(env[i]);
	free(argv);
	if (r->proc == NULL) {
		free(r->error);
		r->error = xasprintf("dns-01 hook %s %s for %s: %s", action,
		    r->name, r->cert, err);
		log_msg(LOG_LVL_ERR, r->cert, "%s", r->error);
		return -1;
	}
	h->running++;
	log_msg(LOG_LVL_DEBUG, r->cert, "dns-01: %s %s %s", action, r->name,
	    r->value);
	return 0;
}

/* Returns 1 if r may start: no run for its name now, none queued before it. */
static int
name_free(const struct rec *r)
{
	const struct rec *o;

	TAILQ_FOREACH(o, &r->h->recs, entry) {
		if (o == r || strcmp(o->name, r->name) != 0)
			continue;
		if (o->state == ADDING || o->state == DELETING)
			return 0;
	}
	for (o = TAILQ_PREV(r, rec_list, entry); o != NULL;
	    o = TAILQ_PREV(o, rec_list, entry))
		if ((o->state == ADD_Q || o->state == DEL_Q) &&
		    strcmp(o->name, r->name) == 0)
			return 0;
	return 1;
}

/* Starts what may start, oldest first; a failed start is reported later. */
static void
pump(struct chall_dns_hook *h)
{
	struct rec	*r, *next;

	for (r = TAILQ_FIRST(&h->recs); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (h->running >= CHALL_DNS_MAX_RUNNING)
			return;
		if ((r->state != ADD_Q && r->state != DEL_Q) || !name_free(r))
			continue;
		if (r->state == DEL_Q) {
			r->state = DELETING;
			if (run(r, "del") == -1)
				rec_free(r);
		} else if (run(r, "add") == 0)
			r->state = ADDING;
		else {
			r->state = FAILED;
			r->report = 1;
		}
	}
}

/* ------------------------------------------------------- solver contract */

static int
solver_publish(void *arg, const struct acme_challenge *c,
    acme_solver_done done, void *ctx)
{
	struct chall_dns_hook	*h = arg;
	struct rec		*r;
	char			*name;

	if ((name = chall_dns_record(c)) == NULL)
		return -1;
	r = xcalloc(1, sizeof(*r));
	r->h = h;
	r->state = ADD_Q;
	r->cert = xstrdup(c->cert != NULL ? c->cert : "-");
	r->domain = xstrdup(c->id_value);
	r->name = name;
	r->value = xstrdup(c->digest);
	r->done = done;
	r->ctx = ctx;
	TAILQ_INSERT_TAIL(&h->recs, r, entry);
	event_active(h->kick, EV_TIMEOUT, 0);
	return 1;
}

static void
solver_withdraw(void *arg, const struct acme_challenge *c)
{
	struct chall_dns_hook	*h = arg;
	struct rec		*r;
	char			*name;

	if (c->digest == NULL)
		return;
	name = xasprintf("_acme-challenge.%s", c->id_value);
	TAILQ_FOREACH(r, &h->recs, entry)
		if (!r->withdrawn && strcmp(r->name, name) == 0 &&
		    strcmp(r->value, c->digest) == 0)
			break;
	free(name);
	if (r == NULL)
		return;
	/* an abandoned publish is never answered */
	r->withdrawn = 1;
	r->report = 0;
	r->done = NULL;
	r->ctx = NULL;
	if (r->state == ADD_Q) {
		rec_free(r);
		return;
	}
	if (r->state == SETTLE)
		evtimer_del(r->timer);
	dns_prop_cancel(r->prop);
	r->prop = NULL;
	if (r->state != ADDING)
		r->state = DEL_Q;
	event_active(h->kick, EV_TIMEOUT, 0);
}

void
chall_dns_hook_solver(struct chall_dns_hook *h, struct acme_solver *s)
{
	*s = (struct acme_solver){ "dns-01", chall_dns_can, solver_publish,
	    solver_withdraw, h };
}

/* ------------------------------------------------------------ lifecycle */

struct chall_dns_hook *
chall_dns_hook_new(struct event_base *base,
    const struct chall_dns_hook_opts *opts)
{
	struct chall_dns_hook	*h = xcalloc(1, sizeof(*h));
	size_t			 i;

	h->base = base;
	h->argc = opts->argc;
	h->argv = xcalloc(h->argc + 1, sizeof(*h->argv));
	for (i = 0; i < h->argc; i++)
		h->argv[i] = xstrdup(opts->argv[i]);
	h->timeout_ms = opts->timeout_ms;
	h->propagation_ms = opts->propagation_ms;
	h->grace_ms = opts->kill_grace_ms;
	h->prop = opts->prop;
	h->resolvers = xcalloc(opts->prop.nresolvers + 1, sizeof(char *));
	for (i = 0; i < opts->prop.nresolvers; i++)
		h->resolvers[i] = xstrdup(opts->prop.resolvers[i]);
	h->prop.resolvers = h->resolvers;
	TAILQ_INIT(&h->recs);
	h->kick = event_new(base, -1, 0, kick_cb, h);
	return h;
}

size_t
chall_dns_hook_count(const struct chall_dns_hook *h)
{
	const struct rec *r;
	size_t		  n = 0;

	if (h == NULL)
		return 0;
	TAILQ_FOREACH(r, &h->recs, entry)
		n += r->state != ADD_Q;
	return n;
}

/* Returns how many records still owe a del. */
static size_t
dels_owed(const void *arg)
{
	const struct chall_dns_hook *h = arg;
	const struct rec *r;
	size_t		  n = 0;

	TAILQ_FOREACH(r, &h->recs, entry)
		n += r->withdrawn && r->state != ADD_Q;
	return n;
}

size_t
chall_dns_hook_drain(struct chall_dns_hook *h)
{
	if (h == NULL)
		return 0;
	return chall_dns_drain(h->base, dels_owed, h, h->timeout_ms +
	    (h->grace_ms > 0 ? h->grace_ms : PROC_DEFAULT_KILL_GRACE_MS) + 1000,
	    "del hook");
}

void
chall_dns_hook_free(struct chall_dns_hook *h)
{
	struct rec	*r;
	size_t		 i;

	if (h == NULL)
		return;
	while ((r = TAILQ_FIRST(&h->recs)) != NULL) {
		if (r->state != ADD_Q)
			log_msg(LOG_LVL_WARNING, r->cert, "dns-01: shutting "
			    "down before \"del %s\" ran; the record may stay "
			    "in DNS", r->name);
		rec_free(r);
	}
	for (i = 0; i < h->argc; i++)
		free(h->argv[i]);
	free(h->argv);
	for (i = 0; i < h->prop.nresolvers; i++)
		free(h->resolvers[i]);
	free(h->resolvers);
	event_free(h->kick);
	free(h);
}
