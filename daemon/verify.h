/* verify.h - is the new certificate being served? one TLS handshake */
#ifndef RENEWD_VERIFY_H
#define RENEWD_VERIFY_H

#include <stddef.h>

struct event_base;
struct verifier;
struct verify_req;

/* Hex SHA-256 of a certificate's DER: 64 characters and a NUL. */
#define VERIFY_FP_LEN	65

/*
 * Called once per handshake, on the loop. On success error is NULL, fp is
 * the hex SHA-256 fingerprint of the leaf the server presented and serial
 * its serial in lower-case hex; otherwise error says what failed (connect,
 * handshake, timeout) and fp and serial are NULL.
 */
typedef void (*verify_cb)(void *arg, const char *fp, const char *serial,
		    const char *error);

/* Returns a verifier whose handshakes run on base. */
struct verifier	*verifier_new(struct event_base *base);
/* Cancels every handshake (without callbacks) and frees; NULL is a no-op. */
void		 verifier_free(struct verifier *);
/*
 * Connects to addr ("host:port", "[v6]:port"; a host name is resolved on
 * the loop), sends servername as SNI (unless it is an IP literal), and
 * reports the served leaf. No trust decision is made: the caller compares.
 * Returns a handle for verify_cancel until cb has run; never NULL.
 */
struct verify_req *verify_start(struct verifier *, const char *addr,
		    const char *servername, long timeout_ms, verify_cb cb,
		    void *arg);
/* Abandons a handshake; cb is not called. */
void		 verify_cancel(struct verify_req *);
/*
 * Writes the hex SHA-256 fingerprint of the first certificate of a PEM
 * chain into fp. Returns 0, or -1 if pem holds no certificate.
 */
int		 verify_fingerprint_pem(const char *pem, size_t len,
		    char fp[VERIFY_FP_LEN]);

#endif
