/* test_proc.c - hooks: argv without a shell, bounded output, hygiene, timeouts */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
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

#include "log.h"
#include "proc.h"

struct run {
	struct event_base *base;
	int		 calls;
	int		 exited, status, timed_out, truncated;
	char		 out[70000];
	size_t		 out_len;
};

static void
done_cb(const struct proc_result *res, void *v)
{
	struct run	*r = v;

	r->calls++;
	r->exited = res->exited;
	r->status = res->status;
	r->timed_out = res->timed_out;
	r->truncated = res->truncated;
	r->out_len = res->output_len;
	assert_true(res->output_len < sizeof(r->out));
	memcpy(r->out, res->output, res->output_len + 1);
	assert_int_equal(strlen(res->output), res->output_len);
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs /bin/sh -c script to completion; returns the seconds it took. */
static double
run_sh(struct run *r, const char *script, char *const *env, long timeout_ms,
    size_t max_output)
{
	char		*argv[] = { "/bin/sh", "-c", (char *)script, NULL };
	struct proc_opts o = { argv, env, timeout_ms, 300, max_output };
	char		 err[256];
	double		 t0 = now_s();

	memset(r, 0, sizeof(*r));
	r->base = event_base_new();
	assert_non_null(proc_spawn(r->base, &o, done_cb, r, err, sizeof(err)));
	event_base_dispatch(r->base);
	event_base_free(r->base);
	assert_int_equal(r->calls, 1);
	return now_s() - t0;
}

static void
test_exit_status_and_output(void **state)
{
	struct run	r;

	(void)state;
	run_sh(&r, "echo out; echo err >&2; exit 3", NULL, 0, 0);
	assert_true(r.exited);
	assert_int_equal(r.status, 3);
	assert_false(r.timed_out);
	assert_non_null(strstr(r.out, "out\n"));
	assert_non_null(strstr(r.out, "err\n"));
	run_sh(&r, "exit 0", NULL, 0, 0);
	assert_true(r.exited);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.out_len, 0);
}

static void
test_output_tail_is_bounded(void **state)
{
	struct run	r;

	(void)state;
	/* 40000 'a' then "END": only the last 100 bytes are kept */
	run_sh(&r, "i=0; while [ $i -lt 400 ]; do printf '%0100d' 0; "
	    "i=$((i+1)); done; printf END", NULL, 0, 100);
	assert_int_equal(r.out_len, 100);
	assert_true(r.truncated);
	assert_string_equal(r.out + 97, "END");
	run_sh(&r, "printf short", NULL, 0, 100);
	assert_false(r.truncated);
	assert_string_equal(r.out, "short");
}

static void
test_environment(void **state)
{
	struct run	 r;
	char		*env[] = { "RENEWD_CERT_NAME=www", "HOME=/nowhere", NULL };

	(void)state;
	setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);
	setenv("LISTEN_FDS", "2", 1);
	setenv("LISTEN_PID", "1", 1);
	setenv("LISTEN_FDNAMES", "http", 1);
	setenv("WATCHDOG_USEC", "1000", 1);
	setenv("WATCHDOG_PID", "1", 1);
	setenv("KEEP_ME", "yes", 1);
	run_sh(&r, "env", env, 0, 0);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "RENEWD_CERT_NAME=www\n"));
	assert_non_null(strstr(r.out, "KEEP_ME=yes\n"));
	assert_non_null(strstr(r.out, "HOME=/nowhere\n"));
	assert_null(strstr(r.out, "HOME=/root"));
	assert_null(strstr(r.out, "NOTIFY_SOCKET"));
	assert_null(strstr(r.out, "LISTEN_"));
	assert_null(strstr(r.out, "WATCHDOG_"));
}

static void
test_no_inherited_descriptors(void **state)
{
	struct run	r;
	int		fd;

	(void)state;
	/* an fd without O_CLOEXEC, like a lock or listener carelessly opened */
	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 3);
	run_sh(&r, "ls /proc/self/fd | sort -n | tr '\\n' ' '; "
	    "read x; echo \"stdin=[$x] rc=$?\"", NULL, 0, 0);
	close(fd);
	/* 0-2 and the fd ls itself opens on /proc/self/fd (3) */
	assert_string_equal(r.out, "0 1 2 3 stdin=[] rc=1\n");
}

static void
test_timeout_terms_the_group(void **state)
{
	struct run	r;
	double		t;
	char		path[] = "/tmp/renewd-proc.XXXXXX", cmd[512];
	int		fd;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	close(fd);
	/* the grandchild would write the file after 2 s unless the group dies */
	snprintf(cmd, sizeof(cmd), "(sleep 2; echo alive >%s) & sleep 30", path);
	t = run_sh(&r, cmd, NULL, 200, 0);
	assert_true(t < 5);
	assert_true(r.timed_out);
	assert_false(r.exited);
	assert_int_equal(r.status, SIGTERM);
	sleep(3);
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_size, 0);
	}
	unlink(path);
}

static void
test_timeout_kills_a_term_ignorer(void **state)
{
	struct run	r;
	double		t;

	(void)state;
	t = run_sh(&r, "trap '' TERM; sleep 30 & wait; sleep 30", NULL, 200, 0);
	assert_true(r.timed_out);
	assert_false(r.exited);
	assert_int_equal(r.status, SIGKILL);
	/* 200 ms timeout + 300 ms grace */
	assert_true(t >= 0.45);
	assert_true(t < 5);
}

static void
test_daemonising_grandchild_does_not_hold_completion(void **state)
{
	struct run	r;
	double		t;

	(void)state;
	/* the background sleep keeps the output pipe open for 30 s */
	t = run_sh(&r, "sleep 30 & echo started", NULL, 0, 0);
	assert_true(t < 5);
	assert_true(r.exited);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "started\n");
}

static void
test_spawn_errors(void **state)
{
	struct event_base *base = event_base_new();
	char		*missing[] = { "/nonexistent/hook", NULL };
	char		*relative[] = { "sh", "-c", "true", NULL };
	struct proc_opts o = { missing, NULL, 0, 0, 0 };
	char		 err[256];
	struct run	 r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_null(proc_spawn(base, &o, done_cb, &r, err, sizeof(err)));
	assert_non_null(strstr(err, "execve /nonexistent/hook: No such file"));
	o.argv = relative;
	assert_null(proc_spawn(base, &o, done_cb, &r, err, sizeof(err)));
	assert_non_null(strstr(err, "absolute"));
	event_base_dispatch(base);
	assert_int_equal(r.calls, 0);
	event_base_free(base);
}

static void
test_kill_cancels(void **state)
{
	struct event_base *base = event_base_new();
	char		*argv[] = { "/bin/sleep", "30", NULL };
	struct proc_opts o = { argv, NULL, 0, 0, 0 };
	char		 err[256];
	struct run	 r;
	struct proc	*p;
	int		 pid;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_non_null(p = proc_spawn(base, &o, done_cb, &r, err, sizeof(err)));
	pid = proc_pid(p);
	proc_kill(p);
	proc_kill(NULL);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(r.calls, 0);
	/* reaped: no such process any more */
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status_and_output),
		cmocka_unit_test(test_output_tail_is_bounded),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_no_inherited_descriptors),
		cmocka_unit_test(test_timeout_terms_the_group),
		cmocka_unit_test(test_timeout_kills_a_term_ignorer),
		cmocka_unit_test(test_daemonising_grandchild_does_not_hold_completion),
		cmocka_unit_test(test_spawn_errors),
		cmocka_unit_test(test_kill_cancels),
	};

	signal(SIGPIPE, SIG_IGN);
	log_init(LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
