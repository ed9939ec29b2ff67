#!/bin/bash
# t_order_polls.sh - what renewd sends while an order is under way, counted
# at the CA proxy (tests/ca-proxy) rather than read from its log: a
# Retry-After on a challenge's or an order's answer holds the next poll
# back (RFC 8555 section 7.5.1), and an authorization that came back
# "invalid" ends the order before any finalize is sent.
. "$(dirname "$0")/lib.sh"

pebble_start PEBBLE_WFE_NONCEREJECT=0
ca_proxy_start
export ACME_DIRECTORY=$PROXY_DIR

# gap ENDPOINT_A ENDPOINT_B NAME: seconds (3 decimals) from the first
# request to A to the first request to B after it, for identifier NAME.
gap() {
	proxy_log "identifier=$3" | jq -r --arg a "$1" --arg b "$2" '
	    (map(select(.endpoint == $a)) | .[0]) as $first
	    | (map(select(.endpoint == $b and .seq > $first.seq)) | .[0]) as $next
	    | if $first == null or $next == null then "none"
	      else ($next.time - $first.time) * 1000 | round / 1000 end'
}
at_least() { [ "$1" != none ] && [ "$(echo "$1 >= $2" | bc)" = 1 ]; }
below() { [ "$1" != none ] && [ "$(echo "$1 < $2" | bc)" = 1 ]; }

# --- without Retry-After the first authorization poll follows at once
renewd_once quick
check "a certificate is issued through the proxy" verify_cert quick
g=$(gap challenge authz quick.example)
check "without Retry-After, the authorization is polled within 1 s of the challenge ($g s)" below "$g" 1
proxy_clear

# --- Retry-After: 2 on the challenge's answer: no poll before 2 s
proxy_fault '{"fault":"retryAfter","endpoint":"challenge","method":"POST","retryAfter":2,"count":1}' >/dev/null ||
    bail "the proxy refused the retryAfter fault"
renewd_once slow
check "with Retry-After on the challenge, the certificate is still issued" verify_cert slow
check "the proxy sent Retry-After: 2 with the challenge's answer" \
    test "$(proxy_count 'endpoint=challenge&faults=retryAfter')" -eq 1
g=$(gap challenge authz slow.example)
check "the authorization was polled no sooner than 2 s later ($g s)" at_least "$g" 2
proxy_clear

# --- Retry-After: 2 on the finalize answer: the order is polled no sooner
proxy_fault '{"fault":"retryAfter","endpoint":"finalize","retryAfter":2,"count":1}' >/dev/null
renewd_once fin
check "with Retry-After on finalize, the certificate is still issued" verify_cert fin
g=$(gap finalize order fin.example)
check "the order was polled no sooner than 2 s after finalize ($g s)" at_least "$g" 2
proxy_clear

# --- an invalid authorization: the order ends, no finalize is sent
# 127.0.0.2 is loopback, but renewd's listener is on 127.0.0.1 only.
chall_add_a dead.example 127.0.0.2 || bail "challtestsrv add-a failed"
renewd_once dead
check "an authorization that fails validation: --once exits 1" test $? -eq 1
check "the error is the failed challenge's, class domain" \
    grep -q "\[dead\] order at CA pebble failed: .*error:connection: .*(class: domain)" "$T/dead.log"
check "and sent no finalize for that order" \
    test "$(proxy_count 'endpoint=finalize&identifier=dead.example')" -eq 0
check "nor asked for a certificate" \
    test "$(proxy_count 'endpoint=certificate&identifier=dead.example')" -eq 0

done_testing
