#!/bin/bash
# The CA proxy test double (tests/ca-proxy/fake_ca_proxy.py) in front of a
# real Pebble: renewd issues through it unchanged; what it adds to Pebble
# 2.4 (renewalInfo, replaces, profiles) answers per RFC 9773 and the
# profiles draft; cleartext requests are logged and refused.
. "$(dirname "$0")/lib.sh"

pebble_start PEBBLE_WFE_NONCEREJECT=0
ca_proxy_start
proxy_dir_json=$(curl -sf --cacert "$PEBBLE_CA" "$PROXY_DIR")

# b64u_hex HEX: base64url (no padding) of the bytes HEX spells.
b64u_hex() { printf "$(sed 's/../\\x&/g' <<<"$1")" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
# certid PEM: the RFC 9773 certID, computed with openssl alone.
certid() {
	local aki serial
	aki=$(openssl x509 -in "$1" -noout -ext authorityKeyIdentifier | sed -n 2p |
	    sed 's/keyid://' | tr -d ' :')
	serial=$(openssl x509 -in "$1" -noout -serial | cut -d= -f2)
	[ $((${#serial} % 2)) -eq 1 ] && serial=0$serial
	case $serial in [89A-Fa-f]*) serial=00$serial ;; esac
	echo "$(b64u_hex "$aki").$(b64u_hex "$serial")"
}
# status URL: the HTTP status of a GET through the proxy.
status() { curl -s -o "$T/body" -w '%{http_code}' --cacert "$PEBBLE_CA" "$1"; }
# problem_is TYPE: the last body is a problem document of that type.
problem_is() { [ "$(jq -r .type "$T/body" 2>/dev/null)" = "urn:ietf:params:acme:error:$1" ]; }
epoch() { date -u -d "$1" +%s; }

# --- the directory: every URL on the proxy's origin, plus what 2.4 lacks
check "the directory's URLs all point at the proxy" test "$(jq -r \
    '[.. | strings | select(startswith("https://"))] | map(startswith("https://127.0.0.1:'"$PROXY_PORT"'/")) | all' \
    <<<"$proxy_dir_json")" = true
check "the directory offers renewalInfo (RFC 9773)" test "$(jq -r .renewalInfo <<<"$proxy_dir_json")" = \
    "https://127.0.0.1:$PROXY_PORT/renewal-info"
check "the directory lists profiles classic and shortlived" test \
    "$(jq -r '.meta.profiles | keys | join(",")' <<<"$proxy_dir_json")" = classic,shortlived
check "Pebble's own meta survives" test "$(jq -r '.meta.termsOfService' <<<"$proxy_dir_json")" != null

# --- renewd through the proxy, unchanged
ACME_DIRECTORY=$PROXY_DIR write_conf "$T/renewd.yaml" "  - name: single
    domains: [single.example]"
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/renewd.log" 2>&1
check "renewd --once through the proxy obtains the certificate (exit 0)" test $? -eq 0
check "its chain verifies against Pebble's root, key matches" verify_cert single
check "Pebble saw exactly the newOrder the proxy logged" \
    test "$(pebble_count "POST /order-plz")" -eq 1 -a "$(proxy_count endpoint=newOrder)" -eq 1
check "every request renewd made was HTTPS" test "$(proxy_count scheme=http)" -eq 0 -a \
    "$(proxy_count scheme=https)" -ge 8
n=0
for ep in directory newNonce newAccount newOrder authz challenge finalize order certificate; do
	[ "$(proxy_count "endpoint=$ep")" -ge 1 ] && n=$((n + 1))
done
check "the log classified all 9 kinds of request, none unknown" \
    test "$n" -eq 9 -a "$(proxy_count endpoint=unknown)" -eq 0
check "the newOrder is logged with its identifier and account" test "$(proxy_log endpoint=newOrder |
    jq -r '.[0] | "\(.identifiers[0]) \(.account | test("^https://127.0.0.1:'"$PROXY_PORT"'/"))"')" = \
    "single.example true"

# --- ARI for the certificate renewd downloaded through the proxy
live=$T/state/certs/single/live/cert.pem
cid=$(certid "$live")
check "the proxy recorded the certificate under its RFC 9773 certID" \
    test "$(curl -sf "$PROXY_CTL/certs" | jq -r '.[0].certID')" = "$cid"
code=$(curl -s -D "$T/headers" -o "$T/body" -w '%{http_code}' --cacert "$PEBBLE_CA" \
    "https://127.0.0.1:$PROXY_PORT/renewal-info/$cid")
check "GET renewalInfo/<certID> answers 200" test "$code" = 200
check "with Retry-After (default 21600)" grep -qi '^retry-after: 21600' "$T/headers"
nb=$(epoch "$(openssl x509 -in "$live" -noout -startdate | cut -d= -f2)")
na=$(epoch "$(openssl x509 -in "$live" -noout -enddate | cut -d= -f2)")
ws=$(epoch "$(jq -r .suggestedWindow.start "$T/body")")
we=$(epoch "$(jq -r .suggestedWindow.end "$T/body")")
centre=$(( nb + (na - nb) * 2 / 3 ))
check "the default window is centred two thirds into the lifetime" \
    test $(( (ws + we) / 2 - centre )) -le 60 -a $(( centre - (ws + we) / 2 )) -le 60
check "and ends after it starts, inside the lifetime" test "$ws" -lt "$we" -a "$ws" -gt "$nb" -a "$we" -lt "$na"

proxy_ari single.example '{"start":"2027-01-02T03:04:05Z","end":"2027-01-03T00:00:00Z",
    "explanationURL":"https://ca.example/why","retryAfter":120}' >/dev/null
check "proxy_ari sets a window by name" test $? -eq 0
probe ari --cert "$live" >"$T/ari.json"
check "the probe (its own certID code) gets exactly that window" test \
    "$(jq -r '.renewalInfo | "\(.suggestedWindow.start) \(.suggestedWindow.end) \(.explanationURL)"' "$T/ari.json")" = \
    "2027-01-02T03:04:05Z 2027-01-03T00:00:00Z https://ca.example/why"
check "and the Retry-After that was set" test "$(jq -r .retryAfter "$T/ari.json")" = 120
check "the control API refuses a window that ends before it starts" sh -c \
    "! curl -sf -o /dev/null -X POST -d '{\"start\":100,\"end\":50}' '$PROXY_CTL/ari/$cid'"

ri=https://127.0.0.1:$PROXY_PORT/renewal-info
unknown=${cid%%.*}.AQ
check "an unknown (well-formed) certID: 404 with a problem document" \
    sh -c "[ \"\$(curl -s -o '$T/body' -w '%{http_code}' --cacert '$PEBBLE_CA' '$ri/$unknown')\" = 404 ]"
check "of type malformed" problem_is malformed
bad=0
for m in "no-dot" "a.b.c" "$cid=" "${cid%%.*}.AQ==" "a+b.AQ" "${cid%%.*}.gA" "${cid%%.*}.AAE" ".AQ" "${cid%%.*}."; do
	if [ "$(status "$ri/$m")" = 400 ] && problem_is malformed; then :; else
		bad=$((bad + 1)); diag "certID '$m' was not refused as malformed"
	fi
done
check "9 malformed certIDs (dots, padding, alphabet, negative, non-minimal, empty): 400 malformed" test "$bad" -eq 0
check "POST to renewalInfo: 405" test "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$PEBBLE_CA" \
    -X POST -d '{}' "$ri/$cid")" = 405

# --- what Pebble 2.4 itself does with the newer newOrder fields
PROBE_DIR=$PEBBLE_DIR probe order --domains direct.example --profile shortlived \
    --replaces="$cid" >"$T/direct.json"
check "Pebble 2.4 accepts profile and replaces in newOrder (201: unknown fields ignored)" test $? -eq 0
check "and echoes neither" test "$(jq -r '.newOrder | has("profile") or has("replaces")' "$T/direct.json")" = false

# --- profiles through the proxy (draft-ietf-acme-profiles)
probe issue --domains p.example --http01-port "$HTTP01_PORT" --profile shortlived \
    --out "$T/p.pem" >"$T/p.json"
check "the probe obtains a certificate with profile shortlived" test $? -eq 0
check "the newOrder answer echoes the profile" test "$(jq -r .newOrder.profile "$T/p.json")" = shortlived
check "so does the valid order" test "$(jq -r .order_final.profile "$T/p.json")" = shortlived
orders=$(pebble_count "POST /order-plz")
probe order --domains p.example --profile nope >"$T/nope.json"
check "an unknown profile fails the newOrder" test $? -eq 1
check "with 400 invalidProfile" test "$(jq -r '"\(.status) \(.problem.type)"' "$T/nope.json")" = \
    "400 urn:ietf:params:acme:error:invalidProfile"
check "and never reaches Pebble" test "$(pebble_count "POST /order-plz")" -eq "$orders"
check "the proxy's answer carries a fresh nonce" test "$(jq -r '.headers["replay-nonce"] | length' "$T/nope.json")" -gt 10

# --- replaces (RFC 9773 section 5)
a=$(jq -r .certID "$T/p.json")
probe issue --domains p.example --http01-port "$HTTP01_PORT" --replaces="$a" --out "$T/p2.pem" >"$T/p2.json"
check "a renewal that replaces the first certificate is issued" test $? -eq 0
check "its orders echo replaces" test "$(jq -r '"\(.newOrder.replaces) \(.order_final.replaces)"' "$T/p2.json")" = "$a $a"
check "the control API shows the first certificate replaced" \
    test "$(curl -sf "$PROXY_CTL/ari/$a" | jq -r .replaced)" = true
probe order --domains p.example --replaces="$a" >"$T/again.json"
check "replacing it again: 409 alreadyReplaced" test "$(jq -r '"\(.status) \(.problem.type)"' "$T/again.json")" = \
    "409 urn:ietf:params:acme:error:alreadyReplaced"
probe order --domains p.example --replaces="$unknown" >"$T/unk.json"
check "replacing an unknown certificate: 400 malformed" test "$(jq -r '"\(.status) \(.problem.type)"' "$T/unk.json")" = \
    "400 urn:ietf:params:acme:error:malformed"
probe order --domains p.example --replaces="not a cert id" >"$T/junk.json"
check "a malformed replaces: 400 malformed" test "$(jq -r '"\(.status) \(.problem.type)"' "$T/junk.json")" = \
    "400 urn:ietf:params:acme:error:malformed"
probe order --domains single.example --replaces="$cid" >"$T/other.json"
check "replacing another account's certificate: 403 unauthorized" \
    test "$(jq -r '"\(.status) \(.problem.type)"' "$T/other.json")" = "403 urn:ietf:params:acme:error:unauthorized"
b=$(jq -r .certID "$T/p2.json")
probe order --domains q.example --replaces="$b" >"$T/noshare.json"
check "replacing a certificate that shares no identifier: 400 malformed" \
    test "$(jq -r '"\(.status) \(.problem.type)"' "$T/noshare.json")" = "400 urn:ietf:params:acme:error:malformed"
check "none of the 5 refused orders reached Pebble" test "$(pebble_count "POST /order-plz")" -eq $((orders + 1))

# An order that went invalid does not count as a replacement.
chall_add_a dead.example 127.0.0.2 || bail "challtestsrv add-a failed"
probe issue --domains dead.example,p.example --http01-port "$HTTP01_PORT" --replaces="$b" >"$T/dead.json"
check "a replacement whose validation fails is not issued" test "$(jq -r .error "$T/dead.json")" != null
probe fetch "$(jq -r .order "$T/dead.json")" --out "$T/dead-order.json" >/dev/null
check "its order is invalid" test "$(jq -r .status "$T/dead-order.json")" = invalid
probe order --domains p.example --replaces="$b" >"$T/retry.json"
check "so the certificate can be replaced again (201)" test "$(jq -r .newOrder.replaces "$T/retry.json")" = "$b"

# --- cleartext on the ACME port: logged, refused
code=$(curl -s -o "$T/body" -w '%{http_code}' "http://127.0.0.1:$PROXY_PORT/dir")
check "a cleartext request to the ACME port is refused (403)" test "$code" = 403
check "and logged with scheme http" test "$(proxy_count 'scheme=http&path=/dir')" -eq 1

done_testing
