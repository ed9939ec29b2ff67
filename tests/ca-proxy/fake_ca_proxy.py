#!/usr/bin/python3
"""fake_ca_proxy.py - a fault-injecting ACME CA test double in front of Pebble.

A test double, not a CA: an HTTPS reverse proxy between an ACME client and a
real Pebble. It forwards every request with the client's Host header, so
Pebble builds every URL (directory, orders, authorizations, Location) on the
proxy's origin and checks each JWS "url" against it: the client sees one
consistent CA. On top of Pebble 2.4 it adds what that release lacks:

  - renewalInfo (RFC 9773): GET <renewalInfo>/<certID> for certificates
    downloaded through the proxy; windows set per certificate on command;
  - "replaces" in newOrder (RFC 9773 section 5), checked and echoed;
  - profiles (draft-ietf-acme-profiles): meta.profiles in the directory,
    "profile" in newOrder checked (invalidProfile) and echoed in orders;

and faults on command (rate limits, 503, 500, badNonce, dropped and hung
connections, delays, a moved directory, http:// URLs, hostile certificate
chains, oversize bodies), scoped to an endpoint, an identifier, an account
and a number of requests. Every request is logged with the fault applied.

The control API is plain HTTP + JSON on its own loopback port; see
tests/ca-proxy/README.md. Standard library plus python3-cryptography; run
it with Debian's /usr/bin/python3.
"""

import argparse
import base64
import datetime
import http.client
import http.server
import json
import os
import re
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ERR = "urn:ietf:params:acme:error:"
RI_PATH = "/renewal-info"          # our renewalInfo resource (Pebble 2.4 has none)
UPSTREAM_TIMEOUT = 30
MAX_REQUEST = 1 << 20              # a JWS bigger than this is not ACME

ENDPOINTS = {"directory", "newNonce", "newAccount", "newOrder", "revokeCert",
             "keyChange", "renewalInfo", "account", "orders", "order", "authz",
             "challenge", "finalize", "certificate", "unknown"}

DEFAULT_PROFILES = {
    "classic": "Pebble's own certificate (its configured validity period)",
    "shortlived": "recorded and echoed by the test double; Pebble 2.4 issues it like classic",
}

# Fault kinds: when each acts, and what it can apply to. "answer" faults
# replace the CA's answer, "pre" faults act before forwarding, "post"
# faults change the answer Pebble gave.
CERT_FAULTS = ("certExpired", "certNotYetValid", "certOtherNames", "certOtherKey",
               "certSelfSigned", "chainWrongIssuer", "chainGarbage", "chainLong")
FAULT_KINDS = {
    "rateLimited": {"phase": "answer"},
    "unavailable": {"phase": "answer"},
    "serverInternal": {"phase": "answer"},
    "badNonce": {"phase": "answer", "methods": {"POST"}},
    "drop": {"phase": "answer"},             # "when": "after" makes it post
    "delay": {"phase": "pre"},
    "hang": {"phase": "pre"},
    "moveDirectory": {"phase": "post", "endpoints": {"directory"}},
    "httpUrls": {"phase": "post"},
    "oversize": {"phase": "post"},
    # hostile values (issue 10 item 10): what a broken or hostile CA could send
    "hostileToken": {"phase": "post", "endpoints": {"authz"}},
    "authzIdentifier": {"phase": "post", "endpoints": {"authz"}},
    "hostileHeader": {"phase": "post"},
    "retryAfter": {"phase": "post"},
}
for _k in CERT_FAULTS:
    FAULT_KINDS[_k] = {"phase": "post", "endpoints": {"certificate"}}

FAULT_PARAMS = {
    "fault": str, "endpoint": (str, list), "method": str, "identifier": str,
    "identifiers": list, "account": str, "count": int, "skip": int,
    "retryAfter": (int, str), "status": int, "detail": str, "body": str,
    "contentType": str, "ms": int, "then": str, "when": str, "reset": bool,
    "bytes": int, "names": list, "length": int, "where": list,
    "value": str, "header": str,
}


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def rfc3339(t):
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


B64U_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def b64u_strict(s):
    """base64url without padding (RFC 8555 section 6.1); None if it is not."""
    if not isinstance(s, str) or not B64U_RE.match(s) or len(s) % 4 == 1:
        return None
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def serial_der(serial):
    """Contents octets of the DER INTEGER of a positive serial number."""
    return serial.to_bytes(serial.bit_length() // 8 + 1, "big")


def parse_cert_id(cid):
    """RFC 9773 section 4.1 certID -> (keyIdentifier, serial DER bytes) or an error string."""
    if not isinstance(cid, str):
        return "certID is not a string"
    parts = cid.split(".")
    if len(parts) != 2:
        return "certID %r is not two base64url parts joined by \".\"" % cid[:100]
    aki, serial = (b64u_strict(p) for p in parts)
    if not aki:
        return "certID %r: keyIdentifier part is not unpadded base64url" % cid[:100]
    if not serial:
        return "certID %r: serial part is not unpadded base64url" % cid[:100]
    if serial[0] & 0x80:
        return "certID %r: serial is negative" % cid[:100]
    if len(serial) > 1 and serial[0] == 0 and not serial[1] & 0x80:
        return "certID %r: serial is not minimal DER" % cid[:100]
    return aki, serial


def url_path(url):
    return urllib.parse.urlsplit(url).path


def problem(kind, detail, status):
    return {"type": ERR + kind, "detail": detail, "status": status}


class HttpFail(Exception):
    """An error answer the proxy gives itself: status + problem document."""

    def __init__(self, status, kind, detail, headers=None):
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail
        self.headers = headers or []


# ------------------------------------------------------------------ faults

class Fault:
    def __init__(self, fid, spec):
        for k, v in spec.items():
            if k not in FAULT_PARAMS:
                raise ValueError("unknown fault field %r" % k)
            if not isinstance(v, FAULT_PARAMS[k]) or (FAULT_PARAMS[k] is int and isinstance(v, bool)):
                raise ValueError("fault field %r has the wrong type" % k)
        name = spec.get("fault")
        if name not in FAULT_KINDS:
            raise ValueError("unknown fault %r (known: %s)" % (name, ", ".join(sorted(FAULT_KINDS))))
        eps = spec.get("endpoint", "any")
        eps = [eps] if isinstance(eps, str) else eps
        for e in eps:
            if e != "any" and e not in ENDPOINTS:
                raise ValueError("unknown endpoint %r" % e)
        if spec.get("when", "before") not in ("before", "after"):
            raise ValueError("\"when\" is \"before\" or \"after\"")
        if spec.get("then", "drop") not in ("drop", "forward"):
            raise ValueError("\"then\" is \"drop\" or \"forward\"")
        if "count" in spec and spec["count"] < 1:
            raise ValueError("\"count\" must be at least 1")
        self.id = fid
        self.spec = dict(spec)
        self.name = name
        self.endpoints = None if "any" in eps else set(eps)
        self.remaining = spec.get("count")
        self.skip = spec.get("skip", 0)
        self.hits = 0
        self.phase = FAULT_KINDS[name]["phase"]
        if name == "drop" and spec.get("when") == "after":
            self.phase = "post"

    def get(self, key, default=None):
        return self.spec.get(key, default)

    def scope_matches(self, req):
        kind = FAULT_KINDS[self.name]
        if "endpoints" in kind and req.endpoint not in kind["endpoints"]:
            return False
        if "methods" in kind and req.method not in kind["methods"]:
            return False
        if self.endpoints is not None and req.endpoint not in self.endpoints:
            return False
        if "method" in self.spec and req.method != self.spec["method"].upper():
            return False
        if "identifier" in self.spec and self.spec["identifier"] not in req.identifiers:
            return False
        if "identifiers" in self.spec and set(self.spec["identifiers"]) != set(req.identifiers):
            return False
        if "account" in self.spec:
            acct = self.spec["account"]
            if not req.kid or not (req.kid == acct or req.kid.endswith("/" + acct)):
                return False
        return True

    def describe(self):
        d = dict(self.spec)
        d.update({"id": self.id, "hits": self.hits, "remaining": self.remaining,
                  "skipLeft": self.skip})
        return d


# ------------------------------------------------------------------ state

class CertRecord:
    def __init__(self, leaf, chain_pem, kid, order):
        aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
        self.aki = aki.value.key_identifier
        self.serial = serial_der(leaf.serial_number)
        self.cert_id = b64u(self.aki) + "." + b64u(self.serial)
        try:
            san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            self.names = [str(v) for v in san.value.get_values_for_type(x509.DNSName)]
            self.names += [str(v) for v in san.value.get_values_for_type(x509.IPAddress)]
        except x509.ExtensionNotFound:
            self.names = []
        self.not_before = leaf.not_valid_before.replace(tzinfo=datetime.timezone.utc)
        self.not_after = leaf.not_valid_after.replace(tzinfo=datetime.timezone.utc)
        self.kid = kid
        self.order = order
        self.chain_pem = chain_pem
        self.replaced_by = None        # order path, or "pending" while newOrder is in flight
        self.ari = None                # override set through the control API
        self.recorded = time.time()

    def default_window(self):
        # Centred two thirds into the lifetime like newer Pebble; +-1 day,
        # narrower for short lifetimes so the window stays inside it.
        life = self.not_after - self.not_before
        centre = self.not_before + life * 2 / 3
        half = min(datetime.timedelta(days=1), life / 12)
        return centre - half, centre + half

    def describe(self, state):
        start, end = self.default_window()
        return {"certID": self.cert_id, "names": self.names,
                "serial": self.serial.hex(), "notBefore": rfc3339(self.not_before),
                "notAfter": rfc3339(self.not_after), "account": self.kid,
                "order": self.order, "replacedBy": self.replaced_by,
                "replaced": state.is_replaced(self),
                "defaultWindow": {"start": rfc3339(start), "end": rfc3339(end)},
                "ari": self.ari_json()}

    def ari_json(self):
        if not self.ari:
            return None
        d = dict(self.ari)
        d["start"], d["end"] = rfc3339(d["start"]), rfc3339(d["end"])
        return d


class State:
    """Everything the listeners share; one lock, held briefly."""

    def __init__(self, profiles, ari_retry_after):
        self.lock = threading.Lock()
        self.seq = 0
        self.log = []
        self.faults = []
        self.fault_seq = 0
        self.release = threading.Event()
        self.urls = {}          # path -> (endpoint, order path or None, identifiers)
        self.orders = {}        # order path -> dict
        self.certs = {}         # (aki, serial) -> CertRecord
        self.nonces = set()     # every nonce a client has sent through us
        self.profiles = profiles
        self.ari_retry_after = ari_retry_after

    # -- classification
    def learn(self, url, endpoint, order=None, identifiers=None):
        if not isinstance(url, str):
            return
        with self.lock:
            self.urls[url_path(url)] = (endpoint, order, list(identifiers or []))

    def classify(self, path):
        with self.lock:
            return self.urls.get(path)

    # -- faults
    def add_fault(self, spec):
        with self.lock:
            self.fault_seq += 1
            f = Fault(self.fault_seq, spec)
            self.faults.append(f)
            return f.id

    def take_faults(self, req):
        """The faults that apply to this request, counts consumed."""
        out = []
        with self.lock:
            for f in self.faults:
                if f.remaining == 0 or not f.scope_matches(req):
                    continue
                if f.skip > 0:
                    f.skip -= 1
                    continue
                if f.remaining is not None:
                    f.remaining -= 1
                f.hits += 1
                out.append(f)
        return out

    def clear_faults(self, fid=None):
        with self.lock:
            before = len(self.faults)
            self.faults = [f for f in self.faults if fid is not None and f.id != fid]
            removed = before - len(self.faults)
        self.release_hangs()
        return removed

    def release_hangs(self):
        old, self.release = self.release, threading.Event()
        old.set()

    # -- log
    def log_start(self, entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.log.append(entry)
        return entry

    def log_query(self, query):
        with self.lock:
            entries = [dict(e) for e in self.log]
        for key, want in query.items():
            if key == "since":
                entries = [e for e in entries if e["seq"] > int(want)]
                continue
            key = {"fault": "faults", "identifier": "identifiers"}.get(key, key)
            out = []
            for e in entries:
                have = e.get(key)
                if isinstance(have, list):
                    ok = want in have
                elif isinstance(have, bool):
                    ok = str(have).lower() == want.lower()
                else:
                    ok = have is not None and str(have) == want
                if ok:
                    out.append(e)
            entries = out
        return entries

    # -- certificates, orders
    def find_cert(self, ref):
        """By certID, or the newest certificate naming ref."""
        with self.lock:
            parsed = parse_cert_id(ref) if "." in ref else None
            if isinstance(parsed, tuple) and parsed in self.certs:
                return self.certs[parsed]
            named = [c for c in self.certs.values() if ref in c.names]
            return max(named, key=lambda c: c.recorded) if named else None

    def is_replaced(self, rec):
        """RFC 9773 section 5: marked replaced by an order that is not "invalid"."""
        if rec.replaced_by is None:
            return False
        if rec.replaced_by == "pending":
            return True
        order = self.orders.get(rec.replaced_by)
        return order is None or order.get("status") != "invalid"


# ------------------------------------------------------------------ hostile certificates

class Forge:
    """Builds the hostile chains, signed by Pebble's own intermediate when it
    can get its key (management API /intermediate-keys/0), so that the only
    thing wrong with a chain is the defect it was asked for."""

    def __init__(self, mgmt, ctx):
        self.key = self.cert = None
        if not mgmt:
            return
        try:
            key_pem = fetch(mgmt + "/intermediate-keys/0", ctx)
            cert_pem = fetch(mgmt + "/intermediates/0", ctx)
            self.key = serialization.load_pem_private_key(key_pem, None)
            self.cert = x509.load_pem_x509_certificate(cert_pem)
        except (OSError, ValueError) as e:
            print("fake_ca_proxy: no intermediate key from %s (%s); hostile certificates "
                  "will be signed by a throwaway CA" % (mgmt, e), file=sys.stderr)
            self.key = self.cert = None

    @staticmethod
    def pem_certs(data):
        blocks = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\s*",
                            data, re.S)
        return [x509.load_pem_x509_certificate(b) for b in blocks], blocks

    @staticmethod
    def pem(cert):
        return cert.public_bytes(serialization.Encoding.PEM)

    def signer(self, chain):
        """(key, cert) of the issuer to sign with, and the chain to send after the leaf."""
        if self.key is not None and len(chain) > 1 and \
                chain[1].public_key().public_numbers() == self.cert.public_key().public_numbers():
            return self.key, self.cert, "pebble-intermediate"
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake_ca_proxy throwaway CA")])
        cert = self.build(name, name, key.public_key(), key, None, True)
        return key, cert, "throwaway"

    @staticmethod
    def build(subject, issuer, pub, sign_key, names, is_ca, nb=None, na=None, ski=None):
        t = now()
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
             .public_key(pub).serial_number(x509.random_serial_number())
             .not_valid_before(nb or t - datetime.timedelta(hours=1))
             .not_valid_after(na or t + datetime.timedelta(days=90))
             .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
             .add_extension(x509.SubjectKeyIdentifier(ski) if ski else
                            x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 sign_key.public_key()), critical=False))
        if names:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                                critical=False)
        if not is_ca:
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                critical=False)
        return b.sign(sign_key, hashes.SHA256())

    def long_chain(self, leaf_pem, length):
        """The real leaf, then length - 1 small CA certificates, each issued by
        the next (the last self-signed): a chain that links by name and key
        identifier, long but well under 1 MiB (about 0.5 KiB each)."""
        keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(length - 1)]
        names = [x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "long chain %d" % i)])
                 for i in range(length - 1)]
        out = [leaf_pem]
        for i in range(length - 1):
            up = min(i + 1, length - 2)
            out.append(self.pem(self.build(names[i], names[up], keys[i].public_key(),
                                           keys[up], None, True)))
        return b"".join(out), "%d certificates: the real leaf, then a chain of " \
            "throwaway CAs" % length

    def chain(self, f, body):
        """The hostile body for fault f, given the real chain Pebble issued."""
        certs, blocks = self.pem_certs(body)
        if not certs:
            return body, "no certificate in the answer"
        leaf = certs[0]
        try:
            names = [str(n) for n in leaf.extensions.get_extension_for_class(
                x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)]
        except x509.ExtensionNotFound:
            names = []
        kind = f.name
        t = now()
        if kind == "chainGarbage":
            junk = base64.encodebytes(os.urandom(600))
            return blocks[0] + b"-----BEGIN CERTIFICATE-----\n" + junk + \
                b"-----END CERTIFICATE-----\n", "leaf + one PEM block of random bytes"
        if kind == "chainLong":
            return self.long_chain(blocks[0], f.get("length", 1000))
        if kind == "chainWrongIssuer":
            # Same subject and key identifier as the real issuer, another key.
            real = certs[1] if len(certs) > 1 else leaf
            key = ec.generate_private_key(ec.SECP256R1())
            try:
                ski = real.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
            except x509.ExtensionNotFound:
                ski = None
            fake = self.build(real.subject, real.issuer, key.public_key(), key, None, True, ski=ski)
            return blocks[0] + self.pem(fake), "real leaf + an issuer of the same name that did not sign it"
        if kind == "certSelfSigned":
            key = ec.generate_private_key(ec.SECP256R1())
            subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (names or ["self"])[0])])
            return self.pem(self.build(subj, subj, key.public_key(), key, names, False)), \
                "a self-signed leaf for the same names (another key), no chain"
        key, issuer, who = self.signer(certs)
        pub, nb, na, sans = leaf.public_key(), None, None, names
        if kind == "certExpired":
            nb, na = t - datetime.timedelta(days=30), t - datetime.timedelta(days=1)
        elif kind == "certNotYetValid":
            nb, na = t + datetime.timedelta(days=30), t + datetime.timedelta(days=120)
        elif kind == "certOtherNames":
            sans = f.get("names") or ["other-name.invalid"]
        elif kind == "certOtherKey":
            pub = ec.generate_private_key(ec.SECP256R1()).public_key()
        subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (sans or ["leaf"])[0])])
        forged = self.build(subj, issuer.subject, pub, key, sans, False, nb, na)
        rest = b"".join(blocks[1:]) if who == "pebble-intermediate" else self.pem(issuer)
        return self.pem(forged) + rest, "%s, signed by %s" % (kind, who)


def https(host, port, ctx, method, path, headers=None, body=None):
    """One request on a fresh connection: (status, [(header, value)], body)."""
    conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=UPSTREAM_TIMEOUT)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        conn.close()


def fetch(url, ctx):
    """GET url; its body, or OSError unless 200."""
    u = urllib.parse.urlsplit(url)
    status, _, data = https(u.hostname, u.port or 443, ctx, "GET", u.path)
    if status != 200:
        raise OSError("%s: HTTP %d" % (url, status))
    return data


# ------------------------------------------------------------------ the ACME side

class Req:
    """One request from the client, as the proxy understands it."""

    def __init__(self, handler, body):
        self.method = handler.command
        self.path = urllib.parse.urlsplit(handler.path).path
        self.raw_path = handler.path
        self.host = handler.headers.get("Host") or "%s:%d" % handler.server.server_address
        self.headers = list(handler.headers.items())
        self.body = body
        self.kid = self.nonce = self.jws_url = None
        self.protected = self.payload = None
        self.identifiers = []
        self.order = None
        if self.method == "POST":
            self._parse_jws()

    def _parse_jws(self):
        try:
            jws = json.loads(self.body)
            self.protected = json.loads(b64u_strict(jws["protected"]) or b"null")
            if jws.get("payload"):
                self.payload = json.loads(b64u_strict(jws["payload"]) or b"null")
        except (ValueError, KeyError, TypeError):
            return
        if isinstance(self.protected, dict):
            self.kid = self.protected.get("kid")
            self.nonce = self.protected.get("nonce")
            self.jws_url = self.protected.get("url")

    def payload_summary(self):
        if not isinstance(self.payload, dict):
            return None
        out = {}
        for k, v in self.payload.items():
            out[k] = ("<%d chars>" % len(v)) if k == "csr" and isinstance(v, str) else v
        return out


HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade",
       "proxy-connection", "content-length", "accept-encoding", "trailer"}


class AcmeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120
    server_version = "fake_ca_proxy"

    # -- connection: TLS, or a cleartext request that is logged and refused
    def setup(self):
        sock = self.request
        sock.settimeout(10)
        try:
            first = sock.recv(1, socket.MSG_PEEK)
        except OSError:
            first = b""
        self.scheme = "https" if first == b"\x16" else "http"
        if self.scheme == "https":
            self.request = self.server.tls.wrap_socket(sock, server_side=True)
        super().setup()

    def finish(self):
        try:
            super().finish()
        finally:
            try:
                self.connection.close()
            except OSError:
                pass

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.serve()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    # -- writing answers
    def reply(self, status, headers, body, entry):
        self.send_response_only(status)
        have = {k.lower() for k, _ in headers}
        for k, v in headers:
            self.send_header(k, v)
        if "date" not in have:
            self.send_header("Date", self.date_time_string())
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        entry["status"] = status
        entry["bytes"] = len(body)
        for k, v in headers:
            if k.lower() == "replay-nonce":
                entry["replayNonce"] = v
            if k.lower() == "retry-after":
                entry["retryAfter"] = v

    def reply_problem(self, req, entry, status, kind, detail, extra=None, fault=None):
        headers = [("Content-Type", "application/problem+json"),
                   ("Cache-Control", "no-store")]
        headers += extra or []
        if req is not None and req.method == "POST":
            nonce = self.server.proxy.fresh_nonce(req.host)
            if nonce:
                headers.append(("Replay-Nonce", nonce))
        if fault is not None and "body" in fault.spec:
            headers[0] = ("Content-Type", fault.get("contentType", "text/html"))
            body = fault.get("body").encode()
        else:
            body = json.dumps(problem(kind, detail, status), indent=2).encode()
        self.reply(status, headers, body, entry)

    def drop(self, entry, reset=False):
        """Close the connection without a word."""
        self.close_connection = True
        entry["dropped"] = True
        if reset:
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            except OSError:
                pass

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "").lower()
        if "chunked" in te:
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
                if len(out) > MAX_REQUEST:
                    raise HttpFail(413, "malformed", "request body too large")
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_REQUEST:
            raise HttpFail(413, "malformed", "request body too large")
        return self.rfile.read(n) if n > 0 else b""

    # -- one request
    def serve(self):
        proxy = self.server.proxy
        state = proxy.state
        t0 = time.time()
        entry = {"time": t0, "iso": rfc3339(now()), "listener": self.server.name,
                 "scheme": self.scheme, "method": self.command, "path": self.path,
                 "host": self.headers.get("Host"), "endpoint": None, "identifiers": [],
                 "account": None, "nonce": None, "jwsUrl": None, "payload": None, "faults": [],
                 "faultIds": [], "status": None, "dropped": False, "bytes": 0,
                 "retryAfter": None, "replayNonce": None, "ms": None, "note": None}
        state.log_start(entry)
        try:
            try:
                body = self.read_body()
            except HttpFail as e:
                self.close_connection = True
                self.reply_problem(None, entry, e.status, e.kind, e.detail)
                return
            req = Req(self, body)
            proxy.describe(req)
            entry.update({"endpoint": req.endpoint, "identifiers": req.identifiers,
                          "account": req.kid, "nonce": req.nonce, "jwsUrl": req.jws_url,
                          "payload": req.payload_summary()})
            if self.scheme != "https":
                self.close_connection = True
                entry["note"] = "cleartext request refused"
                self.reply_problem(None, entry, 403, "unauthorized",
                                   "fake_ca_proxy: ACME is HTTPS only (RFC 8555 section 6.1); "
                                   "this cleartext request was logged and refused")
                return
            self.serve_acme(req, entry)
        except (ConnectionError, ssl.SSLError, socket.timeout) as e:
            self.close_connection = True
            entry["note"] = "client connection: %s" % e
        finally:
            entry["ms"] = int((time.time() - t0) * 1000)

    def serve_acme(self, req, entry):
        proxy = self.server.proxy
        state = proxy.state
        if req.nonce is not None:
            with state.lock:
                replayed = req.nonce in state.nonces
                state.nonces.add(req.nonce)
            if replayed:
                entry["note"] = "nonce replayed"
                self.reply_problem(req, entry, 400, "badNonce",
                                   "fake_ca_proxy: nonce %s was already used" % req.nonce)
                return
        faults = state.take_faults(req)
        entry["faults"] = [f.name for f in faults]
        entry["faultIds"] = [f.id for f in faults]
        post = []
        for f in faults:
            if f.phase == "post":
                post.append(f)
            elif f.name == "delay":
                time.sleep(f.get("ms", 1000) / 1000.0)
            elif f.name == "hang":
                released = state.release.wait(f.get("ms", 600000) / 1000.0)
                entry["note"] = "hang released" if released else "hang timed out"
                if f.get("then", "drop") == "drop":
                    self.drop(entry, f.get("reset", False))
                    return
            elif f.name == "drop":
                self.drop(entry, f.get("reset", False))
                return
            else:
                self.answer_fault(req, entry, f)
                return
        try:
            if req.endpoint == "renewalInfo":
                status, headers, body = proxy.renewal_info(req)
            else:
                reservation = proxy.check_new_order(req) if req.endpoint == "newOrder" else None
                try:
                    status, headers, body = proxy.forward(req)
                except OSError as e:
                    proxy.unreserve(reservation, None)
                    raise HttpFail(502, "serverInternal", "fake_ca_proxy: upstream: %s" % e)
                status, headers, body = proxy.after(req, entry, status, headers, body,
                                                    reservation)
        except HttpFail as e:
            self.reply_problem(req, entry, e.status, e.kind, e.detail, e.headers)
            return
        for f in post:
            if f.name == "drop":
                self.drop(entry, f.get("reset", False))
                return
            status, headers, body, note = proxy.spoil(req, f, status, headers, body)
            if note:
                entry["note"] = note
        self.reply(status, headers, body, entry)

    def answer_fault(self, req, entry, f):
        extra = []
        if f.name in ("rateLimited", "unavailable"):
            extra.append(("Retry-After", str(f.get("retryAfter", 60 if f.name == "rateLimited" else 30))))
        if f.name == "rateLimited":
            status, kind = f.get("status", 429), "rateLimited"
            detail = "fake_ca_proxy: rate limit for %s" % (
                ", ".join(req.identifiers) or req.kid or req.endpoint)
        elif f.name == "unavailable":
            status, kind, detail = f.get("status", 503), "serverInternal", \
                "fake_ca_proxy: service unavailable, retry later"
        elif f.name == "serverInternal":
            status, kind, detail = f.get("status", 500), "serverInternal", \
                "fake_ca_proxy: internal error"
        else:
            status, kind, detail = f.get("status", 400), "badNonce", \
                "fake_ca_proxy: JWS has an invalid anti-replay nonce"
        self.reply_problem(req, entry, status, kind, f.get("detail", detail), extra, f)


class AcmeServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, addr, name, tls, proxy):
        self.name, self.tls, self.proxy = name, tls, proxy
        super().__init__(addr, AcmeHandler)

    def handle_error(self, request, client_address):
        e = sys.exc_info()[1]
        if not isinstance(e, (ssl.SSLError, ConnectionError, socket.timeout)):
            print("fake_ca_proxy: %s: %r" % (self.name, e), file=sys.stderr)


class Proxy:
    def __init__(self, args):
        up = urllib.parse.urlsplit(args.upstream)
        self.up_host, self.up_port = up.hostname, up.port or 443
        self.dir_path = up.path or "/"
        self.up_ctx = ssl.create_default_context(cafile=args.upstream_ca)
        profiles = DEFAULT_PROFILES if args.profiles is None else json.loads(args.profiles)
        self.state = State(profiles, args.ari_retry_after)
        self.alt_origin = None
        self.state.learn(self.dir_path, "directory")
        self.state.learn(RI_PATH, "renewalInfo")
        self.up_dir = self.upstream_directory()
        for key in ("newNonce", "newAccount", "newOrder", "revokeCert", "keyChange"):
            if key in self.up_dir:
                self.state.learn(self.up_dir[key], key)
        self.forge = Forge(args.upstream_mgmt, self.up_ctx)

    def upstream_directory(self):
        deadline = time.time() + 10
        while True:
            try:
                return json.loads(fetch("https://%s:%d%s" % (self.up_host, self.up_port,
                                                             self.dir_path), self.up_ctx))
            except (OSError, ValueError):
                if time.time() > deadline:
                    raise
                time.sleep(0.1)

    # -- what a request is about
    def describe(self, req):
        if req.path.startswith(RI_PATH + "/") or req.path == RI_PATH:
            req.endpoint = "renewalInfo"
            parsed = parse_cert_id(req.path[len(RI_PATH) + 1:])
            rec = self.state.certs.get(parsed) if isinstance(parsed, tuple) else None
            req.identifiers = list(rec.names) if rec else []
            return
        known = self.state.classify(req.path)
        req.endpoint = known[0] if known else "unknown"
        if known:
            req.order, req.identifiers = known[1], list(known[2])
        if req.endpoint == "newOrder" and isinstance(req.payload, dict):
            ids = req.payload.get("identifiers")
            if isinstance(ids, list):
                req.identifiers = [i.get("value") for i in ids
                                   if isinstance(i, dict) and isinstance(i.get("value"), str)]

    # -- talking to Pebble
    def forward(self, req):
        headers = {k: v for k, v in req.headers if k.lower() not in HOP}
        headers["Host"] = req.host          # Pebble's URLs and JWS url checks follow it
        status, out, body = https(self.up_host, self.up_port, self.up_ctx, req.method,
                                  req.raw_path, headers,
                                  req.body if req.method in ("POST", "PUT", "PATCH") else None)
        return status, [(k, v) for k, v in out if k.lower() not in HOP], body

    def fresh_nonce(self, host):
        """A nonce Pebble will accept, for the answers the proxy gives itself."""
        path = url_path(self.up_dir.get("newNonce", "/nonce-plz"))
        try:
            _, headers, _ = https(self.up_host, self.up_port, self.up_ctx, "HEAD", path,
                                  {"Host": host})
        except OSError:
            return None
        return next((v for k, v in headers if k.lower() == "replay-nonce"), None)

    # -- RFC 9773 renewalInfo
    def renewal_info(self, req):
        if req.method not in ("GET", "HEAD"):
            raise HttpFail(405, "malformed", "renewalInfo is fetched with GET (RFC 9773 section 4.1)",
                           [("Allow", "GET, HEAD")])
        cid = req.path[len(RI_PATH) + 1:] if req.path.startswith(RI_PATH + "/") else ""
        if not cid:
            raise HttpFail(400, "malformed", "renewalInfo: no certID in the path")
        parsed = parse_cert_id(cid)
        if isinstance(parsed, str):
            raise HttpFail(400, "malformed", "renewalInfo: " + parsed)
        with self.state.lock:
            rec = self.state.certs.get(parsed)
            ari = dict(rec.ari) if rec and rec.ari else None
        if rec is None:
            raise HttpFail(404, "malformed", "renewalInfo: no certificate %s was issued here" % cid)
        start, end = rec.default_window()
        retry = self.state.ari_retry_after
        body = {}
        if ari:
            start, end = ari["start"], ari["end"]
            retry = ari.get("retryAfter", retry)
            if ari.get("explanationURL"):
                body["explanationURL"] = ari["explanationURL"]
        body["suggestedWindow"] = {"start": rfc3339(start), "end": rfc3339(end)}
        headers = [("Content-Type", "application/json"), ("Retry-After", str(retry)),
                   ("Link", "<https://%s%s>;rel=\"index\"" % (req.host, self.dir_path))]
        return 200, headers, json.dumps(body, indent=2).encode()

    # -- newOrder: profile (draft-ietf-acme-profiles) and replaces (RFC 9773 section 5)
    def check_new_order(self, req):
        p = req.payload if isinstance(req.payload, dict) else {}
        if "profile" in p and self.state.profiles:
            if not isinstance(p["profile"], str) or p["profile"] not in self.state.profiles:
                raise HttpFail(400, "invalidProfile", "profile %s is not offered (offered: %s)" % (
                    json.dumps(p["profile"]), ", ".join(sorted(self.state.profiles))))
        if "replaces" not in p:
            return None
        parsed = parse_cert_id(p["replaces"])
        if isinstance(parsed, str):
            raise HttpFail(400, "malformed", "replaces: " + parsed)
        with self.state.lock:
            rec = self.state.certs.get(parsed)
            if rec is None:
                raise HttpFail(400, "malformed", "replaces: no certificate %s was issued here" % p["replaces"])
            if rec.kid != req.kid:
                raise HttpFail(403, "unauthorized", "replaces: certificate %s belongs to another account" % p["replaces"])
            if not set(rec.names) & set(req.identifiers):
                raise HttpFail(400, "malformed", "replaces: certificate %s shares no identifier with this order" % p["replaces"])
            if self.state.is_replaced(rec):
                raise HttpFail(409, "alreadyReplaced", "certificate %s was already replaced by %s" % (
                    p["replaces"], rec.replaced_by))
            rec.replaced_by = "pending"
        return rec

    def unreserve(self, rec, order_path):
        if rec is None:
            return
        with self.state.lock:
            if rec.replaced_by == "pending":
                rec.replaced_by = order_path

    # -- learning from Pebble's answers, and adding what Pebble 2.4 lacks
    def after(self, req, entry, status, headers, body, reservation):
        hmap = {k.lower(): v for k, v in headers}
        ctype = hmap.get("content-type", "")
        obj = None
        if "json" in ctype and 200 <= status < 300:
            try:
                obj = json.loads(body)
            except ValueError:
                obj = None
        changed = False
        ep = req.endpoint
        if ep == "directory" and isinstance(obj, dict):
            obj["renewalInfo"] = "https://%s%s" % (req.host, RI_PATH)
            if self.state.profiles:
                obj.setdefault("meta", {})["profiles"] = dict(self.state.profiles)
            changed = True
        elif ep == "newAccount" and "location" in hmap:
            self.state.learn(hmap["location"], "account")
            entry["account"] = hmap["location"]
            if isinstance(obj, dict) and obj.get("orders"):
                self.state.learn(obj["orders"], "orders")
        elif ep == "newOrder":
            order_path = url_path(hmap["location"]) if status == 201 and "location" in hmap else None
            self.unreserve(reservation, order_path)
            if order_path and isinstance(obj, dict):
                p = req.payload if isinstance(req.payload, dict) else {}
                rec = {"url": hmap["location"], "identifiers": req.identifiers,
                       "account": req.kid, "status": obj.get("status"),
                       "profile": p.get("profile") if self.state.profiles else None,
                       "replaces": p.get("replaces"), "certificate": None}
                with self.state.lock:
                    self.state.orders[order_path] = rec
                self.learn_order(order_path, obj, req.identifiers)
                changed = self.echo(order_path, obj)
        elif ep in ("order", "finalize") and isinstance(obj, dict) and req.order:
            with self.state.lock:
                rec = self.state.orders.get(req.order)
                if rec is not None and obj.get("status"):
                    rec["status"] = obj["status"]
            self.learn_order(req.order, obj, req.identifiers)
            changed = self.echo(req.order, obj)
        elif ep == "authz" and isinstance(obj, dict):
            ident = obj.get("identifier", {}).get("value")
            if isinstance(ident, str):
                ids = ["*." + ident] if obj.get("wildcard") else [ident]
                self.state.learn(req.path, "authz", req.order, ids)
                for ch in obj.get("challenges", []):
                    self.state.learn(ch.get("url"), "challenge", req.order, ids)
        elif ep == "certificate" and status == 200:
            self.record_cert(req, body, hmap, headers)
        if changed:
            body = json.dumps(obj, indent=2).encode()
        return status, headers, body

    def learn_order(self, order_path, obj, identifiers):
        ids = identifiers or [i.get("value") for i in obj.get("identifiers", [])
                              if isinstance(i, dict)]
        self.state.learn(order_path, "order", order_path, ids)
        self.state.learn(obj.get("finalize"), "finalize", order_path, ids)
        for a in obj.get("authorizations", []) or []:
            if self.state.classify(url_path(a)) is None:
                self.state.learn(a, "authz", order_path, ids)
        if obj.get("certificate"):
            self.state.learn(obj["certificate"], "certificate", order_path, ids)
            with self.state.lock:
                if order_path in self.state.orders:
                    self.state.orders[order_path]["certificate"] = obj["certificate"]

    def echo(self, order_path, obj):
        with self.state.lock:
            rec = self.state.orders.get(order_path)
            extra = {k: rec[k] for k in ("profile", "replaces") if rec and rec.get(k) is not None}
        obj.update(extra)
        return bool(extra)

    def record_cert(self, req, body, hmap, headers):
        certs, _ = Forge.pem_certs(body)
        if not certs:
            return
        with self.state.lock:
            order = self.state.orders.get(req.order) if req.order else None
        kid = order["account"] if order else req.kid
        try:
            rec = CertRecord(certs[0], body, kid, req.order)
        except (x509.ExtensionNotFound, ValueError):
            return
        with self.state.lock:
            old = self.state.certs.get((rec.aki, rec.serial))
            if old is None:
                self.state.certs[(rec.aki, rec.serial)] = rec
        # Alternate chains (RFC 8555 section 7.4.2) are certificate URLs too;
        # Pebble sends one Link header per link, and hmap keeps only the last.
        links = ", ".join(v for k, v in headers if k.lower() == "link")
        for link in re.findall(r"<([^>]+)>\s*;\s*rel=\"?alternate\"?", links):
            self.state.learn(link, "certificate", req.order, req.identifiers)

    # -- post faults: change what Pebble answered
    def spoil(self, req, f, status, headers, body):
        if f.name in CERT_FAULTS:
            if status != 200:
                return status, headers, body, "%s: not applied to HTTP %d" % (f.name, status)
            body, note = self.forge.chain(f, body)
            return status, headers, body, note
        if f.name == "oversize":
            want = f.get("bytes", 5 << 20)
            return status, headers, body + b"\n" * max(0, want - len(body)), \
                "padded to %d bytes" % max(want, len(body))
        if f.name == "retryAfter":
            ra = str(f.get("retryAfter", 60))
            headers = [(k, v) for k, v in headers if k.lower() != "retry-after"]
            return status, headers + [("Retry-After", ra)], body, "Retry-After: " + ra
        if f.name == "moveDirectory":
            alt = self.alt_origin
            if alt is None:
                return status, headers, body, "moveDirectory: no --alt-listen"
            return status, headers, self.rewrite_body(body, "https://" + req.host, alt), \
                "directory moved to " + alt
        if f.name in ("hostileToken", "authzIdentifier"):
            return self.spoil_authz(f, status, headers, body)
        if f.name == "hostileHeader":
            name = f.get("header", "Location")
            headers = [(k, v) for k, v in headers if k.lower() != name.lower()]
            headers.append((name, f.get("value", "")))
            return status, headers, body, "%s: %r" % (name, f.get("value", "")[:100])
        if f.name == "httpUrls":
            where = f.get("where", ["body", "headers"])
            old, new = "https://" + req.host, "http://" + req.host
            if "body" in where:
                body = self.rewrite_body(body, old, new)
            if "headers" in where:
                headers = [(k, v.replace(old, new) if k.lower() in ("location", "link") else v)
                           for k, v in headers]
            return status, headers, body, "https URLs made http"
        return status, headers, body, None

    @staticmethod
    def spoil_authz(f, status, headers, body):
        """Every challenge's token, or the identifier, becomes f's "value"."""
        try:
            obj = json.loads(body)
        except ValueError:
            return status, headers, body, "%s: not JSON" % f.name
        value = f.get("value", "")
        if f.name == "hostileToken":
            # pending, so that a client must use the token (Pebble reuses
            # valid authorizations now and then)
            obj["status"] = "pending"
            for ch in obj.get("challenges", []):
                ch["token"] = value
                ch["status"] = "pending"
                ch.pop("validated", None)
        else:
            obj.setdefault("identifier", {})["value"] = value
        return status, headers, json.dumps(obj, indent=2).encode(), \
            "%s: %r" % (f.name, value[:100])

    @staticmethod
    def rewrite_body(body, old, new):
        try:
            obj = json.loads(body)
        except ValueError:
            return body

        def walk(v):
            if isinstance(v, str):
                return new + v[len(old):] if v.startswith(old) else v
            if isinstance(v, list):
                return [walk(x) for x in v]
            if isinstance(v, dict):
                return {k: walk(x) for k, x in v.items()}
            return v
        return json.dumps(walk(obj), indent=2).encode()


# ------------------------------------------------------------------ control API

class ControlHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake_ca_proxy-control"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, status, obj):
        body = (json.dumps(obj, indent=2) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        return json.loads(raw) if raw.strip() else None

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def do_DELETE(self):
        self.route("DELETE")

    def route(self, method):
        proxy = self.server.proxy
        state = proxy.state
        u = urllib.parse.urlsplit(self.path)
        parts = [p for p in u.path.split("/") if p]
        query = dict(urllib.parse.parse_qsl(u.query))
        try:
            body = self.body_json()
            key = (method, parts[0] if parts else "")
            if key == ("GET", "health"):
                return self.send_json(200, {"ok": True, "directory": proxy.directory_url,
                                            "alt": proxy.alt_origin})
            if parts[:1] == ["log"]:
                if method == "GET" and parts[1:] == ["count"]:
                    return self.send_json(200, {"count": len(state.log_query(query))})
                if method == "GET" and len(parts) == 1:
                    return self.send_json(200, state.log_query(query))
                if (method == "DELETE" and len(parts) == 1) or \
                        (method == "POST" and parts[1:] == ["clear"]):
                    with state.lock:
                        n = len(state.log)
                        state.log = []
                    return self.send_json(200, {"cleared": n})
            if parts[:1] == ["faults"]:
                if method == "GET":
                    with state.lock:
                        faults = [f.describe() for f in state.faults]
                    return self.send_json(200, faults)
                if method == "POST" and len(parts) == 1:
                    specs = body if isinstance(body, list) else [body]
                    for s in specs:
                        if not isinstance(s, dict):
                            raise ValueError("a fault is a JSON object")
                        Fault(0, s)                     # validate all before adding any
                    return self.send_json(201, {"ids": [state.add_fault(s) for s in specs]})
                if method == "DELETE":
                    fid = int(parts[1]) if len(parts) > 1 else None
                    return self.send_json(200, {"removed": state.clear_faults(fid)})
            if key == ("POST", "release"):
                state.release_hangs()
                return self.send_json(200, {"released": True})
            if key == ("GET", "certs"):
                with state.lock:
                    certs = [c.describe(state) for c in
                             sorted(state.certs.values(), key=lambda c: c.recorded)]
                return self.send_json(200, certs)
            if key == ("GET", "orders"):
                with state.lock:
                    orders = [dict(v, path=k) for k, v in state.orders.items()]
                return self.send_json(200, orders)
            if parts[:1] == ["ari"]:
                return self.ari(method, parts[1:], body)
            if parts[:1] == ["profiles"]:
                if method == "GET":
                    return self.send_json(200, state.profiles)
                if method in ("PUT", "POST"):
                    if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
                        raise ValueError("profiles: a JSON object of name -> description")
                    state.profiles = body
                    return self.send_json(200, state.profiles)
            self.send_json(404, {"error": "no such control endpoint: %s %s" % (method, u.path)})
        except (ValueError, TypeError, KeyError) as e:
            self.send_json(400, {"error": str(e)})

    def ari(self, method, rest, body):
        state = self.server.proxy.state
        if method == "DELETE" and not rest:
            with state.lock:
                for c in state.certs.values():
                    c.ari = None
            return self.send_json(200, {"cleared": True})
        if len(rest) != 1:
            raise ValueError("use /ari/<certID or name>")
        rec = state.find_cert(urllib.parse.unquote(rest[0]))
        if rec is None:
            return self.send_json(404, {"error": "no certificate %s recorded" % rest[0]})
        if method == "DELETE":
            rec.ari = None
            return self.send_json(200, rec.describe(state))
        if method == "GET":
            return self.send_json(200, rec.describe(state))
        if method not in ("POST", "PUT") or not isinstance(body, dict):
            raise ValueError("POST /ari/<cert> with a JSON object")
        allowed = {"start", "end", "explanationURL", "retryAfter", "allowInvalid"}
        unknown = set(body) - allowed
        if unknown:
            raise ValueError("unknown ari fields: %s" % ", ".join(sorted(unknown)))
        start, end = rec.default_window()
        start = when(body.get("start"), start)
        end = when(body.get("end"), end)
        if end <= start and not body.get("allowInvalid"):
            raise ValueError("end must be after start (RFC 9773 section 4.2); "
                             "set allowInvalid to serve it anyway")
        ari = {"start": start, "end": end}
        if "explanationURL" in body:
            ari["explanationURL"] = body["explanationURL"]
        if "retryAfter" in body:
            ari["retryAfter"] = int(body["retryAfter"])
        with state.lock:
            rec.ari = ari
        return self.send_json(200, rec.describe(state))


def when(v, default):
    """RFC 3339 text, or a number of seconds from now (negative: in the past)."""
    if v is None:
        return default
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return now() + datetime.timedelta(seconds=v)
    if isinstance(v, str):
        t = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
        return t if t.tzinfo else t.replace(tzinfo=datetime.timezone.utc)
    raise ValueError("a time is RFC 3339 text or seconds from now")


class ControlServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, proxy):
        self.proxy = proxy
        super().__init__(addr, ControlHandler)


# ------------------------------------------------------------------ main

def hostport(s):
    host, _, port = s.rpartition(":")
    return host or "127.0.0.1", int(port)


def main():
    ap = argparse.ArgumentParser(description="fault-injecting ACME test double in front of Pebble")
    ap.add_argument("--listen", required=True, help="HOST:PORT for ACME (HTTPS)")
    ap.add_argument("--alt-listen", help="HOST:PORT of the origin a moved directory points to")
    ap.add_argument("--control", required=True, help="HOST:PORT of the control API (HTTP)")
    ap.add_argument("--upstream", required=True, help="Pebble's directory URL")
    ap.add_argument("--upstream-ca", required=True, help="trust anchor of Pebble's HTTPS")
    ap.add_argument("--upstream-mgmt", help="Pebble's management URL (for its intermediate key)")
    ap.add_argument("--cert", required=True, help="TLS certificate chain to serve")
    ap.add_argument("--key", required=True, help="its private key")
    ap.add_argument("--profiles", help="JSON object name -> description ({} = no profiles)")
    ap.add_argument("--ari-retry-after", type=int, default=21600,
                    help="Retry-After of renewalInfo answers (seconds)")
    args = ap.parse_args()

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(args.cert, args.key)
    tls.set_alpn_protocols(["http/1.1"])
    proxy = Proxy(args)
    servers = [AcmeServer(hostport(args.listen), "main", tls, proxy)]
    proxy.directory_url = "https://%s:%d%s" % (servers[0].server_address[0],
                                               servers[0].server_address[1], proxy.dir_path)
    if args.alt_listen:
        servers.append(AcmeServer(hostport(args.alt_listen), "alt", tls, proxy))
        proxy.alt_origin = "https://%s:%d" % servers[1].server_address[:2]
    servers.append(ControlServer(hostport(args.control), proxy))
    for s in servers[:-1]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("fake_ca_proxy: ready, directory %s, control http://%s:%d/" % (
        proxy.directory_url, *servers[-1].server_address[:2]), flush=True)
    try:
        servers[-1].serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
