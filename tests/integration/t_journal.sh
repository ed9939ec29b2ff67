#!/bin/bash
# log: journal sends through sd_journal_send with CERT=, CA=, DOMAINS=,
# ORDER_URL= and a fixed MESSAGE_ID for issued / failed / delivered.
# CI has no journald: a stand-in (journal-standin.py) listens on a socket
# that a private mount namespace (unshare -m) puts at
# /run/systemd/journal/socket for renewd alone. Then the log levels:
# --log-level, the log_level key, which one wins, and SIGHUP.
. "$(dirname "$0")/lib.sh"

ISSUED=5fce52b3d6e84f638ea256b333382c9a
FAILED=e873345777ca482eb319cf2805d75074
DELIVERED=14f76005c9b349f28b1f7c656eb3e39c

pebble_start
mkdir -p "$T/run/systemd/journal" "$T/deploy"
spawn "$T/standin.log" /usr/bin/python3 "$top_srcdir/tests/integration/journal-standin.py" \
    "$T/run/systemd/journal/socket" "$T/journal.json"
wait_for 10 test -S "$T/run/systemd/journal/socket" || bail "the journal stand-in did not start"

chall_add_a bad.journal.example 127.0.0.2	# nothing answers http-01 there
write_conf "$T/renewd.yaml" "  - name: www
    domains: [www.journal.example, journal.example]
    deploy: [ { path: $T/deploy/www.pem } ]
  - name: bad
    domains: [bad.journal.example]"
sed -i '1i log: journal' "$T/renewd.yaml"

# entry ID FIELD: FIELD of the journal entry with MESSAGE_ID=ID ("" if none).
entry() {
	python3 -c 'import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("MESSAGE_ID") == sys.argv[2]:
        print(e.get(sys.argv[3], "")); break' "$T/journal.json" "$1" "$2"
}

# like VALUE GLOB: VALUE matches the shell pattern GLOB.
like() { case $1 in $2) return 0 ;; esac; return 1; }

# A private mount namespace: root's, or (a normal user) one in a user
# namespace of its own where the kernel allows it; else nothing to run in.
if [ "$(id -u)" = 0 ]; then
	ns="unshare -m"
elif unshare -r -m true 2>/dev/null; then
	ns="unshare -r -m"
else
	ns=""
fi
if [ -z "$ns" ]; then
	skip "the journal fields of issued, failed and delivered (13 checks)" \
	    "needs root or unprivileged user namespaces (unshare -r -m)"
else
	timeout 60 $ns sh -c 'mount --bind "$1/run" /run && exec "$2" --once -c "$1/renewd.yaml"' \
	    sh "$T" "$RENEWD" >"$T/once.log" 2>&1
	diag "renewd --once exited $? ($ns)"
	check "the certificate was issued" verify_cert www
	check "issued: MESSAGE_ID and CERT=" test "$(entry $ISSUED CERT)" = www
	check "issued: CA=" test "$(entry $ISSUED CA)" = pebble
	check "issued: DOMAINS= (space-separated)" \
	    test "$(entry $ISSUED DOMAINS)" = "www.journal.example journal.example"
	check "issued: ORDER_URL= is the order's URL at the CA" \
	    like "$(entry $ISSUED ORDER_URL)" "https://127.0.0.1:$PEBBLE_PORT/*order*"
	check "issued: PRIORITY=5 (notice)" test "$(entry $ISSUED PRIORITY)" = 5
	check "issued: MESSAGE" like "$(entry $ISSUED MESSAGE)" "[[]www] installed certificate serial *"
	check "issued: SYSLOG_IDENTIFIER=renewd" test "$(entry $ISSUED SYSLOG_IDENTIFIER)" = renewd
	check "failed: MESSAGE_ID with CERT=bad, CA=, PRIORITY=3" \
	    test "$(entry $FAILED CERT)/$(entry $FAILED CA)/$(entry $FAILED PRIORITY)" = bad/pebble/3
	check "failed: the order's URL is known too" like "$(entry $FAILED ORDER_URL)" "https://*"
	check "delivered: MESSAGE_ID with CERT=www" test "$(entry $DELIVERED CERT)" = www
	check "other lines about a certificate carry CERT= too (no MESSAGE_ID)" \
	    test "$(grep -c '"CERT": "bad"' "$T/journal.json")" -gt 1
	check "nothing went to stderr instead" test ! -s "$T/once.log"
fi

# ---- log levels (stderr) ----
# catches_hup PID: its SIGHUP handler is in place (it started; with
# log_level: warning it says nothing to wait for).
catches_hup() {
	local m
	# renewd itself, not the shell that forked it (whose handlers it has)
	[ "$(readlink "/proc/$1/exe")" = "$(readlink -f "$RENEWD")" ] || return 1
	m=$(awk '/^SigCgt:/ { print $2 }' "/proc/$1/status") || return 1
	[ $((0x$m & 1)) -eq 1 ]
}

cat >"$T/levels.yaml" <<EOY
log_level: warning
state_dir: $T/state2
http01:
  listen: ["127.0.0.1:$HTTP01_PORT"]
EOY
spawn "$T/levels.log" "$RENEWD" -c "$T/levels.yaml"
pid=$LAST_PID
wait_for 10 catches_hup "$pid" || bail "renewd did not start"
sed -i 's/log_level: warning/log_level: debug/' "$T/levels.yaml"
kill -HUP "$pid"
check "SIGHUP applies a changed log_level" \
    wait_for 10 grep -q "notice: log level debug (was warning)" "$T/levels.log"
check "notices before it were not logged (log_level: warning)" \
    sh -c "! grep -q 'started\|SIGHUP: reading' '$T/levels.log'"
check "debug lines after it are" wait_for 10 grep -q "debug: " "$T/levels.log"
kill -TERM "$pid"; wait "$pid"; PIDS=${PIDS/ $pid/}

rm -rf "$T/state2"
spawn "$T/opt.log" "$RENEWD" --log-level error -c "$T/levels.yaml"
pid=$LAST_PID
wait_for 10 catches_hup "$pid" || bail "renewd did not start"
printf 'log_level: [\n' >>"$T/levels.yaml"
kill -HUP "$pid"
check "--log-level error: errors are logged" \
    wait_for 10 grep -q "error: .*rejected; the running inventory" "$T/opt.log"
check "--log-level wins over log_level: debug (no notice, no debug)" \
    sh -c "! grep -q 'notice: \|info: \|debug: ' '$T/opt.log'"
kill -TERM "$pid"; wait "$pid"; PIDS=${PIDS/ $pid/}
"$RENEWD" --log-level loud -c "$T/levels.yaml" >"$T/bad.out" 2>&1
check "an unknown --log-level: exit 2, saying which" \
    sh -c "test $? -eq 2 && grep -q 'unknown level \"loud\"' '$T/bad.out'"
done_testing
