#!/bin/bash
# One full issuance (renewd --once, http-01 on its own listener, against a
# real Pebble) under valgrind's memcheck: no error and no definite or
# indirect leak, with no suppressions.
#
# valgrind cannot run an ASan binary, so this test is not in the sanitizer
# build's make check: scripts/test runs it from build-vg, a build without
# --enable-sanitizers ("make check TESTS=tests/integration/t_valgrind.sh").
# Run from a sanitizer build by hand, it fails and says so.
TEST_TIMEOUT=840	# memcheck makes one issuance minutes long on a loaded machine
. "$(dirname "$0")/lib.sh"

command -v valgrind >/dev/null || bail "valgrind is not installed (scripts/deps)"
if nm "$RENEWD" 2>/dev/null | grep -q "__asan_init\|__ubsan_handle"; then
	not_ok "$RENEWD is a sanitizer build: valgrind needs one configured" \
	    "without --enable-sanitizers (scripts/test uses build-vg)"
	done_testing
	exit 1
fi

pebble_start
write_conf "$T/renewd.yaml" "  - name: vg
    domains: [vg.example, www.vg.example]
    key: ecdsa-p256"

# 99: no exit status of renewd's own; keys are never logged, so neither is
# anything valgrind prints about them.
valgrind --quiet --error-exitcode=99 --leak-check=full \
    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
    --track-origins=yes --log-file="$T/valgrind.log" \
    "$RENEWD" -c "$T/renewd.yaml" --once >"$T/renewd.log" 2>&1
rc=$?
check "renewd --once under valgrind exits 0 (99: memcheck found errors)" test "$rc" -eq 0
check "it issued the certificate" verify_cert vg
# --quiet prints only problems: nothing is left once one known notice is
# cut. valgrind 3.19 (Debian 12) does not know openat2 (syscall 437) and
# answers ENOSYS, with five lines each time; fsutil.c then takes its
# O_NOFOLLOW walk, as on kernels before 5.6.
grep -v -e "unhandled amd64-linux syscall: 437" \
    -e "You may be able to write your own handler" \
    -e "README_MISSING_SYSCALL_OR_IOCTL" -e "Nevertheless we consider this a bug" \
    -e "valgrind.org/support/bug_reports.html" \
    "$T/valgrind.log" >"$T/valgrind-rest.log"
check "memcheck's log has nothing else (no errors, no leaks)" \
    test ! -s "$T/valgrind-rest.log"
if [ -s "$T/valgrind-rest.log" ]; then
	diag "valgrind.log:"
	head -n 60 "$T/valgrind-rest.log" | sed 's/^/#   /'
fi

done_testing
