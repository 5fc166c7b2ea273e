/* fwrules.c: see fwrules.h.
 *
 * What each listen section needs:
 *  - redirect: every control port (each port of each port-mapping, the
 *    built-in 21 and 990 included, "tcp" ones too: they are relayed)
 *    redirected to the listener's port; with passive-address original,
 *    the passive range redirected to the same port.
 *  - tproxy: packets of the gateway's transparent sockets marked and
 *    accepted first (the DIVERT idiom: a mark without accept followed by a
 *    tproxy rule drops the SYNs meant for a data listener bound to the
 *    server's address), then a tproxy of the control ports to the
 *    listener's port, and the policy routing of marked packets to the
 *    local stack. The data listeners are caught by the socket rule.
 *  - reverse: nothing; clients connect to the listener itself.
 * A listener on "::" serves IPv4 and IPv6, one on "0.0.0.0" IPv4, one on
 * a specific address that address's family. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "conf.h"
#include "fwrules.h"
#include "portmap.h"

#define FAM4 0x1
#define FAM6 0x2

/* iptables' multiport match takes at most 15 ports. */
#define MULTIPORT_MAX 15

#define NAT_CHAIN "FTPGW"
#define MANGLE_CHAIN "FTPGW"
#define DIVERT_CHAIN "FTPGW_DIVERT"

#define SA(ss) ((const struct sockaddr *)(ss))

/* The state of one fwrules_write() call. */
struct fw {
	FILE *out;
	const struct config *cf;
	uint16_t *ports;         /* the control ports, sorted, unique */
	size_t nports;
};

static int
port_cmp(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

	return (x > y) - (x < y);
}

/* Every port of every port-mapping, once, in order. */
static int
collect_ports(struct fw *fw)
{
	const struct config *cf = fw->cf;
	size_t total = 0, n = 0;

	for (size_t i = 0; i < cf->n_maps; i++)
		total += cf->maps[i].nports;
	if (total == 0)
		return 0;
	if ((fw->ports = calloc(total, sizeof(*fw->ports))) == NULL)
		return -1;
	for (size_t i = 0; i < cf->n_maps; i++)
		for (size_t j = 0; j < cf->maps[i].nports; j++)
			fw->ports[n++] = cf->maps[i].ports[j];
	qsort(fw->ports, n, sizeof(*fw->ports), port_cmp);
	for (size_t i = 0; i < n; i++)
		if (fw->nports == 0 ||
		    fw->ports[fw->nports - 1] != fw->ports[i])
			fw->ports[fw->nports++] = fw->ports[i];
	return 0;
}

static int
families(const struct listen_conf *lc)
{
	if (lc->addr.ss_family == AF_INET6)
		return addr_is_any(SA(&lc->addr)) ? FAM4 | FAM6 : FAM6;
	return FAM4;
}

static bool
intercepts(const struct listen_conf *lc)
{
	return lc->mode == MODE_REDIRECT || lc->mode == MODE_TPROXY;
}

static bool
passive_redirected(const struct listen_conf *lc)
{
	return lc->mode == MODE_REDIRECT && lc->pasv_kind == PASV_ADDR_ORIGINAL;
}

static int
all_families(const struct config *cf, enum listen_mode mode)
{
	int fams = 0;

	for (size_t i = 0; i < cf->n_listens; i++)
		if (cf->listens[i].mode == mode)
			fams |= families(&cf->listens[i]);
	return fams;
}

/* A name from the config (a listen title, the file's path) made safe for a
 * comment line, a double-quoted nft string and a double-quoted sh word:
 * anything but letters, digits and a few punctuation marks becomes '_',
 * and it is cut at 64 bytes (an iptables comment holds 255). */
static void
put_safe(FILE *out, const char *s)
{
	for (size_t i = 0; s[i] != '\0'; i++) {
		if (i == 64) {
			fputs("...", out);
			return;
		}
		fputc(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789 _.,:/@+=-", s[i]) !=
		    NULL ? s[i] : '_', out);
	}
}

/* "listen "NAME" (MODE, ADDRESS:PORT)" */
static void
put_listen(struct fw *fw, const struct listen_conf *lc)
{
	char a[ADDR_STRLEN];

	fputs("listen \"", fw->out);
	put_safe(fw->out, lc->name);
	fprintf(fw->out, "\" (%s, %s)", listen_mode_name(lc->mode),
	    addr_fmt(SA(&lc->addr), a, sizeof(a)));
}

/* The comment line above a listener's rules. */
static void
put_listen_comment(struct fw *fw, const char *indent,
    const struct listen_conf *lc, const char *what)
{
	fprintf(fw->out, "%s# ", indent);
	put_listen(fw, lc);
	fprintf(fw->out, ": %s.\n%s# ", what, indent);
	if (lc->interface != NULL)
		fprintf(fw->out, "Clients on %s.\n", lc->interface);
	else
		fputs("Clients on every interface but lo ('interface' is not "
		    "set).\n", fw->out);
}

static void
put_port_list(struct fw *fw, size_t from, size_t to, const char *sep)
{
	for (size_t i = from; i < to; i++)
		fprintf(fw->out, "%s%u", i > from ? sep : "",
		    (unsigned)fw->ports[i]);
}

/* The notes for an operator at the top of either flavor. */
static void
put_header(struct fw *fw, const char *what)
{
	fputs("# Firewall rules for ftpgw(8), written by \"", fw->out);
	fputs(what, fw->out);
	fputs("\" from\n# ", fw->out);
	put_safe(fw->out, fw->cf->path);
	fputs(".\n#\n# Control ports (every port of every port-mapping, the "
	    "built-in 21, and 990\n# with TLS, included): ", fw->out);
	put_port_list(fw, 0, fw->nports, ", ");
	fputs(".\n# No conntrack FTP helper is needed, and none should be "
	    "attached to these\n# ports: ftpgw relays every data connection "
	    "itself.\n", fw->out);
}

/* Two intercepting listeners that take the same connections: only one of
 * them gets them. Said in a comment, as the rules are still valid. */
static void
put_overlaps(struct fw *fw, const char *indent, size_t i)
{
	const struct config *cf = fw->cf;
	const struct listen_conf *lc = &cf->listens[i];

	for (size_t j = 0; j < cf->n_listens; j++) {
		const struct listen_conf *other = &cf->listens[j];
		int common = families(lc) & families(other);

		if (j == i || !intercepts(other) || common == 0 ||
		    (lc->interface != NULL && other->interface != NULL &&
		    strcmp(lc->interface, other->interface) != 0))
			continue;
		fprintf(fw->out, "%s# Warning: listen \"", indent);
		put_safe(fw->out, other->name);
		fprintf(fw->out, "\" takes the same %s control connections;\n"
		    "%s# only one listener gets them (tproxy before redirect, "
		    "else the first rule).\n", common == (FAM4 | FAM6) ?
		    "IPv4 and IPv6" : common == FAM4 ? "IPv4" : "IPv6", indent);
	}
}

/*
 * nftables: one inet table, deleted and created again.
 */

static void
nft_iface(struct fw *fw, const struct listen_conf *lc)
{
	if (lc->interface != NULL)
		fprintf(fw->out, "iifname \"%s\" ", lc->interface);
	else
		fputs("iifname != \"lo\" ", fw->out);
}

static void
nft_family(struct fw *fw, int fams)
{
	if (fams == FAM4)
		fputs("meta nfproto ipv4 ", fw->out);
	else if (fams == FAM6)
		fputs("meta nfproto ipv6 ", fw->out);
}

static void
nft_dports(struct fw *fw)
{
	if (fw->nports == 1)
		fprintf(fw->out, "tcp dport %u ", (unsigned)fw->ports[0]);
	else {
		fputs("tcp dport { ", fw->out);
		put_port_list(fw, 0, fw->nports, ", ");
		fputs(" } ", fw->out);
	}
}

static void
nft_comment(struct fw *fw, const struct listen_conf *lc, const char *what)
{
	fputs(" comment \"ftpgw: listen ", fw->out);
	put_safe(fw->out, lc->name);
	fprintf(fw->out, " %s\"\n", what);
}

/* "to :8021", "to 192.0.2.1:8021", "to [2001:db8::1]:8021" */
static void
nft_to(struct fw *fw, const struct listen_conf *lc)
{
	char a[ADDR_STRLEN];

	if (addr_is_any(SA(&lc->addr)))
		fprintf(fw->out, "to :%u", (unsigned)addr_port(SA(&lc->addr)));
	else
		fprintf(fw->out, "to %s", addr_fmt(SA(&lc->addr), a,
		    sizeof(a)));
}

static void
nft_tproxy_chain(struct fw *fw)
{
	const struct config *cf = fw->cf;
	const char *ind = "\t\t";

	fputs("\t# Mode tproxy: the mangle stage of prerouting, before "
	    "any NAT.\n"
	    "\tchain prerouting_tproxy {\n"
	    "\t\ttype filter hook prerouting priority mangle; policy accept;\n"
	    "\n"
	    "\t\t# Packets of ftpgw's transparent sockets (its connections and "
	    "its data\n"
	    "\t\t# listeners, bound to the server's or the client's address), "
	    "on every\n"
	    "\t\t# interface: marked for the local route and accepted at once. "
	    "This rule\n"
	    "\t\t# must come first and must accept: a mark without accept "
	    "followed by a\n"
	    "\t\t# tproxy rule drops the SYNs meant for a data listener.\n"
	    "\t\tmeta l4proto tcp socket transparent 1 meta mark set mark | "
	    FWRULES_MARK " accept comment \"ftpgw: transparent sockets\"\n",
	    fw->out);
	for (size_t i = 0; i < cf->n_listens; i++) {
		const struct listen_conf *lc = &cf->listens[i];
		int fams = families(lc);

		if (lc->mode != MODE_TPROXY)
			continue;
		fputc('\n', fw->out);
		put_listen_comment(fw, ind, lc, "control ports diverted to its "
		    "port");
		put_overlaps(fw, ind, i);
		for (int f = FAM4; f <= FAM6; f <<= 1) {
			if ((fams & f) == 0)
				continue;
			fputs(ind, fw->out);
			nft_iface(fw, lc);
			nft_family(fw, f);
			nft_dports(fw);
			fprintf(fw->out, "tproxy %s ",
			    f == FAM4 ? "ip" : "ip6");
			nft_to(fw, lc);
			fputs(" meta mark set mark | " FWRULES_MARK " accept",
			    fw->out);
			nft_comment(fw, lc, "control");
		}
	}
	fputs("\t}\n", fw->out);
}

static void
nft_redirect_chain(struct fw *fw)
{
	const struct config *cf = fw->cf;
	const char *ind = "\t\t";

	fputs("\t# Mode redirect: destination NAT to the gateway.\n"
	    "\tchain prerouting_nat {\n"
	    "\t\ttype nat hook prerouting priority dstnat; policy accept;\n",
	    fw->out);
	for (size_t i = 0; i < cf->n_listens; i++) {
		const struct listen_conf *lc = &cf->listens[i];
		int fams = families(lc);

		if (lc->mode != MODE_REDIRECT)
			continue;
		fputc('\n', fw->out);
		put_listen_comment(fw, ind, lc, "control ports redirected to "
		    "its port");
		put_overlaps(fw, ind, i);
		if (addr_is_any(SA(&lc->addr))) {
			fputs(ind, fw->out);
			nft_iface(fw, lc);
			nft_family(fw, fams);
			nft_dports(fw);
			fprintf(fw->out, "redirect to :%u",
			    (unsigned)addr_port(SA(&lc->addr)));
		} else {
			/* A redirect goes to the incoming interface's first
			 * address, which need not be the listener's. */
			fprintf(fw->out, "%s# It listens on one address: "
			    "destination NAT to that address.\n%s", ind, ind);
			nft_iface(fw, lc);
			nft_family(fw, fams);
			nft_dports(fw);
			fprintf(fw->out, "dnat %s ",
			    fams == FAM4 ? "ip" : "ip6");
			nft_to(fw, lc);
		}
		nft_comment(fw, lc, "control");
		if (!passive_redirected(lc)) {
			fprintf(fw->out, "%s# No rule for the passive range: "
			    "passive-address is not original.\n", ind);
			continue;
		}
		fprintf(fw->out, "%s# passive-address original: the clients' "
		    "data connections to the server's\n%s# address on the "
		    "passive range, to the same port (redirect keeps it).\n%s",
		    ind, ind, ind);
		nft_iface(fw, lc);
		nft_family(fw, fams);
		if (lc->pasv_lo == lc->pasv_hi)
			fprintf(fw->out, "tcp dport %u redirect",
			    (unsigned)lc->pasv_lo);
		else
			fprintf(fw->out, "tcp dport %u-%u redirect",
			    (unsigned)lc->pasv_lo, (unsigned)lc->pasv_hi);
		nft_comment(fw, lc, "passive");
	}
	fputs("\t}\n", fw->out);
}

static void
put_reverse(struct fw *fw)
{
	const struct config *cf = fw->cf;

	for (size_t i = 0; i < cf->n_listens; i++) {
		const struct listen_conf *lc = &cf->listens[i];

		if (lc->mode != MODE_REVERSE && lc->mode != MODE_PROXY)
			continue;
		fputs("\n# ", fw->out);
		put_listen(fw, lc);
		fprintf(fw->out, ": no rule needed; clients connect to it "
		    "directly.\n# A filtering firewall must let in its port "
		    "and its passive range %u-%u.\n", (unsigned)lc->pasv_lo,
		    (unsigned)lc->pasv_hi);
	}
}

/* The policy routing of mode tproxy, as commands or as comments. */
static void
put_policy_routing(struct fw *fw, int fams, const char *prefix,
    bool script)
{
	for (int f = FAM4; f <= FAM6; f <<= 1) {
		const char *ip = f == FAM4 ? "ip" : "ip -6";

		if ((fams & f) == 0)
			continue;
		if (script)
			fprintf(fw->out, "while %s rule del fwmark %s/%s "
			    "lookup %d 2>/dev/null; do :; done\n", ip,
			    FWRULES_MARK, FWRULES_MARK, FWRULES_TABLE);
		fprintf(fw->out, "%s%s rule add fwmark %s/%s lookup %d\n",
		    prefix, ip, FWRULES_MARK, FWRULES_MARK, FWRULES_TABLE);
		fprintf(fw->out, "%s%s route %s local %s dev lo table %d\n",
		    prefix, ip, script ? "replace" : "add",
		    f == FAM4 ? "0.0.0.0/0" : "::/0", FWRULES_TABLE);
	}
}

static void
write_nft(struct fw *fw)
{
	const struct config *cf = fw->cf;
	int tproxy = all_families(cf, MODE_TPROXY);
	int redirect = all_families(cf, MODE_REDIRECT);

	fputs("#!/usr/sbin/nft -f\n", fw->out);
	put_header(fw, "ftpgw -R");
	fputs("#\n# Load: nft -f FILE (or: ftpgw -R -c CONFIG | nft -f -); "
	    "loading it again\n# replaces the table. Remove: nft delete table "
	    "inet ftpgw\n\n", fw->out);
	fputs("# Start from a clean table, so that this can be loaded again "
	    "after a change.\n"
	    "table inet ftpgw\n"
	    "delete table inet ftpgw\n\n"
	    "table inet ftpgw {\n", fw->out);
	if (tproxy != 0)
		nft_tproxy_chain(fw);
	if (tproxy != 0 && redirect != 0)
		fputc('\n', fw->out);
	if (redirect != 0)
		nft_redirect_chain(fw);
	if (tproxy == 0 && redirect == 0)
		fputs("\t# No listen section intercepts traffic: the table "
		    "stays empty.\n", fw->out);
	fputs("}\n", fw->out);
	if (tproxy != 0) {
		fputs("\n# Mode tproxy: marked packets must be routed to the "
		    "local stack. nft cannot\n# set this up; run these once "
		    "(for example at boot):\n", fw->out);
		put_policy_routing(fw, tproxy, "#   ", false);
	}
	put_reverse(fw);
}

/*
 * iptables: a sh script. The rules live in chains of their own, created or
 * emptied, and hooked into PREROUTING once, so the script can run again.
 */

static void
ipt_iface(struct fw *fw, const struct listen_conf *lc)
{
	if (lc->interface != NULL)
		fprintf(fw->out, "-i %s ", lc->interface);
	else
		fputs("! -i lo ", fw->out);
}

static void
ipt_comment(struct fw *fw, const struct listen_conf *lc, const char *what)
{
	fputs("-m comment --comment \"ftpgw: listen ", fw->out);
	put_safe(fw->out, lc->name);
	fprintf(fw->out, " %s\" ", what);
}

/* Create CHAIN in TABLE, or empty it when it is there. */
static void
ipt_chain(struct fw *fw, const char *ipt, const char *table,
    const char *chain)
{
	fprintf(fw->out, "%s -w -t %s -N %s 2>/dev/null || %s -w -t %s -F %s\n",
	    ipt, table, chain, ipt, table, chain);
}

/* Jump from PREROUTING to CHAIN, once, as the first rule. */
static void
ipt_hook(struct fw *fw, const char *ipt, const char *table,
    const char *chain)
{
	fprintf(fw->out, "%s -w -t %s -C PREROUTING -j %s 2>/dev/null ||\n"
	    "    %s -w -t %s -I PREROUTING 1 -j %s\n", ipt, table, chain, ipt,
	    table, chain);
}

/* The rules that send the control ports to listener LC with TARGET: one
 * per group of at most 15 ports. */
static void
ipt_control(struct fw *fw, const char *ipt, const char *table,
    const struct listen_conf *lc, const char *target)
{
	for (size_t i = 0; i < fw->nports; i += MULTIPORT_MAX) {
		size_t end = i + MULTIPORT_MAX < fw->nports ?
		    i + MULTIPORT_MAX : fw->nports;

		fprintf(fw->out, "%s -w -t %s -A %s ", ipt, table,
		    strcmp(table, "nat") == 0 ? NAT_CHAIN : MANGLE_CHAIN);
		ipt_iface(fw, lc);
		if (end - i == 1)
			fprintf(fw->out, "-p tcp --dport %u ",
			    (unsigned)fw->ports[i]);
		else {
			fputs("-p tcp -m multiport --dports ", fw->out);
			put_port_list(fw, i, end, ",");
			fputc(' ', fw->out);
		}
		ipt_comment(fw, lc, "control");
		fprintf(fw->out, "%s\n", target);
	}
}

static void
ipt_family(struct fw *fw, int f)
{
	const struct config *cf = fw->cf;
	const char *ipt = f == FAM4 ? "iptables" : "ip6tables";
	bool tproxy = (all_families(cf, MODE_TPROXY) & f) != 0;
	bool redirect = (all_families(cf, MODE_REDIRECT) & f) != 0;
	char a[ADDR_STRLEN], target[128];

	fprintf(fw->out, "\n### %s\n", f == FAM4 ? "IPv4" : "IPv6");
	if (tproxy) {
		fputs("\n# Mode tproxy, table mangle. The divert chain marks "
		    "a packet for the local\n# route and accepts it.\n",
		    fw->out);
		ipt_chain(fw, ipt, "mangle", DIVERT_CHAIN);
		fprintf(fw->out, "%s -w -t mangle -A %s -j MARK --set-mark "
		    "%s/%s\n%s -w -t mangle -A %s -j ACCEPT\n", ipt,
		    DIVERT_CHAIN, FWRULES_MARK, FWRULES_MARK, ipt, DIVERT_CHAIN);
		ipt_chain(fw, ipt, "mangle", MANGLE_CHAIN);
		ipt_hook(fw, ipt, "mangle", MANGLE_CHAIN);
		fprintf(fw->out, "# Packets of ftpgw's transparent sockets, on "
		    "every interface: first, and\n# accepted (a mark without "
		    "accept before TPROXY drops the data SYNs).\n"
		    "%s -w -t mangle -A %s -p tcp -m socket --transparent -m "
		    "comment --comment \"ftpgw: transparent sockets\" -j %s\n",
		    ipt, MANGLE_CHAIN, DIVERT_CHAIN);
		for (size_t i = 0; i < cf->n_listens; i++) {
			const struct listen_conf *lc = &cf->listens[i];

			if (lc->mode != MODE_TPROXY || (families(lc) & f) == 0)
				continue;
			put_listen_comment(fw, "", lc, "control ports diverted "
			    "to its port");
			put_overlaps(fw, "", i);
			if (addr_is_any(SA(&lc->addr)))
				snprintf(target, sizeof(target), "-j TPROXY "
				    "--on-port %u --tproxy-mark %s/%s",
				    (unsigned)addr_port(SA(&lc->addr)),
				    FWRULES_MARK, FWRULES_MARK);
			else
				snprintf(target, sizeof(target), "-j TPROXY "
				    "--on-ip %s --on-port %u "
				    "--tproxy-mark %s/%s",
				    addr_fmt_host(SA(&lc->addr), a, sizeof(a)),
				    (unsigned)addr_port(SA(&lc->addr)),
				    FWRULES_MARK, FWRULES_MARK);
			ipt_control(fw, ipt, "mangle", lc, target);
		}
		fputs("# Marked packets are routed to the local stack.\n",
		    fw->out);
		put_policy_routing(fw, f, "", true);
	}
	if (!redirect)
		return;
	fprintf(fw->out, "\n# Mode redirect, table nat.\n");
	ipt_chain(fw, ipt, "nat", NAT_CHAIN);
	ipt_hook(fw, ipt, "nat", NAT_CHAIN);
	for (size_t i = 0; i < cf->n_listens; i++) {
		const struct listen_conf *lc = &cf->listens[i];

		if (lc->mode != MODE_REDIRECT || (families(lc) & f) == 0)
			continue;
		put_listen_comment(fw, "", lc, "control ports redirected to "
		    "its port");
		put_overlaps(fw, "", i);
		if (addr_is_any(SA(&lc->addr)))
			snprintf(target, sizeof(target), "-j REDIRECT "
			    "--to-ports %u",
			    (unsigned)addr_port(SA(&lc->addr)));
		else {
			/* REDIRECT goes to the incoming interface's first
			 * address, which need not be the listener's. */
			fputs("# It listens on one address: DNAT to that "
			    "address.\n", fw->out);
			snprintf(target, sizeof(target), "-j DNAT "
			    "--to-destination %s", addr_fmt(SA(&lc->addr), a,
			    sizeof(a)));
		}
		ipt_control(fw, ipt, "nat", lc, target);
		if (!passive_redirected(lc)) {
			fputs("# No rule for the passive range: "
			    "passive-address is not original.\n", fw->out);
			continue;
		}
		fputs("# passive-address original: the clients' data "
		    "connections to the server's\n# address on the passive "
		    "range, to the same port (REDIRECT keeps it).\n", fw->out);
		fprintf(fw->out, "%s -w -t nat -A %s ", ipt, NAT_CHAIN);
		ipt_iface(fw, lc);
		if (lc->pasv_lo == lc->pasv_hi)
			fprintf(fw->out, "-p tcp --dport %u ",
			    (unsigned)lc->pasv_lo);
		else
			fprintf(fw->out, "-p tcp --dport %u:%u ",
			    (unsigned)lc->pasv_lo, (unsigned)lc->pasv_hi);
		ipt_comment(fw, lc, "passive");
		fputs("-j REDIRECT\n", fw->out);
	}
}

static void
write_iptables(struct fw *fw)
{
	const struct config *cf = fw->cf;
	int fams = all_families(cf, MODE_TPROXY) |
	    all_families(cf, MODE_REDIRECT);

	fputs("#!/bin/sh\n", fw->out);
	put_header(fw, "ftpgw -R -i");
	fprintf(fw->out, "#\n# Run: sh FILE (or: ftpgw -R -i -c CONFIG | sh), "
	    "as root. It can run again:\n# the rules live in chains of their "
	    "own (%s in nat, %s and\n# %s in mangle), emptied and filled "
	    "again, and hooked into PREROUTING\n# once. Remove: iptables -t "
	    "TABLE -D PREROUTING -j CHAIN, then -F and -X\n# each chain (the "
	    "same with ip6tables), and ip rule del fwmark %s/%s\n# lookup "
	    "%d (and ip -6 ...).\n\nset -e\n", NAT_CHAIN, MANGLE_CHAIN,
	    DIVERT_CHAIN, FWRULES_MARK, FWRULES_MARK, FWRULES_TABLE);
	if (fams == 0)
		fputs("\n# No listen section intercepts traffic: no rule.\n",
		    fw->out);
	for (int f = FAM4; f <= FAM6; f <<= 1)
		if (fams & f)
			ipt_family(fw, f);
	put_reverse(fw);
}

int
fwrules_write(FILE *out, const struct config *cf,
    enum fwrules_flavor flavor)
{
	struct fw fw;

	memset(&fw, 0, sizeof(fw));
	fw.out = out;
	fw.cf = cf;
	if (collect_ports(&fw) == -1)
		return -1;
	if (flavor == FWRULES_IPTABLES)
		write_iptables(&fw);
	else
		write_nft(&fw);
	free(fw.ports);
	if (fflush(out) == EOF || ferror(out))
		return -1;
	return 0;
}
