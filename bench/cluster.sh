#!/bin/bash
# bench/cluster.sh [N] - cluster mode (issue 14) at scale: 3 renewd nodes on
# a 3-member etcd and one Pebble behind haproxy (tests/cluster/lib_cluster.sh),
# N certificates (default 1000). Node n3 is killed (kill -9) once n1 has a
# quarter of them, the etcd leader once n1 has half. Prints the orders Pebble
# saw, orders/s, the time until both survivors have every certificate, the
# time until n3, started again, has them too, and whether every node has
# the same certificates (serials and bytes). Exit 0 only with exactly N
# orders and identical certificates everywhere.
# BUILD=dir picks the build (default build/; a plain one gives honest
# figures); LIMIT=s bounds the run (default 900).
set -u
n=${1:-1000}
here=$(cd "$(dirname "$0")" && pwd)
TEST_TIMEOUT=${LIMIT:-900}
. "$here/lib.sh"
. "$top_srcdir/tests/cluster/lib_cluster.sh"

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc | awk '{ printf "%.1f", $1 }'; }

cluster_start
cluster_up "$n"
t0=$(now)
wait_for "$TEST_TIMEOUT" all_have $((n / 4)) 1 || bail "n1 did not reach $((n / 4)): $(tail -n 3 "$T/n1.log")"
node_kill 3
echo "node n3 killed at $(since "$t0") s (n1 had $(node_count 1))"
wait_for "$TEST_TIMEOUT" all_have $((n / 2)) 1 || bail "n1 did not reach $((n / 2))"
etcd_kill_leader || bail "no etcd leader found"
echo "etcd leader (member $KILLED_MEMBER) killed at $(since "$t0") s (n1 had $(node_count 1))"
wait_all "$n" "$TEST_TIMEOUT" 1 2 || bail "the survivors did not get every certificate"
survivors=$(since "$t0")
etcd_member_start "$KILLED_MEMBER"
node_start 3
t1=$(now)
wait_all "$n" "$TEST_TIMEOUT" 3 || bail "n3 did not catch up"
catchup=$(since "$t1")
sleep 2

orders=$(orders)
echo "certificates:                           $n"
echo "orders at Pebble:                       $orders"
echo "orders/s (orders / survivors' time):    $(echo "$orders / $survivors" | bc -l | awk '{ printf "%.1f", $1 }')"
echo "until n1 and n2 have every certificate: $survivors s"
echo "until n3 (restarted) has them too:      $catchup s after its start"
for i in 1 2 3; do
	printf 'node n%d: %s orders created, %s installs, %s deployed, %s reload runs\n' "$i" \
	    "$(grep -c "order created" "$T/n$i.log")" "$(installs "$i")" "$(deployed "$i")" "$(reload_runs "$i")"
done
same=yes
serials_agree "$n" || same=no
for i in 1 2 3; do
	(cd "$T/n$i/state/certs" && sha256sum -- */live/cert.pem) >"$T/hashes.n$i"
done
cmp -s "$T/hashes.n1" "$T/hashes.n2" && cmp -s "$T/hashes.n1" "$T/hashes.n3" || same=no
echo "identical certificates on every node:   $same"
[ "$orders" -eq "$n" ] && [ "$same" = yes ]
