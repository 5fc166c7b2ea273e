#!/usr/bin/env python3
"""wkclient.py: the client side of lanes-workers.sh (runs in cli).  Exit 0
when every check held, else 1 with a FAIL line.  The generic helpers
(Fail, check, log, the fixtures' sums) are ftpcore.py's."""

import argparse
import concurrent.futures
import ftplib
import hashlib
import os
import random
import re
import socket
import struct
import subprocess
import sys
import time

from ftpcore import Fail, Fixtures, check, log

HEADER = "# id client server app state bytes-up bytes-down age-seconds user"
REFUSAL = "421 Too many connections; try again later."
DENIED = "502 Command not allowed by the gateway."
NWORKERS = 2


# ------------------------------------------------------------ the control sockets

def ctl(path, cmd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(path)
        s.sendall((cmd + "\n").encode())
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except OSError as e:
        raise Fail("control socket %s: %s" % (path, e))
    finally:
        s.close()
    return out.decode()


def sock_path(base, w):
    return base if w == 0 else "%s.%d" % (base, w)


def sessions_by_worker(base):
    """{worker: [fields of each session line]}, from each worker's raw answer."""
    res = {}
    for w in range(NWORKERS):
        lines = ctl(sock_path(base, w), "sessions").splitlines()
        check(len(lines) >= 2 and lines[0] == "# worker %d of %d" % (w, NWORKERS) and lines[1] == HEADER,
              "raw 'sessions' on %s begins %r, expected '# worker %d of %d' and the header"
              % (sock_path(base, w), lines[:2], w, NWORKERS))
        check(not any(l.startswith("#") for l in lines[2:]), "more '#' lines from worker %d" % w)
        res[w] = [l.split() for l in lines[2:]]
    return res


def where(base):
    """{'host:port' of a client: (worker, fields)}"""
    m = {}
    for w, rows in sessions_by_worker(base).items():
        for f in rows:
            check(f[1] not in m, "client %s listed by two workers" % f[1])
            m[f[1]] = (w, f)
    return m


def stats(base, w=0):
    d = {}
    for l in ctl(sock_path(base, w), "stats").splitlines():
        k, v = l.split()
        d[k] = int(v)
    return d


def key(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def wait_active(base, n, secs=5):
    t = time.time() + secs
    while True:
        a = stats(base)["sessions_active"]
        if a == n:
            return
        check(time.time() < t, "stats sessions_active %d, expected %d (waited %d s)" % (a, n, secs))
        time.sleep(0.05)


def slice_of(rng, w):
    lo, hi = (int(x) for x in rng.split("-"))
    size = hi - lo + 1
    return lo + size * w // NWORKERS, lo + size * (w + 1) // NWORKERS - 1


# ------------------------------------------------------------ a raw FTP client

class Raw:
    def __init__(self, dest, local=None, timeout=10):
        fam = socket.AF_INET6 if ":" in dest[0] else socket.AF_INET
        self.s = socket.socket(fam, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        if local is not None:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.s.bind(local)
        self.s.connect(dest)
        self.f = self.s.makefile("rb")
        self.host, self.port = self.s.getsockname()[:2]
        self.key = key(self.host, self.port)

    def line(self):
        l = self.f.readline()
        if not l:
            return None
        return l.decode("latin-1").rstrip("\r\n")

    def reply(self):
        l = self.line()
        if l is None:
            return 0, "(closed)"
        if len(l) >= 4 and l[3] == "-":
            while True:
                x = self.line()
                if x is None:
                    return 0, "(closed)"
                if x.startswith(l[:3] + " "):
                    l = x
                    break
        return (int(l[:3]) if l[:3].isdigit() else 0), l

    def cmd(self, c):
        self.s.sendall((c + "\r\n").encode())
        return self.reply()

    def expect(self, c, code):
        got, l = self.cmd(c)
        check(got == code, "%s from %s: %r, expected %d" % (c.split()[0], self.key, l, code))
        return l

    def login(self, user, pw):
        self.expect("USER " + user, 331)
        self.expect("PASS " + pw, 230)

    def closed(self):
        """The peer closed (EOF or reset) within the timeout."""
        try:
            return self.f.read() == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def rst(self):
        try:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()

    def close(self):
        self.f.close()
        self.s.close()

    def quit(self):
        try:
            self.cmd("QUIT")
        except OSError:
            pass
        self.close()


def sha(data):
    return hashlib.sha256(data).hexdigest()


def retr_pasv(a, c, rng, w, pasv_host):
    """PASV on raw session C of worker W: the 227 names PASV_HOST and a port
    of W's slice of RNG; RETR file-1MiB through it, sha256."""
    l = a.expect_pasv(c)
    m = re.search(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", l)
    check(m, "unparsable 227: %r" % l)
    n = [int(x) for x in m.groups()]
    host, port = "%d.%d.%d.%d" % tuple(n[:4]), n[4] * 256 + n[5]
    lo, hi = slice_of(rng, w)
    check(host == pasv_host, "227 of %s names %s, expected %s" % (c.key, host, pasv_host))
    check(lo <= port <= hi, "227 of %s (worker %d) names port %d, outside its slice %d-%d"
          % (c.key, w, port, lo, hi))
    d = socket.create_connection((host, port), timeout=10)
    code, l = c.cmd("RETR file-1MiB")
    check(code in (125, 150), "RETR from %s: %r" % (c.key, l))
    data = bytearray()
    while True:
        b = d.recv(1 << 16)
        if not b:
            break
        data += b
    d.close()
    code, l = c.reply()
    check(code == 226, "after RETR from %s: %r, expected 226" % (c.key, l))
    check(sha(data) == a.sums["file-1MiB"], "RETR file-1MiB on %s: %d bytes sha256 %s, expected %s"
          % (c.key, len(data), sha(data)[:16], a.sums["file-1MiB"][:16]))
    return port


# ------------------------------------------------------------ probing source ports

def free_port(rnd, tried):
    while True:
        p = rnd.randrange(20000, 30000)
        if p not in tried:
            tried.add(p)
            return p


def probe(a, local, dest, batch, want):
    """{source port of LOCAL: the worker SO_REUSEPORT gives its connections to
    DEST}, at least WANT ports per worker; BATCH connections at a time (the
    per-client limit), each reset once listed."""
    found, tried, rnd = {}, set(), random.Random()
    for rounds in range(40):
        counts = [list(found.values()).count(w) for w in range(NWORKERS)]
        if min(counts) >= want:
            break
        conns = []
        try:
            for i in range(batch):
                for attempt in range(5):
                    try:
                        c = Raw(dest, local=(local, free_port(rnd, tried)))
                        break
                    except OSError as e:
                        if attempt == 4:
                            raise Fail("probe: cannot connect from %s: %s" % (local, e))
                conns.append(c)
                code, l = c.reply()
                check(code == 220, "probe connection from %s: %r, expected 220" % (c.key, l))
            m = where(a.ctl)
            for c in conns:
                check(c.key in m, "probe: %s is not listed by any worker" % c.key)
                found[c.port] = m[c.key][0]
        finally:
            for c in conns:
                c.rst()
        # Until the gateway has let them go (the limits count them).
        t = time.time() + 5
        while any(k.startswith(key(local, 0)[:-1]) for k in where(a.ctl)):
            check(time.time() < t, "probe: the reset connections are still listed 5 s later")
            time.sleep(0.05)
    counts = [list(found.values()).count(w) for w in range(NWORKERS)]
    check(min(counts) >= want, "probe: %d rounds, ports per worker %s" % (rounds, counts))
    log("probed %d source ports of %s toward %s: %s"
        % (len(found), local, key(*dest), ", ".join("worker %d: %d" % (w, counts[w]) for w in range(NWORKERS))))
    return {w: [p for p, x in found.items() if x == w] for w in range(NWORKERS)}


# ------------------------------------------------------------ actions

def act_spread(a):
    """COUNT concurrent ftplib sessions through the redirect gateway."""
    def open_one(i):
        f = ftplib.FTP(timeout=20)
        f.connect(a.host, a.port)
        f.login(a.user, a.password)
        return f

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as ex:
        ftps = list(ex.map(open_one, range(a.count)))
    mine = {}
    for f in ftps:
        h, p = f.sock.getsockname()[:2]
        mine[key(h, p)] = f
    log("%d sessions logged in" % len(mine))
    try:
        # Each worker's own list (raw, on PATH and PATH.1).
        m = where(a.ctl)
        per = {w: 0 for w in range(NWORKERS)}
        for k in mine:
            check(k in m, "session from %s is listed by no worker" % k)
            w, fields = m[k]
            check(fields[4] == "ready" and fields[8] == a.user,
                  "session %s: state %s user %s, expected ready %s" % (k, fields[4], fields[8], a.user))
            per[w] += 1
        check(len(m) == len(mine), "the workers list %d sessions, expected %d" % (len(m), len(mine)))
        log("raw 'sessions': " + ", ".join("worker %d (%s) holds %d" % (w, sock_path(a.ctl, w), per[w])
                                           for w in range(NWORKERS)))
        check(all(per[w] > 0 for w in range(NWORKERS)), "not every worker holds a session: %s" % per)
        # ftpgwctl: one header, every session.
        out = subprocess.run([a.ftpgwctl, "-s", a.ctl, "sessions"], capture_output=True,
                             text=True, timeout=10)
        check(out.returncode == 0, "ftpgwctl sessions: exit %d %s" % (out.returncode, out.stderr))
        lines = out.stdout.splitlines()
        hdr = [l for l in lines if l.startswith("#")]
        check(hdr == [HEADER] and lines[0] == HEADER,
              "ftpgwctl sessions: '#' lines %r, expected the header once, first" % hdr)
        clients = sorted(l.split()[1] for l in lines[1:])
        check(clients == sorted(mine), "ftpgwctl sessions lists %d sessions (%d of ours), expected our %d"
              % (len(clients), len(set(clients) & set(mine)), len(mine)))
        ids = [l.split()[0] for l in lines[1:]]
        check(len(set(ids)) == len(ids), "ftpgwctl sessions: session ids repeat")
        log("ftpgwctl sessions: one header, %d sessions, ids unique" % len(clients))
        for w in range(NWORKERS):
            st = stats(a.ctl, w)
            check(st.get("sessions_active") == len(mine) and st.get("workers") == NWORKERS,
                  "stats on %s: sessions_active %s workers %s, expected %d and %d"
                  % (sock_path(a.ctl, w), st.get("sessions_active"), st.get("workers"), len(mine), NWORKERS))
        log("stats on every socket: sessions_active %d, workers %d" % (len(mine), NWORKERS))
        # PASV in each: the port is in the slice of the worker holding it.
        seen = {w: set() for w in range(NWORKERS)}
        for k, f in sorted(mine.items()):
            w = m[k][0]
            lo, hi = slice_of(a.pasv, w)
            resp = f.sendcmd("PASV")
            host, port = ftplib.parse227(resp)
            check(host == a.pasv_host, "227 of %s names %s, expected %s" % (k, host, a.pasv_host))
            check(lo <= port <= hi, "227 of %s (worker %d) names port %d, outside its slice %d-%d"
                  % (k, w, port, lo, hi))
            seen[w].add(port)
            d = socket.create_connection((host, port), timeout=10)
            resp = f.sendcmd("RETR file-1MiB")
            check(resp[:3] in ("125", "150"), "RETR on %s: %r" % (k, resp))
            data = bytearray()
            while True:
                b = d.recv(1 << 16)
                if not b:
                    break
                data += b
            d.close()
            resp = f.voidresp()
            check(sha(data) == a.sums["file-1MiB"], "RETR file-1MiB on %s: %d bytes sha256 %s"
                  % (k, len(data), sha(data)[:16]))
        for w in range(NWORKERS):
            log("worker %d: %d PASV ports, %d..%d (its slice %d-%d)"
                % ((w, len(seen[w]), min(seen[w]), max(seen[w])) + slice_of(a.pasv, w)))
        log("%d RETRs of file-1MiB: sha256 ok" % len(mine))
    finally:
        for f in mine.values():
            try:
                f.quit()
            except Exception:
                f.close()
    wait_active(a.ctl, 0)


def act_balance(a):
    """worker-balance = least-busy: ROUNDS sessions one after another (each
    logged in and listed before its QUIT) are all worker 0's; then sessions
    held open, opened one after another, go to workers 0 0 0 1 0 1: each to
    the first worker (by number) within 2 sessions of the least busy."""
    dest = (a.host, a.port)

    def open_listed(what):
        c = Raw(dest)
        code, l = c.reply()
        check(code == 220, "greeting of %s (%s): %r" % (what, c.key, l))
        c.login(a.user, a.password)
        m = where(a.ctl)
        check(c.key in m, "%s (%s) is listed by no worker" % (what, c.key))
        return c, m[c.key][0]

    for i in range(a.rounds):
        c, w = open_listed("session %d one after another" % (i + 1))
        c.quit()
        check(w == 0, "session %d of %d one after another (%s) is worker %d's, expected 0"
              % (i + 1, a.rounds, c.key, w))
    log("%d sessions one after another: all worker 0's" % a.rounds)
    wait_active(a.ctl, 0)
    expect, got, held = [0, 0, 0, 1, 0, 1], [], []
    try:
        for i in range(len(expect)):
            c, w = open_listed("held session %d" % (i + 1))
            held.append(c)
            got.append(w)
            check(got == expect[:len(got)], "held sessions went to workers %s, expected %s"
                  % (got, expect[:len(got)]))
        log("%d sessions held open: workers %s" % (len(held), got))
    finally:
        for c in held:
            c.quit()
    wait_active(a.ctl, 0)


def act_percli(a):
    """max-sessions-per-client = LIMIT: COUNT connections alternating between
    the workers; the first LIMIT admitted, the rest refused."""
    dest = (a.host, a.port)
    need = (a.count + 1) // NWORKERS
    by = probe(a, a.local, dest, a.limit, need)
    order = [(by[i % NWORKERS][i // NWORKERS], i % NWORKERS) for i in range(a.count)]
    st0 = stats(a.ctl)
    held, refused = [], []
    try:
        for i, (p, w) in enumerate(order):
            c = Raw(dest, local=(a.local, p), timeout=5)
            code, l = c.reply()
            log("connection %d from %s (worker %d by its port): %s" % (i + 1, c.key, w, l))
            if i < a.limit:
                check(code == 220, "connection %d: %r, expected 220" % (i + 1, l))
                held.append((c, w))
            else:
                check(l == REFUSAL, "connection %d: %r, expected %r" % (i + 1, l, REFUSAL))
                check(c.closed(), "refused connection %d was not closed" % (i + 1))
                refused.append((p, w))
                c.close()
        for c, w in held:
            c.login(a.user, a.password)
        m = where(a.ctl)
        for c, w in held:
            check(c.key in m and m[c.key][0] == w, "%s is listed by worker %s, expected %d (probed)"
                  % (c.key, m.get(c.key, ("none",))[0], w))
        check(len(m) == a.limit, "the workers list %d sessions, expected %d" % (len(m), a.limit))
        check(len({w for _, w in held}) == NWORKERS, "the admitted sessions are not on both workers")
        log("admitted and logged in: %s" % ", ".join("%s on worker %d" % (c.key, w) for c, w in held))
        log("refused: %s" % ", ".join("port %d (worker %d)" % r for r in refused))
        st = stats(a.ctl)
        check(st["sessions_active"] == a.limit, "stats sessions_active %d, expected %d"
              % (st["sessions_active"], a.limit))
        check(st["sessions_refused_limit"] - st0["sessions_refused_limit"] == len(refused),
              "sessions_refused_limit grew by %d, expected %d"
              % (st["sessions_refused_limit"] - st0["sessions_refused_limit"], len(refused)))
        log("stats: sessions_active %d, sessions_refused_limit +%d" % (a.limit, len(refused)))
        with open(a.refused, "w") as f:
            for p, w in refused:
                f.write("%d %d\n" % (p, w))
        # One goes: one more gets in, and no more.
        c, w = held.pop(0)
        c.expect("QUIT", 221)
        c.close()
        wait_active(a.ctl, a.limit - 1)
        c = Raw(dest, local=(a.local, 0))
        code, l = c.reply()
        check(code == 220, "after a QUIT, a new connection got %r, expected 220" % l)
        held.append((c, -1))
        c.login(a.user, a.password)
        log("after a QUIT: %s admitted, logged in" % c.key)
        c = Raw(dest, local=(a.local, 0), timeout=5)
        code, l = c.reply()
        check(l == REFUSAL and c.closed(), "the next connection got %r, expected %r and the close" % (l, REFUSAL))
        c.close()
        log("the next one (%s): %s" % (c.key, l))
        wait_active(a.ctl, a.limit)
    finally:
        for c, w in held:
            c.quit()
    wait_active(a.ctl, 0)


def act_maxsess(a):
    """max-sessions = 5 with 3 sessions from LOCAL and 2 from LOCAL6."""
    d4, d6 = (a.host, a.port), (a.host6, a.port)
    by4 = probe(a, a.local, d4, 3, 2)
    by6 = probe(a, a.local6, d6, 3, 2)
    st0 = stats(a.ctl)
    held, refused = [], []
    try:
        plan = [(a.local, d4, by4[0][0], 0), (a.local, d4, by4[1][0], 1), (a.local, d4, by4[0][1], 0),
                (a.local6, d6, by6[1][0], 1), (a.local6, d6, by6[0][0], 0)]
        for local, dest, p, w in plan:
            c = Raw(dest, local=(local, p))
            code, l = c.reply()
            check(code == 220, "%s (worker %d): %r, expected 220" % (c.key, w, l))
            c.login(a.user, a.password)
            held.append((c, w))
        m = where(a.ctl)
        for c, w in held:
            check(c.key in m and m[c.key][0] == w, "%s is listed by worker %s, expected %d (probed)"
                  % (c.key, m.get(c.key, ("none",))[0], w))
        log("admitted and logged in: %s" % ", ".join("%s on worker %d" % (c.key, w) for c, w in held))
        check(len(m) == 5, "the workers list %d sessions, expected 5" % len(m))
        st = stats(a.ctl)
        check(st["sessions_active"] == 5, "stats sessions_active %d, expected 5" % st["sessions_active"])
        log("stats: sessions_active 5")
        for local, dest, p, w in [(a.local6, d6, by6[0][1], 0), (a.local6, d6, by6[1][1], 1), (a.local, d4, 0, -1)]:
            c = Raw(dest, local=(local, p), timeout=5)
            code, l = c.reply()
            log("%s (worker %s): %s" % (c.key, w if w >= 0 else "?", l))
            check(l == REFUSAL and c.closed(), "%s: %r, expected %r and the close" % (c.key, l, REFUSAL))
            c.close()
            if local == a.local6:
                refused.append((p, w))
        st = stats(a.ctl)
        check(st["sessions_active"] == 5, "stats sessions_active %d, expected 5" % st["sessions_active"])
        check(st["sessions_refused_limit"] - st0["sessions_refused_limit"] == 3,
              "sessions_refused_limit grew by %d, expected 3"
              % (st["sessions_refused_limit"] - st0["sessions_refused_limit"]))
        log("stats: sessions_active 5, sessions_refused_limit +3")
        with open(a.refused, "w") as f:
            for p, w in refused:
                f.write("%d %d\n" % (p, w))
    finally:
        for c, w in held:
            c.quit()
    wait_active(a.ctl, 0)


def act_crash(a):
    """LIMIT sessions over both workers; READY; the shell kills worker DEAD
    and creates GO; then the survivors work and the dead ones are gone."""
    dest = (a.host, a.port)
    by = probe(a, a.local, dest, a.limit, a.limit // NWORKERS)
    held = []
    try:
        for i in range(a.limit):
            w = i % NWORKERS
            c = Raw(dest, local=(a.local, by[w][i // NWORKERS]))
            code, l = c.reply()
            check(code == 220, "%s: %r, expected 220" % (c.key, l))
            c.login(a.user, a.password)
            held.append((c, w))
        m = where(a.ctl)
        for c, w in held:
            check(c.key in m and m[c.key][0] == w, "%s is listed by worker %s, expected %d (probed)"
                  % (c.key, m.get(c.key, ("none",))[0], w))
        log("sessions: %s" % ", ".join("%s on worker %d" % (c.key, w) for c, w in held))
        c = Raw(dest, local=(a.local, 0), timeout=5)
        code, l = c.reply()
        check(l == REFUSAL, "a %dth session got %r, expected %r" % (a.limit + 1, l, REFUSAL))
        c.close()
        log("a %dth session: %s" % (a.limit + 1, l))
        open(a.ready, "w").close()
        t = time.time() + 30
        while not os.path.exists(a.go):
            check(time.time() < t, "no go from the shell within 30 s")
            time.sleep(0.05)
        log("== after the crash of worker %d" % a.dead)
        live = []
        for c, w in held:
            if w == a.dead:
                try:
                    code, l = c.cmd("NOOP")
                except OSError as e:
                    code, l = 0, repr(e)
                check(code == 0, "%s (on the dead worker) answered NOOP: %r" % (c.key, l))
                log("%s (worker %d, killed): NOOP -> %s" % (c.key, w, l))
                c.close()
            else:
                c.expect("NOOP", 200)
                port = retr_pasv(a, c, a.pasv, w, a.pasv_host)
                log("%s (worker %d): NOOP 200, PASV port %d, RETR file-1MiB sha256 ok" % (c.key, w, port))
                live.append((c, w))
        held = live
        wait_active(a.ctl, len(live), 3)
        m = where(a.ctl)
        check(sorted(m) == sorted(c.key for c, w in live) and all(m[c.key][0] == w for c, w in live),
              "after the crash the workers list %s, expected only %s" % (sorted(m), [c.key for c, w in live]))
        log("stats: sessions_active %d; the new worker %d lists none" % (len(live), a.dead))
        for i in range(a.limit - len(live)):
            c = Raw(dest, local=(a.local, 0))
            code, l = c.reply()
            check(code == 220, "new session %d after the crash: %r, expected 220" % (i + 1, l))
            c.login(a.user, a.password)
            held.append((c, -1))
            log("new session %s: 220, logged in" % c.key)
        c = Raw(dest, local=(a.local, 0), timeout=5)
        code, l = c.reply()
        check(l == REFUSAL, "a %dth session after the crash got %r, expected %r" % (a.limit + 1, l, REFUSAL))
        c.close()
        log("then a %dth: %s" % (a.limit + 1, l))
        wait_active(a.ctl, a.limit, 3)
    finally:
        for c, w in held:
            c.quit()
    wait_active(a.ctl, 0)


def act_mkd(a):
    """COUNT concurrent sessions (on both workers when COUNT > 1); MKD in each
    gets EXPECT (257: passed on, then RMD; 502: denied, nothing created)."""
    dest = (a.host, a.port)
    held = []
    try:
        for i in range(a.count):
            c = Raw(dest)
            code, l = c.reply()
            check(code == 220, "%s: %r" % (c.key, l))
            c.login(a.user, a.password)
            held.append(c)
        m = where(a.ctl)
        per = [0] * NWORKERS
        for c in held:
            check(c.key in m, "%s is listed by no worker" % c.key)
            per[m[c.key][0]] += 1
        log("sessions per worker: %s" % per)
        if a.count > 1:
            check(min(per) > 0, "the %d sessions are not on both workers: %s" % (a.count, per))
        for i, c in enumerate(held):
            name = "uploads/%s-%d" % (a.tag, i)
            code, l = c.cmd("MKD " + name)
            if a.expect == 257:
                check(code == 257, "MKD on %s (worker %d): %r, expected 257" % (c.key, m[c.key][0], l))
                check(os.path.isdir(os.path.join(a.dir, os.path.basename(name))), "MKD 257 but no directory")
                c.expect("RMD " + name, 250)
            else:
                check(l == DENIED, "MKD on %s (worker %d): %r, expected %r" % (c.key, m[c.key][0], l, DENIED))
                check(not os.path.exists(os.path.join(a.dir, os.path.basename(name))),
                      "MKD was denied but the directory exists")
        log("MKD in %d sessions: %s" % (a.count, "257, RMD 250" if a.expect == 257 else DENIED))
    finally:
        for c in held:
            c.quit()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--fixtures", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--ctl", required=True, help="control-socket PATH (worker 0)")
    sub = p.add_subparsers(dest="action", required=True)
    x = sub.add_parser("spread")
    x.add_argument("--host", required=True)
    x.add_argument("--port", type=int, required=True)
    x.add_argument("--count", type=int, default=40)
    x.add_argument("--pasv", required=True)
    x.add_argument("--pasv-host", required=True)
    x.add_argument("--ftpgwctl", required=True)
    x = sub.add_parser("balance")
    x.add_argument("--host", required=True)
    x.add_argument("--port", type=int, required=True)
    x.add_argument("--rounds", type=int, default=12)
    for name in ("percli", "maxsess", "crash"):
        x = sub.add_parser(name)
        x.add_argument("--host", required=True)
        x.add_argument("--port", type=int, required=True)
        x.add_argument("--local", required=True)
        x.add_argument("--limit", type=int, default=3)
        if name == "percli":
            x.add_argument("--count", type=int, default=8)
            x.add_argument("--refused", required=True)
        if name == "maxsess":
            x.add_argument("--host6", required=True)
            x.add_argument("--local6", required=True)
            x.add_argument("--refused", required=True)
        if name == "crash":
            x.add_argument("--pasv", required=True)
            x.add_argument("--pasv-host", required=True)
            x.add_argument("--dead", type=int, required=True)
            x.add_argument("--ready", required=True)
            x.add_argument("--go", required=True)
    x = sub.add_parser("mkd")
    x.add_argument("--host", required=True)
    x.add_argument("--port", type=int, required=True)
    x.add_argument("--count", type=int, required=True)
    x.add_argument("--expect", type=int, required=True)
    x.add_argument("--dir", required=True)
    x.add_argument("--tag", required=True)
    a = p.parse_args()
    a.sums = Fixtures(a.fixtures, None).sums
    a.expect_pasv = lambda c: c.expect("PASV", 227)
    try:
        {"spread": act_spread, "balance": act_balance, "percli": act_percli, "maxsess": act_maxsess,
         "crash": act_crash, "mkd": act_mkd}[a.action](a)
    except Fail as e:
        log("FAIL: %s" % e)
        return 1
    except (OSError, EOFError, ftplib.Error) as e:
        log("FAIL: %r" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
