/* challenge_webroot.h - http-01 solver: files for someone else's web server */
#ifndef RENEWD_CHALLENGE_WEBROOT_H
#define RENEWD_CHALLENGE_WEBROOT_H

#include <stddef.h>

struct acme_solver;
struct chall_webroot;

/*
 * Prepares webroot/.well-known/acme-challenge/ (0755, for a web server
 * that runs as another user). Returns NULL with the reason in err.
 */
struct chall_webroot *chall_webroot_new(const char *webroot, char *err,
		    size_t errlen);
/* Removes every file still published, frees; NULL is a no-op. */
void		 chall_webroot_free(struct chall_webroot *);
/* Fills s with the http-01 solver that answers through w. */
void		 chall_webroot_solver(struct chall_webroot *w, struct acme_solver *s);
/*
 * Writes keyauth to acme-challenge/<token> (0644, atomically). Returns 0,
 * or -1 if the token is malformed or the file cannot be written (logged).
 * Counted like the listener: the file stays until withdrawn as often.
 */
int		 chall_webroot_publish(struct chall_webroot *, const char *token,
		    const char *keyauth);
/* Withdraws token, removing its file after the last withdrawal. */
void		 chall_webroot_withdraw(struct chall_webroot *, const char *token);
/* Returns the number of tokens published. */
size_t		 chall_webroot_count(const struct chall_webroot *);

#endif
