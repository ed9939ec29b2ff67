/* conf.c - the YAML inventory: its sections, and the API over the result */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "conf_schema.h"
#include "presets.h"
#include "validate.h"
#include "xmalloc.h"
#include "yamltree.h"

/*
 * The file becomes a tree (yamltree.c), which the sections below walk with
 * the schema helpers (conf_schema.c), checking every value with the shared
 * validators (validate.c) and reporting every problem in one pass.
 */

#define CONF_MAX_FILE		(4 * 1024 * 1024)
#define CONF_MAX_ORDERS		64
#define CONF_DEF_ORDERS		8
#define CONF_DEF_STATE_DIR	"/var/lib/renewd"
#define CONF_DEF_LISTEN		"[::]:80"
#define CONF_DEF_MODE		0600

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
/* Files "include:" may read (conf.d: one per site, so a fleet's worth). */
#define CONF_MAX_INCLUDES	100000

/*
 * One file of the inventory and the top-level keys found in it: v[0] is
 * the main file, then what "include:" matched, in order. Every file keeps
 * its own tree, so no node is copied and errors carry its own name.
 */
struct conf_src {
	char		*path;
	struct ytree	*tree;		/* NULL for v[0]: parse_buf owns it */
	const struct ynode *cas;	/* its "cas", or NULL */
	const struct ynode *certs;	/* its "certificates", or NULL */
	const struct ynode *certs_key;
	dev_t		 dev;
	ino_t		 ino;
};

struct conf_srcs {
	struct conf_src	*v;
	size_t		 n, cap;
	const char *const *keys;	/* the top level's keys, for included */
	size_t		 nkeys;		/* files' errors and "did you mean" */
};

static const char *const key_names[] = {
	"ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096"
};
static const char *const challenge_names[] = {
	"http-01", "dns-01", "tls-alpn-01"
};
static const char *const content_names[] = {
	"fullchain", "cert", "chain", "key", "fullchain+key"
};
static const struct {
	const char	*name;
	int		 signo;
} signals[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
	{ "TERM", SIGTERM }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
	{ "WINCH", SIGWINCH }, { "ALRM", SIGALRM }, { "CONT", SIGCONT },
	{ "KILL", SIGKILL },
};

/* ---- string lists ----------------------------------------------------- */

/* Makes room for n strings; none for 0, so v stays NULL ("not given"). */
static void
strv_alloc(struct conf_strv *v, size_t n)
{
	if (n > 0)
		v->v = xcalloc(n, sizeof(*v->v));
}

static void
strv_add(struct conf_strv *v, const char *s)
{
	v->v[v->n++] = xstrdup(s);
}

static void
strv_clear(struct conf_strv *v)
{
	size_t	i;

	for (i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

static void
strv_copy(struct conf_strv *dst, const struct conf_strv *src)
{
	size_t	i;

	dst->v = NULL;
	dst->n = 0;
	strv_alloc(dst, src->n);
	for (i = 0; i < src->n; i++)
		strv_add(dst, src->v[i]);
}

/*
 * Makes the certificate's name and domain list one allocation: the
 * pointers, the name, then the domains. 100,000 certificates save three
 * small allocations each; the lists are read and never grow after parse.
 */
static void
cert_pack(struct conf_cert *cert)
{
	struct conf_strv *v = &cert->domains;
	size_t		  i, n = v->n, len, l;
	char		**nv, *p;

	len = n * sizeof(char *) + strlen(cert->name) + 1;
	for (i = 0; i < n; i++)
		len += strlen(v->v[i]) + 1;
	nv = xmalloc(len);
	p = (char *)(nv + n);
	l = strlen(cert->name) + 1;
	memcpy(p, cert->name, l);
	free(cert->name);
	cert->name = p;
	p += l;
	for (i = 0; i < n; i++) {
		l = strlen(v->v[i]) + 1;
		memcpy(p, v->v[i], l);
		nv[i] = p;
		p += l;
	}
	strv_clear(v);
	v->v = nv;
	v->n = n;
	cert->packed = 1;
}

static int
strv_equal(const struct conf_strv *a, const struct conf_strv *b)
{
	size_t	i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return 0;
	return 1;
}

/* Returns 1 if s is one of v's strings. */
static int
strv_has(const struct conf_strv *v, const char *s)
{
	size_t	i;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->v[i], s) == 0)
			return 1;
	return 0;
}

/* Same set of names; within one certificate names are unique. */
static int
strv_same_set(const struct conf_strv *a, const struct conf_strv *b)
{
	size_t	i, j;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++) {
		for (j = 0; j < b->n; j++)
			if (strcmp(a->v[i], b->v[j]) == 0)
				break;
		if (j == b->n)
			return 0;
	}
	return 1;
}

/* Sets *dst and named from an entry's "name", which must be unique. */
static void
parse_name(struct cs *c, const struct ynode *v, char **dst,
    struct cs_named *named)
{
	if (v != NULL && cs_name(c, v, dst) == 0) {
		named->name = *dst;
		named->node = v;
	}
}

/* ---- http01 ----------------------------------------------------------- */

static const char *const http01_keys[] = { "listen", "webroot" };
enum { H_LISTEN, H_WEBROOT };

/* A "listen:" of one address or a list, each "ipv4:port" or "[ipv6]:port". */
static void
parse_listen(struct cs *c, const struct ynode *n, struct conf_strv *out)
{
	const struct ynode *it;
	const char	*s;
	char		 q[CS_QLEN];
	size_t		 i, cnt;

	/* one address needs no brackets around it */
	if ((cnt = cs_items(c, "listen", n)) == 0)
		return;
	strv_alloc(out, cnt);
	for (i = 0; i < cnt && !c->stop; i++) {
		it = cs_item(n, i);
		if ((s = cs_scalar(c, "listen", it)) == NULL)
			continue;
		if (valid_listen(s, 0, NULL, NULL) != NULL)
			cs_error(c, it, "listen: bad address %s (expected "
			    "\"ipv4:port\" or \"[ipv6]:port\")",
			    cs_quote(it, q, sizeof(q)));
		else if (strv_has(out, s))	/* it could not bind twice */
			cs_error(c, it, "listen: %s listed twice",
			    cs_quote(it, q, sizeof(q)));
		else
			strv_add(out, s);
	}
}

static void
parse_http01(struct cs *c, const struct ynode *n, struct conf_http01 *h)
{
	struct cs_fields f;

	if (ynode_is_null(n) || cs_section(c, "http01", n, &f, http01_keys,
	    NELEM(http01_keys)) == -1)
		return;
	if (f.val[H_LISTEN] != NULL && f.val[H_WEBROOT] != NULL)
		cs_error(c, f.key[H_WEBROOT], "webroot: \"listen\" and "
		    "\"webroot\" are mutually exclusive");
	if (f.val[H_WEBROOT] != NULL)
		cs_abspath(c, "webroot", f.val[H_WEBROOT], &h->webroot);
	if (f.val[H_LISTEN] != NULL)
		parse_listen(c, f.val[H_LISTEN], &h->listen);
}

/* ---- dns01 and tlsalpn01 ---------------------------------------------- */

/*
 * With c->check_files (conf_load, renewd -t): the file path that node n
 * names is a regular file renewd can read (exec: can run). conf_parse
 * alone looks at no file.
 */
static void
check_file(struct cs *c, const struct ynode *n, const char *what,
    const char *path, int exec)
{
	struct stat	st;
	int		fd = -1, rc;

	if (!c->check_files || path == NULL)
		return;
	if (exec)
		rc = stat(path, &st);
	else if ((rc = fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) != -1)
		rc = fstat(fd, &st);
	if (rc == -1)
		cs_error(c, n, "%s: cannot %s %s: %s", what, exec ? "find" :
		    "read", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		cs_error(c, n, "%s: %s is not a regular file", what, path);
	else if (exec && access(path, X_OK) == -1)
		cs_error(c, n, "%s: cannot run %s: %s", what, path,
		    strerror(errno));
	if (fd != -1)
		close(fd);
}

static const char *const dns01_keys[] = {
	"hook", "timeout", "propagation_delay", "rfc2136", "propagation_check",
	"propagation_timeout", "propagation_resolvers"
};
enum { N_HOOK, N_TIMEOUT, N_PROPAGATION, N_RFC2136, N_PCHECK, N_PTIMEOUT,
    N_PRESOLVERS };
static const char *const rfc2136_keys[] = {
	"server", "zone", "tsig_key_file"
};
enum { R_SERVER, R_ZONE, R_KEYFILE };
static const char *const check_names[] = { "false", "true" };

static char	*secret_file_read(struct cs *, const struct ynode *,
		    const char *, const char *, size_t *);

/* A duration of at most max seconds; "0" or "0s" is 0 if zero_ok. */
static void
get_bounded(struct cs *c, const char *what, const struct ynode *n, long max,
    int zero_ok, long *out)
{
	const char	*s;
	long		 v;

	if (n == NULL || (s = cs_scalar(c, what, n)) == NULL)
		return;
	if (zero_ok && (strcmp(s, "0") == 0 || strcmp(s, "0s") == 0))
		v = 0;
	else if (cs_duration(c, what, n, &v) == -1)
		return;
	else if (v == 0 && !zero_ok)
		return;		/* "auto": the default stays */
	if (v > max)
		cs_error(c, n, "%s: longer than %lds", what, max);
	else
		*out = v;
}

/*
 * With c->check_files: the TSIG key of d->tsig_key_file, a 0600 file in
 * tsig-keygen's or keymgr's form (the key is never logged).
 */
static void
tsig_key_file(struct cs *c, const struct ynode *n, struct conf_dns01 *d)
{
	char	*buf, err[256];
	size_t	 len = 0;

	if (!c->check_files || (buf = secret_file_read(c, n, "tsig_key_file",
	    d->tsig_key_file, &len)) == NULL)
		return;
	if (tsigkey_parse(buf, len, &d->tsig, err, sizeof(err)) == -1)
		cs_error(c, n, "tsig_key_file: %s: %s", d->tsig_key_file, err);
	xfree_secret(buf, len);
}

static void
parse_rfc2136(struct cs *c, const struct ynode *n, struct conf_dns01 *d)
{
	struct cs_fields f;
	const char	*s;
	char		 q[CS_QLEN], norm[256];

	if (cs_section(c, "rfc2136", n, &f, rfc2136_keys,
	    NELEM(rfc2136_keys)) == -1)
		return;
	cs_require(c, n, &f, R_SERVER);
	cs_require(c, n, &f, R_KEYFILE);
	if (f.val[R_SERVER] != NULL &&
	    (s = cs_scalar(c, "server", f.val[R_SERVER])) != NULL) {
		if (valid_listen(s, 0, NULL, NULL) != NULL)
			cs_error(c, f.val[R_SERVER], "server: bad address %s "
			    "(expected \"ipv4:port\" or \"[ipv6]:port\")",
			    cs_quote(f.val[R_SERVER], q, sizeof(q)));
		else
			d->rfc2136_server = xstrdup(s);
	}
	if (f.val[R_ZONE] != NULL &&
	    (s = cs_scalar(c, "zone", f.val[R_ZONE])) != NULL) {
		if (valid_domain_norm(s, norm, sizeof(norm)) != NULL ||
		    norm[0] == '*')
			cs_error(c, f.val[R_ZONE], "zone: not a DNS name: %s",
			    cs_quote(f.val[R_ZONE], q, sizeof(q)));
		else
			d->rfc2136_zone = xstrdup(norm);
	}
	if (f.val[R_KEYFILE] != NULL && cs_abspath(c, "tsig_key_file",
	    f.val[R_KEYFILE], &d->tsig_key_file) == 0)
		tsig_key_file(c, f.val[R_KEYFILE], d);
}

/* propagation_check, _timeout, _resolvers: for either solver. */
static void
parse_propagation(struct cs *c, const struct cs_fields *f,
    struct conf_dns01 *d)
{
	const struct ynode *n = f->val[N_PRESOLVERS], *it;
	const char	*s;
	char		 q[CS_QLEN];
	size_t		 i, cnt;
	int		 e;

	d->propagation_check = 1;
	d->propagation_timeout = CONF_DEF_DNS01_PROP_TIMEOUT;
	if (f->val[N_PCHECK] != NULL && (e = cs_enum(c, "propagation_check",
	    "value", f->val[N_PCHECK], check_names, NELEM(check_names))) >= 0)
		d->propagation_check = e;
	get_bounded(c, "propagation_timeout", f->val[N_PTIMEOUT],
	    CONF_MAX_DNS01_PROP_TIMEOUT, 0, &d->propagation_timeout);
	if (n == NULL || (cnt = cs_items(c, "propagation_resolvers", n)) == 0)
		return;
	strv_alloc(&d->propagation_resolvers, cnt);
	for (i = 0; i < cnt; i++) {
		it = cs_item(n, i);
		if ((s = cs_scalar(c, "propagation_resolvers", it)) == NULL)
			continue;
		if (valid_listen(s, 0, NULL, NULL) != NULL)
			cs_error(c, it, "propagation_resolvers: bad address %s "
			    "(expected \"ipv4:port\" or \"[ipv6]:port\")",
			    cs_quote(it, q, sizeof(q)));
		else
			strv_add(&d->propagation_resolvers, s);
	}
}

static void
parse_dns01(struct cs *c, const struct ynode *n, struct conf_dns01 *d)
{
	struct cs_fields f;
	const struct ynode *it;
	const char	*s;
	char		 q[CS_QLEN];
	size_t		 i, cnt;

	d->timeout = CONF_DEF_DNS01_TIMEOUT;
	if (cs_section(c, "dns01", n, &f, dns01_keys, NELEM(dns01_keys)) == -1)
		return;
	parse_propagation(c, &f, d);
	if (f.val[N_HOOK] != NULL && f.val[N_RFC2136] != NULL) {
		cs_error(c, n, "dns01: hook and rfc2136 both given; keep one");
		return;
	}
	if (f.val[N_RFC2136] != NULL) {
		if (f.val[N_PROPAGATION] != NULL)
			cs_error(c, f.val[N_PROPAGATION], "propagation_delay: "
			    "for a hook only; rfc2136 has propagation_check");
		parse_rfc2136(c, f.val[N_RFC2136], d);
		get_bounded(c, "timeout", f.val[N_TIMEOUT],
		    CONF_MAX_DNS01_TIMEOUT, 0, &d->timeout);
		return;
	}
	if (f.val[N_HOOK] == NULL) {
		cs_error(c, n, "missing required key \"hook\" (or \"rfc2136\")");
		return;
	}
	/* argv; a lone path needs no brackets */
	if ((n = f.val[N_HOOK]) != NULL && (cnt = cs_items(c, "hook", n)) > 0) {
		strv_alloc(&d->hook, cnt);
		for (i = 0; i < cnt && !c->stop; i++) {
			it = cs_item(n, i);
			if ((s = cs_scalar(c, "hook", it)) == NULL)
				continue;
			if (i == 0 && s[0] != '/')
				cs_error(c, it, "hook: not an absolute path: %s",
				    cs_quote(it, q, sizeof(q)));
			else {
				if (i == 0)
					check_file(c, it, "hook", s, 1);
				strv_add(&d->hook, s);
			}
		}
		if (d->hook.n != cnt)
			strv_clear(&d->hook);
	}
	get_bounded(c, "timeout", f.val[N_TIMEOUT], CONF_MAX_DNS01_TIMEOUT, 0,
	    &d->timeout);
	get_bounded(c, "propagation_delay", f.val[N_PROPAGATION],
	    CONF_MAX_DNS01_PROPAGATION, 1, &d->propagation_delay);
}

static const char *const tlsalpn01_keys[] = { "listen" };

static void
parse_tlsalpn01(struct cs *c, const struct ynode *n, struct conf_tlsalpn01 *t)
{
	struct cs_fields f;

	if (cs_section(c, "tlsalpn01", n, &f, tlsalpn01_keys,
	    NELEM(tlsalpn01_keys)) == -1)
		return;
	cs_require(c, n, &f, 0);
	if (f.val[0] != NULL)
		parse_listen(c, f.val[0], &t->listen);
}

/* ---- metrics ---------------------------------------------------------- */

static const char *const metrics_keys[] = {
	"listen", "certificate_series", "expiring_within"
};
enum { M_LISTEN, M_SERIES, M_EXPIRING };
static const char *const series_names[] = { "failing", "all" };

static void
parse_metrics(struct cs *c, const struct ynode *n, struct conf_metrics *m)
{
	struct cs_fields f;
	const char	*s;
	char		 q[CS_QLEN];
	int		 i;

	if (cs_section(c, "metrics", n, &f, metrics_keys,
	    NELEM(metrics_keys)) == -1)
		return;
	cs_require(c, n, &f, M_LISTEN);
	if (f.val[M_LISTEN] != NULL &&
	    (s = cs_scalar(c, "listen", f.val[M_LISTEN])) != NULL) {
		if (valid_listen(s, 0, NULL, NULL) != NULL)
			cs_error(c, f.val[M_LISTEN], "listen: bad address %s "
			    "(expected \"ipv4:port\" or \"[ipv6]:port\")",
			    cs_quote(f.val[M_LISTEN], q, sizeof(q)));
		else
			m->listen = xstrdup(s);
	}
	if (f.val[M_SERIES] != NULL && (i = cs_enum(c, "certificate_series",
	    "series", f.val[M_SERIES], series_names,
	    NELEM(series_names))) != -1)
		m->series_all = i == 1;
	get_bounded(c, "expiring_within", f.val[M_EXPIRING],
	    CONF_MAX_METRICS_EXPIRING, 1, &m->expiring_within);
}

/* ---- cluster (renewd(8) CLUSTER) -------------------------------------- */

static const char *const cluster_keys[] = {
	"etcd", "prefix", "node", "key_file", "ca_bundle", "client_cert",
	"client_key", "lease_ttl", "stagger"
};
enum { CL_ETCD, CL_PREFIX, CL_NODE, CL_KEY_FILE, CL_CA_BUNDLE, CL_CERT,
	CL_KEY, CL_TTL, CL_STAGGER };

/* etcd: the endpoints, one URL or a list, http:// or https:// each. */
static void
cluster_etcd(struct cs *c, const struct ynode *n, struct conf_cluster *cl)
{
	const struct ynode *it;
	const char	*s;
	char		 q[CS_QLEN];
	size_t		 i, j, cnt;

	if ((cnt = cs_items(c, "etcd", n)) == 0)
		return;
	cl->etcd = xcalloc(cnt, sizeof(*cl->etcd));
	for (i = 0; i < cnt && !c->stop; i++) {
		it = cs_item(n, i);
		if ((s = cs_scalar(c, "etcd", it)) == NULL)
			continue;
		for (j = 0; j < cl->netcd && strcmp(cl->etcd[j], s) != 0; j++)
			;
		if (!valid_http_url(s))
			cs_error(c, it, "etcd: not an http:// or https:// URL: %s",
			    cs_quote(it, q, sizeof(q)));
		else if (j < cl->netcd)
			cs_error(c, it, "etcd: %s listed twice",
			    cs_quote(it, q, sizeof(q)));
		else
			cl->etcd[cl->netcd++] = xstrdup(s);
	}
}

/* prefix: "/.../": every key of this cluster starts with it. */
static void
cluster_prefix(struct cs *c, const struct ynode *n, struct conf_cluster *cl)
{
	const char	*s;
	char		 q[CS_QLEN];
	size_t		 i, len;

	if ((s = cs_scalar(c, "prefix", n)) == NULL)
		return;
	len = strlen(s);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			break;
	if (i < len || len > CONF_MAX_CLUSTER_PREFIX || s[0] != '/' ||
	    s[len - 1] != '/' || strstr(s, "//") != NULL)
		cs_error(c, n, "prefix: bad etcd key prefix %s (expected up to "
		    "%d printable characters, no spaces, starting and ending "
		    "with \"/\", no \"//\")", cs_quote(n, q, sizeof(q)),
		    CONF_MAX_CLUSTER_PREFIX);
	else
		cl->prefix = xstrdup(s);
}

/* node: this node's name; the host name unless given (at: the block). */
static void
cluster_node(struct cs *c, const struct ynode *at, const struct ynode *n,
    struct conf_cluster *cl)
{
	const char	*s;
	char		 host[256], q[CS_QLEN];

	if (n != NULL) {
		if ((s = cs_scalar(c, "node", n)) == NULL)
			return;
		if (!valid_name(s))
			cs_error(c, n, "node: invalid node name %s (use up to "
			    "%d letters, digits, \".\", \"_\" or \"-\")",
			    cs_quote(n, q, sizeof(q)), VALID_NAME_MAX);
		else
			cl->node = xstrdup(s);
		return;
	}
	if (gethostname(host, sizeof(host)) == -1)
		cs_error(c, at, "cluster: gethostname: %s; set \"node\"",
		    strerror(errno));
	else if (host[sizeof(host) - 1] = '\0', !valid_name(host))
		cs_error(c, at, "cluster: the host name %s is no valid node "
		    "name; set \"node\"", valid_quote(host, strlen(host), q,
		    sizeof(q)));
	else
		cl->node = xstrdup(host);
}

/* The key file's text: base64 of 32 bytes or 64 hex digits. Returns 0 or -1. */
static int
cluster_key_decode(const char *s, size_t len, unsigned char *key)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char	*p;
	unsigned	 acc = 0, bits = 0, v;
	size_t		 i, n = 0;

	if (len > 0 && s[len - 1] == '\n')
		len--;
	if (len == 2 * CONF_CLUSTER_KEY_LEN) {
		for (i = 0; i < len; i++) {
			if (s[i] >= '0' && s[i] <= '9')
				v = (unsigned)(s[i] - '0');
			else if ((s[i] >= 'a' && s[i] <= 'f') ||
			    (s[i] >= 'A' && s[i] <= 'F'))
				v = (unsigned)((s[i] | 0x20) - 'a' + 10);
			else
				return -1;
			acc = (acc << 4 | v) & 0xff;
			if (i % 2 == 1)
				key[n++] = (unsigned char)acc;
		}
		return 0;
	}
	/* 32 bytes are 43 characters, then one "=" if padded */
	if (len == 44 && s[43] == '=')
		len--;
	if (len != 43)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] == '\0' || (p = strchr(b64, s[i])) == NULL)
			return -1;
		v = (unsigned)(p - b64);
		acc = (acc << 6 | v) & 0xfff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			key[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* the last character's spare bits must be zero: one spelling per key */
	return (acc & ((1u << bits) - 1)) == 0 ? 0 : -1;
}

/* With c->check_files: the cluster key from cl->key_file (never logged). */
static void
cluster_key_file(struct cs *c, const struct ynode *n, struct conf_cluster *cl)
{
	char	*buf;
	size_t	 len = 0;

	if (!c->check_files || (buf = secret_file_read(c, n, "key_file",
	    cl->key_file, &len)) == NULL)
		return;
	if (cluster_key_decode(buf, len, cl->key) == -1) {
		explicit_bzero(cl->key, sizeof(cl->key));
		cs_error(c, n, "key_file: %s does not hold a cluster key "
		    "(expected base64 of 32 bytes or 64 hex digits: umask 077; "
		    "openssl rand -base64 32 > FILE)", cl->key_file);
	}
	xfree_secret(buf, len);
}

/* An absolute path to a file renewd reads (with check_files: it must). */
static void
cluster_path(struct cs *c, const char *what, const struct ynode *n,
    char **dst)
{
	if (n != NULL && cs_abspath(c, what, n, dst) == 0)
		check_file(c, n, what, *dst, 0);
}

static void
parse_cluster(struct cs *c, const struct ynode *n, struct conf *conf)
{
	struct conf_cluster *cl;
	struct cs_fields f;
	const struct ynode *v;
	long		 ttl;

	if (cs_section(c, "cluster", n, &f, cluster_keys,
	    NELEM(cluster_keys)) == -1)
		return;
	cl = conf->cluster = xcalloc(1, sizeof(*cl));
	cl->lease_ttl = CONF_DEF_CLUSTER_TTL;
	cl->stagger = CONF_DEF_CLUSTER_STAGGER;
	cs_require(c, n, &f, CL_ETCD);
	cs_require(c, n, &f, CL_KEY_FILE);
	if (f.val[CL_ETCD] != NULL)
		cluster_etcd(c, f.val[CL_ETCD], cl);
	if (f.val[CL_PREFIX] != NULL)
		cluster_prefix(c, f.val[CL_PREFIX], cl);
	else
		cl->prefix = xstrdup(CONF_DEF_CLUSTER_PREFIX);
	cluster_node(c, n, f.val[CL_NODE], cl);
	if (f.val[CL_KEY_FILE] != NULL && cs_abspath(c, "key_file",
	    f.val[CL_KEY_FILE], &cl->key_file) == 0)
		cluster_key_file(c, f.val[CL_KEY_FILE], cl);
	cluster_path(c, "ca_bundle", f.val[CL_CA_BUNDLE], &cl->ca_bundle);
	cluster_path(c, "client_cert", f.val[CL_CERT], &cl->client_cert);
	cluster_path(c, "client_key", f.val[CL_KEY], &cl->client_key);
	if (f.val[CL_KEY] != NULL && f.val[CL_CERT] == NULL)
		cs_error(c, f.key[CL_KEY], "client_key: needs \"client_cert\", "
		    "the certificate it goes with");
	if ((v = f.val[CL_TTL]) != NULL && cs_duration(c, "lease_ttl", v,
	    &ttl) == 0) {
		if (ttl < CONF_MIN_CLUSTER_TTL || ttl > CONF_MAX_CLUSTER_TTL)
			cs_error(c, v, "lease_ttl: must be %ds to %ds",
			    CONF_MIN_CLUSTER_TTL, CONF_MAX_CLUSTER_TTL);
		else
			cl->lease_ttl = ttl;
	}
	get_bounded(c, "stagger", f.val[CL_STAGGER], CONF_MAX_CLUSTER_STAGGER,
	    1, &cl->stagger);
}

/*
 * A certificate whose challenge type has no section: said at load time,
 * where the file can still be fixed, not when its first order fails.
 */
static void
check_solvers(struct cs *c, const struct conf_srcs *s, const struct conf *conf,
    int have_dns, int have_alpn)
{
	const struct conf_cert *cert;
	const struct ynode *certs;
	char		 q[CS_QLEN];
	size_t		 i, k, ci = 0;

	for (k = 0; k < s->n && !c->stop; k++) {
		if ((certs = s->v[k].certs) == NULL || certs->type != Y_SEQ)
			continue;
		cs_set_file(c, s->v[k].path, (int)k);
		for (i = 0; i < certs->nkid && ci < conf->ncerts && !c->stop;
		    i++, ci++) {
			cert = &conf->certs[ci];
			if (cert->name == NULL)
				continue;
			valid_quote(cert->name, strlen(cert->name), q, sizeof(q));
			if (cert->challenge == CHALLENGE_DNS01 && !have_dns)
				cs_error(c, certs->kid[i], "certificate %s uses "
				    "dns-01, but there is no dns01 section: add "
				    "dns01: { hook: [/path/to/hook] }", q);
			else if (cert->challenge == CHALLENGE_TLSALPN01 &&
			    !have_alpn)
				cs_error(c, certs->kid[i], "certificate %s uses "
				    "tls-alpn-01, but there is no tlsalpn01 "
				    "section: add tlsalpn01: { listen: "
				    "[\"[::]:443\"] }", q);
		}
	}
	cs_set_file(c, s->v[0].path, 0);
}

/* ---- cas -------------------------------------------------------------- */

static const char *const eab_keys[] = { "kid", "hmac_key", "hmac_key_file" };
enum { E_KID, E_HMAC, E_HMAC_FILE };
static const char *const ca_keys[] = {
	"name", "directory", "contact", "eab", "ca_bundle",
	"max_concurrent_orders", "issuer_roots", "preset", "staging"
};
enum { C_NAME, C_DIRECTORY, C_CONTACT, C_EAB, C_BUNDLE, C_MAXORD, C_ROOTS,
	C_PRESET, C_STAGING };

static char	*read_capped(int, const char *, size_t *, struct conf_errors *);

static void
parse_contact(struct cs *c, const struct ynode *n, struct conf_ca *ca)
{
	const struct ynode *it;
	const char	*s;
	char		 q[CS_QLEN];
	size_t		 i, cnt;

	if ((cnt = cs_items(c, "contact", n)) == 0)
		return;
	strv_alloc(&ca->contact, cnt);
	for (i = 0; i < cnt && !c->stop; i++) {
		it = cs_item(n, i);
		if ((s = cs_scalar(c, "contact", it)) == NULL)
			continue;
		if (strncmp(s, "mailto:", 7) != 0 || s[7] == '\0')
			cs_error(c, it, "contact: expected a \"mailto:\" URL, "
			    "got %s", cs_quote(it, q, sizeof(q)));
		else
			strv_add(&ca->contact, s);
	}
}

/*
 * With c->check_files (conf_load, renewd -t): reads the EAB key from
 * ca->eab_hmac_key_file, which only its owner may read (the key is the
 * CA account's password). Trailing white space is dropped.
 */
/*
 * Returns the malloc'd contents of path (*len bytes), a secret only its
 * owner may read; NULL after an error naming what (the key) and path.
 */
static char *
secret_file_read(struct cs *c, const struct ynode *n, const char *what,
    const char *path, size_t *len)
{
	struct conf_errors errs = { NULL, 0 };
	struct stat	 st;
	char		*buf = NULL;
	size_t		 i;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
	    -1 || fstat(fd, &st) == -1) {
		cs_error(c, n, "%s: cannot read %s: %s", what, path,
		    strerror(errno));
		goto out;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		cs_error(c, n, "%s: %s is open to group or others "
		    "(mode %04o); refusing: chmod 600 it", what, path,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	/* another owner could change the key under renewd */
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		cs_error(c, n, "%s: %s is owned by uid %u (mode %04o), neither "
		    "root nor this user; refusing: chown it", what, path,
		    (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if ((buf = read_capped(fd, path, len, &errs)) == NULL)
		for (i = 0; i < errs.n; i++)
			cs_error(c, n, "%s: %s", what, errs.msg[i]);
out:
	if (fd != -1)
		close(fd);
	conf_errors_clear(&errs);
	return buf;
}

static void
eab_key_file(struct cs *c, const struct ynode *n, struct conf_ca *ca)
{
	const char	*path = ca->eab_hmac_key_file;
	char		*buf = NULL, *key;
	size_t		 len = 0;

	if (!c->check_files || (buf = secret_file_read(c, n, "hmac_key_file",
	    path, &len)) == NULL)
		return;
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]) != NULL)
		len--;
	key = xstrndup(buf, len);
	if (strlen(key) != len || !valid_base64url(key, SIZE_MAX,
	    VALID_B64_PAD | VALID_B64_WHOLE)) {
		cs_error(c, n, "hmac_key_file: %s does not hold a base64url "
		    "key", path);
		xfree_secret_str(key);
	} else
		ca->eab_hmac_key = key;
	xfree_secret(buf, len);
}

static void
parse_eab(struct cs *c, const struct ynode *n, struct conf_ca *ca)
{
	struct cs_fields f;
	const char	*s;

	if (cs_section(c, "eab", n, &f, eab_keys, NELEM(eab_keys)) == -1)
		return;
	cs_require(c, n, &f, E_KID);
	if (f.val[E_KID] != NULL)
		cs_str(c, "kid", f.val[E_KID], &ca->eab_kid);
	if (f.val[E_HMAC] != NULL && f.val[E_HMAC_FILE] != NULL) {
		cs_error(c, n, "eab: hmac_key and hmac_key_file both given; "
		    "keep hmac_key_file");
		return;
	}
	if (f.val[E_HMAC_FILE] != NULL) {
		if (cs_abspath(c, "hmac_key_file", f.val[E_HMAC_FILE],
		    &ca->eab_hmac_key_file) == 0)
			eab_key_file(c, f.val[E_HMAC_FILE], ca);
		return;
	}
	cs_require(c, n, &f, E_HMAC);
	if (f.val[E_HMAC] == NULL ||
	    (s = cs_scalar(c, "hmac_key", f.val[E_HMAC])) == NULL)
		return;
	if (!valid_base64url(s, SIZE_MAX, VALID_B64_PAD | VALID_B64_WHOLE))
		cs_error(c, f.val[E_HMAC], "hmac_key: not base64url");
	else
		cs_str(c, "hmac_key", f.val[E_HMAC], &ca->eab_hmac_key);
}

static void
parse_max_orders(struct cs *c, const struct ynode *n, struct conf_ca *ca)
{
	unsigned long	u;

	if (cs_uint(c, "max_concurrent_orders", n, 1, CONF_MAX_ORDERS, &u) == 0)
		ca->max_concurrent_orders = (unsigned)u;
}

/* An https:// URL into *dst. */
static void
get_url(struct cs *c, const char *what, const struct ynode *v, char **dst)
{
	const char	*s;
	char		 q[CS_QLEN];

	if ((s = cs_scalar(c, what, v)) == NULL)
		return;
	if (!valid_https_url(s))
		cs_error(c, v, "%s: not an https:// URL: %s", what,
		    cs_quote(v, q, sizeof(q)));
	else
		cs_str(c, what, v, dst);
}

/* The preset v names, or NULL with an error saying which ones there are. */
static const struct preset *
get_preset(struct cs *c, const char *what, const struct ynode *v,
    const char *s)
{
	const struct preset *p;
	const char	*why;
	char		 q[CS_QLEN], known[256];

	if ((why = preset_retired(s)) != NULL) {
		cs_error(c, v, "%s: %s: %s", what, cs_quote(v, q, sizeof(q)),
		    why);
		return NULL;
	}
	if ((p = preset_find(s)) != NULL)
		return p;
	cs_error(c, v, "%s: no CA preset called %s (there are: %s)", what,
	    cs_quote(v, q, sizeof(q)), preset_names(known, sizeof(known)));
	return NULL;
}

/* What the preset gives a CA entry: the URLs it left out; EAB it must have. */
static void
apply_preset(struct cs *c, const struct ynode *v, const struct preset *p,
    struct conf_ca *ca)
{
	ca->preset = xstrdup(p->name);
	if (ca->directory == NULL)
		ca->directory = xstrdup(p->directory);
	if (ca->staging == NULL && p->staging != NULL)
		ca->staging = xstrdup(p->staging);
	if (p->eab_required && ca->eab_kid == NULL)
		cs_error(c, v, "preset: %s (%s) requires external account "
		    "binding: add eab: { kid: KID, hmac_key_file: FILE } with "
		    "the credentials from your %s account (%s)", p->name,
		    p->directory, p->title, p->notes);
}

static void
parse_ca(struct cs *c, const struct ynode *n, struct conf_ca *ca,
    struct cs_named *named)
{
	struct cs_fields f;
	const struct ynode *v;
	const struct preset *p = NULL;
	const char	*s;

	ca->max_concurrent_orders = CONF_DEF_ORDERS;
	ca->line = named->line = n->line;
	if (cs_section(c, "cas entry", n, &f, ca_keys, NELEM(ca_keys)) == -1)
		return;
	cs_require(c, n, &f, C_NAME);
	if ((v = f.val[C_PRESET]) == NULL)
		cs_require(c, n, &f, C_DIRECTORY);
	else if ((s = cs_scalar(c, "preset", v)) != NULL)
		p = get_preset(c, "preset", v, s);
	parse_name(c, f.val[C_NAME], &ca->name, named);
	if ((v = f.val[C_DIRECTORY]) != NULL)
		get_url(c, "directory", v, &ca->directory);
	if ((v = f.val[C_STAGING]) != NULL)
		get_url(c, "staging", v, &ca->staging);
	if ((v = f.val[C_CONTACT]) != NULL)
		parse_contact(c, v, ca);
	if ((v = f.val[C_EAB]) != NULL)
		parse_eab(c, v, ca);
	if (p != NULL)
		apply_preset(c, f.val[C_PRESET], p, ca);
	if ((v = f.val[C_BUNDLE]) != NULL &&
	    cs_abspath(c, "ca_bundle", v, &ca->ca_bundle) == 0)
		check_file(c, v, "ca_bundle", ca->ca_bundle, 0);
	if ((v = f.val[C_ROOTS]) != NULL &&
	    cs_abspath(c, "issuer_roots", v, &ca->issuer_roots) == 0)
		check_file(c, v, "issuer_roots", ca->issuer_roots, 0);
	if ((v = f.val[C_MAXORD]) != NULL)
		parse_max_orders(c, v, ca);
}

/*
 * Every file's list (its "certificates" if certs, else its "cas") as one:
 * returns how many entries, their nodes in *nodes and their files in
 * (*named)[i].file and .fileno. Each file's list is checked in that file.
 */
static size_t
srcs_list(struct cs *c, const struct conf_srcs *s, int certs,
    const struct ynode ***nodes, struct cs_named **named)
{
	const struct ynode *l;
	size_t		*cnt, i, k, total = 0, at = 0;

	*nodes = NULL;
	*named = NULL;
	cnt = xcalloc(s->n, sizeof(*cnt));
	for (k = 0; k < s->n; k++) {
		cs_set_file(c, s->v[k].path, (int)k);
		if ((l = certs ? s->v[k].certs : s->v[k].cas) != NULL)
			total += cnt[k] = cs_optlist(c, certs ? "certificates" :
			    "cas", l);
	}
	cs_set_file(c, s->v[0].path, 0);
	if (total > 0) {
		*nodes = xcalloc(total, sizeof(**nodes));
		*named = xcalloc(total, sizeof(**named));
	}
	for (k = 0; k < s->n; k++)
		for (i = 0; i < cnt[k]; i++, at++) {
			l = certs ? s->v[k].certs : s->v[k].cas;
			(*nodes)[at] = l->kid[i];
			(*named)[at].file = s->v[k].path;
			(*named)[at].fileno = (int)k;
		}
	free(cnt);
	return total;
}

/* Every file's "cas", one list: a name must be unique across the files. */
static void
parse_cas(struct cs *c, const struct conf_srcs *s, struct conf *conf)
{
	const struct ynode **nodes;
	struct cs_named	*named;
	size_t		 i, total;

	if ((total = srcs_list(c, s, 0, &nodes, &named)) == 0)
		return;
	conf->cas = xcalloc(total, sizeof(*conf->cas));
	conf->ncas = total;
	for (i = 0; i < total && !c->stop; i++) {
		cs_set_file(c, named[i].file, named[i].fileno);
		parse_ca(c, nodes[i], &conf->cas[i], &named[i]);
	}
	cs_set_file(c, s->v[0].path, 0);
	cs_dup_names(c, "CA", named, total);
	free(named);
	free(nodes);
}

/* ---- defaults --------------------------------------------------------- */

/* "ca: NAME" that is no CA under "cas": say what it would take. */
static void
unknown_ca(struct cs *c, const struct ynode *it, const char *s)
{
	const struct preset *p;
	char		 q[CS_QLEN];

	if (preset_find(s) == NULL && preset_retired(s) == NULL)
		cs_error(c, it, "ca: unknown CA %s",
		    cs_quote(it, q, sizeof(q)));
	else if ((p = get_preset(c, "ca", it, s)) != NULL)
		cs_error(c, it, "ca: preset %s requires external account "
		    "binding: add it under \"cas\" as { name: %s, preset: %s, "
		    "eab: { kid: KID, hmac_key_file: FILE } }", p->name,
		    p->name, p->name);
}

/* Adds a CA entry for preset p (one without EAB), named after it. */
static void
preset_ca_add(struct conf *conf, const struct preset *p, int line)
{
	struct conf_ca	*ca;

	conf->cas = xreallocarray(conf->cas, conf->ncas + 1,
	    sizeof(*conf->cas));
	ca = &conf->cas[conf->ncas++];
	memset(ca, 0, sizeof(*ca));
	ca->name = xstrdup(p->name);
	ca->preset = xstrdup(p->name);
	ca->directory = xstrdup(p->directory);
	ca->staging = p->staging != NULL ? xstrdup(p->staging) : NULL;
	ca->max_concurrent_orders = CONF_DEF_ORDERS;
	ca->line = line;
}

/* The presets a "ca" value (m's own key, one name or a list) names. */
static void
preset_refs_of(const struct ynode *m, struct conf *conf)
{
	const struct ynode *v = NULL, *it;
	const struct preset *p;
	size_t		 i, n;

	if (m == NULL || m->type != Y_MAP)
		return;
	for (i = 0; i + 1 < m->nkid; i += 2)
		if (m->kid[i]->type == Y_SCALAR &&
		    strcmp(m->kid[i]->str, "ca") == 0)
			v = m->kid[i + 1];
	if (v == NULL)
		return;
	n = v->type == Y_SEQ ? v->nkid : 1;
	for (i = 0; i < n; i++) {
		it = v->type == Y_SEQ ? v->kid[i] : v;
		if (it->type == Y_SCALAR && conf_ca_find(conf, it->str) ==
		    NULL && (p = preset_find(it->str)) != NULL &&
		    !p->eab_required)
			preset_ca_add(conf, p, it->line);
	}
}

/*
 * "ca: letsencrypt" in the defaults or a certificate, with no CA of that
 * name under "cas": a preset that needs no EAB becomes one, so a first
 * inventory needs no "cas" section. Runs before defaults and certificates
 * resolve their references (errors for the rest are theirs).
 */
static void
parse_preset_refs(const struct conf_srcs *s, const struct ynode *defaults,
    struct conf *conf)
{
	const struct ynode *l;
	size_t		 i, k;

	preset_refs_of(defaults, conf);
	for (k = 0; k < s->n; k++)
		if ((l = s->v[k].certs) != NULL && l->type == Y_SEQ)
			for (i = 0; i < l->nkid; i++)
				preset_refs_of(l->kid[i], conf);
}

/* Resolves "ca:" (one name or a list) against conf->cas into out. */
static void
parse_ca_refs(struct cs *c, const struct ynode *n, const struct conf *conf,
    struct conf_strv *out)
{
	const struct ynode *it;
	const char	*s;
	char		 q[CS_QLEN];
	size_t		 i, j, cnt;

	if ((cnt = cs_items(c, "ca", n)) == 0)
		return;
	strv_clear(out);
	strv_alloc(out, cnt);
	for (i = 0; i < cnt && !c->stop; i++) {
		it = cs_item(n, i);
		if ((s = cs_scalar(c, "ca", it)) == NULL)
			continue;
		for (j = 0; j < out->n; j++)
			if (strcmp(out->v[j], s) == 0)
				break;
		if (conf_ca_find(conf, s) == NULL)
			unknown_ca(c, it, s);
		else if (j < out->n)
			cs_error(c, it, "ca: CA %s listed twice",
			    cs_quote(it, q, sizeof(q)));
		else
			strv_add(out, s);
	}
}

static const char *const defaults_keys[] = {
	"ca", "key", "challenge", "renew_before", "reload_delay",
	"reload_max_delay", "keep_versions", "reuse_key", "preferred_chain",
	"profile"
};
enum { D_CA, D_KEY, D_CHALLENGE, D_RENEW, D_DELAY, D_MAXDELAY, D_KEEP,
	D_REUSE, D_PREFERRED, D_PROFILE };

static const char *const bool_names[] = { "false", "true" };

/* preferred_chain: an issuer's common name, 1 to 64 printable characters. */
static void
parse_preferred(struct cs *c, const struct ynode *n, char **out)
{
	const char	*s;
	char		 q[CS_QLEN];
	size_t		 i;

	if ((s = cs_scalar(c, "preferred_chain", n)) == NULL)
		return;
	for (i = 0; s[i] != '\0' && (unsigned char)s[i] >= 0x20 &&
	    s[i] != 0x7f; i++)
		;
	if (i == 0 || s[i] != '\0' || i > 64 || i != n->len)
		cs_error(c, n, "preferred_chain: %s is no issuer common name "
		    "(1 to 64 printable characters)", cs_quote(n, q, sizeof(q)));
	else
		*out = xstrdup(s);
}

/*
 * profile (draft-ietf-acme-profiles): a name the CA's directory lists,
 * which is checked when the directory is read; here only its shape.
 */
static void
parse_profile(struct cs *c, const struct ynode *n, char **out)
{
	const char	*s;
	char		 q[CS_QLEN];

	if ((s = cs_scalar(c, "profile", n)) == NULL)
		return;
	if (!valid_name(s) || strlen(s) > CONF_PROFILE_MAX || n->len != strlen(s))
		cs_error(c, n, "profile: %s is no profile name (1 to %d of "
		    "A-Z a-z 0-9 . _ -)", cs_quote(n, q, sizeof(q)),
		    CONF_PROFILE_MAX);
	else
		*out = xstrdup(s);
}

/* A duration whose "auto" means dflt. */
static void
get_delay(struct cs *c, const char *what, const struct ynode *n, long dflt,
    long *out)
{
	if (n != NULL && cs_duration(c, what, n, out) == 0 && *out == 0)
		*out = dflt;
}

static void
parse_defaults(struct cs *c, const struct ynode *n, struct conf *conf)
{
	struct cs_fields f;
	unsigned long	 u;
	int		 e;

	conf->defaults.keep_versions = CONF_DEF_KEEP_VERSIONS;
	conf->defaults.reload_delay = CONF_DEF_RELOAD_DELAY;
	conf->defaults.reload_max_delay = CONF_DEF_RELOAD_MAX_DELAY;
	cs_fields_init(&f, defaults_keys, NELEM(defaults_keys));
	if (n != NULL && !ynode_is_null(n) && cs_map(c, "defaults", n) == 0)
		cs_collect(c, n, &f, 0);
	if (f.val[D_CA] != NULL)
		parse_ca_refs(c, f.val[D_CA], conf, &conf->defaults.ca);
	if (f.val[D_KEY] != NULL && (e = cs_enum(c, "key", "key type",
	    f.val[D_KEY], key_names, NELEM(key_names))) >= 0)
		conf->defaults.key = (enum key_type)e;
	if (f.val[D_CHALLENGE] != NULL && (e = cs_enum(c, "challenge",
	    "challenge type", f.val[D_CHALLENGE], challenge_names,
	    NELEM(challenge_names))) >= 0)
		conf->defaults.challenge = (enum challenge_type)e;
	if (f.val[D_RENEW] != NULL)
		cs_duration(c, "renew_before", f.val[D_RENEW],
		    &conf->defaults.renew_before);
	if (f.val[D_KEEP] != NULL && cs_uint(c, "keep_versions",
	    f.val[D_KEEP], 1, CONF_MAX_KEEP_VERSIONS, &u) == 0)
		conf->defaults.keep_versions = (unsigned)u;
	if (f.val[D_REUSE] != NULL && (e = cs_enum(c, "reuse_key", "value",
	    f.val[D_REUSE], bool_names, NELEM(bool_names))) >= 0)
		conf->defaults.reuse_key = e;
	if (f.val[D_PREFERRED] != NULL)
		parse_preferred(c, f.val[D_PREFERRED],
		    &conf->defaults.preferred_chain);
	if (f.val[D_PROFILE] != NULL)
		parse_profile(c, f.val[D_PROFILE], &conf->defaults.profile);
	get_delay(c, "reload_delay", f.val[D_DELAY], CONF_DEF_RELOAD_DELAY,
	    &conf->defaults.reload_delay);
	get_delay(c, "reload_max_delay", f.val[D_MAXDELAY],
	    CONF_DEF_RELOAD_MAX_DELAY, &conf->defaults.reload_max_delay);
	/* a lone CA needs no naming */
	if (f.val[D_CA] == NULL && conf->ncas == 1 &&
	    conf->cas[0].name != NULL) {
		strv_alloc(&conf->defaults.ca, 1);
		strv_add(&conf->defaults.ca, conf->cas[0].name);
	}
}

/* ---- deploy and reload ------------------------------------------------ */

static const char *const deploy_keys[] = {
	"path", "content", "mode", "owner", "group"
};
enum { P_PATH, P_CONTENT, P_MODE, P_OWNER, P_GROUP };

static void
parse_deploy(struct cs *c, const struct ynode *n, struct conf_deploy *d)
{
	struct cs_fields f;
	const struct ynode *v;
	const char	*s;
	char		 q[CS_QLEN];
	int		 e;

	d->mode = CONF_DEF_MODE;
	d->content = DEPLOY_FULLCHAIN;
	if (cs_section(c, "deploy entry", n, &f, deploy_keys,
	    NELEM(deploy_keys)) == -1)
		return;
	cs_require(c, n, &f, P_PATH);
	if (f.val[P_PATH] != NULL)
		cs_abspath(c, "path", f.val[P_PATH], &d->path);
	if (f.val[P_CONTENT] != NULL && (e = cs_enum(c, "content", "content",
	    f.val[P_CONTENT], content_names, NELEM(content_names))) >= 0)
		d->content = (enum deploy_content)e;
	if ((v = f.val[P_MODE]) != NULL &&
	    (s = cs_scalar(c, "mode", v)) != NULL &&
	    valid_octal_mode(s, &d->mode) == -1)
		cs_error(c, v, "mode: bad file mode %s (expected an octal "
		    "string from \"0000\" to \"07777\", e.g. \"0640\")",
		    cs_quote(v, q, sizeof(q)));
	if (f.val[P_OWNER] != NULL)
		cs_str(c, "owner", f.val[P_OWNER], &d->owner);
	if (f.val[P_GROUP] != NULL)
		cs_str(c, "group", f.val[P_GROUP], &d->group);
}

static const char *const reload_keys[] = {
	"unit", "exec", "signal", "pidfile", "timeout", "reload_mode"
};
enum { R_UNIT, R_EXEC, R_SIGNAL, R_PIDFILE, R_TIMEOUT, R_MODE };
static const char *const reload_mode_names[] = { "reload", "restart" };

static void
parse_unit(struct cs *c, const struct ynode *n, struct conf_reload *r)
{
	const char	*s;
	char		 q[CS_QLEN];

	r->kind = RELOAD_UNIT;
	if ((s = cs_scalar(c, "unit", n)) == NULL)
		return;
	if (strpbrk(s, "/ \t\n") != NULL)
		cs_error(c, n, "unit: bad unit name %s",
		    cs_quote(n, q, sizeof(q)));
	else
		cs_str(c, "unit", n, &r->unit);
}

static void
parse_exec(struct cs *c, const struct ynode *n, struct conf_reload *r)
{
	const char	*s;
	char		 q[CS_QLEN];
	size_t		 i;

	r->kind = RELOAD_EXEC;
	if (cs_seq(c, "exec", n) == -1)
		return;
	strv_alloc(&r->argv, n->nkid);
	for (i = 0; i < n->nkid && !c->stop; i++) {
		if ((s = cs_scalar(c, "exec", n->kid[i])) == NULL)
			continue;
		if (i == 0 && s[0] != '/')
			cs_error(c, n->kid[i], "exec: not an absolute path: %s",
			    cs_quote(n->kid[i], q, sizeof(q)));
		else
			strv_add(&r->argv, s);
	}
}

static void
parse_signal(struct cs *c, const struct ynode *n, struct conf_reload *r)
{
	const char	*s, *name;
	char		 q[CS_QLEN];
	size_t		 i;

	r->kind = RELOAD_SIGNAL;
	if ((s = cs_scalar(c, "signal", n)) == NULL)
		return;
	name = strncmp(s, "SIG", 3) == 0 ? s + 3 : s;
	for (i = 0; i < NELEM(signals); i++)
		if (strcmp(name, signals[i].name) == 0)
			break;
	if (i == NELEM(signals))
		cs_error(c, n, "signal: unknown signal %s (expected HUP, INT, "
		    "QUIT, TERM, USR1, USR2, WINCH, ALRM, CONT or KILL)",
		    cs_quote(n, q, sizeof(q)));
	else
		r->signo = signals[i].signo;
}

/* pidfile (signal), timeout (exec, unit), reload_mode (unit). */
static void
reload_options(struct cs *c, const struct cs_fields *f, struct conf_reload *r)
{
	int	e;

	r->timeout = CONF_DEF_RELOAD_TIMEOUT;
	if (f->val[R_PIDFILE] != NULL && r->kind != RELOAD_SIGNAL)
		cs_error(c, f->key[R_PIDFILE], "pidfile: only valid with "
		    "\"signal\"");
	else if (f->val[R_PIDFILE] != NULL)
		cs_abspath(c, "pidfile", f->val[R_PIDFILE], &r->pidfile);
	if (f->val[R_TIMEOUT] != NULL && r->kind == RELOAD_SIGNAL)
		cs_error(c, f->key[R_TIMEOUT], "timeout: only valid with "
		    "\"exec\" or \"unit\"");
	else
		get_delay(c, "timeout", f->val[R_TIMEOUT],
		    CONF_DEF_RELOAD_TIMEOUT, &r->timeout);
	if (f->val[R_MODE] != NULL && r->kind != RELOAD_UNIT)
		cs_error(c, f->key[R_MODE], "reload_mode: only valid with "
		    "\"unit\"");
	else if (f->val[R_MODE] != NULL && (e = cs_enum(c, "reload_mode",
	    "reload mode", f->val[R_MODE], reload_mode_names,
	    NELEM(reload_mode_names))) >= 0)
		r->mode = (enum reload_mode)e;
}

static void
parse_reload(struct cs *c, const struct ynode *n, struct conf_reload *r)
{
	struct cs_fields f;

	if (cs_section(c, "reload entry", n, &f, reload_keys,
	    NELEM(reload_keys)) == -1)
		return;
	if ((f.val[R_UNIT] != NULL) + (f.val[R_EXEC] != NULL) +
	    (f.val[R_SIGNAL] != NULL) != 1) {
		cs_error(c, n, "reload entry: expected exactly one of \"unit\", "
		    "\"exec\" or \"signal\"");
		return;
	}
	if (f.val[R_UNIT] != NULL)
		parse_unit(c, f.val[R_UNIT], r);
	else if (f.val[R_EXEC] != NULL)
		parse_exec(c, f.val[R_EXEC], r);
	else {
		cs_require(c, n, &f, R_PIDFILE);
		parse_signal(c, f.val[R_SIGNAL], r);
	}
	reload_options(c, &f, r);
}

/* ---- certificates ----------------------------------------------------- */

static const char *const cert_keys[] = {
	"name", "domains", "key", "ca", "challenge", "renew_before",
	"deploy", "reload", "reload_delay", "reload_max_delay", "verify",
	"reuse_key", "preferred_chain", "profile"
};
enum { K_NAME, K_DOMAINS, K_KEY, K_CA, K_CHALLENGE, K_RENEW, K_DEPLOY,
	K_RELOAD, K_DELAY, K_MAXDELAY, K_VERIFY, K_REUSE, K_PREFERRED,
	K_PROFILE };

static const char *const verify_keys[] = { "address", "servername", "timeout" };
enum { V_ADDRESS, V_SERVERNAME, V_TIMEOUT };

static void
verify_addrs(struct cs *c, const struct ynode *n, struct conf_verify *v)
{
	const struct ynode *it;
	const char	*s, *why;
	char		 q[CS_QLEN];
	size_t		 i, k = cs_items(c, "verify", n);

	strv_alloc(&v->addrs, k);
	for (i = 0; i < k && !c->stop; i++) {
		it = cs_item(n, i);
		if ((s = cs_scalar(c, "verify", it)) == NULL)
			continue;
		if ((why = valid_hostport(s)) != NULL)
			cs_error(c, it, "verify: bad address %s: %s",
			    cs_quote(it, q, sizeof(q)), why);
		else
			strv_add(&v->addrs, s);
	}
}

/*
 * verify: a list of addresses, or { address, servername, timeout }. The
 * servername defaults to the first non-wildcard domain; with none, it is
 * required.
 */
static void
parse_verify(struct cs *c, const struct ynode *n, struct conf_cert *cert)
{
	struct conf_verify *v = &cert->dlv->verify;
	struct cs_fields f;
	size_t		 i;

	v->timeout = CONF_DEF_VERIFY_TIMEOUT;
	if (n->type != Y_MAP)
		verify_addrs(c, n, v);
	else if (cs_section(c, "verify", n, &f, verify_keys,
	    NELEM(verify_keys)) == 0) {
		cs_require(c, n, &f, V_ADDRESS);
		if (f.val[V_ADDRESS] != NULL)
			verify_addrs(c, f.val[V_ADDRESS], v);
		if (f.val[V_SERVERNAME] != NULL)
			cs_str(c, "servername", f.val[V_SERVERNAME],
			    &v->servername);
		get_delay(c, "timeout", f.val[V_TIMEOUT],
		    CONF_DEF_VERIFY_TIMEOUT, &v->timeout);
	}
	if (v->servername != NULL || c->stop)
		return;
	for (i = 0; i < cert->domains.n; i++)
		if (strncmp(cert->domains.v[i], "*.", 2) != 0)
			return;
	if (cert->domains.n > 0)
		cs_error(c, n, "verify: every domain is a wildcard: set "
		    "\"servername\" to a name the servers answer for");
}

/* where each domain was seen, to find one domain in two certificates */
struct dref {
	const char	*dom;
	const char	*file;		/* where node is: the file and its number */
	int		 fileno;
	size_t		 cert;
	size_t		 seq;
	const struct ynode *node;
};

struct certs_state {
	struct dref	 *drefs;
	size_t		  ndrefs, capdrefs;
};

static void
dref_add(struct cs *c, struct certs_state *st, const char *dom, size_t ci,
    const struct ynode *node)
{
	struct dref	*d;

	if (st->ndrefs == st->capdrefs) {
		st->capdrefs = st->capdrefs ? st->capdrefs * 2 : 64;
		st->drefs = xreallocarray(st->drefs, st->capdrefs,
		    sizeof(*st->drefs));
	}
	d = &st->drefs[st->ndrefs];
	d->dom = dom;
	d->file = c->name;
	d->fileno = c->fileno;
	d->cert = ci;
	d->seq = st->ndrefs++;
	d->node = node;
}

static void
parse_domains(struct cs *c, const struct ynode *n, struct conf_cert *cert,
    size_t ci, struct certs_state *st)
{
	const struct ynode *it;
	const char	*s, *why;
	char		 norm[256], q[CS_QLEN];
	unsigned char	 ip[16];
	size_t		 i;
	int		 af;

	if (cs_seq(c, "domains", n) == -1)
		return;
	strv_alloc(&cert->domains, n->nkid);
	for (i = 0; i < n->nkid && !c->stop; i++) {
		it = n->kid[i];
		if ((s = cs_scalar(c, "domains", it)) == NULL)
			continue;
		/* an IP address (RFC 8738) in its one canonical text form */
		if ((af = valid_ip_literal(s)) != 0) {
			if (inet_pton(af, s, ip) != 1 ||
			    inet_ntop(af, ip, norm, sizeof(norm)) == NULL)
				continue;	/* valid_ip_literal said it is one */
		} else if ((why = valid_domain_norm(s, norm, sizeof(norm))) !=
		    NULL) {
			cs_error(c, it, "domains: bad domain name %s: %s",
			    cs_quote(it, q, sizeof(q)), why);
			continue;
		}
		strv_add(&cert->domains, norm);
		dref_add(c, st, cert->domains.v[cert->domains.n - 1], ci, it);
	}
}

/*
 * CAs validate wildcards only through DNS (RFC 8555 section 7.1.3), and
 * IP addresses never through DNS (RFC 8738 section 7).
 */
static void
check_wildcards(struct cs *c, const struct conf_cert *cert,
    const struct certs_state *st, size_t first)
{
	size_t	i;
	char	q[CS_QLEN];

	for (i = first; i < st->ndrefs; i++)
		if (cert->challenge == CHALLENGE_DNS01 &&
		    valid_ip_literal(st->drefs[i].dom))
			cs_error(c, st->drefs[i].node, "domains: IP address %s "
			    "cannot be validated by dns-01 (RFC 8738): use "
			    "\"challenge: http-01\" or tls-alpn-01",
			    cs_quote(st->drefs[i].node, q, sizeof(q)));
		else if (cert->challenge != CHALLENGE_DNS01 &&
		    strncmp(st->drefs[i].dom, "*.", 2) == 0)
			cs_error(c, st->drefs[i].node, "domains: wildcard %s "
			    "needs \"challenge: dns-01\"",
			    cs_quote(st->drefs[i].node, q, sizeof(q)));
}

/* The certificate's "ca", else the defaults', else an error if ambiguous. */
static void
cert_cas(struct cs *c, const struct ynode *n, const struct ynode *v,
    const struct conf *conf, struct conf_cert *cert)
{
	if (v != NULL)
		parse_ca_refs(c, v, conf, &cert->ca);
	else if (conf->defaults.ca.n > 0) {
		cert->ca = conf->defaults.ca;
		cert->ca_shared = 1;
	}
	else if (conf->ncas > 1 && conf->defaults.ca.v == NULL)
		cs_error(c, n, "no CA for this certificate: set \"ca\" here or "
		    "in \"defaults\" (there are %zu CAs)", conf->ncas);
}

static void
cert_lists(struct cs *c, const struct cs_fields *f, struct conf_cert *cert)
{
	struct conf_delivery *d = cert->dlv;
	const struct ynode *v;
	size_t		    i;

	if ((v = f->val[K_DEPLOY]) != NULL && cs_seq(c, "deploy", v) == 0) {
		d->deploy = xcalloc(v->nkid, sizeof(*d->deploy));
		d->ndeploy = v->nkid;
		for (i = 0; i < v->nkid && !c->stop; i++)
			parse_deploy(c, v->kid[i], &d->deploy[i]);
	}
	if ((v = f->val[K_RELOAD]) != NULL && cs_seq(c, "reload", v) == 0) {
		d->reload = xcalloc(v->nkid, sizeof(*d->reload));
		d->nreload = v->nkid;
		for (i = 0; i < v->nkid && !c->stop; i++)
			parse_reload(c, v->kid[i], &d->reload[i]);
	}
}

static void
parse_cert(struct cs *c, const struct ynode *n, struct conf *conf,
    size_t ci, struct cs_named *named, struct certs_state *st)
{
	struct conf_cert *cert = &conf->certs[ci];
	struct cs_fields  f;
	const struct ynode *v;
	size_t		  first = st->ndrefs;
	int		  e;

	cert->line = named->line = n->line;
	cert->key = conf->defaults.key;
	cert->challenge = conf->defaults.challenge;
	cert->renew_before = conf->defaults.renew_before;
	cert->reuse_key = conf->defaults.reuse_key != 0;
	cert->dlv = &conf->dlv_default;
	cert->dlv_shared = 1;
	cert->preferred_chain = conf->defaults.preferred_chain;
	cert->pc_shared = 1;
	cert->profile = conf->defaults.profile;
	cert->prof_shared = 1;
	if (cs_section(c, "certificate", n, &f, cert_keys,
	    NELEM(cert_keys)) == -1)
		return;
	/* delivery settings of its own: its own copy, else the shared one */
	if (f.val[K_DEPLOY] != NULL || f.val[K_RELOAD] != NULL ||
	    f.val[K_DELAY] != NULL || f.val[K_MAXDELAY] != NULL ||
	    f.val[K_VERIFY] != NULL) {
		cert->dlv = xcalloc(1, sizeof(*cert->dlv));
		cert->dlv_shared = 0;
		cert->dlv->reload_delay = conf->defaults.reload_delay;
		cert->dlv->reload_max_delay = conf->defaults.reload_max_delay;
	}
	cs_require(c, n, &f, K_NAME);
	cs_require(c, n, &f, K_DOMAINS);
	parse_name(c, f.val[K_NAME], &cert->name, named);
	if ((v = f.val[K_DOMAINS]) != NULL)
		parse_domains(c, v, cert, ci, st);
	if ((v = f.val[K_KEY]) != NULL && (e = cs_enum(c, "key", "key type",
	    v, key_names, NELEM(key_names))) >= 0)
		cert->key = (enum key_type)e;
	if ((v = f.val[K_CHALLENGE]) != NULL && (e = cs_enum(c, "challenge",
	    "challenge type", v, challenge_names,
	    NELEM(challenge_names))) >= 0)
		cert->challenge = (enum challenge_type)e;
	if ((v = f.val[K_RENEW]) != NULL)
		cs_duration(c, "renew_before", v, &cert->renew_before);
	if ((v = f.val[K_REUSE]) != NULL && (e = cs_enum(c, "reuse_key",
	    "value", v, bool_names, NELEM(bool_names))) >= 0)
		cert->reuse_key = e != 0;
	if ((v = f.val[K_PREFERRED]) != NULL) {
		cert->preferred_chain = NULL;
		cert->pc_shared = 0;
		parse_preferred(c, v, &cert->preferred_chain);
	}
	if ((v = f.val[K_PROFILE]) != NULL) {
		cert->profile = NULL;
		cert->prof_shared = 0;
		parse_profile(c, v, &cert->profile);
	}
	check_wildcards(c, cert, st, first);
	cert_cas(c, n, f.val[K_CA], conf, cert);
	if (cert->dlv_shared)
		return;
	cert_lists(c, &f, cert);
	get_delay(c, "reload_delay", f.val[K_DELAY], conf->defaults.reload_delay,
	    &cert->dlv->reload_delay);
	get_delay(c, "reload_max_delay", f.val[K_MAXDELAY],
	    conf->defaults.reload_max_delay, &cert->dlv->reload_max_delay);
	if (f.val[K_VERIFY] != NULL)
		parse_verify(c, f.val[K_VERIFY], cert);
}

static int
cmp_dref(const void *a, const void *b)
{
	const struct dref *x = a, *y = b;
	int		   r = strcmp(x->dom, y->dom);

	if (r != 0)
		return r;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
dup_domains(struct cs *c, const struct conf *conf, struct certs_state *st)
{
	const struct dref *d, *first = NULL;
	const struct conf_cert *other;
	const char	*name = c->name;
	int		 fileno = c->fileno;
	char		 q[CS_QLEN], qn[CS_QLEN];
	size_t		 i;

	if (st->ndrefs < 2)
		return;
	/* sorting keeps large inventories fast */
	qsort(st->drefs, st->ndrefs, sizeof(*st->drefs), cmp_dref);
	for (i = 0; i < st->ndrefs && !c->stop; i++) {
		d = &st->drefs[i];
		if (first == NULL || strcmp(d->dom, first->dom) != 0) {
			first = d;
			continue;
		}
		valid_quote(d->dom, strlen(d->dom), q, sizeof(q));
		cs_set_file(c, d->file, d->fileno);
		other = &conf->certs[first->cert];
		if (other->name != NULL)
			valid_quote(other->name, strlen(other->name), qn,
			    sizeof(qn));
		if (d->cert == first->cert)
			cs_error(c, d->node, "domains: domain %s is listed "
			    "twice", q);
		else if (d->fileno == first->fileno)
			cs_error(c, d->node, "domains: domain %s is already in "
			    "certificate %s (line %d)", q, other->name == NULL ?
			    "(unnamed)" : qn, other->line);
		else
			cs_error(c, d->node, "domains: domain %s is already in "
			    "certificate %s at %s:%d", q, other->name == NULL ?
			    "(unnamed)" : qn, first->file, other->line);
	}
	cs_set_file(c, name, fileno);
}

/* Every file's "certificates", one list: names and domains unique across them. */
static void
parse_certs(struct cs *c, const struct conf_srcs *s, struct conf *conf)
{
	struct certs_state st;
	const struct ynode **nodes;
	struct cs_named	*named;
	size_t		 i, total;

	for (i = 0; i < s->n && conf->ncas == 0; i++) {
		cs_set_file(c, s->v[i].path, (int)i);
		if (s->v[i].certs != NULL && s->v[i].certs->type == Y_SEQ &&
		    s->v[i].certs->nkid > 0)
			cs_error(c, s->v[i].certs_key, "certificates: no CA to "
			    "issue them; add one under \"cas\"");
	}
	/* what certificates without delivery settings of their own share */
	conf->dlv_default.reload_delay = conf->defaults.reload_delay;
	conf->dlv_default.reload_max_delay = conf->defaults.reload_max_delay;
	if ((total = srcs_list(c, s, 1, &nodes, &named)) == 0)
		return;
	memset(&st, 0, sizeof(st));
	conf->certs = xcalloc(total, sizeof(*conf->certs));
	conf->ncerts = total;
	for (i = 0; i < total && !c->stop; i++) {
		cs_set_file(c, named[i].file, named[i].fileno);
		parse_cert(c, nodes[i], conf, i, &named[i], &st);
	}
	cs_set_file(c, s->v[0].path, 0);
	cs_dup_names(c, "certificate", named, total);
	dup_domains(c, conf, &st);
	free(st.drefs);
	free(named);
	free(nodes);
	/* the name and domain references are gone: now the strings can move */
	for (i = 0; i < total; i++)
		if (conf->certs[i].name != NULL && conf->certs[i].domains.n > 0)
			cert_pack(&conf->certs[i]);
}

/* ---- include: conf.d ------------------------------------------------- */


/* Adds a file to s; returns it, or NULL if the same file is there already. */
static struct conf_src *
src_add(struct conf_srcs *s, const char *path, const struct stat *st)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].dev == st->st_dev && s->v[i].ino == st->st_ino)
			return NULL;	/* two globs, or the main file: read once */
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
	s->v[s->n].path = xstrdup(path);
	s->v[s->n].dev = st->st_dev;
	s->v[s->n].ino = st->st_ino;
	return &s->v[s->n++];
}

static void
srcs_free(struct conf_srcs *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++) {
		free(s->v[i].path);
		ytree_free(s->v[i].tree);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* An included file's top level: "cas" and "certificates", nothing global. */
static void
include_top(struct cs *c, const struct conf_srcs *s, struct conf_src *src)
{
	const struct ynode *root = ytree_root(src->tree);
	const char *const *keys = s->keys;
	struct cs_fields f;
	size_t		 i;

	cs_fields_init(&f, keys, s->nkeys);
	if (root == NULL || ynode_is_null(root))
		return;
	if (root->type != Y_MAP) {
		cs_error(c, root, "expected a mapping at the top level, got %s",
		    ynode_type_name(root));
		return;
	}
	cs_collect(c, root, &f, 1);
	for (i = 0; i < s->nkeys; i++) {
		if (f.key[i] == NULL)
			continue;
		if (strcmp(keys[i], "cas") == 0)
			src->cas = f.val[i];
		else if (strcmp(keys[i], "certificates") == 0) {
			src->certs = f.val[i];
			src->certs_key = f.key[i];
		} else
			cs_error(c, f.key[i], "%s: not allowed in an included "
			    "file, which may hold only \"cas\" and "
			    "\"certificates\"; set it in %s", keys[i],
			    s->v[0].path);
	}
}

/* Reads one included file (at: its "include" entry) into s. */
static void
include_file(struct cs *c, const struct ynode *at, const char *path,
    struct conf_srcs *s)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf_src	*src;
	struct yerror	 yerr;
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len, i;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
	    -1 || fstat(fd, &st) == -1) {
		cs_error(c, at, "include: cannot open %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (s->n > CONF_MAX_INCLUDES) {
		cs_error(c, at, "include: more than %d files; refusing",
		    CONF_MAX_INCLUDES);
		goto out;
	}
	if ((src = src_add(s, path, &st)) == NULL)
		goto out;
	if ((buf = read_capped(fd, path, &len, &errs)) == NULL) {
		for (i = 0; i < errs.n; i++)
			cs_error(c, at, "include: %s", errs.msg[i]);
		goto out;
	}
	cs_set_file(c, src->path, (int)(s->n - 1));
	if ((src->tree = ytree_load(buf, len, &yerr)) == NULL)
		cs_error_at(c, yerr.line, yerr.col, "%s", yerr.msg);
	else
		include_top(c, s, src);
	cs_set_file(c, s->v[0].path, 0);
out:
	if (fd != -1)
		close(fd);
	free(buf);
	conf_errors_clear(&errs);
}

/* Returns pattern with the glob characters of its first dlen bytes escaped. */
static char *
glob_escape(const char *pattern, size_t dlen)
{
	char	*out, *p;
	size_t	 i;

	p = out = xmalloc(strlen(pattern) * 2 + 1);
	for (i = 0; pattern[i] != '\0'; i++) {
		if (i < dlen && strchr("*?[]\\", pattern[i]) != NULL)
			*p++ = '\\';
		*p++ = pattern[i];
	}
	*p = '\0';
	return out;
}

/*
 * One "include" entry: a path (which must exist) or a glob (which may
 * match nothing: an empty conf.d), relative to the main file's directory.
 */
static void
include_one(struct cs *c, const struct ynode *it, const char *pat,
    struct conf_srcs *s)
{
	const char	*main_path = s->v[0].path, *slash;
	char		*path, *escaped;
	size_t		 dlen = 0, i;
	glob_t		 g;
	int		 rc;

	slash = strrchr(main_path, '/');
	if (pat[0] == '/')
		path = xstrdup(pat);
	else if (slash == NULL)
		path = xstrdup(pat);
	else {
		dlen = (size_t)(slash - main_path) + 1;
		path = xasprintf("%.*s%s", (int)dlen, main_path, pat);
	}
	if (strpbrk(pat, "*?[") == NULL) {
		include_file(c, it, path, s);
		free(path);
		return;
	}
	escaped = glob_escape(path, dlen);
	memset(&g, 0, sizeof(g));
	if ((rc = glob(escaped, 0, NULL, &g)) == 0) {
		/* glob sorts the names: the files are read in a fixed order */
		for (i = 0; i < g.gl_pathc && !c->stop; i++)
			include_file(c, it, g.gl_pathv[i], s);
	} else if (rc != GLOB_NOMATCH)
		cs_error(c, it, "include: cannot read the directory of %s",
		    path);
	globfree(&g);
	free(escaped);
	free(path);
}

static void
parse_include(struct cs *c, const struct ynode *n, struct conf_srcs *s)
{
	const struct ynode *it;
	const char	*pat;
	size_t		 i, cnt;

	if ((cnt = cs_items(c, "include", n)) == 0)
		return;
	for (i = 0; i < cnt && !c->stop; i++) {
		it = cs_item(n, i);
		/* conf_parse reads no file (as check_file): the entries only */
		if ((pat = cs_scalar(c, "include", it)) != NULL &&
		    c->check_files)
			include_one(c, it, pat, s);
	}
}

/* ---- notify ----------------------------------------------------------- */

static const char *const notify_keys[] = {
	"hooks", "on", "after_failures", "expiring_within"
};
enum { NT_HOOKS, NT_ON, NT_AFTER, NT_WITHIN };
static const char *const hook_keys[] = { "exec", "timeout" };
static const char *const notify_on_names[] = {
	"failure", "expiring", "success"
};

/* One hook: { exec: [argv], timeout: 60s }, the argv as a reload's exec. */
static void
parse_hook(struct cs *c, const struct ynode *n, struct conf_hook *h)
{
	struct conf_reload r;
	struct cs_fields f;

	h->timeout = CONF_DEF_NOTIFY_TIMEOUT;
	if (cs_section(c, "hooks entry", n, &f, hook_keys,
	    NELEM(hook_keys)) == -1)
		return;
	cs_require(c, n, &f, 0);
	memset(&r, 0, sizeof(r));
	if (f.val[0] != NULL) {
		parse_exec(c, f.val[0], &r);
		if (r.argv.n > 0 && r.argv.n == f.val[0]->nkid)
			check_file(c, f.val[0]->kid[0], "exec", r.argv.v[0], 1);
		/* NULL-terminated: proc_spawn takes the vector as it is */
		r.argv.v = xreallocarray(r.argv.v, r.argv.n + 1,
		    sizeof(*r.argv.v));
		r.argv.v[r.argv.n] = NULL;
		h->argv = r.argv;
	}
	get_delay(c, "timeout", f.val[1], CONF_DEF_NOTIFY_TIMEOUT, &h->timeout);
}

static void
parse_notify(struct cs *c, const struct ynode *n, struct conf_notify *nt)
{
	struct cs_fields f;
	const struct ynode *v;
	unsigned long	 u;
	size_t		 i, cnt;
	int		 e;

	nt->on = CONF_NOTIFY_FAILURE | CONF_NOTIFY_EXPIRING;
	nt->after_failures = CONF_DEF_NOTIFY_AFTER;
	nt->expiring_within = CONF_DEF_NOTIFY_WINDOW;
	if (n == NULL || cs_section(c, "notify", n, &f, notify_keys,
	    NELEM(notify_keys)) == -1)
		return;
	cs_require(c, n, &f, NT_HOOKS);
	if ((v = f.val[NT_HOOKS]) != NULL && cs_seq(c, "hooks", v) == 0) {
		nt->hooks = xcalloc(v->nkid, sizeof(*nt->hooks));
		nt->nhooks = v->nkid;
		for (i = 0; i < v->nkid && !c->stop; i++)
			parse_hook(c, v->kid[i], &nt->hooks[i]);
	}
	if ((v = f.val[NT_ON]) != NULL && (cnt = cs_items(c, "on", v)) > 0) {
		nt->on = 0;
		for (i = 0; i < cnt && !c->stop; i++)
			if ((e = cs_enum(c, "on", "event", cs_item(v, i),
			    notify_on_names, NELEM(notify_on_names))) >= 0)
				nt->on |= 1U << e;
	}
	if (f.val[NT_AFTER] != NULL && cs_uint(c, "after_failures",
	    f.val[NT_AFTER], 1, CONF_MAX_NOTIFY_AFTER, &u) == 0)
		nt->after_failures = (unsigned)u;
	get_delay(c, "expiring_within", f.val[NT_WITHIN],
	    CONF_DEF_NOTIFY_WINDOW, &nt->expiring_within);
}

/* ---- the top level ---------------------------------------------------- */

static const char *const top_keys[] = {
	"state_dir", "http01", "cas", "defaults", "certificates", "dns01",
	"tlsalpn01", "live_check_interval", "include", "log_level", "log",
	"notify", "metrics", "control_socket", "cluster"
};
enum { T_STATE_DIR, T_HTTP01, T_CAS, T_DEFAULTS, T_CERTS, T_DNS01,
	T_TLSALPN01, T_LIVE_CHECK, T_INCLUDE, T_LOG_LEVEL, T_LOG, T_NOTIFY,
	T_METRICS, T_CONTROL, T_CLUSTER };

/* log_level: syslog's names from error to debug (3 to 7) */
static const char *const log_level_names[] = {
	"error", "warning", "notice", "info", "debug"
};
static const char *const log_names[] = { "auto", "stderr", "journal" };

/* control_socket: an absolute path that fits a sockaddr_un. */
static void
parse_control(struct cs *c, const struct ynode *n, struct conf *conf)
{
	struct sockaddr_un sun;
	char		 q[CS_QLEN];

	if (cs_abspath(c, "control_socket", n, &conf->control_socket) == 0 &&
	    strlen(conf->control_socket) >= sizeof(sun.sun_path)) {
		cs_error(c, n, "control_socket: longer than %zu bytes: %s",
		    sizeof(sun.sun_path) - 1, cs_quote(n, q, sizeof(q)));
		free(conf->control_socket);
		conf->control_socket = NULL;
	}
}

static void
parse_log(struct cs *c, const struct cs_fields *f, struct conf *conf)
{
	int	e;

	if (f->val[T_LOG_LEVEL] != NULL && (e = cs_enum(c, "log_level",
	    "log level", f->val[T_LOG_LEVEL], log_level_names,
	    NELEM(log_level_names))) >= 0)
		conf->log_level = 3 + e;
	if (f->val[T_LOG] != NULL && (e = cs_enum(c, "log", "log target",
	    f->val[T_LOG], log_names, NELEM(log_names))) >= 0)
		conf->log = (enum conf_log)e;
}

static void
parse_top(struct cs *c, const struct ynode *root, struct conf *conf,
    struct conf_srcs *s)
{
	struct cs_fields f;

	cs_fields_init(&f, top_keys, NELEM(top_keys));
	if (root != NULL && !ynode_is_null(root)) {
		if (root->type != Y_MAP)
			cs_error(c, root, "expected a mapping at the top level, "
			    "got %s", ynode_type_name(root));
		else
			cs_collect(c, root, &f, 1);
	}
	s->v[0].cas = f.val[T_CAS];
	s->v[0].certs = f.val[T_CERTS];
	s->v[0].certs_key = f.key[T_CERTS];
	s->keys = top_keys;
	s->nkeys = NELEM(top_keys);
	if (f.val[T_INCLUDE] != NULL)
		parse_include(c, f.val[T_INCLUDE], s);
	/* fixed order: certificates need defaults, which need cas */
	if (f.val[T_STATE_DIR] != NULL)
		cs_abspath(c, "state_dir", f.val[T_STATE_DIR],
		    &conf->state_dir);
	if (f.val[T_CONTROL] != NULL)
		parse_control(c, f.val[T_CONTROL], conf);
	conf->live_check_interval = CONF_DEF_LIVE_CHECK;
	get_bounded(c, "live_check_interval", f.val[T_LIVE_CHECK],
	    CONF_MAX_LIVE_CHECK, 0, &conf->live_check_interval);
	parse_log(c, &f, conf);
	parse_notify(c, f.val[T_NOTIFY], &conf->notify);
	if (f.val[T_HTTP01] != NULL)
		parse_http01(c, f.val[T_HTTP01], &conf->http01);
	parse_cas(c, s, conf);
	parse_preset_refs(s, f.val[T_DEFAULTS], conf);
	parse_defaults(c, f.val[T_DEFAULTS], conf);
	if (f.val[T_DNS01] != NULL)
		parse_dns01(c, f.val[T_DNS01], &conf->dns01);
	if (f.val[T_TLSALPN01] != NULL)
		parse_tlsalpn01(c, f.val[T_TLSALPN01], &conf->tlsalpn01);
	conf->metrics.expiring_within = CONF_DEF_METRICS_EXPIRING;
	if (f.val[T_METRICS] != NULL && !ynode_is_null(f.val[T_METRICS]))
		parse_metrics(c, f.val[T_METRICS], &conf->metrics);
	if (f.val[T_CLUSTER] != NULL)
		parse_cluster(c, f.val[T_CLUSTER], conf);
	parse_certs(c, s, conf);
	check_solvers(c, s, conf, f.val[T_DNS01] != NULL,
	    f.val[T_TLSALPN01] != NULL);
	if (conf->state_dir == NULL)
		conf->state_dir = xstrdup(CONF_DEF_STATE_DIR);
	/* none given, or all bad (and reported): the default */
	if (conf->http01.webroot == NULL && conf->http01.listen.n == 0) {
		strv_clear(&conf->http01.listen);
		strv_alloc(&conf->http01.listen, 1);
		strv_add(&conf->http01.listen, CONF_DEF_LISTEN);
	}
}

/* ---- public: reading -------------------------------------------------- */

/* conf_parse; with check_files, the files it names must be there (check_file). */
static struct conf *
parse_buf(const char *name, const char *buf, size_t len,
    const struct stat *self, struct conf_errors *errs)
{
	static const struct stat none;
	struct cs	 c;
	struct yerror	 yerr;
	struct ytree	*tree = NULL;
	struct conf	*conf = NULL;
	struct conf_srcs srcs = { NULL, 0, 0, NULL, 0 };

	cs_init(&c, name != NULL ? name : "(inventory)");
	c.check_files = self != NULL;
	if (len > CONF_MAX_FILE) {
		cs_errs_add(errs, "%s: larger than %d bytes; refusing", c.name,
		    CONF_MAX_FILE);
		goto out;
	}
	conf = xcalloc(1, sizeof(*conf));
	conf->path = xstrdup(c.name);
	src_add(&srcs, c.name, self != NULL ? self : &none);
	tree = ytree_load(buf == NULL ? "" : buf, buf == NULL ? 0 : len, &yerr);
	if (tree == NULL)
		cs_error_at(&c, yerr.line, yerr.col, "%s", yerr.msg);
	else
		parse_top(&c, ytree_root(tree), conf, &srcs);
	if (cs_report(&c, errs) > 0) {
		conf_free(conf);
		conf = NULL;
	}
out:
	cs_clear(&c);
	srcs_free(&srcs);	/* after cs_report: the errors name its files */
	ytree_free(tree);
	return conf;
}

struct conf *
conf_parse(const char *name, const char *buf, size_t len,
    struct conf_errors *errs)
{
	return parse_buf(name, buf, len, NULL, errs);
}

/* Returns all of fd (*lenp bytes), or NULL after adding to errs. */
static char *
read_capped(int fd, const char *path, size_t *lenp, struct conf_errors *errs)
{
	struct stat	 st;
	char		*buf = NULL, *ret = NULL;
	size_t		 len = 0, cap;
	ssize_t		 r = -1;

	if (fstat(fd, &st) == -1) {
		cs_errs_add(errs, "%s: fstat: %s", path, strerror(errno));
		return NULL;
	}
	/* a FIFO or a device would block the loop (SIGHUP) or -t for ever */
	if (!S_ISREG(st.st_mode)) {
		cs_errs_add(errs, "%s: not a regular file (%s); refusing", path,
		    S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISDIR(st.st_mode) ?
		    "a directory" : S_ISCHR(st.st_mode) ? "a device" : "special");
		return NULL;
	}
	if (st.st_size > CONF_MAX_FILE)
		goto toolarge;
	/* the size is only a hint: the file may change */
	cap = (size_t)st.st_size + 1;
	buf = xmalloc(cap);
	/* reading one byte past the limit tells a file that is too large */
	while (len <= CONF_MAX_FILE && r != 0) {
		if (len == cap) {
			cap = cap * 2 > CONF_MAX_FILE + 1 ?
			    CONF_MAX_FILE + 1 : cap * 2;
			buf = xreallocarray(buf, cap, 1);
		}
		if ((r = read(fd, buf + len, cap - len)) > 0)
			len += (size_t)r;
		else if (r == -1 && errno != EINTR) {
			cs_errs_add(errs, "%s: read: %s", path,
			    strerror(errno));
			goto out;
		}
	}
	if (len <= CONF_MAX_FILE) {
		ret = buf;
		buf = NULL;
		*lenp = len;
		goto out;
	}
toolarge:
	cs_errs_add(errs, "%s: larger than %d bytes; refusing", path,
	    CONF_MAX_FILE);
out:
	free(buf);
	return ret;
}

struct conf *
conf_load(const char *path, struct conf_errors *errs)
{
	struct conf	*conf = NULL;
	struct stat	 st;
	char		*buf;
	size_t		 len;
	int		 fd;

	/* O_NONBLOCK: opening a FIFO without a writer must not block */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
	    -1) {
		cs_errs_add(errs, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	/* st: an include that matches this file again is skipped */
	if ((buf = read_capped(fd, path, &len, errs)) != NULL &&
	    fstat(fd, &st) == 0)
		conf = parse_buf(path, buf, len, &st, errs);
	free(buf);
	close(fd);
	return conf;
}

/* ---- public: the objects ---------------------------------------------- */

static void
ca_clear(struct conf_ca *ca)
{
	free(ca->name);
	free(ca->directory);
	free(ca->preset);
	free(ca->staging);
	strv_clear(&ca->contact);
	free(ca->eab_kid);
	/* the one secret in the inventory: wiped in every copy we keep */
	xfree_secret_str(ca->eab_hmac_key);
	free(ca->eab_hmac_key_file);
	free(ca->ca_bundle);
	free(ca->issuer_roots);
	memset(ca, 0, sizeof(*ca));
}

static void
cert_clear(struct conf_cert *cert)
{
	struct conf_delivery *d;
	size_t		  i;

	if (!cert->packed) {
		free(cert->name);
		strv_clear(&cert->domains);
	}
	if (!cert->ca_shared)
		strv_clear(&cert->ca);
	if (!cert->pc_shared)
		free(cert->preferred_chain);
	if (!cert->prof_shared)
		free(cert->profile);
	if (cert->packed)
		free(cert->domains.v);	/* the name with them */
	if (cert->dlv != NULL && !cert->dlv_shared) {
		d = cert->dlv;
		for (i = 0; i < d->ndeploy; i++) {
			free(d->deploy[i].path);
			free(d->deploy[i].owner);
			free(d->deploy[i].group);
		}
		free(d->deploy);
		for (i = 0; i < d->nreload; i++) {
			free(d->reload[i].unit);
			strv_clear(&d->reload[i].argv);
			free(d->reload[i].pidfile);
		}
		free(d->reload);
		strv_clear(&d->verify.addrs);
		free(d->verify.servername);
		free(d);
	}
	memset(cert, 0, sizeof(*cert));
}

static void
cluster_free(struct conf_cluster *cl)
{
	size_t	i;

	if (cl == NULL)
		return;
	for (i = 0; i < cl->netcd; i++)
		free(cl->etcd[i]);
	free(cl->etcd);
	free(cl->prefix);
	free(cl->node);
	free(cl->key_file);
	free(cl->ca_bundle);
	free(cl->client_cert);
	free(cl->client_key);
	xfree_secret(cl, sizeof(*cl));	/* the key */
}

void
conf_free(struct conf *conf)
{
	size_t	i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->ncas; i++)
		ca_clear(&conf->cas[i]);
	free(conf->cas);
	for (i = 0; i < conf->ncerts; i++)
		cert_clear(&conf->certs[i]);
	free(conf->certs);
	strv_clear(&conf->defaults.ca);
	free(conf->defaults.preferred_chain);
	free(conf->defaults.profile);
	strv_clear(&conf->http01.listen);
	free(conf->http01.webroot);
	strv_clear(&conf->dns01.hook);
	free(conf->dns01.rfc2136_server);
	free(conf->dns01.rfc2136_zone);
	free(conf->dns01.tsig_key_file);
	tsigkey_clear(&conf->dns01.tsig);
	strv_clear(&conf->dns01.propagation_resolvers);
	strv_clear(&conf->tlsalpn01.listen);
	free(conf->metrics.listen);
	for (i = 0; i < conf->notify.nhooks; i++)
		strv_clear(&conf->notify.hooks[i].argv);
	free(conf->notify.hooks);
	free(conf->state_dir);
	free(conf->control_socket);
	cluster_free(conf->cluster);
	free(conf->path);
	free(conf);
}

void
conf_errors_clear(struct conf_errors *errs)
{
	size_t	i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++)
		free(errs->msg[i]);
	free(errs->msg);
	errs->msg = NULL;
	errs->n = 0;
}

/*
 * Returns the element called name in an array of n structs of size bytes,
 * each with its "char *name" at offset off, or NULL.
 */
static const void *
find_named(const void *base, size_t n, size_t size, size_t off,
    const char *name)
{
	const char	*elem, *s;
	size_t		 i;

	for (i = 0; name != NULL && i < n; i++) {
		elem = (const char *)base + i * size;
		memcpy(&s, elem + off, sizeof(s));
		if (s != NULL && strcmp(s, name) == 0)
			return elem;
	}
	return NULL;
}

const struct conf_ca *
conf_ca_find(const struct conf *conf, const char *name)
{
	return conf == NULL ? NULL : find_named(conf->cas, conf->ncas,
	    sizeof(*conf->cas), offsetof(struct conf_ca, name), name);
}

const struct conf_cert *
conf_cert_find(const struct conf *conf, const char *name)
{
	return conf == NULL ? NULL : find_named(conf->certs, conf->ncerts,
	    sizeof(*conf->certs), offsetof(struct conf_cert, name), name);
}

static char *
str_dup(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

static int
str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

void
conf_ca_free(struct conf_ca *ca)
{
	if (ca == NULL)
		return;
	ca_clear(ca);
	free(ca);
}

struct conf_ca *
conf_ca_dup(const struct conf_ca *src)
{
	struct conf_ca	*d;

	if (src == NULL)
		return NULL;
	d = xcalloc(1, sizeof(*d));
	d->name = str_dup(src->name);
	d->directory = str_dup(src->directory);
	d->preset = str_dup(src->preset);
	d->staging = str_dup(src->staging);
	strv_copy(&d->contact, &src->contact);
	d->eab_kid = str_dup(src->eab_kid);
	d->eab_hmac_key = str_dup(src->eab_hmac_key);
	d->eab_hmac_key_file = str_dup(src->eab_hmac_key_file);
	d->ca_bundle = str_dup(src->ca_bundle);
	d->issuer_roots = str_dup(src->issuer_roots);
	d->max_concurrent_orders = src->max_concurrent_orders;
	d->line = src->line;
	return d;
}

static void
deploy_copy(struct conf_deploy *d, const struct conf_deploy *s)
{
	d->path = str_dup(s->path);
	d->content = s->content;
	d->mode = s->mode;
	d->owner = str_dup(s->owner);
	d->group = str_dup(s->group);
}

static void
reload_copy(struct conf_reload *d, const struct conf_reload *s)
{
	d->kind = s->kind;
	d->unit = str_dup(s->unit);
	strv_copy(&d->argv, &s->argv);
	d->signo = s->signo;
	d->pidfile = str_dup(s->pidfile);
	d->mode = s->mode;
	d->timeout = s->timeout;
}

struct conf_cert *
conf_cert_dup(const struct conf_cert *src)
{
	struct conf_cert *d;
	struct conf_delivery *dd;
	const struct conf_delivery *sd;
	size_t		  i;

	if (src == NULL)
		return NULL;
	d = xcalloc(1, sizeof(*d));
	d->name = str_dup(src->name);
	strv_copy(&d->domains, &src->domains);
	d->key = src->key;
	strv_copy(&d->ca, &src->ca);
	d->challenge = src->challenge;
	d->renew_before = src->renew_before;
	d->reuse_key = src->reuse_key;
	d->preferred_chain = str_dup(src->preferred_chain);
	d->profile = str_dup(src->profile);
	/* a copy outlives its inventory: it owns its delivery settings */
	d->dlv = dd = xcalloc(1, sizeof(*d->dlv));
	sd = src->dlv;
	if (sd->ndeploy > 0)
		dd->deploy = xcalloc(sd->ndeploy, sizeof(*dd->deploy));
	for (i = 0; i < sd->ndeploy; i++)
		deploy_copy(&dd->deploy[i], &sd->deploy[i]);
	dd->ndeploy = sd->ndeploy;
	if (sd->nreload > 0)
		dd->reload = xcalloc(sd->nreload, sizeof(*dd->reload));
	for (i = 0; i < sd->nreload; i++)
		reload_copy(&dd->reload[i], &sd->reload[i]);
	dd->nreload = sd->nreload;
	dd->reload_delay = sd->reload_delay;
	dd->reload_max_delay = sd->reload_max_delay;
	strv_copy(&dd->verify.addrs, &sd->verify.addrs);
	dd->verify.servername = str_dup(sd->verify.servername);
	dd->verify.timeout = sd->verify.timeout;
	d->line = src->line;
	return d;
}

void
conf_cert_free(struct conf_cert *cert)
{
	if (cert == NULL)
		return;
	cert_clear(cert);
	free(cert);
}

static int
deploy_equal(const struct conf_deploy *a, const struct conf_deploy *b)
{
	return str_equal(a->path, b->path) && a->content == b->content &&
	    a->mode == b->mode && str_equal(a->owner, b->owner) &&
	    str_equal(a->group, b->group);
}

/* Returns 1 if a and b are the same reload target and settings. */
int
conf_reload_equal(const struct conf_reload *a, const struct conf_reload *b)
{
	return a->kind == b->kind && str_equal(a->unit, b->unit) &&
	    a->mode == b->mode && strv_equal(&a->argv, &b->argv) &&
	    a->signo == b->signo && str_equal(a->pidfile, b->pidfile) &&
	    a->timeout == b->timeout;
}

static int	conf_delivery_equal(const struct conf_delivery *,
		    const struct conf_delivery *);

int
conf_cert_same_delivery(const struct conf_cert *a, const struct conf_cert *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return conf_delivery_equal(a->dlv, b->dlv);
}

static int
conf_delivery_equal(const struct conf_delivery *a,
    const struct conf_delivery *b)
{
	size_t	i;

	if (a == b)
		return 1;
	if (a->ndeploy != b->ndeploy || a->nreload != b->nreload ||
	    a->reload_delay != b->reload_delay ||
	    a->reload_max_delay != b->reload_max_delay ||
	    !strv_equal(&a->verify.addrs, &b->verify.addrs) ||
	    !str_equal(a->verify.servername, b->verify.servername) ||
	    a->verify.timeout != b->verify.timeout)
		return 0;
	for (i = 0; i < a->ndeploy; i++)
		if (!deploy_equal(&a->deploy[i], &b->deploy[i]))
			return 0;
	for (i = 0; i < a->nreload; i++)
		if (!conf_reload_equal(&a->reload[i], &b->reload[i]))
			return 0;
	return 1;
}

int
conf_cert_same_order(const struct conf_cert *a, const struct conf_cert *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	/* SAN order does not change what is issued; CA order does */
	return a->key == b->key && a->challenge == b->challenge &&
	    strv_same_set(&a->domains, &b->domains) && strv_equal(&a->ca, &b->ca);
}

const char *
conf_cert_reissue(const struct conf_cert *a, const struct conf_cert *b)
{
	if (!strv_same_set(&a->domains, &b->domains))
		return "domains changed";
	if (a->key != b->key)
		return "key type changed";
	/* a backup CA added or removed is no reason for a new certificate */
	if (a->ca.n > 0 && b->ca.n > 0 && strcmp(a->ca.v[0], b->ca.v[0]) != 0)
		return "first CA changed";
	return NULL;
}

int
conf_ca_same_account(const struct conf_ca *a, const struct conf_ca *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return str_equal(a->name, b->name) &&
	    str_equal(a->directory, b->directory) &&
	    str_equal(a->eab_kid, b->eab_kid) &&
	    str_equal(a->eab_hmac_key, b->eab_hmac_key) &&
	    str_equal(a->ca_bundle, b->ca_bundle);
}

int
conf_ca_equal(const struct conf_ca *a, const struct conf_ca *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	/* everything a CA client is made from; the line only places errors */
	return conf_ca_same_account(a, b) &&
	    strv_equal(&a->contact, &b->contact) &&
	    str_equal(a->issuer_roots, b->issuer_roots) &&
	    str_equal(a->staging, b->staging) &&
	    a->max_concurrent_orders == b->max_concurrent_orders;
}

int
conf_http01_equal(const struct conf_http01 *a, const struct conf_http01 *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return str_equal(a->webroot, b->webroot) &&
	    strv_equal(&a->listen, &b->listen);
}

int
conf_dns01_equal(const struct conf_dns01 *a, const struct conf_dns01 *b)
{
	return strv_equal(&a->hook, &b->hook) && a->timeout == b->timeout &&
	    a->propagation_delay == b->propagation_delay &&
	    str_equal(a->rfc2136_server, b->rfc2136_server) &&
	    str_equal(a->rfc2136_zone, b->rfc2136_zone) &&
	    str_equal(a->tsig_key_file, b->tsig_key_file) &&
	    str_equal(a->tsig.secret, b->tsig.secret) &&
	    str_equal(a->tsig.name, b->tsig.name) &&
	    a->propagation_check == b->propagation_check &&
	    a->propagation_timeout == b->propagation_timeout &&
	    strv_equal(&a->propagation_resolvers, &b->propagation_resolvers);
}

int
conf_solvers_equal(const struct conf *a, const struct conf *b)
{
	return conf_dns01_equal(&a->dns01, &b->dns01) &&
	    strv_equal(&a->tlsalpn01.listen, &b->tlsalpn01.listen);
}

char *
conf_cert_domains_str(const struct conf_cert *cert)
{
	char	*out, *p;
	size_t	 i, len = 1;

	for (i = 0; i < cert->domains.n; i++)
		len += strlen(cert->domains.v[i]) + 1;
	p = out = xmalloc(len);
	*p = '\0';
	for (i = 0; i < cert->domains.n; i++)
		p += sprintf(p, "%s%s", i > 0 ? " " : "", cert->domains.v[i]);
	return out;
}

const char *
conf_key_type_name(enum key_type t)
{
	if ((size_t)t >= NELEM(key_names))
		return "unknown";
	return key_names[t];
}

const char *
conf_challenge_name(enum challenge_type t)
{
	if ((size_t)t >= NELEM(challenge_names))
		return "unknown";
	return challenge_names[t];
}

int
conf_cluster_equal(const struct conf_cluster *a, const struct conf_cluster *b)
{
	size_t	i;

	if (a == NULL || b == NULL)
		return a == b;
	if (a->netcd != b->netcd)
		return 0;
	for (i = 0; i < a->netcd; i++)
		if (strcmp(a->etcd[i], b->etcd[i]) != 0)
			return 0;
	return str_equal(a->prefix, b->prefix) && str_equal(a->node, b->node) &&
	    str_equal(a->key_file, b->key_file) &&
	    memcmp(a->key, b->key, sizeof(a->key)) == 0 &&
	    str_equal(a->ca_bundle, b->ca_bundle) &&
	    str_equal(a->client_cert, b->client_cert) &&
	    str_equal(a->client_key, b->client_key) &&
	    a->lease_ttl == b->lease_ttl && a->stagger == b->stagger;
}
