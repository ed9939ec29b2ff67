#!/bin/bash
# sd_notify (issue 9, item 4), seen by a stand-in NOTIFY_SOCKET: READY=1 at
# start; with WATCHDOG_USEC, WATCHDOG=1 at about half the interval from
# the event loop (none while the process is stopped); on SIGHUP
# RELOADING=1 with MONOTONIC_USEC, then READY=1 once the new inventory is
# applied, and also when it is rejected; STOPPING=1 on SIGTERM.
. "$(dirname "$0")/lib.sh"

# The stand-in: every datagram as one line, "<CLOCK_MONOTONIC µs> <fields
# joined by |>", so the test can time pings and check MONOTONIC_USEC.
NOTIFY=$T/notify.sock
spawn "$T/notify.out" /usr/bin/python3 -u -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
with open(sys.argv[2], "a") as log:
    while True:
        msg = s.recv(4096).decode()
        now = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        log.write("%d %s\n" % (now, msg.strip().replace("\n", "|")))
        log.flush()
' "$NOTIFY" "$T/notify.log"
wait_for 10 grep -q bound "$T/notify.out" || bail "the NOTIFY_SOCKET stand-in did not start"

printf 'state_dir: %s/state\n' "$T" >"$T/renewd.yaml"
# 400 ms: pings every 200 ms
spawn "$T/daemon.log" env NOTIFY_SOCKET="$NOTIFY" WATCHDOG_USEC=400000 \
    "$RENEWD" -c "$T/renewd.yaml"
pid=$LAST_PID
count() { grep -c "$1" "$T/notify.log" 2>/dev/null || true; }
# more_than PATTERN N: more than N lines match (counted anew at each call)
more_than() { [ "$(count "$1")" -gt "$2" ]; }
check "READY=1 at start" wait_for 10 grep -q " READY=1" "$T/notify.log"
start=$(sed -n 's/ READY=1.*//p' "$T/notify.log" | head -n 1)
sleep 2.1
pings=$(awk -v s="$start" '/ WATCHDOG=1$/ && $1 >= s && $1 <= s + 2000000' "$T/notify.log" | wc -l)
diag "WATCHDOG=1 pings in the 2 s after READY=1: $pings (expected about 10)"
check "WATCHDOG=1 about every 200 ms (8..12 in 2 s)" test "$pings" -ge 8 -a "$pings" -le 12
gaps=$(awk '/ WATCHDOG=1$/ { if (p) print int(($1 - p) / 1000); p = $1 }' "$T/notify.log" |
    sort -n | tr '\n' ' ')
diag "gaps between pings, ms: $gaps"
median=$(tr ' ' '\n' <<<"$gaps" | sed '/^$/d' | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
check "the median gap is half of WATCHDOG_USEC (150..260 ms)" test "${median:-0}" -ge 150 -a "${median:-0}" -le 260
check "renewd says it pings" grep -q "watchdog: WATCHDOG_USEC=400000, a ping every 200 ms" "$T/daemon.log"

# A stopped process sends nothing: the pings come from the process itself.
kill -STOP "$pid"
sleep 0.3
before=$(count " WATCHDOG=1$")
sleep 1
after=$(count " WATCHDOG=1$")
kill -CONT "$pid"
check "no ping while the process is stopped" test "$before" -eq "$after"

# SIGHUP with a good inventory
ready=$(count " READY=1")
kill -HUP "$pid"
check "SIGHUP: RELOADING=1 with MONOTONIC_USEC" \
    wait_for 10 grep -q " RELOADING=1|MONOTONIC_USEC=[0-9][0-9]*$" "$T/notify.log"
line=$(grep " RELOADING=1|MONOTONIC_USEC=" "$T/notify.log" | tail -n 1)
recv=${line%% *}
sent=${line##*MONOTONIC_USEC=}
diag "MONOTONIC_USEC=$sent, received at $recv (CLOCK_MONOTONIC µs)"
check "MONOTONIC_USEC is CLOCK_MONOTONIC in µs, taken just before" \
    test "$sent" -le "$recv" -a $((recv - sent)) -lt 2000000
check "then READY=1 once the inventory is applied" wait_for 10 more_than " READY=1" "$ready"
check "READY=1 comes after RELOADING=1" sh -c \
    "grep -E ' (READY|RELOADING)=1' '$T/notify.log' | tail -n 2 | sed 's/^[0-9]* //;s/|.*//' | tr '\n' ' ' | grep -qx 'RELOADING=1 READY=1 '"
check "the reload was applied" grep -q "inventory reloaded" "$T/daemon.log"

# SIGHUP with a broken inventory: rejected, and still READY=1
printf 'state_dir: [\n' >"$T/renewd.yaml"
reloading=$(count " RELOADING=1")
ready=$(count " READY=1")
kill -HUP "$pid"
check "a rejected reload: RELOADING=1" wait_for 10 more_than " RELOADING=1" "$reloading"
check "then READY=1 again" wait_for 10 more_than " READY=1" "$ready"
check "the reload was rejected" grep -q "rejected; the running inventory stays in force" "$T/daemon.log"

kill -TERM "$pid"
wait "$pid"
check "STOPPING=1 on SIGTERM" grep -q " STOPPING=1" "$T/notify.log"

# WATCHDOG_PID naming another process: that one is watched, not renewd.
printf 'state_dir: %s/state\n' "$T" >"$T/renewd.yaml"
: >"$T/notify.log"
spawn "$T/daemon2.log" env NOTIFY_SOCKET="$NOTIFY" WATCHDOG_USEC=400000 WATCHDOG_PID=1 \
    "$RENEWD" -c "$T/renewd.yaml"
pid=$LAST_PID
wait_for 10 grep -q " READY=1" "$T/notify.log"
sleep 0.6
check "no pings when WATCHDOG_PID is another process" test "$(count " WATCHDOG=1$")" -eq 0
kill -TERM "$pid"
wait "$pid"
done_testing
