#!/usr/bin/env python3
"""datatimers.py: data connections that wait, for ftpgw's integration tests
(lanes-data.sh).  Standard library only.  Exit 0 when every check held, 1
with a reason on stderr otherwise.

Actions (each on one control session, plain or --tls explicit + PROT P):
  idle       PASV, connect the data connection, then nothing (no transfer
             command, no TLS handshake on it): the gateway must close it
             within --deadline seconds.
  stall      PASV, connect, RETR --file, never read the data connection:
             it must be closed within --deadline seconds.
  emfile     PASV; set the gateway's (--gw-pid) descriptor limit to its
             lowest free descriptor, so its accept fails with EMFILE;
             connect the data connection; the gateway must not spin (CPU
             time over --hold seconds); restore the limit; the data
             connection must then work (RETR --file, sha256).
Every action then checks that the session still answers NOOP with 200 and
that a fresh PASV + RETR file-1MiB has the fixture's sha256.

"Closed" is the data socket's TCP state leaving ESTABLISHED (TCP_INFO), so
that nothing has to be read from it: a reset or a FIN both count.
"""

import argparse
import ftplib
import hashlib
import os
import resource
import socket
import ssl
import sys
import time

TCP_ESTABLISHED = 1
TCP_STATES = {1: "ESTABLISHED", 7: "CLOSE", 8: "CLOSE_WAIT", 4: "FIN_WAIT1",
              5: "FIN_WAIT2", 6: "TIME_WAIT", 9: "LAST_ACK", 11: "CLOSING"}


class Fail(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def fixture_sha(fixtures, name):
    with open(os.path.join(fixtures, "SHA256SUMS")) as f:
        for line in f:
            digest, n = line.split()
            if n.lstrip("*") == name:
                return digest
    raise Fail("no fixture %s" % name)


def tcp_state(sock):
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    return info[0]


def wait_closed(sock, deadline, t0):
    """Seconds from T0 until SOCK left ESTABLISHED; Fail after DEADLINE."""
    while True:
        st = tcp_state(sock)
        el = time.monotonic() - t0
        if st != TCP_ESTABLISHED:
            log("data connection %s after %.1f s" % (TCP_STATES.get(st, st), el))
            return el
        if el > deadline:
            raise Fail("data connection still ESTABLISHED %.1f s after it was "
                       "connected (bound %.0f s)" % (el, deadline))
        time.sleep(0.1)


class ResumingFTPTLS(ftplib.FTP_TLS):
    """FTP_TLS whose PROT P data connections resume the control
    connection's TLS session (the gateway's require-session-reuse, like
    vsftpd's require_ssl_reuse, refuses them otherwise); taken at data time:
    TLS 1.3 tickets come after the handshake."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host,
                                            session=self.sock.session)
        return conn, size


def session(args):
    if args.tls:
        ctx = ssl.create_default_context(cafile=args.cafile)
        ctx.check_hostname = False
        ftp = ResumingFTPTLS(context=ctx, timeout=30)
    else:
        ftp = ftplib.FTP(timeout=30)
    ftp.connect(args.host, args.port)
    if args.tls:
        ftp.auth()
    ftp.login(args.user, args.password)
    if args.tls:
        ftp.prot_p()
    ftp.voidcmd("TYPE I")
    return ftp


def pasv_connect(ftp, args):
    """PASV, then a plain TCP connection to the port (no TLS handshake)."""
    resp = ftp.sendcmd("PASV")
    log("<- " + resp)
    _, port = ftplib.parse227(resp)
    s = socket.create_connection((args.host, port), timeout=30)
    log("data connection to %s:%d connected" % (args.host, port))
    return s


def retr_sha(ftp, name):
    h = hashlib.sha256()
    n = [0]

    def cb(b):
        h.update(b)
        n[0] += len(b)

    ftp.retrbinary("RETR " + name, cb, blocksize=256 * 1024)
    return h.hexdigest(), n[0]


def after(ftp, args):
    """The session still works: NOOP 200 (replies still due for an earlier
    command are skipped and shown), then PASV + RETR file-1MiB sha256."""
    ftp.putcmd("NOOP")
    t0 = time.monotonic()
    while True:
        if time.monotonic() - t0 > 20:
            raise Fail("no 200 to NOOP within 20 s")
        try:
            resp = ftp.getmultiline()
        except (socket.timeout, EOFError, OSError) as e:
            raise Fail("NOOP: control connection: %r" % e)
        log("<- " + resp)
        if resp.startswith("200"):
            break
    got, n = retr_sha(ftp, "file-1MiB")
    if got != fixture_sha(args.fixtures, "file-1MiB"):
        raise Fail("RETR file-1MiB after: sha256 %s (%d B) differs" % (got[:16], n))
    log("after: NOOP 200, RETR file-1MiB sha256 ok")
    ftp.quit()


def act_idle(args):
    ftp = session(args)
    s = pasv_connect(ftp, args)
    wait_closed(s, args.deadline, time.monotonic())
    s.close()
    after(ftp, args)


def act_stall(args):
    ftp = session(args)
    s = pasv_connect(ftp, args)
    t0 = time.monotonic()
    ftp.putcmd("RETR " + args.file)
    wait_closed(s, args.deadline, t0)
    try:
        left = s.recv(1 << 20, socket.MSG_DONTWAIT)
        log("data socket still held %d unread bytes" % len(left))
    except OSError as e:
        log("data socket: %s" % e)
    s.close()
    # The client never had every byte: its RETR must end in a failure
    # (426 from the gateway if the server thought it a success).
    while True:
        try:
            resp = ftp.getmultiline()
        except (socket.timeout, EOFError, OSError) as e:
            raise Fail("RETR: no final reply: %r" % e)
        log("<- " + resp)
        if not resp.startswith("1"):
            break
    if not resp.startswith("4"):
        raise Fail("the stalled RETR got %r, expected a 4xx failure" % resp[:60])
    after(ftp, args)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lowest_free_fd(pid):
    used = {int(n) for n in os.listdir("/proc/%d/fd" % pid)}
    n = 0
    while n in used:
        n += 1
    return n


def act_emfile(args):
    pid = args.gw_pid
    ftp = session(args)
    resp = ftp.sendcmd("PASV")
    log("<- " + resp)
    _, port = ftplib.parse227(resp)
    old = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    lim = lowest_free_fd(pid)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (lim, old[1]))
    log("gateway %d: RLIMIT_NOFILE %s -> %d (its lowest free descriptor)" % (pid, old, lim))
    try:
        s = socket.create_connection((args.host, port), timeout=30)
        log("data connection connected (in the gateway's backlog)")
        c0 = cpu_seconds(pid)
        time.sleep(args.hold)
        cpu = cpu_seconds(pid) - c0
        log("gateway CPU time over %.1f s with the data connection unaccepted: %.2f s"
            % (args.hold, cpu))
        if cpu > args.hold / 4:
            raise Fail("the gateway spins while its accept fails (%.2f s CPU in %.1f s)"
                       % (cpu, args.hold))
    finally:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, old)
        log("gateway %d: RLIMIT_NOFILE restored" % pid)
    # The paused listener retries: the connection waiting in its backlog
    # is accepted now and carries the transfer.
    ftp.putcmd("RETR " + args.file)
    resp = ftp.getresp()
    log("<- " + resp)
    h = hashlib.sha256()
    n = 0
    while True:
        b = s.recv(256 * 1024)
        if not b:
            break
        h.update(b)
        n += len(b)
    s.close()
    resp = ftp.voidresp()
    log("<- " + resp)
    if h.hexdigest() != fixture_sha(args.fixtures, args.file):
        raise Fail("RETR %s on the late-accepted connection: sha256 %s (%d B) differs"
                   % (args.file, h.hexdigest()[:16], n))
    log("RETR %s on the late-accepted data connection: sha256 ok" % args.file)
    after(ftp, args)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", default="ftpgwtest")
    ap.add_argument("--password", default="ftpgwtest")
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--tls", action="store_true", help="AUTH TLS, PROT P")
    ap.add_argument("--cafile")
    ap.add_argument("--deadline", type=float, default=9)
    ap.add_argument("--file", default="file-64MiB")
    ap.add_argument("--gw-pid", type=int)
    ap.add_argument("--hold", type=float, default=1.5)
    ap.add_argument("action", choices=["idle", "stall", "emfile"])
    args = ap.parse_args()
    try:
        {"idle": act_idle, "stall": act_stall, "emfile": act_emfile}[args.action](args)
    except Fail as e:
        print("FAIL: %s" % e, file=sys.stderr, flush=True)
        return 1
    except (ftplib.Error, OSError, EOFError) as e:
        print("FAIL: %s: %s" % (type(e).__name__, e), file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
