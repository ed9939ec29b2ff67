#!/bin/bash
# A hostile state directory: symlinks where renewd's own directories belong
# (even to a directory everyone can write) are refused with an error naming
# them, nothing is written or read through them, and a state directory in
# a world-writable, non-sticky parent is refused. The normal cases (fresh
# state, existing state, a parent like /tmp) still work.
. "$(dirname "$0")/lib.sh"

pebble_start
write_conf "$T/renewd.yaml" "$(cert_list www 1 example)"

# evil: a directory everyone can write, where the links point; must stay empty
evil_reset() { rm -rf "$T/evil"; mkdir -m 777 "$T/evil"; chmod 777 "$T/evil"; }
evil_empty() { test -z "$(ls -A "$T/evil")"; }
once() { "$RENEWD" -c "$T/renewd.yaml" --once >"$T/$1.log" 2>&1; }

# certs/ a symlink, on a fresh state directory
evil_reset
mkdir -m 700 "$T/state"
ln -s "$T/evil" "$T/state/certs"
once certs
check "certs/ a symlink: --once fails" test $? -ne 0
check "certs/ a symlink: the error names it" \
    grep -q "$T/state/certs is a symbolic link: refusing" "$T/certs.log"
check "certs/ a symlink: nothing written through it" evil_empty

# certs/www a symlink
rm "$T/state/certs"
mkdir -m 700 "$T/state/certs"
ln -s "$T/evil" "$T/state/certs/www1"
once cert
check "certs/<name> a symlink: --once fails" test $? -ne 0
check "certs/<name> a symlink: the error names it" \
    grep -q "$T/state/certs/www1 is a symbolic link: refusing" "$T/cert.log"
check "certs/<name> a symlink: nothing written through it" evil_empty
rm "$T/state/certs/www1"

# accounts/pebble a symlink
rm -rf "$T/state/accounts"
mkdir -m 700 "$T/state/accounts"
ln -s "$T/evil" "$T/state/accounts/pebble"
once account
check "accounts/<ca> a symlink: --once fails" test $? -ne 0
check "accounts/<ca> a symlink: the error names it" \
    grep -q "$T/state/accounts/pebble is a symbolic link: refusing" "$T/account.log"
check "accounts/<ca> a symlink: no account key written through it" evil_empty
rm "$T/state/accounts/pebble"

# the normal case on the existing state directory
once normal
check "existing state directory: --once obtains the certificate" test $? -eq 0
check "www1: chain verifies, key matches" verify_cert www1

# the live version directory swapped for a symlink to someone else's files
live=$(readlink "$T/state/certs/www1/live")
cp "$T/state/certs/www1/$live/"* "$T/evil/"
mv "$T/state/certs/www1/$live" "$T/state/certs/www1/$live.real"
ln -s "$T/evil" "$T/state/certs/www1/$live"
before=$(ls -A "$T/evil" | wc -l)
once version
check "version directory a symlink: the error names it" \
    grep -q "$T/state/certs/www1/$live is a symbolic link: refusing" "$T/version.log"
check "version directory a symlink: a new version is obtained instead" \
    test "$(readlink "$T/state/certs/www1/live")" != "$live"
check "version directory a symlink: nothing added to its target" \
    test "$(ls -A "$T/evil" | wc -l)" -eq "$before"
check "www1: chain verifies, key matches" verify_cert www1

# a world-writable, non-sticky parent
mkdir -m 777 "$T/pub"
chmod 777 "$T/pub"
sed "s|^state_dir: .*|state_dir: $T/pub/state|" "$T/renewd.yaml" >"$T/pub.yaml"
"$RENEWD" -c "$T/pub.yaml" --once >"$T/pub.log" 2>&1
check "state directory in a 0777 parent: refused" test $? -ne 0
check "state directory in a 0777 parent: the error names the parent" \
    grep -q "parent directory $T/pub is writable by everyone" "$T/pub.log"
check "state directory in a 0777 parent: nothing made there" \
    test ! -e "$T/pub/state"

# a sticky root-owned parent (what /tmp is) is fine
if [ "$(stat -c %u:%a /tmp)" = "0:1777" ]; then
	tmpstate=$(mktemp -d /tmp/renewd-state.XXXXXX)
	sed "s|^state_dir: .*|state_dir: $tmpstate/state|" "$T/renewd.yaml" >"$T/tmp.yaml"
	"$RENEWD" -c "$T/tmp.yaml" --once >"$T/tmp.log" 2>&1
	check "state directory under /tmp: --once obtains the certificate" test $? -eq 0
	check "state directory under /tmp: the certificate is installed" \
	    test -f "$tmpstate/state/certs/www1/live/fullchain.pem"
	rm -rf "$tmpstate"
fi

done_testing
