#!/bin/bash
# End-to-end issuance from a real Pebble: one domain, five SANs, atomic
# install with private keys, no re-order on restart, SIGHUP adds a certificate.
. "$(dirname "$0")/lib.sh"

# No rejected nonces here, so the newOrder count below is exact.
pebble_start PEBBLE_WFE_NONCEREJECT=0

write_conf "$T/renewd.yaml" "  - name: single
    domains: [single.example]
  - name: five
    domains: [a.five.example, b.five.example, c.five.example, d.five.example, e.five.example]"

"$RENEWD" -c "$T/renewd.yaml" --once >"$T/renewd.log" 2>&1
check "renewd --once obtains both certificates (exit 0)" test $? -eq 0
check "single: chain verifies against Pebble's root, key matches" verify_cert single
check "five: chain verifies against Pebble's root, key matches" verify_cert five
sans=$(openssl x509 -in "$T/state/certs/five/live/cert.pem" -noout -ext subjectAltName 2>/dev/null)
n=0
for d in a b c d e; do grep -q "DNS:$d.five.example" <<<"$sans" && n=$((n + 1)); done
check "five: all 5 SANs are in the certificate" test "$n" -eq 5
check "live is a symlink to a version directory" test -L "$T/state/certs/single/live"
check "private key is 0600" test "$(stat -L -c %a "$T/state/certs/single/live/privkey.pem")" = 600
check "account key is 0600" test "$(stat -c %a "$T/state/accounts/pebble/account.key")" = 600
check "fullchain = cert + chain" cmp -s "$T/state/certs/single/live/fullchain.pem" \
    <(cat "$T/state/certs/single/live/cert.pem" "$T/state/certs/single/live/chain.pem")
check "the install is logged with the serial" grep -q "\[single\] installed certificate serial" "$T/renewd.log"
check "no key material in the log" sh -c "! grep -q 'PRIVATE KEY' '$T/renewd.log'"

"$RENEWCTL" -c "$T/renewd.yaml" status >"$T/status.out"
check "renewctl status: both valid (exit 0)" test $? -eq 0
check "renewctl status lists single as valid" grep -q "^single *valid" "$T/status.out"

orders=$(pebble_count "POST /order-plz")
accounts=$(pebble_count "POST /sign-me-up")
check "Pebble saw exactly 2 newOrder requests" test "$orders" -eq 2
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/restart.log" 2>&1
check "a restart with valid certificates exits 0" test $? -eq 0
check "and sends no newOrder" test "$(pebble_count "POST /order-plz")" -eq "$orders"
check "and registers no new account" test "$(pebble_count "POST /sign-me-up")" -eq "$accounts"
check "it says the certificate is valid" grep -q "\[single\] serial .* is valid" "$T/restart.log"

# The daemon proper: runs, then takes a new certificate on SIGHUP.
"$RENEWD" -c "$T/renewd.yaml" >"$T/daemon.log" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
wait_for 10 grep -q "started" "$T/daemon.log"
write_conf "$T/renewd.yaml" "  - name: single
    domains: [single.example]
  - name: five
    domains: [a.five.example, b.five.example, c.five.example, d.five.example, e.five.example]
  - name: added
    domains: [added.example]"
kill -HUP "$pid"
check "after SIGHUP the daemon obtains the added certificate" \
    wait_for 30 grep -q "\[added\] installed certificate" "$T/daemon.log"
check "added: chain verifies" verify_cert added
check "the others were not re-ordered" test "$(pebble_count "POST /order-plz")" -eq $((orders + 1))
kill -TERM "$pid"
wait "$pid"
check "the daemon exits 0 on SIGTERM" test $? -eq 0

done_testing
