/* etcd_json.c - etcd's v3 JSON gateway: requests formatted, replies parsed strictly */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto.h"
#include "etcd.h"
#include "xmalloc.h"

/*
 * The gateway's traps (etcd 3.4, captured replies in tests/unit/etcd/):
 * keys and values are base64; every int64 is a JSON string; a field at its
 * default (0, false, "", empty list) is omitted, so absence means zero; a
 * misspelt request field is silently ignored, so requests are built here
 * only, from fixed field names the unit test checks. Replies are read with
 * the exact field list of each message: an unexpected field or type is an
 * error, not something to skip.
 */

/*
 * The gateway's base64 is the standard alphabet, padded (RFC 4648 section
 * 4); crypto.c has the codec for base64url: translate at the edges.
 */
char *
etcd_b64(const void *p, size_t len)
{
	char	*u = b64url_encode(p, len), *s, *c;
	size_t	 n = strlen(u);

	s = xmalloc(n + 3);
	memcpy(s, u, n);
	while (n % 4 != 0)
		s[n++] = '=';
	s[n] = '\0';
	for (c = s; *c != '\0'; c++)
		*c = *c == '-' ? '+' : *c == '_' ? '/' : *c;
	free(u);
	return s;
}

unsigned char *
etcd_unb64(const char *s, size_t *lenp)
{
	unsigned char	*ret = NULL;
	char		*u;
	size_t		 n = strlen(s), i, end = n;

	if (n % 4 != 0)
		return NULL;
	/* '=' only as the last one or two characters */
	while (end > 0 && end > n - 2 && s[end - 1] == '=')
		end--;
	u = xmalloc(end + 1);
	for (i = 0; i < end; i++) {
		if (s[i] == '-' || s[i] == '_' || s[i] == '=')
			goto out;
		u[i] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
	}
	u[end] = '\0';
	ret = b64url_decode(u, lenp);
 out:
	free(u);
	return ret;
}

/* Reads an int64 the gateway sent as a string; absent is 0. Returns 0 or -1. */
static int
get_i64(json_t *obj, const char *name, int64_t *v)
{
	json_t		*j = json_object_get(obj, name);
	const char	*s;
	char		*end;
	long long	 x;

	*v = 0;
	if (j == NULL)
		return 0;
	if (!json_is_string(j) || (s = json_string_value(j))[0] == '\0')
		return -1;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || (s[0] != '-' && (s[0] < '0' || s[0] > '9')))
		return -1;
	*v = x;
	return 0;
}

/* Returns 0 if every member of obj is named in allowed (space-separated). */
static int
only_fields(json_t *obj, const char *allowed)
{
	const char	*k, *p;
	json_t		*v;
	size_t		 kl;

	if (!json_is_object(obj))
		return -1;
	json_object_foreach(obj, k, v) {
		kl = strlen(k);
		for (p = allowed; (p = strstr(p, k)) != NULL; p += kl)
			if ((p == allowed || p[-1] == ' ') &&
			    (p[kl] == ' ' || p[kl] == '\0'))
				break;
		if (p == NULL)
			return -1;
	}
	return 0;
}

/* Decodes the base64 member name of obj into *out (absent = empty). */
static int
get_b64(json_t *obj, const char *name, unsigned char **out, size_t *len)
{
	json_t *j = json_object_get(obj, name);

	*len = 0;
	if (j == NULL) {
		*out = (unsigned char *)xstrdup("");
		return 0;
	}
	if (!json_is_string(j))
		return -1;
	return (*out = etcd_unb64(json_string_value(j), len)) == NULL ? -1 : 0;
}

static void
kv_clear(struct etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

static int
parse_kv(json_t *j, struct etcd_kv *kv)
{
	unsigned char *key = NULL;

	memset(kv, 0, sizeof(*kv));
	if (only_fields(j, "key create_revision mod_revision version value "
	    "lease") == -1 || json_object_get(j, "key") == NULL ||
	    get_b64(j, "key", &key, &kv->key_len) == -1 ||
	    get_b64(j, "value", &kv->value, &kv->value_len) == -1 ||
	    get_i64(j, "create_revision", &kv->create_revision) == -1 ||
	    get_i64(j, "mod_revision", &kv->mod_revision) == -1 ||
	    get_i64(j, "version", &kv->version) == -1 ||
	    get_i64(j, "lease", &kv->lease) == -1) {
		free(key);
		kv_clear(kv);
		return -1;
	}
	kv->key = (char *)key;
	return 0;
}

static int
parse_header(json_t *h, int64_t *rev)
{
	*rev = 0;
	if (only_fields(h, "cluster_id member_id revision raft_term") == -1)
		return -1;
	return get_i64(h, "revision", rev);
}

static void
range_clear(struct etcd_range *r)
{
	size_t i;

	for (i = 0; i < r->nkvs; i++)
		kv_clear(&r->kvs[i]);
	free(r->kvs);
	memset(r, 0, sizeof(*r));
}

/* Parses an array of kvs (absent = none) into r. */
static int
parse_kvs(json_t *a, struct etcd_range *r)
{
	size_t	 i;
	json_t	*v;

	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return -1;
	r->kvs = xcalloc(json_array_size(a) + 1, sizeof(*r->kvs));
	json_array_foreach(a, i, v) {
		if (parse_kv(v, &r->kvs[i]) == -1)
			return -1;
		r->nkvs++;
	}
	return 0;
}

/* A txn's response_range / response_put / response_delete_range. */
static int
parse_txn_response(json_t *j, struct etcd_range *r)
{
	json_t		*v;
	const char	*k;
	int64_t		 dummy;

	if (!json_is_object(j) || json_object_size(j) != 1)
		return -1;
	json_object_foreach(j, k, v) {
		if (strcmp(k, "response_range") == 0) {
			if (only_fields(v, "header kvs count more") == -1 ||
			    parse_kvs(json_object_get(v, "kvs"), r) == -1 ||
			    get_i64(v, "count", &r->count) == -1)
				return -1;
		} else if (strcmp(k, "response_put") == 0) {
			if (only_fields(v, "header prev_kv") == -1)
				return -1;
		} else if (strcmp(k, "response_delete_range") == 0) {
			if (only_fields(v, "header deleted prev_kvs") == -1 ||
			    get_i64(v, "deleted", &dummy) == -1)
				return -1;
		} else
			return -1;
	}
	return 0;
}

static int
parse_txn(json_t *j, struct etcd_reply *r)
{
	json_t	*a = json_object_get(j, "responses"), *s, *v;
	size_t	 i;

	s = json_object_get(j, "succeeded");
	if (s != NULL && !json_is_boolean(s))
		return -1;
	r->succeeded = json_is_true(s);
	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return -1;
	r->responses = xcalloc(json_array_size(a) + 1, sizeof(*r->responses));
	json_array_foreach(a, i, v) {
		r->nresponses++;
		if (parse_txn_response(v, &r->responses[i]) == -1)
			return -1;
	}
	return 0;
}

/* The body of one reply kind, after its header. */
static int
parse_body(const char *kind, json_t *j, struct etcd_reply *r)
{
	json_t *pk;

	if (strcmp(kind, "range") == 0)
		return only_fields(j, "header kvs count more") == -1 ||
		    parse_kvs(json_object_get(j, "kvs"), &r->range) == -1 ||
		    get_i64(j, "count", &r->range.count) == -1 ? -1 : 0;
	if (strcmp(kind, "put") == 0) {
		if (only_fields(j, "header prev_kv") == -1)
			return -1;
		if ((pk = json_object_get(j, "prev_kv")) == NULL)
			return 0;
		r->range.kvs = xcalloc(1, sizeof(*r->range.kvs));
		if (parse_kv(pk, &r->range.kvs[0]) == -1)
			return -1;
		r->range.nkvs = r->range.count = 1;
		return 0;
	}
	if (strcmp(kind, "delete") == 0)
		return only_fields(j, "header deleted prev_kvs") == -1 ||
		    get_i64(j, "deleted", &r->deleted) == -1 ? -1 : 0;
	if (strcmp(kind, "txn") == 0)
		return only_fields(j, "header succeeded responses") == -1 ||
		    parse_txn(j, r) == -1 ? -1 : 0;
	if (strcmp(kind, "grant") == 0 || strcmp(kind, "keepalive") == 0)
		return only_fields(j, "header ID TTL error") == -1 ||
		    get_i64(j, "ID", &r->lease_id) == -1 ||
		    get_i64(j, "TTL", &r->ttl) == -1 ? -1 : 0;
	if (strcmp(kind, "revoke") == 0 || strcmp(kind, "compact") == 0)
		return only_fields(j, "header");
	return -1;
}

int
etcd_parse_reply(const char *kind, const char *body, size_t len,
    struct etcd_reply *r, const char **why)
{
	json_t		*root, *j;
	json_error_t	 jerr;
	int		 rc = -1;

	*why = NULL;
	if ((root = json_loadb(body, len, 0, &jerr)) == NULL) {
		*why = "reply is not JSON";
		goto out;
	}
	j = root;
	/* keepalive is a stream: each message wrapped in "result" */
	if (strcmp(kind, "keepalive") == 0 &&
	    (only_fields(root, "result") == -1 ||
	    (j = json_object_get(root, "result")) == NULL)) {
		*why = "keepalive reply has no \"result\"";
		goto out;
	}
	if (!json_is_object(j) || json_object_get(j, "header") == NULL ||
	    parse_header(json_object_get(j, "header"), &r->revision) == -1 ||
	    r->revision <= 0) {
		*why = "reply has no valid header revision";
		goto out;
	}
	if (parse_body(kind, j, r) == -1) {
		*why = "reply has an unexpected field or a field of the wrong type";
		goto out;
	}
	if (strcmp(kind, "grant") == 0 && (r->lease_id == 0 || r->ttl <= 0)) {
		*why = "lease grant reply without ID or TTL";
		goto out;
	}
	rc = 0;
 out:
	json_decref(root);
	return rc;
}

void
etcd_reply_clear(struct etcd_reply *r)
{
	size_t i;

	range_clear(&r->range);
	for (i = 0; i < r->nresponses; i++)
		range_clear(&r->responses[i]);
	free(r->responses);
	r->responses = NULL;
	r->nresponses = 0;
}

static int
parse_events(json_t *a, struct etcd_watch_msg *m)
{
	json_t		*v, *t;
	size_t		 i;

	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return -1;
	m->events = xcalloc(json_array_size(a) + 1, sizeof(*m->events));
	m->kvs = xcalloc(json_array_size(a) + 1, sizeof(*m->kvs));
	json_array_foreach(a, i, v) {
		if (only_fields(v, "type kv prev_kv") == -1 ||
		    parse_kv(json_object_get(v, "kv"), &m->kvs[i]) == -1)
			return -1;
		m->nevents++;
		m->events[i].kv = &m->kvs[i];
		t = json_object_get(v, "type");
		if (t == NULL)
			m->events[i].type = ETCD_EV_PUT;
		else if (json_is_string(t) &&
		    strcmp(json_string_value(t), "DELETE") == 0)
			m->events[i].type = ETCD_EV_DELETE;
		else
			return -1;
		if (m->kvs[i].mod_revision <= 0)
			return -1;
	}
	return 0;
}

int
etcd_parse_watch(const char *line, size_t len, struct etcd_watch_msg *m,
    const char **why)
{
	json_t		*root, *j, *b;
	json_error_t	 jerr;
	int		 rc = -1;

	memset(m, 0, sizeof(*m));
	*why = NULL;
	if ((root = json_loadb(line, len, 0, &jerr)) == NULL) {
		*why = "watch message is not JSON";
		goto out;
	}
	if (json_object_get(root, "error") != NULL) {
		*why = "watch stream error";
		goto out;
	}
	j = json_object_get(root, "result");
	if (only_fields(root, "result") == -1 || only_fields(j, "header "
	    "watch_id created canceled compact_revision cancel_reason "
	    "fragment events") == -1 ||
	    parse_header(json_object_get(j, "header"), &m->revision) == -1 ||
	    get_i64(j, "compact_revision", &m->compact_revision) == -1 ||
	    parse_events(json_object_get(j, "events"), m) == -1) {
		*why = "watch message has an unexpected field or type";
		goto out;
	}
	b = json_object_get(j, "created");
	m->created = json_is_true(b);
	if (b != NULL && !json_is_boolean(b))
		goto out;
	b = json_object_get(j, "canceled");
	m->canceled = json_is_true(b);
	if (b != NULL && !json_is_boolean(b))
		goto out;
	rc = 0;
 out:
	if (rc == -1 && *why == NULL)
		*why = "watch message has a field of the wrong type";
	json_decref(root);
	return rc;
}

void
etcd_watch_msg_clear(struct etcd_watch_msg *m)
{
	size_t i;

	for (i = 0; i < m->nevents; i++)
		kv_clear(&m->kvs[i]);
	free(m->kvs);
	free(m->events);
	memset(m, 0, sizeof(*m));
}

static json_t *
b64_json(const void *p, size_t len)
{
	char	*s = etcd_b64(p, len);
	json_t	*j = json_string(s);

	free(s);
	return j;
}

/* Returns the JSON string of an int64, the way the gateway wants it. */
static json_t *
i64_json(int64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "%lld", (long long)v);
	return json_string(s);
}

static size_t
klen(const char *k, size_t len)
{
	return len > 0 ? len : strlen(k);
}

/* Sets key and range_end of o (a range or delete request). */
static void
set_range(json_t *o, const char *key, size_t key_len, const char *end)
{
	json_object_set_new(o, "key", b64_json(key, klen(key, key_len)));
	if (end != NULL)
		json_object_set_new(o, "range_end", b64_json(end,
		    end[0] == '\0' ? 1 : strlen(end)));
}

static json_t *
op_json(const struct etcd_op *op)
{
	json_t *o = json_object(), *w = json_object();

	switch (op->type) {
	case ETCD_OP_RANGE:
		set_range(o, op->key, op->key_len, op->range_end);
		json_object_set_new(w, "request_range", o);
		break;
	case ETCD_OP_PUT:
		json_object_set_new(o, "key", b64_json(op->key,
		    klen(op->key, op->key_len)));
		json_object_set_new(o, "value", b64_json(op->value,
		    op->value_len));
		if (op->lease != 0)
			json_object_set_new(o, "lease", i64_json(op->lease));
		json_object_set_new(w, "request_put", o);
		break;
	case ETCD_OP_DELETE:
		set_range(o, op->key, op->key_len, op->range_end);
		json_object_set_new(w, "request_delete_range", o);
		break;
	default:
		json_decref(o);
		json_decref(w);
		return NULL;
	}
	return w;
}

static int
add_ops(json_t *req, const char *name, const struct etcd_op *ops, size_t n)
{
	json_t	*a = json_array(), *o;
	size_t	 i;

	json_object_set_new(req, name, a);
	for (i = 0; i < n; i++) {
		if ((o = op_json(&ops[i])) == NULL)
			return -1;
		json_array_append_new(a, o);
	}
	return 0;
}

static json_t *
cmp_json(const struct etcd_cmp *c)
{
	static const char *const targets[] = { "CREATE", "MOD", "VERSION" };
	static const char *const fields[] = { "create_revision",
	    "mod_revision", "version" };
	static const char *const results[] = { "EQUAL", "NOT_EQUAL",
	    "GREATER", "LESS" };
	json_t *o;

	if ((unsigned)c->target > ETCD_CMP_VERSION ||
	    (unsigned)c->result > ETCD_LESS)
		return NULL;
	o = json_object();
	json_object_set_new(o, "key", b64_json(c->key, klen(c->key, c->key_len)));
	json_object_set_new(o, "target", json_string(targets[c->target]));
	json_object_set_new(o, "result", json_string(results[c->result]));
	json_object_set_new(o, fields[c->target], i64_json(c->value));
	return o;
}

char *
etcd_format_txn(const struct etcd_cmp *cmps, size_t ncmps,
    const struct etcd_op *succ, size_t nsucc, const struct etcd_op *fail,
    size_t nfail)
{
	json_t	*req = json_object(), *a = json_array(), *c;
	char	*ret = NULL;
	size_t	 i;

	json_object_set_new(req, "compare", a);
	for (i = 0; i < ncmps; i++) {
		if ((c = cmp_json(&cmps[i])) == NULL)
			goto out;
		json_array_append_new(a, c);
	}
	if (add_ops(req, "success", succ, nsucc) == -1 ||
	    add_ops(req, "failure", fail, nfail) == -1)
		goto out;
	ret = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);
 out:
	json_decref(req);
	return ret;
}

static char *
dump(json_t *req)
{
	char *s = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(req);
	return s;
}

char *
etcd_format_range(const char *key, const char *end, int64_t revision,
    int serializable)
{
	json_t *o = json_object();

	set_range(o, key, 0, end);
	if (revision > 0)
		json_object_set_new(o, "revision", i64_json(revision));
	if (serializable)
		json_object_set_new(o, "serializable", json_true());
	return dump(o);
}

char *
etcd_format_put(const char *key, const unsigned char *value, size_t len,
    int64_t lease)
{
	struct etcd_op	 op = { .type = ETCD_OP_PUT, .key = key,
			    .value = value, .value_len = len, .lease = lease };
	json_t		*w = op_json(&op), *o;

	o = json_incref(json_object_get(w, "request_put"));
	json_decref(w);
	return dump(o);
}

char *
etcd_format_delete(const char *key, const char *end)
{
	json_t *o = json_object();

	set_range(o, key, 0, end);
	return dump(o);
}

char *
etcd_format_lease(const char *field, int64_t v)
{
	json_t *o = json_object();

	json_object_set_new(o, field, i64_json(v));
	return dump(o);
}

char *
etcd_format_watch(const char *key, const char *end, int64_t start)
{
	json_t *o = json_object(), *w = json_object();

	set_range(o, key, 0, end);
	if (start > 0)
		json_object_set_new(o, "start_revision", i64_json(start));
	json_object_set_new(w, "create_request", o);
	return dump(w);
}

void
etcd_error_fields(const char *body, size_t len, int *code, char *msg,
    size_t msz)
{
	json_t		*root, *m, *c;
	json_error_t	 jerr;

	*code = -1;
	snprintf(msg, msz, "(no etcd error message)");
	if ((root = json_loadb(body, len, 0, &jerr)) == NULL)
		return;
	m = json_object_get(root, "message");
	c = json_object_get(root, "code");
	if (json_is_string(m))
		snprintf(msg, msz, "%s", json_string_value(m));
	if (json_is_integer(c))
		*code = (int)json_integer_value(c);
	json_decref(root);
}

void
etcd_prefix_end(const char *key, char *end)
{
	size_t n = strlen(key);

	memcpy(end, key, n + 1);
	while (n > 0) {
		if ((unsigned char)end[n - 1] < 0xff) {
			end[n - 1]++;
			end[n] = '\0';
			return;
		}
		end[--n] = '\0';
	}
	/* all 0xff: every key from here on */
	end[0] = '\0';
}

char *
etcd_format_compact(int64_t rev)
{
	json_t *o = json_object();

	json_object_set_new(o, "revision", i64_json(rev));
	json_object_set_new(o, "physical", json_true());
	return dump(o);
}
