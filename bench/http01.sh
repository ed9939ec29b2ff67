#!/bin/bash
# bench/http01.sh - renewd's http-01 listener against nginx, the way
# validators use it: wrk with one request per connection (Connection: close)
# on loopback, for a published token; requests/s and p99 of each, nginx
# with one worker and keepalive_timeout 0 serving the same token from a
# file. Then 5,000 idle connections to renewd's listener while
# validation-like requests are timed (target: each within 100 ms).
#
# How the token gets published: renewd runs as a daemon with one
# certificate, ordering through the CA test double (tests/ca-proxy) in
# front of Pebble, which holds the challenge POST (a "hang" fault). renewd
# has published the answer (the barrier publishes before it triggers) and
# waits for the CA, as it does while a real CA's validator is on its way:
# the bench measures the production code path with a real token, no debug
# build or flag. The fault is lifted at the end and the order completes.
# BUILD as for bench/issue.sh. DURATION (s) per wrk run, default 5.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
command -v wrk >/dev/null || bail "wrk is not installed (apt-get install wrk)"
dur=${DURATION:-5}
name=h1.bench.example

pebble_start
ca_proxy_start
proxy_fault '{"fault":"hang","endpoint":"challenge","method":"POST","then":"forward"}' >/dev/null ||
    bail "the CA proxy refused the hang fault"
ACME_DIRECTORY=$PROXY_DIR write_conf "$T/renewd.yaml" "$(cert_list h 1 bench.example)"
# debug logging names the token; it goes back to info (one line per
# request would be unfair to renewd) once the token is known
sed -i 's/^certificates:/log_level: debug\ncertificates:/' "$T/renewd.yaml"
spawn "$T/renewd.log" "$RENEWD" -c "$T/renewd.yaml"
RENEWD_PID=$LAST_PID
wait_for 30 grep -q "http-01: published token" "$T/renewd.log" || bail "renewd published no token"
wait_for 10 test "$(proxy_count 'endpoint=challenge&method=POST')" -ge 1 ||
    bail "renewd did not trigger the challenge"
token=$(sed -n 's/.*http-01: published token \([A-Za-z0-9_-]*\).*/\1/p' "$T/renewd.log" | head -n 1)
path=/.well-known/acme-challenge/$token
renewd_url=http://127.0.0.1:$HTTP01_PORT$path
curl -sf -H "Host: $name" -o "$T/answer" "$renewd_url" || bail "renewd does not answer $renewd_url"
sed -i '/^log_level: debug$/d' "$T/renewd.yaml"
kill -HUP "$RENEWD_PID"
wait_for 10 grep -q "inventory reloaded" "$T/renewd.log" || bail "renewd did not reload"
lines=$(wc -l <"$T/renewd.log")

# nginx serves the same answer from a file
ngport=$("$top_builddir/tests/integration/freeport" 1)
mkdir -p "$T/www/.well-known/acme-challenge"
cp "$T/answer" "$T/www$path"
nginx_start "$T/nginx" "	server {
		listen 127.0.0.1:$ngport;
		keepalive_timeout 0;
		root $T/www;
		default_type application/octet-stream;
	}" || bail "nginx did not start"
nginx_url=http://127.0.0.1:$ngport$path
cmp -s "$T/answer" <(curl -sf -H "Host: $name" "$nginx_url") || bail "nginx does not serve the answer"

# wrk_run NAME URL: one wrk run; prints "req/s p99_ms"
wrk_run() {
	wrk -t 1 -c 8 -d "${dur}s" --latency -H 'Connection: close' -H "Host: $name" "$2" \
	    >"$T/wrk-$1.log" 2>&1 || { cat "$T/wrk-$1.log"; bail "wrk failed against $1"; }
	awk '/^Requests\/sec:/ { r = $2 }
	    $1 == "99%" { v = $2; u = v; sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u)
		p = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : v }
	    / requests in / { n = $1 }
	    /Non-2xx/ { bad = $NF }
	    END { printf "%.0f %.2f %d %d\n", r, p, n, bad }' "$T/wrk-$1.log"
}

echo "http-01 listener: wrk -t1 -c8 -d${dur}s, one request per connection (Connection: close), loopback"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; renewd build $top_builddir"
: >"$T/wrk.rows"
for round in 1 2; do
	for who in renewd nginx; do
		url=$renewd_url
		[ "$who" = nginx ] && url=$nginx_url
		read -r rps p99 reqs bad < <(wrk_run "$who$round" "$url")
		printf '  round %d  %-6s %8d req/s  p99 %7.2f ms  (%d requests, %d not 2xx)\n' \
		    "$round" "$who" "$rps" "$p99" "$reqs" "$bad"
		echo "$who $rps" >>"$T/wrk.rows"
	done
done
awk '{ s[$1] += $2 } END { printf "renewd / nginx, requests per second (both rounds): %.2f (target >= 0.8)\n", s["renewd"] / s["nginx"] }' "$T/wrk.rows"

echo "idle connections (renewd keeps at most 512 open and closes the idle ones first):"
python3 "$here/idle_conns.py" 127.0.0.1 "$HTTP01_PORT" "$path" "$name" "${IDLE:-5000}"
idle_rc=$?
kill -0 "$RENEWD_PID" || bail "renewd died"
echo "renewd logged $(($(wc -l <"$T/renewd.log") - lines)) lines meanwhile (info level)"

# let the order finish: the token was a real one
proxy_clear faults
wait_for 30 grep -q "installed certificate" "$T/renewd.log" && echo "the held order completed afterwards"
exit "$idle_rc"
