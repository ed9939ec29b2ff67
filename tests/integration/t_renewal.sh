#!/bin/bash
# The daemon renews on its own: Pebble issues 12-second certificates, and
# renewd replaces each one when a third of its lifetime is left.
. "$(dirname "$0")/lib.sh"

PEBBLE_VALIDITY=12 pebble_start

write_conf "$T/renewd.yaml" "  - name: short
    domains: [short.example]"

"$RENEWD" -c "$T/renewd.yaml" >"$T/renewd.log" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
check "the first certificate is installed" \
    wait_for 15 grep -q "\[short\] installed certificate" "$T/renewd.log"
first=$(openssl x509 -in "$T/state/certs/short/live/cert.pem" -noout -serial)
first_end=$(date -d "$(openssl x509 -in "$T/state/certs/short/live/cert.pem" -noout -enddate | cut -d= -f2)" +%s)
life=$(( $(date -d "$(openssl x509 -in "$T/state/certs/short/live/cert.pem" -noout -enddate | cut -d= -f2)" +%s) -
	 $(date -d "$(openssl x509 -in "$T/state/certs/short/live/cert.pem" -noout -startdate | cut -d= -f2)" +%s) ))
diag "certificate lifetime: $life s"
check "it is scheduled for renewal (not reissued at once)" \
    sh -c "sleep 2; test \$(grep -c '\[short\] installed certificate' '$T/renewd.log') -eq 1"
check "renewd renews it before it expires" \
    wait_for 20 sh -c "test \$(grep -c '\[short\] installed certificate' '$T/renewd.log') -ge 2"
second=$(openssl x509 -in "$T/state/certs/short/live/cert.pem" -noout -serial)
check "the live certificate is a new one" test "$first" != "$second"
check "and it verifies" verify_cert short
# when the second one went live (the log's timestamp of its install), the
# first had not expired yet
second_at=$(date -d "$(grep '\[short\] installed certificate' "$T/renewd.log" | sed -n 2p | cut -d' ' -f1)" +%s)
check "the new one went live before the old one expired (at $second_at, old notAfter $first_end)" \
    test "$second_at" -lt "$first_end"
check "the old version stays on disk" test "$(ls -d "$T"/state/certs/short/*/ | wc -l)" -ge 2
check "renewd renews it a second time" \
    wait_for 20 sh -c "test \$(grep -c '\[short\] installed certificate' '$T/renewd.log') -ge 3"
check "older versions are pruned, and it is logged" \
    wait_for 5 grep -q '\[short\] pruned 1 old version(s), keeping 2' "$T/renewd.log"
check "the live one and the previous one stay (keep_versions 2)" \
    test "$(find "$T/state/certs/short" -mindepth 1 -maxdepth 1 -type d | wc -l)" -eq 2
check "the live one is among them" test -d "$T/state/certs/short/$(readlink "$T/state/certs/short/live")"
kill -TERM "$pid"
wait "$pid"
check "exit 0 on SIGTERM" test $? -eq 0

done_testing
