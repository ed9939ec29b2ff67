#!/bin/bash
# The harness works: a private Pebble answers, and daemon/http.c (curl multi
# on libevent) fetches its directory with TLS verified against our own root.
. "$(dirname "$0")/lib.sh"

pebble_start

out=$("$top_builddir/tests/integration/http_get" -c "$PEBBLE_CA" "$PEBBLE_DIR" 2>"$T/get.err")
check "http.c fetches Pebble's directory over verified TLS" test $? -eq 0
check "directory names newOrder" grep -q '"newOrder"' <<<"$out"
check "directory lists newNonce" grep -q '"newNonce"' <<<"$out"
check "the directory's answer carried no Replay-Nonce (http.c saw none)" \
    sh -c "! grep -q '^replay-nonce:' '$T/get.err'"
# the same parser does see one where Pebble sends it: newNonce (204)
nonce_url=$(jq -r .newNonce <<<"$out")
"$top_builddir/tests/integration/http_get" -c "$PEBBLE_CA" "$nonce_url" >/dev/null 2>"$T/nonce.err"
check "newNonce's answer does carry one, and http.c reports it" \
    grep -Eq '^replay-nonce: [A-Za-z0-9_-]{8,}$' "$T/nonce.err"

"$top_builddir/tests/integration/http_get" "$PEBBLE_DIR" >/dev/null 2>"$T/untrusted.err"
check "without the test root the TLS handshake is refused" test $? -ne 0
check "the refusal says why (certificate)" grep -qi 'certificate' "$T/untrusted.err"

# Four fetches at once over the one multi handle.
"$top_builddir/tests/integration/http_get" -c "$PEBBLE_CA" "$PEBBLE_DIR" "$PEBBLE_DIR" \
    "$PEBBLE_MGMT/roots/0" "$PEBBLE_MGMT/intermediates/0" >"$T/multi.out" 2>"$T/multi.err"
check "four concurrent fetches all succeed" test $? -eq 0
# what http.c fetched, not the harness's own copy
check "both directories came back" test "$(grep -c '"newOrder"' "$T/multi.out")" -eq 2
# contains FILE PART...: each PART's text is in FILE (answers come in any order)
contains() {
	/usr/bin/python3 -c 'import sys
d = open(sys.argv[1]).read()
sys.exit(0 if all(open(f).read().strip() in d for f in sys.argv[2:]) else 1)' "$@"
}
check "Pebble's root and intermediate came back as PEM, as the harness's curl got them" \
    contains "$T/multi.out" "$T/pebble-root.pem" "$T/pebble-int.pem"
check "and nothing else as PEM" test "$(grep -c 'BEGIN CERTIFICATE' "$T/multi.out")" -eq 2

done_testing
