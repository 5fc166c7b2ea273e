#!/usr/bin/env python3
"""ftpclient.py: the python3 ftplib scenario driver of ftpgw's integration tests.

Standard library only.  Every action exits 0 when everything it checked was
right, 1 with a one-line reason on stderr otherwise (2 for usage errors).
The data-channel mode is forced (PASV, EPSV, PORT or EPRT): ftplib would
otherwise choose by address family.

TLS (--tls explicit|implicit): ftplib.FTP_TLS, AUTH TLS before USER (or TLS
from the first byte), then PBSZ 0 + PROT P (--prot C: PROT C only).  PROT P
data connections resume the control connection's TLS session, as curl and
lftp do and as vsftpd's require_ssl_reuse and the gateway's
require-session-reuse demand (--no-resume: they do not, as plain
ftplib.FTP_TLS).  With
--cafile the peer's chain must verify against it (no host name check: the
gateway presents its own certificate whatever address the client dialled).

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
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time

EXPECT_RESUMED = False   # --expect-resumed: every PROT P data connection resumed
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

    def __init__(self, mode, timeout, expect_pasv_host=None, expect_data_peer=None, **kw):
        super().__init__(timeout=timeout, **kw)
        self.mode = mode
        self.expect_pasv_host = expect_pasv_host
        self.expect_data_peer = expect_data_peer
        self.passiveserver = mode in ("pasv", "epsv")
        self.last_pasv = None
        self.data_tls = None      # (version, resumed) of the last data connection, None: plain

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
        # ftplib.FTP's, not FTP_TLS's: wrap_data() secures the connection.
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        conn = self.wrap_data(conn)
        if self.expect_data_peer:
            peer = conn.getpeername()[0]
            if peer.startswith("::ffff:"):
                peer = peer[7:]
            check(ipaddress.ip_address(peer) == ipaddress.ip_address(self.expect_data_peer),
                  "data connection peer %s, expected %s" % (peer, self.expect_data_peer))
        if isinstance(conn, ssl.SSLSocket):
            self.data_tls = (conn.version(), conn.session_reused)
        else:
            self.data_tls = None
        return conn, size

    def wrap_data(self, conn):
        return conn


class ForcedFTPTLS(ForcedFTP, ftplib.FTP_TLS):
    """ForcedFTP over FTP_TLS: explicit (AUTH TLS at login) or implicit
    (TLS from the first byte, as on port 990)."""

    def __init__(self, mode, timeout, expect_pasv_host=None, expect_data_peer=None,
                 context=None, implicit=False, resume=True):
        super().__init__(mode, timeout, expect_pasv_host, expect_data_peer, context=context)
        self.implicit = implicit
        self.resume = resume          # data connections resume the control's TLS session
        self.data_session = None      # a session to resume instead (another FTP session's)
        self.ragged_eofs = True       # False: a data TLS end without close_notify raises
        self.handshake_delay = 0.0    # seconds between a data connection and its TLS handshake

    def wrap_data(self, conn):
        """PROT P: TLS on the data connection, resuming the control
        connection's session unless told otherwise, as curl, lftp and
        vsftpd's require_ssl_reuse expect (ftplib's FTP_TLS never resumes).
        The session is taken now, not at AUTH: TLS 1.3 tickets arrive after
        the handshake."""
        if not self._prot_p:
            return conn
        sess = None
        if self.data_session is not None:
            sess = self.data_session
        elif self.resume:
            sess = self.sock.session
        if self.handshake_delay > 0:
            time.sleep(self.handshake_delay)
        return self.context.wrap_socket(conn, server_hostname=self.host, session=sess,
                                        suppress_ragged_eofs=self.ragged_eofs)

    def connect(self, host="", port=0, timeout=-999, source_address=None):
        if not self.implicit:
            return super().connect(host, port, timeout, source_address)
        self.host, self.port = host, port
        sock = socket.create_connection((host, port), self.timeout)
        self.af = sock.family
        self.sock = self.context.wrap_socket(sock, server_hostname=host)
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome


def tls_context(a, strict_eof=False):
    """strict_eof: an EOF without close_notify is an error, never a clean
    end (Debian's python3 sets OP_IGNORE_UNEXPECTED_EOF by default)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if strict_eof:
        ctx.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
    ctx.check_hostname = False
    if a.cafile:
        ctx.load_verify_locations(a.cafile)
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if a.tls_max == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def new_client(a, mode=None, tls=None, context=None):
    """A client object of the kind the options ask for (tls overrides --tls;
    context: an SSLContext to share, e.g. to resume one session's TLS
    session on another's data connection)."""
    tls = a.tls if tls is None else tls
    if tls == "none":
        return ForcedFTP(mode or a.mode, a.timeout, a.expect_pasv_host, a.expect_data_peer)
    return ForcedFTPTLS(mode or a.mode, a.timeout, a.expect_pasv_host, a.expect_data_peer,
                        context=context or tls_context(a), implicit=tls == "implicit",
                        resume=not a.no_resume)


def connect(a, mode=None, context=None):
    ftp = new_client(a, mode, context=context)
    resp = ftp.connect(a.host, a.port)
    check(resp[:3] == "220", "greeting: %r" % resp)
    resp = ftp.login(a.user, a.password)
    check(resp[:3] == "230", "login: %r" % resp)
    if isinstance(ftp, ftplib.FTP_TLS):
        log("control: %s %s, %s" % (a.tls, ftp.sock.version(), ftp.sock.cipher()[0]))
        if a.prot == "P":
            resp = ftp.prot_p()
        else:
            resp = ftp.prot_c()
        check(resp[:3] == "200", "PROT %s: %r" % (a.prot, resp))
    resp = ftp.sendcmd("TYPE I")
    check(resp[:3] == "200", "TYPE I: %r" % resp)
    return ftp


def data_tls_check(ftp, what):
    """With PROT P every data connection is TLS, with PROT C or no TLS none is."""
    want = isinstance(ftp, ftplib.FTP_TLS) and ftp._prot_p
    if want:
        check(ftp.data_tls is not None, "%s: the data connection is not TLS" % what)
        check(not EXPECT_RESUMED or ftp.data_tls[1],
              "%s: the data connection's TLS session is not resumed (%s), --expect-resumed"
              % (what, ftp.data_tls[0]))
        return " [data %s%s]" % (ftp.data_tls[0], ", resumed" if ftp.data_tls[1] else "")
    check(ftp.data_tls is None, "%s: the data connection is TLS, expected plaintext" % what)
    return ""


def recv_all(conn):
    """Read CONN to its end: (bytes, sha256 hex)."""
    h, n = hashlib.sha256(), 0
    while True:
        b = conn.recv(BLOCK)
        if not b:
            return n, h.hexdigest()
        h.update(b)
        n += len(b)


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
    t = data_tls_check(ftp, "RETR " + name)
    if not quiet:
        log("RETR %-12s %10d B %7.3f s%s%s" % (name, n[0], dt, "" if rest is None else " (REST %d)" % rest, t))


def stor(ftp, fx, name, tag):
    remote = "uploads/%s-%s" % (tag, name)
    t = time.monotonic()
    with open(fx.path(name), "rb") as f:
        resp = ftp.storbinary("STOR " + remote, f, BLOCK)
    dt = time.monotonic() - t
    check(resp[:3] in ("226", "250"), "STOR %s: final reply %r" % (remote, resp))
    t = data_tls_check(ftp, "STOR " + remote)
    fx.check_uploaded(remote, fx.sha(name), fx.size(name))
    log("STOR %-12s %10d B %7.3f s%s" % (name, fx.size(name), dt, t))


def do_list(ftp, names):
    lines = []
    resp = ftp.retrlines("LIST", lines.append)
    check(resp[:3] in ("226", "250"), "LIST: final reply %r" % resp)
    text = "\n".join(lines)
    for n in names:
        check(n in text, "LIST does not show %s: %r" % (n, text[:300]))
    log("LIST %d lines%s" % (len(lines), data_tls_check(ftp, "LIST")))


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


def abort_retr(ftp, a, send_abor, what):
    """Start a 64 MiB RETR, read --abort-after bytes, send ABOR with
    SEND_ABOR(control socket), drop the data connection, then expect 426/451
    (optional) and 225/226."""
    conn = ftp.transfercmd("RETR file-64MiB")
    got = 0
    while got < a.abort_after:
        b = conn.recv(BLOCK)
        check(b, "data connection ended after %d bytes, before ABOR" % got)
        got += len(b)
    send_abor(ftp.sock)
    conn.close()
    replies = []
    while True:
        try:
            r = ftp.getmultiline()
        except (EOFError, OSError) as e:
            raise Fail("control connection lost after ABOR (%s; replies so far %r): %r" % (what, replies, e))
        replies.append(r[:3])
        if r[:3] in ("225", "226") or len(replies) >= 3:
            break
        check(r[:3] in ("426", "451"), "unexpected reply after ABOR (%s): %r" % (what, r))
    check(replies[-1] in ("225", "226"), "replies after ABOR (%s): %r" % (what, replies))
    log("ABOR (%s) after %d bytes: replies %s" % (what, got, ",".join(replies)))
    ftp.putcmd("NOOP")
    resp = ftp.getmultiline()
    if resp[:3] in ("225", "226") and replies == ["226"]:
        # The transfer ended before the ABOR came: that 226 was the
        # RETR's, this the ABOR's own.
        replies.append(resp[:3])
        resp = ftp.getmultiline()
    check(resp[:3] == "200", "NOOP after ABOR (%s): %r (a stray reply?)" % (what, resp))


def abor_ftplib(sock):
    # What ftplib.FTP.abort() sends: the whole line with MSG_OOB; over TLS
    # (FTP_TLS.abort()) there is no urgent data: the line in band.
    if isinstance(sock, ssl.SSLSocket):
        sock.sendall(b"ABOR" + ftplib.B_CRLF)
    else:
        sock.sendall(b"ABOR" + ftplib.B_CRLF, socket.MSG_OOB)


def act_abor(a, fx):
    ftp = connect(a)
    abort_retr(ftp, a, abor_ftplib, "ftplib.abort() style, MSG_OOB unless TLS")
    retr(ftp, fx, "file-1MiB")
    ftp.quit()


# Telnet (RFC 854) bytes that RFC 959 lets a client put on the control
# connection: the gateway must strip them, not pass them on or choke.
IAC, DONT, DO, WONT, WILL, IP, DM, NOP = b"\xff", b"\xfe", b"\xfd", b"\xfc", b"\xfb", b"\xf4", b"\xf2", b"\xf1"
TELNET_LINES = [
    ("IAC IP IAC DM before the verb", [IAC + IP + IAC + DM + b"NOOP\r\n"], "200"),
    ("IAC WILL ECHO before the verb", [IAC + WILL + b"\x01NOOP\r\n"], "200"),
    ("IAC DO, IAC DONT, IAC WONT before the verb",
     [IAC + DO + b"\x03" + IAC + DONT + b"\x03" + IAC + WONT + b"\x01NOOP\r\n"], "200"),
    ("IAC NOP before the verb", [IAC + NOP + b"NOOP\r\n"], "200"),
    ("IAC WILL ECHO split over three TCP segments", [IAC, WILL + b"\x01NO", b"OP\r\n"], "200"),
    ("IAC IP IAC DM before a command with an argument",
     [IAC + IP + IAC + DM + b"SIZE file-1MiB\r\n"], "213"),
]


def act_telnet(a, fx):
    ftp = connect(a)
    for what, parts, code in TELNET_LINES:
        for i, part in enumerate(parts):
            if i:
                time.sleep(0.2)
            ftp.sock.sendall(part)
        try:
            resp = ftp.getmultiline()
        except (EOFError, OSError) as e:
            raise Fail("%s: control connection lost: %r" % (what, e))
        check(resp[:3] == code, "%s: reply %r, expected %s" % (what, resp, code))
        if code == "213":
            check(resp.split()[-1] == "1048576", "%s: %r" % (what, resp))
        log("%-50s -> %s" % (what, resp))

    def abor_iac_oob(sock):
        # Telnet Synch (IAC IP IAC DM) and ABOR, the whole line with MSG_OOB
        # as ftplib.abort() sends it.
        sock.sendall(IAC + IP + IAC + DM + b"ABOR\r\n", socket.MSG_OOB)

    def abor_bsd(sock):
        # BSD ftp: IAC IP IAC with MSG_OOB (the urgent byte is the IAC of
        # IAC DM), then DM and ABOR in band.
        sock.sendall(IAC + IP + IAC, socket.MSG_OOB)
        sock.sendall(DM + b"ABOR\r\n")

    abort_retr(ftp, a, abor_ftplib, "ftplib.abort(): ABOR with MSG_OOB")
    abort_retr(ftp, a, abor_iac_oob, "IAC IP IAC DM ABOR with MSG_OOB")
    abort_retr(ftp, a, abor_bsd, "BSD Synch: IAC IP IAC urgent, DM ABOR")
    retr(ftp, fx, "file-1MiB")
    ftp.quit()


def act_epsvall(a, fx):
    """After EPSV ALL (RFC 2428) only EPSV sets up data connections."""
    ftp = connect(a, "epsv")
    resp = ftp.sendcmd("EPSV ALL")
    check(resp[:1] == "2", "EPSV ALL: %r" % resp)
    log("EPSV ALL -> %s" % resp)
    local = ftp.sock.getsockname()[0]
    v4 = local if ftp.sock.family == socket.AF_INET else "198.51.100.2"
    af = 1 if ftp.sock.family == socket.AF_INET else 2
    for cmd in ("PASV", "PORT %s,200,1" % v4.replace(".", ","), "EPRT |%d|%s|51201|" % (af, local)):
        resp = reply_of(ftp, cmd)
        check(resp[:1] == "5", "%s after EPSV ALL: %r, expected 5xx" % (cmd, resp))
        log("%-36s -> %s" % (cmd, resp))
    retr(ftp, fx, "file-1MiB")
    stor(ftp, fx, "file-1MiB", a.tag)
    ftp.quit()


def act_hijack(a, fx):
    """A third host connects to the advertised passive port before the
    client does: it must be shut out, and the client's transfer be right."""
    ftp = connect(a)
    if a.mode == "pasv":
        resp = ftp.sendcmd("PASV")
        host, port = ftplib.parse227(resp)
    else:
        resp = ftp.sendcmd("EPSV")
        host, port = ftplib.parse229(resp, ftp.sock.getpeername())
    log("%s -> %s" % (a.mode.upper(), resp))
    if a.direction == "retr":
        cmd = "RETR file-1MiB"
    else:
        remote = "uploads/%s-hijack" % a.tag
        cmd = "STOR " + remote
    # The command first: the server has its data ready for whoever comes.
    ftp.putcmd(cmd)
    ihost = a.intruder_host or host
    argv = ["ip", "netns", "exec", a.intruder_ns, sys.executable, os.path.abspath(__file__),
            "--host", ihost, "--port", str(port), "intrude", "--wait", str(a.wait)]
    if a.direction == "stor":
        argv.append("--junk")
    log("intruder in %s -> %s port %d" % (a.intruder_ns, ihost, port))
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=a.wait + 30)
    out = r.stdout.decode(errors="replace").strip()
    for line in out.splitlines():
        log("  intruder: " + line)
    check(r.returncode == 0, "the intruder was not shut out: %s" % out.splitlines()[-1:])
    dfam = socket.AF_INET6 if ":" in host else socket.AF_INET
    conn = socket.create_connection((host, port), a.timeout)
    check(dfam == conn.family, "family")
    resp = ftp.getresp()
    check(resp[:1] == "1", "%s: %r" % (cmd, resp))
    if a.direction == "retr":
        n, sha = recv_all(conn)
        conn.close()
        resp = ftp.voidresp()
        check(n == fx.size("file-1MiB") and sha == fx.sha("file-1MiB"),
              "RETR after the intruder: %d bytes sha256 %s" % (n, sha[:16]))
        log("RETR file-1MiB after the intruder: %d B sha256 ok, %s" % (n, resp[:3]))
    else:
        conn.sendall(fx.read("file-1MiB"))
        conn.close()
        resp = ftp.voidresp()
        fx.check_uploaded(remote, fx.sha("file-1MiB"), fx.size("file-1MiB"))
        log("STOR file-1MiB after the intruder: sha256 on the server ok, %s" % resp[:3])
    ftp.quit()


def act_intrude(a, fx):
    """Connect to a data port that is someone else's: the connection must
    end (EOF or reset) within --wait s with no byte received."""
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(a.wait)
    try:
        s.connect((a.host, a.port))
    except ConnectionRefusedError:
        log("connection refused")
        return
    log("connected from %s" % (s.getsockname()[0],))
    if a.junk:
        try:
            s.sendall(b"intruder junk that must not reach the server\n" * 1000)
        except OSError as e:
            log("sending: %s" % e)
    got = 0
    deadline = time.monotonic() + a.wait
    while True:
        left = deadline - time.monotonic()
        check(left > 0, "still open after %.0f s (%d bytes received)" % (a.wait, got))
        s.settimeout(left)
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            log("connection reset")
            break
        except socket.timeout:
            continue
        if not b:
            log("connection closed")
            break
        got += len(b)
    check(got == 0, "the intruder received %d bytes" % got)
    log("0 bytes received")


def act_feat(a, fx):
    """FEAT through a TLS gateway lists AUTH TLS, PBSZ and PROT (before
    AUTH, on a plaintext connection)."""
    ftp = new_client(a, tls="none")
    resp = ftp.connect(a.host, a.port)
    check(resp[:3] == "220", "greeting: %r" % resp)
    resp = reply_of(ftp, "FEAT")
    check(resp[:3] == "211", "FEAT: %r" % resp)
    feats = [l.strip().upper() for l in resp.split("\n")[1:-1]]
    log("FEAT: %s" % ", ".join(feats))
    for f in ("AUTH TLS", "PBSZ", "PROT"):
        check(f in feats, "FEAT lacks %s: %r" % (f, feats))
    check(feats.count("AUTH TLS") == 1, "FEAT lists AUTH TLS more than once: %r" % feats)
    ftp.quit()


def act_tlsrequired(a, fx):
    """client-side = required: before AUTH, USER/PASS/PASV get 530 and no
    login happens; FEAT still answers and offers AUTH TLS; after AUTH TLS
    the session works."""
    ftp = new_client(a, tls="none")
    resp = ftp.connect(a.host, a.port)
    check(resp[:3] == "220", "greeting: %r" % resp)
    resp = reply_of(ftp, "FEAT")
    feats = [l.strip().upper() for l in resp.split("\n")[1:-1]]
    check(resp[:3] == "211" and "AUTH TLS" in feats, "FEAT before AUTH: %r" % resp)
    log("FEAT before AUTH: %s" % ", ".join(feats))
    for cmd in ("USER " + a.user, "PASS " + a.password, "PASV", "RETR file-1MiB"):
        resp = reply_of(ftp, cmd)
        check(resp[:3] == "530", "%s before AUTH: %r, expected 530" % (cmd.split()[0], resp))
        log("%-5s before AUTH -> %s" % (cmd.split()[0], resp))
    ftp.close()
    a.tls = "explicit"
    ftp = connect(a)
    retr(ftp, fx, "file-1MiB")
    stor(ftp, fx, "file-1MiB", a.tag)
    ftp.quit()


def act_expectfail(a, fx):
    """A session that must not get through: --outcome 421 or 530 (that
    reply before any 230), tls (the client's TLS handshake fails, before
    any 230), or 522 (a server refusing the data connection of a RETR, as
    vsftpd does when the data TLS session does not resume the control's)."""
    steps = []
    try:
        ftp = new_client(a)
        resp = ftp.connect(a.host, a.port)
        steps.append("greeting " + resp[:3])
        if a.tls == "explicit":
            resp = ftp.voidcmd("AUTH TLS")
            steps.append("AUTH " + resp[:3])
            ftp.sock = ftp.context.wrap_socket(ftp.sock, server_hostname=ftp.host)
            ftp.file = ftp.sock.makefile("r", encoding=ftp.encoding)
            steps.append("handshake " + ftp.sock.version())
        resp = ftplib.FTP.login(ftp, a.user, a.password)
        steps.append("login " + resp[:3])
        if isinstance(ftp, ftplib.FTP_TLS):
            ftp.prot_p()
        ftp.sendcmd("TYPE I")
        retr(ftp, fx, "file-1MiB")
        steps.append("RETR ok")
    except (ftplib.error_temp, ftplib.error_perm, ftplib.error_reply) as e:
        msg = str(e).strip()
        log("steps: %s; then %r" % ("; ".join(steps), msg))
        check(a.outcome != "tls" and msg[:3] == a.outcome,
              "reply %r, expected %s" % (msg, "a TLS handshake failure" if a.outcome == "tls" else a.outcome))
    except ssl.SSLError as e:
        log("steps: %s; then TLS error %s" % ("; ".join(steps), e))
        check(a.outcome == "tls", "TLS error %s, expected a %s reply" % (e, a.outcome))
    except (EOFError, OSError) as e:
        raise Fail("steps: %s; then %s: %s, expected %s" % ("; ".join(steps), type(e).__name__, e, a.outcome))
    else:
        raise Fail("the session got through: %s" % "; ".join(steps))
    if a.outcome == "522":
        check("login 230" in steps, "no login before the RETR: %r" % steps)
    else:
        check("login 230" not in steps, "logged in: %r" % steps)


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
    "refused": act_refused, "nomap": act_nomap, "telnet": act_telnet, "epsvall": act_epsvall,
    "hijack": act_hijack, "intrude": act_intrude, "feat": act_feat,
    "tlsrequired": act_tlsrequired, "expectfail": act_expectfail,
}


# ==================================================================== ops
# Actions of tests/integration/lanes-ops.sh (operations: reload, graceful
# stop, logs, ftpgwctl).  Everything of that file lives in this block;
# ops_add_parsers() is called from main().

def ops_addr(sa):
    """A socket address as the gateway prints it: A.B.C.D:PORT or [V6]:PORT."""
    host, port = sa[0], sa[1]
    if host.startswith("::ffff:") and "." in host:
        host = host[7:]
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


def ops_write(path, text):
    """Write PATH whole at once (the shell polls for it)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.rename(tmp, path)


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


def ops_add_parsers(sub):
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


# ================================================================= robust
# Actions of tests/integration/lanes-robust.sh (hostile clients and
# servers, limits, timeouts).  Everything of that file lives in this block;
# robust_add_parsers() is called from main().

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


def parallel_sessions(a, one, what):
    """Run one(i) for i in range(--count), --parallel at a time; a session
    fails by raising; the first six failures stop the run."""
    import threading
    bad = []
    lock = threading.Lock()
    counter = iter(range(a.count))

    def worker():
        while True:
            with lock:
                i = next(counter, None)
            if i is None or len(bad) > 5:
                return
            try:
                one(i)
            except (ftplib.Error, OSError, EOFError, Fail) as e:
                with lock:
                    bad.append("session %d: %s" % (i + 1, e))

    t0 = time.monotonic()
    ths = [threading.Thread(target=worker) for _ in range(a.parallel)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    log("%d sessions (%s), %d at a time, in %.1f s" % (a.count, what, a.parallel, time.monotonic() - t0))
    check(not bad, "%d failed: %s" % (len(bad), bad[:3]))


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


def robust_add_parsers(sub):
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


# ================================================================= kernel
# Actions of tests/integration/lanes-kernel.sh (data-path kernel).

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


def kern_add_parsers(sub):
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


# ================================================================= tls
# Actions of tests/integration/lanes-tls.sh (TLS ends, "required" means
# required, session reuse).  tls_add_parsers() is called from main().

def tls_read_data(conn, what, timeout):
    """Read CONN to its end: (bytes, sha256, end), end "clean" (a
    close_notify: recv gives b'' with suppress_ragged_eofs off) or
    "dirty (WHY)" (EOF or reset without close_notify)."""
    h = hashlib.sha256()
    n = 0
    conn.settimeout(timeout)
    try:
        while True:
            b = conn.recv(BLOCK)
            if not b:
                end = "clean" if isinstance(conn, ssl.SSLSocket) else "dirty (plain FIN)"
                break
            h.update(b)
            n += len(b)
    except socket.timeout:
        raise Fail("%s: the data connection neither ended nor carried data for %.0f s (%d bytes so far)"
                   % (what, timeout, n))
    except ssl.SSLError as e:
        end = "dirty (%s: %s)" % (type(e).__name__, e)
    except OSError as e:
        end = "dirty (%s)" % type(e).__name__
    if end == "clean":
        try:
            conn.unwrap()
        except (OSError, ValueError):
            pass
    conn.close()
    return n, h.hexdigest(), end


def tls_final(ftp, what):
    """The next reply on the control connection (any code)."""
    try:
        return ftp.getmultiline()
    except (EOFError, OSError) as e:
        raise Fail("%s: the control connection ended before the final reply: %s: %s"
                   % (what, type(e).__name__, e))


def tls_retr_outcome(ftp, name, timeout):
    """RETR NAME without judging it: a dict with the reply to RETR or the
    final one ("final"), the bytes and sha256 read, how the data ended
    ("end") and the data connection's TLS ("tls": version, resumed)."""
    out = {"bytes": 0, "sha": None, "end": None, "tls": None, "final": None}
    what = "RETR " + name
    ftp.data_tls = None
    try:
        conn, _ = ftp.ntransfercmd(what)
    except (ftplib.error_temp, ftplib.error_perm, ftplib.error_reply) as e:
        out["final"] = str(e).strip()       # the reply to RETR itself
        return out
    except (ssl.SSLError, OSError) as e:    # after the 150: the data handshake
        out["end"] = "handshake failed (%s: %s)" % (type(e).__name__, e)
        conn = None
    if conn is not None:
        out["tls"] = ftp.data_tls
        out["bytes"], out["sha"], out["end"] = tls_read_data(conn, what, timeout)
    out["final"] = tls_final(ftp, what)
    return out


def tls_quit(ftp):
    try:
        ftp.quit()
    except (ftplib.Error, EOFError, OSError):
        ftp.close()


def act_tls_end(a, fx):
    """One PROT P transfer whose data end is judged.  RETR: the final reply
    must be --want-reply, and the client's data TLS must have ended as
    --want-end says (clean: close_notify; dirty: without).  STOR: the
    client ends its data TLS per --end (clean: close_notify; dirty: a FIN
    below TLS; rst: a reset), the final reply must be --want-reply (the
    server's side of it is in the server's log, for the caller)."""
    ftp = connect(a, context=tls_context(a, strict_eof=True))
    check(isinstance(ftp, ftplib.FTP_TLS) and ftp._prot_p, "tlsend needs --tls and PROT P")
    ftp.ragged_eofs = False
    ftp.handshake_delay = a.handshake_delay
    name = a.file
    if a.direction == "retr":
        o = tls_retr_outcome(ftp, name, a.timeout)
        got = o["end"] or "-"
        log("RETR %s: %d bytes, data TLS %s, ended %s; final reply %r"
            % (name, o["bytes"], o["tls"], got, o["final"]))
        check(o["final"][:3] == a.want_reply,
              "RETR %s: final reply %r, expected %s%s" % (name, o["final"], a.want_reply,
              " (the server's data TLS ended without close_notify: the transfer failed)"
              if a.want_reply[0] == "4" else ""))
        check(o["end"] is not None, "RETR %s: no data connection" % name)
        check(got.split(" ")[0] == a.want_end,
              "RETR %s: the client's data TLS ended %s, expected %s" % (name, got,
              "with close_notify" if a.want_end == "clean" else
              "without close_notify (the gateway must not forge a clean end)"))
        if a.want_reply == "226" and a.want_end == "clean":
            check(o["bytes"] == fx.size(name) and o["sha"] == fx.sha(name),
                  "RETR %s: %d bytes sha256 %s, expected %d bytes %s"
                  % (name, o["bytes"], o["sha"][:16], fx.size(name), fx.sha(name)[:16]))
            log("RETR %s: sha256 ok" % name)
        tls_quit(ftp)
        return
    remote = "uploads/%s-%s" % (a.tag, name)
    data = fx.read(name)
    what = "STOR " + remote
    conn, _ = ftp.ntransfercmd(what)
    log("STOR: data TLS %s" % (ftp.data_tls,))
    conn.sendall(data)
    if a.end == "clean":
        conn.settimeout(10)
        try:
            conn.unwrap()
            how = "close_notify sent, the peer's back"
        except (OSError, ValueError) as e:
            how = "close_notify sent, none back (%s)" % type(e).__name__
    elif a.end == "rst":
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        how = "reset (RST), no close_notify"
    else:
        conn.shutdown(socket.SHUT_WR)       # an SSLSocket drops its TLS first: a bare FIN
        conn.settimeout(10)
        try:
            while conn.recv(BLOCK):
                pass
        except OSError:
            pass
        how = "FIN without close_notify"
    conn.close()
    resp = tls_final(ftp, what)
    log("STOR %d bytes, data ended by the client: %s; final reply %r" % (len(data), how, resp))
    check(resp[:3] == a.want_reply, "STOR: final reply %r, expected %s%s" % (resp, a.want_reply,
          " (the client's data TLS ended without close_notify: the transfer failed)"
          if a.want_reply[0] == "4" else ""))
    p = os.path.join(fx.server_root, remote)
    if a.want_reply == "226":
        fx.check_uploaded(remote, fx.sha(name), len(data))
        log("STOR: sha256 ok on the server's disk")
    elif os.path.exists(p):
        os.unlink(p)
    tls_quit(ftp)


def act_tls_ctl_end(a, fx):
    """AUTH TLS (the control TLS read with suppress_ragged_eofs off), login,
    then --cmd; the control connection must end, and as --want-end says:
    clean (close_notify) or dirty (without).  Replies before the end (a
    421, a 221) are shown, not judged."""
    ftp = new_client(a, context=tls_context(a, strict_eof=True))
    check(isinstance(ftp, ftplib.FTP_TLS) and not ftp.implicit, "tlsctlend needs --tls explicit")
    resp = ftp.connect(a.host, a.port)
    check(resp[:3] == "220", "greeting: %r" % resp)
    resp = ftp.voidcmd("AUTH TLS")
    ftp.sock = ftp.context.wrap_socket(ftp.sock, server_hostname=ftp.host, suppress_ragged_eofs=False)
    ftp.file = ftp.sock.makefile("r", encoding=ftp.encoding)
    resp = ftp.login(a.user, a.password)
    check(resp[:3] == "230", "login: %r" % resp)
    log("control: %s, logged in; sending %s" % (ftp.sock.version(), a.cmd))
    ftp.sock.sendall(a.cmd.encode() + b"\r\n")
    got = b""
    ftp.sock.settimeout(a.wait)
    try:
        while True:
            b = ftp.sock.recv(4096)
            if not b:
                end = "clean"
                break
            got += b
    except socket.timeout:
        raise Fail("the control connection did not end within %.0f s of %s (got %r)" % (a.wait, a.cmd, got[:200]))
    except ssl.SSLError as e:
        end = "dirty (%s: %s)" % (type(e).__name__, e)
    except OSError as e:
        end = "dirty (%s)" % type(e).__name__
    log("after %s: %r, then the control TLS ended %s" % (a.cmd, got.decode("latin-1").strip(), end))
    check(end.split(" ")[0] == a.want_end, "the client's control TLS ended %s, expected %s" % (end,
          "with close_notify" if a.want_end == "clean" else
          "without close_notify (the server's control TLS ended without one: the gateway must not forge it)"))
    ftp.sock.close()


def tls_xfer_refused(ftp, a, cmd, want):
    """PASV/EPSV (a refusal WANT accepted there too), a plain TCP data
    connection to it, then CMD: it must get WANT, never a 1xx, and the
    data connection must carry nothing."""
    verb = cmd.split(" ")[0]
    pv = "EPSV" if a.mode == "epsv" else "PASV"
    ftp.putcmd(pv)
    r = tls_final(ftp, pv)
    data = None
    if r[:3] == want:
        log("%-4s before %s -> %s (refused already)" % (pv, verb, r[:60]))
    else:
        check(r[:3] in ("227", "229"), "%s before %s: %r" % (pv, verb, r))
        if pv == "PASV":
            host, port = ftplib.parse227(r)
        else:
            host, port = ftplib.parse229(r, ftp.sock.getpeername())
        data = socket.create_connection((host, port), 10)
    ftp.putcmd(cmd)
    r = tls_final(ftp, verb)
    if r[:1] == "1":
        # Not waiting for the final reply: the transfer is under way and
        # nobody reads its data.
        if data is not None:
            data.close()
        raise Fail("%s: %r, expected %s (the transfer started: its data would not be protected)"
                   % (verb, r, want))
    check(r[:3] == want, "%s: %r, expected %s" % (verb, r, want))
    n = 0
    if data is not None:
        data.settimeout(1)
        try:
            while True:
                b = data.recv(65536)
                if not b:
                    break
                n += len(b)
        except OSError:
            pass
        data.close()
    check(n == 0, "%s: %d bytes on the data connection after %r" % (verb, n, r))
    log("%-4s -> %s, no data" % (verb, r[:70]))


def act_tls_refused(a, fx):
    """server-side = required against a server that refuses PROT P: a
    session logged in per --tls/--prot; PWD 257; each of RETR, STOR, LIST,
    NLST gets --want (521) and no data; PWD 257 again."""
    ftp = connect(a)
    for i, cmd in enumerate(["PWD", None, "PWD"]):
        if cmd:
            r = reply_of(ftp, cmd)
            check(r[:3] == "257", "%s: %r, expected 257 (control commands still work)" % (cmd, r))
            log("PWD -> %s" % r)
            continue
        for c in ("RETR file-1MiB", "STOR uploads/%s-refused" % a.tag, "LIST", "NLST"):
            tls_xfer_refused(ftp, a, c, a.want)
    check(not os.path.exists(os.path.join(fx.server_root, "uploads/%s-refused" % a.tag)),
          "the refused STOR made a file on the server")
    tls_quit(ftp)


def act_tls_protreq(a, fx):
    """client-side = required: AUTH TLS, login, PBSZ 0; RETR and LIST with
    no PROT yet -> 521; PROT C -> 534; STOR and NLST (protection still
    clear) -> 521; PROT P -> 200; RETR 1 MiB sha256 (resuming)."""
    a.tls = "explicit"
    ftp = new_client(a)
    check(ftp.connect(a.host, a.port)[:3] == "220", "greeting")
    ftp.auth()
    resp = ftp.login(a.user, a.password)
    check(resp[:3] == "230", "login: %r" % resp)
    check(ftp.sendcmd("TYPE I")[:3] == "200", "TYPE I")
    r = reply_of(ftp, "PBSZ 0")
    check(r[:3] == "200", "PBSZ 0: %r" % r)
    for c in ("RETR file-1MiB", "LIST"):
        tls_xfer_refused(ftp, a, c, "521")
    r = reply_of(ftp, "PROT C")
    log("PROT C -> %s" % r)
    check(r[:3] == "534", "PROT C: %r, expected 534 (client-side = required: data never in clear)" % r)
    for c in ("STOR uploads/%s-clear" % a.tag, "NLST"):
        tls_xfer_refused(ftp, a, c, "521")
    check(not os.path.exists(os.path.join(fx.server_root, "uploads/%s-clear" % a.tag)),
          "the refused STOR made a file on the server")
    r = ftp.prot_p()
    check(r[:3] == "200", "PROT P: %r" % r)
    retr(ftp, fx, "file-1MiB")
    tls_quit(ftp)


def act_tls_reuse(a, fx):
    """require-session-reuse.  --case noresume: a PROT P RETR whose data
    TLS resumes nothing; --case foreign: two sessions A and B (one
    SSLContext), B's data connection resumes A's control session.  Either
    must end in a 4xx final reply with no data.  Then a fresh session
    whose data connections resume its own control session still RETRs
    1 MiB (sha256): resumption as such works here."""
    a.tls = "explicit"
    ctx = tls_context(a)
    if a.case == "noresume":
        a.no_resume = True
        ftp = connect(a, context=ctx)
        who = "a data connection without resumption"
    else:
        other = connect(a, context=ctx)
        ftp = connect(a, context=ctx)
        check(other.sock.session is not None, "session A has no TLS session to offer")
        ftp.data_session = other.sock.session
        who = "session B's data connection resuming session A's TLS session"
    o = tls_retr_outcome(ftp, "file-1MiB", a.timeout)
    log("%s: data TLS %s, %d bytes, ended %s; final reply %r"
        % (who, o["tls"], o["bytes"], o["end"], o["final"]))
    check(o["final"][:1] == "4", "RETR file-1MiB, %s: final reply %r, expected 4xx (425/426)%s"
          % (who, o["final"], " after %d bytes" % o["bytes"] if o["bytes"] else ""))
    check(o["bytes"] == 0, "RETR file-1MiB, %s: %d bytes of data came through" % (who, o["bytes"]))
    tls_quit(ftp)
    if a.case == "foreign":
        tls_quit(other)
    a.no_resume = False
    ftp = connect(a)
    retr(ftp, fx, "file-1MiB")
    check(ftp.data_tls and ftp.data_tls[1], "a fresh session's data connection did not resume (%s)"
          % (ftp.data_tls,))
    tls_quit(ftp)


def tls_add_parsers(sub):
    x = sub.add_parser("tlsend", help="a PROT P transfer whose data TLS end is judged (lanes-tls.sh)")
    x.add_argument("--direction", choices=["retr", "stor"], default="retr")
    x.add_argument("--file", default="file-1MiB")
    x.add_argument("--end", choices=["clean", "dirty", "rst"], default="clean",
                   help="STOR: how the client ends its data TLS")
    x.add_argument("--want-reply", required=True, help="the final reply's code")
    x.add_argument("--want-end", choices=["clean", "dirty"], default="clean",
                   help="RETR: how the client's data TLS must end")
    x.add_argument("--handshake-delay", type=float, default=0.0,
                   help="seconds to wait after the 150 before the data TLS handshake")
    x = sub.add_parser("tlsctlend", help="a command after which the control TLS must end (lanes-tls.sh)")
    x.add_argument("--cmd", default="HELP")
    x.add_argument("--want-end", choices=["clean", "dirty"], required=True)
    x.add_argument("--wait", type=float, default=10)
    x = sub.add_parser("tlsrefused", help="every transfer command refused, PWD works (lanes-tls.sh)")
    x.add_argument("--want", default="521")
    sub.add_parser("tlsprotreq", help="client-side = required: PROT C 534, clear transfers 521 (lanes-tls.sh)")
    x = sub.add_parser("tlsreuse", help="require-session-reuse: data TLS that does not resume its own session (lanes-tls.sh)")
    x.add_argument("--case", choices=["noresume", "foreign"], required=True)


ACTIONS.update({
    "tlsend": act_tls_end, "tlsctlend": act_tls_ctl_end, "tlsrefused": act_tls_refused,
    "tlsprotreq": act_tls_protreq, "tlsreuse": act_tls_reuse,
})
# ============================================================= end tls


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
    p.add_argument("--tls", choices=["none", "explicit", "implicit"], default="none",
                   help="explicit: AUTH TLS before USER; implicit: TLS from the first byte")
    p.add_argument("--prot", choices=["P", "C"], default="P", help="data protection (with --tls)")
    p.add_argument("--cafile", help="verify the gateway's certificate chain against this CA")
    p.add_argument("--tls-max", choices=["1.2", "1.3"], default="1.3",
                   help="the newest TLS version the client offers")
    p.add_argument("--no-resume", action="store_true",
                   help="PROT P data connections do not resume the control connection's "
                   "TLS session (ftplib's own behaviour)")
    p.add_argument("--expect-resumed", action="store_true",
                   help="every PROT P data connection must resume a TLS session")
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
    x = sub.add_parser("telnet", help="Telnet IAC sequences before commands and ABOR (Synch)")
    x.add_argument("--abort-after", type=int, default=1 << 20)
    sub.add_parser("epsvall", help="after EPSV ALL: PASV/PORT/EPRT 5xx, EPSV transfers work")
    x = sub.add_parser("hijack", help="a third host connects to the passive port first")
    x.add_argument("--intruder-ns", required=True, help="the network namespace of the third host")
    x.add_argument("--intruder-host", help="where it connects (default: the 227/229 address)")
    x.add_argument("--direction", choices=["retr", "stor"], default="retr")
    x.add_argument("--wait", type=float, default=5)
    x = sub.add_parser("intrude", help="connect to a data port: must end with 0 bytes read")
    x.add_argument("--wait", type=float, default=5)
    x.add_argument("--junk", action="store_true", help="send bytes first")
    sub.add_parser("feat", help="FEAT lists AUTH TLS, PBSZ, PROT")
    sub.add_parser("tlsrequired", help="530 before AUTH TLS, then a TLS session works")
    x = sub.add_parser("expectfail", help="a session that must fail")
    x.add_argument("--outcome", choices=["421", "522", "530", "tls"], required=True)
    x = sub.add_parser("nomap", help="plain TCP relay: login works, data does not")
    x.add_argument("--server-host", default="203.0.113.2")
    x.add_argument("--server-pasv-lo", type=int, default=41000)
    x.add_argument("--server-pasv-hi", type=int, default=41999)
    ops_add_parsers(sub)  # lanes-ops.sh
    robust_add_parsers(sub)  # lanes-robust.sh
    kern_add_parsers(sub)  # lanes-kernel.sh
    tls_add_parsers(sub)  # lanes-tls.sh
    a = p.parse_args()
    global EXPECT_RESUMED
    EXPECT_RESUMED = a.expect_resumed
    fx = Fixtures(a.fixtures, a.server_root) if a.action not in ("compare", "refused", "intrude") else None
    try:
        ACTIONS[a.action](a, fx)
    except Fail as e:
        print("FAIL: %s" % e, file=sys.stderr, flush=True)
        return 1
    except (ftplib.Error, OSError, EOFError, subprocess.SubprocessError) as e:
        print("FAIL: %s: %s" % (type(e).__name__, e), file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
