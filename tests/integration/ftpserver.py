#!/usr/bin/env python3
"""ftpserver.py: the pyftpdlib test server of ftpgw's integration tests.

Dual stack (one [::] socket that accepts IPv4 too), one user, a home
directory, a passive range that never overlaps ftpgw's, and
permit_foreign_addresses left False, so a data connection from (or a PORT
to) an address other than the control connection's peer is refused: this
is what shows a plain TCP relay cannot carry FTP.
"""

import argparse
import logging
import socket
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--address", default="::")
    p.add_argument("--port", type=int, default=2121)
    p.add_argument("--user", default="ftpgwtest")
    p.add_argument("--password", default="ftpgwtest")
    p.add_argument("--home", required=True)
    p.add_argument("--passive", default="41000-41999")
    p.add_argument("--log")
    a = p.parse_args()

    logging.basicConfig(filename=a.log, level=logging.INFO,
                        format="%(asctime)s %(message)s")
    auth = DummyAuthorizer()
    auth.add_user(a.user, a.password, a.home, perm="elradfmwMT")
    lo, hi = (int(x) for x in a.passive.split("-"))

    class Handler(FTPHandler):
        authorizer = auth
        passive_ports = range(lo, hi + 1)
        permit_foreign_addresses = False
        banner = "pyftpdlib test server ready."

    sock = socket.socket(socket.AF_INET6 if ":" in a.address else socket.AF_INET,
                         socket.SOCK_STREAM)
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((a.address, a.port))
    sock.listen(128)
    server = FTPServer(sock, Handler)
    server.serve_forever(handle_exit=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
