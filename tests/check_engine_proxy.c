/* check_engine_proxy.c: unit tests for src/engine.c in explicit proxy
 * mode (engine_proxy.c): the client logs in as user@host[:port], the
 * engine then connects to that server; with TLS on the client's leg
 * before the server is known. */
#include "config.h"

#include "unit.h"
#include "check_engine.h"
#include "conf.h"
#include "engine.h"

#define PROXY_GREETING "220 ftpgw FTP proxy ready: log in as user@host[:port].\r\n"

static void
proxy_start(void)
{
	C.proxy = true;
	E = engine_new(&C, &et_ops, &F);
	ck_assert_ptr_nonnull(E);
	expect_phase(EP_PROXY_LOGIN);
	et_ev(EE_PROXY_GREET);
	expect_client(PROXY_GREETING);
	expect_phase(EP_PROXY_LOGIN);
	ck_assert(engine_wants_client_line(E));
	ck_assert(!engine_wants_server_line(E));
}

/* USER LINE names the server HOST:PORT; the server greets, and gets
 * USER SENT. */
static void
proxy_connect(const char *line, const char *host, unsigned port, const char *sent)
{
	feed_client(line);
	ck_assert_int_eq(F.proxy_connects, 1);
	ck_assert_str_eq(F.proxy_host, host);
	ck_assert_uint_eq(F.proxy_port, port);
	expect_phase(EP_CONNECTING);
	ck_assert(!engine_wants_client_line(E));
	expect_client("");
	expect_server("");
	et_ev(EE_SERVER_CONNECTED);
	expect_phase(EP_GREETING);
	feed_server("220-Welcome to the real server");
	feed_server("220 ready");
	/* The client has the gateway's greeting; the server's is swallowed. */
	expect_client("");
	expect_server(sent);
	expect_phase(EP_LOGIN);
}

START_TEST(test_proxy_login)
{
	proxy_start();
	/* Before USER the gateway answers alone. */
	feed_client("SYST");
	expect_client_code("530");
	feed_client("PASS early");
	expect_client_code("503");
	feed_client("FEAT");
	expect_client_code("211");
	feed_client("NOOP");
	expect_client_code("200");
	feed_client("HELP");
	expect_client_code("214");
	feed_client("USER bob");
	expect_client_code("530");
	feed_client("USER bob@");
	expect_client_code("501");
	feed_client("USER bob@host:0");
	expect_client_code("501");
	expect_server("");
	ck_assert_int_eq(F.proxy_connects, 0);
	expect_phase(EP_PROXY_LOGIN);

	et_queue_client("PASS secret");
	proxy_connect("USER bob@ftp.example.org:2121", "ftp.example.org", 2121, "USER bob\r\n");
	ck_assert_int_eq(F.users, 1);
	ck_assert_str_eq(F.user, "bob");
	/* PASS waited for USER's reply. */
	feed_server("331 Password please");
	expect_client("331 Password please\r\n");
	expect_server("PASS secret\r\n");
	feed_server("230 Logged in");
	expect_client("230 Logged in\r\n");
	expect_phase(EP_READY);
	ck_assert(engine_logged_in(E));
	/* From here on as in the other modes. */
	et_passive();
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

START_TEST(test_proxy_user_forms)
{
	proxy_start();
	proxy_connect("USER a@b.c@host", "host", 21, "USER a@b.c\r\n");
	feed_server("331 pw");
	expect_client("331 pw\r\n");
	et_teardown();
	et_setup();
	proxy_start();
	proxy_connect("USER bob@[2001:db8::1]:2121", "2001:db8::1", 2121, "USER bob\r\n");
}
END_TEST

/* USER again on the same connection: the same server only. */
START_TEST(test_proxy_user_again)
{
	proxy_start();
	proxy_connect("USER bob@ftp.example.org", "ftp.example.org", 21, "USER bob\r\n");
	feed_server("530 Login incorrect");
	expect_client("530 Login incorrect\r\n");
	feed_client("USER bob@other.example.org");
	expect_client_code("530");
	expect_server("");
	feed_client("USER bob");
	expect_client_code("530");
	feed_client("USER alice@FTP.example.org:21");
	expect_server("USER alice\r\n");
	ck_assert_int_eq(F.proxy_connects, 1);
	ck_assert_str_eq(F.user, "alice");
	feed_server("331 pw");
	expect_client("331 pw\r\n");
}
END_TEST

/* A server that refuses the session: its reply answers USER. */
START_TEST(test_proxy_server_refuses)
{
	proxy_start();
	feed_client("USER bob@host");
	et_ev(EE_SERVER_CONNECTED);
	feed_server("421 Too many users");
	expect_client("421 Too many users\r\n");
	expect_server("");
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

START_TEST(test_proxy_unreachable)
{
	proxy_start();
	feed_client("USER bob@host");
	et_ev(EE_SERVER_CLOSED);
	expect_client_code("421");
	ck_assert_int_eq(F.closes, 1);
	et_teardown();
	et_setup();
	proxy_start();
	feed_client("USER bob@host");
	et_ev(EE_TIMEOUT);
	expect_client_code("421");
	ck_assert_int_eq(F.closes, 1);
	ck_assert_str_eq(F.close_reason, "server connect timeout");
}
END_TEST

START_TEST(test_proxy_quit_idle)
{
	proxy_start();
	feed_client("QUIT");
	expect_client_code("221");
	ck_assert_int_eq(F.closes, 1);
	et_teardown();
	et_setup();
	proxy_start();
	et_ev(EE_TIMEOUT);
	expect_client_code("421");
	ck_assert_str_eq(F.close_reason, "idle timeout");
	ck_assert_int_eq(F.proxy_connects, 0);
}
END_TEST

/* The client secures its leg before the server is known; server-side auto
 * follows it once the server greets. */
static void
proxy_client_tls(void)
{
	C.tls_available = true;
	C.client_side = TLS_CLIENT_OPTIONAL;
	C.server_side = TLS_SERVER_AUTO;
	proxy_start();
	feed_client("FEAT");
	expect_client("211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n211 End\r\n");
	feed_client("AUTH TLS");
	expect_client_code("234");
	expect_server("");
	ck_assert_int_eq(F.tls_clients, 1);
	expect_phase(EP_CLIENT_TLS);
	et_ev(EE_CLIENT_TLS_UP);
	expect_phase(EP_PROXY_LOGIN);
	feed_client("PBSZ 0");
	expect_client_code("200");
	feed_client("PROT P");
	expect_client_code("200");
	feed_client("USER bob@host");
	ck_assert_int_eq(F.proxy_connects, 1);
	et_ev(EE_SERVER_CONNECTED);
	feed_server("220 hi");
	expect_client("");
	expect_server("AUTH TLS\r\n");
	expect_phase(EP_SERVER_AUTH);
}

START_TEST(test_proxy_tls)
{
	proxy_client_tls();
	feed_server("234 go");
	ck_assert_int_eq(F.tls_servers, 1);
	expect_phase(EP_SERVER_TLS);
	et_ev(EE_SERVER_TLS_UP);
	expect_server("PBSZ 0\r\nPROT P\r\nUSER bob\r\n");
	feed_server("200 PBSZ=0");
	feed_server("200 PROT P");
	expect_client("");
	feed_server("331 pw");
	expect_client("331 pw\r\n");
	ck_assert(engine_server_prot_p(E));
	ck_assert(engine_client_prot_p(E));
	expect_phase(EP_LOGIN);
}
END_TEST

START_TEST(test_proxy_tls_refused_auto)
{
	proxy_client_tls();
	feed_server("500 AUTH not understood");
	expect_client("");
	expect_server("USER bob\r\n");
	expect_phase(EP_LOGIN);
	ck_assert(!engine_server_tls(E));
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

START_TEST(test_proxy_tls_server_required)
{
	C.tls_available = false;
	C.client_side = TLS_CLIENT_OFF;
	C.server_side = TLS_SERVER_REQUIRED;
	proxy_start();
	feed_client("AUTH TLS");
	expect_client_code("502");
	feed_client("USER bob@host");
	et_ev(EE_SERVER_CONNECTED);
	feed_server("220 hi");
	expect_server("AUTH TLS\r\n");
	feed_server("502 no TLS here");
	expect_client_code("421");
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

/* client-side = required: no login before AUTH TLS, so no password in
 * clear on the client's leg. */
START_TEST(test_proxy_tls_client_required)
{
	C.tls_available = true;
	C.client_side = TLS_CLIENT_REQUIRED;
	C.server_side = TLS_SERVER_AUTO;
	proxy_start();
	feed_client("USER bob@host");
	expect_client_code("530");
	ck_assert_int_eq(F.proxy_connects, 0);
	expect_phase(EP_PROXY_LOGIN);
}
END_TEST

/* The tests above, in their order. */
void
et_add_proxy_tests(TCase *tc)
{
	tcase_add_test(tc, test_proxy_login);
	tcase_add_test(tc, test_proxy_user_forms);
	tcase_add_test(tc, test_proxy_user_again);
	tcase_add_test(tc, test_proxy_server_refuses);
	tcase_add_test(tc, test_proxy_unreachable);
	tcase_add_test(tc, test_proxy_quit_idle);
	tcase_add_test(tc, test_proxy_tls);
	tcase_add_test(tc, test_proxy_tls_refused_auto);
	tcase_add_test(tc, test_proxy_tls_server_required);
	tcase_add_test(tc, test_proxy_tls_client_required);
}
