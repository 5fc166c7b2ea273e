# bench/lib.sh: the helpers of bench/run.sh (sourced by it, never run alone):
# messages and failure, sizes, processes and their CPU, the gateways' start
# and stop, the load generator, the raw values and their statistics, one
# measured transfer.  The variables they use are set by run.sh first.
# shellcheck shell=bash disable=SC2034

say() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

fail() {
	printf '\nbench: FAIL: %s\n' "$*" >&2
	if [ -n "${WORK:-}" ] && [ -s "$WORK/ftpgw.log" ]; then
		echo "--- ftpgw log (last 15 lines):" >&2
		tail -n 15 "$WORK/ftpgw.log" >&2
	fi
	if [ -n "${WORK:-}" ] && [ -s "$WORK/ftpgw-kernel.log" ]; then
		echo "--- ftpgw-kernel log (last 15 lines):" >&2
		tail -n 15 "$WORK/ftpgw-kernel.log" >&2
	fi
	# ftpsrv says only when something went wrong (after its first line).
	if [ -n "${WORK:-}" ] && [ -s "$WORK/ftpsrv.log" ] && [ "$(wc -l <"$WORK/ftpsrv.log")" -gt 1 ]; then
		echo "--- ftpsrv log (last 5 lines):" >&2
		tail -n 5 "$WORK/ftpsrv.log" >&2
	fi
	exit 1
}

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
human() { awk -v b="$1" 'BEGIN { if (b >= 2^30 && b % 2^30 == 0) printf "%d GiB", b / 2^30;
	else if (b >= 2^20) printf "%g MiB", b / 2^20; else if (b >= 2^10) printf "%.4g KiB", b / 2^10
	else printf "%d B", b }'; }

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

# gwx_start CONF LOG PORT NAME: a gateway in gw, listening on PORT; its pid
# in GWX_PID.  gwx_stop PID NAME: SIGTERM, its exit status in GW_STATUS.
gwx_start() {
	echo "=== start $(date +%T) ($1)" >>"$2"
	ip netns exec "$NS_GW" "${RELAY_NICE[@]}" "$FTPGW" -f -c "$1" >>"$2" 2>&1 &
	GWX_PID=$!
	if ! wait_listen "$NS_GW" "$3" 10 || ! alive "$GWX_PID"; then
		alive "$GWX_PID" || { wait "$GWX_PID"; echo "$4 exited with status $?" >>"$2"; }
		fail "$4 did not start${WORKERS:+ with workers = $WORKERS} (config $1, log $2)"
	fi
	sleep 0.3  # workers, if any, bind their own listeners
	alive "$GWX_PID" || fail "$4 exited after starting"
}
# gw_conf_common PASSIVE-PORTS CONTROL-SOCKET: the lines every benchmark
# gateway's configuration starts with (limits from the fd budget).
gw_conf_common() {
	cat <<EOF
passive-ports = "$1"
max-sessions = $GW_MAX_SESSIONS
max-sessions-per-client = $GW_MAX_SESSIONS
shutdown-timeout = 2
${WORKERS:+workers = $WORKERS}
control-socket = "$2"
EOF
}
gwx_stop() {
	alive "$1" || fail "$2 had died"
	kill -TERM "$1"
	for _ in $(seq 100); do
		alive "$1" || break
		sleep 0.1
	done
	if alive "$1"; then
		kill -KILL "$1"
		wait "$1" 2>/dev/null
		fail "$2 still running 10 s after SIGTERM (shutdown-timeout = 2)"
	fi
	wait "$1" 2>/dev/null
	GW_STATUS=$?
}
# The relay gateway (path ftpgw): GW_PID, GW_CONF, ftpgw.log.
gw_start() { gwx_start "$GW_CONF" "$WORK/ftpgw.log" "$GW_LISTEN" ftpgw; GW_PID=$GWX_PID; }
gw_stop() { gwx_stop "$GW_PID" ftpgw; }
gw_check() {
	alive "$GW_PID" || fail "ftpgw died (see its log)"
	[ -z "${KGW_PID:-}" ] || alive "$KGW_PID" || fail "ftpgw-kernel died (see its log)"
}

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
summary() { # numbers on stdin -> "n min median max" (nothing if none)
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%d %.9g %.9g %.9g\n", NR, v[1], m, v[NR] }'
}
stats() { # KEY PATH -> "n min median max" (nothing if no values)
	awk -v k="$1" -v p="$2" '$1 == k && $2 == p { print $4 }' "$RAW" | summary
}
med() { stats "$1" "$2" | awk '{ print $3 }'; }

target() { # PATH: the -H/-p options of ftpload for that path
	case $1 in
	plain) echo "-H $SRV -p $SRV_PORT_PLAIN" ;;
	plain-raw) echo "-H $SRV -p $SRV_RAW" ;;
	ftpgw) echo "-H $SRV -p $SRV_PORT_GW" ;;
	ftpgw-kernel) echo "-H $SRV_K -p $SRV_PORT_GWK" ;;
	kalg) echo "-H $GWC -p $KALG_PORT" ;;
	minirelay) echo "-H $GWC -p $SRV_RAW" ;;
	minirelay-nobody) echo "-H $GWC -p $MR_NOBODY_PORT" ;;
	minirelay-ftp) echo "-H $GWC -p $MRF_PORT" ;;
	esac
}
MR_NOBODY_PID=
root_of() {
	case $1 in
	ftpgw) echo "$GW_PID" ;;
	ftpgw-kernel) echo "$KGW_PID" ;;
	minirelay) echo "$MR_PID" ;;
	minirelay-nobody) echo "$MR_NOBODY_PID" ;;
	minirelay-ftp) echo "$MRF_PID" ;;
	esac
}

# xfer KEY PATH RUN DIR MODE STREAMS BYTES-EACH: one measured transfer (and,
# for ftpgw-kernel and kalg, the proof that it took that path). Records
# MB/s as KEY, the relay's CPU seconds per GB as cpu.KEY, and as all.KEY the
# CPU seconds per GB of everything that moved the bytes: client, server,
# relay and ksoftirqd (per-process CPU includes the softirq work that ran in
# the process's context, and that can shift between the relay and its peers).
xfer() {
	local key=$1 path=$2 run=$3 dir=$4 mode=$5 n=$6 bytes=$7 root t0 t1 mbs cpu='' all gb try
	root=$(root_of "$path")
	# A channel whose client beat the kernel's late mapping (PA_RACED) went
	# over ftpgw-kernel's relay: not what this transfer is to measure.
	for try in 1 2 3; do
		path_before "$path"
		t0=$(ticks_of "$SRV_PID" "${root:--1}")
		if [ "$mode" = - ]; then   # minirelay, minirelay-nobody: raw TCP
			# shellcheck disable=SC2046
			load raw $(target "$path") -d "$dir" -s "$bytes" -n "$n"
		else
			# shellcheck disable=SC2046
			load xfer $(target "$path") -d "$dir" -m "$mode" -s "$bytes" -n "$n"
		fi
		t1=$(ticks_of "$SRV_PID" "${root:--1}")
		path_after "$path" "$mode" "$n" "$n * $bytes"
		[ "$PA_RACED" = 0 ] && break
		say "$path ($mode): $PA_RACED of $n data channel(s) reached the relay before the kernel's mapping was in$([ "$try" -lt 3 ] && echo ": measured again")"
	done
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
	printf '    %-12s %-14s %8.1f MB/s  CPU s/GB: relay %s, all %.3f%s\n' "$path" "$key" "$mbs" \
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
