/* sdaemon.c - the service manager's side: passed sockets, reloads, the watchdog */
#include "config.h"

#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "sdaemon.h"
#include "xmalloc.h"

struct sdaemon_watchdog {
	struct event	*ping;
};

/* Appends to err why descriptor fd (named name) cannot be used. */
static void
name_unused(char *err, size_t errlen, int fd, const char *name,
    const char *why)
{
	size_t	len = strlen(err);

	if (len + 1 < errlen)
		snprintf(err + len, errlen - len, "%sdescriptor %d named "
		    "\"%s\": %s", len > 0 ? "; " : "socket activation: ", fd,
		    name, why);
}

int
sdaemon_listen_fds(int **fds, size_t *n, char *err, size_t errlen)
{
	char	**names = NULL;
	int	  i, fd, nfds, rc = 0;

	*fds = NULL;
	*n = 0;
	err[0] = '\0';
	if ((nfds = sd_listen_fds_with_names(1, &names)) < 0) {
		snprintf(err, errlen, "socket activation: LISTEN_FDS: %s",
		    strerror(-nfds));
		return -1;
	}
	if (nfds > 0)
		*fds = xcalloc((size_t)nfds, sizeof(**fds));
	for (i = 0; i < nfds; i++) {
		fd = SD_LISTEN_FDS_START + i;
		if (strcmp(names[i], SDAEMON_HTTP01) != 0) {
			name_unused(err, errlen, fd, names[i], "renewd takes "
			    "only FileDescriptorName=" SDAEMON_HTTP01);
			rc = -1;
		} else if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
			name_unused(err, errlen, fd, names[i],
			    "not a listening stream socket");
			rc = -1;
		} else
			(*fds)[(*n)++] = fd;
	}
	if (rc == -1) {
		for (i = 0; i < nfds; i++)
			close(SD_LISTEN_FDS_START + i);
		free(*fds);
		*fds = NULL;
		*n = 0;
	}
	for (i = 0; i < nfds; i++)
		free(names[i]);
	free(names);
	return rc;
}

static void
ping_cb(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

struct sdaemon_watchdog *
sdaemon_watchdog_new(struct event_base *base)
{
	struct sdaemon_watchdog	*w;
	struct timeval		 tv;
	uint64_t		 usec = 0, half;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return NULL;
	half = usec / 2;
	tv.tv_sec = (time_t)(half / 1000000);
	tv.tv_usec = (suseconds_t)(half % 1000000);
	w = xcalloc(1, sizeof(*w));
	w->ping = event_new(base, -1, EV_PERSIST, ping_cb, w);
	event_add(w->ping, &tv);
	sd_notify(0, "WATCHDOG=1");
	log_info("watchdog: WATCHDOG_USEC=%llu, a ping every %llu ms",
	    (unsigned long long)usec, (unsigned long long)(half / 1000));
	return w;
}

void
sdaemon_watchdog_free(struct sdaemon_watchdog *w)
{
	if (w == NULL)
		return;
	event_free(w->ping);
	free(w);
}

void
sdaemon_reloading(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
}
