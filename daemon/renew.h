/* renew.h - keeps every certificate of the inventory valid */
#ifndef RENEWD_RENEW_H
#define RENEWD_RENEW_H

#include <stddef.h>
#include <time.h>

struct event_base;
struct http_client;
struct store;
struct acme_solver;
struct worker_pool;
struct deliverer;
struct conf;
struct renewer;

/*
 * Ownership: the renewer copies env itself but borrows the objects it
 * points to. They must outlive the renewer, except the worker pool, which
 * must be freed first (main.c's teardown): renewer_free then frees key
 * generations no thread can still finish. renewer_apply borrows conf's
 * certificates (100,000 copies would double the memory the inventory
 * takes) and copies each CA's settings: the caller keeps conf until the
 * next renewer_apply has returned, or renewer_free.
 */
struct renew_env {
	struct event_base	*base;
	struct http_client	*http;
	struct store		*store;
	const struct acme_solver *solvers;	/* challenge solvers, in order of
						   preference; outlive the renewer */
	size_t			 nsolvers;
	struct worker_pool	*workers;
	struct deliverer	*deliver;	/* deploy, reload, verify; NULL: none */
	int			 once;	/* no retries, no timers: one pass, then idle */
	struct loopstat		*loopstat;	/* told when checks queue; NULL: none */
};

struct renew_stats {
	size_t	certs;		/* in the inventory */
	size_t	valid;		/* live and not due */
	size_t	busy;		/* generating a key or ordering */
	size_t	failed;		/* last attempt failed, waiting to retry */
	size_t	issued;		/* installed since start */
	time_t	next;		/* earliest scheduled check, 0 if none */
};

/*
 * Called on the loop whenever no certificate is about to be checked,
 * generating a key or ordering any more.
 */
typedef void (*renew_idle_cb)(void *arg);

/* Returns a renewer acting through env (copied); it manages nothing yet. */
struct renewer	*renewer_new(const struct renew_env *env, renew_idle_cb idle,
		    void *arg);
/* Cancels orders and timers and frees; NULL is a no-op. */
void		 renewer_free(struct renewer *);
/*
 * Makes conf the inventory: new certificates are checked now, removed ones
 * are dropped (their orders abandoned), changed ones are re-checked; CA
 * clients are kept when their settings did not change.
 */
void		 renewer_apply(struct renewer *, const struct conf *conf);
/* Fills st with the current counts. */
void		 renewer_stats(const struct renewer *, struct renew_stats *st);
/* Returns 1 if no certificate is due now, generating a key or ordering. */
int		 renewer_idle(const struct renewer *);

#endif
