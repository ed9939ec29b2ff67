/* test_cluster_rec.c - cluster records: round trips, every refused field, the install check */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "acme_solver.h"
#include "cluster_rec.h"
#include "crypto.h"
#include "xmalloc.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * A real certificate for the record: tls-alpn-01's self-signed one names
 * one domain and carries the key given; another one stands for the chain.
 */
struct fx {
	struct crypto_key *key, *other;
	char		*key_pem, *leaf, *chain;
	struct crypto_cert_info info;
	struct cluster_cert_rec rec;	/* points into the above */
};

static int
setup(void **state)
{
	struct fx	*fx = xcalloc(1, sizeof(*fx));
	struct crypto_cert *c;
	size_t		 len;
	char		 err[256];

	assert_non_null(fx->key = crypto_key_generate(KEY_EC_P256));
	assert_non_null(fx->other = crypto_key_generate(KEY_EC_P256));
	assert_non_null(fx->key_pem = crypto_key_to_pem(fx->key, &len));
	assert_non_null(fx->leaf = crypto_alpn_cert(fx->key, "www.example.org",
	    "t.k"));
	assert_non_null(fx->chain = crypto_alpn_cert(fx->other,
	    "issuer.example", "t.k"));
	assert_non_null(c = crypto_cert_from_pem(fx->leaf, strlen(fx->leaf),
	    err, sizeof(err)));
	assert_int_equal(crypto_cert_get_info(c, &fx->info, err, sizeof(err)),
	    0);
	crypto_cert_free(c);
	fx->rec.name = "www";
	fx->rec.serial = fx->info.serial;
	fx->rec.not_before = fx->info.not_before;
	fx->rec.not_after = fx->info.not_after;
	fx->rec.key_pem = fx->key_pem;
	fx->rec.cert_pem = fx->leaf;
	fx->rec.chain_pem = fx->chain;
	fx->rec.node = "node-1";
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;

	crypto_key_free(fx->key);
	crypto_key_free(fx->other);
	xfree_secret_str(fx->key_pem);
	free(fx->leaf);
	free(fx->chain);
	crypto_cert_info_clear(&fx->info);
	free(fx);
	return 0;
}

static int
parse_cert(const char *json, struct cluster_cert_rec *r, const char **why)
{
	return cluster_cert_parse((const unsigned char *)json, strlen(json), r,
	    why);
}

static void
cert_record_round_trips(void **state)
{
	struct fx	*fx = *state;
	struct cluster_cert_rec r;
	const char	*why = NULL;
	char		*json, *again, err[256];
	size_t		 len, len2;

	json = cluster_cert_encode(&fx->rec, &len);
	assert_int_equal(strlen(json), len);
	assert_int_equal(parse_cert(json, &r, &why), 0);
	assert_string_equal(r.name, "www");
	assert_string_equal(r.serial, fx->info.serial);
	assert_int_equal(r.not_before, fx->info.not_before);
	assert_int_equal(r.not_after, fx->info.not_after);
	assert_string_equal(r.key_pem, fx->key_pem);
	assert_string_equal(r.cert_pem, fx->leaf);
	assert_string_equal(r.chain_pem, fx->chain);
	assert_string_equal(r.node, "node-1");
	/* one record, one text */
	again = cluster_cert_encode(&r, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(json, again, len);
	assert_int_equal(cluster_cert_check(&r, "www",
	    (const char *const[]){ "www.example.org" }, 1, err, sizeof(err)),
	    0);
	cluster_cert_clear(&r);
	assert_null(r.key_pem);
	assert_null(r.name);
	cluster_cert_clear(NULL);
	xfree_secret_str(json);
	xfree_secret_str(again);
}

/* json with member name replaced by v (NULL: removed); v is stolen. */
static char *
mutate(const char *json, const char *name, json_t *v)
{
	json_t	*o = json_loads(json, 0, NULL);
	char	*s;

	assert_non_null(o);
	if (v == NULL)
		assert_int_equal(json_object_del(o, name), 0);
	else
		assert_int_equal(json_object_set_new(o, name, v), 0);
	assert_non_null(s = json_dumps(o, JSON_COMPACT));
	json_decref(o);
	return s;
}

/* parse of json must fail with why containing want, r left zeroed. */
static void
expect_refused(const char *json, const char *want)
{
	static const struct cluster_cert_rec zero;
	struct cluster_cert_rec r;
	const char	*why = NULL;

	memset(&r, 0xa5, sizeof(r));
	if (parse_cert(json, &r, &why) == 0)
		fail_msg("accepted: %s", json);
	assert_non_null(why);
	if (strstr(why, want) == NULL)
		fail_msg("why \"%s\" lacks \"%s\" for %s", why, want, json);
	assert_memory_equal(&r, &zero, sizeof(r));
}

#define REFUSE(json, name, v, want) do {				\
	char *m_ = mutate((json), (name), (v));				\
	expect_refused(m_, (want));					\
	free(m_);							\
} while (0)

static void
cert_record_fields_are_exact(void **state)
{
	struct fx	*fx = *state;
	static const char *const fields[] = {
		"name", "serial", "not_before", "not_after", "key_pem",
		"cert_pem", "chain_pem", "node"
	};
	static const char *const times[] = { "not_before", "not_after" };
	char		*json, *dup;
	size_t		 len, i;

	json = cluster_cert_encode(&fx->rec, &len);
	for (i = 0; i < NELEM(fields); i++) {
		REFUSE(json, fields[i], NULL, fields[i]);
		REFUSE(json, fields[i], json_null(), fields[i]);
		REFUSE(json, fields[i], json_true(), fields[i]);
		REFUSE(json, fields[i], json_array(), fields[i]);
	}
	for (i = 0; i < NELEM(times); i++) {
		REFUSE(json, times[i], json_string("1700000000"), times[i]);
		REFUSE(json, times[i], json_real(1.5), times[i]);
		REFUSE(json, times[i], json_integer(-1), times[i]);
	}
	REFUSE(json, "extra", json_string("x"), "unknown field");
	REFUSE(json, "Name", json_string("www"), "unknown field");
	REFUSE(json, "name", json_string(""), "name");
	REFUSE(json, "name", json_string("a/b"), "name");
	REFUSE(json, "node", json_string(".."), "node");
	REFUSE(json, "serial", json_string("ABCDEF"), "serial");
	REFUSE(json, "serial", json_string("0x12"), "serial");
	REFUSE(json, "serial", json_string("-12"), "serial");
	REFUSE(json, "serial", json_integer(12), "serial");
	REFUSE(json, "key_pem", json_string(""), "key_pem");
	REFUSE(json, "cert_pem", json_string(""), "cert_pem");
	REFUSE(json, "not_before", json_integer((json_int_t)
	    fx->info.not_after + 1), "not_after");
	expect_refused("", "JSON");
	expect_refused("[]", "JSON");
	expect_refused("\"www\"", "JSON");
	expect_refused("{\"name\":\"www\"", "JSON");
	expect_refused("{\"name\":\"w\\u0000w\"}", "JSON");
	/* a member twice: the later must not silently win */
	dup = xasprintf("{\"name\":\"other\",%s", json + 1);
	expect_refused(dup, "JSON");
	free(dup);
	/* an empty chain parses (the install check wants one) */
	{
		struct cluster_cert_rec r;
		const char *why;
		char *m = mutate(json, "chain_pem", json_string(""));

		assert_int_equal(parse_cert(m, &r, &why), 0);
		assert_string_equal(r.chain_pem, "");
		cluster_cert_clear(&r);
		free(m);
	}
	xfree_secret_str(json);
}

static void
account_and_order_records_round_trip_and_are_exact(void **state)
{
	struct cluster_account_rec a = { "le", "-----BEGIN KEY-----", "https://ca/acct/1" };
	struct cluster_order_rec o = { "le", "https://ca/order/9", "-----BEGIN KEY-----", "node-2" };
	struct cluster_account_rec a2;
	struct cluster_order_rec o2;
	const char	*why = NULL;
	char		*ja, *jo, *m;
	size_t		 la, lo;

	(void)state;
	ja = cluster_account_encode(&a, &la);
	assert_string_equal(ja, "{\"ca\":\"le\",\"key_pem\":\"-----BEGIN "
	    "KEY-----\",\"url\":\"https://ca/acct/1\"}");
	assert_int_equal(cluster_account_parse((unsigned char *)ja, la, &a2,
	    &why), 0);
	assert_string_equal(a2.ca, "le");
	assert_string_equal(a2.key_pem, a.key_pem);
	assert_string_equal(a2.url, a.url);
	cluster_account_clear(&a2);
	assert_null(a2.key_pem);

	jo = cluster_order_encode(&o, &lo);
	assert_int_equal(cluster_order_parse((unsigned char *)jo, lo, &o2,
	    &why), 0);
	assert_string_equal(o2.ca, "le");
	assert_string_equal(o2.url, o.url);
	assert_string_equal(o2.key_pem, o.key_pem);
	assert_string_equal(o2.node, "node-2");
	cluster_order_clear(&o2);

	/* each record its own field set: an order is no account */
	assert_int_equal(cluster_account_parse((unsigned char *)jo, lo, &a2,
	    &why), -1);
	assert_string_equal(why, "unknown field");
	assert_int_equal(cluster_order_parse((unsigned char *)ja, la, &o2,
	    &why), -1);
	assert_null(o2.ca);
	m = mutate(ja, "key_pem", NULL);
	assert_int_equal(cluster_account_parse((unsigned char *)m, strlen(m),
	    &a2, &why), -1);
	assert_non_null(strstr(why, "key_pem"));
	free(m);
	m = mutate(jo, "ca", json_string("no/such"));
	assert_int_equal(cluster_order_parse((unsigned char *)m, strlen(m),
	    &o2, &why), -1);
	assert_non_null(strstr(why, "\"ca\""));
	free(m);
	xfree_secret_str(ja);
	xfree_secret_str(jo);
}

static void
challenge_record_round_trips_every_field(void **state)
{
	struct acme_challenge c = { "http-01", "dns", "www.example.org",
	    "tok-1", "tok-1.thumb", NULL, "www" }, v;
	struct acme_challenge d = { "dns-01", "dns", "example.org", "tok-2",
	    "tok-2.thumb", "digest", NULL };
	struct cluster_chall_rec r;
	const char	*why = NULL;
	char		*j, *m;
	size_t		 len;

	(void)state;
	j = cluster_chall_encode(&c, &len);
	assert_int_equal(cluster_chall_parse((unsigned char *)j, len, &r,
	    &why), 0);
	cluster_chall_view(&r, &v);
	assert_string_equal(v.type, "http-01");
	assert_string_equal(v.id_type, "dns");
	assert_string_equal(v.id_value, "www.example.org");
	assert_string_equal(v.token, "tok-1");
	assert_string_equal(v.keyauth, "tok-1.thumb");
	assert_null(v.digest);
	assert_string_equal(v.cert, "www");
	assert_ptr_equal(v.token, r.token);
	cluster_chall_clear(&r);
	assert_null(r.token);

	m = mutate(j, "token", json_string(""));
	assert_int_equal(cluster_chall_parse((unsigned char *)m, strlen(m), &r,
	    &why), -1);
	assert_non_null(strstr(why, "token"));
	free(m);
	m = mutate(j, "digest", json_integer(1));
	assert_int_equal(cluster_chall_parse((unsigned char *)m, strlen(m), &r,
	    &why), -1);
	assert_non_null(strstr(why, "digest"));
	free(m);
	m = mutate(j, "keyauth", NULL);
	assert_int_equal(cluster_chall_parse((unsigned char *)m, strlen(m), &r,
	    &why), -1);
	free(m);
	free(j);

	j = cluster_chall_encode(&d, &len);
	assert_int_equal(cluster_chall_parse((unsigned char *)j, len, &r,
	    &why), 0);
	assert_string_equal(r.digest, "digest");
	assert_null(r.cert);
	cluster_chall_clear(&r);
	free(j);
}

/* cluster_cert_check of r must fail naming the certificate and want. */
static void
expect_check_fails(const struct cluster_cert_rec *r, const char *const *dom,
    size_t n, const char *want)
{
	char	err[512];

	err[0] = '\0';
	assert_int_equal(cluster_cert_check(r, "www", dom, n, err,
	    sizeof(err)), -1);
	if (strncmp(err, "certificate www: ", 17) != 0 ||
	    strstr(err, want) == NULL)
		fail_msg("err \"%s\" lacks \"%s\"", err, want);
}

static void
install_check_judges_the_record(void **state)
{
	struct fx	*fx = *state;
	const char *const dom[] = { "www.example.org" };
	const char *const two[] = { "www.example.org", "example.org" };
	const char *const other[] = { "www.example.com" };
	struct cluster_cert_rec r = fx->rec;
	size_t		 len;
	char		*other_key, *both, serial[80];

	expect_check_fails(&r, two, 2, "not exactly the inventory's domains");
	expect_check_fails(&r, other, 1, "not exactly the inventory's domains");
	/* the domains' order does not matter, only the set */
	assert_int_equal(cluster_cert_check(&r, "www", dom, 1, serial,
	    sizeof(serial)), 0);

	assert_non_null(other_key = crypto_key_to_pem(fx->other, &len));
	r.key_pem = other_key;
	expect_check_fails(&r, dom, 1, "the key is not the leaf's");
	r.key_pem = "not a key";
	expect_check_fails(&r, dom, 1, "the key does not parse");
	r = fx->rec;

	r.cert_pem = fx->key_pem;
	expect_check_fails(&r, dom, 1, "the leaf does not parse");
	both = xasprintf("%s%s", fx->leaf, fx->chain);
	r.cert_pem = both;
	expect_check_fails(&r, dom, 1, "more than the leaf");
	r = fx->rec;

	r.chain_pem = "";
	expect_check_fails(&r, dom, 1, "chain");
	r.chain_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n"
	    "-----END CERTIFICATE-----\n";
	expect_check_fails(&r, dom, 1, "chain");
	r = fx->rec;

	snprintf(serial, sizeof(serial), "%s0", fx->info.serial);
	r.serial = serial;
	expect_check_fails(&r, dom, 1, "is not the leaf's");
	r = fx->rec;
	r.not_after++;
	expect_check_fails(&r, dom, 1, "validity");
	r = fx->rec;
	r.not_before--;
	expect_check_fails(&r, dom, 1, "validity");
	r = fx->rec;
	r.name = "api";
	expect_check_fails(&r, dom, 1, "the record is for api");

	xfree_secret_str(other_key);
	free(both);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(cert_record_round_trips,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(cert_record_fields_are_exact,
		    setup, teardown),
		cmocka_unit_test(account_and_order_records_round_trip_and_are_exact),
		cmocka_unit_test(challenge_record_round_trips_every_field),
		cmocka_unit_test_setup_teardown(install_check_judges_the_record,
		    setup, teardown),
	};

	crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
