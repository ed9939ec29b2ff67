/* renewctl.c - inspect renewd's certificates (offline: reads the state directory) */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "crypto.h"
#include "log.h"
#include "sched.h"
#include "store.h"

#define DEFAULT_CONF	SYSCONFDIR "/renewd/renewd.yaml"

static void
usage(FILE *f)
{
	fprintf(f, "usage: renewctl [-c file] status\n");
}

static void
fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One line per certificate of the inventory; returns 1 if any is missing or due. */
static int
status(const struct conf *conf)
{
	struct crypto_cert_info info;
	char		 err[256], na[32], due_s[32];
	char		*pem, *live, *path;
	size_t		 i, len;
	time_t		 now = time(NULL), due;
	int		 rc = 0;

	printf("%-24s %-8s %-20s %-20s %s\n", "NAME", "STATE", "NOT AFTER",
	    "RENEWAL DUE", "SERIAL");
	for (i = 0; i < conf->ncerts; i++) {
		const struct conf_cert *cc = &conf->certs[i];

		memset(&info, 0, sizeof(info));
		path = NULL;
		if ((live = store_cert_live_path(conf->state_dir, cc->name)) != NULL &&
		    asprintf(&path, "%s/cert.pem", live) == -1)
			path = NULL;
		free(live);
		pem = path != NULL ? store_read_file(path, &len) : NULL;
		free(path);
		if (pem == NULL) {
			printf("%-24s %-8s %-20s %-20s %s\n", cc->name, "missing",
			    "-", "-", errno == ENOENT ? "-" : strerror(errno));
			rc = 1;
			continue;
		}
		if (crypto_cert_parse(pem, len, &info, err, sizeof(err)) == -1) {
			printf("%-24s %-8s %-20s %-20s %s\n", cc->name, "broken",
			    "-", "-", err);
			free(pem);
			rc = 1;
			continue;
		}
		due = sched_due(info.not_before, info.not_after,
		    cc->renew_before, 0);
		fmt_time(info.not_after, na, sizeof(na));
		fmt_time(due, due_s, sizeof(due_s));
		printf("%-24s %-8s %-20s %-20s %s\n", cc->name,
		    info.not_after <= now ? "expired" :
		    !crypto_cert_covers(&info, cc->domains.v, cc->domains.n) ?
		    "domains" : due <= now ? "due" : "valid", na, due_s,
		    info.serial);
		if (due <= now)
			rc = 1;
		crypto_cert_info_clear(&info);
		free(pem);
	}
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
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1 || strcmp(argv[optind], "status") != 0) {
		usage(stderr);
		return 2;
	}
	log_init(LOG_LVL_WARNING);
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
