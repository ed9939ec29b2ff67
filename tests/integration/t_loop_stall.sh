#!/bin/bash
# t_loop_stall.sh - the loop never stalls: with thousands of valid
# certificates renewd checks them in slices at start-up and on SIGHUP, its
# http-01 listener keeps answering meanwhile, and the longest stall it
# measures itself (debug log) stays far below a second.
. "$top_srcdir/tests/integration/lib.sh"

N=${STALL_CERTS:-2000}
ports=$("$top_builddir/tests/integration/freeport" 2) || bail "freeport failed"
set -- $ports
http_port=$1 ca_port=$2
python3 "$top_srcdir/bench/gencerts.py" "$T/state" "$N" || bail "gencerts failed"
{
	printf 'state_dir: %s\nhttp01:\n  listen: ["127.0.0.1:%s"]\n' "$T/state" "$http_port"
	# no CA is needed: every certificate is valid and not due
	printf 'cas:\n  - name: none\n    directory: https://127.0.0.1:%s/dir\n' "$ca_port"
	# flow style: 100,000 of them stay under the 4 MiB inventory limit
	printf 'certificates:\n'
	awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++)
	    printf "- {name: c%d, domains: [c%d.t]}\n", i, i }'
} >"$T/renewd.yaml"

# answers N: N requests for a missing token, 0.2 s apart, each a 404
# within 3 s (generous: slices are 20 ms; a stalled loop answers none for
# as long as all the checks take, 2-5 ms each)
answers() {
	local i code
	for i in $(seq 1 "$1"); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 \
		    "http://127.0.0.1:$http_port/.well-known/acme-challenge/missing")
		[ "$code" = 404 ] || { diag "request $i: got '$code'"; return 1; }
		sleep 0.2
	done
}
# stall_ok LINE_PATTERN: the longest stall on renewd's last such line < 1 s
stall_ok() {
	local ms
	ms=$(sed -n "s/.*$1.*longest loop stall so far \([0-9]*\) ms.*/\1/p" \
	    "$T/renewd.log" | tail -1)
	diag "longest loop stall: ${ms:-?} ms"
	[ -n "$ms" ] && [ "$ms" -lt 1000 ]
}

spawn "$T/renewd.log" "$RENEWD" -v -c "$T/renewd.yaml"
pid=$LAST_PID
wait_for 60 grep -q "started:" "$T/renewd.log" || bail "renewd did not start"
check "the listener answers while $N certificates are checked" answers 5
grep -q "due checks done" "$T/renewd.log" ||
    diag "the start-up checks were still running then"
wait_for 300 grep -q "due checks done" "$T/renewd.log" || bail "checks did not finish"
check "every certificate was checked" \
    test "$(grep -c 'is valid; renewal due' "$T/renewd.log")" -eq "$N"
check "no start-up slice held the loop for a second" stall_ok "due checks done"

# a reload that moves every renewal: all are checked again
sed -i 's/^certificates:/defaults:\n  renew_before: 20d\ncertificates:/' "$T/renewd.yaml"
n0=$(grep -c "due checks done" "$T/renewd.log")
kill -HUP "$pid"
check "the listener answers during the reload" answers 5
wait_for 300 sh -c "[ \$(grep -c 'due checks done' '$T/renewd.log') -gt $n0 ]" ||
    bail "reload checks did not finish"
check "the reload rechecked every certificate" \
    test "$(grep -c 'is valid; renewal due' "$T/renewd.log")" -eq $((2 * N))
check "no reload step held the loop for a second" stall_ok "due checks done"
done_testing
