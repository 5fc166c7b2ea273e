"""ftpclient_robust.py: ftpclient.py's actions of lanes-robust.sh (hostile
clients and servers, limits, timeouts): rob-*.  Imports only ftpcore;
ftpclient.py registers its options (add_parsers)."""

import ftplib
import hashlib
import os
import signal
import socket
import sys
import time

from ftpcore import (ACTIONS, BLOCK, Fail, check, connect, log, new_client,
                     parallel_sessions, retr, stor)


# ================================================================= robust
# Actions of tests/integration/lanes-robust.sh (hostile clients and
# servers, limits, timeouts).  Everything of that file lives in this module;
# add_parsers() is called from ftpclient.py's main(); parallel_sessions()
# is ftpcore's (lanes-kernel.sh uses it too).

def rob_raw_session(a, login):
    """A plain ftplib session (no TYPE I), logged in if LOGIN."""
    ftp = new_client(a, tls="none")
    resp = ftp.connect(a.host, a.port)
    check(resp[:3] == "220", "greeting: %r" % resp)
    if login:
        resp = ftp.login(a.user, a.password)
        check(resp[:3] == "230", "login: %r" % resp)
    return ftp


def rob_read_reply(ftp, what):
    try:
        return ftp.getmultiline()
    except EOFError:
        raise Fail("%s: the control connection was closed instead of a reply" % what)
    except socket.timeout:
        raise Fail("%s: no reply within %.0f s" % (what, ftp.timeout))
    except OSError as e:
        raise Fail("%s: control connection error %s" % (what, e))


def rob_expect_eof(ftp, what, wait=5):
    """The gateway must close the control connection within WAIT s."""
    ftp.sock.settimeout(wait)
    try:
        rest = ftp.file.readline()
    except socket.timeout:
        raise Fail("%s: the control connection is still open %d s later" % (what, wait))
    except OSError:
        rest = ""
    check(rest == "", "%s: more after the reply: %r" % (what, rest[:80]))


def rob_step_parse(spec):
    """'LINE => WANT[ ;; WANT...]': LINE with Python escapes (\\x00, \\r, \\n;
    CRLF is added unless it ends with \\n), WANT regular expressions, one
    per reply expected."""
    line, sep, want = spec.rpartition(" => ")
    check(sep, "step %r: no ' => '" % spec)
    raw = line.encode("latin-1").decode("unicode_escape").encode("latin-1")
    if not raw.endswith(b"\n"):
        raw += b"\r\n"
    return raw, [w.strip() for w in want.split(" ;; ")]


def act_rob_seq(a, fx):
    """Send each --step's line raw, check the replies; then (unless
    --closed) NOOP must get 200 (without --login: FEAT 211), and --retr
    RETRs 1 MiB (sha256) in --mode on the same session."""
    import re
    ftp = rob_raw_session(a, a.login)
    for spec in a.step:
        raw, wants = rob_step_parse(spec)
        ftp.sock.sendall(raw)
        for w in wants:
            resp = rob_read_reply(ftp, "%r" % raw[:60])
            first = resp.split("\n")[0]
            check(re.search(w, first), "%r -> %r, expected /%s/" % (raw[:60], first[:120], w))
            log("%-44r -> %s" % (raw[:44], first[:100]))
    if a.closed:
        rob_expect_eof(ftp, "after the last step")
        log("the gateway closed the control connection")
        return
    # The session still works: NOOP (FEAT before a login: vsftpd answers
    # nearly everything else with 530 then).
    probe, want = ("NOOP", "200") if a.login else ("FEAT", "211")
    resp = ftp.sendcmd(probe)
    check(resp[:3] == want, "%s after the steps: %r" % (probe, resp))
    log("%s -> %s" % (probe, resp))
    if a.retr:
        check(ftp.sendcmd("TYPE I")[:3] == "200", "TYPE I")
        retr(ftp, fx, "file-1MiB")
    ftp.quit()


def act_rob_wait(a, fx):
    """Connect (--login: and log in), send nothing, and expect the reply
    --want to arrive between --min and --max seconds later; then the
    gateway closes the connection."""
    import re
    t0 = time.monotonic()
    ftp = new_client(a, tls="none")
    ftp.timeout = a.max + 5
    if a.login:
        resp = ftp.connect(a.host, a.port)
        check(resp[:3] == "220", "greeting: %r" % resp)
        resp = ftp.sendcmd("USER " + a.user)
        check(resp[:3] == "331", "USER: %r" % resp)
        # Idle counts from the client's last command: a server slow to
        # answer PASS (PAM under load) must not shorten the time measured.
        t0 = time.monotonic()
        resp = ftp.sendcmd("PASS " + a.password)
        check(resp[:3] == "230", "login: %r" % resp)
        what = "after PASS"
    else:
        ftp.sock = socket.create_connection((a.host, a.port), ftp.timeout)
        ftp.file = ftp.sock.makefile("r", encoding=ftp.encoding)
        what = "after the connect"
    resp = rob_read_reply(ftp, what)
    dt = time.monotonic() - t0
    log("%.2f s %s: %s" % (dt, what, resp))
    check(re.search(a.want, resp), "reply %r, expected /%s/" % (resp, a.want))
    check(a.min <= dt <= a.max, "the reply came %.2f s %s, expected %.1f..%.1f s"
          % (dt, what, a.min, a.max))
    rob_expect_eof(ftp, "after %s" % resp[:3])
    log("then the gateway closed the connection")


def act_rob_hold(a, fx):
    """--hold sessions open (greeting 220 each); then one more from here
    must get --want and be closed; --extra-host: one more from that
    address must still get 220; then all close, and a normal session (login,
    RETR 1 MiB sha256) gets in within 5 s."""
    import re
    held = []
    for i in range(a.hold):
        s = socket.create_connection((a.host, a.port), a.timeout)
        f = s.makefile("rb")
        g = f.readline()
        check(g.startswith(b"220"), "held session %d: greeting %r" % (i + 1, g[:80]))
        held.append((s, f))
    log("%d sessions open (220 each)" % len(held))
    s = socket.create_connection((a.host, a.port), a.timeout)
    f = s.makefile("rb")
    g = f.readline().decode("latin-1").rstrip()
    check(re.search(a.want, g), "session %d: %r, expected /%s/" % (a.hold + 1, g[:80], a.want))
    s.settimeout(5)
    try:
        more = f.readline()
    except socket.timeout:
        raise Fail("session %d: still open 5 s after %r" % (a.hold + 1, g))
    except OSError:
        more = b""
    check(more == b"", "session %d: more after the refusal: %r" % (a.hold + 1, more[:80]))
    log("session %d: %s, then closed" % (a.hold + 1, g))
    s.close()
    if a.extra_host:
        s = socket.create_connection((a.extra_host, a.port), a.timeout)
        g = s.makefile("rb").readline()
        check(g.startswith(b"220"), "a session from %s: %r, expected 220" % (s.getsockname()[0], g[:80]))
        log("a session from %s meanwhile: %s" % (s.getsockname()[0], g.decode().rstrip()))
        s.close()
    for s, f in held:
        s.sendall(b"QUIT\r\n")
        f.readline()
        s.close()
    deadline = time.monotonic() + 5
    while True:
        try:
            ftp = connect(a)
            break
        except (ftplib.error_temp, Fail) as e:
            if time.monotonic() > deadline:
                raise Fail("no session 5 s after the held ones closed: %s" % e)
            time.sleep(0.2)
    retr(ftp, fx, "file-1MiB")
    ftp.quit()


def act_rob_pasvports(a, fx):
    """--count PASVs on one session: the gateway's ports must lie in
    --lo..--hi and be neither increasing nor mostly consecutive."""
    ftp = connect(a, "pasv")
    ports = []
    for i in range(a.count):
        resp = ftp.sendcmd("PASV")
        check(resp[:3] == "227", "PASV %d: %r" % (i + 1, resp))
        ports.append(ftplib.parse227(resp)[1])
    log("ports: %s" % " ".join(str(p) for p in ports))
    check(all(a.lo <= p <= a.hi for p in ports), "a port outside %d-%d" % (a.lo, a.hi))
    steps = sum(1 for x, y in zip(ports, ports[1:]) if y == x + 1)
    check(ports != sorted(ports), "the ports are in increasing order")
    check(steps <= 3, "%d of %d steps are +1: sequential allocation" % (steps, len(ports) - 1))
    log("%d distinct, %d consecutive steps, not sorted" % (len(set(ports)), steps))
    retr(ftp, fx, "file-1MiB")
    ftp.quit()


def act_rob_slowloris(a, fx):
    """A logged-in client sends 'NOOP slowloris' one byte per --interval
    s, no line end, while a normal session RETRs 64 MiB and STORs 1 MiB
    (sha256): those must finish while the slow line is still incomplete;
    then the slow client's line end gets 200."""
    import threading
    slow = socket.create_connection((a.host, a.port), a.timeout)
    sf = slow.makefile("rb")
    g = sf.readline()
    check(g.startswith(b"220"), "slow client: greeting %r" % g[:80])
    for line, code in (("USER " + a.user, b"331"), ("PASS " + a.password, b"230")):
        slow.sendall(line.encode() + b"\r\n")
        while True:
            r = sf.readline()
            check(r[:3] == code, "slow client: %s -> %r" % (line.split()[0], r[:80]))
            if r[3:4] != b"-":
                break
    payload = b"NOOP slowloris"[:a.bytes]
    state = {"sent": 0, "err": None}

    def drip():
        try:
            for i in range(len(payload)):
                slow.sendall(payload[i:i + 1])
                state["sent"] = i + 1
                time.sleep(a.interval)
        except OSError as e:
            state["err"] = e

    t0 = time.monotonic()
    th = threading.Thread(target=drip)
    th.start()
    ftp = connect(a)
    retr(ftp, fx, "file-64MiB")
    stor(ftp, fx, "file-1MiB", a.tag)
    ftp.quit()
    dt = time.monotonic() - t0
    sent = state["sent"]
    log("normal session done in %.2f s while the slow client had sent %d of %d bytes"
        % (dt, sent, len(payload)))
    check(th.is_alive(), "the slow client finished first (%.1f s): the test proves nothing" % dt)
    th.join()
    check(state["err"] is None, "slow client: %s" % state["err"])
    slow.sendall(b"\r\n")
    r = sf.readline()
    check(r.startswith(b"200"), "slow client's line after %d s: %r" % (len(payload) * a.interval, r[:80]))
    log("slow client's line (%.0f s) -> %s" % (time.monotonic() - t0, r.decode().rstrip()))
    slow.close()


def act_rob_killretr(a, fx):
    """Start RETR 64 MiB, read --after bytes, then die by SIGKILL (the
    kernel closes the sockets, nothing else is sent)."""
    ftp = connect(a)
    conn = ftp.transfercmd("RETR file-64MiB")
    got = 0
    while got < a.after:
        b = conn.recv(BLOCK)
        check(b, "data ended after %d bytes" % got)
        got += len(b)
    log("%d bytes read; SIGKILL" % got)
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def act_rob_sessions(a, fx):
    """--count sessions (login, NOOP, QUIT), --parallel at a time."""
    def one(i):
        ftp = ftplib.FTP(timeout=a.timeout)
        ftp.connect(a.host, a.port)
        ftp.login(a.user, a.password)
        r = ftp.sendcmd("NOOP")
        check(r[:3] == "200", "NOOP: %r" % r)
        r = ftp.quit()
        check(r[:3] == "221", "QUIT: %r" % r)
        ftp.close()

    parallel_sessions(a, one, "login, NOOP, QUIT")


def act_rob_slowretr(a, fx):
    """RETR 64 MiB read at a pace that would take --seconds s; with
    --fast-after F the rest is read at full speed from F s on.  226 and
    the sha256 must be right.  --then-wait W: W s after the 226, NOOP
    must still get 200 (the session was not idle before that)."""
    ftp = connect(a)
    name = "file-64MiB"
    size = fx.size(name)
    pause = a.seconds / (size / BLOCK)
    conn = ftp.transfercmd("RETR " + name)
    h = hashlib.sha256()
    n = 0
    t0 = time.monotonic()
    fast_at = None
    while True:
        try:
            b = conn.recv(BLOCK)
        except OSError as e:
            raise Fail("data connection error after %d bytes, %.1f s: %s" % (n, time.monotonic() - t0, e))
        if not b:
            break
        h.update(b)
        n += len(b)
        if a.fast_after is not None and time.monotonic() - t0 >= a.fast_after:
            if fast_at is None:
                fast_at = n
            continue
        time.sleep(pause * len(b) / BLOCK)
    conn.close()
    resp = rob_read_reply(ftp, "RETR's final reply")
    dt = time.monotonic() - t0
    log("RETR %s: %d B in %.1f s%s, %s" % (name, n, dt, "" if fast_at is None else
        " (full speed from %.1f s on, after %d B)" % (a.fast_after, fast_at), resp))
    check(resp[:3] == "226", "RETR final reply %r" % resp)
    check(n == size and h.hexdigest() == fx.sha(name), "RETR: %d bytes sha256 %s" % (n, h.hexdigest()[:16]))
    check(dt >= min(a.seconds, a.fast_after or a.seconds) * 0.8, "the transfer took only %.1f s" % dt)
    if a.fast_after is not None:
        check(fast_at is not None and fast_at < size // 2,
              "%s B of %d left for the fast part: too little to end the transfer on time" % (size - (fast_at or size), size))
    if a.then_wait is None:
        ftp.close()
        return
    time.sleep(a.then_wait)
    ftp.sock.sendall(b"NOOP\r\n")
    resp = rob_read_reply(ftp, "NOOP %.1f s after the 226" % a.then_wait)
    log("NOOP %.1f s after the 226 (%.1f s after the RETR) -> %s"
        % (a.then_wait, time.monotonic() - t0, resp))
    check(resp[:3] == "200", "NOOP %.1f s after the transfer's 226: %r" % (a.then_wait, resp))
    ftp.quit()


def act_rob_datatimeout(a, fx):
    """PASV (or PORT: --mode), then no data connection for --wait s;
    then RETR must get a 4xx/5xx reply (not hang); NOOP 200 and a proper
    RETR 1 MiB (sha256) on the same session."""
    ftp = connect(a)
    if a.mode == "pasv":
        resp = ftp.sendcmd("PASV")
        check(resp[:3] == "227", "PASV: %r" % resp)
    else:
        resp = ftp.sendcmd("EPSV")
        check(resp[:3] == "229", "EPSV: %r" % resp)
    log("%s, then nothing for %.1f s" % (resp, a.wait))
    time.sleep(a.wait)
    ftp.sock.sendall(b"RETR file-1MiB\r\n")
    t0 = time.monotonic()
    resp = rob_read_reply(ftp, "RETR after the data timeout")
    if resp[:1] == "1":
        log("RETR -> %s" % resp)
        resp = rob_read_reply(ftp, "RETR's final reply after the data timeout")
    log("RETR -> %s (%.2f s)" % (resp, time.monotonic() - t0))
    check(resp[:1] in ("4", "5"), "RETR after the data timeout: %r, expected 4xx/5xx" % resp)
    resp = ftp.sendcmd("NOOP")
    check(resp[:3] == "200", "NOOP: %r" % resp)
    retr(ftp, fx, "file-1MiB")
    ftp.quit()


def act_rob_retrfail(a, fx):
    """RETR 64 MiB from a server that drops everything part-way: the
    client must get less than 64 MiB and an error reply (--want) within
    --max s, not hang."""
    import re
    ftp = connect(a)
    t0 = time.monotonic()
    conn = ftp.transfercmd("RETR file-64MiB")
    conn.settimeout(a.max)
    n = 0
    err = None
    while True:
        try:
            b = conn.recv(BLOCK)
        except socket.timeout:
            raise Fail("the data connection hangs after %d bytes (%.0f s)" % (n, a.max))
        except OSError as e:
            err = e
            break
        if not b:
            break
        n += len(b)
    conn.close()
    log("data: %d bytes, then %s (%.2f s)" % (n, err or "EOF", time.monotonic() - t0))
    check(n < fx.size("file-64MiB"), "all 64 MiB arrived")
    ftp.sock.settimeout(max(1, a.max - (time.monotonic() - t0)))
    try:
        resp = ftp.getmultiline()
    except socket.timeout:
        raise Fail("no reply on the control connection within %.0f s" % a.max)
    except (EOFError, OSError) as e:
        raise Fail("the control connection ended without a reply: %r" % e)
    log("control: %s (%.2f s)" % (resp, time.monotonic() - t0))
    check(re.search(a.want, resp), "reply %r, expected /%s/" % (resp, a.want))


def act_rob_stall(a, fx):
    """RETR 64 MiB from a server whose data connection sends nothing: the
    client's own --stall-timeout ends it; then the client goes away."""
    ftp = connect(a)
    conn = ftp.transfercmd("RETR file-64MiB")
    conn.settimeout(a.stall_timeout)
    t0 = time.monotonic()
    try:
        b = conn.recv(BLOCK)
    except socket.timeout:
        log("no data for %.1f s: the client gives up" % (time.monotonic() - t0))
    else:
        raise Fail("the stalled data connection gave %r" % b[:40])
    conn.close()
    ftp.close()


def add_parsers(sub):
    x = sub.add_parser("rob-seq", help="raw lines and the replies they must get (lanes-robust.sh)")
    x.add_argument("--step", action="append", default=[], help="'LINE => WANT-RE[ ;; WANT-RE...]'")
    x.add_argument("--login", action="store_true", help="log in first")
    x.add_argument("--closed", action="store_true", help="the gateway must close the session after the steps")
    x.add_argument("--retr", action="store_true", help="then RETR 1 MiB in --mode (sha256)")
    x = sub.add_parser("rob-wait", help="send nothing: a reply must come in time (lanes-robust.sh)")
    x.add_argument("--login", action="store_true")
    x.add_argument("--want", required=True, help="regular expression for the reply")
    x.add_argument("--min", type=float, default=0)
    x.add_argument("--max", type=float, default=5)
    x = sub.add_parser("rob-hold", help="session limits (lanes-robust.sh)")
    x.add_argument("--hold", type=int, required=True)
    x.add_argument("--want", default=r"^421 Too many connections; try again later\.$")
    x.add_argument("--extra-host", help="a session from this address must still get in")
    x = sub.add_parser("rob-pasvports", help="passive ports are random (lanes-robust.sh)")
    x.add_argument("--count", type=int, default=30)
    x.add_argument("--lo", type=int, default=50000)
    x.add_argument("--hi", type=int, default=50999)
    x = sub.add_parser("rob-slowloris", help="a one-byte-a-second client beside a normal one (lanes-robust.sh)")
    x.add_argument("--bytes", type=int, default=10)
    x.add_argument("--interval", type=float, default=1.0)
    x = sub.add_parser("rob-killretr", help="die by SIGKILL during a 64 MiB RETR (lanes-robust.sh)")
    x.add_argument("--after", type=int, default=4 << 20)
    x = sub.add_parser("rob-sessions", help="many short sessions (lanes-robust.sh)")
    x.add_argument("--count", type=int, default=1000)
    x.add_argument("--parallel", type=int, default=4)
    x = sub.add_parser("rob-slowretr", help="a slow 64 MiB RETR (lanes-robust.sh)")
    x.add_argument("--seconds", type=float, default=6, help="the pace: the whole file in this time")
    x.add_argument("--fast-after", type=float, help="full speed from this second on")
    x.add_argument("--then-wait", type=float, help="then NOOP this long after the 226")
    x = sub.add_parser("rob-datatimeout", help="PASV/EPSV, no data connection, then RETR (lanes-robust.sh)")
    x.add_argument("--wait", type=float, default=3.5)
    x = sub.add_parser("rob-retrfail", help="RETR from a server that drops it (lanes-robust.sh)")
    x.add_argument("--want", default=r"^(421|426|451) ")
    x.add_argument("--max", type=float, default=15)
    x = sub.add_parser("rob-stall", help="RETR from a server whose data stalls (lanes-robust.sh)")
    x.add_argument("--stall-timeout", type=float, default=3)


ACTIONS.update({
    "rob-seq": act_rob_seq, "rob-wait": act_rob_wait, "rob-hold": act_rob_hold,
    "rob-pasvports": act_rob_pasvports, "rob-slowloris": act_rob_slowloris,
    "rob-killretr": act_rob_killretr, "rob-sessions": act_rob_sessions,
    "rob-slowretr": act_rob_slowretr, "rob-datatimeout": act_rob_datatimeout,
    "rob-retrfail": act_rob_retrfail, "rob-stall": act_rob_stall,
})
# ============================================================= end robust
