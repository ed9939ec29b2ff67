/* loopstat.h - measures how long the event loop is held between polls */
#ifndef RENEWD_LOOPSTAT_H
#define RENEWD_LOOPSTAT_H

struct event_base;
struct loopstat;

/* Returns a meter that starts measuring base's loop now. */
struct loopstat	*loopstat_new(struct event_base *);
/*
 * Measures finely (every 10 ms) for the next secs seconds: work is coming.
 * NULL: no-op.
 */
void		 loopstat_watch(struct loopstat *, int secs);
/*
 * Starts measuring from now, forgetting the wait so far and any stall
 * counted before: the loop was not running.
 */
void		 loopstat_restart(struct loopstat *);
/* Returns the longest time, in ms, a callback held the loop so far; 0 for NULL. */
long long	 loopstat_max_ms(const struct loopstat *);
/* Stops measuring and frees; NULL is a no-op. */
void		 loopstat_free(struct loopstat *);

#endif
