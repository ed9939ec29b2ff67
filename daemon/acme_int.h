/* acme_int.h - what the acme*.c files share, and nobody else sees */
#ifndef RENEWD_ACME_INT_H
#define RENEWD_ACME_INT_H

#include <sys/queue.h>

#include <jansson.h>

#include "acme.h"
#include "http.h"
#include "sched.h"

/*
 * The client in five files, one role each:
 *   acme_problem.c  problem documents, Retry-After, error texts
 *   acme_call.c     the nonce pool, signed calls with badNonce retries,
 *                   and the one preamble that turns an HTTP response into
 *                   a struct acme_reply
 *   acme_account.c  the directory and the account
 *   acme_order.c    orders and authorizations: the state machines
 *   acme_ari.c      renewal information (RFC 9773): the per-CA GET queue
 *   acme_manage.c   the account's management: show, contacts, key
 *                   rollover, deactivation
 *   acme.c          the public API and the per-CA queue
 */

#define ACME_ERR(x)		"urn:ietf:params:acme:error:" x
#define NONCE_POOL_MAX		64	/* oldest dropped beyond this */
#define REQUEST_TIMEOUT_MS	30000
#define ARI_MAX_ACTIVE		4		/* renewalInfo GETs in flight per CA */
#define ARI_MAX_BODY		(64 * 1024)	/* a renewalInfo answer is ~200 bytes */
#define ARI_SLICE		256		/* callbacks per turn of the loop */
#define ARI_DIR_HOLDOFF		60		/* s: a failed directory, for ARI */
#define ACME_ARI_HORIZON	(10L * 366 * 86400) /* window times further off: absurd */

/* The status of an order, authorization or challenge object (RFC 8555 7.1.6). */
enum acme_status {
	ACME_PENDING,
	ACME_READY,
	ACME_PROCESSING,
	ACME_VALID,
	ACME_INVALID,
	ACME_DEACTIVATED,
	ACME_EXPIRED,
	ACME_REVOKED,
	ACME_UNKNOWN,		/* a status RFC 8555 does not define */
	ACME_NO_STATUS,		/* no "status" string at all */
};

/*
 * One answer of the CA, read once by acme_reply_read: what every response
 * callback gets. It lives only during the callback.
 */
struct acme_reply {
	const struct http_response *resp;
	/* NULL if the CA answered 2xx (with a JSON object, if one was asked for) */
	const char		*err;
	const char		*problem;	/* problem type that came with err, or NULL */
	json_t			*json;		/* the object, if asked for and err is NULL */
	enum acme_status	 status;	/* json's "status" */
	const char		*status_text;	/* as sent, for messages; NULL if none */
	enum acme_fail_class	 cls;		/* with err: acme_fail_classify's */
	time_t			 until;		/* with err: Retry-After as a
						   wall-clock deadline, 0: none */
	/* owned */
	char			*err_buf;
	struct acme_problem	 prob;
};

typedef void (*acme_call_cb)(void *arg, const struct acme_reply *);

#define CALL_JWK	0x1	/* sign with the account key's JWK, not its URL */
#define CALL_JSON	0x2	/* the answer must be a JSON object */

struct acme_call;

enum authz_state {
	A_FETCH,	/* first POST-as-GET in flight */
	A_PUBLISH,	/* a solver is making the answer visible */
	A_WAIT,		/* visible; the order's other answers are not yet */
	A_TRIGGER,	/* challenge POST in flight */
	A_POLL,		/* waiting for the CA's validation */
	A_VALID,	/* done; the answer is withdrawn */
};

struct acme_authz {
	struct acme_order	*order;
	enum authz_state	 state;
	char			*url;
	const char		*id_type;	/* "dns" or "ip" (static) */
	char			*id_value;
	const struct acme_solver *solver;	/* NULL until it published */
	const char		*chall_type;	/* the solver's */
	char			*chall_url;
	char			*token;
	char			*keyauth;
	char			*digest;	/* dns-01 only */
	struct acme_call	*call;
	struct event		*timer;
	long long		 poll_since;	/* first poll, monotonic ms */
	long long		 answered;	/* its last answer, monotonic ms */
};

enum order_state {
	O_QUEUED,	/* waiting for the account or a free slot */
	O_NEW,		/* newOrder in flight */
	O_RESUME,	/* POST-as-GET of an order placed before a restart */
	O_AUTHZ,	/* authorizations being satisfied */
	O_WAIT_READY,	/* polling the order until "ready" */
	O_FINALIZE,	/* finalize in flight */
	O_WAIT_VALID,	/* polling the order until "valid" */
	O_CERT,		/* downloading the certificate */
	O_ALT,		/* downloading the alternate chains, one by one */
	O_DONE,		/* result kept; the callback runs from the timer */
};

/* The CA's order lists; an order's list follows from its state (order_list). */
enum order_list_id { L_QUEUE, L_ACTIVE, L_DONE, L_COUNT };

struct acme_order {
	struct acme_ca		*ca;
	TAILQ_ENTRY(acme_order)	 entry;
	enum order_state	 state;
	int			 requeued;	/* once, after accountDoesNotExist */
	int			 finalize_retried; /* once, after orderNotReady */
	int			 held;		/* acme_order_hold: no finalize yet */
	int			 finalize_held;	/* FINALIZE, waiting for the release */
	char			*cert_name;	/* for logs */
	char			**domains;
	size_t			 ndomains;
	const struct crypto_key	*cert_key;	/* for the CSR; not owned */
	char			*challenge;	/* wanted type, or NULL */
	char			*profile;	/* the inventory's profile, or NULL */
	char			*replaces;	/* certID; NULL once refused */
	acme_order_cb		 cb;
	acme_order_url_cb	 on_url;	/* NULL: none */
	void			*arg;
	char			*url;		/* from newOrder's Location, or the
						   order to resume */
	char			*finalize_url;
	char			*cert_url;	/* once the order is valid */
	struct acme_authz	*authz;
	size_t			 nauthz;
	size_t			 nvalid;
	struct acme_call	*call;
	struct event		*timer;		/* polls, and the final callback */
	long long		 poll_since;	/* first poll, monotonic ms */
	long long		 answered;	/* its last answer, monotonic ms */
	long long		 deadline;	/* monotonic ms */
	char			*error;		/* result, once O_DONE */
	struct acme_failure	 fail;		/* with error: what it means */
	char			*fail_problem;	/* fail's strings, owned */
	char			*fail_url;
	char			*pem;
	size_t			 pemlen;
	char			*preferred;	/* preferred_chain, or NULL */
	char			**alts;		/* Link rel="alternate" URLs */
	size_t			 nalts;
	size_t			 alt;		/* the one in flight (O_ALT) */
};

TAILQ_HEAD(order_list, acme_order);

/* One renewalInfo GET: queued on ca->ari_queue, then in flight. */
struct acme_ari_fetch {
	struct acme_ca		*ca;
	TAILQ_ENTRY(acme_ari_fetch) entry;
	char			*cert_name;	/* for logs */
	char			*cert_id;
	char			*url;		/* once started */
	struct http_req		*req;		/* non-NULL: in flight */
	acme_ari_cb		 cb;
	void			*arg;
};

TAILQ_HEAD(ari_list, acme_ari_fetch);
TAILQ_HEAD(revoke_list, acme_revoke);
TAILQ_HEAD(acct_req_list, acme_acct_req);

enum ca_state {
	CA_IDLE,	/* no account yet (or setup failed: the next order retries) */
	CA_SETUP,	/* directory or account request in flight */
	CA_READY,
};

struct acme_ca {
	struct acme_env		 env;
	char			*name;
	char			*directory;
	char			**contact;
	size_t			 ncontact;
	char			*eab_kid;
	char			*eab_hmac_key;
	char			*ca_bundle;
	unsigned		 max_orders;
	struct http_opts	 get_opts;
	struct http_opts	 post_opts;

	enum ca_state		 state;
	struct http_req		*dir_req;
	int			 have_dir;
	char			*new_nonce;
	char			*new_account;
	char			*new_order;
	char			*revoke_cert;
	char			*key_change;
	char			*renewal_info;	/* RFC 9773; NULL: not offered */
	char			*tos;
	int			 eab_required;
	/* meta.profiles (draft-ietf-acme-profiles): acme_profile.c's */
	char			**profiles;	/* the names offered, sorted */
	size_t			 nprofiles;	/* 0: none; no profile is sent */
	int			 profile_ignored_told; /* logged once per CA */
	struct acme_profile_want *wants;	/* checked when the directory is read */
	size_t			 nwants;

	char			*nonces[NONCE_POOL_MAX];
	size_t			 nnonces;

	struct crypto_key	*account_key;
	struct crypto_key	*next_key;	/* account.key.next found at setup:
						   the CA is asked which key it knows */
	int			 deactivated;	/* account.json says so: no setup */
	char			**reg_contact;	/* the contacts the CA has, as far */
	size_t			 reg_ncontact;	/* as we know (reg_known) */
	int			 reg_known;
	char			*thumbprint;
	char			*account_url;	/* the JWS "kid"; NULL: not registered */
	unsigned		 account_gen;	/* bumped whenever account_url changes */
	int			 lookup_first;	/* key may be registered: onlyReturnExisting */
	struct acme_call	*account_call;

	/* the account's new orders after a rate limit, URLs after a 503
	   (wall clock); kept through env.accounts across restarts */
	struct sched_holds	 held;

	struct order_list	 lists[L_COUNT];
	size_t			 counts[L_COUNT];
	struct event		*kick;		/* deferred acme_ca_pump */

	struct ari_list		 ari_queue;	/* waiting: directory or a slot */
	struct ari_list		 ari_active;
	size_t			 ari_nactive;
	struct http_opts	 ari_opts;	/* get_opts, smaller body cap */
	struct event		*ari_kick;	/* deferred acme_ari_pump */
	struct revoke_list	 revokes;	/* acme_revoke.c's, queued or in flight */
	struct acct_req_list	 acct_reqs;	/* acme_manage.c's, run one at a time */
	char			*ari_dir_err;	/* the directory failed: why */
	time_t			 ari_dir_until;	/* ... and until when ARI says so */
};

/* acme_problem.c */
/* Fills p from a problem object. Returns 0, or -1 if obj has no "type" string. */
int		 acme_problem_from_json(json_t *obj, struct acme_problem *p);
/*
 * Makes s (an error or log text with CA text in it) one line, in place:
 * every control character becomes a space. Returns s.
 */
char		*acme_oneline(char *s);
/* Returns malloc'd "acme: URL: problem (retry after N s)", or the HTTP status. */
char		*acme_error_text(const char *url, const struct http_response *,
		    const struct acme_problem *);

/* acme_call.c */
/* Returns 1 if URLs a and b share scheme, host and port. */
int		 acme_same_origin(const char *a, const char *b);
/* Returns NULL, or why resp names a URL acme_url_refused refuses (malloc'd). */
char		*acme_reply_urls_refused(const struct acme_ca *,
		    const struct http_response *resp);
/*
 * Returns NULL if url (what names where the CA gave it, e.g. "order
 * Location") may be requested: https:// only (http:// too with
 * env.allow_http). Else the error, malloc'd, naming the CA and the URL.
 */
char		*acme_url_refused(const struct acme_ca *, const char *what,
		    const char *url);
/*
 * Reads resp (to url) into r: transport error, HTTP status and problem
 * document become r->err; with want_json, so does a body that is no JSON
 * object, and otherwise r->json and r->status are set.
 */
void		 acme_reply_read(struct acme_reply *r,
		    const struct http_response *resp, const char *url,
		    int want_json);
/* Frees what acme_reply_read made. */
void		 acme_reply_clear(struct acme_reply *r);
/* Returns 1 if r failed with problem type ACME_ERR(what). */
int		 acme_reply_problem(const struct acme_reply *r, const char *what);
/*
 * Holds every request to url until (wall clock), logged once per new
 * deadline; an expired hold makes room. Returns the deadline kept.
 */
time_t		 acme_hold_url(struct acme_ca *, const char *url, time_t until);
/* Returns when url is free again (wall clock), or 0 if it is not held. */
time_t		 acme_held_url(struct acme_ca *, const char *url);
/* Returns when the account may order again, or 0 if it is not held. */
time_t		 acme_held_orders(struct acme_ca *);
/*
 * Holds the account's new orders until (wall clock), logged once per later
 * deadline.
 */
void		 acme_hold_orders(struct acme_ca *, time_t until);
/* Reads the holds a previous run kept (through env.accounts). */
void		 acme_holds_load(struct acme_ca *);
/* Adds a nonce from a response to the CA's pool; NULL is ignored. */
void		 acme_nonce_push(struct acme_ca *, const char *nonce);
/*
 * Starts a signed POST of payload (NULL: POST-as-GET) to url, the ACME
 * resource endpoint ("newOrder", "authz", ...: the metrics' label), with
 * flags CALL_*; *slot holds the call until cb runs (always later, on the loop).
 * cert_name (for logs) must outlive the call. Returns NULL, or why the call
 * cannot start (malloc'd; cb is not called then).
 */
char		*acme_call_start(struct acme_ca *, struct acme_call **slot,
		    const char *cert_name, const char *url, const char *endpoint,
		    const char *payload, unsigned flags, acme_call_cb cb,
		    void *arg);
/*
 * The same, signed with key (not the account's: a JWK header, no kid),
 * which must outlive the call; key NULL: acme_call_start.
 */
char		*acme_call_start_key(struct acme_ca *, struct acme_call **slot,
		    const char *cert_name, const char *url, const char *endpoint,
		    const char *payload, unsigned flags,
		    const struct crypto_key *key, acme_call_cb cb, void *arg);
/* Cancels the call in *slot, if any, without its callback. */
void		 acme_call_cancel(struct acme_call **slot);

/* acme_account.c */
/* Fetches the directory and sets up the account; then acme_ca_pump runs. */
void		 acme_ca_setup(struct acme_ca *);
/* The CA says account gen is gone: forget it, if it is still the current one. */
void		 acme_account_forget(struct acme_ca *, unsigned gen);
/*
 * Starts the directory GET unless it is in flight; its answer sets up the
 * account if ca->state is CA_SETUP, and pumps the renewalInfo queue.
 * Returns NULL, or why it cannot start (malloc'd).
 */
char		*acme_dir_fetch(struct acme_ca *);
/*
 * Ends a rollover: commit makes ca->next_key the account key (in memory,
 * and account.key.next renamed over account.key), else drops it.
 */
void		 acme_account_next_end(struct acme_ca *, int commit);
/* Forgets the account key and URL in memory: the next setup reads them again. */
void		 acme_account_drop(struct acme_ca *);
/* Frees the directory, nonces and account; cancels their requests. */
void		 acme_account_clear(struct acme_ca *);
/*
 * Takes the URLs and meta of the directory object j into ca (dir_done's
 * parse step). Returns NULL, or what is missing or refused (malloc'd).
 */
char		*acme_dir_parse(struct acme_ca *, json_t *j);

/* acme_profile.c */
/*
 * Takes meta.profiles of the directory (meta may be NULL) into ca: the
 * names, valid ones only (a CA's text). Returns NULL, or why the member is
 * unusable (malloc'd, naming the directory).
 */
char		*acme_profiles_parse(struct acme_ca *, json_t *meta);
/*
 * The profile an order of cert_name that asks for profile (NULL: none)
 * sends: *send is profile if the CA lists it, NULL if the CA lists none
 * (logged once per CA). Returns NULL, or the error (malloc'd) if the CA
 * lists profiles but not this one, naming the CA, cert_name and the names.
 */
char		*acme_profile_for_order(struct acme_ca *, const char *cert_name,
		    const char *profile, const char **send);
/* The directory was read: logs every wanted profile it does not offer. */
void		 acme_profile_check_wants(struct acme_ca *);
/* Frees the profiles and wants of ca. */
void		 acme_profiles_clear(struct acme_ca *);

/* acme_order.c */
/* Returns the enum for a status string (NULL: ACME_NO_STATUS). */
enum acme_status acme_status_parse(const char *s);
/*
 * Returns the ms to wait before the next poll of an object polled for
 * elapsed ms, with npolling objects of its order polled at once, after a
 * Retry-After of ra seconds (-1: none).
 */
long		 acme_poll_delay(long long elapsed, size_t npolling, long ra);
/* Returns a queued order for req (copied, except key), or NULL if req is unusable. */
struct acme_order *acme_order_new(struct acme_ca *, const struct acme_order_req *req,
		    acme_order_cb cb, void *arg);
/* Moves a queued order in flight (the CA has an account and a free slot). */
void		 acme_order_admit(struct acme_order *);
/*
 * Ends an order with error of class cls (kept if a failure is noted
 * already); its callback runs later, from the loop.
 */
void		 acme_order_fail(struct acme_order *, const char *error,
		    enum acme_fail_class cls);
/* Takes o off its list and frees it, without its callback. */
void		 acme_order_free(struct acme_order *);
/*
 * Picks the challenge to answer from offer (the authorization's
 * "challenges"): the first solver whose type want allows (NULL: any), which
 * the CA offers, and which accepts the identifier. Returns the offered
 * challenge with *solver set, or NULL with *error (malloc'd) saying why,
 * naming authz_url and the identifier.
 */
json_t		*acme_challenge_pick(const struct acme_solver *solvers,
		    size_t nsolvers, const char *want, json_t *offer,
		    const char *authz_url, const char *id_type,
		    const char *id_value, const struct acme_solver **solver,
		    char **error);

/*
 * The parse steps of the two state machines, one per kind of CA object;
 * authz_step and order_step call them, and so does tests/fuzz.
 */
/* Notes the identifier of an authorization object j, the first time. */
void		 acme_authz_identify(struct acme_authz *, json_t *j);
/*
 * Where an authorization object that needs no answer (not pending) takes
 * a: A_VALID, or a's state with *error set (malloc'd).
 */
enum authz_state acme_authz_object(struct acme_authz *,
		    const struct acme_reply *r, char **error);
/*
 * For a pending authorization: picks the challenge and its solver, checks
 * its url, token and status, and notes the url and type in a. Returns the
 * token (in r->json) with *solver and *st set, or NULL with *error set.
 */
const char	*acme_authz_choose(struct acme_authz *, const struct acme_reply *r,
		    const struct acme_solver **solver, enum acme_status *st,
		    char **error);
/*
 * Where an order object (from newOrder, finalize, a poll or a resume)
 * takes o, from O_NEW, O_RESUME, O_WAIT_READY, O_FINALIZE or O_WAIT_VALID;
 * notes its finalize and certificate URLs. Returns O_DONE with *error set
 * (malloc'd) if it fails.
 */
enum order_state acme_order_object(struct acme_order *,
		    const struct acme_reply *r, char **error);

/* acme_ari.c */
/* Starts queued renewalInfo GETs as far as the directory and the limit allow. */
void		 acme_ari_pump(struct acme_ca *);
/* The directory could not be had: queued fetches fail with error (logged here). */
void		 acme_ari_fail_queued(struct acme_ca *, const char *error);
/* Sets up the ARI queue of a new CA client. */
void		 acme_ari_init(struct acme_ca *);
/* Cancels every fetch (without callbacks). */
void		 acme_ari_clear(struct acme_ca *);
/* Parses a renewalInfo answer r->json from url into ari; NULL, or why not. */
char		*acme_ari_parse(const struct acme_reply *r, const char *url,
		    time_t now, struct acme_ari *ari, char *expl, size_t explsz);

/* acme_revoke.c */
/* Returns 1 if a revocation signed with the account key waits for it. */
int		 acme_revoke_waiting(const struct acme_ca *);
/*
 * Sends every waiting revocation that can go: with the account key once
 * the account is ready, with a certificate key once the directory is
 * known (fetched for them if need be).
 */
void		 acme_revoke_pump(struct acme_ca *);
/* Account setup failed: waiting revocations fail with error. */
void		 acme_revoke_fail_queued(struct acme_ca *, const char *error);
/* Fails every revocation (the client goes): callbacks run now. */
void		 acme_revoke_clear(struct acme_ca *);

/* acme_manage.c */
/* Returns 1 if an account operation waits for the account. */
int		 acme_acct_waiting(const struct acme_ca *);
/* Returns 1 while a rollover waits or runs: new orders and revocations wait. */
int		 acme_acct_holds_orders(const struct acme_ca *);
/* Starts the first account operation if the account and the orders allow. */
void		 acme_acct_pump(struct acme_ca *);
/*
 * Account setup failed: waiting operations fail with error (a show of
 * a deactivated account is answered from what is kept).
 */
void		 acme_acct_fail_queued(struct acme_ca *, const char *error);
/* Sets up the list of a new CA client. */
void		 acme_acct_init(struct acme_ca *);
/* Notes contact[0..n) (copied) as the contacts the CA has. */
void		 acme_acct_registered(struct acme_ca *, char *const *contact,
		    size_t n);
/*
 * Queues an update if the inventory's contacts differ from those the CA
 * has (when they are known).
 */
void		 acme_acct_sync(struct acme_ca *);
/* Fails every operation (the client goes): callbacks run now. */
void		 acme_acct_clear(struct acme_ca *);

/* acme.c */
/* Moves queued orders in flight as far as the account and the limit allow. */
void		 acme_ca_pump(struct acme_ca *);

#endif
