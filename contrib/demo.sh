#!/bin/sh
# demo.sh: ftpgw at work, with no router needed.  Builds a small lab of
# network namespaces on this machine (as root),
#
#     client 198.51.100.2 ---- 198.51.100.1 gateway 203.0.113.1 ---- 203.0.113.2 server
#     (curl, lftp)              (ftpgw, iptables, a router)           (vsftpd, TLS optional)
#
# and moves files through one ftpgw in each of its three ways of reaching
# traffic: redirect (iptables REDIRECT, contrib/iptables/ftpgw-redirect.sh),
# tproxy (TPROXY and policy routing, contrib/iptables/ftpgw-tproxy.sh) and
# reverse (the client connects to the gateway's address), each plain and
# with explicit FTPS (AUTH TLS, the gateway terminating TLS on each leg),
# passive and active, down and up.  One line per transfer, its sha256
# checked; then what `ftpgwctl sessions` showed during a live (rate-limited)
# transfer, `ftpgwctl stats` and the gateway's log.  Everything it made is
# removed on exit (namespaces, processes, its temp dir).
#
#   sh contrib/demo.sh [--ftpgw PATH] [--ftpgwctl PATH] [--keep]
#
# --ftpgw defaults to $FTPGW, else ./src/ftpgw, else ftpgw in $PATH;
# --ftpgwctl to the ftpgwctl next to it.  --keep keeps the temp dir (logs,
# configurations).  Exit status: 0 all transfers passed, 1 one failed or
# the lab could not be built, 2 usage, 77 cannot run here (not root, a
# tool missing, no namespaces).  Needs ip, iptables, vsftpd, curl, lftp,
# openssl (contrib/debian-deps.sh --demo installs them).

# Run as "sh demo.sh" too: the rest is bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

CONTRIB=$(cd "$(dirname "$0")" && pwd)
FTPGW=${FTPGW:-}
FTPGWCTL=
KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--ftpgw) FTPGW=${2:?--ftpgw needs a path}; shift ;;
	--ftpgwctl) FTPGWCTL=${2:?--ftpgwctl needs a path}; shift ;;
	--keep) KEEP=1 ;;
	-h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "usage: $0 [--ftpgw PATH] [--ftpgwctl PATH] [--keep]" >&2; exit 2 ;;
	esac
	shift
done
if [ -z "$FTPGW" ]; then
	if [ -x ./src/ftpgw ]; then FTPGW=./src/ftpgw; else FTPGW=$(command -v ftpgw || echo ftpgw); fi
fi
case $FTPGW in */*) FTPGW=$(cd "$(dirname "$FTPGW")" && pwd)/${FTPGW##*/} ;; esac
[ -n "$FTPGWCTL" ] || FTPGWCTL=$(dirname "$FTPGW")/ftpgwctl

cannot() { echo "demo: cannot run here: $*" >&2; exit 77; }
[ "$(id -u)" = 0 ] || cannot "needs root (network namespaces, iptables)"
for tool in ip iptables ss vsftpd curl lftp openssl sha256sum timeout; do
	command -v "$tool" >/dev/null 2>&1 || cannot "$tool is missing (sh contrib/debian-deps.sh --demo)"
done
# vsftpd's anonymous sessions run as "ftp" (Debian's vsftpd package
# creates it), which needs a home vsftpd can enter before anon_root.
ftphome=$(getent passwd ftp | cut -d: -f6)
[ -n "$ftphome" ] && [ -d "$ftphome" ] || cannot "no user ftp with a home directory (the vsftpd package creates it)"
[ -x "$FTPGW" ] || { echo "demo: no ftpgw binary at $FTPGW (--ftpgw PATH)" >&2; exit 1; }
[ -x "$FTPGWCTL" ] || { echo "demo: no ftpgwctl binary at $FTPGWCTL (--ftpgwctl PATH)" >&2; exit 1; }

# Documentation addresses only (RFC 5737).
CLI=198.51.100.2 GWC=198.51.100.1 GWS=203.0.113.1 SRV=203.0.113.2
PASV=50000-50999
NS=ftpgwdemo$$-            # every namespace of this run starts with it
NS_CLI=${NS}cli NS_GW=${NS}gw NS_SRV=${NS}srv
SIZE_MIB=4
D=$(mktemp -d /tmp/ftpgw-demo.XXXXXX) || exit 1
chmod 755 "$D"
PIDS=()
GW_PID=

cleanup() {
	local pid ns
	trap - EXIT INT TERM HUP
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	# Whatever still runs in our own namespaces was started by this run.
	for ns in "$NS_CLI" "$NS_GW" "$NS_SRV"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	wait 2>/dev/null
	for ns in "$NS_CLI" "$NS_GW" "$NS_SRV"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ "$KEEP" = 1 ]; then echo "demo: kept $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'echo "demo: interrupted" >&2; exit 1' INT TERM HUP

say() { printf '\n== %s\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" timeout -k 2 30 "$@"; }

# wait_listen NS PORT [PID]: until something listens on TCP PORT in NS
# (5 s), as long as process PID (if given) runs.
wait_listen() {
	local i
	for i in $(seq 50); do
		[ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2" 2>/dev/null)" ] && return 0
		[ -z "${3:-}" ] || kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- the lab

lab_up() {
	local n
	for n in "$NS_CLI" "$NS_GW" "$NS_SRV"; do
		ip netns add "$n" && ip -n "$n" link set lo up || return 1
	done
	ip -n "$NS_GW" link add eth0 type veth peer name eth0 netns "$NS_CLI" &&
	ip -n "$NS_GW" link add eth1 type veth peer name eth0 netns "$NS_SRV" &&
	ip -n "$NS_CLI" addr add $CLI/24 dev eth0 &&
	ip -n "$NS_GW" addr add $GWC/24 dev eth0 &&
	ip -n "$NS_GW" addr add $GWS/24 dev eth1 &&
	ip -n "$NS_SRV" addr add $SRV/24 dev eth0 &&
	ip -n "$NS_CLI" link set eth0 up && ip -n "$NS_SRV" link set eth0 up &&
	ip -n "$NS_GW" link set eth0 up && ip -n "$NS_GW" link set eth1 up &&
	ip -n "$NS_CLI" route add default via $GWC &&
	ip -n "$NS_SRV" route add default via $GWS || return 1
	# The gateway is a router; its passive range is kept out of the
	# ephemeral ports (as ftpgw's start-up warning asks).
	ip netns exec "$NS_GW" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv4.ip_local_reserved_ports=$PASV >/dev/null
}

# certs: self-signed EC certificates for the gateway (its client-side
# address) and for vsftpd.  The clients do not verify them (-k).
certs() {
	local n
	for n in gw:$GWC srv:$SRV; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
			-keyout "$D/${n%%:*}.key" -out "$D/${n%%:*}.pem" -subj "/CN=ftpgw demo ${n%%:*}" \
			-addext "subjectAltName=IP:${n#*:}" 2>/dev/null || return 1
	done
	chmod 644 "$D"/*.pem "$D"/*.key
}

# vsftpd: anonymous logins (no account to create), downloads from
# $D/ftp, uploads into $D/ftp/upload; TLS offered, not required, and TLS
# session reuse required on data connections, as a careful server does.
server_up() {
	mkdir -p "$D/ftp/upload" "$D/empty" && chmod 755 "$D/ftp" "$D/empty" &&
		chmod 1777 "$D/ftp/upload" || return 1
	head -c $((SIZE_MIB << 20)) /dev/urandom >"$D/ftp/file.bin" && chmod 644 "$D/ftp/file.bin" || return 1
	SUM=$(sha256sum <"$D/ftp/file.bin" | cut -d' ' -f1)
	cat >"$D/vsftpd.conf" <<EOF
listen=YES
listen_address=$SRV
listen_port=21
background=NO
anonymous_enable=YES
no_anon_password=YES
local_enable=NO
anon_root=$D/ftp
ftp_username=ftp
write_enable=YES
anon_upload_enable=YES
anon_umask=022
secure_chroot_dir=$D/empty
seccomp_sandbox=NO
pasv_min_port=40000
pasv_max_port=40999
connect_from_port_20=NO
xferlog_enable=YES
xferlog_std_format=NO
vsftpd_log_file=$D/vsftpd.log
syslog_enable=NO
ssl_enable=YES
allow_anon_ssl=YES
force_anon_logins_ssl=NO
force_anon_data_ssl=NO
require_ssl_reuse=YES
rsa_cert_file=$D/srv.pem
rsa_private_key_file=$D/srv.key
ssl_tlsv1=YES
ssl_sslv2=NO
ssl_sslv3=NO
ssl_ciphers=HIGH
EOF
	ip netns exec "$NS_SRV" vsftpd "$D/vsftpd.conf" >"$D/vsftpd.out" 2>&1 &
	PIDS+=($!)
	wait_listen "$NS_SRV" 21 || { cat "$D/vsftpd.out"; return 1; }
}

# gateway_up: one ftpgw with a listener per mode.  TLS toward the client
# is optional (plain clients get in too), toward the server "auto": the
# server leg is secured when the client secures its own.
gateway_up() {
	cat >"$D/ftpgw.conf" <<EOF
# ftpgw.conf of the demo: see ftpgw.conf(5)
workers = 1
max-sessions = 100
passive-ports = "$PASV"
shutdown-timeout = 2
control-socket = "$D/ftpgw.sock"
transfer-log = "$D/xferlog"
listen "redirect" { address = "0.0.0.0"  port = 8021  mode = "redirect" }
listen "tproxy"   { address = "0.0.0.0"  port = 8022  mode = "tproxy" }
listen "reverse"  { address = "$GWC"  port = 9091  mode = "reverse"  upstream = "$SRV:21" }
tls {
	certificate = "$D/gw.pem"
	key = "$D/gw.key"
	client-side = "optional"
	server-side = "auto"
}
EOF
	"$FTPGW" -t -c "$D/ftpgw.conf" || return 1
	ip netns exec "$NS_GW" "$FTPGW" -f -c "$D/ftpgw.conf" >"$D/ftpgw.log" 2>&1 &
	GW_PID=$!
	PIDS+=($!)
	wait_listen "$NS_GW" 9091 $GW_PID && wait_listen "$NS_GW" 8021 $GW_PID &&
		wait_listen "$NS_GW" 8022 $GW_PID ||
		{ cat "$D/ftpgw.log"; return 1; }
}

# rules redirect|tproxy add|del: the shipped contrib/iptables scripts, in
# the gateway's namespace, for the client-facing eth0.
rules() {
	local port=8021
	[ "$1" = tproxy ] && port=8022
	ip netns exec "$NS_GW" sh "$CONTRIB/iptables/ftpgw-$1.sh" -4 -i eth0 -l $port \
		-p "${PASV/-/:}" "$2" >>"$D/rules.log" 2>&1
}

# ---------------------------------------------------------------- transfers

FAILED=0
NXFER=0

# xfer MODE HOST PORT plain|TLS passive|active down|up: one transfer with
# curl (passive) or lftp (active, as curl 7.88 cannot do active FTPS), and
# its result line.
xfer() {
	local mode=$1 hp=$2:$3 sec=$4 dm=$5 dir=$6 tag=$1-$4-$5 client out got rc
	local o=(-q -sS --max-time 20 -u anonymous:demo@example.org)
	NXFER=$((NXFER + 1))
	out=$D/down-$tag.bin
	[ "$dir" = up ] && out=$D/ftp/upload/$tag.bin
	if [ "$dm" = passive ]; then
		client=curl
		[ "$sec" = TLS ] && o+=(--ssl-reqd -k)
		if [ "$dir" = down ]; then
			in_ns "$NS_CLI" curl "${o[@]}" -o "$out" "ftp://$hp/file.bin"
		else
			in_ns "$NS_CLI" curl "${o[@]}" -T "$D/ftp/file.bin" "ftp://$hp/upload/$tag.bin"
		fi >>"$D/clients.log" 2>&1
	else
		client=lftp
		local set="set ftp:ssl-allow no"
		[ "$sec" = TLS ] && set="set ftp:ssl-force true; set ftp:ssl-protect-data true; set ssl:verify-certificate no"
		local cmd="get file.bin -o $out"
		[ "$dir" = up ] && cmd="put $D/ftp/file.bin -o upload/$tag.bin"
		in_ns "$NS_CLI" env HOME="$D" lftp -c "set cmd:fail-exit yes; set net:max-retries 1
			set net:timeout 10; set ftp:passive-mode off; $set
			open -u anonymous,demo@example.org ftp://$hp; $cmd" >>"$D/clients.log" 2>&1
	fi
	rc=$?
	got=missing
	[ -f "$out" ] && got=$(sha256sum <"$out" | cut -d' ' -f1)
	line "$mode" "$sec" "$dm" "$dir" "$client" "$rc" "$got"
}

# line MODE SEC DM DIR CLIENT STATUS SHA256: one result line.
line() {
	local sha=ok res=PASS
	[ "$7" = "$SUM" ] || sha=MISMATCH
	[ "$7" = missing ] && sha=missing
	[ "$6" = 0 ] && [ "$sha" = ok ] || { res="FAIL (exit $6)"; FAILED=$((FAILED + 1)); }
	printf '%-9s %-8s %-8s %-9s %s MiB  sha256 %-8s  %-5s %s\n' "$1" "$2" "$3" \
		"$([ "$4" = down ] && echo download || echo upload)" "$SIZE_MIB" "$sha" "$5" "$res"
}

# all_xfers MODE HOST PORT: plain and TLS, passive and active, down and up.
all_xfers() {
	local sec dm dir
	for sec in plain TLS; do
		for dm in passive active; do
			for dir in down up; do
				xfer "$1" "$2" "$3" "$sec" "$dm" "$dir"
			done
		done
	done
}

# live_sessions: a TLS download limited to 1 MiB/s by the client (about
# 4 s) through the reverse listener; ftpgwctl sessions must list it in
# its transfer phase while it runs.
live_sessions() {
	local out=$D/down-live.bin pid seen=0 rc got=missing
	NXFER=$((NXFER + 1))
	in_ns "$NS_CLI" curl -q -sS --max-time 20 --limit-rate 1M --ssl-reqd -k \
		-u anonymous:demo@example.org -o "$out" "ftp://$GWC:9091/file.bin" >>"$D/clients.log" 2>&1 &
	pid=$!
	for _ in $(seq 50); do
		"$FTPGWCTL" -s "$D/ftpgw.sock" sessions >"$D/sessions" 2>&1
		grep -q ' transfer ' "$D/sessions" && { seen=1; break; }
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	wait "$pid"
	rc=$?
	[ -f "$out" ] && got=$(sha256sum <"$out" | cut -d' ' -f1)
	line "reverse" TLS passive down "curl --limit-rate 1M" "$rc" "$got"
	say "ftpgwctl sessions (during that last, rate-limited download)"
	cat "$D/sessions"
	if [ "$seen" = 0 ]; then
		echo "FAIL: ftpgwctl sessions never listed the live transfer"
		FAILED=$((FAILED + 1))
	fi
}

# ---------------------------------------------------------------- run

say "building the lab: namespaces ${NS}cli, ${NS}gw, ${NS}srv in $D"
lab_up || die "cannot build the namespaces"
certs || die "cannot make the certificates with openssl"
server_up || die "vsftpd does not start (see above)"
ip netns exec "$NS_CLI" timeout 5 bash -c "exec 4<>/dev/tcp/$SRV/21" 2>/dev/null ||
	die "the client cannot reach $SRV:21 through the gateway namespace"
VSFTPD_LOG0=$(wc -l <"$D/vsftpd.log")   # the probe's line is not the gateway's
gateway_up || die "ftpgw does not start: $FTPGW (see above)"
echo "client $CLI -- gateway $GWC | $GWS -- vsftpd $SRV:21 (anonymous, TLS offered)"
echo "$("$FTPGW" -V | head -n 1), pid $GW_PID, configuration:"
grep -v '^#' "$D/ftpgw.conf" | sed 's/^/    /'

say "transfers ($SIZE_MIB MiB each; the client connects to the server $SRV:21 in redirect and tproxy mode, to the gateway $GWC:9091 in reverse mode)"
echo "TLS: the client's AUTH TLS (PROT P data) ends at the gateway, which speaks TLS to vsftpd itself."
echo "Interception rules: contrib/iptables/ftpgw-redirect.sh and ftpgw-tproxy.sh -i eth0, in the gateway."
printf '%-9s %-8s %-8s %-9s %-5s  %-15s  %-5s %s\n' mode security data direction size check client result
rules redirect add || die "contrib/iptables/ftpgw-redirect.sh add failed: $(cat "$D/rules.log")"
all_xfers redirect $SRV 21
rules redirect del
rules tproxy add || die "contrib/iptables/ftpgw-tproxy.sh add failed: $(cat "$D/rules.log")"
all_xfers tproxy $SRV 21
rules tproxy del
all_xfers reverse $GWC 9091
live_sessions

say "ftpgwctl stats"
"$FTPGWCTL" -s "$D/ftpgw.sock" stats | grep -v ' 0$'
echo "(counters that are 0 left out)"

say "who vsftpd saw connecting: the gateway ($GWS) in redirect and reverse mode, the client ($CLI) in tproxy"
tail -n +"$((VSFTPD_LOG0 + 1))" "$D/vsftpd.log" | grep -o 'CONNECT: Client "[^"]*"' | sort | uniq -c

# SIGTERM: the gateway lets live sessions finish, then exits 0.
if kill -0 "$GW_PID" 2>/dev/null; then
	kill -TERM "$GW_PID"
	wait "$GW_PID"
	st=$?
	[ "$st" = 0 ] || { echo "FAIL: ftpgw exited with status $st after SIGTERM"; FAILED=$((FAILED + 1)); }
else
	echo "FAIL: ftpgw died during the demo"
	FAILED=$((FAILED + 1))
fi
say "the gateway's log (ftpgw -f logs to stderr; #N is the session; the xferlog has a line per file)"
cat "$D/ftpgw.log"
# A sanitizer build (./configure --enable-sanitizers) reports into the log.
if grep -qE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:' "$D/ftpgw.log"; then
	echo "FAIL: a sanitizer report in the gateway's log"
	FAILED=$((FAILED + 1))
fi

say "result"
if [ "$FAILED" != 0 ]; then
	echo "$FAILED check(s) of $NXFER transfers FAILED; the clients said:"
	tail -n 20 "$D/clients.log"
	exit 1
fi
echo "all $NXFER transfers passed, sha256 checked"
cat <<'EOF'

== running it for real
1. Install: make install (puts ftpgw, ftpgwctl, the man pages and the
   systemd unit in place); create the user and a configuration:
       useradd --system --no-create-home --shell /usr/sbin/nologin ftpgw
       cp etc/ftpgw.conf /etc/ftpgw.conf   # where ./configure --sysconfdir=/etc
                                           # puts it; every key: man 5 ftpgw.conf
       ftpgw -t -c /etc/ftpgw.conf
2. Send FTP to it, on the router whose client-facing interface is eth0:
       contrib/iptables/ftpgw-redirect.sh -i eth0 add   # or the nft file:
       nft -f contrib/nftables/ftpgw-redirect.nft       # (edit CLIENT_IF)
   tproxy: contrib/iptables/ftpgw-tproxy.sh, contrib/nftables/ftpgw-tproxy.nft
   (and CAP_NET_ADMIN for the service, see ftpgw(8)); reverse needs no
   rules. "ftpgw -R -c /etc/ftpgw.conf" prints the rules a file needs.
3. Start it: systemctl daemon-reload && systemctl enable --now ftpgw
   Watch it: ftpgwctl sessions, ftpgwctl stats, journalctl -u ftpgw
EOF
