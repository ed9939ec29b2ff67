/* challenge_http.h - http-01 responder (evhttp listener or webroot files) */
#ifndef RENEWD_CHALLENGE_HTTP_H
#define RENEWD_CHALLENGE_HTTP_H

#include <stddef.h>

struct event_base;
struct conf_http01;
struct chall_http;

/* Longest token accepted, in characters. */
#define CHALL_HTTP_TOKEN_MAX	256

/*
 * Binds every listen address of cfg (or, with cfg->webroot, prepares
 * webroot/.well-known/acme-challenge/). Returns NULL with the failing
 * address and reason in err.
 */
struct chall_http *chall_http_new(struct event_base *base,
		    const struct conf_http01 *cfg, char *err, size_t errlen);
/* Stops listening, removes published webroot files, frees; NULL is a no-op. */
void		 chall_http_free(struct chall_http *);
/*
 * Publishes keyauth for token (GET /.well-known/acme-challenge/<token>).
 * Returns 0, or -1 if the token is not base64url of 1..CHALL_HTTP_TOKEN_MAX
 * characters or the webroot file cannot be written. Publishing the same
 * token twice is counted: it stays until withdrawn as often.
 */
int		 chall_http_publish(struct chall_http *, const char *token,
		    const char *keyauth);
/* Withdraws token. Unknown tokens are ignored. */
void		 chall_http_withdraw(struct chall_http *, const char *token);
/* Returns 1 if token syntax is acceptable, else 0. */
int		 chall_http_token_ok(const char *token);
/* Returns the number of tokens published. */
size_t		 chall_http_count(const struct chall_http *);
/* Returns the bound port of listener i (in cfg->listen order), or -1. */
int		 chall_http_port(const struct chall_http *, size_t i);

#endif
