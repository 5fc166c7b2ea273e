#!/usr/bin/env python3
"""ftpclient.py: the python3 ftplib scenario driver of ftpgw's integration tests.

Standard library only.  Every action exits 0 when everything it checked was
right, 1 with a one-line reason on stderr otherwise (2 for usage errors).
The data-channel mode is forced (PASV, EPSV, PORT or EPRT): ftplib would
otherwise choose by address family.

Fixtures: --fixtures DIR holds the files and SHA256SUMS (sha256sum format).
Uploads go to uploads/TAG-NAME; the uploaded file is read back from the
server's disk (--server-root, default the fixtures dir) and its sha256
compared, then removed.
"""

import argparse
import ftplib
import hashlib
import io
import ipaddress
import json
import os
import socket
import sys
import time

SIZES = {"0B": 0, "1B": 1, "1MiB": 1 << 20, "64MiB": 64 << 20}
BLOCK = 256 * 1024


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def log(msg):
    print(msg, flush=True)


def fname(size):
    return "file-" + size


class Fixtures:
    def __init__(self, root, server_root):
        self.root = root
        self.server_root = server_root or root
        self.sums = {}
        with open(os.path.join(root, "SHA256SUMS")) as f:
            for line in f:
                digest, name = line.split()
                self.sums[name.lstrip("*")] = digest

    def path(self, name):
        return os.path.join(self.root, name)

    def sha(self, name):
        return self.sums[name]

    def size(self, name):
        return os.path.getsize(self.path(name))

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def check_uploaded(self, remote, expect_sha, expect_size):
        p = os.path.join(self.server_root, remote)
        check(os.path.exists(p), "uploaded file %s is not on the server's disk" % remote)
        h = hashlib.sha256()
        n = 0
        with open(p, "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                h.update(b)
                n += len(b)
        check(n == expect_size and h.hexdigest() == expect_sha,
              "uploaded %s on the server's disk: %d bytes sha256 %s, expected %d bytes %s"
              % (remote, n, h.hexdigest()[:16], expect_size, expect_sha[:16]))
        os.unlink(p)


class ForcedFTP(ftplib.FTP):
    """ftplib.FTP with the data-connection mode forced and checked.

    PASV connects to the address in the 227 reply (so a wrong 227 fails),
    EPSV to the control peer, PORT/EPRT listen on the control connection's
    local address.  expect_pasv_host / expect_data_peer assert the address
    the client sees (transparency checks)."""

    trust_server_pasv_ipv4_address = True

    def __init__(self, mode, timeout, expect_pasv_host=None, expect_data_peer=None):
        super().__init__(timeout=timeout)
        self.mode = mode
        self.expect_pasv_host = expect_pasv_host
        self.expect_data_peer = expect_data_peer
        self.passiveserver = mode in ("pasv", "epsv")
        self.last_pasv = None

    def makepasv(self):
        if self.mode == "pasv":
            resp = self.sendcmd("PASV")
            check(resp[:3] == "227", "PASV: %r" % resp)
            host, port = ftplib.parse227(resp)
        elif self.mode == "epsv":
            resp = self.sendcmd("EPSV")
            check(resp[:3] == "229", "EPSV: %r" % resp)
            host, port = ftplib.parse229(resp, self.sock.getpeername())
        else:
            raise Fail("makepasv in mode " + self.mode)
        self.last_pasv = (host, port)
        if self.expect_pasv_host and self.mode == "pasv":
            check(host == self.expect_pasv_host,
                  "227 address %s, expected %s (%r)" % (host, self.expect_pasv_host, resp))
        return host, port

    def makeport(self):
        local = self.sock.getsockname()[0]
        fam = self.sock.family
        sock = socket.socket(fam, socket.SOCK_STREAM)
        sock.bind((local, 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        if self.mode == "port":
            check(fam == socket.AF_INET, "PORT needs an IPv4 control connection")
            resp = self.sendcmd("PORT %s,%d,%d" % (local.replace(".", ","), port >> 8, port & 255))
        elif self.mode == "eprt":
            af = 1 if fam == socket.AF_INET else 2
            resp = self.sendcmd("EPRT |%d|%s|%d|" % (af, local, port))
        else:
            raise Fail("makeport in mode " + self.mode)
        check(resp[:3] == "200", "%s: %r" % (self.mode.upper(), resp))
        if self.timeout is not None:
            sock.settimeout(self.timeout)
        return sock

    def ntransfercmd(self, cmd, rest=None):
        conn, size = super().ntransfercmd(cmd, rest)
        if self.expect_data_peer:
            peer = conn.getpeername()[0]
            if peer.startswith("::ffff:"):
                peer = peer[7:]
            check(ipaddress.ip_address(peer) == ipaddress.ip_address(self.expect_data_peer),
                  "data connection peer %s, expected %s" % (peer, self.expect_data_peer))
        return conn, size


def connect(a, mode=None):
    ftp = ForcedFTP(mode or a.mode, a.timeout, a.expect_pasv_host, a.expect_data_peer)
    resp = ftp.connect(a.host, a.port)
    check(resp[:3] == "220", "greeting: %r" % resp)
    resp = ftp.login(a.user, a.password)
    check(resp[:3] == "230", "login: %r" % resp)
    resp = ftp.sendcmd("TYPE I")
    check(resp[:3] == "200", "TYPE I: %r" % resp)
    return ftp


def retr(ftp, fx, name, rest=None, quiet=False):
    h = hashlib.sha256()
    n = [0]

    def cb(b):
        h.update(b)
        n[0] += len(b)

    t = time.monotonic()
    resp = ftp.retrbinary("RETR " + name, cb, BLOCK, rest)
    dt = time.monotonic() - t
    check(resp[:3] in ("226", "250"), "RETR %s: final reply %r" % (name, resp))
    if rest is None:
        exp_sha, exp_size = fx.sha(name), fx.size(name)
    else:
        tail = fx.read(name)[rest:]
        exp_sha, exp_size = hashlib.sha256(tail).hexdigest(), len(tail)
    check(n[0] == exp_size and h.hexdigest() == exp_sha,
          "RETR %s%s: got %d bytes sha256 %s, expected %d bytes %s"
          % (name, "" if rest is None else " REST %d" % rest, n[0], h.hexdigest()[:16],
             exp_size, exp_sha[:16]))
    if not quiet:
        log("RETR %-12s %10d B %7.3f s%s" % (name, n[0], dt, "" if rest is None else " (REST %d)" % rest))


def stor(ftp, fx, name, tag):
    remote = "uploads/%s-%s" % (tag, name)
    t = time.monotonic()
    with open(fx.path(name), "rb") as f:
        resp = ftp.storbinary("STOR " + remote, f, BLOCK)
    dt = time.monotonic() - t
    check(resp[:3] in ("226", "250"), "STOR %s: final reply %r" % (remote, resp))
    fx.check_uploaded(remote, fx.sha(name), fx.size(name))
    log("STOR %-12s %10d B %7.3f s" % (name, fx.size(name), dt))


def do_list(ftp, names):
    lines = []
    resp = ftp.retrlines("LIST", lines.append)
    check(resp[:3] in ("226", "250"), "LIST: final reply %r" % resp)
    text = "\n".join(lines)
    for n in names:
        check(n in text, "LIST does not show %s: %r" % (n, text[:300]))
    log("LIST %d lines" % len(lines))


def act_xfer(a, fx):
    ftp = connect(a)
    sizes = a.sizes.split(",")
    for s in sizes:
        check(s in SIZES, "unknown size " + s)
        retr(ftp, fx, fname(s))
        stor(ftp, fx, fname(s), a.tag)
    if a.list:
        do_list(ftp, [fname(s) for s in sizes])
    check(ftp.quit()[:3] == "221", "QUIT")


def reply_of(ftp, cmd):
    try:
        resp = ftp.sendcmd(cmd)
    except ftplib.Error as e:
        resp = str(e)
    return resp


CODES_COMMON = ["FEAT", "HELP", "STAT", "SYST", "OPTS UTF8 ON", "SITE HELP",
                "MDTM file-1MiB", "SIZE file-1MiB", "NOOP"]


def act_codes(a, fx):
    cmds = list(CODES_COMMON)
    if a.server == "pyftpdlib":
        cmds.append("MLST file-1MiB")
    ftp = connect(a)
    out = {}
    for c in cmds:
        r = reply_of(ftp, c)
        out[c] = {"code": r[:3], "lines": len(r.split("\n"))}
        log("%-16s -> %s (%d lines)" % (c, r[:3], out[c]["lines"]))
    ftp.quit()
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)


def act_compare(a, fx):
    with open(a.direct) as f:
        direct = json.load(f)
    with open(a.gateway) as f:
        gw = json.load(f)
    bad = []
    for c, d in direct.items():
        g = gw.get(c)
        if g is None or g["code"] != d["code"]:
            bad.append("%s: direct %s, through the gateway %s" % (c, d["code"], g and g["code"]))
    check(not bad, "; ".join(bad))
    check(gw["FEAT"]["lines"] > 1, "FEAT through the gateway is not multi-line")
    log("all %d reply codes equal" % len(direct))


def act_longline(a, fx):
    ftp = connect(a)
    line = b"NOOP " + b"A" * (a.length - 7) + b"\r\n"
    check(len(line) == a.length, "line length")
    ftp.sock.sendall(line)
    try:
        resp = ftp.getmultiline()
    except (EOFError, OSError) as e:
        raise Fail("session closed after a %d-byte line: %r" % (a.length, e))
    check(resp[:3] == "500", "reply to a %d-byte line: %r" % (a.length, resp[:80]))
    log("%d-byte line -> %s" % (a.length, resp[:60]))
    resp = ftp.sendcmd("NOOP")
    check(resp[:3] == "200", "NOOP after the long line: %r" % resp)
    retr(ftp, fx, "file-1MiB")
    ftp.quit()


def act_rest(a, fx):
    ftp = connect(a)
    for off in (a.offset, 1):
        retr(ftp, fx, "file-1MiB", rest=off)
    retr(ftp, fx, "file-1MiB")
    ftp.quit()


def act_appe(a, fx):
    ftp = connect(a)
    data = fx.read("file-1MiB")
    remote = "uploads/%s-appe" % a.tag
    cut = 300007
    resp = ftp.storbinary("STOR " + remote, io.BytesIO(data[:cut]), BLOCK)
    check(resp[:3] in ("226", "250"), "STOR first part: %r" % resp)
    resp = ftp.storbinary("APPE " + remote, io.BytesIO(data[cut:]), BLOCK)
    check(resp[:3] in ("226", "250"), "APPE: %r" % resp)
    fx.check_uploaded(remote, fx.sha("file-1MiB"), len(data))
    log("STOR %d + APPE %d bytes: sha256 ok" % (cut, len(data) - cut))
    ftp.quit()


def act_nlst(a, fx):
    ftp = connect(a)
    names = ftp.nlst()
    for s in SIZES:
        check(fname(s) in names, "NLST lacks %s: %r" % (fname(s), names))
    log("NLST %d names" % len(names))
    ftp.quit()


def act_mlsd(a, fx):
    ftp = connect(a)
    entries = dict(ftp.mlsd(facts=["type", "size"]))
    for s, n in SIZES.items():
        e = entries.get(fname(s))
        check(e is not None, "MLSD lacks %s" % fname(s))
        check(e.get("type") == "file" and int(e.get("size", -1)) == n,
              "MLSD %s: %r" % (fname(s), e))
    log("MLSD %d entries" % len(entries))
    ftp.quit()


def act_abor(a, fx):
    ftp = connect(a)
    conn = ftp.transfercmd("RETR file-64MiB")
    got = 0
    while got < a.abort_after:
        b = conn.recv(BLOCK)
        check(b, "data connection ended after %d bytes, before ABOR" % got)
        got += len(b)
    # What ftplib.FTP.abort() sends (ABOR with MSG_OOB), then drop the data
    # connection, as clients do.
    ftp.sock.sendall(b"ABOR" + ftplib.B_CRLF, socket.MSG_OOB)
    conn.close()
    replies = []
    while True:
        try:
            r = ftp.getmultiline()
        except (EOFError, OSError) as e:
            raise Fail("control connection lost after ABOR (replies so far %r): %r" % (replies, e))
        replies.append(r[:3])
        if r[:3] in ("225", "226") or len(replies) >= 3:
            break
        check(r[:3] in ("426", "451"), "unexpected reply after ABOR: %r" % r)
    check(replies[-1] in ("225", "226"), "replies after ABOR: %r" % replies)
    log("ABOR after %d bytes: replies %s" % (got, ",".join(replies)))
    resp = ftp.sendcmd("NOOP")
    check(resp[:3] == "200", "NOOP after ABOR: %r (a stray reply?)" % resp)
    retr(ftp, fx, "file-1MiB")
    ftp.quit()


def act_many(a, fx):
    ftp = connect(a)
    t = time.monotonic()
    for i in range(a.count):
        try:
            retr(ftp, fx, "file-1MiB", quiet=True)
        except Fail as e:
            raise Fail("RETR %d of %d: %s" % (i + 1, a.count, e))
    log("%d RETRs in %.2f s" % (a.count, time.monotonic() - t))
    ftp.quit()


def act_refused(a, fx):
    """The connection must be closed, or answered 4xx/5xx, within --wait s."""
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(a.wait)
    try:
        s.connect((a.host, a.port))
    except ConnectionRefusedError:
        log("connection refused")
        return
    deadline = time.monotonic() + a.wait
    buf = b""
    while True:
        left = deadline - time.monotonic()
        check(left > 0, "still open after %.0f s without a 4xx/5xx reply (got %r)" % (a.wait, buf[:80]))
        s.settimeout(left)
        try:
            b = s.recv(4096)
        except ConnectionResetError:
            log("connection reset (got %r)" % buf[:80])
            return
        except socket.timeout:
            continue
        if not b:
            log("connection closed (got %r)" % buf[:80])
            check(not buf.startswith(b"2"), "a 2xx greeting before the close: %r" % buf[:80])
            return
        buf += b
        if b"\n" in buf:
            check(buf[:1] in (b"4", b"5"), "reply %r, expected a refusal" % buf[:80])
            log("refused with %r" % buf.split(b"\r\n")[0])
            return


def act_nomap(a, fx):
    """A port without a port-mapping stanza is relayed as plain TCP: the
    control session works, the data connections do not."""
    ftp = connect(a, "pasv")
    log("login 230 through the plain relay")
    resp = ftp.sendcmd("PASV")
    host, port = ftplib.parse227(resp)
    log("227 says %s:%d (not rewritten)" % (host, port))
    check(host == a.server_host and a.server_pasv_lo <= port <= a.server_pasv_hi,
          "227 %s:%d was rewritten: expected the server's own %s:%d-%d"
          % (host, port, a.server_host, a.server_pasv_lo, a.server_pasv_hi))
    try:
        retr(ftp, fx, "file-1MiB")
    except (ftplib.Error, OSError, EOFError, Fail) as e:
        log("PASV RETR failed as expected: %s" % str(e)[:100])
    else:
        raise Fail("a PASV RETR worked through a plain TCP relay")
    try:
        ftp.close()
    except OSError:
        pass
    ftp = connect(a, "port")
    try:
        retr(ftp, fx, "file-1MiB")
    except (ftplib.Error, OSError, EOFError, Fail) as e:
        log("PORT RETR failed as expected: %s" % str(e)[:100])
    else:
        raise Fail("an active (PORT) RETR worked through a plain TCP relay")
    try:
        ftp.close()
    except OSError:
        pass


ACTIONS = {
    "xfer": act_xfer, "codes": act_codes, "compare": act_compare,
    "longline": act_longline, "rest": act_rest, "appe": act_appe,
    "nlst": act_nlst, "mlsd": act_mlsd, "abor": act_abor, "many": act_many,
    "refused": act_refused, "nomap": act_nomap,
}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="203.0.113.2")
    p.add_argument("--port", type=int, default=21)
    p.add_argument("--user", default="ftpgwtest")
    p.add_argument("--password", default="ftpgwtest")
    p.add_argument("--mode", choices=["pasv", "epsv", "port", "eprt"], default="pasv")
    p.add_argument("--timeout", type=float, default=20)
    p.add_argument("--fixtures", default=".")
    p.add_argument("--server-root")
    p.add_argument("--tag", default="t")
    p.add_argument("--expect-pasv-host", help="the address a 227 reply must carry")
    p.add_argument("--expect-data-peer", help="the peer address every data connection must have")
    sub = p.add_subparsers(dest="action", required=True)
    x = sub.add_parser("xfer", help="RETR+STOR of fixture sizes, sha256 checked, LIST")
    x.add_argument("--sizes", default="0B,1B,1MiB,64MiB")
    x.add_argument("--list", action="store_true")
    x = sub.add_parser("codes", help="reply codes of control commands, to a JSON file")
    x.add_argument("--server", choices=["vsftpd", "pyftpdlib"], default="vsftpd")
    x.add_argument("--out", required=True)
    x = sub.add_parser("compare", help="compare two codes files")
    x.add_argument("direct")
    x.add_argument("gateway")
    x = sub.add_parser("longline", help="an over-long command line gets 500, the session lives on")
    x.add_argument("--length", type=int, default=5000)
    x = sub.add_parser("rest", help="REST + RETR, sha256 of the tail")
    x.add_argument("--offset", type=int, default=123457)
    sub.add_parser("appe", help="STOR + APPE, sha256 on the server")
    sub.add_parser("nlst", help="NLST lists the fixtures")
    sub.add_parser("mlsd", help="MLSD lists the fixtures with their sizes")
    x = sub.add_parser("abor", help="ABOR during a 64 MiB RETR, then a correct RETR")
    x.add_argument("--abort-after", type=int, default=1 << 20)
    x = sub.add_parser("many", help="many RETRs of 1 MiB on one session")
    x.add_argument("--count", type=int, default=50)
    x = sub.add_parser("refused", help="a connection that must be refused")
    x.add_argument("--wait", type=float, default=5)
    x = sub.add_parser("nomap", help="plain TCP relay: login works, data does not")
    x.add_argument("--server-host", default="203.0.113.2")
    x.add_argument("--server-pasv-lo", type=int, default=41000)
    x.add_argument("--server-pasv-hi", type=int, default=41999)
    a = p.parse_args()
    fx = Fixtures(a.fixtures, a.server_root) if a.action not in ("compare", "refused") else None
    try:
        ACTIONS[a.action](a, fx)
    except Fail as e:
        print("FAIL: %s" % e, file=sys.stderr, flush=True)
        return 1
    except (ftplib.Error, OSError, EOFError) as e:
        print("FAIL: %s: %s" % (type(e).__name__, e), file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
