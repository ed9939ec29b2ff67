/* test_conf.c - the YAML inventory: structs, every error with its line:col */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "presets.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* one CA on lines 1-3, so certificates start on line 4 */
#define CA1 \
	"cas:\n" \
	"  - name: le\n" \
	"    directory: https://ca.test/dir\n"

static struct conf *
parse(const char *yaml, struct conf_errors *errs)
{
	return conf_parse("t.yaml", yaml, strlen(yaml), errs);
}

/* Parses yaml, which must be valid; prints what went wrong otherwise. */
static struct conf *
parse_ok(const char *yaml)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf	*conf;
	size_t		 i;

	conf = parse(yaml, &errs);
	for (i = 0; i < errs.n; i++)
		print_message("unexpected: %s\n", errs.msg[i]);
	assert_int_equal(errs.n, 0);
	assert_non_null(conf);
	conf_errors_clear(&errs);
	return conf;
}

/* yaml must be refused with exactly these messages, in this order. */
static void
expect_errors(const char *yaml, const char *const *want, size_t nwant)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf	*conf;
	size_t		 i;
	int		 same;

	conf = parse(yaml, &errs);
	same = errs.n == nwant;
	for (i = 0; same && i < nwant; i++)
		same = strcmp(errs.msg[i], want[i]) == 0;
	if (!same) {
		for (i = 0; i < errs.n; i++)
			print_message("got:  %s\n", errs.msg[i]);
		for (i = 0; i < nwant; i++)
			print_message("want: %s\n", want[i]);
	}
	conf_errors_clear(&errs);
	assert_null(errs.msg);
	assert_int_equal(errs.n, 0);
	conf_free(conf);
	assert_null(conf);
	assert_true(same);
}

#define EXPECT(yaml, ...) do {						\
	const char *const want_[] = { __VA_ARGS__ };			\
	expect_errors((yaml), want_, NELEM(want_));			\
} while (0)

static void
full_example_parses_to_expected_structs(void **state)
{
	static const char yaml[] =
	    "state_dir: /srv/renewd\n"
	    "http01:\n"
	    "  listen: [\"[::1]:8080\", \"127.0.0.1:80\"]\n"
	    "cas:\n"
	    "  - name: le\n"
	    "    directory: https://acme.test/directory\n"
	    "    contact: [\"mailto:ops@example.com\", \"mailto:x@example.com\"]\n"
	    "    max_concurrent_orders: 3\n"
	    "  - name: backup\n"
	    "    directory: https://backup.test/dir\n"
	    "    eab: { kid: kid-1, hmac_key: c2VjcmV0 }\n"
	    "    ca_bundle: /etc/ssl/backup.pem\n"
	    "defaults:\n"
	    "  ca: [le, backup]\n"
	    "  key: rsa-2048\n"
	    "  challenge: dns-01\n"
	    "  renew_before: 1d12h\n"
	    "certificates:\n"
	    "  - name: www\n"
	    "    domains: [Example.COM, www.example.com.]\n"
	    "    deploy:\n"
	    "      - path: /etc/nginx/www.pem\n"
	    "        content: fullchain+key\n"
	    "        mode: \"0640\"\n"
	    "        owner: root\n"
	    "        group: www-data\n"
	    "      - path: /etc/nginx/www.crt\n"
	    "    reload:\n"
	    "      - unit: nginx.service\n"
	    "      - exec: [/usr/sbin/haproxy, -c, -f, /etc/haproxy.cfg]\n"
	    "      - signal: SIGUSR2\n"
	    "        pidfile: /run/haproxy.pid\n"
	    "  - name: edge_2.x\n"
	    "    domains: [edge.example.com]\n"
	    "    key: ecdsa-p384\n"
	    "    ca: backup\n"
	    "    challenge: tls-alpn-01\n"
	    "    renew_before: 30d\n"
	    "dns01: { hook: [/bin/true] }\n"
	    "tlsalpn01: { listen: \"127.0.0.1:443\" }\n";
	struct conf		*conf = parse_ok(yaml);
	const struct conf_cert	*c;
	const struct conf_ca	*ca;

	assert_string_equal(conf->path, "t.yaml");
	assert_string_equal(conf->state_dir, "/srv/renewd");
	assert_int_equal(conf->http01.listen.n, 2);
	assert_string_equal(conf->http01.listen.v[0], "[::1]:8080");
	assert_string_equal(conf->http01.listen.v[1], "127.0.0.1:80");
	assert_null(conf->http01.webroot);

	assert_int_equal(conf->ncas, 2);
	ca = &conf->cas[0];
	assert_string_equal(ca->name, "le");
	assert_string_equal(ca->directory, "https://acme.test/directory");
	assert_int_equal(ca->contact.n, 2);
	assert_string_equal(ca->contact.v[1], "mailto:x@example.com");
	assert_int_equal(ca->max_concurrent_orders, 3);
	assert_null(ca->eab_kid);
	assert_null(ca->ca_bundle);
	assert_int_equal(ca->line, 5);
	ca = &conf->cas[1];
	assert_string_equal(ca->eab_kid, "kid-1");
	assert_string_equal(ca->eab_hmac_key, "c2VjcmV0");
	assert_string_equal(ca->ca_bundle, "/etc/ssl/backup.pem");
	assert_int_equal(ca->max_concurrent_orders, 8);
	assert_int_equal(ca->contact.n, 0);

	assert_int_equal(conf->defaults.ca.n, 2);
	assert_int_equal(conf->defaults.key, KEY_RSA_2048);
	assert_int_equal(conf->defaults.challenge, CHALLENGE_DNS01);
	assert_int_equal(conf->defaults.renew_before, 86400 + 12 * 3600);

	assert_int_equal(conf->ncerts, 2);
	c = &conf->certs[0];
	assert_string_equal(c->name, "www");
	assert_int_equal(c->line, 19);
	assert_int_equal(c->domains.n, 2);
	assert_string_equal(c->domains.v[0], "example.com");
	assert_string_equal(c->domains.v[1], "www.example.com");
	assert_int_equal(c->key, KEY_RSA_2048);
	assert_int_equal(c->challenge, CHALLENGE_DNS01);
	assert_int_equal(c->renew_before, 86400 + 12 * 3600);
	assert_int_equal(c->ca.n, 2);
	assert_string_equal(c->ca.v[0], "le");
	assert_string_equal(c->ca.v[1], "backup");
	assert_int_equal(c->dlv->ndeploy, 2);
	assert_string_equal(c->dlv->deploy[0].path, "/etc/nginx/www.pem");
	assert_int_equal(c->dlv->deploy[0].content, DEPLOY_FULLCHAIN_KEY);
	assert_int_equal(c->dlv->deploy[0].mode, 0640);
	assert_string_equal(c->dlv->deploy[0].owner, "root");
	assert_string_equal(c->dlv->deploy[0].group, "www-data");
	assert_int_equal(c->dlv->deploy[1].content, DEPLOY_FULLCHAIN);
	assert_int_equal(c->dlv->deploy[1].mode, 0600);
	assert_null(c->dlv->deploy[1].owner);
	assert_null(c->dlv->deploy[1].group);
	assert_int_equal(c->dlv->nreload, 3);
	assert_int_equal(c->dlv->reload[0].kind, RELOAD_UNIT);
	assert_string_equal(c->dlv->reload[0].unit, "nginx.service");
	assert_int_equal(c->dlv->reload[1].kind, RELOAD_EXEC);
	assert_int_equal(c->dlv->reload[1].argv.n, 4);
	assert_string_equal(c->dlv->reload[1].argv.v[0], "/usr/sbin/haproxy");
	assert_string_equal(c->dlv->reload[1].argv.v[3], "/etc/haproxy.cfg");
	assert_int_equal(c->dlv->reload[2].kind, RELOAD_SIGNAL);
	assert_int_equal(c->dlv->reload[2].signo, SIGUSR2);
	assert_string_equal(c->dlv->reload[2].pidfile, "/run/haproxy.pid");

	c = &conf->certs[1];
	assert_string_equal(c->name, "edge_2.x");
	assert_string_equal(c->domains.v[0], "edge.example.com");
	assert_int_equal(c->key, KEY_EC_P384);
	assert_int_equal(c->challenge, CHALLENGE_TLSALPN01);
	assert_int_equal(c->renew_before, 30 * 86400);
	assert_int_equal(c->ca.n, 1);
	assert_string_equal(c->ca.v[0], "backup");
	assert_int_equal(c->dlv->ndeploy, 0);
	assert_int_equal(c->dlv->nreload, 0);
	conf_free(conf);
}

/* conf_parse over the file at path: no check of the files it names. */
static struct conf *
parse_file(const char *path, struct conf_errors *errs)
{
	struct conf	*conf;
	char		*buf;
	long		 len;
	FILE		*f;

	assert_non_null(f = fopen(path, "r"));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	assert_true((len = ftell(f)) >= 0);
	rewind(f);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	conf = conf_parse(path, buf, (size_t)len, errs);
	free(buf);
	return conf;
}

static void
annotated_example_file_loads_clean(void **state)
{
	const char		*top = getenv("top_srcdir");
	char			 path[4096];
	struct conf_errors	 errs = { NULL, 0 };
	struct conf		*conf;
	size_t			 i;

	if (top == NULL)
		skip();
	snprintf(path, sizeof(path), "%s/conf/renewd.yaml", top);
	/* the schema only: the hook it names is not on this machine */
	conf = parse_file(path, &errs);
	for (i = 0; i < errs.n; i++)
		print_message("unexpected: %s\n", errs.msg[i]);
	assert_int_equal(errs.n, 0);
	assert_non_null(conf);
	assert_int_equal(conf->ncas, 2);
	assert_non_null(conf_cert_find(conf, "www"));
	assert_non_null(conf_cert_find(conf, "edge"));
	/* the reload list comes from an anchor under an x- key */
	assert_int_equal(conf_cert_find(conf, "static")->dlv->nreload, 1);
	conf_free(conf);
}

static void
empty_file_is_valid_and_gets_defaults(void **state)
{
	static const char *const empties[] = {
		"", "# nothing yet\n", "---\n", "~\n",
		"certificates:\n", "certificates: []\ncas: []\n",
	};
	struct conf	*conf;
	size_t		 i;

	for (i = 0; i < NELEM(empties); i++) {
		conf = parse_ok(empties[i]);
		assert_string_equal(conf->state_dir, "/var/lib/renewd");
		assert_int_equal(conf->http01.listen.n, 1);
		assert_string_equal(conf->http01.listen.v[0], "[::]:80");
		assert_int_equal(conf->ncas, 0);
		assert_int_equal(conf->ncerts, 0);
		assert_int_equal(conf->defaults.key, KEY_EC_P256);
		assert_int_equal(conf->defaults.challenge, CHALLENGE_HTTP01);
		assert_int_equal(conf->defaults.renew_before, 0);
		conf_free(conf);
	}
	/* no certificates, but the CAs are still checked */
	EXPECT("cas:\n"
	    "  - name: le\n"
	    "    directory: http://ca.test/dir\n",
	    "t.yaml:3:16: directory: not an https:// URL: "
	    "\"http://ca.test/dir\"");
}

static void
lone_ca_is_the_default_and_defaults_are_inherited(void **state)
{
	struct conf *conf = parse_ok(CA1
	    "defaults:\n"
	    "  key: rsa-4096\n"
	    "  renew_before: 2w\n"
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example]\n"
	    "  - name: b\n"
	    "    domains: [b.example]\n"
	    "    key: ecdsa-p256\n"
	    "    renew_before: auto\n"
	    "    challenge: dns-01\n"
	    "dns01: { hook: [/bin/true] }\n");

	assert_int_equal(conf->defaults.ca.n, 1);
	assert_string_equal(conf->defaults.ca.v[0], "le");
	assert_int_equal(conf->certs[0].ca.n, 1);
	assert_string_equal(conf->certs[0].ca.v[0], "le");
	assert_int_equal(conf->certs[0].key, KEY_RSA_4096);
	assert_int_equal(conf->certs[0].challenge, CHALLENGE_HTTP01);
	assert_int_equal(conf->certs[0].renew_before, 14 * 86400);
	assert_int_equal(conf->certs[1].key, KEY_EC_P256);
	assert_int_equal(conf->certs[1].renew_before, 0);
	assert_int_equal(conf->certs[1].challenge, CHALLENGE_DNS01);
	assert_int_equal(conf->cas[0].max_concurrent_orders, 8);
	conf_free(conf);
}

static void
certificate_without_a_resolvable_ca_is_an_error(void **state)
{
	/* two CAs and no defaults.ca: each certificate must say */
	EXPECT("cas:\n"
	    "  - name: a\n"
	    "    directory: https://a.test/d\n"
	    "  - name: b\n"
	    "    directory: https://b.test/d\n"
	    "certificates:\n"
	    "  - name: x\n"
	    "    domains: [x.example]\n"
	    "  - name: y\n"
	    "    domains: [y.example]\n"
	    "    ca: b\n",
	    "t.yaml:7:5: no CA for this certificate: set \"ca\" here or in "
	    "\"defaults\" (there are 2 CAs)");
	/* certificates need cas */
	EXPECT("certificates:\n"
	    "  - name: x\n"
	    "    domains: [x.example]\n",
	    "t.yaml:1:1: certificates: no CA to issue them; add one under "
	    "\"cas\"");
}

static void
unknown_keys_are_reported_with_suggestions(void **state)
{
	EXPECT("stat_dir: /x\n"
	    "bogus: 1\n"
	    CA1
	    "certificates:\n"
	    "  - name: www\n"
	    "    domian: [a.example]\n"
	    "    Name: x\n",
	    "t.yaml:1:1: unknown key \"stat_dir\"; did you mean \"state_dir\"?",
	    "t.yaml:2:1: unknown key \"bogus\"",
	    "t.yaml:7:5: missing required key \"domains\"",
	    "t.yaml:8:5: unknown key \"domian\"; did you mean \"domains\"?",
	    "t.yaml:9:5: unknown key \"Name\"; did you mean \"name\"?");
	/* deep ones too, and x- keys are only free at the top */
	EXPECT(CA1
	    "    eab: { kid: k, hmac_key: abcd, hmac_kye: x }\n"
	    "http01: { x-a: 1 }\n",
	    "t.yaml:4:36: unknown key \"hmac_kye\"; did you mean "
	    "\"hmac_key\"?",
	    "t.yaml:5:11: unknown key \"x-a\"");
}

static void
wrong_types_are_reported(void **state)
{
	EXPECT("- a\n- b\n",
	    "t.yaml:1:1: expected a mapping at the top level, got a list");
	EXPECT("state_dir: [a]\n"
	    "http01: [a]\n"
	    "cas: le\n"
	    "defaults: x\n"
	    "certificates: {}\n",
	    "t.yaml:1:12: state_dir: expected a string, got a list",
	    "t.yaml:2:9: http01: expected a mapping, got a list",
	    "t.yaml:3:6: cas: expected a list, got a string",
	    "t.yaml:4:11: defaults: expected a mapping, got a string",
	    "t.yaml:5:15: certificates: expected a list, got a mapping");
	EXPECT(CA1
	    "certificates:\n"
	    "  - name: {a: b}\n"
	    "    domains: a.example\n"
	    "  - just-a-string\n"
	    "  - name: c\n"
	    "    domains: [[a], {b: c}, \"\", ~]\n",
	    "t.yaml:5:11: name: expected a string, got a mapping",
	    "t.yaml:6:14: domains: expected a list, got a string",
	    "t.yaml:7:5: certificate: expected a mapping, got a string",
	    "t.yaml:9:15: domains: expected a string, got a list",
	    "t.yaml:9:20: domains: expected a string, got a mapping",
	    "t.yaml:9:28: domains: empty string",
	    "t.yaml:9:32: domains: expected a string, got null");
}

static void
empty_lists_are_reported(void **state)
{
	EXPECT(CA1
	    "    contact: []\n"
	    "http01: { listen: [] }\n"
	    "defaults: { ca: [] }\n"
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: []\n"
	    "    deploy: []\n"
	    "    reload: []\n",
	    "t.yaml:4:14: contact: empty list",
	    "t.yaml:5:19: listen: empty list",
	    "t.yaml:6:17: ca: empty list",
	    "t.yaml:9:14: domains: empty list",
	    "t.yaml:10:13: deploy: empty list",
	    "t.yaml:11:13: reload: empty list");
}

/* RFC 8738: addresses in their canonical form, never through dns-01. */
static void
ip_addresses_are_canonical_and_not_for_dns01(void **state)
{
	struct conf	*conf;

	(void)state;
	conf = parse_ok(CA1
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: [\"127.0.0.1\", \"0:0::1\", \"2001:DB8:0::A\"]\n");
	assert_string_equal(conf->certs[0].domains.v[0], "127.0.0.1");
	assert_string_equal(conf->certs[0].domains.v[1], "::1");
	assert_string_equal(conf->certs[0].domains.v[2], "2001:db8::a");
	conf_free(conf);

	/* one address, two spellings: one name listed twice */
	EXPECT(CA1
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: [\"::1\", \"0::1\"]\n",
	    "t.yaml:6:22: domains: domain \"::1\" is listed twice");

	EXPECT(CA1
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example, 192.0.2.1]\n"
	    "    challenge: dns-01\n"
	    "dns01: { hook: [/bin/true] }\n",
	    "t.yaml:6:26: domains: IP address \"192.0.2.1\" cannot be "
	    "validated by dns-01 (RFC 8738): use \"challenge: http-01\" or "
	    "tls-alpn-01");
}

/* preferred_chain: in defaults, overridden per certificate, checked. */
static void
preferred_chain_is_inherited_and_checked(void **state)
{
	struct conf	*conf;
	struct conf_cert *copy;

	(void)state;
	conf = parse_ok(CA1
	    "defaults: { preferred_chain: \"Root X1\" }\n"
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example]\n"
	    "  - name: b\n"
	    "    domains: [b.example]\n"
	    "    preferred_chain: Other Root\n");
	assert_string_equal(conf->certs[0].preferred_chain, "Root X1");
	assert_string_equal(conf->certs[1].preferred_chain, "Other Root");
	/* a copy outlives its inventory: it owns the string */
	copy = conf_cert_dup(&conf->certs[0]);
	conf_free(conf);
	assert_string_equal(copy->preferred_chain, "Root X1");
	conf_cert_free(copy);

	conf = parse_ok(CA1
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example]\n");
	assert_null(conf->certs[0].preferred_chain);
	conf_free(conf);

	EXPECT(CA1
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example]\n"
	    "    preferred_chain: \"\"\n"
	    "  - name: b\n"
	    "    domains: [b.example]\n"
	    "    preferred_chain: \"a\\tb\"\n",
	    "t.yaml:7:22: preferred_chain: empty string",
	    "t.yaml:10:22: preferred_chain: \"a\\x09b\" is no issuer common "
	    "name (1 to 64 printable characters)");
}

/* profile: in defaults, overridden per certificate, shaped like a name. */
static void
profile_is_inherited_and_checked(void **state)
{
	struct conf	*conf;
	struct conf_cert *copy;

	(void)state;
	conf = parse_ok(CA1
	    "defaults: { profile: shortlived }\n"
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example]\n"
	    "  - name: b\n"
	    "    domains: [b.example]\n"
	    "    profile: classic\n");
	assert_string_equal(conf->certs[0].profile, "shortlived");
	assert_string_equal(conf->certs[1].profile, "classic");
	copy = conf_cert_dup(&conf->certs[0]);
	conf_free(conf);
	assert_string_equal(copy->profile, "shortlived");
	conf_cert_free(copy);

	conf = parse_ok(CA1
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example]\n");
	assert_null(conf->certs[0].profile);
	conf_free(conf);

	EXPECT(CA1
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example]\n"
	    "    profile: \"short lived\"\n"
	    "  - name: b\n"
	    "    domains: [b.example]\n"
	    "    profile: \"..\"\n"
	    "  - name: c\n"
	    "    domains: [c.example]\n"
	    "    profile: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	    "t.yaml:7:14: profile: \"short lived\" is no profile name (1 to 64 "
	    "of A-Z a-z 0-9 . _ -)",
	    "t.yaml:10:14: profile: \"..\" is no profile name (1 to 64 of "
	    "A-Z a-z 0-9 . _ -)",
	    "t.yaml:13:14: profile: "
	    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" "
	    "is no profile name (1 to 64 of A-Z a-z 0-9 . _ -)");
}

static void
domain_names_are_checked_and_normalised(void **state)
{
	char		 yaml[2048], long_label[70], long_name[300];
	char		 want_label[256], want_name[256];
	struct conf	*conf;
	size_t		 i;

	conf = parse_ok(CA1
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: [WWW.Example.COM., \"*.xn--bcher-kva.example\","
	    " a-b.c0, localhost]\n"
	    "    challenge: dns-01\n"
	    "dns01: { hook: [/bin/true] }\n");
	assert_string_equal(conf->certs[0].domains.v[0], "www.example.com");
	assert_string_equal(conf->certs[0].domains.v[1],
	    "*.xn--bcher-kva.example");
	assert_string_equal(conf->certs[0].domains.v[2], "a-b.c0");
	conf_free(conf);

	/* CAs check wildcards only with dns-01 */
	EXPECT(CA1
	    "defaults: { challenge: dns-01 }\n"
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: [\"*.a.example\", b.example]\n"
	    "    challenge: http-01\n"
	    "  - name: b\n"
	    "    domains: [\"*.b.example\"]\n"
	    "dns01: { hook: [/bin/true] }\n",
	    "t.yaml:7:15: domains: wildcard \"*.a.example\" needs "
	    "\"challenge: dns-01\"");

	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	/* 4 labels of 63 plus dots = 255 characters */
	for (i = 0; i < 4; i++) {
		memset(long_name + i * 64, 'b', 63);
		long_name[i * 64 + 63] = '.';
	}
	long_name[255] = '\0';
	snprintf(want_label, sizeof(want_label), "t.yaml:16:9: domains: bad "
	    "domain name \"%s.example\": label longer than 63 characters",
	    long_label);
	/* messages quote at most about 90 characters of user text */
	snprintf(want_name, sizeof(want_name), "t.yaml:17:9: domains: bad "
	    "domain name \"%.87s...\": longer than 253 characters", long_name);
	snprintf(yaml, sizeof(yaml), CA1
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains:\n"
	    "      - a..b\n"
	    "      - -a.example\n"
	    "      - a-.example\n"
	    "      - a_b.example\n"
	    "      - www.*.example\n"
	    "      - \"*\"\n"
	    "      - a*.example\n"
	    "      - example.com..\n"
	    "      - \"b\\u00fccher.example\"\n"
	    "      - %s.example\n"
	    "      - %s\n",
	    long_label, long_name);
	EXPECT(yaml,
	    "t.yaml:7:9: domains: bad domain name \"a..b\": empty label",
	    "t.yaml:8:9: domains: bad domain name \"-a.example\": label "
	    "starts or ends with a hyphen",
	    "t.yaml:9:9: domains: bad domain name \"a-.example\": label "
	    "starts or ends with a hyphen",
	    "t.yaml:10:9: domains: bad domain name \"a_b.example\": invalid "
	    "character (use letters, digits and hyphens)",
	    "t.yaml:11:9: domains: bad domain name \"www.*.example\": \"*\" "
	    "is only allowed as the whole leftmost label",
	    "t.yaml:12:9: domains: bad domain name \"*\": a wildcard needs "
	    "a domain after \"*.\"",
	    "t.yaml:13:9: domains: bad domain name \"a*.example\": \"*\" is "
	    "only allowed as the whole leftmost label",
	    "t.yaml:14:9: domains: bad domain name \"example.com..\": empty "
	    "label",
	    "t.yaml:15:9: domains: bad domain name \"b\\xc3\\xbccher.example\""
	    ": not ASCII (write internationalised names in their xn-- form)",
	    want_label, want_name);
}

static void
duplicate_certificate_names_are_reported(void **state)
{
	EXPECT(CA1
	    "certificates:\n"
	    "  - name: www\n"
	    "    domains: [a.example]\n"
	    "  - name: www\n"
	    "    domains: [b.example]\n"
	    "  - name: \"bad name\"\n"
	    "    domains: [c.example]\n"
	    "  - name: ..\n"
	    "    domains: [d.example]\n",
	    "t.yaml:7:11: duplicate certificate name \"www\" (first at line 5)",
	    "t.yaml:9:11: name: invalid name \"bad name\" (use up to 200 "
	    "letters, digits, \".\", \"_\" or \"-\"; not \".\" or \"..\")",
	    "t.yaml:11:11: name: invalid name \"..\" (use up to 200 letters, "
	    "digits, \".\", \"_\" or \"-\"; not \".\" or \"..\")");
	/* the same for CAs */
	EXPECT(CA1
	    "  - name: le\n"
	    "    directory: https://other.test/dir\n",
	    "t.yaml:4:11: duplicate CA name \"le\" (first at line 2)");
}

static void
same_domain_in_two_certificates_names_the_other(void **state)
{
	EXPECT(CA1
	    "certificates:\n"
	    "  - name: www\n"
	    "    domains: [example.com, www.example.com]\n"
	    "  - name: other\n"
	    "    domains:\n"
	    "      - other.example.com\n"
	    "      - WWW.example.com.\n"
	    "      - other.example.com\n",
	    "t.yaml:10:9: domains: domain \"www.example.com\" is already in "
	    "certificate \"www\" (line 5)",
	    "t.yaml:11:9: domains: domain \"other.example.com\" is listed "
	    "twice");
}

static void
references_to_missing_cas_are_reported(void **state)
{
	EXPECT(CA1
	    "defaults:\n"
	    "  ca: [le, nope]\n"
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example]\n"
	    "    ca: lets\n"
	    "  - name: b\n"
	    "    domains: [b.example]\n"
	    "    ca: [le, le]\n",
	    "t.yaml:5:12: ca: unknown CA \"nope\"",
	    "t.yaml:9:9: ca: unknown CA \"lets\"",
	    "t.yaml:12:14: ca: CA \"le\" listed twice");
}

static void
ca_entries_are_checked(void **state)
{
	EXPECT("cas:\n"
	    "  - name: a\n"
	    "    directory: ftp://a.test/\n"
	    "    contact: ops@example.com\n"
	    "    max_concurrent_orders: 65\n"
	    "    ca_bundle: ca.pem\n"
	    "  - name: b\n"
	    "    directory: https://\n"
	    "    eab: { kid: k }\n"
	    "    max_concurrent_orders: 0\n"
	    "  - name: c\n"
	    "    directory: https://c.test/d\n"
	    "    eab: { kid: k, hmac_key: \"not+base64/\" }\n"
	    "    max_concurrent_orders: 64\n"
	    "  - directory: https://d.test/\n"
	    "  - name: e\n",
	    "t.yaml:3:16: directory: not an https:// URL: \"ftp://a.test/\"",
	    "t.yaml:4:14: contact: expected a \"mailto:\" URL, got "
	    "\"ops@example.com\"",
	    "t.yaml:5:28: max_concurrent_orders: expected an integer from 1 "
	    "to 64, got \"65\"",
	    "t.yaml:6:16: ca_bundle: not an absolute path: \"ca.pem\"",
	    "t.yaml:8:16: directory: not an https:// URL: \"https://\"",
	    "t.yaml:9:10: missing required key \"hmac_key\"",
	    "t.yaml:10:28: max_concurrent_orders: expected an integer from 1 "
	    "to 64, got \"0\"",
	    "t.yaml:13:30: hmac_key: not base64url",
	    "t.yaml:15:5: missing required key \"name\"",
	    "t.yaml:16:5: missing required key \"directory\"");
}

/* preset: fills directory and staging twin; an explicit directory wins. */
static void
presets_fill_a_ca_entry(void **state)
{
	struct conf	*conf;
	const struct conf_ca *ca;

	(void)state;
	conf = parse_ok("cas:\n"
	    "  - name: le\n"
	    "    preset: letsencrypt\n"
	    "    contact: [\"mailto:ops@example.com\"]\n"
	    "  - name: mirror\n"
	    "    preset: letsencrypt\n"
	    "    directory: https://ca.test/dir\n"
	    "  - name: own\n"
	    "    directory: https://ca.test/prod\n"
	    "    staging: https://ca.test/staging\n"
	    "  - name: z\n"
	    "    preset: zerossl\n"
	    "    eab: { kid: k, hmac_key: c2VjcmV0 }\n"
	    "defaults: { ca: le }\n");
	ca = conf_ca_find(conf, "le");
	assert_string_equal(ca->directory,
	    "https://acme-v02.api.letsencrypt.org/directory");
	assert_string_equal(ca->staging,
	    "https://acme-staging-v02.api.letsencrypt.org/directory");
	assert_string_equal(ca->preset, "letsencrypt");
	assert_string_equal(ca->contact.v[0], "mailto:ops@example.com");
	ca = conf_ca_find(conf, "mirror");
	assert_string_equal(ca->directory, "https://ca.test/dir");
	assert_string_equal(ca->staging,
	    "https://acme-staging-v02.api.letsencrypt.org/directory");
	ca = conf_ca_find(conf, "own");
	assert_null(ca->preset);
	assert_string_equal(ca->staging, "https://ca.test/staging");
	ca = conf_ca_find(conf, "z");
	assert_string_equal(ca->directory, "https://acme.zerossl.com/v2/DV90");
	assert_null(ca->staging);	/* ZeroSSL has none */
	assert_string_equal(ca->eab_kid, "k");
	conf_free(conf);
}

/* "ca: letsencrypt" with no "cas" section: the preset is the CA. */
static void
presets_need_no_cas_section(void **state)
{
	struct conf	*conf;

	(void)state;
	conf = parse_ok("certificates:\n"
	    "  - name: www\n"
	    "    domains: [www.example.com]\n"
	    "    ca: letsencrypt\n"
	    "  - name: api\n"
	    "    domains: [api.example.com]\n"
	    "    ca: [letsencrypt-staging, letsencrypt]\n");
	assert_int_equal(conf->ncas, 2);
	assert_string_equal(conf->cas[0].name, "letsencrypt");
	assert_string_equal(conf->cas[0].directory,
	    "https://acme-v02.api.letsencrypt.org/directory");
	assert_string_equal(conf->cas[1].name, "letsencrypt-staging");
	assert_int_equal(conf->certs[0].ca.n, 1);
	assert_string_equal(conf->certs[0].ca.v[0], "letsencrypt");
	assert_int_equal(conf->certs[1].ca.n, 2);
	assert_string_equal(conf->certs[1].ca.v[1], "letsencrypt");
	conf_free(conf);
	/* in the defaults too */
	conf = parse_ok("defaults: { ca: letsencrypt }\n"
	    "certificates:\n"
	    "  - { name: www, domains: [www.example.com] }\n");
	assert_int_equal(conf->ncas, 1);
	assert_string_equal(conf->certs[0].ca.v[0], "letsencrypt");
	conf_free(conf);
}

/* Unmet requirements, retired and unknown presets: where and what. */
static void
preset_errors_say_what_is_needed(void **state)
{
	(void)state;
	EXPECT("cas:\n"
	    "  - name: z\n"
	    "    preset: zerossl\n"
	    "  - name: b\n"
	    "    preset: buypass\n"
	    "  - name: n\n"
	    "    preset: letsencrypr\n"
	    "  - name: s\n"
	    "    directory: https://ca.test/d\n"
	    "    staging: http://ca.test/s\n",
	    "t.yaml:3:13: preset: zerossl (https://acme.zerossl.com/v2/DV90) "
	    "requires external account binding: add eab: { kid: KID, "
	    "hmac_key_file: FILE } with the credentials from your ZeroSSL "
	    "account (EAB from the ZeroSSL dashboard (developer section); no "
	    "staging directory; no IP identifiers)",
	    "t.yaml:5:13: preset: \"buypass\": Buypass ended its ACME service "
	    "in 2025 (no new certificates are issued): choose another CA, "
	    "e.g. preset: letsencrypt",
	    "t.yaml:7:13: preset: no CA preset called \"letsencrypr\" (there "
	    "are: letsencrypt, letsencrypt-staging, google, google-staging, "
	    "zerossl, sslcom, actalis)",
	    "t.yaml:10:14: staging: not an https:// URL: \"http://ca.test/s\"");
	EXPECT("certificates:\n"
	    "  - name: www\n"
	    "    domains: [www.example.com]\n"
	    "    ca: google\n"
	    "  - name: old\n"
	    "    domains: [old.example.com]\n"
	    "    ca: buypass\n",
	    "t.yaml:1:1: certificates: no CA to issue them; add one under "
	    "\"cas\"",
	    "t.yaml:4:9: ca: preset google requires external account binding: "
	    "add it under \"cas\" as { name: google, preset: google, eab: { "
	    "kid: KID, hmac_key_file: FILE } }",
	    "t.yaml:7:9: ca: \"buypass\": Buypass ended its ACME service in "
	    "2025 (no new certificates are issued): choose another CA, e.g. "
	    "preset: letsencrypt");
}

/* The import of other clients' setups finds a preset by its URL. */
static void
preset_by_directory_matches_both_urls(void **state)
{
	const struct preset *p;
	unsigned	 i;

	(void)state;
	p = preset_by_directory("https://acme-v02.api.letsencrypt.org/"
	    "directory");
	assert_string_equal(p->name, "letsencrypt");
	/* a staging twin is a preset of its own; a trailing slash is no matter */
	p = preset_by_directory("https://acme-staging-v02.api.letsencrypt."
	    "org/directory/");
	assert_string_equal(p->name, "letsencrypt-staging");
	p = preset_by_directory("https://dv.acme-v02.test-api.pki.goog/"
	    "directory");
	assert_string_equal(p->name, "google-staging");
	assert_null(preset_by_directory("https://ca.test/directory"));
	assert_null(preset_by_directory(NULL));
	assert_null(preset_find("buypass"));
	assert_non_null(preset_retired("buypass"));
	assert_null(preset_retired("letsencrypt"));
	/* every row: https URLs, a date, EAB where the CA requires it */
	for (i = 0; (p = preset_at(i)) != NULL; i++) {
		assert_ptr_equal(preset_find(p->name), p);
		assert_ptr_equal(preset_by_directory(p->directory), p);
		assert_int_equal(strncmp(p->directory, "https://", 8), 0);
		/* every staging twin is a preset too */
		assert_true(p->staging == NULL ||
		    preset_by_directory(p->staging) != NULL);
		assert_int_equal(strlen(p->checked), 10);
		assert_int_equal(p->eab_required,
		    strcmp(p->name, "letsencrypt") != 0 &&
		    strcmp(p->name, "letsencrypt-staging") != 0);
	}
	assert_int_equal(i, 7);
}

static void
relative_paths_are_reported(void **state)
{
	EXPECT("state_dir: var/lib/renewd\n"
	    "http01: { webroot: www }\n"
	    CA1
	    "    issuer_roots: roots.pem\n"
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example]\n"
	    "    deploy: [ { path: a.pem } ]\n"
	    "    reload:\n"
	    "      - exec: [nginx, -s, reload]\n"
	    "      - signal: HUP\n"
	    "        pidfile: run/x.pid\n",
	    "t.yaml:1:12: state_dir: not an absolute path: \"var/lib/renewd\"",
	    "t.yaml:2:20: webroot: not an absolute path: \"www\"",
	    "t.yaml:6:19: issuer_roots: not an absolute path: \"roots.pem\"",
	    "t.yaml:10:23: path: not an absolute path: \"a.pem\"",
	    "t.yaml:12:16: exec: not an absolute path: \"nginx\"",
	    "t.yaml:14:18: pidfile: not an absolute path: \"run/x.pid\"");
}

/* control_socket: absolute, and short enough for a unix socket's address. */
static void
control_socket_is_an_absolute_path_that_fits(void **state)
{
	char		 yaml[512], want[512], longp[120];
	struct conf	*conf;

	conf = parse_ok("control_socket: /run/x/control\n");
	assert_string_equal(conf->control_socket, "/run/x/control");
	conf_free(conf);
	conf = parse_ok("state_dir: /srv\n");
	assert_null(conf->control_socket);	/* main.c picks the default */
	conf_free(conf);
	EXPECT("control_socket: run/control\n",
	    "t.yaml:1:17: control_socket: not an absolute path: \"run/control\"");
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	snprintf(yaml, sizeof(yaml), "control_socket: %s\n", longp);
	/* quoted and cut short, as every untrusted value in a message */
	snprintf(want, sizeof(want), "t.yaml:1:17: control_socket: longer "
	    "than 107 bytes: \"%.87s...\"", longp);
	EXPECT(yaml, want);
}

static void
file_modes_are_octal_and_bounded(void **state)
{
	static const struct {
		const char	*text;
		mode_t		 mode;
	} good[] = {
		{ "\"0640\"", 0640 }, { "0600", 0600 }, { "\"07777\"", 07777 },
		{ "\"0\"", 0 }, { "\"444\"", 0444 },
	};
	char		 yaml[512];
	struct conf	*conf;
	size_t		 i;

	for (i = 0; i < NELEM(good); i++) {
		snprintf(yaml, sizeof(yaml), CA1 "certificates:\n"
		    "  - name: a\n    domains: [a.example]\n"
		    "    deploy: [ { path: /a, mode: %s } ]\n", good[i].text);
		conf = parse_ok(yaml);
		assert_int_equal(conf->certs[0].dlv->deploy[0].mode, good[i].mode);
		conf_free(conf);
	}
	EXPECT(CA1 "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example]\n"
	    "    deploy:\n"
	    "      - { path: /a, mode: \"0999\" }\n"
	    "      - { path: /b, mode: \"10000\" }\n"
	    "      - { path: /c, mode: \"rw-r--r--\" }\n"
	    "      - { path: /d, mode: \"0640\", content: pem }\n",
	    "t.yaml:8:27: mode: bad file mode \"0999\" (expected an octal "
	    "string from \"0000\" to \"07777\", e.g. \"0640\")",
	    "t.yaml:9:27: mode: bad file mode \"10000\" (expected an octal "
	    "string from \"0000\" to \"07777\", e.g. \"0640\")",
	    "t.yaml:10:27: mode: bad file mode \"rw-r--r--\" (expected an "
	    "octal string from \"0000\" to \"07777\", e.g. \"0640\")",
	    "t.yaml:11:44: content: unknown content \"pem\" (expected "
	    "fullchain, cert, chain, key or fullchain+key)");
}

static void
unknown_key_and_challenge_types_are_reported(void **state)
{
	EXPECT(CA1
	    "defaults: { key: rsa-1024, challenge: http01 }\n"
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example]\n"
	    "    key: ed25519\n"
	    "    challenge: dns\n",
	    "t.yaml:4:18: key: unknown key type \"rsa-1024\" (expected "
	    "ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072 or rsa-4096)",
	    "t.yaml:4:39: challenge: unknown challenge type \"http01\" "
	    "(expected http-01, dns-01 or tls-alpn-01)",
	    "t.yaml:8:10: key: unknown key type \"ed25519\" (expected "
	    "ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072 or rsa-4096)",
	    "t.yaml:9:16: challenge: unknown challenge type \"dns\" (expected "
	    "http-01, dns-01 or tls-alpn-01)");
}

static void
durations_parse_or_are_unparsable(void **state)
{
	static const struct {
		const char	*text;
		long		 secs;
	} good[] = {
		{ "auto", 0 }, { "30d", 30 * 86400 }, { "1d12h", 36 * 3600 },
		{ "90m", 5400 }, { "45s", 45 }, { "2w", 14 * 86400 },
		{ "1w1d1h1m1s", 7 * 86400 + 86400 + 3600 + 60 + 1 },
	};
	static const char *const bad[] = {
		"30", "30x", "d", "0d", "-1d", "1.5d", "1d 12h", "AUTO",
		"99999999999999999999d", "1d12", "\"\"",
	};
	char		 yaml[512], want[256];
	struct conf	*conf;
	size_t		 i;

	for (i = 0; i < NELEM(good); i++) {
		snprintf(yaml, sizeof(yaml), "defaults: { renew_before: %s }\n",
		    good[i].text);
		conf = parse_ok(yaml);
		assert_int_equal(conf->defaults.renew_before, good[i].secs);
		conf_free(conf);
	}
	for (i = 0; i < NELEM(bad); i++) {
		snprintf(yaml, sizeof(yaml), "defaults:\n  renew_before: %s\n",
		    bad[i]);
		if (strcmp(bad[i], "\"\"") == 0)
			snprintf(want, sizeof(want),
			    "t.yaml:2:17: renew_before: empty string");
		else
			snprintf(want, sizeof(want), "t.yaml:2:17: "
			    "renew_before: unparsable duration \"%s\" (expected "
			    "\"auto\" or e.g. \"30d\", \"1d12h\")", bad[i]);
		EXPECT(yaml, want);
	}
}

static void
duplicate_keys_in_one_mapping_are_reported(void **state)
{
	EXPECT(CA1
	    "    name: again\n"
	    "cas: []\n"
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example]\n"
	    "    deploy: [ { path: /a, path: /b } ]\n",
	    "t.yaml:4:5: duplicate key \"name\" (first at line 2)",
	    "t.yaml:5:1: duplicate key \"cas\" (first at line 1)",
	    "t.yaml:9:27: duplicate key \"path\" (first at line 9)");
}

static void
missing_required_keys_are_reported(void **state)
{
	EXPECT("cas:\n"
	    "  - contact: [\"mailto:a@b.example\"]\n"
	    "certificates:\n"
	    "  - key: rsa-2048\n"
	    "  - {}\n",
	    "t.yaml:2:5: missing required key \"name\"",
	    "t.yaml:2:5: missing required key \"directory\"",
	    "t.yaml:4:5: missing required key \"name\"",
	    "t.yaml:4:5: missing required key \"domains\"",
	    "t.yaml:5:5: missing required key \"name\"",
	    "t.yaml:5:5: missing required key \"domains\"");
}

static void
yaml_syntax_errors_carry_line_and_column(void **state)
{
	EXPECT("cas:\n"
	    "  - name: le\n"
	    "   directory: x\n",
	    "t.yaml:3:4: syntax error: did not find expected '-' indicator "
	    "(while parsing a block collection at 2:3)");
	EXPECT("state_dir: a: b\n",
	    "t.yaml:1:13: syntax error: mapping values are not allowed in "
	    "this context");
	EXPECT("certificates: [a, b\n",
	    "t.yaml:2:1: syntax error: did not find expected ',' or ']' "
	    "(while parsing a flow sequence at 1:15)");
	EXPECT("a: \"unterminated\n",
	    "t.yaml:2:1: syntax error: found unexpected end of stream "
	    "(while scanning a quoted scalar at 1:4)");
	EXPECT("state_dir: /a\n---\nstate_dir: /b\n",
	    "t.yaml:2:1: more than one YAML document in the file");
	EXPECT("state_dir: *nowhere\n",
	    "t.yaml:1:12: undefined alias \"nowhere\" (an anchor must be "
	    "complete before its alias)");
	EXPECT("x-a: &a [ *a ]\n",
	    "t.yaml:1:11: undefined alias \"a\" (an anchor must be complete "
	    "before its alias)");
}

static void
anchors_aliases_and_merges_work(void **state)
{
	struct conf *conf = parse_ok(CA1
	    "x-common: &common\n"
	    "  key: rsa-3072\n"
	    "  renew_before: 10d\n"
	    "  reload: &nginx [ { unit: nginx.service } ]\n"
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example]\n"
	    "    <<: *common\n"
	    "  - name: b\n"
	    "    domains: [b.example]\n"
	    "    <<: *common\n"
	    "    key: ecdsa-p384\n"
	    "  - name: c\n"
	    "    domains: [c.example]\n"
	    "    reload: *nginx\n");

	assert_int_equal(conf->ncerts, 3);
	assert_int_equal(conf->certs[0].key, KEY_RSA_3072);
	assert_int_equal(conf->certs[0].renew_before, 10 * 86400);
	assert_int_equal(conf->certs[0].dlv->nreload, 1);
	assert_string_equal(conf->certs[0].dlv->reload[0].unit, "nginx.service");
	/* a key written in the mapping beats the merged one */
	assert_int_equal(conf->certs[1].key, KEY_EC_P384);
	assert_int_equal(conf->certs[1].renew_before, 10 * 86400);
	assert_int_equal(conf->certs[2].key, KEY_EC_P256);
	assert_int_equal(conf->certs[2].dlv->nreload, 1);
	assert_string_equal(conf->certs[2].dlv->reload[0].unit, "nginx.service");
	conf_free(conf);

	/* an error inside a shared anchor is reported once, where it is */
	EXPECT(CA1
	    "x-r: &r [ { unit: a.service, pidfile: /x } ]\n"
	    "certificates:\n"
	    "  - { name: a, domains: [a.example], reload: *r }\n"
	    "  - { name: b, domains: [b.example], reload: *r }\n"
	    "  - { name: c, domains: [c.example], <<: [*r] }\n",
	    "t.yaml:4:30: pidfile: only valid with \"signal\"",
	    "t.yaml:8:43: <<: expected a mapping, got a list");
}

static void
alias_bomb_is_refused_quickly(void **state)
{
	static const char bomb[] =
	    "x-a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
	    "x-b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
	    "x-c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
	    "x-d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
	    "x-e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
	    "x-f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
	    "x-g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
	    "x-h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
	    "x-i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
	    "certificates: *i\n";
	/* merges multiply too: each level merges the one below twice */
	static const char merge_bomb[] =
	    "x-a: &a { key: rsa-2048 }\n"
	    "x-b: &b { <<: [*a, *a, *a, *a, *a, *a, *a, *a] }\n"
	    "x-c: &c { <<: [*b, *b, *b, *b, *b, *b, *b, *b] }\n"
	    "x-d: &d { <<: [*c, *c, *c, *c, *c, *c, *c, *c] }\n"
	    "x-e: &e { <<: [*d, *d, *d, *d, *d, *d, *d, *d] }\n"
	    "x-f: &f { <<: [*e, *e, *e, *e, *e, *e, *e, *e] }\n"
	    "x-g: &g { <<: [*f, *f, *f, *f, *f, *f, *f, *f] }\n"
	    "defaults: *g\n";
	struct timespec	 t0, t1;
	double		 secs;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT(bomb, "t.yaml:6:10: aliases expand to more than 100000 nodes "
	    "(alias bomb?); refusing");
	EXPECT(merge_bomb, "t.yaml:6:36: aliases expand to more than 100000 "
	    "nodes (alias bomb?); refusing");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs < 0.5);
}

static void
deep_nesting_is_refused(void **state)
{
	char	yaml[256];
	size_t	i;

	for (i = 0; i < 100; i++)
		yaml[i] = '[';
	yaml[100] = '\0';
	EXPECT(yaml, "t.yaml:1:65: nested deeper than 64 levels; refusing");
}

static void
all_problems_are_reported_in_one_pass(void **state)
{
	/* schema order is cas before certificates; messages come in file order */
	EXPECT("certificates:\n"
	    "  - name: www\n"
	    "    domains: [a..example]\n"
	    "    key: rsa-1\n"
	    "    deploy: [ { path: x, mode: \"0999\" } ]\n"
	    "  - name: www\n"
	    "    domains: [b.example]\n"
	    "    renew_before: soon\n"
	    "cas:\n"
	    "  - name: le\n"
	    "    directory: http://x\n"
	    "    colour: red\n",
	    "t.yaml:3:15: domains: bad domain name \"a..example\": empty label",
	    "t.yaml:4:10: key: unknown key type \"rsa-1\" (expected "
	    "ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072 or rsa-4096)",
	    "t.yaml:5:23: path: not an absolute path: \"x\"",
	    "t.yaml:5:32: mode: bad file mode \"0999\" (expected an octal "
	    "string from \"0000\" to \"07777\", e.g. \"0640\")",
	    "t.yaml:6:11: duplicate certificate name \"www\" (first at line 2)",
	    "t.yaml:8:19: renew_before: unparsable duration \"soon\" (expected "
	    "\"auto\" or e.g. \"30d\", \"1d12h\")",
	    "t.yaml:11:16: directory: not an https:// URL: \"http://x\"",
	    "t.yaml:12:5: unknown key \"colour\"");
}

static void
too_many_errors_stop_with_a_note(void **state)
{
	struct conf_errors errs = { NULL, 0 };
	char		*yaml;
	size_t		 i, off = 0;

	assert_non_null(yaml = malloc(200 * 20 + 1));
	for (i = 0; i < 200; i++)
		off += (size_t)sprintf(yaml + off, "bad%03zu: 1\n", i);
	assert_null(conf_parse("t.yaml", yaml, off, &errs));
	assert_int_equal(errs.n, 101);
	assert_string_equal(errs.msg[0], "t.yaml:1:1: unknown key \"bad000\"");
	assert_string_equal(errs.msg[100],
	    "t.yaml:101:1: too many errors; not checking further");
	conf_errors_clear(&errs);

	/* the note stays last even when the walk was not in file order */
	off = (size_t)sprintf(yaml, CA1);
	for (i = 0; i < 60; i++)
		off += (size_t)sprintf(yaml + off, "    b%02zu: 1\n", i);
	for (i = 0; i < 60; i++)
		off += (size_t)sprintf(yaml + off, "t%02zu: 1\n", i);
	assert_null(conf_parse("t.yaml", yaml, off, &errs));
	assert_int_equal(errs.n, 101);
	assert_string_equal(errs.msg[0], "t.yaml:4:5: unknown key \"b00\"");
	assert_string_equal(errs.msg[40], "t.yaml:64:1: unknown key \"t00\"");
	assert_string_equal(errs.msg[99], "t.yaml:123:1: unknown key \"t59\"");
	assert_string_equal(errs.msg[100],
	    "t.yaml:44:5: too many errors; not checking further");
	conf_errors_clear(&errs);
	free(yaml);
}

static void
http01_listen_and_webroot_are_checked(void **state)
{
	struct conf *conf;

	conf = parse_ok("http01: { webroot: /var/www/acme }\n");
	assert_int_equal(conf->http01.listen.n, 0);
	assert_string_equal(conf->http01.webroot, "/var/www/acme");
	conf_free(conf);
	conf = parse_ok("http01: { listen: \"0.0.0.0:8080\" }\n");
	assert_int_equal(conf->http01.listen.n, 1);
	assert_string_equal(conf->http01.listen.v[0], "0.0.0.0:8080");
	conf_free(conf);

	EXPECT("http01:\n"
	    "  listen: [\"[::]:80\"]\n"
	    "  webroot: /var/www\n",
	    "t.yaml:3:3: webroot: \"listen\" and \"webroot\" are mutually "
	    "exclusive");
	EXPECT("http01:\n"
	    "  listen:\n"
	    "    - \":80\"\n"
	    "    - \"::1:80\"\n"
	    "    - \"[::1]80\"\n"
	    "    - \"127.0.0.1:0\"\n"
	    "    - \"127.0.0.1:65536\"\n"
	    "    - \"example.com:80\"\n"
	    "    - \"[fe80::1]:443\"\n",
	    "t.yaml:3:7: listen: bad address \":80\" (expected \"ipv4:port\" "
	    "or \"[ipv6]:port\")",
	    "t.yaml:4:7: listen: bad address \"::1:80\" (expected "
	    "\"ipv4:port\" or \"[ipv6]:port\")",
	    "t.yaml:5:7: listen: bad address \"[::1]80\" (expected "
	    "\"ipv4:port\" or \"[ipv6]:port\")",
	    "t.yaml:6:7: listen: bad address \"127.0.0.1:0\" (expected "
	    "\"ipv4:port\" or \"[ipv6]:port\")",
	    "t.yaml:7:7: listen: bad address \"127.0.0.1:65536\" (expected "
	    "\"ipv4:port\" or \"[ipv6]:port\")",
	    "t.yaml:8:7: listen: bad address \"example.com:80\" (expected "
	    "\"ipv4:port\" or \"[ipv6]:port\")");
	EXPECT("tlsalpn01:\n"
	    "  listen: [\"127.0.0.1:443\", \"[::1]:443\", \"127.0.0.1:443\"]\n",
	    "t.yaml:2:42: listen: \"127.0.0.1:443\" listed twice");
}

static void
reload_entries_are_checked(void **state)
{
	EXPECT(CA1
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example]\n"
	    "    reload:\n"
	    "      - { unit: a.service, exec: [/bin/true] }\n"
	    "      - {}\n"
	    "      - signal: BOGUS\n"
	    "        pidfile: /run/x.pid\n"
	    "      - signal: HUP\n"
	    "      - exec: []\n"
	    "      - unit: \"a b.service\"\n"
	    "      - unit: a.service\n"
	    "        pidfile: /run/a.pid\n"
	    "      - nginx.service\n",
	    "t.yaml:8:9: reload entry: expected exactly one of \"unit\", "
	    "\"exec\" or \"signal\"",
	    "t.yaml:9:9: reload entry: expected exactly one of \"unit\", "
	    "\"exec\" or \"signal\"",
	    "t.yaml:10:17: signal: unknown signal \"BOGUS\" (expected HUP, "
	    "INT, QUIT, TERM, USR1, USR2, WINCH, ALRM, CONT or KILL)",
	    "t.yaml:12:9: missing required key \"pidfile\"",
	    "t.yaml:13:15: exec: empty list",
	    "t.yaml:14:15: unit: bad unit name \"a b.service\"",
	    "t.yaml:16:9: pidfile: only valid with \"signal\"",
	    "t.yaml:17:9: reload entry: expected a mapping, got a string");
}

/* Writes text to dir/name; returns the path in buf. */
static const char *
put_file(const char *dir, const char *name, const char *text, char *buf,
    size_t len)
{
	int	fd;

	snprintf(buf, len, "%s/%s", dir, name);
	fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return buf;
}

/* Returns msg with every dir replaced by "DIR", in buf. */
static const char *
undir(const char *msg, const char *dir, char *buf, size_t len)
{
	const char	*p;
	size_t		 o = 0, dl = strlen(dir);

	while ((p = strstr(msg, dir)) != NULL && o + 3 < len) {
		o += (size_t)snprintf(buf + o, len - o, "%.*sDIR",
		    (int)(p - msg), msg);
		msg = p + dl;
	}
	if (o < len)
		snprintf(buf + o, len - o, "%s", msg);
	return buf;
}

/* conf_load of path must fail with exactly want[0..n) ("DIR" for dir). */
static void
expect_load_errors(const char *dir, const char *path, const char *const *want,
    size_t n)
{
	struct conf_errors errs = { NULL, 0 };
	char		 buf[512];
	size_t		 i;
	int		 same;

	assert_null(conf_load(path, &errs));
	same = errs.n == n;
	for (i = 0; same && i < n; i++)
		same = strcmp(undir(errs.msg[i], dir, buf, sizeof(buf)),
		    want[i]) == 0;
	if (!same) {
		for (i = 0; i < errs.n; i++)
			print_message("got:  %s\n", errs.msg[i]);
		for (i = 0; i < n; i++)
			print_message("want: %s\n", want[i]);
	}
	conf_errors_clear(&errs);
	assert_true(same);
}

#define EXPECT_LOAD(dir, path, ...) do {				\
	const char *const want_[] = { __VA_ARGS__ };			\
	expect_load_errors((dir), (path), want_, NELEM(want_));		\
} while (0)

static void
include_merges_sorted_files_and_names_both_places(void **state)
{
	static const char main_yaml[] =
	    "include: [conf.d/*.yaml, ca.yaml]\n"
	    "defaults: { ca: le }\n"
	    "certificates:\n"
	    "  - name: www\n"
	    "    domains: [www.example.com]\n";
	char		 dir[] = "/tmp/test_conf.XXXXXX", path[256], mainp[256];
	struct conf_errors errs = { NULL, 0 };
	struct conf	*conf;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/conf.d", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	put_file(dir, "main.yaml", main_yaml, mainp, sizeof(mainp));
	/* conf_parse reads no file: it checks the entries only */
	EXPECT(main_yaml, "t.yaml:2:17: ca: unknown CA \"le\"",
	    "t.yaml:3:1: certificates: no CA to issue them; add one under "
	    "\"cas\"");
	EXPECT("include: [a, \"\", 3]\n", "t.yaml:1:14: include: empty string");

	/* a named file must exist; an empty conf.d is fine */
	EXPECT_LOAD(dir, mainp, "DIR/main.yaml:1:26: include: cannot open "
	    "DIR/ca.yaml: No such file or directory",
	    "DIR/main.yaml:2:17: ca: unknown CA \"le\"",
	    "DIR/main.yaml:3:1: certificates: no CA to issue them; add one "
	    "under \"cas\"");
	put_file(dir, "ca.yaml", CA1, path, sizeof(path));
	conf = conf_load(mainp, &errs);
	assert_int_equal(errs.n, 0);
	assert_non_null(conf);
	assert_int_equal(conf->ncerts, 1);
	conf_free(conf);

	/* files merge after the main one, sorted; other names do not match */
	put_file(dir, "conf.d/b.yaml", "certificates:\n  - name: b\n"
	    "    domains: [b.example.com]\n", path, sizeof(path));
	put_file(dir, "conf.d/a.yaml", "certificates:\n  - name: a\n"
	    "    domains: [a.example.com]\n  - name: a2\n"
	    "    domains: [a2.example.com]\n", path, sizeof(path));
	put_file(dir, "conf.d/skip.yml", "nonsense: [", path, sizeof(path));
	conf = conf_load(mainp, &errs);
	assert_int_equal(errs.n, 0);
	assert_non_null(conf);
	assert_int_equal(conf->ncas, 1);
	assert_int_equal(conf->ncerts, 4);
	assert_string_equal(conf->certs[0].name, "www");
	assert_string_equal(conf->certs[1].name, "a");
	assert_string_equal(conf->certs[2].name, "a2");
	assert_string_equal(conf->certs[3].name, "b");
	assert_string_equal(conf->certs[3].ca.v[0], "le");	/* defaults */
	conf_free(conf);

	/* duplicates across files name both places */
	put_file(dir, "conf.d/a.yaml", "certificates:\n  - name: www\n"
	    "    domains: [www.example.com]\n", path, sizeof(path));
	EXPECT_LOAD(dir, mainp, "DIR/conf.d/a.yaml:2:11: certificate \"www\" "
	    "already defined at DIR/main.yaml:4:11",
	    "DIR/conf.d/a.yaml:3:15: domains: domain \"www.example.com\" is "
	    "already in certificate \"www\" at DIR/main.yaml:4");
	put_file(dir, "conf.d/a.yaml", "cas:\n  - name: le\n"
	    "    directory: https://ca.test/other\n", path, sizeof(path));
	EXPECT_LOAD(dir, mainp, "DIR/ca.yaml:2:11: CA \"le\" already defined "
	    "at DIR/conf.d/a.yaml:2:11");

	/* an included file holds no global setting */
	put_file(dir, "conf.d/a.yaml", "http01: { listen: \"[::1]:80\" }\n"
	    "certificats: []\n", path, sizeof(path));
	EXPECT_LOAD(dir, mainp, "DIR/conf.d/a.yaml:1:1: http01: not allowed "
	    "in an included file, which may hold only \"cas\" and "
	    "\"certificates\"; set it in DIR/main.yaml",
	    "DIR/conf.d/a.yaml:2:1: unknown key \"certificats\"; did you mean "
	    "\"certificates\"?");
	/* a syntax error in an included file carries its own line:col */
	put_file(dir, "conf.d/a.yaml", "certificates:\n  - [\n", path,
	    sizeof(path));
	EXPECT_LOAD(dir, mainp, "DIR/conf.d/a.yaml:3:1: syntax error: did not "
	    "find expected node content (while parsing a flow node at 3:1)");

	unlink(path);
	unlink(put_file(dir, "conf.d/b.yaml", "", path, sizeof(path)));
	unlink(put_file(dir, "conf.d/skip.yml", "", path, sizeof(path)));
	snprintf(path, sizeof(path), "%s/conf.d", dir);
	assert_int_equal(rmdir(path), 0);
	unlink(put_file(dir, "ca.yaml", "", path, sizeof(path)));
	unlink(mainp);
	assert_int_equal(rmdir(dir), 0);
}

/* eab: hmac_key_file is read by conf_load only, and only if 0600-ish. */
static void
eab_hmac_key_file_is_read_if_private(void **state)
{
	char		 dir[] = "/tmp/test_conf.XXXXXX", keyp[256], mainp[256];
	char		 yaml[512];
	struct conf_errors errs = { NULL, 0 };
	struct conf	*conf;

	(void)state;
	assert_non_null(mkdtemp(dir));
	put_file(dir, "eab.key", "c2VjcmV0LWtleQ\n", keyp, sizeof(keyp));
	snprintf(yaml, sizeof(yaml), "cas:\n  - name: le\n"
	    "    directory: https://ca.test/dir\n"
	    "    eab: { kid: k1, hmac_key_file: %s }\n", keyp);
	/* conf_parse reads no file */
	conf = parse_ok(yaml);
	assert_string_equal(conf->cas[0].eab_hmac_key_file, keyp);
	assert_null(conf->cas[0].eab_hmac_key);
	conf_free(conf);
	put_file(dir, "main.yaml", yaml, mainp, sizeof(mainp));
	conf = conf_load(mainp, &errs);
	assert_int_equal(errs.n, 0);
	assert_non_null(conf);
	assert_string_equal(conf->cas[0].eab_kid, "k1");
	assert_string_equal(conf->cas[0].eab_hmac_key, "c2VjcmV0LWtleQ");
	conf_free(conf);

	assert_int_equal(chmod(keyp, 0640), 0);
	EXPECT_LOAD(dir, mainp, "DIR/main.yaml:4:36: hmac_key_file: "
	    "DIR/eab.key is open to group or others (mode 0640); refusing: "
	    "chmod 600 it");
	unlink(keyp);
	put_file(dir, "eab.key", "not+base64/\n", keyp, sizeof(keyp));
	EXPECT_LOAD(dir, mainp, "DIR/main.yaml:4:36: hmac_key_file: "
	    "DIR/eab.key does not hold a base64url key");
	unlink(keyp);
	EXPECT_LOAD(dir, mainp, "DIR/main.yaml:4:36: hmac_key_file: cannot "
	    "read DIR/eab.key: No such file or directory");
	unlink(mainp);
	assert_int_equal(rmdir(dir), 0);

	EXPECT(CA1 "    eab: { kid: k, hmac_key: c2VjcmV0, "
	    "hmac_key_file: /k }\n",
	    "t.yaml:4:10: eab: hmac_key and hmac_key_file both given; keep "
	    "hmac_key_file");
	EXPECT(CA1 "    eab: { kid: k, hmac_key_file: k }\n",
	    "t.yaml:4:35: hmac_key_file: not an absolute path: \"k\"");
}

static void
reuse_key_comes_from_defaults_or_the_certificate(void **state)
{
	struct conf	*conf;

	(void)state;
	conf = parse_ok(CA1 "defaults: { reuse_key: true }\n"
	    "certificates:\n"
	    "  - name: a\n    domains: [a.example]\n"
	    "  - name: b\n    domains: [b.example]\n    reuse_key: false\n");
	assert_true(conf->certs[0].reuse_key);
	assert_false(conf->certs[1].reuse_key);
	conf_free(conf);
	conf = parse_ok(CA1 "certificates:\n"
	    "  - name: a\n    domains: [a.example]\n"
	    "  - name: b\n    domains: [b.example]\n    reuse_key: true\n");
	assert_false(conf->certs[0].reuse_key);
	assert_true(conf->certs[1].reuse_key);
	conf_free(conf);
	EXPECT(CA1 "certificates:\n  - name: a\n    domains: [a.example]\n"
	    "    reuse_key: yes\n",
	    "t.yaml:7:16: reuse_key: unknown value \"yes\" (expected false "
	    "or true)");
}

static void
conf_load_reads_only_the_file_and_bounds_it(void **state)
{
	char			 dir[] = "/tmp/test_conf.XXXXXX", path[256];
	struct conf_errors	 errs = { NULL, 0 };
	struct conf		*conf;
	int			 fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing.yaml", dir);
	assert_null(conf_load(path, &errs));
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.msg[0], "missing.yaml: cannot open: "));
	conf_errors_clear(&errs);

	snprintf(path, sizeof(path), "%s/ok.yaml", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, CA1, strlen(CA1)), (ssize_t)strlen(CA1));
	close(fd);
	conf = conf_load(path, &errs);
	assert_int_equal(errs.n, 0);
	assert_non_null(conf);
	assert_string_equal(conf->path, path);
	assert_string_equal(conf->cas[0].name, "le");
	conf_free(conf);
	unlink(path);

	snprintf(path, sizeof(path), "%s/huge.yaml", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4 * 1024 * 1024 + 1), 0);
	close(fd);
	assert_null(conf_load(path, &errs));
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.msg[0],
	    "huge.yaml: larger than 4194304 bytes; refusing"));
	conf_errors_clear(&errs);
	unlink(path);

	/* a FIFO without a writer: refused at once, not read */
	snprintf(path, sizeof(path), "%s/fifo.yaml", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10);	/* blocking on it would end the test, not hang it */
	assert_null(conf_load(path, &errs));
	alarm(0);
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.msg[0],
	    "fifo.yaml: not a regular file (a FIFO); refusing"));
	conf_errors_clear(&errs);
	unlink(path);

	/* a syntax error names the file path */
	snprintf(path, sizeof(path), "%s/bad.yaml", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "a: [\n", 5), 5);
	close(fd);
	assert_null(conf_load(path, &errs));
	assert_int_equal(errs.n, 1);
	assert_int_equal(strncmp(errs.msg[0], path, strlen(path)), 0);
	assert_string_equal(errs.msg[0] + strlen(path), ":2:1: syntax error: "
	    "did not find expected node content (while parsing a flow node "
	    "at 2:1)");
	conf_errors_clear(&errs);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

static void
helpers_find_dup_compare_and_free(void **state)
{
	struct conf *conf = parse_ok("cas:\n"
	    "  - { name: a, directory: \"https://a.test/\" }\n"
	    "  - { name: b, directory: \"https://b.test/\" }\n"
	    "defaults: { ca: [a, b] }\n"
	    "certificates:\n"
	    "  - name: one\n"
	    "    domains: [x.example, y.example]\n"
	    "    deploy: [ { path: /p, owner: o } ]\n"
	    "    reload: [ { exec: [/bin/true, x] }, { signal: HUP, "
	    "pidfile: /p } ]\n"
	    "  - name: two\n"
	    "    domains: [y.example.org, x.example.org]\n");
	struct conf_cert	*dup, *dup2;
	struct conf_errors	 errs = { NULL, 0 };

	assert_ptr_equal(conf_ca_find(conf, "b"), &conf->cas[1]);
	assert_null(conf_ca_find(conf, "c"));
	assert_null(conf_ca_find(conf, NULL));
	assert_ptr_equal(conf_cert_find(conf, "two"), &conf->certs[1]);
	assert_null(conf_cert_find(conf, "three"));
	assert_null(conf_cert_find(NULL, "two"));

	assert_non_null(dup = conf_cert_dup(&conf->certs[0]));
	assert_ptr_not_equal(dup->name, conf->certs[0].name);
	assert_string_equal(dup->name, "one");
	assert_string_equal(dup->dlv->deploy[0].owner, "o");
	assert_null(dup->dlv->deploy[0].group);
	assert_string_equal(dup->dlv->reload[0].argv.v[1], "x");
	assert_int_equal(dup->dlv->reload[1].signo, SIGHUP);
	assert_true(conf_cert_same_order(dup, &conf->certs[0]));
	assert_false(conf_cert_same_order(dup, &conf->certs[1]));

	/* SAN order does not matter; key, CA order and challenge do */
	assert_non_null(dup2 = conf_cert_dup(dup));
	free(dup2->domains.v[0]);
	dup2->domains.v[0] = dup2->domains.v[1];
	assert_non_null(dup2->domains.v[1] = strdup("x.example"));
	assert_true(conf_cert_same_order(dup, dup2));
	assert_null(conf_cert_reissue(dup, dup2));
	dup2->key = KEY_RSA_2048;
	assert_false(conf_cert_same_order(dup, dup2));
	assert_string_equal(conf_cert_reissue(dup, dup2), "key type changed");
	dup2->key = dup->key;
	dup2->challenge = CHALLENGE_DNS01;
	assert_false(conf_cert_same_order(dup, dup2));
	/* another challenge type proves the same names: no new certificate */
	assert_null(conf_cert_reissue(dup, dup2));
	dup2->challenge = dup->challenge;
	/* a backup CA less is no reason either; another first CA is */
	dup2->ca.n = 1;
	assert_false(conf_cert_same_order(dup, dup2));
	assert_null(conf_cert_reissue(dup, dup2));
	dup2->ca.n = 2;
	free(dup2->ca.v[0]);
	dup2->ca.v[0] = dup2->ca.v[1];
	assert_non_null(dup2->ca.v[1] = strdup("a"));
	assert_false(conf_cert_same_order(dup, dup2));
	assert_string_equal(conf_cert_reissue(dup, dup2), "first CA changed");
	/* a name fewer: the live certificate would still cover the rest */
	dup2->domains.n = 1;
	assert_string_equal(conf_cert_reissue(dup, dup2), "domains changed");
	dup2->domains.n = 2;
	conf_cert_free(dup2);
	conf_cert_free(dup);

	assert_string_equal(conf_key_type_name(KEY_EC_P256), "ecdsa-p256");
	assert_string_equal(conf_key_type_name(KEY_RSA_4096), "rsa-4096");
	assert_string_equal(conf_challenge_name(CHALLENGE_TLSALPN01),
	    "tls-alpn-01");
	assert_string_equal(conf_challenge_name(CHALLENGE_HTTP01), "http-01");

	conf_free(conf);
	conf_free(NULL);
	conf_cert_free(NULL);
	conf_errors_clear(NULL);
	conf_errors_clear(&errs);
	assert_null(conf_cert_dup(NULL));
	/* errors may be discarded */
	assert_null(conf_parse("t.yaml", "a: [", 4, NULL));
}

static void
merges_follow_yaml_precedence_and_limits(void **state)
{
	char		 yaml[4096];
	size_t		 off, i;
	struct conf	*conf;

	/* own keys beat merged ones; earlier merges beat later ones */
	conf = parse_ok(CA1
	    "x-a: &a { key: rsa-2048, renew_before: 1d }\n"
	    "x-b: &b { key: rsa-4096, challenge: dns-01 }\n"
	    "x-c: &c { <<: *b, renew_before: 2d }\n"
	    "certificates:\n"
	    "  - name: m\n"
	    "    domains: [m.example]\n"
	    "    <<: [*a, *c]\n"
	    "    renew_before: 3d\n"
	    "dns01: { hook: [/bin/true] }\n");
	assert_int_equal(conf->certs[0].key, KEY_RSA_2048);
	assert_int_equal(conf->certs[0].challenge, CHALLENGE_DNS01);
	assert_int_equal(conf->certs[0].renew_before, 3 * 86400);
	conf_free(conf);

	EXPECT(CA1
	    "certificates:\n"
	    "  - name: m\n"
	    "    domains: [m.example]\n"
	    "    <<: { key: rsa-2048 }\n"
	    "    <<: { key: rsa-4096 }\n"
	    "  - name: n\n"
	    "    domains: [n.example]\n"
	    "    <<: just-a-string\n"
	    "  - name: o\n"
	    "    domains: [o.example]\n"
	    "    <<: { keys: rsa-2048 }\n"
	    "    [a]: b\n",
	    "t.yaml:8:5: duplicate key \"<<\" (first at line 7)",
	    "t.yaml:11:9: <<: expected a mapping or a list of mappings, got "
	    "a string",
	    "t.yaml:14:11: unknown key \"keys\"; did you mean \"key\"?",
	    "t.yaml:15:5: expected a string as key, got a list");

	/* a chain of merges is followed 16 deep, no further */
	off = (size_t)snprintf(yaml, sizeof(yaml), "x-0: &m0 { key: rsa-2048 }\n");
	for (i = 1; i <= 17; i++)
		off += (size_t)snprintf(yaml + off, sizeof(yaml) - off,
		    "x-%zu: &m%zu { <<: *m%zu }\n", i, i, i - 1);
	snprintf(yaml + off, sizeof(yaml) - off, "defaults: *m17\n");
	EXPECT(yaml, "t.yaml:2:12: \"<<\" merges nested deeper than 16 levels");

	EXPECT("state_dir: \"/var/lib/\\0renewd\"\n",
	    "t.yaml:1:12: state_dir: contains a NUL byte");
}

static void
ca_and_http01_equality_covers_every_setting(void **state)
{
	struct conf *conf = parse_ok("http01: { listen: [\"[::]:80\", "
	    "\"0.0.0.0:80\"] }\n"
	    "cas:\n"
	    "  - name: a\n"
	    "    directory: https://a.test/dir\n"
	    "    contact: [\"mailto:a@a.test\", \"mailto:b@a.test\"]\n"
	    "    eab: { kid: k1, hmac_key: c2VjcmV0 }\n"
	    "    ca_bundle: /etc/a.pem\n"
	    "    issuer_roots: /etc/a-roots.pem\n"
	    "    max_concurrent_orders: 3\n"
	    "  - name: b\n"
	    "    directory: https://a.test/dir\n");
	struct conf		*conf2;
	struct conf_http01	 h;
	struct conf_ca		*a, *b;
	char			*save;
	int			 same;

	a = conf_ca_dup(&conf->cas[0]);
	assert_ptr_not_equal(a->eab_hmac_key, conf->cas[0].eab_hmac_key);
	assert_string_equal(a->eab_hmac_key, "c2VjcmV0");
	assert_string_equal(a->issuer_roots, "/etc/a-roots.pem");
	assert_null(conf->cas[1].issuer_roots);
	assert_int_equal(a->contact.n, 2);
	assert_int_equal(a->line, 3);
	assert_true(conf_ca_equal(a, &conf->cas[0]));
	assert_true(conf_ca_equal(NULL, NULL));
	assert_false(conf_ca_equal(a, NULL));
	assert_false(conf_ca_equal(&conf->cas[0], &conf->cas[1]));
	/* the line only places messages */
	a->line = 99;
	assert_true(conf_ca_equal(a, &conf->cas[0]));

	/* each setting on its own makes a different client */
#define DIFFERS(field, value) do {					\
	save = a->field;						\
	a->field = (value);						\
	assert_false(conf_ca_equal(a, &conf->cas[0]));			\
	assert_false(conf_ca_equal(&conf->cas[0], a));			\
	assert_int_equal(conf_ca_same_account(a, &conf->cas[0]), same);	\
	a->field = save;						\
	assert_true(conf_ca_equal(a, &conf->cas[0]));			\
} while (0)
	/* these need a new client (another CA or account) ... */
	same = 0;
	DIFFERS(name, "z");
	DIFFERS(directory, "https://a.test/other");
	DIFFERS(eab_kid, "k2");
	DIFFERS(eab_kid, NULL);
	DIFFERS(eab_hmac_key, "c2VjcmV1");
	DIFFERS(eab_hmac_key, NULL);
	DIFFERS(ca_bundle, NULL);
	/* ... these do not: the live client takes them (issuer_roots is
	 * read from the CA's settings when an order ends) */
	same = 1;
	DIFFERS(issuer_roots, NULL);
	DIFFERS(issuer_roots, "/etc/b-roots.pem");
	DIFFERS(contact.v[1], "mailto:c@a.test");
#undef DIFFERS
	assert_true(conf_ca_same_account(a, &conf->cas[0]));
	assert_true(conf_ca_same_account(NULL, NULL));
	assert_false(conf_ca_same_account(a, NULL));
	a->contact.n = 1;
	assert_false(conf_ca_equal(a, &conf->cas[0]));
	a->contact.n = 2;
	/* the account's contact list is sent in order */
	save = a->contact.v[0];
	a->contact.v[0] = a->contact.v[1];
	a->contact.v[1] = save;
	assert_false(conf_ca_equal(a, &conf->cas[0]));
	a->contact.v[1] = a->contact.v[0];
	a->contact.v[0] = save;
	a->max_concurrent_orders = 4;
	assert_false(conf_ca_equal(a, &conf->cas[0]));
	assert_true(conf_ca_same_account(a, &conf->cas[0]));
	conf_ca_free(a);
	b = conf_ca_dup(&conf->cas[1]);
	assert_null(b->eab_kid);
	assert_null(b->eab_hmac_key);
	assert_null(b->contact.v);
	assert_true(conf_ca_equal(b, &conf->cas[1]));
	conf_ca_free(b);
	conf_ca_free(NULL);
	assert_null(conf_ca_dup(NULL));

	h = conf->http01;
	assert_true(conf_http01_equal(&h, &conf->http01));
	assert_true(conf_http01_equal(NULL, NULL));
	assert_false(conf_http01_equal(&h, NULL));
	h.listen.n = 1;
	assert_false(conf_http01_equal(&h, &conf->http01));
	h.listen.n = 0;
	h.webroot = "/var/www";
	assert_false(conf_http01_equal(&h, &conf->http01));
	conf_free(conf);

	/* listen order is kept as written: a reorder counts as a change */
	conf = parse_ok("http01: { listen: [\"0.0.0.0:80\", \"[::]:80\"] }\n");
	conf2 = parse_ok("http01: { listen: [\"[::]:80\", \"0.0.0.0:80\"] }\n");
	assert_false(conf_http01_equal(&conf->http01, &conf2->http01));
	conf_free(conf2);
	conf2 = parse_ok("http01: { listen: [\"0.0.0.0:80\", \"[::]:80\"] }\n");
	assert_true(conf_http01_equal(&conf->http01, &conf2->http01));
	conf_free(conf2);
	conf_free(conf);
	conf = parse_ok("http01: { webroot: /a }\n");
	h = conf->http01;
	assert_true(conf_http01_equal(&h, &conf->http01));
	conf_free(conf);
}

static void
delivery_keys_parse_with_defaults(void **state)
{
	struct conf	*conf;
	const struct conf_cert *a, *b, *w;

	(void)state;
	conf = parse_ok(CA1
	    "defaults:\n"
	    "  reload_delay: 2s\n"
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example]\n"
	    "    reload:\n"
	    "      - { unit: nginx.service, reload_mode: restart, timeout: 20s }\n"
	    "      - { exec: [/usr/sbin/nginx, -s, reload] }\n"
	    "      - { signal: HUP, pidfile: /run/nginx.pid }\n"
	    "    verify: [\"127.0.0.1:443\", \"[::1]:443\", \"www.a.example:8443\"]\n"
	    "  - name: b\n"
	    "    domains: [b.example]\n"
	    "    reload_delay: 1m\n"
	    "    reload_max_delay: 10m\n"
	    "    verify: { address: \"127.0.0.1:443\", servername: www.b.example, timeout: 5s }\n"
	    "  - name: w\n"
	    "    domains: [\"*.w.example\"]\n"
	    "    challenge: dns-01\n"
	    "    verify: { address: [\"127.0.0.1:443\"], servername: x.w.example }\n"
	    "dns01: { hook: [/bin/true] }\n");
	a = conf_cert_find(conf, "a");
	b = conf_cert_find(conf, "b");
	w = conf_cert_find(conf, "w");
	assert_int_equal(a->dlv->reload_delay, 2);
	assert_int_equal(a->dlv->reload_max_delay, CONF_DEF_RELOAD_MAX_DELAY);
	assert_int_equal(a->dlv->reload[0].mode, RELOAD_MODE_RESTART);
	assert_int_equal(a->dlv->reload[0].timeout, 20);
	assert_int_equal(a->dlv->reload[1].mode, RELOAD_MODE_RELOAD);
	assert_int_equal(a->dlv->reload[1].timeout, CONF_DEF_RELOAD_TIMEOUT);
	assert_int_equal(a->dlv->verify.addrs.n, 3);
	assert_string_equal(a->dlv->verify.addrs.v[1], "[::1]:443");
	assert_null(a->dlv->verify.servername);
	assert_int_equal(a->dlv->verify.timeout, CONF_DEF_VERIFY_TIMEOUT);
	assert_int_equal(b->dlv->reload_delay, 60);
	assert_int_equal(b->dlv->reload_max_delay, 600);
	assert_int_equal(b->dlv->verify.addrs.n, 1);
	assert_string_equal(b->dlv->verify.servername, "www.b.example");
	assert_int_equal(b->dlv->verify.timeout, 5);
	assert_string_equal(w->dlv->verify.servername, "x.w.example");
	assert_int_equal(w->dlv->verify.addrs.n, 1);
	/* without "defaults": the built-in delays */
	conf_free(conf);
	conf = parse_ok(CA1 "certificates:\n  - name: a\n    domains: [a.example]\n");
	assert_int_equal(conf->certs[0].dlv->reload_delay, CONF_DEF_RELOAD_DELAY);
	assert_int_equal(conf->certs[0].dlv->reload_max_delay, CONF_DEF_RELOAD_MAX_DELAY);
	assert_int_equal(conf->certs[0].dlv->verify.addrs.n, 0);
	conf_free(conf);
}

static void
delivery_keys_are_checked(void **state)
{
	(void)state;
	EXPECT(CA1 "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example]\n"
	    "    reload:\n"
	    "      - { signal: HUP, pidfile: /run/x.pid, timeout: 5s }\n"
	    "      - { exec: [/bin/true], reload_mode: restart }\n"
	    "      - { unit: x.service, reload_mode: sometimes }\n",
	    "t.yaml:8:45: timeout: only valid with \"exec\" or \"unit\"",
	    "t.yaml:9:30: reload_mode: only valid with \"unit\"",
	    "t.yaml:10:41: reload_mode: unknown reload mode \"sometimes\" "
	    "(expected reload or restart)");
	EXPECT(CA1 "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example]\n"
	    "    verify: [\"a.example\", \"a.example:0\", \"::1:443\"]\n",
	    "t.yaml:7:14: verify: bad address \"a.example\": expected host:port",
	    "t.yaml:7:27: verify: bad address \"a.example:0\": bad port "
	    "(expected 1 to 65535)",
	    "t.yaml:7:42: verify: bad address \"::1:443\": write an IPv6 "
	    "address as [address]:port");
	EXPECT(CA1 "certificates:\n"
	    "  - name: w\n"
	    "    domains: [\"*.w.example\"]\n"
	    "    challenge: dns-01\n"
	    "    verify: [\"127.0.0.1:443\"]\n"
	    "dns01: { hook: [/bin/true] }\n",
	    "t.yaml:8:13: verify: every domain is a wildcard: set "
	    "\"servername\" to a name the servers answer for");
	EXPECT(CA1 "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example]\n"
	    "    reload_delay: soon\n"
	    "    verify: { servername: a.example, tiemout: 5s }\n",
	    "t.yaml:7:19: reload_delay: unparsable duration \"soon\" "
	    "(expected \"auto\" or e.g. \"30d\", \"1d12h\")",
	    "t.yaml:8:13: missing required key \"address\"",
	    "t.yaml:8:38: unknown key \"tiemout\"; did you mean \"timeout\"?");
}

static void
solver_sections_parse_and_are_checked(void **state)
{
	struct conf	*conf, *other;

	(void)state;
	conf = parse_ok(CA1
	    "dns01: { hook: [/usr/local/bin/dns-hook, --zone, example.com],"
	    " timeout: 45s, propagation_delay: 0s }\n"
	    "tlsalpn01: { listen: [\"127.0.0.1:8443\", \"[::1]:8443\"] }\n"
	    "certificates: [{ name: w, challenge: dns-01, domains: [\"*.w.example\","
	    " w.example] }, { name: t, challenge: tls-alpn-01, domains: [t.example] }]\n");
	assert_int_equal(conf->dns01.hook.n, 3);
	assert_string_equal(conf->dns01.hook.v[0], "/usr/local/bin/dns-hook");
	assert_string_equal(conf->dns01.hook.v[2], "example.com");
	assert_int_equal(conf->dns01.timeout, 45);
	assert_int_equal(conf->dns01.propagation_delay, 0);
	assert_int_equal(conf->tlsalpn01.listen.n, 2);
	assert_string_equal(conf->tlsalpn01.listen.v[1], "[::1]:8443");
	/* the defaults; and equality sees every setting */
	other = parse_ok(CA1 "dns01: { hook: /usr/local/bin/dns-hook, "
	    "propagation_delay: 1m }\n");
	assert_int_equal(other->dns01.hook.n, 1);
	assert_int_equal(other->dns01.timeout, CONF_DEF_DNS01_TIMEOUT);
	assert_int_equal(other->dns01.propagation_delay, 60);
	assert_int_equal(other->tlsalpn01.listen.n, 0);
	assert_false(conf_solvers_equal(conf, other));
	assert_true(conf_solvers_equal(conf, conf));
	assert_false(conf_dns01_equal(&conf->dns01, &other->dns01));
	assert_true(conf_dns01_equal(&conf->dns01, &conf->dns01));
	conf_free(other);
	conf_free(conf);
	/* without the sections: no solver */
	conf = parse_ok(CA1 "certificates:\n  - name: a\n    domains: [a.example]\n");
	assert_int_equal(conf->dns01.hook.n, 0);
	assert_int_equal(conf->tlsalpn01.listen.n, 0);
	conf_free(conf);
}

static void
live_check_interval_defaults_to_an_hour_and_is_bounded(void **state)
{
	struct conf *conf;

	(void)state;
	conf = parse_ok(CA1);
	assert_int_equal(conf->live_check_interval, 3600);
	conf_free(conf);
	conf = parse_ok(CA1 "live_check_interval: 90s\n");
	assert_int_equal(conf->live_check_interval, 90);
	conf_free(conf);
	EXPECT(CA1 "live_check_interval: 2d\n",
	    "t.yaml:4:22: live_check_interval: longer than 86400s");
	EXPECT(CA1 "live_check_interval: often\n",
	    "t.yaml:4:22: live_check_interval: unparsable duration \"often\" "
	    "(expected \"auto\" or e.g. \"30d\", \"1d12h\")");
}

static void
solver_section_errors_say_what_to_configure(void **state)
{
	(void)state;
	EXPECT(CA1
	    "dns01: { hook: [dns-hook, add], timeout: 1h, propagation_delay: soon }\n"
	    "tlsalpn01: { listen: \"*:443\", backlog: 5 }\n",
	    "t.yaml:4:17: hook: not an absolute path: \"dns-hook\"",
	    "t.yaml:4:42: timeout: longer than 300s",
	    "t.yaml:4:65: propagation_delay: unparsable duration \"soon\" "
	    "(expected \"auto\" or e.g. \"30d\", \"1d12h\")",
	    "t.yaml:5:22: listen: bad address \"*:443\" (expected "
	    "\"ipv4:port\" or \"[ipv6]:port\")",
	    "t.yaml:5:31: unknown key \"backlog\"");
	EXPECT(CA1 "dns01: { timeout: 10s }\ntlsalpn01: {}\n",
	    "t.yaml:4:8: missing required key \"hook\" (or \"rfc2136\")",
	    "t.yaml:5:12: missing required key \"listen\"");
	/* RFC 2136: one of hook and rfc2136, addresses, the key file's path */
	EXPECT(CA1 "dns01: { hook: [/bin/true], rfc2136: { server: "
	    "\"127.0.0.1:53\", tsig_key_file: /k } }\n",
	    "t.yaml:4:8: dns01: hook and rfc2136 both given; keep one");
	EXPECT(CA1 "dns01:\n  rfc2136: { server: ns1:53, zone: \"a..b\", "
	    "tsig_key_file: k }\n  propagation_resolvers: [\"1.2.3.4\"]\n"
	    "  propagation_check: maybe\n  propagation_timeout: 2h\n",
	    "t.yaml:5:22: server: bad address \"ns1:53\" (expected "
	    "\"ipv4:port\" or \"[ipv6]:port\")",
	    "t.yaml:5:36: zone: not a DNS name: \"a..b\"",
	    "t.yaml:5:59: tsig_key_file: not an absolute path: \"k\"",
	    "t.yaml:6:27: propagation_resolvers: bad address \"1.2.3.4\" "
	    "(expected \"ipv4:port\" or \"[ipv6]:port\")",
	    "t.yaml:7:22: propagation_check: unknown value \"maybe\" "
	    "(expected false or true)",
	    "t.yaml:8:24: propagation_timeout: longer than 3600s");
	EXPECT(CA1 "dns01: { rfc2136: { server: \"127.0.0.1:53\", "
	    "tsig_key_file: /k }, propagation_delay: 5s }\n",
	    "t.yaml:4:85: propagation_delay: for a hook only; rfc2136 has "
	    "propagation_check");
	EXPECT(CA1 "dns01: { rfc2136: { zone: example.com } }\n",
	    "t.yaml:4:19: missing required key \"server\"",
	    "t.yaml:4:19: missing required key \"tsig_key_file\"");
	/* a certificate whose type has no section: at load, not at its first order */
	EXPECT(CA1 "defaults: { challenge: dns-01 }\n"
	    "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example]\n"
	    "  - name: b\n"
	    "    domains: [b.example]\n"
	    "    challenge: tls-alpn-01\n"
	    "  - name: c\n"
	    "    domains: [c.example]\n"
	    "    challenge: http-01\n",
	    "t.yaml:6:5: certificate \"a\" uses dns-01, but there is no dns01 "
	    "section: add dns01: { hook: [/path/to/hook] }",
	    "t.yaml:8:5: certificate \"b\" uses tls-alpn-01, but there is no "
	    "tlsalpn01 section: add tlsalpn01: { listen: [\"[::]:443\"] }");
}

static void
metrics_section_parses_and_is_checked(void **state)
{
	struct conf	*conf;

	(void)state;
	conf = parse_ok(CA1);
	assert_null(conf->metrics.listen);	/* no section: no listener */
	assert_int_equal(conf->metrics.series_all, 0);
	assert_int_equal(conf->metrics.expiring_within, 14 * 86400);
	conf_free(conf);
	conf = parse_ok(CA1 "metrics: { listen: \"127.0.0.1:9568\" }\n");
	assert_string_equal(conf->metrics.listen, "127.0.0.1:9568");
	assert_int_equal(conf->metrics.series_all, 0);
	assert_int_equal(conf->metrics.expiring_within, 14 * 86400);
	conf_free(conf);
	conf = parse_ok(CA1 "metrics:\n  listen: \"[::1]:9568\"\n"
	    "  certificate_series: all\n  expiring_within: 30d\n");
	assert_string_equal(conf->metrics.listen, "[::1]:9568");
	assert_int_equal(conf->metrics.series_all, 1);
	assert_int_equal(conf->metrics.expiring_within, 30 * 86400);
	conf_free(conf);
	EXPECT(CA1 "metrics: { listen: \"localhost:9568\", certificate_series: "
	    "some, expiring_within: soon, port: 1 }\n",
	    "t.yaml:4:20: listen: bad address \"localhost:9568\" (expected "
	    "\"ipv4:port\" or \"[ipv6]:port\")",
	    "t.yaml:4:58: certificate_series: unknown series \"some\" "
	    "(expected failing or all)",
	    "t.yaml:4:81: expiring_within: unparsable duration \"soon\" "
	    "(expected \"auto\" or e.g. \"30d\", \"1d12h\")",
	    "t.yaml:4:87: unknown key \"port\"");
	EXPECT(CA1 "metrics: { certificate_series: all }\n",
	    "t.yaml:4:10: missing required key \"listen\"");
}

static void
delivery_equality_covers_every_setting(void **state)
{
	static const char base[] = CA1 "certificates:\n"
	    "  - name: a\n"
	    "    domains: [a.example]\n"
	    "    deploy: [ { path: /etc/a.pem, mode: \"0640\", group: g } ]\n"
	    "    reload: [ { exec: [/bin/true, x], timeout: 5s } ]\n"
	    "    verify: { address: \"127.0.0.1:443\", servername: a.example }\n";
	static const char *const variants[] = {
	    "    deploy: [ { path: /etc/b.pem, mode: \"0640\", group: g } ]\n",
	    "    deploy: [ { path: /etc/a.pem, mode: \"0600\", group: g } ]\n",
	    "    reload: [ { exec: [/bin/true, y], timeout: 5s } ]\n",
	    "    reload: [ { exec: [/bin/true, x], timeout: 6s } ]\n",
	    "    verify: { address: \"127.0.0.1:444\", servername: a.example }\n",
	    "    reload_delay: 9s\n",
	};
	struct conf	*c0, *c1;
	struct conf_cert *dup;
	char		 yaml[2048];
	size_t		 i;

	(void)state;
	c0 = parse_ok(base);
	dup = conf_cert_dup(&c0->certs[0]);
	assert_true(conf_cert_same_delivery(&c0->certs[0], dup));
	assert_true(conf_reload_equal(&c0->certs[0].dlv->reload[0], &dup->dlv->reload[0]));
	conf_cert_free(dup);
	for (i = 0; i < NELEM(variants); i++) {
		const char *line = strstr(variants[i], ":");
		size_t	    keylen = (size_t)(line - variants[i]);
		/* replace the line with the same key, or append it */
		snprintf(yaml, sizeof(yaml), "%s", base);
		{
			char *at = strstr(yaml, "\n    ");
			char *hit = NULL;

			while (at != NULL) {
				if (strncmp(at + 1, variants[i], keylen) == 0) {
					hit = at + 1;
					break;
				}
				at = strstr(at + 1, "\n    ");
			}
			if (hit != NULL) {
				char rest[2048];
				char *eol = strchr(hit, '\n');

				snprintf(rest, sizeof(rest), "%s", eol + 1);
				snprintf(hit, sizeof(yaml) - (size_t)(hit - yaml),
				    "%s%s", variants[i], rest);
			} else
				strncat(yaml, variants[i], sizeof(yaml) - strlen(yaml) - 1);
		}
		c1 = parse_ok(yaml);
		if (conf_cert_same_delivery(&c0->certs[0], &c1->certs[0]))
			print_message("variant %zu compares equal\n", i);
		assert_false(conf_cert_same_delivery(&c0->certs[0], &c1->certs[0]));
		/* delivery settings never force a new order */
		assert_true(conf_cert_same_order(&c0->certs[0], &c1->certs[0]));
		conf_free(c1);
	}
	conf_free(c0);
}

/* ---- cluster ----------------------------------------------------------- */

#define CLUSTER_MIN \
	"cluster:\n" \
	"  etcd: [http://127.0.0.1:2379]\n" \
	"  key_file: /etc/renewd/cluster.key\n"

static void
cluster_block_parses_with_defaults(void **state)
{
	struct conf	*conf, *other;
	char		 host[256], yaml[512];
	const struct conf_cluster *cl;
	static const unsigned char zero[32];
	static const char *const changed[] = {
		"  stagger: 11s\n", "  lease_ttl: 16s\n", "  prefix: /r/\n",
		"  node: other\n", "  ca_bundle: /ca.pem\n",
		"  client_cert: /c.pem\n", "  client_key: /k.pem\n"
		"  client_cert: /c.pem\n"
	};
	size_t		 i;

	(void)state;
	conf = parse_ok("log: stderr\n");
	assert_null(conf->cluster);
	assert_true(conf_cluster_equal(NULL, NULL));
	conf_free(conf);

	assert_int_equal(gethostname(host, sizeof(host)), 0);
	conf = parse_ok(CLUSTER_MIN);
	assert_non_null(cl = conf->cluster);
	assert_int_equal(cl->netcd, 1);
	assert_string_equal(cl->etcd[0], "http://127.0.0.1:2379");
	assert_string_equal(cl->prefix, "/renewd/");
	assert_string_equal(cl->node, host);
	assert_string_equal(cl->key_file, "/etc/renewd/cluster.key");
	/* conf_parse reads no file: the key stays zero */
	assert_memory_equal(cl->key, zero, sizeof(zero));
	assert_null(cl->ca_bundle);
	assert_null(cl->client_cert);
	assert_null(cl->client_key);
	assert_int_equal(cl->lease_ttl, 15);
	assert_int_equal(cl->stagger, 10);
	assert_false(conf_cluster_equal(cl, NULL));
	assert_false(conf_cluster_equal(NULL, cl));
	assert_true(conf_cluster_equal(cl, cl));

	other = parse_ok("cluster:\n"
	    "  etcd:\n"
	    "    - https://10.0.0.1:2379\n"
	    "    - https://etcd2.example:2379/\n"
	    "  prefix: /renewd/site-a/\n"
	    "  node: web-1.example\n"
	    "  key_file: /etc/renewd/cluster.key\n"
	    "  ca_bundle: /etc/etcd/ca.pem\n"
	    "  client_cert: /etc/renewd/etcd.pem\n"
	    "  client_key: /etc/renewd/etcd.key\n"
	    "  lease_ttl: 1m\n"
	    "  stagger: 0\n");
	cl = other->cluster;
	assert_int_equal(cl->netcd, 2);
	assert_string_equal(cl->etcd[1], "https://etcd2.example:2379/");
	assert_string_equal(cl->prefix, "/renewd/site-a/");
	assert_string_equal(cl->node, "web-1.example");
	assert_string_equal(cl->ca_bundle, "/etc/etcd/ca.pem");
	assert_string_equal(cl->client_cert, "/etc/renewd/etcd.pem");
	assert_string_equal(cl->client_key, "/etc/renewd/etcd.key");
	assert_int_equal(cl->lease_ttl, 60);
	assert_int_equal(cl->stagger, 0);
	assert_false(conf_cluster_equal(conf->cluster, cl));
	conf_free(other);

	/* each setting counts for equality */
	for (i = 0; i < NELEM(changed); i++) {
		snprintf(yaml, sizeof(yaml), "%s%s", CLUSTER_MIN, changed[i]);
		other = parse_ok(yaml);
		if (conf_cluster_equal(conf->cluster, other->cluster))
			fail_msg("equal despite %s", changed[i]);
		conf_free(other);
	}
	other = parse_ok(CLUSTER_MIN "  stagger: 10s\n");
	assert_true(conf_cluster_equal(conf->cluster, other->cluster));
	other->cluster->key[5] = 1;
	assert_false(conf_cluster_equal(conf->cluster, other->cluster));
	conf_free(other);
	conf_free(conf);
}

static void
cluster_keys_are_checked(void **state)
{
	(void)state;
	EXPECT("cluster:\n  etcd: [http://e:2379]\n",
	    "t.yaml:2:3: missing required key \"key_file\"");
	EXPECT("cluster: { key_file: /k }\n",
	    "t.yaml:1:10: missing required key \"etcd\"");
	EXPECT("cluster: [a]\n",
	    "t.yaml:1:10: cluster: expected a mapping, got a list");
	EXPECT(CLUSTER_MIN "  stager: 1s\n",
	    "t.yaml:4:3: unknown key \"stager\"; did you mean "
	    "\"stagger\"?");
	EXPECT("cluster:\n  etcd: [ftp://e, \"http://\", http://a, http://a]\n"
	    "  key_file: /k\n",
	    "t.yaml:2:10: etcd: not an http:// or https:// URL: \"ftp://e\"",
	    "t.yaml:2:19: etcd: not an http:// or https:// URL: \"http://\"",
	    "t.yaml:2:40: etcd: \"http://a\" listed twice");
	EXPECT("cluster:\n  etcd: []\n  key_file: /k\n",
	    "t.yaml:2:9: etcd: empty list");
	EXPECT(CLUSTER_MIN "  prefix: renewd/\n",
	    "t.yaml:4:11: prefix: bad etcd key prefix \"renewd/\" (expected "
	    "up to 200 printable characters, no spaces, starting and ending "
	    "with \"/\", no \"//\")");
	EXPECT(CLUSTER_MIN "  prefix: /renewd\n",
	    "t.yaml:4:11: prefix: bad etcd key prefix \"/renewd\" (expected "
	    "up to 200 printable characters, no spaces, starting and ending "
	    "with \"/\", no \"//\")");
	EXPECT(CLUSTER_MIN "  prefix: /a//b/\n",
	    "t.yaml:4:11: prefix: bad etcd key prefix \"/a//b/\" (expected "
	    "up to 200 printable characters, no spaces, starting and ending "
	    "with \"/\", no \"//\")");
	EXPECT(CLUSTER_MIN "  prefix: \"/a b/\"\n",
	    "t.yaml:4:11: prefix: bad etcd key prefix \"/a b/\" (expected "
	    "up to 200 printable characters, no spaces, starting and ending "
	    "with \"/\", no \"//\")");
	EXPECT(CLUSTER_MIN "  node: \"web 1\"\n",
	    "t.yaml:4:9: node: invalid node name \"web 1\" (use up to 200 "
	    "letters, digits, \".\", \"_\" or \"-\")");
	EXPECT("cluster:\n  etcd: http://e\n  key_file: etc/cluster.key\n"
	    "  ca_bundle: ca.pem\n  client_cert: c.pem\n  client_key: k.pem\n",
	    "t.yaml:3:13: key_file: not an absolute path: \"etc/cluster.key\"",
	    "t.yaml:4:14: ca_bundle: not an absolute path: \"ca.pem\"",
	    "t.yaml:5:16: client_cert: not an absolute path: \"c.pem\"",
	    "t.yaml:6:15: client_key: not an absolute path: \"k.pem\"");
	EXPECT(CLUSTER_MIN "  client_key: /k.pem\n",
	    "t.yaml:4:3: client_key: needs \"client_cert\", the certificate "
	    "it goes with");
	EXPECT(CLUSTER_MIN "  lease_ttl: 4s\n",
	    "t.yaml:4:14: lease_ttl: must be 5s to 300s");
	EXPECT(CLUSTER_MIN "  lease_ttl: 301s\n",
	    "t.yaml:4:14: lease_ttl: must be 5s to 300s");
	EXPECT(CLUSTER_MIN "  lease_ttl: soon\n",
	    "t.yaml:4:14: lease_ttl: unparsable duration \"soon\" (expected "
	    "\"auto\" or e.g. \"30d\", \"1d12h\")");
	EXPECT(CLUSTER_MIN "  stagger: 1h1s\n",
	    "t.yaml:4:12: stagger: longer than 3600s");
}

/* The cluster key file as conf_load reads it; the key in no message. */
static void
cluster_key_file_is_read_if_private(void **state)
{
	static const char b64[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
	char		 dir[] = "/tmp/test_conf.XXXXXX", keyp[256], mainp[256];
	char		 yaml[512], hex[80];
	unsigned char	 want[32];
	struct conf_errors errs = { NULL, 0 };
	struct conf	*conf;
	size_t		 i;
	const char	*bad[] = {
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\n",	/* 30 bytes */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n", /* 33 */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\n", /* spare bits */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh_=\n", /* base64url */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
		" AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"",
	};

	(void)state;
	for (i = 0; i < sizeof(want); i++)
		want[i] = (unsigned char)i;
	assert_non_null(mkdtemp(dir));
	snprintf(yaml, sizeof(yaml), "cluster:\n  etcd: http://127.0.0.1:1\n"
	    "  key_file: %s/cluster.key\n", dir);
	put_file(dir, "main.yaml", yaml, mainp, sizeof(mainp));

	/* openssl rand -base64 32's form, and without the newline */
	put_file(dir, "cluster.key", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
	    keyp, sizeof(keyp));
	conf = conf_load(mainp, &errs);
	assert_int_equal(errs.n, 0);
	assert_non_null(conf);
	assert_memory_equal(conf->cluster->key, want, sizeof(want));
	conf_free(conf);
	put_file(dir, "cluster.key", b64, keyp, sizeof(keyp));
	assert_non_null(conf = conf_load(mainp, &errs));
	assert_memory_equal(conf->cluster->key, want, sizeof(want));
	conf_free(conf);
	/* unpadded, and 64 hex digits in either case */
	put_file(dir, "cluster.key", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
	    keyp, sizeof(keyp));
	assert_non_null(conf = conf_load(mainp, &errs));
	assert_memory_equal(conf->cluster->key, want, sizeof(want));
	conf_free(conf);
	for (i = 0; i < sizeof(want); i++)
		snprintf(hex + 2 * i, 3, i % 2 ? "%02X" : "%02x", want[i]);
	strcat(hex, "\n");
	put_file(dir, "cluster.key", hex, keyp, sizeof(keyp));
	assert_non_null(conf = conf_load(mainp, &errs));
	assert_memory_equal(conf->cluster->key, want, sizeof(want));
	conf_free(conf);
	assert_int_equal(errs.n, 0);

	for (i = 0; i < NELEM(bad); i++) {
		put_file(dir, "cluster.key", bad[i], keyp, sizeof(keyp));
		EXPECT_LOAD(dir, mainp, "DIR/main.yaml:3:13: key_file: "
		    "DIR/cluster.key does not hold a cluster key (expected "
		    "base64 of 32 bytes or 64 hex digits: umask 077; openssl "
		    "rand -base64 32 > FILE)");
	}

	put_file(dir, "cluster.key", b64, keyp, sizeof(keyp));
	assert_int_equal(chmod(keyp, 0640), 0);
	EXPECT_LOAD(dir, mainp, "DIR/main.yaml:3:13: key_file: "
	    "DIR/cluster.key is open to group or others (mode 0640); "
	    "refusing: chmod 600 it");
	assert_int_equal(chmod(keyp, 0604), 0);
	EXPECT_LOAD(dir, mainp, "DIR/main.yaml:3:13: key_file: "
	    "DIR/cluster.key is open to group or others (mode 0604); "
	    "refusing: chmod 600 it");
	/* 0400 is stricter still */
	assert_int_equal(chmod(keyp, 0400), 0);
	assert_non_null(conf = conf_load(mainp, &errs));
	conf_free(conf);
	if (geteuid() == 0) {
		/* root reads anything: the owner is what protects it */
		assert_int_equal(chown(keyp, 4242, 4242), 0);
		EXPECT_LOAD(dir, mainp, "DIR/main.yaml:3:13: key_file: "
		    "DIR/cluster.key is owned by uid 4242 (mode 0400), neither "
		    "root nor this user; refusing: chown it");
	}
	unlink(keyp);
	EXPECT_LOAD(dir, mainp, "DIR/main.yaml:3:13: key_file: cannot read "
	    "DIR/cluster.key: No such file or directory");
	unlink(mainp);
	assert_int_equal(rmdir(dir), 0);
}

/* Only the main file may say which cluster this node is in. */
static void
cluster_block_is_refused_in_an_included_file(void **state)
{
	char		 dir[] = "/tmp/test_conf.XXXXXX", path[256], mainp[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	put_file(dir, "main.yaml", "include: site.yaml\n", mainp,
	    sizeof(mainp));
	put_file(dir, "site.yaml", CA1 CLUSTER_MIN, path, sizeof(path));
	EXPECT_LOAD(dir, mainp, "DIR/site.yaml:4:1: cluster: not allowed in "
	    "an included file, which may hold only \"cas\" and "
	    "\"certificates\"; set it in DIR/main.yaml");
	unlink(path);
	unlink(mainp);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_example_parses_to_expected_structs),
		cmocka_unit_test(annotated_example_file_loads_clean),
		cmocka_unit_test(empty_file_is_valid_and_gets_defaults),
		cmocka_unit_test(lone_ca_is_the_default_and_defaults_are_inherited),
		cmocka_unit_test(certificate_without_a_resolvable_ca_is_an_error),
		cmocka_unit_test(unknown_keys_are_reported_with_suggestions),
		cmocka_unit_test(wrong_types_are_reported),
		cmocka_unit_test(empty_lists_are_reported),
		cmocka_unit_test(domain_names_are_checked_and_normalised),
		cmocka_unit_test(ip_addresses_are_canonical_and_not_for_dns01),
		cmocka_unit_test(preferred_chain_is_inherited_and_checked),
		cmocka_unit_test(profile_is_inherited_and_checked),
		cmocka_unit_test(duplicate_certificate_names_are_reported),
		cmocka_unit_test(same_domain_in_two_certificates_names_the_other),
		cmocka_unit_test(references_to_missing_cas_are_reported),
		cmocka_unit_test(ca_entries_are_checked),
		cmocka_unit_test(presets_fill_a_ca_entry),
		cmocka_unit_test(presets_need_no_cas_section),
		cmocka_unit_test(preset_errors_say_what_is_needed),
		cmocka_unit_test(preset_by_directory_matches_both_urls),
		cmocka_unit_test(relative_paths_are_reported),
		cmocka_unit_test(file_modes_are_octal_and_bounded),
		cmocka_unit_test(control_socket_is_an_absolute_path_that_fits),
		cmocka_unit_test(unknown_key_and_challenge_types_are_reported),
		cmocka_unit_test(durations_parse_or_are_unparsable),
		cmocka_unit_test(duplicate_keys_in_one_mapping_are_reported),
		cmocka_unit_test(missing_required_keys_are_reported),
		cmocka_unit_test(yaml_syntax_errors_carry_line_and_column),
		cmocka_unit_test(anchors_aliases_and_merges_work),
		cmocka_unit_test(alias_bomb_is_refused_quickly),
		cmocka_unit_test(deep_nesting_is_refused),
		cmocka_unit_test(all_problems_are_reported_in_one_pass),
		cmocka_unit_test(too_many_errors_stop_with_a_note),
		cmocka_unit_test(http01_listen_and_webroot_are_checked),
		cmocka_unit_test(reload_entries_are_checked),
		cmocka_unit_test(eab_hmac_key_file_is_read_if_private),
		cmocka_unit_test(reuse_key_comes_from_defaults_or_the_certificate),
		cmocka_unit_test(conf_load_reads_only_the_file_and_bounds_it),
		cmocka_unit_test(include_merges_sorted_files_and_names_both_places),
		cmocka_unit_test(helpers_find_dup_compare_and_free),
		cmocka_unit_test(merges_follow_yaml_precedence_and_limits),
		cmocka_unit_test(ca_and_http01_equality_covers_every_setting),
		cmocka_unit_test(delivery_keys_parse_with_defaults),
		cmocka_unit_test(delivery_keys_are_checked),
		cmocka_unit_test(solver_sections_parse_and_are_checked),
		cmocka_unit_test(solver_section_errors_say_what_to_configure),
		cmocka_unit_test(live_check_interval_defaults_to_an_hour_and_is_bounded),
		cmocka_unit_test(delivery_equality_covers_every_setting),
		cmocka_unit_test(metrics_section_parses_and_is_checked),
		cmocka_unit_test(cluster_block_parses_with_defaults),
		cmocka_unit_test(cluster_keys_are_checked),
		cmocka_unit_test(cluster_key_file_is_read_if_private),
		cmocka_unit_test(cluster_block_is_refused_in_an_included_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
