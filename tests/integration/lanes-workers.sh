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
#     limits   max-sessions-per-client and max-sessions across the workers
#     crash    SIGKILL to a worker: logged, restarted, the other worker's
#              sessions carry on, the dead worker's sessions stop counting
#     reload   SIGHUP to the supervisor: every worker takes the new
#              deny-commands, config_reloads counts it once
#     stop     (at the end of the lane, per gateway) SIGTERM: supervisor
#              and workers exit, status 0, PATH and PATH.1 removed
#
# Which worker a connection goes to is the kernel's choice: SO_REUSEPORT
# hashes the connection's addresses and ports.  Where a scenario needs
# connections on a given worker (the limits, the crash), wk.py first
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

# Files of gateway NAME (main: the lane's own, started by gw_start).
wk_pidfile() { if [ "$1" = main ]; then echo "$LANE_DIR/ftpgw.pid"; else echo "$LANE_DIR/gw-$1.pid"; fi; }
wk_log() { if [ "$1" = main ]; then echo "$LANE_DIR/ftpgw.log"; else echo "$LANE_DIR/gw-$1.log"; fi; }
wk_sock() { if [ "$1" = main ]; then echo "$LANE_DIR/ctl.sock"; else echo "$LANE_DIR/ctl-$1.sock"; fi; }
wk_pid() { cat "$(wk_pidfile "$1")"; }

# wk_children PID: the child processes of PID (one line, sorted).
wk_children() { tr ' ' '\n' <"/proc/$1/task/$1/children" 2>/dev/null | grep . | sort -n | tr '\n' ' ' | sed 's/ $//'; }

# wk_worker_pid GW I: the pid of worker I from the newest "worker I of N
# (pid P) starting" line of GW's log.
wk_worker_pid() {
	grep -oE "worker $2 of [0-9]+ \(pid [0-9]+\) starting" "$(wk_log "$1")" | tail -n1 | grep -oE 'pid [0-9]+' | cut -c5-
}

wk_ctl() { "$WK_CTL" -s "$(wk_sock "$1")" "$2"; }
wk_stat() { wk_ctl "$1" stats | awk -v n="$2" '$1 == n { print $2; f = 1 } END { if (!f) print "missing" }'; }

# wk_py ACTION [ARGS]: the lane's python helper, in cli.
wk_py() {
	in_ns "$NS_CLI" "$PY" "$LANE_DIR/wk.py" --fixtures "$IT_HOME" --user "$IT_USER" \
		--password "$IT_PASS" "$@"
}

# wk_wait_log GW ERE SECONDS: a line matching ERE in GW's log since log_mark.
wk_wait_log() {
	local f i
	f=$(wk_log "$1")
	for i in $(seq $(($3 * 10))); do
		log_new "$f" | grep -qE -- "$2" && { echo "${f##*/}: $(log_new "$f" | grep -E -m1 -- "$2")"; return 0; }
		sleep 0.1
	done
	echo "FAIL: no line /$2/ in ${f##*/} within $3 s"
	return 1
}

# wk_on GW FN ARGS: run FN; if it fails, show GW's log since the start
# (the harness shows only the main gateway's), then FN's FAIL lines again
# so that they end the scenario's output.
wk_on() {
	local gw=$1 f out rc p
	shift
	f=$(wk_log "$gw")
	out=$LANE_DIR/wk-on.$SC_N
	log_mark "$f"
	"$@" >"$out" 2>&1
	rc=$?
	cat "$out"
	# End what FN left running in the background (a client), by PID.
	for p in $(jobs -pr); do kill -TERM "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "$rc" != 0 ]; then
		if [ "$gw" != main ]; then
			echo "ftpgw ($gw) log during the scenario (last 10 lines):"
			log_new "$f" | tail -n 10
		fi
		grep -E '^FAIL' "$out" | tail -n 3
	fi
	return "$rc"
}

# wk_gw_start NAME PORT...: a further gateway (lib.sh's extra_gw_start).
wk_gw_start() { extra_gw_start "$@"; }

# wk_ready GW: the supervisor logged "2 workers ready" (each worker has
# bound its listeners and its control socket).
wk_ready() {
	local i f
	f=$(wk_log "$1")
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
	wk_write_py >"$LANE_DIR/wk.py" || return 1
	wk_main_conf '"SITE EXEC"' || return 1
	rules_use redirect 8021 21 || return 1
	gw_start "$LANE_DIR/ftpgw.conf" 8021 && wk_ready main || return 1
	wk_gw_start limits 9031 <<EOF || return 1
passive-ports = "$WK_LIMITS_PASV"
shutdown-timeout = 3
workers = 2
max-sessions = 5
max-sessions-per-client = 3
control-socket = "$(wk_sock limits)"
listen "vsftpd" { address = "::"  port = 9031  mode = "reverse"  upstream = "$SRV4:21" }
EOF
	wk_ready limits || return 1
	wk_gw_start crash 9041 <<EOF || return 1
passive-ports = "$WK_CRASH_PASV"
shutdown-timeout = 3
workers = 2
max-sessions-per-client = 4
control-socket = "$(wk_sock crash)"
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
	pid=$(wk_pid "$1")
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
	wk_py --ctl "$(wk_sock main)" spread --host "$SRV4" --port 21 --count 40 \
		--pasv "$WK_MAIN_PASV" --pasv-host "$SRV4" --ftpgwctl "$WK_CTL"
}

# ---------------------------------------------------------------- 2. limits

# wk_refusal_lines FILE ERE-HOST REASON: every "PORT WORKER" line of FILE
# (refused connections, from wk.py) has its log line "client HOST:PORT
# refused: REASON" in the limits gateway's log, and the refused ones were
# on both workers.
wk_refusal_lines() {
	local file=$1 host=$2 reason=$3 port w seen=" "
	[ -s "$file" ] || { echo "FAIL: no refused connections listed in $file"; return 1; }
	while read -r port w; do
		log_new "$(wk_log limits)" | grep -qE -- "client $host:$port refused: $reason" ||
			{ echo "FAIL: no log line 'client $host:$port refused: $reason' (worker $w)"; return 1; }
		seen+="$w "
	done <"$file"
	echo "log: 'refused: $reason' for each refused connection, on workers:$seen"
	[[ $seen == *" 0 "* && $seen == *" 1 "* ]] || { echo "FAIL: the refused connections were not on both workers"; return 1; }
}

sc_wk_percli() {
	local d=$LANE_DIR/percli.$SC_N n
	mkdir -p "$d"
	wk_py --ctl "$(wk_sock limits)" percli --host "$GWC4" --port 9031 --local "$CLI4" \
		--limit 3 --count 8 --refused "$d/refused" || return 1
	wk_refusal_lines "$d/refused" '198\.51\.100\.2' 'max-sessions-per-client reached' || return 1
	n=$(log_new "$(wk_log limits)" | grep -oE 'refused: max-sessions-per-client reached' | wc -l)
	[ "$n" = 6 ] || { echo "FAIL: $n 'max-sessions-per-client reached' log lines, expected 6 (5 + the one after the close)"; return 1; }
	! log_new "$(wk_log limits)" | grep -q 'refused: max-sessions reached' ||
		{ echo "FAIL: a 'max-sessions reached' refusal (max-sessions is 5, never reached here)"; return 1; }
	echo "log: 6 refusals, all for max-sessions-per-client"
}

sc_wk_maxsess() {
	local d=$LANE_DIR/maxsess.$SC_N n
	mkdir -p "$d"
	wk_py --ctl "$(wk_sock limits)" maxsess --host "$GWC4" --host6 "$GWC6" --port 9031 \
		--local "$CLI4" --local6 "$CLI6" --refused "$d/refused" || return 1
	wk_refusal_lines "$d/refused" '\[2001:db8:1::2\]' 'max-sessions reached' || return 1
	n=$(log_new "$(wk_log limits)" | grep -oE 'refused: max-sessions reached' | wc -l)
	[ "$n" = 3 ] || { echo "FAIL: $n 'max-sessions reached' log lines, expected 3"; return 1; }
	echo "log: 3 refusals for max-sessions"
}

# ---------------------------------------------------------------- 3. crash

# wk_age PID: whole seconds since PID started (/proc/PID/stat field 22).
wk_age() {
	awk -v hz="$(getconf CLK_TCK)" -v up="$(cut -d' ' -f1 /proc/uptime)" \
		'{ sub(/^.*\) /, ""); print int(up - $20 / hz) }' "/proc/$1/stat" 2>/dev/null
}

sc_wk_crash() {
	local d=$LANE_DIR/crash.$SC_N pid kids k a victim other new i py rc kids2
	mkdir -p "$d"
	wk_processes crash || return 1
	pid=$(wk_pid crash)
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
	log_mark "$(wk_log crash)"
	wk_py --ctl "$(wk_sock crash)" crash --host "$GWC4" --port 9041 --local "$CLI4" --limit 4 \
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
	wk_wait_log crash "worker 1 \(pid $victim\) killed by signal 9([^0-9]|\$)" 5 || return 1
	wk_wait_log crash 'restarting worker 1' 5 || return 1
	for i in $(seq 50); do
		new=$(wk_worker_pid crash 1)
		[ "$new" != "$victim" ] && [ -n "$new" ] && log_new "$(wk_log crash)" | grep -q 'worker 1 ready' && break
		sleep 0.1
	done
	wk_wait_log crash "worker 1 of 2 \(pid $new\) starting" 1 || return 1
	wk_wait_log crash 'worker 1 ready' 1 || return 1
	kids2=$(wk_children "$pid")
	echo "children now: $kids2 (before: $kids)"
	[[ " $kids2 " == *" $new "* && " $kids2 " == *" $other "* && $(wc -w <<<"$kids2") == 2 ]] ||
		{ echo "FAIL: the children are not worker 0 ($other) and the new worker 1 ($new)"; return 1; }
	! alive "$victim" || { echo "FAIL: the killed worker $victim still exists"; return 1; }
	alive "$pid" || { echo "FAIL: the supervisor died"; return 1; }
	[ -S "$(wk_sock crash).1" ] || { echo "FAIL: $(wk_sock crash).1 is missing after the restart"; return 1; }
	: >"$d/go"
	wait "$py"
	rc=$?
	[ "$rc" = 0 ] || { echo "FAIL: the client (exit $rc)"; return 1; }
	alive "$pid" || { echo "FAIL: the supervisor died"; return 1; }
	[ "$(wk_children "$pid")" = "$kids2" ] || { echo "FAIL: the workers changed again: $(wk_children "$pid")"; return 1; }
	! log_new "$(wk_log crash)" | grep -E 'died at start|did not start' ||
		{ echo "FAIL: the supervisor thinks a worker died at start"; return 1; }
	echo "the supervisor ($pid) lives on with workers $kids2"
}

# ---------------------------------------------------------------- 4. reload

sc_wk_reload() {
	local pid n r i sock
	pid=$(wk_pid main)
	r=$(wk_stat main config_reloads)
	[ "$r" = 0 ] || { echo "FAIL: config_reloads $r before the reload, expected 0"; return 1; }
	echo "== before the reload: MKD is passed on"
	wk_py --ctl "$(wk_sock main)" mkd --host "$SRV4" --port 21 --count 1 --expect 257 \
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
	wk_py --ctl "$(wk_sock main)" mkd --host "$SRV4" --port 21 --count 20 --expect 502 \
		--dir "$IT_HOME/uploads" --tag "$SC_TAG-after" || return 1
	for sock in "$(wk_sock main)" "$(wk_sock main).1"; do
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
	pid=$(wk_pid "$gw") || { echo "ftpgw ($gw) was not started"; return 1; }
	sock=$(wk_sock "$gw")
	kids=$(wk_children "$pid")
	echo "ftpgw ($gw): supervisor $pid, workers $kids"
	[ "$(wc -w <<<"$kids")" = 2 ] || { echo "FAIL: $(wc -w <<<"$kids") workers before SIGTERM, expected 2"; bad=1; }
	[ -S "$sock" ] && [ -S "$sock.1" ] || { echo "FAIL: $sock or $sock.1 missing before SIGTERM"; bad=1; }
	gw_stop_pid "$(wk_pidfile "$gw")" "$(wk_log "$gw")" "ftpgw ($gw)" || bad=1
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
	local gw name out
	if [ "$LANE_STATE" = up ]; then
		for gw in "${WK_GWS[@]}"; do
			name="$LANE: ftpgw ($gw) still alive at the end of the lane, SIGTERM to the supervisor: it and both workers exit, status 0, control sockets $(basename "$(wk_sock "$gw")") and $(basename "$(wk_sock "$gw")").1 removed"
			out=$LANE_DIR/stop-$gw.log
			if wk_stop "$gw" >"$out" 2>&1; then
				result "ok - $name"
			else
				result "not ok - $name"
				diag_file "$out" 10
				result "# ftpgw ($gw) log (last 15 lines):"
				diag_file "$(wk_log "$gw")" 15
			fi
		done
	fi
	LANE_HAS_GW=0
	lane_end
}

lane_workers() {
	lane_begin workers setup_workers
	scenario "workers spread: workers = 2, redirect: supervisor + 2 worker processes; 40 concurrent ftplib sessions, both workers hold some (raw 'sessions' on PATH and PATH.1: '# worker I of 2'), 'ftpgwctl sessions' lists all 40 under one header, stats sessions_active 40 / workers 2 on both sockets; each session's PASV port lies in its worker's slice (50000-50499 / 50500-50999), RETR 1MiB sha256 on each" \
		sc_wk_spread
	scenario "workers limits: max-sessions-per-client = 3 over 2 workers: 8 connections from $CLI4 (alternating workers by source port): 3 get 220 and log in (on both workers), 5 get '421 Too many connections; try again later.' and are closed, refused on both workers (log line per port); stats sessions_active 3, sessions_refused_limit +5; after a QUIT one more gets in, the next is refused" \
		wk_on limits sc_wk_percli
	scenario "workers limits: max-sessions = 5 over 2 workers: 3 sessions from $CLI4 and 2 from $CLI6 (both workers), stats sessions_active 5; $CLI6's 3rd connection (under its per-client limit) gets 421 on either worker, log 'max-sessions reached'; one more from $CLI4 too" \
		wk_on limits sc_wk_maxsess
	scenario "workers crash: SIGKILL to worker 1 (older than 5 s) holding 2 of 4 sessions: the supervisor logs 'killed by signal 9' and 'restarting worker 1', a new worker 1 runs within 5 s, the supervisor lives; the dead worker's sessions are closed, worker 0's two do PASV (its slice) + RETR 1MiB sha256; stats sessions_active 2 and with max-sessions-per-client = 4 two new sessions get in, a 5th is refused" \
		wk_on crash sc_wk_crash
	scenario "workers reload: SIGHUP to the supervisor with MKD added to deny-commands (MKD 257 before): both workers log 'configuration reloaded', 20 new sessions on both workers get '502 Command not allowed by the gateway.' for MKD and nothing is created; config_reloads exactly 1 (PATH and PATH.1)" \
		sc_wk_reload
	wk_lane_end
}

# ---------------------------------------------------------------- the python helper

wk_write_py() {
	cat <<'PY'
"""wk.py: the client side of lanes-workers.sh (runs in cli).  Exit 0 when
every check held, else 1 with a FAIL line."""

import argparse
import concurrent.futures
import ftplib
import hashlib
import os
import random
import re
import socket
import struct
import subprocess
import sys
import time

HEADER = "# id client server app state bytes-up bytes-down age-seconds user"
REFUSAL = "421 Too many connections; try again later."
DENIED = "502 Command not allowed by the gateway."
NWORKERS = 2


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def log(msg):
    print(msg, flush=True)


# ------------------------------------------------------------ the control sockets

def ctl(path, cmd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(path)
        s.sendall((cmd + "\n").encode())
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except OSError as e:
        raise Fail("control socket %s: %s" % (path, e))
    finally:
        s.close()
    return out.decode()


def sock_path(base, w):
    return base if w == 0 else "%s.%d" % (base, w)


def sessions_by_worker(base):
    """{worker: [fields of each session line]}, from each worker's raw answer."""
    res = {}
    for w in range(NWORKERS):
        lines = ctl(sock_path(base, w), "sessions").splitlines()
        check(len(lines) >= 2 and lines[0] == "# worker %d of %d" % (w, NWORKERS) and lines[1] == HEADER,
              "raw 'sessions' on %s begins %r, expected '# worker %d of %d' and the header"
              % (sock_path(base, w), lines[:2], w, NWORKERS))
        check(not any(l.startswith("#") for l in lines[2:]), "more '#' lines from worker %d" % w)
        res[w] = [l.split() for l in lines[2:]]
    return res


def where(base):
    """{'host:port' of a client: (worker, fields)}"""
    m = {}
    for w, rows in sessions_by_worker(base).items():
        for f in rows:
            check(f[1] not in m, "client %s listed by two workers" % f[1])
            m[f[1]] = (w, f)
    return m


def stats(base, w=0):
    d = {}
    for l in ctl(sock_path(base, w), "stats").splitlines():
        k, v = l.split()
        d[k] = int(v)
    return d


def key(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def wait_active(base, n, secs=5):
    t = time.time() + secs
    while True:
        a = stats(base)["sessions_active"]
        if a == n:
            return
        check(time.time() < t, "stats sessions_active %d, expected %d (waited %d s)" % (a, n, secs))
        time.sleep(0.05)


def slice_of(rng, w):
    lo, hi = (int(x) for x in rng.split("-"))
    size = hi - lo + 1
    return lo + size * w // NWORKERS, lo + size * (w + 1) // NWORKERS - 1


# ------------------------------------------------------------ a raw FTP client

class Raw:
    def __init__(self, dest, local=None, timeout=10):
        fam = socket.AF_INET6 if ":" in dest[0] else socket.AF_INET
        self.s = socket.socket(fam, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        if local is not None:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.s.bind(local)
        self.s.connect(dest)
        self.f = self.s.makefile("rb")
        self.host, self.port = self.s.getsockname()[:2]
        self.key = key(self.host, self.port)

    def line(self):
        l = self.f.readline()
        if not l:
            return None
        return l.decode("latin-1").rstrip("\r\n")

    def reply(self):
        l = self.line()
        if l is None:
            return 0, "(closed)"
        if len(l) >= 4 and l[3] == "-":
            while True:
                x = self.line()
                if x is None:
                    return 0, "(closed)"
                if x.startswith(l[:3] + " "):
                    l = x
                    break
        return (int(l[:3]) if l[:3].isdigit() else 0), l

    def cmd(self, c):
        self.s.sendall((c + "\r\n").encode())
        return self.reply()

    def expect(self, c, code):
        got, l = self.cmd(c)
        check(got == code, "%s from %s: %r, expected %d" % (c.split()[0], self.key, l, code))
        return l

    def login(self, user, pw):
        self.expect("USER " + user, 331)
        self.expect("PASS " + pw, 230)

    def closed(self):
        """The peer closed (EOF or reset) within the timeout."""
        try:
            return self.f.read() == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def rst(self):
        try:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()

    def close(self):
        self.f.close()
        self.s.close()

    def quit(self):
        try:
            self.cmd("QUIT")
        except OSError:
            pass
        self.close()


def sha(data):
    return hashlib.sha256(data).hexdigest()


def retr_pasv(a, c, rng, w, pasv_host):
    """PASV on raw session C of worker W: the 227 names PASV_HOST and a port
    of W's slice of RNG; RETR file-1MiB through it, sha256."""
    l = a.expect_pasv(c)
    m = re.search(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", l)
    check(m, "unparsable 227: %r" % l)
    n = [int(x) for x in m.groups()]
    host, port = "%d.%d.%d.%d" % tuple(n[:4]), n[4] * 256 + n[5]
    lo, hi = slice_of(rng, w)
    check(host == pasv_host, "227 of %s names %s, expected %s" % (c.key, host, pasv_host))
    check(lo <= port <= hi, "227 of %s (worker %d) names port %d, outside its slice %d-%d"
          % (c.key, w, port, lo, hi))
    d = socket.create_connection((host, port), timeout=10)
    code, l = c.cmd("RETR file-1MiB")
    check(code in (125, 150), "RETR from %s: %r" % (c.key, l))
    data = bytearray()
    while True:
        b = d.recv(1 << 16)
        if not b:
            break
        data += b
    d.close()
    code, l = c.reply()
    check(code == 226, "after RETR from %s: %r, expected 226" % (c.key, l))
    check(sha(data) == a.sums["file-1MiB"], "RETR file-1MiB on %s: %d bytes sha256 %s, expected %s"
          % (c.key, len(data), sha(data)[:16], a.sums["file-1MiB"][:16]))
    return port


# ------------------------------------------------------------ probing source ports

def free_port(rnd, tried):
    while True:
        p = rnd.randrange(20000, 30000)
        if p not in tried:
            tried.add(p)
            return p


def probe(a, local, dest, batch, want):
    """{source port of LOCAL: the worker SO_REUSEPORT gives its connections to
    DEST}, at least WANT ports per worker; BATCH connections at a time (the
    per-client limit), each reset once listed."""
    found, tried, rnd = {}, set(), random.Random()
    for rounds in range(40):
        counts = [list(found.values()).count(w) for w in range(NWORKERS)]
        if min(counts) >= want:
            break
        conns = []
        try:
            for i in range(batch):
                for attempt in range(5):
                    try:
                        c = Raw(dest, local=(local, free_port(rnd, tried)))
                        break
                    except OSError as e:
                        if attempt == 4:
                            raise Fail("probe: cannot connect from %s: %s" % (local, e))
                conns.append(c)
                code, l = c.reply()
                check(code == 220, "probe connection from %s: %r, expected 220" % (c.key, l))
            m = where(a.ctl)
            for c in conns:
                check(c.key in m, "probe: %s is not listed by any worker" % c.key)
                found[c.port] = m[c.key][0]
        finally:
            for c in conns:
                c.rst()
        # Until the gateway has let them go (the limits count them).
        t = time.time() + 5
        while any(k.startswith(key(local, 0)[:-1]) for k in where(a.ctl)):
            check(time.time() < t, "probe: the reset connections are still listed 5 s later")
            time.sleep(0.05)
    counts = [list(found.values()).count(w) for w in range(NWORKERS)]
    check(min(counts) >= want, "probe: %d rounds, ports per worker %s" % (rounds, counts))
    log("probed %d source ports of %s toward %s: %s"
        % (len(found), local, key(*dest), ", ".join("worker %d: %d" % (w, counts[w]) for w in range(NWORKERS))))
    return {w: [p for p, x in found.items() if x == w] for w in range(NWORKERS)}


# ------------------------------------------------------------ actions

def act_spread(a):
    """COUNT concurrent ftplib sessions through the redirect gateway."""
    def open_one(i):
        f = ftplib.FTP(timeout=20)
        f.connect(a.host, a.port)
        f.login(a.user, a.password)
        return f

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as ex:
        ftps = list(ex.map(open_one, range(a.count)))
    mine = {}
    for f in ftps:
        h, p = f.sock.getsockname()[:2]
        mine[key(h, p)] = f
    log("%d sessions logged in" % len(mine))
    try:
        # Each worker's own list (raw, on PATH and PATH.1).
        m = where(a.ctl)
        per = {w: 0 for w in range(NWORKERS)}
        for k in mine:
            check(k in m, "session from %s is listed by no worker" % k)
            w, fields = m[k]
            check(fields[4] == "ready" and fields[8] == a.user,
                  "session %s: state %s user %s, expected ready %s" % (k, fields[4], fields[8], a.user))
            per[w] += 1
        check(len(m) == len(mine), "the workers list %d sessions, expected %d" % (len(m), len(mine)))
        log("raw 'sessions': " + ", ".join("worker %d (%s) holds %d" % (w, sock_path(a.ctl, w), per[w])
                                           for w in range(NWORKERS)))
        check(all(per[w] > 0 for w in range(NWORKERS)), "not every worker holds a session: %s" % per)
        # ftpgwctl: one header, every session.
        out = subprocess.run([a.ftpgwctl, "-s", a.ctl, "sessions"], capture_output=True,
                             text=True, timeout=10)
        check(out.returncode == 0, "ftpgwctl sessions: exit %d %s" % (out.returncode, out.stderr))
        lines = out.stdout.splitlines()
        hdr = [l for l in lines if l.startswith("#")]
        check(hdr == [HEADER] and lines[0] == HEADER,
              "ftpgwctl sessions: '#' lines %r, expected the header once, first" % hdr)
        clients = sorted(l.split()[1] for l in lines[1:])
        check(clients == sorted(mine), "ftpgwctl sessions lists %d sessions (%d of ours), expected our %d"
              % (len(clients), len(set(clients) & set(mine)), len(mine)))
        ids = [l.split()[0] for l in lines[1:]]
        check(len(set(ids)) == len(ids), "ftpgwctl sessions: session ids repeat")
        log("ftpgwctl sessions: one header, %d sessions, ids unique" % len(clients))
        for w in range(NWORKERS):
            st = stats(a.ctl, w)
            check(st.get("sessions_active") == len(mine) and st.get("workers") == NWORKERS,
                  "stats on %s: sessions_active %s workers %s, expected %d and %d"
                  % (sock_path(a.ctl, w), st.get("sessions_active"), st.get("workers"), len(mine), NWORKERS))
        log("stats on every socket: sessions_active %d, workers %d" % (len(mine), NWORKERS))
        # PASV in each: the port is in the slice of the worker holding it.
        seen = {w: set() for w in range(NWORKERS)}
        for k, f in sorted(mine.items()):
            w = m[k][0]
            lo, hi = slice_of(a.pasv, w)
            resp = f.sendcmd("PASV")
            host, port = ftplib.parse227(resp)
            check(host == a.pasv_host, "227 of %s names %s, expected %s" % (k, host, a.pasv_host))
            check(lo <= port <= hi, "227 of %s (worker %d) names port %d, outside its slice %d-%d"
                  % (k, w, port, lo, hi))
            seen[w].add(port)
            d = socket.create_connection((host, port), timeout=10)
            resp = f.sendcmd("RETR file-1MiB")
            check(resp[:3] in ("125", "150"), "RETR on %s: %r" % (k, resp))
            data = bytearray()
            while True:
                b = d.recv(1 << 16)
                if not b:
                    break
                data += b
            d.close()
            resp = f.voidresp()
            check(sha(data) == a.sums["file-1MiB"], "RETR file-1MiB on %s: %d bytes sha256 %s"
                  % (k, len(data), sha(data)[:16]))
        for w in range(NWORKERS):
            log("worker %d: %d PASV ports, %d..%d (its slice %d-%d)"
                % ((w, len(seen[w]), min(seen[w]), max(seen[w])) + slice_of(a.pasv, w)))
        log("%d RETRs of file-1MiB: sha256 ok" % len(mine))
    finally:
        for f in mine.values():
            try:
                f.quit()
            except Exception:
                f.close()
    wait_active(a.ctl, 0)


def act_percli(a):
    """max-sessions-per-client = LIMIT: COUNT connections alternating between
    the workers; the first LIMIT admitted, the rest refused."""
    dest = (a.host, a.port)
    need = (a.count + 1) // NWORKERS
    by = probe(a, a.local, dest, a.limit, need)
    order = [(by[i % NWORKERS][i // NWORKERS], i % NWORKERS) for i in range(a.count)]
    st0 = stats(a.ctl)
    held, refused = [], []
    try:
        for i, (p, w) in enumerate(order):
            c = Raw(dest, local=(a.local, p), timeout=5)
            code, l = c.reply()
            log("connection %d from %s (worker %d by its port): %s" % (i + 1, c.key, w, l))
            if i < a.limit:
                check(code == 220, "connection %d: %r, expected 220" % (i + 1, l))
                held.append((c, w))
            else:
                check(l == REFUSAL, "connection %d: %r, expected %r" % (i + 1, l, REFUSAL))
                check(c.closed(), "refused connection %d was not closed" % (i + 1))
                refused.append((p, w))
                c.close()
        for c, w in held:
            c.login(a.user, a.password)
        m = where(a.ctl)
        for c, w in held:
            check(c.key in m and m[c.key][0] == w, "%s is listed by worker %s, expected %d (probed)"
                  % (c.key, m.get(c.key, ("none",))[0], w))
        check(len(m) == a.limit, "the workers list %d sessions, expected %d" % (len(m), a.limit))
        check(len({w for _, w in held}) == NWORKERS, "the admitted sessions are not on both workers")
        log("admitted and logged in: %s" % ", ".join("%s on worker %d" % (c.key, w) for c, w in held))
        log("refused: %s" % ", ".join("port %d (worker %d)" % r for r in refused))
        st = stats(a.ctl)
        check(st["sessions_active"] == a.limit, "stats sessions_active %d, expected %d"
              % (st["sessions_active"], a.limit))
        check(st["sessions_refused_limit"] - st0["sessions_refused_limit"] == len(refused),
              "sessions_refused_limit grew by %d, expected %d"
              % (st["sessions_refused_limit"] - st0["sessions_refused_limit"], len(refused)))
        log("stats: sessions_active %d, sessions_refused_limit +%d" % (a.limit, len(refused)))
        with open(a.refused, "w") as f:
            for p, w in refused:
                f.write("%d %d\n" % (p, w))
        # One goes: one more gets in, and no more.
        c, w = held.pop(0)
        c.expect("QUIT", 221)
        c.close()
        wait_active(a.ctl, a.limit - 1)
        c = Raw(dest, local=(a.local, 0))
        code, l = c.reply()
        check(code == 220, "after a QUIT, a new connection got %r, expected 220" % l)
        held.append((c, -1))
        c.login(a.user, a.password)
        log("after a QUIT: %s admitted, logged in" % c.key)
        c = Raw(dest, local=(a.local, 0), timeout=5)
        code, l = c.reply()
        check(l == REFUSAL and c.closed(), "the next connection got %r, expected %r and the close" % (l, REFUSAL))
        c.close()
        log("the next one (%s): %s" % (c.key, l))
        wait_active(a.ctl, a.limit)
    finally:
        for c, w in held:
            c.quit()
    wait_active(a.ctl, 0)


def act_maxsess(a):
    """max-sessions = 5 with 3 sessions from LOCAL and 2 from LOCAL6."""
    d4, d6 = (a.host, a.port), (a.host6, a.port)
    by4 = probe(a, a.local, d4, 3, 2)
    by6 = probe(a, a.local6, d6, 3, 2)
    st0 = stats(a.ctl)
    held, refused = [], []
    try:
        plan = [(a.local, d4, by4[0][0], 0), (a.local, d4, by4[1][0], 1), (a.local, d4, by4[0][1], 0),
                (a.local6, d6, by6[1][0], 1), (a.local6, d6, by6[0][0], 0)]
        for local, dest, p, w in plan:
            c = Raw(dest, local=(local, p))
            code, l = c.reply()
            check(code == 220, "%s (worker %d): %r, expected 220" % (c.key, w, l))
            c.login(a.user, a.password)
            held.append((c, w))
        m = where(a.ctl)
        for c, w in held:
            check(c.key in m and m[c.key][0] == w, "%s is listed by worker %s, expected %d (probed)"
                  % (c.key, m.get(c.key, ("none",))[0], w))
        log("admitted and logged in: %s" % ", ".join("%s on worker %d" % (c.key, w) for c, w in held))
        check(len(m) == 5, "the workers list %d sessions, expected 5" % len(m))
        st = stats(a.ctl)
        check(st["sessions_active"] == 5, "stats sessions_active %d, expected 5" % st["sessions_active"])
        log("stats: sessions_active 5")
        for local, dest, p, w in [(a.local6, d6, by6[0][1], 0), (a.local6, d6, by6[1][1], 1), (a.local, d4, 0, -1)]:
            c = Raw(dest, local=(local, p), timeout=5)
            code, l = c.reply()
            log("%s (worker %s): %s" % (c.key, w if w >= 0 else "?", l))
            check(l == REFUSAL and c.closed(), "%s: %r, expected %r and the close" % (c.key, l, REFUSAL))
            c.close()
            if local == a.local6:
                refused.append((p, w))
        st = stats(a.ctl)
        check(st["sessions_active"] == 5, "stats sessions_active %d, expected 5" % st["sessions_active"])
        check(st["sessions_refused_limit"] - st0["sessions_refused_limit"] == 3,
              "sessions_refused_limit grew by %d, expected 3"
              % (st["sessions_refused_limit"] - st0["sessions_refused_limit"]))
        log("stats: sessions_active 5, sessions_refused_limit +3")
        with open(a.refused, "w") as f:
            for p, w in refused:
                f.write("%d %d\n" % (p, w))
    finally:
        for c, w in held:
            c.quit()
    wait_active(a.ctl, 0)


def act_crash(a):
    """LIMIT sessions over both workers; READY; the shell kills worker DEAD
    and creates GO; then the survivors work and the dead ones are gone."""
    dest = (a.host, a.port)
    by = probe(a, a.local, dest, a.limit, a.limit // NWORKERS)
    held = []
    try:
        for i in range(a.limit):
            w = i % NWORKERS
            c = Raw(dest, local=(a.local, by[w][i // NWORKERS]))
            code, l = c.reply()
            check(code == 220, "%s: %r, expected 220" % (c.key, l))
            c.login(a.user, a.password)
            held.append((c, w))
        m = where(a.ctl)
        for c, w in held:
            check(c.key in m and m[c.key][0] == w, "%s is listed by worker %s, expected %d (probed)"
                  % (c.key, m.get(c.key, ("none",))[0], w))
        log("sessions: %s" % ", ".join("%s on worker %d" % (c.key, w) for c, w in held))
        c = Raw(dest, local=(a.local, 0), timeout=5)
        code, l = c.reply()
        check(l == REFUSAL, "a %dth session got %r, expected %r" % (a.limit + 1, l, REFUSAL))
        c.close()
        log("a %dth session: %s" % (a.limit + 1, l))
        open(a.ready, "w").close()
        t = time.time() + 30
        while not os.path.exists(a.go):
            check(time.time() < t, "no go from the shell within 30 s")
            time.sleep(0.05)
        log("== after the crash of worker %d" % a.dead)
        live = []
        for c, w in held:
            if w == a.dead:
                try:
                    code, l = c.cmd("NOOP")
                except OSError as e:
                    code, l = 0, repr(e)
                check(code == 0, "%s (on the dead worker) answered NOOP: %r" % (c.key, l))
                log("%s (worker %d, killed): NOOP -> %s" % (c.key, w, l))
                c.close()
            else:
                c.expect("NOOP", 200)
                port = retr_pasv(a, c, a.pasv, w, a.pasv_host)
                log("%s (worker %d): NOOP 200, PASV port %d, RETR file-1MiB sha256 ok" % (c.key, w, port))
                live.append((c, w))
        held = live
        wait_active(a.ctl, len(live), 3)
        m = where(a.ctl)
        check(sorted(m) == sorted(c.key for c, w in live) and all(m[c.key][0] == w for c, w in live),
              "after the crash the workers list %s, expected only %s" % (sorted(m), [c.key for c, w in live]))
        log("stats: sessions_active %d; the new worker %d lists none" % (len(live), a.dead))
        for i in range(a.limit - len(live)):
            c = Raw(dest, local=(a.local, 0))
            code, l = c.reply()
            check(code == 220, "new session %d after the crash: %r, expected 220" % (i + 1, l))
            c.login(a.user, a.password)
            held.append((c, -1))
            log("new session %s: 220, logged in" % c.key)
        c = Raw(dest, local=(a.local, 0), timeout=5)
        code, l = c.reply()
        check(l == REFUSAL, "a %dth session after the crash got %r, expected %r" % (a.limit + 1, l, REFUSAL))
        c.close()
        log("then a %dth: %s" % (a.limit + 1, l))
        wait_active(a.ctl, a.limit, 3)
    finally:
        for c, w in held:
            c.quit()
    wait_active(a.ctl, 0)


def act_mkd(a):
    """COUNT concurrent sessions (on both workers when COUNT > 1); MKD in each
    gets EXPECT (257: passed on, then RMD; 502: denied, nothing created)."""
    dest = (a.host, a.port)
    held = []
    try:
        for i in range(a.count):
            c = Raw(dest)
            code, l = c.reply()
            check(code == 220, "%s: %r" % (c.key, l))
            c.login(a.user, a.password)
            held.append(c)
        m = where(a.ctl)
        per = [0] * NWORKERS
        for c in held:
            check(c.key in m, "%s is listed by no worker" % c.key)
            per[m[c.key][0]] += 1
        log("sessions per worker: %s" % per)
        if a.count > 1:
            check(min(per) > 0, "the %d sessions are not on both workers: %s" % (a.count, per))
        for i, c in enumerate(held):
            name = "uploads/%s-%d" % (a.tag, i)
            code, l = c.cmd("MKD " + name)
            if a.expect == 257:
                check(code == 257, "MKD on %s (worker %d): %r, expected 257" % (c.key, m[c.key][0], l))
                check(os.path.isdir(os.path.join(a.dir, os.path.basename(name))), "MKD 257 but no directory")
                c.expect("RMD " + name, 250)
            else:
                check(l == DENIED, "MKD on %s (worker %d): %r, expected %r" % (c.key, m[c.key][0], l, DENIED))
                check(not os.path.exists(os.path.join(a.dir, os.path.basename(name))),
                      "MKD was denied but the directory exists")
        log("MKD in %d sessions: %s" % (a.count, "257, RMD 250" if a.expect == 257 else DENIED))
    finally:
        for c in held:
            c.quit()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--fixtures", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--ctl", required=True, help="control-socket PATH (worker 0)")
    sub = p.add_subparsers(dest="action", required=True)
    x = sub.add_parser("spread")
    x.add_argument("--host", required=True)
    x.add_argument("--port", type=int, required=True)
    x.add_argument("--count", type=int, default=40)
    x.add_argument("--pasv", required=True)
    x.add_argument("--pasv-host", required=True)
    x.add_argument("--ftpgwctl", required=True)
    for name in ("percli", "maxsess", "crash"):
        x = sub.add_parser(name)
        x.add_argument("--host", required=True)
        x.add_argument("--port", type=int, required=True)
        x.add_argument("--local", required=True)
        x.add_argument("--limit", type=int, default=3)
        if name == "percli":
            x.add_argument("--count", type=int, default=8)
            x.add_argument("--refused", required=True)
        if name == "maxsess":
            x.add_argument("--host6", required=True)
            x.add_argument("--local6", required=True)
            x.add_argument("--refused", required=True)
        if name == "crash":
            x.add_argument("--pasv", required=True)
            x.add_argument("--pasv-host", required=True)
            x.add_argument("--dead", type=int, required=True)
            x.add_argument("--ready", required=True)
            x.add_argument("--go", required=True)
    x = sub.add_parser("mkd")
    x.add_argument("--host", required=True)
    x.add_argument("--port", type=int, required=True)
    x.add_argument("--count", type=int, required=True)
    x.add_argument("--expect", type=int, required=True)
    x.add_argument("--dir", required=True)
    x.add_argument("--tag", required=True)
    a = p.parse_args()
    a.sums = {}
    with open(os.path.join(a.fixtures, "SHA256SUMS")) as f:
        for line in f:
            digest, name = line.split()
            a.sums[name.lstrip("*")] = digest
    a.expect_pasv = lambda c: c.expect("PASV", 227)
    try:
        {"spread": act_spread, "percli": act_percli, "maxsess": act_maxsess,
         "crash": act_crash, "mkd": act_mkd}[a.action](a)
    except Fail as e:
        log("FAIL: %s" % e)
        return 1
    except (OSError, EOFError, ftplib.Error) as e:
        log("FAIL: %r" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
PY
}
