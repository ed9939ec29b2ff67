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
#define SCHED_SHORT_LIFE	(10 * 86400) /* shorter: renew at half, not a third */
#define SCHED_ARI_RETRY_MIN	60	/* ARI re-fetch: Retry-After clamped to */
#define SCHED_ARI_RETRY_MAX	86400	/* [MIN, MAX] seconds, */
#define SCHED_ARI_RETRY_DEFAULT	21600	/* DEFAULT when absent or bad */
#define SCHED_ARI_RETRY_ERROR	3600	/* after a failed fetch, without Retry-After */

/*
 * The ARI (RFC 9773) state kept per certificate: plain data, so that it
 * can be persisted as it is. All zero: no window seen yet.
 */
struct sched_ari {
	time_t	start;		/* the suggestedWindow last seen */
	time_t	end;
	time_t	moment;		/* the random moment chosen inside it */
	time_t	next_fetch;	/* when to ask the CA again; 0: at once */
};

/* One answer of the CA's renewalInfo resource. */
struct sched_ari_answer {
	time_t	start;		/* suggestedWindow */
	time_t	end;
	time_t	fetched_at;	/* when the answer came */
	long	retry_after;	/* seconds, as sent; -1: absent or unreadable */
};

/* What sched_plan decides from. */
struct sched_input {
	time_t	nb, na;		/* the live certificate's validity */
	long	renew_before;	/* seconds; 0 or less: auto */
	double	jitter;		/* [0,1): moves the lifetime rule earlier */
	double	ari_jitter;	/* [0,1): where in a new window the moment falls */
	time_t	now;
	const struct sched_ari *prev;	/* kept state; NULL: none */
	const struct sched_ari_answer *answer;	/* a new answer; NULL: none */
};

/* Why a certificate renews when it does. */
enum sched_reason {
	SCHED_THIRD,		/* a third of the lifetime remains */
	SCHED_HALF,		/* half of a short (< 10 days) lifetime remains */
	SCHED_RENEW_BEFORE,	/* the inventory's renew_before */
	SCHED_ARI,		/* the moment chosen in the CA's window */
	SCHED_ARI_NOW,		/* the CA says now: window over, or moved to now */
};

struct sched_plan {
	time_t			renew_at;	/* when to renew (<= now: at once) */
	time_t			next_fetch;	/* next ARI fetch; 0: none planned */
	struct sched_ari	ari;		/* the state to keep from now on */
	enum sched_reason	reason;
	int			window_changed;	/* a new window, a new moment */
};

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
 * not fit, when a third of its lifetime remains (half of it for lifetimes
 * under SCHED_SHORT_LIFE: a 6-day certificate at day 3); jitter in [0,1) moves it
 * earlier by up to 1/30 of the lifetime (at most SCHED_SPREAD_MAX) so a
 * fleet does not renew in lock-step. Jitter outside [0,1) counts as 0; an
 * empty or negative lifetime is due at na.
 */
time_t	sched_due(time_t nb, time_t na, long renew_before, double jitter);
/*
 * Decides when to renew the certificate in in and when to ask its CA for
 * renewal information again (RFC 9773), into out:
 *  - without any window (no answer now, none kept): the lifetime rule of
 *    sched_due, or renew_before when it fits; next_fetch 0, ari zero;
 *  - a new answer keeps prev's moment if the window is the same, else a
 *    moment uniform in it (ari_jitter); the next fetch is fetched_at plus
 *    Retry-After clamped to [SCHED_ARI_RETRY_MIN, SCHED_ARI_RETRY_MAX]
 *    (SCHED_ARI_RETRY_DEFAULT when -1); with no answer, prev is kept;
 *  - renew at once (SCHED_ARI_NOW) when the window's end is past, or the
 *    window moved earlier and has begun already (a CA's "renew now", e.g.
 *    before a mass revocation); else at the moment (SCHED_ARI), which may
 *    be past too (then also at once);
 *  - renew_before that fits overrides the window (but not "now"); a
 *    window that ends after the certificate expires is not followed.
 */
void	sched_plan(const struct sched_input *in, struct sched_plan *out);
/* Returns a constant phrase for reason, for logs ("ARI window", ...). */
const char *sched_reason_str(enum sched_reason reason);
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
/*
 * Returns the jitter fraction in [0,1) of certificate name's serial: a
 * hash of both, so it differs across certificates and issuances like a
 * random one, yet a restart, a reload and renewctl all get the same due
 * moment without storing it.
 */
double	sched_spread(const char *name, const char *serial);

/*
 * What renewd remembers of a certificate's schedule across restarts, in
 * certs/<name>/schedule.json (store_sched_load, store_sched_save; the
 * format is in renewd(8)). Plain data: times are seconds since the epoch,
 * 0 for none; strings are malloc'd or NULL. A zeroed struct is "nothing
 * to remember": the schedule follows from the live certificate alone.
 */
struct sched_state {
	unsigned failures;	/* consecutive failed attempts */
	time_t	 retry_at;	/* backoff: no attempt before then */
	time_t	 hold_until;	/* a rate limit on this certificate */
	char	*hold_reason;
	time_t	 err_at;	/* the last failure: when, at which CA and URL, */
	char	*err_ca;	/* the problem type and its detail */
	char	*err_url;
	char	*err_type;
	char	*err_detail;
	time_t	 ari_start;	/* the CA's suggested window (RFC 9773), */
	time_t	 ari_end;	/* the moment chosen in it, */
	time_t	 ari_moment;	/* and when to ask again */
	time_t	 ari_next_fetch;
	char	*ari_cert;	/* the certID they are for (a renewal or another
				   live file makes them stale) */
	char	*order_ca;	/* an order in flight, to resume after a */
	char	*order_url;	/* restart instead of ordering again */
	time_t	 notified_expiring;	/* the not-after the notify hooks were
					   told is near: told once per certificate */
};

/*
 * After a failure while every CA held the certificate back, renewd tries
 * again 1 to SCHED_HOLD_SPREAD seconds after the first hold ends.
 */
#define SCHED_HOLD_SPREAD	6

/* sched_state's hold_reason: this, then the name of the CA that holds it. */
#define SCHED_HOLD_REASON	"rateLimited at CA "

/* Frees the strings of s and zeroes it. */
void	sched_state_clear(struct sched_state *s);
/* Returns 1 if s has nothing to remember (all zero). */
int	sched_state_empty(const struct sched_state *s);
/* Sets *s's last error (strings copied; NULL is allowed) at time at. */
void	sched_state_set_error(struct sched_state *s, time_t at, const char *ca,
	    const char *url, const char *type, const char *detail);

/*
 * What renewd remembers of one CA's holds across restarts, in
 * accounts/<ca>/holds.json (store_holds_load, store_holds_save; the format
 * is in renewd(8)): an account-wide rate limit on new orders, and requests
 * to single URLs held after a 503 with Retry-After. Plain data: times are
 * seconds since the epoch, 0 for none; urls[].url are malloc'd.
 */
#define SCHED_URL_HOLDS_MAX	16	/* endpoint holds kept per CA */
struct sched_holds {
	time_t	 orders_until;		/* no newOrder of the account before */
	struct sched_url_hold {
		char	*url;
		time_t	 until;
	}	 urls[SCHED_URL_HOLDS_MAX];
	size_t	 nurls;
};

/* Frees the URLs of h and zeroes it. */
void	sched_holds_clear(struct sched_holds *h);

#endif
