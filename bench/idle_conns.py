#!/usr/bin/python3
"""bench/idle_conns.py HOST PORT PATH HOSTHDR [N] - open N idle connections
(default 5000) to an http-01 listener and keep them open while timing
validation-like requests (one GET per connection, Connection: close).
Prints the slowest and median answer, how many answered 200, and how many
of the idle connections the listener had closed by the end."""
import resource
import select
import socket
import sys
import time


def fetch(host, port, path, hosthdr):
    t = time.monotonic()
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: bench-validator\r\n"
               "Accept: */*\r\nConnection: close\r\n\r\n" % (path, hosthdr)).encode())
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    return time.monotonic() - t, data.split(b" ", 2)[1:2] == [b"200"]


def main():
    host, port, path, hosthdr = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 5000
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 256), hard))
    idle, times, good = [], [], 0
    t0 = time.monotonic()
    for i in range(n):
        try:
            idle.append(socket.create_connection((host, port), timeout=5))
        except OSError as e:
            print("idle: connection %d failed: %s" % (i, e))
            break
        if i % 500 == 499:	# a validation while the flood goes on
            d, ok = fetch(host, port, path, hosthdr)
            times.append(d)
            good += ok
    opened = time.monotonic() - t0
    for _ in range(20):	# and with all of them open
        d, ok = fetch(host, port, path, hosthdr)
        times.append(d)
        good += ok
        time.sleep(0.05)
    closed = 0
    for s in idle:
        p = select.poll()
        p.register(s, select.POLLIN)
        if p.poll(0):
            try:
                closed += s.recv(1, socket.MSG_PEEK) == b""
            except OSError:
                closed += 1
    times.sort()
    print("idle: %d connections opened in %.2f s; %d validation requests, %d "
          "answered 200; median %.1f ms, slowest %.1f ms; %d idle connections "
          "closed by the listener" % (len(idle), opened, len(times), good,
                                      times[len(times) // 2] * 1000,
                                      times[-1] * 1000, closed))
    return 0 if good == len(times) and times[-1] <= 0.1 else 1


if __name__ == "__main__":
    sys.exit(main())
