#!/bin/bash
# renewctl revoke (issue 10, item 4): the live certificate is revoked at
# its CA with the reason given (Pebble's management interface says so),
# then renewed at once with a new key (reuse_key or not); a revocation the CA refuses
# (alreadyRevoked) and an unknown name exit 8 with the reason.
. "$(dirname "$0")/lib.sh"

pebble_start PEBBLE_WFE_NONCEREJECT=0
ca_proxy_start
SOCK=$T/run/control
mkdir -p "$T/run"
cat >"$T/renewd.yaml" <<EOY
state_dir: $T/state
control_socket: $SOCK
http01:
  listen: ["127.0.0.1:$HTTP01_PORT"]
cas:
  - name: proxy
    directory: $PROXY_DIR
    ca_bundle: $PEBBLE_CA
certificates:
  - name: www
    domains: [www.example]
    reuse_key: true
EOY
ctl() { "$RENEWCTL" -s "$SOCK" -c "$T/renewd.yaml" "$@"; }
# pebble_status SERIAL: Pebble's record of a certificate, as "Status Reason"
pebble_status() {
	curl -sf --cacert "$PEBBLE_CA" "$PEBBLE_MGMT/cert-status-by-serial/$1" |
	    jq -r '"\(.Status) \(.Reason // "-")"'
}
keyhash() { openssl pkey -in "$T/state/certs/www/live/privkey.pem" -pubout | sha256sum; }

spawn "$T/renewd.log" "$RENEWD" -v -c "$T/renewd.yaml"
wait_for 60 verify_cert www || bail "renewd did not issue www"
s1=$(live_serial www)
k1=$(keyhash)
check "Pebble has the first certificate as good" test "$(pebble_status "$s1")" = "Valid -"

ctl revoke www --reason keyCompromise >"$T/out1" 2>"$T/err1"
rc=$?
check "revoke --reason keyCompromise: exit 0" test $rc -eq 0
check "it names the serial and the CA" grep -q "www: revoking serial $s1 at CA proxy" "$T/out1"
check "it reports the revocation" grep -q "www: revoked (keyCompromise); renewing now" "$T/out1"
check "Pebble has it revoked for keyCompromise (1)" test "$(pebble_status "$s1")" = "Revoked 1"
check "one revokeCert, signed with the account (kid)" \
    test "$(proxy_log 'endpoint=revokeCert&status=200' | jq -r '[.[] | .account != null] | join(",")')" = true
s2=$(live_serial www)
check "a new certificate is live" test -n "$s2" -a "$s2" != "$s1"
check "renewctl printed the new serial" grep -q "www: issued serial $s2" "$T/out1"
check "with a new key, though reuse_key is set" test "$(keyhash)" != "$k1"
k2=$(keyhash)
check "Pebble has the new one as good" test "$(pebble_status "$s2")" = "Valid -"
check "the daemon logged who asked" grep -q "control: revoke of www (keyCompromise) asked by uid $(id -u) pid" "$T/renewd.log"

# the account lost: signed with the certificate's own key (a JWK, no kid)
ctl revoke www --with-cert-key --reason cessationOfOperation >"$T/out5" 2>&1
check "revoke --with-cert-key: exit 0" test $? -eq 0
check "Pebble has it revoked for cessationOfOperation (5)" test "$(pebble_status "$s2")" = "Revoked 5"
check "that revokeCert carried no account kid" \
    test "$(proxy_log 'endpoint=revokeCert&status=200' | jq -r '[.[] | .account != null] | join(",")')" = true,false
s3=$(live_serial www)
check "after another reason reuse_key keeps the key" test "$(keyhash)" = "$k2"
check "and a new certificate is live" test -n "$s3" -a "$s3" != "$s2"

# the renewal fails (rate limited): the revoked certificate stays live
proxy_fault '{"fault":"rateLimited","endpoint":"newOrder","retryAfter":600}' >/dev/null
ctl revoke www --json --reason superseded >"$T/out2" 2>"$T/err2"
rc=$?
check "revoked but not renewed: exit 3 (a renewal failed)" test $rc -eq 3
check "--json: the revocation line" test "$(jq -r 'select(.result == "revoked") | .reason' "$T/out2")" = superseded
check "Pebble has the third revoked for superseded (4)" test "$(pebble_status "$s3")" = "Revoked 4"
check "the revoked certificate is still live" test "$(live_serial www)" = "$s3"

ctl revoke www >"$T/out3" 2>"$T/err3"
rc=$?
check "revoking it again: exit 8" test $rc -eq 8
check "the CA's problem is reported" grep -q "alreadyRevoked" "$T/err3"
check "and nothing was renewed" test "$(grep -c issued "$T/out3")" = 0

ctl revoke nosuch >/dev/null 2>"$T/err4"
rc=$?
check "an unknown name: exit 8, named" test $rc -eq 8 -a -n "$(grep -i 'no such certificate' "$T/err4")"
ctl revoke www --reason stolen >/dev/null 2>&1
check "an unknown reason: exit 2" test $? -eq 2
complete_words() {
	PATH=$top_builddir:$PATH bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _renewctl; echo "${COMPREPLY[*]}"' \
	    _ "$top_srcdir/completion/renewctl" "$@"
}
check "completion: the reasons" test "$(complete_words renewctl revoke --reason key)" = "keyCompromise"

done_testing
