/* worker.h - run blocking work (RSA keygen, ...) off the event loop */
#ifndef RENEWD_WORKER_H
#define RENEWD_WORKER_H

struct event_base;
struct worker_pool;

/* Runs on a worker thread. */
typedef void (*worker_fn)(void *arg);
/* Runs on the loop once work has finished. */
typedef void (*worker_done_fn)(void *arg);

/* Returns a pool of nthreads threads whose completions run on base, or NULL. */
struct worker_pool *worker_pool_new(struct event_base *base, int nthreads);
/* Waits for running jobs, drops queued ones (no callbacks), frees; NULL is a no-op. */
void		 worker_pool_free(struct worker_pool *);
/*
 * Queues work; done(arg) runs on the loop afterwards. Returns 0, or -1 if
 * wp or work is NULL or the pool is being freed.
 */
int		 worker_submit(struct worker_pool *, worker_fn work,
		    worker_done_fn done, void *arg);

#endif
