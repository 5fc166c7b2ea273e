# lanes-kernel.sh: the kernel data path (data-path = "kernel"), sourced by
# run.sh (lane_kernel runs because "kernel" is appended to EXTRA_LANES).
#
#   kernel  one gateway with 2 workers, data-path kernel, its own table
#           (ftpgw_kl) and log groups (3100-3115), reverse listeners:
#           9401 -> vsftpd $SRV4:21 (also the 1000 sessions),
#           9402 -> vsftpd [$SRV6]:21, 9403 -> pyftpdlib with a rate
#           limit (the relay's), and the transfer log. Its mappings go
#           in before their replies (kernel-late-mapping = false): its
#           scenarios count the kernel's channels and elements exactly,
#           and a client on the same host may beat a later mapping.
#           sc_kern_early's gateway maps late (the default, as in the
#           lanes of run.sh under FTPGW_IT_DATA_PATH=kernel), toward
#           fakeftpd answering PASV 0.3 s late (2240).
#
# Every mapping the gateway installs lives in table inet ftpgw_kl of the
# gw namespace, three elements per data connection; kern_elements counts
# them with nft itself. The lanes of run.sh run the same interop scenarios
# with the kernel path when FTPGW_IT_DATA_PATH=kernel (see lib.sh).

EXTRA_LANES+=(kernel)

KL_TABLE=ftpgw_kl

setup_kernel() {
	LANE_HAS_GW=1
	write_conf <<EOF2
passive-ports = "$GW_PASV"
shutdown-timeout = 3
workers = 2
data-path = "kernel"
kernel-table = "$KL_TABLE"
kernel-log-group = 3100
kernel-late-mapping = false
transfer-log = "$LANE_DIR/xfer.log"
listen "rev4"    { address = "$GWC4"  port = 9401  mode = "reverse"  upstream = {"$SRV4:21"} }
listen "rev6"    { address = "$GWC6"  port = 9402  mode = "reverse"  upstream = {"[$SRV6]:21"} }
listen "limited" { address = "$GWC4"  port = 9403  mode = "reverse"  upstream = {"$SRV4:2121"}
                   rate-limit-session = "1G" }
EOF2
	gw_start "$LANE_DIR/ftpgw.conf" 9401 9402 9403
}

# kern_elements: the elements of the gateway's six maps, summed.
kern_elements() {
	local m
	for m in mark4 dnat4 snatm4 mark6 dnat6 snatm6; do
		ip netns exec "$NS_GW" nft -j list map inet "$KL_TABLE" "$m" || return 1
	done | "$PY" -c '
import json, sys
n = 0
for line in sys.stdin:
    for o in json.loads(line)["nftables"]:
        if "map" in o:
            n += len(o["map"].get("elem", []))
print(n)'
}

# kern_wait_elements N SECONDS: the count reaches N within SECONDS.
kern_wait_elements() {
	local want=$1 i n
	for i in $(seq $(($2 * 10))); do
		n=$(kern_elements) || { echo "FAIL: nft cannot list table inet $KL_TABLE"; return 1; }
		[ "$n" = "$want" ] && { echo "mapping elements: $n"; return 0; }
		sleep 0.1
	done
	echo "FAIL: $n mapping elements in table inet $KL_TABLE, expected $want"
	ip netns exec "$NS_GW" nft list table inet "$KL_TABLE" | head -40
	return 1
}

# kern_xferlog_count BYTES DIRECTION: transfer-log lines of BYTES bytes in
# DIRECTION (o: download, i: upload).
kern_xferlog_count() {
	awk -v b="$1" -v d="$2" '$8 == b && $12 == d { n++ } END { print n + 0 }' "$LANE_DIR/xfer.log"
}

sc_kern_1000() {
	local before n fb r
	before=$(kern_xferlog_count 1048576 o)
	cli_py --host "$GWC4" --port 9401 kern-sessions --count 1000 --parallel 16 || return 1
	n=$(gw_stat main data_channels_kernel)
	fb=$(gw_stat main data_channels_kernel_fallback)
	r=$(gw_stat main data_channels_kernel_raced)
	echo "data channels: $n forwarded by the kernel, $fb fallen back to the relay," \
	    "$r relayed as the client came before the mapping"
	[ "$n" = 1000 ] && [ "$fb" = 0 ] && [ "$r" = 0 ] ||
		{ echo "FAIL: expected 1000, 0 and 0"; return 1; }
	n=$(( $(kern_xferlog_count 1048576 o) - before ))
	echo "transfer log: $n downloads of exactly 1048576 bytes"
	[ "$n" = 1000 ] || { echo "FAIL: expected 1000"; return 1; }
	# Each mapping went with its channel (its mark and DNAT at the SYN-ACK): none is
	# left behind.
	kern_wait_elements 0 2 || return 1
	gw_log_wants 'data channel done \(kernel\): 0 bytes to server, 1048576 to client' "a kernel-forwarded RETR"
}

sc_kern_v6_sizes() {
	log_mark "$LANE_DIR/ftpgw.log"
	sc_xfer epsv "$GWC6" 9402 "$ALL_SIZES" || return 1
	sc_xfer eprt "$GWC6" 9402 1MiB,64MiB || return 1
	kern_wait_elements 0 2 || return 1
	# The byte counts come from the connections' sequence numbers.
	local d u
	d=$(kern_xferlog_count 67108864 o)
	u=$(kern_xferlog_count 67108864 i)
	echo "transfer log: $d downloads and $u uploads of exactly 64 MiB"
	[ "$d" -ge 2 ] && [ "$u" -ge 2 ] || { echo "FAIL: expected at least 2 of each"; return 1; }
	# A RETR's channel may be replaced (the next EPSV) before the client's
	# FIN is logged, so only a STOR's end is sure to be in the log; the
	# transfer log above has the RETRs' counts.
	gw_log_wants 'data channel done \(kernel\): 67108864 bytes to server, 0 to client' "a kernel-forwarded 64 MiB STOR"
}

# The server answers the data connection's first SYN with a stray ACK, as
# it does from a TIME_WAIT of the same four-tuple (SNAT keeps the client's
# port): nft in srv turns its first SYN-ACK to each client port into an ACK
# of sequence 1. The client resets its attempt and sends the SYN again a
# second later; the mapping must still admit that SYN (it used to go at
# the first one: ECONNREFUSED), and the transfer completes in the kernel.
sc_kern_stray_ack() {
	local got rc stray before
	before=$(gw_stat main data_channels_kernel)
	ip netns exec "$NS_SRV" nft -f - <<EOF || return 1
table inet ftpgw_it_stray {
	set seen { type ipv4_addr . inet_service; timeout 60s; flags dynamic; }
	chain out {
		type filter hook output priority 0;
		tcp sport { 21, 2121 } accept
		tcp flags & (syn | ack) == syn | ack ip daddr . tcp dport @seen accept
		tcp flags & (syn | ack) == syn | ack add @seen { ip daddr . tcp dport } tcp flags set ack tcp ackseq set 1 counter
	}
}
EOF
	got=$(in_ns "$NS_CLI" curl -sS --max-time 30 -u "$IT_USER:$IT_PASS" -o /dev/null \
		-w '%{size_download}' "ftp://$GWC4:9401/file-1MiB")
	rc=$?
	stray=$(ip netns exec "$NS_SRV" nft list chain inet ftpgw_it_stray out | grep -o 'packets [0-9]*')
	ip netns exec "$NS_SRV" nft delete table inet ftpgw_it_stray
	echo "curl: exit $rc, $got bytes; SYN-ACKs turned into stray ACKs: ${stray#packets }"
	[ "${stray#packets }" -ge 1 ] 2>/dev/null || { echo "FAIL: no SYN-ACK was rewritten: the scenario tested nothing"; return 1; }
	[ "$rc" = 0 ] && [ "$got" = 1048576 ] || { echo "FAIL: expected 1048576 bytes"; return 1; }
	[ "$(gw_stat main data_channels_kernel)" -gt "$before" ] || { echo "FAIL: the kernel did not carry it"; return 1; }
}

# A file past 4 GiB (sparse: no disk), RETR with curl: the bytes curl got
# and the transfer log's count must both be exact.
KL_BIG=$(((5 << 30) + 12345))
sc_kern_past_4gib() {
	local got n
	truncate -s "$KL_BIG" "$IT_HOME/big-past-4GiB" || return 1
	got=$(in_ns "$NS_CLI" curl -sS --max-time 120 -u "$IT_USER:$IT_PASS" -o /dev/null \
		-w '%{size_download}' "ftp://$GWC4:9401/big-past-4GiB")
	rm -f "$IT_HOME/big-past-4GiB"
	echo "curl got $got bytes of $KL_BIG"
	[ "$got" = "$KL_BIG" ] || { echo "FAIL: a short transfer"; return 1; }
	n=$(kern_xferlog_count "$KL_BIG" o)
	echo "transfer log: $n downloads of exactly $KL_BIG bytes"
	[ "$n" = 1 ] || { echo "FAIL: expected 1 (the count wrapped?)"; tail -n 3 "$LANE_DIR/xfer.log"; return 1; }
}

sc_kern_fallback() {
	local before after
	log_mark "$LANE_DIR/ftpgw.log"
	before=$(gw_stat main data_channels_kernel_fallback)
	sc_xfer pasv "$GWC4" 9403 1MiB || return 1
	after=$(gw_stat main data_channels_kernel_fallback)
	echo "kernel path refused: $before -> $after"
	[ "$after" -gt "$before" ] || { echo "FAIL: not counted"; return 1; }
	gw_log_wants 'data channel relayed, not forwarded by the kernel: a bandwidth limit applies' "the reason"
}

sc_kern_table_gone() {
	local before after i
	ip netns exec "$NS_GW" nft delete table inet "$KL_TABLE" ||
		{ echo "FAIL: cannot delete table inet $KL_TABLE"; return 1; }
	echo "table inet $KL_TABLE deleted by hand"
	log_mark "$LANE_DIR/ftpgw.log"
	# The relay's listener is opened only then (the kernel was to
	# forward the channel): for PASV once the server's 227 came, for
	# PORT before the server hears of the port.
	sc_xfer pasv "$GWC4" 9401 1MiB || return 1
	sc_xfer port "$GWC4" 9401 1MiB || return 1
	gw_log_wants "data channel relayed, not forwarded by the kernel: table inet $KL_TABLE or its maps are gone" \
		"the reason" || return 1
	ops_hup ok || return 1
	for i in $(seq 50); do
		ip netns exec "$NS_GW" nft list table inet "$KL_TABLE" >/dev/null 2>&1 && break
		sleep 0.1
	done
	ip netns exec "$NS_GW" nft list table inet "$KL_TABLE" >/dev/null 2>&1 ||
		{ echo "FAIL: the reload did not set table inet $KL_TABLE up again"; return 1; }
	echo "table inet $KL_TABLE set up again by the reload"
	before=$(gw_stat main data_channels_kernel)
	sc_xfer pasv "$GWC4" 9401 1MiB || return 1
	sc_xfer port "$GWC4" 9401 1MiB || return 1
	after=$(gw_stat main data_channels_kernel)
	echo "data channels forwarded by the kernel: $before -> $after"
	[ "$after" -ge $((before + 2)) ] || { echo "FAIL: the kernel path did not come back"; return 1; }
	kern_wait_elements 0 2
}

# kern_pending HOST PORT OUT OPTION...: the client's kern-pending (its
# sessions announced, held) in the background, its output in OUT, its pid
# in $KP_PID. Not in_ns, nor in a subshell: $! is to be the client's own
# process (ip netns exec and timeout exec it or pass SIGTERM on).
kern_pending() {
	local host=$1 port=$2 out=$3
	shift 3
	ip netns exec "$NS_CLI" timeout -k 5 "$IT_CMD_TIMEOUT" "$PY" "$IT_SRC/ftpclient.py" \
		--fixtures "$IT_HOME" --tag "$SC_TAG" --host "$host" --port "$port" \
		kern-pending "$@" >"$out" 2>&1 &
	KP_PID=$!
	register_pid "$KP_PID"
}

# kern_connected HOST PORT [OPTION]: 3 sessions whose data connections
# are open and idle (OPTION: kern-pending's --epsv), in the background
# ($KC_PID); returns once the client says so.
kern_connected() {
	local out=$LANE_DIR/connected.out k
	: >"$out"
	kern_pending "$1" "$2" "$out" --count 3 --connect --hold 30 ${3:+"$3"}
	KC_PID=$KP_PID
	for k in $(seq 200); do
		grep -q 'second connections refused' "$out" && { cat "$out"; return 0; }
		alive "$KC_PID" || break
		sleep 0.1
	done
	echo "FAIL: the client did not connect its data connections and see its second ones refused (within 20 s)"
	cat "$out"
	return 1
}

# kern_disconnect: kern_connected's client ends its sessions.
kern_disconnect() {
	local k
	kill "$KC_PID"
	for k in $(seq 50); do alive "$KC_PID" || return 0; sleep 0.1; done
	echo "FAIL: the client ($KC_PID) is still running"
	ps -o pid,stat,cmd -p "$KC_PID"
	return 1
}

# A connected data connection admits no second one: when the gateway sees
# the target's SYN-ACK it removes the mark and DNAT elements (soon after:
# the removal waits for its batch); the SNAT element (of marked
# connections only) stays until the channel ends. Were they left, all 9
# would stay for the 30 s the sessions are held, and the client's second
# connection to each port (200 ms later) would be let through.
sc_kern_synack() {
	kern_wait_elements 0 2 || return 1
	kern_connected "$GWC4" 9401 || return 1
	kern_wait_elements 3 2 || return 1
	kern_disconnect || return 1
	kern_wait_elements 0 2 || return 1
	kern_connected "$GWC6" 9402 --epsv || return 1
	kern_wait_elements 3 2 || return 1
	kern_disconnect || return 1
	kern_wait_elements 0 2
}

# kern_gw CONF LOG: a gateway of this scenario's own (the lane's shell is
# not its parent); its pid on stdout.
kern_gw() {
	ip netns exec "$NS_GW" "$FTPGW" -d -c "$1" >>"$2" 2>&1 &
	register_pid "$!"
	echo "$!"
}

sc_kern_killed() {
	local conf=$LANE_DIR/killed.conf log=$LANE_DIR/killed.log out=$LANE_DIR/pending.out
	local pid k pend st
	sed -e 's/^kernel-table = .*/kernel-table = "ftpgw_kk"/' -e 's/^kernel-log-group = .*/kernel-log-group = 3200/' \
	    -e 's/^workers = .*/workers = 1/' -e '/^listen/d' -e '/rate-limit/d' -e '/^transfer-log/d' \
	    "$LANE_DIR/ftpgw.conf" >"$conf"
	echo "listen \"k\" { address = \"$GWC4\"  port = 9411  mode = \"reverse\"  upstream = {\"$SRV4:21\"} }" >>"$conf"
	echo "control-socket = \"$LANE_DIR/ctl-k.sock\"" >>"$conf"
	KL_TABLE=ftpgw_kk
	pid=$(kern_gw "$conf" "$log")
	wait_listen "$NS_GW" 9411 5 || { echo "FAIL: the gateway does not listen"; tail "$log"; return 1; }
	kern_pending "$GWC4" 9411 "$out" --count 4 --hold 30
	pend=$KP_PID
	# 4 PASVs announced, nobody connected: 4 mappings of 3 elements.
	kern_wait_elements 12 10 || { kill "$pend"; cat "$out"; return 1; }
	kill -KILL "$pid"
	kill "$pend" 2>/dev/null
	echo "gateway $pid killed (SIGKILL)"
	sleep 0.5
	# Nobody removed them: they would live out their timeout.
	kern_wait_elements 12 1 || return 1
	pid=$(kern_gw "$conf" "$log")
	wait_listen "$NS_GW" 9411 5 || { echo "FAIL: the gateway does not listen again"; tail "$log"; return 1; }
	echo "gateway started again"
	kern_wait_elements 0 1 || return 1
	cli_py --host "$GWC4" --port 9411 kern-sessions --count 4 --parallel 2 || return 1
	kern_wait_elements 0 2 || return 1
	kill -TERM "$pid"
	for k in $(seq 50); do alive "$pid" || break; sleep 0.1; done
	alive "$pid" && { echo "FAIL: still running after SIGTERM"; return 1; }
	# A clean stop removes the table.
	ip netns exec "$NS_GW" nft list table inet ftpgw_kk >/dev/null 2>&1 &&
		{ echo "FAIL: table inet ftpgw_kk left after a clean stop"; return 1; }
	echo "stopped; table inet ftpgw_kk removed"
}

# A passive range of one port: every PASV of a session's 30 RETRs gets the
# same port, for the same client, maybe while the last channel's deletions
# still wait for their batch (meets_waiting). The new mapping must not
# meet the old elements (nftables would refuse it: the channel would go to
# the relay): every channel is forwarded by the kernel, none is left.
sc_kern_port_again() {
	local conf=$LANE_DIR/oneport.conf log=$LANE_DIR/oneport.log pid n k pend out ms
	sed -e 's/^kernel-table = .*/kernel-table = "ftpgw_kp"/' -e 's/^kernel-log-group = .*/kernel-log-group = 3300/' \
	    -e 's/^workers = .*/workers = 1/' -e 's/^passive-ports = .*/passive-ports = "49990-49990"/' \
	    -e '/^listen/d' -e '/rate-limit/d' -e '/^transfer-log/d' "$LANE_DIR/ftpgw.conf" >"$conf"
	echo "listen \"p\" { address = \"$GWC4\"  port = 9431  mode = \"reverse\"  upstream = {\"$SRV4:21\"} }" >>"$conf"
	echo "control-socket = \"$LANE_DIR/ctl-p.sock\"" >>"$conf"
	pid=$(kern_gw "$conf" "$log")
	wait_listen "$NS_GW" 9431 5 || { echo "FAIL: the gateway does not listen"; tail "$log"; return 1; }
	cli_py --host "$GWC4" --port 9431 many --count 30 || { tail "$log"; return 1; }
	n=$(grep -c 'data channel forwarded by the kernel: .*:49990,' "$log")
	echo "data channels forwarded by the kernel on port 49990: $n"
	log_lacks "$log" 'not forwarded by the kernel' "channel left to the relay" || return 1
	[ "$n" = 30 ] || { echo "FAIL: expected 30"; return 1; }
	KL_TABLE=ftpgw_kp kern_wait_elements 0 2 || return 1
	kill -TERM "$pid"
	for k in $(seq 50); do alive "$pid" || break; sleep 0.1; done
	alive "$pid" && { echo "FAIL: still running after SIGTERM"; return 1; }
	# Again with 6 ports, 5 of them held by announced channels nobody
	# connects to: with more than 4 flows open the deletions wait for a
	# batch, so the next channel's mapping meets them (meets_waiting).
	sed -i 's/^passive-ports = .*/passive-ports = "49990-49995"/' "$conf"
	: >"$log"
	pid=$(kern_gw "$conf" "$log")
	wait_listen "$NS_GW" 9431 5 || { echo "FAIL: the gateway does not listen again"; tail "$log"; return 1; }
	kern_pending "$GWC4" 9431 "$LANE_DIR/oneport-pending.out" --count 5 --hold 30
	pend=$KP_PID
	KL_TABLE=ftpgw_kp kern_wait_elements 15 10 || { kill "$pend"; cat "$LANE_DIR/oneport-pending.out"; return 1; }
	# 1-byte files: a RETR's round trips fit in the 10 ms a deletion waits.
	out=$(cli_py --host "$GWC4" --port 9431 many --count 30 --file file-1B) ||
		{ echo "$out"; kill "$pend"; tail "$log"; return 1; }
	echo "$out"
	kill "$pend" 2>/dev/null
	n=$(grep -c 'data channel forwarded by the kernel' "$log")
	k=$(grep -c 'a waiting deletion holds a key of the new mapping' "$log")
	echo "with 5 channels held: $n channels forwarded by the kernel, $k mappings sent with the deletion they met"
	log_lacks "$log" 'not forwarded by the kernel' "channel left to the relay" || return 1
	[ "$n" = 35 ] || { echo "FAIL: expected 35"; return 1; }
	if [ "$k" = 0 ]; then
		# Met only when a RETR's whole cycle (SYN to the next PASV's
		# mapping) is shorter than the batch's wait: a sanitizer build
		# beside the other lanes took 24 ms a RETR.
		ms=$(echo "$out" | awk '/RETRs in/ { printf "%d", $4 * 1000 / $1 }')
		[ "${ms:-0}" -gt 10 ] ||
			{ echo "FAIL: no mapping met a waiting deletion in RETRs of ${ms:-?} ms: the batch path was not taken"; return 1; }
		echo "note: ${ms} ms a RETR, longer than the 10 ms a deletion waits: the batch path could not be met here"
	fi
	KL_TABLE=ftpgw_kp kern_wait_elements 0 3 || return 1
	kill -TERM "$pid"
	for k in $(seq 50); do alive "$pid" || return 0; sleep 0.1; done
	echo "FAIL: still running after SIGTERM"
	return 1
}

# A gateway with one worker, one passive port and kernel-late-mapping: the
# client of one session connects to that port right after each PASV,
# before reading the 227, so before the kernel's mapping can be in (it
# goes in right after the 227 while a worker has few sessions). The channel's listener, open from the
# PASV on, takes the connection and the relay carries it: every byte
# arrives, the channel counts as raced (not as a fallback), the log says
# why, and no mapping is left.
sc_kern_early() {
	local conf=$LANE_DIR/early.conf log=$LANE_DIR/early.log sock=$LANE_DIR/ctl-e.sock pid n r k stats
	# fakeftpd answers PASV 0.3 s late: the gateway's listener opens when
	# the PASV goes to the server, so the client, connecting right after
	# its PASV, is in before the 227 and so before the mapping, every time.
	ip netns exec "$NS_SRV" "$PY" "$IT_SRC/fakeftpd.py" --home "$IT_HOME" \
		--log "$LANE_DIR/fakeftpd.log" --listen 2240:pasv-slow >"$LANE_DIR/fakeftpd.out" 2>&1 &
	register_pid "$!"
	wait_listen "$NS_SRV" 2240 10 || { echo "fakeftpd does not listen:"; cat "$LANE_DIR/fakeftpd.out"; return 1; }
	sed -e 's/^kernel-table = .*/kernel-table = "ftpgw_ke"/' -e 's/^kernel-log-group = .*/kernel-log-group = 3400/' \
	    -e 's/^workers = .*/workers = 1/' -e 's/^passive-ports = .*/passive-ports = "49980-49980"/' \
	    -e 's/^kernel-late-mapping = .*/kernel-late-mapping = true/' \
	    -e '/^listen/d' -e '/rate-limit/d' -e '/^transfer-log/d' "$LANE_DIR/ftpgw.conf" >"$conf"
	echo "listen \"e\" { address = \"$GWC4\"  port = 9441  mode = \"reverse\"  upstream = {\"$SRV4:2240\"} }" >>"$conf"
	echo "control-socket = \"$sock\"" >>"$conf"
	pid=$(kern_gw "$conf" "$log")
	wait_listen "$NS_GW" 9441 5 || { echo "FAIL: the gateway does not listen"; tail "$log"; return 1; }
	# The start notes expedited RCU grace periods when, and only when, the
	# kernel runs them (they make every mapping cost all CPUs an IPI).
	if [ "$(cat /sys/kernel/rcu_expedited 2>/dev/null)" = 1 ]; then
		log_wants "$log" 'rcu_expedited is 1 here' "the note on expedited grace periods" || return 1
	else
		log_lacks "$log" 'rcu_expedited' "a note on expedited grace periods" || return 1
	fi
	cli_py --host "$GWC4" --port 9441 kern-early --count 10 --data-port 49980 || { tail "$log"; return 1; }
	stats=$("$(dirname "$FTPGW")/ftpgwctl" -s "$sock" stats)
	r=$(echo "$stats" | awk '$1 == "data_channels_kernel_raced" { print $2 }')
	k=$(echo "$stats" | awk '$1 == "data_channels_kernel" { print $2 }')
	n=$(grep -c 'data channel relayed: the client connected before the kernel' "$log")
	echo "raced: $r counted, $n logged; kernel: $k"
	log_lacks "$log" 'not forwarded by the kernel' "channel fallen back to the relay" || return 1
	[ "$r" = 10 ] && [ "$n" = 10 ] && [ "$k" = 0 ] ||
		{ echo "FAIL: expected all 10 raced, counted and logged"; return 1; }
	KL_TABLE=ftpgw_ke kern_wait_elements 0 2 || return 1
	kill -TERM "$pid"
	for k in $(seq 50); do alive "$pid" || return 0; sleep 0.1; done
	echo "FAIL: still running after SIGTERM"
	return 1
}

# Late mapping (kernel-late-mapping, one worker, few sessions) with a
# one-port range: each PASV draws the port whose previous mapping is still
# waiting for its deletion batch (always, where rcu_expedited = 1). The
# 227 must not go out before that deletion, or the client's SYN meets the
# old channel's DNAT and is refused: such a channel is mapped first.
sc_kern_late_again() {
	local conf=$LANE_DIR/late.conf log=$LANE_DIR/late.log pid n h r
	sed -e 's/^kernel-table = .*/kernel-table = "ftpgw_kt"/' -e 's/^kernel-log-group = .*/kernel-log-group = 3500/' \
	    -e 's/^workers = .*/workers = 1/' -e 's/^passive-ports = .*/passive-ports = "49970-49970"/' \
	    -e 's/^kernel-late-mapping = .*/kernel-late-mapping = true/' \
	    -e '/^listen/d' -e '/rate-limit/d' -e '/^transfer-log/d' "$LANE_DIR/ftpgw.conf" >"$conf"
	echo "listen \"t\" { address = \"$GWC4\"  port = 9451  mode = \"reverse\"  upstream = {\"$SRV4:21\"} }" >>"$conf"
	echo "control-socket = \"$LANE_DIR/ctl-t.sock\"" >>"$conf"
	pid=$(kern_gw "$conf" "$log")
	wait_listen "$NS_GW" 9451 5 || { echo "FAIL: the gateway does not listen"; tail "$log"; return 1; }
	cli_py --host "$GWC4" --port 9451 many --count 30 --file file-1B || { tail "$log"; return 1; }
	n=$(grep -c 'data channel forwarded by the kernel' "$log")
	h=$(grep -c 'mapped before its reply: the port.s previous mapping is still being removed' "$log")
	r=$(grep -c 'data channel relayed: the client connected before the kernel' "$log")
	echo "30 RETRs on one port: $n mapped, $h of them before the reply (the previous deletion waiting), $r raced"
	log_lacks "$log" 'not forwarded by the kernel' "channel fallen back to the relay" || return 1
	if [ "$(cat /sys/kernel/rcu_expedited 2>/dev/null)" = 1 ]; then
		# deletions always wait for their batch here: most RETRs meet one
		[ "$h" -ge 1 ] || { echo "FAIL: no channel met its port's waiting deletion"; return 1; }
	fi
	KL_TABLE=ftpgw_kt kern_wait_elements 0 2 || return 1
	kill -TERM "$pid"
	for k in $(seq 50); do alive "$pid" || return 0; sleep 0.1; done
	echo "FAIL: still running after SIGTERM"
	return 1
}

lane_kernel() {
	lane_begin kernel setup_kernel
	# kernel: 1000 sessions (half PASV, half PORT, RETR 1MiB sha256, 8 at a
	# time) through 2 workers: all 1000 data channels forwarded by the
	# kernel, 1000 exact transfer-log lines, no mapping element left
	scenario "kernel: 1000 sessions forwarded by the kernel, no mapping left" sc_kern_1000
	# kernel v6: EPSV 0B..64MiB and PORT 1MiB,64MiB with vsftpd (sha256),
	# the transfer log's 64 MiB counts exact both ways
	scenario "kernel v6: EPSV and PORT transfers, exact byte counts" sc_kern_v6_sizes
	# kernel: RETR of 5 GiB + 12345 bytes (a sparse file) with curl: curl
	# got every byte, the transfer log counts exactly that (no 4 GiB wrap)
	scenario "kernel: a transfer past 4 GiB is counted exactly" sc_kern_past_4gib
	# kernel: 3 sessions with an idle data connection each, over IPv4 and
	# IPv6: each keeps only its SNAT element until it ends
	scenario "kernel: a connected data connection keeps only its SNAT element" sc_kern_synack
	# A stray ACK to the data SYN (TIME_WAIT), the client's reset and retry
	scenario "kernel: a data SYN answered by a stray ACK is retried and admitted" sc_kern_stray_ack
	# kernel: a rate-limited listener's channel goes to the relay, counted,
	# with the reason in the log
	scenario "kernel: a bandwidth limit keeps the relay, reason logged" sc_kern_fallback
	# kernel: the table deleted by hand (nft delete table): 1MiB PASV and
	# PORT RETRs go over the relay, the reason logged; SIGHUP sets the table up again and
	# PASV and PORT RETRs are forwarded by the kernel again
	scenario "kernel: a table removed by hand comes back on reload" sc_kern_table_gone
	# kernel: a second gateway (table ftpgw_kk) with 4 pending PASVs (12
	# elements) killed with SIGKILL: the 12 stay; started again, the table
	# is empty; sessions work; stopped cleanly, the table is gone
	scenario "kernel: a killed gateway's mappings are cleared by its restart" sc_kern_killed
	# kernel: a gateway whose passive range is one port, one session of 30
	# PASV RETRs 1MiB (sha256): all 30 forwarded by the kernel on that
	# port, none left to the relay, no mapping left
	scenario "kernel: a passive port drawn again at once is mapped again" sc_kern_port_again
	scenario "kernel: late mapping waits for the port's previous deletion" sc_kern_late_again
	# kernel: a gateway whose passive range is one port, toward fakeftpd
	# answering PASV 0.3 s late; one session of 10 PASV RETRs 1MiB
	# (sha256) whose client connects before reading each 227: the
	# channel's listener takes all 10 for the relay, counted as raced and
	# logged, no fallback, no mapping left; the start's rcu_expedited note
	# there exactly when /sys/kernel/rcu_expedited is 1
	scenario "kernel: a client connecting before its 227 is relayed, counted as raced" sc_kern_early
	scenario "kernel: ftpgw alive at the end" gw_alive
	lane_end
}
