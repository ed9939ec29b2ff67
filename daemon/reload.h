/* reload.h - reload targets shared by certificates: merged, debounced, one run at a time */
#ifndef RENEWD_RELOAD_H
#define RENEWD_RELOAD_H

#include <stddef.h>

struct event_base;
struct conf_cert;
struct conf_reload;
struct reloader;


/*
 * A requester of reloads (deliver.c embeds one per certificate). done is
 * called once per request, on the loop, with ok and what happened
 * ("sent to pid 12", the job result, or why it failed).
 */
struct reload_client {
	const struct conf_cert *cfg;	/* name and domains, for logs and RENEWD_* */
	void		(*done)(struct reload_client *, int ok, const char *msg);
};

/* Returns a reloader on base; state_dir names the live files for hooks. */
struct reloader	*reloader_new(struct event_base *base, const char *state_dir);
/* Kills running hooks, abandons jobs, frees; no callbacks. NULL is a no-op. */
void		 reloader_free(struct reloader *);
/*
 * Asks for a run of entry r for client. Every request for the same target
 * (conf_reload_equal) that arrives before it fires shares one run, which
 * fires delay_s after the last request but no later than max_s after the
 * first; a target never runs twice at once (requests made meanwhile wait
 * for the next run). Hooks get RENEWD_* of the first client and
 * RENEWD_CERT_NAMES of all.
 */
void		 reload_request(struct reloader *, const struct conf_reload *r,
		    struct reload_client *client, long delay_s, long max_s);
/* Withdraws every request of client; its done is not called. */
void		 reload_cancel(struct reloader *, struct reload_client *client);
/* Writes "exec /usr/sbin/nginx -s reload", "signal HUP (/run/x.pid)", "unit x". */
void		 reload_name(const struct conf_reload *r, char *buf, size_t len);

#endif
