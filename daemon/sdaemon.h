/* sdaemon.h - the service manager's side: passed sockets, reloads, the watchdog */
#ifndef RENEWD_SDAEMON_H
#define RENEWD_SDAEMON_H

#include <stddef.h>

struct event_base;
struct sdaemon_watchdog;

/* The FileDescriptorName= of the socket renewd serves http-01 on. */
#define SDAEMON_HTTP01	"http01"

/*
 * Takes the sockets the service manager passed (LISTEN_FDS, named by
 * LISTEN_FDNAMES) and removes those variables, so children do not see
 * them. Those named SDAEMON_HTTP01 must be listening stream sockets; their
 * descriptors go into *fds (*n of them; *fds NULL and *n 0 when none
 * came). Returns 0, or -1 with every other descriptor named in err (they
 * and the http01 ones are closed then).
 */
int		 sdaemon_listen_fds(int **fds, size_t *n, char *err,
		    size_t errlen);
/*
 * Sends WATCHDOG=1 from a timer on base at half of WATCHDOG_USEC, so a
 * loop that stalls misses them. Returns NULL when the manager asked for no
 * watchdog (or not this process).
 */
struct sdaemon_watchdog *sdaemon_watchdog_new(struct event_base *base);
/* Stops the pings and frees; NULL is a no-op. */
void		 sdaemon_watchdog_free(struct sdaemon_watchdog *);
/*
 * Tells the manager a reload began (RELOADING=1 with the CLOCK_MONOTONIC
 * time in MONOTONIC_USEC); READY=1 ends it.
 */
void		 sdaemon_reloading(void);

#endif
