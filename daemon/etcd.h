/* etcd.h - asynchronous etcd v3 client (the JSON gateway) on the event loop */
#ifndef RENEWD_ETCD_H
#define RENEWD_ETCD_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct http_client;
struct etcd;
struct etcd_call;
struct etcd_watch;
struct etcd_keeper;

#define ETCD_TIMEOUT_MS		2000	/* every unary call, per endpoint */

/*
 * What became of a call. A write whose outcome cannot be known (it timed
 * out or met a 503 after reaching a member) is ETCD_UNKNOWN: the caller
 * re-reads, then retries a guarded transaction; it is never retried here.
 */
enum etcd_status {
	ETCD_OK,
	ETCD_UNKNOWN,		/* a write may or may not have happened */
	ETCD_UNAVAILABLE,	/* no endpoint answered; nothing was done */
	ETCD_COMPACTED,		/* the revision asked for is compacted away */
	ETCD_ERROR		/* etcd refused, or its answer is malformed */
};

struct etcd_tls {
	const char	*ca_bundle;	/* PEM roots for https endpoints; NULL = system */
	const char	*client_cert;	/* PEM client certificate; NULL = none */
	const char	*client_key;	/* its key; NULL = in client_cert */
};

/* A key-value pair as etcd keeps it; key and value are NUL-terminated too. */
struct etcd_kv {
	char		*key;
	size_t		 key_len;
	unsigned char	*value;
	size_t		 value_len;
	int64_t		 create_revision;	/* 0 in a DELETE event */
	int64_t		 mod_revision;
	int64_t		 version;
	int64_t		 lease;			/* 0 = none */
};

/* A range's result (also one response of a transaction). */
struct etcd_range {
	struct etcd_kv	*kvs;
	size_t		 nkvs;
	int64_t		 count;		/* matching keys, even past a limit */
};

enum etcd_op_type { ETCD_OP_RANGE, ETCD_OP_PUT, ETCD_OP_DELETE };

/* One operation of a transaction's success or failure branch. */
struct etcd_op {
	enum etcd_op_type	 type;
	const char		*key;
	size_t			 key_len;	/* 0 = strlen(key) */
	const char		*range_end;	/* NULL = the key alone; "\0" = all keys >= key */
	const unsigned char	*value;		/* put */
	size_t			 value_len;
	int64_t			 lease;		/* put: 0 = none */
};

enum etcd_target { ETCD_CMP_CREATE, ETCD_CMP_MOD, ETCD_CMP_VERSION };
enum etcd_cmp_result { ETCD_EQUAL, ETCD_NOT_EQUAL, ETCD_GREATER, ETCD_LESS };

/*
 * One comparison. "Absent" is create_revision EQUAL 0; a fencing token is
 * "the lock key's create_revision EQUAL the holder's".
 */
struct etcd_cmp {
	const char		*key;
	size_t			 key_len;	/* 0 = strlen(key) */
	enum etcd_target	 target;
	enum etcd_cmp_result	 result;
	int64_t			 value;
};

/* What a call returns; lives until its callback returns. */
struct etcd_reply {
	enum etcd_status	 status;
	const char		*error;		/* why, naming the endpoint; NULL if ETCD_OK */
	const char		*endpoint;	/* the one that answered (or failed last) */
	int64_t			 revision;	/* the store's revision after the call */
	int64_t			 compact_revision; /* ETCD_COMPACTED from a watch */
	struct etcd_range	 range;		/* range; put's previous value (nkvs 0/1) */
	int64_t			 deleted;	/* delete */
	int			 succeeded;	/* txn: the compares held */
	struct etcd_range	*responses;	/* txn: one per op of the branch taken */
	size_t			 nresponses;	/* (put and delete ones are empty) */
	int64_t			 lease_id;	/* lease grant, keepalive */
	int64_t			 ttl;		/* lease grant, keepalive; 0 = expired */
};

/* Called exactly once per call, on the loop. */
typedef void (*etcd_cb)(const struct etcd_reply *, void *arg);

/*
 * Returns a client for endpoints ("http://127.0.0.1:2379", ...; copied),
 * tried in order, moving to the next when one fails; NULL (logged) if an
 * endpoint is not an http or https URL. Requests go through http.
 */
struct etcd	*etcd_new(struct event_base *, struct http_client *http,
		    const char *const *endpoints, size_t nendpoints,
		    const struct etcd_tls *tls);
/* Cancels every call, watch and keeper (no callbacks) and frees; NULL is a no-op. */
void		 etcd_free(struct etcd *);
/* Returns the endpoint calls go to first now. */
const char	*etcd_endpoint(const struct etcd *);

/*
 * The calls. Each returns a handle for etcd_cancel, valid until cb runs.
 * range_end: NULL = key alone, "\0"-first = every key >= key; use
 * etcd_prefix_end for a prefix. serializable: a read from the member's
 * own copy (may be stale); 0 is linearizable.
 */
struct etcd_call *etcd_range(struct etcd *, const char *key,
		    const char *range_end, int64_t revision, int serializable,
		    etcd_cb, void *arg);
struct etcd_call *etcd_put(struct etcd *, const char *key,
		    const unsigned char *value, size_t value_len, int64_t lease,
		    etcd_cb, void *arg);
struct etcd_call *etcd_delete(struct etcd *, const char *key,
		    const char *range_end, etcd_cb, void *arg);
struct etcd_call *etcd_txn(struct etcd *, const struct etcd_cmp *cmps,
		    size_t ncmps, const struct etcd_op *success, size_t nsuccess,
		    const struct etcd_op *failure, size_t nfailure,
		    etcd_cb, void *arg);
/* Grants a lease of ttl seconds: reply lease_id and ttl. */
struct etcd_call *etcd_lease_grant(struct etcd *, int64_t ttl, etcd_cb, void *arg);
struct etcd_call *etcd_lease_revoke(struct etcd *, int64_t id, etcd_cb, void *arg);
/* One keepalive: reply ttl 0 means the lease is gone. */
struct etcd_call *etcd_lease_keepalive(struct etcd *, int64_t id, etcd_cb, void *arg);
/* Compacts the history up to revision rev (physically, before replying). */
struct etcd_call *etcd_compact(struct etcd *, int64_t rev, etcd_cb, void *arg);
/* Aborts a call; its callback is not run. NULL is a no-op. */
void		 etcd_cancel(struct etcd_call *);

struct timespec;
/* Seconds on the monotonic clock since t0 (the keeper's; cluster.c's too). */
double		 etcd_secs_since(const struct timespec *t0);

/* Writes into end (at least key_len + 1 bytes) the range_end of key as a prefix. */
void		 etcd_prefix_end(const char *key, char *end);

/*
 * A keeper renews lease id every ttl/3 seconds on the loop, through every
 * endpoint in turn; lost runs once when etcd says the lease is gone or
 * no renewal succeeded for ttl seconds, and the keeper stops.
 */
typedef void (*etcd_lost_cb)(int64_t id, const char *why, void *arg);
struct etcd_keeper *etcd_keeper_start(struct etcd *, int64_t id, int64_t ttl,
		    etcd_lost_cb lost, void *arg);
/* Stops renewing (the lease then expires unless revoked); NULL is a no-op. */
void		 etcd_keeper_stop(struct etcd_keeper *);

enum etcd_event_type {
	ETCD_EV_PUT,
	ETCD_EV_DELETE,
	ETCD_EV_COMPACTED	/* events were lost: re-read, then etcd_watch_restart */
};

struct etcd_event {
	enum etcd_event_type	 type;
	const struct etcd_kv	*kv;		/* PUT, DELETE (key and mod_revision only) */
	int64_t			 compact_revision; /* COMPACTED */
};

typedef void (*etcd_watch_cb)(struct etcd_watch *, const struct etcd_event *,
		    void *arg);

/*
 * Watches [key, range_end) from revision start (0 = from now on). Events come
 * in revision order; after a lost connection the watch reconnects to the
 * next endpoint from the last revision seen + 1, so nothing is missed or
 * repeated. After ETCD_EV_COMPACTED it stops until etcd_watch_restart.
 */
struct etcd_watch *etcd_watch(struct etcd *, const char *key,
		    const char *range_end, int64_t start, etcd_watch_cb, void *arg);
/* Starts a stopped or running watch again from revision start. */
void		 etcd_watch_restart(struct etcd_watch *, int64_t start);
/* Returns the endpoint the watch is (or was last) connected to. */
const char	*etcd_watch_endpoint(const struct etcd_watch *);
/* Returns the next revision the watch expects. */
int64_t		 etcd_watch_next(const struct etcd_watch *);
/* Ends a watch; safe from its own callback. NULL is a no-op. */
void		 etcd_watch_cancel(struct etcd_watch *);

/* Parsing and formatting, exposed for the unit tests. */

/* Fills r from a unary reply body of kind ("range", "put", "delete", "txn",
 * "grant", "revoke", "keepalive", "compact"). Returns 0, or -1 with *why set (static). */
int		 etcd_parse_reply(const char *kind, const char *body,
		    size_t len, struct etcd_reply *r, const char **why);
/* Frees what etcd_parse_reply allocated in r. */
void		 etcd_reply_clear(struct etcd_reply *);
/* Returns a txn request body (free it), or NULL if an op is invalid. */
char		*etcd_format_txn(const struct etcd_cmp *, size_t,
		    const struct etcd_op *, size_t, const struct etcd_op *, size_t);
/* One line of a watch stream, parsed. */
struct etcd_watch_msg {
	int		 created;
	int		 canceled;
	int64_t		 revision;		/* header's; 0 if omitted */
	int64_t		 compact_revision;
	struct etcd_event *events;		/* kv of each points into kvs */
	struct etcd_kv	*kvs;
	size_t		 nevents;
};
/* Parses one line; returns 0, or -1 with *why set (static). */
int		 etcd_parse_watch(const char *line, size_t len,
		    struct etcd_watch_msg *m, const char **why);
/* Frees what etcd_parse_watch allocated in m. */
void		 etcd_watch_msg_clear(struct etcd_watch_msg *);
/* Request bodies (free them): range, put, delete, a lease call's one
 * field ("TTL" or "ID"), a watch's create_request. */
char		*etcd_format_range(const char *key, const char *end,
		    int64_t revision, int serializable);
char		*etcd_format_put(const char *key, const unsigned char *value,
		    size_t len, int64_t lease);
char		*etcd_format_delete(const char *key, const char *end);
char		*etcd_format_lease(const char *field, int64_t v);
char		*etcd_format_watch(const char *key, const char *end, int64_t start);
char		*etcd_format_compact(int64_t rev);
/* Reads an error reply ({"error","message","code"}): the gRPC code (-1 if
 * none) and the message into msg. */
void		 etcd_error_fields(const char *body, size_t len, int *code,
		    char *msg, size_t msz);
/* Returns base64 of len bytes of p (free it). */
char		*etcd_b64(const void *p, size_t len);
/* Decodes strict base64; returns a NUL-terminated buffer (free it) and
 * its length in *len, or NULL if s is not base64. */
unsigned char	*etcd_unb64(const char *s, size_t *len);

#endif
