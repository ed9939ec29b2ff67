#!/bin/sh
# tests/timeout.sh TEST [ARGS...]: the automake log compiler of every test
# (Makefile.am LOG_COMPILER, SH_LOG_COMPILER). Runs TEST under a time
# limit, TEST_TIMEOUT_MAX seconds (default 900), so a hang fails with the
# test's name instead of holding make check until someone kills it. The
# integration tests have their own, shorter watchdog (lib.sh, TEST_TIMEOUT)
# that also says what they were waiting for; this one is the backstop,
# for the unit tests too.
limit=${TEST_TIMEOUT_MAX:-900}
timeout -k 10 "$limit" "$@"
rc=$?
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	echo "Bail out! $(basename "$1"): no result after $limit s (hung; ended by tests/timeout.sh)"
fi
exit "$rc"
