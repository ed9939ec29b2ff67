/* renewctl_import.h - renewctl import-certbot */
#ifndef RENEWD_RENEWCTL_IMPORT_H
#define RENEWD_RENEWCTL_IMPORT_H

/*
 * Runs "renewctl import-certbot" with its own arguments (argv[0] is the
 * command) and conf, the inventory renewctl was given. Returns the exit
 * status renewctl(8) documents: 0 done, 2 bad usage or input, 9 refused
 * (renewd is running, or the import would overwrite something).
 */
int	import_certbot_main(int argc, char **argv, const char *conf);

#endif
