#!/bin/bash
# Every fault class of the CA proxy test double does what it says: rate
# limits, 503, 500, badNonce storms, dropped, slow and hung connections, a
# moved directory, http:// URLs, hostile certificate chains, oversize
# bodies; each scoped as asked, each logged.
. "$(dirname "$0")/lib.sh"

pebble_start PEBBLE_WFE_NONCEREJECT=0
ca_proxy_start
export ACME_DIRECTORY=$PROXY_DIR

# get URL [CURL ARGS...]: GET through the proxy; body in $T/body, headers in
# $T/headers; prints the status ("000" when there was no answer).
get() {
	local url=$1
	shift
	curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' --cacert "$PEBBLE_CA" "$@" "$url"
}
header() { grep -i "^$1:" "$T/headers" | cut -d' ' -f2- | tr -d '\r'; }
problem() { jq -r '"\(.status) \(.problem.type)"' "$1"; }
dir_url() { curl -sf --cacert "$PEBBLE_CA" "$PROXY_DIR" | jq -r ".$1"; }
ERR=urn:ietf:params:acme:error

# --- a directory that moves: renewd (no account yet) follows it
proxy_fault '{"fault":"moveDirectory"}' >/dev/null || bail "proxy_fault refused moveDirectory"
check "the moved directory's newOrder is on the other origin" \
    test "$(dir_url newOrder)" = "$PROXY_ALT/order-plz"
renewd_once moved
check "renewd follows the moved directory and obtains the certificate" verify_cert moved
check "its newOrder went to the new origin, none to the old" \
    test "$(proxy_count 'listener=alt&endpoint=newOrder')" -eq 1 -a "$(proxy_count 'listener=main&endpoint=newOrder')" -eq 0
check "and the URL it signed was the new origin's" \
    test "$(proxy_log endpoint=newOrder | jq -r '.[0].jwsUrl')" = "$PROXY_ALT/order-plz"
check "the old origin served only the directory" \
    test "$(proxy_count listener=main)" -eq "$(proxy_count 'listener=main&endpoint=directory')"
proxy_clear

# --- rateLimited, per identifier, per identifier set, per account
proxy_fault '{"fault":"rateLimited","endpoint":"newOrder","identifier":"limited.example","retryAfter":7}' >/dev/null
probe order --domains limited.example >"$T/rl.json"
check "rateLimited for an identifier: 429 rateLimited" test "$(problem "$T/rl.json")" = "429 $ERR:rateLimited"
check "with the Retry-After asked for" test "$(jq -r '.headers["retry-after"]' "$T/rl.json")" = 7
probe order --domains free.example >"$T/free.json"
check "another identifier is not limited" test $? -eq 0
kid=$(jq -r .account "$T/free.json")
renewd_once limited
check "renewd fails that certificate (exit 1)" test $? -eq 1
check "and logs the rateLimited problem" grep -q "error:rateLimited" "$T/limited.log"
check "and sent no second newOrder for it" test "$(proxy_count 'endpoint=newOrder&identifier=limited.example')" -eq 2
proxy_clear

proxy_fault '{"fault":"rateLimited","endpoint":"newOrder","identifiers":["a.set.example","b.set.example"]}' >/dev/null
probe order --domains b.set.example,a.set.example >"$T/set.json"
check "rateLimited for an identifier set: that set is limited" test "$(problem "$T/set.json")" = "429 $ERR:rateLimited"
probe order --domains a.set.example >/dev/null
check "a subset of it is not" test $? -eq 0
proxy_clear

proxy_fault "{\"fault\":\"rateLimited\",\"endpoint\":\"newOrder\",\"account\":\"$kid\"}" >/dev/null
PROBE_KEY=$T/other.key probe order --domains acct.example >/dev/null
check "rateLimited for an account: another account is not limited" test $? -eq 0
probe order --domains acct.example >"$T/acct.json"
check "that account is" test "$(problem "$T/acct.json")" = "429 $ERR:rateLimited"
proxy_clear

# --- 503 with Retry-After, 500 serverInternal
proxy_fault '{"fault":"unavailable","endpoint":"directory","count":1,"retryAfter":3}' >/dev/null
check "unavailable: 503" test "$(get "$PROXY_DIR")" = 503
check "with Retry-After: 3" test "$(header retry-after)" = 3
check "count 1: the next directory answers 200" test "$(get "$PROXY_DIR")" = 200
nonce_url=$(dir_url newNonce)
proxy_fault '{"fault":"serverInternal","endpoint":"newNonce","count":1}' >/dev/null
check "serverInternal on newNonce: 500" test "$(get "$nonce_url")" = 500
check "a serverInternal problem document" test "$(jq -r .type "$T/body")" = "$ERR:serverInternal"
check "and no nonce in it" test -z "$(header replay-nonce)"
get "$nonce_url" -I >/dev/null
check "the next newNonce has one" test -n "$(header replay-nonce)"
proxy_clear

# --- a badNonce storm: each rejection carries a fresh nonce, renewd gets through
proxy_fault '{"fault":"badNonce","count":3}' >/dev/null
renewd_once storm
check "renewd gets through a storm of 3 badNonce (exit 0)" test $? -eq 0
check "the proxy rejected exactly 3 requests with badNonce" test "$(proxy_count faults=badNonce)" -eq 3
check "each rejection carried a Replay-Nonce, and the next POST used it" test "$(proxy_log method=POST | jq \
    '[range(0; length - 1) as $i | select(.[$i].faults | index("badNonce")) | .[$i + 1].nonce == .[$i].replayNonce and .[$i].replayNonce != null] | length == 3 and all')" = true
# A nonce is good once, even when the proxy (not Pebble) answered its request.
jws="{\"protected\":\"$(printf '{"alg":"ES256","nonce":"nonce-seen-once","url":"x"}' | base64 -w0 | tr '+/' '-_' | tr -d '=')\",\"payload\":\"\",\"signature\":\"AA\"}"
curl -s -o /dev/null --cacert "$PEBBLE_CA" -H 'Content-Type: application/jose+json' -d "$jws" "$(dir_url newOrder)"
curl -s -o "$T/body" --cacert "$PEBBLE_CA" -H 'Content-Type: application/jose+json' -d "$jws" "$(dir_url newOrder)"
check "a replayed nonce is refused with badNonce by the proxy" test \
    "$(jq -r .type "$T/body") $(proxy_count 'note=nonce%20replayed')" = "$ERR:badNonce 1"
proxy_clear

# --- dropped connections: before forwarding, and after Pebble acted
proxy_fault '{"fault":"drop","endpoint":"directory","count":1}' >/dev/null
get "$PROXY_DIR" >/dev/null
check "drop: the connection closes with no answer (curl: empty reply)" test $? -eq 52
check "logged as dropped" test "$(proxy_count 'faults=drop&dropped=true')" -eq 1
orders=$(pebble_count "POST /order-plz")
proxy_fault '{"fault":"drop","endpoint":"newOrder","when":"after","count":1}' >/dev/null
probe order --domains dropped.example >"$T/drop.json"
check "drop after forwarding: the client gets no answer" test "$(jq -r .error "$T/drop.json")" != null
check "while Pebble did create the order" test "$(pebble_count "POST /order-plz")" -eq $((orders + 1))
proxy_clear

# --- slow answers and hangs
proxy_fault '{"fault":"delay","endpoint":"directory","ms":1500,"count":1}' >/dev/null
t=$(curl -s -o /dev/null -w '%{time_total}' --cacert "$PEBBLE_CA" "$PROXY_DIR")
check "delay 1500 ms: the answer takes at least 1.5 s" test "${t%.*}" -ge 1 -a "$(echo "$t >= 1.5" | bc)" = 1
proxy_fault '{"fault":"hang","endpoint":"directory","count":1}' >/dev/null
get "$PROXY_DIR" --max-time 2 >/dev/null
check "hang: no answer within the client's 2 s timeout (curl exit 28)" test $? -eq 28
proxy_clear faults
hang_released() { proxy_log faults=hang | jq -e '.[0].note == "hang released" and .[0].dropped' >/dev/null; }
check "clearing the faults releases the hung request (then dropped)" wait_for 5 hang_released
proxy_clear
proxy_fault '{"fault":"hang","endpoint":"directory","count":1,"then":"forward"}' >/dev/null
hung_one() { [ "$(proxy_count faults=hang)" -eq 1 ]; }
(wait_for 10 hung_one && sleep 1 && curl -sf -o /dev/null -X POST "$PROXY_CTL/release") &
t=$(curl -s -o "$T/body" -w '%{http_code} %{time_total}' --max-time 15 --cacert "$PEBBLE_CA" "$PROXY_DIR")
wait $!
check "hang then forward: released after 1 s, the answer arrives (200)" \
    test "${t% *}" = 200 -a "$(echo "${t#* } >= 1" | bc)" = 1
proxy_clear

# --- http:// URLs: in the directory, and in Location headers
proxy_fault '{"fault":"httpUrls","endpoint":"directory","count":1}' >/dev/null
get "$PROXY_DIR" >/dev/null
check "httpUrls: every directory URL is http://" test "$(jq -r \
    '[.. | strings | select(test("^https?://"))] | map(startswith("http://127.0.0.1:'"$PROXY_PORT"'/")) | all' "$T/body")" = true
code=$(curl -s -o /dev/null -w '%{http_code}' -I "$(jq -r .newNonce "$T/body")")
check "a client following one speaks cleartext to the ACME port: refused (403)" test "$code" = 403
check "and logged as scheme http, endpoint newNonce" test "$(proxy_count 'scheme=http&endpoint=newNonce')" -eq 1
proxy_fault '{"fault":"httpUrls","endpoint":"newOrder","where":["headers"],"count":1}' >/dev/null
probe order --domains loc.example >"$T/loc.json"
check "httpUrls in headers: the order's Location is http://" \
    test "$(jq -r .order "$T/loc.json" | cut -c1-7)" = "http://"
check "while its body kept https URLs" test "$(jq -r .newOrder.finalize "$T/loc.json" | cut -c1-8)" = "https://"
proxy_fault '{"fault":"httpUrls","endpoint":"newNonce","count":1}' >/dev/null
get "$nonce_url" -I >/dev/null
check "httpUrls in headers: newNonce's Link (rel=index) is http://" \
    test "$(header link | cut -c1-8)" = "<http://"
proxy_clear

# --- hostile certificates: the real one, then each forgery of it
probe issue --domains h.example --http01-port "$HTTP01_PORT" --out "$T/h.pem" >"$T/h.json" ||
    bail "the probe could not obtain the base certificate"
cert_url=$(jq -r .certificate "$T/h.json")
# split PEM PREFIX: one file per certificate (PREFIX1.pem, PREFIX2.pem...).
split_pem() { awk -v p="$2" '/-----BEGIN/{n++; on=1} on{print > (p n ".pem")} /-----END/{on=0}' "$1"; }
pub() { openssl x509 -in "$1" -noout -pubkey 2>/dev/null | openssl sha256; }
sans() { openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' '; }
verifies() { openssl verify "$@" >/dev/null 2>&1; }
split_pem "$T/h.pem" "$T/real"
# hostile KIND: fetch the certificate URL once with that fault; chain in $T/KIND.pem.
hostile() {
	proxy_fault "{\"fault\":\"$1\",\"endpoint\":\"certificate\",\"count\":1}" >/dev/null ||
	    bail "proxy_fault refused $1"
	probe fetch "$cert_url" --out "$T/$1.pem" >/dev/null || bail "fetch with $1 failed"
	split_pem "$T/$1.pem" "$T/$1-"
}
now=$(date +%s)
enddate() { date -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s; }
startdate() { date -d "$(openssl x509 -in "$1" -noout -startdate | cut -d= -f2)" +%s; }

same_key() { [ "$(pub "$1")" = "$(pub "$T/real1.pem")" ]; }
# pebble_chain LEAF ISSUER [ARGS]: LEAF verifies up to Pebble's root through ISSUER.
pebble_chain() { verifies "${@:3}" -CAfile "$T/pebble-root.pem" -untrusted "$2" "$1"; }
subject() { openssl x509 -in "$1" -noout -subject | cut -d= -f2-; }
issuer() { openssl x509 -in "$1" -noout -issuer | cut -d= -f2-; }
ncerts() { openssl crl2pkcs7 -nocrl -certfile "$1" | openssl pkcs7 -print_certs -noout | grep -c '^subject='; }
size() { stat -c %s "$1"; }
not() { ! "$@"; }
quiet() { "$@" >/dev/null 2>&1; }

hostile certExpired
check "certExpired: the leaf expired before now" test "$(enddate "$T/certExpired-1.pem")" -lt "$now"
check "certExpired: same key as the real leaf" same_key "$T/certExpired-1.pem"
check "certExpired: signed by Pebble's intermediate (verifies but for the time)" \
    pebble_chain "$T/certExpired-1.pem" "$T/certExpired-2.pem" -no_check_time
check "certExpired: does not verify now" not pebble_chain "$T/certExpired-1.pem" "$T/certExpired-2.pem"
hostile certNotYetValid
check "certNotYetValid: valid only from a day after now or later" \
    test "$(startdate "$T/certNotYetValid-1.pem")" -gt $((now + 86400))
check "certNotYetValid: same key" same_key "$T/certNotYetValid-1.pem"
check "certNotYetValid: otherwise a good chain" \
    pebble_chain "$T/certNotYetValid-1.pem" "$T/certNotYetValid-2.pem" -no_check_time
check "certNotYetValid: does not verify now" not pebble_chain "$T/certNotYetValid-1.pem" "$T/certNotYetValid-2.pem"
hostile certOtherNames
check "certOtherNames: for other-name.invalid instead of h.example" \
    test "$(sans "$T/certOtherNames-1.pem")" = DNS:other-name.invalid
check "certOtherNames: same key" same_key "$T/certOtherNames-1.pem"
check "certOtherNames: a chain that verifies" pebble_chain "$T/certOtherNames-1.pem" "$T/certOtherNames-2.pem"
hostile certOtherKey
check "certOtherKey: for h.example" test "$(sans "$T/certOtherKey-1.pem")" = DNS:h.example
check "certOtherKey: another key" not same_key "$T/certOtherKey-1.pem"
check "certOtherKey: a chain that verifies" pebble_chain "$T/certOtherKey-1.pem" "$T/certOtherKey-2.pem"
hostile certSelfSigned
check "certSelfSigned: one certificate" test -s "$T/certSelfSigned-1.pem" -a ! -e "$T/certSelfSigned-2.pem"
check "certSelfSigned: issuer = subject" \
    test "$(subject "$T/certSelfSigned-1.pem")" = "$(issuer "$T/certSelfSigned-1.pem")"
check "certSelfSigned: it verifies with itself as the root" \
    verifies -CAfile "$T/certSelfSigned-1.pem" "$T/certSelfSigned-1.pem"
check "certSelfSigned: it does not chain to Pebble's root" \
    not verifies -CAfile "$T/pebble-root.pem" "$T/certSelfSigned-1.pem"
hostile chainWrongIssuer
check "chainWrongIssuer: the real leaf" cmp -s "$T/chainWrongIssuer-1.pem" "$T/real1.pem"
check "chainWrongIssuer: then an issuer with the real issuer's name" \
    test "$(subject "$T/chainWrongIssuer-2.pem")" = "$(subject "$T/real2.pem")"
check "chainWrongIssuer: which did not sign the leaf" \
    not verifies -partial_chain -CAfile "$T/chainWrongIssuer-2.pem" "$T/real1.pem"
check "(the real issuer did)" verifies -partial_chain -CAfile "$T/real2.pem" "$T/real1.pem"
hostile chainGarbage
check "chainGarbage: the real leaf" cmp -s "$T/chainGarbage-1.pem" "$T/real1.pem"
check "chainGarbage: then a PEM block" test -s "$T/chainGarbage-2.pem"
check "chainGarbage: that is no certificate" not quiet openssl x509 -in "$T/chainGarbage-2.pem" -noout
hostile chainLong
check "chainLong: 1000 certificates that all parse" test "$(ncerts "$T/chainLong.pem")" = 1000
check "chainLong: the real leaf first" cmp -s "$T/chainLong-1.pem" "$T/real1.pem"
check "chainLong: all of it under 1 MiB" test "$(size "$T/chainLong.pem")" -lt 1048576
hostile oversize
check "oversize: the certificate answer is 5 MiB" test "$(size "$T/oversize.pem")" -ge 5242880
check "oversize: and starts with the real leaf" cmp -s "$T/oversize-1.pem" "$T/real1.pem"
check "forgeries signed by Pebble's intermediate say so in the log" \
    test "$(proxy_count 'note=certExpired,%20signed%20by%20pebble-intermediate')" -eq 1
proxy_fault '{"fault":"oversize","endpoint":"directory","bytes":6000000,"count":1}' >/dev/null
check "oversize on the directory: 6000000 bytes" test "$(curl -s --cacert "$PEBBLE_CA" -o "$T/big.json" \
    -w '%{size_download}' "$PROXY_DIR")" = 6000000
check "of still valid JSON" quiet jq -e .newOrder "$T/big.json"
proxy_clear

# --- the control API refuses what it does not understand
refused() { ! curl -sf -o /dev/null -d "$1" "$PROXY_CTL/faults"; }
check "an unknown fault name is refused" refused '{"fault":"nope"}'
check "an unknown endpoint is refused" refused '{"fault":"drop","endpoint":"nowhere"}'
check "an unknown field is refused" refused '{"fault":"drop","cuont":1}'
check "none of them was added" test "$(curl -sf "$PROXY_CTL/faults" | jq length)" = 0

done_testing
