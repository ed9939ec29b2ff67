#!/bin/bash
# Cluster mode (issue 14): kill -9 the node that holds an order between
# newOrder and finalize. The CA proxy holds the first finalize; the lock
# in etcd names the holder; it is killed, the finalize released (dropped:
# Pebble never saw it). Its lease expires, another node takes the lock,
# finds the order in orders/<name> and resumes it: at most one extra
# newOrder, every surviving node gets every certificate, the same
# everywhere; the killed node, started again, catches up without ordering.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"
: "${N:=20}"

held_start "$N" '{"fault":"hang","endpoint":"finalize","count":1}'
domain=$HELD_DOMAIN name=$HELD_NAME k=$HELD_NODE
holder=n$k
diag "the finalize of $name ($domain) is held; its lock: $holder"
check "its order in flight is in etcd (orders/$name)" \
    sh -c "etcdctl --endpoints=$ETCD_EPS get --keys-only ${CL_PREFIX}orders/$name | grep -q ."
before=$(orders)
node_kill "$k"
check "the holder n$k is killed (kill -9)" gone "$(node_pid "$k")"
t0=$(date +%s)
proxy_clear faults
survivors=$(seq 1 3 | grep -vx "$k" | paste -sd' ')

wait_all "$N" 90 $survivors
took=$(($(date +%s) - t0))
# the lease runs out, the lock goes, the next node in rank waits its stagger
check "every survivor has every certificate $took s after the kill (lease TTL ${CL_LEASE_TTL} s, stagger ${CL_STAGGER} s)" \
    test "$took" -le $((CL_LEASE_TTL + 2 * CL_STAGGER + 10))
check "every surviving node ($survivors) has all $N certificates" all_have "$N" $survivors
check "with the same serials" serials_agree "$N" $survivors
new_holder=$(grep -l "\[$name\] installed certificate" "$T"/n[123].log | paste -sd' ')
check "the lock did not stay with the killed node" test "$(lock_holder "$name")" != "$holder"
total=$(orders)
check "at most one extra newOrder ($total for $N; $before before the kill)" test "$total" -le $((N + 1))
orders_for=$(curl -sf "$PROXY_CTL/orders" | jq --arg d "$domain" '[.[] | select(.identifiers | index($d))] | length')
diag "orders for $domain at the CA: $orders_for"
check "the held order was resumed: another finalize for $domain reached Pebble" \
    test "$(proxy_count "endpoint=finalize&identifier=$domain")" -ge 2
check "$name installed by the survivors ($new_holder)" test -n "$new_holder"

# the killed node comes back: it reads every record and installs, orders nothing
node_start "$k"
wait_all "$N" 60 "$k"
check "node n$k, started again, has all $N certificates" all_have "$N" "$k"
check "the same serials on all 3 nodes" serials_agree "$N"
check "and no newOrder was sent for it ($(orders) for $N)" test "$(orders)" -eq "$total"
done_testing
