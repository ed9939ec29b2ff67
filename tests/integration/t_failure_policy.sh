#!/bin/bash
# The failure policy against a real Pebble, reached twice: as CA "a"
# through the fault-injecting proxy and as CA "b" directly. A failure of
# the CA moves a certificate to the next CA (and a CA that is down opens
# its circuit breaker, a caa refusal does not); a failed validation does
# not; rate limits and 503s are held at their scope and only there.
. "$(dirname "$0")/lib.sh"

pebble_start PEBBLE_WFE_NONCEREJECT=0
ca_proxy_start
ERR=urn:ietf:params:acme:error

# conf FILE CERT_YAML: CA a (the proxy, MAX_A orders at once) and b
# (Pebble), the list [a, b] for every certificate; with ONLY_A=1, a alone.
conf() {
	{
		cat <<EOY
state_dir: $T/state
http01:
  listen: ["127.0.0.1:$HTTP01_PORT"]
cas:
  - name: a
    directory: $PROXY_DIR
    ca_bundle: $PEBBLE_CA
    max_concurrent_orders: ${MAX_A:-8}
EOY
		[ -n "${ONLY_A:-}" ] || cat <<EOY
  - name: b
    directory: $PEBBLE_DIR
    ca_bundle: $PEBBLE_CA
defaults:
  ca: [a, b]
EOY
		printf 'certificates:\n%s\n' "$2"
	} >"$1"
}
# once NAME CERT_YAML: renewd --once on that inventory; log in $T/NAME.log.
once() {
	conf "$T/$1.yaml" "$2"
	"$RENEWD" -c "$T/$1.yaml" --once >"$T/$1.log" 2>&1
}
# issued_by NAME PORT LOG: the live certificate of NAME came from CA (by its log).
issued_by() { grep -q "\[$1\] .*certificate downloaded from https://127.0.0.1:$2/" "$3"; }
not_grep() { ! grep -q "$1" "$2"; }
# direct_orders LOG: how many orders that run created at b (Pebble itself).
direct_orders() { grep -c "order created https://127.0.0.1:$PEBBLE_PORT/" "$1"; }

# --- a CA that is down: the breaker opens, b issues; the next renewal is a's again
proxy_fault '{"fault":"drop"}' >/dev/null
once down "  - name: down
    domains: [down.example]"
check "CA a down: renewd still obtains the certificate (exit 0)" test $? -eq 0
check "from CA b" issued_by down "$PEBBLE_PORT" "$T/down.log"
check "after moving on from a at once" grep -q "\[down\] trying the next CA, b" "$T/down.log"
check "a's breaker opened, once" test "$(grep -c "CA a is unavailable: circuit breaker open" "$T/down.log")" -eq 1
proxy_clear
once down-again "  - name: down
    domains: [down.example]
    key: ecdsa-p384"
check "the next renewal starts at CA a again, which is back" issued_by down "$PROXY_PORT" "$T/down-again.log"
check "and orders nothing from b" test "$(direct_orders "$T/down-again.log")" -eq 0

# --- a caa refusal: the CA's policy; b issues, the breaker stays shut
proxy_clear
proxy_fault "{\"fault\":\"serverInternal\",\"endpoint\":\"newOrder\",\"status\":403,
    \"contentType\":\"application/problem+json\",
    \"body\":\"{\\\"type\\\":\\\"$ERR:caa\\\",\\\"detail\\\":\\\"CAA forbids a\\\",\\\"status\\\":403}\"}" >/dev/null ||
    bail "the proxy refused the caa fault"
once caa "  - name: caa
    domains: [caa.example]"
check "caa at CA a: the certificate comes from b" issued_by caa "$PEBBLE_PORT" "$T/caa.log"
check "a (CA) failure, not retried at a" test "$(proxy_count endpoint=newOrder)" -eq 1 -a \
    "$(grep -c "order at CA a failed: .*$ERR:caa.* (class: CA)" "$T/caa.log")" -eq 1
check "the breaker did not open on a refusal" not_grep "circuit breaker" "$T/caa.log"

# --- a failed validation: any CA would fail alike; b is not asked
proxy_clear
chall_add_a dead.example 127.0.0.2 || bail "challtestsrv add-a failed"
once dead "  - name: dead
    domains: [dead.example]"
check "a failed validation fails the certificate (exit 1)" test $? -eq 1
check "as the domain's failure" grep -q "\[dead\] order at CA a failed: .*$ERR:connection.* (class: domain)" "$T/dead.log"
check "and says why b is not tried" grep -q "\[dead\] a domain failure: another CA would fail alike; not trying b" "$T/dead.log"
check "no order went to b" test "$(direct_orders "$T/dead.log")" -eq 0

# --- 503 on newOrder: that endpoint is held, the next order does not knock
proxy_clear
proxy_fault '{"fault":"unavailable","endpoint":"newOrder","retryAfter":60}' >/dev/null
MAX_A=1 once busy "$(cert_list busy 2 example)"
check "503 on a's newOrder: both certificates come from b (exit 0)" test $? -eq 0 -a "$(direct_orders "$T/busy.log")" -eq 2
check "a's newOrder was asked once: the second order was held back" test "$(proxy_count endpoint=newOrder)" -eq 1
check "the hold is logged once, with the endpoint and the deadline" test "$(grep -c \
    "unavailable: CA a holds requests to https://127.0.0.1:$PROXY_PORT/order-plz until 20" "$T/busy.log")" -eq 1

# --- rateLimited for the account: a's new orders wait, b goes on
proxy_clear
proxy_fault '{"fault":"rateLimited","endpoint":"newOrder","retryAfter":60,
    "detail":"too many new orders recently"}' >/dev/null
MAX_A=1 once acct "$(cert_list acct 2 example)"
check "rateLimited for the account: both certificates come from b" test $? -eq 0 -a "$(direct_orders "$T/acct.log")" -eq 2
check "a got one newOrder: the account's next one was held back" test "$(proxy_count endpoint=newOrder)" -eq 1
check "logged once: rate limited, account, CA, deadline" \
    test "$(grep -c "notice: rate limited: account https://[^ ]* of CA a holds new orders until 20" "$T/acct.log")" -eq 1

# --- rateLimited for one certificate: only it waits, until the deadline,
#     across a restart
proxy_clear
proxy_fault '{"fault":"rateLimited","endpoint":"newOrder","identifier":"limited.example","retryAfter":8,
    "count":1,"detail":"too many certificates already issued for limited.example"}' >/dev/null
ONLY_A=1 conf "$T/rl.yaml" "  - name: limited
    domains: [limited.example]
  - name: free
    domains: [free.example]"
spawn "$T/rl.log" "$RENEWD" -c "$T/rl.yaml"
RL_PID=$LAST_PID
check "the other certificate renews meanwhile" wait_for 20 verify_cert free
check "the limited one is held, logged with its scope and deadline" wait_for 5 \
    grep -q "\[limited\] rate limited: certificate limited held at CA a until 20" "$T/rl.log"
check "schedule.json keeps the hold and its CA" test "$(jq -r .hold.reason "$T/state/certs/limited/schedule.json")" = \
    "rateLimited at CA a"
check "and the last error's problem type" test "$(jq -r .last_error.type "$T/state/certs/limited/schedule.json")" = \
    "$ERR:rateLimited"
kill -9 "$RL_PID"
wait "$RL_PID" 2>/dev/null
spawn "$T/rl2.log" "$RENEWD" -c "$T/rl.yaml"
RL_PID=$LAST_PID
check "after a restart it still waits for the deadline" wait_for 10 \
    grep -q "\[limited\] 1 failed attempt(s) so far; backing off until" "$T/rl2.log"
check "and is not ordered again before it" test "$(proxy_count 'endpoint=newOrder&identifier=limited.example')" -eq 1
check "after it, the limited certificate is issued" wait_for 25 verify_cert limited
first=$(proxy_log 'endpoint=newOrder&identifier=limited.example' | jq '.[0].time')
second=$(proxy_log 'endpoint=newOrder&identifier=limited.example' | jq '.[1].time')
check "its second newOrder came no sooner than Retry-After (8 s)" \
    test "$(echo "$second - $first >= 8" | bc)" = 1
# nothing of the failure (the new certificate's ARI window may come soon)
sched_empty() { test "$(jq -c 'del(.version, .ari)' "$T/state/certs/limited/schedule.json" 2>/dev/null || echo '{}')" = '{}'; }
# the live link goes first, schedule.json right after it: wait for both
check "a success forgets the failure: schedule.json keeps none of it" \
    wait_for 5 sched_empty
kill "$RL_PID"

done_testing
