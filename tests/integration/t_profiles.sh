#!/bin/bash
# ACME profiles (draft-ietf-acme-profiles) through the test double, which
# adds meta.profiles to Pebble 2.4's directory and checks "profile" in
# newOrder: a listed profile is sent; one the directory does not list is an
# error at start (the directory is read then, not at the first renewal)
# naming the certificate, the CA URL and the offered names, and no order
# carries it; a CA that lists none never gets one. Then a short-lived
# certificate (Pebble's certificateValidityPeriod) is renewed in time.
. "$(dirname "$0")/lib.sh"

pebble_start PEBBLE_WFE_NONCEREJECT=0
ca_proxy_start
export ACME_DIRECTORY=$PROXY_DIR

# sent_profile DOMAIN: the "profile" of the first newOrder for DOMAIN ("null": none).
sent_profile() {
	proxy_log "endpoint=newOrder&identifier=$1" | jq -r '.[0].payload.profile'
}
# listed_error CERT PROFILE: the error for CERT's PROFILE at this CA.
listed_error() {
	printf 'acme: CA pebble (%s): certificate %s asks for profile "%s", which the directory does not list (it lists: classic, shortlived)' \
	    "$PROXY_DIR" "$1" "$2"
}

# --- the directory lists it: sent, and the CA keeps it on the order
write_conf "$T/renewd.yaml" "  - name: short
    domains: [short.example]
    profile: shortlived
  - name: plain
    domains: [plain.example]"
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/once.log" 2>&1
check "renewd --once obtains both certificates" test $? -eq 0
check "the one with a profile verifies" verify_cert short
check "its newOrder carries profile shortlived" test "$(sent_profile short.example)" = shortlived
check "the one without a profile sends none" test "$(sent_profile plain.example)" = null
check "the CA's order records the profile" test "$(curl -sf "$PROXY_CTL/orders" |
    jq -r '[.[] | select(.identifiers == ["short.example"])][0].profile')" = shortlived

# --- a misspelt profile: an error at start, while the certificate is not due
sed -i 's/profile: shortlived/profile: tlsserver/' "$T/renewd.yaml"
proxy_clear log
"$RENEWD" -c "$T/renewd.yaml" >"$T/daemon.log" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
check "an unknown profile is an error as soon as the directory is read" \
    wait_for 10 grep -qF "error: [short] $(listed_error short tlsserver)" "$T/daemon.log"
check "no order was needed to find it (the certificate is not due)" \
    test "$(proxy_count endpoint=newOrder)" -eq 0
kill -TERM "$pid"
wait "$pid"
check "the daemon still runs its other certificates (exit 0 on SIGTERM)" test $? -eq 0

# --- an order with it fails the same way, and the CA never sees it
write_conf "$T/typo.yaml" "  - name: typo
    domains: [typo.example]
    profile: tlsserver"
"$RENEWD" -c "$T/typo.yaml" --once >"$T/typo.log" 2>&1
check "an order with an unknown profile fails (exit 1)" test $? -eq 1
check "naming the certificate, the CA URL and the offered names" \
    grep -qF "$(listed_error typo tlsserver)" "$T/typo.log"
check "no newOrder reached the CA for it" \
    test "$(proxy_count 'endpoint=newOrder&identifier=typo.example')" -eq 0
check "nothing was installed for it" test ! -e "$T/state/certs/typo/live"

# --- a CA that lists no profiles gets none, and renewd says so once
curl -sf -o /dev/null -X PUT -d '{}' "$PROXY_CTL/profiles" || bail "cannot clear the proxy's profiles"
proxy_clear log
write_conf "$T/none.yaml" "  - name: none1
    domains: [none1.example]
    profile: shortlived
  - name: none2
    domains: [none2.example]
    profile: tlsserver"
"$RENEWD" -c "$T/none.yaml" --once >"$T/none.log" 2>&1
check "a CA without profiles issues both (exit 0)" test $? -eq 0
if verify_cert none1 && verify_cert none2; then ok "and they verify"; else not_ok "and they verify"; fi
check "no newOrder carried a profile" \
    test "$(proxy_log endpoint=newOrder | jq '[.[] | select(.payload | has("profile"))] | length')" -eq 0
check "two newOrders were sent" test "$(proxy_count endpoint=newOrder)" -eq 2
check "renewd says once, for the CA, that the profile is not sent" \
    test "$(grep -c "CA pebble ($PROXY_DIR): the directory lists no profiles" "$T/none.log")" -eq 1

# --- short-lived: a 20-second certificate with its profile is renewed in time
PEBBLE_VALIDITY=20 pebble_start PEBBLE_WFE_NONCEREJECT=0
ca_proxy_start
ACME_DIRECTORY=$PROXY_DIR
rm -rf "$T/state"
write_conf "$T/short.yaml" "  - name: brief
    domains: [brief.example]
    profile: shortlived"
"$RENEWD" -c "$T/short.yaml" >"$T/short.log" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
check "the short-lived certificate is installed" \
    wait_for 15 grep -q "\[brief\] installed certificate" "$T/short.log"
cert=$T/state/certs/brief/live/cert.pem
first=$(pem_serial "$cert")
end=$(date -d "$(openssl x509 -in "$cert" -noout -enddate | cut -d= -f2)" +%s)
start=$(date -d "$(openssl x509 -in "$cert" -noout -startdate | cut -d= -f2)" +%s)
diag "lifetime $((end - start)) s"
check "it is scheduled, not ordered again at once" \
    sh -c "sleep 2; test \$(grep -c '\[brief\] installed certificate' '$T/short.log') -eq 1"
check "it is renewed before it expires" \
    wait_for 25 sh -c "test \$(grep -c '\[brief\] installed certificate' '$T/short.log') -ge 2"
renewed=$(date +%s)
check "while the old one had time left" test "$renewed" -lt "$end"
check "the live certificate is a new one" test "$(pem_serial "$cert")" != "$first"
check "and its newOrder carried the profile too" test "$(sent_profile brief.example)" = shortlived
kill -TERM "$pid"
wait "$pid"

done_testing
