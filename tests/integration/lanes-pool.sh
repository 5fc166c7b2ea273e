# lanes-pool.sh: a reverse listener with a pool of upstream servers
# (sourced by run.sh, which runs lane_X for every X appended to
# EXTRA_LANES).
#
#   pool   one gateway (workers = 1: the turn and what it learns are per
#          worker), listener 9301 in mode reverse with upstream =
#          {"[$SRV6]:21" (vsftpd), "$SRV4:2121" (pyftpdlib)},
#          upstream-recheck = 3, connect-timeout = 2.  A server is taken
#          down and brought back with real firewall rules in the server's
#          namespace (REJECT with a TCP reset: connection refused; DROP:
#          the connect times out).  The client is poolclient.py, which
#          names the server of each session by its banner.
#
# The scenarios run in order and build on each other: the pool's turn and
# the servers' standing carry over from one to the next.

EXTRA_LANES+=(pool)

POOL_RECHECK=3

setup_pool() {
	LANE_HAS_GW=1
	write_conf <<EOF2
passive-ports = "$GW_PASV"
shutdown-timeout = 3
connect-timeout = 2
workers = 1
listen "pool" {
	address = "::"  port = 9301  mode = "reverse"
	upstream = {"[$SRV6]:21", "$SRV4:2121"}
	upstream-recheck = $POOL_RECHECK
}
port-mapping "py" { application = "ftp"  ports = {2121} }
EOF2
	gw_start "$LANE_DIR/ftpgw.conf" 9301
}

# pool_run COUNT: COUNT sessions; their lines in $LANE_DIR/pool.out.
pool_run() {
	in_ns "$NS_CLI" "$PY" "$IT_SRC/poolclient.py" --host "$GWC4" --port 9301 \
		--fixtures "$IT_HOME" --count "$1" >"$LANE_DIR/pool.out" 2>&1
	cat "$LANE_DIR/pool.out"
}
# pool_servers: the SERVER column of pool.out, space-separated.
pool_servers() { awk '{ printf "%s%s", (NR > 1 ? " " : ""), $2 }' "$LANE_DIR/pool.out"; }
# pool_all_ok: every session that reached a server transferred correctly.
pool_all_ok() {
	awk '$3 != "ok" { bad = 1; print "FAIL: session " $1 " (" $2 "): " $3 } END { exit bad }' \
		"$LANE_DIR/pool.out"
}
# pool_fw add|del REJECT|DROP: the vsftpd server (v6, port 21) refuses or
# ignores new connections.
pool_fw() {
	local op=-I
	[ "$1" = del ] && op=-D
	case $2 in
	REJECT) ip netns exec "$NS_SRV" ip6tables "$op" INPUT -p tcp --dport 21 --syn -j REJECT --reject-with tcp-reset ;;
	DROP) ip netns exec "$NS_SRV" ip6tables "$op" INPUT -p tcp --dport 21 --syn -j DROP ;;
	esac
}

# Both up: sessions alternate between the two servers, each RETR sha256.
sc_pool_turns() {
	pool_run 4 || return 1
	pool_all_ok || return 1
	[ "$(pool_servers)" = "vsftpd pyftpdlib vsftpd pyftpdlib" ] ||
		{ echo "FAIL: servers in turn: got '$(pool_servers)'"; return 1; }
	gw_alive
}

# vsftpd refuses connections: the session that reaches it gets 421, the
# gateway logs the server out of service once, and the next sessions all go
# to pyftpdlib and transfer.
sc_pool_refused() {
	log_mark "$LANE_DIR/ftpgw.log"
	pool_fw add REJECT || return 1
	pool_run 6 || return 1
	[ "$(pool_servers)" = "refused pyftpdlib pyftpdlib pyftpdlib pyftpdlib pyftpdlib" ] ||
		{ echo "FAIL: want one 421 then pyftpdlib x5, got '$(pool_servers)'"; return 1; }
	pool_all_ok || return 1
	gw_log_wants "upstream \[$SRV6\]:21 out of service: Connection refused; new sessions skip it for $POOL_RECHECK s" \
		"the server taken out of service" || return 1
	[ "$(log_new "$LANE_DIR/ftpgw.log" | grep -c 'out of service')" = 1 ] ||
		{ echo "FAIL: 'out of service' logged more than once"; return 1; }
	gw_alive
}

# After upstream-recheck the server is tried again (still refusing: 421,
# then skipped again); once it accepts, it is back in service (logged) and
# the sessions alternate again.
sc_pool_recheck() {
	sleep $((POOL_RECHECK + 1))
	pool_run 3 || return 1
	[ "$(pool_servers)" = "refused pyftpdlib pyftpdlib" ] ||
		{ echo "FAIL: re-check while still down: want 'refused pyftpdlib pyftpdlib', got '$(pool_servers)'"; return 1; }
	log_mark "$LANE_DIR/ftpgw.log"
	pool_fw del REJECT || return 1
	sleep $((POOL_RECHECK + 1))
	pool_run 4 || return 1
	pool_all_ok || return 1
	[ "$(pool_servers)" = "vsftpd pyftpdlib vsftpd pyftpdlib" ] ||
		{ echo "FAIL: back in turn: got '$(pool_servers)'"; return 1; }
	gw_log_wants "upstream \[$SRV6\]:21 back in service" "the server back in service" || return 1
	gw_alive
}

# vsftpd drops SYNs: the session that reaches it gets 421 after
# connect-timeout, the server is out of service ("connect timed out"), and
# the next sessions go to pyftpdlib.
sc_pool_timeout() {
	log_mark "$LANE_DIR/ftpgw.log"
	pool_fw add DROP || return 1
	pool_run 5 || { pool_fw del DROP; return 1; }
	pool_fw del DROP || return 1
	[ "$(pool_servers)" = "refused pyftpdlib pyftpdlib pyftpdlib pyftpdlib" ] ||
		{ echo "FAIL: want one 421 then pyftpdlib x4, got '$(pool_servers)'"; return 1; }
	pool_all_ok || return 1
	gw_log_wants "upstream \[$SRV6\]:21 out of service: connect timed out" \
		"the timed-out server taken out of service" || return 1
	gw_alive
}

# The per-upstream counts of everything above, in ftpgwctl stats: vsftpd 4
# connected and 3 failed (refused, re-check, timeout), pyftpdlib 15
# connected.
sc_pool_counts() {
	local st=$LANE_DIR/stats.txt want line
	gw_stats main "$st" || return 1
	grep '^upstream_connects' "$st"
	for want in "upstream=\"\[$SRV6\]:21\",result=\"ok\"} 4" \
	    "upstream=\"\[$SRV6\]:21\",result=\"failed\"} 3" \
	    "upstream=\"$SRV4:2121\",result=\"ok\"} 15"; do
		grep -q "^upstream_connects{$want\$" "$st" ||
			{ echo "FAIL: no line upstream_connects{$want in ftpgwctl stats"; return 1; }
	done
}

lane_pool() {
	lane_begin pool setup_pool
	# pool: both servers up: 4 sessions alternate vsftpd (v6) / pyftpdlib
	# (v4), RETR 1MiB sha256 each
	scenario "pool: 2 upstreams in turn: sessions alternate, RETR sha256" sc_pool_turns
	# pool: vsftpd refuses (TCP reset): one session gets 421, logged out of
	# service once, the next 5 go to pyftpdlib and transfer
	scenario "pool: one upstream refusing: one 421, then skipped" sc_pool_refused
	# pool: after upstream-recheck it is tried again (421 while it still
	# refuses); once it accepts it is back in service and in turn again
	scenario "pool: re-check after upstream-recheck, back in service" sc_pool_recheck
	# pool: vsftpd drops SYNs: 421 after connect-timeout, out of service
	# ("connect timed out"), the next 4 sessions go to pyftpdlib
	scenario "pool: one upstream timing out: one 421, then skipped" sc_pool_timeout
	# pool: ftpgwctl stats counts each upstream's connections by result:
	# vsftpd 4 ok and 3 failed, pyftpdlib 15 ok
	scenario "pool: per-upstream counts in ftpgwctl stats" sc_pool_counts
	lane_end
}
