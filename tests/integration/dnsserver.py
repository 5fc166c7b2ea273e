#!/usr/bin/env python3
"""A tiny authoritative DNS responder for ftpgw's proxy-mode tests
(lanes-proxy.sh): UDP only, A and AAAA from --record NAME=ADDRESS,
NXDOMAIN for names it does not know, every question logged to --log (so
a test can tell that the gateway asked it). Standard library only."""
import argparse
import ipaddress
import socket
import struct
import sys


def parse_question(msg):
    """(id, flags, qname, qtype, qclass, end of the question) or None."""
    if len(msg) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", msg[:6])
    if qd != 1 or flags & 0x8000:
        return None
    labels, i = [], 12
    while True:
        if i >= len(msg):
            return None
        n = msg[i]
        i += 1
        if n == 0:
            break
        if n & 0xC0 or i + n > len(msg):
            return None
        labels.append(msg[i:i + n].decode("ascii", "replace"))
        i += n
    if i + 4 > len(msg):
        return None
    qtype, qclass = struct.unpack("!HH", msg[i:i + 4])
    return qid, flags, ".".join(labels).lower(), qtype, qclass, i + 4


def answer(msg, records):
    q = parse_question(msg)
    if q is None:
        return None, None
    qid, flags, name, qtype, qclass, end = q
    addrs = records.get(name.rstrip("."))
    rd = flags & 0x0100
    if addrs is None:
        rcode, answers = 3, []                       # NXDOMAIN
    else:
        rcode = 0
        want = {1: 4, 28: 6}.get(qtype)
        answers = [a for a in addrs if a.version == want]
    out = struct.pack("!HHHHHH", qid, 0x8400 | rd | 0x0080 | rcode, 1, len(answers), 0, 0)
    out += msg[12:end]
    for a in answers:
        out += struct.pack("!HHHIH", 0xC00C, qtype, 1, 60, len(a.packed)) + a.packed
    return out, "%s %s -> %s" % ({1: "A", 28: "AAAA"}.get(qtype, qtype), name,
                                  "NXDOMAIN" if rcode else ",".join(map(str, answers)) or "none")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--port", type=int, default=53)
    p.add_argument("--record", action="append", default=[], help="NAME=ADDRESS")
    p.add_argument("--log", required=True)
    a = p.parse_args()
    records = {}
    for r in a.record:
        name, _, addr = r.partition("=")
        records.setdefault(name.lower().rstrip("."), []).append(ipaddress.ip_address(addr))
    fam = socket.AF_INET6 if ":" in a.listen else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((a.listen, a.port))
    log = open(a.log, "a", buffering=1)
    log.write("listening on %s:%d\n" % (a.listen, a.port))
    while True:
        msg, peer = s.recvfrom(4096)
        out, what = answer(msg, records)
        if out is None:
            continue
        log.write("%s from %s\n" % (what, peer[0]))
        s.sendto(out, peer)


if __name__ == "__main__":
    sys.exit(main())
