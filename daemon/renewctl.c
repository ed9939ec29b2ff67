/*
 * renewctl.c - ask renewd what it does and tell it what to do, through
 * its control socket (control.c); without a daemon, status reads the
 * state directory itself (the offline table below).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "acme.h"
#include "conf.h"
#include "control_req.h"
#include "crypto.h"
#include "fsutil.h"
#include "livecheck.h"
#include "log.h"
#include "renewctl_init.h"
#include "renewctl.h"
#include "renewctl_import.h"
#include "sched.h"
#include "store.h"
#include "xmalloc.h"

#define DEFAULT_CONF	SYSCONFDIR "/renewd/renewd.yaml"
#define ROW		"%-24s %-8s %-20s %-20s %-6s %-20s %-14s %-20s %s\n"
#define ACME_ERR_PREFIX	"urn:ietf:params:acme:error:"
/* The live table: NAME STATE NOT-AFTER SERIAL NEXT AT FAILURES CA DELIVERY DOMAINS LAST-ERROR */
#define LROW		"%-24s %-9s %-20s %-34s %-9s %-20s %-3s %-12s %-13s %-30s %s\n"

/* The command line, all commands' options together. */
struct opts {
	const char	 *conf;
	const char	 *sock;
	int		  json, all, force, nowait;
	int		  dry_run;	/* renew --dry-run */
	int		  reason;	/* revoke: RFC 5280 code */
	int		  cert_key;	/* revoke: --with-cert-key */
	int		  yes;		/* account deactivate: --yes-really */
	char		**contact;	/* account update: --contact, in order */
	size_t		  ncontact;
	char		**names;
	size_t		  nnames;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: renewctl [-s socket] [-c file] status [--json] [name ...]\n"
	    "       renewctl [-s socket] [-c file] renew [--force] [--no-wait] "
	    "name ... | --all\n"
	    "       renewctl [-s socket] [-c file] renew --dry-run name ... | "
	    "--all\n"
	    "       renewctl [-s socket] [-c file] revoke [--reason reason] "
	    "[--with-cert-key] [--no-wait] name\n"
	    "       renewctl [-s socket] [-c file] reload\n"
	    "       renewctl [-s socket] [-c file] account show|rollover "
	    "[--json] ca\n"
	    "       renewctl [-s socket] [-c file] account update [--json] "
	    "[--contact uri]... ca\n"
	    "       renewctl [-s socket] [-c file] account deactivate "
	    "--yes-really [--json] ca\n"
	    "       renewctl [-c file] check-config\n"
	    "       renewctl [-c file] import-certbot [--dry-run] "
	    "[--output file] [--state-dir dir] [--user user] [dir]\n"
	    "       renewctl [-c file] init [--domain name ...] [--ca preset] "
	    "[--email address]\n"
	    "                [--reload unit:NAME|none] [--yes] [--output file] "
	    "[--force] ...\n");
}


/*
 * Returns when renewd renews the certificate info: sched_plan with the ARI
 * window and moment sv (its schedule.json) keeps for this very
 * certificate, if any.
 */
static time_t
status_due(const struct conf_cert *cc, const struct sched_state *sv,
    const struct crypto_cert_info *info, time_t now)
{
	struct sched_ari	 kept;
	struct sched_plan	 p;
	struct sched_input	 in = { info->not_before, info->not_after,
	    cc->renew_before, sched_spread(cc->name, info->serial), 0, now,
	    NULL, NULL };

	if (sv->ari_cert != NULL && info->ari_id != NULL &&
	    strcmp(sv->ari_cert, info->ari_id) == 0) {
		kept.start = sv->ari_start;
		kept.end = sv->ari_end;
		kept.moment = sv->ari_moment;
		kept.next_fetch = sv->ari_next_fetch;
		in.prev = &kept;
	}
	sched_plan(&in, &p);
	return p.renew_at;
}

/*
 * Returns when the first hold on cc ends if every CA of its list holds
 * it back now (its own rate limit there, from sv, or the account's new
 * orders, from the CA's holds.json), else 0: renewd orders nowhere before.
 */
static time_t
held_everywhere(const struct conf *conf, const struct conf_cert *cc,
    const struct sched_state *sv, time_t now)
{
	struct sched_holds h = { 0 };
	const char	*r = sv->hold_reason;
	size_t		 i, n = sizeof(SCHED_HOLD_REASON) - 1;
	time_t		 until, first = 0;
	char		 err[512];

	for (i = 0; i < cc->ca.n; i++) {
		until = r != NULL && strncmp(r, SCHED_HOLD_REASON, n) == 0 &&
		    strcmp(r + n, cc->ca.v[i]) == 0 ? sv->hold_until : 0;
		if (store_holds_load(conf->state_dir, cc->ca.v[i], &h, err,
		    sizeof(err)) == -1)
			fprintf(stderr, "renewctl: %s: ignored\n", err);
		if (h.orders_until > until)
			until = h.orders_until;
		sched_holds_clear(&h);
		if (until <= now)
			return 0;
		if (first == 0 || until < first)
			first = until;
	}
	return first;
}

/* What renewd does next for a certificate (renewctl(8): NEXT, AT). */
struct next_action {
	const char	*kind;		/* "renew", "retry", "held" */
	time_t		 at;
};

/*
 * Decides, as renewd does, what it does next for cc, renewal due at due
 * (now or earlier if there is no usable live certificate): renew then if
 * that is ahead; else after the backoff sv keeps (retry_at), or after the
 * holds on every CA of the certificate, whichever is later.
 */
static void
status_next(const struct conf *conf, const struct conf_cert *cc,
    const struct sched_state *sv, time_t due, time_t now,
    struct next_action *next)
{
	time_t	held;

	next->kind = "renew";
	next->at = due > now ? due : now;
	if (due > now)
		return;
	held = held_everywhere(conf, cc, sv, now);
	if (sv->retry_at > now) {
		next->kind = "retry";
		next->at = sv->retry_at;
	}
	/* renewd retries a few seconds after the hold it waited for ends */
	if (held != 0 && held + SCHED_HOLD_SPREAD >= next->at)
		next->kind = "held";
	if (held > next->at)
		next->at = held;
}

/* Writes into out the last error sv keeps: "CA: problem" (or its detail). */
static void
status_error(const struct sched_state *sv, char *out, size_t outlen)
{
	const char	*what = sv->err_type != NULL ? sv->err_type :
	    sv->err_detail;
	size_t		 n = sizeof(ACME_ERR_PREFIX) - 1;

	if (what == NULL) {
		snprintf(out, outlen, "-");
		return;
	}
	if (strncmp(what, ACME_ERR_PREFIX, n) == 0)
		what += n;
	snprintf(out, outlen, "%s: %s", sv->err_ca != NULL ? sv->err_ca : "?",
	    what);
}

/*
 * Prints the row of one certificate; returns 1 if it is missing, broken or
 * due. The live version is judged by livecheck.h, as renewd judges it.
 */
static int
status_one(const struct conf *conf, const struct conf_cert *cc,
    struct livecheck_cache *cache, time_t now)
{
	struct livecheck lc = { 0 };
	const struct crypto_cert_info *info = &lc.info;
	struct sched_state sv = { 0 };
	struct next_action next;
	char		 why[1024], na[32], due_s[32], at[32], dv[32], le[1024];
	const char	*state = NULL;
	time_t		 due = now, act;
	int		 rc, failing = 0, whole = 0;

	if (store_sched_load(conf->state_dir, cc->name, &sv, le,
	    sizeof(le)) == -1)
		fprintf(stderr, "renewctl: %s: ignored\n", le);
	switch (livecheck_judge(conf->state_dir, cc->name, NULL, cache, &lc,
	    why, sizeof(why))) {
	case LIVECHECK_ABSENT:
		state = "missing";
		break;
	case LIVECHECK_BROKEN:
		state = "broken";
		break;
	case LIVECHECK_WHOLE:
		whole = 1;
		/* the daemon's own spread, or its kept ARI moment: when it acts */
		due = status_due(cc, &sv, info, now);
		control_delivery(conf->state_dir, cc, info->serial, dv,
		    sizeof(dv), &failing);
		state = info->not_after <= now ? "expired" :
		    !crypto_cert_covers(info, cc->domains.v, cc->domains.n) ?
		    "domains" : due <= now ? "due" : "valid";
		break;
	}
	/* other domains or another key type: renewd orders at once */
	act = whole && strcmp(state, "domains") != 0 &&
	    lc.key_type == (int)cc->key ? due : now;
	status_next(conf, cc, &sv, act, now, &next);
	status_error(&sv, le, sizeof(le));
	log_fmt_time(next.at, at, sizeof(at));
	/* no live version: what is broken, else why the last order failed */
	if (!whole && why[0] != '\0' && (strcmp(state, "broken") == 0 ||
	    strcmp(le, "-") == 0))
		snprintf(le, sizeof(le), "%s", why);
	if (!whole)
		printf(ROW, cc->name, state, "-", "-", next.kind, at, "-", "-", le);
	else
		printf(ROW, cc->name, state, log_fmt_time(info->not_after, na,
		    sizeof(na)), log_fmt_time(due, due_s, sizeof(due_s)),
		    next.kind, at, dv, info->serial, le);
	rc = !whole || due <= now || failing;
	sched_state_clear(&sv);
	livecheck_clear(&lc);
	return rc;
}

/* One line per certificate; returns 1 if any is missing, due or failing delivery. */
static int
status_offline(const struct conf *conf, char *const *names, size_t nnames)
{
	struct livecheck_cache *cache = livecheck_cache_new();
	const struct conf_cert *cc;
	time_t	now = time(NULL);
	size_t	i;
	int	rc = 0;

	printf(ROW, "NAME", "STATE", "NOT AFTER", "RENEWAL DUE", "NEXT", "AT",
	    "DELIVERY", "SERIAL", "LAST ERROR");
	for (i = 0; i < conf->ncerts && nnames == 0; i++)
		rc |= status_one(conf, &conf->certs[i], cache, now);
	for (i = 0; i < nnames; i++) {
		if ((cc = conf_cert_find(conf, names[i])) != NULL)
			rc |= status_one(conf, cc, cache, now);
		else {
			fprintf(stderr, "renewctl: %s: no such certificate in "
			    "%s\n", names[i], conf->path);
			rc = 1;
		}
	}
	livecheck_cache_free(cache);
	return rc;
}


/* Reads and checks the inventory, printing each problem; NULL if invalid. */
static struct conf *
load_conf(const char *path, int quiet)
{
	struct conf_errors	 errs = { 0 };
	struct conf		*conf;
	size_t			 i;

	conf = conf_load(path, &errs);
	for (i = 0; i < errs.n && !quiet; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	conf_errors_clear(&errs);
	return conf;
}

/*
 * The socket: -s, else the inventory's control_socket (if it can be
 * read), else the default that renewd.service's RuntimeDirectory gives.
 */
static char *
socket_path(const struct opts *o)
{
	struct conf	*conf;
	char		*path = NULL;

	if (o->sock != NULL)
		return xstrdup(o->sock);
	if ((conf = load_conf(o->conf, 1)) != NULL &&
	    conf->control_socket != NULL)
		path = xstrdup(conf->control_socket);
	conf_free(conf);
	return path != NULL ? path : xstrdup(DEFAULT_SOCKET);
}

/*
 * The last line's error, if any, on stderr; returns ex, or EX_PROTO if the
 * daemon refused the request itself (too busy, not its protocol).
 */
static int
end_error(json_t *o, int ex)
{
	const char *e = json_string_value(json_object_get(o, "error"));

	if (e != NULL)
		fprintf(stderr, "renewctl: renewd says: %s\n", e);
	return json_is_true(json_object_get(o, "refused")) ? EX_PROTO : ex;
}

/* ---- status through the daemon ---------------------------------------- */

/* Writes json time key of o into buf as the table shows it. */
static const char *
tcol(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

/* LAST ERROR as the offline table shows it: "CA: problem". */
static void
error_col(json_t *o, char *out, size_t outlen)
{
	json_t		*e = json_object_get(o, "last_error");
	const char	*what, *ca;
	size_t		 n = sizeof(ACME_ERR_PREFIX) - 1;

	if (!json_is_object(e)) {
		snprintf(out, outlen, "-");
		return;
	}
	if ((what = json_string_value(json_object_get(e, "type"))) == NULL &&
	    (what = json_string_value(json_object_get(e, "detail"))) == NULL)
		what = "?";
	if (strncmp(what, ACME_ERR_PREFIX, n) == 0)
		what += n;
	ca = json_string_value(json_object_get(e, "ca"));
	snprintf(out, outlen, "%s: %s", ca != NULL ? ca : "?", what);
}

/* The live table's header; cluster mode adds the HOLDER column. */
static void
status_header(int clustered)
{
	if (clustered)
		printf("%-12s ", "HOLDER");
	printf(LROW, "NAME", "STATE", "NOT AFTER", "SERIAL", "NEXT", "AT",
	    "ERR", "CA", "DELIVERY", "DOMAINS", "LAST ERROR");
}

/* Cluster mode's footer: this node and every live node's view. */
static void
status_cluster(json_t *cl)
{
	json_t		*n, *v;
	const char	*key;
	size_t		 i;

	printf("\ncluster: this node %s, session %s\n",
	    json_string_value(json_object_get(cl, "node")),
	    json_is_true(json_object_get(cl, "up")) ? "up" : "DOWN");
	json_array_foreach(json_object_get(cl, "nodes"), i, n) {
		printf("  node %-12s", json_string_value(json_object_get(n,
		    "node")));
		json_object_foreach(json_object_get(n, "view"), key, v)
			printf(" %s %lld", key, (long long)json_integer_value(v));
		printf("\n");
	}
}

/* One certificate's row of the live table. */
static void
status_row(json_t *o)
{
	json_t		*d = json_object_get(o, "domains"), *v;
	char		 doms[256] = "", err[1024], fails[16];
	const char	*state = tcol(o, "state");
	size_t		 i, len = 0;

	json_array_foreach(d, i, v) {
		len += (size_t)snprintf(doms + len, len < sizeof(doms) ?
		    sizeof(doms) - len : 0, "%s%s", i > 0 ? "," : "",
		    json_string_value(v));
		if (len >= sizeof(doms))
			break;
	}
	error_col(o, err, sizeof(err));
	snprintf(fails, sizeof(fails), "%lld", (long long)json_integer_value(
	    json_object_get(o, "failures")));
	if (json_object_get(o, "holder") != NULL)
		printf("%-12s ", tcol(o, "holder"));
	printf(LROW, tcol(o, "name"), state, tcol(o, "not_after"),
	    tcol(o, "serial"), tcol(o, "next_action"), tcol(o, "next"), fails,
	    tcol(o, "ca"), tcol(o, "delivery"), doms[0] != '\0' ? doms : "-",
	    err);
}

struct status_run {
	int	json;
	int	ex;
	int	header;		/* printed (on the first line: its columns) */
};

static int
status_line(void *arg, json_t *o, const char *line)
{
	struct status_run *sr = arg;
	const char	*name = json_string_value(json_object_get(o, "name"));
	const char	*state, *dv;

	if (sr->json)
		printf("%s\n", line);
	if (!sr->json && !sr->header) {
		sr->header = 1;
		status_header(json_object_get(o, "holder") != NULL ||
		    json_object_get(o, "cluster") != NULL);
	}
	if (!sr->json && json_is_true(json_object_get(o, "end")) &&
	    json_is_object(json_object_get(o, "cluster")))
		status_cluster(json_object_get(o, "cluster"));
	if (json_is_true(json_object_get(o, "end")))
		return end_error(o, json_is_true(json_object_get(o, "ok")) ?
		    sr->ex : EX_NOTVALID);
	if (json_object_get(o, "error") != NULL) {
		fprintf(stderr, "renewctl: %s: %s\n", name != NULL ? name : "?",
		    json_string_value(json_object_get(o, "error")));
		sr->ex = EX_NOTVALID;
		return -1;
	}
	state = json_string_value(json_object_get(o, "state"));
	dv = json_string_value(json_object_get(o, "delivery"));
	if (state == NULL || strcmp(state, "valid") != 0 || (dv != NULL &&
	    strcmp(dv, "-") != 0 && strcmp(dv, "delivered") != 0 &&
	    strcmp(dv, "pending") != 0))
		sr->ex = EX_NOTVALID;
	if (!sr->json)
		status_row(o);
	return -1;
}

/* status without a daemon: the offline table of the state directory. */
static int
status_fallback(const struct opts *o)
{
	struct conf	*conf;
	int		 ex;

	fprintf(stderr, "renewctl: renewd is not running: reading the state "
	    "directory instead (what the daemon would do next is computed, "
	    "not asked)\n");
	if (o->json) {
		fprintf(stderr, "renewctl: --json needs the daemon\n");
		return EX_NOTRUNNING;
	}
	if ((conf = load_conf(o->conf, 0)) == NULL)
		return EX_USAGE;
	ex = status_offline(conf, o->names, o->nnames);
	conf_free(conf);
	return ex;
}

static int
cmd_status(const struct opts *o)
{
	struct control_req	 req = { .cmd = CONTROL_STATUS };
	struct status_run	 sr = { o->json, EX_OK, 0 };
	char			*path = socket_path(o);
	int			 fd, ex;

	if ((fd = ctl_connect(path, &ex)) == -1) {
		free(path);
		return ex == EX_NOTRUNNING ? status_fallback(o) : ex;
	}
	req.names = o->names;
	req.nnames = o->nnames;
	ex = converse(fd, &req, status_line, &sr);
	close(fd);
	free(path);
	return ex;
}

/* ---- renew, reload ----------------------------------------------------- */

static int
renew_line(void *arg, json_t *o, const char *line)
{
	const struct opts *op = arg;
	const char	*name = json_string_value(json_object_get(o, "name"));
	const char	*res = json_string_value(json_object_get(o, "result"));

	if (op->json)
		printf("%s\n", line);
	if (json_is_true(json_object_get(o, "end"))) {
		if (!op->json && op->dry_run)
			printf("dry run: %lld would renew, %lld would fail; "
			    "nothing was installed or reloaded\n",
			    (long long)json_integer_value(json_object_get(o,
			    "would_renew")), (long long)json_integer_value(
			    json_object_get(o, "would_fail")));
		if (!op->json && op->nowait)
			printf("%lld renewal(s) started; renewctl status shows "
			    "how they go\n", (long long)json_integer_value(
			    json_object_get(o, "started")));
		return end_error(o, json_is_true(json_object_get(o, "ok")) ?
		    EX_OK : EX_RENEWFAIL);
	}
	if (op->json || name == NULL || res == NULL)
		return -1;
	if (strcmp(res, "would-renew") == 0)
		printf("%s: ok: a renewal would succeed (CA %s, staging %s)\n",
		    name, json_string_value(json_object_get(o, "ca")),
		    json_string_value(json_object_get(o, "staging")));
	else if (strcmp(res, "would-fail") == 0)
		fprintf(stderr, "renewctl: %s: a renewal would fail: %s\n", name,
		    json_string_value(json_object_get(o, "error")));
	else if (strcmp(res, "issued") == 0)
		printf("%s: issued serial %s\n", name, json_string_value(
		    json_object_get(o, "serial")));
	else if (strcmp(res, "valid") == 0)
		printf("%s: valid and not due: nothing to do (--force renews "
		    "anyway)\n", name);
	else
		fprintf(stderr, "renewctl: %s: renewal failed: %s\n", name,
		    json_string_value(json_object_get(o, "error")));
	return -1;
}

/* revoke: its own lines, then renew's for the renewal that follows. */
static int
revoke_line(void *arg, json_t *o, const char *line)
{
	const struct opts *op = arg;
	const char	*name = json_string_value(json_object_get(o, "name"));
	const char	*res = json_string_value(json_object_get(o, "result"));

	if (json_is_true(json_object_get(o, "end")) &&
	    json_object_get(o, "issued") == NULL) {
		/* no renewal started: the revocation itself failed */
		if (op->json)
			printf("%s\n", line);
		return end_error(o, EX_REVOKEFAIL);
	}
	if (res != NULL && strcmp(res, "revoking") == 0) {
		if (op->json)
			printf("%s\n", line);
		else
			printf("%s: revoking serial %s at CA %s\n", name,
			    json_string_value(json_object_get(o, "serial")),
			    json_string_value(json_object_get(o, "ca")));
		return -1;
	}
	if (res != NULL && strcmp(res, "revoked") == 0) {
		if (op->json)
			printf("%s\n", line);
		else
			printf("%s: revoked (%s); renewing now\n", name,
			    json_string_value(json_object_get(o, "reason")));
		return -1;
	}
	return renew_line(arg, o, line);
}

static int
reload_line(void *arg, json_t *o, const char *line)
{
	json_t	*errs = json_object_get(o, "errors"), *v;
	size_t	 i;

	(void)arg;
	(void)line;
	if (!json_is_true(json_object_get(o, "end")))
		return -1;
	if (json_is_true(json_object_get(o, "ok"))) {
		printf("renewd: inventory reloaded\n");
		return EX_OK;
	}
	json_array_foreach(errs, i, v)
		fprintf(stderr, "%s\n", json_string_value(v));
	fprintf(stderr, "renewctl: the inventory was rejected; renewd keeps "
	    "running the previous one\n");
	return end_error(o, EX_REJECTED);
}

/* account: one line, the account as the CA has it now, or the error. */
static int
account_line(void *arg, json_t *o, const char *line)
{
	const struct opts *op = arg;
	const char	*ca = json_string_value(json_object_get(o, "ca"));
	const char	*what = json_string_value(json_object_get(o, "op"));
	json_t		*a = json_object_get(o, "contact"), *v;
	size_t		 i;

	if (!json_is_true(json_object_get(o, "end")))
		return -1;
	if (op->json)
		printf("%s\n", line);
	if (!json_is_true(json_object_get(o, "ok")))
		return end_error(o, EX_ACCOUNTFAIL);
	if (op->json)
		return EX_OK;
	if (what != NULL && strcmp(what, "rollover") == 0)
		printf("CA %s: account key rolled over\n", ca);
	else if (what != NULL && strcmp(what, "update") == 0)
		printf("CA %s: account updated\n", ca);
	else if (what != NULL && strcmp(what, "deactivate") == 0)
		printf("CA %s: account deactivated\n", ca);
	printf("ca:         %s\nurl:        %s\nstatus:     %s\n", ca,
	    tcol(o, "url"), tcol(o, "status"));
	if (json_array_size(a) == 0)
		printf("contact:    -\n");
	json_array_foreach(a, i, v)
		printf("contact:    %s\n", json_string_value(v));
	printf("thumbprint: %s\n", tcol(o, "thumbprint"));
	return EX_OK;
}

/*
 * account's words: an operation and a CA, --contact for update only,
 * --yes-really for deactivate (and needed there). Returns -1 if usable,
 * else the exit status.
 */
static int
account_args(const struct opts *o)
{
	int	op;

	if (o->nnames != 2 || (op = control_account_op(o->names[0])) == -1)
		return EX_USAGE;
	if (o->ncontact > 0 && op != ACME_ACCT_UPDATE)
		return EX_USAGE;
	if (op == ACME_ACCT_DEACTIVATE && !o->yes) {
		fprintf(stderr, "renewctl: account deactivate %s: the CA "
		    "will refuse this account for good; say --yes-really\n",
		    o->names[1]);
		return EX_USAGE;
	}
	if (o->yes && op != ACME_ACCT_DEACTIVATE)
		return EX_USAGE;
	return -1;
}

/* renew, revoke, reload, account: the daemon must be there. */
static int
cmd_daemon(const struct opts *o, enum control_cmd cmd)
{
	struct control_req req = { .cmd = cmd };
	char	*path = socket_path(o);
	int	 fd, ex;

	if ((fd = ctl_connect(path, &ex)) == -1) {
		if (ex == EX_NOTRUNNING)
			fprintf(stderr, "renewctl: renewd is not running (nothing "
			    "listens on %s)\n", path);
		free(path);
		return ex;
	}
	req.names = o->names;
	req.nnames = o->nnames;
	req.all = o->all;
	req.force = o->force;
	req.dry_run = o->dry_run;
	req.wait = !o->nowait;
	req.reason = o->reason;
	req.cert_key = o->cert_key;
	if (cmd == CONTROL_ACCOUNT) {
		req.names = NULL;
		req.nnames = 0;
		req.op = control_account_op(o->names[0]);
		req.ca = o->names[1];
		req.contact = o->contact;
		req.ncontact = o->ncontact;
		req.confirm = o->yes;
	}
	ex = converse(fd, &req, cmd == CONTROL_RENEW ? renew_line :
	    cmd == CONTROL_REVOKE ? revoke_line : cmd == CONTROL_ACCOUNT ?
	    account_line : reload_line, (void *)o);
	close(fd);
	free(path);
	return ex;
}

static int
cmd_check_config(const struct opts *o)
{
	struct conf *conf;

	if ((conf = load_conf(o->conf, 0)) == NULL)
		return EX_USAGE;
	printf("%s: valid: %zu certificates, %zu CAs\n", o->conf, conf->ncerts,
	    conf->ncas);
	conf_free(conf);
	return EX_OK;
}

/*
 * The command's own options and names. Returns -1 to go on, else the
 * exit status.
 */
static int
parse_cmd(struct opts *o, const char *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json",	no_argument, NULL, 'j' },
		{ "all",	no_argument, NULL, 'a' },
		{ "force",	no_argument, NULL, 'f' },
		{ "no-wait",	no_argument, NULL, 'n' },
		{ "config",	required_argument, NULL, 'c' },
		{ "reason",	required_argument, NULL, 'r' },
		{ "with-cert-key", no_argument, NULL, 'k' },
		{ "contact",	required_argument, NULL, 'C' },
		{ "yes-really",	no_argument, NULL, 'y' },
		{ "dry-run",	no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch, renew = strcmp(cmd, "renew") == 0;
	int	revoke = strcmp(cmd, "revoke") == 0;
	int	account = strcmp(cmd, "account") == 0;

	optind = 0;	/* glibc: start afresh, at argv[1] */
	while ((ch = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		if (ch == 'c')
			o->conf = optarg;
		else if (ch == 'j' && strcmp(cmd, "reload") != 0 &&
		    strcmp(cmd, "check-config") != 0)
			o->json = 1;
		else if (revoke && ch == 'r') {
			if ((o->reason = control_revoke_reason(optarg)) == -1) {
				fprintf(stderr, "renewctl: --reason %s: not one "
				    "of unspecified, keyCompromise, "
				    "affiliationChanged, superseded, "
				    "cessationOfOperation\n", optarg);
				return EX_USAGE;
			}
		} else if (account && ch == 'C') {
			if (!control_contact_ok(optarg)) {
				fprintf(stderr, "renewctl: --contact %s: not a URI "
				    "such as mailto:admin@example.com\n", optarg);
				return EX_USAGE;
			}
			o->contact = xreallocarray(o->contact, o->ncontact + 1,
			    sizeof(char *));
			o->contact[o->ncontact++] = optarg;
		} else if (account && ch == 'y')
			o->yes = 1;
		else if (revoke && (ch == 'n' || ch == 'k'))
			*(ch == 'n' ? &o->nowait : &o->cert_key) = 1;
		else if (renew && ch != '?' && ch != 'j' && ch != 'r' &&
		    ch != 'k')
			*(ch == 'a' ? &o->all : ch == 'f' ? &o->force :
			    ch == 'd' ? &o->dry_run : &o->nowait) = 1;
		else
			return EX_USAGE;
	}
	o->names = argv + optind;
	o->nnames = (size_t)(argc - optind);
	if (renew && (o->all == (o->nnames > 0)))
		return EX_USAGE;	/* names or --all, one of them */
	if (renew && o->dry_run && (o->force || o->nowait))
		return EX_USAGE;	/* a dry run is waited for, never forced */
	if (revoke && o->nnames != 1)
		return EX_USAGE;	/* one certificate at a time */
	if (account)
		return account_args(o);
	if (!renew && !revoke && strcmp(cmd, "status") != 0 && o->nnames > 0)
		return EX_USAGE;
	return -1;
}

int
main(int argc, char **argv)
{
	struct opts	 o = { .conf = DEFAULT_CONF };
	const char	*cmd;
	int		 ch, ex;

	/* the global options stop at the command: "+" */
	while ((ch = getopt(argc, argv, "+c:s:h")) != -1) {
		if (ch == 'c')
			o.conf = optarg;
		else if (ch == 's')
			o.sock = optarg;
		else {
			usage(ch == 'h' ? stdout : stderr);
			return ch == 'h' ? EX_OK : EX_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	cmd = argv[optind];
	if (strcmp(cmd, "import-certbot") == 0) {
		log_init(LOG_LVL_WARNING);
		crypto_init();
		return import_certbot_main(argc - optind, argv + optind, o.conf,
		    o.sock);
	}
	if (strcmp(cmd, "init") == 0)
		return renewctl_init(argc - optind, argv + optind, o.conf);
	if ((ex = parse_cmd(&o, cmd, argc - optind, argv + optind)) != -1) {
		usage(stderr);
		free(o.contact);
		return ex;
	}
	log_init(LOG_LVL_WARNING);
	crypto_init();
	/* a daemon that closed on us is an error to report, not a signal */
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(&o);
	if (strcmp(cmd, "renew") == 0)
		return cmd_daemon(&o, CONTROL_RENEW);
	if (strcmp(cmd, "revoke") == 0)
		return cmd_daemon(&o, CONTROL_REVOKE);
	if (strcmp(cmd, "reload") == 0)
		return cmd_daemon(&o, CONTROL_RELOAD);
	if (strcmp(cmd, "account") == 0) {
		ex = cmd_daemon(&o, CONTROL_ACCOUNT);
		free(o.contact);
		return ex;
	}
	if (strcmp(cmd, "check-config") == 0)
		return cmd_check_config(&o);
	usage(stderr);
	return EX_USAGE;
}
