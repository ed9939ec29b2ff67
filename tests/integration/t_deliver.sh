#!/bin/bash
# The delivery engine with plain hooks (no servers): deploy copies with
# their modes, one merged reload for 20 certificates, drift found on the
# next start, a failing hook stopping its list, a hook killed at its
# timeout, signals through a pid file, a deploy into a missing directory,
# and delivery.json + renewctl status telling the state.
. "$(dirname "$0")/lib.sh"

pebble_start
mkdir -p "$T/out"
# a hook that counts its runs and records which certificates it ran for
cat >"$T/hook.sh" <<EOH
#!/bin/sh
echo run >>"$T/runs"
echo "\$RENEWD_CERT_NAMES" >>"$T/names"
echo "\$RENEWD_CERT_NAME \$RENEWD_FULLCHAIN \$RENEWD_DOMAINS" >>"$T/env"
EOH
chmod 755 "$T/hook.sh"
certs=""
for i in $(seq 1 20); do
	certs="$certs  - name: c$i
    domains: [c$i.deliver.example]
    reload_delay: 1s
    deploy:
      - { path: $T/out/c$i.pem, content: fullchain+key, mode: \"0640\", group: nogroup }
    reload: [ { exec: [$T/hook.sh] } ]
"
done
write_conf "$T/renewd.yaml" "$certs"
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/renewd.log" 2>&1
check "--once exits 0 once all 20 are issued and delivered" test $? -eq 0
check "the shared hook ran exactly once for 20 certificates" test "$(wc -l <"$T/runs")" -eq 1
check "that one run named all 20 in RENEWD_CERT_NAMES" test "$(wc -w <"$T/names")" -eq 20
check "RENEWD_FULLCHAIN points into the state directory's live version" \
    grep -q " $T/state/certs/c[0-9]*/live/fullchain.pem c[0-9]*.deliver.example$" "$T/env"
ok_files=0
for i in $(seq 1 20); do
	cat "$T/state/certs/c$i/live/fullchain.pem" "$T/state/certs/c$i/live/privkey.pem" |
	    cmp -s - "$T/out/c$i.pem" && ok_files=$((ok_files + 1))
done
check "every deploy file is fullchain then key of the live version ($ok_files/20)" test "$ok_files" -eq 20
check "with the requested mode and group" test "$(stat -c '%a %G' "$T/out/c7.pem")" = "640 nogroup"
check "delivery.json says delivered for the live serial" \
    grep -q "\"serial\":\"$(openssl x509 -in "$T/state/certs/c3/live/cert.pem" -noout -serial | cut -d= -f2 | tr A-F a-f | sed 's/^0*//')\",\"state\":\"delivered\"" \
    "$T/state/certs/c3/delivery.json"
check "each certificate logs its delivery" test "$(grep -c '\] delivered serial ' "$T/renewd.log")" -eq 20
check "no deploy file is left as a temp file" sh -c "! ls -A '$T/out' | grep -q '^\\.'"

# Nothing changed: a second start reloads nothing.
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/renewd2.log" 2>&1
check "an unchanged start exits 0" test $? -eq 0
check "and runs no reload" test "$(wc -l <"$T/runs")" -eq 1
# A deploy path that drifted is rewritten on start, and its reloads run.
echo "stale" >"$T/out/c5.pem"
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/renewd3.log" 2>&1
check "a start after drift exits 0" test $? -eq 0
check "the drifted file is rewritten" sh -c "cat '$T/state/certs/c5/live/fullchain.pem' '$T/state/certs/c5/live/privkey.pem' | cmp -s - '$T/out/c5.pem'"
check "and the reload ran once more, for c5 only" \
    test "$(wc -l <"$T/runs")" -eq 2 -a "$(tail -n 1 "$T/names")" = c5
# A mode changed in the inventory is applied though the content is the same.
sed -i 's/mode: "0640", group: nogroup/mode: "0600", group: nogroup/' "$T/renewd.yaml"
grep -q 'mode: "0600", group: nogroup' "$T/renewd.yaml" || bail "sed did not change the mode"
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/renewd4.log" 2>&1
check "a start after a mode change exits 0" test $? -eq 0
check "the deploy file now has the new mode" test "$(stat -c '%a %G' "$T/out/c7.pem")" = "600 nogroup"

# Failures: a hook that exits 1 stops its list; one that hangs is killed;
# a deploy into a missing directory fails and keeps the live certificate.
cat >"$T/fail.sh" <<'EOH'
#!/bin/sh
echo "config test failed: bad directive" >&2
exit 1
EOH
chmod 755 "$T/fail.sh"
# a process that records the signals it gets, with a pid file
spawn "$T/sigproc.log" sh -c "trap 'echo USR1 >>$T/signals' USR1; echo \$\$ >$T/sig.pid; while :; do sleep 0.1; done"
wait_for 10 test -s "$T/sig.pid"
echo "12abc" >"$T/bad.pid"
write_conf "$T/renewd-f.yaml" "  - name: bad
    domains: [bad.deliver.example]
    reload_delay: 1s
    reload:
      - { exec: [$T/fail.sh] }
      - { exec: [/usr/bin/touch, $T/after-fail] }
  - name: slow
    domains: [slow.deliver.example]
    reload_delay: 1s
    reload: [ { exec: [/bin/sleep, '30'], timeout: 1s } ]
  - name: nodir
    domains: [nodir.deliver.example]
    deploy: [ { path: $T/missing/dir/x.pem } ]
  - name: sig
    domains: [sig.deliver.example]
    reload_delay: 1s
    reload: [ { signal: USR1, pidfile: $T/sig.pid } ]
  - name: badpid
    domains: [badpid.deliver.example]
    reload_delay: 1s
    reload: [ { signal: HUP, pidfile: $T/bad.pid } ]"
start=$(date +%s)
"$RENEWD" -c "$T/renewd-f.yaml" --once >"$T/fail.log" 2>&1
rc=$?
check "--once exits 1 when a delivery failed" test $rc -eq 1
check "all five certificates were still issued" sh -c "for n in bad slow nodir sig badpid; do test -f '$T/state/certs/'\$n/live/cert.pem || exit 1; done"
check "the failing hook is logged with its status and stderr" \
    grep -q "\[bad\] delivery failed: reload exec $T/fail.sh: exited with status 1; output \"config test failed: bad directive\\\\x0a\"; not retried (--once)" "$T/fail.log"
check "the entry after the failing one did not run" test ! -e "$T/after-fail"
check "the hanging hook was killed at its timeout" \
    grep -q "\[slow\] delivery failed: reload exec /bin/sleep 30: killed after its timeout of 1 s" "$T/fail.log"
check "and --once did not wait 30 s for it ($(( $(date +%s) - start )) s)" test $(( $(date +%s) - start )) -lt 25
check "the missing deploy directory is named with the errno text" \
    grep -q "\[nodir\] delivery failed: deploy $T/missing/dir/x.pem: No such file or directory" "$T/fail.log"
check "that certificate stays live in the state directory" verify_cert nodir
check "the signal reached the process behind the pid file" wait_for 5 grep -q USR1 "$T/signals"
check "a malformed pid file is refused, not guessed at" \
    grep -q "\[badpid\] delivery failed: reload signal HUP: pidfile $T/bad.pid: no valid pid in it" "$T/fail.log"
check "delivery.json records the failure" grep -q '"state":"reload failed"' "$T/state/certs/bad/delivery.json"
check "and the deploy failure" grep -q '"state":"deploy failed"' "$T/state/certs/nodir/delivery.json"
"$RENEWCTL" -c "$T/renewd-f.yaml" status >"$T/status.out" 2>&1
check "renewctl status exits 1 while deliveries fail" test $? -eq 1
check "and shows each delivery state" sh -c "grep -q '^bad  *valid .* reload-failed ' '$T/status.out' &&
    grep -q '^nodir  *valid .* deploy-failed ' '$T/status.out' && grep -q '^sig  *valid .* delivered ' '$T/status.out'"

# reload_max_delay caps a long reload_delay: 10 s of quiet wanted, but the
# reload may come no later than 2 s after the request.
write_conf "$T/renewd-cap.yaml" "  - name: capped
    domains: [capped.deliver.example]
    reload_delay: 10s
    reload_max_delay: 2s
    reload: [ { exec: [/bin/sh, -c, 'date +%s >$T/capped-ran'] } ]"
"$RENEWD" -c "$T/renewd-cap.yaml" --once >"$T/cap.log" 2>&1
check "a capped delay still delivers" test $? -eq 0
installed=$(date -d "$(grep 'installed certificate' "$T/cap.log" | cut -c1-19)Z" +%s)
check "the reload ran at reload_max_delay (2 s), not reload_delay (10 s): $(( $(cat "$T/capped-ran") - installed )) s" \
    test $(( $(cat "$T/capped-ran") - installed )) -ge 1 -a $(( $(cat "$T/capped-ran") - installed )) -le 6
done_testing
