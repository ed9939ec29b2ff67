/*
 * dryrun.c - would a renewal succeed? Complete orders against the staging
 * twin of each certificate's first CA, and keep nothing.
 *
 * A dry run owns everything it uses: copies of the certificates it asks
 * for (a reload meanwhile changes nothing here), one CA client per
 * staging directory with its account in state_dir/staging, throwaway
 * keys. It borrows the daemon's challenge solvers, which answer for
 * any order. Nothing reaches the renewer, the store of real
 * certificates, the deliverer or a reload: the issued chain is dropped.
 *
 * Each item: WAIT (the kick timer starts it: a result for an unknown
 * name or a CA without staging, else KEYGEN) -> KEYGEN (a worker) ->
 * ORDER -> DONE. The results and the end are always told from the loop,
 * never from inside dryrun_start.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "acme.h"
#include "conf.h"
#include "crypto.h"
#include "dryrun.h"
#include "log.h"
#include "renew.h"
#include "store.h"
#include "worker.h"
#include "xmalloc.h"

enum dr_state { DR_WAIT, DR_KEYGEN, DR_ORDER, DR_DONE };

struct dr_ca {
	char		*name;		/* the real CA's */
	struct acme_ca	*ca;		/* at its staging directory */
	char		*staging;
};

struct dr_job;

struct dr_item {
	struct dryrun	*d;
	enum dr_state	 state;
	struct conf_cert *cert;		/* a copy */
	struct dr_ca	*ca;		/* NULL: error says why */
	char		*error;		/* failed before any order */
	struct dr_job	*job;		/* KEYGEN */
	struct crypto_key *key;		/* ORDER */
	struct acme_order *order;	/* ORDER */
};

/* A keygen in flight; its item may be gone when it returns. */
struct dr_job {
	struct dr_item	*item;		/* NULL: orphaned */
	enum key_type	 type;
	struct crypto_key *key;
};

struct dryrun {
	struct dryrun_env env;
	struct store	*store;		/* state_dir/staging */
	struct dr_ca	*cas;		/* room for all of conf's */
	size_t		 ncas;
	struct dr_item	*items;
	size_t		 nitems, left, ok, failed;
	struct event	*kick;		/* starts items, tells the end */
	dryrun_result_cb res;
	dryrun_done_cb	 done;
	void		*arg;
};

static void	item_result(struct dr_item *, const char *error);

/* The staging client of the CA named ca, made once; NULL if it has none. */
static struct dr_ca *
dr_ca_get(struct dryrun *d, const struct conf *conf, const char *ca)
{
	const struct conf_ca *src = conf_ca_find(conf, ca);
	struct conf_ca	*cfg;
	struct acme_env	 ae;
	struct dr_ca	*dc;
	size_t		 i;

	for (i = 0; i < d->ncas; i++)
		if (strcmp(d->cas[i].name, ca) == 0)
			return d->cas[i].ca != NULL ? &d->cas[i] : NULL;
	/* d->cas has room for every CA of conf: items point into it */
	dc = &d->cas[d->ncas++];
	memset(dc, 0, sizeof(*dc));
	dc->name = xstrdup(ca);
	if (src == NULL || src->staging == NULL)
		return NULL;
	/* the staging twin: its own account, no EAB, roots of its own */
	cfg = conf_ca_dup(src);
	free(cfg->directory);
	cfg->directory = xstrdup(src->staging);
	xfree_secret_str(cfg->eab_hmac_key);
	free(cfg->eab_kid);
	free(cfg->issuer_roots);
	cfg->eab_hmac_key = cfg->eab_kid = cfg->issuer_roots = NULL;
	memset(&ae, 0, sizeof(ae));
	ae.base = d->env.base;
	ae.http = d->env.http;
	renew_store_accounts(d->store, &ae.accounts);
	ae.solvers = d->env.solvers;
	ae.nsolvers = d->env.nsolvers;
	dc->ca = acme_ca_new(&ae, cfg);
	dc->staging = xstrdup(src->staging);
	conf_ca_free(cfg);
	return dc;
}

/* Fills item i for the certificate name of conf. */
static void
item_init(struct dryrun *d, const struct conf *conf, const char *name,
    struct dr_item *it)
{
	const struct conf_cert *cc = conf_cert_find(conf, name);
	char	 buf[512];

	it->d = d;
	if (cc == NULL) {
		it->cert = xcalloc(1, sizeof(*it->cert));
		it->cert->name = xstrdup(name);
		it->error = xstrdup("no such certificate in the inventory");
		return;
	}
	it->cert = conf_cert_dup(cc);
	if (cc->ca.n == 0)
		it->error = xstrdup("no CA");
	else if ((it->ca = dr_ca_get(d, conf, cc->ca.v[0])) == NULL) {
		snprintf(buf, sizeof(buf), "CA %s has no staging directory to "
		    "try a renewal at: set \"staging:\" in its cas entry",
		    cc->ca.v[0]);
		it->error = xstrdup(buf);
	}
}

/* acme's answer: issued (chain dropped), or why not. */
static void
order_done(void *arg, const char *fullchain, size_t len, const char *error,
    const struct acme_failure *fail)
{
	struct dr_item	*it = arg;

	(void)fullchain;
	(void)len;
	(void)fail;
	it->order = NULL;
	item_result(it, error);
}

static void
item_order(struct dr_item *it)
{
	struct acme_order_req req;

	memset(&req, 0, sizeof(req));
	req.cert_name = it->cert->name;
	req.domains = it->cert->domains.v;
	req.ndomains = it->cert->domains.n;
	req.key = it->key;
	req.challenge = conf_challenge_name(it->cert->challenge);
	it->state = DR_ORDER;
	if ((it->order = acme_order_start(it->ca->ca, &req, order_done,
	    it)) == NULL)
		item_result(it, "cannot start an order");
}

static void
keygen_work(void *arg)
{
	struct dr_job	*j = arg;

	j->key = crypto_key_generate(j->type);
}

static void
keygen_done(void *arg)
{
	struct dr_job	*j = arg;
	struct dr_item	*it = j->item;

	if (it == NULL) {
		crypto_key_free(j->key);
		free(j);
		return;
	}
	it->job = NULL;
	it->key = j->key;
	free(j);
	if (it->key == NULL)
		item_result(it, "cannot generate a throwaway key");
	else
		item_order(it);
}

static void
item_start(struct dr_item *it)
{
	struct dr_job	*j;

	if (it->error != NULL) {
		item_result(it, it->error);
		return;
	}
	log_msg(LOG_LVL_INFO, it->cert->name, "dry run: ordering at %s "
	    "(staging of CA %s)", it->ca->staging, it->ca->name);
	it->state = DR_KEYGEN;
	j = xcalloc(1, sizeof(*j));
	j->item = it;
	j->type = it->cert->key;
	it->job = j;
	if (it->d->env.workers == NULL || worker_submit(it->d->env.workers,
	    keygen_work, keygen_done, j) == -1) {
		keygen_work(j);
		keygen_done(j);
	}
}

/* One result told; the end is told from the kick, on the next turn. */
static void
item_result(struct dr_item *it, const char *error)
{
	struct dryrun	*d = it->d;
	struct dryrun_result r;
	const struct timeval now = { 0, 0 };

	it->state = DR_DONE;
	memset(&r, 0, sizeof(r));
	r.name = it->cert->name;
	r.ca = it->cert->ca.n > 0 ? it->cert->ca.v[0] : NULL;
	r.staging = it->ca != NULL ? it->ca->staging : NULL;
	r.ok = error == NULL;
	r.error = error;
	if (r.ok) {
		d->ok++;
		log_msg(LOG_LVL_NOTICE, r.name, "dry run: a renewal would "
		    "succeed (issued by %s)", r.staging);
	} else {
		d->failed++;
		log_msg(LOG_LVL_WARNING, r.name, "dry run: a renewal would "
		    "fail: %s", error);
	}
	if (--d->left == 0)
		evtimer_add(d->kick, &now);
	d->res(d->arg, &r);
}

static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct dryrun	*d = arg;
	size_t		 i;

	(void)fd;
	(void)what;
	if (d->left == 0) {
		/* the last call: d may be freed by it */
		d->done(d->arg, d->ok, d->failed);
		return;
	}
	for (i = 0; i < d->nitems; i++)
		if (d->items[i].state == DR_WAIT)
			item_start(&d->items[i]);
}

struct dryrun *
dryrun_start(const struct dryrun_env *env, const struct conf *conf,
    char *const *names, size_t nnames, dryrun_result_cb res,
    dryrun_done_cb done, void *arg, char *err, size_t errlen)
{
	const struct timeval now = { 0, 0 };
	struct dryrun	*d;
	char		*dir, why[512];
	size_t		 i;

	dir = xasprintf("%s/staging", env->state_dir);
	d = xcalloc(1, sizeof(*d));
	d->env = *env;
	d->res = res;
	d->done = done;
	d->arg = arg;
	if ((d->store = store_open(dir, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "dry run: %s", why);
		free(dir);
		free(d);
		return NULL;
	}
	free(dir);
	d->cas = xcalloc(conf->ncas + 1, sizeof(*d->cas));
	d->nitems = d->left = nnames > 0 ? nnames : conf->ncerts;
	d->items = xcalloc(d->nitems + 1, sizeof(*d->items));
	for (i = 0; i < d->nitems; i++)
		item_init(d, conf, nnames > 0 ? names[i] : conf->certs[i].name,
		    &d->items[i]);
	d->kick = evtimer_new(env->base, on_kick, d);
	evtimer_add(d->kick, &now);
	return d;
}

void
dryrun_free(struct dryrun *d)
{
	struct dr_item	*it;
	size_t		 i;

	if (d == NULL)
		return;
	for (i = 0; i < d->nitems; i++) {
		it = &d->items[i];
		if (it->job != NULL)
			it->job->item = NULL;
		acme_order_cancel(it->order);
		crypto_key_free(it->key);
		conf_cert_free(it->cert);
		free(it->error);
	}
	for (i = 0; i < d->ncas; i++) {
		acme_ca_free(d->cas[i].ca);
		free(d->cas[i].name);
		free(d->cas[i].staging);
	}
	if (d->kick != NULL)
		event_free(d->kick);
	store_close(d->store);
	free(d->cas);
	free(d->items);
	free(d);
}
