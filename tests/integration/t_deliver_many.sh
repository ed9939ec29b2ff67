#!/bin/bash
# 20 certificates behind one nginx, each with the same reload entry (a hook
# that records its run and has nginx reload itself): issued at once by
# --once, then all reissued at once by the daemon after a SIGHUP. Each
# time nginx is reloaded exactly once and then serves all 20 new serials.
. "$(dirname "$0")/lib.sh"
command -v /usr/sbin/nginx >/dev/null || bail "nginx is not installed (apt-get install nginx)"

pebble_start
N=$T/nginx
PORT=$("$top_builddir/tests/integration/freeport" 1) || bail "freeport failed"
COUNT=20
servers=""
for i in $(seq 1 $COUNT); do
	placeholder_cert "$N/tls/m$i.pem" "$N/tls/m$i.key" "m$i.many.example" || bail "openssl failed"
	servers="$servers	server {
		listen 127.0.0.1:$PORT ssl;
		server_name m$i.many.example;
		ssl_certificate $N/tls/m$i.pem;
		ssl_certificate_key $N/tls/m$i.key;
		return 200 \"m$i\\n\";
	}
"
done
nginx_start "$N" "$servers" ||
    bail "nginx did not start: $(cat "$N/stderr.log" "$N/error.log" 2>/dev/null)"

# HOOK: one line per run with the certificates it ran for, then a reload
HOOK="echo \"\$RENEWD_CERT_NAMES\" >>$T/runs; exec /usr/sbin/nginx -s reload -c $N/nginx.conf"
# entries EXTRA: the 20 certificates, each also for EXTRA.m<i>... if given
entries() {
	local i
	for i in $(seq 1 $COUNT); do
		cat <<EOY
  - name: m$i
    domains: [m$i.many.example${1:+, $1.m$i.many.example}]
    deploy:
      - { path: $N/tls/m$i.pem, content: fullchain }
      - { path: $N/tls/m$i.key, content: key, mode: "0600" }
    reload:
      - { exec: [/bin/sh, -c, '$HOOK'], timeout: 20s }
    verify: { address: "127.0.0.1:$PORT", timeout: 10s }
EOY
	done
}
# all_served: every certificate's live serial is what nginx serves for it
all_served() {
	local i
	for i in $(seq 1 $COUNT); do
		serves_soon "$PORT" "m$i.many.example" "$(live_serial "m$i")" || return 1
	done
}
# runs_for_all LINE: line LINE of $T/runs names all 20 certificates
runs_for_all() {
	[ "$(sed -n "$1p" "$T/runs" | tr ' ' '\n' | grep -c '^m[0-9]*$')" = $COUNT ]
}

# the default reload_delay (5 s) merges what 20 parallel orders install
MAX_ORDERS=$COUNT write_conf "$T/renewd.yaml" "$(entries)"
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/once.log" 2>&1
check "--once exits 0 with all 20 issued and delivered" test $? -eq 0
check "20 certificates installed" test "$(grep -c 'installed certificate' "$T/once.log")" = $COUNT
check "the shared reload ran once" test "$(wc -l <"$T/runs")" = 1
check "for all 20 certificates (RENEWD_CERT_NAMES)" runs_for_all 1
check "nginx logged exactly one reload" test "$(nginx_reloads "$N")" = 1
check "the run is logged once per certificate" \
    test "$(grep -c '\] reload exec /bin/sh -c .*: ok$' "$T/once.log")" = $COUNT
check "all 20 deliveries verified" \
    test "$(grep -c '\] delivered serial [0-9a-f]* (verified on 127.0.0.1:'"$PORT"')$' "$T/once.log")" = $COUNT
check "nginx serves every new certificate" all_served
first=$(for i in $(seq 1 $COUNT); do live_serial "m$i"; done)

# --- the daemon: all 20 reissued at once after a SIGHUP ------------------
spawn "$T/renewd.log" "$RENEWD" -c "$T/renewd.yaml"
rpid=$LAST_PID
wait_for 20 sh -c "[ \$(grep -c 'serial [0-9a-f]* is valid' '$T/renewd.log') = $COUNT ]" ||
    bail "the daemon did not start: $(tail -n 5 "$T/renewd.log")"
MAX_ORDERS=$COUNT write_conf "$T/renewd.yaml" "$(entries alt)"
kill -HUP "$rpid"
check "all 20 are reissued" \
    wait_for 60 sh -c "[ \$(grep -c 'installed certificate' '$T/renewd.log') = $COUNT ]"
check "and delivered, verified" \
    wait_for 40 sh -c "[ \$(grep -c '\] delivered serial [0-9a-f]* (verified on' '$T/renewd.log') = $COUNT ]"
check "with one more run of the shared reload, for all 20" \
    test "$(wc -l <"$T/runs")" = 2 -a "$(runs_for_all 2 && echo y)" = y
check "and one more nginx reload" test "$(nginx_reloads "$N")" = 2
check "nginx serves every new certificate" all_served
second=$(for i in $(seq 1 $COUNT); do live_serial "m$i"; done)
check "all 20 serials changed" test "$(printf '%s\n%s\n' "$first" "$second" | sort -u | wc -l)" = $((2 * COUNT))
CONF=$T/renewd.yaml
check "renewctl status: all delivered" \
    test "$("$RENEWCTL" -c "$T/renewd.yaml" status | grep -c '^m[0-9]* .* delivered ')" = $COUNT
kill -TERM "$rpid"
wait "$rpid"
check "the daemon exits 0 on SIGTERM" test $? -eq 0

done_testing
