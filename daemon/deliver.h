/* deliver.h - after an install: deploy copies, debounced reloads, verify */
#ifndef RENEWD_DELIVER_H
#define RENEWD_DELIVER_H

#include <stddef.h>

struct event_base;
struct store;
struct conf_cert;
struct deliverer;
struct metrics;

struct deliver_env {
	struct event_base *base;
	struct store	*store;
	const char	*state_dir;
	int		 once;		/* no retries: one attempt, then idle */
	struct metrics	*metrics;	/* deliveries and reloads counted; NULL: none */
};

struct deliver_stats {
	size_t	delivered;	/* the live version is delivered (or there is nothing to do) */
	size_t	busy;		/* deploying, waiting for a reload, verifying */
	size_t	failed;		/* the last attempt failed; retrying later */
};

/* Called on the loop whenever no delivery is busy any more. */
typedef void (*deliver_idle_cb)(void *arg);

/* Returns a deliverer acting through env (copied; state_dir must outlive it). */
struct deliverer *deliverer_new(const struct deliver_env *env,
		    deliver_idle_cb idle, void *arg);
/* Kills running hooks, abandons jobs and timers, frees; NULL is a no-op. */
void		 deliverer_free(struct deliverer *);
/*
 * A new version of cfg's certificate was installed: deploy, reload and
 * verify it, whatever state an earlier delivery was in. cfg is copied.
 */
void		 deliver_installed(struct deliverer *, const struct conf_cert *cfg);
/*
 * The live version of cfg's certificate is valid (at start, after a
 * SIGHUP): deliver it if a deploy path differs from it or its delivery
 * was not finished (delivery.json), else only take cfg's settings.
 */
void		 deliver_check(struct deliverer *, const struct conf_cert *cfg);
/* The certificate left the inventory: its delivery stops. */
void		 deliver_forget(struct deliverer *, const char *name);
/* Fills st with the current counts. */
void		 deliver_stats(const struct deliverer *, struct deliver_stats *st);

#endif
