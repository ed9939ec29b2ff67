/* control_req.c - the control socket's requests and status lines (JSON) */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "conf.h"
#include "control_req.h"
#include "log.h"
#include "renew.h"
#include "sched.h"
#include "store.h"
#include "validate.h"
#include "xmalloc.h"

static const char *const cmd_names[] = { "status", "renew", "reload",
	"revoke", "account", "import" };

/* In enum acme_acct_op's order. */
static const char *const account_ops[] = { "show", "update", "rollover",
	"deactivate" };
#define NACCOUNT_OPS	(sizeof(account_ops) / sizeof(account_ops[0]))

int
control_account_op(const char *name)
{
	size_t	i;

	for (i = 0; i < NACCOUNT_OPS; i++)
		if (strcmp(name, account_ops[i]) == 0)
			return (int)i;
	return -1;
}

const char *
control_account_op_name(int op)
{
	return op >= 0 && (size_t)op < NACCOUNT_OPS ? account_ops[op] : "?";
}

int
control_contact_ok(const char *s)
{
	const char	*p;

	if (strchr(s, ':') == NULL || strlen(s) > 256)
		return 0;
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* account: "op", "ca" (required), "contact" and "confirm" into req. */
static int
get_account(json_t *o, struct control_req *req, char *err, size_t errlen)
{
	const char	*op, *ca;
	json_t		*a = json_object_get(o, "contact"), *v;
	size_t		 i;

	if (req->cmd != CONTROL_ACCOUNT)
		return 0;
	if ((op = json_string_value(json_object_get(o, "op"))) == NULL ||
	    (req->op = control_account_op(op)) == -1) {
		snprintf(err, errlen, "account: \"op\": not one of show, "
		    "update, rollover, deactivate");
		return -1;
	}
	if ((ca = json_string_value(json_object_get(o, "ca"))) == NULL ||
	    !valid_name(ca)) {
		snprintf(err, errlen, "account: \"ca\": missing or not a CA "
		    "name");
		return -1;
	}
	req->ca = xstrdup(ca);
	if (a != NULL && (!json_is_array(a) || strcmp(op, "update") != 0)) {
		snprintf(err, errlen, "account: \"contact\": an array, for "
		    "update only");
		return -1;
	}
	req->contact = xcalloc(json_array_size(a) + 1, sizeof(char *));
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || !control_contact_ok(json_string_value(v))) {
			snprintf(err, errlen, "account: \"contact\"[%zu]: not a "
			    "URI such as mailto:admin@example.com", i);
			return -1;
		}
		req->contact[req->ncontact++] = xstrdup(json_string_value(v));
	}
	return 0;
}

/* Copies o's string key into *dst; -1 (err) if it is missing or empty. */
static int
get_str(json_t *o, const char *key, char **dst, char *err, size_t errlen)
{
	const char	*v = json_string_value(json_object_get(o, key));

	if (v == NULL || (*v == '\0' && strcmp(key, "chain_pem") != 0)) {
		snprintf(err, errlen, "import: \"%s\": missing or not a "
		    "string", key);
		return -1;
	}
	*dst = xstrdup(v);
	return 0;
}

/* import: an account ("ca", "url") or a certificate ("name", the PEMs). */
static int
get_import(json_t *o, struct control_req *req, char *err, size_t errlen)
{
	const char	*kind = json_string_value(json_object_get(o, "kind"));
	const char	*s;

	if (req->cmd != CONTROL_IMPORT)
		return 0;
	if (kind == NULL || (strcmp(kind, "account") != 0 &&
	    strcmp(kind, "cert") != 0)) {
		snprintf(err, errlen, "import: \"kind\": not account or cert");
		return -1;
	}
	req->import_cert = strcmp(kind, "cert") == 0;
	s = json_string_value(json_object_get(o, req->import_cert ? "name" :
	    "ca"));
	if (s == NULL || !valid_name(s)) {
		snprintf(err, errlen, "import: \"%s\": missing or not a name",
		    req->import_cert ? "name" : "ca");
		return -1;
	}
	if (!req->import_cert) {
		req->ca = xstrdup(s);
		return get_str(o, "key_pem", &req->key_pem, err, errlen) == 0 &&
		    get_str(o, "url", &req->url, err, errlen) == 0 ? 0 : -1;
	}
	req->names = xcalloc(2, sizeof(char *));
	req->names[req->nnames++] = xstrdup(s);
	return get_str(o, "key_pem", &req->key_pem, err, errlen) == 0 &&
	    get_str(o, "cert_pem", &req->cert_pem, err, errlen) == 0 &&
	    get_str(o, "chain_pem", &req->chain_pem, err, errlen) == 0 ? 0 : -1;
}

/* RFC 5280 5.3.1: the reasons a subscriber may give (RFC 8555 7.6). */
static const struct {
	const char	*name;
	int		 code;
} reasons[] = {
	{ "unspecified", 0 }, { "keyCompromise", 1 },
	{ "affiliationChanged", 3 }, { "superseded", 4 },
	{ "cessationOfOperation", 5 },
};
#define NREASONS	(sizeof(reasons) / sizeof(reasons[0]))

int
control_revoke_reason(const char *name)
{
	size_t	i;

	for (i = 0; i < NREASONS; i++)
		if (strcmp(name, reasons[i].name) == 0)
			return reasons[i].code;
	return -1;
}

const char *
control_revoke_reason_name(int code)
{
	size_t	i;

	for (i = 0; i < NREASONS; i++)
		if (reasons[i].code == code)
			return reasons[i].name;
	return "?";
}

/* revoke: "name" (required) and "reason" (optional) into req. */
static int
get_revoke(json_t *o, struct control_req *req, char *err, size_t errlen)
{
	const char	*name, *reason;
	json_t		*v;

	if (req->cmd != CONTROL_REVOKE)
		return 0;
	name = json_string_value(json_object_get(o, "name"));
	if (name == NULL || !valid_name(name)) {
		snprintf(err, errlen, "revoke: \"name\": missing or not a "
		    "certificate name");
		return -1;
	}
	if ((v = json_object_get(o, "reason")) != NULL &&
	    ((reason = json_string_value(v)) == NULL ||
	    (req->reason = control_revoke_reason(reason)) == -1)) {
		snprintf(err, errlen, "revoke: \"reason\": not one of "
		    "unspecified, keyCompromise, affiliationChanged, "
		    "superseded, cessationOfOperation");
		return -1;
	}
	req->names = xcalloc(2, sizeof(char *));
	req->names[req->nnames++] = xstrdup(name);
	return 0;
}

/* Reads the optional boolean key of o into *dst; returns -1 if not a boolean. */
static int
get_bool(json_t *o, const char *key, int *dst, char *err, size_t errlen)
{
	json_t	*v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "\"%s\": not true or false", key);
		return -1;
	}
	*dst = json_is_true(v);
	return 0;
}

/* Reads "names", an array of certificate names, into req. */
static int
get_names(json_t *o, struct control_req *req, char *err, size_t errlen)
{
	json_t	*a = json_object_get(o, "names"), *v;
	size_t	 i;

	if (a == NULL)
		return 0;
	if (!json_is_array(a)) {
		snprintf(err, errlen, "\"names\": not an array");
		return -1;
	}
	req->names = xcalloc(json_array_size(a) + 1, sizeof(char *));
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || !valid_name(json_string_value(v))) {
			snprintf(err, errlen, "\"names\"[%zu]: not a "
			    "certificate name", i);
			return -1;
		}
		req->names[req->nnames++] = xstrdup(json_string_value(v));
	}
	return 0;
}

/* Returns 1 if key belongs in an import request. */
static int
import_key(const char *key)
{
	static const char *const keys[] = { "kind", "ca", "url", "name",
		"key_pem", "cert_pem", "chain_pem" };
	size_t	i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(key, keys[i]) == 0)
			return 1;
	return 0;
}

/* Returns -1 if o has a key that is not one of cmd's. */
static int
known_keys(json_t *o, enum control_cmd cmd, char *err, size_t errlen)
{
	const char	*key;
	json_t		*v;

	json_object_foreach(o, key, v) {
		if (strcmp(key, "cmd") == 0 || ((cmd == CONTROL_STATUS ||
		    cmd == CONTROL_RENEW) && strcmp(key, "names") == 0) ||
		    (cmd == CONTROL_RENEW && (strcmp(key, "all") == 0 ||
		    strcmp(key, "force") == 0 ||
		    strcmp(key, "dry_run") == 0)) || ((cmd == CONTROL_RENEW ||
		    cmd == CONTROL_REVOKE) && strcmp(key, "wait") == 0) ||
		    (cmd == CONTROL_REVOKE && (strcmp(key, "name") == 0 ||
		    strcmp(key, "reason") == 0 || strcmp(key, "cert_key") == 0)) ||
		    (cmd == CONTROL_ACCOUNT && (strcmp(key, "op") == 0 ||
		    strcmp(key, "ca") == 0 || strcmp(key, "contact") == 0 ||
		    strcmp(key, "confirm") == 0)) || (cmd == CONTROL_IMPORT &&
		    import_key(key)))
			continue;
		snprintf(err, errlen, "\"%s\": not a key of %s %s request",
		    key, cmd == CONTROL_ACCOUNT || cmd == CONTROL_IMPORT ? "an" :
		    "a", cmd_names[cmd]);
		return -1;
	}
	return 0;
}

/* The checks that need the whole request: what renew must name. */
static int
req_complete(const struct control_req *req, char *err, size_t errlen)
{
	if (req->cmd == CONTROL_ACCOUNT && req->op ==
	    ACME_ACCT_DEACTIVATE && !req->confirm) {
		snprintf(err, errlen, "account deactivate: not without "
		    "\"confirm\": true (it cannot be undone)");
		return -1;
	}
	if (req->cmd != CONTROL_RENEW)
		return 0;
	if (req->all && req->nnames > 0)
		snprintf(err, errlen, "renew: \"names\" and \"all\" together");
	else if (!req->all && req->nnames == 0)
		snprintf(err, errlen, "renew: neither \"names\" nor \"all\"");
	else
		return 0;
	return -1;
}

int
control_req_parse(const char *buf, size_t len, struct control_req *req,
    char *err, size_t errlen)
{
	json_error_t	 je;
	char		*near;
	json_t		*o;
	const char	*cmd;
	size_t		 i;
	int		 rc = -1;

	memset(req, 0, sizeof(*req));
	req->wait = 1;
	if ((o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		/*
		 * jansson quotes the text "near" the error: in an import
		 * request that may be part of a key, and err is logged.
		 */
		if ((near = strstr(je.text, " near ")) != NULL)
			*near = '\0';
		snprintf(err, errlen, "not JSON: line %d column %d: %s",
		    je.line, je.column, je.text);
		return -1;
	}
	if (!json_is_object(o))
		snprintf(err, errlen, "not a JSON object");
	else if ((cmd = json_string_value(json_object_get(o, "cmd"))) == NULL)
		snprintf(err, errlen, "\"cmd\": missing or not a string");
	else {
		for (i = 0; i < sizeof(cmd_names) / sizeof(cmd_names[0]); i++)
			if (strcmp(cmd, cmd_names[i]) == 0)
				break;
		if (i == sizeof(cmd_names) / sizeof(cmd_names[0]))
			snprintf(err, errlen, "\"cmd\": unknown command \"%.64s\"",
			    cmd);
		else if ((req->cmd = i, known_keys(o, req->cmd, err,
		    errlen)) == 0 && get_names(o, req, err, errlen) == 0 &&
		    get_revoke(o, req, err, errlen) == 0 &&
		    get_account(o, req, err, errlen) == 0 &&
		    get_import(o, req, err, errlen) == 0 &&
		    get_bool(o, "confirm", &req->confirm, err, errlen) == 0 &&
		    get_bool(o, "all", &req->all, err, errlen) == 0 &&
		    get_bool(o, "force", &req->force, err, errlen) == 0 &&
		    get_bool(o, "dry_run", &req->dry_run, err, errlen) == 0 &&
		    get_bool(o, "wait", &req->wait, err, errlen) == 0 &&
		    get_bool(o, "cert_key", &req->cert_key, err, errlen) == 0 &&
		    req_complete(req, err, errlen) == 0)
			rc = 0;
	}
	json_decref(o);
	if (rc == -1)
		control_req_clear(req);
	return rc;
}

void
control_req_clear(struct control_req *req)
{
	size_t	i;

	for (i = 0; i < req->nnames; i++)
		free(req->names[i]);
	free(req->names);
	for (i = 0; i < req->ncontact; i++)
		free(req->contact[i]);
	free(req->contact);
	free(req->ca);
	free(req->url);
	xfree_secret_str(req->key_pem);
	free(req->cert_pem);
	free(req->chain_pem);
	memset(req, 0, sizeof(*req));
}

char *
control_req_format(const struct control_req *req)
{
	json_t	*o = json_object(), *a;
	char	*s, *line;
	size_t	 i;

	json_object_set_new(o, "cmd", json_string(cmd_names[req->cmd]));
	if (req->cmd == CONTROL_REVOKE) {
		json_object_set_new(o, "name", json_string(req->names[0]));
		json_object_set_new(o, "reason", json_string(
		    control_revoke_reason_name(req->reason)));
		json_object_set_new(o, "cert_key", json_boolean(req->cert_key));
		json_object_set_new(o, "wait", json_boolean(req->wait));
	} else if (req->cmd == CONTROL_ACCOUNT) {
		json_object_set_new(o, "op", json_string(
		    control_account_op_name(req->op)));
		json_object_set_new(o, "ca", json_string(req->ca));
		if (req->ncontact > 0) {
			a = json_array();
			for (i = 0; i < req->ncontact; i++)
				json_array_append_new(a,
				    json_string(req->contact[i]));
			json_object_set_new(o, "contact", a);
		}
		if (req->confirm)
			json_object_set_new(o, "confirm", json_true());
	} else if (req->cmd == CONTROL_IMPORT) {
		json_object_set_new(o, "kind", json_string(req->import_cert ?
		    "cert" : "account"));
		if (req->import_cert) {
			json_object_set_new(o, "name", json_string(req->names[0]));
			json_object_set_new(o, "cert_pem",
			    json_string(req->cert_pem));
			json_object_set_new(o, "chain_pem",
			    json_string(req->chain_pem));
		} else {
			json_object_set_new(o, "ca", json_string(req->ca));
			json_object_set_new(o, "url", json_string(req->url));
		}
		json_object_set_new(o, "key_pem", json_string(req->key_pem));
	} else if (req->nnames > 0) {
		a = json_array();
		for (i = 0; i < req->nnames; i++)
			json_array_append_new(a, json_string(req->names[i]));
		json_object_set_new(o, "names", a);
	}
	if (req->cmd == CONTROL_RENEW) {
		if (req->all)
			json_object_set_new(o, "all", json_true());
		json_object_set_new(o, "force", json_boolean(req->force));
		json_object_set_new(o, "wait", json_boolean(req->wait));
		if (req->dry_run)
			json_object_set_new(o, "dry_run", json_true());
	}
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	line = xasprintf("%s\n", s);
	xfree_secret_str(s);	/* an import's key */
	return line;
}

void
control_json_time(json_t *o, const char *key, long long t)
{
	char	buf[32], *k = xasprintf("%s_epoch", key);

	if (t == 0) {
		json_object_set_new(o, key, json_null());
		json_object_set_new(o, k, json_null());
	} else {
		json_object_set_new(o, key, json_string(log_fmt_time((time_t)t,
		    buf, sizeof(buf))));
		json_object_set_new(o, k, json_integer(t));
	}
	free(k);
}

void
control_delivery(const char *state_dir, const struct conf_cert *cc,
    const char *serial, char *out, size_t outlen, int *failing)
{
	char	*p;

	*failing = 0;
	if (serial == NULL || (cc->dlv->ndeploy == 0 && cc->dlv->nreload == 0 &&
	    cc->dlv->verify.addrs.n == 0)) {
		snprintf(out, outlen, "-");
		return;
	}
	if (store_delivery_state(state_dir, cc->name, serial, out,
	    outlen) == -1) {
		snprintf(out, outlen, "pending");
		return;
	}
	*failing = strcmp(out, "delivered") != 0 && strcmp(out, "pending") != 0;
	for (p = out; *p != '\0'; p++)
		if (*p == ' ')
			*p = '-';
}

/* Returns s as a JSON string, or null for NULL. */
static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* The last failure sv keeps, or null. */
static json_t *
last_error(const struct sched_state *sv)
{
	json_t	*e;

	if (sv == NULL || (sv->err_at == 0 && sv->err_detail == NULL &&
	    sv->err_type == NULL))
		return json_null();
	e = json_object();
	control_json_time(e, "at", sv->err_at);
	json_object_set_new(e, "ca", str_or_null(sv->err_ca));
	json_object_set_new(e, "url", str_or_null(sv->err_url));
	json_object_set_new(e, "type", str_or_null(sv->err_type));
	json_object_set_new(e, "detail", str_or_null(sv->err_detail));
	return e;
}

json_t *
control_view_json(const struct renew_view *v, const char *serial,
    const char *delivery)
{
	const struct sched_state *sv = v->saved;
	json_t	*o = json_object(), *a;
	size_t	 i;

	json_object_set_new(o, "name", json_string(v->cfg->name));
	a = json_array();
	for (i = 0; i < v->cfg->domains.n; i++)
		json_array_append_new(a, json_string(v->cfg->domains.v[i]));
	json_object_set_new(o, "domains", a);
	json_object_set_new(o, "ca", str_or_null(v->ca));
	json_object_set_new(o, "serial", str_or_null(serial));
	json_object_set_new(o, "delivery", json_string(delivery));
	control_json_time(o, "not_before", v->not_before);
	control_json_time(o, "not_after", v->not_after);
	json_object_set_new(o, "state", json_string(v->state));
	json_object_set_new(o, "next_action", json_string(v->next_action));
	control_json_time(o, "next", v->next);
	json_object_set_new(o, "failures", json_integer(v->failures));
	json_object_set_new(o, "last_error", last_error(sv));
	control_json_time(o, "retry_at", sv != NULL ? sv->retry_at : 0);
	control_json_time(o, "hold_until", sv != NULL ? sv->hold_until : 0);
	json_object_set_new(o, "hold_reason", str_or_null(sv != NULL ?
	    sv->hold_reason : NULL));
	if (v->clustered)	/* cluster mode: which node orders it */
		json_object_set_new(o, "holder", str_or_null(v->holder));
	return o;
}
