#!/bin/bash
# reuse_key: a reissue keeps the live key (same public key); without it a
# new key is made; a key type change still makes a new key.
. "$(dirname "$0")/lib.sh"

pebble_start

# pub NAME: the live key's public half.
pub() { openssl pkey -in "$T/state/certs/$1/live/privkey.pem" -pubout 2>/dev/null; }

# reuse_conf SAN KEYTYPE: "keep" reuses its key (from defaults), "fresh"
# opts out; SAN (a domain to add) makes both reissued.
reuse_conf() {
	write_conf "$T/renewd.yaml" "  - name: keep
    domains: [keep.example${1:+, $1.keep.example}]
    key: $2
  - name: fresh
    domains: [fresh.example${1:+, $1.fresh.example}]
    reuse_key: false"
	printf 'defaults:\n  reuse_key: true\n' >>"$T/renewd.yaml"
}

reuse_conf "" ecdsa-p256
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/first.log" 2>&1
check "the first issuance works (exit 0)" test $? -eq 0
keep1=$(pub keep)
fresh1=$(pub fresh)
check "with no live key yet, reuse_key makes one" grep -q "\[keep\] reuse_key: no live ecdsa-p256 key to reuse" "$T/first.log"

reuse_conf www ecdsa-p256
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/second.log" 2>&1
check "the reissue works (exit 0)" test $? -eq 0
check "both were reissued" test "$(grep -c 'installed certificate' "$T/second.log")" -eq 2
check "reuse_key: the same public key as before" test -n "$keep1" -a "$(pub keep)" = "$keep1"
check "and the new certificate carries it" verify_cert keep
check "reuse_key: false: a new key" test -n "$fresh1" -a "$(pub fresh)" != "$fresh1"

reuse_conf www ecdsa-p384
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/third.log" 2>&1
check "the key type change is reissued (exit 0)" test $? -eq 0
check "a key type change makes a new key even with reuse_key" \
    test "$(pub keep)" != "$keep1"
check "of the new type" sh -c "openssl pkey -in '$T/state/certs/keep/live/privkey.pem' -noout -text | grep -q 'NIST CURVE: P-384'"
check "and the certificate verifies" verify_cert keep

done_testing
