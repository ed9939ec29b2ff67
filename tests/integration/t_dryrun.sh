#!/bin/bash
# Dry runs (issue 12 item 3): renewd --once --dry-run and renewctl renew
# --dry-run order at the CA's staging directory (the fault proxy in front
# of Pebble stands in for it) with a staging account of its own and
# throwaway keys. Nothing under the state directory's real part changes,
# no hook runs, and the report says per certificate whether a renewal
# would succeed, with the CA's problem detail when not; a CA without a
# staging directory is a clear error for its certificates.
. "$(dirname "$0")/lib.sh"

pebble_start PEBBLE_WFE_NONCEREJECT=0
ca_proxy_start
# 127.0.0.2 is loopback too, but renewd's listener is bound to 127.0.0.1 only
chall_add_a dead.example 127.0.0.2 || bail "challtestsrv add-a failed"
SOCK=$T/run/control
mkdir -p "$T/run"
printf '#!/bin/sh\necho ran >>"%s"\n' "$T/hook.ran" >"$T/hook.sh"
chmod 755 "$T/hook.sh"

# conf EXTRA: www at Pebble, staging through the proxy; EXTRA: more certificates
conf() {
	cat >"$T/renewd.yaml" <<EOY
state_dir: $T/state
control_socket: $SOCK
http01:
  listen: ["127.0.0.1:$HTTP01_PORT"]
cas:
  - name: pebble
    directory: $PEBBLE_DIR
    staging: $PROXY_DIR
    ca_bundle: $PEBBLE_CA
  - name: nostaging
    directory: $PEBBLE_DIR
    ca_bundle: $PEBBLE_CA
certificates:
  - name: www
    domains: [www.example]
    ca: pebble
    reload: [ { exec: ["$T/hook.sh"] } ]
$1
EOY
}
# everything in the state directory but the staging store and the lock's pid
snapshot() {
	(cd "$T/state" && find . -path ./staging -prune -o -print | sort &&
	    find . -path ./staging -prune -o -type f ! -name renewd.lock \
	    -print0 | sort -z | xargs -0 sha256sum)
}
ctl() { "$RENEWCTL" -s "$SOCK" -c "$T/renewd.yaml" "$@"; }

conf ""
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/issue.log" 2>&1 || bail "the first issuance failed"
verify_cert www || bail "www was not issued"
check "the real issuance ran the reload hook once" test "$(wc -l <"$T/hook.ran")" -eq 1
before=$(snapshot)
serial=$(live_serial www)

conf "  - name: dead
    domains: [dead.example]
    ca: pebble
  - name: lone
    domains: [lone.example]
    ca: nostaging"
"$RENEWD" -c "$T/renewd.yaml" --once --dry-run >"$T/dry.out" 2>"$T/dry.log"
check "--once --dry-run exits 1 when a certificate would fail" test $? -eq 1
check "www: a renewal would succeed, at the staging directory" \
    grep -qxF "www: ok: a renewal would succeed (CA pebble, staging $PROXY_DIR)" "$T/dry.out"
check "dead: would fail, with Pebble's problem and its detail" \
    grep -Eq "^dead: failed: .*urn:ietf:params:acme:error:connection.*127\.0\.0\.2" "$T/dry.out"
check "lone: its CA has no staging directory, said so" \
    grep -qxF "lone: failed: CA nostaging has no staging directory to try a renewal at: set \"staging:\" in its cas entry" "$T/dry.out"
check "the orders went to the staging directory (www, dead)" \
    test "$(proxy_count 'endpoint=newOrder&status=201')" -eq 2
check "a staging account of its own, in state/staging" \
    test -s "$T/state/staging/accounts/pebble/account.key"
check "the staging account is not the real one" test "$(jq -r .url \
    "$T/state/staging/accounts/pebble/account.json")" != "$(jq -r .url \
    "$T/state/accounts/pebble/account.json")"
check "nothing in the real state changed (no key, version, schedule)" \
    test "$(snapshot)" = "$before"
check "no hook ran" test "$(wc -l <"$T/hook.ran")" -eq 1
"$RENEWD" -c "$T/renewd.yaml" --dry-run >/dev/null 2>"$T/noonce.err"
check "--dry-run without --once: usage error, pointing at renewctl" \
    sh -c "test $? -eq 2 && grep -q 'renewctl renew --dry-run' '$T/noonce.err'"

# the running daemon, through the control socket: www is valid, not due
conf ""
spawn "$T/renewd.log" "$RENEWD" -v -c "$T/renewd.yaml"
wait_for 20 test -S "$SOCK" || bail "no control socket"
proxy_clear log
ctl renew --dry-run www >"$T/ctl.out" 2>"$T/ctl.err"
check "renewctl renew --dry-run www: exit 0" test $? -eq 0
check "renewctl: www would renew, at the staging directory" \
    grep -qxF "www: ok: a renewal would succeed (CA pebble, staging $PROXY_DIR)" "$T/ctl.out"
check "renewctl: the summary says nothing was installed" \
    grep -q "^dry run: 1 would renew, 0 would fail; nothing was installed" "$T/ctl.out"
check "the staging account was reused: no second newAccount" \
    test "$(proxy_count 'endpoint=newAccount')" -eq 0
proxy_fault '{"fault":"rateLimited","endpoint":"newOrder","retryAfter":60,"detail":"staging says: too many certificates"}' >/dev/null
ctl renew --dry-run --all >"$T/ctl2.out" 2>"$T/ctl2.err"
check "renewctl renew --dry-run --all: exit 3 when one would fail" test $? -eq 3
check "renewctl: the CA's problem and detail for www" \
    grep -q "www: a renewal would fail: .*rateLimited.*staging says: too many certificates" "$T/ctl2.err"
ctl renew --dry-run --json nosuch >"$T/ctl3.out"
check "an unknown name: a failed line, named" test "$(jq -r 'select(.name) | "\(.result) \(.error)"' "$T/ctl3.out")" = \
    "would-fail no such certificate in the inventory"
check "the daemon's live certificate is the same one" test "$(live_serial www)" = "$serial"
check "nothing in the real state changed while the daemon ran" test "$(snapshot)" = "$before"
check "still no hook run" test "$(wc -l <"$T/hook.ran")" -eq 1
ctl renew --dry-run --force www >/dev/null 2>&1
check "--dry-run --force: usage error" test $? -eq 2

done_testing
[ "$TAP_FAILED" -eq 0 ]
