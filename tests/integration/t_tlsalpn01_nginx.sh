#!/bin/bash
# tls-alpn-01 behind nginx on the shared TLS port (issue 10, item 2):
# conf/examples/nginx/tls-alpn-01.conf, ports rewritten, in a real nginx
# with the stream module: ssl_preread sends Pebble's validator (ALPN
# acme-tls/1) to renewd's tlsalpn01 listener and every other TLS client
# to the web server, without terminating TLS.
. "$(dirname "$0")/lib.sh"

MOD=/usr/lib/nginx/modules/ngx_stream_module.so
[ -x /usr/sbin/nginx ] || bail "nginx is not installed (apt-get install nginx)"
[ -f "$MOD" ] || bail "nginx's stream module is not installed (apt-get install libnginx-mod-stream)"
set -- $("$top_builddir/tests/integration/freeport" 3) || bail "freeport failed"
# Pebble's validator connects to tlsPort: nginx's stream listener
TLSALPN01_PORT=$1 RENEWD_ALPN=$2 WEB=$3
N=$T/nginx
mkdir -p "$N"
sed -e "s|listen 443;|listen 127.0.0.1:$TLSALPN01_PORT;|" -e '/listen \[::\]:443;/d' \
    -e "s|127.0.0.1:8443;|127.0.0.1:$RENEWD_ALPN;|" \
    -e "s|127.0.0.1:8444;|127.0.0.1:$WEB;|" \
    "$top_srcdir/conf/examples/nginx/tls-alpn-01.conf" >"$N/tls-alpn-01.conf"
check "the example is what the test runs (three substitutions took)" \
    test "$(grep -v '^[[:space:]]*#' "$N/tls-alpn-01.conf" | grep -c "$TLSALPN01_PORT\|$RENEWD_ALPN\|$WEB")" -eq 3
cat >"$N/nginx.conf" <<EON
load_module $MOD;
user root;
pid $N/nginx.pid;
error_log $N/error.log notice;
worker_processes 1;
events { worker_connections 64; }
include $N/tls-alpn-01.conf;
EON
alpn_web_start "$WEB"
/usr/sbin/nginx -t -q -c "$N/nginx.conf" -p "$N/" -e "$N/error.log" || bail "nginx -t refused the example"
spawn "$N/stderr.log" /usr/sbin/nginx -c "$N/nginx.conf" -p "$N/" -e "$N/error.log" -g 'daemon off;'
wait_for 10 alpn_web_at "$TLSALPN01_PORT" ||
    bail "nginx did not start: $(cat "$N/error.log" "$N/stderr.log")"

alpn_through nginx
check "and one whose ALPN only begins with acme-tls/1" \
    alpn_web_at "$TLSALPN01_PORT" -servername alpn.example -alpn acme-tls/1x
done_testing
