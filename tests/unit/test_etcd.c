/* test_etcd.c - daemon/etcd_json.c against replies captured from etcd 3.4 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "etcd.h"
#include "log.h"
#include "xmalloc.h"

/* tests/unit/etcd/: curl against a real etcd 3.4.23 (see DESIGN.md, etcd) */
static char *
fixture(const char *name, size_t *len)
{
	char	 path[1024], *buf;
	FILE	*f;
	long	 n;

	snprintf(path, sizeof(path), "%s/%s", ETCD_FIXTURES, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = xmalloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
parse_ok(const char *kind, const char *name, struct etcd_reply *r)
{
	const char	*why = NULL;
	size_t		 len;
	char		*b = fixture(name, &len);

	memset(r, 0, sizeof(*r));
	if (etcd_parse_reply(kind, b, len, r, &why) != 0)
		fail_msg("%s: %s", name, why);
	free(b);
}

static int
parse_str(const char *kind, const char *s, struct etcd_reply *r)
{
	const char	*why;
	int		 rc;

	memset(r, 0, sizeof(*r));
	rc = etcd_parse_reply(kind, s, strlen(s), r, &why);
	if (rc == -1)
		assert_non_null(why);
	return rc;
}

static void
test_range(void **state)
{
	struct etcd_reply r;

	(void)state;
	parse_ok("range", "range.json", &r);
	assert_int_equal(r.revision, 4);
	assert_int_equal(r.range.count, 2);
	assert_int_equal(r.range.nkvs, 2);
	assert_string_equal(r.range.kvs[0].key, "/r/a");
	assert_string_equal((char *)r.range.kvs[0].value, "hello");
	assert_int_equal(r.range.kvs[0].value_len, 5);
	assert_int_equal(r.range.kvs[1].create_revision, 3);
	assert_int_equal(r.range.kvs[1].mod_revision, 4);
	assert_int_equal(r.range.kvs[1].version, 2);
	assert_int_equal(r.range.kvs[1].lease, 0);
	assert_string_equal((char *)r.range.kvs[1].value, "world2");
	etcd_reply_clear(&r);

	/* nothing found: kvs and count are omitted, not empty */
	parse_ok("range", "range_empty.json", &r);
	assert_int_equal(r.revision, 4);
	assert_int_equal(r.range.nkvs, 0);
	assert_int_equal(r.range.count, 0);
	etcd_reply_clear(&r);
}

static void
test_put_delete(void **state)
{
	struct etcd_reply r;

	(void)state;
	parse_ok("put", "put.json", &r);
	assert_int_equal(r.revision, 2);
	assert_int_equal(r.range.nkvs, 0);
	etcd_reply_clear(&r);
	parse_ok("put", "put_prev.json", &r);
	assert_int_equal(r.revision, 4);
	assert_int_equal(r.range.nkvs, 1);
	assert_string_equal((char *)r.range.kvs[0].value, "world");
	etcd_reply_clear(&r);
	parse_ok("delete", "delete.json", &r);
	assert_int_equal(r.revision, 5);
	assert_int_equal(r.deleted, 1);
	etcd_reply_clear(&r);
}

static void
test_txn(void **state)
{
	struct etcd_reply r;

	(void)state;
	parse_ok("txn", "txn_ok.json", &r);
	assert_int_equal(r.succeeded, 1);
	assert_int_equal(r.revision, 6);
	assert_int_equal(r.nresponses, 1);
	assert_int_equal(r.responses[0].nkvs, 0);
	etcd_reply_clear(&r);

	/* the failed create-if-absent: "succeeded" omitted, the holder read back */
	parse_ok("txn", "txn_fail.json", &r);
	assert_int_equal(r.succeeded, 0);
	assert_int_equal(r.nresponses, 1);
	assert_int_equal(r.responses[0].nkvs, 1);
	assert_string_equal(r.responses[0].kvs[0].key, "/r/lock");
	assert_int_equal(r.responses[0].kvs[0].create_revision, 6);
	assert_string_equal((char *)r.responses[0].kvs[0].value, "me");
	etcd_reply_clear(&r);
}

static void
test_lease(void **state)
{
	struct etcd_reply r;

	(void)state;
	parse_ok("grant", "lease_grant.json", &r);
	assert_true(r.lease_id == INT64_C(4111120341581238541));
	assert_int_equal(r.ttl, 5);
	etcd_reply_clear(&r);
	parse_ok("keepalive", "keepalive.json", &r);
	assert_int_equal(r.ttl, 5);
	etcd_reply_clear(&r);
	/* an expired lease: 200, the ID, and TTL omitted (= 0) */
	parse_ok("keepalive", "keepalive_gone.json", &r);
	assert_true(r.lease_id == INT64_C(4111120341581238543));
	assert_int_equal(r.ttl, 0);
	etcd_reply_clear(&r);
	parse_ok("revoke", "revoke.json", &r);
	assert_int_equal(r.revision, 6);
	etcd_reply_clear(&r);
}

static void
test_errors(void **state)
{
	char	*b, msg[256];
	size_t	 len;
	int	 code;

	(void)state;
	b = fixture("range_compacted.json", &len);
	etcd_error_fields(b, len, &code, msg, sizeof(msg));
	assert_int_equal(code, 11);
	assert_non_null(strstr(msg, "compacted"));
	free(b);
	b = fixture("revoke_gone.json", &len);
	etcd_error_fields(b, len, &code, msg, sizeof(msg));
	assert_int_equal(code, 5);
	assert_string_equal(msg, "etcdserver: requested lease not found");
	free(b);
	etcd_error_fields("<html>", 6, &code, msg, sizeof(msg));
	assert_int_equal(code, -1);
}

/* Each trap of the gateway, met by a strict parse. */
static void
test_strict(void **state)
{
	struct etcd_reply r;

	(void)state;
	/* an int64 as a JSON number is not what 3.4 sends */
	assert_int_equal(parse_str("range", "{\"header\":{\"revision\":4}}", &r), -1);
	etcd_reply_clear(&r);
	assert_int_equal(parse_str("range", "{\"header\":{\"revision\":\"4x\"}}", &r), -1);
	etcd_reply_clear(&r);
	assert_int_equal(parse_str("range", "{\"header\":{\"revision\":\"4\"}}", &r), 0);
	etcd_reply_clear(&r);
	/* a misspelt field is an error, not a default */
	assert_int_equal(parse_str("range", "{\"header\":{\"revision\":\"4\"},"
	    "\"kvs\":[{\"key\":\"YQ==\",\"valeu\":\"YQ==\"}]}", &r), -1);
	etcd_reply_clear(&r);
	assert_int_equal(parse_str("range", "{\"header\":{\"revision\":\"4\"},"
	    "\"kvz\":[]}", &r), -1);
	etcd_reply_clear(&r);
	/* keys are base64 */
	assert_int_equal(parse_str("range", "{\"header\":{\"revision\":\"4\"},"
	    "\"kvs\":[{\"key\":\"/r/b\\n\"}]}", &r), -1);
	etcd_reply_clear(&r);
	/* no header: not a reply */
	assert_int_equal(parse_str("put", "{}", &r), -1);
	etcd_reply_clear(&r);
	assert_int_equal(parse_str("put", "[", &r), -1);
	etcd_reply_clear(&r);
	/* a grant without its ID */
	assert_int_equal(parse_str("grant", "{\"header\":{\"revision\":\"4\"},"
	    "\"TTL\":\"5\"}", &r), -1);
	etcd_reply_clear(&r);
	/* a txn's response of an unknown kind */
	assert_int_equal(parse_str("txn", "{\"header\":{\"revision\":\"4\"},"
	    "\"responses\":[{\"response_rnage\":{}}]}", &r), -1);
	etcd_reply_clear(&r);
	/* keepalive comes wrapped in "result" */
	assert_int_equal(parse_str("keepalive", "{\"header\":{\"revision\":\"4\"},"
	    "\"ID\":\"1\",\"TTL\":\"5\"}", &r), -1);
	etcd_reply_clear(&r);
}

static char *
line(const char *text, int n, size_t *len)
{
	const char	*p = text, *nl;
	int		 i;

	for (i = 0; i < n; i++)
		p = strchr(p, '\n') + 1;
	nl = strchr(p, '\n');
	*len = nl != NULL ? (size_t)(nl - p) : strlen(p);
	return (char *)p;
}

static void
test_watch(void **state)
{
	struct etcd_watch_msg	 m;
	const char		*why;
	char			*b, *l;
	size_t			 len, ll;

	(void)state;
	b = fixture("watch.txt", &len);
	l = line(b, 0, &ll);
	assert_int_equal(etcd_parse_watch(l, ll, &m, &why), 0);
	assert_true(m.created);
	assert_int_equal(m.revision, 7);
	assert_int_equal(m.nevents, 0);
	etcd_watch_msg_clear(&m);
	l = line(b, 1, &ll);
	assert_int_equal(etcd_parse_watch(l, ll, &m, &why), 0);
	assert_false(m.created);
	assert_int_equal(m.nevents, 6);
	assert_int_equal(m.events[0].type, ETCD_EV_PUT);
	assert_string_equal(m.events[0].kv->key, "/r/a");
	assert_int_equal(m.events[3].type, ETCD_EV_DELETE);
	assert_string_equal(m.events[3].kv->key, "/r/a");
	assert_int_equal(m.events[3].kv->mod_revision, 5);
	assert_int_equal(m.events[3].kv->create_revision, 0);
	/* the put whose "value" was misspelt in the request: an empty value */
	assert_string_equal(m.events[5].kv->key, "/r/z");
	assert_int_equal(m.events[5].kv->value_len, 0);
	etcd_watch_msg_clear(&m);
	free(b);

	b = fixture("watch_compacted.txt", &len);
	l = line(b, 1, &ll);
	assert_int_equal(etcd_parse_watch(l, ll, &m, &why), 0);
	assert_true(m.canceled);
	assert_int_equal(m.compact_revision, 6);
	assert_int_equal(m.revision, 0);	/* omitted in this header */
	etcd_watch_msg_clear(&m);
	free(b);

	assert_int_equal(etcd_parse_watch("{\"error\":{\"grpc_code\":14}}", 26,
	    &m, &why), -1);
	etcd_watch_msg_clear(&m);
	assert_int_equal(etcd_parse_watch("{\"result\":{\"events\":[{\"type\":"
	    "\"PUTT\",\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"3\"}}]}}", 69,
	    &m, &why), -1);
	etcd_watch_msg_clear(&m);
}

/* The exact bodies etcd 3.4 was seen to act on (tests/unit/etcd/README.md). */
static void
test_format(void **state)
{
	struct etcd_cmp	 cmp = { .key = "/r/lock", .target = ETCD_CMP_CREATE,
			    .result = ETCD_EQUAL, .value = 0 };
	struct etcd_op	 put = { .type = ETCD_OP_PUT, .key = "/r/lock",
			    .value = (const unsigned char *)"me", .value_len = 2 };
	struct etcd_op	 get = { .type = ETCD_OP_RANGE, .key = "/r/lock" };
	char		*s, end[8];

	(void)state;
	s = etcd_format_txn(&cmp, 1, &put, 1, &get, 1);
	assert_string_equal(s, "{\"compare\":[{\"create_revision\":\"0\","
	    "\"key\":\"L3IvbG9jaw==\",\"result\":\"EQUAL\",\"target\":\"CREATE\"}],"
	    "\"failure\":[{\"request_range\":{\"key\":\"L3IvbG9jaw==\"}}],"
	    "\"success\":[{\"request_put\":{\"key\":\"L3IvbG9jaw==\","
	    "\"value\":\"bWU=\"}}]}");
	free(s);
	cmp.target = ETCD_CMP_MOD;
	cmp.result = ETCD_LESS;
	cmp.value = 12;
	put.lease = INT64_C(4111120341581238541);
	s = etcd_format_txn(&cmp, 1, &put, 1, NULL, 0);
	assert_non_null(strstr(s, "\"mod_revision\":\"12\""));
	assert_non_null(strstr(s, "\"result\":\"LESS\",\"target\":\"MOD\""));
	assert_non_null(strstr(s, "\"lease\":\"4111120341581238541\""));
	free(s);
	cmp.target = 7;
	assert_null(etcd_format_txn(&cmp, 1, NULL, 0, NULL, 0));

	etcd_prefix_end("/r/", end);
	assert_string_equal(end, "/r0");
	s = etcd_format_range("/r/", end, 0, 0);
	assert_string_equal(s, "{\"key\":\"L3Iv\",\"range_end\":\"L3Iw\"}");
	free(s);
	s = etcd_format_range("/r/a", NULL, 9, 1);
	assert_string_equal(s, "{\"key\":\"L3IvYQ==\",\"revision\":\"9\","
	    "\"serializable\":true}");
	free(s);
	s = etcd_format_watch("/r/", "\0", 3);
	assert_string_equal(s, "{\"create_request\":{\"key\":\"L3Iv\","
	    "\"range_end\":\"AA==\",\"start_revision\":\"3\"}}");
	free(s);
	s = etcd_format_lease("TTL", 5);
	assert_string_equal(s, "{\"TTL\":\"5\"}");
	free(s);
	etcd_prefix_end("a\xff", end);
	assert_string_equal(end, "b");
}

static void
test_b64(void **state)
{
	static const unsigned char bin[] = { 0, 0xff, 0x10, 'x', 0xfe };
	unsigned char	*d;
	char		*s;
	size_t		 n, len;

	(void)state;
	for (n = 0; n <= sizeof(bin); n++) {
		s = etcd_b64(bin, n);
		d = etcd_unb64(s, &len);
		assert_non_null(d);
		assert_int_equal(len, n);
		assert_memory_equal(d, bin, n);
		free(s);
		free(d);
	}
	assert_null(etcd_unb64("abc", &len));
	assert_null(etcd_unb64("a===", &len));
	assert_null(etcd_unb64("ab=c", &len));
	assert_null(etcd_unb64("ab-_", &len));
	d = etcd_unb64("d29ybGQy", &len);
	assert_string_equal((char *)d, "world2");
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_put_delete),
		cmocka_unit_test(test_txn),
		cmocka_unit_test(test_lease),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_b64),
	};

	log_init(LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
