#!/bin/bash
# dns-01 by RFC 2136 against a real knot: TSIG-signed UPDATEs add and
# delete the TXT records, Pebble resolves through knot, the propagation
# check asks knot. A normal and two wildcard certificates, the records gone
# afterwards, a wrong key (BADSIG) and an open key file refused, a record
# that never appears (propagation timeout), each named.
. "$(dirname "$0")/lib.sh"

command -v knotd >/dev/null || bail "knotd is not installed (apt-get install knot)"
KNOT_PORT=$("$top_builddir/tests/integration/freeport" 1) || bail "freeport failed"
KNOT=127.0.0.1:$KNOT_PORT

# The key as keymgr writes it (knot's config takes it as is), and the same
# secret in tsig-keygen's form; a wrong secret under the same name.
keymgr -t renewd-key hmac-sha256 >"$T/knot-key.conf" || bail "keymgr failed"
secret=$(awk '$1 == "secret:" { print $2 }' "$T/knot-key.conf")
printf 'key "renewd-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' \
    "$secret" >"$T/tsig.key"
printf 'key "renewd-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' \
    "$(openssl rand -base64 32)" >"$T/wrong.key"
cp "$T/knot-key.conf" "$T/keymgr.key"
chmod 600 "$T/tsig.key" "$T/wrong.key" "$T/keymgr.key"

mkdir -p "$T/knot/db"
cat >"$T/knot/example.test.zone" <<EOZ
\$ORIGIN example.test.
\$TTL 60
@	SOA	ns.example.test. hostmaster.example.test. 1 60 60 600 60
@	NS	ns
ns	A	127.0.0.1
EOZ
cat >"$T/knot/knot.conf" <<EOK
server:
    rundir: "$T/knot"
    listen: $KNOT_PORT@127.0.0.1
    pidfile: "$T/knot/knot.pid"
database:
    storage: "$T/knot/db"
log:
  - target: stderr
    any: info
$(sed -n '/^key:/,$p' "$T/knot-key.conf")
acl:
  - id: update
    key: renewd-key
    action: update
template:
  - id: default
    storage: "$T/knot"
    zonefile-sync: -1
zone:
  - domain: example.test
    file: example.test.zone
    acl: update
EOK
sed -i "s/^    listen: .*/    listen: 127.0.0.1@$KNOT_PORT/" "$T/knot/knot.conf"
spawn "$T/knot.log" knotd -c "$T/knot/knot.conf"
wait_for 10 sh -c "kdig @127.0.0.1 -p $KNOT_PORT +short SOA example.test | grep -q hostmaster" ||
    bail "knotd did not start"

PEBBLE_DNS=$KNOT pebble_start

# knot_txt NAME: the TXT values knot serves at NAME.
knot_txt() { kdig @127.0.0.1 -p "$KNOT_PORT" +short TXT "$1"; }

# rfc_conf KEYFILE ZONE CERT_YAML: every certificate by dns-01 through knot.
rfc_conf() {
	write_conf "$T/renewd.yaml" "$3"
	cat >>"$T/renewd.yaml" <<EOY
dns01:
  rfc2136:
    server: "$KNOT"
    tsig_key_file: $1${2:+
    zone: $2}
  propagation_resolvers: ["$KNOT"]
  propagation_timeout: 20s
defaults:
  challenge: dns-01
EOY
}

rfc_conf "$T/tsig.key" "" "  - name: plain
    domains: [www.example.test]
  - name: wild
    domains: [\"*.w.example.test\"]
  - name: wildapex
    domains: [\"*.example.test\", example.test]"
"$RENEWD" -t -c "$T/renewd.yaml" >"$T/check.out" 2>&1
check "renewd -t accepts the rfc2136 section and its key file" test $? -eq 0
"$RENEWD" -c "$T/renewd.yaml" --once --log-level debug >"$T/renewd.log" 2>&1
rc=$?
check "renewd --once exits 0" test $rc -eq 0
check "plain: issued through RFC 2136, chain verifies" verify_cert plain
check "wild: *.w.example.test alone, issued" verify_cert wild
sans=$(openssl x509 -in "$T/state/certs/wildapex/live/cert.pem" -noout -ext subjectAltName 2>/dev/null)
check "wildapex: issued" verify_cert wildapex
check "wildapex: with *.example.test" grep -q "DNS:\*\.example\.test" <<<"$sans"
check "wildapex: and example.test" grep -q "DNS:example\.test" <<<"$sans"
check "the zone was found through the server's SOA" \
    grep -q "_acme-challenge.www.example.test is in zone example.test" "$T/renewd.log"
check "the propagation check saw the value at knot" \
    grep -q "\[plain\].*_acme-challenge.www.example.test: TXT visible at 1 resolver" "$T/renewd.log"
check "knot applied the signed updates (3 adds, 3 deletes at least)" \
    test "$(grep -c 'DDNS, finished, serial' "$T/knot.log")" -ge 2
check "the records are gone afterwards" sh -c "[ -z \"\$(kdig @127.0.0.1 -p $KNOT_PORT +short TXT _acme-challenge.www.example.test; kdig @127.0.0.1 -p $KNOT_PORT +short TXT _acme-challenge.example.test; kdig @127.0.0.1 -p $KNOT_PORT +short TXT _acme-challenge.w.example.test)\" ]"
check "every add had its delete answered" \
    test "$(grep -c 'rfc2136 add ' "$T/renewd.log")" -eq "$(grep -c 'deleted _acme-challenge' "$T/renewd.log")"
check "the secret is never logged" sh -c "! grep -qF '$secret' '$T/renewd.log'"

# keymgr's own file works as the key file too; a wrong secret is BADSIG.
rfc_conf "$T/keymgr.key" example.test "  - name: keymgr
    domains: [k.example.test]"
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/keymgr.log" 2>&1
check "a key file from keymgr -t: issued" verify_cert keymgr
rfc_conf "$T/wrong.key" example.test "  - name: badkey
    domains: [bad.example.test]"
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/badkey.log" 2>&1
check "wrong key: renewd --once exits 1" test $? -eq 1
check "wrong key: BADSIG named with the certificate, the record and the server" \
    grep -q "cert badkey: rfc2136 update of _acme-challenge.bad.example.test at $KNOT (zone example.test, key renewd-key): NOTAUTH, TSIG error BADSIG" "$T/badkey.log"
check "wrong key: nothing installed" test ! -e "$T/state/certs/badkey/live"

chmod 644 "$T/wrong.key"
"$RENEWD" -t -c "$T/renewd.yaml" >"$T/check2.out" 2>&1
check "a key file open to others is refused, named" \
    sh -c "test $? -ne 0 && grep -q 'tsig_key_file: $T/wrong.key is open to group or others (mode 0644); refusing' '$T/check2.out'"

# A record that never appears: a hook that does nothing, knot asked.
printf '#!/bin/sh\nexit 0\n' >"$T/quiet-hook"
chmod 755 "$T/quiet-hook"
write_conf "$T/quiet.yaml" "  - name: quiet
    domains: [quiet.example.test]"
cat >>"$T/quiet.yaml" <<EOY
dns01:
  hook: [$T/quiet-hook]
  propagation_resolvers: ["$KNOT"]
  propagation_timeout: 3s
defaults:
  challenge: dns-01
EOY
start=$(date +%s)
"$RENEWD" -c "$T/quiet.yaml" --once >"$T/quiet.log" 2>&1
check "never visible: renewd --once exits 1" test $? -eq 1
check "never visible: the timeout names the certificate, the record, the resolver" \
    grep -q "cert quiet: _acme-challenge.quiet.example.test: TXT not visible at $KNOT after 3s" "$T/quiet.log"
check "never visible: gave up after about 3 s" test $(($(date +%s) - start)) -lt 20
check "never visible: nothing installed" test ! -e "$T/state/certs/quiet/live"

done_testing
