/* dns_msg.c - DNS messages built and read with ldns: queries, UPDATE, TSIG */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns.h"
#include "dns_msg.h"
#include "tsigkey.h"
#include "xmalloc.h"

/* ldns_wire2pkt, for a message whose TSIG record (if any) is the last. */
static ldns_status
wire2pkt(ldns_pkt **p, const uint8_t *w, size_t len)
{
	if (dns_wire_tsig_last(w, len) == -1)
		return LDNS_STATUS_PACKET_OVERFLOW;
	return ldns_wire2pkt(p, w, len);
}

/*
 * The only file that includes ldns (tests/check_arch.sh): wire format,
 * names, TSIG. Nothing here does I/O; dns.c sends what this builds.
 */

#define TSIG_FUDGE	300
#define TSIG_ALG	"hmac-sha256."

const char *
dns_msg_rcode_name(int rcode)
{
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
		"REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
		"NOTZONE", "RCODE11", "RCODE12", "RCODE13", "RCODE14",
		"RCODE15", "BADSIG", "BADKEY", "BADTIME", "BADMODE",
		"BADNAME", "BADALG", "BADTRUNC", "BADCOOKIE"
	};

	if (rcode >= 0 && (size_t)rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	return "RCODE?";
}

/* Returns the wire of p, malloc'd by us (ldns's buffer copied), or NULL. */
static uint8_t *
to_wire(const ldns_pkt *p, size_t *len)
{
	uint8_t	*w = NULL, *copy;

	if (ldns_pkt2wire(&w, p, len) != LDNS_STATUS_OK)
		return NULL;
	copy = xmalloc(*len);
	memcpy(copy, w, *len);
	LDNS_FREE(w);
	return copy;
}

uint8_t *
dns_msg_query(const char *name, uint16_t type, int rd, size_t *len)
{
	ldns_rdf	*dname;
	ldns_pkt	*p;
	uint8_t		*w;

	if ((dname = ldns_dname_new_frm_str(name)) == NULL)
		return NULL;
	p = ldns_pkt_query_new(dname, (ldns_rr_type)type, LDNS_RR_CLASS_IN,
	    rd ? LDNS_RD : 0);
	ldns_pkt_set_random_id(p);
	w = to_wire(p, len);
	ldns_pkt_free(p);
	return w;
}

/* Returns 1 if TXT record rr's strings, joined, are value. */
static int
txt_is(const ldns_rr *rr, const char *value)
{
	size_t		 i, off = 0, vlen = strlen(value), n;
	const uint8_t	*d;

	for (i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);

		if (ldns_rdf_get_type(f) != LDNS_RDF_TYPE_STR ||
		    ldns_rdf_size(f) < 1)
			return 0;
		d = ldns_rdf_data(f);
		n = d[0];
		if (n + 1 > ldns_rdf_size(f) || off + n > vlen ||
		    memcmp(d + 1, value + off, n) != 0)
			return 0;
		off += n;
	}
	return off == vlen;
}

int
dns_msg_txt_has(const uint8_t *w, size_t len, const char *name,
    const char *value, int *has)
{
	ldns_pkt	*p = NULL;
	ldns_rdf	*dname;
	ldns_rr_list	*an;
	size_t		 i;
	int		 rcode;

	*has = 0;
	if (wire2pkt(&p, w, len) != LDNS_STATUS_OK)
		return -1;
	rcode = ldns_pkt_get_rcode(p);
	an = ldns_pkt_answer(p);
	if ((dname = ldns_dname_new_frm_str(name)) != NULL) {
		for (i = 0; an != NULL && i < ldns_rr_list_rr_count(an); i++) {
			ldns_rr *rr = ldns_rr_list_rr(an, i);

			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_TXT &&
			    ldns_dname_compare(ldns_rr_owner(rr), dname) == 0 &&
			    txt_is(rr, value))
				*has = 1;
		}
		ldns_rdf_deep_free(dname);
	}
	ldns_pkt_free(p);
	return rcode;
}

/* Returns malloc'd text of dname d without its trailing dot. */
static char *
dname_text(const ldns_rdf *d)
{
	char	*s, *out;
	size_t	 n;

	if ((s = ldns_rdf2str(d)) == NULL)
		return NULL;
	n = strlen(s);
	if (n > 1 && s[n - 1] == '.')
		n--;
	out = xstrndup(s, n);
	free(s);
	return out;
}

char *
dns_msg_soa_zone(const uint8_t *w, size_t len)
{
	ldns_pkt	*p = NULL;
	ldns_rr_list	*l;
	char		*zone = NULL;
	int		 sec;

	if (wire2pkt(&p, w, len) != LDNS_STATUS_OK)
		return NULL;
	for (sec = 0; sec < 2 && zone == NULL; sec++) {
		l = sec == 0 ? ldns_pkt_answer(p) : ldns_pkt_authority(p);
		for (size_t i = 0; l != NULL && i < ldns_rr_list_rr_count(l) &&
		    zone == NULL; i++)
			if (ldns_rr_get_type(ldns_rr_list_rr(l, i)) ==
			    LDNS_RR_TYPE_SOA)
				zone = dname_text(ldns_rr_owner(
				    ldns_rr_list_rr(l, i)));
	}
	ldns_pkt_free(p);
	return zone;
}

char **
dns_msg_answers(const uint8_t *w, size_t len, uint16_t type, size_t *n)
{
	ldns_pkt	*p = NULL;
	ldns_rr_list	*an;
	char		**v = NULL, *s;
	size_t		 i;

	*n = 0;
	if (wire2pkt(&p, w, len) != LDNS_STATUS_OK)
		return NULL;
	an = ldns_pkt_answer(p);
	for (i = 0; an != NULL && i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (ldns_rr_get_type(rr) != type || ldns_rr_rd_count(rr) < 1)
			continue;
		if (type == DNS_TYPE_NS)
			s = dname_text(ldns_rr_rdf(rr, 0));
		else if ((s = ldns_rdf2str(ldns_rr_rdf(rr, 0))) != NULL) {
			char *c = xstrdup(s);

			free(s);
			s = c;
		}
		if (s == NULL)
			continue;
		v = xreallocarray(v, *n + 1, sizeof(*v));
		v[(*n)++] = s;
	}
	ldns_pkt_free(p);
	return v;
}

void
dns_msg_strv_free(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The one TXT record of an UPDATE: added with ttl, or deleted exactly. */
static ldns_rr *
update_rr(const char *name, const char *value, uint32_t ttl, int del)
{
	ldns_rr	*rr = NULL;
	char	*s;

	s = xasprintf("%s. %u IN TXT \"%s\"", name, del ? 0 : ttl, value);
	if (ldns_rr_new_frm_str(&rr, s, 0, NULL, NULL) != LDNS_STATUS_OK)
		rr = NULL;
	free(s);
	/* RFC 2136 2.5.4: class NONE, TTL 0 deletes this RR alone */
	if (rr != NULL && del)
		ldns_rr_set_class(rr, LDNS_RR_CLASS_NONE);
	return rr;
}

int
dns_msg_update(const char *zone, const char *name, const char *value,
    uint32_t ttl, int del, const struct tsig_key *k, struct dns_update_msg *m,
    char *err, size_t errlen)
{
	ldns_rdf	*zrdf;
	ldns_rr_list	*up;
	ldns_rr		*rr;
	ldns_pkt	*p = NULL;
	ldns_status	 st;
	int		 rc = -1;

	memset(m, 0, sizeof(*m));
	if ((zrdf = ldns_dname_new_frm_str(zone)) == NULL ||
	    (rr = update_rr(name, value, ttl, del)) == NULL) {
		snprintf(err, errlen, "cannot build an UPDATE of %s in zone %s",
		    name, zone);
		ldns_rdf_deep_free(zrdf);
		return -1;
	}
	up = ldns_rr_list_new();
	ldns_rr_list_push_rr(up, rr);
	p = ldns_update_pkt_new(zrdf, LDNS_RR_CLASS_IN, NULL, up, NULL);
	ldns_pkt_set_random_id(p);
	if ((st = ldns_pkt_tsig_sign(p, k->name, k->secret, TSIG_FUDGE,
	    TSIG_ALG, NULL)) != LDNS_STATUS_OK)
		snprintf(err, errlen, "TSIG signing with key %s: %s", k->name,
		    ldns_get_errorstr_by_id(st));
	else if ((m->wire = to_wire(p, &m->len)) == NULL)
		snprintf(err, errlen, "cannot encode the UPDATE of %s", name);
	else {
		m->mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(p), 3));
		rc = 0;
	}
	ldns_rr_list_deep_free(up);
	ldns_pkt_free(p);
	return rc;
}

/*
 * ldns_pkt_tsig_verify takes the TSIG record out of p while it computes
 * the MAC, and on some failures (an algorithm it cannot compute, say)
 * returns without putting it back: the record is then no longer p's to
 * free, so it is freed here (found by fuzz_dns).
 */
static int
tsig_verify(ldns_pkt *p, const uint8_t *w, size_t len,
    const struct tsig_key *k, const ldns_rdf *mac)
{
	ldns_rr	*tsig = ldns_pkt_tsig(p);
	int	 ok;

	ok = ldns_pkt_tsig_verify(p, w, len, k->name, k->secret, mac);
	if (ldns_pkt_tsig(p) == NULL)
		ldns_rr_free(tsig);
	return ok;
}

int
dns_msg_update_result(const struct dns_update_msg *m, const struct tsig_key *k,
    const uint8_t *w, size_t len, char *err, size_t errlen)
{
	ldns_pkt	*p = NULL;
	ldns_rr		*tsig;
	int		 rcode, terr = 0, rc = -1;

	if (wire2pkt(&p, w, len) != LDNS_STATUS_OK) {
		snprintf(err, errlen, "an answer ldns cannot parse");
		return -1;
	}
	rcode = ldns_pkt_get_rcode(p);
	if ((tsig = ldns_pkt_tsig(p)) != NULL && ldns_rr_rd_count(tsig) > 5)
		terr = ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5));
	if (rcode != 0 && terr != 0)
		snprintf(err, errlen, "%s, TSIG error %s", dns_msg_rcode_name(
		    rcode), dns_msg_rcode_name(terr));
	else if (rcode != 0)
		snprintf(err, errlen, "%s", dns_msg_rcode_name(rcode));
	else if (tsig == NULL)
		snprintf(err, errlen, "the answer is not TSIG-signed");
	else if (!tsig_verify(p, w, len, k, m->mac))
		snprintf(err, errlen, "the answer's TSIG does not verify with "
		    "key %s", k->name);
	else
		rc = 0;
	ldns_pkt_free(p);
	return rc;
}

void
dns_msg_update_clear(struct dns_update_msg *m)
{
	free(m->wire);
	ldns_rdf_deep_free(m->mac);
	memset(m, 0, sizeof(*m));
}

char *
dns_msg_system_resolver(void)
{
	ldns_resolver	*r = NULL;
	ldns_rdf	**ns;
	char		*a, *out = NULL;

	if (ldns_resolver_new_frm_file(&r, NULL) != LDNS_STATUS_OK)
		return NULL;
	if (ldns_resolver_nameserver_count(r) > 0 &&
	    (ns = ldns_resolver_nameservers(r)) != NULL &&
	    (a = ldns_rdf2str(ns[0])) != NULL) {
		out = xasprintf(ldns_rdf_get_type(ns[0]) == LDNS_RDF_TYPE_AAAA ?
		    "[%s]:%u" : "%s:%u", a, ldns_resolver_port(r));
		free(a);
	}
	ldns_resolver_deep_free(r);
	return out;
}
