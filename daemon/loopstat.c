/*
 * loopstat.c - the longest loop stall, measured rather than assumed: a
 * timer notes how late it fires. While work is expected (start-up, a
 * reload, a queue of checks, a sweep, orders) it ticks every 10 ms;
 * otherwise it is not armed at all, so an idle daemon does not wake for
 * it. Work that comes unannounced (an http-01 request, a CA's answer) is
 * small by design; the slices that are not say so with loopstat_watch.
 */
#include "config.h"

#include <time.h>
#include <stdlib.h>

#include <event2/event.h>

#include "log.h"
#include "loopstat.h"
#include "xmalloc.h"

#define FINE_MS		10
#define REPORT_MS	50	/* stalls at least this long are logged */

struct loopstat {
	struct event	*ev;
	long long	 expect;	/* ms on the monotonic clock; 0: not armed */
	long long	 fine_until;
	long long	 max;
};

static long long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/* Ticks again in FINE_MS while work is expected; else rests. */
static void
arm(struct loopstat *ls, long long now)
{
	struct timeval	tv = { 0, FINE_MS * 1000 };

	if (now >= ls->fine_until) {
		ls->expect = 0;
		return;
	}
	ls->expect = now + FINE_MS;
	evtimer_add(ls->ev, &tv);
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	struct loopstat	*ls = arg;
	long long	 now = now_ms(), late = now - ls->expect;

	if (late > ls->max)
		ls->max = late;
	if (late >= REPORT_MS)
		log_debug("event loop held for %lld ms (longest so far %lld ms)",
		    late, ls->max);
	arm(ls, now);
}

struct loopstat *
loopstat_new(struct event_base *base)
{
	struct loopstat *ls = xcalloc(1, sizeof(*ls));

	ls->ev = evtimer_new(base, tick, ls);
	ls->fine_until = now_ms() + 10000;	/* start-up is work */
	arm(ls, now_ms());
	return ls;
}

void
loopstat_watch(struct loopstat *ls, int secs)
{
	long long now = now_ms();

	if (ls == NULL)
		return;
	if (now + secs * 1000LL > ls->fine_until)
		ls->fine_until = now + secs * 1000LL;
	/* overdue: count the stall so far; then tick finely from now on */
	if (ls->expect != 0 && now - ls->expect > ls->max)
		ls->max = now - ls->expect;
	evtimer_del(ls->ev);
	arm(ls, now);
}

void
loopstat_restart(struct loopstat *ls)
{
	evtimer_del(ls->ev);
	ls->max = 0;		/* what was "held" so far was no loop yet */
	arm(ls, now_ms());
}

long long
loopstat_max_ms(const struct loopstat *ls)
{
	return ls == NULL ? 0 : ls->max;
}

void
loopstat_free(struct loopstat *ls)
{
	if (ls == NULL)
		return;
	event_free(ls->ev);
	free(ls);
}
