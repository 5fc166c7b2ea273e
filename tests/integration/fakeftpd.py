#!/usr/bin/env python3
"""fakeftpd.py: a small, deliberately misbehaving FTP server for ftpgw's
robustness tests (tests/integration/lanes-robust.sh).

Standard library only.  One process serves several ports, each with its
own behaviour (--listen PORT:MODE, repeatable), IPv4 only.  It knows USER
PASS TYPE PASV EPSV PORT EPRT RETR STOR SIZE NOOP SYST FEAT HELP PWD CWD
QUIT LIST NLST; any user and password log in.  RETR serves files of --home, STOR
writes into it.  Every command and event is logged to --log as
    HH:MM:SS.mmm PORT/MODE #CONN EVENT
so that the tests can tell what reached the server (bytes outside
ASCII as backslash escapes).

Modes:
  normal          a well-behaved server
  pasv-foreign    227 names 203.0.113.99 (another host) while the passive
                  socket listens on the server's own address
  pasv-noparen    227 without parentheses around the numbers
  pasv-multiline  227 as a multi-line reply, the numbers on its last line
  pasv-bad        227 with five numbers (malformed); EPSV stays right
  pasv-slow       PASV and EPSV answered PASV_SLOW_SECONDS late (a client
                  that connects before it sees the 227 comes first)
  longline        HELP gets a 5000-byte reply line
  manylines       HELP gets a 2002-line reply
  closehelp       HELP: the control connection is closed, no reply
  closemid        RETR: 8 MiB of data, then data and control are closed
  stall           RETR: the data connection opens, then nothing is sent
  nogreeting      never sends anything (not even the 220)
  telnet          does its own Telnet processing of command lines, as
                  proftpd does (IAC IAC is a data byte 255, IAC WILL/WONT/
                  DO/DONT <opt> and IAC <other> are dropped); SITE CHMOD
                  gets 200 (logged "SITE CHMOD done"), any other SITE 500
  lpsv228         HELP, PASV, EPSV and LPSV get a 228 (LPSV's reply, RFC
                  1639) naming 203.0.113.2
  floodheld       RETR: 150, the data at FLOOD_RATE bytes/s for
                  FLOOD_SECONDS, and right after the 150 the final 226
                  (while the data still flows), then junk lines on the
                  control connection as fast as it is read, until the
                  data is done; then both are closed

TLS modes (need --cert and --key): AUTH TLS -> 234 and TLS on the control
connection, PBSZ -> 200, PROT P|C -> 200; with PROT P every data
connection is TLS (handshake after the 150, this end the TLS server).
Every data connection's end is logged as seen here: RETR "... the data TLS
ended with close_notify" or "without close_notify (FIN|RST)"; STOR "...
data TLS end: close_notify" or "data TLS end: no close_notify (WHY)" (read
with suppress_ragged_eofs off: only a close_notify is a clean end).  STOR
always gets 226, however its data ended (a careless server: the gateway
must not pass that 226 on after a dirty end).
  tls-clean       every data TLS ends with close_notify; QUIT: close_notify
                  on the control connection too
  tls-dirty       RETR: the whole file, then a TCP FIN without close_notify
                  (a truncation attack that cuts at the very end), 226
  tls-half        RETR: half the file, then a FIN without close_notify, 226
  tls-rst         RETR: half the file, then a TCP RST, 226
  tls-ctldirty    HELP: the control connection ends with a FIN without
                  close_notify (no reply)
  tls-noprotp     PROT P -> 536 (a server that refuses to protect data)
"""

import argparse
import os
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time

MODES = ("normal", "pasv-foreign", "pasv-noparen", "pasv-multiline", "pasv-bad",
         "longline", "manylines", "closehelp", "closemid", "stall", "nogreeting", "floodheld",
         "telnet", "lpsv228", "pasv-loopback", "pasv-slow",
         "tls-clean", "tls-dirty", "tls-half", "tls-rst", "tls-ctldirty", "tls-noprotp")
BLOCK = 256 * 1024
FLOOD_RATE = 256 * 1024
FLOOD_SECONDS = 10
PASV_SLOW_SECONDS = 0.3

_log_lock = threading.Lock()
_log_file = None
_conn_ids = iter(range(1, 1 << 30))


def telnet_strip(raw):
    """RFC 854 as a Telnet-aware server reads a command line."""
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] != 0xFF:
            out.append(raw[i])
            i += 1
        elif i + 1 < len(raw) and raw[i + 1] == 0xFF:
            out.append(0xFF)
            i += 2
        elif i + 1 < len(raw) and 0xFB <= raw[i + 1] <= 0xFE:
            i += 3
        else:
            i += 2
    return bytes(out)


def log(tag, msg):
    t = time.time()
    line = "%s.%03d %s %s\n" % (time.strftime("%H:%M:%S", time.localtime(t)), int(t * 1000) % 1000, tag, msg)
    with _log_lock:
        if _log_file is not None:
            _log_file.write(line)
            _log_file.flush()
        else:
            sys.stderr.write(line)


class Handler(socketserver.StreamRequestHandler):
    timeout = 120

    def setup(self):
        super().setup()
        self.mode = self.server.mode
        self.home = self.server.home
        self.tag = "%d/%s #%d" % (self.server.server_address[1], self.mode, next(_conn_ids))
        self.pasv_sock = None
        self.port_target = None
        self.tls_ctl = False      # the control connection is TLS
        self.prot_p = False
        self.ctl_dirty = False    # tls-ctldirty ended it without close_notify

    # -------------------------------------------------------------- TLS

    def cmd_auth(self, arg):
        if not self.mode.startswith("tls-") or arg.upper() not in ("TLS", "SSL", "TLS-C"):
            return self.reply("502 Command not implemented.")
        if self.tls_ctl:
            return self.reply("503 Already secured.")
        self.reply("234 Proceed with negotiation.")
        try:
            tls = self.server.tls.wrap_socket(self.request, server_side=True)
        except (OSError, ssl.SSLError) as e:
            log(self.tag, "control TLS handshake failed: %s" % e)
            return "close"
        self.request = self.connection = tls
        self.rfile = tls.makefile("rb")
        self.wfile = socketserver._SocketWriter(tls)
        self.tls_ctl = True
        log(self.tag, "control TLS: %s %s" % (tls.version(), tls.cipher()[0]))

    def cmd_pbsz(self, arg):
        if not self.tls_ctl:
            return self.reply("503 PBSZ needs AUTH first.")
        self.reply("200 PBSZ=0")

    def cmd_prot(self, arg):
        if not self.tls_ctl:
            return self.reply("503 PROT needs AUTH first.")
        level = arg.strip().upper()
        if level == "P" and self.mode == "tls-noprotp":
            return self.reply("536 PROT P not supported here.")
        if level not in ("P", "C"):
            return self.reply("504 PROT %s not supported." % level)
        self.prot_p = level == "P"
        self.reply("200 PROT now %s." % ("Private" if self.prot_p else "Clear"))

    def data_tls(self, conn, what):
        """After the 150: TLS on data connection CONN if PROT P (this end
        the server); None when the handshake fails."""
        if not self.prot_p:
            return conn
        try:
            tls = self.server.tls.wrap_socket(conn, server_side=True, suppress_ragged_eofs=False)
        except (OSError, ssl.SSLError) as e:
            log(self.tag, "%s: data TLS handshake failed: %s" % (what, e))
            conn.close()
            return None
        log(self.tag, "%s: data TLS %s%s" % (what, tls.version(), ", resumed" if tls.session_reused else ""))
        return tls

    def data_end_clean(self, conn):
        """close_notify (and the peer's back, if it comes), then close;
        what happened, for the log."""
        if not isinstance(conn, ssl.SSLSocket):
            conn.close()
            return "FIN (no TLS)"
        how = "with close_notify"
        conn.settimeout(5)
        try:
            conn.unwrap()
            how += ", the peer's close_notify back"
        except (OSError, ValueError) as e:
            how += ", none back (%s)" % type(e).__name__
        conn.close()
        return how

    @staticmethod
    def data_end_dirty(conn, rst):
        """End CONN without close_notify: a FIN (shutdown below TLS), or a
        RST (SO_LINGER 0)."""
        if rst:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            return "without close_notify (RST)"
        try:
            conn.shutdown(socket.SHUT_WR)    # an SSLSocket drops its TLS first
            conn.settimeout(5)
            while conn.recv(65536):          # wait for the peer's end (no RST
                pass                         # from unread data at close)
        except OSError:
            pass
        conn.close()
        return "without close_notify (FIN)"

    # -------------------------------------------------------------- I/O

    def send(self, text):
        self.wfile.write(text.encode("latin-1") + b"\r\n")

    def reply(self, text):
        log(self.tag, "S> %s" % (text if len(text) < 120 else text[:100] + "... (%d bytes)" % len(text)))
        self.send(text)

    # -------------------------------------------------------------- data

    def open_pasv(self):
        self.close_data_setup()
        local = self.request.getsockname()[0]
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((local, 0))
        s.listen(1)
        s.settimeout(30)
        self.pasv_sock = s
        return local, s.getsockname()[1]

    def close_data_setup(self):
        if self.pasv_sock is not None:
            self.pasv_sock.close()
        self.pasv_sock = None
        self.port_target = None

    def data_conn(self):
        """The data connection of the transfer under way, or None."""
        try:
            if self.pasv_sock is not None:
                conn, peer = self.pasv_sock.accept()
                log(self.tag, "data connection from %s:%d" % peer[:2])
            elif self.port_target is not None:
                conn = socket.create_connection(self.port_target, 30)
                log(self.tag, "data connection to %s:%d" % self.port_target)
            else:
                return None
        except OSError as e:
            log(self.tag, "data connection failed: %s" % e)
            return None
        finally:
            self.close_data_setup()
        conn.settimeout(60)
        return conn

    def path(self, arg):
        p = os.path.normpath(os.path.join(self.home, arg.lstrip("/")))
        if not p.startswith(os.path.normpath(self.home) + os.sep):
            return None
        return p

    # -------------------------------------------------------------- commands

    def cmd_pasv(self, arg):
        if self.mode == "lpsv228":
            return self.reply(self.LPSV_228)
        host, port = self.open_pasv()
        self.pasv_slow()
        h = host.replace(".", ",")
        p = "%d,%d" % (port >> 8, port & 255)
        if self.mode == "pasv-foreign":
            self.reply("227 Entering Passive Mode (203,0,113,99,%s)." % p)
        elif self.mode == "pasv-loopback":
            self.reply("227 Entering Passive Mode (127,0,0,1,%s)." % p)
        elif self.mode == "pasv-noparen":
            self.reply("227 Entering Passive Mode %s,%s" % (h, p))
        elif self.mode == "pasv-multiline":
            log(self.tag, "S> 227- (multi-line, the address on the last line)")
            self.send("227-Entering Passive Mode.")
            self.send("227-The address follows on the last line.")
            self.send("227 =%s,%s" % (h, p))
        elif self.mode == "pasv-bad":
            self.reply("227 Entering Passive Mode (%s,%d)." % (h, port >> 8))
        else:
            self.reply("227 Entering Passive Mode (%s,%s)." % (h, p))

    def pasv_slow(self):
        if self.mode == "pasv-slow":
            log(self.tag, "passive socket open, answering in %.1f s" % PASV_SLOW_SECONDS)
            time.sleep(PASV_SLOW_SECONDS)

    LPSV_228 = "228 Entering Long Passive Mode (4,4,203,0,113,2,2,195,80)"

    def cmd_lpsv(self, arg):
        self.reply(self.LPSV_228)

    def cmd_site(self, arg):
        if self.mode == "telnet" and arg.upper().split(" ")[0] == "CHMOD":
            log(self.tag, "SITE CHMOD done")
            self.reply("200 SITE CHMOD command successful.")
        else:
            self.reply("500 SITE command not understood.")

    def cmd_epsv(self, arg):
        if self.mode == "lpsv228":
            return self.reply(self.LPSV_228)
        host, port = self.open_pasv()
        self.pasv_slow()
        self.reply("229 Entering Extended Passive Mode (|||%d|)" % port)

    def cmd_port(self, arg):
        try:
            n = [int(x) for x in arg.split(",")]
            assert len(n) == 6 and all(0 <= x <= 255 for x in n)
        except (ValueError, AssertionError):
            self.reply("501 Bad PORT.")
            return
        self.close_data_setup()
        self.port_target = ("%d.%d.%d.%d" % tuple(n[:4]), n[4] * 256 + n[5])
        self.reply("200 PORT ok.")

    def cmd_eprt(self, arg):
        try:
            d = arg[0]
            _, af, host, port, _ = arg.split(d)
            assert af == "1"
            port = int(port)
        except (IndexError, ValueError, AssertionError):
            self.reply("501 Bad EPRT.")
            return
        self.close_data_setup()
        self.port_target = (host, port)
        self.reply("200 EPRT ok.")

    def cmd_retr(self, arg):
        p = self.path(arg)
        if p is None or not os.path.isfile(p):
            self.close_data_setup()
            self.reply("550 No such file.")
            return
        conn = self.data_conn()
        if conn is None:
            self.reply("425 No data connection.")
            return
        size = os.path.getsize(p)
        self.reply("150 Opening BINARY mode data connection for %s (%d bytes)." % (arg, size))
        conn = self.data_tls(conn, "RETR")
        if conn is None:
            self.reply("425 TLS on the data connection failed.")
            return
        if self.mode.startswith("tls-"):
            return self.tls_retr(conn, p, arg)
        if self.mode == "stall":
            log(self.tag, "stall: the data connection is open, sending nothing")
            t = time.monotonic()
            conn.settimeout(300)
            try:
                while conn.recv(65536):
                    pass
                how = "closed"
            except OSError as e:
                how = "reset (%s)" % e
            log(self.tag, "stall: the data connection was %s by the peer after %.1f s"
                % (how, time.monotonic() - t))
            conn.close()
            return "close"
        if self.mode == "floodheld":
            return self.floodheld(conn, p)
        sent = 0
        with open(p, "rb") as f:
            while True:
                b = f.read(BLOCK)
                if not b:
                    break
                try:
                    conn.sendall(b)
                except OSError as e:
                    log(self.tag, "RETR: data connection lost after %d bytes: %s" % (sent, e))
                    conn.close()
                    self.reply("426 Connection closed; transfer aborted.")
                    return
                sent += len(b)
                if self.mode == "closemid" and sent >= 8 << 20:
                    log(self.tag, "closemid: closing data and control after %d bytes" % sent)
                    conn.close()
                    return "close"
        conn.close()
        log(self.tag, "RETR %s: %d bytes sent" % (arg, sent))
        self.reply("226 Transfer complete.")

    def tls_retr(self, conn, path, arg):
        """RETR in a TLS mode: all (or half) of the file, then the end the
        mode asks for, then 226 whatever happened."""
        with open(path, "rb") as f:
            data = f.read()
        if self.mode in ("tls-half", "tls-rst"):
            data = data[:len(data) // 2]
        try:
            conn.sendall(data)
        except OSError as e:
            log(self.tag, "RETR %s: data connection lost: %s" % (arg, e))
            conn.close()
            return self.reply("426 Connection lost.")
        if self.mode in ("tls-dirty", "tls-half"):
            how = self.data_end_dirty(conn, False)
        elif self.mode == "tls-rst":
            how = self.data_end_dirty(conn, True)
        else:
            how = self.data_end_clean(conn)
        log(self.tag, "RETR %s: %d bytes sent, the data TLS ended %s" % (arg, len(data), how))
        self.reply("226 Transfer complete.")

    def floodheld(self, conn, path):
        """The data, slowly, in a thread; 226 at once; junk until it ends."""
        done = threading.Event()
        sent = [0]

        def data():
            t0 = time.monotonic()
            try:
                with open(path, "rb") as f:
                    while time.monotonic() - t0 < FLOOD_SECONDS:
                        b = f.read(FLOOD_RATE // 10)
                        if not b:
                            break
                        conn.sendall(b)
                        sent[0] += len(b)
                        ahead = sent[0] / FLOOD_RATE - (time.monotonic() - t0)
                        if ahead > 0:
                            time.sleep(ahead)
            except OSError as e:
                log(self.tag, "floodheld: data connection lost: %s" % e)
            done.set()

        th = threading.Thread(target=data, daemon=True)
        th.start()
        self.reply("226 Transfer complete.")
        junk = b"junk " * 200 + b"\r\n"
        n = 0
        self.request.settimeout(1)
        while not done.is_set():
            try:
                n += self.request.send(junk)
            except socket.timeout:
                continue
            except OSError as e:
                log(self.tag, "floodheld: control connection lost: %s" % e)
                break
        th.join()
        conn.close()
        log(self.tag, "floodheld: %d data bytes sent, %d junk bytes on the control connection"
            % (sent[0], n))
        return "close"

    def cmd_stor(self, arg):
        p = self.path(arg)
        if p is None:
            self.close_data_setup()
            self.reply("553 Bad file name.")
            return
        conn = self.data_conn()
        if conn is None:
            self.reply("425 No data connection.")
            return
        self.reply("150 Ok to send data.")
        conn = self.data_tls(conn, "STOR")
        if conn is None:
            self.reply("425 TLS on the data connection failed.")
            return
        n = 0
        end = None
        with open(p, "wb") as f:
            while True:
                try:
                    b = conn.recv(BLOCK)
                except ssl.SSLError as e:
                    end = "no close_notify (%s: %s)" % (type(e).__name__, e)
                    break
                except OSError as e:
                    end = "no close_notify (%s)" % type(e).__name__
                    break
                if not b:
                    break
                f.write(b)
                n += len(b)
        if isinstance(conn, ssl.SSLSocket):
            if end is None:
                end = "close_notify"
                try:
                    conn.settimeout(5)
                    conn.unwrap()    # ours back
                except (OSError, ValueError):
                    pass
            conn.close()
            log(self.tag, "STOR %s: %d bytes received, data TLS end: %s" % (arg, n, end))
        else:
            conn.close()
            log(self.tag, "STOR %s: %d bytes received%s" % (arg, n, "" if end is None else ", " + end))
        self.reply("226 Transfer complete.")

    def cmd_list(self, arg, names_only=False):
        conn = self.data_conn()
        if conn is None:
            self.reply("425 No data connection.")
            return
        self.reply("150 Here comes the directory listing.")
        conn = self.data_tls(conn, "LIST")
        if conn is None:
            self.reply("425 TLS on the data connection failed.")
            return
        lines = []
        for n in sorted(os.listdir(self.home)):
            p = os.path.join(self.home, n)
            if names_only:
                lines.append(n)
            else:
                lines.append("%s 1 ftp ftp %12d Jan 01 00:00 %s"
                             % ("drwxr-xr-x" if os.path.isdir(p) else "-rw-r--r--",
                                os.path.getsize(p), n))
        try:
            conn.sendall("".join(l + "\r\n" for l in lines).encode("utf-8", "replace"))
        except OSError as e:
            log(self.tag, "LIST: data connection lost: %s" % e)
        if isinstance(conn, ssl.SSLSocket):
            self.data_end_clean(conn)
        else:
            conn.close()
        self.reply("226 Directory send OK.")

    def cmd_nlst(self, arg):
        return self.cmd_list(arg, names_only=True)

    def cmd_size(self, arg):
        p = self.path(arg)
        if p is None or not os.path.isfile(p):
            self.reply("550 No such file.")
        else:
            self.reply("213 %d" % os.path.getsize(p))

    def cmd_help(self, arg):
        if self.mode == "lpsv228":
            self.reply(self.LPSV_228)
        elif self.mode == "longline":
            self.reply("214 " + "x" * 5000)
        elif self.mode == "manylines":
            log(self.tag, "S> 214- (2002 lines)")
            self.send("214-Help follows.")
            for i in range(2000):
                self.send(" help line %d" % i)
            self.send("214 End of help.")
        elif self.mode == "closehelp":
            log(self.tag, "closehelp: closing the control connection without a reply")
            return "close"
        elif self.mode == "tls-ctldirty" and self.tls_ctl:
            log(self.tag, "tls-ctldirty: ending the control TLS without close_notify (FIN)")
            self.ctl_dirty = True
            self.data_end_dirty(self.request, False)
            return "close"
        else:
            self.reply("214 Help OK.")

    def cmd_feat(self, arg):
        log(self.tag, "S> 211- (features)")
        self.send("211-Features:")
        self.send(" EPSV")
        self.send(" SIZE")
        self.send("211 End")

    SIMPLE = {
        "USER": "331 Password, please.",
        "PASS": "230 Logged in.",
        "TYPE": "200 Type set.",
        "NOOP": "200 NOOP ok.",
        "SYST": "215 UNIX Type: L8",
        "PWD": '257 "/" is the current directory.',
        "CWD": "250 Directory changed.",
        "MODE": "200 Mode set.",
        "STRU": "200 Structure set.",
        "OPTS": "200 OK.",
    }

    def handle(self):
        peer = self.client_address
        log(self.tag, "connection from %s:%d" % peer[:2])
        if self.mode != "nogreeting":
            self.reply("220 fakeftpd (%s) ready." % self.mode)
        try:
            while True:
                raw = self.rfile.readline(65536)
                if not raw:
                    log(self.tag, "the client closed the connection")
                    break
                raw = raw.rstrip(b"\r\n")
                if self.mode == "telnet":
                    raw = telnet_strip(raw)
                line = raw.decode("latin-1")
                verb, _, arg = line.partition(" ")
                verb = verb.upper()
                shown = raw[:200].decode("ascii", "backslashreplace")
                log(self.tag, "C> %s" % ("PASS ****" if verb == "PASS" else shown))
                if self.mode == "nogreeting":
                    continue
                if verb == "QUIT":
                    self.reply("221 Goodbye.")
                    break
                if verb in self.SIMPLE:
                    self.reply(self.SIMPLE[verb])
                    continue
                fn = getattr(self, "cmd_" + verb.lower(), None)
                if fn is None:
                    self.reply("502 Command not implemented.")
                    continue
                if fn(arg) == "close":
                    log(self.tag, "closing the control connection")
                    break
        except OSError as e:
            log(self.tag, "control connection error: %s" % e)
        finally:
            self.close_data_setup()
            if self.tls_ctl and not self.ctl_dirty:
                # socketserver would end it below TLS (shutdown without
                # close_notify): a clean mode ends cleanly.
                log(self.tag, "control TLS ended %s" % self.data_end_clean(self.request))
            elif self.tls_ctl:
                self.request.close()


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 64


def main():
    global _log_file
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--address", default="0.0.0.0")
    p.add_argument("--listen", action="append", required=True, metavar="PORT:MODE",
                   help="a port and its behaviour (one of %s)" % ", ".join(MODES))
    p.add_argument("--home", required=True, help="files for RETR, the root for STOR")
    p.add_argument("--log", help="the log file (default stderr)")
    p.add_argument("--cert", help="the TLS modes' certificate (PEM)")
    p.add_argument("--key", help="its key (PEM)")
    a = p.parse_args()
    tls = None
    if a.cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # An EOF without close_notify must read as one (Debian's python3
        # sets OP_IGNORE_UNEXPECTED_EOF by default, which hides it).
        tls.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
        tls.load_cert_chain(a.cert, a.key)
    if a.log:
        _log_file = open(a.log, "a")
    servers = []
    for spec in a.listen:
        port, _, mode = spec.partition(":")
        if mode not in MODES:
            p.error("unknown mode %r" % mode)
        if mode.startswith("tls-") and tls is None:
            p.error("mode %s needs --cert and --key" % mode)
        srv = Server((a.address, int(port)), Handler)
        srv.tls = tls
        srv.mode = mode
        srv.home = os.path.abspath(a.home)
        servers.append(srv)
        log("%s/%s" % (port, mode), "listening on %s:%s" % (a.address, port))
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
