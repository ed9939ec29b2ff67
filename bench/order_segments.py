#!/usr/bin/python3
"""bench/order_segments.py LOG - where an order's time goes, from a debug
log of renewd (-v): p50/p90 of each segment over all orders, in ms.
The segments: newOrder's answer to the authorization's, the challenge
POST's answer, the last authorization seen valid, finalize's answer, the
certificate downloaded, installed; and between orders, a slot freed (an
install) to the next order created."""
import sys


def ms(stamp):
    h, m, s = stamp[11:23].split(":")
    return (int(h) * 3600 + int(m) * 60 + float(s)) * 1000


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def main():
    marks = {}	# name -> {mark: ms}
    order = ["order created", "authz answered", "challenge answered",
             "authz valid seen", "finalize answered", "certificate downloaded",
             "installed"]
    created, installed = [], []
    for line in open(sys.argv[1], errors="replace"):
        f = line.split()
        if len(f) < 4 or not f[2].startswith("["):
            continue
        name, t = f[2], ms(f[0])
        m = marks.setdefault(name, {})
        if " order created " in line:
            m["order created"] = t
            created.append(t)
        elif "/authZ/" in line and " -> " in line and "authz answered" not in m:
            m["authz answered"] = t
        elif "/chalZ/" in line and " -> " in line:
            m["challenge answered"] = t
        elif "all authorizations valid" in line:
            m["authz valid seen"] = t
        elif "/finalize-order/" in line and " -> " in line:
            m["finalize answered"] = t
        elif "certificate downloaded" in line:
            m["certificate downloaded"] = t
        elif "installed certificate" in line:
            m["installed"] = t
            installed.append(t)
    for a, b in zip(order, order[1:]):
        v = [m[b] - m[a] for m in marks.values() if a in m and b in m]
        if v:
            print("  %-22s -> %-22s p50 %4.0f ms  p90 %4.0f ms" %
                  (a, b, pct(v, 0.5), pct(v, 0.9)))
    created.sort()
    installed.sort()
    gaps = [c - i for c, i in zip(created[8:], installed)]
    if gaps:
        print("  %-22s -> %-22s p50 %4.0f ms  p90 %4.0f ms" %
              ("a slot freed", "the next order created", pct(gaps, 0.5),
               pct(gaps, 0.9)))


if __name__ == "__main__":
    main()
