#!/bin/bash
# kill -9 in the middle of an install (issue 8, item 8): every fsync of
# renewd is slowed down (strace fault injection), so the install of a
# renewed certificate takes seconds, and renewd is killed at a different
# moment of it each round. The live version is always the old or the new
# certificate, whole; the next run finishes from there without a second
# order: it resumes the order, or finds the new version live and drops
# the order it had saved.
. "$(dirname "$0")/lib.sh"

command -v strace >/dev/null || bail "strace is not installed (scripts/deps)"
pebble_start PEBBLE_WFE_NONCEREJECT=0

# conf N: round N's inventory: a name of its own, so each round renews
# (the old certificate lacks it).
conf() {
	write_conf "$T/renewd.yaml" "  - name: i
    domains: [i.example, r$1.i.example]"
}
# has_name N: the live certificate is round N's
has_name() { openssl x509 -in "$T/state/certs/i/live/cert.pem" -noout -ext subjectAltName 2>/dev/null | grep -q "DNS:r$1.i.example"; }
# whole: the live version verifies and its key matches
whole() { verify_cert i; }

conf 0
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/first.log" 2>&1 || bail "no first certificate"
orders0=$(pebble_count "Added order")

bad=0 resumed=0 dropped=0 rounds=0 late=0
for delay in 0.1 0.4 0.8 1.2 1.6 2.0 2.5 3.0; do
	rounds=$((rounds + 1))
	conf "$rounds"
	: >"$T/round.log"
	# LeakSanitizer cannot run under ptrace; the kill ends the run anyway
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	    strace -f -qq -o /dev/null -e trace=fsync -e inject=fsync:delay_exit=250000 \
	    "$RENEWD" -c "$T/renewd.yaml" --once >"$T/round.log" 2>&1 &
	spid=$!
	wait_for 30 grep -q "certificate downloaded" "$T/round.log" || diag "round $rounds: no download"
	sleep "$delay"
	pid=$(cat "$T/state/renewd.lock" 2>/dev/null)
	if grep -q "installed certificate" "$T/round.log"; then
		late=$((late + 1))	# the kill came after the install
	fi
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	wait "$spid" 2>/dev/null
	cat "$T/round.log" >>"$T/killed.log"
	whole && { has_name "$((rounds - 1))" || has_name "$rounds"; } ||
	    { bad=$((bad + 1)); diag "round $rounds: live is not the old or the new certificate, whole"; }
	"$RENEWD" -c "$T/renewd.yaml" --once >"$T/after.log" 2>&1 ||
	    { bad=$((bad + 1)); diag "round $rounds: the next run failed"; }
	cat "$T/after.log" >>"$T/next.log"
	grep -q "resuming order" "$T/after.log" && resumed=$((resumed + 1))
	grep -q "is no longer needed" "$T/after.log" && dropped=$((dropped + 1))
	whole && has_name "$rounds" ||
	    { bad=$((bad + 1)); diag "round $rounds: not the new certificate after the next run"; }
	[ -e "$T/state/certs/i/pending.key" ] &&
	    { bad=$((bad + 1)); diag "round $rounds: pending.key left"; }
done
orders=$(( $(pebble_count "Added order") - orders0 ))
diag "$rounds rounds: $resumed resumed, $dropped found installed, $late killed after the install"
check "after every kill, the live certificate was whole and the next run completed" \
    test "$bad" -eq 0
check "some kills came before the new version went live (resumed: $resumed)" test "$resumed" -gt 0
check "some came after it went live but before the cleanup (dropped: $dropped)" test "$dropped" -gt 0
check "one order per round ($orders for $rounds)" test "$orders" -eq "$rounds"

done_testing
