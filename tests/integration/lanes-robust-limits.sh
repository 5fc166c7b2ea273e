# lanes-robust-limits.sh: the robustness lanes about limits and privileges
# (sourced by run.sh, which runs lane_X for every X appended to
# EXTRA_LANES); their helpers (rob_gw_start, rob_lane_end, rob_normal, ...)
# and the hostile lanes are in lanes-robust.sh.
#
#   robust-limits  reverse mode, four gateways: strict = no; max-sessions
#                  = 3; max-sessions-per-client = 2; data-timeout = 2 and
#                  connect-timeout = 2 (SYNs dropped in srv, a refused port)
#   robust-priv    tproxy with user = "nobody": uid, capabilities, transfers

EXTRA_LANES+=(robust-limits robust-priv)

# ---------------------------------------------------------------- lane robust-limits
# Reverse mode toward vsftpd.  main: strict = no (9021).  "maxs":
# max-sessions = 3 (9031).  "percli": max-sessions-per-client = 2 (9041).
# "timeouts": data-timeout = 2, connect-timeout = 2 (9051 -> vsftpd, 9052 ->
# a port whose SYNs srv drops, 9053 -> a closed port).

setup_robust_limits() {
	LANE_HAS_GW=1
	ip netns exec "$NS_SRV" iptables -w -A INPUT -p tcp --dport 2299 -j DROP || return 1
	write_conf <<EOF
passive-ports = "50000-50199"
shutdown-timeout = 3
control-socket = "$LANE_DIR/ctl.sock"
strict = no
listen "vsftpd" { address = "::"  port = 9021  mode = "reverse"  upstream = "$SRV4:21" }
EOF
	gw_start "$LANE_DIR/ftpgw.conf" 9021 || return 1
	rob_gw_start maxs 9031 <<EOF || return 1
passive-ports = "50200-50399"
shutdown-timeout = 3
control-socket = "$LANE_DIR/ctl-maxs.sock"
max-sessions = 3
listen "vsftpd" { address = "::"  port = 9031  mode = "reverse"  upstream = "$SRV4:21" }
EOF
	rob_gw_start percli 9041 <<EOF || return 1
passive-ports = "50400-50599"
shutdown-timeout = 3
control-socket = "$LANE_DIR/ctl-percli.sock"
max-sessions = 50
max-sessions-per-client = 2
listen "vsftpd" { address = "::"  port = 9041  mode = "reverse"  upstream = "$SRV4:21" }
EOF
	rob_gw_start timeouts 9051 9052 9053 <<EOF
passive-ports = "50600-50799"
shutdown-timeout = 3
control-socket = "$LANE_DIR/ctl-timeouts.sock"
data-timeout = 2
connect-timeout = 2
listen "vsftpd"  { address = "::"  port = 9051  mode = "reverse"  upstream = "$SRV4:21" }
listen "dropped" { address = "::"  port = 9052  mode = "reverse"  upstream = "$SRV4:2299" }
listen "closed"  { address = "::"  port = 9053  mode = "reverse"  upstream = "$SRV4:2298" }
port-mapping "dead" { application = "ftp"  ports = {2298, 2299} }
EOF
}

# sc_rob_limit GW PORT LOG-ERE ROB-HOLD-ARGS
sc_rob_limit() {
	local gw=$1 port=$2 ere=$3
	shift 3
	log_mark "$(gw_logf "$gw")"
	cli_py --host "$GWC4" --port "$port" rob-hold "$@" || rob_fail_tail "$gw" || return 1
	log_wants "$(gw_logf "$gw")" "$ere" "the refusal" || return 1
	rob_normal "$gw" "$GWC4" "$port"
}

# sc_rob_connect LISTEN-PORT WANT MIN MAX LOG-ERE: a dead server.
sc_rob_connect() {
	local port=$1 want=$2 min=$3 max=$4 ere=$5 d0 d1
	log_mark "$LANE_DIR/gw-timeouts.log"
	d0=$(ip netns exec "$NS_SRV" iptables -w -L INPUT -n -v -x | awk '/dpt:2299/ { print $1 }')
	cli_py --host "$GWC4" --port "$port" rob-wait --want "$want" --min "$min" --max "$max" ||
		rob_fail_tail timeouts || return 1
	log_wants "$LANE_DIR/gw-timeouts.log" "$ere" "the dead server" || return 1
	if [ "$port" = 9052 ]; then
		d1=$(ip netns exec "$NS_SRV" iptables -w -L INPUT -n -v -x | awk '/dpt:2299/ { print $1 }')
		echo "srv dropped $((d1 - d0)) packets to port 2299"
		[ "$((d1 - d0))" -ge 1 ] || { echo "FAIL: srv's DROP rule saw no packet (the test proves nothing)"; return 1; }
	fi
	rob_normal timeouts "$GWC4" 9051
}

sc_rob_datatimeout() {
	log_mark "$LANE_DIR/gw-timeouts.log"
	cli_py --host "$GWC4" --port 9051 rob-datatimeout --wait 3.5 || rob_fail_tail timeouts || return 1
	log_wants "$LANE_DIR/gw-timeouts.log" 'timed out waiting for the data connection' "the data timeout" || return 1
	rob_normal timeouts "$GWC4" 9051
}

lane_robust_limits() {
	local x
	ROB_GWS=()
	lane_begin robust-limits setup_robust_limits
	rob_steps '^425 Use PORT or PASV first\.$' 'RETR file-1MiB' 'STOR uploads/robust-x' LIST NLST
	ROB_STEPS2=("${ROB_STEPS[@]}")
	rob_steps '^530 ' "${ROB_BEFORE_LOGIN[@]}"
	# 1. strict = no: the same commands reach the server, which answers.
	x="no 'strict:' in the gateway log; then a normal session"
	# robust strict=no: PASS before USER goes to vsftpd (its log shows
	# PASS; it answers 503 itself), $x
	scenario "robust strict=no: PASS before USER goes to vsftpd" \
		sc_rob_forwarded main $GWC4 9021 PASS -- --step 'PASS ftpgwtest => ^503 '
	# robust strict=no: before login CWD LIST PASV RETR STOR SIZE PORT MKD
	# go to vsftpd (its log shows them; it answers 530 itself), $x
	scenario "robust strict=no: transfer commands before login go to vsftpd" \
		sc_rob_forwarded main $GWC4 9021 'CWD LIST PASV RETR STOR SIZE PORT MKD' -- "${ROB_STEPS[@]}"
	# robust strict=no: logged in, RETR STOR LIST NLST without PASV/PORT
	# go to vsftpd (its log shows them; it answers 425 'Use PORT or PASV
	# first.' itself), $x
	scenario "robust strict=no: transfers without PASV/PORT go to vsftpd" \
		sc_rob_forwarded main $GWC4 9021 'RETR STOR LIST NLST' -- --login "${ROB_STEPS2[@]}"
	# 4. limits
	# robust limits: max-sessions = 3: three sessions open, the 4th gets
	# 421 'Too many connections; try again later.' and is closed, log;
	# then a normal session
	scenario "robust limits: max-sessions = 3: the 4th gets 421" \
		sc_rob_limit maxs 9031 'refused: max-sessions reached' --hold 3
	# robust limits: max-sessions-per-client = 2 (max-sessions 50): two
	# sessions from $CLI4 open, its 3rd gets 421 and is closed, one from
	# $CLI6 still gets 220, log; then a normal session
	scenario "robust limits: max-sessions-per-client = 2: the 3rd gets 421" \
		sc_rob_limit percli 9041 'client 198\.51\.100\.2:[0-9]+ refused: max-sessions-per-client reached' \
		--hold 2 --extra-host $GWC6
	# robust limits: data-timeout = 2: PASV, no data connection for 3.5 s
	# -> log 'timed out waiting for the data connection', RETR gets
	# 4xx/5xx, NOOP 200, RETR 1MiB sha256 on the session; then a normal
	# session
	scenario "robust limits: data-timeout = 2: no data connection -> log" \
		sc_rob_datatimeout
	# robust limits: connect-timeout = 2, the server's SYNs dropped
	# (iptables in srv) -> 421 'the server does not answer.' 1.5..4.5 s
	# after connecting, log; then a normal session
	scenario "robust limits: connect-timeout = 2, SYNs dropped -> 421" \
		sc_rob_connect 9052 '^421 Service not available: the server does not answer\.$' 1.5 4.5 \
		'connect to the server timed out'
	# robust limits: the server's port refuses (RST) -> 421 'the server
	# cannot be reached.' within 2 s, log; then a normal session
	scenario "robust limits: the server's port refuses (RST) -> 421" \
		sc_rob_connect 9053 '^421 Service not available: the server cannot be reached\.$' 0 2 \
		'cannot connect to 203\.0\.113\.2:2298'
	rob_lane_end
}

# ---------------------------------------------------------------- lane robust-priv
# tproxy only, on 8021, passive 50000-50999, user = "nobody": root is
# dropped after binding, CAP_NET_ADMIN alone is kept.

setup_robust_priv() {
	LANE_HAS_GW=1
	write_conf <<EOF
user = "nobody"
passive-ports = "$GW_PASV"
shutdown-timeout = 3
max-sessions-per-client = 200
control-socket = "$LANE_DIR/ctl.sock"
listen "main" { address = "::"  port = 8021  mode = "tproxy"  passive-address = "original" }
EOF
	rules tproxy add FTPGW_IFACE=eth0 FTPGW_LISTEN_PORT=8021 FTPGW_CONTROL_PORTS=21 \
		FTPGW_PASSIVE_PORTS="$GW_PASV" || return 1
	gw_start "$LANE_DIR/ftpgw.conf" 8021 || return 1
	# The TLS gateway's key: root's alone.
	install -m 600 "$IT_TLS/gw.key" "$LANE_DIR/gw-root.key" &&
	cp "$IT_TLS/gw.pem" "$LANE_DIR/gw.pem" || return 1
	rob_gw_start tlspriv 9071 <<EOF
user = "nobody"
workers = 2
passive-ports = "52000-52199"
shutdown-timeout = 3
control-socket = "$LANE_DIR/tlspriv.sock"
listen "tls" { address = "::"  port = 9071  mode = "reverse"  upstream = "$SRV4:21" }
tls {
	certificate = "$LANE_DIR/gw.pem"
	key = "$LANE_DIR/gw-root.key"
	client-side = "required"
	server-side = "off"
}
EOF
}

sc_rob_privs() {
	local pid p uid cap bnd nnp n=0
	pid=$(cat "$LANE_DIR/ftpgw.pid")
	# The supervisor and every worker (workers = 0: one per CPU).
	for p in "$pid" $(cat "/proc/$pid/task/$pid/children" 2>/dev/null); do
		grep -E '^(Uid|Gid|CapPrm|CapEff):' "/proc/$p/status"
		uid=$(awk '/^Uid:/ { print $2 "," $3 "," $4 "," $5 }' "/proc/$p/status")
		cap=$(awk '/^CapEff:/ { print $2 }' "/proc/$p/status")
		bnd=$(awk '/^CapBnd:/ { print $2 }' "/proc/$p/status")
		nnp=$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$p/status")
		sc_diag "ftpgw pid $p (user = nobody): Uid $uid, CapEff $cap, CapBnd $bnd, NoNewPrivs $nnp"
		[ "$bnd" = 0000000000001000 ] || { echo "FAIL: pid $p: CapBnd $bnd, expected 0000000000001000 (CAP_NET_ADMIN only)"; return 1; }
		[ "$nnp" = 1 ] || { echo "FAIL: pid $p: NoNewPrivs $nnp, expected 1"; return 1; }
		[ "$uid" = 65534,65534,65534,65534 ] || { echo "FAIL: pid $p: Uid $uid, expected 65534 (nobody) for all four"; return 1; }
		[ "$cap" = 0000000000001000 ] || { echo "FAIL: pid $p: CapEff $cap, expected 0000000000001000 (CAP_NET_ADMIN only)"; return 1; }
		n=$((n + 1))
	done
	sc_diag "$n processes checked (the supervisor and $((n - 1)) workers, or the only process)"
	grep -m1 'running as user "nobody"' "$LANE_DIR/ftpgw.log" ||
		{ echo "FAIL: no 'running as user \"nobody\"' line in the log"; return 1; }
	if grep 'running as root' "$LANE_DIR/ftpgw.log"; then
		echo "FAIL: the 'running as root' warning although user is set"
		return 1
	fi
}

# sc_rob_tls_restart: a TLS gateway (client-side required, 2 workers) as
# nobody, its key readable by root only: both workers killed in turn
# (SIGKILL, each older than 5 s) come back, and a TLS session (AUTH TLS,
# PROT P, RETR+STOR 1MiB) is served by the restarted ones: the key was
# loaded before root was dropped, not read again.
sc_rob_tls_restart() {
	local pid w victim k a
	pid=$(gw_pid tlspriv)
	for w in 1 0; do
		for k in $(wk_children "$pid"); do
			a=$(wk_age "$k")
			[ -n "$a" ] && [ "$a" -lt 6 ] && sleep $((6 - a))
		done
		victim=$(wk_worker_pid tlspriv "$w")
		[ -n "$victim" ] || { echo "FAIL: no pid for worker $w"; return 1; }
		log_mark "$(gw_logf tlspriv)"
		echo "== SIGKILL to worker $w (pid $victim)"
		kill -KILL "$victim"
		wait_log "$(gw_logf tlspriv)" "worker $w ready" 10 || {
			log_new "$(gw_logf tlspriv)" | tail -n 5; return 1; }
	done
	alive "$pid" || { echo "FAIL: the supervisor died"; return 1; }
	grep -E '^(Uid|NoNewPrivs):' "/proc/$(wk_worker_pid tlspriv 0)/status"
	cli_py --host "$GWC4" --port 9071 --mode pasv --tls explicit --cafile "$CA" \
		xfer --sizes 1MiB
}

# 96 sessions RETR 1 MiB at once through the gateway running as nobody,
# each reading slowly with a small receive buffer, so that the gateway's
# pipes stay full: more pipe bytes than the gateway's share of the user's
# pipe budget (fs.pipe-user-pages-soft), so some data channels copy instead
# of splicing.  Every file must arrive whole.
sc_rob_pipe_budget() {
	local log=$LANE_DIR/ftpgw.log splice copy
	in_ns "$NS_CLI" "$PY" - "$SRV4" "$IT_USER" "$IT_PASS" "$(sha_fixture file-1MiB)" <<'PY' || return 1
import ftplib, hashlib, socket, sys, threading, time
host, user, password, want = sys.argv[1:5]
N = 96
bad = []
# Log in one after the other (no thundering herd on the server), then all
# RETR at once.
ftps = []
for i in range(N):
    ftp = ftplib.FTP()
    ftp.connect(host, 21, timeout=120)
    ftp.login(user, password)
    ftp.voidcmd("TYPE I")
    ftps.append(ftp)
barrier = threading.Barrier(N, timeout=120)
def one(i):
    ftp = ftps[i]
    try:
        barrier.wait()
        conn = ftp.transfercmd("RETR file-1MiB")
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        h, n = hashlib.sha256(), 0
        while True:
            b = conn.recv(65536)
            if not b:
                break
            h.update(b)
            n += len(b)
            time.sleep(0.05)
        conn.close()
        ftp.voidresp()
        if h.hexdigest() != want:
            bad.append("session %d: %d bytes, sha256 differs" % (i, n))
        ftp.quit()
    except Exception as e:
        bad.append("session %d: %r" % (i, e))
threads = [threading.Thread(target=one, args=(i,)) for i in range(N)]
for t in threads: t.start()
for t in threads: t.join()
print("%d of %d RETR 1MiB sha256 ok" % (N - len(bad), N))
for b in bad[:10]: print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
	grep -m2 'pipe budget:' "$log" || { echo "FAIL: no 'pipe budget:' line in the log (as nobody)"; return 1; }
	if [ "${FTPGW_IT_DATA_PATH:-relay}" = kernel ]; then
		# The kernel carried them: no pipe at all, as nobody too.
		splice=$(grep -c 'data channel forwarded by the kernel:' "$log")
		sc_diag "data channels forwarded by the kernel: $splice"
		[ "$splice" -ge 96 ] || { echo "FAIL: not every RETR was forwarded by the kernel"; return 1; }
		return 0
	fi
	splice=$(grep -c 'data relay ended (splice)' "$log")
	copy=$(grep -c 'data relay ended (copy)' "$log")
	sc_diag "data channels done: $splice splice, $copy copy"
	[ "$copy" -gt 0 ] || { echo "FAIL: no data channel copied: the pipe budget was never reached"; return 1; }
	[ "$splice" -gt 0 ] || { echo "FAIL: no data channel spliced"; return 1; }
}

lane_robust_priv() {
	local x="RETR+STOR 1MiB,64MiB sha256 (ftplib), data peer is the server"
	ROB_GWS=()
	lane_begin robust-priv setup_robust_priv
	# robust privileges: user = nobody, tproxy on 8021, passive $GW_PASV
	# -> /proc/PID/status of the supervisor and each worker: Uid 65534,
	# CapEff 0000000000001000 (CAP_NET_ADMIN only), log 'running as user',
	# no 'running as root'
	scenario "robust privileges: user = nobody: uid and capabilities" \
		sc_rob_privs
	# robust privileges: user = nobody, tproxy v4 PASV: $x
	scenario "robust privileges: user = nobody, tproxy v4 PASV" \
		sc_xfer pasv $SRV4 21 1MiB,64MiB --expect-pasv-host $SRV4 --expect-data-peer $SRV4
	# robust privileges: user = nobody, tproxy v4 PORT: $x
	scenario "robust privileges: user = nobody, tproxy v4 PORT" \
		sc_xfer port $SRV4 21 1MiB,64MiB --expect-data-peer $SRV4
	# robust privileges: user = nobody, tproxy v6 EPSV: $x
	scenario "robust privileges: user = nobody, tproxy v6 EPSV" \
		sc_xfer epsv $SRV6 21 1MiB,64MiB --expect-data-peer $SRV6
	# robust privileges: pipe budget: 96 parallel slow RETR 1MiB as nobody
	# (more pipe bytes than fs.pipe-user-pages-soft allows): every sha256
	# ok, 'pipe budget:' logged, some data channels splice and some copy
	scenario "robust privileges: pipe budget: 96 slow RETRs, splice and copy" \
		sc_rob_pipe_budget
	# robust privileges: a TLS gateway as nobody, 2 workers, its key
	# readable by root only: both workers killed in turn come back, and a
	# TLS session (PROT P RETR+STOR 1MiB, sha256) is served
	scenario "robust privileges: workers restarted as nobody serve TLS" \
		sc_rob_tls_restart
	rob_lane_end
}
