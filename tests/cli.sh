#!/bin/sh
# The command line of CONTRACT: -V, -t on good and bad files (every problem
# as FILE:LINE: message, exit 1), unknown options, TLS files named by -t.
# TAP output, one line per check.
FTPGW=${FTPGW:-./src/ftpgw}
SRCDIR=${SRCDIR:-.}
data="$SRCDIR/tests/data"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0

check() {   # check NAME COMMAND...: ok when COMMAND succeeds
	name=$1; shift
	n=$((n + 1))
	if "$@" >"$tmp/out" 2>&1; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		sed 's/^/# /' "$tmp/out"
		fails=$((fails + 1))
	fi
}

# run EXPECTED-STATUS OUTFILE COMMAND...: the status must match
run() {
	want=$1 out=$2; shift 2
	"$@" >"$out" 2>&1
	got=$?
	[ "$got" -eq "$want" ] || { echo "exit status $got, expected $want:"; cat "$out"; return 1; }
}

check "-V prints the version" sh -c "'$FTPGW' -V | grep -Eq '^ftpgw [0-9]+\.[0-9]+'"
check "-t accepts the sample etc/ftpgw.conf" run 0 "$tmp/t1" "$FTPGW" -t -c "$SRCDIR/etc/ftpgw.conf"
check "-t accepts a full config" run 0 "$tmp/t2" "$FTPGW" -t -c "$data/good-minimal.conf"
check "-t rejects a bad file with exit 1" run 1 "$tmp/t3" "$FTPGW" -t -c "$data/err-many.conf"
check "-t prints every error as FILE:LINE: message" sh -c "
	'$FTPGW' -t -c '$data/err-many.conf' 2>&1 | grep -v '^ *\$' > '$tmp/lines'
	test \$(wc -l < '$tmp/lines') -ge 3 &&
	! grep -Ev '^[^:]+err-many\.conf:[0-9]+: .+' '$tmp/lines'"
check "-t names the unknown key and its line" sh -c "
	'$FTPGW' -t -c '$data/err-unknown-key.conf' 2>&1 | grep -Eq 'err-unknown-key\.conf:[0-9]+: .*no such option'"
check "-t on a missing file says it cannot open it" sh -c "
	'$FTPGW' -t -c '$tmp/none.conf' 2>&1 | grep -q 'none.conf: cannot open'; test \$? -eq 0"
check "-t names an unreadable certificate file" sh -c "
	printf 'listen \"a\" { port = 8021 }\ntls {\n certificate = \"$tmp/missing.pem\"\n}\n' > '$tmp/tls.conf'
	'$FTPGW' -t -c '$tmp/tls.conf' > '$tmp/tls.out' 2>&1; rc=\$?
	test \$rc -eq 1 && grep -q 'certificate $tmp/missing.pem' '$tmp/tls.out'"
check "an unknown option prints usage and exits 2" run 2 "$tmp/t4" "$FTPGW" -Z
check "a stray argument prints usage and exits 2" run 2 "$tmp/t5" "$FTPGW" extra
check "starting on a bad file fails with exit 1 before binding anything" run 1 "$tmp/t6" "$FTPGW" -f -c "$data/err-many.conf"

echo "1..$n"
[ $fails -eq 0 ]
