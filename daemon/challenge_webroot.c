/* challenge_webroot.c - http-01 solver: files for someone else's web server */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acme_solver.h"
#include "challenge_tokens.h"
#include "challenge_webroot.h"
#include "log.h"
#include "fsutil.h"
#include "xmalloc.h"

struct chall_webroot {
	char			*dir;	/* webroot/.well-known/acme-challenge */
	struct chall_tokens	 tokens;
};

struct chall_webroot *
chall_webroot_new(const char *webroot, char *err, size_t errlen)
{
	struct chall_webroot	*w;
	char			*wk;
	const char		*failed = NULL;

	w = xcalloc(1, sizeof(*w));
	wk = xasprintf("%s/.well-known", webroot);
	w->dir = xasprintf("%s/acme-challenge", wk);
	/* the web server reads these as another user: 0755, whatever the umask */
	if (fsutil_mkdir(wk, 0755) == -1)
		failed = wk;
	else if (fsutil_mkdir(w->dir, 0755) == -1)
		failed = w->dir;
	if (failed != NULL)
		snprintf(err, errlen, "http-01: cannot create %s: %s", failed,
		    strerror(errno));
	free(wk);
	if (failed != NULL) {
		chall_webroot_free(w);
		w = NULL;
	}
	return w;
}

/* Writes a token's file atomically, so the web server never serves half of it. */
static int
file_write(const struct chall_webroot *w, const char *token,
    const char *keyauth)
{
	char	*path = xasprintf("%s/%s", w->dir, token);
	int	 rc;

	if ((rc = fsutil_write_atomic(path, keyauth, strlen(keyauth), 0644)) == -1)
		log_err("http-01: cannot write %s: %s", path, strerror(errno));
	free(path);
	return rc;
}

/* chall_tokens_clear's gone: the token's file goes too. */
static void
file_remove(void *arg, const char *token)
{
	const struct chall_webroot *w = arg;
	char			*path = xasprintf("%s/%s", w->dir, token);

	if (fsutil_unlink(path) == -1)
		log_warn("http-01: cannot remove %s: %s", path, strerror(errno));
	free(path);
}

int
chall_webroot_publish(struct chall_webroot *w, const char *token,
    const char *keyauth)
{
	const char *old;

	if (w == NULL || keyauth == NULL || !chall_token_ok(token)) {
		log_err("http-01: refusing to publish a malformed token");
		return -1;
	}
	/* same token again: counted; a new key authorization is rewritten */
	old = chall_tokens_get(&w->tokens, token);
	if ((old == NULL || strcmp(old, keyauth) != 0) &&
	    file_write(w, token, keyauth) == -1)
		return -1;
	if (chall_tokens_add(&w->tokens, token, keyauth))
		log_debug("http-01: published token %s in %s", token, w->dir);
	return 0;
}

void
chall_webroot_withdraw(struct chall_webroot *w, const char *token)
{
	if (w == NULL || !chall_token_ok(token))
		return;
	if (chall_tokens_drop(&w->tokens, token)) {
		log_debug("http-01: withdrew token %s", token);
		file_remove(w, token);
	}
}

size_t
chall_webroot_count(const struct chall_webroot *w)
{
	return w == NULL ? 0 : w->tokens.n;
}

void
chall_webroot_free(struct chall_webroot *w)
{
	if (w == NULL)
		return;
	chall_tokens_clear(&w->tokens, file_remove, w);
	free(w->dir);
	free(w);
}

/* ------------------------------------------------------- solver contract */

static int
solver_publish(void *arg, const struct acme_challenge *c,
    acme_solver_done done, void *ctx)
{
	return chall_webroot_publish(arg, c->token, c->keyauth);
}

static void
solver_withdraw(void *arg, const struct acme_challenge *c)
{
	chall_webroot_withdraw(arg, c->token);
}

void
chall_webroot_solver(struct chall_webroot *w, struct acme_solver *s)
{
	memset(s, 0, sizeof(*s));
	s->type = "http-01";
	s->can = NULL;		/* http-01 answers for names and addresses */
	s->publish = solver_publish;
	s->withdraw = solver_withdraw;
	s->arg = w;
}
