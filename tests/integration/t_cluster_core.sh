#!/bin/bash
# daemon/cluster.c against a real 3-member etcd on loopback, driven by
# cluster_drive: one lock holder, records seen by every session, fencing
# after a stalled holder's lease expired and another took the lock, the
# cluster-wide semaphore, rendezvous claims, a resync after a compaction,
# a wrong cluster key refused, the session down and up again, fenced
# writes across an etcd leader kill.
. "$(dirname "$0")/lib.sh"
DRV=$top_builddir/tests/integration/cluster_drive
. "$(dirname "$0")/etcd_lib.sh"

etcd_up
export CLUSTER_KEY=$(openssl rand -hex 32)
P=/t/cluster/

# run NAME SCENARIO [ARGS]: the driver's output in $T/NAME.out (shown)
run() {
	local name=$1 s=$2
	shift 2
	timeout 40 "$DRV" "$s" "$EPS" "$P" "$@" >"$T/$name.out" 2>"$T/$name.log"
	echo $? >"$T/$name.rc"
	sed 's/^/# /' "$T/$name.out"
}
saw() { grep -q "^ok: $2" "$T/$1.out"; }

start=$(date +%s)
run multi multi
check "one lock, three sessions: held by one only" saw multi "the lock of www is held by one node only"
check "a record put by one session reaches the others' hooks" saw multi "a record put by one is seen by the others"
check "cluster_holder names the holder" saw multi "cluster_holder names"
check "create-only write of an existing record is refused" saw multi "a create-only write of an existing record"
check "a write fenced by a lock not held is refused" saw multi "a write fenced by a lock this node does not hold"
check "a view set with cluster_set_view reaches the others' cluster_nodes" saw multi "n2 sees the view n1 published"
check "rendezvous: each name claimed by exactly one node" saw multi "30 names each claimed by exactly one node"
check "rendezvous: the claims spread over the three nodes" saw multi "the rendezvous spread"
check "the semaphore never exceeds max; waiters proceed" saw multi "the semaphore never exceeded 2"
check "a compaction missed by a cut-off node: everything passed again" saw multi "after the compaction n3 read everything again"
check "multi scenario exits 0" test "$(cat "$T/multi.rc")" = 0
check "the compaction is logged, the watch restarted" grep -q "read again at revision" "$T/multi.log"

# A stalled holder: a claims www, then its whole process blocks past its
# 2 s lease; b takes the lock and writes; a wakes and writes at once.
mkfifo "$T/fifo"
CLUSTER_TTL=2 timeout 40 "$DRV" stall "$EPS" "$P" "$T/fifo" >"$T/stall.out" 2>"$T/stall.log" &
stall_pid=$!
wait_for 10 grep -q "^ok: a claimed www" "$T/stall.out" || not_ok "a claims www"
CLUSTER_TTL=2 timeout 40 "$DRV" take "$EPS" "$P" "$T/done" >"$T/take.out" 2>"$T/take.log" &
take_pid=$!
wait_for 15 grep -q "^ok: b wrote" "$T/take.out"
check "b takes the lock once a's lease expired, and writes" saw take "b wrote certs/www under its lock"
check "the new holder's claim hands it the order the old one left" saw take "b's claim handed it the order"
# a wakes while b still holds the lock
echo go >"$T/fifo"
wait "$stall_pid"
echo $? >"$T/stall.rc"
touch "$T/done"
wait "$take_pid"
check "b held the lock throughout, and exits 0" test $? = 0
sed 's/^/# /' "$T/take.out" "$T/stall.out"
check "the stalled holder's fenced write is refused by etcd" saw stall "the stalled holder's fenced write was refused"
check "the refusal is logged naming the key" \
    grep -q "fenced write to ${P}certs/www refused: this node no longer holds" "$T/stall.log"
check "its session goes down when the lease is lost, then up again" saw stall "its session went down"
check "it did not overwrite the newer record" saw stall "certs/www holds the new holder's value"
check "stall scenario exits 0" test "$(cat "$T/stall.rc")" = 0

# two of three members stopped: no majority
CLUSTER_TTL=2 run quorum quorum
check "the session goes down when the majority is gone" saw quorum "the session went down"
check "a claim without a session is CLUSTER_DOWN" saw quorum "a claim while the session is down: CLUSTER_DOWN"
check "the session comes back with the majority, and claims" saw quorum "and claims again"

run leader leader
check "20 fenced writes complete across an etcd leader kill" saw leader "20 fenced writes done across a leader kill"
check "the last write is the one etcd holds" saw leader "certs/L holds the last write"
check "leader scenario exits 0" test "$(cat "$T/leader.rc")" = 0
diag "writes read back after an unknown outcome: $(grep -c 'reading it back' "$T/leader.log")"

run wrongkey wrongkey
check "a node with the wrong cluster key is refused" saw wrongkey "a node with the wrong cluster key is refused"
check "the refusal names the check value" grep -q "does not open the check value ${P}check" "$T/wrongkey.log"
check "no key material in the logs" sh -c "! grep -qi '$CLUSTER_KEY' '$T'/*.log '$T'/*.out"
diag "scenarios took $(($(date +%s) - start)) s"
done_testing
