#!/bin/sh
# The command line of CONTRACT: -V, -t on good and bad files (every problem
# as FILE:LINE: message, exit 1), unknown options, TLS files named by -t;
# -R and -R -i (applied for real in a throwaway network namespace when
# root); the systemd unit (systemd-analyze verify, when installed); the
# sd_notify messages (READY=1, RELOADING=1, STOPPING=1).
# TAP output, one line per check.
FTPGW=${FTPGW:-./src/ftpgw}
SRCDIR=${SRCDIR:-.}
data="$SRCDIR/tests/data"
tmp=$(mktemp -d) || exit 1
ns=
trap '[ -z "$ns" ] || ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
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

skip() {    # skip NAME REASON
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
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
# The README's recipes are one configuration together: their indented
# blocks (between "## Recipes" and the next section) must pass -t.
awk '/^## Recipes/ { on = 1; next } /^## / { on = 0 } on && /^    / { sub(/^    /, ""); print }' \
    "$SRCDIR/README.md" >"$tmp/recipes.conf"
check "-t accepts the README's recipes" sh -c "grep -q 'mode = \"proxy\"' '$tmp/recipes.conf' &&
    grep -q '^rule ' '$tmp/recipes.conf' && grep -q 'upstream = {' '$tmp/recipes.conf' &&
    '$FTPGW' -t -c '$tmp/recipes.conf'"

# The README's contrib/iptables commands set the interface the way the
# scripts read it: each, with its interface renamed and -n (print the
# iptables commands, run none), must print rules for that interface.
# (IFACE=eth0 ftpgw-redirect.sh would pass unnoticed with eth0: the default.)
awk '/contrib\/iptables\/ftpgw-[a-z]+\.sh .*add/ { sub(/#.*/, ""); sub(/^ *(sudo +)?/, ""); print }' \
    "$SRCDIR/README.md" | sed 's/eth0/readme9/g; s/ add *$/ -n add/' >"$tmp/readme-rules"
check "the README's contrib/iptables commands use the interface they name" sh -c "
	test -s '$tmp/readme-rules' || { echo 'no contrib/iptables command found in README.md'; exit 1; }
	cd '$SRCDIR' && while read -r cmd; do
		echo \"\$cmd\"
		sh -c \"\$cmd\" > '$tmp/readme-rules.out' 2>&1 || { cat '$tmp/readme-rules.out'; exit 1; }
		grep -q -- '-i readme9 ' '$tmp/readme-rules.out' || { cat '$tmp/readme-rules.out'; exit 1; }
	done < '$tmp/readme-rules'"

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

# Access rules: every mistake of a rule section at its line, all of them.
cat > "$tmp/rules.conf" <<'EOF'
listen "a" { port = 8021 }
rule "no-action" {
	clients = {"198.51.100.0/24"}
}
rule "bad-prefix" {
	action = "deny"
	servers = {"198.51.100.1/24", "2001:db8::/32"}
}
rule "bad-verb" {
	action = "deny"
	commands = {"STOR", "FROB"}
}
rule "empty" {
	action = "allow"
	users = {}
}
EOF
check "-t names each bad rule at its line" sh -c "
	'$FTPGW' -t -c '$tmp/rules.conf' > '$tmp/rules.out' 2>&1; rc=\$?
	cat '$tmp/rules.out'
	test \$rc -eq 1 &&
	grep -q 'rules.conf:2: rule \"no-action\": needs action' '$tmp/rules.out' &&
	grep -q 'rules.conf:7: rule \"bad-prefix\": servers \"198.51.100.1/24\" is not an address prefix' '$tmp/rules.out' &&
	grep -q 'rules.conf:11: rule \"bad-verb\": commands \"FROB\" is not a known FTP command' '$tmp/rules.out' &&
	grep -q 'rules.conf:15: rule \"empty\": users is empty' '$tmp/rules.out'"
check "-t rejects two rules of the same name" sh -c "
	printf 'listen \"a\" { port = 8021 }\nrule \"x\" { action = \"deny\" }\nrule \"x\" { action = \"allow\" }\n' > '$tmp/rules2.conf'
	'$FTPGW' -t -c '$tmp/rules2.conf' > '$tmp/rules2.out' 2>&1; rc=\$?
	cat '$tmp/rules2.out'
	test \$rc -eq 1 && grep -q \"rules2.conf:3: found duplicate title 'x'\" '$tmp/rules2.out'"
# Bandwidth limits: K/M/G suffixes (1024-based) are accepted, quoted or
# not, globally and per listen section; a bad value is named with its line,
# the global one and the listener's both.
printf 'rate-limit-session = 2M\nrate-limit-client = "512k"\nlisten "a" {\n port = 8021\n rate-limit-session = 0\n rate-limit-client = 1024G\n}\n' >"$tmp/rate-ok.conf"
printf 'rate-limit-session = 2MB\nrate-limit-client = -1\nlisten "a" {\n port = 8021\n rate-limit-client = 1025G\n}\n' >"$tmp/rate-bad.conf"
check "-t accepts rate limits with K/M/G suffixes" run 0 "$tmp/rate1" "$FTPGW" -t -c "$tmp/rate-ok.conf"
check "-t names bad rate limits as FILE:LINE" sh -c "
	'$FTPGW' -t -c '$tmp/rate-bad.conf' > '$tmp/rate.out' 2>&1; rc=\$?
	test \$rc -eq 1 &&
	grep -q 'rate-bad\.conf:1: rate-limit-session \"2MB\" is not a rate' '$tmp/rate.out' &&
	grep -q 'rate-bad\.conf:2: rate-limit-client \"-1\" is not a rate' '$tmp/rate.out' &&
	grep -q 'rate-bad\.conf:5: listen \"a\": rate-limit-client \"1025G\" is not a rate' '$tmp/rate.out' ||
	{ cat '$tmp/rate.out'; exit 1; }"

# -t warns, and still exits 0, when the open-files limit (the hard one: the
# gateway raises its own to it) cannot hold a worker's share of
# max-sessions, 9 descriptors a transferring session: 10000 over 2 workers
# cannot fit in 1024, 50 can. Explicit workers: not one per CPU here.
printf 'max-sessions = 10000\nworkers = 2\nlisten "a" { port = 8021 }\n' >"$tmp/fds-big.conf"
printf 'max-sessions = 50\nworkers = 2\nlisten "a" { port = 8021 }\n' >"$tmp/fds-small.conf"
fds_why=
if ! command -v prlimit >/dev/null 2>&1; then
	fds_why="prlimit not installed"
elif ! prlimit --nofile=1024:1024 true 2>/dev/null; then
	fds_why="cannot set the open-files limit to 1024"
fi
name="-t under a 1024 open-files limit warns that max-sessions 10000 is out of reach, exit 0"
if [ -n "$fds_why" ]; then
	skip "$name" "$fds_why"
else
	check "$name" sh -c "
		prlimit --nofile=1024:1024 '$FTPGW' -t -c '$tmp/fds-big.conf' >'$tmp/fds.out' 2>&1 &&
		grep -q 'fds-big\.conf: warning: max-sessions 10000 needs [0-9]* open files per worker .* more than the limit of 1024\$' '$tmp/fds.out' &&
		grep -q 'configuration OK' '$tmp/fds.out' || { cat '$tmp/fds.out'; exit 1; }"
fi
name="-t under a 1024 open-files limit does not warn about max-sessions 50"
if [ -n "$fds_why" ]; then
	skip "$name" "$fds_why"
else
	check "$name" sh -c "
		prlimit --nofile=1024:1024 '$FTPGW' -t -c '$tmp/fds-small.conf' >'$tmp/fds.out' 2>&1 &&
		! grep -q warning '$tmp/fds.out' &&
		grep -q 'configuration OK' '$tmp/fds.out' || { cat '$tmp/fds.out'; exit 1; }"
fi

# The unit's LimitNOFILE holds the sample's max-sessions in one process
# (workers = 1, the worst case): under that limit -t has nothing to say;
# where the limit cannot be set that high, the descriptors -t says are
# needed must not exceed it.
unit="${BUILDDIR:-.}/contrib/systemd/ftpgw.service"
name="the unit's LimitNOFILE holds the sample's max-sessions with one worker"
if [ ! -f "$unit" ]; then
	skip "$name" "$unit not built"
else
	{ cat "$SRCDIR/etc/ftpgw.conf"; echo "workers = 1"; } >"$tmp/unit-fds.conf"
	check "$name" sh -c "
		lim=\$(sed -n 's/^LimitNOFILE=//p' '$unit')
		test -n \"\$lim\" || exit 1
		if prlimit --nofile=\$lim:\$lim true 2>/dev/null; then
			prlimit --nofile=\$lim:\$lim '$FTPGW' -t -c '$tmp/unit-fds.conf' >'$tmp/unit-fds.out' 2>&1 &&
			! grep -q 'warning: max-sessions' '$tmp/unit-fds.out'
		else
			'$FTPGW' -t -c '$tmp/unit-fds.conf' >'$tmp/unit-fds.out' 2>&1
			need=\$(sed -n 's/.*warning: max-sessions [0-9]* needs \\([0-9]*\\) open files.*/\\1/p' '$tmp/unit-fds.out')
			test -n \"\$need\" && test \"\$need\" -le \"\$lim\"
		fi || { echo \"LimitNOFILE=\$lim\"; cat '$tmp/unit-fds.out'; exit 1; }"
fi

# -t names a capability the configuration needs and this process lacks
# (systemd runs it as the service's user before every start): mode tproxy
# without CAP_NET_ADMIN; as root nothing is missing.
name="-t as an unprivileged user warns that mode tproxy needs CAP_NET_ADMIN, exit 0"
if ! command -v setpriv >/dev/null 2>&1; then
	skip "$name" "setpriv not installed"
else
	# nobody must reach the binary and the file: a directory of their own.
	pub=$(mktemp -d /tmp/ftpgw-caps.XXXXXX) && chmod 755 "$pub" &&
	cp "$FTPGW" "$pub/ftpgw" &&
	printf 'passive-ports = "50000-50999"\nlisten "t" { port = 8021  mode = "tproxy" }\n' >"$pub/caps.conf" &&
	chmod 644 "$pub/caps.conf"
	check "$name" sh -c "
		setpriv --reuid nobody --regid nogroup --clear-groups --inh-caps=-all \
		    '$pub/ftpgw' -t -c '$pub/caps.conf' >'$tmp/caps.out' 2>&1 &&
		grep -q 'warning: a listener in mode tproxy (IP_TRANSPARENT) needs CAP_NET_ADMIN' '$tmp/caps.out' &&
		'$pub/ftpgw' -t -c '$pub/caps.conf' >'$tmp/caps-root.out' 2>&1 &&
		! grep -q CAP_NET_ADMIN '$tmp/caps-root.out' || { cat '$tmp/caps.out' '$tmp/caps-root.out'; exit 1; }"
	rm -rf "$pub"
fi

check "an unknown option prints usage and exits 2" run 2 "$tmp/t4" "$FTPGW" -Z
check "a stray argument prints usage and exits 2" run 2 "$tmp/t5" "$FTPGW" extra
check "starting on a bad file fails with exit 1 before binding anything" run 1 "$tmp/t6" "$FTPGW" -f -c "$data/err-many.conf"

# -R: the rules the config needs, nftables by default, iptables with -i.
rules="$data/rules-mixed.conf"
check "-R prints an nft file for the config" sh -c "
	'$FTPGW' -R -c '$rules' > '$tmp/r.nft' &&
	grep -qx 'delete table inet ftpgw' '$tmp/r.nft' &&
	grep -q 'iifname \"cli0\" tcp dport { 21, 2121 } redirect to :8021' '$tmp/r.nft' &&
	grep -q 'tproxy ip6 to :8022' '$tmp/r.nft' &&
	grep -qx '#   ip rule add fwmark 0x1/0x1 lookup 100' '$tmp/r.nft' &&
	grep -q '^# listen \"rev\" (reverse, 0.0.0.0:9091): no rule needed' '$tmp/r.nft'"
check "-R -i prints a sh script of iptables commands" sh -c "
	'$FTPGW' -R -i -c '$rules' > '$tmp/r.sh' && sh -n '$tmp/r.sh' &&
	grep -q '^iptables -w -t mangle -A FTPGW -i cli1 .* -j TPROXY --on-port 8022' '$tmp/r.sh' &&
	grep -q '^ip6tables -w -t nat -A FTPGW -i cli0 .* -j REDIRECT --to-ports 8021' '$tmp/r.sh' &&
	grep -qx 'ip rule add fwmark 0x1/0x1 lookup 100' '$tmp/r.sh'"
check "-R on a bad file prints FILE:LINE errors and exits 1" sh -c "
	'$FTPGW' -R -c '$data/err-bad-interface.conf' > '$tmp/r.out' 2> '$tmp/r.err'; rc=\$?
	test \$rc -eq 1 && test ! -s '$tmp/r.out' &&
	grep -Eq 'err-bad-interface\.conf:3: listen \"a\": interface' '$tmp/r.err'"
check "-i without -R prints usage and exits 2" run 2 "$tmp/t7" "$FTPGW" -i -c "$rules"

# -h/--help: usage on stdout, exit 0; --version as -V; ftpgwctl likewise
# (its usage names every command); a bad option still exits 2.
CTL=$(dirname "$FTPGW")/ftpgwctl
for p in "$FTPGW" "$CTL"; do
	b=$(basename "$p")
	for o in -h --help; do
		check "$b $o prints usage to stdout, exit 0" sh -c "'$p' $o 2>'$tmp/h.err' >'$tmp/h.out' &&
			grep -q '^usage: $b ' '$tmp/h.out' && test ! -s '$tmp/h.err'"
	done
	check "$b --version prints the version, exit 0" sh -c "'$p' --version | grep -Eqx '$b [0-9]+\.[0-9]+.*'"
	check "$b --bogus prints usage to stderr, exit 2" run 2 "$tmp/t8" "$p" --bogus
done
check "ftpgwctl -h names every command" sh -c "'$CTL' -h >'$tmp/h.out' && for c in sessions stats metrics \
	'kill ID' drain reload 'log-level LEVEL'; do grep -q \"^  \$c \" '$tmp/h.out' || exit 1; done"
check "ftpgwctl kill without an id exits 2" run 2 "$tmp/t9" "$CTL" -s "$tmp/none.sock" kill

# netns_run SCRIPT: sh -c SCRIPT in a network namespace of its own (lo up),
# deleted afterwards whatever happens.
netns_run() {
	ns="ftpgw-cli-$$-$n"
	ip netns add "$ns" || { ns=; return 1; }
	ip netns exec "$ns" ip link set lo up &&
	ip netns exec "$ns" sh -c "$1"
	rc=$?
	ip netns del "$ns"
	ns=
	return $rc
}

netns_why=
if [ "$(id -u)" -ne 0 ]; then
	netns_why="not root"
elif ! command -v ip >/dev/null 2>&1 || ! ip netns add "ftpgw-cli-$$-probe" 2>/dev/null; then
	netns_why="no network namespaces (ip netns add failed)"
else
	ip netns del "ftpgw-cli-$$-probe"
fi
name="-R output loads with nft -f, twice, and nft list ruleset shows it"
if [ -n "$netns_why" ]; then
	skip "$name" "$netns_why"
elif ! command -v nft >/dev/null 2>&1; then
	skip "$name" "nft not installed"
else
	check "$name" netns_run "
		'$FTPGW' -R -c '$rules' | nft -f - &&
		'$FTPGW' -R -c '$rules' | nft -f - &&
		nft list ruleset > '$tmp/ruleset' &&
		grep -q 'meta l4proto tcp socket transparent 1 meta mark set meta mark | 0x00000001 accept' '$tmp/ruleset' &&
		grep -q 'iifname \"cli1\" meta nfproto ipv4 tcp dport { 21, 2121 } tproxy ip to :8022' '$tmp/ruleset' &&
		grep -q 'iifname \"cli1\" meta nfproto ipv6 tcp dport { 21, 2121 } tproxy ip6 to :8022' '$tmp/ruleset' &&
		test \$(grep -c 'redirect to :8021' '$tmp/ruleset') -eq 1 &&
		grep -q 'iifname \"cli0\" tcp dport 50000-50999 redirect' '$tmp/ruleset' || {
			cat '$tmp/ruleset'; exit 1; }"
fi
name="-R -i output runs with sh, twice, and iptables-save shows it"
if [ -n "$netns_why" ]; then
	skip "$name" "$netns_why"
elif ! command -v iptables-save >/dev/null 2>&1 || ! command -v ip6tables-save >/dev/null 2>&1; then
	skip "$name" "iptables not installed"
else
	check "$name" netns_run "
		'$FTPGW' -R -i -c '$rules' | sh &&
		'$FTPGW' -R -i -c '$rules' | sh &&
		iptables-save > '$tmp/save4' && ip6tables-save > '$tmp/save6' &&
		for f in '$tmp/save4' '$tmp/save6'; do
			grep -qx -- '-A PREROUTING -j FTPGW' \$f &&
			grep -q -- '-A FTPGW -p tcp -m socket --transparent .*-j FTPGW_DIVERT' \$f &&
			test \$(grep -c -- '-A FTPGW -i cli1 -p tcp -m multiport --dports 21,2121 .*-j TPROXY --on-port 8022' \$f) -eq 1 &&
			test \$(grep -c -- '-A FTPGW -i cli0 -p tcp -m multiport --dports 21,2121 .*-j REDIRECT --to-ports 8021' \$f) -eq 1 &&
			grep -q -- '-A FTPGW -i cli0 -p tcp -m tcp --dport 50000:50999 .*-j REDIRECT' \$f || {
				cat \$f; exit 1; }
		done &&
		test \$(ip rule | grep -c 'fwmark 0x1/0x1 lookup 100') -eq 1 &&
		test \$(ip -6 rule | grep -c 'fwmark 0x1/0x1 lookup 100') -eq 1 &&
		ip route show table 100 | grep -q '^local default dev lo'"
fi

# The systemd unit that make generated, with its paths pointed at this
# build, must pass systemd-analyze verify.
unit="${BUILDDIR:-.}/contrib/systemd/ftpgw.service"
name="systemd-analyze verify accepts contrib/systemd/ftpgw.service"
if ! command -v systemd-analyze >/dev/null 2>&1; then
	skip "$name" "systemd-analyze not installed"
elif [ ! -f "$unit" ]; then
	skip "$name" "$unit not built"
else
	check "$name" sh -c "
		mkdir '$tmp/unit' &&
		sed -e 's|^\(Exec[A-Za-z]*=\)[^ ]*/ftpgw |\1$FTPGW |' \
		    -e 's| -c [^ ]*ftpgw\.conf| -c $data/good-minimal.conf|' \
		    '$unit' > '$tmp/unit/ftpgw.service' &&
		grep -q '^ExecStart=$FTPGW -f -S -c ' '$tmp/unit/ftpgw.service' &&
		systemd-analyze verify --man=no '$tmp/unit/ftpgw.service' 2>&1 | tee '$tmp/verify' &&
		test ! -s '$tmp/verify'"
fi

# sd_notify: a datagram socket stands in for systemd; ftpgw must say
# READY=1 once listening, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on
# SIGTERM, and exit 0.
cat > "$tmp/notify.py" <<'PY'
import os, signal, socket, subprocess, sys

ftpgw, tmp = sys.argv[1], sys.argv[2]
path = os.path.join(tmp, "notify.sock")
srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
srv.bind(path)
srv.settimeout(10)

def free_port():
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if not 40000 <= port <= 40099:
            return port

conf = os.path.join(tmp, "notify.conf")
with open(conf, "w") as f:
    f.write('passive-ports = "40000-40099"\ncontrol-socket = ""\n'
            'listen "rev" {\n\taddress = "127.0.0.1"\n\tport = %d\n'
            '\tmode = "reverse"\n\tupstream = "127.0.0.1:1"\n}\n' % free_port())
env = dict(os.environ, NOTIFY_SOCKET=path)
log = open(os.path.join(tmp, "notify.log"), "w+")
proc = subprocess.Popen([ftpgw, "-f", "-c", conf], env=env,
                        stdout=subprocess.DEVNULL, stderr=log)

def fail(why):
    proc.kill()
    proc.wait()
    log.seek(0)
    sys.exit("%s; ftpgw said:\n%s" % (why, log.read()))

def expect(want):
    try:
        got = srv.recv(4096).decode()
    except socket.timeout:
        got = "(nothing in 10 s)"
    if got != want:
        fail("expected %s, got %s" % (want, got))
    print("got", got)

expect("READY=1")
proc.send_signal(signal.SIGHUP)
expect("RELOADING=1")
expect("READY=1")
proc.send_signal(signal.SIGTERM)
expect("STOPPING=1")
try:
    rc = proc.wait(timeout=10)
except subprocess.TimeoutExpired:
    fail("no exit within 10 s of SIGTERM")
if rc != 0:
    fail("exit status %d after SIGTERM" % rc)
PY
if [ -x /usr/bin/python3 ]; then
	check "NOTIFY_SOCKET gets READY=1, RELOADING=1 and READY=1 on SIGHUP, STOPPING=1 on SIGTERM, exit 0" \
	    /usr/bin/python3 "$tmp/notify.py" "$FTPGW" "$tmp"
else
	skip "NOTIFY_SOCKET gets the sd_notify messages" "no /usr/bin/python3"
fi

# TLS files: -t names the file at fault and what is wrong with it.
if command -v openssl >/dev/null 2>&1 &&
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/a.key" -out "$tmp/a.pem" \
	-days 1 -subj /CN=a >/dev/null 2>&1 &&
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/b.key" -out "$tmp/b.pem" \
	-days 1 -subj /CN=b >/dev/null 2>&1; then
	tls_t() {   # tls_t CERT KEY PATTERN: -t fails, naming the problem
		printf 'listen "a" { port = 8021 }\ntls {\n certificate = "%s"\n key = "%s"\n}\n' \
		    "$1" "$2" > "$tmp/tlst.conf"
		"$FTPGW" -t -c "$tmp/tlst.conf" > "$tmp/tlst.out" 2>&1
		rc=$?
		cat "$tmp/tlst.out"
		[ $rc -eq "$4" ] && grep -q -- "$3" "$tmp/tlst.out"
	}
	check "-t accepts a matching certificate and key" tls_t "$tmp/a.pem" "$tmp/a.key" "configuration OK" 0
	check "-t names a key that does not match its certificate" \
	    tls_t "$tmp/a.pem" "$tmp/b.key" "key $tmp/b.key does not match certificate $tmp/a.pem" 1
	check "-t names a certificate file that is not PEM" \
	    tls_t "$data/good-minimal.conf" "$tmp/a.key" "certificate $data/good-minimal.conf: not a PEM certificate" 1

	# A TLS setting that cannot take effect is an error that names its
	# key (issue 11, point 4), never silently off.  tls_bad KEYS-ERE
	# LINE...: a listener and a tls section of LINEs; -t exits 1 with a
	# message of the file naming one of KEYS-ERE as a word, other than
	# "no such option" (a key -t does not know proves nothing).
	cert="certificate = \"$tmp/a.pem\""
	key="key = \"$tmp/a.key\""
	tls_conf() {   # tls_conf LINE...: a listener and a tls section
		{
			echo 'listen "a" { port = 8021 }'
			echo 'tls {'
			for l; do echo " $l"; done
			echo '}'
		} > "$tmp/tlsk.conf"
		cat "$tmp/tlsk.conf"
	}
	tls_bad() {
		ere=$1; shift
		tls_conf "$@"
		"$FTPGW" -t -c "$tmp/tlsk.conf" > "$tmp/tlsk.out" 2>&1
		rc=$?
		cat "$tmp/tlsk.out"
		[ $rc -eq 1 ] || { echo "exit status $rc, expected 1"; return 1; }
		grep 'tlsk\.conf' "$tmp/tlsk.out" | grep -v 'no such option' |
		    grep -Eq -- "(^|[^-a-z])($ere)([^-a-z]|\$)" ||
		    { echo "no message naming $ere (other than 'no such option')"; return 1; }
	}
	tls_good() {   # tls_good LINE...: -t exits 0
		tls_conf "$@"
		"$FTPGW" -t -c "$tmp/tlsk.conf" > "$tmp/tlsk.out" 2>&1
		rc=$?
		cat "$tmp/tlsk.out"
		[ $rc -eq 0 ] || { echo "exit status $rc, expected 0"; return 1; }
	}
	check "-t: client-side = required without a certificate is an error naming it" \
	    tls_bad 'client-side|certificate' 'client-side = "required"'
	check "-t: client-side = optional (written) without a certificate is an error naming it" \
	    tls_bad 'client-side|certificate' 'client-side = "optional"'
	check "-t: key without a certificate is an error naming it" \
	    tls_bad 'key|certificate' "$key"
	check "-t: server-side = auto (written) without a certificate is an error naming it" \
	    tls_bad 'server-side|certificate' 'server-side = "auto"'
	check "-t: verify-server = true with server-side = off is an error naming it" \
	    tls_bad 'verify-server|server-side' "$cert" "$key" 'server-side = "off"' 'verify-server = true'
	check "-t: ca-file with verify-server = false is an error naming it" \
	    tls_bad 'ca-file' "$cert" "$key" "ca-file = \"$tmp/a.pem\""
	check "-t: min-version without any TLS is an error naming it" \
	    tls_bad 'min-version' 'min-version = "1.3"'
	check "-t: ciphers without any TLS is an error naming it" \
	    tls_bad 'ciphers' 'ciphers = "HIGH"'
	check "-t: ciphersuites without any TLS is an error naming it" \
	    tls_bad 'ciphersuites' 'ciphersuites = "TLS_AES_128_GCM_SHA256"'
	check "-t: require-session-reuse without any TLS is an error naming it" \
	    tls_bad 'require-session-reuse' 'require-session-reuse = false'
	check "-t: ciphers = NOSUCHCIPHER (no usable cipher) is an error naming it" \
	    tls_bad 'ciphers' "$cert" "$key" 'ciphers = "NOSUCHCIPHER"'
	check "-t: a certificate with client-side = off and no ftps port-mapping is an error" \
	    tls_bad 'certificate|client-side' "$cert" "$key" 'client-side = "off"'
	check "-t accepts no tls section at all" \
	    run 0 "$tmp/notls.out" "$FTPGW" -t -c "$data/good-minimal.conf"
	check "-t accepts server-side = required without a certificate (the gateway is the TLS client)" \
	    tls_good 'server-side = "required"'
	check "-t accepts min-version, ciphers, ciphersuites, require-session-reuse with a certificate" \
	    tls_good "$cert" "$key" 'min-version = "1.2"' 'ciphers = "HIGH"' \
	    'ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"' 'require-session-reuse = false'
else
	skip "-t checks the TLS files" "openssl cannot make a test certificate"
fi

# syslog: in the background ftpgw logs to /dev/log with the log-facility
# of the config. A private mount namespace puts a socket of ours there.
cat > "$tmp/syslog.py" <<'PY'
import os, re, signal, socket, subprocess, sys

ftpgw, tmp = sys.argv[1], sys.argv[2]
path = os.path.join(tmp, "devlog")
srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
srv.bind(path)
srv.settimeout(10)
port = 40100 + os.getpid() % 500
conf = os.path.join(tmp, "syslog.conf")
with open(conf, "w") as f:
    f.write('passive-ports = "40000-40099"\ncontrol-socket = ""\nlog-facility = "local3"\n'
            'log-level = "info"\n'
            'listen "rev" {\n\taddress = "127.0.0.1"\n\tport = %d\n'
            '\tmode = "reverse"\n\tupstream = "127.0.0.1:1"\n}\n' % port)
# Without -f ftpgw daemonizes; it is found again by its listening port.
# /dev/log may not exist here: the namespace gets a /dev of its own with
# null, urandom and our socket in it.
old = os.path.join(tmp, "olddev")
os.mkdir(old)
script = """set -e
mount --make-rprivate /
mount --rbind /dev {old}
mount -t tmpfs none /dev
for f in null urandom log; do touch /dev/$f; done
mount --bind {old}/null /dev/null
mount --bind {old}/urandom /dev/urandom
mount --bind {path} /dev/log
exec {ftpgw} -c {conf}
""".format(old=old, path=path, ftpgw=ftpgw, conf=conf)
subprocess.run(["unshare", "-m", "sh", "-c", script], check=True)
msgs = []
def take(until):
    while not any(until(m) for m in msgs):
        msgs.append(srv.recv(4096).decode(errors="replace"))
try:
    take(lambda m: "started" in m)
    # A session: its server (port 1) refuses, so it ends at once.
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.recv(1024)
    c.close()
    take(lambda m: " end: " in m)
finally:
    out = subprocess.run(["ss", "-Hltnp", "sport = :%d" % port],
                         capture_output=True, text=True).stdout
    # The listening processes are the workers (or the only process): stop
    # their supervisor, which stops them, rather than each of them.
    targets = set()
    for pid in re.findall(r"pid=(\d+)", out):
        with open("/proc/%s/stat" % pid) as f:
            ppid = f.read().rsplit(")", 1)[1].split()[1]
        with open("/proc/%s/comm" % ppid) as f:
            targets.add(int(ppid) if f.read().strip() == "ftpgw" else int(pid))
    for pid in targets:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
for m in msgs:
    print(m)
# <PRI> = facility * 8 + severity: local3 is 19; debug is severity 7.
pris = [int(re.match(r"<(\d+)>", m).group(1)) for m in msgs]
if any(p // 8 != 19 for p in pris):
    sys.exit("a message outside facility local3: %s" % pris)
if any(p % 8 == 7 for p in pris):
    sys.exit("debug messages at log-level info")
if not any(re.search(r"ftpgw\[\d+\]: #\d+ end: client 127\.0\.0\.1", m) for m in msgs):
    sys.exit("no session summary line with its #ID prefix")
PY
if [ "$(id -u)" -ne 0 ]; then
	skip "syslog: facility local3 and #ID lines on /dev/log" "not root (needs a mount namespace)"
elif ! command -v unshare >/dev/null 2>&1 || [ ! -x /usr/bin/python3 ]; then
	skip "syslog: facility local3 and #ID lines on /dev/log" "unshare or /usr/bin/python3 missing"
else
	check "syslog (in the background): every line in facility local3, session lines with #ID, no debug at info" \
	    /usr/bin/python3 "$tmp/syslog.py" "$FTPGW" "$tmp"
fi

# The checks below start a gateway in a namespace of their own: gw_up CONF
# LOG starts it (debug log in LOG) and waits until it has started, setting
# $pid; gw_down stops it and waits for it.
cat > "$tmp/gwlib.sh" <<EOF
gw_up() {
	'$FTPGW' -d -c "\$1" > "\$2" 2>&1 &
	pid=\$!
	for i in \$(seq 50); do grep -q 'started' "\$2" && break; sleep 0.1; done
}
gw_down() { kill -TERM \$pid 2>/dev/null; wait \$pid; }
EOF
conf_line='listen "l" { address = "127.0.0.1"  port = 8021  mode = "reverse"  upstream = "127.0.0.1:2121" }'

# A passive range inside the ephemeral ports is warned about at start (the
# gateway's own connections can take its ports), unless it is reserved.
printf 'workers = 1\ncontrol-socket = ""\npassive-ports = "50000-50099"\n%s\n' "$conf_line" >"$tmp/overlap.conf"
name="a passive range among the ephemeral ports is warned about, a reserved one is not"
if [ -n "$netns_why" ]; then
	skip "$name" "$netns_why"
else
	check "$name" netns_run "
		. '$tmp/gwlib.sh'
		sysctl -qw net.ipv4.ip_local_port_range='32768 60999'
		gw_up '$tmp/overlap.conf' '$tmp/overlap1.log'; gw_down
		grep -q 'passive-ports 50000-50099 overlaps the ephemeral ports 32768-60999' '$tmp/overlap1.log' ||
			{ echo 'no warning:'; cat '$tmp/overlap1.log'; exit 1; }
		sysctl -qw net.ipv4.ip_local_reserved_ports=49000-50200
		gw_up '$tmp/overlap.conf' '$tmp/overlap2.log'; gw_down
		grep -q 'started' '$tmp/overlap2.log' || { cat '$tmp/overlap2.log'; exit 1; }
		if grep -q 'overlaps the ephemeral' '$tmp/overlap2.log'; then echo 'warned although reserved'; exit 1; fi"
fi

# workers = 0 (one per CPU) never asks for more workers than the smallest
# passive range has ports: a 1-port range runs one process.
printf 'control-socket = ""\npassive-ports = "50000"\n%s\n' "$conf_line" >"$tmp/oneport.conf"
name="workers = 0 with a 1-port passive range starts one worker, not one per CPU"
if [ -n "$netns_why" ]; then
	skip "$name" "$netns_why"
else
	check "$name" netns_run "
		. '$tmp/gwlib.sh'
		gw_up '$tmp/oneport.conf' '$tmp/oneport.log'; gw_down
		grep -q 'starting with .*, 1 worker\$' '$tmp/oneport.log' && grep -q 'started' '$tmp/oneport.log' ||
			{ cat '$tmp/oneport.log'; exit 1; }"
fi

# A worker stopped with SIGTERM of its own is not started again; the
# supervisor ends, exit 0, with the last one.
printf 'workers = 2\ncontrol-socket = ""\npassive-ports = "50000-50099"\n%s\n' "$conf_line" >"$tmp/twow.conf"
name="workers stopped one by one with SIGTERM are not restarted; the supervisor then exits 0"
if [ -n "$netns_why" ]; then
	skip "$name" "$netns_why"
else
	check "$name" netns_run "
		. '$tmp/gwlib.sh'
		gw_up '$tmp/twow.conf' '$tmp/twow.log'
		kids=\$(cat /proc/\$pid/task/\$pid/children)
		[ \$(echo \$kids | wc -w) = 2 ] || { echo \"children: \$kids\"; gw_down; cat '$tmp/twow.log'; exit 1; }
		for k in \$kids; do kill -TERM \$k; done
		for i in \$(seq 50); do kill -0 \$pid 2>/dev/null || break; sleep 0.1; done
		if kill -0 \$pid 2>/dev/null; then echo 'supervisor still running'; gw_down; cat '$tmp/twow.log'; exit 1; fi
		wait \$pid; st=\$?
		[ \$st = 0 ] && [ \$(grep -c 'stopped; not restarted' '$tmp/twow.log') = 2 ] &&
			! grep -q 'restarting worker' '$tmp/twow.log' || { echo \"exit \$st\"; cat '$tmp/twow.log'; exit 1; }"
fi

# The control socket (in a namespace of their own, as root): ctlsock.sh
# CASE DIR, in a directory of its own.
#  born MODE GROUP: the gateway under strace, stopped right after its
#   second bind() (the first is the listener's), with umask 0: the socket
#   already has its final mode and group, there is no moment with a
#   looser one.
#  plain: a missing directory is made (0755), the socket is 0600, and
#   removed at the stop.
#  group: control-socket-group "nogroup": the socket is 0660, nogroup.
#  link, file: a symbolic link to a file, or a file, at the socket's path
#   is left as it is, the target's mode and owner too, and the socket is
#   not made (the gateway runs without it, saying why).
#  opendir: a directory writable by others (not sticky) is refused.
#  user: user "nobody": the directory made for the socket is nobody's,
#   and nobody can remove the socket at the stop.
#  nonroot: started as nobody (group users, member of nogroup) with
#   control-socket-group "nogroup": 0660, nogroup.
cat > "$tmp/ctlsock.sh" <<'EOF'
set -u
case=$1 dir=$2
cd "$dir" || exit 1
sock=$dir/d/ctl.sock
conf() {   # conf LINES...: the configuration, with the socket at $sock
	{ printf 'workers = 1\ncontrol-socket = "%s"\npassive-ports = "50000-50099"\n' "$sock"
	  printf '%s\n' "$@" "$CONF_LINE"; } > "$dir/c.conf"
}
runas=
up() {
	$runas "$FTPGW" -d -c "$dir/c.conf" > "$dir/log" 2>&1 &
	pid=$!
	for i in $(seq 50); do grep -q 'started' "$dir/log" && return 0; sleep 0.1; done
	echo "not started:"; cat "$dir/log"; kill -TERM $pid; wait $pid; return 1
}
down() { kill -TERM $pid; wait $pid; }
say() { echo "$*"; cat "$dir/log"; exit 1; }
case $case in
born)
	want=$3 group=$4
	if [ "$group" = - ]; then conf; else conf "control-socket-group = \"$group\""; fi
	sh -c "umask 0; exec strace -f -qq -o /dev/null -e trace=bind \
	    -e inject=bind:signal=SIGSTOP:when=2 '$FTPGW' -d -c '$dir/c.conf'" > "$dir/log" 2>&1 &
	spid=$!
	got= kid=
	for i in $(seq 100); do
		kill -0 $spid 2>/dev/null || break    # ended: a bad configuration
		kid=$( { tr -d ' ' < /proc/$spid/task/$spid/children; } 2>/dev/null)
		if [ -n "$kid" ] && [ -e "$sock" ] &&
		    awk '{ exit !($3 == "t" || $3 == "T") }' /proc/$kid/stat 2>/dev/null; then
			got=$(stat -c '%a %G %F' "$sock")
			break
		fi
		sleep 0.1
	done
	[ -z "$kid" ] || kill -KILL $kid
	wait $spid
	want_group=$group
	[ "$group" != - ] || want_group=$(id -gn)
	[ "$got" = "$want $want_group socket" ] ||
		say "just after bind(): '$got', expected '$want $want_group socket'"
	;;
plain)
	conf; up || exit 1
	got=$(stat -c '%a %U %F' "$dir/d" "$sock" | tr '\n' ' ')
	down
	[ "$got" = "755 root directory 600 root socket " ] || say "got $got"
	[ ! -e "$sock" ] || say "the socket is still there after the stop"
	;;
group)
	conf 'control-socket-group = "nogroup"'; up || exit 1
	got=$(stat -c '%a %U %G %F' "$sock")
	down
	[ "$got" = "660 root nogroup socket" ] || say "got $got"
	grep -q "control socket $sock (mode 0660, group nogroup)" "$dir/log" || say "not logged"
	;;
link|file)
	mkdir d
	echo secret > target
	chown nobody:nogroup target
	chmod 640 target
	if [ $case = link ]; then ln -s "$dir/target" "$sock"; else cp -p target "$sock"; fi
	before=$(stat -c '%a %U %G %F' target "$sock" | tr '\n' ' ')
	conf; up || exit 1
	down
	after=$(stat -c '%a %U %G %F' target "$sock" 2>&1 | tr '\n' ' ')
	[ "$before" = "$after" ] || say "before: $before; after: $after"
	[ "$(cat target)" = secret ] || say "target changed"
	[ $case = file ] || [ "$(readlink "$sock")" = "$dir/target" ] || say "the link changed"
	grep -q "control socket $sock: something else than a socket is there; not replaced" "$dir/log" ||
		say "no message"
	;;
opendir)
	mkdir d
	chmod 777 d
	conf; up || exit 1
	ls -l d > "$dir/ls"
	down
	[ ! -s "$dir/ls" ] || ! grep -q ctl.sock "$dir/ls" || say "made in a directory writable by others"
	grep -q "control socket $sock: its directory is writable by others" "$dir/log" || say "no message"
	;;
nonroot)
	# Started as nobody, group users, member of nogroup.
	mkdir d && chown nobody d
	conf 'control-socket-group = "nogroup"'
	runas="setpriv --reuid=nobody --regid=users --groups=nogroup --inh-caps=-all"
	up || exit 1
	got=$(stat -c '%a %U %G %F' "$sock")
	down
	[ "$got" = "660 nobody nogroup socket" ] || say "got $got"
	;;
user)
	conf 'user = "nobody"'; up || exit 1
	got=$(stat -c '%U %G %a' "$dir/d")
	down
	[ "$got" = "nobody nogroup 755" ] || say "the directory: $got"
	[ ! -e "$sock" ] || say "the socket is still there after the stop"
	;;
esac
EOF
ctlsock() {   # ctlsock CASE ARGS...: in a fresh directory and namespace
	mkdir "$tmp/cs-$1-$n" &&
	netns_run "FTPGW='$FTPGW' CONF_LINE='$conf_line' sh '$tmp/ctlsock.sh' $1 '$tmp/cs-$1-$n' $2 $3"
}
# The gateway as nobody must reach its directory: $tmp is 0700.
chmod 711 "$tmp"
for c in "born 600 - the control socket is born 0600 (umask 0): no moment with a looser mode" \
    "born 660 nogroup with control-socket-group, the control socket is born 0660 and of that group" \
    "plain - - the control socket is 0600 in a directory made 0755, and removed at the stop" \
    "group - - control-socket-group nogroup makes the control socket 0660, group nogroup" \
    "link - - a symbolic link at the control socket's path is left, its target untouched" \
    "file - - a file at the control socket's path is left untouched" \
    "opendir - - the control socket is not made in a directory writable by others" \
    "user - - the control socket's directory is made for user, who removes the socket at the stop" \
    "nonroot - - not root, a member of control-socket-group: the socket is 0660 and of that group"; do
	set -- $c
	case=$1 a=$2 b=$3
	shift 3
	if [ -n "$netns_why" ]; then
		skip "$*" "$netns_why"
	elif [ $case = born ] && ! command -v strace >/dev/null 2>&1; then
		skip "$*" "strace not installed"
	elif ! getent group nogroup >/dev/null || ! getent passwd nobody >/dev/null; then
		skip "$*" "no user nobody or group nogroup"
	elif [ $case = nonroot ] && { ! command -v setpriv >/dev/null 2>&1 || ! getent group users >/dev/null; }; then
		skip "$*" "no setpriv or no group users"
	else
		check "$*" ctlsock $case $a $b
	fi
done

# A relative -c names the same file on SIGHUP although the gateway, in the
# background, has changed its directory to /: the reload succeeds (the
# config_reloads counter, read through the control socket, goes to 1).
# In the background the log goes to syslog, hence the counter.
ctl="$(dirname "$FTPGW")/ftpgwctl"
mkdir "$tmp/rel"
printf 'workers = 1\ncontrol-socket = "%s"\npassive-ports = "50000-50099"\n%s\n' \
    "$tmp/rel/ctl.sock" "$conf_line" >"$tmp/rel/rel.conf"
name="a relative -c path is reloaded from the same file after daemonizing (cd /)"
if [ -n "$netns_why" ]; then
	skip "$name" "$netns_why"
else
	check "$name" netns_run "
		(cd '$tmp/rel' && '$FTPGW' -c rel.conf) || { echo 'did not start'; exit 1; }
		pid=\$(ss -Hltnp 'sport = :8021' | sed -n 's/.*pid=\\([0-9]*\\).*/\\1/p' | head -n 1)
		[ -n \"\$pid\" ] || { echo 'no process on port 8021'; exit 1; }
		kill -HUP \$pid
		ok=1
		for i in \$(seq 50); do
			'$ctl' -s '$tmp/rel/ctl.sock' stats > '$tmp/rel/stats' 2>&1
			grep -qx 'config_reloads 1' '$tmp/rel/stats' && { ok=0; break; }
			sleep 0.1
		done
		kill -TERM \$pid
		for i in \$(seq 100); do kill -0 \$pid 2>/dev/null || break; sleep 0.1; done
		[ \$ok = 0 ] || { echo 'no successful reload:'; cat '$tmp/rel/stats'; exit 1; }
		! kill -0 \$pid 2>/dev/null || { echo 'still running after SIGTERM'; kill -KILL \$pid; exit 1; }"
fi

# -t says what each listener will do; a reverse listener is FTP whatever
# its upstream's port, unless a port-mapping says otherwise.
cat > "$tmp/apps.conf" <<'EOF2'
control-socket = ""
listen "out" { port = 8021 }
listen "rev" {
	address = "127.0.0.1"
	port = 9091
	mode = "reverse"
	upstream = "127.0.0.1:2121"
}
listen "raw" {
	address = "127.0.0.1"
	port = 9092
	mode = "reverse"
	upstream = "127.0.0.1:5432"
}
port-mapping "db" {
	application = "tcp"
	ports = {9092}
}
EOF2
check "-t says what each listener does: a reverse listener is ftp unless a port-mapping says tcp" sh -c "
	'$FTPGW' -t -c '$tmp/apps.conf' > '$tmp/apps.out' 2>&1; cat '$tmp/apps.out'
	grep -q '^listen \"out\": redirect on .*:8021: ftp to ports 21' '$tmp/apps.out' &&
	grep -q '^listen \"rev\": reverse on 127.0.0.1:9091: ftp to 127.0.0.1:2121 (port-mapping (none: a reverse listener is ftp))' '$tmp/apps.out' &&
	grep -q '^listen \"raw\": reverse on 127.0.0.1:9092: tcp to 127.0.0.1:5432 (port-mapping db)' '$tmp/apps.out'"

# Under systemd (stderr is the stream JOURNAL_STREAM names) every line
# carries its syslog priority as "<N>", so journalctl -p can filter; on
# any other stderr the lines keep their time stamps.
journal_t() {   # journal_t WANT-PREFIX: run briefly with stderr to a file
	: > "$tmp/journal.log"
	dev_ino=$(stat -c '%d:%i' "$tmp/journal.log")
	if [ "$1" = yes ]; then js=$dev_ino; else js=1:1; fi
	JOURNAL_STREAM=$js "$FTPGW" -f -c "$tmp/journal.conf" 2>>"$tmp/journal.log" &
	pid=$!
	# Until it has logged its start (a sanitizer build beside a busy
	# machine took over 0.5 s), then stop it.
	for i in $(seq 100); do grep -q 'info: ' "$tmp/journal.log" && break; sleep 0.1; done
	kill -TERM $pid; wait $pid
	cat "$tmp/journal.log"
	if [ "$1" = yes ]; then
		grep -q '^<6>info: ' "$tmp/journal.log" && grep -q '^<4>warn: running as root' "$tmp/journal.log" &&
		    ! grep -qv '^<[0-7]>' "$tmp/journal.log"
	else
		grep -Eq '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} info: ' "$tmp/journal.log" && ! grep -q '^<' "$tmp/journal.log"
	fi
}
printf 'workers = 1\ncontrol-socket = ""\nlisten "j" {\n\taddress = "127.0.0.1"\n\tport = 9093\n\tmode = "reverse"\n\tupstream = "127.0.0.1:21"\n}\n' > "$tmp/journal.conf"
if [ "$(id -u)" -eq 0 ]; then
	check "JOURNAL_STREAM naming stderr: lines carry <N> priorities (<4> warn, <6> info)" journal_t yes
else
	skip "JOURNAL_STREAM priorities" "the 'running as root' warning needs root"
fi
check "JOURNAL_STREAM naming another stream: lines keep their time stamps" journal_t no

echo "1..$n"
[ $fails -eq 0 ]
