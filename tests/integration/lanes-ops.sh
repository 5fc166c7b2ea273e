# lanes-ops.sh: ftpgw run as a production service (sourced by run.sh).
#
#   ops            SIGHUP reload during a transfer (new sessions get the new
#                  deny-commands, the live one keeps its snapshot, the
#                  listener is kept: same socket, no refused connection);
#                  a bad config on SIGHUP is refused, the old one stays;
#                  listeners kept, closed, opened, switched to another mode
#   ops-stop       SIGTERM: listeners closed at once, the live transfer
#                  completes, exit 0; shutdown-timeout cuts a longer one
#                  with 421 and exits 0
#   ops-ctl        the session summary line, no password in the log, the
#                  xferlog file (and its rotation), ftpgwctl sessions/stats,
#                  the metrics endpoint
#   ops-nft-*      the rules "ftpgw -R" prints, loaded with nft instead of
#                  the contrib scripts: redirect and tproxy, v4 and v6
#
# Every scenario name starts with "ops".  Each lane's gateway has its own
# control socket in the lane's directory and runs one worker (workers = 1:
# with more, ftpgwctl would need PATH.N).

OPS_CTL=$(dirname "$FTPGW")/ftpgwctl
OPS_64=file-64MiB
OPS_64_SIZE=$((64 << 20))
OPS_1M_SIZE=$((1 << 20))
OPS_METRICS=127.0.0.1:9100

# ---------------------------------------------------------------- helpers

# ops_quiet_stats FILE: wait (3 s at most) until no session is live, so that the byte
# counters (of ended sessions) are final; then stats to FILE.
ops_quiet_stats() {
	local i
	for i in $(seq 30); do
		gw_stats main "$1" || return 1
		[ "$(stat_of "$1" sessions_active)" = 0 ] && return 0
		sleep 0.1
	done
	echo "FAIL: sessions still live 3 s after the clients ended:"
	gw_ctl main sessions
	return 1
}

# ops_delta F0 F1 NAME EXPECTED: the counter NAME grew by EXPECTED.
ops_delta() {
	local a b
	a=$(stat_of "$1" "$3") b=$(stat_of "$2" "$3")
	case $a$b in *missing*) echo "FAIL: stats lack $3"; return 1 ;; esac
	if [ $((b - a)) != "$4" ]; then
		echo "FAIL: $3 grew by $((b - a)) ($a -> $b), expected $4"
		return 1
	fi
	echo "stats: $3 +$4 ok ($a -> $b)"
}

# ops_listen_ino PORT: the inode of the gateway's listening socket.
ops_listen_ino() {
	ip netns exec "$NS_GW" ss -Hltne "sport = :$1" 2>/dev/null | grep -o 'ino:[0-9]*' | head -n1
}

# ops_connect HOST PORT: from cli, prints connected | refused | failed: ...
ops_connect() {
	local err
	if err=$(ip netns exec "$NS_CLI" timeout 3 bash -c "exec 4<>/dev/tcp/$1/$2" 2>&1); then
		echo connected
	elif [[ $err == *"Connection refused"* ]]; then
		echo refused
	else
		echo "failed: ${err:-timeout}"
	fi
}

# ops_code_of FILE CMD: the reply code opssession logged for CMD.
ops_code_of() { grep -F -- "$2" "$1" | grep -oE -- '-> [0-9]{3}' | head -n1 | cut -c4-; }

# ---------------------------------------------------------------- lane ops: reload

# ops_reload_conf DENY-COMMANDS [LISTEN-SECTION...]: the configuration of
# lane ops: the listener "main" and the sections given.
ops_reload_conf() {
	local l
	cat <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
workers = 1
control-socket = "$LANE_DIR/ctl.sock"
deny-commands = {$1}
listen "main" {
	address = "::"
	port = 8021
	mode = "redirect"
	passive-address = "original"
}
EOF
	shift
	for l; do echo "$l"; done
}
OPS_L8022='listen "extra" { address = "::"  port = 8022  mode = "redirect" }'
OPS_L8024='listen "gone" { address = "::"  port = 8024  mode = "redirect" }'

# ops_hup ok|failed: SIGHUP the gateway, wait for its verdict (5 s), which
# must be the one given.
ops_hup() {
	local v
	log_mark "$LANE_DIR/ftpgw.log"
	kill -HUP "$(gw_pid main)"
	wait_log "$LANE_DIR/ftpgw.log" 'configuration reloaded|reload failed' 5 || return 1
	if log_new "$LANE_DIR/ftpgw.log" | grep -q 'reload failed'; then v=failed; else v=ok; fi
	log_new "$LANE_DIR/ftpgw.log" | grep -E 'reload|listen|error' | sed 's/^/gateway log: /'
	[ "$v" = "$1" ] || { echo "FAIL: reload $v, expected $1"; return 1; }
}

# ops_listening PORT: prints yes or no (a listener in gw).
ops_listening() {
	if [ -n "$(ip netns exec "$NS_GW" ss -Hltn "sport = :$1")" ]; then echo yes; else echo no; fi
}

setup_ops() {
	LANE_HAS_GW=1
	ops_reload_conf '"SITE EXEC"' | write_conf
	rules_use redirect 8021 21 || return 1
	gw_start "$LANE_DIR/ftpgw.conf" 8021
}

# The client reads at 4 MiB/s: the 64 MiB RETR lasts 16 s (long enough for
# the checks before and after the reload on a loaded machine).
sc_ops_reload() {
	local d=$LANE_DIR/reload.$SC_N pid slow loop me ino0 ino1 line id rc st
	mkdir -p "$d"
	pid=$(gw_pid main)
	log_mark "$LANE_DIR/ftpgw.log"
	ino0=$(ops_listen_ino 8021)
	[ -n "$ino0" ] || { echo "FAIL: no listener on 8021"; return 1; }
	# The connection loop first, and a RETR of 16 s: beside the kernel
	# lane's 1000 sessions each step here took seconds, and the RETR must
	# still run when the reload comes.
	cli_py --host "$SRV4" --port 21 opsconnloop --stop "$d/stop" --ready "$d/loopready" \
		--max 30 --min 20 >"$d/loop.out" 2>&1 &
	loop=$!
	wait_file "$d/loopready" 20 || { cat "$d/loop.out"; return 1; }
	cli_py --host "$SRV4" --port 21 --mode pasv opssession --ready "$d/ready" --info "$d/info" \
		"slowretr:$OPS_64@$((4 << 20))" "cmd:MKD uploads/$SC_TAG-old=257" \
		"cmd:RMD uploads/$SC_TAG-old=250" >"$d/slow.out" 2>&1 &
	slow=$!
	wait_file "$d/ready" 20 || { cat "$d/slow.out" "$d/loop.out"; return 1; }
	sleep 0.3
	me=$(cat "$d/info")
	line=$(gw_ctl main sessions | awk -v c="$me" '$2 == c')
	echo "before the reload: $line"
	# transfer, or reply-held once the server has sent its last byte
	case $(echo "$line" | awk '{ print $5 }') in transfer|reply-held) ;; *)
		echo "FAIL: the session from $me is not in a transfer before the reload"; gw_ctl main sessions; return 1 ;;
	esac
	id=$(echo "$line" | awk '{ print $1 }')
	[ "$(ops_listening 8022)$(ops_listening 8024)" = nono ] || { echo "FAIL: 8022 or 8024 listening before the reload"; return 1; }
	ops_reload_conf '"SITE EXEC", "MKD"' "$OPS_L8022" "$OPS_L8024" | write_conf >/dev/null
	kill -HUP "$pid"
	wait_log "$LANE_DIR/ftpgw.log" 'configuration reloaded' 5 || return 1
	log_new "$LANE_DIR/ftpgw.log" | grep -E 'reload' | sed 's/^/gateway log: /'
	line=$(gw_ctl main sessions | awk -v c="$me" '$2 == c')
	echo "after the reload:  $line"
	case $(echo "$line" | awk '{ print $1, $5 }') in "$id transfer"|"$id reply-held") ;; *)
		echo "FAIL: session $id from $me is not still in a transfer after the reload"; return 1 ;;
	esac
	sleep 0.5
	: >"$d/stop"
	wait "$loop"
	rc=$?
	sed 's/^/connection loop: /' "$d/loop.out"
	[ "$rc" = 0 ] || { echo "FAIL: a connection during the reload failed"; return 1; }
	wait "$slow"
	rc=$?
	sed 's/^/session from before the reload: /' "$d/slow.out"
	[ "$rc" = 0 ] || { echo "FAIL: the session from before the reload (RETR across the SIGHUP, then MKD answered by the server)"; return 1; }
	ino1=$(ops_listen_ino 8021)
	[ "$ino0" = "$ino1" ] || { echo "FAIL: the listening socket changed across the reload ($ino0 -> $ino1)"; return 1; }
	echo "the listening socket was kept ($ino0)"
	[ "$(ops_listening 8022)$(ops_listening 8024)" = yesyes ] || { echo "FAIL: the listeners added (8022, 8024) are not listening"; return 1; }
	echo "the listeners added (8022, 8024) listen"
	cli_py --host "$SRV4" --port 21 opssession "cmd:MKD uploads/$SC_TAG-new=502" "retr:file-1MiB" ||
		{ echo "FAIL: a new session after the reload"; return 1; }
	[ ! -e "$IT_HOME/uploads/$SC_TAG-new" ] || { echo "FAIL: MKD reached the server in the new session"; return 1; }
	gw_stats main "$d/stats" || return 1
	st=$(stat_of "$d/stats" config_reloads)
	[ "$st" = 1 ] || { echo "FAIL: config_reloads $st, expected 1"; return 1; }
	echo "stats: config_reloads 1"
}

sc_ops_badreload() {
	local d=$LANE_DIR/badreload.$SC_N conf=$LANE_DIR/ftpgw.conf pid c0 c1 deny n r1 ino0 ino1 hit
	mkdir -p "$d"
	pid=$(gw_pid main)
	# What is in force now: MKD denied (502) or passed on (257).
	cli_py --host "$SRV4" --port 21 opssession "cmd:MKD uploads/$SC_TAG-a=257,502" >"$d/probe0" 2>&1 ||
		{ cat "$d/probe0"; return 1; }
	rmdir "$IT_HOME/uploads/$SC_TAG-a" 2>/dev/null
	c0=$(ops_code_of "$d/probe0" "MKD uploads/$SC_TAG-a")
	echo "before: MKD -> $c0"
	# The broken file also flips MKD: applied, even in part, it would show.
	if [ "$c0" = 502 ]; then deny='"SITE EXEC"'; else deny='"SITE EXEC", "MKD"'; fi
	gw_stats main "$d/stats0" || return 1
	ino0=$(ops_listen_ino 8021)
	cp "$conf" "$d/good.conf"
	sed -e "s/^deny-commands = .*/deny-commands = {$deny}/" -e 's/^\tport = 8021$/\tport = 70000/' \
		"$d/good.conf" | write_conf
	n=$(grep -n 'port = 70000' "$conf" | cut -d: -f1)
	[ -n "$n" ] || { echo "harness: no 'port = 70000' line"; return 1; }
	log_mark "$LANE_DIR/ftpgw.log"
	kill -HUP "$pid"
	wait_log "$LANE_DIR/ftpgw.log" 'reload failed: keeping the configuration in force' 5
	r1=$?
	cp "$d/good.conf" "$conf"
	[ "$r1" = 0 ] || { log_new "$LANE_DIR/ftpgw.log" | tail -n 5; return 1; }
	log_new "$LANE_DIR/ftpgw.log" | sed 's/^/gateway log: /'
	hit=$(log_new "$LANE_DIR/ftpgw.log" | grep -F -- "$conf:$n: ")
	[ -n "$hit" ] || { echo "FAIL: no log line naming $conf:$n: (the line of port = 70000)"; return 1; }
	! log_new "$LANE_DIR/ftpgw.log" | grep -q 'configuration reloaded' ||
		{ echo "FAIL: the gateway says it reloaded the bad file"; return 1; }
	gw_alive || return 1
	ino1=$(ops_listen_ino 8021)
	[ -n "$ino1" ] && [ "$ino0" = "$ino1" ] || { echo "FAIL: the listener changed ($ino0 -> $ino1)"; return 1; }
	cli_py --host "$SRV4" --port 21 opssession "cmd:MKD uploads/$SC_TAG-b=257,502" "retr:file-1MiB" \
		>"$d/probe1" 2>&1 || { cat "$d/probe1"; echo "FAIL: a new session after the failed reload"; return 1; }
	cat "$d/probe1"
	rmdir "$IT_HOME/uploads/$SC_TAG-b" 2>/dev/null
	c1=$(ops_code_of "$d/probe1" "MKD uploads/$SC_TAG-b")
	[ "$c1" = "$c0" ] || { echo "FAIL: MKD -> $c1 after the failed reload, $c0 before: the bad file was applied"; return 1; }
	echo "after: MKD -> $c1, as before"
	gw_stats main "$d/stats1" || return 1
	ops_delta "$d/stats0" "$d/stats1" config_reloads 0
}

# Listeners on reload: kept (same socket), removed (closed), added (open).
sc_ops_reload_listeners() {
	local d=$LANE_DIR/listeners.$SC_N deny i1 i2 j1 j2 c
	mkdir -p "$d"
	deny=$(sed -n 's/^deny-commands = {\(.*\)}$/\1/p' "$LANE_DIR/ftpgw.conf")
	# From main + extra (8022) + gone (8024) ...
	ops_reload_conf "$deny" "$OPS_L8022" "$OPS_L8024" | write_conf >/dev/null
	ops_hup ok || return 1
	[ "$(ops_listening 8024)" = yes ] || { echo "FAIL: 8024 not listening"; return 1; }
	i1=$(ops_listen_ino 8021) j1=$(ops_listen_ino 8022)
	gw_stats main "$d/s0" || return 1
	# ... to main + extra + more (8023, reverse to [$SRV6]:21).
	ops_reload_conf "$deny" "$OPS_L8022" \
		"listen \"more\" { address = \"::\"  port = 8023  mode = \"reverse\"  upstream = \"[$SRV6]:21\" }" | write_conf
	ops_hup ok || return 1
	i2=$(ops_listen_ino 8021) j2=$(ops_listen_ino 8022)
	[ -n "$i1" ] && [ "$i1" = "$i2" ] && [ -n "$j1" ] && [ "$j1" = "$j2" ] ||
		{ echo "FAIL: unchanged listeners reopened: 8021 $i1 -> $i2, 8022 $j1 -> $j2"; return 1; }
	echo "8021 and 8022 kept ($i2, $j2)"
	c=$(ops_connect "$GWC4" 8024)
	[ "$(ops_listening 8024)" = no ] && [ "$c" = refused ] || { echo "FAIL: 8024 (removed) still open: $c"; return 1; }
	echo "8024 (removed) closed: connection refused"
	cli_py --host "$GWC4" --port 8023 opssession retr:file-1MiB || { echo "FAIL: a session through 8023 (added, reverse)"; return 1; }
	gw_stats main "$d/s1" || return 1
	ops_delta "$d/s0" "$d/s1" config_reloads 1
}

# A listener whose mode changes on the same address (no bind conflict
# between its old and new socket).
sc_ops_reload_mode() {
	local d=$LANE_DIR/mode.$SC_N deny
	mkdir -p "$d"
	deny=$(sed -n 's/^deny-commands = {\(.*\)}$/\1/p' "$LANE_DIR/ftpgw.conf")
	ops_reload_conf "$deny" "$OPS_L8022" | write_conf >/dev/null
	ops_hup ok || return 1
	gw_stats main "$d/s0" || return 1
	ops_reload_conf "$deny" \
		"listen \"extra\" { address = \"::\"  port = 8022  mode = \"reverse\"  upstream = \"$SRV4:21\" }" | write_conf
	ops_hup ok || return 1
	cli_py --host "$GWC4" --port 8022 opssession retr:file-1MiB || { echo "FAIL: a session through 8022 (now reverse)"; return 1; }
	gw_stats main "$d/s1" || return 1
	ops_delta "$d/s0" "$d/s1" config_reloads 1
}

lane_ops() {
	lane_begin ops setup_ops
	# ops reload: SIGHUP during a 64MiB RETR (read at 4 MiB/s): the RETR
	# completes, sha256 ok; that session's MKD still reaches the server
	# (257), a new session's MKD gets 502 (deny-commands now has MKD);
	# ftpgwctl: config_reloads 1, the session stays in state transfer; the
	# listening socket is kept, the listeners added (8022, 8024) listen, a
	# connection loop during the reload never fails
	scenario "ops reload: SIGHUP during a 64MiB RETR" \
		reaped sc_ops_reload
	# ops reload: a bad file (port = 70000) on SIGHUP: ftpgw logs
	# FILE:LINE: and 'reload failed: keeping the configuration in force',
	# keeps its listener, a new session RETRs 1MiB sha256 ok under the old
	# settings (MKD as before), config_reloads unchanged
	scenario "ops reload: a bad file is refused, the old one stays" \
		reaped sc_ops_badreload
	# ops reload: listeners: on SIGHUP the unchanged ones (8021, 8022)
	# keep their socket, the removed one (8024) is closed (connection
	# refused), the added one (8023, reverse to [$SRV6]:21) serves a RETR
	# 1MiB; config_reloads +1
	scenario "ops reload: listeners kept, closed, opened" \
		reaped sc_ops_reload_listeners
	# ops reload: a listener whose mode changes on the same address (8022
	# redirect -> reverse to $SRV4:21): the reload succeeds and 8022
	# serves a RETR 1MiB in reverse mode; config_reloads +1
	scenario "ops reload: a listener changes mode on the same address" \
		reaped sc_ops_reload_mode
	lane_end
}

# ---------------------------------------------------------------- lane ops-stop: SIGTERM

# The gateways of this lane are started by the scenarios themselves (to
# see their exit status), so lane_end does not stop one (LANE_HAS_GW=0).
ops_stop_conf() {
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = $1
workers = 1
control-socket = "$LANE_DIR/ctl.sock"
listen "main" { address = "::"  port = 8021  mode = "redirect"  passive-address = "original" }
EOF
}

setup_ops_stop() {
	rules_use redirect 8021 21
}

# ops_wait_exit PID SECONDS: until PID (a child of this shell) has exited;
# its exit status in OPS_ST.  Fails if it is still running.
ops_wait_exit() {
	local i
	for i in $(seq $(($2 * 20))); do
		alive "$1" || break
		sleep 0.05
	done
	alive "$1" && return 1
	wait "$1" 2>/dev/null
	OPS_ST=$?
}

ops_now() { date +%s.%N; }
ops_secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ops_le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

sc_ops_stop_drain() {
	local d=$LANE_DIR/drain.$SC_N pid slow t0 t1 t2 c i st rc
	mkdir -p "$d"
	ops_stop_conf 40 || return 1
	log_mark "$LANE_DIR/ftpgw.log"
	gw_start "$LANE_DIR/ftpgw.conf" 8021 || return 1
	pid=$(gw_pid main)
	cli_py --host "$SRV4" --port 21 --mode pasv opssession --ready "$d/ready" \
		"slowretr:$OPS_64@$((4 << 20))" "cmd:NOOP=200" >"$d/slow.out" 2>&1 &
	slow=$!
	wait_file "$d/ready" 20 || { cat "$d/slow.out"; return 1; }
	c=$(ops_connect "$SRV4" 21)
	[ "$c" = connected ] || { echo "FAIL: before SIGTERM a connection is $c"; return 1; }
	t0=$(ops_now)
	kill -TERM "$pid"
	# New connections are refused at once (the redirect leads to a closed port).
	for i in $(seq 20); do
		c=$(ops_connect "$SRV4" 21)
		[ "$c" = refused ] && break
		sleep 0.05
	done
	t1=$(ops_now)
	[ "$c" = refused ] || { echo "FAIL: a new connection 1 s after SIGTERM: $c"; return 1; }
	echo "a new connection $(ops_secs "$t0" "$t1") s after SIGTERM: refused"
	[ -z "$(ip netns exec "$NS_GW" ss -Hltn 'sport = :8021')" ] || { echo "FAIL: 8021 still listening"; return 1; }
	alive "$pid" || { echo "FAIL: ftpgw exited with a transfer running"; return 1; }
	wait "$slow"
	rc=$?
	t1=$(ops_now)
	sed 's/^/client: /' "$d/slow.out"
	[ "$rc" = 0 ] || { echo "FAIL: the transfer running at SIGTERM did not complete"; return 1; }
	ops_le 1 "$(ops_secs "$t0" "$t1")" || { echo "FAIL: the client ended $(ops_secs "$t0" "$t1") s after SIGTERM: the transfer was not running across it"; return 1; }
	echo "the client completed $(ops_secs "$t0" "$t1") s after SIGTERM"
	ops_wait_exit "$pid" 42 || { echo "FAIL: ftpgw still running 42 s after SIGTERM (shutdown-timeout 40)"; return 1; }
	st=$OPS_ST
	t2=$(ops_now)
	log_new "$LANE_DIR/ftpgw.log" | grep -E 'stopping|exiting|shutdown' | sed 's/^/gateway log: /'
	[ "$st" = 0 ] || { echo "FAIL: ftpgw exit status $st"; return 1; }
	echo "ftpgw exited 0, $(ops_secs "$t1" "$t2") s after the last session (SIGTERM + $(ops_secs "$t0" "$t2") s)"
	# Well before shutdown-timeout (40 s), with room for a loaded machine.
	ops_le "$(ops_secs "$t1" "$t2")" 10 || { echo "FAIL: ftpgw lingered after its last session ended"; return 1; }
	no_sanitizer "$LANE_DIR/ftpgw.log"
}

sc_ops_stop_timeout() {
	local d=$LANE_DIR/timeout.$SC_N pid slow t0 t1 dt st rc
	mkdir -p "$d"
	ops_stop_conf 2 || return 1
	log_mark "$LANE_DIR/ftpgw.log"
	gw_start "$LANE_DIR/ftpgw.conf" 8021 || return 1
	pid=$(gw_pid main)
	# 4 MiB/s: 16 s for the whole file.
	cli_py --host "$SRV4" --port 21 --mode pasv opssession --expect-shutdown --ready "$d/ready" \
		"slowretr:$OPS_64@$((4 << 20))" >"$d/slow.out" 2>&1 &
	slow=$!
	wait_file "$d/ready" 20 || { cat "$d/slow.out"; return 1; }
	t0=$(ops_now)
	kill -TERM "$pid"
	ops_wait_exit "$pid" 10 || { echo "FAIL: ftpgw still running 10 s after SIGTERM (shutdown-timeout 2)"; return 1; }
	st=$OPS_ST
	t1=$(ops_now)
	dt=$(ops_secs "$t0" "$t1")
	log_new "$LANE_DIR/ftpgw.log" | grep -E 'stopping|exiting|shutdown|421| end: ' | sed 's/^/gateway log: /'
	echo "ftpgw exited with status $st $dt s after SIGTERM"
	[ "$st" = 0 ] || { echo "FAIL: exit status $st"; return 1; }
	ops_le 1.8 "$dt" && ops_le "$dt" 5 || { echo "FAIL: exit $dt s after SIGTERM, expected about 2 s (shutdown-timeout)"; return 1; }
	wait "$slow"
	rc=$?
	sed 's/^/client: /' "$d/slow.out"
	[ "$rc" = 0 ] || { echo "FAIL: the client did not get 421 or a closed control connection"; return 1; }
	no_sanitizer "$LANE_DIR/ftpgw.log"
}

lane_ops_stop() {
	lane_begin ops-stop setup_ops_stop
	# ops stop: SIGTERM during a 64MiB RETR (read at 4 MiB/s: 16 s, still
	# running when a loaded machine has taken seconds to see the listener
	# gone), shutdown-timeout 40: new connections refused at once (listener
	# closed), the RETR completes with sha256 ok, ftpgw exits 0 as soon as
	# the session ends
	scenario "ops stop: SIGTERM drains a 64MiB RETR, exit 0" \
		reaped sc_ops_stop_drain
	# ops stop: SIGTERM during a 64MiB RETR read at 4 MiB/s,
	# shutdown-timeout 2: ftpgw cuts it after ~2 s (client: data ends
	# early, then '421 Service shutting down.' or the control connection
	# closed) and exits 0
	scenario "ops stop: shutdown-timeout 2 cuts a slow RETR, exit 0" \
		reaped sc_ops_stop_timeout
	lane_end
}

# ---------------------------------------------------------------- lane ops-ctl: logs, ftpgwctl, metrics

setup_ops_ctl() {
	LANE_HAS_GW=1
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
workers = 1
control-socket = "$LANE_DIR/ctl.sock"
metrics-listen = "$OPS_METRICS"
transfer-log = "$LANE_DIR/xfer.log"
listen "main" { address = "::"  port = 8021  mode = "redirect"  passive-address = "original" }
EOF
	# Live byte counts of a running transfer are the relay's: the kernel
	# data path counts a channel's bytes when it ends (ftpgw.conf(5)).
	[ "${FTPGW_IT_DATA_PATH:-relay}" = relay ] || echo 'data-path = "relay"' >>"$LANE_DIR/ftpgw.conf"
	rules_use redirect 8021 21 || return 1
	gw_start "$LANE_DIR/ftpgw.conf" 8021
}

# ops_end_line CLIENT: the summary line of the session from CLIENT (3 s).
ops_end_line() {
	local i l
	for i in $(seq 30); do
		l=$(log_new "$LANE_DIR/ftpgw.log" | grep -F " end: client $1 ")
		[ -n "$l" ] && { echo "$l"; return 0; }
		sleep 0.1
	done
	return 1
}

# ops_xfer_line FILE N BYTES PATH-ERE DIR STATUS: line N of FILE (xferlog).
ops_xfer_line() {
	local l
	l=$(sed -n "$2p" "$1")
	echo "xferlog: $l"
	echo "$l" | awk -v bytes="$3" -v path="$4" -v dir="$5" -v st="$6" -v ip="$CLI4" -v user="$IT_USER" '
		NF != 18 { print "FAIL: " NF " fields, expected 18"; exit 1 }
		$0 !~ /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9] [0-9][0-9][0-9][0-9] / {
			print "FAIL: the date is not as in xferlog(5)"; exit 1 }
		$6 !~ /^[0-9]+$/ { print "FAIL: transfer time " $6; exit 1 }
		$7 != ip { print "FAIL: client " $7 ", expected " ip; exit 1 }
		bytes != "" && $8 != bytes { print "FAIL: " $8 " bytes, expected " bytes; exit 1 }
		bytes == "" && ($8 + 0 <= 0 || $8 + 0 >= 67108864) { print "FAIL: " $8 " bytes, expected part of the file"; exit 1 }
		$9 !~ path { print "FAIL: path " $9 ", expected /" path "/"; exit 1 }
		$10 != "b" || $11 != "_" || $13 != "r" || $15 != "ftp" || $16 != "0" || $17 != "*" {
			print "FAIL: fixed fields (b _ r ftp 0 *)"; exit 1 }
		$12 != dir { print "FAIL: direction " $12 ", expected " dir; exit 1 }
		$14 != user { print "FAIL: user " $14 ", expected " user; exit 1 }
		$18 != st { print "FAIL: completion " $18 ", expected " st; exit 1 }'
}

sc_ops_logs() {
	local d=$LANE_DIR/logs.$SC_N log=$LANE_DIR/ftpgw.log xl=$LANE_DIR/xfer.log \
		wrong=Wr0ng-ops-Pa55w0rd me l id new bad
	mkdir -p "$d"
	log_mark "$log" "$xl"
	cli_py --host "$SRV4" --port 21 --password "$wrong" opssession --login-expect 530 --info "$d/w" ||
		{ echo "FAIL: the session with a wrong password"; return 1; }
	cli_py --host "$SRV4" --port 21 --mode pasv opssession --info "$d/s" \
		retr:file-1MiB stor:file-1MiB retr:file-1B || return 1
	# The summary line of the session with three transfers.
	me=$(cat "$d/s")
	l=$(ops_end_line "$me") || { echo "FAIL: no summary line for the session from $me"; log_new "$log" | tail -n 5; return 1; }
	echo "summary: ${l#* }"
	id=$(echo "$l" | grep -oE '#[0-9]+ end: ' | grep -oE '[0-9]+')
	echo "$l" | grep -qE "#$id end: client $me server $SRV4:21 app ftp user \"$IT_USER\" transfers 3 bytes up $OPS_1M_SIZE down $((OPS_1M_SIZE + 1)) time [0-9]+s: [^ ]" ||
		{ echo "FAIL: summary line, expected: #ID end: client $me server $SRV4:21 app ftp user \"$IT_USER\" transfers 3 bytes up $OPS_1M_SIZE down $((OPS_1M_SIZE + 1)) time Ns: REASON"; return 1; }
	new=$(log_new "$log")
	for x in "C> USER $IT_USER" "C> PASS ****" "C> RETR file-1MiB"; do
		grep -qF -- "#$id $x" <<<"$new" || { echo "FAIL: no '#$id $x' line (debug log)"; return 1; }
	done
	echo "session #$id: its USER, PASS ****, RETR lines carry #$id"
	bad=$(grep -E ' (C>|S>|G>) | end: client ' <<<"$new" | grep -vE '^[0-9:.]+ [a-z]+: #[0-9]+ ')
	[ -z "$bad" ] || { echo "FAIL: session lines without #ID:"; echo "$bad" | head -n 3; return 1; }
	# Passwords: not the real one, not the wrong one, anywhere in the log.
	if grep -nF -e "PASS $IT_PASS" -e "$wrong" "$log"; then
		echo "FAIL: a password is in the gateway log"
		return 1
	fi
	[ "$(grep -cF 'C> PASS ****' <<<"$new")" -ge 2 ] || { echo "FAIL: fewer than 2 'C> PASS ****' lines for 2 logins"; return 1; }
	l=$(ops_end_line "$(cat "$d/w")") || { echo "FAIL: no summary line for the wrong-password session"; return 1; }
	echo "wrong password: ${l#* }"
	echo "no password in the log (PASS $IT_PASS, $wrong), PASS **** shown"
	# The transfer log: RETR 1MiB, STOR 1MiB, RETR 1B (written before the
	# final replies, so complete once the summary line is there).
	log_new "$xl" >"$d/xfer"
	[ "$(wc -l <"$d/xfer")" = 3 ] || { echo "FAIL: $(wc -l <"$d/xfer") new xferlog lines, expected 3:"; cat "$d/xfer"; return 1; }
	ops_xfer_line "$d/xfer" 1 $OPS_1M_SIZE '(^|/)file-1MiB$' o c &&
		ops_xfer_line "$d/xfer" 2 $OPS_1M_SIZE "(^|/)uploads/$SC_TAG-file-1MiB\$" i c &&
		ops_xfer_line "$d/xfer" 3 1 '(^|/)file-1B$' o c
}

# An ABORted RETR: its xferlog line says i (incomplete) and the bytes the
# gateway relayed, as many as the session's summary line counts.
sc_ops_xferlog_abort() {
	local d=$LANE_DIR/abort.$SC_N xl=$LANE_DIR/xfer.log l down
	mkdir -p "$d"
	log_mark "$LANE_DIR/ftpgw.log" "$xl"
	cli_py --host "$SRV4" --port 21 --mode epsv opssession --info "$d/a" abortretr:$OPS_64 || return 1
	l=$(ops_end_line "$(cat "$d/a")") || { echo "FAIL: no summary line for the session"; return 1; }
	echo "summary: ${l#* }"
	down=$(echo "$l" | grep -oE 'bytes up [0-9]+ down [0-9]+' | awk '{ print $5 }')
	log_new "$xl" >"$d/xfer"
	[ "$(wc -l <"$d/xfer")" = 1 ] || { echo "FAIL: $(wc -l <"$d/xfer") new xferlog lines, expected 1:"; cat "$d/xfer"; return 1; }
	ops_xfer_line "$d/xfer" 1 "$down" "(^|/)$OPS_64\$" o i
}

sc_ops_ctl() {
	local d=$LANE_DIR/ctl.$SC_N slow me l1 l2 rc out err
	mkdir -p "$d"
	ops_quiet_stats "$d/s0" || return 1
	cli_py --host "$SRV4" --port 21 --mode pasv opssession --ready "$d/ready" --info "$d/info" \
		"slowretr:$OPS_64@$((16 << 20))" >"$d/slow.out" 2>&1 &
	slow=$!
	wait_file "$d/ready" 20 || { cat "$d/slow.out"; return 1; }
	me=$(cat "$d/info")
	gw_ctl main sessions >"$d/sess1" || { echo "FAIL: ftpgwctl sessions"; return 1; }
	sleep 1
	gw_ctl main sessions >"$d/sess2" || { echo "FAIL: ftpgwctl sessions"; return 1; }
	cat "$d/sess1" "$d/sess2"
	[ "$(head -n1 "$d/sess1")" = "# id client server app state bytes-up bytes-down age-seconds user" ] ||
		{ echo "FAIL: header of ftpgwctl sessions"; return 1; }
	l1=$(awk -v c="$me" '$2 == c' "$d/sess1")
	l2=$(awk -v c="$me" '$2 == c' "$d/sess2")
	[ -n "$l1" ] && [ -n "$l2" ] || { echo "FAIL: the session from $me is not listed"; return 1; }
	echo "$l1" | awk -v s="$SRV4:21" -v u="$IT_USER" '
		$3 != s || $4 != "ftp" || ($5 != "transfer" && $5 != "reply-held") || $6 != 0 || $7 + 0 < 1048576 || $9 != u {
			print "FAIL: expected server " s " app ftp state transfer bytes-up 0 bytes-down >= 1 MiB user " u; exit 1 }' || return 1
	echo "$l1 $l2" | awk '$1 != $10 || ($14 != "transfer" && $14 != "reply-held") || $16 <= $7 {
		print "FAIL: a second later: same id, state transfer, more bytes down (" $7 " -> " $16 ")"; exit 1 }' || return 1
	echo "sessions: state transfer, bytes down $(echo "$l1" | awk '{ print $7 }') -> $(echo "$l2" | awk '{ print $7 }')"
	wait "$slow"
	rc=$?
	cat "$d/slow.out"
	[ "$rc" = 0 ] || return 1
	cli_py --host "$SRV4" --port 21 --mode port opssession retr:file-1MiB stor:file-1MiB || return 1
	ops_quiet_stats "$d/s1" || return 1
	cat "$d/s1"
	ops_delta "$d/s0" "$d/s1" sessions_total 2 &&
		ops_delta "$d/s0" "$d/s1" data_channels_passive 1 &&
		ops_delta "$d/s0" "$d/s1" data_channels_active 2 &&
		ops_delta "$d/s0" "$d/s1" data_bytes_to_client $((OPS_64_SIZE + OPS_1M_SIZE)) &&
		ops_delta "$d/s0" "$d/s1" data_bytes_to_server $OPS_1M_SIZE &&
		ops_delta "$d/s0" "$d/s1" sessions_refused_other 0 || return 1
	# Usage errors: exit 2; a socket nobody listens on: exit 1 and a message.
	out=$(gw_ctl main frobnicate 2>&1)
	rc=$?
	[ "$rc" = 2 ] && [[ $out == *usage* ]] || { echo "FAIL: ftpgwctl frobnicate: exit $rc, $out"; return 1; }
	echo "ftpgwctl frobnicate: exit 2, ${out%%$'\n'*}"
	err=$("$OPS_CTL" -s "$LANE_DIR/no-such.sock" stats 2>&1 >/dev/null)
	rc=$?
	[ "$rc" = 1 ] && [[ $err == *no-such.sock* ]] || { echo "FAIL: ftpgwctl -s (wrong path): exit $rc, '$err'"; return 1; }
	echo "ftpgwctl -s (wrong path): exit 1, $err"
}

# ops_metrics_check METRICS-BODY STATS: the exposition is well formed and
# says what ftpgwctl stats says.
ops_metrics_check() {
	"$PY" - "$1" "$2" "$("$FTPGW" -V | cut -d' ' -f2)" <<'EOF'
import re, sys
body = open(sys.argv[1]).read()
stats = dict(l.split() for l in open(sys.argv[2]) if l.strip())
helps, types, samples, bad = {}, {}, {}, []
for line in body.splitlines():
    if line.startswith("# HELP "):
        name, _, text = line[7:].partition(" ")
        helps[name] = text
    elif line.startswith("# TYPE "):
        name, _, t = line[7:].partition(" ")
        types[name] = t
    elif line.strip() and not line.startswith("#"):
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-z_]+="[a-z0-9_.]+"(,[a-z_]+="[a-z0-9_.]+")*\})? ([0-9.e+-]+)$', line)
        if not m:
            bad.append("malformed sample line %r" % line)
            continue
        if m.group(1) not in helps or m.group(1) not in types:
            bad.append("%s: no # HELP and # TYPE before its sample" % m.group(1))
        samples[m.group(1) + (m.group(2) or "")] = m.group(4)
want = [
    ("ftpgw_sessions_active", "gauge", "sessions_active"),
    ("ftpgw_sessions_total", "counter", "sessions_total"),
    ('ftpgw_sessions_refused_total{reason="limit"}', "counter", "sessions_refused_limit"),
    ('ftpgw_sessions_refused_total{reason="not_redirected"}', "counter", "sessions_refused_not_redirected"),
    ('ftpgw_sessions_refused_total{reason="other"}', "counter", "sessions_refused_other"),
    ('ftpgw_data_bytes_total{direction="to_server"}', "counter", "data_bytes_to_server"),
    ('ftpgw_data_bytes_total{direction="to_client"}', "counter", "data_bytes_to_client"),
    ('ftpgw_data_channels_total{mode="passive"}', "counter", "data_channels_passive"),
    ('ftpgw_data_channels_total{mode="active"}', "counter", "data_channels_active"),
    ("ftpgw_tls_handshakes_total", "counter", "tls_handshakes"),
    ("ftpgw_tls_failures_total", "counter", "tls_failures"),
    ("ftpgw_proxy_logins_total", "counter", "proxy_logins"),
    ("ftpgw_proxy_resolve_failures_total", "counter", "proxy_resolve_failures"),
    ("ftpgw_data_rate_limit_waits_total", "counter", "data_rate_limit_waits"),
    ("ftpgw_data_rate_limit_wait_milliseconds_total", "counter", "data_rate_limit_wait_ms"),
    ('ftpgw_data_channels_path_total{path="kernel"}', "counter", "data_channels_kernel"),
    ('ftpgw_data_channels_path_total{path="relay"}', "counter", "data_channels_kernel_fallback"),
    ('ftpgw_data_channels_path_total{path="relay_raced"}', "counter", "data_channels_kernel_raced"),
    ('ftpgw_config_reloads_total{result="ok"}', "counter", "config_reloads"),
    ('ftpgw_config_reloads_total{result="failed"}', "counter", "config_reloads_failed"),
    ("ftpgw_listener_handovers_total", "counter", "listener_handovers"),
    ("ftpgw_workers", "gauge", "workers"),
    ('ftpgw_build_info{version="%s"}' % sys.argv[3], "gauge", "build_info"),
    ("ftpgw_start_time_seconds", "gauge", "start_time_seconds"),
]
for key, typ, stat in want:
    fam = key.split("{")[0]
    if not helps.get(fam, "").strip():
        bad.append("%s: no # HELP text" % fam)
    if types.get(fam) != typ:
        bad.append("%s: # TYPE %r, expected %s" % (fam, types.get(fam), typ))
    if key not in samples:
        bad.append("no sample %s" % key)
    elif stat not in stats:
        bad.append("ftpgwctl stats lacks %s" % stat)
    elif float(samples[key]) != float(stats[stat]):
        bad.append("%s %s, ftpgwctl stats %s %s" % (key, samples[key], stat, stats[stat]))
    else:
        print("%-58s %12s == %s" % (key, samples[key], stat))
missing = set(stats) - {w[2] for w in want}
if missing:
    bad.append("stats without a metric: %s" % sorted(missing))
for b in bad:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
EOF
}

sc_ops_metrics() {
	local d=$LANE_DIR/metrics.$SC_N st
	mkdir -p "$d"
	ops_quiet_stats "$d/stats" || return 1
	in_ns "$NS_GW" curl -q -sS --max-time 10 -D "$d/head" -o "$d/body" "http://$OPS_METRICS/metrics" ||
		{ echo "FAIL: curl http://$OPS_METRICS/metrics"; return 1; }
	gw_stats main "$d/stats2" || return 1
	cmp -s "$d/stats" "$d/stats2" || { echo "FAIL: the counters moved while the lane was idle"; diff "$d/stats" "$d/stats2"; return 1; }
	head -n 3 "$d/head"
	st=$(head -n1 "$d/head" | tr -d '\r')
	[[ $st == "HTTP/1."[01]" 200 "* ]] || { echo "FAIL: status line '$st'"; return 1; }
	grep -qi '^content-type: text/plain' "$d/head" || { echo "FAIL: Content-Type is not text/plain"; return 1; }
	ops_metrics_check "$d/body" "$d/stats" || { cat "$d/body"; return 1; }
	in_ns "$NS_GW" curl -q -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://$OPS_METRICS/nothing-here" >"$d/404"
	[ "$(cat "$d/404")" = 404 ] || { echo "FAIL: GET /nothing-here: $(cat "$d/404"), expected 404"; return 1; }
	echo "GET /nothing-here: 404"
}

# logrotate: the transfer log moved away is written until SIGHUP, then a
# new file is opened at the configured path.
sc_ops_xferlog_rotate() {
	local d=$LANE_DIR/rotate.$SC_N xl=$LANE_DIR/xfer.log
	mkdir -p "$d"
	mv "$xl" "$d/xfer.log.1" || return 1
	log_mark "$d/xfer.log.1"
	cli_py --host "$SRV4" --port 21 opssession retr:file-1MiB || return 1
	[ ! -e "$xl" ] || { echo "FAIL: $xl reappeared before SIGHUP"; return 1; }
	log_new "$d/xfer.log.1" >"$d/old"
	[ "$(wc -l <"$d/old")" = 1 ] || { echo "FAIL: $(wc -l <"$d/old") lines in the moved file, expected 1"; return 1; }
	ops_xfer_line "$d/old" 1 $OPS_1M_SIZE '(^|/)file-1MiB$' o c || return 1
	log_mark "$LANE_DIR/ftpgw.log"
	kill -HUP "$(gw_pid main)"
	wait_log "$LANE_DIR/ftpgw.log" 'configuration reloaded' 5 || return 1
	cli_py --host "$SRV4" --port 21 opssession retr:file-1B || return 1
	[ -f "$xl" ] || { echo "FAIL: no new $xl after SIGHUP"; return 1; }
	[ "$(wc -l <"$xl")" = 1 ] || { echo "FAIL: $(wc -l <"$xl") lines in the new file, expected 1"; cat "$xl"; return 1; }
	ops_xfer_line "$xl" 1 1 '(^|/)file-1B$' o c || return 1
	log_new "$d/xfer.log.1" | grep -q 'file-1B' && { echo "FAIL: the moved file got the line of after SIGHUP"; return 1; }
	echo "the moved file kept the line before SIGHUP, the new one has the line after"
}

lane_ops_ctl() {
	lane_begin ops-ctl setup_ops_ctl
	# ops logs: summary line '#ID end: client $CLI4:PORT server $SRV4:21
	# app ftp user "$IT_USER" transfers 3 bytes up/down' with the exact
	# sizes (RETR 1MiB, STOR 1MiB, RETR 1B); session lines carry #ID; no
	# password in the log ('C> PASS ****'; a wrong password nowhere);
	# xferlog: one line per RETR/STOR with size, path, o/i, user, c
	scenario "ops logs: summary line, no password, xferlog lines" \
		reaped sc_ops_logs
	# ops logs: ABOR after 1MiB of a 64MiB RETR (EPSV): one xferlog line,
	# completion i, its byte count equal to the session summary's bytes
	# down (what the gateway relayed)
	scenario "ops logs: an ABORted RETR in the xferlog" \
		reaped sc_ops_xferlog_abort
	# ops ftpgwctl: during a 64MiB RETR 'sessions' lists it in state
	# transfer with growing bytes-down; after it and a PORT RETR+STOR
	# 1MiB, 'stats' grew by sessions_total 2, data_channels passive 1 /
	# active 2, data_bytes to_client 65MiB / to_server 1MiB; unknown
	# command exit 2 (usage), wrong socket path exit 1 with a message
	scenario "ops ftpgwctl: sessions during a RETR, stats, usage errors" \
		reaped sc_ops_ctl
	# ops metrics: GET http://$OPS_METRICS/metrics from gw: 200
	# text/plain, every family with # HELP and # TYPE (gauge/counter),
	# every value equal to ftpgwctl stats; GET /nothing-here 404
	scenario "ops metrics: /metrics equals ftpgwctl stats, 404 elsewhere" \
		reaped sc_ops_metrics
	# ops logs: transfer-log rotation: moved away, it gets the RETR before
	# SIGHUP; after SIGHUP a new file at the configured path gets the next
	# RETR
	scenario "ops logs: transfer-log rotation on SIGHUP" \
		reaped sc_ops_xferlog_rotate
	lane_end
}

# ---------------------------------------------------------------- lanes ops-nft-*: the rules of ftpgw -R

# ops_nft_apply: load what "ftpgw -R" prints for the lane's configuration
# into gw with nft, and run the policy-routing commands its comments give
# (tproxy).  No contrib script is used in these lanes.
ops_nft_apply() {
	local f=$LANE_DIR/rules.nft cmd n=0
	"$FTPGW" -R -c "$LANE_DIR/ftpgw.conf" >"$f" || { echo "ftpgw -R failed"; return 1; }
	cat "$f"
	ip netns exec "$NS_GW" nft -f "$f" || { echo "nft -f refused the rules of ftpgw -R"; return 1; }
	while IFS= read -r cmd; do
		echo "running: $cmd"
		# shellcheck disable=SC2086
		ip netns exec "$NS_GW" $cmd || return 1
		n=$((n + 1))
	done < <(sed -n 's/^#[[:space:]]*\(ip \(-6 \)\?\(rule\|route\) add .*\)$/\1/p' "$f")
	if [ "$1" = tproxy ] && [ "$n" != 4 ]; then
		echo "the tproxy rules name $n policy-routing commands, expected 4 (ip/ip -6 rule + route)"
		return 1
	fi
	echo "rules loaded:"
	ip netns exec "$NS_GW" nft list table inet ftpgw
	[ -z "$(ip netns exec "$NS_GW" iptables -w -t nat -S | grep -v '^-P')" ] || { echo "iptables nat rules exist"; return 1; }
}

ops_nft_setup() {
	LANE_HAS_GW=1
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
workers = 1
control-socket = "$LANE_DIR/ctl.sock"
listen "main" { address = "::"  port = 8021  mode = "$1"  passive-address = "original"  interface = "eth0" }
EOF
	ops_nft_apply "$1" || return 1
	gw_start "$LANE_DIR/ftpgw.conf" 8021
}
setup_ops_nft_redirect() { ops_nft_setup redirect; }
setup_ops_nft_tproxy() { ops_nft_setup tproxy; }

# sc_ops_nft MODE HOST [OPTIONS]: RETR+STOR 1MiB through the gateway; its
# stats prove the session went through it (not routed around it).
sc_ops_nft() {
	local mode=$1 host=$2 kind=passive d=$LANE_DIR/nft.$SC_N
	shift 2
	mkdir -p "$d"
	case $mode in port | eprt) kind=active ;; esac
	ops_quiet_stats "$d/s0" || return 1
	cli_py --host "$host" --port 21 --mode "$mode" "$@" opssession retr:file-1MiB stor:file-1MiB || return 1
	ops_quiet_stats "$d/s1" || return 1
	ops_delta "$d/s0" "$d/s1" sessions_total 1 &&
		ops_delta "$d/s0" "$d/s1" "data_channels_$kind" 2 &&
		ops_delta "$d/s0" "$d/s1" data_bytes_to_client $OPS_1M_SIZE
}

ops_nft_lane() {
	local m=$1 peer4=$2 peer6=$3 x="RETR+STOR 1MiB, rules of ftpgw -R in nft"
	scenario "ops nft $m v4 PASV: $x" sc_ops_nft pasv "$SRV4" --expect-pasv-host "$SRV4" ${peer4:+--expect-data-peer $peer4}
	scenario "ops nft $m v4 PORT: $x" sc_ops_nft port "$SRV4" ${peer4:+--expect-data-peer $peer4}
	scenario "ops nft $m v6 EPSV: $x" sc_ops_nft epsv "$SRV6" ${peer6:+--expect-data-peer $peer6}
	scenario "ops nft $m v6 EPRT: $x" sc_ops_nft eprt "$SRV6" ${peer6:+--expect-data-peer $peer6}
}

lane_ops_nft_redirect() {
	lane_begin ops-nft-redirect setup_ops_nft_redirect
	ops_nft_lane redirect "" ""
	lane_end
}

lane_ops_nft_tproxy() {
	lane_begin ops-nft-tproxy setup_ops_nft_tproxy
	ops_nft_lane tproxy "$SRV4" "$SRV6"
	lane_end
}

EXTRA_LANES+=(ops ops-stop ops-ctl ops-nft-redirect ops-nft-tproxy)
