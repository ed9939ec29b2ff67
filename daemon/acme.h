/* acme.h - RFC 8555 client: one struct acme_ca per CA, orders on top */
#ifndef RENEWD_ACME_H
#define RENEWD_ACME_H

#include <stddef.h>
#include <time.h>

#include "conf.h"

struct event_base;
struct http_client;
struct crypto_key;
struct acme_solver;
struct acme_ca;
struct acme_order;
struct sched_holds;
struct metrics;

/* What a CA said when it refused something (RFC 7807 problem document). */
struct acme_problem {
	char		*type;		/* "urn:ietf:params:acme:error:badNonce" */
	char		*detail;
	int		 status;
	struct acme_problem *sub;	/* subproblems */
	size_t		 nsub;
	char		*identifier;	/* subproblem's identifier value, or NULL */
};

/*
 * Parses a problem document. Returns 0 and fills p, or -1 if body is not a
 * JSON object with a "type" string.
 */
int		 acme_problem_parse(const char *body, size_t len, struct acme_problem *p);
/* Frees what acme_problem_parse filled in and zeroes it. */
void		 acme_problem_clear(struct acme_problem *);
/* Returns malloc'd one-line text: "type: detail [identifier: type: detail; ...]". */
char		*acme_problem_str(const struct acme_problem *);
/* Parses Retry-After (delta seconds or HTTP date); returns seconds from now, or -1. */
long		 acme_retry_after(const char *value);

/*
 * Where account keys and URLs persist; renew.c keeps them in the state
 * directory. A NULL member stores nothing (a NULL load: no account yet).
 */
struct acme_accounts {
	/*
	 * Returns 1 with *key_pem and *url malloc'd (*url NULL if the key was
	 * never registered) if CA ca has an account key, 0 if it has none,
	 * -1 on error (logged).
	 */
	int	(*load)(void *arg, const char *ca, char **key_pem, char **url);
	/* Saves ca's new account key, before it is registered. Returns 0 or -1 (logged). */
	int	(*save_key)(void *arg, const char *ca, const char *key_pem,
		    size_t len);
	/* Saves ca's account URL. Returns 0 or -1 (logged). */
	int	(*save_url)(void *arg, const char *ca, const char *url);
	/* Returns malloc'd text naming where ca's key is kept, for messages. */
	char	*(*key_path)(void *arg, const char *ca);
	/*
	 * Fills the zeroed *h with ca's holds kept by an earlier run (those
	 * still ahead); none if there are none or they are damaged (logged).
	 */
	void	(*load_holds)(void *arg, const char *ca, struct sched_holds *h);
	/* Keeps ca's holds h (those still ahead) for the next run. */
	void	(*save_holds)(void *arg, const char *ca,
		    const struct sched_holds *h);
	/*
	 * Key rollover (RFC 8555 7.3.5): save_next keeps the new key beside
	 * the old (fsync'd) before the CA hears of it; load_next returns 1
	 * with *key_pem malloc'd, 0 if there is none, -1 on error; end_next
	 * makes it the account key (commit: one rename) or removes it.
	 * Each returns 0 or -1 (logged) unless said otherwise.
	 */
	int	(*save_next)(void *arg, const char *ca, const char *key_pem,
		    size_t len);
	int	(*load_next)(void *arg, const char *ca, char **key_pem);
	int	(*end_next)(void *arg, const char *ca, int commit);
	/*
	 * Keeps what the CA said of the account: status and, with
	 * set_contact, its contacts; load_info reads them back (malloc'd;
	 * *status NULL if none) and returns 1 if contacts are kept, else 0.
	 */
	int	(*save_info)(void *arg, const char *ca, const char *status,
		    char *const *contact, size_t ncontact, int set_contact);
	int	(*load_info)(void *arg, const char *ca, char **status,
		    char ***contact, size_t *ncontact);
	void	*arg;
};

struct acme_env {
	struct event_base	*base;
	struct http_client	*http;
	struct acme_accounts	 accounts;
	const struct acme_solver *solvers;	/* in order of preference; must
						   outlive every CA client */
	size_t			 nsolvers;
	int			 allow_http;	/* unit tests only: a fake CA on
						   plain-http loopback; else every
						   URL must be https:// */
	struct metrics		*metrics;	/* every answer counted; NULL: none */
};

/*
 * Returns a CA client for cfg (copied; env too, but not what its pointers
 * point to), with the holds an earlier run kept (env->accounts.load_holds).
 * Nothing is fetched until the first order: then the directory, a nonce,
 * and the account (loaded through env->accounts or created; newAccount
 * with onlyReturnExisting first if only a key exists).
 */
struct acme_ca	*acme_ca_new(const struct acme_env *env, const struct conf_ca *cfg);
/*
 * Gives a live client cfg's settings that no order depends on (the caller
 * checked conf_ca_same_account): max_concurrent_orders (a higher limit
 * admits queued orders now, a lower one lets the ones in flight finish)
 * and contact (sent with the next newAccount; an existing account is not
 * updated at the CA). Orders in flight go on.
 */
void		 acme_ca_update(struct acme_ca *, const struct conf_ca *cfg);
/*
 * Cancels every order (without callbacks), fails every revocation (with
 * its callback, now) and frees; NULL is a no-op.
 */
void		 acme_ca_free(struct acme_ca *);
/* Returns the CA's name. */
const char	*acme_ca_name(const struct acme_ca *);

/*
 * What a failure means for the policy (acme_fail_classify decides, once):
 * whether another CA can help, and whether it says the CA is down.
 */
enum acme_fail_class {
	ACME_FAIL_NONE,
	ACME_FAIL_UNAVAILABLE,	/* unreachable, timeout, 5xx, serverInternal
				   (after the retries inside the order): the
				   next CA; trips the circuit breaker */
	ACME_FAIL_RATE_LIMITED,	/* rateLimited, a 429: held at its scope; the next CA */
	ACME_FAIL_CA,		/* the CA's policy or our account there (caa,
				   rejectedIdentifier, badCSR, ...), or an answer
				   we cannot use: the next CA */
	ACME_FAIL_DOMAIN,	/* validation failed (unauthorized, dns,
				   connection, incorrectResponse, tls): any CA
				   would fail alike; back off at this one */
	ACME_FAIL_LOCAL,	/* ours (a solver, a CSR, a signature): back off */
};

/* How far a Retry-After deadline reaches (acme_fail_scope decides). */
enum acme_fail_scope {
	ACME_SCOPE_NONE,	/* no deadline to keep */
	ACME_SCOPE_CERT,	/* this certificate's identifiers at this CA */
	ACME_SCOPE_ACCOUNT,	/* every new order of this CA's account */
	ACME_SCOPE_ENDPOINT,	/* every request to this URL of the CA */
};

/* A failed order, for the policy; the strings live only during the callback. */
struct acme_failure {
	enum acme_fail_class	 cls;
	enum acme_fail_scope	 scope;
	const char		*problem;	/* problem type, or NULL */
	long			 status;	/* HTTP status; 0: no answer */
	const char		*url;		/* what failed, or NULL */
	const char		*endpoint;	/* "newOrder", "finalize", "order",
						   "authz", "challenge", ... */
	time_t			 until;		/* hold deadline (wall clock), 0: none */
	int			 gone;		/* a resumed order the CA answered for
						   is invalid, expired, unknown or for
						   other names: it cannot be resumed */
};

/*
 * Returns the class of a failure: problem is the problem type (full URN or
 * NULL), status the HTTP status (0: no answer at all, e.g. a connection
 * failure or timeout), validation 1 if the problem is a challenge's error.
 */
enum acme_fail_class acme_fail_classify(const char *problem, long status,
		    int validation);
/*
 * Returns the scope of a failure of class cls with a deadline (has_until):
 * rateLimited that names one of ids (ids[0..nids), in its identifier,
 * subproblems or detail) holds that certificate; on newOrder without
 * naming one, the account; a 503 or a 429 that is no rateLimited problem,
 * the endpoint; else the certificate. Without a deadline: ACME_SCOPE_NONE.
 */
enum acme_fail_scope acme_fail_scope(enum acme_fail_class cls,
		    const struct acme_problem *prob, long status,
		    int new_order, int has_until, char *const *ids, size_t nids);
/* Returns "unavailable", "rate limited", "CA", "domain", "local" or "none". */
const char	*acme_fail_class_name(enum acme_fail_class);
/* Returns "certificate", "account", "endpoint" or "none". */
const char	*acme_fail_scope_name(enum acme_fail_scope);

/*
 * Called once per order. On success error is NULL and fullchain is the PEM
 * chain as downloaded (leaf first). On failure error says what and where
 * (CA URL, problem document) and fail what it means for the policy (NULL
 * on success). All live only during the call.
 */
typedef void (*acme_order_cb)(void *arg, const char *fullchain, size_t len,
		    const char *error, const struct acme_failure *fail);
/*
 * Called once newOrder gave the order its URL (url, live during the
 * call), before finalize; the arg of the order's callback. It must not
 * cancel the order.
 */
typedef void (*acme_order_url_cb)(void *arg, const char *url);

struct acme_order_req {
	const char		*cert_name;	/* for logs */
	char *const		*domains;
	size_t			 ndomains;
	const struct crypto_key	*key;		/* certificate key, for the CSR; must outlive the order */
	const char		*challenge;	/* the type to answer ("http-01", ...);
						   NULL: any a solver can answer */
	const char		*replaces;	/* RFC 9773 certID of the certificate
						   this one replaces, or NULL; if the CA
						   refuses it, the order is sent once
						   more without it */
	const char		*resume;	/* the URL of an order placed before
						   (a restart): fetch it and go on from
						   its status instead of newOrder; if the
						   CA cannot resume it, the order fails
						   with fail->gone set */
	acme_order_url_cb	 on_url;	/* NULL: none */
	const char		*profile;	/* draft-ietf-acme-profiles: sent if the
						   CA's directory lists it; an order
						   fails if the directory lists others
						   only; NULL: none */
};

/*
 * Queues an order for req (copied, except key). At most
 * cfg->max_concurrent_orders orders of one CA are in flight; the rest wait.
 * Returns a handle for acme_order_cancel until cb has run, or NULL if req
 * has no domains or no key, or cb is NULL.
 */
struct acme_order *acme_order_start(struct acme_ca *, const struct acme_order_req *req,
		    acme_order_cb cb, void *arg);
/*
 * Makes o prefer, among the default chain and the CA's alternates (Link
 * rel="alternate"), the one whose top certificate's issuer has the common
 * name issuer (copied; NULL: the default chain). Call before o's callback.
 */
void		 acme_order_prefer_chain(struct acme_order *o, const char *issuer);
/*
 * Holds back o's finalize until acme_order_release: for a caller whose
 * on_url starts a write that must be durable before finalize. Call from
 * on_url or later, before o's callback.
 */
void		 acme_order_hold(struct acme_order *o);
/* Ends the hold; a finalize held back goes out now. Not held: a no-op. */
void		 acme_order_release(struct acme_order *o);
/* Abandons an order: withdraws its challenges; cb is not called. NULL is a no-op. */
void		 acme_order_cancel(struct acme_order *);
/* The CA's renewal information for one certificate (RFC 9773 section 4.2). */
struct acme_ari {
	time_t		 start;		/* suggestedWindow, start < end */
	time_t		 end;
	long		 retry_after;	/* seconds; -1: absent or unreadable */
	const char	*explanation;	/* explanationURL, quoted for a log
					   line; NULL if none */
};

enum acme_ari_result {
	ACME_ARI_OK,		/* ari is the answer */
	ACME_ARI_NONE,		/* the CA's directory has no renewalInfo */
	ACME_ARI_ERROR,		/* error says what and where (the URL) */
	ACME_ARI_UNAVAILABLE,	/* no directory (error; logged once per CA,
				   not retried for ARI_DIR_HOLDOFF seconds) */
};

/* Called once per fetch, from the loop; ari and error live during the call. */
typedef void (*acme_ari_cb)(void *arg, enum acme_ari_result res,
		    const struct acme_ari *ari, const char *error);

struct acme_ari_fetch;

/*
 * Queues an unauthenticated GET of the CA's renewalInfo for the
 * certificate with RFC 9773 certID cert_id (the directory is fetched
 * first if need be; a few per CA run at once, the rest wait). The answer
 * is checked as hostile input: a bounded body, a JSON object with a
 * suggestedWindow of two RFC 3339 times, end after start, both within
 * ACME_ARI_HORIZON of now. Returns a handle for acme_ari_cancel until cb
 * has run (never from inside this call).
 */
struct acme_ari_fetch *acme_ari_fetch(struct acme_ca *, const char *cert_name,
		    const char *cert_id, acme_ari_cb cb, void *arg);
/* Abandons a fetch; cb is not called. NULL is a no-op. */
void		 acme_ari_cancel(struct acme_ari_fetch *);
/* Returns 1 if the CA's directory offers renewalInfo, 0 if not, -1 if not known yet. */
int		 acme_ca_has_ari(const struct acme_ca *);

/*
 * Called once per revocation, from the loop: error NULL if the CA revoked
 * the certificate, else what it said (the URL and its problem document).
 */
typedef void (*acme_revoke_cb)(void *arg, const char *error);
struct acme_revoke;

/*
 * Queues a revokeCert (RFC 8555 7.6) of the certificate whose DER is
 * cert_b64url (base64url), with RFC 5280 reason code reason. cert_key
 * NULL: signed with the account key (kid), the account set up first if
 * need be, as for an order; else signed with cert_key, the certificate's
 * own (taken over; a JWK header), which needs no account, only the
 * directory. Returns a handle for acme_revoke_cancel until cb has run, or
 * NULL if an argument is unusable.
 */
struct acme_revoke *acme_revoke_start(struct acme_ca *, const char *cert_name,
		    const char *cert_b64url, int reason,
		    struct crypto_key *cert_key, acme_revoke_cb cb, void *arg);
/* Abandons a revocation (the CA may still have it); cb is not called. NULL: no-op. */
void		 acme_revoke_cancel(struct acme_revoke *);

/* Notes that certificate cert_name wants profile (NULL: none) at this CA. */
void		 acme_ca_want_profile(struct acme_ca *, const char *cert_name,
		    const char *profile);
/*
 * Checks the profiles noted against the directory, now if it was read,
 * else once it is (the GET starts now): one that the directory does not
 * list, while it lists others, is logged as an error naming the
 * certificate (and how many more ask for it), the CA and the names it
 * offers, long before the certificate's first order. The notes go.
 */
void		 acme_ca_check_profiles(struct acme_ca *);
/* What renewctl account asks of a CA's account. */
enum acme_acct_op {
	ACME_ACCT_SHOW,		/* POST-as-GET of the account */
	ACME_ACCT_UPDATE,	/* new contacts */
	ACME_ACCT_ROLLOVER,	/* keyChange to a new key (RFC 8555 7.3.5) */
	ACME_ACCT_DEACTIVATE,	/* status "deactivated" (RFC 8555 7.3.6) */
};

/* The account as the CA described it; lives only during the callback. */
struct acme_account_info {
	const char	*ca;
	const char	*url;
	const char	*status;	/* "valid", "deactivated", ... */
	char *const	*contact;
	size_t		 ncontact;
	const char	*thumbprint;	/* of the account key now in use */
};

/*
 * Called once per account operation, from the loop: error NULL and info
 * set if it succeeded, else error (the CA, the URL, its problem) and
 * info NULL.
 */
typedef void (*acme_account_cb)(void *arg, const char *error,
		    const struct acme_account_info *info);
struct acme_acct_req;

/*
 * Queues op on ca's account (contact[0..ncontact) for ACME_ACCT_UPDATE,
 * copied); the account is set up first if need be. A rollover waits
 * until no order of the CA is in flight, and holds new orders until the
 * CA confirmed or refused the new key. Returns a handle for
 * acme_account_cancel until cb has run.
 */
struct acme_acct_req *acme_account_start(struct acme_ca *, enum acme_acct_op op,
		    char *const *contact, size_t ncontact, acme_account_cb cb,
		    void *arg);
/*
 * Forgets the caller of r; cb is not called. A keyChange already sent
 * still finishes (the switch to the new key does not depend on who
 * waits). NULL is a no-op.
 */
void		 acme_account_cancel(struct acme_acct_req *r);

/* Returns orders queued plus in flight. */
size_t		 acme_ca_orders(const struct acme_ca *);

#endif
