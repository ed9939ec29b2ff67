/* test_dns.c - DNS wire checks, TCP framing, transactions, key files, UPDATE and TSIG */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <ldns/ldns.h>

#include "dns.h"
#include "dns_msg.h"
#include "dns_prop.h"
#include "log.h"
#include "tsigkey.h"

/* "a.example" TXT, ID 0x1234, RD */
static const uint8_t query[] = {
	0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 'a', 0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x00,
	0x00, 0x10, 0x00, 0x01
};
/* its answer: QR RD RA, one TXT "hello" at a.example (a pointer to 12) */
static const uint8_t answer[] = {
	0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x01, 'A', 0x07, 'e', 'X', 'a', 'm', 'p', 'l', 'e', 0x00,
	0x00, 0x10, 0x00, 0x01,
	0xc0, 0x0c, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x06,
	0x05, 'h', 'e', 'l', 'l', 'o'
};

static void
test_header(void **state)
{
	struct dns_hdr h;

	assert_int_equal(dns_wire_header(answer, sizeof(answer), &h), 0);
	assert_int_equal(h.id, 0x1234);
	assert_int_equal(h.flags, 0x8180);
	assert_int_equal(h.qdcount, 1);
	assert_int_equal(h.ancount, 1);
	assert_int_equal(h.nscount, 0);
	assert_int_equal(h.arcount, 0);
	assert_int_equal(dns_wire_header(answer, 11, &h), -1);
}

/* A TSIG record anywhere but last is refused before ldns reads it. */
static void
test_tsig_last(void **state)
{
	/* header: 1 question, 1 answer, 0, 2 additional */
	static const uint8_t two[] = {
		0x12, 0x34, 0x80, 0x00, 0, 1, 0, 1, 0, 0, 0, 2,
		1, 'a', 0, 0, 16, 0, 1,				/* a. TXT IN */
		0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 2, 1, 'v',	/* TXT "v" */
		1, 'k', 0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0,	/* TSIG, empty */
		1, 'k', 0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0,	/* TSIG again */
	};
	uint8_t	 one[sizeof(two)];

	(void)state;
	assert_int_equal(dns_wire_tsig_last(two, sizeof(two)), -1);
	/* one TSIG, last: the same message with arcount 1, cut after it */
	memcpy(one, two, sizeof(two));
	one[11] = 1;
	assert_int_equal(dns_wire_tsig_last(one, sizeof(two) - 13), 0);
	/* a TSIG, then another record */
	one[11] = 2;
	one[sizeof(two) - 13 + 4] = 16;
	assert_int_equal(dns_wire_tsig_last(one, sizeof(two)), -1);
	/* records running past the end */
	assert_int_equal(dns_wire_tsig_last(two, sizeof(two) - 1), -1);
	/* a compressed answer name, no TSIG: fine */
	assert_int_equal(dns_wire_tsig_last(two, 12 + 7 + 14), -1);
	one[11] = 0;
	assert_int_equal(dns_wire_tsig_last(one, 12 + 7 + 14), 0);
}

static void
test_name_end(void **state)
{
	static const uint8_t long_label[] = { 64, 'a' };
	static const uint8_t ptr[] = { 0xc0, 0x0c };
	uint8_t		 big[300];
	size_t		 i;

	assert_int_equal(dns_wire_name_end(query, sizeof(query), 12), 23);
	/* cut short, a label over 63, a pointer */
	assert_int_equal(dns_wire_name_end(query, 20, 12), -1);
	assert_int_equal(dns_wire_name_end(long_label, sizeof(long_label), 0),
	    -1);
	assert_int_equal(dns_wire_name_end(ptr, sizeof(ptr), 0), -1);
	/* 64 labels of 3 bytes: 256 bytes before the root, too long */
	for (i = 0; i < 256; i += 4)
		memcpy(big + i, "\003abc", 4);
	big[256] = 0;
	assert_int_equal(dns_wire_name_end(big, sizeof(big), 0), -1);
	big[252] = 0;
	assert_int_equal(dns_wire_name_end(big, sizeof(big), 0), 253);
}

static void
test_matches(void **state)
{
	uint8_t	r[sizeof(answer)];

	/* the same question, case aside */
	assert_int_equal(dns_wire_matches(query, sizeof(query), answer,
	    sizeof(answer)), 1);
	memcpy(r, answer, sizeof(r));
	r[1] = 0x35;			/* another ID */
	assert_int_equal(dns_wire_matches(query, sizeof(query), r, sizeof(r)),
	    0);
	memcpy(r, answer, sizeof(r));
	r[2] &= 0x7f;			/* not a response */
	assert_int_equal(dns_wire_matches(query, sizeof(query), r, sizeof(r)),
	    0);
	memcpy(r, answer, sizeof(r));
	r[13] = 'b';			/* another name */
	assert_int_equal(dns_wire_matches(query, sizeof(query), r, sizeof(r)),
	    0);
	memcpy(r, answer, sizeof(r));
	r[24] = 0x06;			/* SOA, not TXT */
	assert_int_equal(dns_wire_matches(query, sizeof(query), r, sizeof(r)),
	    0);
	memcpy(r, answer, sizeof(r));
	r[2] = 0x81 | (5 << 3);		/* another opcode */
	assert_int_equal(dns_wire_matches(query, sizeof(query), r, sizeof(r)),
	    0);
	/* FORMERR without the question is still the answer */
	memcpy(r, answer, 12);
	r[3] = 0x81;
	r[5] = 0;
	assert_int_equal(dns_wire_matches(query, sizeof(query), r, 12), 1);
	r[3] = 0x80;
	assert_int_equal(dns_wire_matches(query, sizeof(query), r, 12), 0);
	assert_int_equal(dns_wire_matches(query, sizeof(query), answer, 20), 0);
}

static void
test_tcp_frame(void **state)
{
	static const uint8_t whole[] = { 0x00, 0x03, 'a', 'b', 'c', 'd' };
	static const uint8_t zero[] = { 0x00, 0x00 };
	size_t	off = 0;

	assert_int_equal(dns_wire_tcp_frame(whole, 1, &off), 0);
	assert_int_equal(dns_wire_tcp_frame(whole, 4, &off), 0);
	assert_int_equal(dns_wire_tcp_frame(whole, 5, &off), 3);
	assert_int_equal(off, 2);
	assert_int_equal(dns_wire_tcp_frame(whole, sizeof(whole), &off), 3);
	assert_int_equal(dns_wire_tcp_frame(zero, 2, &off), -1);
}

static void
test_txt(void **state)
{
	int	has;

	assert_int_equal(dns_msg_txt_has(answer, sizeof(answer), "a.example",
	    "hello", &has), 0);
	assert_int_equal(has, 1);
	assert_int_equal(dns_msg_txt_has(answer, sizeof(answer), "a.example",
	    "hell", &has), 0);
	assert_int_equal(has, 0);
	assert_int_equal(dns_msg_txt_has(answer, sizeof(answer), "b.example",
	    "hello", &has), 0);
	assert_int_equal(has, 0);
	assert_int_equal(dns_msg_txt_has(answer, 30, "a.example", "hello",
	    &has), -1);
}

/* ---- key files */

#define SECRET	"Xrm8dNFAb95vbUrtcTcB0AzIru1xGf4GHuBIqujkGAo="

static void
test_key_bind(void **state)
{
	const char	*f = "key \"renewd-key\" {\n\talgorithm hmac-sha256;\n"
	    "\tsecret \"" SECRET "\";\n};\n";
	struct tsig_key	 k;
	char		 err[256];

	assert_int_equal(tsigkey_parse(f, strlen(f), &k, err, sizeof(err)), 0);
	assert_string_equal(k.name, "renewd-key");
	assert_string_equal(k.algorithm, "hmac-sha256");
	assert_string_equal(k.secret, SECRET);
	tsigkey_clear(&k);
	assert_null(k.secret);
}

static void
test_key_knot(void **state)
{
	const char	*f = "# hmac-sha256:renewd-key:" SECRET "\nkey:\n"
	    "  - id: renewd-key\n    algorithm: hmac-sha256\n"
	    "    secret: " SECRET "\n";
	struct tsig_key	 k;
	char		 err[256];

	assert_int_equal(tsigkey_parse(f, strlen(f), &k, err, sizeof(err)), 0);
	assert_string_equal(k.name, "renewd-key");
	assert_string_equal(k.secret, SECRET);
	tsigkey_clear(&k);
}

/* Each bad file fails with its line and never shows the secret. */
static void
test_key_bad(void **state)
{
	static const struct { const char *f, *err; } bad[] = {
		{ "key \"k\" {\n algorithm hmac-md5;\n secret \"" SECRET
		    "\";\n};\n", "line 2: algorithm hmac-md5: only hmac-sha256" },
		{ "key \"k\" {\n algorithm hmac-sha256;\n};\n",
		    "line 4: the key has no secret" },
		{ "key \"k\" {\n algorithm hmac-sha256;\n secret \"abc\";\n};\n",
		    "line 3: secret: not base64" },
		{ "key \"k\" {\n algorithm hmac-sha256;\n secret \"" SECRET
		    "\";\n};\nkey \"j\" { };\n", "line 5: a second key" },
		{ "key \"k\" {\n secret \"" SECRET "\n", "unterminated string" },
		{ "key \"k\" {\n algorithm hmac-sha256;\n secret \"" SECRET
		    "\"\n};\n", "line 4: expected \";\"" },
		{ "zone \"k\" { };\n", "line 1: expected \"key\"" },
		{ "", "no key in the file" },
		{ "key:\n  - id: k\n    algorithm: hmac-sha256\n    secret:\n",
		    "line 4: secret without a value" },
		{ "key:\n  - id: k\n    algo: hmac-sha256\n",
		    "line 3: unknown key field \"algo\"" },
		{ "key \"bad name!\" { };", "line 1: key name: not a DNS name" },
		{ "/* open comment", "unterminated comment" },
		/* found by fuzz_dns: a field name is repeated only if plain */
		{ "key \"k\" {\n al\xffgorithm x;\n};",
		    "line 2: unknown key field \"?\"" },
	};
	struct tsig_key	 k;
	char		 err[256];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(tsigkey_parse(bad[i].f, strlen(bad[i].f), &k,
		    err, sizeof(err)), -1);
		if (strstr(err, bad[i].err) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err,
			    bad[i].err);
		assert_null(strstr(err, "Xrm8"));
		assert_null(k.secret);
	}
	/* a NUL byte */
	assert_int_equal(tsigkey_parse("key\0", 4, &k, err, sizeof(err)), -1);
}

/* ---- UPDATE and TSIG */

static struct tsig_key key = { "renewd-key", "hmac-sha256", SECRET };

/* The server's side: the answer to wire, signed with secret (NULL: not signed). */
static uint8_t *
server_answer(const struct dns_update_msg *m, const char *secret, int rcode,
    size_t *len)
{
	ldns_pkt	*p = NULL;
	uint8_t		*w = NULL, *copy;

	assert_int_equal(ldns_wire2pkt(&p, m->wire, m->len), LDNS_STATUS_OK);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	ldns_rr_list_deep_free(ldns_pkt_authority(p));
	ldns_pkt_set_authority(p, ldns_rr_list_new());
	ldns_pkt_set_nscount(p, 0);
	ldns_rr_free(ldns_pkt_tsig(p));
	ldns_pkt_set_tsig(p, NULL);
	if (secret != NULL)
		assert_int_equal(ldns_pkt_tsig_sign(p, "renewd-key", secret,
		    300, "hmac-sha256.", m->mac), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt2wire(&w, p, len), LDNS_STATUS_OK);
	copy = malloc(*len);
	memcpy(copy, w, *len);
	LDNS_FREE(w);
	ldns_pkt_free(p);
	return copy;
}

static void
test_update(void **state)
{
	struct dns_update_msg m;
	ldns_pkt	*p = NULL;
	ldns_rr		*rr;
	uint8_t		*w;
	size_t		 len;
	char		 err[256], *s;

	assert_int_equal(dns_msg_update("example.test", "_acme-challenge.a."
	    "example.test", "VALUE_1-x", 60, 0, &key, &m, err, sizeof(err)),
	    0);
	/* the request: opcode UPDATE, zone SOA, one TXT added, a TSIG */
	assert_int_equal(ldns_wire2pkt(&p, m.wire, m.len), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_get_opcode(p), LDNS_PACKET_UPDATE);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	rr = ldns_rr_list_rr(ldns_pkt_authority(p), 0);
	s = ldns_rr2str(rr);
	assert_string_equal(s, "_acme-challenge.a.example.test.\t60\tIN\tTXT\t"
	    "\"VALUE_1-x\"\n");
	free(s);
	assert_non_null(ldns_pkt_tsig(p));
	ldns_pkt_free(p);

	w = server_answer(&m, SECRET, 0, &len);
	assert_int_equal(dns_msg_update_result(&m, &key, w, len, err,
	    sizeof(err)), 0);
	free(w);
	/* signed with another secret: refused */
	w = server_answer(&m, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0,
	    &len);
	assert_int_equal(dns_msg_update_result(&m, &key, w, len, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "the answer's TSIG does not verify with key "
	    "renewd-key");
	free(w);
	w = server_answer(&m, NULL, 0, &len);
	assert_int_equal(dns_msg_update_result(&m, &key, w, len, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "the answer is not TSIG-signed");
	free(w);
	w = server_answer(&m, NULL, 5, &len);
	assert_int_equal(dns_msg_update_result(&m, &key, w, len, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "REFUSED");
	free(w);
	dns_msg_update_clear(&m);

	/* the delete: class NONE, TTL 0, the same rdata */
	assert_int_equal(dns_msg_update("example.test", "_acme-challenge.a."
	    "example.test", "VALUE_1-x", 60, 1, &key, &m, err, sizeof(err)),
	    0);
	assert_int_equal(ldns_wire2pkt(&p, m.wire, m.len), LDNS_STATUS_OK);
	rr = ldns_rr_list_rr(ldns_pkt_authority(p), 0);
	assert_int_equal(ldns_rr_get_class(rr), LDNS_RR_CLASS_NONE);
	assert_int_equal(ldns_rr_ttl(rr), 0);
	ldns_pkt_free(p);
	dns_msg_update_clear(&m);
}

/* NOTAUTH with TSIG error BADSIG, as knot sends it: known bytes. */
static void
test_update_badsig(void **state)
{
	struct dns_update_msg m;
	uint8_t		 w[512];
	size_t		 n;
	char		 err[256];
	static const uint8_t tsig_tail[] = {
		/* TSIG RR: owner renewd-key., type 250, class ANY, TTL 0 */
		0x0a, 'r', 'e', 'n', 'e', 'w', 'd', '-', 'k', 'e', 'y', 0x00,
		0x00, 0xfa, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x1d,			/* rdlength 29 */
		0x0b, 'h', 'm', 'a', 'c', '-', 's', 'h', 'a', '2', '5', '6', 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00,	/* time 0 */
		0x01, 0x2c,			/* fudge 300 */
		0x00, 0x00,			/* MAC size 0 */
		0x00, 0x00,			/* original ID (patched) */
		0x00, 0x10,			/* error 16 BADSIG */
		0x00, 0x00			/* other len 0 */
	};

	assert_int_equal(dns_msg_update("example.test", "_acme-challenge.a."
	    "example.test", "v", 60, 0, &key, &m, err, sizeof(err)), 0);
	/* header: same ID, QR + UPDATE opcode, rcode 9; the zone section kept */
	n = 12 + 14 + 4;		/* "example.test" is 14 bytes */
	memcpy(w, m.wire, n);
	w[2] = 0xa8;
	w[3] = 0x09;
	w[4] = 0; w[5] = 1; w[6] = 0; w[7] = 0; w[8] = 0; w[9] = 0;
	w[10] = 0; w[11] = 1;
	memcpy(w + n, tsig_tail, sizeof(tsig_tail));
	w[n + sizeof(tsig_tail) - 6] = m.wire[0];
	w[n + sizeof(tsig_tail) - 5] = m.wire[1];
	n += sizeof(tsig_tail);
	assert_int_equal(dns_msg_update_result(&m, &key, w, n, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "NOTAUTH, TSIG error BADSIG");
	dns_msg_update_clear(&m);
}

/* ---- transactions over real sockets */

struct srv {
	struct event_base *base;
	int		 udp, tcp;
	struct event	*eu;
	pthread_t	 th;
	int		 udp_seen, tcp_seen, truncate, mute;
	char		 addr[64];
	/* the client's result */
	int		 done;
	uint8_t		 reply[512];
	size_t		 reply_len;
	char		 error[256];
};

static void
udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct srv		*s = arg;
	uint8_t			 b[512];
	struct sockaddr_storage	 from;
	socklen_t		 fl = sizeof(from);
	ssize_t			 n;

	if ((n = recvfrom(fd, b, sizeof(b), 0, (struct sockaddr *)&from,
	    &fl)) <= 0)
		return;
	s->udp_seen++;
	if (s->mute)
		return;
	b[2] |= 0x80;
	if (s->truncate)
		b[2] |= 0x02;
	sendto(fd, b, (size_t)n, 0, (struct sockaddr *)&from, fl);
}

/* The TCP side runs on its own thread: the client is on the loop. */
static void *
tcp_thread(void *arg)
{
	struct srv	*s = arg;
	uint8_t		 b[600];
	size_t		 got = 0, want = 0;
	ssize_t		 n;
	int		 c;

	if ((c = accept(s->tcp, NULL, NULL)) == -1)
		return NULL;
	while (got < 2 || got < 2 + want) {
		if ((n = read(c, b + got, sizeof(b) - got)) <= 0)
			break;
		got += (size_t)n;
		if (got >= 2)
			want = (size_t)b[0] << 8 | b[1];
	}
	s->tcp_seen++;
	b[4] |= 0x80;
	/* the length first, the message a moment later: reassembled */
	if (write(c, b, 2) == 2) {
		usleep(20000);
		if (write(c, b + 2, want) != (ssize_t)want)
			s->tcp_seen = -100;
	}
	close(c);
	return NULL;
}

static void
client_done(void *arg, const uint8_t *reply, size_t len, const char *error)
{
	struct srv *s = arg;

	s->done++;
	if (reply != NULL) {
		memcpy(s->reply, reply, len < sizeof(s->reply) ? len :
		    sizeof(s->reply));
		s->reply_len = len;
	} else
		snprintf(s->error, sizeof(s->error), "%s", error);
	event_base_loopbreak(s->base);
}

/* UDP and TCP sockets on one free loopback port. */
static void
srv_open(struct srv *s)
{
	struct sockaddr_in sin;
	socklen_t	 sl = sizeof(sin);
	int		 one = 1, try;

	for (try = 0; try < 20; try++) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		assert_int_equal(bind(s->udp, (struct sockaddr *)&sin,
		    sizeof(sin)), 0);
		assert_int_equal(getsockname(s->udp, (struct sockaddr *)&sin,
		    &sl), 0);
		s->tcp = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(s->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s->tcp, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
		    listen(s->tcp, 4) == 0)
			break;
		close(s->udp);
		close(s->tcp);
	}
	snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%u",
	    ntohs(sin.sin_port));
	s->base = event_base_new();
	s->eu = event_new(s->base, s->udp, EV_READ | EV_PERSIST, udp_cb, s);
	event_add(s->eu, NULL);
	assert_int_equal(pthread_create(&s->th, NULL, tcp_thread, s), 0);
}

static void
srv_close(struct srv *s)
{
	event_free(s->eu);
	shutdown(s->tcp, SHUT_RDWR);	/* ends an accept still waiting */
	pthread_join(s->th, NULL);
	close(s->udp);
	close(s->tcp);
	event_base_free(s->base);
}

static void
test_xfer_udp(void **state)
{
	struct srv	 s = { 0 };
	char		 err[256];

	srv_open(&s);
	assert_non_null(dns_xfer_start(s.base, s.addr, query, sizeof(query),
	    2000, 0, client_done, &s, err, sizeof(err)));
	event_base_dispatch(s.base);
	assert_int_equal(s.done, 1);
	assert_int_equal(s.udp_seen, 1);
	assert_int_equal(s.tcp_seen, 0);
	assert_int_equal(s.reply_len, sizeof(query));
	assert_int_equal(s.reply[2] & 0x80, 0x80);
	srv_close(&s);
}

static void
test_xfer_truncated(void **state)
{
	struct srv	 s = { 0 };
	char		 err[256];

	srv_open(&s);
	s.truncate = 1;
	assert_non_null(dns_xfer_start(s.base, s.addr, query, sizeof(query),
	    2000, 0, client_done, &s, err, sizeof(err)));
	event_base_dispatch(s.base);
	assert_int_equal(s.done, 1);
	assert_int_equal(s.udp_seen, 1);
	assert_int_equal(s.tcp_seen, 1);
	assert_int_equal(s.reply_len, sizeof(query));
	assert_int_equal(s.reply[2] & 0x02, 0);		/* the TCP answer */
	srv_close(&s);
}

static void
test_xfer_timeout(void **state)
{
	struct srv	 s = { 0 };
	char		 err[256];

	srv_open(&s);
	s.mute = 1;
	assert_non_null(dns_xfer_start(s.base, s.addr, query, sizeof(query),
	    300, 0, client_done, &s, err, sizeof(err)));
	event_base_dispatch(s.base);
	assert_int_equal(s.done, 1);
	assert_int_equal(s.udp_seen, DNS_UDP_TRIES);
	assert_string_equal(s.error, "no answer over UDP after 3 tries in "
	    "300 ms");
	srv_close(&s);
	assert_null(dns_xfer_start(s.base, "localhost:53", query,
	    sizeof(query), 300, 0, client_done, &s, err, sizeof(err)));
	assert_non_null(strstr(err, "DNS server localhost:53: "));
}

/* ---- the propagation check against a small authoritative responder */

struct zone_srv {
	int		 fd;
	unsigned	 port;
	int		 serve_txt;	/* 0: the TXT record never appears */
	int		 queries[256];	/* by type */
	pthread_t	 th;
};

/* Answers from "zone" example.test: SOA, NS, ns1's A, the TXT record. */
static void
zone_answer(struct zone_srv *z, ldns_pkt *q, ldns_pkt *a)
{
	ldns_rr		*qrr = ldns_rr_list_rr(ldns_pkt_question(q), 0), *rr;
	char		*name = ldns_rdf2str(ldns_rr_owner(qrr)), *line = NULL;
	ldns_rr_type	 t = ldns_rr_get_type(qrr);

	z->queries[t & 0xff]++;
	if (t == LDNS_RR_TYPE_SOA)
		line = strdup("example.test. 60 IN SOA ns1.example.test. "
		    "h.example.test. 1 60 60 600 60");
	else if (t == LDNS_RR_TYPE_NS && strcmp(name, "example.test.") == 0)
		line = strdup("example.test. 60 IN NS ns1.example.test.");
	else if (t == LDNS_RR_TYPE_A && strcmp(name, "ns1.example.test.") == 0)
		line = strdup("ns1.example.test. 60 IN A 127.0.0.1");
	else if (t == LDNS_RR_TYPE_TXT && z->serve_txt)
		asprintf(&line, "%s 60 IN TXT \"the-value\"", name);
	if (line != NULL && ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) ==
	    LDNS_STATUS_OK)
		ldns_pkt_push_rr(a, t == LDNS_RR_TYPE_SOA && strcmp(name,
		    "example.test.") != 0 ? LDNS_SECTION_AUTHORITY :
		    LDNS_SECTION_ANSWER, rr);
	free(line);
	free(name);
}

static void *
zone_thread(void *arg)
{
	struct zone_srv		*z = arg;
	uint8_t			 b[512], *w;
	struct sockaddr_storage	 from;
	socklen_t		 fl;
	ssize_t			 n;
	size_t			 len;
	ldns_pkt		*q, *a;

	for (;;) {
		fl = sizeof(from);
		if ((n = recvfrom(z->fd, b, sizeof(b), 0,
		    (struct sockaddr *)&from, &fl)) <= 0)
			return NULL;
		q = NULL;
		if (ldns_wire2pkt(&q, b, (size_t)n) != LDNS_STATUS_OK)
			continue;
		a = ldns_pkt_new();
		ldns_pkt_set_id(a, ldns_pkt_id(q));
		ldns_pkt_set_qr(a, true);
		ldns_pkt_set_aa(a, true);
		ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, ldns_rr_clone(
		    ldns_rr_list_rr(ldns_pkt_question(q), 0)));
		zone_answer(z, q, a);
		if (ldns_pkt2wire(&w, a, &len) == LDNS_STATUS_OK) {
			sendto(z->fd, w, len, 0, (struct sockaddr *)&from, fl);
			LDNS_FREE(w);
		}
		ldns_pkt_free(q);
		ldns_pkt_free(a);
	}
}

static void
zone_open(struct zone_srv *z)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t	 sl = sizeof(sin);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	z->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(z->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(z->fd, (struct sockaddr *)&sin, &sl), 0);
	z->port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&z->th, NULL, zone_thread, z), 0);
}

static void
zone_close(struct zone_srv *z)
{
	shutdown(z->fd, SHUT_RDWR);	/* ends the recvfrom */
	pthread_join(z->th, NULL);
	close(z->fd);
}

struct prop_result {
	struct event_base *base;
	int		 done;
	char		 error[256];
};

static void
prop_done_cb(void *arg, const char *error)
{
	struct prop_result *r = arg;

	r->done++;
	if (error != NULL)
		snprintf(r->error, sizeof(r->error), "%s", error);
	event_base_loopbreak(r->base);
}

/* Runs one check with o against z; returns its result. */
static void
run_prop(struct dns_prop_opts *o, struct prop_result *r)
{
	r->base = event_base_new();
	assert_non_null(dns_prop_start(r->base, o, "c1",
	    "_acme-challenge.a.example.test", "the-value", prop_done_cb, r));
	event_base_dispatch(r->base);
	event_base_free(r->base);
	assert_int_equal(r->done, 1);
}

/* No resolvers configured: SOA, NS, A found, then the NS asked. */
static void
test_prop_finds_the_zone_servers(void **state)
{
	struct zone_srv		 z = { .serve_txt = 1 };
	struct prop_result	 r = { 0 };
	struct dns_prop_opts	 o = { 1, 5000, NULL, 0, NULL, 0 };
	char			 sys[64];

	zone_open(&z);
	snprintf(sys, sizeof(sys), "127.0.0.1:%u", z.port);
	o.system_resolver = sys;
	o.ns_port = z.port;
	run_prop(&o, &r);
	zone_close(&z);
	assert_string_equal(r.error, "");
	assert_int_equal(z.queries[LDNS_RR_TYPE_SOA], 1);
	assert_int_equal(z.queries[LDNS_RR_TYPE_NS], 1);
	assert_int_equal(z.queries[LDNS_RR_TYPE_A], 1);
	assert_int_equal(z.queries[LDNS_RR_TYPE_AAAA], 1);
	assert_int_equal(z.queries[LDNS_RR_TYPE_TXT], 1);
}

/* A value never served: the timeout names the certificate, record, resolver. */
static void
test_prop_times_out_naming_the_resolver(void **state)
{
	struct zone_srv		 z = { .serve_txt = 0 };
	struct prop_result	 r = { 0 };
	struct dns_prop_opts	 o = { 1, 2500, NULL, 1, NULL, 0 };
	char			 res[64], *rv[1] = { res }, want[256];

	zone_open(&z);
	snprintf(res, sizeof(res), "127.0.0.1:%u", z.port);
	o.resolvers = rv;
	run_prop(&o, &r);
	zone_close(&z);
	snprintf(want, sizeof(want), "cert c1: _acme-challenge.a.example.test: "
	    "TXT not visible at 127.0.0.1:%u after 2s", z.port);
	assert_string_equal(r.error, want);
	/* asked at once and about every 2 s: twice in 2.5 s */
	assert_int_equal(z.queries[LDNS_RR_TYPE_TXT], 2);
	/* the check off: done at once, nothing asked */
	memset(z.queries, 0, sizeof(z.queries));
	o.check = 0;
	memset(&r, 0, sizeof(r));
	run_prop(&o, &r);
	assert_string_equal(r.error, "");
	assert_int_equal(z.queries[LDNS_RR_TYPE_TXT], 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_name_end),
		cmocka_unit_test(test_tsig_last),
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_tcp_frame),
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_key_bind),
		cmocka_unit_test(test_key_knot),
		cmocka_unit_test(test_key_bad),
		cmocka_unit_test(test_update),
		cmocka_unit_test(test_update_badsig),
		cmocka_unit_test(test_xfer_udp),
		cmocka_unit_test(test_xfer_truncated),
		cmocka_unit_test(test_xfer_timeout),
		cmocka_unit_test(test_prop_finds_the_zone_servers),
		cmocka_unit_test(test_prop_times_out_naming_the_resolver),
	};

	log_init(getenv("TEST_DEBUG") != NULL ? LOG_LVL_DEBUG : 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
