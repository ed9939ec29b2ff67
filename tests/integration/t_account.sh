#!/bin/bash
# renewctl account (issue 10, item 5) against Pebble behind the test proxy:
# show; contact update (Pebble's account object has it); key rollover (the
# new key works for the next order, Pebble no longer knows the old one);
# new orders wait for the switch; kill -9 between account.key.next and the
# switch, on either side of the CA's change, and a restart keeps the key the
# CA knows; deactivation (refused without --yes-really; then orders fail
# naming the CA until the account's directory is moved away).
. "$(dirname "$0")/lib.sh"

pebble_start PEBBLE_WFE_NONCEREJECT=0
ca_proxy_start
SOCK=$T/run/control
ACC=$T/state/accounts/proxy
mkdir -p "$T/run"
cat >"$T/renewd.yaml" <<EOY
state_dir: $T/state
control_socket: $SOCK
http01:
  listen: ["127.0.0.1:$HTTP01_PORT"]
cas:
  - name: proxy
    directory: $PROXY_DIR
    ca_bundle: $PEBBLE_CA
    contact: ["mailto:ops@example.com"]
certificates:
  - name: www
    domains: [www.example]
EOY
ctl() { "$RENEWCTL" -s "$SOCK" -c "$T/renewd.yaml" "$@"; }
start() { rm -f "$SOCK"; spawn "$T/renewd.log" "$RENEWD" -v -c "$T/renewd.yaml"; RPID=$LAST_PID; wait_for 20 test -S "$SOCK"; }
# lookup KEYFILE: Pebble's answer for the account of that key (probe's lookup)
lookup() { PROBE_KEY=$1 probe lookup; }
thumb() { jq -r .thumbprint "$1"; }
count() { proxy_count "$1"; }
# count_is QUERY N: for wait_for, which must see the count anew each time
count_is() { test "$(proxy_count "$1")" = "$2"; }
contact_is() { test "$(lookup "$ACC/account.key" | jq -c .object.contact)" = "$1"; }

start
wait_for 60 verify_cert www || { sed 's/^/# /' "$T/renewd.log" | tail -20; bail "renewd did not issue www"; }

# ---- show --------------------------------------------------------------
ctl account show proxy >"$T/show1" 2>&1
check "account show: exit 0" test $? -eq 0
url=$(sed -n 's/^url: *//p' "$T/show1")
check "it names the account URL" test -n "$url"
check "it says valid" grep -q '^status: *valid$' "$T/show1"
check "and the contact of the inventory" grep -q '^contact: *mailto:ops@example.com$' "$T/show1"
ctl account show --json proxy >"$T/show1.json"
check "--json: the thumbprint of account.key" test "$(thumb "$T/show1.json")" = "$(/usr/bin/python3 -c '
import base64, hashlib, json, sys
from cryptography.hazmat.primitives import serialization
k = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None).public_key().public_numbers()
b = lambda n: base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()
j = json.dumps({"crv": "P-256", "kty": "EC", "x": b(k.x), "y": b(k.y)}, separators=(",", ":"))
print(base64.urlsafe_b64encode(hashlib.sha256(j.encode()).digest()).rstrip(b"=").decode())' "$ACC/account.key")"
check "no key material in the output" test -z "$(grep -il 'PRIVATE\|"d"' "$T/show1" "$T/show1.json")"
ctl account show nosuch >/dev/null 2>"$T/err0"
check "an unknown CA: exit 10, named" test $? -eq 10 -a -n "$(grep 'no CA "nosuch"' "$T/err0")"

# ---- contact update ----------------------------------------------------
ctl account update proxy --contact mailto:a@example.com --contact mailto:b@example.com >"$T/upd" 2>&1
check "account update --contact: exit 0" test $? -eq 0
check "Pebble's account has both contacts" \
    test "$(lookup "$ACC/account.key" | jq -c .object.contact)" = '["mailto:a@example.com","mailto:b@example.com"]'
check "account.json keeps them" test "$(jq -c .contact "$ACC/account.json")" = '["mailto:a@example.com","mailto:b@example.com"]'
ctl account update proxy >/dev/null 2>&1
check "update without --contact: the inventory's again" \
    test "$(lookup "$ACC/account.key" | jq -c .object.contact)" = '["mailto:ops@example.com"]'
ctl account update proxy --contact 'bad contact' >/dev/null 2>"$T/err1"
check "a contact with a space: exit 2" test $? -eq 2
ctl account update proxy --contact ftp://x >/dev/null 2>"$T/err1"
check "one Pebble refuses: exit 10 with the CA's problem" test $? -eq 10 -a -n "$(grep unsupportedContact "$T/err1")"

# ---- rollover ----------------------------------------------------------
cp "$ACC/account.key" "$T/old.key"
t1=$(thumb "$T/show1.json")
s1=$(live_serial www)
ctl account rollover --json proxy >"$T/roll.json" 2>"$T/roll.err"
check "account rollover: exit 0" test $? -eq 0
check "same account URL" test "$(jq -r .url "$T/roll.json")" = "$url"
check "a new thumbprint" test -n "$(thumb "$T/roll.json")" -a "$(thumb "$T/roll.json")" != "$t1"
check "account.key is a new key" test "$(sha256sum <"$ACC/account.key")" != "$(sha256sum <"$T/old.key")"
check "no account.key.next is left" test ! -e "$ACC/account.key.next"
check "account.key is still 0600" test "$(stat -c %a "$ACC/account.key")" = 600
check "one keyChange, answered 200" test "$(count 'endpoint=keyChange&status=200')" = 1
lookup "$T/old.key" >"$T/old.json"
check "Pebble refuses the old key (accountDoesNotExist)" \
    test "$(jq -r .problem.type "$T/old.json")" = urn:ietf:params:acme:error:accountDoesNotExist
check "and has the new key for the same account" test "$(lookup "$ACC/account.key" | jq -r .account)" = "$url"
ctl renew www --force >"$T/renew1" 2>&1
check "an order after the rollover succeeds" test $? -eq 0 -a "$(live_serial www)" != "$s1"

# new orders wait for the switch: a slow keyChange, a renewal asked meanwhile
proxy_clear log
proxy_fault '{"fault":"delay","endpoint":"keyChange","ms":1500,"count":1}' >/dev/null
ctl account rollover proxy >"$T/roll2" 2>&1 &
RB=$!
wait_for 10 count_is endpoint=keyChange 1
ctl renew www --force >"$T/renew2" 2>&1
rc=$?
wait $RB
check "a renewal asked during a rollover: exit 0" test $rc -eq 0
# the proxy logs each request as it arrives, with how long it took (ms)
order_after_keychange() {
	proxy_log | jq -e '([.[] | select(.endpoint == "keyChange")][0] | .time * 1000 + .ms) as $done |
	    [.[] | select(.endpoint == "newOrder")] | length == 1 and .[0].time * 1000 >= $done' >/dev/null
}
check "its newOrder went only once the CA had answered the keyChange" order_after_keychange
check "the rollover went through" grep -q "account key rolled over" "$T/roll2"

# ---- kill -9 before the switch -----------------------------------------
# (a) the CA never got the keyChange: the old key stays, .next goes
cp "$ACC/account.key" "$T/k2.key"
proxy_fault '{"fault":"hang","endpoint":"keyChange","ms":60000}' >/dev/null
proxy_clear log
ctl account rollover proxy >/dev/null 2>&1 &
wait_for 10 count_is endpoint=keyChange 1
check "(a) account.key.next is there, 0600, when the keyChange is sent" test "$(stat -c %a "$ACC/account.key.next" 2>/dev/null)" = 600
kill -9 "$RPID"
proxy_clear faults
start
ctl renew www --force >"$T/renew3" 2>&1
check "(a) after the restart an order succeeds" test $? -eq 0
check "(a) the old key is kept" test "$(sha256sum <"$ACC/account.key")" = "$(sha256sum <"$T/k2.key")"
check "(a) account.key.next is gone" test ! -e "$ACC/account.key.next"
check "(a) the log says why" grep -q "still has the old account key" "$T/renewd.log"

# (b) the CA switched, renewd never heard: the new key is taken at start
proxy_clear log
proxy_fault '{"fault":"delay","endpoint":"keyChange","ms":2000,"count":1}' >/dev/null
ctl account rollover proxy >/dev/null 2>&1 &
wait_for 10 count_is endpoint=keyChange 1
cp "$ACC/account.key.next" "$T/k3.key"
kill -9 "$RPID"
# the proxy forwards the keyChange after its delay: Pebble switches
wait_for 10 count_is 'endpoint=keyChange&status=200' 1
check "(b) Pebble has the new key though renewd died" test "$(lookup "$T/k3.key" | jq -r .account)" = "$url"
start
ctl renew www --force >"$T/renew4" 2>&1
check "(b) after the restart an order succeeds" test $? -eq 0
check "(b) account.key is the new key" test "$(sha256sum <"$ACC/account.key")" = "$(sha256sum <"$T/k3.key")"
check "(b) account.key.next is gone" test ! -e "$ACC/account.key.next"
check "(b) the log says so" grep -q "has the rollover's new key" "$T/renewd.log"

# ---- the inventory's contacts change: the daemon updates the account ----
sed -i 's/mailto:ops@example.com/mailto:new@example.com/' "$T/renewd.yaml"
ctl reload >/dev/null 2>&1
check "a reload with new contacts updates the account at the CA" \
    wait_for 10 contact_is '["mailto:new@example.com"]'
n=$(count endpoint=account)
kill -HUP "$RPID"
sleep 1
check "an unchanged inventory sends no update" test "$(count endpoint=account)" = "$n"

# ---- deactivation ------------------------------------------------------
n=$(count endpoint=account)
ctl account deactivate proxy >/dev/null 2>"$T/err2"
check "deactivate without --yes-really: exit 2" test $? -eq 2
check "it says why" grep -q -- "--yes-really" "$T/err2"
check "and nothing went to the CA" test "$(count endpoint=account)" = "$n"
ctl account deactivate --yes-really proxy >"$T/deact" 2>&1
check "deactivate --yes-really: exit 0" test $? -eq 0
check "status deactivated" grep -q '^status: *deactivated$' "$T/deact"
check "Pebble refuses the key: deactivated" \
    test "$(lookup "$ACC/account.key" | jq -r .problem.type)" = urn:ietf:params:acme:error:unauthorized
ctl renew www --force >/dev/null 2>"$T/err3"
check "a renewal then fails: exit 3" test $? -eq 3
check "naming the CA and the deactivation" grep -q "CA proxy .*deactivated" "$T/err3"
ctl status www >"$T/status" 2>&1
check "renewctl status shows it" grep -q "deactivated" "$T/status"
ctl account show proxy >"$T/show2" 2>&1
check "account show: deactivated (from account.json)" grep -q '^status: *deactivated$' "$T/show2"
mv "$ACC" "$T/old-account"
ctl renew www --force >"$T/renew5" 2>&1
check "with the account moved away a new one is registered and used" test $? -eq 0
check "under a new URL" test "$(sed -n 's/^url: *//p' <(ctl account show proxy))" != "$url"

complete_words() {
	PATH=$top_builddir:$PATH bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _renewctl; echo "${COMPREPLY[*]}"' \
	    _ "$top_srcdir/completion/renewctl" "$@"
}
check "completion: the account operations" test "$(complete_words renewctl account r)" = "rollover"

done_testing
