#!/bin/bash
# bench/issue.sh [N] - issue N certificates (default 50) from a fresh local
# Pebble with renewd --once and print wall time, CPU and peak memory; the
# ceiling (issue 13): Pebble's CPU per order, the CPU floor of the run,
# per-order latency, requests per order, and the rate of the minimal
# reference client bench/refclient on the same Pebble (REF=0: not run).
# Needs a built tree: BUILD=build by default (scripts/test makes one; a build
# without sanitizers, e.g. build-demo from scripts/demo, gives honest numbers).
# BUILD may be absolute (another tree's build, for before/after figures).
set -u
n=${1:-50}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

# the issue's Pebble: no nonce rejections, no authorization reuse
pebble_start PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0
cores=$(nproc)

# The reference client first, on the same Pebble and http-01 port.
if [ "${REF:-1}" != 0 ]; then
	refclient_build "$T/refclient" || bail "cannot build bench/refclient (golang-go, golang-golang-x-crypto-dev)"
	p0=$(proc_cpu "$PEBBLE_PID")
	"$T/refclient" -dir "$PEBBLE_DIR" -cafile "$PEBBLE_CA" -n "$n" -inflight 8 \
	    -http01 "127.0.0.1:$HTTP01_PORT" -suffix ref.example >"$T/ref.out" 2>&1 ||
	    { cat "$T/ref.out"; bail "the reference client failed"; }
	ref_pebble=$(echo "$(proc_cpu "$PEBBLE_PID") - $p0" | bc -l)
	ref=$(grep '^refclient:' "$T/ref.out")
	ref_wall=$(kv wall "$ref")
fi

write_conf "$T/renewd.yaml" "$(cert_list b "$n" bench.example)"

# SEGMENTS=1 runs renewd with debug logging and prints where an order's
# time goes (bench/order_segments.py); the logging costs some CPU.
verbose=()
[ -n "${SEGMENTS:-}" ] && verbose=(-v)
# CALLGRIND=1 counts renewd's instructions instead (slower; wall figures
# then mean nothing, the instruction count is the figure to compare);
# CALLGRIND_OUT=FILE keeps the profile for callgrind_annotate.
wrap=()
[ -n "${CALLGRIND:-}" ] && wrap=(valgrind --tool=callgrind --callgrind-out-file="${CALLGRIND_OUT:-$T/callgrind.out}")
p0=$(proc_cpu "$PEBBLE_PID")
r0=$(pebble_requests)
# Pebble 2.4 can deadlock (it stops answering every request, seen even
# at 8 in flight under heavy load): LIMIT seconds, then say so
/usr/bin/time -f '%e %U %S %M' -o "$T/time" timeout "${LIMIT:-300}" "${wrap[@]}" \
    "$RENEWD" "${verbose[@]}" -c "$T/renewd.yaml" --once >"$T/renewd.log" 2>&1
rc=$?
[ "$rc" = 124 ] && grep -q "timed out after" "$T/renewd.log" &&
    echo "renewd did not finish in ${LIMIT:-300} s: Pebble stopped answering (its deadlock); run again"
pebble_cpu=$(echo "$(proc_cpu "$PEBBLE_PID") - $p0" | bc -l)
requests=$(($(pebble_requests) - r0))
read -r wall user sys rss < <(tail -n 1 "$T/time")
installed=$(grep -c "installed certificate" "$T/renewd.log")
span=$(log_span "$T/renewd.log")
cpu=$(echo "$user + $sys" | bc -l)
floor=$(echo "($cpu + $pebble_cpu) / $cores" | bc -l)
echo "renewd bench: $n certificates (ecdsa-p256, max_concurrent_orders 8), Pebble 2.4.0 with PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0"
echo "build:                         $top_builddir ($(grep -q '^SAN_CFLAGS = -f' "$top_builddir/Makefile" 2>/dev/null && echo 'with sanitizers: slower' || echo 'no sanitizers'))"
echo "load average at the end:       $(cut -d' ' -f1-3 /proc/loadavg) on $cores cores"
echo "exit status:                   $rc"
echo "certificates installed:        $installed"
echo "wall, start to last install:   $span s"
aspan=$(account_span "$T/renewd.log")
echo "wall, account ready to last:   $aspan s (the reference client's clock starts there too)"
echo "wall, whole process:           $wall s"
echo "renewd CPU (user+sys):         $cpu s  ($user user, $sys sys)"
printf 'renewd CPU per certificate:    %.2f ms\n' "$(echo "$cpu * 1000 / $n" | bc -l)"
echo "renewd peak RSS:               $rss KiB"
printf 'Pebble CPU per order:          %.2f ms\n' "$(echo "$pebble_cpu * 1000 / $n" | bc -l)"
printf 'CPU floor (renewd+Pebble)/%d:  %.3f s; renewd wall is %.2f x the floor\n' \
    "$cores" "$floor" "$(echo "$span / $floor" | bc -l 2>/dev/null || echo 0)"
printf 'requests per order:            %.2f (all requests Pebble logged during the run, /n)\n' \
    "$(echo "$requests / $n" | bc -l)"
order_latency "$T/renewd.log"
if [ "${REF:-1}" != 0 ]; then
	echo "reference client (bench/refclient, x/crypto/acme, 20 ms polls, 8 in flight), same Pebble:"
	echo "  $ref"
	printf '  its rate %.1f orders/s, Pebble CPU per order %.2f ms; renewd %.1f orders/s = %.2f of it\n' \
	    "$(echo "$n / $ref_wall" | bc -l)" "$(echo "$ref_pebble * 1000 / $n" | bc -l)" \
	    "$(echo "$n / $span" | bc -l)" "$(echo "$ref_wall / $span" | bc -l)"
	printf '  its own CPU floor (refclient+Pebble)/%d: %.3f s; its wall is %.2f x it\n' "$cores" \
	    "$(echo "($(kv cpu "$ref") + $ref_pebble) / $cores" | bc -l)" \
	    "$(echo "$ref_wall / (($(kv cpu "$ref") + $ref_pebble) / $cores)" | bc -l)"
	[ "$aspan" != n/a ] && printf '  both from a registered account: renewd %.1f orders/s = %.2f of it\n' \
	    "$(echo "$n / $aspan" | bc -l)" "$(echo "$ref_wall / $aspan" | bc -l)"
fi
if [ -n "${SEGMENTS:-}" ]; then
	echo "where an order's time goes (renewd's debug log):"
	python3 "$here/order_segments.py" "$T/renewd.log"
	# loopstat.c's debug lines: the loop late by 50 ms or more
	longest=$(sed -n 's/.*event loop held for \([0-9]*\) ms.*/\1/p' "$T/renewd.log" | sort -n | tail -n 1)
	echo "event loop held >= 50 ms:      $(grep -c "event loop held for" "$T/renewd.log") times, longest ${longest:-0} ms"
fi
if [ -n "${CALLGRIND:-}" ]; then
	ir=$(sed -n 's/^summary: //p' "${CALLGRIND_OUT:-$T/callgrind.out}")
	echo "renewd instructions (callgrind): $ir"
	printf 'instructions per certificate:  %.2f M\n' "$(echo "$ir / $n / 1000000" | bc -l)"
fi
[ "$rc" = 0 ] && [ "$installed" = "$n" ]
