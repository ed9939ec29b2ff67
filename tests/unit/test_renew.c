/* test_renew.c - when certificates fall due */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "renew.h"

#define DAY	86400

static void
due_at_two_thirds_of_lifetime_by_default(void **state)
{
	time_t nb = 1700000000, na = nb + 90 * DAY;

	assert_int_equal(renew_due(nb, na, 0, 0), nb + 60 * DAY);
}

static void
renew_before_counts_back_from_expiry(void **state)
{
	time_t nb = 1700000000, na = nb + 90 * DAY;

	assert_int_equal(renew_due(nb, na, 30L * DAY, 0), na - 30 * DAY);
	assert_int_equal(renew_due(nb, na, 7L * DAY, 0), na - 7 * DAY);
}

static void
renew_before_longer_than_lifetime_falls_back_to_a_third(void **state)
{
	time_t nb = 1700000000, na = nb + 6 * DAY;

	/* 30 days before a 6-day certificate expires is before it began */
	assert_false(renew_before_fits(nb, na, 30L * DAY));
	assert_int_equal(renew_due(nb, na, 30L * DAY, 0), nb + 4 * DAY);
	/* 5d23h leaves one hour, less than 6d/30: also refused */
	assert_false(renew_before_fits(nb, na, 5L * DAY + 23 * 3600));
	/* 5 days leaves one day, more than 6d/30 = 4.8 h: taken */
	assert_true(renew_before_fits(nb, na, 5L * DAY));
	assert_int_equal(renew_due(nb, na, 5L * DAY, 0), nb + DAY);
	assert_true(renew_before_fits(nb, na, 0));
}

static void
jitter_moves_earlier_by_at_most_a_day(void **state)
{
	time_t nb = 1700000000, na = nb + 90 * DAY;
	time_t d = renew_due(nb, na, 0, 0.999);

	assert_true(d < nb + 60 * DAY);
	assert_true(d >= nb + 60 * DAY - DAY);
}

static void
jitter_on_short_lifetimes_is_a_thirtieth(void **state)
{
	time_t nb = 1700000000, na = nb + 6 * DAY;
	time_t d = renew_due(nb, na, 0, 0.5);

	/* 6 days: window 2 days, spread 6d/30 = 4.8 h, half of it 2.4 h */
	assert_int_equal(d, na - 2 * DAY - (6 * DAY / 30) / 2);
}

static void
bad_jitter_and_lifetime_are_harmless(void **state)
{
	time_t nb = 1700000000;

	assert_int_equal(renew_due(nb, nb + 90 * DAY, 0, 7.0), nb + 60 * DAY);
	assert_int_equal(renew_due(nb, nb - 10, 0, 0), nb - 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(due_at_two_thirds_of_lifetime_by_default),
		cmocka_unit_test(renew_before_counts_back_from_expiry),
		cmocka_unit_test(renew_before_longer_than_lifetime_falls_back_to_a_third),
		cmocka_unit_test(jitter_moves_earlier_by_at_most_a_day),
		cmocka_unit_test(jitter_on_short_lifetimes_is_a_thirtieth),
		cmocka_unit_test(bad_jitter_and_lifetime_are_harmless),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
