# lanes-deploy.sh: ftpgw run the way it is deployed (sourced by run.sh,
# which runs lane_X for every X appended to EXTRA_LANES).
#
#   deploy   reverse mode (:9091 -> vsftpd $SRV4:21), workers = 2, run as a
#            throwaway system user of its own (user = in ftpgw.conf, as
#            User=ftpgw in the unit; made for the lane, removed after it),
#            its transfer log in a directory of that user's (as the unit's
#            LogsDirectory=):
#            - the shipped contrib/logrotate/ftpgw, its user and path
#              adapted and its postrotate signalling this gateway: a
#              transfer logged, logrotate -f (state file in the lane), a
#              second transfer: its lines land in the new file, the first
#              ones stay in the rotated one, no reopen failure logged
#
# Every scenario name starts with "deploy".

EXTRA_LANES+=(deploy)

DP_USER=fgw$$dep        # run.sh's PID: unique per run
DP_LOGDIR=             # set by setup_deploy

setup_deploy() {
	LANE_HAS_GW=1
	DP_LOGDIR=$LANE_DIR/log
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
		--user-group -c "ftpgw integration tests (deploy lane)" "$DP_USER" || return 1
	# run.sh removes it at the end, whatever happens to the lane.
	echo "$DP_USER" >>"$IT_DIR/made-users"
	mkdir -p "$DP_LOGDIR" && chown "$DP_USER:$DP_USER" "$DP_LOGDIR" && chmod 755 "$DP_LOGDIR" || return 1
	chmod 755 "$LANE_DIR" || return 1
	write_conf <<EOF
user = "$DP_USER"
workers = 2
passive-ports = "$GW_PASV"
shutdown-timeout = 3
transfer-log = "$DP_LOGDIR/xferlog"
control-socket = "$LANE_DIR/ctl.sock"
listen "vs" { address = "::"  port = 9091  mode = "reverse"  upstream = "$SRV4:21" }
EOF
	gw_start "$LANE_DIR/ftpgw.conf" 9091
}

# dp_wait_lines FILE N WHAT: until FILE has at least N lines (the gateway
# writes a transfer's line when its data channel is done, which may be
# just after the client saw 226).
dp_wait_lines() {
	local i
	for i in $(seq 50); do
		[ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.1
	done
	echo "FAIL: $3: $1 has $(wc -l <"$1" 2>/dev/null || echo no) lines, expected $2 or more"
	return 1
}

# dp_logrotate_conf: contrib/logrotate/ftpgw for this lane: the lane's log,
# its user, kill -HUP of its gateway; each change must have matched.
dp_logrotate_conf() {
	local conf=$LANE_DIR/logrotate.conf
	sed -e "s|^/var/log/ftpgw/xferlog {|$DP_LOGDIR/xferlog {|" \
		-e "s|^\([[:space:]]*su\) ftpgw |\1 $DP_USER |" \
		-e "s|^\([[:space:]]*create [0-7]*\) ftpgw |\1 $DP_USER |" \
		-e "s|systemctl reload ftpgw.service|kill -HUP $(gw_pid main)|" \
		"$SRCDIR/contrib/logrotate/ftpgw" >"$conf" || return 1
	cat "$conf"
	grep -q "^$DP_LOGDIR/xferlog {" "$conf" &&
		grep -q "create 0640 $DP_USER " "$conf" &&
		grep -q "kill -HUP $(gw_pid main)" "$conf" ||
		{ echo "FAIL: contrib/logrotate/ftpgw no longer has the lines this test adapts"; return 1; }
	! grep -v '^[[:space:]]*#' "$conf" | grep -E '[[:space:]]ftpgw([[:space:]]|$)|ftpgw\.service' ||
		{ echo "FAIL: the adapted configuration still names the user or unit ftpgw (above)"; return 1; }
}

# sc_dp_logrotate: transfers around a rotation by the shipped snippet.
sc_dp_logrotate() {
	local log=$DP_LOGDIR/xferlog old n1 st i
	command -v logrotate >/dev/null 2>&1 || { echo "logrotate is not installed"; return 77; }
	SC_TAG=$SC_TAG-before cli_py --host "$GWC4" --port 9091 --mode pasv xfer --sizes 1MiB || return 1
	dp_wait_lines "$log" 2 "RETR and STOR before the rotation" || return 1
	echo "before the rotation: $(stat -c '%U:%G %a' "$log"), $(wc -l <"$log") lines"
	cat "$log"
	dp_logrotate_conf || return 1
	log_mark "$LANE_DIR/ftpgw.log"
	logrotate -v -f -s "$LANE_DIR/logrotate.state" "$LANE_DIR/logrotate.conf" 2>&1 | tail -n 6
	old=$log.1
	[ -f "$old" ] || { echo "FAIL: no rotated $old"; ls -l "$DP_LOGDIR"; return 1; }
	n1=$(wc -l <"$old")
	st=$(stat -c '%U:%G %a' "$log" 2>/dev/null)
	echo "after the rotation: new file $st, rotated file $n1 lines"
	[ "$st" = "$DP_USER:adm 640" ] || { echo "FAIL: the new $log is '$st', expected $DP_USER:adm 640"; return 1; }
	# Both workers reopen the file on the SIGHUP of postrotate.
	wait_log "$LANE_DIR/ftpgw.log" 'configuration reloaded' 10 || return 1
	for i in $(seq 51); do
		[ "$(log_new "$LANE_DIR/ftpgw.log" | grep -c 'configuration reloaded')" -ge 2 ] && break
		[ "$i" = 51 ] && { echo "FAIL: not both workers reloaded within 5 s"; return 1; }
		sleep 0.1
	done
	SC_TAG=$SC_TAG-after cli_py --host "$GWC4" --port 9091 --mode pasv xfer --sizes 1MiB || return 1
	dp_wait_lines "$log" 2 "RETR and STOR after the rotation" || { ls -l "$DP_LOGDIR"; return 1; }
	echo "the new file:"
	cat "$log"
	grep -q -- "-after-" "$log" || { echo "FAIL: the new file lacks the second transfer's STOR"; return 1; }
	! grep -- "-before-" "$log" || { echo "FAIL: the first transfer's lines in the new file"; return 1; }
	[ "$(wc -l <"$old")" = "$n1" ] || { echo "FAIL: the rotated file grew after the rotation"; cat "$old"; return 1; }
	log_lacks "$LANE_DIR/ftpgw.log" 'transfer-log .*: ' "failure to reopen the transfer log"
}

lane_deploy() {
	lane_begin deploy setup_deploy
	# deploy logrotate: ftpgw as a system user (user =), workers = 2,
	# transfer log in the user's directory; RETR+STOR 1MiB, the shipped
	# contrib/logrotate/ftpgw (path, user, postrotate kill -HUP adapted)
	# with logrotate -f, RETR+STOR 1MiB: the new file is user:adm 0640 and
	# has the second transfer's lines, the rotated one keeps the first
	scenario "deploy logrotate: transfer log rotated under the service user" sc_dp_logrotate
	lane_end
	id "$DP_USER" >/dev/null 2>&1 && userdel "$DP_USER"
}
