#!/bin/bash
# Start-up cleanup of the state directory removes renewd's own temp files
# (".renewd-tmp.<name>.XXXXXX", left by a crash) and nothing else: a
# user's ".settings.backup" looks like ".<name>.XXXXXX" but is kept.
. "$(dirname "$0")/lib.sh"

mkdir -m 700 "$T/state"
mkdir -p -m 700 "$T/state/accounts/a" "$T/state/certs/www"
echo mine >"$T/state/.settings.backup"
echo mine >"$T/state/certs/www/.notes.Ab12Cd"
echo key >"$T/state/.renewd-tmp.renewd.lock.Ab12Cd"
echo key >"$T/state/accounts/a/.renewd-tmp.account.key.zZ09aB"
echo key >"$T/state/certs/www/.renewd-tmp.delivery.json.q1w2e3"
cat >"$T/renewd.yaml" <<EOY
state_dir: $T/state
cas:
  - name: a
    directory: https://127.0.0.1:9/dir
EOY
spawn "$T/renewd.log" "$RENEWD" -c "$T/renewd.yaml"
pid=$LAST_PID
wait_for 10 grep -q "started" "$T/renewd.log" || bail "renewd did not start"
check "a user's .settings.backup in state_dir survives a start" \
    test "$(cat "$T/state/.settings.backup")" = mine
check "and one in a certificate directory" \
    test "$(cat "$T/state/certs/www/.notes.Ab12Cd")" = mine
check "renewd's leftover temp file in state_dir is removed" \
    test ! -e "$T/state/.renewd-tmp.renewd.lock.Ab12Cd"
check "in accounts/<ca>/" test ! -e "$T/state/accounts/a/.renewd-tmp.account.key.zZ09aB"
check "in certs/<name>/" test ! -e "$T/state/certs/www/.renewd-tmp.delivery.json.q1w2e3"
check "each removal is logged" \
    test "$(grep -c "left by an interrupted write" "$T/renewd.log")" -eq 3
check "the user's files are not mentioned" sh -c "! grep -q 'settings.backup\|notes.Ab12Cd' '$T/renewd.log'"
kill -TERM "$pid"
wait "$pid"
check "renewd exits 0" test $? -eq 0

done_testing
