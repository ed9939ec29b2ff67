#!/bin/bash
# tls-alpn-01 (RFC 8737) against a real Pebble: renewd's own TLS listener
# answers Pebble's validator; other ALPN and unknown names get no
# certificate; the inventory check at load time.
. "$(dirname "$0")/lib.sh"

# Pebble's validator connects to tlsPort on the address the name resolves
# to (challtestsrv answers 127.0.0.1 for every name).
TLSALPN01_PORT=$("$top_builddir/tests/integration/freeport" 1) || bail "freeport failed"
pebble_start

write_conf "$T/noalpn.yaml" "  - name: alpn
    domains: [alpn.example]
    challenge: tls-alpn-01"
"$RENEWD" -t -c "$T/noalpn.yaml" >"$T/check.out" 2>&1
rc=$?
check "renewd -t rejects a tls-alpn-01 certificate without a tlsalpn01 section" test $rc -ne 0
check "with file:line:col, the certificate and what to add" \
    grep -q "noalpn.yaml:[0-9]*:[0-9]*: certificate \"alpn\" uses tls-alpn-01, but there is no tlsalpn01 section: add tlsalpn01: { listen: \[\"\[::\]:443\"\] }" "$T/check.out"

write_conf "$T/renewd.yaml" "  - name: alpn
    domains: [alpn.example, www.alpn.example]
    challenge: tls-alpn-01
  - name: plain
    domains: [plain.example]"
cat >>"$T/renewd.yaml" <<EOY
tlsalpn01:
  listen: ["127.0.0.1:$TLSALPN01_PORT"]
EOY

"$RENEWD" -c "$T/renewd.yaml" --once -v >"$T/renewd.log" 2>&1
check "renewd --once obtains both certificates (exit 0)" test $? -eq 0
check "alpn: issued through tls-alpn-01, chain verifies" verify_cert alpn
check "plain: issued through http-01 next to it, chain verifies" verify_cert plain
check "the validator got the challenge certificate for alpn.example" \
    grep -q "tls-alpn-01: presenting the certificate for alpn.example" "$T/renewd.log"
check "and for www.alpn.example" \
    grep -q "tls-alpn-01: presenting the certificate for www.alpn.example" "$T/renewd.log"
check "Pebble tried no http-01 for them" sh -c "! grep -q 'validate w/ HTTP: http://[a-z.]*alpn.example' '$T/pebble.log'"

# The daemon's listener: no certificate for another protocol, none without
# ALPN, none for a name it does not answer for.
"$RENEWD" -c "$T/renewd.yaml" -v >"$T/daemon.log" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
wait_for 10 grep -q "started" "$T/daemon.log" || bail "renewd did not start"
probe() {
	openssl s_client -connect "127.0.0.1:$TLSALPN01_PORT" -servername "$1" \
	    ${2:+-alpn "$2"} </dev/null 2>&1
}
out=$(probe alpn.example h2)
check "ALPN h2: the handshake fails" grep -q "alert no application protocol" <<<"$out"
check "ALPN h2: no certificate was sent" grep -q "no peer certificate available" <<<"$out"
out=$(probe alpn.example)
check "no ALPN: the handshake fails, no certificate" grep -q "no peer certificate available" <<<"$out"
out=$(probe other.example acme-tls/1)
check "acme-tls/1 for a name not being validated: unrecognized name" \
    grep -q "unrecognized name" <<<"$out"
check "and no certificate" grep -q "no peer certificate available" <<<"$out"
check "the daemon logged the refusals" grep -q "tls-alpn-01: refused a handshake" "$T/daemon.log"

# A SIGHUP inventory that needs a solver renewd started without starts it.
write_conf "$T/renewd.yaml" "  - name: late
    domains: [late.example]
    challenge: dns-01"
cat >>"$T/renewd.yaml" <<EOY
dns01:
  hook: [/bin/true]
  propagation_check: false
EOY
kill -HUP "$pid"
check "SIGHUP: a dns-01 certificate renewd started without a dns01 section for is taken" \
    wait_for 10 grep -q "inventory reloaded: 1 certificates" "$T/daemon.log"
check "and its order runs the dns-01 hook" \
    wait_for 10 grep -q "late.*dns-01\|dns-01.*late" "$T/daemon.log"
kill -TERM "$pid"
wait "$pid"
check "the daemon exits 0 on SIGTERM" test $? -eq 0

done_testing
