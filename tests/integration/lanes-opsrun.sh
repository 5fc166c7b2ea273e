# lanes-opsrun.sh: ftpgwctl telling a running gateway what to do (sourced
# by run.sh; uses the helpers of lanes-ops.sh).
#
#   ops-run     with two workers: kill ID ends one live session, the
#               others live on; log-level; reload that works and one that
#               fails (ftpgwctl's exit status, the counters by result); the
#               metrics endpoint over evhttp (HEAD, a query string, 404,
#               405) and its byte counters moving during a rate-limited
#               transfer, exact at its end
#   ops-drain   ftpgwctl drain: the live transfer completes, new
#               connections are refused, the gateway exits 0
#
# Every scenario name starts with "ops".

OPSR_METRICS=127.0.0.1:9101

EXTRA_LANES+=(ops-run ops-drain)

setup_ops_run() {
	LANE_HAS_GW=1
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
workers = 2
control-socket = "$LANE_DIR/ctl.sock"
metrics-listen = "$OPSR_METRICS"
listen "main" { address = "::"  port = 8021  mode = "redirect"  passive-address = "original" }
listen "slow" { address = "0.0.0.0"  port = 8025  mode = "reverse"  upstream = "$SRV4:21"
	rate-limit-session = 8M }
EOF
	rules_use redirect 8021 21 || return 1
	gw_start "$LANE_DIR/ftpgw.conf" 8021 8025
}

# opsr_id FILE CLIENT: the session id of CLIENT in "ftpgwctl sessions".
opsr_id() { awk -v c="$2" '$2 == c { print $1 }' "$1"; }

sc_opsr_kill() {
	local d=$LANE_DIR/kill.$SC_N a b me_a me_b id rc out
	mkdir -p "$d"
	log_mark "$LANE_DIR/ftpgw.log"
	cli_py --host "$SRV4" --port 21 --mode pasv opssession --expect-shutdown --ready "$d/ra" \
		--info "$d/ia" "slowretr:$OPS_64@$((4 << 20))" >"$d/a.out" 2>&1 &
	a=$!
	cli_py --host "$SRV4" --port 21 --mode pasv opssession --ready "$d/rb" \
		--info "$d/ib" "slowretr:$OPS_64@$((16 << 20))" >"$d/b.out" 2>&1 &
	b=$!
	wait_file "$d/ra" 20 && wait_file "$d/rb" 20 || { cat "$d/a.out" "$d/b.out"; return 1; }
	me_a=$(cat "$d/ia") me_b=$(cat "$d/ib")
	gw_ctl main sessions >"$d/sess" || { echo "FAIL: ftpgwctl sessions"; return 1; }
	cat "$d/sess"
	id=$(opsr_id "$d/sess" "$me_a")
	[ -n "$id" ] && [ -n "$(opsr_id "$d/sess" "$me_b")" ] || { echo "FAIL: both sessions are not listed"; return 1; }
	out=$(gw_ctl main kill "$id" 2>&1)
	rc=$?
	echo "ftpgwctl kill $id: exit $rc: $out"
	[ "$rc" = 0 ] && [[ $out == *"session $id ended"* ]] || { echo "FAIL: ftpgwctl kill $id"; return 1; }
	wait "$a"
	rc=$?
	sed 's/^/killed client: /' "$d/a.out"
	[ "$rc" = 0 ] || { echo "FAIL: the killed session was not cut (421 or closed)"; return 1; }
	wait_log "$LANE_DIR/ftpgw.log" "#$id end: .*ended by the operator" 5 || return 1
	gw_ctl main sessions >"$d/sess2" || return 1
	[ -z "$(opsr_id "$d/sess2" "$me_a")" ] && [ -n "$(opsr_id "$d/sess2" "$me_b")" ] ||
		{ cat "$d/sess2"; echo "FAIL: after kill, the killed one is listed or the other is not"; return 1; }
	out=$(gw_ctl main kill "$id" 2>&1)
	rc=$?
	[ "$rc" = 1 ] && [[ $out == *"no such session $id"* ]] || { echo "FAIL: a second kill $id: exit $rc, $out"; return 1; }
	echo "a second kill $id: exit 1, $out"
	wait "$b"
	rc=$?
	sed 's/^/other client: /' "$d/b.out"
	[ "$rc" = 0 ] || { echo "FAIL: the other session did not complete its RETR"; return 1; }
}

# opsr_debug_lines: debug lines of the gateway's log since log_mark.
opsr_debug_lines() { log_new "$LANE_DIR/ftpgw.log" | grep -c ' debug: '; }

sc_opsr_log_level() {
	local out n
	out=$(gw_ctl main log-level info) || { echo "FAIL: ftpgwctl log-level info: $out"; return 1; }
	echo "$out"
	[ "$(printf '%s\n' "$out" | grep -c 'ok: log level info')" = 2 ] || { echo "FAIL: not both workers said ok"; return 1; }
	log_mark "$LANE_DIR/ftpgw.log"
	cli_py --host "$SRV4" --port 21 opssession retr:file-1MiB || return 1
	n=$(opsr_debug_lines)
	[ "$n" = 0 ] || { echo "FAIL: $n debug lines at log level info"; return 1; }
	echo "at info: a session logs no debug line"
	out=$(gw_ctl main log-level debug) || { echo "FAIL: ftpgwctl log-level debug: $out"; return 1; }
	log_mark "$LANE_DIR/ftpgw.log"
	cli_py --host "$SRV4" --port 21 opssession retr:file-1MiB || return 1
	n=$(opsr_debug_lines)
	[ "$n" -gt 0 ] || { echo "FAIL: no debug line at log level debug"; return 1; }
	echo "at debug: $n debug lines"
	out=$(gw_ctl main log-level loud 2>&1)
	[ $? = 1 ] && [[ $out == *"log-level needs"* ]] || { echo "FAIL: log-level loud: $out"; return 1; }
}

sc_opsr_reload() {
	local d=$LANE_DIR/reload.$SC_N conf=$LANE_DIR/ftpgw.conf out rc
	mkdir -p "$d"
	gw_stats main "$d/s0" || return 1
	out=$(gw_ctl main reload 2>&1)
	rc=$?
	echo "ftpgwctl reload: exit $rc: $out"
	[ "$rc" = 0 ] && [ "$out" = "ok: configuration reloaded" ] || { echo "FAIL: ftpgwctl reload"; return 1; }
	gw_stats main "$d/s1" || return 1
	ops_delta "$d/s0" "$d/s1" config_reloads 1 && ops_delta "$d/s0" "$d/s1" config_reloads_failed 0 || return 1
	cp "$conf" "$d/good.conf"
	echo 'no-such-key = 1' >>"$conf"
	out=$(gw_ctl main reload 2>&1)
	rc=$?
	cp "$d/good.conf" "$conf"
	echo "ftpgwctl reload (bad file): exit $rc: $out"
	[ "$rc" = 1 ] && [[ $out == *"reload failed: "*"ftpgw.conf:"*"no-such-key"* ]] ||
		{ echo "FAIL: a failed reload: exit 1 and the file's error expected"; return 1; }
	gw_stats main "$d/s2" || return 1
	ops_delta "$d/s1" "$d/s2" config_reloads 0 && ops_delta "$d/s1" "$d/s2" config_reloads_failed 1 || return 1
	cli_py --host "$SRV4" --port 21 opssession retr:file-1MiB || { echo "FAIL: a session after the failed reload"; return 1; }
}

# opsr_metric NAME-WITH-LABELS: its value, from the endpoint.
opsr_metric() {
	in_ns "$NS_GW" curl -q -sS --max-time 10 "http://$OPSR_METRICS/metrics" |
		awk -v n="$1" '$1 == n { print $2; f = 1 } END { if (!f) print "missing" }'
}

sc_opsr_metrics() {
	local d=$LANE_DIR/metrics.$SC_N u=http://$OPSR_METRICS code x slow b0 b1 b2 id key
	key='ftpgw_data_bytes_total{direction="to_client"}'
	mkdir -p "$d"
	# HEAD: 200, the length of GET, no body (all read until the close).
	in_ns "$NS_GW" "$PY" - "${OPSR_METRICS%:*}" "${OPSR_METRICS#*:}" >"$d/head" <<'EOF' || return 1
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
head, _, body = data.partition(b"\r\n\r\n")
print(head.decode().replace("\r", ""))
print("body bytes: %d" % len(body))
EOF
	cat "$d/head"
	grep -q '^HTTP/1.[01] 200' "$d/head" && grep -qx 'body bytes: 0' "$d/head" ||
		{ echo "FAIL: HEAD /metrics: 200 and no body expected"; return 1; }
	grep -qi '^content-length: [1-9]' "$d/head" || { echo "FAIL: HEAD without the length"; return 1; }
	for x in "metrics?x=1 200" "metrics?x 200" "other 404" "metricsx 404"; do
		code=$(in_ns "$NS_GW" curl -q -sS --max-time 10 -o /dev/null -w '%{http_code}' "$u/${x% *}")
		[ "$code" = "${x#* }" ] || { echo "FAIL: GET /${x% *}: $code, expected ${x#* }"; return 1; }
		echo "GET /${x% *}: $code"
	done
	code=$(in_ns "$NS_GW" curl -q -sS --max-time 10 -o /dev/null -w '%{http_code}' -X POST "$u/metrics")
	[ "$code" = 405 ] || { echo "FAIL: POST /metrics: $code, expected 405"; return 1; }
	echo "POST /metrics: 405"
	# The byte counter moves during a transfer held to 8 MiB/s (64 MiB:
	# about 8 s), and is exact once it has ended.
	ops_quiet_stats "$d/s0" || return 1
	cli_py --host "$GWC4" --port 8025 opssession --ready "$d/ready" --info "$d/info" \
		"slowretr:$OPS_64@$((64 << 20))" >"$d/slow.out" 2>&1 &
	slow=$!
	wait_file "$d/ready" 20 || { cat "$d/slow.out"; return 1; }
	b0=$(stat_of "$d/s0" data_bytes_to_client)
	b1=$(opsr_metric "$key")
	# The counters move each second: one move at least in between.
	sleep 1.5
	b2=$(opsr_metric "$key")
	gw_ctl main sessions >"$d/sess" || return 1
	id=$(awk '$2 ~ /^198\.51\.100\./ && $5 == "transfer"' "$d/sess")
	echo "$key: $b0 before, $b1 and $b2 during the transfer"
	[ -n "$id" ] || { cat "$d/sess"; echo "FAIL: the transfer was over by the second sample: no conclusion"; return 1; }
	[ "$b1" != missing ] && [ "$b1" -ge "$b0" ] && [ "$b2" -gt "$b1" ] ||
		{ echo "FAIL: the byte counter did not move during the transfer"; return 1; }
	wait "$slow" || { cat "$d/slow.out"; return 1; }
	ops_quiet_stats "$d/s1" || return 1
	ops_delta "$d/s0" "$d/s1" data_bytes_to_client "$OPS_64_SIZE" || return 1
	b2=$(opsr_metric "$key")
	[ "$b2" = "$(stat_of "$d/s1" data_bytes_to_client)" ] || { echo "FAIL: metrics $b2, stats $(stat_of "$d/s1" data_bytes_to_client)"; return 1; }
}

lane_ops_run() {
	lane_begin ops-run setup_ops_run
	# ops ctl: two 64MiB RETRs through two workers; 'ftpgwctl kill ID' of
	# one (asked of every worker) exits 0, its client sees 421 or a close,
	# the log says '#ID end: ... ended by the operator'; the other
	# completes with sha256 ok; a second kill ID exits 1 'no such session'
	scenario "ops ctl: kill ends one live session, the other lives on" \
		reaped sc_opsr_kill
	# ops ctl: log-level info (both workers answer ok): a session logs no
	# debug line; log-level debug: the next one does; an unknown level
	# exits 1
	scenario "ops ctl: log-level: debug lines after, not before" \
		reaped sc_opsr_log_level
	# ops ctl: ftpgwctl reload exits 0 ('ok: configuration reloaded'),
	# config_reloads +1; on a bad file exits 1 with FILE:LINE: the error,
	# config_reloads_failed +1, config_reloads unchanged; sessions go on
	scenario "ops ctl: reload ok and failed: exit status, counters" \
		reaped sc_opsr_reload
	# ops metrics: HEAD 200 with the length and no body; ?x=1 and ?x
	# ignored (200); /other and /metricsx 404; POST 405; bytes to the
	# client grow between two samples 1.5 s apart during a 64MiB RETR held
	# to 8 MiB/s (still in transfer after them), exact (+64 MiB) after it
	scenario "ops metrics: HEAD, query, 404, 405, live byte counters" \
		reaped sc_opsr_metrics
	lane_end
}

# ---------------------------------------------------------------- ops-drain

setup_ops_drain() {
	rules_use redirect 8021 21
}

sc_opsr_drain() {
	local d=$LANE_DIR/drain.$SC_N pid slow c i out rc
	mkdir -p "$d"
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 30
workers = 2
control-socket = "$LANE_DIR/ctl.sock"
listen "main" { address = "::"  port = 8021  mode = "redirect"  passive-address = "original" }
EOF
	log_mark "$LANE_DIR/ftpgw.log"
	gw_start "$LANE_DIR/ftpgw.conf" 8021 || return 1
	pid=$(gw_pid main)
	cli_py --host "$SRV4" --port 21 --mode pasv opssession --ready "$d/ready" \
		"slowretr:$OPS_64@$((16 << 20))" "cmd:NOOP=200" >"$d/slow.out" 2>&1 &
	slow=$!
	wait_file "$d/ready" 20 || { cat "$d/slow.out"; return 1; }
	out=$(gw_ctl main drain 2>&1)
	rc=$?
	echo "ftpgwctl drain: exit $rc: $out"
	[ "$rc" = 0 ] && [ "$(printf '%s\n' "$out" | grep -c 'ok: draining')" = 2 ] ||
		{ echo "FAIL: ftpgwctl drain: both workers should say ok"; return 1; }
	for i in $(seq 20); do
		c=$(ops_connect "$SRV4" 21)
		[ "$c" = refused ] && break
		sleep 0.05
	done
	[ "$c" = refused ] || { echo "FAIL: a new connection after drain: $c"; return 1; }
	echo "a new connection after drain: refused"
	alive "$pid" || { echo "FAIL: ftpgw exited with a transfer running"; return 1; }
	wait "$slow"
	rc=$?
	sed 's/^/client: /' "$d/slow.out"
	[ "$rc" = 0 ] || { echo "FAIL: the transfer running at drain did not complete"; return 1; }
	ops_wait_exit "$pid" 10 || { echo "FAIL: ftpgw still running 10 s after its last session"; return 1; }
	log_new "$LANE_DIR/ftpgw.log" | grep -E 'drain|stopping|exiting|stopped' | sed 's/^/gateway log: /'
	[ "$OPS_ST" = 0 ] || { echo "FAIL: ftpgw exit status $OPS_ST"; return 1; }
	echo "ftpgw exited 0 after its last session"
	no_sanitizer "$LANE_DIR/ftpgw.log"
}

lane_ops_drain() {
	lane_begin ops-drain setup_ops_drain
	# ops drain: two workers, a 64MiB RETR read at 16 MiB/s: 'ftpgwctl
	# drain' exits 0 (both workers 'ok: draining'), new connections are
	# refused at once, the RETR completes with sha256 ok (and a NOOP
	# after it), ftpgw exits 0 once it has ended
	scenario "ops drain: the live transfer completes, new ones refused, exit 0" \
		reaped sc_opsr_drain
	lane_end
}
