/* conf.h - the YAML inventory as typed, validated structs */
#ifndef RENEWD_CONF_H
#define RENEWD_CONF_H

#include <stddef.h>
#include <sys/types.h>

#include "crypto.h"	/* enum key_type: the inventory's names map onto it */
#include "tsigkey.h"

enum challenge_type {
	CHALLENGE_HTTP01 = 0,	/* default */
	CHALLENGE_DNS01,
	CHALLENGE_TLSALPN01,
};

enum deploy_content {
	DEPLOY_FULLCHAIN = 0,	/* "fullchain" */
	DEPLOY_CERT,		/* "cert" */
	DEPLOY_CHAIN,		/* "chain" */
	DEPLOY_KEY,		/* "key" */
	DEPLOY_FULLCHAIN_KEY,	/* "fullchain+key" */
};

enum reload_kind {
	RELOAD_UNIT = 0,	/* { unit: nginx.service } */
	RELOAD_EXEC,		/* { exec: [argv...] } */
	RELOAD_SIGNAL,		/* { signal: HUP, pidfile: /run/x.pid } */
};

struct conf_strv {
	char		**v;
	size_t		  n;
};

struct conf_ca {
	char		 *name;
	char		 *directory;		/* https:// URL */
	char		 *preset;		/* presets.h name it came from, or NULL */
	char		 *staging;		/* https:// URL of the staging twin a
						   dry run orders from, or NULL */
	struct conf_strv  contact;		/* "mailto:..." */
	char		 *eab_kid;		/* NULL if no EAB */
	char		 *eab_hmac_key;		/* base64url, inline or read from
						   eab_hmac_key_file by conf_load */
	char		 *eab_hmac_key_file;	/* absolute path or NULL */
	char		 *ca_bundle;		/* absolute path or NULL: system trust */
	char		 *issuer_roots;		/* absolute path of PEM roots its
						   certificates must chain to, or NULL */
	unsigned	  max_concurrent_orders;/* default 8 */
	int		  line;			/* where it was defined */
};

struct conf_deploy {
	char		*path;			/* absolute */
	enum deploy_content content;
	mode_t		 mode;			/* default 0600 */
	char		*owner;			/* NULL: unchanged */
	char		*group;			/* NULL: unchanged */
};

enum reload_mode {
	RELOAD_MODE_RELOAD = 0,			/* ReloadUnit */
	RELOAD_MODE_RESTART,			/* ReloadOrRestartUnit */
};

/* Default time an exec hook or a unit's job may take, seconds. */
#define CONF_DEF_RELOAD_TIMEOUT		60
/* Default reload_delay and reload_max_delay, seconds. */
#define CONF_DEF_RELOAD_DELAY		5
#define CONF_DEF_RELOAD_MAX_DELAY	60
/* Default verify timeout, seconds. */
#define CONF_DEF_VERIFY_TIMEOUT		30

struct conf_reload {
	enum reload_kind kind;
	char		*unit;			/* RELOAD_UNIT */
	enum reload_mode mode;			/* RELOAD_UNIT */
	struct conf_strv argv;			/* RELOAD_EXEC, argv[0] absolute */
	int		 signo;			/* RELOAD_SIGNAL */
	char		*pidfile;		/* RELOAD_SIGNAL, absolute */
	long		 timeout;		/* seconds: RELOAD_EXEC, RELOAD_UNIT */
};

/* After the reloads: is the new certificate what these servers present? */
struct conf_verify {
	struct conf_strv addrs;			/* "host:port", "[v6]:port"; empty: no check */
	char		*servername;		/* SNI; NULL: the first non-wildcard domain */
	long		 timeout;		/* seconds of retrying */
};

/*
 * What a certificate does after an install. Most of 100,000 certificates
 * set none of it and share the inventory's dlv_default (the defaults'
 * delays, nothing to deploy, reload or verify): 80 bytes each saved.
 */
struct conf_delivery {
	struct conf_deploy *deploy;
	size_t		 ndeploy;
	struct conf_reload *reload;
	size_t		 nreload;
	long		 reload_delay;		/* seconds */
	long		 reload_max_delay;	/* seconds */
	struct conf_verify verify;
};

/* Settings a certificate inherits from "defaults:" unless it sets them. */
struct conf_defaults {
	struct conf_strv ca;			/* CA names, tried in order */
	enum key_type	 key;
	enum challenge_type challenge;
	long		 renew_before;		/* seconds; 0 = auto */
	int		 reuse_key;		/* keep the live key across renewals */
	long		 reload_delay;		/* seconds of quiet before a reload */
	long		 reload_max_delay;	/* at most this after the first request */
	unsigned	 keep_versions;		/* versions kept per certificate, live included */
	char		*preferred_chain;	/* issuer CN of the chain's top; NULL: none */
	char		*profile;		/* ACME profile; NULL: the CA's default */
};

struct conf_cert {
	char		*name;			/* [A-Za-z0-9._-], unique */
	struct conf_strv domains;		/* normalised: lower case, no trailing dot */
	enum key_type	 key;
	struct conf_strv ca;			/* resolved: every name exists in conf->cas */
	enum challenge_type challenge;
	long		 renew_before;		/* seconds; 0 = auto */
	struct conf_delivery *dlv;		/* never NULL: its own, or
						   conf->dlv_default (dlv_shared) */
	int		 line;
	/* 100,000 certificates: one CA list for all, one block for the strings */
	unsigned	 ca_shared:1;		/* ca is the defaults' own list, not
						   freed with the certificate */
	unsigned	 packed:1;		/* domains.v, its strings and the name
						   are one allocation */
	unsigned	 dlv_shared:1;		/* dlv is the inventory's default */
	unsigned	 reuse_key:1;		/* CSR from the live key if its type
						   is still key */
	unsigned	 pc_shared:1;		/* preferred_chain is the defaults' */
	unsigned	 prof_shared:1;		/* profile is the defaults' */
	char		*preferred_chain;	/* issuer CN of the chain's top to
						   prefer among the CA's alternates;
						   NULL: the default chain */
	char		*profile;		/* ACME profile to ask for (sent
						   only to a CA whose directory
						   lists it); NULL: none */
};

struct conf_http01 {
	struct conf_strv listen;		/* "addr:port", "[v6]:port"; default "[::]:80" */
	char		*webroot;		/* absolute; if set, listen is empty */
};

/* Default and longest dns01 hook timeout, longest propagation_delay; seconds. */
/* Versions of a certificate kept after an install, the live one included. */
#define CONF_DEF_KEEP_VERSIONS		2
#define CONF_MAX_KEEP_VERSIONS		1000
/* Every live version is re-verified this often (live_check_interval, s). */
#define CONF_DEF_LIVE_CHECK		3600
#define CONF_MAX_LIVE_CHECK		86400
#define CONF_DEF_DNS01_TIMEOUT		30
#define CONF_MAX_DNS01_TIMEOUT		300
#define CONF_MAX_DNS01_PROPAGATION	300

/* propagation_timeout: default and longest, seconds. */
#define CONF_DEF_DNS01_PROP_TIMEOUT	120
#define CONF_MAX_DNS01_PROP_TIMEOUT	3600

/*
 * dns-01 through an exec hook or RFC 2136 (exactly one); hook.n == 0 and
 * rfc2136_server NULL: no "dns01:" section.
 */
struct conf_dns01 {
	struct conf_strv hook;			/* argv, hook.v[0] absolute */
	long		 timeout;		/* seconds per hook run or DNS exchange */
	long		 propagation_delay;	/* seconds after the adds; 0: none */
	char		*rfc2136_server;	/* the primary, "addr:port" */
	char		*rfc2136_zone;		/* NULL: the SOA it names */
	char		*tsig_key_file;		/* absolute */
	struct tsig_key	 tsig;			/* read from it by conf_load */
	int		 propagation_check;	/* default 1 */
	long		 propagation_timeout;	/* seconds */
	struct conf_strv propagation_resolvers;	/* "addr:port"; none: the zone's NS */
};

/* tls-alpn-01 listener; listen.n == 0: no "tlsalpn01:" section. */
struct conf_tlsalpn01 {
	struct conf_strv listen;		/* "addr:port", "[v6]:port" */
};

/* Default window of metrics.expiring_within (seconds), and its longest. */
#define CONF_DEF_METRICS_EXPIRING	(14 * 86400)
#define CONF_MAX_METRICS_EXPIRING	(3650L * 86400)

/* Prometheus exposition; listen NULL: no "metrics:" section, no listener. */
struct conf_metrics {
	char		*listen;		/* "addr:port" or "[v6]:port" */
	int		 series_all;		/* certificate_series: all (else failing) */
	long		 expiring_within;	/* s: per-certificate series also for
						   these (certificate_series: failing) */
};

/* notify: which events run the hooks (conf_notify.on bits). */
#define CONF_NOTIFY_FAILURE	0x1	/* after_failures failed attempts in a row */
#define CONF_NOTIFY_EXPIRING	0x2	/* a failed attempt within expiring_within */
#define CONF_NOTIFY_SUCCESS	0x4	/* a certificate was installed */
#define CONF_DEF_NOTIFY_AFTER	3
#define CONF_MAX_NOTIFY_AFTER	1000
#define CONF_DEF_NOTIFY_WINDOW	(7 * 86400L)
#define CONF_PROFILE_MAX	64	/* longest profile name */
#define CONF_DEF_NOTIFY_TIMEOUT	60

/* One notify hook: argv (argv.v[0] absolute), run without a shell. */
struct conf_hook {
	struct conf_strv argv;
	long		 timeout;		/* seconds */
};

/* notify: hooks told when something needs a human; nhooks 0: none. */
struct conf_notify {
	struct conf_hook *hooks;
	size_t		 nhooks;
	unsigned	 on;			/* CONF_NOTIFY_* bits */
	unsigned	 after_failures;	/* the failure event's streak */
	long		 expiring_within;	/* seconds before not-after */
};

/* log: where messages go (log.h's enum log_target has the same order). */
enum conf_log {
	CONF_LOG_AUTO = 0,
	CONF_LOG_STDERR,
	CONF_LOG_JOURNAL,
};

#define CONF_CLUSTER_KEY_LEN		32	/* CRYPTO_SEAL_KEY_LEN */
#define CONF_DEF_CLUSTER_PREFIX		"/renewd/"
#define CONF_MAX_CLUSTER_PREFIX		200
#define CONF_DEF_CLUSTER_TTL		15
#define CONF_MIN_CLUSTER_TTL		5
#define CONF_MAX_CLUSTER_TTL		300
#define CONF_DEF_CLUSTER_STAGGER	10
#define CONF_MAX_CLUSTER_STAGGER	3600

/*
 * cluster: (issue 14; renewd(8) CLUSTER). NULL in struct conf without one.
 * key is read from key_file by conf_load (0600 or stricter, owned by
 * the reader; base64 of 32 bytes or 64 hex digits), never from the YAML.
 */
struct conf_cluster {
	char		**etcd;			/* endpoint URLs, http:// or https:// */
	size_t		  netcd;
	char		 *prefix;		/* starts and ends with '/' */
	char		 *node;			/* this node's name; default: hostname */
	char		 *key_file;		/* absolute */
	unsigned char	  key[32];		/* CRYPTO_SEAL_KEY_LEN: the cluster key */
	char		 *ca_bundle;		/* absolute or NULL: system roots */
	char		 *client_cert;		/* absolute or NULL */
	char		 *client_key;		/* absolute or NULL: in client_cert */
	long		  lease_ttl;		/* s, 5..300; default 15 */
	long		  stagger;		/* s, 0..3600; default 10 */
};

struct conf {
	char		*path;			/* file it was read from */
	int		 log_level;		/* syslog priority 3..7; 0: not set */
	enum conf_log	 log;			/* log: auto | stderr | journal */
	struct conf_notify notify;
	char		*state_dir;		/* absolute; default /var/lib/renewd */
	long		 live_check_interval;	/* s: each live version re-verified */
	char		*control_socket;	/* absolute; NULL: main.c's default */
	struct conf_http01 http01;
	struct conf_dns01 dns01;
	struct conf_tlsalpn01 tlsalpn01;
	struct conf_ca	*cas;
	size_t		 ncas;
	struct conf_defaults defaults;
	struct conf_delivery dlv_default;	/* shared by certificates without
						   delivery settings of their own */
	struct conf_cert *certs;
	size_t		 ncerts;
	struct conf_metrics metrics;
	struct conf_cluster *cluster;		/* NULL: one node, no etcd */
};

/* All problems found in one pass, each "file:line:col: message". */
struct conf_errors {
	char		**msg;
	size_t		  n;
};

/* Reads and validates path; returns NULL and fills errs if anything is wrong. */
struct conf	*conf_load(const char *path, struct conf_errors *errs);
/* Same for a buffer; name is used in messages. Does no I/O. */
struct conf	*conf_parse(const char *name, const char *buf, size_t len,
		    struct conf_errors *errs);
/* Frees a conf; NULL is a no-op. */
void		 conf_free(struct conf *);
/* Frees the messages and zeroes the list. */
void		 conf_errors_clear(struct conf_errors *);
/* Returns the CA named name, or NULL. */
const struct conf_ca *conf_ca_find(const struct conf *, const char *name);
/* Returns the certificate named name, or NULL. */
const struct conf_cert *conf_cert_find(const struct conf *, const char *name);
/* Returns a deep copy (NULL only for NULL). */
struct conf_cert *conf_cert_dup(const struct conf_cert *);
/* Frees a copy made by conf_cert_dup; NULL is a no-op. */
void		 conf_cert_free(struct conf_cert *);
/* Returns 1 if a and b are the same reload target with the same settings. */
int		 conf_reload_equal(const struct conf_reload *a, const struct conf_reload *b);
/* Returns 1 if a and b deliver identically (deploy, reload, delays, verify). */
int		 conf_cert_same_delivery(const struct conf_cert *a, const struct conf_cert *b);
/* Returns 1 if a and b would be issued identically (domains, key, ca, challenge). */
int		 conf_cert_same_order(const struct conf_cert *a, const struct conf_cert *b);
/*
 * Returns why certificate a's live certificate must be replaced once its
 * settings become b ("domains changed", "key type changed", "first CA
 * changed"), or NULL: a change of the challenge type, or of the backup
 * CAs only, keeps it.
 */
const char	*conf_cert_reissue(const struct conf_cert *a,
		    const struct conf_cert *b);
/* Returns a deep copy of a CA's settings (NULL only for NULL). */
struct conf_ca	*conf_ca_dup(const struct conf_ca *);
/* Frees a copy made by conf_ca_dup, wiping the EAB key; NULL is a no-op. */
void		 conf_ca_free(struct conf_ca *);
/* Returns 1 if a and b make the same CA client (every setting but line). */
int		 conf_ca_equal(const struct conf_ca *a, const struct conf_ca *b);
/* 1 if a and b (either may be NULL) are the same cluster settings (a reload
   cannot change them: renewd keeps the old ones and says a restart is needed). */
int		 conf_cluster_equal(const struct conf_cluster *a,
		    const struct conf_cluster *b);
/*
 * Returns 1 if a and b talk to the same CA with the same account (name,
 * directory, EAB, ca_bundle): orders on a client for a stay valid for b;
 * only settings acme_ca_update applies (contact, max_concurrent_orders)
 * and issuer_roots (read when an order ends) may differ.
 */
int		 conf_ca_same_account(const struct conf_ca *a,
		    const struct conf_ca *b);
/* Returns 1 if a and b ask for the same http-01 listeners or webroot. */
int		 conf_http01_equal(const struct conf_http01 *a,
		    const struct conf_http01 *b);
/* Returns 1 if a and b configure the same dns-01 hook, its timeout and delay. */
int		 conf_dns01_equal(const struct conf_dns01 *a,
		    const struct conf_dns01 *b);
/* Returns 1 if a and b configure the same dns-01 hook and tls-alpn-01 listeners. */
int		 conf_solvers_equal(const struct conf *a, const struct conf *b);
/* Returns the certificate's domains joined by single spaces (malloc'd). */
char		*conf_cert_domains_str(const struct conf_cert *);
/* Returns the inventory spelling: "ecdsa-p256", "http-01", ... */
const char	*conf_key_type_name(enum key_type);
const char	*conf_challenge_name(enum challenge_type);

#endif
