#!/bin/bash
# SIGHUP while orders and key generations run: certificates removed mid-order,
# a CA's settings changed mid-order, key types changed mid-keygen (rsa-4096),
# a burst of reloads. The daemon keeps running, the remaining certificates
# are obtained, and SIGTERM ends it with exit 0 (a sanitizer build exits
# non-zero on any leak or memory error).
. "$(dirname "$0")/lib.sh"

pebble_start

# conf FILE STATE CONTACT MAX CERT_YAML: an inventory with one CA whose
# contact and order limit are chosen, so a reload can change its settings.
conf() {
	cat >"$1" <<EOY
state_dir: $2
http01:
  listen: ["127.0.0.1:$HTTP01_PORT"]
cas:
  - name: pebble
    directory: ${DIR:-$PEBBLE_DIR}
    ca_bundle: $PEBBLE_CA
    contact: ["mailto:$3"]
    max_concurrent_orders: $4
certificates:
$5
EOY
}

# certs PREFIX FROM TO [KEY]: certificate entries PREFIX<i>.
certs() {
	local i
	for i in $(seq "$2" "$3"); do
		printf '  - name: %s%d\n    domains: [%s%d.reload.example]\n' \
		    "$1" "$i" "$1" "$i"
		[ -n "${4:-}" ] && printf '    key: %s\n' "$4"
		[ -n "${RB:-}" ] && printf '    renew_before: %s\n' "$RB"
	done
}

# installed LOG PREFIX FROM TO: every PREFIX<i> was installed and verifies.
installed() {
	local i
	for i in $(seq "$3" "$4"); do
		grep -q "\[$2$i\] installed certificate" "$1" || return 1
		verify_cert_in "$2$i" || return 1
	done
}

verify_cert_in() {
	local live=$S/certs/$1/live
	[ -f "$live/fullchain.pem" ] || return 1
	openssl verify -CAfile "$T/pebble-root.pem" -untrusted "$live/chain.pem" \
	    "$live/cert.pem" >/dev/null 2>&1 || return 1
	[ "$(openssl x509 -in "$live/cert.pem" -noout -pubkey | openssl sha256)" = \
	  "$(openssl pkey -in "$live/privkey.pem" -pubout | openssl sha256)" ]
}

# count_installed LOG: how many installs the log reports.
count_installed() { grep -c "installed certificate" "$1" || true; }

# start_daemon LOG: start renewd on $T/renewd.yaml, wait until it runs.
start_daemon() {
	"$RENEWD" -v -c "$T/renewd.yaml" >"$1" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	wait_for 20 grep -q "started" "$1"
}

# stop_daemon: SIGTERM, and the exit status must be 0.
stop_daemon() {
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	PIDS=${PIDS/ $pid/}
	return $rc
}

alive() { kill -0 "$pid" 2>/dev/null; }

# --- 1: certificates removed while their orders run (and while others wait
# in the CA's queue: at most 2 orders in flight)
S=$T/state1
conf "$T/renewd.yaml" "$S" a@example.com 2 "$(certs rm 0 11)"
start_daemon "$T/remove.log" || bail "renewd did not start"
wait_for 30 grep -q "order created" "$T/remove.log"
conf "$T/renewd.yaml" "$S" a@example.com 2 "$(certs rm 6 11)"
kill -HUP "$pid"
check "remove: the reload is applied" \
    wait_for 20 grep -q "inventory reloaded: 6 certificates" "$T/remove.log"
check "remove: the dropped certificates are said to be dropped" \
    grep -q "\[rm0\] no longer in the inventory" "$T/remove.log"
check "remove: the remaining 6 certificates are obtained" \
    wait_for 90 installed "$T/remove.log" rm 6 11
check "remove: the daemon is still running" alive
sleep 0.5
n=$(grep -c "POST /order-plz" "$T/pebble.log")
sleep 1
check "remove: no more orders once everything is valid" \
    test "$(grep -c "POST /order-plz" "$T/pebble.log")" -eq "$n"
check "remove: SIGTERM exits 0 ($SAN)" stop_daemon

# --- 2: a CA setting no order depends on (contact, order limit) changes
# while its orders run: the live client takes it and the orders go on;
# then a changed directory URL makes a new client
S=$T/state2
conf "$T/renewd.yaml" "$S" a@example.com 2 "$(certs ca 0 7)"
start_daemon "$T/ca.log" || bail "renewd did not start"
wait_for 30 grep -q "order created" "$T/ca.log"
for round in 1 2 3 4 5 6; do
	conf "$T/renewd.yaml" "$S" r$round@example.com $((round % 3 + 1)) \
	    "$(certs ca 0 7)"
	kill -HUP "$pid"
	wait_for 10 sh -c "test \$(grep -c 'inventory reloaded' '$T/ca.log') -eq $round"
done
check "ca: each reload updates the live client" \
    test "$(grep -c "CA pebble: settings updated; orders in flight go on" "$T/ca.log")" -eq 6
check "ca: no new client" sh -c "! grep -q 'CA pebble changed' '$T/ca.log'"
check "ca: all 8 certificates are obtained" wait_for 90 installed "$T/ca.log" ca 0 7
check "ca: with exactly 8 orders (none dropped and made again)" \
    test "$(grep -c "\] order created" "$T/ca.log")" -eq 8
check "ca: the daemon is still running" alive
# a new directory URL (the same Pebble by another name) is another CA
n=$(pebble_count "POST /order-plz")
DIR=https://localhost:${PEBBLE_DIR#https://127.0.0.1:} \
    conf "$T/renewd.yaml" "$S" c@example.com 3 "$(certs ca 0 7)"
kill -HUP "$pid"
check "ca: a changed directory URL makes a new client" \
    wait_for 20 grep -q "CA pebble changed: new client" "$T/ca.log"
sleep 1
check "ca: a CA change with nothing in flight orders nothing" \
    test "$(pebble_count "POST /order-plz")" -eq "$n"
check "ca: SIGTERM exits 0 ($SAN)" stop_daemon

# --- 3: key type changed while rsa-4096 keys are being generated (2 worker
# threads, 4 certificates: some keys are queued, some generating)
S=$T/state3
conf "$T/renewd.yaml" "$S" a@example.com 8 "$(certs key 0 3 rsa-4096)"
start_daemon "$T/key.log" || bail "renewd did not start"
conf "$T/renewd.yaml" "$S" a@example.com 8 "$(certs key 0 3 ecdsa-p256)"
kill -HUP "$pid"
check "key: the reload is applied" \
    wait_for 20 grep -q "inventory reloaded: 4 certificates" "$T/key.log"
check "key: all 4 certificates are obtained" wait_for 90 installed "$T/key.log" key 0 3
ec=0
for i in 0 1 2 3; do
	openssl x509 -in "$S/certs/key$i/live/cert.pem" -noout -text 2>/dev/null |
	    grep -q "NIST CURVE: P-256" && ec=$((ec + 1))
done
check "key: every certificate carries the new P-256 key" test "$ec" -eq 4
check "key: the daemon is still running" alive
check "key: SIGTERM exits 0 ($SAN)" stop_daemon

# --- 4: certificates removed mid-keygen, then SIGTERM while a 4096-bit key
# is still being made for nobody
S=$T/state4
conf "$T/renewd.yaml" "$S" a@example.com 8 "$(certs gone 0 3 rsa-4096)"
start_daemon "$T/gone.log" || bail "renewd did not start"
conf "$T/renewd.yaml" "$S" a@example.com 8 "$(certs gone 3 3 rsa-4096)"
kill -HUP "$pid"
check "gone: the reload is applied" \
    wait_for 20 grep -q "inventory reloaded: 1 certificates" "$T/gone.log"
check "gone: the kept certificate is obtained" wait_for 90 installed "$T/gone.log" gone 3 3
check "gone: no removed certificate was installed" \
    test "$(count_installed "$T/gone.log")" -eq 1
conf "$T/renewd.yaml" "$S" a@example.com 8 "$(certs gone 4 7 rsa-4096)"
kill -HUP "$pid"
wait_for 20 grep -q "inventory reloaded: 4 certificates" "$T/gone.log"
conf "$T/renewd.yaml" "$S" a@example.com 8 ""
kill -HUP "$pid"
check "gone: an empty inventory is applied mid-keygen" \
    wait_for 20 grep -q "inventory reloaded: 0 certificates" "$T/gone.log"
check "gone: SIGTERM mid-keygen exits 0 ($SAN)" stop_daemon

# --- 5: a burst of reloads flipping the inventory and the CA while orders
# run; the last one wins
S=$T/state5
conf "$T/renewd.yaml" "$S" a@example.com 2 "$(certs burst 0 9)"
start_daemon "$T/burst.log" || bail "renewd did not start"
wait_for 30 grep -q "order created" "$T/burst.log"
for round in 1 2 3 4 5 6; do
	if [ $((round % 2)) = 1 ]; then
		conf "$T/renewd.yaml" "$S" r$round@example.com $((round % 3 + 1)) \
		    "$(certs burst 0 4)"
	else
		conf "$T/renewd.yaml" "$S" a@example.com 2 "$(certs burst 0 9 ecdsa-p384)"
	fi
	kill -HUP "$pid"
	wait_for 10 test "$(grep -c "inventory reloaded" "$T/burst.log")" -eq "$round"
	sleep 0.$((RANDOM % 3))
done
check "burst: every reload is applied" \
    test "$(grep -c "inventory reloaded" "$T/burst.log")" -eq 6
# all_p384: every burst certificate is live with a P-384 key
all_p384() {
	local i
	for i in 0 1 2 3 4 5 6 7 8 9; do
		openssl x509 -in "$S/certs/burst$i/live/cert.pem" -noout -text \
		    2>/dev/null | grep -q "NIST CURVE: P-384" || return 1
	done
}
check "burst: all 10 certificates are obtained, with the last key type" \
    wait_for 120 all_p384
check "burst: the daemon is still running" alive
check "burst: SIGTERM exits 0 ($SAN)" stop_daemon

# --- 6: SIGTERM while orders are in flight and queued
S=$T/state6
conf "$T/renewd.yaml" "$S" a@example.com 2 "$(certs term 0 7)"
start_daemon "$T/term.log" || bail "renewd did not start"
wait_for 30 grep -q "order created" "$T/term.log"
check "term: SIGTERM mid-order exits 0 ($SAN)" stop_daemon

# --- 7: a certificate failed because its CA was misconfigured; a reload
# that fixes the CA retries it at once instead of after its backoff
S=$T/state7
bad=$("$top_builddir/tests/integration/freeport" 1) || bail "freeport failed"
DIR=https://127.0.0.1:$bad/dir conf "$T/renewd.yaml" "$S" a@example.com 8 \
    "$(certs fix 0 1)"
start_daemon "$T/fix.log" || bail "renewd did not start"
check "fix: the orders fail on the unreachable CA and back off" \
    wait_for 20 grep -q "\[fix1\] attempt 1 failed; next attempt in" "$T/fix.log"
conf "$T/renewd.yaml" "$S" a@example.com 8 "$(certs fix 0 1)"
kill -HUP "$pid"
check "fix: both certificates are obtained right after the CA is fixed" \
    wait_for 20 installed "$T/fix.log" fix 0 1
check "fix: SIGTERM exits 0 ($SAN)" stop_daemon

# --- 8: a CA issuing 1-hour certificates
kill "$PEBBLE_PID" "$CHALL_PID"
wait "$PEBBLE_PID" "$CHALL_PID" 2>/dev/null
# no rejected nonces: a retried newOrder would spoil the exact counts below
PEBBLE_VALIDITY=3600 pebble_start PEBBLE_WFE_NONCEREJECT=0

# renew_before longer than the lifetime: each certificate is ordered once,
# not again and again the moment it is installed
S=$T/state8
RB=2h conf "$T/renewd.yaml" "$S" a@example.com 8 "$(RB=2h certs short 0 2)"
start_daemon "$T/short.log" || bail "renewd did not start"
check "short: all 3 certificates are obtained" \
    wait_for 30 installed "$T/short.log" short 0 2
sleep 3
check "short: and each was ordered exactly once" \
    test "$(pebble_count "POST /order-plz")" -eq 3
check "short: the impossible renew_before is reported" \
    grep -q "\[short0\] renew_before (7200 s) leaves serial" "$T/short.log"
check "short: SIGTERM exits 0 ($SAN)" stop_daemon

# renew_before changed on a reload: valid certificates are checked again
# and their renewal moves (auto: due in ~40 min; 50m: due in ~10 min)
S=$T/state9
conf "$T/renewd.yaml" "$S" a@example.com 8 "$(certs rb 0 1)"
start_daemon "$T/rb.log" || bail "renewd did not start"
check "rb: both certificates are obtained" wait_for 30 installed "$T/rb.log" rb 0 1
conf "$T/renewd.yaml" "$S" a@example.com 8 "$(RB=50m certs rb 0 1)"
kill -HUP "$pid"
wait_for 10 grep -q "inventory reloaded" "$T/rb.log"
# rechecked LOG NAME: after the reload NAME was found due in 400..700 s
rechecked() {
	local n
	n=$(sed -n '/inventory reloaded/,$p' "$1" |
	    sed -n "s/.*\[$2\] serial .* is valid; renewal due in \([0-9]*\) s.*/\1/p" |
	    tail -n 1)
	[ -n "$n" ] && [ "$n" -ge 400 ] && [ "$n" -le 700 ]
}
check "rb: rb0's renewal moves to ~10 min from now" wait_for 10 rechecked "$T/rb.log" rb0
check "rb: rb1's renewal moves to ~10 min from now" wait_for 10 rechecked "$T/rb.log" rb1
check "rb: nothing was re-ordered" test "$(pebble_count "POST /order-plz")" -eq 5
check "rb: SIGTERM exits 0 ($SAN)" stop_daemon

check_sanitized "no sanitizer report in any log" sh -c \
    "! grep -l 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer' '$T'/*.log"

done_testing
