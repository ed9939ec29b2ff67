/* verify_tls.c - test driver: one handshake through verify.c */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "verify.h"

static struct event_base *base;
static char	expect[VERIFY_FP_LEN];
static int	rc = 1;

static void
done(void *arg, const char *fp, const char *serial, const char *error)
{
	(void)arg;
	/* the resolver keeps the loop alive: stop it here */
	event_base_loopbreak(base);
	if (error != NULL) {
		printf("error: %s\n", error);
		rc = 2;
		return;
	}
	printf("fp %s serial %s\n", fp, serial);
	rc = expect[0] == '\0' || strcmp(fp, expect) == 0 ? 0 : 1;
}

/* usage: verify_tls ADDR SERVERNAME|- TIMEOUT_MS [EXPECTED_CERT.pem] */
int
main(int argc, char **argv)
{
	struct verifier	*v;
	char		 buf[65536];
	size_t		 n;
	FILE		*f;

	if (argc < 4) {
		fprintf(stderr, "usage: verify_tls ADDR SERVERNAME|- TIMEOUT_MS [CERT]\n");
		return 3;
	}
	log_init(LOG_LVL_DEBUG);
	if (argc > 4) {
		if ((f = fopen(argv[4], "r")) == NULL)
			return 3;
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		if (verify_fingerprint_pem(buf, n, expect) == -1) {
			printf("no certificate in %s\n", argv[4]);
			return 3;
		}
	}
	base = event_base_new();
	v = verifier_new(base);
	verify_start(v, argv[1], strcmp(argv[2], "-") == 0 ? NULL : argv[2],
	    strtol(argv[3], NULL, 10), done, NULL);
	event_base_dispatch(base);
	verifier_free(v);
	event_base_free(base);
	return rc;
}
