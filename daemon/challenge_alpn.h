/* challenge_alpn.h - tls-alpn-01 solver (RFC 8737): our own TLS listener */
#ifndef RENEWD_CHALLENGE_ALPN_H
#define RENEWD_CHALLENGE_ALPN_H

#include <stddef.h>

struct event_base;
struct acme_solver;
struct chall_alpn;

/* Connections handled at once; more are closed at accept. */
#define CHALL_ALPN_MAX_CONN	256
/* A handshake that takes longer is dropped, in seconds. */
#define CHALL_ALPN_TIMEOUT	10

/*
 * Binds every address of listen ("a.b.c.d:port", "[v6]:port"; port 0
 * picks one). The listener answers only ALPN "acme-tls/1" for names
 * published, with a self-signed certificate per name (RFC 8737 section 3),
 * and closes after the handshake. Returns NULL with the failing address
 * and reason in err.
 */
struct chall_alpn *chall_alpn_new(struct event_base *base,
		    char *const *listen, size_t nlisten, char *err,
		    size_t errlen);
/*
 * Makes listen a's addresses, in place: the solver and the names it
 * answers for stay. Binds every new address first; if one fails, a keeps
 * listening where it did and returns -1 with the address and reason in
 * err. Then closes the sockets of addresses no longer listed; handshakes
 * they accepted go on. An address in both lists keeps its socket.
 * Returns 0 (also when nothing changed).
 */
int		 chall_alpn_rebind(struct chall_alpn *a, char *const *listen,
		    size_t nlisten, char *err, size_t errlen);
/* Stops listening, drops connections, frees; NULL is a no-op. */
void		 chall_alpn_free(struct chall_alpn *);
/* Fills s with the tls-alpn-01 solver that answers through a. */
void		 chall_alpn_solver(struct chall_alpn *a, struct acme_solver *s);
/*
 * Makes the certificate for name (a DNS name) and keyauth. Returns 0, or
 * -1 (logged). Counted: it stays until withdrawn as often; the newest
 * keyauth wins.
 */
int		 chall_alpn_publish(struct chall_alpn *, const char *name,
		    const char *keyauth);
/* Withdraws name. Unknown names are ignored. */
void		 chall_alpn_withdraw(struct chall_alpn *, const char *name);
/* Returns the number of names published. */
size_t		 chall_alpn_count(const struct chall_alpn *);
/* Returns the bound port of listener i (in listen order), or -1. */
int		 chall_alpn_port(const struct chall_alpn *, size_t i);

#endif
