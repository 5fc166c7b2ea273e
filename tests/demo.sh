#!/bin/sh
# The README's first command shows the job: contrib/demo.sh (which
# contrib/quickstart.sh runs) must pass with the built ftpgw and ftpgwctl,
# and must fail when the gateway does not start, or when some transfers
# cannot get through it (a gateway whose reverse listener points at a
# closed port).  TAP output, one line per check; skipped where the demo
# cannot run (exit status 77: not root, a tool missing) and with
# FTPGW_SKIP_INTEGRATION=1.
FTPGW=${FTPGW:-./src/ftpgw}
SRCDIR=${SRCDIR:-.}
case $FTPGW in /*) ;; *) FTPGW=$PWD/$FTPGW ;; esac
CTL=$(dirname "$FTPGW")/ftpgwctl
DEMO=$SRCDIR/contrib/demo.sh
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
n=0
fails=0

if [ -n "${FTPGW_SKIP_INTEGRATION:-}" ]; then
	echo "1..0 # SKIP FTPGW_SKIP_INTEGRATION is set"
	exit 0
fi

# demo NAME WANT-STATUS [DEMO-OPTIONS...]: contrib/demo.sh must exit with
# WANT-STATUS (1 for any failure); 77 from the demo skips the check.
demo() {
	name=$1 want=$2
	shift 2
	n=$((n + 1))
	sh "$DEMO" --ftpgwctl "$CTL" "$@" >"$tmp/out.$n" 2>&1
	got=$?
	if [ "$got" = 77 ]; then
		echo "ok $n - $name # SKIP $(tail -n 1 "$tmp/out.$n")"
	elif [ "$got" = "$want" ] && check_$n; then
		echo "ok $n - $name"
		grep -E '^(all|[0-9]+ check).*transfers' "$tmp/out.$n" | sed 's/^/# /'
	else
		echo "not ok $n - $name"
		echo "# exit status $got, expected $want; the demo's output ends:"
		tail -n 40 "$tmp/out.$n" | sed 's/^/# /'
		fails=$((fails + 1))
	fi
}

# What each check's output must show besides the exit status.
check_1() {   # 24 transfers + the live one passed, none failed, the live session listed
	[ "$(grep -c ' sha256 ok .* PASS$' "$tmp/out.1")" = 25 ] &&
		! grep -q 'FAIL' "$tmp/out.1" &&
		grep -q ' ftp+tls transfer ' "$tmp/out.1"
}
check_2() { grep -q 'ftpgw does not start' "$tmp/out.2"; }
check_3() {   # the reverse transfers failed, the others passed
	[ "$(grep -c '^reverse .* FAIL' "$tmp/out.3")" -ge 8 ] &&
		[ "$(grep -c '^redirect .* PASS$' "$tmp/out.3")" = 8 ] &&
		[ "$(grep -c '^tproxy .* PASS$' "$tmp/out.3")" = 8 ]
}

demo "contrib/demo.sh: redirect, tproxy, reverse; plain/TLS; passive/active, sha256" 0 \
	--ftpgw "$FTPGW"

# A stand-in gateway that passes -t and never listens.
printf '#!/bin/sh\nexit 0\n' >"$tmp/nogw"
chmod 755 "$tmp/nogw"
demo "contrib/demo.sh fails when the gateway does not start" 1 --ftpgw "$tmp/nogw"

# The real gateway with the reverse listener's upstream on a closed port.
cat >"$tmp/badrev" <<EOF
#!/bin/sh
[ "\$1" = -t ] && exec "$FTPGW" "\$@"
conf=\$3
sed 's/upstream = "\\([0-9.]*\\):21"/upstream = "\\1:2"/' "\$conf" >"\$conf.badrev"
exec "$FTPGW" "\$1" "\$2" "\$conf.badrev"
EOF
chmod 755 "$tmp/badrev"
demo "contrib/demo.sh fails when transfers fail (reverse upstream closed)" 1 --ftpgw "$tmp/badrev"

echo "1..$n"
[ $fails -eq 0 ]
