#!/bin/bash
# The daemon skeleton: readiness, the state_dir lock, SIGHUP with a bad and a
# good inventory, journald prefixes, clean exit on SIGTERM.
. "$(dirname "$0")/lib.sh"

conf=$T/renewd.yaml
# One certificate (its CA is nowhere: it fails, and stays in the inventory),
# so a reload that lost the inventory would show.
cat >"$conf" <<EOY
state_dir: $T/state
http01:
  listen: ["127.0.0.1:$("$top_builddir/tests/integration/freeport" 1)"]
cas:
  - name: first
    directory: https://127.0.0.1:9/dir
certificates:
  - name: kept
    domains: [kept.example]
EOY
# last_status: the certificate count of the last STATUS= sent to the notify socket.
last_status() { grep -ao "STATUS=[0-9]* certificates" "$T/notify.log" | tail -n 1; }

# sd_notify goes to a datagram socket we read with socat.
spawn "$T/notify.log" socat -u UNIX-RECV:"$T/notify.sock" -
wait_for 5 test -S "$T/notify.sock" || bail "socat did not start"

NOTIFY_SOCKET=$T/notify.sock "$RENEWD" -c "$conf" >"$T/renewd.log" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
check "renewd reports READY=1 to the notify socket" wait_for 10 grep -q "READY=1" "$T/notify.log"
check "and a STATUS= line with the one certificate" grep -q "STATUS=1 certificates" "$T/notify.log"
check "the lock file holds its pid" grep -qx "$pid" "$T/state/renewd.lock"
check "state_dir is private (0700)" test "$(stat -c %a "$T/state")" = 700

# with a broken lock the second one would run on: 30 s, not forever
timeout 30 "$RENEWD" -c "$conf" >"$T/second.log" 2>&1
rc=$?
check "a second instance on the same state_dir refuses to start (exit $rc; 124: it ran on)" \
    test $rc -ne 0 -a $rc -ne 124
check "its message names the lock and the pid holding it" \
    grep -q "$T/state/renewd.lock.*$pid" "$T/second.log"

# A bad inventory on SIGHUP is rejected with all its errors; the old one runs on.
cp "$conf" "$T/good.yaml"
cat >"$conf" <<EOY
state_dir: $T/state
cas:
  - name: first
    directory: ftp://127.0.0.1/dir
    max_concurrent_orders: many
EOY
kill -HUP "$pid"
check "SIGHUP with a bad file logs each error with file:line:col" \
    wait_for 10 grep -q "renewd.yaml:4:16: " "$T/renewd.log"
check "both errors are reported" grep -q "renewd.yaml:5:28: " "$T/renewd.log"
check "the log says the running inventory stays" grep -q "running inventory stays in force" "$T/renewd.log"
check "the daemon is still running" kill -0 "$pid"
check "and still has its certificate (the STATUS sent after the refusal)" \
    test "$(last_status)" = "STATUS=1 certificates"

# A good one is taken.
cat >"$conf" <<EOY
state_dir: $T/state
cas:
  - name: first
    directory: https://127.0.0.1:9/dir
  - name: second
    directory: https://127.0.0.1:9/other
EOY
kill -HUP "$pid"
check "SIGHUP with a good file reloads it" wait_for 10 grep -q "inventory reloaded" "$T/renewd.log"

# state_dir away and back: the warning names the directory in use, and
# once it is back there is nothing to warn about.
sed "s|^state_dir: .*|state_dir: $T/other|" "$conf" >"$T/other.yaml"
cp "$conf" "$T/back.yaml"
cp "$T/other.yaml" "$conf"
kill -HUP "$pid"
wait_for 10 test "$(grep -c "inventory reloaded" "$T/renewd.log")" -eq 2
check "state_dir changed: still using the running one" \
    grep -q "state_dir changes only take effect after a restart; still using $T/state\$" "$T/renewd.log"
cp "$T/back.yaml" "$conf"
kill -HUP "$pid"
check "state_dir back again: reloaded" \
    wait_for 10 sh -c "test \$(grep -c 'inventory reloaded' '$T/renewd.log') -eq 3"
check "and no warning naming the other directory" \
    sh -c "! grep -q 'still using $T/other' '$T/renewd.log'"
check "only the one warning in all" \
    test "$(grep -c "state_dir changes only take effect" "$T/renewd.log")" -eq 1

kill -TERM "$pid"
wait "$pid"
rc=$?
check "SIGTERM exits 0" test $rc -eq 0
check "STOPPING=1 was sent" grep -q "STOPPING=1" "$T/notify.log"
check "the lock is free again: a new instance starts" \
    sh -c "'$RENEWD' -c '$conf' --once >'$T/third.log' 2>&1"

# stderr is the journal: lines carry <N> priority prefixes and no timestamps
# (log: stderr; the default, auto, would send natively to a journald there).
{ echo "log: stderr"; cat "$conf"; } >"$T/stderr.yaml"
exec 3>"$T/journal.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/journal.log") "$RENEWD" -c "$T/stderr.yaml" --once 2>&3
exec 3>&-
check "with JOURNAL_STREAM, lines start with a <N> prefix" grep -q '^<5>renewd' "$T/journal.log"
check "without it, lines start with a timestamp" grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$T/third.log"

done_testing
