/* renew.h - keeps every certificate of the inventory valid */
#ifndef RENEWD_RENEW_H
#define RENEWD_RENEW_H

#include <stddef.h>
#include <time.h>

#include "acme.h"
#include "store_import.h"

struct event_base;
struct http_client;
struct store;
struct acme_solver;
struct worker_pool;
struct deliverer;
struct conf;
struct renewer;
struct metrics;
struct cluster;

/*
 * Ownership: the renewer copies env itself but borrows the objects it
 * points to. They must outlive the renewer, except the worker pool, which
 * must be freed first (main.c's teardown): renewer_free then frees key
 * generations no thread can still finish. renewer_apply borrows conf's
 * certificates (100,000 copies would double the memory the inventory
 * takes) and copies each CA's settings: the caller keeps conf until the
 * next renewer_apply has returned, or renewer_free.
 */
struct renew_env {
	struct event_base	*base;
	struct http_client	*http;
	struct store		*store;
	const struct acme_solver *solvers;	/* challenge solvers, in order of
						   preference; outlive the renewer */
	size_t			 nsolvers;
	struct worker_pool	*workers;
	struct deliverer	*deliver;	/* deploy, reload, verify; NULL: none */
	int			 once;	/* no retries, no timers: one pass, then idle */
	struct loopstat		*loopstat;	/* told when checks queue; NULL: none */
	struct metrics		*metrics;	/* orders and renewals counted; NULL: none */
	struct notifier		*notify;	/* the notify hooks; NULL: none */
	struct cluster		*cluster;	/* cluster mode's session; NULL:
						   one node (DESIGN.md) */
};

struct renew_stats {
	size_t	certs;		/* in the inventory */
	size_t	valid;		/* live and not due */
	size_t	busy;		/* generating a key or ordering */
	size_t	failed;		/* last attempt failed, waiting to retry */
	size_t	issued;		/* installed since start */
	time_t	next;		/* earliest scheduled check, 0 if none */
};

/*
 * Called on the loop whenever no certificate is about to be checked,
 * generating a key or ordering any more.
 */
typedef void (*renew_idle_cb)(void *arg);

/* Returns a renewer acting through env (copied); it manages nothing yet. */
struct renewer	*renewer_new(const struct renew_env *env, renew_idle_cb idle,
		    void *arg);
/*
 * Waits for the installs in flight on the worker pool to write their
 * files (main.c's teardown: before it frees the pool); NULL is a no-op.
 */
void		 renewer_drain(struct renewer *);
/* Cancels orders and timers and frees; NULL is a no-op. */
void		 renewer_free(struct renewer *);
/*
 * Makes conf the inventory: new certificates are checked now, removed ones
 * are dropped (their orders abandoned), changed ones are re-checked; CA
 * clients are kept when their settings did not change.
 */
void		 renewer_apply(struct renewer *, const struct conf *conf);
/* Fills st with the current counts. */
void		 renewer_stats(const struct renewer *, struct renew_stats *st);
/* Returns 1 if no certificate is due now, generating a key or ordering. */
int		 renewer_idle(const struct renewer *);

struct conf_cert;
struct sched_state;

/*
 * What the daemon knows and plans for one certificate, for the control
 * socket (status) and metrics: one source, so that what they show is what
 * the daemon will do. Pointers are borrowed from the renewer and valid
 * until control returns to the loop.
 */
struct renew_view {
	const struct conf_cert	 *cfg;		/* name, domains, CAs, settings */
	const char		 *state;	/* one of RENEW_STATE_* below */
	const char		 *ca;		/* the CA ordering now, else the
						   first CA an order would go to */
	time_t			  not_before;	/* the live certificate's validity; */
	time_t			  not_after;	/* 0: none judged yet */
	time_t			  next;		/* when the daemon next acts on it;
						   0: nothing planned (--once) */
	const char		 *next_action;	/* one of RENEW_NEXT_* below */
	unsigned		  failures;	/* consecutive */
	const struct sched_state *saved;	/* last error, holds, ARI window:
						   as in schedule.json */
	int			  clustered;	/* cluster mode: holder is meaningful */
	const char		 *holder;	/* the node holding its lock as this
						   node saw it last; NULL: none */
	time_t			  last_success;	/* the last install since start;
						   0: none */
};

/* renew_view.state */
#define RENEW_STATE_VALID	"valid"		/* live, whole, not due */
#define RENEW_STATE_DUE		"due"		/* a check is queued now */
#define RENEW_STATE_KEYGEN	"keygen"	/* generating the new key */
#define RENEW_STATE_ORDERING	"ordering"	/* an ACME order runs */
#define RENEW_STATE_FAILED	"failed"	/* the last attempt failed */
#define RENEW_STATE_HELD	"held"		/* every CA rate-limits it */
#define RENEW_STATE_MISSING	"missing"	/* nothing whole is live */

/* renew_view.next_action */
#define RENEW_NEXT_CHECK	"check"		/* judge the live files, maybe order */
#define RENEW_NEXT_RENEW	"renew"		/* the renewal moment */
#define RENEW_NEXT_RETRY	"retry"		/* after a failure (backoff) */
#define RENEW_NEXT_HOLD_END	"hold-end"	/* a rate limit ends */
#define RENEW_NEXT_ARI	"ari-fetch"	/* ask the CA's renewalInfo again */
#define RENEW_NEXT_NONE	"none"		/* busy, or nothing planned */

/* Fills v for the certificate named name; returns -1 if there is none. */
int		 renewer_view(const struct renewer *, const char *name,
		    struct renew_view *v);
/*
 * Iterates in inventory order without holding the loop for all of them:
 * fills v with the certificate after the one named prev (NULL: the first)
 * and returns 0; returns 1 at the end and -1 if prev is no longer in the
 * inventory (a reload came in between).
 */
int		 renewer_view_next(const struct renewer *, const char *prev,
		    struct renew_view *v);

/* How a renewal asked for through renewer_renew_now ended. */
struct renew_outcome {
	const char	*name;
	const char	*result;	/* one of RENEW_OUTCOME_* below */
	const char	*serial;	/* ISSUED: the new serial */
	const char	*error;		/* FAILED: why */
	const char	*ca;		/* FAILED: the CA that said so; NULL */
	unsigned	 failures;	/* consecutive, now */
};
#define RENEW_OUTCOME_ISSUED	"issued"	/* a new certificate is live */
#define RENEW_OUTCOME_VALID	"valid"		/* not due: nothing to do */
#define RENEW_OUTCOME_FAILED	"failed"	/* backing off, or removed */

/* Called on the loop once; the outcome's strings last for the call. */
typedef void (*renew_done_cb)(void *arg, const struct renew_outcome *);
struct renew_waiter;

/*
 * Makes the certificate named name due now, past any backoff; force: a
 * new certificate even if the live one is valid and not due. With cb,
 * calls it when the certificate is idle again (*wp, if wp is not NULL,
 * is the waiter, valid until then). Returns 0, or -1 if there is no such
 * certificate.
 */
int		 renewer_renew_now(struct renewer *, const char *name,
		    int force, renew_done_cb cb, void *arg,
		    struct renew_waiter **wp);
/* Forgets a waiter whose callback has not run; NULL is a no-op. */
void		 renewer_renew_cancel(struct renew_waiter *);

/* What renewer_revoke revokes. */
struct renew_revocation {
	char		 serial[96];	/* the live certificate's */
	const char	*ca;		/* where; valid until the next reload */
};

/* RFC 5280 CRLReason keyCompromise: the renewal after it never reuses the key. */
#define REVOKE_KEY_COMPROMISE	1

/*
 * Starts the revocation (RFC 8555 7.6, reason: an RFC 5280 code) of the
 * live certificate of name at its first CA, signed with that CA's account
 * key, or with_cert_key with the certificate's own; cb gets the CA's answer from the loop (acme.h). Fills *out.
 * Returns the handle for acme_revoke_cancel, or NULL with why in err (no
 * such certificate, nothing live). The caller renews afterwards
 * (renewer_renew_now with force): a new key, whatever reuse_key says,
 * after keyCompromise (REVOKE_KEY_COMPROMISE).
 */
struct acme_revoke;
struct acme_revoke *renewer_revoke(struct renewer *, const char *name,
		    int reason, int with_cert_key,
		    void (*cb)(void *arg, const char *error), void *arg,
		    struct renew_revocation *out, char *err, size_t errlen);

/*
 * Starts op on the account at CA ca (acme_account_start); an update
 * without contacts sends the inventory's. Returns the handle for
 * acme_account_cancel, or NULL with why in err (no such CA).
 */
struct acme_acct_req *renewer_account(struct renewer *, const char *ca,
		    enum acme_acct_op op, char *const *contact, size_t ncontact,
		    acme_account_cb cb, void *arg, char *err, size_t errlen);
/*
 * renewctl import-certbot through the control socket: store_import.h's
 * writes into the state directory the renewer uses. A certificate whose
 * name the running inventory has is refused (STORE_IMPORT_ERROR, err).
 */
enum store_import renewer_import_account(struct renewer *, const char *ca,
		    const char *key_pem, const char *url, char *err,
		    size_t errlen);
enum store_import renewer_import_cert(struct renewer *, const char *name,
		    const char *key_pem, const char *cert_pem,
		    const char *chain_pem, char *serial, size_t seriallen,
		    char *err, size_t errlen);
struct store;
struct acme_accounts;
/* Fills *a with acme's account storage (keys, URLs, holds) kept in st. */
void		 renew_store_accounts(struct store *st, struct acme_accounts *a);

/*
 * Cluster mode: what the watch brings (main.c passes cluster hooks on).
 * A certificate another node ordered (P certs/<name>, value NULL: deleted)
 * is judged as our own order's would be and installed if it is newer
 * than the live one; a CA's shared account (P accounts/<ca>) becomes this
 * node's and lets its orders at that CA go on; state: the session is up
 * (1) or down (0): certificates that were not ordered while it was down
 * are checked again.
 */
void		 renewer_cluster_cert(struct renewer *, const char *name,
		    const unsigned char *value, size_t len);
void		 renewer_cluster_account(struct renewer *, const char *ca,
		    const unsigned char *value, size_t len);
void		 renewer_cluster_state(struct renewer *, int up);
/* Another node's lock on name went: if we waited on it, claim it now. */
void		 renewer_cluster_unlocked(struct renewer *, const char *name);

#endif
