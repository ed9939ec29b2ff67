#!/bin/bash
# One authorization fails (its domain points where nobody answers): that
# certificate is reported with Pebble's problem detail, the others succeed,
# and nothing already live is lost.
. "$(dirname "$0")/lib.sh"

pebble_start
# 127.0.0.2 is loopback too, but renewd's listener is bound to 127.0.0.1 only.
chall_add_a dead.example 127.0.0.2 || bail "challtestsrv add-a failed"

write_conf "$T/renewd.yaml" "  - name: good1
    domains: [good1.example]
  - name: dead
    domains: [dead.example]
  - name: good2
    domains: [good2.example]"

"$RENEWD" -c "$T/renewd.yaml" --once >"$T/renewd.log" 2>&1
check "renewd --once exits 1 when a certificate failed" test $? -eq 1
check "good1 was obtained" verify_cert good1
check "good2 was obtained" verify_cert good2
check "dead has no certificate" test ! -e "$T/state/certs/dead/live"
check "the failure names the certificate and Pebble's problem type" \
    grep -q "\[dead\] .*urn:ietf:params:acme:error:connection" "$T/renewd.log"
check "the failure carries Pebble's detail (the address it tried)" \
    grep -q "\[dead\] .*127.0.0.2" "$T/renewd.log"
check "the failure names the CA URL" grep -q "\[dead\] .*https://127.0.0.1:$PEBBLE_PORT/" "$T/renewd.log"
check "renewctl status reports it missing (exit 1)" sh -c \
    "! '$RENEWCTL' -c '$T/renewd.yaml' status >'$T/status.out' && grep -q '^dead *missing' '$T/status.out'"

# A damaged account key is reported with its path and never replaced behind
# the operator's back (that would orphan the account).
cp "$T/state/accounts/pebble/account.key" "$T/account.key.good"
echo "garbage" >"$T/state/accounts/pebble/account.key"
write_conf "$T/renewd2.yaml" "  - name: fresh
    domains: [fresh.example]"
"$RENEWD" -c "$T/renewd2.yaml" --once >"$T/badkey.log" 2>&1
check "with a damaged account key, --once exits 1" test $? -eq 1
check "the error names the key file" \
    grep -q "\[fresh\] .*$T/state/accounts/pebble/account.key is unreadable" "$T/badkey.log"
check "the damaged key was left in place" grep -qx garbage "$T/state/accounts/pebble/account.key"
cp "$T/account.key.good" "$T/state/accounts/pebble/account.key"

# A CA that is down: the live certificates stay, the run fails cleanly.
serial=$(openssl x509 -in "$T/state/certs/good1/live/cert.pem" -noout -serial)
kill "$PEBBLE_PID"
wait "$PEBBLE_PID" 2>/dev/null
write_conf "$T/renewd.yaml" "  - name: good1
    domains: [good1.example, extra.example]"
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/down.log" 2>&1
check "with the CA down, --once exits 1" test $? -eq 1
check "the error names the CA directory URL" grep -q "$PEBBLE_DIR" "$T/down.log"
check "the old certificate stays live" test "$(openssl x509 -in "$T/state/certs/good1/live/cert.pem" -noout -serial)" = "$serial"

done_testing
