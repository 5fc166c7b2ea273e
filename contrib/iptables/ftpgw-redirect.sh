#!/bin/sh
# ftpgw-redirect.sh: iptables (NAT REDIRECT) rules for ftpgw in "redirect" mode.
#
# Run it on the router that carries the clients' traffic, where ftpgw runs with
#     listen "main" { address = "::"  port = 8021  mode = "redirect" }
# Clients keep connecting to the real servers (203.0.113.2:21); the rules below
# make the router's kernel hand those connections to ftpgw instead of forwarding
# them, and ftpgw recovers the real destination with SO_ORIGINAL_DST.
#
# Why no conntrack FTP helper (nf_conntrack_ftp, "ct helper ftp") is needed:
# ftpgw terminates every TCP connection itself.  The client's control
# connection ends at ftpgw, ftpgw opens its own control connection to the
# server, and every data connection is relayed by ftpgw through a socket of
# its own (its passive range on the client side, an outbound connect on the
# server side).  The router's conntrack therefore only ever sees ordinary TCP
# connections to or from a local socket; there is no "related" data
# connection for a helper to predict, and the addresses inside PORT/EPRT/227/229
# are already rewritten by ftpgw.  Do not attach the kernel helper to these
# ports: it would try to parse (and could mangle) the already translated
# commands.  Since Linux 4.7 it is not attached automatically.
#
# The rules are tagged with the comment "ftpgw", so `iptables-save | grep ftpgw`
# shows them.  "add" is idempotent, "del" removes exactly what "add" created.

set -u

PROG=${0##*/}

IFACE=${FTPGW_IFACE:-eth0}
CONTROL_PORTS=${FTPGW_CONTROL_PORTS:-21}
LISTEN_PORT=${FTPGW_LISTEN_PORT:-8021}
PASSIVE_PORTS=${FTPGW_PASSIVE_PORTS-50000:50999}
FAMILIES=${FTPGW_FAMILIES:-4 6}
IPTABLES=${IPTABLES:-iptables}
IP6TABLES=${IP6TABLES:-ip6tables}
DRY_RUN=0

usage() {
	cat <<EOF
Usage: $PROG [options] add|del|show

Install (add) or remove (del) the NAT REDIRECT rules that send clients' FTP
control connections, and connections to ftpgw's passive data ports, to ftpgw
running in "redirect" mode on this router.  "show" lists the ftpgw rules.

Options (each also settable from the environment variable shown):
  -i IFACE   client-facing interface                   FTPGW_IFACE=$IFACE
  -c PORTS   FTP control ports, comma separated (<=15) FTPGW_CONTROL_PORTS=$CONTROL_PORTS
             (list every port a port-mapping stanza marks as FTP, e.g. 21,2121)
  -l PORT    ftpgw's redirect listener port            FTPGW_LISTEN_PORT=$LISTEN_PORT
  -p RANGE   ftpgw's passive-ports, FIRST:LAST         FTPGW_PASSIVE_PORTS=$PASSIVE_PORTS
             ("" = no passive rule: enough when every listener has
             passive-address = local or a fixed address of this router)
  -4 | -6    IPv4 only | IPv6 only                     FTPGW_FAMILIES="$FAMILIES"
  -n         print the commands instead of running them
  -h         this help

The iptables commands can be replaced with IPTABLES=... and IP6TABLES=...
Example:  FTPGW_CONTROL_PORTS=21,2121 $PROG -i eth0 add
EOF
}

die() {
	echo "$PROG: $*" >&2
	exit 2
}

while getopts "i:c:l:p:46nh" opt; do
	case $opt in
	i) IFACE=$OPTARG ;;
	c) CONTROL_PORTS=$OPTARG ;;
	l) LISTEN_PORT=$OPTARG ;;
	p) PASSIVE_PORTS=$OPTARG ;;
	4) FAMILIES=4 ;;
	6) FAMILIES=6 ;;
	n) DRY_RUN=1 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { usage >&2; exit 2; }
ACTION=$1
case $ACTION in add|del|show) ;; *) usage >&2; exit 2 ;; esac

# Accept ftpgw.conf's "50000-50999" spelling as well as iptables' "50000:50999".
PASSIVE_PORTS=$(printf '%s' "$PASSIVE_PORTS" | tr '-' ':')
case $LISTEN_PORT in ''|*[!0-9]*) die "bad listen port: $LISTEN_PORT" ;; esac
case $CONTROL_PORTS in ''|*[!0-9,]*) die "bad control port list: $CONTROL_PORTS" ;; esac
case $PASSIVE_PORTS in ''|[0-9]*:[0-9]*) ;; *) die "bad passive range: $PASSIVE_PORTS" ;; esac
[ -n "$IFACE" ] || die "no interface"

STATUS=0

run() {
	if [ "$DRY_RUN" = 1 ]; then
		# Print the command so that it can be pasted into a shell.
		line=
		for arg in "$@"; do
			case $arg in
			*[!A-Za-z0-9_./:,=+-]*) arg="\"$arg\"" ;;
			esac
			line="$line${line:+ }$arg"
		done
		echo "$line"
	else
		"$@" || { echo "$PROG: failed: $*" >&2; STATUS=1; }
	fi
}

# rule IPT TABLE CHAIN SPEC...: append (add) or delete (del) one rule, once.
rule() {
	ipt=$1 table=$2 chain=$3
	shift 3
	case $ACTION in
	add)
		if [ "$DRY_RUN" = 0 ] && $ipt -w -t "$table" -C "$chain" "$@" 2>/dev/null; then
			return 0
		fi
		run $ipt -w -t "$table" -A "$chain" "$@"
		;;
	del)
		if [ "$DRY_RUN" = 1 ]; then
			run $ipt -w -t "$table" -D "$chain" "$@"
			return 0
		fi
		while $ipt -w -t "$table" -C "$chain" "$@" 2>/dev/null; do
			$ipt -w -t "$table" -D "$chain" "$@" || { STATUS=1; break; }
		done
		;;
	esac
}

rules_for() {
	ipt=$1
	# 1. FTP control connections arriving from the clients are redirected to
	#    ftpgw's listener.  Only packets entering on the client-facing
	#    interface match, so the router's own connections and the
	#    connections ftpgw opens towards the servers are never caught.
	#    ftpgw reads the original destination (the server) back with
	#    SO_ORIGINAL_DST (IP6T_SO_ORIGINAL_DST for IPv6).
	rule "$ipt" nat PREROUTING -i "$IFACE" -p tcp -m multiport --dports "$CONTROL_PORTS" \
		-m comment --comment "ftpgw: control to listener" \
		-j REDIRECT --to-ports "$LISTEN_PORT"
	# 2. With passive-address = original (the default, transparent) ftpgw
	#    tells the client the SERVER's address in 227/229, with a port from
	#    its own passive range.  The client's data connection to
	#    server:5xxxx must reach ftpgw's data listener on the same port:
	#    REDIRECT without --to-ports keeps the destination port.
	if [ -n "$PASSIVE_PORTS" ]; then
		rule "$ipt" nat PREROUTING -i "$IFACE" -p tcp --dport "$PASSIVE_PORTS" \
			-m comment --comment "ftpgw: passive data to listener" \
			-j REDIRECT
	fi
	# Active mode (PORT/EPRT) needs no rule: ftpgw gives the server its own
	# address, and connects to the client itself.
}

for fam in $FAMILIES; do
	case $fam in
	4) ipt=$IPTABLES ;;
	6) ipt=$IP6TABLES ;;
	*) die "bad family: $fam" ;;
	esac
	if [ "$ACTION" = show ]; then
		"${ipt}-save" -t nat 2>/dev/null | grep -e ftpgw || true
		continue
	fi
	if [ "$DRY_RUN" = 0 ] && ! command -v "$ipt" >/dev/null 2>&1; then
		die "$ipt not found"
	fi
	rules_for "$ipt"
done

exit $STATUS
