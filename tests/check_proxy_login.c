/* check_proxy_login.c: unit tests for src/proxy_login.c, the USER
 * user@host[:port] of explicit proxy mode. */
#include "config.h"

#include <string.h>

#include "unit.h"
#include "proxy_login.h"

static enum proxy_login_verdict
parse(const char *arg, struct proxy_login *pl)
{
	return proxy_login_parse(arg, strlen(arg), pl);
}

#define OK(arg, user, host, port) ok_at(arg, user, host, port, __LINE__)
static void
ok_at(const char *arg, const char *user, const char *host, unsigned port, int at)
{
	struct proxy_login pl;
	enum proxy_login_verdict v = parse(arg, &pl);

	ck_assert_msg(v == PROXY_LOGIN_OK, "line %d: \"%s\" refused (%d)", at, arg, (int)v);
	ck_assert_msg(strcmp(pl.user, user) == 0, "line %d: \"%s\": user \"%s\", expected \"%s\"",
	    at, arg, pl.user, user);
	ck_assert_msg(strcmp(pl.host, host) == 0, "line %d: \"%s\": host \"%s\", expected \"%s\"",
	    at, arg, pl.host, host);
	ck_assert_msg(pl.port == port, "line %d: \"%s\": port %u, expected %u", at, arg,
	    (unsigned)pl.port, port);
}

#define REFUSED(arg, verdict) refused_at(arg, verdict, __LINE__)
static void
refused_at(const char *arg, enum proxy_login_verdict want, int at)
{
	struct proxy_login pl;
	enum proxy_login_verdict v = parse(arg, &pl);

	ck_assert_msg(v == want, "line %d: \"%s\": verdict %d, expected %d", at, arg,
	    (int)v, (int)want);
}

START_TEST(test_names)
{
	OK("bob@ftp.example.org", "bob", "ftp.example.org", 21);
	OK("bob@ftp.example.org:2121", "bob", "ftp.example.org", 2121);
	OK("bob@server", "bob", "server", 21);
	OK("anonymous@my_host-1.lan:65535", "anonymous", "my_host-1.lan", 65535);
	OK("bob@198.51.100.7", "bob", "198.51.100.7", 21);
	OK("bob@198.51.100.7:21", "bob", "198.51.100.7", 21);
	/* The last '@' separates the host: user names may hold '@'. */
	OK("a@b.c@host", "a@b.c", "host", 21);
	OK("alice@example.org@ftp.example.org:990", "alice@example.org", "ftp.example.org", 990);
	/* A user name with spaces goes as it is. */
	OK("John Smith@host", "John Smith", "host", 21);
}
END_TEST

START_TEST(test_ipv6)
{
	OK("bob@[2001:db8::1]", "bob", "2001:db8::1", 21);
	OK("bob@[2001:db8::1]:2121", "bob", "2001:db8::1", 2121);
	OK("bob@[::ffff:198.51.100.1]:21", "bob", "::ffff:198.51.100.1", 21);
	/* Bare: two colons or more make an address without a port. */
	OK("bob@2001:db8::1", "bob", "2001:db8::1", 21);
	REFUSED("bob@[2001:db8::1", PROXY_LOGIN_BAD);
	REFUSED("bob@[2001:db8::1]2121", PROXY_LOGIN_BAD);
	REFUSED("bob@[2001:db8::1]:", PROXY_LOGIN_BAD);
	REFUSED("bob@[host.example]:21", PROXY_LOGIN_BAD);
	REFUSED("bob@[]", PROXY_LOGIN_BAD);
	REFUSED("bob@2001:db8::zz", PROXY_LOGIN_BAD);
}
END_TEST

START_TEST(test_ports)
{
	OK("bob@h:1", "bob", "h", 1);
	REFUSED("bob@h:0", PROXY_LOGIN_BAD);
	REFUSED("bob@h:65536", PROXY_LOGIN_BAD);
	REFUSED("bob@h:99999", PROXY_LOGIN_BAD);
	REFUSED("bob@h:000021", PROXY_LOGIN_BAD);
	REFUSED("bob@h:", PROXY_LOGIN_BAD);
	REFUSED("bob@h:+21", PROXY_LOGIN_BAD);
	REFUSED("bob@h:21 ", PROXY_LOGIN_BAD);
	REFUSED("bob@h:2x", PROXY_LOGIN_BAD);
}
END_TEST

START_TEST(test_refused)
{
	char longhost[300];

	REFUSED("bob", PROXY_LOGIN_NO_HOST);
	REFUSED("", PROXY_LOGIN_NO_HOST);
	REFUSED("@host", PROXY_LOGIN_BAD);
	REFUSED("bob@", PROXY_LOGIN_BAD);
	REFUSED("@", PROXY_LOGIN_BAD);
	REFUSED("bob@:21", PROXY_LOGIN_BAD);
	REFUSED("bob@host name", PROXY_LOGIN_BAD);
	REFUSED("bob@host/x", PROXY_LOGIN_BAD);
	REFUSED("bob@.host", PROXY_LOGIN_BAD);
	REFUSED("bob@-host", PROXY_LOGIN_BAD);
	REFUSED("bob@a..b", PROXY_LOGIN_BAD);
	REFUSED("b\tob@host", PROXY_LOGIN_BAD);
	/* A name of 254 bytes is too long for DNS. */
	memset(longhost, 'a', sizeof(longhost));
	memcpy(longhost, "bob@", 4);
	longhost[4 + PROXY_HOST_MAX] = '\0';
	OK(longhost, "bob", longhost + 4, 21);
	longhost[4 + PROXY_HOST_MAX] = 'a';
	longhost[4 + PROXY_HOST_MAX + 1] = '\0';
	REFUSED(longhost, PROXY_LOGIN_BAD);
}
END_TEST

/* The argument is LEN bytes, not a C string: nothing past it is read. */
START_TEST(test_length)
{
	struct proxy_login pl;
	const char *arg = "bob@host:2121garbage";

	ck_assert_int_eq(proxy_login_parse(arg, 13, &pl), PROXY_LOGIN_OK);
	ck_assert_str_eq(pl.host, "host");
	ck_assert_uint_eq(pl.port, 2121);
	ck_assert_int_eq(proxy_login_parse(arg, 3, &pl), PROXY_LOGIN_NO_HOST);
}
END_TEST

Suite *
suite_proxy_login(void)
{
	Suite *s = suite_create("proxy_login");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_ports);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_length);
	suite_add_tcase(s, tc);
	return s;
}
