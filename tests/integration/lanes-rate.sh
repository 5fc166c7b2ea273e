# lanes-rate.sh: the bandwidth limits (rate-limit-session, rate-limit-client)
# with real clients and servers (sourced by run.sh, which runs lane_X for
# every X appended to EXTRA_LANES).
#
#   rate   reverse mode, one gateway with workers = 2 (the sessions of one
#          client may land on either worker: the per-client limit lives in
#          the shared mapping) and data-timeout = 2, one listener per
#          setting, each with its own limits (the listen-section
#          overrides; the global ones are unset):
#            9121 session 2M       -> pyftpdlib $SRV4:2121
#            9122 client 2M        -> pyftpdlib
#            9123 session 2M, client 8M -> pyftpdlib
#            9124 none             -> pyftpdlib
#            9125 session 512      -> pyftpdlib
#            9091 session 2M       -> the TLS-requiring vsftpd $SRV4:21
#          (LANE_SERVERS=tls), TLS on both legs.  The client is curl; the
#          file is a 10 MiB one made for the lane (rate-10MiB).
#
# The rate is measured by the client: bytes / curl's own time_total (from
# connecting to the final 226, so an upload counts until the server has
# everything).  This is the one timing that is an assertion, because the
# issue asks for it ("a 5 s transfer holds the limit within 10%"), and it
# is stable: the limit is 2 MiB/s, a fraction of a percent of what this
# machine relays, so other lanes and engineers competing for the 2 cores
# only delay the gateway's wakeups; the bucket's schedule is absolute
# (ratelimit.c: a late wakeup finds the time it lost as credit, up to the
# burst of 1/8 s), so delays do not add up, and the only bias is that
# first burst (256 KiB of 10 MiB, +2.5%) plus the login (milliseconds).
# Only a stall longer than 1/8 s, or several, could lose 10% of 5 s.

EXTRA_LANES+=(rate)

RT_LIMIT=$((2 << 20))        # 2M
RT_FILE=rate-10MiB
RT_SIZE=$((10 << 20))

setup_rate() {
	LANE_HAS_GW=1
	# The lane's own file (the shared fixtures are 1 MiB or 64 MiB).
	[ -f "$IT_HOME/$RT_FILE" ] || head -c "$RT_SIZE" /dev/urandom >"$IT_HOME/$RT_FILE" || return 1
	chmod 644 "$IT_HOME/$RT_FILE"
	RT_SHA=$(sha_of "$IT_HOME/$RT_FILE")
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
data-timeout = 2
workers = 2
listen "sess" { address = "0.0.0.0"  port = 9121  mode = "reverse"  upstream = "$SRV4:2121"
	rate-limit-session = 2M }
listen "client" { address = "0.0.0.0"  port = 9122  mode = "reverse"  upstream = "$SRV4:2121"
	rate-limit-client = "2m" }
listen "both" { address = "0.0.0.0"  port = 9123  mode = "reverse"  upstream = "$SRV4:2121"
	rate-limit-session = 2097152  rate-limit-client = 8M }
listen "free" { address = "0.0.0.0"  port = 9124  mode = "reverse"  upstream = "$SRV4:2121" }
listen "slow" { address = "0.0.0.0"  port = 9125  mode = "reverse"  upstream = "$SRV4:2121"
	rate-limit-session = 512 }
listen "tls" { address = "0.0.0.0"  port = 9091  mode = "reverse"  upstream = "$SRV4:21"
	rate-limit-session = 2M }
port-mapping "py" { application = "ftp"  ports = {2121} }
$(tls_block optional auto)
EOF
	gw_start "$LANE_DIR/ftpgw.conf" 9121 9122 9123 9124 9125 9091
}

# rt_curl OUT PORT get|put TAG [CURL-OPTIONS...]: the 10 MiB file through
# listener PORT, down (RETR) or up (STOR as uploads/TAG), sha256 checked;
# OUT gets curl's "BYTES SECONDS PRETRANSFER-SECONDS" (the last: from
# connecting to the transfer command, a diagnostic).
rt_curl() {
	local out=$1 hp dir=$3 tag=$4 f
	hp=$(urlhost "$GWC4" "$2")
	shift 4
	if [ "$dir" = get ]; then
		f=$LANE_DIR/$tag
		in_ns "$NS_CLI" curl -q -sS --connect-timeout 10 --max-time 60 -u "$IT_USER:$IT_PASS" \
			"$@" -o "$f" -w '%{size_download} %{time_total} %{time_pretransfer}\n' "ftp://$hp/$RT_FILE" >"$out" ||
			{ echo "FAIL: curl RETR through $hp"; return 1; }
	else
		f=$IT_HOME/uploads/$tag
		in_ns "$NS_CLI" curl -q -sS --connect-timeout 10 --max-time 60 -u "$IT_USER:$IT_PASS" \
			"$@" -T "$IT_HOME/$RT_FILE" -w '%{size_upload} %{time_total} %{time_pretransfer}\n' \
			"ftp://$hp/uploads/$tag" >"$out" || { echo "FAIL: curl STOR through $hp"; return 1; }
	fi
	[ "$(sha_of "$f")" = "$RT_SHA" ] || { echo "FAIL: $dir $tag: sha256 differs"; rm -f "$f"; return 1; }
	rm -f "$f"
}

# rt_within BYTES SECONDS LIMIT LO HI WHAT: BYTES / SECONDS between LO and
# HI times LIMIT (the measurement becomes a diagnostic either way).
rt_within() {
	local m
	m=$(awk -v b="$1" -v s="$2" -v l="$3" 'BEGIN {
		printf "%d bytes in %.3f s = %.0f bytes/s, %.1f%% of %d", b, s, b / s, 100 * b / s / l, l }')
	sc_diag "$6: $m"
	awk -v b="$1" -v s="$2" -v l="$3" -v lo="$4" -v hi="$5" \
		'BEGIN { r = b / s; exit !(s > 0 && r >= lo * l && r <= hi * l) }' ||
		{ echo "FAIL: $6: $m, not within $4..$5 of the limit"; return 1; }
}

# rt_one PORT get|put WHAT [CURL-OPTIONS...]: one 10 MiB transfer (about
# 5 s) holds 2M within 10%.
rt_one() {
	local port=$1 dir=$2 what=$3 b s p
	shift 3
	rt_curl "$LANE_DIR/m.$SC_N" "$port" "$dir" "$SC_TAG-$dir" "$@" || return 1
	read -r b s p <"$LANE_DIR/m.$SC_N"
	sc_diag "$what: curl's login and setup took $p s of it (not counted)"
	[ "$b" = "$RT_SIZE" ] || { echo "FAIL: $what moved $b bytes, expected $RT_SIZE"; return 1; }
	# The transfer's own time: login and TLS handshakes are no part of
	# what the limit paces, and on a busy machine they take a good part
	# of a second.
	rt_within "$b" "$(awk -v s="$s" -v p="$p" 'BEGIN { print s - p }')" "$RT_LIMIT" 0.9 1.1 "$what"
}

# rt_session get|put: rt_one on 9121 (session 2M), and the gateway says
# so: the log line, the waits counted, and the relay still spliced.
rt_session() {
	local w0 w1
	log_mark "$LANE_DIR/ftpgw.log"
	w0=$(gw_stat main data_rate_limit_waits)
	rt_one 9121 "$1" "$1 at rate-limit-session 2M" || return 1
	w1=$(gw_stat main data_rate_limit_waits)
	echo "data_rate_limit_waits: $w0 before, $w1 after"
	[ "$w1" != missing ] && [ "$w1" -gt "$w0" ] || { echo "FAIL: no rate-limit wait counted"; return 1; }
	gw_log_wants 'data limited to 2097152 bytes/s per direction for the session, 0 for the client' \
		"the limit" || return 1
	wait_log "$LANE_DIR/ftpgw.log" 'data relay ended \(splice\)' 5 || return 1
}

# rt_two: two sessions of one client at once on 9122 (client 2M): together
# 2M within 10%, each about half (35..65%).
rt_two() {
	local b1 s1 b2 s2 p1 p2 rc=0
	rt_curl "$LANE_DIR/m1.$SC_N" 9122 get "$SC_TAG-1" & p1=$!
	rt_curl "$LANE_DIR/m2.$SC_N" 9122 get "$SC_TAG-2" & p2=$!
	wait "$p1" || rc=1
	wait "$p2" || rc=1
	[ "$rc" = 0 ] || return 1
	read -r b1 s1 _ <"$LANE_DIR/m1.$SC_N"
	read -r b2 s2 _ <"$LANE_DIR/m2.$SC_N"
	rt_within "$((b1 + b2))" "$(awk -v a="$s1" -v b="$s2" 'BEGIN { print (a > b ? a : b) }')" \
		"$RT_LIMIT" 0.9 1.1 "both sessions together at rate-limit-client 2M" || return 1
	rt_within "$b1" "$s1" "$RT_LIMIT" 0.35 0.65 "session 1" || return 1
	rt_within "$b2" "$s2" "$RT_LIMIT" 0.35 0.65 "session 2"
}

# rt_free: 9124 (no limit) moves the file at least 3 times faster than 2M
# (a sanity check: the limits are the gateway's, not the machine's).
rt_free() {
	local b s
	rt_curl "$LANE_DIR/m.$SC_N" 9124 get "$SC_TAG-get" || return 1
	read -r b s _ <"$LANE_DIR/m.$SC_N"
	rt_within "$b" "$s" "$RT_LIMIT" 3 1000000 "get without a limit"
}

# rt_slow: 9125 (session 512 bytes/s: a 4 KiB chunk every 8 s, longer than
# data-timeout = 2, whose no-progress check runs every 2 s): curl gives up
# after 7 s having had the first burst (64 KiB); the channel was never
# closed for "no progress" meanwhile.
rt_slow() {
	local hp b rc
	hp=$(urlhost "$GWC4" 9125)
	log_mark "$LANE_DIR/ftpgw.log"
	in_ns "$NS_CLI" curl -q -sS --connect-timeout 10 --max-time 7 -u "$IT_USER:$IT_PASS" \
		-o "$LANE_DIR/slow.$SC_N" -w '%{size_download}\n' "ftp://$hp/$RT_FILE" >"$LANE_DIR/m.$SC_N"
	rc=$?
	b=$(cat "$LANE_DIR/m.$SC_N")
	rm -f "$LANE_DIR/slow.$SC_N"
	echo "curl: exit $rc after 7 s, $b bytes"
	[ "$rc" = 28 ] || { echo "FAIL: curl exit $rc, expected 28 (its own timeout)"; return 1; }
	[ "$b" -ge 65536 ] && [ "$b" -le $((65536 + 8192)) ] ||
		{ echo "FAIL: $b bytes in 7 s at 512 bytes/s, expected the 64 KiB burst (+ a chunk)"; return 1; }
	log_lacks "$LANE_DIR/ftpgw.log" 'no progress' "a data channel closed for no progress" || return 1
	gw_alive
}

lane_rate() {
	lane_begin rate setup_rate
	LANE_SERVERS=tls
	# RETR of 10 MiB (about 5 s) at rate-limit-session = 2M: curl's
	# bytes / time_total within 10% of 2 MiB/s, sha256 ok; the gateway
	# logs the limit, counts waits, and the relay still splices
	scenario "rate: RETR at rate-limit-session holds it within 10%" rt_session get
	# The same for STOR (curl's time ends with the 226)
	scenario "rate: STOR at rate-limit-session holds it within 10%" rt_session put
	# Two RETRs of 10 MiB at once from one client host, rate-limit-client
	# = 2M (workers = 2: they may be on either worker): together within
	# 10% of 2 MiB/s, each 35..65% of it
	scenario "rate: two sessions of one client share rate-limit-client" rt_two
	# rate-limit-session 2M under rate-limit-client 8M: RETR within 10%
	# of 2 MiB/s (the lower limit wins)
	scenario "rate: the session limit below the client limit wins" \
		rt_one 9123 get "RETR at session 2M, client 8M"
	# PROT P on both legs (vsftpd requires TLS and session reuse):
	# RETR and STOR of 10 MiB at rate-limit-session = 2M, each within 10%
	scenario "rate: TLS (PROT P) RETR and STOR hold the limit within 10%" \
		sh_and rt_one 9091 get "TLS RETR at session 2M" --ssl-reqd --cacert "$CA" \
		-- rt_one 9091 put "TLS STOR at session 2M" --ssl-reqd --cacert "$CA"
	# No limit: at least 3 times faster than 2 MiB/s (sanity, no timing
	# bound of its own)
	scenario "rate: without a limit the transfer is much faster" rt_free
	# A limit so low that the relay waits 8 s for each chunk, data-timeout
	# = 2: no "no progress" close while it waits
	scenario "rate: waits for the limit are no data-timeout stall" rt_slow
	lane_end
}

# sh_and FN ARGS -- FN ARGS: both, in order, the second only if the first
# passed.
sh_and() {
	local a=()
	while [ "$1" != -- ]; do a+=("$1"); shift; done
	shift
	"${a[@]}" && "$@"
}
