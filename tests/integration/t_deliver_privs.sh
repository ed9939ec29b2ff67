#!/bin/bash
# An unprivileged renewd (setpriv to nobody, as the hardened unit runs it)
# says which privilege a delivery lacks: write access to a deploy
# directory, CAP_CHOWN for an owner change, CAP_KILL for a signal to a
# root-owned process.
. "$(dirname "$0")/lib.sh"

command -v setpriv >/dev/null || bail "setpriv is not installed (util-linux)"
need_root "it drops to nobody (setpriv) and gives files to other owners"
pebble_start
mkdir -p "$T/state" "$T/rootonly" "$T/shared"
chown nobody:nogroup "$T/state" "$T/shared"
chmod 700 "$T/state"
chmod 755 "$T/rootonly"
# a root-owned process with a pid file nobody can read
spawn "$T/rootproc.log" sleep 300
echo "$LAST_PID" >"$T/root.pid"
chmod 644 "$T/root.pid"
write_conf "$T/renewd.yaml" "  - name: nowrite
    domains: [nowrite.privs.example]
    deploy: [ { path: $T/rootonly/x.pem } ]
  - name: chown
    domains: [chown.privs.example]
    deploy: [ { path: $T/shared/x.pem, owner: root } ]
  - name: kill
    domains: [kill.privs.example]
    reload_delay: 1s
    reload: [ { signal: HUP, pidfile: $T/root.pid } ]
  - name: fine
    domains: [fine.privs.example]
    deploy: [ { path: $T/shared/fine.pem, mode: \"0644\" } ]"
chmod 644 "$T/renewd.yaml"
setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$RENEWD" -c "$T/renewd.yaml" --once >"$T/renewd.log" 2>&1
check "--once as nobody exits 1 (deliveries failed)" test $? -eq 1
check "every certificate was still issued by the unprivileged daemon" \
    sh -c "for n in nowrite chown kill fine; do test -f '$T/state/certs/'\$n/live/cert.pem || exit 1; done"
check "a deploy directory it may not write: says it needs write access" \
    grep -q "\[nowrite\] delivery failed: deploy $T/rootonly/x.pem: Permission denied (renewd's user needs write access to the directory)" "$T/renewd.log"
check "nothing was written there" test ! -e "$T/rootonly/x.pem"
check "an owner change: says it needs CAP_CHOWN" \
    grep -q "\[chown\] delivery failed: deploy $T/shared/x.pem: Operation not permitted (changing the owner or group needs CAP_CHOWN)" "$T/renewd.log"
check "and leaves no file or temp file behind" sh -c "! ls -A '$T/shared' | grep -q '^\\.\\|^x.pem'"
check "a signal to root's process: says it needs CAP_KILL" \
    grep -q "\[kill\] delivery failed: reload signal HUP to pid $LAST_PID ($T/root.pid): Operation not permitted (needs CAP_KILL, or use a unit: reload)" "$T/renewd.log"
check "the root process was not signalled" kill -0 "$LAST_PID"
check "a delivery it may do still works" test "$(stat -c '%U %a' "$T/shared/fine.pem")" = "nobody 644"
done_testing
