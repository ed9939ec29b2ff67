/* test_htab.c - the name-keyed hash table behind O(1) certificate lookups */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "htab.h"
#include "xmalloc.h"

static void
put_get_replace_delete(void **state)
{
	struct htab	*t = htab_new();
	int		 a = 1, b = 2;

	assert_null(htab_get(t, "x"));
	htab_put(t, "x", &a);
	htab_put(t, "y", &b);
	assert_ptr_equal(htab_get(t, "x"), &a);
	assert_ptr_equal(htab_get(t, "y"), &b);
	assert_int_equal(htab_count(t), 2);
	htab_put(t, "x", &b);
	assert_ptr_equal(htab_get(t, "x"), &b);
	assert_int_equal(htab_count(t), 2);
	assert_ptr_equal(htab_del(t, "x"), &b);
	assert_null(htab_del(t, "x"));
	assert_null(htab_get(t, "x"));
	assert_ptr_equal(htab_get(t, "y"), &b);
	assert_int_equal(htab_count(t), 1);
	htab_free(t);
	htab_free(NULL);
}

/* Many keys, removals in between (tombstones), growth and shrinking. */
static void
many_keys_survive_growth_and_removal(void **state)
{
	enum { N = 50000 };
	struct htab	*t = htab_new();
	char		**k = xcalloc(N, sizeof(*k));
	size_t		 i;

	for (i = 0; i < N; i++) {
		k[i] = xasprintf("cert%zu", i);
		htab_put(t, k[i], k[i]);
	}
	assert_int_equal(htab_count(t), N);
	for (i = 0; i < N; i += 2)
		assert_ptr_equal(htab_del(t, k[i]), k[i]);
	assert_int_equal(htab_count(t), N / 2);
	for (i = 0; i < N; i++) {
		if (i % 2 == 0)
			assert_null(htab_get(t, k[i]));
		else
			assert_ptr_equal(htab_get(t, k[i]), k[i]);
	}
	/* re-adding over tombstones and deleting everything */
	for (i = 0; i < N; i += 2)
		htab_put(t, k[i], k[i]);
	for (i = 0; i < N; i++)
		assert_ptr_equal(htab_del(t, k[i]), k[i]);
	assert_int_equal(htab_count(t), 0);
	assert_null(htab_get(t, "cert1"));
	for (i = 0; i < N; i++)
		free(k[i]);
	free(k);
	htab_free(t);
}

/* Churn without growth must not fill the table with tombstones. */
static void
churn_terminates(void **state)
{
	struct htab	*t = htab_new();
	char		 key[32];
	size_t		 i;

	for (i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		htab_put(t, key, t);
		assert_ptr_equal(htab_get(t, key), t);
		assert_ptr_equal(htab_del(t, key), t);
	}
	assert_int_equal(htab_count(t), 0);
	htab_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(put_get_replace_delete),
		cmocka_unit_test(many_keys_survive_growth_and_removal),
		cmocka_unit_test(churn_terminates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
