#!/bin/bash
# External account binding against a Pebble that requires it: the key from
# a 0600 hmac_key_file, a wrong key, a readable key file, no eab at all.
. "$(dirname "$0")/lib.sh"

KEY1=zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W
KEY2=b10lLJs8l1GPIzsLP0s6pMt8O0XVGnfTaCeROxQM0BIt2XrJMDHJZBM5NuQmQJQH
PEBBLE_EAB_KEYS="{\"kid-1\": \"$KEY1\"}" pebble_start

# eab_conf [EAB_YAML]: the inventory, with EAB_YAML under the CA.
eab_conf() {
	write_conf "$T/renewd.yaml" "  - name: eab
    domains: [eab.example]"
	[ -z "${1:-}" ] || sed -i "/^    contact:/a\\$1" "$T/renewd.yaml"
}

# No eab while the directory requires it: the error names the CA and its
# URL, comes before any order, and -t (offline) does not see it.
eab_conf ""
"$RENEWD" -c "$T/renewd.yaml" -t >"$T/t.log" 2>&1
check "renewd -t accepts the inventory (it reads no directory)" test $? -eq 0
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/none.log" 2>&1
check "without eab, renewd --once fails" test $? -ne 0
check "the error names the CA, its URL and externalAccountRequired" \
    grep -q "CA pebble ($PEBBLE_DIR): the directory says externalAccountRequired" "$T/none.log"
check "no newAccount or newOrder was sent" test "$(pebble_count 'POST /sign-me-up')$(pebble_count 'POST /order-plz')" = 00
check "no account key was made in vain" test -z "$(ls "$T/state/accounts" 2>/dev/null)"

# A key file others can read is refused, naming the file.
printf '%s\n' "$KEY1" >"$T/eab.key"
chmod 644 "$T/eab.key"
eab_conf "    eab: { kid: kid-1, hmac_key_file: $T/eab.key }"
"$RENEWD" -c "$T/renewd.yaml" -t >"$T/mode.log" 2>&1
check "a group/world-readable hmac_key_file is refused" test $? -ne 0
check "the error names the file and its mode" grep -q "hmac_key_file: $T/eab.key is open to group or others (mode 0644)" "$T/mode.log"

# The wrong key: the CA's refusal is reported.
printf '%s\n' "$KEY2" >"$T/eab.key"
chmod 600 "$T/eab.key"
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/wrong.log" 2>&1
check "with the wrong key, renewd --once fails" test $? -ne 0
check "the CA's problem is named, with the CA" grep -q "CA pebble: account setup failed: .*/sign-me-up: urn:ietf:params:acme:error:unauthorized: external account binding" "$T/wrong.log"
check "no certificate was installed" test ! -e "$T/state/certs/eab/live"
check "a refused account is the CA's failure, not the domain's (another CA may take it)" \
    grep -q "order at CA pebble failed: .*external account binding.*(class: CA)" "$T/wrong.log"

# The right key from the 0600 file.
printf '%s\n' "$KEY1" >"$T/eab.key"
"$RENEWD" -c "$T/renewd.yaml" --once >"$T/right.log" 2>&1
check "with the right key from a 0600 file, renewd --once obtains it" test $? -eq 0
check "the chain verifies and the key matches" verify_cert eab
check "the key never reaches the log" sh -c "! grep -qF '$KEY1' '$T'/*.log"

done_testing
