#!/bin/sh
# What ftpgw needs on Debian 12: to build it, and with --test, to run its
# whole test suite (real FTP servers and clients, netns tools, sanitizer
# and fuzzer toolchains). Installs them (as root), or with --list only
# prints the package names.
#   contrib/debian-deps.sh [--test] [--demo] [--list]
set -eu
build="build-essential autoconf automake pkg-config libevent-dev libconfuse-dev libssl-dev libnftables-dev libmnl-dev check"
test="iproute2 iptables nftables keepalived vsftpd python3 python3-pyftpdlib lftp curl openssl mandoc clang libclang-rt-dev procps passwd systemd util-linux"
# --demo: what contrib/demo.sh runs (namespaces, iptables, vsftpd, clients).
demo="iproute2 iptables vsftpd lftp curl openssl procps"
# The Debian package tier (tests/package.sh) and the deploy lane (logrotate).
test="$test debhelper lintian fakeroot dpkg-dev logrotate"
pkgs=$build list=no
for arg in "$@"; do
	case $arg in
	--test) pkgs="$build $test" ;;
	--demo) pkgs="$pkgs $demo" ;;
	--list) list=yes ;;
	*) echo "usage: $0 [--test] [--demo] [--list]" >&2; exit 2 ;;
	esac
done
if [ $list = yes ]; then
	echo $pkgs
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $pkgs
