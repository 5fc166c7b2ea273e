# lanes-tlsmodes.sh: FTPS through the gateway in each mode (sourced by
# run.sh, which runs lane_X for every X appended to EXTRA_LANES):
# tls-redirect, tls-tproxy, tls-reverse, tls-off, tls-required and
# tls-verify. Their helpers (tls_block, tls_matrix, sc_tls_*) are run.sh's,
# which other lanes use too; hostile TLS ends are in lanes-tls.sh.

# Started in this order (the longest first).
EXTRA_LANES+=(tls-redirect tls-reverse tls-tproxy tls-required tls-off tls-verify)

# ---------------------------------------------------------------- TLS lanes
# The gateway terminates TLS on each leg.  In srv (LANE_SERVERS=tls): vsftpd
# on 21 requires TLS for logins and data and TLS session reuse on every data
# connection (require_ssl_reuse), so each PROT P transfer on the server leg
# proves the gateway resumed the server's newest ticket; implicit vsftpd on
# 990; TLS 1.2-only vsftpd on 2112; the "wrong" self-signed one on 2122;
# plaintext pyftpdlib on 2121.
# Clients: ftplib FTP_TLS (any data mode, verifies the gateway's chain
# against the test CA), lftp (any data mode), curl (passive only: curl 7.88
# hangs in active-mode FTPS even straight against vsftpd).

setup_tls_redirect() {
	LANE_HAS_GW=1
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
listen "main" { address = "::"  port = 8021  mode = "redirect"  passive-address = "original" }
port-mapping "alt" { application = "ftp"  ports = {2121, 2112} }
$(tls_block optional auto)
EOF
	rules_use redirect 8021 21,990,2121,2112 || return 1
	gw_start "$LANE_DIR/ftpgw.conf" 8021
}
sc_tls_feat() {
	cli_py --host "$SRV4" --port 21 feat || return 1
	cli_py --host "$SRV4" --port 2121 feat
}
lane_tls_redirect() {
	local x
	lane_begin tls-redirect setup_tls_redirect
	LANE_SERVERS=tls
	# The no-522 checks mean something only if vsftpd refuses a data
	# connection that does not resume: ftpclient.py --no-resume does not
	# (plain ftplib FTP_TLS; by default ftpclient.py resumes).
	# tls direct (no gateway, from gw): ftplib FTP_TLS, whose data
	# connections do not resume the TLS session, gets 522 from vsftpd
	# (require_ssl_reuse is in force)
	scenario "tls direct (no gateway): no TLS resumption -> vsftpd 522" \
		gw_py --host $SRV4 --port 21 --tls explicit --cafile "$CA" --no-resume expectfail --outcome 522
	tls_matrix redirect $SRV4 21 $SRV6 21
	# tls redirect v4 PASV, TLS both legs: 30 RETRs of 1MiB on one
	# session, sha256 each, vsftpd: no 522 (ftplib FTP_TLS; each
	# server-leg data connection resumes the newest ticket)
	scenario "tls redirect v4 PASV: 30 RETRs of 1MiB on one session" \
		tls_checked cli_py --host $SRV4 --port 21 --tls explicit --cafile "$CA" many --count 30
	# tls redirect control: ABOR (in band, as FTP_TLS.abort()) during a
	# 64MiB PROT P RETR, then NOOP 200 and RETR 1MiB sha256, vsftpd: no
	# 522
	scenario "tls redirect control: ABOR during a PROT P RETR" \
		tls_checked cli_py --host $SRV4 --port 21 --tls explicit --cafile "$CA" abor
	x="RETR 64MiB, STOR 64MiB, RETR 1MiB on one session, sha256, vsftpd: no 522"
	# tls redirect implicit FTPS (990) v4 PASV: $x (curl ftps://)
	scenario "tls redirect implicit FTPS (990) v4 PASV (curl)" sc_tls_curl pasv ftps $SRV4 990
	# tls redirect implicit FTPS (990) v6 EPSV: $x (curl ftps://)
	scenario "tls redirect implicit FTPS (990) v6 EPSV (curl)" sc_tls_curl epsv ftps $SRV6 990
	# tls redirect implicit FTPS (990) v4 PORT: RETR+STOR 1MiB,64MiB +
	# LIST, sha256, vsftpd: no 522 (ftplib FTP_TLS, TLS from the first
	# byte)
	scenario "tls redirect implicit FTPS (990) v4 PORT (ftplib)" \
		sc_tls_py port $SRV4 990 --tls implicit
	# tls redirect mixed, server-side auto: TLS client (curl --ssl-reqd)
	# -> plaintext pyftpdlib (refuses AUTH, its leg stays plaintext): $x
	scenario "tls redirect mixed: TLS client -> plaintext pyftpdlib (curl)" \
		sc_tls_plain_leg sc_tls_curl pasv ftp $SRV4 2121
	# tls redirect PROT C on the client leg, PROT P on the server leg
	# (vsftpd forces data TLS): RETR+STOR 1MiB,64MiB + LIST, client data
	# plaintext, sha256, vsftpd: no 522 (ftplib FTP_TLS prot_c)
	scenario "tls redirect PROT C client leg, PROT P server leg (ftplib)" \
		sc_tls_py pasv $SRV4 21 --prot C
	# tls redirect FEAT (client-side optional) lists AUTH TLS, PBSZ, PROT,
	# once: vsftpd, and pyftpdlib (no TLS of its own)
	scenario "tls redirect FEAT lists AUTH TLS, PBSZ, PROT once" \
		sc_tls_feat
	# tls redirect TLS 1.2 client leg (lftp ssl:priority -VERS-TLS1.3),
	# TLS 1.3 server leg: get/put 64MiB, get 1MiB, ls, sha256, vsftpd: no
	# 522
	scenario "tls redirect TLS 1.2 client leg, TLS 1.3 server leg (lftp)" \
		sc_tls_versions 'TLSv1\.2' 'TLSv1\.3' sc_tls_lftp on $SRV4 21 'set ssl:priority "NORMAL:-VERS-TLS1.3"'
	# tls redirect TLS 1.2 server leg (vsftpd 2112 capped by OpenSSL
	# MaxProtocol), TLS 1.3 client leg: $x (curl)
	scenario "tls redirect TLS 1.2 server leg, TLS 1.3 client leg (curl)" \
		sc_tls_versions 'TLSv1\.3' 'TLSv1\.2' sc_tls_curl pasv ftp $SRV4 2112
	# tls redirect TLS 1.2 both legs v4 PORT (ftplib max TLS 1.2 -> vsftpd
	# 2112): RETR+STOR 1MiB,64MiB + LIST, sha256, vsftpd: no 522
	scenario "tls redirect TLS 1.2 both legs v4 PORT (ftplib)" \
		sc_tls_versions 'TLSv1\.2' 'TLSv1\.2' sc_tls_py port $SRV4 2112 --tls-max 1.2
	# tls redirect TLS 1.2 both legs v6 EPSV (curl --tls-max 1.2 -> vsftpd
	# 2112): $x
	scenario "tls redirect TLS 1.2 both legs v6 EPSV (curl)" \
		sc_tls_versions 'TLSv1\.2' 'TLSv1\.2' sc_tls_curl epsv ftp $SRV6 2112 --tls-max 1.2
	# tls redirect TLS 1.2 server leg (vsftpd 2112) v4 EPSV: 30 RETRs of
	# 1MiB on one session, sha256 each, vsftpd: no 522 (ftplib FTP_TLS)
	scenario "tls redirect TLS 1.2 server leg v4 EPSV: 30 RETRs of 1MiB" \
		tls_checked cli_py --host $SRV4 --port 2112 --mode epsv --tls explicit --cafile "$CA" many --count 30
	lane_end
}

setup_tls_tproxy() {
	LANE_HAS_GW=1
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
listen "main" { address = "::"  port = 8021  mode = "tproxy"  passive-address = "original" }
$(tls_block optional auto)
EOF
	rules tproxy add FTPGW_IFACE=eth0 FTPGW_LISTEN_PORT=8021 FTPGW_CONTROL_PORTS=21 \
		FTPGW_PASSIVE_PORTS="$GW_PASV" || return 1
	gw_start "$LANE_DIR/ftpgw.conf" 8021
}
lane_tls_tproxy() {
	lane_begin tls-tproxy setup_tls_tproxy
	LANE_SERVERS=tls
	tls_matrix tproxy $SRV4 21 $SRV6 21
	lane_end
}

setup_tls_reverse() {
	LANE_HAS_GW=1
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
listen "rev"   { address = "::"  port = 9091  mode = "reverse"  upstream = "$SRV4:21" }
listen "rev6"  { address = "::"  port = 9092  mode = "reverse"  upstream = "[$SRV6]:21" }
listen "ftps"  { address = "::"  port = 9990  mode = "reverse"  upstream = "$SRV4:990" }
listen "ftps6" { address = "::"  port = 9996  mode = "reverse"  upstream = "[$SRV6]:990" }
port-mapping "implicit" { application = "ftps"  ports = {9990} }
$(tls_block optional auto)
EOF
	gw_start "$LANE_DIR/ftpgw.conf" 9091 9092 9990 9996
}
lane_tls_reverse() {
	local x="RETR 64MiB, STOR 64MiB, RETR 1MiB on one session, sha256, vsftpd: no 522"
	lane_begin tls-reverse setup_tls_reverse
	LANE_SERVERS=tls
	tls_matrix reverse $GWC4 9091 $GWC6 9092
	# tls reverse implicit FTPS (listener 9990, port-mapping ftps) v4
	# PASV: $x (curl ftps://)
	scenario "tls reverse implicit FTPS (9990) v4 PASV (curl)" \
		sc_tls_curl pasv ftps $GWC4 9990
	# tls reverse implicit FTPS (listener 9996 -> [$SRV6]:990, ftps by
	# default) v6 EPSV: $x (curl ftps://)
	scenario "tls reverse implicit FTPS (9996, v6 upstream) v6 EPSV (curl)" \
		sc_tls_curl epsv ftps $GWC6 9996
	# tls reverse implicit FTPS (listener 9990) v4 PORT: RETR+STOR
	# 1MiB,64MiB + LIST, sha256, vsftpd: no 522 (ftplib FTP_TLS, TLS from
	# the first byte)
	scenario "tls reverse implicit FTPS (9990) v4 PORT (ftplib)" \
		sc_tls_py port $GWC4 9990 --tls implicit
	lane_end
}

# server-side = off: the server leg is never secured.
setup_tls_off() {
	LANE_HAS_GW=1
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
listen "py"    { address = "::"  port = 9121  mode = "reverse"  upstream = "$SRV4:2121" }
listen "py6"   { address = "::"  port = 9122  mode = "reverse"  upstream = "[$SRV6]:2121" }
listen "ftps"  { address = "::"  port = 9990  mode = "reverse"  upstream = "$SRV4:2121" }
listen "vs"    { address = "::"  port = 9091  mode = "reverse"  upstream = "$SRV4:21" }
port-mapping "py" { application = "ftp"  ports = {2121} }
port-mapping "implicit" { application = "ftps"  ports = {9990} }
$(tls_block optional off)
EOF
	gw_start "$LANE_DIR/ftpgw.conf" 9121 9122 9990 9091
}
lane_tls_off() {
	local x="RETR 64MiB, STOR 64MiB, RETR 1MiB on one session, sha256"
	lane_begin tls-off setup_tls_off
	LANE_SERVERS=tls
	# tls server-side=off v4 PASV: TLS client (curl --ssl-reqd) ->
	# plaintext pyftpdlib, server leg plaintext: $x
	scenario "tls server-side=off v4 PASV -> plaintext pyftpdlib (curl)" \
		sc_tls_plain_leg sc_tls_curl pasv ftp $GWC4 9121
	# tls server-side=off v4 PORT: TLS client (ftplib FTP_TLS) ->
	# plaintext pyftpdlib, server leg plaintext: RETR+STOR 1MiB,64MiB +
	# LIST sha256
	scenario "tls server-side=off v4 PORT -> plaintext pyftpdlib (ftplib)" \
		sc_tls_plain_leg sc_tls_py port $GWC4 9121
	# tls server-side=off v6 EPRT: TLS client (lftp) -> plaintext
	# pyftpdlib, server leg plaintext: get/put 64MiB, get 1MiB, ls sha256
	scenario "tls server-side=off v6 EPRT -> plaintext pyftpdlib (lftp)" \
		sc_tls_plain_leg sc_tls_lftp off $GWC6 9122
	# tls server-side=off implicit FTPS toward the client only
	# (port-mapping ftps 9990 -> pyftpdlib): $x (curl ftps://)
	scenario "tls server-side=off implicit FTPS toward the client only" \
		sc_tls_plain_leg sc_tls_curl pasv ftps $GWC4 9990
	# tls server-side=off: TLS client -> TLS-only vsftpd: the server leg
	# stays plaintext, vsftpd refuses the login with 530, no 230
	scenario "tls server-side=off: TLS-only vsftpd refuses the login" \
		sc_tls_plain_leg cli_py --host $GWC4 --port 9091 --tls explicit --cafile "$CA" expectfail --outcome 530
	lane_end
}

# server-side = required, min-version = 1.3.
setup_tls_required() {
	LANE_HAS_GW=1
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
listen "vs"    { address = "::"  port = 9091  mode = "reverse"  upstream = "$SRV4:21" }
listen "vs6"   { address = "::"  port = 9092  mode = "reverse"  upstream = "[$SRV6]:21" }
listen "py"    { address = "::"  port = 9121  mode = "reverse"  upstream = "$SRV4:2121" }
listen "tls12" { address = "::"  port = 9112  mode = "reverse"  upstream = "$SRV4:2112" }
port-mapping "alt" { application = "ftp"  ports = {2121, 2112} }
$(tls_block optional required 'min-version = "1.3"')
EOF
	gw_start "$LANE_DIR/ftpgw.conf" 9091 9092 9121 9112
}
# sc_plain_to_tls MODE HOST PORT: a plaintext ftplib session through a
# gateway that secures the server leg itself (its own PBSZ 0 / PROT P).
sc_plain_to_tls() {
	local new
	log_mark "$LANE_DIR/vsftpd.log"
	tls_checked cli_py --host "$2" --port "$3" --mode "$1" xfer --sizes 1MiB,64MiB --list || return 1
	new=$(log_new "$LANE_DIR/vsftpd.log")
	grep -q '"PROT P"' <<<"$new" && grep -q '"PBSZ 0"' <<<"$new" ||
		{ echo "FAIL: vsftpd got no PBSZ 0 / PROT P from the gateway"; return 1; }
	echo "vsftpd got PBSZ 0 and PROT P from the gateway"
}
lane_tls_required() {
	local x="RETR+STOR 1MiB,64MiB + LIST on one session, sha256, vsftpd: no 522"
	lane_begin tls-required setup_tls_required
	LANE_SERVERS=tls
	# tls server-side=required v4 PASV: plaintext client (ftplib.FTP, no
	# AUTH) -> TLS-only vsftpd, the gateway sends PBSZ 0/PROT P, server
	# leg TLS 1.3: $x
	scenario "tls server-side=required v4 PASV: plaintext client -> TLS" \
		sc_tls_versions '' 'TLSv1\.3' sc_plain_to_tls pasv $GWC4 9091
	# tls server-side=required v6 EPRT: plaintext client (ftplib.FTP) ->
	# TLS-only vsftpd: $x
	scenario "tls server-side=required v6 EPRT: plaintext client -> TLS" \
		sc_plain_to_tls eprt $GWC6 9092
	# tls server-side=required, min-version=1.3 v4 PORT: TLS 1.3 both
	# legs: $x (ftplib FTP_TLS)
	scenario "tls min-version=1.3 v4 PORT: TLS 1.3 both legs" \
		sc_tls_versions 'TLSv1\.3' 'TLSv1\.3' sc_tls_py port $GWC4 9091
	# tls min-version=1.3: a client offering at most TLS 1.2 fails
	# the handshake after 234, ftpgw logs it and lives on
	scenario "tls min-version=1.3: a TLS 1.2 client fails" \
		sc_expect_fail 'TLS with the client failed' "the client handshake" \
		--host $GWC4 --port 9091 --tls explicit --cafile "$CA" --tls-max 1.2 expectfail --outcome tls
	# tls min-version=1.3: vsftpd capped at TLS 1.2 (2112) -> 421 to
	# the client, ftpgw logs 'TLS with the server ... failed'
	scenario "tls min-version=1.3: a TLS 1.2 server -> 421" \
		sc_expect_fail 'TLS with the server .* failed' "the server handshake" \
		--host $GWC4 --port 9112 expectfail --outcome 421
	# tls server-side=required: pyftpdlib refuses AUTH TLS -> 421 to the
	# client, no 230, ftpgw logs it
	scenario "tls server-side=required: AUTH refused by the server -> 421" \
		sc_expect_fail 'refused AUTH TLS' "the refused AUTH" \
		--host $GWC4 --port 9121 expectfail --outcome 421
	lane_end
}

# client-side = required, verify-server = true against the test CA.
setup_tls_verify() {
	LANE_HAS_GW=1
	write_conf <<EOF
passive-ports = "$GW_PASV"
shutdown-timeout = 3
listen "vs"    { address = "::"  port = 9091  mode = "reverse"  upstream = "$SRV4:21" }
listen "vs6"   { address = "::"  port = 9092  mode = "reverse"  upstream = "[$SRV6]:21" }
listen "wrong" { address = "::"  port = 9122  mode = "reverse"  upstream = "$SRV4:2122" }
port-mapping "wrong" { application = "ftp"  ports = {2122} }
$(tls_block required auto 'verify-server = true' "ca-file = \"$CA\"")
EOF
	gw_start "$LANE_DIR/ftpgw.conf" 9091 9092 9122
}
lane_tls_verify() {
	local x="RETR+STOR 1MiB,64MiB + LIST on one session, sha256, vsftpd: no 522"
	lane_begin tls-verify setup_tls_verify
	LANE_SERVERS=tls
	# tls client-side=required: before AUTH, USER/PASS/PASV/RETR get 530
	# and no 230, FEAT offers AUTH TLS; after AUTH TLS RETR+STOR 1MiB
	# sha256
	scenario "tls client-side=required: 530 before AUTH TLS" \
		cli_py --host $GWC4 --port 9091 --cafile "$CA" tlsrequired
	# tls verify-server=true: vsftpd's certificate (CA-signed, IP SAN
	# $SRV4) verifies, v4 PASV: $x (ftplib FTP_TLS)
	scenario "tls verify-server=true: the certificate verifies, v4 PASV" \
		sc_tls_py pasv $GWC4 9091
	# tls verify-server=true: vsftpd's certificate (IP SAN $SRV6)
	# verifies, v6 EPRT: $x (ftplib FTP_TLS)
	scenario "tls verify-server=true: the certificate verifies, v6 EPRT" \
		sc_tls_py eprt $GWC6 9092
	# tls verify-server=true: the self-signed certificate of the vsftpd on
	# 2122 -> 421 to the client, ftpgw logs 'certificate verification
	# failed'
	scenario "tls verify-server=true: a self-signed certificate -> 421" \
		sc_expect_fail 'TLS with the server .* failed: certificate verification failed: ' "the rejected certificate" \
		--host $GWC4 --port 9122 --tls explicit --cafile "$CA" expectfail --outcome 421
	lane_end
}
