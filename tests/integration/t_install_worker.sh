#!/bin/bash
# t_install_worker.sh - an install's fsyncs run on a worker, not on the
# loop: with every fsync made slow (strace delays the syscall; the disk is
# the real one), the http-01 listener answers at once while a certificate
# is being written, and a SIGTERM then waits for that install to finish:
# the certificate is whole and the next run does not order it again.
. "$(dirname "$0")/lib.sh"

command -v strace >/dev/null || bail "strace is not installed (apt-get install strace)"
pebble_start
# one certificate: no other order writes schedule.json on the loop meanwhile
write_conf "$T/renewd.yaml" "$(cert_list w 1 slowdisk.example)"

# 300 ms per fsync: an install (four files, two directories, the prune,
# the pending key) takes seconds. LeakSanitizer cannot run under ptrace.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    spawn "$T/renewd.log" strace -f -qq -o /dev/null -e trace=fsync \
    -e inject=fsync:delay_enter=300000 "$RENEWD" -v -c "$T/renewd.yaml"
tracer=$LAST_PID
wait_for 60 grep -q "\[w1\] certificate downloaded" "$T/renewd.log" ||
    bail "w1 was not downloaded"
pid=$(pgrep -P "$tracer" -x renewd) || bail "no renewd under strace"

# answers: a 404 for a token never published, within 1 s (the loop held
# by the install's fsyncs answers after 1.8 s or more)
answers() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
	    "http://127.0.0.1:$HTTP01_PORT/.well-known/acme-challenge/missing"
}
t0=$(date +%s%N)
code=$(answers)
ms=$((($(date +%s%N) - t0) / 1000000))
during=no
grep -q "\[w1\] installed version" "$T/renewd.log" || during=yes
diag "http-01 answered $code in $ms ms; w1's install still in flight: $during"
check "the listener answers within 1 s while w1's files are written" \
    test "$code" = 404
check "...and that was during the install" test "$during" = yes

# shutdown while the install is still in flight: it finishes first
if grep -q "\[w1\] installed version" "$T/renewd.log"; then
	not_ok "w1's install was still in flight at the SIGTERM"
else
	ok "w1's install was still in flight at the SIGTERM"
fi
kill -TERM "$pid"
wait "$tracer"
check "renewd exits 0 after a SIGTERM during an install" test $? -eq 0
check "the shutdown waited for w1's install" \
    grep -q "\[w1\] installed version" "$T/renewd.log"
check "w1's live certificate is whole and matches its key" verify_cert w1

"$RENEWD" -v -c "$T/renewd.yaml" --once >"$T/next.log" 2>&1
check "the next run exits 0" test $? -eq 0
check "...without ordering w1 again" \
    test "$(grep -c '\[w1\] order created' "$T/next.log")" -eq 0

done_testing
