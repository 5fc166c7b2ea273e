# bench/paths.sh: the two kernel paths of bench/run.sh (sourced by it, never
# run alone), set up in gw next to the relay gateway and measured in the
# same run:
#
#   ftpgw-kernel  a second ftpgw, data-path = "kernel": it keeps the control
#                 connection and answers PASV/PORT, and each data connection
#                 is forwarded by an nftables DNAT/SNAT mapping it installs
#                 in its table (inet ftpgw_bench); redirect mode like the
#                 relay gateway, on ports of its own (control 2021 -> 8022,
#                 passive range 52000-53999), the server at 203.0.113.3.
#   kalg          no userspace proxy: the kernel's FTP ALG (nf_conntrack_ftp
#                 + nf_nat_ftp).  The client talks to 198.51.100.1:2121 (gw),
#                 DNATed to ftpsrv's plain port at 203.0.113.4 and SNATed to
#                 203.0.113.1, the helper assigned by an nft "ct helper"
#                 object (table ip ftpgw_bench_kalg): PASV works only if the
#                 ALG rewrote the 227 to gw's address, PORT reaches the client
#                 only through the expectation the ALG set up on gw's
#                 server-side address.
#
# path_before PATH and path_after PATH MODE COUNT BYTES-EXPR around a load
# prove that it took that path, or fail loudly: COUNT data channels
# forwarded by the kernel (the gateway's counters, no fallback to its
# relay), or COUNT data connections (and their bytes) created from the ALG's
# expectations with the rewritten addresses (nft counters in gw).
# shellcheck shell=bash disable=SC2034

has_path() { case " $GW_PATHS " in *" $1 "*) return 0 ;; esac; return 1; }

# ------------------------------------------------------------------ ftpgw-kernel

KGW_PID=
kgw_conf() {
	{
		echo "# ftpgw benchmark configuration: the kernel data path"
		gw_conf_common "$GWK_PASV" "$WORK/ftpgw-kernel.sock"
		cat <<EOF
data-path = "kernel"
kernel-table = "$KGW_TABLE"
kernel-log-group = $KGW_LOG_GROUP
# Redirect mode knows FTP by the original destination port: 21 built in,
# this gateway's own port by a mapping.
port-mapping "bench-kernel" { application = "ftp"  ports = {$SRV_PORT_GWK} }
listen "bench-kernel" {
	address = "0.0.0.0"
	port = $GWK_LISTEN
	mode = "redirect"
}
EOF
	} >"$WORK/ftpgw-kernel.conf"
}
kgw_start() {
	kgw_conf
	gwx_start "$WORK/ftpgw-kernel.conf" "$WORK/ftpgw-kernel.log" "$GWK_LISTEN" ftpgw-kernel
	KGW_PID=$GWX_PID
}
kgw_stop() {
	gwx_stop "$KGW_PID" ftpgw-kernel
	KGW_PID=
	# A gateway that stops removes its table.
	if ip netns exec "$NS_GW" nft list table inet "$KGW_TABLE" >/dev/null 2>&1; then
		say "WARNING: ftpgw-kernel left its table inet $KGW_TABLE behind after SIGTERM (removed now)"
		ip netns exec "$NS_GW" nft delete table inet "$KGW_TABLE"
	fi
}
# kgw_stat NAME: one counter of the kernel gateway's "ftpgwctl stats".
kgw_stat() {
	local out
	out=$("$FTPGWCTL" -s "$WORK/ftpgw-kernel.sock" stats 2>&1) || fail "ftpgwctl stats (ftpgw-kernel): $out"
	printf '%s\n' "$out" | awk -v n="$1" '$1 == n { print $2; f = 1 } END { exit !f }' ||
		fail "ftpgwctl stats (ftpgw-kernel) has no $1: $(printf '%s' "$out" | head -c 300)"
}

# ------------------------------------------------------------------ kalg

# The helper modules: built in (no /proc/modules: a kernel without
# loadable modules, like this VM's), already loaded, or loaded by us and
# unloaded at the end.  Whether they work is what the smoke test proves.
KALG_LOADED=
kalg_modules() {
	local m
	[ -r /proc/modules ] || return 0
	for m in nf_conntrack_ftp nf_nat_ftp; do
		grep -q "^$m " /proc/modules && continue
		modprobe "$m" 2>>"$WORK/setup.log" || fail "kalg: cannot load $m (modprobe $m)"
		if grep -q "^$m " /proc/modules; then   # else built in
			KALG_LOADED="$m $KALG_LOADED"
			say "kalg: loaded $m (unloaded at the end)"
		fi
	done
}

kalg_setup() {
	kalg_modules
	ip netns exec "$NS_GW" nft -f - >>"$WORK/setup.log" 2>&1 <<EOF || fail "kalg: nft setup: $(tail -n 3 "$WORK/setup.log")"
table ip $KALG_TABLE {
	ct helper ftp-bench {
		type "ftp" protocol tcp
		l3proto ip
	}
	counter ctl { }
	counter pasv { }
	counter pasv_conns { }
	counter port { }
	counter port_conns { }
	# Explicit assignment (no automatic helpers on modern kernels): after
	# conntrack (-200), before the DNAT (-100), on the address clients use.
	chain alg_helper {
		type filter hook prerouting priority -150; policy accept;
		iifname "eth0" ip daddr $GWC tcp dport $KALG_PORT ct state new ct helper set "ftp-bench" counter name ctl
	}
	chain alg_dnat {
		type nat hook prerouting priority -100; policy accept;
		iifname "eth0" ip daddr $GWC tcp dport $KALG_PORT dnat to $SRV_A:$SRV_PORT_PLAIN
	}
	# Toward srv the control connection comes from gw: a PORT the ALG did
	# not rewrite would name an address the server is not talking to.
	chain alg_snat {
		type nat hook postrouting priority 100; policy accept;
		oifname "eth1" ct status dnat ct original ip daddr $GWC tcp dport $SRV_PORT_PLAIN snat to $GWS
	}
	# The proof: data connections created from the ALG's expectations,
	# to gw's client-side address (PASV, EPSV: the 227 said gw) or from
	# the server to gw's server-side address (PORT, EPRT: rewritten).
	chain alg_proof {
		type filter hook forward priority 0; policy accept;
		ct status expected ct original ip saddr $CLI ct original ip daddr $GWC counter name pasv
		ct status expected ct original ip saddr $CLI ct original ip daddr $GWC tcp flags & (syn | ack) == syn counter name pasv_conns
		ct status expected ct original ip saddr $SRV_A ct original ip daddr $GWS counter name port
		ct status expected ct original ip saddr $SRV_A ct original ip daddr $GWS tcp flags & (syn | ack) == syn counter name port_conns
	}
}
EOF
}
kalg_teardown() {
	local m
	[ -n "${NS_GW:-}" ] && ip netns exec "$NS_GW" nft delete table ip "$KALG_TABLE" 2>/dev/null
	for m in $KALG_LOADED; do
		modprobe -r "$m" 2>/dev/null || say "WARNING: cannot unload $m, which the benchmark loaded (in use?)"
	done
	KALG_LOADED=
}
# kalg_counter NAME: "PACKETS BYTES" of one of the named counters.
kalg_counter() {
	ip netns exec "$NS_GW" nft list counter ip "$KALG_TABLE" "$1" 2>/dev/null |
		awk '/packets/ { for (i = 1; i < NF; i++) { if ($i == "packets") p = $(i + 1); if ($i == "bytes") b = $(i + 1) } }
			END { if (p == "") exit 1; print p, b }' || fail "kalg: cannot read counter $1 in table ip $KALG_TABLE"
}

# ------------------------------------------------------------------ the proof

PB_A=0 PB_B=0 PB_R=0 PA_RACED=0
# numbers WORDS...: all of them numbers (a helper in $(...) cannot fail the run).
numbers() {
	local w
	[ $# -gt 0 ] || return 1
	for w in "$@"; do case $w in '' | *[!0-9]*) return 1 ;; esac; done
}
path_before() {
	case $1 in
	ftpgw-kernel) PB_A=$(kgw_stat data_channels_kernel) PB_B=$(kgw_stat data_channels_kernel_fallback)
		PB_R=$(kgw_stat data_channels_kernel_raced) ;;
	kalg) PB_A=$(kalg_counter pasv_conns; kalg_counter pasv; kalg_counter port_conns; kalg_counter port) ;;
	*) return 0 ;;
	esac
	# shellcheck disable=SC2086
	numbers $PB_A $PB_B $PB_R || fail "$1: cannot read its counters (got '$PB_A' '$PB_B' '$PB_R')"
}
path_after() { # PATH MODE COUNT BYTES-EXPR
	local k f r kind a b want
	PA_RACED=0
	case $1 in
	ftpgw-kernel)
		k=$(kgw_stat data_channels_kernel) f=$(kgw_stat data_channels_kernel_fallback)
		r=$(kgw_stat data_channels_kernel_raced)
		numbers "$k" "$f" "$r" || fail "ftpgw-kernel: cannot read its counters (got '$k' '$f' '$r')"
		# A client that connects before a PASV's late mapping (a worker
		# with few sessions) is the relay's, but no fallback.
		if [ $((f - PB_B)) != 0 ] || [ $((k - PB_A + r - PB_R)) -lt "$3" ]; then
			echo "--- ftpgw-kernel log, 'relay' and 'kernel' lines (last 10):" >&2
			grep -E 'relay|kernel' "$WORK/ftpgw-kernel.log" | tail -n 10 >&2
			fail "ftpgw-kernel: $3 data channel(s) ($2) should have been forwarded by the kernel:" \
				"data_channels_kernel went $PB_A -> $k, data_channels_kernel_fallback $PB_B -> $f," \
				"data_channels_kernel_raced $PB_R -> $r"
		fi
		KGW_CHANNELS=$((KGW_CHANNELS + k - PB_A))
		PA_RACED=$((r - PB_R))
		KGW_RACED=$((KGW_RACED + PA_RACED))
		;;
	kalg)
		# shellcheck disable=SC2086,SC2046
		set -- "$@" $PB_A $(kalg_counter pasv_conns; kalg_counter pasv; kalg_counter port_conns; kalg_counter port)
		[ $# = 20 ] && numbers "${@:5}" || fail "kalg: cannot read the counters of table ip $KALG_TABLE"
		# $5..$12 before (conns pkts, bytes; pkts, bytes; ...), $13..$20 after
		case $2 in
		pasv | epsv) a=$((${13} - $5)) b=$((${16} - ${8})) kind=PASV ;;
		port | eprt) a=$((${17} - ${9})) b=$((${20} - ${12})) kind=PORT ;;
		*) fail "kalg: mode $2?" ;;
		esac
		want=$(awk "BEGIN { printf \"%d\", $4 }")
		if [ "$a" -lt "$3" ] || [ "$b" -lt "$want" ]; then
			fail "kalg: $3 data connection(s) ($2) should have come from the ALG's $kind expectations with the" \
				"rewritten address, $want bytes at least: counted $a connection(s), $b bytes" \
				"($(ip netns exec "$NS_GW" nft list table ip "$KALG_TABLE" 2>&1 | grep -E 'packets' | tr -s '\t ' ' ' | paste -sd';'))"
		fi
		KALG_CHANNELS=$((KALG_CHANNELS + a))
		;;
	esac
}
KGW_CHANNELS=0 KGW_RACED=0 KALG_CHANNELS=0
