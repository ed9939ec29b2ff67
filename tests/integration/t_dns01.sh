#!/bin/bash
# dns-01 through an exec hook against a real Pebble: the hook keeps TXT
# records in pebble-challtestsrv (Pebble resolves through it, and so does
# the propagation check, pointed at its DNS port). A normal and
# a wildcard certificate, every add before any validation, a failing and a
# hanging hook, a del for every add, and the inventory check at load time.
. "$(dirname "$0")/lib.sh"

pebble_start

# The hook: "add|del NAME VALUE". challtestsrv's set-txt appends a value and
# clear-txt drops them all, so the hook keeps each name's values in a file
# and rewrites the name on every call (renewd never runs two for one name).
mkdir -p "$T/txt"
cat >"$T/dns-hook" <<EOH
#!/bin/bash
echo "\$1 \$2 \$3 \$RENEWD_DNS_ACTION \$RENEWD_DNS_NAME \$RENEWD_DNS_VALUE \$RENEWD_DOMAIN \$RENEWD_CERT_NAME" >>"$T/calls.log"
case "\$2" in
*fail*) [ "\$1" = add ] && { echo "no zone for \$2" >&2; exit 1; } ;;
*hang*) [ "\$1" = add ] && exec sleep 60 ;;
_acme-challenge.b.m.example)
	# the barrier: while b is still being added, nobody has asked for a yet
	if [ "\$1" = add ]; then
		sleep 1
		# Pebble's validator, not the propagation check, which asks challtestsrv too
		! grep -q 'Value:"a.m.example"' "$T/pebble.log" || echo "EARLY: a.m.example was validated before b.m.example was added" >>"$T/calls.log"
	fi ;;
esac
f="$T/txt/\$2"
touch "\$f"
if [ "\$1" = add ]; then echo "\$3" >>"\$f"; else grep -vxF -- "\$3" "\$f" >"\$f.new"; mv "\$f.new" "\$f"; fi
curl -sf -X POST -d "{\"host\":\"\$2.\"}" "$CHALL_MGMT/clear-txt" || exit 2
while read -r v; do
	curl -sf -X POST -d "{\"host\":\"\$2.\",\"value\":\"\$v\"}" "$CHALL_MGMT/set-txt" || exit 2
done <"\$f"
EOH
chmod 755 "$T/dns-hook"

# write_conf's inventory with a dns01 section; every certificate uses dns-01.
dns_conf() {
	write_conf "$T/renewd.yaml" "$1"
	cat >>"$T/renewd.yaml" <<EOY
dns01:
  hook: [$T/dns-hook]
  timeout: ${HOOK_TIMEOUT:-10s}
  propagation_resolvers: ["127.0.0.1:$DNS_PORT"]
  propagation_timeout: 10s
defaults:
  challenge: dns-01
EOY
}

# The inventory check: a dns-01 certificate needs the section, said at load.
write_conf "$T/nodns.yaml" "  - name: plain
    domains: [plain.example]
    challenge: dns-01"
"$RENEWD" -t -c "$T/nodns.yaml" >"$T/check.out" 2>&1
rc=$?
check "renewd -t rejects a dns-01 certificate without a dns01 section" test $rc -ne 0
check "with file:line:col, the certificate and what to add" \
    grep -q "nodns.yaml:[0-9]*:[0-9]*: certificate \"plain\" uses dns-01, but there is no dns01 section: add dns01: { hook: \[/path/to/hook\] }" "$T/check.out"

HOOK_TIMEOUT=3s dns_conf "  - name: plain
    domains: [plain.example]
  - name: wild
    domains: [\"*.w.example\", w.example]
  - name: multi
    domains: [a.m.example, b.m.example]
  - name: failing
    domains: [fail.example]
  - name: hanging
    domains: [hang.example]"
"$RENEWD" -t -c "$T/renewd.yaml" >"$T/check2.out" 2>&1
check "the inventory with a dns01 section passes renewd -t" test $? -eq 0

start=$(date +%s)
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/renewd.log" 2>&1
rc=$?
diag "renewd --once took $(($(date +%s) - start)) s"
check "renewd --once exits 1 (two certificates cannot be had)" test $rc -eq 1
check "plain: issued through dns-01, chain verifies" verify_cert plain
check "wild: issued, chain verifies" verify_cert wild
sans=$(openssl x509 -in "$T/state/certs/wild/live/cert.pem" -noout -ext subjectAltName 2>/dev/null)
check "wild: the certificate covers *.w.example" grep -q "DNS:\*\.w\.example" <<<"$sans"
check "wild: and w.example" grep -q "DNS:w\.example" <<<"$sans"
check "wild: both values were added under one name, _acme-challenge.w.example" \
    test "$(grep -c '^add _acme-challenge.w.example ' "$T/calls.log")" -eq 2
check "multi: issued" verify_cert multi
check "no name of an order was validated before all were added" \
    sh -c "! grep -q EARLY '$T/calls.log'"
check "the propagation check saw each value at challtestsrv before validation" \
    grep -q "\[plain\].*dns-01: _acme-challenge.plain.example: TXT visible at 1 resolver" "$T/renewd.log"
check "the hook gets argv and the same in RENEWD_DNS_* and RENEWD_DOMAIN" \
    grep -qx "add _acme-challenge.plain.example \([^ ]*\) add _acme-challenge.plain.example \1 plain.example plain" "$T/calls.log"

# A failing hook fails the order, naming the certificate, the name and its output.
check "failing: no certificate" test ! -e "$T/state/certs/failing/live"
check "failing: the error names the certificate, the DNS name, the exit and stderr" \
    grep -q "\[failing\].*dns-01 hook add _acme-challenge.fail.example for failing: exited 1: \"no zone for _acme-challenge.fail.example\"" "$T/renewd.log"
check "hanging: killed at its timeout, the order fails" \
    grep -q "\[hanging\].*dns-01 hook add _acme-challenge.hang.example for hanging: killed at its 3s timeout" "$T/renewd.log"

# Every add has its del, with the same name and value, whatever the outcome.
adds=$(awk '$1 == "add" { print $2, $3 }' "$T/calls.log" | sort)
dels=$(awk '$1 == "del" { print $2, $3 }' "$T/calls.log" | sort)
check "the hook was called (7 adds)" test "$(grep -c '^add ' "$T/calls.log")" -eq 7
check "a del for every add: same names, same values" test "$adds" = "$dels"
check "no TXT value is left behind" test -z "$(cat "$T"/txt/*)"
# (renewd logs no word for a lost del: look for the del itself)
check "the del of the killed add ran before exit, not lost" \
    grep -q '^del _acme-challenge.hang.example ' "$T/calls.log"

done_testing
