"""ftpcore.py: what the python3 clients of ftpgw's integration tests share.

The failure and logging helpers (Fail, check, log), the fixtures and their
sums, the ftplib client with the data-connection mode forced (ForcedFTP,
ForcedFTPTLS over FTP_TLS), connect() and RETR/STOR with their sha256
checks, and the registry of ftpclient.py's actions (ACTIONS).  Used by
ftpclient.py and its lane modules (ftpclient_ops.py, ftpclient_robust.py,
ftpclient_kernel.py, ftpclient_tls.py), engineclient.py and wkclient.py.
Standard library only; it imports none of those.

EXPECT_RESUMED is this module's: ftpclient.py's main() sets
ftpcore.EXPECT_RESUMED from --expect-resumed, data_tls_check() reads it.
"""

import ftplib
import hashlib
import ipaddress
import os
import socket
import ssl
import time

EXPECT_RESUMED = False   # --expect-resumed: every PROT P data connection resumed
BLOCK = 256 * 1024


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def log(msg):
    print(msg, flush=True)


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


# A command's reply as a string, an ftplib.Error's text too (the basic
# actions, lanes-ops.sh, lanes-tls.sh).
def reply_of(ftp, cmd):
    try:
        resp = ftp.sendcmd(cmd)
    except ftplib.Error as e:
        resp = str(e)
    return resp


# ABOR as ftplib sends it (the basic actions' abor/telnet, engineclient.py).
def abor_ftplib(sock):
    # What ftplib.FTP.abort() sends: the whole line with MSG_OOB; over TLS
    # (FTP_TLS.abort()) there is no urgent data: the line in band.
    if isinstance(sock, ssl.SSLSocket):
        sock.sendall(b"ABOR" + ftplib.B_CRLF)
    else:
        sock.sendall(b"ABOR" + ftplib.B_CRLF, socket.MSG_OOB)


# Telnet (RFC 854) bytes that RFC 959 lets a client put on the control
# connection: the gateway must strip them, not pass them on or choke
# (ftpclient.py's telnet action, engineclient.py).
IAC, DONT, DO, WONT, WILL, IP, DM, NOP = b"\xff", b"\xfe", b"\xfd", b"\xfc", b"\xfb", b"\xf4", b"\xf2", b"\xf1"


# A file the shell polls for (lanes-ops.sh, engineclient.py's READY files).
def ops_write(path, text):
    """Write PATH whole at once (the shell polls for it)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.rename(tmp, path)


# Sessions in parallel threads (lanes-robust.sh, lanes-kernel.sh).
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


# The actions of ftpclient.py, by name: each module registers its own
# (ftpclient.py the basic ones, ftpclient_*.py their lane's).
ACTIONS = {}
