/* etcd_drive.c - test driver: scripted etcd.c operations on a libevent loop */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "etcd.h"
#include "http.h"
#include "log.h"
#include "xmalloc.h"
#include "drive.h"

/*
 * usage: etcd_drive SCENARIO EP[,EP...]
 * Scenarios: kv, lease, watch, compact, failover, leader. Each is a state
 * machine: step() starts the operation of state st, its callback keeps the
 * result and calls step() again. Member kills and restarts are asked of
 * "$ETCD_HOOK ACTION ENDPOINT" (t_etcd.sh). Prints "ok: ..." per check,
 * "FAIL: ..." and exit 1 on the first failure. ETCD_CA, ETCD_CERT and
 * ETCD_KEY, when set, are the TLS files (struct etcd_tls).
 */

static struct event_base	*base;
static struct etcd		*e, *we;	/* we: the watch's own client */
static struct etcd_watch	*w;
static struct etcd_keeper	*keeper;
static struct event		*timer;
static const char		*scenario;
static char			**eps;
static size_t			 neps;
static int			 st;
static struct etcd_reply	 last;		/* the scalar parts of the last reply */
static char			 lastval[256];	/* value of its first kv */
static int64_t			 lastcreate, lease1, lease2, fence;
static int			 nkv, nseen, lost, iter, longest_ms, pending, retrying;
static char			 seen[16][128];
static struct timespec		 t0;

static void	step(void);

/* Waits in state st until no call is in flight and k events have come. */
#define WAIT(k) if (pending > 0 || nseen < (k)) { st--; break; }


static void
hook(const char *action, const char *arg)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s %s %s", getenv("ETCD_HOOK"), action,
	    arg != NULL ? arg : "");
	if (system(cmd) != 0)
		fail("hook %s failed", cmd);
}

/* The reply callback of every call: keep, then go on. */
static void
done(const struct etcd_reply *r, void *arg)
{
	const struct etcd_range *rg = &r->range;

	(void)arg;
	pending--;
	last = *r;
	last.error = NULL;
	last.range.kvs = NULL;
	last.responses = NULL;
	lastval[0] = '\0';
	lastcreate = 0;
	if (r->nresponses > 0)
		rg = &r->responses[0];
	nkv = (int)rg->nkvs;
	if (rg->nkvs > 0) {
		snprintf(lastval, sizeof(lastval), "%s", (char *)rg->kvs[0].value);
		lastcreate = rg->kvs[0].create_revision;
	}
	if (r->status != ETCD_OK)
		printf("# %s: status %d: %s\n", scenario, r->status, r->error);
	step();
}

static void
must_ok(const char *what)
{
	if (last.status != ETCD_OK)
		fail("%s: not ETCD_OK", what);
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	step();
}

static void
after_ms(long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(timer, &tv);
}

static void
on_lost(int64_t id, const char *why, void *arg)
{
	(void)id;
	(void)arg;
	printf("# lease lost: %s\n", why);
	lost = 1;
}

static void
on_event(struct etcd_watch *wt, const struct etcd_event *ev, void *arg)
{
	(void)arg;
	if (nseen >= 16)
		fail("%s", "too many watch events");
	if (ev->type == ETCD_EV_COMPACTED)
		snprintf(seen[nseen], sizeof(seen[0]), "COMPACTED %" PRId64,
		    ev->compact_revision);
	else
		snprintf(seen[nseen], sizeof(seen[0]), "%s %s %s",
		    ev->type == ETCD_EV_PUT ? "PUT" : "DELETE", ev->kv->key,
		    (char *)ev->kv->value);
	printf("# event %s via %s\n", seen[nseen], etcd_watch_endpoint(wt));
	nseen++;
	step();
}

static void
put(const char *k, const char *v, int64_t lease)
{
	pending++, etcd_put(e, k, (const unsigned char *)v, strlen(v), lease, done, NULL);
}

/*
 * A put (or a compaction) that must happen whatever fails meanwhile: an
 * unknown or unavailable outcome is tried again after 200 ms (a put of the
 * same value twice, or a compaction already done, changes nothing here).
 */
static char		 sure_k[64], sure_v[64];
static int64_t		 sure_rev;
static struct event	*sure_timer;

static void	sure_send(void);

static void
sure_done(const struct etcd_reply *r, void *arg)
{
	struct timeval tv = { 0, 200000 };

	if (r->status == ETCD_OK || (sure_rev > 0 && r->status == ETCD_COMPACTED)) {
		done(r, arg);
		return;
	}
	printf("# %s: %s; again\n", sure_rev > 0 ? "compact" : sure_k, r->error);
	evtimer_add(sure_timer, &tv);
}

static void
sure_send(void)
{
	if (sure_rev > 0)
		etcd_compact(e, sure_rev, sure_done, NULL);
	else
		etcd_put(e, sure_k, (const unsigned char *)sure_v,
		    strlen(sure_v), 0, sure_done, NULL);
}

static void
sure_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	sure_send();
}

static void
put_sure(const char *k, const char *v)
{
	pending++;
	snprintf(sure_k, sizeof(sure_k), "%s", k);
	snprintf(sure_v, sizeof(sure_v), "%s", v);
	sure_rev = 0;
	sure_send();
}

static void
compact_sure(int64_t rev)
{
	pending++;
	sure_rev = rev;
	sure_send();
}

/* create-if-absent of /t/lock = v; on failure read the holder back */
static void
lock(const char *v)
{
	struct etcd_cmp	cmp = { .key = "/t/lock", .target = ETCD_CMP_CREATE,
			    .result = ETCD_EQUAL, .value = 0 };
	struct etcd_op	ok = { .type = ETCD_OP_PUT, .key = "/t/lock",
			    .value = (const unsigned char *)v, .value_len = strlen(v) };
	struct etcd_op	get = { .type = ETCD_OP_RANGE, .key = "/t/lock" };

	pending++, etcd_txn(e, &cmp, 1, &ok, 1, &get, 1, done, NULL);
}

static void
prefix(const char *p, int64_t rev)
{
	char end[64];

	etcd_prefix_end(p, end);
	pending++, etcd_range(e, p, end, rev, 0, done, NULL);
}

static void
kv(void)
{
	switch (st++) {
	case 0: put("/t/a", "1", 0); break;
	case 1: must_ok("put"); pending++, etcd_range(e, "/t/a", NULL, 0, 0, done, NULL); break;
	case 2:
		if (strcmp(lastval, "1") != 0)
			fail("get /t/a: %s", lastval);
		say("put then get /t/a = 1");
		lock("A");
		break;
	case 3:
		if (!last.succeeded)
			fail("%s", "first create-if-absent failed");
		fence = last.revision;
		say("first create-if-absent of /t/lock succeeded at %" PRId64, fence);
		lock("B");
		break;
	case 4:
		if (last.status != ETCD_OK || last.succeeded ||
		    strcmp(lastval, "A") != 0 || lastcreate != fence)
			fail("second create-if-absent: holder %s", lastval);
		say("second create-if-absent failed: holder A, fence %" PRId64,
		    lastcreate);
		prefix("/t/", 0);
		break;
	case 5:
		if (last.range.count != 2)
			fail("%s", "prefix /t/: not 2 keys");
		say("prefix /t/ has 2 keys");
		event_base_loopbreak(base);
	}
}

static void
lease(void)
{
	switch (st++) {
	case 0: pending++, etcd_lease_grant(e, 2, done, NULL); break;
	case 1: must_ok("grant"); lease1 = last.lease_id; pending++, etcd_lease_grant(e, 2, done, NULL); break;
	case 2: must_ok("grant"); lease2 = last.lease_id; put("/t/kept", "k", lease1); break;
	case 3: must_ok("put kept"); put("/t/gone", "g", lease2); break;
	case 4:
		must_ok("put gone");
		keeper = etcd_keeper_start(e, lease1, 2, on_lost, NULL);
		after_ms(5000);		/* 2.5 TTLs */
		break;
	case 5: pending++, etcd_range(e, "/t/kept", NULL, 0, 0, done, NULL); break;
	case 6:
		if (nkv != 1 || lost)
			fail("%s", "the kept key is gone after 5 s");
		say("lease kept alive: /t/kept still there after 5 s (TTL 2)");
		pending++, etcd_range(e, "/t/gone", NULL, 0, 0, done, NULL);
		break;
	case 7:
		if (nkv != 0)
			fail("%s", "the key of the lease not kept alive is still there");
		say("lease not kept alive expired: /t/gone is gone");
		etcd_keeper_stop(keeper);
		pending++, etcd_lease_revoke(e, lease1, done, NULL);
		break;
	case 8: must_ok("revoke"); pending++, etcd_range(e, "/t/kept", NULL, 0, 0, done, NULL); break;
	case 9:
		if (nkv != 0)
			fail("%s", "revoked lease left its key");
		say("revoked lease took its key");
		pending++, etcd_lease_keepalive(e, lease1, done, NULL);
		break;
	case 10:
		if (last.status != ETCD_OK || last.ttl != 0)
			fail("%s", "keepalive of a revoked lease not reported gone");
		say("keepalive of a revoked lease: TTL 0");
		event_base_loopbreak(base);
	}
}

static void
expect_seen(int i, const char *want)
{
	if (nseen <= i || strcmp(seen[i], want) != 0)
		fail("watch event: want %s", want);
}

static void
watch(void)
{
	char end[64];

	switch (st++) {
	case 0: prefix("/t/w/", 0); break;
	case 1:
		etcd_prefix_end("/t/w/", end);
		w = etcd_watch(e, "/t/w/", end, last.revision + 1, on_event, NULL);
		put_sure("/t/w/1", "one");
		break;
	case 2: put_sure("/t/w/2", "two"); break;
	case 3: pending++, etcd_delete(e, "/t/w/1", NULL, done, NULL); break;
	case 4:
		WAIT(3);
		expect_seen(0, "PUT /t/w/1 one");
		expect_seen(1, "PUT /t/w/2 two");
		expect_seen(2, "DELETE /t/w/1 ");
		say("watch saw put, put, delete in order");
		st = 100;
		event_base_loopbreak(base);
	}
}

static void
failover(void)
{
	char end[64];

	switch (st++) {
	case 0: prefix("/t/f/", 0); break;
	case 1:
		etcd_prefix_end("/t/f/", end);
		w = etcd_watch(e, "/t/f/", end, last.revision + 1, on_event, NULL);
		put_sure("/t/f/1", "one");
		break;
	case 2:
		WAIT(1);
		expect_seen(0, "PUT /t/f/1 one");
		say("watch on %s saw /t/f/1; killing that member",
		    etcd_watch_endpoint(w));
		hook("kill", etcd_watch_endpoint(w));
		put_sure("/t/f/2", "two");
		break;
	case 3:
		WAIT(2);
		st = 100;
		expect_seen(1, "PUT /t/f/2 two");
		say("watch resumed on %s: /t/f/2 seen, /t/f/1 not repeated",
		    etcd_watch_endpoint(w));
		after_ms(300);		/* a repeat would arrive meanwhile */
		break;
	case 100:
		if (nseen != 2)
			fail("%s", "extra watch events");
		event_base_loopbreak(base);
	}
}

static double
ms_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 +
	    (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

/* 30 puts, the leader killed after the 10th; unknown outcomes re-read */
static void
leader(void)
{
	char	k[32], v[32];
	int	ms;

	snprintf(k, sizeof(k), "/t/l/%02d", iter);
	snprintf(v, sizeof(v), "v%d", iter);
	switch (st) {
	case 0:		/* start a put (t0: since the first try) */
		if (!retrying)
			clock_gettime(CLOCK_MONOTONIC, &t0);
		retrying = 0;
		st = 1;
		put(k, v, 0);
		break;
	case 1:		/* a put's reply */
		if (last.status != ETCD_OK) {
			st = 2;
			pending++, etcd_range(e, k, NULL, 0, 0, done, NULL);
			break;
		}
		/* FALLTHROUGH */
	case 3:		/* done with this key */
		ms = (int)ms_since(&t0);
		longest_ms = ms > longest_ms ? ms : longest_ms;
		if (ms >= 100)
			printf("# %s took %d ms\n", k, ms);
		if (++iter == 10) {
			say("10 puts done; killing the leader");
			hook("killleader", NULL);
		}
		st = iter < 30 ? 0 : 4;
		if (iter < 30)
			leader();
		else
			prefix("/t/l/", 0);
		break;
	case 2:		/* the re-read after an unknown outcome */
		if (last.status == ETCD_OK && strcmp(lastval, v) == 0) {
			printf("# %s: the unknown write had happened\n", k);
			st = 3;
			leader();
		} else {
			st = 0;		/* not there (or unreadable): again */
			retrying = 1;
			after_ms(200);
		}
		break;
	case 4:
		if (last.range.count != 30)
			fail("%s", "not 30 keys after the leader kill");
		say("30 puts completed across a leader kill (longest %d ms)",
		    longest_ms);
		event_base_loopbreak(base);
	}
}

static void
compact(void)
{
	char end[64];

	switch (st++) {
	case 0: prefix("/t/c/", 0); break;
	case 1:
		etcd_prefix_end("/t/c/", end);
		/* its own client on the first member alone, so it stays cut off */
		w = etcd_watch(we, "/t/c/", end, last.revision + 1, on_event, NULL);
		put_sure("/t/c/1", "one");
		break;
	case 2:
		WAIT(1);
		hook("kill", eps[0]);
		put_sure("/t/c/2", "two");
		break;
	case 3: put_sure("/t/c/3", "three"); break;
	case 4: compact_sure(last.revision); break;
	case 5:
		say("watch cut off; 2 puts and a compaction at %" PRId64,
		    sure_rev);
		hook("start", eps[0]);
		break;		/* the watch comes back and reports */
	}
}

/* compact() after the restart: the event decides */
static void
compact_tail(void)
{
	switch (st++) {
	case 6:
		WAIT(2);
		if (strncmp(seen[1], "COMPACTED", 9) != 0)
			fail("%s", "no compaction reported after the reconnect");
		say("the reconnected watch reported the compaction (%s)", seen[1]);
		prefix("/t/c/", 0);
		break;
	case 7:
		if (last.range.count != 3)
			fail("%s", "re-read after compaction: not 3 keys");
		say("re-read: 3 keys at %" PRId64 "; watch restarted after it",
		    last.revision);
		etcd_watch_restart(w, last.revision + 1);
		put_sure("/t/c/4", "four");
		break;
	case 8:
		WAIT(3);
		st = 100;
		expect_seen(2, "PUT /t/c/4 four");
		say("the restarted watch saw /t/c/4");
		event_base_loopbreak(base);
	}
}

static void
step(void)
{
	if (pending > 0)
		return;		/* an event meanwhile: the reply steps on */
	if (strcmp(scenario, "kv") == 0)
		kv();
	else if (strcmp(scenario, "lease") == 0)
		lease();
	else if (strcmp(scenario, "watch") == 0)
		watch();
	else if (strcmp(scenario, "failover") == 0)
		failover();
	else if (strcmp(scenario, "leader") == 0)
		leader();
	else if (st < 6)
		compact();
	else
		compact_tail();
}

int
main(int argc, char **argv)
{
	struct http_client	*http;
	struct etcd_tls		 tls = { getenv("ETCD_CA"), getenv("ETCD_CERT"),
				    getenv("ETCD_KEY") };
	char			*list, *p;

	if (argc != 3 || getenv("ETCD_HOOK") == NULL) {
		fprintf(stderr, "usage: ETCD_HOOK=cmd etcd_drive SCENARIO EP[,EP...]\n");
		return 2;
	}
	log_init(getenv("ETCD_DEBUG") != NULL ? LOG_LVL_DEBUG : LOG_LVL_WARNING);
	setvbuf(stdout, NULL, _IOLBF, 0);
	scenario = argv[1];
	list = xstrdup(argv[2]);
	for (p = strtok(list, ","); p != NULL; p = strtok(NULL, ",")) {
		eps = xreallocarray(eps, neps + 1, sizeof(*eps));
		eps[neps++] = p;
	}
	base = event_base_new();
	http = http_client_new(base, "etcd_drive");
	e = etcd_new(base, http, (const char *const *)eps, neps, &tls);
	we = etcd_new(base, http, (const char *const *)eps, 1, &tls);
	if (e == NULL || we == NULL)
		return 2;
	timer = evtimer_new(base, tick, NULL);
	sure_timer = evtimer_new(base, sure_tick, NULL);
	step();
	event_base_dispatch(base);
	etcd_watch_cancel(w);
	etcd_free(we);
	etcd_free(e);
	http_client_free(http);
	event_free(timer);
	event_free(sure_timer);
	event_base_free(base);
	free(eps);
	free(list);
	return 0;
}
