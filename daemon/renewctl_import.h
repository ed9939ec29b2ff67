/* renewctl_import.h - renewctl import-certbot */
#ifndef RENEWD_RENEWCTL_IMPORT_H
#define RENEWD_RENEWCTL_IMPORT_H

/*
 * Runs "renewctl import-certbot" with its own arguments (argv[0] is the
 * command), conf, the inventory renewctl was given, and sock, its -s (NULL:
 * the inventory's control socket). With renewd running it goes through
 * that socket. Returns the exit status renewctl(8) documents: 0 done, 2
 * bad usage or input, 6 renewd refused our uid, 9 refused (renewd holds
 * the state directory but does not answer, or the import would overwrite
 * something).
 */
int	import_certbot_main(int argc, char **argv, const char *conf,
	    const char *sock);

#endif
