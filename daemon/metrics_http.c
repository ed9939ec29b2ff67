/* metrics_http.c - GET /metrics: the counters and the certificates' gauges */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "renew.h"
#include "validate.h"
#include "xmalloc.h"

/*
 * The certificates' gauges are not kept: each scrape walks the renewer's
 * views (renew.h, the one source status also shows) in slices of
 * SCRAPE_SLICE certificates, one slice per loop turn, so a scrape of
 * 100,000 certificates never holds the loop for long, and replies once
 * the walk is done. Per-certificate series go only to certificates that
 * are failing or expire within the window (certificate_series: failing),
 * or to all; the counts by state and the orders in flight cover every
 * certificate either way.
 */

#define SCRAPE_SLICE	1000		/* certificates per loop turn */
#define HTTP_TIMEOUT_S	10		/* a scraper that sends nothing goes */
#define CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/* Per-certificate gauge families, in the order they are written. */
enum cfam { C_NOT_AFTER, C_NEXT, C_SUCCESS, C_FAILURES, C_STATE, NCFAMS };

static const struct metrics_family cfamilies[NCFAMS] = {
	{ "renewd_certificate_not_after_timestamp_seconds",
	    "The live certificate's notAfter." },
	{ "renewd_certificate_next_action_timestamp_seconds",
	    "When renewd next acts on the certificate, and what it does." },
	{ "renewd_certificate_last_success_timestamp_seconds",
	    "The last renewal installed since start, else the live "
	    "certificate's notBefore." },
	{ "renewd_certificate_consecutive_failures",
	    "Failed renewal attempts in a row." },
	{ "renewd_certificate_state", "The certificate's state (1 for the "
	    "state it is in)." },
};

static const char *const states[] = {
	RENEW_STATE_VALID, RENEW_STATE_DUE, RENEW_STATE_KEYGEN,
	RENEW_STATE_ORDERING, RENEW_STATE_FAILED, RENEW_STATE_HELD,
	RENEW_STATE_MISSING,
};
#define NSTATES		(sizeof(states) / sizeof(states[0]))

struct ca_count {
	char		*ca;
	size_t		 n;
};

/* A scrape on its way through the certificates. */
struct scrape {
	struct metrics_http	*m;
	struct evhttp_request	*req;
	struct event		*ev;		/* the next slice */
	char			*prev;		/* last certificate seen; NULL: none */
	time_t			 now;
	struct evbuffer		*out[NCFAMS];
	size_t			 count[NSTATES];
	struct ca_count		*cas;		/* orders in flight per CA */
	size_t			 ncas;
	struct scrape		*next;
};

struct metrics_http {
	struct event_base	*base;
	const struct metrics	*metrics;
	const struct renewer	*renewer;
	struct evhttp		*http;
	struct evhttp_bound_socket *bound;
	char			*listen;	/* where bound listens; NULL: nowhere */
	int			 series_all;
	long			 expiring_within;
	struct scrape		*scrapes;
};

static void	scrape_slice(evutil_socket_t, short, void *);

/* Empties s's walk so that it starts again from the first certificate. */
static void
scrape_reset(struct scrape *s)
{
	size_t	i;

	free(s->prev);
	s->prev = NULL;
	for (i = 0; i < NCFAMS; i++)
		evbuffer_drain(s->out[i], evbuffer_get_length(s->out[i]));
	memset(s->count, 0, sizeof(s->count));
	for (i = 0; i < s->ncas; i++)
		free(s->cas[i].ca);
	free(s->cas);
	s->cas = NULL;
	s->ncas = 0;
}

static void
scrape_free(struct scrape *s)
{
	struct scrape	**pp;
	size_t		  i;

	for (pp = &s->m->scrapes; *pp != s; pp = &(*pp)->next)
		;
	*pp = s->next;
	scrape_reset(s);
	for (i = 0; i < NCFAMS; i++)
		evbuffer_free(s->out[i]);
	event_free(s->ev);
	free(s);
}

/* Counts an order in flight at ca (n 1) or names ca with none yet (n 0). */
static void
ca_note(struct scrape *s, const char *ca, size_t n)
{
	size_t	i;

	if (ca == NULL)
		return;
	for (i = 0; i < s->ncas; i++)
		if (strcmp(s->cas[i].ca, ca) == 0) {
			s->cas[i].n += n;
			return;
		}
	s->cas = xreallocarray(s->cas, s->ncas + 1, sizeof(*s->cas));
	s->cas[s->ncas].ca = xstrdup(ca);
	s->cas[s->ncas++].n = n;
}

/* Returns 1 if v gets its own series under m's limits. */
static int
shown(const struct metrics_http *m, const struct renew_view *v, time_t now)
{
	if (m->series_all || v->failures > 0)
		return 1;
	if (strcmp(v->state, RENEW_STATE_VALID) != 0 &&
	    strcmp(v->state, RENEW_STATE_DUE) != 0 &&
	    strcmp(v->state, RENEW_STATE_KEYGEN) != 0 &&
	    strcmp(v->state, RENEW_STATE_ORDERING) != 0)
		return 1;	/* failed, held, missing */
	return v->not_after != 0 && v->not_after - now <= m->expiring_within;
}

/* Appends one sample of certificate v to out: name="…"[,key="val"] value. */
static void
cert_sample(struct evbuffer *out, const struct metrics_family *f,
    const struct renew_view *v, const char *key, const char *val,
    long long value)
{
	evbuffer_add_printf(out, "%s{name=\"", f->name);
	metrics_escape(out, v->cfg->name);
	if (key != NULL) {
		evbuffer_add_printf(out, "\",%s=\"", key);
		metrics_escape(out, val);
	}
	evbuffer_add_printf(out, "\"} %lld\n", value);
}

static void
scrape_cert(struct scrape *s, const struct renew_view *v)
{
	time_t	success = v->last_success != 0 ? v->last_success :
		    v->not_before;
	size_t	i;

	for (i = 0; i < NSTATES; i++)
		if (strcmp(v->state, states[i]) == 0)
			s->count[i]++;
	ca_note(s, v->ca, strcmp(v->state, RENEW_STATE_ORDERING) == 0);
	if (!shown(s->m, v, s->now))
		return;
	if (v->not_after != 0)
		cert_sample(s->out[C_NOT_AFTER], &cfamilies[C_NOT_AFTER], v,
		    NULL, NULL, (long long)v->not_after);
	if (v->next != 0)
		cert_sample(s->out[C_NEXT], &cfamilies[C_NEXT], v, "action",
		    v->next_action, (long long)v->next);
	if (success != 0)
		cert_sample(s->out[C_SUCCESS], &cfamilies[C_SUCCESS], v, NULL,
		    NULL, (long long)success);
	cert_sample(s->out[C_FAILURES], &cfamilies[C_FAILURES], v, NULL, NULL,
	    (long long)v->failures);
	cert_sample(s->out[C_STATE], &cfamilies[C_STATE], v, "state",
	    v->state, 1);
}

/* The walk is done: the whole exposition, then the reply. */
static void
scrape_reply(struct scrape *s)
{
	struct evbuffer	*out = evbuffer_new();
	size_t		 i;

	metrics_write_counters(s->m->metrics, out);
	evbuffer_add_printf(out, "# HELP renewd_build_info renewd's version.\n"
	    "# TYPE renewd_build_info gauge\n"
	    "renewd_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	evbuffer_add_printf(out, "# HELP renewd_certificates Certificates of "
	    "the inventory by state.\n# TYPE renewd_certificates gauge\n");
	for (i = 0; i < NSTATES; i++)
		evbuffer_add_printf(out, "renewd_certificates{state=\"%s\"} "
		    "%zu\n", states[i], s->count[i]);
	evbuffer_add_printf(out, "# HELP renewd_orders_in_flight ACME orders "
	    "running, by CA.\n# TYPE renewd_orders_in_flight gauge\n");
	for (i = 0; i < s->ncas; i++) {
		evbuffer_add_printf(out, "renewd_orders_in_flight{ca=\"");
		metrics_escape(out, s->cas[i].ca);
		evbuffer_add_printf(out, "\"} %zu\n", s->cas[i].n);
	}
	for (i = 0; i < NCFAMS; i++) {
		metrics_family_head(out, &cfamilies[i], "gauge");
		evbuffer_add_buffer(out, s->out[i]);
	}
	evhttp_add_header(evhttp_request_get_output_headers(s->req),
	    "Content-Type", CONTENT_TYPE);
	evhttp_send_reply(s->req, HTTP_OK, "OK", out);
	evbuffer_free(out);
	scrape_free(s);
}

/*
 * Runs the next slice on the next loop turn. A timer, not event_active:
 * libevent runs an event activated from its own callback in the same
 * pass, and the walk would hold the loop after all (0.4 s at 100,000).
 */
static void
scrape_next(struct scrape *s)
{
	struct timeval	tv = { 0, 0 };

	evtimer_add(s->ev, &tv);
}

/* One slice of the walk; the next one on the next loop turn. */
static void
scrape_slice(evutil_socket_t fd, short what, void *arg)
{
	struct scrape		*s = arg;
	struct renew_view	 v;
	size_t			 n;
	int			 rc = 0;

	(void)fd;
	(void)what;
	for (n = 0; n < SCRAPE_SLICE && s->m->renewer != NULL; n++) {
		if ((rc = renewer_view_next(s->m->renewer, s->prev, &v)) == 1)
			break;
		if (rc == -1) {		/* a reload dropped it: start over */
			scrape_reset(s);
			continue;
		}
		scrape_cert(s, &v);
		free(s->prev);
		s->prev = xstrdup(v.cfg->name);
	}
	if (n < SCRAPE_SLICE || s->m->renewer == NULL)
		scrape_reply(s);
	else
		scrape_next(s);
}

static void
scrape_start(struct metrics_http *m, struct evhttp_request *req)
{
	struct scrape	*s = xcalloc(1, sizeof(*s));
	size_t		 i;

	s->m = m;
	s->req = req;
	s->now = time(NULL);
	for (i = 0; i < NCFAMS; i++)
		s->out[i] = evbuffer_new();
	s->ev = evtimer_new(m->base, scrape_slice, s);
	s->next = m->scrapes;
	m->scrapes = s;
	scrape_next(s);
}

/* Every request (evhttp's general callback). */
static void
http_cb(struct evhttp_request *req, void *arg)
{
	struct metrics_http	*m = arg;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = uri != NULL ? evhttp_uri_get_path(uri) :
				    NULL;

	if (path == NULL || strcmp(path, "/metrics") != 0)
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
	else if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET");
		evhttp_send_error(req, 405, "Method Not Allowed");
	} else
		scrape_start(m, req);
}

/* ------------------------------------------------------------- listener */

struct metrics_http *
metrics_http_new(struct event_base *base, const struct metrics *metrics,
    const struct renewer *r)
{
	struct metrics_http *m = xcalloc(1, sizeof(*m));

	m->base = base;
	m->metrics = metrics;
	m->renewer = r;
	m->expiring_within = CONF_DEF_METRICS_EXPIRING;
	return m;
}

/* Stops listening; scrapes in progress are answered. */
static void
listener_close(struct metrics_http *m)
{
	if (m->bound != NULL)
		evhttp_del_accept_socket(m->http, m->bound);
	m->bound = NULL;
	free(m->listen);
	m->listen = NULL;
}

/* Returns a listener on addr (logged), or NULL with err saying why. */
static struct evconnlistener *
listener_open(struct metrics_http *m, const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	struct evconnlistener	*l;
	const char		*why;

	if ((why = valid_listen(addr, 0, &ss, &sslen)) != NULL) {
		snprintf(err, errlen, "metrics: listen %s: %s", addr, why);
		return NULL;
	}
	if ((l = evconnlistener_new_bind(m->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    16, (struct sockaddr *)&ss, (int)sslen)) == NULL)
		snprintf(err, errlen, "metrics: cannot listen on %s: %s", addr,
		    strerror(errno));
	return l;
}

int
metrics_http_apply(struct metrics_http *m, const struct conf_metrics *cfg,
    char *err, size_t errlen)
{
	struct evconnlistener	*l;
	struct evhttp_bound_socket *bound;

	m->series_all = cfg->series_all;
	m->expiring_within = cfg->expiring_within;
	if (cfg->listen == NULL) {
		if (m->listen != NULL)
			log_notice("metrics: no longer listening on %s",
			    m->listen);
		listener_close(m);
		return 0;
	}
	if (m->listen != NULL && strcmp(m->listen, cfg->listen) == 0)
		return 0;
	if (m->http == NULL) {
		m->http = evhttp_new(m->base);
		evhttp_set_timeout(m->http, HTTP_TIMEOUT_S);
		evhttp_set_max_headers_size(m->http, 8192);
		evhttp_set_max_body_size(m->http, 4096);	/* a GET has none */
		evhttp_set_gencb(m->http, http_cb, m);
	}
	/* the new address first: if it fails, the old one keeps serving */
	if ((l = listener_open(m, cfg->listen, err, errlen)) == NULL)
		return -1;
	if ((bound = evhttp_bind_listener(m->http, l)) == NULL) {
		evconnlistener_free(l);
		snprintf(err, errlen, "metrics: cannot serve on %s",
		    cfg->listen);
		return -1;
	}
	listener_close(m);
	m->bound = bound;
	m->listen = xstrdup(cfg->listen);
	log_info("metrics: serving http://%s/metrics", m->listen);
	return 0;
}

void
metrics_http_free(struct metrics_http *m)
{
	if (m == NULL)
		return;
	while (m->scrapes != NULL) {
		evhttp_send_error(m->scrapes->req, HTTP_SERVUNAVAIL, NULL);
		scrape_free(m->scrapes);
	}
	listener_close(m);
	if (m->http != NULL)
		evhttp_free(m->http);
	free(m);
}
