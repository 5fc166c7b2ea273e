#!/usr/bin/env python3
"""engineclient.py: the clients of lanes-engine.sh (runs in cli).  Exit 0
when every check held, else 1 with a FAIL line on stderr.  The session,
data-mode and fixture helpers are ftpcore.py's.

Actions:
  abor       COUNT times: log in, RETR file-64MiB, ABOR after the 150
             (read some data first, or none; the ABOR in band, as
             ftplib.abort() does, or after Telnet IAC IP / IAC DM), then
             the replies to the end of the ABOR within 10 s and NOOP 200
             within 10 s; then RETR file-1MiB sha256 on the last session
  flood      log in, then "x\\r\\n" as fast as the socket takes it for
             SECONDS, never reading a reply; then READY-file, and hold the
             connection until RELEASE-file exists
  heldretr   log in, RETR file-64MiB and read its data slowly (RATE
             bytes/s) for SECONDS, never reading the control connection;
             then READY-file, hold until RELEASE-file
"""

import argparse
import os
import socket
import sys
import time

from ftpcore import (BLOCK, DM, IAC, IP, Fail, Fixtures, abor_ftplib, check,
                     connect, log, ops_write, retr)

REPLY_WAIT = 10


def abor_inband(sock):
    sock.sendall(b"ABOR\r\n")


def abor_iac(sock):
    # RFC 959 4.1.3: Telnet IP, then the Synch (IAC DM, its DM urgent).
    sock.sendall(IAC + IP + IAC, socket.MSG_OOB)
    sock.sendall(DM + b"ABOR\r\n")


# Repetition I: how much data is read before the ABOR, and how it is sent.
ABOR_PLAN = [(0, abor_inband, "in band"), (256 << 10, abor_ftplib, "MSG_OOB (ftplib.abort)"),
             (1 << 20, abor_iac, "IAC IP IAC DM"), (0, abor_ftplib, "MSG_OOB (ftplib.abort)"),
             (4 << 20, abor_inband, "in band"), (0, abor_iac, "IAC IP IAC DM")]


def reply_within(ftp, what, secs=REPLY_WAIT):
    ftp.sock.settimeout(secs)
    t = time.monotonic()
    try:
        r = ftp.getmultiline()
    except socket.timeout:
        raise Fail("%s: no reply within %d s" % (what, secs))
    except (EOFError, OSError) as e:
        raise Fail("%s: control connection lost: %r" % (what, e))
    return r, time.monotonic() - t


def act_abor(a, fx):
    ftp = None
    plan = [x for x in ABOR_PLAN if a.abor_style == "all" or x[1] is abor_inband]
    for i in range(a.count):
        after, send, how = plan[i % len(plan)]
        what = "repetition %d (ABOR %s after %d bytes)" % (i + 1, how, after)
        if ftp is not None:
            ftp.close()
        ftp = connect(a)
        conn = ftp.transfercmd("RETR file-64MiB")
        got = 0
        while got < after:
            b = conn.recv(BLOCK)
            check(b, "%s: data ended after %d bytes, before ABOR" % (what, got))
            got += len(b)
        send(ftp.sock)
        conn.close()
        replies = []
        while True:
            r, _ = reply_within(ftp, "%s: reply %d after ABOR (so far %r)" % (what, len(replies) + 1, replies))
            replies.append(r.replace("\n", " | ")[:80])
            if r[:3] in ("225", "226"):
                break
            # 426/451: the transfer's end; a 1xx: pure-ftpd's timing line
            # ("150 0.002 seconds (measured here), ...") when the data
            # connection broke before the ABOR.
            check((r[:3] in ("426", "451") or r[:1] == "1") and len(replies) < 4,
                  "%s: unexpected reply after ABOR: %r" % (what, replies))
        ftp.putcmd("NOOP")
        r, dt = reply_within(ftp, "%s: NOOP after the replies %r" % (what, replies))
        if r[:3] in ("225", "226") and [x[:3] for x in replies] == ["226"]:
            # The transfer ended before the ABOR came (fast with the
            # kernel data path): that 226 was the RETR's, this the ABOR's.
            replies.append(r.replace("\n", " | ")[:80])
            r, dt = reply_within(ftp, "%s: NOOP after the replies %r" % (what, replies))
        check(r[:3] == "200", "%s: NOOP -> %r after the replies %r (a stray reply)" % (what, r, replies))
        log("%s: %s; NOOP 200 in %.2f s" % (what, " / ".join(replies), dt))
    ftp.sock.settimeout(a.timeout)
    retr(ftp, fx, "file-1MiB")
    check(ftp.quit()[:3] == "221", "QUIT")


def hold(a, sock):
    ops_write(a.ready, "1")
    t = time.monotonic() + 120
    while not os.path.exists(a.release):
        check(time.monotonic() < t, "no %s within 120 s" % a.release)
        time.sleep(0.05)
    sock.close()


def act_flood(a, fx):
    ftp = connect(a)
    s = ftp.sock
    s.setblocking(False)
    line = b"x\r\n" * 1024
    n = 0
    stalled = 0.0
    t0 = time.monotonic()
    while time.monotonic() - t0 < a.seconds:
        try:
            n += s.send(line)
        except BlockingIOError:
            t = time.monotonic()
            time.sleep(0.001)
            stalled += time.monotonic() - t
    log("flood: %d bytes (%d lines) sent in %.1f s, %.1f s of it blocked (the gateway not reading)"
        % (n, n // 3, a.seconds, stalled))
    hold(a, s)


def act_heldretr(a, fx):
    ftp = connect(a)
    conn = ftp.transfercmd("RETR file-64MiB")
    conn.settimeout(a.timeout)
    n = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < a.seconds:
        try:
            b = conn.recv(16384)
        except socket.timeout:
            raise Fail("no data for %.0f s" % a.timeout)
        if not b:
            break
        n += len(b)
        ahead = n / a.rate - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
    log("heldretr: %d data bytes read in %.1f s, the control connection not read"
        % (n, time.monotonic() - t0))
    hold(a, ftp.sock)
    conn.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", default="ftpgwtest")
    p.add_argument("--password", default="ftpgwtest")
    p.add_argument("--mode", choices=["pasv", "epsv", "port", "eprt"], default="pasv")
    p.add_argument("--timeout", type=float, default=20)
    p.add_argument("--fixtures", required=True)
    p.add_argument("--tag", default="t")
    sub = p.add_subparsers(dest="action", required=True)
    x = sub.add_parser("abor")
    x.add_argument("--count", type=int, default=5)
    x.add_argument("--abor-style", choices=["all", "inband"], default="all",
                   help="inband: only ABOR in band (a server that does not take the Synch)")
    for name in ("flood", "heldretr"):
        x = sub.add_parser(name)
        x.add_argument("--seconds", type=float, default=8)
        x.add_argument("--ready", required=True)
        x.add_argument("--release", required=True)
        if name == "heldretr":
            x.add_argument("--rate", type=float, default=128 << 10)
    a = p.parse_args()
    # What ftpcore.connect() reads besides these.
    a.tls, a.prot, a.expect_pasv_host, a.expect_data_peer = "none", "C", None, None
    fx = Fixtures(a.fixtures, None)
    try:
        {"abor": act_abor, "flood": act_flood, "heldretr": act_heldretr}[a.action](a, fx)
    except Fail as e:
        print("FAIL: %s" % e, file=sys.stderr, flush=True)
        return 1
    except (OSError, EOFError) as e:
        print("FAIL: %s: %s" % (type(e).__name__, e), file=sys.stderr, flush=True)
        return 1
    except Exception as e:  # ftplib.Error and the like: a reply the client did not expect
        print("FAIL: %s: %s" % (type(e).__name__, e), file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
