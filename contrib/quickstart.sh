#!/bin/sh
# Quick start on a fresh Debian 12 (as root): install the build
# dependencies and what the demonstration needs, build ftpgw, and run
# contrib/demo.sh with the binaries just built: a lab of network namespaces
# on this machine (no router needed) with vsftpd, curl and lftp, moving
# files through ftpgw in redirect, tproxy and reverse mode, plain and TLS,
# passive and active.  It prints one line per transfer, ftpgwctl sessions
# and stats, the gateway's log, and how to run the gateway for real.
#   contrib/quickstart.sh [--run]
# --run then also starts the built ftpgw in the foreground with the sample
# configuration etc/ftpgw.conf (a redirect listener on port 8021; Ctrl-C
# stops it).  Exit status: the demo's (0: every transfer passed).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
run=no
case ${1:-} in
'') ;;
--run) run=yes ;;
*) echo "usage: $0 [--run]" >&2; exit 2 ;;
esac
sh "$top/contrib/debian-deps.sh" --demo
cd "$top"
autoreconf -fi
mkdir -p _build/quickstart
cd _build/quickstart
"$top/configure" --sysconfdir=/etc
make -j"$(nproc)"
build=$PWD
./src/ftpgw -t -c "$top/etc/ftpgw.conf"
status=0
sh "$top/contrib/demo.sh" --ftpgw "$build/src/ftpgw" --ftpgwctl "$build/src/ftpgwctl" || status=$?
echo
echo "quickstart: built in $build; install with: cd $build && make install"
if [ $status -ne 0 ]; then
	echo "quickstart: the demonstration FAILED (exit status $status)" >&2
	exit $status
fi
if [ $run = yes ]; then
	echo "quickstart: running $build/src/ftpgw -f -c $top/etc/ftpgw.conf (Ctrl-C stops it)"
	exec ./src/ftpgw -f -c "$top/etc/ftpgw.conf"
fi
