/* test_renew.c - the lifecycle of certificates */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <event2/event.h>

#include "conf.h"
#include "renew.h"

static int idle_calls;

static void
count_idle(void *arg)
{
	idle_calls++;
}

static void
empty_inventory_goes_idle_once(void **state)
{
	struct event_base	*base = event_base_new();
	struct renew_env	 env;
	struct renewer		*r;
	struct conf		 conf;
	struct renew_stats	 st;

	memset(&env, 0, sizeof(env));
	memset(&conf, 0, sizeof(conf));
	env.base = base;
	idle_calls = 0;
	r = renewer_new(&env, count_idle, NULL);
	assert_non_null(r);
	assert_int_equal(renewer_apply(r, &conf), 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(idle_calls, 1);
	renewer_stats(r, &st);
	assert_int_equal(st.certs, 0);
	assert_int_equal(st.next, 0);
	renewer_free(r);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_inventory_goes_idle_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
