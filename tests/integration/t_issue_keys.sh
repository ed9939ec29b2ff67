#!/bin/bash
# Key types other than the default: ecdsa-p384 and rsa-3072 (made off the loop).
. "$(dirname "$0")/lib.sh"

pebble_start

write_conf "$T/renewd.yaml" "  - name: p384
    domains: [p384.example]
    key: ecdsa-p384
  - name: rsa
    domains: [rsa.example]
    key: rsa-3072"

"$RENEWD" -c "$T/renewd.yaml" --once >"$T/renewd.log" 2>&1
check "renewd --once obtains both (exit 0)" test $? -eq 0
check "p384: chain verifies, key matches" verify_cert p384
check "rsa: chain verifies, key matches" verify_cert rsa
check "p384 certificate carries a P-384 key" sh -c \
    "openssl x509 -in '$T/state/certs/p384/live/cert.pem' -noout -text | grep -q 'NIST CURVE: P-384'"
check "rsa certificate carries a 3072-bit RSA key" sh -c \
    "openssl x509 -in '$T/state/certs/rsa/live/cert.pem' -noout -text | grep -q 'Public-Key: (3072 bit)'"

# Changing the key type reissues with the new type.
write_conf "$T/renewd.yaml" "  - name: p384
    domains: [p384.example]
    key: ecdsa-p256
  - name: rsa
    domains: [rsa.example]
    key: rsa-3072"
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/rekey.log" 2>&1
check "a changed key type is reissued (exit 0)" test $? -eq 0
check "p384 now carries a P-256 key" sh -c \
    "openssl x509 -in '$T/state/certs/p384/live/cert.pem' -noout -text | grep -q 'NIST CURVE: P-256'"
check "rsa was left alone" sh -c "! grep -q '\[rsa\] installed' '$T/rekey.log'"

done_testing
