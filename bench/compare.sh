#!/bin/bash
# bench/compare.sh [N] - the same N single-name certificates (default 20)
# from a fresh Pebble for each client, one client after the other: renewd
# (one process), then lego, certbot and uacme (Debian packages), and a table
# of wall seconds, client CPU per certificate and the ratios to renewd.
#
# Rules (issue 13): Pebble with PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0
# PEBBLE_AUTHZREUSE=0; never more than 8 orders in flight per Pebble (it
# deadlocks at 12 or more), so the peers run one process per certificate,
# at most 8 at a time (xargs -P 8: a new one starts when one ends); each
# peer's account is registered before timing; http-01 through a webroot
# served by python3 -m http.server on Pebble's validation port; certbot
# gets its own directories per process (it locks them); uacme has no CA
# option, so it runs inside `unshare -m` with a bundle holding the test
# root bind-mounted over the system one. Everything is on 127.0.0.1.
# BUILD as for bench/issue.sh (absolute or relative to the tree).
set -u
n=${1:-20}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

for c in lego certbot uacme; do
	command -v "$c" >/dev/null || bail "$c is not installed (apt-get install $c)"
done
[ -x /usr/share/uacme/uacme.sh ] || bail "uacme's hook /usr/share/uacme/uacme.sh is missing"
SYSTEM_BUNDLE=/etc/ssl/certs/ca-certificates.crt
EMAIL=bench@example.com
INFLIGHT=8

# fresh_pebble: stop the previous Pebble, if any, and start a new one.
fresh_pebble() {
	if [ -n "${PEBBLE_PID:-}" ]; then
		kill "$PEBBLE_PID" "$CHALL_PID" 2>/dev/null
		wait "$PEBBLE_PID" "$CHALL_PID" 2>/dev/null
	fi
	pebble_start PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0
}

# webroot_start: serve $T/www on Pebble's validation port.
webroot_start() {
	mkdir -p "$T/www/.well-known/acme-challenge"
	echo ok >"$T/www/.well-known/acme-challenge/ping"
	spawn "$T/www.log" python3 -m http.server --bind 127.0.0.1 \
	    --directory "$T/www" "$HTTP01_PORT"
	WWW_PID=$LAST_PID
	wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$HTTP01_PORT/.well-known/acme-challenge/ping" ||
	    bail "the webroot server did not start"
}

webroot_stop() {
	kill "$WWW_PID" 2>/dev/null
	wait "$WWW_PID" 2>/dev/null
}

# timed NAME CMD...: run CMD (a function too); keeps "wall user sys" of it
# and all its children in $T/NAME.time (bash's time keyword, RUSAGE_CHILDREN).
timed() {
	local name=$1 TIMEFORMAT='%R %U %S'
	shift
	{ time "$@" >"$T/$name.log" 2>&1; } 2>"$T/$name.time"
}

# pool CMD...: run CMD with {} replaced by 1..n, INFLIGHT at a time.
pool() {
	seq 1 "$n" | xargs -P "$INFLIGHT" -I{} "$@"
}

row() {	# row NAME INSTALLED
	local wall user sys
	read -r wall user sys <"$T/$1.time"
	printf '%s %s %s %s\n' "$1" "$2" "$wall" "$(echo "$user + $sys" | bc -l)" >>"$T/rows"
}

: >"$T/rows"

# --- renewd: one process, its own http-01 listener, registers inside the timing
fresh_pebble
write_conf "$T/renewd.yaml" "$(cert_list d "$n" cmp.example)"
timed renewd "$RENEWD" -c "$T/renewd.yaml" --once
row renewd "$(grep -c "installed certificate" "$T/renewd.log")"

# --- lego: one process per certificate, webroot; account made by a warm-up order
fresh_pebble
webroot_start
export LEGO_CA_CERTIFICATES=$PEBBLE_CA
lego_args=(--server "$PEBBLE_DIR" --email "$EMAIL" --accept-tos --path "$T/lego"
    --key-type ec256 --http --http.webroot "$T/www")
lego "${lego_args[@]}" --domains warm.cmp.example run >"$T/lego-warm.log" 2>&1 ||
    { tail -5 "$T/lego-warm.log"; bail "lego cannot register"; }
timed lego pool lego "${lego_args[@]}" --domains 'l{}.cmp.example' run
row lego "$(ls "$T"/lego/certificates/l*.cmp.example.crt 2>/dev/null | wc -l)"
webroot_stop

# --- certbot: one process per certificate, each with its own copy of the
# registered account's directories
fresh_pebble
webroot_start
export REQUESTS_CA_BUNDLE=$PEBBLE_CA
cb_dirs() { echo --config-dir "$T/cb/$1/conf" --work-dir "$T/cb/$1/work" --logs-dir "$T/cb/$1/logs"; }
# shellcheck disable=SC2046
certbot register $(cb_dirs base) --server "$PEBBLE_DIR" -m "$EMAIL" --agree-tos \
    --no-eff-email --non-interactive >"$T/certbot-reg.log" 2>&1 ||
    { tail -5 "$T/certbot-reg.log"; bail "certbot cannot register"; }
for i in $(seq 1 "$n"); do cp -a "$T/cb/base" "$T/cb/$i"; done
timed certbot pool sh -c "exec certbot certonly --webroot -w '$T/www' -d 'c{}.cmp.example' \
    --config-dir '$T/cb/{}/conf' --work-dir '$T/cb/{}/work' --logs-dir '$T/cb/{}/logs' \
    --server '$PEBBLE_DIR' --key-type ecdsa --non-interactive --agree-tos"
row certbot "$(ls "$T"/cb/*/conf/live/c*.cmp.example/fullchain.pem 2>/dev/null | wc -l)"
webroot_stop

# --- uacme: one process per certificate, the webroot hook; inside a mount
# namespace whose system bundle also trusts the test root
fresh_pebble
webroot_start
cat "$SYSTEM_BUNDLE" "$PEBBLE_CA" >"$T/bundle.pem"
export UACME_CHALLENGE_PATH=$T/www/.well-known/acme-challenge
ua() {	# ua CMD...: CMD in the namespace
	unshare -m sh -c 'mount --bind "$0" "$1" && shift && exec "$@"' \
	    "$T/bundle.pem" "$SYSTEM_BUNDLE" "$@"
}
mkdir -p "$T/ua"
ua uacme -a "$PEBBLE_DIR" -c "$T/ua/base" -t EC -b 256 -y new "$EMAIL" >"$T/uacme-reg.log" 2>&1 ||
    { tail -5 "$T/uacme-reg.log"; bail "uacme cannot register"; }
for i in $(seq 1 "$n"); do cp -a "$T/ua/base" "$T/ua/$i"; done
timed uacme ua xargs -P "$INFLIGHT" -I{} uacme -a "$PEBBLE_DIR" -c "$T/ua/{}" -t EC -b 256 \
    -h /usr/share/uacme/uacme.sh -y issue 'u{}.cmp.example' < <(seq 1 "$n")
row uacme "$(ls "$T"/ua/*/u*.cmp.example/cert.pem 2>/dev/null | wc -l)"
webroot_stop

echo "compare: $n certificates (ecdsa-p256) per client, a fresh Pebble 2.4.0 each"
echo "  (PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0), at most $INFLIGHT orders in flight"
echo "renewd build: $top_builddir; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
awk -v n="$n" '
    NR == 1 { rw = $3; rc = $4 }
    { printf "%-8s %3d/%d issued  wall %7.2f s  CPU %7.1f ms/cert  wall x%6.1f  CPU x%6.1f of renewd\n",
	$1, $2, n, $3, $4 * 1000 / n, $3 / rw, (rc > 0 ? $4 / rc : 0) }' "$T/rows"
awk -v n="$n" '$2 != n { bad = 1 } END { exit bad }' "$T/rows"
