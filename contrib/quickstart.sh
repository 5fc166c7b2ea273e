#!/bin/sh
# Quick start on a fresh Debian 12 (as root): install the build dependencies,
# build ftpgw, and run it in the foreground with the sample configuration
# (a redirect listener on port 8021). Ctrl-C stops it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sh "$top/contrib/debian-deps.sh"
cd "$top"
autoreconf -fi
mkdir -p _build/quickstart
cd _build/quickstart
"$top/configure" --sysconfdir=/etc
make -j"$(nproc)"
./src/ftpgw -t -c "$top/etc/ftpgw.conf"
echo "ftpgw: running with $top/etc/ftpgw.conf; redirect clients' port 21 to it with"
echo "       contrib/iptables/ftpgw-redirect.sh add  (or contrib/nftables/ftpgw-redirect.nft)"
exec ./src/ftpgw -f -c "$top/etc/ftpgw.conf"
