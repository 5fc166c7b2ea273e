# lanes-proxy.sh: explicit proxy mode (listen mode "proxy", issue 12
# point 2), sourced by run.sh, which runs lane_X for every X appended to
# EXTRA_LANES.
#
#   proxy      plain servers (vsftpd on 21, pyftpdlib on 2121); the
#              gateway's proxy listener on 2100 (dual stack)
#   proxy-tls  the TLS-requiring vsftpd on 21; proxy listeners with TLS
#              toward clients (optional) and server-side auto: 2100
#              (explicit: AUTH TLS) and 2990 (a port-mapping makes it
#              ftps: implicit TLS, lftp's "ftp:proxy ftps://").  ftplib
#              does not resume TLS sessions on data connections:
#              require-session-reuse = false (the gateway still resumes
#              its own toward vsftpd, which requires it)
#
# The client reaches the servers only through the proxy: after the lane's
# routing check, gw stops forwarding (IPv4 and IPv6), so a client that
# ignored its proxy setting could not pass a scenario.  Names resolve two
# ways in gw: a DNS responder of the lane (dnsserver.py on 127.0.0.1:53 in
# gw, the gateway's resolv-conf names it; its log shows every question)
# and a hosts file the gateway sees as /etc/hosts (bind-mounted in the
# mount namespace "ip netns exec" gives it; the host's file is untouched).
#
# Every scenario name starts with "proxy".

EXTRA_LANES+=(proxy proxy-tls)

PROXY_PORT=2100
PROXY_FTPS_PORT=2990
PROXY_DNS_NAME=pyftpd.proxy.test        # DNS: $SRV4 (pyftpdlib on 2121)
PROXY_HOSTS_NAME=vsftpd.hosts.test      # /etc/hosts: $SRV6 (vsftpd on 21)
PROXY_BAD_NAME=nosuch.proxy.test        # NXDOMAIN

# proxy_gw_up plain|tls: the resolver pieces, the configuration, and
# the gateway, started through a wrapper that mounts the lane's hosts file
# over /etc/hosts first; then gw stops forwarding.
proxy_gw_up() {
	local real=$FTPGW
	LANE_HAS_GW=1
	ip netns exec "$NS_GW" "$PY" "$IT_SRC/dnsserver.py" --listen 127.0.0.1 --port 53 \
		--record "$PROXY_DNS_NAME=$SRV4" --log "$LANE_DIR/dns.log" >"$LANE_DIR/dns.out" 2>&1 &
	register_pid $!
	wait_file "$LANE_DIR/dns.log" 5 || { echo "dnsserver.py did not start:"; cat "$LANE_DIR/dns.out"; return 1; }
	printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:1\n' >"$LANE_DIR/resolv.conf"
	printf '127.0.0.1 localhost\n%s %s\n' "$SRV6" "$PROXY_HOSTS_NAME" >"$LANE_DIR/hosts"
	cat >"$LANE_DIR/ftpgw-wrap.sh" <<EOF
#!/bin/sh
mount --bind "$LANE_DIR/hosts" /etc/hosts || exit 1
exec "$real" "\$@"
EOF
	chmod 755 "$LANE_DIR/ftpgw-wrap.sh"
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
resolv-conf = "$LANE_DIR/resolv.conf"
listen "proxy" { address = "::"  port = $PROXY_PORT  mode = "proxy" }
rule "no-2199" { action = "deny"  servers = {"$SRV4/32"}  ports = {2199} }
rule "no-mallory" { action = "deny"  users = {"mallory"} }
EOF
	if [ "$1" = tls ]; then
		cat >>"$LANE_DIR/ftpgw.conf" <<EOF
listen "proxy-ftps" { address = "::"  port = $PROXY_FTPS_PORT  mode = "proxy" }
port-mapping "proxy-ftps" { application = "ftps"  ports = {$PROXY_FTPS_PORT} }
$(tls_block optional auto "require-session-reuse = false")
EOF
		cat "$LANE_DIR/ftpgw.conf"
		FTPGW=$LANE_DIR/ftpgw-wrap.sh gw_start "$LANE_DIR/ftpgw.conf" $PROXY_PORT $PROXY_FTPS_PORT || return 1
	else
		FTPGW=$LANE_DIR/ftpgw-wrap.sh gw_start "$LANE_DIR/ftpgw.conf" $PROXY_PORT || return 1
	fi
	ip netns exec "$NS_GW" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0 >/dev/null
}

setup_proxy() { proxy_gw_up plain; }
setup_proxy_tls() { proxy_gw_up tls; }

# px_xfer MODE HOST USER@TARGET SIZES [OPTIONS]: ftplib RETR+STOR+LIST
# through the proxy listener on HOST, logging in as USER@TARGET.
px_xfer() {
	local mode=$1 host=$2 login=$3 sizes=$4
	shift 4
	log_mark "$LANE_DIR/ftpgw.log"
	sc_xfer "$mode" "$host" $PROXY_PORT "$sizes" --user "$login" "$@" || return 1
	gw_log_wants "proxy login: user \"$IT_USER\" for " "the proxy login"
}

# px_dns MODE HOST USER@NAME[:PORT] NAME ADDRESS: px_xfer, and the lane's
# DNS responder must have been asked for NAME and answered ADDRESS.
px_dns() {
	log_mark "$LANE_DIR/dns.log"
	px_xfer "$1" "$2" "$3" 1MiB || return 1
	log_wants "$LANE_DIR/dns.log" "A $4 -> $5" "the DNS answer for $4"
}

# px_hosts MODE HOST USER@NAME NAME: px_xfer; NAME came from the hosts file,
# not from DNS.
px_hosts() {
	log_mark "$LANE_DIR/dns.log"
	px_xfer "$1" "$2" "$3" 1MiB --expect-pasv-host "$2" || return 1
	if log_new "$LANE_DIR/dns.log" | grep -F "$4"; then
		echo "FAIL: $4 was asked of DNS, not found in /etc/hosts"
		return 1
	fi
	echo "$4 resolved from /etc/hosts"
}

# px_lftp on|off: lftp with ftp:proxy set to the gateway: get 64MiB, put
# 64MiB, ls, on the server $SRV4.
px_lftp() {
	local pasv=$1 dl=$LANE_DIR/lftp.$SC_N ls=$LANE_DIR/lftp-ls.$SC_N dbg=$LANE_DIR/lftp-dbg.$SC_N
	mkdir -p "$LANE_DIR/lftphome"
	log_mark "$LANE_DIR/ftpgw.log"
	in_ns "$NS_CLI" env HOME="$LANE_DIR/lftphome" LFTP_HOME="$LANE_DIR/lftphome" lftp -c "
		set cmd:fail-exit yes; set cmd:interactive no
		set net:max-retries 1; set net:timeout 10; set net:reconnect-interval-base 1
		set ftp:ssl-allow no; set ftp:passive-mode $pasv; set ftp:prefer-epsv no
		set ftp:proxy ftp://$GWC4:$PROXY_PORT
		set xfer:clobber on
		debug -o $dbg -t 9
		open -u $IT_USER,$IT_PASS ftp://$SRV4
		get file-64MiB -o $dl
		put $IT_HOME/file-64MiB -o uploads/$SC_TAG-file-64MiB
		ls > $ls
		quit" || { grep -E -- '(--->|<---) ' "$dbg" | tail -n 8; return 1; }
	grep -E -- '---> (USER|PASV|EPSV|PORT|EPRT)|<--- 220' "$dbg" | sort | uniq -c | sed 's/^ *//'
	check_sha "$dl" file-64MiB "lftp get" || return 1
	rm -f "$dl"
	check_upload "uploads/$SC_TAG-file-64MiB" file-64MiB || return 1
	grep -q file-64MiB "$ls" || { echo "FAIL: lftp ls does not list file-64MiB:"; cat "$ls"; return 1; }
	gw_log_wants "proxy login: user \"$IT_USER\" for $SRV4:21" "lftp's proxy login"
}

# px_unresolvable: USER for a name DNS does not know gets 421 and the
# session ends; the question reached the lane's DNS responder; the gateway
# logs why and serves the next session.
px_unresolvable() {
	log_mark "$LANE_DIR/ftpgw.log" "$LANE_DIR/dns.log"
	cli_py --host "$GWC4" --port $PROXY_PORT rob-seq --closed \
		--step "USER $IT_USER@$PROXY_BAD_NAME => ^421 Cannot resolve $PROXY_BAD_NAME" || return 1
	log_wants "$LANE_DIR/dns.log" "$PROXY_BAD_NAME -> NXDOMAIN" "the DNS question" || return 1
	gw_log_wants "proxy: cannot resolve $PROXY_BAD_NAME" "the failed lookup" || return 1
	gw_alive || return 1
	px_xfer pasv "$GWC4" "$IT_USER@$SRV4" 1MiB
}

# px_rules: the access rules in proxy mode: a user rule sees the user
# part of USER user@host (530, the session goes on), a server rule the
# resolved server and port (530 before any connection to it).
px_rules() {
	log_mark "$LANE_DIR/ftpgw.log"
	cli_py --host "$GWC4" --port $PROXY_PORT rob-seq \
		--step "USER mallory@$SRV4 => ^530 " \
		--step "NOOP => ^200 " || return 1
	gw_log_wants 'rule "no-mallory": deny USER' "the user rule" || return 1
	cli_py --host "$GWC4" --port $PROXY_PORT rob-seq --closed \
		--step "USER $IT_USER@$SRV4:2199 => ^530 " || return 1
	gw_log_wants "rule \"no-2199\": deny client .* server $SRV4:2199" "the server rule" || return 1
	gw_alive
}

# px_refusals: before USER the gateway answers alone; malformed logins get
# 501/530; a login naming the proxy's own listener (a loop) gets 530.
px_refusals() {
	cli_py --host "$GWC4" --port $PROXY_PORT rob-seq \
		--step "SYST => ^530 " \
		--step "USER $IT_USER => ^530 " \
		--step "USER $IT_USER@ => ^501 " \
		--step "USER $IT_USER@[2001:db8::1 => ^501 " \
		--step "USER $IT_USER@$SRV4:70000 => ^501 " \
		--step "NOOP => ^200 " || return 1
	log_mark "$LANE_DIR/ftpgw.log"
	cli_py --host "$GWC4" --port $PROXY_PORT rob-seq --closed \
		--step "USER $IT_USER@$GWC4:$PROXY_PORT => ^530 " || return 1
	gw_log_wants "refused: a listener of the gateway itself" "the loop refused"
}

# px_check_conf: ftpgw -t accepts mode proxy (and resolv-conf), and refuses
# upstream on a proxy listener and a relative resolv-conf, with FILE:LINE.
px_check_conf() {
	local ok=$LANE_DIR/t-ok.conf bad=$LANE_DIR/t-bad.conf out
	cat >"$ok" <<EOF
resolv-conf = "/etc/resolv.conf"
listen "p" { address = "::"  port = 2100  mode = "proxy" }
EOF
	"$FTPGW" -t -c "$ok" || { echo "FAIL: ftpgw -t refused mode proxy"; return 1; }
	cat >"$bad" <<EOF
resolv-conf = "resolv.conf"
listen "p" {
	port = 2100
	mode = "proxy"
	upstream = "$SRV4:21"
}
EOF
	out=$("$FTPGW" -t -c "$bad" 2>&1) && { echo "FAIL: ftpgw -t accepted:"; cat "$bad"; return 1; }
	echo "$out"
	grep -qF "$bad:1: resolv-conf \"resolv.conf\": an absolute path" <<<"$out" ||
		{ echo "FAIL: no FILE:LINE error for the relative resolv-conf"; return 1; }
	grep -qF "$bad:5: listen \"p\": upstream is only for mode reverse (this is mode proxy)" <<<"$out" ||
		{ echo "FAIL: no FILE:LINE error for upstream on a proxy listener"; return 1; }
}

lane_proxy() {
	local x="RETR+STOR 1MiB,64MiB sha256 + LIST (ftplib)"
	lane_begin proxy setup_proxy
	# ftpgw -t: mode proxy accepted; upstream on it and a relative
	# resolv-conf refused, each as FILE:LINE
	scenario "proxy: ftpgw -t accepts mode proxy, refuses upstream on it" px_check_conf
	# v4 client, USER user@$SRV4 (vsftpd): $x, 227 carries the proxy's address
	scenario "proxy: ftplib user@v4-literal PASV" \
		px_xfer pasv $GWC4 "$IT_USER@$SRV4" 1MiB,64MiB --expect-pasv-host $GWC4
	# the same in active mode (PORT to the client's own address)
	scenario "proxy: ftplib user@v4-literal PORT" px_xfer port $GWC4 "$IT_USER@$SRV4" 1MiB,64MiB
	# v6 client, USER user@[$SRV6]:21: $x
	scenario "proxy: ftplib user@[v6-literal]:21 EPSV" \
		px_xfer epsv $GWC6 "$IT_USER@[$SRV6]:21" 1MiB,64MiB
	# v4 client, USER user@$PROXY_DNS_NAME:2121 (pyftpdlib): the name
	# answered by the lane's DNS responder (resolv-conf); RETR+STOR 1MiB
	scenario "proxy: ftplib user@name:2121 resolved by DNS" \
		px_dns pasv $GWC4 "$IT_USER@$PROXY_DNS_NAME:2121" $PROXY_DNS_NAME $SRV4
	# v4 client, USER user@$PROXY_HOSTS_NAME: /etc/hosts says $SRV6 (v4
	# client to a v6 server); no DNS question; RETR+STOR 1MiB
	scenario "proxy: ftplib user@name resolved by /etc/hosts" \
		px_hosts pasv $GWC4 "$IT_USER@$PROXY_HOSTS_NAME" $PROXY_HOSTS_NAME
	# lftp "set ftp:proxy ftp://$GWC4:$PROXY_PORT", passive: get/put
	# 64MiB sha256 + ls
	scenario "proxy: lftp ftp:proxy passive get/put" px_lftp on
	# the same, active
	scenario "proxy: lftp ftp:proxy active get/put" px_lftp off
	# USER user@$PROXY_BAD_NAME (NXDOMAIN): 421 and the session ends,
	# logged; the gateway lives on and serves the next login
	scenario "proxy: unresolvable name -> 421, gateway lives on" px_unresolvable
	# before USER: 530 (SYST), 530 (no @host), 501 (empty host, bad
	# IPv6 literal, port 70000), 200 (NOOP); USER user@gateway:port (a
	# loop) -> 530, logged
	scenario "proxy: refusals before the login and the loop" px_refusals
	# proxy: access rules: a users rule sees the user part of USER
	# user@host (530, the session goes on); a servers/ports rule the
	# resolved server (530, no connection)
	scenario "proxy: access rules on the user and the resolved server" px_rules
	lane_end
}

lane_proxy_tls() {
	local x="RETR+STOR 1MiB,64MiB + LIST, sha256, PROT P, both legs TLS, vsftpd: no 522"
	lane_begin proxy-tls setup_proxy_tls
	LANE_SERVERS=tls
	# (lftp cannot be the client here: it sends no AUTH TLS to an ftp://
	# proxy whose login is USER user@host (ftpclass.cc: AUTH only without
	# a proxy, or after OPEN / proxy-user@host logins), and its ftp:proxy
	# takes no ftps://.)
	# ftplib FTP_TLS to listener $PROXY_PORT: AUTH TLS with the gateway
	# before USER user@$SRV4 (the server still unknown), then server-side
	# auto secures the vsftpd leg (TLS and session reuse required); $x
	scenario "proxy: ftplib AUTH TLS before USER user@host to TLS vsftpd" \
		px_tls_py pasv "$PROXY_PORT" explicit
	# the same with implicit TLS to listener $PROXY_FTPS_PORT (a
	# port-mapping makes it ftps), EPSV
	scenario "proxy: ftplib implicit TLS proxy listener to TLS vsftpd" \
		px_tls_py epsv "$PROXY_FTPS_PORT" implicit
	lane_end
}

# px_tls_py MODE PORT explicit|implicit: ftplib FTP_TLS through proxy
# listener PORT, USER user@$SRV4; both legs were secured.
px_tls_py() {
	log_mark "$LANE_DIR/ftpgw.log"
	sc_tls_py "$1" "$GWC4" "$2" --tls "$3" --user "$IT_USER@$SRV4" || return 1
	gw_log_wants "proxy login: user \"$IT_USER\" for $SRV4:21" "the proxy login" || return 1
	gw_log_wants "TLS with the client: TLS" "the client leg secured" || return 1
	gw_log_wants "TLS with the server: TLS" "the server leg secured"
}
