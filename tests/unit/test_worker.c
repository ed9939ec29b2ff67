/* test_worker.c - thread pool whose completions run on the event loop */
#include "config.h"

#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "log.h"
#include "worker.h"

#define NJOBS	200

struct ctx;

struct job_rec {
	struct ctx	*ctx;
	int		 worked;	/* written on the worker, read after done */
	pthread_t	 work_thread;
	int		 done_calls;
	pthread_t	 done_thread;
	useconds_t	 sleep_us;
	int64_t		 done_ms;
	sem_t		*started;	/* posted when the work begins */
};

struct ctx {
	struct event_base *base;
	struct worker_pool *wp;
	int		 ndone;
	int		 want;
	int		 timed_out;
	int		 timer_fired;
	int64_t		 timer_ms;
	int		 free_in_done;	/* free the pool from the first done */
};

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
job_work(void *v)
{
	struct job_rec	*r = v;

	r->work_thread = pthread_self();
	if (r->started != NULL)
		sem_post(r->started);
	if (r->sleep_us > 0)
		usleep(r->sleep_us);
	r->worked++;
}

static void
job_done(void *v)
{
	struct job_rec	*r = v;
	struct ctx	*c = r->ctx;

	r->done_calls++;
	r->done_thread = pthread_self();
	r->done_ms = now_ms();
	if (c->free_in_done) {
		c->free_in_done = 0;
		worker_pool_free(c->wp);
		c->wp = NULL;
	}
	if (++c->ndone == c->want)
		event_base_loopbreak(c->base);
}

static void
timeout_cb(evutil_socket_t fd, short what, void *v)
{
	struct ctx	*c = v;

	c->timed_out = 1;
	event_base_loopbreak(c->base);
}

static void
timer_cb(evutil_socket_t fd, short what, void *v)
{
	struct ctx	*c = v;

	c->timer_fired = 1;
	c->timer_ms = now_ms();
}

/* Runs the loop until c->want done callbacks ran or 5 s passed. */
static void
run_loop(struct ctx *c)
{
	struct timeval	 tv = { 5, 0 };
	struct event	*to = evtimer_new(c->base, timeout_cb, c);

	assert_non_null(to);
	evtimer_add(to, &tv);
	event_base_dispatch(c->base);
	event_free(to);
	assert_false(c->timed_out);
}

static void
test_200_jobs_on_2_threads_each_done_once_on_loop_thread(void **state)
{
	struct ctx	 c = { 0 };
	struct job_rec	*r = calloc(NJOBS, sizeof(*r));
	pthread_t	 self = pthread_self();
	int		 i;

	assert_non_null(r);
	c.base = event_base_new();
	assert_non_null(c.base);
	c.wp = worker_pool_new(c.base, 2);
	assert_non_null(c.wp);
	c.want = NJOBS;
	for (i = 0; i < NJOBS; i++) {
		r[i].ctx = &c;
		r[i].sleep_us = i % 10 == 0 ? 1000 : 0;
		assert_int_equal(worker_submit(c.wp, job_work, job_done, &r[i]),
		    0);
	}
	run_loop(&c);
	worker_pool_free(c.wp);
	assert_int_equal(c.ndone, NJOBS);
	for (i = 0; i < NJOBS; i++) {
		assert_int_equal(r[i].worked, 1);
		assert_int_equal(r[i].done_calls, 1);
		assert_true(pthread_equal(r[i].done_thread, self));
		/* the work itself ran off the loop thread */
		assert_false(pthread_equal(r[i].work_thread, self));
	}
	event_base_free(c.base);
	free(r);
}

static void
test_free_with_queued_jobs_drops_them_without_callbacks(void **state)
{
	struct ctx	 c = { 0 };
	struct job_rec	 r[50];
	sem_t		 started;
	int		 i, worked = 0;

	memset(r, 0, sizeof(r));
	assert_int_equal(sem_init(&started, 0, 0), 0);
	c.base = event_base_new();
	assert_non_null(c.base);
	c.wp = worker_pool_new(c.base, 1);
	assert_non_null(c.wp);
	r[0].started = &started;
	for (i = 0; i < 50; i++) {
		r[i].ctx = &c;
		r[i].sleep_us = i == 0 ? 100000 : 1000;
		assert_int_equal(worker_submit(c.wp, job_work, job_done, &r[i]),
		    0);
	}
	/* FIFO on one thread: r[0] runs first, the other 49 wait 100 ms */
	sem_wait(&started);
	/* one job is running: free waits for it and drops the other 49 */
	worker_pool_free(c.wp);
	/* nothing must be delivered afterwards either */
	event_base_loop(c.base, EVLOOP_NONBLOCK);
	for (i = 0; i < 50; i++) {
		worked += r[i].worked;
		assert_int_equal(r[i].done_calls, 0);
	}
	assert_int_equal(r[0].worked, 1);
	assert_int_equal(worked, 1);
	event_base_free(c.base);
	sem_destroy(&started);
}

static void
test_slow_job_does_not_block_loop_timer(void **state)
{
	struct ctx	 c = { 0 };
	struct job_rec	 r = { 0 };
	struct event	*t;
	struct timeval	 tv = { 0, 50000 };
	int64_t		 start;

	c.base = event_base_new();
	assert_non_null(c.base);
	c.wp = worker_pool_new(c.base, 1);
	assert_non_null(c.wp);
	t = evtimer_new(c.base, timer_cb, &c);
	assert_non_null(t);
	r.ctx = &c;
	r.sleep_us = 200000;
	c.want = 1;
	start = now_ms();
	assert_int_equal(worker_submit(c.wp, job_work, job_done, &r), 0);
	evtimer_add(t, &tv);
	run_loop(&c);
	assert_true(c.timer_fired);
	assert_int_equal(r.done_calls, 1);
	/* the 50 ms timer fired while the 200 ms job was still running */
	assert_true(c.timer_ms < r.done_ms);
	assert_true(r.done_ms - start >= 190);
	event_free(t);
	worker_pool_free(c.wp);
	event_base_free(c.base);
}

static void
test_pool_freed_from_done_callback_stops_delivery(void **state)
{
	struct ctx	 c = { 0 };
	struct job_rec	 r[20];
	int		 i, calls = 0;

	memset(r, 0, sizeof(r));
	c.base = event_base_new();
	assert_non_null(c.base);
	c.wp = worker_pool_new(c.base, 4);
	assert_non_null(c.wp);
	c.want = 1;
	c.free_in_done = 1;
	for (i = 0; i < 20; i++) {
		r[i].ctx = &c;
		assert_int_equal(worker_submit(c.wp, job_work, job_done, &r[i]),
		    0);
	}
	run_loop(&c);
	assert_null(c.wp);
	event_base_loop(c.base, EVLOOP_NONBLOCK);
	for (i = 0; i < 20; i++)
		calls += r[i].done_calls;
	assert_int_equal(calls, 1);
	event_base_free(c.base);
}

static void
test_bad_arguments_are_refused(void **state)
{
	struct event_base *base = event_base_new();
	struct worker_pool *wp;

	assert_non_null(base);
	assert_null(worker_pool_new(base, 0));
	assert_null(worker_pool_new(NULL, 1));
	wp = worker_pool_new(base, 1);
	assert_non_null(wp);
	assert_int_equal(worker_submit(wp, NULL, NULL, NULL), -1);
	assert_int_equal(worker_submit(NULL, job_work, NULL, NULL), -1);
	worker_pool_free(wp);
	worker_pool_free(NULL);
	event_base_free(base);
}

static void
test_null_done_callback_is_allowed(void **state)
{
	struct ctx	 c = { 0 };
	struct job_rec	 r[2];

	memset(r, 0, sizeof(r));
	c.base = event_base_new();
	assert_non_null(c.base);
	c.wp = worker_pool_new(c.base, 1);
	assert_non_null(c.wp);
	r[0].ctx = r[1].ctx = &c;
	c.want = 1;
	/* FIFO with one thread: the second done proves the first was delivered */
	assert_int_equal(worker_submit(c.wp, job_work, NULL, &r[0]), 0);
	assert_int_equal(worker_submit(c.wp, job_work, job_done, &r[1]), 0);
	run_loop(&c);
	assert_int_equal(r[0].worked, 1);
	assert_int_equal(r[1].done_calls, 1);
	worker_pool_free(c.wp);
	event_base_free(c.base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_200_jobs_on_2_threads_each_done_once_on_loop_thread),
		cmocka_unit_test(test_free_with_queued_jobs_drops_them_without_callbacks),
		cmocka_unit_test(test_slow_job_does_not_block_loop_timer),
		cmocka_unit_test(test_pool_freed_from_done_callback_stops_delivery),
		cmocka_unit_test(test_bad_arguments_are_refused),
		cmocka_unit_test(test_null_done_callback_is_allowed),
	};

	log_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
