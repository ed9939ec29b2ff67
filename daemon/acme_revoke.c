/* acme_revoke.c - revokeCert (RFC 8555 section 7.6), queued per CA */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "acme_int.h"
#include "crypto.h"
#include "log.h"
#include "xmalloc.h"

/*
 * A revocation waits on ca->revokes until the CA has an account (the same
 * setup orders wait for), then is one signed POST with the account key's
 * kid. Its callback runs from the loop (the CA's answer, or a timer for
 * an error found before anything was sent), or from acme_ca_free, which
 * tells every revocation left that it failed.
 */
struct acme_revoke {
	struct acme_ca		*ca;
	TAILQ_ENTRY(acme_revoke) entry;
	char			*cert_name;	/* for logs */
	char			*payload;
	struct crypto_key	*key;		/* the certificate's; NULL: the account's */
	struct acme_call	*call;		/* non-NULL: in flight */
	struct event		*timer;		/* the deferred failure */
	char			*error;		/* ... and what it says */
	acme_revoke_cb		 cb;
	void			*arg;
};

static void
revoke_free(struct acme_revoke *rv)
{
	TAILQ_REMOVE(&rv->ca->revokes, rv, entry);
	acme_call_cancel(&rv->call);
	event_free(rv->timer);
	free(rv->cert_name);
	free(rv->payload);
	crypto_key_free(rv->key);
	free(rv->error);
	free(rv);
}

/* Tells the owner (error NULL: revoked) and frees rv. */
static void
revoke_finish(struct acme_revoke *rv, const char *error)
{
	acme_revoke_cb	 cb = rv->cb;
	void		*arg = rv->arg;
	char		*e = error != NULL ? xstrdup(error) : NULL;

	revoke_free(rv);
	cb(arg, e);
	free(e);
}

static void
revoke_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct acme_revoke *rv = arg;

	revoke_finish(rv, rv->error);
}

/* Fails rv with err (stolen) from the loop. */
static void
revoke_fail_later(struct acme_revoke *rv, char *err)
{
	free(rv->error);
	rv->error = err;
	event_active(rv->timer, EV_TIMEOUT, 0);
}

static void
revoke_done(void *arg, const struct acme_reply *r)
{
	struct acme_revoke *rv = arg;

	if (r->err == NULL)
		log_msg(LOG_LVL_NOTICE, rv->cert_name, "revoked at CA %s "
		    "(signed with the %s key)", rv->ca->name, rv->key != NULL ?
		    "certificate's" : "account");
	revoke_finish(rv, r->err);
}

int
acme_revoke_waiting(const struct acme_ca *ca)
{
	const struct acme_revoke *rv;

	TAILQ_FOREACH(rv, &ca->revokes, entry)
		if (rv->call == NULL && rv->error == NULL && rv->key == NULL)
			return 1;
	return 0;
}

void
acme_revoke_pump(struct acme_ca *ca)
{
	struct acme_revoke	*rv;
	char			*err;

	TAILQ_FOREACH(rv, &ca->revokes, entry) {
		if (rv->call != NULL || rv->error != NULL)
			continue;
		/* the certificate's key needs the directory, not the account */
		if (rv->key != NULL && !ca->have_dir)
			err = acme_dir_fetch(ca);	/* pumps again */
		else if (rv->key == NULL && (ca->state != CA_READY ||
		    acme_acct_holds_orders(ca)))
			continue;
		else if (ca->revoke_cert == NULL)
			err = xasprintf("acme: %s: the directory of CA %s has "
			    "no revokeCert", ca->directory, ca->name);
		else
			err = acme_call_start_key(ca, &rv->call, rv->cert_name,
			    ca->revoke_cert, "revokeCert", rv->payload, 0,
			    rv->key, revoke_done, rv);
		if (err != NULL)
			revoke_fail_later(rv, err);
	}
}

void
acme_revoke_fail_queued(struct acme_ca *ca, const char *error)
{
	struct acme_revoke *rv;

	TAILQ_FOREACH(rv, &ca->revokes, entry)
		if (rv->call == NULL && rv->error == NULL)
			revoke_fail_later(rv, xstrdup(error));
}

void
acme_revoke_clear(struct acme_ca *ca)
{
	char	*err;

	if (TAILQ_EMPTY(&ca->revokes))
		return;
	/* the owner waits for an answer: it will not come */
	err = xasprintf("acme: CA %s: the client went away (the inventory "
	    "was reloaded, or renewd stops) before the CA answered; the "
	    "revocation may or may not have happened", ca->name);
	while (!TAILQ_EMPTY(&ca->revokes))
		revoke_finish(TAILQ_FIRST(&ca->revokes), err);
	free(err);
}

struct acme_revoke *
acme_revoke_start(struct acme_ca *ca, const char *cert_name,
    const char *cert_b64url, int reason, struct crypto_key *cert_key,
    acme_revoke_cb cb, void *arg)
{
	struct acme_revoke *rv;

	if (cert_b64url == NULL || cb == NULL || reason < 0) {
		crypto_key_free(cert_key);
		return NULL;
	}
	rv = xcalloc(1, sizeof(*rv));
	rv->ca = ca;
	rv->cert_name = xstrdup(cert_name);
	rv->payload = xasprintf("{\"certificate\":\"%s\",\"reason\":%d}",
	    cert_b64url, reason);
	rv->key = cert_key;
	rv->timer = event_new(ca->env.base, -1, 0, revoke_timer_cb, rv);
	rv->cb = cb;
	rv->arg = arg;
	TAILQ_INSERT_TAIL(&ca->revokes, rv, entry);
	/* never call back from inside this call: start from the loop */
	event_active(ca->kick, EV_TIMEOUT, 0);
	return rv;
}

void
acme_revoke_cancel(struct acme_revoke *rv)
{
	if (rv != NULL)
		revoke_free(rv);
}
