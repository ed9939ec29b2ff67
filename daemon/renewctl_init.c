/*
 * renewctl_init.c - "renewctl init": a first inventory in five questions
 * (domains, CA preset, contact, challenge, reload target), each of which
 * is also a flag, so scripts and people get the same file. The text is
 * parsed by conf_parse before anything is written, written without
 * replacing an existing inventory (unless --force), then checked by
 * conf_load as check-config does; at the end a dry run is offered.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "fsutil.h"
#include "presets.h"
#include "renewctl_init.h"
#include "validate.h"
#include "xmalloc.h"

#define EX_OK		0
#define EX_USAGE	2
#define MAX_DOMAINS	100

extern char **environ;

/* The answers; a NULL one is still to be asked (or defaulted with --yes). */
struct init {
	const char	*path;
	int		 yes, force, dry_run;
	char		*domains[MAX_DOMAINS];
	size_t		 ndomains;
	char		*name, *ca, *email, *challenge, *webroot, *dns_hook;
	char		*reload, *eab_kid, *eab_key_file;
	char		 found[256];	/* detected servers' units, for the prompt */
	char		 dflt_reload[128];
};

/* Web servers whose reload init proposes: unit, and the binary that says so. */
static const struct { const char *unit, *bin; } servers[] = {
	{ "nginx.service", "/usr/sbin/nginx" },
	{ "haproxy.service", "/usr/sbin/haproxy" },
	{ "apache2.service", "/usr/sbin/apache2" },
	{ "httpd.service", "/usr/sbin/httpd" },
};
static const char *const unit_dirs[] = {
	"/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"
};

static void
usage_init(FILE *f)
{
	fprintf(f, "usage: renewctl init [--domain name ...] [--name name] "
	    "[--ca preset] [--email address]\n"
	    "           [--challenge http-01|dns-01|tls-alpn-01] [--webroot dir] "
	    "[--dns-hook path]\n"
	    "           [--eab-kid kid --eab-key-file file] [--reload unit:NAME|none]"
	    "\n           [--yes] [--dry-run] [--output file] [--force]\n");
}

/* The units of installed web servers (a unit file or the binary). */
static void
detect_servers(struct init *in)
{
	char	 p[PATH_MAX];
	size_t	 i, j, len = 0;
	int	 hit;

	in->found[0] = in->dflt_reload[0] = '\0';
	for (i = 0; i < sizeof(servers) / sizeof(servers[0]); i++) {
		hit = access(servers[i].bin, X_OK) == 0;
		for (j = 0; !hit && j < sizeof(unit_dirs) / sizeof(unit_dirs[0]);
		    j++) {
			snprintf(p, sizeof(p), "%s/%s", unit_dirs[j],
			    servers[i].unit);
			hit = access(p, F_OK) == 0;
		}
		if (!hit)
			continue;
		if (in->dflt_reload[0] == '\0')
			snprintf(in->dflt_reload, sizeof(in->dflt_reload),
			    "unit:%s", servers[i].unit);
		if (len < sizeof(in->found))
			len += (size_t)snprintf(in->found + len,
			    sizeof(in->found) - len, "%s%s", len > 0 ? ", " : "",
			    servers[i].unit);
	}
	if (in->dflt_reload[0] == '\0')
		snprintf(in->dflt_reload, sizeof(in->dflt_reload), "none");
}

/*
 * Prints the question and reads one line. Returns the answer (malloc'd,
 * trimmed; dflt if empty and dflt is not NULL), or NULL at the end of
 * the input.
 */
static char *
ask(const char *dflt, const char *fmt, ...)
{
	va_list	 ap;
	char	*line = NULL, *s, *e;
	size_t	 cap = 0;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (dflt != NULL && *dflt != '\0')
		printf(" [%s]", dflt);
	printf(": ");
	fflush(stdout);
	if (getline(&line, &cap, stdin) == -1) {
		free(line);
		printf("\n");
		return NULL;
	}
	for (s = line; *s == ' ' || *s == '\t'; s++)
		;
	for (e = s + strlen(s); e > s && strchr(" \t\r\n", e[-1]) != NULL; e--)
		;
	*e = '\0';
	s = *s == '\0' && dflt != NULL ? xstrdup(dflt) : xstrdup(s);
	free(line);
	return s;
}

/* ---- answers and their checks ------------------------------------------ */

/* Returns NULL if v may be an answer, else why not (in buf). */
typedef const char *(*checker)(const char *v, char *buf, size_t len);

/* Text that goes into the YAML quoted: no control characters. */
static const char *
check_text(const char *v, char *buf, size_t len)
{
	const unsigned char *p;

	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(buf, len, "control characters are not allowed");
			return buf;
		}
	return NULL;
}

static const char *
check_domains(const char *v, char *buf, size_t len)
{
	char	*copy = xstrdup(v), *tok, *save = NULL, out[256];
	const char *why = NULL, *e;
	size_t	 n = 0;

	for (tok = strtok_r(copy, " ,\t", &save); tok != NULL && why == NULL;
	    tok = strtok_r(NULL, " ,\t", &save))
		if ((e = valid_domain_norm(tok, out, sizeof(out))) != NULL) {
			snprintf(buf, len, "%s: %s", tok, e);
			why = buf;
		} else if (++n > MAX_DOMAINS) {
			snprintf(buf, len, "more than %d names", MAX_DOMAINS);
			why = buf;
		}
	if (why == NULL && n == 0) {
		snprintf(buf, len, "at least one domain name is needed");
		why = buf;
	}
	free(copy);
	return why;
}

static const char *
check_ca(const char *v, char *buf, size_t len)
{
	const char	*why;
	char		 known[256];

	if ((why = preset_retired(v)) != NULL)
		snprintf(buf, len, "%s", why);
	else if (preset_find(v) == NULL)
		snprintf(buf, len, "no CA preset called \"%.64s\" (there are: "
		    "%s)", v, preset_names(known, sizeof(known)));
	else
		return NULL;
	return buf;
}

static const char *
check_email(const char *v, char *buf, size_t len)
{
	if (*v == '\0')
		return NULL;	/* no contact: allowed */
	if (strchr(v, '@') == NULL || strpbrk(v, " \t\"\\:<>") != NULL ||
	    check_text(v, buf, len) != NULL) {
		snprintf(buf, len, "not an e-mail address: \"%.64s\"", v);
		return buf;
	}
	return NULL;
}

static const char *
check_challenge(const char *v, char *buf, size_t len)
{
	if (strcmp(v, "http-01") == 0 || strcmp(v, "dns-01") == 0 ||
	    strcmp(v, "tls-alpn-01") == 0)
		return NULL;
	snprintf(buf, len, "one of http-01, dns-01, tls-alpn-01");
	return buf;
}

/* An absolute path, or (empty) none where that is allowed. */
static const char *
check_path(const char *v, char *buf, size_t len)
{
	if (*v != '\0' && *v != '/') {
		snprintf(buf, len, "not an absolute path: \"%.64s\"", v);
		return buf;
	}
	return check_text(v, buf, len);
}

/* An absolute path that must be given. */
static const char *
check_abs(const char *v, char *buf, size_t len)
{
	if (*v == '\0') {
		snprintf(buf, len, "an absolute path is needed");
		return buf;
	}
	return check_path(v, buf, len);
}

static const char *
check_reload(const char *v, char *buf, size_t len)
{
	if (strcmp(v, "none") == 0 || (strncmp(v, "unit:", 5) == 0 &&
	    v[5] != '\0' && strpbrk(v, " \t\"\\") == NULL))
		return check_text(v, buf, len);
	snprintf(buf, len, "expected unit:NAME (e.g. unit:nginx.service) or "
	    "none, got \"%.64s\"", v);
	return buf;
}

static const char *
check_name(const char *v, char *buf, size_t len)
{
	if (valid_name(v))
		return NULL;
	snprintf(buf, len, "a name is 1 to %d of A-Z a-z 0-9 . _ -",
	    VALID_NAME_MAX);
	return buf;
}

static const char *
check_kid(const char *v, char *buf, size_t len)
{
	if (*v == '\0') {
		snprintf(buf, len, "the CA requires it");
		return buf;
	}
	return check_text(v, buf, len);
}

/*
 * *dst from its flag (checked), else asked until check takes it, else
 * dflt with --yes. Returns 0, or -1 having said why.
 */
static int
get(const struct init *in, char **dst, const char *flag, const char *dflt,
    checker check, const char *question)
{
	char		 buf[512];
	const char	*why;

	if (*dst != NULL) {
		if ((why = check(*dst, buf, sizeof(buf))) == NULL)
			return 0;
		fprintf(stderr, "renewctl init: %s: %s\n", flag, why);
		return -1;
	}
	if (in->yes) {
		if (dflt != NULL && check(dflt, buf, sizeof(buf)) == NULL) {
			*dst = xstrdup(dflt);
			return 0;
		}
		fprintf(stderr, "renewctl init: %s is needed with --yes\n",
		    flag);
		return -1;
	}
	for (;;) {
		if ((*dst = ask(dflt, "%s", question)) == NULL) {
			fprintf(stderr, "renewctl init: no answer for %s\n",
			    flag);
			return -1;
		}
		if ((why = check(*dst, buf, sizeof(buf))) == NULL)
			return 0;
		printf("  %s\n", why);
		free(*dst);
		*dst = NULL;
	}
}

/* "a b,c" (checked) into in->domains, normalised; the first names the certificate. */
static void
split_domains(struct init *in, const char *v)
{
	char	*copy = xstrdup(v), *tok, *save = NULL, out[256];

	for (tok = strtok_r(copy, " ,\t", &save); tok != NULL &&
	    in->ndomains < MAX_DOMAINS; tok = strtok_r(NULL, " ,\t", &save))
		if (valid_domain_norm(tok, out, sizeof(out)) == NULL)
			in->domains[in->ndomains++] = xstrdup(out);
	free(copy);
}

static int
ask_domains(struct init *in)
{
	char	*list = NULL, buf[512];
	const char *why;
	size_t	 i;

	for (i = 0; i < in->ndomains; i++)
		if ((why = check_domains(in->domains[i], buf, sizeof(buf))) !=
		    NULL) {
			fprintf(stderr, "renewctl init: --domain: %s\n", why);
			return -1;
		}
	if (in->ndomains > 0) {
		/* normalised like the asked ones */
		for (i = 0; i < in->ndomains; i++) {
			list = in->domains[i];
			in->domains[i] = xstrdup(list);
			valid_domain_norm(list, in->domains[i],
			    strlen(list) + 1);
			free(list);
		}
		return 0;
	}
	if (get(in, &list, "--domain", NULL, check_domains, "Domain names "
	    "for the certificate (separated by spaces)") == -1)
		return -1;
	split_domains(in, list);
	free(list);
	return 0;
}

/* The CA and what its preset needs: EAB for most, a contact for any. */
static int
ask_ca(struct init *in)
{
	const struct preset *p;
	char		 q[320], known[256];

	snprintf(q, sizeof(q), "CA (%s)", preset_names(known, sizeof(known)));
	if (get(in, &in->ca, "--ca", "letsencrypt", check_ca, q) == -1)
		return -1;
	p = preset_find(in->ca);
	if (p->eab_required && (get(in, &in->eab_kid, "--eab-kid", NULL,
	    check_kid, "EAB key id (from your CA account)") == -1 ||
	    get(in, &in->eab_key_file, "--eab-key-file", NULL, check_abs,
	    "File holding the EAB HMAC key (absolute path, mode 0600)") == -1))
		return -1;
	return get(in, &in->email, "--email", "", check_email, "Contact "
	    "e-mail for the CA (empty: none)");
}

static int
ask_challenge(struct init *in)
{
	int	wild = in->ndomains > 0 && strncmp(in->domains[0], "*.", 2) == 0;

	if (get(in, &in->challenge, "--challenge", wild ? "dns-01" : "http-01",
	    check_challenge, "Challenge (http-01, dns-01, tls-alpn-01)") == -1)
		return -1;
	if (strcmp(in->challenge, "http-01") == 0)
		return get(in, &in->webroot, "--webroot", "", check_path,
		    "Web server root to put http-01 tokens under (empty: "
		    "renewd listens on port 80 itself)");
	if (strcmp(in->challenge, "dns-01") == 0)
		return get(in, &in->dns_hook, "--dns-hook", NULL, check_abs,
		    "dns-01 hook program (absolute path)");
	return 0;
}

static int
collect(struct init *in)
{
	char	 q[512];
	const char *d;

	if (ask_domains(in) == -1)
		return -1;
	d = in->domains[0];
	if (get(in, &in->name, "--name", strncmp(d, "*.", 2) == 0 ? d + 2 : d,
	    check_name, "Name of the certificate in renewd") == -1 ||
	    ask_ca(in) == -1 || ask_challenge(in) == -1)
		return -1;
	snprintf(q, sizeof(q), "Reload after each renewal: unit:NAME or none "
	    "(found: %s)", in->found[0] != '\0' ? in->found : "no web server");
	return get(in, &in->reload, "--reload", in->dflt_reload, check_reload,
	    q);
}

/* ---- the file ---------------------------------------------------------- */

/* s as a double-quoted YAML scalar (its text has no control characters). */
static void
q(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* The sections before the certificates: solvers, and the CA if it needs one. */
static void
render_top(FILE *f, const struct init *in)
{
	if (in->webroot != NULL && *in->webroot != '\0') {
		fprintf(f, "http01:\n  webroot: ");
		q(f, in->webroot);
		fprintf(f, "\n\n");
	}
	if (strcmp(in->challenge, "dns-01") == 0) {
		fprintf(f, "dns01:\n  hook: [");
		q(f, in->dns_hook);
		fprintf(f, "]\n\n");
	}
	if (strcmp(in->challenge, "tls-alpn-01") == 0)
		fprintf(f, "tlsalpn01:\n  listen: [\"[::]:443\"]\n\n");
	/* a preset needs a "cas" entry only for a contact or EAB */
	if (*in->email == '\0' && in->eab_kid == NULL)
		return;
	fprintf(f, "cas:\n  - name: %s\n    preset: %s\n", in->ca, in->ca);
	if (*in->email != '\0') {
		fprintf(f, "    contact: [\"mailto:");
		fprintf(f, "%s\"]\n", in->email);
	}
	if (in->eab_kid != NULL) {
		fprintf(f, "    eab: { kid: ");
		q(f, in->eab_kid);
		fprintf(f, ", hmac_key_file: ");
		q(f, in->eab_key_file);
		fprintf(f, " }\n");
	}
	fprintf(f, "\n");
}

/* Returns the inventory's text, malloc'd. */
static char *
render(const struct init *in)
{
	char	*text = NULL, day[16];
	size_t	 len = 0, i;
	time_t	 now = time(NULL);
	FILE	*f;

	if ((f = open_memstream(&text, &len)) == NULL)
		abort();	/* out of memory, as xmalloc would */
	strftime(day, sizeof(day), "%Y-%m-%d", gmtime(&now));
	fprintf(f, "# renewd inventory, written by renewctl init on %s.\n"
	    "# The reference is renewd.yaml(5); check changes with "
	    "\"renewctl check-config\".\n\n", day);
	render_top(f, in);
	fprintf(f, "certificates:\n  - name: %s\n    domains: [", in->name);
	for (i = 0; i < in->ndomains; i++) {
		fprintf(f, "%s", i > 0 ? ", " : "");
		q(f, in->domains[i]);
	}
	fprintf(f, "]\n    ca: %s\n", in->ca);
	if (strcmp(in->challenge, "http-01") != 0)
		fprintf(f, "    challenge: %s\n", in->challenge);
	if (strncmp(in->reload, "unit:", 5) == 0) {
		fprintf(f, "    reload: [ { unit: ");
		q(f, in->reload + 5);
		fprintf(f, " } ]\n");
	}
	fclose(f);
	return text;
}

static void
print_errors(struct conf_errors *errs)
{
	size_t	i;

	for (i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", errs->msg[i]);
	conf_errors_clear(errs);
}

/*
 * Parses text, writes it (never over an existing file without --force),
 * then checks the file as check-config does. Returns an exit status.
 */
static int
write_inventory(const struct init *in, const char *text)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf	*conf;
	char		*dir = xstrdup(in->path), *slash;
	size_t		 len = strlen(text);
	int		 rc;

	if ((conf = conf_parse(in->path, text, len, &errs)) == NULL) {
		print_errors(&errs);
		fprintf(stderr, "renewctl init: nothing written\n");
		free(dir);
		return EX_USAGE;
	}
	conf_free(conf);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		fsutil_mkdir_p(dir, 0755);
	}
	free(dir);
	rc = in->force ? fsutil_write_atomic(in->path, text, len, 0644) :
	    fsutil_write_new(in->path, text, len, 0644);
	if (rc == -1) {
		fprintf(stderr, "renewctl init: cannot write %s: %s%s\n",
		    in->path, strerror(errno), errno == EEXIST ? " (--force "
		    "replaces it)" : "");
		return EX_USAGE;
	}
	if ((conf = conf_load(in->path, &errs)) == NULL) {
		print_errors(&errs);
		fprintf(stderr, "renewctl init: wrote %s, but check-config "
		    "refuses it: see above\n", in->path);
		return EX_USAGE;
	}
	printf("%s: written; valid: %zu certificates, %zu CAs\n", in->path,
	    conf->ncerts, conf->ncas);
	conf_free(conf);
	return EX_OK;
}

/* ---- the dry run at the end -------------------------------------------- */

/* renewd beside this renewctl (a build tree), else the installed one. */
static void
renewd_path(char *buf, size_t len)
{
	char	 self[PATH_MAX], *slash;
	ssize_t	 n;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			snprintf(buf, len, "%s/renewd", self);
			if (access(buf, X_OK) == 0)
				return;
		}
	}
	snprintf(buf, len, "%s/renewd", SBINDIR);
}

/* renewd --once --dry-run -c path; returns its exit status. */
static int
run_dry(const char *path)
{
	char	 prog[PATH_MAX + 16];
	char	*argv[] = { prog, "--once", "--dry-run", "-c", (char *)path,
	    NULL };
	pid_t	 pid;
	int	 st, rc;

	renewd_path(prog, sizeof(prog));
	fflush(stdout);
	if ((rc = posix_spawn(&pid, prog, NULL, NULL, argv, environ)) != 0) {
		fprintf(stderr, "renewctl init: cannot run %s: %s\n", prog,
		    strerror(rc));
		return 1;
	}
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* Offers (or with --dry-run runs) a renewal at the CA's staging twin. */
static int
offer_dry_run(const struct init *in)
{
	const struct preset *p = preset_find(in->ca);
	char	*a;
	int	 yes;

	if (p->staging == NULL) {
		printf("%s has no staging CA, so no dry run can try it first.\n",
		    p->title);
		return EX_OK;
	}
	yes = in->dry_run;
	if (!yes && !in->yes) {
		a = ask("n", "Try a renewal at %s's staging CA now, installing "
		    "nothing (renewd --once --dry-run)? y/n", p->title);
		yes = a != NULL && (a[0] == 'y' || a[0] == 'Y');
		free(a);
	}
	if (!yes) {
		printf("Next: try it at the staging CA with \"renewd --once "
		    "--dry-run -c %s\", then start renewd.\n", in->path);
		return EX_OK;
	}
	return run_dry(in->path);
}

/* ---- the command ------------------------------------------------------- */

/* The flags into in; returns -1 to go on, else the exit status. */
static int
parse_flags(struct init *in, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "ca", required_argument, NULL, 'a' },
		{ "email", required_argument, NULL, 'e' },
		{ "challenge", required_argument, NULL, 'C' },
		{ "webroot", required_argument, NULL, 'w' },
		{ "dns-hook", required_argument, NULL, 'H' },
		{ "eab-kid", required_argument, NULL, 'k' },
		{ "eab-key-file", required_argument, NULL, 'K' },
		{ "reload", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "yes", no_argument, NULL, 'y' },
		{ "force", no_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char	**dst;
	int	  ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		dst = ch == 'n' ? &in->name : ch == 'a' ? &in->ca : ch == 'e' ?
		    &in->email : ch == 'C' ? &in->challenge : ch == 'w' ?
		    &in->webroot : ch == 'H' ? &in->dns_hook : ch == 'k' ?
		    &in->eab_kid : ch == 'K' ? &in->eab_key_file : ch == 'r' ?
		    &in->reload : NULL;
		if (dst != NULL) {
			free(*dst);
			*dst = xstrdup(optarg);
		} else if (ch == 'd' && in->ndomains < MAX_DOMAINS)
			in->domains[in->ndomains++] = xstrdup(optarg);
		else if (ch == 'o')
			in->path = optarg;
		else if (ch == 'y' || ch == 'f' || ch == 'D')
			*(ch == 'y' ? &in->yes : ch == 'f' ? &in->force :
			    &in->dry_run) = 1;
		else {
			usage_init(ch == 'h' ? stdout : stderr);
			return ch == 'h' ? EX_OK : EX_USAGE;
		}
	}
	if (optind != argc) {
		usage_init(stderr);
		return EX_USAGE;
	}
	return -1;
}

static void
init_clear(struct init *in)
{
	size_t	i;

	for (i = 0; i < in->ndomains; i++)
		free(in->domains[i]);
	free(in->name);
	free(in->ca);
	free(in->email);
	free(in->challenge);
	free(in->webroot);
	free(in->dns_hook);
	free(in->reload);
	free(in->eab_kid);
	free(in->eab_key_file);
}

int
renewctl_init(int argc, char **argv, const char *path)
{
	struct init	 in;
	char		*text = NULL;
	int		 ex;

	memset(&in, 0, sizeof(in));
	in.path = path;
	if ((ex = parse_flags(&in, argc, argv)) != -1)
		goto out;
	ex = EX_USAGE;
	/* before any question: an answer given for nothing wastes time */
	if (!in.force && access(in.path, F_OK) == 0) {
		fprintf(stderr, "renewctl init: %s exists; it is kept (--force "
		    "replaces it)\n", in.path);
		goto out;
	}
	detect_servers(&in);
	if (!in.yes)
		printf("A first inventory for renewd, written to %s.\n",
		    in.path);
	if (collect(&in) == -1)
		goto out;
	text = render(&in);
	if (!in.yes)
		printf("\n%s\n", text);
	if ((ex = write_inventory(&in, text)) == EX_OK)
		ex = offer_dry_run(&in);
out:
	free(text);
	init_clear(&in);
	return ex;
}
