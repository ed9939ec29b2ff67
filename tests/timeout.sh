#!/bin/sh
# tests/timeout.sh TEST [ARGS...]: the automake log compiler of every test
# (Makefile.am LOG_COMPILER, SH_LOG_COMPILER). Runs TEST under a time
# limit, TEST_TIMEOUT_MAX seconds (default 900), so a hang fails with the
# test's name instead of holding make check until someone kills it. The
# integration tests have their own, shorter watchdog (lib.sh, TEST_TIMEOUT)
# that also says what they were waiting for; this one is the backstop,
# for the unit tests too.
#
# cmocka reports a skipped test as "not ok N # SKIP": TAP's directive makes
# it a skip, but automake's driver counts any "not ok" as a failure; it is
# passed on as "ok N # SKIP", so a skip (a test that needs root, for a
# normal user) is counted as one. The test's exit status is kept.
limit=${TEST_TIMEOUT_MAX:-900}
exec 3>&1
rc=$({ { timeout -k 10 "$limit" "$@"; echo $? >&4; } |
    sed -u 's/^not ok \([0-9][0-9]*\)\( [^#]*\)\{0,1\}# SKIP/ok \1\2# SKIP/' >&3; } 4>&1)
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	echo "Bail out! $(basename "$1"): no result after $limit s (hung; ended by tests/timeout.sh)"
fi
exit "$rc"
