#!/bin/bash
# SIGHUP with a changed inventory (issue 8, item 5): an added certificate
# is obtained; a removed one is dropped, its files stay, it is ordered no
# more; a change of domains, key type or first CA orders anew, a backup CA
# added does not; an unchanged one keeps its certificate, and its order in
# flight survives. The http-01 and tls-alpn-01 listeners move to new
# addresses in place: a validation whose answer was published on the old
# address is answered on the new one; an address that cannot be bound
# keeps the running listener.
. "$(dirname "$0")/lib.sh"

read -r A1 A2 <<EOP
$("$top_builddir/tests/integration/freeport" 2)
EOP
[ -n "${A2:-}" ] || bail "freeport failed"
pebble_start
ca_proxy_start

# Pebble validates these on 127.0.0.2, where http-01 listens after the SIGHUP.
chall_add_a inflight.example 127.0.0.2 || bail "challtestsrv refused an A record"
chall_add_a late.example 127.0.0.2 || bail "challtestsrv refused an A record"

# conf HTTP01_ADDR ALPN_PORT CERT_YAML
conf() {
	cat >"$T/renewd.yaml" <<EOY
state_dir: $T/state
http01:
  listen: ["$1"]
tlsalpn01:
  listen: ["127.0.0.1:$2"]
cas:
  - name: pebble
    directory: $PROXY_DIR
    ca_bundle: $PEBBLE_CA
    contact: ["mailto:test@example.com"]
  - name: direct
    directory: $PEBBLE_DIR
    ca_bundle: $PEBBLE_CA
defaults:
  ca: [pebble]
certificates:
$3
EOY
}
cert() { printf '  - name: %s\n    domains: [%s]\n%s' "$1" "$2" "${3:+    $3
}"; }
listening() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
not_listening() { ! listening "$@"; }
answers() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$1/x")" = 404 ]; }
# orders NAME: orders created (a badNonce retry is no second order)
orders() { proxy_count "endpoint=newOrder&status=201&identifier=$1"; }
installs() { grep -c "\[$1\] installed certificate" "$T/daemon.log"; }

# inflight's trigger waits in the proxy: its answer is out, unvalidated
proxy_fault '{"fault":"hang","endpoint":"challenge","method":"POST",
    "identifier":"inflight.example","then":"forward"}' >/dev/null ||
    bail "the proxy refused the hang"
conf "127.0.0.1:$HTTP01_PORT" "$A1" "$(cert keep keep.example
cert gone gone.example
cert change change.example
cert keyc keyc.example
cert firstca firstca.example
cert backup backup.example
cert inflight inflight.example)"
"$RENEWD" -c "$T/renewd.yaml" -v >"$T/daemon.log" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
for n in keep gone change keyc firstca backup; do
	wait_for 60 verify_cert $n || bail "$n was not obtained"
done
wait_for 30 sh -c "grep -q 'http-01: published token' '$T/daemon.log' &&
    test \$(curl -sf '$PROXY_CTL/log/count?endpoint=challenge&identifier=inflight.example' |
    jq -r .count) -ge 1" || bail "inflight's challenge was not triggered"
for n in keep change keyc firstca backup; do
	eval "serial_$n=$(live_serial $n)"
done
# the certificates ordered anew are validated on the new address too
for h in change.example more.change.example keyc.example firstca.example; do
	chall_add_a $h 127.0.0.2 || bail "challtestsrv refused an A record"
done

conf "127.0.0.2:$HTTP01_PORT" "$A2" "$(cert keep keep.example
cert change 'change.example, more.change.example'
cert keyc keyc.example 'key: ecdsa-p384'
cert firstca firstca.example 'ca: [direct, pebble]'
cert backup backup.example 'ca: [pebble, direct]'
cert inflight inflight.example
cert late late.example)"
kill -HUP "$pid"
wait_for 10 grep -q "inventory reloaded: 7 certificates" "$T/daemon.log" ||
    bail "the SIGHUP was not applied"
check "http-01 listens on the new address" answers "127.0.0.2:$HTTP01_PORT"
check "and no longer on the old one" not_listening 127.0.0.1 "$HTTP01_PORT"
check "tls-alpn-01 listens on its new port" listening 127.0.0.1 "$A2"
check "and no longer on the old one" not_listening 127.0.0.1 "$A1"

proxy_clear faults		# the validation goes to 127.0.0.2 now
check "inflight: the validation in flight was answered on the new address" \
    wait_for 40 verify_cert inflight
check "inflight: its order survived the SIGHUP (one newOrder)" test "$(orders inflight.example)" -eq 1
check "late (added): obtained on the new address" wait_for 40 verify_cert late
check "change (domains): a new order" wait_for 40 sh -c \
    "openssl x509 -in '$T/state/certs/change/live/cert.pem' -noout -ext subjectAltName | grep -q more.change.example"
check "keyc (key type): a new P-384 certificate" wait_for 40 sh -c \
    "openssl x509 -in '$T/state/certs/keyc/live/cert.pem' -noout -text | grep -q 'NIST CURVE: P-384'"
check "firstca (first CA): a new certificate, from the new first CA" \
    wait_for 40 sh -c "grep -q '\[firstca\] first CA changed: reissuing' '$T/daemon.log' &&
    test \$(grep -c '\[firstca\] installed certificate' '$T/daemon.log') -eq 2"
check "firstca: not through the old first CA" test "$(orders firstca.example)" -eq 1
check "gone: dropped" grep -q "\[gone\] no longer in the inventory: dropped" "$T/daemon.log"
check "gone: its files stay" verify_cert gone
check "keep (unchanged): the same certificate" test "$(live_serial keep)" = "$serial_keep"
check "backup (a backup CA added): the same certificate" test "$(live_serial backup)" = "$serial_backup"
check "no listener change asked for a restart" sh -c "! grep -q 'after a restart' '$T/daemon.log'"
check "keep and backup: no second order" test "$(orders keep.example)$(orders backup.example)" = 11

# an address that cannot be bound: the listener stays where it runs
conf "127.0.0.1:$PROXY_PORT" "$A2" "$(cert keep keep.example)"
kill -HUP "$pid"
check "a taken address: the inventory is still taken" \
    wait_for 10 grep -q "inventory reloaded: 1 certificates" "$T/daemon.log"
check "the error names the address" grep -q \
    "http-01: cannot bind 127.0.0.1:$PROXY_PORT: Address already in use; http-01 stays on its running addresses" "$T/daemon.log"
check "http-01 still listens where it did" answers "127.0.0.2:$HTTP01_PORT"
check "gone: no order after it left" test "$(orders gone.example)" -eq 1
kill -TERM "$pid"
wait "$pid"
check "the daemon exits 0 on SIGTERM" test $? -eq 0

done_testing
