/* bus.h - systemd unit reloads over sd-bus, asynchronous on the event loop */
#ifndef RENEWD_BUS_H
#define RENEWD_BUS_H

struct event_base;
struct bus;
struct bus_job;

/*
 * Called once per job, on the loop. On success error is NULL and result is
 * systemd's job result ("done"); otherwise error says what failed: the
 * call's D-Bus error, a job result other than "done" ("failed", "canceled",
 * "timeout", "dependency", "skipped"), or the timeout.
 */
typedef void (*bus_job_cb)(void *arg, const char *result, const char *error);

/*
 * Returns a client of the system bus (DBUS_SYSTEM_BUS_ADDRESS if set) on
 * base. Nothing is connected until the first job.
 */
struct bus	*bus_new(struct event_base *base);
/* Cancels every job (without callbacks), disconnects, frees; NULL is a no-op. */
void		 bus_free(struct bus *);
/*
 * Asks systemd to reload unit (ReloadOrRestartUnit with restart), mode
 * "replace", and waits for the job's JobRemoved signal (subscribed before
 * the call) or timeout_ms. Returns a handle for bus_job_cancel until cb
 * has run; never NULL: a failure to connect is reported through cb.
 */
struct bus_job	*bus_reload_unit(struct bus *, const char *unit, int restart,
		    long timeout_ms, bus_job_cb cb, void *arg);
/* Abandons a job (systemd's job goes on); cb is not called. */
void		 bus_job_cancel(struct bus_job *);

#endif
