/*
 * control.c - the control socket: status, renew, reload, revoke, account
 * and import on the event loop
 *
 * One request per connection: a JSON object and a newline (control_req.h),
 * read within CONTROL_READ_SEC of the accept; then the reply as JSON
 * lines, the last of which has "end": true, and the connection is closed.
 * Everything runs on the loop and nothing waits on a client: a status
 * listing is written in slices from the write callback as the client
 * takes it (renewer_view_next; 100,000 certificates never make one
 * buffer), a renewal's outcome arrives through renew.h's waiter, a reload
 * through main.c's callback. A client that hangs up cancels its waiters.
 *
 * Access is the socket file's: mode 0660, owner and group the daemon's;
 * the kernel checks them at connect, so no user database is read here.
 * The peer's SO_PEERCRED uid and pid are logged with every request that
 * changes something.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>

#include "acme.h"
#include "cluster.h"
#include "conf.h"
#include "control.h"
#include "control_req.h"
#include "fsutil.h"
#include "livecheck.h"
#include "log.h"
#include "renew.h"
#include "xmalloc.h"

/* A status slice stops at this much output or this long on the loop. */
#define STATUS_CHUNK		(64 * 1024)
#define STATUS_SLICE_USEC	10000
#define SERIAL_MAX		96

enum conn_state { CONN_READING, CONN_STATUS, CONN_RENEW, CONN_RELOAD,
	CONN_REVOKE, CONN_ACCOUNT, CONN_DRYRUN, CONN_CLOSING };

struct conn;

/* One certificate a renew request waits for. */
struct conn_wait {
	struct conn		*c;
	struct renew_waiter	*w;	/* NULL once told */
};

/* The states a status listing counts, for its last line. */
static const char *const view_states[] = {
	RENEW_STATE_VALID, RENEW_STATE_DUE, RENEW_STATE_KEYGEN,
	RENEW_STATE_ORDERING, RENEW_STATE_FAILED, RENEW_STATE_HELD,
	RENEW_STATE_MISSING
};
#define NSTATES	(sizeof(view_states) / sizeof(view_states[0]))

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct control		*ctl;
	struct bufferevent	*bev;
	struct event		*deadline;	/* the request's CONTROL_READ_SEC */
	enum conn_state		 state;
	long			 uid, pid;	/* SO_PEERCRED; -1: unknown */
	struct control_req	 req;
	/* status */
	char			*prev;		/* the last certificate listed */
	size_t			 idx;		/* in req.names */
	size_t			 count[NSTATES], listed, unknown;
	size_t			 delivery_failing;
	/* renew */
	struct conn_wait	*waits;
	size_t			 nwaits, pending, issued, valid, failed;
	/* renew --dry-run: the results are due */
	struct dryrun		*dryrun;
	/* revoke: the CA's answer is due */
	struct acme_revoke	*revoke;
	/* account: the CA's answer is due */
	struct acme_acct_req	*acct;
	/* reload: a callback is due; hung up: free it then */
	int			 reload_pending, dead;
};

struct control {
	struct control_env	 env;
	char			*path;
	struct evconnlistener	*lsn;
	dev_t			 dev;		/* the socket file's, to remove */
	ino_t			 ino;		/* only ours at exit */
	TAILQ_HEAD(, conn)	 conns;
	size_t			 nconns;
};

static void	conn_free(struct conn *);

/* Queues o (stolen) as one line of the reply. */
static void
conn_line(struct conn *c, json_t *o)
{
	char	*s = json_dumps(o, JSON_COMPACT);

	evbuffer_add_printf(bufferevent_get_output(c->bev), "%s\n", s);
	free(s);
	json_decref(o);
}

/* Queues the last line, o (stolen; "end": true added), and closes once sent. */
static void
conn_end(struct conn *c, json_t *o)
{
	json_object_set_new(o, "end", json_true());
	conn_line(c, o);
	c->state = CONN_CLOSING;
	/* the write callback runs when all of it is with the kernel */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_enable(c->bev, EV_WRITE);
}

/* Ends the reply with an error. */
static void
conn_error(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
conn_error(struct conn *c, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[1024];
	json_t	*o = json_object();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_set_new(o, "ok", json_false());
	json_object_set_new(o, "refused", json_true());
	json_object_set_new(o, "error", json_string(msg));
	conn_end(c, o);
}

/* ---- status ------------------------------------------------------------ */

/* Lists the certificate v; counts its state. */
static void
status_line(struct conn *c, const struct renew_view *v)
{
	const char *dir = c->ctl->env.state_dir, *sp = NULL;
	char	 serial[SERIAL_MAX], dv[64];
	size_t	 i;
	int	 failing;

	for (i = 0; i < NSTATES; i++)
		if (strcmp(view_states[i], v->state) == 0)
			c->count[i]++;
	c->listed++;
	/* read per line: 100,000 serials need not stay in memory */
	if (v->not_after != 0 && livecheck_serial(dir, v->cfg->name, serial,
	    sizeof(serial)) == 0)
		sp = serial;
	control_delivery(dir, v->cfg, sp, dv, sizeof(dv), &failing);
	if (failing)
		c->delivery_failing++;
	conn_line(c, control_view_json(v, sp, dv));
}

static void
node_json(void *arg, const struct cluster_node_info *n)
{
	json_t	*o = json_object(), *view;

	json_object_set_new(o, "node", json_string(n->node));
	/* each node's own words: kept if they are a JSON object, else null */
	view = json_loads(n->view != NULL ? n->view : "null",
	    JSON_DECODE_ANY, NULL);
	json_object_set_new(o, "view", json_is_object(view) ? view :
	    json_null());
	if (!json_is_object(view))
		json_decref(view);
	json_array_append_new(arg, o);
}

/* Cluster mode: this node, its session, and every live node's view. */
static json_t *
cluster_json(const struct cluster *cl)
{
	json_t	*o = json_object(), *nodes = json_array();

	json_object_set_new(o, "node", json_string(cluster_node(cl)));
	json_object_set_new(o, "up", json_boolean(cluster_up(cl)));
	cluster_nodes(cl, node_json, nodes);
	json_object_set_new(o, "nodes", nodes);
	return o;
}

static void
status_end(struct conn *c, const char *error)
{
	json_t	*o = json_object(), *st = json_object();
	size_t	 i;

	for (i = 0; i < NSTATES; i++)
		json_object_set_new(st, view_states[i], json_integer(
		    (json_int_t)c->count[i]));
	json_object_set_new(o, "ok", json_boolean(error == NULL &&
	    c->unknown == 0));
	json_object_set_new(o, "schema", json_integer(CONTROL_SCHEMA));
	json_object_set_new(o, "certificates", json_integer(
	    (json_int_t)c->listed));
	json_object_set_new(o, "states", st);
	json_object_set_new(o, "unknown", json_integer((json_int_t)c->unknown));
	json_object_set_new(o, "delivery_failing", json_integer(
	    (json_int_t)c->delivery_failing));
	if (error != NULL)
		json_object_set_new(o, "error", json_string(error));
	if (c->ctl->env.cluster != NULL)
		json_object_set_new(o, "cluster", cluster_json(
		    c->ctl->env.cluster));
	conn_end(c, o);
}

/* The next certificate of the listing into *v: 0, 1 at the end, -1 lost. */
static int
status_next(struct conn *c, struct renew_view *v)
{
	const struct renewer *r = c->ctl->env.renewer;
	json_t	*o;
	int	 rc;

	if (c->req.nnames == 0) {
		rc = renewer_view_next(r, c->prev, v);
		if (rc == 0) {
			free(c->prev);
			c->prev = xstrdup(v->cfg->name);
		}
		return rc;
	}
	while (c->idx < c->req.nnames) {
		if (renewer_view(r, c->req.names[c->idx++], v) == 0)
			return 0;
		o = json_object();
		json_object_set_new(o, "name", json_string(
		    c->req.names[c->idx - 1]));
		json_object_set_new(o, "error", json_string("no such "
		    "certificate in the running inventory"));
		conn_line(c, o);
		c->unknown++;
	}
	return 1;
}

/*
 * Writes status lines until the output holds STATUS_CHUNK or the slice
 * is used up; the write callback calls again as the client reads.
 */
static void
status_fill(struct conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	struct renew_view v;
	struct timespec	 t0, t;
	int		 rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (evbuffer_get_length(out) < STATUS_CHUNK) {
		if ((rc = status_next(c, &v)) == 1) {
			status_end(c, NULL);
			return;
		}
		if (rc == -1) {
			status_end(c, "the inventory was reloaded during the "
			    "listing; ask again");
			return;
		}
		status_line(c, &v);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000000LL + (t.tv_nsec -
		    t0.tv_nsec) / 1000 >= STATUS_SLICE_USEC)
			break;
	}
	bufferevent_enable(c->bev, EV_WRITE);
}

/* ---- renew ------------------------------------------------------------- */

static void
renew_end(struct conn *c)
{
	json_t	*o = json_object();

	json_object_set_new(o, "ok", json_boolean(c->failed == 0));
	json_object_set_new(o, "issued", json_integer((json_int_t)c->issued));
	json_object_set_new(o, "valid", json_integer((json_int_t)c->valid));
	json_object_set_new(o, "failed", json_integer((json_int_t)c->failed));
	json_object_set_new(o, "started", json_integer((json_int_t)(
	    c->nwaits - c->issued - c->valid - c->failed)));
	conn_end(c, o);
}

/* renew.h's callback: one certificate's outcome, as one line. */
static void
renew_done(void *arg, const struct renew_outcome *oc)
{
	struct conn_wait *cw = arg;
	struct conn	*c = cw->c;
	json_t		*o = json_object();

	cw->w = NULL;
	json_object_set_new(o, "name", json_string(oc->name));
	json_object_set_new(o, "result", json_string(oc->result));
	if (oc->serial != NULL)
		json_object_set_new(o, "serial", json_string(oc->serial));
	if (oc->error != NULL)
		json_object_set_new(o, "error", json_string(oc->error));
	if (oc->ca != NULL)
		json_object_set_new(o, "ca", json_string(oc->ca));
	json_object_set_new(o, "failures", json_integer(oc->failures));
	conn_line(c, o);
	if (strcmp(oc->result, RENEW_OUTCOME_ISSUED) == 0)
		c->issued++;
	else if (strcmp(oc->result, RENEW_OUTCOME_VALID) == 0)
		c->valid++;
	else
		c->failed++;
	if (--c->pending == 0)
		renew_end(c);
}

/* Asks for the renewal of name; an unknown one is a failed line. */
static void
renew_one(struct conn *c, const char *name)
{
	struct conn_wait *cw = &c->waits[c->nwaits];
	json_t		*o;

	cw->c = c;
	if (renewer_renew_now(c->ctl->env.renewer, name, c->req.force,
	    c->req.wait ? renew_done : NULL, cw, &cw->w) == -1) {
		o = json_object();
		json_object_set_new(o, "name", json_string(name));
		json_object_set_new(o, "result", json_string(
		    RENEW_OUTCOME_FAILED));
		json_object_set_new(o, "error", json_string("no such "
		    "certificate in the running inventory"));
		conn_line(c, o);
		c->failed++;
		return;
	}
	c->nwaits++;
	if (c->req.wait)
		c->pending++;
}

static void
renew_start(struct conn *c)
{
	const struct renewer *r = c->ctl->env.renewer;
	struct renew_stats st;
	struct renew_view v;
	const char	*prev = NULL;
	size_t		 i;

	renewer_stats(r, &st);
	c->waits = xcalloc(c->req.all ? st.certs + 1 : c->req.nnames,
	    sizeof(*c->waits));
	if (c->req.all)
		log_notice("control: renew%s of every certificate asked by uid "
		    "%ld pid %ld", c->req.force ? " --force" : "", c->uid, c->pid);
	else
		log_notice("control: renew%s of %s%s asked by uid %ld pid %ld",
		    c->req.force ? " --force" : "", c->req.names[0],
		    c->req.nnames > 1 ? " and others" : "", c->uid, c->pid);
	c->state = CONN_RENEW;
	if (c->req.all) {
		/* nothing returns to the loop meanwhile: the list holds */
		while (renewer_view_next(r, prev, &v) == 0) {
			prev = v.cfg->name;
			renew_one(c, prev);
		}
	} else
		for (i = 0; i < c->req.nnames; i++)
			renew_one(c, c->req.names[i]);
	/* with wait, the outcomes are to come; without, this is all */
	if (c->pending == 0)
		renew_end(c);
}

/* ---- renew --dry-run ---------------------------------------------------- */

/* One certificate's answer from the staging CA, as one line. */
static void
dry_result(void *arg, const struct dryrun_result *r)
{
	struct conn	*c = arg;
	json_t		*o = json_object();

	json_object_set_new(o, "name", json_string(r->name));
	json_object_set_new(o, "result", json_string(r->ok ? "would-renew" :
	    "would-fail"));
	if (r->ca != NULL)
		json_object_set_new(o, "ca", json_string(r->ca));
	if (r->staging != NULL)
		json_object_set_new(o, "staging", json_string(r->staging));
	if (r->error != NULL)
		json_object_set_new(o, "error", json_string(r->error));
	conn_line(c, o);
}

static void
dry_done(void *arg, size_t ok, size_t failed)
{
	struct conn	*c = arg;
	json_t		*o = json_object();

	dryrun_free(c->dryrun);
	c->dryrun = NULL;
	json_object_set_new(o, "ok", json_boolean(failed == 0));
	json_object_set_new(o, "dry_run", json_true());
	json_object_set_new(o, "would_renew", json_integer((json_int_t)ok));
	json_object_set_new(o, "would_fail", json_integer((json_int_t)failed));
	conn_end(c, o);
}

static void
dry_start(struct conn *c)
{
	char	err[512];

	log_notice("control: renew --dry-run of %s asked by uid %ld pid %ld",
	    c->req.all ? "every certificate" : c->req.names[0], c->uid,
	    c->pid);
	c->state = CONN_DRYRUN;
	if (c->ctl->env.dry_run == NULL)
		conn_error(c, "this daemon cannot do dry runs");
	else if ((c->dryrun = c->ctl->env.dry_run(c->ctl->env.reload_arg,
	    c->req.names, c->req.nnames, dry_result, dry_done, c, err,
	    sizeof(err))) == NULL)
		conn_error(c, "%s", err);
}

/* ---- revoke ------------------------------------------------------------ */

/*
 * The CA's answer: an error ends the reply; a revocation is one line,
 * then the renewal goes as renew --force's (every issuance has a new key).
 */
static void
revoke_done(void *arg, const char *error)
{
	struct conn	*c = arg;
	const char	*name = c->req.names[0];
	json_t		*o = json_object();

	c->revoke = NULL;
	if (error != NULL) {
		log_warn("control: revocation of %s failed: %s", name, error);
		json_object_set_new(o, "ok", json_false());
		json_object_set_new(o, "name", json_string(name));
		json_object_set_new(o, "error", json_string(error));
		conn_end(c, o);
		return;
	}
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "result", json_string("revoked"));
	json_object_set_new(o, "reason", json_string(
	    control_revoke_reason_name(c->req.reason)));
	conn_line(c, o);
	c->state = CONN_RENEW;
	c->req.force = 1;
	c->waits = xcalloc(1, sizeof(*c->waits));
	renew_one(c, name);
	if (c->pending == 0)
		renew_end(c);
}

static void
revoke_start(struct conn *c)
{
	struct renew_revocation	 rv;
	const char		*name = c->req.names[0];
	char			 err[1024];
	json_t			*o;

	log_notice("control: revoke of %s (%s%s) asked by uid %ld pid %ld",
	    name, control_revoke_reason_name(c->req.reason), c->req.cert_key ?
	    ", with the certificate's key" : "", c->uid, c->pid);
	c->state = CONN_REVOKE;
	if ((c->revoke = renewer_revoke(c->ctl->env.renewer, name,
	    c->req.reason, c->req.cert_key, revoke_done, c, &rv, err,
	    sizeof(err))) == NULL) {
		o = json_object();
		json_object_set_new(o, "ok", json_false());
		json_object_set_new(o, "name", json_string(name));
		json_object_set_new(o, "error", json_string(err));
		conn_end(c, o);
		return;
	}
	o = json_object();
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "result", json_string("revoking"));
	json_object_set_new(o, "serial", json_string(rv.serial));
	json_object_set_new(o, "ca", json_string(rv.ca));
	conn_line(c, o);
}

/* ---- account ----------------------------------------------------------- */

/* The CA's answer: the account as it is now, or the error. One line. */
static void
account_done(void *arg, const char *error,
    const struct acme_account_info *info)
{
	struct conn	*c = arg;
	json_t		*o = json_object(), *a;
	size_t		 i;

	c->acct = NULL;
	json_object_set_new(o, "ca", json_string(c->req.ca));
	json_object_set_new(o, "op", json_string(
	    control_account_op_name(c->req.op)));
	if (error != NULL) {
		log_warn("control: account %s of CA %s failed: %s",
		    control_account_op_name(c->req.op), c->req.ca, error);
		json_object_set_new(o, "ok", json_false());
		json_object_set_new(o, "error", json_string(error));
		conn_end(c, o);
		return;
	}
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "url", info->url != NULL ?
	    json_string(info->url) : json_null());
	json_object_set_new(o, "status", json_string(info->status));
	a = json_array();
	for (i = 0; i < info->ncontact; i++)
		json_array_append_new(a, json_string(info->contact[i]));
	json_object_set_new(o, "contact", a);
	/* the key's thumbprint (RFC 7638), never the key */
	json_object_set_new(o, "thumbprint", info->thumbprint != NULL ?
	    json_string(info->thumbprint) : json_null());
	conn_end(c, o);
}

static void
account_start(struct conn *c)
{
	char	 err[1024];
	json_t	*o;

	if (c->req.op != ACME_ACCT_SHOW)
		log_notice("control: account %s of CA %s asked by uid %ld "
		    "pid %ld", control_account_op_name(c->req.op), c->req.ca,
		    c->uid, c->pid);
	c->state = CONN_ACCOUNT;
	if ((c->acct = renewer_account(c->ctl->env.renewer, c->req.ca,
	    c->req.op, c->req.contact, c->req.ncontact, account_done, c, err,
	    sizeof(err))) == NULL) {
		o = json_object();
		json_object_set_new(o, "ok", json_false());
		json_object_set_new(o, "ca", json_string(c->req.ca));
		json_object_set_new(o, "error", json_string(err));
		conn_end(c, o);
	}
}

/* ---- import ------------------------------------------------------------ */

/*
 * renewctl import-certbot's account or certificate, written at once
 * (store_import.h: never over what is there). Only root or renewd's own
 * uid: the socket's group may renew, not hand over keys.
 */
static void
import_start(struct conn *c)
{
	const char	*what = c->req.import_cert ? c->req.names[0] : c->req.ca;
	char		 err[1024], serial[SERIAL_MAX];
	json_t		*o = json_object();
	enum store_import r;

	json_object_set_new(o, "kind", json_string(c->req.import_cert ?
	    "cert" : "account"));
	json_object_set_new(o, c->req.import_cert ? "name" : "ca",
	    json_string(what));
	if (c->uid != 0 && c->uid != (long)getuid()) {
		log_warn("control: import of %s %s by uid %ld pid %ld refused: "
		    "neither root nor renewd's user", c->req.import_cert ?
		    "certificate" : "the account of CA", what, c->uid, c->pid);
		json_object_set_new(o, "ok", json_false());
		json_object_set_new(o, "denied", json_true());
		json_object_set_new(o, "error", json_string("permission "
		    "denied: only root or renewd's own user may import"));
		conn_end(c, o);
		return;
	}
	err[0] = serial[0] = '\0';
	r = c->req.import_cert ? renewer_import_cert(c->ctl->env.renewer,
	    what, c->req.key_pem, c->req.cert_pem, c->req.chain_pem, serial,
	    sizeof(serial), err, sizeof(err)) :
	    renewer_import_account(c->ctl->env.renewer, what, c->req.key_pem,
	    c->req.url, err, sizeof(err));
	log_notice("control: import of %s %s%s%s asked by uid %ld pid %ld: %s",
	    c->req.import_cert ? "certificate" : "the account of CA", what,
	    *serial != '\0' ? " serial " : "", serial, c->uid, c->pid,
	    r == STORE_IMPORT_ERROR ? err : store_import_name(r));
	json_object_set_new(o, "ok", json_boolean(r != STORE_IMPORT_ERROR));
	if (r == STORE_IMPORT_ERROR)
		json_object_set_new(o, "error", json_string(err));
	else
		json_object_set_new(o, "result", json_string(
		    store_import_name(r)));
	if (*serial != '\0')
		json_object_set_new(o, "serial", json_string(serial));
	conn_end(c, o);
}

/* ---- reload ------------------------------------------------------------ */

static void
reload_done(void *arg, int ok, char *const *msgs, size_t n)
{
	struct conn	*c = arg;
	json_t		*o, *a;
	size_t		 i;

	c->reload_pending = 0;
	if (c->dead) {
		conn_free(c);
		return;
	}
	o = json_object();
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(msgs[i]));
	json_object_set_new(o, "ok", json_boolean(ok));
	json_object_set_new(o, "errors", a);
	conn_end(c, o);
}

/* ---- the connection ---------------------------------------------------- */

static void
conn_dispatch(struct conn *c)
{
	switch (c->req.cmd) {
	case CONTROL_STATUS:
		c->state = CONN_STATUS;
		/* refilled as the client reads, at 16 KiB left */
		bufferevent_setwatermark(c->bev, EV_WRITE, 16 * 1024, 0);
		status_fill(c);
		break;
	case CONTROL_RENEW:
		if (c->req.dry_run)
			dry_start(c);
		else
			renew_start(c);
		break;
	case CONTROL_REVOKE:
		revoke_start(c);
		break;
	case CONTROL_ACCOUNT:
		account_start(c);
		break;
	case CONTROL_IMPORT:
		import_start(c);
		break;
	case CONTROL_RELOAD:
		log_notice("control: reload asked by uid %ld pid %ld", c->uid,
		    c->pid);
		c->state = CONN_RELOAD;
		c->reload_pending = 1;
		c->ctl->env.reload(c->ctl->env.reload_arg, reload_done, c);
		break;
	}
}

/* The request is the input up to its first newline (or all of it at EOF). */
static void
conn_request(struct conn *c, size_t len, int eol)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	char		 err[512], *buf;

	evtimer_del(c->deadline);
	buf = xmalloc(len + 1);
	evbuffer_remove(in, buf, len);
	if (eol)
		evbuffer_drain(in, 1);
	if (control_req_parse(buf, len, &c->req, err, sizeof(err)) == -1) {
		log_info("control: a bad request from uid %ld pid %ld: %s",
		    c->uid, c->pid, err);
		conn_error(c, "bad request: %s", err);
	} else
		conn_dispatch(c);
	free(buf);
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct evbuffer_ptr p;
	size_t		 len = evbuffer_get_length(in);

	if (c->state != CONN_READING) {
		/* only a hang-up matters now */
		evbuffer_drain(in, len);
		return;
	}
	p = evbuffer_search(in, "\n", 1, NULL);
	if (p.pos != -1 && (size_t)p.pos <= CONTROL_REQ_MAX)
		conn_request(c, (size_t)p.pos, 1);
	else if (len > CONTROL_REQ_MAX) {
		evtimer_del(c->deadline);
		evbuffer_drain(in, len);
		log_info("control: a request of more than %d bytes from uid "
		    "%ld pid %ld: refused", CONTROL_REQ_MAX, c->uid, c->pid);
		conn_error(c, "request longer than %d bytes", CONTROL_REQ_MAX);
	}
}

static void
conn_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->state == CONN_CLOSING &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(c);
	else if (c->state == CONN_STATUS)
		status_fill(c);
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);

	/* a request ended by EOF instead of a newline */
	if ((what & BEV_EVENT_EOF) && c->state == CONN_READING &&
	    evbuffer_get_length(in) > 0) {
		conn_request(c, evbuffer_get_length(in), 0);
		bufferevent_disable(bev, EV_READ);
		return;
	}
	/*
	 * A half-close after the request (echo ... | socat) still gets the
	 * reply; only a renewal's waiting takes EOF for a hang-up, since
	 * renewctl keeps its side open until the end line.
	 */
	if ((what & BEV_EVENT_EOF) && c->state != CONN_RENEW &&
	    c->state != CONN_REVOKE && c->state != CONN_ACCOUNT &&
	    c->state != CONN_READING) {
		bufferevent_disable(bev, EV_READ);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		log_info("control: uid %ld pid %ld took more than %d s to "
		    "read the reply: closed", c->uid, c->pid, CONTROL_WRITE_SEC);
	conn_free(c);
}

static void
conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	log_info("control: uid %ld pid %ld sent no request within %d s: "
	    "closed", c->uid, c->pid, CONTROL_READ_SEC);
	conn_error(c, "no request within %d s", CONTROL_READ_SEC);
	bufferevent_disable(c->bev, EV_READ);
}

/*
 * Frees c, cancelling what it waits for. With a reload in progress it
 * only hangs up; reload_done frees it (or control_free, at exit).
 */
static void
conn_free(struct conn *c)
{
	size_t	i;

	for (i = 0; i < c->nwaits; i++)
		renewer_renew_cancel(c->waits[i].w);
	c->nwaits = 0;
	acme_revoke_cancel(c->revoke);
	c->revoke = NULL;
	acme_account_cancel(c->acct);
	c->acct = NULL;
	dryrun_free(c->dryrun);
	c->dryrun = NULL;
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
		c->ctl->nconns--;
	}
	evtimer_del(c->deadline);
	if (c->reload_pending) {
		c->dead = 1;
		return;
	}
	TAILQ_REMOVE(&c->ctl->conns, c, entry);
	event_free(c->deadline);
	control_req_clear(&c->req);
	free(c->prev);
	free(c->waits);
	free(c);
}

/* Turns away a client over CONTROL_MAX_CONNS: one line, no waiting. */
static void
conn_refuse(evutil_socket_t fd)
{
	static const char msg[] = "{\"ok\":false,\"refused\":true,"
	    "\"error\":\"busy: "
	    "too many control clients at once; try again\",\"end\":true}\n";

	(void)send(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	evutil_closesocket(fd);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct control	*ctl = arg;
	struct conn	*c;
	struct ucred	 uc;
	socklen_t	 uclen = sizeof(uc);
	struct timeval	 rd = { CONTROL_READ_SEC, 0 }, wr = { CONTROL_WRITE_SEC, 0 };

	if (ctl->nconns >= CONTROL_MAX_CONNS) {
		log_warn("control: %d clients at once: one more turned away",
		    CONTROL_MAX_CONNS);
		conn_refuse(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->ctl = ctl;
	c->uid = c->pid = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &uclen) == 0) {
		c->uid = (long)uc.uid;
		c->pid = (long)uc.pid;
	}
	c->bev = bufferevent_socket_new(ctl->env.base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	/* never more than one request's worth buffered */
	bufferevent_setwatermark(c->bev, EV_READ, 0, CONTROL_REQ_MAX + 1);
	bufferevent_set_timeouts(c->bev, NULL, &wr);
	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	bufferevent_enable(c->bev, EV_READ);
	/* the whole request within the limit, not each byte of it */
	c->deadline = evtimer_new(ctl->env.base, conn_deadline, c);
	evtimer_add(c->deadline, &rd);
	TAILQ_INSERT_TAIL(&ctl->conns, c, entry);
	ctl->nconns++;
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct control *ctl = arg;

	log_warn("control: %s: accept: %s", ctl->path, strerror(errno));
}

/*
 * Binds a listening socket at path; returns it with dev/ino of its file,
 * or NULL with why in err.
 */
static struct evconnlistener *
listen_at(struct control *ctl, const char *path, dev_t *dev, ino_t *ino,
    char *err, size_t errlen)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	struct evconnlistener	*l = NULL;
	struct stat		 st;
	int			 fd = -1, probe;

	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >=
	    (int)sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket %s: path too long", path);
		return NULL;
	}
	/* somebody answers there: another renewd; nobody: a stale file */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe != -1 && connect(probe, (struct sockaddr *)&sun,
	    sizeof(sun)) == 0)
		snprintf(err, errlen, "control socket %s: another process "
		    "listens there (another renewd?)", path);
	else if (fsutil_sock_clear(path) == -1)
		snprintf(err, errlen, "control socket %s: cannot replace "
		    "what is there: %s", path, errno == EEXIST ? "not a socket" :
		    strerror(errno));
	else if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 || bind(fd, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1)
		snprintf(err, errlen, "control socket %s: bind: %s", path,
		    strerror(errno));
	else if (fsutil_sock_mode(path, 0660) == -1 || lstat(path, &st) == -1)
		snprintf(err, errlen, "control socket %s: chmod: %s", path,
		    strerror(errno));
	else if ((l = evconnlistener_new(ctl->env.base, accept_cb, ctl,
	    LEV_OPT_CLOSE_ON_FREE, 64, fd)) == NULL)
		snprintf(err, errlen, "control socket %s: listen: %s", path,
		    strerror(errno));
	if (probe != -1)
		close(probe);
	if (l == NULL) {
		if (fd != -1)
			close(fd);
		return NULL;
	}
	evconnlistener_set_error_cb(l, accept_error_cb);
	*dev = st.st_dev;
	*ino = st.st_ino;
	return l;
}

struct control *
control_open(const struct control_env *env, const char *path, char *err,
    size_t errlen)
{
	struct control *ctl;

	ctl = xcalloc(1, sizeof(*ctl));
	ctl->env = *env;
	TAILQ_INIT(&ctl->conns);
	if ((ctl->lsn = listen_at(ctl, path, &ctl->dev, &ctl->ino, err,
	    errlen)) == NULL) {
		free(ctl);
		return NULL;
	}
	ctl->path = xstrdup(path);
	return ctl;
}

int
control_rebind(struct control *ctl, const char *path, char *err,
    size_t errlen)
{
	struct evconnlistener	*l;
	dev_t			 dev;
	ino_t			 ino;

	if (strcmp(path, ctl->path) == 0)
		return 0;
	if ((l = listen_at(ctl, path, &dev, &ino, err, errlen)) == NULL)
		return -1;
	evconnlistener_free(ctl->lsn);
	fsutil_sock_remove(ctl->path, ctl->dev, ctl->ino);
	free(ctl->path);
	ctl->path = xstrdup(path);
	ctl->lsn = l;
	ctl->dev = dev;
	ctl->ino = ino;
	return 0;
}

const char *
control_path(const struct control *ctl)
{
	return ctl->path;
}

void
control_free(struct control *ctl)
{
	struct conn *c;

	if (ctl == NULL)
		return;
	while ((c = TAILQ_FIRST(&ctl->conns)) != NULL) {
		c->reload_pending = 0;	/* main.c forgets its callbacks */
		conn_free(c);
	}
	evconnlistener_free(ctl->lsn);
	fsutil_sock_remove(ctl->path, ctl->dev, ctl->ino);
	free(ctl->path);
	free(ctl);
}
