#!/bin/bash
# Reloads through systemd's D-Bus API (unit:), against the systemd stand-in
# on a private bus: the nginx example's "unit: nginx.service" alternative,
# whose job runs "nginx -s reload" on a real nginx; reload_mode restart;
# a job whose result is "failed"; a unit the caller may not reload.
# (Unit failures are logged in bus.c's words, "systemd: reload of UNIT: ...",
# not "reload unit UNIT: ..." like the other reload kinds.)
. "$(dirname "$0")/lib.sh"
command -v /usr/sbin/nginx >/dev/null || bail "nginx is not installed (apt-get install nginx)"

pebble_start
N=$T/nginx
D=www.unit.example
PORT=$("$top_builddir/tests/integration/freeport" 1) || bail "freeport failed"
placeholder_cert "$N/tls/$D.pem" "$N/tls/$D.key" "$D" || bail "openssl failed"
nginx_start "$N" "$(example_nginx_site "$N" "$PORT" "$D")" ||
    bail "nginx did not start: $(cat "$N/stderr.log" "$N/error.log" 2>/dev/null)"
old=$(pem_serial "$N/tls/$D.pem")

bus_start "{\"units\": {
  \"nginx.service\": {\"exec\": [\"/usr/sbin/nginx\", \"-s\", \"reload\", \"-c\", \"$N/nginx.conf\"]},
  \"other.service\": {\"result\": \"done\"},
  \"broken.service\": {\"result\": \"failed\"},
  \"secret.service\": {\"deny\": true}}}"

# www: the nginx example with its unit: alternative instead of the signal
www=$(example_entry nginx/renewd.yaml www "$N" "$PORT" "$D" -e '/signal: HUP/d' \
    -e 's|#- { unit: nginx.service }|- { unit: nginx.service }|')
printf '%s\n' "$www" | grep -q -- "- { unit: nginx.service }" ||
    bail "the example lost its unit: alternative"
write_conf "$T/renewd.yaml" "$www
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
check "DELIVERY column: www and r delivered, b and s reload-failed" \
    test "$(for n in www r b s; do status_delivery $n; done | tr '\n' ' ')" = \
    "delivered delivered reload-failed reload-failed "

done_testing
