/* acme_account.c - the CA's directory and our account there */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "acme_int.h"
#include "crypto.h"
#include "jws.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

/*
 * CA_IDLE -> CA_SETUP (GET directory, then load or make the key, then
 * newAccount unless the URL is known) -> CA_READY; any failure -> CA_IDLE
 * with every queued order failed. acme_ca_pump admits orders in CA_READY
 * and starts the setup in CA_IDLE.
 */

static void	account_setup(struct acme_ca *);

/* Account or directory setup failed: every order waiting for it fails. */
static void
setup_fail(struct acme_ca *ca, const char *err, enum acme_fail_class cls)
{
	struct acme_order *o;

	/*
	 * No identifier is validated while the account is set up: an
	 * "unauthorized" here (a wrong EAB key) is the account's at this CA,
	 * which another CA does not share, not a domain's failure.
	 */
	if (cls == ACME_FAIL_DOMAIN)
		cls = ACME_FAIL_CA;
	ca->state = CA_IDLE;
	log_warn("CA %s: account setup failed: %s", ca->name, err);
	while ((o = TAILQ_FIRST(&ca->lists[L_QUEUE])) != NULL)
		acme_order_fail(o, err, cls);
	acme_revoke_fail_queued(ca, err);
	acme_acct_fail_queued(ca, err);
}

/* Same, for an error made here: the CA's answer is no use. */
static void
setup_fail_free(struct acme_ca *ca, char *err)
{
	setup_fail(ca, err, ACME_FAIL_CA);
	free(err);
}

static void
account_ready(struct acme_ca *ca, const char *url)
{
	const struct acme_accounts *st = &ca->env.accounts;

	free(ca->account_url);
	ca->account_url = xstrdup(url);
	ca->account_gen++;
	ca->lookup_first = 0;
	if (st->save_url != NULL && st->save_url(st->arg, ca->name, url) == -1)
		log_warn("acme: CA %s: cannot save the account URL; it will be "
		    "looked up again next time", ca->name);
	log_info("acme: CA %s: account %s", ca->name, url);
	ca->state = CA_READY;
	acme_acct_sync(ca);
	acme_ca_pump(ca);
}

static void
account_done(void *arg, const struct acme_reply *r)
{
	struct acme_ca *ca = arg;
	const struct acme_accounts *st = &ca->env.accounts;
	char	       *err;

	if (r->err != NULL)
		setup_fail(ca, r->err, r->cls);
	else if (r->resp->location == NULL)
		setup_fail_free(ca, xasprintf("acme: %s: newAccount response "
		    "lacks a Location header", ca->new_account));
	else if ((err = acme_url_refused(ca, "account Location",
	    r->resp->location)) != NULL)
		setup_fail_free(ca, err);
	else {
		/* created: it has the contacts newAccount sent */
		if (r->resp->status == 201) {
			acme_acct_registered(ca, ca->contact, ca->ncontact);
			if (st->save_info != NULL)
				st->save_info(st->arg, ca->name, "valid",
				    ca->contact, ca->ncontact, 1);
		}
		account_ready(ca, r->resp->location);
	}
}

/* Returns the newAccount payload, or NULL with *err set. */
static char *
account_payload(struct acme_ca *ca, char **err)
{
	json_t	*body, *contact, *eab;
	char	*payload = NULL, *eabs = NULL;
	size_t	 i;

	body = json_pack("{s:b}", "termsOfServiceAgreed", 1);
	if (ca->ncontact > 0) {
		contact = json_array();
		for (i = 0; i < ca->ncontact; i++)
			json_array_append_new(contact,
			    json_string(ca->contact[i]));
		json_object_set_new(body, "contact", contact);
	}
	if (ca->eab_kid != NULL && ca->eab_hmac_key != NULL) {
		eabs = jws_eab(ca->account_key, ca->eab_kid, ca->eab_hmac_key,
		    ca->new_account);
		if (eabs == NULL || (eab = json_loads(eabs, 0, NULL)) == NULL) {
			*err = xasprintf("acme: CA %s: cannot make the external "
			    "account binding (is eab hmac_key base64url?)",
			    ca->name);
			goto out;
		}
		json_object_set_new(body, "externalAccountBinding", eab);
	}
	payload = json_dumps(body, JSON_COMPACT);
out:
	json_decref(body);
	free(eabs);
	return payload;
}

/*
 * NULL, or why no account can be made: the directory says
 * externalAccountRequired and the inventory gives no EAB key.
 */
static char *
eab_missing(const struct acme_ca *ca)
{
	if (!ca->eab_required || (ca->eab_kid != NULL &&
	    ca->eab_hmac_key != NULL))
		return NULL;
	return xasprintf("acme: CA %s (%s): the directory says "
	    "externalAccountRequired, but no eab is configured for this CA: "
	    "add eab: { kid: ..., hmac_key_file: ... } from the CA",
	    ca->name, ca->directory);
}

static void
account_create(struct acme_ca *ca)
{
	char	*payload = NULL, *err = NULL;

	if ((err = eab_missing(ca)) == NULL &&
	    (payload = account_payload(ca, &err)) != NULL)
		err = acme_call_start(ca, &ca->account_call, NULL,
		    ca->new_account, "newAccount", payload, CALL_JWK, account_done, ca);
	if (err != NULL)
		setup_fail_free(ca, err);
	free(payload);
}

static void
account_lookup_done(void *arg, const struct acme_reply *r)
{
	struct acme_ca *ca = arg;

	if (acme_reply_problem(r, "accountDoesNotExist")) {
		log_info("acme: CA %s: no account for the stored key yet; "
		    "creating one", ca->name);
		account_create(ca);
		return;
	}
	account_done(arg, r);
}

/* Takes a stored key and its URL (owned; may be NULL). Returns NULL, or why not. */
static char *
account_take(struct acme_ca *ca, const char *pem, char *url)
{
	const struct acme_accounts *st = &ca->env.accounts;
	char	*where = NULL, *err = NULL;

	if (pem == NULL)
		err = xasprintf("acme: CA %s: the stored account has no key",
		    ca->name);
	else if ((ca->account_key = crypto_key_from_pem(pem, strlen(pem))) ==
	    NULL) {
		if (st->key_path != NULL)
			where = st->key_path(st->arg, ca->name);
		err = xasprintf("acme: CA %s: the stored account key%s%s is "
		    "unreadable (move it away to register a new account)",
		    ca->name, where != NULL ? " " : "",
		    where != NULL ? where : "");
		free(where);
	} else if (url != NULL && !acme_same_origin(url, ca->directory)) {
		/* registered with another CA address: look it up here */
		log_info("acme: CA %s: stored account %s is not at %s; "
		    "looking the key up again", ca->name, url, ca->directory);
		free(url);
		url = NULL;
	}
	if (err != NULL) {
		free(url);
		return err;
	}
	ca->account_url = url;
	ca->account_gen++;
	ca->lookup_first = url == NULL;
	return NULL;
}

/* Makes a new key and saves it. Returns NULL, or why it cannot. */
static char *
account_generate(struct acme_ca *ca)
{
	const struct acme_accounts *st = &ca->env.accounts;
	char	*pem, *err = NULL;
	size_t	 len;

	/* P-256 is quick enough to make on the loop */
	if ((ca->account_key = crypto_key_generate(KEY_EC_P256)) == NULL ||
	    (pem = crypto_key_to_pem(ca->account_key, &len)) == NULL)
		return xasprintf("acme: CA %s: cannot make an account key",
		    ca->name);
	/* saved before registering, so a crash cannot orphan an account */
	if (st->save_key != NULL && st->save_key(st->arg, ca->name, pem,
	    len) == -1)
		err = xasprintf("acme: CA %s: cannot save the account key",
		    ca->name);
	xfree_secret(pem, len);
	ca->lookup_first = 0;
	return err;
}

/*
 * What else a stored account may have: a rollover's new key that the CA
 * may or may not have taken (account.key.next), a deactivation. Returns
 * NULL, or why the account cannot be used.
 */
static char *
account_extra(struct acme_ca *ca)
{
	const struct acme_accounts *st = &ca->env.accounts;
	char	*pem = NULL, *status = NULL, *err = NULL, **contact = NULL;
	size_t	 ncontact = 0, i;

	if (st->load_info != NULL) {
		if (st->load_info(st->arg, ca->name, &status, &contact,
		    &ncontact) == 1)
			acme_acct_registered(ca, contact, ncontact);
		ca->deactivated = status != NULL &&
		    strcmp(status, "deactivated") == 0;
		free(status);
		for (i = 0; i < ncontact; i++)
			free(contact[i]);
		free(contact);
	}
	if (st->load_next == NULL)
		return NULL;
	switch (st->load_next(st->arg, ca->name, &pem)) {
	case -1:
		err = xasprintf("acme: CA %s: cannot read account.key.next",
		    ca->name);
		break;
	case 1:
		if ((ca->next_key = crypto_key_from_pem(pem, strlen(pem))) ==
		    NULL)
			err = xasprintf("acme: CA %s: account.key.next (a key "
			    "rollover's) is unreadable; move it away if "
			    "account.key works", ca->name);
		break;
	}
	xfree_secret_str(pem);
	return err;
}

/* Loads or makes the account key. Returns NULL, or why it cannot. */
static char *
account_key(struct acme_ca *ca)
{
	const struct acme_accounts *st = &ca->env.accounts;
	char	*pem = NULL, *url = NULL, *err = NULL;
	int	 r = 0;

	if (st->load != NULL &&
	    (r = st->load(st->arg, ca->name, &pem, &url)) == -1)
		err = xasprintf("acme: CA %s: cannot load the account from the "
		    "state directory", ca->name);
	else if (r == 1) {
		err = account_take(ca, pem, url);
		url = NULL;
		if (err == NULL)
			err = account_extra(ca);
	} else if ((err = eab_missing(ca)) == NULL)	/* no key made in vain */
		err = account_generate(ca);
	if (err == NULL && (ca->thumbprint = jws_thumbprint(ca->account_key)) ==
	    NULL)
		err = xasprintf("acme: CA %s: cannot compute the account key "
		    "thumbprint", ca->name);
	if (err != NULL)
		acme_account_drop(ca);
	xfree_secret_str(pem);
	free(url);
	return err;
}

void
acme_account_drop(struct acme_ca *ca)
{
	crypto_key_free(ca->account_key);
	ca->account_key = NULL;
	crypto_key_free(ca->next_key);
	ca->next_key = NULL;
	free(ca->thumbprint);
	ca->thumbprint = NULL;
	free(ca->account_url);
	ca->account_url = NULL;
	ca->account_gen++;
	ca->deactivated = 0;
	if (ca->state == CA_READY)
		ca->state = CA_IDLE;
}

void
acme_account_next_end(struct acme_ca *ca, int commit)
{
	const struct acme_accounts *st = &ca->env.accounts;

	if (st->end_next != NULL && st->end_next(st->arg, ca->name,
	    commit) == -1)
		log_warn("acme: CA %s: account.key.next could not be %s; the "
		    "next start asks the CA again which key it knows",
		    ca->name, commit ? "made the account key" : "removed");
	if (commit) {
		crypto_key_free(ca->account_key);
		ca->account_key = ca->next_key;
		free(ca->thumbprint);
		ca->thumbprint = jws_thumbprint(ca->account_key);
	} else
		crypto_key_free(ca->next_key);
	ca->next_key = NULL;
}

#define LOOKUP_PAYLOAD	"{\"onlyReturnExisting\":true}"

/* The CA's answer for account.key.next, after it did not know account.key. */
static void
resolve_next_done(void *arg, const struct acme_reply *r)
{
	struct acme_ca *ca = arg;

	if (acme_reply_problem(r, "accountDoesNotExist")) {
		log_warn("acme: CA %s: the CA knows neither account.key nor "
		    "account.key.next; dropping the new key and registering "
		    "account.key", ca->name);
		acme_account_next_end(ca, 0);
		account_create(ca);
		return;
	}
	if (r->err == NULL) {
		log_notice("acme: CA %s: the CA has the rollover's new key: "
		    "account.key.next becomes account.key", ca->name);
		acme_account_next_end(ca, 1);
	}
	account_done(arg, r);
}

/* The CA's answer for account.key, with account.key.next left over. */
static void
resolve_old_done(void *arg, const struct acme_reply *r)
{
	struct acme_ca *ca = arg;
	char	       *err;

	if (acme_reply_problem(r, "accountDoesNotExist")) {
		log_info("acme: CA %s: the CA no longer knows account.key; "
		    "asking about account.key.next", ca->name);
		if ((err = acme_call_start_key(ca, &ca->account_call, NULL,
		    ca->new_account, "newAccount", LOOKUP_PAYLOAD, CALL_JWK,
		    ca->next_key, resolve_next_done, ca)) != NULL)
			setup_fail_free(ca, err);
		return;
	}
	if (r->err == NULL) {
		log_notice("acme: CA %s: the CA still has the old account key: "
		    "the unconfirmed account.key.next is removed", ca->name);
		acme_account_next_end(ca, 0);
	}
	account_done(arg, r);
}

/*
 * A rollover was cut short (a crash, a lost answer): ask the CA which
 * key it knows, the old first (onlyReturnExisting looks a key up), and
 * keep that one. Until it answers both files stay.
 */
static void
account_resolve(struct acme_ca *ca)
{
	char	*err;

	log_notice("acme: CA %s: a key rollover did not finish "
	    "(account.key.next is there); asking the CA which key it knows",
	    ca->name);
	if ((err = acme_call_start(ca, &ca->account_call, NULL,
	    ca->new_account, "newAccount", LOOKUP_PAYLOAD, CALL_JWK,
	    resolve_old_done, ca)) != NULL)
		setup_fail_free(ca, err);
}

/* Why a deactivated account is no use, naming the CA and the way out. */
static char *
deactivated_error(struct acme_ca *ca)
{
	const struct acme_accounts *st = &ca->env.accounts;
	char	*where = st->key_path != NULL ? st->key_path(st->arg,
		    ca->name) : NULL, *err;

	err = xasprintf("acme: CA %s (%s): the account %s was deactivated "
	    "(renewctl account deactivate); no order goes to this CA until a "
	    "new account is registered: move the account's directory%s%s "
	    "away", ca->name, ca->directory, ca->account_url != NULL ?
	    ca->account_url : "", where != NULL ? " of " : "",
	    where != NULL ? where : "");
	free(where);
	return err;
}

static void
account_setup(struct acme_ca *ca)
{
	char *err;

	if (ca->account_key == NULL && (err = account_key(ca)) != NULL) {
		setup_fail_free(ca, err);
		return;
	}
	if (ca->deactivated) {
		err = deactivated_error(ca);
		setup_fail(ca, err, ACME_FAIL_CA);
		free(err);
		/* read again next time: the directory may be gone by then */
		acme_account_drop(ca);
		return;
	}
	if (ca->next_key != NULL) {
		account_resolve(ca);
		return;
	}
	if (ca->account_url != NULL) {
		ca->state = CA_READY;
		acme_acct_sync(ca);
		acme_ca_pump(ca);
	} else if (!ca->lookup_first)
		account_create(ca);
	else if ((err = acme_call_start(ca, &ca->account_call, NULL,
	    ca->new_account, "newAccount", "{\"onlyReturnExisting\":true}", CALL_JWK,
	    account_lookup_done, ca)) != NULL)
		setup_fail_free(ca, err);
}

void
acme_account_forget(struct acme_ca *ca, unsigned gen)
{
	/*
	 * Late answers to requests signed before a re-registration must not
	 * forget the new account: only the current one goes.
	 */
	if (ca->account_url == NULL || gen != ca->account_gen)
		return;
	log_warn("acme: %s: account %s does not exist any more; registering "
	    "again", ca->name, ca->account_url);
	free(ca->account_url);
	ca->account_url = NULL;
	ca->account_gen++;
	ca->lookup_first = 1;
	if (ca->state == CA_READY)
		ca->state = CA_IDLE;
}

/* ------------------------------------------------------------ directory */

/*
 * Copies directory member key into *out. Returns 0, or -1 if required and
 * missing, or -2 if it is no https:// URL.
 */
static int
dir_url(struct acme_ca *ca, json_t *j, const char *key, char **out,
    int required)
{
	const char *s = json_string_value(json_object_get(j, key));
	char	   *err;

	if (s == NULL)
		return required ? -1 : 0;
	if ((err = acme_url_refused(ca, key, s)) != NULL) {
		free(err);
		return -2;
	}
	free(*out);
	*out = xstrdup(s);
	return 0;
}

char *
acme_dir_parse(struct acme_ca *ca, json_t *j)
{
	static const char *const keys[] = { "newNonce", "newAccount",
	    "newOrder", "revokeCert", "keyChange", "renewalInfo" };
	char	**urls[] = { &ca->new_nonce, &ca->new_account, &ca->new_order,
	    &ca->revoke_cert, &ca->key_change, &ca->renewal_info };
	json_t	*meta;
	size_t	 i;
	int	 rc;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if ((rc = dir_url(ca, j, keys[i], urls[i], i < 3)) == -1)
			return xasprintf("acme: %s: directory lacks \"%s\"",
			    ca->directory, keys[i]);
		if (rc == -2)
			return acme_url_refused(ca, "directory entry",
			    json_string_value(json_object_get(j, keys[i])));
	}
	if (json_is_object(meta = json_object_get(j, "meta"))) {
		/* shown, never requested: any scheme */
		if (json_is_string(json_object_get(meta, "termsOfService"))) {
			free(ca->tos);
			ca->tos = xstrdup(json_string_value(json_object_get(
			    meta, "termsOfService")));
		}
		ca->eab_required = json_is_true(json_object_get(meta,
		    "externalAccountRequired"));
	}
	return acme_profiles_parse(ca, json_is_object(meta) ? meta : NULL);
}

/*
 * http_cb of the directory GET: the account setup waits for it (CA_SETUP)
 * and so do renewalInfo fetches.
 */
static void
dir_done(const struct http_response *resp, void *arg)
{
	struct acme_ca		*ca = arg;
	struct acme_reply	 r;
	enum acme_fail_class	 cls = ACME_FAIL_CA;	/* a useless answer */
	char			*err;

	ca->dir_req = NULL;
	log_debug("GET %s -> %ld", resp->url, resp->status);
	metrics_acme_request(ca->env.metrics, ca->name, "directory",
	    resp->error != NULL ? 0 : resp->status);
	acme_nonce_push(ca, resp->replay_nonce);
	acme_reply_read(&r, resp, ca->directory, 1);
	if (r.err != NULL) {
		err = xstrdup(r.err);
		cls = r.cls;
	} else if ((err = acme_reply_urls_refused(ca, resp)) == NULL)
		err = acme_dir_parse(ca, r.json);
	acme_reply_clear(&r);
	if (err == NULL) {
		ca->have_dir = 1;
		acme_profile_check_wants(ca);
	}
	if (ca->state == CA_SETUP) {
		if (err != NULL)
			setup_fail(ca, err, cls);
		else
			account_setup(ca);
	}
	if (err != NULL) {
		acme_ari_fail_queued(ca, err);
		acme_revoke_fail_queued(ca, err);
	} else {
		acme_ari_pump(ca);
		acme_revoke_pump(ca);
	}
	free(err);
}

char *
acme_dir_fetch(struct acme_ca *ca)
{
	char	*err;

	if (ca->dir_req != NULL)
		return NULL;
	if ((err = acme_url_refused(ca, "directory", ca->directory)) != NULL)
		return err;
	ca->dir_req = http_request(ca->env.http, "GET", ca->directory, NULL, 0,
	    &ca->get_opts, dir_done, ca);
	if (ca->dir_req == NULL)
		return xasprintf("acme: %s: cannot start request",
		    ca->directory);
	return NULL;
}

void
acme_ca_setup(struct acme_ca *ca)
{
	char	*err;

	ca->state = CA_SETUP;
	if (ca->have_dir)
		account_setup(ca);
	else if ((err = acme_dir_fetch(ca)) != NULL)
		setup_fail_free(ca, err);
}

void
acme_account_clear(struct acme_ca *ca)
{
	size_t i;

	acme_call_cancel(&ca->account_call);
	if (ca->dir_req != NULL)
		http_cancel(ca->dir_req);
	ca->dir_req = NULL;
	for (i = 0; i < ca->nnonces; i++)
		free(ca->nonces[i]);
	ca->nnonces = 0;
	crypto_key_free(ca->account_key);
	crypto_key_free(ca->next_key);
	free(ca->thumbprint);
	free(ca->account_url);
	free(ca->new_nonce);
	free(ca->new_account);
	free(ca->new_order);
	free(ca->revoke_cert);
	free(ca->key_change);
	free(ca->renewal_info);
	free(ca->tos);
	acme_profiles_clear(ca);
}
