#!/bin/bash
# t_ca_checks.sh - renewd installs nothing the CA issues that it should not
# trust (renewd(8) "WHAT RENEWD CHECKS"), and sends nothing to a URL that
# is not https: each fault of the test CA (tests/ca-proxy) over a valid live
# certificate leaves it in place, with an error naming what was wrong.
. "$(dirname "$0")/lib.sh"

pebble_start PEBBLE_WFE_NONCEREJECT=0
ca_proxy_start
export ACME_DIRECTORY=$PROXY_DIR

not() { ! "$@"; }
not_zero() { ! "$@" >/dev/null 2>&1; }
# conf DOMAINS [ROOTS]: certificate "live" for DOMAINS, issuer_roots ROOTS.
conf() {
	write_conf "$T/renewd.yaml" "  - name: live
    domains: [$1]"
	[ -z "${2:-}" ] || sed -i "s|^    ca_bundle: .*|&\n    issuer_roots: $2|" "$T/renewd.yaml"
}
N=0
# refused FAULT_JSON PATTERN DESC: a reissue (one more domain) with the fault
# fails, keeps the live certificate, and logs PATTERN.
refused() {
	local before log
	N=$((N + 1))
	log=$T/refused$N.log
	before=$(live_serial live)
	proxy_clear
	proxy_fault "$1" >/dev/null || bail "proxy refused $1"
	conf "live.example, extra$N.example"
	"$RENEWD" -c "$T/renewd.yaml" --once >"$log" 2>&1
	check "$3: renewd --once exits 1" test $? -eq 1
	check "$3: the live certificate is unchanged" test "$(live_serial live)" = "$before"
	check "$3: the error says what was wrong" grep -qE "$2" "$log"
	check "$3: and names the CA and the certificate" \
	    grep -qE "order at CA pebble failed: .*($PROXY_DIR|127\.0\.0\.1:$PROXY_PORT)" "$log"
}

conf live.example
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/first.log" 2>&1 || bail "first issuance failed: $(tail -3 "$T/first.log")"
check "the first certificate is issued through the proxy" verify_cert live

cert() { echo "{\"fault\":\"$1\",\"endpoint\":\"certificate\"}"; }
refused "$(cert certExpired)" "serial [0-9a-f]+: the leaf has expired" "an expired certificate"
refused "$(cert certNotYetValid)" "the leaf is not valid yet" "a certificate valid only later"
refused "$(cert certOtherNames)" "names other than the 2 ordered" "a certificate for other names"
refused "$(cert certOtherKey)" "a certificate for another key" "a certificate for another key"
refused "$(cert certSelfSigned)" "another key|self-signed" "a self-signed certificate without chain"
refused "$(cert chainWrongIssuer)" "certificate 1 of the chain is not signed by certificate 2" "a chain whose issuer did not sign the leaf"
refused "$(cert chainGarbage)" "chain: block 2 is no certificate" "a chain with a garbage block"
refused "$(cert chainLong)" "chain: [0-9]+ bytes, more than 65536" "a 1000-certificate chain"
refused '{"fault":"chainLong","endpoint":"certificate","length":12}' "chain: more than 10 certificates" "a 12-certificate chain"

# http:// URLs: refused before anything is sent in cleartext
refused '{"fault":"httpUrls","endpoint":"directory"}' \
    'directory entry "http://127.0.0.1:[0-9]+/[^"]*" is not an https:// URL' "http URLs in the directory"
check "http URLs in the directory: nothing was sent in cleartext" test "$(proxy_count scheme=http)" -eq 0
refused '{"fault":"httpUrls","endpoint":"newOrder","where":["headers"]}' \
    'Location "http://[^"]*" is not an https:// URL' "an http order Location"
check "an http order Location: nothing was sent in cleartext" test "$(proxy_count scheme=http)" -eq 0
refused '{"fault":"httpUrls","endpoint":"newOrder","where":["body"]}' \
    'request URL "http://[^"]*" is not an https:// URL' "http authorization and finalize URLs"
check "http order URLs: nothing was sent in cleartext" test "$(proxy_count scheme=http)" -eq 0
refused '{"fault":"httpUrls","endpoint":"authz","where":["body"]}' \
    'request URL "http://[^"]*" is not an https:// URL' "http challenge URLs"
check "http challenge URLs: nothing was sent in cleartext" test "$(proxy_count scheme=http)" -eq 0
refused '{"fault":"httpUrls","endpoint":"newNonce","where":["headers"]}' \
    'Link "http://[^"]*" is not an https:// URL' "an http Link (rel=index) with a nonce"
check "an http Link: nothing was sent in cleartext" test "$(proxy_count scheme=http)" -eq 0
refused '{"fault":"httpUrls","endpoint":"certificate","where":["headers"]}' \
    'Link "http://[^"]*" is not an https:// URL' "an http Link (rel=up) with the certificate"
check "an http Link with the certificate: nothing was sent in cleartext" test "$(proxy_count scheme=http)" -eq 0
proxy_clear

# issuer_roots: -t checks the file; the wrong roots refuse, Pebble's accept
conf "live.example" "$T/nonexistent.pem"
check "-t: a missing issuer_roots file is an error" not_zero "$RENEWD" -t -c "$T/renewd.yaml"
echo "not a certificate" >"$T/junk.pem"
conf "live.example" "$T/junk.pem"
check "-t: an issuer_roots file without certificates is an error" not_zero "$RENEWD" -t -c "$T/renewd.yaml"
conf "live.example" "$T/pebble-root.pem"
check "-t: Pebble's root as issuer_roots passes" "$RENEWD" -t -c "$T/renewd.yaml"
before=$(live_serial live)
conf "live.example, roots.example" "$PEBBLE_CA"
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/wrongroots.log" 2>&1
check "issuer_roots that are not the CA's: exit 1" test $? -eq 1
check "issuer_roots that are not the CA's: the live certificate is unchanged" test "$(live_serial live)" = "$before"
check "issuer_roots that are not the CA's: the error says so" \
    grep -q "the chain does not verify to issuer_roots" "$T/wrongroots.log"

# daemon mode: an expired certificate is refused and backed off, not re-ordered
proxy_clear
proxy_fault "$(cert certExpired)" >/dev/null
conf "live.example, daemon.example"
spawn "$T/daemon.log" "$RENEWD" -c "$T/renewd.yaml"
DPID=$LAST_PID
check "daemon: the expired certificate is refused and retried after a backoff" \
    wait_for 30 grep -q "attempt [0-9]* failed; next attempt in" "$T/daemon.log"
sleep 2
check "daemon: one order, no new one right away" test "$(proxy_count endpoint=newOrder)" -eq 1
check "daemon: nothing installed" not grep -q "installed certificate" "$T/daemon.log"
check "daemon: the live certificate is unchanged" test "$(live_serial live)" = "$before"
kill "$DPID"; wait "$DPID" 2>/dev/null
proxy_clear

conf "live.example, roots.example" "$T/pebble-root.pem"
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/roots.log" 2>&1
check "issuer_roots with Pebble's root: the certificate is issued" test $? -eq 0
check "issuer_roots with Pebble's root: and it is live" test "$(live_serial live)" != "$before"

done_testing
