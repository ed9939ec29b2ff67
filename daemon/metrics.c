/* metrics.c - the counters other modules bump, as Prometheus text */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "htab.h"
#include "metrics.h"
#include "xmalloc.h"

/*
 * Counters live in one table of series, each its family and its label
 * text (escaped once, when the series is made), found by that text. The
 * labels are bounded (see metrics.h), so the table stays small. The
 * certificates' gauges are not kept here: metrics_http.c reads them from
 * the renewer at each scrape.
 */

enum fam { F_ACME, F_ORDERS, F_RENEWALS, F_DELIVERIES, F_SVC_RELOADS,
	F_INV_RELOADS, NFAMS };

static const struct metrics_family families[NFAMS] = {
	{ "renewd_acme_requests_total", "ACME requests by CA, endpoint and "
	    "HTTP status class (error: no answer)." },
	{ "renewd_orders_total", "ACME orders ended, by CA and result "
	    "(valid, or the failure's class)." },
	{ "renewd_renewals_total", "Renewals ended, by result." },
	{ "renewd_deliveries_total", "Deliveries of an installed certificate "
	    "ended, by result." },
	{ "renewd_service_reloads_total", "Reload steps of deliveries (unit, "
	    "signal, exec), by result." },
	{ "renewd_inventory_reloads_total", "SIGHUP re-reads of the "
	    "inventory, by result." },
};

struct series {
	enum fam	 fam;
	char		*key;		/* the family's digit, then the labels */
	uint64_t	 n;
};

struct metrics {
	struct series		**series;	/* in the order they came */
	size_t			 nseries;
	struct htab		*bykey;
};

/* ------------------------------------------------------------- counters */

void
metrics_escape(struct evbuffer *out, const char *s)
{
	const char	*p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '\\')
			evbuffer_add(out, "\\\\", 2);
		else if (*p == '"')
			evbuffer_add(out, "\\\"", 2);
		else if (*p == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, p, 1);
	}
}

/* Appends name="value" pairs kv[0..nkv) to b, comma-separated. */
static void
labels_add(struct evbuffer *b, const char *const *kv, size_t nkv)
{
	size_t	i;

	for (i = 0; i + 1 < nkv; i += 2) {
		evbuffer_add_printf(b, "%s%s=\"", i > 0 ? "," : "", kv[i]);
		metrics_escape(b, kv[i + 1] != NULL ? kv[i + 1] : "");
		evbuffer_add(b, "\"", 1);
	}
}

/* Returns b's contents as a malloc'd string and empties b. */
static char *
buf_take(struct evbuffer *b)
{
	size_t	 len = evbuffer_get_length(b);
	char	*s = xmalloc(len + 1);

	evbuffer_remove(b, s, len);
	s[len] = '\0';
	return s;
}

/* Returns family f's series with labels kv, made (at 0) if new. */
static struct series *
series_get(struct metrics *m, enum fam f, const char *const *kv, size_t nkv)
{
	struct evbuffer	*b = evbuffer_new();
	struct series	*s;
	char		 digit = (char)('0' + f);
	char		*key;

	evbuffer_add(b, &digit, 1);
	labels_add(b, kv, nkv);
	key = buf_take(b);
	evbuffer_free(b);
	if ((s = htab_get(m->bykey, key)) != NULL)
		free(key);
	else {
		s = xcalloc(1, sizeof(*s));
		s->fam = f;
		s->key = key;
		m->series = xreallocarray(m->series, m->nseries + 1,
		    sizeof(*m->series));
		m->series[m->nseries++] = s;
		htab_put(m->bykey, s->key, s);
	}
	return s;
}

static void
bump(struct metrics *m, enum fam f, const char *const *kv, size_t nkv)
{
	if (m != NULL)
		series_get(m, f, kv, nkv)->n++;
}

void
metrics_acme_request(struct metrics *m, const char *ca, const char *endpoint,
    long status)
{
	static const char *const classes[] = { "error", "1xx", "2xx", "3xx",
	    "4xx", "5xx" };
	const char	*kv[] = { "ca", ca, "endpoint", endpoint,
	    "status_class", classes[status >= 100 && status < 600 ?
	    status / 100 : 0] };

	bump(m, F_ACME, kv, 6);
}

void
metrics_order(struct metrics *m, const char *ca, const char *result)
{
	const char	*kv[] = { "ca", ca, "result", result };

	bump(m, F_ORDERS, kv, 4);
}

/* Families labelled by result alone. */
static void
bump_result(struct metrics *m, enum fam f, const char *result)
{
	const char	*kv[] = { "result", result };

	bump(m, f, kv, 2);
}

void
metrics_renewal(struct metrics *m, const char *result)
{
	bump_result(m, F_RENEWALS, result);
}

void
metrics_delivery(struct metrics *m, const char *result)
{
	bump_result(m, F_DELIVERIES, result);
}

void
metrics_service_reload(struct metrics *m, const char *result)
{
	bump_result(m, F_SVC_RELOADS, result);
}

void
metrics_inventory_reload(struct metrics *m, const char *result)
{
	bump_result(m, F_INV_RELOADS, result);
}

/* The results a family always shows, at 0 before the first: alerts see them. */
static void
seed(struct metrics *m)
{
	static const struct { enum fam f; const char *result; } s[] = {
		{ F_RENEWALS, "success" }, { F_RENEWALS, "failure" },
		{ F_DELIVERIES, "delivered" }, { F_DELIVERIES, "deploy_failed" },
		{ F_DELIVERIES, "reload_failed" }, { F_DELIVERIES, "not_served" },
		{ F_SVC_RELOADS, "ok" }, { F_SVC_RELOADS, "failed" },
		{ F_INV_RELOADS, "applied" }, { F_INV_RELOADS, "rejected" },
	};
	size_t	i;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		const char *kv[] = { "result", s[i].result };

		series_get(m, s[i].f, kv, 2);
	}
}

void
metrics_family_head(struct evbuffer *out, const struct metrics_family *f,
    const char *type)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name,
	    f->help, f->name, type);
}

void
metrics_write_counters(const struct metrics *m, struct evbuffer *out)
{
	size_t	f, i;

	for (f = 0; f < NFAMS; f++) {
		metrics_family_head(out, &families[f], "counter");
		for (i = 0; i < m->nseries; i++)
			if (m->series[i]->fam == (enum fam)f)
				evbuffer_add_printf(out, "%s{%s} %" PRIu64 "\n",
				    families[f].name, m->series[i]->key + 1,
				    m->series[i]->n);
	}
}

/* ------------------------------------------------------------- registry */

struct metrics *
metrics_new(void)
{
	struct metrics	*m = xcalloc(1, sizeof(*m));

	m->bykey = htab_new();
	seed(m);
	return m;
}

void
metrics_free(struct metrics *m)
{
	size_t	i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nseries; i++) {
		free(m->series[i]->key);
		free(m->series[i]);
	}
	free(m->series);
	htab_free(m->bykey);
	free(m);
}
