# lanes-ha.sh: two gateways, the recipes of contrib/ha (sourced by run.sh,
# which runs lane_X for every X appended to EXTRA_LANES).
#
# The lane's gw namespace becomes the clients' router: its server-side
# port joins a bridge br0 (203.0.113.1) with the server and two gateway
# hosts, namespaces PREFIX-LANE-gwa (203.0.113.11) and -gwb (.12), each
# with its own ftpgw (mode reverse, upstream vsftpd 203.0.113.2:21) and its
# own keepalived (unicast VRRP between the two; configurations made from
# the contrib/ha templates, pid files and logs in the lane's directory).
#
#   cli ── router(gw) ── br0 ─┬─ gwa: ftpgw "a" + keepalived
#                             ├─ gwb: ftpgw "b" + keepalived
#                             └─ srv: vsftpd
#
#   ha-standby  keepalived-active-standby.conf: one VIP (.100), A master.
#               A's ftpgw is killed (SIGKILL): A's track script fails, the
#               VIP moves to B, new sessions go through B.
#   ha-ecmp     keepalived-active-active.conf: VIPs .101 (A master) and
#               .102 (B master) are the next hops of the router's ECMP
#               route to the service address .200 (ftpgw-ecmp.sh, L3
#               hashing), which both gateways carry on lo.  16 client
#               addresses spread over both; A's ftpgw is killed while each
#               gateway carries a long transfer.
#
# Gateway A is killed with SIGKILL, as a crash: only its own PID.

EXTRA_LANES+=(ha-standby ha-ecmp)

HA_A4=203.0.113.11 HA_B4=203.0.113.12
HA_VIP=203.0.113.100                          # ha-standby
HA_VIP1=203.0.113.101 HA_VIP2=203.0.113.102   # ha-ecmp: the next hops
HA_SVC=203.0.113.200                          # ha-ecmp: the service address
HA_CLIENTS=()                                 # ha-ecmp: 198.51.100.21-36
for i in $(seq 21 36); do HA_CLIENTS+=("198.51.100.$i"); done
# The long transfers' pace: 64 MiB in about 32 s, so that a transfer
# outlives a failover that the health check's 8 s timeout (ha_ka_start) and
# a loaded machine can stretch to 10 s or more (8.9 s seen).
HA_RATE=2M

# ha_need: keepalived is installed (else the scenarios skip: status 77).
ha_need() { command -v keepalived >/dev/null 2>&1 || { echo "keepalived is not installed"; return 77; }; }

ha_ns() { echo "$NS_GW$1"; }   # ha_ns a|b: the namespace of gateway a or b
ha_own() { case $1 in a) echo "$HA_A4" ;; b) echo "$HA_B4" ;; esac; }
ha_peer() { case $1 in a) echo "$HA_B4" ;; b) echo "$HA_A4" ;; esac; }

# ha_topo: the router's bridge and the two gateway hosts.
ha_topo() {
	local r=$NS_GW g ns mac
	# br0 keeps eth1's MAC address: the server's neighbour entry for the
	# router stays right.
	mac=$(ip -n "$r" -br link show eth1 | awk '{ print $3 }')
	ip -n "$r" link add br0 address "$mac" type bridge &&
	ip -n "$r" addr flush dev eth1 &&
	ip -n "$r" link set eth1 master br0 &&
	ip -n "$r" addr add "$GWS4/24" dev br0 &&
	ip -n "$r" addr add "$GWS6/64" dev br0 nodad &&
	ip -n "$r" link set br0 up || return 1
	for g in a b; do
		ns=$(ha_ns "$g")
		ip netns add "$ns" && ip -n "$ns" link set lo up &&
		ip -n "$r" link add "ha-$g" type veth peer name eth0 netns "$ns" &&
		ip -n "$r" link set "ha-$g" master br0 && ip -n "$r" link set "ha-$g" up &&
		ip -n "$ns" addr add "$(ha_own "$g")/24" dev eth0 && ip -n "$ns" link set eth0 up &&
		ip -n "$ns" route add default via "$GWS4" || return 1
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_reserved_ports=50000-51999 >/dev/null || return 1
	done
	# Prove the bridge before anything uses it.
	for g in a b; do
		ip netns exec "$(ha_ns "$g")" timeout 5 bash -c "exec 4<>/dev/tcp/$SRV4/21" ||
			{ echo "gateway $g cannot reach $SRV4:21"; return 1; }
	done
}

# ha_gw_start GW PORT...: ftpgw GW (a|b) in its namespace, configured from
# stdin; files gw-GW.{conf,log,pid}, control socket ctl-GW.sock (lib.sh's
# naming, so gw_ctl, gw_logf and gw_stop_named work).
ha_gw_start() {
	local gw=$1 ns conf=$LANE_DIR/gw-$1.conf log=$LANE_DIR/gw-$1.log pid p
	shift
	ns=$(ha_ns "$gw")
	{ cat; echo "control-socket = \"$(gw_sock "$gw")\""; } >"$conf"
	echo "gw-$gw.conf:"
	cat "$conf"
	ip netns exec "$ns" "$FTPGW" -d -c "$conf" >>"$log" 2>&1 &
	pid=$!
	register_pid "$pid"
	echo "$pid" >"$(gw_pidf "$gw")"
	for p; do
		wait_listen "$ns" "$p" 5 || { echo "ftpgw $gw does not listen on $p"; tail -n 20 "$log"; return 1; }
	done
	alive "$pid" || { echo "ftpgw $gw exited"; tail -n 20 "$log"; return 1; }
}

# ha_ka_start GW TEMPLATE WORD=VALUE...: keepalived (VRRP only) for gateway
# GW from contrib/ha/TEMPLATE with each @WORD@ replaced, plus the words
# every gateway has (@IFACE@ @SELF@ @PEER@ @FTPGWCTL@ @CTL_SOCKET@); files
# ka-GW.{conf,log,pid}.
ha_ka_start() {
	local gw=$1 tmpl=$SRCDIR/contrib/ha/$2 conf=$LANE_DIR/ka-$1.conf sed=() kv pid
	shift 2
	for kv in IFACE=eth0 "SELF=$(ha_own "$gw")" "PEER=$(ha_peer "$gw")" \
	    "FTPGWCTL=$(dirname "$FTPGW")/ftpgwctl" "CTL_SOCKET=$(gw_sock "$gw")" "$@"; do
		sed+=(-e "s|@${kv%%=*}@|${kv#*=}|g")
	done
	# The health check may take 8 s, not the template's 2: on a CI machine
	# whose two CPUs run four lanes (one of them the kernel lane's 1000
	# sessions), a sanitizer build of ftpgwctl took 1-3 s to start, and
	# two such checks put the master in FAULT with nothing wrong. A dead
	# gateway still fails the check at once (connection refused).
	sed+=(-e 's/^\([[:space:]]*timeout\) 2$/\1 8/')
	sed "${sed[@]}" "$tmpl" >"$conf" || return 1
	grep -q '^[[:space:]]*timeout 8$' "$conf" || { echo "ka-$gw.conf: no health check timeout to raise"; return 1; }
	if grep -v '^[[:space:]]*#' "$conf" | grep '@[A-Z_0-9]*@'; then
		echo "ka-$gw.conf: words left unreplaced"
		return 1
	fi
	ip netns exec "$(ha_ns "$gw")" keepalived -t -f "$conf" || { echo "keepalived -t rejects ka-$gw.conf"; return 1; }
	ip netns exec "$(ha_ns "$gw")" keepalived -n -l -D -P -f "$conf" \
		-p "$LANE_DIR/ka-$gw.pid" -r "$LANE_DIR/ka-$gw-vrrp.pid" >"$LANE_DIR/ka-$gw.log" 2>&1 &
	pid=$!
	register_pid "$pid"
	echo "$pid" >"$LANE_DIR/ka-$gw.main"
}

# ha_has_vip GW ADDR: gateway GW holds ADDR.
ha_has_vip() { [ -n "$(ip -n "$(ha_ns "$1")" -4 -o addr show dev eth0 to "$2/32" 2>/dev/null)" ]; }

# ha_mac GW: the MAC address of gateway GW's eth0.
ha_mac() { ip -n "$(ha_ns "$1")" -br link show eth0 | awk '{ print $3 }'; }

# ha_wait_vip GW ADDR SECONDS: until GW holds ADDR, the other gateway does
# not, and the router's neighbour entry for ADDR (if any) is GW's MAC: the
# move has settled.
ha_wait_vip() {
	local gw=$1 addr=$2 other i n
	other=$( [ "$gw" = a ] && echo b || echo a)
	for i in $(seq $(($3 * 10))); do
		if ha_has_vip "$gw" "$addr" && ! ha_has_vip "$other" "$addr"; then
			n=$(ip -n "$NS_GW" neigh show "$addr" dev br0 | grep -o 'lladdr [0-9a-f:]*' | cut -c8-)
			if [ -z "$n" ] || [ "$n" = "$(ha_mac "$gw")" ]; then
				echo "$addr on gateway $gw after $(awk -v i="$i" 'BEGIN { printf "%.1f", i / 10 }') s"
				return 0
			fi
		fi
		sleep 0.1
	done
	echo "FAIL: $addr not settled on gateway $gw within $3 s (a: $(ha_has_vip a "$addr" && echo has it)," \
		"b: $(ha_has_vip b "$addr" && echo has it), router: $(ip -n "$NS_GW" neigh show "$addr"))"
	return 1
}

# ha_kill GW: SIGKILL to gateway GW's ftpgw, its supervisor and its
# workers (a crash of the whole daemon; a worker outlives a killed
# supervisor), and reap the supervisor.
ha_kill() {
	local pid kids
	pid=$(gw_pid "$1")
	alive "$pid" || { echo "FAIL: ftpgw $1 had died before"; return 1; }
	kids=$(wk_children "$pid")
	# shellcheck disable=SC2086
	kill -KILL "$pid" $kids
	wait "$pid" 2>/dev/null
	echo "ftpgw $1 killed: pid $pid, workers $kids"
}

# ha_clients_of GW [ADDR...]: how many sessions gateway GW logged (since
# log_mark) from each client address, "ADDR N" lines.
ha_clients_of() {
	local gw=$1 a
	shift
	for a; do
		echo "$a $(log_new "$(gw_logf "$gw")" | grep -c "client ${a//./\\.}:[0-9]* to ")"
	done
}

# ha_curl ADDR ARGS...: curl in cli from source address ADDR, as the test
# user, quiet and bounded.
ha_curl() {
	local a=$1
	shift
	in_ns "$NS_CLI" curl -q -sS --interface "$a" --connect-timeout 10 --max-time 60 \
		-u "$IT_USER:$IT_PASS" "$@"
}

# ha_long ADDR HOST OUT: a background RETR of file-64MiB at $HA_RATE to OUT;
# its pid in HA_LONG_PID, its exit status later in OUT.rc.
ha_long() {
	(ha_curl "$1" --max-time 90 --limit-rate "$HA_RATE" --disable-epsv -o "$3" \
		"ftp://$2/file-64MiB" 2>"$3.err"; echo $? >"$3.rc") &
	HA_LONG_PID=$!
}

# ha_wait_bytes FILE BYTES SECONDS: until FILE has BYTES (the transfer runs).
ha_wait_bytes() {
	local i
	for i in $(seq $(($3 * 10))); do
		[ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.1
	done
	echo "FAIL: ${1##*/} did not reach $2 bytes within $3 s"
	return 1
}

# ha_teardown: keepalived and ftpgw of both gateways (SIGTERM to
# keepalived, which gives up its VIPs; then SIGKILL to what is left in
# their namespaces), and the namespaces.  Waits only for those: the
# servers are lane_teardown's.
ha_teardown() {
	local g pid ns pids=() i
	for g in a b; do
		pid=$(cat "$LANE_DIR/ka-$g.main" 2>/dev/null) && pids+=("$pid") && kill -TERM "$pid" 2>/dev/null
		pid=$(gw_pid "$g" 2>/dev/null) && pids+=("$pid")
	done
	for i in $(seq 30); do
		for pid in "${pids[@]}"; do alive "$pid" && break; done
		alive "$pid" || break
		sleep 0.1
	done
	for g in a b; do
		ns=$(ha_ns "$g")
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	wait "${pids[@]}" 2>/dev/null
	for g in a b; do ip netns del "$(ha_ns "$g")" 2>/dev/null; done
}

# ha_end: the surviving gateway B exits 0 on SIGTERM; then the teardown.
ha_end() {
	if [ "$LANE_STATE" != new ] && [ -f "$(gw_pidf b)" ]; then
		gw_stop_result b "$LANE: ftpgw b alive at the end, exits 0 on SIGTERM"
		ha_teardown
	fi
	lane_end
}

ha_ftpgw_conf() {   # ha_ftpgw_conf LISTEN-ADDRESS
	cat <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
listen "ha" { address = "$1"  port = 21  mode = "reverse"  upstream = "$SRV4:21" }
EOF
}

# ---------------------------------------------------------------- active/standby

setup_ha_standby() {
	local g prio
	ha_need >/dev/null || return 0
	ha_topo || return 1
	for g in a b; do
		# (a here-string, not a pipe: ftpgw stays a child of this shell)
		ha_gw_start "$g" 21 <<<"$(ha_ftpgw_conf 0.0.0.0)" || return 1
	done
	for g in a b; do
		prio=100
		[ "$g" = a ] && prio=150
		ha_ka_start "$g" keepalived-active-standby.conf "PRIORITY=$prio" "VIP=$HA_VIP/24" || return 1
	done
	ha_wait_vip a "$HA_VIP" 20
}

# Two sessions (PASV, PORT) through the VIP: RETR+STOR 1MiB + LIST sha256,
# the 227 names the VIP; A's log has them, B's none.
sc_ha_standby_master() {
	local m
	ha_need || return 77
	log_mark "$(gw_logf a)" "$(gw_logf b)"
	cli_py --host "$HA_VIP" --port 21 --mode pasv --expect-pasv-host "$HA_VIP" xfer --sizes 1MiB --list || return 1
	cli_py --host "$HA_VIP" --port 21 --mode port xfer --sizes 1MiB --list || return 1
	m=$(ha_clients_of a "$CLI4" | cut -d' ' -f2)
	[ "$m" = 2 ] || { echo "FAIL: gateway a logged $m sessions of $CLI4, expected 2"; return 1; }
	m=$(ha_clients_of b "$CLI4" | cut -d' ' -f2)
	[ "$m" = 0 ] || { echo "FAIL: the standby b logged $m sessions"; return 1; }
	echo "gateway a carried both sessions, b none"
}

# A RETR of 64MiB runs through A; A's ftpgw is killed.  A's keepalived
# enters FAULT (its track script), the VIP settles on B, the live transfer
# is lost, and 10 new sessions (PASV and PORT, RETR+STOR 1MiB sha256) all
# succeed through B.
sc_ha_standby_failover() {
	local out=$LANE_DIR/long.$SC_N i fails=0 m t0
	ha_need || return 77
	ha_long "$CLI4" "$HA_VIP:21" "$out"
	ha_wait_bytes "$out" $((2 << 20)) 15 || return 1
	log_mark "$(gw_logf b)" "$LANE_DIR/ka-a.log"
	t0=$(date +%s.%N)
	ha_kill a || return 1
	ha_wait_vip b "$HA_VIP" 20 || return 1
	sc_diag "failover: the VIP settled on b $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after the kill"
	log_wants "$LANE_DIR/ka-a.log" 'Entering FAULT STATE' "a's track script noticing" || return 1
	wait "$HA_LONG_PID"
	if [ "$(cat "$out.rc")" = 0 ] && check_sha "$out" file-64MiB "the transfer through a"; then
		echo "FAIL: the transfer through the killed gateway completed"
		return 1
	fi
	echo "the transfer through a was lost (curl exit $(cat "$out.rc"): $(tail -n1 "$out.err"))"
	for i in $(seq 10); do
		m=pasv
		[ $((i % 2)) = 0 ] && m=port
		cli_py --host "$HA_VIP" --port 21 --mode "$m" xfer --sizes 1MiB || fails=$((fails + 1))
	done
	sc_diag "new sessions after the failover: 10, failed: $fails"
	[ "$fails" = 0 ] || return 1
	m=$(ha_clients_of b "$CLI4" | cut -d' ' -f2)
	[ "$m" = 10 ] || { echo "FAIL: gateway b logged $m sessions of $CLI4, expected 10"; return 1; }
	gw_alive b
}

lane_ha_standby() {
	lane_begin ha-standby setup_ha_standby
	# ha standby: PASV and PORT sessions through the VIP (RETR+STOR 1MiB +
	# LIST sha256, 227 names the VIP) all on the master a, none on b
	scenario "ha standby: sessions go through the master" sc_ha_standby_master
	# ha standby: a's ftpgw killed during a 64MiB RETR: a's keepalived
	# enters FAULT, the VIP settles on b, that transfer is lost, 10 new
	# sessions (PASV/PORT RETR+STOR 1MiB sha256) through b: no failure
	scenario "ha standby: master's ftpgw killed, new sessions via the standby" sc_ha_standby_failover
	ha_end
}

# ---------------------------------------------------------------- active/active

setup_ha_ecmp() {
	local g p1 p2 a
	ha_need >/dev/null || return 0
	ha_topo || return 1
	for a in "${HA_CLIENTS[@]}"; do
		ip -n "$NS_CLI" addr add "$a/24" dev eth0 || return 1
	done
	ip netns exec "$NS_GW" env FTPGW_SERVICE="$HA_SVC" FTPGW_NEXTHOPS="$HA_VIP1 $HA_VIP2" \
		sh "$SRCDIR/contrib/ha/ftpgw-ecmp.sh" router add || return 1
	ip netns exec "$NS_GW" env FTPGW_SERVICE="$HA_SVC" FTPGW_NEXTHOPS="$HA_VIP1 $HA_VIP2" \
		sh "$SRCDIR/contrib/ha/ftpgw-ecmp.sh" router show || return 1
	for g in a b; do
		ip netns exec "$(ha_ns "$g")" env FTPGW_SERVICE="$HA_SVC" \
			sh "$SRCDIR/contrib/ha/ftpgw-ecmp.sh" gateway add || return 1
		ha_gw_start "$g" 21 <<<"$(ha_ftpgw_conf "$HA_SVC")" || return 1
	done
	for g in a b; do
		p1=100 p2=150
		[ "$g" = a ] && p1=150 p2=100
		ha_ka_start "$g" keepalived-active-active.conf "PRIORITY_1=$p1" "PRIORITY_2=$p2" \
			"VIP_1=$HA_VIP1/24" "VIP_2=$HA_VIP2/24" || return 1
	done
	ha_wait_vip a "$HA_VIP1" 20 && ha_wait_vip b "$HA_VIP2" 20
}

# From each of the 16 client addresses a PASV RETR and a PORT STOR of 1MiB
# (curl), sha256; each address's two sessions on one gateway, both gateways
# used.  The map (address gateway) goes to ecmp.map for the next scenario.
sc_ha_ecmp_spread() {
	local a out=$LANE_DIR/curl.$SC_N na nb ta tb
	ha_need || return 77
	log_mark "$(gw_logf a)" "$(gw_logf b)"
	for a in "${HA_CLIENTS[@]}"; do
		ha_curl "$a" --disable-epsv -o "$out" "ftp://$HA_SVC/file-1MiB" || { echo "FAIL: RETR from $a"; return 1; }
		check_sha "$out" file-1MiB "RETR from $a" || return 1
		rm -f "$out"
		ha_curl "$a" -P "$a" --disable-eprt -T "$IT_HOME/file-1MiB" "ftp://$HA_SVC/uploads/$SC_TAG-$a" ||
			{ echo "FAIL: STOR from $a"; return 1; }
		check_upload "uploads/$SC_TAG-$a" file-1MiB || return 1
	done
	echo "32 transfers, sha256 ok"
	: >"$LANE_DIR/ecmp.map"
	for a in "${HA_CLIENTS[@]}"; do
		na=$(ha_clients_of a "$a" | cut -d' ' -f2)
		nb=$(ha_clients_of b "$a" | cut -d' ' -f2)
		case $na/$nb in
		2/0) echo "$a a" >>"$LANE_DIR/ecmp.map" ;;
		0/2) echo "$a b" >>"$LANE_DIR/ecmp.map" ;;
		*) echo "FAIL: $a: $na sessions on a, $nb on b (want 2 on one of them)"; return 1 ;;
		esac
	done
	na=$(grep -c ' a$' "$LANE_DIR/ecmp.map") nb=$(grep -c ' b$' "$LANE_DIR/ecmp.map")
	sc_diag "client addresses: $na on gateway a, $nb on gateway b"
	[ "$na" -gt 0 ] && [ "$nb" -gt 0 ] || { echo "FAIL: one gateway got every client"; return 1; }
	ta=$(gw_stat a sessions_total) tb=$(gw_stat b sessions_total)
	echo "ftpgwctl stats sessions_total: a $ta, b $tb"
	[ "$ta" = $((2 * na)) ] && [ "$tb" = $((2 * nb)) ] ||
		{ echo "FAIL: sessions_total a $ta, b $tb; want $((2 * na)) and $((2 * nb))"; return 1; }
}

# Each gateway carries a 64MiB RETR paced at $HA_RATE (one client address
# of each); A's ftpgw is killed.  A's keepalived enters FAULT, VIP1 settles
# on B; B's transfer is still running then and completes with the right
# sha256; A's is lost; a new session from each of the 16 addresses (PASV
# RETR 1MiB, sha256) succeeds, all of them on B.
sc_ha_ecmp_kill() {
	local ca cb oa=$LANE_DIR/long-a.$SC_N ob=$LANE_DIR/long-b.$SC_N pa pb a out=$LANE_DIR/curl.$SC_N fails=0 t0
	ha_need || return 77
	[ -s "$LANE_DIR/ecmp.map" ] || { echo "FAIL: no ecmp.map (the spread scenario did not run)"; return 1; }
	ca=$(awk '$2 == "a" { print $1; exit }' "$LANE_DIR/ecmp.map")
	cb=$(awk '$2 == "b" { print $1; exit }' "$LANE_DIR/ecmp.map")
	echo "long transfers: $ca via a, $cb via b"
	ha_long "$ca" "$HA_SVC:21" "$oa"
	pa=$HA_LONG_PID
	ha_long "$cb" "$HA_SVC:21" "$ob"
	pb=$HA_LONG_PID
	ha_wait_bytes "$oa" $((2 << 20)) 15 && ha_wait_bytes "$ob" $((2 << 20)) 15 || return 1
	log_mark "$(gw_logf b)" "$LANE_DIR/ka-a.log"
	t0=$(date +%s.%N)
	ha_kill a || return 1
	ha_wait_vip b "$HA_VIP1" 20 || return 1
	sc_diag "failover: VIP1 settled on b $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after the kill"
	log_wants "$LANE_DIR/ka-a.log" 'Entering FAULT STATE' "a's track script noticing" || return 1
	# What follows proves something only if B's transfer outlived the move.
	alive "$pb" || { echo "FAIL: the transfer via b ended before the failover settled (size $(stat -c %s "$ob"))"; return 1; }
	for a in "${HA_CLIENTS[@]}"; do
		if ha_curl "$a" --disable-epsv -o "$out" "ftp://$HA_SVC/file-1MiB" &&
			check_sha "$out" file-1MiB "RETR from $a" >/dev/null; then
			:
		else
			echo "new session from $a failed"
			fails=$((fails + 1))
		fi
		rm -f "$out"
	done
	sc_diag "new sessions after the failover: ${#HA_CLIENTS[@]}, failed: $fails"
	[ "$fails" = 0 ] || return 1
	for a in $(ha_clients_of b "${HA_CLIENTS[@]}" | awk '$2 != 1 { print $1 }'); do
		echo "FAIL: gateway b did not log exactly one new session of $a"
		return 1
	done
	echo "every new session went to b"
	alive "$pb" || echo "(the transfer via b had ended by now)"
	wait "$pb"
	[ "$(cat "$ob.rc")" = 0 ] || { echo "FAIL: the transfer via b failed: curl exit $(cat "$ob.rc"): $(tail -n1 "$ob.err")"; return 1; }
	check_sha "$ob" file-64MiB "the transfer via b, across the failover" || return 1
	wait "$pa"
	if [ "$(cat "$oa.rc")" = 0 ] && check_sha "$oa" file-64MiB "the transfer via a"; then
		echo "FAIL: the transfer through the killed gateway completed"
		return 1
	fi
	echo "the transfer via a was lost (curl exit $(cat "$oa.rc"): $(tail -n1 "$oa.err"))"
	gw_alive b
}

lane_ha_ecmp() {
	lane_begin ha-ecmp setup_ha_ecmp
	# ha ecmp: from 16 client addresses a PASV RETR and a PORT STOR of 1MiB
	# (curl) to the service address, sha256: each address's sessions all
	# on one gateway, both gateways used, ftpgwctl stats agree
	scenario "ha ecmp: clients spread over both gateways, PASV+PORT sha256" sc_ha_ecmp_spread
	# ha ecmp: a's ftpgw killed while each gateway carries a 64MiB RETR:
	# VIP1 settles on b, b's transfer completes (sha256), a's is lost, a
	# new session from each of the 16 addresses succeeds via b
	scenario "ha ecmp: gateway a killed: b's transfer completes, new sessions via b" sc_ha_ecmp_kill
	ha_end
}
