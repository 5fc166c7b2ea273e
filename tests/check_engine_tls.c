/* check_engine_tls.c: unit tests for src/engine.c with TLS: AUTH TLS on
 * either leg, the client-side and server-side policies, and PROT P/C for
 * the data channels. */
#include "config.h"

#include "unit.h"
#include "check_engine.h"
#include "conf.h"
#include "engine.h"

/* 21. TLS. */
START_TEST(test_tls_auth)
{
	C.tls_available = true;
	C.client_side = TLS_CLIENT_OPTIONAL;
	C.server_side = TLS_SERVER_AUTO;
	et_start();
	et_greet();
	feed_client("AUTH TLS");
	expect_server("AUTH TLS\r\n");
	expect_client("");
	expect_phase(EP_SERVER_AUTH);
	feed_server("234 go");
	ck_assert_int_eq(F.tls_servers, 1);
	expect_client("");
	expect_server("");
	expect_phase(EP_SERVER_TLS);
	ck_assert(engine_server_tls(E));
	et_ev(EE_SERVER_TLS_UP);
	expect_server("PBSZ 0\r\nPROT P\r\n");
	ck_assert_int_eq(F.tls_clients, 1);
	ck_assert_msg(F.client_len_at_tls_client == F.client.len,
	    "tls_client before the 234 was written: \"%s\"", et_esc(F.client.p, F.client.len));
	expect_client_code("234");
	expect_phase(EP_CLIENT_TLS);
	ck_assert(engine_client_tls(E));
	et_ev(EE_CLIENT_TLS_UP);
	expect_phase(EP_LOGIN);
	feed_server("200 PBSZ=0");
	feed_server("200 PROT P ok");
	expect_client("");
	expect_server("");
	ck_assert(engine_server_prot_p(E));
	ck_assert(!engine_client_prot_p(E));
	feed_client("PBSZ 0");
	expect_client_code("200");
	expect_server("");
	feed_client("PROT P");
	expect_client_code("200");
	expect_server("");
	ck_assert(engine_client_prot_p(E));
	et_login();
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

START_TEST(test_tls_refused_by_server)
{
	C.tls_available = true;
	C.client_side = TLS_CLIENT_OPTIONAL;
	C.server_side = TLS_SERVER_AUTO;
	et_start();
	et_greet();
	feed_client("PBSZ 0");
	expect_client_code("503");
	expect_server("");
	feed_client("AUTH TLS");
	expect_server("AUTH TLS\r\n");
	feed_server("500 AUTH not understood");
	ck_assert_int_eq(F.tls_servers, 0);
	/* With server-side = auto the client leg may still be secured; either
	 * way the client gets one answer and the session goes on. */
	ck_assert_msg(F.client.len > 4 && F.client.p[3] == ' ', "client got \"%s\"",
	    et_esc(F.client.p, F.client.len));
	et_buf_clear(&F.client);
	if (engine_phase(E) == EP_CLIENT_TLS) {
		ck_assert_int_eq(F.tls_clients, 1);
		et_ev(EE_CLIENT_TLS_UP);
	}
	expect_phase(EP_LOGIN);
	ck_assert(!engine_server_tls(E));
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* server-side = required: the gateway secures the server leg after the
 * greeting; a server that refuses ends the session, and nothing of the
 * engine runs after close(). */
START_TEST(test_tls_server_required_refused)
{
	C.tls_available = true;
	C.client_side = TLS_CLIENT_OPTIONAL;
	C.server_side = TLS_SERVER_REQUIRED;
	et_start();
	et_ev(EE_SERVER_CONNECTED);
	feed_server("220 hi");
	expect_client("220 hi\r\n");
	expect_server("AUTH TLS\r\n");
	expect_phase(EP_SERVER_AUTH);
	feed_server("500 no TLS here");
	expect_client_code("421");
	ck_assert_int_eq(F.closes, 1);
	ck_assert_int_eq(F.tls_servers, 0);
}
END_TEST

START_TEST(test_tls_server_required)
{
	C.tls_available = true;
	C.client_side = TLS_CLIENT_OPTIONAL;
	C.server_side = TLS_SERVER_REQUIRED;
	et_start();
	et_ev(EE_SERVER_CONNECTED);
	et_queue_client("USER bob");
	feed_server("220 hi");
	expect_client("220 hi\r\n");
	expect_server("AUTH TLS\r\n");
	feed_server("234 go");
	ck_assert_int_eq(F.tls_servers, 1);
	expect_phase(EP_SERVER_TLS);
	ck_assert(!engine_wants_server_line(E));
	expect_server("");
	et_ev(EE_SERVER_TLS_UP);
	expect_server("PBSZ 0\r\nPROT P\r\n");
	expect_client("");
	ck_assert_int_eq(F.tls_clients, 0);
	feed_server("200 PBSZ=0");
	feed_server("200 PROT P");
	expect_client("");
	/* The client's line waited for all that. */
	expect_server("USER bob\r\n");
	feed_server("331 pw");
	expect_client("331 pw\r\n");
	ck_assert(engine_server_prot_p(E));
}
END_TEST

START_TEST(test_tls_not_available)
{
	et_start();
	et_greet();
	feed_client("AUTH TLS");
	expect_client_code("502");
	expect_server("");
	expect_phase(EP_LOGIN);
}
END_TEST

START_TEST(test_tls_required)
{
	C.tls_available = true;
	C.client_side = TLS_CLIENT_REQUIRED;
	C.server_side = TLS_SERVER_AUTO;
	et_start();
	et_greet();
	feed_client("USER bob");
	expect_client_code("530");
	expect_server("");
	ck_assert_int_eq(F.users, 0);
	feed_client("AUTH TLS");
	expect_server("AUTH TLS\r\n");
}
END_TEST

/* Both legs secured through AUTH TLS (server-side auto), the server
 * answering our PROT P with PROT_CODE, then logged in. */
static void
tls_both_legs(int client_side, int server_side, const char *prot_reply)
{
	C.tls_available = true;
	C.client_side = client_side;
	C.server_side = server_side;
	et_start();
	et_ev(EE_SERVER_CONNECTED);
	feed_server("220 hi");
	expect_client("220 hi\r\n");
	/* required: the gateway's own AUTH right after the greeting. */
	if (server_side != TLS_SERVER_REQUIRED)
		feed_client("AUTH TLS");
	expect_server("AUTH TLS\r\n");
	feed_server("234 go");
	et_ev(EE_SERVER_TLS_UP);
	expect_server("PBSZ 0\r\nPROT P\r\n");
	feed_server("200 PBSZ=0");
	feed_server(prot_reply);
	if (server_side == TLS_SERVER_REQUIRED)
		feed_client("AUTH TLS");
	expect_client_code("234");
	et_ev(EE_CLIENT_TLS_UP);
	expect_client("");
	expect_server("");
	et_login();
}

/* client-side = required: data never goes in clear on the client leg. */
START_TEST(test_tls_required_prot_c)
{
	tls_both_legs(TLS_CLIENT_REQUIRED, TLS_SERVER_AUTO, "200 PROT P");
	feed_client("PROT C");
	expect_client_code("534");
	expect_server("");
	ck_assert(!engine_client_prot_p(E));
	/* No PROT P yet: a transfer is refused before the server sees it,
	 * and the channel made for it is dropped. */
	feed_client("PASV");
	expect_server("PASV\r\n");
	feed_server("227 Entering Passive Mode (10,0,0,5,4,1).");
	expect_client(PASV_REPLY "\r\n");
	feed_client("RETR f");
	expect_client_code("521");
	expect_server("");
	ck_assert_int_eq(F.begins, 0);
	ck_assert_int_eq(F.drops, 1);
	feed_client("PROT P");
	expect_client_code("200");
	feed_client("PASV");
	expect_server("PASV\r\n");
	feed_server("227 Entering Passive Mode (10,0,0,5,4,1).");
	expect_client(PASV_REPLY "\r\n");
	feed_client("RETR f");
	expect_server("RETR f\r\n");
	ck_assert_int_eq(F.begins, 1);
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* server-side = required and the server refuses PROT P: no data at all;
 * the rest of the dialogue goes on. */
START_TEST(test_tls_server_refuses_prot_p)
{
	tls_both_legs(TLS_CLIENT_OPTIONAL, TLS_SERVER_REQUIRED, "536 PROT P not here");
	ck_assert(!engine_server_prot_p(E));
	feed_client("PROT P");
	expect_client_code("200");
	feed_client("LIST");
	expect_client_code("521");
	expect_server("");
	ck_assert_int_eq(F.begins, 0);
	feed_client("PWD");
	expect_server("PWD\r\n");
	feed_server("257 \"/\"");
	expect_client_code("257");
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* The same refusal under server-side = auto keeps a plaintext server leg
 * (logged): the transfer goes. */
START_TEST(test_tls_server_refuses_prot_p_auto)
{
	tls_both_legs(TLS_CLIENT_OPTIONAL, TLS_SERVER_AUTO, "536 PROT P not here");
	feed_client("LIST");
	expect_server("LIST\r\n");
	ck_assert_int_eq(F.begins, 1);
}
END_TEST

/* A channel set up under PROT C carries no PROT P transfer (the client
 * would speak TLS into a plaintext relay), and the other way round. */
START_TEST(test_tls_prot_changed_after_pasv)
{
	tls_both_legs(TLS_CLIENT_OPTIONAL, TLS_SERVER_AUTO, "200 PROT P");
	feed_client("PASV");
	expect_server("PASV\r\n");
	feed_server("227 Entering Passive Mode (10,0,0,5,4,1).");
	expect_client(PASV_REPLY "\r\n");
	feed_client("PROT P");
	expect_client_code("200");
	feed_client("RETR f");
	expect_client_code("425");
	expect_server("");
	ck_assert_int_eq(F.begins, 0);
	ck_assert_int_eq(F.drops, 1);
	feed_client("PASV");
	expect_server("PASV\r\n");
	feed_server("227 Entering Passive Mode (10,0,0,5,4,1).");
	expect_client(PASV_REPLY "\r\n");
	feed_client("RETR f");
	expect_server("RETR f\r\n");
	ck_assert_int_eq(F.begins, 1);
}
END_TEST

/* The tests above, in their order. */
void
et_add_tls_tests(TCase *tc)
{
	tcase_add_test(tc, test_tls_auth);
	tcase_add_test(tc, test_tls_refused_by_server);
	tcase_add_test(tc, test_tls_server_required_refused);
	tcase_add_test(tc, test_tls_server_required);
	tcase_add_test(tc, test_tls_not_available);
	tcase_add_test(tc, test_tls_required);
	tcase_add_test(tc, test_tls_required_prot_c);
	tcase_add_test(tc, test_tls_server_refuses_prot_p);
	tcase_add_test(tc, test_tls_server_refuses_prot_p_auto);
	tcase_add_test(tc, test_tls_prot_changed_after_pasv);
}
