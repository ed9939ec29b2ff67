/* dns_msg.h - DNS messages built and read with ldns: queries, UPDATE, TSIG */
#ifndef RENEWD_DNS_MSG_H
#define RENEWD_DNS_MSG_H

#include <stddef.h>
#include <stdint.h>

struct tsig_key;

#define DNS_TYPE_A	1
#define DNS_TYPE_NS	2
#define DNS_TYPE_SOA	6
#define DNS_TYPE_TXT	16
#define DNS_TYPE_AAAA	28

/* The RFC 1035/2136/2845 name of an RCODE or TSIG error ("REFUSED", "BADSIG"). */
const char	*dns_msg_rcode_name(int rcode);
/*
 * Returns a malloc'd query for name and type (recursion desired if rd), a
 * random ID, its length in *len; NULL if name is not a DNS name.
 */
uint8_t		*dns_msg_query(const char *name, uint16_t type, int rd,
		    size_t *len);
/*
 * Reads an answer: returns its RCODE (0 NOERROR) and, if it has one, sets
 * *has to 1 when the answer section holds a TXT record at name whose text
 * is value. Returns -1 if ldns cannot parse it.
 */
int		 dns_msg_txt_has(const uint8_t *w, size_t len, const char *name,
		    const char *value, int *has);
/*
 * Returns the malloc'd zone (no trailing dot) named by the SOA record in
 * the answer or authority section, or NULL when there is none.
 */
char		*dns_msg_soa_zone(const uint8_t *w, size_t len);
/*
 * Returns the answer section's NS targets (type NS) or addresses (A,
 * AAAA) as malloc'd text ("ns1.example.com", "192.0.2.1"), *n of them, in
 * a malloc'd array; NULL with *n 0 if none.
 */
char		**dns_msg_answers(const uint8_t *w, size_t len, uint16_t type,
		    size_t *n);

/* A signed UPDATE and what verifying its answer needs. */
struct dns_update_msg {
	uint8_t	*wire;
	size_t	 len;
	void	*mac;		/* the request MAC (ldns_rdf) */
};

/*
 * Builds an UPDATE of zone that adds (del 0; ttl seconds) or deletes
 * exactly (del 1) the TXT record name/value, TSIG-signed with k
 * (hmac-sha256). Returns 0, or -1 with err.
 */
int		 dns_msg_update(const char *zone, const char *name,
		    const char *value, uint32_t ttl, int del,
		    const struct tsig_key *k, struct dns_update_msg *m,
		    char *err, size_t errlen);
/*
 * Judges the answer to m: returns 0 if it is NOERROR with a TSIG that
 * verifies with k; -1 with err ("NOTAUTH, TSIG error BADSIG", "REFUSED",
 * "the answer's TSIG does not verify") otherwise.
 */
int		 dns_msg_update_result(const struct dns_update_msg *m,
		    const struct tsig_key *k, const uint8_t *w, size_t len,
		    char *err, size_t errlen);
/* Frees m's parts; m itself stays. */
void		 dns_msg_update_clear(struct dns_update_msg *m);
/*
 * Returns the first nameserver of /etc/resolv.conf as malloc'd
 * "addr:port" (read through ldns, a local file), or NULL.
 */
char		*dns_msg_system_resolver(void);
/* Frees an array from dns_msg_answers. */
void		 dns_msg_strv_free(char **v, size_t n);

#endif
