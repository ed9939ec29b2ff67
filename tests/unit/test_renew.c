/* test_renew.c - the lifecycle of certificates, with a fake ACME client */
#include "config.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

/*
 * chrony's trick: the module itself, so the tests see its states and
 * counters. The real conf, crypto, store and worker modules are linked;
 * only the ACME client is replaced, by the fake below that the tests
 * drive by hand.
 */
#include "renew.c"

#define DAY	86400

/* ---- the fake ACME client ------------------------------------------------ */

struct acme_ca {
	char		*name;
	char		*directory;
};

struct acme_order {
	struct acme_ca		*ca;
	acme_order_cb		 cb;
	void			*arg;
	const struct crypto_key	*key;
	acme_order_url_cb	 on_url;
	int			 held;		/* acme_order_hold, not released */
	char			 san[512];	/* "DNS:a,DNS:b": copied, as acme.c copies req */
};

#define MAX_ORDERS	8

static struct {
	int			 ca_new, ca_free, ca_update, started, cancelled;
	int			 max_orders;	/* as the last update gave it */
	struct acme_order	*active[MAX_ORDERS];
	size_t			 nactive;
	struct acme_failure	 fail;		/* what the next failure means */
} fake;

struct acme_ca *
acme_ca_new(const struct acme_env *env, const struct conf_ca *cfg)
{
	struct acme_ca *ca = xcalloc(1, sizeof(*ca));

	ca->name = xstrdup(cfg->name);
	ca->directory = xstrdup(cfg->directory);
	fake.ca_new++;
	return ca;
}

void
acme_ca_update(struct acme_ca *ca, const struct conf_ca *cfg)
{
	assert_string_equal(ca->directory, cfg->directory);
	fake.ca_update++;
	fake.max_orders = cfg->max_concurrent_orders;
}

void
acme_ca_free(struct acme_ca *ca)
{
	size_t i;

	if (ca == NULL)
		return;
	/* renew.c abandons a CA's orders before it frees the CA */
	for (i = 0; i < fake.nactive; i++)
		assert_ptr_not_equal(fake.active[i]->ca, ca);
	fake.ca_free++;
	free(ca->name);
	free(ca->directory);
	free(ca);
}

struct acme_order *
acme_order_start(struct acme_ca *ca, const struct acme_order_req *req,
    acme_order_cb cb, void *arg)
{
	struct acme_order	*o;
	size_t			 i, off = 0;

	assert_true(fake.nactive < MAX_ORDERS);
	o = xcalloc(1, sizeof(*o));
	o->ca = ca;
	o->cb = cb;
	o->arg = arg;
	o->key = req->key;
	o->on_url = req->on_url;
	for (i = 0; i < req->ndomains; i++)
		off += (size_t)snprintf(o->san + off, sizeof(o->san) - off,
		    "%sDNS:%s", i > 0 ? "," : "", req->domains[i]);
	fake.active[fake.nactive++] = o;
	fake.started++;
	return o;
}

static void
fake_forget(struct acme_order *o)
{
	size_t i;

	for (i = 0; i < fake.nactive; i++)
		if (fake.active[i] == o) {
			fake.active[i] = fake.active[--fake.nactive];
			return;
		}
	fail_msg("order %p is not active", (void *)o);
}

/* Profiles are checked against a directory: this fake CA has none. */
void
acme_ca_want_profile(struct acme_ca *ca, const char *cert_name,
    const char *profile)
{
}

void
acme_ca_check_profiles(struct acme_ca *ca)
{
}

/* This fake CA offers no renewal information (ARI runs in t_ari.sh). */
int
acme_ca_has_ari(const struct acme_ca *ca)
{
	return 0;
}

struct acme_ari_fetch *
acme_ari_fetch(struct acme_ca *ca, const char *cert_name, const char *cert_id,
    acme_ari_cb cb, void *arg)
{
	fail_msg("ARI fetched from a CA that offers none");
	return NULL;
}

void
acme_ari_cancel(struct acme_ari_fetch *f)
{
	assert_null(f);
}

/* which chain the CA hands back is the stand-in's business: nothing to do */
void
acme_order_prefer_chain(struct acme_order *o, const char *issuer)
{
	(void)o;
	(void)issuer;
}

/* Revocations run against Pebble (t_revoke.sh), never here. */
struct acme_revoke *
acme_revoke_start(struct acme_ca *ca, const char *cert_name,
    const char *cert_b64url, int reason, struct crypto_key *cert_key,
    acme_revoke_cb cb, void *arg)
{
	fail_msg("a revocation started in the unit tests");
	return NULL;
}

/* Account operations run against Pebble (t_account.sh), never here. */
struct acme_acct_req *
acme_account_start(struct acme_ca *ca, enum acme_acct_op op,
    char *const *contact, size_t ncontact, acme_account_cb cb, void *arg)
{
	fail_msg("an account operation started in the unit tests");
	return NULL;
}

void
acme_order_cancel(struct acme_order *o)
{
	fake_forget(o);
	fake.cancelled++;
	free(o);
}

void
acme_order_hold(struct acme_order *o)
{
	o->held = 1;
}

void
acme_order_release(struct acme_order *o)
{
	o->held = 0;
}

/* The CA answers o: with an error, or with pem as the chain. */
static void
fake_finish(struct acme_order *o, const char *pem, const char *error)
{
	acme_order_cb	 cb = o->cb;
	void		*arg = o->arg;
	struct managed	*m = arg;	/* renew.c's orders are its certificates' */

	fake_forget(o);
	free(o);
	cb(arg, pem, pem != NULL ? strlen(pem) : 0, error, error != NULL ?
	    &fake.fail : NULL);
	/* an install's writes run on a worker: its result comes on the loop */
	while (pem != NULL && m->install != NULL)
		event_base_loop(m->r->env.base, EVLOOP_ONCE);
}

/* ---- certificates the fake CA issues -------------------------------------- */

static EVP_PKEY *
evp_of(const struct crypto_key *k)
{
	char		*pem = crypto_key_to_pem(k, NULL);
	BIO		*b;
	EVP_PKEY	*p;

	assert_non_null(pem);
	b = BIO_new_mem_buf(pem, -1);
	p = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	assert_non_null(p);
	BIO_free(b);
	xfree_secret_str(pem);
	return p;
}

/* The fake CA's issuer, made once: renew.c refuses self-signed leaves. */
static EVP_PKEY	*ca_key;
static X509	*ca_cert;

static void
ca_make(void)
{
	X509_EXTENSION	*ext;
	X509V3_CTX	 ctx;

	if (ca_cert != NULL)
		return;
	assert_non_null(ca_key = EVP_EC_gen("P-256"));
	assert_non_null(ca_cert = X509_new());
	assert_true(X509_set_version(ca_cert, 2));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(ca_cert), 1));
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(ca_cert), -86400));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(ca_cert), 3650L * 86400));
	assert_true(X509_NAME_add_entry_by_txt(X509_get_subject_name(ca_cert),
	    "CN", MBSTRING_ASC, (const unsigned char *)"renew test CA", -1, -1, 0));
	assert_true(X509_set_issuer_name(ca_cert, X509_get_subject_name(ca_cert)));
	assert_true(X509_set_pubkey(ca_cert, ca_key));
	X509V3_set_ctx(&ctx, ca_cert, ca_cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
	assert_non_null(ext);
	assert_true(X509_add_ext(ca_cert, ext, -1));
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(ca_cert, ca_key, EVP_sha256()) > 0);
}

/* Returns a malloc'd PEM chain: a leaf for key's public key, then its CA. */
static char *
make_cert(EVP_PKEY *key, const char *san, time_t nb, time_t na)
{
	static unsigned	 serial = 0x1000;
	X509		*x = X509_new();
	X509_EXTENSION	*ext;
	X509V3_CTX	 ctx;
	BIO		*bio;
	char		*data, *s;
	long		 n;

	assert_non_null(x);
	assert_true(X509_set_version(x, 2));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), (long)serial++));
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), nb));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), na));
	assert_true(X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"renew test", -1, -1, 0));
	ca_make();
	assert_true(X509_set_issuer_name(x, X509_get_subject_name(ca_cert)));
	assert_true(X509_set_pubkey(x, key));
	X509V3_set_ctx(&ctx, ca_cert, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	assert_non_null(ext);
	assert_true(X509_add_ext(x, ext, -1));
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
	bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_X509(bio, x));
	assert_true(PEM_write_bio_X509(bio, ca_cert));
	n = BIO_get_mem_data(bio, &data);
	s = xstrndup(data, (size_t)n);
	BIO_free(bio);
	X509_free(x);
	return s;
}

/* The CA issues what o asked for: valid from an hour ago for days days. */
static void
fake_issue(struct acme_order *o, long days)
{
	EVP_PKEY	*key = evp_of(o->key);
	time_t		 now = time(NULL);
	char		*pem;

	pem = make_cert(key, o->san, now - 3600, now + days * DAY);
	EVP_PKEY_free(key);
	fake_finish(o, pem, NULL);
	free(pem);
}

/* ---- the fixture ----------------------------------------------------------- */

struct gate {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 open;
};

struct fx {
	char			 dir[64];
	char			*state_dir;
	struct event_base	*base;
	struct event		*tick;
	struct store		*store;
	struct worker_pool	*workers;
	struct renewer		*r;
	int			 idle_calls;
	struct gate		 gate;
	struct conf		**confs;	/* every inventory applied: renewers */
	size_t			 nconfs;	/* borrow them (renew.h) */
};

static void
on_idle(void *arg)
{
	struct fx *fx = arg;

	fx->idle_calls++;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

static struct renewer *
fx_renewer(struct fx *fx, int once)
{
	struct renew_env env;

	memset(&env, 0, sizeof(env));
	env.base = fx->base;
	env.store = fx->store;
	env.workers = fx->workers;
	env.once = once;
	return renewer_new(&env, on_idle, fx);
}

static int
setup(void **state)
{
	struct fx	*fx = xcalloc(1, sizeof(*fx));
	struct timeval	 tv = { 0, 10000 };
	char		 err[256];

	memset(&fake, 0, sizeof(fake));
	strcpy(fx->dir, "/tmp/test_renew.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->state_dir = xasprintf("%s/state", fx->dir);
	fx->base = event_base_new();
	/* keeps EVLOOP_ONCE from blocking while the test waits for something */
	fx->tick = event_new(fx->base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(fx->tick, &tv);
	fx->store = store_open(fx->state_dir, err, sizeof(err));
	assert_non_null(fx->store);
	fx->workers = worker_pool_new(fx->base, 1);
	assert_non_null(fx->workers);
	fx->r = fx_renewer(fx, 0);
	pthread_mutex_init(&fx->gate.mu, NULL);
	pthread_cond_init(&fx->gate.cv, NULL);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;
	char		*cmd;
	int		 rc;

	/* the order main.c keeps: threads first, then the renewer */
	worker_pool_free(fx->workers);
	renewer_free(fx->r);
	while (fx->nconfs > 0)
		conf_free(fx->confs[--fx->nconfs]);
	free(fx->confs);
	store_close(fx->store);
	event_free(fx->tick);
	event_base_free(fx->base);
	cmd = xasprintf("rm -rf %s", fx->dir);
	rc = system(cmd);
	free(cmd);
	free(fx->state_dir);
	pthread_cond_destroy(&fx->gate.cv);
	pthread_mutex_destroy(&fx->gate.mu);
	free(fx);
	/* last, so that a failure leaves nothing behind */
	assert_int_equal(rc, 0);
	assert_int_equal(fake.nactive, 0);
	assert_int_equal(fake.ca_new, fake.ca_free);
	return 0;
}

/* Applies an inventory (state_dir, two CAs, then the certificates given) to r. */
static void
apply_to(struct fx *fx, struct renewer *r, const char *first_dir,
    const char *certs)
{
	struct conf_errors	 errs = { 0 };
	struct conf		*conf;
	char			*yaml;

	yaml = xasprintf("state_dir: %s\n"
	    "cas:\n"
	    "  - name: first\n"
	    "    directory: %s\n"
	    "  - name: second\n"
	    "    directory: https://second.test/dir\n"
	    "defaults:\n"
	    "  ca: [first]\n"
	    "certificates:%s\n", fx->state_dir, first_dir,
	    certs != NULL ? certs : " []");
	conf = conf_parse("test.yaml", yaml, strlen(yaml), &errs);
	if (conf == NULL)
		fail_msg("%s", errs.n > 0 ? errs.msg[0] : "conf_parse failed");
	renewer_apply(r, conf);
	/* renew.h: conf is borrowed; teardown frees it after the renewers */
	fx->confs = xreallocarray(fx->confs, fx->nconfs + 1, sizeof(*fx->confs));
	fx->confs[fx->nconfs++] = conf;
	free(yaml);
}

#define FIRST	"https://first.test/dir"
#define WWW	"\n  - name: www\n    domains: [www.example.com, example.com]\n"
#define WWW_2CA	WWW "    ca: [first, second]\n"
#define API	"\n  - name: api\n    domains: [api.example.com]\n"

static void
apply(struct fx *fx, const char *certs)
{
	apply_to(fx, fx->r, FIRST, certs);
}

static double
since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Runs the loop until cond holds; fails after 10 s. */
#define RUN_UNTIL(fx, cond) do {					\
	struct timespec t0_;						\
									\
	clock_gettime(CLOCK_MONOTONIC, &t0_);				\
	while (!(cond)) {						\
		if (since(&t0_) > 10)					\
			fail_msg("timed out waiting for %s", #cond);	\
		event_base_loop((fx)->base, EVLOOP_ONCE);		\
	}								\
} while (0)

/* Runs whatever is active now (the idle event, timers due now). */
static void
run_pending(struct fx *fx)
{
	event_base_loop(fx->base, EVLOOP_NONBLOCK);
}

static struct managed *
find(struct fx *fx, const char *name)
{
	struct managed *m = cert_find(fx->r, name);

	assert_non_null(m);
	return m;
}

/* The one source of truth holds: r->busy counts the certificates not IDLE. */
static void
assert_busy_counted(struct renewer *r)
{
	struct managed	*m;
	size_t		 n = 0;

	TAILQ_FOREACH(m, &r->certs, entry)
		if (m->state != MANAGED_IDLE)
			n++;
	assert_int_equal(r->busy, n);
}

/* The single worker thread waits behind this until gate_open. */
static void
gate_work(void *arg)
{
	struct gate *g = arg;

	pthread_mutex_lock(&g->mu);
	while (!g->open)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

static void
gate_close(struct fx *fx)
{
	fx->gate.open = 0;
	assert_int_equal(worker_submit(fx->workers, gate_work, NULL,
	    &fx->gate), 0);
}

static void
gate_open(struct fx *fx)
{
	pthread_mutex_lock(&fx->gate.mu);
	fx->gate.open = 1;
	pthread_cond_broadcast(&fx->gate.cv);
	pthread_mutex_unlock(&fx->gate.mu);
}

/* ---- the lifecycle --------------------------------------------------------- */

static void
new_certificate_goes_due_keygen_order_idle(void **state)
{
	struct fx		*fx = *state;
	struct managed		*m;
	struct renew_stats	 st;
	time_t			 nb, na, latest;
	char			*key_pem, *pem;

	gate_close(fx);
	apply(fx, WWW);
	m = find(fx, "www");
	assert_int_equal(m->state, MANAGED_DUE);
	assert_int_equal(fx->r->busy, 1);
	RUN_UNTIL(fx, m->state == MANAGED_KEYGEN);
	assert_busy_counted(fx->r);
	assert_non_null(m->job);
	assert_int_equal(fake.started, 0);
	gate_open(fx);
	RUN_UNTIL(fx, m->state == MANAGED_ORDER);
	assert_busy_counted(fx->r);
	assert_int_equal(fake.nactive, 1);
	assert_string_equal(fake.active[0]->ca->name, "first");
	assert_string_equal(fake.active[0]->san,
	    "DNS:www.example.com,DNS:example.com");
	renewer_stats(fx->r, &st);
	assert_int_equal(st.busy, 1);
	assert_int_equal(fx->idle_calls, 0);

	nb = time(NULL) - 3600;
	na = time(NULL) + 90 * DAY;
	fake_issue(fake.active[0], 90);
	assert_int_equal(m->state, MANAGED_IDLE);
	assert_busy_counted(fx->r);
	assert_int_equal(fx->r->busy, 0);
	assert_true(m->live_valid);
	assert_null(m->new_key);
	assert_int_equal(m->failures, 0);
	/* due when a third of the lifetime remains, jitter at most a day earlier */
	latest = na - (na - nb) / 3;
	assert_true(m->tn.when <= latest + 1);
	assert_true(m->tn.when >= latest - DAY - 1);
	assert_int_equal(store_cert_load(fx->store, "www", &key_pem, &pem), 1);
	xfree_secret_str(key_pem);
	free(pem);
	renewer_stats(fx->r, &st);
	assert_int_equal(st.certs, 1);
	assert_int_equal(st.valid, 1);
	assert_int_equal(st.busy, 0);
	assert_int_equal(st.issued, 1);
	assert_int_equal(st.next, m->tn.when);
	run_pending(fx);
	assert_int_equal(fx->idle_calls, 1);
}

/*
 * schedule.json's order URL on disk now, or NULL (malloc'd); its failure
 * count into *failures if not NULL.
 */
static char *
saved_order_url(struct fx *fx, unsigned *failures)
{
	struct sched_state	 s;
	char			 err[256], *url;

	memset(&s, 0, sizeof(s));
	assert_int_not_equal(store_sched_load(fx->state_dir, "www", &s, err,
	    sizeof(err)), -1);
	url = s.order_url != NULL ? xstrdup(s.order_url) : NULL;
	if (failures != NULL)
		*failures = s.failures;
	sched_state_clear(&s);
	return url;
}

static void
the_order_url_is_on_disk_before_finalize(void **state)
{
	struct fx		*fx = *state;
	struct managed		*m;
	struct acme_order	*o;
	const char		*url = "https://first.test/order/7";
	char			*on_disk;
	unsigned		 failures;
	int			 held, deferred;

	apply(fx, WWW);
	m = find(fx, "www");
	RUN_UNTIL(fx, m->state == MANAGED_ORDER);
	o = fake.active[0];
	assert_non_null(o->on_url);
	gate_close(fx);		/* the worker cannot write it yet */
	alarm(20);		/* a loop that waits for the worker: fail */
	o->on_url(o->arg, url);
	held = o->held;		/* so finalize waits */
	on_disk = saved_order_url(fx, NULL);
	/* the loop's own write meanwhile comes after the job's, not before */
	sv_w(m)->failures = 3;
	saved_store(m);
	deferred = m->sched_deferred;
	gate_open(fx);		/* before asserting: teardown joins the worker */
	alarm(0);
	assert_true(held);
	assert_null(on_disk);
	assert_true(deferred);
	RUN_UNTIL(fx, !o->held);
	assert_non_null(on_disk = saved_order_url(fx, &failures));
	assert_string_equal(on_disk, url);
	assert_int_equal(failures, 3);
	assert_false(m->sched_deferred);
	free(on_disk);
	sv_w(m)->failures = 0;
	/* the install's job forgets it on disk, after the pending key */
	fake_issue(o, 90);
	assert_int_equal(m->state, MANAGED_IDLE);
	assert_null(on_disk = saved_order_url(fx, NULL));
	assert_null(m->saved);
	assert_int_equal(store_pending_key_load(fx->store, "www") == NULL, 1);
}

static void
valid_live_certificate_is_only_scheduled(void **state)
{
	struct fx	*fx = *state;
	struct renewer	*again;
	struct managed	*m;

	apply(fx, WWW);
	RUN_UNTIL(fx, fake.nactive == 1);
	fake_issue(fake.active[0], 90);
	run_pending(fx);
	/* a second renewer on the same state directory finds it valid */
	again = fx_renewer(fx, 0);
	apply_to(fx, again, FIRST, WWW);
	m = cert_find(again, "www");
	assert_int_equal(m->state, MANAGED_DUE);
	RUN_UNTIL(fx, m->state != MANAGED_DUE);
	assert_int_equal(m->state, MANAGED_IDLE);
	assert_true(m->live_valid);
	assert_true(m->tn.when > time(NULL) + 50 * DAY);
	assert_int_equal(fake.started, 1);
	assert_busy_counted(again);
	renewer_free(again);
}

static void
failure_tries_the_next_ca_then_backs_off(void **state)
{
	struct fx		*fx = *state;
	struct managed		*m;
	struct renew_stats	 st;
	time_t			 delay;

	apply(fx, WWW_2CA);
	m = find(fx, "www");
	RUN_UNTIL(fx, fake.nactive == 1);
	assert_string_equal(fake.active[0]->ca->name, "first");
	fake_finish(fake.active[0], NULL, "boom");
	/* straight on to the next CA, with the same key */
	assert_int_equal(m->state, MANAGED_ORDER);
	assert_int_equal(m->ca_index, 1);
	assert_int_equal(fake.nactive, 1);
	assert_string_equal(fake.active[0]->ca->name, "second");
	assert_ptr_equal(fake.active[0]->key, m->new_key);
	run_pending(fx);
	assert_int_equal(fx->idle_calls, 0);

	fake_finish(fake.active[0], NULL, "boom again");
	assert_int_equal(m->state, MANAGED_IDLE);
	assert_busy_counted(fx->r);
	assert_int_equal(m->failures, 1);
	assert_null(m->new_key);
	assert_false(m->live_valid);
	/* sched_backoff(1): a minute, +-10 % */
	delay = m->tn.when - time(NULL);
	assert_true(delay >= 54 - 1 && delay <= 66);
	assert_true(theap_queued(&m->tn));
	renewer_stats(fx->r, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.busy, 0);
	run_pending(fx);
	assert_int_equal(fx->idle_calls, 1);
	assert_int_equal(fake.started, 2);
}

static void
a_bad_chain_counts_as_a_failure(void **state)
{
	struct fx	*fx = *state;
	struct managed	*m;
	EVP_PKEY	*other;
	char		*pem, *key_pem, *live;
	time_t		 now = time(NULL);

	apply(fx, WWW);
	m = find(fx, "www");
	/* not a certificate at all */
	RUN_UNTIL(fx, fake.nactive == 1);
	fake_finish(fake.active[0], "<html>busy</html>", NULL);
	assert_int_equal(m->failures, 1);
	assert_int_equal(m->state, MANAGED_IDLE);
	/* the backoff is remembered: a check now waits it out */
	assert_true(SV(m)->retry_at > now);
	schedule(m, 0);
	event_base_loop(fx->base, EVLOOP_NONBLOCK);
	assert_int_equal(fake.nactive, 0);
	assert_int_equal(m->state, MANAGED_IDLE);
	assert_int_equal(m->tn.when, SV(m)->retry_at);
	/* a certificate for another key */
	sv_w(m)->retry_at = 0;
	schedule(m, 0);
	RUN_UNTIL(fx, fake.nactive == 1);
	other = EVP_EC_gen("P-256");
	pem = make_cert(other, fake.active[0]->san, now - 60, now + DAY);
	fake_finish(fake.active[0], pem, NULL);
	free(pem);
	EVP_PKEY_free(other);
	assert_int_equal(m->failures, 2);
	/* one that misses a domain */
	sv_w(m)->retry_at = 0;
	schedule(m, 0);
	RUN_UNTIL(fx, fake.nactive == 1);
	other = evp_of(fake.active[0]->key);
	pem = make_cert(other, "DNS:www.example.com", now - 60, now + DAY);
	fake_finish(fake.active[0], pem, NULL);
	free(pem);
	EVP_PKEY_free(other);
	assert_int_equal(m->failures, 3);
	assert_false(m->live_valid);
	assert_int_equal(fx->r->issued, 0);
	assert_int_equal(store_cert_load(fx->store, "www", &key_pem, &live), 0);
	assert_busy_counted(fx->r);
}

/* A certificate renew.c refuses is the CA's failure: the next CA, then backoff. */
static void
a_refused_certificate_tries_the_next_ca(void **state)
{
	struct fx	*fx = *state;
	struct managed	*m;
	EVP_PKEY	*key;
	char		*pem, *key_pem, *live;
	time_t		 now = time(NULL);

	apply(fx, WWW_2CA);
	m = find(fx, "www");
	RUN_UNTIL(fx, fake.nactive == 1);
	assert_string_equal(fake.active[0]->ca->name, "first");
	/* expired yesterday: for the right key and names, still refused */
	key = evp_of(fake.active[0]->key);
	pem = make_cert(key, fake.active[0]->san, now - 30 * DAY, now - DAY);
	fake_finish(fake.active[0], pem, NULL);
	free(pem);
	assert_int_equal(m->state, MANAGED_ORDER);
	assert_int_equal(m->ca_index, 1);
	assert_string_equal(fake.active[0]->ca->name, "second");
	/* more names than ordered: refused too */
	pem = make_cert(key, "DNS:www.example.com,DNS:example.com,"
	    "DNS:extra.example.com", now - 60, now + 90 * DAY);
	fake_finish(fake.active[0], pem, NULL);
	free(pem);
	EVP_PKEY_free(key);
	assert_int_equal(m->state, MANAGED_IDLE);
	assert_int_equal(m->failures, 1);
	assert_true(theap_queued(&m->tn));
	assert_true(m->tn.when - now >= 54 - 1);
	assert_int_equal(fx->r->issued, 0);
	assert_int_equal(store_cert_load(fx->store, "www", &key_pem, &live), 0);
	assert_busy_counted(fx->r);
}

static void
once_mode_neither_retries_nor_schedules(void **state)
{
	struct fx	*fx = *state;
	struct managed	*m;

	renewer_free(fx->r);
	fx->r = fx_renewer(fx, 1);
	apply(fx, WWW API);
	RUN_UNTIL(fx, fake.nactive == 2);
	fake_finish(fake.active[0], NULL, "boom");
	fake_issue(fake.active[0], 90);
	run_pending(fx);
	assert_int_equal(fx->idle_calls, 1);
	TAILQ_FOREACH(m, &fx->r->certs, entry) {
		assert_int_equal(m->state, MANAGED_IDLE);
		assert_int_equal(m->tn.when, 0);
		assert_false(theap_queued(&m->tn));
	}
	assert_int_equal(fake.started, 2);
}

static void
removal_during_an_order_cancels_it(void **state)
{
	struct fx *fx = *state;

	apply(fx, WWW API);
	RUN_UNTIL(fx, fake.nactive == 2);
	apply(fx, API);
	assert_int_equal(fake.cancelled, 1);
	assert_int_equal(fake.nactive, 1);
	assert_null(cert_find(fx->r, "www"));
	assert_busy_counted(fx->r);
	run_pending(fx);
	assert_int_equal(fx->idle_calls, 0);	/* api still orders */
	apply(fx, NULL);
	assert_int_equal(fake.cancelled, 2);
	assert_int_equal(fx->r->busy, 0);
	run_pending(fx);
	assert_int_equal(fx->idle_calls, 1);
}

static void
removal_during_key_generation_orphans_the_key(void **state)
{
	struct fx *fx = *state;

	gate_close(fx);
	apply(fx, WWW);
	RUN_UNTIL(fx, find(fx, "www")->state == MANAGED_KEYGEN);
	apply(fx, NULL);
	assert_int_equal(fx->r->busy, 0);
	assert_false(TAILQ_EMPTY(&fx->r->jobs));
	gate_open(fx);
	/* keygen_done frees the orphaned job and its key; no order starts */
	RUN_UNTIL(fx, TAILQ_EMPTY(&fx->r->jobs));
	assert_int_equal(fake.started, 0);
	assert_int_equal(fx->idle_calls, 1);
}

static void
changed_settings_restart_an_order(void **state)
{
	struct fx	*fx = *state;
	struct managed	*m;

	apply(fx, WWW);
	m = find(fx, "www");
	RUN_UNTIL(fx, fake.nactive == 1);
	/* same order, new renew_before: the order goes on */
	apply(fx, WWW "    renew_before: 20d\n");
	assert_int_equal(fake.cancelled, 0);
	assert_int_equal(m->state, MANAGED_ORDER);
	/* another domain: abandoned and checked again */
	apply(fx, "\n  - name: www\n    domains: [www.example.com]\n");
	assert_int_equal(fake.cancelled, 1);
	assert_int_equal(m->state, MANAGED_DUE);
	assert_null(m->new_key);
	assert_busy_counted(fx->r);
	RUN_UNTIL(fx, fake.nactive == 1);
	assert_string_equal(fake.active[0]->san, "DNS:www.example.com");
	fake_issue(fake.active[0], 90);
	assert_true(m->live_valid);
}

static void
apply_keeps_ca_clients_whose_settings_are_unchanged(void **state)
{
	struct fx	*fx = *state;
	struct acme_ca	*first, *second;

	apply(fx, WWW);
	assert_int_equal(fake.ca_new, 2);
	first = ca_slot_find(fx->r, "first")->ca;
	second = ca_slot_find(fx->r, "second")->ca;
	apply(fx, WWW API);
	assert_int_equal(fake.ca_new, 2);
	assert_int_equal(fake.ca_free, 0);
	assert_ptr_equal(ca_slot_find(fx->r, "first")->ca, first);
	assert_ptr_equal(ca_slot_find(fx->r, "second")->ca, second);
	apply_to(fx, fx->r, "https://first.test/v2/dir", WWW API);
	assert_int_equal(fake.ca_new, 3);
	assert_int_equal(fake.ca_free, 1);
	assert_string_equal(ca_slot_find(fx->r, "first")->ca->directory,
	    "https://first.test/v2/dir");
	assert_ptr_equal(ca_slot_find(fx->r, "second")->ca, second);
}

static void
a_changed_ca_abandons_its_orders_and_retries_failures(void **state)
{
	struct fx	*fx = *state;
	struct managed	*www, *api;

	apply(fx, WWW API);
	www = find(fx, "www");
	api = find(fx, "api");
	RUN_UNTIL(fx, fake.nactive == 2);
	/* api fails and waits a minute; www is ordering */
	fake_finish(fake.active[0]->arg == api ? fake.active[0] :
	    fake.active[1], NULL, "boom");
	assert_int_equal(api->failures, 1);
	assert_true(api->tn.when > time(NULL) + 30);
	apply_to(fx, fx->r, "https://first.test/v2/dir", WWW API);
	assert_int_equal(fake.cancelled, 1);
	assert_int_equal(fake.nactive, 0);
	assert_int_equal(www->state, MANAGED_DUE);
	assert_int_equal(api->state, MANAGED_DUE);
	assert_true(api->tn.when <= time(NULL));
	assert_busy_counted(fx->r);
	RUN_UNTIL(fx, fake.nactive == 2);
	assert_string_equal(fake.active[0]->ca->directory,
	    "https://first.test/v2/dir");
}

/* the order limit and contact change no order: the live client takes them */
static void
a_ca_limit_or_contact_change_keeps_orders(void **state)
{
	struct fx	*fx = *state;
	struct acme_ca	*first;

	apply(fx, WWW API);
	RUN_UNTIL(fx, fake.nactive == 2);
	first = ca_slot_find(fx->r, "first")->ca;
	apply_to(fx, fx->r, FIRST "\n    max_concurrent_orders: 3", WWW API);
	apply_to(fx, fx->r, FIRST "\n    max_concurrent_orders: 3\n"
	    "    contact: [\"mailto:b@example.com\"]", WWW API);
	assert_int_equal(fake.ca_update, 2);
	assert_int_equal(fake.max_orders, 3);
	assert_int_equal(fake.cancelled, 0);
	assert_int_equal(fake.nactive, 2);
	assert_int_equal(fake.ca_new, 2);
	assert_int_equal(fake.ca_free, 0);
	assert_ptr_equal(ca_slot_find(fx->r, "first")->ca, first);
	assert_int_equal(ca_slot_find(fx->r, "first")->cfg->max_concurrent_orders,
	    3);
	/* unchanged again: no update */
	apply_to(fx, fx->r, FIRST "\n    max_concurrent_orders: 3\n"
	    "    contact: [\"mailto:b@example.com\"]", WWW API);
	assert_int_equal(fake.ca_update, 2);
	assert_int_equal(fake.nactive, 2);
}

/* timers are monotonic; a wall-clock step re-arms them from wall time */
static void
a_wall_clock_step_re_evaluates_every_schedule(void **state)
{
	struct fx	*fx = *state;
	struct managed	*www;

	apply(fx, WWW);
	RUN_UNTIL(fx, fake.nactive == 1);
	fake_issue(fake.active[0], 90);
	run_pending(fx);
	www = find(fx, "www");
	assert_int_equal(www->state, MANAGED_IDLE);
	assert_true(www->tn.when > time(NULL) + DAY);
	/* the wall clock has passed the due date, the monotonic timer not */
	theap_set(&fx->r->timers, &www->tn, time(NULL) - 10);
	clock_check(fx->r);		/* no step seen: nothing moves */
	assert_int_equal(www->state, MANAGED_IDLE);
	assert_true(fx->r->timer_at > time(NULL) + DAY);
	fx->r->wall -= 3600;		/* the wall clock moved 1 h more */
	clock_check(fx->r);
	/* re-armed for the wall-clock deadline, which has passed */
	assert_int_equal(fx->r->timer_at, www->tn.when);
	RUN_UNTIL(fx, www->state == MANAGED_DUE);
	/* checked again at once: the certificate says when it is due */
	RUN_UNTIL(fx, www->state == MANAGED_IDLE);
	assert_true(www->tn.when > time(NULL) + DAY);
	assert_int_equal(fake.nactive, 0);
}

static void
idle_fires_only_when_nothing_is_busy(void **state)
{
	struct fx *fx = *state;

	apply(fx, WWW API);
	run_pending(fx);
	RUN_UNTIL(fx, fake.nactive == 2);
	assert_int_equal(fx->idle_calls, 0);
	fake_issue(fake.active[0], 90);
	run_pending(fx);
	assert_int_equal(fx->idle_calls, 0);
	assert_int_equal(fx->r->busy, 1);
	fake_issue(fake.active[0], 90);
	assert_int_equal(fx->r->busy, 0);
	run_pending(fx);
	run_pending(fx);
	assert_int_equal(fx->idle_calls, 1);
	/* a reload that changes nothing makes no work: idle again, once */
	apply(fx, WWW API);
	run_pending(fx);
	assert_int_equal(fx->idle_calls, 2);
}


/* Fails o as the CA would with a failure of class cls. */
static void
fake_fail(struct acme_order *o, enum acme_fail_class cls, const char *error)
{
	memset(&fake.fail, 0, sizeof(fake.fail));
	fake.fail.cls = cls;
	fake_finish(o, NULL, error);
	memset(&fake.fail, 0, sizeof(fake.fail));
}

/* The order of certificate m among the fake's active ones. */
static struct acme_order *
order_of(struct managed *m)
{
	size_t i;

	for (i = 0; i < fake.nactive; i++)
		if (fake.active[i] == m->order)
			return fake.active[i];
	fail_msg("%s has no active order", m->cfg->name);
	return NULL;
}

/* Tries m again now, whatever its backoff says. */
static void
retry_now(struct managed *m)
{
	sv_w(m)->retry_at = 0;
	schedule(m, 0);
}

/* A failed validation would fail at any CA: no switch, backoff here. */
static void
a_domain_failure_does_not_switch_ca(void **state)
{
	struct fx	*fx = *state;
	struct managed	*m;

	apply(fx, WWW_2CA);
	m = find(fx, "www");
	RUN_UNTIL(fx, fake.nactive == 1);
	fake_fail(fake.active[0], ACME_FAIL_DOMAIN, "dns: NXDOMAIN");
	assert_int_equal(fake.nactive, 0);
	assert_int_equal(m->state, MANAGED_IDLE);
	assert_int_equal(m->ca_index, 0);
	assert_int_equal(m->failures, 1);
	assert_int_equal(fake.started, 1);
	assert_false(ca_slot_find(fx->r, "first")->open);
	/* ours (a solver that cannot publish) neither */
	retry_now(m);
	RUN_UNTIL(fx, fake.nactive == 1);
	fake_fail(fake.active[0], ACME_FAIL_LOCAL, "hook failed");
	assert_int_equal(fake.nactive, 0);
	assert_int_equal(m->failures, 2);
	/* the second failure waits on the second rung: about 10 minutes */
	assert_true(m->tn.when - time(NULL) >= 540 - 1);
	assert_true(m->tn.when - time(NULL) <= 660);
}

/* A refusal of the CA's policy moves on, and never trips the breaker. */
static void
a_ca_refusal_switches_ca_without_the_breaker(void **state)
{
	struct fx	*fx = *state;
	struct managed	*m;

	apply(fx, WWW_2CA);
	m = find(fx, "www");
	RUN_UNTIL(fx, fake.nactive == 1);
	fake_fail(fake.active[0], ACME_FAIL_CA, "caa: forbidden");
	assert_int_equal(m->ca_index, 1);
	assert_string_equal(fake.active[0]->ca->name, "second");
	assert_false(ca_slot_find(fx->r, "first")->open);
}

/*
 * A CA that is down: the breaker opens, the certificate moves on; while
 * open only one order (the probe) goes there, and an answer closes it.
 */
static void
the_breaker_lets_one_probe_through(void **state)
{
	struct fx	*fx = *state;
	struct managed	*www, *api;
	struct ca_slot	*first;

	apply(fx, WWW_2CA API "    ca: [first, second]\n");
	www = find(fx, "www");
	api = find(fx, "api");
	first = ca_slot_find(fx->r, "first");
	RUN_UNTIL(fx, fake.nactive == 2);
	fake_fail(order_of(www), ACME_FAIL_UNAVAILABLE, "connection refused");
	assert_true(first->open);
	assert_null(first->probe);
	assert_string_equal(order_of(www)->ca->name, "second");
	/* an order in flight before it opened fails alike, and moves on too */
	fake_fail(order_of(api), ACME_FAIL_UNAVAILABLE, "connection refused");
	assert_true(first->open);
	assert_string_equal(order_of(api)->ca->name, "second");
	fake_fail(order_of(www), ACME_FAIL_DOMAIN, "dns");
	fake_fail(order_of(api), ACME_FAIL_DOMAIN, "dns");
	assert_int_equal(fake.nactive, 0);
	/* the next attempt of www probes the first CA ... */
	retry_now(www);
	RUN_UNTIL(fx, fake.nactive == 1);
	assert_string_equal(order_of(www)->ca->name, "first");
	assert_ptr_equal(first->probe, www);
	/* ... so api's goes straight to the second */
	retry_now(api);
	RUN_UNTIL(fx, fake.nactive == 2);
	assert_string_equal(order_of(api)->ca->name, "second");
	/* the probe fails for unavailability: still open, no probe */
	fake_fail(order_of(www), ACME_FAIL_UNAVAILABLE, "timeout");
	assert_true(first->open);
	assert_null(first->probe);
	assert_string_equal(order_of(www)->ca->name, "second");
	fake_fail(order_of(www), ACME_FAIL_DOMAIN, "dns");
	/* the next probe gets an answer: closed */
	retry_now(www);
	RUN_UNTIL(fx, fake.nactive == 2);
	assert_ptr_equal(first->probe, www);
	fake_fail(order_of(www), ACME_FAIL_CA, "caa");
	assert_false(first->open);
	assert_null(first->probe);
	assert_null(www->probing);
}

/*
 * With the only CA's breaker open and probed, other certificates back off
 * without ordering; when it closes they try again within a minute.
 */
static void
a_closed_breaker_wakes_who_it_kept_waiting(void **state)
{
	struct fx	*fx = *state;
	struct managed	*www, *api;
	struct ca_slot	*first;
	time_t		 now;

	apply(fx, WWW API);
	www = find(fx, "www");
	api = find(fx, "api");
	first = ca_slot_find(fx->r, "first");
	RUN_UNTIL(fx, fake.nactive == 2);
	fake_fail(order_of(www), ACME_FAIL_UNAVAILABLE, "connection refused");
	fake_fail(order_of(api), ACME_FAIL_UNAVAILABLE, "connection refused");
	assert_true(first->open);
	retry_now(www);
	RUN_UNTIL(fx, fake.nactive == 1);
	assert_ptr_equal(first->probe, www);
	/* api may not order: it waits on the second rung, 10 minutes */
	retry_now(api);
	RUN_UNTIL(fx, api->state == MANAGED_IDLE && api->failures == 2);
	assert_int_equal(fake.nactive, 1);
	assert_true(api->breaker_wait);
	assert_true(api->tn.when >= time(NULL) + 500);
	/* the probe succeeds: api is due within a minute */
	now = time(NULL);
	fake_issue(order_of(www), 90);
	assert_false(first->open);
	assert_false(api->breaker_wait);
	assert_true(api->tn.when >= now + 1 && api->tn.when <= now + 62);
}

/* A rate limit on the certificate holds it at that CA until the deadline. */
static void
a_certificate_rate_limit_holds_it_at_that_ca(void **state)
{
	struct fx	*fx = *state;
	struct managed	*m, *m2;
	struct renewer	*again;
	time_t		 now = time(NULL);

	apply(fx, WWW_2CA);
	m = find(fx, "www");
	RUN_UNTIL(fx, fake.nactive == 1);
	memset(&fake.fail, 0, sizeof(fake.fail));
	fake.fail.cls = ACME_FAIL_RATE_LIMITED;
	fake.fail.scope = ACME_SCOPE_CERT;
	fake.fail.until = now + 3600;
	fake_finish(fake.active[0], NULL, "rateLimited");
	assert_string_equal(fake.active[0]->ca->name, "second");
	assert_int_equal(m->held[0], now + 3600);
	/* schedule.json keeps it, naming the CA */
	assert_int_equal(SV(m)->hold_until, now + 3600);
	assert_string_equal(SV(m)->hold_reason, "rateLimited at CA first");
	/* limited at the second too, for longer: wait for the first to free */
	fake.fail.until = now + 7200;
	fake_finish(fake.active[0], NULL, "rateLimited");
	memset(&fake.fail, 0, sizeof(fake.fail));
	assert_int_equal(m->state, MANAGED_IDLE);
	assert_true(m->tn.when >= now + 3600 && m->tn.when <= now + 3610);
	/* before then, a new attempt orders nowhere */
	schedule(m, 0);
	RUN_UNTIL(fx, m->state == MANAGED_IDLE && m->new_key == NULL &&
	    m->tn.when > now + 60);
	assert_int_equal(fake.started, 2);
	/* a restart remembers the last hold (at the second CA) and the backoff */
	again = fx_renewer(fx, 0);
	apply_to(fx, again, FIRST, WWW_2CA);
	m2 = cert_find(again, "www");
	RUN_UNTIL(fx, m2->state == MANAGED_IDLE);
	assert_non_null(m2->held);
	assert_int_equal(m2->held[0], 0);
	assert_int_equal(m2->held[1], now + 7200);
	assert_true(m2->tn.when >= now + 3600 && m2->tn.when <= now + 3610);
	assert_int_equal(fake.started, 2);
	renewer_free(again);
	/* a change of the certificate forgets the limits */
	apply(fx, WWW "    ca: [first, second]\n    key: ecdsa-p384\n");
	assert_null(m->held);
	assert_int_equal(m->failures, 0);
	assert_int_equal(SV(m)->hold_until, 0);
}

/* ---- renewer_renew_now: the control socket's renew ---------------------- */

struct outcome {
	int	 calls;
	char	 result[16];
	char	 serial[64];
	char	 error[256];
};

static void
outcome_cb(void *arg, const struct renew_outcome *o)
{
	struct outcome *out = arg;

	out->calls++;
	snprintf(out->result, sizeof(out->result), "%s", o->result);
	snprintf(out->serial, sizeof(out->serial), "%s", o->serial != NULL ?
	    o->serial : "");
	snprintf(out->error, sizeof(out->error), "%s", o->error != NULL ?
	    o->error : "");
}

/* Issues www once and returns it valid and idle. */
static struct managed *
www_issued(struct fx *fx)
{
	struct managed *m;

	apply(fx, WWW_2CA);
	m = find(fx, "www");
	RUN_UNTIL(fx, fake.nactive == 1);
	fake_issue(fake.active[0], 90);
	run_pending(fx);
	assert_int_equal(m->state, MANAGED_IDLE);
	assert_true(m->live_valid);
	return m;
}

static void
renew_now_force_issues_and_reports_the_serial(void **state)
{
	struct fx	*fx = *state;
	struct outcome	 out = { 0 };
	struct managed	*m = www_issued(fx);
	char		 old[64], now_live[64];

	assert_int_equal(livecheck_serial(fx->state_dir, "www", old,
	    sizeof(old)), 0);
	assert_int_equal(renewer_renew_now(fx->r, "nosuch", 1, outcome_cb,
	    &out, NULL), -1);
	assert_int_equal(renewer_renew_now(fx->r, "www", 1, outcome_cb, &out,
	    NULL), 0);
	assert_int_equal(m->state, MANAGED_DUE);
	RUN_UNTIL(fx, fake.nactive == 1);
	assert_int_equal(out.calls, 0);		/* not while it orders */
	fake_issue(fake.active[0], 90);
	assert_int_equal(out.calls, 1);
	assert_string_equal(out.result, RENEW_OUTCOME_ISSUED);
	assert_int_equal(livecheck_serial(fx->state_dir, "www", now_live,
	    sizeof(now_live)), 0);
	assert_string_equal(out.serial, now_live);
	assert_string_not_equal(out.serial, old);
	assert_int_equal(fake.started, 2);
	/* without force, a valid certificate: checked, nothing ordered */
	assert_int_equal(renewer_renew_now(fx->r, "www", 0, outcome_cb, &out,
	    NULL), 0);
	RUN_UNTIL(fx, out.calls == 2);
	assert_string_equal(out.result, RENEW_OUTCOME_VALID);
	assert_int_equal(fake.started, 2);
	assert_busy_counted(fx->r);
}

static void
renew_now_reports_a_failure_after_every_ca(void **state)
{
	struct fx	*fx = *state;
	struct outcome	 out = { 0 };
	struct managed	*m = www_issued(fx);

	assert_int_equal(renewer_renew_now(fx->r, "www", 1, outcome_cb, &out,
	    NULL), 0);
	RUN_UNTIL(fx, fake.nactive == 1);
	fake_finish(fake.active[0], NULL, "boom");
	/* the next CA is still a chance: no outcome yet */
	assert_int_equal(out.calls, 0);
	assert_int_equal(fake.nactive, 1);
	fake_finish(fake.active[0], NULL, "boom again");
	assert_int_equal(out.calls, 1);
	assert_string_equal(out.result, RENEW_OUTCOME_FAILED);
	assert_string_equal(out.error, "boom again");
	assert_int_equal(m->failures, 1);
	/* asked again during the backoff: due now, not at its end */
	assert_true(m->tn.when > time(NULL) + 30);
	assert_int_equal(renewer_renew_now(fx->r, "www", 1, outcome_cb, &out,
	    NULL), 0);
	RUN_UNTIL(fx, fake.nactive == 1);
	fake_issue(fake.active[0], 90);
	assert_int_equal(out.calls, 2);
	assert_string_equal(out.result, RENEW_OUTCOME_ISSUED);
	assert_int_equal(m->failures, 0);
}

static void
renew_now_waiters_can_be_cancelled_or_outlived(void **state)
{
	struct fx		*fx = *state;
	struct outcome		 a = { 0 }, b = { 0 };
	struct renew_waiter	*wa;

	www_issued(fx);
	assert_int_equal(renewer_renew_now(fx->r, "www", 1, outcome_cb, &a,
	    &wa), 0);
	assert_non_null(wa);
	assert_int_equal(renewer_renew_now(fx->r, "www", 1, outcome_cb, &b,
	    NULL), 0);
	RUN_UNTIL(fx, fake.nactive == 1);
	/* a client hung up: its waiter goes, the renewal goes on */
	renewer_renew_cancel(wa);
	/* the certificate leaves the inventory: the other waiter is told */
	apply(fx, API);
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 1);
	assert_string_equal(b.result, RENEW_OUTCOME_FAILED);
	assert_string_equal(b.error, "no longer in the inventory");
	RUN_UNTIL(fx, fake.nactive == 1);
	fake_finish(fake.active[0], NULL, "api: not this time");
	/* no-wait: nothing to tell */
	assert_int_equal(renewer_renew_now(fx->r, "api", 0, NULL, NULL, &wa),
	    0);
	assert_null(wa);
}

/* Opens the gate a little later, from another thread. */
static void *
gate_open_later(void *arg)
{
	struct fx *fx = arg;

	usleep(100 * 1000);
	gate_open(fx);
	return NULL;
}

/*
 * The shutdown of a test or a caller that frees the pool without
 * renewer_drain: an install still queued is dropped and never runs;
 * renewer_free must not wait for it, and the disk keeps what a crash at
 * that moment would (no live version, pending.key for the resume).
 */
static void
an_install_the_pool_dropped_is_not_waited_for(void **state)
{
	struct fx		*fx = *state;
	struct acme_order	*o;
	struct managed		*m;
	acme_order_cb		 cb;
	EVP_PKEY		*key;
	pthread_t		 opener;
	char			*pem, *k;
	time_t			 now = time(NULL);

	apply(fx, WWW);
	RUN_UNTIL(fx, fake.nactive == 1);
	m = find(fx, "www");
	o = fake.active[0];
	key = evp_of(o->key);
	pem = make_cert(key, o->san, now - 3600, now + 90 * DAY);
	EVP_PKEY_free(key);
	gate_close(fx);		/* the one thread is busy: the install queues */
	cb = o->cb;
	fake_forget(o);
	free(o);
	cb(m, pem, strlen(pem), NULL, NULL);
	free(pem);
	assert_non_null(m->install);
	assert_int_equal(m->state, MANAGED_ORDER);
	/* the pool goes while the gate holds its thread: the install is dropped */
	assert_int_equal(pthread_create(&opener, NULL, gate_open_later, fx), 0);
	worker_pool_free(fx->workers);
	fx->workers = NULL;
	pthread_join(opener, NULL);
	assert_int_equal(m->install->finished, 0);
	renewer_free(fx->r);	/* returns: nothing waits for the dropped job */
	fx->r = NULL;
	assert_int_equal(store_cert_load(fx->store, "www", &k, &pem), 0);
	assert_non_null(k = store_pending_key_load(fx->store, "www"));
	xfree_secret_str(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(new_certificate_goes_due_keygen_order_idle),
		T(the_order_url_is_on_disk_before_finalize),
		T(valid_live_certificate_is_only_scheduled),
		T(failure_tries_the_next_ca_then_backs_off),
		T(a_refused_certificate_tries_the_next_ca),
		T(a_bad_chain_counts_as_a_failure),
		T(once_mode_neither_retries_nor_schedules),
		T(removal_during_an_order_cancels_it),
		T(removal_during_key_generation_orphans_the_key),
		T(changed_settings_restart_an_order),
		T(apply_keeps_ca_clients_whose_settings_are_unchanged),
		T(a_changed_ca_abandons_its_orders_and_retries_failures),
		T(a_ca_limit_or_contact_change_keeps_orders),
		T(a_wall_clock_step_re_evaluates_every_schedule),
		T(idle_fires_only_when_nothing_is_busy),
		T(a_domain_failure_does_not_switch_ca),
		T(a_ca_refusal_switches_ca_without_the_breaker),
		T(the_breaker_lets_one_probe_through),
		T(a_certificate_rate_limit_holds_it_at_that_ca),
		T(a_closed_breaker_wakes_who_it_kept_waiting),
		T(renew_now_force_issues_and_reports_the_serial),
		T(renew_now_reports_a_failure_after_every_ca),
		T(renew_now_waiters_can_be_cancelled_or_outlived),
		T(an_install_the_pool_dropped_is_not_waited_for),
#undef T
	};

	log_init(LOG_LVL_ERR - 1);	/* quiet: the tests assert, not the log */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
