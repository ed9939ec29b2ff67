/* test_acme_poll.c - the poll schedule: fast at first, polite after, Retry-After kept */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <event2/event.h>
#include <jansson.h>

#include "acme.h"
#include "acme_int.h"

/* The times (ms after the first poll) at which one object is polled, up to end. */
static int
schedule(long long *at, int max, long long end, size_t npolling, long ra)
{
	long long	t = 0;
	int		n = 0;

	while (n < max && t <= end) {
		at[n++] = t;
		t += acme_poll_delay(t, npolling, ra);
	}
	return n;
}

/* An object the CA makes valid at v ms is seen within 20 ms while it is quick. */
static void
test_quick_validation_is_seen_within_a_step(void **state)
{
	long long	at[256], v;
	int		n = schedule(at, 256, 2000, 1, -1), i;

	(void)state;
	for (v = 1; v < 200; v++) {
		for (i = 0; i < n && at[i] < v; i++)
			;
		assert_true(i < n);
		assert_true(at[i] - v <= 20);
	}
	/* the case the issue names: valid at 30 ms, seen at 40 (was 75) */
	for (i = 0; at[i] < 30; i++)
		;
	assert_int_equal(at[i], 40);
}

static void
test_never_faster_than_20_ms(void **state)
{
	long long e;

	(void)state;
	for (e = 0; e < 100000; e += 7)
		assert_true(acme_poll_delay(e, 1, -1) >= 20);
}

/* Polite: a handful of polls in the first second, seconds apart after it. */
static void
test_backs_off_to_seconds_after_the_first_second(void **state)
{
	long long	at[256];
	int		n = schedule(at, 256, 60000, 1, -1), i, first = 0;

	(void)state;
	for (i = 0; i < n; i++)
		first += at[i] < 1000;
	assert_true(first <= 20);
	for (i = 1; i < n; i++)
		if (at[i - 1] >= 1000) {
			assert_true(at[i] - at[i - 1] >= 1000);
			assert_true(at[i] - at[i - 1] <= 5000);
		}
	/* a minute of waiting costs no more than ~35 polls */
	assert_true(n <= 40);
	assert_int_equal(acme_poll_delay(600000, 1, -1), 5000);
}

/* Many authorizations of one order share the order's polls per second. */
static void
test_order_polls_per_second_are_bounded(void **state)
{
	size_t k;

	(void)state;
	for (k = 1; k <= 1000; k *= 3) {
		long d = acme_poll_delay(0, k, -1);

		/* k objects each every d ms: at most 50 a second (more once capped) */
		if (k <= 250)
			assert_true((long long)k * 1000 / d <= 50);
		assert_true(d <= 5000);
	}
	assert_int_equal(acme_poll_delay(0, 2, -1), 40);
	assert_int_equal(acme_poll_delay(0, 100, -1), 2000);
}

static void
test_retry_after_is_never_undercut(void **state)
{
	(void)state;
	assert_int_equal(acme_poll_delay(0, 1, 3), 3000);
	assert_int_equal(acme_poll_delay(5000, 1, 30), 30000);
	assert_int_equal(acme_poll_delay(0, 1, 0), 20);
	/* a shorter Retry-After does not make the schedule faster */
	assert_int_equal(acme_poll_delay(10000, 1, 1), 5000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quick_validation_is_seen_within_a_step),
		cmocka_unit_test(test_never_faster_than_20_ms),
		cmocka_unit_test(test_backs_off_to_seconds_after_the_first_second),
		cmocka_unit_test(test_order_polls_per_second_are_bounded),
		cmocka_unit_test(test_retry_after_is_never_undercut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
