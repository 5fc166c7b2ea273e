#!/usr/bin/env python3
"""sdmanager.py: what systemd does for "systemctl restart ftpgw" with
FileDescriptorStoreMax= and KillMode=process, by its documented protocols
(sd_notify(3): READY=1, FDSTORE=1 with FDNAME=, FDSTOREREMOVE=1;
sd_listen_fds(3): LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES from fd 3 on), for
a machine without systemd as PID 1 (lanes-upgrade.sh).

    sdmanager.py --dir DIR -- ftpgw -f -S -c CONF

Starts the command with NOTIFY_SOCKET, keeps the descriptors it stores,
and writes DIR/ready when it says READY=1.  When DIR/restart appears it
sends SIGTERM to the main process, waits for it to exit (as systemd waits
for the main process before starting again), and starts the command again
with the stored descriptors; DIR/restarted when that one is READY.  When
DIR/stop appears: SIGTERM, wait, drop the store, exit.  Reports on stdout:

    stored N                        (after each READY)
    stopped in SECONDS status S     (the main process after SIGTERM)
    started PID with N fds
"""

import argparse
import array
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time


class Manager:
    def __init__(self, d, cmd):
        self.dir, self.cmd = d, cmd
        self.path = os.path.join(d, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.store = {}                     # name -> fd
        self.proc = None
        self.ready = False

    def pump(self):
        try:
            msg, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(64 * 4))
        except socket.timeout:
            return
        fds = array.array("i")
        for level, typ, data in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
        fields = dict(l.split("=", 1) for l in msg.decode().split("\n") if "=" in l)
        if fields.get("FDSTORE") == "1":
            for fd in fds:
                st = os.fstat(fd)
                # systemd keeps one copy of each open file.
                if any(os.fstat(f).st_ino == st.st_ino for f in self.store.values()):
                    os.close(fd)
                    continue
                name = fields.get("FDNAME", "stored")
                key = name
                n = 1
                while key in self.store:
                    key = "%s#%d" % (name, n)
                    n += 1
                self.store[key] = fd
            return
        for fd in fds:
            os.close(fd)
        if fields.get("FDSTOREREMOVE") == "1":
            name = fields.get("FDNAME")
            for key in [k for k in self.store if k.split("#")[0] == name]:
                os.close(self.store.pop(key))
        if fields.get("READY") == "1":
            self.ready = True

    def start(self):
        fds = list(self.store.values())
        names = [k.split("#")[0] for k in self.store]
        env = dict(os.environ, NOTIFY_SOCKET=self.path)
        env.pop("LISTEN_FDS", None)
        if fds:
            env["LISTEN_FDS"] = str(len(fds))
            env["LISTEN_FDNAMES"] = ":".join(names)

        # The wrapper puts them at 3, 4, ... and sets LISTEN_PID to its
        # own pid, which the command keeps when the wrapper execs it.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for fd in fds]
        wrapper = ("import os, sys\n"
                   "fds = [int(x) for x in sys.argv[1].split(',') if x]\n"
                   "for i, fd in enumerate(fds):\n"
                   "    os.dup2(fd, 3 + i)\n"
                   "for fd in fds:\n"
                   "    os.close(fd)\n"
                   "if fds:\n"
                   "    os.environ['LISTEN_PID'] = str(os.getpid())\n"
                   "os.execvp(sys.argv[2], sys.argv[2:])\n")
        cmd = [sys.executable, "-c", wrapper, ",".join(map(str, high))] + self.cmd
        self.ready = False
        self.proc = subprocess.Popen(cmd, env=env, pass_fds=high)
        for fd in high:
            os.close(fd)
        print("started %d with %d fds" % (self.proc.pid, len(fds)), flush=True)

    def wait_ready(self, timeout=10):
        t0 = time.monotonic()
        while not self.ready:
            if self.proc.poll() is not None:
                sys.exit("the service exited with %d before READY=1" % self.proc.returncode)
            if time.monotonic() - t0 > timeout:
                sys.exit("no READY=1 within %d s" % timeout)
            self.pump()
        # The stores that come with or just after READY.
        t1 = time.monotonic()
        while time.monotonic() - t1 < 0.5:
            self.pump()
        print("stored %d" % len(self.store), flush=True)

    def stop_main(self):
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        while self.proc.poll() is None:
            if time.monotonic() - t0 > 30:
                self.proc.kill()
                sys.exit("the main process still runs 30 s after SIGTERM")
            self.pump()
        print("stopped in %.2f status %d" % (time.monotonic() - t0, self.proc.returncode),
              flush=True)

    def wait_file(self, name):
        while not os.path.exists(os.path.join(self.dir, name)):
            self.pump()
            if self.proc.poll() is not None:
                sys.exit("the service exited with %d" % self.proc.returncode)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("cmd", nargs="+")
    a = p.parse_args()
    m = Manager(a.dir, a.cmd)
    m.start()
    m.wait_ready()
    open(os.path.join(a.dir, "ready"), "w").close()
    m.wait_file("restart")
    m.stop_main()
    m.start()
    m.wait_ready()
    open(os.path.join(a.dir, "restarted"), "w").close()
    m.wait_file("stop")
    m.stop_main()
    for fd in m.store.values():
        os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
