/* renew.c - the lifecycle of each certificate: check, key, order, install */
#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "acme.h"
#include "cluster.h"
#include "cluster_rec.h"
#include "conf.h"
#include "crypto.h"
#include "deliver.h"
#include "fsutil.h"
#include "htab.h"
#include "livecheck.h"
#include "log.h"
#include "loopstat.h"
#include "metrics.h"
#include "notify.h"
#include "renew.h"
#include "sched.h"
#include "store.h"
#include "theap.h"
#include "worker.h"
#include "xmalloc.h"

#ifndef TAILQ_FOREACH_SAFE	/* glibc's sys/queue.h lacks it */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

/*
 * Every managed certificate is in one state:
 *
 *   IDLE    waiting for its timer (a future check, a retry) or for nothing
 *   DUE     its timer is armed to fire at once: a check is coming
 *   KEYGEN  a worker thread generates its new key
 *   ORDER   an ACME order for it runs at cfg->ca.v[ca_index]
 *
 *   IDLE, DUE --timer--> check --live one good--> IDLE (timer at its due time)
 *                              --an order saved before a restart, and its
 *                                key (cert_resume)--> ORDER (resumed)
 *                              --else--> KEYGEN --key saved--> ORDER
 *   ORDER --a resumed order the CA cannot go on with--> KEYGEN (afresh)
 *   ORDER --chain verified and installed--> IDLE (timer at its due time)
 *   ORDER --order failed at the CA--> ORDER at the next usable CA; after
 *         the last: IDLE (backoff, or the earliest rate-limit deadline)
 *   ORDER --order failed for the domain or here--> IDLE (backoff)
 *   ORDER --chain refused or not installed--> IDLE (backoff)
 *   KEYGEN --no key--> IDLE (backoff)
 *   any --cert_stop (removed, settings or CA changed)--> IDLE
 *
 * With --once no timer is armed but for the first check: IDLE is final.
 * A certificate is busy in every state but IDLE, and the renewer is idle
 * when none is busy: set_state() is the one place that counts them.
 */
enum managed_state { MANAGED_IDLE, MANAGED_DUE, MANAGED_KEYGEN, MANAGED_ORDER,
	MANAGED_CLAIM };	/* cluster mode: asking for the certificate's lock */

struct renewer;

/* One CA client, kept across reloads while its settings stay the same. */
struct ca_slot {
	TAILQ_ENTRY(ca_slot)	 entry;
	char			*name;
	struct conf_ca		*cfg;		/* the settings it was made from */
	struct acme_ca		*ca;
	int			 seen;		/* still in the inventory (during apply) */
	/*
	 * The circuit breaker: open after an order failed for unavailability
	 * (after acme's retries); while open, one order at a time (the probe)
	 * goes to this CA, the others go on to their next CA or back off.
	 * Any answer but unavailability closes it.
	 */
	int			 open;
	struct managed		*probe;		/* the probe in flight, or NULL */
	struct renewer		*r;
	/*
	 * Cluster mode: one account per CA for the whole cluster. Until
	 * P accounts/<ca> is known, the node holding the lock "acct:<ca>"
	 * orders (and so registers) alone; the others' orders wait.
	 */
	int			 acct_ready;	/* orders may go to this CA */
	int			 acct_owner;	/* we hold acct:<ca>: publish ours */
	struct cluster_claim	*acct_claim;
	struct event		*acct_retry;
	TAILQ_HEAD(, managed_cl) acct_waiters;
	/*
	 * This node asks the cluster for at most max_concurrent_orders of
	 * the CA's slots at once; its other orders wait here, so a freed slot
	 * wakes a few askers per node, not every order of the inventory.
	 */
	unsigned		 sem_asking;
	TAILQ_HEAD(, managed_cl) sem_waiters;
};

/* A certificate's cluster-mode state: allocated in cluster mode only. */
struct managed_cl {
	struct managed		*m;
	struct cluster_claim	*claim;		/* CLAIM: the lock asked for */
	struct cluster_sem	*sem;		/* ORDER: the CA's slot, held or awaited */
	int			 resume;	/* go on with SV(m)->order_url */
	int			 acct_wait;	/* on a ca_slot's acct_waiters */
	int			 sem_wait;	/* on its sem_waiters (acct_entry) */
	int			 sem_asked;	/* counted in its sem_asking */
	int			 down_wait;	/* checked again once the session is up */
	int			 busy_wait;	/* another node held it: checked again
						   once its lock goes */
	TAILQ_ENTRY(managed_cl)	 acct_entry;
};

struct keygen_job;
struct install_job;

/* One certificate of the inventory and where it is in its lifecycle. */
struct managed {
	TAILQ_ENTRY(managed)	 entry;
	struct renewer		*r;
	const struct conf_cert	*cfg;		/* borrowed from the inventory */
	struct theap_node	 tn;		/* on r->timers; tn.when: the next
						   check (now when DUE), 0 if unset */
	TAILQ_ENTRY(managed)	 due_entry;	/* DUE: on r->due, checked in turn */
	struct keygen_job	*job;		/* KEYGEN */
	struct install_job	*install;	/* ORDER: its files being written */
	struct crypto_key	*new_key;	/* ORDER: the key being certified */
	struct acme_order	*order;		/* ORDER */
	time_t			*held;		/* per cfg->ca: a rate limit on this
						   certificate there ends; NULL: none */
	struct ca_slot		*probing;	/* the CA this order probes, or NULL */
	struct managed_cl	*cl;		/* cluster mode; else NULL */
	struct sched_state	*saved;		/* as in certs/<name>/schedule.json;
						   NULL: nothing (SV, sv_w) */
	char			*last_order;	/* the latest order's URL, kept past
						   its end for the journal's ORDER_URL */
	uint64_t		 live_stamp;	/* the whole live files last judged */
	time_t			 nb, na;	/* the live certificate's validity */
	double			 spread;	/* its sched_spread() */
	struct cert_ari		*ari;		/* NULL: the live one has no certID */
	const char		*reissue;	/* why a reload wants a new certificate
						   though the live one is good; NULL */
	char			*reissue_of;	/* the live serial it replaces */
	TAILQ_HEAD(, renew_waiter) waiters;	/* renewer_renew_now's, told
						   when it is IDLE again */
	time_t			 last_success;	/* the last install; 0: none yet */
	size_t			 ca_index;	/* which of cfg->ca is being tried */
	unsigned		 failures;	/* consecutive */
	/* flags in one word: 100,000 of these must stay small */
	enum managed_state	 state:3;	/* change it with set_state() */
	unsigned		 queued:1;	/* on r->due */
	unsigned		 saved_loaded:1; /* saved read (at the first check) */
	unsigned		 breaker_wait:1; /* backing off because a breaker
						   kept every CA from it */
	unsigned		 live_valid:1;	/* a live certificate not yet due */
	unsigned		 lc_ok:1;	/* live_stamp is set */
	unsigned		 saved_dirty:1;	/* saved_store ran since the
						   install's job took its text */
	unsigned		 sched_deferred:1; /* saved_store waits for the job
						   writing schedule.json */
	unsigned		 seen:1;	/* still in the inventory (during apply) */
	unsigned		 stopping:1;	/* in cert_stop: no outcome yet */
	unsigned		 fresh_key:1;	/* revoked for keyCompromise: the next
						   key is new, whatever reuse_key says */
};

/* A control client waiting for a certificate's renewal to end. */
struct renew_waiter {
	TAILQ_ENTRY(renew_waiter) entry;
	struct managed		*m;
	renew_done_cb		 cb;
	void			*arg;
	char			*serial;	/* installed meanwhile; NULL: none */
	int			 failed;	/* an attempt failed meanwhile */
};

/*
 * The ARI state of a live certificate with an RFC 9773 certID, in one
 * allocation with the certID: none for a certificate without one.
 */
struct cert_ari {
	struct sched_ari	 st;		/* what its first CA's ARI said */
	struct acme_ari_fetch	*fetch;		/* in flight at slot */
	struct ca_slot		*slot;
	char			 id[];		/* the certID */
};

/* m's certID, or NULL. */
#define ARI_ID(m)	((m)->ari != NULL ? (const char *)(m)->ari->id : NULL)

/*
 * Outlives its certificate if that goes away while the key is generated.
 * The worker also writes the key to pending.key (its fsyncs off the loop),
 * under mu and only while the job is not orphaned: cert_stop orphans it
 * under mu, so it waits for a write in progress (never for the key
 * generation) and no write of the job follows.
 */
struct keygen_job {
	TAILQ_ENTRY(keygen_job)	 entry;
	struct renewer		*r;
	struct managed		*owner;		/* NULL once orphaned */
	char			*name;		/* the certificate's, copied */
	enum key_type		 type;
	char			*reuse_pem;	/* the live key (reuse_key), or NULL */
	int			 reused;	/* key is that live key */
	struct crypto_key	*key;
	pthread_mutex_t		 mu;
	int			 orphaned;	/* under mu: write nothing */
	int			 saved;		/* pending.key: 0 not written, 1
						   written, -1 could not be */
};

/*
 * The writes of an install (the version, live, the prune, the pending
 * key's removal: a dozen fsyncs on a disk) run on a worker; the loop only
 * verifies before and takes the result after. While one runs, its
 * certificate stays ORDER (nothing else writes its files: the sweep and
 * the control commands leave busy ones alone), and whatever stops the
 * certificate -- a reload, the shutdown -- first waits for it to finish
 * (install_wait), so no two writes of one certificate's files overlap.
 * The job outlives its certificate, like a keygen_job.
 *
 * schedule.json is written by the same jobs: an install's job resets it
 * last (after the pending key's removal), and a job of its own, url_only,
 * writes the order's URL when newOrder gives it (order_url_known) while
 * the order holds back its finalize (acme_order_hold) until the write is
 * done. A loop's own write of schedule.json while such a job is in
 * flight waits until the job is done (sched_deferred; sched_flush), so
 * the file's writes keep the loop's order and the loop never waits.
 */
struct install_job {
	TAILQ_ENTRY(install_job) entry;
	struct renewer		*r;
	struct managed		*owner;		/* NULL once orphaned */
	char			*name;		/* the certificate's, copied */
	char			*serial;
	char			*key_pem;
	char			*leaf;
	char			*chain;
	time_t			 not_before;
	char			*sched;		/* schedule.json's text to write
						   last, or NULL */
	int			 url_only;	/* just sched: the order's URL */
	time_t			 not_after;
	time_t			 due;
	unsigned		 keep;
	int			 rc;		/* store_cert_install's */
	struct cluster_call	*put;		/* cluster: certs/<name> being
						   written; not submitted yet */
	char			*from;		/* cluster: installed from another
						   node's order (its name); NULL */
	int			 stamped;	/* stamp is the live files' */
	uint64_t		 stamp;		/* livecheck_stamp's, for the sweep */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;		/* finished was set */
	int			 finished;	/* the worker is done with it */
};

struct renewer {
	struct renew_env	 env;
	renew_idle_cb		 idle;
	void			*idle_arg;
	struct event		*idle_ev;
	TAILQ_HEAD(, ca_slot)	 cas;
	struct crypto_chain_cache *chain_cache;	/* the last issuer checked */
	TAILQ_HEAD(, managed)	 certs;
	struct htab		*byname;	/* certs by cfg->name */
	TAILQ_HEAD(, managed)	 due;		/* checks to run, oldest first */
	struct theap		 timers;	/* the IDLE ones' next checks */
	struct event		*timer_ev;	/* armed for the earliest of them */
	time_t			 timer_at;	/* ...which was this; 0: not armed */
	struct event		*due_ev;	/* runs a slice of them */
	size_t			 due_run;	/* checked since the queue was last empty */
	TAILQ_HEAD(, keygen_job) jobs;
	TAILQ_HEAD(, install_job) installs;	/* submitted, done not yet run */
	size_t			 busy;		/* certificates not IDLE: set_state() only */
	size_t			 issued;
	struct livecheck_cache	*lcache;	/* the last chain.pem judged */
	struct event		*sweep_ev;	/* sweep_cb: live files re-verified */
	struct managed		*sweep_next;	/* where the sweep goes on */
	size_t			 sweep_left;	/* certificates left this slice */
	size_t			 ncerts;	/* on certs */
	long			 live_check;	/* s: a round over all of them */
	unsigned		 keep_versions;	/* per certificate, live included */
	struct event		*clock_ev;	/* clock_cb, every CLOCK_CHECK_SEC */
	time_t			 wall;		/* the clocks at the last look */
	time_t			 mono;
	time_t			 resynced;	/* monotonic: the last resync() */
	char			**shared_accts;	/* cluster: CAs whose account is in
						   etcd (a few names) */
	size_t			 nshared_accts;
};

/*
 * Timers run on the monotonic clock, schedules on the wall clock: a step
 * of the wall clock (suspend and resume, an NTP step after a bad RTC)
 * leaves every timer wrong. clock_check compares how far each clock moved
 * since the last look -- every CLOCK_CHECK_SEC and on every reload -- and
 * re-arms every timer from its wall-clock time when they differ by more
 * than CLOCK_STEP_SEC; every CLOCK_RESYNC_SEC it re-arms them anyway.
 */
#define CLOCK_CHECK_SEC		60
#define CLOCK_STEP_SEC		5
#define CLOCK_RESYNC_SEC	3600

static void	cert_check(struct managed *);
static void	cert_order(struct managed *);
static void	cert_issue(struct managed *);
static int	cert_uses_ca(const struct managed *, const char *ca);
static int	live_whole(struct managed *, struct livecheck *);
static void	install_wait(struct install_job *);
static void	order_gate(struct managed *, int resume);
static void	order_note(struct managed *, const char *url);
static void	cl_publish(struct managed *, struct install_job *);
static void	cl_installed(struct managed *);
static void	cl_stop(struct managed *, int keep);
static void	sem_end(struct managed *);
static void	install_job_free(struct install_job *);
static void	order_launch(struct managed *, int resume);
static struct managed *cert_find(struct renewer *, const char *);
static int	acct_shared(const struct renewer *, const char *ca);
static void	install_job_submit(struct managed *, struct install_job *);
static void	install_job_start(struct managed *, struct install_job *);
static void	install_job_init(struct managed *, struct install_job *);
static void	sched_flush(struct managed *);

/* A fraction in [0,1) that differs per certificate and per attempt. */
static double
jitter(void)
{
	return sched_jitter(arc4random());
}

static void	waiters_done(struct managed *, const char *removed);

static void
maybe_idle(struct renewer *r)
{
	if (r->busy == 0 && r->idle != NULL)
		event_active(r->idle_ev, 0, 0);
}

/* Deferred onto the loop: whatever ran since may have made work again. */
static void
idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct renewer *r = arg;

	if (r->busy == 0)
		r->idle(r->idle_arg);
}

/* Generating a key or ordering: what renew_stats calls busy. */
static int
renewing(const struct managed *m)
{
	return m->state == MANAGED_KEYGEN || m->state == MANAGED_ORDER ||
	    m->state == MANAGED_CLAIM;
}

/* The only writer of m->state, so r->busy always counts the busy ones. */
static void
set_state(struct managed *m, enum managed_state s)
{
	int	was = m->state != MANAGED_IDLE, is = s != MANAGED_IDLE;

	m->state = s;
	if (was && !is && !m->stopping)
		waiters_done(m, NULL);
	if (was && !is)
		m->r->busy--;
	else if (!was && is)
		m->r->busy++;
	if (!is)
		maybe_idle(m->r);
}

/* Runs due checks from a zero timeout, so that I/O is polled between slices. */
static void
due_arm(struct renewer *r)
{
	struct timeval tv = { 0, 0 };

	if (!TAILQ_EMPTY(&r->due) && !evtimer_pending(r->due_ev, NULL)) {
		evtimer_add(r->due_ev, &tv);
		loopstat_watch(r->env.loopstat, 2);
	}
}

static void
due_remove(struct managed *m)
{
	if (m->queued) {
		TAILQ_REMOVE(&m->r->due, m, due_entry);
		m->queued = 0;
	}
}

#define TN_MANAGED(node) \
	((struct managed *)(void *)((char *)(node) - offsetof(struct managed, tn)))

/*
 * Arms the one timer of all certificates for the earliest deadline on
 * r->timers, unless it is armed for that already (force: re-arm anyway,
 * after the wall clock moved). The deadlines are wall-clock times; the
 * timer runs on the monotonic clock, so a step of the wall clock needs a
 * re-arm (resync).
 */
static void
timers_arm(struct renewer *r, int force)
{
	struct theap_node *top = theap_top(&r->timers);
	struct timeval	   tv = { 0, 0 };
	time_t		   now;

	if (top == NULL) {
		/* what is left may fire once for nothing: cheaper than a del */
		return;
	}
	if (!force && r->timer_at == top->when &&
	    evtimer_pending(r->timer_ev, NULL))
		return;
	now = time(NULL);
	tv.tv_sec = top->when > now ? top->when - now : 0;
	evtimer_add(r->timer_ev, &tv);
	r->timer_at = top->when;
}

/*
 * Arms the certificate's timer for when; now or earlier queues it on
 * r->due instead, so that 100,000 certificates due at start or after a
 * reload are checked in slices and the loop keeps answering meanwhile.
 */
static void
schedule(struct managed *m, time_t when)
{
	time_t		now = time(NULL);

	due_remove(m);
	m->tn.when = when > now ? when : now;
	if (when > now) {
		theap_set(&m->r->timers, &m->tn, when);
		timers_arm(m->r, 0);
	} else {
		theap_del(&m->r->timers, &m->tn);
		TAILQ_INSERT_TAIL(&m->r->due, m, due_entry);
		m->queued = 1;
		due_arm(m->r);
	}
	set_state(m, when > now ? MANAGED_IDLE : MANAGED_DUE);
}

/* After a check or an installation: sleep until due, or for good with --once. */
static void
schedule_due(struct managed *m, time_t due)
{
	if (m->r->env.once)
		set_state(m, MANAGED_IDLE);
	else
		schedule(m, due);
}

/* The earliest deadlines came: their certificates join the due queue. */
static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct renewer	  *r = arg;
	struct theap_node *top;
	time_t		   now = time(NULL);

	r->timer_at = 0;
	/* in turn with the others due now: many may fall due together */
	while ((top = theap_top(&r->timers)) != NULL && top->when <= now)
		schedule(TN_MANAGED(top), 0);
	timers_arm(r, 0);
}

/* How long one slice of due checks (or of the sweep) may hold the loop. */
#define DUE_SLICE_USEC	20000

/* Microseconds on the monotonic clock since t0: how long a slice has run. */
static long long
usec_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000LL +
	    (t.tv_nsec - t0->tv_nsec) / 1000;
}

static void
due_cb(evutil_socket_t fd, short what, void *arg)
{
	struct renewer	*r = arg;
	struct managed	*m;
	struct timespec	 t0;
	long long	 us = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (us < DUE_SLICE_USEC && (m = TAILQ_FIRST(&r->due)) != NULL) {
		due_remove(m);
		m->tn.when = 0;
		r->due_run++;
		cert_check(m);
		/* a check reads and parses files: 0.1 to several ms each */
		us = usec_since(&t0);
	}
	if (!TAILQ_EMPTY(&r->due)) {
		due_arm(r);
		return;
	}
	/* one certificate's timer is not news; a start-up or reload is */
	if (r->due_run > 1) {
		log_debug("due checks done: %zu checked; longest loop stall so "
		    "far %lld ms", r->due_run, loopstat_max_ms(r->env.loopstat));
		xmalloc_trim();		/* what the checks parsed is freed */
	}
	r->due_run = 0;
}

static time_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Re-arms the timer from the earliest waiting certificate's wall-clock time. */
static void
resync(struct renewer *r)
{
	timers_arm(r, 1);
	r->resynced = mono_now();
}

static void
clock_check(struct renewer *r)
{
	time_t		wall = time(NULL), mono = mono_now();
	long long	step;

	step = (long long)(wall - r->wall) - (long long)(mono - r->mono);
	r->wall = wall;
	r->mono = mono;
	if (step > CLOCK_STEP_SEC || step < -CLOCK_STEP_SEC) {
		log_notice("the wall clock stepped by %+lld s: re-evaluating "
		    "every schedule", step);
		resync(r);
	} else if (mono - r->resynced >= CLOCK_RESYNC_SEC)
		resync(r);
}

static void
clock_cb(evutil_socket_t fd, short what, void *arg)
{
	clock_check(arg);
}

/*
 * The live files of every certificate are re-verified once per
 * live_check_interval, spread evenly: the sweep wakes every sixtieth of
 * it (at most a minute apart) and looks at that share of the
 * certificates, by identity only (livecheck_unchanged: a readlink and four
 * stats). One whose files changed is checked in full at once, and
 * repaired or renewed by cert_check when it is no longer whole.
 */
static time_t
sweep_tick(const struct renewer *r)
{
	time_t	t = r->live_check / 60;

	return t < 1 ? 1 : t > 60 ? 60 : t;
}

static void
sweep_arm(struct renewer *r, int at_once)
{
	struct timeval tv = { at_once ? 0 : sweep_tick(r), 0 };

	if (!r->env.once && r->env.store != NULL && r->live_check > 0)
		evtimer_add(r->sweep_ev, &tv);
}

/* Starts a round over every certificate now (on reload). */
static void
sweep_all(struct renewer *r)
{
	r->sweep_next = TAILQ_FIRST(&r->certs);
	r->sweep_left = r->ncerts;
	/* a minute's share is milliseconds; a whole round is worth watching */
	loopstat_watch(r->env.loopstat, 2);
	sweep_arm(r, 1);
}

/* Re-verifies m's live files if nothing else is about to. */
static void
sweep_one(struct renewer *r, struct managed *m)
{
	if (m->state != MANAGED_IDLE || !m->lc_ok ||
	    livecheck_unchanged(store_path(r->env.store), m->cfg->name,
	    m->live_stamp))
		return;
	log_msg(LOG_LVL_NOTICE, m->cfg->name, "the live files changed since "
	    "they were checked: checking them again");
	m->lc_ok = 0;
	schedule(m, 0);
}

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct renewer	*r = arg;
	struct managed	*m;
	struct timespec	 t0;
	long long	 us = 0;

	if (r->sweep_left == 0)		/* a new slice: this tick's share */
		r->sweep_left = (r->ncerts * (size_t)sweep_tick(r) +
		    (size_t)r->live_check - 1) / (size_t)r->live_check;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (r->sweep_left > 0 && us < DUE_SLICE_USEC) {
		if (r->sweep_next == NULL &&
		    (r->sweep_next = TAILQ_FIRST(&r->certs)) == NULL) {
			r->sweep_left = 0;
			break;
		}
		m = r->sweep_next;
		r->sweep_next = TAILQ_NEXT(m, entry);
		r->sweep_left--;
		sweep_one(r, m);
		us = usec_since(&t0);
	}
	/* a share too large for one slice goes on after I/O is polled */
	sweep_arm(r, r->sweep_left > 0);
}

static struct ca_slot *
ca_slot_find(struct renewer *r, const char *name)
{
	struct ca_slot *s;

	TAILQ_FOREACH(s, &r->cas, entry)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

/* Stops whatever the certificate is doing; it ends IDLE with no timer. */
static void
cert_stop(struct managed *m)
{
	m->stopping = 1;	/* what follows is no outcome for a waiter */
	cl_stop(m, 0);
	theap_del(&m->r->timers, &m->tn);
	due_remove(m);
	m->tn.when = 0;
	if (m->order != NULL) {
		acme_order_cancel(m->order);
		m->order = NULL;
	}
	if (m->probing != NULL) {	/* another order may probe the CA */
		m->probing->probe = NULL;
		m->probing = NULL;
	}
	if (m->job != NULL) {	/* the worker finishes; keygen_done frees */
		pthread_mutex_lock(&m->job->mu);
		m->job->orphaned = 1;
		pthread_mutex_unlock(&m->job->mu);
		m->job->owner = NULL;
		m->job = NULL;
	}
	if (m->install != NULL && m->install->put != NULL) {	/* not yet */
		cluster_call_cancel(m->install->put);
		install_job_free(m->install);
		m->install = NULL;
	}
	if (m->install != NULL) {	/* its files first: install_done frees */
		install_wait(m->install);
		m->install->owner = NULL;
		m->install = NULL;
	}
	sched_flush(m);
	if (m->ari != NULL) {
		acme_ari_cancel(m->ari->fetch);
		m->ari->fetch = NULL;
	}
	crypto_key_free(m->new_key);
	m->new_key = NULL;
	set_state(m, MANAGED_IDLE);
	m->stopping = 0;
}

/* Takes m off the renewer's list and table, and out of the sweep's way. */
static void
cert_unlink(struct renewer *r, struct managed *m)
{
	if (r->sweep_next == m)
		r->sweep_next = TAILQ_NEXT(m, entry);
	TAILQ_REMOVE(&r->certs, m, entry);
	r->ncerts--;
	htab_del(r->byname, m->cfg->name);
}

static void
cert_free(struct managed *m)
{
	if (m == NULL)
		return;
	cert_stop(m);
	waiters_done(m, "no longer in the inventory");
	if (m->saved != NULL) {
		sched_state_clear(m->saved);
		free(m->saved);
	}
	free(m->ari);
	free(m->cl);
	free(m->held);
	free(m->reissue_of);
	free(m->last_order);
	free(m);
}

/*
 * Most of 100,000 certificates have nothing to remember (no failure, no
 * hold, no ARI window): m->saved is allocated only when something is
 * written, and SV() reads an empty state in its place.
 */
static const struct sched_state sched_none;
#define SV(m)	((m)->saved != NULL ? (const struct sched_state *)(m)->saved : \
	    &sched_none)

/* m's schedule state to change, allocated on first use. */
static struct sched_state *
sv_w(struct managed *m)
{
	if (m->saved == NULL)
		m->saved = xcalloc(1, sizeof(*m->saved));
	return m->saved;
}

/* A rate limit remembered from before a restart holds at its CA again. */
static void
saved_hold(struct managed *m)
{
	const char	*r = SV(m)->hold_reason;
	size_t		 i, n = sizeof(SCHED_HOLD_REASON) - 1;

	if (SV(m)->hold_until <= time(NULL) || r == NULL ||
	    strncmp(r, SCHED_HOLD_REASON, n) != 0)
		return;
	for (i = 0; i < m->cfg->ca.n; i++)
		if (strcmp(r + n, m->cfg->ca.v[i]) == 0) {
			if (m->held == NULL)
				m->held = xcalloc(m->cfg->ca.n,
				    sizeof(*m->held));
			m->held[i] = SV(m)->hold_until;
		}
}

/*
 * Reads what the state directory remembers of the certificate's schedule,
 * once: a backoff or a hold survives a restart. A damaged file is no
 * reason to stop: the schedule follows from the live certificate then.
 */
static void
saved_load(struct managed *m)
{
	struct sched_state sv;
	char		   err[512];

	if (m->saved_loaded || m->r->env.store == NULL)
		return;
	m->saved_loaded = 1;
	memset(&sv, 0, sizeof(sv));
	if (store_sched_load(store_path(m->r->env.store), m->cfg->name,
	    &sv, err, sizeof(err)) == -1) {
		log_msg(LOG_LVL_WARNING, m->cfg->name, "%s: ignored, the "
		    "schedule is recomputed from the live certificate", err);
		/* replace the damage now: it would mislead renewctl */
		store_sched_save(m->r->env.store, m->cfg->name, &sv);
	}
	if (!sched_state_empty(&sv)) {
		if (m->saved != NULL) {
			sched_state_clear(m->saved);
			free(m->saved);
		}
		m->saved = xmalloc(sizeof(*m->saved));
		*m->saved = sv;
	}
	if (m->failures == 0)
		m->failures = SV(m)->failures;
	saved_hold(m);
}

/* Writes m->saved (after the caller changed it); frees it once empty. */
static void
saved_store(struct managed *m)
{
	m->saved_dirty = 1;
	if (m->install != NULL && m->install->sched != NULL) {
		m->sched_deferred = 1;	/* after the job's write: sched_flush */
		return;
	}
	if (m->r->env.store != NULL)
		store_sched_save(m->r->env.store, m->cfg->name, SV(m));
	if (m->saved != NULL && sched_state_empty(m->saved)) {
		sched_state_clear(m->saved);
		free(m->saved);
		m->saved = NULL;
	}
}

/* The write saved_store put off while a job wrote schedule.json, if any. */
static void
sched_flush(struct managed *m)
{
	if (!m->sched_deferred)
		return;
	m->sched_deferred = 0;
	saved_store(m);
}

/*
 * Waits for an order's URL being written to m's schedule.json (a new
 * order's, or the certificate coming at once), then writes what the loop
 * put off meanwhile; the order may finalize now.
 */
static void
sched_write_settle(struct managed *m)
{
	struct install_job *j = m->install;

	if (j == NULL || !j->url_only)
		return;
	install_wait(j);
	j->owner = NULL;	/* install_done frees it */
	m->install = NULL;
	sched_flush(m);
	if (m->order != NULL)
		acme_order_release(m->order);
}

/* Retry at the next check, not after the backoff (kept until it is stored). */
static void
backoff_forget(struct managed *m)
{
	if (m->saved != NULL)
		m->saved->retry_at = 0;
}

/* Forgets m->saved in memory only: its file says as much already. */
static void
saved_forget(struct managed *m)
{
	if (m->saved == NULL)
		return;
	sched_state_clear(m->saved);
	free(m->saved);
	m->saved = NULL;
}

/* A success: nothing to remember any more. */
static void
saved_reset(struct managed *m)
{
	if (sched_state_empty(SV(m)))
		return;
	sched_state_clear(m->saved);
	saved_store(m);
}

/*
 * Returns when the earliest rate limit on m ends if every CA of m holds
 * it back, else 0.
 */
static time_t
held_everywhere(const struct managed *m, time_t now)
{
	time_t	first = 0;
	size_t	i;

	for (i = 0; i < m->cfg->ca.n; i++) {
		if (m->held == NULL || m->held[i] <= now)
			return 0;
		if (first == 0 || m->held[i] < first)
			first = m->held[i];
	}
	return first;
}

/* Tells the notify hooks of one of m's events (notify.c asks cfg->on). */
static void
cert_notify(struct managed *m, const char *event)
{
	struct notify_event ev;
	char		*domains;

	if (m->r->env.notify == NULL ||
	    notifier_conf(m->r->env.notify)->nhooks == 0)
		return;		/* no hooks: not even the domains joined */
	domains = conf_cert_domains_str(m->cfg);
	memset(&ev, 0, sizeof(ev));
	ev.event = event;
	ev.cert = m->cfg->name;
	ev.domains = domains;
	ev.ca = m->ca_index < m->cfg->ca.n ? m->cfg->ca.v[m->ca_index] : NULL;
	ev.error = strcmp(event, NOTIFY_SUCCESS) != 0 ? SV(m)->err_detail :
	    NULL;
	ev.not_after = m->lc_ok ? m->na : 0;
	ev.failures = m->failures;
	notify_post(m->r->env.notify, &ev);
	free(domains);
}

/*
 * After a failed attempt: the failure event when the streak reaches
 * after_failures (once per streak: the count is in schedule.json, so a
 * restart does not repeat it), the expiring one when the live certificate
 * ends within expiring_within (once per not-after, kept there too).
 * Sleeping certificates are not walked: failed attempts are what wakes
 * one near its end (the backoff is at most a tenth of the time left).
 */
static void
failed_notify(struct managed *m, time_t now)
{
	const struct conf_notify *nc;

	if (m->r->env.notify == NULL)
		return;
	nc = notifier_conf(m->r->env.notify);
	if (nc->nhooks == 0)
		return;
	if (m->failures == nc->after_failures)
		cert_notify(m, NOTIFY_FAILURE);
	if ((nc->on & CONF_NOTIFY_EXPIRING) && m->lc_ok && m->na != 0 &&
	    m->na - now <= nc->expiring_within &&
	    SV(m)->notified_expiring != m->na) {
		sv_w(m)->notified_expiring = m->na;
		cert_notify(m, NOTIFY_EXPIRING);
	}
}

/*
 * After a failure: retry later on the backoff ladder (sched_retry), or
 * when the first rate limit ends if every CA holds m back.
 */
static void
cert_failed(struct managed *m)
{
	struct renew_waiter *w;
	time_t	now = time(NULL), delay, until;

	crypto_key_free(m->new_key);
	m->new_key = NULL;
	/* no order left to resume: its key is of no use */
	if (SV(m)->order_url == NULL && m->r->env.store != NULL)
		store_pending_key_remove(m->r->env.store, m->cfg->name);
	m->failures++;
	sv_w(m)->failures = m->failures;
	metrics_renewal(m->r->env.metrics, "failure");
	failed_notify(m, now);
	TAILQ_FOREACH(w, &m->waiters, entry)
		w->failed = 1;
	if (m->r->env.once) {
		saved_store(m);
		set_state(m, MANAGED_IDLE);
		return;
	}
	/* never longer than a tenth of what the live certificate has left */
	delay = sched_retry(m->failures, jitter(), m->lc_ok && m->na != 0 ?
	    (long long)(m->na - now) : 0);
	if ((until = held_everywhere(m, now)) != 0)	/* a few seconds' spread */
		delay = until - now + 1 +
		    (time_t)(jitter() * (SCHED_HOLD_SPREAD - 1));
	sv_w(m)->retry_at = now + delay;
	saved_store(m);
	log_msg(LOG_LVL_NOTICE, m->cfg->name,
	    "attempt %u failed; next attempt in %lld s", m->failures,
	    (long long)delay);
	schedule(m, now + delay);
}

/*
 * Takes info as the certificate whose renewal is planned: a new certID
 * (a renewal, another live file) starts its ARI state afresh.
 */
static void
cert_take_facts(struct managed *m, const struct crypto_cert_info *info)
{
	const struct sched_state *sv = SV(m);
	size_t			  len;

	m->nb = info->not_before;
	m->na = info->not_after;
	/* the same spread at every check and in renewctl: no re-roll */
	m->spread = sched_spread(m->cfg->name, info->serial);
	if (m->ari != NULL && info->ari_id != NULL &&
	    strcmp(m->ari->id, info->ari_id) == 0)
		return;
	if (m->ari != NULL) {
		acme_ari_cancel(m->ari->fetch);
		free(m->ari);
		m->ari = NULL;
	}
	if (info->ari_id == NULL)
		return;
	len = strlen(info->ari_id);
	m->ari = xcalloc(1, sizeof(*m->ari) + len + 1);
	memcpy(m->ari->id, info->ari_id, len + 1);
	/* a window kept from before a restart: its moment, asked again now */
	if (sv->ari_cert != NULL && strcmp(sv->ari_cert, m->ari->id) == 0) {
		m->ari->st.start = sv->ari_start;
		m->ari->st.end = sv->ari_end;
		m->ari->st.moment = sv->ari_moment;
	}
}

/* Remembers m's ARI window and moment in schedule.json. */
static void
ari_save(struct managed *m)
{
	struct sched_state *sv = sv_w(m);

	sv->ari_start = m->ari->st.start;
	sv->ari_end = m->ari->st.end;
	sv->ari_moment = m->ari->st.moment;
	sv->ari_next_fetch = m->ari->st.next_fetch;
	free(sv->ari_cert);
	sv->ari_cert = xstrdup(m->ari->id);
	saved_store(m);
}

/* Logs what a new ARI window (or a CA's "now") changed. */
static void
log_plan(struct managed *m, const struct sched_plan *p,
    const struct acme_ari *ari)
{
	char	a[32], b[32], c[32];

	if (p->reason == SCHED_ARI_NOW)
		log_msg(LOG_LVL_NOTICE, m->cfg->name, "ARI window %s..%s: the "
		    "CA says renew now", log_fmt_time(p->ari.start, a,
		    sizeof(a)), log_fmt_time(p->ari.end, b, sizeof(b)));
	else if (p->window_changed)
		log_msg(LOG_LVL_NOTICE, m->cfg->name, "ARI window %s..%s, "
		    "renewing at %s (%s)", log_fmt_time(p->ari.start, a,
		    sizeof(a)), log_fmt_time(p->ari.end, b, sizeof(b)),
		    log_fmt_time(p->renew_at, c, sizeof(c)),
		    sched_reason_str(p->reason));
	if (ari != NULL && ari->explanation != NULL &&
	    (p->window_changed || p->reason == SCHED_ARI_NOW))
		log_msg(LOG_LVL_NOTICE, m->cfg->name, "ARI explanation: %s",
		    ari->explanation);
}

/*
 * When the certificate m->nb..m->na falls due, from its kept ARI state and
 * ari, a new answer (NULL: none). A renew_before that swallows (nearly)
 * the whole lifetime -- 30d with a CA that issues 6-day certificates --
 * would make every new certificate due the moment it is installed;
 * sched_plan() then uses the automatic rule, and we say why.
 */
static time_t
cert_plan(struct managed *m, const char *serial, const struct acme_ari *ari)
{
	static const struct sched_ari none;
	struct sched_ari_answer	 ans;
	struct sched_input	 in = { m->nb, m->na, m->cfg->renew_before,
	    m->spread, jitter(), time(NULL), m->ari != NULL ? &m->ari->st :
	    &none, NULL };
	struct sched_plan	 p;

	if (ari != NULL) {
		ans.start = ari->start;
		ans.end = ari->end;
		ans.fetched_at = in.now;
		ans.retry_after = ari->retry_after;
		in.answer = &ans;
	}
	if (serial != NULL && !sched_renew_before_fits(m->nb, m->na,
	    m->cfg->renew_before))
		log_msg(LOG_LVL_WARNING, m->cfg->name,
		    "renew_before (%ld s) leaves serial %s, valid for %lld s, "
		    "no time before it is due: renewing by the lifetime rule "
		    "instead", m->cfg->renew_before, serial,
		    (long long)(m->na - m->nb));
	sched_plan(&in, &p);
	log_plan(m, &p, ari);
	if (m->ari == NULL)	/* no certID: no answer, nothing to keep */
		return p.renew_at;
	m->ari->st = p.ari;
	/* a restart keeps the moment (and a CA's "now") */
	if (p.window_changed || (p.reason == SCHED_ARI_NOW &&
	    SV(m)->ari_moment != p.ari.moment))
		ari_save(m);
	return p.renew_at;
}

/* The CA client asked for ARI: the certificate's first CA. */
static struct ca_slot *
ari_ca(const struct managed *m)
{
	return m->cfg->ca.n > 0 ? ca_slot_find(m->r, m->cfg->ca.v[0]) : NULL;
}

/* Returns 1 if m's ARI is worth asking for now or later. */
static int
ari_wanted(const struct managed *m)
{
	struct ca_slot *s;

	return !m->r->env.once && m->ari != NULL &&
	    (s = ari_ca(m)) != NULL && acme_ca_has_ari(s->ca) != 0;
}

/* When the timer should fire: renewal at due, or the next ARI fetch first. */
static time_t
cert_wake(struct managed *m, time_t due)
{
	time_t	next, now = time(NULL);

	if (!ari_wanted(m) || m->ari->fetch != NULL)
		return due;
	next = m->ari->st.next_fetch;
	if (next <= now)
		next = now + SCHED_ARI_RETRY_MIN;
	return next < due ? next : due;
}

static void	ari_done(void *, enum acme_ari_result, const struct acme_ari *,
		    const char *);

/* Asks m's first CA for its renewal information, if it is time to. */
static void
ari_maybe_fetch(struct managed *m)
{
	struct ca_slot *s;

	if (!ari_wanted(m) || m->ari->fetch != NULL ||
	    m->ari->st.next_fetch > time(NULL))
		return;
	s = ari_ca(m);
	m->ari->slot = s;
	m->ari->fetch = acme_ari_fetch(s->ca, m->cfg->name, m->ari->id,
	    ari_done, m);
}

/* acme_ari_cb: a new window (or none, or an error) re-plans the renewal. */
static void
ari_done(void *arg, enum acme_ari_result res, const struct acme_ari *ari,
    const char *error)
{
	struct managed	*m = arg;
	time_t		 due;

	m->ari->fetch = NULL;
	m->ari->slot = NULL;
	/* no ARI at this CA, or a renewal or check under way: nothing to move */
	if (res == ACME_ARI_NONE || m->state != MANAGED_IDLE || !m->live_valid)
		return;
	if (res != ACME_ARI_OK) {
		/* no directory: acme said so once for the CA, not per certificate */
		log_msg(res == ACME_ARI_ERROR ? LOG_LVL_WARNING : LOG_LVL_DEBUG,
		    m->cfg->name, "renewal information: %s; the schedule "
		    "stays", error);
		/* spread: certificates that failed together ask apart */
		m->ari->st.next_fetch = time(NULL) + SCHED_ARI_RETRY_ERROR +
		    (time_t)(jitter() * SCHED_ARI_RETRY_ERROR / 5);
		due = cert_plan(m, NULL, NULL);
	} else
		due = cert_plan(m, NULL, ari);
	schedule_due(m, cert_wake(m, due));
}

/*
 * The order in flight and its key, for a restart to resume (renewd(8)):
 * pending.key is written before newOrder, schedule.json's "order" as soon
 * as the CA gives the order its URL, and both go once the order is
 * installed or cannot be resumed.
 */
static void
pending_save(struct keygen_job *j)
{
	char	*pem;
	size_t	 len;

	if (j->r->env.store == NULL || j->key == NULL)
		return;
	if ((pem = crypto_key_to_pem(j->key, &len)) == NULL) {
		log_msg(LOG_LVL_ERR, j->name, "cannot encode the new key");
		j->saved = -1;
		return;
	}
	pthread_mutex_lock(&j->mu);
	if (!j->orphaned)
		j->saved = store_pending_key_save(j->r->env.store, j->name,
		    pem, len) == 0 ? 1 : -1;
	pthread_mutex_unlock(&j->mu);
	xfree_secret(pem, len);
}

static void
keygen_job_free(struct keygen_job *j)
{
	pthread_mutex_destroy(&j->mu);
	free(j->name);
	xfree_secret_str(j->reuse_pem);
	free(j);
}

/* acme_order_url_cb: the order has its URL; remember it before finalize. */
static void
order_url_known(void *arg, const char *url)
{
	struct managed	*m = arg;
	struct sched_state *sv = sv_w(m);
	struct install_job *j;

	free(sv->order_ca);
	free(sv->order_url);
	sv->order_ca = xstrdup(m->cfg->ca.v[m->ca_index]);
	sv->order_url = xstrdup(url);
	free(m->last_order);
	m->last_order = xstrdup(url);
	if (m->cl != NULL)	/* a takeover resumes it: the cluster learns it */
		order_note(m, url);
	if (m->r->env.store == NULL || m->order == NULL) {
		saved_store(m);
		return;
	}
	/* on a worker, the finalize held back until it is on disk */
	sched_write_settle(m);
	j = xcalloc(1, sizeof(*j));
	j->url_only = 1;
	j->sched = store_sched_text(sv);
	acme_order_hold(m->order);
	install_job_submit(m, j);
}

/* Forgets the order in flight (schedule.json's "order"), if any. */
static void
order_forget(struct managed *m)
{
	struct sched_state *sv = m->saved;

	if (sv == NULL || (sv->order_url == NULL && sv->order_ca == NULL))
		return;
	free(sv->order_ca);
	free(sv->order_url);
	sv->order_ca = sv->order_url = NULL;
	saved_store(m);
}

/*
 * Removes the key of the order in flight, then forgets the order: a
 * crash in between leaves an order without a key, which is dropped at the
 * next check, never a key that nothing names.
 */
static void
pending_drop(struct managed *m)
{
	if (m->r->env.store != NULL)
		store_pending_key_remove(m->r->env.store, m->cfg->name);
	order_forget(m);
}

static void
keygen_work(void *arg)
{
	struct keygen_job *j = arg;

	/* reuse_key: the live key, unless the inventory's type changed */
	if (j->reuse_pem != NULL) {
		j->key = crypto_key_from_pem(j->reuse_pem, strlen(j->reuse_pem));
		xfree_secret_str(j->reuse_pem);
		j->reuse_pem = NULL;
		if (j->key != NULL && crypto_key_type(j->key) == (int)j->type)
			j->reused = 1;
		else {
			crypto_key_free(j->key);
			j->key = NULL;
		}
	}
	if (j->key == NULL)
		j->key = crypto_key_generate(j->type);
	/* on disk before the order exists: a restart resumes it with this key */
	pending_save(j);
}

static void
keygen_done(void *arg)
{
	struct keygen_job *j = arg;
	struct managed	  *m = j->owner;
	struct crypto_key *key = j->key;
	int		   reused = j->reused, saved = j->saved;

	TAILQ_REMOVE(&j->r->jobs, j, entry);
	keygen_job_free(j);
	if (m == NULL) {
		/* orphaned: the certificate went away or changed meanwhile */
		crypto_key_free(key);
		return;
	}
	m->job = NULL;
	if (key == NULL) {
		log_msg(LOG_LVL_ERR, m->cfg->name, "cannot generate a %s key",
		    conf_key_type_name(m->cfg->key));
		cert_failed(m);
		return;
	}
	if (m->cfg->reuse_key && reused)
		log_msg(LOG_LVL_INFO, m->cfg->name, "reuse_key: the CSR is "
		    "made from the live key");
	else if (m->cfg->reuse_key)
		log_msg(LOG_LVL_INFO, m->cfg->name, "reuse_key: no live %s key "
		    "to reuse; a new key is made", conf_key_type_name(
		    m->cfg->key));
	m->new_key = key;
	if (saved == -1) {	/* keygen_work could not write pending.key */
		cert_failed(m);
		return;
	}
	m->ca_index = 0;
	set_state(m, MANAGED_ORDER);
	cert_order(m);
}

/*
 * Reads the issuer_roots of the CA being tried, if it names any, into
 * *roots (malloc'd; NULL without). Returns 0, or -1 with why in err.
 */
static int
issuer_roots(struct managed *m, char **roots, size_t *len, char *err,
    size_t errlen)
{
	struct ca_slot	*s = ca_slot_find(m->r, m->cfg->ca.v[m->ca_index]);

	*roots = NULL;
	*len = 0;
	if (s == NULL || s->cfg->issuer_roots == NULL)
		return 0;
	if ((*roots = fsutil_read_file(s->cfg->issuer_roots, 4 * 1024 * 1024,
	    0, len)) == NULL) {
		snprintf(err, errlen, "issuer_roots %s: %s",
		    s->cfg->issuer_roots, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Checks a chain the CA sent before it may go live: the chain well-formed,
 * bounded, linked, valid now and (with issuer_roots) trusted, the leaf for
 * our new key with exactly our names, and not due already. Returns NULL
 * with *leaf, *chain (malloc'd), *info and *due filled in, or what is
 * wrong (malloc'd); the caller frees them either way.
 */
static char *
verify_issued(struct managed *m, const char *pem, size_t len, char **leaf,
    char **chain, struct crypto_cert_info *info, time_t *due)
{
	struct crypto_cert *parsed = NULL;
	char		 err[512], *roots = NULL, *why = NULL;
	size_t		 roots_len;

	/* parse the leaf once: each parse costs OpenSSL 3.0 a key decode */
	if (crypto_chain_split(pem, len, leaf, chain, &parsed) == -1)
		why = xstrdup("no certificate");
	else if (crypto_cert_get_info(parsed, info, err, sizeof(err)) == -1)
		why = xasprintf("a bad certificate: %s", err);
	else if (!crypto_cert_has_key(parsed, m->new_key))
		why = xasprintf("serial %s: a certificate for another key",
		    info->serial);
	else if (!crypto_cert_names_exact(info, m->cfg->domains.v,
	    m->cfg->domains.n))
		why = xasprintf("serial %s: names other than the %zu ordered",
		    info->serial, m->cfg->domains.n);
	else if (issuer_roots(m, &roots, &roots_len, err, sizeof(err)) == -1 ||
	    crypto_chain_check(pem, len, parsed, m->r->chain_cache, roots,
	    roots_len, time(NULL), err, sizeof(err)) == -1)
		why = xasprintf("serial %s: %s", info->serial, err);
	else if (cert_take_facts(m, info),
	    (*due = cert_plan(m, info->serial, NULL)) <= time(NULL))
		why = xasprintf("serial %s: already past its renewal point "
		    "(an expired or short-lived certificate)", info->serial);
	crypto_cert_free(parsed);
	free(roots);
	return why;
}

/*
 * Logs one of m's events (issued, failed) with the journal's fields for it:
 * the certificate, its domains, the CA and the order's URL once known.
 */
static void	cert_event(struct managed *, int, const char *, const char *,
		    ...) __attribute__((format(printf, 4, 5)));

static void
cert_event(struct managed *m, int prio, const char *msgid, const char *fmt,
    ...)
{
	struct log_fields f;
	va_list		 ap;
	char		 text[2048];

	if (!log_enabled(prio))
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	f.cert = m->cfg->name;
	f.ca = m->ca_index < m->cfg->ca.n ? m->cfg->ca.v[m->ca_index] : NULL;
	f.domains = conf_cert_domains_str(m->cfg);
	f.order_url = m->last_order;
	f.message_id = msgid;
	log_fields(prio, &f, "%s", text);
	free((char *)f.domains);
}

/* Logs a certificate just installed and when it falls due. */
static void
log_installed(struct managed *m, const char *serial, time_t not_after,
    time_t due)
{
	struct renew_waiter *w;
	char	due_s[32], na_s[32];

	TAILQ_FOREACH(w, &m->waiters, entry) {
		free(w->serial);
		w->serial = xstrdup(serial);
		w->failed = 0;
	}
	cert_event(m, LOG_LVL_NOTICE, LOG_MSGID_ISSUED,
	    "installed certificate serial %s for %zu domain(s), valid until %s, "
	    "renewal due %s", serial, m->cfg->domains.n,
	    log_fmt_time(not_after, na_s, sizeof(na_s)),
	    log_fmt_time(due, due_s, sizeof(due_s)));
}

static void
install_job_free(struct install_job *j)
{
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->cv);
	free(j->name);
	free(j->serial);
	xfree_secret_str(j->key_pem);
	free(j->leaf);
	free(j->chain);
	free(j->from);
	free(j->sched);
	free(j);
}

/*
 * On a worker: the writes of an install in DESIGN.md's order -- the
 * version and live (store_cert_install; then their stamp), the prune,
 * the pending key's removal, then schedule.json's reset (the order goes
 * after its key). A url_only job writes schedule.json only.
 */
static void
install_work(void *arg)
{
	struct install_job *j = arg;
	struct renewer	   *r = j->r;

	if (j->url_only) {
		j->rc = store_sched_put(r->env.store, j->name, j->sched);
		goto done;
	}
	j->rc = store_cert_install(r->env.store, j->name, j->serial,
	    j->key_pem, j->leaf, j->chain);
	if (j->rc == 0) {
		j->stamped = livecheck_stamp(store_path(r->env.store),
		    j->name, &j->stamp) == 0;
		store_cert_prune(r->env.store, j->name, j->keep);
		store_pending_key_remove(r->env.store, j->name);
		if (j->sched != NULL)	/* the order goes after its key */
			store_sched_put(r->env.store, j->name, j->sched);
	}
done:
	pthread_mutex_lock(&j->mu);
	j->finished = 1;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
}

/* On the loop: blocks until j's worker is done with it. */
static void
install_wait(struct install_job *j)
{
	pthread_mutex_lock(&j->mu);
	while (!j->finished)
		pthread_cond_wait(&j->cv, &j->mu);
	pthread_mutex_unlock(&j->mu);
}

/* On the loop, once j's files are on disk (or could not be written). */
static void
install_done(void *arg)
{
	struct install_job *j = arg;
	struct managed	   *m = j->owner;

	TAILQ_REMOVE(&j->r->installs, j, entry);
	if (m == NULL) {	/* stopped meanwhile: cert_stop waited for it */
		install_job_free(j);
		return;
	}
	m->install = NULL;
	sched_flush(m);		/* what the loop put off meanwhile */
	if (j->url_only) {	/* the order's URL is on disk (or logged) */
		if (m->order != NULL)
			acme_order_release(m->order);
		install_job_free(j);
		return;
	}
	if (j->rc == -1) {
		install_job_free(j);
		cert_failed(m);	/* ours, not the CA's: no other CA helps */
		return;
	}
	log_installed(m, j->serial, j->not_after, j->due);
	if (j->from != NULL)
		log_msg(LOG_LVL_NOTICE, m->cfg->name, "cluster: installed "
		    "serial %s, ordered by node %s", j->serial, j->from);
	else if (m->cl != NULL)
		cl_installed(m);
	/*
	 * What the sweep compares with. Not judged again: the files were
	 * written from the certificate, chain and key verify_issued checked
	 * (a judge would parse them all again, 7 M instructions a time).
	 */
	m->live_stamp = j->stamp;
	m->lc_ok = j->stamped;
	m->r->issued++;
	m->last_success = time(NULL);
	m->fresh_key = 0;
	metrics_renewal(m->r->env.metrics, "success");
	crypto_key_free(m->new_key);	/* on disk now; the next issuance makes a new one */
	m->new_key = NULL;
	m->live_valid = 1;
	cert_notify(m, NOTIFY_SUCCESS);	/* RENEWD_FAILURES: those it ends */
	m->failures = 0;
	/* the key went first (install_work), then the order with the rest */
	if (j->sched != NULL && !m->saved_dirty)
		saved_forget(m);	/* as install_work wrote it */
	else
		saved_reset(m);
	ari_maybe_fetch(m);	/* the new certificate's window, at once */
	schedule_due(m, cert_wake(m, j->due));
	install_job_free(j);
	if (m->r->env.deliver != NULL)
		deliver_installed(m->r->env.deliver, m->cfg);
}

/*
 * Verifies a downloaded chain (or, from another node, one it installed:
 * from names it), then starts installing it (install_done goes on).
 * Returns 0, or -1 with *why (malloc'd) if the certificate is refused, or
 * with *why NULL if it cannot be installed (logged).
 */
static int
install_from(struct managed *m, const char *pem, size_t len, const char *from,
    char **why)
{
	struct crypto_cert_info info = { 0 };
	struct install_job *j;
	char		*leaf = NULL, *chain = NULL, *key_pem = NULL;
	time_t		 due = 0;

	if ((*why = verify_issued(m, pem, len, &leaf, &chain, &info,
	    &due)) != NULL ||
	    (key_pem = crypto_key_to_pem(m->new_key, NULL)) == NULL) {
		free(leaf);
		free(chain);
		crypto_cert_info_clear(&info);
		return -1;
	}
	sched_write_settle(m);	/* an order valid at once: its URL's write */
	j = xcalloc(1, sizeof(*j));
	j->serial = xstrdup(info.serial);
	j->key_pem = key_pem;
	j->leaf = leaf;
	j->chain = chain;
	j->not_before = info.not_before;
	j->not_after = info.not_after;
	j->from = from != NULL ? xstrdup(from) : NULL;
	j->due = due;
	j->keep = m->r->keep_versions;
	crypto_cert_info_clear(&info);
	if (m->r->env.store != NULL && !sched_state_empty(SV(m))) {
		j->sched = store_sched_text(&(struct sched_state){ 0 });
		m->saved_dirty = 0;
	}
	if (m->cl != NULL && from == NULL) {	/* etcd first, then here */
		install_job_init(m, j);
		cl_publish(m, j);
		return 0;
	}
	install_job_submit(m, j);
	return 0;
}

/* Makes j (filled in) m's job: m->install, not yet on the workers. */
static void
install_job_init(struct managed *m, struct install_job *j)
{
	j->r = m->r;
	j->owner = m;
	j->name = xstrdup(m->cfg->name);
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	m->install = j;
}

/* Runs m's job j on the worker pool; install_done takes it back. */
static void
install_job_start(struct managed *m, struct install_job *j)
{
	TAILQ_INSERT_TAIL(&m->r->installs, j, entry);
	if (worker_submit(m->r->env.workers, install_work, install_done,
	    j) == -1) {	/* no pool (tests) or going away: here, then */
		install_work(j);
		install_done(j);
	}
}

/* Runs j (filled in) on the worker pool for m; install_done takes it back. */
static void
install_job_submit(struct managed *m, struct install_job *j)
{
	install_job_init(m, j);
	install_job_start(m, j);
}

static int
install(struct managed *m, const char *pem, size_t len, char **why)
{
	return install_from(m, pem, len, NULL, why);
}

/*
 * s's breaker closed: the certificates it kept from every CA try again
 * within a minute instead of waiting out a backoff they never tried for.
 */
static void
breaker_closed(struct renewer *r, struct ca_slot *s)
{
	struct managed	*m;
	time_t		 now = time(NULL);

	log_notice("CA %s answers again: circuit breaker closed", s->name);
	TAILQ_FOREACH(m, &r->certs, entry) {
		if (!m->breaker_wait || m->state != MANAGED_IDLE ||
		    !cert_uses_ca(m, s->name) || r->env.once)
			continue;
		m->breaker_wait = 0;
		backoff_forget(m);
		schedule(m, now + 1 + (time_t)(jitter() * 60));
	}
}

/* An order at s ended (cls: how it failed; ACME_FAIL_NONE: it did not). */
static void
breaker_note(struct ca_slot *s, struct managed *m, enum acme_fail_class cls)
{
	if (m->probing != NULL) {
		m->probing->probe = NULL;
		m->probing = NULL;
	}
	if (s == NULL || cls == ACME_FAIL_LOCAL)	/* says nothing of the CA */
		return;
	if (cls == ACME_FAIL_UNAVAILABLE && !s->open)
		log_notice("CA %s is unavailable: circuit breaker open; one "
		    "probe order at a time until the CA answers", s->name);
	if (cls != ACME_FAIL_UNAVAILABLE && s->open) {
		s->open = 0;
		breaker_closed(m->r, s);
	}
	s->open = cls == ACME_FAIL_UNAVAILABLE;
}

/*
 * Holds m at its current CA until then (in memory). Returns 1, or 0 if it
 * is held that long already.
 */
static int
hold_at_ca(struct managed *m, time_t until)
{
	if (m->held == NULL)
		m->held = xcalloc(m->cfg->ca.n, sizeof(*m->held));
	if (m->held[m->ca_index] >= until)
		return 0;
	m->held[m->ca_index] = until;
	return 1;
}

/*
 * A rate limit on this certificate at its current CA: hold it there, and
 * remember it in schedule.json ("hold"; its reason names the CA).
 */
static void
cert_hold(struct managed *m, time_t until)
{
	char	when[32];

	if (!hold_at_ca(m, until))
		return;
	sv_w(m)->hold_until = until;
	free(m->saved->hold_reason);
	m->saved->hold_reason = xasprintf("%s%s", SCHED_HOLD_REASON,
	    m->cfg->ca.v[m->ca_index]);
	log_msg(LOG_LVL_NOTICE, m->cfg->name, "rate limited: certificate %s "
	    "held at CA %s until %s", m->cfg->name, m->cfg->ca.v[m->ca_index],
	    log_fmt_time(until, when, sizeof(when)));
}

/*
 * The order at the current CA failed: a failure of the CA (unavailable,
 * rate limited, its policy) moves on to the next CA at once; one of the
 * domain's or ours would fail alike anywhere, so it backs off.
 */
static void
order_failed(struct managed *m, const char *error,
    const struct acme_failure *fail)
{
	const struct conf_cert	*cfg = m->cfg;
	enum acme_fail_class	 cls = fail != NULL ? fail->cls : ACME_FAIL_CA;

	cert_event(m, LOG_LVL_ERR, LOG_MSGID_FAILED, "order at CA %s failed: "
	    "%s (class: %s)",
	    cfg->ca.v[m->ca_index], error, acme_fail_class_name(cls));
	sched_state_set_error(sv_w(m), time(NULL), cfg->ca.v[m->ca_index],
	    fail != NULL ? fail->url : NULL, fail != NULL ? fail->problem :
	    NULL, error);
	breaker_note(ca_slot_find(m->r, cfg->ca.v[m->ca_index]), m, cls);
	if (fail != NULL && fail->scope == ACME_SCOPE_CERT && fail->until != 0)
		cert_hold(m, fail->until);
	else if (fail != NULL && fail->scope != ACME_SCOPE_NONE &&
	    fail->until != 0)	/* the account's or an endpoint's: acme keeps it */
		hold_at_ca(m, fail->until);
	if (cls == ACME_FAIL_DOMAIN || cls == ACME_FAIL_LOCAL) {
		if (m->ca_index + 1 < cfg->ca.n)
			log_msg(LOG_LVL_NOTICE, cfg->name, "a %s failure: "
			    "another CA would fail alike; not trying %s",
			    acme_fail_class_name(cls), cfg->ca.v[m->ca_index + 1]);
		cert_failed(m);
		return;
	}
	if (m->ca_index + 1 < cfg->ca.n) {
		m->ca_index++;
		log_msg(LOG_LVL_NOTICE, cfg->name, "trying the next CA, %s",
		    cfg->ca.v[m->ca_index]);
		cert_order(m);
		return;
	}
	cert_failed(m);
}

/*
 * The order to resume is gone at its CA (invalid, expired, unknown, for
 * other names): abandon it and its key, and order afresh with a new key.
 */
static void
order_abandon(struct managed *m, const char *error,
    const struct acme_failure *fail)
{
	log_msg(LOG_LVL_NOTICE, m->cfg->name, "%s: abandoned; ordering afresh",
	    error);
	breaker_note(ca_slot_find(m->r, m->cfg->ca.v[m->ca_index]), m,
	    fail->cls);
	crypto_key_free(m->new_key);
	m->new_key = NULL;
	pending_drop(m);
	cert_issue(m);
}

/* An order's result for metrics: "valid", "abandoned", or its failure's class. */
static const char *
order_result(const char *error, const struct acme_failure *fail)
{
	if (error == NULL)
		return "valid";
	if (fail == NULL)
		return "local";		/* it could not even start */
	if (fail->gone)
		return "abandoned";
	switch (fail->cls) {
	case ACME_FAIL_UNAVAILABLE:	return "unavailable";
	case ACME_FAIL_RATE_LIMITED:	return "rate_limited";
	case ACME_FAIL_DOMAIN:		return "domain";
	case ACME_FAIL_LOCAL:		return "local";
	default:			return "ca";
	}
}

static void
order_done(void *arg, const char *pem, size_t len, const char *error,
    const struct acme_failure *fail)
{
	struct managed	*m = arg;
	struct ca_slot	*s;
	char		*why = NULL, *text;

	m->order = NULL;
	if (m->cl != NULL)	/* the CA's cluster-wide slot is free again */
		sem_end(m);
	metrics_order(m->r->env.metrics, m->ca_index < m->cfg->ca.n ?
	    m->cfg->ca.v[m->ca_index] : NULL, order_result(error, fail));
	if (fail != NULL && fail->gone) {
		order_abandon(m, error, fail);
		return;
	}
	/* an order the CA answered for is over; one it did not may resume */
	if (error != NULL && (fail == NULL || (fail->cls !=
	    ACME_FAIL_UNAVAILABLE && fail->cls != ACME_FAIL_RATE_LIMITED)))
		order_forget(m);
	if (error != NULL) {
		order_failed(m, error, fail);
		return;
	}
	breaker_note(ca_slot_find(m->r, m->cfg->ca.v[m->ca_index]), m,
	    ACME_FAIL_NONE);
	if (install(m, pem, len, &why) == 0)
		return;
	if (why == NULL) {
		cert_failed(m);		/* ours, not the CA's: no other CA helps */
		return;
	}
	/* a certificate we refuse is the CA's failure: next CA, backoff */
	s = ca_slot_find(m->r, m->cfg->ca.v[m->ca_index]);
	text = xasprintf("%s: refused the certificate it issued for %s: %s",
	    s != NULL ? s->cfg->directory : "?", m->cfg->name, why);
	order_failed(m, text, NULL);
	free(text);
	free(why);
}

/*
 * Returns 1 if m may order at CA s (index i of its list) now: no rate limit
 * holds m there, and s's breaker is closed or no other order probes it.
 */
static int
ca_usable(struct managed *m, size_t i, struct ca_slot *s, time_t now)
{
	char	when[32];

	if (m->held != NULL && m->held[i] > now) {
		log_msg(LOG_LVL_INFO, m->cfg->name, "rate limited at CA %s until "
		    "%s: not ordering there", s->name, log_fmt_time(m->held[i],
		    when, sizeof(when)));
		return 0;
	}
	if (s->open && s->probe != NULL && s->probe != m) {
		log_msg(LOG_LVL_INFO, m->cfg->name, "CA %s: circuit breaker "
		    "open and probed already: not ordering there", s->name);
		return 0;
	}
	return 1;
}

/* Returns 1 if the breaker of a CA of m is open. */
static int
breaker_in_way(struct managed *m)
{
	struct ca_slot	*s;
	size_t		 i;

	for (i = 0; i < m->cfg->ca.n; i++)
		if ((s = ca_slot_find(m->r, m->cfg->ca.v[i])) != NULL && s->open)
			return 1;
	return 0;
}

/* Fills *req with what every order of m asks for: names, key, challenge. */
static void
order_req(struct managed *m, struct acme_order_req *req)
{
	memset(req, 0, sizeof(*req));
	req->cert_name = m->cfg->name;
	req->domains = m->cfg->domains.v;
	req->ndomains = m->cfg->domains.n;
	req->key = m->new_key;
	req->challenge = conf_challenge_name(m->cfg->challenge);
	req->profile = m->cfg->profile;
}

static void
cert_order(struct managed *m)
{
	struct ca_slot		*s;
	time_t			 now = time(NULL);

	/* the first CA from ca_index on that may take the order */
	while ((s = ca_slot_find(m->r, m->cfg->ca.v[m->ca_index])) != NULL &&
	    !ca_usable(m, m->ca_index, s, now) && m->ca_index + 1 < m->cfg->ca.n)
		m->ca_index++;
	if (s == NULL) {
		order_done(m, NULL, 0, "no such CA", NULL);
		return;
	}
	if (!ca_usable(m, m->ca_index, s, now)) {
		log_msg(LOG_LVL_NOTICE, m->cfg->name, "no CA of %zu may take an "
		    "order now", m->cfg->ca.n);
		m->breaker_wait = breaker_in_way(m);
		cert_failed(m);
		return;
	}
	m->breaker_wait = 0;
	if (s->open) {
		log_msg(LOG_LVL_NOTICE, m->cfg->name, "CA %s: circuit breaker "
		    "open: this order probes it", s->name);
		s->probe = m;
		m->probing = s;
	}
	order_gate(m, 0);
}

/* The live privkey.pem of m (reuse_key), or NULL if there is none. */
static char *
live_key_pem(struct managed *m)
{
	char	*key = NULL, *fullchain = NULL;

	if (m->r->env.store == NULL ||
	    store_cert_load(m->r->env.store, m->cfg->name, &key,
	    &fullchain) != 1)
		return NULL;
	free(fullchain);
	return key;
}

static void
cert_issue(struct managed *m)
{
	struct keygen_job *j;

	j = xcalloc(1, sizeof(*j));
	j->r = m->r;
	j->owner = m;
	j->name = xstrdup(m->cfg->name);
	pthread_mutex_init(&j->mu, NULL);
	j->type = m->cfg->key;
	if (m->cfg->reuse_key && !m->fresh_key)
		j->reuse_pem = live_key_pem(m);
	set_state(m, MANAGED_KEYGEN);
	/* RSA keys take up to seconds: never generate them on the loop */
	if (worker_submit(m->r->env.workers, keygen_work, keygen_done, j) == -1) {
		keygen_job_free(j);
		log_msg(LOG_LVL_ERR, m->cfg->name, "cannot queue key generation");
		cert_failed(m);
		return;
	}
	TAILQ_INSERT_TAIL(&m->r->jobs, j, entry);
	m->job = j;
}

/* Remembers the files of a whole live version for the sweep; returns 1. */
static int
live_judged(struct managed *m, const struct livecheck *lc)
{
	m->live_stamp = lc->stamp;
	return m->lc_ok = 1;
}

/*
 * Judges the live version (livecheck.h: the same judge as renewctl's);
 * when it is not whole, points live at the newest whole version there is.
 * Returns 1 with *lc filled (free with livecheck_clear) if a whole
 * version is live now, 0 if the certificate must be issued.
 */
static int
live_whole(struct managed *m, struct livecheck *lc)
{
	const char	*dir = store_path(m->r->env.store), *name = m->cfg->name;
	char		 why[1024], good[NAME_MAX + 1];

	m->lc_ok = 0;
	switch (livecheck_judge(dir, name, NULL, m->r->lcache, lc, why,
	    sizeof(why))) {
	case LIVECHECK_WHOLE:
		return live_judged(m, lc);
	case LIVECHECK_ABSENT:
		if (why[0] == '\0')
			snprintf(why, sizeof(why), "no live link");
		break;
	case LIVECHECK_BROKEN:
		break;
	}
	if (!livecheck_newest_whole(dir, name, lc->version[0] != '\0' ?
	    lc->version : NULL, time(NULL), m->r->lcache, good,
	    sizeof(good))) {
		/* a new certificate has no versions yet: nothing to say */
		if (lc->version[0] != '\0' || strcmp(why, "no live link") != 0)
			log_msg(LOG_LVL_WARNING, name, "the live version is not "
			    "whole (%s) and no other whole version is left: "
			    "reissuing", why);
		return 0;
	}
	log_msg(LOG_LVL_WARNING, name, "the live version is not whole: %s",
	    why);
	if (store_cert_relive(m->r->env.store, name, good) == -1 ||
	    livecheck_judge(dir, name, NULL, m->r->lcache, lc, why,
	    sizeof(why)) != LIVECHECK_WHOLE)
		return 0;
	log_msg(LOG_LVL_NOTICE, name, "repaired: live now names version %s "
	    "(serial %s)", good, lc->info.serial);
	return live_judged(m, lc);
}

/*
 * Decides whether the live certificate is good enough: it must be whole
 * (or repaired), be of the configured key type, cover every domain, and
 * not be due. Returns the due time, or 0 if it must be (re)issued.
 */
/*
 * Returns 1 if a reload asked for a new certificate and serial, the live
 * one, is still the one it replaces (so a failed order is tried again on
 * the backoff ladder), else 0 and forgets the request.
 */
static int
cert_reissue(struct managed *m, const char *serial)
{
	if (m->reissue != NULL) {
		log_msg(LOG_LVL_NOTICE, m->cfg->name, "%s: reissuing serial %s",
		    m->reissue, serial);
		free(m->reissue_of);
		m->reissue_of = xstrdup(serial);
		m->reissue = NULL;
		return 1;
	}
	if (m->reissue_of != NULL && strcmp(m->reissue_of, serial) == 0)
		return 1;
	free(m->reissue_of);
	m->reissue_of = NULL;
	return 0;
}

/* live_due for a whole live version lc. */
static time_t
live_due_whole(struct managed *m, const struct livecheck *lc)
{
	const struct crypto_cert_info *info = &lc->info;
	time_t		 due;

	cert_take_facts(m, info);	/* its certID: ARI, "replaces" */
	if (cert_reissue(m, info->serial))
		return 0;
	if (lc->key_type != (int)m->cfg->key) {
		log_msg(LOG_LVL_NOTICE, m->cfg->name,
		    "key type changed to %s: reissuing", conf_key_type_name(m->cfg->key));
		return 0;
	}
	if (!crypto_cert_covers(info, m->cfg->domains.v, m->cfg->domains.n)) {
		log_msg(LOG_LVL_NOTICE, m->cfg->name,
		    "domains changed: reissuing");
		return 0;
	}
	due = cert_plan(m, info->serial, NULL);
	if (due <= time(NULL)) {
		log_msg(LOG_LVL_NOTICE, m->cfg->name,
		    "serial %s is due for renewal", info->serial);
		return 0;
	}
	log_msg(LOG_LVL_INFO, m->cfg->name,
	    "serial %s is valid; renewal due in %lld s", info->serial,
	    (long long)(due - time(NULL)));
	return due;
}

static time_t
live_due(struct managed *m)
{
	struct livecheck lc = { 0 };
	time_t		 due;

	if (m->r->env.store != NULL && live_whole(m, &lc))
		due = live_due_whole(m, &lc);
	else
		due = 0;
	livecheck_clear(&lc);
	return due;
}

/*
 * Returns why the order saved in schedule.json cannot be resumed with
 * the key in pending.key (*key then NULL), or NULL with *key and *i (its
 * CA's index) set.
 */
static const char *
resume_unusable(struct managed *m, struct crypto_key **key, size_t *i)
{
	const char	*ca = SV(m)->order_ca;
	char		*pem;

	*key = NULL;
	for (*i = 0; ca != NULL && *i < m->cfg->ca.n &&
	    strcmp(m->cfg->ca.v[*i], ca) != 0; (*i)++)
		;
	if (ca == NULL || *i == m->cfg->ca.n || ca_slot_find(m->r, ca) == NULL)
		return "its CA is not the certificate's any more";
	if ((pem = store_pending_key_load(m->r->env.store, m->cfg->name)) ==
	    NULL)
		return "its key, pending.key, is missing or unreadable";
	*key = crypto_key_from_pem(pem, strlen(pem));
	xfree_secret_str(pem);
	if (*key == NULL)
		return "its key, pending.key, is no key";
	if (crypto_key_type(*key) != (int)m->cfg->key) {
		crypto_key_free(*key);
		*key = NULL;
		return "the key type changed";
	}
	return NULL;
}

/*
 * An order placed before a restart: resume it at its CA with its key
 * instead of a new key and a new order. Returns 1 if it goes on, 0 if
 * there is none or it cannot (then it is forgotten).
 */
static int
cert_resume(struct managed *m)
{
	struct crypto_key	*key;
	const char		*why, *url = SV(m)->order_url;
	size_t			 i;

	if (url == NULL || m->r->env.store == NULL)
		return 0;
	if ((why = resume_unusable(m, &key, &i)) != NULL) {
		log_msg(LOG_LVL_NOTICE, m->cfg->name, "not resuming order %s: "
		    "%s; ordering afresh", url, why);
		pending_drop(m);
		return 0;
	}
	log_msg(LOG_LVL_NOTICE, m->cfg->name, "resuming order %s at CA %s",
	    url, m->cfg->ca.v[i]);
	m->new_key = key;
	m->ca_index = i;
	set_state(m, MANAGED_ORDER);
	order_gate(m, 1);
	return 1;
}

/* ------------------------------------------------------ cluster mode */

/*
 * Cluster mode (issue 14, DESIGN.md "Cluster mode"). A due certificate is
 * ordered by the node that holds its lock in etcd (cluster_claim: the
 * rendezvous-ranked node first); an order takes one of its CA's
 * cluster-wide slots (cluster_sem) and, at a CA whose account the
 * cluster does not have yet, waits for the node that registers it. The
 * holder writes the issued certificate to etcd (fenced by its lock) before
 * installing it; every other node installs it from the watch
 * (renewer_cluster_cert), with its own deliveries.
 */

#define CLUSTER_BUSY_RECHECK	60	/* s: another node holds the lock */
#define CLUSTER_DOWN_RECHECK	30	/* s: no session (and again once up) */
#define CLUSTER_ACCT_RETRY	2	/* s: asking again for acct:<ca> */

static void	acct_wake(struct ca_slot *);

/* Writes what a previous holder left (P orders/<name>) where cert_resume looks. */
static void
claim_take_order(struct managed *m, const unsigned char *v, size_t len)
{
	struct cluster_order_rec rec = { 0 };
	struct sched_state	*sv;
	const char		*why;

	if (cluster_order_parse(v, len, &rec, &why) == -1) {
		log_msg(LOG_LVL_ERR, m->cfg->name, "cluster: orders/%s: "
		    "refused: %s; ordering afresh", m->cfg->name, why);
		return;
	}
	if (SV(m)->order_url != NULL &&
	    strcmp(SV(m)->order_url, rec.url) == 0) {	/* ours already */
		cluster_order_clear(&rec);
		return;
	}
	if (store_pending_key_save(m->r->env.store, m->cfg->name, rec.key_pem,
	    strlen(rec.key_pem)) == 0) {
		log_msg(LOG_LVL_NOTICE, m->cfg->name, "cluster: taking over "
		    "order %s from node %s", rec.url, rec.node);
		sv = sv_w(m);
		free(sv->order_ca);
		free(sv->order_url);
		sv->order_ca = xstrdup(rec.ca);
		sv->order_url = xstrdup(rec.url);
		saved_store(m);
	}
	cluster_order_clear(&rec);
}

static void
claim_done(void *arg, enum cluster_claim_result res, const unsigned char *v,
    size_t len)
{
	struct managed	*m = arg;
	time_t		 now = time(NULL);

	m->cl->claim = NULL;
	if (res == CLUSTER_DOWN && !TAILQ_EMPTY(&m->waiters)) {
		/* renewctl renew waits for the session rather than failing */
		log_msg(LOG_LVL_NOTICE, m->cfg->name, "cluster: no session "
		    "with etcd: the renewal asked for waits until there is one");
		m->cl->down_wait = 1;
		return;
	}
	if (res != CLUSTER_CLAIMED)	/* no renewal now: waiters are told */
		set_state(m, MANAGED_IDLE);
	switch (res) {
	case CLUSTER_CLAIMED:	/* CLAIM becomes KEYGEN or ORDER directly */
		if (v != NULL)
			claim_take_order(m, v, len);
		if (!cert_resume(m))
			cert_issue(m);
		return;
	case CLUSTER_BUSY:
		m->cl->busy_wait = 1;
		log_msg(LOG_LVL_DEBUG, m->cfg->name, "cluster: node %s "
		    "holds it; checking again in %d s", cluster_holder(
		    m->r->env.cluster, m->cfg->name) != NULL ? cluster_holder(
		    m->r->env.cluster, m->cfg->name) : "?",
		    CLUSTER_BUSY_RECHECK);
		schedule(m, now + CLUSTER_BUSY_RECHECK);
		return;
	case CLUSTER_DOWN:
		/* the session's own notice says so once; this is per certificate */
		log_msg(LOG_LVL_INFO, m->cfg->name, "cluster: no session "
		    "with etcd: not ordering; the live certificate stays");
		m->cl->down_wait = 1;
		schedule(m, now + CLUSTER_DOWN_RECHECK);
		return;
	}
}

/* A due certificate: order it, or in cluster mode first claim it. */
static void
cert_go(struct managed *m)
{
	if (m->cl == NULL) {
		if (!cert_resume(m))
			cert_issue(m);
		return;
	}
	set_state(m, MANAGED_CLAIM);
	m->cl->down_wait = m->cl->busy_wait = 0;
	m->cl->claim = cluster_claim(m->r->env.cluster, m->cfg->name, 0,
	    claim_done, m);
}

static void
sem_done(void *arg, int ok)
{
	struct managed *m = arg;

	if (ok) {
		order_launch(m, m->cl->resume);
		return;
	}
	sem_end(m);	/* the session went: nothing is held */
	log_msg(LOG_LVL_NOTICE, m->cfg->name, "cluster: the session with "
	    "etcd ended before an order slot was free: not ordering");
	crypto_key_free(m->new_key);	/* pending.key keeps it for a resume */
	m->new_key = NULL;
	set_state(m, MANAGED_IDLE);
	m->cl->down_wait = 1;
	schedule(m, time(NULL) + CLUSTER_DOWN_RECHECK);
}

/*
 * Starts the order at m->cfg->ca.v[m->ca_index] (cert_order, cert_resume);
 * in cluster mode once the CA's account is shared and a slot is free.
 */
static void
order_gate(struct managed *m, int resume)
{
	struct ca_slot	*s = ca_slot_find(m->r, m->cfg->ca.v[m->ca_index]);

	if (m->cl == NULL) {
		order_launch(m, resume);
		return;
	}
	m->cl->resume = resume;
	if (!s->acct_ready) {
		m->cl->acct_wait = 1;
		TAILQ_INSERT_TAIL(&s->acct_waiters, m->cl, acct_entry);
		acct_wake(s);
		return;
	}
	if (s->sem_asking >= s->cfg->max_concurrent_orders) {
		m->cl->sem_wait = 1;
		TAILQ_INSERT_TAIL(&s->sem_waiters, m->cl, acct_entry);
		return;
	}
	s->sem_asking++;
	m->cl->sem_asked = 1;
	m->cl->sem = cluster_sem_acquire(m->r->env.cluster, s->name,
	    s->cfg->max_concurrent_orders, m->cfg->name, sem_done, m);
}

/*
 * m's order is over (or never got its slot): the slot goes back to the
 * cluster and this node's next waiting order at that CA asks for one.
 */
static void
sem_end(struct managed *m)
{
	struct ca_slot		*s = ca_slot_find(m->r, m->cfg->ca.v[m->ca_index]);
	struct managed_cl	*c;

	cluster_sem_release(m->cl->sem);
	m->cl->sem = NULL;
	if (m->cl->sem_wait) {
		TAILQ_REMOVE(&s->sem_waiters, m->cl, acct_entry);
		m->cl->sem_wait = 0;
	}
	if (!m->cl->sem_asked)
		return;
	m->cl->sem_asked = 0;
	s->sem_asking--;
	if ((c = TAILQ_FIRST(&s->sem_waiters)) != NULL) {
		TAILQ_REMOVE(&s->sem_waiters, c, acct_entry);
		c->sem_wait = 0;
		order_gate(c->m, c->resume);
	}
}

static void	acct_claim(struct ca_slot *);

static void
acct_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	acct_claim(arg);
}

/* The slot of a CA from its name, for the callbacks that carry a slot. */
static void
acct_claimed(void *arg, enum cluster_claim_result res,
    const unsigned char *v, size_t len)
{
	struct ca_slot	*s = arg;
	struct timeval	 tv = { CLUSTER_ACCT_RETRY, 0 };

	(void)v;
	(void)len;
	s->acct_claim = NULL;
	if (s->acct_ready)
		return;
	if (res == CLUSTER_CLAIMED) {
		log_notice("cluster: CA %s: no shared account yet; this node "
		    "registers it", s->name);
		s->acct_owner = 1;
		s->acct_ready = 1;
		acct_wake(s);
		return;
	}
	if (s->acct_retry == NULL)
		s->acct_retry = evtimer_new(s->r->env.base, acct_retry_cb, s);
	event_add(s->acct_retry, &tv);
}

static void
acct_claim(struct ca_slot *s)
{
	char	*name;

	if (s->acct_ready || s->acct_claim != NULL)
		return;
	name = xasprintf("acct:%s", s->name);
	s->acct_claim = cluster_claim(s->r->env.cluster, name,
	    CLUSTER_CLAIM_NOW, acct_claimed, s);
	free(name);
}

/* Orders waiting for s's account go on once it is ready; else ask for it. */
static void
acct_wake(struct ca_slot *s)
{
	struct managed_cl *c;

	if (!s->acct_ready) {
		acct_claim(s);
		return;
	}
	while ((c = TAILQ_FIRST(&s->acct_waiters)) != NULL) {
		TAILQ_REMOVE(&s->acct_waiters, c, acct_entry);
		c->acct_wait = 0;
		order_gate(c->m, c->resume);
	}
}

static void
acct_published(void *arg, const char *error)
{
	struct ca_slot	*s = arg;
	char		*name = xasprintf("acct:%s", s->name);

	if (error == NULL)
		log_notice("cluster: CA %s: this node's account is the "
		    "cluster's now", s->name);
	else if (strcmp(error, CLUSTER_EXISTS) == 0)
		log_warn("cluster: CA %s: another node's account was shared "
		    "first; this node takes it at its next start", s->name);
	else
		log_err("cluster: CA %s: cannot share the account: %s",
		    s->name, error);
	cluster_release(s->r->env.cluster, name);
	free(name);
}

/* The account we registered (we hold acct:<ca>): into etcd, once. */
static void
acct_publish(struct renewer *r, struct ca_slot *s)
{
	struct cluster_account_rec rec = { 0 };
	char	*json, *lock;
	size_t	 len;

	if (!s->acct_owner || store_account_load(r->env.store, s->name,
	    &rec.key_pem, &rec.url) != 1 || rec.url == NULL) {
		xfree_secret_str(rec.key_pem);
		free(rec.url);
		return;
	}
	s->acct_owner = 0;
	rec.ca = s->name;
	json = cluster_account_encode(&rec, &len);
	lock = xasprintf("acct:%s", s->name);
	cluster_put(r->env.cluster, "accounts", s->name, json, len, lock,
	    CLUSTER_PUT_CREATE, acct_published, s);
	free(lock);
	xfree_secret_str(json);
	xfree_secret_str(rec.key_pem);
	free(rec.url);
}

static void
order_note_done(void *arg, const char *error)
{
	char *name = arg;

	if (error != NULL)
		log_msg(LOG_LVL_WARNING, name, "cluster: cannot record the "
		    "order for a takeover: %s", error);
	free(name);
}

/* The order has its URL: the cluster learns it too (a takeover resumes it). */
static void
order_note(struct managed *m, const char *url)
{
	struct cluster_order_rec rec = { 0 };
	struct ca_slot	*s = ca_slot_find(m->r, m->cfg->ca.v[m->ca_index]);
	char		*json;
	size_t		 len;

	if (s != NULL)		/* the account is registered by now */
		acct_publish(m->r, s);
	if ((rec.key_pem = crypto_key_to_pem(m->new_key, NULL)) == NULL)
		return;
	rec.ca = m->cfg->ca.v[m->ca_index];
	rec.url = (char *)url;
	rec.node = (char *)cluster_node(m->r->env.cluster);
	json = cluster_order_encode(&rec, &len);
	cluster_put(m->r->env.cluster, "orders", m->cfg->name, json, len,
	    m->cfg->name, 0, order_note_done, xstrdup(m->cfg->name));
	xfree_secret_str(json);
	xfree_secret_str(rec.key_pem);
}

/* Stops what m has going in the cluster; keep: the lock stays ours. */
static void
cl_stop(struct managed *m, int keep)
{
	struct ca_slot *s;

	if (m->cl == NULL)
		return;
	cluster_claim_cancel(m->cl->claim);
	m->cl->claim = NULL;
	sem_end(m);
	if (m->cl->acct_wait) {
		s = ca_slot_find(m->r, m->cfg->ca.v[m->ca_index]);
		TAILQ_REMOVE(&s->acct_waiters, m->cl, acct_entry);
		m->cl->acct_wait = 0;
	}
	if (!keep && cluster_holds(m->r->env.cluster, m->cfg->name))
		cluster_release(m->r->env.cluster, m->cfg->name);
}

struct cl_done {
	struct cluster	*cl;
	char		 name[];
};

/* The order record is gone (fenced by the lock): now the lock goes. */
static void
orders_deleted(void *arg, const char *error)
{
	struct cl_done *d = arg;

	if (error != NULL)
		log_msg(LOG_LVL_DEBUG, d->name, "cluster: orders/%s stays: %s",
		    d->name, error);
	cluster_release(d->cl, d->name);
	free(d);
}

/* Installed from our own order: the order record, then the lock, go. */
static void
cl_installed(struct managed *m)
{
	struct cl_done	*d;
	size_t		 n = strlen(m->cfg->name) + 1;

	d = xmalloc(sizeof(*d) + n);
	d->cl = m->r->env.cluster;
	memcpy(d->name, m->cfg->name, n);
	cluster_delete(d->cl, "orders", m->cfg->name, m->cfg->name,
	    orders_deleted, d);
}

static void
order_launch(struct managed *m, int resume)
{
	struct acme_order_req	 req;
	struct ca_slot		*s = ca_slot_find(m->r, m->cfg->ca.v[m->ca_index]);

	order_req(m, &req);
	if (resume)
		req.resume = SV(m)->order_url;
	else {
		/* the first CA is the one asked for ARI, and likely the issuer */
		req.replaces = m->ca_index == 0 ? ARI_ID(m) : NULL;
		req.on_url = order_url_known;
	}
	loopstat_watch(m->r->env.loopstat, 10);	/* answers to parse */
	m->order = acme_order_start(s->ca, &req, order_done, m);
	if (m->order == NULL)
		order_done(m, NULL, 0, "cannot start an order", NULL);
	else
		acme_order_prefer_chain(m->order, m->cfg->preferred_chain);
}

/* The holder's certificate is in etcd (or not): install it here now. */
static void
publish_done(void *arg, const char *error)
{
	struct install_job *j = arg;
	struct managed	   *m = j->owner;

	j->put = NULL;
	if (error == NULL) {
		install_job_start(m, j);
		return;
	}
	m->install = NULL;
	install_job_free(j);
	pending_drop(m);
	if (strcmp(error, CLUSTER_FENCED) == 0) {
		log_msg(LOG_LVL_WARNING, m->cfg->name, "cluster: this node "
		    "lost the certificate's lock while ordering; what it got "
		    "is dropped, the new holder's certificate counts");
		crypto_key_free(m->new_key);
		m->new_key = NULL;
		set_state(m, MANAGED_IDLE);
		schedule(m, time(NULL) + CLUSTER_BUSY_RECHECK);
		return;
	}
	log_msg(LOG_LVL_ERR, m->cfg->name, "cluster: cannot write the new "
	    "certificate to etcd: %s; not installed", error);
	cert_failed(m);
}

/* cluster mode: the holder writes certs/<name> (fenced) before installing. */
static void
cl_publish(struct managed *m, struct install_job *j)
{
	struct cluster_cert_rec rec = { 0 };
	char	*json;
	size_t	 len;

	rec.name = j->name;
	rec.serial = j->serial;
	rec.not_before = j->not_before;
	rec.not_after = j->not_after;
	rec.key_pem = j->key_pem;
	rec.cert_pem = j->leaf;
	rec.chain_pem = j->chain;
	rec.node = (char *)cluster_node(m->r->env.cluster);
	json = cluster_cert_encode(&rec, &len);
	j->put = cluster_put(m->r->env.cluster, "certs", m->cfg->name, json,
	    len, m->cfg->name, 0, publish_done, j);
	xfree_secret_str(json);
}

/* Another node's certificate for m: judged as our own order's, then installed. */
static void
cl_install(struct managed *m, struct cluster_cert_rec *rec)
{
	char	*pem, *why = NULL;

	if (renewing(m) || m->state == MANAGED_DUE)
		cert_stop(m);	/* ours would be a second order */
	m->new_key = crypto_key_from_pem(rec->key_pem, strlen(rec->key_pem));
	if (m->new_key == NULL) {
		log_msg(LOG_LVL_ERR, m->cfg->name, "cluster: certs/%s from "
		    "node %s: refused: its key does not parse", m->cfg->name,
		    rec->node);
		return;
	}
	set_state(m, MANAGED_ORDER);
	m->ca_index = 0;
	pem = store_fullchain(rec->cert_pem, rec->chain_pem);
	if (install_from(m, pem, strlen(pem), rec->node, &why) == -1) {
		log_msg(LOG_LVL_ERR, m->cfg->name, "cluster: certs/%s from "
		    "node %s: refused: %s", m->cfg->name, rec->node,
		    why != NULL ? why : "cannot install it");
		crypto_key_free(m->new_key);
		m->new_key = NULL;
		set_state(m, MANAGED_IDLE);
		schedule(m, time(NULL) + CLUSTER_BUSY_RECHECK);
	}
	free(why);
	free(pem);
}

void
renewer_cluster_cert(struct renewer *r, const char *name,
    const unsigned char *v, size_t len)
{
	struct managed		*m = cert_find(r, name);
	struct cluster_cert_rec	 rec = { 0 };
	struct livecheck	 lc = { 0 };
	const char		*why;
	time_t			 live_na;

	if (v == NULL || m == NULL || m->install != NULL)
		return;		/* a delete, not ours to serve, or installing */
	if (cluster_cert_parse(v, len, &rec, &why) == -1) {
		log_msg(LOG_LVL_ERR, name, "cluster: certs/%s: refused: %s",
		    name, why);
		return;
	}
	live_na = m->lc_ok ? m->na : 0;
	if (live_na == 0 && !renewing(m)) {
		/* not judged yet (due at start, say): now, for its validity */
		if (live_whole(m, &lc))
			live_na = lc.info.not_after;
		livecheck_clear(&lc);
	}
	if (strcmp(rec.name, name) != 0)
		log_msg(LOG_LVL_ERR, name, "cluster: certs/%s: refused: it "
		    "is %s's", name, rec.name);
	else if (rec.not_after > live_na)	/* newer than what is live */
		cl_install(m, &rec);
	cluster_cert_clear(&rec);
}

void
renewer_cluster_account(struct renewer *r, const char *ca,
    const unsigned char *v, size_t len)
{
	struct cluster_account_rec rec = { 0 };
	struct ca_slot	*s;
	const char	*why;
	char		*key = NULL, *url = NULL;

	if (v == NULL)
		return;
	if (cluster_account_parse(v, len, &rec, &why) == -1 ||
	    strcmp(rec.ca, ca) != 0) {
		log_err("cluster: accounts/%s: refused: %s", ca,
		    rec.ca == NULL ? why : "it is another CA's");
		cluster_account_clear(&rec);
		return;
	}
	if (store_account_load(r->env.store, ca, &key, &url) != 1 ||
	    strcmp(key, rec.key_pem) != 0 || url == NULL ||
	    strcmp(url, rec.url) != 0) {
		if (store_account_save_key(r->env.store, ca, rec.key_pem,
		    strlen(rec.key_pem)) == 0 &&
		    store_account_save_url(r->env.store, ca, rec.url) == 0)
			log_notice("cluster: CA %s: the cluster's account %s "
			    "is this node's now", ca, rec.url);
	}
	xfree_secret_str(key);
	free(url);
	cluster_account_clear(&rec);
	if (!acct_shared(r, ca)) {
		r->shared_accts = xreallocarray(r->shared_accts,
		    r->nshared_accts + 1, sizeof(*r->shared_accts));
		r->shared_accts[r->nshared_accts++] = xstrdup(ca);
	}
	if ((s = ca_slot_find(r, ca)) != NULL && !s->acct_ready) {
		cluster_claim_cancel(s->acct_claim);
		s->acct_claim = NULL;
		s->acct_ready = 1;
		acct_wake(s);
	}
}

void
renewer_cluster_unlocked(struct renewer *r, const char *name)
{
	struct managed *m = cert_find(r, name);

	/* its holder's certificate came first if it got one: then not due */
	if (m != NULL && m->cl != NULL)
		log_msg(LOG_LVL_DEBUG, name, "cluster: its lock went (%s)",
		    m->cl->busy_wait ? "waited on: checking now" :
		    "not waited on");
	if (m != NULL && m->cl != NULL && m->cl->busy_wait &&
	    m->state == MANAGED_IDLE) {
		m->cl->busy_wait = 0;
		schedule(m, 0);
	}
}

void
renewer_cluster_state(struct renewer *r, int up)
{
	struct managed *m;

	if (!up)
		return;
	TAILQ_FOREACH(m, &r->certs, entry) {
		if (m->cl == NULL || !m->cl->down_wait)
			continue;
		m->cl->down_wait = 0;
		if (m->state == MANAGED_IDLE)
			schedule(m, 0);
		else if (m->state == MANAGED_CLAIM && m->cl->claim == NULL)
			cert_go(m);	/* a renewal someone waits for */
	}
}

static void
cert_check(struct managed *m)
{
	time_t due, now = time(NULL);
	char	when[32];

	if (renewing(m))
		return;
	saved_load(m);
	if ((due = live_due(m)) != 0) {
		m->live_valid = 1;
		if (SV(m)->order_url != NULL) {	/* installed before a crash */
			log_msg(LOG_LVL_INFO, m->cfg->name, "order %s is no "
			    "longer needed: the live certificate is not due",
			    SV(m)->order_url);
			pending_drop(m);
		}
		ari_maybe_fetch(m);
		schedule_due(m, cert_wake(m, due));
		/* deploy paths that drifted, a delivery a restart cut short */
		if (m->r->env.deliver != NULL)
			deliver_check(m->r->env.deliver, m->cfg);
		return;
	}
	m->live_valid = 0;
	/* a backoff from before a restart still holds */
	if (SV(m)->retry_at > now && !m->r->env.once) {
		log_msg(LOG_LVL_NOTICE, m->cfg->name, "%u failed attempt(s) "
		    "so far; backing off until %s", m->failures,
		    log_fmt_time(SV(m)->retry_at, when, sizeof(when)));
		schedule(m, SV(m)->retry_at);
		return;
	}
	cert_go(m);
}

/* Frees a CA client and its slot; nothing may still use it. */
static void
ca_slot_free(struct renewer *r, struct ca_slot *s)
{
	TAILQ_REMOVE(&r->cas, s, entry);
	if (s->probe != NULL)
		s->probe->probing = NULL;
	cluster_claim_cancel(s->acct_claim);
	if (s->acct_retry != NULL)
		event_free(s->acct_retry);
	acme_ca_free(s->ca);
	free(s->name);
	conf_ca_free(s->cfg);
	free(s);
}

/* acme's account storage (struct acme_accounts) on top of the state directory. */
static int
account_load(void *arg, const char *ca, char **key_pem, char **url)
{
	return store_account_load(arg, ca, key_pem, url);
}

static int
account_save_key(void *arg, const char *ca, const char *key_pem, size_t len)
{
	return store_account_save_key(arg, ca, key_pem, len);
}

static int
account_save_url(void *arg, const char *ca, const char *url)
{
	return store_account_save_url(arg, ca, url);
}

static char *
account_key_path(void *arg, const char *ca)
{
	return store_account_key_path(arg, ca);
}

static void
account_load_holds(void *arg, const char *ca, struct sched_holds *h)
{
	char	err[512];

	if (store_holds_load(store_path(arg), ca, h, err, sizeof(err)) == -1)
		log_warn("%s: ignored: CA %s holds nothing back", err, ca);
}

static void
account_save_holds(void *arg, const char *ca, const struct sched_holds *h)
{
	store_holds_save(arg, ca, h);
}

static int
account_save_next(void *arg, const char *ca, const char *key_pem, size_t len)
{
	return store_account_save_next(arg, ca, key_pem, len);
}

static int
account_load_next(void *arg, const char *ca, char **key_pem)
{
	return store_account_load_next(arg, ca, key_pem);
}

static int
account_end_next(void *arg, const char *ca, int commit)
{
	return store_account_end_next(arg, ca, commit);
}

static int
account_save_info(void *arg, const char *ca, const char *status,
    char *const *contact, size_t ncontact, int set_contact)
{
	return store_account_save_info(arg, ca, status, contact, ncontact,
	    set_contact);
}

static int
account_load_info(void *arg, const char *ca, char **status, char ***contact,
    size_t *ncontact)
{
	return store_account_info(arg, ca, status, contact, ncontact);
}

enum store_import
renewer_import_account(struct renewer *r, const char *ca, const char *key_pem,
    const char *url, char *err, size_t errlen)
{
	return store_import_account(r->env.store, ca, key_pem, url, err,
	    errlen);
}

enum store_import
renewer_import_cert(struct renewer *r, const char *name, const char *key_pem,
    const char *cert_pem, const char *chain_pem, char *serial,
    size_t seriallen, char *err, size_t errlen)
{
	struct renew_view v;

	if (renewer_view(r, name, &v) == 0) {
		snprintf(err, errlen, "%s: the running inventory has a "
		    "certificate of that name: not imported", name);
		return STORE_IMPORT_ERROR;
	}
	return store_import_cert(r->env.store, name, key_pem, cert_pem,
	    chain_pem, serial, seriallen, err, errlen);
}

void
renew_store_accounts(struct store *st, struct acme_accounts *a)
{
	a->load = account_load;
	a->save_key = account_save_key;
	a->save_url = account_save_url;
	a->key_path = account_key_path;
	a->load_holds = account_load_holds;
	a->save_holds = account_save_holds;
	a->save_next = account_save_next;
	a->load_next = account_load_next;
	a->end_next = account_end_next;
	a->save_info = account_save_info;
	a->load_info = account_load_info;
	a->arg = st;
}

static int
cert_uses_ca(const struct managed *m, const char *ca)
{
	size_t i;

	for (i = 0; i < m->cfg->ca.n; i++)
		if (strcmp(m->cfg->ca.v[i], ca) == 0)
			return 1;
	return 0;
}

/*
 * Takes a CA client out of service because its settings changed or it
 * left the inventory, then frees it. Orders on it are abandoned; their
 * certificates check again at once. So do certificates that failed and
 * wait out their backoff (up to a day) while the CA may just have been
 * fixed.
 */
static void
ca_slot_retire(struct renewer *r, struct ca_slot *s)
{
	struct managed *m;

	TAILQ_FOREACH(m, &r->certs, entry) {
		if (m->ari != NULL && m->ari->fetch != NULL &&
		    m->ari->slot == s) {
			/* asked the old client: ask the new one */
			acme_ari_cancel(m->ari->fetch);
			m->ari->fetch = NULL;
			m->ari->st.next_fetch = 0;
			if (m->state == MANAGED_IDLE && m->live_valid)
				schedule(m, 0);
		}
		if (m->state == MANAGED_ORDER &&
		    strcmp(m->cfg->ca.v[m->ca_index], s->name) == 0) {
			cert_stop(m);
			schedule(m, 0);
		} else if (!renewing(m) && m->failures > 0 && !m->live_valid &&
		    cert_uses_ca(m, s->name)) {
			log_msg(LOG_LVL_NOTICE, m->cfg->name,
			    "CA %s changed: trying again now", s->name);
			backoff_forget(m);
			saved_store(m);
			schedule(m, 0);
		}
	}
	ca_slot_free(r, s);
}

/* 1 if the cluster has an account at CA ca (P accounts/<ca> was seen). */
static int
acct_shared(const struct renewer *r, const char *ca)
{
	size_t	i;

	for (i = 0; i < r->nshared_accts; i++)
		if (strcmp(r->shared_accts[i], ca) == 0)
			return 1;
	return 0;
}

static void
apply_cas(struct renewer *r, const struct conf *conf)
{
	struct acme_env	 ae;
	struct ca_slot	*s, *tmp;
	size_t		 i;

	memset(&ae, 0, sizeof(ae));
	ae.base = r->env.base;
	ae.http = r->env.http;
	if (r->env.store != NULL)
		renew_store_accounts(r->env.store, &ae.accounts);
	ae.solvers = r->env.solvers;
	ae.nsolvers = r->env.nsolvers;
	ae.metrics = r->env.metrics;
	TAILQ_FOREACH(s, &r->cas, entry)
		s->seen = 0;
	for (i = 0; i < conf->ncas; i++) {
		s = ca_slot_find(r, conf->cas[i].name);
		if (s != NULL && conf_ca_same_account(s->cfg, &conf->cas[i])) {
			/* contact, order limit: the live client takes them */
			if (!conf_ca_equal(s->cfg, &conf->cas[i])) {
				log_notice("CA %s: settings updated; orders in "
				    "flight go on", s->name);
				acme_ca_update(s->ca, &conf->cas[i]);
				conf_ca_free(s->cfg);
				s->cfg = conf_ca_dup(&conf->cas[i]);
			}
			s->seen = 1;
			continue;
		}
		if (s != NULL) {
			log_notice("CA %s changed: new client", s->name);
			ca_slot_retire(r, s);
		}
		s = xcalloc(1, sizeof(*s));
		s->r = r;
		TAILQ_INIT(&s->acct_waiters);
		TAILQ_INIT(&s->sem_waiters);
		s->name = xstrdup(conf->cas[i].name);
		/* a single node's account is its own; a cluster's may be known */
		s->acct_ready = r->env.cluster == NULL ||
		    acct_shared(r, s->name);
		s->ca = acme_ca_new(&ae, &conf->cas[i]);
		s->cfg = conf_ca_dup(&conf->cas[i]);
		s->seen = 1;
		TAILQ_INSERT_TAIL(&r->cas, s, entry);
	}
	TAILQ_FOREACH_SAFE(s, &r->cas, entry, tmp)
		if (!s->seen)
			ca_slot_retire(r, s);
}

static struct managed *
cert_find(struct renewer *r, const char *name)
{
	return htab_get(r->byname, name);
}

/* Gives a certificate its new settings, cfg (borrowed from the new inventory). */
static void
cert_reconfigure(struct managed *m, const struct conf_cert *cfg)
{
	int	recheck;

	if (m->ari != NULL)		/* SIGHUP asks for ARI again */
		m->ari->st.next_fetch = 0;
	if (conf_cert_same_order(m->cfg, cfg)) {
		/* a new renew_before moves the renewal: check again */
		recheck = !renewing(m) && m->live_valid &&
		    m->cfg->renew_before != cfg->renew_before;
		if (!conf_cert_same_delivery(m->cfg, cfg) && m->live_valid &&
		    m->r->env.deliver != NULL)
			deliver_check(m->r->env.deliver, cfg);
		/* the table keys on the name: re-key before the old one goes */
		htab_put(m->r->byname, cfg->name, m);
		m->cfg = cfg;
		if (recheck)
			schedule(m, 0);
		else if (m->state == MANAGED_IDLE && m->live_valid)
			ari_maybe_fetch(m);
		return;
	}
	log_msg(LOG_LVL_NOTICE, cfg->name, "settings changed");
	/* even if the live certificate covers the names and is not due */
	free(m->reissue_of);
	m->reissue_of = NULL;
	m->reissue = conf_cert_reissue(m->cfg, cfg);
	cert_stop(m);
	htab_put(m->r->byname, cfg->name, m);
	m->cfg = cfg;
	m->failures = 0;	/* a changed certificate starts afresh */
	free(m->held);
	m->held = NULL;
	saved_load(m);		/* before the reset, or a later load undoes it */
	saved_reset(m);
	schedule(m, 0);
}

/* Returns a new certificate with settings cfg (borrowed), checked at once. */
static struct managed *
cert_new(struct renewer *r, const struct conf_cert *cfg)
{
	struct managed *m;

	m = xcalloc(1, sizeof(*m));
	m->r = r;
	m->cfg = cfg;
	m->state = MANAGED_IDLE;
	TAILQ_INIT(&m->waiters);
	if (r->env.cluster != NULL) {
		m->cl = xcalloc(1, sizeof(*m->cl));
		m->cl->m = m;
	}
	TAILQ_INSERT_TAIL(&r->certs, m, entry);
	r->ncerts++;
	htab_put(r->byname, cfg->name, m);
	schedule(m, 0);
	return m;
}

/* Makes conf's certificates the managed ones and drops the others. */
static void
apply_certs(struct renewer *r, const struct conf *conf)
{
	struct managed	*m, *tmp;
	const struct conf_cert *cfg;
	size_t		 i;

	TAILQ_FOREACH(m, &r->certs, entry)
		m->seen = 0;
	for (i = 0; i < conf->ncerts; i++) {
		cfg = &conf->certs[i];
		if ((m = cert_find(r, cfg->name)) != NULL)
			cert_reconfigure(m, cfg);
		else
			m = cert_new(r, cfg);
		m->seen = 1;
	}
	TAILQ_FOREACH_SAFE(m, &r->certs, entry, tmp) {
		if (m->seen)
			continue;
		log_msg(LOG_LVL_NOTICE, m->cfg->name,
		    "no longer in the inventory: dropped (files stay on disk)");
		if (r->env.deliver != NULL)
			deliver_forget(r->env.deliver, m->cfg->name);
		cert_unlink(r, m);
		cert_free(m);
	}
}

/*
 * Names every certificate's profile to each CA of its list, which checks
 * them against its directory now or once it is read: a misspelt profile
 * is an error in the log at start, not at the first renewal.
 */
static void
apply_profiles(struct renewer *r, const struct conf *conf)
{
	const struct conf_cert	*c;
	struct ca_slot		*s;
	size_t			 i, j;

	for (i = 0; i < conf->ncerts; i++) {
		c = &conf->certs[i];
		for (j = 0; c->profile != NULL && j < c->ca.n; j++)
			if ((s = ca_slot_find(r, c->ca.v[j])) != NULL)
				acme_ca_want_profile(s->ca, c->name, c->profile);
	}
	TAILQ_FOREACH(s, &r->cas, entry)
		acme_ca_check_profiles(s->ca);
}

void
renewer_apply(struct renewer *r, const struct conf *conf)
{
	/* a step since the last look: what is due must not wait for the next */
	if (!r->env.once)
		clock_check(r);
	r->keep_versions = conf->defaults.keep_versions;
	/* certificates first: dropping them frees their orders before CAs go */
	apply_certs(r, conf);
	/* a reload looks at every live version again (by identity: cheap) */
	r->live_check = conf->live_check_interval;
	sweep_all(r);
	apply_cas(r, conf);
	apply_profiles(r, conf);
	maybe_idle(r);
}

struct renewer *
renewer_new(const struct renew_env *env, renew_idle_cb idle, void *arg)
{
	struct renewer *r;

	r = xcalloc(1, sizeof(*r));
	r->env = *env;
	r->idle = idle;
	r->idle_arg = arg;
	TAILQ_INIT(&r->cas);
	TAILQ_INIT(&r->certs);
	TAILQ_INIT(&r->due);
	r->byname = htab_new();
	r->due_ev = evtimer_new(env->base, due_cb, r);
	r->timer_ev = evtimer_new(env->base, timer_cb, r);
	TAILQ_INIT(&r->jobs);
	TAILQ_INIT(&r->installs);
	r->idle_ev = event_new(env->base, -1, 0, idle_cb, r);
	r->chain_cache = crypto_chain_cache_new();
	r->lcache = livecheck_cache_new();
	r->sweep_ev = evtimer_new(env->base, sweep_cb, r);
	r->wall = time(NULL);
	r->mono = r->resynced = mono_now();
	if (!env->once) {
		struct timeval tv = { CLOCK_CHECK_SEC, 0 };

		r->clock_ev = event_new(env->base, -1, EV_PERSIST, clock_cb, r);
		event_add(r->clock_ev, &tv);
	}
	return r;
}

void
renewer_drain(struct renewer *r)
{
	struct install_job *j;

	if (r == NULL)
		return;
	TAILQ_FOREACH(j, &r->installs, entry)
		install_wait(j);
}

void
renewer_free(struct renewer *r)
{
	struct managed	  *m;
	struct ca_slot	  *s;
	struct keygen_job *j;
	struct install_job *ij;

	if (r == NULL)
		return;
	/* the pool is gone: a job it dropped never runs, so none is waited for */
	TAILQ_FOREACH(ij, &r->installs, entry)
		ij->finished = 1;
	while ((m = TAILQ_FIRST(&r->certs)) != NULL) {
		cert_unlink(r, m);
		cert_free(m);
	}
	/* no certificate is left to reschedule: free, do not retire */
	while ((s = TAILQ_FIRST(&r->cas)) != NULL)
		ca_slot_free(r, s);
	/* the worker pool is gone by now (see main.c): no thread holds these */
	while ((j = TAILQ_FIRST(&r->jobs)) != NULL) {
		TAILQ_REMOVE(&r->jobs, j, entry);
		crypto_key_free(j->key);
		keygen_job_free(j);
	}
	while ((ij = TAILQ_FIRST(&r->installs)) != NULL) {
		TAILQ_REMOVE(&r->installs, ij, entry);
		install_job_free(ij);	/* ran (renewer_drain) or never will */
	}
	event_free(r->idle_ev);
	event_free(r->sweep_ev);
	livecheck_cache_free(r->lcache);
	crypto_chain_cache_free(r->chain_cache);
	event_free(r->due_ev);
	event_free(r->timer_ev);
	theap_free(&r->timers);
	htab_free(r->byname);
	while (r->nshared_accts > 0)
		free(r->shared_accts[--r->nshared_accts]);
	free(r->shared_accts);

	if (r->clock_ev != NULL)
		event_free(r->clock_ev);
	free(r);
}

void
renewer_stats(const struct renewer *r, struct renew_stats *st)
{
	const struct managed *m;

	memset(st, 0, sizeof(*st));
	st->issued = r->issued;
	TAILQ_FOREACH(m, &r->certs, entry) {
		st->certs++;
		if (renewing(m))
			st->busy++;
		else if (m->live_valid)
			st->valid++;
		else if (m->failures > 0)
			st->failed++;
		if (m->tn.when != 0 &&
		    (st->next == 0 || m->tn.when < st->next))
			st->next = m->tn.when;
	}
}

int
renewer_idle(const struct renewer *r)
{
	return r->busy == 0;
}

static void
view_fill(const struct managed *m, struct renew_view *v)
{
	time_t	now = time(NULL), held = held_everywhere(m, now);
	size_t	ci = renewing(m) ? m->ca_index : 0;

	memset(v, 0, sizeof(*v));
	v->cfg = m->cfg;
	v->ca = ci < m->cfg->ca.n ? m->cfg->ca.v[ci] : NULL;
	v->failures = m->failures;
	v->saved = SV(m);
	v->last_success = m->last_success;
	if (m->cl != NULL) {
		v->clustered = 1;
		v->holder = cluster_holder(m->r->env.cluster, m->cfg->name);
	}
	if (m->lc_ok) {
		v->not_before = m->nb;
		v->not_after = m->na;
	}
	v->next = m->state == MANAGED_IDLE ? m->tn.when : 0;
	v->next_action = RENEW_NEXT_NONE;
	switch (m->state) {
	case MANAGED_KEYGEN:
		v->state = RENEW_STATE_KEYGEN;
		return;
	case MANAGED_ORDER:
		v->state = RENEW_STATE_ORDERING;
		return;
	case MANAGED_DUE:
	case MANAGED_CLAIM:	/* due, waiting for the cluster's lock */
		v->state = RENEW_STATE_DUE;
		v->next = now;
		v->next_action = RENEW_NEXT_CHECK;
		return;
	case MANAGED_IDLE:
		break;
	}
	if (held != 0 && m->failures > 0)
		v->state = RENEW_STATE_HELD;
	else if (m->failures > 0)
		v->state = RENEW_STATE_FAILED;
	else if (m->live_valid)
		v->state = RENEW_STATE_VALID;
	else
		v->state = RENEW_STATE_MISSING;
	if (v->next == 0)
		return;
	if (m->failures > 0 && held != 0 && v->next >= held)
		v->next_action = RENEW_NEXT_HOLD_END;
	else if (m->failures > 0)
		v->next_action = RENEW_NEXT_RETRY;
	else if (ari_wanted(m) && m->ari->fetch == NULL &&
	    m->ari->st.next_fetch != 0 && m->ari->st.next_fetch <= v->next)
		v->next_action = RENEW_NEXT_ARI;
	else if (m->live_valid)
		v->next_action = RENEW_NEXT_RENEW;
	else
		v->next_action = RENEW_NEXT_CHECK;
}

int
renewer_view(const struct renewer *r, const char *name, struct renew_view *v)
{
	const struct managed *m = htab_get(r->byname, name);

	if (m == NULL)
		return -1;
	view_fill(m, v);
	return 0;
}

int
renewer_view_next(const struct renewer *r, const char *prev,
    struct renew_view *v)
{
	const struct managed *m;

	if (prev == NULL)
		m = TAILQ_FIRST(&r->certs);
	else if ((m = htab_get(r->byname, prev)) == NULL)
		return -1;
	else
		m = TAILQ_NEXT(m, entry);
	if (m == NULL)
		return 1;
	view_fill(m, v);
	return 0;
}

/*
 * Tells every waiter of m how its renewal ended (removed: why there is
 * none) and frees them. Each is off the list before its callback runs,
 * so a callback may cancel others.
 */
static void
waiters_done(struct managed *m, const char *removed)
{
	struct renew_waiter	*w;
	struct renew_outcome	 o;
	const struct sched_state *sv = SV(m);

	while ((w = TAILQ_FIRST(&m->waiters)) != NULL) {
		TAILQ_REMOVE(&m->waiters, w, entry);
		memset(&o, 0, sizeof(o));
		o.name = m->cfg->name;
		o.failures = m->failures;
		if (removed != NULL) {
			o.result = RENEW_OUTCOME_FAILED;
			o.error = removed;
		} else if (w->serial != NULL) {
			o.result = RENEW_OUTCOME_ISSUED;
			o.serial = w->serial;
		} else if (w->failed || !m->live_valid) {
			o.result = RENEW_OUTCOME_FAILED;
			o.error = sv->err_detail != NULL ? sv->err_detail :
			    sv->err_type != NULL ? sv->err_type :
			    "the attempt failed (see the log)";
			o.ca = sv->err_ca;
		} else
			o.result = RENEW_OUTCOME_VALID;
		w->cb(w->arg, &o);
		free(w->serial);
		free(w);
	}
}

int
renewer_renew_now(struct renewer *r, const char *name, int force,
    renew_done_cb cb, void *arg, struct renew_waiter **wp)
{
	struct managed		*m = htab_get(r->byname, name);
	struct renew_waiter	*w;

	if (wp != NULL)
		*wp = NULL;
	if (m == NULL)
		return -1;
	if (cb != NULL) {
		w = xcalloc(1, sizeof(*w));
		w->m = m;
		w->cb = cb;
		w->arg = arg;
		TAILQ_INSERT_TAIL(&m->waiters, w, entry);
		if (wp != NULL)
			*wp = w;
	}
	/* at work already: the order running is the renewal asked for */
	if (renewing(m))
		return 0;
	saved_load(m);		/* or the first check would read the backoff back */
	backoff_forget(m);
	m->breaker_wait = 0;
	if (force && m->live_valid)
		m->reissue = "renewal forced through the control socket";
	log_msg(LOG_LVL_NOTICE, name, "renewal asked for%s: checking now",
	    force ? " (forced)" : "");
	if (m->state == MANAGED_IDLE)	/* DUE: queued already */
		schedule(m, 0);
	return 0;
}

void
renewer_renew_cancel(struct renew_waiter *w)
{
	if (w == NULL)
		return;
	TAILQ_REMOVE(&w->m->waiters, w, entry);
	free(w->serial);
	free(w);
}

struct acme_revoke *
renewer_revoke(struct renewer *r, const char *name, int reason,
    int with_cert_key, void (*cb)(void *, const char *), void *arg,
    struct renew_revocation *out, char *err, size_t errlen)
{
	struct managed		*m = htab_get(r->byname, name);
	struct ca_slot		*s;
	struct acme_revoke	*h = NULL;
	struct crypto_key	*key = NULL;
	char			*pem = NULL, *der = NULL, *key_pem = NULL;
	size_t			 len;
	int			 rc;

	memset(out, 0, sizeof(*out));
	if (m == NULL) {
		snprintf(err, errlen, "no such certificate in the running "
		    "inventory");
		return NULL;
	}
	/* no issuer is recorded with a version: the first CA issued it */
	if (m->cfg->ca.n == 0 || (s = ca_slot_find(r, m->cfg->ca.v[0])) ==
	    NULL) {
		snprintf(err, errlen, "no CA client for the certificate");
		return NULL;
	}
	out->ca = s->name;
	/* a key said to be compromised is never certified again */
	if (reason == REVOKE_KEY_COMPROMISE)
		m->fresh_key = 1;
	if (with_cert_key) {
		/* the key and the certificate of one live version */
		if ((rc = store_cert_load(r->env.store, name, &key_pem,
		    &pem)) == 1 && (key = crypto_key_from_pem(key_pem,
		    strlen(key_pem))) == NULL)
			rc = -1;
		xfree_secret_str(key_pem);
		len = pem != NULL ? strlen(pem) : 0;
		if (rc != 1) {
			free(pem);
			pem = NULL;
		}
	} else
		pem = livecheck_cert_pem(store_path(r->env.store), name, &len);
	if (pem == NULL)
		snprintf(err, errlen, "no live certificate%s to revoke under %s",
		    with_cert_key ? " and key" : "", store_path(r->env.store));
	else if ((der = crypto_pem_der_b64url(pem, len)) == NULL ||
	    crypto_pem_serial(pem, len, out->serial, sizeof(out->serial)) == -1)
		snprintf(err, errlen, "the live cert.pem under %s does not "
		    "parse", store_path(r->env.store));
	else if ((h = acme_revoke_start(s->ca, name, der, reason, key, cb,
	    arg)) == NULL) {
		key = NULL;	/* taken over, and freed */
		snprintf(err, errlen, "cannot start the revocation");
	} else
		log_msg(LOG_LVL_NOTICE, name, "revoking serial %s at CA %s "
		    "(reason code %d, signed with the %s key)", out->serial,
		    s->name, reason, with_cert_key ? "certificate's" : "account");
	if (h == NULL)
		crypto_key_free(key);
	free(der);
	free(pem);
	return h;
}

struct acme_acct_req *
renewer_account(struct renewer *r, const char *ca, enum acme_acct_op op,
    char *const *contact, size_t ncontact, acme_account_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct ca_slot	*s = ca_slot_find(r, ca);

	if (s == NULL) {
		snprintf(err, errlen, "no CA \"%s\" in the running inventory",
		    ca);
		return NULL;
	}
	/* update without contacts: the inventory's */
	if (op == ACME_ACCT_UPDATE && ncontact == 0) {
		contact = s->cfg->contact.v;
		ncontact = s->cfg->contact.n;
	}
	return acme_account_start(s->ca, op, contact, ncontact, cb, arg);
}
