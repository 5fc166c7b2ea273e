#!/usr/bin/env python3
"""poolclient.py: sessions through a reverse listener with an upstream pool
(lanes-pool.sh).  Each session reads the greeting, says which server
answered (by its banner), logs in, RETRs a fixture (sha256 against the
file) and quits.  One line per session on stdout:

    N SERVER RESULT SECONDS

SERVER: vsftpd | pyftpdlib | refused (the gateway's 421) | other;
RESULT: ok | fail:WHY.  Exit status 0 when every line was printed (the lane
judges the sequence), 2 on bad arguments."""

import argparse
import ftplib
import hashlib
import os
import sys
import time


def one(a, n):
    t0 = time.monotonic()
    ftp = ftplib.FTP(timeout=a.timeout)
    try:
        welcome = ftp.connect(a.host, a.port)
    except ftplib.error_temp as e:      # the gateway's 421
        return "%d refused ok %.2f" % (n, time.monotonic() - t0) if str(e).startswith("421") \
            else "%d other fail:%s %.2f" % (n, str(e).replace(" ", "_"), time.monotonic() - t0)
    except (OSError, EOFError) as e:
        return "%d other fail:%s %.2f" % (n, type(e).__name__, time.monotonic() - t0)
    server = "vsftpd" if "vsFTPd" in welcome else "pyftpdlib" if "pyftpdlib" in welcome else "other"
    try:
        ftp.login(a.user, a.password)
        h = hashlib.sha256()
        ftp.retrbinary("RETR " + a.file, h.update)
        with open(os.path.join(a.fixtures, a.file), "rb") as f:
            want = hashlib.sha256(f.read()).hexdigest()
        ftp.quit()
        result = "ok" if h.hexdigest() == want else "fail:sha256"
    except (ftplib.Error, OSError, EOFError) as e:
        result = "fail:" + str(e).replace(" ", "_")[:60]
    finally:
        ftp.close()
    return "%d %s %s %.2f" % (n, server, result, time.monotonic() - t0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--file", default="file-1MiB")
    p.add_argument("--fixtures", required=True)
    p.add_argument("--user", default="ftpgwtest")
    p.add_argument("--password", default="ftpgwtest")
    p.add_argument("--timeout", type=float, default=20)
    a = p.parse_args()
    for n in range(1, a.count + 1):
        print(one(a, n), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
