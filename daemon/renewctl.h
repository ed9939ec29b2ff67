/* renewctl.h - renewctl's conversation with renewd, for its other files */
#ifndef RENEWD_RENEWCTL_H
#define RENEWD_RENEWCTL_H

#include <jansson.h>

#include "control_req.h"

/* renewctl(8) EXIT STATUS */
enum {
	EX_OK		= 0,	/* all valid; done */
	EX_NOTVALID	= 1,	/* status: a certificate is not valid */
	EX_USAGE	= 2,	/* bad usage, invalid inventory */
	EX_RENEWFAIL	= 3,	/* renew: a renewal failed */
	EX_REJECTED	= 4,	/* reload: the inventory was refused */
	EX_NOTRUNNING	= 5,	/* no daemon listens on the socket */
	EX_DENIED	= 6,	/* the socket's mode keeps us out */
	EX_PROTO	= 7,	/* the conversation with the daemon broke */
	EX_REVOKEFAIL	= 8,	/* revoke: the revocation failed */
	EX_ACCOUNTFAIL	= 10	/* account: the CA refused, or no answer */
};

/* The socket renewd.service's RuntimeDirectory gives. */
#define DEFAULT_SOCKET	"/run/renewd/control"

/*
 * Connects to the daemon at path. Returns the socket, or -1 with the exit
 * status in *ex: EX_NOTRUNNING (quiet: the caller decides what to say),
 * EX_DENIED (the socket's mode keeps us out), else EX_USAGE or EX_PROTO
 * (said on stderr).
 */
int	ctl_connect(const char *path, int *ex);
/*
 * Sends req and hands each reply line to fn, parsed, until the one with
 * "end"; returns fn's verdict for that line (an exit status), or EX_PROTO. fn
 * returns -1 for every line but the last.
 */
int	converse(int fd, const struct control_req *req,
	    int (*fn)(void *, json_t *, const char *), void *arg);

#endif
