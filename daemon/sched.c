/* sched.c - when a certificate falls due, and when a failed one tries again */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sched.h"
#include "xmalloc.h"

/* Jitter from outside [0,1) (or NaN) is ignored rather than trusted. */
static double
jitter_ok(double jitter)
{
	return jitter >= 0 && jitter < 1 ? jitter : 0;
}

int
sched_renew_before_fits(time_t nb, time_t na, long renew_before)
{
	time_t	life = na - nb;

	if (renew_before <= 0 || life <= 0)
		return 1;
	/* life - renew_before cannot overflow: both are positive */
	return life - (time_t)renew_before >= life / 30;
}

time_t
sched_due(time_t nb, time_t na, long renew_before, double jitter)
{
	time_t	life = na - nb, window, spread;

	if (life <= 0)
		return na;
	if (!sched_renew_before_fits(nb, na, renew_before))
		renew_before = 0;
	if (renew_before > 0)
		window = (time_t)renew_before;
	else
		window = life < SCHED_SHORT_LIFE ? life / 2 : life / 3;
	spread = life / 30;
	if (spread > SCHED_SPREAD_MAX)
		spread = SCHED_SPREAD_MAX;
	return na - window - (time_t)(jitter_ok(jitter) * (double)spread);
}

time_t
sched_backoff(unsigned failures, double jitter)
{
	time_t		delay = SCHED_BACKOFF_MIN;
	unsigned	i;

	/* doubling stops at the cap, so no shift can overflow */
	for (i = 1; i < failures && delay < SCHED_BACKOFF_MAX; i++)
		delay *= 2;
	if (delay > SCHED_BACKOFF_MAX)
		delay = SCHED_BACKOFF_MAX;
	return delay - delay / 10 + (time_t)(jitter_ok(jitter) * (double)(delay / 5));
}

time_t
sched_retry(unsigned failures, double jitter, long long left)
{
	static const time_t ladder[] = { 60, 600, 6000, 86400 };
	size_t	i = failures <= 1 ? 0 : failures - 1;
	time_t	delay;

	if (i >= sizeof(ladder) / sizeof(ladder[0]))
		i = sizeof(ladder) / sizeof(ladder[0]) - 1;
	delay = ladder[i];
	delay = delay - delay / 10 + (time_t)(jitter_ok(jitter) *
	    (double)(delay / 5));
	if (left > 0 && delay > left / 10)
		delay = (time_t)(left / 10);
	return delay < SCHED_RETRY_FLOOR ? SCHED_RETRY_FLOOR : delay;
}

double
sched_jitter(uint32_t r)
{
	return (double)r / 4294967296.0;	/* 2^32: never reaches 1 */
}

/* The next fetch after an answer: Retry-After, clamped; the default if bad. */
static time_t
ari_next_fetch(const struct sched_ari_answer *a)
{
	long	ra = a->retry_after;

	if (ra < 0)
		ra = SCHED_ARI_RETRY_DEFAULT;
	else if (ra < SCHED_ARI_RETRY_MIN)
		ra = SCHED_ARI_RETRY_MIN;
	else if (ra > SCHED_ARI_RETRY_MAX)
		ra = SCHED_ARI_RETRY_MAX;
	return a->fetched_at + (time_t)ra;
}

/* Takes a new answer into out->ari: same window, same moment. Returns 1 if
 * the window moved earlier than the one kept. */
static int
ari_take(const struct sched_input *in, struct sched_plan *out)
{
	const struct sched_ari_answer *a = in->answer;
	const struct sched_ari *p = in->prev;
	int	had = p != NULL && p->end > p->start;

	out->ari.next_fetch = ari_next_fetch(a);
	if (had && p->start == a->start && p->end == a->end &&
	    p->moment >= p->start && p->moment <= p->end) {
		out->ari.moment = p->moment;
		return 0;
	}
	out->window_changed = 1;
	out->ari.start = a->start;
	out->ari.end = a->end;
	/* the product stays below end - start: jitter is below 1 */
	out->ari.moment = a->start +
	    (time_t)(jitter_ok(in->ari_jitter) * (double)(a->end - a->start));
	return had && (a->start < p->start || a->end < p->end);
}

void
sched_plan(const struct sched_input *in, struct sched_plan *out)
{
	int	moved = 0, fits;

	memset(out, 0, sizeof(*out));
	fits = in->renew_before > 0 &&
	    sched_renew_before_fits(in->nb, in->na, in->renew_before);
	out->renew_at = sched_due(in->nb, in->na, in->renew_before, in->jitter);
	out->reason = fits ? SCHED_RENEW_BEFORE :
	    in->na - in->nb < SCHED_SHORT_LIFE ? SCHED_HALF : SCHED_THIRD;
	if (in->prev != NULL)
		out->ari = *in->prev;
	if (in->answer != NULL && in->answer->end > in->answer->start)
		moved = ari_take(in, out);
	out->next_fetch = out->ari.next_fetch;
	if (out->ari.end <= out->ari.start)
		return;			/* no window: the lifetime rule */
	if (moved && out->ari.start <= in->now)
		out->ari.moment = in->now;	/* kept: "now" outlives this plan */
	if (out->ari.end <= in->now ||
	    (moved && out->ari.start <= in->now)) {
		out->renew_at = in->now;
		out->reason = SCHED_ARI_NOW;
	} else if (!fits && out->ari.end <= in->na) {
		out->renew_at = out->ari.moment;
		out->reason = SCHED_ARI;
	}
}

const char *
sched_reason_str(enum sched_reason reason)
{
	switch (reason) {
	case SCHED_THIRD:
		return "a third of the lifetime left";
	case SCHED_HALF:
		return "half of a short lifetime left";
	case SCHED_RENEW_BEFORE:
		return "renew_before";
	case SCHED_ARI:
		return "ARI window";
	case SCHED_ARI_NOW:
		return "ARI: the CA says renew now";
	}
	return "?";
}

double
sched_spread(const char *name, const char *serial)
{
	uint64_t	h = 0xcbf29ce484222325ULL;	/* FNV-1a, 64 bits */
	const char	*parts[2] = { name, serial };
	const unsigned char *p;
	int		 i;

	for (i = 0; i < 2; i++) {
		for (p = (const unsigned char *)(parts[i] != NULL ? parts[i] :
		    ""); *p != '\0'; p++) {
			h ^= *p;
			h *= 0x100000001b3ULL;
		}
		h ^= 0xff;		/* ("ab", "c") differs from ("a", "bc") */
		h *= 0x100000001b3ULL;
	}
	/* the high bits of FNV mix best */
	return sched_jitter((uint32_t)(h >> 32));
}

void
sched_state_clear(struct sched_state *s)
{
	free(s->hold_reason);
	free(s->err_ca);
	free(s->err_url);
	free(s->err_type);
	free(s->err_detail);
	free(s->order_ca);
	free(s->order_url);
	free(s->ari_cert);
	memset(s, 0, sizeof(*s));
}

void
sched_holds_clear(struct sched_holds *h)
{
	size_t	i;

	for (i = 0; i < h->nurls; i++)
		free(h->urls[i].url);
	memset(h, 0, sizeof(*h));
}

int
sched_state_empty(const struct sched_state *s)
{
	return s->failures == 0 && s->retry_at == 0 && s->hold_until == 0 &&
	    s->hold_reason == NULL && s->err_at == 0 && s->err_ca == NULL &&
	    s->err_url == NULL && s->err_type == NULL && s->err_detail == NULL &&
	    s->ari_start == 0 && s->ari_end == 0 && s->ari_moment == 0 &&
	    s->ari_next_fetch == 0 && s->ari_cert == NULL && s->order_ca == NULL &&
	    s->order_url == NULL && s->notified_expiring == 0;
}

static void
set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src != NULL ? xstrdup(src) : NULL;
}

void
sched_state_set_error(struct sched_state *s, time_t at, const char *ca,
    const char *url, const char *type, const char *detail)
{
	s->err_at = at;
	set_str(&s->err_ca, ca);
	set_str(&s->err_url, url);
	set_str(&s->err_type, type);
	set_str(&s->err_detail, detail);
}
