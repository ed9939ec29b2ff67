/* test_challenge_dns_hook.c - the dns-01 hook solver: contract, failures, order, bounds */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "acme_solver.h"
#include "challenge_dns_hook.h"
#include "log.h"

/* The hook's calls, one line each: "start|end ACTION NAME VALUE ENV...". */
#define HOOK \
	"echo \"start $1 $2 $3 $RENEWD_DNS_ACTION $RENEWD_DNS_NAME " \
	"$RENEWD_DNS_VALUE $RENEWD_DOMAIN $RENEWD_CERT_NAME\" >>\"$LOG\"; " \
	"case $2 in *fail*) [ $1 = add ] && { echo boom >&2; exit 3; } ;; " \
	"*hang*) [ $1 = add ] && exec sleep 30 ;; esac; " \
	"sleep \"${SLOW:-0}\"; echo \"end $1 $2 $3\" >>\"$LOG\"; exit 0"

struct t {
	struct event_base	*base;
	struct chall_dns_hook	*h;
	struct acme_solver	 s;
	char			 log[256], script[1024];
	int			 dones, errors, pending;
	char			 error[1024];
};

static void
done_cb(void *ctx, const char *error)
{
	struct t *t = ctx;

	t->dones++;
	if (error != NULL) {
		t->errors++;
		snprintf(t->error, sizeof(t->error), "%s", error);
	}
	if (--t->pending == 0)
		event_base_loopbreak(t->base);
}

static struct t *
setup(long timeout_ms, const char *slow)
{
	struct t	*t = calloc(1, sizeof(*t));
	const char	*dir = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	char		*argv[] = { "/bin/sh", "-c", t->script, "hook" };
	struct chall_dns_hook_opts o = { argv, 4, timeout_ms, 0, 200,
	    { 0, 0, NULL, 0, NULL, 0 } };

	assert_non_null(t);
	log_init(getenv("TEST_DEBUG") != NULL ? LOG_LVL_DEBUG : 0);
	snprintf(t->log, sizeof(t->log), "%s/dnshook.%d.log", dir, (int)getpid());
	unlink(t->log);
	snprintf(t->script, sizeof(t->script), "LOG='%s' SLOW=%s; %s", t->log,
	    slow, HOOK);
	assert_non_null(t->base = event_base_new());
	assert_non_null(t->h = chall_dns_hook_new(t->base, &o));
	chall_dns_hook_solver(t->h, &t->s);
	return t;
}

static void
teardown(struct t *t)
{
	chall_dns_hook_free(t->h);
	event_base_free(t->base);
	unlink(t->log);
	free(t);
}

static void
challenge(struct acme_challenge *c, const char *domain, const char *digest)
{
	memset(c, 0, sizeof(*c));
	c->type = "dns-01";
	c->id_type = "dns";
	c->id_value = domain;
	c->token = "tok";
	c->keyauth = "tok.thumb";
	c->digest = digest;
	c->cert = "www";
}

static void
run(struct t *t)
{
	struct timeval tv = { 10, 0 };

	event_base_loopexit(t->base, &tv);
	event_base_dispatch(t->base);
}

/* Returns how many lines of the hook log start with prefix. */
static int
count(struct t *t, const char *prefix)
{
	FILE	*f = fopen(t->log, "r");
	char	 line[1024];
	int	 n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strncmp(line, prefix, strlen(prefix)) == 0;
	fclose(f);
	return n;
}

/* Runs the loop until n lines of the hook log start with prefix. */
static void
drain(struct t *t, const char *prefix, int n)
{
	struct timeval	tv = { 0, 20000 };
	int		i;

	for (i = 0; i < 500 && count(t, prefix) < n; i++) {
		event_base_loopexit(t->base, &tv);
		event_base_dispatch(t->base);
	}
}

/* Runs the loop until no record is left (every del has been reaped). */
static void
settle(struct t *t)
{
	struct timeval	tv = { 0, 20000 };
	int		i;

	for (i = 0; i < 250 && chall_dns_hook_count(t->h) > 0; i++) {
		event_base_loopexit(t->base, &tv);
		event_base_dispatch(t->base);
	}
}

static void
test_add_then_del_with_argv_and_environment(void **state)
{
	struct t		*t = setup(5000, "0");
	struct acme_challenge	 c;

	assert_int_equal(t->s.can(t->s.arg, "dns", "a.example"), 1);
	assert_int_equal(t->s.can(t->s.arg, "ip", "192.0.2.1"), 0);
	challenge(&c, "a.example", "digestA");
	t->pending = 1;
	/* never answered from inside publish */
	assert_int_equal(t->s.publish(t->s.arg, &c, done_cb, t), 1);
	assert_int_equal(t->dones, 0);
	run(t);
	assert_int_equal(t->dones, 1);
	assert_int_equal(t->errors, 0);
	assert_int_equal(count(t, "start add _acme-challenge.a.example digestA "
	    "add _acme-challenge.a.example digestA a.example www"), 1);
	assert_int_equal(chall_dns_hook_count(t->h), 1);
	/* shutdown: the del owed runs before the solver goes */
	t->s.withdraw(t->s.arg, &c);
	assert_int_equal(chall_dns_hook_drain(t->h), 0);
	assert_int_equal(count(t, "end del _acme-challenge.a.example digestA"), 1);
	assert_int_equal(chall_dns_hook_count(t->h), 0);
	assert_int_equal(chall_dns_hook_drain(t->h), 0);
	teardown(t);
}

/* An add that fails as want says; its del runs all the same. */
static void
failed_add(long timeout_ms, const char *domain, const char *want)
{
	struct t		*t = setup(timeout_ms, "0");
	struct acme_challenge	 c;
	char			 del[128];

	challenge(&c, domain, "digestF");
	t->pending = 1;
	assert_int_equal(t->s.publish(t->s.arg, &c, done_cb, t), 1);
	run(t);
	assert_int_equal(t->errors, 1);
	assert_string_equal(t->error, want);
	t->s.withdraw(t->s.arg, &c);
	drain(t, "end del", 1);
	snprintf(del, sizeof(del), "end del _acme-challenge.%s digestF", domain);
	assert_int_equal(count(t, del), 1);
	teardown(t);
}

static void
test_failed_add_names_the_record_and_still_deletes(void **state)
{
	failed_add(5000, "fail.example", "dns-01 hook add "
	    "_acme-challenge.fail.example for www: exited 3: \"boom\"");
}

static void
test_hanging_add_is_killed_at_its_timeout(void **state)
{
	failed_add(300, "hang.example", "dns-01 hook add "
	    "_acme-challenge.hang.example for www: killed at its 300ms timeout");
}

/* Checks the log: at most max runs at once, none overlapping for one name. */
static void
check_overlap(struct t *t, int max)
{
	FILE	*f = fopen(t->log, "r");
	char	 line[1024], what[8], act[8], name[256], busy[64][256];
	int	 nbusy = 0, i, peak = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		assert_int_equal(sscanf(line, "%7s %7s %255s", what, act, name), 3);
		if (strcmp(what, "start") == 0) {
			for (i = 0; i < nbusy; i++)
				assert_string_not_equal(busy[i], name);
			assert_true(nbusy < 64);
			snprintf(busy[nbusy++], sizeof(busy[0]), "%s", name);
			peak = nbusy > peak ? nbusy : peak;
			continue;
		}
		for (i = 0; i < nbusy && strcmp(busy[i], name) != 0; i++)
			;
		assert_true(i < nbusy);
		memmove(busy[i], busy[i + 1], (size_t)(nbusy - i - 1) *
		    sizeof(busy[0]));
		nbusy--;
	}
	fclose(f);
	assert_true(peak <= max);
	assert_true(peak > 1);
}

static void
test_runs_are_bounded_and_serial_per_name(void **state)
{
	struct t		*t = setup(5000, "0.1");
	struct acme_challenge	 c[12];
	char			 dom[12][32], dig[12][16];
	int			 i;

	/* a wildcard and its base name share _acme-challenge.w.example */
	for (i = 0; i < 12; i++) {
		snprintf(dom[i], sizeof(dom[i]), i < 2 ? "w.example" :
		    "n%d.example", i);
		snprintf(dig[i], sizeof(dig[i]), "digest%d", i);
		challenge(&c[i], dom[i], dig[i]);
		assert_int_equal(t->s.publish(t->s.arg, &c[i], done_cb, t), 1);
	}
	t->pending = 12;
	run(t);
	assert_int_equal(t->dones, 12);
	assert_int_equal(t->errors, 0);
	for (i = 0; i < 12; i++)
		t->s.withdraw(t->s.arg, &c[i]);
	drain(t, "end del", 12);
	assert_int_equal(count(t, "end add"), 12);
	assert_int_equal(count(t, "end del"), 12);
	check_overlap(t, CHALL_DNS_MAX_RUNNING);
	teardown(t);
}

static void
test_withdraw_before_and_during_the_add(void **state)
{
	struct t		*t = setup(5000, "0.3");
	struct acme_challenge	 c[10];
	char			 dom[10][32];
	struct timeval		 tv = { 0, 100000 };
	int			 i;

	for (i = 0; i < 10; i++) {
		snprintf(dom[i], sizeof(dom[i]), "q%d.example", i);
		challenge(&c[i], dom[i], "digestQ");
		assert_int_equal(t->s.publish(t->s.arg, &c[i], done_cb, t), 1);
	}
	/* 8 adds run, 2 wait; then every publish is abandoned */
	event_base_loopexit(t->base, &tv);
	event_base_dispatch(t->base);
	assert_int_equal(count(t, "start add"), CHALL_DNS_MAX_RUNNING);
	for (i = 0; i < 10; i++)
		t->s.withdraw(t->s.arg, &c[i]);
	drain(t, "end del", CHALL_DNS_MAX_RUNNING);
	settle(t);
	/* a del for every add that ran, none for those that never started */
	assert_int_equal(count(t, "end add"), CHALL_DNS_MAX_RUNNING);
	assert_int_equal(count(t, "end del"), CHALL_DNS_MAX_RUNNING);
	assert_int_equal(count(t, "start add _acme-challenge.q9.example"), 0);
	/* and abandoned publishes are never answered */
	assert_int_equal(t->dones, 0);
	assert_int_equal(chall_dns_hook_count(t->h), 0);
	teardown(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_then_del_with_argv_and_environment),
		cmocka_unit_test(test_failed_add_names_the_record_and_still_deletes),
		cmocka_unit_test(test_hanging_add_is_killed_at_its_timeout),
		cmocka_unit_test(test_runs_are_bounded_and_serial_per_name),
		cmocka_unit_test(test_withdraw_before_and_during_the_add),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
