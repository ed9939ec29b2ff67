/*
 * fuzz_acme_json.c - libFuzzer target: bytes as the body of every ACME
 * document renewd parses, through the functions the daemon runs.
 *
 * The first byte picks the setting (which challenge the certificate wants,
 * which solvers exist, whether the CA may name http:// URLs); the rest is
 * the body. Each input is read as acme_reply_read reads a CA answer, both
 * as a 2xx answer (then as the directory, as an order object in each state
 * that reads one, and as an authorization with its challenge) and as an
 * error answer (a problem document). Every error text must be one line:
 * CA text goes into logs and into errors quoted whole.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acme_int.h"
#include "acme_solver.h"
#include "validate.h"
#include "xmalloc.h"
#include "fuzz.h"


#define URL	"https://ca.test/acme/x/1"

static int
is_url_ok(const struct acme_ca *ca, const char *url)
{
	char	*err = acme_url_refused(ca, "fuzz", url);
	int	 ok = err == NULL;

	free(err);
	return ok;
}

/* The directory: what it keeps must be URLs the client may request. */
static void
fuzz_directory(struct acme_ca *ca, const struct acme_reply *r)
{
	char	*err = acme_dir_parse(ca, r->json);
	char	*const urls[] = { ca->new_nonce, ca->new_account, ca->new_order,
	    ca->revoke_cert, ca->key_change, ca->renewal_info };
	size_t	 i;

	if (err != NULL)
		one_line(err);
	else if (ca->new_nonce == NULL || ca->new_account == NULL ||
	    ca->new_order == NULL)
		TRAP();
	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
		if (urls[i] != NULL && !is_url_ok(ca, urls[i]))
			TRAP();
	free(err);
	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
		free(urls[i]);
	free(ca->tos);
	ca->new_nonce = ca->new_account = ca->new_order = NULL;
	ca->revoke_cert = ca->key_change = ca->tos = ca->renewal_info = NULL;
}

/* An order object, read in every state that reads one. */
static void
fuzz_order(struct acme_order *o, const struct acme_reply *r)
{
	static const enum order_state states[] = { O_NEW, O_RESUME,
	    O_WAIT_READY, O_FINALIZE, O_WAIT_VALID };
	enum order_state next;
	char		*err;
	size_t		 i;

	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		err = NULL;
		o->state = states[i];
		next = acme_order_object(o, r, &err);
		/* an error, exactly when the order ends */
		if ((next == O_DONE) != (err != NULL))
			TRAP();
		if (err != NULL)
			one_line(err);
		switch (next) {
		case O_CERT:
			if (r->status != ACME_VALID || o->cert_url == NULL)
				TRAP();
			break;
		case O_AUTHZ:
			if ((states[i] != O_NEW && states[i] != O_RESUME) ||
			    r->status != ACME_PENDING)
				TRAP();
			break;
		case O_FINALIZE:
			if (r->status != ACME_READY)
				TRAP();
			break;
		case O_WAIT_READY:
		case O_WAIT_VALID:
		case O_DONE:
			break;
		default:	/* no object takes an order anywhere else */
			TRAP();
		}
		free(err);
		free(o->finalize_url);
		free(o->cert_url);
		o->finalize_url = o->cert_url = NULL;
		/* what an invalid order noted: each state notes afresh */
		free(o->fail_problem);
		free(o->fail_url);
		o->fail_problem = o->fail_url = NULL;
		memset(&o->fail, 0, sizeof(o->fail));
	}
}

/* An authorization, first seen (authz_step's A_FETCH). */
static void
fuzz_authz(struct acme_authz *a, const struct acme_reply *r)
{
	const struct acme_solver *s = NULL;
	const char	*token;
	enum acme_status st = ACME_NO_STATUS;
	enum authz_state next;
	char		*err = NULL;

	acme_authz_identify(a, r->json);
	if (a->id_type != NULL && a->id_value == NULL)
		TRAP();
	if (r->status == ACME_PENDING) {
		token = acme_authz_choose(a, r, &s, &st, &err);
		if ((token == NULL) == (err == NULL))
			TRAP();
		if (token != NULL) {
			/* what a solver is handed was checked */
			if (s == NULL || a->chall_url == NULL ||
			    a->chall_type != s->type ||
			    !valid_base64url(token, ACME_TOKEN_MAX, 0) ||
			    st == ACME_NO_STATUS || a->id_type == NULL ||
			    (a->order->challenge != NULL &&
			    strcmp(a->order->challenge, s->type) != 0))
				TRAP();
		}
	} else {
		next = acme_authz_object(a, r, &err);
		if ((next == A_VALID) != (r->status == ACME_VALID) ||
		    (next == A_VALID) == (err != NULL))
			TRAP();
	}
	if (err != NULL)
		one_line(err);
	free(err);
	free(a->id_value);
	free(a->chall_url);
	a->id_value = a->chall_url = NULL;
	a->id_type = a->chall_type = NULL;
}

/* The same bytes as an error answer: a problem document. */
static void
fuzz_problem(const char *body, size_t len, long status)
{
	struct http_response	resp;
	struct acme_reply	r;
	char			*s;

	memset(&resp, 0, sizeof(resp));
	resp.url = URL;
	resp.status = status;
	resp.body = body;
	resp.body_len = len;
	resp.retry_after = "120";
	acme_reply_read(&r, &resp, URL, 1);
	if (r.err == NULL || r.json != NULL)
		TRAP();
	one_line(r.err);
	if (r.problem != NULL) {
		if (r.problem != r.prob.type || r.prob.nsub > 64)
			TRAP();
		s = acme_problem_str(&r.prob);
		if (*s != '\0')	/* "type": "" and nothing else: empty */
			one_line(s);
		free(s);
	}
	acme_reply_clear(&r);
}

static int
can_dns_only(void *arg, const char *id_type, const char *id_value)
{
	(void)arg;
	(void)id_value;
	return strcmp(id_type, "dns") == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const wants[] = { NULL, "http-01", "dns-01",
	    "tls-alpn-01" };
	const struct acme_solver solvers[] = {
		{ .type = NULL },	/* an empty slot */
		{ .type = "dns-01", .can = can_dns_only },
		{ .type = "http-01" },
		{ .type = "tls-alpn-01" },
	};
	struct acme_ca		 ca;
	struct acme_order	 o;
	struct acme_authz	 a;
	struct http_response	 resp;
	struct acme_reply	 r;
	char			*body;
	size_t			 len;

	if (size < 1)
		return 0;
	memset(&ca, 0, sizeof(ca));
	ca.name = "fuzz";
	ca.directory = "https://ca.test/dir";
	ca.env.allow_http = (data[0] & 0x4) != 0;
	ca.env.solvers = (data[0] & 0x8) ? solvers : solvers + 2;
	ca.env.nsolvers = (data[0] & 0x8) ? 4 : 2;
	ca.thumbprint = "thumb";
	memset(&o, 0, sizeof(o));
	o.ca = &ca;
	o.url = URL;
	o.cert_name = "fuzz";
	o.challenge = (char *)wants[data[0] & 0x3];
	memset(&a, 0, sizeof(a));
	a.order = &o;
	a.url = URL;

	/* http.c hands on a NUL-terminated body */
	len = size - 1;
	body = xmalloc(len + 1);
	memcpy(body, data + 1, len);
	body[len] = '\0';

	memset(&resp, 0, sizeof(resp));
	resp.url = URL;
	resp.status = 200;
	resp.body = body;
	resp.body_len = len;
	acme_reply_read(&r, &resp, URL, 1);
	if ((r.err == NULL) != (r.json != NULL))
		TRAP();
	if (r.err != NULL)
		one_line(r.err);
	else {
		if (!json_is_object(r.json) ||
		    r.status != acme_status_parse(r.status_text))
			TRAP();
		fuzz_directory(&ca, &r);
		fuzz_order(&o, &r);
		fuzz_authz(&a, &r);
	}
	free(o.fail_problem);	/* what an invalid authorization noted */
	free(o.fail_url);
	acme_reply_clear(&r);
	fuzz_problem(body, len, 400 + (data[0] >> 4));
	free(body);
	return 0;
}
