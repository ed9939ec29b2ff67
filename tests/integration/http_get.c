/* http_get.c - fetch URLs through daemon/http.c on a libevent loop (test helper) */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "http.h"
#include "log.h"

struct fetch {
	int	 done;
	int	 failed;
	int	*remaining;
	struct event_base *base;
};

static void
got(const struct http_response *r, void *arg)
{
	struct fetch *f = arg;

	if (r->error != NULL || r->status != 200) {
		fprintf(stderr, "%s: %ld %s\n", r->url, r->status,
		    r->error ? r->error : "");
		f->failed = 1;
	} else {
		fwrite(r->body, 1, r->body_len, stdout);
		putchar('\n');
	}
	if (r->replay_nonce != NULL)
		fprintf(stderr, "replay-nonce: %s\n", r->replay_nonce);
	f->done = 1;
	if (--*f->remaining == 0)
		event_base_loopbreak(f->base);
}

/* usage: http_get [-c ca_bundle] URL... ; all fetched concurrently */
int
main(int argc, char **argv)
{
	struct http_opts	 o = { 0 };
	struct event_base	*base;
	struct http_client	*c;
	struct fetch		*f;
	int			 ch, i, n, remaining, rc = 0;

	while ((ch = getopt(argc, argv, "c:v")) != -1) {
		switch (ch) {
		case 'c':
			o.ca_bundle = optarg;
			break;
		case 'v':
			log_init(LOG_LVL_DEBUG);
			break;
		default:
			return 2;
		}
	}
	n = argc - optind;
	if (n < 1)
		return 2;
	o.timeout_ms = 10000;
	base = event_base_new();
	c = http_client_new(base, "renewd-test/" PACKAGE_VERSION);
	f = calloc((size_t)n, sizeof(*f));
	if (base == NULL || c == NULL || f == NULL)
		return 1;
	remaining = n;
	for (i = 0; i < n; i++) {
		f[i].remaining = &remaining;
		f[i].base = base;
		if (http_request(c, "GET", argv[optind + i], NULL, 0, &o, got,
		    &f[i]) == NULL)
			return 1;
	}
	event_base_dispatch(base);
	for (i = 0; i < n; i++)
		if (!f[i].done || f[i].failed)
			rc = 1;
	http_client_free(c);
	event_base_free(base);
	free(f);
	return rc;
}
