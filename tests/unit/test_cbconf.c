/* test_cbconf.c - certbot's renewal files: the ConfigObj subset, and its refusals */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cbconf.h"

/* As certbot 2.1 writes it for a webroot lineage (paths shortened). */
static const char certbot_file[] =
    "# renew_before_expiry = 30 days\n"
    "version = 2.1.0\n"
    "archive_dir = /etc/letsencrypt/archive/web\n"
    "cert = /etc/letsencrypt/live/web/cert.pem\n"
    "\n"
    "# Options used in the renewal process\n"
    "[renewalparams]\n"
    "account = 8903b36a41234b8ba8c7bd8d1b7a2932\n"
    "authenticator = webroot\n"
    "webroot_path = /var/www/html,\n"
    "server = https://acme-v02.api.letsencrypt.org/directory\n"
    "renew_hook = systemctl reload nginx\n"
    "key_type = ecdsa\n"
    "[[webroot_map]]\n"
    "web.example = /var/www/html\n"
    "www.web.example = /srv/www\n";

static struct cbconf *
parse(const char *text, char *err, size_t errlen)
{
	return cbconf_parse("r.conf", text, strlen(text), err, errlen);
}

static void
test_certbot_file(void **state)
{
	const struct cbconf_entry *e;
	struct cbconf	*c;
	char		 err[256];

	(void)state;
	c = parse(certbot_file, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(cbconf_str(c, "", "version"), "2.1.0");
	assert_string_equal(cbconf_str(c, "renewalparams", "authenticator"),
	    "webroot");
	assert_string_equal(cbconf_str(c, "renewalparams", "renew_hook"),
	    "systemctl reload nginx");
	/* "a," is a list of one: cbconf_str still reads it */
	e = cbconf_find(c, "renewalparams", "webroot_path");
	assert_non_null(e);
	assert_true(e->list);
	assert_int_equal(e->nitems, 1);
	assert_string_equal(e->items[0], "/var/www/html");
	assert_int_equal(e->line, 10);
	assert_string_equal(cbconf_str(c, "renewalparams/webroot_map",
	    "www.web.example"), "/srv/www");
	/* a key of the subsection is not the section's */
	assert_null(cbconf_find(c, "renewalparams", "web.example"));
	assert_null(cbconf_str(c, "", "account"));
	cbconf_free(c);
}

static void
test_values(void **state)
{
	const struct cbconf_entry *e;
	struct cbconf	*c;
	char		 err[256];

	(void)state;
	c = parse("a = x, 'y, z' ,\"w\"\nb = \"q # not a comment\"  # one\n"
	    "c =\nd = bare value # comment\n[s]\ne=1\n[t]\ne = 2\n"
	    "\"k = #\" = v\n", err,
	    sizeof(err));
	assert_non_null(c);
	e = cbconf_find(c, "", "a");
	assert_int_equal(e->nitems, 3);
	assert_string_equal(e->items[1], "y, z");
	assert_string_equal(e->items[2], "w");
	assert_string_equal(cbconf_str(c, "", "b"), "q # not a comment");
	assert_null(cbconf_str(c, "", "c"));	/* empty */
	assert_non_null(cbconf_find(c, "", "c"));
	assert_string_equal(cbconf_str(c, "", "d"), "bare value");
	/* a new [section] ends the one before, and its [[subsections]] */
	assert_string_equal(cbconf_str(c, "s", "e"), "1");
	assert_string_equal(cbconf_str(c, "t", "e"), "2");
	assert_string_equal(cbconf_str(c, "t", "k = #"), "v");	/* a quoted key */
	cbconf_free(c);
}

static void
test_refused(void **state)
{
	static const struct {
		const char	*text, *err;
	} bad[] = {
		{ "a = 1\na = 2\n", "r.conf:2: \"a\" given twice in []" },
		{ "[[sub]]\n", "r.conf:1: [[sub]] outside any [section]" },
		{ "[s]\n[[[deep]]]\n", "r.conf:2: sections nested deeper" },
		{ "\n[s]]\n", "r.conf:2: unbalanced brackets" },
		{ "[s\n", "r.conf:1: section header without \"]\"" },
		{ "a = '''x'''\n", "r.conf:1: triple-quoted" },
		{ "a = \"x\n", "r.conf:1: unterminated \" quote" },
		{ "a = \"x\" y\n", "r.conf:1: text after a quoted value" },
		{ "a = x,,y\n", "r.conf:1: empty item" },
		{ "just words\n", "r.conf:1: neither \"key = value\"" },
		{ " = 1\n", "r.conf:1: empty key" },
		{ "\"k = 1\n", "r.conf:1: unterminated \" quote" },
		{ "'k' 1\n", "r.conf:1: no \"=\" after the quoted key" },
		{ "[s] x\n", "r.conf:1: text after the section header" },
	};
	struct cbconf	*c;
	char		 err[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		c = parse(bad[i].text, err, sizeof(err));
		if (c != NULL || strncmp(err, bad[i].err, strlen(bad[i].err)))
			fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err,
			    bad[i].err);
	}
	/* a NUL byte inside is no text file */
	c = cbconf_parse("r.conf", "a = 1\n\0b = 2\n", 12, err, sizeof(err));
	assert_null(c);
	assert_string_equal(err, "r.conf:2: NUL byte in the file");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_certbot_file),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
