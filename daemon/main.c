/* main.c - renewd: arguments, signals, the event loop, and the wiring */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <systemd/sd-daemon.h>

#include "acme_solver.h"
#include "challenge_alpn.h"
#include "challenge_dns_hook.h"
#include "challenge_dns_update.h"
#include "challenge_http.h"
#include "cluster.h"
#include "cluster_chall.h"
#include "challenge_webroot.h"
#include "conf.h"
#include "control.h"
#include "crypto.h"
#include "deliver.h"
#include "dryrun.h"
#include "fsutil.h"
#include "http.h"
#include "log.h"
#include "loopstat.h"
#include "metrics.h"
#include "metrics_http.h"
#include "notify.h"
#include "renew.h"
#include "sdaemon.h"
#include "store.h"
#include "worker.h"
#include "xmalloc.h"

#define DEFAULT_CONF	SYSCONFDIR "/renewd/renewd.yaml"
#define WORKER_THREADS	2

/* All of them arrive through libevent, in on_signal(). */
static const int handled_signals[] = { SIGTERM, SIGINT, SIGHUP };
#define NSIGNALS	(sizeof(handled_signals) / sizeof(handled_signals[0]))

/* One solver slot per challenge type, in order of preference. */
enum { SLOT_HTTP01, SLOT_DNS01, SLOT_ALPN01, NSLOTS };

/*
 * Everything the daemon owns. Besides it, only log.c (level, journal flag)
 * and http.c (curl_global_init's once-flag) keep process-wide state.
 */
struct ctx {
	const char		*conf_path;
	int			 once;
	int			 dry_run;	/* --once --dry-run */
	struct dryrun		*dryrun;	/* --dry-run's */
	int			 log_level;
	int			 log_level_given;	/* -v or --log-level: wins over
							   the inventory's log_level */
	int			 exit_code;
	struct conf		*conf;
	struct event_base	*base;
	struct loopstat		*loopstat;	/* the longest loop stall */
	struct worker_pool	*parser;	/* one thread: never behind a keygen */
	struct reload_job	*reload_job;	/* a SIGHUP's parse in progress */
	struct retired_conf	*retired;	/* old inventories being freed */
	int			 reload_again;	/* another SIGHUP came meanwhile */
	struct store		*store;
	struct http_client	*http;
	struct chall_http	*http01;
	struct chall_webroot	*webroot;
	struct chall_dns_hook	*dnshook;
	struct chall_dns_update	*dnsupdate;
	struct chall_alpn	*alpn;
	struct acme_solver	 solvers[NSLOTS];	/* see solvers_add() */
	struct worker_pool	*workers;
	struct renewer		*renewer;
	struct deliverer	*deliver;
	struct notifier		*notify;	/* borrows conf's notify section */
	struct event		*sig[NSIGNALS];	/* one per handled_signals[] */
	int			*http01_fds;	/* passed by the manager, unused yet */
	size_t			 nhttp01_fds;
	struct sdaemon_watchdog	*watchdog;	/* WATCHDOG=1 pings, if asked for */
	struct metrics		*metrics;	/* the counters modules bump */
	struct metrics_http	*metrics_http;	/* GET /metrics, if configured */
	struct control		*control;	/* the control socket; NULL: none */
	struct ctl_reload	*ctl_wait;	/* reloads asked for, to start */
	struct ctl_reload	*ctl_run;	/* waiting for the parse running */
	struct cluster		*cluster;	/* cluster mode; NULL: one node */
	struct cluster_chall	*cchall;	/* its challenge answers */
};

/* A control client's reload, told how it ended (control.h). */
struct ctl_reload {
	control_reload_done	 done;
	void			*arg;
	struct ctl_reload	*next;
};

static int	solvers_cover(const struct ctx *, const struct conf *);
static int	solvers_add(struct ctx *, const struct conf *, char *, size_t);
static void	cluster_solvers_sync(struct ctx *);

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: renewd [-tv] [-c file] [--once [--dry-run]] [--log-level level]\n"
	    "  -c, --config FILE    inventory (default " DEFAULT_CONF ")\n"
	    "  -t, --check-config   validate the inventory and exit\n"
	    "      --once           obtain what is missing or due, then exit\n"
	    "      --dry-run        with --once: order every certificate at its\n"
	    "                       CA's staging directory, keep nothing, report\n"
	    "  -v, --verbose        debug logging\n"
	    "      --log-level L    error, warning, notice, info or debug\n"
	    "  -V, --version        print the version and exit\n");
}

/*
 * Reports every problem (plain "file:line:col: message" lines for
 * --check-config, log lines otherwise); returns the conf or NULL.
 */
static struct conf *
load(const char *path, int plain)
{
	struct conf_errors	 errs = { 0 };
	struct conf		*conf;
	size_t			 i;

	conf = conf_load(path, &errs);
	for (i = 0; i < errs.n; i++) {
		if (plain)
			fprintf(stderr, "%s\n", errs.msg[i]);
		else
			log_err("%s", errs.msg[i]);
	}
	conf_errors_clear(&errs);
	return conf;
}

/*
 * --check-config: every CA's issuer_roots must be a readable file of PEM
 * certificates. Returns 0, or -1 with each problem on stderr.
 */
static int
check_issuer_roots(const struct conf *conf)
{
	const char	*path;
	char		*pem, err[256];
	size_t		 i, len;
	int		 rc = 0;

	for (i = 0; i < conf->ncas; i++) {
		if ((path = conf->cas[i].issuer_roots) == NULL)
			continue;
		if ((pem = fsutil_read_file(path, 4 * 1024 * 1024, 0,
		    &len)) == NULL) {
			fprintf(stderr, "CA %s: issuer_roots %s: %s\n",
			    conf->cas[i].name, path, strerror(errno));
			rc = -1;
			continue;
		}
		if (crypto_roots_check(pem, len, err, sizeof(err)) == -1) {
			fprintf(stderr, "CA %s: issuer_roots %s: %s\n",
			    conf->cas[i].name, path, err);
			rc = -1;
		}
		free(pem);
	}
	return rc;
}

static void
notify_status(struct ctx *c)
{
	struct renew_stats st;

	if (c->renewer == NULL)		/* --dry-run */
		return;
	renewer_stats(c->renewer, &st);
	sd_notifyf(0, "STATUS=%zu certificates: %zu valid, %zu renewing, "
	    "%zu failing, %zu issued since start", st.certs, st.valid, st.busy,
	    st.failed, st.issued);
	if (c->cluster != NULL) {	/* the same, for renewctl status anywhere */
		char	view[256];

		snprintf(view, sizeof(view), "{\"certs\":%zu,\"valid\":%zu,"
		    "\"renewing\":%zu,\"failing\":%zu,\"issued\":%zu}",
		    st.certs, st.valid, st.busy, st.failed, st.issued);
		cluster_set_view(c->cluster, view);
	}
}

/* The renewer or the deliverer has nothing in progress any more. */
static void
on_idle(void *arg)
{
	struct ctx	  *c = arg;
	struct renew_stats st;
	struct deliver_stats ds;

	notify_status(c);
	if (!c->once || !renewer_idle(c->renewer))
		return;
	deliver_stats(c->deliver, &ds);
	if (ds.busy > 0 || notifier_busy(c->notify) > 0)
		return;
	renewer_stats(c->renewer, &st);
	c->exit_code = st.valid == st.certs && ds.failed == 0 ? 0 : 1;
	log_info("--once: %zu of %zu certificates valid, %zu deliveries "
	    "failed", st.valid, st.certs, ds.failed);
	event_base_loopbreak(c->base);
}

/*
 * Moves the running listeners to the addresses conf lists. Each is moved
 * in place (the new sockets opened before the old ones close), so acme's
 * solver slots, the answers published and the validations in flight stay.
 * A listener that cannot move keeps its addresses and says which one
 * failed; the next SIGHUP tries again. Warns about what needs a restart.
 */
static void
solvers_rebind(const struct ctx *c, const struct conf *conf)
{
	const struct conf_http01 *h = &conf->http01;
	char	err[512];

	if (c->http01 != NULL && h->webroot == NULL &&
	    chall_http_rebind(c->http01, h->listen.v, h->listen.n, err,
	    sizeof(err)) == -1)
		log_err("%s; http-01 stays on its running addresses", err);
	if ((c->http01 != NULL && h->webroot != NULL) ||
	    (c->webroot != NULL && !conf_http01_equal(h, &c->conf->http01)))
		log_warn("http01: a switch between listen and webroot, or "
		    "another webroot, only takes effect after a restart");
	if (c->alpn != NULL && conf->tlsalpn01.listen.n > 0 &&
	    chall_alpn_rebind(c->alpn, conf->tlsalpn01.listen.v,
	    conf->tlsalpn01.listen.n, err, sizeof(err)) == -1)
		log_err("%s; tls-alpn-01 stays on its running addresses", err);
	if ((c->dnshook != NULL || c->dnsupdate != NULL) &&
	    !conf_dns01_equal(&conf->dns01, &c->conf->dns01))
		log_warn("dns01 changes only take effect after a restart");
}

/* An old inventory on its way out; see conf_free_later(). */
struct retired_conf {
	struct ctx		*c;
	struct conf		*conf;		/* NULL once freed */
	struct retired_conf	*next;
};

static void
retired_work(void *arg)
{
	struct retired_conf *rc = arg;

	conf_free(rc->conf);
	rc->conf = NULL;
}

static void
retired_done(void *arg)
{
	struct retired_conf *rc = arg, **pp;

	for (pp = &rc->c->retired; *pp != rc; pp = &(*pp)->next)
		;
	*pp = rc->next;
	free(rc);
	xmalloc_trim();		/* an old inventory is megabytes at 100,000 */
}

/*
 * Frees an inventory the renewer no longer uses on the parser's thread:
 * 100,000 certificates take tens of milliseconds to free, which the loop
 * need not wait for (nothing else refers to it; free is thread-safe).
 * teardown() frees what a stop left queued.
 */
static void
conf_free_later(struct ctx *c, struct conf *conf)
{
	struct retired_conf *rc;

	rc = xcalloc(1, sizeof(*rc));
	rc->c = c;
	rc->conf = conf;
	if (worker_submit(c->parser, retired_work, retired_done, rc) == -1) {
		conf_free(conf);
		free(rc);
		return;
	}
	rc->next = c->retired;
	c->retired = rc;
}

/*
 * The inventory's log settings: its log_level unless the command line set
 * one, and its log target. Logs a change of level (a SIGHUP's).
 */
static void
log_apply(struct ctx *c, const struct conf *conf)
{
	int	level = c->log_level;

	if (!c->log_level_given && conf->log_level != 0)
		level = conf->log_level;
	else if (!c->log_level_given)
		level = LOG_LVL_INFO;
	log_set(level, (enum log_target)conf->log);
	if (level != c->log_level)
		log_notice("log level %s (was %s)", log_level_name(level),
		    log_level_name(c->log_level));
	c->log_level = level;
}

static void	control_moved(struct ctx *, const struct conf *);

/*
 * Makes conf (parsed off the loop; NULL if refused) the running inventory.
 * Returns 0, or -1 if it was refused.
 */
static int
reload_apply(struct ctx *c, struct conf *conf)
{
	char	err[512];
	int	rc = -1;

	if (conf == NULL) {
		log_err("%s: rejected; the running inventory stays in force",
		    c->conf_path);
		metrics_inventory_reload(c->metrics, "rejected");
		goto out;
	}
	/* the store's, not the last inventory's: that may name another one */
	if (strcmp(conf->state_dir, store_path(c->store)) != 0)
		log_warn("state_dir changes only take effect after a restart; "
		    "still using %s", store_path(c->store));
	if (!conf_cluster_equal(c->conf->cluster, conf->cluster))
		log_warn("cluster settings change only after a restart; the "
		    "running ones stay");
	solvers_rebind(c, conf);
	if (solvers_add(c, conf, err, sizeof(err)) == -1)
		log_err("%s", err);
	cluster_solvers_sync(c);
	if (!solvers_cover(c, conf)) {
		log_err("%s: rejected; the running inventory stays in force",
		    c->conf_path);
		metrics_inventory_reload(c->metrics, "rejected");
		conf_free(conf);
		goto out;
	}
	if (metrics_http_apply(c->metrics_http, &conf->metrics, err,
	    sizeof(err)) == -1)
		log_err("%s; metrics stay on the running address", err);
	metrics_inventory_reload(c->metrics, "applied");
	log_apply(c, conf);
	notifier_apply(c->notify, &conf->notify);
	renewer_apply(c->renewer, conf);
	control_moved(c, conf);
	/* the renewer borrowed the new one's certificates: the old can go */
	conf_free_later(c, c->conf);
	c->conf = conf;
	log_notice("inventory reloaded: %zu certificates", conf->ncerts);
	log_debug("longest loop stall so far %lld ms", loopstat_max_ms(c->loopstat));
	rc = 0;
out:
	sd_notify(0, "READY=1");
	notify_status(c);
	return rc;
}

/* A SIGHUP's inventory, parsed on a worker: 100,000 certificates take ~1 s. */
struct reload_job {
	struct ctx		*c;
	struct conf		*conf;
	struct conf_errors	 errs;
};

static void
reload_job_free(struct reload_job *j)
{
	if (j == NULL)
		return;
	conf_free(j->conf);
	conf_errors_clear(&j->errs);
	free(j);
}

/* On a worker thread: conf_load touches nothing shared. */
static void
reload_parse(void *arg)
{
	struct reload_job *j = arg;

	j->conf = conf_load(j->c->conf_path, &j->errs);
}

static void	reload_conf(struct ctx *);

/* Tells the control clients waiting for the parse just applied or refused. */
static void
ctl_reload_told(struct ctx *c, int ok, const struct conf_errors *errs)
{
	char		 rejected[] = "rejected; the running inventory stays "
	    "in force (the log says why)";
	char		*why[1] = { rejected };
	struct ctl_reload *w;

	while ((w = c->ctl_run) != NULL) {
		c->ctl_run = w->next;
		if (ok || errs->n > 0)
			w->done(w->arg, ok, errs->msg, errs->n);
		else
			w->done(w->arg, ok, why, 1);
		free(w);
	}
}

static void
reload_parsed(void *arg)
{
	struct reload_job *j = arg;
	struct ctx	*c = j->c;
	struct conf	*conf = j->conf;
	size_t		 i;
	int		 rc;

	for (i = 0; i < j->errs.n; i++)
		log_err("%s", j->errs.msg[i]);
	j->conf = NULL;
	c->reload_job = NULL;
	rc = reload_apply(c, conf);
	ctl_reload_told(c, rc == 0, &j->errs);
	reload_job_free(j);
	if (c->reload_again) {
		c->reload_again = 0;
		reload_conf(c);
	}
}

static void
reload_conf(struct ctx *c)
{
	/* a SIGHUP during the parse: read the file again once it is done */
	if (c->reload_job != NULL) {
		c->reload_again = 1;
		return;
	}
	sdaemon_reloading();
	log_notice("SIGHUP: reading %s", c->conf_path);
	loopstat_watch(c->loopstat, 10);
	c->reload_job = xcalloc(1, sizeof(*c->reload_job));
	c->reload_job->c = c;
	/* control clients asked for this parse, or one before it began */
	c->ctl_run = c->ctl_wait;
	c->ctl_wait = NULL;
	if (worker_submit(c->parser, reload_parse, reload_parsed,
	    c->reload_job) == -1) {
		reload_parse(c->reload_job);
		reload_parsed(c->reload_job);
	}
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct ctx *c = arg;

	switch (sig) {
	case SIGHUP:
		if (c->once)
			log_notice("SIGHUP: ignored with --once");
		else
			reload_conf(c);
		break;
	default:
		log_notice("%s: shutting down", strsignal((int)sig));
		sd_notify(0, "STOPPING=1");
		c->exit_code = 0;
		event_base_loopbreak(c->base);
		break;
	}
}

/* Many orders and http-01 clients at once want descriptors: take what we may. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("cannot raise RLIMIT_NOFILE to %llu: %s",
			    (unsigned long long)rl.rlim_max, strerror(errno));
	}
}

/* Returns 1 if conf has a certificate that uses challenge type t. */
static int
uses(const struct conf *conf, enum challenge_type t)
{
	size_t i;

	for (i = 0; i < conf->ncerts; i++)
		if (conf->certs[i].challenge == t)
			return 1;
	return 0;
}

/* Returns 1 if a solver runs for every challenge type conf uses, else logs why not. */
static int
solvers_cover(const struct ctx *c, const struct conf *conf)
{
	size_t	i, j;
	int	ok = 1;

	for (i = 0; i < conf->ncerts; i++) {
		const char *t = conf_challenge_name(conf->certs[i].challenge);

		for (j = 0; j < NSLOTS; j++)
			if (c->solvers[j].type != NULL &&
			    strcmp(c->solvers[j].type, t) == 0)
				break;
		if (j < NSLOTS)
			continue;
		log_err("%s:%d: certificate %s uses %s, but no %s solver is "
		    "configured", conf->path, conf->certs[i].line,
		    conf->certs[i].name, t, t);
		ok = 0;
	}
	return ok;
}

/*
 * The http-01 listener: on the sockets the service manager passed as
 * "http01" if any (so renewd needs no privilege for port 80), else on the
 * addresses of http01.listen. Returns NULL with the reason in err.
 */
static struct chall_http *
http01_new(struct ctx *c, const struct conf_http01 *h, char *err,
    size_t errlen)
{
	struct chall_http *ch;

	if (c->nhttp01_fds == 0)
		return chall_http_new(c->base, h->listen.v, h->listen.n, err,
		    errlen);
	log_notice("http-01: serving %zu socket-activated listener(s) named "
	    "%s instead of binding http01.listen", c->nhttp01_fds,
	    SDAEMON_HTTP01);
	ch = chall_http_adopt(c->base, c->http01_fds, c->nhttp01_fds, err,
	    errlen);
	c->nhttp01_fds = 0;	/* ch owns them, even on failure */
	return ch;
}

/* The propagation check of either dns-01 solver, from the inventory. */
static void
dns01_prop_opts(const struct conf_dns01 *d, struct dns_prop_opts *p)
{
	p->check = d->propagation_check;
	p->timeout_ms = d->propagation_timeout * 1000;
	p->resolvers = d->propagation_resolvers.v;
	p->nresolvers = d->propagation_resolvers.n;
}

/* The RFC 2136 dns-01 solver. Returns 0, or -1 with err. */
static int
dns_update_add(struct ctx *c, const struct conf_dns01 *d, char *err,
    size_t errlen)
{
	struct chall_dns_update_opts o;

	if (d->tsig.secret == NULL) {
		snprintf(err, errlen, "dns01: rfc2136: no TSIG key read from "
		    "%s", d->tsig_key_file != NULL ? d->tsig_key_file : "-");
		return -1;
	}
	memset(&o, 0, sizeof(o));
	o.server = d->rfc2136_server;
	o.zone = d->rfc2136_zone;
	o.key = &d->tsig;
	o.timeout_ms = d->timeout * 1000;
	dns01_prop_opts(d, &o.prop);
	c->dnsupdate = chall_dns_update_new(c->base, &o);
	chall_dns_update_solver(c->dnsupdate, &c->solvers[SLOT_DNS01]);
	return 0;
}

/*
 * Starts the solvers conf needs that do not run yet, each for the
 * certificates of its type: http-01 (webroot files, else our own
 * listener) only if a certificate uses it, so a dns-01-only host leaves
 * port 80 alone; the dns-01 hook and the tls-alpn-01 listener when their
 * section is there. Nothing at all for an empty inventory.
 *
 * Called at start and on every SIGHUP, so a certificate added to an
 * inventory that started empty (a package install) gets its solver. The
 * design: c->solvers is a fixed array of NSLOTS slots, one per type, and
 * the renewer and every CA client get a pointer to it and NSLOTS once,
 * at start. A slot is filled in place the first time an inventory needs
 * it (acme skips empty slots, type NULL) and is never emptied or moved
 * before teardown, so nothing has to be re-created, no order in flight is
 * dropped, and the solvers outlive the CA clients (teardown frees the
 * renewer first). A solver stays when a reload no longer needs it.
 */
static int
solvers_add(struct ctx *c, const struct conf *conf, char *err, size_t errlen)
{
	const struct conf_http01	*h = &conf->http01;
	struct chall_dns_hook_opts	 o;

	if (conf->ncerts == 0)
		return 0;
	if (c->solvers[SLOT_HTTP01].type == NULL &&
	    uses(conf, CHALLENGE_HTTP01)) {
		if (h->webroot != NULL) {
			if ((c->webroot = chall_webroot_new(h->webroot, err,
			    errlen)) == NULL)
				return -1;
			chall_webroot_solver(c->webroot,
			    &c->solvers[SLOT_HTTP01]);
		} else {
			if ((c->http01 = http01_new(c, h, err, errlen)) == NULL)
				return -1;
			chall_http_solver(c->http01, &c->solvers[SLOT_HTTP01]);
		}
	}
	if (c->solvers[SLOT_DNS01].type == NULL && conf->dns01.hook.n > 0) {
		memset(&o, 0, sizeof(o));
		o.argv = conf->dns01.hook.v;
		o.argc = conf->dns01.hook.n;
		o.timeout_ms = conf->dns01.timeout * 1000;
		o.propagation_ms = conf->dns01.propagation_delay * 1000;
		dns01_prop_opts(&conf->dns01, &o.prop);
		c->dnshook = chall_dns_hook_new(c->base, &o);
		chall_dns_hook_solver(c->dnshook, &c->solvers[SLOT_DNS01]);
	}
	if (c->solvers[SLOT_DNS01].type == NULL &&
	    conf->dns01.rfc2136_server != NULL &&
	    dns_update_add(c, &conf->dns01, err, errlen) == -1)
		return -1;
	if (c->alpn == NULL && conf->tlsalpn01.listen.n > 0) {
		if ((c->alpn = chall_alpn_new(c->base, conf->tlsalpn01.listen.v,
		    conf->tlsalpn01.listen.n, err, errlen)) == NULL)
			return -1;
		chall_alpn_solver(c->alpn, &c->solvers[SLOT_ALPN01]);
	}
	return 0;
}

/*
 * Takes the sockets the service manager passed; before any thread starts,
 * as it edits the environment. Returns 0, or -1 naming what is unusable.
 */
static int
passed_sockets(struct ctx *c)
{
	char	err[1024];

	if (sdaemon_listen_fds(&c->http01_fds, &c->nhttp01_fds, err,
	    sizeof(err)) == -1) {
		log_err("%s", err);
		return -1;
	}
	if (c->nhttp01_fds > 0 && c->conf->http01.webroot != NULL)
		log_warn("http-01: http01.webroot is set: the socket-activated "
		    "listener %s is not used", SDAEMON_HTTP01);
	return 0;
}

/*
 * Writes the control socket's path into buf: control_socket, else
 * control in $RUNTIME_DIRECTORY (its first directory if it lists
 * several), else in /run/renewd. Returns 1 if the inventory named it.
 */
static int
control_path_for(const struct conf *conf, char *buf, size_t len)
{
	const char	*rt = getenv("RUNTIME_DIRECTORY");

	if (conf->control_socket != NULL) {
		snprintf(buf, len, "%s", conf->control_socket);
		return 1;
	}
	if (rt != NULL && rt[0] == '/')
		snprintf(buf, len, "%.*s/control", (int)strcspn(rt, ":"), rt);
	else
		snprintf(buf, len, "/run/renewd/control");
	return 0;
}

/* control.h's reload: the next parse's outcome goes to done. */
static void
ctl_reload_ask(void *arg, control_reload_done done, void *done_arg)
{
	struct ctx		*c = arg;
	struct ctl_reload	*w, **pp;

	w = xcalloc(1, sizeof(*w));
	w->done = done;
	w->arg = done_arg;
	for (pp = &c->ctl_wait; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = w;
	reload_conf(c);
}

/* What a dry run borrows from the daemon. */
static void
dry_env(struct ctx *c, struct dryrun_env *env)
{
	memset(env, 0, sizeof(*env));
	env->base = c->base;
	env->http = c->http;
	env->solvers = c->solvers;
	env->nsolvers = NSLOTS;
	env->workers = c->workers;
	env->state_dir = c->conf->state_dir;
}

/* --once --dry-run: one line per certificate on stdout. */
static void
dry_once_result(void *arg, const struct dryrun_result *r)
{
	(void)arg;
	if (r->ok)
		printf("%s: ok: a renewal would succeed (CA %s, staging %s)\n",
		    r->name, r->ca, r->staging);
	else
		printf("%s: failed: %s\n", r->name, r->error);
	fflush(stdout);
}

static void
dry_once_done(void *arg, size_t ok, size_t failed)
{
	struct ctx	*c = arg;

	log_info("--dry-run: %zu of %zu certificates would renew", ok,
	    ok + failed);
	c->exit_code = failed == 0 ? 0 : 1;
	event_base_loopbreak(c->base);
}

static int
dry_run_once(struct ctx *c)
{
	struct dryrun_env env;
	char		 err[512];

	dry_env(c, &env);
	if ((c->dryrun = dryrun_start(&env, c->conf, NULL, 0, dry_once_result,
	    dry_once_done, c, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		return -1;
	}
	return 0;
}

/* control.h's dry run: the running inventory, its solvers and workers. */
static struct dryrun *
ctl_dry_run(void *arg, char *const *names, size_t nnames,
    dryrun_result_cb res, dryrun_done_cb done, void *done_arg, char *err,
    size_t errlen)
{
	struct ctx	*c = arg;
	struct dryrun_env env;

	dry_env(c, &env);
	return dryrun_start(&env, c->conf, names, nnames, res, done, done_arg,
	    err, errlen);
}

/*
 * Opens the control socket (not with --once). One the inventory names
 * must open; the default one may fail (no /run/renewd outside systemd),
 * which leaves the daemon without it. Returns 0 or -1.
 */
static int
control_start(struct ctx *c)
{
	struct control_env env;
	char		 path[4096], err[512];
	int		 named;

	if (c->once)
		return 0;
	named = control_path_for(c->conf, path, sizeof(path));
	memset(&env, 0, sizeof(env));
	env.base = c->base;
	env.renewer = c->renewer;
	env.state_dir = store_path(c->store);
	env.reload = ctl_reload_ask;
	env.reload_arg = c;
	env.cluster = c->cluster;
	env.dry_run = ctl_dry_run;
	if ((c->control = control_open(&env, path, err, sizeof(err))) != NULL)
		log_info("control socket %s", path);
	else if (named) {
		log_err("%s", err);
		return -1;
	} else
		log_warn("%s; running without a control socket", err);
	return 0;
}

/* A reload moved control_socket: move it too, or say why it stays. */
static void
control_moved(struct ctx *c, const struct conf *conf)
{
	char	path[4096], err[512];

	control_path_for(conf, path, sizeof(path));
	if (c->control == NULL || strcmp(path, control_path(c->control)) == 0)
		return;
	if (control_rebind(c->control, path, err, sizeof(err)) == -1)
		log_err("%s; the control socket stays at %s", err,
		    control_path(c->control));
	else
		log_notice("control socket moved to %s", path);
}

/* After solvers_add: the cluster's wrappers follow main's slots. */
static void
cluster_solvers_sync(struct ctx *c)
{
	if (c->cchall == NULL)
		return;
	cluster_chall_sync(c->cchall);
	if (c->http01 != NULL)	/* a token another node published a moment ago */
		chall_http_set_miss(c->http01, cluster_chall_ask,
		    cluster_chall_ask_cancel, c->cchall);
}

static void
cluster_state(void *arg, int up)
{
	struct ctx *c = arg;

	renewer_cluster_state(c->renewer, up);
}

static void
cluster_record(void *arg, const char *kind, const char *name,
    const unsigned char *value, size_t len)
{
	struct ctx *c = arg;

	if (strcmp(kind, "certs") == 0)
		renewer_cluster_cert(c->renewer, name, value, len);
	else if (strcmp(kind, "accounts") == 0)
		renewer_cluster_account(c->renewer, name, value, len);
	else if (strcmp(kind, "chall") == 0)
		cluster_chall_record(c->cchall, name, value, len);
	else if (strcmp(kind, "locks") == 0)
		renewer_cluster_unlocked(c->renewer, name);
}

static void
cluster_fatal(void *arg, const char *why)
{
	struct ctx *c = arg;

	log_err("cluster: %s (this node's key file: %s); stopping", why,
	    c->conf->cluster->key_file);
	c->exit_code = 1;
	event_base_loopexit(c->base, NULL);
}

/* Cluster mode: the session (started once the renewer has its inventory). */
static int
cluster_setup(struct ctx *c)
{
	const struct conf_cluster *cc = c->conf->cluster;
	struct cluster_params	 p;
	struct cluster_hooks	 h;

	if (c->once) {
		log_err("%s: cluster mode runs as a daemon; --once would order "
		    "outside the cluster", c->conf_path);
		return -1;
	}
	memset(&p, 0, sizeof(p));
	p.endpoints = (const char *const *)cc->etcd;
	p.nendpoints = cc->netcd;
	p.tls.ca_bundle = cc->ca_bundle;
	p.tls.client_cert = cc->client_cert;
	p.tls.client_key = cc->client_key;
	p.prefix = cc->prefix;
	p.node = cc->node;
	p.key = cc->key;
	p.lease_ttl = cc->lease_ttl;
	p.stagger = (unsigned)cc->stagger;
	memset(&h, 0, sizeof(h));
	h.state = cluster_state;
	h.record = cluster_record;
	h.fatal = cluster_fatal;
	h.arg = c;
	c->cluster = cluster_new(c->base, c->http, &p, &h);
	c->cchall = cluster_chall_new(c->base, c->cluster, c->solvers, NSLOTS);
	cluster_solvers_sync(c);
	log_notice("cluster mode: node %s, prefix %s, %zu etcd endpoint(s)",
	    cc->node, cc->prefix, cc->netcd);
	return 0;
}

static int
setup(struct ctx *c)
{
	struct renew_env env;
	struct deliver_env denv;
	char		 err[512];
	size_t		 i;

	/* a dry run keeps nothing in the state directory's real part */
	if (!c->dry_run && (c->store = store_open(c->conf->state_dir, err,
	    sizeof(err))) == NULL) {
		log_err("%s", err);
		return -1;
	}
	/* curl_global_init happens here, before any worker thread exists */
	if ((c->http = http_client_new(c->base, "renewd/" PACKAGE_VERSION)) == NULL) {
		log_err("cannot set up the HTTP client");
		return -1;
	}
	raise_nofile();		/* before chall_http_new sizes its connection limit */
	if (solvers_add(c, c->conf, err, sizeof(err)) == -1) {
		log_err("%s", err);
		return -1;
	}
	if ((c->workers = worker_pool_new(c->base, WORKER_THREADS)) == NULL ||
	    (c->parser = worker_pool_new(c->base, 1)) == NULL) {
		log_err("cannot start worker threads");
		return -1;
	}
	if (c->dry_run)
		return dry_run_once(c);
	if (c->conf->cluster != NULL && cluster_setup(c) == -1)
		return -1;
	memset(&denv, 0, sizeof(denv));
	denv.base = c->base;
	denv.store = c->store;
	denv.state_dir = store_path(c->store);
	denv.once = c->once;
	denv.metrics = c->metrics = metrics_new();
	c->deliver = deliverer_new(&denv, on_idle, c);
	memset(&env, 0, sizeof(env));
	env.base = c->base;
	env.http = c->http;
	env.store = c->store;
	env.solvers = c->cchall != NULL ? cluster_chall_solvers(c->cchall) :
	    c->solvers;
	env.nsolvers = NSLOTS;
	env.workers = c->workers;
	env.deliver = c->deliver;
	env.cluster = c->cluster;
	env.once = c->once;
	env.loopstat = c->loopstat;
	env.metrics = c->metrics;
	c->notify = notifier_new(c->base, on_idle, c);
	notifier_apply(c->notify, &c->conf->notify);
	env.notify = c->notify;
	c->renewer = renewer_new(&env, on_idle, c);
	c->metrics_http = metrics_http_new(c->base, c->metrics, c->renewer);
	if (metrics_http_apply(c->metrics_http, &c->conf->metrics, err,
	    sizeof(err)) == -1) {
		log_err("%s", err);
		return -1;
	}
	renewer_apply(c->renewer, c->conf);
	if (c->cluster != NULL)
		cluster_start(c->cluster);
	if (control_start(c) == -1)
		return -1;
	for (i = 0; i < NSIGNALS; i++) {
		c->sig[i] = evsignal_new(c->base, handled_signals[i], on_signal, c);
		if (evsignal_add(c->sig[i], NULL) == -1) {
			log_err("cannot handle %s", strsignal(handled_signals[i]));
			return -1;
		}
	}
	return 0;
}

/* At exit: the reloads control clients asked for, no one to tell now. */
static void
ctl_reload_forget(struct ctx *c)
{
	struct ctl_reload *w;

	while ((w = c->ctl_wait) != NULL || (w = c->ctl_run) != NULL) {
		if (w == c->ctl_wait)
			c->ctl_wait = w->next;
		else
			c->ctl_run = w->next;
		free(w);
	}
}

static void
teardown(struct ctx *c)
{
	size_t	i;

	for (i = 0; i < NSIGNALS; i++)
		if (c->sig[i] != NULL)
			event_free(c->sig[i]);
	/* its clients wait on the renewer and on reloads: it goes first */
	control_free(c->control);
	ctl_reload_forget(c);
	sdaemon_watchdog_free(c->watchdog);
	for (i = 0; i < c->nhttp01_fds; i++)	/* never needed */
		close(c->http01_fds[i]);
	free(c->http01_fds);
	dryrun_free(c->dryrun);
	/* installs on the workers end whole; then the threads go: afterwards
	   no key generation touches the renewer */
	renewer_drain(c->renewer);
	worker_pool_free(c->workers);
	worker_pool_free(c->parser);
	reload_job_free(c->reload_job);	/* its parse ran or never will */
	while (c->retired != NULL) {	/* each freed already, or never will be */
		struct retired_conf *rc = c->retired;

		c->retired = rc->next;
		conf_free(rc->conf);
		free(rc);
	}
	metrics_http_free(c->metrics_http);	/* its scrapes read the renewer */
	renewer_free(c->renewer);
	notifier_free(c->notify);
	deliverer_free(c->deliver);
	/* other nodes' answers leave the solvers; the lease goes (best effort,
	   running the loop: nothing may reach the freed parts meanwhile) */
	if (c->http01 != NULL && c->cchall != NULL)
		chall_http_set_miss(c->http01, NULL, NULL, NULL);
	cluster_chall_free(c->cchall);
	cluster_free(c->cluster);
	/* the orders are gone and withdrew their records: let the dels run */
	chall_dns_hook_drain(c->dnshook);
	chall_dns_update_drain(c->dnsupdate);
	chall_alpn_free(c->alpn);
	chall_dns_hook_free(c->dnshook);
	chall_dns_update_free(c->dnsupdate);
	chall_webroot_free(c->webroot);
	chall_http_free(c->http01);
	http_client_free(c->http);
	store_close(c->store);
	conf_free(c->conf);
	metrics_free(c->metrics);	/* nothing bumps a counter any more */
	loopstat_free(c->loopstat);
	if (c->base != NULL)
		event_base_free(c->base);
}

/*
 * Fills c and *check from the command line. Returns -1 to go on, or the
 * exit status when there is nothing to run (--help, --version, a mistake).
 */
static int
parse_args(struct ctx *c, int argc, char **argv, int *check)
{
	static const struct option longopts[] = {
		{ "config",	  required_argument, NULL, 'c' },
		{ "check-config", no_argument,	     NULL, 't' },
		{ "once",	  no_argument,	     NULL, 'o' },
		{ "dry-run",	  no_argument,	     NULL, 'D' },
		{ "verbose",	  no_argument,	     NULL, 'v' },
		{ "version",	  no_argument,	     NULL, 'V' },
		{ "help",	  no_argument,	     NULL, 'h' },
		{ "log-level",	  required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch;

	while ((ch = getopt_long(argc, argv, "c:tvVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			c->conf_path = optarg;
			break;
		case 't':
			*check = 1;
			break;
		case 'o':
			c->once = 1;
			break;
		case 'D':
			c->dry_run = 1;
			break;
		case 'v':
			c->log_level = LOG_LVL_DEBUG;
			c->log_level_given = 1;
			break;
		case 'L':
			if ((c->log_level = log_level_parse(optarg)) == -1) {
				fprintf(stderr, "renewd: --log-level: unknown "
				    "level \"%s\" (expected error, warning, "
				    "notice, info or debug)\n", optarg);
				return 2;
			}
			c->log_level_given = 1;
			break;
		case 'V':
			printf("renewd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (c->dry_run && !c->once) {
		fprintf(stderr, "renewd: --dry-run goes with --once; a running "
		    "daemon is asked with: renewctl renew --dry-run --all\n");
		return 2;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	struct ctx	ctx;
	int		rc, check = 0;

	memset(&ctx, 0, sizeof(ctx));
	ctx.conf_path = DEFAULT_CONF;
	ctx.log_level = LOG_LVL_INFO;
	ctx.exit_code = 1;
	if ((rc = parse_args(&ctx, argc, argv, &check)) != -1)
		return rc;
	log_init(ctx.log_level);
	/*
	 * Out of memory aborts (xmalloc.h), and the libraries allocate through
	 * the same family: OpenSSL through crypto_init, libevent and jansson
	 * from here, libcurl in http_client_new.
	 */
	crypto_init();
	event_set_mem_functions(xmalloc_hook, xrealloc_hook, free);
	json_set_alloc_funcs(xmalloc_hook, free);
	/* keys and state are private: nothing renewd creates is group/world readable */
	umask(077);
	signal(SIGPIPE, SIG_IGN);

	if ((ctx.conf = load(ctx.conf_path, check)) == NULL)
		return 1;
	if (!check)
		log_apply(&ctx, ctx.conf);
	if (check) {
		rc = check_issuer_roots(ctx.conf) == -1 ? 1 : 0;
		conf_free(ctx.conf);
		return rc;
	}
	if ((ctx.base = event_base_new()) == NULL) {
		log_err("event_base_new failed");
		goto out;
	}
	ctx.loopstat = loopstat_new(ctx.base);
	if (passed_sockets(&ctx) == -1 || setup(&ctx) == -1)
		goto out;
	/* setup ran before the loop (and the listener) did: not a stall */
	loopstat_restart(ctx.loopstat);
	loopstat_watch(ctx.loopstat, 10);
	log_notice("renewd %s started: %zu certificates, %zu CAs, state in %s",
	    PACKAGE_VERSION, ctx.conf->ncerts, ctx.conf->ncas, ctx.conf->state_dir);
	sd_notify(0, "READY=1");
	notify_status(&ctx);
	/* systemd arms the watchdog at READY=1 */
	ctx.watchdog = sdaemon_watchdog_new(ctx.base);
	if (event_base_dispatch(ctx.base) == -1) {
		log_err("event loop failed");
		ctx.exit_code = 1;
	}
out:
	teardown(&ctx);
	return ctx.exit_code;
}
