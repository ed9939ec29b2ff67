#!/bin/bash
# 90-second certificates (Pebble's certificateValidityPeriod), renewed
# over and over for about two minutes while renewd is killed (-9) twice in
# the middle of an order: once while its finalize is on its way to the CA,
# once while finalize is held before it. Each restart resumes the order
# (no second newOrder), and the live certificate is never expired.
# renew_before 60s makes each one due 30 s after issuance, so four
# renewals fit in the time the lifetime rule (45 s) would give three.
. "$(dirname "$0")/lib.sh"

PEBBLE_VALIDITY=90 pebble_start PEBBLE_WFE_NONCEREJECT=0
ca_proxy_start
export ACME_DIRECTORY=$PROXY_DIR
write_conf "$T/renewd.yaml" "  - name: s
    domains: [s.short.example]
    renew_before: 60s"
LIVE=$T/state/certs/s/live/cert.pem

start() {
	"$RENEWD" -c "$T/renewd.yaml" >>"$T/renewd.log" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
}
installs() { grep -c '\[s\] installed certificate' "$T/renewd.log"; }
installs_over() { [ "$(installs)" -gt "$1" ]; }
finalizes() { proxy_count endpoint=finalize; }
finalizes_over() { [ "$(finalizes)" -gt "$1" ]; }

# The watcher: twice a second, is the live certificate expired? (It is
# read as a server reads it, through the live link.)
watch_live() {
	local na
	while :; do
		if na=$(openssl x509 -in "$LIVE" -noout -enddate 2>/dev/null); then
			[ "$(date -d "${na#notAfter=}" +%s)" -gt "$(date +%s)" ] ||
			    echo "expired at $(date +%s): $na" >>"$T/expired"
		fi
		sleep 0.5
	done
}

# kill_in_finalize FAULT: hold the next finalize with FAULT, and kill -9
# renewd as soon as that finalize reaches the proxy; then restart it.
kill_in_finalize() {
	local f0
	f0=$(finalizes)
	proxy_fault "$1" >/dev/null || bail "proxy_fault refused $1"
	wait_for 60 finalizes_over "$f0" || diag "no finalize came"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	kills=$((kills + 1))
}

kills=0
start
wait_for 15 installs_over 0 || bail "no first certificate"
watch_live &
PIDS="$PIDS $!"

# 1: finalize delayed 3 s at the proxy, then forwarded: Pebble issues
# while renewd is dead; the restart finds the order valid and downloads it.
kill_in_finalize '{"fault":"delay","endpoint":"finalize","ms":3000,"count":1}'
n=$(installs)
sleep 3.5
start
check "after the first kill, the restart resumes the order" \
    wait_for 15 installs_over "$n"
grep -q "resuming order" "$T/renewd.log"
check "and says so" test $? -eq 0

# 2: finalize held and dropped: the order stays ready at Pebble; the
# restart finalizes it.
kill_in_finalize '{"fault":"hang","endpoint":"finalize","then":"drop","count":1}'
proxy_clear faults
n=$(installs)
start
check "after the second kill, the restart resumes the order" \
    wait_for 15 installs_over "$n"
check "renewd goes on renewing afterwards" wait_for 45 installs_over "$((n + 1))"
check "renewd was killed twice in an order" test "$kills" -eq 2
check "two orders were resumed" test "$(grep -c 'resuming order' "$T/renewd.log")" -eq 2

# one newOrder per certificate installed: no order was placed twice
check "one newOrder per issuance ($(proxy_count "endpoint=newOrder&status=201") for $(installs))" \
    test "$(proxy_count "endpoint=newOrder&status=201")" -eq "$(installs)"
check "the live certificate was never expired" test ! -e "$T/expired"
check "and it verifies" verify_cert s
diag "$(installs) certificates of 90 s installed through $kills kills in $SECONDS s"
kill -TERM "$pid"
wait "$pid"
check "exit 0 on SIGTERM" test $? -eq 0

done_testing
