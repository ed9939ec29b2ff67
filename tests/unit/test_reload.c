/* test_reload.c - shared reload targets: merged, debounced, one run at a time */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "conf.h"
#include "log.h"
#include "reload.h"

struct client {
	struct reload_client rc;
	struct conf_cert cfg;
	char		 name[16];
	int		 calls, ok;
	char		 msg[512];
	double		 at;		/* seconds after the start */
	struct conf_reload *again;	/* asked for once more from done */
	struct reloader	*rl;
};

static struct event_base *base;
static double	 t0;
static int	 pending;
static char	 runs_file[64];

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
done(struct reload_client *rc, int ok, const char *msg)
{
	struct client	*c = (struct client *)(void *)rc;

	c->calls++;
	c->ok = ok;
	c->at = now_s() - t0;
	snprintf(c->msg, sizeof(c->msg), "%s", msg);
	if (c->again != NULL) {
		struct conf_reload *r = c->again;

		c->again = NULL;
		pending++;
		reload_request(c->rl, r, rc, 0, 60);
	}
	if (--pending == 0)
		event_base_loopbreak(base);
}

static void
client_init(struct client *c, int i)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "c%d", i);
	c->cfg.name = c->name;
	c->rc.cfg = &c->cfg;
	c->rc.done = done;
}

/* An exec entry running /bin/sh -c script. */
static void
exec_entry(struct conf_reload *r, char **argv, const char *script)
{
	memset(r, 0, sizeof(*r));
	r->kind = RELOAD_EXEC;
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = (char *)script;
	argv[3] = NULL;
	r->argv.v = argv;
	r->argv.n = 3;
	r->timeout = 10;
}

static int
count_runs(void)
{
	FILE	*f = fopen(runs_file, "r");
	int	 n = 0, ch;

	if (f == NULL)
		return 0;
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

static void
setup_run(void)
{
	base = event_base_new();
	snprintf(runs_file, sizeof(runs_file), "/tmp/renewd-reload.%ld", (long)getpid());
	unlink(runs_file);
	t0 = now_s();
	pending = 0;
}

static void
teardown_run(struct reloader *rl)
{
	reloader_free(rl);
	event_base_free(base);
	unlink(runs_file);
}

static void
test_merged_into_one_run(void **state)
{
	struct client	 c[5];
	struct conf_reload r;
	struct reloader	*rl;
	char		*argv[4], script[256];
	int		 i;

	(void)state;
	setup_run();
	snprintf(script, sizeof(script), "echo \"$RENEWD_CERT_NAMES\" >>%s",
	    runs_file);
	exec_entry(&r, argv, script);
	rl = reloader_new(base, "/nonexistent");
	for (i = 0; i < 5; i++) {
		client_init(&c[i], i);
		pending++;
		reload_request(rl, &r, &c[i].rc, 1, 60);
	}
	event_base_dispatch(base);
	assert_int_equal(count_runs(), 1);
	for (i = 0; i < 5; i++) {
		assert_int_equal(c[i].calls, 1);
		assert_true(c[i].ok);
		/* delay 1 s after the last request, not before */
		assert_true(c[i].at >= 0.9);
	}
	teardown_run(rl);
}

static void
test_max_delay_caps_a_stream_of_requests(void **state)
{
	struct client	 a, b;
	struct conf_reload r;
	struct reloader	*rl;
	char		*argv[4], script[256];

	(void)state;
	setup_run();
	snprintf(script, sizeof(script), "echo run >>%s", runs_file);
	exec_entry(&r, argv, script);
	rl = reloader_new(base, "/nonexistent");
	client_init(&a, 1);
	client_init(&b, 2);
	pending = 2;
	/* a wants 1 s of quiet but at most 1 s overall; b wants 30 s */
	reload_request(rl, &r, &a.rc, 1, 1);
	reload_request(rl, &r, &b.rc, 30, 60);
	event_base_dispatch(base);
	assert_int_equal(count_runs(), 1);
	assert_true(a.at < 5 && b.at < 5);
	teardown_run(rl);
}

static void
test_request_during_a_run_runs_once_more_after(void **state)
{
	struct client	 a, b;
	struct conf_reload r;
	struct reloader	*rl;
	char		*argv[4], script[256];

	(void)state;
	setup_run();
	/* each run writes "start" and "end": no two runs may overlap */
	snprintf(script, sizeof(script), "echo start >>%s; sleep 0.3; echo end >>%s",
	    runs_file, runs_file);
	exec_entry(&r, argv, script);
	rl = reloader_new(base, "/nonexistent");
	client_init(&a, 1);
	client_init(&b, 2);
	a.again = &r;		/* asks again when its run ends... */
	a.rl = rl;
	pending = 1;
	reload_request(rl, &r, &a.rc, 0, 60);
	event_base_loop(base, EVLOOP_ONCE);	/* the run starts */
	pending++;
	reload_request(rl, &r, &b.rc, 0, 60);	/* ...b asks while it runs */
	event_base_dispatch(base);
	assert_int_equal(a.calls, 2);
	assert_int_equal(b.calls, 1);
	/* two runs, one after the other: start end start end */
	assert_int_equal(count_runs(), 4);
	{
		FILE	*f = fopen(runs_file, "r");
		char	 buf[64] = "";
		size_t	 n = fread(buf, 1, sizeof(buf) - 1, f);

		fclose(f);
		buf[n] = '\0';
		assert_string_equal(buf, "start\nend\nstart\nend\n");
	}
	teardown_run(rl);
}

static void
test_failure_reaches_every_client(void **state)
{
	struct client	 c[3];
	struct conf_reload r;
	struct reloader	*rl;
	char		*argv[4];
	int		 i;

	(void)state;
	setup_run();
	exec_entry(&r, argv, "echo broken config >&2; exit 3");
	rl = reloader_new(base, "/nonexistent");
	for (i = 0; i < 3; i++) {
		client_init(&c[i], i);
		pending++;
		reload_request(rl, &r, &c[i].rc, 0, 60);
	}
	event_base_dispatch(base);
	for (i = 0; i < 3; i++) {
		assert_int_equal(c[i].calls, 1);
		assert_false(c[i].ok);
		assert_non_null(strstr(c[i].msg, "exited with status 3"));
		assert_non_null(strstr(c[i].msg, "broken config"));
	}
	teardown_run(rl);
}

static void
test_cancelled_client_hears_nothing(void **state)
{
	struct client	 a, b;
	struct conf_reload r;
	struct reloader	*rl;
	char		*argv[4], script[256];

	(void)state;
	setup_run();
	snprintf(script, sizeof(script), "echo \"$RENEWD_CERT_NAMES\" >>%s",
	    runs_file);
	exec_entry(&r, argv, script);
	rl = reloader_new(base, "/nonexistent");
	client_init(&a, 1);
	client_init(&b, 2);
	pending = 1;
	reload_request(rl, &r, &a.rc, 0, 60);
	reload_request(rl, &r, &b.rc, 0, 60);
	reload_cancel(rl, &b.rc);
	event_base_dispatch(base);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 0);
	{
		FILE	*f = fopen(runs_file, "r");
		char	 buf[64] = "";
		size_t	 n = fread(buf, 1, sizeof(buf) - 1, f);

		fclose(f);
		buf[n] = '\0';
		/* the run was only for a */
		assert_string_equal(buf, "c1\n");
	}
	teardown_run(rl);
}

static void
test_different_entries_are_different_targets(void **state)
{
	struct client	 a, b;
	struct conf_reload r1, r2;
	struct reloader	*rl;
	char		*argv1[4], *argv2[4], s1[256], s2[256];

	(void)state;
	setup_run();
	snprintf(s1, sizeof(s1), "echo one >>%s", runs_file);
	snprintf(s2, sizeof(s2), "echo two >>%s", runs_file);
	exec_entry(&r1, argv1, s1);
	exec_entry(&r2, argv2, s2);
	rl = reloader_new(base, "/nonexistent");
	client_init(&a, 1);
	client_init(&b, 2);
	pending = 2;
	reload_request(rl, &r1, &a.rc, 0, 60);
	reload_request(rl, &r2, &b.rc, 0, 60);
	event_base_dispatch(base);
	assert_int_equal(count_runs(), 2);
	teardown_run(rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merged_into_one_run),
		cmocka_unit_test(test_max_delay_caps_a_stream_of_requests),
		cmocka_unit_test(test_request_during_a_run_runs_once_more_after),
		cmocka_unit_test(test_failure_reaches_every_client),
		cmocka_unit_test(test_cancelled_client_hears_nothing),
		cmocka_unit_test(test_different_entries_are_different_targets),
	};

	log_init(LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
