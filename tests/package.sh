#!/bin/sh
# The Debian package (debian/): built from a copy of the tree with
# dpkg-buildpackage -us -uc -b, lintian-clean (errors fail), its contents
# and conffiles as debian/ says, and the files themselves working in a
# throwaway root (dpkg-deb -x): the installed ftpgw passes -t on the
# installed configuration, whose path is also its built-in default; the
# unit, the man pages and the sysctl file agree with it; the sysusers
# file creates the user (systemd-sysusers --dry-run). Nothing is
# installed on this machine. Run by tests/suite.sh; TAP output.
#   tests/package.sh [SRCDIR]
SRCDIR=${1:-${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}}
. "$SRCDIR/tests/tap.sh"

for tool in dpkg-buildpackage dh lintian dpkg-deb fakeroot; do
	command -v "$tool" >/dev/null 2>&1 || { echo "1..0 # SKIP $tool missing (contrib/debian-deps.sh --test)"; exit 0; }
done

# A copy of the sources as they are (committed or not, but not what the
# build or .gitignore leaves): dpkg-buildpackage writes beside its tree.
src=$tmp/src
mkdir -p "$src" || exit 1
if git -C "$SRCDIR" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$SRCDIR" && git ls-files -co --exclude-standard -z | tar -cf - --null -T -) | tar -xf - -C "$src"
else
	(cd "$SRCDIR" && tar -cf - --exclude=./_build --exclude=./autom4te.cache .) | tar -xf - -C "$src"
fi || exit 1

check "dpkg-buildpackage -us -uc -b" sh -c "cd '$src' && dpkg-buildpackage -us -uc -b -j2"
deb=$(ls "$tmp"/ftpgw_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || { echo "Bail out! no ftpgw_*.deb built"; exit 1; }
check "lintian: no errors" lintian --fail-on error \
	"$tmp"/ftpgw_*.changes

dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$tmp/contents"
want="/usr/sbin/ftpgw /usr/sbin/ftpgwctl /etc/ftpgw/ftpgw.conf /lib/systemd/system/ftpgw.service
/usr/share/man/man8/ftpgw.8.gz /usr/share/man/man8/ftpgwctl.8.gz /usr/share/man/man5/ftpgw.conf.5.gz
/etc/logrotate.d/ftpgw /usr/lib/sysctl.d/60-ftpgw.conf /usr/lib/sysusers.d/ftpgw.conf
/usr/share/doc/ftpgw/examples/ftpgw-redirect.nft /usr/share/doc/ftpgw/examples/ftpgw-tproxy.nft
/usr/share/doc/ftpgw/examples/ftpgw-redirect.sh /usr/share/doc/ftpgw/examples/ftpgw-tproxy.sh
/usr/share/doc/ftpgw/copyright"
check "dpkg-deb -c: the binaries, config, unit, man pages, logrotate, sysctl, sysusers, examples" sh -c "
	for f in $(echo $want); do grep -qx \"\$f\" '$tmp/contents' || { echo \"missing: \$f\"; exit 1; }; done"
root=$tmp/root
dpkg-deb -x "$deb" "$root" || exit 1
dpkg-deb --ctrl-tarfile "$deb" | tar -xf - -C "$tmp" ./conffiles ./postinst 2>"$tmp/ctrl.err"
check "conffiles: /etc/ftpgw/ftpgw.conf and /etc/logrotate.d/ftpgw" sh -c "
	cat '$tmp/conffiles' && grep -qx /etc/ftpgw/ftpgw.conf '$tmp/conffiles' &&
	grep -qx /etc/logrotate.d/ftpgw '$tmp/conffiles'"
# postinst applies the sysctl file by name (systemd-sysctl finds an
# administrator's /etc/sysctl.d/60-ftpgw.conf first); here the extracted
# file by its path, in a network namespace of its own (the reserved ports
# are per namespace): this machine's setting is not touched.
if command -v unshare >/dev/null 2>&1 && [ -x /lib/systemd/systemd-sysctl ] && [ "$(id -u)" = 0 ]; then
	check "postinst's systemd-sysctl call reserves the range (own netns)" sh -c "
		grep -q '^[[:space:]]*/lib/systemd/systemd-sysctl 60-ftpgw.conf ' '$tmp/postinst' &&
		unshare -n sh -c '/lib/systemd/systemd-sysctl \"$root/usr/lib/sysctl.d/60-ftpgw.conf\" &&
			cat /proc/sys/net/ipv4/ip_local_reserved_ports' | tee /dev/stderr | grep -qx 50000-50999"
fi
check "postinst creates the user before it starts the service" sh -c "
	awk '/systemd-sysusers/ && !u { u = NR } /deb-systemd-invoke/ && !s { s = NR }
	    END { exit !(u && s && u < s) }' '$tmp/postinst'"

check "the installed ftpgw -t accepts the installed ftpgw.conf" \
	"$root/usr/sbin/ftpgw" -t -c "$root/etc/ftpgw/ftpgw.conf"
# Without -c, the built-in path: /etc/ftpgw/ftpgw.conf (absent or not here,
# the message names it).
check "its built-in default configuration is /etc/ftpgw/ftpgw.conf" sh -c "
	'$root/usr/sbin/ftpgw' -t 2>&1 | grep '^/etc/ftpgw/ftpgw.conf: '"
check "the unit runs /usr/sbin/ftpgw on /etc/ftpgw/ftpgw.conf as user ftpgw" sh -c "
	u='$root/lib/systemd/system/ftpgw.service'
	grep -qx 'ExecStart=/usr/sbin/ftpgw -f -S -c /etc/ftpgw/ftpgw.conf' \"\$u\" &&
	grep -qx 'ExecStartPre=/usr/sbin/ftpgw -t -c /etc/ftpgw/ftpgw.conf' \"\$u\" &&
	grep -qx 'User=ftpgw' \"\$u\""
check "the man pages name /etc/ftpgw/ftpgw.conf" sh -c "
	zcat '$root/usr/share/man/man8/ftpgw.8.gz' | grep -qx '.It Pa /etc/ftpgw/ftpgw.conf' &&
	zcat '$root/usr/share/man/man5/ftpgw.conf.5.gz' | grep -qx '.It Pa /etc/ftpgw/ftpgw.conf'"
# The reserved ports are the passive range of the shipped configuration.
check "the sysctl.d file reserves the configured passive range" sh -c "
	range=\$(sed -n 's/^passive-ports = \"\\(.*\\)\"\$/\\1/p' '$root/etc/ftpgw/ftpgw.conf')
	echo \"passive-ports: \$range\"; [ -n \"\$range\" ] &&
	grep -qx \"net.ipv4.ip_local_reserved_ports = \$range\" '$root/usr/lib/sysctl.d/60-ftpgw.conf'"
check "the logrotate file rotates /var/log/ftpgw/xferlog for user ftpgw" sh -c "
	grep -q '^/var/log/ftpgw/xferlog {' '$root/etc/logrotate.d/ftpgw' &&
	grep -Eq '^[[:space:]]create 0640 ftpgw ' '$root/etc/logrotate.d/ftpgw'"
if command -v systemd-sysusers >/dev/null 2>&1; then
	check "systemd-sysusers --dry-run creates the user ftpgw" sh -c "
		systemd-sysusers --root='$root' --dry-run ftpgw.conf 2>&1 | tee /dev/stderr |
		grep -q \"Creating user 'ftpgw'\""
fi
tap_end
