/* fuzz_dns.c - what renewd reads from DNS servers and key files, fed anything */
#include "config.h"

#include <stdlib.h>

#include "dns.h"
#include "dns_msg.h"
#include "fuzz.h"
#include "tsigkey.h"

#define SECRET	"Xrm8dNFAb95vbUrtcTcB0AzIru1xGf4GHuBIqujkGAo="

/*
 * First byte even: the rest is a key file; odd: the rest is a DNS answer,
 * read by every check renewd makes on one (the header, the question
 * against a query, TCP framing, TXT, SOA, NS and A lists, an UPDATE's
 * result with its TSIG).
 */
static void
key_file(const uint8_t *d, size_t n)
{
	struct tsig_key	 k;
	char		 err[256];

	if (tsigkey_parse((const char *)d, n, &k, err, sizeof(err)) == 0) {
		if (k.name == NULL || k.secret == NULL || k.algorithm == NULL)
			TRAP();
		tsigkey_clear(&k);
	} else {
		one_line(err);
		if (strstr(err, SECRET) != NULL)
			TRAP();
	}
}

static void
answer(const uint8_t *d, size_t n)
{
	static struct tsig_key	 key = { "k", "hmac-sha256", SECRET };
	struct dns_update_msg	 m;
	struct dns_hdr		 h;
	uint8_t			*q;
	size_t			 qlen, off = 0, cnt;
	long			 e;
	int			 has;
	char			 err[256], **v;

	dns_wire_header(d, n, &h);
	if ((e = dns_wire_name_end(d, n, 12)) != -1 && (size_t)e > n)
		TRAP();
	if ((e = dns_wire_tcp_frame(d, n, &off)) > 0 && off + (size_t)e > n)
		TRAP();
	if ((q = dns_msg_query("_acme-challenge.a.example", DNS_TYPE_TXT, 1,
	    &qlen)) != NULL) {
		dns_wire_matches(q, qlen, d, n);
		free(q);
	}
	dns_msg_txt_has(d, n, "_acme-challenge.a.example", "v", &has);
	free(dns_msg_soa_zone(d, n));
	v = dns_msg_answers(d, n, DNS_TYPE_NS, &cnt);
	dns_msg_strv_free(v, cnt);
	v = dns_msg_answers(d, n, DNS_TYPE_A, &cnt);
	dns_msg_strv_free(v, cnt);
	if (dns_msg_update("a.example", "_acme-challenge.a.example", "v", 60,
	    0, &key, &m, err, sizeof(err)) == 0) {
		if (dns_msg_update_result(&m, &key, d, n, err, sizeof(err)) ==
		    -1)
			one_line(err);
		dns_msg_update_clear(&m);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] % 2 == 0)
		key_file(data + 1, size - 1);
	else
		answer(data + 1, size - 1);
	return 0;
}
