#!/bin/bash
# make install DESTDIR=... (issue 9, item 4): binaries, man pages, the
# unit and the socket, the sysusers file, the example inventory (beside,
# not over, renewd.yaml), an empty conf.d/, the polkit rule and the
# drop-in example, the alert rules, the notify example and the bash
# completion, each with its mode; make uninstall takes the files
# away again.
. "$(dirname "$0")/lib.sh"

# var NAME: a make variable as the build's Makefile expands it
var() {
	printf 'print-%%:\n\t@echo $($*)\n' |
	    make -s --no-print-directory -C "$top_builddir" -f Makefile -f - "print-$1"
}
unset MAKEFLAGS MFLAGS MAKELEVEL
R=$T/root
make -s -C "$top_builddir" install DESTDIR="$R" >"$T/install.log" 2>&1
check "make install DESTDIR=... succeeds" test $? -eq 0
sbindir=$(var sbindir)
mandir=$(var mandir)
unitdir=$(var systemdsystemunitdir)
confdir=$(var sysconfdir)/renewd

# has MODE PATH: PATH (under the DESTDIR) is a regular file with MODE
has() {
	if [ -f "$R$2" ] && [ "$(stat -c %a "$R$2")" = "$1" ]; then
		ok "$2 ($1)"
	else
		not_ok "$2 ($1): $(stat -c '%F %a' "$R$2" 2>&1)"
	fi
}
has 755 "$sbindir/renewd"
has 755 "$sbindir/renewctl"
has 644 "$mandir/man8/renewd.8"
has 644 "$mandir/man8/renewctl.8"
has 644 "$mandir/man5/renewd.yaml.5"
has 644 "$unitdir/renewd.service"
has 644 "$unitdir/renewd-http.socket"
has 644 "$(var sysusersdir)/renewd.conf"
has 644 "$confdir/renewd.yaml.example"
check "and no renewd.yaml: a site's own inventory is never overwritten" test ! -e "$R$confdir/renewd.yaml"
has 644 "$(var polkitrulesdir)/renewd-polkit.rules"
has 644 "$(var pkgdatadir)/renewd-delivery.conf.example"
has 644 "$(var pkgdatadir)/prometheus-alerts.yaml"
has 755 "$(var pkgdatadir)/notify-sendmail"
has 644 "$(var bashcompletiondir)/renewctl"
check "the installed completion is bash that defines the completion" \
    bash -c ". '$R$(var bashcompletiondir)/renewctl' && complete -p renewctl"
check "$confdir/conf.d/ is an empty directory (755)" sh -c \
    "[ -d '$R$confdir/conf.d' ] && [ \$(stat -c %a '$R$confdir/conf.d') = 755 ] &&
     [ -z \"\$(ls -A '$R$confdir/conf.d')\" ]"
check "the installed renewd runs" sh -c "'$R$sbindir/renewd' --version | grep -q '^renewd '"
check "the installed unit runs the installed binary" \
    grep -qx "ExecStart=$sbindir/renewd -c $confdir/renewd.yaml" "$R$unitdir/renewd.service"
check "the man pages are mandoc -Tlint clean (warnings and above)" \
    mandoc -Tlint -W warning "$R$mandir/man8/renewd.8" "$R$mandir/man8/renewctl.8" "$R$mandir/man5/renewd.yaml.5"

make -s -C "$top_builddir" uninstall DESTDIR="$R" >"$T/uninstall.log" 2>&1
left=$(find "$R" -type f | sed "s|^$R||")
check "make uninstall removes every file${left:+ (left: $left)}" test -z "$left"
done_testing
