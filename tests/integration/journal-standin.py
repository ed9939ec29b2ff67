#!/usr/bin/python3
"""A stand-in for journald's native socket, for tests: binds an AF_UNIX
datagram socket at PATH, parses each datagram in the native protocol
(KEY=VALUE lines, or KEY, a little-endian 64-bit length and binary data;
large entries arrive as a memfd through SCM_RIGHTS) and writes every entry
as one JSON object per line to OUT."""
import array
import json
import os
import socket
import struct
import sys


def parse(data):
    entry = {}
    i = 0
    while i < len(data):
        nl = data.find(b"\n", i)
        if nl == -1:
            nl = len(data)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            (n,) = struct.unpack_from("<Q", data, nl + 1)
            v = data[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        entry[k.decode()] = v.decode(errors="replace")
    return entry


def main():
    path, out = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    with open(out, "a", buffering=1) as f:
        f.write("")  # created: the test waits for it
        while True:
            fds = array.array("i")
            data, anc, _, _ = s.recvmsg(1 << 20, socket.CMSG_SPACE(4))
            for level, kind, blob in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(blob[: len(blob) - len(blob) % 4])
            for fd in fds:
                with os.fdopen(fd, "rb") as m:
                    data = m.read()
            f.write(json.dumps(parse(data)) + "\n")


main()
