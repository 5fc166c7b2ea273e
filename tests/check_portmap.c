/* check_portmap.c: unit tests for src/portmap.c. */
#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "portmap.h"
#include "unit.h"

static struct sockaddr_storage
host(const char *s)
{
	struct sockaddr_storage ss;

	ck_assert_msg(addr_parse(s, false, &ss) == 0, "parse %s", s);
	return ss;
}

static struct addr_prefix
prefix(const char *s)
{
	struct addr_prefix p;

	ck_assert_msg(prefix_parse(s, &p) == 0, "prefix %s", s);
	return p;
}

START_TEST(test_names)
{
	ck_assert_str_eq(app_kind_name(APP_FTP), "ftp");
	ck_assert_str_eq(app_kind_name(APP_FTPS), "ftps");
	ck_assert_str_eq(app_kind_name(APP_TCP), "tcp");
	ck_assert_int_eq(app_kind_from_string("ftp"), APP_FTP);
	ck_assert_int_eq(app_kind_from_string("ftps"), APP_FTPS);
	ck_assert_int_eq(app_kind_from_string("tcp"), APP_TCP);
	ck_assert_int_eq(app_kind_from_string("http"), -1);
	ck_assert_int_eq(app_kind_from_string(""), -1);
	ck_assert_int_eq(app_kind_from_string("ftp "), -1);
	ck_assert_int_eq(app_kind_from_string(NULL), -1);
}
END_TEST

START_TEST(test_lookup)
{
	uint16_t ftp_ports[] = { 21, 9091 };
	uint16_t ftps_ports[] = { 990 };
	uint16_t tcp_ports[] = { 21 };
	uint16_t default_ports[] = { 21 };
	struct addr_prefix lan[] = { prefix("10.0.0.0/8") };
	struct addr_prefix one_host[] = { prefix("10.1.2.3") };
	struct addr_prefix every[] = { prefix("0.0.0.0/0"), prefix("::/0") };
	struct addr_prefix v6[] = { prefix("2001:db8::/32") };
	struct portmap maps[] = {
		{ "lan-ftp", APP_FTP, ftp_ports, 2, lan, 1 },
		{ "implicit", APP_FTPS, ftps_ports, 1, every, 2 },
		{ "one-host-tcp", APP_TCP, tcp_ports, 1, one_host, 1 },
		{ "v6-tcp", APP_TCP, tcp_ports, 1, v6, 1 },
		{ "ftp", APP_FTP, default_ports, 1, every, 2 },
	};
	size_t n = sizeof(maps) / sizeof(maps[0]);
	struct sockaddr_storage lan_host = host("10.9.9.9");
	struct sockaddr_storage the_host = host("10.1.2.3");
	struct sockaddr_storage mapped = host("::ffff:10.1.2.3");
	struct sockaddr_storage inet = host("192.0.2.1");
	struct sockaddr_storage inet6 = host("2001:db8::21");
	struct sockaddr_storage other6 = host("2001:db9::21");

	/* 9091 is FTP only on the LAN. */
	ck_assert_ptr_eq(portmap_lookup(maps, n, (struct sockaddr *)&lan_host,
	    9091), &maps[0]);
	ck_assert_ptr_null(portmap_lookup(maps, n, (struct sockaddr *)&inet, 9091));
	/* The /32 beats the /8 and the /0 for port 21. */
	ck_assert_ptr_eq(portmap_lookup(maps, n, (struct sockaddr *)&the_host,
	    21), &maps[2]);
	ck_assert_ptr_eq(portmap_lookup(maps, n, (struct sockaddr *)&mapped,
	    21), &maps[2]);
	ck_assert_ptr_eq(portmap_lookup(maps, n, (struct sockaddr *)&lan_host,
	    21), &maps[0]);
	/* Elsewhere the built-in default. */
	ck_assert_ptr_eq(portmap_lookup(maps, n, (struct sockaddr *)&inet, 21),
	    &maps[4]);
	ck_assert_ptr_eq(portmap_lookup(maps, n, (struct sockaddr *)&inet6, 21),
	    &maps[3]);
	ck_assert_ptr_eq(portmap_lookup(maps, n, (struct sockaddr *)&other6, 21),
	    &maps[4]);
	ck_assert_ptr_eq(portmap_lookup(maps, n, (struct sockaddr *)&inet6, 990),
	    &maps[1]);
	ck_assert_ptr_null(portmap_lookup(maps, n, (struct sockaddr *)&inet, 80));
	ck_assert_ptr_null(portmap_lookup(maps, 0, (struct sockaddr *)&inet, 21));
}
END_TEST

START_TEST(test_tie_earlier_wins)
{
	uint16_t ports[] = { 21 };
	struct addr_prefix every[] = { prefix("0.0.0.0/0"), prefix("::/0") };
	struct addr_prefix lan_a[] = { prefix("10.0.0.0/8") };
	struct addr_prefix lan_b[] = { prefix("::/0"), prefix("10.0.0.0/8") };
	struct portmap maps[] = {
		{ "first", APP_TCP, ports, 1, every, 2 },
		{ "second", APP_FTP, ports, 1, every, 2 },
		{ "lan-a", APP_FTPS, ports, 1, lan_a, 1 },
		{ "lan-b", APP_FTP, ports, 1, lan_b, 2 },
	};
	struct sockaddr_storage inet = host("192.0.2.1");
	struct sockaddr_storage lan = host("10.0.0.1");

	ck_assert_ptr_eq(portmap_lookup(maps, 4, (struct sockaddr *)&inet, 21),
	    &maps[0]);
	ck_assert_ptr_eq(portmap_lookup(maps, 4, (struct sockaddr *)&lan, 21),
	    &maps[2]);
	/* Order of the entries, not of the prefixes inside one entry. */
	ck_assert_ptr_eq(portmap_lookup(&maps[3], 1, (struct sockaddr *)&lan,
	    21), &maps[3]);
}
END_TEST

Suite *
suite_portmap(void)
{
	Suite *s = suite_create("portmap");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_tie_earlier_wins);
	suite_add_tcase(s, tc);
	return s;
}
