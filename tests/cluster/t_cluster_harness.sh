#!/bin/bash
# The cluster tests' harness (lib_cluster.sh) without cluster mode: the 3
# etcd members come up, a leader is found and killed and another elected,
# a compaction is done; haproxy spreads requests over the three listeners,
# routes around a dead and a stopped one; Pebble validates through it
# (a single-node renewd --once behind it obtains certificates).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"

cluster_start

# --- etcd
members_healthy() { etcd_healthy 1 && etcd_healthy 2 && etcd_healthy 3; }
check "3 etcd members healthy" members_healthy
ctl put "${CL_PREFIX}locks/x" '{"node":"n2"}' >/dev/null
check "put, and the lock holder read back" test "$(lock_holder x)" = n2
leader=$(etcd_leader)
check "the leader is found (member ${leader:-none})" test -n "$leader"
etcd_kill_leader
check "the leader is killed" test "$KILLED_MEMBER" = "$leader"
check "another member is elected" wait_for 10 quietly etcd_leader
check "writes go on with 2 of 3" quietly ctl put "${CL_PREFIX}locks/y" '{"node":"n1"}'
etcd_member_start "$KILLED_MEMBER"
check "the killed member rejoins" wait_for 15 etcd_healthy "$KILLED_MEMBER"
rev=$(etcd_compact)
check "compacted at revision ${rev:-none}" test -n "$rev"
check "a read at a compacted revision is refused" \
    sh -c "! etcdctl --endpoints=$ETCD_EPS get --rev=1 ${CL_PREFIX}locks/x >/dev/null 2>&1"
check "the mod_revision of a key is read" test -n "$(etcd_mod_revision locks/y)"
check "the keys under a prefix are listed" test "$(etcd_keys locks/ | wc -l)" -eq 2
ctl del --prefix "$CL_PREFIX" >/dev/null

# --- haproxy over three stand-in listeners that say who they are
for i in 1 2 3; do
	mkdir -p "$T/web$i/.well-known/acme-challenge"
	echo "n$i" >"$T/web$i/.well-known/acme-challenge/who"
	spawn "$T/web$i.out" python3 -m http.server --bind 127.0.0.1 --directory "$T/web$i" \
	    "$(eval echo "\$NODE_PORT$i")"
	eval "WEB$i=\$LAST_PID"
done
all_up() { lb_up 1 && lb_up 2 && lb_up 3; }
check "haproxy sees the 3 listeners up" wait_for 10 all_up
who() {
	local i
	for i in $(seq 1 "$1"); do lb_get /.well-known/acme-challenge/who || echo failed; done | sort | uniq -c |
	    awk '{ printf "%s:%s ", $2, $1 } END { print "" }'
}
seen=$(who 6)
check "round-robin: 6 requests, 2 to each listener ($seen)" test "$seen" = "n1:2 n2:2 n3:2 "
kill "$WEB2"
seen=$(who 6)
check "a dead listener: every request still answered, by the others ($seen)" \
    test "$seen" = "n1:3 n3:3 "
kill -STOP "$WEB3"
check "a stopped listener is taken out by the health check" wait_for 5 lb_down 3
seen=$(who 4)
check "then everything goes to the one left ($seen)" test "$seen" = "n1:4 "
kill -CONT "$WEB3"
check "and it comes back when continued" wait_for 5 lb_up 3

# --- Pebble validates through haproxy: a plain renewd behind it
kill "$WEB1" "$WEB3"
gone13() { lb_down 1 && lb_down 3; }
wait_for 5 gone13 || bail "haproxy did not take listeners 1 and 3 out"
node_conf 1 3
sed '/^cluster:/,/^  stagger:/d' "$T/n1.yaml" >"$T/single.yaml"
"$RENEWD" -c "$T/single.yaml" --once >"$T/single.log" 2>&1
check "renewd --once behind haproxy obtains 3 certificates" test $? -eq 0
check "Pebble saw 3 newOrders" test "$(orders)" -eq 3
check "and validated them through haproxy" test "$(echo "show stat" | socat -t 2 - "UNIX-CONNECT:$LB_SOCK" |
    awk -F, '$1 == "http01" && $2 == "FRONTEND" { print $8 }')" -ge 3
check "each deployed into the node's deploy dir" test "$(deployed 1)" -eq 3
check "the reload entry ran fewer times than 3 certificates, for all 3" \
    test "$(reload_runs 1)" -lt 3 -a "$(reloaded_names 1)" -eq 3
done_testing
