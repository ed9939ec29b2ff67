/* control.h - the control socket: status, renew and reload on the event loop */
#ifndef RENEWD_CONTROL_H
#define RENEWD_CONTROL_H

#include <stddef.h>

#include "dryrun.h"

struct event_base;
struct renewer;
struct control;

/* Refused: the messages (each "file:line:col: ..."); ok: none. */
typedef void (*control_reload_done)(void *arg, int ok, char *const *msgs,
		    size_t n);

/*
 * What the control socket acts through, borrowed: they outlive it.
 * reload starts what SIGHUP starts and calls done once, on the loop,
 * when the inventory was applied or refused; control_free does not wait
 * for it, so the caller forgets pending calls when it frees the socket.
 */
struct control_env {
	struct event_base	*base;
	struct renewer		*renewer;
	const char		*state_dir;	/* live serials are read there */
	void			(*reload)(void *arg, control_reload_done done,
				    void *done_arg);
	void			*reload_arg;	/* reload's and dry_run's */
	struct cluster		*cluster;	/* cluster mode: status lists the
						   nodes; NULL: one node */
	/* renew --dry-run of names (every one: nnames 0); dryrun_start's */
	struct dryrun		*(*dry_run)(void *arg, char *const *names,
				    size_t nnames, dryrun_result_cb res,
				    dryrun_done_cb done, void *done_arg,
				    char *err, size_t errlen);
};

/* At most this many clients at once; more get an error line and are closed. */
#define CONTROL_MAX_CONNS	32
/* Seconds a client has to send its request, and to take each part of the reply. */
#define CONTROL_READ_SEC	5
#define CONTROL_WRITE_SEC	30

/*
 * Listens on the unix socket path (a socket left there by a process that
 * is gone is replaced; one somebody listens on is not), mode 0660.
 * Returns it, or NULL with why in err.
 */
struct control	*control_open(const struct control_env *, const char *path,
		    char *err, size_t errlen);
/*
 * Moves the listener to path (clients being served stay): the new socket
 * first, then the old one goes. Returns 0, or -1 with why in err (the old
 * one still listens).
 */
int		 control_rebind(struct control *, const char *path, char *err,
		    size_t errlen);
/* Returns the path it listens on. */
const char	*control_path(const struct control *);
/* Closes every client and the listener, removes the socket; NULL is a no-op. */
void		 control_free(struct control *);

#endif
