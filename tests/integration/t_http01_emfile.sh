#!/bin/bash
# With a low descriptor limit, a flood of connections to the http-01
# listener makes accept() fail with EMFILE. renewd closes what it cannot
# serve (the reserve-descriptor trick), logs at most a line a second, and
# still answers afterwards.
. "$(dirname "$0")/lib.sh"

PORT=$("$top_builddir/tests/integration/freeport" 1) || bail "freeport failed"
cat >"$T/renewd.yaml" <<EOY
state_dir: $T/state
http01:
  listen: ["127.0.0.1:$PORT"]
cas:
  - name: a
    directory: https://127.0.0.1:9/dir
certificates:
  - name: www
    domains: [www.example]
EOY
(ulimit -n 48 && exec "$RENEWD" -c "$T/renewd.yaml") >"$T/renewd.log" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
wait_for 10 grep -q "started" "$T/renewd.log" || bail "renewd did not start"

# 4 s of floods: hold up to 400 connections, then drop them, again and again
python3 - "$PORT" <<'EOP'
import socket, sys, time
port = int(sys.argv[1])
end = time.time() + 4
while time.time() < end:
    socks = []
    for _ in range(400):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            continue
        socks.append(s)
    time.sleep(0.2)
    for s in socks:
        s.close()
EOP
sleep 1
n=$(grep -c "accept" "$T/renewd.log" || true)
diag "accept lines in the log: $n"
check "accept failures were hit (EMFILE) and logged" \
    grep -q "http-01: cannot accept connections: Too many open files" "$T/renewd.log"
check "at most one line a second (<= 7 for ~5 s)" test "$n" -le 7
check "libevent's own unbounded warning never appears" \
    sh -c "! grep -q 'Error from accept() call' '$T/renewd.log'"
check "the daemon is still running" kill -0 "$pid"
check "and the listener still answers" \
    sh -c "curl -s -m 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:$PORT/.well-known/acme-challenge/x | grep -q 404"
kill -TERM "$pid"
wait "$pid"
check "renewd exits 0" test $? -eq 0

done_testing
