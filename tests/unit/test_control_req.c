/* test_control_req.c - control socket requests and the status schema */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "conf.h"
#include "control_req.h"
#include "renew.h"
#include "sched.h"

static int
parse(const char *s, struct control_req *req, char *err, size_t errlen)
{
	return control_req_parse(s, strlen(s), req, err, errlen);
}

static void
status_without_names_lists_all(void **state)
{
	struct control_req req;
	char	err[256];

	assert_int_equal(parse("{\"cmd\":\"status\"}", &req, err,
	    sizeof(err)), 0);
	assert_int_equal(req.cmd, CONTROL_STATUS);
	assert_int_equal(req.nnames, 0);
	control_req_clear(&req);
}

static void
renew_takes_names_force_and_wait(void **state)
{
	struct control_req req;
	char	err[256], *line;

	assert_int_equal(parse("{\"cmd\":\"renew\",\"names\":[\"www\",\"mail\"],"
	    "\"force\":true,\"wait\":false}", &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, CONTROL_RENEW);
	assert_int_equal(req.nnames, 2);
	assert_string_equal(req.names[1], "mail");
	assert_true(req.force);
	assert_false(req.wait);
	assert_false(req.all);
	control_req_clear(&req);
	/* wait is the default */
	assert_int_equal(parse("{\"cmd\":\"renew\",\"all\":true}", &req, err,
	    sizeof(err)), 0);
	assert_true(req.all);
	assert_true(req.wait);
	assert_false(req.dry_run);
	control_req_clear(&req);
	/* a dry run, and it round-trips */
	assert_int_equal(parse("{\"cmd\":\"renew\",\"all\":true,"
	    "\"dry_run\":true}", &req, err, sizeof(err)), 0);
	assert_true(req.dry_run);
	line = control_req_format(&req);
	control_req_clear(&req);
	assert_int_equal(parse(line, &req, err, sizeof(err)), 0);
	assert_true(req.dry_run);
	assert_true(req.all);
	control_req_clear(&req);
	free(line);
}

/* Each bad request is refused with a message saying what is wrong. */
static void
bad_requests_say_what_is_wrong(void **state)
{
	static const struct { const char *req, *want; } cases[] = {
		{ "", "not JSON" },
		{ "{\"cmd\":\"status\"", "not JSON" },
		{ "[1,2]", "not a JSON object" },
		{ "{}", "\"cmd\": missing" },
		{ "{\"cmd\":7}", "\"cmd\": missing or not a string" },
		{ "{\"cmd\":\"explode\"}", "unknown command \"explode\"" },
		{ "{\"cmd\":\"status\",\"force\":true}", "\"force\": not a key of a status request" },
		{ "{\"cmd\":\"reload\",\"names\":[\"a\"]}", "\"names\": not a key of a reload request" },
		{ "{\"cmd\":\"renew\"}", "neither \"names\" nor \"all\"" },
		{ "{\"cmd\":\"renew\",\"all\":true,\"names\":[\"a\"]}", "together" },
		{ "{\"cmd\":\"renew\",\"all\":1}", "\"all\": not true or false" },
		{ "{\"cmd\":\"status\",\"names\":\"www\"}", "\"names\": not an array" },
		{ "{\"cmd\":\"status\",\"names\":[\"ok\",\"../etc\"]}", "\"names\"[1]: not a certificate name" },
		{ "{\"cmd\":\"status\",\"cmd\":\"reload\"}", "not JSON" },
		{ "{\"cmd\":\"revoke\"}", "revoke: \"name\": missing" },
		{ "{\"cmd\":\"account\",\"ca\":\"le\"}", "\"op\": not one of" },
		{ "{\"cmd\":\"account\",\"op\":\"delete\",\"ca\":\"le\"}", "\"op\": not one of" },
		{ "{\"cmd\":\"account\",\"op\":\"show\"}", "\"ca\": missing" },
		{ "{\"cmd\":\"account\",\"op\":\"show\",\"ca\":\"../x\"}", "not a CA name" },
		{ "{\"cmd\":\"account\",\"op\":\"show\",\"ca\":\"le\",\"contact\":[]}", "for update only" },
		{ "{\"cmd\":\"account\",\"op\":\"update\",\"ca\":\"le\",\"contact\":[\"a b\"]}", "\"contact\"[0]: not a URI" },
		{ "{\"cmd\":\"account\",\"op\":\"update\",\"ca\":\"le\",\"contact\":[\"nocolon\"]}", "\"contact\"[0]: not a URI" },
		{ "{\"cmd\":\"account\",\"op\":\"deactivate\",\"ca\":\"le\"}", "not without \"confirm\": true" },
		{ "{\"cmd\":\"account\",\"op\":\"deactivate\",\"ca\":\"le\",\"confirm\":false}", "not without" },
		{ "{\"cmd\":\"account\",\"op\":\"show\",\"ca\":\"le\",\"name\":\"x\"}", "\"name\": not a key of an account request" },
		{ "{\"cmd\":\"revoke\",\"name\":\"../x\"}", "not a certificate name" },
		{ "{\"cmd\":\"revoke\",\"names\":[\"www\"]}", "\"names\": not a key of a revoke request" },
		{ "{\"cmd\":\"revoke\",\"name\":\"www\",\"reason\":\"stolen\"}", "\"reason\": not one of" },
		{ "{\"cmd\":\"revoke\",\"name\":\"www\",\"reason\":1}", "\"reason\": not one of" },
		{ "{\"cmd\":\"revoke\",\"name\":\"www\",\"cert_key\":\"yes\"}", "\"cert_key\": not true or false" },
		{ "{\"cmd\":\"renew\",\"all\":true,\"reason\":\"superseded\"}", "\"reason\": not a key of a renew request" },
		{ "{\"cmd\":\"status\",\"dry_run\":true}", "\"dry_run\": not a key of a status request" },
		{ "{\"cmd\":\"renew\",\"all\":true,\"dry_run\":1}", "\"dry_run\": not true or false" },
	};
	struct control_req req;
	char	err[256];
	size_t	i;

	/* a broken request names where, never the text there (a key, maybe) */
	err[0] = '\0';
	assert_int_equal(parse("{\"cmd\":\"import\",\"key_pem\":\"SECRETKEYMATERIAL\n\"}",
	    &req, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not JSON: line 1 column"));
	assert_null(strstr(err, "SECRET"));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(parse(cases[i].req, &req, err, sizeof(err)), -1);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].req, err,
			    cases[i].want);
		assert_null(req.names);
	}
}

/* What renewctl sends parses back to the same request. */
static void
format_round_trips(void **state)
{
	char	*names[] = { "www", "mail" }, err[256], *line;
	struct control_req in = { .cmd = CONTROL_RENEW, .names = names,
	    .nnames = 2, .force = 1, .wait = 0 }, out;

	line = control_req_format(&in);
	assert_non_null(strchr(line, '\n'));
	assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1);
	assert_int_equal(control_req_parse(line, strlen(line) - 1, &out, err,
	    sizeof(err)), 0);
	assert_int_equal(out.nnames, 2);
	assert_string_equal(out.names[0], "www");
	assert_true(out.force);
	assert_false(out.wait);
	control_req_clear(&out);
	free(line);
}

/* account: an operation, a CA, contacts for update, confirm for deactivate; round trip. */
static void
account_takes_an_op_and_a_ca(void **state)
{
	char	*contact[] = { "mailto:a@example.com", "mailto:b@example.com" };
	char	 err[256], *line;
	struct control_req in = { .cmd = CONTROL_ACCOUNT, .op = ACME_ACCT_UPDATE,
	    .ca = "le", .contact = contact, .ncontact = 2, .wait = 1 }, out;
	size_t	 i;

	for (i = 0; i <= ACME_ACCT_DEACTIVATE; i++)
		assert_int_equal(control_account_op(control_account_op_name(
		    (int)i)), (int)i);
	assert_string_equal(control_account_op_name(ACME_ACCT_ROLLOVER),
	    "rollover");
	line = control_req_format(&in);
	assert_int_equal(control_req_parse(line, strlen(line) - 1, &out, err,
	    sizeof(err)), 0);
	assert_int_equal(out.cmd, CONTROL_ACCOUNT);
	assert_int_equal(out.op, ACME_ACCT_UPDATE);
	assert_string_equal(out.ca, "le");
	assert_int_equal(out.ncontact, 2);
	assert_string_equal(out.contact[1], "mailto:b@example.com");
	control_req_clear(&out);
	free(line);
	in.op = ACME_ACCT_DEACTIVATE;
	in.ncontact = 0;
	in.confirm = 1;
	line = control_req_format(&in);
	assert_int_equal(control_req_parse(line, strlen(line) - 1, &out, err,
	    sizeof(err)), 0);
	assert_int_equal(out.op, ACME_ACCT_DEACTIVATE);
	assert_true(out.confirm);
	control_req_clear(&out);
	free(line);
}

/* import: an account or a certificate, every PEM required (the chain may be empty). */
static void
import_takes_an_account_or_a_cert(void **state)
{
	static const char *const bad[] = {
		"{\"cmd\":\"import\",\"kind\":\"key\",\"ca\":\"le\"}",
		"{\"cmd\":\"import\",\"kind\":\"account\",\"ca\":\"le\","
		    "\"url\":\"https://ca/acct/1\"}",
		"{\"cmd\":\"import\",\"kind\":\"cert\",\"name\":\"a/b\","
		    "\"key_pem\":\"K\",\"cert_pem\":\"C\",\"chain_pem\":\"\"}",
		"{\"cmd\":\"import\",\"kind\":\"cert\",\"name\":\"www\","
		    "\"key_pem\":\"K\",\"chain_pem\":\"\"}",
		"{\"cmd\":\"import\",\"kind\":\"account\",\"ca\":\"le\","
		    "\"url\":\"u\",\"key_pem\":\"K\",\"force\":true}",
	};
	static const char *const why[] = { "\"kind\"", "\"key_pem\"",
		"\"name\"", "\"cert_pem\"", "\"force\"" };
	char	 err[256], *line, *names[] = { "www" };
	struct control_req in = { .cmd = CONTROL_IMPORT, .ca = "le",
	    .url = "https://ca/acct/1", .key_pem = "KEY" }, out;
	size_t	 i;

	line = control_req_format(&in);
	assert_int_equal(control_req_parse(line, strlen(line) - 1, &out, err,
	    sizeof(err)), 0);
	assert_int_equal(out.cmd, CONTROL_IMPORT);
	assert_false(out.import_cert);
	assert_string_equal(out.ca, "le");
	assert_string_equal(out.url, "https://ca/acct/1");
	assert_string_equal(out.key_pem, "KEY");
	control_req_clear(&out);
	free(line);
	memset(&in, 0, sizeof(in));
	in.cmd = CONTROL_IMPORT;
	in.import_cert = 1;
	in.names = names;
	in.nnames = 1;
	in.key_pem = "KEY";
	in.cert_pem = "CERT";
	in.chain_pem = "";
	line = control_req_format(&in);
	assert_int_equal(control_req_parse(line, strlen(line) - 1, &out, err,
	    sizeof(err)), 0);
	assert_true(out.import_cert);
	assert_string_equal(out.names[0], "www");
	assert_string_equal(out.cert_pem, "CERT");
	assert_string_equal(out.chain_pem, "");
	control_req_clear(&out);
	free(line);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(control_req_parse(bad[i], strlen(bad[i]), &out,
		    err, sizeof(err)), -1);
		assert_non_null(strstr(err, why[i]));
		/* an error names the key, never a value */
		assert_null(strstr(err, "\"K\""));
	}
}

/* revoke: one name, an RFC 5280 reason (unspecified unless given), round trip. */
static void
revoke_takes_a_name_and_a_reason(void **state)
{
	static const struct { const char *name; int code; } reasons[] = {
		{ "unspecified", 0 }, { "keyCompromise", 1 },
		{ "affiliationChanged", 3 }, { "superseded", 4 },
		{ "cessationOfOperation", 5 },
	};
	char	*names[] = { "www" }, err[256], *line;
	struct control_req in = { .cmd = CONTROL_REVOKE, .names = names,
	    .nnames = 1, .wait = 1, .reason = 4, .cert_key = 1 }, out;
	size_t	 i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		assert_int_equal(control_revoke_reason(reasons[i].name),
		    reasons[i].code);
		assert_string_equal(control_revoke_reason_name(reasons[i].code),
		    reasons[i].name);
	}
	/* 2 (cACompromise) and the rest are the CA's to give, not ours */
	assert_int_equal(control_revoke_reason("cACompromise"), -1);
	assert_int_equal(parse("{\"cmd\":\"revoke\",\"name\":\"www\"}",
	    &out, err, sizeof(err)), 0);
	assert_int_equal(out.cmd, CONTROL_REVOKE);
	assert_int_equal(out.nnames, 1);
	assert_string_equal(out.names[0], "www");
	assert_int_equal(out.reason, 0);
	assert_false(out.cert_key);
	assert_true(out.wait);
	control_req_clear(&out);
	line = control_req_format(&in);
	assert_non_null(strstr(line, "\"name\":\"www\""));
	assert_non_null(strstr(line, "\"reason\":\"superseded\""));
	assert_int_equal(control_req_parse(line, strlen(line) - 1, &out, err,
	    sizeof(err)), 0);
	assert_int_equal(out.reason, 4);
	assert_true(out.cert_key);
	assert_string_equal(out.names[0], "www");
	control_req_clear(&out);
	free(line);
}

/* The status line's schema: every key, times as RFC 3339 and epoch. */
static void
view_json_has_the_documented_keys(void **state)
{
	char	*doms[] = { "a.example", "b.example" };
	struct conf_cert cc = { 0 };
	struct conf_delivery dlv = { 0 };
	struct sched_state sv = { 0 };
	struct renew_view v = { 0 };
	json_t	*o, *e;

	cc.dlv = &dlv;
	cc.name = "www";
	cc.domains.v = doms;
	cc.domains.n = 2;
	sv.err_at = 1700000000;
	sv.err_ca = "le";
	sv.err_type = "urn:ietf:params:acme:error:rateLimited";
	sv.err_detail = "too many";
	v.cfg = &cc;
	v.state = RENEW_STATE_FAILED;
	v.ca = "le";
	v.not_before = 1700000000;
	v.not_after = 1707776000;
	v.next = 1700003600;
	v.next_action = RENEW_NEXT_RETRY;
	v.failures = 2;
	v.saved = &sv;
	o = control_view_json(&v, "1f", "delivered");
	assert_string_equal(json_string_value(json_object_get(o, "name")), "www");
	assert_int_equal(json_array_size(json_object_get(o, "domains")), 2);
	assert_string_equal(json_string_value(json_object_get(o, "serial")), "1f");
	assert_string_equal(json_string_value(json_object_get(o, "next")),
	    "2023-11-14T23:13:20Z");
	assert_int_equal(json_integer_value(json_object_get(o, "next_epoch")),
	    1700003600);
	assert_string_equal(json_string_value(json_object_get(o,
	    "next_action")), "retry");
	assert_int_equal(json_integer_value(json_object_get(o, "failures")), 2);
	assert_true(json_is_null(json_object_get(o, "hold_until")));
	assert_true(json_is_null(json_object_get(o, "hold_until_epoch")));
	e = json_object_get(o, "last_error");
	assert_string_equal(json_string_value(json_object_get(e, "detail")),
	    "too many");
	assert_true(json_is_null(json_object_get(e, "url")));
	assert_int_equal(json_integer_value(json_object_get(e, "at_epoch")),
	    1700000000);
	json_decref(o);
	/* no live certificate, no failure: nulls, not zeros */
	memset(&sv, 0, sizeof(sv));
	v.not_before = v.not_after = 0;
	o = control_view_json(&v, NULL, "-");
	assert_true(json_is_null(json_object_get(o, "serial")));
	assert_true(json_is_null(json_object_get(o, "not_after")));
	assert_true(json_is_null(json_object_get(o, "last_error")));
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(status_without_names_lists_all),
		cmocka_unit_test(renew_takes_names_force_and_wait),
		cmocka_unit_test(bad_requests_say_what_is_wrong),
		cmocka_unit_test(format_round_trips),
		cmocka_unit_test(revoke_takes_a_name_and_a_reason),
		cmocka_unit_test(account_takes_an_op_and_a_ca),
		cmocka_unit_test(import_takes_an_account_or_a_cert),
		cmocka_unit_test(view_json_has_the_documented_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
