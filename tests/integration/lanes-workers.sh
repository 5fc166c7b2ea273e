# lanes-workers.sh: ftpgw with several worker processes (sourced by run.sh).
#
#   workers        three gateways in gw, each with workers = 2 (a supervisor
#                  and two worker processes, SO_REUSEPORT listeners, a slice
#                  of the passive range per worker, limits counted in
#                  shared memory, control sockets PATH and PATH.1):
#                  "main"   redirect on 8021, passive 50000-50999 (worker 0
#                           50000-50499, worker 1 50500-50999)
#                  "limits" reverse 9031 -> vsftpd, passive 51000-51199,
#                           max-sessions = 5, max-sessions-per-client = 3
#                  "crash"  reverse 9041 -> vsftpd, passive 51200-51399,
#                           max-sessions-per-client = 4
#     spread   40 concurrent ftplib sessions: both workers hold some, each
#              worker's raw "sessions", "ftpgwctl sessions" (one header, all
#              40), stats; each session's 227 port lies in its worker's
#              slice, RETR 1MiB sha256
#     balance  worker-balance = least-busy (main): sessions one after
#              another all go to worker 0; sessions held open go to the
#              first worker within 2 sessions of the least busy
#     limits   max-sessions-per-client and max-sessions across the workers
#     crash    SIGKILL to a worker: logged, restarted, the other worker's
#              sessions carry on, the dead worker's sessions stop counting
#     reload   SIGHUP to the supervisor: every worker takes the new
#              deny-commands, config_reloads counts it once
#     stop     (at the end of the lane, per gateway) SIGTERM: supervisor
#              and workers exit, status 0, PATH and PATH.1 removed
#
# "limits" and "crash" run with worker-balance = hash: the kernel's
# SO_REUSEPORT hash of the connection's addresses and ports picks the
# worker (main has the default, least-busy: its eBPF program picks by the
# workers' session counts).  Where a scenario needs
# connections on a given worker (the limits, the crash), wkclient.py first
# "probes" source ports: it connects from chosen ports (a few at a time,
# within the limits), reads which worker lists each one, and resets them;
# the same 4-tuple later lands on the same worker (the hash is fixed while
# the listeners are), which each scenario confirms again for the
# connections a worker accepts.  A refused connection is never listed: its
# worker is the probed one, and the gateway's log line names its port.
#
# Every scenario name starts with "workers".

EXTRA_LANES+=(workers)

WK_CTL=$(dirname "$FTPGW")/ftpgwctl
WK_GWS=(main limits crash)
WK_MAIN_PASV=$GW_PASV            # 50000-50999, redirected by the contrib rules
WK_LIMITS_PASV=51000-51199
WK_CRASH_PASV=51200-51399

# ---------------------------------------------------------------- helpers

# wk_py ACTION [ARGS]: wkclient.py, in cli.
wk_py() {
	in_ns "$NS_CLI" "$PY" "$IT_SRC/wkclient.py" --fixtures "$IT_HOME" --user "$IT_USER" \
		--password "$IT_PASS" "$@"
}

# wk_on GW FN ARGS: run FN; if it fails, show GW's log since the start
# (the harness shows only the main gateway's), then FN's FAIL lines again
# so that they end the scenario's output.
wk_on() {
	local gw=$1 f out rc
	shift
	f=$(gw_logf "$gw")
	out=$LANE_DIR/wk-on.$SC_N
	log_mark "$f"
	reaped "$@" >"$out" 2>&1
	rc=$?
	cat "$out"
	if [ "$rc" != 0 ]; then
		if [ "$gw" != main ]; then
			echo "ftpgw ($gw) log during the scenario (last 10 lines):"
			log_new "$f" | tail -n 10
		fi
		grep -E '^FAIL' "$out" | tail -n 3
	fi
	return "$rc"
}

# wk_ready GW: the supervisor logged "2 workers ready" (each worker has
# bound its listeners and its control socket).
wk_ready() {
	local i f
	f=$(gw_logf "$1")
	for i in $(seq 50); do
		grep -q '2 workers ready' "$f" && return 0
		sleep 0.1
	done
	echo "ftpgw $1: no '2 workers ready' within 5 s"
	tail -n 20 "$f"
	return 1
}

wk_main_conf() {
	write_conf <<EOF
passive-ports = "$WK_MAIN_PASV"
shutdown-timeout = 3
workers = 2
max-sessions-per-client = 100
control-socket = "$LANE_DIR/ctl.sock"
deny-commands = {$1}
listen "main" { address = "::"  port = 8021  mode = "redirect"  passive-address = "original" }
EOF
}

setup_workers() {
	LANE_HAS_GW=1
		wk_main_conf '"SITE EXEC"' || return 1
	rules_use redirect 8021 21 || return 1
	gw_start "$LANE_DIR/ftpgw.conf" 8021 && wk_ready main || return 1
	extra_gw_start limits 9031 <<EOF || return 1
passive-ports = "$WK_LIMITS_PASV"
shutdown-timeout = 3
workers = 2
worker-balance = "hash"
max-sessions = 5
max-sessions-per-client = 3
control-socket = "$(gw_sock limits)"
listen "vsftpd" { address = "::"  port = 9031  mode = "reverse"  upstream = "$SRV4:21" }
EOF
	wk_ready limits || return 1
	extra_gw_start crash 9041 <<EOF || return 1
passive-ports = "$WK_CRASH_PASV"
shutdown-timeout = 3
workers = 2
worker-balance = "hash"
max-sessions-per-client = 4
control-socket = "$(gw_sock crash)"
listen "vsftpd" { address = "::"  port = 9041  mode = "reverse"  upstream = "$SRV4:21" }
EOF
	wk_ready crash
}

# ---------------------------------------------------------------- 1. spread

# wk_processes GW: the supervisor has exactly two children, the workers of
# its log ("worker I of 2 (pid P) starting"), each an ftpgw without
# children of its own.
wk_processes() {
	local pid kids k i wp exe
	pid=$(gw_pid "$1")
	alive "$pid" || { echo "FAIL: ftpgw ($1) is not running"; return 1; }
	kids=$(wk_children "$pid")
	echo "ftpgw ($1): supervisor $pid, children: $kids"
	[ "$(wc -w <<<"$kids")" = 2 ] || { echo "FAIL: $(wc -w <<<"$kids") children, expected 2 workers"; return 1; }
	for k in $kids; do
		# (" (deleted)": the binary was rebuilt since it started)
		exe=$(readlink "/proc/$k/exe")
		[ "${exe% (deleted)}" = "$(readlink -f "$FTPGW")" ] ||
			{ echo "FAIL: child $k runs $exe, not $FTPGW"; return 1; }
		[ -z "$(wk_children "$k")" ] || { echo "FAIL: worker $k has children: $(wk_children "$k")"; return 1; }
	done
	for i in 0 1; do
		wp=$(wk_worker_pid "$1" "$i")
		[ -n "$wp" ] && [[ " $kids " == *" $wp "* ]] ||
			{ echo "FAIL: worker $i (pid '${wp}' in the log) is not a child of the supervisor"; return 1; }
		echo "worker $i: pid $wp"
	done
}

sc_wk_spread() {
	wk_processes main || return 1
	wk_py --ctl "$(gw_sock main)" spread --host "$SRV4" --port 21 --count 40 \
		--pasv "$WK_MAIN_PASV" --pasv-host "$SRV4" --ftpgwctl "$WK_CTL"
}

sc_wk_balance() {
	local f
	f=$(gw_logf main)
	grep -q 'workers: a new connection goes to the first worker within 2 sessions' "$f" ||
		{ echo "FAIL: ftpgw (main) did not log that least-busy is on:"; grep 'workers:' "$f"; return 1; }
	wk_py --ctl "$(gw_sock main)" balance --host "$SRV4" --port 21 --rounds 12
}

# ---------------------------------------------------------------- 2. limits

# wk_refusal_lines FILE ERE-HOST REASON: every "PORT WORKER" line of FILE
# (refused connections, from wkclient.py) has its log line "client HOST:PORT
# refused: REASON" in the limits gateway's log, and the refused ones were
# on both workers.
wk_refusal_lines() {
	local file=$1 host=$2 reason=$3 port w seen=" "
	[ -s "$file" ] || { echo "FAIL: no refused connections listed in $file"; return 1; }
	while read -r port w; do
		log_new "$(gw_logf limits)" | grep -qE -- "client $host:$port refused: $reason" ||
			{ echo "FAIL: no log line 'client $host:$port refused: $reason' (worker $w)"; return 1; }
		seen+="$w "
	done <"$file"
	echo "log: 'refused: $reason' for each refused connection, on workers:$seen"
	[[ $seen == *" 0 "* && $seen == *" 1 "* ]] || { echo "FAIL: the refused connections were not on both workers"; return 1; }
}

sc_wk_percli() {
	local d=$LANE_DIR/percli.$SC_N n
	mkdir -p "$d"
	wk_py --ctl "$(gw_sock limits)" percli --host "$GWC4" --port 9031 --local "$CLI4" \
		--limit 3 --count 8 --refused "$d/refused" || return 1
	wk_refusal_lines "$d/refused" '198\.51\.100\.2' 'max-sessions-per-client reached' || return 1
	n=$(log_new "$(gw_logf limits)" | grep -oE 'refused: max-sessions-per-client reached' | wc -l)
	[ "$n" = 6 ] || { echo "FAIL: $n 'max-sessions-per-client reached' log lines, expected 6 (5 + the one after the close)"; return 1; }
	! log_new "$(gw_logf limits)" | grep -q 'refused: max-sessions reached' ||
		{ echo "FAIL: a 'max-sessions reached' refusal (max-sessions is 5, never reached here)"; return 1; }
	echo "log: 6 refusals, all for max-sessions-per-client"
}

sc_wk_maxsess() {
	local d=$LANE_DIR/maxsess.$SC_N n
	mkdir -p "$d"
	wk_py --ctl "$(gw_sock limits)" maxsess --host "$GWC4" --host6 "$GWC6" --port 9031 \
		--local "$CLI4" --local6 "$CLI6" --refused "$d/refused" || return 1
	wk_refusal_lines "$d/refused" '\[2001:db8:1::2\]' 'max-sessions reached' || return 1
	n=$(log_new "$(gw_logf limits)" | grep -oE 'refused: max-sessions reached' | wc -l)
	[ "$n" = 3 ] || { echo "FAIL: $n 'max-sessions reached' log lines, expected 3"; return 1; }
	echo "log: 3 refusals for max-sessions"
}

# ---------------------------------------------------------------- 3. crash

# wk_age PID: whole seconds since PID started (/proc/PID/stat field 22).

sc_wk_crash() {
	local d=$LANE_DIR/crash.$SC_N pid kids k a victim other new i py rc kids2
	mkdir -p "$d"
	wk_processes crash || return 1
	pid=$(gw_pid crash)
	kids=$(wk_children "$pid")
	# The supervisor gives up (exit 1) on a worker that dies within 5 s
	# of its start: let both be older.
	for k in $kids; do
		a=$(wk_age "$k")
		[ -n "$a" ] || { echo "FAIL: no age for worker $k"; return 1; }
		[ "$a" -ge 6 ] || sleep $((6 - a))
	done
	echo "worker ages: $(for k in $kids; do echo -n "$k: $(wk_age "$k") s  "; done)"
	victim=$(wk_worker_pid crash 1)
	other=$(wk_worker_pid crash 0)
	log_mark "$(gw_logf crash)"
	wk_py --ctl "$(gw_sock crash)" crash --host "$GWC4" --port 9041 --local "$CLI4" --limit 4 \
		--pasv "$WK_CRASH_PASV" --pasv-host "$GWC4" --dead 1 --ready "$d/ready" --go "$d/go" &
	py=$!
	for i in $(seq 300); do
		[ -e "$d/ready" ] && break
		alive "$py" || break
		sleep 0.1
	done
	[ -e "$d/ready" ] || { echo "FAIL: the client did not get its sessions up"; wait "$py"; return 1; }
	echo "== SIGKILL to worker 1 (pid $victim)"
	kill -KILL "$victim"
	wait_log "$(gw_logf crash)" "worker 1 \(pid $victim\) killed by signal 9([^0-9]|\$)" 5 || return 1
	wait_log "$(gw_logf crash)" 'restarting worker 1' 5 || return 1
	for i in $(seq 50); do
		new=$(wk_worker_pid crash 1)
		[ "$new" != "$victim" ] && [ -n "$new" ] && log_new "$(gw_logf crash)" | grep -q 'worker 1 ready' && break
		sleep 0.1
	done
	wait_log "$(gw_logf crash)" "worker 1 of 2 \(pid $new\) starting" 1 || return 1
	wait_log "$(gw_logf crash)" 'worker 1 ready' 1 || return 1
	kids2=$(wk_children "$pid")
	echo "children now: $kids2 (before: $kids)"
	[[ " $kids2 " == *" $new "* && " $kids2 " == *" $other "* && $(wc -w <<<"$kids2") == 2 ]] ||
		{ echo "FAIL: the children are not worker 0 ($other) and the new worker 1 ($new)"; return 1; }
	! alive "$victim" || { echo "FAIL: the killed worker $victim still exists"; return 1; }
	alive "$pid" || { echo "FAIL: the supervisor died"; return 1; }
	[ -S "$(gw_sock crash).1" ] || { echo "FAIL: $(gw_sock crash).1 is missing after the restart"; return 1; }
	: >"$d/go"
	wait "$py"
	rc=$?
	[ "$rc" = 0 ] || { echo "FAIL: the client (exit $rc)"; return 1; }
	alive "$pid" || { echo "FAIL: the supervisor died"; return 1; }
	[ "$(wk_children "$pid")" = "$kids2" ] || { echo "FAIL: the workers changed again: $(wk_children "$pid")"; return 1; }
	! log_new "$(gw_logf crash)" | grep -E 'died at start|did not start' ||
		{ echo "FAIL: the supervisor thinks a worker died at start"; return 1; }
	echo "the supervisor ($pid) lives on with workers $kids2"
}

# sc_wk_killloop: workers killed one after the other (SIGKILL, each older
# than 5 s, alternating) while a client opens and closes sessions without
# pause; once the load stops, the shared counts are whole again: stats
# sessions_active 0 within 10 s, and max-sessions-per-client = 4 admits
# exactly 4 concurrent sessions (a count leaked by a worker killed in the
# middle of an update would refuse some).
sc_wk_killloop() {
	local d=$LANE_DIR/killloop.$SC_N pid load n victim w a k i active
	mkdir -p "$d"
	pid=$(gw_pid crash)
	in_ns "$NS_CLI" "$PY" - "$GWC4" 9041 "$IT_USER" "$IT_PASS" "$d/stop" >"$d/load.out" 2>&1 <<'PY' &
import ftplib, os, sys, time
host, port, user, pw, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ok = bad = 0
while not os.path.exists(stop):
    try:
        f = ftplib.FTP(timeout=5)
        f.connect(host, port)
        f.login(user, pw)
        f.voidcmd("NOOP")
        f.quit()
        ok += 1
    except Exception:
        bad += 1
print("load: %d sessions, %d cut short" % (ok, bad))
PY
	load=$!
	for n in 1 2 3 4; do
		w=$(( n % 2 ))
		for k in $(wk_children "$pid"); do
			a=$(wk_age "$k")
			[ -n "$a" ] && [ "$a" -lt 6 ] && sleep $((6 - a))
		done
		victim=$(wk_worker_pid crash "$w")
		log_mark "$(gw_logf crash)"
		echo "== kill $n: SIGKILL to worker $w (pid $victim)"
		kill -KILL "$victim"
		wait_log "$(gw_logf crash)" "worker $w ready" 10 || { : >"$d/stop"; wait "$load"; return 1; }
	done
	: >"$d/stop"
	wait "$load"
	cat "$d/load.out"
	alive "$pid" || { echo "FAIL: the supervisor died"; return 1; }
	for i in $(seq 50); do
		active=$(gw_stat crash sessions_active)
		[ "$active" = 0 ] && break
		sleep 0.2
	done
	echo "sessions_active after the load: $active"
	[ "$active" = 0 ] || { echo "FAIL: sessions_active $active, expected 0"; return 1; }
	in_ns "$NS_CLI" "$PY" - "$GWC4" 9041 "$IT_USER" "$IT_PASS" <<'PY'
import ftplib, sys
host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
held = []
for i in range(4):
    f = ftplib.FTP(timeout=8)
    f.connect(host, port)
    f.login(user, pw)
    held.append(f)
print("4 concurrent sessions logged in")
f = ftplib.FTP(timeout=8)
try:
    w = f.connect(host, port)
    sys.exit("FAIL: a 5th session got %r" % w)
except ftplib.error_temp as e:
    print("the 5th:", e)
for f in held:
    f.quit()
PY
}

# ---------------------------------------------------------------- 4. reload

sc_wk_reload() {
	local pid n r i sock
	pid=$(gw_pid main)
	r=$(gw_stat main config_reloads)
	[ "$r" = 0 ] || { echo "FAIL: config_reloads $r before the reload, expected 0"; return 1; }
	echo "== before the reload: MKD is passed on"
	wk_py --ctl "$(gw_sock main)" mkd --host "$SRV4" --port 21 --count 1 --expect 257 \
		--dir "$IT_HOME/uploads" --tag "$SC_TAG-before" || return 1
	wk_main_conf '"SITE EXEC", "MKD"' >/dev/null
	log_mark "$LANE_DIR/ftpgw.log"
	echo "== SIGHUP to the supervisor ($pid)"
	kill -HUP "$pid"
	for i in $(seq 50); do
		[ "$(log_new "$LANE_DIR/ftpgw.log" | grep -o 'configuration reloaded' | wc -l)" -ge 2 ] && break
		sleep 0.1
	done
	log_new "$LANE_DIR/ftpgw.log" | grep -E 'reload' | sed 's/^/gateway log: /'
	n=$(log_new "$LANE_DIR/ftpgw.log" | grep -o 'configuration reloaded' | wc -l)
	[ "$n" = 2 ] || { echo "FAIL: $n 'configuration reloaded' lines, expected 2 (one per worker)"; return 1; }
	! log_new "$LANE_DIR/ftpgw.log" | grep -q 'reload failed' || { echo "FAIL: a worker failed to reload"; return 1; }
	echo "== 20 new sessions: MKD denied"
	wk_py --ctl "$(gw_sock main)" mkd --host "$SRV4" --port 21 --count 20 --expect 502 \
		--dir "$IT_HOME/uploads" --tag "$SC_TAG-after" || return 1
	for sock in "$(gw_sock main)" "$(gw_sock main).1"; do
		r=$("$WK_CTL" -s "$sock" stats | awk '$1 == "config_reloads" { print $2 }')
		[ "$r" = 1 ] || { echo "FAIL: config_reloads $r on $sock, expected 1"; return 1; }
	done
	echo "stats (PATH and PATH.1): config_reloads 1"
	[ "$(wk_children "$pid" | wc -w)" = 2 ] || { echo "FAIL: not 2 workers after the reload"; return 1; }
}

# ---------------------------------------------------------------- 5. stop

# wk_stop GW: SIGTERM to the supervisor (lib.sh's gw_stop_pid: it exits
# in time with status 0, no sanitizer report); both workers are gone with
# it, and the control sockets PATH and PATH.1 are removed.
wk_stop() {
	local gw=$1 pid kids k sock bad=0
	pid=$(gw_pid "$gw") || { echo "ftpgw ($gw) was not started"; return 1; }
	sock=$(gw_sock "$gw")
	kids=$(wk_children "$pid")
	echo "ftpgw ($gw): supervisor $pid, workers $kids"
	[ "$(wc -w <<<"$kids")" = 2 ] || { echo "FAIL: $(wc -w <<<"$kids") workers before SIGTERM, expected 2"; bad=1; }
	[ -S "$sock" ] && [ -S "$sock.1" ] || { echo "FAIL: $sock or $sock.1 missing before SIGTERM"; bad=1; }
	gw_stop_pid "$(gw_pidf "$gw")" "$(gw_logf "$gw")" "ftpgw ($gw)" || bad=1
	for k in $kids; do
		if alive "$k"; then
			echo "FAIL: worker $k still runs after the supervisor stopped"
			kill -KILL "$k"
			bad=1
		fi
	done
	echo "workers $kids gone"
	for k in "$sock" "$sock.1"; do
		[ ! -e "$k" ] || { echo "FAIL: $k still exists"; bad=1; }
	done
	echo "control sockets removed"
	[ "$bad" = 0 ]
}

# wk_lane_end: stop each gateway (a TAP line each), then lane_end, which
# then stops none (they are stopped).
wk_lane_end() {
	local gw
	if [ "$LANE_STATE" = up ]; then
		for gw in "${WK_GWS[@]}"; do
			gw_stop_result "$gw" "$LANE: ftpgw ($gw) and its workers stop on SIGTERM" wk_stop
		done
	fi
	LANE_HAS_GW=0
	lane_end
}

lane_workers() {
	lane_begin workers setup_workers
	# workers spread: workers = 2, redirect: supervisor + 2 worker
	# processes; 40 concurrent ftplib sessions, both workers hold some
	# (raw 'sessions' on PATH and PATH.1: '# worker I of 2'), 'ftpgwctl
	# sessions' lists all 40 under one header, stats sessions_active 40 /
	# workers 2 on both sockets; each session's PASV port lies in its
	# worker's slice (50000-50499 / 50500-50999), RETR 1MiB sha256 on each
	scenario "workers spread: 40 sessions over 2 workers, PASV slices" \
		sc_wk_spread
	# workers balance: worker-balance = least-busy (the default) is logged
	# at start; 12 sessions from $CLI4 one after another (login, listed,
	# QUIT) are all worker 0's (the hash: 1 in 4096); then 6 sessions
	# held open one after another go to workers 0 0 0 1 0 1, each the
	# first within 2 sessions of the least busy
	scenario "workers balance: least-busy keeps a light load on one worker" \
		sc_wk_balance
	# workers limits: max-sessions-per-client = 3 over 2 workers: 8
	# connections from $CLI4 (alternating workers by source port): 3 get
	# 220 and log in (on both workers), 5 get '421 Too many connections;
	# try again later.' and are closed, refused on both workers (log line
	# per port); stats sessions_active 3, sessions_refused_limit +5; after
	# a QUIT one more gets in, the next is refused
	scenario "workers limits: max-sessions-per-client = 3 over 2 workers" \
		wk_on limits sc_wk_percli
	# workers limits: max-sessions = 5 over 2 workers: 3 sessions from
	# $CLI4 and 2 from $CLI6 (both workers), stats sessions_active 5;
	# $CLI6's 3rd connection (under its per-client limit) gets 421 on
	# either worker, log 'max-sessions reached'; one more from $CLI4 too
	scenario "workers limits: max-sessions = 5 over 2 workers" \
		wk_on limits sc_wk_maxsess
	# workers crash: SIGKILL to worker 1 (older than 5 s) holding 2 of 4
	# sessions: the supervisor logs 'killed by signal 9' and 'restarting
	# worker 1', a new worker 1 runs within 5 s, the supervisor lives; the
	# dead worker's sessions are closed, worker 0's two do PASV (its
	# slice) + RETR 1MiB sha256; stats sessions_active 2 and with
	# max-sessions-per-client = 4 two new sessions get in, a 5th is
	# refused
	scenario "workers crash: SIGKILL to a worker, restarted, others live" \
		wk_on crash sc_wk_crash
	# workers crash: 4 SIGKILLs, alternating workers, under a load of
	# sessions opened and closed without pause: afterwards stats
	# sessions_active 0, and max-sessions-per-client = 4 admits exactly 4
	scenario "workers crash: kills under load leave the counts whole" \
		wk_on crash sc_wk_killloop
	# workers reload: SIGHUP to the supervisor with MKD added to
	# deny-commands (MKD 257 before): both workers log 'configuration
	# reloaded', 20 new sessions on both workers get '502 Command not
	# allowed by the gateway.' for MKD and nothing is created;
	# config_reloads exactly 1 (PATH and PATH.1)
	scenario "workers reload: SIGHUP reaches every worker once" \
		sc_wk_reload
	wk_lane_end
}
