/* deliver.c - after an install: deploy copies, debounced reloads, verify */
#include "config.h"

#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <stddef.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "conf.h"
#include "crypto.h"
#include "deliver.h"
#include "fsutil.h"
#include "htab.h"
#include "log.h"
#include "metrics.h"
#include "reload.h"
#include "sched.h"
#include "store.h"
#include "validate.h"
#include "verify.h"
#include "xmalloc.h"

/*
 * Each certificate's delivery walks: deploy (synchronous file writes) →
 * reload step 0 … n-1 → verify → delivered; any failure → failed, and a
 * backoff timer starts the whole walk again. set_state() is the only
 * writer of a certificate's state and of the busy count.
 *
 *   state       event                         next        action
 *   IDLE/FAILED deliver_installed, retry      RELOADING   deploy, request step 0
 *   IDLE        deliver_check, drift/unfinished RELOADING deploy, request step 0
 *   RELOADING   step k done, k+1 < n          RELOADING   request step k+1 (no delay)
 *   RELOADING   last step done                VERIFYING   handshakes
 *   VERIFYING   every address serves it       IDLE        delivered
 *   VERIFYING   timeout with the old leaf     FAILED      "not served", backoff
 *   any         deploy or reload failure      FAILED      backoff (none with --once)
 *
 * Reload steps are requests to reload.c's targets, shared by every
 * certificate whose list has the same entry (merged and debounced there).
 */

#define VERIFY_ATTEMPT_MS	5000
#define DEPLOY_MAX		(16 * 1024 * 1024)

enum dc_state { DC_IDLE, DC_RELOADING, DC_VERIFYING, DC_FAILED };

struct dcert {
	struct deliverer *d;
	struct conf_cert *cfg;
	enum dc_state	 state;
	const char	*outcome;	/* persisted: "delivered", "reload failed", ... */
	char		*serial;	/* of the live version */
	char		 fp[VERIFY_FP_LEN];
	char		*error;
	unsigned	 failures;
	time_t		 retry_at;
	size_t		 step;		/* reload entry being run */
	struct event	*timer;		/* retry, or the next verify round */
	struct vctx	**vreqs;	/* one per verify address */
	size_t		 nvpending;
	time_t		 verify_deadline;
	char		*verify_err;	/* the first address that failed, why */
	int		 verify_confirming;	/* the last round saw it everywhere */
	struct reload_client rc;	/* asks the reloader for each step */
	TAILQ_ENTRY(dcert) entry;
};

struct vctx {
	struct dcert	*c;
	struct verify_req *req;
	int		 ok;
};


struct deliverer {
	struct deliver_env env;
	deliver_idle_cb	 idle;
	void		*idle_arg;
	struct event	*idle_ev;
	size_t		 busy;
	struct reloader	*reloader;
	struct verifier	*verifier;
	TAILQ_HEAD(, dcert) certs;
	struct htab	*byname;	/* certs by cfg->name */
};

static void	request_step(struct dcert *, long delay_s);
static void	deliver_start(struct dcert *, int force);
static void	verify_round(struct dcert *);
static void	verify_start_all(struct dcert *);

/* Fires ev in s seconds (deliveries wait in whole seconds). */
static void
arm_s(struct event *ev, time_t s)
{
	struct timeval	tv = { s, 0 };

	evtimer_add(ev, &tv);
}

static int
is_busy(enum dc_state s)
{
	return s == DC_RELOADING || s == DC_VERIFYING;
}

/* The only writer of c->state and d->busy. */
static void
set_state(struct dcert *c, enum dc_state s)
{
	struct deliverer *d = c->d;

	d->busy += is_busy(s) - is_busy(c->state);
	c->state = s;
	if (d->busy == 0 && d->idle != NULL)
		event_active(d->idle_ev, 0, 0);
}

/* ------------------------------------------------------------ persistence */

static void
persist(struct dcert *c)
{
	json_t	*o;
	char	*text;

	o = json_pack("{s:s, s:s, s:i, s:I, s:I}", "serial",
	    c->serial != NULL ? c->serial : "", "state", c->outcome,
	    "failures", (int)c->failures, "retry_at", (json_int_t)c->retry_at,
	    "updated", (json_int_t)time(NULL));
	if (c->error != NULL)
		json_object_set_new(o, "error", json_string(c->error));
	text = json_dumps(o, JSON_COMPACT);
	store_delivery_save(c->d->env.store, c->cfg->name, text);
	free(text);
	json_decref(o);
}

/* Returns 1 if delivery.json says the live serial was delivered. */
static int
persisted_delivered(const struct dcert *c)
{
	char	state[32];

	return store_delivery_state(c->d->env.state_dir, c->cfg->name,
	    c->serial, state, sizeof(state)) == 0 &&
	    strcmp(state, "delivered") == 0;
}

/* ---------------------------------------------------------------- outcome */

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dcert	*c = arg;

	(void)fd;
	(void)what;
	if (c->state == DC_VERIFYING)
		verify_round(c);	/* the next round of handshakes */
	else
		deliver_start(c, 1);	/* a retry after a failure */
}

/* Takes c off every target queue and cancels its handshakes and timer. */
static void
dcert_stop(struct dcert *c)
{
	size_t		 i;

	reload_cancel(c->d->reloader, &c->rc);
	for (i = 0; c->vreqs != NULL && i < c->cfg->dlv->verify.addrs.n; i++) {
		if (c->vreqs[i] != NULL)
			verify_cancel(c->vreqs[i]->req);
		free(c->vreqs[i]);
	}
	free(c->vreqs);
	c->vreqs = NULL;
	c->nvpending = 0;
	evtimer_del(c->timer);
}

static void
set_error(struct dcert *c, const char *msg)
{
	free(c->error);
	c->error = msg != NULL ? xstrdup(msg) : NULL;
}

static void
delivered(struct dcert *c, const char *how)
{
	struct log_fields f = { c->cfg->name, NULL, NULL, NULL,
	    LOG_MSGID_DELIVERED };

	c->failures = 0;
	c->retry_at = 0;
	c->outcome = "delivered";
	set_error(c, NULL);
	metrics_delivery(c->d->env.metrics, "delivered");
	f.domains = conf_cert_domains_str(c->cfg);	/* the journal's field */
	log_fields(LOG_LVL_NOTICE, &f, "delivered serial %s%s", c->serial,
	    how);
	free((char *)f.domains);
	persist(c);
	set_state(c, DC_IDLE);
}

/* Returns outcome ("deploy failed", ...) as a metrics label value. */
static const char *
metrics_word(const char *outcome)
{
	if (strcmp(outcome, "deploy failed") == 0)
		return "deploy_failed";
	if (strcmp(outcome, "reload failed") == 0)
		return "reload_failed";
	return "not_served";
}

/* A failed attempt: logged once, persisted, retried with backoff. */
static void
failed(struct dcert *c, const char *outcome, const char *msg)
{
	time_t	wait;

	dcert_stop(c);
	c->failures++;
	c->outcome = outcome;
	metrics_delivery(c->d->env.metrics, metrics_word(outcome));
	set_error(c, msg);
	if (c->d->env.once) {
		c->retry_at = 0;
		log_msg(LOG_LVL_ERR, c->cfg->name, "delivery failed: %s; not "
		    "retried (--once)", msg);
	} else {
		wait = sched_backoff(c->failures, sched_jitter(arc4random()));
		c->retry_at = time(NULL) + wait;
		log_msg(LOG_LVL_ERR, c->cfg->name, "delivery failed: %s; "
		    "retrying in %lld s", msg, (long long)wait);
		arm_s(c->timer, wait);
	}
	persist(c);
	set_state(c, DC_FAILED);
}

/* ----------------------------------------------------------------- deploy */

/* Looks up owner and group names; -1 with a message if one is unknown. */
static int
deploy_ids(const struct conf_deploy *dp, uid_t *uid, gid_t *gid, char *err,
    size_t errlen)
{
	struct passwd	 pw, *pwp = NULL;
	struct group	 gr, *grp = NULL;
	char		 buf[4096];

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (dp->owner != NULL) {
		if (getpwnam_r(dp->owner, &pw, buf, sizeof(buf), &pwp) != 0 ||
		    pwp == NULL) {
			snprintf(err, errlen, "deploy %s: unknown user \"%s\"",
			    dp->path, dp->owner);
			return -1;
		}
		*uid = pw.pw_uid;
	}
	if (dp->group != NULL) {
		if (getgrnam_r(dp->group, &gr, buf, sizeof(buf), &grp) != 0 ||
		    grp == NULL) {
			snprintf(err, errlen, "deploy %s: unknown group \"%s\"",
			    dp->path, dp->group);
			return -1;
		}
		*gid = gr.gr_gid;
	}
	return 0;
}

/* The bytes a deploy entry wants, from the live version's files. */
static char *
deploy_content(enum deploy_content what, const char *key, const char *leaf,
    const char *chain, const char *fullchain)
{
	switch (what) {
	case DEPLOY_CERT:
		return xstrdup(leaf);
	case DEPLOY_CHAIN:
		return xstrdup(chain);
	case DEPLOY_KEY:
		return xstrdup(key);
	case DEPLOY_FULLCHAIN_KEY:
		return xasprintf("%s%s", fullchain, key);
	case DEPLOY_FULLCHAIN:
	default:
		return xstrdup(fullchain);
	}
}

/* Says what a failed write lacked, for an unprivileged renewd. */
static const char *
deploy_hint(int err, int owned)
{
	if (err == EPERM && owned)
		return " (changing the owner or group needs CAP_CHOWN)";
	if (err == EACCES)
		return " (renewd's user needs write access to the directory)";
	return "";
}

/* Returns 1 if path has mode and (where given) owner uid and group gid. */
static int
same_attrs(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat	st;

	if (stat(path, &st) == -1)
		return 0;
	return (st.st_mode & 07777) == mode &&
	    (uid == (uid_t)-1 || st.st_uid == uid) &&
	    (gid == (gid_t)-1 || st.st_gid == gid);
}

/*
 * Writes one deploy entry if its content, mode, owner or group differs. Returns 1 if written,
 * 0 if already right, -1 with a message in err (the old file stays).
 */
static int
deploy_one(const struct conf_deploy *dp, const char *data, char *err,
    size_t errlen)
{
	uid_t	 uid;
	gid_t	 gid;
	char	*old;
	size_t	 oldlen;
	int	 same, e;

	if (deploy_ids(dp, &uid, &gid, err, errlen) == -1)
		return -1;
	old = fsutil_read_file(dp->path, DEPLOY_MAX, 0, &oldlen);
	same = old != NULL && oldlen == strlen(data) &&
	    memcmp(old, data, oldlen) == 0 && same_attrs(dp->path, dp->mode,
	    uid, gid);
	xfree_secret(old, old != NULL ? oldlen : 0);
	if (same)
		return 0;
	if (fsutil_write_atomic_owned(dp->path, data, strlen(data), dp->mode,
	    uid, gid) == 0)
		return 1;
	e = errno;
	snprintf(err, errlen, "deploy %s: %s%s", dp->path, strerror(e),
	    deploy_hint(e, uid != (uid_t)-1 || gid != (gid_t)-1));
	return -1;
}

static const char *const content_names[] = {
	"fullchain", "cert", "chain", "key", "fullchain+key"
};

/*
 * Reads the live version and writes every deploy entry that differs.
 * Returns the number written, or -1 with a message in err.
 */
static int
deploy_all(struct dcert *c, char *err, size_t errlen)
{
	const struct conf_cert *cfg = c->cfg;
	char		*key = NULL, *fullchain = NULL, *leaf = NULL, *chain = NULL;
	char		*data, cerr[256];
	struct crypto_cert *parsed = NULL;
	struct crypto_cert_info info = { 0 };
	size_t		 i;
	int		 n = -1, r;

	if (store_cert_load(c->d->env.store, cfg->name, &key, &fullchain) != 1) {
		snprintf(err, errlen, "no live certificate to deliver");
		goto out;
	}
	if (crypto_chain_split(fullchain, strlen(fullchain), &leaf, &chain,
	    &parsed) == -1 || crypto_cert_get_info(parsed, &info, cerr,
	    sizeof(cerr)) == -1 || verify_fingerprint_pem(fullchain,
	    strlen(fullchain), c->fp) == -1) {
		snprintf(err, errlen, "the live certificate is unreadable");
		goto out;
	}
	free(c->serial);
	c->serial = xstrdup(info.serial);
	for (i = 0, n = 0; i < cfg->dlv->ndeploy; i++) {
		data = deploy_content(cfg->dlv->deploy[i].content, key, leaf, chain,
		    fullchain);
		r = deploy_one(&cfg->dlv->deploy[i], data, err, errlen);
		xfree_secret_str(data);
		if (r == -1) {
			n = -1;
			break;
		}
		if (r == 1)
			log_msg(LOG_LVL_INFO, cfg->name, "deployed %s (%s, mode "
			    "%04o)", cfg->dlv->deploy[i].path,
			    content_names[cfg->dlv->deploy[i].content],
			    (unsigned)cfg->dlv->deploy[i].mode);
		n += r;
	}
out:
	crypto_cert_info_clear(&info);
	crypto_cert_free(parsed);
	xfree_secret_str(key);
	free(fullchain);
	free(leaf);
	free(chain);
	return n;
}

/* ----------------------------------------------------------------- reload */

static void
request_step(struct dcert *c, long delay_s)
{
	if (c->step < c->cfg->dlv->nreload)
		reload_request(c->d->reloader, &c->cfg->dlv->reload[c->step], &c->rc,
		    delay_s, c->cfg->dlv->reload_max_delay);
	else
		verify_start_all(c);
}

/* A reload step ran for c (perhaps shared with others): on, or fail. */
static void
reload_done(struct reload_client *rc, int ok, const char *msg)
{
	struct dcert	*c = (struct dcert *)(void *)((char *)rc -
	    offsetof(struct dcert, rc));
	char		 name[256];

	metrics_service_reload(c->d->env.metrics, ok ? "ok" : "failed");
	if (!ok) {
		failed(c, "reload failed", msg);
		return;
	}
	reload_name(&c->cfg->dlv->reload[c->step], name, sizeof(name));
	log_msg(LOG_LVL_INFO, c->cfg->name, "reload %s: %s", name, msg);
	c->step++;
	request_step(c, 0);
}

/* ----------------------------------------------------------------- verify */

/* SNI: the configured servername, else the first non-wildcard domain. */
static const char *
verify_servername(const struct conf_cert *cfg)
{
	size_t	i;

	if (cfg->dlv->verify.servername != NULL)
		return cfg->dlv->verify.servername;
	for (i = 0; i < cfg->domains.n; i++)
		if (strncmp(cfg->domains.v[i], "*.", 2) != 0)
			return cfg->domains.v[i];
	return NULL;
}

/*
 * Every handshake of a round has answered. Two rounds a second apart must
 * both see the new leaf everywhere: right after a graceful reload an old
 * worker may still answer a connection or two.
 */
static void
verify_round_done(struct dcert *c)
{
	char	how[512], msg[512];
	size_t	i, n = c->cfg->dlv->verify.addrs.n, o = 0;

	for (i = 0; i < n && c->vreqs[i]->ok; i++)
		;
	if (i == n && c->verify_confirming) {
		o += (size_t)snprintf(how, sizeof(how), " (verified on");
		for (i = 0; i < n && o < sizeof(how); i++)
			o += (size_t)snprintf(how + o, sizeof(how) - o, " %s",
			    c->cfg->dlv->verify.addrs.v[i]);
		if (o < sizeof(how))
			snprintf(how + o, sizeof(how) - o, ")");
		dcert_stop(c);
		delivered(c, how);
		return;
	}
	c->verify_confirming = i == n;
	if (c->verify_confirming)
		for (i = 0; i < n; i++)
			c->vreqs[i]->ok = 0;	/* ask every address again */
	if (c->verify_confirming || time(NULL) < c->verify_deadline)
		arm_s(c->timer, 1);	/* reloads take a moment */
	else {
		snprintf(msg, sizeof(msg), "%s", c->verify_err);
		failed(c, "not served", msg);
	}
}

static void
verify_one_done(void *arg, const char *fp, const char *serial,
    const char *error)
{
	struct vctx	*v = arg;
	struct dcert	*c = v->c;
	size_t		 i;
	char		 msg[512];

	v->req = NULL;
	if (error == NULL && strcmp(fp, c->fp) == 0)
		v->ok = 1;
	else if (c->verify_err == NULL) {
		for (i = 0; c->vreqs[i] != v; i++)
			;
		if (error != NULL)
			snprintf(msg, sizeof(msg), "%s", error);
		else
			snprintf(msg, sizeof(msg), "verify %s: serves serial %s, "
			    "not the new serial %s", c->cfg->dlv->verify.addrs.v[i],
			    serial, c->serial);
		c->verify_err = xstrdup(msg);
	}
	if (--c->nvpending == 0)
		verify_round_done(c);
}

/* One handshake to every address that did not yet serve the new leaf. */
static void
verify_round(struct dcert *c)
{
	const char	*sni = verify_servername(c->cfg);
	size_t		 i, n = c->cfg->dlv->verify.addrs.n;

	free(c->verify_err);
	c->verify_err = NULL;
	for (i = 0; i < n; i++) {
		if (c->vreqs[i]->ok)
			continue;
		c->nvpending++;
		c->vreqs[i]->req = verify_start(c->d->verifier,
		    c->cfg->dlv->verify.addrs.v[i], sni, VERIFY_ATTEMPT_MS,
		    verify_one_done, c->vreqs[i]);
	}
}

static void
verify_start_all(struct dcert *c)
{
	size_t	i, n = c->cfg->dlv->verify.addrs.n;

	if (n == 0) {
		delivered(c, "");
		return;
	}
	set_state(c, DC_VERIFYING);
	if (c->d->verifier == NULL)
		c->d->verifier = verifier_new(c->d->env.base);
	c->vreqs = xcalloc(n, sizeof(*c->vreqs));
	for (i = 0; i < n; i++) {
		c->vreqs[i] = xcalloc(1, sizeof(**c->vreqs));
		c->vreqs[i]->c = c;
	}
	c->verify_deadline = time(NULL) + c->cfg->dlv->verify.timeout;
	c->verify_confirming = 0;
	verify_round(c);
}

/* ----------------------------------------------------------------- public */

/* Returns 1 if cfg asks for no deploy, reload or verify at all. */
static int
nothing_to_deliver(const struct conf_cert *cfg)
{
	return cfg->dlv->ndeploy == 0 && cfg->dlv->nreload == 0 &&
	    cfg->dlv->verify.addrs.n == 0;
}

/*
 * Deploys and starts the reloads. With force (a new version, a retry) the
 * reloads run even if no file changed; without, only if a deploy path was
 * rewritten or the delivery of this serial never finished.
 */
static void
deliver_start(struct dcert *c, int force)
{
	char	err[768];
	int	n;

	dcert_stop(c);
	if ((n = deploy_all(c, err, sizeof(err))) == -1) {
		failed(c, "deploy failed", err);
		return;
	}
	if (nothing_to_deliver(c->cfg)) {
		c->outcome = NULL;	/* nothing to deliver */
		set_state(c, DC_IDLE);
		return;
	}
	if (!force && n == 0 && persisted_delivered(c)) {
		c->outcome = "delivered";
		set_state(c, DC_IDLE);
		return;
	}
	c->outcome = "pending";
	c->step = 0;
	set_state(c, DC_RELOADING);
	request_step(c, c->cfg->dlv->reload_delay);
}

static struct dcert *
dcert_find(struct deliverer *d, const char *name)
{
	return htab_get(d->byname, name);
}

/* Gives c a copy of cfg; d->byname keys on its name, so it is re-keyed. */
static void
dcert_set_cfg(struct dcert *c, const struct conf_cert *cfg)
{
	struct conf_cert *old = c->cfg;

	c->cfg = conf_cert_dup(cfg);
	c->rc.cfg = c->cfg;
	htab_put(c->d->byname, c->cfg->name, c);
	conf_cert_free(old);
}

/* The certificate's delivery record, with cfg's settings (copied). */
static struct dcert *
dcert_get(struct deliverer *d, const struct conf_cert *cfg)
{
	struct dcert	*c;

	if ((c = dcert_find(d, cfg->name)) != NULL) {
		dcert_stop(c);
		if (is_busy(c->state))
			set_state(c, DC_IDLE);
		dcert_set_cfg(c, cfg);
		return c;
	}
	c = xcalloc(1, sizeof(*c));
	c->d = d;
	c->cfg = conf_cert_dup(cfg);
	c->rc.cfg = c->cfg;
	c->rc.done = reload_done;
	c->state = DC_IDLE;
	c->timer = evtimer_new(d->env.base, retry_cb, c);
	TAILQ_INSERT_TAIL(&d->certs, c, entry);
	htab_put(d->byname, c->cfg->name, c);
	return c;
}

static void
dcert_free(struct dcert *c)
{
	dcert_stop(c);
	if (is_busy(c->state))
		set_state(c, DC_IDLE);
	TAILQ_REMOVE(&c->d->certs, c, entry);
	htab_del(c->d->byname, c->cfg->name);
	event_free(c->timer);
	conf_cert_free(c->cfg);
	free(c->serial);
	free(c->error);
	free(c->verify_err);
	free(c);
}

void
deliver_installed(struct deliverer *d, const struct conf_cert *cfg)
{
	struct dcert	*c;

	/* most certificates are read where they are: no record, no cost */
	if (nothing_to_deliver(cfg) && dcert_find(d, cfg->name) == NULL)
		return;
	c = dcert_get(d, cfg);

	/* the newest version replaces whatever was being delivered */
	c->failures = 0;
	deliver_start(c, 1);
}

void
deliver_check(struct deliverer *d, const struct conf_cert *cfg)
{
	struct dcert	*c = dcert_find(d, cfg->name);

	if (c == NULL && nothing_to_deliver(cfg))
		return;
	/* a failing delivery keeps its backoff unless its settings changed */
	if (c != NULL && c->state == DC_FAILED &&
	    conf_cert_same_delivery(c->cfg, cfg)) {
		dcert_set_cfg(c, cfg);
		return;
	}
	if (c != NULL && is_busy(c->state) && conf_cert_same_delivery(c->cfg, cfg))
		return;
	c = dcert_get(d, cfg);
	deliver_start(c, 0);
}

void
deliver_forget(struct deliverer *d, const char *name)
{
	struct dcert	*c;

	if ((c = dcert_find(d, name)) != NULL)
		dcert_free(c);
}

void
deliver_stats(const struct deliverer *d, struct deliver_stats *st)
{
	const struct dcert *c;

	memset(st, 0, sizeof(*st));
	TAILQ_FOREACH(c, &d->certs, entry) {
		if (is_busy(c->state))
			st->busy++;
		else if (c->state == DC_FAILED)
			st->failed++;
		else
			st->delivered++;
	}
}

static void
idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct deliverer *d = arg;

	(void)fd;
	(void)what;
	if (d->busy == 0 && d->idle != NULL)
		d->idle(d->idle_arg);
}

struct deliverer *
deliverer_new(const struct deliver_env *env, deliver_idle_cb idle, void *arg)
{
	struct deliverer *d = xcalloc(1, sizeof(*d));

	d->env = *env;
	d->idle = idle;
	d->idle_arg = arg;
	d->idle_ev = event_new(env->base, -1, 0, idle_cb, d);
	TAILQ_INIT(&d->certs);
	d->byname = htab_new();
	d->reloader = reloader_new(env->base, env->state_dir);
	return d;
}

void
deliverer_free(struct deliverer *d)
{
	if (d == NULL)
		return;
	d->idle = NULL;
	while (!TAILQ_EMPTY(&d->certs))
		dcert_free(TAILQ_FIRST(&d->certs));
	reloader_free(d->reloader);
	verifier_free(d->verifier);
	event_free(d->idle_ev);
	htab_free(d->byname);
	free(d);
}
