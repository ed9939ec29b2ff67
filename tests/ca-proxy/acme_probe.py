#!/usr/bin/python3
"""acme_probe.py - a minimal ACME client (RFC 8555) for the CA proxy's tests.

Not a product: it exists so the tests of the fault-injecting test double
(fake_ca_proxy.py) can send what renewd does not send yet (a renewalInfo
GET per RFC 9773, "replaces" and "profile" in newOrder) and fetch a
certificate URL again on command. Written from RFC 8555 section 7.

Every command prints one JSON object on stdout and exits 0 when the CA
answered as the command expects, 1 otherwise (the object then carries the
HTTP status and the problem document).

  acme_probe.py --dir URL --cafile PEM --key FILE issue --domains a,b \
      --http01-port P [--profile NAME] [--replaces CERTID] [--out PEM]
  acme_probe.py ... order --domains a,b [--profile NAME] [--replaces CERTID]
  acme_probe.py ... fetch URL --out FILE        (POST-as-GET, body saved as is)
  acme_probe.py ... ari --cert PEM              (GET renewalInfo/<certID>)
  acme_probe.py certid --cert PEM               (prints the RFC 9773 certID)
  acme_probe.py ... lookup                      (the account of --key, if any:
                                                 onlyReturnExisting, then POST-as-GET)

Standard library plus python3-cryptography; run with /usr/bin/python3.
"""

import argparse
import base64
import http.server
import json
import os
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.x509.oid import NameOID

TIMEOUT = 20


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def serial_der(serial):
    """The contents octets of the DER INTEGER for a positive serial."""
    return serial.to_bytes(serial.bit_length() // 8 + 1, "big")


def cert_id(cert):
    """RFC 9773 section 4.1: base64url(AKI keyIdentifier) "." base64url(serial)."""
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    return b64u(aki.value.key_identifier) + "." + b64u(serial_der(cert.serial_number))


class Failed(Exception):
    """The CA did not answer as expected; carries what it said."""

    def __init__(self, what, status=None, problem=None, headers=None):
        super().__init__(what)
        self.result = {"error": what, "status": status, "problem": problem,
                       "headers": headers or {}}


class Client:
    def __init__(self, directory, cafile, keyfile):
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.dir_url = directory
        self.key = self._load_key(keyfile) if keyfile else None
        self.kid = None
        self.nonce = None
        self.directory = None

    @staticmethod
    def _load_key(path):
        if os.path.exists(path):
            with open(path, "rb") as f:
                return serialization.load_pem_private_key(f.read(), None)
        key = ec.generate_private_key(ec.SECP256R1())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        return key

    def http(self, method, url, body=None, ctype=None):
        """One request; returns (status, headers dict with lower-case names, body bytes)."""
        req = urllib.request.Request(url, data=body, method=method)
        if ctype:
            req.add_header("Content-Type", ctype)
        req.add_header("User-Agent", "acme_probe (renewd tests)")
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=TIMEOUT) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def get_directory(self):
        status, _, body = self.http("GET", self.dir_url)
        if status != 200:
            raise Failed("directory: HTTP %d" % status, status)
        self.directory = json.loads(body)
        return self.directory

    def jwk(self):
        nums = self.key.public_key().public_numbers()
        return {"kty": "EC", "crv": "P-256",
                "x": b64u(nums.x.to_bytes(32, "big")), "y": b64u(nums.y.to_bytes(32, "big"))}

    def thumbprint(self):
        j = self.jwk()
        canon = json.dumps({"crv": j["crv"], "kty": j["kty"], "x": j["x"], "y": j["y"]},
                           separators=(",", ":"), sort_keys=True)
        digest = hashes.Hash(hashes.SHA256())
        digest.update(canon.encode())
        return b64u(digest.finalize())

    def new_nonce(self):
        status, headers, _ = self.http("HEAD", self.directory["newNonce"])
        if "replay-nonce" not in headers:
            raise Failed("newNonce: no Replay-Nonce (HTTP %d)" % status, status)
        return headers["replay-nonce"]

    def post(self, url, payload, use_jwk=False, tries=5):
        """A JWS POST (payload None = POST-as-GET); retries badNonce (RFC 8555 6.5)."""
        for _ in range(tries):
            if self.nonce is None:
                self.nonce = self.new_nonce()
            protected = {"alg": "ES256", "nonce": self.nonce, "url": url}
            if use_jwk:
                protected["jwk"] = self.jwk()
            else:
                protected["kid"] = self.kid
            self.nonce = None
            p64 = b64u(json.dumps(protected).encode())
            y64 = "" if payload is None else b64u(json.dumps(payload).encode())
            der = self.key.sign((p64 + "." + y64).encode(), ec.ECDSA(hashes.SHA256()))
            r, s = utils.decode_dss_signature(der)
            sig = b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
            body = json.dumps({"protected": p64, "payload": y64, "signature": sig}).encode()
            status, headers, data = self.http("POST", url, body, "application/jose+json")
            self.nonce = headers.get("replay-nonce")
            if status == 400 and b"badNonce" in data:
                continue
            return status, headers, data
        return status, headers, data

    def account(self):
        status, headers, data = self.post(
            self.directory["newAccount"],
            {"termsOfServiceAgreed": True, "contact": ["mailto:probe@example.com"]},
            use_jwk=True)
        if status not in (200, 201):
            raise fail("newAccount", status, headers, data)
        self.kid = headers["location"]
        return self.kid

    def new_order(self, domains, profile=None, replaces=None):
        payload = {"identifiers": [{"type": "dns", "value": d} for d in domains]}
        if profile is not None:
            payload["profile"] = profile
        if replaces is not None:
            payload["replaces"] = replaces
        status, headers, data = self.post(self.directory["newOrder"], payload)
        if status != 201:
            raise fail("newOrder", status, headers, data)
        return headers.get("location"), json.loads(data), headers

    def poll(self, url, done, what):
        deadline = time.time() + TIMEOUT
        while True:
            status, headers, data = self.post(url, None)
            if status != 200:
                raise fail(what, status, headers, data)
            obj = json.loads(data)
            if obj.get("status") in done:
                return obj
            if obj.get("status") == "invalid" or time.time() > deadline:
                raise Failed("%s: status %s" % (what, obj.get("status")), status, obj)
            time.sleep(0.05)


def fail(what, status, headers, data):
    try:
        problem = json.loads(data)
    except ValueError:
        problem = {"raw": data[:200].decode("latin-1")}
    return Failed("%s: HTTP %d" % (what, status), status, problem, headers)


class Http01(http.server.ThreadingHTTPServer):
    """Answers http-01 challenges on 127.0.0.1 (RFC 8555 section 8.3)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port):
        self.tokens = {}
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                prefix = "/.well-known/acme-challenge/"
                ka = outer.tokens.get(self.path[len(prefix):]) \
                    if self.path.startswith(prefix) else None
                self.send_response(200 if ka else 404)
                body = (ka or "").encode()
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", port), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def issue(c, args):
    domains = args.domains.split(",")
    c.account()
    order_url, order, headers = c.new_order(domains, args.profile, args.replaces)
    result = {"order": order_url, "newOrder": order, "account": c.kid}
    try:
        return finish_order(c, args, domains, order_url, order, result)
    except Failed as e:
        e.result.update(order=order_url, newOrder=order, account=c.kid)
        raise


def lookup(c):
    """RFC 8555 7.3.1 onlyReturnExisting: which account has this key? Then its object."""
    status, headers, data = c.post(c.directory["newAccount"], {"onlyReturnExisting": True},
                                   use_jwk=True)
    if status != 200:
        raise fail("newAccount onlyReturnExisting", status, headers, data)
    c.kid = headers["location"]
    status, headers, data = c.post(c.kid, None)
    if status != 200:
        raise fail("account", status, headers, data)
    return {"account": c.kid, "object": json.loads(data)}


def finish_order(c, args, domains, order_url, order, result):
    srv = Http01(args.http01_port)
    try:
        for authz_url in order["authorizations"]:
            status, h, data = c.post(authz_url, None)
            if status != 200:
                raise fail("authz", status, h, data)
            authz = json.loads(data)
            if authz["status"] == "valid":
                continue
            chall = next(ch for ch in authz["challenges"] if ch["type"] == "http-01")
            srv.tokens[chall["token"]] = chall["token"] + "." + c.thumbprint()
            status, h, data = c.post(chall["url"], {})
            if status != 200:
                raise fail("challenge", status, h, data)
            c.poll(authz_url, ("valid",), "authz")
    finally:
        srv.shutdown()
        srv.server_close()
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domains[0])]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in domains]), False)
           .sign(key, hashes.SHA256()))
    status, h, data = c.post(order["finalize"],
                             {"csr": b64u(csr.public_bytes(serialization.Encoding.DER))})
    if status != 200:
        raise fail("finalize", status, h, data)
    order = c.poll(order_url, ("valid",), "order")
    result["order_final"] = order
    status, h, data = c.post(order["certificate"], None)
    if status != 200:
        raise fail("certificate", status, h, data)
    leaf = x509.load_pem_x509_certificate(data)
    result["certificate"] = order["certificate"]
    result["certID"] = cert_id(leaf)
    if args.out:
        with open(args.out, "wb") as f:
            f.write(data)
        with open(args.out + ".key", "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", help="ACME directory URL")
    ap.add_argument("--cafile", help="trust anchor for the CA's HTTPS")
    ap.add_argument("--key", help="account key (P-256 PEM), created if missing")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("issue")
    p.add_argument("--domains", required=True)
    p.add_argument("--http01-port", type=int, required=True)
    p.add_argument("--profile")
    p.add_argument("--replaces")
    p.add_argument("--out")
    p = sub.add_parser("order")
    p.add_argument("--domains", required=True)
    p.add_argument("--profile")
    p.add_argument("--replaces")
    p = sub.add_parser("fetch")
    p.add_argument("url")
    p.add_argument("--out", required=True)
    p = sub.add_parser("ari")
    p.add_argument("--cert", required=True)
    p = sub.add_parser("certid")
    p.add_argument("--cert", required=True)
    sub.add_parser("lookup")
    args = ap.parse_args()

    rc = 0
    try:
        if args.cmd == "certid":
            with open(args.cert, "rb") as f:
                result = {"certID": cert_id(x509.load_pem_x509_certificate(f.read()))}
        else:
            c = Client(args.dir, args.cafile, args.key)
            c.get_directory()
            if args.cmd == "issue":
                result = issue(c, args)
            elif args.cmd == "order":
                c.account()
                url, order, headers = c.new_order(args.domains.split(","),
                                                  args.profile, args.replaces)
                result = {"order": url, "newOrder": order, "account": c.kid}
            elif args.cmd == "fetch":
                c.account()
                status, headers, data = c.post(args.url, None)
                with open(args.out, "wb") as f:
                    f.write(data)
                result = {"status": status, "bytes": len(data), "headers": headers}
                rc = 0 if status == 200 else 1
            elif args.cmd == "lookup":
                result = lookup(c)
            elif args.cmd == "ari":
                if "renewalInfo" not in c.directory:
                    raise Failed("directory has no renewalInfo")
                with open(args.cert, "rb") as f:
                    cid = cert_id(x509.load_pem_x509_certificate(f.read()))
                status, headers, data = c.http("GET", c.directory["renewalInfo"] + "/" + cid)
                if status != 200:
                    raise fail("renewalInfo", status, headers, data)
                result = {"certID": cid, "renewalInfo": json.loads(data),
                          "retryAfter": headers.get("retry-after")}
    except Failed as e:
        result, rc = e.result, 1
    except (OSError, ValueError, KeyError) as e:
        # A dropped connection, a timeout, an answer that is not ACME.
        result, rc = {"error": "%s: %s" % (type(e).__name__, e)}, 1
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
