#!/bin/bash
# kill -9 at arbitrary moments while 40 certificates are being issued: every
# live certificate stays complete and matching its key, and the next run
# finishes the job from whatever was left on disk.
. "$(dirname "$0")/lib.sh"

pebble_start

# Pebble 2.4.0 deadlocks with 12+ orders in flight, and it finishes the
# requests of a killed client: 4 per run, and a pause after each kill, keep
# a killed run and the next one together well below that.
MAX_ORDERS=4 write_conf "$T/renewd.yaml" "$(cert_list k 40 crash.example)"

# complete_live: every live link points at a directory with all four files,
# and the key matches the certificate.
complete_live() {
	local d bad=0
	for d in "$T"/state/certs/*/live; do
		[ -e "$d" ] || [ ! -L "$d" ] || { bad=$((bad + 1)); continue; }
		[ -e "$d" ] || continue
		verify_cert "$(basename "$(dirname "$d")")" || bad=$((bad + 1))
	done
	return "$bad"
}

kills=0 broken=0
for delay in 0.05 0.15 0.25 0.35 0.45 0.1 0.3; do
	"$RENEWD" -c "$T/renewd.yaml" --once >>"$T/killed.log" 2>&1 &
	pid=$!
	sleep "$delay"
	kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
	wait "$pid" 2>/dev/null
	complete_live || broken=$((broken + 1))
	sleep 0.3
done
diag "killed $kills runs; $(ls -d "$T"/state/certs/*/live 2>/dev/null | wc -l) certificates live by then"
check "renewd was killed mid-run at least once" test "$kills" -gt 0
check "after every kill -9, each live certificate was complete and matched its key" \
    test "$broken" -eq 0

"$RENEWD" -c "$T/renewd.yaml" --once >"$T/final.log" 2>&1
check "the next run completes the inventory (exit 0)" test $? -eq 0
good=0
for i in $(seq 1 40); do verify_cert "k$i" && good=$((good + 1)); done
check "all 40 certificates verify ($good)" test "$good" -eq 40

done_testing
