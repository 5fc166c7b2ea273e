# lanes-rules.sh: access rules (rule "NAME" { } in ftpgw.conf) with real
# servers and clients (sourced by run.sh, which runs lane_X for every X
# appended to EXTRA_LANES).
#
#   rules  reverse mode, workers = 2 (the counters are the whole gateway's):
#          9021 -> vsftpd $SRV4:21, 9026 -> vsftpd [$SRV6]:21,
#          9121 -> pyftpdlib $SRV4:2121, 9122 -> $SRV4:2122 (nothing
#          listens there), 9123 -> [2001:db8:2::3]:21 (no such host);
#          cli has two more addresses, $RU_CLI4X and $RU_CLI6X, in the
#          denied client networks.  A second gateway "deny" has
#          default-action = "deny" and one allow rule: 9221 -> $SRV4:21
#          (allowed), 9222 -> $SRV4:2121 (denied by default).
#
# Each scenario checks what the client gets, and the gateway's log line
# with the rule's name; the counters scenario compares the per-rule
# counters of ftpgwctl stats and of the metrics with the denials it made.

EXTRA_LANES+=(rules)

RU_CLI4X=198.51.100.5                 # inside 198.51.100.4/30: denied
RU_CLI6X=2001:db8:1::105              # inside 2001:db8:1::100/120: denied
RU_METRICS=127.0.0.1:9131
RU_DENIED="^421 Service not available: denied by the gateway"

setup_rules() {
	LANE_HAS_GW=1
	# Secondary (v4) and deprecated (v6): never chosen as a source address
	# unless a client binds to it, so the other scenarios come from $CLI4
	# and $CLI6.
	ip -n "$NS_CLI" addr add $RU_CLI4X/24 dev eth0 &&
		ip -n "$NS_CLI" addr add $RU_CLI6X/64 dev eth0 nodad preferred_lft 0 || return 1
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
workers = 2
metrics-listen = "$RU_METRICS"
listen "vs4" { address = "::"  port = 9021  mode = "reverse"  upstream = "$SRV4:21" }
listen "vs6" { address = "::"  port = 9026  mode = "reverse"  upstream = "[$SRV6]:21" }
listen "py" { address = "::"  port = 9121  mode = "reverse"  upstream = "$SRV4:2121" }
listen "odd-port" { address = "::"  port = 9122  mode = "reverse"  upstream = "$SRV4:2122" }
listen "lab" { address = "::"  port = 9123  mode = "reverse"  upstream = "[2001:db8:2::3]:21" }
port-mapping "py" { application = "ftp"  ports = {2121, 2122} }
rule "no-cli-nets" {
	action = "deny"
	clients = {"198.51.100.4/30", "2001:db8:1::100/120"}
}
rule "no-odd-port" {
	action = "deny"
	servers = {"203.0.113.0/24"}
	ports = {2122}
}
rule "no-lab" {
	action = "deny"
	servers = {"2001:db8:2::3/128"}
}
rule "no-anon" {
	action = "deny"
	users = {"anon*", "ftp"}
}
rule "py-read-only" {
	action = "deny"
	users = {"ftpgw*"}
	servers = {"$SRV4"}
	ports = {2121}
	commands = {"STOR", "APPE", "STOU", "MKD", "DELE"}
}
EOF
	gw_start "$LANE_DIR/ftpgw.conf" 9021 9026 9121 9122 9123 || return 1
	extra_gw_start deny 9221 9222 <<EOF
passive-ports = "51000-51999"
shutdown-timeout = 3
workers = 1
control-socket = "$LANE_DIR/ctl-deny.sock"
default-action = "deny"
listen "vs4" { address = "::"  port = 9221  mode = "reverse"  upstream = "$SRV4:21" }
listen "py" { address = "::"  port = 9222  mode = "reverse"  upstream = "$SRV4:2121" }
port-mapping "py" { application = "ftp"  ports = {2121} }
rule "only-vsftpd" {
	action = "allow"
	servers = {"$SRV4"}
	ports = {21}
}
EOF
}

# ru_connect SRC HOST PORT WANT-ERE [EOF]: a TCP connection from SRC (a cli
# address) to HOST:PORT whose first line must match WANT-ERE; with EOF the
# gateway must then close the connection within 5 s.
ru_connect() {
	in_ns "$NS_CLI" "$PY" - "$@" <<'EOF'
import re, socket, sys
src, host, port, want = sys.argv[1:5]
eof = len(sys.argv) > 5
s = socket.create_connection((host, int(port)), 10, source_address=(src, 0))
f = s.makefile("rb")
line = f.readline().decode("latin-1").rstrip("\r\n")
print("%s -> %s:%s: %r" % (src, host, port, line))
if not re.search(want, line):
    sys.exit("FAIL: expected /%s/" % want)
if eof:
    s.settimeout(5)
    try:
        rest = f.read()
    except socket.timeout:
        sys.exit("FAIL: the connection is still open 5 s later")
    if rest:
        sys.exit("FAIL: more after the reply: %r" % rest[:80])
    print("then the gateway closed the connection")
EOF
}

# ru_client_net ALLOWED DENIED HOST PORT: DENIED gets 421 and the close,
# ALLOWED gets the server's 220 on the same listener; logged with the
# rule's name.
ru_client_net() {
	log_mark "$LANE_DIR/ftpgw.log"
	ru_connect "$2" "$3" "$4" "$RU_DENIED" eof || return 1
	ru_connect "$1" "$3" "$4" "^220" || return 1
	gw_log_wants "rule \"no-cli-nets\": deny client \[?$2\]?:[0-9]+ server" "the denied client"
}

# ru_server LISTEN-PORT RULE SERVER-ERE: any client gets 421 there, before
# the gateway connects (no server listens, or exists): the log names the
# rule and no connection attempt.
ru_server() {
	log_mark "$LANE_DIR/ftpgw.log"
	ru_connect "$CLI4" "$GWC4" "$1" "$RU_DENIED" eof || return 1
	ru_connect "$CLI6" "$GWC6" "$1" "$RU_DENIED" eof || return 1
	gw_log_wants "rule \"$2\": deny client .* server $3" "the denied server" || return 1
	log_lacks "$LANE_DIR/ftpgw.log" "cannot connect" "a connection attempt to the server"
}

# ru_user: USER anonymous gets 530 (not sent to vsftpd), then on the same
# session ftpgwtest logs in and RETRs 1 MiB (sha256).
ru_user() {
	log_mark "$LANE_DIR/ftpgw.log" "$LANE_DIR/vsftpd.log"
	cli_py --host "$GWC4" --port 9021 rob-seq \
		--step "USER anonymous => ^530 Login denied by the gateway" \
		--step "USER ftp => ^530 Login denied by the gateway" \
		--step "USER $IT_USER => ^331" --step "PASS $IT_PASS => ^230" --retr || return 1
	gw_log_wants 'rule "no-anon": deny USER anonymous' "the denied USER" || return 1
	log_lacks "$LANE_DIR/vsftpd.log" '"USER (anonymous|ftp)"' "the denied USER reaching vsftpd"
}

# ru_command: as ftpgwtest through pyftpdlib (9121), STOR, APPE and XMKD
# get 502 while RETR 1 MiB works (sha256); through vsftpd (9021) the same
# user uploads (the rule names the server's port).
ru_command() {
	log_mark "$LANE_DIR/ftpgw.log"
	cli_py --host "$GWC4" --port 9121 rob-seq --login \
		--step "STOR uploads/$SC_TAG-x => ^502 Command not allowed by the gateway" \
		--step "APPE uploads/$SC_TAG-x => ^502 " --step "XMKD uploads/$SC_TAG-d => ^502 " \
		--retr || return 1
	gw_log_wants "rule \"py-read-only\": deny command STOR uploads/$SC_TAG-x" "the denied STOR" || return 1
	[ ! -e "$IT_HOME/uploads/$SC_TAG-x" ] || { echo "FAIL: the denied STOR made a file"; return 1; }
	sc_xfer epsv "$GWC6" 9021 1MiB
}

# ru_default_deny: gateway "deny" (default-action deny, one allow rule):
# 9221 carries RETR+STOR 1MiB (sha256), 9222 gets 421, logged as
# default-action.
ru_default_deny() {
	log_mark "$(gw_logf deny)"
	sc_xfer pasv "$GWC4" 9221 1MiB || return 1
	ru_connect "$CLI4" "$GWC4" 9222 "$RU_DENIED" eof || return 1
	ru_connect "$CLI6" "$GWC6" 9222 "$RU_DENIED" eof || return 1
	log_wants "$(gw_logf deny)" "default-action: deny client .* server $SRV4:2121" "the default denial"
}

# ru_counts FILE: "RULE ACTION VALUE" lines from a stats FILE.
ru_counts() {
	sed -n 's/^rule_matches{rule="\([^"]*\)",action="\([a-z]*\)"} \([0-9]*\)$/\1 \2 \3/p' "$1" | sort
}

# ru_count FILE RULE ACTION: one value ("0" when the rule is not listed).
ru_count() { ru_counts "$1" | awk -v r="$2" -v a="$3" '$1 == r && $2 == a { v = $3 } END { print v + 0 }'; }

# ru_metric FILE RULE ACTION: the same from the metrics body.
ru_metric() {
	awk -v want="ftpgw_rule_matches_total{rule=\"$2\",action=\"$3\"}" '$1 == want { v = $2 } END { print v + 0 }' "$1"
}

# ru_expect BEFORE AFTER RULE DELTA: the deny count of RULE grew by DELTA.
ru_expect() {
	local b a
	b=$(ru_count "$1" "$3" deny)
	a=$(ru_count "$2" "$3" deny)
	echo "rule $3: deny $b -> $a (+$4 expected)"
	[ "$a" = $((b + $4)) ] || { echo "FAIL: rule $3 counted +$((a - b)) denials, expected +$4"; return 1; }
}

# ru_counters: 3 denied connections (client networks: 2 v4, 1 v6), 2 of the
# server port, 2 denied USERs, 3 denied commands; the stats of the two
# workers summed and the metrics show exactly those increments; after a
# reload with the same rule names, the counts stay and count on.
ru_counters() {
	local d=$LANE_DIR/counters.$SC_N rule i
	mkdir -p "$d"
	gw_stats main "$d/before" || return 1
	ru_connect "$RU_CLI4X" "$GWC4" 9021 "$RU_DENIED" eof >/dev/null || return 1
	ru_connect "$RU_CLI4X" "$GWC4" 9121 "$RU_DENIED" eof >/dev/null || return 1
	ru_connect "$RU_CLI6X" "$GWC6" 9026 "$RU_DENIED" eof >/dev/null || return 1
	ru_connect "$CLI4" "$GWC4" 9122 "$RU_DENIED" eof >/dev/null || return 1
	ru_connect "$CLI6" "$GWC6" 9122 "$RU_DENIED" eof >/dev/null || return 1
	cli_py --host "$GWC4" --port 9021 rob-seq \
		--step "USER anonymous => ^530 " --step "USER ftp => ^530 " >/dev/null || return 1
	cli_py --host "$GWC4" --port 9121 rob-seq --login \
		--step "STOR x => ^502 " --step "DELE x => ^502 " --step "MKD d => ^502 " >/dev/null || return 1
	gw_stats main "$d/after" || return 1
	echo "stats after:"
	ru_counts "$d/after"
	ru_expect "$d/before" "$d/after" no-cli-nets 3 || return 1
	ru_expect "$d/before" "$d/after" no-odd-port 2 || return 1
	ru_expect "$d/before" "$d/after" no-anon 2 || return 1
	ru_expect "$d/before" "$d/after" py-read-only 3 || return 1
	ru_expect "$d/before" "$d/after" no-lab 0 || return 1
	in_ns "$NS_GW" curl -q -sS --max-time 10 -o "$d/metrics" "http://$RU_METRICS/metrics" ||
		{ echo "FAIL: curl http://$RU_METRICS/metrics"; return 1; }
	grep -c '^# TYPE ftpgw_rule_matches_total counter$' "$d/metrics" | grep -qx 1 ||
		{ echo "FAIL: not one TYPE line for ftpgw_rule_matches_total"; return 1; }
	for rule in no-cli-nets no-odd-port no-lab no-anon py-read-only; do
		[ "$(ru_metric "$d/metrics" $rule deny)" = "$(ru_count "$d/after" $rule deny)" ] ||
			{ echo "FAIL: metrics and stats differ for $rule:"; grep "rule=\"$rule\"" "$d/metrics"; return 1; }
	done
	echo "metrics: the same values"
	# A reload (the same rules): the counts stay, and go on.
	log_mark "$LANE_DIR/ftpgw.log"
	kill -HUP "$(gw_pid main)"
	for i in $(seq 50); do           # both workers
		[ "$(log_new "$LANE_DIR/ftpgw.log" | grep -c 'configuration reloaded')" -ge 2 ] && break
		sleep 0.1
	done
	gw_log_wants "configuration reloaded" "the reload" || return 1
	ru_connect "$CLI4" "$GWC4" 9122 "$RU_DENIED" eof >/dev/null || return 1
	gw_stats main "$d/reloaded" || return 1
	ru_expect "$d/after" "$d/reloaded" no-odd-port 1 || return 1
	ru_expect "$d/after" "$d/reloaded" no-anon 0
}

lane_rules() {
	lane_begin rules setup_rules
	# From $RU_CLI4X (in the denied 198.51.100.4/30) to vsftpd via 9021:
	# 421 "denied by the gateway", closed; from $CLI4 the same listener
	# gives vsftpd's 220; logged with the rule's name
	scenario "rules: denied client network v4 gets 421, others 220" \
		ru_client_net "$CLI4" "$RU_CLI4X" "$GWC4" 9021
	# The same from $RU_CLI6X (in 2001:db8:1::100/120) via 9026 to
	# vsftpd on [$SRV6]:21; $CLI6 gets 220
	scenario "rules: denied client network v6 gets 421, others 220" \
		ru_client_net "$CLI6" "$RU_CLI6X" "$GWC6" 9026
	# Listener 9122 -> $SRV4:2122 (port denied; nothing listens there):
	# 421 "denied", v4 and v6 clients, logged, no connection attempted
	scenario "rules: denied server port gets 421, server never contacted" \
		ru_server 9122 no-odd-port "$SRV4:2122"
	# Listener 9123 -> [2001:db8:2::3]:21 (network denied; no such host):
	# the same
	scenario "rules: denied server network (v6) gets 421" \
		ru_server 9123 no-lab "\[2001:db8:2::3\]:21"
	# USER anonymous and USER ftp: 530 each, never reach vsftpd; then
	# USER/PASS $IT_USER 230 and RETR 1MiB sha256 on the same session
	scenario "rules: denied USER 530, then another user logs in, RETR 1MiB" ru_user
	# As $IT_USER via pyftpdlib: STOR, APPE, XMKD 502 (no file made), RETR
	# 1MiB sha256 works; via vsftpd the same user RETR+STOR 1MiB (v6 EPSV)
	scenario "rules: STOR/APPE/XMKD 502 for ftpgw* on one server, RETR works" ru_command
	# default-action = deny, one allow rule (vsftpd on $SRV4:21): RETR+STOR
	# 1MiB through it; pyftpdlib gets 421 (v4 and v6), logged as
	# default-action
	scenario "rules: default-action deny with one allow rule" ru_default_deny
	# Denials of four rules (connects, USERs, commands) over the two
	# workers: ftpgwctl stats and the metrics grow by exactly those;
	# after SIGHUP (same rules) the counts stay and go on
	scenario "rules: per-rule counters in stats and metrics, kept over reload" ru_counters
	# Only when the lane was set up (a scenario of it was selected).
	if [ "$LANE_STATE" = up ]; then
		gw_stop_result deny "rules: the deny gateway exits 0 on SIGTERM"
	fi
	lane_end
}
