/*
 * loopstat.c - the longest loop stall, measured rather than assumed: a
 * timer notes how late it fires. While work is expected (start-up, a
 * reload, a queue of checks) it ticks every 10 ms, otherwise every second,
 * so an idle daemon wakes rarely.
 */
#include "config.h"

#include <time.h>
#include <stdlib.h>

#include <event2/event.h>

#include "log.h"
#include "loopstat.h"
#include "xmalloc.h"

#define FINE_MS		10
#define COARSE_MS	1000
#define REPORT_MS	50	/* stalls at least this long are logged */

struct loopstat {
	struct event	*ev;
	long long	 expect;	/* ms on the monotonic clock */
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

static void
arm(struct loopstat *ls, long long now)
{
	long long	ms = now < ls->fine_until ? FINE_MS : COARSE_MS;
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	ls->expect = now + ms;
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
	if (now - ls->expect > ls->max)
		ls->max = now - ls->expect;
	evtimer_del(ls->ev);
	arm(ls, now);
}

void
loopstat_restart(struct loopstat *ls)
{
	evtimer_del(ls->ev);
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
