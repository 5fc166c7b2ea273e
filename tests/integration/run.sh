#!/bin/bash
# ftpgw integration tests: real clients (python3 ftplib, curl, lftp) and real
# servers (vsftpd, pyftpdlib) on a three-host network of namespaces
#     cli (198.51.100.2, 2001:db8:1::2) — gw (ftpgw) — srv (203.0.113.2, 2001:db8:2::2)
# moving files through ftpgw in redirect, tproxy and reverse mode, every
# file's sha256 checked.  The interception rules are the shipped
# contrib/iptables scripts.
#
# Usage: run.sh [PATTERN]     only the scenarios whose name matches the
#                             extended regular expression PATTERN (grep -E),
#                             e.g. '^direct', 'tproxy v6', 'control|safety'
#   A lane (one cli—gw—srv network with its servers and ftpgw) is built only
#   when one of its scenarios is selected; lanes run in parallel.
# Environment: FTPGW (the binary; default $BUILDDIR/src/ftpgw or ./src/ftpgw),
#   SRCDIR, BUILDDIR (set by make check), FTPGW_IT_KEEP=1 keeps the temp dir,
#   FTPGW_IT_JOBS (lanes at a time, default 4), FTPGW_IT_TMPDIR (default /tmp),
#   FTPGW_IT_CMD_TIMEOUT (seconds per client command, default 120),
#   FTPGW_IT_LANE_BUDGET (seconds per lane, default 360),
#   FTPGW_SKIP_INTEGRATION=1 skips everything.
# Output: TAP on stdout; progress on stderr.  Needs root: skips otherwise.

# TAP owns fd 3; everything else goes to stderr.
exec 3>&1 1>&2

HERE=$(cd "$(dirname "$0")" && pwd)
SRCDIR=${SRCDIR:-$(cd "$HERE/../.." && pwd)}
IT_SRC=$SRCDIR/tests/integration
if [ -z "${FTPGW:-}" ]; then
	if [ -n "${BUILDDIR:-}" ]; then FTPGW=$BUILDDIR/src/ftpgw; else FTPGW=./src/ftpgw; fi
fi
case $FTPGW in /*) ;; *) FTPGW=$PWD/$FTPGW ;; esac
IT_PATTERN=${1:-}
IT_PREFIX="fgw$$-"
IT_JOBS=${FTPGW_IT_JOBS:-4}
export PYTHONDONTWRITEBYTECODE=1   # never write into the source tree

skip_all() {
	echo "1..0 # SKIP $*" >&3
	exit 0
}

. "$IT_SRC/lib.sh"

# ---------------------------------------------------------------- preconditions

[ "${FTPGW_SKIP_INTEGRATION:-}" = "" ] || skip_all "FTPGW_SKIP_INTEGRATION is set"

[ "$(id -u)" = 0 ] || skip_all "integration tests need root (network namespaces, iptables)"
for tool in ip iptables ip6tables ss vsftpd curl lftp sha256sum timeout useradd chpasswd awk; do
	command -v "$tool" >/dev/null 2>&1 || skip_all "required tool missing: $tool"
done
PY=
for p in /usr/bin/python3 python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import pyftpdlib, ftplib' 2>/dev/null; then
		PY=$(command -v "$p")
		break
	fi
done
[ -n "$PY" ] || skip_all "python3 with pyftpdlib (Debian: python3-pyftpdlib) not found"
if ! ip netns add "${IT_PREFIX}probe" 2>/dev/null; then
	skip_all "cannot create network namespaces (ip netns add failed)"
fi
if ! ip netns exec "${IT_PREFIX}probe" iptables -w -t nat -S >/dev/null 2>&1 ||
	! ip netns exec "${IT_PREFIX}probe" ip6tables -w -t mangle -S >/dev/null 2>&1; then
	ip netns del "${IT_PREFIX}probe"
	skip_all "iptables/ip6tables nat and mangle tables do not work in a namespace"
fi
ip netns del "${IT_PREFIX}probe"

IT_DIR=$(mktemp -d "${FTPGW_IT_TMPDIR:-/tmp}/ftpgw-it.XXXXXX") || skip_all "mktemp failed"
: >"$IT_DIR/pids"
LANE_PIDS=()

cleanup() {
	local pid
	trap - EXIT INT TERM HUP
	for pid in "${LANE_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	cleanup_namespaces
	while read -r pid; do
		alive "$pid" && kill -KILL "$pid" 2>/dev/null
	done <"$IT_DIR/pids"
	wait 2>/dev/null
	if [ "${FTPGW_IT_KEEP:-0}" = 1 ]; then
		say "kept $IT_DIR"
	else
		rm -rf "$IT_DIR"
	fi
}
trap cleanup EXIT
bail() { echo "Bail out! $1" >&3; exit "$2"; }
trap 'bail "interrupted (SIGINT)" 130' INT
trap 'bail "terminated (SIGTERM)" 143' TERM
trap 'bail "hangup (SIGHUP)" 129' HUP

say "ftpgw: $FTPGW"
say "temp dir: $IT_DIR, namespaces ${IT_PREFIX}*"
fixtures_and_user >"$IT_DIR/fixtures.log" 2>&1 || {
	cat "$IT_DIR/fixtures.log"
	skip_all "cannot create the test user $IT_USER or its fixtures: $(tail -n1 "$IT_DIR/fixtures.log")"
}

# ---------------------------------------------------------------- client helpers

cli_py() { in_ns "$NS_CLI" "$PY" "$IT_SRC/ftpclient.py" --fixtures "$IT_HOME" --tag "$SC_TAG" "$@"; }
gw_py() { in_ns "$NS_GW" "$PY" "$IT_SRC/ftpclient.py" --fixtures "$IT_HOME" --tag "$SC_TAG-direct" "$@"; }

ALL_SIZES=0B,1B,1MiB,64MiB

# sc_xfer MODE HOST PORT SIZES [GLOBAL-OPTIONS...]: ftplib RETR+STOR+LIST.
sc_xfer() {
	local mode=$1 host=$2 port=$3 sizes=$4
	shift 4
	cli_py --host "$host" --port "$port" --mode "$mode" "$@" xfer --sizes "$sizes" --list
}

# urlhost HOST PORT
urlhost() { case $1 in *:*) echo "[$1]:$2" ;; *) echo "$1:$2" ;; esac; }

# sc_curl MODE HOST PORT: RETR+STOR 1 MiB and 64 MiB with curl.
sc_curl() {
	local mode=$1 hp opts f out
	hp=$(urlhost "$2" "$3")
	case $mode in
	pasv) opts=(--disable-epsv --no-ftp-skip-pasv-ip) ;;
	epsv) opts=() ;;
	port) opts=(-P - --disable-eprt) ;;
	eprt) opts=(-P -) ;;
	esac
	out=$LANE_DIR/curl.$SC_N
	for f in file-1MiB file-64MiB; do
		in_ns "$NS_CLI" curl -q -sS -v --connect-timeout 10 --max-time 60 \
			-u "$IT_USER:$IT_PASS" "${opts[@]}" -o "$out" "ftp://$hp/$f" || return 1
		check_sha "$out" "$f" "curl RETR $f" || return 1
		rm -f "$out"
		in_ns "$NS_CLI" curl -q -sS -v --connect-timeout 10 --max-time 60 \
			-u "$IT_USER:$IT_PASS" "${opts[@]}" -T "$IT_HOME/$f" "ftp://$hp/uploads/$SC_TAG-$f" || return 1
		check_upload "uploads/$SC_TAG-$f" "$f" || return 1
	done
}

# sc_lftp on|off HOST PORT: get/put 64 MiB + ls with lftp.
sc_lftp() {
	local pasv=$1 hp dl=$LANE_DIR/lftp.$SC_N ls=$LANE_DIR/lftp-ls.$SC_N
	hp=$(urlhost "$2" "$3")
	mkdir -p "$LANE_DIR/lftphome"
	in_ns "$NS_CLI" env HOME="$LANE_DIR/lftphome" LFTP_HOME="$LANE_DIR/lftphome" lftp -c "
		set cmd:fail-exit yes; set cmd:interactive no
		set net:max-retries 1; set net:timeout 10; set net:reconnect-interval-base 1
		set ftp:ssl-allow no; set ftp:passive-mode $pasv; set ftp:prefer-epsv no
		set xfer:clobber on
		debug -t 3
		open -u $IT_USER,$IT_PASS ftp://$hp
		get file-64MiB -o $dl
		put $IT_HOME/file-64MiB -o uploads/$SC_TAG-file-64MiB
		ls > $ls
		quit" || return 1
	check_sha "$dl" file-64MiB "lftp get" || return 1
	rm -f "$dl"
	check_upload "uploads/$SC_TAG-file-64MiB" file-64MiB || return 1
	grep -q file-64MiB "$ls" || { echo "FAIL: lftp ls does not list file-64MiB:"; cat "$ls"; return 1; }
	echo "lftp ls: $(wc -l <"$ls") lines"
}

# sc_codes HOST PORT SERVER: control replies through the gateway == direct.
sc_codes() {
	local d=$LANE_DIR/codes-direct.$SC_N g=$LANE_DIR/codes-gw.$SC_N
	echo "== direct (from gw) to $1:$2"
	gw_py --host "$1" --port "$2" codes --server "$3" --out "$d" || return 1
	echo "== through the gateway"
	cli_py --host "$1" --port "$2" codes --server "$3" --out "$g" || return 1
	"$PY" "$IT_SRC/ftpclient.py" compare "$d" "$g"
}

sc_nlst_mlsd() {
	cli_py --host "$SRV4" --port 21 nlst || return 1
	cli_py --host "$SRV4" --port 2121 mlsd
}

# sc_refused: straight to the listener (not redirected) must be refused,
# and the gateway must still serve a session afterwards.
sc_refused() {
	cli_py --host "$GWC4" --port 8021 refused || return 1
	cli_py --host "$GWC6" --port 8021 refused || return 1
	alive "$(cat "$LANE_DIR/ftpgw.pid")" || { echo "FAIL: ftpgw died"; return 1; }
	sc_xfer pasv "$SRV4" 21 1MiB --expect-pasv-host "$SRV4"
}

# sc_transparent: vsftpd saw only the client's own addresses.
sc_transparent() {
	local bad
	sc_xfer pasv "$SRV4" 21 1MiB --expect-pasv-host "$SRV4" --expect-data-peer "$SRV4" || return 1
	sc_xfer epsv "$SRV6" 21 1MiB --expect-data-peer "$SRV6" || return 1
	grep 'CONNECT: Client' "$LANE_DIR/vsftpd.log" | tail -n 5
	grep -q "CONNECT: Client \"\(::ffff:\)\?$CLI4\"" "$LANE_DIR/vsftpd.log" ||
		{ echo "FAIL: vsftpd never saw $CLI4"; return 1; }
	grep -q "CONNECT: Client \"$CLI6\"" "$LANE_DIR/vsftpd.log" ||
		{ echo "FAIL: vsftpd never saw $CLI6"; return 1; }
	bad=$(grep 'CONNECT: Client' "$LANE_DIR/vsftpd.log" |
		grep -v -e "\"\(::ffff:\)\?$CLI4\"" -e "\"$CLI6\"")
	[ -z "$bad" ] || { echo "FAIL: vsftpd saw other addresses:"; echo "$bad"; return 1; }
}

# sc_server_data KIND MODE: an xfer through a server-data-mode listener; the
# server's log must show only the data commands of KIND (passive|active).
sc_server_data() {
	local kind=$1 mode=$2 before new want other
	before=$(wc -l <"$LANE_DIR/vsftpd.log")
	sc_xfer "$mode" "$SRV4" 21 1MiB,64MiB ${3:+--expect-pasv-host "$3"} || return 1
	new=$(tail -n +"$((before + 1))" "$LANE_DIR/vsftpd.log" | grep 'FTP command:')
	case $kind in
	passive) want='"(PASV|EPSV)"' other='"(PORT|EPRT) ' ;;
	active) want='"(PORT|EPRT) ' other='"(PASV|EPSV)"' ;;
	esac
	echo "server saw: $(echo "$new" | grep -oE '"(PASV|EPSV|PORT|EPRT)[" ]' | sort | uniq -c | tr '\n' ' ')"
	echo "$new" | grep -qE "$want" || { echo "FAIL: the server saw no $kind data command"; return 1; }
	! echo "$new" | grep -qE "$other" || { echo "FAIL: the server saw a data command other than $kind"; return 1; }
}

# sc_on_listener PORT CONTROL-PORTS FN ARGS: point the rules at another listener, then run FN.
sc_on_listener() {
	local port=$1 ctrl=$2
	shift 2
	rules_use redirect "$port" "$ctrl" || return 1
	"$@"
}


# ---------------------------------------------------------------- lanes

X64="RETR+STOR 0B,1B,1MiB,64MiB sha256 + LIST (ftplib)"
DMODE_UP() { echo "$1" | tr a-z A-Z; }

write_conf() { cat >"$LANE_DIR/ftpgw.conf"; echo "ftpgw.conf:"; cat "$LANE_DIR/ftpgw.conf"; }

# Direct: no gateway, the kernel routes.  Proves the harness; the baseline.
setup_direct() { :; }
lane_direct() {
	lane_begin direct setup_direct
	scenario "direct (no gateway) v4 PASV: $X64" sc_xfer pasv $SRV4 21 $ALL_SIZES --expect-pasv-host $SRV4
	scenario "direct (no gateway) v4 PORT: $X64" sc_xfer port $SRV4 21 $ALL_SIZES
	scenario "direct (no gateway) v6 EPSV: $X64" sc_xfer epsv $SRV6 21 $ALL_SIZES
	lane_end
}

# Scenarios 1-3 for one mode.  HOST4/6 PORT4/6: where the client connects.
common_scenarios() {
	local mode=$1 h4=$2 p4=$3 h6=$4 p6=$5 pasvhost=$6 peer4=$7 peer6=$8 dm
	for dm in pasv epsv port eprt; do
		scenario "$mode v4 $(DMODE_UP $dm): $X64" sc_xfer $dm $h4 $p4 $ALL_SIZES \
			--expect-pasv-host $pasvhost ${peer4:+--expect-data-peer $peer4}
	done
	for dm in epsv eprt; do
		scenario "$mode v6 $(DMODE_UP $dm): $X64" sc_xfer $dm $h6 $p6 $ALL_SIZES \
			${peer6:+--expect-data-peer $peer6}
	done
	scenario "$mode v4 PASV (--no-ftp-skip-pasv-ip): RETR+STOR 1MiB,64MiB sha256 (curl)" sc_curl pasv $h4 $p4
	scenario "$mode v4 PORT (-P - --disable-eprt): RETR+STOR 1MiB,64MiB sha256 (curl)" sc_curl port $h4 $p4
	scenario "$mode v6 EPSV: RETR+STOR 1MiB,64MiB sha256 (curl)" sc_curl epsv $h6 $p6
	scenario "$mode v6 EPRT (-P -): RETR+STOR 1MiB,64MiB sha256 (curl)" sc_curl eprt $h6 $p6
	scenario "$mode v4 passive (PASV): get/put 64MiB sha256 + ls (lftp)" sc_lftp on $h4 $p4
	scenario "$mode v4 active (PORT): get/put 64MiB sha256 + ls (lftp)" sc_lftp off $h4 $p4
	scenario "$mode v6 passive (EPSV): get/put 64MiB sha256 + ls (lftp)" sc_lftp on $h6 $p6
	scenario "$mode v6 active (EPRT): get/put 64MiB sha256 + ls (lftp)" sc_lftp off $h6 $p6
}

setup_redirect() {
	LANE_HAS_GW=1
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
listen "main" { address = "::"  port = 8021  mode = "redirect"  passive-address = "original" }
port-mapping "alt" { application = "ftp"  ports = {2121} }
EOF
	rules_use redirect 8021 21,2121 || return 1
	gw_start "$LANE_DIR/ftpgw.conf" 8021
}
lane_redirect() {
	lane_begin redirect setup_redirect
	common_scenarios redirect $SRV4 21 $SRV6 21 $SRV4 "" ""
	# 6. port-mapping: pyftpdlib on 2121 is FTP because of the stanza.
	scenario "redirect port-mapping 2121 (pyftpdlib) v4 PASV: RETR+STOR 1MiB,64MiB sha256 + LIST (ftplib)" \
		sc_xfer pasv $SRV4 2121 1MiB,64MiB --expect-pasv-host $SRV4
	scenario "redirect port-mapping 2121 (pyftpdlib) v4 PORT: RETR+STOR 1MiB,64MiB sha256 + LIST (ftplib)" \
		sc_xfer port $SRV4 2121 1MiB,64MiB
	# 7. control channel.
	scenario "redirect control: FEAT HELP STAT SYST OPTS SITE-HELP MDTM SIZE NOOP codes == direct (vsftpd)" \
		sc_codes $SRV4 21 vsftpd
	scenario "redirect control: FEAT HELP STAT SYST OPTS SITE-HELP MLST MDTM SIZE NOOP codes == direct (pyftpdlib)" \
		sc_codes $SRV4 2121 pyftpdlib
	scenario "redirect control: 5000-byte command line -> 500, then NOOP 200 and RETR 1MiB sha256" \
		cli_py --host $SRV4 --port 21 longline
	scenario "redirect control: REST + RETR resumes, sha256 of the tail" \
		cli_py --host $SRV4 --port 21 rest
	scenario "redirect control: STOR + APPE, sha256 on the server" \
		cli_py --host $SRV4 --port 21 appe
	scenario "redirect control: NLST (vsftpd) + MLSD (pyftpdlib)" sc_nlst_mlsd
	scenario "redirect control: ABOR during a 64MiB RETR, then NOOP 200 and RETR 1MiB sha256" \
		cli_py --host $SRV4 --port 21 abor
	scenario "redirect control: 50 RETRs of 1MiB on one session, sha256 each" \
		cli_py --host $SRV4 --port 21 many --count 50
	# 8. interception safety.
	scenario "redirect safety: direct connection to the listener $GWC4:8021 / [$GWC6]:8021 refused within 5 s, then a normal session works" \
		sc_refused
	lane_end
}

setup_tproxy() {
	LANE_HAS_GW=1
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
listen "main" { address = "::"  port = 8021  mode = "tproxy"  passive-address = "original" }
EOF
	rules tproxy add FTPGW_IFACE=eth0 FTPGW_LISTEN_PORT=8021 FTPGW_CONTROL_PORTS=21 \
		FTPGW_PASSIVE_PORTS="$GW_PASV" || return 1
	gw_start "$LANE_DIR/ftpgw.conf" 8021
}
lane_tproxy() {
	lane_begin tproxy setup_tproxy
	common_scenarios tproxy $SRV4 21 $SRV6 21 $SRV4 $SRV4 $SRV6
	scenario "tproxy transparency: the data peer is the server, vsftpd sees only the client's own addresses (v4+v6)" \
		sc_transparent
	lane_end
}

setup_reverse() {
	LANE_HAS_GW=1
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
listen "rev"  { address = "::"  port = 9091  mode = "reverse"  upstream = "$SRV4:21" }
listen "rev6" { address = "::"  port = 9092  mode = "reverse"  upstream = "[$SRV6]:21" }
EOF
	gw_start "$LANE_DIR/ftpgw.conf" 9091 9092
}
lane_reverse() {
	lane_begin reverse setup_reverse
	common_scenarios reverse $GWC4 9091 $GWC6 9092 $GWC4 "" ""
	# 4. mixed families.
	local x="RETR+STOR 1MiB sha256 + LIST (ftplib)"
	scenario "reverse v6 client -> v4 upstream EPSV: $x" sc_xfer epsv $GWC6 9091 1MiB
	scenario "reverse v6 client -> v4 upstream EPRT: $x" sc_xfer eprt $GWC6 9091 1MiB
	scenario "reverse v4 client -> v6 upstream PASV: $x" sc_xfer pasv $GWC4 9092 1MiB --expect-pasv-host $GWC4
	scenario "reverse v4 client -> v6 upstream PORT: $x" sc_xfer port $GWC4 9092 1MiB
	scenario "reverse v4 client -> v6 upstream EPSV: $x" sc_xfer epsv $GWC4 9092 1MiB
	lane_end
}

setup_options() {
	LANE_HAS_GW=1
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
listen "local"   { address = "::"  port = 8021  mode = "redirect"  passive-address = "local" }
listen "fixed"   { address = "::"  port = 8022  mode = "redirect"  passive-address = "$GWNAT4" }
listen "sdmpasv" { address = "::"  port = 8023  mode = "redirect"  server-data-mode = "passive" }
listen "sdmactv" { address = "::"  port = 8024  mode = "redirect"  server-data-mode = "active" }
listen "plain"   { address = "::"  port = 8025  mode = "redirect" }
EOF
	gw_start "$LANE_DIR/ftpgw.conf" 8021 8022 8023 8024 8025
}
lane_options() {
	lane_begin options setup_options
	local x="RETR+STOR 1MiB,64MiB sha256 + LIST (ftplib)"
	# 5. passive-address and server-data-mode.
	scenario "redirect passive-address=local v4 PASV: 227 carries $GWC4, $x" \
		sc_on_listener 8021 21 sc_xfer pasv $SRV4 21 1MiB,64MiB --expect-pasv-host $GWC4
	scenario "redirect passive-address=local v4 PORT: $x" \
		sc_on_listener 8021 21 sc_xfer port $SRV4 21 1MiB,64MiB
	scenario "redirect passive-address=$GWNAT4 (fixed) v4 PASV: 227 carries $GWNAT4, $x" \
		sc_on_listener 8022 21 sc_xfer pasv $SRV4 21 1MiB,64MiB --expect-pasv-host $GWNAT4
	scenario "redirect passive-address=$GWNAT4 (fixed) v4 PORT: $x" \
		sc_on_listener 8022 21 sc_xfer port $SRV4 21 1MiB,64MiB
	x="$x, server saw only"
	scenario "redirect server-data-mode=passive, client PASV: $x PASV/EPSV" \
		sc_on_listener 8023 21 sc_server_data passive pasv $SRV4
	scenario "redirect server-data-mode=passive, client PORT: $x PASV/EPSV" \
		sc_on_listener 8023 21 sc_server_data passive port
	scenario "redirect server-data-mode=active, client PASV: $x PORT/EPRT" \
		sc_on_listener 8024 21 sc_server_data active pasv $SRV4
	scenario "redirect server-data-mode=active, client PORT: $x PORT/EPRT" \
		sc_on_listener 8024 21 sc_server_data active port
	# 6. without a port-mapping stanza 2121 is a plain TCP relay.
	scenario "redirect without port-mapping: 2121 (pyftpdlib) is plain TCP: login 230, 227 not rewritten, PASV and PORT transfers fail" \
		sc_on_listener 8025 21,2121 cli_py --host $SRV4 --port 2121 nomap
	lane_end
}

# ---------------------------------------------------------------- run

LANES=(direct redirect tproxy reverse options)
T0=$(date +%s)
for lane in "${LANES[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$IT_JOBS" ]; do
		wait -n
	done
	("lane_$lane") &
	LANE_PIDS+=($!)
done
wait
say "all lanes done in $(($(date +%s) - T0)) s"

n=0
failed=0
for lane in "${LANES[@]}"; do
	f=$IT_DIR/lanes/$lane/results
	[ -f "$f" ] || continue
	while IFS= read -r line; do
		case $line in
		"ok - "*) n=$((n + 1)); echo "ok $n - ${line#ok - }" >&3 ;;
		"not ok - "*) n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - ${line#not ok - }" >&3 ;;
		*) echo "$line" >&3 ;;
		esac
	done <"$f"
	if [ ! -f "$IT_DIR/lanes/$lane/done" ]; then
		n=$((n + 1)); failed=$((failed + 1))
		echo "not ok $n - $lane: the lane ended early (harness error, see the test log)" >&3
	fi
done
if [ "$n" = 0 ]; then
	echo "1..0 # SKIP no scenario matches '$IT_PATTERN'" >&3
	exit 0
fi
echo "1..$n" >&3
say "$n scenarios, $failed failed, $(($(date +%s) - T0)) s"
[ "$failed" = 0 ]
