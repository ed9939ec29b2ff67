/* acceptguard.h - accept() failures on a listener: bounded logs, no spinning */
#ifndef RENEWD_ACCEPTGUARD_H
#define RENEWD_ACCEPTGUARD_H

#include <stddef.h>

struct event_base;
struct evconnlistener;
struct accept_guard;

/* Enables (on) or disables every listener of lsns[0..n-1]. */
void		 accept_guard_listeners(struct evconnlistener **lsns, size_t n,
		    int on);

/*
 * Plans a rebind from the listen addresses old[0..nold-1] to
 * addrs[0..n-1]: keep[i] is the index in old of addrs[i], whose socket
 * stays (a second socket on the same address could not bind while the
 * first listens), or -1 if addrs[i] is new. Returns 1 if the lists are
 * the same in the same order (nothing to do), else 0.
 */
int		 accept_rebind_plan(char *const *old, size_t nold,
		    char *const *addrs, size_t n, long *keep);

/*
 * Stops (on = 0) or resumes (on = 1) accepting on every listener of the
 * owner; the guard calls it to pause for a second when it cannot even
 * accept and close.
 */
typedef void (*accept_guard_pause_cb)(void *arg, int on);

/*
 * Returns a guard for listeners of what ("http-01"), holding one reserve
 * descriptor open.
 */
struct accept_guard *accept_guard_new(struct event_base *, const char *what,
		    accept_guard_pause_cb pause, void *arg);
/*
 * accept() on listening socket fd failed with err. Without this, libevent
 * logs every failure and, the connection staying in the backlog, tries
 * again at once: hundreds of lines a second when the descriptors run out.
 * The standard reserve-descriptor trick: on EMFILE/ENFILE give up the
 * reserve, accept the connection and close it at once (the client sees it
 * closed instead of hanging in the backlog), take the reserve again. If
 * even that fails, pause the listeners for a second rather than spin. Logs
 * at most once a second, with how many connections were refused meanwhile.
 */
void		 accept_guard_failed(struct accept_guard *, int fd, int err);
/* Frees; NULL is a no-op. */
void		 accept_guard_free(struct accept_guard *);

#endif
