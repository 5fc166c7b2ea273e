"""ftpclient_kernel.py: ftpclient.py's actions of lanes-kernel.sh (the
data-path kernel): kern-sessions, kern-pending, kern-early.  Imports only
ftpcore; ftpclient.py registers its options (add_parsers)."""

import ftplib
import signal
import socket
import sys
import time

from ftpcore import ACTIONS, check, connect, log, parallel_sessions, recv_all, retr


# ================================================================= kernel
# Actions of tests/integration/lanes-kernel.sh (data-path kernel).
# add_parsers() is called from ftpclient.py's main().

def act_kern_sessions(a, fx):
    """--count sessions, --parallel at a time: login, RETR file-1MiB (sha256
    checked) with PASV in even sessions and PORT in odd ones, QUIT."""
    def one(i):
        ftp = connect(a, mode="pasv" if i % 2 == 0 else "port")
        retr(ftp, fx, "file-1MiB", quiet=True)
        r = ftp.quit()
        check(r[:3] == "221", "QUIT: %r" % r)
        ftp.close()

    parallel_sessions(a, one, "login, PASV or PORT, RETR 1 MiB, QUIT")


def act_kern_pending(a, fx):
    """--count sessions that each announce a data port (PASV, or EPSV with
    --epsv) and connect nothing (with --connect: connect to it and send
    nothing, then check that a second connection to it fails); they stay
    open until --hold seconds pass or SIGTERM."""
    ftps, datas, addrs = [], [], []
    for i in range(a.count):
        ftp = connect(a)
        if a.epsv:
            r = ftp.sendcmd("EPSV")
            check(r[:3] == "229", "EPSV: %r" % r)
            addr = (ftp.sock.getpeername()[0], ftplib.parse229(r, ftp.sock.getpeername())[1])
        else:
            r = ftp.sendcmd("PASV")
            check(r[:3] == "227", "PASV: %r" % r)
            addr = ftplib.parse227(r)
        if a.connect:
            datas.append(socket.create_connection(addr, timeout=10))
        addrs.append(addr)
        ftps.append(ftp)
    if a.connect:
        # One connection per announced port: a second one from the same
        # host, once the first was answered, is not let through.
        time.sleep(0.2)
        for addr in addrs:
            try:
                socket.create_connection(addr, timeout=3).close()
                check(False, "a second connection to %s:%d was admitted" % addr[:2])
            except (ConnectionRefusedError, socket.timeout):
                pass
        log("%d second connections refused" % len(addrs))
    log("%d sessions with a %s pending%s" % (len(ftps), "EPSV" if a.epsv else "PASV",
                                              ", connected" if a.connect else ""))
    sys.stdout.flush()
    # SIGTERM ends the sessions as a client would: data connections
    # closed, QUIT.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        time.sleep(a.hold)
    finally:
        for d in datas:
            d.close()
        for ftp in ftps:
            ftp.quit()


def act_kern_early(a, fx):
    """--count RETRs of file-1MiB (sha256 checked) in one session, each
    connecting to the gateway's one passive port --data-port right after
    sending PASV, before the 227 is read (refused until its listener is
    open: tried again), so before the kernel's mapping can be in."""
    ftp = connect(a)
    refused = 0
    for i in range(a.count):
        ftp.putcmd("PASV")
        deadline = time.monotonic() + 5
        while True:
            try:
                d = socket.create_connection((a.host, a.data_port), timeout=10)
                break
            except ConnectionRefusedError:
                refused += 1
                check(time.monotonic() < deadline, "PASV %d: nothing listens on port %d in 5 s"
                      % (i + 1, a.data_port))
        r = ftp.getresp()
        check(r[:3] == "227", "PASV %d: %r" % (i + 1, r))
        check(ftplib.parse227(r) == (a.host, a.data_port), "PASV %d: the 227 names %s:%d, "
              "expected %s:%d" % ((i + 1,) + ftplib.parse227(r) + (a.host, a.data_port)))
        r = ftp.sendcmd("RETR file-1MiB")
        check(r[:3] == "150", "RETR %d: %r" % (i + 1, r))
        n, sha = recv_all(d)
        d.close()
        check(n == fx.size("file-1MiB") and sha == fx.sha("file-1MiB"),
              "RETR %d: got %d bytes sha256 %s" % (i + 1, n, sha[:16]))
        r = ftp.voidresp()
        check(r[:3] == "226", "RETR %d: final reply %r" % (i + 1, r))
    log("%d RETRs connected before their 227, sha256 right (%d connects refused "
        "before a listener was open)" % (a.count, refused))
    ftp.quit()


def add_parsers(sub):
    x = sub.add_parser("kern-sessions", help="many short sessions with a 1 MiB RETR (lanes-kernel.sh)")
    x.add_argument("--count", type=int, default=1000)
    x.add_argument("--parallel", type=int, default=8)
    x = sub.add_parser("kern-pending", help="sessions with a PASV never used (lanes-kernel.sh)")
    x.add_argument("--count", type=int, default=5)
    x.add_argument("--hold", type=float, default=60)
    x.add_argument("--epsv", action="store_true", help="EPSV instead of PASV")
    x.add_argument("--connect", action="store_true", help="connect to the announced port")
    x = sub.add_parser("kern-early", help="PASV RETRs connected before the 227 (lanes-kernel.sh)")
    x.add_argument("--count", type=int, default=10)
    x.add_argument("--data-port", type=int, required=True, help="the gateway's one passive port")


ACTIONS.update({"kern-sessions": act_kern_sessions, "kern-pending": act_kern_pending,
                "kern-early": act_kern_early})
# ============================================================= end kernel
