#!/bin/sh
# ftpgw-ecmp.sh: the network side of two (or more) ftpgw gateways, active/
# active behind an ECMP router (see README.md in this directory).
#
#   ftpgw-ecmp.sh router add|del|show    on the router in front of them
#   ftpgw-ecmp.sh gateway add|del|show   on each gateway
#
# Clients connect to one service address (FTPGW_SERVICE).  The router has a
# multipath route to it whose next hops are the gateways' VRRP addresses
# (FTPGW_NEXTHOPS, kept up by keepalived-active-active.conf); each gateway
# carries the service address on its loopback and ftpgw listens on it.
#
# The router must hash on addresses only (L3): a client's control
# connection and its data connections have different ports but the same
# pair of addresses, so with L3 hashing they all take the same next hop,
# the gateway that holds the session.  With L4 hashing (policy 1) a passive
# data connection would reach the other gateway, which has no such listener
# and resets it.  IPv4: fib_multipath_hash_policy=0.  IPv6's policy 0
# hashes the flow label too, which differs per connection: policy 3 with
# fib_multipath_hash_fields=0x0003 (source and destination address only,
# Linux 5.12 and later) instead.
#
# Environment:
#   FTPGW_SERVICE   the service address, e.g. 203.0.113.200 (required)
#   FTPGW_NEXTHOPS  router: the next hops, e.g. "203.0.113.101 203.0.113.102"
#   FTPGW_IFACE     gateway: the interface toward the router (default eth0)
set -eu

PROG=${0##*/}
usage() {
	echo "usage: $PROG router|gateway add|del|show" >&2
	exit 2
}
[ $# = 2 ] || usage
role=$1 action=$2
service=${FTPGW_SERVICE:?"$PROG: FTPGW_SERVICE (the service address) is required"}
iface=${FTPGW_IFACE:-eth0}
case $service in
*:*) fam=-6 plen=128 v=ipv6 ;;
*) fam=-4 plen=32 v=ipv4 ;;
esac

router() {
	local_hops=
	for h in ${FTPGW_NEXTHOPS:?"$PROG: FTPGW_NEXTHOPS (the gateways' VIPs) is required"}; do
		local_hops="$local_hops nexthop via $h"
	done
	case $action in
	add)
		if [ $v = ipv4 ]; then
			sysctl -qw net.ipv4.fib_multipath_hash_policy=0
		else
			sysctl -qw net.ipv6.fib_multipath_hash_policy=3
			sysctl -qw net.ipv6.fib_multipath_hash_fields=0x0003
		fi
		# shellcheck disable=SC2086
		ip $fam route replace "$service/$plen" $local_hops
		;;
	del) ip $fam route del "$service/$plen" ;;
	show)
		sysctl net.$v.fib_multipath_hash_policy
		ip $fam route show "$service/$plen"
		;;
	*) usage ;;
	esac
}

gateway() {
	case $action in
	add)
		# Only the gateways' own and VRRP addresses are answered on the
		# segment; the service address stays behind the router's route.
		sysctl -qw "net.ipv4.conf.$iface.arp_ignore=1" "net.ipv4.conf.$iface.arp_announce=2"
		ip $fam addr replace "$service/$plen" dev lo
		;;
	del) ip $fam addr del "$service/$plen" dev lo ;;
	show)
		sysctl "net.ipv4.conf.$iface.arp_ignore" "net.ipv4.conf.$iface.arp_announce"
		ip $fam addr show dev lo to "$service/$plen"
		;;
	*) usage ;;
	esac
}

case $role in
router) router ;;
gateway) gateway ;;
*) usage ;;
esac
