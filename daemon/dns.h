/* dns.h - DNS transactions on the event loop: UDP with retries, TCP on truncation */
#ifndef RENEWD_DNS_H
#define RENEWD_DNS_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct dns_xfer;

/* Largest DNS message sent or accepted, in bytes (TCP's 2-byte length). */
#define DNS_MSG_MAX	65535
/* UDP attempts per transaction; the timeout is shared among them. */
#define DNS_UDP_TRIES	3

/* The fixed header of a DNS message (RFC 1035 section 4.1.1). */
struct dns_hdr {
	uint16_t	id, flags, qdcount, ancount, nscount, arcount;
};
#define DNS_FLAG_QR	0x8000
#define DNS_FLAG_TC	0x0200
#define DNS_RCODE(flags)	((flags) & 0xf)

/* Parses the header of w (len bytes). Returns 0, or -1 if it is shorter. */
int		 dns_wire_header(const uint8_t *w, size_t len, struct dns_hdr *h);
/*
 * Returns the offset just past the uncompressed name at off in w, or -1
 * if it runs past len, has a label longer than 63 bytes, is longer than
 * 255 bytes or is compressed (a question name never is, in what we send).
 */
long		 dns_wire_name_end(const uint8_t *w, size_t len, size_t off);
/*
 * Returns 0 if message w has at most one TSIG record and it is the last
 * record (RFC 8945 5.1: anything else is a format error), -1 if not or if
 * the records run past len. Checked before ldns reads a message: its
 * parser leaks a TSIG record that another one follows.
 */
int		 dns_wire_tsig_last(const uint8_t *w, size_t len);
/*
 * Returns 1 if reply r answers query q: the same ID, QR set, opcode the
 * same, and the same question (name compared without case). 0 otherwise.
 */
int		 dns_wire_matches(const uint8_t *q, size_t qlen, const uint8_t *r,
		    size_t rlen);
/*
 * TCP framing (RFC 1035 section 4.2.2): given the bytes received so far,
 * returns the length of the first whole message and sets *off to where it
 * starts (2); 0 if more bytes are needed; -1 if the length is 0.
 */
long		 dns_wire_tcp_frame(const uint8_t *buf, size_t len, size_t *off);

/*
 * How a transaction ends: reply is the answer to the query (its ID and
 * question checked), error NULL; or reply NULL and error says what failed
 * ("timed out after 3 tries", "connection refused", ...). Called once,
 * from the loop; the transaction is freed after it returns.
 */
typedef void	(*dns_xfer_done)(void *arg, const uint8_t *reply, size_t len,
		    const char *error);

/*
 * Sends query (qlen bytes, copied) to server ("127.0.0.1:53", "[::1]:53")
 * over UDP, retried DNS_UDP_TRIES times within timeout_ms, and over TCP
 * when the answer is truncated (or at once if tcp is set, or the query is
 * too large for UDP). Returns the transaction, or NULL with err set (a bad
 * address, no socket).
 */
struct dns_xfer	*dns_xfer_start(struct event_base *base, const char *server,
		    const uint8_t *query, size_t qlen, long timeout_ms, int tcp,
		    dns_xfer_done done, void *arg, char *err, size_t errlen);
/* Stops a transaction whose done has not run; it never will. NULL: no-op. */
void		 dns_xfer_cancel(struct dns_xfer *);

#endif
