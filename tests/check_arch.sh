#!/bin/bash
# tests/check_arch.sh - docs/DESIGN.md's module rules, checked from the
# sources and the built objects. Every exception is listed here, in one
# place, so that a change which needs a new one adds it deliberately.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
D=$top_srcdir/daemon

# ---- the allowed lists ---------------------------------------------------
# Only the HTTP client talks to libcurl.
ALLOW_CURL="http.c"
# OpenSSL headers: the crypto layer only (later: TLS handshake checks,
# tls-alpn-01, sealing).
#   verify.c: the TLS handshake that checks what a server presents
#   challenge_alpn.c: the tls-alpn-01 listener's TLS side (ClientHello,
#     ALPN, SNI); its certificates are made in crypto.c
ALLOW_OPENSSL="crypto.c crypto_der.c crypto_der.h crypto_int.h verify.c challenge_alpn.c"
# libsystemd: main.c (sd_notify), bus.c (sd-bus unit reloads),
# sdaemon.c (passed sockets, RELOADING=1, the watchdog) and log.c
# (sd_journal_sendv: structured fields with log: journal).
ALLOW_SYSTEMD="main.c bus.c sdaemon.c log.c"
# Creating, renaming, linking, removing files or changing their modes:
# fsutil.c only (it holds the crash-safety rules; the lock file and the
# live symlink swap are there too).
ALLOW_FSMUT="fsutil.c"
# ldns: dns_msg.c builds and reads DNS messages; its blocking I/O is never
# used (dns.c sends them on the loop).
ALLOW_LDNS="dns_msg.c"
# Longest function allowed in daemon/, in lines (name line to closing brace).
MAX_FUNCTION_LINES=80
# Writable globals (object file .data/.bss), as "file.o:symbol":
#   log.o: the level and journald modes, set by log_init before threads and
#     changed atomically by log_set (SIGHUP)
#   http.o: curl_global_init's once-guard and its result (libcurl wants it once per process)
#   fsutil.o: the fsync seam, fsync(2) unless a unit test swaps it (test_fsutil)
ALLOW_GLOBALS="log.o:log_level log.o:log_journal log.o:log_native http.o:http_once http.o:http_global_rc fsutil.o:sync_fd"
# The configuration layer reads its file and nothing else.
CONF_FILES="conf.c conf_schema.c yamltree.c"
# The ACME engine reaches challenges and storage only through interfaces.
ACME_FILES=$(cd "$D" && ls acme*.c acme*.h 2>/dev/null)
# ---------------------------------------------------------------------------

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
in_list() { case " $2 " in *" $1 "*) return 0 ;; esac; return 1; }

# code FILE: the file without its comments, so prose cannot match.
code() { perl -0777 -pe 's{/\*.*?\*/}{}gs' "$1"; }

# rule DESC ALLOWED REGEX: only ALLOWED files of daemon/ match REGEX.
rule() {
	local desc=$1 allowed=$2 re=$3 f bad=""
	for f in $(cd "$D" && ls -- *.c *.h); do
		code "$D/$f" | grep -qE "$re" || continue
		in_list "$f" "$allowed" || bad="$bad $f"
	done
	if [ -z "$bad" ]; then ok "$desc"; else not_ok "$desc (also in:$bad)"; fi
}

rule "only $ALLOW_CURL includes libcurl" "$ALLOW_CURL" '#include[[:space:]]*<curl/'
rule "OpenSSL headers only in the crypto layer" "$ALLOW_OPENSSL" '#include[[:space:]]*<openssl/'
rule "libsystemd only in $ALLOW_SYSTEMD" "$ALLOW_SYSTEMD" '#include[[:space:]]*<systemd/'
rule "ldns only in $ALLOW_LDNS" "$ALLOW_LDNS" '#include[[:space:]]*<ldns/'
rule "only fsutil.c (and the listed exceptions) creates, renames or removes files" \
    "$ALLOW_FSMUT" '(^|[^_a-z.>])(rename|renameat2?|unlink|unlinkat|mkdir|mkdirat|rmdir|symlink|symlinkat|link|linkat|creat|mkstemp|mkostemp|fchmod|chmod|fchown|chown)[[:space:]]*\([^0-9)]|O_CREAT'

# conf: no I/O beyond reading the inventory.
bad=""
for f in $CONF_FILES; do
	[ -f "$D/$f" ] || continue
	grep -qE '(^|[^_a-z])(write|fwrite|socket|connect|rename|unlink|mkdir|popen|system|fork|execv[pe]?|dup2)[[:space:]]*\(|fopen\([^)]*"[wa+]' "$D/$f" && bad="$bad $f"
done
if [ -z "$bad" ]; then ok "the configuration layer does no I/O but reading"; else not_ok "configuration layer does I/O:$bad"; fi

# acme: no challenge, store or fsutil header.
bad=""
for f in $ACME_FILES; do
	grep -qE '#include[[:space:]]*"(challenge[^"]*|store|fsutil)\.h"' "$D/$f" && bad="$bad $f"
done
if [ -n "$ACME_FILES" ] && [ -z "$bad" ]; then ok "acme includes no challenge, store or fsutil header"
else not_ok "acme includes a challenge/store header:${bad:- (no acme files found)}"; fi

# renewctl reaches the ACME client only through the daemon: neither
# libcurl nor libevent is linked into it. renewd is the control: the check
# must see libcurl there, or the inspection itself is broken.
needed() { objdump -p "$1" 2>/dev/null | awk '$1 == "NEEDED" { print $2 }'; }
if needed "$top_builddir/renewd" | grep -q '^libcurl'; then
	ok "renewd's NEEDED entries show libcurl (the check can see it)"
else
	not_ok "renewd's NEEDED entries show libcurl (is renewd built in $top_builddir?)"
fi
if [ -x "$top_builddir/renewctl" ] && needed "$top_builddir/renewctl" | grep -q '^libc\.' &&
    ! needed "$top_builddir/renewctl" | grep -qE '^lib(curl|event)'; then
	ok "renewctl links neither libcurl nor libevent"
else
	not_ok "renewctl links: $(needed "$top_builddir/renewctl" | tr '\n' ' ')"
fi
bad=$(ldd "$top_builddir/renewctl" 2>/dev/null | awk '{ print $1 }' | grep -E '^lib(curl|event)' | tr '\n' ' ')
if [ -z "$bad" ]; then ok "nor do the libraries it links (ldd)"; else not_ok "ldd renewctl shows $bad"; fi

# No function in daemon/ longer than MAX_FUNCTION_LINES (the style puts a
# definition's name at the start of a line and its closing brace alone).
long=$(cd "$D" && awk -v max="$MAX_FUNCTION_LINES" '
    FNR == 1 { start = 0 }
    /^[A-Za-z_][A-Za-z0-9_]*\(/ { start = FNR; name = $0; sub(/\(.*/, "", name) }
    /^}/ && start { if (FNR - start + 1 > max) printf "%s:%d:%s(%d lines) ", FILENAME, start, name, FNR - start + 1; start = 0 }
' *.c)
if [ -z "$long" ]; then ok "no function in daemon/ is longer than $MAX_FUNCTION_LINES lines"
else not_ok "functions longer than $MAX_FUNCTION_LINES lines: $long"; fi

# No mutable globals beyond the documented ones: every object of libcore
# and the two programs, sections .data/.bss (incl. .data.rel.local).
objs="$top_builddir/libcore.a $(ls "$top_builddir"/daemon/*main.o "$top_builddir"/daemon/*renewctl.o 2>/dev/null | grep -v tests_)"
found=$(for o in $objs; do
	objdump -t "$o" 2>/dev/null | awk '
	    /^In archive/ { next }
	    /file format/ { split($1, p, "/"); obj = p[length(p)]; sub(/:$/, "", obj); sub(/^.*\(/, "", obj); sub(/\)$/, "", obj); next }
	    $0 ~ / (\.data|\.bss|\.data\.rel|\.data\.rel\.local|\.tbss|\.tdata)[ \t]/ && $NF !~ /^[._]/ {
		s = $NF; sub(/\.[0-9]+$/, "", s); print obj ":" s }'
done | sed 's/^renewd-//; s/^renewctl-//' | sort -u)
bad=""
for g in $found; do
	in_list "$g" "$ALLOW_GLOBALS" || bad="$bad $g"
done
if [ -n "$found" ] && [ -z "$bad" ]; then ok "no writable globals beyond the documented ones"
else not_ok "undocumented writable globals:${bad:- (none found at all: is the build there?)}"; fi

echo "1..$n"
[ "$failed" = 0 ]
