#!/usr/bin/env python3
"""connstorm.py: connection attempts one after another, as fast as they go,
for a while (lanes-upgrade.sh).  Each connects, reads the greeting and
quits.  Prints one line at the end:

    attempts N ok N refused N other N

and, for each failure, a line "fail SECONDS WHY".  Exit status 0 when every
attempt got a 220 greeting, 1 otherwise, 2 on bad arguments."""

import argparse
import socket
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--until-file", help="stop when this file exists (or after --seconds)")
    a = p.parse_args()
    t0 = time.monotonic()
    n = ok = refused = other = 0
    fails = []
    import os
    while time.monotonic() - t0 < a.seconds:
        if a.until_file and os.path.exists(a.until_file):
            break
        n += 1
        try:
            with socket.create_connection((a.host, a.port), timeout=10) as s:
                greeting = s.makefile("rb").readline()
                if greeting.startswith(b"220"):
                    ok += 1
                    s.sendall(b"QUIT\r\n")
                else:
                    other += 1
                    fails.append("%.3f greeting %r" % (time.monotonic() - t0, greeting[:40]))
        except ConnectionRefusedError:
            refused += 1
            fails.append("%.3f refused" % (time.monotonic() - t0))
        except OSError as e:
            other += 1
            fails.append("%.3f %s" % (time.monotonic() - t0, e))
    for f in fails[:20]:
        print("fail " + f)
    print("attempts %d ok %d refused %d other %d" % (n, ok, refused, other))
    return 0 if ok == n else 1


if __name__ == "__main__":
    sys.exit(main())
