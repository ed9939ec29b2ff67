#!/bin/bash
# A step of the wall clock (suspend/resume, an NTP step) is noticed: the
# timers run on the monotonic clock, so renewd compares the two clocks
# every minute (and on SIGHUP) and re-evaluates every schedule. The step
# is made with libfaketime's runtime offset (FAKETIME_TIMESTAMP_FILE,
# re-read every call; the monotonic clock left alone), which is what the
# realtime-versus-monotonic comparison sees.
. "$(dirname "$0")/lib.sh"

FT=""
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 \
    /usr/lib/*/faketime/libfaketimeMT.so.1; do
	[ -f "$f" ] && { FT=$f; break; }
done
if [ -z "$FT" ]; then
	echo "1..0 # SKIP libfaketime is not installed (apt-get install faketime)"
	exit 0
fi

# certificates for 4 days, due 3 days before they end: 1 day after issue.
# The step is 30 h: the certificate falls due, Pebble's own TLS
# certificate (2 days) still holds.
PEBBLE_VALIDITY=345600
pebble_start
write_conf "$T/renewd.yaml" "  - name: www
    domains: [www.example]
    renew_before: 3d"
echo "+0" >"$T/faketime"
spawn "$T/renewd.log" env LD_PRELOAD="$FT" FAKETIME_TIMESTAMP_FILE="$T/faketime" \
    FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    "$RENEWD" -v -c "$T/renewd.yaml"
pid=$LAST_PID
check "the certificate is obtained" \
    wait_for 60 grep -q "\[www\] installed certificate" "$T/renewd.log"
check "with its renewal date logged" \
    grep -Eq "\[www\] installed certificate .*renewal due" "$T/renewd.log"
sleep 2
check "nothing is due yet" sh -c "! grep -q 'is due for renewal' '$T/renewd.log'"

echo "+108000" >"$T/faketime"	# 30 h forward
check "within the minute the step is noticed" \
    wait_for 75 grep -Eq "the wall clock stepped by \+10[0-9]{4} s: re-evaluating every schedule" "$T/renewd.log"
check "and the certificate, due now, is checked and renewed" \
    wait_for 10 grep -q "\[www\] serial .* is due for renewal" "$T/renewd.log"
check "a second order goes to the CA" \
    wait_for 30 sh -c "test \$(grep -c 'POST /order-plz' '$T/pebble.log') -ge 2"
# a SIGHUP looks at the clocks at once, not a minute later
echo "+129600" >"$T/faketime"	# 6 h further
kill -HUP "$pid"
check "SIGHUP: a step since the last look is noticed at once" \
    wait_for 5 grep -Eq "the wall clock stepped by \+2[0-9]{4} s" "$T/renewd.log"
kill -TERM "$pid"
wait "$pid"
check "renewd exits 0 ($SAN)" test $? -eq 0
PIDS=${PIDS/ $pid/}

done_testing
