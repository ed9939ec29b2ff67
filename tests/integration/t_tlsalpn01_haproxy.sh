#!/bin/bash
# tls-alpn-01 behind haproxy on the shared TLS port (issue 10, item 2):
# conf/examples/haproxy/tls-alpn-01.cfg, ports rewritten, sends Pebble's
# validator (ALPN acme-tls/1) to renewd's tlsalpn01 listener and every
# other TLS client to the web server, without terminating TLS.
. "$(dirname "$0")/lib.sh"

command -v /usr/sbin/haproxy >/dev/null || bail "haproxy is not installed (apt-get install haproxy)"
set -- $("$top_builddir/tests/integration/freeport" 3) || bail "freeport failed"
# Pebble's validator connects to tlsPort: haproxy's frontend
TLSALPN01_PORT=$1 RENEWD_ALPN=$2 WEB=$3
H=$T/haproxy
mkdir -p "$H"
sed -e "s|bind :443|bind 127.0.0.1:$TLSALPN01_PORT|" \
    -e "s|127.0.0.1:8443|127.0.0.1:$RENEWD_ALPN|" \
    -e "s|127.0.0.1:8444|127.0.0.1:$WEB|" \
    -e "s|/run/haproxy-acme.pid|$H/haproxy.pid|" \
    "$top_srcdir/conf/examples/haproxy/tls-alpn-01.cfg" >"$H/haproxy.cfg"
check "the example is what the test runs (three substitutions took)" \
    test "$(grep -v '^[[:space:]]*#' "$H/haproxy.cfg" | grep -c "$TLSALPN01_PORT\|$RENEWD_ALPN\|$WEB")" -eq 3
# the web server behind it: a certificate whose subject says so
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/web.key" -out "$T/web.crt" -subj "/CN=the web server" \
    -days 1 >/dev/null 2>&1 || bail "openssl req failed"
spawn "$T/web.log" openssl s_server -accept "127.0.0.1:$WEB" \
    -cert "$T/web.crt" -key "$T/web.key" -www -quiet
wait_for 10 sh -c "openssl s_client -connect 127.0.0.1:$WEB </dev/null 2>/dev/null | grep -q 'the web server'" ||
    bail "the stand-in web server did not start"
# haproxy_start waits for a master's pid file: this example has no master
/usr/sbin/haproxy -c -q -f "$H/haproxy.cfg" || bail "haproxy -c refused the example"
spawn "$H/haproxy.log" /usr/sbin/haproxy -f "$H/haproxy.cfg" -db
wait_for 10 sh -c "openssl s_client -connect 127.0.0.1:$TLSALPN01_PORT </dev/null 2>/dev/null | grep -q 'the web server'" ||
    bail "haproxy did not start: $(cat "$H/haproxy.log")"

pebble_start
write_conf "$T/renewd.yaml" "  - name: alpn
    domains: [alpn.example]
    challenge: tls-alpn-01"
cat >>"$T/renewd.yaml" <<EOY
tlsalpn01:
  listen: ["127.0.0.1:$RENEWD_ALPN"]
EOY
"$RENEWD" -c "$T/renewd.yaml" --once -v >"$T/renewd.log" 2>&1
check "renewd --once obtains the certificate through haproxy (exit 0)" test $? -eq 0
check "issued through tls-alpn-01, chain verifies" verify_cert alpn
check "the validator reached renewd behind haproxy" \
    grep -q "tls-alpn-01: presenting the certificate for alpn.example" "$T/renewd.log"
out=$(openssl s_client -connect "127.0.0.1:$TLSALPN01_PORT" -servername alpn.example -alpn h2 </dev/null 2>&1)
check "another ALPN through the same port reaches the web server" grep -q "the web server" <<<"$out"
out=$(openssl s_client -connect "127.0.0.1:$TLSALPN01_PORT" -servername alpn.example </dev/null 2>&1)
check "and so does a client with no ALPN" grep -q "the web server" <<<"$out"
done_testing
