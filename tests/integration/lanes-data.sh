# lanes-data.sh: the data channel's timers and its listeners under
# descriptor exhaustion (sourced by run.sh, which runs lane_X for every X
# appended to EXTRA_LANES).
#
#   data   reverse mode, one gateway with data-timeout = 3 and workers = 1
#          (its sessions run in the process $LANE_DIR/ftpgw.pid names):
#          9121 -> pyftpdlib (plaintext) on $SRV4:2121, 9091 -> the
#          TLS-requiring vsftpd on $SRV4:21 (LANE_SERVERS=tls; TLS on both
#          legs, PROT P).  The client is datatimers.py.
#
# A data connection that waits is closed within 2 x data-timeout + 3 s
# (the relay's no-progress timer fires every data-timeout seconds: a stall
# is seen within one to two periods), the gateway logs why, and the
# session still answers NOOP and carries a fresh RETR.  What the client is
# told about a transfer whose data connection was closed is the session's
# part and is not judged here.

EXTRA_LANES+=(data)

DT_TIMEOUT=3
DT_BOUND=$((DT_TIMEOUT * 2 + 3))

# dt_py ARGS: datatimers.py in cli.
dt_py() { in_ns "$NS_CLI" "$PY" "$IT_SRC/datatimers.py" --fixtures "$IT_HOME" "$@"; }

setup_data() {
	LANE_HAS_GW=1
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
data-timeout = $DT_TIMEOUT
workers = 1
# The relay's own timers and data listeners are tested here (lanes-kernel.sh
# has the kernel data path's), whatever FTPGW_IT_DATA_PATH says.
data-path = "relay"
listen "py" { address = "::"  port = 9121  mode = "reverse"  upstream = "$SRV4:2121" }
listen "vs" { address = "::"  port = 9091  mode = "reverse"  upstream = "$SRV4:21" }
port-mapping "py" { application = "ftp"  ports = {2121} }
$(tls_block optional auto)
EOF
	gw_start "$LANE_DIR/ftpgw.conf" 9121 9091
}

# dt_closed PORT ERE WHAT ARGS...: datatimers.py ARGS through listener PORT
# (it checks the bound and the session afterwards), then the gateway must
# have logged the channel's end matching ERE, and be alive.
dt_closed() {
	local port=$1 ere=$2 what=$3
	shift 3
	log_mark "$LANE_DIR/ftpgw.log"
	dt_py --host "$GWC4" --port "$port" --deadline "$DT_BOUND" "$@" || return 1
	gw_log_wants "$ere" "$what" || return 1
	gw_alive
}

# dt_emfile: the gateway's accept on the data listener fails with EMFILE:
# no spinning (CPU), one log line, and the connection is accepted once
# descriptors are back.
dt_emfile() {
	local n
	log_mark "$LANE_DIR/ftpgw.log"
	dt_py --host "$GWC4" --port 9121 --gw-pid "$(cat "$LANE_DIR/ftpgw.pid")" \
		--file file-1MiB emfile || return 1
	gw_log_wants 'data accept from the client: Too many open files' "the failed accept" || return 1
	n=$(log_new "$LANE_DIR/ftpgw.log" | grep -c 'accept.*Too many open files')
	echo "log lines about the failed accept: $n"
	[ "$n" = 1 ] || { echo "FAIL: $n log lines about the failed accept, expected 1"; return 1; }
	gw_alive
}

lane_data() {
	local b="closed within 2 x data-timeout + 3 s = $DT_BOUND s"
	local after="then NOOP 200 and PASV + RETR 1MiB sha256 on the same session"
	lane_begin data setup_data
	LANE_SERVERS=tls
	# PASV, data connection made, no transfer command (data-timeout =
	# $DT_TIMEOUT): $b, logged as no progress; $after
	scenario "data timers: unused data connection closed" \
		dt_closed 9121 "data channel closed: no progress for $DT_TIMEOUT s" "the idle data connection" idle
	# PROT P (TLS both legs, vsftpd), PASV, data connection made, its TLS
	# handshake never started: $b, logged as a TLS handshake with the
	# client without progress; $after
	scenario "data timers: TLS data handshake never started" \
		dt_closed 9091 "data channel closed: TLS handshakes? with the client.*no progress for $DT_TIMEOUT s" \
		"the stuck handshake" --tls --cafile "$CA" idle
	# RETR 64MiB, the client never reads the data connection: $b, logged
	# as no progress, the RETR's final reply a 4xx (426); $after
	scenario "data timers: stalled RETR closed, 4xx" \
		dt_closed 9121 "data channel closed: no progress for $DT_TIMEOUT s" "the stalled RETR" --file file-64MiB stall
	# PASV, the gateway's RLIMIT_NOFILE lowered to its lowest free fd, the
	# client connects: accept fails with EMFILE, the gateway does not spin
	# (< 25% CPU) and logs it once; limit restored: the same data
	# connection carries RETR 1MiB sha256; $after
	scenario "data listener: EMFILE, no spin, service restored" \
		dt_emfile
	lane_end
}
