/* acme.c - RFC 8555 client: the public API and each CA's order queue */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "acme_int.h"
#include "xmalloc.h"

#define DEFAULT_MAX_ORDERS	8

/* Moves queued orders in flight as far as the account and the limit allow. */
void
acme_ca_pump(struct acme_ca *ca)
{
	struct acme_order *o;

	acme_revoke_pump(ca);
	acme_acct_pump(ca);
	if (TAILQ_EMPTY(&ca->lists[L_QUEUE]) && !acme_revoke_waiting(ca) &&
	    !acme_acct_waiting(ca))
		return;
	switch (ca->state) {
	case CA_IDLE:
		acme_ca_setup(ca);	/* pumps again once the account is ready */
		return;
	case CA_SETUP:
		return;
	case CA_READY:
		break;
	}
	/* a rollover holds new orders until the CA has the new key */
	if (acme_acct_holds_orders(ca))
		return;
	/* admitting moves the order off the queue (or ends it) */
	while (ca->counts[L_ACTIVE] < ca->max_orders &&
	    (o = TAILQ_FIRST(&ca->lists[L_QUEUE])) != NULL)
		acme_order_admit(o);
}

static void
ca_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	acme_ca_pump(arg);
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* The settings acme_ca_update may change. */
static void
ca_set_limits(struct acme_ca *ca, const struct conf_ca *cfg)
{
	size_t	i;

	for (i = 0; i < ca->ncontact; i++)
		free(ca->contact[i]);
	free(ca->contact);
	ca->max_orders = cfg->max_concurrent_orders > 0 ?
	    cfg->max_concurrent_orders : DEFAULT_MAX_ORDERS;
	ca->contact = xcalloc(cfg->contact.n, sizeof(char *));
	for (i = 0; i < cfg->contact.n; i++)
		ca->contact[i] = xstrdup(cfg->contact.v[i]);
	ca->ncontact = cfg->contact.n;
}

void
acme_ca_update(struct acme_ca *ca, const struct conf_ca *cfg)
{
	ca_set_limits(ca, cfg);
	/* new contacts go to the account at once, if it is set up */
	if (ca->state == CA_READY)
		acme_acct_sync(ca);
	/* a higher limit admits queued orders: from the loop, as ever */
	event_active(ca->kick, EV_TIMEOUT, 0);
}

struct acme_ca *
acme_ca_new(const struct acme_env *env, const struct conf_ca *cfg)
{
	struct acme_ca	*ca;
	size_t		 i;

	ca = xcalloc(1, sizeof(*ca));
	for (i = 0; i < L_COUNT; i++)
		TAILQ_INIT(&ca->lists[i]);
	ca->env = *env;
	ca->name = xstrdup(cfg->name);
	ca->directory = xstrdup(cfg->directory);
	ca->eab_kid = dup_or_null(cfg->eab_kid);
	ca->eab_hmac_key = dup_or_null(cfg->eab_hmac_key);
	ca->ca_bundle = dup_or_null(cfg->ca_bundle);
	ca_set_limits(ca, cfg);
	ca->kick = event_new(env->base, -1, 0, ca_kick_cb, ca);
	ca->get_opts.ca_bundle = ca->ca_bundle;
	ca->get_opts.timeout_ms = REQUEST_TIMEOUT_MS;
	ca->get_opts.https_only = !env->allow_http;
	ca->post_opts = ca->get_opts;
	ca->post_opts.content_type = "application/jose+json";
	TAILQ_INIT(&ca->revokes);
	acme_acct_init(ca);
	acme_ari_init(ca);
	acme_holds_load(ca);
	return ca;
}

void
acme_ca_free(struct acme_ca *ca)
{
	struct acme_order	*o;
	size_t			 i;

	if (ca == NULL)
		return;
	for (i = 0; i < L_COUNT; i++)
		while ((o = TAILQ_FIRST(&ca->lists[i])) != NULL)
			acme_order_free(o);
	acme_ari_clear(ca);
	acme_revoke_clear(ca);
	acme_acct_clear(ca);
	acme_account_clear(ca);
	sched_holds_clear(&ca->held);
	event_free(ca->kick);
	for (i = 0; i < ca->ncontact; i++)
		free(ca->contact[i]);
	free(ca->contact);
	free(ca->name);
	free(ca->directory);
	free(ca->eab_kid);
	xfree_secret_str(ca->eab_hmac_key);
	free(ca->ca_bundle);
	free(ca);
}

const char *
acme_ca_name(const struct acme_ca *ca)
{
	return ca->name;
}

struct acme_order *
acme_order_start(struct acme_ca *ca, const struct acme_order_req *req,
    acme_order_cb cb, void *arg)
{
	struct acme_order *o;

	if (req->ndomains == 0 || req->domains == NULL || req->key == NULL ||
	    cb == NULL)
		return NULL;
	o = acme_order_new(ca, req, cb, arg);
	/* never call back from inside this call: start from the loop */
	event_active(ca->kick, EV_TIMEOUT, 0);
	return o;
}

void
acme_order_cancel(struct acme_order *o)
{
	acme_order_free(o);
}

size_t
acme_ca_orders(const struct acme_ca *ca)
{
	return ca->counts[L_QUEUE] + ca->counts[L_ACTIVE];
}
