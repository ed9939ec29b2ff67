#!/bin/bash
# Damage to the live files is noticed and repaired without waiting for the
# renewal date: renewd re-verifies every live version each
# live_check_interval (by file identity first) and on SIGHUP, judges it as
# renewctl does (the same function), points live at the newest whole
# version when it is not whole, and orders a new certificate only when no
# whole version is left.
. "$(dirname "$0")/lib.sh"

pebble_start
conf=$T/renewd.yaml
write_conf "$conf" "  - name: www
    domains: [www.live.example]"
echo "live_check_interval: 2s" >>"$conf"
C=$T/state/certs/www
ctl() { "$top_builddir/renewctl" -c "$conf" status; }
orders() { grep -c '\[www\] order created' "$T/renewd.log"; }

"$RENEWD" -c "$conf" --once >"$T/once.log" 2>&1
check "the certificate is obtained" verify_cert www
v1=$(readlink "$C/live")
# a second whole version beside it, as a past renewal leaves
cp -a "$C/$v1" "$C/$v1.spare"
check "renewctl: a whole version is valid" grep -q '^www  *valid ' <(ctl)

spawn "$T/renewd.log" "$RENEWD" -c "$conf"
D=$LAST_PID
wait_for 20 grep -q 'serial .* is valid' "$T/renewd.log" || bail "renewd did not start"

# damage KIND FILE: KIND of damage to FILE of the live version.
damage() {
	local f=$C/$(readlink "$C/live")/$2
	case $1 in
	garbage) printf 'garbage\n' >"$f" ;;
	badchain) printf -- '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n' >"$f" ;;
	append) printf '\n# edited\n' >>"$f" ;;
	otherkey) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$f" 2>/dev/null ;;
	esac
}
# repairs LOG: how many repairs LOG shows.
repairs() { grep -c '\[www\] repaired: live now names version' "$1"; }
more_repairs() { [ "$(repairs "$1")" -gt "$2" ]; }
# repaired_to N VERSION: N repairs so far, live names VERSION and the chain
# verifies.
repaired_to() {
	[ "$(repairs "$T/renewd.log")" -ge "$1" ] &&
	    [ "$(readlink "$C/live")" = "${2:-$(readlink "$C/live")}" ] && verify_cert www
}

n=0
for kind_file in garbage:cert.pem badchain:chain.pem append:fullchain.pem otherkey:privkey.pem; do
	kind=${kind_file%%:*} file=${kind_file#*:}
	broken=$(readlink "$C/live")
	spare=$v1.spare
	[ "$broken" = "$spare" ] && spare=$v1
	damage "$kind" "$file"
	ctl >"$T/ctl.out"
	check "$file ($kind): renewctl says broken, naming the version" \
	    grep -q "^www  *broken .*$broken/" "$T/ctl.out"
	n=$((n + 1))
	check "$file ($kind): renewd notices within the interval and repairs from $spare" \
	    wait_for 10 repaired_to "$n" "$spare"
	[ "$kind" = otherkey ] && file="cert.pem is not for the key in privkey.pem"
	check "$file ($kind): renewd names what was wrong" \
	    grep -q "\[www\] the live version is not whole: .*$broken/$file" "$T/renewd.log"
	check "$file ($kind): renewctl agrees it is whole again" grep -q '^www  *valid ' <(ctl)
	# restore the damaged version, to be the spare of the next round
	rm -rf "${C:?}/$broken" && cp -a "$C/$spare" "$C/$broken"
done
check "no repair ordered a certificate" test "$(orders)" -eq 0

# a deleted live link: the newest whole version is made live
rm "$C/live"
check "deleted live: renewctl says missing" grep -q '^www  *missing ' <(ctl)
n=$((n + 1))
check "deleted live: renewd links a whole version again, and it verifies" \
    wait_for 10 repaired_to "$n"
check "deleted live: it says the link was missing" \
    grep -q '\[www\] the live version is not whole: no live link' "$T/renewd.log"
check "deleted live: still no order" test "$(orders)" -eq 0

# on SIGHUP: a daemon with an hour-long interval still notices at once
kill -TERM "$D"
wait "$D"
check "renewd exits cleanly" test $? -eq 0
sed -i 's/^live_check_interval: .*/live_check_interval: 1h/' "$conf"
spawn "$T/renewd2.log" "$RENEWD" -c "$conf"
D=$LAST_PID
wait_for 20 grep -q 'serial .* is valid' "$T/renewd2.log" || bail "renewd did not restart"
before=$(repairs "$T/renewd2.log")
damage garbage cert.pem
sleep 3
check "hourly interval: nothing noticed within 3 s" \
    test "$(repairs "$T/renewd2.log")" -eq "$before"
kill -HUP "$D"
check "SIGHUP: the damage is noticed and repaired" \
    wait_for 10 more_repairs "$T/renewd2.log" "$before"
check "SIGHUP: and the chain verifies" verify_cert www

# nothing whole left: a new certificate is ordered
for v in "$C"/*/; do
	[ -L "${v%/}" ] && continue
	printf 'garbage\n' >"$v/cert.pem"
done
kill -HUP "$D"
check "no whole version left: renewd says so and orders anew" \
    wait_for 10 grep -q '\[www\] the live version is not whole (.*) and no other whole version is left: reissuing' "$T/renewd2.log"
check "a new certificate is installed" \
    wait_for 30 grep -q '\[www\] installed certificate' "$T/renewd2.log"
check "and it verifies" verify_cert www
kill -TERM "$D"
wait "$D"
check "renewd exits cleanly after the repairs" test $? -eq 0
done_testing
