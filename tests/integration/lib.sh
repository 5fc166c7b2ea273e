# lib.sh: topology, servers, gateway and scenario helpers of ftpgw's
# integration tests.  Sourced by run.sh (bash).  Nothing here writes to
# stdout: TAP goes to fd 3, owned by run.sh.
#
# A "lane" is one three-host network (namespaces PREFIX-LANE-cli, -gw, -srv),
# its servers and (usually) one gateway.  Lanes run in parallel as
# subshells; a lane writes its results to $LANE_DIR/results as
#     ok - NAME | not ok - NAME   followed by "# ..." diagnostics
# and run.sh numbers them.

IT_USER=ftpgwtest
IT_PASS=ftpgwtest
IT_USER_HOME=/var/lib/ftpgwtest   # passwd home: permanent and empty (see fixtures_and_user)

CLI4=198.51.100.2  CLI6=2001:db8:1::2
GWC4=198.51.100.1  GWC6=2001:db8:1::1   # gw eth0, client side
GWS4=203.0.113.1   GWS6=2001:db8:2::1   # gw eth1, server side
SRV4=203.0.113.2   SRV6=2001:db8:2::2
GWNAT4=198.51.100.10                     # extra gw address: "public" address for passive-address tests
GW_PASV=50000-50999
VSFTPD_PASV_LO=40000 VSFTPD_PASV_HI=40999
PYFTPD_PASV=41000-41999

IT_CMD_TIMEOUT=${FTPGW_IT_CMD_TIMEOUT:-120}   # seconds per client command
IT_LANE_BUDGET=${FTPGW_IT_LANE_BUDGET:-360}   # seconds per lane; later scenarios fail

say() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# proc_start PID: when process PID started (clock ticks after boot); ""
# when there is none.
proc_start() { sed -E 's/^[0-9]+ \(.*\) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $20 }'; }
# register_pid PID: end PID at the end of the run if it still runs. With its
# start time: pids wrap (pid_max may be 32768), and by then the number may
# be another process's.
register_pid() { echo "$1 $(proc_start "$1")" >>"$IT_DIR/pids"; }

# in_ns NS CMD...: run CMD in namespace NS, bounded by a timeout.
in_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" timeout -k 5 "$IT_CMD_TIMEOUT" "$@"
}

# wait_listen NS PORT [SECONDS]: until a TCP listener on PORT shows in ss -ltn.
wait_listen() {
	local ns=$1 port=$2 t=${3:-5} i=0
	while [ "$i" -lt $((t * 10)) ]; do
		if [ -n "$(ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null)" ]; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

sha_of() { sha256sum "$1" | cut -d' ' -f1; }
sha_fixture() { awk -v n="$1" '$2 == n || $2 == "*" n { print $1 }' "$IT_HOME/SHA256SUMS"; }

# check_sha FILE FIXTURE-NAME WHAT: fail unless FILE has the fixture's sha256.
check_sha() {
	local got exp
	[ -f "$1" ] || { echo "FAIL: $3: $1 does not exist"; return 1; }
	got=$(sha_of "$1")
	exp=$(sha_fixture "$2")
	if [ "$got" != "$exp" ]; then
		echo "FAIL: $3: sha256 ${got:0:16} ($(stat -c %s "$1") B), expected ${exp:0:16} ($2)"
		return 1
	fi
	echo "$3: sha256 ok"
}

# check_upload REMOTE FIXTURE-NAME: the uploaded file on the server's disk.
check_upload() {
	check_sha "$IT_HOME/$1" "$2" "upload $1" || return 1
	rm -f "$IT_HOME/$1"
}

# ---------------------------------------------------------------- run setup

# fixtures_and_user: the test user and its home with the fixture files.
fixtures_and_user() {
	local home i
	IT_HOME=$IT_DIR/home
	mkdir -p "$IT_HOME/uploads" "$IT_DIR/empty" "$IT_DIR/lanes"
	chmod 755 "$IT_DIR" "$IT_HOME" "$IT_DIR/empty"
	: >"$IT_HOME/file-0B"
	printf 'x' >"$IT_HOME/file-1B"
	head -c $((1 << 20)) /dev/urandom >"$IT_HOME/file-1MiB"
	head -c $((64 << 20)) /dev/urandom >"$IT_HOME/file-64MiB"
	chmod 644 "$IT_HOME"/file-*
	(cd "$IT_HOME" && sha256sum file-0B file-1B file-1MiB file-64MiB >SHA256SUMS)
	# The account's passwd home is a fixed, permanent, empty directory: the
	# servers are pointed at this run's fixtures with vsftpd's local_root and
	# pyftpdlib's --home.  Rewriting the passwd home per run would break a
	# concurrent run (or anyone else's vsftpd using this account), and
	# usermod refuses anyway while the account has processes.
	it_user_hold || return 1
	home=$(getent passwd "$IT_USER" | cut -d: -f6)
	# vsftpd chdirs to the passwd home before local_root: it must exist.
	# Moving an old per-run home to the permanent one is harmless (usermod
	# fails while the account is in use; that matters only if it is missing).
	if [ "$home" != "$IT_USER_HOME" ] && ! usermod -d "$IT_USER_HOME" "$IT_USER" 2>/dev/null &&
		[ ! -d "$home" ]; then
		echo "the home $home of $IT_USER does not exist and usermod failed"
		return 1
	fi
	# chpasswd takes a lock on /etc/shadow; a concurrent run may hold it.
	# SHA-512 at 5000 rounds, not Debian's PAM default yescrypt: a yescrypt
	# check costs vsftpd 0.1 s of CPU (16 MiB) per login, the whole of the
	# kernel lane's 1000 sessions on two cores (a SHA-512 check: 1 ms).
	for i in 1 2 3 4 5; do
		echo "$IT_USER:$IT_PASS" | chpasswd -c SHA512 -s 5000 && break
		[ "$i" = 5 ] && return 1
		sleep 1
	done
	chown "$IT_USER" "$IT_HOME/uploads"
	chmod 1777 "$IT_HOME/uploads"
	local shell
	shell=$(getent passwd "$IT_USER" | cut -d: -f7)
	grep -qx "$shell" /etc/shells || { echo "shell $shell of $IT_USER is not in /etc/shells (PAM pam_shells)"; return 1; }
	! grep -qx "$IT_USER" /etc/ftpusers 2>/dev/null || { echo "$IT_USER is listed in /etc/ftpusers"; return 1; }
}

# The test account has a known password and a login shell (vsftpd's PAM
# wants both), so it exists only while runs need it: each run registers
# in IT_USER_LOCK ("run PID"); the run that creates the account (and its
# home) notes "made"; the last registered run to end removes what was made.
# An account that was there before (made by hand, or by an older suite) is
# left alone. The lock serializes creating, registering and removing, so
# concurrent runs never lose the account under a running lane.
IT_USER_LOCK=/run/lock/ftpgw-it-user.lock

it_user_hold() {
	(
		flock -w 60 8 || { echo "cannot lock $IT_USER_LOCK"; exit 1; }
		if ! id "$IT_USER" >/dev/null 2>&1; then
			if [ -e "$IT_USER_HOME" ]; then
				mkdir -p "$IT_USER_HOME" || exit 1
			else
				mkdir -p "$IT_USER_HOME" || exit 1
				echo "made-home $IT_USER_HOME" >>"$IT_USER_LOCK"
			fi
			useradd -M -d "$IT_USER_HOME" -s /bin/sh -c "ftpgw integration tests" "$IT_USER" || exit 1
			echo "made $IT_USER" >>"$IT_USER_LOCK"
		else
			mkdir -p "$IT_USER_HOME" || exit 1
		fi
		chmod 755 "$IT_USER_HOME" || exit 1
		echo "run $$" >>"$IT_USER_LOCK"
	) 8>>"$IT_USER_LOCK"
}

# it_user_release: at the end of a run (its processes gone): unregister;
# the last run removes the account and the home it made.
it_user_release() {
	[ -f "$IT_USER_LOCK" ] || return 0
	(
		local kind val keep="" made="" home=""
		flock -w 60 8 || { echo "cannot lock $IT_USER_LOCK" >&2; exit 1; }
		while read -r kind val; do
			case $kind in
			run) [ "$val" != "$$" ] && alive "$val" && keep="${keep}run $val"$'\n' ;;
			made) made=$val ;;
			made-home) home=$val ;;
			esac
		done <"$IT_USER_LOCK"
		if [ -n "$keep" ]; then
			{ printf '%s' "$keep"
			  [ -z "$made" ] || echo "made $made"
			  [ -z "$home" ] || echo "made-home $home"; } >"$IT_USER_LOCK"
			exit 0
		fi
		: >"$IT_USER_LOCK"
		[ "$made" = "$IT_USER" ] && { userdel "$IT_USER" || echo "userdel $IT_USER failed" >&2; }
		[ "$home" = "$IT_USER_HOME" ] && rm -rf "$IT_USER_HOME"
		exit 0
	) 8>>"$IT_USER_LOCK"
}

# it_users_release: the accounts lanes made for themselves (listed in
# $IT_DIR/made-users), then the test account.
it_users_release() {
	local u
	if [ -f "$IT_DIR/made-users" ]; then
		while read -r u; do
			id "$u" >/dev/null 2>&1 && { userdel "$u" || echo "userdel $u failed" >&2; }
		done <"$IT_DIR/made-users"
	fi
	it_user_release
}

# cleanup_all: every namespace of this run and every process in them.
cleanup_namespaces() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$IT_PREFIX"); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
}

# ---------------------------------------------------------------- lane setup

# topo_up: cli — gw — srv, dual stack, gw forwards.
topo_up() {
	local c=$NS_CLI g=$NS_GW s=$NS_SRV n
	for n in "$c" "$g" "$s"; do
		ip netns add "$n" || return 1
		ip -n "$n" link set lo up || return 1
	done
	ip -n "$g" link add eth0 type veth peer name eth0 netns "$c" || return 1
	ip -n "$g" link add eth1 type veth peer name eth0 netns "$s" || return 1
	ip -n "$c" addr add $CLI4/24 dev eth0 &&
	ip -n "$c" addr add $CLI6/64 dev eth0 nodad &&
	ip -n "$g" addr add $GWC4/24 dev eth0 &&
	ip -n "$g" addr add $GWNAT4/24 dev eth0 &&
	ip -n "$g" addr add $GWC6/64 dev eth0 nodad &&
	ip -n "$g" addr add $GWS4/24 dev eth1 &&
	ip -n "$g" addr add $GWS6/64 dev eth1 nodad &&
	ip -n "$s" addr add $SRV4/24 dev eth0 &&
	ip -n "$s" addr add $SRV6/64 dev eth0 nodad || return 1
	for n in "$c" "$s"; do
		ip -n "$n" link set eth0 up || return 1
	done
	ip -n "$g" link set eth0 up && ip -n "$g" link set eth1 up || return 1
	ip -n "$c" route add default via $GWC4 &&
	ip -n "$c" -6 route add default via $GWC6 &&
	ip -n "$s" route add default via $GWS4 &&
	ip -n "$s" -6 route add default via $GWS6 || return 1
	ip netns exec "$g" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null || return 1
	# The gateways' passive ranges (50000-51999) are inside the ephemeral
	# ports: reserved, as ftpgw's start-up warning asks, so that its own
	# connections to the servers never hold a port a PASV needs.
	ip netns exec "$g" sysctl -qw net.ipv4.ip_local_reserved_ports=50000-51999 >/dev/null || return 1
}

# vsftpd_start NAME PORT PASV-LO PASV-HI [ENV=VALUE...]: a vsftpd in srv with
# the common configuration plus the lines on stdin; its files are
# $LANE_DIR/NAME.{conf,log,out,pid}.
vsftpd_start() {
	local name=$1 port=$2 lo=$3 hi=$4 conf=$LANE_DIR/$1.conf pid
	shift 4
	{
		cat <<EOF
# vsftpd for ftpgw's integration tests (lane $LANE, $name)
listen=NO
listen_ipv6=YES
listen_port=$port
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
local_root=$IT_HOME
pam_service_name=vsftpd
seccomp_sandbox=NO
secure_chroot_dir=$IT_DIR/empty
chroot_local_user=NO
pasv_enable=YES
pasv_min_port=$lo
pasv_max_port=$hi
port_enable=YES
connect_from_port_20=NO
max_clients=0
max_per_ip=0
idle_session_timeout=120
data_connection_timeout=60
xferlog_enable=YES
xferlog_std_format=NO
log_ftp_protocol=YES
syslog_enable=NO
vsftpd_log_file=$LANE_DIR/$name.log
EOF
		cat
	} >"$conf"
	chmod 644 "$conf"
	ip netns exec "$NS_SRV" env "$@" vsftpd "$conf" >"$LANE_DIR/$name.out" 2>&1 &
	pid=$!
	register_pid "$pid"
	echo "$pid" >"$LANE_DIR/$name.pid"
	wait_listen "$NS_SRV" "$port" 10 || { echo "$name does not listen on $port:"; cat "$LANE_DIR/$name.out"; return 1; }
}

# vsftpd_tls CERT-NAME: the configuration lines of a vsftpd that insists on
# TLS for logins and data, and on TLS session reuse on data connections.
vsftpd_tls() {
	cat <<EOF
ssl_enable=YES
rsa_cert_file=$IT_TLS/$1.pem
rsa_private_key_file=$IT_TLS/$1.key
force_local_logins_ssl=YES
force_local_data_ssl=YES
require_ssl_reuse=YES
ssl_tlsv1=YES
ssl_sslv2=NO
ssl_sslv3=NO
ssl_ciphers=HIGH
EOF
}

# servers_up: in srv, per $LANE_SERVERS:
#   plain: vsftpd on 21 and pyftpdlib on 2121
#   tls:   vsftpd on 21 requiring TLS (logins, data, and TLS session reuse
#          on data connections), an implicit-TLS one on 990, a TLS 1.2-only
#          one on 2112, one with the self-signed "wrong" certificate on
#          2122, and the plaintext pyftpdlib on 2121
# Debian's vsftpd 3.0.3 has no TLS version option but ssl_tlsv1 (TLS 1.0 and
# up, 1.3 included): the one on 2112 is capped at TLS 1.2 by an OpenSSL
# configuration file (MaxProtocol) in OPENSSL_CONF.
servers_up() {
	local pid a
	if [ "$LANE_SERVERS" = tls ]; then
		[ -f "$IT_TLS/ca.pem" ] || { echo "no test certificates (see $IT_DIR/certs.log)"; return 1; }
		# (here-strings, not pipes: the servers stay children of this shell)
		vsftpd_start vsftpd 21 40000 40249 <<<"$(vsftpd_tls vsftpd)" || return 1
		vsftpd_start vsftpd-990 990 40250 40499 <<<"$(vsftpd_tls vsftpd; echo implicit_ssl=YES)" || return 1
		vsftpd_start vsftpd-2112 2112 40500 40749 OPENSSL_CONF="$IT_TLS/tls12.cnf" \
			<<<"$(vsftpd_tls vsftpd)" || return 1
		vsftpd_start vsftpd-2122 2122 40750 40999 <<<"$(vsftpd_tls wrong)" || return 1
	else
		vsftpd_start vsftpd 21 $VSFTPD_PASV_LO $VSFTPD_PASV_HI <<<"ssl_enable=NO" || return 1
	fi
	ip netns exec "$NS_SRV" "$PY" "$IT_SRC/ftpserver.py" --home "$IT_HOME" \
		--passive "$PYFTPD_PASV" --log "$LANE_DIR/pyftpd.log" >"$LANE_DIR/pyftpd.out" 2>&1 &
	pid=$!
	register_pid "$pid"
	echo "$pid" >"$LANE_DIR/pyftpd.pid"
	wait_listen "$NS_SRV" 2121 10 || { echo "pyftpdlib does not listen:"; cat "$LANE_DIR/pyftpd.out"; return 1; }
	# Prove the routing (no interception rules yet) before anything uses it.
	for a in "$SRV4" "$SRV6"; do
		ip netns exec "$NS_CLI" timeout 5 bash -c "exec 4<>/dev/tcp/$a/21" ||
			{ echo "cli cannot reach $a:21 through gw"; return 1; }
	done
}

# tls_certs: once per run, in $IT_TLS: a CA; the gateway's certificate
# (gw.pem/gw.key, for its own addresses) and vsftpd's (vsftpd.pem/.key,
# subjectAltName IP:$SRV4 and IP:$SRV6), both signed by the CA; a
# self-signed "wrong" one for the same addresses; and tls12.cnf, an OpenSSL
# configuration that caps a program at TLS 1.2.  EC P-256 keys: fast.
tls_certs() {
	local d=$IT_TLS n
	mkdir -p "$d" && chmod 755 "$d" || return 1
	mkkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/$1.key"; }
	# leaf NAME SUBJECT-ALT-NAMES: a server certificate signed by the CA.
	leaf() {
		mkkey "$1" && openssl req -new -key "$d/$1.key" -subj "/CN=ftpgw test $1" -out "$d/$1.csr" &&
			printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' \
				"$2" >"$d/$1.ext" &&
			openssl x509 -req -in "$d/$1.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
				-set_serial "0x$(openssl rand -hex 8)" -days 2 -extfile "$d/$1.ext" -out "$d/$1.pem"
	}
	mkkey ca && openssl req -new -x509 -key "$d/ca.key" -out "$d/ca.pem" -days 2 \
		-subj "/CN=ftpgw integration test CA" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" || return 1
	leaf gw "IP:$GWC4,IP:$GWC6,IP:$GWNAT4" || return 1
	leaf vsftpd "IP:$SRV4,IP:$SRV6" || return 1
	mkkey wrong && openssl req -new -x509 -key "$d/wrong.key" -out "$d/wrong.pem" -days 2 \
		-subj "/CN=ftpgw test wrong (self-signed)" -addext "subjectAltName=IP:$SRV4,IP:$SRV6" || return 1
	for n in gw vsftpd; do
		openssl verify -CAfile "$d/ca.pem" "$d/$n.pem" || return 1
	done
	cat >"$d/tls12.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MaxProtocol = TLSv1.2
EOF
	chmod 644 "$d"/*
}

# gw_start CONF PORT...: start the gateway in gw, wait for its listeners.
gw_start() {
	local conf=$1 p
	shift
	GW_LOG=$LANE_DIR/ftpgw.log
	# Lanes run side by side: each gateway gets its own control socket
	# instead of the shared default /run/ftpgw/ftpgw.sock.
	grep -q '^[[:space:]]*control-socket' "$conf" ||
		echo "control-socket = \"$LANE_DIR/ctl.sock\"" >>"$conf"
	if [ ! -x "$FTPGW" ]; then
		echo "ftpgw binary not found or not executable: $FTPGW"
		return 1
	fi
	dp_conf "$conf" main
	ip netns exec "$NS_GW" "$FTPGW" -d -c "$conf" >>"$GW_LOG" 2>&1 &
	GW_PID=$!
	register_pid "$GW_PID"
	echo "$GW_PID" >"$LANE_DIR/ftpgw.pid"
	for p in "$@"; do
		if ! wait_listen "$NS_GW" "$p" 5; then
			echo "ftpgw does not listen on port $p within 5 s"
			alive "$GW_PID" || echo "ftpgw exited"
			tail -n 20 "$GW_LOG"
			return 1
		fi
	done
	alive "$GW_PID" || { echo "ftpgw exited"; tail -n 20 "$GW_LOG"; return 1; }
}

# dp_conf CONF NAME: with FTPGW_IT_DATA_PATH (relay, kernel or auto) set,
# the gateway of CONF gets that data-path (unless CONF says its own), and
# a table and log groups of its own: gateways share a lane's namespace.
dp_conf() {
	local conf=$1 name n
	[ -n "${FTPGW_IT_DATA_PATH:-}" ] || return 0
	grep -q '^[[:space:]]*data-path' "$conf" && return 0
	name=$(printf '%s' "$2" | tr -c 'a-z0-9_' '_')
	n=$(cat "$LANE_DIR/dp-gateways" 2>/dev/null || echo 0)
	echo $((n + 1)) >"$LANE_DIR/dp-gateways"
	{
		echo "data-path = \"$FTPGW_IT_DATA_PATH\""
		grep -q '^[[:space:]]*kernel-table' "$conf" || echo "kernel-table = \"ftpgw_$name\""
		grep -q '^[[:space:]]*kernel-log-group' "$conf" || echo "kernel-log-group = $((2100 + 16 * n))"
	} >>"$conf"
}

# extra_gw_start NAME PORT...: a further gateway in gw, configured from
# stdin; files $LANE_DIR/gw-NAME.{conf,log,pid}.  Call from a setup function
# (the lane's shell must be its parent, for gw_stop_pid's wait).
extra_gw_start() {
	local name=$1 conf=$LANE_DIR/gw-$1.conf log=$LANE_DIR/gw-$1.log pid p
	shift
	cat >"$conf"
	dp_conf "$conf" "$name"
	echo "gw-$name.conf:"
	cat "$conf"
	ip netns exec "$NS_GW" "$FTPGW" -d -c "$conf" >>"$log" 2>&1 &
	pid=$!
	register_pid "$pid"
	echo "$pid" >"$LANE_DIR/gw-$name.pid"
	for p; do
		if ! wait_listen "$NS_GW" "$p" 5; then
			echo "ftpgw $name does not listen on port $p within 5 s"
			tail -n 20 "$log"
			return 1
		fi
	done
	alive "$pid" || { echo "ftpgw $name exited"; tail -n 20 "$log"; return 1; }
}

# wk_children PID: the child processes of PID (one line, sorted).
wk_children() { tr ' ' '\n' <"/proc/$1/task/$1/children" 2>/dev/null | grep . | sort -n | tr '\n' ' ' | sed 's/ $//'; }

# wk_worker_pid GW I: the pid of worker I from the newest "worker I of N
# (pid P) starting" line of GW's log.
wk_worker_pid() {
	grep -oE "worker $2 of [0-9]+ \(pid [0-9]+\) starting" "$(gw_logf "$1")" | tail -n1 | grep -oE 'pid [0-9]+' | cut -c5-
}

# wk_age PID: seconds since process PID started.
wk_age() {
	awk -v hz="$(getconf CLK_TCK)" -v up="$(cut -d' ' -f1 /proc/uptime)" \
		'{ sub(/^.*\) /, ""); print int(up - $20 / hz) }' "/proc/$1/stat" 2>/dev/null
}

# gw_stop_pid PIDFILE LOG WHAT: SIGTERM, up to 5 s, then SIGKILL.  Fails if
# the gateway had died before, if it needed the SIGKILL, if it did not exit
# 0 (SIGTERM lets sessions finish up to shutdown-timeout, then exits 0), or
# if its LOG has a sanitizer report.
gw_stop_pid() {
	local pidfile=$1 log=$2 what=$3 pid i st
	local ere='ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|Sanitizer has encountered a fatal error'
	pid=$(cat "$pidfile" 2>/dev/null) || { echo "$what was not started"; return 1; }
	if ! alive "$pid"; then
		wait "$pid" 2>/dev/null
		st=$?
		echo "$what died during the lane (exit status $st)"
		return 1
	fi
	kill -TERM "$pid"
	for i in $(seq 50); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		echo "$what still running 5 s after SIGTERM (shutdown-timeout is 3): SIGKILL"
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null
		return 1
	fi
	wait "$pid" 2>/dev/null
	st=$?
	echo "$what stopped, exit status $st"
	if grep -qE "$ere" "$log"; then
		echo "sanitizer report in the log of $what:"
		grep -m3 -E "$ere" "$log"
		return 1
	fi
	[ "$st" = 0 ]
}

# gw_stop: the lane's main gateway.
gw_stop() { gw_stop_pid "$LANE_DIR/ftpgw.pid" "$LANE_DIR/ftpgw.log" ftpgw; }

# ---------------------------------------------------------------- gateway helpers
# A lane's gateways are named: "main" (or "") is the one of gw_start, with
# $LANE_DIR/ftpgw.{log,pid} and ctl.sock; NAME is one of extra_gw_start,
# with gw-NAME.{log,pid} and, by convention, the control socket
# ctl-NAME.sock (its configuration must say so).

gw_logf() { case ${1:-main} in main) echo "$LANE_DIR/ftpgw.log" ;; *) echo "$LANE_DIR/gw-$1.log" ;; esac; }
gw_pidf() { case ${1:-main} in main) echo "$LANE_DIR/ftpgw.pid" ;; *) echo "$LANE_DIR/gw-$1.pid" ;; esac; }
gw_sock() { case ${1:-main} in main) echo "$LANE_DIR/ctl.sock" ;; *) echo "$LANE_DIR/ctl-$1.sock" ;; esac; }
gw_pid() { cat "$(gw_pidf "$1")"; }

# gw_stop_named GW: gw_stop_pid for gateway GW.
gw_stop_named() {
	case ${1:-main} in
	main) gw_stop ;;
	*) gw_stop_pid "$(gw_pidf "$1")" "$(gw_logf "$1")" "ftpgw $1" ;;
	esac
}

# gw_stop_result GW TITLE [STOP-FN]: at a lane's end, stop gateway GW with
# STOP-FN GW (default gw_stop_named) and write one TAP line TITLE for it.
gw_stop_result() {
	local gw=$1 title=$2 fn=${3:-gw_stop_named} out=$LANE_DIR/stop-$1.log
	if "$fn" "$gw" >"$out" 2>&1; then
		result "ok - $title"
	else
		result "not ok - $title"
		diag_file "$out" 10
		result "# ftpgw ($gw) log (last 20 lines):"
		diag_file "$(gw_logf "$gw")" 20
	fi
}

# gw_ctl GW ARGS...: ftpgwctl on GW's control socket (worker 0's).
gw_ctl() {
	local s
	s=$(gw_sock "$1")
	shift
	"$(dirname "$FTPGW")/ftpgwctl" -s "$s" "$@"
}

# gw_stats GW FILE: "ftpgwctl stats" of GW to FILE; stat_of FILE NAME: one
# value of it ("missing" if absent); gw_stat GW NAME: one value, now.
gw_stats() { gw_ctl "$1" stats >"$2" || { echo "FAIL: ftpgwctl stats ($1) failed"; return 1; }; }
stat_of() { awk -v n="$2" '$1 == n { print $2; f = 1 } END { if (!f) print "missing" }' "$1"; }
gw_stat() { gw_ctl "$1" stats | awk -v n="$2" '$1 == n { print $2; f = 1 } END { if (!f) print "missing" }'; }

# gw_no_sessions GW [SECONDS]: within SECONDS (default 5) ftpgwctl lists no
# session of GW (the header line only).
gw_no_sessions() {
	local gw=${1:-main} t=${2:-5} i out
	for i in $(seq $((t * 5))); do
		out=$(gw_ctl "$gw" sessions) || { echo "FAIL: ftpgwctl failed: $out"; return 1; }
		if [ "$(printf '%s\n' "$out" | grep -vc '^#')" = 0 ]; then
			echo "ftpgwctl sessions ($gw): none left after $(awk -v i="$i" 'BEGIN { printf "%.1f", i / 5 }') s"
			return 0
		fi
		sleep 0.2
	done
	echo "FAIL: ftpgw ($gw) still has sessions $t s later:"
	printf '%s\n' "$out"
	return 1
}

# gw_rss PID: VmRSS of PID in kB.
gw_rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# ---------------------------------------------------------------- log helpers
# log_mark FILE... remembers their sizes; log_new FILE prints what was
# appended since.

declare -A LOG_MARK
log_mark() {
	local f
	for f; do LOG_MARK[$f]=$(stat -c %s "$f" 2>/dev/null || echo 0); done
}
log_new() { tail -c +$((${LOG_MARK[$1]:-0} + 1)) "$1" 2>/dev/null; }

# log_wants FILE ERE WHAT: FILE got a line matching ERE since log_mark.
log_wants() {
	local hit
	hit=$(log_new "$1" | grep -E -m1 -- "$2") ||
		{ echo "FAIL: no line for $3 in ${1##*/} (/$2/)"; return 1; }
	echo "${1##*/} ($3): ${hit:0:200}"
}

# log_lacks FILE ERE WHAT: FILE got no line matching ERE since log_mark.
log_lacks() {
	local hit
	if hit=$(log_new "$1" | grep -E -- "$2"); then
		echo "FAIL: ${1##*/} shows $3:"
		echo "$hit" | head -n 5
		return 1
	fi
	echo "${1##*/}: no $3"
}

# wait_log FILE ERE SECONDS: until FILE gets a line matching ERE (since
# log_mark), which is printed.
wait_log() {
	local i hit
	for i in $(seq $(($3 * 10))); do
		if hit=$(log_new "$1" | grep -E -m1 -- "$2"); then
			echo "${1##*/}: ${hit:0:200}"
			return 0
		fi
		sleep 0.1
	done
	echo "FAIL: no line /$2/ in ${1##*/} within $3 s"
	return 1
}

# wait_file FILE SECONDS: until FILE exists.
wait_file() {
	local i
	for i in $(seq $(($2 * 20))); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	echo "FAIL: $1 did not appear within $2 s"
	return 1
}

# no_sanitizer FILE: no sanitizer report in FILE since log_mark.
no_sanitizer() {
	if log_new "$1" | grep -m3 -E 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:'; then
		echo "FAIL: sanitizer report in ${1##*/}"
		return 1
	fi
}

# reaped FN ARGS: run FN, then end what it left running in the background
# (clients, a gateway it started), by PID; FN's status.
reaped() {
	local rc p
	"$@"
	rc=$?
	[ -n "$(jobs -pr)" ] || return "$rc"
	for p in $(jobs -pr); do
		kill -TERM "$p" 2>/dev/null
	done
	sleep 0.2
	for p in $(jobs -pr); do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	return "$rc"
}

# rules KIND add|del [VAR=VALUE...]: the shipped contrib script, run in gw.
rules() {
	local kind=$1 action=$2
	shift 2
	ip netns exec "$NS_GW" env "$@" sh "$SRCDIR/contrib/iptables/ftpgw-$kind.sh" "$action"
}

# rules_use KIND LISTEN-PORT CONTROL-PORTS: replace the lane's rules.
rules_use() {
	local cur
	if [ -f "$LANE_DIR/rules.cur" ]; then
		# shellcheck disable=SC2046
		rules $(cat "$LANE_DIR/rules.cur") || return 1
	fi
	rules "$1" add FTPGW_IFACE=eth0 FTPGW_LISTEN_PORT="$2" FTPGW_CONTROL_PORTS="$3" \
		FTPGW_PASSIVE_PORTS="$GW_PASV" || return 1
	cur="$1 del FTPGW_IFACE=eth0 FTPGW_LISTEN_PORT=$2 FTPGW_CONTROL_PORTS=$3 FTPGW_PASSIVE_PORTS=$GW_PASV"
	echo "$cur" >"$LANE_DIR/rules.cur"
	echo "rules: $1 listen $2 control $3"
}

lane_teardown() {
	local f pid
	for f in "$LANE_DIR"/vsftpd*.pid "$LANE_DIR/pyftpd.pid"; do
		pid=$(cat "$f" 2>/dev/null) || continue
		kill -TERM "$pid" 2>/dev/null
	done
	for f in "$NS_CLI" "$NS_GW" "$NS_SRV"; do
		for pid in $(ip netns pids "$f" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	wait 2>/dev/null
	for f in "$NS_CLI" "$NS_GW" "$NS_SRV"; do
		ip netns del "$f" 2>/dev/null
	done
}

# ---------------------------------------------------------------- scenarios

result() { printf '%s\n' "$*" >>"$LANE_DIR/results"; }

diag_file() { # FILE LINES
	tail -n "$2" "$1" 2>/dev/null | sed 's/^/# /' >>"$LANE_DIR/results"
}

# lane_begin NAME SETUP-FUNCTION: declare a lane; its setup runs lazily,
# before the first scenario that the pattern selects.
lane_begin() {
	LANE=$1
	LANE_SETUP_FN=$2
	LANE_DIR=$IT_DIR/lanes/$LANE
	NS_CLI=${IT_PREFIX}$LANE-cli
	NS_GW=${IT_PREFIX}$LANE-gw
	NS_SRV=${IT_PREFIX}$LANE-srv
	LANE_STATE=new          # new | up | broken
	LANE_HAS_GW=0
	LANE_SERVERS=plain      # plain | tls: which servers servers_up starts
	LANE_SETUP_REPORTED=0
	LANE_T0=$(date +%s)
	SC_N=0
	mkdir -p "$LANE_DIR"
	: >"$LANE_DIR/results"
}

lane_setup() {
	[ "$LANE_STATE" = new ] || return 0
	say "$LANE: setting up"
	if topo_up >"$LANE_DIR/setup.log" 2>&1 && servers_up >>"$LANE_DIR/setup.log" 2>&1 &&
		"$LANE_SETUP_FN" >>"$LANE_DIR/setup.log" 2>&1; then
		LANE_STATE=up
	else
		LANE_STATE=broken
	fi
}

# sc_diag TEXT: a line of the scenario's output that also becomes a TAP
# diagnostic after its result line (passed or not): measurements.
sc_diag() { echo "$*"; echo "$*" >>"$LANE_DIR/diag"; }

# scenario NAME FUNCTION ARGS...: one TAP line.  NAME is short (under ~70
# characters); what the scenario checks is said in a comment above it.
# FUNCTION's status: 0 ok, 77 skipped (its last output line says why, for
# "# SKIP"), anything else not ok.
scenario() {
	local name=$1 log t0 t1 rc gwlog0
	shift
	if [ -n "$IT_PATTERN" ] && ! printf '%s\n' "$name" | grep -qE -- "$IT_PATTERN"; then
		return 0
	fi
	lane_setup
	SC_N=$((SC_N + 1))
	rm -f "$LANE_DIR/diag"
	if [ $(($(date +%s) - LANE_T0)) -gt "$IT_LANE_BUDGET" ]; then
		result "not ok - $name"
		result "# not run: lane $LANE used up its time budget of $IT_LANE_BUDGET s (FTPGW_IT_LANE_BUDGET)"
		return 0
	fi
	SC_TAG=$LANE-$SC_N
	log=$LANE_DIR/sc$SC_N.log
	if [ "$LANE_STATE" != up ]; then
		result "not ok - $name"
		if [ "$LANE_SETUP_REPORTED" = 1 ]; then
			result "# lane $LANE setup failed (see above)"
		else
			LANE_SETUP_REPORTED=1
			result "# lane $LANE setup failed:"
			diag_file "$LANE_DIR/setup.log" 20
		fi
		return 0
	fi
	t0=$(date +%s.%N)
	gwlog0=$(stat -c %s "$LANE_DIR/ftpgw.log" 2>/dev/null || echo 0)
	("$@") >"$log" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	if [ "$rc" = 77 ]; then
		# The function cannot run here; its last output line says why.
		result "ok - $name # SKIP $(tail -n1 "$log")"
		say "$LANE: skip   $name: $(tail -n1 "$log")"
	elif [ "$rc" = 0 ]; then
		result "ok - $name"
		say "$LANE: ok     $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%6.1f", b - a }') s  $name"
	else
		result "not ok - $name"
		say "$LANE: FAILED $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%6.1f", b - a }') s  $name"
		[ "$rc" = 124 ] && result "# timed out"
		# The scenario's own error comes last: a CI log cut to its tail
		# still shows why.
		if [ "$LANE_HAS_GW" = 1 ]; then
			alive "$(cat "$LANE_DIR/ftpgw.pid")" || result "# ftpgw is no longer running"
			result "# ftpgw log during the scenario (last 20 lines):"
			tail -c +$((gwlog0 + 1)) "$LANE_DIR/ftpgw.log" 2>/dev/null | tail -n 20 |
				sed 's/^/# /' >>"$LANE_DIR/results"
		fi
		result "# error (last lines of $log; FTPGW_IT_KEEP=1 keeps it):"
		diag_file "$log" 15
	fi
	if [ -s "$LANE_DIR/diag" ]; then
		sed 's/^/# /' "$LANE_DIR/diag" >>"$LANE_DIR/results"
	fi
	rm -f "$LANE_DIR/diag"
}

lane_end() {
	# The main gateway: still alive, exits 0 on SIGTERM within 5 s, no
	# sanitizer report in its log (gw_stop_pid).
	if [ "$LANE_STATE" != new ] && [ "$LANE_HAS_GW" = 1 ] && [ -f "$LANE_DIR/ftpgw.pid" ]; then
		# Under FTPGW_IT_DATA_PATH, say how the main gateway carried the
		# lane's data channels: a lane that passes all on the relay
		# proves nothing about the kernel path.
		if [ -n "${FTPGW_IT_DATA_PATH:-}" ] && gw_stats main "$LANE_DIR/end-stats" 2>/dev/null; then
			result "# $LANE: data channels forwarded by the kernel: $(stat_of "$LANE_DIR/end-stats" data_channels_kernel), relayed instead: $(stat_of "$LANE_DIR/end-stats" data_channels_kernel_fallback), relayed as the client came before the mapping: $(stat_of "$LANE_DIR/end-stats" data_channels_kernel_raced)"
		fi
		gw_stop_result main "$LANE: ftpgw alive at the end, exits 0 on SIGTERM"
	fi
	[ "$LANE_STATE" != new ] && lane_teardown
	: >"$LANE_DIR/done"
	say "$LANE: done"
}
