# shellcheck shell=bash disable=SC2154
# bench/lib.sh - what the bench scripts share: the tree and its build (BUILD,
# default build/, absolute or relative to the tree), the test harness
# (tests/integration/lib.sh: Pebble on free ports, write_conf, ...), and
# the helpers below. Sourced as the first thing after setting $here.
top_srcdir=$(cd "$here/.." && pwd)
case ${BUILD:-build} in
/*) top_builddir=$BUILD ;;
*) top_builddir=$(cd "$top_srcdir/${BUILD:-build}" && pwd) ;;
esac
export top_srcdir top_builddir
. "$top_srcdir/tests/integration/lib.sh"

# proc_cpu PID: the user+system CPU seconds of PID so far, from /proc.
proc_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.3f\n", ($12 + $13) / hz }' "/proc/$1/stat"
}

# pebble_requests: how many requests this test's Pebble has logged so far.
pebble_requests() {
	grep -c -- ' -> calling handler()' "$T/pebble.log"
}

# kv KEY LINE: the value of KEY=value in LINE.
kv() {
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# log_span LOG: seconds from renewd's "started" line to its last install.
log_span() {
	awk '
	    function t(s) { split(substr(s, 12, 12), a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
	    /started:/ && !s { s = t($1) }
	    /installed certificate/ { e = t($1) }
	    END { if (s && e) printf "%.3f", e - s; else print "n/a" }' "$1"
}

# account_span LOG: seconds from the line saying the account is ready (the
# reference client registers before its clock starts) to the last install.
account_span() {
	awk '
	    function t(s) { split(substr(s, 12, 12), a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
	    /acme: CA [^ ]*: account / && !s { s = t($1) }
	    /installed certificate/ { e = t($1) }
	    END { if (s && e) printf "%.3f", e - s; else print "n/a" }' "$1"
}

# order_latency LOG: p50/p90/max of each certificate's newOrder answer
# ("order created") to its "installed certificate" line.
order_latency() {
	awk '
	    function t(s) { split(substr(s, 12, 12), a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
	    / order created / { c[$3] = t($1) }
	    /installed certificate/ && ($3 in c) { printf "%.0f\n", (t($1) - c[$3]) * 1000 }' "$1" |
	    sort -n | awk '{ d[++n] = $1 }
	    END {
		if (n == 0) { print "order latency:                 n/a"; exit }
		printf "order latency, created to installed: p50 %d ms, p90 %d ms, max %d ms (%d orders)\n",
		    d[int((n + 1) * 0.5)], d[int(n * 0.9 + 0.5)], d[n], n
	    }'
}

# refclient_build OUT: build bench/refclient (Go, Debian's x/crypto) to OUT, offline.
refclient_build() {
	(cd "$top_srcdir/bench/refclient" && GOCACHE=$T/gocache GO111MODULE=off \
	    GOPATH=/usr/share/gocode GOFLAGS='' go build -o "$1" .)
}

# pebble_start needs the tests' freeport helper, which a plain `make` does
# not build (it is a check program)
[ -x "$top_builddir/tests/integration/freeport" ] ||
	make -s -C "$top_builddir" tests/integration/freeport >/dev/null ||
	bail "cannot build tests/integration/freeport in $top_builddir"
