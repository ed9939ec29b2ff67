#!/bin/bash
# Delivery to a real nginx, configured from conf/examples/nginx/ with its
# reload alternatives for running without systemd (the unit: default is
# t_deliver_unit.sh's): renewd --once obtains the certificate, deploys it
# over nginx's placeholder, checks nginx's configuration, reloads it with
# SIGHUP through its pid file and verifies that the new certificate is
# served before it exits. Then the daemon, on SIGHUP with one more domain
# and the "nginx -s reload" alternative, reissues and delivers again.
. "$(dirname "$0")/lib.sh"
command -v /usr/sbin/nginx >/dev/null || bail "nginx is not installed (apt-get install nginx)"

pebble_start
N=$T/nginx
D=www.nginx.example
PORT=$("$top_builddir/tests/integration/freeport" 1) || bail "freeport failed"
placeholder_cert "$N/tls/$D.pem" "$N/tls/$D.key" "$D" || bail "openssl failed"
# modes renewd must change (the example asks for 0644 and 0600)
chmod 0640 "$N/tls/$D.pem" "$N/tls/$D.key"
nginx_start "$N" "$(example_nginx_site "$N" "$PORT" "$D")" ||
    bail "nginx did not start: $(cat "$N/stderr.log" "$N/error.log" 2>/dev/null)"
old=$(pem_serial "$N/tls/$D.pem")
check "nginx serves its placeholder certificate" serves "$PORT" "$D" "$old"

# entry DOMAINS [SED...]: the example's certificate "www" for this nginx,
# without its unit: entry, with its "nginx -t" check
entry() {
	local d=$1
	shift
	example_entry nginx/renewd.yaml www "$N" "$PORT" "$d" -e '/- { unit: nginx.service }/d' \
	    -e 's|#- { exec: \[/usr/sbin/nginx, -t|- { exec: [/usr/sbin/nginx, -t|' "$@"
}
# the signal alternative
write_conf "$T/renewd.yaml" "$(entry "$D" -e 's|#- { signal: HUP|- { signal: HUP|')"
grep -q -- "- { signal: HUP" "$T/renewd.yaml" || bail "the example lost its signal alternative"
conf_defaults "$T/renewd.yaml" "  reload_delay: 1s"
"$RENEWD" -t -c "$T/renewd.yaml" >"$T/check.out" 2>&1
check "the example inventory entry is valid" test $? -eq 0

# --- renewd --once: issue, deploy, nginx -t, SIGHUP, verify -------------
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/once.log" 2>&1 &
once_pid=$!
wait "$once_pid"
check "renewd --once exits 0 once the certificate is delivered" test $? -eq 0
s1=$(live_serial www)
check "the certificate was issued and verifies" verify_cert www
# --once must not exit before the delivery is done: its last line comes
# after the verified delivery, and nginx serves the new certificate
delivered_at=$(grep -n -F "[www] delivered serial $s1 (verified" "$T/once.log" | cut -d: -f1)
exit_at=$(grep -n -F -- "--once: " "$T/once.log" | cut -d: -f1)
check "--once logged the verified delivery (line ${delivered_at:-none}) before its exit line (${exit_at:-none})" \
    test "${delivered_at:-0}" -gt 0 -a "${delivered_at:-0}" -lt "${exit_at:-0}"
check "when --once has exited, nginx serves the new certificate" \
    serves_soon "$PORT" "$D" "$s1"
check "the deployed certificate file is the live fullchain" \
    cmp -s "$N/tls/$D.pem" "$T/state/certs/www/live/fullchain.pem"
check "the deployed key is the live key" \
    cmp -s "$N/tls/$D.key" "$T/state/certs/www/live/privkey.pem"
check "with the modes asked for (0644 and 0600)" \
    test "$(stat -c %a "$N/tls/$D.pem") $(stat -c %a "$N/tls/$D.key")" = "644 600"
check "the deploys are logged with content and mode" sh -c \
    "grep -qF '[www] deployed $N/tls/$D.pem (fullchain, mode 0644)' '$T/once.log' &&
     grep -qF '[www] deployed $N/tls/$D.key (key, mode 0600)' '$T/once.log'"
check "the configuration check ran" \
    grep -q "\[www\] reload exec /usr/sbin/nginx.*: ok$" "$T/once.log"
check "the signal is logged with nginx's pid and pid file" \
    grep -qF "[www] reload signal HUP ($N/nginx.pid): sent to pid $NGINX_PID" "$T/once.log"
check "nginx was reloaded exactly once, by renewd's own SIGHUP" \
    test "$(nginx_reloads "$N") $(nginx_reloads "$N" "$once_pid")" = "1 1"
check "the delivery is logged as verified" \
    grep -qF "[www] delivered serial $s1 (verified on 127.0.0.1:$PORT)" "$T/once.log"
check "delivery.json: delivered, for the live serial" \
    test "$(jq -r '.state + " " + .serial' "$T/state/certs/www/delivery.json" 2>/dev/null)" = "delivered $s1"
"$RENEWCTL" -c "$T/renewd.yaml" status >"$T/status.out" 2>&1
check "renewctl status exits 0" test $? -eq 0
check "its header: RENEWAL DUE, NEXT, AT, DELIVERY, SERIAL, LAST ERROR" \
    grep -q "RENEWAL DUE  *NEXT  *AT  *DELIVERY  *SERIAL  *LAST ERROR" "$T/status.out"
check "and www's DELIVERY is \"delivered\"" test "$(status_delivery www)" = delivered

# --- the daemon: a restart has nothing to deliver ------------------------
ino1=$(stat -c %i "$N/tls/$D.pem")
spawn "$T/renewd.log" "$RENEWD" -c "$T/renewd.yaml"
rpid=$LAST_PID
wait_for 15 grep -q "\[www\] serial $s1 is valid" "$T/renewd.log" ||
    bail "the daemon did not start: $(tail -n 5 "$T/renewd.log")"
sleep 2 # reload_delay (1 s) and some
check "a restart with everything delivered does not reload nginx" \
    test "$(nginx_reloads "$N")" = 1

# --- SIGHUP: one more domain (a reissue), reloads by "nginx -s reload" ---
write_conf "$T/renewd.yaml" "$(entry "$D, alt.$D" \
    -e 's|#- { exec: \[/usr/sbin/nginx, -s, reload|- { exec: [/usr/sbin/nginx, -s, reload|')"
conf_defaults "$T/renewd.yaml" "  reload_delay: 1s"
grep -q -- "- { exec: \[/usr/sbin/nginx, -s, reload" "$T/renewd.yaml" ||
    bail "the example lost its nginx -s reload alternative"
kill -HUP "$rpid"
check "the added domain makes renewd reissue" \
    wait_for 30 grep -q "\[www\] installed certificate" "$T/renewd.log"
s2=$(live_serial www)
check "and deliver the new certificate, verified" \
    wait_for 30 grep -qF "[www] delivered serial $s2 (verified on 127.0.0.1:$PORT)" "$T/renewd.log"
check "a new serial" test "$s2" != "$s1"
check "nginx serves it" serves_soon "$PORT" "$D" "$s2"
check "one more reload of nginx, not sent by renewd (by nginx -s reload)" \
    test "$(nginx_reloads "$N") $(nginx_reloads "$N" "$rpid")" = "2 0"
check "both exec entries ran and no signal" sh -c \
    "[ \$(grep -c '\[www\] reload exec /usr/sbin/nginx.*: ok$' '$T/renewd.log') = 2 ] &&
     ! grep -q '\[www\] reload signal' '$T/renewd.log'"
check "the file was replaced by a rename (new inode), not rewritten in place" \
    test "$(stat -c %i "$N/tls/$D.pem")" != "$ino1"
check "renewctl status: delivered" test "$(status_delivery www)" = delivered
kill -TERM "$rpid"
wait "$rpid"
check "the daemon exits 0 on SIGTERM" test $? -eq 0
check "nothing was logged at error level" sh -c "! grep -h ' error: ' '$T/once.log' '$T/renewd.log'"

done_testing
