"""ftpclient_tls.py: ftpclient.py's actions of lanes-tls.sh (TLS ends,
"required" means required, session reuse): tlsend, tlsctlend, tlsrefused,
tlsprotreq, tlsreuse.  Imports only ftpcore; ftpclient.py registers its
options (add_parsers)."""

import ftplib
import hashlib
import os
import socket
import ssl
import struct

from ftpcore import (ACTIONS, BLOCK, Fail, check, connect, log, new_client, reply_of, retr,
                     tls_context)


# ================================================================= tls
# Actions of tests/integration/lanes-tls.sh (TLS ends, "required" means
# required, session reuse).  add_parsers() is called from ftpclient.py's main().

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


def add_parsers(sub):
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
