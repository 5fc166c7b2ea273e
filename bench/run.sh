#!/bin/bash
# bench/run.sh: ftpgw's benchmark (see bench/README.md).  As root:
#
#     sudo bench/run.sh
#
# Builds its own three-namespace network  cli — gw — srv  (veth, gw routes),
# runs its own FTP server (ftpsrv.c) in srv, and measures each figure through
#   plain      plain routing: cli -> srv through gw's kernel forwarding
#   ftpgw      the gateway in gw, redirect mode (REDIRECT of port 21 and of
#              the passive range 50000-51999 on gw's client-side interface)
#   minirelay  minirelay.c in gw: accept, connect, splice through 1 MiB
#              pipes; no FTP (raw TCP to ftpsrv's raw port): the ceiling
# and prints one table line per figure (median, min and max over the runs,
# ratios to plain routing and to the minimal relay).
#
# Environment:
#   BENCH_RUNS=3        runs of every figure (the table shows min/median/max)
#   BENCH_SIZE=2G       bytes per single-stream transfer (K, M, G: binary);
#                       each of the 8 parallel streams carries BENCH_SIZE/4
#   BENCH_FTPGW=PATH    the gateway (default $BUILDDIR/src/ftpgw, else
#                       /tmp/build-bench/src/ftpgw)
#   BENCH_ONLY=1,2,...  figures to run: 1 throughput, 2 parallel, 3 cpu,
#                       4 sessions, 5 idle, 6 noop, 7 pipes (numbers or names)
#   BENCH_WORKERS=N     writes "workers = N" into the gateway's configuration
#                       (unset: the gateway's default)
#   BENCH_OUT=PATH      where the results go (a file, or a directory to put
#                       results-DATE.txt in); default /tmp/ftpgw-bench-DATE.txt
#   BENCH_RATE_SECS=4   seconds per session-rate measurement
#   BENCH_NOOPS=2000    NOOPs per latency measurement
#   BENCH_IDLE=10000    most idle sessions to open (fewer if the fd limit says so)
#   BENCH_PIPES_STREAMS=1000  parallel RETR streams of figure 7 (pipe budget)
#   BENCH_PIPES_SIZE=8M bytes per stream in figure 7
#   BENCH_PIPES_USER=nobody   the unprivileged user ftpgw and the control
#                       minirelay run as in figure 7
#   BENCH_MINIRELAY_PROCS=N  minirelay processes (default: as many as the
#                       gateway has event loops)
#   BENCH_KEEP=1        keep the work directory (logs) after the run
#
# The table goes to stdout, progress to stderr.  Exits non-zero, loudly, if
# anything fails: a short transfer, a failed session, a dead gateway.

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRCDIR=$(cd "$HERE/.." && pwd)
STAMP=$(date +%Y%m%d-%H%M%S)

RUNS=${BENCH_RUNS:-3}
SIZE_SPEC=${BENCH_SIZE:-2G}
ONLY=${BENCH_ONLY:-1,2,3,4,5,6,7}
WORKERS=${BENCH_WORKERS:-}
RATE_SECS=${BENCH_RATE_SECS:-4}
NOOPS=${BENCH_NOOPS:-2000}
IDLE_MAX=${BENCH_IDLE:-10000}
PIPES_N=${BENCH_PIPES_STREAMS:-1000}
PIPES_SIZE_SPEC=${BENCH_PIPES_SIZE:-8M}
PIPES_USER=${BENCH_PIPES_USER:-nobody}
if [ -n "${BENCH_FTPGW:-}" ]; then
	FTPGW=$BENCH_FTPGW
elif [ -n "${BUILDDIR:-}" ]; then
	FTPGW=$BUILDDIR/src/ftpgw
else
	FTPGW=/tmp/build-bench/src/ftpgw
fi
OUT=${BENCH_OUT:-/tmp/ftpgw-bench-$STAMP.txt}
[ -d "$OUT" ] && OUT=$OUT/results-$STAMP.txt

# The network: documentation addresses only.
CLI=198.51.100.2 GWC=198.51.100.1   # cli eth0, gw eth0 (client side)
GWS=203.0.113.1  SRV=203.0.113.2    # gw eth1 (server side), srv eth0
GW_LISTEN=8021                      # ftpgw's redirect listener
GW_PASV=50000-51999                 # ftpgw's passive range (redirected too): 2000
                                    # ports, twice figure 7's 1000 PASVs at once
SRV_PORT_GW=21                      # ftpsrv's port reached through ftpgw (redirected)
SRV_PORT_PLAIN=2121                 # the same server, not redirected: plain routing
SRV_RAW=9000                        # ftpsrv's raw port; minirelay listens on gw:9000
SRV_PASV=40000-49999                # ftpsrv's PASV ports: outside gw's redirected range
MR_NOBODY_PORT=9001                 # figure 7: a second minirelay, as PIPES_USER, on gw:9001

say() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

fail() {
	printf '\nbench: FAIL: %s\n' "$*" >&2
	if [ -n "${WORK:-}" ] && [ -s "$WORK/ftpgw.log" ]; then
		echo "--- ftpgw log (last 15 lines):" >&2
		tail -n 15 "$WORK/ftpgw.log" >&2
	fi
	# ftpsrv says only when something went wrong (after its first line).
	if [ -n "${WORK:-}" ] && [ "$(wc -l <"$WORK/ftpsrv.log" 2>/dev/null || echo 0)" -gt 1 ]; then
		echo "--- ftpsrv log (last 5 lines):" >&2
		tail -n 5 "$WORK/ftpsrv.log" >&2
	fi
	exit 1
}

# ------------------------------------------------------------------ options

parse_size() {
	local s=${1%iB} m=1
	s=${s%B}
	case $s in
	*[Kk]) m=1024 s=${s%?} ;;
	*[Mm]) m=1048576 s=${s%?} ;;
	*[Gg]) m=1073741824 s=${s%?} ;;
	esac
	case $s in '' | *[!0-9]*) return 1 ;; esac
	echo $((s * m))
}
SIZE=$(parse_size "$SIZE_SPEC") || fail "BENCH_SIZE=$SIZE_SPEC: not a size (e.g. 2G, 256M)"
[ "$SIZE" -ge 1048576 ] || fail "BENCH_SIZE=$SIZE_SPEC: at least 1M"
X8_SIZE=$((SIZE / 4))
case $RUNS in '' | *[!0-9]* | 0) fail "BENCH_RUNS=$RUNS: a positive number" ;; esac
case $WORKERS in *[!0-9]*) fail "BENCH_WORKERS=$WORKERS: a number" ;; esac
case $IDLE_MAX in '' | *[!0-9]* | 0) fail "BENCH_IDLE=$IDLE_MAX: a positive number" ;; esac
case $PIPES_N in '' | *[!0-9]* | 0) fail "BENCH_PIPES_STREAMS=$PIPES_N: a positive number" ;; esac
[ "$PIPES_N" -le 4096 ] || fail "BENCH_PIPES_STREAMS=$PIPES_N: at most 4096"
PIPES_SIZE=$(parse_size "$PIPES_SIZE_SPEC") || fail "BENCH_PIPES_SIZE=$PIPES_SIZE_SPEC: not a size (e.g. 8M)"
[ "$PIPES_SIZE" -ge 1024 ] || fail "BENCH_PIPES_SIZE=$PIPES_SIZE_SPEC: at least 1K"
human() { awk -v b="$1" 'BEGIN { if (b >= 2^30 && b % 2^30 == 0) printf "%d GiB", b / 2^30;
	else if (b >= 2^20) printf "%g MiB", b / 2^20; else if (b >= 2^10) printf "%.4g KiB", b / 2^10
	else printf "%d B", b }'; }

SEL=" "
for f in ${ONLY//,/ }; do
	case $f in
	1 | throughput) SEL="${SEL}1 " ;;
	2 | parallel) SEL="${SEL}2 " ;;
	3 | cpu) SEL="${SEL}3 " ;;
	4 | sessions | rate) SEL="${SEL}4 " ;;
	5 | idle) SEL="${SEL}5 " ;;
	6 | noop | latency) SEL="${SEL}6 " ;;
	7 | pipes | pipe-budget) SEL="${SEL}7 " ;;
	*) fail "BENCH_ONLY: unknown figure '$f' (1 throughput, 2 parallel, 3 cpu, 4 sessions, 5 idle, 6 noop, 7 pipes)" ;;
	esac
done
sel() { case $SEL in *" $1 "*) return 0 ;; esac; return 1; }

# ------------------------------------------------------------------ checks

[ "$(id -u)" = 0 ] || fail "needs root (network namespaces, iptables)"
for t in ip iptables ss cc awk sort timeout getconf; do
	command -v "$t" >/dev/null 2>&1 || fail "required tool missing: $t"
done
case $FTPGW in /*) ;; *) FTPGW=$PWD/$FTPGW ;; esac
[ -x "$FTPGW" ] || fail "no gateway binary at $FTPGW: build it (mkdir -p /tmp/build-bench && cd /tmp/build-bench && $SRCDIR/configure -q && make -j2) or set BENCH_FTPGW"

# ------------------------------------------------------------------ setup, cleanup

WORK=$(mktemp -d /tmp/ftpgw-bench.XXXXXX) || fail "mktemp"
RAW=$WORK/raw
: >"$RAW"
P="fgb$$-"
NS_CLI=${P}cli NS_GW=${P}gw NS_SRV=${P}srv

SAMPLER_PID=
cleanup() {
	local ns pid
	trap - EXIT INT TERM HUP
	[ -z "$SAMPLER_PID" ] || kill "$SAMPLER_PID" 2>/dev/null
	for ns in "$NS_CLI" "$NS_GW" "$NS_SRV"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	wait 2>/dev/null
	for ns in "$NS_CLI" "$NS_GW" "$NS_SRV"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		say "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'fail "interrupted"' INT
trap 'fail "terminated"' TERM
trap 'fail "hangup"' HUP

# Raise our soft fd limit to the hard one: everything started inherits it.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
HARD_NOFILE=$(ulimit -Hn)

say "building the helpers in $WORK"
for prog in ftpsrv ftpload minirelay; do
	cc -std=c11 -O2 -Wall -Wextra -pthread -o "$WORK/$prog" "$HERE/$prog.c" -lm 2>"$WORK/cc-$prog.log" ||
		fail "cannot build $prog: $(cat "$WORK/cc-$prog.log")"
	[ -s "$WORK/cc-$prog.log" ] && say "WARNING: $prog.c compiles with warnings: $(head -n 5 "$WORK/cc-$prog.log")"
done

alive() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

wait_listen() { # NS PORT [SECONDS]
	for _ in $(seq $((${3:-5} * 10))); do
		[ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	return 1
}

say "network: namespaces ${P}{cli,gw,srv}"
{
	for ns in "$NS_CLI" "$NS_GW" "$NS_SRV"; do
		ip netns add "$ns" && ip -n "$ns" link set lo up || exit 1
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
	ip -n "$NS_SRV" route add default via $GWS &&
	ip netns exec "$NS_GW" sysctl -qw net.ipv4.ip_forward=1 &&
	# The interception of redirect mode: control port 21 and the passive
	# range, arriving on the client-side interface, go to the gateway.
	ip netns exec "$NS_GW" iptables -w -t nat -A PREROUTING -i eth0 -p tcp --dport $SRV_PORT_GW \
		-j REDIRECT --to-ports $GW_LISTEN &&
	ip netns exec "$NS_GW" iptables -w -t nat -A PREROUTING -i eth0 -p tcp --dport ${GW_PASV/-/:} \
		-j REDIRECT
} >"$WORK/setup.log" 2>&1 || fail "network setup: $(tail -n 3 "$WORK/setup.log")"
# gw's conntrack table (the limit, nf_conntrack_max, is global: 262144 here)
# fills up with closed connections within a minute of the session-rate
# test, which holds each for 120 s in TIME_WAIT: then SYNs are dropped
# ("nf_conntrack: table full") and sessions stall for 30 s and more.  The
# timeouts of closing states are per namespace: 2 s in gw, for both paths.
for st in time_wait close fin_wait last_ack close_wait; do
	ip netns exec "$NS_GW" sysctl -qw "net.netfilter.nf_conntrack_tcp_timeout_$st=2" 2>>"$WORK/setup.log" ||
		say "WARNING: cannot set nf_conntrack_tcp_timeout_$st in gw: the session-rate test may fill the conntrack table"
done
# The gateway's own connections to the server (one per session, one per
# data channel) take ephemeral ports (32768-60999 by default), and those
# inside its passive range make its data listeners fail to bind: with
# 18,000 sessions most of the range was taken, and PASV got 425 after 16
# tries.  gw keeps the passive range out of its ephemeral ports.
ip netns exec "$NS_GW" sysctl -qw "net.ipv4.ip_local_reserved_ports=$GW_PASV" 2>>"$WORK/setup.log" ||
	say "WARNING: cannot reserve the passive range $GW_PASV in gw: with many sessions PASV may get 425"

ip netns exec "$NS_SRV" "$WORK/ftpsrv" -b 0.0.0.0 -p $SRV_PORT_GW,$SRV_PORT_PLAIN -r $SRV_RAW -P $SRV_PASV \
	>"$WORK/ftpsrv.log" 2>&1 &
SRV_PID=$!
wait_listen "$NS_SRV" $SRV_RAW 5 || fail "ftpsrv does not listen: $(cat "$WORK/ftpsrv.log")"

# Every session from the one client address; as many sessions as the fd
# limit allows (2 fds each, 64 spare), not more: ftpgw warns otherwise.
# max-sessions holds for the whole gateway: with W worker processes, each
# with its own limit, W times that (set once the workers are counted).
GW_MAX_SESSIONS=$(((HARD_NOFILE - 64) / 2))
[ "$GW_MAX_SESSIONS" -gt 1000000 ] && GW_MAX_SESSIONS=1000000
write_gw_conf() {
	cat >"$WORK/ftpgw.conf" <<EOF
# ftpgw benchmark configuration
passive-ports = "$GW_PASV"
max-sessions = $GW_MAX_SESSIONS
max-sessions-per-client = $GW_MAX_SESSIONS
shutdown-timeout = 2
${WORKERS:+workers = $WORKERS}
listen "bench" {
	address = "0.0.0.0"
	port = $GW_LISTEN
	mode = "redirect"
}
EOF
}
write_gw_conf

GW_PID=
GW_CONF=$WORK/ftpgw.conf   # figure 7 starts the gateway with another one
gw_start() {
	echo "=== start $(date +%T) ($GW_CONF)" >>"$WORK/ftpgw.log"
	ip netns exec "$NS_GW" "$FTPGW" -f -c "$GW_CONF" >>"$WORK/ftpgw.log" 2>&1 &
	GW_PID=$!
	if ! wait_listen "$NS_GW" $GW_LISTEN 10 || ! alive "$GW_PID"; then
		alive "$GW_PID" || { wait "$GW_PID"; echo "ftpgw exited with status $?" >>"$WORK/ftpgw.log"; }
		fail "ftpgw did not start${WORKERS:+ with workers = $WORKERS} (config $GW_CONF)"
	fi
	sleep 0.3  # workers, if any, bind their own listeners
	alive "$GW_PID" || fail "ftpgw exited after starting"
}
gw_stop() {
	alive "$GW_PID" || fail "ftpgw had died"
	kill -TERM "$GW_PID"
	for _ in $(seq 100); do
		alive "$GW_PID" || break
		sleep 0.1
	done
	if alive "$GW_PID"; then
		kill -KILL "$GW_PID"
		wait "$GW_PID" 2>/dev/null
		fail "ftpgw still running 10 s after SIGTERM (shutdown-timeout = 2)"
	fi
	wait "$GW_PID" 2>/dev/null
	GW_STATUS=$?
}
gw_check() { alive "$GW_PID" || fail "ftpgw died (see its log)"; }

# CPU ticks (utime+stime+cutime+cstime: reaped children count too) of the
# process trees rooted at the ROOTS, one number each, then those of the
# ksoftirqd threads (network softirq work the kernel deferred): one scan.
CLK_TCK=$(getconf CLK_TCK)
tree_awk='{
	line = $0; pid = $1
	for (k = length(line); k > 0 && substr(line, k, 1) != ")"; k--) ;
	n = split(substr(line, k + 2), a, " ")
	ppid[pid] = a[2]; ticks[pid] = a[12] + a[13] + a[14] + a[15]
	if (line ~ /^[0-9]+ \(ksoftirqd\//) ksoft += a[12] + a[13]
}
END {
	nr = split(roots, r, " ")
	for (i = 1; i <= nr; i++) {
		delete intree
		intree[r[i]] = 1
		do {
			more = 0
			for (p in ppid)
				if (!(p in intree) && (ppid[p] in intree)) { intree[p] = 1; more = 1 }
		} while (more)
		sum = 0
		for (p in intree) if (p in ticks) { if (what == "pids") print p; sum += ticks[p] }
		if (what == "ticks") printf "%d ", sum
	}
	if (what == "ticks") print ksoft + 0
}'
tree_pids() { cat /proc/[0-9]*/stat 2>/dev/null | awk -v roots="$1" -v what=pids "$tree_awk" | sort -n | paste -sd, -; }
tree_ticks() { cat /proc/[0-9]*/stat 2>/dev/null | awk -v roots="$1" -v what=ticks "$tree_awk" | cut -d' ' -f1; }
ticks_of() { cat /proc/[0-9]*/stat 2>/dev/null | awk -v roots="$*" -v what=ticks "$tree_awk"; }

gw_start
GW_PROCS=$(tree_pids "$GW_PID" | tr ',' '\n' | wc -l)
if [ "$GW_PROCS" -gt 1 ]; then
	m=$(((GW_PROCS - 1) * ((HARD_NOFILE - 64) / 2)))
	[ "$m" -gt 1000000 ] && m=1000000
	if [ "$m" != "$GW_MAX_SESSIONS" ]; then
		GW_MAX_SESSIONS=$m
		write_gw_conf
		gw_stop
		gw_start
		GW_PROCS=$(tree_pids "$GW_PID" | tr ',' '\n' | wc -l)
	fi
fi
GW_THREADS=$(awk '/^Threads:/ { print $2 }' "/proc/$GW_PID/status")
# Event loops: the workers if it forks them (a supervisor + N), else threads.
if [ "$GW_PROCS" -gt 1 ]; then GW_LOOPS=$((GW_PROCS - 1)); else GW_LOOPS=$GW_THREADS; fi
if [ -n "$WORKERS" ] && [ "$WORKERS" -gt 1 ] && [ "$GW_LOOPS" -lt "$WORKERS" ]; then
	say "NOTE: workers = $WORKERS is configured, but ftpgw runs $GW_PROCS process(es) with $GW_THREADS thread(s)"
fi
MR_PROCS=${BENCH_MINIRELAY_PROCS:-$GW_LOOPS}
ip netns exec "$NS_GW" "$WORK/minirelay" -P "$MR_PROCS" $GWC $SRV_RAW $SRV $SRV_RAW >"$WORK/minirelay.log" 2>&1 &
MR_PID=$!
wait_listen "$NS_GW" $SRV_RAW 5 || fail "minirelay does not listen: $(cat "$WORK/minirelay.log")"

# ------------------------------------------------------------------ load

TMO=$((120 + SIZE / 25000000))
LOAD_OUT=
load() { # ARGS...: ftpload in cli; its KEY=VALUE line in LOAD_OUT
	local rc
	LOAD_OUT=$(ip netns exec "$NS_CLI" timeout -k 5 "$TMO" "$WORK/ftpload" "$@" 2>"$WORK/load.err")
	rc=$?
	[ "$rc" = 124 ] && fail "ftpload $*: no result within $TMO s (killed)"
	[ "$rc" = 0 ] || fail "ftpload $*: $(cat "$WORK/load.err")${LOAD_OUT:+ (output: $LOAD_OUT)}"
}
kv() { # KEY: its value in LOAD_OUT
	local w
	for w in $LOAD_OUT; do
		case $w in "$1="*) echo "${w#*=}"; return 0 ;; esac
	done
	fail "no $1= in ftpload's output: $LOAD_OUT"
}
rec() { echo "$1 $2 $3 $4" >>"$RAW"; } # KEY PATH RUN VALUE
calc() { awk "BEGIN { printf \"%.6f\", $* }"; }
stats() { # KEY PATH -> "n min median max" (nothing if no values)
	awk -v k="$1" -v p="$2" '$1 == k && $2 == p { print $4 }' "$RAW" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) exit
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%d %.9g %.9g %.9g\n", NR, v[1], m, v[NR] }'
}
med() { stats "$1" "$2" | awk '{ print $3 }'; }

target() { # PATH: the -H/-p options of ftpload for that path
	case $1 in
	plain) echo "-H $SRV -p $SRV_PORT_PLAIN" ;;
	plain-raw) echo "-H $SRV -p $SRV_RAW" ;;
	ftpgw) echo "-H $SRV -p $SRV_PORT_GW" ;;
	minirelay) echo "-H $GWC -p $SRV_RAW" ;;
	minirelay-nobody) echo "-H $GWC -p $MR_NOBODY_PORT" ;;
	esac
}
MR_NOBODY_PID=
root_of() {
	case $1 in
	ftpgw) echo "$GW_PID" ;;
	minirelay) echo "$MR_PID" ;;
	minirelay-nobody) echo "$MR_NOBODY_PID" ;;
	esac
}

# xfer KEY PATH RUN DIR MODE STREAMS BYTES-EACH: one measured transfer. Records
# MB/s as KEY, the relay's CPU seconds per GB as cpu.KEY, and as all.KEY the
# CPU seconds per GB of everything that moved the bytes: client, server,
# relay and ksoftirqd (per-process CPU includes the softirq work that ran in
# the process's context, and that can shift between the relay and its peers).
xfer() {
	local key=$1 path=$2 run=$3 dir=$4 mode=$5 n=$6 bytes=$7 root t0 t1 mbs cpu='' all gb
	root=$(root_of "$path")
	t0=$(ticks_of "$SRV_PID" "${root:--1}")
	if [ "$mode" = - ]; then   # minirelay, minirelay-nobody: raw TCP
		# shellcheck disable=SC2046
		load raw $(target "$path") -d "$dir" -s "$bytes" -n "$n"
	else
		# shellcheck disable=SC2046
		load xfer $(target "$path") -d "$dir" -m "$mode" -s "$bytes" -n "$n"
	fi
	t1=$(ticks_of "$SRV_PID" "${root:--1}")
	gb=$(calc "$(kv bytes) / 1e9")
	mbs=$(calc "$(kv bytes) / $(kv secs) / 1e6")
	rec "$key" "$path" "$run" "$mbs"
	# t0, t1: server relay ksoftirqd (no relay on plain: pid -1, 0 ticks)
	# shellcheck disable=SC2086
	set -- $t0 $t1
	if [ -n "$root" ]; then
		cpu=$(calc "($5 - $2) / $CLK_TCK / $gb")
		rec "cpu.$key" "$path" "$run" "$cpu"
		all=$(calc "(($4 - $1) + ($5 - $2) + ($6 - $3)) / $CLK_TCK / $gb + $(kv cpu_s) / $gb")
	else
		all=$(calc "(($4 - $1) + ($6 - $3)) / $CLK_TCK / $gb + $(kv cpu_s) / $gb")
	fi
	rec "all.$key" "$path" "$run" "$all"
	printf '    %-9s %-14s %8.1f MB/s  CPU s/GB: relay %s, all %.3f%s\n' "$path" "$key" "$mbs" \
		"$(if [ -n "$cpu" ]; then printf '%.3f' "$cpu"; else echo -; fi)" "$all" \
		"$(if [ "$n" -gt 8 ]; then printf '; %d streams, the fastest took %.2f s, the last ended after %.2f s' \
			"$n" "$(kv fastest_s)" "$(kv secs)"; fi)" >&2
	gw_check
}

# pipe_fds PIDS: the pipe fds the processes hold (comma separated PIDS).
pipe_fds() {
	local p n=0
	for p in ${1//,/ }; do
		n=$((n + $(find "/proc/$p/fd" -mindepth 1 -maxdepth 1 -lname 'pipe:*' 2>/dev/null | wc -l)))
	done
	echo "$n"
}
# pipe_sampler PIDS FILE: until killed, twice a second, the most pipe fds
# the PIDS held and the most client data connections the gateway had at
# once (established, on its passive ports) into FILE: "PIPES CONNS".
pipe_sampler() {
	local mp=0 md=0 np nd
	while :; do
		np=$(pipe_fds "$1")
		nd=$(ip netns exec "$NS_GW" ss -Htn state established \
			"( src $GWC and sport >= :${GW_PASV%-*} and sport <= :${GW_PASV#*-} )" 2>/dev/null | wc -l)
		[ "$np" -gt "$mp" ] && mp=$np
		[ "$nd" -gt "$md" ] && md=$nd
		echo "$mp $md" >"$2.new" && mv -f "$2.new" "$2"
		sleep 0.5
	done
}

# ------------------------------------------------------------------ smoke test

say "smoke test: 1 MiB RETR and STOR, PASV EPSV PORT EPRT, plain and through ftpgw; raw through minirelay"
for path in plain ftpgw; do
	for mode in pasv epsv port eprt; do
		for dir in retr stor; do
			# shellcheck disable=SC2046
			load xfer $(target $path) -d $dir -m $mode -s 1M
		done
	done
done
for dir in retr stor; do
	# shellcheck disable=SC2046
	load raw $(target minirelay) -d $dir -s 1M
done
# The ftpgw path must really be intercepted: the REDIRECT rule counted it.
hits=$(ip netns exec "$NS_GW" iptables -w -t nat -L PREROUTING -v -n -x |
	awk -v p="dpt:$SRV_PORT_GW" '$0 ~ p" " || $0 ~ p"$" { print $1; exit }')
[ "${hits:-0}" -gt 0 ] || fail "the REDIRECT rule for port $SRV_PORT_GW matched nothing: ftpgw is not in the path"
gw_check

# ------------------------------------------------------------------ figures

# Kernel messages about gw's namespace (conntrack table full, SYN flood...)
# during the measurements make them worthless: counted before and after.
GW_NETNS_INODE=$(stat -L -c %i "/run/netns/$NS_GW" 2>/dev/null)
kmsgs() { [ -n "$GW_NETNS_INODE" ] && dmesg 2>/dev/null | grep -c "netns $GW_NETNS_INODE\b"; }
KMSG0=$(kmsgs)

T_START=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

if sel 1 || sel 3; then
	say "figure 1/3: single-stream transfers of $(human "$SIZE")"
	for run in $(seq "$RUNS"); do
		say "  run $run/$RUNS"
		for dm in retr:pasv stor:pasv retr:port stor:port; do
			dir=${dm%:*} mode=${dm#*:}
			if ! sel 1 && [ "$mode" = port ]; then continue; fi
			sel 1 && xfer "$dir.$mode" plain "$run" "$dir" "$mode" 1 "$SIZE"
			xfer "$dir.$mode" ftpgw "$run" "$dir" "$mode" 1 "$SIZE"
			[ "$mode" = pasv ] && xfer "raw.$dir" minirelay "$run" "$dir" - 1 "$SIZE"
		done
	done
fi

if sel 2 || sel 3; then
	say "figure 2/3: 8 parallel RETR streams (PASV) of $(human "$X8_SIZE") each"
	for run in $(seq "$RUNS"); do
		say "  run $run/$RUNS"
		sel 2 && xfer retr.pasv.x8 plain "$run" retr pasv 8 "$X8_SIZE"
		xfer retr.pasv.x8 ftpgw "$run" retr pasv 8 "$X8_SIZE"
		xfer raw.retr.x8 minirelay "$run" retr - 8 "$X8_SIZE"
	done
fi

if sel 4; then
	say "figure 4: session rate (connect, USER, PASS, PASV, RETR 1 KiB, QUIT), $RATE_SECS s each"
	for conc in 1 16 64; do
		for run in $(seq "$RUNS"); do
			for path in plain ftpgw; do
				[ $path = ftpgw ] && c0=$(tree_ticks "$GW_PID")
				# shellcheck disable=SC2046
				load rate $(target $path) -c $conc -t "$RATE_SECS" -s 1024
				rec "rate.c$conc" $path "$run" "$(kv rate)"
				rec "lat50.c$conc" $path "$run" "$(kv p50_ms)"
				rec "lat99.c$conc" $path "$run" "$(kv p99_ms)"
				extra=
				if [ $path = ftpgw ]; then
					c1=$(tree_ticks "$GW_PID")
					# The gateway's CPU per session, and its CPU use in %
					# of one CPU during the measurement.
					rec "cpu.rate.c$conc" ftpgw "$run" "$(calc "($c1 - $c0) / $CLK_TCK / $(kv sessions) * 1e6")"
					rec "busy.rate.c$conc" ftpgw "$run" "$(calc "($c1 - $c0) / $CLK_TCK / $(kv secs) * 100")"
					extra=" gw_cpu_us_per_session=$(calc "($c1 - $c0) / $CLK_TCK / $(kv sessions) * 1e6" | cut -d. -f1)"
				fi
				printf '    %-9s c=%-3d run %d: %s%s\n' $path $conc "$run" "$LOAD_OUT" "$extra" >&2
				gw_check
			done
			# The ceiling of any userspace relay for connection setup:
			# one raw connection per "session" (R 1024), plain and
			# through minirelay.
			for path in plain-raw minirelay; do
				# shellcheck disable=SC2046
				load rawrate $(target $path) -c $conc -t "$RATE_SECS" -s 1024
				rec "rawrate.c$conc" "${path%-raw}" "$run" "$(kv rate)"
				printf '    %-9s c=%-3d run %d: raw connections: %s\n' $path $conc "$run" "$LOAD_OUT" >&2
			done
		done
	done
fi

if sel 5; then
	say "figure 5: idle sessions (the gateway is restarted before each run for a clean RSS baseline)"
	for run in $(seq "$RUNS"); do
		gw_stop
		gw_start
		pids=$(tree_pids "$GW_PID")
		# The gateway's processes: one, or a supervisor and W workers,
		# each worker with its own open-files limit and about 1/W of the
		# sessions (SO_REUSEPORT spreads them).  lim: the lowest limit of
		# the processes; base: the most fds one holds before any session.
		nprocs=$(echo "$pids" | tr ',' '\n' | wc -l)
		W=1
		[ "$nprocs" -gt 1 ] && W=$((nprocs - 1))
		lim='' base=0
		for p in ${pids//,/ }; do
			l=$(awk '/^Max open files/ { print $4 }' "/proc/$p/limits")
			case $l in unlimited) l=1048576 ;; esac
			{ [ -z "$lim" ] || [ "$l" -lt "$lim" ]; } && lim=$l
			b=$(find "/proc/$p/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
			[ "$b" -gt "$base" ] && base=$b
		done
		per=$(((lim - 64) / 2))    # one process: 2 fds per session, 64 spare
		if [ "$W" = 1 ]; then
			gw_cap=$per
			gw_why="the gateway's open-files limit of $lim: 2 fds per session, 64 kept for listeners and data connections"
			gw_desc="one process with an open-files limit of $lim"
		else
			# The kernel's spread is not exactly even: each worker is
			# expected to hold at most 90% of what its limit allows.
			gw_cap=$((W * per * 9 / 10))
			gw_why="the gateway's $W workers with an open-files limit of $lim each: a worker holds about 1/$W of the sessions, expected at most 90% of ($lim - 64) / 2 = $per (SO_REUSEPORT's spread is not exactly even)"
			gw_desc="$W workers with an open-files limit of $lim each, at most 90% of $per sessions each"
		fi
		cl_cap=$((HARD_NOFILE - 64))   # ftpload: 1 fd per session (ftpsrv too)
		N=$IDLE_MAX
		why="BENCH_IDLE=$IDLE_MAX"
		if [ "$gw_cap" -lt "$N" ]; then
			N=$gw_cap
			why=$gw_why
		fi
		if [ "$GW_MAX_SESSIONS" -lt "$N" ]; then   # gateway-wide
			N=$GW_MAX_SESSIONS
			why="the gateway's max-sessions = $GW_MAX_SESSIONS"
		fi
		if [ "$cl_cap" -lt "$N" ]; then
			N=$cl_cap
			why="the client's open-files limit of $HARD_NOFILE (1 fd per session)"
		fi
		why="N = $N, set by $why (the open-files hard limit on this box is $HARD_NOFILE; BENCH_IDLE=$IDLE_MAX; the gateway, $gw_desc, would allow $gw_cap sessions, its max-sessions $GW_MAX_SESSIONS; the client $cl_cap)"
		# Every session then runs PASV + RETR 1 KiB, CHK at a time: each
		# holds up to 8 of the gateway's fds meanwhile (data listener, 2
		# data sockets, 2 pipes), within what the sessions leave of the
		# limit of the process that serves it (with workers: up to 1/0.9
		# of its share).
		if [ "$W" = 1 ]; then most=$N; else most=$(((N * 10 + 9 * W - 1) / (9 * W))); fi
		CHK=$(((lim - base - 2 * most) / 8))
		[ "$CHK" -gt 16 ] && CHK=16
		[ "$CHK" -lt 1 ] && CHK=1
		[ "$run" = 1 ] && say "  $why; PASV + RETR 1 KiB on every session, $CHK at a time (the gateway held $base fds before the first session)"
		# shellcheck disable=SC2046
		load idle $(target ftpgw) -N "$N" -j "$CHK" -G "$pids"
		printf '    run %d: %s\n' "$run" "$LOAD_OUT" >&2
		if [ "$(kv sessions)" != "$N" ] || [ "$(kv all_ok)" != "$N" ] || [ "$(kv quit_ok)" != "$N" ]; then
			fail "idle sessions: PASV + RETR 1 KiB worked on $(kv all_ok) and QUIT on $(kv quit_ok) of $N sessions"
		fi
		rec idle.kib ftpgw "$run" "$(kv kib_per_session)"
		rec idle.n ftpgw "$run" "$(kv sessions)"
		rec idle.allok ftpgw "$run" "$(kv all_ok)"
		rec idle.checksecs ftpgw "$run" "$(kv check_secs)"
		rec idle.opensecs ftpgw "$run" "$(kv open_secs)"
		IDLE_WHY=$why
		gw_check
		sleep 1   # the gateway closes the 2N sockets
	done
fi

if sel 6; then
	say "figure 6: NOOP round trips ($NOOPS per measurement, one session)"
	for run in $(seq "$RUNS"); do
		for path in plain ftpgw; do
			# shellcheck disable=SC2046
			load noop $(target $path) -n "$NOOPS"
			rec noop50 $path "$run" "$(kv p50_us)"
			rec noop99 $path "$run" "$(kv p99_us)"
			eval "n50_$path=$(kv p50_us) n99_$path=$(kv p99_us)"
			printf '    %-9s run %d: %s\n' $path "$run" "$LOAD_OUT" >&2
		done
		# shellcheck disable=SC2154
		rec add50 ftpgw "$run" "$(calc "$n50_ftpgw - $n50_plain")"
		# shellcheck disable=SC2154
		rec add99 ftpgw "$run" "$(calc "$n99_ftpgw - $n99_plain")"
		gw_check
	done
fi

if sel 7; then
	PAGE=$(getconf PAGESIZE)
	PIPE_SOFT=$(cat /proc/sys/fs/pipe-user-pages-soft 2>/dev/null) || fail "cannot read fs.pipe-user-pages-soft"
	PIPE_HARD=$(cat /proc/sys/fs/pipe-user-pages-hard 2>/dev/null || echo '?')
	PIPE_MAX=$(cat /proc/sys/fs/pipe-max-size 2>/dev/null || echo '?')
	pu=$(id -u "$PIPES_USER" 2>/dev/null) || fail "figure 7: no user $PIPES_USER (BENCH_PIPES_USER)"
	[ "$pu" != 0 ] || fail "figure 7: BENCH_PIPES_USER=$PIPES_USER is root, whose pipes have no budget"
	PIPES_NOTE="fs.pipe-user-pages-soft = $PIPE_SOFT pages of $PAGE B = $(human $((PIPE_SOFT * PAGE))) per user (pipe-user-pages-hard = $PIPE_HARD, pipe-max-size = $PIPE_MAX): room for $((PIPE_SOFT * PAGE / 1048576)) pipes of 1 MiB (ftpgw: one per busy direction of a data channel, taken when its first bytes come, 7/8 of the budget shared out between its workers)"
	say "figure 7: pipe budget: $PIPES_N parallel RETR (PASV) of $(human "$PIPES_SIZE") each, ftpgw and a second minirelay as $PIPES_USER (uid $pu)"
	say "  $PIPES_NOTE"
	[ "$PIPE_SOFT" = 0 ] && say "WARNING: fs.pipe-user-pages-soft = 0: no budget, figure 7 shows nothing"
	# All sessions send PASV at once: the gateway holds up to one listener
	# each until their data connections come, and its own outgoing
	# connections take ephemeral ports inside the range too.
	[ $((2 * PIPES_N)) -le $((${GW_PASV#*-} - ${GW_PASV%-*} + 1)) ] ||
		say "WARNING: $PIPES_N streams and a passive range of $GW_PASV: PASV may get 425 (the range runs out)"
	others=$(ps -o pid= -u "$pu" 2>/dev/null | wc -l)
	[ "$others" -gt 0 ] && say "NOTE: $others process(es) already run as $PIPES_USER: their pipes count against the same budget"
	# The same gateway configuration, unprivileged after binding (the
	# budget is per user, and root is exempt), with the debug log that
	# names each data channel's relay backend; no control socket (its
	# removal at exit would need root).
	{
		cat "$WORK/ftpgw.conf"
		echo "# figure 7: unprivileged, so that the kernel's pipe budget applies"
		echo "user = \"$PIPES_USER\""
		echo 'log-level = "debug"'
		echo 'control-socket = ""'
	} >"$WORK/ftpgw-pipes.conf"
	gw_stop
	GW_CONF=$WORK/ftpgw-pipes.conf
	gw_start
	gpids=$(tree_pids "$GW_PID")
	for p in ${gpids//,/ }; do
		# A supervisor (the root of several processes) may stay root.
		[ "$p" = "$GW_PID" ] && [ "$gpids" != "$GW_PID" ] && continue
		[ "$(awk '/^Uid:/ { print $2 }' "/proc/$p/status")" = "$pu" ] ||
			fail "figure 7: ftpgw process $p does not run as $PIPES_USER (user = \"$PIPES_USER\" in $GW_CONF)"
	done
	ip netns exec "$NS_GW" "$WORK/minirelay" -P "$MR_PROCS" -u "$PIPES_USER" $GWC $MR_NOBODY_PORT $SRV $SRV_RAW \
		>"$WORK/minirelay-nobody.log" 2>&1 &
	MR_NOBODY_PID=$!
	wait_listen "$NS_GW" $MR_NOBODY_PORT 5 || fail "minirelay -u $PIPES_USER does not listen: $(cat "$WORK/minirelay-nobody.log")"
	TMO_MAIN=$TMO
	TMO=$((120 + PIPES_N * PIPES_SIZE / 10000000))    # 10 MB/s at least
	# Socket buffers: through a relay every stream has 4 sockets, each of
	# which autotunes up to tcp_rmem's or tcp_wmem's max (32 and 4 MiB
	# here): 1000 streams would take far more than tcp_mem allows, and
	# tcp_mem is global.  Under its pressure the kernel drops what arrives
	# at full sockets, and the senders' congestion control (BBR here)
	# can collapse to a few kB/s for a minute: the figure then measures
	# TCP, not the relay.  So, for the 1000-stream transfers only, each
	# namespace caps a socket's buffers at half of tcp_mem's low mark over
	# 4 sockets per stream (every path alike; restored afterwards).
	read -r tcpmem_lo _ <"/proc/sys/net/ipv4/tcp_mem"
	cap=$((tcpmem_lo * PAGE / 2 / (4 * PIPES_N)))
	[ "$cap" -gt 4194304 ] && cap=4194304
	[ "$cap" -lt 65536 ] && cap=65536
	PIPES_TCP_NOTE="$PIPES_N-stream transfers with socket buffers capped at $(human "$cap") (tcp_rmem/tcp_wmem max in the 3 namespaces: half of the global tcp_mem low mark, $tcpmem_lo pages, over $PIPES_N x 4 sockets)"
	say "  $PIPES_TCP_NOTE"
	declare -A saved_mem
	for ns in "$NS_CLI" "$NS_GW" "$NS_SRV"; do
		saved_mem[$ns]="net.ipv4.tcp_rmem=$(ip netns exec "$ns" sysctl -n net.ipv4.tcp_rmem | tr -s '\t ' ' ')"
		saved_mem[$ns]+="|net.ipv4.tcp_wmem=$(ip netns exec "$ns" sysctl -n net.ipv4.tcp_wmem | tr -s '\t ' ' ')"
	done
	tcp_cap() {
		for ns in "$NS_CLI" "$NS_GW" "$NS_SRV"; do
			ip netns exec "$ns" sysctl -qw "net.ipv4.tcp_rmem=4096 $((cap < 131072 ? cap : 131072)) $cap" \
				"net.ipv4.tcp_wmem=4096 16384 $cap" >/dev/null || fail "cannot cap the socket buffers in $ns"
		done
	}
	tcp_uncap() {
		for ns in "$NS_CLI" "$NS_GW" "$NS_SRV"; do
			ip netns exec "$ns" sysctl -qw "${saved_mem[$ns]%%|*}" "${saved_mem[$ns]#*|}" >/dev/null ||
				fail "cannot restore the socket buffers in $ns"
		done
	}
	# The reference where the budget is not hit: figure 2's ftpgw median,
	# else 8 streams through this gateway.
	if sel 2; then PIPES_REF="figure 2's ftpgw median, $(human "$X8_SIZE") each"; else PIPES_REF="8 streams of $(human "$X8_SIZE") through this gateway, as $PIPES_USER"; fi
	for run in $(seq "$RUNS"); do
		say "  run $run/$RUNS"
		tcp_cap
		xfer pipes plain "$run" retr pasv "$PIPES_N" "$PIPES_SIZE"
		p0=$(pipe_fds "$gpids")
		l0=$(wc -l <"$WORK/ftpgw.log")
		echo "0 0" >"$WORK/sampler"
		pipe_sampler "$gpids" "$WORK/sampler" &
		SAMPLER_PID=$!
		xfer pipes ftpgw "$run" retr pasv "$PIPES_N" "$PIPES_SIZE"
		kill "$SAMPLER_PID" 2>/dev/null
		wait "$SAMPLER_PID" 2>/dev/null
		SAMPLER_PID=
		pmax=0 dmax=0
		read -r pmax dmax <"$WORK/sampler"
		nsplice=$(tail -n +$((l0 + 1)) "$WORK/ftpgw.log" | grep -c 'data relay ended (splice)')
		ncopy=$(tail -n +$((l0 + 1)) "$WORK/ftpgw.log" | grep -c 'data relay ended (copy)')
		if [ $((nsplice + ncopy)) -gt 0 ]; then
			rec pipes.splice ftpgw "$run" "$nsplice"
			rec pipes.copy ftpgw "$run" "$ncopy"
		fi
		rec pipes.fds ftpgw "$run" $((pmax > p0 ? pmax - p0 : 0))
		rec pipes.live ftpgw "$run" "$dmax"
		printf '    ftpgw: data channels %s splice, %s copy (its debug log); at most %d pipe fds held by relays, %d data connections at once (sampled)\n' \
			"$nsplice" "$ncopy" $((pmax > p0 ? pmax - p0 : 0)) "$dmax" >&2
		xfer pipes minirelay-nobody "$run" retr - "$PIPES_N" "$PIPES_SIZE"
		xfer pipes minirelay "$run" retr - "$PIPES_N" "$PIPES_SIZE"
		tcp_uncap
		sel 2 || xfer retr.pasv.x8 ftpgw "$run" retr pasv 8 "$X8_SIZE"
	done
	ref=$(med retr.pasv.x8 ftpgw)
	awk '$1 == "pipes" && $2 == "ftpgw" { print $3, $4 }' "$RAW" | while read -r run v; do
		rec pipes.vs8 ftpgw "$run" "$(calc "$v / $ref")"
	done
	TMO=$TMO_MAIN
	alive "$MR_NOBODY_PID" || fail "minirelay -u $PIPES_USER died: $(tail -n 3 "$WORK/minirelay-nobody.log")"
	# The pipes the second minirelay got in the first run: it logs their
	# sizes whenever its last connection has closed.
	MR_NOBODY_PIPES=$(awk '/ pipes: / && !seen[$2]++ { sub(/^minirelay [0-9]+: /, ""); print }' \
		"$WORK/minirelay-nobody.log" | awk '{ printf "%s%s", (NR > 1 ? "; " : ""), $0 }')
	kill "$MR_NOBODY_PID"
	wait "$MR_NOBODY_PID" 2>/dev/null
	MR_NOBODY_PID=
	gw_stop
	[ "$GW_STATUS" = 0 ] || say "WARNING: ftpgw as $PIPES_USER exited with status $GW_STATUS on SIGTERM"
	GW_CONF=$WORK/ftpgw.conf
	gw_start
fi

T_END=$(date +%s)
KMSG1=$(kmsgs)
KMSG_NOTE=
if [ -n "$KMSG0" ] && [ -n "$KMSG1" ] && [ "$KMSG1" -gt "$KMSG0" ]; then
	KMSG_NOTE="the kernel logged $((KMSG1 - KMSG0)) message(s) about gw's namespace during the run, e.g. \"$(dmesg | grep "netns $GW_NETNS_INODE\b" | tail -n 1 | cut -c1-120)\""
fi
gw_stop
[ "$GW_STATUS" = 0 ] || fail "ftpgw exited with status $GW_STATUS on SIGTERM"

# ------------------------------------------------------------------ table

# row LABEL UNIT DECIMALS KEY [PLAIN-KEY] [MINIRELAY-KEY [MINIRELAY-PATH]]
# The value columns are ftpgw's (VALUE_PATH=PATH in the environment: that
# path's instead); the minirelay column is MINIRELAY-PATH's (minirelay).
row() {
	local label=$1 unit=$2 d=$3 key=$4 pk=${5:-} mk=${6:-} mp=${7:-minirelay} s pl='' mr=
	s=$(stats "$key" "${VALUE_PATH:-ftpgw}")
	[ -n "$s" ] || return 0
	[ -n "$pk" ] && pl=$(med "$pk" plain)
	[ -n "$mk" ] && mr=$(med "$mk" "$mp")
	# shellcheck disable=SC2086
	set -- $s
	awk -v label="$label" -v unit="$unit" -v d="$d" -v n="$1" -v mn="$2" -v md="$3" -v mx="$4" \
		-v pl="$pl" -v mr="$mr" 'BEGIN {
		f = "%." d "f"
		printf "%-36s %-9s %10s %10s %10s %10s %10s %7s %7s\n", label, unit,
			sprintf(f, md), sprintf(f, mn), sprintf(f, mx),
			pl == "" ? "-" : sprintf(f, pl), mr == "" ? "-" : sprintf(f, mr),
			(pl == "" || pl + 0 == 0) ? "-" : sprintf("%.2f", md / pl),
			(mr == "" || mr + 0 == 0) ? "-" : sprintf("%.2f", md / mr) }'
}

table() {
	local host
	host="$(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r)"
	echo "ftpgw benchmark, $(date '+%Y-%m-%d %H:%M:%S'), $host"
	echo "ftpgw: $FTPGW ($("$FTPGW" -V 2>/dev/null | head -n1); source $(git -C "$SRCDIR" describe --always --dirty 2>/dev/null || echo '?'))"
	echo "gateway: $GW_LOOPS event loop(s) (${WORKERS:+workers = $WORKERS, }$GW_PROCS process(es), $GW_THREADS thread(s) in the first); minirelay: $MR_PROCS process(es)"
	echo "runs: $RUNS, single-stream size $(human "$SIZE"), 8 streams x $(human "$X8_SIZE")$(sel 7 && echo ", pipe budget $PIPES_N streams x $(human "$PIPES_SIZE")"); load average at the start: $LOAD0"
	echo "measuring took $((T_END - T_START)) s"
	echo
	printf '%-36s %-9s %10s %10s %10s %10s %10s %7s %7s\n' "figure (value: ftpgw)" unit median min max plain minirelay xplain xminirel
	printf '%s\n' "$(printf '%.0s-' $(seq 126))"
	if sel 1; then
		row "1 RETR 1 stream PASV" MB/s 1 retr.pasv retr.pasv raw.retr
		row "1 STOR 1 stream PASV" MB/s 1 stor.pasv stor.pasv raw.stor
		row "1 RETR 1 stream PORT" MB/s 1 retr.port retr.port raw.retr
		row "1 STOR 1 stream PORT" MB/s 1 stor.port stor.port raw.stor
	fi
	sel 2 && row "2 RETR 8 streams PASV (aggregate)" MB/s 1 retr.pasv.x8 retr.pasv.x8 raw.retr.x8
	if sel 3; then
		row "3 CPU per GB, RETR 1 stream PASV" "s/GB" 3 cpu.retr.pasv "" cpu.raw.retr
		row "3 CPU per GB, STOR 1 stream PASV" "s/GB" 3 cpu.stor.pasv "" cpu.raw.stor
		sel 1 && row "3 CPU per GB, RETR 1 stream PORT" "s/GB" 3 cpu.retr.port "" cpu.raw.retr
		sel 1 && row "3 CPU per GB, STOR 1 stream PORT" "s/GB" 3 cpu.stor.port "" cpu.raw.stor
		row "3 CPU per GB, RETR 8 streams PASV" "s/GB" 3 cpu.retr.pasv.x8 "" cpu.raw.retr.x8
		row "3 all CPU per GB, RETR 1 stream PASV" "s/GB" 3 all.retr.pasv all.retr.pasv all.raw.retr
		row "3 all CPU per GB, STOR 1 stream PASV" "s/GB" 3 all.stor.pasv all.stor.pasv all.raw.stor
		row "3 all CPU per GB, RETR 8 streams PASV" "s/GB" 3 all.retr.pasv.x8 all.retr.pasv.x8 all.raw.retr.x8
	fi
	if sel 4; then
		for c in 1 16 64; do
			row "4 sessions/s, $c concurrent" sess/s 0 rate.c$c rate.c$c
			row "4 session latency p50, $c concurrent" ms 2 lat50.c$c lat50.c$c
			row "4 session latency p99, $c concurrent" ms 2 lat99.c$c lat99.c$c
		done
		for c in 1 16 64; do
			VALUE_PATH=minirelay row "4 raw conn/s via minirelay, $c conc." conn/s 0 rawrate.c$c rawrate.c$c
		done
		row "4 ftpgw CPU per session, 64 concurrent" us 0 cpu.rate.c64
		row "4 ftpgw CPU busy, 64 concurrent" "% 1 CPU" 0 busy.rate.c64
	fi
	if sel 5; then
		row "5 idle sessions held (N)" sessions 0 idle.n
		row "5 memory per idle session (RSS)" KiB 2 idle.kib
		row "5 PASV+RETR 1 KiB ok on all N" sessions 0 idle.allok
	fi
	if sel 6; then
		row "6 NOOP round trip p50" us 1 noop50 noop50
		row "6 NOOP round trip p99" us 1 noop99 noop99
		row "6 NOOP added by ftpgw, p50" us 1 add50
		row "6 NOOP added by ftpgw, p99" us 1 add99
	fi
	if sel 7; then
		row "7 RETR $PIPES_N streams, as $PIPES_USER" MB/s 1 pipes pipes pipes
		row "7 ftpgw $PIPES_N streams / 8 streams" ratio 2 pipes.vs8
		VALUE_PATH=minirelay-nobody row "7 minirelay as $PIPES_USER, $PIPES_N str." MB/s 1 pipes "" pipes
		row "7 CPU per GB, $PIPES_N streams" "s/GB" 3 cpu.pipes "" cpu.pipes
		VALUE_PATH=minirelay-nobody row "7 CPU per GB, minirelay as $PIPES_USER" "s/GB" 3 cpu.pipes "" cpu.pipes
		row "7 ftpgw data channels, splice relay" channels 0 pipes.splice
		row "7 ftpgw data channels, copy relay" channels 0 pipes.copy
		row "7 ftpgw pipe fds held at most" fds 0 pipes.fds
	fi
	echo
	echo "plain = plain routing through gw's kernel; minirelay = splice relay, raw TCP (no FTP);"
	sel 3 && echo "CPU per GB: the relay process's; all CPU: client + server + relay + ksoftirqd."
	echo "xplain, xminirel = ftpgw's median / the other's median.  MB = 10^6 bytes, GB = 10^9 bytes."
	sel 5 && echo "idle: ${IDLE_WHY:-?}."
	if sel 7; then
		echo "pipe budget: $PIPES_NOTE."
		echo "  Figure 7 ran ftpgw as $PIPES_USER (each data channel's relay from its debug log, its pipe fds sampled"
		echo "  in /proc); its minirelay column is minirelay as root (no budget), and the 'minirelay as $PIPES_USER' lines"
		echo "  show that relay under the budget (value columns; xminirel: $PIPES_USER / root).  8 streams: $PIPES_REF."
		echo "  $PIPES_TCP_NOTE."
		echo "  minirelay as $PIPES_USER got, first run: ${MR_NOBODY_PIPES:-?} (asked 1 MiB each)."
	fi
	[ -z "$KMSG_NOTE" ] || printf '\nINVALID: %s\n' "$KMSG_NOTE"
}

table >"$WORK/table"
cat "$WORK/table"
{
	cat "$WORK/table"
	echo
	echo "raw values (key path run value):"
	cat "$RAW"
} >"$OUT" || fail "cannot write $OUT"
say "results written to $OUT"
[ -z "$KMSG_NOTE" ] || fail "$KMSG_NOTE: the results are not valid"
