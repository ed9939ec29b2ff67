#!/bin/bash
# renewctl import-certbot: a real certbot (through the CA proxy, to
# Pebble) makes an RSA lineage, an ECDSA one and one with a webroot; after
# the import renewd starts without a newAccount or a newOrder, status shows
# certbot's serials, and certbot's directory is byte for byte unchanged.
# With renewd running, the import goes through its control socket.
. "$(dirname "$0")/lib.sh"

command -v certbot >/dev/null || bail "certbot is not installed (apt-get install certbot)"
need_root "import-certbot --user nobody, and a control peer of another uid"
# no nonce rejections: the test counts newOrder requests
pebble_start PEBBLE_WFE_NONCEREJECT=0
ca_proxy_start

LE=$T/le
export REQUESTS_CA_BUNDLE=$PEBBLE_CA
cb() {
	certbot certonly --non-interactive --agree-tos --no-eff-email \
	    -m ops@example.com --server "$PROXY_DIR" --config-dir "$LE" \
	    --work-dir "$T/lework" --logs-dir "$T/lelogs" \
	    --http-01-port "$HTTP01_PORT" --http-01-address 127.0.0.1 "$@" \
	    >>"$T/certbot.log" 2>&1
}
cb --standalone --cert-name rsa -d rsa.example --key-type rsa --rsa-key-size 2048 ||
    bail "certbot: the RSA lineage"
cb --standalone --cert-name ec -d ec.example -d www.ec.example --key-type ecdsa \
    --elliptic-curve secp384r1 --deploy-hook "systemctl reload nginx" \
    --post-hook "cp a b" || bail "certbot: the ECDSA lineage"
mkdir -p "$T/www"
spawn "$T/www.log" python3 -m http.server --bind 127.0.0.1 --directory "$T/www" "$HTTP01_PORT"
WWW_PID=$LAST_PID
wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$HTTP01_PORT/" || bail "the web server did not start"
cb --webroot -w "$T/www" --cert-name web -d web.example --key-type ecdsa ||
    bail "certbot: the webroot lineage"
kill "$WWW_PID"; wait "$WWW_PID" 2>/dev/null

# every name, link target, mode and content under certbot's directory
sums() { (cd "$LE" && find . -printf '%p %y %m %l\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
sums >"$T/le.before"

cat >"$T/renewd.yaml" <<EOY
state_dir: $T/state
control_socket: $T/control
http01:
  listen: ["127.0.0.1:$HTTP01_PORT"]
include: ["imported*.yaml"]
cas:
  - name: pebble
    directory: $PROXY_DIR
    ca_bundle: $PEBBLE_CA
EOY
ctl() { "$RENEWCTL" -c "$T/renewd.yaml" "$@"; }

ctl import-certbot --dry-run "$LE" >"$T/dry.txt" 2>&1
check "--dry-run: exit 0" test $? -eq 0
check "--dry-run: says which serial of rsa it would import" \
    grep -q "would import rsa: serial $(pem_serial "$LE/live/rsa/cert.pem") into $T/state/certs/rsa" "$T/dry.txt"
check "--dry-run: the CA is matched to the inventory's by directory" \
    grep -q "^    ca: pebble$" "$T/dry.txt"
check "--dry-run: a hook that is no unit reload is reported" \
    grep -q "ec: certbot's post_hook \"cp a b\" is not translated" "$T/dry.txt"
check "--dry-run: writes nothing" test ! -e "$T/state" -a ! -e "$T/imported.yaml"
"$RENEWCTL" -c "$T/none.yaml" import-certbot --dry-run "$LE" >"$T/dry2.txt" 2>&1
check "--dry-run without an inventory: a cas: entry by directory URL" \
    grep -q "directory: \"$PROXY_DIR\"" "$T/dry2.txt"

# a copy without its account: the certificates still, the account reported
cp -a "$LE" "$T/le-noacct"
rm -r "$T/le-noacct/accounts"
"$RENEWCTL" -c "$T/none.yaml" import-certbot --dry-run "$T/le-noacct" >"$T/dry3.txt" 2>&1
check "--dry-run without certbot's account: says renewd will register one" \
    grep -q "regr.json: .*not imported (renewd registers an account of its own at $PROXY_DIR)" "$T/dry3.txt"
check "--dry-run without certbot's account: the certificates are still imported" \
    test "$(grep -c '^would import [a-z]*: serial' "$T/dry3.txt")" = 3
# a renewal file certbot would not write: refused with its line
cp -a "$LE" "$T/le-bad"
printf 'key_type ecdsa\n' >>"$T/le-bad/renewal/rsa.conf"
"$RENEWCTL" -c "$T/none.yaml" import-certbot --dry-run "$T/le-bad" >"$T/dry4.txt" 2>&1
check "a damaged renewal file: exit 2" test $? -eq 2
check "a damaged renewal file: file:line named" \
    grep -q "^renewctl: $T/le-bad/renewal/rsa.conf:$(wc -l <"$T/le-bad/renewal/rsa.conf"): neither \"key = value\" nor a \[section\]" "$T/dry4.txt"

ctl import-certbot --output "$T/imported.yaml" "$LE" >"$T/import.log" 2>&1
check "import: exit 0" test $? -eq 0
check "import: the ECDSA lineage is ecdsa-p384 with the deploy hook as a unit reload" \
    sh -c "grep -A8 'name: ec$' '$T/imported.yaml' | tr -d '\n' | grep -q 'key: ecdsa-p384.*unit: nginx.service'"
check "import: the RSA lineage is rsa-2048" sh -c "grep -A3 'name: rsa$' '$T/imported.yaml' | grep -q 'key: rsa-2048'"
check "import: the webroot is reported" grep -q "web: certbot wrote its tokens under $T/www" "$T/import.log"
check "import: the result passes check-config" ctl check-config
check "import: keys are 0600" test "$(stat -c %a "$T"/state/certs/*/live/privkey.pem "$T/state/accounts/pebble/account.key" | sort -u)" = 600
check "import: certbot's directory is unchanged" cmp -s "$T/le.before" <(sums)
ctl import-certbot --output "$T/imported.yaml" "$LE" >"$T/again.log" 2>&1
check "import again: refused, the output exists (exit 9)" test $? -eq 9

proxy_clear log
spawn "$T/renewd.log" "$RENEWD" -c "$T/renewd.yaml"
RENEWD_PID=$LAST_PID
# all_valid WHEN LOG CTL: renewd (LOG) finds the three valid, and CTL's
# status shows them with certbot's serials
all_valid() {
	local n
	wait_for 20 sh -c "[ \$(grep -c 'is valid; renewal due' '$2') -ge 3 ]"
	check "$1: all three are valid" test $? -eq 0
	"$3" status >"$T/status.txt" 2>&1
	for n in rsa ec web; do
		check "$1: status shows $n with certbot's serial" \
		    grep -Eq "^$n .* $(pem_serial "$LE/live/$n/cert.pem")( |$)" "$T/status.txt"
	done
	sleep 1
}
all_valid "renewd at start" "$T/renewd.log" ctl
check "no newAccount sent" test "$(proxy_count 'endpoint=newAccount')" = 0
check "no newOrder sent" test "$(proxy_count 'endpoint=newOrder')" = 0
# a renewal now goes through certbot's account: still no newAccount
ctl renew --force rsa >"$T/renew.log" 2>&1
check "renew --force rsa: exit 0" test $? -eq 0
check "renew --force rsa: one newOrder, signed with certbot's account (no newAccount)" \
    test "$(proxy_count 'endpoint=newOrder')/$(proxy_count 'endpoint=newAccount')" = 1/0
ctl import-certbot --output "$T/other.yaml" "$LE" >"$T/running.log" 2>&1
check "import again while renewd runs: exit 0" test $? -eq 0
check "import again while renewd runs: every name is the inventory's, nothing sent" \
    sh -c "[ \$(grep -c 'has a certificate of that name already: not imported' '$T/running.log') = 3 ] && ! grep -q 'through renewd' '$T/running.log'"
kill "$RENEWD_PID"; wait "$RENEWD_PID" 2>/dev/null

# renewd running on an empty state directory: the import goes through its
# control socket, then a reload takes the entries on
cat >"$T/live.yaml" <<EOY
state_dir: $T/state3
control_socket: $T/control3
http01:
  listen: ["127.0.0.1:$HTTP01_PORT"]
include: ["live-imported*.yaml"]
cas:
  - name: pebble
    directory: $PROXY_DIR
    ca_bundle: $PEBBLE_CA
EOY
live() { "$RENEWCTL" -c "$T/live.yaml" "$@"; }
proxy_clear log
spawn "$T/renewd3.log" "$RENEWD" -c "$T/live.yaml"
RENEWD3_PID=$LAST_PID
wait_for 20 test -S "$T/control3" || bail "renewd did not open $T/control3"
live import-certbot --output "$T/live-imported.yaml" "$LE" >"$T/live.log" 2>&1
check "import beside a running renewd: exit 0" test $? -eq 0
check "import beside a running renewd: the account, through renewd (pid N)" \
    grep -q "^account .*: imported into $T/state3/accounts/pebble through renewd (pid $RENEWD3_PID)$" "$T/live.log"
check "import beside a running renewd: three certificates, through renewd" \
    test "$(grep -c "^[a-z]*: serial [0-9a-f]* imported into $T/state3/certs/[a-z]* through renewd (pid $RENEWD3_PID)$" "$T/live.log")" = 3
check "import beside a running renewd: renewd logged each, and no key" \
    sh -c "grep -q 'import of certificate rsa serial $(pem_serial "$LE/live/rsa/cert.pem") asked by uid 0' '$T/renewd3.log' && ! grep -q PRIVATE '$T/renewd3.log'"
perms() {
	local f
	for f in accounts/pebble accounts/pebble/account.key accounts/pebble/account.json \
	    certs/{rsa,ec,web} certs/{rsa,ec,web}/live/{privkey,cert,chain,fullchain}.pem; do
		stat -L -c "$f %a %U %G" "$1/$f"
	done
}
check "import beside a running renewd: owners and modes as the offline import's" \
    cmp -s <(perms "$T/state") <(perms "$T/state3")
live reload >"$T/reload3.log" 2>&1
check "reload with the imported entries: exit 0" test $? -eq 0
all_valid "after the reload" "$T/renewd3.log" live
check "after the reload: no newAccount, no newOrder" \
    test "$(proxy_count 'endpoint=newAccount')/$(proxy_count 'endpoint=newOrder')" = 0/0
# a peer in the socket's group, neither root nor renewd's user: refused
ls -R "$T/state3" >"$T/state3.before"
cp -a "$LE" "$T/le-nobody"
mkdir "$T/nob"
chown -R nobody: "$T/le-nobody" "$T/nob"
chgrp nogroup "$T/control3"
setpriv --reuid nobody --regid nogroup --clear-groups "$RENEWCTL" -c "$T/none.yaml" \
    -s "$T/control3" import-certbot --state-dir "$T/state3" \
    --output "$T/nob/out.yaml" "$T/le-nobody" >"$T/denied.log" 2>&1
check "uid nobody through the socket's group: permission denied (exit 6)" test $? -eq 6
check "uid nobody: renewd says why" \
    grep -q "renewd says: permission denied: only root or renewd's own user may import" "$T/denied.log"
check "uid nobody: nothing written" \
    sh -c "test ! -e '$T/nob/out.yaml' && ls -R '$T/state3' | cmp -s - '$T/state3.before'"
# renewd itself refuses a name its inventory manages (another inventory here)
"$RENEWCTL" -c "$T/none.yaml" -s "$T/control3" import-certbot --state-dir "$T/state3" \
    --output "$T/none3.yaml" "$LE" >"$T/managed.log" 2>&1
check "a name the running inventory manages: refused by renewd (exit 9)" test $? -eq 9
check "a name the running inventory manages: renewd says so" \
    grep -q "^renewctl: renewd says: rsa: the running inventory has a certificate of that name" "$T/managed.log"
# renewd checks what it is sent: a key that is not the certificate's
jq -nc --rawfile k "$LE/live/rsa/privkey.pem" --rawfile c "$LE/live/ec/cert.pem" \
    '{cmd: "import", kind: "cert", name: "mixed", key_pem: $k, cert_pem: $c, chain_pem: ""}' |
    python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read())
print(s.makefile().read(), end="")' "$T/control3" >"$T/mixed.json"
check "a key that is not the certificate's: refused, nothing installed" \
    sh -c "jq -e '.ok == false and (.error | test(\"mixed: the key is not the certificate.s\"))' '$T/mixed.json' >/dev/null && test ! -e '$T/state3/certs/mixed'"
kill "$RENEWD3_PID"; wait "$RENEWD3_PID" 2>/dev/null

mkdir -m 700 "$T/state2"
chown nobody: "$T/state2"
"$RENEWCTL" -c "$T/none.yaml" import-certbot --user nobody --state-dir "$T/state2" \
    --output "$T/nobody.yaml" "$LE" >"$T/nobody.log" 2>&1
check "--user nobody: exit 0" test $? -eq 0
check "--user nobody: every file it made is nobody's" \
    test -z "$(find "$T/state2" ! -user nobody)"
check "--user nobody: the account key is 0600" \
    test "$(stat -c %a "$T"/state2/accounts/certbot-*/account.key)" = 600
check "certbot's directory is still unchanged" cmp -s "$T/le.before" <(sums)

done_testing
