/* test_import.c - renewctl import-certbot's translations (the .c included for its static functions) */
#include "renewctl_import.c"

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Returns "unit/mode" of cmd, or "-" if it is not translated. */
static char *
unit_of(const char *cmd)
{
	const char	*mode;
	char		*unit, *out;

	if (!hook_unit(cmd, &unit, &mode))
		return xstrdup("-");
	out = xasprintf("%s/%s", unit, mode);
	free(unit);
	return out;
}

static void
test_hook_unit(void **state)
{
	static const char *const cases[][2] = {
		{ "systemctl reload nginx", "nginx.service/reload" },
		{ "/usr/bin/systemctl restart haproxy.service", "haproxy.service/restart" },
		{ "systemctl  reload-or-restart  getty@tty1.service", "getty@tty1.service/restart" },
		{ "service apache2 reload", "apache2.service/reload" },
		{ "service apache2 restart", "apache2.service/restart" },
		/* anything a shell would do more with is no unit reload */
		{ "systemctl reload nginx; rm -rf /", "-" },
		{ "systemctl reload nginx && echo ok", "-" },
		{ "systemctl reload $UNIT", "-" },
		{ "systemctl reload nginx postfix", "-" },
		{ "systemctl stop nginx", "-" },
		{ "systemctl reload --now", "-" },
		{ "service nginx status", "-" },
		{ "cp a b", "-" },
		{ "systemctl", "-" },
		{ "", "-" },
	};
	char	*got;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = unit_of(cases[i][0]);
		if (strcmp(got, cases[i][1]) != 0)
			fail_msg("\"%s\": got %s, want %s", cases[i][0], got,
			    cases[i][1]);
		free(got);
	}
}

static void
test_yq(void **state)
{
	char	*q;

	(void)state;
	q = yq("a\"b\\c\n\x7f");
	assert_string_equal(q, "\"a\\\"b\\\\c\\x0a\\x7f\"");
	free(q);
}

static void
test_ca_names(void **state)
{
	struct import	 im = { 0 };
	size_t		 a, b, c, z;

	(void)state;
	a = ca_for(&im, "https://acme-v02.api.letsencrypt.org/directory");
	z = ca_for(&im, "https://acme.zerossl.com/v2/DV90");
	b = ca_for(&im, "https://127.0.0.1:14000/dir");
	/* the same host, another directory: a name of its own */
	c = ca_for(&im, "https://127.0.0.1:14000/other");
	assert_int_equal(ca_for(&im, "https://127.0.0.1:14000/dir"), b);
	/* a well-known CA is named after its preset */
	assert_string_equal(im.cas[a].name, "letsencrypt");
	assert_non_null(im.cas[a].preset);
	assert_string_equal(im.cas[z].name, "zerossl");
	assert_true(im.cas[z].preset->eab_required);
	assert_null(im.cas[b].preset);
	assert_string_equal(im.cas[b].name, "certbot-127.0.0.1-14000");
	assert_string_equal(im.cas[c].name, "certbot-127.0.0.1-14000-2");
	assert_true(valid_name(im.cas[b].name));
	for (a = 0; a < im.ncas; a++)
		free(im.cas[a].name);
	free(im.cas);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hook_unit),
		cmocka_unit_test(test_yq),
		cmocka_unit_test(test_ca_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
