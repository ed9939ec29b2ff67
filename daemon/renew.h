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
struct conf;
struct renewer;

struct renew_env {
	struct event_base	*base;
	struct http_client	*http;
	struct store		*store;
	const struct acme_solver *solvers;	/* challenge solvers, in order of
						   preference; outlive the renewer */
	size_t			 nsolvers;
	struct worker_pool	*workers;
	int			 once;	/* no retries, no timers: one pass, then idle */
};

struct renew_stats {
	size_t	certs;		/* in the inventory */
	size_t	valid;		/* live and not due */
	size_t	busy;		/* generating a key or ordering */
	size_t	failed;		/* last attempt failed, waiting to retry */
	size_t	issued;		/* installed since start */
	time_t	next;		/* earliest scheduled check, 0 if none */
};

/* Called on the loop whenever no certificate is busy any more. */
typedef void (*renew_idle_cb)(void *arg);

/* Returns a renewer acting through env (copied), or NULL. */
struct renewer	*renewer_new(const struct renew_env *env, renew_idle_cb idle,
		    void *arg);
/* Cancels orders and timers and frees; NULL is a no-op. */
void		 renewer_free(struct renewer *);
/*
 * Makes conf the inventory: new certificates are checked now, removed ones
 * are dropped (their orders abandoned), changed ones are re-checked; CA
 * clients are kept when their settings did not change. conf must outlive
 * the next renewer_apply or renewer_free. Returns 0 or -1.
 */
int		 renewer_apply(struct renewer *, const struct conf *conf);
/* Fills st with the current counts. */
void		 renewer_stats(const struct renewer *, struct renew_stats *st);

/*
 * Returns 1 if renew_before (seconds; 0 = auto) leaves a certificate valid
 * from nb to na at least a thirtieth of its lifetime before it is due, 0
 * if it would make a new certificate due (almost) at once.
 */
int		 renew_before_fits(time_t nb, time_t na, long renew_before);
/*
 * When a certificate valid from nb to na is due for renewal: na minus
 * renew_before (seconds), or, with renew_before 0 or one that does not
 * fit, when a third of its lifetime remains; jitter in [0,1) moves it
 * earlier by up to 1/30 of the lifetime (at most a day) so a fleet does
 * not renew in lock-step.
 */
time_t		 renew_due(time_t nb, time_t na, long renew_before, double jitter);

#endif
