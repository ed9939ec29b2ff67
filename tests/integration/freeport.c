/* freeport.c - print N distinct free TCP ports on 127.0.0.1 (test helper) */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/*
 * All N sockets stay bound until every port is known, so the ports are
 * distinct; the kernel then avoids reusing them for a while. Another
 * process could still take one before the test binds it: tests retry.
 */
int
main(int argc, char **argv)
{
	int	 n = argc > 1 ? atoi(argv[1]) : 1;
	int	*fds;
	int	 i, rc = 1;

	if (n < 1 || n > 64)
		return 2;
	if ((fds = calloc((size_t)n, sizeof(*fds))) == NULL)
		return 1;
	for (i = 0; i < n; i++)
		fds[i] = -1;
	for (i = 0; i < n; i++) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		socklen_t	len = sizeof(sin);

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((fds[i] = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
		    bind(fds[i], (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
		    getsockname(fds[i], (struct sockaddr *)&sin, &len) == -1) {
			perror("freeport");
			goto out;
		}
		printf("%s%u", i ? " " : "", ntohs(sin.sin_port));
	}
	printf("\n");
	rc = 0;
out:
	for (i = 0; i < n; i++)
		if (fds[i] != -1)
			close(fds[i]);
	free(fds);
	return rc;
}
