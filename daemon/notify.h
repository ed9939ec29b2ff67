/* notify.h - tell a human: the inventory's notify hooks, run per event */
#ifndef RENEWD_NOTIFY_H
#define RENEWD_NOTIFY_H

#include <time.h>

struct event_base;
struct conf_notify;
struct notifier;

/* What happened to one certificate; strings are copied. */
struct notify_event {
	const char	*event;		/* NOTIFY_FAILURE, _EXPIRING, _SUCCESS */
	const char	*cert;
	const char	*domains;	/* space-separated */
	const char	*ca;		/* the CA of the attempt; NULL: none */
	const char	*error;		/* the last error; NULL: none */
	time_t		 not_after;	/* the live certificate's; 0: none */
	unsigned	 failures;	/* consecutive failed attempts */
};

#define NOTIFY_FAILURE	"failure"
#define NOTIFY_EXPIRING	"expiring"
#define NOTIFY_SUCCESS	"success"

/* At most this many hooks run at once; the rest wait in order. */
#define NOTIFY_MAX_RUNNING	4
/* Events waiting beyond this are dropped (logged): a bound at 100,000. */
#define NOTIFY_MAX_QUEUED	10000

/* Called on the loop when the last waiting or running hook has ended. */
typedef void (*notify_idle_cb)(void *arg);

/* Returns a notifier on base with no hooks. */
struct notifier	*notifier_new(struct event_base *base, notify_idle_cb idle,
		    void *arg);
/* Returns how many hooks run or wait (renewd --once waits for them). */
size_t		 notifier_busy(const struct notifier *);
/* Kills running hooks and drops waiting events; NULL is a no-op. */
void		 notifier_free(struct notifier *);
/*
 * Borrows cfg (the running inventory's notify section) until the next
 * call or notifier_free; hooks already running go on.
 */
void		 notifier_apply(struct notifier *, const struct conf_notify *cfg);
/* Returns the settings in force (never NULL: no hooks if none applied). */
const struct conf_notify *notifier_conf(const struct notifier *);
/*
 * Runs every hook for ev if cfg->on asks for its kind (at most
 * NOTIFY_MAX_RUNNING at once) with RENEWD_EVENT, RENEWD_CERT,
 * RENEWD_DOMAINS, RENEWD_CA, RENEWD_ERROR, RENEWD_NOT_AFTER (RFC 3339)
 * and RENEWD_FAILURES. Whether the event is new is the caller's to decide.
 */
void		 notify_post(struct notifier *, const struct notify_event *ev);
/* Returns the CONF_NOTIFY_* bit of an event name, 0 if unknown. */
unsigned	 notify_kind(const char *event);

#endif
