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

Layout: this file holds the basic actions and the command line; the
shared helpers (sessions, fixtures, TLS, the RETR/STOR checks, the ACTIONS
registry) are ftpcore.py's; the actions of lanes-ops.sh, lanes-robust.sh,
lanes-kernel.sh and lanes-tls.sh are in ftpclient_ops.py,
ftpclient_robust.py, ftpclient_kernel.py and ftpclient_tls.py.
"""

import argparse
import ftplib
import io
import json
import os
import socket
import ssl
import subprocess
import sys
import time

import ftpclient_kernel
import ftpclient_ops
import ftpclient_robust
import ftpclient_tls
import ftpcore
from ftpcore import (ACTIONS, BLOCK, DM, DO, DONT, IAC, IP, NOP, WILL, WONT, Fail, Fixtures,
                     abor_ftplib, check, connect, data_tls_check, log, new_client, recv_all,
                     reply_of, retr, stor)

SIZES = {"0B": 0, "1B": 1, "1MiB": 1 << 20, "64MiB": 64 << 20}


def fname(size):
    return "file-" + size


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


def act_abor(a, fx):
    ftp = connect(a)
    abort_retr(ftp, a, abor_ftplib, "ftplib.abort() style, MSG_OOB unless TLS")
    retr(ftp, fx, "file-1MiB")
    ftp.quit()


# The Telnet bytes (IAC ...) are ftpcore's.
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
            retr(ftp, fx, a.file, quiet=True)
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


ACTIONS.update({
    "xfer": act_xfer, "codes": act_codes, "compare": act_compare,
    "longline": act_longline, "rest": act_rest, "appe": act_appe,
    "nlst": act_nlst, "mlsd": act_mlsd, "abor": act_abor, "many": act_many,
    "refused": act_refused, "nomap": act_nomap, "telnet": act_telnet, "epsvall": act_epsvall,
    "hijack": act_hijack, "intrude": act_intrude, "feat": act_feat,
    "tlsrequired": act_tlsrequired, "expectfail": act_expectfail,
})


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
    x.add_argument("--file", default="file-1MiB", help="the fixture to RETR")
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
    ftpclient_ops.add_parsers(sub)  # lanes-ops.sh
    ftpclient_robust.add_parsers(sub)  # lanes-robust.sh
    ftpclient_kernel.add_parsers(sub)  # lanes-kernel.sh
    ftpclient_tls.add_parsers(sub)  # lanes-tls.sh
    a = p.parse_args()
    ftpcore.EXPECT_RESUMED = a.expect_resumed  # the global data_tls_check() reads
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
