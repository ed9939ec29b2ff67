#!/bin/bash
# Cluster mode (issue 14): fencing and resynchronisation. 1: the node
# holding a certificate's lock is stopped (SIGSTOP) while its certificate
# download hangs at the CA proxy, past its lease TTL; another node takes
# the lock, resumes the order and installs; the download is released and
# the node continued: it knows it lost the lock (a fenced write, or the
# lock's deletion seen first; its log says so), certs/<name> in etcd is not
# written again, every node keeps the same serial, no
# extra order. 2: a node stopped while two certificates are renewed and
# etcd's history is compacted resynchronises when it starts again.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"
: "${N:=6}"

held_start "$N" '{"fault":"hang","endpoint":"certificate","count":1,"then":"forward"}'
name=$HELD_NAME a=$HELD_NODE

# --- 1: a stopped holder is fenced
# the rest first, so that no validation needs the node about to stop
wait_all $((N - 1)) 60 || bail "the other certificates were not installed"
diag "$name's download is held; its holder n$a is stopped"
node_pause "$a"
t0=$(date +%s)
check "haproxy takes the stopped node out" wait_for 5 lb_down "$a"
others=$(seq 1 3 | grep -vx "$a" | paste -sd' ')
installed_elsewhere() {
	local i
	for i in $others; do
		[ -f "$T/n$i/state/certs/$name/live/cert.pem" ] || return 1
	done
}
wait_for 60 installed_elsewhere
took=$(($(date +%s) - t0))
check "another node took over $name and every other node installed it (after $took s; lease TTL $CL_LEASE_TTL s)" \
    installed_elsewhere
# the lease ends TTL after the last keepalive, sent every TTL/3 before the stop
check "not before n$a's lease ran out ($took s)" test "$took" -ge $((CL_LEASE_TTL - CL_LEASE_TTL / 3 - 1))
new_holder=$(grep -l "\[$name\] order created\|\[$name\] installed certificate" $(for i in $others; do echo "$T/n$i.log"; done) | paste -sd' ')
rev=$(etcd_mod_revision "certs/$name")
serial=$(node_serial "${others%% *}" "$name")
check "certs/$name is in etcd (mod_revision ${rev:-none})" test -n "$rev"
curl -sf -o /dev/null -X POST "$PROXY_CTL/release"
node_resume "$a"
# Woken, it either tries its write (fenced: refused) or first sees the
# lock gone; its log says which.
FENCED="no longer holds the lock|fenced|lock on $name lost"
fenced() { grep -Eqi "$FENCED" "$T/n$a.log"; }
check "the continued node knows it lost $name's lock (its log says so)" wait_for 30 fenced
grep -Ei "$FENCED" "$T/n$a.log" | head -n 3 | sed 's/^/# n'"$a"': /'
check "certs/$name was not written again (mod_revision $rev)" \
    test "$(etcd_mod_revision "certs/$name")" = "$rev"
check "node n$a still runs" node_alive "$a"
wait_all "$N" 30
check "every node has all $N certificates" all_have "$N"
check "with the same serials ($name: $serial)" serials_agree "$N"
check "$name's serial is the one the new holder installed" test "$(node_serial "$a" "$name")" = "$serial"
check "one newOrder per certificate: the order was resumed ($(orders) for $N)" test "$(orders)" -eq "$N"
diag "the order was taken over by: ${new_holder:-?}"

# --- 2: a node down across a compaction resynchronises
c=$(seq 1 3 | grep -vx "$a" | tail -n 1)
r=$(seq 1 3 | grep -vx "$c" | head -n 1)
node_stop "$c"
old1=$(node_serial "$c" c1)
old2=$(node_serial "$c" c2)
"$RENEWCTL" -s "$T/n$r/control" renew --force c1 c2 >"$T/renew.out" 2>&1
check "while n$c is down, n$r renews c1 and c2 (renewctl renew --force)" test $? -eq 0
changed() { [ "$(node_serial "$r" c1)" != "$old1" ] && [ "$(node_serial "$r" c2)" != "$old2" ]; }
wait_for 30 changed
check "n$r installed new serials for c1 and c2" changed
rev=$(etcd_compact)
check "etcd's history is compacted (revision ${rev:-none})" test -n "$rev"
node_start "$c"
agree() { serials_agree "$N" >/dev/null; }
wait_for 30 agree
check "n$c, started again, has the new serials: all nodes agree" serials_agree "$N"
check "c1's is not the one n$c had before" test "$(node_serial "$c" c1)" != "$old1"
check "two more newOrders, for c1 and c2 ($(orders) for $N + 2)" test "$(orders)" -eq $((N + 2))
done_testing
