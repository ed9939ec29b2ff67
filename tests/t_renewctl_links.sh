#!/bin/sh
# renewctl reads the state directory offline: it reaches the ACME client only
# through the daemon, so neither libcurl nor libevent may be linked into it.
# readelf/objdump show what the binary asks for itself; ldd also what those
# libraries pull in. renewd serves as the control: it must show libcurl,
# or the inspection itself is broken.
: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $*"; }

# needed BINARY: the DT_NEEDED entries, one a line
needed() {
	if command -v readelf >/dev/null 2>&1; then
		readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
	elif command -v objdump >/dev/null 2>&1; then
		objdump -p "$1" | awk '$1 == "NEEDED" { print $2 }'
	else
		return 1
	fi
}

ctl=$top_builddir/renewctl
d=$top_builddir/renewd
if [ ! -x "$ctl" ] || [ ! -x "$d" ]; then
	echo "Bail out! build renewctl and renewd first"
	exit 1
fi
if ! needed "$d" >/dev/null; then
	echo "1..0 # SKIP neither readelf nor objdump"
	exit 0
fi

if needed "$d" | grep -q '^libcurl'; then
	ok "renewd's NEEDED entries show libcurl (the check can see it)"
else
	not_ok "renewd's NEEDED entries show libcurl (the check can see it)"
fi
lib=$(needed "$ctl" | grep -E '^lib(curl|event)' | tr '\n' ' ')
if [ -z "$lib" ]; then
	ok "renewctl's NEEDED entries have no libcurl or libevent"
else
	not_ok "renewctl's NEEDED entries have no libcurl or libevent: $lib"
fi
if command -v ldd >/dev/null 2>&1; then
	lib=$(ldd "$ctl" | awk '{ print $1 }' | grep -E '^lib(curl|event)' | tr '\n' ' ')
	if [ -z "$lib" ]; then
		ok "ldd renewctl shows no libcurl or libevent"
	else
		not_ok "ldd renewctl shows no libcurl or libevent: $lib"
	fi
else
	skip "no ldd"
fi
echo "1..$n"
[ "$failed" = 0 ]
