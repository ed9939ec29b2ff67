/* challenge_webroot.c - http-01 solver: files for someone else's web server */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
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
	int			 dfd;	/* that directory */
	struct chall_tokens	 tokens;
};

/*
 * Makes or opens directory name in dfd (shown as path), never through a
 * symlink: the web server's owner can write in the webroot, and root
 * must not write wherever a link of theirs points. Returns its descriptor
 * or -1 with err filled.
 */
static int
webroot_dir(int dfd, const char *name, const char *path, char *err,
    size_t errlen)
{
	int	fd;

	/* the web server reads these as another user: 0755, whatever the umask */
	if ((fd = fsutil_mkdirat(dfd, name, 0755, 0)) != -1)
		return fd;
	if (errno == ELOOP)
		snprintf(err, errlen, "http-01: %s is a symbolic link: refusing "
		    "to follow it (make it a directory)", path);
	else
		snprintf(err, errlen, "http-01: cannot create %s: %s", path,
		    strerror(errno));
	return -1;
}

struct chall_webroot *
chall_webroot_new(const char *webroot, char *err, size_t errlen)
{
	struct chall_webroot	*w;
	char			*wk;
	int			 rfd, wkfd = -1;

	w = xcalloc(1, sizeof(*w));
	w->dfd = -1;
	wk = xasprintf("%s/.well-known", webroot);
	w->dir = xasprintf("%s/acme-challenge", wk);
	/* the webroot itself is the admin's choice, symlink or not */
	if ((rfd = open(webroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		snprintf(err, errlen, "http-01: cannot open webroot %s: %s",
		    webroot, strerror(errno));
	else if ((wkfd = webroot_dir(rfd, ".well-known", wk, err, errlen)) != -1)
		w->dfd = webroot_dir(wkfd, "acme-challenge", w->dir, err,
		    errlen);
	if (rfd != -1)
		close(rfd);
	if (wkfd != -1)
		close(wkfd);
	free(wk);
	if (w->dfd == -1) {
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
	int	rc;

	if ((rc = fsutil_write_atomic_at(w->dfd, token, keyauth,
	    strlen(keyauth), 0644, (uid_t)-1, (gid_t)-1)) == -1)
		log_err("http-01: cannot write %s/%s: %s", w->dir, token,
		    strerror(errno));
	return rc;
}

/* chall_tokens_clear's gone: the token's file goes too. */
static void
file_remove(void *arg, const char *token)
{
	const struct chall_webroot *w = arg;

	if (fsutil_unlinkat(w->dfd, token) == -1)
		log_warn("http-01: cannot remove %s/%s: %s", w->dir, token,
		    strerror(errno));
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
	if (w->dfd != -1)
		close(w->dfd);
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
