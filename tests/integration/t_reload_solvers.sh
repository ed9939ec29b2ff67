#!/bin/bash
# The package-install path: renewd starts with an empty inventory (no
# solver runs), a SIGHUP brings certificates; the solvers they need (the
# http-01 listener, the tls-alpn-01 listener) start then, and the
# certificates are obtained.
. "$(dirname "$0")/lib.sh"

TLSALPN01_PORT=$("$top_builddir/tests/integration/freeport" 1) || bail "freeport failed"
pebble_start

write_conf "$T/renewd.yaml" "  []"
"$RENEWD" -c "$T/renewd.yaml" -v >"$T/daemon.log" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
wait_for 10 grep -q "started: 0 certificates" "$T/daemon.log" || bail "renewd did not start"
check "with an empty inventory nothing listens on the http-01 port" \
    sh -c "! curl -s -o /dev/null http://127.0.0.1:$HTTP01_PORT/"

write_conf "$T/renewd.yaml" "  - name: web
    domains: [web.example]
  - name: alpn
    domains: [alpn.example]
    challenge: tls-alpn-01"
cat >>"$T/renewd.yaml" <<EOY
tlsalpn01:
  listen: ["127.0.0.1:$TLSALPN01_PORT"]
EOY
kill -HUP "$pid"
check "SIGHUP: the new inventory is taken" \
    wait_for 10 grep -q "inventory reloaded: 2 certificates" "$T/daemon.log"
check "and not rejected" sh -c "! grep -q 'rejected' '$T/daemon.log'"
check "web (http-01): obtained after the SIGHUP" wait_for 60 verify_cert web
check "alpn (tls-alpn-01): obtained after the SIGHUP" wait_for 60 verify_cert alpn
check "the http-01 listener answers now" \
    sh -c "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$HTTP01_PORT/x | grep -q 404"

# another SIGHUP with the same inventory re-creates nothing
kill -HUP "$pid"
check "a second SIGHUP reloads" \
    wait_for 10 sh -c "test \$(grep -c 'inventory reloaded' '$T/daemon.log') -eq 2"
check "without errors (no second bind)" sh -c "! grep -qi 'address already in use\|rejected' '$T/daemon.log'"
kill -TERM "$pid"
wait "$pid"
check "the daemon exits 0 on SIGTERM" test $? -eq 0

done_testing
