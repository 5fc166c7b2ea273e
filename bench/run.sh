#!/bin/bash
# bench/run.sh: ftpgw's benchmark (see bench/README.md).  As root:
#
#     sudo bench/run.sh
#
# Builds its own three-namespace network  cli — gw — srv  (veth, gw routes),
# runs its own FTP server (ftpsrv.c) in srv, and measures each figure through
#   plain      plain routing: cli -> srv through gw's kernel forwarding
#   ftpgw      the gateway in gw, redirect mode (REDIRECT of port 21 and of
#              the passive range 50000-50999 on gw's client-side interface)
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
#                       4 sessions, 5 idle, 6 noop (numbers or names)
#   BENCH_WORKERS=N     writes "workers = N" into the gateway's configuration
#                       (unset: the gateway's default)
#   BENCH_OUT=PATH      where the results go (a file, or a directory to put
#                       results-DATE.txt in); default /tmp/ftpgw-bench-DATE.txt
#   BENCH_RATE_SECS=4   seconds per session-rate measurement
#   BENCH_NOOPS=2000    NOOPs per latency measurement
#   BENCH_IDLE=10000    most idle sessions to open (fewer if the fd limit says so)
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
ONLY=${BENCH_ONLY:-1,2,3,4,5,6}
WORKERS=${BENCH_WORKERS:-}
RATE_SECS=${BENCH_RATE_SECS:-4}
NOOPS=${BENCH_NOOPS:-2000}
IDLE_MAX=${BENCH_IDLE:-10000}
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
GW_PASV=50000-50999                 # ftpgw's passive range (redirected too)
SRV_PORT_GW=21                      # ftpsrv's port reached through ftpgw (redirected)
SRV_PORT_PLAIN=2121                 # the same server, not redirected: plain routing
SRV_RAW=9000                        # ftpsrv's raw port; minirelay listens on gw:9000
SRV_PASV=40000-49999                # ftpsrv's PASV ports: outside gw's redirected range

say() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

fail() {
	printf '\nbench: FAIL: %s\n' "$*" >&2
	if [ -n "${WORK:-}" ] && [ -s "$WORK/ftpgw.log" ]; then
		echo "--- ftpgw log (last 15 lines):" >&2
		tail -n 15 "$WORK/ftpgw.log" >&2
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
human() { awk -v b="$1" 'BEGIN { if (b >= 2^30 && b % 2^30 == 0) printf "%d GiB", b / 2^30;
	else if (b >= 2^20) printf "%g MiB", b / 2^20; else printf "%d B", b }'; }

SEL=" "
for f in ${ONLY//,/ }; do
	case $f in
	1 | throughput) SEL="${SEL}1 " ;;
	2 | parallel) SEL="${SEL}2 " ;;
	3 | cpu) SEL="${SEL}3 " ;;
	4 | sessions | rate) SEL="${SEL}4 " ;;
	5 | idle) SEL="${SEL}5 " ;;
	6 | noop | latency) SEL="${SEL}6 " ;;
	*) fail "BENCH_ONLY: unknown figure '$f' (1 throughput, 2 parallel, 3 cpu, 4 sessions, 5 idle, 6 noop)" ;;
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

cleanup() {
	local ns pid
	trap - EXIT INT TERM HUP
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
	cc -O2 -Wall -pthread -o "$WORK/$prog" "$HERE/$prog.c" -lm 2>"$WORK/cc-$prog.log" ||
		fail "cannot build $prog: $(cat "$WORK/cc-$prog.log")"
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

ip netns exec "$NS_SRV" "$WORK/ftpsrv" -b 0.0.0.0 -p $SRV_PORT_GW,$SRV_PORT_PLAIN -r $SRV_RAW -P $SRV_PASV \
	>"$WORK/ftpsrv.log" 2>&1 &
SRV_PID=$!
wait_listen "$NS_SRV" $SRV_RAW 5 || fail "ftpsrv does not listen: $(cat "$WORK/ftpsrv.log")"

# Every session from the one client address; as many sessions as the fd
# limit allows (2 fds each, 64 spare), not more: ftpgw warns otherwise.
GW_MAX_SESSIONS=$(((HARD_NOFILE - 64) / 2))
[ "$GW_MAX_SESSIONS" -gt 1000000 ] && GW_MAX_SESSIONS=1000000
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

GW_PID=
gw_start() {
	echo "=== start $(date +%T)" >>"$WORK/ftpgw.log"
	ip netns exec "$NS_GW" "$FTPGW" -f -c "$WORK/ftpgw.conf" >>"$WORK/ftpgw.log" 2>&1 &
	GW_PID=$!
	if ! wait_listen "$NS_GW" $GW_LISTEN 10 || ! alive "$GW_PID"; then
		alive "$GW_PID" || { wait "$GW_PID"; echo "ftpgw exited with status $?" >>"$WORK/ftpgw.log"; }
		fail "ftpgw did not start${WORKERS:+ with workers = $WORKERS} (config $WORK/ftpgw.conf)"
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

target() { # PATH: the -H/-p options of ftpload for that path
	case $1 in
	plain) echo "-H $SRV -p $SRV_PORT_PLAIN" ;;
	ftpgw) echo "-H $SRV -p $SRV_PORT_GW" ;;
	minirelay) echo "-H $GWC -p $SRV_RAW" ;;
	esac
}
root_of() { case $1 in ftpgw) echo "$GW_PID" ;; minirelay) echo "$MR_PID" ;; esac; }

# xfer KEY PATH RUN DIR MODE STREAMS BYTES-EACH: one measured transfer. Records
# MB/s as KEY, the relay's CPU seconds per GB as cpu.KEY, and as all.KEY the
# CPU seconds per GB of everything that moved the bytes: client, server,
# relay and ksoftirqd (per-process CPU includes the softirq work that ran in
# the process's context, and that can shift between the relay and its peers).
xfer() {
	local key=$1 path=$2 run=$3 dir=$4 mode=$5 n=$6 bytes=$7 root t0 t1 mbs cpu='' all gb
	root=$(root_of "$path")
	t0=$(ticks_of "$SRV_PID" "${root:--1}")
	if [ "$path" = minirelay ]; then
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
	printf '    %-9s %-14s %8.1f MB/s  CPU s/GB: relay %s, all %.3f\n' "$path" "$key" "$mbs" \
		"$(if [ -n "$cpu" ]; then printf '%.3f' "$cpu"; else echo -; fi)" "$all" >&2
	gw_check
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
		done
	done
fi

if sel 5; then
	say "figure 5: idle sessions (the gateway is restarted before each run for a clean RSS baseline)"
	for run in $(seq "$RUNS"); do
		gw_stop
		gw_start
		pids=$(tree_pids "$GW_PID")
		lim=$(awk '/^Max open files/ { print $4 }' "/proc/$GW_PID/limits")
		case $lim in unlimited) lim=1048576 ;; esac
		N=$IDLE_MAX
		why="BENCH_IDLE=$IDLE_MAX"
		if [ $(((lim - 64) / 2)) -lt "$N" ]; then
			N=$(((lim - 64) / 2))
			why="the gateway's open-files limit is $lim: 2 fds per session, 64 kept for listeners and data connections"
		else
			why="$why; the gateway's open-files limit of $lim would allow $(((lim - 64) / 2)) (2 fds each, 64 spare)"
		fi
		if [ $((HARD_NOFILE - 64)) -lt "$N" ]; then
			N=$((HARD_NOFILE - 64))
			why="the client's open-files limit is $HARD_NOFILE (1 fd per session)"
		fi
		[ "$run" = 1 ] && say "  N = $N: $why"
		# shellcheck disable=SC2046
		load idle $(target ftpgw) -N "$N" -k 100 -G "$pids"
		printf '    run %d: %s\n' "$run" "$LOAD_OUT" >&2
		[ "$(kv sample_ok)" = 100 ] || [ "$(kv sample_ok)" = "$N" ] || fail "idle sessions: sample $(kv sample_ok)"
		rec idle.kib ftpgw "$run" "$(kv kib_per_session)"
		rec idle.n ftpgw "$run" "$(kv sessions)"
		rec idle.sample ftpgw "$run" "$(kv sample_ok)"
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

T_END=$(date +%s)
KMSG1=$(kmsgs)
KMSG_NOTE=
if [ -n "$KMSG0" ] && [ -n "$KMSG1" ] && [ "$KMSG1" -gt "$KMSG0" ]; then
	KMSG_NOTE="the kernel logged $((KMSG1 - KMSG0)) message(s) about gw's namespace during the run, e.g. \"$(dmesg | grep "netns $GW_NETNS_INODE\b" | tail -n 1 | cut -c1-120)\""
fi
gw_stop
[ "$GW_STATUS" = 0 ] || fail "ftpgw exited with status $GW_STATUS on SIGTERM"

# ------------------------------------------------------------------ table

stats() { # KEY PATH -> "n min median max" (nothing if no values)
	awk -v k="$1" -v p="$2" '$1 == k && $2 == p { print $4 }' "$RAW" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) exit
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%d %.9g %.9g %.9g\n", NR, v[1], m, v[NR] }'
}
med() { stats "$1" "$2" | awk '{ print $3 }'; }

# row LABEL UNIT DECIMALS KEY [PLAIN-KEY] [MINIRELAY-KEY [MINIRELAY-PATH]]
row() {
	local label=$1 unit=$2 d=$3 key=$4 pk=${5:-} mk=${6:-} s pl='' mr=
	s=$(stats "$key" ftpgw)
	[ -n "$s" ] || return 0
	[ -n "$pk" ] && pl=$(med "$pk" plain)
	[ -n "$mk" ] && mr=$(med "$mk" minirelay)
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
	echo "runs: $RUNS, single-stream size $(human "$SIZE"), 8 streams x $(human "$X8_SIZE"); load average at the start: $LOAD0"
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
		row "4 ftpgw CPU per session, 64 concurrent" us 0 cpu.rate.c64
		row "4 ftpgw CPU busy, 64 concurrent" "% 1 CPU" 0 busy.rate.c64
	fi
	if sel 5; then
		row "5 idle sessions held (N)" sessions 0 idle.n
		row "5 memory per idle session (RSS)" KiB 2 idle.kib
		row "5 sample PASV+RETR 1 KiB ok" sessions 0 idle.sample
	fi
	if sel 6; then
		row "6 NOOP round trip p50" us 1 noop50 noop50
		row "6 NOOP round trip p99" us 1 noop99 noop99
		row "6 NOOP added by ftpgw, p50" us 1 add50
		row "6 NOOP added by ftpgw, p99" us 1 add99
	fi
	echo
	echo "plain = plain routing through gw's kernel; minirelay = splice relay, raw TCP (no FTP);"
	sel 3 && echo "CPU per GB: the relay process's; all CPU: client + server + relay + ksoftirqd."
	echo "xplain, xminirel = ftpgw's median / the other's median.  MB = 10^6 bytes, GB = 10^9 bytes."
	sel 5 && echo "idle N: ${IDLE_WHY:-?}"
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
