#!/bin/sh
# ftpgw-tproxy.sh: iptables TPROXY rules and policy routing for ftpgw in
# "tproxy" mode (fully transparent in both directions).
#
# Run it on the router that carries the clients' traffic, where ftpgw runs with
#     listen "main" { address = "::"  port = 8021  mode = "tproxy" }
# Clients connect to the real servers; TPROXY delivers those connections to
# ftpgw's IP_TRANSPARENT listener WITHOUT rewriting the destination, so ftpgw
# reads the server's address with getsockname().  ftpgw then connects to the
# server from the CLIENT's address (IP_TRANSPARENT bind), and opens its data
# listeners on the server's (non-local) address: the client sees the server
# everywhere, the server sees the client.
#
# Why no conntrack FTP helper (nf_conntrack_ftp, "ct helper ftp") is needed:
# every connection ends in a socket of ftpgw; ftpgw reads and rewrites
# PORT/EPRT/227/229 itself and opens or accepts each data connection itself.
# Nothing needs a conntrack "expectation": the rules below already catch every
# packet that belongs to one of ftpgw's sockets (rule 1).  Do not attach the
# kernel helper to these ports; since Linux 4.7 it is not attached automatically.
#
# Needs the kernel's xt_socket and xt_TPROXY (nf_tproxy_ipv4/ipv6), and ftpgw
# must hold CAP_NET_ADMIN (or CAP_NET_RAW) for IP_TRANSPARENT.
# "add" is idempotent, "del" removes exactly what "add" created.

set -u

PROG=${0##*/}

IFACE=${FTPGW_IFACE:-eth0}
CONTROL_PORTS=${FTPGW_CONTROL_PORTS:-21}
LISTEN_PORT=${FTPGW_LISTEN_PORT:-8021}
PASSIVE_PORTS=${FTPGW_PASSIVE_PORTS-50000:50999}
FWMARK=${FTPGW_FWMARK:-0x1}
ROUTE_TABLE=${FTPGW_ROUTE_TABLE:-100}
CHAIN=${FTPGW_DIVERT_CHAIN:-FTPGW_DIVERT}
FAMILIES=${FTPGW_FAMILIES:-4 6}
IPTABLES=${IPTABLES:-iptables}
IP6TABLES=${IP6TABLES:-ip6tables}
IP=${IP:-ip}
DRY_RUN=0

usage() {
	cat <<EOF
Usage: $PROG [options] add|del|show

Install (add) or remove (del) the TPROXY rules and the policy route that
deliver clients' FTP connections, and every packet of ftpgw's transparent
sockets, to ftpgw running in "tproxy" mode on this router.  "show" lists them.

Options (each also settable from the environment variable shown):
  -i IFACE   client-facing interface                   FTPGW_IFACE=$IFACE
  -c PORTS   FTP control ports, comma separated (<=15) FTPGW_CONTROL_PORTS=$CONTROL_PORTS
             (list every port a port-mapping stanza marks as FTP, e.g. 21,2121)
  -l PORT    ftpgw's tproxy listener port              FTPGW_LISTEN_PORT=$LISTEN_PORT
  -p RANGE   ftpgw's passive-ports, FIRST:LAST         FTPGW_PASSIVE_PORTS=$PASSIVE_PORTS
             ("" = no passive-range rule: enough when ftpgw binds its data
             listeners to the server's address, as rule 1 then catches them)
  -m MARK    firewall mark (also used as the mask)     FTPGW_FWMARK=$FWMARK
  -t TABLE   routing table for marked packets          FTPGW_ROUTE_TABLE=$ROUTE_TABLE
  -C CHAIN   name of the mangle chain that marks       FTPGW_DIVERT_CHAIN=$CHAIN
  -4 | -6    IPv4 only | IPv6 only                     FTPGW_FAMILIES="$FAMILIES"
  -n         print the commands instead of running them
  -h         this help

The commands can be replaced with IPTABLES=..., IP6TABLES=... and IP=...
Example:  FTPGW_CONTROL_PORTS=21,2121 $PROG -i eth0 add
EOF
}

die() {
	echo "$PROG: $*" >&2
	exit 2
}

while getopts "i:c:l:p:m:t:C:46nh" opt; do
	case $opt in
	i) IFACE=$OPTARG ;;
	c) CONTROL_PORTS=$OPTARG ;;
	l) LISTEN_PORT=$OPTARG ;;
	p) PASSIVE_PORTS=$OPTARG ;;
	m) FWMARK=$OPTARG ;;
	t) ROUTE_TABLE=$OPTARG ;;
	C) CHAIN=$OPTARG ;;
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

PASSIVE_PORTS=$(printf '%s' "$PASSIVE_PORTS" | tr '-' ':')
case $LISTEN_PORT in ''|*[!0-9]*) die "bad listen port: $LISTEN_PORT" ;; esac
case $CONTROL_PORTS in ''|*[!0-9,]*) die "bad control port list: $CONTROL_PORTS" ;; esac
case $PASSIVE_PORTS in ''|[0-9]*:[0-9]*) ;; *) die "bad passive range: $PASSIVE_PORTS" ;; esac
case $FWMARK in ''|*[!0-9a-fA-Fx]*) die "bad mark: $FWMARK" ;; esac
case $ROUTE_TABLE in ''|*[!0-9a-z_]*) die "bad table: $ROUTE_TABLE" ;; esac
[ -n "$IFACE" ] || die "no interface"
MARK="$FWMARK/$FWMARK"

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

# rule IPT TABLE -A|-I CHAIN SPEC...: add once (append or insert first), or delete.
rule() {
	ipt=$1 table=$2 where=$3 chain=$4
	shift 4
	case $ACTION in
	add)
		if [ "$DRY_RUN" = 0 ] && $ipt -w -t "$table" -C "$chain" "$@" 2>/dev/null; then
			return 0
		fi
		run $ipt -w -t "$table" "$where" "$chain" "$@"
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

rules_add() {
	ipt=$1 ipf=$2 any=$3
	# 0. The DIVERT chain: mark the packet for the local policy route below,
	#    then ACCEPT, i.e. stop walking PREROUTING.  The ACCEPT matters: a
	#    packet of an established transparent socket that went on to meet a
	#    TPROXY rule would be looked up again by TPROXY, which searches a
	#    listener on the incoming interface's address and drops the SYN to a
	#    data listener bound to the server's address.
	if [ "$DRY_RUN" = 1 ]; then
		run $ipt -w -t mangle -N "$CHAIN"
	elif ! $ipt -w -t mangle -n -L "$CHAIN" >/dev/null 2>&1; then
		run $ipt -w -t mangle -N "$CHAIN"
	fi
	rule "$ipt" mangle -A "$CHAIN" -j MARK --set-mark "$MARK"
	rule "$ipt" mangle -A "$CHAIN" -j ACCEPT
	# 1. Any packet that belongs to a transparent socket of ftpgw (replies to
	#    its upstream connections that use the client's address, SYNs to its
	#    data listeners bound to the server's or the client's address, and
	#    everything after) is diverted to the local stack.  First in
	#    PREROUTING, on every interface: server-side packets need it too.
	rule "$ipt" mangle -I PREROUTING -p tcp -m socket --transparent \
		-m comment --comment "ftpgw: packets of transparent sockets" -j "$CHAIN"
	# 2. New FTP control connections from the clients go to ftpgw's listener;
	#    the destination stays the server's, ftpgw reads it with getsockname().
	rule "$ipt" mangle -A PREROUTING -i "$IFACE" -p tcp -m multiport --dports "$CONTROL_PORTS" \
		-m comment --comment "ftpgw: control to listener" \
		-j TPROXY --on-port "$LISTEN_PORT" --tproxy-mark "$MARK"
	# 3. Client data connections to ftpgw's passive range (227/229 carry the
	#    server's address).  ftpgw's listener bound to server:port is already
	#    caught by rule 1; this rule also catches a wildcard-bound data
	#    listener (--on-port 0 keeps the destination port).  Not the
	#    connections ftpgw's kernel data path (data-path kernel) has marked
	#    (ct mark 0x4647xxxx): its nftables table forwards them.
	if [ -n "$PASSIVE_PORTS" ]; then
		rule "$ipt" mangle -A PREROUTING -i "$IFACE" -p tcp --dport "$PASSIVE_PORTS" \
			-m connmark ! --mark 0x46470000/0xffff0000 \
			-m comment --comment "ftpgw: passive data to listener" \
			-j TPROXY --on-port 0 --tproxy-mark "$MARK"
	fi
	# 4. Marked packets are routed to the local stack, whatever their
	#    destination address.  Delete first so that "add" twice adds once.
	if [ "$DRY_RUN" = 0 ]; then
		while $IP "$ipf" rule del fwmark "$MARK" lookup "$ROUTE_TABLE" 2>/dev/null; do :; done
	fi
	run $IP "$ipf" rule add fwmark "$MARK" lookup "$ROUTE_TABLE"
	run $IP "$ipf" route replace local "$any" dev lo table "$ROUTE_TABLE"
}

rules_del() {
	ipt=$1 ipf=$2 any=$3
	if [ -n "$PASSIVE_PORTS" ]; then
		rule "$ipt" mangle -A PREROUTING -i "$IFACE" -p tcp --dport "$PASSIVE_PORTS" \
			-m connmark ! --mark 0x46470000/0xffff0000 \
			-m comment --comment "ftpgw: passive data to listener" \
			-j TPROXY --on-port 0 --tproxy-mark "$MARK"
	fi
	rule "$ipt" mangle -A PREROUTING -i "$IFACE" -p tcp -m multiport --dports "$CONTROL_PORTS" \
		-m comment --comment "ftpgw: control to listener" \
		-j TPROXY --on-port "$LISTEN_PORT" --tproxy-mark "$MARK"
	rule "$ipt" mangle -I PREROUTING -p tcp -m socket --transparent \
		-m comment --comment "ftpgw: packets of transparent sockets" -j "$CHAIN"
	if [ "$DRY_RUN" = 1 ] || $ipt -w -t mangle -n -L "$CHAIN" >/dev/null 2>&1; then
		run $ipt -w -t mangle -F "$CHAIN"
		run $ipt -w -t mangle -X "$CHAIN"
	fi
	if [ "$DRY_RUN" = 1 ]; then
		run $IP "$ipf" rule del fwmark "$MARK" lookup "$ROUTE_TABLE"
	else
		while $IP "$ipf" rule del fwmark "$MARK" lookup "$ROUTE_TABLE" 2>/dev/null; do :; done
	fi
	if [ "$DRY_RUN" = 1 ] || [ -n "$($IP "$ipf" route show table "$ROUTE_TABLE" 2>/dev/null)" ]; then
		run $IP "$ipf" route del local "$any" dev lo table "$ROUTE_TABLE"
	fi
}

for fam in $FAMILIES; do
	case $fam in
	4) ipt=$IPTABLES ipf=-4 any=0.0.0.0/0 ;;
	6) ipt=$IP6TABLES ipf=-6 any=::/0 ;;
	*) die "bad family: $fam" ;;
	esac
	if [ "$ACTION" = show ]; then
		"${ipt}-save" -t mangle 2>/dev/null | grep -e ftpgw -e "$CHAIN" || true
		$IP "$ipf" rule show | grep -e "lookup $ROUTE_TABLE" || true
		$IP "$ipf" route show table "$ROUTE_TABLE" 2>/dev/null || true
		continue
	fi
	if [ "$DRY_RUN" = 0 ] && ! command -v "$ipt" >/dev/null 2>&1; then
		die "$ipt not found"
	fi
	case $ACTION in
	add) rules_add "$ipt" "$ipf" "$any" ;;
	del) rules_del "$ipt" "$ipf" "$any" ;;
	esac
done

exit $STATUS
