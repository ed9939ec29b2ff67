/* renew.c - the lifecycle of each certificate: check, key, order, install */
#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "acme.h"
#include "conf.h"
#include "crypto.h"
#include "log.h"
#include "renew.h"
#include "store.h"
#include "worker.h"

#ifndef TAILQ_FOREACH_SAFE	/* glibc's sys/queue.h lacks it */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

#define BACKOFF_MIN	60		/* first retry after a failure, seconds */
#define BACKOFF_MAX	86400		/* retries never further apart than a day */

struct renewer;

/* One CA client, kept across reloads while its settings stay the same. */
struct ca_slot {
	TAILQ_ENTRY(ca_slot)	 entry;
	char			*name;
	char			*fingerprint;	/* the settings it was made from */
	struct acme_ca		*ca;
	int			 seen;		/* still in the inventory (during apply) */
};

enum cert_state { CERT_IDLE, CERT_KEYGEN, CERT_ORDER };

struct keygen_job;

struct cert {
	TAILQ_ENTRY(cert)	 entry;
	struct renewer		*r;
	struct conf_cert	*cfg;		/* own copy */
	enum cert_state		 state;
	struct event		*timer;
	time_t			 next;		/* when the timer fires; 0 if unset */
	int			 check_pending;	/* an immediate check is scheduled */
	struct keygen_job	*job;
	struct crypto_key	*key;		/* the key being certified */
	struct acme_order	*order;
	size_t			 ca_index;	/* which of cfg->ca is being tried */
	unsigned		 failures;	/* consecutive */
	int			 valid;		/* a live certificate not yet due */
	int			 seen;
};

/* Outlives its cert if the cert goes away while the key is generated. */
struct keygen_job {
	TAILQ_ENTRY(keygen_job)	 entry;
	struct renewer		*r;
	struct cert		*cert;		/* NULL once orphaned */
	enum key_type		 type;
	struct crypto_key	*key;
};

struct renewer {
	struct renew_env	 env;
	renew_idle_cb		 idle;
	void			*idle_arg;
	struct event		*idle_ev;
	TAILQ_HEAD(, ca_slot)	 cas;
	TAILQ_HEAD(, cert)	 certs;
	TAILQ_HEAD(, keygen_job) jobs;
	size_t			 busy;
	size_t			 pending;
	size_t			 issued;
};

static void	cert_check(struct cert *);
static void	cert_order(struct cert *);

int
renew_before_fits(time_t nb, time_t na, long renew_before)
{
	time_t	life = na - nb;

	if (renew_before <= 0 || life <= 0)
		return 1;
	return na - (time_t)renew_before - nb >= life / 30;
}

time_t
renew_due(time_t nb, time_t na, long renew_before, double jitter)
{
	time_t	life = na - nb, window, spread;

	if (life <= 0)
		return na;
	if (!renew_before_fits(nb, na, renew_before))
		renew_before = 0;
	window = renew_before > 0 ? (time_t)renew_before : life / 3;
	spread = life / 30;
	if (spread > 86400)
		spread = 86400;
	if (jitter < 0 || jitter >= 1)
		jitter = 0;
	return na - window - (time_t)(jitter * (double)spread);
}

static double
jitter(void)
{
	return (double)arc4random_uniform(1000000) / 1000000.0;
}

static void
maybe_idle(struct renewer *r)
{
	if (r->busy == 0 && r->pending == 0 && r->idle != NULL)
		event_active(r->idle_ev, 0, 0);
}

static void
idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct renewer *r = arg;

	if (r->busy == 0 && r->pending == 0)
		r->idle(r->idle_arg);
}

static void
set_state(struct cert *c, enum cert_state s)
{
	int	was = c->state != CERT_IDLE, is = s != CERT_IDLE;

	c->state = s;
	if (was && !is)
		c->r->busy--;
	else if (!was && is)
		c->r->busy++;
	if (!is)
		maybe_idle(c->r);
}

/* Arms the cert's one timer for when (now or earlier means at once). */
static void
schedule(struct cert *c, time_t when)
{
	time_t		now = time(NULL);
	struct timeval	tv = { 0, 0 };

	if (c->check_pending) {
		c->check_pending = 0;
		c->r->pending--;
	}
	if (when > now)
		tv.tv_sec = when - now;
	else {
		c->check_pending = 1;
		c->r->pending++;
	}
	c->next = when > now ? when : now;
	evtimer_add(c->timer, &tv);
}

static void
unschedule(struct cert *c)
{
	evtimer_del(c->timer);
	c->next = 0;
	if (c->check_pending) {
		c->check_pending = 0;
		c->r->pending--;
	}
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cert *c = arg;

	if (c->check_pending) {
		c->check_pending = 0;
		c->r->pending--;
	}
	c->next = 0;
	cert_check(c);
	maybe_idle(c->r);
}

static struct ca_slot *
ca_slot_find(struct renewer *r, const char *name)
{
	struct ca_slot *s;

	TAILQ_FOREACH(s, &r->cas, entry)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

/* Stops whatever the cert is doing; it ends idle with no timer. */
static void
cert_stop(struct cert *c)
{
	unschedule(c);
	if (c->order != NULL) {
		acme_order_cancel(c->order);
		c->order = NULL;
	}
	if (c->job != NULL) {
		c->job->cert = NULL;	/* the worker finishes; keygen_done frees */
		c->job = NULL;
	}
	crypto_key_free(c->key);
	c->key = NULL;
	set_state(c, CERT_IDLE);
}

static void
cert_free(struct cert *c)
{
	if (c == NULL)
		return;
	cert_stop(c);
	event_free(c->timer);
	conf_cert_free(c->cfg);
	free(c);
}

/* After a failure: retry later with capped exponential backoff. */
static void
cert_failed(struct cert *c)
{
	time_t	delay;
	unsigned shift;

	crypto_key_free(c->key);
	c->key = NULL;
	c->failures++;
	set_state(c, CERT_IDLE);
	if (c->r->env.once)
		return;
	shift = c->failures - 1 > 20 ? 20 : c->failures - 1;
	delay = (time_t)BACKOFF_MIN << shift;
	if (delay > BACKOFF_MAX)
		delay = BACKOFF_MAX;
	/* +-10 % so certificates that failed together spread out */
	delay = delay - delay / 10 + (time_t)(jitter() * (double)(delay / 5));
	log_msg(LOG_LVL_NOTICE, c->cfg->name,
	    "attempt %u failed; next attempt in %lld s", c->failures,
	    (long long)delay);
	schedule(c, time(NULL) + delay);
}

/*
 * When the certificate described by info falls due. A renew_before that
 * swallows (nearly) the whole lifetime -- 30d with a CA that issues 6-day
 * certificates -- would make every new certificate due the moment it is
 * installed; renew_due() then uses the automatic window, and we say why.
 */
static time_t
cert_due(struct cert *c, const struct crypto_cert_info *info)
{
	if (!renew_before_fits(info->not_before, info->not_after,
	    c->cfg->renew_before))
		log_msg(LOG_LVL_WARNING, c->cfg->name,
		    "renew_before (%ld s) leaves serial %s, valid for %lld s, "
		    "no time before it is due: renewing when a third of its "
		    "lifetime remains instead", c->cfg->renew_before,
		    info->serial,
		    (long long)(info->not_after - info->not_before));
	return renew_due(info->not_before, info->not_after,
	    c->cfg->renew_before, jitter());
}

static void
keygen_work(void *arg)
{
	struct keygen_job *j = arg;

	j->key = crypto_key_generate(j->type);
}

static void
keygen_done(void *arg)
{
	struct keygen_job *j = arg;
	struct cert	  *c = j->cert;
	struct crypto_key *key = j->key;

	TAILQ_REMOVE(&j->r->jobs, j, entry);
	free(j);
	if (c == NULL) {
		/* orphaned: the certificate went away or changed meanwhile */
		crypto_key_free(key);
		return;
	}
	c->job = NULL;
	if (key == NULL) {
		log_msg(LOG_LVL_ERR, c->cfg->name, "cannot generate a %s key",
		    conf_key_type_name(c->cfg->key));
		cert_failed(c);
		return;
	}
	c->key = key;
	c->ca_index = 0;
	set_state(c, CERT_ORDER);
	cert_order(c);
}

/* Checks, then installs a downloaded chain. Returns 0 or -1 (logged). */
static int
install(struct cert *c, const char *pem, size_t len)
{
	struct crypto_cert_info info = { 0 };
	struct crypto_cert *cert = NULL;
	char		 err[256], due_s[32], na_s[32];
	char		*leaf = NULL, *chain = NULL, *key_pem = NULL;
	struct tm	 tm;
	time_t		 due;
	int		 rc = -1;

	/* parse the leaf once: each parse costs OpenSSL 3.0 a key decode */
	if (crypto_chain_split_cert(pem, len, &leaf, &chain, &cert) == -1) {
		log_msg(LOG_LVL_ERR, c->cfg->name, "CA sent no certificate");
		goto out;
	}
	if (crypto_cert_get_info(cert, &info, err, sizeof(err)) == -1) {
		log_msg(LOG_LVL_ERR, c->cfg->name, "CA sent a bad certificate: %s", err);
		goto out;
	}
	if (!crypto_cert_has_key(cert, c->key)) {
		log_msg(LOG_LVL_ERR, c->cfg->name,
		    "CA sent a certificate for another key (serial %s)", info.serial);
		goto out;
	}
	if (!crypto_cert_covers(&info, c->cfg->domains.v, c->cfg->domains.n)) {
		log_msg(LOG_LVL_ERR, c->cfg->name,
		    "CA sent a certificate that misses some domains (serial %s)",
		    info.serial);
		goto out;
	}
	if ((key_pem = crypto_key_to_pem(c->key, NULL)) == NULL)
		goto out;
	if (store_cert_install(c->r->env.store, c->cfg->name, info.serial,
	    key_pem, leaf, chain) == -1)
		goto out;
	due = cert_due(c, &info);
	if (due <= time(NULL)) {
		/* due already (clock skew, a CA backdating): no busy loop */
		log_msg(LOG_LVL_WARNING, c->cfg->name, "serial %s is due as soon "
		    "as it is installed; checking again in %d s", info.serial,
		    BACKOFF_MIN);
		due = time(NULL) + BACKOFF_MIN;
	}
	gmtime_r(&info.not_after, &tm);
	strftime(na_s, sizeof(na_s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	gmtime_r(&due, &tm);
	strftime(due_s, sizeof(due_s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	log_msg(LOG_LVL_NOTICE, c->cfg->name,
	    "installed certificate serial %s for %zu domain(s), valid until %s, "
	    "renewal due %s", info.serial, c->cfg->domains.n, na_s, due_s);
	c->r->issued++;
	crypto_key_free(c->key);	/* on disk now; the next issuance makes a new one */
	c->key = NULL;
	c->valid = 1;
	c->failures = 0;
	set_state(c, CERT_IDLE);
	if (!c->r->env.once)
		schedule(c, due);
	rc = 0;
out:
	if (key_pem != NULL) {
		explicit_bzero(key_pem, strlen(key_pem));
		free(key_pem);
	}
	free(leaf);
	free(chain);
	crypto_cert_free(cert);
	crypto_cert_info_clear(&info);
	return rc;
}

static void
order_done(void *arg, const char *pem, size_t len, const char *error)
{
	struct cert	*c = arg;
	struct conf_cert *cfg = c->cfg;

	c->order = NULL;
	if (error != NULL) {
		log_msg(LOG_LVL_ERR, cfg->name, "order at CA %s failed: %s",
		    cfg->ca.v[c->ca_index], error);
		if (c->ca_index + 1 < cfg->ca.n) {
			c->ca_index++;
			log_msg(LOG_LVL_NOTICE, cfg->name, "trying the next CA, %s",
			    cfg->ca.v[c->ca_index]);
			cert_order(c);
			return;
		}
		cert_failed(c);
		return;
	}
	if (install(c, pem, len) == -1)
		cert_failed(c);
}

static void
cert_order(struct cert *c)
{
	struct acme_order_req	 req;
	struct ca_slot		*s;

	s = ca_slot_find(c->r, c->cfg->ca.v[c->ca_index]);
	if (s == NULL) {
		order_done(c, NULL, 0, "no such CA");
		return;
	}
	memset(&req, 0, sizeof(req));
	req.cert_name = c->cfg->name;
	req.domains = c->cfg->domains.v;
	req.ndomains = c->cfg->domains.n;
	req.key = c->key;
	req.challenge = conf_challenge_name(c->cfg->challenge);
	c->order = acme_order_start(s->ca, &req, order_done, c);
	if (c->order == NULL)
		order_done(c, NULL, 0, "cannot start an order");
}

static void
cert_issue(struct cert *c)
{
	struct keygen_job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		log_msg(LOG_LVL_ERR, c->cfg->name, "out of memory");
		cert_failed(c);
		return;
	}
	j->r = c->r;
	j->cert = c;
	j->type = c->cfg->key;
	set_state(c, CERT_KEYGEN);
	/* RSA keys take up to seconds: never generate them on the loop */
	if (worker_submit(c->r->env.workers, keygen_work, keygen_done, j) == -1) {
		free(j);
		log_msg(LOG_LVL_ERR, c->cfg->name, "cannot queue key generation");
		cert_failed(c);
		return;
	}
	TAILQ_INSERT_TAIL(&c->r->jobs, j, entry);
	c->job = j;
}

/*
 * Decides whether the live certificate is good enough: it must exist,
 * match its key, be of the configured key type, cover every domain, and
 * not be due. Returns the due time, or 0 if it must be (re)issued.
 */
static time_t
live_due(struct cert *c)
{
	struct crypto_cert_info info = { 0 };
	struct crypto_cert *cert = NULL;
	struct crypto_key *key = NULL;
	char		*key_pem = NULL, *pem = NULL, err[256];
	time_t		 due = 0;
	int		 have;

	have = store_cert_load(c->r->env.store, c->cfg->name, &key_pem, &pem);
	if (have != 1)
		goto out;
	if ((cert = crypto_cert_from_pem(pem, strlen(pem), err,
	    sizeof(err))) == NULL ||
	    crypto_cert_get_info(cert, &info, err, sizeof(err)) == -1) {
		log_msg(LOG_LVL_WARNING, c->cfg->name,
		    "live certificate is unreadable (%s): reissuing", err);
		goto out;
	}
	if ((key = crypto_key_from_pem(key_pem, strlen(key_pem))) == NULL ||
	    !crypto_cert_has_key(cert, key)) {
		log_msg(LOG_LVL_WARNING, c->cfg->name,
		    "live key does not match the live certificate: reissuing");
		goto out;
	}
	if (crypto_key_type(key) != (int)c->cfg->key) {
		log_msg(LOG_LVL_NOTICE, c->cfg->name,
		    "key type changed to %s: reissuing", conf_key_type_name(c->cfg->key));
		goto out;
	}
	if (!crypto_cert_covers(&info, c->cfg->domains.v, c->cfg->domains.n)) {
		log_msg(LOG_LVL_NOTICE, c->cfg->name,
		    "domains changed: reissuing");
		goto out;
	}
	due = cert_due(c, &info);
	if (due <= time(NULL)) {
		log_msg(LOG_LVL_NOTICE, c->cfg->name,
		    "serial %s is due for renewal", info.serial);
		due = 0;
		goto out;
	}
	log_msg(LOG_LVL_INFO, c->cfg->name,
	    "serial %s is valid; renewal due in %lld s", info.serial,
	    (long long)(due - time(NULL)));
out:
	crypto_cert_free(cert);
	crypto_key_free(key);
	if (key_pem != NULL) {
		explicit_bzero(key_pem, strlen(key_pem));
		free(key_pem);
	}
	free(pem);
	crypto_cert_info_clear(&info);
	return due;
}

static void
cert_check(struct cert *c)
{
	time_t due;

	if (c->state != CERT_IDLE)
		return;
	if ((due = live_due(c)) != 0) {
		c->valid = 1;
		if (!c->r->env.once)
			schedule(c, due);
		return;
	}
	c->valid = 0;
	cert_issue(c);
}

static char *
ca_fingerprint(const struct conf_ca *ca)
{
	char	*s = NULL, *t;
	size_t	 i;

	if (asprintf(&s, "%s|%s|%s|%s|%u", ca->directory,
	    ca->ca_bundle ? ca->ca_bundle : "", ca->eab_kid ? ca->eab_kid : "",
	    ca->eab_hmac_key ? ca->eab_hmac_key : "", ca->max_concurrent_orders) == -1)
		return NULL;
	for (i = 0; i < ca->contact.n; i++) {
		if (asprintf(&t, "%s|%s", s, ca->contact.v[i]) == -1) {
			free(s);
			return NULL;
		}
		free(s);
		s = t;
	}
	return s;
}

static void
ca_slot_free(struct renewer *r, struct ca_slot *s)
{
	struct cert *c;
	size_t	     i;

	/*
	 * Orders on this CA are abandoned; their certificates check again.
	 * So do certificates that failed and wait out their backoff (up to
	 * a day) while the CA may just have been fixed.
	 */
	TAILQ_FOREACH(c, &r->certs, entry) {
		if (c->state == CERT_ORDER &&
		    strcmp(c->cfg->ca.v[c->ca_index], s->name) == 0) {
			cert_stop(c);
			schedule(c, 0);
			continue;
		}
		if (c->state != CERT_IDLE || c->failures == 0 || c->valid)
			continue;
		for (i = 0; i < c->cfg->ca.n; i++)
			if (strcmp(c->cfg->ca.v[i], s->name) == 0) {
				log_msg(LOG_LVL_NOTICE, c->cfg->name,
				    "CA %s changed: trying again now", s->name);
				schedule(c, 0);
				break;
			}
	}
	TAILQ_REMOVE(&r->cas, s, entry);
	acme_ca_free(s->ca);
	free(s->name);
	free(s->fingerprint);
	free(s);
}

/* acme's account storage (struct acme_accounts) on top of the state directory. */
static int
account_load(void *arg, const char *ca, char **key_pem, char **url)
{
	return store_account_load(arg, ca, key_pem, url);
}

static int
account_save_key(void *arg, const char *ca, const char *key_pem, size_t len)
{
	return store_account_save_key(arg, ca, key_pem, len);
}

static int
account_save_url(void *arg, const char *ca, const char *url)
{
	return store_account_save_url(arg, ca, url);
}

static char *
account_key_path(void *arg, const char *ca)
{
	char *p;

	if (asprintf(&p, "%s/accounts/%s/account.key", store_path(arg), ca) == -1)
		return NULL;
	return p;
}

static int
apply_cas(struct renewer *r, const struct conf *conf)
{
	struct acme_env	 ae;
	struct ca_slot	*s, *tmp;
	char		*fp;
	size_t		 i;

	memset(&ae, 0, sizeof(ae));
	ae.base = r->env.base;
	ae.http = r->env.http;
	if (r->env.store != NULL) {
		ae.accounts.load = account_load;
		ae.accounts.save_key = account_save_key;
		ae.accounts.save_url = account_save_url;
		ae.accounts.key_path = account_key_path;
		ae.accounts.arg = r->env.store;
	}
	ae.solvers = r->env.solvers;
	ae.nsolvers = r->env.nsolvers;
	TAILQ_FOREACH(s, &r->cas, entry)
		s->seen = 0;
	for (i = 0; i < conf->ncas; i++) {
		if ((fp = ca_fingerprint(&conf->cas[i])) == NULL)
			return -1;
		s = ca_slot_find(r, conf->cas[i].name);
		if (s != NULL && strcmp(s->fingerprint, fp) == 0) {
			s->seen = 1;
			free(fp);
			continue;
		}
		if (s != NULL) {
			log_notice("CA %s changed: new client", s->name);
			ca_slot_free(r, s);
		}
		if ((s = calloc(1, sizeof(*s))) == NULL ||
		    (s->name = strdup(conf->cas[i].name)) == NULL ||
		    (s->ca = acme_ca_new(&ae, &conf->cas[i])) == NULL) {
			if (s != NULL)
				free(s->name);
			free(s);
			free(fp);
			log_err("CA %s: cannot set up a client", conf->cas[i].name);
			return -1;
		}
		s->fingerprint = fp;
		s->seen = 1;
		TAILQ_INSERT_TAIL(&r->cas, s, entry);
	}
	TAILQ_FOREACH_SAFE(s, &r->cas, entry, tmp)
		if (!s->seen)
			ca_slot_free(r, s);
	return 0;
}

static struct cert *
cert_find(struct renewer *r, const char *name)
{
	struct cert *c;

	TAILQ_FOREACH(c, &r->certs, entry)
		if (strcmp(c->cfg->name, name) == 0)
			return c;
	return NULL;
}

int
renewer_apply(struct renewer *r, const struct conf *conf)
{
	struct cert	 *c, *tmp;
	struct conf_cert *cfg;
	size_t		  i;
	int		  recheck;

	TAILQ_FOREACH(c, &r->certs, entry)
		c->seen = 0;
	/* certificates first: dropping them frees their orders before CAs go */
	for (i = 0; i < conf->ncerts; i++) {
		if ((cfg = conf_cert_dup(&conf->certs[i])) == NULL)
			return -1;
		if ((c = cert_find(r, cfg->name)) != NULL) {
			c->seen = 1;
			if (conf_cert_same_order(c->cfg, cfg)) {
				/* a new renew_before moves the renewal: check again */
				recheck = c->state == CERT_IDLE && c->valid &&
				    c->cfg->renew_before != cfg->renew_before;
				conf_cert_free(c->cfg);
				c->cfg = cfg;
				if (recheck)
					schedule(c, 0);
				continue;
			}
			log_msg(LOG_LVL_NOTICE, cfg->name, "settings changed");
			cert_stop(c);
			conf_cert_free(c->cfg);
			c->cfg = cfg;
			c->failures = 0;
			schedule(c, 0);
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			conf_cert_free(cfg);
			return -1;
		}
		c->r = r;
		c->cfg = cfg;
		c->seen = 1;
		if ((c->timer = evtimer_new(r->env.base, timer_cb, c)) == NULL) {
			conf_cert_free(cfg);
			free(c);
			return -1;
		}
		TAILQ_INSERT_TAIL(&r->certs, c, entry);
		schedule(c, 0);
	}
	TAILQ_FOREACH_SAFE(c, &r->certs, entry, tmp) {
		if (c->seen)
			continue;
		log_msg(LOG_LVL_NOTICE, c->cfg->name,
		    "no longer in the inventory: dropped (files stay on disk)");
		TAILQ_REMOVE(&r->certs, c, entry);
		cert_free(c);
	}
	if (apply_cas(r, conf) == -1)
		return -1;
	maybe_idle(r);
	return 0;
}

struct renewer *
renewer_new(const struct renew_env *env, renew_idle_cb idle, void *arg)
{
	struct renewer *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->env = *env;
	r->idle = idle;
	r->idle_arg = arg;
	TAILQ_INIT(&r->cas);
	TAILQ_INIT(&r->certs);
	TAILQ_INIT(&r->jobs);
	if ((r->idle_ev = event_new(env->base, -1, 0, idle_cb, r)) == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

void
renewer_free(struct renewer *r)
{
	struct cert	  *c;
	struct ca_slot	  *s;
	struct keygen_job *j;

	if (r == NULL)
		return;
	while ((c = TAILQ_FIRST(&r->certs)) != NULL) {
		TAILQ_REMOVE(&r->certs, c, entry);
		cert_free(c);
	}
	/* no certificates are left to reschedule: this only frees */
	while ((s = TAILQ_FIRST(&r->cas)) != NULL)
		ca_slot_free(r, s);
	/* the worker pool is gone by now (see main.c): no thread holds these */
	while ((j = TAILQ_FIRST(&r->jobs)) != NULL) {
		TAILQ_REMOVE(&r->jobs, j, entry);
		crypto_key_free(j->key);
		free(j);
	}
	event_free(r->idle_ev);
	free(r);
}

void
renewer_stats(const struct renewer *r, struct renew_stats *st)
{
	const struct cert *c;

	memset(st, 0, sizeof(*st));
	st->issued = r->issued;
	st->busy = r->busy;
	TAILQ_FOREACH(c, &r->certs, entry) {
		st->certs++;
		if (c->state == CERT_IDLE && c->valid)
			st->valid++;
		if (c->state == CERT_IDLE && c->failures > 0 && !c->valid)
			st->failed++;
		if (c->next != 0 && (st->next == 0 || c->next < st->next))
			st->next = c->next;
	}
}
