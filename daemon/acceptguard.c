/* acceptguard.c - accept() failures on a listener: bounded logs, no spinning */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "acceptguard.h"
#include "log.h"
#include "xmalloc.h"

struct accept_guard {
	char			*what;
	int			 spare;		/* the reserve descriptor */
	struct event		*resume;	/* ends a pause */
	accept_guard_pause_cb	 pause;
	void			*arg;
	struct timespec		 warned;	/* last failure logged */
	unsigned long		 nrefused;	/* since then */
};

void
accept_guard_listeners(struct evconnlistener **lsns, size_t n, int on)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (on)
			evconnlistener_enable(lsns[i]);
		else
			evconnlistener_disable(lsns[i]);
	}
}

int
accept_rebind_plan(char *const *old, size_t nold, char *const *addrs,
    size_t n, long *keep)
{
	size_t	i, j;
	int	same = nold == n;

	for (i = 0; i < n; i++) {
		keep[i] = -1;
		for (j = 0; j < nold; j++) {
			if (old[j] != NULL && strcmp(old[j], addrs[i]) == 0) {
				keep[i] = (long)j;
				break;
			}
		}
		if (keep[i] != (long)i)
			same = 0;
	}
	return same;
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct accept_guard *g = arg;

	g->pause(g->arg, 1);
}

struct accept_guard *
accept_guard_new(struct event_base *base, const char *what,
    accept_guard_pause_cb pause, void *arg)
{
	struct accept_guard *g;

	g = xcalloc(1, sizeof(*g));
	g->what = xstrdup(what);
	g->pause = pause;
	g->arg = arg;
	g->resume = evtimer_new(base, resume_cb, g);
	g->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return g;
}

/* Logs a failure at most once a second, with how many were refused. */
static void
warn(struct accept_guard *g, int err)
{
	struct timespec	now;

	g->nrefused++;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (g->warned.tv_sec != 0 && now.tv_sec - g->warned.tv_sec < 1)
		return;
	log_warn("%s: cannot accept connections: %s; %lu closed or refused "
	    "since the last message", g->what, strerror(err), g->nrefused);
	g->warned = now;
	g->nrefused = 0;
}

void
accept_guard_failed(struct accept_guard *g, int fd, int err)
{
	struct timeval	tv = { 1, 0 };
	int		conn = -1;

	if ((err == EMFILE || err == ENFILE) && g->spare != -1) {
		close(g->spare);
		if ((conn = accept(fd, NULL, NULL)) != -1)
			close(conn);
		g->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	warn(g, err);
	if (conn == -1) {
		g->pause(g->arg, 0);
		evtimer_add(g->resume, &tv);
	}
}

void
accept_guard_free(struct accept_guard *g)
{
	if (g == NULL)
		return;
	event_free(g->resume);
	if (g->spare != -1)
		close(g->spare);
	free(g->what);
	free(g);
}
