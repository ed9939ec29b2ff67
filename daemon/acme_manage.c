/* acme_manage.c - the account's management: show, contacts, key rollover, deactivation */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "acme_int.h"
#include "crypto.h"
#include "jws.h"
#include "log.h"
#include "xmalloc.h"

/*
 * Operations wait on ca->acct_reqs and run one at a time, the first
 * first, once the account is set up (CA_READY). A rollover (RFC 8555
 * 7.3.5) holds the CA's new orders and account-signed revocations from
 * the moment it is first in line and waits until no order is in flight,
 * so no request signed with the old key crosses the switch: the orders
 * in flight finish with the old key, the next ones use the new. Its new
 * key is saved as account.key.next before the keyChange goes out and
 * renamed over account.key once the CA said yes; any other outcome
 * (a refusal, a lost answer) makes the account set up again, which asks
 * the CA which of the two keys it knows (acme_account.c). A deactivation
 * is kept in account.json: the CA is then unusable until the account's
 * directory is moved away.
 */
struct acme_acct_req {
	struct acme_ca		*ca;
	TAILQ_ENTRY(acme_acct_req) entry;
	enum acme_acct_op	 op;
	char			**contact;	/* update: the new list */
	size_t			 ncontact;
	struct crypto_key	*new_key;	/* rollover: before the switch */
	int			 rolled;	/* rollover: switched; now a show */
	struct acme_call	*call;		/* non-NULL: in flight */
	struct event		*timer;		/* the deferred end */
	char			*error;		/* ... an error */
	int			 gone;		/* ... or a deactivated account */
	int			 sync;		/* update: the inventory's contacts,
						   as they are when it is sent */
	char			*gone_url;
	acme_account_cb		 cb;		/* NULL: nobody waits any more */
	void			*arg;
};

static const char *const op_names[] = { "show", "update", "rollover",
	"deactivate" };

static void
req_free(struct acme_acct_req *r)
{
	size_t	i;

	TAILQ_REMOVE(&r->ca->acct_reqs, r, entry);
	acme_call_cancel(&r->call);
	event_free(r->timer);
	for (i = 0; i < r->ncontact; i++)
		free(r->contact[i]);
	free(r->contact);
	crypto_key_free(r->new_key);
	free(r->error);
	free(r->gone_url);
	free(r);
}

/* Tells the owner, frees r and lets the next operation go (later). */
static void
req_finish(struct acme_acct_req *r, const char *error,
    const struct acme_account_info *info)
{
	struct acme_ca	*ca = r->ca;
	acme_account_cb	 cb = r->cb;
	void		*arg = r->arg;
	char		*e = error != NULL ? xstrdup(error) : NULL;

	req_free(r);
	event_active(ca->kick, EV_TIMEOUT, 0);
	if (cb != NULL)
		cb(arg, e, e == NULL ? info : NULL);
	free(e);
}

static void
req_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct acme_acct_req		*r = arg;
	struct acme_account_info	 info = { r->ca->name, r->gone_url,
	    "deactivated", NULL, 0, NULL };
	char				*error = r->error;

	/* req_finish frees r: what the callback reads is taken out first */
	r->gone_url = NULL;
	r->error = NULL;
	if (r->gone)
		req_finish(r, NULL, &info);
	else
		req_finish(r, error, NULL);
	free((char *)info.url);
	free(error);
}

/* Ends r with err (stolen) from the loop. */
static void
req_fail_later(struct acme_acct_req *r, char *err)
{
	free(r->error);
	r->error = err;
	event_active(r->timer, EV_TIMEOUT, 0);
}

/* Copies the CA's account object j into ca's store; fills info from it. */
static void
info_take(struct acme_acct_req *r, json_t *j, struct acme_account_info *info,
    char ***contact)
{
	const struct acme_accounts *st = &r->ca->env.accounts;
	json_t	*a = json_object_get(j, "contact"), *v;
	size_t	 i;

	info->ca = r->ca->name;
	info->url = r->ca->account_url;
	info->status = json_string_value(json_object_get(j, "status"));
	if (info->status == NULL)
		info->status = "unknown";
	info->thumbprint = r->ca->thumbprint;
	*contact = xcalloc(json_array_size(a) + 1, sizeof(char *));
	json_array_foreach(a, i, v)
		if (json_is_string(v))
			(*contact)[info->ncontact++] = (char *)json_string_value(v);
	info->contact = *contact;
	acme_acct_registered(r->ca, info->contact, info->ncontact);
	if (st->save_info != NULL)
		st->save_info(st->arg, r->ca->name, info->status, info->contact,
		    info->ncontact, 1);
}

/* The account object came back (show, update, deactivate, after a rollover). */
static void
acct_done(void *arg, const struct acme_reply *rep)
{
	struct acme_acct_req		*r = arg;
	struct acme_ca			*ca = r->ca;
	struct acme_account_info	 info = { 0 };
	char				**contact = NULL, *err = NULL;

	if (rep->err != NULL) {
		req_finish(r, rep->err, NULL);
		return;
	}
	info_take(r, rep->json, &info, &contact);
	if (r->op == ACME_ACCT_DEACTIVATE && strcmp(info.status,
	    "deactivated") != 0)
		err = xasprintf("acme: %s: CA %s answered the deactivation "
		    "with status \"%s\"", ca->account_url, ca->name,
		    info.status);
	else if (r->op == ACME_ACCT_DEACTIVATE) {
		log_notice("acme: CA %s: account %s deactivated; no order goes "
		    "to this CA until a new account is registered", ca->name,
		    ca->account_url);
		ca->deactivated = 1;
		if (ca->state == CA_READY)
			ca->state = CA_IDLE;	/* the next setup refuses */
	} else if (r->op == ACME_ACCT_UPDATE)
		log_notice("acme: CA %s: account %s updated (%zu contact%s)",
		    ca->name, ca->account_url, info.ncontact,
		    info.ncontact == 1 ? "" : "s");
	req_finish(r, err, &info);
	free(err);
	free(contact);
}

/* The CA's answer to the keyChange: switch, or find out which key it has. */
static void
keychange_done(void *arg, const struct acme_reply *rep)
{
	struct acme_acct_req	*r = arg;
	struct acme_ca		*ca = r->ca;
	char			*old = xstrdup(ca->thumbprint != NULL ?
				    ca->thumbprint : "?"), *err;

	ca->next_key = r->new_key;
	r->new_key = NULL;
	if (rep->err == NULL) {
		acme_account_next_end(ca, 1);
		r->rolled = 1;
		log_notice("acme: CA %s: account %s rolled over to a new key "
		    "(thumbprint %s, was %s)", ca->name, ca->account_url,
		    ca->thumbprint, old);
		/* the account, fetched with the new key, is the proof */
		if ((err = acme_call_start(ca, &r->call, NULL, ca->account_url,
		    "account", NULL, CALL_JSON, acct_done, r)) != NULL)
			req_fail_later(r, err);
	} else {
		/*
		 * A refusal, or no answer: the CA may have taken the new key
		 * all the same (a lost answer), so the account is set up
		 * again, asking it which key it knows; both stay till then.
		 */
		err = xasprintf("%s; the account key is unchanged unless the "
		    "CA took the new one: renewd asks it which key it knows",
		    rep->err);
		acme_account_drop(ca);
		req_finish(r, err, NULL);
		free(err);
		acme_ca_setup(ca);
	}
	free(old);
}

/* Makes and saves the new key and sends the keyChange. Returns NULL, or why not. */
static char *
rollover_send(struct acme_acct_req *r)
{
	struct acme_ca	*ca = r->ca;
	const struct acme_accounts *st = &ca->env.accounts;
	json_t		*payload = NULL;
	char		*pem = NULL, *jwk = NULL, *inner = NULL, *body = NULL;
	char		*err = NULL;
	size_t		 len = 0;

	if (ca->key_change == NULL)
		return xasprintf("acme: %s: the directory of CA %s has no "
		    "keyChange", ca->directory, ca->name);
	if ((r->new_key = crypto_key_generate(KEY_EC_P256)) == NULL ||
	    (pem = crypto_key_to_pem(r->new_key, &len)) == NULL)
		err = xasprintf("acme: CA %s: cannot make a new account key",
		    ca->name);
	/* on disk before the CA hears of it: a crash loses neither key */
	else if (st->save_next != NULL && st->save_next(st->arg, ca->name,
	    pem, len) == -1)
		err = xasprintf("acme: CA %s: cannot save account.key.next",
		    ca->name);
	else if ((jwk = jws_jwk(ca->account_key)) == NULL ||
	    (payload = json_pack("{s:s, s:o}", "account", ca->account_url,
	    "oldKey", json_loads(jwk, 0, NULL))) == NULL ||
	    (body = json_dumps(payload, JSON_COMPACT)) == NULL ||
	    (inner = jws_sign(r->new_key, NULL, NULL, ca->key_change,
	    body)) == NULL)
		err = xasprintf("acme: CA %s: cannot sign the keyChange",
		    ca->name);
	else
		err = acme_call_start(ca, &r->call, NULL, ca->key_change,
		    "keyChange", inner, 0, keychange_done, r);
	if (pem != NULL)
		xfree_secret(pem, len);
	json_decref(payload);
	free(jwk);
	free(body);
	free(inner);
	return err;
}

/* Starts r. Returns NULL, or why it cannot (malloc'd). */
static char *
req_send(struct acme_acct_req *r)
{
	struct acme_ca	*ca = r->ca;
	json_t		*p, *a;
	char		*payload = NULL, *err;
	size_t		 i;

	switch (r->op) {
	case ACME_ACCT_ROLLOVER:
		return rollover_send(r);
	case ACME_ACCT_SHOW:
		break;
	case ACME_ACCT_UPDATE:
		a = json_array();
		for (i = 0; i < (r->sync ? ca->ncontact : r->ncontact); i++)
			json_array_append_new(a, json_string(r->sync ?
			    ca->contact[i] : r->contact[i]));
		p = json_pack("{s:o}", "contact", a);
		payload = json_dumps(p, JSON_COMPACT);
		json_decref(p);
		break;
	case ACME_ACCT_DEACTIVATE:
		payload = xstrdup("{\"status\":\"deactivated\"}");
		break;
	}
	err = acme_call_start(ca, &r->call, NULL, ca->account_url, "account",
	    payload, CALL_JSON, acct_done, r);
	free(payload);
	return err;
}

int
acme_acct_waiting(const struct acme_ca *ca)
{
	const struct acme_acct_req *r;

	TAILQ_FOREACH(r, &ca->acct_reqs, entry)
		if (r->call == NULL && r->error == NULL && !r->gone)
			return 1;
	return 0;
}

int
acme_acct_holds_orders(const struct acme_ca *ca)
{
	const struct acme_acct_req *r = TAILQ_FIRST(&ca->acct_reqs);

	return r != NULL && r->op == ACME_ACCT_ROLLOVER && !r->rolled &&
	    r->error == NULL && !r->gone;
}

void
acme_acct_pump(struct acme_ca *ca)
{
	struct acme_acct_req	*r = TAILQ_FIRST(&ca->acct_reqs);
	char			*err;

	if (r == NULL || r->call != NULL || r->error != NULL || r->gone ||
	    ca->state != CA_READY)
		return;
	/* the orders in flight finish with the old key first */
	if (r->op == ACME_ACCT_ROLLOVER && ca->counts[L_ACTIVE] > 0) {
		log_debug("acme: CA %s: the key rollover waits for %zu order%s "
		    "in flight", ca->name, ca->counts[L_ACTIVE],
		    ca->counts[L_ACTIVE] == 1 ? "" : "s");
		return;
	}
	log_info("acme: CA %s: account %s: %s", ca->name, ca->account_url,
	    op_names[r->op]);
	if ((err = req_send(r)) != NULL)
		req_fail_later(r, err);
}

void
acme_acct_fail_queued(struct acme_ca *ca, const char *error)
{
	struct acme_acct_req *r;

	TAILQ_FOREACH(r, &ca->acct_reqs, entry) {
		if (r->call != NULL || r->error != NULL || r->gone)
			continue;
		if (ca->deactivated && r->op == ACME_ACCT_SHOW) {
			/* what we know: the CA refuses a deactivated account */
			r->gone = 1;
			r->gone_url = ca->account_url != NULL ?
			    xstrdup(ca->account_url) : NULL;
			event_active(r->timer, EV_TIMEOUT, 0);
		} else
			req_fail_later(r, xstrdup(error));
	}
}

void
acme_acct_init(struct acme_ca *ca)
{
	TAILQ_INIT(&ca->acct_reqs);
}

void
acme_acct_registered(struct acme_ca *ca, char *const *contact, size_t n)
{
	size_t	i;

	for (i = 0; i < ca->reg_ncontact; i++)
		free(ca->reg_contact[i]);
	free(ca->reg_contact);
	ca->reg_contact = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		ca->reg_contact[i] = xstrdup(contact[i]);
	ca->reg_ncontact = n;
	ca->reg_known = 1;
}

/* The update acme_acct_sync queued: nobody waits, so the log says how it went. */
static void
sync_done(void *arg, const char *error, const struct acme_account_info *info)
{
	struct acme_ca *ca = arg;

	if (error != NULL)
		log_warn("acme: CA %s: the account keeps its old contacts: %s",
		    ca->name, error);
}

void
acme_acct_sync(struct acme_ca *ca)
{
	struct acme_acct_req	*r;
	size_t			 i;

	if (!ca->reg_known)
		return;
	for (i = 0; i < ca->ncontact && i < ca->reg_ncontact; i++)
		if (strcmp(ca->contact[i], ca->reg_contact[i]) != 0)
			break;
	if (i == ca->ncontact && i == ca->reg_ncontact)
		return;
	TAILQ_FOREACH(r, &ca->acct_reqs, entry)
		if (r->cb == sync_done && r->call == NULL)
			return;		/* one waits already; it sends ca->contact */
	log_info("acme: CA %s: the inventory's contacts differ from the "
	    "account's; updating the account", ca->name);
	r = acme_account_start(ca, ACME_ACCT_UPDATE, NULL, 0, sync_done, ca);
	r->sync = 1;
}

void
acme_acct_clear(struct acme_ca *ca)
{
	char	*err;
	size_t	 i;

	for (i = 0; i < ca->reg_ncontact; i++)
		free(ca->reg_contact[i]);
	free(ca->reg_contact);
	ca->reg_contact = NULL;
	ca->reg_ncontact = 0;
	if (TAILQ_EMPTY(&ca->acct_reqs))
		return;
	err = xasprintf("acme: CA %s: the client went away (the inventory "
	    "was reloaded, or renewd stops) before the CA answered", ca->name);
	while (!TAILQ_EMPTY(&ca->acct_reqs))
		req_finish(TAILQ_FIRST(&ca->acct_reqs), err, NULL);
	free(err);
}

struct acme_acct_req *
acme_account_start(struct acme_ca *ca, enum acme_acct_op op,
    char *const *contact, size_t ncontact, acme_account_cb cb, void *arg)
{
	struct acme_acct_req	*r;
	size_t			 i;

	if (cb == NULL || op > ACME_ACCT_DEACTIVATE)
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->ca = ca;
	r->op = op;
	if (op == ACME_ACCT_UPDATE) {
		r->contact = xcalloc(ncontact + 1, sizeof(char *));
		for (i = 0; i < ncontact; i++)
			r->contact[i] = xstrdup(contact[i]);
		r->ncontact = ncontact;
	}
	r->timer = event_new(ca->env.base, -1, 0, req_timer_cb, r);
	r->cb = cb;
	r->arg = arg;
	TAILQ_INSERT_TAIL(&ca->acct_reqs, r, entry);
	/* never call back from inside this call: start from the loop */
	event_active(ca->kick, EV_TIMEOUT, 0);
	return r;
}

void
acme_account_cancel(struct acme_acct_req *r)
{
	if (r == NULL)
		return;
	/* a keyChange sent must end here, whoever waits: forget the caller */
	if (r->op == ACME_ACCT_ROLLOVER && r->call != NULL)
		r->cb = NULL;
	else {
		event_active(r->ca->kick, EV_TIMEOUT, 0);
		req_free(r);
	}
}
