/* sched.h - when a certificate falls due, and when a failed one tries again */
#ifndef RENEWD_SCHED_H
#define RENEWD_SCHED_H

#include <stdint.h>
#include <time.h>

/*
 * Pure functions of their arguments: no clock and no randomness of their
 * own (callers pass jitter, a fraction in [0,1)), so renewctl, the daemon
 * and the tests compute the same thing. renew.c owns the timers.
 */

#define SCHED_BACKOFF_MIN	60	/* first retry after a failure, seconds */
#define SCHED_BACKOFF_MAX	86400	/* retries never further apart than a day */
#define SCHED_SPREAD_MAX	86400	/* jitter moves a renewal by at most a day */

/*
 * Returns 1 if renew_before (seconds; 0 or less = auto) leaves a
 * certificate valid from nb to na at least a thirtieth of its lifetime
 * before it is due, 0 if it would make a new certificate due (almost) at
 * once. Returns 1 for an empty or negative lifetime (nothing to leave).
 */
int	sched_renew_before_fits(time_t nb, time_t na, long renew_before);
/*
 * Returns when a certificate valid from nb to na is due for renewal: na
 * minus renew_before (seconds), or, with renew_before 0 or one that does
 * not fit, when a third of its lifetime remains; jitter in [0,1) moves it
 * earlier by up to 1/30 of the lifetime (at most SCHED_SPREAD_MAX) so a
 * fleet does not renew in lock-step. Jitter outside [0,1) counts as 0; an
 * empty or negative lifetime is due at na.
 */
time_t	sched_due(time_t nb, time_t na, long renew_before, double jitter);
/*
 * Returns the delay in seconds before the next attempt after failures
 * consecutive failures (0 counts as 1): SCHED_BACKOFF_MIN doubled per
 * failure after the first, capped at SCHED_BACKOFF_MAX, then spread over
 * -10 % .. +10 % by jitter in [0,1) (outside counts as 0) so certificates
 * that failed together do not retry together.
 */
time_t	sched_backoff(unsigned failures, double jitter);
/*
 * Returns the delay in seconds before a certificate whose order failed
 * failures consecutive times (0 counts as 1) is tried again: 1 min, 10 min,
 * 100 min, then every 24 h, spread over -10 % .. +10 % by jitter in [0,1)
 * (outside counts as 0); never more than a tenth of left, the seconds the
 * live certificate has before it expires (0 or less: none live, no cap),
 * so a 6-day certificate still gets many tries, nor less than
 * SCHED_RETRY_FLOOR.
 */
time_t	sched_retry(unsigned failures, double jitter, long long left);
#define SCHED_RETRY_FLOOR	30

/* Returns r mapped onto [0,1): a jitter fraction from a uniform random r. */
double	sched_jitter(uint32_t r);

#endif
