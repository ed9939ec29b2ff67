#!/bin/bash
# Cluster mode (issue 14), the main line: 3 renewd nodes on one etcd and
# one Pebble behind haproxy, N certificates (default 200): Pebble sees
# exactly one newOrder per certificate, every node ends with the same
# serial for each, every node deploys every certificate and runs its
# reload entry gathered (fewer runs than certificates, every name in
# them); the work is spread over the nodes; a node with the wrong cluster
# key refuses to start, naming its key file.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"
: "${N:=200}"

cluster_start
t0=$(date +%s)
cluster_up "$N"
wait_all "$N" 150 || diag "not every node has every certificate"
diag "$N certificates on 3 nodes in $(($(date +%s) - t0)) s"

check "Pebble saw exactly one newOrder per certificate ($(orders) for $N)" test "$(orders)" -eq "$N"
check "every node has the same serial for each of the $N certificates" serials_agree "$N"
for i in 1 2 3; do
	check "node n$i deployed every certificate ($(deployed "$i"))" test "$(deployed "$i")" -eq "$N"
done
# the last reloads run reload_delay after the last install
sleep 2
for i in 1 2 3; do
	runs=$(reload_runs "$i")
	check "node n$i ran its reload for all $N certificates ($(reloaded_names "$i"))" \
	    test "$(reloaded_names "$i")" -eq "$N"
	check "node n$i's reloads were gathered: $runs runs for $N certificates" \
	    test "$runs" -ge 1 -a "$runs" -lt "$N"
	check "node n$i logged $N installs, one per certificate" test "$(installs "$i")" -eq "$N"
done
# rendezvous hashing spreads the orders: each node created some (with
# few certificates the first node up may have claimed them all)
for i in 1 2 3; do
	made=$(grep -c "order created" "$T/n$i.log" || true)
	diag "node n$i created $made orders"
	[ "$N" -lt 100 ] || check "node n$i ordered some of them" test "$made" -gt 0
done
check "no lock is left once everything is done" test -z "$(etcd_keys locks/ | grep -v '/locks/acct\.')"
check "every node is alive" sh -c "kill -0 $NODE_PID1 && kill -0 $NODE_PID2 && kill -0 $NODE_PID3"
# status_valid NODE: how many certificates renewctl status --json calls valid on NODE
status_valid() {
	"$RENEWCTL" -s "$T/n$1/control" status --json | jq -s '[.[] | select(.state == "valid")] | length'
}
for i in 1 2 3; do
	check "renewctl status --json on n$i: all $N certificates valid" test "$(status_valid "$i")" -eq "$N"
done
# cluster mode's status: a holder field per certificate (none left now),
# and every live node with its counts in the end line and the table
"$RENEWCTL" -s "$T/n1/control" status --json >"$T/status.json"
check "status --json: every certificate line has a holder field" \
    test "$(jq -s '[.[] | select(.name != null and has("holder"))] | length' "$T/status.json")" -eq "$N"
check "status --json: the end line lists the 3 nodes, n1's session up" \
    test "$(jq -s -c 'last.cluster | [.node, .up, ([.nodes[].node] | join(","))]' "$T/status.json")" = '["n1",true,"n1,n2,n3"]'
# each node publishes its view when it goes idle: all three show every certificate valid
views_valid() {
	"$RENEWCTL" -s "$T/n2/control" status --json |
	    jq -s -e --argjson n "$N" '[last.cluster.nodes[].view.valid] == [$n, $n, $n]' >/dev/null
}
check "status: every node's view counts all $N certificates valid" wait_for 10 views_valid
"$RENEWCTL" -s "$T/n3/control" status >"$T/status.txt"
check "status's table has a HOLDER column and a line per node" \
    sh -c "head -n 1 '$T/status.txt' | grep -q '^HOLDER' && grep -c '^  node n[123] ' '$T/status.txt' | grep -qx 3"

# --- a fourth node with another key
cluster_key "$T/wrong.key"
NODE_PORT4=$("$top_builddir/tests/integration/freeport" 1)
node_conf 4 "$N" "$T/wrong.key"
"$RENEWD" -c "$T/n4.yaml" >"$T/n4.log" 2>&1 &
p=$!
PIDS="$PIDS $p"
wait_for 30 gone "$p"
check "a node with the wrong cluster key stops by itself" gone "$p"
kill -9 "$p" 2>/dev/null
wait "$p"
rc=$?
check "with a failure exit status ($rc)" test "$rc" -ne 0
check "its error names the key file" grep -q "$T/wrong.key" "$T/n4.log"
check "it ordered nothing and installed nothing" test "$(orders)" -eq "$N" -a "$(node_count 4)" -eq 0
check "the others go on (all 3 alive)" sh -c "kill -0 $NODE_PID1 && kill -0 $NODE_PID2 && kill -0 $NODE_PID3"
done_testing
