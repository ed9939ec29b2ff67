#!/bin/sh
# run.sh - runs the libFuzzer targets for a while, reports in TAP.
#
# Needs a build configured with CC=clang --enable-fuzzing --enable-sanitizers.
# FUZZ_SECONDS (default 60) bounds the whole run; the targets share it:
# fuzz_conf (the inventory, through the loader and the schema) gets two
# thirds, fuzz_yamltree (the loader alone, checking the tree's invariants)
# the rest.  The seed corpus is copied to a temporary directory, so what the
# fuzzers find never grows the source tree.  The exit status is 0 either
# way: the TAP lines carry the result.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
secs=${FUZZ_SECONDS:-60}
tree_secs=$((secs / 3))
[ "$tree_secs" -ge 1 ] || tree_secs=1
conf_secs=$((secs - tree_secs))
[ "$conf_secs" -ge 1 ] || conf_secs=1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fuzz_conf.XXXXXX") || {
	echo "1..0 # SKIP cannot make a temporary directory"
	exit 0
}
trap 'rm -rf "$tmp"' EXIT INT TERM HUP

# fuzz N TARGET SECONDS: one TAP line for one target
fuzz() {
	fuzzer=$top_builddir/tests/fuzz/$2
	if [ ! -x "$fuzzer" ]; then
		echo "ok $1 - $2 # SKIP $fuzzer not built (configure --enable-fuzzing)"
		return
	fi
	rm -rf "$tmp/corpus" "$tmp/artifacts"
	mkdir "$tmp/corpus" "$tmp/artifacts"
	cp "$top_srcdir"/tests/fuzz/corpus/* "$tmp/corpus/"
	"$fuzzer" -max_total_time="$3" -artifact_prefix="$tmp/artifacts/" \
	    "$tmp/corpus" >"$tmp/log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && [ -z "$(ls "$tmp/artifacts")" ]; then
		echo "ok $1 - $2 ran $3 s clean"
		return
	fi
	echo "not ok $1 - $2 failed (exit $rc) within $3 s"
	# the report and the input that triggered it, as TAP diagnostics
	grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$tmp/log" |
	    head -n 20 | sed 's/^/# /'
	for f in "$tmp"/artifacts/*; do
		[ -f "$f" ] || continue
		echo "# input $(basename "$f") (base64):"
		base64 "$f" | head -n 40 | sed 's/^/#   /'
	done
}

echo "1..2"
fuzz 1 fuzz_conf "$conf_secs"
fuzz 2 fuzz_yamltree "$tree_secs"
exit 0
