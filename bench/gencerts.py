#!/usr/bin/env python3
"""gencerts.py DIR N [PREFIX]: a state directory with N valid certificates.

certs/PREFIXi/v1/{privkey,cert,fullchain,chain}.pem and certs/PREFIXi/live -> v1,
for PREFIXi.t (short: 100,000 entries must fit the 4 MiB inventory limit), valid for 90 days from now (not due for ~60).
One shared P-256 key (hard-linked, a copy per 60000), so N=100000 costs about 3 files of
~0.6 KiB each plus 2 directories and a link per certificate.
"""
import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def main():
    top, n = sys.argv[1], int(sys.argv[2])
    prefix = sys.argv[3] if len(sys.argv) > 3 else "c"
    certs = os.path.join(top, "certs")
    os.makedirs(certs, mode=0o700, exist_ok=True)
    os.chmod(top, 0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    keypem = key.private_bytes(serialization.Encoding.PEM,
                               serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())

    def keycopy(i):
        # ext4 allows 65000 links to one file: a new copy every 60000
        path = os.path.join(top, "shared-key-%d.pem" % (i // 60000))
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(keypem)
            os.chmod(path, 0o600)
        return path
    now = datetime.datetime.now(datetime.timezone.utc)
    for i in range(1, n + 1):
        name = "%s%d" % (prefix, i)
        dom = "%s.t" % name
        subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dom)])
        cert = (x509.CertificateBuilder().subject_name(subj).issuer_name(subj)
                .public_key(key.public_key()).serial_number(i + 1000)
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=90))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(dom)]),
                               critical=False)
                .sign(key, hashes.SHA256()))
        pem = cert.public_bytes(serialization.Encoding.PEM)
        d = os.path.join(certs, name)
        v = os.path.join(d, "v1")
        os.makedirs(v, mode=0o700)
        os.chmod(d, 0o700)
        os.link(keycopy(i), os.path.join(v, "privkey.pem"))
        for fn, data in (("cert.pem", pem), ("fullchain.pem", pem),
                         ("chain.pem", b"")):
            with open(os.path.join(v, fn), "wb") as f:
                f.write(data)
        os.symlink("v1", os.path.join(d, "live"))


if __name__ == "__main__":
    main()
