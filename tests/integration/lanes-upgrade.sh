# lanes-upgrade.sh: a restart or binary upgrade that refuses nobody
# (sourced by run.sh, which runs lane_X for every X appended to
# EXTRA_LANES).
#
#   upgrade   a gateway with 2 workers, listener 9401 in mode reverse in
#             front of vsftpd, each session limited to 16 MiB/s.  A new
#             ftpgw started with -U takes the listening sockets over
#             through the control socket; the old one accepts nothing more,
#             lets its sessions finish and exits 0.
#
# The scenarios run in order: each takes over from the gateway the one
# before left running, whose pid is then the lane's main gateway.

EXTRA_LANES+=(upgrade)

setup_upgrade() {
	LANE_HAS_GW=1
	upgrade_conf 2 >"$LANE_DIR/ftpgw.conf"
	gw_start "$LANE_DIR/ftpgw.conf" 9401
}

# upgrade_conf WORKERS: the lane's configuration.
upgrade_conf() {
	cat <<EOF2
passive-ports = "$GW_PASV"
shutdown-timeout = 20
workers = $1
control-socket = "$LANE_DIR/ctl.sock"
rate-limit-session = 16M
listen "up" {
	address = "::"  port = 9401  mode = "reverse"
	upstream = "$SRV4:21"
}
EOF2
}

# clients_start PORT DIR COUNT: from the client namespace, COUNT sessions
# one after another (login, RETR 1 MiB, sha256; DIR/loop.out), a 64 MiB
# download (DIR/big; 4 s at the limit), and connection attempts back to
# back, greeting only, until DIR/storm.stop (DIR/storm.out): a moment
# without a listener would refuse some of them. Returns once a few
# sessions are done and the download is under way.
clients_start() {
	local port=$1 d=$2 i
	mkdir -p "$d"
	in_ns "$NS_CLI" "$PY" "$IT_SRC/poolclient.py" --host "$GWC4" --port "$port" \
		--fixtures "$IT_HOME" --count "$3" >"$d/loop.out" 2>&1 &
	CL_LOOP=$!
	in_ns "$NS_CLI" curl -sS -q --max-time 60 -u "$IT_USER:$IT_PASS" \
		-o "$d/big" "ftp://$GWC4:$port/file-64MiB" >"$d/big.err" 2>&1 &
	CL_BIG=$!
	in_ns "$NS_CLI" "$PY" "$IT_SRC/connstorm.py" --host "$GWC4" --port "$port" --seconds 30 \
		--until-file "$d/storm.stop" >"$d/storm.out" 2>&1 &
	CL_STORM=$!
	for i in $(seq 100); do
		[ "$(wc -l <"$d/loop.out")" -ge 3 ] && return 0
		sleep 0.05
	done
	echo "FAIL: the session loop did not get going"
	cat "$d/loop.out"
	return 1
}

# clients_check DIR COUNT WHAT: wait for clients_start's clients; every one
# of the COUNT sessions ok, every connection attempt (over 100) greeted,
# the download whole (sha256).
clients_check() {
	local d=$1 st n_all n_ok
	wait "$CL_LOOP"
	wait "$CL_BIG"
	st=$?
	: >"$d/storm.stop"
	wait "$CL_STORM"
	cat "$d/loop.out" "$d/storm.out"
	n_all=$(wc -l <"$d/loop.out")
	n_ok=$(awk '$2 == "vsftpd" && $3 == "ok"' "$d/loop.out" | wc -l)
	sc_diag "$3: $(tail -n1 "$d/storm.out"); sessions $n_ok of $2 ok ($n_all reported)"
	awk '$1 == "attempts" && $2 > 100 && $2 == $4 { ok = 1 } END { exit !ok }' "$d/storm.out" ||
		{ echo "FAIL: connection attempts failed (or too few)"; return 1; }
	[ "$n_all" = "$2" ] && [ "$n_ok" = "$2" ] || { echo "FAIL: refused or failed sessions"; return 1; }
	[ "$st" = 0 ] || { echo "FAIL: the download failed (curl $st)"; cat "$d/big.err"; return 1; }
	check_sha "$d/big" file-64MiB
}

# upgrade_across WORKERS GEN: while a 64 MiB download (4 s at the limit)
# runs and a client opens sessions one after another (login, RETR 1 MiB,
# sha256), start "ftpgw -U" with WORKERS workers; log gen-GEN.log.  Every
# session must succeed (a refused connect is a failure), the download's
# sha256 must match, the old gateway must hand over, finish its sessions
# and exit 0, and the new one must have served sessions.
upgrade_across() {
	local workers=$1 gen=$2 old new i
	local log=$LANE_DIR/gen-$2.log old_log old_rc
	old=$(cat "$LANE_DIR/ftpgw.pid")
	[ -n "$old" ] || { echo "FAIL: no pid of the running gateway in ftpgw.pid"; return 1; }
	old_log=$(upgrade_log $((gen - 1)))
	old_rc=$LANE_DIR/gen-$((gen - 1)).rc
	upgrade_conf "$workers" >"$LANE_DIR/gen-$gen.conf"
	clients_start 9401 "$LANE_DIR/gen$gen" 60 || return 1
	# Not a child of this scenario's shell once it ends: a wrapper keeps
	# its exit status for the next generation (or the lane's end).  Both
	# files appear whole (written aside, then renamed): wait_file sees a
	# file as soon as it exists, and a reader must not find it empty.
	(
		sh -c 'echo $$ >"$1.tmp" && mv "$1.tmp" "$1"; shift; exec "$@"' sh "$LANE_DIR/gen-$gen.pid" \
			ip netns exec "$NS_GW" "$FTPGW" -d -U -c "$LANE_DIR/gen-$gen.conf" >>"$log" 2>&1
		echo $? >"$LANE_DIR/gen-$gen.rc.tmp" && mv "$LANE_DIR/gen-$gen.rc.tmp" "$LANE_DIR/gen-$gen.rc"
	) &
	wait_file "$LANE_DIR/gen-$gen.pid" 5 || { echo "FAIL: no pid file"; return 1; }
	new=$(cat "$LANE_DIR/gen-$gen.pid")
	[ -n "$new" ] || { echo "FAIL: an empty pid file"; return 1; }
	register_pid "$new"
	wait_log "$log" 'took over [1-9][0-9]* listening sockets' 10 ||
		{ echo "FAIL: the new gateway did not take over"; tail -n 20 "$log"; return 1; }
	echo "$new" >"$LANE_DIR/ftpgw.pid"
	clients_check "$LANE_DIR/gen$gen" 60 "across the takeover" || return 1
	# The old gateway handed over, let the download finish, and stopped.
	for i in $(seq 100); do alive "$old" || break; sleep 0.1; done
	alive "$old" && { echo "FAIL: the old gateway (pid $old) still runs"; return 1; }
	grep -q 'handover: [1-9][0-9]* listening sockets\{0,1\} handed to a new gateway' "$old_log" ||
		{ echo "FAIL: the old gateway did not log the handover"; tail -n 20 "$old_log"; return 1; }
	grep -q 'ftpgw stopped' "$old_log" || { echo "FAIL: the old gateway did not stop cleanly"; return 1; }
	if [ -f "$old_rc" ]; then
		[ "$(cat "$old_rc")" = 0 ] || { echo "FAIL: the old gateway exited $(cat "$old_rc")"; return 1; }
	fi
	no_sanitizer "$old_log" || return 1
	# The new one serves, and ftpgwctl at the path reaches it.
	grep -q 'via reverse "up"' "$log" || { echo "FAIL: the new gateway served no session"; tail -n 20 "$log"; return 1; }
	[ "$(gw_stat main workers)" = "$workers" ] ||
		{ echo "FAIL: ftpgwctl does not reach the new gateway ($workers workers)"; return 1; }
	alive "$new"
}

# upgrade_log GEN: generation GEN's log (0: the one gw_start started).
upgrade_log() { if [ "$1" = 0 ]; then echo "$LANE_DIR/ftpgw.log"; else echo "$LANE_DIR/gen-$1.log"; fi; }

# At the lane's end: the newest gateway stops on SIGTERM and exits 0.
upgrade_stop() {
	local pid gen
	pid=$(cat "$LANE_DIR/ftpgw.pid")
	gen=$(ls "$LANE_DIR"/gen-*.pid 2>/dev/null | sed 's/.*gen-\([0-9]*\)\.pid/\1/' | sort -n | tail -n1)
	alive "$pid" || { echo "the newest gateway died during the lane"; return 1; }
	kill -TERM "$pid"
	for i in $(seq 100); do alive "$pid" || break; sleep 0.1; done
	alive "$pid" && { echo "still running 10 s after SIGTERM"; kill -KILL "$pid"; return 1; }
	[ -z "$gen" ] && return 0
	wait_file "$LANE_DIR/gen-$gen.rc" 5
	no_sanitizer "$(upgrade_log "$gen")" || return 1
	[ "$(cat "$LANE_DIR/gen-$gen.rc" 2>/dev/null)" = 0 ]
}

# upgrade: 2 workers to 2 workers (each new worker gets one old socket)
sc_upgrade_same() { upgrade_across 2 1; }
# upgrade: 2 workers to 1 (the one worker accepts on both old sockets)
sc_upgrade_fewer() { upgrade_across 1 2; }
# -U with nobody to take over from starts afresh (one worker: a socket
# of its own, not shared); a second -U with two workers takes that socket
# over, says it runs one worker until its next start, and serves.
sc_upgrade_nobody() {
	local conf=$LANE_DIR/alone.conf log=$LANE_DIR/alone.log log2=$LANE_DIR/alone2.log pid pid2
	sed -e "s|ctl.sock|alone.sock|" -e 's/port = 9401/port = 9402/' \
		-e 's/^workers = .*/workers = 1/' "$LANE_DIR/ftpgw.conf" >"$conf"
	ip netns exec "$NS_GW" "$FTPGW" -d -U -c "$conf" >>"$log" 2>&1 &
	pid=$!
	register_pid "$pid"
	wait_listen "$NS_GW" 9402 5 || { echo "FAIL: not listening"; cat "$log"; return 1; }
	grep -q 'no gateway answers at' "$log" || { echo "FAIL: no word of starting afresh"; return 1; }
	in_ns "$NS_CLI" "$PY" "$IT_SRC/poolclient.py" --host "$GWC4" --port 9402 \
		--fixtures "$IT_HOME" --count 1 | tee "$LANE_DIR/alone.out"
	grep -q '^1 vsftpd ok' "$LANE_DIR/alone.out" || return 1
	sed -i 's/^workers = .*/workers = 2/' "$conf"
	ip netns exec "$NS_GW" "$FTPGW" -d -U -c "$conf" >>"$log2" 2>&1 &
	pid2=$!
	register_pid "$pid2"
	wait_log "$log2" 'came from a gateway with one worker' 10 || return 1
	wait "$pid" || { echo "FAIL: the first gateway exited $?"; return 1; }
	in_ns "$NS_CLI" "$PY" "$IT_SRC/poolclient.py" --host "$GWC4" --port 9402 \
		--fixtures "$IT_HOME" --count 3 | tee "$LANE_DIR/alone2.out"
	[ "$(grep -c ' vsftpd ok' "$LANE_DIR/alone2.out")" = 3 ] || return 1
	kill -TERM "$pid2"
	wait "$pid2"
}

# systemctl restart, as systemd does it with the unit's
# FileDescriptorStoreMax= and KillMode=process (sdmanager.py: no systemd
# PID 1 here): ftpgw -S stores its listening sockets; SIGTERM; the main
# process must exit at once, although a download is still running; the
# new one is started with the stored sockets (LISTEN_FDS) and serves.
# Nobody is refused, the download completes from the old workers.
sc_upgrade_systemd() {
	local d=$LANE_DIR/sd conf=$LANE_DIR/sd/ftpgw.conf log=$LANE_DIR/sd/ftpgw.log
	local mgr wpid
	mkdir -p "$d"
	upgrade_conf 2 | sed -e "s|$LANE_DIR/ctl.sock|$d/ctl.sock|" -e 's/port = 9401/port = 9403/' >"$conf"
	ip netns exec "$NS_GW" "$PY" "$IT_SRC/sdmanager.py" --dir "$d" -- \
		"$FTPGW" -d -S -c "$conf" >"$d/manager.out" 2>"$log" &
	mgr=$!
	wait_file "$d/ready" 10 || { cat "$d/manager.out"; tail -n 20 "$log"; return 1; }
	clients_start 9403 "$d/clients" 40 || return 1
	: >"$d/restart"
	wait_file "$d/restarted" 15 || { cat "$d/manager.out"; tail -n 20 "$log"; return 1; }
	clients_check "$d/clients" 40 "across the systemd restart" || return 1
	# A worker that crashes is started again on its predecessor's socket
	# (the supervisor keeps it): none is left listening with nobody to
	# accept, so every connection attempt is answered.
	wpid=$(grep -oE 'worker 1 of 2 \(pid [0-9]+\) starting' "$log" | tail -n1 | grep -oE '[0-9]+\)' | tr -d ')')
	[ -n "$wpid" ] || { echo "FAIL: no worker 1 in the log"; return 1; }
	while [ "$(wk_age "$wpid")" -lt 6 ]; do sleep 0.5; done
	log_mark "$log"
	kill -KILL "$wpid"
	wait_log "$log" 'worker 1 ready' 10 || return 1
	in_ns "$NS_CLI" "$PY" "$IT_SRC/connstorm.py" --host "$GWC4" --port 9403 --seconds 2 \
		>"$d/storm2.out" 2>&1 || { echo "FAIL: after a worker crash:"; cat "$d/storm2.out"; return 1; }
	sc_diag "after a worker crash: $(tail -n1 "$d/storm2.out")"
	: >"$d/stop"
	wait "$mgr" || { echo "FAIL: sdmanager exited $?"; cat "$d/manager.out"; return 1; }
	cat "$d/manager.out"
	sc_diag "systemd restart: $(grep '^stopped' "$d/manager.out" | head -n1)"
	# Stored: one socket per worker; the main process left at once,
	# status 0; the next one got them.
	grep -qx 'stored 2' "$d/manager.out" || { echo "FAIL: not 2 sockets in the store"; return 1; }
	awk '$1 == "stopped" && $3 < 2 && $5 == 0 { n++ } END { exit !(n >= 1) }' "$d/manager.out" ||
		{ echo "FAIL: the main process did not exit at once with status 0"; return 1; }
	grep -q 'started [0-9]* with 2 fds' "$d/manager.out" || { echo "FAIL: not restarted with 2 fds"; return 1; }
	grep -q '2 listening sockets passed by systemd' "$log" || { echo "FAIL: no word of the passed sockets"; return 1; }
	grep -q 'leaving 2 workers to finish their sessions' "$log" || return 1
	no_sanitizer "$log"
}

lane_upgrade() {
	lane_begin upgrade setup_upgrade
	scenario "upgrade: ftpgw -U, 2 -> 2 workers: 0 refused of a connect storm and 60 sessions, live RETR" sc_upgrade_same
	scenario "upgrade: ftpgw -U, 2 -> 1 worker: 0 refused of a connect storm and 60 sessions, live RETR" sc_upgrade_fewer
	scenario "upgrade: -U with no gateway starts afresh; 1 -> 2 workers runs 1" sc_upgrade_nobody
	scenario "upgrade: systemd restart with the fd store (-S): 0 refused, live RETR, worker crash" sc_upgrade_systemd
	if [ "$LANE_STATE" = up ]; then
		gw_stop_result main "upgrade: the newest gateway alive at the end, exits 0 on SIGTERM" upgrade_stop
		rm -f "$LANE_DIR/ftpgw.pid"
	fi
	lane_end
}
