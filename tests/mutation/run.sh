#!/bin/bash
# tests/mutation/run.sh - does the suite catch realistic bugs? Plants each
# curated mutant (mutants/*.patch, one small bug each) in a private copy of
# the tree, rebuilds, runs the tests the patch names under a timeout, and
# prints a verdict per mutant and the kill rate. Not part of CI (too slow):
# run it by hand after changing the daemon or its tests (tests/README.md).
#
#   tests/mutation/run.sh [-b] [MUTANT...]
#
# MUTANT: a patch file or its name (03-fsutil-no-dir-fsync); all without.
# -b: first run every named test on the unmutated copy (a test that fails
# anyway would make every mutant look killed).
# Environment: MUTATION_DIR (work directory; kept and reused, so a second
# run only rebuilds what changed; default a new one under TMPDIR),
# MUTATION_TIMEOUT (seconds per mutant's tests, default 600: a hang counts
# as killed, and says so), MUTATION_CONFIGURE (configure flags, default
# none: a plain build is faster, and these are logic bugs, not memory
# errors), MUTATION_TARGET (kill rate in percent the exit status asks
# for, default 90).
#
# A patch starts with "Mutant: what the bug is" and "Tests: the tests that
# should catch it" (paths as in Makefile.am's TESTS), then a unified diff
# against the tree (patch -p1). One that no longer applies is "stale": renew
# it as the code moves. Survivors with a known reason are listed in
# tests/mutation/survivors ("NAME reason").
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
timeout_s=${MUTATION_TIMEOUT:-600}
target=${MUTATION_TARGET:-90}
jobs=$(nproc 2>/dev/null || echo 2)
baseline=0
[ "${1:-}" = -b ] && { baseline=1; shift; }

patches=()
if [ $# -eq 0 ]; then
	patches=("$here"/mutants/*.patch)
else
	for m in "$@"; do
		case $m in
		*.patch) patches+=("$(cd "$(dirname "$m")" && pwd)/$(basename "$m")") ;;
		*) patches+=("$here/mutants/$m.patch") ;;
		esac
	done
fi
for p in "${patches[@]}"; do
	[ -f "$p" ] || { echo "run.sh: no mutant $p" >&2; exit 2; }
done

work=${MUTATION_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/renewd-mutation.XXXXXX")}
src=$work/src
build=$work/build
mkdir -p "$src" "$build"
echo "# mutation run in $work (${#patches[@]} mutants, ${timeout_s} s each)"

# The tree as it is now, committed or not; mtimes kept, so a reused copy
# rebuilds only what changed. The mutants never touch the work tree.
(cd "$top" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 cp -p --parents -t "$src" 2>/dev/null)
if [ ! -f "$build/Makefile" ]; then
	(cd "$src" && ./autogen.sh >/dev/null 2>&1) || { echo "run.sh: autogen.sh failed" >&2; exit 2; }
	# shellcheck disable=SC2086
	(cd "$build" && "$src/configure" -q ${MUTATION_CONFIGURE:-}) ||
	    { echo "run.sh: configure failed" >&2; exit 2; }
fi

helpers="tests/integration/freeport tests/integration/http_get tests/integration/bus_reload tests/integration/verify_tls"
field() { sed -n "s/^$1: *//p" "$2" | head -n 1; }

# run_tests TESTS: builds what they need and runs them; 0 if all passed.
# The failing ones are in $work/failed, a timeout leaves "timeout" there.
run_tests() {
	local tests=$1 units t rc
	units=$(for t in $tests; do case $t in tests/unit/*) echo "$t" ;; esac; done)
	: >"$work/failed"
	# shellcheck disable=SC2086
	if ! make -C "$build" -j"$jobs" renewd renewctl $helpers $units >"$work/build.log" 2>&1; then
		echo "build" >"$work/failed"
		return 3
	fi
	# shellcheck disable=SC2086
	timeout -k 10 "$timeout_s" make -C "$build" -j"$jobs" check TESTS="$tests" \
	    check_PROGRAMS="$helpers $(echo $units)" >"$work/check.log" 2>&1
	rc=$?
	grep -E '^(FAIL|ERROR): ' "$work/check.log" | sed 's/^[A-Z]*: //; s/ \([0-9]* \)\{0,1\}- .*//' |
	    sort -u >"$work/failed"
	[ $rc = 124 ] || [ $rc = 137 ] && echo "timeout after ${timeout_s} s" >>"$work/failed"
	return $rc
}

if [ $baseline = 1 ]; then
	all=$(for p in "${patches[@]}"; do field Tests "$p" | tr ' ' '\n'; done | sort -u | tr '\n' ' ')
	echo "# baseline: $all"
	if ! run_tests "$all"; then
		echo "run.sh: the unmutated tree fails: $(tr '\n' ' ' <"$work/failed")" >&2
		exit 2
	fi
fi

killed=0 survived=0 stale=0
survivors=""
for p in "${patches[@]}"; do
	name=$(basename "$p" .patch)
	tests=$(field Tests "$p")
	what=$(field Mutant "$p")
	if ! (cd "$src" && patch -p1 -s -f --dry-run <"$p" >/dev/null 2>&1); then
		echo "stale     $name: no longer applies ($what)"
		stale=$((stale + 1))
		continue
	fi
	(cd "$src" && patch -p1 -s -f <"$p")
	start=$(date +%s)
	run_tests "$tests"
	rc=$?
	secs=$(($(date +%s) - start))
	(cd "$src" && patch -p1 -R -s -f <"$p") || { echo "run.sh: cannot revert $name" >&2; exit 2; }
	if [ $rc = 3 ]; then
		echo "stale     $name: does not build ($what); see $work/build.log"
		cp "$work/build.log" "$work/$name.build.log"
		stale=$((stale + 1))
	elif [ $rc = 0 ]; then
		echo "SURVIVED  $name: $what [$tests] (${secs} s)"
		survived=$((survived + 1))
		survivors="$survivors $name"
	else
		echo "killed    $name by $(tr '\n' ' ' <"$work/failed")(${secs} s)"
		killed=$((killed + 1))
	fi
done

total=$((killed + survived))
echo
if [ -n "$survivors" ]; then
	echo "survivors:"
	for s in $survivors; do
		why=$(sed -n "s/^$s  *//p" "$here/survivors" 2>/dev/null)
		echo "  $s: ${why:-no reason recorded (a test is missing?)}"
	done
fi
[ $stale = 0 ] || echo "$stale mutants are stale (renew them against the code)"
if [ $total = 0 ]; then
	echo "no mutant ran"
	exit 1
fi
rate=$((killed * 100 / total))
echo "mutation: $killed of $total killed ($rate %), $survived survived, $stale stale"
[ "$rate" -ge "$target" ] && [ $stale = 0 ]
