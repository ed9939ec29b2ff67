/* test_validate.c - the shared checks, and the xmalloc family */
#include "config.h"

#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "validate.h"
#include "xmalloc.h"

static void
test_name(void **state)
{
	char	long_ok[VALID_NAME_MAX + 2];

	(void)state;
	assert_true(valid_name("www"));
	assert_true(valid_name("a.b_c-D9"));
	assert_false(valid_name(""));
	assert_false(valid_name(NULL));
	assert_false(valid_name("."));
	assert_false(valid_name(".."));
	assert_true(valid_name("..."));
	assert_false(valid_name("a/b"));
	assert_false(valid_name("a b"));
	assert_false(valid_name("caf\xc3\xa9"));
	memset(long_ok, 'x', VALID_NAME_MAX);
	long_ok[VALID_NAME_MAX] = '\0';
	assert_true(valid_name(long_ok));
	long_ok[VALID_NAME_MAX] = 'x';
	long_ok[VALID_NAME_MAX + 1] = '\0';
	assert_false(valid_name(long_ok));
}

static void
test_domain(void **state)
{
	char		 out[256], big[300];
	const char	*why;

	(void)state;
	assert_null(valid_domain_norm("WWW.Example.COM.", out, sizeof(out)));
	assert_string_equal(out, "www.example.com");
	assert_null(valid_domain_norm("*.example.com", out, sizeof(out)));
	assert_string_equal(out, "*.example.com");
	assert_non_null(valid_domain_norm("", out, sizeof(out)));
	assert_non_null(valid_domain_norm(".", out, sizeof(out)));
	assert_non_null(valid_domain_norm("a..b", out, sizeof(out)));
	assert_non_null(valid_domain_norm("-a.b", out, sizeof(out)));
	assert_non_null(valid_domain_norm("a-.b", out, sizeof(out)));
	assert_non_null(valid_domain_norm("a.*.b", out, sizeof(out)));
	assert_non_null(valid_domain_norm("*", out, sizeof(out)));
	assert_non_null(valid_domain_norm("a*.b", out, sizeof(out)));
	assert_non_null(valid_domain_norm("a_b.c", out, sizeof(out)));
	why = valid_domain_norm("caf\xc3\xa9.fr", out, sizeof(out));
	assert_non_null(why);
	assert_non_null(strstr(why, "xn--"));
	memset(big, 'a', 63);
	big[63] = '\0';
	assert_null(valid_domain_norm(big, out, sizeof(out)));
	big[63] = 'a';
	big[64] = '\0';
	assert_non_null(valid_domain_norm(big, out, sizeof(out)));
	/* 254 characters: too long even though every label is fine */
	memset(big, 'a', 254);
	for (size_t i = 50; i < 254; i += 51)
		big[i] = '.';
	big[254] = '\0';
	assert_non_null(valid_domain_norm(big, out, sizeof(out)));
}

static void
test_ip(void **state)
{
	(void)state;
	assert_int_equal(valid_ip_literal("127.0.0.1"), AF_INET);
	assert_int_equal(valid_ip_literal("::1"), AF_INET6);
	assert_int_equal(valid_ip_literal("2001:db8::1"), AF_INET6);
	assert_int_equal(valid_ip_literal("example.com"), 0);
	assert_int_equal(valid_ip_literal("1.2.3"), 0);
	assert_int_equal(valid_ip_literal(""), 0);
}

static void
test_listen(void **state)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	socklen_t		 len = 0;

	(void)state;
	assert_null(valid_listen("127.0.0.1:80", 0, &ss, &len));
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 80);
	assert_int_equal(len, sizeof(*sin));
	assert_null(valid_listen("[::]:8080", 0, &ss, &len));
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 8080);
	assert_int_equal(len, sizeof(*sin6));
	assert_null(valid_listen("[::1]:65535", 0, NULL, NULL));
	assert_non_null(valid_listen("127.0.0.1:0", 0, NULL, NULL));
	assert_null(valid_listen("127.0.0.1:0", 1, NULL, NULL));
	assert_non_null(valid_listen("127.0.0.1:65536", 1, NULL, NULL));
	assert_non_null(valid_listen("127.0.0.1:", 0, NULL, NULL));
	assert_non_null(valid_listen("127.0.0.1", 0, NULL, NULL));
	assert_non_null(valid_listen("localhost:80", 0, NULL, NULL));
	assert_non_null(valid_listen("::1:80", 0, NULL, NULL));
	assert_non_null(valid_listen("[127.0.0.1]:80", 0, NULL, NULL));
	assert_non_null(valid_listen("[::1]80", 0, NULL, NULL));
	assert_non_null(valid_listen(":80", 0, NULL, NULL));
	assert_non_null(valid_listen("127.0.0.1:8x", 0, NULL, NULL));
	assert_non_null(valid_listen("127.0.0.1:-1", 0, NULL, NULL));
	assert_non_null(valid_listen("127.0.0.1:000080", 0, NULL, NULL));
}

static void
test_hostport(void **state)
{
	(void)state;
	assert_null(valid_hostport("127.0.0.1:443"));
	assert_null(valid_hostport("[::1]:8443"));
	assert_null(valid_hostport("www.example.com:443"));
	assert_null(valid_hostport("localhost:1"));
	assert_non_null(valid_hostport("www.example.com"));
	assert_non_null(valid_hostport("www.example.com:0"));
	assert_non_null(valid_hostport("www.example.com:65536"));
	assert_non_null(valid_hostport(":443"));
	assert_non_null(valid_hostport("::1:443"));
	assert_non_null(valid_hostport("*.example.com:443"));
	assert_non_null(valid_hostport("bad_name.example:443"));
	assert_non_null(valid_hostport("[www.example.com]:443"));
}

static void
test_https(void **state)
{
	(void)state;
	assert_true(valid_https_url("https://ca.example/dir"));
	assert_true(valid_https_url("HTTPS://127.0.0.1:14000/dir"));
	assert_false(valid_https_url("http://ca.example/dir"));
	assert_false(valid_https_url("https://"));
	assert_false(valid_https_url("https:///dir"));
	assert_false(valid_https_url("https://ca.example/a b"));
	assert_false(valid_https_url("https://ca.example/\n"));
	assert_false(valid_https_url("https://ca.example/\x7f"));
}

static void
test_base64url(void **state)
{
	(void)state;
	assert_true(valid_base64url("abcXYZ019-_", 256, 0));
	assert_true(valid_base64url("valid", 256, 0));
	assert_false(valid_base64url("valid", 256, VALID_B64_WHOLE));
	assert_false(valid_base64url("", 256, 0));
	assert_false(valid_base64url(NULL, 256, 0));
	assert_false(valid_base64url("a+b", 256, 0));
	assert_false(valid_base64url("a/b", 256, 0));
	assert_false(valid_base64url("a.b", 256, 0));
	assert_false(valid_base64url("ab==", 256, 0));
	assert_true(valid_base64url("ab==", 256, VALID_B64_PAD));
	assert_false(valid_base64url("ab===", 256, VALID_B64_PAD));
	assert_false(valid_base64url("a=b", 256, VALID_B64_PAD));
	assert_false(valid_base64url("==", 256, VALID_B64_PAD));
	assert_true(valid_base64url("abcd", 4, 0));
	assert_false(valid_base64url("abcde", 4, 0));
}

static void
test_duration(void **state)
{
	long	v = -1;

	(void)state;
	assert_int_equal(valid_duration("auto", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(valid_duration("30d", &v), 0);
	assert_int_equal(v, 30 * 86400);
	assert_int_equal(valid_duration("1d12h", &v), 0);
	assert_int_equal(v, 86400 + 12 * 3600);
	assert_int_equal(valid_duration("1w1m1s", &v), 0);
	assert_int_equal(v, 7 * 86400 + 61);
	assert_int_equal(valid_duration("", &v), -1);
	assert_int_equal(valid_duration("0d", &v), -1);
	assert_int_equal(valid_duration("10", &v), -1);
	assert_int_equal(valid_duration("d", &v), -1);
	assert_int_equal(valid_duration("1y", &v), -1);
	assert_int_equal(valid_duration("-1d", &v), -1);
	assert_int_equal(valid_duration("99999999999999999999s", &v), -1);
	assert_int_equal(valid_duration("9223372036854775807w", &v), -1);
}

static void
test_mode(void **state)
{
	mode_t	m = 0;

	(void)state;
	assert_int_equal(valid_octal_mode("0640", &m), 0);
	assert_int_equal(m, 0640);
	assert_int_equal(valid_octal_mode("07777", &m), 0);
	assert_int_equal(m, 07777);
	assert_int_equal(valid_octal_mode("600", &m), 0);
	assert_int_equal(m, 0600);
	assert_int_equal(valid_octal_mode("", &m), -1);
	assert_int_equal(valid_octal_mode("0648", &m), -1);
	assert_int_equal(valid_octal_mode("10000", &m), -1);
	assert_int_equal(valid_octal_mode("0640 ", &m), -1);
}

static void
test_quote(void **state)
{
	char	buf[32];

	(void)state;
	assert_string_equal(valid_quote("abc", 3, buf, sizeof(buf)), "\"abc\"");
	assert_string_equal(valid_quote("a\"b\\c", 5, buf, sizeof(buf)),
	    "\"a\\\"b\\\\c\"");
	assert_string_equal(valid_quote("a\nb\x80", 4, buf, sizeof(buf)),
	    "\"a\\x0ab\\x80\"");
	valid_quote("0123456789012345678901234567890123456789", 40, buf,
	    sizeof(buf));
	assert_true(strlen(buf) < sizeof(buf));
	assert_non_null(strstr(buf, "...\""));
}

static void
test_xmalloc(void **state)
{
	char	*s, *p;
	int	*v;

	(void)state;
	s = xasprintf("%s-%d", "a", 42);
	assert_string_equal(s, "a-42");
	free(s);
	s = xstrndup("abcdef", 3);
	assert_string_equal(s, "abc");
	p = xstrdup(s);
	assert_string_equal(p, "abc");
	xfree_secret_str(p);
	free(s);
	v = xcalloc(4, sizeof(*v));
	assert_int_equal(v[3], 0);
	v = xreallocarray(v, 100, sizeof(*v));
	v[99] = 7;
	free(v);
	free(xmalloc(0));
	xfree_secret_str(NULL);
}

static void
test_rfc3339(void **state)
{
	time_t	t = 0;

	(void)state;
	/* date -u -d 2025-01-02T03:04:05Z +%s: 1735787045 */
	assert_int_equal(valid_rfc3339("2025-01-02T03:04:05Z", &t), 0);
	assert_int_equal(t, 1735787045);
	assert_int_equal(valid_rfc3339("2025-01-02t03:04:05.123456789z", &t), 0);
	assert_int_equal(t, 1735787045);
	assert_int_equal(valid_rfc3339("2025-01-02T05:04:05+02:00", &t), 0);
	assert_int_equal(t, 1735787045);
	assert_int_equal(valid_rfc3339("2025-01-01T23:34:05-03:30", &t), 0);
	assert_int_equal(t, 1735787045);
	t = 7;
	assert_int_equal(valid_rfc3339("", &t), -1);
	assert_int_equal(valid_rfc3339("2025-01-02", &t), -1);
	assert_int_equal(valid_rfc3339("2025-01-02T03:04:05", &t), -1);
	assert_int_equal(valid_rfc3339("2025-01-02T03:04:05Zjunk", &t), -1);
	assert_int_equal(valid_rfc3339("2025-13-02T03:04:05Z", &t), -1);
	assert_int_equal(valid_rfc3339("2025-01-32T03:04:05Z", &t), -1);
	assert_int_equal(valid_rfc3339("2025-01-02T24:04:05Z", &t), -1);
	assert_int_equal(valid_rfc3339("2025-01-02T03:04:05.Z", &t), -1);
	assert_int_equal(valid_rfc3339("2025-01-02T03:04:05+2:00", &t), -1);
	assert_int_equal(valid_rfc3339("+025-01-02T03:04:05Z", &t), -1);
	assert_int_equal(valid_rfc3339("1735787045", &t), -1);
	assert_int_equal(t, 7);		/* untouched on error */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_domain),
		cmocka_unit_test(test_ip),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_https),
		cmocka_unit_test(test_base64url),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_mode),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_xmalloc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
