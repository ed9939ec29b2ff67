#!/bin/bash
# With a low descriptor limit, a flood of connections to the http-01 (and
# then the tls-alpn-01) listener makes accept() fail with EMFILE. renewd closes what it cannot
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
# run_flooded NAME CONF: renewd with CONF under a 48-descriptor limit.
run_flooded() {
	(ulimit -n 48 && exec "$RENEWD" -c "$2") >"$T/$1.log" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	wait_for 10 grep -q "started" "$T/$1.log" || bail "renewd did not start"
}

# flood PORT: 4 s of floods: hold up to 400 connections, then drop them,
# again and again
flood() {
	python3 - "$1" <<'EOP'
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
}

# bounded NAME WHAT: the checks on NAME's log for listener WHAT.
bounded() {
	local n
	n=$(grep -c "accept" "$T/$1.log" || true)
	diag "$2: accept lines in the log: $n"
	check "$2: accept failures were hit (EMFILE) and logged" \
	    grep -q "$2: cannot accept connections: Too many open files" "$T/$1.log"
	check "$2: at most one line a second (<= 7 for ~5 s)" test "$n" -le 7
	check "$2: libevent's own unbounded warning never appears" \
	    sh -c "! grep -q 'Error from accept() call' '$T/$1.log'"
	check "$2: the daemon is still running" kill -0 "$pid"
}

run_flooded http "$T/renewd.yaml"
flood "$PORT"
bounded http http-01
check "http-01: and the listener still answers" \
    sh -c "curl -s -m 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:$PORT/.well-known/acme-challenge/x | grep -q 404"
kill -TERM "$pid"
wait "$pid"
check "renewd exits 0" test $? -eq 0

# the same for the tls-alpn-01 listener
APORT=$("$top_builddir/tests/integration/freeport" 1) || bail "freeport failed"
cat >"$T/alpn.yaml" <<EOY
state_dir: $T/state2
tlsalpn01:
  listen: ["127.0.0.1:$APORT"]
cas:
  - name: a
    directory: https://127.0.0.1:9/dir
certificates:
  - name: www
    domains: [www.example]
    challenge: tls-alpn-01
EOY
run_flooded alpn "$T/alpn.yaml"
flood "$APORT"
bounded alpn tls-alpn-01
check "tls-alpn-01: and the listener still accepts connections" \
    sh -c "timeout 5 openssl s_client -connect 127.0.0.1:$APORT -servername www.example -alpn acme-tls/1 </dev/null 2>&1 | grep -q CONNECTED"
kill -TERM "$pid"
wait "$pid"
check "renewd exits 0" test $? -eq 0

done_testing
