/* check_addr.c: unit tests for src/addr.c. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "unit.h"

static struct sockaddr_storage
parsed(const char *s, bool port_required)
{
	struct sockaddr_storage ss;

	ck_assert_msg(addr_parse(s, port_required, &ss) == 0, "parse %s", s);
	return ss;
}

static const char *
fmt(const struct sockaddr_storage *ss)
{
	static char buf[ADDR_STRLEN];

	return addr_fmt((const struct sockaddr *)ss, buf, sizeof(buf));
}

START_TEST(test_parse_ipv4)
{
	struct sockaddr_storage ss = parsed("203.0.113.2", false);

	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_uint_eq(addr_port((struct sockaddr *)&ss), 0);
	ck_assert_str_eq(fmt(&ss), "203.0.113.2:0");

	ss = parsed("203.0.113.2:21", true);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_uint_eq(addr_port((struct sockaddr *)&ss), 21);
	ck_assert_str_eq(fmt(&ss), "203.0.113.2:21");

	ss = parsed("0.0.0.0:65535", false);
	ck_assert_uint_eq(addr_port((struct sockaddr *)&ss), 65535);
}
END_TEST

START_TEST(test_parse_ipv6)
{
	struct sockaddr_storage ss = parsed("2001:db8::1", false);

	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_uint_eq(addr_port((struct sockaddr *)&ss), 0);

	ss = parsed("[2001:db8::1]", false);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_uint_eq(addr_port((struct sockaddr *)&ss), 0);

	ss = parsed("[2001:db8::1]:2121", true);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_uint_eq(addr_port((struct sockaddr *)&ss), 2121);
	ck_assert_str_eq(fmt(&ss), "[2001:db8::1]:2121");

	ss = parsed("::", false);
	ck_assert(addr_is_any((struct sockaddr *)&ss));
}
END_TEST

START_TEST(test_parse_mapped_kept)
{
	/* A literal IPv4-mapped address stays AF_INET6 as written. */
	struct sockaddr_storage ss = parsed("[::ffff:192.0.2.1]:21", true);

	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_uint_eq(addr_port((struct sockaddr *)&ss), 21);
}
END_TEST

START_TEST(test_parse_rejects)
{
	static const char *const bad[] = {
		"", "x", "localhost", "203.0.113.2:", "203.0.113.2:0",
		"203.0.113.2:65536", "203.0.113.2:99999999999999999999",
		"203.0.113.2:+21", "203.0.113.2: 21", " 203.0.113.2",
		"203.0.113.2 ", "203.0.113.256", "203.0.113", "0x7f.0.0.1",
		"[203.0.113.2]:21", "[2001:db8::1", "[2001:db8::1]21",
		"[2001:db8::1]:", "[2001:db8::1]:0", "2001:db8::1:21:x",
		"[]:21", "fe80::1%eth0", "1.2.3.4:21:22",
	};
	struct sockaddr_storage ss;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(addr_parse(bad[i], false, &ss) == -1,
		    "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(addr_parse(NULL, false, &ss), -1);
	/* PORT_REQUIRED: a missing port is an error. */
	ck_assert_int_eq(addr_parse("203.0.113.2", true, &ss), -1);
	ck_assert_int_eq(addr_parse("[2001:db8::1]", true, &ss), -1);
	ck_assert_int_eq(addr_parse("2001:db8::1", true, &ss), -1);
}
END_TEST

START_TEST(test_unmap)
{
	struct sockaddr_storage ss = parsed("[::ffff:192.0.2.1]:2121", true);
	struct sockaddr_storage v6 = parsed("[2001:db8::1]:21", true);
	struct sockaddr_storage copy = v6;
	char host[ADDR_STRLEN];

	addr_unmap(&ss);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_uint_eq(addr_port((struct sockaddr *)&ss), 2121);
	ck_assert_str_eq(addr_fmt_host((struct sockaddr *)&ss, host,
	    sizeof(host)), "192.0.2.1");
	ck_assert_uint_eq(addr_len((struct sockaddr *)&ss),
	    sizeof(struct sockaddr_in));

	/* A real IPv6 address and an IPv4 one are left alone. */
	addr_unmap(&v6);
	ck_assert(memcmp(&v6, &copy, sizeof(v6)) == 0);
	copy = ss;
	addr_unmap(&ss);
	ck_assert(memcmp(&ss, &copy, sizeof(ss)) == 0);
}
END_TEST

START_TEST(test_equal)
{
	struct sockaddr_storage a = parsed("192.0.2.1:21", true);
	struct sockaddr_storage b = parsed("192.0.2.1:2121", true);
	struct sockaddr_storage c = parsed("192.0.2.2:21", true);
	struct sockaddr_storage m = parsed("[::ffff:192.0.2.1]:21", true);
	struct sockaddr_storage v6 = parsed("[2001:db8::1]:21", true);
	struct sockaddr_storage v6b = parsed("[2001:db8::1]:21", true);

	ck_assert(addr_equal((struct sockaddr *)&a, (struct sockaddr *)&a));
	ck_assert(!addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b));
	ck_assert(addr_equal_host((struct sockaddr *)&a, (struct sockaddr *)&b));
	ck_assert(!addr_equal_host((struct sockaddr *)&a, (struct sockaddr *)&c));
	ck_assert(addr_equal((struct sockaddr *)&v6, (struct sockaddr *)&v6b));
	ck_assert(!addr_equal_host((struct sockaddr *)&a, (struct sockaddr *)&v6));
	/* The mapped form of the same peer is the same host. */
	ck_assert(addr_equal((struct sockaddr *)&a, (struct sockaddr *)&m));
}
END_TEST

START_TEST(test_any_port_len)
{
	struct sockaddr_storage ss;
	char buf[ADDR_STRLEN];

	addr_any(&ss, AF_INET, 8021);
	ck_assert(addr_is_any((struct sockaddr *)&ss));
	ck_assert_str_eq(addr_fmt((struct sockaddr *)&ss, buf, sizeof(buf)),
	    "0.0.0.0:8021");
	addr_any(&ss, AF_INET6, 0);
	ck_assert(addr_is_any((struct sockaddr *)&ss));
	ck_assert_str_eq(addr_fmt((struct sockaddr *)&ss, buf, sizeof(buf)),
	    "[::]:0");
	addr_set_port((struct sockaddr *)&ss, 990);
	ck_assert_uint_eq(addr_port((struct sockaddr *)&ss), 990);
	ck_assert_uint_eq(addr_len((struct sockaddr *)&ss),
	    sizeof(struct sockaddr_in6));

	ss = parsed("192.0.2.1", false);
	ck_assert(!addr_is_any((struct sockaddr *)&ss));
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	ck_assert_uint_eq(addr_len((struct sockaddr *)&ss), 0);
	ck_assert_uint_eq(addr_port((struct sockaddr *)&ss), 0);
	ck_assert(!addr_is_any((struct sockaddr *)&ss));
}
END_TEST

START_TEST(test_fmt_truncates)
{
	struct sockaddr_storage ss = parsed("[2001:db8:1:2:3:4:5:6]:65535", true);
	char big[ADDR_STRLEN], small[8];

	ck_assert_str_eq(addr_fmt((struct sockaddr *)&ss, big, sizeof(big)),
	    "[2001:db8:1:2:3:4:5:6]:65535");
	addr_fmt((struct sockaddr *)&ss, small, sizeof(small));
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert_str_eq(addr_fmt_host((struct sockaddr *)&ss, big,
	    sizeof(big)), "2001:db8:1:2:3:4:5:6");
}
END_TEST

/* addr_fmt() writes IPv4 by hand: the same text as inet_ntop and
 * snprintf, cut the same way. */
START_TEST(test_fmt_ipv4_by_hand)
{
	static const char *hosts[] = { "0.0.0.0", "9.10.99.100", "255.255.255.255",
	    "198.51.100.7", "10.0.0.1" };
	static const unsigned ports[] = { 0, 1, 9, 10, 21, 999, 1000, 65535 };

	for (size_t h = 0; h < sizeof(hosts) / sizeof(hosts[0]); h++)
		for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
			struct sockaddr_in sin = { .sin_family = AF_INET,
			    .sin_port = htons((uint16_t)ports[i]) };
			char want[ADDR_STRLEN], got[ADDR_STRLEN];

			ck_assert_int_eq(inet_pton(AF_INET, hosts[h], &sin.sin_addr), 1);
			snprintf(want, sizeof(want), "%s:%u", hosts[h], ports[i]);
			for (size_t size = 0; size <= strlen(want) + 1; size++) {
				char cut[ADDR_STRLEN];

				memset(got, 'z', sizeof(got));
				snprintf(cut, size > 0 ? size : 1, "%s", want);
				addr_fmt((struct sockaddr *)&sin, got, size);
				if (size > 0)
					ck_assert_str_eq(got, cut);
				else
					ck_assert_int_eq(got[0], 'z');
			}
			ck_assert_str_eq(addr_fmt_host((struct sockaddr *)&sin, got,
			    sizeof(got)), hosts[h]);
		}
}
END_TEST

START_TEST(test_prefix_parse)
{
	struct addr_prefix p;

	ck_assert_int_eq(prefix_parse("198.51.100.0/24", &p), 0);
	ck_assert_int_eq(p.family, AF_INET);
	ck_assert_uint_eq(p.len, 24);
	ck_assert_int_eq(prefix_parse("::/0", &p), 0);
	ck_assert_int_eq(p.family, AF_INET6);
	ck_assert_uint_eq(p.len, 0);
	ck_assert_int_eq(prefix_parse("0.0.0.0/0", &p), 0);
	ck_assert_uint_eq(p.len, 0);
	ck_assert_int_eq(prefix_parse("2001:db8::1", &p), 0);
	ck_assert_uint_eq(p.len, 128);
	ck_assert_int_eq(prefix_parse("192.0.2.7", &p), 0);
	ck_assert_uint_eq(p.len, 32);
	ck_assert_int_eq(prefix_parse("10.128.0.0/9", &p), 0);
	ck_assert_int_eq(prefix_parse("2001:db8::/32", &p), 0);

	ck_assert_int_eq(prefix_parse("198.51.100.1/24", &p), -1); /* host bits */
	ck_assert_int_eq(prefix_parse("10.192.0.0/9", &p), -1);
	ck_assert_int_eq(prefix_parse("198.51.100.0/33", &p), -1);
	ck_assert_int_eq(prefix_parse("::/129", &p), -1);
	ck_assert_int_eq(prefix_parse("198.51.100.0/", &p), -1);
	ck_assert_int_eq(prefix_parse("/24", &p), -1);
	ck_assert_int_eq(prefix_parse("198.51.100.0/-1", &p), -1);
	ck_assert_int_eq(prefix_parse("198.51.100.0/ 24", &p), -1);
	ck_assert_int_eq(prefix_parse("198.51.100.0/24x", &p), -1);
	ck_assert_int_eq(prefix_parse("198.51.100.0/00000000000000000000024", &p), 0);
	ck_assert_int_eq(prefix_parse("host/24", &p), -1);
	ck_assert_int_eq(prefix_parse("[::]/0", &p), -1);
	ck_assert_int_eq(prefix_parse("", &p), -1);
}
END_TEST

START_TEST(test_prefix_contains)
{
	struct addr_prefix v4, v6, all4, all6, host, odd;
	struct sockaddr_storage in = parsed("198.51.100.77:21", true);
	struct sockaddr_storage out = parsed("198.51.101.1:21", true);
	struct sockaddr_storage in6 = parsed("[2001:db8:0:1::5]:21", true);
	struct sockaddr_storage mapped = parsed("[::ffff:198.51.100.77]:21", true);

	ck_assert_int_eq(prefix_parse("198.51.100.0/24", &v4), 0);
	ck_assert_int_eq(prefix_parse("2001:db8::/32", &v6), 0);
	ck_assert_int_eq(prefix_parse("0.0.0.0/0", &all4), 0);
	ck_assert_int_eq(prefix_parse("::/0", &all6), 0);
	ck_assert_int_eq(prefix_parse("198.51.100.77", &host), 0);
	ck_assert_int_eq(prefix_parse("198.51.100.64/27", &odd), 0);

	ck_assert(prefix_contains(&v4, (struct sockaddr *)&in));
	ck_assert(!prefix_contains(&v4, (struct sockaddr *)&out));
	ck_assert(prefix_contains(&host, (struct sockaddr *)&in));
	ck_assert(prefix_contains(&odd, (struct sockaddr *)&in));
	ck_assert(!prefix_contains(&odd, (struct sockaddr *)&out));
	ck_assert(prefix_contains(&v6, (struct sockaddr *)&in6));
	ck_assert(prefix_contains(&all4, (struct sockaddr *)&out));
	/* Families do not mix... */
	ck_assert(!prefix_contains(&all6, (struct sockaddr *)&in));
	ck_assert(!prefix_contains(&all4, (struct sockaddr *)&in6));
	ck_assert(!prefix_contains(&v4, (struct sockaddr *)&in6));
	/* ...but an IPv4-mapped peer counts as IPv4. */
	ck_assert(prefix_contains(&v4, (struct sockaddr *)&mapped));
	ck_assert(prefix_contains(&all4, (struct sockaddr *)&mapped));
	ck_assert(!prefix_contains(&all6, (struct sockaddr *)&mapped));
}
END_TEST

START_TEST(test_port_range)
{
	static const char *const bad[] = {
		"0", "0-10", "50999-50000", "1-70000", "70000", "a-b", "",
		" 50000-50999", "50000 -50999", "50000- 50999", "50000-50999 ",
		"-", "50000-", "-50999", "+1-2", "1--2", "1-2-3", "65536",
	};
	uint16_t lo, hi;

	ck_assert_int_eq(port_range_parse("50000-50999", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 50000);
	ck_assert_uint_eq(hi, 50999);
	ck_assert_int_eq(port_range_parse("50000", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 50000);
	ck_assert_uint_eq(hi, 50000);
	ck_assert_int_eq(port_range_parse("1-65535", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 1);
	ck_assert_uint_eq(hi, 65535);

	lo = hi = 7;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(port_range_parse(bad[i], &lo, &hi) == -1,
		    "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(port_range_parse(NULL, &lo, &hi), -1);
	/* A failed parse leaves the outputs alone. */
	ck_assert_uint_eq(lo, 7);
	ck_assert_uint_eq(hi, 7);
}
END_TEST

Suite *
suite_addr(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse_ipv4);
	tcase_add_test(tc, test_parse_ipv6);
	tcase_add_test(tc, test_parse_mapped_kept);
	tcase_add_test(tc, test_parse_rejects);
	tcase_add_test(tc, test_unmap);
	tcase_add_test(tc, test_equal);
	tcase_add_test(tc, test_any_port_len);
	tcase_add_test(tc, test_fmt_truncates);
	tcase_add_test(tc, test_fmt_ipv4_by_hand);
	tcase_add_test(tc, test_prefix_parse);
	tcase_add_test(tc, test_prefix_contains);
	tcase_add_test(tc, test_port_range);
	suite_add_tcase(s, tc);
	return s;
}
