/* worker.c - run blocking work (RSA keygen, ...) off the event loop */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "worker.h"
#include "xmalloc.h"

/*
 * Threads take jobs from a mutex+condvar queue. Finished jobs go onto a
 * done list and the list's owner is woken through a pipe watched by the
 * loop, so done callbacks run on the loop thread and libevent itself never
 * has to be thread-safe (no evthread_use_pthreads()).
 *
 * worker_pool_free() drops everything not yet delivered: queued jobs never
 * run, and jobs that finished but whose done callback has not run yet lose
 * that callback. Callers tear down their own state after the pool is gone.
 */

struct job {
	worker_fn	 work;
	worker_done_fn	 done;
	void		*arg;
	struct job	*next;
};

struct joblist {
	struct job	*head;
	struct job	*tail;
};

struct worker_pool {
	struct event_base *base;
	struct event	*ev;		/* EV_READ|EV_PERSIST on wake[0] */
	int		 wake[2];	/* pipe: workers -> loop */
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;		/* queue non-empty or stopping */
	struct joblist	 queue;
	struct joblist	 done;
	int		 stopping;
	pthread_t	*threads;
	int		 nthreads;	/* started */
	int		 delivering;	/* inside worker_wake_cb */
	int		 dying;		/* freed during delivery: finish there */
};

static void
list_push(struct joblist *l, struct job *j)
{
	j->next = NULL;
	if (l->tail != NULL)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static struct job *
list_pop(struct joblist *l)
{
	struct job	*j = l->head;

	if (j != NULL) {
		l->head = j->next;
		if (l->head == NULL)
			l->tail = NULL;
	}
	return j;
}

static void
list_free(struct joblist *l)
{
	struct job	*j;

	while ((j = list_pop(l)) != NULL)
		free(j);
}

static void *
worker_main(void *v)
{
	struct worker_pool	*wp = v;
	struct job		*j;
	char			 c = 1;

	pthread_mutex_lock(&wp->mu);
	for (;;) {
		while (!wp->stopping && wp->queue.head == NULL)
			pthread_cond_wait(&wp->cv, &wp->mu);
		if (wp->stopping)
			break;
		j = list_pop(&wp->queue);
		pthread_mutex_unlock(&wp->mu);

		j->work(j->arg);

		pthread_mutex_lock(&wp->mu);
		if (wp->stopping) {
			free(j);
			break;
		}
		/* one byte per empty->non-empty transition is enough */
		if (wp->done.head == NULL &&
		    write(wp->wake[1], &c, 1) == -1 && errno != EAGAIN)
			log_err("worker: cannot wake the loop: %s",
			    strerror(errno));
		list_push(&wp->done, j);
	}
	pthread_mutex_unlock(&wp->mu);
	return NULL;
}

/* Runs on the loop: delivers every finished job's done callback. */
static void
worker_wake_cb(evutil_socket_t fd, short what, void *v)
{
	struct worker_pool	*wp = v;
	struct joblist		 done;
	struct job		*j;
	char			 buf[64];

	/* drain before taking the list, so a later push always re-wakes us */
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&wp->mu);
	done = wp->done;
	wp->done.head = wp->done.tail = NULL;
	pthread_mutex_unlock(&wp->mu);

	/* a done callback may free the pool: the free then completes here */
	wp->delivering = 1;
	while ((j = list_pop(&done)) != NULL) {
		if (!wp->dying && j->done != NULL)
			j->done(j->arg);
		free(j);
	}
	wp->delivering = 0;
	if (wp->dying)
		worker_pool_free(wp);
}

struct worker_pool *
worker_pool_new(struct event_base *base, int nthreads)
{
	struct worker_pool	*wp;
	sigset_t		 all, old;
	int			 i, rc;

	if (base == NULL || nthreads < 1) {
		log_err("worker: need an event base and at least one thread");
		return NULL;
	}
	wp = xcalloc(1, sizeof(*wp));
	wp->base = base;
	wp->wake[0] = wp->wake[1] = -1;
	pthread_mutex_init(&wp->mu, NULL);
	pthread_cond_init(&wp->cv, NULL);
	if (pipe2(wp->wake, O_NONBLOCK | O_CLOEXEC) == -1) {
		log_err("worker: pipe: %s", strerror(errno));
		goto fail;
	}
	wp->ev = event_new(base, wp->wake[0], EV_READ | EV_PERSIST,
	    worker_wake_cb, wp);
	if (event_add(wp->ev, NULL) == -1) {
		log_err("worker: cannot watch the wake-up pipe");
		goto fail;
	}
	wp->threads = xcalloc((size_t)nthreads, sizeof(*wp->threads));
	/* signals belong to the loop thread: workers start with all blocked */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < nthreads; i++) {
		rc = pthread_create(&wp->threads[i], NULL, worker_main, wp);
		if (rc != 0) {
			log_err("worker: pthread_create: %s", strerror(rc));
			break;
		}
		wp->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (wp->nthreads != nthreads)
		goto fail;
	return wp;
fail:
	worker_pool_free(wp);
	return NULL;
}

void
worker_pool_free(struct worker_pool *wp)
{
	int	i;

	if (wp == NULL)
		return;
	if (wp->delivering) {
		/* called from a done callback: stop delivery, free afterwards */
		wp->dying = 1;
		return;
	}
	pthread_mutex_lock(&wp->mu);
	wp->stopping = 1;
	pthread_cond_broadcast(&wp->cv);
	pthread_mutex_unlock(&wp->mu);
	/* a job already running finishes first; its done callback is dropped */
	for (i = 0; i < wp->nthreads; i++)
		pthread_join(wp->threads[i], NULL);
	list_free(&wp->queue);
	list_free(&wp->done);
	if (wp->ev != NULL)
		event_free(wp->ev);
	if (wp->wake[0] != -1)
		close(wp->wake[0]);
	if (wp->wake[1] != -1)
		close(wp->wake[1]);
	pthread_cond_destroy(&wp->cv);
	pthread_mutex_destroy(&wp->mu);
	free(wp->threads);
	free(wp);
}

int
worker_submit(struct worker_pool *wp, worker_fn work, worker_done_fn done,
    void *arg)
{
	struct job	*j;
	int		 rc = -1;

	if (wp == NULL || work == NULL) {
		errno = EINVAL;
		return -1;
	}
	j = xcalloc(1, sizeof(*j));
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&wp->mu);
	if (!wp->stopping) {
		list_push(&wp->queue, j);
		pthread_cond_signal(&wp->cv);
		j = NULL;
		rc = 0;
	}
	pthread_mutex_unlock(&wp->mu);
	free(j);
	return rc;
}
