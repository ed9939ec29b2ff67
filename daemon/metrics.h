/* metrics.h - the counters other modules bump, as Prometheus text */
#ifndef RENEWD_METRICS_H
#define RENEWD_METRICS_H

#include <stddef.h>

struct evbuffer;
struct metrics;

/* A metric family: its name and its HELP text. */
struct metrics_family {
	const char	*name;
	const char	*help;
};

/*
 * Modules bump counters through the narrow functions below; every one is
 * a no-op on a NULL registry, so a module built without one (the unit
 * tests, renewctl) needs no branch. Label values are bounded by their
 * callers: CA names come from the inventory, endpoints are ACME resource
 * names ("newOrder", "finalize", "authz", ...), results are fixed words.
 */

/* Returns an empty registry (the fixed results at 0). */
struct metrics	*metrics_new(void);
/* Frees; NULL is a no-op. */
void		 metrics_free(struct metrics *);

/* One answer (or none: status 0, a transport error) of CA ca to endpoint. */
void		 metrics_acme_request(struct metrics *, const char *ca,
		    const char *endpoint, long status);
/* An order at CA ca ended: "valid", or the failure's class ("unavailable", ...). */
void		 metrics_order(struct metrics *, const char *ca,
		    const char *result);
/* A renewal ended: "success" or "failure". */
void		 metrics_renewal(struct metrics *, const char *result);
/* A delivery ended: "delivered", "deploy_failed", "reload_failed", "not_served". */
void		 metrics_delivery(struct metrics *, const char *result);
/* A reload step of a delivery (unit, signal, exec) ended: "ok" or "failed". */
void		 metrics_service_reload(struct metrics *, const char *result);
/* A SIGHUP's inventory was "applied" or "rejected". */
void		 metrics_inventory_reload(struct metrics *, const char *result);

/* Appends every counter family, HELP and TYPE lines first, to out. */
void		 metrics_write_counters(const struct metrics *,
		    struct evbuffer *out);
/*
 * Appends s to out as a label value of the text format: backslash,
 * double quote and newline escaped (\\, \", \n).
 */
void		 metrics_escape(struct evbuffer *out, const char *s);
/* Appends f's HELP and TYPE (type: "counter", "gauge") lines to out. */
void		 metrics_family_head(struct evbuffer *out,
		    const struct metrics_family *f, const char *type);

#endif
