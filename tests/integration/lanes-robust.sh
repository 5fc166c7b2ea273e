# lanes-robust.sh: robustness lanes of ftpgw's integration tests (sourced
# by run.sh, which runs lane_X for every X appended to EXTRA_LANES).
#
# Hostile clients, hostile servers, limits, timeouts and privileges:
#   robust         redirect mode (vsftpd 21, pyftpdlib 2121): strict = yes
#                  rules, FTP bounce, malformed PORT/EPRT, NUL / bare CR /
#                  bare LF in commands, slowloris, a 100 KB command line,
#                  deny-commands, random passive ports, a client killed
#                  during a RETR, 1,000 sessions in a row (fds, VmRSS), the
#                  "running as root" warning
#   robust-server  reverse mode toward fakeftpd.py (one port per
#                  misbehaviour: odd 227 replies, overlong replies, a
#                  server that closes or stalls, Telnet processing, 228
#                  replies); a second gateway with
#                  idle-timeout = 3
#
# robust-limits and robust-priv are in lanes-robust-limits.sh; both files
# use the helpers below.
#
# Every hostile scenario ends with a normal session (login, RETR 1 MiB,
# sha256) through the same gateway.  The extra gateways of a lane are
# stopped at its end like the main one: alive, exit 0 on SIGTERM, no
# sanitizer report in their logs (one TAP line each).
#
# Limits of the checks:
# - The VmRSS bound of the 1,000-session scenario is printed but not
#   enforced in a sanitizer build (ASan's quarantine keeps freed memory
#   resident by design: about 40 KB a session); the fd count still is.
# - "The server does not answer" is a DROP rule for its port in srv's
#   INPUT chain (its packet counter proves the SYNs were dropped), not a
#   real unreachable host: the lanes have no black-hole route.
# - Timing windows (idle 2.5..5 s, connect-timeout 1.5..4.5 s) leave
#   about 2 s of slack for a loaded machine.

EXTRA_LANES+=(robust robust-server)

ROB_FAKE_MODES=(normal pasv-foreign pasv-noparen pasv-multiline pasv-bad longline
	manylines closemid stall nogreeting closehelp telnet lpsv228 pasv-loopback)   # fakeftpd ports 2200, 2201, ...

# ---------------------------------------------------------------- helpers

ROB_GWS=()

# rob_gw_start NAME PORT...: extra_gw_start, stopped by rob_lane_end.
rob_gw_start() {
	ROB_GWS+=("$1")
	extra_gw_start "$@"
}

# rob_lane_end: stop the lane's extra gateways (a TAP line each), then lane_end.
rob_lane_end() {
	local name
	if [ "$LANE_STATE" = up ]; then
		for name in "${ROB_GWS[@]}"; do
			gw_stop_result "$name" "$LANE: extra ftpgw \"$name\" exits 0 on SIGTERM"
		done
	fi
	lane_end
}

# rob_fail_tail GW: for a failing scenario on an extra gateway (the
# harness shows only the main one's log): its lines since log_mark.
rob_fail_tail() {
	local f
	[ "${1:-main}" = main ] && return 1
	f=$(gw_logf "$1")
	echo "ftpgw ($1) log since the scenario began (last 8 lines):"
	log_new "$f" | tail -n 8
	return 1
}

# rob_normal GW HOST PORT: gateway GW is alive and serves a normal session
# (login, RETR 1 MiB sha256) at HOST:PORT.
rob_normal() {
	alive "$(gw_pid "$1")" || { echo "FAIL: ftpgw ($1) died"; return 1; }
	echo "== a normal session through ftpgw ($1) at $2:$3"
	cli_py --host "$2" --port "$3" many --count 1
}

# sc_rob_then_normal GW HOST PORT FN ARGS: FN ARGS, then rob_normal GW HOST PORT.
sc_rob_then_normal() {
	local gw=$1 host=$2 port=$3
	shift 3
	"$@" || return 1
	rob_normal "$gw" "$host" "$port"
}

# rob_srv_cmds ERE: the commands vsftpd logged since log_mark that
# match ERE (vsftpd logs: FTP command: Client "...", "VERB ARG").
rob_srv_cmds() { log_new "$LANE_DIR/vsftpd.log" | grep 'FTP command:' | grep -E -- "$1"; }

# sc_rob_blocked GW HOST PORT NORMAL-PORT VERBS SEEN GWLOG-ERE... -- ROB-SEQ-ARGS:
# a rob-seq session whose refused commands (VERBS, an ERE of verbs) must
# never reach vsftpd, while its closing NOOP (FEAT before a login) and the
# verbs in SEEN (space separated) do; the gateway must have logged a line
# for each GWLOG-ERE; then a normal session at NORMAL-PORT.
sc_rob_blocked() {
	local gw=$1 host=$2 port=$3 nport=$4 verbs=$5 seen=$6 gwlog ere v
	shift 6
	local eres=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do eres+=("$1"); shift; done
	shift
	gwlog=$(gw_logf "$gw")
	log_mark "$LANE_DIR/vsftpd.log" "$gwlog"
	cli_py --host "$host" --port "$port" rob-seq "$@" || return 1
	for ere in "${eres[@]}"; do
		log_wants "$gwlog" "$ere" "the refusal" || return 1
	done
	rob_srv_cmds '"(NOOP|FEAT)"$' >/dev/null ||
		{ echo "FAIL: vsftpd's log does not show the session's closing NOOP/FEAT (the next check would prove nothing)"; return 1; }
	for v in $seen; do
		rob_srv_cmds "\"$v( [^\"]*)?\"\$" >/dev/null || { echo "FAIL: vsftpd never got $v"; return 1; }
	done
	if rob_srv_cmds "\"($verbs)( [^\"]*)?\"\$"; then
		echo "FAIL: vsftpd got a command the gateway refused (above)"
		return 1
	fi
	echo "vsftpd got the session's closing NOOP/FEAT${seen:+ and $seen}, none of $verbs"
	rob_normal "$gw" "$host" "$nport"
}

# sc_rob_forwarded GW HOST PORT VERBS -- ROB-SEQ-ARGS: strict = no: each of
# VERBS (space separated) reached vsftpd, the gateway logged no "strict:".
sc_rob_forwarded() {
	local gw=$1 host=$2 port=$3 verbs=$4 v gwlog
	shift 5
	gwlog=$(gw_logf "$gw")
	log_mark "$LANE_DIR/vsftpd.log" "$gwlog"
	cli_py --host "$host" --port "$port" rob-seq "$@" || return 1
	for v in $verbs; do
		rob_srv_cmds "\"$v( [^\"]*)?\"\$" >/dev/null ||
			{ echo "FAIL: vsftpd never got $v"; return 1; }
	done
	echo "vsftpd got $verbs"
	log_lacks "$gwlog" 'strict:' '"strict:" line' || return 1
	rob_normal "$gw" "$host" "$port"
}

# The three strict rules as rob-seq steps, and what vsftpd answers itself.
ROB_LOGIN_530='^530 Please login with USER and PASS\.$'
ROB_BEFORE_LOGIN=('CWD /' LIST PASV 'RETR file-1MiB' 'STOR x' 'SIZE file-1MiB' 'PORT 198,51,100,2,200,1' 'MKD robust-x')
ROB_XFER=('RETR file-1MiB' 'STOR uploads/robust-x' 'APPE uploads/robust-x' STOU LIST NLST MLSD)
# rob_steps WANT-ERE CMD...: ROB_STEPS=(--step "CMD => WANT-ERE" ...)
rob_steps() {
	local want=$1 c
	shift
	ROB_STEPS=()
	for c; do ROB_STEPS+=(--step "$c => $want"); done
}

# ---------------------------------------------------------------- lane robust
# Redirect mode, strict = yes (the default), deny-commands with DELE and
# XRMD (an RFC 775 alias: RMD is denied with it).

setup_robust() {
	LANE_HAS_GW=1
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
control-socket = "$LANE_DIR/ctl.sock"
deny-commands = {"SITE EXEC", "DELE", "XRMD"}
listen "main" { address = "::"  port = 8021  mode = "redirect"  passive-address = "original" }
port-mapping "alt" { application = "ftp"  ports = {2121} }
EOF
	rules_use redirect 8021 21,2121 || return 1
	gw_start "$LANE_DIR/ftpgw.conf" 8021
}

# sc_rob_killretr: the client dies (SIGKILL) 4 MiB into a 64 MiB RETR.
sc_rob_killretr() {
	local rc
	log_mark "$LANE_DIR/vsftpd.log" "$LANE_DIR/ftpgw.log"
	cli_py --host "$SRV4" --port 21 rob-killretr --after $((4 << 20))
	rc=$?
	[ "$rc" = 137 ] || { echo "FAIL: the client exited with $rc, expected 137 (SIGKILL)"; return 1; }
	gw_no_sessions main 5 || return 1
	for i in $(seq 25); do
		log_new "$LANE_DIR/vsftpd.log" | grep -q 'FAIL DOWNLOAD' && break
		sleep 0.2
	done
	log_wants "$LANE_DIR/vsftpd.log" 'FAIL DOWNLOAD' "the aborted download" || return 1
	log_lacks "$LANE_DIR/vsftpd.log" 'OK DOWNLOAD' "OK DOWNLOAD" || return 1
	rob_normal main "$SRV4" 21
}

# sc_rob_churn: 1,000 sessions; the fds come back, VmRSS grows < 2 MiB.
sc_rob_churn() {
	local pid fd0 fd1 rss0 rss1 i san=0
	pid=$(cat "$LANE_DIR/ftpgw.pid")
	grep -qa __asan_init "$FTPGW" && san=1
	cli_py --host "$SRV4" --port 2121 rob-sessions --count 50 --parallel 4 || return 1
	gw_no_sessions main 5 || return 1
	fd0=$(ls "/proc/$pid/fd" | wc -l)
	rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
	cli_py --host "$SRV4" --port 2121 rob-sessions --count 1000 --parallel 4 || return 1
	gw_no_sessions main 5 || return 1
	for i in $(seq 25); do
		fd1=$(ls "/proc/$pid/fd" | wc -l)
		[ "$fd1" -le "$fd0" ] && break
		sleep 0.2
	done
	rss1=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
	sc_diag "open fds: $fd0 before, $fd1 after; VmRSS: $rss0 kB before, $rss1 kB after ($((rss1 - rss0)) kB)$([ $san = 1 ] && echo "; sanitizer build: VmRSS not enforced")"
	[ "$fd1" -le "$fd0" ] || { echo "FAIL: $((fd1 - fd0)) descriptors more than before"; ls -l "/proc/$pid/fd"; return 1; }
	if [ $san = 0 ] && [ $((rss1 - rss0)) -ge 2048 ]; then
		echo "FAIL: VmRSS grew by $((rss1 - rss0)) kB"
		return 1
	fi
	rob_normal main "$SRV4" 21
}

# sc_rob_rootwarn: this gateway runs as root without "user": it said so.
sc_rob_rootwarn() {
	local pid uid
	pid=$(cat "$LANE_DIR/ftpgw.pid")
	uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
	[ "$uid" = 0 ] || { echo "FAIL: the gateway runs as uid $uid, not root"; return 1; }
	! grep -qE '^[[:space:]]*user[[:space:]]*=' "$LANE_DIR/ftpgw.conf" ||
		{ echo "FAIL: the configuration sets user"; return 1; }
	grep -m1 'running as root' "$LANE_DIR/ftpgw.log" ||
		{ echo "FAIL: no 'running as root' warning in the log"; return 1; }
	echo "uid $uid"
}

# sc_rob_hostile_input: NUL, bare CR and bare LF inside command lines.
sc_rob_hostile_input() {
	log_mark "$LANE_DIR/vsftpd.log" "$LANE_DIR/ftpgw.log"
	cli_py --host "$SRV4" --port 21 rob-seq --login \
		--step 'USER a\x00b => ^500 ' \
		--step 'NOOP\x00MKD robust-nul => ^500 ' \
		--step 'RETR x\rMKD robust-cr => ^500 ' \
		--step 'NOOP\rDELE file-1B => ^500 ' \
		--step 'SIZE file-1MiB\r\rMKD robust-crcr => ^500 ' \
		--step 'NOOP\nNOOP => ^200 ;; ^200 ' \
		--step 'NOOP\nDELE file-1B => ^200 ;; ^502 Command not allowed by the gateway\.$' || return 1
	if rob_srv_cmds '"(MKD|DELE|USER a)|robust-'; then
		echo "FAIL: vsftpd got a smuggled command (above)"
		return 1
	fi
	[ -e "$IT_HOME/robust-nul" ] || [ -e "$IT_HOME/robust-cr" ] || [ -e "$IT_HOME/robust-crcr" ] &&
		{ echo "FAIL: a smuggled MKD created a directory"; return 1; }
	[ -f "$IT_HOME/file-1B" ] || { echo "FAIL: file-1B was deleted"; return 1; }
	echo "vsftpd: $(rob_srv_cmds '"NOOP"$' | wc -l) NOOP, no MKD, no DELE"
	rob_normal main "$SRV4" 21
}

# sc_rob_malformed_active: malformed PORT/EPRT arguments -> 501 (522 for
# the other family); vsftpd gets only the gateway's own PORT of the RETR.
sc_rob_malformed_active() {
	local n
	log_mark "$LANE_DIR/vsftpd.log"
	cli_py --host "$SRV4" --port 21 --mode port rob-seq --login --retr \
		--step 'PORT 1,2,3 => ^501 Bad PORT argument\.$' \
		--step 'PORT 999,1,1,1,1,1 => ^501 Bad PORT argument\.$' \
		--step 'PORT a,b,c,d,e,f => ^501 Bad PORT argument\.$' \
		--step 'PORT 198,51,100,2,200,1,7 => ^501 Bad PORT argument\.$' \
		--step 'PORT 198,51,100,2,256,1 => ^501 Bad PORT argument\.$' \
		--step 'PORT => ^501 ' \
		--step 'EPRT |1|x| => ^501 Bad EPRT argument\.$' \
		--step 'EPRT 1|203.0.113.2|5000| => ^501 Bad EPRT argument\.$' \
		--step 'EPRT 919198.51.100.29500009 => ^501 Bad EPRT argument\.$' \
		--step 'EPRT |3|198.51.100.2|50000| => ^501 Bad EPRT argument\.$' \
		--step 'EPRT |1|198.51.100.2|99999| => ^501 Bad EPRT argument\.$' \
		--step 'EPRT |1|198.51.100.2|50000 => ^501 Bad EPRT argument\.$' \
		--step 'EPRT |1|198.51.100.2\x00|50000| => ^500 ' \
		--step 'EPRT |2|2001:db8:1::2|50000| => ^522 ' || return 1
	n=$(rob_srv_cmds '"(PORT|EPRT) ' | wc -l)
	rob_srv_cmds '"(PORT|EPRT) '
	[ "$n" = 1 ] || { echo "FAIL: vsftpd got $n PORT/EPRT commands, expected 1 (the RETR's)"; return 1; }
	rob_normal main "$SRV4" 21
}

# sc_rob_bounce HOST VERB-LOG-ERE STEP: FTP bounce refused with 501.
sc_rob_bounce() {
	local host=$1 ere=$2 step=$3
	log_mark "$LANE_DIR/vsftpd.log" "$LANE_DIR/ftpgw.log"
	cli_py --host "$host" --port 21 --mode "$( [ "${host#*:}" = "$host" ] && echo pasv || echo epsv)" \
		rob-seq --login --retr --step "$step" || return 1
	log_wants "$LANE_DIR/ftpgw.log" "$ere" "the bounce" || return 1
	if rob_srv_cmds '"(PORT|EPRT) '; then
		echo "FAIL: vsftpd got a PORT/EPRT (above)"
		return 1
	fi
	rob_normal main "$SRV4" 21
}

# sc_rob_deny: deny-commands {"SITE EXEC", "DELE"}.
sc_rob_deny() {
	log_mark "$LANE_DIR/vsftpd.log" "$LANE_DIR/ftpgw.log"
	cli_py --host "$SRV4" --port 21 rob-seq --login \
		--step 'SITE EXEC /bin/true => ^502 Command not allowed by the gateway\.$' \
		--step 'site  exec  /bin/true => ^502 Command not allowed by the gateway\.$' \
		--step 'DELE file-1B => ^502 Command not allowed by the gateway\.$' \
		--step 'dele file-1B => ^502 Command not allowed by the gateway\.$' \
		--step 'SITE HELP => ^214 ' || return 1
	log_wants "$LANE_DIR/ftpgw.log" 'denied by deny-commands: SITE EXEC' "SITE EXEC" || return 1
	log_wants "$LANE_DIR/ftpgw.log" 'denied by deny-commands: DELE' "DELE" || return 1
	rob_srv_cmds '"SITE HELP"$' >/dev/null || { echo "FAIL: vsftpd did not get SITE HELP"; return 1; }
	if rob_srv_cmds '"(DELE|dele|SITE +EXEC|site +exec)'; then
		echo "FAIL: vsftpd got a denied command (above)"
		return 1
	fi
	[ -f "$IT_HOME/file-1B" ] || { echo "FAIL: file-1B was deleted"; return 1; }
	echo "vsftpd got SITE HELP, no DELE, no SITE EXEC"
	rob_normal main "$SRV4" 21
}

lane_robust() {
	local x
	ROB_GWS=()
	lane_begin robust setup_robust
	# 1. strict = yes
	rob_steps '^425 Use PORT, PASV, EPRT or EPSV first\.$' "${ROB_XFER[@]}"
	ROB_STEPS2=("${ROB_STEPS[@]}")
	rob_steps "$ROB_LOGIN_530" "${ROB_BEFORE_LOGIN[@]}"
	x="vsftpd never gets it (its log shows the session's closing NOOP/FEAT), then a normal session"
	# robust strict: PASS before USER -> 503 'Login with USER first.' from
	# the gateway, log 'strict:', $x
	scenario "robust strict: PASS before USER -> 503 from the gateway" \
		sc_rob_blocked main $SRV4 21 21 PASS '' 'strict: PASS before USER refused' -- \
		--step 'PASS ftpgwtest => ^503 Login with USER first\.$'
	# robust strict: before login CWD LIST PASV RETR STOR SIZE PORT MKD ->
	# 530 each from the gateway (log 'strict:'), SYST HELP OPTS go to
	# vsftpd (its log), which answers; $x
	scenario "robust strict: transfer commands before login -> 530" \
		sc_rob_blocked main $SRV4 21 21 'CWD|LIST|PASV|RETR|STOR|SIZE|PORT|MKD' 'SYST HELP OPTS' \
		'strict: CWD before login refused' 'strict: PASV before login refused' 'strict: PORT before login refused' -- \
		"${ROB_STEPS[@]}" \
		--step 'SYST => ^[25][0-9][0-9] ' --step 'HELP => ^[25][0-9][0-9] ' \
		--step 'OPTS UTF8 ON => ^[25][0-9][0-9] '
	# robust strict: before login only USER PASS ACCT AUTH PBSZ PROT FEAT
	# SYST HELP NOOP QUIT OPTS CLNT HOST go: an unknown verb (XYZZ), REIN,
	# LANG, SITE HELP, XCWD -> 530 each from the gateway (log 'strict:'),
	# CLNT goes to vsftpd (its log); $x
	scenario "robust strict: unknown verbs, REIN, LANG before login -> 530" \
		sc_rob_blocked main $SRV4 21 21 'XYZZ|REIN|LANG|SITE|XCWD' 'CLNT' \
		'strict: XYZZ before login refused' 'strict: REIN before login refused' 'strict: LANG before login refused' -- \
		--step "XYZZ => $ROB_LOGIN_530" --step "REIN => $ROB_LOGIN_530" \
		--step "LANG en => $ROB_LOGIN_530" --step "SITE HELP => $ROB_LOGIN_530" \
		--step "XCWD / => $ROB_LOGIN_530" --step 'CLNT robust => ^[25][0-9][0-9] '
	# robust strict: logged in, RETR STOR APPE STOU LIST NLST MLSD without
	# PASV/PORT -> 425 'Use PORT, PASV, EPRT or EPSV first.' each (log
	# 'strict:'), $x
	scenario "robust strict: transfers without PASV/PORT -> 425" \
		sc_rob_blocked main $SRV4 21 21 'RETR|STOR|APPE|STOU|LIST|NLST|MLSD' '' \
		'strict: RETR without PORT/PASV refused' 'strict: MLSD without PORT/PASV refused' -- --login \
		"${ROB_STEPS2[@]}"
	# 2. FTP bounce
	# robust bounce: PORT to a third host ($SRV4:50000) -> 501 'PORT
	# refused', log, vsftpd gets no PORT; PASV RETR 1MiB on the session,
	# then a normal session
	scenario "robust bounce: PORT to a third host -> 501" \
		sc_rob_bounce $SRV4 'PORT to 203\.0\.113\.2:50000 refused' 'PORT 203,0,113,2,195,80 => ^501 PORT refused: '
	# robust bounce: PORT to the client's own address, port 21 -> 501
	# 'PORT refused', log, vsftpd gets no PORT; then sessions work
	scenario "robust bounce: PORT to the client's port 21 -> 501" \
		sc_rob_bounce $SRV4 'PORT to 198\.51\.100\.2:21 refused' 'PORT 198,51,100,2,0,21 => ^501 PORT refused: '
	# robust bounce: EPRT to a third host (v4 $SRV4) -> 501 'EPRT
	# refused', log, vsftpd gets no EPRT; then sessions work
	scenario "robust bounce: EPRT to a third host (v4) -> 501" \
		sc_rob_bounce $SRV4 'EPRT to 203\.0\.113\.2:50000 refused' 'EPRT |1|203.0.113.2|50000| => ^501 EPRT refused: '
	# robust bounce: EPRT to a third host (v6 $SRV6) -> 501 'EPRT
	# refused', log, vsftpd gets no EPRT; then sessions work
	scenario "robust bounce: EPRT to a third host (v6) -> 501" \
		sc_rob_bounce $SRV6 'EPRT to \[2001:db8:2::2\]:50000 refused' 'EPRT |2|2001:db8:2::2|50000| => ^501 EPRT refused: '
	# 6. hostile input
	# robust hostile: malformed PORT (1,2,3 / 999,... / a,b,... / 7
	# numbers / 256 / empty) and EPRT (|1|x| / delimiter 1 / digit
	# delimiters / family 3 / port 99999 / no final delimiter) -> 501
	# each, EPRT of the other family -> 522; vsftpd gets none; then PORT
	# RETR 1MiB sha256
	scenario "robust hostile: malformed PORT and EPRT -> 501" \
		sc_rob_malformed_active
	# robust hostile: NUL and bare CR inside command lines -> 500, nothing
	# smuggled to vsftpd (no MKD/DELE), bare LF ends a line (NOOP\nNOOP ->
	# 200 200, NOOP\nDELE -> 200 502); then a normal session
	scenario "robust hostile: NUL, bare CR, bare LF in command lines" \
		sc_rob_hostile_input
	# robust hostile: slowloris (logged in, one byte a second for 10 s, no
	# line end) beside a normal session's RETR 64MiB + STOR 1MiB sha256,
	# which finish first; then its line gets 200; then a normal session
	scenario "robust hostile: slowloris beside a normal session" \
		sc_rob_then_normal main $SRV4 21 cli_py --host $SRV4 --port 21 rob-slowloris
	# 4. limits
	# robust limits: 100 KB command line -> 500 'Command line too long.',
	# then NOOP 200 and RETR 1MiB sha256 on the session; then a normal
	# session
	scenario "robust limits: 100 KB command line -> 500" \
		sc_rob_then_normal main $SRV4 21 cli_py --host $SRV4 --port 21 longline --length 102400
	# robust limits: deny-commands {SITE EXEC, DELE} -> 502 (any case, any
	# spacing), SITE HELP passes, vsftpd never gets them, log; then a
	# normal session
	scenario "robust limits: deny-commands {SITE EXEC, DELE} -> 502" \
		sc_rob_deny
	# robust deny: deny-commands has XRMD -> XRMD and RMD (its command)
	# 502 each; LPRT and LPSV (RFC 1639, not translated) -> 502 from the
	# gateway, log; vsftpd never gets them (its log); then a normal session
	scenario "robust deny: RMD/XRMD aliases, LPRT, LPSV -> 502" \
		sc_rob_blocked main $SRV4 21 21 'RMD|XRMD|LPRT|LPSV' '' \
		'denied by deny-commands: RMD' 'denied by deny-commands: XRMD' 'LPSV refused: RFC 1639' -- --login \
		--step 'RMD robust-x => ^502 Command not allowed by the gateway\.$' \
		--step 'XRMD robust-x => ^502 Command not allowed by the gateway\.$' \
		--step 'LPSV => ^502 LPSV is not available through this gateway: use EPRT or EPSV\.$' \
		--step 'LPRT 4,4,198,51,100,2,2,195,80 => ^502 LPRT is not available through this gateway'
	# 3. passive ports
	# robust passive ports: 30 PASVs on one session -> ports within
	# $GW_PASV, not increasing, not consecutive; then RETR 1MiB sha256
	scenario "robust passive ports: 30 PASVs, random ports in the range" \
		cli_py --host $SRV4 --port 21 rob-pasvports --count 30 --lo ${GW_PASV%-*} --hi ${GW_PASV#*-}
	# 5. faults
	# robust faults: the client is SIGKILLed 4 MiB into a 64 MiB RETR ->
	# within 5 s ftpgwctl lists no session, vsftpd logs FAIL DOWNLOAD;
	# then a normal session
	scenario "robust faults: the client SIGKILLed during a 64 MiB RETR" \
		sc_rob_killretr
	# robust faults: 1000 sessions (login, NOOP, QUIT; pyftpdlib, 4 at a
	# time) -> open fds back to where they were, VmRSS grew < 2 MiB; then
	# a normal session
	scenario "robust faults: 1000 sessions: fds back, VmRSS < +2 MiB" \
		sc_rob_churn
	# 7. privileges
	# robust privileges: a gateway started as root without 'user' runs as
	# uid 0 and logged 'running as root'
	scenario "robust privileges: root without 'user' warns 'running as root'" \
		sc_rob_rootwarn
	rob_lane_end
}

# ---------------------------------------------------------------- lane robust-server
# fakeftpd.py in srv on 2200+i (mode i of ROB_FAKE_MODES), the gateway's
# reverse listeners 9200+i toward them, and 9221 toward vsftpd.  A second
# gateway ("idle", idle-timeout = 3, connect-timeout = 2): 9301 -> vsftpd,
# 9309 -> nogreeting.

setup_robust_server() {
	local i listens="" fports="" spec=() pid
	LANE_HAS_GW=1
	for i in "${!ROB_FAKE_MODES[@]}"; do
		spec+=(--listen "$((2200 + i)):${ROB_FAKE_MODES[$i]}")
		listens+="listen \"f$i\" { address = \"::\"  port = $((9200 + i))  mode = \"reverse\"  upstream = \"$SRV4:$((2200 + i))\" }"$'\n'
		fports+="${fports:+, }$((2200 + i))"
	done
	ip netns exec "$NS_SRV" "$PY" "$IT_SRC/fakeftpd.py" --home "$IT_HOME" \
		--log "$LANE_DIR/fakeftpd.log" "${spec[@]}" >"$LANE_DIR/fakeftpd.out" 2>&1 &
	pid=$!
	register_pid "$pid"
	echo "$pid" >"$LANE_DIR/fakeftpd.pid"
	wait_listen "$NS_SRV" $((2200 + ${#ROB_FAKE_MODES[@]} - 1)) 10 ||
		{ echo "fakeftpd does not listen:"; cat "$LANE_DIR/fakeftpd.out"; return 1; }
	write_conf <<EOF
passive-ports = "50000-50499"
shutdown-timeout = 3
control-socket = "$LANE_DIR/ctl.sock"
deny-commands = {"SITE EXEC", "SITE CHMOD"}
listen "vsftpd" { address = "::"  port = 9221  mode = "reverse"  upstream = "$SRV4:21" }
$listens
port-mapping "fake" { application = "ftp"  ports = {$fports} }
listen "follow" { address = "::"  port = 9260  mode = "reverse"  upstream = "$SRV4:$(rob_fport pasv-foreign)"  follow-pasv-address = true }
listen "follow-lo" { address = "::"  port = 9261  mode = "reverse"  upstream = "$SRV4:$(rob_fport pasv-loopback)"  follow-pasv-address = true }
EOF
	gw_start "$LANE_DIR/ftpgw.conf" 9221 9200 $((9200 + ${#ROB_FAKE_MODES[@]} - 1)) 9260 9261 || return 1
	rob_gw_start idle 9301 9309 <<EOF
passive-ports = "50500-50999"
shutdown-timeout = 3
idle-timeout = 3
connect-timeout = 2
control-socket = "$LANE_DIR/ctl-idle.sock"
listen "vsftpd" { address = "::"  port = 9301  mode = "reverse"  upstream = "$SRV4:21" }
listen "nogreeting" { address = "::"  port = 9309  mode = "reverse"  upstream = "$SRV4:2209" }
port-mapping "fake" { application = "ftp"  ports = {2209} }
EOF
}

# rob_fport MODE: the fakeftpd port of MODE (the gateway's is 7000 more).
rob_fport() {
	local i
	for i in "${!ROB_FAKE_MODES[@]}"; do
		[ "${ROB_FAKE_MODES[$i]}" = "$1" ] && { echo $((2200 + i)); return 0; }
	done
	return 1
}

# sc_rob_pasv227 MODE DIRECT-WANT [GWLOG-ERE]: straight from gw, fakeftpd's
# PASV reply matches DIRECT-WANT (the oddity is real); through the gateway
# PASV RETR+STOR 1MiB sha256 work and the gateway logged GWLOG-ERE.
sc_rob_pasv227() {
	local port
	port=$(rob_fport "$1")
	log_mark "$LANE_DIR/ftpgw.log" "$LANE_DIR/fakeftpd.log"
	echo "== straight to fakeftpd $1 ($SRV4:$port)"
	gw_py --host "$SRV4" --port "$port" rob-seq --login --step "PASV => $2" || return 1
	echo "== through the gateway ($GWC4:$((port + 7000)))"
	sc_xfer pasv "$GWC4" $((port + 7000)) 1MiB --expect-pasv-host "$GWC4" || return 1
	if [ -n "${3:-}" ]; then
		log_wants "$LANE_DIR/ftpgw.log" "$3" "the foreign 227" || return 1
	fi
	log_wants "$LANE_DIR/fakeftpd.log" "^[0-9:.]+ $port/$1 #[0-9]+ data connection from 203\.0\.113\.1:" \
		"the gateway's data connection to fakeftpd's own address" || return 1
	rob_normal main "$GWC4" 9221
}

# sc_rob_follow_loopback: a 227 naming 127.0.0.1 through a listener with
# follow-pasv-address = true: the gateway refuses to follow it (the client's
# PASV gets 425, the log says why) and opens no data connection to its own
# loopback; the session goes on (NOOP 200).
sc_rob_follow_loopback() {
	log_mark "$LANE_DIR/ftpgw.log"
	in_ns "$NS_CLI" "$PY" - "$GWC4" 9261 "$IT_USER" "$IT_PASS" <<'PY' || return 1
import ftplib, sys
host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
f = ftplib.FTP(timeout=8)
f.connect(host, port)
f.login(user, pw)
try:
    r = f.sendcmd("PASV")
    sys.exit("FAIL: PASV -> %r: the gateway followed a 227 naming loopback" % r)
except ftplib.error_temp as e:
    print("PASV ->", e)
    if not str(e).startswith("425"):
        sys.exit("FAIL: expected 425")
print("NOOP ->", f.sendcmd("NOOP"))
f.quit()
PY
	log_wants "$LANE_DIR/ftpgw.log" '227 names 127\.0\.0\.1(:[0-9]+)?, a loopback or unspecified address: refused \(follow-pasv-address\)' \
		"the refused 227" || return 1
	rob_normal main "$GWC4" 9221
}

# sc_rob_follow: the same foreign 227 through a listener with
# follow-pasv-address = true: the gateway now connects to the host the 227
# names (203.0.113.99, which does not exist, so the transfer fails), and
# fakeftpd sees no data connection from the gateway.
sc_rob_follow() {
	local port
	port=$(rob_fport pasv-foreign)
	log_mark "$LANE_DIR/ftpgw.log" "$LANE_DIR/fakeftpd.log"
	in_ns "$NS_CLI" "$PY" - "$GWC4" 9260 "$IT_USER" "$IT_PASS" <<'PY'
import ftplib, sys
host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
f = ftplib.FTP(timeout=8)
f.connect(host, port)
f.login(user, pw)
try:
    f.retrbinary("RETR file-1MiB", lambda b: None)
except Exception as e:
    print("the transfer failed, as it must:", repr(e))
    sys.exit(0)
sys.exit("FAIL: the transfer worked: the gateway did not follow the 227")
PY
	[ $? = 0 ] || return 1
	log_wants "$LANE_DIR/ftpgw.log" '227 names 203\.0\.113\.99(:[0-9]+)?; following it \(follow-pasv-address\)' \
		"the followed 227" || return 1
	log_lacks "$LANE_DIR/fakeftpd.log" "^[0-9:.]+ $port/pasv-foreign #[0-9]+ data connection from" \
		"a data connection from the gateway to fakeftpd's own address" || return 1
	rob_normal main "$GWC4" 9221
}

# sc_rob_badreply MODE WANT GWLOG-ERE: HELP through the gateway to fakeftpd
# MODE -> WANT and the gateway closes; GWLOG-ERE logged; fakeftpd's log
# shows it sent the bad reply (FAKELOG-ERE); then a normal session.
sc_rob_badreply() {
	local port
	port=$(rob_fport "$1")
	log_mark "$LANE_DIR/ftpgw.log" "$LANE_DIR/fakeftpd.log"
	cli_py --host "$GWC4" --port $((port + 7000)) rob-seq --login --closed --step "HELP => $2" || return 1
	log_wants "$LANE_DIR/fakeftpd.log" "$port/$1 #[0-9]+ $4" "what fakeftpd did" || return 1
	log_wants "$LANE_DIR/ftpgw.log" "$3" "the bad reply" || return 1
	gw_no_sessions main 5 || return 1
	rob_normal main "$GWC4" 9221
}

# sc_rob_closemid: fakeftpd closes data and control 8 MiB into a 64 MiB RETR.
sc_rob_closemid() {
	local port
	port=$(rob_fport closemid)
	log_mark "$LANE_DIR/ftpgw.log" "$LANE_DIR/fakeftpd.log"
	cli_py --host "$GWC4" --port $((port + 7000)) rob-retrfail --max 15 || return 1
	log_wants "$LANE_DIR/fakeftpd.log" "$port/closemid #[0-9]+ closemid: closing" "the server's close" || return 1
	gw_no_sessions main 5 || return 1
	rob_normal main "$GWC4" 9221
}

# sc_rob_stall: fakeftpd's data connection sends nothing; the client gives
# up after 3 s and leaves; the gateway must drop the session and close the
# server's data connection.
sc_rob_stall() {
	local port i
	port=$(rob_fport stall)
	log_mark "$LANE_DIR/ftpgw.log" "$LANE_DIR/fakeftpd.log"
	cli_py --host "$GWC4" --port $((port + 7000)) rob-stall --stall-timeout 3 || return 1
	gw_no_sessions main 5 || return 1
	for i in $(seq 25); do
		log_new "$LANE_DIR/fakeftpd.log" | grep -q 'stall: the data connection was' && break
		sleep 0.2
	done
	log_wants "$LANE_DIR/fakeftpd.log" "$port/stall #[0-9]+ stall: the data connection was (closed|reset)" \
		"the gateway closing the server's data connection" || return 1
	rob_normal main "$GWC4" 9221
}

# sc_rob_idle ERE FN ARGS: run FN against the "idle" gateway, then its log
# must have a line matching ERE ("": not checked), and it serves a normal
# session.
sc_rob_idle() {
	local ere=$1
	shift
	log_mark "$LANE_DIR/gw-idle.log"
	"$@" || rob_fail_tail idle || return 1
	if [ -n "$ere" ]; then
		log_wants "$LANE_DIR/gw-idle.log" "$ere" "the timeout" || return 1
	fi
	log_lacks "$LANE_DIR/gw-idle.log" "connect to the server timed out|out of service" \
		"the server taken for unreachable" || return 1
	rob_normal idle "$GWC4" 9301
}

lane_robust_server() {
	local x
	ROB_GWS=()
	lane_begin robust-server setup_robust_server
	x="then a normal session (vsftpd)"
	# robust server: 227 naming a third host (203.0.113.99) while fakeftpd
	# listens on its own address -> the gateway connects to the control
	# peer, logs it, PASV RETR+STOR 1MiB sha256; $x
	scenario "robust server: 227 naming a third host -> the control peer" \
		sc_rob_pasv227 pasv-foreign '^227 .*\(203,0,113,99,' '227 names 203\.0\.113\.99(:[0-9]+)?; connecting to the control peer instead'
	# robust server: the same 227 through a listener with
	# follow-pasv-address = true -> the gateway follows it (log), connects
	# to 203.0.113.99 (absent: the transfer fails), fakeftpd gets no data
	# connection
	scenario "robust server: follow-pasv-address = true follows the 227" \
		sc_rob_follow
	# robust server: a 227 naming 127.0.0.1 through a listener with
	# follow-pasv-address = true -> refused: the client's PASV gets 425,
	# the log says why, NOOP 200 after; $x
	scenario "robust server: a followed 227 may not name loopback" \
		sc_rob_follow_loopback
	# robust server: 227 without parentheses -> understood, PASV RETR+STOR
	# 1MiB sha256; $x
	scenario "robust server: 227 without parentheses" \
		sc_rob_pasv227 pasv-noparen '^227 Entering Passive Mode 203,0,113,2,[0-9]+,[0-9]+$'
	# robust server: multi-line 227 (the address on its last line, after
	# '227 ') -> understood, PASV RETR+STOR 1MiB sha256; $x
	scenario "robust server: multi-line 227" \
		sc_rob_pasv227 pasv-multiline '^227-'
	# robust server: malformed 227 (five numbers) -> 425 'bad reply from
	# the server' to the client, log; EPSV RETR 1MiB on the same session;
	# $x
	scenario "robust server: malformed 227 -> 425" \
		sc_rob_idle_main_badpasv
	# robust deny: deny-commands has SITE CHMOD; fakeftpd telnet (Telnet
	# processing as proftpd) reads 'SITE CH<IAC><WILL>XMOD' as SITE CHMOD
	# (200, straight); through the gateway SITE CHMOD and that line -> 502,
	# 'SITE CH<IAC><IAC><WILL>XMOD' reaches fakeftpd with IAC IAC (it reads
	# CH<0xFF><WILL>XMOD: 500), no SITE CHMOD done; $x
	scenario "robust deny: IAC IAC reaches a Telnet-aware server as IAC IAC" \
		sc_rob_telnet
	# robust deny: fakeftpd lpsv228 answers HELP and PASV with 228 (LPSV's,
	# straight) -> through the gateway 502 each, never the 228, log; LPSV
	# -> 502, fakeftpd never gets it; $x
	scenario "robust deny: a 228 reply never reaches the client" \
		sc_rob_228
	# robust server: a 5000-byte reply line -> 421 'The server sent a
	# malformed reply; closing.', session closed, log; $x
	scenario "robust server: a 5000-byte reply line -> 421" \
		sc_rob_badreply longline '^421 The server sent a malformed reply; closing\.$' \
		'the server sent a malformed or overlong reply' 'S> 214 x{20}'
	# robust server: a 2002-line reply -> 421 'The server sent a malformed
	# reply; closing.', session closed, log; $x
	scenario "robust server: a 2002-line reply -> 421" \
		sc_rob_badreply manylines '^421 The server sent a malformed reply; closing\.$' \
		'the server sent a malformed or overlong reply' 'S> 214- \(2002 lines\)'
	# robust server: the server closes the control connection while HELP
	# waits for its reply -> 421 'the server closed the connection.',
	# session closed; $x
	scenario "robust server: control closed while HELP waits -> 421" \
		sc_rob_badreply closehelp '^421 Service not available: the server closed the connection\.$' \
		'end: .*server closed' 'closehelp: closing'
	# robust server: the server closes data and control 8 MiB into a 64
	# MiB RETR -> the client gets < 64 MiB and 421/426/451 within 15 s, no
	# session left; $x
	scenario "robust server: data and control closed mid-RETR" \
		sc_rob_closemid
	# robust server: the server's data connection stalls (sends nothing)
	# -> the client's own 3 s timeout, it leaves; within 5 s no session
	# left and the server's data connection closed; $x
	scenario "robust server: a stalled data connection is dropped" \
		sc_rob_stall
	# robust server: a server that never sends its greeting, idle-timeout
	# = 3 -> the client gets 421 'Idle timeout' 2.5..6 s after connecting,
	# then the close; log. connect-timeout = 2 is shorter: the connect
	# succeeded, so the silent server is idle, not unreachable (no connect
	# timeout, no upstream out of service)
	scenario "robust server: no greeting, idle-timeout = 3 -> 421" \
		sc_rob_idle 'idle for 3 seconds' cli_py --host $GWC4 --port 9309 rob-wait \
		--want '^421 Idle timeout: closing control connection\.$' --min 2.5 --max 6
	# robust limits: idle-timeout = 3 -> 421 'Idle timeout' 2.5..5 s after
	# the login's PASS (the client's last command), then the close; log;
	# then a normal session
	scenario "robust limits: idle-timeout = 3 -> 421 after the login" \
		sc_rob_idle 'idle for 3 seconds' cli_py --host $GWC4 --port 9301 rob-wait --login \
		--want '^421 Idle timeout: closing control connection\.$' --min 2.5 --max 5
	# robust limits: idle-timeout = 3, a 64 MiB RETR read slowly over 6 s
	# is not idle -> 226, sha256
	scenario "robust limits: idle-timeout = 3, a slow 64 MiB RETR is not idle" \
		sc_rob_idle '' cli_py --host $GWC4 --port 9301 rob-slowretr --seconds 6
	# The idle time after a transfer: the client reads slowly (6.4 MiB/s)
	# for 4.2 s, then the rest at full speed, so the data ends between the
	# idle timer's turns at 3 s (the data still flows: re-armed) and 6 s
	# after the RETR; it sends NOOP 2 s after the 226.  Idle since the end
	# of the transfer for 2 s < 3 s: NOOP must get 200.  (A timer that is
	# not restarted when the data ends fires at 6 s, with the session idle
	# for less than 2 s: what ftpgw did when this was written.)
	# robust limits: idle-timeout = 3, the idle time counts from the end
	# of a transfer: 64 MiB RETR read slowly for 4.2 s then at full speed,
	# NOOP 2 s after the 226 -> 200
	scenario "robust limits: idle-timeout = 3 counts from the end of a transfer" \
		sc_rob_idle '' cli_py --host $GWC4 --port 9301 rob-slowretr --seconds 10 --fast-after 4.2 --then-wait 2
	rob_lane_end
}

# sc_rob_telnet: deny-commands has SITE CHMOD; fakeftpd telnet reads
# Telnet sequences as proftpd does.
sc_rob_telnet() {
	local port
	port=$(rob_fport telnet)
	echo "== straight to fakeftpd telnet ($SRV4:$port): IAC WILL X hides CHMOD"
	gw_py --host "$SRV4" --port "$port" rob-seq --login \
		--step 'SITE CH\xff\xfbXMOD 644 file-1B => ^200 SITE CHMOD' || return 1
	log_mark "$LANE_DIR/ftpgw.log" "$LANE_DIR/fakeftpd.log"
	echo "== through the gateway"
	cli_py --host "$GWC4" --port $((port + 7000)) rob-seq --login \
		--step 'SITE CHMOD 644 file-1B => ^502 Command not allowed by the gateway\.$' \
		--step 'SITE CH\xff\xfbXMOD 644 file-1B => ^502 Command not allowed by the gateway\.$' \
		--step 'SITE CH\xff\xff\xfbXMOD 644 file-1B => ^500 ' || return 1
	log_wants "$LANE_DIR/ftpgw.log" 'denied by deny-commands: SITE CHMOD' "SITE CHMOD" || return 1
	log_wants "$LANE_DIR/fakeftpd.log" 'C> SITE CH\\xff\\xfbXMOD 644 file-1B$' \
		"the data byte 255 as fakeftpd read it" || return 1
	log_lacks "$LANE_DIR/fakeftpd.log" 'SITE CHMOD done' '"SITE CHMOD done"' || return 1
	rob_normal main "$GWC4" 9221
}

# sc_rob_228: fakeftpd lpsv228 answers HELP, PASV, EPSV and LPSV with 228.
sc_rob_228() {
	local port
	port=$(rob_fport lpsv228)
	echo "== straight to fakeftpd lpsv228 ($SRV4:$port)"
	gw_py --host "$SRV4" --port "$port" rob-seq --login --step 'HELP => ^228 ' || return 1
	log_mark "$LANE_DIR/ftpgw.log" "$LANE_DIR/fakeftpd.log"
	echo "== through the gateway"
	cli_py --host "$GWC4" --port $((port + 7000)) rob-seq --login \
		--step "HELP => ^502 The server's reply carries an address the gateway does not translate\.$" \
		--step "PASV => ^502 The server's reply carries an address the gateway does not translate\.$" \
		--step 'LPSV => ^502 LPSV is not available through this gateway' || return 1
	log_wants "$LANE_DIR/ftpgw.log" 'a 228 reply from the server replaced' "the 228" || return 1
	log_wants "$LANE_DIR/fakeftpd.log" 'S> 228 ' "fakeftpd's 228" || return 1
	log_lacks "$LANE_DIR/fakeftpd.log" 'C> LPSV' "LPSV" || return 1
	rob_normal main "$GWC4" 9221
}

# The malformed 227: a rob-seq session through the gateway to pasv-bad.
sc_rob_idle_main_badpasv() {
	local port
	port=$(rob_fport pasv-bad)
	log_mark "$LANE_DIR/ftpgw.log"
	echo "== straight to fakeftpd pasv-bad ($SRV4:$port)"
	gw_py --host "$SRV4" --port "$port" rob-seq --login --step 'PASV => ^227 .*\(203,0,113,2,[0-9]+\)' || return 1
	echo "== through the gateway"
	cli_py --host "$GWC4" --port $((port + 7000)) --mode epsv rob-seq --login --retr \
		--step "PASV => ^425 Can't open data connection: bad reply from the server\.$" || return 1
	log_wants "$LANE_DIR/ftpgw.log" 'malformed 227 reply from the server' "the malformed 227" || return 1
	rob_normal main "$GWC4" 9221
}
