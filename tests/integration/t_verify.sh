#!/bin/bash
# verify.c: which certificate does a TLS server really present? Against
# openssl s_server (with an SNI-selected second certificate), a closed
# port, a server that never speaks TLS, and a host name.
. "$(dirname "$0")/lib.sh"
DRV=$top_builddir/tests/integration/verify_tls

# mkcert NAME [SERIAL]
mkcert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/$1.key" -out "$T/$1.pem" -days 2 -subj "/CN=$1" \
	    ${2:+-set_serial "$2"} \
	    -addext "subjectAltName=DNS:$1" >/dev/null 2>&1 || bail "openssl req failed"
}
# a serial whose first byte is below 0x10: OpenSSL's hex pads it with a 0
mkcert a.example 0x0ABC123456789DEF
mkcert b.example
mkcert c.example
read -r PORT CLOSED SILENT PLAIN <<EOP
$("$top_builddir/tests/integration/freeport" 4)
EOP
spawn "$T/s_server.log" openssl s_server -accept "127.0.0.1:$PORT" -naccept 100 -quiet \
    -cert "$T/a.example.pem" -key "$T/a.example.key" \
    -servername b.example -cert2 "$T/b.example.pem" -key2 "$T/b.example.key"
wait_for 10 "$DRV" "127.0.0.1:$PORT" - 1000 || bail "s_server did not start: $(cat "$T/s_server.log")"

"$DRV" "127.0.0.1:$PORT" a.example 5000 "$T/a.example.pem" >"$T/out"
check "the served leaf matches the expected certificate" test $? -eq 0
check "its serial is reported in lower-case hex without leading zeros" \
    grep -q "serial abc123456789def$" "$T/out"
"$DRV" "127.0.0.1:$PORT" a.example 5000 "$T/c.example.pem" >"$T/out"
check "another certificate does not match" test $? -eq 1
"$DRV" "127.0.0.1:$PORT" b.example 5000 "$T/b.example.pem" >"$T/out"
check "SNI selects the server's second certificate" test $? -eq 0
"$DRV" "localhost:$PORT" b.example 5000 "$T/b.example.pem" >"$T/out"
check "a host name is resolved on the loop" test $? -eq 0

"$DRV" "127.0.0.1:$CLOSED" a.example 5000 >"$T/out"
check "a closed port is an error" test $? -eq 2
check "naming the address and the reason" grep -q "verify 127.0.0.1:$CLOSED: Connection refused" "$T/out"

# a listener that accepts and never answers the ClientHello
spawn "$T/silent.log" socat "TCP-LISTEN:$SILENT,bind=127.0.0.1,reuseaddr,fork" SYSTEM:"sleep 30"
wait_for 10 sh -c "echo | socat - TCP:127.0.0.1:$SILENT,connect-timeout=1 >/dev/null 2>&1 || ss -ltn | grep -q :$SILENT"
"$DRV" "127.0.0.1:$SILENT" a.example 500 >"$T/out"
check "a server that never completes the handshake times out" grep -q "no TLS handshake in time" "$T/out"

# a listener that answers in cleartext HTTP, and stays a moment: a close
# right after the answer could reach the client first (a reset or an EOF,
# not the handshake error this check is about)
spawn "$T/plain.log" socat "TCP-LISTEN:$PLAIN,bind=127.0.0.1,reuseaddr,fork" SYSTEM:"printf 'HTTP/1.0 400 Bad Request\\r\\n\\r\\n'; sleep 2"
wait_for 10 sh -c "ss -ltn | grep -q :$PLAIN"
"$DRV" "127.0.0.1:$PLAIN" a.example 5000 >"$T/out"
check "a server that does not speak TLS is a handshake error" grep -q "verify 127.0.0.1:$PLAIN: TLS handshake failed: " "$T/out"

"$DRV" "nonsense" a.example 500 >"$T/out"
check "a malformed address is refused" grep -q "expected host:port" "$T/out"
done_testing
