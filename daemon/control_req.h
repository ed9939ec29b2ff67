/* control_req.h - the control socket's requests and status lines (JSON) */
#ifndef RENEWD_CONTROL_REQ_H
#define RENEWD_CONTROL_REQ_H

#include <stddef.h>

#include <jansson.h>

struct renew_view;

/* A request is at most this many bytes, one JSON object and a newline. */
#define CONTROL_REQ_MAX		(64 * 1024)
/* The status schema's version (renewctl(8) JSON OUTPUT). */
#define CONTROL_SCHEMA		1

enum control_cmd { CONTROL_STATUS, CONTROL_RENEW, CONTROL_RELOAD,
	CONTROL_REVOKE, CONTROL_ACCOUNT, CONTROL_IMPORT };

struct control_req {
	enum control_cmd  cmd;
	char		**names;	/* status, renew: the certificates;
					   revoke: the one ("name") */
	size_t		  nnames;
	int		  all;		/* renew: every certificate */
	int		  force;	/* renew: even if not due */
	int		  dry_run;	/* renew: at the staging CAs, keep nothing */
	int		  wait;		/* renew, revoke: reply with the outcome */
	int		  reason;	/* revoke: RFC 5280 code (0: unspecified) */
	int		  cert_key;	/* revoke: signed with the certificate's key */
	int		  op;		/* account: enum acme_acct_op */
	char		 *ca;		/* account: the CA's name */
	char		**contact;	/* account update: the contacts; none:
					   the inventory's */
	size_t		  ncontact;
	int		  confirm;	/* account deactivate: asked for in so
					   many words */
	int		  import_cert;	/* import: a certificate (names[0]),
					   else an account (ca) */
	char		 *url;		/* import account: its URL */
	char		 *key_pem;	/* import: the private key (secret) */
	char		 *cert_pem;	/* import cert: the certificate */
	char		 *chain_pem;	/* import cert: its chain ("" none) */
};

/* Returns the enum acme_acct_op of name ("show", ...), or -1. */
int		 control_account_op(const char *name);
/* Returns 1 if s may be sent as an account contact: "scheme:...", no space or control, at most 256 bytes. */
int		 control_contact_ok(const char *s);
/* Returns the name of an enum acme_acct_op, or "?". */
const char	*control_account_op_name(int op);

/*
 * Returns the RFC 5280 CRLReason code of name ("keyCompromise", ...: the
 * five a subscriber may give), or -1 if it is none of them.
 */
int		 control_revoke_reason(const char *name);
/* Returns the name of an RFC 5280 code control_revoke_reason knows, or "?". */
const char	*control_revoke_reason_name(int code);

/*
 * Parses one request of len bytes: {"cmd": "status"|"renew"|"reload",
 * "names": [...], "all": bool, "force": bool, "wait": bool, "dry_run": bool},
 * or {"cmd": "revoke", "name": NAME, "reason": REASON, "cert_key": bool,
 * "wait": bool}, or {"cmd": "account", "op": "show"|"update"|"rollover"|
 * "deactivate", "ca": NAME, "contact": [...], "confirm": bool}, or
 * {"cmd": "import", "kind": "account", "ca": NAME, "url": URL, "key_pem":
 * PEM} or {"cmd": "import", "kind": "cert", "name": NAME, "key_pem": PEM,
 * "cert_pem": PEM, "chain_pem": PEM}. Returns 0
 * with *req filled (free with control_req_clear), or -1 with what is
 * wrong in err.
 */
int		 control_req_parse(const char *buf, size_t len,
		    struct control_req *req, char *err, size_t errlen);
/* Frees what req holds and zeroes it. */
void		 control_req_clear(struct control_req *req);
/* Returns req as one JSON line (malloc'd, newline included). */
char		*control_req_format(const struct control_req *req);
/*
 * Returns the status line of one certificate (schema in renewctl(8));
 * serial is the live one, NULL if there is none; delivery as
 * control_delivery wrote it.
 */
json_t		*control_view_json(const struct renew_view *v,
		    const char *serial, const char *delivery);
struct conf_cert;
/*
 * Writes into out how far the delivery of serial (NULL: none live) of cc
 * got: "-" (nothing to deliver), "delivered", "pending" (not yet, or not
 * for this serial), "deploy-failed", "reload-failed", "not-served".
 * *failing is set for the last three.
 */
void		 control_delivery(const char *state_dir,
		    const struct conf_cert *cc, const char *serial, char *out,
		    size_t outlen, int *failing);
/* Sets key to t as RFC 3339 and key_epoch to t, or both to null for 0. */
void		 control_json_time(json_t *o, const char *key, long long t);

#endif
