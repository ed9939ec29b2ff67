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
#define ROW		"%-24s %-8s %-20s %-20s %-14s %s\n"

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
 * Prints the row of one certificate; returns 1 if it is missing, broken or
 * due. The live version is judged by livecheck.h, as renewd judges it.
 */
static int
status_one(const struct conf *conf, const struct conf_cert *cc,
    struct livecheck_cache *cache, time_t now)
{
	struct livecheck lc = { 0 };
	const struct crypto_cert_info *info = &lc.info;
	char		 why[1024], na[32], due_s[32], dv[32];
	time_t		 due;
	int		 rc = 1, failing;

	switch (livecheck_judge(conf->state_dir, cc->name, NULL, cache, &lc,
	    why, sizeof(why))) {
	case LIVECHECK_ABSENT:
		printf(ROW, cc->name, "missing", "-", "-", "-",
		    why[0] != '\0' ? why : "-");
		goto out;
	case LIVECHECK_BROKEN:
		printf(ROW, cc->name, "broken", "-", "-", "-", why);
		goto out;
	case LIVECHECK_WHOLE:
		break;
	}
	/* the daemon's own spread for this serial: the moment it acts */
	due = sched_due(info->not_before, info->not_after, cc->renew_before,
	    sched_spread(cc->name, info->serial));
	delivery_state(conf->state_dir, cc, info->serial, dv, sizeof(dv),
	    &failing);
	printf(ROW, cc->name, info->not_after <= now ? "expired" :
	    !crypto_cert_covers(info, cc->domains.v, cc->domains.n) ?
	    "domains" : due <= now ? "due" : "valid",
	    log_fmt_time(info->not_after, na, sizeof(na)),
	    log_fmt_time(due, due_s, sizeof(due_s)), dv, info->serial);
	rc = due <= now || failing;
out:
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

	printf(ROW, "NAME", "STATE", "NOT AFTER", "RENEWAL DUE", "DELIVERY",
	    "SERIAL");
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
