# lanes-engine.sh: the session engine under odd but legal timing and under
# floods (sourced by run.sh, which runs lane_X for every X appended to
# EXTRA_LANES).
#
#   engine-redirect   redirect on 8021 for vsftpd (21), pyftpdlib (2121)
#                     and pure-ftpd (2100); reverse 9210 -> fakeftpd
#                     floodheld (2210); workers = 1, so that the one worker
#                     process is the one whose memory is measured
#   engine-tproxy     the same servers through tproxy on 8021
#
# pure-ftpd: Debian's package conflicts with vsftpd, so it is not
# installed: "apt-get download pure-ftpd" once into $ENGINE_CACHE (kept
# between runs), unpacked with dpkg-deb -x, and run from there in srv with
# everything on its command line: a puredb user file of the lane mapping
# the test user to the fixtures (chrooted), passive ports 42000-42999.
# Without the package (no network, no package lists) the pure-ftpd
# scenarios are skipped (TAP "# SKIP" with the reason).
#
# Every scenario name starts with "engine".

EXTRA_LANES+=(engine-redirect engine-tproxy)

ENGINE_CACHE=${FTPGW_IT_CACHE:-/var/cache/ftpgw-tests}
ENGINE_PUREFTPD_PASV=42000:42999
ENGINE_FLOOD_LIMIT_KB=1024     # the gateway worker's VmRSS may grow by less

# ---------------------------------------------------------------- pure-ftpd

# engine_pureftpd_fetch: $ENGINE_CACHE/pure-ftpd/usr/sbin/pure-ftpd, from
# "apt-get download" unless there already; one lane at a time (flock).
# Prints why not and fails when it cannot be had.
engine_pureftpd_fetch() {
	local dir=$ENGINE_CACHE/pure-ftpd tmp rc
	mkdir -p "$ENGINE_CACHE" || { echo "cannot create $ENGINE_CACHE"; return 1; }
	(
		flock -w 120 9 || { echo "cannot lock $ENGINE_CACHE/pure-ftpd.lock"; exit 1; }
		[ -x "$dir/usr/sbin/pure-ftpd" ] && [ -x "$dir/usr/bin/pure-pw" ] && exit 0
		tmp=$(mktemp -d "$ENGINE_CACHE/dl.XXXXXX") || exit 1
		# (the _apt user cannot write to tmp: apt warns and downloads as root)
		(cd "$tmp" && timeout 120 apt-get download -q pure-ftpd) >"$tmp/apt.log" 2>&1
		rc=$?
		if [ "$rc" != 0 ] || ! ls "$tmp"/pure-ftpd_*.deb >/dev/null 2>&1; then
			echo "apt-get download pure-ftpd failed (exit $rc): $(grep -E '^E:' "$tmp/apt.log" | head -n1)"
			rm -rf "$tmp"
			exit 1
		fi
		rm -rf "$dir.new" && dpkg-deb -x "$tmp"/pure-ftpd_*.deb "$dir.new" &&
			rm -rf "$dir" && mv "$dir.new" "$dir" || { echo "dpkg-deb -x failed"; rm -rf "$tmp"; exit 1; }
		echo "fetched $(basename "$tmp"/pure-ftpd_*.deb) into $dir"
		rm -rf "$tmp"
	) 9>"$ENGINE_CACHE/pure-ftpd.lock"
}

# engine_pureftpd_start PORT: pure-ftpd in srv on PORT (v4 and v6); files
# $LANE_DIR/pureftpd.{pdb,out,pid}.  The reason it cannot goes to
# $LANE_DIR/pureftpd.skip (the scenarios skip with it).
engine_pureftpd_start() {
	local port=$1 dir=$ENGINE_CACHE/pure-ftpd pw uid gid pid why
	rm -f "$LANE_DIR/pureftpd.skip"
	if ! why=$(engine_pureftpd_fetch 2>&1); then
		echo "pure-ftpd: ${why:-cannot be fetched}" | tail -n1 >"$LANE_DIR/pureftpd.skip"
		echo "pure-ftpd unavailable: $(cat "$LANE_DIR/pureftpd.skip")"
		return 0
	fi
	[ -n "$why" ] && echo "$why"
	uid=$(id -u "$IT_USER") gid=$(id -g "$IT_USER")
	# The test user, its password as a SHA-512 crypt hash (pure-pw would
	# make a slow argon2 one), chrooted ("/./") to the fixtures.
	pw=$(openssl passwd -6 "$IT_PASS") || return 1
	echo "$IT_USER:$pw:$uid:$gid::$IT_HOME/./::::::::::::" >"$LANE_DIR/pureftpd.passwd"
	"$dir/usr/bin/pure-pw" mkdb "$LANE_DIR/pureftpd.pdb" -f "$LANE_DIR/pureftpd.passwd" || return 1
	ip netns exec "$NS_SRV" "$dir/usr/sbin/pure-ftpd" -S ",$port" -l "puredb:$LANE_DIR/pureftpd.pdb" \
		-E -H -A -u 100 -p "$ENGINE_PUREFTPD_PASV" -c 200 -C 200 -I 120 >"$LANE_DIR/pureftpd.out" 2>&1 &
	pid=$!
	register_pid "$pid"
	echo "$pid" >"$LANE_DIR/pureftpd.pid"
	wait_listen "$NS_SRV" "$port" 10 || { echo "pure-ftpd does not listen on $port:"; cat "$LANE_DIR/pureftpd.out"; return 1; }
	echo "pure-ftpd (pid $pid) listens on $port"
}

# engine_fake_start: fakeftpd floodheld on 2210 in srv.
engine_fake_start() {
	local pid
	ip netns exec "$NS_SRV" "$PY" "$IT_SRC/fakeftpd.py" --home "$IT_HOME" \
		--log "$LANE_DIR/fakeftpd.log" --listen 2210:floodheld >"$LANE_DIR/fakeftpd.out" 2>&1 &
	pid=$!
	register_pid "$pid"
	echo "$pid" >"$LANE_DIR/fakeftpd.pid"
	wait_listen "$NS_SRV" 2210 10 || { echo "fakeftpd does not listen:"; cat "$LANE_DIR/fakeftpd.out"; return 1; }
}

engine_conf() {
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
workers = 1
control-socket = "$LANE_DIR/ctl.sock"
listen "main" { address = "::"  port = 8021  mode = "$1"  passive-address = "original" }
listen "fake" { address = "::"  port = 9210  mode = "reverse"  upstream = "$SRV4:2210" }
port-mapping "alt" { application = "ftp"  ports = {2121, 2100, 2210} }
EOF
}

setup_engine_redirect() {
	LANE_HAS_GW=1
	engine_pureftpd_start 2100 || return 1
	engine_fake_start || return 1
	engine_conf redirect
	rules_use redirect 8021 21,2121,2100 || return 1
	gw_start "$LANE_DIR/ftpgw.conf" 8021 9210
}

setup_engine_tproxy() {
	LANE_HAS_GW=1
	engine_pureftpd_start 2100 || return 1
	engine_conf tproxy
	rules tproxy add FTPGW_IFACE=eth0 FTPGW_LISTEN_PORT=8021 FTPGW_CONTROL_PORTS=21,2121,2100 \
		FTPGW_PASSIVE_PORTS="$GW_PASV" || return 1
	gw_start "$LANE_DIR/ftpgw.conf" 8021
}

# engine_worker: the pid of the gateway's one worker (workers = 1), or of
# the gateway itself if it has no child process.
engine_worker() {
	local pid kids
	pid=$(gw_pid main)
	kids=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null)
	set -- $kids
	[ $# -le 1 ] || { echo "FAIL: ftpgw $pid has $# children, expected one worker" >&2; return 1; }
	echo "${1:-$pid}"
}

# engine_no_sanitizer: the VmRSS bounds mean nothing in a sanitizer build
# (ASan's quarantine keeps freed memory resident): there the flood
# scenarios are skipped (status 77, the reason printed).
engine_no_sanitizer() {
	grep -qa __asan_init "$FTPGW" || return 0
	echo "sanitizer build: VmRSS bounds are not meaningful (ASan quarantine)"
	return 1
}

eng_py() {
	in_ns "$NS_CLI" "$PY" "$IT_SRC/engineclient.py" --fixtures "$IT_HOME" --tag "$SC_TAG" "$@"
}

# ---------------------------------------------------------------- ABOR

# sc_engine_abor SERVER HOST PORT MODE: engineclient.py abor, 5 times.
# SERVER pure-ftpd skips (77) when it could not be had.
sc_engine_abor() {
	local server=$1
	if [ "$server" = pure-ftpd ] && [ -s "$LANE_DIR/pureftpd.skip" ]; then
		cat "$LANE_DIR/pureftpd.skip"
		return 77
	fi
	eng_py --host "$2" --port "$3" --mode "$4" abor --count 5 || return 1
	gw_alive
}

# sc_engine_abor_direct: the same ABORs straight to pure-ftpd from gw (no
# gateway), in the four data modes: pure-ftpd itself answers every ABOR
# (the scenarios through the gateway would prove nothing otherwise).  In
# band only: pure-ftpd does not take the Telnet Synch (IAC IP, IAC DM as
# urgent data) and leaves such an ABOR unanswered; through the gateway it
# gets a plain ABOR whatever the client sent.  When the data connection
# broke first, pure-ftpd answers "150 N seconds (measured here) ..." and
# then one "226 Since you see this ABOR must've succeeded": no reply of
# its own for the RETR.
sc_engine_abor_direct() {
	local dm host
	if [ -s "$LANE_DIR/pureftpd.skip" ]; then
		cat "$LANE_DIR/pureftpd.skip"
		return 77
	fi
	for dm in pasv epsv port eprt; do
		case $dm in pasv | port) host=$SRV4 ;; *) host=$SRV6 ;; esac
		echo "== $dm to $host:2100"
		in_ns "$NS_GW" "$PY" "$IT_SRC/engineclient.py" --fixtures "$IT_HOME" --tag "$SC_TAG-direct" \
			--host "$host" --port 2100 --mode "$dm" abor --count 5 --abor-style inband || return 1
	done
}

# engine_abor_matrix MODE: the ABOR scenarios of one interception mode.
#   RETR file-64MiB through the gateway, ABOR right after the 150 (or
#   after 256 KiB .. 4 MiB of data; in band, MSG_OOB as ftplib.abort(), or
#   after Telnet IAC IP / IAC DM), the data connection closed; the
#   replies up to 225/226 (426/451 before it) within 10 s each, then NOOP
#   must get 200 within 10 s; five times, a new session each; then RETR
#   1MiB sha256 on the last session.  v4 PASV/PORT, v6 EPSV/EPRT.
#   pure-ftpd answers an ABOR that comes when its transfer is over with
#   one "226 Since you see this ABOR must've succeeded" and no reply for
#   the transfer: a gateway that waits for two replies never answers the
#   NOOP.  vsftpd and pyftpdlib (426 then 226) are the controls.
engine_abor_matrix() {
	local m=$1 dm host
	for dm in pasv epsv port eprt; do
		case $dm in pasv | port) host=$SRV4 ;; *) host=$SRV6 ;; esac
		scenario "engine $m ABOR pure-ftpd $(DMODE_UP $dm) x5" \
			sc_engine_abor pure-ftpd "$host" 2100 "$dm"
		scenario "engine $m ABOR vsftpd $(DMODE_UP $dm) x5" sc_engine_abor vsftpd "$host" 21 "$dm"
		scenario "engine $m ABOR pyftpdlib $(DMODE_UP $dm) x5" sc_engine_abor pyftpdlib "$host" 2121 "$dm"
	done
}

# ---------------------------------------------------------------- floods

# engine_others HOST PORT SECONDS OUT: normal sessions (login, RETR+STOR
# 1MiB sha256) one after another for SECONDS; their output to OUT; fails
# if one fails or none ran.
engine_others() {
	local t0 n=0
	t0=$(date +%s)
	while [ $(($(date +%s) - t0)) -lt "$3" ] || [ "$n" = 0 ]; do
		n=$((n + 1))
		echo "== normal session $n"
		cli_py --host "$1" --port "$2" --mode pasv xfer --sizes 1MiB || { echo "FAIL: normal session $n"; return 1; }
	done
	echo "$n normal sessions ok"
} >"$4" 2>&1

# engine_rss_check WHAT RSS0 RSS1 MAXRSS: the diagnostic line, and the
# bound.
engine_rss_check() {
	local what=$1 r0=$2 r1=$3 max=$4
	sc_diag "$what: worker VmRSS $r0 kB before, $max kB at most, $r1 kB after (+$((r1 - r0)) kB, +$((max - r0)) kB at most; bound +$ENGINE_FLOOD_LIMIT_KB kB)"
	if [ $((max - r0)) -ge "$ENGINE_FLOOD_LIMIT_KB" ]; then
		echo "FAIL: the gateway worker's VmRSS grew by $((max - r0)) kB during $what"
		return 1
	fi
}

# engine_flood_run WHAT WORKER FLOOD-CMD...: FLOOD-CMD in the background
# (an engineclient.py flood/heldretr with --ready/--release $d/ready
# $d/release) while normal sessions run beside it; VmRSS of WORKER sampled
# each 0.2 s until the flooder is ready, then once more; release it; then
# normal sessions again.
engine_flood_run() {
	local what=$1 w=$2 d=$LANE_DIR/flood.$SC_N r0 r1 max r fl others rc=0 i
	shift 2
	r0=$(gw_rss "$w")
	max=$r0
	"$@" >"$d/flood.out" 2>&1 &
	fl=$!
	engine_others "$SRV4" 21 6 "$d/others1" &
	others=$!
	for i in $(seq 300); do
		r=$(gw_rss "$w")
		[ -n "$r" ] && [ "$r" -gt "$max" ] && max=$r
		[ -e "$d/ready" ] && break
		alive "$fl" || break
		sleep 0.2
	done
	sleep 0.5
	r1=$(gw_rss "$w")
	[ -n "$r1" ] && [ "$r1" -gt "$max" ] && max=$r1
	wait "$others" || rc=1
	cat "$d/others1"
	[ -e "$d/ready" ] || { echo "FAIL: the flooder did not get ready"; rc=1; }
	: >"$d/release"
	wait "$fl" || { echo "FAIL: the flooder failed"; rc=1; }
	cat "$d/flood.out"
	alive "$w" || { echo "FAIL: the gateway worker $w died"; return 1; }
	engine_rss_check "$what" "$r0" "${r1:-0}" "$max" || rc=1
	engine_others "$SRV4" 21 0 "$d/others2" || rc=1
	cat "$d/others2"
	return "$rc"
}

# Client flooder: logged in through the gateway (redirect, vsftpd), it
# sends "x\r\n" as fast as the gateway takes it for 8 s and never reads a
# reply.  The gateway worker's VmRSS (workers = 1) may grow by less than
# 1 MiB; beside it and after it, normal sessions log in and RETR+STOR 1MiB
# sha256.  (Today the replies to the junk pile up in the gateway: ~50 MiB.)
sc_engine_client_flood() {
	local d=$LANE_DIR/flood.$SC_N w
	engine_no_sanitizer || return 77
	mkdir -p "$d"
	w=$(engine_worker) || return 1
	engine_flood_run "the client flood" "$w" \
		eng_py --host "$SRV4" --port 21 flood --seconds 8 --ready "$d/ready" --release "$d/release"
}

# Server flood while a reply is held: fakeftpd floodheld answers RETR with
# 150, the data at 256 KiB/s for 10 s (the client reads 128 KiB/s), the
# final 226 at once (the gateway holds it until the data has been
# relayed), then junk lines on the control connection as fast as they are
# read.  The worker's VmRSS may grow by less than 1 MiB; the gateway still
# serves normal sessions beside it and after it.
sc_engine_server_flood() {
	local d=$LANE_DIR/flood.$SC_N w
	engine_no_sanitizer || return 77
	mkdir -p "$d"
	w=$(engine_worker) || return 1
	log_mark "$LANE_DIR/fakeftpd.log"
	engine_flood_run "the server flood" "$w" \
		eng_py --host "$GWC4" --port 9210 heldretr --seconds 8 --ready "$d/ready" --release "$d/release" || return 1
	sleep 1
	log_wants "$LANE_DIR/fakeftpd.log" 'floodheld: [0-9]+ data bytes sent, [0-9]+ junk bytes' "the server flood"
}

lane_engine_redirect() {
	lane_begin engine-redirect setup_engine_redirect
	scenario "engine direct (no gateway) ABOR pure-ftpd, 4 modes x5" sc_engine_abor_direct
	engine_abor_matrix redirect
	scenario "engine flood: client junk, replies unread, RSS < +1MiB" \
		sc_engine_client_flood
	scenario "engine flood: server junk while 226 held, RSS < +1MiB" \
		sc_engine_server_flood
	lane_end
}

lane_engine_tproxy() {
	lane_begin engine-tproxy setup_engine_tproxy
	engine_abor_matrix tproxy
	lane_end
}
