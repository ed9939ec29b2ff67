#!/bin/bash
# bus.c against a stand-in for systemd's manager on a private dbus-daemon:
# jobs that succeed, fail, are refused, never end, end before their reply,
# and a bus that is not there.
. "$(dirname "$0")/lib.sh"
DRV=$top_builddir/tests/integration/bus_reload

bus_start '{"units": {
  "nginx.service": {"result": "done", "delay_ms": 30},
  "broken.service": {"result": "failed"},
  "secret.service": {"deny": true},
  "early.service": {"signal_first": true},
  "stuck.service": {"never": true}}}'

"$DRV" 5000 nginx.service >"$T/out" 2>&1
check "ReloadUnit with a job result \"done\" succeeds" test $? -eq 0
check "it reports the job result" grep -qx "nginx.service: done" "$T/out"
check "the stand-in saw ReloadUnit nginx.service in mode replace" \
    grep -q '"method": "ReloadUnit", "unit": "nginx.service", "mode": "replace"' "$STANDIN_LOG"
check "renewd subscribed before calling" \
    sh -c "head -n 1 '$STANDIN_LOG' | grep -q Subscribe"

"$DRV" 5000 +nginx.service >"$T/out" 2>&1
check "reload_mode restart calls ReloadOrRestartUnit" \
    grep -q '"method": "ReloadOrRestartUnit", "unit": "nginx.service"' "$STANDIN_LOG"

"$DRV" 5000 broken.service >"$T/out" 2>&1
check "a job result \"failed\" is a failure" test $? -eq 1
check "and says so" grep -q 'broken.service: failed: systemd: reload of broken.service: job result "failed"' "$T/out"

"$DRV" 5000 missing.service >"$T/out" 2>&1
check "an unknown unit fails with systemd's error" grep -q "org.freedesktop.systemd1.NoSuchUnit" "$T/out"

"$DRV" 5000 secret.service >"$T/out" 2>&1
check "access denied names the polkit rule" grep -q "AccessDenied.*polkit rule described in renewd(8)" "$T/out"

"$DRV" 5000 early.service >"$T/out" 2>&1
check "a JobRemoved that arrives before the reply is not missed" grep -qx "early.service: done" "$T/out"

start=$(date +%s%N)
"$DRV" 700 stuck.service >"$T/out" 2>&1
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "a job that never ends fails at its timeout" test $rc -eq 1
check "the timeout is named" grep -q "no answer from systemd in time" "$T/out"
check "after about the timeout (700 ms), not much later ($ms ms)" test "$ms" -ge 650 -a "$ms" -lt 5000

"$DRV" 5000 nginx.service broken.service early.service nginx.service >"$T/out" 2>&1
check "four jobs at once: each gets its own result" \
    test "$(grep -c ': done$' "$T/out")" = 3 -a "$(grep -c 'failed' "$T/out")" = 1

DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/nonexistent "$DRV" 5000 nginx.service >"$T/out" 2>&1
check "no bus: a clear error naming the address" grep -q "cannot connect to the system bus (unix:path=$T/nonexistent)\|connection lost" "$T/out"

done_testing
