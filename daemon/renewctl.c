/* renewctl.c - inspect renewd's certificates (offline: reads the state directory) */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "conf.h"
#include "crypto.h"
#include "fsutil.h"
#include "livecheck.h"
#include "log.h"
#include "sched.h"
#include "store.h"
#include "xmalloc.h"

#define DEFAULT_CONF	SYSCONFDIR "/renewd/renewd.yaml"
#define ROW		"%-24s %-8s %-20s %-20s %-6s %-20s %-14s %-20s %s\n"
#define ACME_ERR_PREFIX	"urn:ietf:params:acme:error:"

static void
usage(FILE *f)
{
	fprintf(f, "usage: renewctl [-c file] status\n");
}

/*
 * The delivery column: "-" (nothing to deliver), "delivered", "pending"
 * (not yet, or not for the live serial), "deploy-failed", "reload-failed",
 * "not-served". *failing is set for the last three.
 */
static void
delivery_state(const char *state_dir, const struct conf_cert *cc,
    const char *serial, char *out, size_t outlen, int *failing)
{
	char	*p;

	*failing = 0;
	if (cc->ndeploy == 0 && cc->nreload == 0 && cc->verify.addrs.n == 0) {
		snprintf(out, outlen, "-");
		return;
	}
	if (store_delivery_state(state_dir, cc->name, serial, out, outlen) == -1) {
		snprintf(out, outlen, "pending");
		return;
	}
	*failing = strcmp(out, "delivered") != 0 && strcmp(out, "pending") != 0;
	for (p = out; *p != '\0'; p++)
		if (*p == ' ')
			*p = '-';
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
		delivery_state(conf->state_dir, cc, info->serial, dv,
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
status(const struct conf *conf)
{
	struct livecheck_cache *cache = livecheck_cache_new();
	time_t	now = time(NULL);
	size_t	i;
	int	rc = 0;

	printf(ROW, "NAME", "STATE", "NOT AFTER", "RENEWAL DUE", "NEXT", "AT",
	    "DELIVERY", "SERIAL", "LAST ERROR");
	for (i = 0; i < conf->ncerts; i++)
		rc |= status_one(conf, &conf->certs[i], cache, now);
	livecheck_cache_free(cache);
	return rc;
}

int
main(int argc, char **argv)
{
	struct conf_errors	 errs = { 0 };
	struct conf		*conf;
	const char		*path = DEFAULT_CONF;
	size_t			 i;
	int			 ch, rc;

	while ((ch = getopt(argc, argv, "c:h")) != -1) {
		if (ch != 'c') {
			/* -h asked for it; anything else is a mistake */
			usage(ch == 'h' ? stdout : stderr);
			return ch == 'h' ? 0 : 2;
		}
		path = optarg;
	}
	if (argc - optind != 1 || strcmp(argv[optind], "status") != 0) {
		usage(stderr);
		return 2;
	}
	log_init(LOG_LVL_WARNING);
	crypto_init();
	if ((conf = conf_load(path, &errs)) == NULL) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		conf_errors_clear(&errs);
		return 2;
	}
	rc = status(conf);
	conf_free(conf);
	return rc;
}
