/* cluster_drive.c - test driver: cluster.c sessions against a real etcd */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cluster.h"
#include "crypto.h"
#include "etcd.h"
#include "http.h"
#include "log.h"
#include "xmalloc.h"
#include "drive.h"

/*
 * usage: cluster_drive SCENARIO EP[,EP...] PREFIX [FIFO]
 *   multi     three sessions n1 n2 n3 in this process (n3 on the first
 *             endpoint alone): one lock holder, records seen by the others,
 *             EXISTS and FENCED, rendezvous claims, the semaphore, a
 *             compaction while n3's member is down
 *   stall     node a claims www, blocks reading FIFO (a stalled process),
 *             then makes a fenced write at once
 *   take      node b claims www (once a's lease is gone), writes it, and
 *             holds the lock until FIFO (a plain file here) exists
 *   wrongkey  a session under another key must be refused (fatal)
 *   quorum    node q with two of three members stopped: its session goes
 *             down and claims are DOWN; up again once they are back
 *   leader    node l makes 20 fenced writes one after another, the etcd
 *             leader killed after the 5th: every one is done
 * CLUSTER_KEY is the key (64 hex digits); CLUSTER_TTL the lease TTL (5).
 * ETCD_HOOK kills and restarts members (etcd_lib.sh). The scenario is a
 * state machine polled every 20 ms; "ok: ..." per check, "FAIL: ..." and
 * exit 1 on the first failure or after 20 s in one state.
 */

#define NNAMES	30
#define NSEM	12
#define SEM_MAX	2

struct rec {
	char	key[64];
	char	last[64];	/* "(deleted)" after a delete */
	int	count;
};

struct node {
	const char	*name;
	struct cluster	*c;
	int		 up, ups, downs, fatal;
	struct rec	 recs[16];
	int		 nrecs;
	int		 claimed;
	int		 unlocks;	/* "locks" passed to on_record: a lock went */
};

static struct event_base	*base;
static struct http_client	*http;
static struct etcd		*raw;
static struct event		*tick;
static struct node		 nodes[3];
static int			 nnodes;
static const char		*scenario, *prefix, *fifo;
static char			**eps;
static size_t			 neps;
static unsigned char		 key[CRYPTO_SEAL_KEY_LEN];
static int			 st, pending, winner, nclaimed[3], res[3][NNAMES];
static const char		*last_err;
static int			 nsem_done, held_now, held_max;
static int64_t			 rev;
static struct timespec		 st_t0, t_claims;
static char			 got[64];


static double
since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) +
	    (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

static void
next(void)
{
	st++;
	clock_gettime(CLOCK_MONOTONIC, &st_t0);
}

/* Stays in this state until cond holds; fails after 20 s. */
#define WAIT_UNTIL(cond, what) do {					\
	if (!(cond)) {							\
		if (since(&st_t0) > 20)					\
			fail("timed out waiting for %s", what);		\
		return;							\
	}								\
} while (0)

static void
hook(const char *action, const char *arg)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s %s %s", getenv("ETCD_HOOK"), action,
	    arg != NULL ? arg : "");
	if (system(cmd) != 0)
		fail("hook %s failed", cmd);
}

/* ---- the hooks of every session ---- */

static void
on_state(void *arg, int up)
{
	struct node *n = arg;

	n->up = up;
	if (up)
		n->ups++;
	else
		n->downs++;
	printf("# %s: session %s\n", n->name, up ? "up" : "down");
}

static struct rec *
rec_of(struct node *n, const char *k)
{
	int i;

	for (i = 0; i < n->nrecs; i++)
		if (strcmp(n->recs[i].key, k) == 0)
			return &n->recs[i];
	if (n->nrecs == 16)
		fail("%s", "too many records");
	snprintf(n->recs[n->nrecs].key, sizeof(n->recs[0].key), "%s", k);
	return &n->recs[n->nrecs++];
}

static void
on_record(void *arg, const char *kind, const char *name,
    const unsigned char *value, size_t len)
{
	struct node	*n = arg;
	struct rec	*r;
	char		 k[64];

	(void)len;
	if (strcmp(kind, "locks") == 0) {	/* a lock went: counted apart */
		n->unlocks++;
		return;
	}
	snprintf(k, sizeof(k), "%s/%s", kind, name);
	r = rec_of(n, k);
	r->count++;
	snprintf(r->last, sizeof(r->last), "%s",
	    value != NULL ? (const char *)value : "(deleted)");
}

static void
on_fatal(void *arg, const char *why)
{
	struct node *n = arg;

	n->fatal = 1;
	printf("# %s: fatal: %s\n", n->name, why);
}

static const char *
last_of(struct node *n, const char *k)
{
	return rec_of(n, k)->last;
}

static void
node_start(int i, const char *name, size_t use_eps, int64_t ttl)
{
	struct cluster_params	p = { 0 };
	struct cluster_hooks	h = { on_state, on_record, on_fatal, &nodes[i] };

	p.endpoints = (const char *const *)eps;
	p.nendpoints = use_eps;
	p.prefix = prefix;
	p.node = name;
	p.key = key;
	p.lease_ttl = ttl;
	p.stagger = 1;
	nodes[i].name = name;
	if ((nodes[i].c = cluster_new(base, http, &p, &h)) == NULL)
		fail("cluster_new %s", name);
	cluster_start(nodes[i].c);
	nnodes = i + 1 > nnodes ? i + 1 : nnodes;
}

static void
count_node(void *arg, const struct cluster_node_info *ni)
{
	(void)ni;
	(*(int *)arg)++;
}

struct view_find {
	const char	*node;
	char		 view[64];
};

static void
find_view(void *arg, const struct cluster_node_info *ni)
{
	struct view_find *f = arg;

	if (strcmp(ni->node, f->node) == 0)
		snprintf(f->view, sizeof(f->view), "%s", ni->view);
}

/* The view node published, as session i saw it last. */
static const char *
view_of(int i, const char *node)
{
	static struct view_find f;

	f.node = node;
	f.view[0] = '\0';
	cluster_nodes(nodes[i].c, find_view, &f);
	return f.view;
}

static int
sees(int i)
{
	int k = 0;

	cluster_nodes(nodes[i].c, count_node, &k);
	return k;
}

/* ---- callbacks of the calls ---- */

static void
claim_cb(void *arg, enum cluster_claim_result r, const unsigned char *order,
    size_t len)
{
	int *slot = arg;

	(void)len;
	snprintf(got, sizeof(got), "%s", order != NULL ? (const char *)order :
	    "(none)");
	*slot = (int)r;
	pending--;
}

static void
done_cb(void *arg, const char *error)
{
	(void)arg;
	last_err = error;
	if (error != NULL && error != CLUSTER_FENCED && error != CLUSTER_EXISTS)
		printf("# write: %s\n", error);
	pending--;
}

static void
get_cb(void *arg, const unsigned char *value, size_t len)
{
	(void)arg;
	(void)len;
	snprintf(got, sizeof(got), "%s", value != NULL ? (const char *)value :
	    "(none)");
	pending--;
}

static void
raw_cb(const struct etcd_reply *r, void *arg)
{
	(void)arg;
	if (r->status != ETCD_OK)
		fail("raw etcd call: %s", r->error);
	rev = r->revision;
	pending--;
}

static void
put_kind(int i, const char *kind, const char *name, const char *v,
    const char *fence, int flags)
{
	pending++;
	last_err = "(none yet)";
	cluster_put(nodes[i].c, kind, name, v, strlen(v) + 1, fence, flags,
	    done_cb, NULL);
}

static void
put(int i, const char *name, const char *v, const char *fence, int flags)
{
	put_kind(i, "certs", name, v, fence, flags);
}

/* ---- the semaphore: each slot held 150 ms ---- */

struct acq {
	struct cluster_sem	*s;
	struct event		*ev;
};
static struct acq acqs[NSEM];

static void
acq_release(evutil_socket_t fd, short what, void *arg)
{
	struct acq *a = arg;

	(void)fd;
	(void)what;
	held_now--;
	nsem_done++;
	cluster_sem_release(a->s);
	a->s = NULL;
	event_free(a->ev);
}

static void
acq_cb(void *arg, int ok)
{
	struct acq	*a = arg;
	struct timeval	 tv = { 0, 150000 };

	if (!ok)
		fail("%s", "a semaphore slot failed");
	held_now++;
	held_max = held_now > held_max ? held_now : held_max;
	a->ev = evtimer_new(base, acq_release, a);
	evtimer_add(a->ev, &tv);
}

/* ---- scenarios ---- */

/* Node i claims name at once (its result in res[i][0]); the next state. */
static void
claim_now(int i, const char *name)
{
	pending++;
	cluster_claim(nodes[i].c, name, CLUSTER_CLAIM_NOW, claim_cb, &res[i][0]);
	next();
}

/* Node 1's last claim ended as want, else the scenario fails. */
static void
claim_is(int want, const char *what)
{
	if (res[0][0] != want)
		fail("%s: was %d", what, res[0][0]);
	say("%s", what);
}

/* Stops (pause) or continues (resume) members 2 and 3; t: when. */
static void
members(const char *action, struct timespec *t)
{
	hook(action, eps[1]);
	hook(action, eps[2]);
	clock_gettime(CLOCK_MONOTONIC, t);
	next();
}

static int
all_up_and_seen(void)
{
	int i;

	for (i = 0; i < 3; i++)
		if (!nodes[i].up || sees(i) != 3)
			return 0;
	return 1;
}

static void
claims_start(void)
{
	char	name[32];
	int	i, j;

	clock_gettime(CLOCK_MONOTONIC, &t_claims);
	for (j = 0; j < NNAMES; j++) {
		snprintf(name, sizeof(name), "r%d.example", j);
		for (i = 0; i < 3; i++) {
			pending++;
			res[i][j] = -1;
			cluster_claim(nodes[i].c, name, 0, claim_cb, &res[i][j]);
		}
	}
}

static void
claims_check(void)
{
	char	name[32];
	int	i, j, k;

	for (j = 0; j < NNAMES; j++) {
		for (i = 0, k = 0; i < 3; i++)
			if (res[i][j] == CLUSTER_CLAIMED) {
				k++;
				nclaimed[i]++;
			}
		if (k != 1)
			fail("r%d.example claimed by %d nodes", j, k);
		snprintf(name, sizeof(name), "r%d.example", j);
		for (i = 0; i < 3; i++)
			cluster_release(nodes[i].c, name);
	}
	say("%d names each claimed by exactly one node (n1 %d, n2 %d, n3 %d) "
	    "in %.1f s", NNAMES, nclaimed[0], nclaimed[1], nclaimed[2],
	    since(&t_claims));
	for (i = 0; i < 3; i++)
		if (nclaimed[i] < 3)
			fail("n%d claimed only %d of %d names", i + 1,
			    nclaimed[i], NNAMES);
	say("the rendezvous spread the claims over all three nodes");
}

static void
multi_locks(void)
{
	int i, k = 0;

	switch (st) {
	case 0:
		WAIT_UNTIL(all_up_and_seen(), "three sessions up");
		say("three sessions up, each sees 3 nodes");
		cluster_set_view(nodes[0].c, "{\"certs\": 3}");
		for (i = 0; i < 3; i++) {
			pending++;
			cluster_claim(nodes[i].c, "www", CLUSTER_CLAIM_NOW,
			    claim_cb, &res[i][0]);
		}
		next();
		break;
	case 1:
		WAIT_UNTIL(pending == 0, "three claims of www");
		for (i = 0; i < 3; i++)
			if (res[i][0] == CLUSTER_CLAIMED) {
				k++;
				winner = i;
			} else if (res[i][0] != CLUSTER_BUSY)
				fail("claim of www on n%d: %d", i + 1, res[i][0]);
		if (k != 1)
			fail("www claimed by %d nodes", k);
		say("the lock of www is held by one node only (n%d)", winner + 1);
		put(winner, "www", "v1", "www", 0);
		next();
		break;
	case 2:
		WAIT_UNTIL(pending == 0, "the fenced write");
		if (last_err != NULL)
			fail("fenced write by the holder: %s", last_err);
		WAIT_UNTIL(strcmp(last_of(&nodes[(winner + 1) % 3], "certs/www"),
		    "v1") == 0 && strcmp(last_of(&nodes[(winner + 2) % 3],
		    "certs/www"), "v1") == 0, "the others' record hooks");
		say("a record put by one is seen by the others' hooks");
		if (strcmp(cluster_holder(nodes[(winner + 1) % 3].c, "www"),
		    nodes[winner].name) != 0)
			fail("%s", "cluster_holder does not name the holder");
		say("cluster_holder names %s", nodes[winner].name);
		put(winner, "www", "v2", "www", CLUSTER_PUT_CREATE);
		next();
		break;
	case 3:
		WAIT_UNTIL(pending == 0, "the create-only write");
		if (last_err != CLUSTER_EXISTS)
			fail("create of an existing record: %s", last_err);
		say("a create-only write of an existing record: CLUSTER_EXISTS");
		put((winner + 1) % 3, "www", "v3", "www", 0);
		next();
		break;
	case 4:
		WAIT_UNTIL(pending == 0, "the non-holder's write");
		if (last_err != CLUSTER_FENCED)
			fail("a write fenced by a lock not held: %s", last_err);
		say("a write fenced by a lock this node does not hold: FENCED");
		cluster_release(nodes[winner].c, "www");
		next();
		break;
	case 5:
		for (i = 0; i < 3; i++)
			WAIT_UNTIL(cluster_holder(nodes[i].c, "www") == NULL &&
			    (i == winner || nodes[i].unlocks > 0),
			    "the release seen");
		say("the released lock is seen free by all, and passed to the "
		    "others' hooks as \"locks\"");
		WAIT_UNTIL(strcmp(view_of(1, "n1"), "{\"certs\":3}") == 0,
		    "n1's view at n2");
		say("n2 sees the view n1 published: %s", view_of(1, "n1"));
		claims_start();
		next();
		break;
	case 6:
		WAIT_UNTIL(pending == 0, "the rendezvous claims");
		claims_check();
		for (i = 0; i < NSEM; i++)
			acqs[i].s = cluster_sem_acquire(nodes[i % 3].c, "pebble",
			    SEM_MAX, "sem.example", acq_cb, &acqs[i]);
		next();
		break;
	}
}

static void
multi_compact(void)
{
	char end[256];

	switch (st) {
	case 7:
		WAIT_UNTIL(nsem_done == NSEM, "the semaphore's 12 holders");
		if (held_max > SEM_MAX)
			fail("%d slots held at once, max %d", held_max, SEM_MAX);
		say("the semaphore never exceeded %d across 3 sessions (most "
		    "held at once: %d), and all %d waiters proceeded", SEM_MAX,
		    held_max, NSEM);
		put(0, "z", "zed", NULL, 0);
		next();
		break;
	case 8:
		WAIT_UNTIL(pending == 0 && rec_of(&nodes[2], "certs/z")->count == 1,
		    "certs/z seen by n3");
		hook("kill", eps[0]);	/* n3's only member */
		put(0, "y", "why", NULL, 0);
		pending++;
		cluster_delete(nodes[0].c, "certs", "www", NULL, done_cb, NULL);
		next();
		break;
	case 9:
		WAIT_UNTIL(pending == 0, "the writes while n3 is cut off");
		etcd_prefix_end(prefix, end);
		pending++;
		etcd_range(raw, prefix, end, 0, 0, raw_cb, NULL);
		next();
		break;
	case 10:
		WAIT_UNTIL(pending == 0, "the revision");
		pending++;
		etcd_compact(raw, rev, raw_cb, NULL);
		next();
		break;
	case 11:
		WAIT_UNTIL(pending == 0, "the compaction");
		say("n3 cut off; certs/y put, certs/www deleted, compacted at %lld",
		    (long long)rev);
		hook("start", eps[0]);
		next();
		break;
	case 12:
		WAIT_UNTIL(rec_of(&nodes[2], "certs/z")->count == 2 &&
		    strcmp(last_of(&nodes[2], "certs/y"), "why") == 0 &&
		    strcmp(last_of(&nodes[2], "certs/www"), "(deleted)") == 0,
		    "n3's resync");
		say("after the compaction n3 read everything again: certs/z "
		    "passed again, certs/y seen, certs/www passed as deleted");
		if (nodes[2].downs != 0)
			fail("%s", "n3's session went down");
		event_base_loopbreak(base);
		next();
		break;
	}
}

/* The last cluster_get of certs/name found want: the scenario ends. */
static void
read_is(const char *name, const char *want, const char *what)
{
	if (strcmp(got, want) != 0)
		fail("certs/%s is %s", name, got);
	say("certs/%s holds %s", name, what);
	event_base_loopbreak(base);
}

/* Blocks the whole process as a stall would, until the test writes FIFO. */
static void
stall(void)
{
	char	buf[16];
	int	fd;

	if ((fd = open(fifo, O_RDONLY)) == -1 || read(fd, buf, sizeof(buf)) < 0)
		fail("%s: cannot read", fifo);
	close(fd);
}

static void
stall_take(void)
{
	int		 me = 0;

	switch (st) {
	case 0:
		/* after a BUSY, 300 ms before the next try */
		WAIT_UNTIL(nodes[me].up && (res[0][0] != CLUSTER_BUSY ||
		    since(&st_t0) > 0.3), "the session");
		claim_now(me, "www");
		break;
	case 1:
		WAIT_UNTIL(pending == 0, "the claim");
		if (res[0][0] != CLUSTER_CLAIMED) {
			if (strcmp(scenario, "stall") == 0 || since(&t_claims) > 15)
				fail("%s could not claim www", nodes[me].name);
			st = -1;	/* the old holder's lease has to go */
			next();
			break;
		}
		say("%s claimed www", nodes[me].name);
		if (strcmp(scenario, "stall") == 0) {
			put_kind(me, "orders", "www", "order-a", "www", 0);
			st = 5;
			break;
		}
		if (strcmp(got, "order-a") != 0)
			fail("the order left by a: %s", got);
		say("b's claim handed it the order a left under the lock");
		put(me, "www", "from-b", "www", 0);
		next();
		break;
	case 5:
		WAIT_UNTIL(pending == 0, "a's order");
		if (last_err != NULL)
			fail("a's order write: %s", last_err);
		say("a stored its order in flight, fenced");
		stall();
		put(me, "www", "from-a", "www", 0);
		st = 2;
		break;
	case 2:
		WAIT_UNTIL(pending == 0, "the fenced write");
		if (strcmp(scenario, "take") == 0) {
			if (last_err != NULL)
				fail("the new holder's write: %s", last_err);
			say("b wrote certs/www under its lock");
			st = 10;	/* and holds it until FILE exists */
			break;
		}
		if (last_err != CLUSTER_FENCED)
			fail("the stalled holder's write: %s", last_err ?
			    last_err : "done");
		say("the stalled holder's fenced write was refused (FENCED)");
		next();
		break;
	case 3:
		WAIT_UNTIL(nodes[me].downs > 0 && nodes[me].up,
		    "the session down and up again");
		say("its session went down (lease lost) and came up again");
		pending++;
		cluster_get(nodes[me].c, "certs", "www", get_cb, NULL);
		next();
		break;
	case 4:
		WAIT_UNTIL(pending == 0, "the read");
		read_is("www", "from-b", "the new holder's value");
		break;
	case 10:
		WAIT_UNTIL(access(fifo, F_OK) == 0, "the end of the stall");
		if (!cluster_holds(nodes[me].c, "www"))
			fail("%s", "b lost the lock meanwhile");
		say("b held the lock throughout");
		event_base_loopbreak(base);
		break;
	}
}

/* Two members stopped (SIGSTOP): no majority, so no session, no claim. */
static void
quorum(void)
{
	static struct timespec t;

	switch (st) {
	case 0:
		WAIT_UNTIL(nodes[0].up, "the session");
		members("pause", &t);
		break;
	case 1:
		WAIT_UNTIL(nodes[0].downs > 0, "the session down");
		say("the session went down %.1f s after the majority stopped",
		    since(&t));
		/* TTL 2, renewals every 2/3 s: the verdict may not wait for
		   renewals stuck on stopped members (2 s each) */
		if (since(&t) > 4.5)
			fail("%s", "the session went down too late");
		claim_now(0, "q");
		break;
	case 2:
		WAIT_UNTIL(pending == 0, "the claim while down");
		claim_is(CLUSTER_DOWN, "a claim while the session is down: "
		    "CLUSTER_DOWN");
		members("resume", &t);
		break;
	case 3:
		WAIT_UNTIL(nodes[0].up, "the session up again");
		say("up again %.1f s after the majority came back", since(&t));
		claim_now(0, "q");
		break;
	case 4:
		WAIT_UNTIL(pending == 0, "the claim");
		claim_is(CLUSTER_CLAIMED, "and claims again");
		event_base_loopbreak(base);
		break;
	}
}

/* 20 fenced writes, one after another; the leader killed after the 5th */
static void
leader(void)
{
	static int		 i;
	static double		 longest;
	static struct timespec	 t;
	char			 v[16];

	switch (st) {
	case 0:
		WAIT_UNTIL(nodes[0].up, "the session");
		claim_now(0, "L");
		break;
	case 1:
		WAIT_UNTIL(pending == 0, "the claim");
		if (res[0][0] != CLUSTER_CLAIMED)
			fail("%s", "claim of L");
		next();
		break;
	case 2:
		if (i > 0) {
			WAIT_UNTIL(pending == 0, "a write");
			if (last_err != NULL)
				fail("write %d: %s", i - 1, last_err);
			longest = since(&t) > longest ? since(&t) : longest;
		}
		if (i == 5) {
			say("5 fenced writes done; killing the etcd leader");
			hook("killleader", NULL);
		}
		if (i == 20) {
			say("20 fenced writes done across a leader kill "
			    "(longest %.1f s)", longest);
			pending++;
			cluster_get(nodes[0].c, "certs", "L", get_cb, NULL);
			next();
			break;
		}
		snprintf(v, sizeof(v), "v%d", i++);
		clock_gettime(CLOCK_MONOTONIC, &t);
		clock_gettime(CLOCK_MONOTONIC, &st_t0);
		put(0, "L", v, "L", 0);
		break;
	case 3:
		WAIT_UNTIL(pending == 0, "the read");
		read_is("L", "v19", "the last write, v19");
		break;
	}
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (strcmp(scenario, "multi") == 0)
		st < 7 ? multi_locks() : multi_compact();
	else if (strcmp(scenario, "leader") == 0)
		leader();
	else if (strcmp(scenario, "quorum") == 0)
		quorum();
	else if (strcmp(scenario, "wrongkey") == 0) {
		if (nodes[0].up)
			fail("%s", "a session under the wrong key came up");
		WAIT_UNTIL(nodes[0].fatal, "the fatal hook");
		say("a node with the wrong cluster key is refused (fatal)");
		event_base_loopbreak(base);
	} else
		stall_take();
}

static void
setup(const char *list)
{
	const char	*hex = getenv("CLUSTER_KEY");
	char		*l = xstrdup(list), *p;
	unsigned	 b;
	size_t		 i;

	for (p = strtok(l, ","); p != NULL; p = strtok(NULL, ",")) {
		eps = xreallocarray(eps, neps + 1, sizeof(*eps));
		eps[neps++] = xstrdup(p);
	}
	free(l);
	if (hex == NULL || strlen(hex) != 2 * sizeof(key))
		fail("%s", "CLUSTER_KEY: 64 hex digits wanted");
	for (i = 0; i < sizeof(key); i++) {
		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			fail("%s", "CLUSTER_KEY: not hex");
		key[i] = (unsigned char)b;
	}
}

int
main(int argc, char **argv)
{
	struct etcd_tls	 tls = { NULL, NULL, NULL };
	struct timeval	 tv = { 0, 20000 };
	int64_t		 ttl = getenv("CLUSTER_TTL") ? atoi(getenv("CLUSTER_TTL")) : 5;
	int		 i;

	if (argc < 4 || getenv("ETCD_HOOK") == NULL) {
		fprintf(stderr, "usage: cluster_drive SCENARIO EPS PREFIX [FIFO]\n");
		return 2;
	}
	log_init(getenv("CLUSTER_DEBUG") != NULL ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	setvbuf(stdout, NULL, _IOLBF, 0);
	scenario = argv[1];
	prefix = argv[3];
	fifo = argc > 4 ? argv[4] : NULL;
	setup(argv[2]);
	base = event_base_new();
	http = http_client_new(base, "cluster_drive");
	raw = etcd_new(base, http, (const char *const *)eps, neps, &tls);
	if (strcmp(scenario, "multi") == 0) {
		node_start(0, "n1", neps, ttl);
		node_start(1, "n2", neps, ttl);
		node_start(2, "n3", 1, ttl);
	} else if (strcmp(scenario, "wrongkey") == 0) {
		key[0] ^= 1;
		node_start(0, "w", neps, ttl);
	} else
		node_start(0, strcmp(scenario, "stall") == 0 ? "a" :
		    strcmp(scenario, "take") == 0 ? "b" :
		    strcmp(scenario, "quorum") == 0 ? "q" : "l", neps, ttl);
	clock_gettime(CLOCK_MONOTONIC, &st_t0);
	t_claims = st_t0;
	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	evtimer_add(tick, &tv);
	event_base_dispatch(base);
	event_free(tick);
	for (i = 0; i < nnodes; i++)
		cluster_free(nodes[i].c);
	etcd_free(raw);
	http_client_free(http);
	event_base_free(base);
	for (i = 0; i < (int)neps; i++)
		free(eps[i]);
	free(eps);
	return 0;
}
