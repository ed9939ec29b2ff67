#!/bin/bash
# 50 certificates at once, at most 8 orders in flight (Pebble 2.4.0 deadlocks
# with 12+); the http-01 listener keeps answering meanwhile.
. "$(dirname "$0")/lib.sh"

pebble_start

MAX_ORDERS=8 write_conf "$T/renewd.yaml" "$(cert_list c 50 many.example)"

"$RENEWD" -c "$T/renewd.yaml" --once >"$T/renewd.log" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
# Probe the listener while orders run: an unknown token must get a 404.
# Probing starts once renewd says it started and ends when it says it is done.
wait_for 10 grep -q "started:" "$T/renewd.log"
probes=0 answered=0
while [ "$probes" -lt 500 ]; do
	code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' \
	    "http://127.0.0.1:$HTTP01_PORT/.well-known/acme-challenge/unknownToken")
	grep -q -- "--once:" "$T/renewd.log" && break
	probes=$((probes + 1))
	[ "$code" = 404 ] && answered=$((answered + 1))
	sleep 0.01
done
wait "$pid"
rc=$?
check "renewd --once obtains all 50 certificates (exit 0)" test $rc -eq 0
good=0
for i in $(seq 1 50); do verify_cert "c$i" && good=$((good + 1)); done
check "all 50 chains verify and match their keys ($good)" test "$good" -eq 50
check "the listener answered every probe during the run ($answered/$probes)" \
    test "$probes" -gt 0 -a "$answered" -eq "$probes"
check "50 installs logged" test "$(grep -c "installed certificate" "$T/renewd.log")" -eq 50

# SIGTERM while orders are in flight: a clean exit (no leak, no crash under
# ASan), and every live certificate is complete.
rm -rf "$T/state"
"$RENEWD" -c "$T/renewd.yaml" >"$T/term.log" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
wait_for 10 grep -q "order created" "$T/term.log"
kill -TERM "$pid"
wait "$pid"
check "SIGTERM in the middle of 50 orders exits 0" test $? -eq 0
partial=0
for d in "$T"/state/certs/*/live; do
	[ -e "$d" ] || continue
	for f in privkey.pem cert.pem chain.pem fullchain.pem; do
		[ -s "$d/$f" ] || partial=$((partial + 1))
	done
done
check "no live certificate is missing a file ($partial)" test "$partial" -eq 0

done_testing
