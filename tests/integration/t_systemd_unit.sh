#!/bin/bash
# The units as make install lays them out (issue 9, item 4): renewd.service
# runs as the unprivileged user renewd with no capabilities and rates 1.5
# or lower in "systemd-analyze security --offline=yes"; "systemd-analyze
# verify" has nothing to say about it or renewd-http.socket; the sysusers
# file makes the user; the documented capability drop-in adds exactly
# CAP_CHOWN and CAP_KILL (its exposure is printed).
. "$(dirname "$0")/lib.sh"

command -v systemd-analyze >/dev/null || bail "systemd-analyze is not installed (apt-get install systemd)"
# var NAME: a make variable as the build's Makefile expands it
var() {
	printf 'print-%%:\n\t@echo $($*)\n' |
	    make -s --no-print-directory -C "$top_builddir" -f Makefile -f - "print-$1"
}
unset MAKEFLAGS MFLAGS MAKELEVEL
R=$T/root
make -s -C "$top_builddir" install DESTDIR="$R" >"$T/install.log" 2>&1 ||
    bail "make install DESTDIR=$R failed: $(tail -n 5 "$T/install.log")"
unitdir=$(var systemdsystemunitdir)
sbindir=$(var sbindir)
sysconfdir=$(var sysconfdir)
unit=$R$unitdir/renewd.service

check "the unit is generated with the configured paths" \
    grep -qx "ExecStart=$sbindir/renewd -c $sysconfdir/renewd/renewd.yaml" "$unit"
check "Type=notify" grep -qx "Type=notify" "$unit"
check "a watchdog" grep -q "^WatchdogSec=[1-9]" "$unit"
check "User=renewd, Group=renewd" sh -c "grep -qx User=renewd '$unit' && grep -qx Group=renewd '$unit'"
check "no capabilities: an empty bounding set" grep -qx "CapabilityBoundingSet=" "$unit"
check "no ambient capabilities" sh -c "! grep -q '^AmbientCapabilities=.' '$unit'"
check "the runtime directory is open to the group (0750)" grep -qx "RuntimeDirectoryMode=0750" "$unit"

# Exposure, on the unit as installed: --threshold=15 fails above 1.5.
systemd-analyze security --offline=yes --threshold=15 "$unit" >"$T/security.out" 2>&1
rc=$?
diag "$(grep "Overall exposure" "$T/security.out")"
check "systemd-analyze security --offline=yes: exposure <= 1.5" test "$rc" -eq 0
check "and it rated this unit" grep -q "Overall exposure level for renewd.service" "$T/security.out"

# verify checks that the commands exist: the same unit, its paths pointing
# into the DESTDIR install; man pages from there too.
V=$T/verify
mkdir -p "$V"
sed -e "s|\([= ]\)$sbindir/|\1$R$sbindir/|g" -e "s|\([= ]\)$sysconfdir/|\1$R$sysconfdir/|g" \
    "$unit" >"$V/renewd.service"
cp "$R$unitdir/renewd-http.socket" "$V/"
export MANPATH=$R$(var mandir)
systemd-analyze verify "$V/renewd.service" "$V/renewd-http.socket" >"$T/verify.out" 2>&1
rc=$?
sed 's/^/# verify: /' "$T/verify.out"
check "systemd-analyze verify: clean (exit 0, no output)" test "$rc" -eq 0 -a ! -s "$T/verify.out"
check "the socket passes port 80 as http01 to renewd.service" sh -c \
    "grep -qx ListenStream=80 '$V/renewd-http.socket' &&
     grep -qx FileDescriptorName=http01 '$V/renewd-http.socket' &&
     grep -qx Service=renewd.service '$V/renewd-http.socket'"
# and verify does fail: a command that is not there
sed "s|^ExecStart=$R|ExecStart=$T/nowhere|" "$V/renewd.service" >"$T/renewd.service"
check "verify complains about a missing command (the check can fail)" \
    sh -c "! systemd-analyze verify '$T/renewd.service' >/dev/null 2>&1"

# The capability drop-in, installed as an example.
mkdir -p "$V/renewd.service.d"
cp "$R$(var pkgdatadir)/renewd-delivery.conf.example" "$V/renewd.service.d/delivery.conf"
systemd-analyze security --offline=yes "$V/renewd.service" >"$T/dropin.out" 2>&1
diag "with renewd-delivery.conf.example: $(grep "Overall exposure" "$T/dropin.out")"
caps=$(grep "^✗ CapabilityBoundingSet=" "$T/dropin.out" | awk '{ print $2 }' | sort | tr '\n' ' ')
diag "capabilities it allows: $caps"
check "the drop-in allows exactly CAP_CHOWN and CAP_KILL" \
    test "$caps" = "CapabilityBoundingSet=~CAP_(CHOWN|FSETID|SETFCAP) CapabilityBoundingSet=~CAP_KILL "
check "both as ambient capabilities for the renewd user" \
    grep -qx "AmbientCapabilities=CAP_CHOWN CAP_KILL" "$V/renewd.service.d/delivery.conf"
systemd-analyze verify "$V/renewd.service" >"$T/verify2.out" 2>&1
check "verify is clean with the drop-in" test $? -eq 0 -a ! -s "$T/verify2.out"

# The user: systemd-sysusers on an empty root makes renewd and its group.
mkdir -p "$T/sysroot/etc"
systemd-sysusers --root="$T/sysroot" "$R$(var sysusersdir)/renewd.conf" >/dev/null 2>&1
check "sysusers.d/renewd.conf creates the user renewd" \
    grep -q "^renewd:x:[0-9]*:[0-9]*:.*:/var/lib/renewd:" "$T/sysroot/etc/passwd"
check "and its group" grep -q "^renewd:x:" "$T/sysroot/etc/group"
done_testing
