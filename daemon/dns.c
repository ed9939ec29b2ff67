/* dns.c - DNS transactions on the event loop: UDP with retries, TCP on truncation */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "dns.h"
#include "validate.h"
#include "xmalloc.h"

/*
 * ldns builds and parses the messages (dns_msg.c); its I/O blocks, so the
 * sending is ours: one non-blocking socket per transaction, on the loop.
 *
 *   state  event                          next   action
 *   UDP    readable, answer matches, TC=0  -      done(reply)
 *   UDP    readable, TC=1                  TCP    connect, send framed
 *   UDP    readable, not our answer        UDP    ignored (a late or forged reply)
 *   UDP    try timer, tries left           UDP    send again
 *   UDP    try timer, none left            -      done("timed out")
 *   TCP    whole frame, matches            -      done(reply)
 *   TCP    EOF, error, deadline            -      done(error)
 *
 * The checks on what comes back (header, question, framing) are the part
 * we parse ourselves: tests/unit/test_dns.c feeds them known bytes and
 * tests/fuzz/fuzz_dns.c anything.
 */

enum xfer_state { X_UDP, X_TCP };

struct dns_xfer {
	struct event_base	*base;
	enum xfer_state		 state;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	uint8_t			*query;
	size_t			 qlen;
	int			 fd;		/* UDP */
	struct event		*rd;		/* UDP readable */
	struct bufferevent	*bev;		/* TCP */
	struct event		*timer;
	int			 tries;
	long			 timeout_ms;
	char			*server;
	dns_xfer_done		 done;
	void			*arg;
};

/* ---------------------------------------------------------- wire checks */

int
dns_wire_header(const uint8_t *w, size_t len, struct dns_hdr *h)
{
	if (len < 12)
		return -1;
	h->id = (uint16_t)(w[0] << 8 | w[1]);
	h->flags = (uint16_t)(w[2] << 8 | w[3]);
	h->qdcount = (uint16_t)(w[4] << 8 | w[5]);
	h->ancount = (uint16_t)(w[6] << 8 | w[7]);
	h->nscount = (uint16_t)(w[8] << 8 | w[9]);
	h->arcount = (uint16_t)(w[10] << 8 | w[11]);
	return 0;
}

long
dns_wire_name_end(const uint8_t *w, size_t len, size_t off)
{
	size_t	start = off;

	while (off < len) {
		if (w[off] == 0)
			return off + 1 - start > 255 ? -1 : (long)(off + 1);
		if (w[off] > 63)	/* a pointer (0xc0) or a reserved type */
			return -1;
		off += 1 + (size_t)w[off];
		if (off - start > 255)
			return -1;
	}
	return -1;
}

/* Returns the offset past the (maybe compressed) name at off, or -1. */
static long
skip_name(const uint8_t *w, size_t len, size_t off)
{
	while (off < len) {
		if (w[off] == 0)
			return (long)(off + 1);
		if ((w[off] & 0xc0) == 0xc0)	/* a pointer ends the name */
			return off + 2 <= len ? (long)(off + 2) : -1;
		if (w[off] > 63)
			return -1;
		off += 1 + (size_t)w[off];
	}
	return -1;
}

int
dns_wire_tsig_last(const uint8_t *w, size_t len)
{
	struct dns_hdr	h;
	size_t		off = 12, i, nrr;
	long		e;

	if (dns_wire_header(w, len, &h) == -1)
		return -1;
	for (i = 0; i < h.qdcount; i++) {
		if ((e = skip_name(w, len, off)) == -1 || (size_t)e + 4 > len)
			return -1;
		off = (size_t)e + 4;
	}
	nrr = (size_t)h.ancount + h.nscount + h.arcount;
	for (i = 0; i < nrr; i++) {
		if ((e = skip_name(w, len, off)) == -1 || (size_t)e + 10 > len)
			return -1;
		off = (size_t)e;
		if (w[off] == 0 && w[off + 1] == 250 && i + 1 != nrr)
			return -1;		/* a TSIG record, not the last */
		off += 10 + ((size_t)w[off + 8] << 8 | w[off + 9]);
		if (off > len)
			return -1;
	}
	return 0;
}

int
dns_wire_matches(const uint8_t *q, size_t qlen, const uint8_t *r, size_t rlen)
{
	struct dns_hdr	qh, rh;
	long		qend, rend;
	size_t		i;

	if (dns_wire_header(q, qlen, &qh) == -1 ||
	    dns_wire_header(r, rlen, &rh) == -1)
		return 0;
	if (qh.id != rh.id || !(rh.flags & DNS_FLAG_QR) ||
	    (qh.flags & 0x7800) != (rh.flags & 0x7800))
		return 0;
	if (qh.qdcount == 0)
		return 1;
	/* an answer that lost its question (FORMERR, some NOTIMPs) is ours too */
	if (rh.qdcount == 0)
		return DNS_RCODE(rh.flags) != 0;
	if (rh.qdcount != qh.qdcount ||
	    (qend = dns_wire_name_end(q, qlen, 12)) == -1 ||
	    (rend = dns_wire_name_end(r, rlen, 12)) == -1 || qend != rend ||
	    (size_t)qend + 4 > qlen || (size_t)rend + 4 > rlen)
		return 0;
	for (i = 12; i < (size_t)qend; i++) {
		uint8_t a = q[i], b = r[i];

		if (a >= 'A' && a <= 'Z')
			a += 'a' - 'A';
		if (b >= 'A' && b <= 'Z')
			b += 'a' - 'A';
		if (a != b)
			return 0;
	}
	return memcmp(q + qend, r + rend, 4) == 0;	/* type, class */
}

long
dns_wire_tcp_frame(const uint8_t *buf, size_t len, size_t *off)
{
	size_t	n;

	if (len < 2)
		return 0;
	if ((n = (size_t)buf[0] << 8 | buf[1]) == 0)
		return -1;
	*off = 2;
	return len - 2 >= n ? (long)n : 0;
}

/* ------------------------------------------------------------ transport */

static void
xfer_free(struct dns_xfer *x)
{
	if (x->rd != NULL)
		event_free(x->rd);
	if (x->fd != -1)
		close(x->fd);
	if (x->bev != NULL)
		bufferevent_free(x->bev);
	if (x->timer != NULL)
		event_free(x->timer);
	free(x->query);
	free(x->server);
	free(x);
}

/* The one way a transaction ends. */
static void
finish(struct dns_xfer *x, const uint8_t *reply, size_t len, const char *error)
{
	x->done(x->arg, reply, len, error);
	xfer_free(x);
}

static void
fail(struct dns_xfer *x, const char *what, const char *detail)
{
	char	msg[256];

	snprintf(msg, sizeof(msg), "%s%s", what, detail);
	finish(x, NULL, 0, msg);
}

static void
arm(struct dns_xfer *x, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(x->timer, &tv);
}

static void	tcp_start(struct dns_xfer *);

static void
udp_send(struct dns_xfer *x)
{
	x->tries++;
	/* a failed send is a lost datagram: the try timer resends */
	(void)send(x->fd, x->query, x->qlen, MSG_NOSIGNAL);
	arm(x, x->timeout_ms / DNS_UDP_TRIES);
}

static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_xfer	*x = arg;
	struct dns_hdr	 h;
	uint8_t		*buf;
	ssize_t		 n;

	buf = xmalloc(DNS_MSG_MAX);
	n = recv(fd, buf, DNS_MSG_MAX, 0);
	if (n == -1 && errno != EAGAIN && errno != EINTR)
		fail(x, "", strerror(errno));
	else if (n > 0 && dns_wire_matches(x->query, x->qlen, buf, (size_t)n)) {
		dns_wire_header(buf, (size_t)n, &h);
		if (h.flags & DNS_FLAG_TC)
			tcp_start(x);
		else
			finish(x, buf, (size_t)n, NULL);
	}
	free(buf);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_xfer	*x = arg;
	char		 how[64];

	if (x->state == X_UDP && x->tries < DNS_UDP_TRIES) {
		udp_send(x);
		return;
	}
	if (x->state == X_UDP)
		snprintf(how, sizeof(how), "no answer over UDP after %d tries "
		    "in %ld ms", x->tries, x->timeout_ms);
	else
		snprintf(how, sizeof(how), "no answer over TCP in %ld ms",
		    x->timeout_ms);
	fail(x, "", how);
}

static void
tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct dns_xfer	*x = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	size_t		 len = evbuffer_get_length(in), off = 0;
	const uint8_t	*p = evbuffer_pullup(in, -1);
	long		 n;

	if ((n = dns_wire_tcp_frame(p, len, &off)) == 0)
		return;
	if (n == -1)
		fail(x, "", "an empty message over TCP");
	else if (!dns_wire_matches(x->query, x->qlen, p + off, (size_t)n))
		fail(x, "", "an answer over TCP to another question");
	else
		finish(x, p + off, (size_t)n, NULL);
}

static void
tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct dns_xfer	*x = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_ERROR)
		fail(x, "TCP: ", evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
	else if (what & BEV_EVENT_EOF)
		fail(x, "", "TCP connection closed before the answer");
}

/* Truncated over UDP (or too large for it): the same query over TCP. */
static void
tcp_start(struct dns_xfer *x)
{
	uint8_t	len[2] = { (uint8_t)(x->qlen >> 8), (uint8_t)x->qlen };

	x->state = X_TCP;
	if (x->rd != NULL) {
		event_free(x->rd);
		x->rd = NULL;
		close(x->fd);
		x->fd = -1;
	}
	evtimer_del(x->timer);
	arm(x, x->timeout_ms);
	x->bev = bufferevent_socket_new(x->base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(x->bev, tcp_read_cb, NULL, tcp_event_cb, x);
	bufferevent_write(x->bev, len, 2);
	bufferevent_write(x->bev, x->query, x->qlen);
	bufferevent_enable(x->bev, EV_READ | EV_WRITE);
	/* a refused connect is reported through tcp_event_cb, on the loop */
	(void)bufferevent_socket_connect(x->bev, (struct sockaddr *)&x->ss,
	    (int)x->sslen);
}

struct dns_xfer *
dns_xfer_start(struct event_base *base, const char *server,
    const uint8_t *query, size_t qlen, long timeout_ms, int tcp,
    dns_xfer_done done, void *arg, char *err, size_t errlen)
{
	struct dns_xfer	*x;
	const char	*why;

	x = xcalloc(1, sizeof(*x));
	x->fd = -1;
	if ((why = valid_listen(server, 0, &x->ss, &x->sslen)) != NULL) {
		snprintf(err, errlen, "DNS server %s: %s", server, why);
		free(x);
		return NULL;
	}
	x->base = base;
	x->query = xmalloc(qlen);
	memcpy(x->query, query, qlen);
	x->qlen = qlen;
	x->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	x->server = xstrdup(server);
	x->done = done;
	x->arg = arg;
	x->timer = evtimer_new(base, timer_cb, x);
	if (tcp || qlen > 512) {
		tcp_start(x);
		return x;
	}
	x->state = X_UDP;
	if ((x->fd = socket(x->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 || connect(x->fd, (struct sockaddr *)&x->ss,
	    x->sslen) == -1) {
		snprintf(err, errlen, "DNS server %s: %s", server,
		    strerror(errno));
		xfer_free(x);
		return NULL;
	}
	x->rd = event_new(base, x->fd, EV_READ | EV_PERSIST, udp_read_cb, x);
	event_add(x->rd, NULL);
	udp_send(x);
	return x;
}

void
dns_xfer_cancel(struct dns_xfer *x)
{
	if (x != NULL)
		xfer_free(x);
}
