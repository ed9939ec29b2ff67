/* challenge_http.h - http-01 solver: our own evhttp listener */
#ifndef RENEWD_CHALLENGE_HTTP_H
#define RENEWD_CHALLENGE_HTTP_H

#include <stddef.h>

#include "challenge_tokens.h"

struct event_base;
struct acme_solver;
struct chall_http;

/* Longest token accepted, in characters. */
#define CHALL_HTTP_TOKEN_MAX	CHALL_TOKEN_MAX

/*
 * Binds every address of listen ("a.b.c.d:port", "[v6]:port"; port 0
 * picks one). Returns NULL with the failing address and reason in err.
 */
struct chall_http *chall_http_new(struct event_base *base,
		    char *const *listen, size_t nlisten, char *err,
		    size_t errlen);
/*
 * Serves the listening sockets fds (passed by the service manager) instead
 * of binding addresses; the solver owns them from here on, also on
 * failure. chall_http_rebind() keeps them. Returns NULL with the reason in err.
 */
struct chall_http *chall_http_adopt(struct event_base *base, const int *fds,
		    size_t nfds, char *err, size_t errlen);
/*
 * Makes listen ch's addresses, in place: the solver and its tokens stay.
 * Binds every new address first; if one fails, ch keeps listening where
 * it did and returns -1 with the address and reason in err. Then closes
 * the sockets of addresses no longer listed; connections they accepted
 * are still answered. An address in both lists keeps its socket. Returns
 * 0 (also when nothing changed).
 */
int		 chall_http_rebind(struct chall_http *ch, char *const *listen,
		    size_t nlisten, char *err, size_t errlen);
/* Stops listening, frees; NULL is a no-op. */
void		 chall_http_free(struct chall_http *);
/* Fills s with the http-01 solver that answers through ch. */
void		 chall_http_solver(struct chall_http *ch, struct acme_solver *s);
/*
 * Publishes keyauth for token (GET /.well-known/acme-challenge/<token>).
 * Returns 0, or -1 if the token is not base64url of 1..CHALL_HTTP_TOKEN_MAX
 * characters. Publishing the same token twice is counted: it stays until
 * withdrawn as often.
 */
int		 chall_http_publish(struct chall_http *, const char *token,
		    const char *keyauth);
/* Withdraws token. Unknown tokens are ignored. */
void		 chall_http_withdraw(struct chall_http *, const char *token);
/* Returns the number of tokens published. */
size_t		 chall_http_count(const struct chall_http *);
/*
 * Cluster mode: a request for a well-formed token the listener lacks is
 * not answered 404 at once; miss(arg, token, found, ctx) asks the cluster
 * and returns a handle (NULL: not asked, 404 now), then calls found(ctx,
 * keyauth or NULL) once from the loop, unless cancel(handle) came first
 * (the client hung up). At most 64 requests wait at a time. Requests
 * waiting on an earlier miss are cancelled and answered 404; miss NULL
 * turns it off.
 */
typedef void	(*chall_http_found)(void *ctx, const char *keyauth);
typedef void	*(*chall_http_miss)(void *arg, const char *token,
		    chall_http_found found, void *ctx);
void		 chall_http_set_miss(struct chall_http *, chall_http_miss miss,
		    void (*cancel)(void *handle), void *arg);
/* Returns the bound port of listener i (in listen order), or -1. */
int		 chall_http_port(const struct chall_http *, size_t i);

#endif
