#!/bin/sh
# Install what ftpgw needs on Debian 12: to build it, and with --test, to run
# its whole test suite (real FTP servers and clients, netns tools, sanitizer
# and fuzzer toolchains). Run as root.
set -eu
build="build-essential autoconf automake pkg-config libevent-dev libconfuse-dev libssl-dev check"
test="iproute2 iptables nftables vsftpd python3 python3-pyftpdlib lftp curl openssl mandoc clang libclang-rt-dev procps passwd systemd util-linux"
pkgs=$build
[ "${1:-}" = "--test" ] && pkgs="$build $test"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $pkgs
