#!/bin/sh
# run.sh - runs the libFuzzer targets for a while, reports in TAP.
#
# Needs a build configured with CC=clang --enable-fuzzing --enable-sanitizers
# ("make fuzz" builds every target). FUZZ_SECONDS (default 60) bounds the
# whole run; the targets share it, each its weight in TARGETS below (the
# inventory and the ACME documents, where most untrusted structure is, get
# more; fuzz_dns's answers and key files as much as http01; the cluster
# records, which arrive sealed under the cluster's own key, least). Each target
# starts from its seed corpus (corpus-NAME/), copied to a temporary
# directory, so what the fuzzers find never grows the source tree.
# The exit status is 0 either way: the TAP lines carry the result.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
secs=${FUZZ_SECONDS:-60}

# target, seed corpus, weight
TARGETS="fuzz_conf:conf:3 fuzz_yamltree:conf:1 fuzz_acme_json:acme:3
fuzz_pem_chain:pem:2 fuzz_headers:headers:1 fuzz_http01:http01:2
fuzz_dns:dns:2 fuzz_cluster_rec:cluster:1"
total_weight=0
for t in $TARGETS; do
	total_weight=$((total_weight + ${t##*:}))
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fuzz.XXXXXX") || {
	echo "1..0 # SKIP cannot make a temporary directory"
	exit 0
}
trap 'rm -rf "$tmp"' EXIT INT TERM HUP

# fuzz N TARGET SECONDS CORPUS: one TAP line for one target
fuzz() {
	fuzzer=$top_builddir/tests/fuzz/$2
	if [ ! -x "$fuzzer" ]; then
		echo "not ok $1 - $2: $fuzzer not built (configure --enable-fuzzing, make fuzz)"
		return
	fi
	rm -rf "$tmp/corpus" "$tmp/artifacts"
	mkdir "$tmp/corpus" "$tmp/artifacts"
	cp "$top_srcdir"/tests/fuzz/corpus-"$4"/* "$tmp/corpus/"
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

set -- $TARGETS
echo "1..$#"
n=0
for t in $TARGETS; do
	n=$((n + 1))
	name=${t%%:*}
	rest=${t#*:}
	t_secs=$((secs * ${t##*:} / total_weight))
	[ "$t_secs" -ge 1 ] || t_secs=1
	fuzz "$n" "$name" "$t_secs" "${rest%%:*}"
done
exit 0
