/* cluster.h - cluster mode: this node's session in etcd, certificate locks
 * with fencing, a cluster-wide order semaphore, sealed records, and the
 * watch that tells this node what the other nodes did */
#ifndef RENEWD_CLUSTER_H
#define RENEWD_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "etcd.h"

struct event_base;
struct http_client;
struct cluster;
struct cluster_claim;
struct cluster_call;
struct cluster_sem;

/*
 * Keys under the prefix P (DESIGN.md, "Cluster mode"):
 *   P check               sealed check value: a wrong cluster key is refused
 *   P nodes/<node>        a live node (on its lease): JSON {"node","pid","started","view"}
 *   P locks/<name>        who holds a certificate (or "acct.<ca>") now (on the
 *                         holder's lease): JSON {"node"}; its create_revision
 *                         is the fencing token of every write the holder makes
 *   P sem/<ca>/<i>        order slot i < max_concurrent_orders of CA ca (on
 *                         the holder's lease): JSON {"node","cert","id"}
 *   P orders/<name>       sealed: the order in flight (fenced)
 *   P certs/<name>        sealed: the issued certificate, key and chain (fenced)
 *   P accounts/<ca>       sealed: the CA's account (created once)
 *   P chall/<token>       sealed: a published challenge (on the holder's lease)
 * "Sealed" is crypto_seal under the cluster key with the whole etcd key
 * name as associated data. Record contents are cluster_rec.h's business;
 * this module moves opaque bytes.
 */

struct cluster_params {
	const char *const	*endpoints;	/* etcd client URLs, tried in order */
	size_t			 nendpoints;
	struct etcd_tls		 tls;
	const char		*prefix;	/* ends with '/' */
	const char		*node;		/* this node's name, unique in the cluster */
	const unsigned char	*key;		/* CRYPTO_SEAL_KEY_LEN bytes (copied) */
	int64_t			 lease_ttl;	/* seconds: the session lease */
	unsigned		 stagger;	/* seconds: the node ranked k for a
						   certificate claims it k * stagger late */
	const char		*view;		/* JSON object this node publishes in
						   nodes/<node> ("view"); NULL: {} */
};

/* What the cluster tells renewd; every hook runs on the loop. */
struct cluster_hooks {
	/*
	 * The session is up (1: lease held, every record read, the watch
	 * running) or down (0: the lease is lost or no etcd member answers
	 * for a lease TTL: order nothing, keep serving). Called on every change.
	 */
	void	(*state)(void *arg, int up);
	/*
	 * A record changed: kind is "certs", "accounts" or "chall"; name the
	 * part of the key after "kind/"; value the opened plaintext (NUL-
	 * terminated too), NULL for a delete. On the first read and after a
	 * compaction every existing record is passed (the caller compares with
	 * what it has; deletes missed meanwhile are passed as deletes of the
	 * names it had and etcd no longer has). A value that does not open is
	 * logged, naming the etcd key, and not passed. Kind "locks" (value
	 * always NULL) says another node's lock went (released, or its lease
	 * ended): a node waiting on it may claim now.
	 */
	void	(*record)(void *arg, const char *kind, const char *name,
		    const unsigned char *value, size_t len);
	/*
	 * The cluster key does not open etcd's check value: this node must
	 * not run (why names the key file's mismatch and the etcd key).
	 */
	void	(*fatal)(void *arg, const char *why);
	void	*arg;
};

/* Returns a cluster session (nothing sent yet); params and hooks are copied. */
struct cluster	*cluster_new(struct event_base *, struct http_client *,
		    const struct cluster_params *, const struct cluster_hooks *);
/*
 * Starts the session: lease grant and keeper, the check value (created
 * if absent, else it must open), nodes/<node>, the read of every record,
 * the watch. Retries on its own (1 s, doubling to 10 s) while etcd is
 * unreachable; hooks.state says when it is up.
 */
void		 cluster_start(struct cluster *);
/* Revokes the lease (best effort, bounded by the call timeout) and frees. NULL: no-op. */
void		 cluster_free(struct cluster *);
/* 1 while the session is up. */
int		 cluster_up(const struct cluster *);
/* This node's name. */
const char	*cluster_node(const struct cluster *);
/* Replaces the JSON object published as this node's "view" (status); the
   same view again writes nothing. */
void		 cluster_set_view(struct cluster *, const char *json);

enum cluster_claim_result {
	CLUSTER_CLAIMED,	/* this node holds the lock now */
	CLUSTER_BUSY,		/* another node holds it */
	CLUSTER_DOWN		/* no session: order nothing */
};

/*
 * The order a previous holder left: orders/<name>'s opened plaintext, or
 * NULL/0 if there is none.
 */
typedef void (*cluster_claim_cb)(void *arg, enum cluster_claim_result,
		    const unsigned char *order, size_t len);

#define CLUSTER_CLAIM_NOW	0x1	/* no rendezvous wait (account locks) */

/*
 * Claims name's lock. Without CLUSTER_CLAIM_NOW the live nodes are
 * ranked for name by rendezvous hashing; the node ranked k waits
 * k * stagger seconds first (ranked again then), so the work spreads and
 * a dead node's share moves on. Then one transaction: if locks/<name> is
 * absent it is put on this node's lease and orders/<name> read; if this
 * node already holds it, CLAIMED too. cb runs once (never from inside
 * cluster_claim).
 */
struct cluster_claim *cluster_claim(struct cluster *, const char *name,
		    int flags, cluster_claim_cb cb, void *arg);
/* Abandons a claim before its callback (a lock already taken is kept). */
void		 cluster_claim_cancel(struct cluster_claim *);
/* Deletes name's lock if this node holds it (fenced); forgets it either way. */
void		 cluster_release(struct cluster *, const char *name);
/* The node holding name's lock as this node last saw it, or NULL. */
const char	*cluster_holder(const struct cluster *, const char *name);
/* 1 if this node holds name's lock (its fencing token is known). */
int		 cluster_holds(const struct cluster *, const char *name);

/* How a write ended: error NULL once done; CLUSTER_FENCED if the lock went. */
typedef void (*cluster_done_cb)(void *arg, const char *error);
extern const char CLUSTER_FENCED[];	/* "this node no longer holds the lock" */

#define CLUSTER_PUT_LEASE	0x1	/* on this node's lease (chall) */
#define CLUSTER_PUT_CREATE	0x2	/* only if absent; else done with
					   error CLUSTER_EXISTS */
extern const char CLUSTER_EXISTS[];

/*
 * Seals value and writes it as P kind/name. With fence (a lock name) the
 * write is a transaction that holds only while this node's lock on fence
 * keeps its create_revision; else CLUSTER_FENCED. A write whose outcome
 * etcd left unknown is re-read and, if it did not happen, tried again.
 */
struct cluster_call *cluster_put(struct cluster *, const char *kind,
		    const char *name, const void *value, size_t len,
		    const char *fence, int flags, cluster_done_cb, void *arg);
/* Deletes P kind/name, fenced as cluster_put. */
struct cluster_call *cluster_delete(struct cluster *, const char *kind,
		    const char *name, const char *fence, cluster_done_cb,
		    void *arg);
/*
 * A linearizable read of P kind/name: cb gets the opened value, or NULL
 * if there is none, it does not open, or etcd cannot be asked.
 */
typedef void (*cluster_get_cb)(void *arg, const unsigned char *value,
		    size_t len);
struct cluster_call *cluster_get(struct cluster *, const char *kind,
		    const char *name, cluster_get_cb, void *arg);
/* Abandons a call; its callback is not run. NULL: no-op. */
void		 cluster_call_cancel(struct cluster_call *);

/*
 * The cluster-wide counting semaphore of CA ca's orders: one of max slots
 * (P sem/<ca>/<i>, on this node's lease), so max_concurrent_orders holds
 * for the whole cluster. cb(arg, 1) once a slot is taken; cb(arg, 0) if
 * the session goes down meanwhile. Waits on the watch for a slot to free.
 * Either way the handle stays the caller's until cluster_sem_release.
 */
struct cluster_sem *cluster_sem_acquire(struct cluster *, const char *ca,
		    unsigned max, const char *cert, void (*cb)(void *arg, int ok),
		    void *arg);
/* Frees the slot (or abandons the wait; cb is not run). NULL: no-op. */
void		 cluster_sem_release(struct cluster_sem *);

/* A live node as the watch last saw it. */
struct cluster_node_info {
	const char	*node;
	const char	*view;		/* its JSON "view" object, as text */
};
/* Calls fn for every live node, this one included, sorted by name. */
void		 cluster_nodes(const struct cluster *,
		    void (*fn)(void *arg, const struct cluster_node_info *),
		    void *arg);

/* Rendezvous rank of node for name among nodes (exposed for the unit test). */
uint64_t	 cluster_score(const char *node, const char *name);

#endif
