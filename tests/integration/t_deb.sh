#!/bin/bash
# The Debian package (issue 12, item 1), end to end on this machine: built
# with dpkg-buildpackage -us -uc -b from a clean copy of HEAD (git
# archive), Build-Depends checked against configure's pkg-config modules,
# lintian without errors or warnings, installed with apt-get, its files,
# user, state directory, man pages and units checked, then renewd run as
# renewd.service would run it (the unit's ExecStartPre and ExecStart, as
# the user renewd, umask 0077, a NOTIFY_SOCKET stand-in), idle on the
# shipped inventory and exiting 0 on SIGTERM; then a reinstall (an edited
# conffile stays), apt-get remove (inventory and state stay) and purge
# (they go; the user stays, as Debian keeps system users).
#
# It installs into the system, so it needs root (sudo otherwise) and runs
# as a step of its own in scripts/test rather than in make check; a lock
# keeps two runs from installing at once. 1.3 to 2.5 min on 2 loaded cores.
. "$(dirname "$0")/lib.sh"

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
APT=(env DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 -y -q)
for c in dpkg-buildpackage dpkg-checkbuilddeps lintian man setpriv ss git python3 jq; do
	command -v "$c" >/dev/null || bail "$c is not installed (scripts/deps)"
done
git -C "$top_srcdir" rev-parse --verify -q HEAD >/dev/null ||
    bail "$top_srcdir is not a git checkout: the package is built from HEAD"

exec 9>/run/lock/renewd-t_deb.lock
flock -w 900 9 || bail "another t_deb.sh holds /run/lock/renewd-t_deb.lock"
if dpkg-query -W -f='${Status}' renewd 2>/dev/null | grep -q "ok installed"; then
	bail "a renewd package is installed already; this test would purge it"
fi

INSTALLED=
RT=
on_exit() {
	[ -z "$INSTALLED" ] || "${APT[@]}" purge renewd >"$T/purge-trap.log" 2>&1
	[ -z "$RT" ] || $SUDO rm -rf "$RT"
	cleanup
}
trap on_exit EXIT

# --- build from a clean copy of HEAD
rev=$(git -C "$top_srcdir" rev-parse --short HEAD)
mkdir -p "$T/src"
git -C "$top_srcdir" archive HEAD | tar -x -C "$T/src" || bail "git archive HEAD failed"
diag "building the package from HEAD ($rev)"
(cd "$T/src" && dpkg-checkbuilddeps) >"$T/checkbuilddeps.log" 2>&1
check "dpkg-checkbuilddeps: Build-Depends are installed" test $? -eq 0
start=$SECONDS
(cd "$T/src" && dpkg-buildpackage -us -uc -b -jauto) >"$T/build.log" 2>&1
rc=$?
diag "dpkg-buildpackage took $((SECONDS - start)) s"
check "dpkg-buildpackage -us -uc -b builds it" test "$rc" -eq 0
version=$(cd "$T/src" && dpkg-parsechangelog -S Version)
deb=$T/renewd_${version}_$(dpkg --print-architecture).deb
[ -f "$deb" ] || bail "no package $deb (build.log: $(tail -n 5 "$T/build.log"))"
check "configured without sanitizers" sh -c \
    "grep -q 'sanitizers: *no' '$T/build.log' && ! grep -q fsanitize '$T/build.log'"
# no -Werror in the package: Debian's flags (fortify, -O2) must still warn of nothing
grep -E '^[^ ]+\.[ch]:[0-9]+:[0-9]+: warning:' "$T/build.log" >"$T/cc-warnings"
sed 's/^/# cc: /' "$T/cc-warnings" | head -n 20
check "the compiler warns of nothing with Debian's build flags" test ! -s "$T/cc-warnings"
grep -E '^dpkg-[a-z]+: warning:' "$T/build.log" | sed 's/^/# build: /'

# Every library configure requires comes from a package Build-Depends
# names (dpkg-checkbuilddeps passes on any machine that has more).
bdeps=$(sed -n '/^Build-Depends:/,/^[A-Z][A-Za-z-]*: /p' "$T/src/debian/control")
mods=$(sed -n 's/^PKG_CHECK_MODULES(\[[A-Z]*\], *\[\([^]]*\)\])$/\1/p' "$T/src/configure.ac" |
    tr ' ' '\n' | grep -E '^[a-z]' | grep -v '^cmocka$')
missing=
for m in $mods; do
	pc=$(pkg-config --path "$m" 2>/dev/null)
	pkg=$(dpkg -S "$pc" 2>/dev/null | sed 's/[:,].*//')
	{ [ -n "$pkg" ] && echo "$bdeps" | grep -qw -- "$pkg"; } || missing="$missing $m(${pkg:-?})"
done
check "Build-Depends covers configure's modules ($(echo $mods | wc -w))${missing:+, not:$missing}" \
    test -n "$mods" -a -z "$missing"

# --- lintian
lintian --fail-on error,warning -I --pedantic "$T"/renewd_"${version}"_*.changes >"$T/lintian.log" 2>&1
rc=$?
sed 's/^/# lintian: /' "$T/lintian.log"
check "lintian: no errors, no warnings" test "$rc" -eq 0

# --- what the package holds
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$T/contents"
for f in /usr/sbin/renewd /usr/sbin/renewctl /lib/systemd/system/renewd.service \
    /lib/systemd/system/renewd-http.socket /usr/lib/sysusers.d/renewd.conf \
    /etc/renewd/renewd.yaml /etc/renewd/renewd.yaml.example /etc/renewd/conf.d/; do
	check "the package holds $f" grep -qx -- "$f" "$T/contents"
done
check "/etc/renewd/renewd.yaml is a conffile" sh -c \
    "dpkg-deb -I '$deb' conffiles | grep -qx /etc/renewd/renewd.yaml"

# --- install
"${APT[@]}" install "$deb" >"$T/install.log" 2>&1
rc=$?
[ "$rc" = 0 ] && INSTALLED=1
check "apt-get install ./renewd_${version}_*.deb" test "$rc" -eq 0
[ -n "$INSTALLED" ] || bail "not installed: $(tail -n 5 "$T/install.log")"
check "dpkg says installed" sh -c "dpkg-query -W -f='\${Status}' renewd | grep -q 'ok installed'"
check "every file the package lists is there" sh -c \
    "dpkg -L renewd | while read -r f; do [ -e \"\$f\" ] || { echo \"missing \$f\"; exit 1; }; done"

IFS=: read -r _ _ uid gid _ home shell <<EOF
$(getent passwd renewd)
EOF
check "the user renewd exists (a system user, uid $uid)" test -n "$uid" -a "${uid:-1000}" -lt 1000
check "its group is renewd" test "$(getent group renewd | cut -d: -f3)" = "$gid"
check "its home is /var/lib/renewd, no login shell ($shell)" sh -c \
    "[ '$home' = /var/lib/renewd ] && case '$shell' in */nologin|/bin/false) true;; *) false;; esac"
check "/var/lib/renewd: renewd:renewd 0700" \
    test "$(stat -c '%U:%G %a' /var/lib/renewd 2>&1)" = "renewd:renewd 700"
check "/etc/renewd/renewd.yaml: root-owned 0644" \
    test "$(stat -c '%U %a' /etc/renewd/renewd.yaml 2>&1)" = "root 644"
for p in 8:renewd 8:renewctl 5:renewd.yaml; do
	check "man -w ${p#*:}(${p%%:*}) finds the page" sh -c \
	    "man -w ${p%%:*} ${p#*:} | grep -qx '/usr/share/man/man${p%%:*}/${p#*:}.${p%%:*}.gz'"
done
check "renewd --version says $version" test "$(/usr/sbin/renewd --version)" = "renewd $version"
check "renewd --check-config -c /etc/renewd/renewd.yaml" /usr/sbin/renewd --check-config -c /etc/renewd/renewd.yaml
check "renewd.service is enabled" test -L /etc/systemd/system/multi-user.target.wants/renewd.service
check "renewd-http.socket is not enabled" \
    test ! -e /etc/systemd/system/sockets.target.wants/renewd-http.socket
systemd-analyze verify /lib/systemd/system/renewd.service /lib/systemd/system/renewd-http.socket \
    >"$T/verify.log" 2>&1
rc=$?
sed 's/^/# verify: /' "$T/verify.log"
check "systemd-analyze verify: the installed units are clean" test "$rc" -eq 0 -a ! -s "$T/verify.log"

# --- run it as renewd.service would: the unit's own commands, its user and
# umask, and what systemd provides (RuntimeDirectory=, NOTIFY_SOCKET). The
# runtime directory is a private one, so a real /run/renewd is left alone.
unit=/lib/systemd/system/renewd.service
pre=$(sed -n 's/^ExecStartPre=//p' "$unit")
start_cmd=$(sed -n 's/^ExecStart=//p' "$unit")
user=$(sed -n 's/^User=//p' "$unit")
umask_=$(sed -n 's/^UMask=//p' "$unit")
RT=$($SUDO mktemp -d /run/renewd-t_deb.XXXXXX) || bail "mktemp in /run failed"
$SUDO chown "$user:$user" "$RT" && $SUDO chmod 0750 "$RT"
asuser() { $SUDO setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs "$@"; }
check "ExecStartPre, as $user: $pre" asuser $pre

NOTIFY=$RT/notify
spawn "$T/notify.out" $SUDO python3 -u -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
print("bound", flush=True)
while True:
    print(s.recv(4096).decode().strip().replace("\n", "|"), flush=True)
' "$NOTIFY" 9>&-
wait_for 10 grep -q bound "$T/notify.out" || bail "the NOTIFY_SOCKET stand-in did not start"

# WatchdogSec=60s: systemd passes WATCHDOG_USEC=60000000
(umask "$umask_" && exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin NOTIFY_SOCKET="$NOTIFY" \
    WATCHDOG_USEC=60000000 RUNTIME_DIRECTORY="$RT" STATE_DIRECTORY=/var/lib/renewd \
    setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs $start_cmd) \
    >"$T/renewd.log" 2>&1 9>&- &
pid=$!
PIDS="$PIDS $pid"
check "READY=1 from the running service" wait_for 10 grep -q "READY=1" "$T/notify.out"
sleep 3
check "still running 3 s later" kill -0 "$pid"
check "its log: started with 0 certificates, state in /var/lib/renewd" \
    grep -q "started: 0 certificates, 0 CAs, state in /var/lib/renewd" "$T/renewd.log"
check "its log has no warnings or errors" sh -c "! grep -Eq ' (warning|error|crit)' '$T/renewd.log'"
check "it runs as $user" test "$(ps -o user= -p "$pid" 2>/dev/null)" = "$user"
check "it listens on no TCP port (no http-01 listener without certificates)" sh -c \
    "! $SUDO ss -Hltnp | grep -q 'pid=$pid,'"
asuser /usr/sbin/renewctl -s "$RT/control" status --json >"$T/status.json" 2>"$T/status.err"
rc=$?
check "renewctl status over its control socket answers (exit $rc)" test "$rc" -eq 0
diag "status --json: $(head -c 300 "$T/status.json")"
check "and counts no certificates" jq -se 'map(select(.end)) | length == 1 and .[0].certificates == 0 and .[0].unknown == 0' "$T/status.json"
check "the control socket is mode 0660 (the unit's group may use it)" \
    test "$(stat -c %a "$RT/control" 2>&1)" = 660
kill -TERM "$pid"
wait "$pid"
rc=$?
check "SIGTERM: it exits 0" test "$rc" -eq 0
check "STOPPING=1 on the way out" wait_for 5 grep -q "STOPPING=1" "$T/notify.out"
bad=$($SUDO find /var/lib/renewd -mindepth 1 \( ! -user "$user" -o -perm /077 \) | tr '\n' ' ')
check "what it wrote in /var/lib/renewd is renewd's, no group or other bits${bad:+ (not: $bad)}" \
    test -z "$bad"

# --- the conffile is the admin's: a reinstall keeps an edit, remove keeps
# the inventory and the state, purge takes both
echo "# edited by t_deb.sh" | $SUDO tee -a /etc/renewd/renewd.yaml >/dev/null
"${APT[@]}" install --reinstall "$deb" >"$T/reinstall.log" 2>&1
check "apt-get install --reinstall keeps the edited /etc/renewd/renewd.yaml" \
    grep -qx "# edited by t_deb.sh" /etc/renewd/renewd.yaml
"${APT[@]}" remove renewd >"$T/remove.log" 2>&1
check "apt-get remove renewd" test $? -eq 0
check "remove keeps /etc/renewd/renewd.yaml and /var/lib/renewd" sh -c \
    "[ -f /etc/renewd/renewd.yaml ] && [ -d /var/lib/renewd ] && [ ! -e /usr/sbin/renewd ]"

# --- purge
"${APT[@]}" purge renewd >"$T/purge.log" 2>&1
rc=$?
[ "$rc" = 0 ] && INSTALLED=
check "apt-get purge renewd" test "$rc" -eq 0
check "dpkg knows it no more" sh -c "! dpkg-query -W -f='\${Status}' renewd 2>/dev/null | grep -q installed"
left=
for f in /usr/sbin/renewd /usr/sbin/renewctl /etc/renewd /var/lib/renewd \
    /lib/systemd/system/renewd.service /lib/systemd/system/renewd-http.socket \
    /usr/lib/sysusers.d/renewd.conf /usr/lib/tmpfiles.d/renewd.conf \
    /usr/share/man/man8/renewd.8.gz /etc/systemd/system/multi-user.target.wants/renewd.service; do
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done
check "purge leaves nothing behind${left:+ (left:$left)}" test -z "$left"
diag "the user renewd stays after the purge (Debian keeps system users): $(getent passwd renewd)"
done_testing
