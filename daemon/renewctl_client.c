/*
 * renewctl_client.c - renewctl's side of the control socket: connect,
 * send one request, read the reply's JSON lines (renewctl.h)
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "control_req.h"
#include "fsutil.h"
#include "renewctl.h"
#include "xmalloc.h"

/* One reply line is far below this; more is a broken daemon. */
#define LINE_MAX_BYTES	(1024 * 1024)

int
ctl_connect(const char *path, int *ex)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >=
	    (int)sizeof(sun.sun_path)) {
		fprintf(stderr, "renewctl: %s: socket path too long\n", path);
		*ex = EX_USAGE;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "renewctl: socket: %s\n", strerror(errno));
		*ex = EX_PROTO;
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	if (errno == ENOENT || errno == ECONNREFUSED)
		*ex = EX_NOTRUNNING;
	else if (errno == EACCES || errno == EPERM) {
		fprintf(stderr, "renewctl: %s: permission denied: the control "
		    "socket admits renewd's user and group only (renewd(8) "
		    "CONTROL SOCKET)\n", path);
		*ex = EX_DENIED;
	} else {
		fprintf(stderr, "renewctl: %s: connect: %s\n", path,
		    strerror(errno));
		*ex = EX_PROTO;
	}
	close(fd);
	return -1;
}

/* A reply being read, line by line. */
struct reader {
	int	 fd;
	char	*buf;
	size_t	 len, cap, off;	/* off: where the next line starts */
};

/*
 * Returns the next line (NUL-terminated, in r's buffer, until the next
 * call), or NULL at EOF or on an error (said on stderr).
 */
static char *
read_line(struct reader *r)
{
	char	*nl, *line;
	ssize_t	 n;

	for (;;) {
		if ((nl = memchr(r->buf + r->off, '\n', r->len - r->off)) !=
		    NULL) {
			*nl = '\0';
			line = r->buf + r->off;
			r->off = (size_t)(nl - r->buf) + 1;
			return line;
		}
		/* keep the partial line, at the start of the buffer */
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
		if (r->len == r->cap) {
			if (r->cap >= LINE_MAX_BYTES) {
				fprintf(stderr, "renewctl: a reply line longer "
				    "than %d bytes\n", LINE_MAX_BYTES);
				return NULL;
			}
			r->cap *= 2;
			r->buf = xreallocarray(r->buf, r->cap, 1);
		}
		if ((n = read(r->fd, r->buf + r->len, r->cap - r->len)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1)
				fprintf(stderr, "renewctl: reading the reply: "
				    "%s\n", strerror(errno));
			return NULL;
		}
		r->len += (size_t)n;
	}
}

int
converse(int fd, const struct control_req *req,
    int (*fn)(void *, json_t *, const char *), void *arg)
{
	struct reader	 r = { .fd = fd, .cap = 65536 };
	json_error_t	 je;
	json_t		*o;
	char		*line, *text = control_req_format(req);
	int		 ex = -1, send_err = 0;

	r.buf = xmalloc(r.cap);
	/* a daemon that turned us away has said why: read it even then */
	if (fsutil_write_all(fd, text, strlen(text)) == -1)
		send_err = errno;
	while (ex == -1 && (line = read_line(&r)) != NULL) {
		if ((o = json_loads(line, 0, &je)) == NULL ||
		    !json_is_object(o)) {
			fprintf(stderr, "renewctl: a reply line that is no JSON "
			    "object: %.200s\n", line);
			ex = EX_PROTO;
		} else
			ex = fn(arg, o, line);
		json_decref(o);
	}
	if (ex == -1 && send_err != 0)
		fprintf(stderr, "renewctl: sending the request: %s\n",
		    strerror(send_err));
	else if (ex == -1)
		fprintf(stderr, "renewctl: the daemon closed the connection "
		    "before the end of its reply\n");
	if (ex == -1)
		ex = EX_PROTO;
	free(r.buf);
	xfree_secret_str(text);	/* an import's key */
	return ex;
}
