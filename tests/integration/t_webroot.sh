#!/bin/bash
# webroot mode: a real nginx owns the http-01 port and serves the tokens
# renewd writes under its root; Pebble validates through nginx.
. "$(dirname "$0")/lib.sh"

command -v nginx >/dev/null || PATH=$PATH:/usr/sbin
command -v nginx >/dev/null || bail "nginx is not installed (apt-get install nginx)"
pebble_start

mkdir -p "$T/www" "$T/nginx"
chmod 755 "$T/www" "$T/nginx"
cat >"$T/nginx/nginx.conf" <<EON
daemon off;
master_process off;
pid $T/nginx/nginx.pid;
error_log $T/nginx-error.log info;
events { worker_connections 64; }
http {
	access_log $T/nginx-access.log;
	client_body_temp_path $T/nginx/body;
	proxy_temp_path $T/nginx/proxy;
	fastcgi_temp_path $T/nginx/fastcgi;
	uwsgi_temp_path $T/nginx/uwsgi;
	scgi_temp_path $T/nginx/scgi;
	server {
		listen 127.0.0.1:$HTTP01_PORT;
		root $T/www;
		location /.well-known/acme-challenge/ { default_type text/plain; }
	}
}
EON
spawn "$T/nginx.log" nginx -c "$T/nginx/nginx.conf" -p "$T/nginx"
wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$HTTP01_PORT/" || bail "nginx did not start"

cat >"$T/renewd.yaml" <<EOY
state_dir: $T/state
http01:
  webroot: $T/www
cas:
  - name: pebble
    directory: $PEBBLE_DIR
    ca_bundle: $PEBBLE_CA
certificates:
  - name: web
    domains: [web.example, www.web.example]
EOY

"$RENEWD" -c "$T/renewd.yaml" --once >"$T/renewd.log" 2>&1
check "renewd --once in webroot mode obtains the certificate (exit 0)" test $? -eq 0
check "web: chain verifies, key matches" verify_cert web
check "nginx served the tokens to Pebble's validator" \
    grep -q "GET /.well-known/acme-challenge/[A-Za-z0-9_-]* HTTP/1.1\" 200" "$T/nginx-access.log"
check "the token files were removed afterwards" \
    test -z "$(ls -A "$T/www/.well-known/acme-challenge/" 2>/dev/null)"
check "renewd bound no listener of its own" sh -c "! grep -q 'http-01: listening' '$T/renewd.log'"

# the web server's owner can write in the webroot: a .well-known symlink of
# theirs must not make renewd write where it points
mkdir -m 777 "$T/evil"
chmod 777 "$T/evil"
rm -rf "$T/www/.well-known"
ln -s "$T/evil" "$T/www/.well-known"
sed 's/name: web$/name: web2/; s/\[web.example, www.web.example\]/[web2.example]/' \
    "$T/renewd.yaml" >"$T/renewd2.yaml"
"$RENEWD" -c "$T/renewd2.yaml" --once >"$T/renewd2.log" 2>&1
check "a .well-known symlink: --once fails" test $? -ne 0
check "a .well-known symlink: the error names it" \
    grep -q "$T/www/.well-known is a symbolic link: refusing" "$T/renewd2.log"
check "a .well-known symlink: nothing written through it" test -z "$(ls -A "$T/evil")"
check "a .well-known symlink: web2 was not obtained" test ! -e "$T/state/certs/web2/live"

done_testing
