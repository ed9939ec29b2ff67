/* dryrun.h - orders against each CA's staging twin that keep nothing */
#ifndef RENEWD_DRYRUN_H
#define RENEWD_DRYRUN_H

#include <stddef.h>

struct event_base;
struct http_client;
struct acme_solver;
struct worker_pool;
struct conf;
struct dryrun;

/*
 * What a dry run borrows; all of it outlives the dry run. Accounts at the
 * staging CAs are kept in state_dir/staging (a store of its own, with its
 * own lock), never beside the real ones.
 */
struct dryrun_env {
	struct event_base	*base;
	struct http_client	*http;
	const struct acme_solver *solvers;	/* the daemon's, as for orders */
	size_t			 nsolvers;
	struct worker_pool	*workers;	/* keygen; NULL: on the loop */
	const char		*state_dir;
};

/* One certificate's answer; the strings live during the call. */
struct dryrun_result {
	const char	*name;
	const char	*ca;		/* the CA (first of its list), or NULL */
	const char	*staging;	/* the directory asked, or NULL */
	int		 ok;		/* a real renewal would be issued */
	const char	*error;		/* why not: the CA's problem, or ours */
};

/* Called once per certificate, from the loop. */
typedef void	(*dryrun_result_cb)(void *arg, const struct dryrun_result *);
/* Called once after the last result, from the loop; may free the dry run. */
typedef void	(*dryrun_done_cb)(void *arg, size_t ok, size_t failed);

/*
 * Starts one order per certificate named (every one of conf's if nnames
 * is 0; conf and names are copied) at its first CA's staging directory,
 * with a throwaway key of the certificate's type and the challenge it
 * uses. Nothing is installed, delivered or reloaded, and nothing of the
 * certificate's state changes. An unknown name, or a CA without a
 * staging directory, is a failed result. Returns the dry run, or NULL
 * with why in err (the staging store cannot be opened: another dry run
 * holds it).
 */
struct dryrun	*dryrun_start(const struct dryrun_env *, const struct conf *,
		    char *const *names, size_t nnames, dryrun_result_cb res,
		    dryrun_done_cb done, void *arg, char *err, size_t errlen);
/* Cancels what is in flight (no more callbacks) and frees; NULL is a no-op. */
void		 dryrun_free(struct dryrun *);

#endif
