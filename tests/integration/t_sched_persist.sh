#!/bin/bash
# What renewd decides about a failing certificate survives a restart: after
# kill -9 the backoff is neither forgotten nor re-rolled (no new order before
# the moment certs/<name>/schedule.json names), a success clears it, and a
# damaged schedule.json is reported and recomputed, never fatal.
. "$(dirname "$0")/lib.sh"

pebble_start PEBBLE_WFE_NONCEREJECT=0
ca_proxy_start
export ACME_DIRECTORY=$PROXY_DIR
write_conf "$T/renewd.yaml" "  - name: held
    domains: [held.example]
  - name: fine
    domains: [fine.example]"
S=$T/state/certs/held/schedule.json
orders() { proxy_count 'endpoint=newOrder&identifier=held.example'; }

# every certificate the CA issues for held.example is for another key: refused
proxy_fault '{"fault":"certOtherKey","identifier":"held.example"}' >/dev/null ||
	bail "proxy_fault refused certOtherKey"
spawn "$T/d1.log" "$RENEWD" -c "$T/renewd.yaml"
D1=$LAST_PID
check "the other certificate is obtained" wait_for 30 verify_cert fine
check "held's attempt fails and backs off" \
    wait_for 30 grep -q '\[held\] attempt 1 failed; next attempt in' "$T/d1.log"
check "schedule.json remembers one failure" \
    wait_for 5 test "$(jq -r .failures "$S" 2>/dev/null)" = 1
retry=$(jq -r .retry_at "$S")
now=$(date +%s)
check "and when to try again (40..80 s ahead: a minute with jitter)" \
    test "$retry" -ge $((now + 40)) -a "$retry" -le $((now + 80))
check "and why it failed, naming the CA" \
    test "$(jq -r .last_error.ca "$S")" = pebble
check "the error text says the key is wrong" \
    grep -q 'another key' <<<"$(jq -r .last_error.detail "$S")"
kill -KILL "$D1"
wait "$D1" 2>/dev/null
before=$(orders)

spawn "$T/d2.log" "$RENEWD" -c "$T/renewd.yaml"
D2=$LAST_PID
check "after kill -9 the restart keeps the backoff" \
    wait_for 20 grep -q '\[held\] 1 failed attempt(s) so far; backing off until' "$T/d2.log"
sleep 2
check "and orders nothing for it meanwhile" test "$(orders)" -eq "$before"
check "the moment is the one on disk, not re-rolled" \
    test "$(jq -r .retry_at "$S")" = "$retry"
kill -TERM "$D2"
wait "$D2" 2>/dev/null

# a damaged file: reported with its path, the schedule recomputed at once
printf '{"version": 1, "failures": ' >"$S"
proxy_clear faults
spawn "$T/d3.log" "$RENEWD" -c "$T/renewd.yaml"
D3=$LAST_PID
check "a damaged schedule.json is reported with its path and position" \
    wait_for 20 grep -q "\[held\] $S:1:.*ignored, the schedule is recomputed" "$T/d3.log"
check "and the certificate is obtained right away" wait_for 30 verify_cert held
# the proxy offers ARI: the new certificate's window and moment are kept
check "success leaves nothing to remember but the ARI window" \
    wait_for 5 test "$(jq -c 'del(.ari)' "$S")" = '{"version":1}'
check "a window for the live certificate, its moment inside it" test "$(jq -r --arg c \
    "$(probe certid --cert "$T/state/certs/held/live/cert.pem" | jq -r .certID)" \
    '.ari.cert == $c and .ari.start <= .ari.moment and .ari.moment < .ari.end' "$S")" = true
kill -TERM "$D3"
wait "$D3"
check "renewd exits cleanly (no leak: $SAN)" test $? -eq 0
done_testing
