/* test_theap.c - the one timer heap behind 100,000 certificates' schedules */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "theap.h"

/* Every parent is no later than its children, and every idx is right. */
static void
assert_heap(const struct theap *h)
{
	uint32_t i;

	for (i = 0; i < h->n; i++) {
		assert_int_equal(h->v[i]->idx, i + 1);
		if (i > 0)
			assert_true(h->v[(i - 1) / 2]->when <= h->v[i]->when);
	}
}

static void
empty_and_single(void **state)
{
	struct theap	  h = { 0 };
	struct theap_node a = { 0 };

	assert_null(theap_top(&h));
	theap_del(&h, &a);		/* not in: a no-op */
	theap_set(&h, &a, 50);
	assert_true(theap_queued(&a));
	assert_ptr_equal(theap_top(&h), &a);
	theap_set(&h, &a, 70);		/* moved, not added twice */
	assert_int_equal(h.n, 1);
	assert_int_equal(a.when, 70);
	theap_del(&h, &a);
	assert_false(theap_queued(&a));
	assert_int_equal(a.when, 70);	/* the deadline is kept */
	assert_null(theap_top(&h));
	theap_free(&h);
}

/* Pops come out in order after inserts, moves both ways and deletions. */
static void
order_under_churn(void **state)
{
	enum { N = 5000 };
	struct theap	   h = { 0 };
	struct theap_node *nodes = calloc(N, sizeof(*nodes)), *top;
	time_t		   last = 0;
	uint32_t	   i, left = N;

	srandom(7);
	for (i = 0; i < N; i++)
		theap_set(&h, &nodes[i], random() % 100000);
	assert_heap(&h);
	for (i = 0; i < N; i += 3)	/* earlier and later */
		theap_set(&h, &nodes[i], i % 2 ? nodes[i].when / 2 :
		    nodes[i].when + 50000);
	assert_heap(&h);
	for (i = 1; i < N; i += 7) {	/* from the middle, the top, the end */
		theap_del(&h, &nodes[i]);
		left--;
	}
	theap_del(&h, theap_top(&h));
	left--;
	assert_heap(&h);
	assert_int_equal(h.n, left);
	while ((top = theap_top(&h)) != NULL) {
		assert_true(top->when >= last);
		last = top->when;
		theap_del(&h, top);
		left--;
	}
	assert_int_equal(left, 0);
	for (i = 0; i < N; i++)
		assert_false(theap_queued(&nodes[i]));
	theap_free(&h);
	free(nodes);
}

/* Freeing the heap leaves its nodes marked as not queued. */
static void
free_unqueues(void **state)
{
	struct theap	  h = { 0 };
	struct theap_node a = { 0 }, b = { 0 };

	theap_set(&h, &a, 1);
	theap_set(&h, &b, 2);
	theap_free(&h);
	assert_false(theap_queued(&a));
	assert_false(theap_queued(&b));
	assert_null(theap_top(&h));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_and_single),
		cmocka_unit_test(order_under_churn),
		cmocka_unit_test(free_unqueues),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
