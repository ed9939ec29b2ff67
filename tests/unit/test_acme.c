/* test_acme.c - problem documents, Retry-After, statuses, challenge choice, and orders against a scripted CA */
#include "config.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/socket.h>

#include <netinet/in.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "acme.h"
#include "acme_int.h"
#include "acme_solver.h"
#include "challenge_http.h"
#include "crypto.h"
#include "http.h"
#include "log.h"

static int
parse(const char *s, struct acme_problem *p)
{
	return acme_problem_parse(s, strlen(s), p);
}

static void
test_problem_full_document_with_subproblems(void **state)
{
	struct acme_problem p;
	const char *doc =
	    "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\","
	    "\"detail\":\"Some identifiers were rejected\",\"status\":400,"
	    "\"subproblems\":["
	    " {\"type\":\"urn:ietf:params:acme:error:malformed\","
	    "  \"detail\":\"Invalid underscore in DNS name\","
	    "  \"identifier\":{\"type\":\"dns\",\"value\":\"_example.org\"}},"
	    " {\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\","
	    "  \"detail\":\"This CA will not issue for example.net\","
	    "  \"status\":403,"
	    "  \"identifier\":{\"type\":\"dns\",\"value\":\"example.net\"}}]}";

	assert_int_equal(parse(doc, &p), 0);
	assert_string_equal(p.type, "urn:ietf:params:acme:error:rejectedIdentifier");
	assert_string_equal(p.detail, "Some identifiers were rejected");
	assert_int_equal(p.status, 400);
	assert_null(p.identifier);
	assert_int_equal(p.nsub, 2);
	assert_string_equal(p.sub[0].type, "urn:ietf:params:acme:error:malformed");
	assert_string_equal(p.sub[0].detail, "Invalid underscore in DNS name");
	assert_string_equal(p.sub[0].identifier, "_example.org");
	assert_int_equal(p.sub[0].status, 0);
	assert_string_equal(p.sub[1].identifier, "example.net");
	assert_int_equal(p.sub[1].status, 403);
	acme_problem_clear(&p);
	assert_null(p.type);
	assert_null(p.sub);
	assert_int_equal(p.nsub, 0);
}

static void
test_problem_minimal_document_has_only_type(void **state)
{
	struct acme_problem p;

	assert_int_equal(parse("{\"type\":\"about:blank\"}", &p), 0);
	assert_string_equal(p.type, "about:blank");
	assert_null(p.detail);
	assert_int_equal(p.status, 0);
	assert_int_equal(p.nsub, 0);
	assert_null(p.sub);
	acme_problem_clear(&p);
}

static void
test_problem_rejects_what_is_not_json(void **state)
{
	struct acme_problem p;

	assert_int_equal(parse("<html>502 Bad Gateway</html>", &p), -1);
	assert_null(p.type);
	assert_int_equal(parse("{\"type\":\"x\"", &p), -1);
	assert_int_equal(parse("", &p), -1);
	assert_int_equal(acme_problem_parse(NULL, 0, &p), -1);
	/* embedded NUL ends the document early: what follows is garbage */
	assert_int_equal(acme_problem_parse("{\"type\":\"x\"}\0junk", 17, &p), -1);
	acme_problem_clear(&p);
}

static void
test_problem_rejects_json_without_type_string(void **state)
{
	struct acme_problem p;

	assert_int_equal(parse("{\"detail\":\"no type\",\"status\":500}", &p), -1);
	assert_null(p.detail);
	assert_int_equal(parse("{\"type\":42}", &p), -1);
	assert_int_equal(parse("{\"type\":null}", &p), -1);
	assert_int_equal(parse("[\"type\"]", &p), -1);
	assert_int_equal(parse("\"urn:ietf:params:acme:error:badNonce\"", &p), -1);
	acme_problem_clear(&p);
}

static void
test_problem_ignores_optional_members_of_wrong_type(void **state)
{
	struct acme_problem p;
	const char *doc = "{\"type\":\"t\",\"detail\":7,\"status\":\"400\","
	    "\"identifier\":\"x\",\"subproblems\":{\"type\":\"s\"}}";

	assert_int_equal(parse(doc, &p), 0);
	assert_string_equal(p.type, "t");
	assert_null(p.detail);
	assert_int_equal(p.status, 0);
	assert_null(p.identifier);
	assert_int_equal(p.nsub, 0);
	acme_problem_clear(&p);

	/* bad subproblems are skipped, good ones kept; status out of range dropped */
	doc = "{\"type\":\"t\",\"status\":99999,\"subproblems\":[1,\"s\",{},"
	    "{\"type\":false},{\"type\":\"ok\",\"identifier\":{\"value\":3}},null]}";
	assert_int_equal(parse(doc, &p), 0);
	assert_int_equal(p.status, 0);
	assert_int_equal(p.nsub, 1);
	assert_string_equal(p.sub[0].type, "ok");
	assert_null(p.sub[0].identifier);
	acme_problem_clear(&p);
}

static void
test_problem_rejects_huge_and_deep_inputs(void **state)
{
	struct acme_problem p;
	size_t	 n = 200000, i;
	char	*big = malloc(n + 64);
	char	*deep;

	assert_non_null(big);
	/* a valid but oversized document */
	i = (size_t)sprintf(big, "{\"type\":\"t\",\"detail\":\"");
	memset(big + i, 'a', n);
	strcpy(big + i + n, "\"}");
	assert_int_equal(acme_problem_parse(big, strlen(big), &p), -1);
	assert_null(p.type);
	free(big);

	/* nesting far deeper than any real document, within the size limit */
	n = 30000;
	assert_non_null(deep = malloc(2 * n + 1));
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	deep[2 * n] = '\0';
	assert_int_equal(acme_problem_parse(deep, 2 * n, &p), -1);
	free(deep);

	/* thousands of subproblems are capped, not all copied */
	assert_non_null(big = malloc(60000));
	i = (size_t)sprintf(big, "{\"type\":\"t\",\"subproblems\":[");
	while (i < 59000)
		i += (size_t)sprintf(big + i, "{\"type\":\"s\"},");
	strcpy(big + i - 1, "]}");
	assert_int_equal(acme_problem_parse(big, strlen(big), &p), 0);
	assert_true(p.nsub > 0 && p.nsub <= 64);
	acme_problem_clear(&p);
	free(big);
}

static void
test_problem_str_exact_text(void **state)
{
	struct acme_problem p;
	char *s;

	assert_int_equal(parse("{\"type\":\"urn:ietf:params:acme:error:connection\","
	    "\"detail\":\"127.0.0.1: Fetching http://x.example/: Connection refused\"}",
	    &p), 0);
	assert_non_null(s = acme_problem_str(&p));
	assert_string_equal(s, "urn:ietf:params:acme:error:connection: "
	    "127.0.0.1: Fetching http://x.example/: Connection refused");
	free(s);
	acme_problem_clear(&p);

	assert_int_equal(parse("{\"type\":\"about:blank\",\"detail\":\"\"}", &p), 0);
	assert_non_null(s = acme_problem_str(&p));
	assert_string_equal(s, "about:blank");
	free(s);
	acme_problem_clear(&p);

	assert_int_equal(parse("{\"type\":\"urn:x:rejected\",\"detail\":\"two bad\","
	    "\"subproblems\":[{\"type\":\"urn:x:malformed\",\"detail\":\"underscore\","
	    "\"identifier\":{\"type\":\"dns\",\"value\":\"_a.org\"}},"
	    "{\"type\":\"urn:x:caa\"},"
	    "{\"type\":\"urn:x:dns\",\"detail\":\"NXDOMAIN\"}]}", &p), 0);
	assert_non_null(s = acme_problem_str(&p));
	assert_string_equal(s, "urn:x:rejected: two bad [_a.org: urn:x:malformed: "
	    "underscore; urn:x:caa; urn:x:dns: NXDOMAIN]");
	free(s);
	acme_problem_clear(&p);

	/* CA text must not be able to forge log lines */
	assert_int_equal(parse("{\"type\":\"t\",\"detail\":\"a\\nb\\r\\u001bc\"}", &p), 0);
	assert_non_null(s = acme_problem_str(&p));
	assert_string_equal(s, "t: a b  c");
	free(s);
	acme_problem_clear(&p);
}

static void
fmt_date(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	/* IMF-fixdate with English names regardless of locale */
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    (const char *[]){ "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" }[tm.tm_wday],
	    tm.tm_mday,
	    (const char *[]){ "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
	    "Aug", "Sep", "Oct", "Nov", "Dec" }[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void
test_retry_after_delta_seconds(void **state)
{
	assert_int_equal(acme_retry_after("0"), 0);
	assert_int_equal(acme_retry_after("120"), 120);
	assert_int_equal(acme_retry_after(" 86400 "), 86400);
	assert_int_equal(acme_retry_after("007"), 7);
}

static void
test_retry_after_http_date_past_is_zero(void **state)
{
	char buf[64];

	assert_int_equal(acme_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), 0);
	fmt_date(time(NULL) - 3600, buf, sizeof(buf));
	assert_int_equal(acme_retry_after(buf), 0);
}

static void
test_retry_after_http_date_future_is_seconds_from_now(void **state)
{
	char buf[64];
	long v;

	fmt_date(time(NULL) + 600, buf, sizeof(buf));
	v = acme_retry_after(buf);
	assert_true(v >= 598 && v <= 600);
	assert_int_equal(acme_retry_after("Fri, 01 Jan 2100 00:00:00 GMT") >
	    70L * 365 * 86400, 1);
}

static void
test_retry_after_rejects_garbage_and_negatives(void **state)
{
	assert_int_equal(acme_retry_after(NULL), -1);
	assert_int_equal(acme_retry_after(""), -1);
	assert_int_equal(acme_retry_after("   "), -1);
	assert_int_equal(acme_retry_after("soon"), -1);
	assert_int_equal(acme_retry_after("-5"), -1);
	assert_int_equal(acme_retry_after("12s"), -1);
	assert_int_equal(acme_retry_after("1 2"), -1);
	assert_int_equal(acme_retry_after("1.5"), -1);
	assert_int_equal(acme_retry_after("+5"), -1);
	/* wrong zone, bad month, out-of-range fields, truncated */
	assert_int_equal(acme_retry_after("Sun, 06 Nov 1994 08:49:37 UTC"), -1);
	assert_int_equal(acme_retry_after("Sun, 06 Foo 1994 08:49:37 GMT"), -1);
	assert_int_equal(acme_retry_after("Sun, 32 Nov 1994 08:49:37 GMT"), -1);
	assert_int_equal(acme_retry_after("Sun, 06 Nov 1994 25:49:37 GMT"), -1);
	assert_int_equal(acme_retry_after("Sun, 06 Nov 1994 08:49 GMT"), -1);
	assert_int_equal(acme_retry_after("Xyz, 06 Nov 1994 08:49:37 GMT"), -1);
}

static void
test_retry_after_overflow_saturates(void **state)
{
	assert_int_equal(acme_retry_after("99999999999999999999999999999"), LONG_MAX);
	assert_int_equal(acme_retry_after("9223372036854775807"), LONG_MAX);
	assert_int_equal(acme_retry_after("9223372036854775808"), LONG_MAX);
}

/* Asserts s holds no control character: one log line. */
static void
assert_one_line(const char *s)
{
	assert_non_null(s);
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fail_msg("control character 0x%02x in \"%s\"",
			    (unsigned char)*s, s);
}

/*
 * Found by tests/fuzz/fuzz_acme_json and fuzz_headers: CA text reached
 * errors (and so the log) with its control characters.
 */
static void
test_ca_text_in_errors_is_one_line(void **state)
{
	static const char url[] = "https://ca.test/x";
	struct http_response	 resp;
	struct acme_reply	 r;
	struct acme_ca		 ca;
	struct acme_order	 o;
	struct acme_authz	 a;
	char			*err = NULL;
	char			 bad[] = "{\"status\":\x1b[2J";

	(void)state;
	memset(&resp, 0, sizeof(resp));
	resp.url = url;
	resp.status = 200;
	resp.body = bad;
	resp.body_len = strlen(bad);
	/* jansson's error quotes the byte it stopped at */
	acme_reply_read(&r, &resp, url, 1);
	assert_non_null(r.err);
	assert_one_line(r.err);
	acme_reply_clear(&r);

	resp.status = 500;
	resp.body = "";
	resp.body_len = 0;
	resp.content_type = "text/html\r\x1b[2J";
	err = acme_error_text(url, &resp, NULL);
	assert_one_line(err);
	free(err);

	memset(&ca, 0, sizeof(ca));
	memset(&o, 0, sizeof(o));
	memset(&a, 0, sizeof(a));
	o.ca = &ca;
	o.url = (char *)url;
	o.state = O_WAIT_VALID;
	a.order = &o;
	a.url = (char *)url;
	resp.status = 200;
	resp.content_type = NULL;
	resp.body = "{\"status\":\"odd\\n\\u001b[2J\",\"identifier\":"
	    "{\"type\":\"dns\",\"value\":\"a\\nb\"}}";
	resp.body_len = strlen(resp.body);
	acme_reply_read(&r, &resp, url, 1);
	assert_null(r.err);
	assert_int_equal(acme_order_object(&o, &r, &err), O_DONE);
	assert_one_line(err);
	free(err);
	err = NULL;
	acme_authz_identify(&a, r.json);
	assert_int_equal(acme_authz_object(&a, &r, &err), a.state);
	assert_one_line(err);
	free(err);
	free(a.id_value);
	acme_reply_clear(&r);
}

static void
test_status_parser_knows_every_rfc8555_status(void **state)
{
	assert_int_equal(acme_status_parse("pending"), ACME_PENDING);
	assert_int_equal(acme_status_parse("ready"), ACME_READY);
	assert_int_equal(acme_status_parse("processing"), ACME_PROCESSING);
	assert_int_equal(acme_status_parse("valid"), ACME_VALID);
	assert_int_equal(acme_status_parse("invalid"), ACME_INVALID);
	assert_int_equal(acme_status_parse("deactivated"), ACME_DEACTIVATED);
	assert_int_equal(acme_status_parse("expired"), ACME_EXPIRED);
	assert_int_equal(acme_status_parse("revoked"), ACME_REVOKED);
	/* exact spelling only; a missing status is not an unknown one */
	assert_int_equal(acme_status_parse("Valid"), ACME_UNKNOWN);
	assert_int_equal(acme_status_parse("valid "), ACME_UNKNOWN);
	assert_int_equal(acme_status_parse(""), ACME_UNKNOWN);
	assert_int_equal(acme_status_parse("pendingx"), ACME_UNKNOWN);
	assert_int_equal(acme_status_parse(NULL), ACME_NO_STATUS);
}

/* A solver that only says whether it can: for acme_challenge_pick. */
struct can_solver {
	int	 accept;
	int	 asked;
	char	 id[64];
};

static int
can_cb(void *arg, const char *id_type, const char *id_value)
{
	struct can_solver *c = arg;

	c->asked++;
	snprintf(c->id, sizeof(c->id), "%s:%s", id_type, id_value);
	return c->accept;
}

#define OFFER_DNS_HTTP	"[{\"type\":\"dns-01\",\"url\":\"u/dns\"}," \
			"{\"type\":\"http-01\",\"url\":\"u/http\"}]"

/* Picks from offer; returns the picked challenge's url, or the error (static). */
static const char *
pick(const struct acme_solver *s, size_t n, const char *want,
    const char *offer, const struct acme_solver **chosen)
{
	static char	 buf[512];
	json_t		*o = json_loads(offer, 0, NULL), *ch;
	char		*err = NULL;

	assert_non_null(o);
	ch = acme_challenge_pick(s, n, want, o, "https://ca/authz/1", "dns",
	    "www.example", chosen, &err);
	if (ch != NULL) {
		assert_null(err);
		assert_non_null(*chosen);
		snprintf(buf, sizeof(buf), "%s",
		    json_string_value(json_object_get(ch, "url")));
	} else {
		assert_non_null(err);
		assert_null(*chosen);
		snprintf(buf, sizeof(buf), "%s", err);
		free(err);
	}
	json_decref(o);
	return buf;
}

static void
test_pick_takes_the_type_a_solver_answers(void **state)
{
	struct can_solver	 c = { 1, 0, "" };
	struct acme_solver	 s[] = { { "http-01", can_cb, NULL, NULL, &c } };
	const struct acme_solver *chosen;

	/* the CA offers dns-01 first; only http-01 has a solver */
	assert_string_equal(pick(s, 1, NULL, OFFER_DNS_HTTP, &chosen), "u/http");
	assert_ptr_equal(chosen, &s[0]);
	assert_string_equal(c.id, "dns:www.example");
	assert_string_equal(pick(s, 1, "http-01", OFFER_DNS_HTTP, &chosen),
	    "u/http");
}

static void
test_pick_follows_solver_order_and_skips_one_that_declines(void **state)
{
	struct can_solver	 dns = { 0, 0, "" }, http = { 1, 0, "" };
	struct acme_solver	 s[] = {
		{ "dns-01", can_cb, NULL, NULL, &dns },
		{ "http-01", can_cb, NULL, NULL, &http },
	};
	const struct acme_solver *chosen;

	assert_string_equal(pick(s, 2, NULL, OFFER_DNS_HTTP, &chosen), "u/http");
	assert_int_equal(dns.asked, 1);
	assert_ptr_equal(chosen, &s[1]);
	/* the first solver wins when it accepts */
	dns.accept = 1;
	assert_string_equal(pick(s, 2, NULL, OFFER_DNS_HTTP, &chosen), "u/dns");
	assert_ptr_equal(chosen, &s[0]);
	/* the certificate's type rules the others out, without asking them */
	dns.asked = 0;
	assert_string_equal(pick(s, 2, "http-01", OFFER_DNS_HTTP, &chosen),
	    "u/http");
	assert_int_equal(dns.asked, 0);
	/* a NULL can() accepts everything */
	s[1].can = NULL;
	dns.accept = 0;
	assert_string_equal(pick(s, 2, NULL, OFFER_DNS_HTTP, &chosen), "u/http");
}

static void
test_pick_errors_name_the_identifier_and_the_types(void **state)
{
	struct can_solver	 c = { 0, 0, "" };
	struct acme_solver	 s[] = {
		{ "http-01", can_cb, NULL, NULL, &c },
		{ "http-01", can_cb, NULL, NULL, &c },
		{ "tls-alpn-01", can_cb, NULL, NULL, &c },
	};
	const struct acme_solver *chosen;

	assert_string_equal(pick(s, 0, "http-01", OFFER_DNS_HTTP, &chosen),
	    "acme: https://ca/authz/1 needs http-01 for www.example, but no "
	    "challenge solver is configured");
	assert_string_equal(pick(s, 0, NULL, OFFER_DNS_HTTP, &chosen),
	    "acme: https://ca/authz/1 needs a challenge for www.example, but "
	    "no challenge solver is configured");
	assert_string_equal(pick(s, 3, "dns-01", OFFER_DNS_HTTP, &chosen),
	    "acme: no dns-01 solver is configured (only http-01, tls-alpn-01)");
	assert_string_equal(pick(s, 1, "http-01",
	    "[{\"type\":\"dns-01\",\"url\":\"u/dns\"}]", &chosen),
	    "acme: https://ca/authz/1: CA offers no http-01 challenge for "
	    "www.example");
	assert_string_equal(pick(s, 3, NULL, "[]", &chosen),
	    "acme: https://ca/authz/1: CA offers no http-01, tls-alpn-01 "
	    "challenge for www.example");
	assert_string_equal(pick(s, 2, NULL, OFFER_DNS_HTTP, &chosen),
	    "acme: https://ca/authz/1: no http-01 solver can answer for dns "
	    "www.example");
	assert_int_equal(c.asked, 2);
	/* junk in the offer is skipped, not trusted */
	c.accept = 1;
	assert_string_equal(pick(s, 1, NULL, "[1,null,{\"type\":7},"
	    "{\"type\":\"http-01\",\"url\":\"u/ok\"}]", &chosen), "u/ok");
}

/* renewd keeps one slot per type; a slot not filled yet has type NULL */
static void
test_pick_skips_empty_slots(void **state)
{
	struct can_solver	 c = { 1, 0, "" };
	struct acme_solver	 s[] = {
		{ NULL, NULL, NULL, NULL, NULL },
		{ "http-01", can_cb, NULL, NULL, &c },
		{ NULL, NULL, NULL, NULL, NULL },
	};
	const struct acme_solver *chosen;

	(void)state;
	assert_string_equal(pick(s, 3, NULL, OFFER_DNS_HTTP, &chosen), "u/http");
	assert_ptr_equal(chosen, &s[1]);
	assert_string_equal(pick(s, 3, "dns-01", OFFER_DNS_HTTP, &chosen),
	    "acme: no dns-01 solver is configured (only http-01)");
	assert_string_equal(pick(s, 1, "http-01", OFFER_DNS_HTTP, &chosen),
	    "acme: https://ca/authz/1 needs http-01 for www.example, but no "
	    "challenge solver is configured");
}

/* ---- profiles (draft-ietf-acme-profiles) -------------------------------- */

/* Parses directory meta text into ca (zeroed, named "le"). Returns the error. */
static char *
profiles_from(struct acme_ca *ca, const char *meta)
{
	json_t	*j = json_loads(meta, 0, NULL);
	char	*err;

	assert_non_null(j);
	memset(ca, 0, sizeof(*ca));
	ca->name = "le";
	ca->directory = "https://ca.test/dir";
	err = acme_profiles_parse(ca, j);
	json_decref(j);
	return err;
}

static void
test_profile_sent_only_when_the_directory_lists_it(void **state)
{
	struct acme_ca	 ca;
	const char	*send = "x";
	char		*err;

	(void)state;
	/* names a CA sends go into logs and newOrder: bad ones are dropped */
	assert_null(profiles_from(&ca, "{\"profiles\":{\"shortlived\":\"6 days\","
	    "\"classic\":\"90 days\",\"../x\":\"\",\"a b\":\"\",\"\":\"\"}}"));
	assert_int_equal(ca.nprofiles, 2);
	assert_string_equal(ca.profiles[0], "classic");
	assert_string_equal(ca.profiles[1], "shortlived");
	assert_null(acme_profile_for_order(&ca, "www", "shortlived", &send));
	assert_string_equal(send, "shortlived");
	assert_null(acme_profile_for_order(&ca, "www", NULL, &send));
	assert_null(send);
	err = acme_profile_for_order(&ca, "www", "tlsserver", &send);
	assert_null(send);
	assert_string_equal(err, "acme: CA le (https://ca.test/dir): "
	    "certificate www asks for profile \"tlsserver\", which the "
	    "directory does not list (it lists: classic, shortlived)");
	free(err);
	acme_profiles_clear(&ca);

	/* a CA that lists none gets none, and issues its default */
	assert_null(profiles_from(&ca, "{\"termsOfService\":\"x\"}"));
	assert_int_equal(ca.nprofiles, 0);
	assert_null(acme_profile_for_order(&ca, "www", "shortlived", &send));
	assert_null(send);
	assert_int_equal(ca.profile_ignored_told, 1);
	assert_null(acme_profile_for_order(&ca, "www", "classic", &send));
	assert_null(send);
	assert_null(profiles_from(&ca, "{\"profiles\":{}}"));
	assert_null(acme_profile_for_order(&ca, "www", "shortlived", &send));
	assert_null(send);

	err = profiles_from(&ca, "{\"profiles\":[\"shortlived\"]}");
	assert_string_equal(err, "acme: https://ca.test/dir: directory "
	    "meta.profiles is no object");
	free(err);
	acme_profiles_clear(&ca);
}

/* The wants renew.c names are checked once the directory is there, then go. */
static void
test_profile_wants_are_checked_once_the_directory_is_read(void **state)
{
	struct acme_ca	 ca;

	(void)state;
	assert_null(profiles_from(&ca, "{\"profiles\":{\"classic\":\"\"}}"));
	acme_ca_want_profile(&ca, "a", "shortlived");
	acme_ca_want_profile(&ca, "b", "shortlived");
	acme_ca_want_profile(&ca, "c", "classic");
	acme_ca_want_profile(&ca, "d", NULL);
	assert_int_equal(ca.nwants, 2);
	ca.have_dir = 1;
	acme_ca_check_profiles(&ca);
	assert_int_equal(ca.nwants, 0);
	assert_null(ca.wants);
	acme_profiles_clear(&ca);
}

/* ------------------------------------------------------------------------
 * The order state machine against a scripted CA on 127.0.0.1 (plain HTTP,
 * no JWS checks): what renewd sends and how it reacts, without Pebble.
 */

#define FAKE_ORDERS	32

struct fake {
	struct event_base	*base;
	struct evhttp		*http;
	int			 port;
	char			 base_url[64];
	/* behaviour */
	int			 badnonce_every_other;	/* reject every 2nd POST */
	int			 acct_failures;		/* newAccount 403s to send */
	int			 junk_neworder;
	int			 dir_lacks_neworder;
	int			 hold_authz;		/* authz stays pending */
	int			 chall_valid;		/* the trigger's answer: valid */
	int			 authz_polls;		/* authz GETs after a trigger */
	int			 notready_finalizes;	/* orderNotReady to send */
	int			 two_authz;		/* orders for o<id> and o<id+16> */
	const char		*ari_body;		/* non-NULL: offer renewalInfo */
	size_t			 ari_pad;		/* spaces after ari_body */
	const char		*ari_retry;		/* its Retry-After */
	int			 refuse_replaces;	/* 409 alreadyReplaced */
	int			 with_replaces, without_replaces; /* newOrders */
	int			 ari_gets;
	char			 last_ari[128];
	int			 neworder_faults;	/* newOrder answers to fake: */
	int			 neworder_code;		/* this status */
	const char		*neworder_body;		/* this problem document */
	const char		*retry_after;		/* with this Retry-After */
	const char		*chall_error;		/* validation fails so */
	int			 neworders_seen;	/* faked or not */
	const char		*resume_status;		/* orders answer this until
							   finalized, */
	const char		*resume_name;		/* for this name (NULL:
							   a.example) */
	/* observations */
	int			 requests;		/* of any kind */
	int			 posts, badnonces, heads, accounts;
	int			 triggers[FAKE_ORDERS];
	int			 polls[FAKE_ORDERS];
	int			 norders, ncerts, inflight, max_inflight;
	int			 finalizes, order_polls_before_finalize;
	size_t			 tokens_seen;		/* chall_http_count at trigger */
	struct chall_http	*ch;
	char			**saved_key;		/* the account store's key */
	int			 key_saved_at_acct;	/* when newAccount came */
	char			 names[FAKE_ORDERS][2][64]; /* ordered, per order */
	const char		*authz_name;		/* non-NULL: authorizations
							   are for this name */
	int			 bad_nonce;		/* Replay-Nonce not base64url */
};

static void
fake_reply(struct evhttp_request *req, struct fake *f, int code,
    const char *ctype, const char *location, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
fake_reply(struct evhttp_request *req, struct fake *f, int code,
    const char *ctype, const char *location, const char *fmt, ...)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*b = evbuffer_new();
	char			 nonce[32];
	va_list			 ap;
	static int		 n;

	snprintf(nonce, sizeof(nonce), "%s-%d", f->bad_nonce ? "a/b" : "nonce",
	    ++n);
	evhttp_add_header(h, "Replay-Nonce", nonce);
	evhttp_add_header(h, "Content-Type", ctype);
	if (location != NULL)
		evhttp_add_header(h, "Location", location);
	va_start(ap, fmt);
	evbuffer_add_vprintf(b, fmt, ap);
	va_end(ap);
	evhttp_send_reply(req, code, "x", b);
	evbuffer_free(b);
}

#define JSON	"application/json"

/* GET /ari/<certID>: ari_body, padded with ari_pad spaces. */
static void
fake_ari(struct evhttp_request *req, struct fake *f, const char *id)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*b = evbuffer_new();
	size_t			 i;

	f->ari_gets++;
	snprintf(f->last_ari, sizeof(f->last_ari), "%s", id);
	evhttp_add_header(h, "Content-Type", JSON);
	if (f->ari_retry != NULL)
		evhttp_add_header(h, "Retry-After", f->ari_retry);
	evbuffer_add_printf(b, "%s", f->ari_body);
	for (i = 0; i < f->ari_pad; i++)
		evbuffer_add(b, " ", 1);
	evhttp_send_reply(req, 200, "x", b);
	evbuffer_free(b);
}

/* The decoded JWS payload of req, a JSON object (asserted). */
static json_t *
fake_payload(struct evhttp_request *req)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	size_t		 len = evbuffer_get_length(in), plen;
	char		*body = calloc(1, len + 1);
	unsigned char	*payload = NULL;
	json_t		*jws, *p;

	assert_non_null(body);
	evbuffer_copyout(in, body, len);
	assert_non_null(jws = json_loads(body, 0, NULL));
	payload = b64url_decode(json_string_value(json_object_get(jws,
	    "payload")), &plen);
	assert_non_null(payload);
	assert_non_null(p = json_loadb((char *)payload, plen, 0, NULL));
	free(payload);
	json_decref(jws);
	free(body);
	return p;
}

/* Counts newOrders with and without "replaces"; refuses it if told to. */
static int
fake_replaces(struct evhttp_request *req, struct fake *f, json_t *p)
{
	int has = json_is_string(json_object_get(p, "replaces"));

	if (has)
		f->with_replaces++;
	else
		f->without_replaces++;
	if (!has || !f->refuse_replaces)
		return 0;
	fake_reply(req, f, 409, "application/problem+json", NULL,
	    "{\"type\":\"urn:ietf:params:acme:error:alreadyReplaced\","
	    "\"detail\":\"replaced already\"}");
	return 1;
}

/* Keeps the first two names newOrder payload p asks for, as order id's. */
static void
fake_names(struct fake *f, json_t *p, int id)
{
	json_t	*ids = json_object_get(p, "identifiers");
	size_t	 k;

	for (k = 0; k < 2 && id < FAKE_ORDERS; k++)
		snprintf(f->names[id][k], sizeof(f->names[id][k]), "%s",
		    json_string_value(json_object_get(json_array_get(ids, k),
		    "value")) != NULL ? json_string_value(json_object_get(
		    json_array_get(ids, k), "value")) : "");
}

/* The identifier of authorization k: its order's first name (second, for
 * the second of two), as a CA echoes it. */
static const char *
fake_authz_name(struct fake *f, int k)
{
	int	 second = f->two_authz && k >= FAKE_ORDERS / 2;
	const char *n = f->names[second ? k - FAKE_ORDERS / 2 : k][second];

	if (*n == '\0')	/* a one-name order split in two: both for it */
		n = f->names[second ? k - FAKE_ORDERS / 2 : k][0];
	return f->authz_name != NULL ? f->authz_name : n;
}

static void
fake_cb(struct evhttp_request *req, void *arg)
{
	struct fake	*f = arg;
	const char	*path = evhttp_request_get_uri(req);
	const char	*u = f->base_url;
	char		 loc[128];
	int		 id = -1;
	json_t		*payload;

	f->requests++;
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		f->heads++;
		fake_reply(req, f, 200, JSON, NULL, "%s", "");
		return;
	}
	if (strcmp(path, "/dir") == 0) {
		fake_reply(req, f, 200, JSON, NULL, "{\"newNonce\":\"%s/nonce\","
		    "%s%s%s\"newAccount\":\"%s/acct\"%s%s%s}",
		    u, f->ari_body != NULL ? "\"renewalInfo\":\"" : "",
		    f->ari_body != NULL ? u : "",
		    f->ari_body != NULL ? "/ari/\"," : "", u,
		    f->dir_lacks_neworder ? "" : ",\"newOrder\":\"",
		    f->dir_lacks_neworder ? "" : u,
		    f->dir_lacks_neworder ? "" : "/order\"");
		return;
	}
	if (strncmp(path, "/ari/", 5) == 0) {
		fake_ari(req, f, path + 5);
		return;
	}
	f->posts++;
	if (f->badnonce_every_other && f->posts % 2 == 1) {
		f->badnonces++;
		fake_reply(req, f, 400, "application/problem+json", NULL,
		    "{\"type\":\"urn:ietf:params:acme:error:badNonce\"}");
		return;
	}
	sscanf(path, "/%*[a-z]/%d", &id);
	if (strcmp(path, "/acct") == 0) {
		f->accounts++;
		f->key_saved_at_acct = f->saved_key != NULL && *f->saved_key != NULL;
		if (f->acct_failures > 0) {
			f->acct_failures--;
			fake_reply(req, f, 403, "application/problem+json", NULL,
			    "{\"type\":\"urn:ietf:params:acme:error:unauthorized\","
			    "\"detail\":\"no accounts today\"}");
			return;
		}
		snprintf(loc, sizeof(loc), "%s/acct/1", u);
		fake_reply(req, f, 201, JSON, loc, "{\"status\":\"valid\"}");
	} else if (strcmp(path, "/order") == 0) {
		f->neworders_seen++;
		if (f->neworder_faults > 0) {
			f->neworder_faults--;
			if (f->retry_after != NULL)
				evhttp_add_header(evhttp_request_get_output_headers(
				    req), "Retry-After", f->retry_after);
			fake_reply(req, f, f->neworder_code,
			    "application/problem+json", NULL, "%s",
			    f->neworder_body);
			return;
		}
		if (f->junk_neworder) {
			fake_reply(req, f, 201, JSON, NULL, "{junk");
			return;
		}
		payload = fake_payload(req);
		if (fake_replaces(req, f, payload)) {
			json_decref(payload);
			return;
		}
		id = f->norders++;
		fake_names(f, payload, id);
		json_decref(payload);
		if (++f->inflight > f->max_inflight)
			f->max_inflight = f->inflight;
		snprintf(loc, sizeof(loc), "%s/order/%d", u, id);
		if (f->two_authz)
			fake_reply(req, f, 201, JSON, loc, "{\"status\":"
			    "\"pending\",\"authorizations\":[\"%s/authz/%d\","
			    "\"%s/authz/%d\"],\"finalize\":\"%s/finalize/%d\"}",
			    u, id, u, id + FAKE_ORDERS / 2, u, id);
		else
			fake_reply(req, f, 201, JSON, loc, "{\"status\":"
			    "\"pending\",\"authorizations\":[\"%s/authz/%d\"],"
			    "\"finalize\":\"%s/finalize/%d\"}", u, id, u, id);
	} else if (strncmp(path, "/authz/", 7) == 0 && id >= 0 && id < FAKE_ORDERS) {
		const char *st = "pending", *cst = "pending";

		if (f->chall_error != NULL && f->triggers[id] > 0) {
			fake_reply(req, f, 200, JSON, NULL, "{\"status\":"
			    "\"invalid\",\"identifier\":{\"type\":\"dns\","
			    "\"value\":\"%s\"},\"challenges\":[{\"type\":"
			    "\"http-01\",\"url\":\"%s/chall/%d\",\"token\":"
			    "\"tok-%d\",\"status\":\"invalid\",\"error\":{"
			    "\"type\":\"%s\",\"detail\":\"no\"}}]}",
			    fake_authz_name(f, id), u, id,
			    id, f->chall_error);
			return;
		}
		f->authz_polls += f->triggers[id] > 0;
		if (f->triggers[id] > 0 && !f->hold_authz &&
		    f->polls[id]++ > 0)
			st = cst = "valid";
		else if (f->triggers[id] > 0)
			cst = "processing";
		fake_reply(req, f, 200, JSON, NULL, "{\"status\":\"%s\","
		    "\"identifier\":{\"type\":\"dns\",\"value\":\"%s\"},"
		    "\"challenges\":[{\"type\":\"dns-01\",\"url\":\"%s/chall/%d\","
		    "\"token\":\"x\",\"status\":\"pending\"},"
		    "{\"type\":\"http-01\",\"url\":\"%s/chall/%d\",\"token\":"
		    "\"tok-%d\",\"status\":\"%s\"}]}", st,
		    fake_authz_name(f, id), u,
		    f->two_authz ? id : 0, u, id, id, cst);
	} else if (strncmp(path, "/chall/", 7) == 0 && id >= 0 && id < FAKE_ORDERS) {
		f->triggers[id]++;
		f->tokens_seen = chall_http_count(f->ch);
		fake_reply(req, f, 200, JSON, NULL, "{\"status\":\"%s\"}",
		    f->chall_valid ? "valid" : "processing");
	} else if (strncmp(path, "/order/", 7) == 0 && id >= 0 &&
	    f->resume_status != NULL && f->finalizes == 0) {
		fake_reply(req, f, 200, JSON, NULL, "{\"status\":\"%s\","
		    "\"identifiers\":[{\"type\":\"dns\",\"value\":\"%s\"}],"
		    "\"finalize\":\"%s/finalize/%d\",\"certificate\":"
		    "\"%s/cert/%d\"}", f->resume_status, f->resume_name != NULL ?
		    f->resume_name : "a.example", u, id, u, id);
	} else if (strncmp(path, "/order/", 7) == 0 && id >= 0) {
		if (f->finalizes == 0)
			f->order_polls_before_finalize++;
		fake_reply(req, f, 200, JSON, NULL, f->polls[id] > 2 ?
		    "{\"status\":\"valid\",\"certificate\":\"%s/cert/%d\"}" :
		    "{\"status\":\"ready\"}", u, id);
		f->polls[id]++;
	} else if (strncmp(path, "/finalize/", 10) == 0 && id >= 0) {
		f->finalizes++;
		if (f->notready_finalizes > 0) {
			f->notready_finalizes--;
			fake_reply(req, f, 403, "application/problem+json", NULL,
			    "{\"type\":\"urn:ietf:params:acme:error:orderNotReady\","
			    "\"detail\":\"not yet\"}");
			return;
		}
		fake_reply(req, f, 200, JSON, NULL, "{\"status\":\"processing\"}");
	} else if (strncmp(path, "/cert/", 6) == 0 && id >= 0) {
		f->ncerts++;
		f->inflight--;
		fake_reply(req, f, 200, "application/pem-certificate-chain", NULL,
		    "-----BEGIN CERTIFICATE-----\nY2VydCAlZA==\n"
		    "-----END CERTIFICATE-----\n");
	} else
		fake_reply(req, f, 404, "text/plain", NULL, "no %s", path);
}

/* Account storage in memory (renew.c keeps it in the state directory). */
struct mem_accounts {
	char		*key_pem;
	char		*url;
	int		 key_saves, url_saves;
	struct sched_holds holds;	/* what the last save_holds kept */
	int		 holds_saves;
};

static int
mem_load(void *arg, const char *ca, char **key_pem, char **url)
{
	struct mem_accounts *m = arg;

	if (m->key_pem == NULL)
		return 0;
	*key_pem = strdup(m->key_pem);
	*url = m->url != NULL ? strdup(m->url) : NULL;
	return 1;
}

static int
mem_save_key(void *arg, const char *ca, const char *key_pem, size_t len)
{
	struct mem_accounts *m = arg;

	free(m->key_pem);
	m->key_pem = strndup(key_pem, len);
	m->key_saves++;
	return 0;
}

static int
mem_save_url(void *arg, const char *ca, const char *url)
{
	struct mem_accounts *m = arg;

	free(m->url);
	m->url = strdup(url);
	m->url_saves++;
	return 0;
}

/* Copies holds from into the zeroed to. */
static void
mem_holds_copy(struct sched_holds *to, const struct sched_holds *from)
{
	size_t	i;

	to->orders_until = from->orders_until;
	for (i = 0; i < from->nurls; i++) {
		to->urls[i].url = strdup(from->urls[i].url);
		to->urls[i].until = from->urls[i].until;
	}
	to->nurls = from->nurls;
}

static void
mem_load_holds(void *arg, const char *ca, struct sched_holds *h)
{
	struct mem_accounts *m = arg;

	mem_holds_copy(h, &m->holds);
}

static void
mem_save_holds(void *arg, const char *ca, const struct sched_holds *h)
{
	struct mem_accounts *m = arg;

	sched_holds_clear(&m->holds);
	mem_holds_copy(&m->holds, h);
	m->holds_saves++;
}

static char *
mem_key_path(void *arg, const char *ca)
{
	char *p;

	assert_true(asprintf(&p, "memory:%s/account.key", ca) != -1);
	return p;
}

struct env {
	struct fake		 f;
	struct http_client	*hc;
	struct mem_accounts	 accounts;
	struct chall_http	*ch;
	struct acme_solver	 solvers[4];
	size_t			 nsolvers;
	struct acme_ca		*ca;
	struct crypto_key	*key;
	char			 dir[96];
	int			 pending;
	int			 require_https;	/* as renewd runs: no allow_http */
};

struct result {
	struct env	*e;
	int		 called;
	char		*pem;
	char		*error;
	struct acme_failure fail;	/* its strings are not kept */
	char		*url;		/* what on_url reported */
	int		 url_finalizes;	/* finalizes the CA had seen by then */
};

/* acme_order_url_cb */
static void
url_cb(void *arg, const char *url)
{
	struct result *r = arg;

	assert_null(r->url);	/* once */
	r->url = strdup(url);
	r->url_finalizes = r->e->f.finalizes;
}

static void
order_cb(void *arg, const char *pem, size_t len, const char *error,
    const struct acme_failure *fail)
{
	struct result *r = arg;

	r->called++;
	assert_true((error == NULL) == (fail == NULL));
	if (fail != NULL) {
		r->fail = *fail;
		r->fail.problem = r->fail.url = NULL;
	}
	r->pem = pem != NULL ? strndup(pem, len) : NULL;
	r->error = error != NULL ? strdup(error) : NULL;
	if (--r->e->pending == 0)
		event_base_loopbreak(r->e->f.base);
}

static int
env_setup(void **state)
{
	struct env		*e = calloc(1, sizeof(*e));
	struct evhttp_bound_socket *bs;
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	char			 err[256];
	char			*listen[] = { "127.0.0.1:0" };

	assert_non_null(e);
	log_init(getenv("TEST_DEBUG") != NULL ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	assert_non_null(e->f.base = event_base_new());
	assert_non_null(e->f.http = evhttp_new(e->f.base));
	evhttp_set_allowed_methods(e->f.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD);
	evhttp_set_gencb(e->f.http, fake_cb, &e->f);
	assert_non_null(bs = evhttp_bind_socket_with_handle(e->f.http,
	    "127.0.0.1", 0));
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs),
	    (struct sockaddr *)&sin, &sl), 0);
	snprintf(e->f.base_url, sizeof(e->f.base_url), "http://127.0.0.1:%d",
	    ntohs(sin.sin_port));
	snprintf(e->dir, sizeof(e->dir), "%s/dir", e->f.base_url);
	assert_non_null(e->hc = http_client_new(e->f.base, "test_acme"));
	assert_non_null(e->ch = chall_http_new(e->f.base, listen, 1, err,
	    sizeof(err)));
	e->f.ch = e->ch;
	e->f.saved_key = &e->accounts.key_pem;
	chall_http_solver(e->ch, &e->solvers[0]);
	e->nsolvers = 1;
	assert_non_null(e->key = crypto_key_generate(KEY_EC_P256));
	*state = e;
	return 0;
}

static int
env_teardown(void **state)
{
	struct env	*e = *state;

	acme_ca_free(e->ca);
	chall_http_free(e->ch);
	http_client_free(e->hc);
	crypto_key_free(e->key);
	evhttp_free(e->f.http);
	event_base_free(e->f.base);
	free(e->accounts.key_pem);
	free(e->accounts.url);
	sched_holds_clear(&e->accounts.holds);
	free(e);
	return 0;
}

static struct acme_ca *
env_ca(struct env *e, unsigned max)
{
	struct acme_env	 env = { e->f.base, e->hc, { .load = mem_load,
	    .save_key = mem_save_key, .save_url = mem_save_url,
	    .key_path = mem_key_path, .load_holds = mem_load_holds,
	    .save_holds = mem_save_holds, .arg = &e->accounts }, e->solvers,
	    e->nsolvers, !e->require_https, NULL };
	char		*contact[] = { "mailto:ops@example.com" };
	struct conf_ca	 cfg = { .name = "fake", .directory = e->dir,
	    .contact = { contact, 1 }, .max_concurrent_orders = max };

	assert_non_null(e->ca = acme_ca_new(&env, &cfg));
	assert_string_equal(acme_ca_name(e->ca), "fake");
	return e->ca;
}

/* Starts req, with order_cb reporting into r. */
static struct acme_order *
env_start(struct env *e, struct result *r, const struct acme_order_req *req)
{
	struct acme_order *o;

	memset(r, 0, sizeof(*r));
	r->e = e;
	assert_non_null(o = acme_order_start(e->ca, req, order_cb, r));
	e->pending++;
	return o;
}

static struct acme_order *
env_order(struct env *e, struct result *r, const char *name)
{
	static char		*domains[] = { "a.example", "b.example" };
	struct acme_order_req	 req = { name, domains, 2, e->key, "http-01", NULL,
	    NULL, NULL, NULL };

	return env_start(e, r, &req);
}

static void
env_run(struct env *e)
{
	struct timeval tv = { 8, 0 };	/* a stalled machine fails, not hangs */

	event_base_loopexit(e->f.base, &tv);
	event_base_dispatch(e->f.base);
	assert_int_equal(e->pending, 0);
}

static void
result_clear(struct result *r)
{
	free(r->pem);
	free(r->error);
	free(r->url);
	r->pem = r->error = r->url = NULL;
}

static void
test_order_completes_with_every_other_nonce_rejected(void **state)
{
	struct env	*e = *state;
	struct result	 r;

	env_ca(e, 8);
	e->f.badnonce_every_other = 1;
	env_order(e, &r, "www");
	/* nothing happens before the loop runs: no callback from inside start */
	assert_int_equal(r.called, 0);
	assert_int_equal(acme_ca_orders(e->ca), 1);
	env_run(e);
	assert_int_equal(r.called, 1);
	assert_null(r.error);
	assert_non_null(r.pem);
	assert_non_null(strstr(r.pem, "-----BEGIN CERTIFICATE-----"));
	/* each POST was rejected once and retried once */
	assert_true(e->f.badnonces > 5);
	assert_int_equal(e->f.posts, 2 * e->f.badnonces);
	/* the challenge was triggered once, with its token published then */
	assert_int_equal(e->f.triggers[0], 1);
	assert_int_equal(e->f.tokens_seen, 1);
	assert_int_equal(chall_http_count(e->ch), 0);
	assert_int_equal(acme_ca_orders(e->ca), 0);
	assert_int_equal(http_pending(e->hc), 0);
	result_clear(&r);
}

static void
test_account_failure_fails_waiting_orders_then_retries(void **state)
{
	struct env	*e = *state;
	struct result	 r1, r2, r3;

	env_ca(e, 8);
	e->f.acct_failures = 1;
	env_order(e, &r1, "one");
	env_order(e, &r2, "two");
	env_run(e);
	assert_non_null(r1.error);
	assert_non_null(r2.error);
	assert_string_equal(r1.error, r2.error);
	assert_non_null(strstr(r1.error, "/acct: urn:ietf:params:acme:error:"
	    "unauthorized: no accounts today"));
	assert_int_equal(e->f.accounts, 1);
	/* the next order sets the account up again, and succeeds */
	env_order(e, &r3, "three");
	env_run(e);
	assert_null(r3.error);
	assert_non_null(r3.pem);
	assert_int_equal(e->f.accounts, 2);
	result_clear(&r1);
	result_clear(&r2);
	result_clear(&r3);
}

static void
test_malformed_neworder_fails_naming_the_url(void **state)
{
	struct env	*e = *state;
	struct result	 r;
	char		 want[256];

	env_ca(e, 8);
	e->f.junk_neworder = 1;
	env_order(e, &r, "junk");
	env_run(e);
	assert_non_null(r.error);
	snprintf(want, sizeof(want), "acme: %s/order: malformed JSON response",
	    e->f.base_url);
	assert_non_null(strstr(r.error, want));
	result_clear(&r);
}

static void
test_directory_without_neworder_is_a_clear_error(void **state)
{
	struct env	*e = *state;
	struct result	 r;
	char		 want[256];

	env_ca(e, 8);
	e->f.dir_lacks_neworder = 1;
	env_order(e, &r, "nodir");
	env_run(e);
	snprintf(want, sizeof(want), "acme: %s: directory lacks \"newOrder\"",
	    e->dir);
	assert_non_null(r.error);
	assert_string_equal(r.error, want);
	result_clear(&r);
}

/* A revocation's answer, into a struct result (its error only). */
static void
revoke_cb(void *arg, const char *error)
{
	struct result *r = arg;

	r->called++;
	r->error = error != NULL ? strdup(error) : NULL;
	if (--r->e->pending == 0)
		event_base_loopbreak(r->e->f.base);
}

static void
env_revoke(struct env *e, struct result *r)
{
	memset(r, 0, sizeof(*r));
	r->e = e;
	/* the certificate's DER is the CA's business: none is sent here */
	assert_non_null(acme_revoke_start(e->ca, "www", "MIIB", 1, NULL,
	    revoke_cb, r));
	e->pending++;
}

/*
 * A revocation waits for the account like an order, fails with the
 * account's error, and then with a clear one for a directory that names
 * no revokeCert; nothing is called back from inside the start.
 */
static void
test_revocation_waits_for_the_account(void **state)
{
	struct env	*e = *state;
	struct result	 r;
	char		 want[256];

	env_ca(e, 8);
	e->f.acct_failures = 1;
	env_revoke(e, &r);
	assert_int_equal(r.called, 0);
	env_run(e);
	assert_int_equal(r.called, 1);
	assert_non_null(r.error);
	assert_non_null(strstr(r.error, "/acct: urn:ietf:params:acme:error:"
	    "unauthorized: no accounts today"));
	result_clear(&r);
	env_revoke(e, &r);
	env_run(e);
	assert_int_equal(e->f.accounts, 2);
	snprintf(want, sizeof(want), "acme: %s: the directory of CA fake has "
	    "no revokeCert", e->dir);
	assert_non_null(r.error);
	assert_string_equal(r.error, want);
	result_clear(&r);
}

/* A CA client freed (a reload) tells a pending revocation, not forgets it. */
static void
test_freeing_the_ca_fails_a_pending_revocation(void **state)
{
	struct env	*e = *state;
	struct result	 r;

	env_ca(e, 8);
	env_revoke(e, &r);
	acme_ca_free(e->ca);
	e->ca = NULL;
	assert_int_equal(r.called, 1);
	assert_non_null(r.error);
	assert_non_null(strstr(r.error, "CA fake: the client went away"));
	result_clear(&r);
}

static void
test_plain_http_ca_gets_no_request(void **state)
{
	struct env	*e = *state;
	struct result	 r;
	char		 want[512];

	e->require_https = 1;
	env_ca(e, 8);
	env_order(e, &r, "cleartext");
	env_run(e);
	snprintf(want, sizeof(want), "acme: CA fake (%s): directory \"%s\" is "
	    "not an https:// URL; nothing is sent to it", e->dir, e->dir);
	assert_non_null(r.error);
	assert_string_equal(r.error, want);
	assert_int_equal(e->f.requests, 0);
	result_clear(&r);
}

static void
test_concurrency_limit_queues_orders_fifo(void **state)
{
	struct env	*e = *state;
	struct result	 r[6];
	int		 i;

	env_ca(e, 2);
	for (i = 0; i < 6; i++)
		env_order(e, &r[i], "many");
	assert_int_equal(acme_ca_orders(e->ca), 6);
	env_run(e);
	for (i = 0; i < 6; i++) {
		assert_int_equal(r[i].called, 1);
		assert_null(r[i].error);
		result_clear(&r[i]);
	}
	assert_int_equal(e->f.ncerts, 6);
	assert_int_equal(e->f.max_inflight, 2);
	assert_int_equal(acme_ca_orders(e->ca), 0);
}

static void
cancel_soon(evutil_socket_t fd, short what, void *arg)
{
	struct env *e = arg;

	event_base_loopbreak(e->f.base);
}

static void
test_cancel_and_free_mid_flight_withdraw_tokens(void **state)
{
	struct env		*e = *state;
	struct result		 r1, r2;
	struct acme_order	*o1;
	struct event		*ev;
	struct timeval		 tv = { 0, 5000 };
	int			 i;

	env_ca(e, 8);
	e->f.hold_authz = 1;		/* validation never finishes */
	o1 = env_order(e, &r1, "cancelled");
	env_order(e, &r2, "freed");
	assert_non_null(ev = evtimer_new(e->f.base, cancel_soon, e));
	/* run until both challenges are triggered (tokens published) */
	for (i = 0; i < 400 && (e->f.triggers[0] == 0 || e->f.triggers[1] == 0);
	    i++) {
		evtimer_add(ev, &tv);
		event_base_dispatch(e->f.base);
	}
	assert_int_equal(e->f.triggers[0] + e->f.triggers[1], 2);
	assert_int_equal(chall_http_count(e->ch), 2);
	acme_order_cancel(o1);
	assert_int_equal(chall_http_count(e->ch), 1);
	assert_int_equal(acme_ca_orders(e->ca), 1);
	acme_ca_free(e->ca);
	e->ca = NULL;
	assert_int_equal(chall_http_count(e->ch), 0);
	assert_int_equal(http_pending(e->hc), 0);
	/* neither callback ran, and nothing fires later */
	tv.tv_usec = 100000;
	evtimer_add(ev, &tv);
	event_base_dispatch(e->f.base);
	assert_int_equal(r1.called + r2.called, 0);
	event_free(ev);
}

static void
test_unimplemented_challenge_type_fails_clearly(void **state)
{
	struct env		*e = *state;
	struct result		 r;
	char			*domains[] = { "a.example" };
	struct acme_order_req	 req = { "dns", domains, 1, e->key, "dns-01", NULL,
	    NULL, NULL, NULL };

	env_ca(e, 8);
	memset(&r, 0, sizeof(r));
	r.e = e;
	assert_non_null(acme_order_start(e->ca, &req, order_cb, &r));
	e->pending++;
	env_run(e);
	assert_non_null(r.error);
	assert_string_equal(r.error,
	    "acme: no dns-01 solver is configured (only http-01)");
	assert_int_equal(chall_http_count(e->ch), 0);
	result_clear(&r);
}

static void
test_finalizes_as_soon_as_authorizations_are_valid(void **state)
{
	struct env	*e = *state;
	struct result	 r;

	env_ca(e, 8);
	env_order(e, &r, "quick");
	env_run(e);
	assert_null(r.error);
	assert_non_null(r.pem);
	/* no poll for "ready" between the last valid authorization and finalize */
	assert_int_equal(e->f.order_polls_before_finalize, 0);
	assert_int_equal(e->f.finalizes, 1);
	free(r.pem);
}

/* RFC 8555 7.1.6: a challenge valid at its trigger makes the authorization valid */
static void
test_challenge_valid_at_trigger_needs_no_poll(void **state)
{
	struct env	*e = *state;
	struct result	 r;

	e->f.chall_valid = 1;
	env_ca(e, 8);
	env_order(e, &r, "quick");
	env_run(e);
	assert_null(r.error);
	assert_non_null(r.pem);
	assert_int_equal(e->f.authz_polls, 0);
	assert_int_equal(e->f.finalizes, 1);
	free(r.pem);
}

static void
test_order_not_ready_at_finalize_waits_for_ready(void **state)
{
	struct env	*e = *state;
	struct result	 r;

	e->f.notready_finalizes = 1;
	env_ca(e, 8);
	env_order(e, &r, "lagging");
	env_run(e);
	assert_null(r.error);
	assert_non_null(r.pem);
	/* the order was polled after orderNotReady, then finalized again */
	assert_int_equal(e->f.finalizes, 2);
	free(r.pem);
	free(r.error);
}

static void
test_order_not_ready_twice_fails_with_the_problem(void **state)
{
	struct env	*e = *state;
	struct result	 r;

	e->f.notready_finalizes = 2;
	env_ca(e, 8);
	env_order(e, &r, "stuck");
	env_run(e);
	assert_null(r.pem);
	assert_non_null(r.error);
	assert_non_null(strstr(r.error, "orderNotReady"));
	assert_non_null(strstr(r.error, "/finalize/"));
	free(r.error);
}

/* Callbacks that reach back into the CA: what renew.c does on failover. */
struct reentry {
	struct env		*e;
	struct result		 r;
	struct acme_order	*victim;	/* cancelled from the callback */
	struct result		*next;		/* started from the callback */
	int			 free_ca;	/* acme_ca_free from the callback */
};

static void
reentry_cb(void *arg, const char *pem, size_t len, const char *error,
    const struct acme_failure *fail)
{
	struct reentry *x = arg;

	order_cb(&x->r, pem, len, error, fail);
	if (x->victim != NULL) {
		acme_order_cancel(x->victim);
		x->e->pending--;
	}
	if (x->next != NULL)
		env_order(x->e, x->next, "started-from-callback");
	if (x->free_ca) {
		acme_ca_free(x->e->ca);
		x->e->ca = NULL;
		x->e->pending = 0;
		event_base_loopbreak(x->e->f.base);
	}
}

static struct acme_order *
reentry_order(struct env *e, struct reentry *x)
{
	static char		*domains[] = { "a.example" };
	struct acme_order_req	 req = { "reentry", domains, 1, e->key,
	    "http-01", NULL, NULL, NULL, NULL };
	struct acme_order	*o;

	x->e = e;
	x->r.e = e;
	assert_non_null(o = acme_order_start(e->ca, &req, reentry_cb, x));
	e->pending++;
	return o;
}

static void
test_callback_may_cancel_a_queued_order_and_start_another(void **state)
{
	struct env	*e = *state;
	struct reentry	 x;
	struct result	 victim, next;

	memset(&x, 0, sizeof(x));
	env_ca(e, 1);			/* the second order waits in the queue */
	reentry_order(e, &x);
	x.victim = env_order(e, &victim, "victim");
	x.next = &next;
	env_run(e);
	assert_int_equal(x.r.called, 1);
	assert_null(x.r.error);
	assert_int_equal(victim.called, 0);
	assert_int_equal(next.called, 1);
	assert_null(next.error);
	assert_non_null(next.pem);
	assert_int_equal(e->f.ncerts, 2);
	assert_int_equal(acme_ca_orders(e->ca), 0);
	assert_int_equal(chall_http_count(e->ch), 0);
	result_clear(&x.r);
	result_clear(&next);
}

static void
test_callback_may_free_the_ca_with_orders_in_flight(void **state)
{
	struct env	*e = *state;
	struct reentry	 x;
	struct result	 others[3];
	struct event	*ev;
	struct timeval	 tv = { 0, 200000 };
	int		 i;

	memset(&x, 0, sizeof(x));
	env_ca(e, 1);			/* FIFO: the first order ends first */
	e->f.junk_neworder = 1;		/* and fails at once, with the next one
					   in flight and two queued */
	reentry_order(e, &x);
	x.free_ca = 1;
	for (i = 0; i < 3; i++)
		env_order(e, &others[i], "others");
	env_run(e);
	assert_int_equal(x.r.called, 1);
	assert_non_null(x.r.error);
	assert_null(e->ca);
	assert_int_equal(http_pending(e->hc), 0);
	assert_int_equal(chall_http_count(e->ch), 0);
	/* the others are gone without a word, and nothing fires later */
	assert_non_null(ev = evtimer_new(e->f.base, cancel_soon, e));
	evtimer_add(ev, &tv);
	event_base_dispatch(e->f.base);
	event_free(ev);
	for (i = 0; i < 3; i++)
		assert_int_equal(others[i].called, 0);
	result_clear(&x.r);
}

/* A solver for other types that the fake CA offers: records what it is told. */
struct fake_solver {
	struct env		*e;
	int			 accept, async;
	int			 cans, publishes, withdraws, dones;
	int			 triggers_at_done;
	struct event		*ev;
	acme_solver_done	 done;
	void			*ctx;
	char			 id[128], token[64], keyauth[512], digest[64];
};

static int
fs_can(void *arg, const char *id_type, const char *id_value)
{
	struct fake_solver *fs = arg;

	fs->cans++;
	return fs->accept;
}

static void
fs_fire(evutil_socket_t fd, short what, void *arg)
{
	struct fake_solver *fs = arg;

	fs->dones++;
	fs->triggers_at_done = fs->e->f.triggers[0];
	fs->done(fs->ctx, NULL);
}

static int
fs_publish(void *arg, const struct acme_challenge *c, acme_solver_done done,
    void *ctx)
{
	struct fake_solver	*fs = arg;
	struct timeval		 tv = { 0, 20000 };

	fs->publishes++;
	snprintf(fs->id, sizeof(fs->id), "%s %s:%s", c->type, c->id_type,
	    c->id_value);
	snprintf(fs->token, sizeof(fs->token), "%s", c->token);
	snprintf(fs->keyauth, sizeof(fs->keyauth), "%s", c->keyauth);
	snprintf(fs->digest, sizeof(fs->digest), "%s",
	    c->digest != NULL ? c->digest : "(none)");
	if (!fs->async)
		return 0;
	fs->done = done;
	fs->ctx = ctx;
	if (fs->async == 1)	/* 2: never done, until withdrawn */
		evtimer_add(fs->ev, &tv);
	return 1;
}

static void
fs_withdraw(void *arg, const struct acme_challenge *c)
{
	struct fake_solver *fs = arg;

	fs->withdraws++;
	assert_string_equal(c->token, fs->token);
	evtimer_del(fs->ev);	/* an abandoned publish never calls done */
}

/* Puts fs in e's solver list at i, answering type. */
static void
fs_init(struct fake_solver *fs, struct env *e, size_t i, const char *type,
    int accept, int async)
{
	memset(fs, 0, sizeof(*fs));
	fs->e = e;
	fs->accept = accept;
	fs->async = async;
	assert_non_null(fs->ev = evtimer_new(e->f.base, fs_fire, fs));
	e->solvers[i] = (struct acme_solver){ type, fs_can, fs_publish,
	    fs_withdraw, fs };
	if (e->nsolvers < i + 1)
		e->nsolvers = i + 1;
}

static struct acme_order *
order_of_type(struct env *e, struct result *r, const char *challenge)
{
	static char		*domains[] = { "a.example" };
	struct acme_order_req	 req = { "typed", domains, 1, e->key,
	    challenge, NULL, NULL, NULL, NULL };

	return env_start(e, r, &req);
}

static void
test_any_type_skips_a_solver_that_declines(void **state)
{
	struct env		*e = *state;
	struct fake_solver	 dns;
	struct result		 r;

	e->solvers[1] = e->solvers[0];	/* http-01 second */
	e->nsolvers = 2;
	fs_init(&dns, e, 0, "dns-01", 0, 0);
	env_ca(e, 8);
	order_of_type(e, &r, NULL);
	env_run(e);
	if (r.error != NULL)
		fail_msg("%s", r.error);
	assert_non_null(r.pem);
	/* dns-01 came first and was asked, declined; http-01 answered */
	assert_int_equal(dns.cans, 1);
	assert_int_equal(dns.publishes, 0);
	assert_int_equal(e->f.tokens_seen, 1);
	assert_int_equal(chall_http_count(e->ch), 0);
	event_free(dns.ev);
	result_clear(&r);
}

static void
test_no_solver_fails_naming_the_identifier(void **state)
{
	struct env	*e = *state;
	struct result	 r;

	e->nsolvers = 0;
	env_ca(e, 8);
	order_of_type(e, &r, "http-01");
	env_run(e);
	assert_null(r.pem);
	assert_non_null(r.error);
	assert_non_null(strstr(r.error, "needs http-01 for a.example, but no "
	    "challenge solver is configured"));
	assert_int_equal(e->f.triggers[0], 0);
	result_clear(&r);
}

/* A CA's authorization for a name the order did not ask for: nothing published. */
static void
test_an_authorization_for_another_name_is_refused(void **state)
{
	struct env	*e = *state;
	struct result	 r;

	e->f.authz_name = "evil.example";
	env_ca(e, 8);
	order_of_type(e, &r, "http-01");
	env_run(e);
	assert_null(r.pem);
	assert_non_null(r.error);
	assert_non_null(strstr(r.error, "acme: CA fake: "));
	assert_non_null(strstr(r.error, "/authz/0: the authorization is for "
	    "dns \"evil.example\", which the order for typed did not ask for"));
	assert_int_equal(e->f.triggers[0], 0);
	assert_int_equal(chall_http_count(e->f.ch), 0);
	result_clear(&r);
}

/* A Replay-Nonce that is no base64url is never signed into a request. */
static void
test_a_nonce_that_is_no_base64url_is_refused(void **state)
{
	struct env	*e = *state;
	struct result	 r;

	e->f.bad_nonce = 1;
	env_ca(e, 8);
	env_order(e, &r, "n");
	env_run(e);
	assert_null(r.pem);
	assert_non_null(r.error);
	assert_non_null(strstr(r.error, "acme: CA fake: "));
	assert_non_null(strstr(r.error, "/nonce: the Replay-Nonce is not "
	    "base64url of at most 256 characters"));
	assert_int_equal(e->f.posts, 0);
	result_clear(&r);
}

static void
test_dns01_solver_gets_the_digest_and_finishes_before_the_trigger(void **state)
{
	struct env		*e = *state;
	struct fake_solver	 dns;
	struct result		 r;
	char			 want[512], *digest;

	fs_init(&dns, e, 1, "dns-01", 1, 1);
	env_ca(e, 8);
	order_of_type(e, &r, "dns-01");
	env_run(e);
	assert_null(r.error);
	assert_non_null(r.pem);
	assert_int_equal(dns.publishes, 1);
	assert_string_equal(dns.id, "dns-01 dns:a.example");
	assert_string_equal(dns.token, "x");
	snprintf(want, sizeof(want), "x.%s", e->ca->thumbprint);
	assert_string_equal(dns.keyauth, want);
	assert_non_null(digest = crypto_sha256_b64url(want, strlen(want)));
	assert_string_equal(dns.digest, digest);
	free(digest);
	/* the challenge was triggered only once the solver said it was done */
	assert_int_equal(dns.dones, 1);
	assert_int_equal(dns.triggers_at_done, 0);
	assert_int_equal(e->f.triggers[0], 1);
	assert_int_equal(dns.withdraws, 1);
	event_free(dns.ev);
	result_clear(&r);
}

/* Two answers, the second much slower: records what the CA saw at each done. */
struct slow_solver {
	struct env		*e;
	int			 publishes, withdraws;
	int			 triggers_at_done[2];
	int			 ndone;
	struct event		*ev[2];
	acme_solver_done	 done[2];
	void			*ctx[2];
};

static void
slow_fire(evutil_socket_t fd, short what, void *arg)
{
	struct slow_solver	*ss = arg;
	int			 i = ss->ndone++;

	ss->triggers_at_done[i] = ss->e->f.triggers[0] +
	    ss->e->f.triggers[FAKE_ORDERS / 2];
	ss->done[i](ss->ctx[i], NULL);
}

static int
slow_publish(void *arg, const struct acme_challenge *c, acme_solver_done done,
    void *ctx)
{
	struct slow_solver	*ss = arg;
	struct timeval		 tv = { 0, ss->publishes == 0 ? 5000 : 200000 };
	int			 i = ss->publishes++;

	assert_true(i < 2);
	ss->done[i] = done;
	ss->ctx[i] = ctx;
	evtimer_add(ss->ev[i], &tv);
	return 1;
}

static void
slow_withdraw(void *arg, const struct acme_challenge *c)
{
	struct slow_solver *ss = arg;

	ss->withdraws++;
}

static void
test_no_challenge_is_triggered_before_every_answer_is_published(void **state)
{
	struct env		*e = *state;
	struct slow_solver	 ss;
	struct result		 r;
	int			 i;

	memset(&ss, 0, sizeof(ss));
	ss.e = e;
	for (i = 0; i < 2; i++)
		assert_non_null(ss.ev[i] = evtimer_new(e->f.base, slow_fire,
		    &ss));
	e->solvers[0] = (struct acme_solver){ "dns-01", NULL, slow_publish,
	    slow_withdraw, &ss };
	e->f.two_authz = 1;
	env_ca(e, 8);
	order_of_type(e, &r, "dns-01");
	env_run(e);
	if (r.error != NULL)
		fail_msg("%s", r.error);
	assert_int_equal(ss.publishes, 2);
	/* the quick answer waited for the slow one: nothing triggered before */
	assert_int_equal(ss.triggers_at_done[0], 0);
	assert_int_equal(ss.triggers_at_done[1], 0);
	assert_int_equal(e->f.triggers[0], 1);
	assert_int_equal(e->f.triggers[FAKE_ORDERS / 2], 1);
	assert_int_equal(ss.withdraws, 2);
	for (i = 0; i < 2; i++)
		event_free(ss.ev[i]);
	result_clear(&r);
}

static void
test_cancel_while_a_solver_publishes_withdraws_it(void **state)
{
	struct env		*e = *state;
	struct fake_solver	 dns;
	struct result		 r;
	struct acme_order	*o;
	struct event		*ev;
	struct timeval		 tv = { 0, 5000 };
	int			 i;

	fs_init(&dns, e, 1, "dns-01", 1, 2);
	env_ca(e, 8);
	o = order_of_type(e, &r, "dns-01");
	assert_non_null(ev = evtimer_new(e->f.base, cancel_soon, e));
	for (i = 0; i < 400 && dns.publishes == 0; i++) {
		evtimer_add(ev, &tv);
		event_base_dispatch(e->f.base);
	}
	assert_int_equal(dns.publishes, 1);
	acme_order_cancel(o);
	assert_int_equal(dns.withdraws, 1);
	assert_int_equal(dns.dones, 0);
	assert_int_equal(e->f.triggers[0], 0);
	assert_int_equal(r.called, 0);
	event_free(ev);
	event_free(dns.ev);
}

static void
test_account_key_saved_before_registering_then_reused(void **state)
{
	struct env	*e = *state;
	struct result	 r;

	env_ca(e, 8);
	env_order(e, &r, "first");
	env_run(e);
	assert_null(r.error);
	assert_int_equal(e->f.accounts, 1);
	assert_true(e->f.key_saved_at_acct);
	assert_int_equal(e->accounts.key_saves, 1);
	assert_int_equal(e->accounts.url_saves, 1);
	assert_non_null(strstr(e->accounts.url, "/acct/1"));
	result_clear(&r);
	/* a new client finds key and URL: no newAccount at all */
	acme_ca_free(e->ca);
	env_ca(e, 8);
	env_order(e, &r, "second");
	env_run(e);
	assert_null(r.error);
	assert_non_null(r.pem);
	assert_int_equal(e->f.accounts, 1);
	assert_int_equal(e->accounts.key_saves, 1);
	result_clear(&r);
}

static void
test_unreadable_account_key_names_where_it_is(void **state)
{
	struct env	*e = *state;
	struct result	 r;

	e->accounts.key_pem = strdup("garbage");
	env_ca(e, 8);
	env_order(e, &r, "badkey");
	env_run(e);
	assert_non_null(r.error);
	assert_non_null(strstr(r.error, "the stored account key "
	    "memory:fake/account.key is unreadable"));
	assert_int_equal(e->f.accounts, 0);
	assert_string_equal(e->accounts.key_pem, "garbage");
	result_clear(&r);
}

/* ---- renewal information (RFC 9773) and "replaces" ------------------------ */

struct ari_result {
	struct env		*e;
	int			 called;
	enum acme_ari_result	 res;
	struct acme_ari		 ari;
	char			*expl;
	char			*error;
};

static void
ari_cb(void *arg, enum acme_ari_result res, const struct acme_ari *ari,
    const char *error)
{
	struct ari_result *r = arg;

	r->called++;
	r->res = res;
	if (ari != NULL) {
		r->ari = *ari;
		r->expl = ari->explanation != NULL ? strdup(ari->explanation) : NULL;
		r->ari.explanation = NULL;
	}
	r->error = error != NULL ? strdup(error) : NULL;
	if (--r->e->pending == 0)
		event_base_loopbreak(r->e->f.base);
}

/* Fetches renewal info for a fixed certID from the fake CA into r. */
static void
ari_run(struct env *e, struct ari_result *r)
{
	memset(r, 0, sizeof(*r));
	r->e = e;
	if (e->ca == NULL)
		env_ca(e, 8);
	assert_non_null(acme_ari_fetch(e->ca, "c", "AAEC.AIdlQyE", ari_cb, r));
	assert_int_equal(r->called, 0);		/* never from inside the call */
	e->pending++;
	env_run(e);
	assert_int_equal(r->called, 1);
}

static void
ari_result_clear(struct ari_result *r)
{
	free(r->expl);
	free(r->error);
	r->expl = r->error = NULL;
}

static void
test_ari_window_retry_after_and_explanation(void **state)
{
	struct env		*e = *state;
	struct ari_result	 r;

	e->f.ari_body = "{\"suggestedWindow\":{\"start\":"
	    "\"2030-01-02T03:04:05Z\",\"end\":\"2030-01-03T03:04:05.5Z\"},"
	    "\"explanationURL\":\"https://ca.example/why\\u0007\"}";
	e->f.ari_retry = "3600";
	ari_run(e, &r);
	assert_int_equal(r.res, ACME_ARI_OK);
	assert_null(r.error);
	assert_int_equal(r.ari.start, 1893553445);	/* date -d ... +%s */
	assert_int_equal(r.ari.end, 1893553445 + 86400);
	assert_int_equal(r.ari.retry_after, 3600);
	assert_string_equal(r.expl, "\"https://ca.example/why\\x07\"");
	assert_string_equal(e->f.last_ari, "AAEC.AIdlQyE");
	ari_result_clear(&r);
	/* no Retry-After: -1, for sched's default; no explanationURL: NULL */
	e->f.ari_retry = NULL;
	e->f.ari_body = "{\"suggestedWindow\":{\"start\":"
	    "\"2030-01-02T03:04:05Z\",\"end\":\"2030-01-03T03:04:05Z\"}}";
	ari_run(e, &r);
	assert_int_equal(r.ari.retry_after, -1);
	assert_null(r.expl);
	ari_result_clear(&r);
}

static void
test_ari_none_without_renewalinfo(void **state)
{
	struct env		*e = *state;
	struct ari_result	 r;

	ari_run(e, &r);
	assert_int_equal(r.res, ACME_ARI_NONE);
	assert_null(r.error);
	assert_int_equal(e->f.ari_gets, 0);
	ari_result_clear(&r);
}

/* The answer body is refused with an error naming the URL and containing want. */
static void
ari_refused(struct env *e, const char *body, size_t pad, const char *want)
{
	struct ari_result	 r;
	char			 url[128];

	e->f.ari_body = body;
	e->f.ari_pad = pad;
	ari_run(e, &r);
	assert_int_equal(r.res, ACME_ARI_ERROR);
	assert_non_null(r.error);
	snprintf(url, sizeof(url), "acme: %s/ari/AAEC.AIdlQyE: ", e->f.base_url);
	if (strstr(r.error, url) == NULL || strstr(r.error, want) == NULL)
		fail_msg("\"%s\" lacks \"%s\" or \"%s\"", r.error, url, want);
	ari_result_clear(&r);
}

static void
test_ari_hostile_answers_are_clear_errors(void **state)
{
	struct env *e = *state;

	ari_refused(e, "{junk", 0, "malformed JSON");
	ari_refused(e, "{}", 0, "lacks a \"suggestedWindow\" object");
	ari_refused(e, "{\"suggestedWindow\":{\"start\":\"2030-01-02T03:04:05Z\"}}",
	    0, "lacks a \"end\" string");
	ari_refused(e, "{\"suggestedWindow\":{\"start\":\"2030-01-02T03:04:05Z\","
	    "\"end\":\"2030-01-02T03:04:05Z\"}}", 0, "no later than it starts");
	ari_refused(e, "{\"suggestedWindow\":{\"start\":\"2030-01-03T03:04:05Z\","
	    "\"end\":\"2030-01-02T03:04:05Z\"}}", 0, "no later than it starts");
	ari_refused(e, "{\"suggestedWindow\":{\"start\":\"yesterday\","
	    "\"end\":\"2030-01-02T03:04:05Z\"}}", 0, "start \"yesterday\" is no RFC 3339");
	ari_refused(e, "{\"suggestedWindow\":{\"start\":\"2030-01-02T03:04:05Z\","
	    "\"end\":\"9999-01-02T03:04:05Z\"}}", 0, "more than ten years away");
	ari_refused(e, "{\"suggestedWindow\":{\"start\":\"2030-01-02T03:04:05Z\","
	    "\"end\":\"2030-01-03T03:04:05Z\"},\"explanationURL\":7}", 0,
	    "explanationURL is no string");
	/* a huge body: the cap stops it */
	ari_refused(e, "{\"suggestedWindow\":{\"start\":\"2030-01-02T03:04:05Z\","
	    "\"end\":\"2030-01-03T03:04:05Z\"}}", 100 * 1024, "exceeds");
}

static void
test_replaces_is_sent_and_dropped_once_when_refused(void **state)
{
	struct env		*e = *state;
	struct result		 r;
	static char		*domains[] = { "a.example" };
	struct acme_order_req	 req = { "rep", domains, 1, e->key, "http-01",
	    "AAEC.AIdlQyE", NULL, NULL, NULL };

	env_ca(e, 8);
	env_start(e, &r, &req);
	env_run(e);
	assert_null(r.error);
	assert_int_equal(e->f.with_replaces, 1);
	assert_int_equal(e->f.without_replaces, 0);
	result_clear(&r);
	/* refused: once more without it, and the order succeeds */
	e->f.refuse_replaces = 1;
	env_start(e, &r, &req);
	env_run(e);
	assert_null(r.error);
	assert_non_null(r.pem);
	assert_int_equal(e->f.with_replaces, 2);
	assert_int_equal(e->f.without_replaces, 1);
	result_clear(&r);
}

/* ---- resuming an order placed before a restart --------------------------- */

static void
test_new_order_reports_its_url_before_finalize(void **state)
{
	struct env		*e = *state;
	struct result		 r;
	static char		*domains[] = { "a.example" };
	struct acme_order_req	 req = { "u", domains, 1, e->key, "http-01",
	    NULL, NULL, url_cb, NULL };
	char			 want[128];

	env_ca(e, 8);
	env_start(e, &r, &req);
	env_run(e);
	assert_null(r.error);
	snprintf(want, sizeof(want), "%s/order/0", e->f.base_url);
	assert_non_null(r.url);
	assert_string_equal(r.url, want);
	assert_int_equal(r.url_finalizes, 0);
	assert_int_equal(e->f.finalizes, 1);
	result_clear(&r);
}

/* What a held order's test keeps: the order, and the CA's finalizes. */
struct held {
	struct result	 r;
	struct acme_order *o;
	struct event	*ev;
	int		 finalizes_at_release;
};

/* acme_order_url_cb: holds the order, as a write that is not yet durable. */
static void
hold_url_cb(void *arg, const char *url)
{
	struct held *h = arg;
	struct timeval tv = { 0, 150 * 1000 };	/* well after validation */

	url_cb(&h->r, url);
	acme_order_hold(h->o);
	evtimer_add(h->ev, &tv);
}

static void
release_cb(evutil_socket_t fd, short what, void *arg)
{
	struct held *h = arg;

	h->finalizes_at_release = h->r.e->f.finalizes;
	acme_order_release(h->o);
}

static void
hold_order_cb(void *arg, const char *pem, size_t len, const char *error,
    const struct acme_failure *fail)
{
	order_cb(&((struct held *)arg)->r, pem, len, error, fail);
}

static void
test_held_order_finalizes_only_once_released(void **state)
{
	struct env		*e = *state;
	struct held		 h;
	static char		*domains[] = { "a.example" };
	struct acme_order_req	 req = { "h", domains, 1, e->key, "http-01",
	    NULL, NULL, hold_url_cb, NULL };

	memset(&h, 0, sizeof(h));
	h.r.e = e;
	h.finalizes_at_release = -1;	/* not released */
	h.ev = evtimer_new(e->f.base, release_cb, &h);
	env_ca(e, 8);
	assert_non_null(h.o = acme_order_start(e->ca, &req, hold_order_cb,
	    &h));
	e->pending++;
	env_run(e);
	assert_null(h.r.error);
	assert_non_null(h.r.pem);
	assert_int_equal(h.finalizes_at_release, 0);	/* released, none before */
	assert_int_equal(e->f.finalizes, 1);
	event_free(h.ev);
	result_clear(&h.r);
}

/* Resumes the order at path of the fake CA, answering status for name. */
static void
resume_at(struct env *e, struct result *r, const char *path,
    const char *status, const char *name)
{
	static char		*domains[] = { "a.example" };
	char			 url[128];
	struct acme_order_req	 req = { "res", domains, 1, e->key, "http-01",
	    NULL, url, url_cb, NULL };

	snprintf(url, sizeof(url), "%s%s", e->f.base_url, path);
	e->f.resume_status = status;
	e->f.resume_name = name;
	e->f.finalizes = 0;
	env_start(e, r, &req);
	env_run(e);
	assert_int_equal(e->f.neworders_seen, 0);	/* never a second order */
	assert_null(r->url);		/* its URL is known already */
}

static void
test_resume_goes_on_from_the_status_of_the_order(void **state)
{
	struct env	*e = *state;
	struct result	 r;

	env_ca(e, 8);
	/* ready: finalized with the key given, then downloaded */
	resume_at(e, &r, "/order/3", "ready", NULL);
	assert_null(r.error);
	assert_non_null(r.pem);
	assert_int_equal(e->f.finalizes, 1);
	result_clear(&r);
	/* valid: downloaded, not finalized again */
	resume_at(e, &r, "/order/4", "valid", NULL);
	assert_null(r.error);
	assert_non_null(r.pem);
	assert_int_equal(e->f.finalizes, 0);
	assert_int_equal(e->f.ncerts, 2);
	result_clear(&r);
}

/* An order that cannot be resumed fails as gone, saying why. */
static void
resume_gone(struct env *e, const char *path, const char *status,
    const char *name, const char *why)
{
	struct result	 r;

	resume_at(e, &r, path, status, name);
	assert_non_null(r.error);
	assert_non_null(strstr(r.error, "cannot resume order"));
	if (strstr(r.error, why) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", r.error, why);
	assert_int_equal(r.fail.gone, 1);
	assert_int_equal(e->f.finalizes, 0);
	result_clear(&r);
}

static void
test_resume_gives_up_an_order_it_cannot_go_on_with(void **state)
{
	struct env	*e = *state;

	env_ca(e, 8);
	resume_gone(e, "/order/5", "invalid", NULL, "order is invalid");
	resume_gone(e, "/order/5", "expired", NULL, "the order is expired");
	resume_gone(e, "/order/5", "ready", "b.example",
	    "not for exactly the 1 name(s) of res");
	resume_gone(e, "/no-such-order/5", NULL, NULL, "HTTP 404");
}

/* ---- failure policy: classification and scope ---------------------------- */

#define E(x)	"urn:ietf:params:acme:error:" x

static void
test_classify_each_problem_type(void **state)
{
	/* the CA is down or busy: the next CA, and the breaker */
	assert_int_equal(acme_fail_classify(NULL, 0, 0), ACME_FAIL_UNAVAILABLE);
	assert_int_equal(acme_fail_classify(E("serverInternal"), 500, 0),
	    ACME_FAIL_UNAVAILABLE);
	assert_int_equal(acme_fail_classify(NULL, 502, 0), ACME_FAIL_UNAVAILABLE);
	assert_int_equal(acme_fail_classify(NULL, 503, 0), ACME_FAIL_UNAVAILABLE);
	assert_int_equal(acme_fail_classify(E("badNonce"), 400, 0),
	    ACME_FAIL_UNAVAILABLE);
	assert_int_equal(acme_fail_classify(E("rateLimited"), 429, 0),
	    ACME_FAIL_RATE_LIMITED);
	assert_int_equal(acme_fail_classify(NULL, 429, 0), ACME_FAIL_RATE_LIMITED);
	/* the CA's policy and our account there: the next CA, no breaker */
	assert_int_equal(acme_fail_classify(E("caa"), 403, 0), ACME_FAIL_CA);
	assert_int_equal(acme_fail_classify(E("rejectedIdentifier"), 400, 0),
	    ACME_FAIL_CA);
	assert_int_equal(acme_fail_classify(E("unsupportedIdentifier"), 400, 0),
	    ACME_FAIL_CA);
	assert_int_equal(acme_fail_classify(E("badCSR"), 400, 0), ACME_FAIL_CA);
	assert_int_equal(acme_fail_classify(E("externalAccountRequired"), 403,
	    0), ACME_FAIL_CA);
	assert_int_equal(acme_fail_classify(E("accountDoesNotExist"), 400, 0),
	    ACME_FAIL_CA);
	assert_int_equal(acme_fail_classify(E("malformed"), 400, 0), ACME_FAIL_CA);
	assert_int_equal(acme_fail_classify(NULL, 404, 0), ACME_FAIL_CA);
	assert_int_equal(acme_fail_classify("about:blank", 400, 0), ACME_FAIL_CA);
	/* the domain: any CA would fail alike */
	assert_int_equal(acme_fail_classify(E("unauthorized"), 403, 0),
	    ACME_FAIL_DOMAIN);
	assert_int_equal(acme_fail_classify(E("dns"), 400, 1), ACME_FAIL_DOMAIN);
	assert_int_equal(acme_fail_classify(E("connection"), 400, 1),
	    ACME_FAIL_DOMAIN);
	assert_int_equal(acme_fail_classify(E("incorrectResponse"), 0, 1),
	    ACME_FAIL_DOMAIN);
	assert_int_equal(acme_fail_classify(E("tls"), 0, 1), ACME_FAIL_DOMAIN);
	/* a challenge's error of an unknown type is the domain's; caa is not */
	assert_int_equal(acme_fail_classify(E("somethingNew"), 0, 1),
	    ACME_FAIL_DOMAIN);
	assert_int_equal(acme_fail_classify(NULL, 0, 1), ACME_FAIL_DOMAIN);
	assert_int_equal(acme_fail_classify(E("caa"), 403, 1), ACME_FAIL_CA);
	/* only the ACME namespace counts: a look-alike is no rate limit */
	assert_int_equal(acme_fail_classify("urn:x:rateLimited", 400, 0),
	    ACME_FAIL_CA);
	assert_string_equal(acme_fail_class_name(ACME_FAIL_DOMAIN), "domain");
	assert_string_equal(acme_fail_scope_name(ACME_SCOPE_ACCOUNT), "account");
}

static void
test_scope_of_a_deadline(void **state)
{
	char			*ids[] = { "a.example", "www.a.example" };
	struct acme_problem	 p = { .type = E("rateLimited") }, sub[1];

	/* no deadline: nothing to hold */
	assert_int_equal(acme_fail_scope(ACME_FAIL_RATE_LIMITED, &p, 429, 1, 0,
	    ids, 2), ACME_SCOPE_NONE);
	/* newOrder, no name: the account (new orders per account) */
	p.detail = "too many new orders (300) from this account";
	assert_int_equal(acme_fail_scope(ACME_FAIL_RATE_LIMITED, &p, 429, 1, 1,
	    ids, 2), ACME_SCOPE_ACCOUNT);
	/* the detail names the set: that certificate (duplicate certificates) */
	p.detail = "too many certificates (5) already issued for this exact "
	    "set of identifiers in the last 168h: a.example,www.a.example";
	assert_int_equal(acme_fail_scope(ACME_FAIL_RATE_LIMITED, &p, 429, 1, 1,
	    ids, 2), ACME_SCOPE_CERT);
	/* a name inside a longer one is not that name */
	p.detail = "limit for b.a.example.net";
	assert_int_equal(acme_fail_scope(ACME_FAIL_RATE_LIMITED, &p, 429, 1, 1,
	    ids, 1), ACME_SCOPE_ACCOUNT);
	/* the identifier of a subproblem */
	p.detail = NULL;
	memset(sub, 0, sizeof(sub));
	sub[0].type = E("rateLimited");
	sub[0].identifier = "www.a.example";
	p.sub = sub;
	p.nsub = 1;
	assert_int_equal(acme_fail_scope(ACME_FAIL_RATE_LIMITED, &p, 429, 1, 1,
	    ids, 2), ACME_SCOPE_CERT);
	p.sub = NULL;
	p.nsub = 0;
	/* rateLimited elsewhere than newOrder: this order's, so the certificate */
	assert_int_equal(acme_fail_scope(ACME_FAIL_RATE_LIMITED, &p, 429, 0, 1,
	    ids, 2), ACME_SCOPE_CERT);
	/* a 503 with Retry-After, a bare 429, a 500 with one: the endpoint */
	assert_int_equal(acme_fail_scope(ACME_FAIL_UNAVAILABLE, NULL, 503, 1, 1,
	    ids, 2), ACME_SCOPE_ENDPOINT);
	assert_int_equal(acme_fail_scope(ACME_FAIL_RATE_LIMITED, NULL, 429, 1, 1,
	    ids, 2), ACME_SCOPE_ENDPOINT);
	assert_int_equal(acme_fail_scope(ACME_FAIL_UNAVAILABLE, NULL, 500, 0, 1,
	    ids, 2), ACME_SCOPE_ENDPOINT);
}

/* ---- failure policy: what orders report, retries, holds ------------------- */

/* The fake answers the next n newOrders with code and a problem of type. */
static void
fake_neworder_fault(struct env *e, int n, int code, const char *body,
    const char *retry_after)
{
	e->f.neworder_faults = n;
	e->f.neworder_code = code;
	e->f.neworder_body = body;
	e->f.retry_after = retry_after;
}

static void
test_transient_5xx_is_retried_inside_the_order(void **state)
{
	struct env	*e = *state;
	struct result	 r;

	env_ca(e, 8);
	fake_neworder_fault(e, 2, 500, "{\"type\":\"" E("serverInternal") "\"}",
	    NULL);
	env_order(e, &r, "www");
	env_run(e);
	assert_null(r.error);
	assert_non_null(r.pem);
	assert_int_equal(e->f.neworders_seen, 3);
	result_clear(&r);
}

static void
test_5xx_after_the_retries_is_unavailable(void **state)
{
	struct env	*e = *state;
	struct result	 r;

	env_ca(e, 8);
	fake_neworder_fault(e, 5, 500, "{\"type\":\"" E("serverInternal") "\"}",
	    NULL);
	env_order(e, &r, "www");
	env_run(e);
	assert_non_null(r.error);
	assert_int_equal(e->f.neworders_seen, 3);	/* CALL_TRIES */
	assert_int_equal(r.fail.cls, ACME_FAIL_UNAVAILABLE);
	assert_int_equal(r.fail.status, 500);
	assert_string_equal(r.fail.endpoint, "newOrder");
	assert_int_equal(r.fail.scope, ACME_SCOPE_NONE);
	result_clear(&r);
}

/*
 * Frees e's CA client, makes a new one as a restart would, and runs an
 * order for name on it into r.
 */
static void
env_restart_order(struct env *e, struct result *r, const char *name)
{
	acme_ca_free(e->ca);
	e->ca = NULL;
	env_ca(e, 8);
	env_order(e, r, name);
	env_run(e);
}

static void
test_503_with_retry_after_holds_the_endpoint(void **state)
{
	struct env	*e = *state;
	struct result	 r;
	time_t		 now = time(NULL);

	env_ca(e, 8);
	fake_neworder_fault(e, 1, 503, "{\"type\":\"" E("serverInternal") "\"}",
	    "120");
	env_order(e, &r, "www");
	env_run(e);
	/* too long to wait inside the order: one try, then the deadline */
	assert_int_equal(e->f.neworders_seen, 1);
	assert_int_equal(r.fail.cls, ACME_FAIL_UNAVAILABLE);
	assert_int_equal(r.fail.scope, ACME_SCOPE_ENDPOINT);
	assert_true(r.fail.until >= now + 120 && r.fail.until <= now + 125);
	result_clear(&r);
	/* the next order fails before sending anything to that endpoint */
	env_order(e, &r, "other");
	env_run(e);
	assert_int_equal(e->f.neworders_seen, 1);
	assert_int_equal(r.fail.scope, ACME_SCOPE_ENDPOINT);
	assert_true(r.fail.until >= now + 120 && r.fail.until <= now + 125);
	assert_non_null(strstr(r.error, "held"));
	/* kept for the next run: the URL and its deadline */
	assert_int_equal(e->accounts.holds_saves, 1);
	assert_int_equal(e->accounts.holds.nurls, 1);
	assert_non_null(strstr(e->accounts.holds.urls[0].url, "/order"));
	assert_int_equal(e->accounts.holds.urls[0].until, r.fail.until);
	assert_int_equal(e->accounts.holds.orders_until, 0);
	result_clear(&r);
	/* a new client (a restart) holds the endpoint too */
	env_restart_order(e, &r, "third");
	assert_int_equal(e->f.neworders_seen, 1);
	assert_non_null(strstr(r.error, "held after a 503"));
	result_clear(&r);
}

static void
test_account_rate_limit_holds_new_orders(void **state)
{
	struct env	*e = *state;
	struct result	 r;
	time_t		 now = time(NULL);

	env_ca(e, 8);
	fake_neworder_fault(e, 1, 429, "{\"type\":\"" E("rateLimited") "\","
	    "\"detail\":\"too many new orders recently\"}", "3600");
	env_order(e, &r, "www");
	env_run(e);
	assert_int_equal(r.fail.cls, ACME_FAIL_RATE_LIMITED);
	assert_int_equal(r.fail.scope, ACME_SCOPE_ACCOUNT);
	assert_true(r.fail.until >= now + 3600 && r.fail.until <= now + 3605);
	assert_int_equal(e->f.neworders_seen, 1);	/* not retried */
	result_clear(&r);
	env_order(e, &r, "other");
	env_run(e);
	assert_int_equal(e->f.neworders_seen, 1);	/* held: none sent */
	assert_int_equal(r.fail.scope, ACME_SCOPE_ACCOUNT);
	assert_non_null(strstr(r.error, "holds new orders until"));
	/* kept for the next run, once */
	assert_int_equal(e->accounts.holds_saves, 1);
	assert_int_equal(e->accounts.holds.orders_until, r.fail.until);
	assert_int_equal(e->accounts.holds.nurls, 0);
	result_clear(&r);
	/* a new client (a restart) holds the account's new orders too */
	env_restart_order(e, &r, "third");
	assert_int_equal(e->f.neworders_seen, 1);
	assert_int_equal(r.fail.scope, ACME_SCOPE_ACCOUNT);
	assert_true(r.fail.until >= now + 3600 && r.fail.until <= now + 3605);
	result_clear(&r);
}

/* Holds kept from a run long ago are over: forgotten, and that is saved. */
static void
test_expired_holds_are_forgotten(void **state)
{
	struct env	*e = *state;
	struct result	 r;

	e->accounts.holds.orders_until = time(NULL) - 1;
	env_ca(e, 8);
	env_order(e, &r, "www");
	env_run(e);
	assert_null(r.error);
	assert_int_equal(e->f.neworders_seen, 1);
	assert_int_equal(e->accounts.holds_saves, 1);
	assert_int_equal(e->accounts.holds.orders_until, 0);
	result_clear(&r);
}

static void
test_certificate_rate_limit_holds_only_that_certificate(void **state)
{
	struct env	*e = *state;
	struct result	 r;

	env_ca(e, 8);
	fake_neworder_fault(e, 1, 429, "{\"type\":\"" E("rateLimited") "\","
	    "\"detail\":\"too many certificates for a.example,b.example\"}",
	    "600");
	env_order(e, &r, "www");
	env_run(e);
	assert_int_equal(r.fail.cls, ACME_FAIL_RATE_LIMITED);
	assert_int_equal(r.fail.scope, ACME_SCOPE_CERT);
	result_clear(&r);
	/* acme holds nothing itself: the next order goes out (renew.c decides) */
	env_order(e, &r, "www");
	env_run(e);
	assert_null(r.error);
	assert_int_equal(e->f.neworders_seen, 2);
	result_clear(&r);
}

static void
test_validation_failure_is_the_domains(void **state)
{
	struct env	*e = *state;
	struct result	 r;

	env_ca(e, 8);
	e->f.chall_error = E("dns");
	env_order(e, &r, "www");
	env_run(e);
	assert_int_equal(r.fail.cls, ACME_FAIL_DOMAIN);
	assert_string_equal(r.fail.endpoint, "challenge");
	result_clear(&r);
	e->f.chall_error = E("caa");
	env_order(e, &r, "www");
	env_run(e);
	assert_int_equal(r.fail.cls, ACME_FAIL_CA);
	result_clear(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_problem_full_document_with_subproblems),
		cmocka_unit_test(test_problem_minimal_document_has_only_type),
		cmocka_unit_test(test_problem_rejects_what_is_not_json),
		cmocka_unit_test(test_problem_rejects_json_without_type_string),
		cmocka_unit_test(test_problem_ignores_optional_members_of_wrong_type),
		cmocka_unit_test(test_problem_rejects_huge_and_deep_inputs),
		cmocka_unit_test(test_problem_str_exact_text),
		cmocka_unit_test(test_classify_each_problem_type),
		cmocka_unit_test(test_scope_of_a_deadline),
		cmocka_unit_test_setup_teardown(
		    test_transient_5xx_is_retried_inside_the_order,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_5xx_after_the_retries_is_unavailable,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_503_with_retry_after_holds_the_endpoint,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_account_rate_limit_holds_new_orders,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_expired_holds_are_forgotten,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_certificate_rate_limit_holds_only_that_certificate,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_validation_failure_is_the_domains,
		    env_setup, env_teardown),
		cmocka_unit_test(test_retry_after_delta_seconds),
		cmocka_unit_test(test_retry_after_http_date_past_is_zero),
		cmocka_unit_test(test_retry_after_http_date_future_is_seconds_from_now),
		cmocka_unit_test(test_retry_after_rejects_garbage_and_negatives),
		cmocka_unit_test(test_retry_after_overflow_saturates),
		cmocka_unit_test(test_ca_text_in_errors_is_one_line),
		cmocka_unit_test(test_status_parser_knows_every_rfc8555_status),
		cmocka_unit_test(test_pick_takes_the_type_a_solver_answers),
		cmocka_unit_test(test_pick_skips_empty_slots),
		cmocka_unit_test(test_profile_sent_only_when_the_directory_lists_it),
		cmocka_unit_test(test_profile_wants_are_checked_once_the_directory_is_read),
		cmocka_unit_test(
		    test_pick_follows_solver_order_and_skips_one_that_declines),
		cmocka_unit_test(
		    test_pick_errors_name_the_identifier_and_the_types),
		cmocka_unit_test_setup_teardown(
		    test_order_completes_with_every_other_nonce_rejected,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_account_failure_fails_waiting_orders_then_retries,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_malformed_neworder_fails_naming_the_url,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_directory_without_neworder_is_a_clear_error,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_revocation_waits_for_the_account,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_freeing_the_ca_fails_a_pending_revocation,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_plain_http_ca_gets_no_request,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_concurrency_limit_queues_orders_fifo,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_cancel_and_free_mid_flight_withdraw_tokens,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_unimplemented_challenge_type_fails_clearly,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_finalizes_as_soon_as_authorizations_are_valid,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_challenge_valid_at_trigger_needs_no_poll,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_order_not_ready_at_finalize_waits_for_ready,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_order_not_ready_twice_fails_with_the_problem,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_callback_may_cancel_a_queued_order_and_start_another,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_callback_may_free_the_ca_with_orders_in_flight,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_any_type_skips_a_solver_that_declines,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_no_solver_fails_naming_the_identifier,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_an_authorization_for_another_name_is_refused,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_nonce_that_is_no_base64url_is_refused,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_dns01_solver_gets_the_digest_and_finishes_before_the_trigger,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_no_challenge_is_triggered_before_every_answer_is_published,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_cancel_while_a_solver_publishes_withdraws_it,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_account_key_saved_before_registering_then_reused,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_unreadable_account_key_names_where_it_is,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_ari_window_retry_after_and_explanation,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_ari_none_without_renewalinfo,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_ari_hostile_answers_are_clear_errors,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_replaces_is_sent_and_dropped_once_when_refused,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_new_order_reports_its_url_before_finalize,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_held_order_finalizes_only_once_released,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_resume_goes_on_from_the_status_of_the_order,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_resume_gives_up_an_order_it_cannot_go_on_with,
		    env_setup, env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
