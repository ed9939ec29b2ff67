#!/bin/bash
# bench/scale.sh [N] - start renewd on N valid certificates (default 100000),
# then SIGHUP it, and print the time to READY, to the last start-up check
# and to the end of the reload, the peak RSS, the longest loop stall renewd
# measured (its debug log), and the slowest answer of its http-01 listener
# while all this ran. No CA is needed: every certificate is valid and not
# due, and the CA's directory points at an unused port.
# BUILD=dir picks the build (default build/); a plain one gives honest figures.
# STATE=dir keeps the generated state directory there and reuses it on the
# next run with the same N (generation takes a minute or two). IDLE=s sets
# how long renewd is watched idle for its wakeups (default 60).
set -u
n=${1:-100000}
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "$here/.." && pwd)
top_builddir=$(cd "$top_srcdir" && cd "${BUILD:-build}" && pwd)
export top_srcdir top_builddir
. "$top_srcdir/tests/integration/lib.sh"

ports=$("$top_builddir/tests/integration/freeport" 2) || bail "freeport failed"
set -- $ports
http_port=$1 ca_port=$2

S=${STATE:-$T/state}
t0=$(date +%s.%N)
if [ "$(cat "$S/.n" 2>/dev/null)" != "$n" ]; then
	rm -rf "$S"
	python3 "$here/gencerts.py" "$S" "$n" || bail "gencerts failed"
	echo "$n" >"$S/.n"
fi
gen=$(echo "$(date +%s.%N) - $t0" | bc)
{
	printf 'state_dir: %s\nhttp01:\n  listen: ["127.0.0.1:%s"]\n' "$S" "$http_port"
	printf 'cas:\n  - name: none\n    directory: https://127.0.0.1:%s/dir\n' "$ca_port"
	# flow style: 100,000 of them stay under the 4 MiB inventory limit
	printf 'certificates:\n'
	awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++)
	    printf "- {name: c%d, domains: [c%d.t]}\n", i, i }'
} >"$T/renewd.yaml"

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
# probe_until CMD...: the listener's slowest answer (s) to a missing token,
# asked every 20 ms until CMD succeeds
probe_until() {
	local worst=0 t
	while ! "$@"; do
		t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 900 \
		    "http://127.0.0.1:$http_port/.well-known/acme-challenge/missing") || t=900
		worst=$(echo "if ($t > $worst) $t else $worst" | bc)
		sleep 0.02
	done
	echo "$worst"
}

start=$(now)
/usr/bin/time -f '%M' -o "$T/rss" "$RENEWD" -v -c "$T/renewd.yaml" >"$T/renewd.log" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
wait_for 600 grep -q "started:" "$T/renewd.log" || bail "renewd did not start"
ready=$(since "$start")
# all checked: every certificate logged as valid (renewd before the fix
# has no "due checks done" line)
all_checked() { [ "$(grep -c 'is valid; renewal due' "$T/renewd.log")" -ge "$n" ]; }
worst_start=$(probe_until all_checked)
checked=$(since "$start")
stall_start=$(sed -n 's/.*due checks done.*longest loop stall so far \([0-9]*\) ms.*/\1/p' "$T/renewd.log" | tail -1)
rpid=$(pgrep -P "$pid" renewd || echo "$pid")
# status FIELD: a line of renewd's /proc status, in kB or a count
status() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$rpid/status"; }
sleep 2
rss_ready=$(status VmRSS)
# idle: nothing is due for years; count what wakes it
idle=${IDLE:-60}
cs0=$(status voluntary_ctxt_switches)
sleep "$idle"
cs1=$(status voluntary_ctxt_switches)

hup=$(now)
kill -HUP "$rpid"
worst_hup=$(probe_until grep -q "inventory reloaded" "$T/renewd.log")
reload=$(since "$hup")
sleep 1
rss_hup=$(status VmHWM)
rss_after=$(status VmRSS)
# the largest of every figure renewd logged (a stall >= 50 ms has its own line)
stall_all=$(sed -n 's/.*longest\( loop stall\)\{0,1\} so far \([0-9]*\) ms.*/\2/p' "$T/renewd.log" | sort -n | tail -1)
kill -TERM "$(pgrep -P "$pid" renewd || echo "$pid")"
wait "$pid"

printf 'certificates:                 %d (state dir %s, %s inodes; generated in %.1f s)\n' \
    "$n" "$(du -sh "$S" | cut -f1)" "$(find "$S" | wc -l)" "$gen"
printf 'start to READY ("started"):   %.2f s\n' "$ready"
printf 'start to all checked:         %.2f s\n' "$checked"
printf 'SIGHUP to reloaded:           %.2f s\n' "$reload"
printf 'longest loop stall:           %s ms at start-up, %s ms including the reload\n' \
    "${stall_start:-?}" "${stall_all:-?}"
printf 'slowest http-01 answer:       %.3f s at start-up, %.3f s during the reload\n' \
    "$worst_start" "$worst_hup"
printf 'RSS once all are checked:     %d MiB\n' "$((rss_ready / 1024))"
printf 'voluntary wakeups, %3d s idle: %d\n' "$idle" "$((cs1 - cs0))"
printf 'peak RSS (SIGHUP included):   %d MiB; %d MiB after the reload\n' \
    "$((rss_hup / 1024))" "$((rss_after / 1024))"
grep -c "event loop held" "$T/renewd.log" | sed 's/^/stalls >= 50 ms logged:       /'
