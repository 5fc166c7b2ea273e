# lanes-tls.sh: hostile TLS ends and "required means required" (issue 11,
# points 3, 4 and 11), sourced by run.sh, which runs lane_X for every X
# appended to EXTRA_LANES.  Select them with 'tls hostile|tls required'.
#
#   tls-hostile  reverse mode; in srv the TLS servers of LANE_SERVERS=tls
#                (vsftpd on 21 requiring TLS and TLS session reuse) and
#                fakeftpd.py's TLS modes on 2401-2406 (tls-clean,
#                tls-dirty, tls-half, tls-rst, tls-ctldirty, tls-noprotp:
#                see fakeftpd.py), which log how each data TLS ended.
#                Four gateways in gw:
#     main     client-side optional, server-side required (verify-server
#              false), transfer-log: 9400 -> vsftpd, 9401-9406 -> fakeftpd
#     req      client-side required (require-session-reuse by default):
#              9411 -> vsftpd
#     noreuse  require-session-reuse = false: 9421 -> vsftpd
#     nocert   a tls section with only server-side = "required" (no
#              certificate): 9431 -> vsftpd
#   An extra gateway that does not start (a configuration the gateway
#   refuses) fails the scenarios that use it, naming it; the others run.
#
# A clean data end is a close_notify (python reads b'' with
# suppress_ragged_eofs off); a dirty one is an EOF or a reset without it
# (SSLEOFError, ConnectionResetError).  The first scenario proves both
# detectors against fakeftpd directly, without the gateway.
#
# Assumptions about the gateway (the loosest checks that prove the point):
# - after a dirty data end the client's final reply is 426 (exactly), its
#   data TLS ends without close_notify (FIN or RST both count), the
#   transfer log's completion field is i, and the gateway logs a line
#   matching "data channel closed: .*close_notify";
# - a refused transfer command gets 521; the PASV/EPSV before it may get
#   227/229 or 521 already;
# - require-session-reuse: a 4xx final reply (or a 4xx to RETR itself) and
#   no data byte; "did not resume" in the log is checked for the client
#   that resumes nothing, not for the one resuming another FTP session's
#   TLS session (the gateway may refuse that resumption at the TLS level,
#   or take it and then refuse the data channel);
# - after the server's control TLS ends without close_notify, the client's
#   control TLS ends without one too, within 10 s; replies before that (a
#   421) are shown, not judged.  Conversely a server's clean end (221,
#   close_notify) must reach the client as a close_notify: without that
#   check the dirty one would pass on a gateway that never sends one.

EXTRA_LANES+=(tls-hostile)

TLSL_FAKE_MODES=(tls-clean tls-dirty tls-half tls-rst tls-ctldirty tls-noprotp)   # fakeftpd 2401, 2402, ...
TLSL_GWS=()

# tlsl_fport MODE / tlsl_gport MODE: fakeftpd's port of MODE, the main
# gateway's listener for it.
tlsl_fport() {
	local i
	for i in "${!TLSL_FAKE_MODES[@]}"; do
		[ "${TLSL_FAKE_MODES[$i]}" = "$1" ] && { echo $((2401 + i)); return; }
	done
	return 1
}
tlsl_gport() { echo $(($(tlsl_fport "$1") + 7000)); }

# tlsl_gw_try NAME PORT...: extra_gw_start from stdin; a gateway that does
# not start is remembered ($LANE_DIR/gw-NAME.failed), not a setup failure.
tlsl_gw_try() {
	local name=$1
	if extra_gw_start "$@"; then
		TLSL_GWS+=("$name")
	else
		echo "ftpgw $name did not start" >"$LANE_DIR/gw-$name.failed"
		tail -n 5 "$LANE_DIR/gw-$name.log" >>"$LANE_DIR/gw-$name.failed" 2>/dev/null
		kill -TERM "$(cat "$LANE_DIR/gw-$name.pid")" 2>/dev/null
	fi
	return 0
}

# tlsl_on GW FN ARGS: gateway GW must have started and be alive; FN ARGS;
# on failure GW's log lines of the scenario.
tlsl_on() {
	local gw=$1 f
	shift
	f=$(gw_logf "$gw")
	if [ -f "$LANE_DIR/gw-$gw.failed" ]; then
		echo "FAIL: ftpgw ($gw) did not start with this configuration:"
		grep -v '^control-socket' "$LANE_DIR/gw-$gw.conf" | grep -A8 '^tls'
		echo "its log:"
		cat "$LANE_DIR/gw-$gw.failed"
		return 1
	fi
	alive "$(gw_pid "$gw")" || { echo "FAIL: ftpgw ($gw) died"; return 1; }
	log_mark "$f"
	"$@" && return 0
	echo "ftpgw ($gw) log during the scenario (last 10 lines):"
	log_new "$f" | tail -n 10
	return 1
}

# tlsl_py PORT ARGS: ftpclient.py, explicit TLS, to the gateway's PORT.
tlsl_py() {
	local port=$1
	shift
	cli_py --host "$GWC4" --port "$port" --tls explicit --cafile "$CA" "$@"
}

# tlsl_fake_wants ERE WHAT: fakeftpd logged a line matching ERE since log_mark.
tlsl_fake_wants() { log_wants "$LANE_DIR/fakeftpd.log" "$1" "$2"; }

# tlsl_xferlog PATH-ERE DIR STATUS: exactly one transfer-log line since
# log_mark (waiting up to 3 s for it), for PATH-ERE in direction DIR (o|i),
# with completion status STATUS (c complete, i incomplete).
tlsl_xferlog() {
	local xl=$LANE_DIR/xfer.log i new n l
	for i in $(seq 30); do
		new=$(log_new "$xl")
		[ -n "$new" ] && break
		sleep 0.1
	done
	n=$(printf '%s' "$new" | grep -c .)
	[ "$n" = 1 ] || { echo "FAIL: $n new transfer-log lines, expected 1:"; printf '%s\n' "$new"; return 1; }
	l=$new
	echo "xferlog: $l"
	echo "$l" | awk -v path="$1" -v dir="$2" -v st="$3" '
		$9 !~ path { print "FAIL: xferlog path " $9 ", expected /" path "/"; exit 1 }
		$12 != dir { print "FAIL: xferlog direction " $12 ", expected " dir; exit 1 }
		$NF != st { print "FAIL: xferlog completion status " $NF ", expected " st \
			(st == "i" ? " (incomplete: the data TLS ended without close_notify)" : " (complete)"); exit 1 }'
}

# ---------------------------------------------------------------- setup

setup_tls_hostile() {
	local i listens="" fports="" spec=() pid
	LANE_HAS_GW=1
	for i in "${!TLSL_FAKE_MODES[@]}"; do
		spec+=(--listen "$((2401 + i)):${TLSL_FAKE_MODES[$i]}")
		listens+="listen \"${TLSL_FAKE_MODES[$i]}\" { address = \"::\"  port = $((9401 + i))  mode = \"reverse\"  upstream = \"$SRV4:$((2401 + i))\" }"$'\n'
		fports+="${fports:+, }$((2401 + i))"
	done
	ip netns exec "$NS_SRV" "$PY" "$IT_SRC/fakeftpd.py" --home "$IT_HOME" \
		--cert "$IT_TLS/vsftpd.pem" --key "$IT_TLS/vsftpd.key" \
		--log "$LANE_DIR/fakeftpd.log" "${spec[@]}" >"$LANE_DIR/fakeftpd.out" 2>&1 &
	pid=$!
	register_pid "$pid"
	echo "$pid" >"$LANE_DIR/fakeftpd.pid"
	wait_listen "$NS_SRV" $((2401 + ${#TLSL_FAKE_MODES[@]} - 1)) 10 ||
		{ echo "fakeftpd does not listen:"; cat "$LANE_DIR/fakeftpd.out"; return 1; }
	write_conf <<EOF
passive-ports = "50000-50499"
shutdown-timeout = 3
transfer-log = "$LANE_DIR/xfer.log"
listen "vs" { address = "::"  port = 9400  mode = "reverse"  upstream = "$SRV4:21" }
$listens
port-mapping "fake" { application = "ftp"  ports = {$fports} }
$(tls_block optional required 'verify-server = false')
EOF
	gw_start "$LANE_DIR/ftpgw.conf" 9400 9401 $((9401 + ${#TLSL_FAKE_MODES[@]} - 1)) || return 1
	tlsl_gw_try req 9411 <<EOF
passive-ports = "50500-50699"
shutdown-timeout = 3
control-socket = "$LANE_DIR/ctl-req.sock"
listen "vs" { address = "::"  port = 9411  mode = "reverse"  upstream = "$SRV4:21" }
$(tls_block required auto)
EOF
	tlsl_gw_try noreuse 9421 <<EOF
passive-ports = "50700-50849"
shutdown-timeout = 3
control-socket = "$LANE_DIR/ctl-noreuse.sock"
listen "vs" { address = "::"  port = 9421  mode = "reverse"  upstream = "$SRV4:21" }
$(tls_block optional auto 'require-session-reuse = false')
EOF
	tlsl_gw_try nocert 9431 <<EOF
passive-ports = "50850-50999"
shutdown-timeout = 3
control-socket = "$LANE_DIR/ctl-nocert.sock"
listen "vs" { address = "::"  port = 9431  mode = "reverse"  upstream = "$SRV4:21" }
tls {
	server-side = "required"
}
EOF
}

# ---------------------------------------------------------------- scenarios

# sc_tlsl_direct: the harness, straight from gw to fakeftpd (no gateway):
# a clean RETR ends with close_notify, a dirty one without (both 226 from
# fakeftpd); fakeftpd tells a clean STOR end from a dirty one; its
# tls-ctldirty control end is seen as dirty.  Without this the hostile
# scenarios could pass on detectors that see nothing.
sc_tlsl_direct() {
	local d=(--host "$SRV4" --tls explicit --cafile "$CA")
	gw_py "${d[@]}" --port "$(tlsl_fport tls-clean)" tlsend --want-reply 226 --want-end clean || return 1
	gw_py "${d[@]}" --port "$(tlsl_fport tls-dirty)" tlsend --want-reply 226 --want-end dirty || return 1
	gw_py "${d[@]}" --port "$(tlsl_fport tls-rst)" tlsend --want-reply 226 --want-end dirty || return 1
	log_mark "$LANE_DIR/fakeftpd.log"
	gw_py "${d[@]}" --port "$(tlsl_fport tls-clean)" tlsend --direction stor --end dirty --want-reply 226 || return 1
	tlsl_fake_wants "STOR uploads/$SC_TAG-direct-file-1MiB: [0-9]+ bytes received, data TLS end: no close_notify" \
		"the dirty STOR end" || return 1
	log_mark "$LANE_DIR/fakeftpd.log"
	gw_py "${d[@]}" --port "$(tlsl_fport tls-clean)" tlsend --direction stor --end clean --want-reply 226 || return 1
	tlsl_fake_wants "STOR uploads/$SC_TAG-direct-file-1MiB: [0-9]+ bytes received, data TLS end: close_notify\$" \
		"the clean STOR end" || return 1
	gw_py "${d[@]}" --port "$(tlsl_fport tls-ctldirty)" tlsctlend --want-end dirty
}

# sc_tlsl_retr MODE WANT-REPLY WANT-END XFERLOG-STATUS [TLSEND-ARGS...]: PROT P RETR 1MiB
# through the main gateway from fakeftpd MODE.
sc_tlsl_retr() {
	local mode=$1 reply=$2 end=$3 st=$4
	shift 4
	log_mark "$LANE_DIR/ftpgw.log" "$LANE_DIR/xfer.log" "$LANE_DIR/fakeftpd.log"
	tlsl_py "$(tlsl_gport "$mode")" tlsend --want-reply "$reply" --want-end "$end" "$@" || return 1
	tlsl_fake_wants "RETR file-1MiB: [0-9]+ bytes sent, the data TLS ended $([ "$mode" = tls-clean ] && echo with || echo without) close_notify" \
		"fakeftpd's end of the data" || return 1
	tlsl_xferlog '(^|/)file-1MiB$' o "$st" || return 1
	if [ "$end" = dirty ]; then
		gw_log_wants 'data channel closed: .*close_notify' "the data channel's end without close_notify" || return 1
	fi
	gw_alive
}

# sc_tlsl_stor END WANT-REPLY SERVER-SAW XFERLOG-STATUS: PROT P STOR 1MiB
# through the main gateway to tls-clean, the client ending its data TLS
# per END; fakeftpd must have seen SERVER-SAW (close_notify | no
# close_notify) at its end of the data connection.
sc_tlsl_stor() {
	local end=$1 reply=$2 saw=$3 st=$4 ere
	log_mark "$LANE_DIR/ftpgw.log" "$LANE_DIR/xfer.log" "$LANE_DIR/fakeftpd.log"
	tlsl_py "$(tlsl_gport tls-clean)" tlsend --direction stor --end "$end" --want-reply "$reply" || return 1
	ere="STOR uploads/$SC_TAG-file-1MiB: [0-9]+ bytes received, data TLS end: "
	if [ "$saw" = close_notify ]; then ere+='close_notify$'; else ere+='no close_notify'; fi
	if ! tlsl_fake_wants "$ere" "the server's end of the data ($saw)"; then
		log_new "$LANE_DIR/fakeftpd.log" | grep -E 'STOR .* data TLS end' | sed 's/^/fakeftpd: /'
		return 1
	fi
	tlsl_xferlog "(^|/)uploads/$SC_TAG-file-1MiB\$" i "$st" || return 1
	if [ "$saw" != close_notify ]; then
		gw_log_wants 'data channel closed: .*close_notify' "the data channel's end without close_notify" || return 1
	fi
	gw_alive
}

# sc_tlsl_ctl: the server's control TLS ends without close_notify (after
# HELP): the client's control TLS must end without one too; then the
# gateway serves a normal TLS session (RETR 1MiB sha256 from vsftpd).
sc_tlsl_ctl() {
	log_mark "$LANE_DIR/fakeftpd.log"
	tlsl_py "$(tlsl_gport tls-ctldirty)" tlsctlend --want-end dirty || return 1
	tlsl_fake_wants 'tls-ctldirty: ending the control TLS without close_notify' "the server's dirty end" || return 1
	gw_alive || return 1
	echo "== a normal TLS session through the gateway"
	tls_checked tlsl_py 9400 many --count 1
}

# sc_tlsl_noprotp: a plaintext client; the gateway (server-side =
# required) secures the server leg, the server answers PROT P with 536:
# RETR, STOR, LIST, NLST get 521 and none reaches the server; PWD 257.
sc_tlsl_noprotp() {
	local f=$LANE_DIR/fakeftpd.log
	log_mark "$f"
	cli_py --host "$GWC4" --port "$(tlsl_gport tls-noprotp)" tlsrefused --want 521 || return 1
	log_wants "$f" ' C> PROT P$' "the gateway's PROT P" || return 1
	log_wants "$f" ' S> 536 ' "the server's refusal" || return 1
	log_lacks "$f" ' C> (RETR|STOR|LIST|NLST)( |$)' "a transfer command reaching the server"
}

# sc_tlsl_protreq: client-side = required (gateway req): PROT C 534,
# transfers in clear 521, then PROT P RETR 1MiB sha256; vsftpd got exactly
# that one RETR and no STOR, LIST, NLST.
sc_tlsl_protreq() {
	local new n
	log_mark "$LANE_DIR/vsftpd.log"
	tlsl_py 9411 tlsprotreq || return 1
	new=$(log_new "$LANE_DIR/vsftpd.log" | grep 'FTP command:')
	n=$(grep -cE '"RETR [^"]*"$' <<<"$new")
	[ "$n" = 1 ] || { echo "FAIL: vsftpd got $n RETR, expected 1 (the one after PROT P)"; return 1; }
	if grep -E '"(STOR|LIST|NLST)( [^"]*)?"$' <<<"$new"; then
		echo "FAIL: vsftpd got a transfer command the gateway had to refuse (above)"
		return 1
	fi
	echo "vsftpd got 1 RETR, no STOR/LIST/NLST"
}

lane_tls_hostile() {
	local name
	lane_begin tls-hostile setup_tls_hostile
	LANE_SERVERS=tls
	# tls hostile harness (no gateway, from gw to fakeftpd): a RETR whose
	# data TLS ends with close_notify is seen clean, without (FIN, RST)
	# dirty; fakeftpd logs a STOR's clean and dirty end apart; its
	# control TLS end without close_notify is seen dirty
	scenario "tls hostile: harness (no gateway) tells clean and dirty TLS ends apart" \
		sc_tlsl_direct
	# tls hostile RETR: the server's data TLS ends with close_notify ->
	# 226, sha256, the client's data TLS ends with close_notify, xferlog c
	scenario "tls hostile: RETR, server ends data TLS cleanly -> 226, xferlog c" \
		sc_tlsl_retr tls-clean 226 clean c
	# tls hostile RETR: the server sends the whole file, then a TCP FIN
	# without close_notify (226 on its control) -> 426 to the client, its
	# data TLS ends without close_notify, xferlog i, the gateway logs it
	scenario "tls hostile: RETR, whole file then FIN without close_notify -> 426" \
		sc_tlsl_retr tls-dirty 426 dirty i
	# tls hostile RETR: half the file, then a FIN without close_notify:
	# as above
	scenario "tls hostile: RETR, half the file then FIN without close_notify -> 426" \
		sc_tlsl_retr tls-half 426 dirty i
	# tls hostile RETR: half the file, then a TCP RST: as above
	scenario "tls hostile: RETR, half the file then RST -> 426" \
		sc_tlsl_retr tls-rst 426 dirty i
	# tls hostile RETR, the server's dirty end before the client's data
	# handshake (the client waits 1 s after the 150): the gateway delivers
	# the end after the handshake, so the client still sees a transfer cut
	# without close_notify, not a reset handshake; then the same with RST
	scenario "tls hostile: RETR, FIN without close_notify before the client's handshake -> 426" \
		sc_tlsl_retr tls-half 426 dirty i --handshake-delay 1
	scenario "tls hostile: RETR, RST before the client's handshake -> 426" \
		sc_tlsl_retr tls-rst 426 dirty i --handshake-delay 1
	# tls hostile STOR: the client ends its data TLS with close_notify ->
	# 226, sha256 on the server, the server saw close_notify, xferlog c
	scenario "tls hostile: STOR, client ends data TLS cleanly -> 226, xferlog c" \
		sc_tlsl_stor clean 226 close_notify c
	# tls hostile STOR: the client ends its data TLS with a FIN without
	# close_notify (the server answers 226 anyway) -> 426 to the client,
	# the server's data leg ended without close_notify, xferlog i
	scenario "tls hostile: STOR, client FIN without close_notify -> 426" \
		sc_tlsl_stor dirty 426 no-close_notify i
	# tls hostile STOR: the client resets its data connection: as above
	scenario "tls hostile: STOR, client RST -> 426" \
		sc_tlsl_stor rst 426 no-close_notify i
	# tls hostile control: the server's control TLS ends without
	# close_notify -> the client's ends without one too; then a normal
	# TLS session (RETR 1MiB sha256) through the same gateway
	scenario "tls hostile: control TLS end without close_notify is passed on" \
		sc_tlsl_ctl
	# tls hostile control (the check above can fail): QUIT, the server
	# (tls-clean) ends its control TLS with close_notify -> the client's
	# control TLS ends with close_notify
	scenario "tls hostile: control TLS end with close_notify (QUIT) is passed on" \
		tlsl_py "$(tlsl_gport tls-clean)" tlsctlend --cmd QUIT --want-end clean
	# tls required server-side=required, the server answers PROT P with
	# 536: plaintext client, RETR/STOR/LIST/NLST -> 521 and none reaches
	# the server, no data; PWD 257 before and after
	scenario "tls required: server refuses PROT P -> transfers 521, PWD works" \
		sc_tlsl_noprotp
	# tls required client-side=required: PBSZ 0 200; RETR, LIST before
	# PROT -> 521; PROT C -> 534; STOR, NLST -> 521; PROT P, RETR 1MiB
	# sha256; vsftpd got only that RETR
	scenario "tls required: client-side=required: PROT C 534, clear transfers 521" \
		tlsl_on req sc_tlsl_protreq
	# tls required server-side TLS without a gateway certificate (tls {
	# server-side = "required" } only): plaintext client -> TLS-only
	# vsftpd, RETR+STOR 1MiB,64MiB + LIST sha256, vsftpd got PBSZ 0/PROT P
	# and no 522
	scenario "tls required: server-side TLS without a gateway certificate" \
		tlsl_on nocert sc_plain_to_tls pasv "$GWC4" 9431
	# tls required require-session-reuse (default): data connections that
	# resume the control's TLS session: RETR+STOR 1MiB + LIST sha256,
	# every data TLS resumed, vsftpd: no 522
	scenario "tls required: session reuse: a resuming client works" \
		tlsl_on req tls_checked tlsl_py 9411 --expect-resumed xfer --sizes 1MiB --list
	# tls required require-session-reuse: a PROT P RETR whose data TLS
	# resumes nothing -> 4xx, no data, the gateway logs 'did not
	# resume'; then a resuming session RETRs 1MiB sha256
	scenario "tls required: session reuse: no resumption -> 4xx" \
		tlsl_on req sc_tlsl_reuse noresume
	# tls required require-session-reuse: session B's data connection
	# resumes session A's control TLS session -> 4xx, no data; then a
	# resuming session RETRs 1MiB sha256
	scenario "tls required: session reuse: another session's TLS session -> 4xx" \
		tlsl_on req sc_tlsl_reuse foreign
	# tls required require-session-reuse = false: data connections that
	# resume nothing: RETR+STOR 1MiB + LIST sha256, vsftpd: no 522
	scenario "tls required: require-session-reuse = false: no resumption works" \
		tlsl_on noreuse tls_checked tlsl_py 9421 --no-resume xfer --sizes 1MiB --list
	if [ "$LANE_STATE" = up ]; then
		for name in "${TLSL_GWS[@]}"; do
			gw_stop_result "$name" "$LANE: extra ftpgw \"$name\" exits 0 on SIGTERM"
		done
	fi
	lane_end
}

# sc_tlsl_reuse noresume|foreign: through gateway req; the first must be
# logged as "did not resume".
sc_tlsl_reuse() {
	local f
	f=$(gw_logf req)
	log_mark "$f"
	tlsl_py 9411 tlsreuse --case "$1" || return 1
	if [ "$1" = noresume ]; then
		log_wants "$f" 'did not resume' "the refused data channel" || return 1
	fi
	alive "$(gw_pid req)" || { echo "FAIL: ftpgw (req) died"; return 1; }
}
