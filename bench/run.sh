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
#              pipes; no FTP (raw TCP to ftpsrv's raw port): the ceiling;
#              in figure 4 also minirelay -R, carrying whole FTP sessions
#              (a second ftpsrv announces gw's address in 227): no ALG
#   ftpgw-kernel  a second gateway in gw with data-path = kernel (figures
#              1-4; its own redirected port 2021 and passive range)
#   kalg       the kernel's FTP ALG in gw, no userspace proxy (figures 1-4;
#              DNAT of gw:2121 to the server, SNAT toward it, ct helper ftp)
# and prints one table line per figure and path (median, min and max over
# the runs, ratios to plain routing and to the minimal relay), then the
# targets.  The helpers are in lib.sh, the two kernel paths in paths.sh, the
# table in table.sh.
#
# Environment:
#   BENCH_RUNS=3        runs of every figure (the table shows min/median/max)
#   BENCH_SIZE=2G       bytes per single-stream transfer (K, M, G: binary);
#                       each of the 8 parallel streams carries BENCH_SIZE/4
#   BENCH_FTPGW=PATH    the gateway (default $BUILDDIR/src/ftpgw, else
#                       /tmp/build-bench/src/ftpgw)
#   BENCH_ONLY=1,2,...  figures to run: 1 throughput, 2 parallel, 3 cpu,
#                       4 sessions, 5 idle, 6 noop, 7 pipes (numbers or names)
#   BENCH_PATHS=relay,kernel,kalg  the paths measured in figures 1-4 besides
#                       plain and minirelay: ftpgw's relay, ftpgw-kernel, kalg
#                       (default all; figures 5-7 are the relay's)
#   BENCH_FTPGWCTL=PATH ftpgwctl, for the kernel gateway's counters (default:
#                       next to the gateway)
#   BENCH_WORKERS=N     writes "workers = N" into the gateway's configuration
#                       (unset: the gateway's default)
#   BENCH_OUT=PATH      where the results go (a file, or a directory to put
#                       results-DATE.txt in); default /tmp/ftpgw-bench-DATE.txt
#   BENCH_RATE_SECS=4   seconds per session-rate measurement
#   BENCH_RATE_SLICES   figure 4: slices per measurement, the paths' order
#                       turning each slice (default: RATE_SECS / 2, rounded)
#   BENCH_NOOPS=2000    NOOPs per latency measurement
#   BENCH_IDLE=10000    most idle sessions to open (fewer if the fd limit says so)
#   BENCH_PIPES_STREAMS=1000  parallel RETR streams of figure 7 (pipe budget)
#   BENCH_PIPES_SIZE=8M bytes per stream in figure 7
#   BENCH_PIPES_USER=nobody   the unprivileged user ftpgw and the control
#                       minirelay run as in figure 7
#   BENCH_MINIRELAY_PROCS=N  minirelay processes (default: as many as the
#                       gateway has event loops)
#   BENCH_NICE=-10      the nice value of every relay in gw (ftpgw,
#                       ftpgw-kernel, minirelay); 0 for none
#   BENCH_RCU_EXPEDITED=0|1  write /sys/kernel/rcu_expedited for the run
#                       (restored at the end). Every nftables transaction
#                       ends in a grace period; with 1, an expedited one
#                       that interrupts every CPU, which costs the kernel
#                       path its session rate. Distributions boot with 0;
#                       some VMs (this one) run with 1. Unset: as found;
#                       the value is printed with the table either way.
#   BENCH_KEEP=1        keep the work directory (logs) after the run
#   BENCH_HOOK=SCRIPT   for profiling: once everything is up (namespaces,
#                       servers, relays, gateways), source SCRIPT instead of
#                       measuring, then clean up as always
#
# The table goes to stdout, progress to stderr.  Exits non-zero, loudly, if
# anything fails: a short transfer, a failed session, a dead gateway.

# shellcheck source-path=SCRIPTDIR
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=paths.sh
. "$HERE/paths.sh"
# shellcheck source=table.sh
. "$HERE/table.sh"
SRCDIR=$(cd "$HERE/.." && pwd)
STAMP=$(date +%Y%m%d-%H%M%S)

RUNS=${BENCH_RUNS:-3}
SIZE_SPEC=${BENCH_SIZE:-2G}
ONLY=${BENCH_ONLY:-1,2,3,4,5,6,7}
WORKERS=${BENCH_WORKERS:-}
RATE_SECS=${BENCH_RATE_SECS:-4}
# Figure 4's slices: about 2 s each (BENCH_RATE_SLICES to choose).
RATE_SLICES=${BENCH_RATE_SLICES:-$(((RATE_SECS + 1) / 2))}
[ "$RATE_SLICES" -ge 1 ] 2>/dev/null || { echo "BENCH_RATE_SLICES must be a positive integer" >&2; exit 2; }
RATE_SLICE_SECS=$(awk -v t="$RATE_SECS" -v n="$RATE_SLICES" 'BEGIN { printf "%.3f", t / n }')
NOOPS=${BENCH_NOOPS:-2000}
IDLE_MAX=${BENCH_IDLE:-10000}
PIPES_N=${BENCH_PIPES_STREAMS:-1000}
PIPES_SIZE_SPEC=${BENCH_PIPES_SIZE:-8M}
PIPES_USER=${BENCH_PIPES_USER:-nobody}
PATHS_SPEC=${BENCH_PATHS:-relay,kernel,kalg}
# Every relay in gw, ftpgw's and the bare one alike, runs at this nice
# value.  Here the clients and servers share gw's two CPUs; on a router
# they are other machines.  At the same priority as 64 client threads, a
# gateway of two event loops is preempted by them, and every session of
# that loop waits (bench/README.md, "Relays at a higher priority").
NICE=${BENCH_NICE:--10}
[[ $NICE =~ ^-?[0-9]+$ ]] || { echo "bench: BENCH_NICE: a number, not '$NICE'" >&2; exit 2; }
RELAY_NICE=(nice -n "$NICE")
if [ -n "${BENCH_FTPGW:-}" ]; then
	FTPGW=$BENCH_FTPGW
elif [ -n "${BUILDDIR:-}" ]; then
	FTPGW=$BUILDDIR/src/ftpgw
else
	FTPGW=/tmp/build-bench/src/ftpgw
fi
FTPGWCTL=${BENCH_FTPGWCTL:-$(dirname "$FTPGW")/ftpgwctl}
OUT=${BENCH_OUT:-/tmp/ftpgw-bench-$STAMP.txt}
[ -d "$OUT" ] && OUT=$OUT/results-$STAMP.txt

# The network: documentation addresses only.
CLI=198.51.100.2 GWC=198.51.100.1   # cli eth0, gw eth0 (client side)
GWS=203.0.113.1  SRV=203.0.113.2    # gw eth1 (server side), srv eth0
SRV_K=203.0.113.3 SRV_A=203.0.113.4 # srv eth0 too: the server as ftpgw-kernel and kalg reach it
GW_LISTEN=8021                      # ftpgw's redirect listener
GW_PASV=50000-51999                 # ftpgw's passive range (redirected too): 2000
                                    # ports, twice figure 7's 1000 PASVs at once
SRV_PORT_GW=21                      # ftpsrv's port reached through ftpgw (redirected)
SRV_PORT_PLAIN=2121                 # the same server, not redirected: plain routing
SRV_RAW=9000                        # ftpsrv's raw port; minirelay listens on gw:9000
SRV_PASV=40000-49999                # ftpsrv's PASV ports: outside gw's redirected range
MR_NOBODY_PORT=9001                 # figure 7: a second minirelay, as PIPES_USER, on gw:9001
MRF_PORT=2122                       # figure 4: FTP sessions through minirelay: gw:2122 -> ftpsrv2:2122
MRF_PASV=39000-39255                # ftpsrv2's PASV ports, announced as gw's $GWC, relayed by minirelay
GWK_LISTEN=8022                     # ftpgw-kernel's redirect listener
GWK_PASV=52000-53999                # ftpgw-kernel's passive range (redirected for its relay)
SRV_PORT_GWK=2021                   # ftpsrv's port reached through ftpgw-kernel (redirected)
KGW_TABLE=ftpgw_bench               # ftpgw-kernel's nftables table (inet) in gw
KGW_LOG_GROUP=2100                  # its first NFLOG group (per namespace)
KALG_PORT=2121                      # kalg: gw:2121, DNATed to ftpsrv's plain port
KALG_TABLE=ftpgw_bench_kalg         # kalg's nftables table (ip) in gw

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

# The gateway paths of figures 1-4, in table order.
GW_PATHS=
for p in ${PATHS_SPEC//,/ }; do
	case $p in
	relay | ftpgw) has_path ftpgw || GW_PATHS+=" ftpgw" ;;
	kernel | ftpgw-kernel) has_path ftpgw-kernel || GW_PATHS+=" ftpgw-kernel" ;;
	kalg | alg) has_path kalg || GW_PATHS+=" kalg" ;;
	*) fail "BENCH_PATHS: unknown path '$p' (relay, kernel, kalg)" ;;
	esac
done
ORDERED=
for p in ftpgw ftpgw-kernel kalg; do   # table order
	has_path $p && ORDERED+=" $p"
done
GW_PATHS=${ORDERED# }
[ -n "$GW_PATHS" ] || fail "BENCH_PATHS=$PATHS_SPEC: no path"

# ------------------------------------------------------------------ checks

[ "$(id -u)" = 0 ] || fail "needs root (network namespaces, iptables)"
for t in ip iptables ss cc awk sort timeout getconf nft; do
	command -v "$t" >/dev/null 2>&1 || fail "required tool missing: $t"
done
case $FTPGW in /*) ;; *) FTPGW=$PWD/$FTPGW ;; esac
has_path ftpgw-kernel && { [ -x "$FTPGWCTL" ] || fail "no ftpgwctl at $FTPGWCTL (BENCH_FTPGWCTL): the kernel path's counters need it"; }
[ -x "$FTPGW" ] || fail "no gateway binary at $FTPGW: build it (mkdir -p /tmp/build-bench && cd /tmp/build-bench && $SRCDIR/configure -q && make -j2) or set BENCH_FTPGW"

# ------------------------------------------------------------------ setup, cleanup

WORK=$(mktemp -d /tmp/ftpgw-bench.XXXXXX) || fail "mktemp"
RAW=$WORK/raw
: >"$RAW"
P="fgb$$-"
NS_CLI=${P}cli NS_GW=${P}gw NS_SRV=${P}srv

SAMPLER_PID=
RCU_RESTORE=
cleanup() {
	local ns pid
	trap - EXIT INT TERM HUP
	[ -z "$SAMPLER_PID" ] || kill "$SAMPLER_PID" 2>/dev/null
	# Our gateways by their PID (the kernel one removes its table).
	[ -n "${KGW_PID:-}" ] && alive "$KGW_PID" && kill -TERM "$KGW_PID" 2>/dev/null && sleep 1
	[ -n "${GW_PID:-}" ] && alive "$GW_PID" && kill -TERM "$GW_PID" 2>/dev/null
	kalg_teardown
	for ns in "$NS_CLI" "$NS_GW" "$NS_SRV"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	wait 2>/dev/null
	for ns in "$NS_CLI" "$NS_GW" "$NS_SRV"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$RCU_RESTORE" ]; then
		echo "$RCU_RESTORE" >/sys/kernel/rcu_expedited && say "rcu_expedited back to $RCU_RESTORE"
	fi
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

# The RCU grace periods that end each nftables transaction (BENCH_RCU_EXPEDITED).
RCU_FOUND=$(cat /sys/kernel/rcu_expedited 2>/dev/null || echo '?')
case ${BENCH_RCU_EXPEDITED:-} in
"") ;;
0 | 1)
	if [ "$RCU_FOUND" != "$BENCH_RCU_EXPEDITED" ]; then
		echo "$BENCH_RCU_EXPEDITED" >/sys/kernel/rcu_expedited ||
			fail "BENCH_RCU_EXPEDITED: cannot write /sys/kernel/rcu_expedited"
		RCU_RESTORE=$RCU_FOUND
	fi ;;
*) fail "BENCH_RCU_EXPEDITED: 0 or 1, not $BENCH_RCU_EXPEDITED" ;;
esac
RCU_NOTE="rcu_expedited = $(cat /sys/kernel/rcu_expedited 2>/dev/null || echo '?')"
[ -n "$RCU_RESTORE" ] && RCU_NOTE="$RCU_NOTE (BENCH_RCU_EXPEDITED; $RCU_FOUND before the run)"
say "$RCU_NOTE"

# Raise our soft fd limit to the hard one: everything started inherits it.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
HARD_NOFILE=$(ulimit -Hn)

say "building the helpers in $WORK"
for prog in ftpsrv ftpload minirelay; do
	cc -std=c11 -O2 -Wall -Wextra -pthread -o "$WORK/$prog" "$HERE/$prog.c" -lm 2>"$WORK/cc-$prog.log" ||
		fail "cannot build $prog: $(cat "$WORK/cc-$prog.log")"
	[ -s "$WORK/cc-$prog.log" ] && say "WARNING: $prog.c compiles with warnings: $(head -n 5 "$WORK/cc-$prog.log")"
done


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
	# The kernel paths reach the server at addresses of their own (see
	# bench/README.md: their SNATed data connections and the relay
	# gateway's own connections to the server share gw's 203.0.113.1).
	ip -n "$NS_SRV" addr add $SRV_K/24 dev eth0 &&
	ip -n "$NS_SRV" addr add $SRV_A/24 dev eth0 &&
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
		-j REDIRECT &&
	# The same for ftpgw-kernel, on ports of its own (its passive range
	# reaches it only when a data channel falls back to its relay: the
	# kernel mappings come first, at priority -110).
	ip netns exec "$NS_GW" iptables -w -t nat -A PREROUTING -i eth0 -p tcp --dport $SRV_PORT_GWK \
		-j REDIRECT --to-ports $GWK_LISTEN &&
	ip netns exec "$NS_GW" iptables -w -t nat -A PREROUTING -i eth0 -p tcp --dport ${GWK_PASV/-/:} \
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
ip netns exec "$NS_GW" sysctl -qw "net.ipv4.ip_local_reserved_ports=$GW_PASV,$GWK_PASV" 2>>"$WORK/setup.log" ||
	say "WARNING: cannot reserve the passive ranges $GW_PASV,$GWK_PASV in gw: with many sessions PASV may get 425"
has_path kalg && kalg_setup

ip netns exec "$NS_SRV" "$WORK/ftpsrv" -b 0.0.0.0 -p $SRV_PORT_GW,$SRV_PORT_PLAIN,$SRV_PORT_GWK -r $SRV_RAW -P $SRV_PASV \
	>"$WORK/ftpsrv.log" 2>&1 &
SRV_PID=$!
wait_listen "$NS_SRV" $SRV_RAW 5 || fail "ftpsrv does not listen: $(cat "$WORK/ftpsrv.log")"
# Figure 4's bare relay carrying whole FTP sessions: a second ftpsrv that
# announces gw's address in 227 (its data connections, too, then go
# through minirelay -R).
if sel 4; then
	ip netns exec "$NS_SRV" "$WORK/ftpsrv" -b 0.0.0.0 -p $MRF_PORT -P $MRF_PASV -A $GWC \
		>"$WORK/ftpsrv2.log" 2>&1 &
	wait_listen "$NS_SRV" $MRF_PORT 5 || fail "ftpsrv -A does not listen: $(cat "$WORK/ftpsrv2.log")"
fi

# Every session from the one client address; as many sessions as the fd
# limit allows (2 fds each, 64 spare), not more: ftpgw warns otherwise.
# max-sessions holds for the whole gateway: with W worker processes, each
# with its own limit, W times that (set once the workers are counted).
GW_MAX_SESSIONS=$(((HARD_NOFILE - 64) / 2))
[ "$GW_MAX_SESSIONS" -gt 1000000 ] && GW_MAX_SESSIONS=1000000
write_gw_conf() {
	{
		echo "# ftpgw benchmark configuration"
		gw_conf_common "$GW_PASV" "$WORK/ftpgw.sock"
		cat <<EOF
listen "bench" {
	address = "0.0.0.0"
	port = $GW_LISTEN
	mode = "redirect"
}
EOF
	} >"$WORK/ftpgw.conf"
}
write_gw_conf

GW_PID=
GW_CONF=$WORK/ftpgw.conf   # figure 7 starts the gateway with another one

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
# How its workers share new connections (worker-balance), as it logged.
GW_BALANCE=
[ "$GW_LOOPS" -gt 1 ] && GW_BALANCE=$(sed -n 's/^.* info: \(workers: .*\)$/\1/p' "$WORK/ftpgw.log" | tail -n 1)
MR_PROCS=${BENCH_MINIRELAY_PROCS:-$GW_LOOPS}
ip netns exec "$NS_GW" "${RELAY_NICE[@]}" "$WORK/minirelay" -P "$MR_PROCS" $GWC $SRV_RAW $SRV $SRV_RAW >"$WORK/minirelay.log" 2>&1 &
MR_PID=$!
wait_listen "$NS_GW" $SRV_RAW 5 || fail "minirelay does not listen: $(cat "$WORK/minirelay.log")"
MRF_PID=
if sel 4; then
	ip netns exec "$NS_GW" "${RELAY_NICE[@]}" "$WORK/minirelay" -P "$MR_PROCS" -R $MRF_PASV $GWC $MRF_PORT $SRV $MRF_PORT \
		>"$WORK/minirelay-ftp.log" 2>&1 &
	MRF_PID=$!
	wait_listen "$NS_GW" $MRF_PORT 5 || fail "minirelay -R does not listen: $(cat "$WORK/minirelay-ftp.log")"
fi
# The kernel data path: a second gateway, the same configuration with
# data-path = kernel and ports of its own.
has_path ftpgw-kernel && kgw_start

# ------------------------------------------------------------------ load

TMO=$((120 + SIZE / 25000000))

# A profiling session (BENCH_HOOK): the whole topology, and the helpers
# (load, target, the *_PID variables), at the hook's disposal; nothing is
# measured, and the exit trap tears everything down as after a run.
if [ -n "${BENCH_HOOK:-}" ]; then
	[ -r "$BENCH_HOOK" ] || fail "BENCH_HOOK: cannot read $BENCH_HOOK"
	say "BENCH_HOOK: sourcing $BENCH_HOOK (gateway pids: ftpgw $GW_PID${KGW_PID:+, ftpgw-kernel $KGW_PID}; namespaces ${P}{cli,gw,srv})"
	# shellcheck disable=SC1090
	. "$BENCH_HOOK"
	exit 0
fi

# ------------------------------------------------------------------ smoke test

# ftpgw (the relay) always: figures 5-7 and the interception check use it.
SMOKE_PATHS="plain ftpgw $(has_path ftpgw-kernel && echo ftpgw-kernel) $(has_path kalg && echo kalg)"
say "smoke test: 1 MiB RETR and STOR, PASV EPSV PORT EPRT through" $SMOKE_PATHS"; raw through minirelay"
for path in $SMOKE_PATHS; do
	for mode in pasv epsv port eprt; do
		for dir in retr stor; do
			path_before $path
			# shellcheck disable=SC2046
			load xfer $(target $path) -d $dir -m $mode -s 1M
			path_after $path $mode 1 1048576
		done
	done
done
has_path ftpgw-kernel && say "  ftpgw-kernel: $KGW_CHANNELS data channels forwarded by the kernel, $KGW_RACED reached its relay before their mapping was in, none fell back to it"
has_path kalg && say "  kalg: $KALG_CHANNELS data connections from the ALG's expectations to the rewritten addresses (PASV: gw's $GWC, PORT: gw's $GWS)"
for dir in retr stor; do
	# shellcheck disable=SC2046
	load raw $(target minirelay) -d $dir -s 1M
done
if sel 4; then
	say "  and FTP through minirelay -R: 1 MiB RETR and STOR, PASV and EPSV"
	for mode in pasv epsv; do
		for dir in retr stor; do
			# shellcheck disable=SC2046
			load xfer $(target minirelay-ftp) -d $dir -m $mode -s 1M
		done
	done
fi
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
			for path in $GW_PATHS; do
				xfer "$dir.$mode" $path "$run" "$dir" "$mode" 1 "$SIZE"
			done
			[ "$mode" = pasv ] && xfer "raw.$dir" minirelay "$run" "$dir" - 1 "$SIZE"
		done
	done
fi

if sel 2 || sel 3; then
	say "figure 2/3: 8 parallel RETR streams (PASV) of $(human "$X8_SIZE") each"
	for run in $(seq "$RUNS"); do
		say "  run $run/$RUNS"
		sel 2 && xfer retr.pasv.x8 plain "$run" retr pasv 8 "$X8_SIZE"
		for path in $GW_PATHS; do
			xfer retr.pasv.x8 $path "$run" retr pasv 8 "$X8_SIZE"
		done
		xfer raw.retr.x8 minirelay "$run" retr - 8 "$X8_SIZE"
	done
fi

if sel 4; then
	say "figure 4: session rate (connect, USER, PASS, PASV, RETR 1 KiB, QUIT), $RATE_SECS s each, in $RATE_SLICES slice(s)"
	for conc in 1 16 64; do
		for run in $(seq "$RUNS"); do
			# Each path's RATE_SECS come in RATE_SLICES slices, the
			# paths' order turning by one each slice: what drifts within
			# a run (this VM's speed moves by 10-30% over seconds) falls
			# on every path alike, and no path always follows another.
			# Per path and run: sessions / seconds over its slices, CPU
			# per session over them, latencies the median of the slices'.
			paths=(plain minirelay-ftp $GW_PATHS)
			unset -v F_SESS F_SECS F_REF F_TICKS F_P50 F_P99 F_PH
			declare -A F_SESS F_SECS F_REF F_TICKS F_P50 F_P99 F_PH
			for ((sl = 0; sl < RATE_SLICES; sl++)); do
				for ((k = 0; k < ${#paths[@]}; k++)); do
					path=${paths[$(((k + sl) % ${#paths[@]}))]}
					root=$(root_of $path)
					[ -n "$root" ] && c0=$(tree_ticks "$root")
					path_before $path
					# shellcheck disable=SC2046
					load rate $(target $path) -c $conc -t "$RATE_SLICE_SECS" -s 1024 -R
					path_after $path pasv "$(kv sessions)" "$(kv sessions) * 1024"
					F_SESS[$path]=$((${F_SESS[$path]:-0} + $(kv sessions)))
					F_SECS[$path]=$(calc "${F_SECS[$path]:-0} + $(kv secs)")
					F_REF[$path]=$((${F_REF[$path]:-0} + $(kv refused)))
					F_P50[$path]="${F_P50[$path]:-} $(kv p50_ms)"
					F_P99[$path]="${F_P99[$path]:-} $(kv p99_ms)"
					for ph in open pasv xfer quit; do
						F_PH[$path.$ph]=$(calc "${F_PH[$path.$ph]:-0} + $(kv ${ph}_us) * $(kv sessions)")
					done
					if [ -n "$root" ]; then
						c1=$(tree_ticks "$root")
						F_TICKS[$path]=$((${F_TICKS[$path]:-0} + c1 - c0))
					fi
					gw_check
				done
			done
			for path in "${paths[@]}"; do
				n=${F_SESS[$path]}
				[ "$n" -gt 0 ] || fail "$path, $conc concurrent: no session completed"
				# A refused PASV data connection abandons its session
				# (-R): counted and shown; more than 1% fails the run.
				rec "refused.c$conc" $path "$run" "${F_REF[$path]}"
				[ $((${F_REF[$path]} * 100)) -le "$n" ] ||
					fail "$path, $conc concurrent: ${F_REF[$path]} PASV data connections refused, $n sessions completed"
				rate=$(calc "$n / ${F_SECS[$path]}")
				p50=$(echo ${F_P50[$path]} | tr ' ' '\n' | summary | awk '{ print $3 }')
				p99=$(echo ${F_P99[$path]} | tr ' ' '\n' | summary | awk '{ print $3 }')
				rec "rate.c$conc" $path "$run" "$rate"
				rec "lat50.c$conc" $path "$run" "$p50"
				rec "lat99.c$conc" $path "$run" "$p99"
				# Where a session's time goes (mean µs per phase),
				# in the results file only.
				phases=
				for ph in open pasv xfer quit; do
					rec "phase_$ph.c$conc" $path "$run" "$(calc "${F_PH[$path.$ph]} / $n")"
					phases="$phases ${ph}_us=$(calc "${F_PH[$path.$ph]} / $n" | cut -d. -f1)"
				done
				extra=
				if [ -n "${F_TICKS[$path]:-}" ]; then
					# The gateway's CPU per session, and its CPU use in %
					# of one CPU during the measurement.
					rec "cpu.rate.c$conc" $path "$run" "$(calc "${F_TICKS[$path]} / $CLK_TCK / $n * 1e6")"
					rec "busy.rate.c$conc" $path "$run" "$(calc "${F_TICKS[$path]} / $CLK_TCK / ${F_SECS[$path]} * 100")"
					extra=" gw_cpu_us_per_session=$(calc "${F_TICKS[$path]} / $CLK_TCK / $n * 1e6" | cut -d. -f1)"
				fi
				printf '    %-12s c=%-3d run %d: sessions=%d rate=%.1f p50_ms=%s p99_ms=%s refused=%d%s%s\n' \
					$path $conc "$run" "$n" "$rate" "$p50" "$p99" "${F_REF[$path]}" "$phases" "$extra" >&2
			done
			# The ceiling of any userspace relay for connection setup:
			# one raw connection per "session" (R 1024), plain and
			# through minirelay.
			for path in plain-raw minirelay; do
				# shellcheck disable=SC2046
				load rawrate $(target $path) -c $conc -t "$RATE_SECS" -s 1024
				rec "rawrate.c$conc" "${path%-raw}" "$run" "$(kv rate)"
				rec "rawlat50.c$conc" "${path%-raw}" "$run" "$(kv p50_ms)"
				rec "rawlat99.c$conc" "${path%-raw}" "$run" "$(kv p99_ms)"
				printf '    %-12s c=%-3d run %d: raw connections: %s\n' $path $conc "$run" "$LOAD_OUT" >&2
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
		grep -v '^control-socket' "$WORK/ftpgw.conf"
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
	ip netns exec "$NS_GW" "${RELAY_NICE[@]}" "$WORK/minirelay" -P "$MR_PROCS" -u "$PIPES_USER" $GWC $MR_NOBODY_PORT $SRV $SRV_RAW \
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
if [ -n "$KGW_PID" ]; then
	kgw_stop
	[ "$GW_STATUS" = 0 ] || fail "ftpgw-kernel exited with status $GW_STATUS on SIGTERM"
fi


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
