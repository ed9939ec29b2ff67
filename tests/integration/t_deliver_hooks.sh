#!/bin/bash
# Delivery failures in the daemon, next to a real nginx: a hook that exits 1
# (the signal after it is not sent, nginx keeps the old certificate, a retry
# in about 60 s), a hook that ignores SIGTERM (killed with its process group
# at its timeout), a signal nginx ignores for certificates (USR1: verify
# finds the old certificate, "not served"), a deploy into a missing
# directory (the live certificate stays), the hooks' environment; then a
# fixed hook after SIGHUP delivers at once.
. "$(dirname "$0")/lib.sh"
command -v /usr/sbin/nginx >/dev/null || bail "nginx is not installed (apt-get install nginx)"

pebble_start
N=$T/nginx
PORT=$("$top_builddir/tests/integration/freeport" 1) || bail "freeport failed"
servers=""
for n in h v; do
	placeholder_cert "$N/tls/$n.pem" "$N/tls/$n.key" "$n.hooks.example" || bail "openssl failed"
	servers="$servers	server {
		listen 127.0.0.1:$PORT ssl;
		server_name $n.hooks.example;
		ssl_certificate $N/tls/$n.pem;
		ssl_certificate_key $N/tls/$n.key;
		return 200 \"$n\\n\";
	}
"
done
nginx_start "$N" "$servers" ||
    bail "nginx did not start: $(cat "$N/stderr.log" "$N/error.log" 2>/dev/null)"
h_old=$(pem_serial "$N/tls/h.pem")
v_old=$(pem_serial "$N/tls/v.pem")
mkdir -p "$T/out"

# HFIRST: h's first reload entry (a failing configuration check at first)
HFIRST="{ exec: [/bin/sh, -c, 'echo \"nginx: [emerg] pretend the config is broken\" >&2; exit 1'] }"
conf() {
	write_conf "$T/renewd.yaml" "  - name: h
    domains: [h.hooks.example]
    deploy:
      - { path: $N/tls/h.pem, content: fullchain }
      - { path: $N/tls/h.key, content: key, mode: \"0600\" }
    reload:
      - $HFIRST
      - { signal: HUP, pidfile: $N/nginx.pid }
  - name: t
    domains: [t.hooks.example]
    reload:
      - { exec: [/bin/sh, -c, 'trap \"\" TERM; echo \$\$ >$T/t.pid; /bin/sleep 7777; echo survived >$T/t.survived'], timeout: 1s }
      - { exec: [/usr/bin/touch, $T/t.after] }
  - name: v
    domains: [v.hooks.example]
    deploy:
      - { path: $N/tls/v.pem, content: fullchain }
      - { path: $N/tls/v.key, content: key, mode: \"0600\" }
    reload:
      - { signal: USR1, pidfile: $N/nginx.pid }
    verify: { address: \"127.0.0.1:$PORT\", timeout: 3s }
  - name: d
    domains: [d.hooks.example]
    deploy:
      - { path: $T/nonexistent/d.pem }
    reload:
      - { exec: [/usr/bin/touch, $T/d.reloaded] }
  - name: e
    domains: [e.hooks.example, www.e.hooks.example]
    deploy:
      - { path: $T/out/e.pem, content: cert }
      - { path: $T/out/e.chain, content: chain }
    reload:
      - { exec: [/bin/sh, -c, 'env >$T/e.env; readlink /proc/self/fd/0 >$T/e.stdin; printf %s \"\$1\" >$T/e.arg', sh, '\$HOME *'] }"
	conf_defaults "$T/renewd.yaml" "  reload_delay: 1s"
}
conf
"$RENEWD" -t -c "$T/renewd.yaml" >"$T/check.out" 2>&1 || bail "invalid inventory: $(cat "$T/check.out")"

spawn "$T/renewd.log" "$RENEWD" -c "$T/renewd.yaml"
rpid=$LAST_PID
# failed NAME: the "delivery failed" line of NAME
failed() { grep "\[$1\] delivery failed: " "$T/renewd.log"; }
# at LINE: the epoch second of a log line
at() { date -d "$(printf '%s' "$1" | cut -c1-19)Z" +%s; }
wait_for 60 sh -c "[ \$(grep -c 'installed certificate' '$T/renewd.log') = 5 ]" ||
    bail "renewd did not issue the 5 certificates: $(tail -n 5 "$T/renewd.log")"
wait_for 20 sh -c "grep -q '\[h\] delivery failed' '$T/renewd.log' &&
    grep -q '\[t\] delivery failed' '$T/renewd.log' && grep -q '\[v\] delivery failed' '$T/renewd.log' &&
    grep -q '\[d\] delivery failed' '$T/renewd.log' && test -s '$T/e.arg'" ||
    diag "not every delivery ended in time"

# --- h: the configuration check exits 1 -----------------------------------
line=$(failed h)
check "the failing hook is logged with its status and its stderr" \
    grep -qF "[h] delivery failed: reload exec /bin/sh -c echo \"nginx: [emerg] pretend the config is broken\" >&2; exit 1: exited with status 1; output \"nginx: [emerg] pretend the config is broken\\x0a\"; retrying in" "$T/renewd.log"
wait=$(printf '%s\n' "$line" | sed -n 's/.*; retrying in \([0-9]*\) s$/\1/p')
check "retried after 60 s give or take 10% (${wait:-none} s)" test "${wait:-0}" -ge 54 -a "${wait:-0}" -le 66
check "the entry after it was not run: no signal to nginx" sh -c \
    "! grep -q '\[h\] reload signal' '$T/renewd.log' && [ \$(grep -c 'SIGHUP' '$N/error.log') = 0 ]"
check "nginx still serves the old certificate" serves "$PORT" h.hooks.example "$h_old"
check "though the new one was deployed" cmp -s "$N/tls/h.pem" "$T/state/certs/h/live/fullchain.pem"
check "delivery.json: reload failed, 1 failure, a retry_at about a minute away" sh -c \
    "jq -e '.state == \"reload failed\" and .failures == 1 and
        (.retry_at - now | . > 40 and . < 70)' '$T/state/certs/h/delivery.json' >/dev/null"
check "renewctl status: reload-failed" test "$(status_delivery h)" = reload-failed

# --- t: a hook that ignores SIGTERM is killed at its timeout --------------
line=$(failed t)
check "the hanging hook is logged as killed after its 1 s timeout" \
    grep -q '\[t\] delivery failed: reload exec /bin/sh -c .*: killed after its timeout of 1 s (signal 9); output ""; retrying in [0-9]* s$' "$T/renewd.log"
inst=$(grep "\[t\] installed certificate" "$T/renewd.log")
took=$(( $(at "$line") - $(at "$inst") ))
check "after reload_delay + timeout + the 2 s SIGTERM grace ($took s)" test "$took" -ge 3 -a "$took" -le 8
check "its whole process group is gone (the shell and its sleep)" sh -c \
    "! kill -0 \$(cat '$T/t.pid') 2>/dev/null && ! pgrep -f 'slee[p] 7777' >/dev/null"
check "neither the rest of the hook nor the next entry ran" test ! -e "$T/t.survived" -a ! -e "$T/t.after"

# --- v: USR1 reopens nginx's logs, it does not reload it ------------------
v_new=$(live_serial v)
check "the signal was sent" grep -q "signal 10 (SIGUSR1) received from $rpid" "$N/error.log"
check "verify finds the old certificate: \"not served\", with both serials" \
    grep -qF "[v] delivery failed: verify 127.0.0.1:$PORT: serves serial $v_old, not the new serial $v_new; retrying in" "$T/renewd.log"
line=$(failed v)
inst=$(grep "\[v\] installed certificate" "$T/renewd.log")
took=$(( $(at "$line") - $(at "$inst") ))
check "after retrying for its 3 s timeout ($took s)" test "$took" -ge 3 -a "$took" -le 9
check "at error level" grep -q " error: \[v\] delivery failed: verify" "$T/renewd.log"
check "nginx indeed still serves the old one" serves "$PORT" v.hooks.example "$v_old"
check "delivery.json: not served" test "$(delivery_state v)" = "not served"
check "renewctl status: not-served" test "$(status_delivery v)" = not-served

# --- d: a deploy into a directory that does not exist ---------------------
d_serial=$(grep "\[d\] installed certificate serial" "$T/renewd.log" | sed 's/.*serial \([0-9a-f]*\) .*/\1/')
check "the deploy failure names the path and the errno text" \
    grep -q "\[d\] delivery failed: deploy $T/nonexistent/d.pem: No such file or directory; retrying in [0-9]* s$" "$T/renewd.log"
check "no directory was made, nothing was reloaded" test ! -e "$T/nonexistent" -a ! -e "$T/d.reloaded"
check "the live certificate stays the new one ($d_serial) and verifies" \
    sh -c "[ -n '$d_serial' ] && [ \"\$(openssl x509 -in '$T/state/certs/d/live/cert.pem' -noout -serial | cut -d= -f2 | tr A-F a-f | sed 's/^0*//')\" = '$d_serial' ]"
check "and is whole" verify_cert d
check "delivery.json: deploy failed" test "$(delivery_state d)" = "deploy failed"
check "renewctl status: deploy-failed" test "$(status_delivery d)" = deploy-failed

# --- e: what a hook gets ------------------------------------------------
L=$T/state/certs/e/live
check "the hook ran" wait_for 10 test -s "$T/e.arg"
check "its argv is not run through a shell" test "$(cat "$T/e.arg")" = '$HOME *'
check "stdin is /dev/null" test "$(cat "$T/e.stdin")" = /dev/null
check "RENEWD_CERT_NAME, RENEWD_CERT_NAMES, RENEWD_DOMAINS" sh -c \
    "grep -qx 'RENEWD_CERT_NAME=e' '$T/e.env' && grep -qx 'RENEWD_CERT_NAMES=e' '$T/e.env' &&
     grep -qx 'RENEWD_DOMAINS=e.hooks.example www.e.hooks.example' '$T/e.env'"
check "RENEWD_LIVE_DIR, _CERT, _CHAIN, _FULLCHAIN, _KEY name the live files" sh -c \
    "grep -qx 'RENEWD_LIVE_DIR=$L' '$T/e.env' && grep -qx 'RENEWD_CERT=$L/cert.pem' '$T/e.env' &&
     grep -qx 'RENEWD_CHAIN=$L/chain.pem' '$T/e.env' && grep -qx 'RENEWD_FULLCHAIN=$L/fullchain.pem' '$T/e.env' &&
     grep -qx 'RENEWD_KEY=$L/privkey.pem' '$T/e.env'"
check "content cert and chain deploy those parts" \
    sh -c "cmp -s '$T/out/e.pem' '$L/cert.pem' && cmp -s '$T/out/e.chain' '$L/chain.pem'"
check "e is delivered" test "$(status_delivery e)" = delivered
"$RENEWCTL" -c "$T/renewd.yaml" status >"$T/status.out" 2>&1
check "renewctl status exits 1 while deliveries fail" test $? -eq 1

# --- SIGHUP with h's check fixed: delivered at once, not in a minute ------
HFIRST="{ exec: [/usr/sbin/nginx, -t, -q, -c, $N/nginx.conf] }"
conf
kill -HUP "$rpid"
h_new=$(live_serial h)
check "h is delivered right after the SIGHUP" \
    wait_for 15 grep -q "\[h\] delivered serial $h_new$" "$T/renewd.log"
check "nginx was reloaded once, by renewd" test "$(nginx_reloads "$N") $(nginx_reloads "$N" "$rpid")" = "1 1"
# no verify for h: "delivered" comes when the signal is sent, nginx takes a moment
check "and serves h's new certificate" serves_soon "$PORT" h.hooks.example "$h_new"
check "renewctl status: h delivered" test "$(status_delivery h)" = delivered
check "the daemon is still running" kill -0 "$rpid"
kill -TERM "$rpid"
wait "$rpid"
check "and exits 0 on SIGTERM" test $? -eq 0

done_testing
