# bench/table.sh: the table of bench/run.sh and its targets block (sourced
# by it, never run alone), from the raw values in $RAW.
# shellcheck shell=bash disable=SC2034

TFMT='%-38s %-16s %-9s %9s %9s %9s %9s %9s %7s %7s\n'

# row LABEL UNIT DECIMALS KEY [PLAIN-KEY] [MINIRELAY-KEY [MINIRELAY-PATH]]
# The value columns are ftpgw's (VALUE_PATH=PATH in the environment: that
# path's instead); the minirelay column is MINIRELAY-PATH's (minirelay).
# Status 2 when that path has no value for KEY (nothing printed).
row() {
	local label=$1 unit=$2 d=$3 key=$4 pk=${5:-} mk=${6:-} mp=${7:-minirelay} s pl='' mr='' vp=${VALUE_PATH:-ftpgw}
	s=$(stats "$key" "$vp")
	[ -n "$s" ] || return 2
	[ -n "$pk" ] && pl=$(med "$pk" plain)
	[ -n "$mk" ] && mr=$(med "$mk" "$mp")
	# shellcheck disable=SC2086
	set -- $s
	awk -v label="$label" -v path="$vp" -v unit="$unit" -v d="$d" -v n="$1" -v mn="$2" -v md="$3" -v mx="$4" \
		-v pl="$pl" -v mr="$mr" -v fmt="$TFMT" 'BEGIN {
		f = "%." d "f"
		printf fmt, label, path, unit,
			sprintf(f, md), sprintf(f, mn), sprintf(f, mx),
			pl == "" ? "-" : sprintf(f, pl), mr == "" ? "-" : sprintf(f, mr),
			(pl == "" || pl + 0 == 0) ? "-" : sprintf("%.2f", md / pl),
			(mr == "" || mr + 0 == 0) ? "-" : sprintf("%.2f", md / mr) }'
}

# prow: row's arguments, one line per measured path (ftpgw, ftpgw-kernel,
# kalg), the label on the first.
prow() {
	local label=$1 p
	shift
	for p in $GW_PATHS; do
		VALUE_PATH=$p row "$label" "$@" && label=
	done
	return 0
}

# target TEXT OK DETAIL: one line of the targets block.
target_line() {
	printf '  %-66s %-8s %s\n' "$1" "$([ "$2" = 1 ] && echo MET || echo 'NOT MET')" "$3"
}
# ratio_target TEXT KEY PATH OTHER-KEY OTHER-PATH OP LIMIT UNIT: median of
# KEY on PATH over the other's, against LIMIT (OP: ge or le).
ratio_target() {
	local v o r ok
	v=$(med "$2" "$3") o=$(med "$4" "$5")
	if [ -z "$v" ] || [ -z "$o" ]; then
		printf '  %-66s %s\n' "$1" "not measured"
		return
	fi
	r=$(awk -v v="$v" -v o="$o" 'BEGIN { printf "%.6f", o == 0 ? 0 : v / o }')
	ok=$(awk -v r="$r" -v l="$7" -v op="$6" 'BEGIN { print (op == "ge" ? r >= l : r <= l) ? 1 : 0 }')
	r=$(printf '%.3f' "$r")
	target_line "$1" "$ok" "$(printf '%s (%s %s / %s %s %s)' "$r" "$(printf '%.1f' "$v")" "$3" "$(printf '%.1f' "$o")" "$5" "$8")"
}

# paired KEY PATH OTHER-PATH: the median, over the runs both have, of
# each run's KEY on PATH over OTHER-PATH's, and its min-max. Each run
# measures the paths one after the other: a run-by-run ratio leaves out
# what drifts between runs (the VM's neighbours), which the ratio of the
# medians keeps.
paired() {
	awk -v k="$1" -v p="$2" -v o="$3" '$1 == k && $2 == p { v[$3] = $4 }
		$1 == k && $2 == o { w[$3] = $4 }
		END { for (r in v) if ((r in w) && w[r] > 0) print v[r] / w[r] }' "$RAW" | summary |
		awk '{ printf "%.3f (%.3f-%.3f over %d runs)\n", $3, $2, $4, $1 }'
}

# paired_line KEY PATH OTHER-PATH: a line under a target with the
# run-by-run ratio (paired), for information.
paired_line() {
	local p
	p=$(paired "$1" "$2" "$3")
	[ -n "$p" ] && printf '  %-66s %-8s %s\n' "" "" "run by run: $p"
	return 0
}

targets() {
	local k v worst ok detail c
	echo
	echo "targets (printed only; medians; never the exit status):"
	if has_path ftpgw-kernel && sel 1; then
		for k in retr.pasv stor.pasv retr.port stor.port; do
			ratio_target "ftpgw-kernel $(echo "${k/./ 1 stream }" | tr a-z A-Z | sed 's/STREAM/stream/') >= 0.95 x plain" "$k" ftpgw-kernel "$k" plain ge 0.95 MB/s
			paired_line "$k" ftpgw-kernel plain
		done
	fi
	if has_path ftpgw-kernel && sel 2; then
		ratio_target "ftpgw-kernel RETR 8 streams >= 0.9 x plain" retr.pasv.x8 ftpgw-kernel retr.pasv.x8 plain ge 0.9 MB/s
		paired_line retr.pasv.x8 ftpgw-kernel plain
	fi
	if has_path ftpgw-kernel && sel 3; then
		worst='' detail=''
		for k in cpu.retr.pasv cpu.stor.pasv cpu.retr.port cpu.stor.port cpu.retr.pasv.x8; do
			v=$(med "$k" ftpgw-kernel)
			[ -n "$v" ] || continue
			detail+="${detail:+, }${k#cpu.} $(printf '%.4f' "$v")"
			worst=$(awk -v a="${worst:-0}" -v b="$v" 'BEGIN { print (b > a ? b : a) }')
		done
		if [ -n "$worst" ]; then
			ok=$(awk -v w="$worst" 'BEGIN { print (w <= 0.05) ? 1 : 0 }')
			target_line "ftpgw-kernel gateway-process CPU per GB <= 0.05 s/GB (worst)" "$ok" "$(printf '%.4f s/GB' "$worst") ($detail)"
		fi
	fi
	if sel 4; then
		# The issue's baseline: the same FTP sessions through a bare
		# relay (minirelay -R: control and data, no ALG).
		for c in 1 16 64; do
			has_path ftpgw || continue
			ratio_target "ftpgw sessions/s >= 0.9 x minirelay -R's, $c conc." \
				"rate.c$c" ftpgw "rate.c$c" minirelay-ftp ge 0.9 /s
			paired_line "rate.c$c" ftpgw minirelay-ftp
		done
		has_path ftpgw && ratio_target "ftpgw session p99 <= 1.5 x minirelay -R's, 64 conc." \
			lat99.c64 ftpgw lat99.c64 minirelay-ftp le 1.5 ms
		for c in 1 16 64; do
			has_path ftpgw-kernel || continue
			ratio_target "ftpgw-kernel sessions/s >= minirelay -R's, $c conc." \
				"rate.c$c" ftpgw-kernel "rate.c$c" minirelay-ftp ge 1 /s
			paired_line "rate.c$c" ftpgw-kernel minirelay-ftp
			has_path ftpgw && ratio_target "ftpgw-kernel sessions/s >= ftpgw (relay) sessions/s, $c conc." \
				"rate.c$c" ftpgw-kernel "rate.c$c" ftpgw ge 1 /s
		done
	fi
}

table() {
	local host c
	host="$(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r)"
	echo "ftpgw benchmark, $(date '+%Y-%m-%d %H:%M:%S'), $host"
	echo "ftpgw: $FTPGW ($("$FTPGW" -V 2>/dev/null | head -n1); source $(git -C "$SRCDIR" describe --always --dirty 2>/dev/null || echo '?'))"
	echo "gateway: $GW_LOOPS event loop(s) (${WORKERS:+workers = $WORKERS, }$GW_PROCS process(es), $GW_THREADS thread(s) in the first); minirelay: $MR_PROCS process(es); every relay at nice $NICE"
	[ -z "$GW_BALANCE" ] || echo "gateway: $GW_BALANCE"
	echo "paths: plain minirelay $GW_PATHS$(has_path ftpgw-kernel && echo "; ftpgw-kernel: $KGW_CHANNELS data channel(s) forwarded by the kernel (smoke test included), $KGW_RACED reached its relay before their mapping was in (PASV at 4 sessions a worker or fewer, measured again in figures 1-3), 0 fell back to it")$(has_path kalg && echo "; kalg: $KALG_CHANNELS data connection(s) from the ALG's expectations to rewritten addresses")"
	echo "runs: $RUNS, single-stream size $(human "$SIZE"), 8 streams x $(human "$X8_SIZE")$(sel 7 && echo ", pipe budget $PIPES_N streams x $(human "$PIPES_SIZE")"); load average at the start: $LOAD0"
	echo "measuring took $((T_END - T_START)) s"
	echo
	# shellcheck disable=SC2059
	printf "$TFMT" "figure" path unit median min max plain minirelay xplain xminirel
	printf '%s\n' "$(printf '%.0s-' $(seq 136))"
	if sel 1; then
		prow "1 RETR 1 stream PASV" MB/s 1 retr.pasv retr.pasv raw.retr
		prow "1 STOR 1 stream PASV" MB/s 1 stor.pasv stor.pasv raw.stor
		prow "1 RETR 1 stream PORT" MB/s 1 retr.port retr.port raw.retr
		prow "1 STOR 1 stream PORT" MB/s 1 stor.port stor.port raw.stor
	fi
	sel 2 && prow "2 RETR 8 streams PASV (aggregate)" MB/s 1 retr.pasv.x8 retr.pasv.x8 raw.retr.x8
	if sel 3; then
		prow "3 CPU per GB, RETR 1 stream PASV" "s/GB" 3 cpu.retr.pasv "" cpu.raw.retr
		prow "3 CPU per GB, STOR 1 stream PASV" "s/GB" 3 cpu.stor.pasv "" cpu.raw.stor
		sel 1 && prow "3 CPU per GB, RETR 1 stream PORT" "s/GB" 3 cpu.retr.port "" cpu.raw.retr
		sel 1 && prow "3 CPU per GB, STOR 1 stream PORT" "s/GB" 3 cpu.stor.port "" cpu.raw.stor
		prow "3 CPU per GB, RETR 8 streams PASV" "s/GB" 3 cpu.retr.pasv.x8 "" cpu.raw.retr.x8
		prow "3 all CPU per GB, RETR 1 stream PASV" "s/GB" 3 all.retr.pasv all.retr.pasv all.raw.retr
		prow "3 all CPU per GB, STOR 1 stream PASV" "s/GB" 3 all.stor.pasv all.stor.pasv all.raw.stor
		sel 1 && prow "3 all CPU per GB, RETR 1 stream PORT" "s/GB" 3 all.retr.port all.retr.port all.raw.retr
		sel 1 && prow "3 all CPU per GB, STOR 1 stream PORT" "s/GB" 3 all.stor.port all.stor.port all.raw.stor
		prow "3 all CPU per GB, RETR 8 streams PASV" "s/GB" 3 all.retr.pasv.x8 all.retr.pasv.x8 all.raw.retr.x8
	fi
	if sel 4; then
		for c in 1 16 64; do
			prow "4 sessions/s, $c concurrent" sess/s 0 rate.c$c rate.c$c rate.c$c minirelay-ftp
			prow "4 session latency p50, $c concurrent" ms 2 lat50.c$c lat50.c$c lat50.c$c minirelay-ftp
			prow "4 session latency p99, $c concurrent" ms 2 lat99.c$c lat99.c$c lat99.c$c minirelay-ftp
		done
		for c in 1 16 64; do
			VALUE_PATH=minirelay-ftp row "4 sessions/s via minirelay -R, $c conc." sess/s 0 rate.c$c rate.c$c
			VALUE_PATH=minirelay-ftp row "4 session p99 via minirelay -R, $c conc." ms 2 lat99.c$c lat99.c$c
		done
		for c in 1 16 64; do
			VALUE_PATH=minirelay row "4 raw conn/s via minirelay, $c conc." conn/s 0 rawrate.c$c rawrate.c$c
			VALUE_PATH=minirelay row "4 raw conn p99 via minirelay, $c conc." ms 2 rawlat99.c$c rawlat99.c$c
		done
		for c in 1 16 64; do
			prow "4 gateway CPU per session, $c conc." us 0 cpu.rate.c$c "" cpu.rate.c$c minirelay-ftp
		done
		for c in 1 16 64; do
			VALUE_PATH=minirelay-ftp row "4 minirelay -R CPU per session, $c conc." us 0 cpu.rate.c$c
		done
		# Sessions abandoned for a refused PASV data connection (ftpload -R),
		# on the paths where it happened.
		for c in 1 16 64; do
			for p in plain minirelay-ftp $GW_PATHS; do
				[ "$(awk -v k="refused.c$c" -v p="$p" '$1 == k && $2 == p { s += $4 } END { print s + 0 }' "$RAW")" = 0 ] ||
					VALUE_PATH=$p row "4 refused PASV data conn., $c conc." sessions 0 "refused.c$c"
			done
		done
		prow "4 gateway CPU busy, 64 concurrent" "% 1 CPU" 0 busy.rate.c64
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
	echo "ftpgw = the gateway's relay; ftpgw-kernel = data-path = kernel (nftables DNAT/SNAT per data connection);"
	echo "kalg = the kernel's FTP ALG (nf_conntrack_ftp + nf_nat_ftp, DNAT + SNAT in gw), no userspace proxy."
	sel 3 && echo "CPU per GB: the gateway process's (none for kalg); all CPU: client + server + relay + ksoftirqd."
	sel 4 && echo "figure 4: minirelay column = the same FTP sessions through minirelay -R (control and data relayed, no ALG:"
	sel 4 && echo "  the server announces gw's address); 'raw conn.' lines = one raw connection through minirelay, for scale;"
	sel 4 && echo "  a session whose PASV data connection was refused is left out of the rate and counted (lines 'refused PASV data conn.', if any)."
	echo "xplain, xminirel = the path's median / the other's median.  MB = 10^6 bytes, GB = 10^9 bytes."
	has_path ftpgw-kernel && echo "$RCU_NOTE: with 1, each nftables transaction that removes mappings ends in an expedited RCU grace period (IPIs to every CPU), and ftpgw-kernel batches its removals (10 ms) at any load."
	sel 5 && echo "idle: ${IDLE_WHY:-?}."
	if sel 7; then
		echo "pipe budget: $PIPES_NOTE."
		echo "  Figure 7 ran ftpgw as $PIPES_USER (each data channel's relay from its debug log, its pipe fds sampled"
		echo "  in /proc); its minirelay column is minirelay as root (no budget), and the 'minirelay as $PIPES_USER' lines"
		echo "  show that relay under the budget (value columns; xminirel: $PIPES_USER / root).  8 streams: $PIPES_REF."
		echo "  $PIPES_TCP_NOTE."
		echo "  minirelay as $PIPES_USER got, first run: ${MR_NOBODY_PIPES:-?} (asked 1 MiB each)."
	fi
	if sel 1 || sel 2 || sel 3 || sel 4; then targets; fi
	[ -z "$KMSG_NOTE" ] || printf '\nINVALID: %s\n' "$KMSG_NOTE"
}
