#!/bin/bash
# Socket activation (issue 9, item 4): systemd-socket-activate opens the
# http-01 port and passes it as "http01"; renewd serves Pebble's
# validation through that descriptor, binds nothing of http01.listen,
# keeps the passed listener over a SIGHUP, and refuses a descriptor with
# another name, naming it.
. "$(dirname "$0")/lib.sh"

command -v systemd-socket-activate >/dev/null ||
    bail "systemd-socket-activate is not installed (apt-get install systemd)"
read -r UNUSED OTHER <<EOP
$("$top_builddir/tests/integration/freeport" 2)
EOP
[ -n "${OTHER:-}" ] || bail "freeport failed"
pebble_start

# http01.listen names a port renewd must leave alone; Pebble validates on
# HTTP01_PORT, which only the passed descriptor listens on.
write_conf "$T/renewd.yaml" "  - name: first
    domains: [first.example]"
sed -i "s/127.0.0.1:$HTTP01_PORT/127.0.0.1:$UNUSED/" "$T/renewd.yaml"
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
not_listening() { ! listening "$1"; }
answers() { [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/x")" = 404 ]; }

spawn "$T/daemon.log" systemd-socket-activate -l "127.0.0.1:$HTTP01_PORT" \
    --fdname=http01 "$RENEWD" -c "$T/renewd.yaml"
pid=$LAST_PID
wait_for 10 listening "$HTTP01_PORT" || bail "systemd-socket-activate did not listen"
# renewd starts at the first connection, which it then answers itself
check "the first connection starts renewd, which answers it" answers "$HTTP01_PORT"
check "renewd says it serves the passed listener" \
    grep -q "http-01: serving 1 socket-activated listener(s) named http01 instead of binding http01.listen" \
    "$T/daemon.log"
check "and logs its address" grep -q "http-01: listening on 127.0.0.1:$HTTP01_PORT" "$T/daemon.log"
check "Pebble validates through the passed descriptor: a certificate is issued" \
    wait_for 30 grep -q "\[first\] installed certificate" "$T/daemon.log"
check "first: chain verifies" verify_cert first
check "renewd did not bind http01.listen" not_listening "$UNUSED"
check "nor says it listens there" sh -c "! grep -q ':$UNUSED' '$T/daemon.log'"

# SIGHUP: the passed listener stays, even if http01.listen changes
write_conf "$T/renewd.yaml" "  - name: first
    domains: [first.example]
  - name: second
    domains: [second.example]"
sed -i "s/127.0.0.1:$HTTP01_PORT/127.0.0.1:$OTHER/" "$T/renewd.yaml"
kill -HUP "$pid"
check "after SIGHUP renewd keeps the socket-activated listener" \
    wait_for 10 grep -q "keeping the socket-activated listener" "$T/daemon.log"
check "and obtains the added certificate through it" \
    wait_for 30 grep -q "\[second\] installed certificate" "$T/daemon.log"
check "second: chain verifies" verify_cert second
check "the passed listener still answers" answers "$HTTP01_PORT"
check "the reload bound no new address" not_listening "$OTHER"
kill -TERM "$pid"
wait "$pid"
check "renewd stops cleanly (exit 0)" test $? -eq 0

# A descriptor renewd has no use for is an error that names it.
read -r P1 P2 <<EOP
$("$top_builddir/tests/integration/freeport" 2)
EOP
spawn "$T/bad.log" systemd-socket-activate -l "127.0.0.1:$P1" -l "127.0.0.1:$P2" \
    --fdname=http01:metrics "$RENEWD" -c "$T/renewd.yaml"
bad=$LAST_PID
wait_for 10 listening "$P1" || bail "systemd-socket-activate did not listen"
listening "$P2"
# exited PID: gone or a zombie (kill -0 still reaches a zombie)
exited() { case $(ps -o stat= -p "$1") in "" | Z*) return 0 ;; esac; return 1; }
if wait_for 10 exited "$bad"; then wait "$bad"; rc=$?; else rc=running; fi
check "an unknown descriptor stops renewd (exit 1, got $rc)" test "$rc" = 1
check "the error names it" grep -q 'socket activation: descriptor 4 named "metrics": renewd takes only FileDescriptorName=http01' \
    "$T/bad.log"
done_testing
