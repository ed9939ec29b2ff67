#!/bin/bash
# Holds wider than one certificate survive a kill -9: an account-wide
# rateLimited on newOrder (CA a) and a 503 with a long Retry-After on
# newOrder (CA e, a second account through the same proxy) are kept in
# accounts/<ca>/holds.json, so after a restart a certificate renewd has
# never ordered is not sent to either newOrder before the deadline, and is
# issued after it. renewctl status shows the moment renewd acts on.
. "$(dirname "$0")/lib.sh"

pebble_start PEBBLE_WFE_NONCEREJECT=0
ca_proxy_start
WAIT=20		# the Retry-After of both faults, seconds

# conf FILE CERT_YAML: CAs a and e, both the proxy (two accounts).
conf() {
	{
		printf 'state_dir: %s\nhttp01:\n  listen: ["127.0.0.1:%s"]\ncas:\n' \
		    "$T/state" "$HTTP01_PORT"
		for ca in a e; do
			printf '  - name: %s\n    directory: %s\n    ca_bundle: %s\n' \
			    "$ca" "$PROXY_DIR" "$PEBBLE_CA"
		done
		printf 'certificates:\n%s\n' "$2"
	} >"$1"
}
CERTS="  - name: acct1
    domains: [acct1.example]
    ca: [a]
  - name: ep1
    domains: [ep1.example]
    ca: [e]"
NEW="  - name: acct2
    domains: [acct2.example]
    ca: [a]
  - name: ep2
    domains: [ep2.example]
    ca: [e]"
# new_orders ID: how many newOrder requests for identifier ID reached the proxy.
new_orders() { proxy_count "endpoint=newOrder&identifier=$1"; }
# first_order_time ID: when the first newOrder for ID reached the proxy.
first_order_time() { proxy_log "endpoint=newOrder&identifier=$1" | jq '.[0].time | floor'; }
# ctl_row NAME: renewctl status's row of NAME.
ctl_row() { "$RENEWCTL" -c "$T/renewd.yaml" status 2>/dev/null | grep "^$1 "; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

proxy_fault "{\"fault\":\"rateLimited\",\"endpoint\":\"newOrder\",\"identifier\":\"acct1.example\",
    \"count\":1,\"retryAfter\":$WAIT,\"detail\":\"too many new orders recently\"}" >/dev/null ||
    bail "the proxy refused the rateLimited fault"
proxy_fault "{\"fault\":\"unavailable\",\"endpoint\":\"newOrder\",\"identifier\":\"ep1.example\",
    \"count\":1,\"retryAfter\":$WAIT}" >/dev/null || bail "the proxy refused the 503 fault"
conf "$T/renewd.yaml" "$CERTS"
spawn "$T/renewd.log" "$RENEWD" -c "$T/renewd.yaml"
PID=$LAST_PID
H=$T/state/accounts
# holds CA FILTER: jq FILTER on CA's holds.json.
holds() { jq -r "$2" "$H/$1/holds.json" 2>/dev/null; }
a_held() { [ "$(holds a '.new_orders_until // 0')" -gt 0 ]; }
e_held() { [ "$(holds e '.endpoints | length')" = 1 ]; }
holds_gone() { [ "$(holds a 'del(.version) | length')" = 0 ] && [ "$(holds e 'del(.version) | length')" = 0 ]; }
check "a's account is held: holds.json keeps the deadline" wait_for 15 a_held
check "e's newOrder URL is held: holds.json keeps it" wait_for 15 e_held
check "each hold is logged once, with its deadline" test \
    "$(grep -c "rate limited: account https://[^ ]* of CA a holds new orders until 20" "$T/renewd.log")" = 1 -a \
    "$(grep -c "unavailable: CA e holds requests to https://127.0.0.1:$PROXY_PORT/order-plz until 20" "$T/renewd.log")" = 1
held_a=$(jq .new_orders_until "$H/a/holds.json")
held_e=$(jq '.endpoints[]' "$H/e/holds.json")
t_a=$(first_order_time acct1.example)
check "the account hold ends Retry-After after the refused newOrder" \
    test $((held_a - t_a)) -ge $((WAIT - 1)) -a $((held_a - t_a)) -le $((WAIT + 1))
check "the account's hold is not the endpoint's: e is not held for new orders" \
    test "$(holds e '.new_orders_until // 0')" = 0
S=$T/state/certs/acct1/schedule.json
check "acct1 waits for the hold: schedule.json's retry_at just after it" wait_for 5 \
    sh -c "test \$(jq '.retry_at // 0' '$S') -gt $held_a"
retry=$(jq .retry_at "$S")
# columns: NAME STATE NOT-AFTER RENEWAL-DUE NEXT AT DELIVERY SERIAL LAST-ERROR
set -- $(ctl_row acct1)
check "renewctl status: acct1 is missing and held (NEXT)" test "${2:-} ${5:-}" = "missing held"
check "at schedule.json's retry_at, $(iso "$retry") (AT)" test "${6:-}" = "$(iso "$retry")"
check "for the CA's rateLimited (LAST ERROR)" test "${9:-} ${10:-}" = "a: rateLimited"
set -- $(ctl_row ep1)
check "renewctl status: ep1 retries at schedule.json's retry_at" test "${5:-} ${6:-}" = \
    "retry $(iso "$(jq .retry_at "$T/state/certs/ep1/schedule.json")")"

# kill -9 while both holds run; restart with two certificates never ordered
kill -9 "$PID"
wait "$PID" 2>/dev/null
conf "$T/renewd.yaml" "$CERTS
$NEW"
spawn "$T/renewd2.log" "$RENEWD" -c "$T/renewd.yaml"
PID=$LAST_PID
check "after the restart, both holds are read back and said" wait_for 10 sh -c \
    "grep -q 'rate limited: CA a holds new orders of its account until .*(kept from an earlier run)' '$T/renewd2.log' &&
     grep -q 'unavailable: CA e holds requests to .*/order-plz until .*(kept from an earlier run)' '$T/renewd2.log'"
check "acct2, never ordered, fails fast on a's account hold" wait_for 10 \
    grep -q "\[acct2\] order at CA a failed: .*holds new orders until" "$T/renewd2.log"
check "ep2, never ordered, fails fast on e's held newOrder" wait_for 10 \
    grep -q "\[ep2\] order at CA e failed: .*held after a 503 until" "$T/renewd2.log"
check "no newOrder reached the CA for them before the deadlines" \
    test "$(new_orders acct2.example)" = 0 -a "$(new_orders ep2.example)" = 0
all_issued() { verify_cert acct1 && verify_cert acct2 && verify_cert ep1 && verify_cert ep2; }
check "after the deadlines every certificate is issued" wait_for $((WAIT + 25)) all_issued
check "acct2's first newOrder came after a's deadline" test "$(first_order_time acct2.example)" -ge "$held_a"
check "ep2's first newOrder came after e's deadline" test "$(first_order_time ep2.example)" -ge "$held_e"
check "expired holds are dropped from holds.json" wait_for 5 holds_gone
kill "$PID"
wait "$PID"
check "renewd exits 0 on SIGTERM" test $? -eq 0

done_testing
