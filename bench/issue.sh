#!/bin/bash
# bench/issue.sh [N] - issue N certificates (default 50) from a fresh local
# Pebble with renewd --once and print wall time, CPU and peak memory.
# Needs a built tree: BUILD=build by default (scripts/test makes one; a build
# without sanitizers, e.g. build-demo from scripts/demo, gives honest numbers).
set -u
n=${1:-50}
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "$here/.." && pwd)
top_builddir=$(cd "$top_srcdir/${BUILD:-build}" && pwd)
export top_srcdir top_builddir
. "$top_srcdir/tests/integration/lib.sh"

pebble_start
write_conf "$T/renewd.yaml" "$(cert_list b "$n" bench.example)"

# CALLGRIND=1 counts renewd's instructions instead (slower; wall figures
# then mean nothing, the instruction count is the figure to compare).
wrap=()
[ -n "${CALLGRIND:-}" ] && wrap=(valgrind --tool=callgrind --callgrind-out-file="$T/callgrind.out")
/usr/bin/time -f '%e %U %S %M' -o "$T/time" "${wrap[@]}" "$RENEWD" -c "$T/renewd.yaml" --once \
    >"$T/renewd.log" 2>&1
rc=$?
read -r wall user sys rss <"$T/time"
installed=$(grep -c "installed certificate" "$T/renewd.log")
# start -> last install, from renewd's own millisecond timestamps
span=$(awk '
    function t(s) { split(substr(s, 12, 12), a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
    /started:/ && !s { s = t($1) }
    /installed certificate/ { e = t($1) }
    END { if (s && e) printf "%.3f", e - s; else print "n/a" }' "$T/renewd.log")
cpu=$(echo "$user + $sys" | bc -l)
echo "renewd bench: $n certificates (ecdsa-p256, max_concurrent_orders 8), Pebble 2.4.0 with PEBBLE_VA_NOSLEEP=1"
echo "build:                         $top_builddir ($(grep -q '^SAN_CFLAGS = -f' "$top_builddir/Makefile" 2>/dev/null && echo 'with sanitizers: slower' || echo 'no sanitizers'))"
echo "exit status:                   $rc"
echo "certificates installed:        $installed"
echo "wall, start to last install:   $span s"
echo "wall, whole process:           $wall s"
echo "renewd CPU (user+sys):         $cpu s  ($user user, $sys sys)"
printf 'renewd CPU per certificate:    %.2f ms\n' "$(echo "$cpu * 1000 / $n" | bc -l)"
echo "renewd peak RSS:               $rss KiB"
if [ -n "${CALLGRIND:-}" ]; then
	ir=$(sed -n 's/^summary: //p' "$T/callgrind.out")
	echo "renewd instructions (callgrind): $ir"
	printf 'instructions per certificate:  %.2f M\n' "$(echo "$ir / $n / 1000000" | bc -l)"
fi
[ "$rc" = 0 ] && [ "$installed" = "$n" ]
