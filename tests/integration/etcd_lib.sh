# tests/integration/etcd_lib.sh - a private 3-member etcd cluster on
# loopback for one test (t_etcd.sh, t_cluster_core.sh). Source it after
# lib.sh. Sets EPS (the client URLs, comma-separated), $T/ep.N, and
# $T/hook.sh (exported as ETCD_HOOK): "kill EP", "start EP", "killleader",
# "pause EP" and "resume EP" (SIGSTOP, SIGCONT).
# etcd_up starts the members and waits until each is healthy; a trap
# kills them however the test ends.
command -v etcd >/dev/null || bail "etcd not installed (etcd-server)"
command -v etcdctl >/dev/null || bail "etcdctl not installed (etcd-client)"

set -- $("$top_builddir/tests/integration/freeport" 6) || bail "freeport failed"
CLUSTER=""
for i in 1 2 3; do
	eval "CP$i=\$1 PP$i=\$2"
	shift 2
	CLUSTER="$CLUSTER${CLUSTER:+,}m$i=http://127.0.0.1:$(eval echo \$PP$i)"
done
EPS=http://127.0.0.1:$CP1,http://127.0.0.1:$CP2,http://127.0.0.1:$CP3

# start.N.sh starts member N (again: its data dir stays) and records its pid.
for i in 1 2 3; do
	cp=$(eval echo \$CP$i) pp=$(eval echo \$PP$i)
	echo "http://127.0.0.1:$cp" >"$T/ep.$i"
	cat >"$T/start.$i.sh" <<EOS
etcd --name m$i --data-dir '$T/m$i' \\
    --listen-client-urls http://127.0.0.1:$cp --advertise-client-urls http://127.0.0.1:$cp \\
    --listen-peer-urls http://127.0.0.1:$pp --initial-advertise-peer-urls http://127.0.0.1:$pp \\
    --initial-cluster '$CLUSTER' --initial-cluster-state new \\
    --initial-cluster-token t-etcd-$$ --election-timeout 500 >>'$T/etcd.$i.log' 2>&1 &
echo \$! >'$T/pid.$i'
EOS
done
cat >"$T/hook.sh" <<EOS
#!/bin/bash
# the drivers' hook: kill ENDPOINT, start ENDPOINT, killleader, pause
# ENDPOINT, resume ENDPOINT
T='$T'
EOS
cat >>"$T/hook.sh" <<'EOS'
member() { local i; for i in 1 2 3; do [ "$(cat "$T/ep.$i")" = "$1" ] && echo $i; done; }
stop() {
	local p; p=$(cat "$T/pid.$1")
	kill -9 "$p"
	# dead once gone or a zombie (its reaper may be slow)
	while case $(ps -o stat= -p "$p") in ''|Z*) false ;; esac; do sleep 0.02; done
	echo "# killed member $1 ($(cat "$T/ep.$1"))"
}
case $1 in
kill) stop "$(member "$2")" ;;
pause) kill -STOP "$(cat "$T/pid.$(member "$2")")" ;;
resume) kill -CONT "$(cat "$T/pid.$(member "$2")")" ;;
start)
	i=$(member "$2")
	bash "$T/start.$i.sh"
	for n in $(seq 100); do
		curl -sf -m 1 "$2/health" >/dev/null && break
		sleep 0.05
	done
	echo "# restarted member $i" ;;
killleader)
	eps=$(cat "$T"/ep.1 "$T"/ep.2 "$T"/ep.3 | paste -sd,)
	ep=$(etcdctl --command-timeout=2s --endpoints="$eps" endpoint status 2>/dev/null |
	    awk -F', ' '$5 == "true" { print $1 }')
	[ -n "$ep" ] || exit 1
	stop "$(member "$ep")" ;;
*) exit 2 ;;
esac
EOS
chmod +x "$T/hook.sh"
export ETCD_HOOK=$T/hook.sh

etcd_stop() {
	local f
	for f in "$T"/pid.*; do
		[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	cleanup
}
trap etcd_stop EXIT

etcd_healthy() { curl -sf -m 1 "$1/health" | grep -q '"health":"true"'; }
# etcd_up: start the three members; wait until each is healthy.
etcd_up() {
	local i
	for i in 1 2 3; do bash "$T/start.$i.sh"; done
	for i in 1 2 3; do
		wait_for 10 etcd_healthy "$(cat "$T/ep.$i")" ||
		    bail "etcd member $i did not start"
	done
}
