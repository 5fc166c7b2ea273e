# lanes-fds.sh: ftpgw out of descriptors, and its operator endpoints under
# abuse (sourced by run.sh, which runs lane_X for every X appended to
# EXTRA_LANES).
#
#   fds   reverse mode (:9091 -> vsftpd), workers = 1, the control socket
#         and the metrics endpoint on $GWC4:9100:
#         - with 8 sessions open, the worker's descriptor limit lowered at
#           run time (prlimit) to what it holds: client connections until
#           accept fails (the first), a request pending on
#           the control socket and on the metrics endpoint; the worker
#           stays idle (CPU over 2 s), logs EMFILE once per listener, and
#           when the connections that hold the descriptors end, serves
#           the pending ones and new sessions (RETR+STOR sha256)
#         - a control/metrics client that sends its request one byte
#           every 2 s is closed at the request deadline (5 s), others are
#           answered meanwhile
#         - 33 idle connections: the 33rd (and ftpgwctl) is closed at
#           once, logged once; the 32 are closed at the deadline
#
# Every scenario name starts with "fds".  Timings are generous bounds only:
# "closed within deadline + 3 s", "under 0.3 s of CPU in 2 s".

EXTRA_LANES+=(fds)

FDS_CTL=$(dirname "$FTPGW")/ftpgwctl
FDS_METRICS_PORT=9100
FDS_HOGS=8            # sessions open when the limit is lowered
FDS_DEADLINE=5        # CTL_REQUEST_SEC
FDS_MAX_CONNS=32      # CTL_MAX_CONNS

# ---------------------------------------------------------------- helpers

fds_ctl() { "$FDS_CTL" -s "$LANE_DIR/ctl.sock" "$@"; }
fds_pid() { cat "$LANE_DIR/ftpgw.pid"; }

# fds_cpu_ticks PID: utime + stime of PID, in clock ticks.
fds_cpu_ticks() {
	sed -E 's/^.*\) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# fds_count PID: the descriptors PID has open.
fds_count() { ls "/proc/$1/fd" | wc -l; }

# fds_first_free PID: the lowest descriptor number PID has not open.
fds_first_free() {
	ls "/proc/$1/fd" | sort -n | awk '$1 != NR - 1 { print NR - 1; f = 1; exit } END { if (!f) print NR }'
}

# fds_wait_file FILE SECONDS
fds_wait_file() {
	local i
	for i in $(seq $(($2 * 10))); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	echo "FAIL: $1 did not appear within $2 s"
	return 1
}

# fds_stats_ok WHAT: ftpgwctl stats answers with the counters.
fds_stats_ok() {
	local out
	out=$(fds_ctl stats 2>&1) || { echo "FAIL: ftpgwctl stats ($1): $out"; return 1; }
	grep -q '^sessions_total [0-9]' <<<"$out" || { echo "FAIL: ftpgwctl stats ($1): $out"; return 1; }
	echo "ftpgwctl stats ($1): $(grep -E '^(sessions_active|sessions_total) ' <<<"$out" | tr '\n' ' ')"
}

# ---------------------------------------------------------------- setup

setup_fds() {
	LANE_HAS_GW=1
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
workers = 1
control-socket = "$LANE_DIR/ctl.sock"
metrics-listen = "$GWC4:$FDS_METRICS_PORT"
listen "fds" { address = "::"  port = 9091  mode = "reverse"  upstream = "$SRV4:21" }
EOF
	gw_start "$LANE_DIR/ftpgw.conf" 9091 $FDS_METRICS_PORT
}

# ---------------------------------------------------------------- out of descriptors

# The client side of the exhaustion, in cli: FDS_HOGS sessions (greeted
# by the server's 220), "hogs" in DIR/state; once DIR/go appears (the
# worker's limit lowered to what it holds), connections until one is
# neither greeted nor closed (accept fails), then a request to the control
# socket and to the metrics endpoint (pending too); "ready" in DIR/state.
# When DIR/release appears: closes the sessions, then waits (10 s at most)
# for the pending three to be served; their outcome in DIR/after.
fds_hog() {
	in_ns "$NS_CLI" "$PY" - "$GWC4" 9091 "$LANE_DIR/ctl.sock" "$FDS_METRICS_PORT" "$1" \
		"$FDS_HOGS" <<'EOF'
import os, socket, sys, time
host, port, ctl, mport, d, hogs = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6])

def first_bytes(s, t):
    s.settimeout(t)
    try:
        b = s.recv(512)
    except socket.timeout:
        return "pending"
    except OSError as e:
        return "closed (%s)" % e
    return "greeted" if b.startswith(b"220") else "closed" if not b else "other %r" % b[:40]

def note(name, text):
    with open(os.path.join(d, name + ".tmp"), "w") as f:
        f.write(text)
    os.rename(os.path.join(d, name + ".tmp"), os.path.join(d, name))

def wait_for(name):
    for i in range(600):
        if os.path.exists(os.path.join(d, name)):
            return
        time.sleep(0.1)
    sys.exit("no %s within 60 s" % name)

greeted, pending = [], None
for i in range(hogs):
    s = socket.create_connection((host, port), timeout=5)
    st = first_bytes(s, 5)
    print("FTP connection %d: %s" % (i + 1, st), flush=True)
    if st != "greeted":
        sys.exit("session %d not greeted" % (i + 1))
    greeted.append(s)
note("state", "hogs\n")
wait_for("go")
for i in range(5):
    s = socket.create_connection((host, port), timeout=5)
    st = first_bytes(s, 3)
    print("FTP connection %d: %s" % (hogs + i + 1, st), flush=True)
    if st == "greeted":
        greeted.append(s)
    elif st == "pending":
        pending = s
        break
    else:
        s.close()
u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
u.settimeout(5)
u.connect(ctl)
u.sendall(b"stats\n")
m = socket.create_connection((host, mport), timeout=5)
m.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
note("state", "greeted %d pending %s\n" % (len(greeted), "yes" if pending else "no"))
wait_for("release")
for s in greeted:
    s.close()

def answer(s, t):
    s.settimeout(t)
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except socket.timeout:
        pass
    return data

res = []
if pending is not None:
    res.append("ftp %s" % first_bytes(pending, 10))
a = answer(u, 10)
res.append("ctl %s" % ("answered" if b"sessions_total " in a else "unanswered %r" % a[:60]))
a = answer(m, 10)
res.append("metrics %s" % ("answered" if a.startswith(b"HTTP/1.0 200") and b"ftpgw_sessions_total " in a else "unanswered %r" % a[:60]))
note("after", "\n".join(res) + "\n")
EOF
}

# fds_exhaust DIR PID: the scenario, with the worker's soft limit restored
# by the caller.
fds_exhaust() {
	local d=$1 pid=$2 c0 lim hog t0 t1 tck cpu n st
	c0=$(fds_count "$pid")
	log_mark "$LANE_DIR/ftpgw.log"
	fds_hog "$d" >"$d/hog.log" 2>&1 &
	hog=$!
	fds_wait_file "$d/state" 30 || { cat "$d/hog.log"; return 1; }
	# The lowest free number: a new descriptor would get it (or one
	# above), so with the limit there the next accept(2) fails with EMFILE.
	lim=$(fds_first_free "$pid")
	prlimit --pid "$pid" --nofile="$lim:" || { echo "FAIL: prlimit"; return 1; }
	echo "worker $pid: $c0 descriptors open, $(fds_count "$pid") with $FDS_HOGS sessions: soft limit $lim"
	: >"$d/go"
	for n in $(seq 300); do
		grep -q greeted "$d/state" && break
		alive "$hog" || break
		sleep 0.1
	done
	cat "$d/hog.log"
	st=$(cat "$d/state")
	echo "clients: $st"
	# Give the three listeners time to hit EMFILE, then measure.
	sleep 0.5
	tck=$(getconf CLK_TCK)
	t0=$(fds_cpu_ticks "$pid")
	sleep 2
	t1=$(fds_cpu_ticks "$pid")
	cpu=$(awk -v a="$t0" -v b="$t1" -v h="$tck" 'BEGIN { printf "%.2f", (b - a) / h }')
	n=$(log_new "$LANE_DIR/ftpgw.log" | grep -c 'Too many open files')
	echo "worker CPU over 2 s out of descriptors: $cpu s; log lines with EMFILE: $n"
	log_new "$LANE_DIR/ftpgw.log" | grep 'Too many open files' | head -n 5
	: >"$d/release"
	wait "$hog"
	cat "$d/after" 2>/dev/null
	[ "$st" = "greeted $FDS_HOGS pending yes" ] ||
		{ echo "FAIL: expected $FDS_HOGS greeted sessions, then one connection left pending"; return 1; }
	awk -v c="$cpu" 'BEGIN { exit !(c < 0.3) }' ||
		{ echo "FAIL: $cpu s of CPU in 2 s while out of descriptors (spinning), expected < 0.3"; return 1; }
	[ "$n" -ge 1 ] && [ "$n" -le 3 ] ||
		{ echo "FAIL: $n log lines with EMFILE, expected 1 to 3 (once per listener)"; return 1; }
	# Service restored, still under the lowered limit.
	[ "$(cat "$d/after" 2>/dev/null)" = "$(printf 'ftp greeted\nctl answered\nmetrics answered')" ] ||
		{ echo "FAIL: the pending connections were not all served once descriptors were free"; return 1; }
	gw_log_wants 'listen "fds": accepting again' "the FTP listener resumed" &&
		gw_log_wants 'control socket .*: accepting again' "the control socket resumed" &&
		gw_log_wants 'metrics-listen .*: accepting again' "the metrics endpoint resumed" &&
		sc_xfer pasv "$GWC4" 9091 1MiB &&
		fds_stats_ok "after" || return 1
	# Nothing leaked: back to the descriptors of the start.
	for n in $(seq 50); do
		[ "$(fds_count "$pid")" -le "$c0" ] && break
		sleep 0.1
	done
	[ "$(fds_count "$pid")" -le "$c0" ] ||
		{ echo "FAIL: $(fds_count "$pid") descriptors open, $c0 before"; ls -l "/proc/$pid/fd"; return 1; }
	echo "descriptors back to $(fds_count "$pid") (were $c0)"
}

sc_fds_exhaust() {
	local d=$LANE_DIR/exhaust.$SC_N pid soft rc
	mkdir -p "$d"
	pid=$(fds_pid)
	# Only the soft limit: raising a hard limit again needs CAP_SYS_RESOURCE.
	soft=$(prlimit --pid "$pid" --nofile --raw --noheadings --output SOFT)
	fds_exhaust "$d" "$pid"
	rc=$?
	prlimit --pid "$pid" --nofile="$soft:" || { echo "FAIL: cannot restore the soft limit $soft"; return 1; }
	return $rc
}

# ---------------------------------------------------------------- control and metrics requests

# fds_py NS ARGS: the script on stdin with python, in namespace NS.
fds_py() {
	local ns=$1
	shift
	in_ns "$ns" "$PY" - "$@"
}

# Slow writers, one to the control socket and one to the metrics endpoint
# at once: a byte every 2 s, never a whole request.  Each must be closed
# 2..DEADLINE+3 s after it connected; while they wait, a normal request to
# each is answered.
sc_fds_slow() {
	local d=$LANE_DIR/slow.$SC_N py
	mkdir -p "$d"
	log_mark "$LANE_DIR/ftpgw.log"
	fds_py "$NS_CLI" "$LANE_DIR/ctl.sock" "$GWC4" "$FDS_METRICS_PORT" $((FDS_DEADLINE + 3)) "$d" <<'EOF' &
import os, socket, sys, threading, time
ctl, host, mport, bound, d = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
bad = []

def ctl_sock():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(ctl)
    return s

def metrics_sock():
    return socket.create_connection((host, mport), timeout=5)

def slow(name, connect, payload):
    s = connect()
    t0 = time.monotonic()
    sent = 0
    while time.monotonic() - t0 < bound + 4:
        try:
            s.send(payload[sent % len(payload):][:1])
            sent += 1
        except OSError as e:
            break
        s.settimeout(2)
        try:
            b = s.recv(4096)
            if b:
                bad.append("%s: an answer to an incomplete request: %r" % (name, b[:60]))
                return
            break
        except socket.timeout:
            continue
        except OSError:
            break
    t = time.monotonic() - t0
    print("%s: slow writer (1 byte / 2 s, %d bytes sent) closed after %.1f s" % (name, sent, t), flush=True)
    if not 2 <= t <= bound:
        bad.append("%s: slow writer closed after %.1f s, expected 2..%.0f s" % (name, t, bound))

def normal(name, connect, request, want):
    s = connect()
    s.settimeout(5)
    s.sendall(request)
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    ok = want in data
    print("%s: a normal request meanwhile: %s" % (name, "answered" if ok else "NOT answered %r" % data[:60]), flush=True)
    if not ok:
        bad.append("%s: no answer to a normal request beside the slow writer" % name)

threads = [threading.Thread(target=slow, args=("control socket", ctl_sock, b"sessions")),
           threading.Thread(target=slow, args=("metrics", metrics_sock, b"GET /metrics HTTP/1.0\r\nX-Slow: aaaa"))]
for t in threads:
    t.start()
time.sleep(3)
open(os.path.join(d, "slow-started"), "w").close()
normal("control socket", ctl_sock, b"stats\n", b"sessions_total ")
normal("metrics", metrics_sock, b"GET /metrics HTTP/1.0\r\n\r\n", b"ftpgw_sessions_total ")
for t in threads:
    t.join()
for b in bad:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
EOF
	py=$!
	fds_wait_file "$d/slow-started" 10 || { wait "$py"; return 1; }
	fds_stats_ok "beside the slow writers" || { wait "$py"; return 1; }
	wait "$py" || return 1
	fds_stats_ok "after"
}

# MAX+1 idle connections to TARGET (the control socket, or the metrics
# endpoint): the last is closed at once; the MAX others at the deadline.
# For the control socket, ftpgwctl while they are open is refused (exit 1)
# and says why.
sc_fds_cap() {
	local kind=$1 d=$LANE_DIR/cap.$SC_N py out rc n
	mkdir -p "$d"
	log_mark "$LANE_DIR/ftpgw.log"
	fds_py "$NS_CLI" "$kind" "$LANE_DIR/ctl.sock" "$GWC4" "$FDS_METRICS_PORT" "$FDS_MAX_CONNS" \
		$((FDS_DEADLINE + 3)) "$d" <<'EOF' &
import os, select, socket, sys, time
kind, ctl, host, mport, most, bound, d = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), sys.argv[7]
bad = []

def connect():
    if kind == "ctl":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(ctl)
        return s
    return socket.create_connection((host, mport), timeout=5)

def closed_within(s, t):
    s.settimeout(t)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True

t0 = time.monotonic()
held = []
for i in range(most):
    held.append(connect())
    # one at a time, so that the gateway has taken each one in
    time.sleep(0.02)
time.sleep(0.5)
extra = connect()
t = time.monotonic()
if closed_within(extra, 2):
    print("connection %d: closed at once (%.1f s)" % (most + 1, time.monotonic() - t), flush=True)
else:
    bad.append("connection %d was not closed within 2 s" % (most + 1))
open(os.path.join(d, "full"), "w").close()
# The MAX held ones: all closed by the deadline (+3 s), none before 2 s.
left = list(held)
first = None
while left and time.monotonic() - t0 < bound + 2:
    r, _, _ = select.select(left, [], [], 0.2)
    for s in r:
        try:
            b = s.recv(1)
        except OSError:
            b = b""
        if b:
            bad.append("an idle connection got bytes %r" % b)
        if first is None:
            first = time.monotonic() - t0
        left.remove(s)
        s.close()
last = time.monotonic() - t0
print("the %d idle connections: the first closed after %.1f s, the last after %.1f s, %d still open"
      % (most, first or -1, last, len(left)), flush=True)
if left:
    bad.append("%d idle connections still open after %.1f s" % (len(left), last))
if first is not None and first < 2:
    bad.append("an idle connection was closed after %.1f s, before the deadline" % first)
for b in bad:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
EOF
	py=$!
	fds_wait_file "$d/full" 15 || { wait "$py"; return 1; }
	if [ "$kind" = ctl ]; then
		out=$(fds_ctl stats 2>&1)
		rc=$?
		echo "ftpgwctl stats while $FDS_MAX_CONNS are open: exit $rc: $out"
		[ "$rc" = 1 ] && [[ $out == *"closed the connection without answering"* ]] ||
			{ echo "FAIL: ftpgwctl stats should fail (exit 1) and say the connection was closed"; wait "$py"; return 1; }
	fi
	wait "$py" || return 1
	n=$(log_new "$LANE_DIR/ftpgw.log" | grep -c 'connections open: closing new ones')
	echo "log lines 'closing new ones': $n"
	log_new "$LANE_DIR/ftpgw.log" | grep -E 'closing new ones|taking connections again'
	[ "$n" = 1 ] || { echo "FAIL: $n log lines about the full endpoint, expected 1 (once per episode)"; return 1; }
	gw_log_wants 'taking connections again' "the endpoint has room again" || return 1
	fds_stats_ok "after"
	if [ "$kind" = metrics ]; then
		in_ns "$NS_CLI" curl -q -sS --max-time 10 -o "$d/body" "http://$GWC4:$FDS_METRICS_PORT/metrics" &&
			grep -q '^ftpgw_sessions_total ' "$d/body" || { echo "FAIL: GET /metrics after"; return 1; }
		echo "GET /metrics after: ok"
	fi
}

lane_fds() {
	lane_begin fds setup_fds
	# With $FDS_HOGS sessions open, the worker's descriptor limit lowered
	# (prlimit) to what it holds: the next connection stays pending, a
	# request to the control socket and the metrics endpoint too; the
	# worker uses < 0.3 s CPU in 2 s and logs EMFILE at most once per
	# listener; once the $FDS_HOGS sessions end the three pending ones are
	# served, each listener logs 'accepting again', RETR+STOR 1MiB sha256
	# and ftpgwctl stats work; no descriptor leaked.
	scenario "fds exhaustion: listeners pause, no spin, service restored" \
		sc_fds_exhaust
	# A client sending one byte every 2 s to the control socket and one to
	# the metrics endpoint: each closed within ${FDS_DEADLINE}+3 s, never
	# answered; ftpgwctl stats and GET /metrics answered meanwhile.
	scenario "fds ctl deadline: slow requests closed" \
		sc_fds_slow
	# $((FDS_MAX_CONNS + 1)) idle connections to the control socket: the
	# last closed at once, ftpgwctl meanwhile exits 1 ('closed the
	# connection without answering'), logged once; the $FDS_MAX_CONNS
	# others closed within ${FDS_DEADLINE}+3 s; ftpgwctl works after.
	scenario "fds ctl cap: control socket connections capped" \
		sc_fds_cap ctl
	# The same for the metrics endpoint; GET /metrics works after.
	scenario "fds ctl cap: metrics connections capped" \
		sc_fds_cap metrics
	lane_end
}
