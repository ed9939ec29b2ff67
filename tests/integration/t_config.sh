#!/bin/bash
# renewd --check-config: silent success on good inventories, every problem
# with file:line:col and exit 1 on bad ones.
. "$(dirname "$0")/lib.sh"

out=$("$RENEWD" --check-config -c "$top_srcdir/conf/renewd.yaml" 2>&1)
check "the annotated example conf/renewd.yaml is valid" test $? -eq 0
check "a valid inventory prints nothing" test -z "$out"

out=$("$RENEWD" -t -c "$top_srcdir/conf/demo.yaml" 2>&1)
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

done_testing
