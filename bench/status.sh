#!/bin/bash
# bench/status.sh [N] - renewd on N valid certificates (default 100000),
# then the control socket's status: the time for "renewctl status --json"
# and for the table, the daemon's RSS before and after, the loop stalls of
# 50 ms or more it logged meanwhile, and how long a one-name status takes
# while a slow client is streaming the whole list. No CA is needed (as in
# bench/scale.sh, whose state directory STATE= can be reused).
# BUILD=dir picks the build (default build/); a plain one gives honest figures.
set -u
n=${1:-100000}
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "$here/.." && pwd)
top_builddir=$(cd "$top_srcdir" && cd "${BUILD:-build}" && pwd)
export top_srcdir top_builddir
. "$top_srcdir/tests/integration/lib.sh"

ports=$("$top_builddir/tests/integration/freeport" 2) || bail "freeport failed"
set -- $ports
S=${STATE:-$T/state}
if [ "$(cat "$S/.n" 2>/dev/null)" != "$n" ]; then
	rm -rf "$S"
	python3 "$here/gencerts.py" "$S" "$n" || bail "gencerts failed"
	echo "$n" >"$S/.n"
fi
{
	printf 'state_dir: %s\ncontrol_socket: %s/control\n' "$S" "$T"
	printf 'http01:\n  listen: ["127.0.0.1:%s"]\n' "$1"
	printf 'cas:\n  - name: none\n    directory: https://127.0.0.1:%s/dir\n' "$2"
	printf 'certificates:\n'
	awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++)
	    printf "- {name: c%d, domains: [c%d.t]}\n", i, i }'
} >"$T/renewd.yaml"

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
rss() { awk '/^VmRSS/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$pid/status"; }
ctl() { "$RENEWCTL" -s "$T/control" "$@"; }

spawn "$T/renewd.log" "$RENEWD" -v -c "$T/renewd.yaml"
pid=$LAST_PID
wait_for 900 grep -q "due checks done: $n checked" "$T/renewd.log" || bail "renewd did not check them all"
stalls=$(grep -c "held for" "$T/renewd.log")
echo "N=$n; RSS before status: $(rss)"
t=$(now)
ctl status --json >"$T/status.json"
echo "status --json: exit $?, $(since "$t") s, $(wc -l <"$T/status.json") lines, $(wc -c <"$T/status.json") bytes"
t=$(now)
ctl status >/dev/null
echo "status (table): exit $?, $(since "$t") s"
# a client that stops reading for 2 s after its first 64 KiB
( ctl status --json | { head -c 65536 >/dev/null; sleep 2; cat >/dev/null; } ) &
slow=$!
sleep 0.3
t=$(now)
ctl status c7 >/dev/null
echo "status of one name while that client streams: $(since "$t") s"
wait "$slow"
echo "RSS after: $(rss); loop stalls >= 50 ms logged during it: $(( $(grep -c "held for" "$T/renewd.log") - stalls ))"
