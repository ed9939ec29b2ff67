/* test_metrics.c - the counters' text: label escaping, families, values */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <event2/buffer.h>

#include "metrics.h"
#include "xmalloc.h"

/* Returns what b holds as a malloc'd string. */
static char *
take(struct evbuffer *b)
{
	if (evbuffer_get_length(b) == 0)
		return xstrdup("");
	return xstrndup((const char *)evbuffer_pullup(b, -1),
	    evbuffer_get_length(b));
}

static char *
escaped(const char *s)
{
	struct evbuffer	*b = evbuffer_new();
	char		*out;

	metrics_escape(b, s);
	out = take(b);
	evbuffer_free(b);
	return out;
}

static void
label_values_are_escaped(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "plain-name_1.example", "plain-name_1.example" },
		{ "", "" },
		{ "a\"b", "a\\\"b" },
		{ "back\\slash", "back\\\\slash" },
		{ "two\nlines", "two\\nlines" },
		{ "\\\"\n", "\\\\\\\"\\n" },
		{ "tab\tand{braces}=,", "tab\tand{braces}=," },	/* legal as is */
	};
	size_t	i;
	char	*s;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = escaped(cases[i].in);
		assert_string_equal(s, cases[i].out);
		free(s);
	}
}

/* Returns the exposition of m's counters. */
static char *
counters(const struct metrics *m)
{
	struct evbuffer	*b = evbuffer_new();
	char		*s;

	metrics_write_counters(m, b);
	s = take(b);
	evbuffer_free(b);
	return s;
}

static void
counters_are_counted_per_label_set(void **state)
{
	struct metrics	*m = metrics_new();
	char		*s;

	(void)state;
	metrics_acme_request(m, "le", "newOrder", 201);
	metrics_acme_request(m, "le", "newOrder", 201);
	metrics_acme_request(m, "le", "newOrder", 429);
	metrics_acme_request(m, "le", "newOrder", 0);		/* no answer */
	metrics_acme_request(m, "le", "finalize", 999);	/* nonsense: error */
	metrics_acme_request(m, "backup", "newOrder", 503);
	metrics_order(m, "le", "valid");
	metrics_order(m, "le", "valid");
	metrics_order(m, "le", "domain");
	metrics_renewal(m, "success");
	metrics_delivery(m, "reload_failed");
	metrics_service_reload(m, "failed");
	metrics_inventory_reload(m, "rejected");
	s = counters(m);
	assert_non_null(strstr(s, "\nrenewd_acme_requests_total{ca=\"le\","
	    "endpoint=\"newOrder\",status_class=\"2xx\"} 2\n"));
	assert_non_null(strstr(s, "\nrenewd_acme_requests_total{ca=\"le\","
	    "endpoint=\"newOrder\",status_class=\"4xx\"} 1\n"));
	assert_non_null(strstr(s, "\nrenewd_acme_requests_total{ca=\"le\","
	    "endpoint=\"newOrder\",status_class=\"error\"} 1\n"));
	assert_non_null(strstr(s, "\nrenewd_acme_requests_total{ca=\"le\","
	    "endpoint=\"finalize\",status_class=\"error\"} 1\n"));
	assert_non_null(strstr(s, "\nrenewd_acme_requests_total{ca=\"backup\","
	    "endpoint=\"newOrder\",status_class=\"5xx\"} 1\n"));
	assert_non_null(strstr(s, "\nrenewd_orders_total{ca=\"le\","
	    "result=\"valid\"} 2\n"));
	assert_non_null(strstr(s, "\nrenewd_orders_total{ca=\"le\","
	    "result=\"domain\"} 1\n"));
	/* the fixed results are there before the first one happens */
	assert_non_null(strstr(s, "\nrenewd_renewals_total{result=\"success\"} 1\n"
	    "renewd_renewals_total{result=\"failure\"} 0\n"));
	assert_non_null(strstr(s, "\nrenewd_deliveries_total{result=\"delivered\"} 0\n"));
	assert_non_null(strstr(s, "\nrenewd_deliveries_total{result=\"reload_failed\"} 1\n"));
	assert_non_null(strstr(s, "\nrenewd_service_reloads_total{result=\"failed\"} 1\n"));
	assert_non_null(strstr(s, "\nrenewd_inventory_reloads_total{result=\"rejected\"} 1\n"));
	free(s);
	metrics_free(m);
}

static void
families_have_help_and_type_once_and_escaped_labels(void **state)
{
	struct metrics	*m = metrics_new();
	const char	*p;
	char		*s;
	int		 help = 0, type = 0;

	(void)state;
	metrics_order(m, "odd\"ca\\\n", "valid");
	s = counters(m);
	assert_non_null(strstr(s, "# HELP renewd_orders_total "));
	assert_non_null(strstr(s, "\n# TYPE renewd_orders_total counter\n"
	    "renewd_orders_total{ca=\"odd\\\"ca\\\\\\n\",result=\"valid\"} 1\n"));
	/* the family's lines are together: HELP, TYPE, then its samples */
	for (p = s; (p = strstr(p, "# HELP ")) != NULL; p++)
		help++;
	for (p = s; (p = strstr(p, "# TYPE ")) != NULL; p++)
		type++;
	assert_int_equal(help, 6);
	assert_int_equal(type, 6);
	assert_null(strstr(s, "# TYPE renewd_orders_total counter\n#"));
	free(s);
	metrics_free(m);
}

static void
a_null_registry_counts_nothing(void **state)
{
	(void)state;
	metrics_acme_request(NULL, "le", "newOrder", 200);
	metrics_order(NULL, "le", "valid");
	metrics_renewal(NULL, "success");
	metrics_delivery(NULL, "delivered");
	metrics_service_reload(NULL, "ok");
	metrics_inventory_reload(NULL, "applied");
	metrics_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(label_values_are_escaped),
		cmocka_unit_test(counters_are_counted_per_label_set),
		cmocka_unit_test(families_have_help_and_type_once_and_escaped_labels),
		cmocka_unit_test(a_null_registry_counts_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
