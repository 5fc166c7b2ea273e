"""ftpclient_ops.py: ftpclient.py's actions of lanes-ops.sh (operations:
reload, graceful stop, logs, ftpgwctl): opssession, opsconnloop.  Imports
only ftpcore; ftpclient.py registers its options (add_parsers)."""

import ftplib
import hashlib
import os
import socket
import time

from ftpcore import (ACTIONS, BLOCK, Fail, check, log, new_client, ops_write, reply_of,
                     retr, stor)


# ==================================================================== ops
# Actions of tests/integration/lanes-ops.sh (operations: reload, graceful
# stop, logs, ftpgwctl).  Everything of that file lives in this module;
# add_parsers() is called from ftpclient.py's main(); ops_write() is
# ftpcore's (engineclient.py uses it too).

def ops_addr(sa):
    """A socket address as the gateway prints it: A.B.C.D:PORT or [V6]:PORT."""
    host, port = sa[0], sa[1]
    if host.startswith("::ffff:") and "." in host:
        host = host[7:]
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


def ops_codes_ok(resp, codes):
    return any(resp.startswith(c) for c in codes.split(","))


def ops_slowretr(ftp, fx, a, name, rate):
    """RETR NAME read at most RATE bytes/s.  After 1 MiB: the --ready file.
    --expect-shutdown: the gateway must cut it (data EOF before the end,
    then 421 or the control connection closed); otherwise it must complete
    with 226 and the right sha256."""
    size = fx.size(name)
    conn = ftp.transfercmd("RETR " + name)
    conn.settimeout(a.timeout)
    h = hashlib.sha256()
    n = 0
    cut = None
    t0 = time.monotonic()
    ready = False
    while True:
        try:
            b = conn.recv(64 * 1024)
        except OSError as e:
            cut = "data connection error %s" % e
            break
        if not b:
            break
        h.update(b)
        n += len(b)
        if not ready and n >= (1 << 20):
            ready = True
            if a.ready:
                ops_write(a.ready, "%d" % n)
        ahead = n / rate - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
    conn.close()
    dt = time.monotonic() - t0
    if a.expect_shutdown:
        check(n < size, "RETR %s: all %d bytes arrived in %.1f s, the gateway did not cut the transfer"
              % (name, n, dt))
        log("RETR %s cut after %d of %d bytes, %.1f s%s" % (name, n, size, dt, cut and ", " + cut or ""))
        replies = []
        while len(replies) < 3:
            try:
                r = ftp.getmultiline()
            except (EOFError, OSError) as e:
                log("control connection closed (%s) after replies %r" % (type(e).__name__, replies))
                return "closed"
            replies.append(r)
            log("reply after the cut: %r" % r)
            if r.startswith("421"):
                # A stop (SIGTERM, drain) or ftpgwctl kill.
                check(r.startswith("421 Service shutting down.") or
                      r.startswith("421 Session ended by the operator."), "421 text: %r" % r)
                try:
                    more = ftp.getmultiline()
                except (EOFError, OSError):
                    return "421"
                raise Fail("after 421 the control connection stayed open: %r" % more)
        raise Fail("replies after the cut: %r, no 421 and no close" % replies)
    check(cut is None, "RETR %s: %s after %d bytes" % (name, cut, n))
    resp = ftp.voidresp()
    check(resp[:3] == "226", "RETR %s: final reply %r" % (name, resp))
    check(n == size and h.hexdigest() == fx.sha(name),
          "RETR %s: got %d bytes sha256 %s, expected %d bytes %s"
          % (name, n, h.hexdigest()[:16], size, fx.sha(name)[:16]))
    log("RETR %-12s %10d B %7.3f s (%.1f MiB/s, slowed down), sha256 ok, %s"
        % (name, n, dt, n / dt / (1 << 20), resp[:3]))
    return "complete"


def act_ops_session(a, fx):
    """One session doing STEPs in order: retr:NAME, stor:NAME,
    slowretr:NAME@BYTES-PER-SECOND, abortretr:NAME (ABOR after 1 MiB),
    cmd:COMMAND=CODES (a reply whose code starts with one of the
    comma-separated CODES), sleep:SECONDS, wait:FILE (until it exists)."""
    ftp = new_client(a)
    resp = ftp.connect(a.host, a.port)
    check(resp[:3] == "220", "greeting: %r" % resp)
    me = ops_addr(ftp.sock.getsockname())
    log("control connection from %s" % me)
    if a.info:
        ops_write(a.info, me)
    try:
        resp = ftp.login(a.user, a.password)
    except ftplib.Error as e:
        resp = str(e)
    check(resp[:3] == a.login_expect, "login: %r, expected %s" % (resp, a.login_expect))
    log("login -> %s" % resp[:3])
    if a.login_expect != "230":
        ftp.close()
        return
    check(ftp.sendcmd("TYPE I")[:3] == "200", "TYPE I")
    for step in a.steps:
        kind, _, arg = step.partition(":")
        if kind == "retr":
            retr(ftp, fx, arg)
        elif kind == "stor":
            stor(ftp, fx, arg, a.tag)
        elif kind == "slowretr":
            name, _, rate = arg.partition("@")
            if ops_slowretr(ftp, fx, a, name, float(rate)) != "complete":
                return
        elif kind == "abortretr":
            conn = ftp.transfercmd("RETR " + arg)
            got = 0
            while got < (1 << 20):
                b = conn.recv(BLOCK)
                check(b, "RETR %s ended after %d bytes, before ABOR" % (arg, got))
                got += len(b)
            ftp.putcmd("ABOR")
            conn.close()
            replies = []
            while not replies or replies[-1][:3] not in ("225", "226"):
                check(len(replies) < 3, "replies after ABOR: %r" % replies)
                replies.append(ftp.getmultiline())
            log("ABOR after %d bytes of %s: replies %s" % (got, arg, ",".join(r[:3] for r in replies)))
            check(ftp.sendcmd("NOOP")[:3] == "200", "NOOP after ABOR")
        elif kind == "cmd":
            cmd, _, codes = arg.rpartition("=")
            resp = reply_of(ftp, cmd)
            check(ops_codes_ok(resp, codes), "%s: %r, expected %s" % (cmd, resp, codes))
            log("%-30s -> %s" % (cmd, resp.split("\n")[0]))
        elif kind == "sleep":
            time.sleep(float(arg))
        elif kind == "wait":
            deadline = time.monotonic() + a.timeout
            while not os.path.exists(arg):
                check(time.monotonic() < deadline, "%s did not appear within %.0f s" % (arg, a.timeout))
                time.sleep(0.05)
        else:
            raise Fail("unknown step %r" % step)
    resp = ftp.quit()
    check(resp[:3] == "221", "QUIT: %r" % resp)


def act_ops_connloop(a, fx):
    """Connect again and again until --stop exists (at most --max s): each
    connection must get the 220 greeting and 221 to QUIT.  --ready is
    written after the first one."""
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    n = 0
    bad = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < a.max:
        if n and os.path.exists(a.stop):
            break
        n += 1
        try:
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect((a.host, a.port))
            f = s.makefile("rb")
            greet = f.readline()
            check(greet.startswith(b"220"), "greeting %r" % greet[:60])
            s.sendall(b"QUIT\r\n")
            bye = f.readline()
            check(bye.startswith(b"221"), "QUIT: %r" % bye[:60])
            f.close()
            s.close()
        except (OSError, Fail) as e:
            bad.append("attempt %d at %.2f s: %s" % (n, time.monotonic() - t0, e))
            s.close()
        if n == 1 and a.ready:
            ops_write(a.ready, "1")
    log("%d connections in %.2f s, %d failed" % (n, time.monotonic() - t0, len(bad)))
    for b in bad[:5]:
        log("  " + b)
    check(not bad, "%d of %d connections failed, first: %s" % (len(bad), n, bad[:1]))
    check(os.path.exists(a.stop), "stopped by --max (%.0f s), not by %s" % (a.max, a.stop))
    check(n >= a.min, "only %d connections, expected at least %d" % (n, a.min))


ACTIONS.update({"opssession": act_ops_session, "opsconnloop": act_ops_connloop})


def add_parsers(sub):
    x = sub.add_parser("opssession", help="one session doing STEPs (lanes-ops.sh)")
    x.add_argument("steps", nargs="*")
    x.add_argument("--info", help="write the client's control address here")
    x.add_argument("--ready", help="slowretr: written after the first MiB")
    x.add_argument("--login-expect", default="230", help="the reply code the login must get")
    x.add_argument("--expect-shutdown", action="store_true",
                   help="slowretr: the gateway must cut the transfer (421 or close)")
    x = sub.add_parser("opsconnloop", help="connections in a loop, none may fail (lanes-ops.sh)")
    x.add_argument("--stop", required=True, help="stop once this file exists")
    x.add_argument("--ready", help="written after the first connection")
    x.add_argument("--max", type=float, default=20, help="seconds at most")
    x.add_argument("--min", type=int, default=10, help="connections at least")
# ================================================================ end ops
