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

/* Returns the malloc'd live cert.pem of name, or NULL with errno set. */
static char *
read_live_cert(const char *state_dir, const char *name, size_t *len)
{
	char	*live, *path, *pem;
	int	 saved;

	if ((live = store_cert_live_path(state_dir, name)) == NULL) {
		errno = EINVAL;
		return NULL;
	}
	path = xasprintf("%s/cert.pem", live);
	pem = fsutil_read_file(path, STORE_FILE_MAX, 0, len);
	saved = errno;
	free(path);
	free(live);
	errno = saved;
	return pem;
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

/* Prints the row of one certificate; returns 1 if it is missing or due. */
static int
status_one(const struct conf *conf, const struct conf_cert *cc, time_t now)
{
	struct crypto_cert_info info = { 0 };
	struct crypto_cert *parsed;
	char		 err[256], na[32], due_s[32], dv[32];
	char		*pem;
	size_t		 len;
	time_t		 due;
	int		 rc = 1, failing;

	if ((pem = read_live_cert(conf->state_dir, cc->name, &len)) == NULL) {
		printf(ROW, cc->name, "missing", "-", "-", "-",
		    errno == ENOENT ? "-" : strerror(errno));
		return 1;
	}
	parsed = crypto_cert_from_pem(pem, len, err, sizeof(err));
	if (parsed == NULL ||
	    crypto_cert_get_info(parsed, &info, err, sizeof(err)) == -1) {
		printf(ROW, cc->name, "broken", "-", "-", "-", err);
		goto out;
	}
	/* the daemon's own spread for this serial: the moment it acts */
	due = sched_due(info.not_before, info.not_after, cc->renew_before,
	    sched_spread(cc->name, info.serial));
	delivery_state(conf->state_dir, cc, info.serial, dv, sizeof(dv),
	    &failing);
	printf(ROW, cc->name, info.not_after <= now ? "expired" :
	    !crypto_cert_covers(&info, cc->domains.v, cc->domains.n) ?
	    "domains" : due <= now ? "due" : "valid",
	    log_fmt_time(info.not_after, na, sizeof(na)),
	    log_fmt_time(due, due_s, sizeof(due_s)), dv, info.serial);
	rc = due <= now || failing;
out:
	crypto_cert_info_clear(&info);
	crypto_cert_free(parsed);
	free(pem);
	return rc;
}

/* One line per certificate; returns 1 if any is missing, due or failing delivery. */
static int
status(const struct conf *conf)
{
	time_t	now = time(NULL);
	size_t	i;
	int	rc = 0;

	printf(ROW, "NAME", "STATE", "NOT AFTER", "RENEWAL DUE", "DELIVERY",
	    "SERIAL");
	for (i = 0; i < conf->ncerts; i++)
		rc |= status_one(conf, &conf->certs[i], now);
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
