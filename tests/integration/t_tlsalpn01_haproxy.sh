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
alpn_web_start "$WEB"
# haproxy_start waits for a master's pid file: this example has no master
/usr/sbin/haproxy -c -q -f "$H/haproxy.cfg" || bail "haproxy -c refused the example"
spawn "$H/haproxy.log" /usr/sbin/haproxy -f "$H/haproxy.cfg" -db
wait_for 10 alpn_web_at "$TLSALPN01_PORT" ||
    bail "haproxy did not start: $(cat "$H/haproxy.log")"

alpn_through haproxy
done_testing
