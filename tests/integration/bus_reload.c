/* bus_reload.c - test driver: one or more unit reloads through bus.c */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "bus.h"
#include "log.h"

static struct event_base *base;
static int	 pending, failures;

static void
done(void *arg, const char *result, const char *error)
{
	printf("%s: %s%s%s\n", (const char *)arg, result != NULL ? result : "-",
	    error != NULL ? ": " : "", error != NULL ? error : "");
	fflush(stdout);
	failures += error != NULL;
	/* the bus connection keeps the loop alive: stop when all are done */
	if (--pending == 0)
		event_base_loopbreak(base);
}

/* usage: bus_reload TIMEOUT_MS [+]UNIT...   ("+" asks for ReloadOrRestartUnit) */
int
main(int argc, char **argv)
{
	struct bus	*b;
	long		 timeout;
	int		 i;

	if (argc < 3) {
		fprintf(stderr, "usage: bus_reload TIMEOUT_MS [+]UNIT...\n");
		return 2;
	}
	log_init(LOG_LVL_DEBUG);
	timeout = strtol(argv[1], NULL, 10);
	base = event_base_new();
	b = bus_new(base);
	for (i = 2; i < argc; i++, pending++)
		bus_reload_unit(b, argv[i] + (argv[i][0] == '+'),
		    argv[i][0] == '+', timeout, done, argv[i]);
	event_base_dispatch(base);
	bus_free(b);
	event_base_free(base);
	return pending == 0 && failures == 0 ? 0 : 1;
}
