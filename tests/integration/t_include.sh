#!/bin/bash
# include: conf.d for fleets. Certificates and CAs from a main inventory and
# the files its globs match are merged (sorted, each file with its own
# file:line:col), issued against Pebble; a duplicate across files names both
# places; on SIGHUP a new file is picked up, a broken or vanished one rejects
# the reload as a whole and the running inventory stays.
. "$(dirname "$0")/lib.sh"

pebble_start
mkdir -p "$T/conf.d"
write_conf "$T/renewd.yaml" "  - name: main
    domains: [main.include.example]"
sed -i "1i include: [conf.d/*.yaml, $T/site-c.yaml]" "$T/renewd.yaml"
cat >"$T/conf.d/b.yaml" <<'EOY'
certificates:
  - name: site-b
    domains: [b.include.example]
EOY
cat >"$T/conf.d/a.yaml" <<'EOY'
certificates:
  - name: site-a
    domains: [a.include.example]
EOY
cat >"$T/site-c.yaml" <<'EOY'
certificates: []
EOY

"$RENEWD" -t -c "$T/renewd.yaml" >"$T/t.out" 2>&1
check "renewd -t: main file and included files are valid" test $? -eq 0

# -t checks every file, each with its own file:line:col
cp "$T/conf.d/a.yaml" "$T/a.good"
cat >>"$T/conf.d/a.yaml" <<'EOY'
  - name: main
    domains: [other.include.example]
EOY
printf 'state_dir: /elsewhere\n' >"$T/conf.d/c.yaml"
"$RENEWD" -t -c "$T/renewd.yaml" >"$T/t.out" 2>&1
check "renewd -t: a bad included file exits 1" test $? -eq 1
check "a duplicate across files names both places" \
    grep -qx "$T/conf.d/a.yaml:4:11: certificate \"main\" already defined at $T/renewd.yaml:12:11" "$T/t.out"
check "an included file may not set global keys, and says so" \
    grep -qx "$T/conf.d/c.yaml:1:1: state_dir: not allowed in an included file, which may hold only \"cas\" and \"certificates\"; set it in $T/renewd.yaml" "$T/t.out"
cp "$T/a.good" "$T/conf.d/a.yaml"
rm "$T/conf.d/c.yaml"

spawn "$T/daemon.log" "$RENEWD" -c "$T/renewd.yaml"
pid=$LAST_PID
wait_for 10 grep -q "started: 3 certificates" "$T/daemon.log" || bail "renewd did not start"
for n in main site-a site-b; do
	check "$n (from $([ $n = main ] && echo the main file || echo conf.d)) is issued" \
	    wait_for 30 verify_cert "$n"
done

# a new site dropped into conf.d, then SIGHUP
cat >"$T/conf.d/d.yaml" <<'EOY'
certificates:
  - name: site-d
    domains: [d.include.example]
EOY
kill -HUP "$pid"
check "SIGHUP: the new file's certificate is added" \
    wait_for 10 grep -q "inventory reloaded: 4 certificates" "$T/daemon.log"
check "and issued" wait_for 30 verify_cert site-d

# broken: a syntax error in one included file rejects the whole reload
printf 'certificates:\n  - [\n' >"$T/conf.d/b.yaml"
cat >>"$T/conf.d/d.yaml" <<'EOY'
  - name: site-e
    domains: [e.include.example]
EOY
kill -HUP "$pid"
check "SIGHUP with a broken include: the error names that file's line:col" \
    wait_for 10 grep -q "$T/conf.d/b.yaml:3:1: syntax error" "$T/daemon.log"
check "and the reload is rejected" \
    wait_for 10 grep -q "renewd.yaml: rejected; the running inventory stays in force" "$T/daemon.log"
check "the old inventory keeps running (site-e not added)" \
    sh -c "! grep -q 'site-e' '$T/daemon.log'"

# vanished: a file the main inventory names itself is gone
cp "$T/a.good" "$T/conf.d/b.yaml"
sed -i 's/site-a/site-b/; s/a.include/b.include/' "$T/conf.d/b.yaml"
rm "$T/site-c.yaml"
kill -HUP "$pid"
check "SIGHUP with a vanished include: the main file's entry says which" \
    wait_for 10 grep -q "$T/renewd.yaml:1:26: include: cannot open $T/site-c.yaml: No such file or directory" "$T/daemon.log"
check "and the reload is rejected again" \
    wait_for 10 test "$(grep -c 'rejected; the running' "$T/daemon.log")" -eq 2
check "renewd is still running" kill -0 "$pid"
check "no certificate was dropped" sh -c "! grep -q 'no longer in the inventory' '$T/daemon.log'"

printf 'certificates: []\n' >"$T/site-c.yaml"
kill -HUP "$pid"
check "fixed: the reload goes through with every file" \
    wait_for 10 grep -q "inventory reloaded: 5 certificates" "$T/daemon.log"
check "and site-e is issued" wait_for 30 verify_cert site-e

kill -TERM "$pid"
wait "$pid"
check "SIGTERM: exit 0" test $? -eq 0
PIDS=${PIDS/ $pid/}
done_testing
