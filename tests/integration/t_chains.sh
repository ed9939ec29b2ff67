#!/bin/bash
# Alternate chains and IP identifiers against a real Pebble: preferred_chain
# picks the Link rel="alternate" chain by its top issuer's name, an unknown
# name falls back to the default with a log line; 127.0.0.1 and ::1 are
# ordered as "ip" identifiers (RFC 8738), validated by http-01 on the address
# itself, and issued as iPAddress SANs; dns-01 with an IP is refused at load.
# A forged alternate (through the test double) is refused, the default kept.
. "$(dirname "$0")/lib.sh"

# no nonce rejections: a retried certificate download would take the
# "skip 1" of the forged-chain fault below, which then hits another chain
pebble_start PEBBLE_ALTERNATE_ROOTS=2 PEBBLE_WFE_NONCEREJECT=0

# the issuer names: Pebble's roots 1 and 2 head its alternate chains
cn() { openssl x509 -noout -subject -nameopt RFC2253 | sed -n 's/.*CN=\([^,]*\).*/\1/p'; }
root1=$(curl -sf --cacert "$PEBBLE_CA" "$PEBBLE_MGMT/roots/1" | cn)
root0=$(curl -sf --cacert "$PEBBLE_CA" "$PEBBLE_MGMT/roots/0" | cn)
check "Pebble has an alternate root with a name" test -n "$root1" -a "$root1" != "$root0"
diag "default root \"$root0\", alternate root 1 \"$root1\""

# the issuer of the last certificate of a live chain.pem
top_issuer_in() {
	openssl crl2pkcs7 -nocrl -certfile "$1/certs/$2/live/chain.pem" |
	    openssl pkcs7 -print_certs -noout | sed -n 's/^issuer=.*CN *= *//p' | tail -n 1
}
top_issuer() { top_issuer_in "$T/state" "$1"; }

cat >"$T/ipv6.yaml" <<EOY
  - name: alt
    domains: [alt.example]
    preferred_chain: "$root1"
  - name: unknown
    domains: [unknown.example]
    preferred_chain: "No Such Root CA"
  - name: ips
    domains: ["127.0.0.1", "0:0::1"]
EOY
write_conf "$T/renewd.yaml" "$(cat "$T/ipv6.yaml")"
# Pebble validates ::1 by connecting to it: listen there too
sed -i "s/listen: \[\"127.0.0.1:$HTTP01_PORT\"\]/listen: [\"127.0.0.1:$HTTP01_PORT\", \"[::1]:$HTTP01_PORT\"]/" "$T/renewd.yaml"

"$RENEWD" -c "$T/renewd.yaml" --once >"$T/renewd.log" 2>&1
check "renewd --once obtains the three certificates (exit 0)" test $? -eq 0
check "alt: the installed chain's top issuer is the preferred root" \
    test "$(top_issuer alt)" = "$root1"
check "alt: the log names the alternate chain used" \
    grep -q "\[alt\] using the alternate chain https://.*: its top issuer is the preferred \"$root1\"" "$T/renewd.log"
check "alt: the chain verifies to root 1" sh -c "curl -sf --cacert '$PEBBLE_CA' '$PEBBLE_MGMT/roots/1' >'$T/root1.pem' &&
    openssl verify -CAfile '$T/root1.pem' -untrusted '$T/state/certs/alt/live/chain.pem' '$T/state/certs/alt/live/cert.pem' >/dev/null"
check "unknown: the default chain is installed" test "$(top_issuer unknown)" = "$root0"
check "unknown: verifies to the default root" verify_cert unknown
check "unknown: the fallback is logged" \
    grep -q "\[unknown\] preferred chain \"No Such Root CA\" not offered (none of 2 alternate chain(s) has that top issuer): using the default chain (top issuer \"$root0\")" "$T/renewd.log"

sans=$(openssl x509 -in "$T/state/certs/ips/live/cert.pem" -noout -ext subjectAltName 2>/dev/null)
check "ips: 127.0.0.1 is an iPAddress SAN" grep -q "IP Address:127.0.0.1" <<<"$sans"
check "ips: ::1 is an iPAddress SAN" grep -q "IP Address:0:0:0:0:0:0:0:1" <<<"$sans"
check "ips: no DNS SAN" test "$(grep -c DNS: <<<"$sans")" -eq 0
check "ips: verifies, key matches" verify_cert ips

# A hostile alternate: the CA's first alternate (root 1's, the preferred)
# comes back through the test double with an issuer of the right name that
# did not sign the leaf. It is refused, and the default chain installed.
ca_proxy_start
ACME_DIRECTORY=$PROXY_DIR write_conf "$T/proxy.yaml" "  - name: forged
    domains: [forged.example]
    preferred_chain: \"$root1\""
sed -i "s|^state_dir: .*|state_dir: $T/state-proxy|" "$T/proxy.yaml"
proxy_fault '{"fault":"chainWrongIssuer","endpoint":"certificate","skip":1,"count":1}' >/dev/null
check "the fault is set" test $? -eq 0
"$RENEWD" -c "$T/proxy.yaml" --once >"$T/proxy.log" 2>&1
check "forged: renewd --once still obtains the certificate (exit 0)" test $? -eq 0
check "forged: the forged alternate is refused, naming its URL" \
    grep -q "\[forged\] alternate chain https://127.0.0.1:$PROXY_PORT/.* refused: certificate 1 of the chain is not signed by certificate 2" "$T/proxy.log"
check "forged: the default chain is installed" \
    test "$(top_issuer_in "$T/state-proxy" forged)" = "$root0"

write_conf "$T/dns.yaml" "  - name: ipdns
    domains: [ok.example, 192.0.2.7]
    challenge: dns-01"
printf 'dns01:\n  hook: [/bin/true]\n' >>"$T/dns.yaml"
"$RENEWD" -c "$T/dns.yaml" -t >"$T/dns.out" 2>&1
check "dns-01 with an IP address: refused at load (exit != 0)" test $? -ne 0
check "the error names file:line:col and the address" \
    grep -q "dns.yaml:[0-9]*:[0-9]*: domains: IP address \"192.0.2.7\" cannot be validated by dns-01" "$T/dns.out"

done_testing
