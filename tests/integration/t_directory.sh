#!/bin/bash
# The harness works: a private Pebble answers, and daemon/http.c (curl multi
# on libevent) fetches its directory with TLS verified against our own root.
. "$(dirname "$0")/lib.sh"

pebble_start

out=$("$top_builddir/tests/integration/http_get" -c "$PEBBLE_CA" "$PEBBLE_DIR" 2>"$T/get.err")
check "http.c fetches Pebble's directory over verified TLS" test $? -eq 0
check "directory names newOrder" grep -q '"newOrder"' <<<"$out"
check "directory response carried no nonce but newNonce is listed" grep -q '"newNonce"' <<<"$out"

"$top_builddir/tests/integration/http_get" "$PEBBLE_DIR" >/dev/null 2>"$T/untrusted.err"
check "without the test root the TLS handshake is refused" test $? -ne 0
check "the refusal says why (certificate)" grep -qi 'certificate' "$T/untrusted.err"

# Four fetches at once over the one multi handle.
"$top_builddir/tests/integration/http_get" -c "$PEBBLE_CA" "$PEBBLE_DIR" "$PEBBLE_DIR" \
    "$PEBBLE_MGMT/roots/0" "$PEBBLE_MGMT/intermediates/0" >"$T/multi.out" 2>"$T/multi.err"
check "four concurrent fetches all succeed" test $? -eq 0
check "Pebble's root was fetched as PEM" grep -q 'BEGIN CERTIFICATE' "$PEBBLE_ROOTS"

done_testing
