#!/bin/bash
# Pebble rejects 30 % of good nonces (badNonce): every order still succeeds.
. "$(dirname "$0")/lib.sh"

pebble_start PEBBLE_WFE_NONCEREJECT=30

write_conf "$T/renewd.yaml" "$(cert_list n 10 nonce.example www)"

"$RENEWD" -v -c "$T/renewd.yaml" --once >"$T/renewd.log" 2>&1
check "all 10 certificates obtained despite badNonce (exit 0)" test $? -eq 0
good=0
for i in $(seq 1 10); do verify_cert "n$i" && good=$((good + 1)); done
check "all 10 chains verify ($good)" test "$good" -eq 10
check "Pebble did reject nonces" grep -q "badNonce" "$T/renewd.log"

done_testing
