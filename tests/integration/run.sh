#!/bin/bash
# ftpgw integration tests: real clients (python3 ftplib, curl, lftp) and real
# servers (vsftpd, pyftpdlib) on a three-host network of namespaces
#     cli (198.51.100.2, 2001:db8:1::2) — gw (ftpgw) — srv (203.0.113.2, 2001:db8:2::2)
# moving files through ftpgw in redirect, tproxy and reverse mode, every
# file's sha256 checked.  The interception rules are the shipped
# contrib/iptables scripts.  The tls-* lanes (lanes-tlsmodes.sh) run FTPS (TLS terminated by
# ftpgw on each leg) against vsftpd instances that require TLS and TLS
# session reuse, with certificates made per run by openssl (a test CA).
#
# Usage: run.sh [PATTERN]     only the scenarios whose name matches the
#                             extended regular expression PATTERN (grep -E),
#                             e.g. '^direct', 'tproxy v6', 'control|safety',
#                             '^tls', 'implicit'
#   A lane (one cli—gw—srv network with its servers and ftpgw) is built only
#   when one of its scenarios is selected; lanes run in parallel.
# Environment: FTPGW (the binary; default $BUILDDIR/src/ftpgw or ./src/ftpgw),
#   SRCDIR, BUILDDIR (set by make check), FTPGW_IT_KEEP=1 keeps the temp dir,
#   FTPGW_IT_JOBS (lanes at a time, default 4), FTPGW_IT_TMPDIR (default /tmp),
#   FTPGW_IT_CMD_TIMEOUT (seconds per client command, default 120),
#   FTPGW_IT_LANE_BUDGET (seconds per lane, default 360),
#   FTPGW_IT_DATA_PATH=kernel|relay|auto: every gateway's data-path (unless
#   a lane pins its own; the kernel lane always tests "kernel"),
#   FTPGW_SKIP_INTEGRATION=1 skips everything.
# Output: TAP on stdout; progress on stderr.  Needs root: skips otherwise.

# Run as "sh run.sh" too: the rest is bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

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
for tool in ip iptables ip6tables ss vsftpd curl lftp openssl sha256sum timeout useradd chpasswd awk; do
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
	while read -r pid start; do
		[ -n "$start" ] && [ "$(proc_start "$pid")" = "$start" ] && alive "$pid" || continue
		say "cleanup: SIGKILL to pid $pid, left running: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-100)"
		kill -KILL "$pid" 2>/dev/null
	done <"$IT_DIR/pids"
	wait 2>/dev/null
	# The accounts this run made, once nothing runs under them.
	it_users_release
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
IT_TLS=$IT_DIR/tls
# Without openssl or certificates only the TLS lanes fail (at their setup).
tls_certs >"$IT_DIR/certs.log" 2>&1 || say "cannot make the TLS test certificates: $(tail -n1 "$IT_DIR/certs.log")"

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

# gw_log_wants ERE WHAT: the main gateway logged a line matching ERE since
# the last log_mark of its log (lib.sh's log_wants).
gw_log_wants() { log_wants "$LANE_DIR/ftpgw.log" "$1" "$2"; }

# gw_alive [GW]: gateway GW (default: the lane's main one) still runs.
gw_alive() { alive "$(gw_pid "${1:-main}")" || { echo "FAIL: ftpgw (${1:-main}) died"; return 1; }; }

# sc_telnet HOST PORT: Telnet IAC sequences and three ways to send ABOR.
sc_telnet() {
	cli_py --host "$1" --port "$2" telnet || return 1
	gw_alive
}

# sc_epsvall: EPSV ALL on v4 and on v6.
sc_epsvall() {
	cli_py --host "$SRV4" --port 21 epsvall || return 1
	cli_py --host "$SRV6" --port 21 epsvall
}

# sc_hijack MODE DIRECTION HOST [INTRUDER-HOST]: a third host (srv) connects
# to the passive port before the client; the gateway must shut it out and log it.
sc_hijack() {
	log_mark "$LANE_DIR/ftpgw.log"
	cli_py --host "$3" --port 21 --mode "$1" hijack --intruder-ns "$NS_SRV" --direction "$2" \
		${4:+--intruder-host "$4"} || return 1
	# The kernel path has no listener to refuse it: its mapping admits
	# the client alone, and the intruder met a closed port.
	if [ "${FTPGW_IT_DATA_PATH:-relay}" = kernel ]; then
		gw_log_wants 'data channel forwarded by the kernel: .* may connect' "the kernel's mapping"
	else
		gw_log_wants 'data connection .*refused' "the refused intruder"
	fi
}

# sc_on_listener PORT CONTROL-PORTS FN ARGS: point the rules at another listener, then run FN.
sc_on_listener() {
	local port=$1 ctrl=$2
	shift 2
	rules_use redirect "$port" "$ctrl" || return 1
	"$@"
}


# ---------------------------------------------------------------- TLS helpers

CA=$IT_TLS/ca.pem

# tls_block CLIENT-SIDE SERVER-SIDE [LINE...]: the gateway's tls section.
tls_block() {
	local l
	echo "tls {"
	echo "	certificate = \"$IT_TLS/gw.pem\""
	echo "	key = \"$IT_TLS/gw.key\""
	echo "	client-side = \"$1\""
	echo "	server-side = \"$2\""
	shift 2
	for l; do echo "	$l"; done
	echo "}"
}

# tls_checked FN ARGS: run FN, then the vsftpd logs must show no 522 (a data
# connection refused: without TLS session reuse, or not protected).
tls_checked() {
	local f new bad=0
	log_mark "$LANE_DIR"/vsftpd*.log "$LANE_DIR/ftpgw.log"
	"$@" || return 1
	for f in "$LANE_DIR"/vsftpd*.log; do
		new=$(log_new "$f")
		[ -n "$new" ] || continue
		echo "${f##*/}: $(grep -c 'OK DOWNLOAD' <<<"$new") OK DOWNLOAD, $(grep -c 'OK UPLOAD' <<<"$new") OK UPLOAD, $(grep -c 'FAIL ' <<<"$new") FAIL"
		if grep -E '"522 |session reuse required' <<<"$new"; then bad=1; fi
	done
	[ "$bad" = 0 ] || { echo "FAIL: vsftpd refused a data connection (522)"; return 1; }
}

# sc_tls_py MODE HOST PORT [GLOBAL-OPTIONS...]: ftplib FTP_TLS (explicit
# unless the options say otherwise), RETR+STOR 1MiB and 64MiB + LIST: five
# PROT P data connections on one session.
sc_tls_py() {
	local mode=$1 host=$2 port=$3
	shift 3
	tls_checked cli_py --host "$host" --port "$port" --mode "$mode" --tls explicit --cafile "$CA" "$@" \
		xfer --sizes 1MiB,64MiB --list
}

# sc_tls_curl MODE URL-SCHEME HOST PORT [CURL-OPTIONS...]: one curl run,
# three transfers on one session (--next keeps the connection): RETR 64MiB,
# STOR 64MiB, RETR 1MiB.  MODE pasv|epsv only: curl 7.88 cannot do active
# FTPS (it hangs even straight against vsftpd).
sc_tls_curl() {
	local mode=$1 scheme=$2 hp out=$LANE_DIR/curl.$SC_N err=$LANE_DIR/curl-v.$SC_N o n
	hp=$(urlhost "$3" "$4")
	shift 4
	case $mode in
	pasv) o=(--disable-epsv --no-ftp-skip-pasv-ip) ;;
	epsv) o=() ;;
	esac
	o=(-sS -v --connect-timeout 10 --max-time 60 -u "$IT_USER:$IT_PASS" -k "${o[@]}" "$@")
	[ "$scheme" = ftp ] && o+=(--ssl-reqd)
	tls_checked in_ns "$NS_CLI" curl -q "${o[@]}" -o "$out.64" "$scheme://$hp/file-64MiB" \
		--next "${o[@]}" -T "$IT_HOME/file-64MiB" "$scheme://$hp/uploads/$SC_TAG-file-64MiB" \
		--next "${o[@]}" -o "$out.1" "$scheme://$hp/file-1MiB" 2>"$err"
	n=$?
	grep -E '^\* (SSL connection using|Re-using existing)|^< (234|200 P|5|4)' "$err"
	[ "$n" = 0 ] || { tail -n 5 "$err"; return 1; }
	check_sha "$out.64" file-64MiB "curl RETR file-64MiB" || return 1
	check_sha "$out.1" file-1MiB "curl RETR file-1MiB" || return 1
	rm -f "$out.64" "$out.1"
	check_upload "uploads/$SC_TAG-file-64MiB" file-64MiB || return 1
	n=$(grep -c '^\* Re-using existing connection' "$err")
	[ "$n" -ge 2 ] || { echo "FAIL: curl used $((3 - n)) sessions, expected one"; return 1; }
	if [ "$scheme" = ftp ]; then
		grep -q '^< 234' "$err" || { echo "FAIL: no 234 reply to AUTH"; return 1; }
	fi
}

# sc_tls_curl_small pasv|epsv HOST PORT: 0 B and 1 B files over PROT P.
# curl does the data handshake only after "150", so a server that is done
# at once (0 B: handshake, close_notify, FIN) must not have its end passed
# on before curl's handshake.
# Each upload is a session of its own: under TLS 1.3 curl 7.88 may close a
# short upload's data connection before reading the session ticket the
# gateway sent on it, and then (its previous ticket used up) not resume on
# the next one, which require-session-reuse refuses, as vsftpd's
# require_ssl_reuse does (ftpgw.conf(5)).
sc_tls_curl_small() {
	local mode=$1 hp out=$LANE_DIR/curl.$SC_N err=$LANE_DIR/curl-v.$SC_N o n
	hp=$(urlhost "$2" "$3")
	case $mode in
	pasv) o=(--disable-epsv --no-ftp-skip-pasv-ip) ;;
	epsv) o=() ;;
	esac
	o=(-sS -v --connect-timeout 10 --max-time 30 -u "$IT_USER:$IT_PASS" -k --ssl-reqd "${o[@]}")
	in_ns "$NS_CLI" curl -q "${o[@]}" -o "$out.0" "ftp://$hp/file-0B" \
		--next "${o[@]}" -o "$out.1" "ftp://$hp/file-1B" 2>"$err" || { tail -n 5 "$err"; return 1; }
	for n in 1B 0B; do
		in_ns "$NS_CLI" curl -q "${o[@]}" -T "$IT_HOME/file-$n" \
			"ftp://$hp/uploads/$SC_TAG-file-$n" 2>"$err" || { tail -n 5 "$err"; return 1; }
	done
	check_sha "$out.0" file-0B "curl RETR file-0B" || return 1
	check_sha "$out.1" file-1B "curl RETR file-1B" || return 1
	rm -f "$out.0" "$out.1"
	check_upload "uploads/$SC_TAG-file-0B" file-0B || return 1
	check_upload "uploads/$SC_TAG-file-1B" file-1B
}

# sc_tls_lftp on|off HOST PORT [LFTP-SETTINGS]: lftp with ftp:ssl-force and
# PROT P, on one session: get 64MiB, put 64MiB, get 1MiB, ls.
sc_tls_lftp() {
	local pasv=$1 hp dl=$LANE_DIR/lftp.$SC_N ls=$LANE_DIR/lftp-ls.$SC_N dbg=$LANE_DIR/lftp-dbg.$SC_N
	hp=$(urlhost "$2" "$3")
	mkdir -p "$LANE_DIR/lftphome"
	tls_checked in_ns "$NS_CLI" env HOME="$LANE_DIR/lftphome" LFTP_HOME="$LANE_DIR/lftphome" lftp -c "
		set cmd:fail-exit yes; set cmd:interactive no
		set net:max-retries 1; set net:timeout 10; set net:reconnect-interval-base 1
		set ftp:ssl-allow yes; set ftp:ssl-force true; set ftp:ssl-protect-data true
		set ftp:ssl-protect-list true; set ssl:verify-certificate no
		set ftp:passive-mode $pasv; set ftp:prefer-epsv no
		set xfer:clobber on
		${4:-}
		debug -o $dbg -t 9
		open -u $IT_USER,$IT_PASS ftp://$hp
		get file-64MiB -o $dl.64
		put $IT_HOME/file-64MiB -o uploads/$SC_TAG-file-64MiB
		get file-1MiB -o $dl.1
		ls > $ls
		quit" || { grep -E -- '(--->|<---) ' "$dbg" | tail -n 8; return 1; }
	grep -E -- '---> (AUTH|PBSZ|PROT|PASV|EPSV|PORT|EPRT)|<--- 234' "$dbg" | sort | uniq -c | sed 's/^ *//'
	check_sha "$dl.64" file-64MiB "lftp get file-64MiB" || return 1
	check_sha "$dl.1" file-1MiB "lftp get file-1MiB" || return 1
	rm -f "$dl.64" "$dl.1"
	check_upload "uploads/$SC_TAG-file-64MiB" file-64MiB || return 1
	grep -q file-64MiB "$ls" || { echo "FAIL: lftp ls does not list file-64MiB:"; cat "$ls"; return 1; }
	grep -q -- '---> PROT P' "$dbg" || { echo "FAIL: lftp did not send PROT P"; return 1; }
}

# sc_tls_versions CLIENT-ERE SERVER-ERE FN ARGS: run FN; the gateway must
# have logged the TLS versions of the legs (CLIENT-ERE "": not checked).
sc_tls_versions() {
	local c=$1 s=$2
	shift 2
	log_mark "$LANE_DIR/ftpgw.log"
	"$@" || return 1
	if [ -n "$c" ]; then
		gw_log_wants "TLS with the client: $c" "the client leg" || return 1
	fi
	gw_log_wants "TLS with the server: $s" "the server leg"
}

# sc_tls_plain_leg FN ARGS: run FN; the server leg must have stayed
# plaintext (the gateway never had TLS with the server).
sc_tls_plain_leg() {
	log_mark "$LANE_DIR/ftpgw.log"
	"$@" || return 1
	if log_new "$LANE_DIR/ftpgw.log" | grep -E 'TLS with the server: TLS'; then
		echo "FAIL: the server leg was secured"
		return 1
	fi
	echo "the server leg stayed plaintext"
}

# sc_expect_fail LOG-ERE WHAT ARGS: ftpclient.py expectfail ARGS, then the
# gateway log must say why.
sc_expect_fail() {
	local ere=$1 what=$2
	shift 2
	log_mark "$LANE_DIR/ftpgw.log"
	cli_py "$@" || return 1
	gw_log_wants "$ere" "$what" || return 1
	gw_alive
}

# The explicit-TLS matrix of one mode.  H4/P4 H6/P6: where the client connects.
tls_matrix() {
	local mode=$1 h4=$2 p4=$3 h6=$4 p6=$5 x
	x="RETR+STOR 1MiB,64MiB + LIST on one session (5 PROT P data connections), sha256, vsftpd: no 522"
	# tls $mode v4 PASV, TLS both legs: $x (ftplib FTP_TLS)
	scenario "tls $mode v4 PASV: RETR+STOR 1MiB,64MiB + LIST (ftplib)" sc_tls_py pasv $h4 $p4
	# tls $mode v4 PORT, TLS both legs: $x (ftplib FTP_TLS)
	scenario "tls $mode v4 PORT: RETR+STOR 1MiB,64MiB + LIST (ftplib)" sc_tls_py port $h4 $p4
	# tls $mode v6 EPSV, TLS both legs: $x (ftplib FTP_TLS)
	scenario "tls $mode v6 EPSV: RETR+STOR 1MiB,64MiB + LIST (ftplib)" sc_tls_py epsv $h6 $p6
	# tls $mode v6 EPRT, TLS both legs: $x (ftplib FTP_TLS)
	scenario "tls $mode v6 EPRT: RETR+STOR 1MiB,64MiB + LIST (ftplib)" sc_tls_py eprt $h6 $p6
	x="get 64MiB, put 64MiB, get 1MiB, ls on one session, sha256, vsftpd: no 522 (lftp ssl-force, PROT P)"
	# tls $mode v4 passive (PASV), TLS both legs: $x
	scenario "tls $mode v4 PASV: get/put 64MiB, get 1MiB, ls (lftp)" sc_tls_lftp on $h4 $p4
	# tls $mode v4 active (PORT), TLS both legs: $x
	scenario "tls $mode v4 PORT: get/put 64MiB, get 1MiB, ls (lftp)" sc_tls_lftp off $h4 $p4
	# tls $mode v6 passive (EPSV), TLS both legs: $x
	scenario "tls $mode v6 EPSV: get/put 64MiB, get 1MiB, ls (lftp)" sc_tls_lftp on $h6 $p6
	# tls $mode v6 active (EPRT), TLS both legs: $x
	scenario "tls $mode v6 EPRT: get/put 64MiB, get 1MiB, ls (lftp)" sc_tls_lftp off $h6 $p6
	x="RETR 64MiB, STOR 64MiB, RETR 1MiB on one session, sha256, vsftpd: no 522 (curl --ssl-reqd)"
	# tls $mode v4 PASV, TLS both legs: $x
	scenario "tls $mode v4 PASV: RETR 64MiB, STOR 64MiB, RETR 1MiB (curl)" sc_tls_curl pasv ftp $h4 $p4
	# tls $mode v6 EPSV, TLS both legs: $x
	scenario "tls $mode v6 EPSV: RETR 64MiB, STOR 64MiB, RETR 1MiB (curl)" sc_tls_curl epsv ftp $h6 $p6
	# tls $mode v4 PASV, TLS both legs: RETR+STOR 0B,1B sha256 (curl
	# --ssl-reqd, data handshake after 150)
	scenario "tls $mode v4 PASV: RETR+STOR 0B,1B (curl)" \
		sc_tls_curl_small pasv $h4 $p4
}

# ---------------------------------------------------------------- lanes

# RETR+STOR of 0B, 1B, 1MiB and 64MiB, sha256 each, + LIST, on one session.
X64="RETR+STOR 0B..64MiB + LIST (ftplib)"
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
	# $mode v4 PASV (--no-ftp-skip-pasv-ip): RETR+STOR 1MiB,64MiB sha256
	# (curl)
	scenario "$mode v4 PASV: RETR+STOR 1MiB,64MiB (curl)" sc_curl pasv $h4 $p4
	# $mode v4 PORT (-P - --disable-eprt): RETR+STOR 1MiB,64MiB sha256
	# (curl)
	scenario "$mode v4 PORT: RETR+STOR 1MiB,64MiB (curl)" sc_curl port $h4 $p4
	# $mode v6 EPSV: RETR+STOR 1MiB,64MiB sha256 (curl)
	scenario "$mode v6 EPSV: RETR+STOR 1MiB,64MiB (curl)" sc_curl epsv $h6 $p6
	# $mode v6 EPRT (-P -): RETR+STOR 1MiB,64MiB sha256 (curl)
	scenario "$mode v6 EPRT: RETR+STOR 1MiB,64MiB (curl)" sc_curl eprt $h6 $p6
	# $mode v4 passive (PASV): get/put 64MiB sha256 + ls (lftp)
	scenario "$mode v4 PASV: get/put 64MiB + ls (lftp)" sc_lftp on $h4 $p4
	# $mode v4 active (PORT): get/put 64MiB sha256 + ls (lftp)
	scenario "$mode v4 PORT: get/put 64MiB + ls (lftp)" sc_lftp off $h4 $p4
	# $mode v6 passive (EPSV): get/put 64MiB sha256 + ls (lftp)
	scenario "$mode v6 EPSV: get/put 64MiB + ls (lftp)" sc_lftp on $h6 $p6
	# $mode v6 active (EPRT): get/put 64MiB sha256 + ls (lftp)
	scenario "$mode v6 EPRT: get/put 64MiB + ls (lftp)" sc_lftp off $h6 $p6
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
	# redirect port-mapping 2121 (pyftpdlib) v4 PASV: RETR+STOR 1MiB,64MiB
	# sha256 + LIST (ftplib)
	scenario "redirect port-mapping 2121 (pyftpdlib) v4 PASV" \
		sc_xfer pasv $SRV4 2121 1MiB,64MiB --expect-pasv-host $SRV4
	# redirect port-mapping 2121 (pyftpdlib) v4 PORT: RETR+STOR 1MiB,64MiB
	# sha256 + LIST (ftplib)
	scenario "redirect port-mapping 2121 (pyftpdlib) v4 PORT" \
		sc_xfer port $SRV4 2121 1MiB,64MiB
	# 7. control channel.
	# redirect control: FEAT HELP STAT SYST OPTS SITE-HELP MDTM SIZE NOOP
	# codes == direct (vsftpd)
	scenario "redirect control: reply codes == direct (vsftpd)" \
		sc_codes $SRV4 21 vsftpd
	# redirect control: FEAT HELP STAT SYST OPTS SITE-HELP MLST MDTM SIZE
	# NOOP codes == direct (pyftpdlib)
	scenario "redirect control: reply codes == direct (pyftpdlib)" \
		sc_codes $SRV4 2121 pyftpdlib
	# redirect control: 5000-byte command line -> 500, then NOOP 200 and
	# RETR 1MiB sha256
	scenario "redirect control: 5000-byte command line -> 500" \
		cli_py --host $SRV4 --port 21 longline
	scenario "redirect control: REST + RETR resumes, sha256 of the tail" \
		cli_py --host $SRV4 --port 21 rest
	scenario "redirect control: STOR + APPE, sha256 on the server" \
		cli_py --host $SRV4 --port 21 appe
	scenario "redirect control: NLST (vsftpd) + MLSD (pyftpdlib)" sc_nlst_mlsd
	# redirect control: ABOR during a 64MiB RETR, then NOOP 200 and RETR
	# 1MiB sha256
	scenario "redirect control: ABOR during a 64MiB RETR" \
		cli_py --host $SRV4 --port 21 abor
	scenario "redirect control: 50 RETRs of 1MiB on one session, sha256 each" \
		cli_py --host $SRV4 --port 21 many --count 50
	# redirect control: Telnet IAC IP/DM, WILL, DO/DONT/WONT, NOP (also
	# split over segments) before commands -> normal replies; ABOR as
	# ftplib.abort() (MSG_OOB), as IAC IP IAC DM ABOR (MSG_OOB) and as BSD
	# Synch during 64MiB RETRs -> NOOP 200, RETR 1MiB sha256, ftpgw alive
	scenario "redirect control: Telnet IAC sequences and ABOR (Synch)" \
		sc_telnet $SRV4 21
	# redirect control: EPSV ALL -> 2xx, then PASV, PORT, EPRT -> 5xx,
	# EPSV RETR+STOR 1MiB sha256 (v4 and v6)
	scenario "redirect control: EPSV ALL (v4 and v6)" \
		sc_epsvall
	# 8. interception safety.
	# redirect safety: direct connection to the listener $GWC4:8021 /
	# [$GWC6]:8021 refused within 5 s, then a normal session works
	scenario "redirect safety: direct connection to the listener refused" \
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
	# tproxy transparency: the data peer is the server, vsftpd sees only
	# the client's own addresses (v4+v6)
	scenario "tproxy transparency: vsftpd sees only the client (v4+v6)" \
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
	# Each: RETR+STOR 1MiB sha256 + LIST (ftplib).
	local x="RETR+STOR 1MiB + LIST"
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
	# redirect passive-address=local v4 PASV: 227 carries $GWC4, $x
	scenario "redirect passive-address=local v4 PASV: 227 carries $GWC4" \
		sc_on_listener 8021 21 sc_xfer pasv $SRV4 21 1MiB,64MiB --expect-pasv-host $GWC4
	# redirect passive-address=local v4 PORT: $x
	scenario "redirect passive-address=local v4 PORT" \
		sc_on_listener 8021 21 sc_xfer port $SRV4 21 1MiB,64MiB
	# redirect passive-address=$GWNAT4 (fixed) v4 PASV: 227 carries
	# $GWNAT4, $x
	scenario "redirect passive-address=$GWNAT4 (fixed) v4 PASV" \
		sc_on_listener 8022 21 sc_xfer pasv $SRV4 21 1MiB,64MiB --expect-pasv-host $GWNAT4
	# redirect passive-address=$GWNAT4 (fixed) v4 PORT: $x
	scenario "redirect passive-address=$GWNAT4 (fixed) v4 PORT" \
		sc_on_listener 8022 21 sc_xfer port $SRV4 21 1MiB,64MiB
	x="$x, server saw only"
	# redirect server-data-mode=passive, client PASV: $x PASV/EPSV
	scenario "redirect server-data-mode=passive, client PASV" \
		sc_on_listener 8023 21 sc_server_data passive pasv $SRV4
	# redirect server-data-mode=passive, client PORT: $x PASV/EPSV
	scenario "redirect server-data-mode=passive, client PORT" \
		sc_on_listener 8023 21 sc_server_data passive port
	# redirect server-data-mode=active, client PASV: $x PORT/EPRT
	scenario "redirect server-data-mode=active, client PASV" \
		sc_on_listener 8024 21 sc_server_data active pasv $SRV4
	# redirect server-data-mode=active, client PORT: $x PORT/EPRT
	scenario "redirect server-data-mode=active, client PORT" \
		sc_on_listener 8024 21 sc_server_data active port
	# Data-connection hijack: srv's connection to the gateway's passive
	# port arrives from $SRV4, not from the client.
	# redirect passive-address=local v4 PASV: a third host ($SRV4)
	# connecting first to the advertised port is closed with 0 bytes (RETR
	# pending), ftpgw logs 'refused', then the client's RETR 1MiB sha256
	scenario "redirect passive-address=local v4 PASV: a hijacker is refused" \
		sc_on_listener 8021 21 sc_hijack pasv retr $SRV4
	# redirect passive-address=local v6 EPSV: a third host ($SRV6)
	# connecting first to [$GWC6]:port and sending junk is closed, ftpgw
	# logs 'refused', then the client's STOR 1MiB sha256 on the server
	scenario "redirect passive-address=local v6 EPSV: a hijacker is refused" \
		sc_on_listener 8021 21 sc_hijack epsv stor $SRV6 $GWC6
	# 6. without a port-mapping stanza 2121 is a plain TCP relay.
	# redirect without port-mapping: 2121 (pyftpdlib) is plain TCP: login
	# 230, 227 not rewritten, PASV and PORT transfers fail
	scenario "redirect without port-mapping: 2121 is plain TCP" \
		sc_on_listener 8025 21,2121 cli_py --host $SRV4 --port 2121 nomap
	lane_end
}

# ---------------------------------------------------------------- run

# Reported in this order; started longest first (and LONGEST below before all).
LANES=(direct redirect tproxy reverse options)
START=(redirect tproxy reverse options direct)

# More lanes live in lanes-*.sh: each defines setup_X/lane_X functions and
# appends X to EXTRA_LANES (reported after the others, started first).
EXTRA_LANES=()
for f in "$IT_SRC"/lanes-*.sh; do
	[ -f "$f" ] && . "$f"
done
LANES+=("${EXTRA_LANES[@]}")
START=("${EXTRA_LANES[@]}" "${START[@]}")
# The longest lanes (45-90 s each on a 2-core machine) go first, so that
# none of them is left running alone at the end.
LONGEST=(tls-redirect ha-ecmp kernel tls-reverse workers robust-server rate tls-tproxy)
ordered=()
for lane in "${LONGEST[@]}"; do
	[[ " ${START[*]} " == *" $lane "* ]] && ordered+=("$lane")
done
for lane in "${START[@]}"; do
	[[ " ${LONGEST[*]} " == *" $lane "* ]] || ordered+=("$lane")
done
START=("${ordered[@]}")
T0=$(date +%s)
for lane in "${START[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$IT_JOBS" ]; do
		wait -n
	done
	("lane_${lane//-/_}") &
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
