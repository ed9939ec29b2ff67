/* renewctl_init.h - renewctl init: a first inventory, asked for or from flags */
#ifndef RENEWD_RENEWCTL_INIT_H
#define RENEWD_RENEWCTL_INIT_H

/*
 * Runs "renewctl init" with its own argv (argv[0] is "init"); path is
 * where the inventory goes unless --output says otherwise. Returns the
 * exit status: 0 written and valid, 2 bad usage or answers, an existing
 * file without --force, or an inventory the checker refused; with the
 * dry run taken up, renewd's status.
 */
int		 renewctl_init(int argc, char **argv, const char *path);

#endif
