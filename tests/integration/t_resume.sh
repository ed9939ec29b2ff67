#!/bin/bash
# Crash-safe resume (issue 8, item 4): renewd is killed (-9) after its
# order was created and before finalize reached the CA; the restart
# resumes that very order with the key kept in pending.key, and sends no
# second newOrder. An order whose finalize did reach the CA is downloaded
# without a second finalize; one the CA no longer knows is abandoned.
. "$(dirname "$0")/lib.sh"

pebble_start PEBBLE_WFE_NONCEREJECT=0
ca_proxy_start
export ACME_DIRECTORY=$PROXY_DIR

# conf NAME: an inventory with the one certificate NAME.resume.example.
conf() {
	write_conf "$T/$1.yaml" "  - name: $1
    domains: [$1.resume.example]"
}
# run_killed NAME: renewd --once for NAME, killed (-9) as soon as its
# finalize reaches the proxy (where a hang fault holds it).
run_killed() {
	local pid before
	before=$(proxy_count endpoint=finalize)
	"$RENEWD" -c "$T/$1.yaml" --once >"$T/$1-killed.log" 2>&1 &
	pid=$!
	wait_for 20 finalizes_over "$before" ||
	    diag "$1: finalize never came"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
}
saved_order() { jq -r ".order.$2 // empty" "$T/state/certs/$1/schedule.json" 2>/dev/null; }
orders() { proxy_count "endpoint=newOrder&status=201&identifier=$1.resume.example"; }
finalizes() { proxy_count "endpoint=finalize"; }
finalizes_over() { [ "$(finalizes)" -gt "$1" ]; }
finalized() { [ "$(proxy_count "endpoint=finalize&status=200")" -ge 1 ]; }
pubkey() { openssl pkey -in "$1" -pubout 2>/dev/null | openssl sha256; }

# --- killed before finalize reached Pebble: the order is "ready" there
conf r1
proxy_fault '{"fault":"hang","endpoint":"finalize","then":"drop"}' >/dev/null ||
    bail "proxy_fault refused hang"
run_killed r1
url=$(saved_order r1 url)
check "before finalize, schedule.json names the order in flight" \
    test -n "$url" -a "$(saved_order r1 ca)" = pebble
check "and its key is in pending.key, mode 0600" \
    test "$(stat -c %a "$T/state/certs/r1/pending.key" 2>/dev/null)" = 600
cp "$T/state/certs/r1/pending.key" "$T/r1-pending.key" 2>/dev/null
proxy_clear faults
"$RENEWD" -c "$T/r1.yaml" --once >"$T/r1.log" 2>&1
check "the restart completes (exit 0)" test $? -eq 0
check "it says it resumes that order" grep -q "resuming order $url at CA pebble" "$T/r1.log"
check "the certificate verifies" verify_cert r1
check "no second newOrder was sent for it ($(orders r1))" test "$(orders r1)" -eq 1
check "the restart fetched the saved order" \
    test -n "$url" -a "$(proxy_log "endpoint=order&identifier=r1.resume.example" | jq -r '.[].path' | grep -c "${url#https://*/}")" -ge 1
check "the certificate is for the key saved before the kill" \
    test "$(pubkey "$T/r1-pending.key")" = "$(pubkey "$T/state/certs/r1/live/privkey.pem")"
check "pending.key is gone after the install" test ! -e "$T/state/certs/r1/pending.key"
check "and schedule.json names no order in flight" test -z "$(saved_order r1 url)"

# --- killed while finalize was on its way: Pebble issues, the restart downloads
conf r2
f0=$(finalizes)
proxy_fault '{"fault":"hang","endpoint":"finalize","then":"forward"}' >/dev/null
run_killed r2
curl -sf -o /dev/null -X POST "$PROXY_CTL/release"
wait_for 20 finalized ||
    diag "r2: the released finalize did not reach Pebble"
proxy_clear faults
"$RENEWD" -c "$T/r2.yaml" --once >"$T/r2.log" 2>&1
check "an order finalized meanwhile: the restart completes (exit 0)" test $? -eq 0
check "the certificate verifies" verify_cert r2
check "one newOrder ($(orders r2)) and one finalize ($(($(finalizes) - f0))) in all" \
    test "$(orders r2)" -eq 1 -a "$(($(finalizes) - f0))" -eq 1

# --- the CA does not know the saved order: abandoned, a new one placed
conf r3
proxy_fault '{"fault":"hang","endpoint":"finalize","then":"drop","count":1}' >/dev/null
run_killed r3
proxy_clear faults
url=$(saved_order r3 url)
jq ".order.url = \"${url%/*}/no-such-order\"" "$T/state/certs/r3/schedule.json" >"$T/sched.json" &&
    cat "$T/sched.json" >"$T/state/certs/r3/schedule.json"
"$RENEWD" -c "$T/r3.yaml" --once >"$T/r3.log" 2>&1
check "an order the CA does not know: the restart completes (exit 0)" test $? -eq 0
check "it says it cannot resume it, and orders afresh" \
    grep -q "cannot resume order .*no-such-order.*ordering afresh" "$T/r3.log"
check "the certificate verifies" verify_cert r3
check "with a second newOrder ($(orders r3))" test "$(orders r3)" -eq 2
check "and no pending.key left" test ! -e "$T/state/certs/r3/pending.key"

done_testing
