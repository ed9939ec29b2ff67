/* metrics_http.h - GET /metrics: the counters and the certificates' gauges */
#ifndef RENEWD_METRICS_HTTP_H
#define RENEWD_METRICS_HTTP_H

#include <stddef.h>

struct event_base;
struct metrics;
struct renewer;
struct conf_metrics;
struct metrics_http;

/*
 * Returns a server, listening nowhere yet, that answers scrapes on base
 * with m's counters and the gauges of r's certificates (both borrowed:
 * they must outlive it; free it first).
 */
struct metrics_http *metrics_http_new(struct event_base *base,
		    const struct metrics *m, const struct renewer *r);
/*
 * Takes cfg's settings: serves GET /metrics on cfg->listen (NULL: no
 * listener), moving the listener when the address changed. Returns 0, or
 * -1 with err naming the address when it cannot listen there; the running
 * listener then stays where it was.
 */
int		 metrics_http_apply(struct metrics_http *,
		    const struct conf_metrics *cfg, char *err, size_t errlen);
/* Answers scrapes in progress with 503, closes the listener, frees; NULL is a no-op. */
void		 metrics_http_free(struct metrics_http *);

#endif
