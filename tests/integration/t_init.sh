#!/bin/bash
# renewctl init (issue 12 item 4): a first inventory from flags and from a
# terminal session (a pty driven by python3), checked by the same checker
# as check-config, never over an existing file without --force; bad
# answers are refused with why and asked again; EAB presets ask for the
# binding; the reload target proposed is the web server installed here;
# the end offers a dry run at the preset's staging CA.
. "$(dirname "$0")/lib.sh"

ctl() { "$RENEWCTL" "$@"; }
# what init should find on this machine: the first installed web server
expect_reload=none
for s in nginx:nginx haproxy:haproxy apache2:apache2 httpd:httpd; do
	u=${s%%:*}.service b=/usr/sbin/${s#*:}
	if [ -x "$b" ] || [ -e "/etc/systemd/system/$u" ] ||
	    [ -e "/lib/systemd/system/$u" ] || [ -e "/usr/lib/systemd/system/$u" ]; then
		expect_reload=unit:$u
		break
	fi
done
diag "the reload target init should propose here: $expect_reload"

# ---- flags ----
F=$T/flags/renewd.yaml
ctl init --domain example.com --domain WWW.example.com --ca letsencrypt \
    --email ops@example.com --reload unit:nginx.service --yes --output "$F" >"$T/f.out" 2>&1
check "init with flags: exit 0" test $? -eq 0
check "it says the file is written and valid" grep -q "^$F: written; valid: 1 certificates, 1 CAs" "$T/f.out"
check "the certificate: name, normalised domains, CA, reload" test "$(sed -n '/^certificates:/,$p' "$F")" = 'certificates:
  - name: example.com
    domains: ["example.com", "www.example.com"]
    ca: letsencrypt
    reload: [ { unit: "nginx.service" } ]'
check "the CA by preset, with the contact" grep -q '^    preset: letsencrypt$' "$F"
check "renewctl check-config takes it" sh -c "'$RENEWCTL' -c '$F' check-config >/dev/null"
check "renewd -t takes it" "$RENEWD" -t -c "$F"
check "with --yes the dry run is offered as a command" \
    grep -q "renewd --once --dry-run -c $F" "$T/f.out"
cp "$F" "$T/f.before"
ctl init --domain other.example --yes --output "$F" >/dev/null 2>"$T/f2.err"
check "an existing inventory is kept: exit 2, said so" \
    sh -c "test $? -eq 2 && grep -q 'exists; it is kept (--force replaces it)' '$T/f2.err' && cmp -s '$F' '$T/f.before'"
ctl init --domain other.example --yes --force --reload none --output "$F" >/dev/null 2>&1
check "--force replaces it" grep -q '"other.example"' "$F"
check "no reload with --reload none" sh -c "! grep -q reload: '$F'"
check "no cas section without a contact (ca: letsencrypt is enough)" sh -c "! grep -q '^cas:' '$F'"
ctl init --domain a.example --ca zerossl --yes --output "$T/z.yaml" >/dev/null 2>"$T/z.err"
check "an EAB preset without --eab-kid: exit 2, named" \
    sh -c "test $? -eq 2 && grep -q -- '--eab-kid is needed with --yes' '$T/z.err' && test ! -e '$T/z.yaml'"
printf 'c2VjcmV0LWtleQ\n' >"$T/eab.key"
chmod 600 "$T/eab.key"
ctl init --domain a.example --ca zerossl --eab-kid kid-1 --eab-key-file "$T/eab.key" \
    --challenge dns-01 --dns-hook /bin/true --yes --output "$T/z.yaml" >"$T/z.out" 2>&1
check "an EAB preset with its binding and dns-01: valid" grep -q "written; valid" "$T/z.out"
check "the EAB entry and the hook are in it" sh -c "grep -q 'eab: { kid: \"kid-1\", hmac_key_file: \"$T/eab.key\" }' '$T/z.yaml' && grep -q 'hook: \[\"/bin/true\"\]' '$T/z.yaml'"
check "no dry run offered for a CA without staging" grep -q "ZeroSSL has no staging CA" "$T/z.out"
ctl init --domain a.example --ca buypass --yes --output "$T/b.yaml" >/dev/null 2>"$T/b.err"
check "buypass: refused with the reason" grep -q "Buypass ended its ACME service in 2025" "$T/b.err"
ctl init --domain 'a..example' --yes --output "$T/b.yaml" >/dev/null 2>"$T/d.err"
check "a bad domain: refused, nothing written" \
    sh -c "grep -q -- '--domain: a..example: empty label' '$T/d.err' && test ! -e '$T/b.yaml'"
ctl init --domain a.example --challenge dns-01 --dns-hook /nonexistent/hook --yes \
    --output "$T/w.yaml" >/dev/null 2>"$T/w.err"
check "what check-config refuses: exit 2, reported with file:line:col" \
    sh -c "test $? -eq 2 && grep -q '^$T/w.yaml:[0-9]*:[0-9]*: hook: cannot find /nonexistent/hook' '$T/w.err' && grep -q 'check-config refuses it' '$T/w.err'"

# ---- a terminal session ----
/usr/bin/python3 - "$RENEWCTL" "$T/tty/renewd.yaml" >"$T/tty.log" 2>&1 <<'EOPY'
import os, pty, re, sys, time
prog, out = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv(prog, [prog, "init", "--output", out])
buf = b""
def expect(pat, t=10):
    global buf
    end = time.time() + t
    while not re.search(pat.encode(), buf):
        if time.time() > end:
            sys.exit("timeout waiting for %r; got:\n%s" % (pat, buf.decode(errors="replace")))
        try:
            b = os.read(fd, 4096)
        except OSError:
            sys.exit("EOF waiting for %r; got:\n%s" % (pat, buf.decode(errors="replace")))
        buf += b
    m = re.search(pat.encode(), buf)
    print("saw:", pat)
    buf = buf[m.end():]
def say(s):
    os.write(fd, s.encode() + b"\r")
expect(r"Domain names for the certificate \(separated by spaces\): $")
say("Example.COM  www..example.com")
expect(r"www\.\.example\.com: empty label")
expect(r"Domain names.*: $"); say("Example.COM www.example.com")
expect(r"Name of the certificate in renewd \[example\.com\]: $"); say("")
expect(r"CA \(letsencrypt.*actalis\) \[letsencrypt\]: $"); say("buypass")
expect(r"Buypass ended its ACME service in 2025")
expect(r"\[letsencrypt\]: $"); say("")
expect(r"Contact e-mail for the CA \(empty: none\): $"); say("not-an-address")
expect(r"not an e-mail address")
expect(r"e-mail.*: $"); say("ops@example.com")
expect(r"Challenge \(http-01, dns-01, tls-alpn-01\) \[http-01\]: $"); say("")
expect(r"Web server root.*: $"); say("")
expect(r"Reload after each renewal: unit:NAME or none \(found: [^)]*\)( \[[^]]*\])?: $"); say("")
expect(r"written; valid: 1 certificates, 1 CAs")
expect(r"Try a renewal at Let's Encrypt's staging CA now.*\? y/n \[n\]: $"); say("n")
expect(r"Next: try it at the staging CA")
_, st = os.waitpid(pid, 0)
print("exit", os.WEXITSTATUS(st))
EOPY
check "the terminal session went through every question" grep -q "^exit 0$" "$T/tty.log" || sed 's/^/# /' "$T/tty.log"
check "asked: the domains, the name's default, the CA, the reload target" \
    test "$(grep -c '^saw:' "$T/tty.log")" -eq 16
check "the session's inventory: the answers and the detected reload target" \
    test "$(sed -n '/^certificates:/,$p' "$T/tty/renewd.yaml")" = "certificates:
  - name: example.com
    domains: [\"example.com\", \"www.example.com\"]
    ca: letsencrypt$( [ "$expect_reload" = none ] || printf '\n    reload: [ { unit: "%s" } ]' "${expect_reload#unit:}")"
check "renewctl check-config takes it" sh -c "'$RENEWCTL' -c '$T/tty/renewd.yaml' check-config >/dev/null"

# ---- bash completion ----
complete_words() {
	PATH=$top_builddir:$PATH bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _renewctl; echo "${COMPREPLY[*]}"' \
	    _ "$top_srcdir/completion/renewctl" "$@"
}
check "completion: init is a command" test "$(complete_words renewctl in)" = "init"
check "completion: renew --dry-run" test "$(complete_words renewctl renew --dr)" = "--dry-run"
presets=$(ctl init --domain a.example --ca x --yes --output "$T/x.yaml" 2>&1 | sed -n 's/.*(there are: \(.*\))$/\1/p' | tr -d ,)
check "completion: --ca offers the presets of the table ($presets)" \
    test "$(complete_words renewctl init --ca '')" = "$presets"

done_testing
[ "$TAP_FAILED" -eq 0 ]
