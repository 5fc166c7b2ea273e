/* check_fwrules.c: unit tests for src/fwrules.c, the output of ftpgw -R:
 * the key lines for redirect, tproxy and reverse listeners (fixtures
 * tests/data/rules-*.conf) in both flavors, and their order where it
 * matters. tests/cli.sh applies the output for real. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fwrules.h"
#include "unit.h"

static struct config *
load_fixture(const char *name)
{
	char *errors = NULL;
	size_t size = 0;
	FILE *err = open_memstream(&errors, &size);
	struct config *cf;

	ck_assert_ptr_nonnull(err);
	cf = config_load(test_data_path(name), err);
	fclose(err);
	ck_assert_msg(cf != NULL, "%s failed:\n%s", name, errors);
	free(errors);
	return cf;
}

static struct config *
parse_text(const char *text)
{
	char *errors = NULL;
	size_t size = 0;
	FILE *err = open_memstream(&errors, &size);
	struct config *cf;

	ck_assert_ptr_nonnull(err);
	cf = config_parse("test.conf", text, strlen(text), err);
	fclose(err);
	ck_assert_msg(cf != NULL, "test.conf failed:\n%s", errors);
	free(errors);
	return cf;
}

/* The rules for CF (unreferenced here) as one string; caller frees. */
static char *
render(struct config *cf, enum fwrules_flavor flavor)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(fwrules_write(out, cf, flavor), 0);
	fclose(out);
	config_unref(cf);
	return text;
}

/* Where LINE is in TEXT, as a whole line; fails when it is not. */
static const char *
find_line(const char *text, const char *line)
{
	size_t len = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') &&
		    (p[len] == '\n' || p[len] == '\0'))
			return p;
	ck_abort_msg("missing line\n%s\nin:\n%s", line, text);
	return NULL;
}

/* Check has no ck_assert_ptr_lt: A comes before B in the output. */
#define assert_before(a, b) \
	ck_assert_msg((a) < (b), "%s is not before %s", #a, #b)

static void
assert_has(const char *text, const char *part)
{
	ck_assert_msg(strstr(text, part) != NULL, "missing \"%s\" in:\n%s",
	    part, text);
}

static void
assert_lacks(const char *text, const char *part)
{
	ck_assert_msg(strstr(text, part) == NULL, "unexpected \"%s\" in:\n%s",
	    part, text);
}

START_TEST(test_redirect_nft)
{
	char *t = render(load_fixture("rules-redirect.conf"), FWRULES_NFT);

	ck_assert_msg(strncmp(t, "#!/usr/sbin/nft -f\n", 19) == 0, "%s", t);
	/* Flushed first, so that it can be loaded again. */
	assert_before(find_line(t, "table inet ftpgw"),
	    find_line(t, "delete table inet ftpgw"));
	assert_before(find_line(t, "delete table inet ftpgw"),
	    find_line(t, "table inet ftpgw {"));
	find_line(t, "\t\ttype nat hook prerouting priority dstnat; "
	    "policy accept;");
	/* Every port of every port-mapping, the built-in 21 and tcp ones
	 * too, sorted and once. */
	assert_has(t, "# Control ports (every port of every port-mapping, "
	    "the built-in 21, and 990\n# with TLS, included): 21, 2121, "
	    "9000.\n");
	assert_has(t, "\t\t# listen \"outbound\" (redirect, [::]:8021): "
	    "control ports redirected to its port.\n\t\t# Clients on eth0.\n");
	find_line(t, "\t\tiifname \"eth0\" tcp dport { 21, 2121, 9000 } "
	    "redirect to :8021 comment \"ftpgw: listen outbound control\"");
	find_line(t, "\t\tiifname \"eth0\" tcp dport 50000-50999 redirect "
	    "comment \"ftpgw: listen outbound passive\"");
	/* An IPv4 listener on one address: IPv4 only, NAT to it, and no
	 * passive rule with passive-address local. */
	find_line(t, "\t\tiifname \"eth1.20\" meta nfproto ipv4 tcp dport "
	    "{ 21, 2121, 9000 } dnat ip to 192.0.2.1:8022 comment \"ftpgw: "
	    "listen lan-v4 control\"");
	assert_lacks(t, "listen lan-v4 passive");
	assert_has(t, "# No rule for the passive range: passive-address is "
	    "not original.");
	assert_lacks(t, "tproxy");
	assert_lacks(t, "ip rule");
	assert_lacks(t, "Warning");
	free(t);
}
END_TEST

START_TEST(test_redirect_iptables)
{
	char *t = render(load_fixture("rules-redirect.conf"),
	    FWRULES_IPTABLES);

	ck_assert_msg(strncmp(t, "#!/bin/sh\n", 10) == 0, "%s", t);
	find_line(t, "set -e");
	find_line(t, "iptables -w -t nat -N FTPGW 2>/dev/null || iptables -w "
	    "-t nat -F FTPGW");
	find_line(t, "iptables -w -t nat -A FTPGW -i eth0 -p tcp -m multiport "
	    "--dports 21,2121,9000 -m comment --comment \"ftpgw: listen "
	    "outbound control\" -j REDIRECT --to-ports 8021");
	find_line(t, "ip6tables -w -t nat -A FTPGW -i eth0 -p tcp -m "
	    "multiport --dports 21,2121,9000 -m comment --comment \"ftpgw: "
	    "listen outbound control\" -j REDIRECT --to-ports 8021");
	find_line(t, "iptables -w -t nat -A FTPGW -i eth0 -p tcp --dport "
	    "50000:50999 -m comment --comment \"ftpgw: listen outbound "
	    "passive\" -j REDIRECT");
	find_line(t, "ip6tables -w -t nat -A FTPGW -i eth0 -p tcp --dport "
	    "50000:50999 -m comment --comment \"ftpgw: listen outbound "
	    "passive\" -j REDIRECT");
	find_line(t, "iptables -w -t nat -A FTPGW -i eth1.20 -p tcp -m "
	    "multiport --dports 21,2121,9000 -m comment --comment \"ftpgw: "
	    "listen lan-v4 control\" -j DNAT --to-destination 192.0.2.1:8022");
	assert_lacks(t, "ip6tables -w -t nat -A FTPGW -i eth1.20");
	assert_lacks(t, "mangle -A");
	assert_lacks(t, "ip rule add");
	free(t);
}
END_TEST

START_TEST(test_tproxy_nft)
{
	char *t = render(load_fixture("rules-tproxy.conf"), FWRULES_NFT);
	const char *sock, *v4, *v6;

	find_line(t, "\t\ttype filter hook prerouting priority mangle; "
	    "policy accept;");
	/* The socket rule first, and with accept. */
	sock = find_line(t, "\t\tmeta l4proto tcp socket transparent 1 meta "
	    "mark set mark | 0x1 accept comment \"ftpgw: transparent "
	    "sockets\"");
	/* No interface set: every one but lo, and the output says so; the
	 * built-in ftps port 990 with TLS. */
	assert_has(t, "\t\t# Clients on every interface but lo ('interface' "
	    "is not set).\n");
	v4 = find_line(t, "\t\tiifname != \"lo\" meta nfproto ipv4 tcp dport "
	    "{ 21, 990 } tproxy ip to :8021 meta mark set mark | 0x1 accept "
	    "comment \"ftpgw: listen transparent control\"");
	v6 = find_line(t, "\t\tiifname != \"lo\" meta nfproto ipv6 tcp dport "
	    "{ 21, 990 } tproxy ip6 to :8021 meta mark set mark | 0x1 accept "
	    "comment \"ftpgw: listen transparent control\"");
	assert_before(sock, v4);
	assert_before(sock, v6);
	/* The policy routing, as comments with the exact commands. */
	find_line(t, "#   ip rule add fwmark 0x1/0x1 lookup 100");
	find_line(t, "#   ip route add local 0.0.0.0/0 dev lo table 100");
	find_line(t, "#   ip -6 rule add fwmark 0x1/0x1 lookup 100");
	find_line(t, "#   ip -6 route add local ::/0 dev lo table 100");
	/* No rule for the passive range: the socket rule catches it. */
	assert_lacks(t, "50000");
	assert_lacks(t, "type nat");
	free(t);
}
END_TEST

START_TEST(test_tproxy_iptables)
{
	char *t = render(load_fixture("rules-tproxy.conf"), FWRULES_IPTABLES);
	const char *divert, *sock, *tp, *v6;

	find_line(t, "iptables -w -t mangle -N FTPGW_DIVERT 2>/dev/null || "
	    "iptables -w -t mangle -F FTPGW_DIVERT");
	divert = find_line(t, "iptables -w -t mangle -A FTPGW_DIVERT -j MARK "
	    "--set-mark 0x1/0x1");
	find_line(t, "iptables -w -t mangle -A FTPGW_DIVERT -j ACCEPT");
	find_line(t, "iptables -w -t mangle -C PREROUTING -j FTPGW "
	    "2>/dev/null ||");
	find_line(t, "    iptables -w -t mangle -I PREROUTING 1 -j FTPGW");
	sock = find_line(t, "iptables -w -t mangle -A FTPGW -p tcp -m socket "
	    "--transparent -m comment --comment \"ftpgw: transparent "
	    "sockets\" -j FTPGW_DIVERT");
	tp = find_line(t, "iptables -w -t mangle -A FTPGW ! -i lo -p tcp -m "
	    "multiport --dports 21,990 -m comment --comment \"ftpgw: listen "
	    "transparent control\" -j TPROXY --on-port 8021 --tproxy-mark "
	    "0x1/0x1");
	assert_before(divert, sock);
	assert_before(sock, tp);
	find_line(t, "ip rule add fwmark 0x1/0x1 lookup 100");
	find_line(t, "ip route replace local 0.0.0.0/0 dev lo table 100");
	v6 = find_line(t, "ip6tables -w -t mangle -A FTPGW ! -i lo -p tcp -m "
	    "multiport --dports 21,990 -m comment --comment \"ftpgw: listen "
	    "transparent control\" -j TPROXY --on-port 8021 --tproxy-mark "
	    "0x1/0x1");
	assert_before(find_line(t, "ip6tables -w -t mangle -A FTPGW -p "
	    "tcp -m socket --transparent -m comment --comment \"ftpgw: "
	    "transparent sockets\" -j FTPGW_DIVERT"), v6);
	find_line(t, "ip -6 rule add fwmark 0x1/0x1 lookup 100");
	find_line(t, "ip -6 route replace local ::/0 dev lo table 100");
	assert_lacks(t, "50000");
	assert_lacks(t, "-t nat");
	free(t);
}
END_TEST

START_TEST(test_reverse)
{
	char *nft = render(load_fixture("rules-reverse.conf"), FWRULES_NFT);
	char *ipt = render(load_fixture("rules-reverse.conf"),
	    FWRULES_IPTABLES);

	find_line(nft, "# listen \"published\" (reverse, 192.168.0.2:9091): "
	    "no rule needed; clients connect to it directly.");
	find_line(nft, "delete table inet ftpgw");
	find_line(nft, "\t# No listen section intercepts traffic: the table "
	    "stays empty.");
	assert_lacks(nft, "chain");
	find_line(ipt, "# listen \"published\" (reverse, 192.168.0.2:9091): "
	    "no rule needed; clients connect to it directly.");
	assert_has(ipt, "passive range 51000-51099.");
	assert_lacks(ipt, "iptables -w");
	assert_lacks(ipt, "ip rule add");
	free(nft);
	free(ipt);
}
END_TEST

/* iptables' multiport takes 15 ports: more make several rules. */
START_TEST(test_many_ports)
{
	char *t = render(parse_text(
	    "listen \"v4\" { address = \"0.0.0.0\" mode = \"tproxy\" "
	    "interface = \"lan\" }\n"
	    "port-mapping \"many\" { ports = {2001, 2002, 2003, 2004, 2005, "
	    "2006, 2007, 2008, 2009, 2010, 2011, 2012, 2013, 2014, 2015, "
	    "2016} }\n"), FWRULES_IPTABLES);

	find_line(t, "iptables -w -t mangle -A FTPGW -i lan -p tcp -m "
	    "multiport --dports 21,2001,2002,2003,2004,2005,2006,2007,2008,"
	    "2009,2010,2011,2012,2013,2014 -m comment --comment \"ftpgw: "
	    "listen v4 control\" -j TPROXY --on-port 8021 --tproxy-mark "
	    "0x1/0x1");
	find_line(t, "iptables -w -t mangle -A FTPGW -i lan -p tcp -m "
	    "multiport --dports 2015,2016 -m comment --comment \"ftpgw: "
	    "listen v4 control\" -j TPROXY --on-port 8021 --tproxy-mark "
	    "0x1/0x1");
	/* 0.0.0.0: IPv4 only. */
	assert_lacks(t, "ip6tables -w");
	assert_lacks(t, "ip -6 rule add");
	free(t);
}
END_TEST

/* A tproxy listener on one address, and one control port. */
START_TEST(test_specific_address)
{
	const char *conf = "listen \"v6\" { address = \"2001:db8::1\" "
	    "mode = \"tproxy\" }\n";
	char *nft = render(parse_text(conf), FWRULES_NFT);
	char *ipt = render(parse_text(conf), FWRULES_IPTABLES);

	find_line(nft, "\t\tiifname != \"lo\" meta nfproto ipv6 tcp dport 21 "
	    "tproxy ip6 to [2001:db8::1]:8021 meta mark set mark | 0x1 "
	    "accept comment \"ftpgw: listen v6 control\"");
	assert_lacks(nft, "nfproto ipv4");
	assert_lacks(nft, "#   ip rule");
	find_line(nft, "#   ip -6 rule add fwmark 0x1/0x1 lookup 100");
	find_line(ipt, "ip6tables -w -t mangle -A FTPGW ! -i lo -p tcp "
	    "--dport 21 -m comment --comment \"ftpgw: listen v6 control\" "
	    "-j TPROXY --on-ip 2001:db8::1 --on-port 8021 --tproxy-mark "
	    "0x1/0x1");
	assert_lacks(ipt, "iptables -w");
	free(nft);
	free(ipt);
}
END_TEST

/* Two listeners that take the same connections: a warning. A listen
 * title cannot break out of a comment or a quoted string. */
START_TEST(test_overlap_and_names)
{
	char *t = render(parse_text(
	    "listen \"a\" { address = \"::\" }\n"
	    "listen \"b$(x)\\\"\" { address = \"0.0.0.0\" port = 8022 }\n"),
	    FWRULES_NFT);

	assert_has(t, "\t\t# Warning: listen \"b__x__\" takes the same IPv4 "
	    "control connections;\n");
	assert_has(t, "\t\t# Warning: listen \"a\" takes the same IPv4 "
	    "control connections;\n");
	assert_has(t, "comment \"ftpgw: listen b__x__ control\"");
	assert_lacks(t, "$(");
	free(t);
}
END_TEST

START_TEST(test_write_error)
{
	struct config *cf = load_fixture("rules-tproxy.conf");
	FILE *out = fopen("/dev/null", "r");

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(fwrules_write(out, cf, FWRULES_NFT), -1);
	fclose(out);
	config_unref(cf);
}
END_TEST

Suite *
suite_fwrules(void)
{
	Suite *s = suite_create("fwrules");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, test_redirect_nft);
	tcase_add_test(tc, test_redirect_iptables);
	tcase_add_test(tc, test_tproxy_nft);
	tcase_add_test(tc, test_tproxy_iptables);
	tcase_add_test(tc, test_reverse);
	tcase_add_test(tc, test_many_ports);
	tcase_add_test(tc, test_specific_address);
	tcase_add_test(tc, test_overlap_and_names);
	tcase_add_test(tc, test_write_error);
	suite_add_tcase(s, tc);
	return s;
}
