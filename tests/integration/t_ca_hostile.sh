#!/bin/bash
# Hostile values from a CA (issue 10 item 10), injected by the test double
# into Pebble's answers while renewd renews a live certificate: tokens with
# "../", "/", a NUL, a newline or 10 kB; an authorization for a name the
# order did not ask for (http-01, and dns-01 where it would reach the
# hook's argv); a Location with CRLF or a bare CR; a Link to file://; a
# huge Retry-After; a Replay-Nonce that is no base64url. Each renewal is
# refused with an error naming the CA's URL and the certificate, nothing
# is written outside the state directory, and the old certificate stays.
. "$(dirname "$0")/lib.sh"

# No reused authorizations, or an order may be ready before any is fetched.
pebble_start PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0
ca_proxy_start
SOCK=$T/run/control
mkdir -p "$T/run"
ORIGIN=${PROXY_DIR%/dir}

# The dns-01 hook: its argv goes to a log, the TXT record to challtestsrv.
cat >"$T/dns-hook" <<EOH
#!/bin/bash
echo "\$*" >>"$T/hook-args.log"
if [ "\$1" = add ]; then
	curl -sf -X POST -d "{\"host\":\"\$2.\",\"value\":\"\$3\"}" "$CHALL_MGMT/set-txt"
else
	curl -sf -X POST -d "{\"host\":\"\$2.\"}" "$CHALL_MGMT/clear-txt"
fi
EOH
chmod 755 "$T/dns-hook"
cat >"$T/renewd.yaml" <<EOY
state_dir: $T/state
control_socket: $SOCK
http01:
  listen: ["127.0.0.1:$HTTP01_PORT"]
dns01:
  hook: ["$T/dns-hook"]
  propagation_resolvers: ["127.0.0.1:$DNS_PORT"]
  propagation_timeout: 10s
cas:
  - name: proxy
    directory: $PROXY_DIR
    ca_bundle: $PEBBLE_CA
certificates:
  - name: web
    domains: [web.example]
  - name: zone
    domains: [zone.example]
    challenge: dns-01
EOY
"$RENEWD" -c "$T/renewd.yaml" >"$T/renewd.log" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
wait_for 20 sh -c "[ -e '$T/state/certs/web/live' ] && [ -e '$T/state/certs/zone/live' ]" ||
    bail "the first certificates were not issued"
wait_for 10 test -S "$SOCK" || bail "no control socket"
web=$(live_serial web)
zone=$(live_serial zone)
touch "$T/marker"

# hostile NAME FAULT_JSON WANT [CERT]: with the fault in place, a forced
# renewal of CERT (default web) fails, the log names the certificate and
# WANT (a fixed string), the old certificate stays live.
hostile() {
	local name=$1 fault=$2 want=$3 cert=${4:-web} serial
	serial=$(live_serial "$cert")
	from=$(($(wc -l <"$T/renewd.log") + 1))
	for try in 1 2; do
		proxy_clear
		proxy_fault "$fault" >/dev/null || { not_ok "$name: the proxy takes the fault"; return; }
		"$RENEWCTL" -s "$SOCK" renew --force "$cert" >"$T/ctl-$name.log" 2>&1
		rc=$?
		# Pebble 2.4 still reuses ~1 % of authorizations: then none was fetched
		[ "$(curl -sf "$PROXY_CTL/faults" | jq '.[0].hits')" = 0 ] || break
		diag "$name: the fault never applied (a reused authorization?); again"
		serial=$(live_serial "$cert")
	done
	check "$name: the renewal fails (renewctl exit 3)" test "$rc" -eq 3
	check "$name: refused with a clear error naming the CA and the certificate" \
	    sh -c 'tail -n "+$1" "$2" | grep -qF -- "$3"' sh "$from" "$T/renewd.log" "[$cert] order at CA proxy failed: $want"
	check "$name: the old certificate stays live" test "$(live_serial "$cert")" = "$serial"
}

for t in '../../pwned-a' 'a/pwned-b' 'pwned-c\u0000x' 'pwned-d\nx' "$(head -c 10240 /dev/zero | tr '\0' A)"; do
	n=$((${n:-0} + 1))
	hostile "token$n" "{\"fault\":\"hostileToken\",\"value\":\"$t\"}" "acme: $ORIGIN/"
done
check "each token was refused by name as unusable (4) or unparsable JSON (1)" \
    test "$(grep -c "\[web\] order at CA proxy failed: acme: $ORIGIN/chalZ/[^ ]*: unusable http-01 token" "$T/renewd.log")" -eq 4 -a \
    "$(grep -c "\[web\] order at CA proxy failed: acme: $ORIGIN/authZ/[^ ]*: malformed JSON response" "$T/renewd.log")" -eq 1

hostile identifier '{"fault":"authzIdentifier","value":"evil.example"}' \
    "acme: CA proxy: $ORIGIN/authZ/"
check "identifier: the error says which name and which certificate" \
    grep -qF 'the authorization is for dns "evil.example", which the order for web did not ask for' "$T/renewd.log"
hostile identifier-dns '{"fault":"authzIdentifier","value":"evil.example"}' \
    "acme: CA proxy: $ORIGIN/authZ/" zone
check "identifier-dns: naming the name and the certificate" \
    grep -qF 'the authorization is for dns "evil.example", which the order for zone did not ask for' "$T/renewd.log"
check "identifier-dns: the hook never ran for the CA's name" sh -c "! grep -q evil '$T/hook-args.log'"

hostile location-crlf "{\"fault\":\"hostileHeader\",\"endpoint\":\"newOrder\",\"header\":\"Location\",\"value\":\"https://evil.invalid/o/1\\r\\nX-Evil: 1\"}" \
    "acme: CA proxy: $ORIGIN/order-plz: order Location https://evil.invalid/o/1 is not on the origin of newOrder"
hostile location-cr "{\"fault\":\"hostileHeader\",\"endpoint\":\"newOrder\",\"header\":\"Location\",\"value\":\"$ORIGIN/my-order/1\\rX\"}" \
    "acme: CA proxy ($PROXY_DIR): Location \"$ORIGIN/my-order/1\\x0dX\" is not an https:// URL"
hostile link-file '{"fault":"hostileHeader","endpoint":"certificate","header":"Link","value":"<file:///etc/passwd>;rel=\"alternate\""}' \
    "acme: CA proxy ($PROXY_DIR): Link \"file:///etc/passwd\" is not an https:// URL; nothing is sent to it"
hostile retry-after '{"fault":"hostileHeader","endpoint":"challenge","header":"Retry-After","value":"99999999999999999999"}' \
    "acme: $ORIGIN/authZ/"
check "retry-after: the error says how long the CA asked for" \
    grep -qE "\[web\] order at CA proxy failed: acme: $ORIGIN/authZ/[^ ]*: CA asks to retry after [0-9]{10,} s" "$T/renewd.log"
hostile nonce '{"fault":"hostileHeader","header":"Replay-Nonce","value":"a/b\\u0001"}' \
    "acme: CA proxy: $ORIGIN/nonce-plz: the Replay-Nonce is not base64url of at most 256 characters"

proxy_clear
check "nothing was written outside the state directory (but logs)" \
    test -z "$(find "$T" -newer "$T/marker" -type f ! -path "$T/state/*" ! -name '*.log' ! -name .step)"
check "no file is named after a hostile token" test -z "$(find "$T" -name '*pwned*')"
check "the daemon still renews once the CA behaves" sh -c \
    "'$RENEWCTL' -s '$SOCK' renew --force web >'$T/ctl-last.log' 2>&1 && [ \"\$(cat '$T/ctl-last.log')\" != '' ]"
check "with a new certificate" test "$(live_serial web)" != "$web"
check "the dns-01 certificate kept its first one throughout" test "$(live_serial zone)" = "$zone"
kill -TERM "$pid"
wait "$pid"
check "exit 0 on SIGTERM" test $? -eq 0

done_testing
