/*
 * renewctl_import.c - renewctl import-certbot: takes a certbot directory
 * over without a new account or a new order. certbot.c reads it (never
 * writes); this file decides what each lineage becomes in the inventory
 * (written as a file for "include:") and puts accounts and certificates
 * into the state directory through store.c, under renewd's own lock.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certbot.h"
#include "conf.h"
#include "crypto.h"
#include "fsutil.h"
#include "jws.h"
#include "presets.h"
#include "renewctl.h"
#include "renewctl_import.h"
#include "store.h"
#include "store_import.h"
#include "validate.h"
#include "xmalloc.h"

#define DEFAULT_CERTBOT_DIR	"/etc/letsencrypt"
#define DEFAULT_STATE_DIR	"/var/lib/renewd"

/* renewctl(8)'s exit statuses */
enum { IMP_OK = 0, IMP_USAGE = 2, IMP_REFUSED = 9 };

struct imp_opts {
	const char	*dir, *output, *state_dir, *user, *conf;
	int		 dry_run;
};

/* What the import makes of one CA: certbot's directory URL, renewd's name. */
struct imp_ca {
	const char	*server;	/* borrowed from the certbot */
	char		*name;
	int		 known;		/* the inventory already has it */
	long		 account;	/* index of the account imported, -1: none */
	const struct preset *preset;	/* the well-known CA at server, or NULL */
};

struct import {
	struct imp_opts		 o;
	struct conf		*conf;		/* NULL: no inventory at o.conf */
	struct certbot		*cb;
	struct certbot_notes	 notes;
	struct imp_ca		*cas;
	size_t			 ncas;
	unsigned char		*skip;		/* per lineage: the inventory has its name */
	const char		*state_dir;
	const char		*sock;		/* renewd's control socket */
	char			 via[64];	/* "" or " through renewd (pid N)" */
	char			*yaml;
	size_t			 ylen;
};

/* Appends printf output to the inventory text. */
static void __attribute__((format(printf, 2, 3)))
yput(struct import *im, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	size_t	 n;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	n = strlen(s);
	im->yaml = xreallocarray(im->yaml, im->ylen + n + 1, 1);
	memcpy(im->yaml + im->ylen, s, n + 1);
	im->ylen += n;
	free(s);
}

/* Returns s as a YAML double-quoted scalar (malloc'd). */
static char *
yq(const char *s)
{
	char	*out = xmalloc(strlen(s) * 4 + 3), *p = out;

	*p++ = '"';
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\') {
			*p++ = '\\';
			*p++ = *s;
		} else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			p += sprintf(p, "\\x%02x", (unsigned char)*s);
		else
			*p++ = *s;
	}
	*p++ = '"';
	*p = '\0';
	return out;
}

/* A renewd CA name for server: host (and port) of the URL, as a name. */
static char *
ca_name_derive(struct import *im, const char *server)
{
	char	*sp = certbot_server_path(server), *name, *p, *try;
	size_t	 i, n = 1;

	sp[strcspn(sp, "/")] = '\0';
	name = xasprintf("certbot-%s", sp);
	for (p = name; *p != '\0'; p++)
		if (!(*p == '.' || *p == '-' || *p == '_' ||
		    (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z')))
			*p = '-';
	try = xstrdup(name);
	for (i = 0; i < im->ncas; i++)
		if (strcmp(im->cas[i].name, try) == 0 ||
		    (im->conf != NULL && conf_ca_find(im->conf, try) != NULL)) {
			free(try);
			try = xasprintf("%s-%zu", name, ++n);
			i = (size_t)-1;
		}
	free(name);
	free(sp);
	return try;
}

/* Finds or makes the CA of server. Returns its index in im->cas. */
static size_t
ca_for(struct import *im, const char *server)
{
	struct imp_ca	 ca = { server, NULL, 0, -1, NULL };
	const struct preset *p;
	size_t		 i;

	for (i = 0; i < im->ncas; i++)
		if (strcmp(im->cas[i].server, server) == 0)
			return i;
	for (i = 0; im->conf != NULL && i < im->conf->ncas; i++)
		if (strcmp(im->conf->cas[i].directory, server) == 0) {
			ca.name = xstrdup(im->conf->cas[i].name);
			ca.known = 1;
			break;
		}
	/* A well-known CA is named after its preset, unless that name is taken. */
	if (ca.name == NULL && (p = preset_by_directory(server)) != NULL &&
	    (im->conf == NULL || conf_ca_find(im->conf, p->name) == NULL)) {
		for (i = 0; i < im->ncas; i++)
			if (strcmp(im->cas[i].name, p->name) == 0)
				break;
		if (i == im->ncas) {
			ca.name = xstrdup(p->name);
			ca.preset = p;
		}
	}
	if (ca.name == NULL)
		ca.name = ca_name_derive(im, server);
	im->cas = xreallocarray(im->cas, im->ncas + 1, sizeof(*im->cas));
	im->cas[im->ncas] = ca;
	return im->ncas++;
}

/*
 * Leaves out the lineages whose names the inventory has, and picks each
 * CA's account: the first lineage's; notes the others.
 */
static void
plan(struct import *im)
{
	const struct certbot_lineage *l;
	struct imp_ca	*ca;
	size_t		 i, k;

	im->skip = xcalloc(im->cb->nlineages + 1, 1);
	for (i = 0; i < im->cb->nlineages; i++) {
		l = &im->cb->lineages[i];
		if (im->conf != NULL && conf_cert_find(im->conf, l->name) !=
		    NULL) {
			certbot_note(&im->notes, "%s: the inventory %s has a "
			    "certificate of that name already: not imported",
			    l->name, im->conf->path);
			im->skip[i] = 1;
			continue;
		}
		k = ca_for(im, l->server);	/* may move im->cas */
		ca = &im->cas[k];
		if (im->cb->accounts[l->account].key_pem == NULL)
			continue;
		if (ca->account == -1)
			ca->account = (long)l->account;
		else if ((size_t)ca->account != l->account)
			certbot_note(&im->notes, "%s: certbot's account %s at %s "
			    "is not imported: renewd keeps one account per CA "
			    "(%s), and orders for %s go through it", l->name,
			    l->account_id, l->server,
			    im->cb->accounts[ca->account].id, l->name);
	}
}

/*
 * A hook certbot runs through a shell, as a reload entry: only
 * "systemctl reload|restart|... UNIT" and "service UNIT reload|restart".
 * Returns 1 with the unit (malloc'd) and mode, or 0.
 */
static int
hook_unit(const char *cmd, char **unit, const char **mode)
{
	char	*w[5], *copy, *p, *base;
	size_t	 n = 0;
	int	 rc = 0;

	if (strpbrk(cmd, ";&|<>$`'\"()*?~\\\n#=") != NULL)
		return 0;
	copy = xstrdup(cmd);
	for (p = strtok(copy, " \t"); p != NULL && n < 5; p = strtok(NULL, " \t"))
		w[n++] = p;
	if (p != NULL || n < 3)
		n = 0;
	base = n > 0 ? (strrchr(w[0], '/') ? strrchr(w[0], '/') + 1 : w[0]) :
	    NULL;
	if (n == 3 && strcmp(base, "systemctl") == 0) {
		*mode = strcmp(w[1], "reload") == 0 ? "reload" :
		    strcmp(w[1], "restart") == 0 ||
		    strcmp(w[1], "reload-or-restart") == 0 ? "restart" : NULL;
		p = w[2];
		rc = *mode != NULL;
	} else if (n == 3 && strcmp(base, "service") == 0) {
		*mode = strcmp(w[2], "reload") == 0 ? "reload" :
		    strcmp(w[2], "restart") == 0 ? "restart" : NULL;
		p = w[1];
		rc = *mode != NULL;
	}
	if (rc && (*p == '-' || strspn(p, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.@-") != strlen(p)))
		rc = 0;
	if (rc)
		*unit = strchr(p, '.') != NULL ? xstrdup(p) :
		    xasprintf("%s.service", p);
	free(copy);
	return rc;
}

/* The reload entries of l's hooks, and notes for the others. */
static void
yaml_hooks(struct import *im, const struct certbot_lineage *l)
{
	const char	*mode;
	char		*unit, *q, *entry, *prev, *done = xstrdup("");
	size_t		 i;

	for (i = 0; i < l->nhooks; i++) {
		q = yq(l->hooks[i].cmd);
		if (strcmp(l->hooks[i].kind, "pre_hook") != 0 &&
		    hook_unit(l->hooks[i].cmd, &unit, &mode)) {
			entry = xasprintf("      - unit: %s\n        "
			    "reload_mode: %s\n", unit, mode);
			if (strstr(done, entry) == NULL) {	/* deploy and post hook alike */
				yput(im, "%s%s", *done == '\0' ?
				    "    reload:\n" : "", entry);
				prev = done;
				done = xasprintf("%s%s", prev, entry);
				free(prev);
			}
			free(entry);
			free(unit);
		} else
			certbot_note(&im->notes, "%s: certbot's %s %s is not "
			    "translated (renewd runs no shell): add a reload: "
			    "entry (unit, exec or signal; renewd.yaml(5)) if "
			    "it is still needed", l->name, l->hooks[i].kind, q);
		free(q);
	}
	free(done);
}

/* The challenge of l, and notes where certbot answered differently. */
static void
yaml_challenge(struct import *im, const struct certbot_lineage *l)
{
	const char	*a = l->authenticator != NULL ? l->authenticator : "";
	const char	*have = im->conf != NULL ? im->conf->http01.webroot : NULL;
	size_t		 i;

	if (strncmp(a, "dns-", 4) == 0) {
		yput(im, "    challenge: dns-01\n");
		certbot_note(&im->notes, "%s: certbot's %s plugin is not "
		    "translated: renewd needs a dns01: hook in the inventory "
		    "(renewd.yaml(5))", l->name, a);
		return;
	}
	yput(im, "    challenge: http-01\n");
	if (strcmp(a, "webroot") == 0) {
		for (i = 0; i < l->nwebroots; i++)
			if (have == NULL || strcmp(have, l->webroots[i]) != 0)
				certbot_note(&im->notes, "%s: certbot wrote its "
				    "tokens under %s; renewd uses %s%s: set "
				    "\"http01: webroot: %s\" in the inventory "
				    "if that web server serves http-01", l->name,
				    l->webroots[i], have != NULL ? "webroot " :
				    "its own http-01 listener",
				    have != NULL ? have : "", l->webroots[i]);
	} else if (strcmp(a, "standalone") != 0)
		certbot_note(&im->notes, "%s: certbot's authenticator \"%s\" "
		    "is not translated: renewd answers http-01 on its own "
		    "listener or under http01's webroot (renewd.yaml(5))",
		    l->name, a);
}

/* One certificates: entry for lineage l. */
static void
yaml_cert(struct import *im, const struct certbot_lineage *l)
{
	const struct imp_ca *ca;
	char		*q;
	size_t		 i;

	ca = &im->cas[ca_for(im, l->server)];	/* plan_accounts made it */
	yput(im, "  - name: %s\n    domains: [", l->name);
	for (i = 0; i < l->ndomains; i++) {
		q = yq(l->domains[i]);
		yput(im, "%s%s", i > 0 ? ", " : "", q);
		free(q);
	}
	yput(im, "]\n");
	if (l->key_type >= 0)
		yput(im, "    key: %s\n", conf_key_type_name(l->key_type));
	else
		certbot_note(&im->notes, "%s: its key is of a type renewd does "
		    "not make: renewd replaces the certificate with an %s one "
		    "at its first start", l->name,
		    conf_key_type_name(KEY_EC_P256));
	yput(im, "    ca: %s\n", ca->name);
	yaml_challenge(im, l);
	if (l->reuse_key)
		yput(im, "    reuse_key: true\n");
	if (l->preferred_chain != NULL) {
		q = yq(l->preferred_chain);
		yput(im, "    preferred_chain: %s\n", q);
		free(q);
	}
	yaml_hooks(im, l);
	certbot_note(&im->notes, "%s: whatever reads %s/live/%s/ must read "
	    "%s/certs/%s/live/ (or a deploy: copy) from now on", l->name,
	    im->cb->dir, l->name, im->state_dir, l->name);
}

/* The inventory text: the new CAs, then one entry per lineage. */
static void
yaml_build(struct import *im)
{
	char	*q;
	size_t	 i, n = 0;

	q = yq(im->cb->dir);
	yput(im, "# Imported from %s by renewctl import-certbot.\n"
	    "# Include it from the inventory (include:) or copy it there.\n",
	    q);
	free(q);
	for (i = 0; i < im->ncas; i++) {
		if (im->cas[i].known)
			continue;
		if (n++ == 0)
			yput(im, "cas:\n");
		/*
		 * A preset that requires EAB would want eab: at load, but the
		 * imported account exists already: such a CA keeps its URL.
		 */
		if (im->cas[i].preset != NULL && !im->cas[i].preset->eab_required) {
			yput(im, "  - name: %s\n    preset: %s\n",
			    im->cas[i].name, im->cas[i].preset->name);
			continue;
		}
		q = yq(im->cas[i].server);
		yput(im, "  - name: %s\n    directory: %s\n", im->cas[i].name,
		    q);
		free(q);
	}
	for (i = n = 0; i < im->cb->nlineages; i++)
		if (!im->skip[i]) {
			if (n++ == 0)
				yput(im, "certificates:\n");
			yaml_cert(im, &im->cb->lineages[i]);
		}
	if (n == 0)
		yput(im, "certificates: []\n");
	for (i = 0; i < im->cb->nhook_files; i++)
		certbot_note(&im->notes, "%s: certbot runs it for every "
		    "lineage; not translated", im->cb->hook_files[i]);
}

/* The answer of renewd to one import request. */
struct imp_reply {
	enum store_import	 r;
	char			*err;
	size_t			 errlen;
};

/* import: one line, the outcome. Returns the exit status. */
static int
import_line(void *arg, json_t *o, const char *line)
{
	struct imp_reply *rp = arg;
	const char	*res = json_string_value(json_object_get(o, "result"));
	const char	*e = json_string_value(json_object_get(o, "error"));

	if (!json_is_true(json_object_get(o, "end")))
		return -1;
	if (json_is_true(json_object_get(o, "ok")) && res != NULL) {
		rp->r = strcmp(res, "imported") == 0 ? STORE_IMPORTED :
		    strcmp(res, "already imported") == 0 ? STORE_ALREADY :
		    STORE_KEPT;
		return IMP_OK;
	}
	snprintf(rp->err, rp->errlen, "renewd says: %s", e != NULL ? e :
	    "(no reason given)");
	return json_is_true(json_object_get(o, "denied")) ? EX_DENIED :
	    IMP_REFUSED;
}

/* Sends req to renewd; the outcome as store_import_* gives it, *ex set on failure. */
static enum store_import
via_daemon(struct import *im, const struct control_req *req, char *err,
    size_t errlen, int *ex)
{
	struct imp_reply rp = { STORE_IMPORT_ERROR, err, errlen };
	char	*text = control_req_format(req);
	size_t	 len = strlen(text);
	int	 fd, r;

	xfree_secret_str(text);
	if (len > CONTROL_REQ_MAX) {
		snprintf(err, errlen, "%s %s: %zu bytes, more than a control "
		    "request may hold (%d): stop renewd and import again",
		    req->import_cert ? "certificate" : "the account of CA",
		    req->import_cert ? req->names[0] : req->ca, len,
		    CONTROL_REQ_MAX);
		return STORE_IMPORT_ERROR;
	}
	if ((fd = ctl_connect(im->sock, &r)) == -1) {
		snprintf(err, errlen, "%s: renewd no longer answers", im->sock);
		*ex = r == EX_DENIED ? EX_DENIED : IMP_REFUSED;
		return STORE_IMPORT_ERROR;
	}
	snprintf(err, errlen, "%s: the conversation with renewd broke",
	    im->sock);
	if ((r = converse(fd, req, import_line, &rp)) != IMP_OK)
		*ex = r;
	close(fd);
	return rp.r;
}

/* Puts CA ca's account into the store, or through renewd if st is NULL. Returns 0 or -1 (printed). */
static int
store_account(struct import *im, struct store *st, const struct imp_ca *ca,
    int *ex)
{
	const struct certbot_account *a = &im->cb->accounts[ca->account];
	struct control_req req = { .cmd = CONTROL_IMPORT };
	char	 err[1024];
	enum store_import r;

	req.ca = ca->name;
	req.url = a->url;
	req.key_pem = a->key_pem;
	r = st != NULL ? store_import_account(st, ca->name, a->key_pem, a->url,
	    err, sizeof(err)) : via_daemon(im, &req, err, sizeof(err), ex);
	if (r == STORE_IMPORTED || r == STORE_ALREADY)
		printf("account %s: %s into %s/accounts/%s%s\n", a->url,
		    store_import_name(r), im->state_dir, ca->name, im->via);
	else if (r == STORE_KEPT)
		fprintf(stderr, "renewctl: %s/accounts/%s holds another "
		    "account; certbot's %s is not imported (move that "
		    "directory away to import it)\n", im->state_dir, ca->name,
		    a->url);
	else
		fprintf(stderr, "renewctl: %s\n", err);
	return r == STORE_IMPORTED || r == STORE_ALREADY ? 0 : -1;
}

/* Installs lineage l's certificate as its live version, or through renewd if st is NULL. Returns 0 or -1 (printed). */
static int
store_lineage(struct import *im, struct store *st,
    const struct certbot_lineage *l, int *ex)
{
	struct control_req req = { .cmd = CONTROL_IMPORT, .import_cert = 1 };
	char	 err[1024], serial[128], *names[1] = { l->name };
	enum store_import r;

	req.names = names;
	req.nnames = 1;
	req.key_pem = l->key_pem;
	req.cert_pem = l->cert_pem;
	req.chain_pem = l->chain_pem != NULL ? l->chain_pem : "";
	r = st != NULL ? store_import_cert(st, l->name, l->key_pem,
	    l->cert_pem, l->chain_pem, serial, sizeof(serial), err,
	    sizeof(err)) : via_daemon(im, &req, err, sizeof(err), ex);
	if (r == STORE_IMPORTED)
		printf("%s: serial %s imported into %s/certs/%s%s\n", l->name,
		    l->serial, im->state_dir, l->name, im->via);
	else if (r == STORE_ALREADY)
		printf("%s: serial %s already imported%s\n", l->name, l->serial,
		    im->via);
	else if (r == STORE_KEPT)
		fprintf(stderr, "renewctl: %s: renewd has a live certificate "
		    "of its own in %s/certs/%s: certbot's serial %s is not "
		    "imported\n", l->name, im->state_dir, l->name, l->serial);
	else
		fprintf(stderr, "renewctl: %s\n", err);
	return r == STORE_IMPORTED || r == STORE_ALREADY ? 0 : -1;
}

/*
 * Whether a renewd holding the lock answers on its socket; notes its pid
 * for the report. Returns 1 if it does.
 */
static int
daemon_answers(struct import *im)
{
	struct ucred	uc;
	socklen_t	len = sizeof(uc);
	int		fd, ex;

	if ((fd = ctl_connect(im->sock, &ex)) == -1)
		return ex == EX_DENIED ? -1 : 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0)
		snprintf(im->via, sizeof(im->via), " through renewd (pid %ld)",
		    (long)uc.pid);
	else
		snprintf(im->via, sizeof(im->via), " through renewd");
	close(fd);
	return 1;
}

/*
 * Takes renewd's lock on the state directory and writes into it; if a
 * running renewd holds it, sends everything through its control socket.
 * Returns an exit status.
 */
static int
store_all(struct import *im)
{
	struct store	*st;
	char		 err[1024];
	size_t		 i;
	int		 rc = IMP_OK, ex = IMP_REFUSED, up;

	/*
	 * renewd holds the lock, or the state directory is its user's: the
	 * import goes through renewd if it answers.
	 */
	if ((st = store_open(im->state_dir, err, sizeof(err))) == NULL) {
		if ((strstr(err, "in use") == NULL &&
		    strstr(err, strerror(EACCES)) == NULL) ||
		    (up = daemon_answers(im)) == 0) {
			fprintf(stderr, "renewctl: %s\n", err);
			if (strstr(err, "in use") != NULL)
				fprintf(stderr, "renewctl: and nothing answers "
				    "on its control socket %s\n", im->sock);
			return IMP_REFUSED;
		}
		if (up == -1)
			return EX_DENIED;
	}
	for (i = 0; i < im->ncas; i++)
		if (im->cas[i].account != -1 &&
		    store_account(im, st, &im->cas[i], &ex) == -1)
			rc = rc == IMP_OK ? ex : rc;
	for (i = 0; i < im->cb->nlineages; i++)
		if (!im->skip[i] &&
		    store_lineage(im, st, &im->cb->lineages[i], &ex) == -1)
			rc = rc == IMP_OK ? ex : rc;
	if (st != NULL)
		store_close(st);
	return rc;
}

/* store_all as user (a forked child that drops to it), or as we are. */
static int
store_as(struct import *im)
{
	struct passwd	*pw;
	pid_t		 pid;
	int		 status;

	if (im->o.user == NULL)
		return store_all(im);
	if ((pw = getpwnam(im->o.user)) == NULL) {
		fprintf(stderr, "renewctl: --user %s: no such user\n",
		    im->o.user);
		return IMP_USAGE;
	}
	fflush(stdout);
	if ((pid = fork()) == -1) {
		fprintf(stderr, "renewctl: fork: %s\n", strerror(errno));
		return IMP_REFUSED;
	}
	if (pid == 0) {
		if (setgroups(0, NULL) == -1 || setresgid(pw->pw_gid,
		    pw->pw_gid, pw->pw_gid) == -1 || setresuid(pw->pw_uid,
		    pw->pw_uid, pw->pw_uid) == -1) {
			fprintf(stderr, "renewctl: cannot become %s: %s\n",
			    im->o.user, strerror(errno));
			_exit(IMP_REFUSED);
		}
		status = store_all(im);
		fflush(stdout);
		_exit(status);
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : IMP_REFUSED;
}

/* --dry-run: what the import would do, and the inventory it would write. */
static void
dry_run(struct import *im)
{
	const struct certbot_lineage *l;
	size_t	i;

	for (i = 0; i < im->ncas; i++)
		if (im->cas[i].account != -1)
			printf("would import account %s into %s/accounts/%s\n",
			    im->cb->accounts[im->cas[i].account].url,
			    im->state_dir, im->cas[i].name);
	for (i = 0; i < im->cb->nlineages; i++) {
		l = &im->cb->lineages[i];
		if (im->skip[i])
			continue;
		printf("would import %s: serial %s into %s/certs/%s\n",
		    l->name, l->serial, im->state_dir, l->name);
	}
	printf("would write %s:\n%s", im->o.output != NULL ? im->o.output :
	    "the inventory to standard output", im->yaml);
}

/* Writes the inventory text to --output (new file) or standard output. */
static int
write_yaml(struct import *im)
{
	if (im->o.output == NULL) {
		fputs(im->yaml, stdout);
		return IMP_OK;
	}
	if (access(im->o.output, F_OK) == 0) {
		fprintf(stderr, "renewctl: %s exists: not overwritten\n",
		    im->o.output);
		return IMP_REFUSED;
	}
	if (fsutil_write_atomic(im->o.output, im->yaml, im->ylen, 0644) == -1) {
		fprintf(stderr, "renewctl: cannot write %s: %s\n", im->o.output,
		    strerror(errno));
		return IMP_REFUSED;
	}
	printf("wrote %s\n", im->o.output);
	return IMP_OK;
}

/* The command's options. Returns -1 to go on, else an exit status. */
static int
parse_opts(struct imp_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dry-run",	no_argument, NULL, 'n' },
		{ "output",	required_argument, NULL, 'o' },
		{ "state-dir",	required_argument, NULL, 'S' },
		{ "user",	required_argument, NULL, 'u' },
		{ "config",	required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:o:", longopts, NULL)) != -1) {
		if (ch == 'n')
			o->dry_run = 1;
		else if (ch == 'o')
			o->output = optarg;
		else if (ch == 'S')
			o->state_dir = optarg;
		else if (ch == 'u')
			o->user = optarg;
		else if (ch == 'c')
			o->conf = optarg;
		else
			return IMP_USAGE;
	}
	if (argc - optind > 1)
		return IMP_USAGE;
	o->dir = argc - optind == 1 ? argv[optind] : DEFAULT_CERTBOT_DIR;
	if (o->state_dir != NULL && o->state_dir[0] != '/') {
		fprintf(stderr, "renewctl: --state-dir %s: not an absolute "
		    "path\n", o->state_dir);
		return IMP_USAGE;
	}
	return -1;
}

/* Reads the inventory, if there is one, and certbot's directory. Returns -1 to go on, else an exit status. */
static int
load(struct import *im)
{
	struct conf_errors	 errs = { 0 };
	char			 err[1024];
	size_t			 i;

	if (access(im->o.conf, F_OK) == 0 &&
	    (im->conf = conf_load(im->o.conf, &errs)) == NULL) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		conf_errors_clear(&errs);
		return IMP_USAGE;
	}
	im->state_dir = im->o.state_dir != NULL ? im->o.state_dir :
	    im->conf != NULL ? im->conf->state_dir : DEFAULT_STATE_DIR;
	if (im->sock == NULL)
		im->sock = im->conf != NULL && im->conf->control_socket !=
		    NULL ? im->conf->control_socket : DEFAULT_SOCKET;
	if ((im->cb = certbot_read(im->o.dir, &im->notes, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "renewctl: %s\n", err);
		return IMP_USAGE;
	}
	if (im->cb->nlineages == 0) {
		fprintf(stderr, "renewctl: %s/renewal: no certificate to "
		    "import\n", im->o.dir);
		return IMP_USAGE;
	}
	return -1;
}

int
import_certbot_main(int argc, char **argv, const char *conf, const char *sock)
{
	struct import	im = { .o = { .conf = conf }, .sock = sock };
	size_t		i;
	int		ex;

	if ((ex = parse_opts(&im.o, argc, argv)) != -1) {
		fprintf(stderr, "usage: renewctl [-c file] import-certbot "
		    "[--dry-run] [--output file] [--state-dir dir] "
		    "[--user user] [dir]\n");
		return ex;
	}
	if ((ex = load(&im)) == -1) {
		plan(&im);
		yaml_build(&im);
		if (im.o.dry_run) {
			dry_run(&im);
			ex = IMP_OK;
		} else if (im.o.output != NULL && access(im.o.output, F_OK) == 0) {
			fprintf(stderr, "renewctl: %s exists: not overwritten\n",
			    im.o.output);
			ex = IMP_REFUSED;
		} else if ((ex = store_as(&im)) == IMP_OK)
			ex = write_yaml(&im);
		for (i = 0; i < im.notes.n; i++)
			fprintf(stderr, "renewctl: note: %s\n", im.notes.v[i]);
	}
	for (i = 0; i < im.ncas; i++)
		free(im.cas[i].name);
	free(im.cas);
	free(im.skip);
	free(im.yaml);
	certbot_notes_clear(&im.notes);
	certbot_free(im.cb);
	conf_free(im.conf);
	return ex;
}
