/* cluster.c - cluster mode on etcd: the session, locks with fencing, the
 * order semaphore, sealed records and the watch (DESIGN.md, "Cluster mode") */
#include "config.h"

#include <sys/queue.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "cluster.h"
#include "crypto.h"
#include "htab.h"
#include "log.h"
#include "xmalloc.h"

/*
 * Everything runs on the loop. The session is a chain of calls, one at a
 * time (phase): lease grant, the check value, nodes/<node>, the read of
 * the whole prefix; then the watch keeps the in-memory tables (nodes,
 * locks, known records) current. Claims, writes and semaphore slots are
 * objects of their own, each with one etcd call in flight at most and a
 * timer for delays and for results that must not be given from inside
 * the function that asked. Losing the lease fails every waiting one and
 * forgets every lock this node held: their tokens are void.
 */

const char CLUSTER_FENCED[] = "this node no longer holds the lock";
const char CLUSTER_EXISTS[] = "the record exists already";

#define CHECK_PLAINTEXT		"renewd cluster check v1"
#define RETRY_FIRST_MS		1000
#define RETRY_MAX_MS		10000
#define UNKNOWN_RETRY_MS	200
#define CLAIM_TRIES		5
/* a write of unknown outcome: re-read, then again (an election: 1-2.3 s) */
#define CALL_TRIES		5
#define CALL_RETRY_MS		400

/* A keyed entry kept both in a hash (lookup) and a list (walks). */
struct entry {
	TAILQ_ENTRY(entry)	 link;
	char			*key;
	char			*text;		/* node: view; lock: holder */
	int64_t			 n;		/* lock: create_revision; held: token */
	int			 mark;		/* record: seen by this resync */
};
TAILQ_HEAD(entries, entry);
struct table {
	struct htab		*h;
	struct entries		 list;
};

enum phase { PH_IDLE, PH_GRANT, PH_CHECK, PH_NODE, PH_READ, PH_UP, PH_WAIT,
    PH_FATAL };

struct cluster_claim {
	struct cluster			*c;
	TAILQ_ENTRY(cluster_claim)	 link;
	char				*name;
	int				 flags;
	int				 tries;
	struct timespec			 t0;
	struct event			*timer;
	struct etcd_call		*ec;
	int				 down;		/* finish DOWN from the timer */
	cluster_claim_cb		 cb;
	void				*arg;
};

enum call_op { OP_PUT, OP_DELETE, OP_GET };

struct cluster_call {
	struct cluster			*c;
	TAILQ_ENTRY(cluster_call)	 link;
	enum call_op			 op;
	char				*key;
	unsigned char			*sealed;
	size_t				 sealed_len;
	char				*fence;		/* full lock key, or NULL */
	char				*fence_name;
	int64_t				 token;
	int				 flags;
	int				 rereading;	/* after ETCD_UNKNOWN */
	int				 retried;
	const char			*result;	/* for the deferred finish */
	char				 err[512];
	struct event			*timer;
	struct etcd_call		*ec;
	cluster_done_cb			 done;
	cluster_get_cb			 got;
	void				*arg;
};

enum sem_state { SEM_TRYING, SEM_WAITING, SEM_HELD, SEM_FAILED, SEM_OVER };

struct cluster_sem {
	struct cluster			*c;
	TAILQ_ENTRY(cluster_sem)	 link;
	char				*ca;
	char				*cert;
	char				 id[17];	/* tells apart two waits of one node */
	unsigned			 max;
	unsigned			 slot;		/* tried or held */
	unsigned			 tried;		/* this round */
	uint64_t			 gen;		/* c->sem_gen at the round's start */
	int64_t				 token;
	enum sem_state			 state;
	struct event			*timer;
	struct etcd_call		*ec;
	void				(*cb)(void *, int);
	void				*arg;
};

struct cluster {
	struct event_base		*base;
	struct etcd			*e;
	char				*prefix;
	char				*node;
	unsigned char			 key[CRYPTO_SEAL_KEY_LEN];
	int64_t				 ttl;
	unsigned			 stagger;
	char				*view;
	time_t				 started;	/* published in nodes/<node> */
	struct cluster_hooks		 hooks;

	enum phase			 phase;
	int				 up;
	struct timespec			 up_t0;		/* when it last came up */
	int64_t				 lease;
	struct etcd_keeper		*keeper;
	struct etcd_call		*scall;		/* the session's call */
	struct event			*retry;
	struct event			*reread;	/* a failed resync, again */
	long				 backoff_ms;
	struct etcd_watch		*w;
	uint64_t			 sem_gen;	/* sem/ deletes seen */

	struct table			 nodes, locks, held, recs;
	TAILQ_HEAD(, cluster_claim)	 claims;
	TAILQ_HEAD(, cluster_call)	 calls;
	TAILQ_HEAD(, cluster_sem)	 sems;
	TAILQ_HEAD(, sem_free)		 frees;		/* slot releases not yet done */
};

/* ---- tables ---- */

static void
tab_init(struct table *t)
{
	t->h = htab_new();
	TAILQ_INIT(&t->list);
}

static struct entry *
tab_get(const struct table *t, const char *key)
{
	return htab_get(t->h, key);
}

/* Returns key's entry, created empty if absent. */
static struct entry *
tab_put(struct table *t, const char *key)
{
	struct entry *en = htab_get(t->h, key);

	if (en == NULL) {
		en = xcalloc(1, sizeof(*en));
		en->key = xstrdup(key);
		htab_put(t->h, en->key, en);
		TAILQ_INSERT_TAIL(&t->list, en, link);
	}
	return en;
}

static void
tab_del(struct table *t, const char *key)
{
	struct entry *en = htab_del(t->h, key);

	if (en == NULL)
		return;
	TAILQ_REMOVE(&t->list, en, link);
	free(en->key);
	free(en->text);
	free(en);
}

static void
tab_clear(struct table *t)
{
	while (!TAILQ_EMPTY(&t->list))
		tab_del(t, TAILQ_FIRST(&t->list)->key);
}

static void
tab_free(struct table *t)
{
	tab_clear(t);
	htab_free(t->h);
}

/* ---- small helpers ---- */

static char *
full_key(const struct cluster *c, const char *kind, const char *name)
{
	return xasprintf("%s%s/%s", c->prefix, kind, name);
}

static void
arm_ms(struct event *ev, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}


/* Returns the "node" member of a JSON value (malloc'd), or NULL. */
static char *
json_node(const unsigned char *v, size_t len)
{
	json_t	*j = json_loadb((const char *)v, len, 0, NULL);
	json_t	*n = json_object_get(j, "node");
	char	*s = json_is_string(n) ? xstrdup(json_string_value(n)) : NULL;

	json_decref(j);
	return s;
}

static unsigned char *
lock_value(const struct cluster *c, size_t *len)
{
	json_t		*j = json_pack("{s:s}", "node", c->node);
	char		*s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	if (s == NULL)
		abort();
	*len = strlen(s);
	return (unsigned char *)s;
}

/* Opens a sealed value under its full key; NULL if it does not open. */
static unsigned char *
open_value(const struct cluster *c, const struct etcd_kv *kv, size_t *len)
{
	return crypto_unseal(c->key, kv->key, kv->key_len, kv->value,
	    kv->value_len, len);
}

/* ---- rendezvous ---- */

uint64_t
cluster_score(const char *node, const char *name)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;	/* FNV-1a over node "\0" name */
	const char	*p;

	for (p = node; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	h = (h ^ 0) * 0x100000001b3ULL;
	for (p = name; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	/* a finaliser, so that names differing in one byte spread evenly */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* This node's position for name among the live nodes (0 = first). */
static unsigned
rank_of(const struct cluster *c, const char *name)
{
	const struct entry	*en;
	uint64_t		 mine = cluster_score(c->node, name), s;
	unsigned		 k = 0;

	TAILQ_FOREACH(en, &c->nodes.list, link) {
		if (strcmp(en->key, c->node) == 0)
			continue;
		s = cluster_score(en->key, name);
		if (s > mine || (s == mine && strcmp(en->key, c->node) < 0))
			k++;
	}
	return k;
}

/* ---- the in-memory view, kept by the read and the watch ---- */

static void
lock_lost(struct cluster *c, const char *name, const char *why)
{
	log_warn("cluster: lock on %s lost: %s", name, why);
	tab_del(&c->held, name);
}

static void
wake_sems(struct cluster *c, const char *ca);

/* A record kv (certs/, accounts/, chall/): opened and passed on. */
static void
apply_record(struct cluster *c, const struct etcd_kv *kv, const char *rel)
{
	const char	*slash = strchr(rel, '/');
	unsigned char	*pt;
	size_t		 len;
	char		*kind;
	struct entry	*en;

	if ((pt = open_value(c, kv, &len)) == NULL) {
		log_warn("cluster: etcd key %s: does not open under the cluster key",
		    kv->key);
		return;
	}
	kind = xstrndup(rel, (size_t)(slash - rel));
	en = tab_put(&c->recs, rel);
	en->mark = 1;
	if (c->hooks.record != NULL)
		c->hooks.record(c->hooks.arg, kind, slash + 1, pt, len);
	free(kind);
	xfree_secret(pt, len);
}

static int
is_record(const char *rel)
{
	return strncmp(rel, "certs/", 6) == 0 ||
	    strncmp(rel, "accounts/", 9) == 0 || strncmp(rel, "chall/", 6) == 0;
}

/* A PUT seen in the read or on the watch. */
static void
apply_put(struct cluster *c, const struct etcd_kv *kv)
{
	const char	*rel = kv->key + strlen(c->prefix);
	struct entry	*en, *h;
	json_t		*j, *v;

	if (strncmp(rel, "nodes/", 6) == 0) {
		en = tab_put(&c->nodes, rel + 6);
		free(en->text);
		j = json_loadb((const char *)kv->value, kv->value_len, 0, NULL);
		v = json_object_get(j, "view");
		en->text = json_is_object(v) ?
		    json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		json_decref(j);
	} else if (strncmp(rel, "locks/", 6) == 0) {
		en = tab_put(&c->locks, rel + 6);
		free(en->text);
		en->text = json_node(kv->value, kv->value_len);
		en->n = kv->create_revision;
		h = tab_get(&c->held, rel + 6);
		if (h != NULL && h->n != kv->create_revision &&
		    kv->mod_revision > h->n)
			lock_lost(c, rel + 6, "another node took it");
	} else if (is_record(rel))
		apply_record(c, kv, rel);
}

/* A DELETE seen on the watch. */
static void
apply_delete(struct cluster *c, const struct etcd_kv *kv)
{
	const char	*rel = kv->key + strlen(c->prefix), *slash;
	struct entry	*h;
	char		*ca;

	if (strncmp(rel, "nodes/", 6) == 0)
		tab_del(&c->nodes, rel + 6);
	else if (strncmp(rel, "locks/", 6) == 0) {
		tab_del(&c->locks, rel + 6);
		h = tab_get(&c->held, rel + 6);
		if (h != NULL && kv->mod_revision > h->n)
			lock_lost(c, rel + 6, "its key was deleted");
		else if (h == NULL && c->hooks.record != NULL)	/* free to claim */
			c->hooks.record(c->hooks.arg, "locks", rel + 6, NULL, 0);
	} else if (strncmp(rel, "sem/", 4) == 0 &&
	    (slash = strchr(rel + 4, '/')) != NULL) {
		ca = xstrndup(rel + 4, (size_t)(slash - rel - 4));
		c->sem_gen++;
		wake_sems(c, ca);
		free(ca);
	} else if (is_record(rel) && tab_get(&c->recs, rel) != NULL) {
		tab_del(&c->recs, rel);
		slash = strchr(rel, '/');
		ca = xstrndup(rel, (size_t)(slash - rel));
		if (c->hooks.record != NULL)
			c->hooks.record(c->hooks.arg, ca, slash + 1, NULL, 0);
		free(ca);
	}
}

/*
 * Everything under the prefix, as one read found it: the tables rebuilt,
 * every record passed, deletes for the records no longer there.
 */
static void
resync(struct cluster *c, const struct etcd_range *rg)
{
	struct entry	*en, *next;
	char		*kind, *slash;
	size_t		 i;

	tab_clear(&c->nodes);
	tab_clear(&c->locks);
	TAILQ_FOREACH(en, &c->recs.list, link)
		en->mark = 0;
	for (i = 0; i < rg->nkvs; i++)
		apply_put(c, &rg->kvs[i]);
	for (en = TAILQ_FIRST(&c->recs.list); en != NULL; en = next) {
		next = TAILQ_NEXT(en, link);
		if (en->mark)
			continue;
		kind = xstrdup(en->key);
		slash = strchr(kind, '/');
		*slash = '\0';
		tab_del(&c->recs, en->key);
		if (c->hooks.record != NULL)
			c->hooks.record(c->hooks.arg, kind, slash + 1, NULL, 0);
		free(kind);
	}
	for (en = TAILQ_FIRST(&c->held.list); en != NULL; en = next) {
		next = TAILQ_NEXT(en, link);
		if (tab_get(&c->locks, en->key) == NULL ||
		    tab_get(&c->locks, en->key)->n != en->n)
			lock_lost(c, en->key, "gone when the cluster was read again");
	}
	wake_sems(c, NULL);
}

static void	read_all(struct cluster *);

static void
watch_cb(struct etcd_watch *w, const struct etcd_event *ev, void *arg)
{
	struct cluster *c = arg;

	(void)w;
	switch (ev->type) {
	case ETCD_EV_PUT:
		apply_put(c, ev->kv);
		break;
	case ETCD_EV_DELETE:
		apply_delete(c, ev->kv);
		break;
	case ETCD_EV_COMPACTED:
		log_notice("cluster: the watch missed a compaction (revision %"
		    PRId64 "): reading everything again", ev->compact_revision);
		read_all(c);
		break;
	}
}

/* ---- the session ---- */

static void	session_send(struct cluster *);
static void	session_done(const struct etcd_reply *, void *);
static void	fail_waiters(struct cluster *);

static void
ignore_reply(const struct etcd_reply *r, void *arg)
{
	(void)r;
	(void)arg;
}

/* Drops the lease (revoked, best effort) and what hangs on it. */
static void
drop_lease(struct cluster *c)
{
	etcd_keeper_stop(c->keeper);
	c->keeper = NULL;
	if (c->lease != 0)
		etcd_lease_revoke(c->e, c->lease, ignore_reply, NULL);
	c->lease = 0;
	etcd_watch_cancel(c->w);
	c->w = NULL;
	tab_clear(&c->held);
}

/* Gives up this session and tries again after the backoff. */
static void
session_retry(struct cluster *c, const char *why)
{
	int was_up = c->up;

	if (was_up)
		log_warn("cluster: session down: %s; again in %ld s", why,
		    c->backoff_ms / 1000);
	else
		log_warn("cluster: session to etcd not up: %s; again in %ld s",
		    why, c->backoff_ms / 1000);
	etcd_cancel(c->scall);
	c->scall = NULL;
	evtimer_del(c->reread);
	drop_lease(c);
	c->up = 0;
	c->phase = PH_WAIT;
	arm_ms(c->retry, c->backoff_ms);
	c->backoff_ms = c->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS :
	    c->backoff_ms * 2;
	fail_waiters(c);
	if (was_up && c->hooks.state != NULL)
		c->hooks.state(c->hooks.arg, 0);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;

	(void)fd;
	(void)what;
	c->phase = PH_GRANT;
	session_send(c);
}

static void
lost_cb(int64_t id, const char *why, void *arg)
{
	struct cluster	*c = arg;
	char		 buf[512];

	(void)id;
	snprintf(buf, sizeof(buf), "lease lost: %s", why);
	etcd_keeper_stop(c->keeper);
	c->keeper = NULL;
	c->lease = 0;		/* gone: nothing to revoke */
	c->backoff_ms = RETRY_FIRST_MS;
	session_retry(c, buf);
}

static char *
node_value(const struct cluster *c)
{
	json_t	*view = json_loads(c->view != NULL ? c->view : "{}", 0, NULL);
	json_t	*j;
	char	*s;

	if (!json_is_object(view)) {
		json_decref(view);
		view = json_object();
	}
	j = json_pack("{s:s,s:I,s:I,s:o}", "node", c->node,
	    "pid", (json_int_t)getpid(), "started", (json_int_t)c->started,
	    "view", view);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s == NULL)
		abort();
	return s;
}

static struct etcd_call *
put_node(struct cluster *c, etcd_cb cb, void *arg)
{
	char			*k = full_key(c, "nodes", c->node);
	char			*v = node_value(c);
	struct etcd_call	*ec;

	ec = etcd_put(c->e, k, (unsigned char *)v, strlen(v), c->lease, cb, arg);
	free(k);
	free(v);
	return ec;
}

/* The check value: created if absent, else it must open. */
static struct etcd_call *
send_check(struct cluster *c)
{
	char			*k = xasprintf("%scheck", c->prefix);
	unsigned char		*sealed;
	size_t			 len;
	struct etcd_cmp		 cmp = { .key = k, .target = ETCD_CMP_CREATE,
				    .result = ETCD_EQUAL, .value = 0 };
	struct etcd_op		 put = { .type = ETCD_OP_PUT, .key = k };
	struct etcd_op		 get = { .type = ETCD_OP_RANGE, .key = k };
	struct etcd_call	*ec;

	sealed = crypto_seal(c->key, k, strlen(k), CHECK_PLAINTEXT,
	    strlen(CHECK_PLAINTEXT), &len);
	put.value = sealed;
	put.value_len = len;
	ec = etcd_txn(c->e, &cmp, 1, &put, 1, &get, 1, session_done, c);
	free(sealed);
	free(k);
	return ec;
}

static void
session_send(struct cluster *c)
{
	char end[1024];

	switch (c->phase) {
	case PH_GRANT:
		c->scall = etcd_lease_grant(c->e, c->ttl, session_done, c);
		break;
	case PH_CHECK:
		c->scall = send_check(c);
		break;
	case PH_NODE:
		c->scall = put_node(c, session_done, c);
		break;
	case PH_READ:
		etcd_prefix_end(c->prefix, end);
		c->scall = etcd_range(c->e, c->prefix, end, 0, 0, session_done, c);
		break;
	default:
		return;
	}
	if (c->scall == NULL)
		session_retry(c, "the request could not be made");
}

/* The check value was there: it must open under this node's key. */
static int
check_opens(struct cluster *c, const struct etcd_reply *r)
{
	const struct etcd_range	*rg = r->nresponses > 0 ? &r->responses[0] : NULL;
	unsigned char		*pt;
	size_t			 len;
	int			 ok;

	if (rg == NULL || rg->nkvs == 0)
		return 1;	/* deleted meanwhile: the next try creates it */
	pt = open_value(c, &rg->kvs[0], &len);
	ok = pt != NULL && len == strlen(CHECK_PLAINTEXT) &&
	    memcmp(pt, CHECK_PLAINTEXT, len) == 0;
	free(pt);
	return ok;
}

static void
session_fatal(struct cluster *c)
{
	char why[1024];

	snprintf(why, sizeof(why), "the cluster key does not open the check "
	    "value %scheck in etcd (%s): this node's key file differs from "
	    "the cluster's", c->prefix, etcd_endpoint(c->e));
	log_err("cluster: %s", why);
	drop_lease(c);
	c->phase = PH_FATAL;
	if (c->hooks.fatal != NULL)
		c->hooks.fatal(c->hooks.arg, why);
}

static void
session_up(struct cluster *c, const struct etcd_reply *r)
{
	char end[1024];

	resync(c, &r->range);
	etcd_prefix_end(c->prefix, end);
	c->w = etcd_watch(c->e, c->prefix, end, r->revision + 1, watch_cb, c);
	c->phase = PH_UP;
	c->up = 1;
	clock_gettime(CLOCK_MONOTONIC, &c->up_t0);
	c->backoff_ms = RETRY_FIRST_MS;
	log_notice("cluster: session up as node %s (lease %" PRIx64 ", %zu "
	    "nodes, revision %" PRId64 ")", c->node, (uint64_t)c->lease,
	    htab_count(c->nodes.h), r->revision);
	if (c->hooks.state != NULL)
		c->hooks.state(c->hooks.arg, 1);
}

static void
session_done(const struct etcd_reply *r, void *arg)
{
	struct cluster *c = arg;

	c->scall = NULL;
	if (r->status != ETCD_OK) {
		session_retry(c, r->error);
		return;
	}
	switch (c->phase) {
	case PH_GRANT:
		c->lease = r->lease_id;
		c->keeper = etcd_keeper_start(c->e, c->lease, r->ttl > 0 ?
		    r->ttl : c->ttl, lost_cb, c);
		c->phase = PH_CHECK;
		break;
	case PH_CHECK:
		if (!r->succeeded && !check_opens(c, r)) {
			session_fatal(c);
			return;
		}
		c->phase = r->succeeded || (r->nresponses > 0 &&
		    r->responses[0].nkvs > 0) ? PH_NODE : PH_CHECK;
		break;
	case PH_NODE:
		c->phase = PH_READ;
		break;
	case PH_READ:
		session_up(c, r);
		return;
	default:
		return;
	}
	session_send(c);
}

/* After a compaction: everything read again, the watch restarted after it. */
static void	read_all_done(const struct etcd_reply *, void *);

static void
read_all(struct cluster *c)
{
	char end[1024];

	if (c->scall != NULL || c->phase != PH_UP)
		return;
	etcd_prefix_end(c->prefix, end);
	c->scall = etcd_range(c->e, c->prefix, end, 0, 0, read_all_done, c);
	if (c->scall == NULL)
		arm_ms(c->reread, RETRY_FIRST_MS);
}

static void
reread_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	read_all(arg);
}

static void
read_all_done(const struct etcd_reply *r, void *arg)
{
	struct cluster *c = arg;

	c->scall = NULL;
	if (r->status != ETCD_OK) {
		/* the lease may be fine: only the read is tried again */
		log_warn("cluster: reading everything again: %s; again in 1 s",
		    r->error);
		arm_ms(c->reread, RETRY_FIRST_MS);
		return;
	}
	resync(c, &r->range);
	etcd_watch_restart(c->w, r->revision + 1);
	log_notice("cluster: read again at revision %" PRId64, r->revision);
}

struct cluster *
cluster_new(struct event_base *base, struct http_client *http,
    const struct cluster_params *p, const struct cluster_hooks *hooks)
{
	struct cluster	*c;
	struct etcd	*e;

	if ((e = etcd_new(base, http, p->endpoints, p->nendpoints,
	    &p->tls)) == NULL)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->base = base;
	c->e = e;
	c->prefix = xstrdup(p->prefix);
	c->node = xstrdup(p->node);
	memcpy(c->key, p->key, sizeof(c->key));
	c->ttl = p->lease_ttl > 0 ? p->lease_ttl : 15;
	c->stagger = p->stagger;
	c->view = p->view != NULL ? xstrdup(p->view) : NULL;
	c->hooks = *hooks;
	c->started = time(NULL);
	c->backoff_ms = RETRY_FIRST_MS;
	c->retry = evtimer_new(base, retry_cb, c);
	c->reread = evtimer_new(base, reread_cb, c);
	tab_init(&c->nodes);
	tab_init(&c->locks);
	tab_init(&c->held);
	tab_init(&c->recs);
	TAILQ_INIT(&c->claims);
	TAILQ_INIT(&c->calls);
	TAILQ_INIT(&c->sems);
	TAILQ_INIT(&c->frees);
	return c;
}

void
cluster_start(struct cluster *c)
{
	if (c->phase != PH_IDLE)
		return;
	c->phase = PH_GRANT;
	session_send(c);
}

int
cluster_up(const struct cluster *c)
{
	return c->up;
}

const char *
cluster_node(const struct cluster *c)
{
	return c->node;
}

void
cluster_set_view(struct cluster *c, const char *json)
{
	if ((json == NULL && c->view == NULL) || (json != NULL &&
	    c->view != NULL && strcmp(json, c->view) == 0))
		return;		/* the same: no write */
	free(c->view);
	c->view = json != NULL ? xstrdup(json) : NULL;
	if (c->up)
		put_node(c, ignore_reply, NULL);
}

static int
node_cmp(const void *a, const void *b)
{
	const struct cluster_node_info *x = a, *y = b;

	return strcmp(x->node, y->node);
}

void
cluster_nodes(const struct cluster *c,
    void (*fn)(void *, const struct cluster_node_info *), void *arg)
{
	struct cluster_node_info	*v;
	const struct entry		*en;
	size_t				 n = 0, i;

	v = xreallocarray(NULL, htab_count(c->nodes.h) + 1, sizeof(*v));
	TAILQ_FOREACH(en, &c->nodes.list, link) {
		v[n].node = en->key;
		v[n++].view = en->text != NULL ? en->text : "{}";
	}
	qsort(v, n, sizeof(*v), node_cmp);
	for (i = 0; i < n; i++)
		fn(arg, &v[i]);
	free(v);
}

const char *
cluster_holder(const struct cluster *c, const char *name)
{
	const struct entry *en = tab_get(&c->locks, name);

	return en != NULL ? en->text : NULL;
}

int
cluster_holds(const struct cluster *c, const char *name)
{
	return tab_get(&c->held, name) != NULL;
}

/* ---- claims ---- */

static void	claim_timer_cb(evutil_socket_t, short, void *);

static void
claim_free(struct cluster_claim *cl)
{
	TAILQ_REMOVE(&cl->c->claims, cl, link);
	etcd_cancel(cl->ec);
	event_free(cl->timer);
	free(cl->name);
	free(cl);
}

static void
claim_finish(struct cluster_claim *cl, enum cluster_claim_result res,
    const unsigned char *order, size_t len)
{
	cluster_claim_cb	 cb = cl->cb;
	void			*arg = cl->arg;

	claim_free(cl);
	cb(arg, res, order, len);
}

static void
claim_done(const struct etcd_reply *r, void *arg)
{
	struct cluster_claim	*cl = arg;
	struct cluster		*c = cl->c;
	const struct etcd_range	*lk, *ord;
	const struct etcd_kv	*kv;
	unsigned char		*order = NULL;
	size_t			 len = 0;
	char			*holder = NULL;
	int64_t			 token = 0;

	cl->ec = NULL;
	if (r->status == ETCD_UNKNOWN && ++cl->tries < CLAIM_TRIES && c->up) {
		arm_ms(cl->timer, UNKNOWN_RETRY_MS);	/* the txn re-reads */
		return;
	}
	if (r->status != ETCD_OK || r->nresponses != 2 || !c->up) {
		if (r->status != ETCD_OK)
			log_warn("cluster: claim of %s: %s", cl->name, r->error);
		claim_finish(cl, CLUSTER_DOWN, NULL, 0);
		return;
	}
	lk = &r->responses[0];
	ord = &r->responses[1];
	if (r->succeeded)
		token = r->revision;
	else if (lk->nkvs == 1 && lk->kvs[0].lease == c->lease &&
	    (holder = json_node(lk->kvs[0].value, lk->kvs[0].value_len)) != NULL &&
	    strcmp(holder, c->node) == 0)
		token = lk->kvs[0].create_revision;
	free(holder);
	if (token == 0) {
		claim_finish(cl, CLUSTER_BUSY, NULL, 0);
		return;
	}
	tab_put(&c->held, cl->name)->n = token;
	if (ord->nkvs == 1 && (order = open_value(c, kv = &ord->kvs[0],
	    &len)) == NULL)
		log_warn("cluster: etcd key %s: does not open under the cluster "
		    "key", kv->key);
	claim_finish(cl, CLUSTER_CLAIMED, order, len);
	xfree_secret(order, len);
}

/*
 * One transaction: absent -> the lock on this node's lease and the order
 * read; else the lock and the order read (this node may hold it already).
 */
static void
claim_send(struct cluster_claim *cl)
{
	struct cluster		*c = cl->c;
	char			*lk = full_key(c, "locks", cl->name);
	char			*ord = full_key(c, "orders", cl->name);
	size_t			 len;
	unsigned char		*v = lock_value(c, &len);
	struct etcd_cmp		 cmp = { .key = lk, .target = ETCD_CMP_CREATE,
				    .result = ETCD_EQUAL, .value = 0 };
	struct etcd_op		 succ[2] = {
		{ .type = ETCD_OP_PUT, .key = lk, .value = v, .value_len = len,
		  .lease = c->lease },
		{ .type = ETCD_OP_RANGE, .key = ord } };
	struct etcd_op		 fail[2] = {
		{ .type = ETCD_OP_RANGE, .key = lk },
		{ .type = ETCD_OP_RANGE, .key = ord } };

	cl->ec = etcd_txn(c->e, &cmp, 1, succ, 2, fail, 2, claim_done, cl);
	free(lk);
	free(ord);
	free(v);
	if (cl->ec == NULL) {
		cl->down = 1;
		arm_ms(cl->timer, 0);
	}
}

/*
 * Seconds a ranked claim still waits: its rank's share of stagger, and
 * at least one stagger after the session came up, so that nodes started
 * together see each other before they rank (else the first one up would
 * take every certificate).
 */
static double
claim_wait(const struct cluster_claim *cl)
{
	double	rank, join;

	rank = (double)rank_of(cl->c, cl->name) * cl->c->stagger -
	    etcd_secs_since(&cl->t0);
	join = (double)cl->c->stagger - etcd_secs_since(&cl->c->up_t0);
	return rank > join ? rank : join;
}

static void
claim_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster_claim	*cl = arg;
	double			 due;

	(void)fd;
	(void)what;
	if (cl->down || !cl->c->up) {
		claim_finish(cl, CLUSTER_DOWN, NULL, 0);
		return;
	}
	if (!(cl->flags & CLUSTER_CLAIM_NOW)) {
		/* ranked again: a node that joined may come first now */
		due = claim_wait(cl);
		if (due > 0.001) {
			arm_ms(cl->timer, (long)(due * 1000));
			return;
		}
	}
	claim_send(cl);
}

struct cluster_claim *
cluster_claim(struct cluster *c, const char *name, int flags,
    cluster_claim_cb cb, void *arg)
{
	struct cluster_claim	*cl = xcalloc(1, sizeof(*cl));
	long			 ms = 0;

	cl->c = c;
	cl->name = xstrdup(name);
	cl->flags = flags;
	cl->cb = cb;
	cl->arg = arg;
	clock_gettime(CLOCK_MONOTONIC, &cl->t0);
	cl->timer = evtimer_new(c->base, claim_timer_cb, cl);
	TAILQ_INSERT_TAIL(&c->claims, cl, link);
	if (!c->up)
		cl->down = 1;
	else if (!(flags & CLUSTER_CLAIM_NOW) && claim_wait(cl) > 0.001)
		ms = (long)(claim_wait(cl) * 1000);
	arm_ms(cl->timer, ms);
	return cl;
}

void
cluster_claim_cancel(struct cluster_claim *cl)
{
	if (cl != NULL)
		claim_free(cl);
}

void
cluster_release(struct cluster *c, const char *name)
{
	struct entry	*h = tab_get(&c->held, name);
	char		*lk;
	struct etcd_cmp	 cmp = { .target = ETCD_CMP_CREATE, .result = ETCD_EQUAL };
	struct etcd_op	 del = { .type = ETCD_OP_DELETE };

	if (h == NULL)
		return;
	lk = full_key(c, "locks", name);
	cmp.key = del.key = lk;
	cmp.value = h->n;
	etcd_txn(c->e, &cmp, 1, &del, 1, NULL, 0, ignore_reply, NULL);
	tab_del(&c->held, name);
	free(lk);
}

/* ---- records: fenced writes and reads ---- */

static void	call_send(struct cluster_call *);

static void
call_free(struct cluster_call *cc)
{
	TAILQ_REMOVE(&cc->c->calls, cc, link);
	etcd_cancel(cc->ec);
	event_free(cc->timer);
	free(cc->key);
	free(cc->sealed);
	free(cc->fence);
	free(cc->fence_name);
	free(cc);
}

static void
call_finish(struct cluster_call *cc, const char *error)
{
	cluster_done_cb	 done = cc->done;
	cluster_get_cb	 got = cc->got;
	void		*arg = cc->arg;
	char		 err[sizeof(cc->err)];

	if (error != NULL && error != CLUSTER_FENCED && error != CLUSTER_EXISTS) {
		snprintf(err, sizeof(err), "%s", error);
		error = err;
	}
	call_free(cc);
	if (got != NULL)
		got(arg, NULL, 0);
	else if (done != NULL)
		done(arg, error);
}

/* Finishes from the timer: never inside the function that was called. */
static void
call_finish_later(struct cluster_call *cc, const char *error)
{
	if (error != NULL && error != CLUSTER_FENCED && error != CLUSTER_EXISTS) {
		snprintf(cc->err, sizeof(cc->err), "%s", error);
		error = cc->err;
	}
	cc->result = error;
	cc->rereading = -1;
	arm_ms(cc->timer, 0);
}

static void
call_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster_call *cc = arg;

	(void)fd;
	(void)what;
	if (cc->rereading == -1)
		call_finish(cc, cc->result);
	else
		call_send(cc);
}

/* 1 if rg holds the bytes this call wrote (a fresh nonce each: ours). */
static int
ours(const struct cluster_call *cc, const struct etcd_range *rg)
{
	return cc->sealed != NULL && rg->nkvs == 1 &&
	    rg->kvs[0].value_len == cc->sealed_len &&
	    memcmp(rg->kvs[0].value, cc->sealed, cc->sealed_len) == 0;
}

/*
 * Why a guarded write did not happen: the fence went, or the key exists
 * (NULL if it exists with our bytes: a retry after an unknown outcome).
 */
static const char *
call_refused(struct cluster_call *cc, const struct etcd_reply *r)
{
	struct cluster		*c = cc->c;
	const struct etcd_range	*lk = r->nresponses > 0 ? &r->responses[0] : NULL;

	if (cc->fence != NULL && (lk == NULL || lk->nkvs == 0 ||
	    lk->kvs[0].create_revision != cc->token)) {
		log_warn("cluster: fenced write to %s refused: this node no "
		    "longer holds the lock on %s", cc->key, cc->fence_name);
		if (tab_get(&c->held, cc->fence_name) != NULL &&
		    tab_get(&c->held, cc->fence_name)->n == cc->token)
			lock_lost(c, cc->fence_name, "a fenced write was refused");
		return CLUSTER_FENCED;
	}
	if (r->nresponses > 0 && ours(cc, &r->responses[r->nresponses - 1]))
		return NULL;
	return CLUSTER_EXISTS;
}

/* After ETCD_UNKNOWN: did the write happen? 1 yes, 0 no. */
static int
call_happened(const struct cluster_call *cc, const struct etcd_reply *r)
{
	const struct etcd_range *rg = &r->range;

	if (cc->op == OP_DELETE)
		return rg->nkvs == 0;
	return ours(cc, rg);
}

static void
call_done(const struct etcd_reply *r, void *arg)
{
	struct cluster_call	*cc = arg;
	char			 err[600];

	cc->ec = NULL;
	if (cc->rereading) {
		cc->rereading = 0;
		if (r->status == ETCD_OK && call_happened(cc, r))
			call_finish(cc, NULL);
		else if (++cc->retried < CALL_TRIES)
			arm_ms(cc->timer, CALL_RETRY_MS);	/* guarded again */
		else
			call_finish(cc, r->status == ETCD_OK ?
			    "etcd left the write's outcome unknown, tries exhausted" :
			    r->error);
		return;
	}
	if (r->status == ETCD_UNKNOWN) {
		log_notice("cluster: write to %s: %s; reading it back", cc->key,
		    r->error);
		cc->rereading = 1;
		cc->ec = etcd_range(cc->c->e, cc->key, NULL, 0, 0, call_done, cc);
		if (cc->ec == NULL)
			call_finish(cc, "the request could not be made");
	} else if (r->status != ETCD_OK) {
		snprintf(err, sizeof(err), "%s: %s", cc->key, r->error);
		call_finish(cc, err);
	} else if (r->nresponses == 0 && cc->fence == NULL &&
	    !(cc->flags & CLUSTER_PUT_CREATE))
		call_finish(cc, NULL);		/* a plain put or delete */
	else
		call_finish(cc, r->succeeded ? NULL : call_refused(cc, r));
}

static void
get_done(const struct etcd_reply *r, void *arg)
{
	struct cluster_call	*cc = arg;
	cluster_get_cb		 got = cc->got;
	void			*uarg = cc->arg;
	unsigned char		*pt = NULL;
	size_t			 len = 0;

	cc->ec = NULL;
	if (r->status != ETCD_OK)
		log_warn("cluster: read of %s: %s", cc->key, r->error);
	else if (r->range.nkvs == 1 &&
	    (pt = open_value(cc->c, &r->range.kvs[0], &len)) == NULL)
		log_warn("cluster: etcd key %s: does not open under the cluster "
		    "key", cc->key);
	call_free(cc);
	got(uarg, pt, len);
	xfree_secret(pt, len);
}

/* The write as one transaction guarded by the fence and/or absence. */
static void
call_send(struct cluster_call *cc)
{
	struct cluster	*c = cc->c;
	struct etcd_cmp	 cmps[2];
	struct etcd_op	 op = { .key = cc->key }, fail[2];
	size_t		 ncmp = 0, nfail = 0;
	int64_t		 lease = (cc->flags & CLUSTER_PUT_LEASE) ? c->lease : 0;

	memset(cmps, 0, sizeof(cmps));
	memset(fail, 0, sizeof(fail));
	if (cc->op == OP_GET) {
		cc->ec = etcd_range(c->e, cc->key, NULL, 0, 0, get_done, cc);
		goto out;
	}
	op.type = cc->op == OP_PUT ? ETCD_OP_PUT : ETCD_OP_DELETE;
	op.value = cc->sealed;
	op.value_len = cc->sealed_len;
	op.lease = lease;
	if (cc->fence != NULL) {
		cmps[ncmp++] = (struct etcd_cmp){ .key = cc->fence,
		    .target = ETCD_CMP_CREATE, .result = ETCD_EQUAL,
		    .value = cc->token };
		fail[nfail++] = (struct etcd_op){ .type = ETCD_OP_RANGE,
		    .key = cc->fence };
	}
	if (cc->flags & CLUSTER_PUT_CREATE) {
		cmps[ncmp++] = (struct etcd_cmp){ .key = cc->key,
		    .target = ETCD_CMP_CREATE, .result = ETCD_EQUAL, .value = 0 };
		fail[nfail++] = (struct etcd_op){ .type = ETCD_OP_RANGE,
		    .key = cc->key };
	}
	if (ncmp == 0)
		cc->ec = cc->op == OP_PUT ? etcd_put(c->e, cc->key, cc->sealed,
		    cc->sealed_len, lease, call_done, cc) :
		    etcd_delete(c->e, cc->key, NULL, call_done, cc);
	else
		cc->ec = etcd_txn(c->e, cmps, ncmp, &op, 1, fail, nfail,
		    call_done, cc);
out:
	if (cc->ec == NULL)
		call_finish_later(cc, "the request could not be made");
}

static struct cluster_call *
call_new(struct cluster *c, enum call_op op, const char *kind,
    const char *name, const char *fence, int flags)
{
	struct cluster_call	*cc = xcalloc(1, sizeof(*cc));
	struct entry		*h;

	cc->c = c;
	cc->op = op;
	cc->key = full_key(c, kind, name);
	cc->flags = flags;
	cc->timer = evtimer_new(c->base, call_timer_cb, cc);
	TAILQ_INSERT_TAIL(&c->calls, cc, link);
	if (fence != NULL) {
		cc->fence = full_key(c, "locks", fence);
		cc->fence_name = xstrdup(fence);
		if ((h = tab_get(&c->held, fence)) != NULL)
			cc->token = h->n;
	}
	return cc;
}

/* Sends cc, or finishes it later when it cannot be sent at all. */
static struct cluster_call *
call_start(struct cluster_call *cc)
{
	if (cc->fence != NULL && cc->token == 0) {
		log_warn("cluster: fenced write to %s refused: this node does "
		    "not hold the lock on %s", cc->key, cc->fence_name);
		call_finish_later(cc, CLUSTER_FENCED);
	} else if ((cc->flags & CLUSTER_PUT_LEASE) && cc->c->lease == 0)
		call_finish_later(cc, "no cluster session (lease)");
	else
		call_send(cc);
	return cc;
}

struct cluster_call *
cluster_put(struct cluster *c, const char *kind, const char *name,
    const void *value, size_t len, const char *fence, int flags,
    cluster_done_cb cb, void *arg)
{
	struct cluster_call *cc = call_new(c, OP_PUT, kind, name, fence, flags);

	cc->sealed = crypto_seal(c->key, cc->key, strlen(cc->key), value, len,
	    &cc->sealed_len);
	cc->done = cb;
	cc->arg = arg;
	return call_start(cc);
}

struct cluster_call *
cluster_delete(struct cluster *c, const char *kind, const char *name,
    const char *fence, cluster_done_cb cb, void *arg)
{
	struct cluster_call *cc = call_new(c, OP_DELETE, kind, name, fence, 0);

	cc->done = cb;
	cc->arg = arg;
	return call_start(cc);
}

struct cluster_call *
cluster_get(struct cluster *c, const char *kind, const char *name,
    cluster_get_cb cb, void *arg)
{
	struct cluster_call *cc = call_new(c, OP_GET, kind, name, NULL, 0);

	cc->got = cb;
	cc->arg = arg;
	return call_start(cc);
}

void
cluster_call_cancel(struct cluster_call *cc)
{
	if (cc != NULL)
		call_free(cc);
}

/* ---- the order semaphore ---- */

static void	sem_try(struct cluster_sem *);

static void
sem_unlink(struct cluster_sem *s)
{
	TAILQ_REMOVE(&s->c->sems, s, link);
	etcd_cancel(s->ec);
	event_free(s->timer);
	free(s->ca);
	free(s->cert);
	free(s);
}

static char *
sem_value(const struct cluster_sem *s)
{
	json_t	*j = json_pack("{s:s,s:s,s:s}", "node", s->c->node, "cert",
		    s->cert, "id", s->id);
	char	*v = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	if (v == NULL)
		abort();
	return v;
}

/* The slot was taken: by this very request, whose reply was lost? */
static int
sem_ours(const struct cluster_sem *s, const struct etcd_reply *r)
{
	const struct etcd_kv	*kv;
	char			*v;
	int			 ours;

	if (r->nresponses != 1 || r->responses[0].nkvs != 1)
		return 0;
	kv = &r->responses[0].kvs[0];
	v = sem_value(s);
	ours = kv->lease == s->c->lease && kv->value_len == strlen(v) &&
	    memcmp(kv->value, v, kv->value_len) == 0;
	free(v);
	return ours;
}

static void
sem_round(struct cluster_sem *s)
{
	s->tried = 0;
	s->gen = s->c->sem_gen;
	s->state = SEM_TRYING;
	sem_try(s);
}

static void
sem_done(const struct etcd_reply *r, void *arg)
{
	struct cluster_sem *s = arg;

	s->ec = NULL;
	if (r->status == ETCD_OK && (r->succeeded || sem_ours(s, r))) {
		s->token = r->succeeded ? r->revision :
		    r->responses[0].kvs[0].create_revision;
		s->state = SEM_HELD;
		log_info("cluster: order slot %s/%u taken for %s", s->ca,
		    s->slot, s->cert);
		s->cb(s->arg, 1);
		return;
	}
	if (r->status == ETCD_UNKNOWN) {
		arm_ms(s->timer, UNKNOWN_RETRY_MS);	/* the same slot, guarded */
		return;
	}
	if (r->status != ETCD_OK) {
		log_warn("cluster: order slot %s/%u: %s", s->ca, s->slot,
		    r->error);
		arm_ms(s->timer, RETRY_FIRST_MS);
		return;
	}
	s->slot = (s->slot + 1) % s->max;
	if (++s->tried < s->max)
		sem_try(s);
	else if (s->gen != s->c->sem_gen)
		sem_round(s);			/* a slot freed during the round */
	else
		s->state = SEM_WAITING;		/* a DELETE on the watch wakes it */
}

static char *
sem_key(const struct cluster_sem *s, unsigned slot)
{
	return xasprintf("%ssem/%s/%u", s->c->prefix, s->ca, slot);
}

/* One slot: create-if-absent on this node's lease, else read it. */
static void
sem_try(struct cluster_sem *s)
{
	struct cluster	*c = s->c;
	char		*k = sem_key(s, s->slot), *v = sem_value(s);
	struct etcd_cmp	 cmp = { .key = k, .target = ETCD_CMP_CREATE,
			    .result = ETCD_EQUAL, .value = 0 };
	struct etcd_op	 put = { .type = ETCD_OP_PUT, .key = k,
			    .value = (unsigned char *)v, .value_len = strlen(v),
			    .lease = c->lease };
	struct etcd_op	 get = { .type = ETCD_OP_RANGE, .key = k };

	s->ec = etcd_txn(c->e, &cmp, 1, &put, 1, &get, 1, sem_done, s);
	free(k);
	free(v);
	if (s->ec == NULL)
		arm_ms(s->timer, RETRY_FIRST_MS);
}

static void
sem_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster_sem *s = arg;

	(void)fd;
	(void)what;
	if (s->state == SEM_OVER)
		return;
	if (s->state == SEM_FAILED || !s->c->up) {
		s->state = SEM_OVER;
		s->cb(s->arg, 0);	/* the caller releases it */
	} else
		sem_try(s);
}

/*
 * A slot of ca freed: this node's oldest waiter for it tries again (each
 * node's does: one of them gets it). Not all of them: a round is up to
 * max transactions, and every waiter of every node trying at each free
 * slot made the slots' handover the cluster's bottleneck (bench/README.md,
 * cluster.sh). ca NULL (a resync): every waiter, as what is free is unknown.
 */
static void
wake_sems(struct cluster *c, const char *ca)
{
	struct cluster_sem *s;

	TAILQ_FOREACH(s, &c->sems, link) {
		if (s->state != SEM_WAITING ||
		    (ca != NULL && strcmp(ca, s->ca) != 0))
			continue;
		sem_round(s);
		if (ca != NULL)
			break;
	}
}

struct cluster_sem *
cluster_sem_acquire(struct cluster *c, const char *ca, unsigned max,
    const char *cert, void (*cb)(void *, int), void *arg)
{
	struct cluster_sem *s = xcalloc(1, sizeof(*s));

	s->c = c;
	s->ca = xstrdup(ca);
	s->cert = xstrdup(cert);
	s->max = max > 0 ? max : 1;
	snprintf(s->id, sizeof(s->id), "%08x%08x", arc4random(), arc4random());
	s->slot = arc4random_uniform(s->max);
	s->cb = cb;
	s->arg = arg;
	s->timer = evtimer_new(c->base, sem_timer_cb, s);
	TAILQ_INSERT_TAIL(&c->sems, s, link);
	if (!c->up) {
		s->state = SEM_FAILED;
		arm_ms(s->timer, 0);
	} else
		sem_round(s);
	return s;
}

/*
 * A held slot's release. It is guarded by the slot's create_revision, so
 * sending it again is safe; it must not be lost: the slot is on this
 * node's lease, which lives on, and a lost release during an etcd
 * election kept the slot taken for good (with max_concurrent_orders 2,
 * the whole cluster stopped ordering).
 */
struct sem_free {
	TAILQ_ENTRY(sem_free)	 link;
	struct cluster		*c;
	struct etcd_call	*ec;
	struct event		*timer;
	char			*key;
	int64_t			 token;
	int			 tries;
};

#define SEM_FREE_TRIES	10

static void
sem_free_end(struct sem_free *f)
{
	TAILQ_REMOVE(&f->c->frees, f, link);
	etcd_cancel(f->ec);
	event_free(f->timer);
	free(f->key);
	free(f);
}

static void	sem_free_send(struct sem_free *);

static void
sem_free_done(const struct etcd_reply *r, void *arg)
{
	struct sem_free *f = arg;

	f->ec = NULL;
	if (r->status == ETCD_OK) {	/* deleted, or not ours any more */
		sem_free_end(f);
		return;
	}
	if (++f->tries < SEM_FREE_TRIES) {
		arm_ms(f->timer, CALL_RETRY_MS);
		return;
	}
	log_warn("cluster: order slot %s: its release failed (%s); it stays "
	    "taken until this node's lease ends", f->key, r->error);
	sem_free_end(f);
}

static void
sem_free_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sem_free_send(arg);
}

static void
sem_free_send(struct sem_free *f)
{
	struct etcd_cmp	 cmp = { .key = f->key, .target = ETCD_CMP_CREATE,
			    .result = ETCD_EQUAL, .value = f->token };
	struct etcd_op	 del = { .type = ETCD_OP_DELETE, .key = f->key };

	f->ec = etcd_txn(f->c->e, &cmp, 1, &del, 1, NULL, 0, sem_free_done, f);
	if (f->ec == NULL)
		arm_ms(f->timer, CALL_RETRY_MS);
}

void
cluster_sem_release(struct cluster_sem *s)
{
	struct sem_free	*f;

	if (s == NULL)
		return;
	if (s->state == SEM_HELD) {
		f = xcalloc(1, sizeof(*f));
		f->c = s->c;
		f->key = sem_key(s, s->slot);
		f->token = s->token;
		f->timer = evtimer_new(s->c->base, sem_free_timer_cb, f);
		TAILQ_INSERT_TAIL(&s->c->frees, f, link);
		sem_free_send(f);
		log_info("cluster: order slot %s/%u freed by %s", s->ca, s->slot,
		    s->cert);
	}
	sem_unlink(s);
}

/* The session went down: every waiting claim and slot gets its no. */
static void
fail_waiters(struct cluster *c)
{
	struct cluster_claim	*cl;
	struct cluster_sem	*s;

	TAILQ_FOREACH(cl, &c->claims, link) {
		etcd_cancel(cl->ec);
		cl->ec = NULL;
		cl->down = 1;
		arm_ms(cl->timer, 0);
	}
	TAILQ_FOREACH(s, &c->sems, link)
		if (s->state == SEM_TRYING || s->state == SEM_WAITING) {
			etcd_cancel(s->ec);
			s->ec = NULL;
			s->state = SEM_FAILED;
			arm_ms(s->timer, 0);
		}
}

/* Lets the loop run until the revoke is answered (not from inside it). */
static void
revoke_done(const struct etcd_reply *r, void *arg)
{
	(void)r;
	*(int *)arg = 1;
}

void
cluster_free(struct cluster *c)
{
	int done = 0;

	if (c == NULL)
		return;
	while (!TAILQ_EMPTY(&c->claims))
		claim_free(TAILQ_FIRST(&c->claims));
	while (!TAILQ_EMPTY(&c->calls))
		call_free(TAILQ_FIRST(&c->calls));
	while (!TAILQ_EMPTY(&c->sems))
		sem_unlink(TAILQ_FIRST(&c->sems));
	while (!TAILQ_EMPTY(&c->frees))	/* the lease's revoke ends them too */
		sem_free_end(TAILQ_FIRST(&c->frees));
	etcd_cancel(c->scall);
	etcd_keeper_stop(c->keeper);
	etcd_watch_cancel(c->w);
	if (c->lease != 0 && etcd_lease_revoke(c->e, c->lease, revoke_done,
	    &done) != NULL)
		while (!done && event_base_loop(c->base, EVLOOP_ONCE) == 0)
			;
	etcd_free(c->e);
	event_free(c->retry);
	event_free(c->reread);
	tab_free(&c->nodes);
	tab_free(&c->locks);
	tab_free(&c->held);
	tab_free(&c->recs);
	free(c->prefix);
	free(c->node);
	free(c->view);
	explicit_bzero(c->key, sizeof(c->key));
	free(c);
}
