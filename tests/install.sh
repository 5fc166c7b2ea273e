#!/bin/sh
# "make install" as a distribution or an operator uses it: a build with
# --prefix=/usr --sysconfdir=/etc/ftpgw installed twice into a DESTDIR with
# an edit of ftpgw.conf between (the edit must survive, the sample go
# beside it as ftpgw.conf.dist), the man pages and the unit naming the
# configured paths (and mandoc -T lint clean), and "make uninstall"
# keeping the edited file. Run by tests/suite.sh; TAP output.
#   tests/install.sh [SRCDIR]
SRCDIR=${1:-${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}}
. "$SRCDIR/tests/tap.sh"

b=$tmp/build d=$tmp/root etc=$tmp/root/etc/ftpgw
mkdir -p "$b" || exit 1
check "configure --prefix=/usr --sysconfdir=/etc/ftpgw, make" sh -c "cd '$b' &&
	'$SRCDIR/configure' -q --prefix=/usr --sysconfdir=/etc/ftpgw \
		--with-systemdsystemunitdir=/lib/systemd/system && make -j2 >/dev/null"
check "make install DESTDIR installs the sample ftpgw.conf" sh -c "
	make -C '$b' install DESTDIR='$d' >/dev/null &&
	cmp '$SRCDIR/etc/ftpgw.conf' '$etc/ftpgw.conf' && test ! -e '$etc/ftpgw.conf.dist' &&
	test -x '$d/usr/sbin/ftpgw' && test -x '$d/usr/sbin/ftpgwctl'"
echo '# an operator edit' >>"$etc/ftpgw.conf"
cp "$etc/ftpgw.conf" "$tmp/edited"
check "make install again keeps the edited ftpgw.conf, sample as ftpgw.conf.dist" sh -c "
	make -C '$b' install DESTDIR='$d' >'$tmp/install.log' &&
	cmp '$tmp/edited' '$etc/ftpgw.conf' &&
	cmp '$SRCDIR/etc/ftpgw.conf' '$etc/ftpgw.conf.dist' &&
	grep 'kept .*ftpgw.conf; the new sample is ftpgw.conf.dist' '$tmp/install.log'"
m=$d/usr/share/man
check "the man pages name /etc/ftpgw/ftpgw.conf, not /usr/local" sh -c "
	grep -q '^\.It Pa /etc/ftpgw/ftpgw.conf\$' '$m/man8/ftpgw.8' &&
	grep -q '^\.It Pa /etc/ftpgw/ftpgw.conf\$' '$m/man5/ftpgw.conf.5' &&
	! grep -n -e /usr/local -e @sysconfdir@ -e @sbindir@ '$m/man8/ftpgw.8' '$m/man5/ftpgw.conf.5'"
if command -v mandoc >/dev/null 2>&1; then
	check "the installed man pages are mandoc -T lint clean" sh -c "
		out=\$(mandoc -T lint -W warning '$m/man8/ftpgw.8' '$m/man5/ftpgw.conf.5' '$m/man8/ftpgwctl.8' 2>&1)
		echo \"\$out\"; [ -z \"\$out\" ]"
fi
check "the unit runs /usr/sbin/ftpgw -c /etc/ftpgw/ftpgw.conf" \
	grep -qx 'ExecStart=/usr/sbin/ftpgw -f -S -c /etc/ftpgw/ftpgw.conf' "$d/lib/systemd/system/ftpgw.service"
check "make uninstall keeps the edited ftpgw.conf, removes the rest" sh -c "
	make -C '$b' uninstall DESTDIR='$d' >/dev/null &&
	cmp '$tmp/edited' '$etc/ftpgw.conf' && test ! -e '$etc/ftpgw.conf.dist' &&
	test ! -e '$d/usr/sbin/ftpgw' && test ! -e '$m/man8/ftpgw.8'"
tap_end
