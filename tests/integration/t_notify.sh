#!/bin/bash
# notify hooks against Pebble through the fault proxy: a success when asked;
# a failed attempt on a certificate that expires within the window is told
# once (the not-after is kept in schedule.json); a failed renewal is told
# once, when the streak reaches after_failures, not at each retry and not
# again after a restart; the hook's environment is RENEWD_* and scrubbed;
# the example conf/examples/notify-sendmail hands sendmail a mail.
. "$(dirname "$0")/lib.sh"

pebble_start PEBBLE_WFE_NONCEREJECT=0
ca_proxy_start

# The test's hook: one line per call, and its whole environment.
cat >"$T/hook" <<EOS
#!/bin/sh
n=\$(( \$(cat "$T/calls" 2>/dev/null || echo 0) + 1 ))
echo \$n >"$T/calls"
env >"$T/env.\$n"
echo "\$RENEWD_EVENT \$RENEWD_CERT \$RENEWD_FAILURES" >>"$T/notified"
EOS
cat >"$T/fake-sendmail" <<EOS
#!/bin/sh
{ echo "ARGS: \$*"; cat; } >"$T/mail.\$RENEWD_EVENT"
EOS
printf '#!/bin/sh\necho "cannot reach the pager" >&2\nexit 3\n' >"$T/bad-hook"
chmod 755 "$T/hook" "$T/fake-sendmail" "$T/bad-hook"

ACME_DIRECTORY=$PROXY_DIR write_conf "$T/renewd.yaml" "  - name: www
    domains: [www.notify.example, notify.example]"
cat >>"$T/renewd.yaml" <<EOY
notify:
  hooks:
    - exec: [$T/hook]
      timeout: 10s
    - exec: [$top_srcdir/conf/examples/notify-sendmail, --sendmail, $T/fake-sendmail, ops@example.com]
  on: [failure, expiring, success]
  after_failures: 3
  expiring_within: 2000d
EOY
"$RENEWD" -t -c "$T/renewd.yaml"
check "renewd -t: the notify section is valid" test $? -eq 0

# once: one pass (it ignores the backoff), with a NOTIFY_SOCKET to scrub
once() { NOTIFY_SOCKET=/nonexistent/notify "$RENEWD" --once -c "$T/renewd.yaml" >>"$T/once.log" 2>&1; }
calls() { cat "$T/calls" 2>/dev/null || echo 0; }
# envof N VAR: VAR in the environment of call N.
envof() { sed -n "s/^$2=//p" "$T/env.$1"; }

once
check "success: issued" verify_cert www
check "success: told when asked (on: success)" test "$(cat "$T/notified")" = "success www 0"
check "success: RENEWD_EVENT, RENEWD_CERT, RENEWD_DOMAINS" \
    test "$(envof 1 RENEWD_EVENT)/$(envof 1 RENEWD_CERT)/$(envof 1 RENEWD_DOMAINS)" = "success/www/www.notify.example notify.example"
na=$(date -u -d "$(openssl x509 -in "$T/state/certs/www/live/cert.pem" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)
check "success: RENEWD_NOT_AFTER is the new certificate's (RFC 3339)" test "$(envof 1 RENEWD_NOT_AFTER)" = "$na"
check "success: RENEWD_CA names the CA" test "$(envof 1 RENEWD_CA)" = pebble
check "the hook's environment has no NOTIFY_SOCKET" sh -c "! grep -q '^NOTIFY_SOCKET=' '$T/env.1'"
check "the example hook mailed the recipient (an argument, not a header)" \
    grep -qx "ARGS: -oi -- ops@example.com" "$T/mail.success"
check "with the certificate in the subject" grep -q "^Subject: \[renewd .*\] www renewed$" "$T/mail.success"

# A name added: the live certificate (five years, all within the window)
# must be replaced, and every order now fails: the proxy swaps the key.
sed -i 's/^    domains: \[www.notify.example, notify.example\]$/    domains: [www.notify.example, notify.example, more.notify.example]/' "$T/renewd.yaml"
proxy_fault '{"fault":"certOtherKey","endpoint":"certificate"}' >/dev/null
once
check "failed attempt 1 within the window: expiring told" \
    test "$(tail -n 1 "$T/notified")" = "expiring www 1"
check "expiring: RENEWD_NOT_AFTER is the live certificate's" test "$(envof 2 RENEWD_NOT_AFTER)" = "$na"
check "expiring: RENEWD_ERROR says why the attempt failed" \
    sh -c "sed -n 's/^RENEWD_ERROR=//p' '$T/env.2' | grep -q 'refused the certificate'"
check "the example hook's mail for it" grep -q "^Subject: .*www expires $na and is not renewed" "$T/mail.expiring"
once
check "failed attempt 2: nothing told (expiring once per not-after, failure at 3)" test "$(calls)" = 2
once
check "failed attempt 3: the failure is told" test "$(tail -n 1 "$T/notified")" = "failure www 3"
check "failure: RENEWD_FAILURES=3, RENEWD_ERROR set" \
    test "$(envof 3 RENEWD_FAILURES)/$(envof 3 RENEWD_ERROR | grep -c refused)" = 3/1
once
once
check "failed attempts 4 and 5: not told again" test "$(calls)" = 3
check "schedule.json remembers the expiring notice" grep -q '"expiring"' "$T/state/certs/www/schedule.json"
check "renewd logs each notice it sends" test "$(grep -c '\[www\] notify: ' "$T/once.log")" = 3

proxy_clear
once
check "renewed again: success told with the failures it ends" \
    test "$(tail -n 1 "$T/notified")" = "success www 5"

# a hook that fails is logged with its status and what it said
sed -i -e "s|exec: \[$T/hook\]|exec: [$T/bad-hook]|" \
    -e 's/more.notify.example\]/&\n    key: ecdsa-p384/' "$T/renewd.yaml"
once
check "a failing hook: its status and stderr tail in the log" \
    grep -q 'notify hook 1 (success): exited with status 3; output "cannot reach the pager' "$T/once.log"
done_testing
