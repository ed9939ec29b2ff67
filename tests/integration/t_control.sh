#!/bin/bash
# The control socket and renewctl against a running daemon (issue 9):
# status and --json show what the daemon will do (its own log and
# schedule.json say the same), renew --force gets a new serial, a failing
# renewal exits non-zero, a rejected reload prints file:line:col and the
# daemon keeps the old inventory, a user outside the socket's group is
# denied, idle, oversized and surplus clients do not keep others waiting,
# and without a daemon status reads the state directory and says so.
. "$(dirname "$0")/lib.sh"

pebble_start PEBBLE_WFE_NONCEREJECT=0
ca_proxy_start
SOCK=$T/run/control
mkdir -p "$T/run" "$T/out"

# conf EXTRA: www at Pebble (no ARI: its next moment is its renewal due
# date), mail through the fault proxy; EXTRA is appended to the top level.
conf() {
	cat >"$T/renewd.yaml" <<EOY
state_dir: $T/state
control_socket: $SOCK
http01:
  listen: ["127.0.0.1:$HTTP01_PORT"]
cas:
  - name: pebble
    directory: $PEBBLE_DIR
    ca_bundle: $PEBBLE_CA
  - name: proxy
    directory: $PROXY_DIR
    ca_bundle: $PEBBLE_CA
certificates:
  - name: www
    domains: [www.example]
    ca: [pebble]
  - name: mail
    domains: [mail.example]
    ca: [proxy]
    deploy: [ { path: $T/out/mail.pem } ]
$1
EOY
}
ctl() { "$RENEWCTL" -s "$SOCK" -c "$T/renewd.yaml" "$@"; }
js() { jq -r "select(.name == \"$1\") | $2" "$T/status.json"; }
# pyclient MODE: a raw client of the socket (tests/integration: none in C needed)
pyclient() {
	/usr/bin/python3 - "$SOCK" "$@" <<'EOPY'
import socket, sys, time
path, mode = sys.argv[1], sys.argv[2]
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s
def reply(s):
    data = b""
    s.settimeout(10)
    try:
        while not data.endswith(b"\n"):
            b = s.recv(65536)
            if not b:
                break
            data += b
    except OSError as e:
        return "error: %s" % e
    return data.decode(errors="replace").strip()
if mode == "idle":            # connect, say nothing, print what comes
    s = conn(); t = time.time(); r = reply(s)
    print("%.1f %s" % (time.time() - t, r))
elif mode == "huge":          # 1 MiB without a newline
    s = conn()
    try:
        s.sendall(b"{" + b" " * (1 << 20))
    except OSError as e:
        print("send: %s" % e)
    print(reply(s))
elif mode == "halfclose":     # the request, then shutdown(SHUT_WR) at once
    s = conn()
    s.sendall(b'{"cmd":"reload"}\n')
    s.shutdown(socket.SHUT_WR)
    print(reply(s))
elif mode == "flood":         # 32 idle clients, then one more
    held = [conn() for _ in range(32)]
    time.sleep(0.3)
    print(reply(conn()))
    import subprocess
    r = subprocess.run([sys.argv[3], "-s", path, "status"], capture_output=True)
    print("renewctl exit %d: %s" % (r.returncode, r.stderr.decode().strip()))
EOPY
}

conf ""
spawn "$T/renewd.log" "$RENEWD" -v -c "$T/renewd.yaml"
RENEWD_PID=$LAST_PID
wait_for 60 verify_cert www && wait_for 60 verify_cert mail || bail "renewd did not issue both certificates"
wait_for 10 grep -qs '"state":"delivered"' "$T/state/certs/mail/delivery.json" || bail "mail was not delivered"
check "the control socket is there, mode 0660" test "$(stat -c %a "$SOCK")" = 660
ctl status --json >"$T/status.json" || { cat "$T/status.json"; bail "status did not answer"; }
ctl status --json >"$T/status.json"
check "status --json: exit 0 when all are valid" test $? -eq 0
check "one line per certificate and an end line" test "$(wc -l <"$T/status.json")" -eq 3
check "the end line counts 2 valid" test "$(jq -r 'select(.end) | "\(.ok) \(.certificates) \(.states.valid) \(.schema)"' "$T/status.json")" = "true 2 2 1"
www=$(live_serial www)
check "www: the live serial" test "$(js www .serial)" = "$www"
check "www: its state, CA and domains" test "$(js www '"\(.state) \(.ca) \(.domains | join(","))"')" = "valid pebble www.example"
na=$(date -d "$(openssl x509 -in "$T/state/certs/www/live/cert.pem" -noout -enddate | cut -d= -f2)" +%s)
check "www: not_after is the certificate's" test "$(js www .not_after_epoch)" = "$na"
# the daemon's own plan: "installed certificate serial S ... renewal due T"
due=$(sed -n "s/.*installed certificate serial $www .*renewal due \([0-9TZ:-]*\).*/\1/p" "$T/renewd.log" | tail -n 1)
check "www: next is the renewal moment the daemon logged ($due)" \
    test "$(js www '"\(.next_action) \(.next)"')" = "renew $due"
check "www: next_epoch is the same moment" test "$(js www .next_epoch)" = "$(date -d "$due" +%s)"
check "www: no failures, no last error" test "$(js www '"\(.failures) \(.last_error)"')" = "0 null"
check "delivery: www has nothing to deliver, mail's deploy is done" \
    test "$(js www .delivery) $(js mail .delivery)" = "- delivered"

ctl status >"$T/table.txt"
check "the table: exit 0" test $? -eq 0
check "the table shows www's serial, state and renewal moment" \
    grep -Eq "^www +valid +[0-9TZ:-]+ +$www +renew +$due +0 +pebble +- +www.example +-$" "$T/table.txt"
ctl status mail nosuch >/dev/null 2>"$T/err.txt"
check "status of an unknown name: exit 1, named" test $? -eq 1 -a -n "$(grep 'nosuch: no such certificate' "$T/err.txt")"

# --- bash completion: commands, options, and names from the daemon
complete_words() {
	PATH=$top_builddir:$PATH bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _renewctl; echo "${COMPREPLY[*]}"' \
	    _ "$top_srcdir/completion/renewctl" "$@"
}
check "completion: the commands" test "$(complete_words renewctl re)" = "renew revoke reload"
check "completion: renew's options" test "$(complete_words renewctl renew --f)" = "--force"
check "completion: certificate names asked from the daemon" \
    test "$(complete_words renewctl -s "$SOCK" renew m)" = "mail"

# --- renew --force: a new serial, exit 0
ctl renew --force www >"$T/renew.txt" 2>&1
check "renew --force www: exit 0" test $? -eq 0
new=$(live_serial www)
check "a new serial is live" test -n "$new" -a "$new" != "$www"
check "renewctl printed it" grep -q "^www: issued serial $new$" "$T/renew.txt"
check "the daemon logged who asked" grep -q "control: renew --force of www asked by uid $(id -u) pid [0-9]" "$T/renewd.log"
ctl renew mail >"$T/renew2.txt" 2>&1
check "renew without --force of a valid certificate: nothing to do, exit 0" \
    test $? -eq 0 -a -n "$(grep 'mail: valid and not due' "$T/renew2.txt")"

# --- a failing renewal: non-zero exit, the error, and status shows the plan
proxy_fault '{"fault":"serverInternal","endpoint":"newOrder"}' >/dev/null || bail "proxy_fault refused"
ctl renew --force mail >"$T/fail.txt" 2>&1
check "renew --force with newOrder failing: exit 3" test $? -eq 3
check "and says why" grep -q "mail: renewal failed: .*serverInternal" "$T/fail.txt"
ctl status --json >"$T/status.json"
check "status: exit 1 with a failed certificate" test $? -eq 1
check "mail: failed once, retry next" test "$(js mail '"\(.state) \(.failures) \(.next_action)"')" = "failed 1 retry"
check "mail: the last error names its CA and problem" \
    test "$(js mail '"\(.last_error.ca) \(.last_error.type)"')" = "proxy urn:ietf:params:acme:error:serverInternal"
check "mail: next is schedule.json's retry_at" \
    test "$(js mail .next_epoch)" = "$(jq -r .retry_at "$T/state/certs/mail/schedule.json")"
proxy_clear
ctl renew --no-wait mail >"$T/nowait.txt" 2>&1
check "renew --no-wait: exit 0 at once" test $? -eq 0 -a -n "$(grep '1 renewal(s) started' "$T/nowait.txt")"

# --- reload: a broken inventory is refused with file:line:col
cp "$T/renewd.yaml" "$T/good.yaml"
conf "bogus_key: 1"
ctl reload >"$T/reload.txt" 2>&1
check "reload of a broken inventory: exit 4" test $? -eq 4
check "it prints file:line:col" grep -q "^$T/renewd.yaml:[0-9]*:[0-9]*: .*bogus_key" "$T/reload.txt"
check "the daemon runs on" kill -0 "$RENEWD_PID"
cp "$T/good.yaml" "$T/renewd.yaml"
ctl status --json >"$T/status.json"
check "with the old inventory" test "$(jq -r 'select(.end) | .certificates' "$T/status.json")" = 2
ctl reload >"$T/reload.txt" 2>&1
check "reload of a good inventory: exit 0" test $? -eq 0
# the reply comes after the parse, after the client's half-close
pyclient halfclose >"$T/half.json"
check "a client that half-closes after its request still gets the reply" \
    test "$(jq -c . "$T/half.json")" = '{"ok":true,"errors":[],"end":true}'

# --- access: the socket's mode keeps others out
if [ "$(id -u)" = 0 ]; then
	cp "$RENEWCTL" "$T/renewctl"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$T/renewctl" -s "$SOCK" status >/dev/null 2>"$T/denied.txt"
	check "a user outside the group: exit 6" test $? -eq 6
	check "permission denied, said so" grep -q "permission denied" "$T/denied.txt"
else
	# a normal user cannot become another one (and nobody may be this one)
	skip "a user outside the group: exit 6, permission denied" "needs root to run renewctl as another user"
fi

# --- clients that say nothing, too much, or come too many
pyclient idle >"$T/idle.txt" &
idle=$!
pyclient huge >"$T/huge.txt" &
huge=$!
sleep 0.5
start=$(date +%s%N)
ctl status --json >/dev/null
check "status is answered while an idle and a 1 MiB client are connected" test $? -le 1
check "within a second" test $(( ($(date +%s%N) - start) / 1000000 )) -lt 1000
wait "$idle" "$huge"
check "the idle client is closed after 5 s with an error" \
    grep -Eq '^[5-9]\.[0-9] .*"error":"no request within 5 s"' "$T/idle.txt"
check "the 1 MiB request is refused" grep -Eq 'longer than 65536 bytes|reset|Broken pipe' "$T/huge.txt"
pyclient flood "$RENEWCTL" >"$T/flood.txt"
check "a 33rd client at once gets a busy line" grep -q '"refused":true,"error":"busy' "$T/flood.txt"
check "renewctl then exits 7 and says the daemon is busy" grep -q '^renewctl exit 7: .*busy' "$T/flood.txt"
wait_for 10 sh -c "\"$RENEWCTL\" -s \"$SOCK\" status >/dev/null; [ \$? -le 1 ]"
check "and the socket serves again once they are gone" test $? -eq 0

# --- no daemon: status falls back to the state directory, renew cannot
kill "$RENEWD_PID"
wait "$RENEWD_PID"
check "the socket file is removed at exit" test ! -e "$SOCK"
ctl status >"$T/offline.txt" 2>"$T/offline.err"
rc=$?
check "offline status says the daemon is not running" grep -q "renewd is not running: reading the state directory" "$T/offline.err"
check "and prints the state directory's table (exit $rc: its own codes)" \
    test "$rc" -le 1 -a -n "$(grep -E "^www +valid .* $new " "$T/offline.txt")"
ctl renew www 2>"$T/offline.err"
check "renew without a daemon: exit 5, said so" test $? -eq 5 -a -n "$(grep 'not running' "$T/offline.err")"

# --- a stale socket file (a killed daemon's) is replaced
spawn "$T/renewd2.log" "$RENEWD" -c "$T/renewd.yaml"
pid=$LAST_PID
wait_for 10 test -S "$SOCK" || bail "no socket"
kill -9 "$pid"
wait "$pid" 2>/dev/null
spawn "$T/renewd3.log" "$RENEWD" -c "$T/renewd.yaml"
wait_for 10 sh -c "\"$RENEWCTL\" -s \"$SOCK\" status >/dev/null 2>&1; [ \$? -le 1 ]"
check "after kill -9 the next daemon replaces the stale socket" test $? -eq 0
done_testing
