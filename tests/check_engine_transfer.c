/* check_engine_transfer.c: unit tests for src/engine.c around data
 * transfers: a transfer's final reply held until the data is done, ABOR
 * (with and without a transfer, before the 1xx, one reply for both), the
 * 1xx replies, a server or client that closes meanwhile, unsolicited and
 * multi-line replies, FEAT, server noise and a failed data channel. */
#include "config.h"

#include <string.h>

#include "unit.h"
#include "check_engine.h"
#include "conf.h"
#include "engine.h"
#include "ftp_proto.h"

/* 5. A passive transfer. */
START_TEST(test_transfer_held)
{
	et_start_ready();
	feed_client("PASV");
	ck_assert_int_eq(F.opens, 1);
	ck_assert_int_eq(F.open_verb, FTP_V_PASV);
	expect_server("PASV\r\n");
	expect_client("");
	feed_server("227 Entering Passive Mode (10,0,0,5,4,1).");
	ck_assert_int_eq(F.replies, 1);
	ck_assert_int_eq(F.reply_code, 227);
	ck_assert_int_eq(F.reply_cverb, FTP_V_PASV);
	ck_assert_int_eq(F.reply_sverb, FTP_V_PASV);
	expect_client(PASV_REPLY "\r\n");
	feed_client("RETR f");
	ck_assert_int_eq(F.begins, 1);
	expect_server("RETR f\r\n");
	expect_phase(EP_TRANSFER);
	feed_server("150 Opening");
	expect_client("150 Opening\r\n");
	F.pending = true;
	feed_server("226 Done");
	expect_client("");
	ck_assert_int_eq(F.pendings, 1);
	ck_assert(F.pending_1xx);
	ck_assert_int_eq(F.pending_code, 226);
	expect_phase(EP_HELD);
	ck_assert(!engine_wants_server_line(E));
	ck_assert_int_eq(F.ends, 0);
	et_ev(EE_DATA_TO_CLIENT_DONE);
	expect_client("226 Done\r\n");
	expect_server("");
	ck_assert_int_eq(F.ends, 1);
	ck_assert_int_eq(F.end_code, 226);
	ck_assert(F.end_ok);
	expect_phase(EP_READY);
	ck_assert(engine_wants_server_line(E));
	ck_assert_uint_eq(engine_outstanding(E), 0);
}
END_TEST

START_TEST(test_transfer_not_held)
{
	et_start_ready();
	et_retr_started();
	F.pending = false;
	feed_server("226 Done");
	expect_client("226 Done\r\n");
	ck_assert_int_eq(F.ends, 1);
	ck_assert_int_eq(F.end_code, 226);
	ck_assert(F.end_ok);
	expect_phase(EP_READY);
	/* A multi-line final reply goes whole. */
	et_retr_started();
	feed_server("226-Transfer complete");
	feed_server("226 Bye");
	expect_client("226-Transfer complete\r\n226 Bye\r\n");
	expect_phase(EP_READY);
	ck_assert_int_eq(F.ends, 2);
}
END_TEST

/* A line taken while the transfer runs waits for its final reply. */
START_TEST(test_transfer_then_command)
{
	et_start_ready();
	et_retr_started();
	et_queue_client("PWD");
	et_pump();
	expect_server("");
	F.pending = true;
	feed_server("226 Done");
	expect_client("");
	/* PWD may go to the server now or once the 226 is released: its
	 * reply cannot overtake, the server's lines are not read while the
	 * 226 is held. */
	ck_assert(!engine_wants_server_line(E));
	et_ev(EE_DATA_TO_CLIENT_DONE);
	expect_client("226 Done\r\n");
	expect_server("PWD\r\n");
	feed_server("257 \"/\"");
	expect_client("257 \"/\"\r\n");
}
END_TEST

START_TEST(test_data_setup_refused)
{
	et_start_ready();
	F.open_result = -1;
	feed_client("EPSV");
	ck_assert_int_eq(F.opens, 1);
	expect_client(REFUSE_REPLY "\r\n");
	expect_server("");
	ck_assert_uint_eq(engine_outstanding(E), 0);
	F.open_result = 0;
	feed_client("EPSV");
	expect_server("EPSV\r\n");
	feed_server("229 Entering Extended Passive Mode (|||2000|)");
	expect_client(EPSV_REPLY "\r\n");
	feed_client("PORT 10,0,0,9,4,2");
	expect_server("PORT 203,0,113,2,195,81\r\n");
	feed_server("200 ok");
	expect_client(PORT_REPLY "\r\n");
	/* A refusal from the server passes on as it is. */
	feed_client("PASV");
	expect_server("PASV\r\n");
	feed_server("500 no passive");
	expect_client("500 no passive\r\n");
	ck_assert_int_eq(F.replies, 3);
}
END_TEST

/* 6. ABOR during a transfer. */
START_TEST(test_abor_transfer)
{
	et_start_ready();
	et_retr_started();
	feed_client("ABOR");
	ck_assert_int_eq(F.drops, 1);
	/* The fence waits for the transfer's final reply. */
	expect_server("ABOR\r\n");
	expect_client("");
	feed_client("NOOP");             /* nothing goes behind an ABOR */
	expect_server("");
	feed_server("426 aborted");
	expect_client("426 aborted\r\n");
	expect_server("NOOP\r\n");
	feed_server("226 ABOR ok");
	expect_client("226 ABOR ok\r\n");
	feed_server("200 NOOP ok");
	expect_client("");
	expect_server("NOOP\r\n");     /* the client's, once the ABOR is done */
	ck_assert_uint_eq(engine_outstanding(E), 1);
	expect_phase(EP_READY);
	ck_assert_int_eq(F.ends, 1);
	ck_assert_int_eq(F.end_code, 426);
	feed_server("200 ok");
	expect_client("200 ok\r\n");
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* The ABOR with its Telnet IP/Synch prefix, as clients send it. */
START_TEST(test_abor_telnet)
{
	et_start_ready();
	et_retr_started();
	feed_client("\xff\xf4\xff\xf2" "ABOR");
	expect_server("ABOR\r\n");
	feed_server("426 aborted");
	expect_server("NOOP\r\n");
	feed_server("226 ABOR ok");
	feed_server("200 NOOP ok");
	expect_client("426 aborted\r\n226 ABOR ok\r\n");
	ck_assert_uint_eq(engine_outstanding(E), 0);
}
END_TEST

/* 7. One reply for the transfer and the ABOR (pure-ftpd). */
START_TEST(test_abor_single_reply)
{
	et_start_ready();
	et_retr_started();
	feed_client("ABOR");
	expect_server("ABOR\r\n");
	feed_server("226 Since you see this ABOR must've succeeded");
	expect_client("226 Since you see this ABOR must've succeeded\r\n");
	expect_server("NOOP\r\n");
	feed_server("200 NOOP ok");
	expect_client("");
	ck_assert_uint_eq(engine_outstanding(E), 0);
	expect_phase(EP_READY);
	ck_assert_int_eq(F.ends, 1);
	feed_client("NOOP");
	expect_server("NOOP\r\n");
	feed_server("200 ok");
	expect_client("200 ok\r\n");
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* 8. ABOR before the 150. */
START_TEST(test_abor_before_1xx)
{
	et_start_ready();
	et_passive();
	feed_client("RETR f");
	expect_server("RETR f\r\n");
	feed_client("ABOR");
	expect_server("ABOR\r\n");
	ck_assert_int_eq(F.drops, 1);
	feed_server("150 Opening");
	feed_server("426 aborted");
	expect_server("NOOP\r\n");
	feed_server("226 ABOR ok");
	feed_server("200 NOOP ok");
	expect_client("150 Opening\r\n426 aborted\r\n226 ABOR ok\r\n");
	expect_server("");
	ck_assert_uint_eq(engine_outstanding(E), 0);
	expect_phase(EP_READY);
	feed_client("NOOP");
	expect_server("NOOP\r\n");
	feed_server("200 ok");
	expect_client("200 ok\r\n");
}
END_TEST

/* 9. ABOR with nothing outstanding. */
START_TEST(test_abor_idle)
{
	et_start_ready();
	feed_client("ABOR");
	expect_server("ABOR\r\n");
	expect_client("");
	feed_server("225 No transfer");
	expect_client("225 No transfer\r\n");
	ck_assert_uint_eq(engine_outstanding(E), 0);
	expect_phase(EP_READY);
	feed_client("NOOP");
	expect_server("NOOP\r\n");
	feed_server("200 ok");
	expect_client("200 ok\r\n");
}
END_TEST

/* 10. ABOR while the final reply is held. */
START_TEST(test_abor_held)
{
	et_start_ready();
	et_retr_started();
	F.pending = true;
	feed_server("226 Done");
	expect_phase(EP_HELD);
	expect_client("");
	feed_client("ABOR");
	expect_client("226 Done\r\n");
	expect_server("ABOR\r\n");
	ck_assert_int_eq(F.ends, 1);
	ck_assert_int_eq(F.end_code, 226);
	feed_server("225 No transfer");
	expect_client("225 No transfer\r\n");
	ck_assert_uint_eq(engine_outstanding(E), 0);
	expect_phase(EP_READY);
	/* The data end that comes late changes nothing. */
	et_ev(EE_DATA_TO_CLIENT_DONE);
	et_ev(EE_DATA_DONE);
	expect_client("");
	expect_server("");
	ck_assert_int_eq(F.ends, 1);
}
END_TEST

/* While a final reply is held, nothing may overtake it: neither the
 * gateway's own answers nor a second command toward the server. */
START_TEST(test_held_local_answer)
{
	et_start_ready();
	et_retr_started();
	F.pending = true;
	feed_server("226 Done");
	expect_phase(EP_HELD);
	feed_client("PBSZ 0");             /* answered by the gateway: 503 */
	expect_client("");
	et_ev(EE_DATA_TO_CLIENT_DONE);
	ck_assert_msg(strncmp(F.client.p != NULL ? F.client.p : "", "226 Done\r\n503 ", 14) == 0,
	    "client got \"%s\", expected the 226 then the 503", et_esc(F.client.p, F.client.len));
}
END_TEST

START_TEST(test_held_auth)
{
	C.tls_available = true;
	C.client_side = TLS_CLIENT_OPTIONAL;
	C.server_side = TLS_SERVER_OFF;
	et_start_ready();
	et_retr_started();
	F.pending = true;
	feed_server("226 Done");
	expect_phase(EP_HELD);
	feed_client("AUTH TLS");
	expect_client("");
	ck_assert_int_eq(F.tls_clients, 0);
	et_ev(EE_DATA_TO_CLIENT_DONE);
	ck_assert_msg(strncmp(F.client.p != NULL ? F.client.p : "", "226 Done\r\n234 ", 14) == 0,
	    "client got \"%s\", expected the 226 then the 234", et_esc(F.client.p, F.client.len));
	ck_assert_int_eq(F.tls_clients, 1);
}
END_TEST

START_TEST(test_held_one_command)
{
	et_start_ready();
	et_retr_started();
	F.pending = true;
	feed_server("226 Done");
	et_queue_client("PWD");
	et_queue_client("SYST");
	et_queue_client("QUIT");
	et_pump();
	/* At most one of them may be with the server while the 226 waits. */
	ck_assert_msg(F.server.len == 0 || strcmp(F.server.p, "PWD\r\n") == 0,
	    "server got \"%s\"", et_esc(F.server.p, F.server.len));
	ck_assert_uint_le(engine_outstanding(E), 1);
	et_ev(EE_DATA_TO_CLIENT_DONE);
	expect_client("226 Done\r\n");
	expect_server("PWD\r\n");
	feed_server("257 \"/\"");
	expect_client("257 \"/\"\r\n");
	expect_server("SYST\r\n");
}
END_TEST

/* 11. A 1xx after ABOR; a multi-line 1xx. */
START_TEST(test_1xx_after_abor)
{
	et_start_ready();
	et_retr_started();
	feed_client("ABOR");
	expect_server("ABOR\r\n");
	feed_server("125 still going");
	expect_client("125 still going\r\n");
	feed_server("426 aborted");
	expect_server("NOOP\r\n");
	feed_server("226 ABOR ok");
	feed_server("200 NOOP ok");
	expect_client("426 aborted\r\n226 ABOR ok\r\n");
	ck_assert_uint_eq(engine_outstanding(E), 0);
	expect_phase(EP_READY);
}
END_TEST

START_TEST(test_1xx_multiline)
{
	et_start_ready();
	et_passive();
	feed_client("RETR f");
	expect_server("RETR f\r\n");
	feed_server("150-Opening");
	feed_server(" size 10");
	feed_server("150 go");
	expect_client("150-Opening\r\n size 10\r\n150 go\r\n");
	expect_phase(EP_TRANSFER);
	F.pending = true;
	feed_server("226 Done");
	ck_assert(F.pending_1xx);
	et_ev(EE_DATA_TO_CLIENT_DONE);
	expect_client("226 Done\r\n");
	expect_phase(EP_READY);
}
END_TEST

/* 12. An unsolicited 421, then the server closes. */
START_TEST(test_unsolicited_421)
{
	et_start_ready();
	feed_server("421 bye");
	expect_client("421 bye\r\n");
	ck_assert_int_eq(F.closes, 0);
	et_ev(EE_SERVER_CLOSED);
	ck_assert_int_eq(F.closes, 1);
	expect_client("");
	ck_assert(engine_phase(E) == EP_CLOSING || engine_phase(E) == EP_CLOSED);
	ck_assert(!engine_wants_client_line(E));
	ck_assert(!engine_wants_server_line(E));
}
END_TEST

/* 13. The server closes while a command waits. */
START_TEST(test_server_closed_outstanding)
{
	et_start_ready();
	feed_client("NOOP");
	expect_server("NOOP\r\n");
	et_ev(EE_SERVER_CLOSED);
	expect_client_code("421");
	ck_assert_int_eq(F.closes, 1);
	ck_assert(engine_phase(E) == EP_CLOSING || engine_phase(E) == EP_CLOSED);
}
END_TEST

START_TEST(test_client_closed)
{
	et_start_ready();
	feed_client("NOOP");
	et_ev(EE_CLIENT_CLOSED);
	ck_assert_int_eq(F.closes, 1);
	expect_client("");
	ck_assert(engine_phase(E) == EP_CLOSING || engine_phase(E) == EP_CLOSED);
}
END_TEST

/* The server closes while a transfer's final reply is held: the reply
 * still reaches the client once the data has, then the session ends. */
START_TEST(test_server_closed_held)
{
	et_start_ready();
	et_retr_started();
	F.pending = true;
	feed_server("226 Done");
	expect_phase(EP_HELD);
	et_ev(EE_SERVER_CLOSED);
	ck_assert_int_eq(F.closes, 0);
	expect_client("");
	et_ev(EE_DATA_TO_CLIENT_DONE);
	expect_client("226 Done\r\n");
	ck_assert_int_eq(F.closes, 1);
	ck_assert_int_eq(F.ends, 1);
}
END_TEST

/* ... and a command taken meanwhile gets its 421. */
START_TEST(test_server_closed_held_command)
{
	et_start_ready();
	et_retr_started();
	F.pending = true;
	feed_server("226 Done");
	feed_client("PWD");
	et_ev(EE_SERVER_CLOSED);
	ck_assert_int_eq(F.closes, 0);
	expect_client("");
	et_ev(EE_DATA_TO_CLIENT_DONE);
	ck_assert_msg(F.client.len > 10 && strncmp(F.client.p, "226 Done\r\n421 ", 14) == 0 &&
	    et_count_line(&F.client, "226 Done") == 1 && strstr(F.client.p + 10, "\r\n") ==
	    F.client.p + F.client.len - 2,
	    "client got \"%s\", expected the 226 then a 421", et_esc(F.client.p, F.client.len));
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

/* ... and so does a client line that waits for the transfer to end. */
START_TEST(test_server_closed_held_waiting)
{
	et_start_ready();
	et_retr_started();
	F.pending = true;
	feed_server("226 Done");
	expect_phase(EP_HELD);
	feed_client("RETR g");
	expect_server("");
	et_ev(EE_SERVER_CLOSED);
	ck_assert_int_eq(F.closes, 0);
	et_ev(EE_DATA_TO_CLIENT_DONE);
	expect_server("");
	ck_assert_msg(F.client.len > 10 && strncmp(F.client.p, "226 Done\r\n421 ", 14) == 0,
	    "client got \"%s\", expected the 226 then a 421", et_esc(F.client.p, F.client.len));
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

/* A reply the server began before the command was sent is not its answer. */
START_TEST(test_unsolicited_multiline)
{
	et_start_ready();
	feed_server("211-unsolicited");
	feed_client("NOOP");
	expect_server("NOOP\r\n");
	feed_server("211 end");
	expect_client("211-unsolicited\r\n211 end\r\n");
	ck_assert_uint_eq(engine_outstanding(E), 1);
	feed_server("200 ok");
	expect_client("200 ok\r\n");
	ck_assert_uint_eq(engine_outstanding(E), 0);
}
END_TEST

/* 14. A multi-line reply with other codes inside. */
START_TEST(test_multiline_mixed)
{
	et_start_ready();
	feed_client("STAT");
	expect_server("STAT\r\n");
	feed_server("211-Status:");
	feed_server("200 not the end");
	feed_server(" MDTM");
	feed_server("211-still not");
	ck_assert_uint_eq(engine_outstanding(E), 1);
	feed_server("211 End");
	expect_client("211-Status:\r\n200 not the end\r\n MDTM\r\n211-still not\r\n211 End\r\n");
	ck_assert_uint_eq(engine_outstanding(E), 0);
	feed_client("HELP");
	expect_server("HELP\r\n");
	feed_server("214-The following commands are recognized.");
	feed_server("214 Help OK.");
	expect_client("214-The following commands are recognized.\r\n214 Help OK.\r\n");
}
END_TEST

/* 15. FEAT. */
static void
feat_from_server(void)
{
	feed_client("FEAT");
	expect_server("FEAT\r\n");
	feed_server("211-Features:");
	feed_server(" AUTH TLS");
	feed_server(" MDTM");
	feed_server(" PBSZ");
	feed_server(" PROT");
	feed_server("211 End");
}

START_TEST(test_feat_plain)
{
	et_start_ready();
	feat_from_server();
	expect_client("211-Features:\r\n MDTM\r\n211 End\r\n");
	ck_assert_uint_eq(engine_outstanding(E), 0);
}
END_TEST

START_TEST(test_feat_tls)
{
	C.tls_available = true;
	C.client_side = TLS_CLIENT_OPTIONAL;
	C.server_side = TLS_SERVER_AUTO;
	et_start_ready();
	feat_from_server();
	ck_assert_msg(F.client.len > 0 && strncmp(F.client.p, "211-", 4) == 0 &&
	    F.client.len >= 9 && strcmp(F.client.p + F.client.len - 9, "211 End\r\n") == 0,
	    "FEAT reply: \"%s\"", et_esc(F.client.p, F.client.len));
	ck_assert_msg(et_count_line(&F.client, " AUTH TLS") == 1 &&
	    et_count_line(&F.client, " PBSZ") == 1 && et_count_line(&F.client, " PROT") == 1 &&
	    et_count_line(&F.client, " MDTM") == 1,
	    "FEAT reply: \"%s\"", et_esc(F.client.p, F.client.len));
	et_buf_clear(&F.client);
	/* A server without features: the gateway still offers TLS. */
	feed_client("FEAT");
	feed_server("211 no features");
	ck_assert_msg(et_count_line(&F.client, " AUTH TLS") == 1 &&
	    et_count_line(&F.client, " PBSZ") == 1,
	    "FEAT reply: \"%s\"", et_esc(F.client.p, F.client.len));
	et_buf_clear(&F.client);
	/* A refusal passes on as it is. */
	feed_client("FEAT");
	feed_server("502 no FEAT");
	expect_client("502 no FEAT\r\n");
}
END_TEST

/* Feature lines without their leading space (or of other codes) are
 * normalised to " FEAT": the reply grows a byte a line, and must not be
 * lost or abort the gateway for that. */
START_TEST(test_feat_unindented)
{
	et_start_ready();
	feed_client("FEAT");
	feed_server("211-Features:");
	for (int i = 0; i < 100; i++)
		feed_server(i % 2 ? "MDTM" : "200 not the end");
	feed_server("211 End");
	ck_assert_int_eq(F.closes, 0);
	ck_assert_msg(F.client.len > 13 && strncmp(F.client.p, "211-Features:\r\n", 15) == 0 &&
	    et_count_line(&F.client, " MDTM") == 50 && et_count_line(&F.client, "211 End") == 1,
	    "client got \"%s\"", et_esc(F.client.p, F.client.len));
	ck_assert_uint_eq(engine_outstanding(E), 0);
}
END_TEST

/* 16. Server lines with nothing outstanding. */
START_TEST(test_server_noise)
{
	et_start_ready();
	feed_server("\xff\xfb\x01");
	expect_client("");
	ck_assert_int_eq(F.closes, 0);
	feed_server("hello");
	expect_client("");
	ck_assert_int_eq(F.closes, 0);
	feed_client("NOOP");
	expect_server("NOOP\r\n");
	feed_server("200 ok");
	expect_client("200 ok\r\n");
	/* A Telnet prefix on a reply line is removed. */
	feed_client("NOOP");
	feed_server("\xff\xfb\x01" "200 ok");
	expect_client("200 ok\r\n");
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

START_TEST(test_server_garbage_outstanding)
{
	et_start_ready();
	feed_client("NOOP");
	expect_server("NOOP\r\n");
	feed_server("hello");
	expect_client_code("421");
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

/* 17. The data channel fails. */
START_TEST(test_data_failed_before_final)
{
	et_start_ready();
	et_retr_started();
	et_ev(EE_DATA_FAILED);
	expect_client("");
	F.pending = false;
	feed_server("226 Done");
	expect_client_code("426");
	ck_assert_int_eq(F.ends, 1);
	ck_assert(!F.end_ok);
	expect_phase(EP_READY);
}
END_TEST

START_TEST(test_data_failed_held)
{
	et_start_ready();
	et_retr_started();
	F.pending = true;
	feed_server("226 Done");
	expect_phase(EP_HELD);
	et_ev(EE_DATA_FAILED);
	expect_client_code("426");
	ck_assert_int_eq(F.ends, 1);
	ck_assert(!F.end_ok);
	expect_phase(EP_READY);
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* The tests above, in their order. */
void
et_add_transfer_tests(TCase *tc)
{
	tcase_add_test(tc, test_transfer_held);
	tcase_add_test(tc, test_transfer_not_held);
	tcase_add_test(tc, test_transfer_then_command);
	tcase_add_test(tc, test_data_setup_refused);
	tcase_add_test(tc, test_abor_transfer);
	tcase_add_test(tc, test_abor_telnet);
	tcase_add_test(tc, test_abor_single_reply);
	tcase_add_test(tc, test_abor_before_1xx);
	tcase_add_test(tc, test_abor_idle);
	tcase_add_test(tc, test_abor_held);
	tcase_add_test(tc, test_held_local_answer);
	tcase_add_test(tc, test_held_auth);
	tcase_add_test(tc, test_held_one_command);
	tcase_add_test(tc, test_1xx_after_abor);
	tcase_add_test(tc, test_1xx_multiline);
	tcase_add_test(tc, test_unsolicited_421);
	tcase_add_test(tc, test_server_closed_outstanding);
	tcase_add_test(tc, test_client_closed);
	tcase_add_test(tc, test_server_closed_held);
	tcase_add_test(tc, test_server_closed_held_command);
	tcase_add_test(tc, test_server_closed_held_waiting);
	tcase_add_test(tc, test_unsolicited_multiline);
	tcase_add_test(tc, test_multiline_mixed);
	tcase_add_test(tc, test_feat_plain);
	tcase_add_test(tc, test_feat_tls);
	tcase_add_test(tc, test_feat_unindented);
	tcase_add_test(tc, test_server_noise);
	tcase_add_test(tc, test_server_garbage_outstanding);
	tcase_add_test(tc, test_data_failed_before_final);
	tcase_add_test(tc, test_data_failed_held);
}
