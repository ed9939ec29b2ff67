# shellcheck shell=bash
# tests/cluster/lib_cluster.sh - a renewd cluster on loopback for one test
# (issue 14): 3 etcd members, Pebble (tests/integration/lib.sh) whose
# http-01 validator reaches haproxy, haproxy round-robin over the nodes'
# http-01 listeners (so any node may be asked), and renewd nodes sharing a
# cluster key, each with its own state dir, listener, control socket,
# deploy directory and reload log. Source it after tests/integration/lib.sh.
#
# Layout under $T: etcd.I.log and mI/ (member I), haproxy/, cluster.key,
# nI.yaml and nI.log (node I's inventory and log), nI/state, nI/deploy
# (one file per certificate delivered), nI/reloads (one line per reload
# run: the certificate names it was for).

command -v etcd >/dev/null || bail "etcd is not installed (apt-get install etcd-server)"
command -v etcdctl >/dev/null || bail "etcdctl is not installed (apt-get install etcd-client)"
command -v /usr/sbin/haproxy >/dev/null || bail "haproxy is not installed (apt-get install haproxy)"

CL_PREFIX=/renewd/test/
: "${CL_NODES:=3}"
: "${CL_LEASE_TTL:=5}"
: "${CL_STAGGER:=2}"
: "${CL_RELOAD_DELAY:=1s}"

# Stopped processes keep a SIGTERM pending: cleanup's would wait forever.
cluster_cleanup() {
	local p
	for p in $PIDS; do
		kill -CONT "$p" 2>/dev/null
	done
	cleanup
}
trap cluster_cleanup EXIT

# cl_spawn LOG CMD...: spawn, but appending to LOG (a restarted process
# keeps its earlier lines).
cl_spawn() {
	local log=$1
	shift
	"$@" >>"$log" 2>&1 &
	LAST_PID=$!
	PIDS="$PIDS $LAST_PID"
}

# quietly CMD...: CMD with its output dropped (for check).
quietly() { "$@" >/dev/null; }

# gone PID: the process has exited (or is a zombie its reaper has not seen).
gone() {
	case $(ps -o stat= -p "$1" 2>/dev/null) in
	'' | Z*) return 0 ;;
	esac
	return 1
}

# ---- etcd -----------------------------------------------------------------

# etcd_start: 3 members on free ports, election timeout 500 ms (as
# t_etcd.sh). Sets ETCD_EP1..3, ETCD_EPS (comma-separated), ETCD_YAML (the
# inventory's list body), ETCD_PID1..3.
etcd_start() {
	local i ports cluster=""
	ports=$("$top_builddir/tests/integration/freeport" 6) || bail "freeport failed"
	set -- $ports
	for i in 1 2 3; do
		eval "ETCD_CP$i=\$1 ETCD_PP$i=\$2 ETCD_EP$i=http://127.0.0.1:\$1"
		cluster="$cluster${cluster:+,}m$i=http://127.0.0.1:$2"
		shift 2
	done
	ETCD_CLUSTER=$cluster
	ETCD_EPS=$ETCD_EP1,$ETCD_EP2,$ETCD_EP3
	ETCD_YAML="$ETCD_EP1, $ETCD_EP2, $ETCD_EP3"
	for i in 1 2 3; do etcd_member_start "$i"; done
	for i in 1 2 3; do
		wait_for 15 etcd_healthy "$i" || bail "etcd member $i did not start: $(tail -n 3 "$T/etcd.$i.log")"
	done
}

# etcd_member_start I: start member I (again: its data dir stays).
etcd_member_start() {
	local i=$1 cp pp
	cp=$(eval echo "\$ETCD_CP$i")
	pp=$(eval echo "\$ETCD_PP$i")
	cl_spawn "$T/etcd.$i.log" etcd --name "m$i" --data-dir "$T/m$i" \
	    --listen-client-urls "http://127.0.0.1:$cp" --advertise-client-urls "http://127.0.0.1:$cp" \
	    --listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
	    --initial-cluster "$ETCD_CLUSTER" --initial-cluster-state new \
	    --initial-cluster-token "t-cluster-$$" --election-timeout 500
	eval "ETCD_PID$i=\$LAST_PID"
}

# etcd_healthy I: member I answers /health with true (it sees a leader).
etcd_healthy() {
	curl -sf -m 1 "$(eval echo "\$ETCD_EP$1")/health" | grep -q '"health":"true"'
}

# reap PID: collect a killed child (with stderr sent away around the kill,
# as the callers do, bash's "Killed" notice for it stays out of the log).
reap() { wait "$1"; return 0; }

# etcd_member_kill I: kill -9 member I and wait until it is gone.
etcd_member_kill() {
	local p
	p=$(eval echo "\$ETCD_PID$1")
	{ kill -9 "$p"; wait_for 10 gone "$p" && reap "$p"; } 2>/dev/null
}

# etcd_member_pause I / etcd_member_resume I: SIGSTOP / SIGCONT member I.
etcd_member_pause() { kill -STOP "$(eval echo "\$ETCD_PID$1")"; }
etcd_member_resume() { kill -CONT "$(eval echo "\$ETCD_PID$1")"; }

# ctl ARGS...: etcdctl on the whole cluster, 3 s per command.
ctl() { etcdctl --endpoints="$ETCD_EPS" --command-timeout=3s "$@"; }

# etcd_leader: the number (1..3) of the member that is leader now.
etcd_leader() {
	local ep i
	ep=$(ctl endpoint status 2>/dev/null | awk -F', ' '$5 == "true" { print $1 }')
	for i in 1 2 3; do
		[ "$(eval echo "\$ETCD_EP$i")" = "$ep" ] && { echo "$i"; return 0; }
	done
	return 1
}

# etcd_kill_leader: kill -9 the leader; sets KILLED_MEMBER to its number.
etcd_kill_leader() {
	KILLED_MEMBER=$(etcd_leader) || return 1
	etcd_member_kill "$KILLED_MEMBER"
}

# etcd_revision: the cluster's current revision.
etcd_revision() {
	ctl endpoint status -w json 2>/dev/null | jq -r '[.[].Status.header.revision] | max'
}

# etcd_compact: compact the history up to the current revision (and
# defragment nothing: a compaction is what a watch can miss); prints it.
etcd_compact() {
	local rev
	rev=$(etcd_revision) && [ -n "$rev" ] && ctl compact "$rev" >/dev/null && echo "$rev"
}

# etcd_value KEY: the value of PREFIX KEY (raw bytes; sealed records are binary).
etcd_value() { ctl get --print-value-only "$CL_PREFIX$1"; }

# etcd_mod_revision KEY: mod_revision of PREFIX KEY (empty if absent).
etcd_mod_revision() {
	ctl get -w json "$CL_PREFIX$1" | jq -r '.kvs[0].mod_revision // empty'
}

# etcd_keys SUBPREFIX: the key names under PREFIX SUBPREFIX, one a line.
etcd_keys() { ctl get --prefix --keys-only "$CL_PREFIX$1" | sed '/^$/d'; }

# lock_holder NAME: the node holding NAME's lock (locks/NAME: {"node"}).
lock_holder() { etcd_value "locks/$1" | jq -r '.node // empty' 2>/dev/null; }

# ---- Pebble and haproxy ---------------------------------------------------

# cluster_lb_start: node ports NODE_PORT1..CL_NODES, and haproxy on
# HTTP01_PORT (call pebble_start first), round-robin over them (servers
# n1..). Health checks (GET /lb-health-check every 300 ms, any answer in
# 500 ms) take a dead or stopped node out within about a second; a request
# whose connection is refused or whose node does not answer within 2 s is
# tried again on another node. While the checks have every node down (at
# start, before the first check passed) the same listeners, unchecked, are
# the backups (b1..), so a node's first orders do not meet a 503.
# LB_SOCK: haproxy's admin socket.
cluster_lb_start() {
	local i ports h=$T/haproxy
	[ -n "${HTTP01_PORT:-}" ] || bail "cluster_lb_start needs pebble_start first"
	ports=$("$top_builddir/tests/integration/freeport" "$CL_NODES") || bail "freeport failed"
	set -- $ports
	for i in $(seq 1 "$CL_NODES"); do
		eval "NODE_PORT$i=\$1"
		shift
	done
	mkdir -p "$h"
	LB_SOCK=$h/admin.sock
	cat >"$h/haproxy.cfg" <<EOH
global
	stats socket $LB_SOCK mode 600 level admin
defaults
	mode http
	timeout connect 1s
	timeout client 10s
	timeout server 2s
	timeout check 500ms
	retries 3
	option redispatch 1
	retry-on conn-failure empty-response response-timeout
frontend http01
	bind 127.0.0.1:$HTTP01_PORT
	default_backend nodes
backend nodes
	balance roundrobin
	option allbackups
	option httpchk GET /lb-health-check
	http-check expect rstatus ^[1-5]
EOH
	for i in $(seq 1 "$CL_NODES"); do
		printf '\tserver n%d 127.0.0.1:%s check inter 300ms fall 2 rise 1\n' \
		    "$i" "$(eval echo "\$NODE_PORT$i")" >>"$h/haproxy.cfg"
	done
	for i in $(seq 1 "$CL_NODES"); do
		printf '\tserver b%d 127.0.0.1:%s backup\n' "$i" "$(eval echo "\$NODE_PORT$i")" >>"$h/haproxy.cfg"
	done
	/usr/sbin/haproxy -c -q -f "$h/haproxy.cfg" || bail "haproxy -c refused $h/haproxy.cfg"
	spawn "$h/haproxy.log" /usr/sbin/haproxy -f "$h/haproxy.cfg" -db
	LB_PID=$LAST_PID
	wait_for 10 test -S "$LB_SOCK" || bail "haproxy did not start: $(cat "$h/haproxy.log")"
}

# lb_state NODE: haproxy's view of node NODE (1..): UP, DOWN, ...
lb_state() {
	echo "show stat" | socat -t 2 - "UNIX-CONNECT:$LB_SOCK" 2>/dev/null |
	    awk -F, -v s="n$1" '$1 == "nodes" && $2 == s { print $18 }'
}
# lb_up NODE / lb_down NODE: haproxy sends to it / not.
lb_up() { [ "$(lb_state "$1")" = UP ]; }
lb_down() { case $(lb_state "$1") in DOWN*) return 0 ;; esac; return 1; }

# lb_get PATH: GET PATH through haproxy (where Pebble validates); prints
# the body, fails unless the answer is 2xx.
lb_get() { curl -sf -m 10 "http://127.0.0.1:$HTTP01_PORT$1"; }

# lb_status PATH: the HTTP status of GET PATH through haproxy.
lb_status() { curl -s -m 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP01_PORT$1"; }

# orders: how many newOrder requests Pebble has logged.
orders() { pebble_count "POST /order-plz"; }

# ---- the nodes ------------------------------------------------------------

# cluster_key [FILE]: a cluster key (`openssl rand -base64 32`, mode 0600)
# in FILE, default $T/cluster.key.
cluster_key() {
	local f=${1:-$T/cluster.key}
	(umask 077 && openssl rand -base64 32 >"$f") || bail "cannot write the cluster key $f"
}

# cluster_certs NODE N [FIRST]: YAML for certificates cFIRST..cN (FIRST
# default 1), each for cI.cluster.example, each deployed as a file into
# node NODE's deploy dir, each with the same reload entry (so reloads are
# gathered) appending the names it ran for to the node's reloads file.
cluster_certs() {
	local d=$T/n$1 i
	for i in $(seq "${3:-1}" "$2"); do
		printf '  - name: c%d\n    domains: [c%d.cluster.example]\n' "$i" "$i"
		printf '    deploy:\n      - { path: %s/deploy/c%d.pem, content: fullchain }\n' "$d" "$i"
		printf '    reload:\n      - { exec: [/bin/sh, -c, %s] }\n' \
		    "'echo \"\$RENEWD_CERT_NAMES\" >>$d/reloads'"
	done
}

# node_conf NODE N [KEY_FILE]: node NODE's inventory ($T/nNODE.yaml) for
# certificates c1..cN, write_conf's (this test's Pebble, or ACME_DIRECTORY)
# with the node's own state dir, control socket and listener, reloads
# gathered for CL_RELOAD_DELAY, in the cluster with key KEY_FILE (default
# $T/cluster.key).
node_conf() {
	local n=$1 d=$T/n$1 f=$T/n$1.yaml
	mkdir -p "$d/deploy"
	write_conf "$f" "$(cluster_certs "$n" "$2")"
	sed -i -e "s|^state_dir: .*|state_dir: $d/state\\ncontrol_socket: $d/control|" \
	    -e "s|^  listen: .*|  listen: [\"127.0.0.1:$(eval echo "\$NODE_PORT$n")\"]|" "$f"
	conf_defaults "$f" "  reload_delay: $CL_RELOAD_DELAY"
	cat >>"$f" <<EOY
log_level: ${CL_LOG_LEVEL:-info}
cluster:
  etcd: [$ETCD_YAML]
  prefix: $CL_PREFIX
  node: n$n
  key_file: ${3:-$T/cluster.key}
  lease_ttl: ${CL_LEASE_TTL}s
  stagger: ${CL_STAGGER}s
EOY
}

# node_start NODE: start renewd (the daemon) on node NODE's inventory,
# log appended to $T/nNODE.log; NODE_PID<NODE> is its pid.
node_start() {
	cl_spawn "$T/n$1.log" "$RENEWD" -c "$T/n$1.yaml"
	eval "NODE_PID$1=\$LAST_PID"
}
node_pid() { eval echo "\$NODE_PID$1"; }
# node_stop NODE: SIGTERM, and wait until it has exited.
node_stop() { kill -TERM "$(node_pid "$1")" 2>/dev/null; wait_for 20 gone "$(node_pid "$1")"; }
# node_kill NODE: kill -9, and wait until it is gone.
node_kill() {
	{ kill -9 "$(node_pid "$1")"; wait_for 10 gone "$(node_pid "$1")" && reap "$(node_pid "$1")"; } 2>/dev/null
}
# node_pause NODE / node_resume NODE: SIGSTOP / SIGCONT.
node_pause() { kill -STOP "$(node_pid "$1")"; }
node_resume() { kill -CONT "$(node_pid "$1")"; }
# node_alive NODE: its renewd still runs.
node_alive() { ! gone "$(node_pid "$1")"; }

# cluster_up N: write every node's inventory for N certificates and start
# them all; bails if one exits within its first second.
cluster_up() {
	local i
	for i in $(seq 1 "$CL_NODES"); do
		node_conf "$i" "$1"
		node_start "$i"
	done
	sleep 1
	for i in $(seq 1 "$CL_NODES"); do
		node_alive "$i" || bail "node n$i exited at start: $(tail -n 3 "$T/n$i.log")"
	done
}

# node_count NODE: how many certificates node NODE has installed.
node_count() {
	local f n=0
	for f in "$T/n$1"/state/certs/*/live/cert.pem; do
		[ -f "$f" ] && n=$((n + 1))
	done
	echo "$n"
}

# all_have N [NODE...]: every NODE (default: all) has N certificates installed.
all_have() {
	local want=$1 i
	shift
	[ $# -gt 0 ] || set -- $(seq 1 "$CL_NODES")
	for i in "$@"; do
		[ "$(node_count "$i")" -ge "$want" ] || return 1
	done
}

# wait_all N SECONDS [NODE...]: wait_for all_have; on a timeout says how far each got.
wait_all() {
	local want=$1 limit=$2 i
	shift 2
	wait_for "$limit" all_have "$want" "$@" && return 0
	[ $# -gt 0 ] || set -- $(seq 1 "$CL_NODES")
	for i in "$@"; do
		diag "node n$i has $(node_count "$i") of $want certificates"
	done
	return 1
}

# node_serials NODE: "name serial" for every installed certificate, sorted
# by name (one python3 for all: an openssl per file takes 10 s for 200).
node_serials() {
	python3 - "$T/n$1/state/certs" <<'EOP'
import os
import sys
from cryptography import x509
top = sys.argv[1]
for name in sorted(os.listdir(top) if os.path.isdir(top) else []):
    try:
        with open(os.path.join(top, name, "live", "cert.pem"), "rb") as f:
            pem = f.read()
    except FileNotFoundError:
        continue
    try:
        serial = format(x509.load_pem_x509_certificate(pem).serial_number, "x")
    except ValueError:
        serial = ""
    print(name, serial)
EOP
}

# serials_agree N [NODE...]: every NODE (default: all) has exactly N
# certificates, each with a serial, and the same serial for each name;
# says where they differ if not.
serials_agree() {
	local want=$1 i first=""
	shift
	[ $# -gt 0 ] || set -- $(seq 1 "$CL_NODES")
	for i in "$@"; do
		node_serials "$i" >"$T/serials.n$i"
		if [ "$(wc -l <"$T/serials.n$i")" -ne "$want" ] ||
		    grep -q ' $' "$T/serials.n$i"; then
			diag "node n$i: $(wc -l <"$T/serials.n$i") certificates (want $want), $(grep -c ' $' "$T/serials.n$i") without a serial"
			return 1
		fi
		if [ -z "$first" ]; then
			first=$i
		elif ! cmp -s "$T/serials.n$first" "$T/serials.n$i"; then
			diag "nodes n$first and n$i differ:"
			diff "$T/serials.n$first" "$T/serials.n$i" | head -n 5 | sed 's/^/#   /'
			return 1
		fi
	done
}

# node_serial NODE NAME: the serial of NAME's live certificate on node NODE.
node_serial() { pem_serial "$T/n$1/state/certs/$2/live/cert.pem"; }

# deployed NODE: how many certificate files were deployed on node NODE.
deployed() { find "$T/n$1/deploy" -name '*.pem' | wc -l; }

# reload_runs NODE: how many times node NODE ran its reload entry.
reload_runs() { if [ -f "$T/n$1/reloads" ]; then wc -l <"$T/n$1/reloads"; else echo 0; fi; }

# reloaded_names NODE: how many distinct certificates node NODE's reloads were for.
reloaded_names() {
	[ -f "$T/n$1/reloads" ] || { echo 0; return; }
	tr ' ' '\n' <"$T/n$1/reloads" | sed '/^$/d' | sort -u | wc -l
}

# installs NODE: how many "installed certificate" lines node NODE logged.
installs() { grep -c "installed certificate" "$T/n$1.log" 2>/dev/null || true; }

# held_start N FAULT: the cluster (cluster_start) with the CA proxy in
# front of Pebble, FAULT (a proxy_fault "hang" for one request) added, N
# certificates; waits until a request hangs. Sets HELD_DOMAIN (what it was
# for), HELD_NAME (that certificate) and HELD_NODE (the node number
# holding its lock in etcd).
held_start() {
	local holder
	cluster_start
	ca_proxy_start
	export ACME_DIRECTORY=$PROXY_DIR
	proxy_fault "$2" >/dev/null || bail "the proxy refused $2"
	cluster_up "$1"
	wait_for 60 held || bail "no request was held at the proxy: $(tail -n 3 "$T/n1.log")"
	HELD_DOMAIN=$(proxy_log faults=hang | jq -r '.[0].identifiers[0]')
	HELD_NAME=${HELD_DOMAIN%%.*}
	holder=$(lock_holder "$HELD_NAME")
	case $holder in
	n[1-9]) HELD_NODE=${holder#n} ;;
	*) bail "no node holds $HELD_NAME's lock (locks/$HELD_NAME: '$holder')" ;;
	esac
}
held() { [ "$(proxy_count faults=hang)" -ge 1 ]; }

# cluster_start: etcd, Pebble (with ARGS as pebble_start's), haproxy, the cluster key.
cluster_start() {
	etcd_start
	pebble_start PEBBLE_WFE_NONCEREJECT=0 "$@"
	cluster_lb_start
	cluster_key
}
