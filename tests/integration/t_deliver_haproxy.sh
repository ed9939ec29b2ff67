#!/bin/bash
# Delivery to a real haproxy in master-worker mode, configured from
# conf/examples/haproxy/ with its reload alternative for running without
# systemd (the unit: default is t_deliver_unit.sh's): chain and key in one
# file (fullchain+key, 0640, group haproxy), "haproxy -c" then SIGUSR2 to
# the master. Then a reissue
# delivered by the daemon, and one whose configuration check fails: the
# signal is not sent, the old certificate stays served, a retry is planned.
. "$(dirname "$0")/lib.sh"
command -v /usr/sbin/haproxy >/dev/null || bail "haproxy is not installed (apt-get install haproxy)"

pebble_start
H=$T/haproxy
D=www.haproxy.example
PORT=$("$top_builddir/tests/integration/freeport" 1) || bail "freeport failed"
mkdir -p "$H/certs"
placeholder_cert "$H/placeholder.pem" "$H/placeholder.key" "$D" "$H/certs/$D.pem" ||
    bail "openssl failed"
chmod 0600 "$H/certs/$D.pem" # renewd must set the mode asked for, 0640
sed -e "s|/etc/haproxy/|$H/|g" -e "s|/run/haproxy.pid|$H/haproxy.pid|" \
    -e "s|bind :443 |bind 127.0.0.1:$PORT |" -e "s|www\.example\.org|$D|g" \
    "$top_srcdir/conf/examples/haproxy/haproxy.cfg" >"$H/haproxy.cfg"
haproxy_start "$H" "$H/haproxy.cfg" ||
    bail "haproxy did not start: $(cat "$H/haproxy.log" 2>/dev/null)"
old=$(pem_serial "$H/placeholder.pem")
check "haproxy serves its placeholder certificate" serves "$PORT" "$D" "$old"

# group haproxy comes with Debian's package; without it, no group
GROUP=haproxy
NOGROUP=()
# the group needs CAP_CHOWN (root) and the group itself
{ [ "$(id -u)" = 0 ] && getent group haproxy >/dev/null; } || { GROUP=; NOGROUP=(-e 's/, group: haproxy//'); }
entry() {
	local d=$1
	shift
	example_entry haproxy/renewd.yaml www "$H" "$PORT" "$d" "${NOGROUP[@]}" \
	    -e '/- { unit: haproxy.service }/d' -e 's|#- { signal: USR2|- { signal: USR2|' "$@"
}
write_conf "$T/renewd.yaml" "$(entry "$D")"
conf_defaults "$T/renewd.yaml" "  reload_delay: 1s"
grep -q -- "- { signal: USR2" "$T/renewd.yaml" || bail "the example lost its signal alternative"
"$RENEWD" -t -c "$T/renewd.yaml" >"$T/check.out" 2>&1
check "the example inventory entry is valid" test $? -eq 0

# --- renewd --once -------------------------------------------------------
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/once.log" 2>&1
check "renewd --once exits 0 once the certificate is delivered" test $? -eq 0
s1=$(live_serial www)
check "the certificate was issued and verifies" verify_cert www
check "haproxy serves the new certificate when --once has exited" serves_soon "$PORT" "$D" "$s1"
check "the deployed file is the live fullchain followed by the key" sh -c \
    "cat '$T/state/certs/www/live/fullchain.pem' '$T/state/certs/www/live/privkey.pem' |
     cmp -s - '$H/certs/$D.pem'"
check "mode 0640" test "$(stat -c %a "$H/certs/$D.pem")" = 640
if [ -n "$GROUP" ]; then
	check "group haproxy" test "$(stat -c %G "$H/certs/$D.pem")" = haproxy
else
	skip "group haproxy" "needs root and a haproxy group"
fi
check "the deploy is logged" \
    grep -qF "[www] deployed $H/certs/$D.pem (fullchain+key, mode 0640)" "$T/once.log"
check "haproxy -c ran" grep -q "\[www\] reload exec /usr/sbin/haproxy.*: ok$" "$T/once.log"
check "SIGUSR2 went to the master, named by its pid file" \
    grep -qF "[www] reload signal USR2 ($H/haproxy.pid): sent to pid $HAPROXY_PID" "$T/once.log"
check "haproxy reloaded once, the master kept its pid" \
    test "$(haproxy_reloads "$H") $(cat "$H/haproxy.pid")" = "1 $HAPROXY_PID"
check "the delivery is logged as verified" \
    grep -qF "[www] delivered serial $s1 (verified on 127.0.0.1:$PORT)" "$T/once.log"
check "renewctl status: delivered" test "$(status_delivery www)" = delivered

# --- the daemon, SIGHUP with one more domain -----------------------------
spawn "$T/renewd.log" "$RENEWD" -c "$T/renewd.yaml"
rpid=$LAST_PID
wait_for 15 grep -q "\[www\] serial $s1 is valid" "$T/renewd.log" ||
    bail "the daemon did not start: $(tail -n 5 "$T/renewd.log")"
write_conf "$T/renewd.yaml" "$(entry "$D, alt.$D")"
conf_defaults "$T/renewd.yaml" "  reload_delay: 1s"
kill -HUP "$rpid"
check "the added domain makes renewd reissue" \
    wait_for 30 grep -q "\[www\] installed certificate" "$T/renewd.log"
s2=$(live_serial www)
check "and deliver the new certificate, verified" \
    wait_for 30 grep -qF "[www] delivered serial $s2 (verified on 127.0.0.1:$PORT)" "$T/renewd.log"
check "a new serial" test "$s2" != "$s1"
check "haproxy serves it" serves_soon "$PORT" "$D" "$s2"
check "haproxy was reloaded once more" test "$(haproxy_reloads "$H")" = 2

# --- a configuration check that fails stops the reload -------------------
echo "	bogus_keyword_for_the_test" >>"$H/haproxy.cfg"
write_conf "$T/renewd.yaml" "$(entry "$D, alt.$D, alt2.$D")"
conf_defaults "$T/renewd.yaml" "  reload_delay: 1s"
kill -HUP "$rpid"
check "a third domain: reissued" \
    wait_for 30 sh -c "[ \$(grep -c '\[www\] installed certificate' '$T/renewd.log') = 2 ]"
s3=$(live_serial www)
# the engine logs the failure once, with the output on the same line
# (escaped, its tail), not as the spec's "...: exited with status N: <tail>"
check "haproxy -c fails: logged with its exit status and haproxy's message" \
    wait_for 30 grep -qF "[www] delivery failed: reload exec /usr/sbin/haproxy -c -f $H/haproxy.cfg: exited with status 1; output \"" "$T/renewd.log"
check "haproxy's complaint is in it" \
    grep -q "\[www\] delivery failed: .*unknown keyword 'bogus_keyword_for_the_test'" "$T/renewd.log"
wait=$(sed -n 's/.*\[www\] delivery failed: .*; retrying in \([0-9]*\) s$/\1/p' "$T/renewd.log")
check "a first retry is planned after 60 s give or take 10% (${wait:-none})" \
    test "${wait:-0}" -ge 54 -a "${wait:-0}" -le 66
check "the new file was deployed all the same" sh -c \
    "cat '$T/state/certs/www/live/fullchain.pem' '$T/state/certs/www/live/privkey.pem' |
     cmp -s - '$H/certs/$D.pem'"
check "no signal was sent: haproxy was not reloaded" test "$(haproxy_reloads "$H")" = 2
check "so haproxy still serves the previous certificate" \
    test "$s3" != "$s2" -a "$(served_serial "$PORT" "$D")" = "$s2"
check "delivery.json: reload failed" test "$(delivery_state www)" = "reload failed"
CONF=$T/renewd.yaml
check "renewctl status: reload-failed" test "$(status_delivery www)" = reload-failed
"$RENEWCTL" -c "$T/renewd.yaml" status >/dev/null 2>&1
check "and renewctl status exits 1" test $? -eq 1
kill -TERM "$rpid"
wait "$rpid"
check "the daemon exits 0 on SIGTERM" test $? -eq 0

done_testing
