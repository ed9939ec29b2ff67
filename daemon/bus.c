/* bus.c - systemd unit reloads over sd-bus, asynchronous on the event loop */
#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-bus.h>

#include "bus.h"
#include "log.h"
#include "xmalloc.h"

/*
 * sd-bus runs on the loop the way curl does in http.c: the connection's fd
 * is watched for what sd_bus_get_events() asks, one timer follows
 * sd_bus_get_timeout(), and both end in sd_bus_process() until it has
 * nothing left. Every job's reply and signal arrive there.
 *
 * A job is finished when systemd says so with JobRemoved. The match for it
 * is added when the connection opens, before any call, so even a job that
 * ends at once is not missed; a JobRemoved that arrives before the reply
 * naming its job (systemd does not promise the order) is remembered in a
 * small ring and matched when the reply comes.
 */

#define SD_DEST		"org.freedesktop.systemd1"
#define SD_PATH		"/org/freedesktop/systemd1"
#define SD_MANAGER	"org.freedesktop.systemd1.Manager"
#define EARLY_RING	32

struct bus_job {
	struct bus	*bus;
	char		*unit;
	char		*path;		/* systemd's job object, once it replied */
	sd_bus_slot	*call;
	struct event	*timer;		/* the job's timeout, or a deferred failure */
	char		*fail;		/* failure to report from the timer */
	bus_job_cb	 cb;
	void		*arg;
	TAILQ_ENTRY(bus_job) entry;
};

struct early {
	char		*path;
	char		*result;
};

struct bus {
	struct event_base *base;
	sd_bus		*sd;
	sd_bus_slot	*match;
	struct event	*ev_io;
	struct event	*ev_time;
	struct early	 early[EARLY_RING];
	size_t		 early_next;
	TAILQ_HEAD(, bus_job) jobs;
};

static void	bus_arm(struct bus *);

static void
job_finish(struct bus_job *j, const char *result, const char *error)
{
	struct bus	*b = j->bus;

	TAILQ_REMOVE(&b->jobs, j, entry);
	sd_bus_slot_unref(j->call);
	event_free(j->timer);
	j->cb(j->arg, result, error);
	free(j->unit);
	free(j->path);
	free(j->fail);
	free(j);
}

static void
early_clear(struct bus *b)
{
	size_t	i;

	for (i = 0; i < EARLY_RING; i++) {
		free(b->early[i].path);
		free(b->early[i].result);
		b->early[i].path = b->early[i].result = NULL;
	}
}

static void
job_result(struct bus_job *j, const char *result)
{
	char	msg[256];

	if (strcmp(result, "done") == 0) {
		job_finish(j, result, NULL);
		return;
	}
	snprintf(msg, sizeof(msg), "systemd: reload of %s: job result \"%s\"",
	    j->unit, result);
	job_finish(j, result, msg);
}

/*
 * The connection broke: every job fails on the next loop turn (so a
 * callback that starts a new job reconnects cleanly, outside this one).
 */
static void
bus_drop(struct bus *b, int err)
{
	struct timeval	 now = { 0, 0 };
	struct bus_job	*j;

	if (b->ev_io != NULL)
		event_free(b->ev_io);
	if (b->ev_time != NULL)
		event_free(b->ev_time);
	b->ev_io = b->ev_time = NULL;
	b->match = sd_bus_slot_unref(b->match);
	b->sd = sd_bus_flush_close_unref(b->sd);
	early_clear(b);
	TAILQ_FOREACH(j, &b->jobs, entry) {
		j->call = sd_bus_slot_unref(j->call);
		if (j->fail == NULL)
			j->fail = xasprintf("system bus connection lost: %s",
			    strerror(err));
		evtimer_add(j->timer, &now);
	}
}

static void
bus_process(struct bus *b)
{
	int	r;

	while ((r = sd_bus_process(b->sd, NULL)) > 0)
		;
	if (r < 0)
		bus_drop(b, -r);
	else
		bus_arm(b);
}

static void
io_cb(evutil_socket_t fd, short what, void *v)
{
	(void)fd;
	(void)what;
	bus_process(v);
}

/* Re-arms the fd and the timer for what sd-bus wants next. */
static void
bus_arm(struct bus *b)
{
	struct timespec	 now;
	struct timeval	 tv;
	uint64_t	 until, nowus;
	int		 ev, fd;
	short		 what = 0;

	if (b->sd == NULL || (fd = sd_bus_get_fd(b->sd)) < 0 ||
	    (ev = sd_bus_get_events(b->sd)) < 0) {
		if (b->sd != NULL)
			bus_drop(b, ENOTCONN);
		return;
	}
	what |= (ev & POLLIN) ? EV_READ : 0;
	what |= (ev & POLLOUT) ? EV_WRITE : 0;
	event_del(b->ev_io);
	event_assign(b->ev_io, b->base, fd, what, io_cb, b);
	event_add(b->ev_io, NULL);
	event_del(b->ev_time);
	if (sd_bus_get_timeout(b->sd, &until) >= 0 && until != UINT64_MAX) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		nowus = (uint64_t)now.tv_sec * 1000000 +
		    (uint64_t)now.tv_nsec / 1000;
		until = until > nowus ? until - nowus : 0;
		tv.tv_sec = (time_t)(until / 1000000);
		tv.tv_usec = (suseconds_t)(until % 1000000);
		evtimer_add(b->ev_time, &tv);
	}
}

/* JobRemoved(u id, o job, s unit, s result) */
static int
job_removed_cb(sd_bus_message *m, void *v, sd_bus_error *ret)
{
	struct bus	*b = v;
	struct bus_job	*j;
	struct early	*e;
	const char	*path, *unit, *result;
	uint32_t	 id;

	(void)ret;
	if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
		return 0;
	TAILQ_FOREACH(j, &b->jobs, entry) {
		if (j->path != NULL && strcmp(j->path, path) == 0) {
			job_result(j, result);
			return 0;
		}
	}
	e = &b->early[b->early_next++ % EARLY_RING];
	free(e->path);
	free(e->result);
	e->path = xstrdup(path);
	e->result = xstrdup(result);
	return 0;
}

static int
bus_connect(struct bus *b, char *err, size_t errlen)
{
	const char	*addr = getenv("DBUS_SYSTEM_BUS_ADDRESS");
	int		 r;

	if ((r = sd_bus_open_system(&b->sd)) < 0 ||
	    (r = sd_bus_match_signal_async(b->sd, &b->match, SD_DEST, SD_PATH,
	    SD_MANAGER, "JobRemoved", job_removed_cb, NULL, b)) < 0 ||
	    /* systemd sends most signals only to clients that subscribed */
	    (r = sd_bus_call_method_async(b->sd, NULL, SD_DEST, SD_PATH,
	    SD_MANAGER, "Subscribe", NULL, NULL, "")) < 0) {
		snprintf(err, errlen, "cannot connect to the system bus (%s): "
		    "%s", addr != NULL ? addr :
		    "unix:path=/run/dbus/system_bus_socket", strerror(-r));
		b->match = sd_bus_slot_unref(b->match);
		b->sd = sd_bus_flush_close_unref(b->sd);
		return -1;
	}
	b->ev_io = event_new(b->base, -1, 0, io_cb, b);
	b->ev_time = evtimer_new(b->base, io_cb, b);
	return 0;
}

/* Explains the errors an unprivileged renewd meets, with the fix. */
static const char *
bus_hint(const sd_bus_error *e)
{
	if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED) ||
	    sd_bus_error_has_name(e, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))
		return " (renewd's user may not manage this unit: install the "
		    "polkit rule described in renewd(8))";
	return "";
}

static int
reply_cb(sd_bus_message *m, void *v, sd_bus_error *ret)
{
	struct bus_job		*j = v;
	struct bus		*b = j->bus;
	const sd_bus_error	*e;
	const char		*path;
	char			 msg[512];
	size_t			 i;

	(void)ret;
	j->call = sd_bus_slot_unref(j->call);
	if ((e = sd_bus_message_get_error(m)) != NULL) {
		snprintf(msg, sizeof(msg), "systemd: reload of %s: %s: %s%s",
		    j->unit, e->name, e->message != NULL ? e->message : "",
		    bus_hint(e));
		job_finish(j, NULL, msg);
		return 0;
	}
	if (sd_bus_message_read(m, "o", &path) < 0) {
		snprintf(msg, sizeof(msg), "systemd: reload of %s: reply "
		    "without a job path", j->unit);
		job_finish(j, NULL, msg);
		return 0;
	}
	for (i = 0; i < EARLY_RING; i++) {
		if (b->early[i].path != NULL &&
		    strcmp(b->early[i].path, path) == 0) {
			char	*result = b->early[i].result;

			free(b->early[i].path);
			b->early[i].path = b->early[i].result = NULL;
			job_result(j, result);
			free(result);
			return 0;
		}
	}
	j->path = xstrdup(path);
	return 0;
}

static void
timer_cb(evutil_socket_t fd, short what, void *v)
{
	struct bus_job	*j = v;
	char		 msg[512];

	(void)fd;
	(void)what;
	if (j->fail != NULL)
		snprintf(msg, sizeof(msg), "systemd: reload of %s: %s", j->unit,
		    j->fail);
	else
		snprintf(msg, sizeof(msg), "systemd: reload of %s: no answer "
		    "from systemd in time (job %s)", j->unit,
		    j->path != NULL ? j->path : "not created yet");
	job_finish(j, NULL, msg);
}

struct bus *
bus_new(struct event_base *base)
{
	struct bus	*b = xcalloc(1, sizeof(*b));

	b->base = base;
	TAILQ_INIT(&b->jobs);
	return b;
}

void
bus_free(struct bus *b)
{
	struct bus_job	*j;

	if (b == NULL)
		return;
	while ((j = TAILQ_FIRST(&b->jobs)) != NULL)
		bus_job_cancel(j);
	if (b->ev_io != NULL)
		event_free(b->ev_io);
	if (b->ev_time != NULL)
		event_free(b->ev_time);
	sd_bus_slot_unref(b->match);
	sd_bus_flush_close_unref(b->sd);
	early_clear(b);
	free(b);
}

struct bus_job *
bus_reload_unit(struct bus *b, const char *unit, int restart, long timeout_ms,
    bus_job_cb cb, void *arg)
{
	struct bus_job	*j = xcalloc(1, sizeof(*j));
	struct timeval	 tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	char		 err[256];
	int		 r;

	j->bus = b;
	j->unit = xstrdup(unit);
	j->cb = cb;
	j->arg = arg;
	j->timer = evtimer_new(b->base, timer_cb, j);
	TAILQ_INSERT_TAIL(&b->jobs, j, entry);
	if (b->sd == NULL && bus_connect(b, err, sizeof(err)) == -1) {
		j->fail = xstrdup(err);
		tv.tv_sec = tv.tv_usec = 0;
	} else if ((r = sd_bus_call_method_async(b->sd, &j->call, SD_DEST,
	    SD_PATH, SD_MANAGER, restart ? "ReloadOrRestartUnit" : "ReloadUnit",
	    reply_cb, j, "ss", unit, "replace")) < 0) {
		j->fail = xasprintf("cannot call systemd: %s", strerror(-r));
		tv.tv_sec = tv.tv_usec = 0;
	}
	evtimer_add(j->timer, &tv);
	if (b->sd != NULL)
		bus_arm(b);
	return j;
}

void
bus_job_cancel(struct bus_job *j)
{
	if (j == NULL)
		return;
	TAILQ_REMOVE(&j->bus->jobs, j, entry);
	sd_bus_slot_unref(j->call);
	event_free(j->timer);
	free(j->unit);
	free(j->path);
	free(j->fail);
	free(j);
}
