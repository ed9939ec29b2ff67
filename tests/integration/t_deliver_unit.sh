#!/bin/bash
# Reloads through systemd's D-Bus API (unit:), against the systemd stand-in
# on a private bus: the nginx and haproxy examples as they are (their
# default is a unit: reload), whose jobs run "nginx -s reload" on a real
# nginx and send SIGUSR2 to a real haproxy's master, as Debian's units do;
# reload_mode restart; a job whose result is "failed"; a unit the caller
# may not reload.
# (Unit failures are logged in bus.c's words, "systemd: reload of UNIT: ...",
# not "reload unit UNIT: ..." like the other reload kinds.)
. "$(dirname "$0")/lib.sh"
command -v /usr/sbin/nginx >/dev/null || bail "nginx is not installed (apt-get install nginx)"
command -v /usr/sbin/haproxy >/dev/null || bail "haproxy is not installed (apt-get install haproxy)"

pebble_start
N=$T/nginx
D=www.unit.example
read -r PORT HPORT <<EOP
$("$top_builddir/tests/integration/freeport" 2)
EOP
[ -n "$HPORT" ] || bail "freeport failed"
placeholder_cert "$N/tls/$D.pem" "$N/tls/$D.key" "$D" || bail "openssl failed"
nginx_start "$N" "$(example_nginx_site "$N" "$PORT" "$D")" ||
    bail "nginx did not start: $(cat "$N/stderr.log" "$N/error.log" 2>/dev/null)"
old=$(pem_serial "$N/tls/$D.pem")
H=$T/haproxy
HD=www.haproxy.example
mkdir -p "$H/certs"
placeholder_cert "$H/placeholder.pem" "$H/placeholder.key" "$HD" "$H/certs/$HD.pem" ||
    bail "openssl failed"
sed -e "s|/etc/haproxy/|$H/|g" -e "s|/run/haproxy.pid|$H/haproxy.pid|" \
    -e "s|bind :443 |bind 127.0.0.1:$HPORT |" -e "s|www\.example\.org|$HD|g" \
    "$top_srcdir/conf/examples/haproxy/haproxy.cfg" >"$H/haproxy.cfg"
haproxy_start "$H" "$H/haproxy.cfg" ||
    bail "haproxy did not start: $(cat "$H/haproxy.log" 2>/dev/null)"

bus_start "{\"units\": {
  \"nginx.service\": {\"exec\": [\"/usr/sbin/nginx\", \"-s\", \"reload\", \"-c\", \"$N/nginx.conf\"]},
  \"haproxy.service\": {\"exec\": [\"/bin/sh\", \"-c\", \"kill -USR2 \$(cat $H/haproxy.pid)\"]},
  \"other.service\": {\"result\": \"done\"},
  \"broken.service\": {\"result\": \"failed\"},
  \"secret.service\": {\"deny\": true}}}"

# www and hap: the examples as they are
www=$(example_entry nginx/renewd.yaml www "$N" "$PORT" "$D")
hap=$(example_entry haproxy/renewd.yaml hap "$H" "$HPORT" "$HD")
# the group needs CAP_CHOWN (root) and the group itself
{ [ "$(id -u)" = 0 ] && getent group haproxy >/dev/null; } || hap=$(printf '%s\n' "$hap" | sed 's/, group: haproxy//')
printf '%s\n' "$www" | grep -q -- "^      - { unit: nginx.service }" ||
    bail "the nginx example no longer reloads with unit:"
printf '%s\n' "$hap" | grep -q -- "^      - { unit: haproxy.service }" ||
    bail "the haproxy example no longer reloads with unit:"
write_conf "$T/renewd.yaml" "$www
$hap
  - name: r
    domains: [r.unit.example]
    reload: [ { unit: other.service, reload_mode: restart } ]
  - name: b
    domains: [b.unit.example]
    reload:
      - { unit: broken.service, timeout: 5s }
      - { exec: [/usr/bin/touch, $T/b.after] }
  - name: s
    domains: [s.unit.example]
    reload: [ { unit: secret.service } ]"
conf_defaults "$T/renewd.yaml" "  reload_delay: 1s"

"$RENEWD" -c "$T/renewd.yaml" --once >"$T/once.log" 2>&1
rc=$?
check "--once exits 1: two deliveries failed" test $rc -eq 1
s1=$(live_serial www)
check "www: the unit reload is logged with systemd's job result" \
    grep -qF "[www] reload unit nginx.service: done" "$T/once.log"
check "the stand-in got ReloadUnit nginx.service, mode replace" \
    grep -q '"method": "ReloadUnit", "unit": "nginx.service", "mode": "replace"' "$STANDIN_LOG"
check "exactly once" test "$(grep -c '"ReloadUnit", "unit": "nginx.service"' "$STANDIN_LOG")" = 1
check "its job reloaded nginx, once (not by a signal from renewd)" \
    test "$(nginx_reloads "$N") $(grep -c 'SIGHUP) received from [0-9]*' "$N/error.log")" = "1 1"
check "nginx serves the new certificate" serves_soon "$PORT" "$D" "$s1"
check "www delivered, verified" \
    grep -qF "[www] delivered serial $s1 (verified on 127.0.0.1:$PORT)" "$T/once.log"
check "reload_mode restart calls ReloadOrRestartUnit" \
    grep -q '"method": "ReloadOrRestartUnit", "unit": "other.service"' "$STANDIN_LOG"
hs=$(live_serial hap)
check "hap: haproxy -c, then the unit reload" sh -c \
    "grep -q '\[hap\] reload exec /usr/sbin/haproxy -c -f $H/haproxy.cfg: ok' '$T/once.log' &&
     grep -qF '[hap] reload unit haproxy.service: done' '$T/once.log'"
check "its job sent SIGUSR2 to haproxy's master: reloaded once" test "$(haproxy_reloads "$H")" = 1
check "haproxy serves the new certificate" serves_soon "$HPORT" "$HD" "$hs"
check "hap delivered, verified" \
    grep -qF "[hap] delivered serial $hs (verified on 127.0.0.1:$HPORT)" "$T/once.log"
check "r delivered" grep -q "\[r\] delivered serial $(live_serial r)$" "$T/once.log"
check "a job result \"failed\" is a delivery failure" \
    grep -q "\[b\] delivery failed: systemd: reload of broken.service: job result \"failed\"" "$T/once.log"
check "the entry after it did not run" test ! -e "$T/b.after"
check "b: reload failed" test "$(delivery_state b)" = "reload failed"
check "access denied names the polkit rule" \
    grep -q "\[s\] delivery failed: systemd: reload of secret.service: .*AccessDenied.*polkit rule described in renewd(8)" "$T/once.log"
check "s: reload failed" test "$(delivery_state s)" = "reload failed"
"$RENEWCTL" -c "$T/renewd.yaml" status >"$T/status.out" 2>&1
check "renewctl status exits 1" test $? -eq 1
check "DELIVERY column: www, hap and r delivered, b and s reload-failed" \
    test "$(for n in www hap r b s; do status_delivery $n; done | tr '\n' ' ')" = \
    "delivered delivered delivered reload-failed reload-failed "

done_testing
