/* cluster_rec.c - cluster mode's records in etcd: JSON encoded, parsed strictly, checked */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acme_solver.h"
#include "cluster_rec.h"
#include "crypto.h"
#include "validate.h"
#include "xmalloc.h"

/*
 * Each record is one JSON object whose fields a table below lists: the
 * encoder writes exactly them, the parser wants exactly them (no field
 * missing, none unknown, none twice, each of its type), so a record that
 * another version of renewd or a hand in etcdctl wrote wrongly is refused
 * with the field named, never half read. A record arrives sealed, so its
 * bytes are the cluster's own; the strictness is against bugs and versions.
 * Times are JSON integers (seconds since the epoch), serials lower-case hex
 * as crypto_cert_info has them. Keys are wiped wherever this file held them.
 */

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
/* the longest serial RFC 5280 allows is 20 octets; leave room */
#define REC_SERIAL_MAX	64

enum rec_kind {
	R_TEXT,		/* a non-empty string */
	R_TEXT0,	/* a string, maybe empty */
	R_NULLABLE,	/* a non-empty string or null (NULL) */
	R_NAME,		/* valid_name */
	R_SERIAL,	/* lower-case hex */
	R_TIME,		/* an integer, >= 0 */
};

struct rec_field {
	const char	*name;
	enum rec_kind	 kind;
	size_t		 off;
	int		 secret;
	const char	*why;	/* said when the field is missing or bad */
};

#define F(t, m, k, s)	{ #m, k, offsetof(t, m), s, "bad or missing \"" #m "\"" }

static const struct rec_field cert_fields[] = {
	F(struct cluster_cert_rec, name, R_NAME, 0),
	F(struct cluster_cert_rec, serial, R_SERIAL, 0),
	F(struct cluster_cert_rec, not_before, R_TIME, 0),
	F(struct cluster_cert_rec, not_after, R_TIME, 0),
	F(struct cluster_cert_rec, key_pem, R_TEXT, 1),
	F(struct cluster_cert_rec, cert_pem, R_TEXT, 0),
	F(struct cluster_cert_rec, chain_pem, R_TEXT0, 0),
	F(struct cluster_cert_rec, node, R_NAME, 0),
};

static const struct rec_field account_fields[] = {
	F(struct cluster_account_rec, ca, R_NAME, 0),
	F(struct cluster_account_rec, key_pem, R_TEXT, 1),
	F(struct cluster_account_rec, url, R_TEXT, 0),
};

static const struct rec_field order_fields[] = {
	F(struct cluster_order_rec, ca, R_NAME, 0),
	F(struct cluster_order_rec, url, R_TEXT, 0),
	F(struct cluster_order_rec, key_pem, R_TEXT, 1),
	F(struct cluster_order_rec, node, R_NAME, 0),
};

/* digest: dns-01 only; cert: NULL when no certificate is named */
static const struct rec_field chall_fields[] = {
	F(struct cluster_chall_rec, type, R_TEXT, 0),
	F(struct cluster_chall_rec, id_type, R_TEXT, 0),
	F(struct cluster_chall_rec, id_value, R_TEXT, 0),
	F(struct cluster_chall_rec, token, R_TEXT, 0),
	F(struct cluster_chall_rec, keyauth, R_TEXT, 0),
	F(struct cluster_chall_rec, digest, R_NULLABLE, 0),
	F(struct cluster_chall_rec, cert, R_NULLABLE, 0),
};

#undef F

#define STR_AT(r, f)	((char **)(void *)((char *)(r) + (f)->off))
#define TIME_AT(r, f)	((time_t *)(void *)((char *)(r) + (f)->off))

/* Overwrites a JSON string's own copy of a key before it is freed. */
static void
wipe_json_string(json_t *j)
{
	if (json_is_string(j))
		explicit_bzero((char *)(uintptr_t)json_string_value(j),
		    json_string_length(j));
}

/* A string member; text that is not UTF-8 is kept as is, for the parser to refuse. */
static json_t *
json_text(const char *s)
{
	json_t	*j;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) == NULL)
		j = json_string_nocheck(s);
	return j;
}

static char *
rec_encode(const void *r, const struct rec_field *fields, size_t n,
    size_t *len)
{
	json_t	*o = json_object(), *v;
	char	*out;
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (fields[i].kind == R_TIME)
			v = json_integer((json_int_t)*TIME_AT(r, &fields[i]));
		else
			v = json_text(*STR_AT(r, &fields[i]));
		json_object_set_new(o, fields[i].name, v);
	}
	/* JSON_SORT_KEYS: one record, one text (tests compare bytes) */
	out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	for (i = 0; i < n; i++)
		if (fields[i].secret)
			wipe_json_string(json_object_get(o, fields[i].name));
	json_decref(o);
	if (out == NULL)	/* only when out of memory: xmalloc's policy */
		abort();
	*len = strlen(out);
	return out;
}

static int
serial_ok(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return i > 0 && i <= REC_SERIAL_MAX;
}

/* One member into r; returns 0, or -1 if it is not of f's kind. */
static int
field_get(json_t *v, const struct rec_field *f, void *r)
{
	const char	*s;

	if (f->kind == R_TIME) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return -1;
		*TIME_AT(r, f) = (time_t)json_integer_value(v);
		return 0;
	}
	if (f->kind == R_NULLABLE && json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	/* jansson refuses \u0000 by default: s is the whole string */
	if (s[0] == '\0' && f->kind != R_TEXT0)
		return -1;
	if ((f->kind == R_NAME && !valid_name(s)) ||
	    (f->kind == R_SERIAL && !serial_ok(s)))
		return -1;
	*STR_AT(r, f) = xstrdup(s);
	return 0;
}

static void
rec_clear(void *r, const struct rec_field *fields, size_t n, size_t size)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (fields[i].kind == R_TIME)
			continue;
		if (fields[i].secret)
			xfree_secret_str(*STR_AT(r, &fields[i]));
		else
			free(*STR_AT(r, &fields[i]));
	}
	memset(r, 0, size);
}

static int
rec_parse(const unsigned char *json, size_t len, void *r,
    const struct rec_field *fields, size_t n, size_t size, const char **why)
{
	json_t		*o;
	const char	*key;
	json_t		*v;
	size_t		 i;
	int		 rc = -1;

	memset(r, 0, size);
	o = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, NULL);
	if (o == NULL || !json_is_object(o)) {
		*why = "not a JSON object";
		goto out;
	}
	json_object_foreach(o, key, v) {
		for (i = 0; i < n && strcmp(key, fields[i].name) != 0; i++)
			;
		if (i == n) {
			*why = "unknown field";
			goto out;
		}
	}
	for (i = 0; i < n; i++)
		if (field_get(json_object_get(o, fields[i].name), &fields[i],
		    r) == -1) {
			*why = fields[i].why;
			goto out;
		}
	rc = 0;
out:
	if (o != NULL)
		for (i = 0; i < n; i++)
			if (fields[i].secret)
				wipe_json_string(json_object_get(o,
				    fields[i].name));
	json_decref(o);
	if (rc == -1)
		rec_clear(r, fields, n, size);
	return rc;
}

/* ---- the records --------------------------------------------------------- */

char *
cluster_cert_encode(const struct cluster_cert_rec *r, size_t *len)
{
	return rec_encode(r, cert_fields, NELEM(cert_fields), len);
}

int
cluster_cert_parse(const unsigned char *json, size_t len,
    struct cluster_cert_rec *r, const char **why)
{
	if (rec_parse(json, len, r, cert_fields, NELEM(cert_fields),
	    sizeof(*r), why) == -1)
		return -1;
	if (r->not_after < r->not_before) {
		*why = "\"not_after\" before \"not_before\"";
		cluster_cert_clear(r);
		return -1;
	}
	return 0;
}

void
cluster_cert_clear(struct cluster_cert_rec *r)
{
	if (r != NULL)
		rec_clear(r, cert_fields, NELEM(cert_fields), sizeof(*r));
}

char *
cluster_account_encode(const struct cluster_account_rec *r, size_t *len)
{
	return rec_encode(r, account_fields, NELEM(account_fields), len);
}

int
cluster_account_parse(const unsigned char *json, size_t len,
    struct cluster_account_rec *r, const char **why)
{
	return rec_parse(json, len, r, account_fields, NELEM(account_fields),
	    sizeof(*r), why);
}

void
cluster_account_clear(struct cluster_account_rec *r)
{
	if (r != NULL)
		rec_clear(r, account_fields, NELEM(account_fields),
		    sizeof(*r));
}

char *
cluster_order_encode(const struct cluster_order_rec *r, size_t *len)
{
	return rec_encode(r, order_fields, NELEM(order_fields), len);
}

int
cluster_order_parse(const unsigned char *json, size_t len,
    struct cluster_order_rec *r, const char **why)
{
	return rec_parse(json, len, r, order_fields, NELEM(order_fields),
	    sizeof(*r), why);
}

void
cluster_order_clear(struct cluster_order_rec *r)
{
	if (r != NULL)
		rec_clear(r, order_fields, NELEM(order_fields), sizeof(*r));
}

char *
cluster_chall_encode(const struct acme_challenge *c, size_t *len)
{
	/* the record's strings alias c's for the encoder only */
	struct cluster_chall_rec r = {
		(char *)(uintptr_t)c->type, (char *)(uintptr_t)c->id_type,
		(char *)(uintptr_t)c->id_value, (char *)(uintptr_t)c->token,
		(char *)(uintptr_t)c->keyauth, (char *)(uintptr_t)c->digest,
		(char *)(uintptr_t)c->cert
	};

	return rec_encode(&r, chall_fields, NELEM(chall_fields), len);
}

int
cluster_chall_parse(const unsigned char *json, size_t len,
    struct cluster_chall_rec *r, const char **why)
{
	return rec_parse(json, len, r, chall_fields, NELEM(chall_fields),
	    sizeof(*r), why);
}

void
cluster_chall_clear(struct cluster_chall_rec *r)
{
	if (r != NULL)
		rec_clear(r, chall_fields, NELEM(chall_fields), sizeof(*r));
}

void
cluster_chall_view(const struct cluster_chall_rec *r, struct acme_challenge *c)
{
	c->type = r->type;
	c->id_type = r->id_type;
	c->id_value = r->id_value;
	c->token = r->token;
	c->keyauth = r->keyauth;
	c->digest = r->digest;
	c->cert = r->cert;
}

/* ---- the check before an install ------------------------------------------ */

int
cluster_cert_check(const struct cluster_cert_rec *r, const char *name,
    const char *const *domains, size_t ndomains, char *err, size_t errlen)
{
	struct crypto_cert_info info;
	struct crypto_cert *leaf = NULL;
	struct crypto_key *key = NULL;
	char		*leaf_pem = NULL, *rest = NULL, why[256];
	int		 rc = -1;

	memset(&info, 0, sizeof(info));
	why[0] = '\0';
	if (r->name == NULL || strcmp(r->name, name) != 0)
		snprintf(err, errlen, "certificate %s: the record is for %s",
		    name, r->name != NULL ? r->name : "no name");
	else if (r->key_pem == NULL || (key = crypto_key_from_pem(r->key_pem,
	    strlen(r->key_pem))) == NULL)
		snprintf(err, errlen, "certificate %s: the key does not parse",
		    name);
	else if (r->cert_pem == NULL || crypto_chain_split(r->cert_pem,
	    strlen(r->cert_pem), &leaf_pem, &rest, &leaf) == -1)
		snprintf(err, errlen, "certificate %s: the leaf does not parse",
		    name);
	else if (rest[strspn(rest, " \t\r\n")] != '\0')
		snprintf(err, errlen, "certificate %s: more than the leaf in "
		    "\"cert_pem\"", name);
	else if (!crypto_cert_has_key(leaf, key))
		snprintf(err, errlen, "certificate %s: the key is not the "
		    "leaf's", name);
	else if (crypto_cert_get_info(leaf, &info, why, sizeof(why)) == -1)
		snprintf(err, errlen, "certificate %s: the leaf: %s", name, why);
	else if (!crypto_cert_names_exact(&info,
	    (char *const *)(uintptr_t)domains, ndomains))
		snprintf(err, errlen, "certificate %s: the leaf's names are not "
		    "exactly the inventory's domains", name);
	else if (r->chain_pem == NULL || crypto_certs_check(r->chain_pem,
	    strlen(r->chain_pem), "chain", why, sizeof(why)) == -1)
		snprintf(err, errlen, "certificate %s: %s", name,
		    why[0] != '\0' ? why : "no chain");
	else if (r->serial == NULL || strcmp(r->serial, info.serial) != 0)
		snprintf(err, errlen, "certificate %s: serial %s is not the "
		    "leaf's (%s)", name, r->serial != NULL ? r->serial : "none",
		    info.serial);
	else if (r->not_before != info.not_before ||
	    r->not_after != info.not_after)
		snprintf(err, errlen, "certificate %s: the validity is not the "
		    "leaf's", name);
	else
		rc = 0;
	crypto_cert_info_clear(&info);	/* zeroed if never filled */
	crypto_cert_free(leaf);
	crypto_key_free(key);
	free(leaf_pem);
	free(rest);
	return rc;
}
