#!/bin/bash
# Cluster mode (issue 14) through etcd failures. 1: the etcd leader is
# killed mid-run: the run completes, one newOrder per certificate, the
# same serials everywhere. 2: two of three members are stopped (SIGSTOP)
# for OUTAGE seconds mid-run: once the nodes' leases have run out no
# newOrder is sent, the listeners still answer and installed certificates
# stay; after SIGCONT everything completes, still one order each.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"
: "${N:=60}" "${N2:=30}" "${OUTAGE:=20}"

cluster_start

# --- 1: the leader killed mid-run
MAX_ORDERS=2 cluster_up "$N"
wait_for 60 all_have $((N / 6)) 1 || bail "node n1 installed nothing: $(tail -n 3 "$T/n1.log")"
at=$(node_count 1)
etcd_kill_leader || bail "no etcd leader found"
diag "killed the etcd leader, member $KILLED_MEMBER, when n1 had $at of $N"
check "the leader was killed mid-run ($at of $N installed on n1)" test "$at" -lt "$N"
wait_all "$N" 90
check "the run completes: every node has all $N certificates" all_have "$N"
check "with the same serials" serials_agree "$N"
check "one newOrder per certificate ($(orders) for $N)" test "$(orders)" -eq "$N"
check "all 3 nodes still run" sh -c "kill -0 $NODE_PID1 && kill -0 $NODE_PID2 && kill -0 $NODE_PID3"
etcd_member_start "$KILLED_MEMBER"
wait_for 15 etcd_healthy "$KILLED_MEMBER" || bail "member $KILLED_MEMBER did not rejoin"

# --- 2: the majority stopped mid-run
for i in 1 2 3; do node_stop "$i"; done
for i in 1 2 3; do
	MAX_ORDERS=1 node_conf "$i" $((N + N2))
	node_start "$i"
done
wait_for 60 all_have $((N + 3)) 1 || bail "node n1 installed none of the new certificates"
leader=$(etcd_leader) || bail "no etcd leader found"
other=$(seq 1 3 | grep -vx "$leader" | head -n 1)
etcd_member_pause "$leader"
etcd_member_pause "$other"
t0=$(date +%s)
at=$(node_count 1)
diag "stopped members $leader (leader) and $other when n1 had $at of $((N + N2))"
check "the majority was stopped mid-run ($at of $((N + N2)) installed on n1)" test "$at" -lt $((N + N2))
sleep $((CL_LEASE_TTL + 2))
o1=$(orders)
# status_answers NODE: renewctl status --json on NODE comes to its end line
# (its exit status says whether every certificate is valid: mid-run, not)
status_answers() {
	"$RENEWCTL" -s "$T/n$1/control" status --json | jq -s -e 'last | .end == true' >/dev/null
}
for i in 1 2 3; do
	# a miss may ask etcd first: each endpoint gets 2 s
	s=$(curl -s -m 10 -o /dev/null -w '%{http_code} in %{time_total} s' \
	    "http://127.0.0.1:$(eval echo "\$NODE_PORT$i")/.well-known/acme-challenge/no-such-token")
	check "node n$i's http-01 listener still answers (an unknown token: $s)" test "${s%% *}" = 404
	check "node n$i's certificates are all still installed" test "$(node_count "$i")" -ge "$N"
	check "node n$i still answers renewctl status" status_answers "$i"
done
check "haproxy still gets an answer from the nodes ($(lb_status /.well-known/acme-challenge/no-such-token))" \
    test "$(lb_status /.well-known/acme-challenge/no-such-token)" = 404
rest=$((OUTAGE - ($(date +%s) - t0)))
[ "$rest" -le 0 ] || sleep "$rest"
o2=$(orders)
check "no newOrder while the majority was gone ($o1 at lease TTL + 2 s, $o2 at $OUTAGE s)" \
    test "$o1" -eq "$o2"
check "every node still runs" sh -c "kill -0 $NODE_PID1 && kill -0 $NODE_PID2 && kill -0 $NODE_PID3"
etcd_member_resume "$leader"
etcd_member_resume "$other"
t0=$(date +%s)
wait_all $((N + N2)) 90
diag "everything installed $(($(date +%s) - t0)) s after the majority came back"
check "afterwards every node has all $((N + N2)) certificates" all_have $((N + N2))
check "with the same serials" serials_agree $((N + N2))
check "one newOrder per certificate ($(orders) for $((N + N2)))" test "$(orders)" -eq $((N + N2))
done_testing
