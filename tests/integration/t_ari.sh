#!/bin/bash
# ARI (RFC 9773) through the CA proxy in front of Pebble: renewd asks for
# each live certificate's renewal window, renews inside it with
# "replaces", renews at once when the window moves into the past, and
# orders once more without "replaces" when the CA refuses it.
. "$(dirname "$0")/lib.sh"

pebble_start PEBBLE_WFE_NONCEREJECT=0
ca_proxy_start

ACME_DIRECTORY=$PROXY_DIR write_conf "$T/renewd.yaml" "  - name: win
    domains: [win.example]
  - name: now
    domains: [now.example]
  - name: rep
    domains: [rep.example]"
"$RENEWD" -v -c "$T/renewd.yaml" >"$T/renewd.log" 2>&1 &
pid=$!
PIDS="$PIDS $pid"

installs() { grep -c "\[$1\] installed certificate" "$T/renewd.log"; }
# orders NAME: renewd's newOrder payloads for NAME's domain, one JSON per line.
orders() { proxy_log endpoint=newOrder | jq -c --arg d "$1.example" \
    '.[] | select(.identifiers == [$d]) | {time, status, replaces: .payload.replaces}'; }

check "three certificates are issued through the proxy" wait_for 30 sh -c \
    "test \$(grep -c 'installed certificate' '$T/renewd.log') -eq 3"
for c in win now rep; do
	eval "cid_$c=\$(probe certid --cert '$T/state/certs/$c/live/cert.pem' | jq -r .certID)"
done
check "renewd asks the CA for each one's window (GET renewalInfo/<certID>)" wait_for 10 sh -c \
    "test \$(curl -sf '$PROXY_CTL/log/count?endpoint=renewalInfo&status=200' | jq .count) -ge 3"
check "its certID is the one computed apart (acme_probe.py)" test "$(proxy_log \
    'endpoint=renewalInfo' | jq -r '.[].path' | grep -c "/$cid_win\$")" -ge 1
check "and it logs the window and the moment it chose" wait_for 5 grep -q \
    "\[win\] ARI window .*, renewing at .* (ARI window)" "$T/renewd.log"
check "a window two thirds into a long lifetime renews nothing yet" \
    test "$(installs win)$(installs now)$(installs rep)" = 111

# win: a window a few seconds ahead; now: one that has already ended;
# rep: replaced already (an order from renewd's own account names it),
# and a window that has begun.
t0=$(date +%s)
proxy_ari win.example '{"start":6,"end":16}' >/dev/null
proxy_ari now.example '{"start":-7200,"end":-60,"explanationURL":"https://ca.example/incident"}' >/dev/null
PROBE_KEY=$T/state/accounts/pebble/account.key probe order --domains rep.example \
    --replaces="$cid_rep" >"$T/probe.out" 2>&1
check "the proxy marked rep's certificate replaced" test "$(curl -sf "$PROXY_CTL/certs" |
    jq -r --arg c "$cid_rep" '.[] | select(.certID == $c) | .replaced')" = true
proxy_ari rep.example '{"start":-60,"end":3600}' >/dev/null
kill -HUP "$pid"

check "SIGHUP asks again: 'now' is renewed at once" wait_for 15 sh -c \
    "test \$(grep -c '\[now\] installed certificate' '$T/renewd.log') -eq 2"
check "renewd said why, with the CA's explanationURL" sh -c \
    "grep -q '\[now\] ARI window .*: the CA says renew now' '$T/renewd.log' &&
     grep -q '\[now\] ARI explanation: \"https://ca.example/incident\"' '$T/renewd.log'"
check "its newOrder carried replaces: <certID>" test "$(orders now | tail -1 | jq -r .replaces)" = "$cid_now"

check "win is renewed once its window opens" wait_for 30 sh -c \
    "test \$(grep -c '\[win\] installed certificate' '$T/renewd.log') -eq 2"
wo=$(orders win | tail -1)
check "inside the window (newOrder $(( $(jq .time <<<"$wo" | cut -d. -f1) - t0 )) s after it was set, window 6..16 s)" \
    test "$(jq ".time >= $t0 + 6 and .time <= $t0 + 17" <<<"$wo")" = true
check "with replaces: <certID>" test "$(jq -r .replaces <<<"$wo")" = "$cid_win"

check "rep is renewed although the CA refused its replaces" wait_for 15 sh -c \
    "test \$(grep -c '\[rep\] installed certificate' '$T/renewd.log') -eq 2"
check "the refusal is logged" grep -q \
    "\[rep\] the CA refused to mark $cid_rep replaced (.*alreadyReplaced" "$T/renewd.log"
check "renewd sent two newOrders: with replaces (409), then without (201)" test \
    "$(orders rep | tail -2 | jq -r '"\(.status) \(.replaces)"' | tr '\n' ' ')" = "409 $cid_rep 201 null "

check "the new certificates' windows are asked for too" wait_for 10 sh -c \
    "test \$(curl -sf '$PROXY_CTL/log/count?endpoint=renewalInfo&status=200' | jq .count) -ge 9"
check "nothing renewed twice" test "$(installs win)$(installs now)$(installs rep)" = 222
kill -TERM "$pid"
wait "$pid"
check "exit 0 on SIGTERM" test $? -eq 0

# a restart asks again, and keeps the moment chosen in the same window
S=$T/state/certs/win/schedule.json
moment=$(jq .ari.moment "$S")
check "win's schedule.json keeps its window's moment for its live certID" test "$(jq -r --arg c \
    "$(probe certid --cert "$T/state/certs/win/live/cert.pem" | jq -r .certID)" \
    '.ari.cert == $c and .ari.start <= .ari.moment and .ari.moment < .ari.end' "$S")" = true
seen=$(curl -sf "$PROXY_CTL/log/count?endpoint=renewalInfo" | jq .count)
spawn "$T/renewd2.log" "$RENEWD" -v -c "$T/renewd.yaml"
check "after a restart renewd asks for every window again" wait_for 15 sh -c \
    "test \$(curl -sf '$PROXY_CTL/log/count?endpoint=renewalInfo' | jq .count) -ge $((seen + 3))"
check "the same window keeps the same moment (not re-rolled)" sh -c \
    "sleep 1; test \$(jq .ari.moment '$S') = $moment && ! grep -q '\[win\] ARI window' '$T/renewd2.log'"
check "renewctl status shows that moment as the renewal" sh -c "'$RENEWCTL' -c '$T/renewd.yaml' \
    status | grep '^win ' | grep -q '$(date -u -d "@$moment" +%Y-%m-%dT%H:%M:%SZ)'"
kill -TERM "$LAST_PID"
wait "$LAST_PID"
check "exit 0 on SIGTERM" test $? -eq 0

done_testing
