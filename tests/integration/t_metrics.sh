#!/bin/bash
# Prometheus exposition (issue 9, item 3): GET /metrics after an issuance
# and after a failure passes `promtool check metrics`, and its values are
# what happened: the orders, renewals and ACME requests counted, the live
# certificate's notAfter, the failures of a failing certificate; a valid
# certificate far from expiry is limited away while the window says so.
# The listener moves on SIGHUP, and one that cannot bind names its address
# and keeps the running one. conf/prometheus-alerts.yaml passes
# `promtool check rules`.
. "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || bail "promtool is not installed (apt-get install prometheus)"
read -r M1 M2 <<EOP
$("$top_builddir/tests/integration/freeport" 2)
EOP
[ -n "${M2:-}" ] || bail "freeport failed"
pebble_start
ca_proxy_start

# conf METRICS_YAML CERT_YAML
conf() {
	cat >"$T/renewd.yaml" <<EOY
state_dir: $T/state
http01:
  listen: ["127.0.0.1:$HTTP01_PORT"]
metrics:
$1
cas:
  - name: pebble
    directory: $PROXY_DIR
    ca_bundle: $PEBBLE_CA
    contact: ["mailto:test@example.com"]
certificates:
$2
EOY
}
GOOD='  - name: good
    domains: [good.example]
    reload: [ { exec: [/bin/true] } ]'
BAD='  - name: bad
    domains: [bad.example]'

# scrape PORT FILE: GET /metrics into FILE; fails unless it answers 200.
scrape() {
	[ "$(curl -s -o "$2" -D "$2.headers" -w '%{http_code}' \
	    "http://127.0.0.1:$1/metrics")" = 200 ]
}
# value FILE SERIES: the value of one series (name{labels} as written).
value() { awk -v s="$2" '$1 == s { print $2 }' "$1"; }
# is FILE SERIES EXPECTED: the series has that value (says what it has if not).
is() {
	local v
	v=$(value "$1" "$2")
	[ "$v" = "$3" ] && return 0
	diag "$2 is '$v', not '$3'"
	return 1
}
not() { ! "$@"; }
promtool_ok() { promtool check metrics <"$1" >"$1.lint" 2>&1; }
logged() { grep -q "$1" "$T/daemon.log"; }

check "promtool check rules accepts conf/prometheus-alerts.yaml" \
    promtool check rules "$top_srcdir/conf/prometheus-alerts.yaml"

# --- an issuance; the failing window (1 day) limits the valid one away
conf "  listen: \"127.0.0.1:$M1\"
  certificate_series: failing
  expiring_within: 1d" "$GOOD"
spawn "$T/daemon.log" "$RENEWD" -c "$T/renewd.yaml" -v
DAEMON=$LAST_PID
wait_for 60 logged "\[good\] installed certificate" || bail "good was not issued"
scrape "$M1" "$T/m1" || bail "no answer on /metrics"
check "the answer is text format 0.0.4" \
    grep -qi '^content-type: text/plain; version=0.0.4' "$T/m1.headers"
check "promtool check metrics passes after an issuance" promtool_ok "$T/m1"
check "one order at pebble ended valid" \
    is "$T/m1" 'renewd_orders_total{ca="pebble",result="valid"}' 1
renewals_1_0() {
	is "$T/m1" 'renewd_renewals_total{result="success"}' 1 &&
	    is "$T/m1" 'renewd_renewals_total{result="failure"}' 0
}
check "one renewal succeeded, none failed" renewals_1_0
check "newOrder 2xx answers counted as the CA saw them" \
    is "$T/m1" 'renewd_acme_requests_total{ca="pebble",endpoint="newOrder",status_class="2xx"}' \
    "$(proxy_count 'endpoint=newOrder&status=201')"
finalize_cert() {
	is "$T/m1" 'renewd_acme_requests_total{ca="pebble",endpoint="finalize",status_class="2xx"}' 1 &&
	    is "$T/m1" 'renewd_acme_requests_total{ca="pebble",endpoint="certificate",status_class="2xx"}' 1
}
check "finalize and certificate downloads counted" finalize_cert
delivered_1() {
	scrape "$M1" "$T/m1d" &&
	    [ "$(value "$T/m1d" 'renewd_deliveries_total{result="delivered"}')" = 1 ] &&
	    [ "$(value "$T/m1d" 'renewd_service_reloads_total{result="ok"}')" = 1 ]
}
states_1_0() {
	is "$T/m1" 'renewd_certificates{state="valid"}' 1 &&
	    is "$T/m1" 'renewd_certificates{state="failed"}' 0
}
check "one certificate valid, none failed" states_1_0
check "its delivery and the reload step in it are counted" \
    wait_for 10 delivered_1
check "no order in flight at pebble" is "$T/m1" 'renewd_orders_in_flight{ca="pebble"}' 0
check "build info carries the version" \
    grep -q '^renewd_build_info{version="[^"]*"} 1$' "$T/m1"
check "the valid certificate, far from expiry, has no series of its own" \
    test -z "$(grep 'name="good"' "$T/m1")"
check "every family has HELP and TYPE" \
    test "$(grep -c '^# HELP renewd_' "$T/m1")" -eq "$(grep -c '^# TYPE renewd_' "$T/m1")"

# --- a failure: bad is rate limited at newOrder (SIGHUP adds it)
proxy_fault '{"fault":"rateLimited","endpoint":"newOrder","identifier":"bad.example","retryAfter":3600}' \
    >/dev/null || bail "the proxy refused the fault"
conf "  listen: \"127.0.0.1:$M1\"
  certificate_series: failing
  expiring_within: 1d" "$GOOD
$BAD"
kill -HUP "$DAEMON"
wait_for 30 logged "\[bad\] attempt 1 failed" || bail "bad did not fail"
scrape "$M1" "$T/m2" || bail "no answer on /metrics after the failure"
check "promtool check metrics passes after a failure" promtool_ok "$T/m2"
check "the inventory reload is counted" \
    is "$T/m2" 'renewd_inventory_reloads_total{result="applied"}' 1
orders_1_1() {
	is "$T/m2" 'renewd_orders_total{ca="pebble",result="rate_limited"}' 1 &&
	    is "$T/m2" 'renewd_orders_total{ca="pebble",result="valid"}' 1
}
check "the failed order is counted by its class" orders_1_1
check "one renewal failed" is "$T/m2" 'renewd_renewals_total{result="failure"}' 1
# every 4xx the proxy logged for newOrder: the 429, and any badNonce
# Pebble's random nonce rejection gave
check "newOrder 4xx counted" \
    is "$T/m2" 'renewd_acme_requests_total{ca="pebble",endpoint="newOrder",status_class="4xx"}' \
    "$(proxy_log 'endpoint=newOrder' | jq '[.[] | select(.status >= 400 and .status < 500)] | length')"
check "the failing certificate's consecutive failures gauge is 1" \
    is "$T/m2" 'renewd_certificate_consecutive_failures{name="bad"}' 1
bad_held() {
	is "$T/m2" 'renewd_certificate_state{name="bad",state="held"}' 1 &&
	    is "$T/m2" 'renewd_certificates{state="held"}' 1
}
check "its state gauge says held (a rate limit), and the counts agree" bad_held
check "its next action is the hold's end, about an hour ahead" \
    awk -v now="$(date +%s)" '$1 ~ /^renewd_certificate_next_action_timestamp_seconds\{name="bad",action="hold-end"\}$/ { ok = $2 > now + 3000 && $2 < now + 3700 } END { exit !ok }' "$T/m2"
check "the valid certificate is still limited away" \
    test -z "$(grep 'name="good"' "$T/m2")"

# --- certificate_series: all, on another port: every certificate, values checked
conf "  listen: \"127.0.0.1:$M2\"
  certificate_series: all" "$GOOD
$BAD"
kill -HUP "$DAEMON"
wait_for 20 scrape "$M2" "$T/m3" || bail "the listener did not move to $M2"
check "the old address no longer answers" not scrape "$M1" "$T/m-old"
na=$(date -u -d "$(openssl x509 -in "$T/state/certs/good/live/cert.pem" -noout -enddate | cut -d= -f2)" +%s)
nb=$(date -u -d "$(openssl x509 -in "$T/state/certs/good/live/cert.pem" -noout -startdate | cut -d= -f2)" +%s)
check "not_after equals the live certificate's notAfter ($na)" \
    is "$T/m3" 'renewd_certificate_not_after_timestamp_seconds{name="good"}' "$na"
check "last success is the install, after the notBefore" \
    awk -v nb="$nb" -v now="$(date +%s)" '$1 == "renewd_certificate_last_success_timestamp_seconds{name=\"good\"}" { ok = $2 >= nb && $2 <= now } END { exit !ok }' "$T/m3"
good_valid() {
	is "$T/m3" 'renewd_certificate_state{name="good",state="valid"}' 1 &&
	    is "$T/m3" 'renewd_certificate_consecutive_failures{name="good"}' 0 &&
	    awk -v now="$(date +%s)" '$1 ~ /^renewd_certificate_next_action_timestamp_seconds\{name="good",action="(renew|ari-fetch)"\}$/ { ok = $2 > now } END { exit !ok }' "$T/m3"
}
check "good is valid with no failures, its next action (renewal or ARI) ahead" good_valid
check "promtool check metrics passes with every certificate" promtool_ok "$T/m3"

# --- other paths and methods
check "another path is 404" \
    test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$M2/")" = 404
check "POST /metrics is 405" \
    test "$(curl -s -o /dev/null -w '%{http_code}' -d x "http://127.0.0.1:$M2/metrics")" = 405

# --- an address that cannot be bound: named, and the running one stays
conf "  listen: \"127.0.0.1:$HTTP01_PORT\"" "$GOOD
$BAD"
kill -HUP "$DAEMON"
check "a bind failure names the address" \
    wait_for 20 logged "metrics: cannot listen on 127.0.0.1:$HTTP01_PORT: "
check "and the running listener stays" scrape "$M2" "$T/m4"
check "all three reloads counted as applied" \
    is "$T/m4" 'renewd_inventory_reloads_total{result="applied"}' 3

kill "$DAEMON"
wait "$DAEMON"
check "renewd stops cleanly" test $? -eq 0

# --- 2500 valid certificates (bench/gencerts.py, no CA needed): a scrape
# walks them in slices of 1000 and counts every one; the window decides
# which get series (valid for 90 days: none within 1d, all within 100d)
N=2500
python3 "$top_srcdir/bench/gencerts.py" "$T/many" "$N" >/dev/null || bail "gencerts failed"
# many WINDOW: the inventory of the N certificates
many() {
	{
		printf 'state_dir: %s\nhttp01:\n  listen: ["127.0.0.1:%s"]\n' "$T/many" "$HTTP01_PORT"
		printf 'metrics: { listen: "127.0.0.1:%s", expiring_within: %s }\n' "$M1" "$1"
		printf 'cas:\n  - name: none\n    directory: https://127.0.0.1:%s/dir\n' "$M2"
		printf 'certificates:\n'
		awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++)
		    printf "- {name: c%d, domains: [c%d.t]}\n", i, i }'
	} >"$T/many.yaml"
}
many 1d
spawn "$T/many.log" "$RENEWD" -c "$T/many.yaml"
MANY=$LAST_PID
all_valid() {
	scrape "$M1" "$T/n1" &&
	    [ "$(value "$T/n1" 'renewd_certificates{state="valid"}')" = "$N" ]
}
check "a scrape counts all $N certificates valid" wait_for 60 all_valid
check "none of them has series of its own (90 days left, window 1d)" \
    test "$(grep -c '^renewd_certificate_not_after_timestamp_seconds{' "$T/n1")" -eq 0
many 100d
kill -HUP "$MANY"
all_shown() {
	scrape "$M1" "$T/n2" &&
	    [ "$(grep -c '^renewd_certificate_not_after_timestamp_seconds{' "$T/n2")" -eq "$N" ]
}
check "within a 100d window every one of them has its series" wait_for 20 all_shown
check "each once: c1, c1000, c1001 and c$N" \
    test "$(grep -cE '^renewd_certificate_state\{name="c(1|1000|1001|'"$N"')",state="valid"\} 1$' "$T/n2")" -eq 4
check "promtool check metrics passes on $N certificates" promtool_ok "$T/n2"
done_testing
