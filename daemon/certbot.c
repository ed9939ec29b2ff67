/*
 * certbot.c - reads a certbot configuration directory for renewctl
 * import-certbot: renewal/<name>.conf (cbconf.c), the live/ links into
 * archive/, and the accounts the lineages name. Everything is opened for
 * reading only; the import's writes are renewctl_import.c's, through store.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cbconf.h"
#include "certbot.h"
#include "crypto.h"
#include "fsutil.h"
#include "jws.h"
#include "validate.h"
#include "xmalloc.h"

/* certbot's files are small; more is not certbot's */
#define CB_FILE_MAX	(1024 * 1024)

void
certbot_note(struct certbot_notes *n, const char *fmt, ...)
{
	va_list	ap;

	n->v = xreallocarray(n->v, n->n + 1, sizeof(*n->v));
	va_start(ap, fmt);
	n->v[n->n++] = xvasprintf(fmt, ap);
	va_end(ap);
}

void
certbot_notes_clear(struct certbot_notes *n)
{
	size_t	i;

	for (i = 0; i < n->n; i++)
		free(n->v[i]);
	free(n->v);
	n->v = NULL;
	n->n = 0;
}

static void
strv_add(char ***v, size_t *n, const char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = xstrdup(s);
}

static void
strv_free(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

char *
certbot_server_path(const char *server)
{
	size_t	len;

	if (server == NULL || strncmp(server, "https://", 8) != 0)
		return NULL;
	server += 8;
	len = strlen(server);
	while (len > 0 && server[len - 1] == '/')
		len--;
	if (len == 0 || memchr(server, '?', len) != NULL ||
	    strstr(server, "..") != NULL)
		return NULL;
	return xstrndup(server, len);
}

/* Reads dir/rel; NULL with why in err. */
static char *
cb_read(const char *dir, const char *rel, size_t *len, char *err,
    size_t errlen)
{
	char	*path = xasprintf("%s/%s", dir, rel), *text;

	if ((text = fsutil_read_file(path, CB_FILE_MAX, 0, len)) == NULL)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	free(path);
	return text;
}

/* Fills a's URL and key from its directory. Returns 0 or -1 (err). */
static int
account_load(const char *dir, struct certbot_account *a, char *err,
    size_t errlen)
{
	char			*sp = certbot_server_path(a->server), *rel = NULL;
	char			*text = NULL, why[256];
	struct crypto_key	*key = NULL;
	json_t			*o = NULL;
	size_t			 len;
	int			 rc = -1;

	if (sp == NULL) {
		snprintf(err, errlen, "server %s is no https:// URL", a->server);
		return -1;
	}
	rel = xasprintf("accounts/%s/%s/regr.json", sp, a->id);
	if ((text = cb_read(dir, rel, &len, err, errlen)) == NULL)
		goto out;
	if ((o = json_loadb(text, len, 0, NULL)) == NULL ||
	    json_string_value(json_object_get(o, "uri")) == NULL) {
		snprintf(err, errlen, "%s/%s: no \"uri\" (the account URL)",
		    dir, rel);
		goto out;
	}
	a->url = xstrdup(json_string_value(json_object_get(o, "uri")));
	free(text);
	free(rel);
	rel = xasprintf("accounts/%s/%s/private_key.json", sp, a->id);
	if ((text = cb_read(dir, rel, &len, err, errlen)) == NULL)
		goto out;
	if ((key = jws_key_from_jwk(text, len, why, sizeof(why))) == NULL)
		snprintf(err, errlen, "%s/%s: %s", dir, rel, why);
	else if ((a->key_pem = crypto_key_to_pem(key, NULL)) == NULL)
		snprintf(err, errlen, "%s/%s: cannot encode the key", dir, rel);
	else
		rc = 0;
out:
	crypto_key_free(key);
	json_decref(o);
	xfree_secret_str(text);
	free(rel);
	free(sp);
	return rc;
}

/* Reads live/<name>/{privkey,cert,chain}.pem into l. Returns 0 or -1 (err). */
static int
live_load(const char *dir, struct certbot_lineage *l, char *err,
    size_t errlen)
{
	struct crypto_cert	*cert = NULL;
	struct crypto_cert_info	 info = { 0 };
	struct crypto_key	*key = NULL;
	char			*rel, why[256];
	size_t			 i;
	int			 rc = -1;

	rel = xasprintf("live/%s/privkey.pem", l->name);
	l->key_pem = cb_read(dir, rel, NULL, err, errlen);
	free(rel);
	rel = xasprintf("live/%s/cert.pem", l->name);
	if (l->key_pem != NULL)
		l->cert_pem = cb_read(dir, rel, NULL, err, errlen);
	free(rel);
	rel = xasprintf("live/%s/chain.pem", l->name);
	if (l->cert_pem != NULL)
		l->chain_pem = cb_read(dir, rel, NULL, err, errlen);
	free(rel);
	if (l->chain_pem == NULL)
		return -1;
	if ((key = crypto_key_from_pem(l->key_pem, strlen(l->key_pem))) == NULL)
		snprintf(err, errlen, "%s/live/%s/privkey.pem: unreadable key",
		    dir, l->name);
	else if ((cert = crypto_cert_from_pem(l->cert_pem, strlen(l->cert_pem),
	    why, sizeof(why))) == NULL ||
	    crypto_cert_get_info(cert, &info, why, sizeof(why)) == -1)
		snprintf(err, errlen, "%s/live/%s/cert.pem: %s", dir, l->name,
		    why);
	else if (!crypto_cert_has_key(cert, key))
		snprintf(err, errlen, "%s/live/%s: privkey.pem is not the key "
		    "of cert.pem", dir, l->name);
	else {
		l->key_type = crypto_key_type(key);
		l->serial = xstrdup(info.serial);
		l->not_after = info.not_after;
		for (i = 0; i < info.nsans; i++)
			strv_add(&l->domains, &l->ndomains, info.sans[i]);
		rc = 0;
	}
	crypto_cert_info_clear(&info);
	crypto_cert_free(cert);
	crypto_key_free(key);
	return rc;
}

/* Adds path to l's webroots unless it is there. */
static void
webroot_add(struct certbot_lineage *l, const char *path)
{
	size_t	i;

	for (i = 0; i < l->nwebroots; i++)
		if (strcmp(l->webroots[i], path) == 0)
			return;
	strv_add(&l->webroots, &l->nwebroots, path);
}

/* Takes renewalparams from c into l. */
static void
lineage_params(const struct cbconf *c, struct certbot_lineage *l)
{
	static const char *const kinds[] = { "pre_hook", "renew_hook",
	    "post_hook" };
	const struct cbconf_entry *e;
	const char	*s;
	size_t		 i, k;

	if ((s = cbconf_str(c, "renewalparams", "authenticator")) != NULL)
		l->authenticator = xstrdup(s);
	if ((e = cbconf_find(c, "renewalparams", "webroot_path")) != NULL)
		for (i = 0; i < e->nitems; i++)
			webroot_add(l, e->items[i]);
	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i].section, "renewalparams/webroot_map") == 0 &&
		    c->v[i].nitems == 1)
			webroot_add(l, c->v[i].items[0]);
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		if ((s = cbconf_str(c, "renewalparams", kinds[k])) == NULL)
			continue;
		l->hooks = xreallocarray(l->hooks, l->nhooks + 1,
		    sizeof(*l->hooks));
		l->hooks[l->nhooks].kind = kinds[k];
		l->hooks[l->nhooks++].cmd = xstrdup(s);
	}
	s = cbconf_str(c, "renewalparams", "reuse_key");
	l->reuse_key = s != NULL && strcmp(s, "True") == 0;
	if ((s = cbconf_str(c, "renewalparams", "preferred_chain")) != NULL)
		l->preferred_chain = xstrdup(s);
}

static void
lineage_clear(struct certbot_lineage *l)
{
	size_t	i;

	free(l->name);
	free(l->server);
	free(l->account_id);
	free(l->authenticator);
	strv_free(l->webroots, l->nwebroots);
	for (i = 0; i < l->nhooks; i++)
		free(l->hooks[i].cmd);
	free(l->hooks);
	free(l->preferred_chain);
	xfree_secret_str(l->key_pem);
	free(l->cert_pem);
	free(l->chain_pem);
	strv_free(l->domains, l->ndomains);
	free(l->serial);
}

/*
 * Returns the index of the account (server, id) of cb, read on first
 * use; one that cannot be read stays without a key, with a note.
 */
static size_t
account_get(struct certbot *cb, const char *server, const char *id,
    struct certbot_notes *notes)
{
	struct certbot_account	 a = { 0 };
	char			 err[1024];
	size_t			 i;

	for (i = 0; i < cb->naccounts; i++)
		if (strcmp(cb->accounts[i].server, server) == 0 &&
		    strcmp(cb->accounts[i].id, id) == 0)
			return i;
	a.server = xstrdup(server);
	a.id = xstrdup(id);
	if (strchr(id, '/') != NULL || strcmp(id, "..") == 0)
		snprintf(err, sizeof(err), "account id \"%s\" is no directory "
		    "name", id);
	else if (account_load(cb->dir, &a, err, sizeof(err)) == 0)
		err[0] = '\0';
	if (err[0] != '\0') {
		certbot_note(notes, "%s: not imported (renewd registers an "
		    "account of its own at %s)", err, server);
		free(a.url);
		a.url = NULL;
		xfree_secret_str(a.key_pem);
		a.key_pem = NULL;
	}
	cb->accounts = xreallocarray(cb->accounts, cb->naccounts + 1,
	    sizeof(*cb->accounts));
	cb->accounts[cb->naccounts] = a;
	return cb->naccounts++;
}

/* Reads renewal/<file> into a new lineage of cb. Returns 0, 1 (left out), or -1 (err). */
static int
lineage_read(struct certbot *cb, const char *file, struct certbot_notes *notes,
    char *err, size_t errlen)
{
	struct certbot_lineage	 l = { 0 };
	struct cbconf		*c = NULL;
	char			*rel = xasprintf("renewal/%s", file), *text, *path;
	const char		*server, *acct;
	size_t			 len;
	int			 rc = -1;

	l.name = xstrndup(file, strlen(file) - 5);	/* ".conf" */
	l.key_type = -1;
	path = xasprintf("%s/%s", cb->dir, rel);
	if ((text = cb_read(cb->dir, rel, &len, err, errlen)) == NULL ||
	    (c = cbconf_parse(path, text, len, err, errlen)) == NULL)
		goto out;
	if (!valid_name(l.name)) {
		certbot_note(notes, "%s: \"%s\" is no renewd certificate name "
		    "(letters, digits, \".\", \"_\", \"-\"): not imported",
		    path, l.name);
		rc = 1;
		goto out;
	}
	server = cbconf_str(c, "renewalparams", "server");
	acct = cbconf_str(c, "renewalparams", "account");
	if (server == NULL || acct == NULL) {
		snprintf(err, errlen, "%s: [renewalparams] lacks %s", path,
		    server == NULL ? "server" : "account");
		goto out;
	}
	l.server = xstrdup(server);
	l.account_id = xstrdup(acct);
	lineage_params(c, &l);
	if (live_load(cb->dir, &l, err, errlen) == -1)
		goto out;
	l.account = account_get(cb, server, acct, notes);
	cb->lineages = xreallocarray(cb->lineages, cb->nlineages + 1,
	    sizeof(*cb->lineages));
	cb->lineages[cb->nlineages++] = l;
	memset(&l, 0, sizeof(l));
	rc = 0;
out:
	lineage_clear(&l);
	cbconf_free(c);
	free(text);
	free(path);
	free(rel);
	return rc;
}

/* Lists renewal-hooks/{pre,deploy,post}/ into cb (certbot runs them all). */
static void
hook_files(struct certbot *cb)
{
	static const char *const kinds[] = { "pre", "deploy", "post" };
	struct dirent	*de;
	DIR		*d;
	char		*path;
	size_t		 k;

	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		path = xasprintf("%s/renewal-hooks/%s", cb->dir, kinds[k]);
		if ((d = opendir(path)) != NULL) {
			while ((de = readdir(d)) != NULL)
				if (de->d_name[0] != '.') {
					cb->hook_files = xreallocarray(
					    cb->hook_files, cb->nhook_files + 1,
					    sizeof(*cb->hook_files));
					cb->hook_files[cb->nhook_files++] =
					    xasprintf("%s/%s", path, de->d_name);
				}
			closedir(d);
		}
		free(path);
	}
}

static int
conf_file(const struct dirent *de)
{
	size_t	len = strlen(de->d_name);

	return de->d_name[0] != '.' && len > 5 &&
	    strcmp(de->d_name + len - 5, ".conf") == 0;
}

struct certbot *
certbot_read(const char *dir, struct certbot_notes *notes, char *err,
    size_t errlen)
{
	struct certbot	 *cb = xcalloc(1, sizeof(*cb));
	struct dirent	**ents = NULL;
	char		 *rdir = xasprintf("%s/renewal", dir);
	int		  i, n, rc = 0;

	cb->dir = xstrdup(dir);
	if ((n = scandir(rdir, &ents, conf_file, alphasort)) == -1) {
		snprintf(err, errlen, "%s: %s", rdir, strerror(errno));
		rc = -1;
	}
	for (i = 0; i < n; i++) {
		if (rc != -1)
			rc = lineage_read(cb, ents[i]->d_name, notes, err,
			    errlen) == -1 ? -1 : 0;
		free(ents[i]);
	}
	free(ents);
	free(rdir);
	if (rc == 0)
		hook_files(cb);
	if (rc == -1) {
		certbot_free(cb);
		return NULL;
	}
	return cb;
}

void
certbot_free(struct certbot *cb)
{
	size_t	i;

	if (cb == NULL)
		return;
	for (i = 0; i < cb->nlineages; i++)
		lineage_clear(&cb->lineages[i]);
	free(cb->lineages);
	for (i = 0; i < cb->naccounts; i++) {
		free(cb->accounts[i].server);
		free(cb->accounts[i].id);
		free(cb->accounts[i].url);
		xfree_secret_str(cb->accounts[i].key_pem);
	}
	free(cb->accounts);
	strv_free(cb->hook_files, cb->nhook_files);
	free(cb->dir);
	free(cb);
}
