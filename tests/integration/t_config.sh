#!/bin/bash
# renewd --check-config: silent success on good inventories, every problem
# with file:line:col and exit 1 on bad ones.
. "$(dirname "$0")/lib.sh"

# The examples name files of other machines (a dns-01 hook, the demo's
# bundle): -t checks those exist, so point them at files that do.
printf '#!/bin/sh\n' >"$T/dns-hook"
chmod 755 "$T/dns-hook"
printf 'c2VjcmV0LWtleS1mcm9tLXRoZS1jYQ\n' >"$T/eab.key"
chmod 600 "$T/eab.key"
sed -e "s|/usr/local/lib/renewd/dns-hook|$T/dns-hook|" \
    -e "s|/etc/renewd/backup-eab.key|$T/eab.key|" \
    "$top_srcdir/conf/renewd.yaml" >"$T/example.yaml"
out=$("$RENEWD" --check-config -c "$T/example.yaml" 2>&1)
check "the annotated example conf/renewd.yaml is valid" test $? -eq 0
check "a valid inventory prints nothing" test -z "$out"

printf 'x\n' >"$T/bundle.pem"
sed "s|/tmp/renewd-demo/pebble-tls.pem|$T/bundle.pem|" \
    "$top_srcdir/conf/demo.yaml" >"$T/demo.yaml"
out=$("$RENEWD" -t -c "$T/demo.yaml" 2>&1)
check "the demo inventory conf/demo.yaml is valid" test $? -eq 0

cat >"$T/bad.yaml" <<'EOY'
state_dir: var/lib/renewd
cas:
  - name: le
    directory: http://acme.example/dir
certificates:
  - name: www
    domians: [a.example]
  - name: api
    domains: [-bad-.example, ok.example]
    key: rsa-1024
    ca: [nope]
EOY
"$RENEWD" --check-config -c "$T/bad.yaml" >"$T/bad.out" 2>&1
check "a bad inventory exits 1" test $? -eq 1
check "relative state_dir reported at 1:12" grep -q "bad.yaml:1:12: .*absolute" "$T/bad.out"
check "non-https directory reported at 4:16" grep -q "bad.yaml:4:16: .*https" "$T/bad.out"
check "misspelt key with a hint at 7:5" grep -q 'bad.yaml:7:5: .*domian.*did you mean "domains"' "$T/bad.out"
check "bad domain reported at 9:15" grep -q "bad.yaml:9:15: " "$T/bad.out"
check "unknown key type reported at 10:10" grep -q "bad.yaml:10:10: .*rsa-1024" "$T/bad.out"
check "unknown CA reported at 11:10" grep -q "bad.yaml:11:10: .*nope" "$T/bad.out"
check "every output line is a plain file:line:col: message" \
    sh -c "! grep -v '^$T/bad.yaml:[0-9]*:[0-9]*: ' '$T/bad.out'"
check "all problems in one pass (>= 6 lines)" test "$(grep -c 'bad.yaml:[0-9]*:[0-9]*: ' "$T/bad.out")" -ge 6

printf 'cas: [\n' >"$T/syntax.yaml"
"$RENEWD" -t -c "$T/syntax.yaml" >"$T/syntax.out" 2>&1
check "a YAML syntax error exits 1 with line:col" \
    sh -c "test $? -eq 1 && grep -q 'syntax.yaml:[0-9]*:[0-9]*: ' '$T/syntax.out'"

"$RENEWD" -t -c "$T/does-not-exist.yaml" >"$T/missing.out" 2>&1
check "a missing file exits 1 and names the file" \
    sh -c "test $? -eq 1 && grep -q 'does-not-exist.yaml' '$T/missing.out'"

# Inventory files must be regular files: a FIFO (no writer) would block
# -t and, on SIGHUP, the whole daemon.
mkfifo "$T/fifo.yaml"
timeout 10 "$RENEWD" -t -c "$T/fifo.yaml" >"$T/fifo.out" 2>&1
rc=$?
check "renewd -t on a FIFO returns at once (exit 1, not a timeout)" test $rc -eq 1
check "and names the file and what it is" \
    grep -q "fifo.yaml: not a regular file (a FIFO); refusing" "$T/fifo.out"
timeout 10 "$RENEWD" -t -c "$T" >"$T/dir.out" 2>&1
check "renewd -t on a directory: exit 1, a directory" \
    sh -c "test $? -eq 1 && grep -q 'not a regular file (a directory)' '$T/dir.out'"

# -t checks the files the inventory names.
mkdir "$T/bundle.d"
cat >"$T/files.yaml" <<EOY
state_dir: $T/state
cas:
  - name: a
    directory: https://127.0.0.1:9/dir
    ca_bundle: $T/no-such-bundle.pem
  - name: b
    directory: https://127.0.0.1:9/dir
    ca_bundle: $T/bundle.d
dns01:
  hook: [$T/no-such-hook, add]
EOY
timeout 10 "$RENEWD" -t -c "$T/files.yaml" >"$T/files.out" 2>&1
check "renewd -t: named files missing exit 1" test $? -eq 1
check "a missing ca_bundle at file:line:col" \
    grep -q "files.yaml:5:16: ca_bundle: cannot read $T/no-such-bundle.pem: No such file or directory" "$T/files.out"
check "a ca_bundle that is a directory" \
    grep -q "files.yaml:8:16: ca_bundle: $T/bundle.d is not a regular file" "$T/files.out"
check "a missing dns01 hook" \
    grep -q "files.yaml:10:10: hook: cannot find $T/no-such-hook" "$T/files.out"
if [ "$(id -u)" != 0 ]; then
	printf 'x\n' >"$T/secret.pem"
	chmod 000 "$T/secret.pem"
	sed -i "s|$T/no-such-bundle.pem|$T/secret.pem|" "$T/files.yaml"
	"$RENEWD" -t -c "$T/files.yaml" >"$T/files.out" 2>&1
	check "an unreadable ca_bundle: permission denied" \
	    grep -q "files.yaml:5:16: ca_bundle: cannot read $T/secret.pem: Permission denied" "$T/files.out"
fi
printf '#!/bin/sh\n' >"$T/hook"
chmod 644 "$T/hook"
sed -i "s|$T/no-such-hook|$T/hook|" "$T/files.yaml"
"$RENEWD" -t -c "$T/files.yaml" >"$T/files.out" 2>&1
check "a hook that is not executable" \
    grep -q "files.yaml:10:10: hook: cannot run $T/hook: Permission denied" "$T/files.out"

# SIGHUP with the inventory replaced by a FIFO keeps the running one.
cat >"$T/run.yaml" <<EOY
state_dir: $T/state
cas:
  - name: a
    directory: https://127.0.0.1:9/dir
EOY
spawn "$T/daemon.log" "$RENEWD" -c "$T/run.yaml"
pid=$LAST_PID
wait_for 10 grep -q "started" "$T/daemon.log" || bail "renewd did not start"
mv "$T/run.yaml" "$T/run.yaml.bak"
mkfifo "$T/run.yaml"
kill -HUP "$pid"
check "SIGHUP with a FIFO: refused, naming it" \
    wait_for 10 grep -q "run.yaml: not a regular file (a FIFO); refusing" "$T/daemon.log"
check "the running inventory stays" \
    wait_for 5 grep -q "rejected; the running inventory stays in force" "$T/daemon.log"
kill -TERM "$pid"
check "and SIGTERM still ends the daemon at once" wait_for 10 sh -c "! kill -0 $pid"
kill -KILL "$pid" 2>/dev/null	# a daemon stuck on the FIFO ignores SIGTERM

done_testing
