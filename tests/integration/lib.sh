# tests/integration/lib.sh - TAP output and a private Pebble for one test.
#
# Source it from a test script. Every test gets its own temp dir ($T), its
# own Pebble and pebble-challtestsrv on free 127.0.0.1 ports (Pebble resolves
# through challtestsrv, or PEBBLE_DNS when set), and a trap
# that stops all of it however the test ends, so tests run in parallel.

set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
RENEWD=$top_builddir/renewd
RENEWCTL=$top_builddir/renewctl

T=$(mktemp -d "${TMPDIR:-/tmp}/renewd-test.XXXXXX") ||
    { echo "Bail out! cannot make a temp dir in ${TMPDIR:-/tmp}"; exit 1; }
chmod 755 "$T"
TAP_N=0
TAP_FAILED=0
PIDS=""
TEST_NAME=$(basename "$0")

# A hang is a failure: after TEST_TIMEOUT seconds (default 480; a slow
# test sets it before sourcing this file) a watchdog says which test and
# what it was at ($T/.step, kept by check, wait_for and step), and ends the
# test's children, then the test, whose traps clean up as after any failure.
: "${TEST_TIMEOUT:=480}"
# step TEXT: say what the test is doing now, for the watchdog's message.
step() { printf '%s\n' "$*" >"$T/.step"; }
step "setting up"
watchdog() {
	local main=$1 p
	trap - EXIT INT TERM
	# read(1)'s timeout on a FIFO nobody writes: a wait with no child
	# process that would outlive the watchdog when the test ends first
	mkfifo "$T/.watchdog" && read -r -t "$TEST_TIMEOUT" _ <>"$T/.watchdog"
	echo "Bail out! $TEST_NAME: timed out after $TEST_TIMEOUT s; $(cat "$T/.step" 2>/dev/null)"
	# the test first (its trap waits for the command in the foreground),
	# then that command and the rest of its children, never this watchdog
	kill -TERM "$main" 2>/dev/null
	for p in $(pgrep -P "$main"); do
		[ "$p" = "$BASHPID" ] || kill -TERM "$p" 2>/dev/null
	done
}
watchdog $$ &
WATCHDOG_PID=$!

cleanup() {
	local p
	kill "$WATCHDOG_PID" 2>/dev/null
	for p in $PIDS; do
		kill "$p" 2>/dev/null
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null
	done
	if [ "$TAP_FAILED" -gt 0 ] || [ -n "${KEEP:-}" ]; then
		echo "# kept $T for inspection"
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "# --- last lines of $f"
			tail -n 25 "$f" | sed 's/^/#   /'
		done
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'TAP_FAILED=$((TAP_FAILED + 1)); exit 130' INT TERM

# ok DESC: record a pass. not_ok DESC: record a failure.
ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() { TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok $TAP_N - $*"; }
# check DESC CMD...: pass if CMD succeeds.
check() {
	local desc=$1
	shift
	step "checking: $desc"
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
	step "after the check: $desc"
}
# skip DESC REASON: a test point that did not run, counted as skipped
# (TAP "# SKIP"); CI fails on any (scripts/summary --no-skips).
skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1 # SKIP $2"; }
# need_root WHY: the whole test needs root (WHY says for what). Call it
# before any check: for another user the test is skipped ("1..0 # SKIP"),
# counted as skipped, never as a failure.
need_root() {
	[ "$(id -u)" = 0 ] && return 0
	echo "1..0 # SKIP needs root: $*"
	exit 0
}
# sanitized: renewd is a sanitizer build (ASan/UBSan linked in).
sanitized() {
	[ -n "${SANITIZED:-}" ] || SANITIZED=$(nm "$RENEWD" 2>/dev/null |
	    grep -q "__asan_init\|__ubsan_handle" && echo yes || echo no)
	[ "$SANITIZED" = yes ]
}
# check_sanitized DESC CMD...: a check about sanitizer reports; in a build
# without sanitizers it would pass on nothing, so it is skipped there.
check_sanitized() {
	if sanitized; then check "$@"; else skip "$1" "not a sanitizer build"; fi
}
# SAN: what a clean exit also says about sanitizers, for check texts.
SAN="sanitizers silent"
sanitized || SAN="not a sanitizer build: the exit status only"
# done_testing: print the plan (TAP allows it last).
done_testing() { echo "1..$TAP_N"; }
# bail MSG: abort the whole script as failed (setup problems).
bail() { echo "Bail out! $*"; exit 1; }
diag() { echo "# $*"; }

# wait_for SECONDS CMD...: poll CMD every 0.05 s until it succeeds.
wait_for() {
	local limit=$1 i=0 was
	shift
	was=$(cat "$T/.step" 2>/dev/null)
	step "${was%%;*}; waiting for: $*"
	while ! "$@" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -ge $((limit * 20)) ] && return 1
		sleep 0.05
	done
}

# spawn LOG CMD...: start CMD in the background, remember it for cleanup.
spawn() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 &
	LAST_PID=$!
	PIDS="$PIDS $LAST_PID"
}

# Pebble's own HTTPS listener needs a certificate Debian's package does not
# ship: a throwaway root and a leaf for localhost, 127.0.0.1 and ::1.
pebble_tls() {
	local d=$T/tls
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$d/root.key" -out "$d/root.pem" -days 2 \
	    -subj "/CN=renewd test root $$" >/dev/null 2>&1 || return 1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$d/key.pem" -out "$d/leaf.csr" -subj "/CN=localhost" \
	    >/dev/null 2>&1 || return 1
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/ext.cnf"
	openssl x509 -req -in "$d/leaf.csr" -CA "$d/root.pem" -CAkey "$d/root.key" \
	    -CAcreateserial -days 2 -extfile "$d/ext.cnf" -out "$d/cert.pem" \
	    >/dev/null 2>&1 || return 1
	PEBBLE_CA=$d/root.pem
}

# pebble_start [VAR=value...]: start challtestsrv and Pebble with extra
# environment (PEBBLE_VA_NOSLEEP=1 is always set). Sets PEBBLE_DIR (the
# directory URL), PEBBLE_CA (trust anchor for its listener), HTTP01_PORT
# (where its validator connects), CHALL_MGMT, PEBBLE_MGMT, PEBBLE_ROOTS
# (issuing root + intermediates, for openssl verify). Set TLSALPN01_PORT
# first (e.g. from freeport) for tls-alpn-01; unset, it stays port 1.
# Set PEBBLE_EAB_KEYS to a JSON object {"kid": "base64url key", ...} for
# a Pebble that requires external account binding with those keys.
pebble_start() {
	local ports try eab='"externalAccountBindingRequired": false,'
	[ -z "${PEBBLE_EAB_KEYS:-}" ] || eab="\"externalAccountBindingRequired\": true, \"externalAccountMACKeys\": $PEBBLE_EAB_KEYS,"
	command -v pebble >/dev/null || bail "pebble is not installed (apt-get install pebble)"
	[ -n "${PEBBLE_CA:-}" ] || pebble_tls || bail "cannot make Pebble's TLS certificate"
	for try in 1 2 3; do
		ports=$("$top_builddir/tests/integration/freeport" 5) || bail "freeport failed"
		read -r PEBBLE_PORT PEBBLE_MGMT_PORT DNS_PORT CHALL_MGMT_PORT HTTP01_PORT <<EOP
$ports
EOP
		cat >"$T/pebble.json" <<EOJ
{"pebble": {
  "listenAddress": "127.0.0.1:$PEBBLE_PORT",
  "managementListenAddress": "127.0.0.1:$PEBBLE_MGMT_PORT",
  "certificate": "$T/tls/cert.pem",
  "privateKey": "$T/tls/key.pem",
  "httpPort": $HTTP01_PORT,
  "tlsPort": ${TLSALPN01_PORT:-1},
  "ocspResponderURL": "",
  $eab
  "certificateValidityPeriod": ${PEBBLE_VALIDITY:-0}
}}
EOJ
		spawn "$T/challtestsrv.log" pebble-challtestsrv \
		    -management "127.0.0.1:$CHALL_MGMT_PORT" -dns01 "127.0.0.1:$DNS_PORT" \
		    -http01 "" -https01 "" -tlsalpn01 "" \
		    -defaultIPv4 127.0.0.1 -defaultIPv6 ""
		CHALL_PID=$LAST_PID
		spawn "$T/pebble.log" env PEBBLE_VA_NOSLEEP=1 "$@" \
		    pebble -config "$T/pebble.json" -dnsserver "${PEBBLE_DNS:-127.0.0.1:$DNS_PORT}"
		PEBBLE_PID=$LAST_PID
		PEBBLE_DIR=https://127.0.0.1:$PEBBLE_PORT/dir
		if wait_for 15 curl -sf --cacert "$PEBBLE_CA" -o /dev/null "$PEBBLE_DIR" &&
		    wait_for 5 curl -sf -o /dev/null -X POST -d '{"host":"ready.invalid."}' \
		    "http://127.0.0.1:$CHALL_MGMT_PORT/clear-a"; then
			break
		fi
		diag "Pebble did not come up (try $try); pebble.log:"
		sed 's/^/#   /' "$T/pebble.log" | tail -n 5
		kill "$PEBBLE_PID" "$CHALL_PID" 2>/dev/null
		wait "$PEBBLE_PID" "$CHALL_PID" 2>/dev/null
		[ "$try" = 3 ] && bail "Pebble did not start"
	done
	CHALL_MGMT=http://127.0.0.1:$CHALL_MGMT_PORT
	PEBBLE_MGMT=https://127.0.0.1:$PEBBLE_MGMT_PORT
	PEBBLE_ROOTS=$T/pebble-roots.pem
	{ curl -sf --cacert "$PEBBLE_CA" "$PEBBLE_MGMT/roots/0" &&
	  curl -sf --cacert "$PEBBLE_CA" "$PEBBLE_MGMT/intermediates/0"; } \
	    >"$PEBBLE_ROOTS" || bail "cannot fetch Pebble's issuing root"
	curl -sf --cacert "$PEBBLE_CA" "$PEBBLE_MGMT/roots/0" >"$T/pebble-root.pem"
	curl -sf --cacert "$PEBBLE_CA" "$PEBBLE_MGMT/intermediates/0" >"$T/pebble-int.pem"
}

# chall_add_a HOST IP: make HOST resolve to IP (A record) in challtestsrv.
chall_add_a() {
	curl -sf -X POST -d "{\"host\":\"$1.\",\"addresses\":[\"$2\"]}" "$CHALL_MGMT/add-a" >/dev/null
}

# pebble_count PATTERN: how many requests in Pebble's log match (e.g. "POST /order-plz").
pebble_count() {
	grep -c "$1" "$T/pebble.log" 2>/dev/null || true
}

# write_conf FILE CERT_YAML: an inventory for this test's Pebble (or for the
# directory in ACME_DIRECTORY when set, e.g. $PROXY_DIR).
# CERT_YAML is the text under "certificates:" (already indented).
write_conf() {
	cat >"$1" <<EOY
state_dir: $T/state
http01:
  listen: ["127.0.0.1:$HTTP01_PORT"]
cas:
  - name: pebble
    directory: ${ACME_DIRECTORY:-$PEBBLE_DIR}
    ca_bundle: $PEBBLE_CA
    contact: ["mailto:test@example.com"]
    max_concurrent_orders: ${MAX_ORDERS:-8}
certificates:
$2
EOY
}

# renewd_once NAME: renewd --once on an inventory (write_conf) of one
# certificate NAME for NAME.example; inventory $T/NAME.yaml, log $T/NAME.log.
renewd_once() {
	write_conf "$T/$1.yaml" "  - name: $1
    domains: [$1.example]"
	"$RENEWD" -c "$T/$1.yaml" --once >"$T/$1.log" 2>&1
}

# cert_list PREFIX N SUFFIX [EXTRA]: YAML for certificates PREFIX1..PREFIXN,
# each for PREFIXi.SUFFIX (plus EXTRA.PREFIXi.SUFFIX if EXTRA is given).
cert_list() {
	local i
	for i in $(seq 1 "$2"); do
		printf '  - name: %s%d\n    domains: [%s%d.%s%s]\n' "$1" "$i" "$1" "$i" "$3" \
		    "${4:+, $4.$1$i.$3}"
	done
}

# verify_cert NAME: the live chain verifies against Pebble's root and the key matches.
verify_cert() {
	local live=$T/state/certs/$1/live
	[ -f "$live/fullchain.pem" ] || return 1
	openssl verify -CAfile "$T/pebble-root.pem" -untrusted "$live/chain.pem" \
	    "$live/cert.pem" >/dev/null 2>&1 || return 1
	[ "$(openssl x509 -in "$live/cert.pem" -noout -pubkey | openssl sha256)" = \
	  "$(openssl pkey -in "$live/privkey.pem" -pubout | openssl sha256)" ]
}

# bus_start CONFIG_JSON: a private dbus-daemon and the systemd stand-in
# (tests/integration/systemd-standin.py) on it. Sets DBUS_SYSTEM_BUS_ADDRESS
# (exported: sd-bus honours it) and STANDIN_LOG (one JSON line per call).
bus_start() {
	command -v dbus-daemon >/dev/null || bail "dbus-daemon is not installed (apt-get install dbus)"
	cat >"$T/bus.conf" <<EOB
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path=$T/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOB
	printf '%s\n' "$1" >"$T/standin.json"
	STANDIN_LOG=$T/standin.log
	: >"$STANDIN_LOG"
	spawn "$T/dbus.log" dbus-daemon --nofork --nopidfile --config-file="$T/bus.conf"
	wait_for 10 test -S "$T/system_bus_socket" || bail "dbus-daemon did not start"
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/system_bus_socket
	export DBUS_SYSTEM_BUS_ADDRESS
	spawn "$T/standin.out" /usr/bin/python3 "$top_srcdir/tests/integration/systemd-standin.py" \
	    "$DBUS_SYSTEM_BUS_ADDRESS" "$T/standin.json" "$STANDIN_LOG"
	wait_for 10 grep -q ready "$T/standin.out" || bail "systemd stand-in did not start: $(cat "$T/standin.out")"
}

# ca_proxy_start [ARGS...]: start the fault-injecting test double
# (tests/ca-proxy/fake_ca_proxy.py) in front of this test's Pebble; call it
# after pebble_start. ARGS go to the proxy (e.g. --profiles '{}'). Sets
# PROXY_DIR (the directory URL through the proxy; clients trust PEBBLE_CA
# for it too), PROXY_ALT (the origin a moved directory points to),
# PROXY_CTL (control API base URL) and PROXY_PID.
ca_proxy_start() {
	local ports try
	[ -n "${PEBBLE_MGMT:-}" ] || bail "ca_proxy_start needs pebble_start first"
	for try in 1 2 3; do
		ports=$("$top_builddir/tests/integration/freeport" 3) || bail "freeport failed"
		read -r PROXY_PORT PROXY_ALT_PORT PROXY_CTL_PORT <<EOP
$ports
EOP
		spawn "$T/ca-proxy.log" /usr/bin/python3 "$top_srcdir/tests/ca-proxy/fake_ca_proxy.py" \
		    --listen "127.0.0.1:$PROXY_PORT" --alt-listen "127.0.0.1:$PROXY_ALT_PORT" \
		    --control "127.0.0.1:$PROXY_CTL_PORT" --upstream "$PEBBLE_DIR" \
		    --upstream-ca "$PEBBLE_CA" --upstream-mgmt "$PEBBLE_MGMT" \
		    --cert "$T/tls/cert.pem" --key "$T/tls/key.pem" "$@"
		PROXY_PID=$LAST_PID
		PROXY_DIR=https://127.0.0.1:$PROXY_PORT/${PEBBLE_DIR#https://*/}
		PROXY_ALT=https://127.0.0.1:$PROXY_ALT_PORT
		PROXY_CTL=http://127.0.0.1:$PROXY_CTL_PORT
		if wait_for 15 curl -sf -o /dev/null "$PROXY_CTL/health" &&
		    curl -sf --cacert "$PEBBLE_CA" -o /dev/null "$PROXY_DIR"; then
			return 0
		fi
		diag "the CA proxy did not come up (try $try); ca-proxy.log:"
		sed 's/^/#   /' "$T/ca-proxy.log" | tail -n 5
		kill "$PROXY_PID" 2>/dev/null
		wait "$PROXY_PID" 2>/dev/null
	done
	bail "the CA proxy did not start"
}

# proxy_fault JSON: add a fault (object or array, see tests/ca-proxy/README.md);
# prints the answer ({"ids": [...]}), fails if the proxy refused it.
proxy_fault() {
	curl -sf -X POST -H 'Content-Type: application/json' -d "$1" "$PROXY_CTL/faults"
}

# proxy_clear [faults|log]: remove every fault (releasing hung requests)
# and/or empty the request log; both without an argument.
proxy_clear() {
	case "${1:-all}" in
	faults|all) curl -sf -o /dev/null -X DELETE "$PROXY_CTL/faults" || return 1 ;;
	esac
	case "${1:-all}" in
	log|all) curl -sf -o /dev/null -X DELETE "$PROXY_CTL/log" || return 1 ;;
	esac
}

# proxy_log [QUERY]: the request log as JSON, e.g. proxy_log 'endpoint=newOrder'.
proxy_log() {
	curl -sf "$PROXY_CTL/log${1:+?$1}"
}

# proxy_count QUERY: how many logged requests match, e.g. 'endpoint=newOrder&status=201'.
proxy_count() {
	curl -sf "$PROXY_CTL/log/count${1:+?$1}" | jq -r .count
}

# proxy_ari CERTID-or-NAME JSON: set the renewalInfo answer for a certificate
# issued through the proxy (JSON: start, end, explanationURL, retryAfter).
proxy_ari() {
	curl -sf -X POST -H 'Content-Type: application/json' -d "$2" "$PROXY_CTL/ari/$1"
}

# probe ARGS...: the tests' minimal ACME client against the proxy, with a
# per-test account key ($PROBE_KEY, default $T/probe.key) and directory
# ($PROBE_DIR, default $PROXY_DIR).
probe() {
	/usr/bin/python3 "$top_srcdir/tests/ca-proxy/acme_probe.py" --dir "${PROBE_DIR:-$PROXY_DIR}" \
	    --cafile "$PEBBLE_CA" --key "${PROBE_KEY:-$T/probe.key}" "$@"
}

# ---- delivery (issue 7): real servers that renewd deploys to and reloads ----

# conf_defaults FILE YAML: put a "defaults:" section (YAML, already
# indented) into an inventory written by write_conf.
conf_defaults() {
	local y
	y=$(printf 'defaults:\n%s\n' "$2" | sed 's/$/\\/')
	sed -i "/^certificates:/i\\
${y%\\}" "$1"
}

# normal_serial: a serial as renewd logs it (lower-case hex, no leading
# zeros) from openssl's "serial=0A1B..." (or bare hex) on stdin.
normal_serial() {
	sed -n 's/^\(serial=\)\{0,1\}\([0-9A-Fa-f][0-9A-Fa-f]*\)$/\2/p' | tr A-F a-f | sed 's/^0*\(.\)/\1/'
}

# live_serial NAME: the serial of the live certificate in $T/state.
live_serial() {
	openssl x509 -in "$T/state/certs/$1/live/cert.pem" -noout -serial 2>/dev/null | normal_serial
}

# pem_serial FILE: the serial of the (first) certificate in FILE.
pem_serial() {
	openssl x509 -in "$1" -noout -serial 2>/dev/null | normal_serial
}

# served_serial PORT SERVERNAME: the serial of the leaf served on
# 127.0.0.1:PORT for SNI SERVERNAME (empty if no handshake).
served_serial() {
	openssl s_client -connect "127.0.0.1:$1" -servername "$2" </dev/null 2>/dev/null |
	    openssl x509 -noout -serial 2>/dev/null | normal_serial
}

# serves PORT SERVERNAME SERIAL: the server presents that serial now.
serves() { [ "$(served_serial "$1" "$2")" = "$3" ]; }

# serves_soon PORT SERVERNAME SERIAL: ... within 3 s. Right after a reload a
# single handshake can still reach an old nginx worker (or be dropped by
# it while it shuts down), even after renewd's own verify saw the new
# certificate; says what was served if not.
serves_soon() {
	wait_for 3 serves "$@" && return 0
	diag "127.0.0.1:$1 ($2) serves serial '$(served_serial "$1" "$2")', not '$3'"
	return 1
}

# placeholder_cert CERT KEY DOMAIN [COMBINED]: a self-signed certificate for
# DOMAIN, what a server is given before renewd's first delivery; with
# COMBINED, also certificate + key in one file (haproxy).
placeholder_cert() {
	mkdir -p "$(dirname "$1")" "$(dirname "$2")"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$2" -out "$1" -days 2 -subj "/CN=$3" \
	    -addext "subjectAltName=DNS:$3" >/dev/null 2>&1 || return 1
	[ -z "${4:-}" ] || cat "$1" "$2" >"$4"
}

# example_nginx_site DIR PORT DOMAIN: conf/examples/nginx/site.conf for a
# server on 127.0.0.1:PORT, files under DIR/tls, www.example.org -> DOMAIN.
example_nginx_site() {
	sed -e "s|/etc/nginx/|$1/|g" -e "s|listen 443 |listen 127.0.0.1:$2 |" \
	    -e "s|www\.example\.org example\.org;|$3;|" -e "s|www\.example\.org|$3|g" \
	    "$top_srcdir/conf/examples/nginx/site.conf"
}

# example_entry FILE NAME DIR PORT DOMAINS [SED...]: the certificate entry of
# conf/examples/FILE (e.g. nginx/renewd.yaml) for this test: named NAME,
# for DOMAINS (YAML list body, "a.example, b.example"), /etc/nginx/,
# /etc/haproxy/ and /run/*.pid under DIR, port 443 -> PORT, the
# certificate's file names after the first domain; more sed expressions
# (e.g. to pick a commented alternative) in SED.
example_entry() {
	local file=$1 name=$2 dir=$3 port=$4 domains=$5 first
	shift 5
	first=${domains%%,*}
	set -- -e '1,/^certificates:/d' "$@"
	sed -e "s|/etc/nginx/nginx.conf|$dir/nginx.conf|g" \
	    -e "s|/etc/haproxy/haproxy.cfg|$dir/haproxy.cfg|g" \
	    -e "s|/etc/nginx/|$dir/|g" -e "s|/etc/haproxy/|$dir/|g" \
	    -e "s|/run/\([a-z]*\)\.pid|$dir/\1.pid|g" \
	    -e "s|:443\"|:$port\"|g" -e "s|www\.example\.org\.|$first.|g" \
	    -e "s|domains: \[.*\]|domains: [$domains]|" \
	    -e "s|^  - name: www$|  - name: $name|" \
	    "$@" "$top_srcdir/conf/examples/$file"
}

# nginx_start DIR SERVERS: nginx with its prefix, configuration
# (DIR/nginx.conf, with the text SERVERS in its http block), pid file
# (DIR/nginx.pid) and error log (DIR/error.log, notice level: every signal
# and reload is logged) in DIR. The master runs in the foreground, so
# cleanup stops it; NGINX_PID is its pid. Fails if it does not come up.
nginx_start() {
	local d=$1
	mkdir -p "$d"
	cat >"$d/nginx.conf" <<EON
user root;
pid $d/nginx.pid;
error_log $d/error.log notice;
worker_processes 1;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $d/body;
	proxy_temp_path $d/proxy;
	fastcgi_temp_path $d/fastcgi;
	uwsgi_temp_path $d/uwsgi;
	scgi_temp_path $d/scgi;
$2
}
EON
	/usr/sbin/nginx -t -q -c "$d/nginx.conf" -p "$d/" -e "$d/error.log" || return 1
	spawn "$d/stderr.log" /usr/sbin/nginx -c "$d/nginx.conf" -p "$d/" -e "$d/error.log" \
	    -g 'daemon off;'
	NGINX_PID=$LAST_PID
	wait_for 10 grep -q "start worker process" "$d/error.log" &&
	    wait_for 5 sh -c "[ \"\$(cat '$d/nginx.pid')\" = $NGINX_PID ]"
}

# nginx_reloads DIR [PID]: how many reloads (SIGHUP) nginx logged, all or
# those sent by process PID.
nginx_reloads() {
	grep -c "signal 1 (SIGHUP) received from ${2:-[0-9]*}, reconfiguring" "$1/error.log" || true
}

# haproxy_start DIR CFG: haproxy in master-worker mode (-W) in the
# foreground (cleanup stops it) on configuration CFG, pid file DIR/haproxy.pid
# (must be named in CFG), output in DIR/haproxy.log. HAPROXY_PID: the master.
haproxy_start() {
	/usr/sbin/haproxy -c -q -f "$2" || return 1
	spawn "$1/haproxy.log" /usr/sbin/haproxy -W -f "$2"
	HAPROXY_PID=$LAST_PID
	wait_for 10 grep -q "Loading success" "$1/haproxy.log" &&
	    wait_for 5 sh -c "[ \"\$(cat '$1/haproxy.pid')\" = $HAPROXY_PID ]"
}

# haproxy_reloads DIR: how many reloads haproxy's master logged.
haproxy_reloads() { grep -c "Reloading HAProxy" "$1/haproxy.log" || true; }

# delivery_state NAME: "state" in the certificate's delivery.json.
delivery_state() { jq -r .state "$T/state/certs/$1/delivery.json" 2>/dev/null; }

# status_delivery NAME: the DELIVERY column of renewctl status for NAME
# (the column headed DELIVERY, wherever it is).
status_delivery() {
	"$RENEWCTL" -c "${CONF:-$T/renewd.yaml}" status 2>/dev/null | awk -v n="$1" '
	    NR == 1 { col = index($0, "DELIVERY"); next }
	    $1 == n && col { s = substr($0, col); sub(/ .*/, "", s); print s }'
}

# ---- tls-alpn-01 behind a router on the shared TLS port (issue 10, item 2) ----

# alpn_web_start PORT: the web server a router sends everything but
# acme-tls/1 to, on 127.0.0.1:PORT: a certificate whose subject says so.
alpn_web_start() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/web.key" -out "$T/web.crt" -subj "/CN=the web server" \
	    -days 1 >/dev/null 2>&1 || bail "openssl req failed"
	spawn "$T/web.log" openssl s_server -accept "127.0.0.1:$1" \
	    -cert "$T/web.crt" -key "$T/web.key" -www -quiet
	wait_for 10 sh -c "openssl s_client -connect 127.0.0.1:$1 </dev/null 2>/dev/null | grep -q 'the web server'" ||
	    bail "the stand-in web server did not start"
}

# alpn_web_at PORT [OPENSSL ARGS...]: a TLS client on 127.0.0.1:PORT
# reached the web server.
alpn_web_at() {
	local port=$1
	shift
	openssl s_client -connect "127.0.0.1:$port" "$@" </dev/null 2>/dev/null | grep -q 'the web server'
}

# alpn_through ROUTER: with the router listening on TLSALPN01_PORT (where
# Pebble's validator connects) and forwarding acme-tls/1 to RENEWD_ALPN,
# renewd --once obtains a certificate by tls-alpn-01, and other clients
# on the same port still reach the web server.
alpn_through() {
	pebble_start
	write_conf "$T/renewd.yaml" "  - name: alpn
    domains: [alpn.example]
    challenge: tls-alpn-01"
	printf 'tlsalpn01:\n  listen: ["127.0.0.1:%s"]\n' "$RENEWD_ALPN" >>"$T/renewd.yaml"
	"$RENEWD" -c "$T/renewd.yaml" --once -v >"$T/renewd.log" 2>&1
	check "renewd --once obtains the certificate through $1 (exit 0)" test $? -eq 0
	check "issued through tls-alpn-01, chain verifies" verify_cert alpn
	check "the validator reached renewd behind $1" \
	    grep -q "tls-alpn-01: presenting the certificate for alpn.example" "$T/renewd.log"
	check "another ALPN through the same port reaches the web server" \
	    alpn_web_at "$TLSALPN01_PORT" -servername alpn.example -alpn h2,http/1.1
	check "and so does a client with no ALPN" \
	    alpn_web_at "$TLSALPN01_PORT" -servername alpn.example
}
