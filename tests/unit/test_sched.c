/* test_sched.c - when certificates fall due and when failures retry */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <cmocka.h>

#include "sched.h"

#define DAY	86400

/* ---- sched_due and sched_renew_before_fits (moved from test_renew.c) ---- */

static void
due_at_two_thirds_of_lifetime_by_default(void **state)
{
	time_t nb = 1700000000, na = nb + 90 * DAY;

	assert_int_equal(sched_due(nb, na, 0, 0), nb + 60 * DAY);
}

static void
renew_before_counts_back_from_expiry(void **state)
{
	time_t nb = 1700000000, na = nb + 90 * DAY;

	assert_int_equal(sched_due(nb, na, 30L * DAY, 0), na - 30 * DAY);
	assert_int_equal(sched_due(nb, na, 7L * DAY, 0), na - 7 * DAY);
}

static void
renew_before_longer_than_lifetime_falls_back_to_the_lifetime_rule(void **state)
{
	time_t nb = 1700000000, na = nb + 6 * DAY;

	/* 30 days before a 6-day certificate expires is before it began */
	assert_false(sched_renew_before_fits(nb, na, 30L * DAY));
	assert_int_equal(sched_due(nb, na, 30L * DAY, 0), nb + 3 * DAY);
	/* 5d23h leaves one hour, less than 6d/30: also refused */
	assert_false(sched_renew_before_fits(nb, na, 5L * DAY + 23 * 3600));
	/* 5 days leaves one day, more than 6d/30 = 4.8 h: taken */
	assert_true(sched_renew_before_fits(nb, na, 5L * DAY));
	assert_int_equal(sched_due(nb, na, 5L * DAY, 0), nb + DAY);
	assert_true(sched_renew_before_fits(nb, na, 0));
}

static void
jitter_moves_earlier_by_at_most_a_day(void **state)
{
	time_t nb = 1700000000, na = nb + 90 * DAY;
	time_t d = sched_due(nb, na, 0, 0.999);

	assert_true(d < nb + 60 * DAY);
	assert_true(d >= nb + 60 * DAY - DAY);
}

static void
jitter_on_short_lifetimes_is_a_thirtieth(void **state)
{
	time_t nb = 1700000000, na = nb + 6 * DAY;
	time_t d = sched_due(nb, na, 0, 0.5);

	/* 6 days: window 3 days (half), spread 6d/30 = 4.8 h, half of it 2.4 h */
	assert_int_equal(d, na - 3 * DAY - (6 * DAY / 30) / 2);
}

static void
bad_jitter_and_lifetime_are_harmless(void **state)
{
	time_t nb = 1700000000;

	assert_int_equal(sched_due(nb, nb + 90 * DAY, 0, 7.0), nb + 60 * DAY);
	assert_int_equal(sched_due(nb, nb - 10, 0, 0), nb - 10);
}

/* ---- edges ---------------------------------------------------------------- */

static void
renew_before_equal_to_or_beyond_lifetime_does_not_fit(void **state)
{
	time_t nb = 1700000000, na = nb + 90 * DAY;

	assert_false(sched_renew_before_fits(nb, na, 90L * DAY));
	assert_false(sched_renew_before_fits(nb, na, 91L * DAY));
	assert_false(sched_renew_before_fits(nb, na, LONG_MAX));
	assert_int_equal(sched_due(nb, na, 90L * DAY, 0), nb + 60 * DAY);
	assert_int_equal(sched_due(nb, na, LONG_MAX, 0), nb + 60 * DAY);
}

static void
renew_before_leaving_exactly_a_thirtieth_fits(void **state)
{
	time_t nb = 1700000000, na = nb + 30 * DAY;

	/* 30 days: a thirtieth is one day; 29 days before expiry leaves it */
	assert_true(sched_renew_before_fits(nb, na, 29L * DAY));
	assert_int_equal(sched_due(nb, na, 29L * DAY, 0), nb + DAY);
	assert_false(sched_renew_before_fits(nb, na, 29L * DAY + 1));
	assert_int_equal(sched_due(nb, na, 29L * DAY + 1, 0), nb + 20 * DAY);
}

static void
negative_renew_before_means_auto(void **state)
{
	time_t nb = 1700000000, na = nb + 90 * DAY;

	assert_true(sched_renew_before_fits(nb, na, -5));
	assert_int_equal(sched_due(nb, na, -5, 0), nb + 60 * DAY);
}

static void
zero_and_negative_lifetimes_are_due_at_expiry(void **state)
{
	time_t nb = 1700000000;

	assert_true(sched_renew_before_fits(nb, nb, 30L * DAY));
	assert_true(sched_renew_before_fits(nb, nb - DAY, 30L * DAY));
	assert_int_equal(sched_due(nb, nb, 0, 0.5), nb);
	assert_int_equal(sched_due(nb, nb, 30L * DAY, 0.5), nb);
	assert_int_equal(sched_due(nb, nb - DAY, 30L * DAY, 0.9), nb - DAY);
	/* a one-second lifetime: window 0, spread 0 */
	assert_int_equal(sched_due(nb, nb + 1, 0, 0.9), nb + 1);
}

static void
jitter_outside_unit_interval_counts_as_zero(void **state)
{
	time_t nb = 1700000000, na = nb + 90 * DAY;

	assert_int_equal(sched_due(nb, na, 0, 1.0), nb + 60 * DAY);
	assert_int_equal(sched_due(nb, na, 0, -0.5), nb + 60 * DAY);
	assert_int_equal(sched_due(nb, na, 0, NAN), nb + 60 * DAY);
	assert_int_equal(sched_due(nb, na, 0, INFINITY), nb + 60 * DAY);
}

static void
jitter_spread_is_capped_at_a_day(void **state)
{
	time_t nb = 1700000000;

	/* a year: 1/30 would be 12 days; the cap keeps it to one */
	assert_int_equal(sched_due(nb, nb + 360 * DAY, 0, 0.5),
	    nb + 240 * DAY - DAY / 2);
	/* 30 days: 1/30 is exactly the cap */
	assert_int_equal(sched_due(nb, nb + 30 * DAY, 0, 0.5),
	    nb + 20 * DAY - DAY / 2);
	/* 15 days: 1/30 is half a day, below the cap */
	assert_int_equal(sched_due(nb, nb + 15 * DAY, 0, 0.5),
	    nb + 10 * DAY - DAY / 4);
}

static void
jitter_never_reaches_a_whole_spread(void **state)
{
	time_t nb = 1700000000, na = nb + 90 * DAY;
	time_t d;

	d = sched_due(nb, na, 0, sched_jitter(UINT32_MAX));
	assert_true(d > nb + 60 * DAY - DAY);
	assert_true(d <= nb + 60 * DAY);
	/* jitter moves renew_before's due time as well */
	d = sched_due(nb, na, 30L * DAY, 0.5);
	assert_int_equal(d, na - 30 * DAY - DAY / 2);
}

/* ---- sched_jitter --------------------------------------------------------- */

static void
jitter_maps_onto_the_unit_interval(void **state)
{
	assert_true(sched_jitter(0) == 0.0);
	assert_true(sched_jitter(UINT32_MAX) < 1.0);
	assert_true(sched_jitter(UINT32_MAX) > 0.999999);
	assert_true(sched_jitter(1U << 31) == 0.5);
	assert_true(sched_jitter(1000) < sched_jitter(1001));
}

/* ---- sched_backoff -------------------------------------------------------- */

static void
backoff_doubles_from_a_minute(void **state)
{
	/* jitter 0.5 is the midpoint: -10 % + 0.5 * 20 % = the plain delay */
	assert_int_equal(sched_backoff(1, 0.5), 60);
	assert_int_equal(sched_backoff(2, 0.5), 120);
	assert_int_equal(sched_backoff(3, 0.5), 240);
	assert_int_equal(sched_backoff(8, 0.5), 60 * 128);
	assert_int_equal(sched_backoff(11, 0.5), 60 * 1024);
}

static void
backoff_is_capped_at_a_day(void **state)
{
	/* 60 << 11 = 122880 s is past the cap */
	assert_int_equal(sched_backoff(12, 0.5), DAY);
	assert_int_equal(sched_backoff(13, 0.5), DAY);
	assert_int_equal(sched_backoff(64, 0.5), DAY);
	assert_int_equal(sched_backoff(UINT_MAX, 0.5), DAY);
}

static void
backoff_zero_failures_counts_as_one(void **state)
{
	assert_int_equal(sched_backoff(0, 0.5), 60);
}

static void
backoff_jitter_spreads_ten_percent_each_way(void **state)
{
	unsigned f;

	for (f = 1; f < 20; f++) {
		time_t	lo = sched_backoff(f, 0), hi;
		time_t	mid = sched_backoff(f, 0.5);

		hi = sched_backoff(f, sched_jitter(UINT32_MAX));
		assert_int_equal(lo, mid - mid / 10);
		assert_true(hi <= mid + mid / 10);
		assert_true(hi >= mid + mid / 10 - 1);
		assert_true(lo < hi);
	}
	assert_int_equal(sched_backoff(1, 0), 54);
	assert_int_equal(sched_backoff(1, 1.0), 54);	/* out of range: 0 */
	assert_int_equal(sched_backoff(1, NAN), 54);
	assert_int_equal(sched_backoff(UINT_MAX, 0), DAY - DAY / 10);
}

static void
backoff_never_shrinks_as_failures_grow(void **state)
{
	unsigned f;

	for (f = 1; f < 100; f++)
		assert_true(sched_backoff(f + 1, 0) >= sched_backoff(f, 0));
}

/* ---- the 1/3 and 1/2 rules ------------------------------------------------ */

static void
short_lifetimes_renew_at_half(void **state)
{
	time_t nb = 1700000000;

	/* 6 days: day 3; 9 days: day 4.5; 10 days is no longer short */
	assert_int_equal(sched_due(nb, nb + 6 * DAY, 0, 0), nb + 3 * DAY);
	assert_int_equal(sched_due(nb, nb + 9 * DAY, 0, 0), nb + 9 * DAY / 2);
	assert_int_equal(sched_due(nb, nb + 10 * DAY, 0, 0),
	    nb + 10 * DAY - 10 * DAY / 3);
	assert_int_equal(sched_due(nb, nb + 10 * DAY - 1, 0, 0),
	    nb + (10 * DAY - 1) - (10 * DAY - 1) / 2);
	/* Pebble's 12-second test certificates: at 6 s */
	assert_int_equal(sched_due(nb, nb + 12, 0, 0), nb + 6);
}

/* ---- sched_plan ----------------------------------------------------------- */

#define NB	1700000000
#define NA	(NB + 90 * DAY)

static struct sched_input
input(time_t now)
{
	struct sched_input in = { NB, NA, 0, 0, 0, now, NULL, NULL };

	return in;
}

static void
plan_without_ari_is_the_lifetime_rule(void **state)
{
	struct sched_input in = input(NB + DAY);
	struct sched_plan p;

	in.jitter = 0.5;
	sched_plan(&in, &p);
	assert_int_equal(p.renew_at, sched_due(NB, NA, 0, 0.5));
	assert_int_equal(p.reason, SCHED_THIRD);
	assert_int_equal(p.next_fetch, 0);
	assert_int_equal(p.ari.start, 0);
	assert_int_equal(p.ari.end, 0);
	in.na = NB + 6 * DAY;
	sched_plan(&in, &p);
	assert_int_equal(p.reason, SCHED_HALF);
	assert_int_equal(p.renew_at, sched_due(NB, NB + 6 * DAY, 0, 0.5));
	in.renew_before = 20L * DAY;
	in.na = NA;
	sched_plan(&in, &p);
	assert_int_equal(p.reason, SCHED_RENEW_BEFORE);
	assert_int_equal(p.renew_at, NA - 20 * DAY - DAY / 2);
}

static void
plan_picks_a_moment_inside_the_window(void **state)
{
	struct sched_input in = input(NB + DAY);
	struct sched_ari_answer a = { NB + 50 * DAY, NB + 52 * DAY, NB + DAY, 3600 };
	struct sched_plan p;

	in.answer = &a;
	in.ari_jitter = 0.25;
	sched_plan(&in, &p);
	assert_int_equal(p.reason, SCHED_ARI);
	assert_int_equal(p.renew_at, NB + 50 * DAY + DAY / 2);
	assert_int_equal(p.ari.moment, p.renew_at);
	assert_int_equal(p.ari.start, a.start);
	assert_int_equal(p.ari.end, a.end);
	assert_true(p.window_changed);
	/* the bounds: jitter 0 is the start, the largest jitter before the end */
	in.ari_jitter = 0;
	sched_plan(&in, &p);
	assert_int_equal(p.renew_at, a.start);
	in.ari_jitter = sched_jitter(UINT32_MAX);
	sched_plan(&in, &p);
	assert_true(p.renew_at < a.end);
	assert_true(p.renew_at > a.end - 2);
	/* jitter out of range is 0, never outside the window */
	in.ari_jitter = 3.0;
	sched_plan(&in, &p);
	assert_int_equal(p.renew_at, a.start);
}

static void
plan_keeps_the_moment_while_the_window_stays(void **state)
{
	struct sched_input in = input(NB + DAY);
	struct sched_ari_answer a = { NB + 50 * DAY, NB + 52 * DAY, NB + DAY, -1 };
	struct sched_ari prev;
	struct sched_plan p;

	in.answer = &a;
	in.ari_jitter = 0.75;
	sched_plan(&in, &p);
	prev = p.ari;
	/* a re-fetch a day later, the same window: another jitter changes nothing */
	a.fetched_at = in.now = NB + 2 * DAY;
	in.prev = &prev;
	in.ari_jitter = 0.1;
	sched_plan(&in, &p);
	assert_int_equal(p.renew_at, prev.moment);
	assert_int_equal(p.ari.moment, prev.moment);
	assert_false(p.window_changed);
	/* no answer (a failed fetch, a timer): the kept state decides */
	in.answer = NULL;
	sched_plan(&in, &p);
	assert_int_equal(p.renew_at, prev.moment);
	assert_int_equal(p.next_fetch, prev.next_fetch);
	/* a window moved later: a new moment inside the new one */
	a.start = NB + 55 * DAY;
	a.end = NB + 56 * DAY;
	in.answer = &a;
	sched_plan(&in, &p);
	assert_true(p.window_changed);
	assert_int_equal(p.reason, SCHED_ARI);
	assert_int_equal(p.renew_at, NB + 55 * DAY + DAY / 10);
}

static void
plan_refetches_after_retry_after_clamped(void **state)
{
	struct sched_input in = input(NB + DAY);
	struct sched_ari_answer a = { NB + 50 * DAY, NB + 52 * DAY, NB + DAY, 3600 };
	struct sched_plan p;

	in.answer = &a;
	sched_plan(&in, &p);
	assert_int_equal(p.next_fetch, NB + DAY + 3600);
	assert_int_equal(p.ari.next_fetch, p.next_fetch);
	a.retry_after = 1;
	sched_plan(&in, &p);
	assert_int_equal(p.next_fetch, NB + DAY + SCHED_ARI_RETRY_MIN);
	a.retry_after = 0;
	sched_plan(&in, &p);
	assert_int_equal(p.next_fetch, NB + DAY + 60);
	a.retry_after = 30L * DAY;
	sched_plan(&in, &p);
	assert_int_equal(p.next_fetch, NB + DAY + DAY);
	a.retry_after = -1;
	sched_plan(&in, &p);
	assert_int_equal(p.next_fetch, NB + DAY + 6 * 3600);
}

static void
plan_renews_now_when_the_window_is_over(void **state)
{
	struct sched_input in = input(NB + 60 * DAY);
	struct sched_ari_answer a = { NB + 50 * DAY, NB + 52 * DAY, NB + 60 * DAY, -1 };
	struct sched_plan p;

	in.answer = &a;
	in.ari_jitter = 0.9;
	sched_plan(&in, &p);
	assert_int_equal(p.reason, SCHED_ARI_NOW);
	assert_int_equal(p.renew_at, in.now);
	/* renew_before does not hold back a CA's "now" */
	in.renew_before = 10L * DAY;
	sched_plan(&in, &p);
	assert_int_equal(p.reason, SCHED_ARI_NOW);
	/* an end exactly now is over as well */
	a.end = in.now;
	sched_plan(&in, &p);
	assert_int_equal(p.reason, SCHED_ARI_NOW);
}

static void
plan_renews_now_when_the_window_moves_to_now(void **state)
{
	struct sched_input in = input(NB + 10 * DAY);
	struct sched_ari_answer a = { NB + 50 * DAY, NB + 52 * DAY, NB + 10 * DAY, -1 };
	struct sched_ari prev;
	struct sched_plan p;

	in.answer = &a;
	in.ari_jitter = 0.99;
	sched_plan(&in, &p);
	assert_int_equal(p.reason, SCHED_ARI);
	prev = p.ari;
	/* a mass revocation: the window moved to one that began an hour ago */
	a.start = in.now - 3600;
	a.end = in.now + 7 * DAY;
	in.prev = &prev;
	sched_plan(&in, &p);
	assert_int_equal(p.reason, SCHED_ARI_NOW);
	assert_int_equal(p.renew_at, in.now);
	/* "now" is kept: a later plan from the kept state still renews */
	assert_int_equal(p.ari.moment, in.now);
	{
		struct sched_ari kept = p.ari;
		struct sched_input later = in;

		later.prev = &kept;
		later.answer = NULL;
		later.now = in.now + 10;
		sched_plan(&later, &p);
		assert_true(p.renew_at <= later.now);
	}
	/* moved earlier, but not yet begun: a moment inside it */
	a.start = in.now + 3600;
	sched_plan(&in, &p);
	assert_int_equal(p.reason, SCHED_ARI);
	assert_true(p.renew_at >= a.start && p.renew_at < a.end);
}

static void
plan_first_window_already_begun_follows_the_moment(void **state)
{
	struct sched_input in = input(NB + 60 * DAY);
	struct sched_ari_answer a = { NB + 59 * DAY, NB + 61 * DAY, NB + 60 * DAY, -1 };
	struct sched_plan p;

	/* nothing kept (a first fetch): a moment in the window, past or not */
	in.answer = &a;
	in.ari_jitter = 0.75;
	sched_plan(&in, &p);
	assert_int_equal(p.reason, SCHED_ARI);
	assert_int_equal(p.renew_at, NB + 60 * DAY + DAY / 2);
	in.ari_jitter = 0.25;
	sched_plan(&in, &p);
	assert_true(p.renew_at < in.now);	/* the caller renews at once */
}

static void
plan_renew_before_overrides_the_window(void **state)
{
	struct sched_input in = input(NB + DAY);
	struct sched_ari_answer a = { NB + 50 * DAY, NB + 52 * DAY, NB + DAY, -1 };
	struct sched_plan p;

	in.answer = &a;
	in.renew_before = 7L * DAY;
	sched_plan(&in, &p);
	assert_int_equal(p.reason, SCHED_RENEW_BEFORE);
	assert_int_equal(p.renew_at, NA - 7 * DAY);
	/* the window is still kept and re-fetched */
	assert_int_equal(p.ari.start, a.start);
	assert_int_equal(p.next_fetch, NB + DAY + 6 * 3600);
	/* a renew_before that does not fit is no override */
	in.renew_before = 90L * DAY;
	sched_plan(&in, &p);
	assert_int_equal(p.reason, SCHED_ARI);
}

static void
plan_ignores_windows_past_expiry_and_empty_ones(void **state)
{
	struct sched_input in = input(NB + DAY);
	struct sched_ari_answer a = { NB + 80 * DAY, NA + DAY, NB + DAY, -1 };
	struct sched_plan p;

	in.answer = &a;
	sched_plan(&in, &p);
	assert_int_equal(p.reason, SCHED_THIRD);
	assert_int_equal(p.renew_at, NB + 60 * DAY);
	/* an empty or inverted window is no answer at all */
	a.start = NB + 50 * DAY;
	a.end = a.start;
	sched_plan(&in, &p);
	assert_int_equal(p.reason, SCHED_THIRD);
	assert_int_equal(p.next_fetch, 0);
	a.end = a.start - 1;
	sched_plan(&in, &p);
	assert_int_equal(p.ari.end, 0);
}

/*
 * Short-lived profiles: Let's Encrypt's "shortlived" is 160 hours, other
 * CAs issue 6 days. Each renews with half its lifetime left, a long
 * renew_before (written for 90-day certificates) does not make it due at
 * once, a CA window inside the lifetime is followed, ARI is asked again
 * long before the window, and a failing order retries often enough.
 */
static void
plan_short_lived_profiles(void **state)
{
	static const time_t lives[] = { 6 * DAY, 160 * 3600 };
	struct sched_ari_answer a;
	struct sched_plan p;
	size_t		 i;
	time_t		 life, na, left;
	unsigned	 f;

	for (i = 0; i < sizeof(lives) / sizeof(lives[0]); i++) {
		struct sched_input in = input(NB + 3600);

		life = lives[i];
		na = NB + life;
		in.na = na;
		in.jitter = 0.999;
		sched_plan(&in, &p);
		assert_int_equal(p.reason, SCHED_HALF);
		assert_true(p.renew_at <= na - life / 2);
		assert_true(p.renew_at >= na - life / 2 - life / 30);
		assert_true(p.renew_at > in.now);
		/* at least three days (80 hours) left when it renews */
		assert_true(na - p.renew_at >= life / 2);

		/* renew_before: 30d does not fit (half rule), 2d does */
		in.renew_before = 30L * DAY;
		sched_plan(&in, &p);
		assert_int_equal(p.reason, SCHED_HALF);
		assert_true(p.renew_at > in.now);
		in.renew_before = 2L * DAY;
		sched_plan(&in, &p);
		assert_int_equal(p.reason, SCHED_RENEW_BEFORE);
		assert_true(p.renew_at <= na - 2 * DAY);
		assert_true(p.renew_at >= na - 2 * DAY - life / 30);
		in.renew_before = 0;

		/* a window as newer Pebble gives: two thirds in, +- a tenth */
		a = (struct sched_ari_answer){ NB + 2 * life / 3 - life / 10,
		    NB + 2 * life / 3 + life / 10, in.now, 21600 };
		in.answer = &a;
		in.ari_jitter = 0.5;
		sched_plan(&in, &p);
		assert_int_equal(p.reason, SCHED_ARI);
		assert_int_equal(p.renew_at, NB + 2 * life / 3);
		assert_true(p.renew_at < na);
		assert_int_equal(p.next_fetch, in.now + 21600);
		assert_true(p.next_fetch < a.start);
		/* a day-long Retry-After is clamped, still before the window */
		a.retry_after = 7L * DAY;
		sched_plan(&in, &p);
		assert_int_equal(p.next_fetch, in.now + SCHED_ARI_RETRY_MAX);
		assert_true(p.next_fetch < a.start);
		in.answer = NULL;

		/* failing from the renewal on: retries stay a tenth of what is left */
		left = life / 2;
		for (f = 1; f <= 30 && left > SCHED_RETRY_FLOOR * 10; f++) {
			assert_true(sched_retry(f, 0.999, left) <= left / 10);
			left -= sched_retry(f, 0.999, left);
		}
		assert_true(f > 10);	/* many tries before it expires */
	}
}

static void
reasons_have_words(void **state)
{
	assert_string_equal(sched_reason_str(SCHED_ARI), "ARI window");
	assert_string_equal(sched_reason_str(SCHED_HALF),
	    "half of a short lifetime left");
	assert_string_equal(sched_reason_str((enum sched_reason)99), "?");
}

/* ---- sched_retry: the order backoff ladder -------------------------------- */

static void
retry_climbs_the_ladder_then_stays_at_a_day(void **state)
{
	/* jitter 0.5: the plain rung; no live certificate: no cap */
	assert_int_equal(sched_retry(0, 0.5, 0), 60);
	assert_int_equal(sched_retry(1, 0.5, 0), 60);
	assert_int_equal(sched_retry(2, 0.5, 0), 600);
	assert_int_equal(sched_retry(3, 0.5, 0), 6000);
	assert_int_equal(sched_retry(4, 0.5, 0), DAY);
	assert_int_equal(sched_retry(5, 0.5, 0), DAY);
	assert_int_equal(sched_retry(UINT_MAX, 0.5, 0), DAY);
}

static void
retry_jitter_spreads_ten_percent_each_way(void **state)
{
	assert_int_equal(sched_retry(1, 0, 0), 54);
	assert_int_equal(sched_retry(2, 0, 0), 540);
	assert_int_equal(sched_retry(4, 0, 0), DAY - DAY / 10);
	assert_true(sched_retry(4, sched_jitter(UINT32_MAX), 0) <= DAY + DAY / 10);
	assert_true(sched_retry(4, sched_jitter(UINT32_MAX), 0) >= DAY + DAY / 10 - 1);
	assert_int_equal(sched_retry(2, NAN, 0), 540);	/* bad jitter: 0 */
}

static void
retry_never_waits_past_a_tenth_of_the_time_left(void **state)
{
	/* a 6-day certificate with 2 days left: at most 4.8 h apart */
	assert_int_equal(sched_retry(4, 0.5, 2 * DAY), 2 * DAY / 10);
	assert_int_equal(sched_retry(3, 0.5, 2 * DAY), 6000);	/* under the cap */
	/* a day left: 8640 s, so still ten tries before it expires */
	assert_int_equal(sched_retry(9, 0.99, DAY), DAY / 10);
	/* minutes left: the floor, not a busy loop */
	assert_int_equal(sched_retry(2, 0.5, 120), SCHED_RETRY_FLOOR);
	/* expired or none live: the ladder alone */
	assert_int_equal(sched_retry(4, 0.5, -5), DAY);
	/* a far expiry does not cap */
	assert_int_equal(sched_retry(4, 0.5, 90LL * DAY), DAY);
}

/* ---- sched_spread: a per-issuance jitter that needs no storage ---- */

static void
spread_is_stable_and_in_unit_interval(void **state)
{
	double a = sched_spread("www", "0a1b2c");

	assert_true(a >= 0 && a < 1);
	assert_true(sched_spread("www", "0a1b2c") == a);
}

static void
spread_differs_across_names_and_serials(void **state)
{
	double	a = sched_spread("www", "0a1b2c");

	assert_true(sched_spread("www", "0a1b2d") != a);
	assert_true(sched_spread("wwx", "0a1b2c") != a);
	/* where the name ends matters: ("ab", "c") is not ("a", "bc") */
	assert_true(sched_spread("ab", "c") != sched_spread("a", "bc"));
	assert_true(sched_spread(NULL, NULL) >= 0);
}

static void
spread_covers_the_interval_evenly(void **state)
{
	unsigned	buckets[10] = { 0 }, i;
	char		serial[32];

	/* 10,000 serials: every tenth of [0,1) gets 1000 +- 20 % */
	for (i = 0; i < 10000; i++) {
		snprintf(serial, sizeof(serial), "%08x", i * 2654435761u);
		buckets[(int)(sched_spread("cert", serial) * 10)]++;
	}
	for (i = 0; i < 10; i++)
		assert_in_range(buckets[i], 800, 1200);
}

/* ---- struct sched_state helpers ---- */

static void
state_empty_until_something_is_set(void **state)
{
	struct sched_state s = { 0 };

	assert_true(sched_state_empty(&s));
	sched_state_set_error(&s, 5, "le", "https://ca/x", NULL, "down");
	assert_false(sched_state_empty(&s));
	assert_string_equal(s.err_ca, "le");
	assert_null(s.err_type);
	sched_state_set_error(&s, 6, NULL, NULL, "urn:x", NULL);
	assert_null(s.err_ca);
	assert_string_equal(s.err_type, "urn:x");
	sched_state_clear(&s);
	assert_true(sched_state_empty(&s));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(due_at_two_thirds_of_lifetime_by_default),
		cmocka_unit_test(renew_before_counts_back_from_expiry),
		cmocka_unit_test(renew_before_longer_than_lifetime_falls_back_to_the_lifetime_rule),
		cmocka_unit_test(jitter_moves_earlier_by_at_most_a_day),
		cmocka_unit_test(jitter_on_short_lifetimes_is_a_thirtieth),
		cmocka_unit_test(bad_jitter_and_lifetime_are_harmless),
		cmocka_unit_test(renew_before_equal_to_or_beyond_lifetime_does_not_fit),
		cmocka_unit_test(renew_before_leaving_exactly_a_thirtieth_fits),
		cmocka_unit_test(negative_renew_before_means_auto),
		cmocka_unit_test(zero_and_negative_lifetimes_are_due_at_expiry),
		cmocka_unit_test(jitter_outside_unit_interval_counts_as_zero),
		cmocka_unit_test(jitter_spread_is_capped_at_a_day),
		cmocka_unit_test(jitter_never_reaches_a_whole_spread),
		cmocka_unit_test(jitter_maps_onto_the_unit_interval),
		cmocka_unit_test(retry_climbs_the_ladder_then_stays_at_a_day),
		cmocka_unit_test(retry_jitter_spreads_ten_percent_each_way),
		cmocka_unit_test(retry_never_waits_past_a_tenth_of_the_time_left),
		cmocka_unit_test(backoff_doubles_from_a_minute),
		cmocka_unit_test(backoff_is_capped_at_a_day),
		cmocka_unit_test(backoff_zero_failures_counts_as_one),
		cmocka_unit_test(backoff_jitter_spreads_ten_percent_each_way),
		cmocka_unit_test(backoff_never_shrinks_as_failures_grow),
		cmocka_unit_test(short_lifetimes_renew_at_half),
		cmocka_unit_test(plan_short_lived_profiles),
		cmocka_unit_test(plan_without_ari_is_the_lifetime_rule),
		cmocka_unit_test(plan_picks_a_moment_inside_the_window),
		cmocka_unit_test(plan_keeps_the_moment_while_the_window_stays),
		cmocka_unit_test(plan_refetches_after_retry_after_clamped),
		cmocka_unit_test(plan_renews_now_when_the_window_is_over),
		cmocka_unit_test(plan_renews_now_when_the_window_moves_to_now),
		cmocka_unit_test(plan_first_window_already_begun_follows_the_moment),
		cmocka_unit_test(plan_renew_before_overrides_the_window),
		cmocka_unit_test(plan_ignores_windows_past_expiry_and_empty_ones),
		cmocka_unit_test(reasons_have_words),
		cmocka_unit_test(spread_is_stable_and_in_unit_interval),
		cmocka_unit_test(spread_differs_across_names_and_serials),
		cmocka_unit_test(spread_covers_the_interval_evenly),
		cmocka_unit_test(state_empty_until_something_is_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
