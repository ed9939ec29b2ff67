#!/bin/sh
# run.sh - runs the fuzz_conf libFuzzer target for a while, reports in TAP.
#
# Needs a build configured with CC=clang --enable-fuzzing --enable-sanitizers.
# FUZZ_SECONDS (default 60) bounds the run.  The seed corpus is copied to a
# temporary directory, so what the fuzzer finds never grows the source tree.
# The exit status is 0 either way: the TAP line carries the result.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
secs=${FUZZ_SECONDS:-60}
fuzzer=$top_builddir/tests/fuzz/fuzz_conf

echo "1..1"
if [ ! -x "$fuzzer" ]; then
	echo "ok 1 - fuzz_conf # SKIP $fuzzer not built (configure --enable-fuzzing)"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fuzz_conf.XXXXXX") || {
	echo "not ok 1 - fuzz_conf: cannot make a temporary directory"
	exit 0
}
trap 'rm -rf "$tmp"' EXIT INT TERM HUP

mkdir "$tmp/corpus" "$tmp/artifacts"
cp "$top_srcdir"/tests/fuzz/corpus/* "$tmp/corpus/"

"$fuzzer" -max_total_time="$secs" -artifact_prefix="$tmp/artifacts/" \
    "$tmp/corpus" >"$tmp/log" 2>&1
rc=$?

if [ "$rc" -eq 0 ] && [ -z "$(ls "$tmp/artifacts")" ]; then
	echo "ok 1 - fuzz_conf ran $secs s clean"
else
	echo "not ok 1 - fuzz_conf failed (exit $rc) within $secs s"
	# the report and the input that triggered it, as TAP diagnostics
	grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$tmp/log" |
	    head -n 20 | sed 's/^/# /'
	for f in "$tmp"/artifacts/*; do
		[ -f "$f" ] || continue
		echo "# input $(basename "$f") (base64):"
		base64 "$f" | head -n 40 | sed 's/^/#   /'
	done
fi
exit 0
