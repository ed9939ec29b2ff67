/* acme_ari.c - renewal information (RFC 9773): the per-CA GET queue */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "acme_int.h"
#include "log.h"
#include "metrics.h"
#include "validate.h"
#include "xmalloc.h"

/*
 * A fetch waits on ca->ari_queue until the directory is known and fewer
 * than ARI_MAX_ACTIVE are in flight (100,000 certificates checked at start
 * must not become 100,000 GETs at once), then on ca->ari_active until its
 * answer. Every callback runs from the loop: from ari_kick, the directory's
 * answer or the GET's.
 */

#define EXPL_MAX	1024	/* explanationURL longer than this is cut in logs */

static void
ari_free(struct acme_ari_fetch *f)
{
	free(f->cert_name);
	free(f->cert_id);
	free(f->url);
	free(f);
}

/* Takes f off its list. */
static void
ari_unlink(struct acme_ari_fetch *f)
{
	struct acme_ca *ca = f->ca;

	if (f->req != NULL) {
		TAILQ_REMOVE(&ca->ari_active, f, entry);
		ca->ari_nactive--;
	} else
		TAILQ_REMOVE(&ca->ari_queue, f, entry);
}

/* Ends f with res: off its list, freed, its callback run. */
static void
ari_finish(struct acme_ari_fetch *f, enum acme_ari_result res,
    const struct acme_ari *ari, const char *error)
{
	acme_ari_cb	 cb = f->cb;
	void		*arg = f->arg;

	ari_unlink(f);
	f->req = NULL;
	if (error != NULL)
		log_msg(LOG_LVL_DEBUG, f->cert_name, "renewal info: %s", error);
	ari_free(f);
	cb(arg, res, ari, error);
}

/* Reads member key of window as an RFC 3339 time near now. */
static char *
window_time(json_t *window, const char *key, const char *url, time_t now,
    time_t *out)
{
	const char	*s = json_string_value(json_object_get(window, key));
	char		 q[80];

	if (s == NULL)
		return xasprintf("acme: %s: renewalInfo: suggestedWindow lacks "
		    "a \"%s\" string", url, key);
	if (valid_rfc3339(s, out) == -1)
		return xasprintf("acme: %s: renewalInfo: suggestedWindow %s %s "
		    "is no RFC 3339 time", url, key,
		    valid_quote(s, strlen(s), q, sizeof(q)));
	if (*out < now - ACME_ARI_HORIZON || *out > now + ACME_ARI_HORIZON)
		return xasprintf("acme: %s: renewalInfo: suggestedWindow %s %s "
		    "is more than ten years away", url, key,
		    valid_quote(s, strlen(s), q, sizeof(q)));
	return NULL;
}

char *
acme_ari_parse(const struct acme_reply *r, const char *url, time_t now,
    struct acme_ari *ari, char *expl, size_t explsz)
{
	json_t	*window = json_object_get(r->json, "suggestedWindow"), *e;
	char	*err;

	memset(ari, 0, sizeof(*ari));
	if (!json_is_object(window))
		return xasprintf("acme: %s: renewalInfo lacks a "
		    "\"suggestedWindow\" object", url);
	if ((err = window_time(window, "start", url, now, &ari->start)) != NULL ||
	    (err = window_time(window, "end", url, now, &ari->end)) != NULL)
		return err;
	if (ari->end <= ari->start)
		return xasprintf("acme: %s: renewalInfo: suggestedWindow ends "
		    "(%lld) no later than it starts (%lld)", url,
		    (long long)ari->end, (long long)ari->start);
	ari->retry_after = r->resp != NULL ?
	    acme_retry_after(r->resp->retry_after) : -1;
	/* shown to the operator, never requested: any text, quoted */
	if ((e = json_object_get(r->json, "explanationURL")) != NULL) {
		if (!json_is_string(e))
			return xasprintf("acme: %s: renewalInfo: explanationURL "
			    "is no string", url);
		ari->explanation = valid_quote(json_string_value(e),
		    strnlen(json_string_value(e), EXPL_MAX), expl, explsz);
	}
	return NULL;
}

/* http_cb of a renewalInfo GET. */
static void
ari_done(const struct http_response *resp, void *arg)
{
	struct acme_ari_fetch	*f = arg;
	struct acme_reply	 r;
	struct acme_ari		 ari;
	char			*err = NULL, expl[EXPL_MAX + 16];

	log_msg(LOG_LVL_DEBUG, f->cert_name, "GET %s -> %ld", resp->url,
	    resp->status);
	metrics_acme_request(f->ca->env.metrics, f->ca->name, "renewalInfo",
	    resp->error != NULL ? 0 : resp->status);
	acme_reply_read(&r, resp, f->url, 1);
	if (r.err != NULL)
		err = xstrdup(r.err);
	else if ((err = acme_reply_urls_refused(f->ca, resp)) == NULL)
		err = acme_ari_parse(&r, f->url, time(NULL), &ari, expl,
		    sizeof(expl));
	acme_reply_clear(&r);
	/* the pump may start the next one; f is off the list first */
	event_active(f->ca->ari_kick, EV_TIMEOUT, 0);
	if (err != NULL)
		ari_finish(f, ACME_ARI_ERROR, NULL, err);
	else
		ari_finish(f, ACME_ARI_OK, &ari, NULL);
	free(err);
}

/* Starts f's GET; it is at the head of the queue. */
static void
ari_start(struct acme_ari_fetch *f)
{
	struct acme_ca	*ca = f->ca;
	char		*err;

	f->url = xasprintf("%s%s%s", ca->renewal_info,
	    ca->renewal_info[strlen(ca->renewal_info) - 1] == '/' ? "" : "/",
	    f->cert_id);
	if ((err = acme_url_refused(ca, "renewalInfo", f->url)) == NULL &&
	    (f->req = http_request(ca->env.http, "GET", f->url, NULL, 0,
	    &ca->ari_opts, ari_done, f)) == NULL)
		err = xasprintf("acme: %s: cannot start request", f->url);
	if (err != NULL) {
		ari_finish(f, ACME_ARI_ERROR, NULL, err);
		free(err);
		return;
	}
	TAILQ_REMOVE(&ca->ari_queue, f, entry);
	TAILQ_INSERT_TAIL(&ca->ari_active, f, entry);
	ca->ari_nactive++;
}

/* Ends up to ARI_SLICE queued fetches with res; kicks again for the rest. */
static void
ari_answer_queued(struct acme_ca *ca, enum acme_ari_result res,
    const char *error)
{
	struct acme_ari_fetch	*f;
	int			 n;

	/* one at a time from the head: a callback may queue or cancel others */
	for (n = 0; n < ARI_SLICE && (f = TAILQ_FIRST(&ca->ari_queue)) != NULL;
	    n++)
		ari_finish(f, res, NULL, error);
	if (!TAILQ_EMPTY(&ca->ari_queue))
		event_active(ca->ari_kick, EV_TIMEOUT, 0);
}

void
acme_ari_pump(struct acme_ca *ca)
{
	struct acme_ari_fetch	*f;
	char			*err;

	if (TAILQ_EMPTY(&ca->ari_queue))
		return;
	if (!ca->have_dir && ca->ari_dir_err != NULL &&
	    time(NULL) < ca->ari_dir_until) {
		ari_answer_queued(ca, ACME_ARI_UNAVAILABLE, ca->ari_dir_err);
		return;
	}
	if (!ca->have_dir) {
		if ((err = acme_dir_fetch(ca)) != NULL) {
			acme_ari_fail_queued(ca, err);
			free(err);
		}
		return;
	}
	if (ca->renewal_info == NULL) {
		ari_answer_queued(ca, ACME_ARI_NONE, NULL);
		return;
	}
	while (ca->ari_nactive < ARI_MAX_ACTIVE &&
	    (f = TAILQ_FIRST(&ca->ari_queue)) != NULL)
		ari_start(f);
}

void
acme_ari_fail_queued(struct acme_ca *ca, const char *error)
{
	if (TAILQ_EMPTY(&ca->ari_queue))
		return;
	log_warn("CA %s: no renewal information while the directory cannot "
	    "be had (again in %d s): %s", ca->name, ARI_DIR_HOLDOFF, error);
	free(ca->ari_dir_err);
	ca->ari_dir_err = xstrdup(error);
	ca->ari_dir_until = time(NULL) + ARI_DIR_HOLDOFF;
	ari_answer_queued(ca, ACME_ARI_UNAVAILABLE, error);
}

static void
ari_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	acme_ari_pump(arg);
}

void
acme_ari_init(struct acme_ca *ca)
{
	TAILQ_INIT(&ca->ari_queue);
	TAILQ_INIT(&ca->ari_active);
	ca->ari_opts = ca->get_opts;
	ca->ari_opts.max_body = ARI_MAX_BODY;
	ca->ari_kick = event_new(ca->env.base, -1, 0, ari_kick_cb, ca);
}

void
acme_ari_clear(struct acme_ca *ca)
{
	struct acme_ari_fetch *f;

	while ((f = TAILQ_FIRST(&ca->ari_active)) != NULL)
		acme_ari_cancel(f);
	while ((f = TAILQ_FIRST(&ca->ari_queue)) != NULL)
		acme_ari_cancel(f);
	if (ca->ari_kick != NULL)
		event_free(ca->ari_kick);
	ca->ari_kick = NULL;
	free(ca->ari_dir_err);
	ca->ari_dir_err = NULL;
}

struct acme_ari_fetch *
acme_ari_fetch(struct acme_ca *ca, const char *cert_name, const char *cert_id,
    acme_ari_cb cb, void *arg)
{
	struct acme_ari_fetch *f;

	if (cert_id == NULL || cb == NULL)
		return NULL;
	f = xcalloc(1, sizeof(*f));
	f->ca = ca;
	f->cert_name = xstrdup(cert_name);
	f->cert_id = xstrdup(cert_id);
	f->cb = cb;
	f->arg = arg;
	TAILQ_INSERT_TAIL(&ca->ari_queue, f, entry);
	/* never call back from inside this call */
	event_active(ca->ari_kick, EV_TIMEOUT, 0);
	return f;
}

void
acme_ari_cancel(struct acme_ari_fetch *f)
{
	if (f == NULL)
		return;
	if (f->req != NULL)
		http_cancel(f->req);
	ari_unlink(f);
	ari_free(f);
}

int
acme_ca_has_ari(const struct acme_ca *ca)
{
	if (!ca->have_dir)
		return -1;
	return ca->renewal_info != NULL;
}
